/* l_dist.c — rt.dist: data parallelism across processes (src/dist/dist.h). In the
 * default build, and in an MPI build started without mpirun, there is one process:
 * rank 0 of 1, and every collective leaves its argument as it is. Tensor arguments
 * are changed in place and must be contiguous (f32 for reductions). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lrt.h"
#include "../dist/dist.h"
#include "../core/parallel.h"
#include "../kernels/gemm.h"

static void check_init(lua_State *L) {
    if (rt_dist_init()) rtl_error(L);
}

static rt_dist_op check_op(lua_State *L, int idx, const char *fn) {
    const char *s = luaL_optstring(L, idx, "sum");
    if (strcmp(s, "sum") == 0) return RT_DIST_SUM;
    if (strcmp(s, "mean") == 0) return RT_DIST_MEAN;
    if (strcmp(s, "min") == 0) return RT_DIST_MIN;
    if (strcmp(s, "max") == 0) return RT_DIST_MAX;
    luaL_error(L, "%s: op must be \"sum\", \"mean\", \"min\" or \"max\", got \"%s\"", fn, s);
    return RT_DIST_SUM;
}

static rt_tensor *f32_tensor(lua_State *L, int idx, const char *fn) {
    rt_tensor *t = rtl_check_tensor(L, idx);
    if (t->dtype != RT_F32) luaL_error(L, "%s: tensor must be f32, got %s", fn, rt_dtype_name(t->dtype));
    if (!rt_is_contiguous(t)) luaL_error(L, "%s: tensor must be contiguous", fn);
    return t;
}

static int l_rank(lua_State *L) { check_init(L); lua_pushinteger(L, rt_dist_rank()); return 1; }
static int l_size(lua_State *L) { check_init(L); lua_pushinteger(L, rt_dist_size()); return 1; }
static int l_compiled(lua_State *L) { lua_pushboolean(L, rt_dist_compiled()); return 1; }
static int l_library(lua_State *L) { lua_pushstring(L, rt_dist_library()); return 1; }

/* rt.dist.allreduce(t, op) -> t (f32, in place) */
static int l_allreduce(lua_State *L) {
    rt_tensor *t = f32_tensor(L, 1, "rt.dist.allreduce");
    rt_dist_op op = check_op(L, 2, "rt.dist.allreduce");
    if (rt_dist_allreduce_f32(rt_f32(t), (size_t)rt_numel(t), op)) return rtl_error(L);
    lua_settop(L, 1);
    return 1;
}

/* rt.dist.allreduce_list({t1, t2, ...}, op, bucket_bytes): tensor fusion */
static int l_allreduce_list(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    rt_dist_op op = check_op(L, 2, "rt.dist.allreduce_list");
    lua_Integer bucket = luaL_optinteger(L, 3, 64 << 20);
    if (bucket <= 0) return luaL_error(L, "rt.dist.allreduce_list: bucket_bytes must be positive");
    size_t k = (size_t)luaL_len(L, 1);
    float **bufs = lua_newuserdatauv(L, (k ? k : 1) * sizeof(float *), 0);
    size_t *lens = lua_newuserdatauv(L, (k ? k : 1) * sizeof(size_t), 0);
    for (size_t i = 0; i < k; i++) {
        lua_rawgeti(L, 1, (lua_Integer)i + 1);
        if (!rtl_test_tensor(L, -1))
            return luaL_error(L, "rt.dist.allreduce_list: element %d is not a tensor", (int)i + 1);
        rt_tensor *t = f32_tensor(L, -1, "rt.dist.allreduce_list");
        bufs[i] = rt_f32(t);
        lens[i] = (size_t)rt_numel(t);
        lua_pop(L, 1);   /* the list keeps it alive */
    }
    if (rt_dist_allreduce_fused(bufs, lens, k, op, (size_t)bucket)) return rtl_error(L);
    return 0;
}

/* rt.dist.allreduce_numbers({x1, x2, ...}, op) -> a new table (f64) */
static int l_allreduce_numbers(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    rt_dist_op op = check_op(L, 2, "rt.dist.allreduce_numbers");
    size_t n = (size_t)luaL_len(L, 1);
    double *x = lua_newuserdatauv(L, (n ? n : 1) * sizeof(double), 0);
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, 1, (lua_Integer)i + 1);
        int ok = 0;
        x[i] = lua_tonumberx(L, -1, &ok);
        if (!ok) return luaL_error(L, "rt.dist.allreduce_numbers: element %d is not a number", (int)i + 1);
        lua_pop(L, 1);
    }
    if (rt_dist_allreduce_f64(x, n, op)) return rtl_error(L);
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) { lua_pushnumber(L, x[i]); lua_rawseti(L, -2, (lua_Integer)i + 1); }
    return 1;
}

/* rt.dist.allgather_numbers({x1, ..., xn}) -> {rank 0's n values, rank 1's, ...} */
static int l_allgather_numbers(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    check_init(L);
    size_t n = (size_t)luaL_len(L, 1), p = (size_t)rt_dist_size();
    double *x = lua_newuserdatauv(L, (n ? n : 1) * sizeof(double), 0);
    double *out = lua_newuserdatauv(L, (n ? n * p : 1) * sizeof(double), 0);
    for (size_t i = 0; i < n; i++) {
        lua_rawgeti(L, 1, (lua_Integer)i + 1);
        int ok = 0;
        x[i] = lua_tonumberx(L, -1, &ok);
        if (!ok) return luaL_error(L, "rt.dist.allgather_numbers: element %d is not a number", (int)i + 1);
        lua_pop(L, 1);
    }
    if (rt_dist_allgather_f64(x, n, out)) return rtl_error(L);
    lua_createtable(L, (int)(n * p), 0);
    for (size_t i = 0; i < n * p; i++) { lua_pushnumber(L, out[i]); lua_rawseti(L, -2, (lua_Integer)i + 1); }
    return 1;
}

