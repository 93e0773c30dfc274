/* l_tensor_methods.c — Tensor methods (t:method(...)): queries, element access,
 * conversions, math, reductions, views, indexing and autograd. Dims are 1-based
 * (negatives from the end); numbers stored in index tensors are 0-based data. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "l_tensor.h"
#include "../autograd/graph.h"
#include "../autograd/ops.h"
#include "../core/shape.h"

#define SELF rtl_check_tensor(L, 1)
static int push(lua_State *L, rt_tensor *t) { rtl_push_tensor(L, t); return 1; }
static int push_self(lua_State *L) { lua_settop(L, 1); return 1; }
static bool is_float(rt_dtype d) { return d == RT_F32 || d == RT_BF16; }

/* ---- queries ---- */

static int m_shape(lua_State *L) {
    rt_tensor *t = SELF;
    lua_createtable(L, t->ndim, 0);
    for (int i = 0; i < t->ndim; i++) { lua_pushinteger(L, t->shape[i]); lua_rawseti(L, -2, i + 1); }
    return 1;
}
static int m_size(lua_State *L) {
    rt_tensor *t = SELF;
    if (lua_isnoneornil(L, 2)) return m_shape(L);
    lua_pushinteger(L, t->ndim ? t->shape[rtl_check_dim(L, 2, t->ndim, 0)] : 1);
    return 1;
}
static int m_dim(lua_State *L) { lua_pushinteger(L, SELF->ndim); return 1; }
static int m_numel(lua_State *L) { lua_pushinteger(L, rt_numel(SELF)); return 1; }
static int m_dtype(lua_State *L) { lua_pushstring(L, rt_dtype_name(SELF->dtype)); return 1; }
static int m_is_contiguous(lua_State *L) { lua_pushboolean(L, rt_is_contiguous(SELF)); return 1; }

static void push_elem(lua_State *L, const rt_tensor *t, double v) {
    if (t->dtype == RT_I32 || t->dtype == RT_I64) lua_pushinteger(L, (lua_Integer)v);
    else if (t->dtype == RT_BOOL) lua_pushboolean(L, v != 0);
    else lua_pushnumber(L, v);
}

static int m_item(lua_State *L) {
    rt_tensor *t = SELF;
    if (rt_numel(t) != 1) {
        char s[96];
        return luaL_error(L, "item: tensor %s has %d elements (item needs exactly one)", rt_shape_str(t, s, sizeof s),
                          (int)rt_numel(t));
    }
    int64_t zero[RT_MAXDIM] = {0};
    push_elem(L, t, rt_tensor_get(t, zero));
    return 1;
}

static void totable_rec(lua_State *L, const rt_tensor *t, int d, int64_t *ix) {
    if (d == t->ndim) { push_elem(L, t, rt_tensor_get(t, ix)); return; }
    lua_createtable(L, (int)t->shape[d], 0);
    for (int64_t i = 0; i < t->shape[d]; i++) {
        ix[d] = i;
        totable_rec(L, t, d + 1, ix);
        lua_rawseti(L, -2, i + 1);
    }
}
static int m_totable(lua_State *L) {
    rt_tensor *t = SELF;
    if (rt_numel(t) > 50000000) return luaL_error(L, "totable: %d elements is too many for a Lua table", (int)rt_numel(t));
    int64_t ix[RT_MAXDIM] = {0};
    luaL_checkstack(L, t->ndim + 4, "totable");
    totable_rec(L, t, 0, ix);
    return 1;
}

