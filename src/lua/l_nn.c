/* l_nn.c — Lua bindings for the nn ops: the rt.F table (linear, layer_norm,
 * gelu, relu, softmax, log_softmax, dropout, embedding, losses, attention core),
 * rt.matmul, the Tensor methods matmul/softmax/log_softmax, and the hidden
 * rt._bench helpers used by scripts/bench/ops.lua (raw OpenBLAS sgemm, a
 * wall clock). Dims typed in Lua are 1-based (negative from the end). */
#include <math.h>
#include <string.h>
#include "lrt.h"
#include "../autograd/ops.h"
#include "../core/alloc.h"
#include "../core/sys.h"
#include "../kernels/gemm.h"

static rt_tensor *opt_tensor(lua_State *L, int idx) {
    if (lua_isnoneornil(L, idx)) return NULL;
    return rtl_check_tensor(L, idx);
}

static rt_reduction check_reduction(lua_State *L, int arg, const char *s, bool *batchmean) {
    if (batchmean) *batchmean = false;
    if (strcmp(s, "mean") == 0) return RT_REDUCE_MEAN;
    if (strcmp(s, "sum") == 0) return RT_REDUCE_SUM;
    if (strcmp(s, "none") == 0) return RT_REDUCE_NONE;
    if (batchmean && strcmp(s, "batchmean") == 0) { *batchmean = true; return RT_REDUCE_MEAN; }
    luaL_error(L, "bad argument #%d: reduction '%s' is not one of mean, sum, none%s", arg, s,
               batchmean ? ", batchmean" : "");
    return RT_REDUCE_MEAN;
}

/* opts table at idx (or nil): string field `reduction` */
static const char *opt_string(lua_State *L, int idx, const char *field, const char *def) {
    if (!lua_istable(L, idx)) return def;
    lua_getfield(L, idx, field);
    const char *s = lua_isnil(L, -1) ? def : luaL_checkstring(L, -1);
    lua_pop(L, 1);
    return s;
}

static int l_linear(lua_State *L) {
    rt_tensor *x = rtl_check_tensor(L, 1), *w = rtl_check_tensor(L, 2), *b = opt_tensor(L, 3);
    rtl_push_tensor(L, rt_linear(x, w, b));
    return 1;
}

static int l_matmul(lua_State *L) {
    rtl_push_tensor(L, rt_matmul(rtl_check_tensor(L, 1), rtl_check_tensor(L, 2)));
    return 1;
}

static int softmax_common(lua_State *L, bool lg) {
    rt_tensor *x = rtl_check_tensor(L, 1);
    int dim = lua_isnoneornil(L, 2) ? (x->ndim ? x->ndim - 1 : 0) : rtl_check_dim(L, 2, x->ndim, 0);
    rtl_push_tensor(L, lg ? rt_log_softmax(x, dim) : rt_softmax(x, dim));
    return 1;
}
static int l_softmax(lua_State *L) { return softmax_common(L, false); }
static int l_log_softmax(lua_State *L) { return softmax_common(L, true); }

static int l_layer_norm(lua_State *L) {
    rt_tensor *x = rtl_check_tensor(L, 1);
    int n_norm = 1;
    if (lua_istable(L, 2)) {
        n_norm = (int)luaL_len(L, 2);
        if (n_norm < 1 || n_norm > x->ndim) return luaL_error(L, "layer_norm: normalized shape has %d dims for a %d-d input", n_norm, x->ndim);
        for (int i = 1; i <= n_norm; i++) {
            lua_geti(L, 2, i);
            lua_Integer s = luaL_checkinteger(L, -1);
            lua_pop(L, 1);
            if (s != x->shape[x->ndim - n_norm + i - 1]) {
                char b[96];
                return luaL_error(L, "layer_norm: normalized shape does not match the last %d dims of input %s",
                                  n_norm, rt_shape_str(x, b, sizeof b));
            }
        }
    } else if (lua_isinteger(L, 2)) {
        if (lua_tointeger(L, 2) != x->shape[x->ndim - 1]) {
            char b[96];
            return luaL_error(L, "layer_norm: normalized size %d does not match the last dim of input %s",
                              (int)lua_tointeger(L, 2), rt_shape_str(x, b, sizeof b));
        }
    } else if (!lua_isnoneornil(L, 2)) {
        return luaL_argerror(L, 2, "normalized shape (table of sizes) expected");
    }
    rt_tensor *w = opt_tensor(L, 3), *b = opt_tensor(L, 4);
    double eps = luaL_optnumber(L, 5, 1e-5);
    rtl_push_tensor(L, rt_layer_norm(x, n_norm, w, b, eps));
    return 1;
}

