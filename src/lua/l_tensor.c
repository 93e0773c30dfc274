/* l_tensor.c — the rt.Tensor metatable and metamethods, creation functions and
 * grad-mode helpers. The box and the argument checkers live in l_check.c, the
 * methods in l_tensor_methods.c, printing in l_tensor_print.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "l_tensor.h"
#include "../autograd/graph.h"
#include "../autograd/ops.h"
#include "../core/alloc.h"

/* Number of shape arguments consumed by rtl_check_shape at arg. */
static int shape_args(lua_State *L, int arg, int nd) { return lua_istable(L, arg) ? 1 : nd; }

static void check_sizes(lua_State *L, int nd, const int64_t *shape) {
    for (int i = 0; i < nd; i++)
        if (shape[i] < 0) luaL_error(L, "%s: negative size %d", rtl_fname(L), (int)shape[i]);
}

/* --- metamethods --- */

static int t_gc(lua_State *L) {
    rtl_tbox *b = luaL_checkudata(L, 1, RTL_TENSOR_MT);
    rt_release(b->t);
    b->t = NULL;
    return 0;
}

static int t_index(lua_State *L) {
    if (lua_isinteger(L, 2)) {   /* t[i]: select along the first dim (1-based, negatives from the end) */
        rt_tensor *t = rtl_check_tensor(L, 1);
        if (t->ndim == 0) return luaL_error(L, "index: a 0-d tensor cannot be indexed (use :item())");
        int64_t i = rtl_check_index(L, 2, t->shape[0], "index");
        rtl_push_tensor(L, rt_select(t, 0, i));
        return 1;
    }
    if (lua_type(L, 2) == LUA_TSTRING) {
        const char *k = lua_tostring(L, 2);
        if (strcmp(k, "grad") == 0) {
            rt_tensor *t = rtl_check_tensor(L, 1);
            if (!t->grad) { lua_pushnil(L); return 1; }
            rt_retain(t->grad);
            rtl_push_tensor(L, t->grad);
            return 1;
        }
    }
    lua_pushvalue(L, 2);
    lua_rawget(L, lua_upvalueindex(1));
    return 1;
}

static int t_newindex(lua_State *L) {
    rt_tensor *t = rtl_check_tensor(L, 1);
    if (lua_isinteger(L, 2)) {   /* t[i] = number | tensor: writes row i of the first dim */
        if (t->ndim == 0) return luaL_error(L, "index: a 0-d tensor cannot be indexed (use :fill_())");
        if (t->requires_grad && rt_grad_enabled())
            return luaL_error(L, "index: in-place change of a tensor that requires grad (use rt.no_grad or :detach())");
        if (t->storage->kind == RT_STORAGE_MMAP)
            return luaL_error(L, "index: tensor is a read-only file mapping (:clone() it first)");
        int64_t i = rtl_check_index(L, 2, t->shape[0], "index");
        rt_tensor *row = rt_select(t, 0, i);
        if (!row) rtl_error(L);
        rtl_push_tensor(L, row);   /* anchored */
        rt_status st;
        if (lua_type(L, 3) == LUA_TNUMBER || lua_isboolean(L, 3)) {
            st = rt_tensor_fill_(row, lua_isboolean(L, 3) ? lua_toboolean(L, 3) : lua_tonumber(L, 3));
        } else {
            rt_tensor *src = rtl_to_tensor(L, 3, t->dtype);
            rtl_push_tensor(L, src);
            rt_tensor *e = rt_expand(src, row->ndim, row->shape);
            if (!e) rtl_error(L);
            st = rt_tensor_copy_(row, e);
            rt_release(e);
        }
        if (st != RT_OK) rtl_error(L);
        return 0;
    }
    const char *k = luaL_checkstring(L, 2);
    if (strcmp(k, "grad") == 0) {
        rt_tensor *g = lua_isnil(L, 3) ? NULL : rtl_check_tensor(L, 3);
        if (g && !rt_same_shape(g, t)) {
            char a[96], b[96];
            return luaL_error(L, "grad: shape %s does not match tensor shape %s", rt_shape_str(g, a, sizeof a),
                              rt_shape_str(t, b, sizeof b));
        }
        rt_retain(g);
        rt_release(t->grad);
        t->grad = g;
        return 0;
    }
    return luaL_error(L, "Tensor: cannot set field '%s' (tensors have methods, not fields; use :fill_, :copy_, :set)", k);
}

