/* softmax.c — numerically stable softmax / log_softmax over one dim of a
 * contiguous [outer, n, inner] array, and their fused backward. */
#include "nn.h"
#include "vmath.h"

#include <math.h>
#include <stdlib.h>

/* One contiguous row of n. */
static void softmax_row(const float *x, float *y, int64_t n, bool log) {
    float m = rt_vmax(x, n);
    if (m == -INFINITY) m = 0.0f;               /* all -inf: produce NaN like torch */
    if (log) {
        double s = rt_vexp_sum(x, m, NULL, n);
        float sub = m + (float)logf((float)s);
#pragma omp simd
        for (int64_t j = 0; j < n; j++) y[j] = x[j] - sub;
    } else {
        double s = rt_vexp_sum(x, m, y, n);
        float inv = (float)(1.0 / s);
#pragma omp simd
        for (int64_t j = 0; j < n; j++) y[j] *= inv;
    }
}

/* Strided slice: n elements at stride `inner`, vectorised across `w` columns. */
static void softmax_cols(const float *x, float *y, int64_t n, int64_t inner, int64_t w, bool log) {
    float mx[64], sm[64];
    for (int64_t c = 0; c < w; c++) mx[c] = -INFINITY, sm[c] = 0.0f;
    for (int64_t j = 0; j < n; j++) {
        const float *r = x + j * inner;
        for (int64_t c = 0; c < w; c++) mx[c] = r[c] > mx[c] ? r[c] : mx[c];
    }
    for (int64_t c = 0; c < w; c++) if (mx[c] == -INFINITY) mx[c] = 0.0f;
    for (int64_t j = 0; j < n; j++) {
        const float *r = x + j * inner;
        float *o = y + j * inner;
        for (int64_t c = 0; c < w; c++) { float e = expf(r[c] - mx[c]); sm[c] += e; if (!log) o[c] = e; }
    }
    for (int64_t c = 0; c < w; c++) sm[c] = log ? mx[c] + logf(sm[c]) : 1.0f / sm[c];
    for (int64_t j = 0; j < n; j++) {
        const float *r = x + j * inner;
        float *o = y + j * inner;
        if (log) for (int64_t c = 0; c < w; c++) o[c] = r[c] - sm[c];
        else for (int64_t c = 0; c < w; c++) o[c] *= sm[c];
    }
}

void rt_k_softmax(float *y, const float *x, int64_t outer, int64_t n, int64_t inner, bool log) {
    if (n == 0) return;
    if (inner == 1) {
#pragma omp parallel for schedule(static) if (outer * n > 4096)
        for (int64_t r = 0; r < outer; r++) softmax_row(x + r * n, y + r * n, n, log);
        return;
    }
    int64_t nblk = (inner + 63) / 64;
#pragma omp parallel for schedule(static) if (outer * n * inner > 4096)
    for (int64_t t = 0; t < outer * nblk; t++) {
        int64_t o = t / nblk, c0 = (t % nblk) * 64;
        int64_t w = inner - c0 < 64 ? inner - c0 : 64;
        softmax_cols(x + o * n * inner + c0, y + o * n * inner + c0, n, inner, w, log);
    }
}

static void softmax_bwd_row(const float *y, const float *gy, float *gx, int64_t n, bool log) {
    if (log) {
        float s = 0.0f;
#pragma omp simd reduction(+ : s)
        for (int64_t j = 0; j < n; j++) s += gy[j];
        float e[256];
        for (int64_t j0 = 0; j0 < n; j0 += 256) {
            int64_t w = n - j0 < 256 ? n - j0 : 256;
            rt_vexp_sum(y + j0, 0.0f, e, w);   /* e = exp(y) */
#pragma omp simd
            for (int64_t j = 0; j < w; j++) gx[j0 + j] = gy[j0 + j] - e[j] * s;
        }
    } else {
        float s = 0.0f;
#pragma omp simd reduction(+ : s)
        for (int64_t j = 0; j < n; j++) s += gy[j] * y[j];
#pragma omp simd
        for (int64_t j = 0; j < n; j++) gx[j] = y[j] * (gy[j] - s);
    }
}

void rt_k_softmax_bwd(float *gx, const float *y, const float *gy, int64_t outer, int64_t n, int64_t inner,
                      bool log) {
    if (n == 0) return;
    if (inner == 1) {
#pragma omp parallel for schedule(static) if (outer * n > 4096)
        for (int64_t r = 0; r < outer; r++)
            softmax_bwd_row(y + r * n, gy + r * n, gx + r * n, n, log);
        return;
    }
    int64_t nblk = (inner + 63) / 64;
#pragma omp parallel for schedule(static) if (outer * n * inner > 4096)
    for (int64_t t = 0; t < outer * nblk; t++) {
        int64_t o = t / nblk, c0 = (t % nblk) * 64;
        int64_t w = inner - c0 < 64 ? inner - c0 : 64;
        const float *yy = y + o * n * inner + c0, *gg = gy + o * n * inner + c0;
        float *out = gx + o * n * inner + c0;
        float s[64];
        for (int64_t c = 0; c < w; c++) s[c] = 0.0f;
        for (int64_t j = 0; j < n; j++)
            for (int64_t c = 0; c < w; c++)
                s[c] += log ? gg[j * inner + c] : gg[j * inner + c] * yy[j * inner + c];
        for (int64_t j = 0; j < n; j++)
            for (int64_t c = 0; c < w; c++) {
                int64_t k = j * inner + c;
                out[k] = log ? gg[k] - expf(yy[k]) * s[c] : yy[k] * (gg[k] - s[c]);
            }
    }
}
