/* l_pregen.c — rt.data.pregen_corpus: the C loop behind rt.pretrain.pregenerate
 * (src/data/pregenerate.h). Lua reads the corpus in blocks, shows progress and
 * writes the epoch files; C tokenizes and builds the instances on all threads. */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include "l_text.h"
#include "../core/parallel.h"
#include "../data/pregenerate.h"
#include "../io/pregen.h"
#include "../text/vocab.h"

#define PGC_MT "rt.PregenCorpus"
typedef struct { rt_pg_corpus *c; } lpgc;

static rt_pg_corpus *check_pgc(lua_State *L, int i) {
    lpgc *u = luaL_checkudata(L, i, PGC_MT);
    if (!u->c) luaL_error(L, "pregen corpus is closed");
    return u->c;
}

static int pgc_gc(lua_State *L) {
    lpgc *u = luaL_checkudata(L, 1, PGC_MT);
    rt_pg_corpus_free(u->c);
    u->c = NULL;
    return 0;
}

static int threads_arg(lua_State *L, int i) {
    int n = (int)luaL_optinteger(L, i, 0);
    return n > 0 ? n : rt_get_threads();
}

/* rt.data.pregen_corpus(tokenizer, tmpdir) */
static int l_pregen_corpus(lua_State *L) {
    rt_tokenizer *t = rtl_check_tokenizer(L, 1);
    const char *dir = luaL_checkstring(L, 2);
    lpgc *u = lua_newuserdatauv(L, sizeof *u, 2);
    u->c = NULL;
    luaL_setmetatable(L, PGC_MT);
    lua_pushvalue(L, 1);
    lua_setiuservalue(L, -2, 1);      /* keep the tokenizer alive */
    u->c = rt_pg_corpus_new(t, dir);
    RTL_CHECK(L, u->c);
    return 1;
}

/* c:feed(tokenizer, block [, segmenter, threads]) */
static int pgc_feed(lua_State *L) {
    rt_pg_corpus *c = check_pgc(L, 1);
    rt_tokenizer *t = rtl_check_tokenizer(L, 2);
    size_t n;
    const char *s = luaL_checklstring(L, 3, &n);
    rt_segmenter *seg = lua_isnoneornil(L, 4) ? NULL : rtl_check_segmenter(L, 4);
    if (rt_pg_corpus_feed(c, t, seg, s, n, threads_arg(L, 5))) return rtl_error(L);
    return 0;
}

static int pgc_finish(lua_State *L) {
    rt_pg_corpus *c = check_pgc(L, 1);
    if (rt_pg_corpus_finish(c)) return rtl_error(L);
    lua_pushinteger(L, rt_pg_corpus_docs(c));
    lua_pushinteger(L, rt_pg_corpus_sentences(c));
    lua_pushinteger(L, rt_pg_corpus_tokens(c));
    return 3;
}

static int pgc_counts(lua_State *L) {
    rt_pg_corpus *c = check_pgc(L, 1);
    lua_pushinteger(L, rt_pg_corpus_docs(c));
    lua_pushinteger(L, rt_pg_corpus_sentences(c));
    lua_pushinteger(L, rt_pg_corpus_tokens(c));
    return 3;
}

static double fnum(lua_State *L, int t, const char *k, double def) {
    lua_getfield(L, t, k);
    double v = luaL_optnumber(L, -1, def);
    lua_pop(L, 1);
    return v;
}