static void read_index(lua_State *L, rt_tensor *t, int arg, int64_t *ix) {
    char s[96];
    int given = lua_gettop(L) - arg + 1;
    if (lua_istable(L, arg)) {
        given = (int)luaL_len(L, arg);
        if (given != t->ndim) luaL_error(L, "%s: %d indices for a %d-d tensor %s", rtl_fname(L), given, t->ndim, rt_shape_str(t, s, sizeof s));
        for (int i = 0; i < t->ndim; i++) {
            lua_geti(L, arg, i + 1);
            lua_Integer v = luaL_checkinteger(L, -1);
            lua_pop(L, 1);
            lua_Integer r = v > 0 ? v - 1 : t->shape[i] + v;
            if (v == 0 || r < 0 || r >= t->shape[i])
                luaL_error(L, "%s: index %d out of range for dim %d of size %d (shape %s)", rtl_fname(L), (int)v, i + 1,
                           (int)t->shape[i], rt_shape_str(t, s, sizeof s));
            ix[i] = r;
        }
        return;
    }
    if (given < t->ndim) luaL_error(L, "%s: %d indices for a %d-d tensor %s", rtl_fname(L), given, t->ndim, rt_shape_str(t, s, sizeof s));
    for (int i = 0; i < t->ndim; i++) {
        lua_Integer v = luaL_checkinteger(L, arg + i);
        lua_Integer r = v > 0 ? v - 1 : t->shape[i] + v;
        if (v == 0 || r < 0 || r >= t->shape[i])
            luaL_error(L, "%s: index %d out of range for dim %d of size %d (shape %s)", rtl_fname(L), (int)v, i + 1,
                       (int)t->shape[i], rt_shape_str(t, s, sizeof s));
        ix[i] = r;
    }
}

static int m_get(lua_State *L) {
    rt_tensor *t = SELF;
    int64_t ix[RT_MAXDIM];
    int n = lua_gettop(L);
    if (!lua_istable(L, 2) && n - 1 != t->ndim) {
        char s[96];
        return luaL_error(L, "get: %d indices for a %d-d tensor %s", n - 1, t->ndim, rt_shape_str(t, s, sizeof s));
    }
    read_index(L, t, 2, ix);
    push_elem(L, t, rt_tensor_get(t, ix));
    return 1;
}

static int m_set(lua_State *L) {
    rt_tensor *t = SELF;
    int64_t ix[RT_MAXDIM];
    int n = lua_gettop(L);
    double v;
    if (lua_istable(L, 2)) { v = lua_isboolean(L, 3) ? lua_toboolean(L, 3) : luaL_checknumber(L, 3); }
    else {
        if (n - 2 != t->ndim) {
            char s[96];
            return luaL_error(L, "set: expected %d indices and a value for %s", t->ndim, rt_shape_str(t, s, sizeof s));
        }
        v = lua_isboolean(L, n) ? lua_toboolean(L, n) : luaL_checknumber(L, n);
    }
    read_index(L, t, 2, ix);
    if (t->requires_grad && !t->grad_fn && rt_grad_enabled())
        return luaL_error(L, "set: in-place change of a leaf that requires grad (use rt.no_grad or :detach())");
    if (t->storage->kind == RT_STORAGE_MMAP)
        return luaL_error(L, "set: tensor is a read-only file mapping (:clone() it first)");
    RTL_CHECK(L, rt_tensor_set(t, ix, v) == RT_OK);
    return push_self(L);
}

/* ---- conversions ---- */

/* Same dtype: the very same userdata (as PyTorch's t.to returns t). */
static int to_dtype(lua_State *L, rt_dtype dt) {
    rt_tensor *t = SELF;
    if (t->dtype == dt) return push_self(L);
    return push(L, rt_to(t, dt));
}
static int m_to(lua_State *L) { return to_dtype(L, rtl_opt_dtype(L, 2, RT_F32)); }
static int m_float(lua_State *L) { return to_dtype(L, RT_F32); }
static int m_long(lua_State *L) { return to_dtype(L, RT_I64); }
static int m_int(lua_State *L) { return to_dtype(L, RT_I32); }
static int m_bf16(lua_State *L) { return to_dtype(L, RT_BF16); }
static int m_bool(lua_State *L) { return to_dtype(L, RT_BOOL); }
static int m_clone(lua_State *L) { return push(L, rt_clone(SELF)); }
static int m_contiguous(lua_State *L) { return push(L, rt_contiguous(SELF)); }

/* ---- math ---- */

