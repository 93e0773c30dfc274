/* fused.c — serial epilogues and per-head attention for the inference path
 * (fused.h). The arithmetic follows the separate kernels of the training path
 * (norm.c, softmax.c, attention.c) so both paths agree to float rounding. */
#include "fused.h"

#include <math.h>
#include "elementwise.h"
#include "gemm.h"
#include "vmath.h"

void rt_k_bias_act_rows(int kind, float *y, int64_t ldy, const float *b, int64_t M, int64_t n) {
    for (int64_t m = 0; m < M; m++) {
        float *r = y + m * ldy;
#pragma omp simd
        for (int64_t j = 0; j < n; j++) r[j] += b[j];
        if (kind >= 0) rt_k_unary_f32(kind, r, r, n);
    }
}

void rt_k_bias_res_ln_rows(float *y, const float *x, const float *bias, const float *res, const float *w,
                           const float *lb, int64_t rows, int64_t n, float eps) {
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * n, *rr = res + r * n;
        float *yr = y + r * n;
        float s = 0.0f;
#pragma omp simd reduction(+ : s)
        for (int64_t j = 0; j < n; j++) { float t = (xr[j] + bias[j]) + rr[j]; yr[j] = t; s += t; }
        float mu = s / (float)n, v = 0.0f;
#pragma omp simd reduction(+ : v)
        for (int64_t j = 0; j < n; j++) { float d = yr[j] - mu; v += d * d; }
        float rs = 1.0f / sqrtf(v / (float)n + eps);
#pragma omp simd
        for (int64_t j = 0; j < n; j++) yr[j] = (yr[j] - mu) * rs * w[j] + lb[j];
    }
}

static void softmax_row(float *y, int64_t n) {
    float m = rt_vmax(y, n);
    if (m == -INFINITY) m = 0.0f;
    double s = rt_vexp_sum(y, m, y, n);
    float inv = (float)(1.0 / s);
#pragma omp simd
    for (int64_t j = 0; j < n; j++) y[j] *= inv;
}

void rt_k_attn_head(float *ctx, int64_t ldc, const float *q, const float *k, const float *v, int64_t ld,
                    const float *mask, const float *rel, int64_t S, int64_t d, float scale, float *sc) {
    rt_sgemm_serial(false, true, S, S, d, scale, q, ld, k, ld, 0.0f, sc, S);
    for (int64_t i = 0; i < S; i++) {
        float *o = sc + i * S;
        if (rel) {   /* o[j] += scale * q[i]·rel[i][j] */
            const float *qi = q + i * ld, *ri = rel + i * S * d;
            for (int64_t j = 0; j < S; j++) {
                float t = 0.0f;
#pragma omp simd reduction(+ : t)
                for (int64_t c = 0; c < d; c++) t += qi[c] * ri[j * d + c];
                o[j] += scale * t;
            }
        }
        if (mask) {
#pragma omp simd
            for (int64_t j = 0; j < S; j++) o[j] += mask[j];
        }
        softmax_row(o, S);
    }
    rt_sgemm_serial(false, false, S, d, S, 1.0f, sc, S, v, ld, 0.0f, ctx, ldc);
    if (rel)   /* ctx[i] += Σ_j p[i][j] rel[i][j] */
        for (int64_t i = 0; i < S; i++) {
            const float *pi = sc + i * S, *ri = rel + i * S * d;
            float *ci = ctx + i * ldc;
            for (int64_t j = 0; j < S; j++) {
                float pj = pi[j];
#pragma omp simd
                for (int64_t c = 0; c < d; c++) ci[c] += pj * ri[j * d + c];
            }
        }
}