static int l_gelu(lua_State *L) {
    rt_tensor *x = rtl_check_tensor(L, 1);
    const char *approx = luaL_optstring(L, 2, "none");
    rtl_push_tensor(L, rt_unary(strcmp(approx, "tanh") == 0 ? RT_GELU_TANH : RT_GELU, x));
    return 1;
}

static int l_relu(lua_State *L) {
    rtl_push_tensor(L, rt_unary(RT_RELU, rtl_check_tensor(L, 1)));
    return 1;
}

static int l_dropout(lua_State *L) {
    rt_tensor *x = rtl_check_tensor(L, 1);
    double p = luaL_optnumber(L, 2, 0.5);
    bool train = lua_isnoneornil(L, 3) ? true : lua_toboolean(L, 3);
    rt_tensor *y = rt_dropout(x, p, train, NULL);
    if (y == x) { rt_release(y); lua_pushvalue(L, 1); return 1; }   /* eval / p == 0: x itself */
    rtl_push_tensor(L, y);
    return 1;
}

static int l_embedding(lua_State *L) {
    rtl_push_tensor(L, rt_embedding(rtl_check_tensor(L, 1), rtl_check_tensor(L, 2)));
    return 1;
}

static int l_cross_entropy(lua_State *L) {
    rt_tensor *x = rtl_check_tensor(L, 1), *y = rtl_check_tensor(L, 2);
    int64_t ignore = -100;
    if (lua_istable(L, 3)) {
        lua_getfield(L, 3, "ignore_index");
        if (!lua_isnil(L, -1)) ignore = luaL_checkinteger(L, -1);
        lua_pop(L, 1);
    }
    rt_reduction red = check_reduction(L, 3, opt_string(L, 3, "reduction", "mean"), NULL);
    rtl_push_tensor(L, rt_cross_entropy(x, y, ignore, red));
    return 1;
}

static int l_mse(lua_State *L) {
    rt_tensor *a = rtl_check_tensor(L, 1), *b = rtl_check_tensor(L, 2);
    const char *r = lua_isstring(L, 3) ? lua_tostring(L, 3) : opt_string(L, 3, "reduction", "mean");
    rtl_push_tensor(L, rt_mse(a, b, check_reduction(L, 3, r, NULL)));
    return 1;
}

static int l_soft_cross_entropy(lua_State *L) {
    rt_tensor *s = rtl_check_tensor(L, 1), *t = rtl_check_tensor(L, 2);
    rtl_push_tensor(L, rt_soft_cross_entropy(s, t, luaL_optnumber(L, 3, 1.0)));
    return 1;
}

static int l_kl_div(lua_State *L) {
    rt_tensor *x = rtl_check_tensor(L, 1), *t = rtl_check_tensor(L, 2);
    const char *r = lua_isstring(L, 3) ? lua_tostring(L, 3) : opt_string(L, 3, "reduction", "mean");
    bool bm;
    rt_reduction red = check_reduction(L, 3, r, &bm);
    rtl_push_tensor(L, rt_kl_div(x, t, red, bm));
    return 1;
}

static int l_attention_scores(lua_State *L) {
    rt_tensor *q = rtl_check_tensor(L, 1), *k = rtl_check_tensor(L, 2);
    rt_tensor *rel = opt_tensor(L, 3), *mask = opt_tensor(L, 4);
    double scale = lua_isnoneornil(L, 5) ? (q->ndim == 4 && q->shape[3] > 0 ? 1.0 / sqrt((double)q->shape[3]) : 1.0)
                                         : luaL_checknumber(L, 5);
    rtl_push_tensor(L, rt_attention_scores(q, k, rel, mask, scale));
    return 1;
}

