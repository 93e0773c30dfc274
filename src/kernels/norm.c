/* norm.c — layer normalisation over the last n elements of each row:
 * y = (x - mean) * rstd * w + b, rstd = 1/sqrt(var + eps), biased variance. */
#include "nn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>

void rt_k_layer_norm(float *y, float *mean, float *rstd, const float *x, const float *w, const float *b,
                     int64_t rows, int64_t n, float eps) {
#pragma omp parallel for schedule(static) if (rows * n > 8192)
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * n;
        float *yr = y + r * n;
        float s = 0.0f;
#pragma omp simd reduction(+ : s)
        for (int64_t j = 0; j < n; j++) s += xr[j];
        float mu = s / (float)n, v = 0.0f;
#pragma omp simd reduction(+ : v)
        for (int64_t j = 0; j < n; j++) { float d = xr[j] - mu; v += d * d; }
        float rs = 1.0f / sqrtf(v / (float)n + eps);
        if (mean) mean[r] = mu;
        if (rstd) rstd[r] = rs;
        if (w && b) {
#pragma omp simd
            for (int64_t j = 0; j < n; j++) yr[j] = (xr[j] - mu) * rs * w[j] + b[j];
        } else if (w) {
#pragma omp simd
            for (int64_t j = 0; j < n; j++) yr[j] = (xr[j] - mu) * rs * w[j];
        } else if (b) {
#pragma omp simd
            for (int64_t j = 0; j < n; j++) yr[j] = (xr[j] - mu) * rs + b[j];
        } else {
#pragma omp simd
            for (int64_t j = 0; j < n; j++) yr[j] = (xr[j] - mu) * rs;
        }
    }
}

rt_status rt_k_layer_norm_bwd(float *gx, float *gw, float *gb, const float *gy, const float *x, const float *w,
                              const float *mean, const float *rstd, int64_t rows, int64_t n) {
    int nt = omp_get_max_threads();
    bool params = gw || gb;
    /* per-thread partial sums for gw and gb: [nt][2][n] */
    float *part = NULL;
    if (params) {
        part = calloc((size_t)nt * 2 * (size_t)n, sizeof(float));
        if (!part) return rt_errorf(RT_ENOMEM, "layer_norm backward: out of memory (%s:%d)", __FILE__, __LINE__);
    }
#pragma omp parallel num_threads(nt) if (rows * n > 8192)
    {
        int tid = omp_get_thread_num();
        float *pw = params ? part + (size_t)tid * 2 * (size_t)n : NULL;
        float *pb = params ? pw + n : NULL;
#pragma omp for schedule(static)
        for (int64_t r = 0; r < rows; r++) {
            const float *xr = x + r * n, *gr = gy + r * n;
            float mu = mean[r], rs = rstd[r];
            if (params) {
#pragma omp simd
                for (int64_t j = 0; j < n; j++) {
                    pw[j] += gr[j] * (xr[j] - mu) * rs;
                    pb[j] += gr[j];
                }
            }
            if (!gx) continue;
            float a = 0.0f, c = 0.0f;   /* a = Σ g·w, c = Σ g·w·xhat */
            if (w) {
#pragma omp simd reduction(+ : a, c)
                for (int64_t j = 0; j < n; j++) {
                    float gh = gr[j] * w[j];
                    a += gh; c += gh * (xr[j] - mu) * rs;
                }
            } else {
#pragma omp simd reduction(+ : a, c)
                for (int64_t j = 0; j < n; j++) { a += gr[j]; c += gr[j] * (xr[j] - mu) * rs; }
            }
            a /= (float)n; c /= (float)n;
            float *o = gx + r * n;
            if (w) {
#pragma omp simd
                for (int64_t j = 0; j < n; j++)
                    o[j] = rs * (gr[j] * w[j] - a - (xr[j] - mu) * rs * c);
            } else {
#pragma omp simd
                for (int64_t j = 0; j < n; j++) o[j] = rs * (gr[j] - a - (xr[j] - mu) * rs * c);
            }
        }
    }
    if (params) {
        for (int64_t j = 0; j < n; j++) {
            float sw = 0.0f, sb = 0.0f;
            for (int t = 0; t < nt; t++) { sw += part[(size_t)t * 2 * n + j]; sb += part[(size_t)t * 2 * n + n + j]; }
            if (gw) gw[j] = sw;
            if (gb) gb[j] = sb;
        }
        free(part);
    }
    return RT_OK;
}
