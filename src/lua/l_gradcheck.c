/* l_gradcheck.c — rt.gradcheck(fn, inputs [, opts]) -> ok, max_err, report:
 * the C finite-difference checker (autograd/gradcheck.h) driving a Lua function. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "l_tensor.h"
#include "../autograd/gradcheck.h"
#include "../autograd/registry.h"

typedef struct { lua_State *L; int fn; } lctx;

/* Calls the Lua function with the inputs (fresh boxes sharing the tensors). */
static rt_tensor *call_fn(void *vctx, rt_tensor *const *inputs, int n) {
    lctx *c = vctx;
    lua_State *L = c->L;
    if (!lua_checkstack(L, n + 4)) { rt_errorf(RT_ENOMEM, "gradcheck: Lua stack overflow"); return NULL; }
    lua_pushvalue(L, c->fn);
    for (int i = 0; i < n; i++) { rt_retain(inputs[i]); rtl_push_tensor(L, inputs[i]); }
    if (lua_pcall(L, n, 1, 0) != LUA_OK) {
        rt_errorf(RT_EINVAL, "%s", lua_tostring(L, -1));
        lua_pop(L, 1);
        return NULL;
    }
    rt_tensor *t = rtl_test_tensor(L, -1);
    if (!t) {
        rt_errorf(RT_EINVAL, "gradcheck: the function must return a Tensor, got %s", luaL_typename(L, -1));
        lua_pop(L, 1);
        return NULL;
    }
    rt_retain(t);
    lua_pop(L, 1);
    return t;
}

static double optnum(lua_State *L, int t, const char *k, double def) {
    if (!lua_istable(L, t)) return def;
    lua_getfield(L, t, k);
    double v = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : def;
    lua_pop(L, 1);
    return v;
}

static int l_gradcheck(lua_State *L) {
    lua_settop(L, 3);
    luaL_checktype(L, 1, LUA_TFUNCTION);
    luaL_checktype(L, 2, LUA_TTABLE);
    int n = (int)luaL_len(L, 2);
    if (n < 1) return luaL_error(L, "gradcheck: expected a non-empty list of input tensors");
    rt_tensor **ins = lua_newuserdatauv(L, sizeof *ins * (size_t)n, 0);   /* anchored on the stack */
    for (int i = 0; i < n; i++) {
        lua_geti(L, 2, i + 1);
        ins[i] = rtl_test_tensor(L, -1);
        if (!ins[i]) return luaL_error(L, "gradcheck: input %d is a %s, not a Tensor", i + 1, luaL_typename(L, -1));
        lua_pop(L, 1);
    }
    rt_gradcheck_opts o = {optnum(L, 3, "eps", 1e-3), optnum(L, 3, "atol", 1e-3), optnum(L, 3, "rtol", 1e-2),
                           (uint64_t)optnum(L, 3, "seed", 1234)};
    lctx c = {L, 1};
    double max_err;
    char report[2048];
    bool ok = rt_gradcheck(call_fn, &c, ins, n, &o, &max_err, report, sizeof report);
    lua_pushboolean(L, ok);
    lua_pushnumber(L, max_err);
    lua_pushstring(L, report);
    return 3;
}

/* rt.ops() -> {{op=, node=, case=, help=}, ...}: the op table (autograd/registry.h). */
static int l_ops(lua_State *L) {
    int n;
    const rt_op_entry *t = rt_op_registry(&n);
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_createtable(L, 0, 4);
        lua_pushstring(L, t[i].op); lua_setfield(L, -2, "op");
        lua_pushstring(L, t[i].node); lua_setfield(L, -2, "node");
        lua_pushstring(L, t[i].inputs); lua_setfield(L, -2, "case");
        lua_pushstring(L, t[i].help); lua_setfield(L, -2, "help");
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

void rtl_open_gradcheck(lua_State *L, int rt) {
    static const rtl_reg regs[] = {
        {"gradcheck", l_gradcheck,
         "rt.gradcheck(fn, inputs [, opts]) -> ok, max_err, report\n"
         "Checks the gradients of fn(inputs...) (any output shape) against central finite\n"
         "differences: out is projected to L = sum(out * r) with a fixed random r; for every\n"
         "element of every input that requires grad (leaves; views/transposes allowed),\n"
         "dL/dx from backward is compared with (L(x+eps) - L(x-eps)) / 2eps accumulated in double.\n"
         "An element passes when |analytic - numeric| <= atol + rtol * |numeric|.\n"
         "opts: eps (1e-3), atol (1e-3), rtol (1e-2), seed (1234). max_err is the largest\n"
         "|analytic - numeric|; report names the worst element per input and the failures.\n"
         "Example: rt.gradcheck(function(x) return x:tanh() end, {rt.randn(3, 4):requires_grad()})"},
        {"ops", l_ops, NULL},
        {NULL, NULL, NULL}};
    rtl_register(L, rt, "rt", regs);
    /* help("ops") / help(rt.ops): the table, one line per op, built from the registry */
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "rt.ops() -> {{op=, node=, case=, help=}, ...}: every differentiable op (the C table in\n"
                       "src/autograd/registry.c, which the gradient-check test walks). Node = t:grad_fn().\n");
    int n;
    const rt_op_entry *t = rt_op_registry(&n);
    for (int i = 0; i < n; i++) {
        char line[200];
        snprintf(line, sizeof line, "  %-18s %s\n", t[i].op, t[i].help);
        luaL_addstring(&b, line);
    }
    luaL_pushresult(&b);
    lua_getfield(L, rt, "ops");
    rtl_doc(L, -1, "rt.ops", lua_tostring(L, -2));
    rtl_doc(L, -1, "ops", lua_tostring(L, -2));
    lua_pop(L, 2);
}
