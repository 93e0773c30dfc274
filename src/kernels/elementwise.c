/* elementwise.c — broadcast/strided elementwise kernels (elementwise.h).
 * Rows handed out by rt_k_foreach have per-operand strides; the f32 kernels
 * special-case the common stride patterns (all 1; bias-like b stride 0; a
 * stride 0) so the compiler emits straight AVX-512 loops. */
/* FP compares must not count as traps and sqrtf must not set errno, or GCC
 * will not if-convert/vectorise the math loops (results are unchanged). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math", "no-math-errno", "fp-contract=fast")
#endif
#include <math.h>
#include <omp.h>
#include <string.h>
#include "elementwise.h"
#include "vmath.h"
#include "../core/shape.h"

enum { K_NEG, K_EXP, K_LOG, K_SQRT, K_RSQRT, K_ABS, K_TANH, K_SIGMOID, K_RELU, K_GELU,
       K_GELU_TANH, K_FLOOR, K_CEIL, K_ROUND, K_SIGN };

void rt_k_foreach(int ndim, const int64_t *shape, int nops, char *const *base,
                  const int64_t (*strides)[RT_MAXDIM], const size_t *esize,
                  rt_row_fn fn, void *ctx) {
    int64_t sh[RT_MAXDIM], st[RT_K_MAXOPS][RT_MAXDIM];
    for (int i = 0; i < ndim; i++) {
        sh[i] = shape[i];
        for (int k = 0; k < nops; k++) st[k][i] = strides[k][i];
    }
    if (rt_shape_numel(ndim, shape) == 0) return;
    int nd = rt_coalesce(ndim, sh, nops, st);
    int64_t inner = sh[nd - 1], rows = rt_shape_numel(nd - 1, sh), total = rows * inner;
    int nthr = omp_get_max_threads();
    bool par = total >= RT_PAR_MIN && nthr > 1;
    int64_t nchunk = 1;
    if (par && rows < 4 * nthr) {
        nchunk = (4 * nthr + rows - 1) / rows;
        int64_t maxc = inner / 2048;
        if (nchunk > maxc) nchunk = maxc > 0 ? maxc : 1;
    }
    int64_t chunk = (inner + nchunk - 1) / nchunk;
    /* keep chunks a multiple of 16 elements so vector loops stay aligned */
    if (nchunk > 1) chunk = (chunk + 15) & ~(int64_t)15;
    int64_t tasks = rows * nchunk;
    #pragma omp parallel for schedule(static) if (par)
    for (int64_t t = 0; t < tasks; t++) {
        int64_t r = t / nchunk, c = t % nchunk, start = c * chunk;
        int64_t len = inner - start < chunk ? inner - start : chunk;
        if (len <= 0) continue;
        int64_t off[RT_K_MAXOPS] = {0};
        int64_t rem = r;
        for (int d = nd - 2; d >= 0; d--) {
            int64_t ix = rem % sh[d];
            rem /= sh[d];
            for (int k = 0; k < nops; k++) off[k] += ix * st[k][d];
        }
        char *p[RT_K_MAXOPS];
        int64_t s[RT_K_MAXOPS];
        for (int k = 0; k < nops; k++) {
            s[k] = st[k][nd - 1];
            p[k] = base[k] + (off[k] + start * s[k]) * (int64_t)esize[k];
        }
        fn(ctx, p, s, len);
    }
}

/* ---- f32 binary ---- */

static inline float bin_apply(rt_binop op, float x, float y) {
    switch (op) {
    case RT_BIN_ADD: return x + y;
    case RT_BIN_SUB: return x - y;
    case RT_BIN_MUL: return x * y;
    case RT_BIN_DIV: return x / y;
    case RT_BIN_POW: return powf(x, y);
    case RT_BIN_MAX: return x > y || x != x ? x : y;
    case RT_BIN_MIN: return x < y || x != x ? x : y;
    case RT_BIN_RSUB: return y - x;
    case RT_BIN_RDIV: return y / x;
    case RT_BIN_RPOW: return powf(y, x);
    }
    return 0;
}