/* Binary metamethods accept numbers on either side. */
static int arith(lua_State *L, int op) {
    rt_tensor *a = rtl_test_tensor(L, 1), *b = rtl_test_tensor(L, 2), *r = NULL;
    static rt_tensor *(*const tt[])(rt_tensor *, rt_tensor *) = {rt_add, rt_sub, rt_mul, rt_div, rt_pow};
    if (a && b) r = tt[op](a, b);
    else if (a && lua_type(L, 2) == LUA_TNUMBER) {
        double s = lua_tonumber(L, 2);
        switch (op) {
        case 0: r = rt_add_scalar(a, s); break;
        case 1: r = rt_add_scalar(a, -s); break;
        case 2: r = rt_mul_scalar(a, s); break;
        case 3: {   /* true division (not a multiplication by 1/s: results match PyTorch bit for bit) */
            rt_tensor *st = rt_tensor_scalar(RT_F32, s);
            r = st ? rt_div(a, st) : NULL;
            rt_release(st);
            break;
        }
        default: r = rt_pow_scalar(a, s); break;
        }
    } else if (b && lua_type(L, 1) == LUA_TNUMBER) {
        double s = lua_tonumber(L, 1);
        switch (op) {
        case 0: r = rt_add_scalar(b, s); break;
        case 1: r = rt_rsub_scalar(b, s); break;
        case 2: r = rt_mul_scalar(b, s); break;
        case 3: r = rt_rdiv_scalar(b, s); break;
        default: r = rt_rpow_scalar(b, s); break;
        }
    } else {
        static const char *names[] = {"add", "sub", "mul", "div", "pow"};
        return luaL_error(L, "%s: cannot combine %s and %s", names[op], luaL_typename(L, 1), luaL_typename(L, 2));
    }
    rtl_push_tensor(L, r);
    return 1;
}
static int t_add(lua_State *L) { return arith(L, 0); }
static int t_sub(lua_State *L) { return arith(L, 1); }
static int t_mul(lua_State *L) { return arith(L, 2); }
static int t_div(lua_State *L) { return arith(L, 3); }
static int t_pow(lua_State *L) { return arith(L, 4); }
static int t_unm(lua_State *L) { rtl_push_tensor(L, rt_unary(RT_NEG, rtl_check_tensor(L, 1))); return 1; }
static int t_len(lua_State *L) {
    rt_tensor *t = rtl_check_tensor(L, 1);
    lua_pushinteger(L, t->ndim ? t->shape[0] : 0);
    return 1;
}
static int t_tostring(lua_State *L) {
    rtl_tbox *b = luaL_checkudata(L, 1, RTL_TENSOR_MT);
    if (!b->t) { lua_pushstring(L, "[Tensor (closed)]"); return 1; }
    rtl_tensor_tostring(L, b->t);
    return 1;
}

/* --- creation --- */

static int l_tensor(lua_State *L) {
    rt_dtype dt = rtl_opt_dtype(L, 2, RT_F32);
    rt_tensor *src = rtl_test_tensor(L, 1);
    if (src) { rtl_push_tensor(L, rt_tensor_convert(src, dt)); return 1; }
    rtl_push_tensor(L, rtl_to_tensor(L, 1, dt));
    return 1;
}

static int create(lua_State *L, int kind) {
    int64_t shape[RT_MAXDIM];
    int nd = rtl_check_shape(L, 1, shape);
    check_sizes(L, nd, shape);
    int next = 1 + shape_args(L, 1, nd);
    rt_tensor *t = NULL;
    switch (kind) {
    case 0: t = rt_zeros(rtl_opt_dtype(L, next, RT_F32), nd, shape); break;
    case 1: t = rt_ones(rtl_opt_dtype(L, next, RT_F32), nd, shape); break;
    case 2: t = rt_rand(NULL, nd, shape); break;
    case 3: t = rt_randn(NULL, nd, shape); break;
    case 4: {
        if (!lua_istable(L, 1)) return luaL_error(L, "full: expected a shape table, e.g. rt.full({2,3}, 7)");
        double v = luaL_checknumber(L, 2);
        t = rt_tensor_full(rtl_opt_dtype(L, 3, RT_F32), nd, shape, v);
        break;
    }
    }
    rtl_push_tensor(L, t);
    return 1;
}
static int l_zeros(lua_State *L) { return create(L, 0); }
static int l_ones(lua_State *L) { return create(L, 1); }
static int l_rand(lua_State *L) { return create(L, 2); }
static int l_randn(lua_State *L) { return create(L, 3); }
static int l_full(lua_State *L) { return create(L, 4); }

