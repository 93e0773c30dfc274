/* l_text.c — Lua bindings for the tokenizer: rt.tokenizer.load(...) -> Tokenizer
 * with tokenize / convert_* / decode / encode / batch, and tok.vocab lookups.
 * rt.vocab (builders) and rt.segment come from l_text_build.c. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "lrt.h"
#include "l_text.h"
#include "../data/features.h"

#define TOK_MT "rt.Tokenizer"
#define VOCAB_MT "rt.TokenizerVocab"

typedef struct { rt_tokenizer *t; } ltok;

rt_tokenizer *rtl_check_tokenizer(lua_State *L, int idx) {
    ltok *u = luaL_checkudata(L, idx, TOK_MT);
    if (!u->t) luaL_error(L, "tokenizer is closed");
    return u->t;
}

static int tok_gc(lua_State *L) {
    ltok *u = luaL_checkudata(L, 1, TOK_MT);
    rt_tokenizer_free(u->t); u->t = NULL;
    return 0;
}

/* Push a tokenizer userdata owning t (t NULL: raise the current error). */
void rtl_push_tokenizer(lua_State *L, rt_tokenizer *t) {
    if (!t) rtl_error(L);
    ltok *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->t = t;
    luaL_setmetatable(L, TOK_MT);
}

static bool opt_bool(lua_State *L, int idx, const char *k, bool def) {
    if (lua_type(L, idx) != LUA_TTABLE) return def;
    lua_getfield(L, idx, k);
    bool r = lua_isnil(L, -1) ? def : lua_toboolean(L, -1);
    lua_pop(L, 1);
    return r;
}

static lua_Integer opt_int(lua_State *L, int idx, const char *k, lua_Integer def) {
    if (lua_type(L, idx) != LUA_TTABLE) return def;
    lua_getfield(L, idx, k);
    lua_Integer r = lua_isnil(L, -1) ? def : luaL_checkinteger(L, -1);
    lua_pop(L, 1);
    return r;
}

/* rt.tokenizer.load(path | {tokens...}, {lower=true, never_split={...}, max_chars=100}) */
static int l_load(lua_State *L) {
    rt_vocab *v;
    if (lua_type(L, 1) == LUA_TTABLE) {
        v = rt_vocab_new();
        RTL_CHECK(L, v);
        lua_Integer n = luaL_len(L, 1);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_geti(L, 1, i);
            size_t len; const char *s = lua_tolstring(L, -1, &len);
            if (!s) { rt_vocab_free(v); return luaL_error(L, "rt.tokenizer.load: token %d is not a string", (int)i); }
            if (rt_vocab_add(v, s, len) < 0) { rt_vocab_free(v); return rtl_error(L); }
            lua_pop(L, 1);
        }
    } else {
        const char *path = luaL_checkstring(L, 1);
        v = rt_vocab_load(path);
        RTL_CHECK(L, v);
    }
    bool lower = opt_bool(L, 2, "lower", true);
    const char *never[RT_TOK_MAX_NEVER]; int nn = -1;
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_getfield(L, 2, "never_split");
        if (lua_type(L, -1) == LUA_TTABLE) {
            nn = 0;
            for (lua_Integer i = 1; i <= luaL_len(L, -1) && nn < RT_TOK_MAX_NEVER; i++) {
                lua_geti(L, -1, i);
                never[nn++] = lua_tostring(L, -1);   /* anchored in the option table */
                lua_pop(L, 1);
                if (!never[nn - 1]) { rt_vocab_free(v); return luaL_error(L, "never_split: strings expected"); }
            }
        }
        lua_pop(L, 1);
    }
    if (rt_vocab_find(v, "[UNK]", 5) < 0) {   /* WordPiece would emit id -1 for every unknown word */
        const char *src = lua_type(L, 1) == LUA_TTABLE ? "the token list" : lua_tostring(L, 1);
        rt_vocab_free(v);
        return luaL_error(L, "rt.tokenizer.load: %s has no [UNK] token (WordPiece needs it for unknown words)", src);
    }
    rt_tokenizer *t = rt_tokenizer_new(v, lower, nn >= 0 ? never : NULL, nn >= 0 ? nn : 0);
    RTL_CHECK(L, t);
    t->max_chars = (int)opt_int(L, 2, "max_chars", 100);
    rtl_push_tokenizer(L, t);
    return 1;
}

