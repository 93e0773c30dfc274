/* l_check.c — the tensor box and every argument checker of the bindings
 * (lrt.h, l_tensor.h): push/test/check a Tensor, dtype names, 1-based dims and
 * indices, shapes, and Lua values (numbers, nested tables) turned into tensors.
 * Every binding file calls these; this file calls none of them back. */
#include <stdlib.h>
#include "l_tensor.h"
#include "../core/alloc.h"

const char *rtl_fname(lua_State *L) {
    lua_Debug ar;
    if (lua_getstack(L, 0, &ar) && lua_getinfo(L, "n", &ar) && ar.name) return ar.name;
    return "tensor";
}

/* Lua sees a tensor as a small userdata, so its GC would not hurry to free
 * gigabytes of dead tensors. Each new tensor's bytes drive an incremental GC
 * step, and once the bytes allocated since the last full collection exceed
 * max(64 MB, half the live tensor bytes) a full collection runs: dead
 * temporaries go back to the allocator's cache before the next big allocation
 * (no page faults), and a loop of temporaries stays within ~1.5x its live set. */
void rtl_gc_account(lua_State *L, size_t nbytes) {
    static int64_t since = 0;
    since += (int64_t)nbytes;
    int64_t live = rt_memory_stats().live_bytes;
    int64_t limit = live / 2 > (64LL << 20) ? live / 2 : (64LL << 20);
    if (since > limit) {
        lua_gc(L, LUA_GCCOLLECT);
        since = 0;
    } else if (nbytes >= 1024) {
        lua_gc(L, LUA_GCSTEP, (int)(nbytes >> 10 > 1 << 20 ? 1 << 20 : nbytes >> 10));
    }
}

void rtl_push_tensor(lua_State *L, rt_tensor *t) {
    if (!t) rtl_error(L);
    rtl_tbox *b = lua_newuserdatauv(L, sizeof *b, 0);
    b->t = t;
    luaL_setmetatable(L, RTL_TENSOR_MT);
    if (t->storage->refcount == 1 && t->storage->kind == RT_STORAGE_OWNED) rtl_gc_account(L, t->storage->nbytes);
}

rt_tensor *rtl_test_tensor(lua_State *L, int idx) {
    rtl_tbox *b = luaL_testudata(L, idx, RTL_TENSOR_MT);
    return b ? b->t : NULL;
}

void rtl_close_tensor(lua_State *L, int idx) {
    rtl_tbox *b = luaL_testudata(L, idx, RTL_TENSOR_MT);
    if (b) { rt_release(b->t); b->t = NULL; }
}

rt_tensor *rtl_check_tensor(lua_State *L, int idx) {
    rtl_tbox *b = luaL_testudata(L, idx, RTL_TENSOR_MT);
    if (!b) {
        luaL_error(L, "%s: bad argument #%d (Tensor expected, got %s)", rtl_fname(L), idx, luaL_typename(L, idx));
        return NULL;
    }
    if (!b->t) luaL_error(L, "%s: bad argument #%d (tensor was closed)", rtl_fname(L), idx);
    return b->t;
}

rt_dtype rtl_opt_dtype(lua_State *L, int arg, rt_dtype def) {
    if (lua_isnoneornil(L, arg)) return def;
    const char *s = luaL_checkstring(L, arg);
    rt_dtype d;
    if (rt_dtype_parse(s, &d) != 0)
        luaL_error(L, "%s: unknown dtype '%s' (f32, i32, i64, bf16, bool)", rtl_fname(L), s);
    return d;
}

int rtl_check_dim(lua_State *L, int arg, int ndim, int allow_end) {
    lua_Integer d = luaL_checkinteger(L, arg);
    int n = ndim + (allow_end ? 1 : 0);
    if (n == 0) n = 1;   /* a 0-d tensor accepts dim 1 / -1 */
    lua_Integer r = d > 0 ? d - 1 : n + d;
    if (d == 0 || r < 0 || r >= n)
        luaL_error(L, "%s: dim %d out of range for a %d-d tensor (dims are 1-based, negatives count from the end)",
                   rtl_fname(L), (int)d, ndim);
    return (int)r;
}

int64_t rtl_check_index(lua_State *L, int arg, int64_t n, const char *what) {
    lua_Integer i = luaL_checkinteger(L, arg);
    lua_Integer r = i > 0 ? i - 1 : n + i;
    if (i == 0 || r < 0 || r >= n)
        luaL_error(L, "%s: %s %d out of range for size %d (1-based, negatives count from the end)", rtl_fname(L),
                   what, (int)i, (int)n);
    return r;
}