static int binop(lua_State *L, int op) {
    rt_tensor *a = SELF;
    if (lua_type(L, 2) == LUA_TNUMBER) {
        double s = lua_tonumber(L, 2);
        switch (op) {
        case 0: return push(L, rt_add_scalar(a, s));
        case 1: return push(L, rt_add_scalar(a, -s));
        case 2: return push(L, rt_mul_scalar(a, s));
        case 3: {
            rt_tensor *st = rt_tensor_scalar(RT_F32, s);
            rt_tensor *r = st ? rt_div(a, st) : NULL;
            rt_release(st);
            return push(L, r);
        }
        default: return push(L, rt_pow_scalar(a, s));
        }
    }
    rt_tensor *b = rtl_check_tensor(L, 2);
    static rt_tensor *(*const f[])(rt_tensor *, rt_tensor *) = {rt_add, rt_sub, rt_mul, rt_div, rt_pow};
    return push(L, f[op](a, b));
}
static int m_add(lua_State *L) { return binop(L, 0); }
static int m_sub(lua_State *L) { return binop(L, 1); }
static int m_mul(lua_State *L) { return binop(L, 2); }
static int m_div(lua_State *L) { return binop(L, 3); }
static int m_pow(lua_State *L) { return binop(L, 4); }

#define UNARY(name, kind) static int m_##name(lua_State *L) { return push(L, rt_unary(kind, SELF)); }
UNARY(neg, RT_NEG) UNARY(exp, RT_EXP) UNARY(log, RT_LOG) UNARY(sqrt, RT_SQRT) UNARY(rsqrt, RT_RSQRT)
UNARY(abs, RT_ABS) UNARY(tanh, RT_TANH) UNARY(sigmoid, RT_SIGMOID) UNARY(relu, RT_RELU) UNARY(gelu, RT_GELU)
UNARY(gelu_tanh, RT_GELU_TANH) UNARY(floor, RT_FLOOR) UNARY(ceil, RT_CEIL) UNARY(round, RT_ROUND) UNARY(sign, RT_SIGN)

static int m_clamp(lua_State *L) {
    rt_tensor *t = SELF;
    double lo = lua_isnoneornil(L, 2) ? NAN : luaL_checknumber(L, 2);
    double hi = lua_isnoneornil(L, 3) ? NAN : luaL_checknumber(L, 3);
    return push(L, rt_clamp(t, lo, hi));
}

static int m_masked_fill(lua_State *L) {
    rt_tensor *t = SELF, *m = rtl_check_tensor(L, 2);
    return push(L, rt_masked_fill(t, m, luaL_checknumber(L, 3)));
}

static int cmp(lua_State *L, rt_cmp_kind k) {
    rt_tensor *t = SELF;
    if (lua_type(L, 2) == LUA_TNUMBER) return push(L, rt_compare_scalar(k, t, lua_tonumber(L, 2)));
    return push(L, rt_compare(k, t, rtl_check_tensor(L, 2)));
}
static int m_eq(lua_State *L) { return cmp(L, RT_EQ); }
static int m_ne(lua_State *L) { return cmp(L, RT_NE); }
static int m_lt(lua_State *L) { return cmp(L, RT_LT); }
static int m_le(lua_State *L) { return cmp(L, RT_LE); }
static int m_gt(lua_State *L) { return cmp(L, RT_GT); }
static int m_ge(lua_State *L) { return cmp(L, RT_GE); }

/* ---- reductions ---- */

/* dims at arg: nil (all), a number, or a table of numbers. Returns count (0 = all). */
static int read_dims(lua_State *L, int arg, const rt_tensor *t, int *dims) {
    if (lua_isnoneornil(L, arg)) return 0;
    if (lua_istable(L, arg)) {
        int n = (int)luaL_len(L, arg);
        if (n > RT_MAXDIM) luaL_error(L, "%s: too many dims", rtl_fname(L));
        for (int i = 0; i < n; i++) {
            lua_geti(L, arg, i + 1);
            dims[i] = rtl_check_dim(L, lua_gettop(L), t->ndim, 0);
            lua_pop(L, 1);
        }
        return n == 0 ? 0 : n;
    }
    dims[0] = rtl_check_dim(L, arg, t->ndim, 0);
    return 1;
}

static int m_sum(lua_State *L) {
    rt_tensor *t = SELF;
    int dims[RT_MAXDIM], n = read_dims(L, 2, t, dims);
    return push(L, rt_sum(t, dims, n, lua_toboolean(L, 3)));
}
static int m_mean(lua_State *L) {
    rt_tensor *t = SELF;
    int dims[RT_MAXDIM], n = read_dims(L, 2, t, dims);
    return push(L, rt_mean(t, dims, n, lua_toboolean(L, 3)));
}
static int m_var(lua_State *L) {
    rt_tensor *t = SELF;
    int dims[RT_MAXDIM], n = read_dims(L, 2, t, dims);
    int corr = (int)luaL_optinteger(L, 4, 1);
    return push(L, rt_var(t, dims, n, corr, lua_toboolean(L, 3)));
}
static int m_norm(lua_State *L) {
    rt_tensor *t = SELF;
    double p = luaL_optnumber(L, 2, 2.0);
    int dims[RT_MAXDIM], n = read_dims(L, 3, t, dims);
    return push(L, rt_norm(t, p, dims, n, lua_toboolean(L, 4)));
}

