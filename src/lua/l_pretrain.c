/* l_pretrain.c — rt._data.create_pretraining: the C pipeline of
 * create_pretraining_data (src/data/create_pretraining.c) behind
 * lua/retort/pretrain/create.lua. */
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "lrt.h"
#include "l_text.h"
#include "../data/create_pretraining.h"

static int opt_int(lua_State *L, int t, const char *k, int def) {
    lua_getfield(L, t, k);
    int v = lua_isnil(L, -1) ? def : (int)luaL_checkinteger(L, -1);
    lua_pop(L, 1);
    return v;
}

static double opt_num(lua_State *L, int t, const char *k, double def) {
    lua_getfield(L, t, k);
    double v = lua_isnil(L, -1) ? def : luaL_checknumber(L, -1);
    lua_pop(L, 1);
    return v;
}

typedef struct { lua_State *L; int fn; } prog_ctx;

static int progress(void *ctx, int64_t bytes, int64_t total, int64_t inst) {
    prog_ctx *p = ctx;
    lua_pushvalue(p->L, p->fn);
    lua_pushinteger(p->L, bytes);
    lua_pushinteger(p->L, total);
    lua_pushinteger(p->L, inst);
    lua_call(p->L, 3, 0);   /* Ctrl-C is seen through rt_interrupt_flag */
    return 0;
}

typedef struct { rt_cpd *c; } cpd_ud;
static int cpd_gc(lua_State *L) {
    cpd_ud *u = lua_touserdata(L, 1);
    rt_cpd_free(u->c);
    u->c = NULL;
    return 0;
}

/* Raise the current C error after discarding the outputs (no temp files left behind). */
static int fail(lua_State *L, cpd_ud *u) {
    lua_pushstring(L, rt_last_error());
    rt_cpd_free(u->c);
    u->c = NULL;
    return lua_error(L);
}

static void push_stats(lua_State *L, const rt_cpd_stats *s, int S, int nfiles) {
    lua_newtable(L);
#define F(name) lua_pushinteger(L, s->name); lua_setfield(L, -2, #name)
    F(bytes_read); F(lines); F(documents); F(sentences); F(tokens); F(instances); F(real_tokens);
    F(masked); F(as_mask); F(as_keep); F(as_random); F(random_next); F(masked_words);
    F(masked_whole_words); F(blocks);
#undef F
    lua_createtable(L, S + 1, 0);
    for (int i = 0; i <= S; i++) { lua_pushinteger(L, s->len_hist[i]); lua_rawseti(L, -2, i + 1); }
    lua_setfield(L, -2, "len_hist");
    lua_pushinteger(L, nfiles);
    lua_setfield(L, -2, "input_files");
}

