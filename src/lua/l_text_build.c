/* l_text_build.c — rt.vocab (vocabulary builders), rt.segment (Chinese word
 * segmentation) and rt.tokenizer.char_class. */
#include <stdlib.h>
#include <string.h>
#include "l_text.h"
#include "../text/segment.h"
#include "../text/unicode.h"
#include "../text/vocab_build.h"

static int opt_field_int(lua_State *L, int idx, const char *k, lua_Integer def, lua_Integer *out) {
    *out = def;
    if (lua_type(L, idx) != LUA_TTABLE) return 0;
    lua_getfield(L, idx, k);
    if (!lua_isnil(L, -1)) *out = luaL_checkinteger(L, -1);
    lua_pop(L, 1);
    return 0;
}

/* Feed arg 1 (a file path, a list of paths, {lines={...}} or {files={...}}, or a list
 * of lines with opts.lines=true) into the builder. */
static void feed(lua_State *L, rt_vocab_builder *b, int opts) {
    int lines = 0;
    if (lua_type(L, opts) == LUA_TTABLE) { lua_getfield(L, opts, "lines"); lines = lua_toboolean(L, -1); lua_pop(L, 1); }
    if (lua_type(L, 1) == LUA_TSTRING) {
        if (rt_vocab_builder_add_file(b, lua_tostring(L, 1))) { rt_vocab_builder_free(b); rtl_error(L); }
        return;
    }
    luaL_checktype(L, 1, LUA_TTABLE);
    int list = 1;
    if (lua_getfield(L, 1, "lines") == LUA_TTABLE) { lines = 1; list = lua_gettop(L); }
    else {
        lua_pop(L, 1);
        if (lua_getfield(L, 1, "files") == LUA_TTABLE) { lines = 0; list = lua_gettop(L); }
        else lua_pop(L, 1);
    }
    lua_Integer n = luaL_len(L, list);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, list, i);
        size_t len; const char *s = lua_tolstring(L, -1, &len);
        if (!s) { rt_vocab_builder_free(b); luaL_error(L, "build: item %d is not a string", (int)i); }
        rt_status st = lines ? rt_vocab_builder_add_text(b, s, len) : rt_vocab_builder_add_file(b, s);
        if (st) { rt_vocab_builder_free(b); rtl_error(L); }
        lua_pop(L, 1);
    }
}

static int build(lua_State *L, int chars) {
    lua_settop(L, 2);
    lua_Integer lower_i = 1;
    if (lua_type(L, 2) == LUA_TTABLE) { lua_getfield(L, 2, "lower"); if (!lua_isnil(L, -1)) lower_i = lua_toboolean(L, -1); lua_pop(L, 1); }
    rt_vocab_build_opts o = {0};
    lua_Integer v;
    opt_field_int(L, 2, "size", chars ? 21128 : 8000, &v); o.size = v;
    opt_field_int(L, 2, "min_frequency", chars ? 1 : 2, &v); o.min_frequency = v;
    opt_field_int(L, 2, "limit_alphabet", 0, &v); o.limit_alphabet = v;
    const char *sp[64]; int nsp = -1;
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_getfield(L, 2, "special");
        if (lua_type(L, -1) == LUA_TTABLE) {
            nsp = 0;
            for (lua_Integer i = 1; i <= luaL_len(L, -1) && nsp < 64; i++) {
                lua_geti(L, -1, i);
                sp[nsp] = lua_tostring(L, -1);
                lua_pop(L, 1);                   /* anchored by the option table */
                if (!sp[nsp]) return luaL_error(L, "special: strings expected");
                nsp++;
            }
        }
        lua_pop(L, 1);
    }
    if (nsp >= 0) { o.special = sp; o.nspecial = nsp; }
    rt_vocab_builder *b = rt_vocab_builder_new(lower_i != 0);
    RTL_CHECK(L, b);
    feed(L, b, 2);
    size_t nwords = rt_vocab_builder_words(b);
    rt_vocab *voc = chars ? rt_vocab_build_chars(b, &o) : rt_vocab_build_wordpiece(b, &o);
    rt_vocab_builder_free(b);
    RTL_CHECK(L, voc);
    const char *out = NULL;
    if (lua_type(L, 2) == LUA_TTABLE) { lua_getfield(L, 2, "out"); out = lua_tostring(L, -1); lua_pop(L, 1); }
    if (out && rt_vocab_save(voc, out) != RT_OK) { rt_vocab_free(voc); return rtl_error(L); }
    int64_t n = rt_vocab_size(voc);
    lua_createtable(L, (int)n, 0);
    for (int64_t i = 0; i < n; i++) {
        size_t len; const char *s = rt_vocab_token(voc, i, &len);
        lua_pushlstring(L, s, len);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    rt_vocab_free(voc);
    lua_createtable(L, 0, 2);
    lua_pushinteger(L, (lua_Integer)nwords); lua_setfield(L, -2, "words");
    lua_pushinteger(L, (lua_Integer)n); lua_setfield(L, -2, "size");
    return 2;
}