static void push_ids_table(lua_State *L, const rt_ids *ids) {
    lua_createtable(L, (int)ids->n, 0);
    for (size_t i = 0; i < ids->n; i++) { lua_pushinteger(L, ids->v[i]); lua_rawseti(L, -2, (lua_Integer)i + 1); }
}

static void push_tokens_table(lua_State *L, const rt_tokenizer *t, const rt_ids *ids) {
    lua_createtable(L, (int)ids->n, 0);
    for (size_t i = 0; i < ids->n; i++) {
        size_t len; const char *s = rt_tokenizer_token(t, ids->v[i], &len);
        lua_pushlstring(L, s ? s : "[UNK]", s ? len : 5);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
}

/* Ids of the text (string) or of a list of tokens/ids (table) at idx, appended to out. */
static void ids_of(lua_State *L, rt_tokenizer *t, int idx, rt_ids *out) {
    if (lua_type(L, idx) == LUA_TTABLE) {
        lua_Integer n = luaL_len(L, idx);
        for (lua_Integer i = 1; i <= n; i++) {
            lua_geti(L, idx, i);
            int64_t id;
            if (lua_isinteger(L, -1)) id = lua_tointeger(L, -1);
            else {
                size_t len; const char *s = lua_tolstring(L, -1, &len);
                if (!s) { rt_ids_free(out); luaL_error(L, "token %d: string or id expected", (int)i); }
                id = rt_vocab_find(t->vocab, s, len);
                if (id < 0) id = t->unk_id;
            }
            lua_pop(L, 1);
            if (rt_ids_push(out, id)) { rt_ids_free(out); rtl_error(L); }
        }
        return;
    }
    size_t n; const char *s = luaL_checklstring(L, idx, &n);
    if (rt_tokenize_ids(t, s, n, out) != RT_OK) { rt_ids_free(out); rtl_error(L); }
}

static int m_tokenize(lua_State *L) {
    rt_tokenizer *t = rtl_check_tokenizer(L, 1);
    size_t n; const char *s = luaL_checklstring(L, 2, &n);
    rt_ids ids = {0};
    if (rt_tokenize_ids(t, s, n, &ids) != RT_OK) { rt_ids_free(&ids); return rtl_error(L); }
    push_tokens_table(L, t, &ids);
    rt_ids_free(&ids);
    return 1;
}

static int m_encode_ids(lua_State *L) {
    rt_tokenizer *t = rtl_check_tokenizer(L, 1);
    rt_ids ids = {0};
    ids_of(L, t, 2, &ids);
    push_ids_table(L, &ids);
    rt_ids_free(&ids);
    return 1;
}

static int push_word(void *ctx, const char *w, size_t nb, size_t nc) {
    lua_State *L = ctx;
    (void)nc;
    lua_pushlstring(L, w, nb);
    lua_rawseti(L, -2, (lua_Integer)luaL_len(L, -2) + 1);
    return 0;
}

static int m_basic_tokenize(lua_State *L) {
    rt_tokenizer *t = rtl_check_tokenizer(L, 1);
    size_t n; const char *s = luaL_checklstring(L, 2, &n);
    lua_newtable(L);
    if (rt_basic_tokenize(t, s, n, push_word, L) != RT_OK) return rtl_error(L);
    return 1;
}

static int m_wordpiece(lua_State *L) {
    rt_tokenizer *t = rtl_check_tokenizer(L, 1);
    size_t n; const char *s = luaL_checklstring(L, 2, &n);
    rt_ids ids = {0};
    size_t nc = 0;
    for (size_t i = 0; i < n; i++) nc += ((unsigned char)s[i] & 0xC0) != 0x80;
    if (rt_wordpiece(t, s, n, nc, &ids) != RT_OK) { rt_ids_free(&ids); return rtl_error(L); }
    push_tokens_table(L, t, &ids);
    rt_ids_free(&ids);
    return 1;
}

static int m_tokens_to_ids(lua_State *L) {
    rt_tokenizer *t = rtl_check_tokenizer(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    rt_ids ids = {0};
    ids_of(L, t, 2, &ids);
    push_ids_table(L, &ids);
    rt_ids_free(&ids);
    return 1;
}

/* Ids from a table or a tensor (any integer dtype, flattened). */
static void ids_from_arg(lua_State *L, int idx, rt_ids *out) {
    rt_tensor *x = rtl_test_tensor(L, idx);
    if (x) {
        int64_t n = rt_numel(x), index[RT_MAXDIM] = {0};
        for (int64_t i = 0; i < n; i++) {
            if (rt_ids_push(out, (int64_t)rt_tensor_get(x, index))) { rt_ids_free(out); rtl_error(L); }
            for (int d = x->ndim - 1; d >= 0; d--) { if (++index[d] < x->shape[d]) break; index[d] = 0; }
        }
        return;
    }
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_Integer n = luaL_len(L, idx);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, idx, i);
        int64_t id = (int64_t)luaL_checkinteger(L, -1);
        lua_pop(L, 1);
        if (rt_ids_push(out, id)) { rt_ids_free(out); rtl_error(L); }
    }
}