static int maxmin(lua_State *L, bool is_max) {
    rt_tensor *t = SELF;
    if (lua_isnoneornil(L, 2)) return push(L, is_max ? rt_max(t, RT_ALLDIMS, false, NULL) : rt_min(t, RT_ALLDIMS, false, NULL));
    int dim = rtl_check_dim(L, 2, t->ndim, 0);
    rt_tensor *idx = NULL;
    rt_tensor *v = is_max ? rt_max(t, dim, lua_toboolean(L, 3), &idx) : rt_min(t, dim, lua_toboolean(L, 3), &idx);
    push(L, v);
    push(L, idx);
    return 2;
}
static int m_max(lua_State *L) { return maxmin(L, true); }
static int m_min(lua_State *L) { return maxmin(L, false); }
static int m_argmax(lua_State *L) {
    rt_tensor *t = SELF;
    int dim = lua_isnoneornil(L, 2) ? RT_ALLDIMS : rtl_check_dim(L, 2, t->ndim, 0);
    return push(L, rt_argmax(t, dim, lua_toboolean(L, 3)));
}
static int m_argmin(lua_State *L) {
    rt_tensor *t = SELF;
    int dim = lua_isnoneornil(L, 2) ? RT_ALLDIMS : rtl_check_dim(L, 2, t->ndim, 0);
    return push(L, rt_argmin(t, dim, lua_toboolean(L, 3)));
}

/* ---- views ---- */

