/* l_core.c — rt.memory, rt.manual_seed, rt.set_threads / get_threads, rt.VERSION. */
#include "lrt.h"
#include "../core/alloc.h"
#include "../core/parallel.h"
#include "../kernels/gemm.h"
#include "../core/rng.h"

#ifndef RETORT_VERSION
#define RETORT_VERSION "0.1.0"
#endif

static int l_memory(lua_State *L) {
    rt_mem_stats s = rt_memory_stats();
    lua_createtable(L, 0, 5);
    lua_pushinteger(L, s.live_bytes); lua_setfield(L, -2, "live");
    lua_pushinteger(L, s.peak_bytes); lua_setfield(L, -2, "peak");
    lua_pushinteger(L, s.cached_bytes); lua_setfield(L, -2, "cached");
    lua_pushinteger(L, s.n_allocs); lua_setfield(L, -2, "allocs");
    lua_pushinteger(L, s.n_cache_hits); lua_setfield(L, -2, "cache_hits");
    return 1;
}

static int l_memory_reset_peak(lua_State *L) { (void)L; rt_memory_reset_peak(); return 0; }
static int l_memory_trim(lua_State *L) { lua_gc(L, LUA_GCCOLLECT); rt_memory_trim(); return 0; }

static int l_manual_seed(lua_State *L) {
    lua_Integer s = luaL_checkinteger(L, 1);
    rt_manual_seed((uint64_t)s);
    return 0;
}

static int l_set_threads(lua_State *L) {
    int n = (int)luaL_optinteger(L, 1, 0);
    rt_set_threads(n);        /* OpenMP (core) */
    rt_gemm_set_threads(n);   /* the BLAS backend (kernels) */
    return 0;
}

static int l_get_threads(lua_State *L) { lua_pushinteger(L, rt_get_threads()); return 1; }

void rtl_open_core(lua_State *L, int rt) {
    static const rtl_reg regs[] = {
        {"memory", l_memory, "rt.memory() -> {live=, peak=, cached=, allocs=, cache_hits=} tensor bytes (live: in tensors now;\n"
                             "peak: max since start or rt.memory_reset_peak(); cached: kept for reuse)."},
        {"memory_reset_peak", l_memory_reset_peak, "rt.memory_reset_peak() sets peak to the current live bytes."},
        {"memory_trim", l_memory_trim, "rt.memory_trim() runs the GC and returns cached blocks to the system."},
        {"manual_seed", l_manual_seed, "rt.manual_seed(n) reseeds the default generator (rand, randn, dropout, init):\n"
                                       "results are reproducible across runs and thread counts."},
        {"set_threads", l_set_threads, "rt.set_threads(n) sets the threads of the OpenMP kernels and OpenBLAS (n <= 0: all cores)."},
        {"get_threads", l_get_threads, "rt.get_threads() -> current thread count."},
        {NULL, NULL, NULL}};
    rtl_register(L, rt, "rt", regs);
    lua_pushstring(L, "retort " RETORT_VERSION);
    lua_setfield(L, rt, "VERSION");
}