static int m_ids_to_tokens(lua_State *L) {
    rt_tokenizer *t = rtl_check_tokenizer(L, 1);
    rt_ids ids = {0};
    ids_from_arg(L, 2, &ids);
    for (size_t i = 0; i < ids.n; i++)
        if (!rt_tokenizer_token(t, ids.v[i], NULL)) {
            lua_Integer bad = (lua_Integer)ids.v[i]; rt_ids_free(&ids);
            return luaL_error(L, "convert_ids_to_tokens: id %I out of range [0, %I)", bad, (lua_Integer)rt_vocab_size(t->vocab));
        }
    push_tokens_table(L, t, &ids);
    rt_ids_free(&ids);
    return 1;
}

static bool is_special(const rt_tokenizer *t, int64_t id) {
    return id == t->pad_id || id == t->cls_id || id == t->sep_id || id == t->mask_id || id == t->unk_id;
}

/* tok:decode(ids | tensor, {skip_special=true}): tokens joined by spaces, " ##" merged. */
static int m_decode(lua_State *L) {
    rt_tokenizer *t = rtl_check_tokenizer(L, 1);
    bool skip = opt_bool(L, 3, "skip_special", true);
    rt_ids ids = {0};
    ids_from_arg(L, 2, &ids);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    int first = 1;
    for (size_t i = 0; i < ids.n; i++) {
        if (skip && is_special(t, ids.v[i])) continue;
        size_t len; const char *s = rt_tokenizer_token(t, ids.v[i], &len);
        if (!s) { s = "[UNK]"; len = 5; }
        if (len >= 2 && s[0] == '#' && s[1] == '#' && !first) { s += 2; len -= 2; }
        else if (!first) luaL_addchar(&b, ' ');
        luaL_addlstring(&b, s, len);
        first = 0;
    }
    rt_ids_free(&ids);
    luaL_pushresult(&b);
    return 1;
}

/* Id lists owned by a Lua userdata, so a Lua error in the middle frees them (__gc). */
#define SCRATCH_MT "rt.TokenizerScratch"
typedef struct { rt_ids *ids; size_t *lens; size_t n; } scratch;

static int scratch_gc(lua_State *L) {
    scratch *b = luaL_checkudata(L, 1, SCRATCH_MT);
    if (b->ids) for (size_t i = 0; i < b->n; i++) rt_ids_free(&b->ids[i]);
    free(b->ids); free(b->lens);
    b->ids = NULL; b->lens = NULL; b->n = 0;
    return 0;
}

