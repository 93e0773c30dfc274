/* l_augment.c — C helpers for rt.augment (lua/retort/augment.lua): GloVe vectors
 * kept as one normalised matrix with batched neighbour search (one GEMM per
 * block of query words), and a row-wise top-k for MLM logits. Exposed as
 * rt._augment; the Lua module builds the word-replacement logic on top. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lrt.h"
#include "../io/glove.h"
#include "../kernels/topk.h"
#include "../autograd/ops.h"

#define GLOVE_MT "rt.Glove"

static rt_glove *check_glove(lua_State *L, int i) {
    rt_glove *g = luaL_checkudata(L, i, GLOVE_MT);
    if (!g->emb) luaL_error(L, "Glove: already freed");
    return g;
}

/* rt._augment.read_glove(path, limit) -> Glove */
static int l_read_glove(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    lua_Integer limit = luaL_optinteger(L, 2, 100000);
    rt_glove *g = lua_newuserdatauv(L, sizeof *g, 0);
    memset(g, 0, sizeof *g);
    luaL_setmetatable(L, GLOVE_MT);
    rt_glove tmp;
    if (rt_glove_read(path, (int64_t)limit, &tmp)) return rtl_error(L);
    *g = tmp;
    rtl_gc_account(L, rt_nbytes(g->emb));
    return 1;
}

static int g_gc(lua_State *L) {
    rt_glove *g = luaL_checkudata(L, 1, GLOVE_MT);
    rt_glove_free(g);
    return 0;
}

static int g_tostring(lua_State *L) {
    rt_glove *g = luaL_checkudata(L, 1, GLOVE_MT);
    lua_pushfstring(L, "[Glove %d words x %d dims]", (int)g->n, (int)g->dim);
    return 1;
}

/* g:words() -> {word, ...} in line order */
static int g_words(lua_State *L) {
    rt_glove *g = check_glove(L, 1);
    lua_createtable(L, (int)g->n, 0);
    for (int64_t i = 0; i < g->n; i++) { lua_pushstring(L, g->words[i]); lua_rawseti(L, -2, (lua_Integer)i + 1); }
    return 1;
}

static int g_size(lua_State *L) { lua_pushinteger(L, (lua_Integer)check_glove(L, 1)->n); return 1; }
static int g_dim(lua_State *L) { lua_pushinteger(L, (lua_Integer)check_glove(L, 1)->dim); return 1; }

/* g:matrix() -> the normalised f32 [n, dim] tensor (shared, not a copy) */
static int g_matrix(lua_State *L) {
    rt_glove *g = check_glove(L, 1);
    rt_retain(g->emb);
    rtl_push_tensor(L, g->emb);
    return 1;
}

/* g:is_zero(i) -> whether row i (0-based) is a zero row */
static int g_is_zero(lua_State *L) {
    rt_glove *g = check_glove(L, 1);
    lua_Integer i = luaL_checkinteger(L, 2);
    luaL_argcheck(L, i >= 0 && i < g->n, 2, "row out of range");
    lua_pushboolean(L, g->zero[i]);
    return 1;
}

/* g:neighbours({row, ...} 0-based, k) -> {{row, ...}, ...}: for each query row the k
 * rows of highest cosine similarity, best first, the row itself and zero rows
 * excluded; a zero query row gets {} (it matches nothing). Queries go through the
 * matrix in blocks of 256: one GEMM [q, dim] x [n, dim]^T per block. */