static int l_build_wordpiece(lua_State *L) { return build(L, 0); }
static int l_build_chars(lua_State *L) { return build(L, 1); }

/* ---- segmenter ---- */
#define SEG_MT "rt.Segmenter"
typedef struct { rt_segmenter *s; } lseg;

rt_segmenter *rtl_check_segmenter(lua_State *L, int i) {
    lseg *u = luaL_checkudata(L, i, SEG_MT);
    if (!u->s) luaL_error(L, "segmenter is closed");
    return u->s;
}

static int seg_gc(lua_State *L) {
    lseg *u = luaL_checkudata(L, 1, SEG_MT);
    rt_segmenter_free(u->s); u->s = NULL;
    return 0;
}

/* rt.segment.load(path | {word=freq,...} | {{word, freq}, ...} | nil) */
static int l_seg_load(lua_State *L) {
    lseg *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->s = NULL;
    luaL_setmetatable(L, SEG_MT);
    u->s = rt_segmenter_new();
    RTL_CHECK(L, u->s);
    if (lua_type(L, 1) == LUA_TSTRING) {
        if (rt_segmenter_load(u->s, lua_tostring(L, 1))) return rtl_error(L);
    } else if (lua_type(L, 1) == LUA_TTABLE) {
        lua_pushnil(L);
        while (lua_next(L, 1)) {
            size_t len; const char *w; lua_Integer f = 1;
            if (lua_type(L, -1) == LUA_TTABLE) {
                lua_geti(L, -1, 1); w = lua_tolstring(L, -1, &len); lua_pop(L, 1);
                lua_geti(L, -1, 2); if (!lua_isnil(L, -1)) f = luaL_checkinteger(L, -1); lua_pop(L, 1);
            } else if (lua_type(L, -2) == LUA_TSTRING) {
                w = lua_tolstring(L, -2, &len); f = luaL_checkinteger(L, -1);
            } else { w = lua_tolstring(L, -1, &len); }
            if (!w) return luaL_error(L, "rt.segment.load: words must be strings");
            if (rt_segmenter_add(u->s, w, len, f)) return rtl_error(L);
            lua_pop(L, 1);
        }
    }
    return 1;
}

static int push_piece(void *ctx, const char *w, size_t nb) {
    lua_State *L = ctx;
    lua_pushlstring(L, w, nb);
    lua_rawseti(L, -2, (lua_Integer)luaL_len(L, -2) + 1);
    return 0;
}

static int seg_cut(lua_State *L) {
    rt_segmenter *s = rtl_check_segmenter(L, 1);
    size_t n; const char *t = luaL_checklstring(L, 2, &n);
    rt_seg_mode mode = RT_SEG_DAG;
    if (lua_type(L, 3) == LUA_TTABLE) {
        lua_getfield(L, 3, "mode");
        const char *m = lua_tostring(L, -1);
        if (m && !strcmp(m, "fmm")) mode = RT_SEG_FMM;
        else if (m && strcmp(m, "dag")) return luaL_error(L, "cut: mode must be \"dag\" or \"fmm\"");
        lua_pop(L, 1);
    }
    lua_newtable(L);
    if (rt_segment_cut(s, t, n, mode, push_piece, L)) return rtl_error(L);
    return 1;
}

static int seg_add(lua_State *L) {
    rt_segmenter *s = rtl_check_segmenter(L, 1);
    size_t n; const char *w = luaL_checklstring(L, 2, &n);
    if (rt_segmenter_add(s, w, n, luaL_optinteger(L, 3, 1))) return rtl_error(L);
    return 0;
}

static int seg_size(lua_State *L) { lua_pushinteger(L, (lua_Integer)rt_segmenter_size(rtl_check_segmenter(L, 1))); return 1; }