/* Push a scratch with n zeroed id lists (and n lengths). */
static scratch *new_scratch(lua_State *L, size_t n) {
    scratch *b = lua_newuserdatauv(L, sizeof *b, 0);
    b->ids = NULL; b->lens = NULL; b->n = 0;
    luaL_setmetatable(L, SCRATCH_MT);
    b->ids = calloc(n ? n : 1, sizeof *b->ids);
    b->lens = calloc(n ? n : 1, sizeof *b->lens);
    if (!b->ids || !b->lens) luaL_error(L, "tokenizer: out of memory");
    b->n = n;
    return b;
}

typedef struct { int64_t max_len; int pad; rt_trunc trunc; } enc_opts;   /* pad: 0 none, 1 max_len, 2 longest */

static enc_opts read_opts(lua_State *L, int idx) {
    enc_opts o = {0, 1, RT_TRUNC_LONGEST_FIRST};
    if (lua_type(L, idx) != LUA_TTABLE) { o.pad = 0; return o; }
    o.max_len = opt_int(L, idx, "max_len", 0);
    lua_getfield(L, idx, "pad");
    if (lua_isnil(L, -1)) o.pad = o.max_len > 0 ? 1 : 0;
    else if (lua_type(L, -1) == LUA_TSTRING) {
        if (strcmp(lua_tostring(L, -1), "longest") != 0) luaL_error(L, "pad: true, false or \"longest\" expected");
        o.pad = 2;
    } else o.pad = lua_toboolean(L, -1) ? 1 : 0;
    lua_pop(L, 1);
    if (o.pad == 1 && o.max_len <= 0) luaL_error(L, "pad=true needs max_len");
    lua_getfield(L, idx, "truncation");
    if (lua_type(L, -1) == LUA_TBOOLEAN) o.trunc = lua_toboolean(L, -1) ? RT_TRUNC_LONGEST_FIRST : RT_TRUNC_NONE;
    else if (lua_type(L, -1) == LUA_TSTRING) {
        const char *s = lua_tostring(L, -1);
        if (!strcmp(s, "longest_first")) o.trunc = RT_TRUNC_LONGEST_FIRST;
        else if (!strcmp(s, "only_first")) o.trunc = RT_TRUNC_ONLY_FIRST;
        else if (!strcmp(s, "only_second")) o.trunc = RT_TRUNC_ONLY_SECOND;
        else luaL_error(L, "truncation: \"longest_first\", \"only_first\", \"only_second\" or false expected");
    }
    lua_pop(L, 1);
    return o;
}

/* Push {input_ids=, token_type_ids=, attention_mask=} taking the three tensors. */
static void push_features(lua_State *L, rt_tensor *ids, rt_tensor *seg, rt_tensor *mask) {
    lua_createtable(L, 0, 3);
    rtl_push_tensor(L, ids); lua_setfield(L, -2, "input_ids");
    rtl_push_tensor(L, seg); lua_setfield(L, -2, "token_type_ids");
    rtl_push_tensor(L, mask); lua_setfield(L, -2, "attention_mask");
}

static void need_specials(lua_State *L, const rt_tokenizer *t) {
    if (t->cls_id < 0 || t->sep_id < 0) luaL_error(L, "encode: the vocabulary has no [CLS]/[SEP]");
}