static int m_reshape(lua_State *L) {
    rt_tensor *t = SELF;
    int64_t shape[RT_MAXDIM];
    int nd = rtl_check_shape(L, 2, shape);
    return push(L, rt_reshape(t, nd, shape));
}
static int m_view(lua_State *L) {
    rt_tensor *t = SELF;
    int64_t shape[RT_MAXDIM];
    int nd = rtl_check_shape(L, 2, shape);
    return push(L, rt_view(t, nd, shape));
}
static int m_transpose(lua_State *L) {
    rt_tensor *t = SELF;
    int d0 = lua_isnoneornil(L, 2) ? (t->ndim > 1 ? t->ndim - 2 : 0) : rtl_check_dim(L, 2, t->ndim, 0);
    int d1 = lua_isnoneornil(L, 3) ? (t->ndim > 1 ? t->ndim - 1 : 0) : rtl_check_dim(L, 3, t->ndim, 0);
    return push(L, rt_transpose(t, d0, d1));
}
static int m_permute(lua_State *L) {
    rt_tensor *t = SELF;
    int perm[RT_MAXDIM];
    int n = lua_istable(L, 2) ? (int)luaL_len(L, 2) : lua_gettop(L) - 1;
    if (n != t->ndim) {
        char s[96];
        return luaL_error(L, "permute: %d dims given for a %d-d tensor %s", n, t->ndim, rt_shape_str(t, s, sizeof s));
    }
    for (int i = 0; i < n; i++) {
        if (lua_istable(L, 2)) { lua_geti(L, 2, i + 1); perm[i] = rtl_check_dim(L, lua_gettop(L), t->ndim, 0); lua_pop(L, 1); }
        else perm[i] = rtl_check_dim(L, 2 + i, t->ndim, 0);
    }
    return push(L, rt_permute(t, perm));
}
static int m_narrow(lua_State *L) {
    rt_tensor *t = SELF;
    int dim = rtl_check_dim(L, 2, t->ndim, 0);
    lua_Integer start = luaL_checkinteger(L, 3), len = luaL_checkinteger(L, 4);
    int64_t size = t->shape[dim];
    int64_t s0 = start > 0 ? start - 1 : size + start;
    if (start == 0 || s0 < 0 || s0 > size || len < 0 || s0 + len > size) {
        char s[96];
        return luaL_error(L, "narrow: start %d length %d out of range for dim %d of size %d (shape %s)", (int)start,
                          (int)len, dim + 1, (int)size, rt_shape_str(t, s, sizeof s));
    }
    return push(L, rt_narrow(t, dim, s0, len));
}
static int m_select(lua_State *L) {
    rt_tensor *t = SELF;
    int dim = rtl_check_dim(L, 2, t->ndim, 0);
    int64_t i = rtl_check_index(L, 3, t->shape[dim], "index");
    return push(L, rt_select(t, dim, i));
}
static int m_expand(lua_State *L) {
    rt_tensor *t = SELF;
    int64_t shape[RT_MAXDIM];
    int nd = rtl_check_shape(L, 2, shape);
    return push(L, rt_expand(t, nd, shape));
}
static int m_squeeze(lua_State *L) {
    rt_tensor *t = SELF;
    return push(L, rt_squeeze(t, lua_isnoneornil(L, 2) ? RT_ALLDIMS : rtl_check_dim(L, 2, t->ndim, 0)));
}
static int m_unsqueeze(lua_State *L) {
    rt_tensor *t = SELF;
    return push(L, rt_unsqueeze(t, rtl_check_dim(L, 2, t->ndim, 1)));
}
static int m_flatten(lua_State *L) {
    rt_tensor *t = SELF;
    if (t->ndim == 0) { int64_t one = 1; return push(L, rt_reshape(t, 1, &one)); }
    int s = lua_isnoneornil(L, 2) ? 0 : rtl_check_dim(L, 2, t->ndim, 0);
    int e = lua_isnoneornil(L, 3) ? t->ndim - 1 : rtl_check_dim(L, 3, t->ndim, 0);
    if (e < s) return luaL_error(L, "flatten: end dim %d before start dim %d", e + 1, s + 1);
    int64_t shape[RT_MAXDIM];
    int nd = 0;
    for (int i = 0; i < s; i++) shape[nd++] = t->shape[i];
    int64_t m = 1;
    for (int i = s; i <= e; i++) m *= t->shape[i];
    shape[nd++] = m;
    for (int i = e + 1; i < t->ndim; i++) shape[nd++] = t->shape[i];
    return push(L, rt_reshape(t, nd, shape));
}
static int m_index_select(lua_State *L) {
    rt_tensor *t = SELF;
    int dim = rtl_check_dim(L, 2, t->ndim, 0);
    rt_tensor *ix = rtl_test_tensor(L, 3);
    if (ix) return push(L, rt_index_select(t, dim, ix));
    ix = rtl_to_tensor(L, 3, RT_I64);
    rtl_push_tensor(L, ix);
    return push(L, rt_index_select(t, dim, ix));
}
static int m_gather(lua_State *L) {
    rt_tensor *t = SELF;
    int dim = rtl_check_dim(L, 2, t->ndim, 0);
    return push(L, rt_gather(t, dim, rtl_check_tensor(L, 3)));
}
static int push_parts(lua_State *L, rt_status st, rt_tensor **parts, int n) {
    if (st != RT_OK) rtl_error(L);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) { rtl_push_tensor(L, parts[i]); lua_rawseti(L, -2, i + 1); }
    free(parts);
    return 1;
}
static int m_split(lua_State *L) {
    rt_tensor *t = SELF;
    lua_Integer size = luaL_checkinteger(L, 2);
    int dim = lua_isnoneornil(L, 3) ? 0 : rtl_check_dim(L, 3, t->ndim, 0);
    if (size <= 0) return luaL_error(L, "split: chunk size must be positive, got %d", (int)size);
    rt_tensor **parts;
    int n;
    rt_status st = rt_split(t, size, dim, &parts, &n);
    return push_parts(L, st, parts, n);
}
static int m_chunk(lua_State *L) {
    rt_tensor *t = SELF;
    lua_Integer k = luaL_checkinteger(L, 2);
    int dim = lua_isnoneornil(L, 3) ? 0 : rtl_check_dim(L, 3, t->ndim, 0);
    if (k <= 0) return luaL_error(L, "chunk: number of chunks must be positive, got %d", (int)k);
    int64_t len = t->ndim ? t->shape[dim] : 1, size = (len + k - 1) / k;
    if (size == 0) size = 1;
    rt_tensor **parts;
    int n;
    rt_status st = rt_split(t, size, dim, &parts, &n);
    return push_parts(L, st, parts, n);
}