static int l_attention_context(lua_State *L) {
    rt_tensor *s = rtl_check_tensor(L, 1), *v = rtl_check_tensor(L, 2), *rel = opt_tensor(L, 3);
    double p = luaL_optnumber(L, 4, 0.0);
    bool train = lua_isnoneornil(L, 5) ? false : lua_toboolean(L, 5);
    rt_tensor *probs = NULL;
    rt_tensor *ctx = rt_attention_context(s, v, rel, p, train, NULL, &probs);
    rtl_push_tensor(L, ctx);
    rtl_push_tensor(L, probs);
    return 2;
}

/* ---- hidden benchmark helpers (rt._bench) ---- */

static int l_bench_now(lua_State *L) { lua_pushnumber(L, rt_now()); return 1; }

/* rt._bench.sgemm(transA, transB, M, N, K, iters) -> seconds per call of raw cblas_sgemm */
static int l_bench_sgemm(lua_State *L) {
    bool ta = lua_toboolean(L, 1), tb = lua_toboolean(L, 2);
    lua_Integer M = luaL_checkinteger(L, 3), N = luaL_checkinteger(L, 4), K = luaL_checkinteger(L, 5);
    int iters = (int)luaL_optinteger(L, 6, 10);
    if (M <= 0 || N <= 0 || K <= 0 || M * K > (1 << 28) || K * N > (1 << 28) || M * N > (1 << 28))
        return luaL_error(L, "_bench.sgemm: bad sizes");
    size_t na = (size_t)(M * K) * 4, nb = (size_t)(K * N) * 4, nc = (size_t)(M * N) * 4;
    float *A = rt_alloc(na), *B = rt_alloc(nb), *C = rt_alloc(nc);
    if (!A || !B || !C) { rt_free(A, na); rt_free(B, nb); rt_free(C, nc); return rtl_error(L); }
    for (size_t i = 0; i < na / 4; i++) A[i] = (float)(i % 7) * 0.1f;
    for (size_t i = 0; i < nb / 4; i++) B[i] = (float)(i % 5) * 0.1f;
    int lda = ta ? (int)M : (int)K, ldb = tb ? (int)K : (int)N;
    rt_sgemm_raw_blas(ta, tb, (int)M, (int)N, (int)K, 1.0f, A, lda, B, ldb, 0.0f, C, (int)N);
    double t0 = rt_now();
    for (int i = 0; i < iters; i++)
        rt_sgemm_raw_blas(ta, tb, (int)M, (int)N, (int)K, 1.0f, A, lda, B, ldb, 0.0f, C, (int)N);
    double t1 = rt_now();
    rt_free(A, na); rt_free(B, nb); rt_free(C, nc);
    lua_pushnumber(L, (t1 - t0) / iters);
    return 1;
}