/* tok:encode(a, b, opts) — a, b: text or list of tokens/ids; b may be nil. */
static int m_encode(lua_State *L) {
    rt_tokenizer *t = rtl_check_tokenizer(L, 1);
    need_specials(L, t);
    lua_settop(L, 4);
    if (lua_type(L, 3) == LUA_TTABLE && lua_isnil(L, 4) && lua_rawlen(L, 3) == 0) {  /* encode(a, opts) */
        lua_pushnil(L); lua_replace(L, 4); lua_insert(L, 3);
    }
    enc_opts o = read_opts(L, 4);
    bool pair = !lua_isnoneornil(L, 3);
    scratch *sc = new_scratch(L, 2);
    rt_ids *a = &sc->ids[0], *b = &sc->ids[1];
    ids_of(L, t, 2, a);
    if (pair) ids_of(L, t, 3, b);
    size_t na = a->n, nb = b->n;
    if (rt_feat_truncate(&na, &nb, pair, o.max_len, o.trunc) != RT_OK) return rtl_error(L);
    size_t len = rt_feat_len(na, nb, pair);
    int64_t width = o.pad == 1 ? o.max_len : (int64_t)len;
    rt_tensor *x = rt_tensor_empty(RT_I64, 1, &width), *s = rt_tensor_empty(RT_I64, 1, &width),
              *m = rt_tensor_empty(RT_I64, 1, &width);
    if (!x || !s || !m) { rt_release(x); rt_release(s); rt_release(m); return rtl_error(L); }
    rt_feat_fill(t, a->v, na, b->v, nb, pair, (size_t)width, rt_data(x), rt_data(s), rt_data(m));
    push_features(L, x, s, m);
    return 1;
}

/* tok:batch{texts_a, texts_b, max_len=, pad=true|"longest", truncation=} -> [B, L] tensors */
static int m_batch(lua_State *L) {
    rt_tokenizer *t = rtl_check_tokenizer(L, 1);
    need_specials(L, t);
    luaL_checktype(L, 2, LUA_TTABLE);
    enc_opts o = read_opts(L, 2);
    if (lua_getfield(L, 2, "pad") == LUA_TNIL) o.pad = o.max_len > 0 ? 1 : 2;
    lua_pop(L, 1);
    lua_geti(L, 2, 1); int ia = lua_gettop(L);
    luaL_argcheck(L, lua_type(L, ia) == LUA_TTABLE, 2, "batch{texts_a, [texts_b], ...}: texts_a must be a list");
    lua_geti(L, 2, 2); int ib = lua_gettop(L);
    bool pair = lua_type(L, ib) == LUA_TTABLE;
    lua_Integer B = luaL_len(L, ia);
    if (pair && luaL_len(L, ib) != B) return luaL_error(L, "batch: %d texts_a but %d texts_b", (int)B, (int)luaL_len(L, ib));
    scratch *sc = new_scratch(L, (size_t)B * 2);
    rt_ids *ids = sc->ids;
    size_t *lens = sc->lens;
    size_t maxw = 0;
    for (lua_Integer i = 0; i < B; i++) {
        if (rt_interrupted()) return luaL_error(L, "batch: interrupted");
        lua_geti(L, ia, i + 1); ids_of(L, t, lua_gettop(L), &ids[2 * i]); lua_pop(L, 1);
        if (pair) { lua_geti(L, ib, i + 1); ids_of(L, t, lua_gettop(L), &ids[2 * i + 1]); lua_pop(L, 1); }
        lens[2 * i] = ids[2 * i].n; lens[2 * i + 1] = ids[2 * i + 1].n;
        if (rt_feat_truncate(&lens[2 * i], &lens[2 * i + 1], pair, o.max_len, o.trunc) != RT_OK) {
            rt_error_prefix("batch item %d", (int)i + 1);
            return rtl_error(L);
        }
        size_t w = rt_feat_len(lens[2 * i], lens[2 * i + 1], pair);
        if (w > maxw) maxw = w;
    }
    int64_t shape[2] = {B, o.pad == 1 ? o.max_len : (int64_t)maxw};
    rt_tensor *x = rt_tensor_empty(RT_I64, 2, shape), *s = rt_tensor_empty(RT_I64, 2, shape),
              *m = rt_tensor_empty(RT_I64, 2, shape);
    if (!x || !s || !m) { rt_release(x); rt_release(s); rt_release(m); return rtl_error(L); }
    for (lua_Integer i = 0; i < B; i++)
        rt_feat_fill(t, ids[2 * i].v, lens[2 * i], ids[2 * i + 1].v, lens[2 * i + 1], pair, (size_t)shape[1],
                     (int64_t *)rt_data(x) + i * shape[1], (int64_t *)rt_data(s) + i * shape[1],
                     (int64_t *)rt_data(m) + i * shape[1]);
    push_features(L, x, s, m);
    return 1;
}