#define BIN_LOOPS(EXPR)                                                                   \
    if (so == 1 && sa == 1 && sb == 1) {                                                  \
        _Pragma("omp simd") for (int64_t i = 0; i < n; i++) { float x = a[i], y = b[i]; o[i] = (EXPR); } \
    } else if (so == 1 && sa == 1 && sb == 0) {                                           \
        float y = b[0];                                                                   \
        _Pragma("omp simd") for (int64_t i = 0; i < n; i++) { float x = a[i]; o[i] = (EXPR); } \
    } else if (so == 1 && sa == 0 && sb == 1) {                                           \
        float x = a[0];                                                                   \
        _Pragma("omp simd") for (int64_t i = 0; i < n; i++) { float y = b[i]; o[i] = (EXPR); } \
    } else {                                                                              \
        for (int64_t i = 0; i < n; i++) { float x = a[i * sa], y = b[i * sb]; o[i * so] = (EXPR); } \
    }

static void bin_row(void *ctx, char **p, const int64_t *s, int64_t n) {
    rt_binop op = *(rt_binop *)ctx;
    float *restrict o = (float *)p[0];
    const float *a = (const float *)p[1], *b = (const float *)p[2];
    int64_t so = s[0], sa = s[1], sb = s[2];
    switch (op) {
    case RT_BIN_ADD: BIN_LOOPS(x + y); break;
    case RT_BIN_SUB: BIN_LOOPS(x - y); break;
    case RT_BIN_MUL: BIN_LOOPS(x * y); break;
    case RT_BIN_DIV: BIN_LOOPS(x / y); break;
    case RT_BIN_RSUB: BIN_LOOPS(y - x); break;
    case RT_BIN_RDIV: BIN_LOOPS(y / x); break;
    default:
        for (int64_t i = 0; i < n; i++) o[i * so] = bin_apply(op, a[i * sa], b[i * sb]);
    }
}

void rt_k_binary_f32(rt_binop op, float *out, const int64_t *os, const float *a, const int64_t *as,
                     const float *b, const int64_t *bs, int ndim, const int64_t *shape) {
    int64_t st[3][RT_MAXDIM];
    for (int i = 0; i < ndim; i++) { st[0][i] = os[i]; st[1][i] = as[i]; st[2][i] = bs[i]; }
    char *base[3] = {(char *)out, (char *)a, (char *)b};
    size_t es[3] = {4, 4, 4};
    rt_k_foreach(ndim, shape, 3, base, (const int64_t (*)[RT_MAXDIM])st, es, bin_row, &op);
}

typedef struct { rt_binop op; float s; } scal_ctx;

static void bin_scalar_row(void *ctx, char **p, const int64_t *s, int64_t n) {
    scal_ctx *c = ctx;
    float *restrict o = (float *)p[0];
    const float *a = (const float *)p[1];
    float v = c->s;
    int64_t so = s[0], sa = s[1];
    if (so == 1 && sa == 1) {
        switch (c->op) {
        case RT_BIN_ADD: _Pragma("omp simd") for (int64_t i = 0; i < n; i++) o[i] = a[i] + v; return;
        case RT_BIN_SUB: _Pragma("omp simd") for (int64_t i = 0; i < n; i++) o[i] = a[i] - v; return;
        case RT_BIN_MUL: _Pragma("omp simd") for (int64_t i = 0; i < n; i++) o[i] = a[i] * v; return;
        case RT_BIN_DIV: _Pragma("omp simd") for (int64_t i = 0; i < n; i++) o[i] = a[i] / v; return;
        case RT_BIN_RSUB: _Pragma("omp simd") for (int64_t i = 0; i < n; i++) o[i] = v - a[i]; return;
        case RT_BIN_RDIV: _Pragma("omp simd") for (int64_t i = 0; i < n; i++) o[i] = v / a[i]; return;
        case RT_BIN_POW:
            if (v == 2.0f) { _Pragma("omp simd") for (int64_t i = 0; i < n; i++) o[i] = a[i] * a[i]; return; }
            if (v == 3.0f) { _Pragma("omp simd") for (int64_t i = 0; i < n; i++) o[i] = a[i] * a[i] * a[i]; return; }
            if (v == 1.0f) { memcpy(o, a, (size_t)n * 4); return; }
            if (v == 0.5f) { _Pragma("omp simd") for (int64_t i = 0; i < n; i++) o[i] = sqrtf(a[i]); return; }
            break;
        default: break;
        }
    }
    for (int64_t i = 0; i < n; i++) o[i * so] = bin_apply(c->op, a[i * sa], v);
}