static int seg_tostring(lua_State *L) {
    lua_pushfstring(L, "[Segmenter %d words]", (int)rt_segmenter_size(rtl_check_segmenter(L, 1)));
    return 1;
}

/* rt.tokenizer.char_class(text) -> list of {cp, class} classes per code point:
 * "space", "control", "cjk", "punct" or "other" (upstream predicates). */
static int l_char_class(lua_State *L) {
    size_t n; const char *s = luaL_checklstring(L, 1, &n);
    uint32_t *cp = malloc((n + 1) * sizeof *cp), *off = malloc((n + 1) * sizeof *off);
    if (!cp || !off) { free(cp); free(off); return luaL_error(L, "char_class: out of memory"); }
    size_t m = rt_utf8_decode(s, n, cp, off);
    lua_createtable(L, (int)m, 0);
    lua_createtable(L, (int)m, 0);
    for (size_t i = 0; i < m; i++) {
        uint32_t c = cp[i];
        const char *k = c == 0 || c == 0xFFFD ? "control" : rt_uc_is_whitespace(c) || rt_uc_is_py_space(c) ? "space"
                      : rt_uc_is_control(c) ? "control" : rt_uc_is_cjk(c) ? "cjk" : rt_uc_is_punct(c) ? "punct" : "other";
        lua_pushstring(L, k); lua_rawseti(L, -3, (lua_Integer)i + 1);
        size_t e = i + 1 < m ? off[i + 1] : n;
        lua_pushlstring(L, s + off[i], e - off[i]); lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    free(cp); free(off);
    lua_insert(L, -2);   /* chars, classes */
    return 2;
}

void rtl_open_text_build(lua_State *L, int rt) {
    rt = lua_absindex(L, rt);
    static const rtl_reg vfns[] = {
        {"build_wordpiece", l_build_wordpiece,
         "rt.vocab.build_wordpiece(files_or_lines, {size=8000, lower=true, min_frequency=2, limit_alphabet=0,\n"
         "  special={\"[PAD]\",\"[UNK]\",\"[CLS]\",\"[SEP]\",\"[MASK]\"}, out=\"vocab.txt\"}) -> tokens, {words=, size=}\n"
         "  HF-tokenizers-style WordPiece learner: BPE merges over basic-tokenized words with ## continuations.\n"
         "  Input: a file path, a list of paths, {lines={...}}, or a list of lines with lines=true."},
        {"build_chars", l_build_chars,
         "rt.vocab.build_chars(files_or_lines, {size=21128, min_frequency=1, special=..., out=}) -> tokens, info\n"
         "  Character vocabulary (Chinese): specials, then characters by frequency; \"##c\" for characters inside words."},
        {NULL, NULL, NULL},
    };
    lua_newtable(L);
    rtl_register(L, -1, "rt.vocab", vfns);
    lua_setfield(L, rt, "vocab");

    luaL_newmetatable(L, SEG_MT);
    static const rtl_reg smeth[] = {
        {"cut", seg_cut, "seg:cut(text, {mode=\"dag\"|\"fmm\"}) -> {words}: jieba DAG + max-probability route (or forward max matching)."},
        {"add_word", seg_add, "seg:add_word(word, freq=1) adds a dictionary word."},
        {"size", seg_size, "seg:size() -> number of dictionary words."},
        {NULL, NULL, NULL},
    };
    lua_newtable(L);
    rtl_register(L, -1, "Segmenter:", smeth);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, seg_gc); lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, seg_tostring); lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);
    static const rtl_reg sfns[] = {
        {"load", l_seg_load, "rt.segment.load(dict_path | {word=freq, ...} | {{word, freq}, ...}) -> Segmenter\n"
                             "  Dictionary file: one \"word freq [tag]\" per line (jieba dict.txt format); '#' lines are comments."},
        {NULL, NULL, NULL},
    };
    lua_newtable(L);
    rtl_register(L, -1, "rt.segment", sfns);
    lua_setfield(L, rt, "segment");

    lua_getfield(L, rt, "tokenizer");
    lua_pushcfunction(L, l_char_class);
    rtl_doc(L, -1, "rt.tokenizer.char_class", "rt.tokenizer.char_class(text) -> chars, classes (\"space\", \"control\", \"cjk\", \"punct\", \"other\" per code point).");
    lua_setfield(L, -2, "char_class");
    lua_pop(L, 1);
}