static int m_vocab_size(lua_State *L) {
    lua_pushinteger(L, rt_vocab_size(rtl_check_tokenizer(L, 1)->vocab));
    return 1;
}

static int m_save(lua_State *L) {
    rt_tokenizer *t = rtl_check_tokenizer(L, 1);
    const char *path = luaL_checkstring(L, 2);
    size_t n = strlen(path);
    const char *file = path;
    struct stat sb;
    if (n && path[n - 1] == '/') { lua_pushfstring(L, "%svocab.txt", path); file = lua_tostring(L, -1); }
    else if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) { lua_pushfstring(L, "%s/vocab.txt", path); file = lua_tostring(L, -1); }
    if (rt_vocab_save(t->vocab, file) != RT_OK) return rtl_error(L);
    lua_pushstring(L, file);
    return 1;
}

static int m_tostring(lua_State *L) {
    rt_tokenizer *t = rtl_check_tokenizer(L, 1);
    lua_pushfstring(L, "[Tokenizer wordpiece vocab=%d lower=%s]", (int)rt_vocab_size(t->vocab),
                    t->lower ? "true" : "false");
    return 1;
}

/* tok.vocab: v["[CLS]"] -> 101, v[101] -> "[CLS]", #v -> size */
static int v_index(lua_State *L) {
    lua_getiuservalue(L, 1, 1);
    rt_tokenizer *t = rtl_check_tokenizer(L, -1);
    if (lua_isinteger(L, 2)) {
        size_t len; const char *s = rt_vocab_token(t->vocab, lua_tointeger(L, 2), &len);
        if (s) lua_pushlstring(L, s, len); else lua_pushnil(L);
        return 1;
    }
    size_t len; const char *s = luaL_checklstring(L, 2, &len);
    int64_t id = rt_vocab_find(t->vocab, s, len);
    if (id >= 0) lua_pushinteger(L, id); else lua_pushnil(L);
    return 1;
}

static int v_len(lua_State *L) {
    lua_getiuservalue(L, 1, 1);
    lua_pushinteger(L, rt_vocab_size(rtl_check_tokenizer(L, -1)->vocab));
    return 1;
}

static const rtl_reg tok_methods[] = {
    {"tokenize", m_tokenize, "tok:tokenize(text) -> {\"tok\", \"##en\", ...}: BasicTokenizer + WordPiece (upstream semantics)."},
    {"basic_tokenize", m_basic_tokenize, "tok:basic_tokenize(text) -> words before WordPiece (cleaned, CJK split, lower-cased if set, punctuation split)."},
    {"wordpiece", m_wordpiece, "tok:wordpiece(word) -> pieces of one word (greedy longest match, ## continuations, [UNK])."},
    {"encode_ids", m_encode_ids, "tok:encode_ids(text) -> {id, ...} (0-based ids, no [CLS]/[SEP])."},
    {"convert_tokens_to_ids", m_tokens_to_ids, "tok:convert_tokens_to_ids({tokens}) -> {ids} (unknown tokens -> [UNK]'s id)."},
    {"convert_ids_to_tokens", m_ids_to_tokens, "tok:convert_ids_to_tokens(ids | tensor) -> {tokens}."},
    {"decode", m_decode, "tok:decode(ids | tensor, {skip_special=true}) -> text: tokens joined with spaces, '##' pieces merged."},
    {"encode", m_encode, "tok:encode(a, [b], {max_len=, pad=true|\"longest\"|false, truncation=\"longest_first\"})\n"
                         "  -> {input_ids=, token_type_ids=, attention_mask=} (1-D i64 tensors). a, b: text or token/id lists.\n"
                         "  [CLS] a [SEP] (b [SEP]); pair truncation pops the longer list's last token (b on ties)."},
    {"batch", m_batch, "tok:batch{texts_a, [texts_b], max_len=, pad=true|\"longest\"} -> {input_ids=, token_type_ids=, attention_mask=}\n"
                       "  as [B, L] i64 tensors (L = max_len with pad=true, else the longest item)."},
    {"vocab_size", m_vocab_size, "tok:vocab_size() -> number of ids (lines of vocab.txt)."},
    {"save", m_save, "tok:save(path) writes vocab.txt (path a directory: path/vocab.txt); returns the file written."},
    {NULL, NULL, NULL},
};