void rt_k_binary_scalar_f32(rt_binop op, float *out, const int64_t *os, const float *a, const int64_t *as,
                            int ndim, const int64_t *shape, float s) {
    int64_t st[2][RT_MAXDIM];
    for (int i = 0; i < ndim; i++) { st[0][i] = os[i]; st[1][i] = as[i]; }
    char *base[2] = {(char *)out, (char *)a};
    size_t es[2] = {4, 4};
    scal_ctx c = {op, s};
    rt_k_foreach(ndim, shape, 2, base, (const int64_t (*)[RT_MAXDIM])st, es, bin_scalar_row, &c);
}

/* ---- generic (double) ---- */

static inline double ld(const char *p, rt_dtype dt) {
    switch (dt) {
    case RT_F32: return *(const float *)p;
    case RT_I32: return *(const int32_t *)p;
    case RT_I64: return (double)*(const int64_t *)p;
    case RT_BF16: return rt_bf16_to_f32(*(const uint16_t *)p);
    case RT_BOOL: return *(const uint8_t *)p != 0;
    default: return 0;
    }
}

static inline void stv(char *p, rt_dtype dt, double v) {
    switch (dt) {
    case RT_F32: *(float *)p = (float)v; break;
    case RT_I32: *(int32_t *)p = (int32_t)v; break;
    case RT_I64: *(int64_t *)p = (int64_t)v; break;
    case RT_BF16: *(uint16_t *)p = rt_f32_to_bf16((float)v); break;
    case RT_BOOL: *(uint8_t *)p = v != 0; break;
    default: break;
    }
}

typedef struct { int op; rt_dtype dt[3]; bool integer; } gen_ctx;

static double gen_apply(int op, double x, double y, bool integer) {
    switch ((rt_binop)op) {
    case RT_BIN_ADD: return x + y;
    case RT_BIN_SUB: return x - y;
    case RT_BIN_MUL: return x * y;
    case RT_BIN_DIV: return integer ? (y == 0 ? 0 : floor(x / y)) : x / y;
    case RT_BIN_POW: return pow(x, y);
    case RT_BIN_MAX: return x > y || x != x ? x : y;
    case RT_BIN_MIN: return x < y || x != x ? x : y;
    case RT_BIN_RSUB: return y - x;
    case RT_BIN_RDIV: return integer ? (x == 0 ? 0 : floor(y / x)) : y / x;
    case RT_BIN_RPOW: return pow(y, x);
    }
    return 0;
}

static void gen_row(void *ctx, char **p, const int64_t *s, int64_t n) {
    gen_ctx *c = ctx;
    size_t e0 = rt_dtype_size(c->dt[0]), e1 = rt_dtype_size(c->dt[1]), e2 = rt_dtype_size(c->dt[2]);
    for (int64_t i = 0; i < n; i++)
        stv(p[0] + i * s[0] * (int64_t)e0, c->dt[0],
            gen_apply(c->op, ld(p[1] + i * s[1] * (int64_t)e1, c->dt[1]), ld(p[2] + i * s[2] * (int64_t)e2, c->dt[2]),
                      c->integer));
}

void rt_k_binary_generic(rt_binop op, void *out, rt_dtype odt, const int64_t *os, const void *a, rt_dtype adt,
                         const int64_t *as, const void *b, rt_dtype bdt, const int64_t *bs, int ndim,
                         const int64_t *shape) {
    int64_t st[3][RT_MAXDIM];
    for (int i = 0; i < ndim; i++) { st[0][i] = os[i]; st[1][i] = as[i]; st[2][i] = bs[i]; }
    char *base[3] = {(char *)out, (char *)a, (char *)b};
    size_t es[3] = {rt_dtype_size(odt), rt_dtype_size(adt), rt_dtype_size(bdt)};
    gen_ctx c = {op, {odt, adt, bdt}, odt == RT_I32 || odt == RT_I64 || odt == RT_BOOL};
    rt_k_foreach(ndim, shape, 3, base, (const int64_t (*)[RT_MAXDIM])st, es, gen_row, &c);
}

/* ---- unary ---- */