static bool fbool(lua_State *L, int t, const char *k) {
    lua_getfield(L, t, k);
    bool v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

static void setint(lua_State *L, const char *k, int64_t v) { lua_pushinteger(L, v); lua_setfield(L, -2, k); }

/* c:generate(epoch, lo, hi, opts [, threads, file]) -> json_lines (or bytes written to file), stats
 * (lo/hi: 0-based documents [lo, hi)) */
static int pgc_generate(lua_State *L) {
    rt_pg_corpus *c = check_pgc(L, 1);
    int epoch = (int)luaL_checkinteger(L, 2);
    int64_t lo = luaL_checkinteger(L, 3), hi = luaL_checkinteger(L, 4);
    luaL_checktype(L, 5, LUA_TTABLE);
    rt_pg_opts o = {
        .max_seq_len = (int)fnum(L, 5, "max_seq_len", 128), .max_pred = (int)fnum(L, 5, "max_predictions_per_seq", 20),
        .short_seq_prob = fnum(L, 5, "short_seq_prob", 0.1), .masked_lm_prob = fnum(L, 5, "masked_lm_prob", 0.0),
        .whole_word = fbool(L, 5, "do_whole_word_mask"), .one_seq = fbool(L, 5, "one_seq"),
        .seed = (uint64_t)(int64_t)fnum(L, 5, "seed", 42)};
    rt_pg_buf b = {0};
    rt_pg_stats *st = lua_newuserdatauv(L, sizeof *st, 0);   /* large: not on the C stack */
    memset(st, 0, sizeof *st);
    if (rt_pg_generate(c, &o, epoch, lo, hi, threads_arg(L, 6), &b, st)) { rt_pg_buf_free(&b); return rtl_error(L); }
    luaL_Stream *fh = luaL_testudata(L, 7, LUA_FILEHANDLE);
    if (fh && fh->f) {                         /* write straight to an open Lua file */
        size_t n = b.n, w = n ? fwrite(b.p, 1, n, fh->f) : 0;
        rt_pg_buf_free(&b);
        if (w != n) return luaL_error(L, "pregenerate: write failed: %s", strerror(errno));
        lua_pushinteger(L, (lua_Integer)w);
    } else {
        lua_pushlstring(L, b.p ? b.p : "", b.n);
        rt_pg_buf_free(&b);
    }
    lua_createtable(L, 0, 12);
    setint(L, "instances", st->instances); setint(L, "random_next", st->random_next);
    setint(L, "forced_random", st->forced_random); setint(L, "tokens", st->tokens);
    setint(L, "masked", st->masked); setint(L, "mask_token", st->mask_token); setint(L, "kept", st->kept);
    setint(L, "random_token", st->random_token); setint(L, "target_short", st->target_short);
    int top = o.max_seq_len < RT_PG_HIST ? o.max_seq_len : RT_PG_HIST - 1;
    lua_createtable(L, top + 1, 0);
    for (int k = 0; k <= top; k++) { lua_pushinteger(L, st->len_hist[k]); lua_rawseti(L, -2, k + 1); }
    lua_setfield(L, -2, "len_hist");          /* len_hist[n + 1] = instances of length n */
    return 2;
}


/* ---- PregeneratedDataset (TinyBERT/general_distill.py): epoch file -> padded arrays ---- */

typedef struct { int64_t *v; size_t n, cap; } i64buf;

static int i64_need(i64buf *b, size_t more) {
    if (b->n + more <= b->cap) return 0;
    size_t c = b->cap ? b->cap : 1 << 16;
    while (c < b->n + more) c *= 2;
    int64_t *p = realloc(b->v, c * sizeof *p);
    if (!p) return -1;
    b->v = p; b->cap = c;
    return 0;
}

static void push_mat(lua_State *L, const int64_t *v, int64_t n, int64_t l, const char *field) {
    int64_t shape[2] = {n, l};
    rt_tensor *t = rt_tensor_empty(RT_I64, l > 0 ? 2 : 1, shape);
    RTL_CHECK(L, t);
    if (n > 0) memcpy(rt_data(t), v, (size_t)(n * (l > 0 ? l : 1)) * sizeof *v);
    rtl_push_tensor(L, t);
    lua_setfield(L, -2, field);
}

/* rt.data.pregenerated_arrays(path, tokenizer, seq_len [, limit]) */
static int l_pregenerated_arrays(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    rt_tokenizer *tok = rtl_check_tokenizer(L, 2);
    int64_t S = luaL_checkinteger(L, 3), limit = luaL_optinteger(L, 4, -1);
    if (S < 1 || S > 1 << 20) return luaL_error(L, "pregenerated_arrays: bad seq_len %d", (int)S);
    rt_pregen_reader *r = rt_pregen_open(path);
    RTL_CHECK(L, r);
    i64buf ids = {0}, mask = {0}, seg = {0}, lab = {0}, nxt = {0};
    int64_t n = 0;
    char err[512] = "";
    rt_pregen_record rec;
    int rc = 0;
    while ((limit < 0 || n < limit) && (rc = rt_pregen_next(r, &rec)) == 1) {
        n++;
        if (rec.ntokens > S) {
            snprintf(err, sizeof err, "%s: record %lld has %d tokens, more than max_seq_len %lld", path, (long long)n,
                     rec.ntokens, (long long)S);
        } else if (i64_need(&ids, (size_t)S) || i64_need(&mask, (size_t)S) || i64_need(&seg, (size_t)S) ||
                   i64_need(&lab, (size_t)S) || i64_need(&nxt, 1)) {
            snprintf(err, sizeof err, "out of memory");
        } else {
            int64_t *a = ids.v + ids.n, *m = mask.v + mask.n, *g = seg.v + seg.n, *y = lab.v + lab.n;
            for (int64_t i = 0; i < S; i++) { a[i] = 0; m[i] = 0; g[i] = 0; y[i] = -1; }
            for (int i = 0; i < rec.ntokens && !err[0]; i++) {
                int64_t id = rt_vocab_find(tok->vocab, rec.tokens[i], strlen(rec.tokens[i]));
                if (id < 0) snprintf(err, sizeof err, "%s: record %lld: token '%.80s' is not in the vocabulary", path,
                                     (long long)n, rec.tokens[i]);
                a[i] = id; m[i] = 1; g[i] = rec.segment_ids[i];
            }
            for (int k = 0; k < rec.npositions && !err[0]; k++) {
                int64_t id = rt_vocab_find(tok->vocab, rec.labels[k], strlen(rec.labels[k]));
                if (id < 0) snprintf(err, sizeof err, "%s: record %lld: masked label '%.80s' is not in the vocabulary",
                                     path, (long long)n, rec.labels[k]);
                y[rec.positions[k]] = id;
            }
            nxt.v[nxt.n++] = rec.is_random_next;
            ids.n += (size_t)S; mask.n += (size_t)S; seg.n += (size_t)S; lab.n += (size_t)S;
        }
        rt_pregen_record_free(&rec);
        if (err[0]) break;
    }
    rt_pregen_close(r);
    if (!err[0] && rc < 0 && (limit < 0 || n < limit)) snprintf(err, sizeof err, "%s", rt_last_error());
    if (err[0]) {
        free(ids.v); free(mask.v); free(seg.v); free(lab.v); free(nxt.v);
        return luaL_error(L, "%s", err);
    }
    lua_createtable(L, 0, 6);
    push_mat(L, ids.v, n, S, "input_ids"); push_mat(L, mask.v, n, S, "input_mask");
    push_mat(L, seg.v, n, S, "segment_ids"); push_mat(L, lab.v, n, S, "lm_label_ids");
    push_mat(L, nxt.v, n, 0, "is_next");
    lua_pushinteger(L, n); lua_setfield(L, -2, "n");
    free(ids.v); free(mask.v); free(seg.v); free(lab.v); free(nxt.v);
    return 1;
}

static const rtl_reg methods[] = {
    {"feed", pgc_feed, "c:feed(tokenizer, block [, segmenter, threads]): tokenize complete lines (blank = document break)."},
    {"finish", pgc_finish, "c:finish() -> documents, sentences, tokens: ends the last document."},
    {"counts", pgc_counts, "c:counts() -> documents, sentences, tokens."},
    {"generate", pgc_generate,
     "c:generate(epoch, lo, hi, opts [, threads, file]) -> json_lines (or bytes written to the Lua file), stats:\n"
     "upstream instances of documents"
     "[lo, hi) (0-based) for one epoch; opts = {max_seq_len, max_predictions_per_seq, short_seq_prob,\n"
     "masked_lm_prob, do_whole_word_mask, one_seq, seed}. Same output for any thread count."},
    {NULL, NULL, NULL}};

static const rtl_reg funcs[] = {
    {"pregen_corpus", l_pregen_corpus,
     "rt.data.pregen_corpus(tokenizer, tmpdir) -> corpus: TinyBERT pregeneration's tokenized documents\n"
     "(memory-mapped unlinked temp files in tmpdir). Used by rt.pretrain.pregenerate."},
    {"pregenerated_arrays", l_pregenerated_arrays,
     "rt.data.pregenerated_arrays(path, tokenizer, seq_len [, limit]) -> {input_ids=, input_mask=, segment_ids=,\n"
     "lm_label_ids=, is_next=, n=}: TinyBERT's PregeneratedDataset of one epoch file: [n, seq_len] i64 tensors,\n"
     "ids padded with 0, lm_label_ids -1 except at the masked positions, is_next [n]. Unknown tokens and\n"
     "records longer than seq_len are errors naming the file and record."},
    {NULL, NULL, NULL}};

void rtl_open_pregen(lua_State *L, int rt) {
    rt = lua_absindex(L, rt);
    luaL_newmetatable(L, PGC_MT);
    lua_newtable(L);
    rtl_register(L, -1, "PregenCorpus:", methods);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, pgc_gc); lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    if (lua_getfield(L, rt, "_data") != LUA_TTABLE) {  /* lua/retort/data.lua builds rt.data from rt._data */
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, rt, "_data");
    }
    rtl_register(L, lua_gettop(L), "rt.data", funcs);
    lua_pop(L, 1);
}