/* rt.dist.broadcast(t, root) -> t (any dtype, in place) */
static int l_broadcast(lua_State *L) {
    rt_tensor *t = rtl_check_tensor(L, 1);
    int root = (int)luaL_optinteger(L, 2, 0);
    if (!rt_is_contiguous(t)) return luaL_error(L, "rt.dist.broadcast: tensor must be contiguous");
    if (rt_dist_broadcast(rt_data(t), rt_nbytes(t), root)) return rtl_error(L);
    lua_settop(L, 1);
    return 1;
}

/* rt.dist.broadcast_string(s, root) -> root's string (other ranks' s is ignored) */
static int l_broadcast_string(lua_State *L) {
    size_t n = 0;
    const char *s = luaL_optlstring(L, 1, "", &n);
    int root = (int)luaL_optinteger(L, 2, 0);
    check_init(L);
    if (rt_dist_size() == 1) { lua_pushlstring(L, s, n); return 1; }
    double len = (double)n;
    if (rt_dist_broadcast(&len, sizeof len, root)) return rtl_error(L);
    size_t m = (size_t)len;
    char *buf = lua_newuserdatauv(L, m ? m : 1, 0);
    if (rt_dist_rank() == root) memcpy(buf, s, m);
    if (rt_dist_broadcast(buf, m, root)) return rtl_error(L);
    lua_pushlstring(L, buf, m);
    return 1;
}

static int l_barrier(lua_State *L) {
    if (rt_dist_barrier()) return rtl_error(L);
    return 0;
}

/* rt.dist.abort(msg, code=1): print "retort: rank R/N: msg" and end every rank */
static int l_abort(lua_State *L) {
    const char *msg = luaL_optstring(L, 1, "");
    int code = (int)luaL_optinteger(L, 2, 1);
    rt_dist_abort(msg, code);
    return 0;
}

static int l_stats(lua_State *L) {
    rt_dist_stats s = rt_dist_get_stats();
    lua_createtable(L, 0, 3);
    lua_pushnumber(L, s.calls); lua_setfield(L, -2, "calls");
    lua_pushnumber(L, s.bytes); lua_setfield(L, -2, "bytes");
    lua_pushnumber(L, s.seconds); lua_setfield(L, -2, "seconds");
    return 1;
}

static int l_reset_stats(lua_State *L) { (void)L; rt_dist_reset_stats(); return 0; }

static const rtl_reg dist_fns[] = {
    {"rank", l_rank, "rt.dist.rank() -> this process's rank, 0-based (0 without mpirun)."},
    {"size", l_size, "rt.dist.size() -> the number of processes (1 without mpirun)."},
    {"compiled", l_compiled, "rt.dist.compiled() -> whether this binary was built with MPI (make MPI=1)."},
    {"library", l_library, "rt.dist.library() -> the MPI library's version line (\"\" without MPI)."},
    {"allreduce", l_allreduce, "rt.dist.allreduce(t, op=\"sum\") -> t: reduce an f32 tensor over every rank in\n"
     "  place; op \"sum\", \"mean\", \"min\" or \"max\"."},
    {"allreduce_list", l_allreduce_list, "rt.dist.allreduce_list({t1, ...}, op=\"sum\", bucket_bytes=64 MiB): reduce\n"
     "  many f32 tensors in place through one fusion buffer (one MPI call per bucket)."},
    {"allreduce_numbers", l_allreduce_numbers, "rt.dist.allreduce_numbers({x1, ...}, op=\"sum\") -> a new table of\n"
     "  the reduced numbers (f64; metrics, hashes)."},
    {"allgather_numbers", l_allgather_numbers, "rt.dist.allgather_numbers({x1, ..., xn}) -> every rank's n numbers,\n"
     "  rank 0's first (size * n values)."},
    {"broadcast", l_broadcast, "rt.dist.broadcast(t, root=0) -> t: copy root's tensor into every rank's (in place)."},
    {"broadcast_string", l_broadcast_string, "rt.dist.broadcast_string(s, root=0) -> root's string on every rank."},
    {"barrier", l_barrier, "rt.dist.barrier(): wait until every rank arrives."},
    {"abort", l_abort, "rt.dist.abort(msg, code=1): print \"retort: rank R/N: msg\" and end every rank\n"
     "  (MPI_Abort); with one process, print msg and exit(code)."},
    {"stats", l_stats, "rt.dist.stats() -> {calls, bytes, seconds} spent in collectives so far."},
    {"reset_stats", l_reset_stats, "rt.dist.reset_stats(): zero the rt.dist.stats() counters."},
    {NULL, NULL, NULL}};

void rtl_open_dist(lua_State *L, int rt) {
    /* under mpirun, MPI starts with the Lua state, before any script runs; unless
     * OMP_NUM_THREADS says otherwise, the ranks of a machine share its cores (a
     * script's rt.set_threads still wins) */
    if (rt_dist_init() == RT_OK && rt_dist_size() > 1 && !getenv("OMP_NUM_THREADS")) {
        int n = (int)sysconf(_SC_NPROCESSORS_ONLN) / rt_dist_local_size();
        rt_set_threads(n > 0 ? n : 1);
        rt_gemm_set_threads(n > 0 ? n : 1);
    }
    lua_newtable(L);
    rtl_register(L, lua_gettop(L), "rt.dist", dist_fns);
    rtl_doc(L, -1, "rt.dist", "Data parallelism across processes (MPI): rank, size, allreduce, broadcast, barrier.\n"
            "Run as `mpirun -np N retort recipe.lua ...` with a binary built by `make MPI=1`.");
    lua_setfield(L, rt, "dist");
}