void rt_k_unary_f32(int kind, float *out, const float *a, int64_t n) {
    switch (kind) {
    case K_NEG: _Pragma("omp simd") for (int64_t i = 0; i < n; i++) out[i] = -a[i]; break;
    case K_EXP: _Pragma("omp simd") for (int64_t i = 0; i < n; i++) out[i] = rt_vexp(a[i]); break;
    case K_LOG: for (int64_t i = 0; i < n; i++) out[i] = logf(a[i]); break;
    case K_SQRT: _Pragma("omp simd") for (int64_t i = 0; i < n; i++) out[i] = sqrtf(a[i]); break;
    case K_RSQRT: _Pragma("omp simd") for (int64_t i = 0; i < n; i++) out[i] = 1.0f / sqrtf(a[i]); break;
    case K_ABS: _Pragma("omp simd") for (int64_t i = 0; i < n; i++) out[i] = fabsf(a[i]); break;
    case K_TANH: _Pragma("omp simd") for (int64_t i = 0; i < n; i++) out[i] = rt_vtanh(a[i]); break;
    case K_SIGMOID: _Pragma("omp simd") for (int64_t i = 0; i < n; i++) out[i] = rt_vsigmoid(a[i]); break;
    case K_RELU: _Pragma("omp simd") for (int64_t i = 0; i < n; i++) out[i] = a[i] > 0 ? a[i] : (a[i] != a[i] ? a[i] : 0.0f); break;
    case K_GELU: {
        int64_t i = 0;
#ifdef RT_HAVE_GELU_AVX2
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(out + i, rt_gelu8(_mm256_loadu_ps(a + i)));
#endif
        for (; i < n; i++) out[i] = rt_vgelu(a[i]);
        break;
    }
    case K_GELU_TANH: _Pragma("omp simd") for (int64_t i = 0; i < n; i++) out[i] = rt_vgelu_tanh(a[i]); break;
    case K_FLOOR: _Pragma("omp simd") for (int64_t i = 0; i < n; i++) out[i] = floorf(a[i]); break;
    case K_CEIL: _Pragma("omp simd") for (int64_t i = 0; i < n; i++) out[i] = ceilf(a[i]); break;
    case K_ROUND: for (int64_t i = 0; i < n; i++) out[i] = nearbyintf(a[i]); break;
    case K_SIGN: _Pragma("omp simd") for (int64_t i = 0; i < n; i++) out[i] = (float)((a[i] > 0) - (a[i] < 0)); break;
    default: break;
    }
}

void rt_k_unary_f32_par(int kind, float *out, const float *a, int64_t n) {
    if (n < RT_PAR_MIN || omp_get_max_threads() == 1) { rt_k_unary_f32(kind, out, a, n); return; }
    #pragma omp parallel
    {
        int nt = omp_get_num_threads(), id = omp_get_thread_num();
        int64_t per = ((n + nt - 1) / nt + 15) & ~(int64_t)15;
        int64_t lo = id * per, hi = lo + per < n ? lo + per : n;
        if (hi > lo) rt_k_unary_f32(kind, out + lo, a + lo, hi - lo);
    }
}

static void unary_row(void *ctx, char **p, const int64_t *s, int64_t n) {
    int kind = *(int *)ctx;
    float *o = (float *)p[0];
    const float *a = (const float *)p[1];
    if (s[0] == 1 && s[1] == 1) { rt_k_unary_f32(kind, o, a, n); return; }
    float buf[256];
    for (int64_t i0 = 0; i0 < n; i0 += 256) {
        int64_t m = n - i0 < 256 ? n - i0 : 256;
        for (int64_t i = 0; i < m; i++) buf[i] = a[(i0 + i) * s[1]];
        rt_k_unary_f32(kind, buf, buf, m);
        for (int64_t i = 0; i < m; i++) o[(i0 + i) * s[0]] = buf[i];
    }
}

void rt_k_unary_f32_strided(int kind, float *out, const int64_t *os, const float *a, const int64_t *as, int ndim,
                            const int64_t *shape) {
    int64_t st[2][RT_MAXDIM];
    for (int i = 0; i < ndim; i++) { st[0][i] = os[i]; st[1][i] = as[i]; }
    char *base[2] = {(char *)out, (char *)a};
    size_t es[2] = {4, 4};
    rt_k_foreach(ndim, shape, 2, base, (const int64_t (*)[RT_MAXDIM])st, es, unary_row, &kind);
}