int rtl_check_shape(lua_State *L, int arg, int64_t *shape) {
    int nd = 0;
    if (lua_istable(L, arg)) {
        int n = (int)luaL_len(L, arg);
        if (n > RT_MAXDIM) luaL_error(L, "%s: %d dims (at most %d)", rtl_fname(L), n, RT_MAXDIM);
        for (int i = 1; i <= n; i++) {
            lua_geti(L, arg, i);
            int ok;
            lua_Integer v = lua_tointegerx(L, -1, &ok);
            if (!ok) luaL_error(L, "%s: shape entry %d is not an integer", rtl_fname(L), i);
            shape[nd++] = v;
            lua_pop(L, 1);
        }
        return nd;
    }
    while (lua_type(L, arg + nd) == LUA_TNUMBER) {
        if (nd >= RT_MAXDIM) luaL_error(L, "%s: more than %d dims", rtl_fname(L), RT_MAXDIM);
        int ok;
        lua_Integer v = lua_tointegerx(L, arg + nd, &ok);
        if (!ok) luaL_error(L, "%s: size %s is not an integer", rtl_fname(L), lua_tostring(L, arg + nd));
        shape[nd++] = v;
    }
    return nd;
}

/* --- nested tables --- */

static void infer_shape(lua_State *L, int idx, int depth, int *nd, int64_t *shape) {
    if (lua_type(L, idx) != LUA_TTABLE) return;
    if (depth >= RT_MAXDIM) luaL_error(L, "tensor: nesting deeper than %d", RT_MAXDIM);
    int64_t n = (int64_t)luaL_len(L, idx);
    shape[depth] = n;
    *nd = depth + 1;
    if (n > 0) {
        lua_geti(L, idx, 1);
        infer_shape(L, lua_gettop(L), depth + 1, nd, shape);
        lua_pop(L, 1);
    }
}

static void fill_from(lua_State *L, int idx, int depth, int nd, const int64_t *shape, rt_tensor *t, int64_t *pos,
                      int64_t *path) {
    if (depth == nd) {
        double v;
        if (lua_isboolean(L, idx)) v = lua_toboolean(L, idx);
        else if (lua_isnumber(L, idx)) v = lua_tonumber(L, idx);
        else {
            luaL_error(L, "tensor: element at [%d%s] is a %s, not a number", (int)path[0] + 1,
                       depth > 1 ? ",..." : "", luaL_typename(L, idx));
            return;
        }
        int64_t ix = (*pos)++;
        int64_t one[1] = {ix};
        rt_tensor flat = *t;
        flat.ndim = 1; flat.shape[0] = rt_numel(t); flat.stride[0] = 1;
        rt_tensor_set(&flat, one, v);
        return;
    }
    if (lua_type(L, idx) != LUA_TTABLE || (int64_t)luaL_len(L, idx) != shape[depth]) {
        luaL_error(L, "tensor: ragged nested table at depth %d (entry %d): expected %d elements, got %s", depth + 1,
                   depth ? (int)path[depth - 1] + 1 : 1, (int)shape[depth],
                   lua_type(L, idx) == LUA_TTABLE ? lua_pushfstring(L, "%d", (int)luaL_len(L, idx)) : luaL_typename(L, idx));
    }
    for (int64_t i = 0; i < shape[depth]; i++) {
        path[depth] = i;
        lua_geti(L, idx, i + 1);
        fill_from(L, lua_gettop(L), depth + 1, nd, shape, t, pos, path);
        lua_pop(L, 1);
    }
}

rt_tensor *rtl_to_tensor(lua_State *L, int idx, rt_dtype hint) {
    idx = lua_absindex(L, idx);
    rt_tensor *t = rtl_test_tensor(L, idx);
    if (t) { rt_retain(t); return t; }
    if (lua_type(L, idx) == LUA_TNUMBER || lua_isboolean(L, idx)) {
        double v = lua_isboolean(L, idx) ? lua_toboolean(L, idx) : lua_tonumber(L, idx);
        return rt_tensor_scalar(hint, v);
    }
    if (!lua_istable(L, idx)) {
        luaL_error(L, "%s: expected a Tensor, number or nested table, got %s", rtl_fname(L), luaL_typename(L, idx));
        return NULL;
    }
    int nd = 0;
    int64_t shape[RT_MAXDIM] = {0}, path[RT_MAXDIM] = {0}, pos = 0;
    infer_shape(L, idx, 0, &nd, shape);
    t = rt_tensor_empty(hint, nd, shape);
    if (!t) return NULL;
    /* anchor it so a Lua error while filling does not leak it */
    rtl_push_tensor(L, t);
    fill_from(L, idx, 0, nd, shape, t, &pos, path);
    rt_retain(t);
    lua_pop(L, 1);
    return t;
}