static int g_neighbours(lua_State *L) {
    rt_glove *g = check_glove(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_Integer k = luaL_checkinteger(L, 3);
    int64_t nq = (int64_t)lua_rawlen(L, 2);
    if (k > g->n) k = g->n;
    if (k < 0) k = 0;
    int64_t *rows = malloc((size_t)(nq ? nq : 1) * sizeof *rows);
    int64_t *out = malloc((size_t)(256 * (k ? k : 1)) * sizeof *out);
    if (!rows || !out) { free(rows); free(out); return luaL_error(L, "Glove:neighbours: out of memory"); }
    for (int64_t i = 0; i < nq; i++) {
        lua_rawgeti(L, 2, (lua_Integer)i + 1);
        lua_Integer r = lua_tointeger(L, -1);
        lua_pop(L, 1);
        if (r < 0 || r >= g->n) { free(rows); free(out); return luaL_error(L, "Glove:neighbours: row %d out of range [0, %d)", (int)r, (int)g->n); }
        rows[i] = r;
    }
    lua_createtable(L, (int)nq, 0);
    for (int64_t b0 = 0; b0 < nq; b0 += 256) {
        int64_t bq = nq - b0 < 256 ? nq - b0 : 256;
        int64_t ish[1] = {bq};
        rt_tensor *idx = rt_tensor_empty(RT_I64, 1, ish);
        rt_tensor *q = NULL, *s = NULL, *sc = NULL;
        rt_status st = RT_OK;
        if (idx) {
            memcpy(rt_data(idx), rows + b0, (size_t)bq * sizeof *rows);
            if ((q = rt_index_select(g->emb, 0, idx)) && (s = rt_linear(q, g->emb, NULL)) && (sc = rt_tensor_contiguous(s)))
                st = rt_k_topk_rows_f32(rt_f32(sc), bq, g->n, k, g->zero, rows + b0, out);
            else st = RT_ENOMEM;
        } else st = RT_ENOMEM;
        rt_release(idx); rt_release(q); rt_release(s); rt_release(sc);
        if (st) { free(rows); free(out); return rtl_error(L); }
        for (int64_t i = 0; i < bq; i++) {
            lua_newtable(L);
            if (!g->zero[rows[b0 + i]])
                for (int64_t j = 0, n = 0; j < k; j++)
                    if (out[i * k + j] >= 0) { lua_pushinteger(L, (lua_Integer)out[i * k + j]); lua_rawseti(L, -2, ++n); }
            lua_rawseti(L, -2, (lua_Integer)(b0 + i) + 1);
        }
    }
    free(rows); free(out);
    return 1;
}

/* rt._augment.topk(t [R, C] or [R, 1, C], k) -> {{col, ...}, ...} 0-based, best first */
static int l_topk(lua_State *L) {
    rt_tensor *t = rtl_check_tensor(L, 1);
    lua_Integer k = luaL_checkinteger(L, 2);
    if (t->dtype != RT_F32) return luaL_error(L, "rt._augment.topk: expected an f32 tensor");
    if (t->ndim < 1) return luaL_error(L, "rt._augment.topk: expected a matrix");
    int64_t C = t->shape[t->ndim - 1], R = C ? rt_numel(t) / C : 0;
    if (k > C) k = C;
    if (k < 0) k = 0;
    rt_tensor *c = rt_tensor_contiguous(t);
    int64_t *out = malloc((size_t)((R ? R : 1) * (k ? k : 1)) * sizeof *out);
    if (!c || !out) { rt_release(c); free(out); return luaL_error(L, "rt._augment.topk: out of memory"); }
    rt_status st = rt_k_topk_rows_f32(rt_f32(c), R, C, k, NULL, NULL, out);
    rt_release(c);
    if (st) { free(out); return rtl_error(L); }
    lua_createtable(L, (int)R, 0);
    for (int64_t r = 0; r < R; r++) {
        lua_createtable(L, (int)k, 0);
        for (int64_t j = 0; j < k; j++) { lua_pushinteger(L, (lua_Integer)out[r * k + j]); lua_rawseti(L, -2, (lua_Integer)j + 1); }
        lua_rawseti(L, -2, (lua_Integer)r + 1);
    }
    free(out);
    return 1;
}

/* rt._augment.truncate(path, size): cut a file to `size` bytes (resuming a partial output). */
static int l_truncate(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    lua_Integer n = luaL_checkinteger(L, 2);
    if (n < 0 || truncate(path, (off_t)n) != 0) return luaL_error(L, "%s: truncate: %s", path, strerror(errno));
    return 0;
}

void rtl_open_augment(lua_State *L, int rt) {
    rt = lua_absindex(L, rt);
    static const rtl_reg gm[] = {
        {"words", g_words, "g:words() -> {word, ...} in file order."},
        {"size", g_size, "g:size() -> number of words (lines read)."},
        {"dim", g_dim, "g:dim() -> vector length."},
        {"matrix", g_matrix, "g:matrix() -> the L2-normalised f32 [n, dim] matrix (shared)."},
        {"is_zero", g_is_zero, "g:is_zero(row) -> whether row (0-based) is zero (<unk>, a repeated word's earlier line, an all-zero vector)."},
        {"neighbours", g_neighbours, "g:neighbours({row, ...}, k) -> {{row, ...}, ...}: top-k cosine neighbours per query row\n"
                                     "(0-based rows, best first; the row itself and zero rows never appear; a zero query gets {})."},
        {NULL, NULL, NULL}};
    luaL_newmetatable(L, GLOVE_MT);
    lua_newtable(L);
    rtl_register(L, -1, "Glove:", gm);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, g_gc); lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, g_tostring); lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);
    static const rtl_reg fns[] = {
        {"read_glove", l_read_glove, "rt._augment.read_glove(path, limit=100000) -> Glove: the first `limit` lines of a GloVe text file\n"
                                     "(word then floats), rows L2-normalised; bad lines raise path:line errors."},
        {"topk", l_topk, "rt._augment.topk(t, k) -> {{col, ...}, ...}: per row of t (last dim = columns) the k largest, 0-based, best first."},
        {"truncate", l_truncate, "rt._augment.truncate(path, size): cut a file to size bytes."},
        {NULL, NULL, NULL}};
    lua_newtable(L);
    rtl_register(L, -1, "rt._augment", fns);
    lua_setfield(L, rt, "_augment");
}
