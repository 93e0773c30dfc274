/* l_lowp.c — rt.autocast (bf16 GEMMs with fp32 master weights) and rt.cpu
 * (the run-time CPU features the low-precision kernels choose from, and the
 * switch that forces their portable fallbacks). */
#include <string.h>
#include "lrt.h"
#include "../kernels/gemm.h"
#include "../kernels/lowp.h"

#define AUTOCAST_MT "rt.AutocastGuard"

typedef struct { int active; bool prev; } guard;

static int guard_close(lua_State *L) {
    guard *g = luaL_checkudata(L, 1, AUTOCAST_MT);
    if (g->active) { g->active = 0; rt_gemm_set_autocast_bf16(g->prev); }
    return 0;
}

static bool parse_dtype(lua_State *L, int i) {
    const char *s = luaL_checkstring(L, i);
    if (!strcmp(s, "bf16") || !strcmp(s, "bfloat16")) return true;
    if (!strcmp(s, "fp32") || !strcmp(s, "f32") || !strcmp(s, "float32")) return false;
    return luaL_error(L, "autocast: dtype must be \"bf16\" or \"fp32\" (got \"%s\")", s), false;
}

static int autocast_finish(lua_State *L, int status, lua_KContext ctx) {
    rt_gemm_set_autocast_bf16((bool)ctx);
    if (status != LUA_OK && status != LUA_YIELD) return lua_error(L);
    return lua_gettop(L) - 1;
}

static int l_autocast(lua_State *L) {
    bool on = parse_dtype(L, 1);
    bool prev = rt_gemm_autocast_bf16();
    if (lua_isnoneornil(L, 2)) {   /* local ac <close> = rt.autocast("bf16") */
        guard *g = lua_newuserdatauv(L, sizeof *g, 0);
        g->active = 1; g->prev = prev;
        luaL_setmetatable(L, AUTOCAST_MT);
        rt_gemm_set_autocast_bf16(on);
        return 1;
    }
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_remove(L, 1);              /* fn, args... */
    lua_pushnil(L);
    lua_insert(L, 1);              /* nil, fn, args...: keeps the base for the results */
    rt_gemm_set_autocast_bf16(on);
    int nargs = lua_gettop(L) - 2;
    int st = lua_pcallk(L, nargs, LUA_MULTRET, 0, (lua_KContext)prev, autocast_finish);
    return autocast_finish(L, st, (lua_KContext)prev);
}

static int l_is_autocast(lua_State *L) {
    lua_pushstring(L, rt_gemm_autocast_bf16() ? "bf16" : "fp32");
    return 1;
}

static int l_features(lua_State *L) {
    lua_createtable(L, 0, 3);
    lua_pushboolean(L, rt_cpu_has_bf16()); lua_setfield(L, -2, "avx512_bf16");
    lua_pushboolean(L, rt_cpu_has_vnni()); lua_setfield(L, -2, "avx512_vnni");
    lua_pushboolean(L, rt_lowp_portable()); lua_setfield(L, -2, "portable");
    return 1;
}

static int l_force_portable(lua_State *L) {
    bool prev = rt_lowp_portable();
    rt_lowp_force_portable(lua_toboolean(L, 1));
    lua_pushboolean(L, prev);
    return 1;
}

static const rtl_reg funcs[] = {
    {"autocast", l_autocast,
     "rt.autocast(\"bf16\", fn, ...) runs fn(...) with bf16 GEMMs and returns its results;\n"
     "local ac <close> = rt.autocast(\"bf16\") does the same until ac closes.\n"
     "The linear layers and matmuls (forward and backward issued inside) take bf16 inputs and\n"
     "accumulate in fp32; weights stay fp32 (master copies), and LayerNorm, softmax, losses and\n"
     "reductions stay fp32. Loss scaling is not needed with bf16 (fp32's exponent range).\n"
     "On a CPU without AVX512-BF16 the same rounding is emulated (rt.cpu.features())."},
    {"autocast_dtype", l_is_autocast, "rt.autocast_dtype() -> \"bf16\" inside rt.autocast, else \"fp32\"."},
    {NULL, NULL, NULL}};

static const rtl_reg cpu_funcs[] = {
    {"features", l_features,
     "rt.cpu.features() -> {avx512_bf16=, avx512_vnni=, portable=}: what the bf16 / int8 kernels\n"
     "use (false when forced portable)."},
    {"force_portable", l_force_portable,
     "rt.cpu.force_portable(on) -> previous: run the portable bf16 / int8 fallbacks (same\n"
     "numerics) even where the CPU has the instructions; also RETORT_PORTABLE=1. Takes effect\n"
     "for weights packed afterwards (m:to / m:quantize) and for every autocast GEMM."},
    {NULL, NULL, NULL}};

void rtl_open_lowp(lua_State *L, int rt) {
    rt = lua_absindex(L, rt);
    luaL_newmetatable(L, AUTOCAST_MT);
    lua_pushcfunction(L, guard_close); lua_setfield(L, -2, "__close");
    lua_pushcfunction(L, guard_close); lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    rtl_register(L, rt, "rt", funcs);
    lua_newtable(L);
    rtl_register(L, -1, "rt.cpu", cpu_funcs);
    rtl_doc(L, -1, "rt.cpu", "CPU features of the low-precision kernels: rt.cpu.features(), rt.cpu.force_portable(on).");
    lua_setfield(L, rt, "cpu");
}