void rt_k_unary_f32_bwd(int kind, float *restrict gi, const float *go, const float *x, const float *y, int64_t n) {
    #pragma omp parallel if (n >= RT_PAR_MIN)
    {
        int nt = omp_get_num_threads(), id = omp_get_thread_num();
        int64_t per = ((n + nt - 1) / nt + 15) & ~(int64_t)15;
        int64_t lo = id * per, hi = lo + per < n ? lo + per : n;
        switch (kind) {
        case K_NEG: _Pragma("omp simd") for (int64_t i = lo; i < hi; i++) gi[i] = -go[i]; break;
        case K_EXP: _Pragma("omp simd") for (int64_t i = lo; i < hi; i++) gi[i] = go[i] * y[i]; break;
        case K_LOG: _Pragma("omp simd") for (int64_t i = lo; i < hi; i++) gi[i] = go[i] / x[i]; break;
        case K_SQRT: _Pragma("omp simd") for (int64_t i = lo; i < hi; i++) gi[i] = go[i] * 0.5f / y[i]; break;
        case K_RSQRT: _Pragma("omp simd") for (int64_t i = lo; i < hi; i++) gi[i] = go[i] * -0.5f * y[i] * y[i] * y[i]; break;
        case K_ABS: _Pragma("omp simd") for (int64_t i = lo; i < hi; i++) gi[i] = go[i] * (float)((x[i] > 0) - (x[i] < 0)); break;
        case K_TANH: _Pragma("omp simd") for (int64_t i = lo; i < hi; i++) gi[i] = go[i] * (1.0f - y[i] * y[i]); break;
        case K_SIGMOID: _Pragma("omp simd") for (int64_t i = lo; i < hi; i++) gi[i] = go[i] * y[i] * (1.0f - y[i]); break;
        case K_RELU: _Pragma("omp simd") for (int64_t i = lo; i < hi; i++) gi[i] = x[i] > 0 ? go[i] : 0.0f; break;
        case K_GELU:
#ifdef RT_HAVE_GELU_AVX2
            for (; lo + 8 <= hi; lo += 8)
                _mm256_storeu_ps(gi + lo, _mm256_mul_ps(_mm256_loadu_ps(go + lo), rt_gelu8_grad(_mm256_loadu_ps(x + lo))));
#endif
            _Pragma("omp simd") for (int64_t i = lo; i < hi; i++) {
                float v = x[i];
                float cdf = 0.5f * (1.0f + rt_verf(v * RT_SQRT1_2));
                float pdf = 0.3989422804014327f * rt_vexp(-0.5f * v * v);
                gi[i] = go[i] * (cdf + v * pdf);
            }
            break;
        case K_GELU_TANH:
            _Pragma("omp simd") for (int64_t i = lo; i < hi; i++) {
                float v = x[i];
                float t = rt_vtanh(RT_SQRT_2_PI * (v + 0.044715f * v * v * v));
                float d = 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * RT_SQRT_2_PI * (1.0f + 3.0f * 0.044715f * v * v);
                gi[i] = go[i] * d;
            }
            break;
        default: for (int64_t i = lo; i < hi; i++) gi[i] = 0.0f; break;
        }
    }
}

/* ---- comparisons, where, clamp ---- */

typedef struct { int kind; rt_dtype adt, bdt; } cmp_ctx;

static void cmp_row(void *ctx, char **p, const int64_t *s, int64_t n) {
    cmp_ctx *c = ctx;
    uint8_t *o = (uint8_t *)p[0];
    size_t ea = rt_dtype_size(c->adt), eb = rt_dtype_size(c->bdt);
    if (c->adt == RT_F32 && c->bdt == RT_F32) {
        const float *a = (const float *)p[1], *b = (const float *)p[2];
        for (int64_t i = 0; i < n; i++) {
            float x = a[i * s[1]], y = b[i * s[2]];
            uint8_t r = 0;
            switch (c->kind) {
            case 0: r = x == y; break; case 1: r = x != y; break; case 2: r = x < y; break;
            case 3: r = x <= y; break; case 4: r = x > y; break; case 5: r = x >= y; break;
            }
            o[i * s[0]] = r;
        }
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        double x = ld(p[1] + i * s[1] * (int64_t)ea, c->adt), y = ld(p[2] + i * s[2] * (int64_t)eb, c->bdt);
        uint8_t r = 0;
        switch (c->kind) {
        case 0: r = x == y; break; case 1: r = x != y; break; case 2: r = x < y; break;
        case 3: r = x <= y; break; case 4: r = x > y; break; case 5: r = x >= y; break;
        }
        o[i * s[0]] = r;
    }
}

