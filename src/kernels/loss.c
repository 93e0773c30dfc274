/* loss.c — cross-entropy (fused log-softmax + NLL, ignore_index) and the
 * TinyBERT soft cross-entropy over rows of C logits, and the elementwise mse and
 * kl_div losses; forward and backward. */
#include "nn.h"
#include "vmath.h"

#include <math.h>
#include <stdlib.h>

int64_t rt_k_cross_entropy(float *loss, float *lse, double *sum, const float *logits, const int64_t *labels,
                           int64_t N, int64_t C, int64_t ignore) {
    for (int64_t r = 0; r < N; r++) {
        int64_t y = labels[r];
        if (y != ignore && (y < 0 || y >= C)) {
            rt_errorf(RT_EINDEX, "cross_entropy: label %lld at row %lld is outside [0, %lld) "
                      "(ignore_index %lld)", (long long)y, (long long)r, (long long)C,
                      (long long)ignore);
            return -1;
        }
    }
    int64_t count = 0;
#pragma omp parallel for schedule(static) reduction(+ : count) if (N * C > 8192)
    for (int64_t r = 0; r < N; r++) {
        const float *x = logits + r * C;
        float m = rt_vmax(x, C);
        float l = m + logf((float)rt_vexp_sum(x, m, NULL, C));
        lse[r] = l;
        int64_t y = labels[r];
        if (y == ignore) { loss[r] = 0.0f; continue; }
        loss[r] = l - x[y];
        count++;
    }
    if (sum) {   /* in row order, so the total does not depend on the thread count */
        double s = 0;
        for (int64_t r = 0; r < N; r++) s += loss[r];
        *sum = s;
    }
    return count;
}

void rt_k_cross_entropy_bwd(float *gx, const float *gscale, int64_t gstride, const float *logits, const float *lse,
                            const int64_t *labels, int64_t N, int64_t C, int64_t ignore) {
#pragma omp parallel for schedule(static) if (N * C > 8192)
    for (int64_t r = 0; r < N; r++) {
        float *g = gx + r * C;
        int64_t y = labels[r];
        if (y == ignore) {
            for (int64_t j = 0; j < C; j++) g[j] = 0.0f;
            continue;
        }
        float s = gscale[r * gstride];
        rt_vexp_sum(logits + r * C, lse[r], g, C);     /* g = softmax */
#pragma omp simd
        for (int64_t j = 0; j < C; j++) g[j] *= s;
        g[y] -= s;
    }
}

/* q = softmax(x / T) into out (one row). */
static void softmax_T(const float *x, float *out, int64_t C, float invT) {
    float m = -INFINITY;
    for (int64_t j = 0; j < C; j++) { out[j] = x[j] * invT; m = out[j] > m ? out[j] : m; }
    double s = rt_vexp_sum(out, m, out, C);
    float inv = (float)(1.0 / s);
    for (int64_t j = 0; j < C; j++) out[j] *= inv;
}

double rt_k_soft_cross_entropy(const float *s, const float *t, int64_t N, int64_t C, double T) {
    float invT = (float)(1.0 / T);
    double total = 0.0;
#pragma omp parallel reduction(+ : total) if (N * C > 8192)
    {
        float *pt = malloc((size_t)C * sizeof(float));
        float *ls = malloc((size_t)C * sizeof(float));
#pragma omp for schedule(static)
        for (int64_t r = 0; r < N; r++) {
            if (!pt || !ls) { total = NAN; continue; }
            softmax_T(t + r * C, pt, C, invT);
            const float *x = s + r * C;
            float m = -INFINITY;
            for (int64_t j = 0; j < C; j++) { ls[j] = x[j] * invT; m = ls[j] > m ? ls[j] : m; }
            float l = m + logf((float)rt_vexp_sum(ls, m, NULL, C));
            double acc = 0.0;
            for (int64_t j = 0; j < C; j++) acc += (double)pt[j] * (double)(ls[j] - l);
            total += -acc;
        }
        free(pt); free(ls);
    }
    return total / ((double)N * (double)C);
}

void rt_k_soft_cross_entropy_bwd(float *gs, const float *s, const float *t, int64_t N, int64_t C, double T, float g) {
    float invT = (float)(1.0 / T);
    float k = (float)((double)g / (T * (double)N * (double)C));
#pragma omp parallel if (N * C > 8192)
    {
        float *pt = malloc((size_t)C * sizeof(float));
#pragma omp for schedule(static)
        for (int64_t r = 0; r < N; r++) {
            float *o = gs + r * C;
            softmax_T(s + r * C, o, C, invT);
            if (pt) softmax_T(t + r * C, pt, C, invT);
            for (int64_t j = 0; j < C; j++) o[j] = pt ? k * (o[j] - pt[j]) : NAN;
        }
        free(pt);
    }
}

/* ---- mse ---- */
void rt_k_mse(float *out, const float *a, const float *b, int64_t n) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) out[i] = (a[i] - b[i]) * (a[i] - b[i]);
}

double rt_k_mse_sum(const float *a, const float *b, int64_t n) {
    double s = 0;
#pragma omp parallel for reduction(+ : s) schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) s += (double)(a[i] - b[i]) * (double)(a[i] - b[i]);
    return s;
}

void rt_k_mse_bwd(float *ga, float *gb, const float *a, const float *b, const float *g, int64_t n, float k) {
#pragma omp parallel for simd schedule(static) if (n > 65536)
    for (int64_t i = 0; i < n; i++) {
        float d = k * (a[i] - b[i]) * (g ? g[i] : 1.0f);
        if (ga) ga[i] = d;
        if (gb) gb[i] = -d;
    }
}

/* ---- kl_div (log_target = False) ---- */
void rt_k_kl_div(float *out, const float *logp, const float *t, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = t[i] > 0 ? t[i] * (logf(t[i]) - logp[i]) : 0.0f;
}

double rt_k_kl_div_sum(const float *logp, const float *t, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) if (t[i] > 0) s += (double)t[i] * (log((double)t[i]) - logp[i]);
    return s;
}

void rt_k_kl_div_bwd(float *gx, float *gt, const float *logp, const float *t, const float *g, int64_t n, float k) {
    for (int64_t i = 0; i < n; i++) {
        float s = g ? g[i] : k;
        if (gx) gx[i] = -t[i] * s;
        if (gt) gt[i] = t[i] > 0 ? (logf(t[i]) + 1.0f - logp[i]) * s : 0.0f;
    }
}