/* ---- autograd ---- */

static int m_requires_grad(lua_State *L) {
    rt_tensor *t = SELF;
    bool on = lua_isnone(L, 2) ? true : lua_toboolean(L, 2);
    if (on && !is_float(t->dtype))
        return luaL_error(L, "requires_grad: only floating tensors (f32, bf16) can require grad, this one is %s",
                          rt_dtype_name(t->dtype));
    if (!on && t->grad_fn)
        return luaL_error(L, "requires_grad: cannot turn off grad for a non-leaf tensor (use :detach())");
    t->requires_grad = on;
    return push_self(L);
}
static int m_needs_grad(lua_State *L) { lua_pushboolean(L, SELF->requires_grad); return 1; }

static int m_backward(lua_State *L) {
    rt_tensor *t = SELF, *g = NULL;
    int opt = 2;
    if ((g = rtl_test_tensor(L, 2))) opt = 3;
    else if (lua_type(L, 2) == LUA_TNUMBER) {
        g = rt_tensor_full(RT_F32, t->ndim, t->shape, lua_tonumber(L, 2));
        rtl_push_tensor(L, g);
        opt = 3;
    } else if (!lua_isnoneornil(L, 2) && !lua_istable(L, 2)) {
        return luaL_error(L, "backward: expected a gradient tensor or an options table, got %s", luaL_typename(L, 2));
    } else if (lua_isnil(L, 2)) opt = 3;
    bool retain = false;
    if (lua_istable(L, opt)) {
        lua_getfield(L, opt, "retain_graph");
        retain = lua_toboolean(L, -1);
        lua_pop(L, 1);
    }
    RTL_CHECK(L, rt_backward(t, g, retain) == RT_OK);
    return 0;
}
static int m_zero_grad(lua_State *L) {
    rt_tensor *t = SELF;
    rt_release(t->grad);
    t->grad = NULL;
    return push_self(L);
}
static int m_detach(lua_State *L) { return push(L, rt_tensor_alias(SELF)); }
static int m_grad_fn(lua_State *L) {
    rt_tensor *t = SELF;
    if (t->grad_fn && t->grad_fn->op) lua_pushstring(L, t->grad_fn->op->name);
    else lua_pushnil(L);
    return 1;
}
static int m_is_leaf(lua_State *L) { lua_pushboolean(L, SELF->grad_fn == NULL); return 1; }
static int m_name(lua_State *L) {
    rt_tensor *t = SELF;
    if (!lua_isnone(L, 2)) { rt_tensor_set_name(t, luaL_optstring(L, 2, NULL)); return push_self(L); }
    if (t->name) lua_pushstring(L, t->name); else lua_pushnil(L);
    return 1;
}

/* ---- in place ---- */

static void check_inplace(lua_State *L, rt_tensor *t) {
    if (t->requires_grad && rt_grad_enabled())
        luaL_error(L, "%s: in-place change of a tensor that requires grad (use rt.no_grad or :detach())", rtl_fname(L));
    if (t->storage->kind == RT_STORAGE_MMAP)
        luaL_error(L, "%s: tensor is a read-only file mapping (:clone() it first)", rtl_fname(L));
}
static int m_fill_(lua_State *L) {
    rt_tensor *t = SELF;
    double v = lua_isboolean(L, 2) ? lua_toboolean(L, 2) : luaL_checknumber(L, 2);
    check_inplace(L, t);
    RTL_CHECK(L, rt_tensor_fill_(t, v) == RT_OK);
    return push_self(L);
}
static int m_zero_(lua_State *L) {
    rt_tensor *t = SELF;
    check_inplace(L, t);
    RTL_CHECK(L, rt_tensor_fill_(t, 0) == RT_OK);
    return push_self(L);
}
static int m_copy_(lua_State *L) {
    rt_tensor *t = SELF, *s = rtl_check_tensor(L, 2);
    check_inplace(L, t);
    if (!rt_same_shape(t, s)) {
        int nd;
        int64_t sh[RT_MAXDIM];
        bool ok = rt_broadcast_shapes(t->ndim, t->shape, s->ndim, s->shape, &nd, sh) && nd == t->ndim;
        for (int i = 0; ok && i < nd; i++) ok = sh[i] == t->shape[i];
        char a[96], b[96];
        if (!ok) return luaL_error(L, "copy_: source %s cannot broadcast to %s", rt_shape_str(s, a, sizeof a), rt_shape_str(t, b, sizeof b));
        rt_tensor *e = rt_expand(s, t->ndim, t->shape);
        if (!e) rtl_error(L);
        rt_status st = rt_tensor_copy_(t, e);
        rt_release(e);
        RTL_CHECK(L, st == RT_OK);
        return push_self(L);
    }
    RTL_CHECK(L, rt_tensor_copy_(t, s) == RT_OK);
    return push_self(L);
}

