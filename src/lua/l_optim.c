/* l_optim.c — low-level optimizer kernels and training-state helpers (RNG state,
 * the Ctrl-C flag) for the Lua training library, registered under rt._optim
 * (lua/retort/optim.lua builds the user-facing rt.optim on top). File and clock
 * helpers are rt.sys (l_sys.c); rt._optim keeps deprecated aliases of them.
 * All tensor arguments must be contiguous f32 tensors with equal element counts. */
#include <math.h>
#include <string.h>
#include "lrt.h"
#include "../core/rng.h"
#include "../optim/update.h"

/* The f32 data of a contiguous tensor argument with n elements (n < 0: any). */
static float *f32_arg(lua_State *L, int idx, int64_t n, const char *fn) {
    rt_tensor *t = rtl_check_tensor(L, idx);
    if (t->dtype != RT_F32) luaL_error(L, "%s: argument #%d must be f32, got %s", fn, idx, rt_dtype_name(t->dtype));
    if (!rt_is_contiguous(t)) luaL_error(L, "%s: argument #%d must be contiguous", fn, idx);
    if (n >= 0 && rt_numel(t) != n)
        luaL_error(L, "%s: argument #%d has %d elements, expected %d", fn, idx, (int)rt_numel(t), (int)n);
    return rt_f32(t);
}

static int64_t numel_arg(lua_State *L, int idx) { return rt_numel(rtl_check_tensor(L, idx)); }

/* adamw(w, g, m, v, lr, beta1, beta2, eps, weight_decay, grad_scale, step) */
static int l_adamw(lua_State *L) {
    int64_t n = numel_arg(L, 1);
    float *w = f32_arg(L, 1, n, "adamw"), *g = f32_arg(L, 2, n, "adamw");
    float *m = f32_arg(L, 3, n, "adamw"), *v = f32_arg(L, 4, n, "adamw");
    rt_adam_hp hp = {luaL_checknumber(L, 5), luaL_checknumber(L, 6), luaL_checknumber(L, 7),
                     luaL_checknumber(L, 8), luaL_checknumber(L, 9), luaL_optnumber(L, 10, 1.0),
                     (int64_t)luaL_checkinteger(L, 11)};
    if (hp.step < 1) return luaL_error(L, "adamw: step must be >= 1");
    rt_k_adamw(w, m, v, g, n, &hp);
    return 0;
}

/* adam_wd(w, g, m, v, lr, beta1, beta2, eps, weight_decay, grad_scale) */
static int l_adam_wd(lua_State *L) {
    int64_t n = numel_arg(L, 1);
    float *w = f32_arg(L, 1, n, "adam_wd"), *g = f32_arg(L, 2, n, "adam_wd");
    float *m = f32_arg(L, 3, n, "adam_wd"), *v = f32_arg(L, 4, n, "adam_wd");
    rt_adam_hp hp = {luaL_checknumber(L, 5), luaL_checknumber(L, 6), luaL_checknumber(L, 7),
                     luaL_checknumber(L, 8), luaL_checknumber(L, 9), luaL_optnumber(L, 10, 1.0), 1};
    rt_k_adam_wd(w, m, v, g, n, &hp);
    return 0;
}

/* lamb_moments(w, g, m, v, beta1, beta2, eps, step, grad_scale, decay_r) -> |w|^2, |r|^2, |g|^2 */
static int l_lamb_moments(lua_State *L) {
    int64_t n = numel_arg(L, 1);
    float *w = f32_arg(L, 1, n, "lamb_moments"), *g = f32_arg(L, 2, n, "lamb_moments");
    float *m = f32_arg(L, 3, n, "lamb_moments"), *v = f32_arg(L, 4, n, "lamb_moments");
    rt_adam_hp hp = {0, luaL_checknumber(L, 5), luaL_checknumber(L, 6), luaL_checknumber(L, 7), 0,
                     luaL_checknumber(L, 9), (int64_t)luaL_checkinteger(L, 8)};
    if (hp.step < 1) return luaL_error(L, "lamb_moments: step must be >= 1");
    double s[3];
    rt_k_lamb_moments(m, v, s, w, g, n, &hp, luaL_checknumber(L, 10));
    lua_pushnumber(L, s[0]); lua_pushnumber(L, s[1]); lua_pushnumber(L, s[2]);
    return 3;
}

/* lamb_apply(w, m, v, lr, beta1, beta2, eps, step, weight_decay, ratio) */
static int l_lamb_apply(lua_State *L) {
    int64_t n = numel_arg(L, 1);
    float *w = f32_arg(L, 1, n, "lamb_apply"), *m = f32_arg(L, 2, n, "lamb_apply");
    float *v = f32_arg(L, 3, n, "lamb_apply");
    rt_adam_hp hp = {luaL_checknumber(L, 4), luaL_checknumber(L, 5), luaL_checknumber(L, 6),
                     luaL_checknumber(L, 7), luaL_checknumber(L, 9), 1.0,
                     (int64_t)luaL_checkinteger(L, 8)};
    if (hp.step < 1) return luaL_error(L, "lamb_apply: step must be >= 1");
    rt_k_lamb_apply(w, m, v, n, &hp, luaL_checknumber(L, 10));
    return 0;
}