static int tok_index(lua_State *L) {
    rt_tokenizer *t = rtl_check_tokenizer(L, 1);
    const char *k = luaL_checkstring(L, 2);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) return 1;
    lua_pop(L, 1);
    if (!strcmp(k, "vocab")) {
        lua_newuserdatauv(L, 0, 1);
        lua_pushvalue(L, 1); lua_setiuservalue(L, -2, 1);
        luaL_setmetatable(L, VOCAB_MT);
        return 1;
    }
    if (!strcmp(k, "lower")) { lua_pushboolean(L, t->lower); return 1; }
    if (!strcmp(k, "max_chars")) { lua_pushinteger(L, t->max_chars); return 1; }
    int64_t v = !strcmp(k, "unk_id") ? t->unk_id : !strcmp(k, "cls_id") ? t->cls_id : !strcmp(k, "sep_id") ? t->sep_id
              : !strcmp(k, "pad_id") ? t->pad_id : !strcmp(k, "mask_id") ? t->mask_id : -2;
    if (v == -2) return 0;
    if (v < 0) lua_pushnil(L); else lua_pushinteger(L, v);
    return 1;
}

void rtl_open_text(lua_State *L, int rt) {
    rt = lua_absindex(L, rt);
    luaL_newmetatable(L, SCRATCH_MT);
    lua_pushcfunction(L, scratch_gc); lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    luaL_newmetatable(L, VOCAB_MT);
    lua_pushcfunction(L, v_index); lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, v_len); lua_setfield(L, -2, "__len");
    lua_pop(L, 1);
    luaL_newmetatable(L, TOK_MT);
    int mt = lua_gettop(L);
    lua_newtable(L);
    rtl_register(L, -1, "Tokenizer:", tok_methods);
    lua_pushcclosure(L, tok_index, 1);
    lua_setfield(L, mt, "__index");
    lua_pushcfunction(L, tok_gc); lua_setfield(L, mt, "__gc");
    lua_pushcfunction(L, m_tostring); lua_setfield(L, mt, "__tostring");
    lua_pushstring(L, "Tokenizer"); lua_setfield(L, mt, "__name");
    rtl_doc(L, mt, "Tokenizer", "A BERT WordPiece tokenizer (rt.tokenizer.load). Fields: vocab (v[token] -> id, v[id] -> token, #v),\n"
                                "lower, max_chars, unk_id, cls_id, sep_id, pad_id, mask_id.");
    lua_pop(L, 1);
    static const rtl_reg fns[] = {
        {"load", l_load, "rt.tokenizer.load(\"vocab.txt\" | {tokens...}, {lower=true, never_split={...}, max_chars=100}) -> Tokenizer\n"
                         "  ids are line numbers (0-based); tokens strip()ped as upstream."},
        {NULL, NULL, NULL},
    };
    lua_newtable(L);
    rtl_register(L, -1, "rt.tokenizer", fns);
    rtl_doc(L, -1, "rt.tokenizer", "BERT tokenizer: rt.tokenizer.load(vocab, {lower=true}); see help(Tokenizer).");
    lua_setfield(L, rt, "tokenizer");
    rtl_open_text_build(L, rt);
}
