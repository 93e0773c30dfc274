/* optim.c — optimizer kernels (see optim.h). Plain float loops the compiler
 * vectorises; OpenMP splits tensors larger than PAR_MIN elements. The operation
 * order follows the reference implementations so that results agree to float
 * rounding (tests/lua/test_golden_optim.lua). */
#include <math.h>
#include "optim.h"

#define PAR_MIN 32768

void rt_k_adamw(float *w, const float *g, float *m, float *v, int64_t n, const rt_adam_hp *hp) {
    const double bc1 = 1.0 - pow(hp->beta1, (double)hp->step);
    const double bc2 = 1.0 - pow(hp->beta2, (double)hp->step);
    const float decay = (float)(1.0 - hp->lr * hp->weight_decay);
    const float b1 = (float)hp->beta1, b2 = (float)hp->beta2;
    const float c1 = (float)(1.0 - hp->beta1), c2 = (float)(1.0 - hp->beta2);
    const float step_size = (float)(-(hp->lr / bc1));
    const float bc2s = (float)sqrt(bc2), eps = (float)hp->eps, gs = (float)hp->grad_scale;
    const int wd = hp->weight_decay != 0.0, scaled = hp->grad_scale != 1.0;
#pragma omp parallel for simd if (n > PAR_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float gi = scaled ? g[i] * gs : g[i];
        float wi = wd ? w[i] * decay : w[i];
        float mi = m[i] * b1 + c1 * gi;
        float vi = v[i] * b2 + c2 * gi * gi;
        float den = sqrtf(vi) / bc2s + eps;
        m[i] = mi; v[i] = vi;
        w[i] = wi + step_size * mi / den;
    }
}

void rt_k_adam_wd(float *w, const float *g, float *m, float *v, int64_t n, const rt_adam_hp *hp) {
    const float b1 = (float)hp->beta1, b2 = (float)hp->beta2;
    const float c1 = (float)(1.0 - hp->beta1), c2 = (float)(1.0 - hp->beta2);
    const float lr = (float)hp->lr, eps = (float)hp->eps, wd = (float)hp->weight_decay;
    const float gs = (float)hp->grad_scale;
    const int scaled = hp->grad_scale != 1.0;
#pragma omp parallel for simd if (n > PAR_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float gi = scaled ? g[i] * gs : g[i];
        float mi = m[i] * b1 + c1 * gi;
        float vi = v[i] * b2 + c2 * gi * gi;
        float u = mi / (sqrtf(vi) + eps);
        u = u + wd * w[i];
        m[i] = mi; v[i] = vi;
        w[i] = w[i] - lr * u;
    }
}

void rt_k_lamb_moments(const float *w, const float *g, float *m, float *v, int64_t n,
                       const rt_adam_hp *hp, double decay_r, double sums[3]) {
    const float b1 = (float)hp->beta1, b2 = (float)hp->beta2;
    const float c1 = (float)(1.0 - hp->beta1), c2 = (float)(1.0 - hp->beta2);
    const float ibc1 = (float)(1.0 / (1.0 - pow(hp->beta1, (double)hp->step)));
    const float ibc2 = (float)(1.0 / (1.0 - pow(hp->beta2, (double)hp->step)));
    const float eps = (float)hp->eps, dr = (float)decay_r, gs = (float)hp->grad_scale;
    const int scaled = hp->grad_scale != 1.0;
    double sw = 0, sr = 0, sg = 0;
#pragma omp parallel for simd if (n > PAR_MIN) schedule(static) reduction(+ : sw, sr, sg)
    for (int64_t i = 0; i < n; i++) {
        float gi = scaled ? g[i] * gs : g[i];
        float mi = m[i] * b1 + c1 * gi;
        float vi = v[i] * b2 + c2 * gi * gi;
        m[i] = mi; v[i] = vi;
        float r = (mi * ibc1) / sqrtf(vi * ibc2 + eps) + dr * w[i];
        sw += (double)w[i] * w[i];
        sr += (double)r * r;
        sg += (double)gi * gi;
    }
    sums[0] = sw; sums[1] = sr; sums[2] = sg;
}

void rt_k_lamb_apply(float *w, const float *m, const float *v, int64_t n,
                     const rt_adam_hp *hp, double ratio) {
    const float ibc1 = (float)(1.0 / (1.0 - pow(hp->beta1, (double)hp->step)));
    const float ibc2 = (float)(1.0 / (1.0 - pow(hp->beta2, (double)hp->step)));
    const float eps = (float)hp->eps, wd = (float)hp->weight_decay;
    const float k = (float)(ratio * hp->lr);
#pragma omp parallel for simd if (n > PAR_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++) {
        float u = (m[i] * ibc1) / (sqrtf(v[i] * ibc2) + eps) + wd * w[i];
        w[i] = w[i] - k * u;
    }
}

double rt_k_sumsq(const float *x, int64_t n) {
    double s = 0;
#pragma omp parallel for simd if (n > PAR_MIN) schedule(static) reduction(+ : s)
    for (int64_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    return s;
}

void rt_k_scale(float *x, int64_t n, float s) {
#pragma omp parallel for simd if (n > PAR_MIN) schedule(static)
    for (int64_t i = 0; i < n; i++) x[i] *= s;
}

int64_t rt_k_nonfinite(const float *x, int64_t n) {
    int64_t c = 0;
#pragma omp parallel for if (n > PAR_MIN) schedule(static) reduction(+ : c)
    for (int64_t i = 0; i < n; i++) c += !isfinite(x[i]);
    return c;
}