static int l_sumsq(lua_State *L) {
    int64_t n = numel_arg(L, 1);
    lua_pushnumber(L, rt_k_sumsq(f32_arg(L, 1, n, "sumsq"), n));
    return 1;
}

static int l_scale(lua_State *L) {
    int64_t n = numel_arg(L, 1);
    rt_k_scale(f32_arg(L, 1, n, "scale_"), n, (float)luaL_checknumber(L, 2));
    lua_settop(L, 1);
    return 1;
}

/* copy_(dst, src): dst's elements = src's (same count, both contiguous f32). */
static int l_copy(lua_State *L) {
    int64_t n = numel_arg(L, 1);
    float *d = f32_arg(L, 1, n, "copy_");
    const float *s = f32_arg(L, 2, n, "copy_");
    if (d != s) memcpy(d, s, (size_t)n * sizeof(float));
    lua_settop(L, 1);
    return 1;
}

static int l_nonfinite(lua_State *L) {
    int64_t n = numel_arg(L, 1);
    lua_pushinteger(L, (lua_Integer)rt_k_nonfinite(f32_arg(L, 1, n, "nonfinite"), n));
    return 1;
}

/* rng_state() -> seed, offset of the default generator (as integers). */
static int l_rng_state(lua_State *L) {
    rt_generator *g = rt_default_generator();
    lua_pushinteger(L, (lua_Integer)g->seed);
    lua_pushinteger(L, (lua_Integer)g->offset);
    return 2;
}

static int l_set_rng_state(lua_State *L) {
    rt_generator *g = rt_default_generator();
    g->seed = (uint64_t)luaL_checkinteger(L, 1);
    g->offset = (uint64_t)luaL_checkinteger(L, 2);
    return 0;
}

/* interrupted() -> true once if Ctrl-C was pressed since the last call (clears the flag). */
static int l_interrupted(lua_State *L) {
    int f = rt_interrupted();
    if (f) rt_interrupt_clear();
    lua_pushboolean(L, f);
    return 1;
}

static const rtl_reg optim_fns[] = {
    {"adamw", l_adamw, "rt._optim.adamw(w, g, m, v, lr, beta1, beta2, eps, weight_decay, grad_scale, step)\n"
     "One PyTorch-AdamW step on one f32 tensor in place (bias-corrected, decoupled decay)."},
    {"adam_wd", l_adam_wd, "rt._optim.adam_wd(w, g, m, v, lr, beta1, beta2, eps, weight_decay, grad_scale)\n"
     "One BertAdam / TF AdamWeightDecay step: no bias correction, u = m/(sqrt(v)+eps) + wd*w."},
    {"lamb_moments", l_lamb_moments, "rt._optim.lamb_moments(w, g, m, v, beta1, beta2, eps, step, grad_scale, decay_r)\n"
     "LAMB phase 1: update m, v; returns |w|^2, |m^/sqrt(v^+eps) + decay_r*w|^2, |g|^2."},
    {"lamb_apply", l_lamb_apply, "rt._optim.lamb_apply(w, m, v, lr, beta1, beta2, eps, step, weight_decay, ratio)\n"
     "LAMB phase 2: w -= ratio*lr*(m^/(sqrt(v^)+eps) + wd*w)."},
    {"sumsq", l_sumsq, "rt._optim.sumsq(t) -> sum of squares of an f32 tensor (double precision)."},
    {"scale_", l_scale, "rt._optim.scale_(t, s) -> t, multiplied by s in place."},
    {"copy_", l_copy, "rt._optim.copy_(dst, src) -> dst with src's values (f32, same element count)."},
    {"nonfinite", l_nonfinite, "rt._optim.nonfinite(t) -> number of NaN/Inf elements of an f32 tensor."},
    {"rng_state", l_rng_state, "rt._optim.rng_state() -> seed, offset of the default generator."},
    {"set_rng_state", l_set_rng_state, "rt._optim.set_rng_state(seed, offset): restore the default generator."},
    {"interrupted", l_interrupted, "rt._optim.interrupted() -> true once after Ctrl-C (clears the flag)."},
    {NULL, NULL, NULL}};

void rtl_open_optim(lua_State *L, int rt) {
    lua_newtable(L);
    rtl_register(L, lua_gettop(L), "rt._optim", optim_fns);
    rtl_sys_aliases(L, lua_gettop(L));   /* old names of rt.sys functions (deprecated) */
    rtl_doc(L, -1, "rt._optim", "Low-level optimizer kernels and training helpers (see rt.optim).");
    lua_setfield(L, rt, "_optim");
}