static int l_arange(lua_State *L) {
    int nnum = 0;
    while (nnum < 3 && lua_type(L, nnum + 1) == LUA_TNUMBER) nnum++;
    if (nnum == 0) return luaL_error(L, "arange: expected (end) or (start, end [, step])");
    double start = 0, end, step = 1;
    bool ints = true;
    for (int i = 1; i <= nnum; i++) if (!lua_isinteger(L, i)) ints = false;
    if (nnum == 1) end = lua_tonumber(L, 1);
    else { start = lua_tonumber(L, 1); end = lua_tonumber(L, 2); if (nnum == 3) step = lua_tonumber(L, 3); }
    rtl_push_tensor(L, rt_arange(start, end, step, rtl_opt_dtype(L, nnum + 1, ints ? RT_I64 : RT_F32)));
    return 1;
}

static int l_eye(lua_State *L) {
    lua_Integer n = luaL_checkinteger(L, 1), m = n;
    int next = 2;
    if (lua_type(L, 2) == LUA_TNUMBER) { m = luaL_checkinteger(L, 2); next = 3; }
    if (n < 0 || m < 0) return luaL_error(L, "eye: negative size");
    rtl_push_tensor(L, rt_eye(n, m, rtl_opt_dtype(L, next, RT_F32)));
    return 1;
}

/* A list of tensors from the table at idx (borrowed pointers; the table anchors them). */
static rt_tensor **tensor_list(lua_State *L, int idx, int *n) {
    luaL_checktype(L, idx, LUA_TTABLE);
    *n = (int)luaL_len(L, idx);
    if (*n == 0) luaL_error(L, "%s: expected a non-empty list of tensors", rtl_fname(L));
    rt_tensor **ts = lua_newuserdatauv(L, sizeof *ts * (size_t)*n, 0);   /* freed by the GC */
    for (int i = 1; i <= *n; i++) {
        lua_geti(L, idx, i);
        ts[i - 1] = rtl_test_tensor(L, -1);
        if (!ts[i - 1]) luaL_error(L, "%s: element %d of the list is a %s, not a Tensor", rtl_fname(L), i, luaL_typename(L, -1));
        lua_pop(L, 1);
    }
    return ts;
}

static int l_cat(lua_State *L) {
    lua_settop(L, 2);
    int n;
    rt_tensor **ts = tensor_list(L, 1, &n);
    int dim = lua_isnoneornil(L, 2) ? 0 : rtl_check_dim(L, 2, ts[0]->ndim, 0);
    rtl_push_tensor(L, rt_cat(ts, n, dim));
    return 1;
}

static int l_stack(lua_State *L) {
    lua_settop(L, 2);
    int n;
    rt_tensor **ts = tensor_list(L, 1, &n);
    int dim = lua_isnoneornil(L, 2) ? 0 : rtl_check_dim(L, 2, ts[0]->ndim, 1);
    rtl_push_tensor(L, rt_stack(ts, n, dim));
    return 1;
}

static int l_where(lua_State *L) {
    rt_tensor *c = rtl_check_tensor(L, 1);
    rt_tensor *a = rtl_to_tensor(L, 2, RT_F32);
    rtl_push_tensor(L, a);   /* anchor */
    rt_tensor *b = rtl_to_tensor(L, 3, a->dtype);
    rtl_push_tensor(L, b);
    rtl_push_tensor(L, rt_where(c, a, b));
    return 1;
}

static int l_is_tensor(lua_State *L) { lua_pushboolean(L, rtl_test_tensor(L, 1) != NULL); return 1; }

/* --- grad mode --- */

#define NOGRAD_MT "rt.NoGradGuard"

static int guard_close(lua_State *L) {
    int *active = luaL_checkudata(L, 1, NOGRAD_MT);
    if (*active) { *active = 0; rt_no_grad_exit(); }
    return 0;
}

static int no_grad_finish(lua_State *L, int status, lua_KContext ctx) {
    (void)ctx;
    rt_no_grad_exit();
    if (status != LUA_OK && status != LUA_YIELD) return lua_error(L);
    return lua_gettop(L) - 1;
}