/* rt._data.create_pretraining{tokenizer=, segmenter=, inputs={globs}, outputs={paths}, ...} -> stats */
static int l_create_pretraining(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "tokenizer");
    rt_tokenizer *tok = rtl_check_tokenizer(L, -1);
    lua_getfield(L, 1, "segmenter");
    rt_segmenter *seg = lua_isnil(L, -1) ? NULL : rtl_check_segmenter(L, -1);
    rt_cpd_opts o = {
        .max_seq_length = opt_int(L, 1, "max_seq_length", 128),
        .max_predictions_per_seq = opt_int(L, 1, "max_predictions_per_seq", 20),
        .dupe_factor = opt_int(L, 1, "dupe_factor", 10),
        .masked_lm_prob = opt_num(L, 1, "masked_lm_prob", 0.15),
        .short_seq_prob = opt_num(L, 1, "short_seq_prob", 0.1),
        .whole_word = 0, .buffer_bytes = (size_t)opt_num(L, 1, "buffer_bytes", 0),
        .rng = RT_RNG_PYTHON, .seed = (uint64_t)opt_num(L, 1, "random_seed", 12345),
    };
    lua_getfield(L, 1, "do_whole_word_mask"); o.whole_word = lua_toboolean(L, -1); lua_pop(L, 1);
    lua_getfield(L, 1, "format");
    const char *fmt = luaL_optstring(L, -1, "tfrecord");
    if (strcmp(fmt, "shards") == 0) o.shards = 1;
    else if (strcmp(fmt, "tfrecord") != 0) { lua_pushfstring(L, "create_pretraining_data: format must be 'tfrecord' or 'shards', got '%s'", fmt); return lua_error(L); }
    lua_pop(L, 1);
    lua_getfield(L, 1, "rng");
    const char *rng = luaL_optstring(L, -1, "python");
    if (strcmp(rng, "python") == 0) o.rng = RT_RNG_PYTHON;
    else if (strcmp(rng, "fast") == 0) o.rng = RT_RNG_FAST;
    else return luaL_error(L, "create_pretraining: rng must be 'python' or 'fast', got '%s'", rng);
    lua_pop(L, 1);
    /* inputs: each a glob pattern (tf.gfile.Glob); outputs: paths */
    lua_newtable(L);
    int files = lua_gettop(L), nfiles = 0;
    lua_Integer total = 0;
    lua_getfield(L, 1, "inputs");
    luaL_checktype(L, -1, LUA_TTABLE);
    for (lua_Integer i = 1; i <= luaL_len(L, -1); i++) {
        lua_rawgeti(L, -1, i);
        const char *pat = luaL_checkstring(L, -1);
        glob_t g;
        int rc = glob(pat, 0, NULL, &g);
        if (rc == GLOB_NOMATCH || (rc == 0 && g.gl_pathc == 0)) { globfree(&g); lua_pushfstring(L, "create_pretraining_data: no input file matches '%s'", pat); return lua_error(L); }
        if (rc) { globfree(&g); lua_pushfstring(L, "create_pretraining_data: cannot expand '%s'", pat); return lua_error(L); }
        for (size_t k = 0; k < g.gl_pathc; k++) {
            struct stat sb;
            if (stat(g.gl_pathv[k], &sb) == 0) total += sb.st_size;
            lua_pushstring(L, g.gl_pathv[k]);
            lua_rawseti(L, files, ++nfiles);
        }
        globfree(&g);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    lua_getfield(L, 1, "outputs");
    luaL_checktype(L, -1, LUA_TTABLE);
    int nout = (int)luaL_len(L, -1);
    const char **outs = lua_newuserdatauv(L, sizeof(char *) * (size_t)(nout ? nout : 1), 0);
    for (int i = 0; i < nout; i++) {
        lua_rawgeti(L, -2, i + 1);
        outs[i] = luaL_checkstring(L, -1);
        lua_pop(L, 1);   /* the string stays referenced by the table */
    }
    cpd_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->c = NULL;
    lua_newtable(L);
    lua_pushcfunction(L, cpd_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    u->c = rt_cpd_new(tok, seg, &o, outs, nout);
    RTL_CHECK(L, u->c);
    lua_getfield(L, 1, "progress");
    prog_ctx pc = {L, lua_gettop(L)};
    int has_prog = lua_isfunction(L, -1);
    for (int i = 1; i <= nfiles; i++) {
        lua_rawgeti(L, files, i);
        const char *path = lua_tostring(L, -1);
        if (rt_cpd_read_file(u->c, path, total, has_prog ? progress : NULL, &pc)) return fail(L, u);
        lua_pop(L, 1);
    }
    if (rt_cpd_finish(u->c)) return fail(L, u);
    if (has_prog) progress(&pc, rt_cpd_get_stats(u->c)->bytes_read, total, rt_cpd_get_stats(u->c)->instances);
    push_stats(L, rt_cpd_get_stats(u->c), o.max_seq_length, nfiles);
    lua_pushvalue(L, files);
    lua_setfield(L, -2, "files");
    rt_cpd_free(u->c);
    u->c = NULL;
    return 1;
}

/* rt._data.encode_pretraining_example(ids, segment_ids, positions, labels, next_label, max_seq, max_pred, first=0) -> bytes */
static int32_t *ints(lua_State *L, int idx, int *n) {
    luaL_checktype(L, idx, LUA_TTABLE);
    *n = (int)luaL_len(L, idx);
    int32_t *v = lua_newuserdatauv(L, sizeof(int32_t) * (size_t)(*n ? *n : 1), 0);
    for (int i = 0; i < *n; i++) { lua_rawgeti(L, idx, i + 1); v[i] = (int32_t)luaL_checkinteger(L, -1); lua_pop(L, 1); }
    return v;
}

static int l_encode_example(lua_State *L) {
    int n, ns, np, nl;
    int32_t *ids = ints(L, 1, &n), *seg = ints(L, 2, &ns), *pos = ints(L, 3, &np), *lab = ints(L, 4, &nl);
    int next = (int)luaL_checkinteger(L, 5), S = (int)luaL_checkinteger(L, 6), P = (int)luaL_checkinteger(L, 7);
    int rot = (int)luaL_optinteger(L, 8, 0);
    if (ns != n || nl != np || n > S || np > P || S < 0 || P < 0)
        return luaL_error(L, "encode_pretraining_example: %d ids / %d segment ids (max %d), %d positions / %d labels (max %d)", n, ns, S, np, nl, P);
    uint8_t *buf = lua_newuserdatauv(L, rt_cpd_example_bound(S, P), 0);
    size_t len = rt_cpd_encode_example(buf, ids, seg, n, S, pos, lab, np, P, next, rot);
    lua_pushlstring(L, (const char *)buf, len);
    return 1;
}

/* rt._data.glob(pattern) -> {paths} (sorted; empty when nothing matches) */
static int l_glob(lua_State *L) {
    const char *pat = luaL_checkstring(L, 1);
    glob_t g;
    int rc = glob(pat, 0, NULL, &g);
    lua_newtable(L);
    if (rc == 0)
        for (size_t k = 0; k < g.gl_pathc; k++) { lua_pushstring(L, g.gl_pathv[k]); lua_rawseti(L, -2, (lua_Integer)k + 1); }
    globfree(&g);
    return 1;
}

void rtl_open_pretrain(lua_State *L, int t) {
    t = lua_absindex(L, t);
    static const rtl_reg fns[] = {
        {"create_pretraining", l_create_pretraining,
         "rt._data.create_pretraining{tokenizer=, segmenter=, inputs={globs}, outputs={paths}, max_seq_length=128,\n"
         "  max_predictions_per_seq=20, dupe_factor=10, masked_lm_prob=0.15, short_seq_prob=0.1, random_seed=12345,\n"
         "  do_whole_word_mask=false, rng=\"python\"|\"fast\", format=\"tfrecord\"|\"shards\", buffer_bytes=0,\n"
         "  progress=fn(bytes, total, instances)} -> stats\n"
         "  The C pipeline of create_pretraining_data (use rt.pretrain.create)."},
        {"encode_pretraining_example", l_encode_example,
         "rt._data.encode_pretraining_example(ids, segment_ids, positions, labels, next_label, max_seq, max_pred, first=0) -> bytes\n"
         "  One tf.train.Example as upstream writes it (zero padding); the features in the cyclic order masked_lm_positions,\n"
         "  masked_lm_ids, masked_lm_weights, segment_ids, input_mask, input_ids, next_sentence_labels from the\n"
         "  first-th (0..6; upstream's files start anywhere, retort's at 0)."},
        {"glob", l_glob, "rt._data.glob(pattern) -> sorted list of matching paths (tf.gfile.Glob; {} when none)."},
        {NULL, NULL, NULL},
    };
    rtl_register(L, t, "rt.data", fns);
}