void rtl_open_tensor_methods(lua_State *L, int rt) {
    lua_getfield(L, rt, "Tensor");   /* the method table made by rtl_open_tensor */
    int methods = lua_gettop(L);
    static const rtl_reg regs[] = {
        {"shape", m_shape, "t:shape() -> {d1, d2, ...}"},
        {"size", m_size, "t:size([dim]) -> size of dim (1-based), or the shape table"},
        {"dim", m_dim, "t:dim() -> number of dims"},
        {"numel", m_numel, "t:numel() -> number of elements"},
        {"dtype", m_dtype, "t:dtype() -> \"f32\" | \"i32\" | \"i64\" | \"bf16\" | \"bool\""},
        {"is_contiguous", m_is_contiguous, "t:is_contiguous() -> true when elements are laid out densely in order"},
        {"item", m_item, "t:item() -> the value of a one-element tensor"},
        {"totable", m_totable, "t:totable() -> nested Lua tables of the values"},
        {"tolist", m_totable, "t:tolist() -> same as t:totable()"},
        {"get", m_get, "t:get(i, j, ...) -> element at 1-based indices (negatives from the end)"},
        {"set", m_set, "t:set(i, j, ..., value) sets one element; returns t"},
        {"to", m_to, "t:to(dtype) -> converted copy (t itself when already that dtype)"},
        {"float", m_float, "t:float() -> f32"}, {"long", m_long, "t:long() -> i64"}, {"int", m_int, "t:int() -> i32"},
        {"bf16", m_bf16, "t:bf16() -> bfloat16 (round to nearest even)"}, {"bool", m_bool, "t:bool() -> bool mask"},
        {"clone", m_clone, "t:clone() -> contiguous copy (stays in the autograd graph)"},
        {"contiguous", m_contiguous, "t:contiguous() -> t when contiguous, else a contiguous copy"},
        {"add", m_add, "t:add(x) -> t + x (tensor or number, broadcasting)"},
        {"sub", m_sub, "t:sub(x) -> t - x"}, {"mul", m_mul, "t:mul(x) -> t * x"}, {"div", m_div, "t:div(x) -> t / x"},
        {"pow", m_pow, "t:pow(x) -> t ^ x"},
        {"neg", m_neg, "t:neg() -> -t"}, {"exp", m_exp, "t:exp()"}, {"log", m_log, "t:log() (natural)"},
        {"sqrt", m_sqrt, "t:sqrt()"}, {"rsqrt", m_rsqrt, "t:rsqrt() -> 1/sqrt(t)"}, {"abs", m_abs, "t:abs()"},
        {"tanh", m_tanh, "t:tanh()"}, {"sigmoid", m_sigmoid, "t:sigmoid()"}, {"relu", m_relu, "t:relu()"},
        {"gelu", m_gelu, "t:gelu() -> x * Phi(x) (erf form, BERT/PyTorch)"},
        {"gelu_tanh", m_gelu_tanh, "t:gelu_tanh() -> tanh approximation of gelu (TF BERT, \"gelu_new\")"},
        {"floor", m_floor, "t:floor()"}, {"ceil", m_ceil, "t:ceil()"},
        {"round", m_round, "t:round() (half to even, as PyTorch)"}, {"sign", m_sign, "t:sign() -> -1, 0 or 1"},
        {"clamp", m_clamp, "t:clamp(lo, hi) (nil = no bound)"},
        {"masked_fill", m_masked_fill, "t:masked_fill(mask, value) -> value where mask is true (mask broadcasts)"},
        {"eq", m_eq, "t:eq(x) -> bool mask t == x"}, {"ne", m_ne, "t:ne(x) -> bool mask t ~= x"},
        {"lt", m_lt, "t:lt(x) -> bool mask t < x"}, {"le", m_le, "t:le(x) -> bool mask t <= x"},
        {"gt", m_gt, "t:gt(x) -> bool mask t > x"}, {"ge", m_ge, "t:ge(x) -> bool mask t >= x"},
        {"sum", m_sum, "t:sum([dims [, keepdim]]) -> sum over dims (a number or a table; all when nil)"},
        {"mean", m_mean, "t:mean([dims [, keepdim]]) -> mean over dims"},
        {"var", m_var, "t:var([dims [, keepdim [, correction=1]]]) -> variance (unbiased by default)"},
        {"norm", m_norm, "t:norm([p=2 [, dims [, keepdim]]]) -> p-norm (p = math.huge: max |x|)"},
        {"max", m_max, "t:max() -> 0-d max; t:max(dim [, keepdim]) -> values, indices (0-based i64)"},
        {"min", m_min, "t:min() -> 0-d min; t:min(dim [, keepdim]) -> values, indices (0-based i64)"},
        {"argmax", m_argmax, "t:argmax([dim [, keepdim]]) -> 0-based i64 indices (flat when no dim)"},
        {"argmin", m_argmin, "t:argmin([dim [, keepdim]]) -> 0-based i64 indices"},
        {"reshape", m_reshape, "t:reshape(d1, d2, ...) or t:reshape{...}; one -1 is inferred; a view when possible"},
        {"view", m_view, "t:view(d1, d2, ...) -> a view (error when a copy would be needed)"},
        {"transpose", m_transpose, "t:transpose(d1, d2) -> view with two dims swapped (default: the last two)"},
        {"t", m_transpose, "t:t() -> transpose of the last two dims (a view)"},
        {"permute", m_permute, "t:permute(d1, d2, ...) -> view with dims reordered"},
        {"narrow", m_narrow, "t:narrow(dim, start, length) -> view of elements start..start+length-1 (1-based)"},
        {"select", m_select, "t:select(dim, i) -> view at index i of dim (dim removed)"},
        {"expand", m_expand, "t:expand(d1, d2, ...) -> broadcast view (-1 keeps a size)"},
        {"squeeze", m_squeeze, "t:squeeze([dim]) -> drops size-1 dims (all, or the one given)"},
        {"unsqueeze", m_unsqueeze, "t:unsqueeze(dim) -> inserts a size-1 dim at dim"},
        {"flatten", m_flatten, "t:flatten([start=1 [, end=-1]]) -> merges dims start..end"},
        {"index_select", m_index_select, "t:index_select(dim, idx) -> rows idx (1-d integer tensor or table, 0-based data)"},
        {"gather", m_gather, "t:gather(dim, idx) -> out[i][j] = t[i][idx[i][j]] (dim 2; idx 0-based i64)"},
        {"split", m_split, "t:split(size [, dim=1]) -> list of views of `size` along dim"},
        {"chunk", m_chunk, "t:chunk(n [, dim=1]) -> list of n (or fewer) views along dim"},
        {"requires_grad", m_requires_grad, "t:requires_grad([on=true]) -> t, marked as a leaf that collects .grad"},
        {"needs_grad", m_needs_grad, "t:needs_grad() -> true when t requires grad (leaf flag or in a graph)"},
        {"backward", m_backward, "t:backward([grad] [, {retain_graph=true}]) -> accumulates gradients into .grad of leaves"},
        {"zero_grad", m_zero_grad, "t:zero_grad() clears t.grad; returns t"},
        {"detach", m_detach, "t:detach() -> same data, outside the graph"},
        {"grad_fn", m_grad_fn, "t:grad_fn() -> name of the op that made t (nil for leaves)"},
        {"is_leaf", m_is_leaf, "t:is_leaf() -> true when t was not made by a recorded op"},
        {"name", m_name, "t:name() -> parameter name or nil; t:name(s) sets it"},
        {"fill_", m_fill_, "t:fill_(v) fills in place; returns t"},
        {"zero_", m_zero_, "t:zero_() zeros in place; returns t"},
        {"copy_", m_copy_, "t:copy_(src) copies src (broadcast, dtype converted) into t; returns t"},
        {NULL, NULL, NULL}};
    rtl_register(L, methods, "Tensor:", regs);
    lua_pop(L, 1);
}