static int l_no_grad(lua_State *L) {
    if (lua_isnoneornil(L, 1)) {   /* local g <close> = rt.no_grad() */
        int *active = lua_newuserdatauv(L, sizeof *active, 0);
        *active = 1;
        luaL_setmetatable(L, NOGRAD_MT);
        rt_no_grad_enter();
        return 1;
    }
    luaL_checktype(L, 1, LUA_TFUNCTION);
    rt_no_grad_enter();
    lua_pushnil(L);      /* slot 1 after remove: keeps the stack base */
    lua_insert(L, 1);
    int nargs = lua_gettop(L) - 2;
    int st = lua_pcallk(L, nargs, LUA_MULTRET, 0, 0, no_grad_finish);
    return no_grad_finish(L, st, 0);
}

static int l_is_grad_enabled(lua_State *L) { lua_pushboolean(L, rt_grad_enabled()); return 1; }

void rtl_open_tensor(lua_State *L, int rt) {
    rt = lua_absindex(L, rt);
    lua_newtable(L);   /* methods: filled by rtl_open_tensor_methods (l_init.c calls it next) */
    int methods = lua_gettop(L);

    luaL_newmetatable(L, RTL_TENSOR_MT);
    static const luaL_Reg meta[] = {
        {"__gc", t_gc}, {"__close", t_gc}, {"__add", t_add}, {"__sub", t_sub}, {"__mul", t_mul},
        {"__div", t_div}, {"__pow", t_pow}, {"__unm", t_unm}, {"__len", t_len}, {"__tostring", t_tostring},
        {"__newindex", t_newindex}, {NULL, NULL}};
    luaL_setfuncs(L, meta, 0);
    lua_pushvalue(L, methods);
    lua_pushcclosure(L, t_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pushstring(L, "Tensor");
    lua_setfield(L, -2, "__name");
    rtl_doc(L, -1, "Tensor", "rt.Tensor: an n-d array (f32, i32, i64, bf16, bool) with autograd.\n"
            "Create with rt.tensor, rt.zeros, rt.randn...; methods are listed by help(rt.Tensor).");
    lua_pop(L, 1);

    luaL_newmetatable(L, NOGRAD_MT);
    lua_pushcfunction(L, guard_close);
    lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, guard_close);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);

    rtl_doc(L, methods, "rt.Tensor", "rt.Tensor: the tensor method table (t:method(...)). Add methods here to extend tensors.");
    lua_setfield(L, rt, "Tensor");

    static const rtl_reg regs[] = {
        {"tensor", l_tensor, "rt.tensor(nested_table [, dtype]) -> Tensor (f32 by default; dtype \"i64\" for ids).\n"
                             "rt.tensor(number) gives a 0-d tensor; rt.tensor(t, dtype) converts a tensor."},
        {"zeros", l_zeros, "rt.zeros(d1, d2, ... [, dtype]) or rt.zeros({d1, d2} [, dtype]) -> Tensor of zeros."},
        {"ones", l_ones, "rt.ones(d1, d2, ... [, dtype]) -> Tensor of ones."},
        {"full", l_full, "rt.full({d1, d2, ...}, value [, dtype]) -> Tensor filled with value."},
        {"rand", l_rand, "rt.rand(d1, d2, ...) -> f32 uniform in [0, 1) (seeded by rt.manual_seed)."},
        {"randn", l_randn, "rt.randn(d1, d2, ...) -> f32 standard normal (seeded by rt.manual_seed)."},
        {"arange", l_arange, "rt.arange(end) / rt.arange(start, end [, step]) [, dtype] -> 1-d Tensor, end excluded.\n"
                             "Integer arguments give i64, otherwise f32."},
        {"eye", l_eye, "rt.eye(n [, m] [, dtype]) -> identity matrix [n, m]."},
        {"cat", l_cat, "rt.cat({t1, t2, ...} [, dim=1]) -> concatenation along dim (differentiable)."},
        {"stack", l_stack, "rt.stack({t1, t2, ...} [, dim=1]) -> stacks equal-shaped tensors along a new dim."},
        {"where", l_where, "rt.where(cond, a, b) -> elementwise cond ? a : b (a, b tensors or numbers; broadcasting)."},
        {"is_tensor", l_is_tensor, "rt.is_tensor(x) -> true when x is a Tensor."},
        {"no_grad", l_no_grad, "rt.no_grad(fn, ...) runs fn(...) with autograd off and returns its results.\n"
                               "local g <close> = rt.no_grad() turns autograd off until g goes out of scope."},
        {"is_grad_enabled", l_is_grad_enabled, "rt.is_grad_enabled() -> false inside rt.no_grad."},
        {NULL, NULL, NULL}};
    rtl_register(L, rt, "rt", regs);
}