static const rtl_reg F_FUNCS[] = {
    {"linear", l_linear, "rt.F.linear(x, w [, b]) -> x·wᵀ + b. x [..., in], w [out, in], b [out]. One autograd node."},
    {"layer_norm", l_layer_norm, "rt.F.layer_norm(x, {H...}, w, b [, eps=1e-5]) -> normalise over the last #shape dims "
                                 "(biased variance), then * w + b (w, b optional, shaped like {H...})."},
    {"gelu", l_gelu, "rt.F.gelu(x [, 'tanh']) -> GELU (erf form; 'tanh' for the tanh approximation)."},
    {"relu", l_relu, "rt.F.relu(x) -> max(x, 0)."},
    {"softmax", l_softmax, "rt.F.softmax(x [, dim=-1]) -> softmax along dim (1-based, negative from the end)."},
    {"log_softmax", l_log_softmax, "rt.F.log_softmax(x [, dim=-1]) -> log of softmax along dim, computed stably."},
    {"dropout", l_dropout, "rt.F.dropout(x [, p=0.5 [, train=true]]) -> inverted dropout (kept values scaled by "
                           "1/(1-p)); returns x itself when train is false or p == 0. Seeded by rt.manual_seed."},
    {"embedding", l_embedding, "rt.F.embedding(w, ids) -> rows of w [V, D] picked by ids (i32/i64 tensor of any shape, "
                               "0-based) -> [..., D]; scatter-add backward into w."},
    {"cross_entropy", l_cross_entropy, "rt.F.cross_entropy(logits, labels [, {ignore_index=-100, reduction='mean'}]) -> "
                                       "log-softmax + NLL over the last (class) dim; labels shaped like logits without it "
                                       "(0-based ints). reduction: mean (over non-ignored), sum, none."},
    {"mse", l_mse, "rt.F.mse(a, b [, reduction='mean']) -> mean((a - b)^2) (or 'sum', 'none'; also {reduction=...})."},
    {"soft_cross_entropy", l_soft_cross_entropy, "rt.F.soft_cross_entropy(student, teacher [, T=1]) -> TinyBERT's "
                                                 "mean over batch x classes of -softmax(teacher/T) * log_softmax(student/T); "
                                                 "teacher is not differentiated."},
    {"kl_div", l_kl_div, "rt.F.kl_div(logp, target [, reduction='mean']) -> torch's kl_div: target * (log target - logp); "
                         "reduction mean, batchmean, sum or none."},
    {"attention_scores", l_attention_scores, "rt.F.attention_scores(q, k [, rel [, mask [, scale=1/sqrt(D)]]]) -> "
                                             "(q·kᵀ + q·relᵀ) * scale + mask, [B,H,S,S]. q, k [B,H,S,D] (strided views fine); "
                                             "rel [S,S,D] NEZHA relative positions (constant) or nil; mask additive, "
                                             "broadcastable to [B,H,S,S] (e.g. [B,1,1,S]) or nil. One node."},
    {"attention_context", l_attention_context, "rt.F.attention_context(scores, v [, rel [, p=0 [, train=false]]]) -> ctx, probs. "
                                               "probs = softmax(scores), p' = dropout(probs), ctx = p'·v + p'·rel [B,H,S,D] "
                                               "(stored as [B,S,H,D]: ctx:transpose(2,3) is contiguous). One node."},
    {NULL, NULL, NULL}};

static const rtl_reg RT_FUNCS[] = {
    {"matmul", l_matmul, "rt.matmul(a, b) -> matrix product like torch.matmul: 1-D, 2-D and batched with broadcast "
                         "batch dims; transposed views are used without copies."},
    {NULL, NULL, NULL}};

static const rtl_reg METHODS[] = {
    {"matmul", l_matmul, "t:matmul(b) -> rt.matmul(t, b)."},
    {"softmax", l_softmax, "t:softmax([dim=-1]) -> softmax along dim (1-based)."},
    {"log_softmax", l_log_softmax, "t:log_softmax([dim=-1]) -> log_softmax along dim (1-based)."},
    {NULL, NULL, NULL}};

static const rtl_reg BENCH_FUNCS[] = {
    {"now", l_bench_now, "rt._bench.now() -> monotonic wall clock in seconds (for benchmarks)."},
    {"sgemm", l_bench_sgemm, "rt._bench.sgemm(transA, transB, M, N, K [, iters=10]) -> seconds per raw OpenBLAS "
                             "cblas_sgemm call on the same shapes (benchmark reference)."},
    {NULL, NULL, NULL}};

void rtl_open_nn(lua_State *L, int rt) {
    rt = lua_absindex(L, rt);
    if (lua_getfield(L, rt, "F") != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, rt, "F");
        rtl_doc(L, -1, "rt.F", "rt.F: functional nn ops (linear, layer_norm, gelu, softmax, dropout, embedding, "
                               "losses, attention core). help(rt.F.linear) etc.");
    }
    rtl_register(L, -1, "rt.F", F_FUNCS);
    lua_pop(L, 1);
    rtl_register(L, rt, "rt", RT_FUNCS);
    lua_newtable(L);
    rtl_register(L, -1, "rt._bench", BENCH_FUNCS);
    lua_setfield(L, rt, "_bench");
    /* Tensor methods: rt.Tensor is the method table (l_tensor opens first);
     * fall back to a table __index of the metatable. */
    if (lua_getfield(L, rt, "Tensor") == LUA_TTABLE) {
        rtl_register(L, -1, "Tensor:", METHODS);
    } else if (luaL_getmetatable(L, RTL_TENSOR_MT) == LUA_TTABLE) {
        if (lua_getfield(L, -1, "__index") == LUA_TTABLE) rtl_register(L, -1, "Tensor:", METHODS);
        lua_pop(L, 2);
    } else {
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}