void rt_k_compare(int kind, uint8_t *out, const int64_t *os, const void *a, rt_dtype adt,
                  const int64_t *as, const void *b, rt_dtype bdt, const int64_t *bs, int ndim,
                  const int64_t *shape) {
    int64_t st[3][RT_MAXDIM];
    for (int i = 0; i < ndim; i++) { st[0][i] = os[i]; st[1][i] = as[i]; st[2][i] = bs[i]; }
    char *base[3] = {(char *)out, (char *)a, (char *)b};
    size_t es[3] = {1, rt_dtype_size(adt), rt_dtype_size(bdt)};
    cmp_ctx c = {kind, adt, bdt};
    rt_k_foreach(ndim, shape, 3, base, (const int64_t (*)[RT_MAXDIM])st, es, cmp_row, &c);
}

typedef struct { rt_dtype dt, cdt; } where_ctx;

static void where_row(void *ctx, char **p, const int64_t *s, int64_t n) {
    where_ctx *c = ctx;
    size_t e = rt_dtype_size(c->dt), ec = rt_dtype_size(c->cdt);
    if (c->dt == RT_F32 && c->cdt == RT_BOOL) {
        float *o = (float *)p[0];
        const uint8_t *m = (const uint8_t *)p[1];
        const float *a = (const float *)p[2], *b = (const float *)p[3];
        for (int64_t i = 0; i < n; i++) o[i * s[0]] = m[i * s[1]] ? a[i * s[2]] : b[i * s[3]];
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        bool m = ld(p[1] + i * s[1] * (int64_t)ec, c->cdt) != 0;
        memcpy(p[0] + i * s[0] * (int64_t)e, m ? p[2] + i * s[2] * (int64_t)e : p[3] + i * s[3] * (int64_t)e, e);
    }
}

void rt_k_where(void *out, const int64_t *os, rt_dtype dt, const void *cond, rt_dtype cdt,
                const int64_t *cs, const void *a, const int64_t *as, const void *b, const int64_t *bs,
                int ndim, const int64_t *shape) {
    int64_t st[4][RT_MAXDIM];
    for (int i = 0; i < ndim; i++) { st[0][i] = os[i]; st[1][i] = cs[i]; st[2][i] = as[i]; st[3][i] = bs[i]; }
    char *base[4] = {(char *)out, (char *)cond, (char *)a, (char *)b};
    size_t es[4] = {rt_dtype_size(dt), rt_dtype_size(cdt), rt_dtype_size(dt), rt_dtype_size(dt)};
    where_ctx c = {dt, cdt};
    rt_k_foreach(ndim, shape, 4, base, (const int64_t (*)[RT_MAXDIM])st, es, where_row, &c);
}

void rt_k_clamp_f32(float *restrict out, const float *a, int64_t n, float lo, float hi) {
    if (lo != lo) lo = -INFINITY;
    if (hi != hi) hi = INFINITY;
    #pragma omp parallel for simd schedule(static) if (n >= RT_PAR_MIN)
    for (int64_t i = 0; i < n; i++) {
        float x = a[i];
        out[i] = x < lo ? lo : (x > hi ? hi : x);
    }
}

void rt_k_acc_f32(float *restrict y, const float *x, int64_t n) {
    #pragma omp parallel for simd schedule(static) if (n > 131072)
    for (int64_t i = 0; i < n; i++) y[i] += x[i];
}

void rt_k_add_rows_f32(float *y, const float *b, int64_t rows, int64_t n) {
#pragma omp parallel for schedule(static) if (rows * n > 65536)
    for (int64_t r = 0; r < rows; r++) {
        float *o = y + r * n;
#pragma omp simd
        for (int64_t c = 0; c < n; c++) o[c] += b[c];
    }
}

void rt_k_cat_bytes(char *out, const char *const *in, const int64_t *chunk, int n, int64_t outer) {
    int64_t row = 0;
    for (int k = 0; k < n; k++) row += chunk[k];
#pragma omp parallel for schedule(static) if (outer * row > 4 * RT_PAR_MIN && outer > 1)
    for (int64_t o = 0; o < outer; o++) {
        char *d = out + o * row;
        for (int k = 0; k < n; k++) {
            if (chunk[k]) memcpy(d, in[k] + o * chunk[k], (size_t)chunk[k]);
            d += chunk[k];
        }
    }
}
