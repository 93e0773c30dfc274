/* update.c — optimizer update kernels (see update.h). Tensors are processed in blocks of
 * BLK elements (OpenMP splits the blocks of tensors larger than PAR_MIN): a
 * branch-free loop updates the moments, vsqrt takes the square roots with SIMD
 * intrinsics (GCC will not vectorise sqrtf under -fmath-errno), and a second
 * loop applies the update. The operation order follows the reference
 * implementations, so results agree to float rounding
 * (tests/lua/test_golden_optim.lua). */
#include <math.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#include "update.h"

#define PAR_MIN 32768
#define BLK 1024

/* o[i] = sqrt(x[i]) (IEEE, correctly rounded like sqrtf) for i < n. */
static inline void vsqrt(float *o, const float *x, int64_t n) {
    int64_t i = 0;
#if defined(__AVX512F__)
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(o + i, _mm512_sqrt_ps(_mm512_loadu_ps(x + i)));
#elif defined(__AVX__)
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(o + i, _mm256_sqrt_ps(_mm256_loadu_ps(x + i)));
#elif defined(__SSE2__)
    for (; i + 4 <= n; i += 4) _mm_storeu_ps(o + i, _mm_sqrt_ps(_mm_loadu_ps(x + i)));
#endif
    for (; i < n; i++) o[i] = sqrtf(x[i]);
}

/* Adam moments for one block: m = b1 m + c1 g', v = b2 v + c2 g'^2 with
 * g' = g * gs (gs == 1: exact); s = sqrt(v). */
static inline void adam_moments(float *Mm, float *V, const float *G, float *s, int64_t len,
                                float b1, float c1, float b2, float c2, float gs) {
    #pragma omp simd
    for (int64_t i = 0; i < len; i++) {
        float gi = G[i] * gs;
        Mm[i] = Mm[i] * b1 + c1 * gi;
        V[i] = V[i] * b2 + c2 * gi * gi;
    }
    vsqrt(s, V, len);
}

static inline int64_t nblocks(int64_t n) { return (n + BLK - 1) / BLK; }

void rt_k_adamw(float *w, float *m, float *v, const float *g, int64_t n, const rt_adam_hp *hp) {
    const double bc1 = 1.0 - pow(hp->beta1, (double)hp->step);
    const double bc2 = 1.0 - pow(hp->beta2, (double)hp->step);
    const float decay = (float)(1.0 - hp->lr * hp->weight_decay);  /* 1 without decay: exact */
    const float b1 = (float)hp->beta1, b2 = (float)hp->beta2;
    const float c1 = (float)(1.0 - hp->beta1), c2 = (float)(1.0 - hp->beta2);
    const float step_size = (float)(-(hp->lr / bc1));
    const float bc2s = (float)sqrt(bc2), eps = (float)hp->eps, gs = (float)hp->grad_scale;
    const int64_t nb = nblocks(n);
#pragma omp parallel for if (n > PAR_MIN) schedule(static)
    for (int64_t blk = 0; blk < nb; blk++) {
        const int64_t a = blk * BLK, len = (n - a < BLK) ? n - a : BLK;
        float *W = w + a, *Mm = m + a, *V = v + a;
        const float *G = g + a;
        float s[BLK];
        adam_moments(Mm, V, G, s, len, b1, c1, b2, c2, gs);
        #pragma omp simd
        for (int64_t i = 0; i < len; i++) W[i] = W[i] * decay + step_size * Mm[i] / (s[i] / bc2s + eps);
    }
}

void rt_k_adam_wd(float *w, float *m, float *v, const float *g, int64_t n, const rt_adam_hp *hp) {
    const float b1 = (float)hp->beta1, b2 = (float)hp->beta2;
    const float c1 = (float)(1.0 - hp->beta1), c2 = (float)(1.0 - hp->beta2);
    const float lr = (float)hp->lr, eps = (float)hp->eps, wd = (float)hp->weight_decay;
    const float gs = (float)hp->grad_scale;
    const int64_t nb = nblocks(n);
#pragma omp parallel for if (n > PAR_MIN) schedule(static)
    for (int64_t blk = 0; blk < nb; blk++) {
        const int64_t a = blk * BLK, len = (n - a < BLK) ? n - a : BLK;
        float *W = w + a, *Mm = m + a, *V = v + a;
        const float *G = g + a;
        float s[BLK];
        adam_moments(Mm, V, G, s, len, b1, c1, b2, c2, gs);
        #pragma omp simd
        for (int64_t i = 0; i < len; i++) {
            float u = Mm[i] / (s[i] + eps);
            u = u + wd * W[i];
            W[i] = W[i] - lr * u;
        }
    }
}

void rt_k_lamb_moments(float *m, float *v, double sums[3], const float *w, const float *g, int64_t n,
                       const rt_adam_hp *hp, double decay_r) {
    const float b1 = (float)hp->beta1, b2 = (float)hp->beta2;
    const float c1 = (float)(1.0 - hp->beta1), c2 = (float)(1.0 - hp->beta2);
    const float ibc1 = (float)(1.0 / (1.0 - pow(hp->beta1, (double)hp->step)));
    const float ibc2 = (float)(1.0 / (1.0 - pow(hp->beta2, (double)hp->step)));
    const float eps = (float)hp->eps, dr = (float)decay_r, gs = (float)hp->grad_scale;
    const int64_t nb = nblocks(n);
    double sw = 0, sr = 0, sg = 0;
#pragma omp parallel for if (n > PAR_MIN) schedule(static) reduction(+ : sw, sr, sg)
    for (int64_t blk = 0; blk < nb; blk++) {
        const int64_t a = blk * BLK, len = (n - a < BLK) ? n - a : BLK;
        const float *W = w + a, *G = g + a;
        float *Mm = m + a, *V = v + a;
        float s[BLK];
        double bw = 0, br = 0, bg = 0;
        #pragma omp simd reduction(+ : bg, bw)
        for (int64_t i = 0; i < len; i++) {
            float gi = G[i] * gs;
            Mm[i] = Mm[i] * b1 + c1 * gi;
            V[i] = V[i] * b2 + c2 * gi * gi;
            s[i] = V[i] * ibc2 + eps;
            bg += (double)gi * gi;
            bw += (double)W[i] * W[i];
        }
        vsqrt(s, s, len);
        #pragma omp simd reduction(+ : br)
        for (int64_t i = 0; i < len; i++) {
            float r = (Mm[i] * ibc1) / s[i] + dr * W[i];
            br += (double)r * r;
        }
        sw += bw; sr += br; sg += bg;
    }
    sums[0] = sw; sums[1] = sr; sums[2] = sg;
}

void rt_k_lamb_apply(float *w, const float *m, const float *v, int64_t n,
                     const rt_adam_hp *hp, double ratio) {
    const float ibc1 = (float)(1.0 / (1.0 - pow(hp->beta1, (double)hp->step)));
    const float ibc2 = (float)(1.0 / (1.0 - pow(hp->beta2, (double)hp->step)));
    const float eps = (float)hp->eps, wd = (float)hp->weight_decay;
    const float k = (float)(ratio * hp->lr);
    const int64_t nb = nblocks(n);
#pragma omp parallel for if (n > PAR_MIN) schedule(static)
    for (int64_t blk = 0; blk < nb; blk++) {
        const int64_t a = blk * BLK, len = (n - a < BLK) ? n - a : BLK;
        float *W = w + a;
        const float *Mm = m + a, *V = v + a;
        float s[BLK];
        #pragma omp simd
        for (int64_t i = 0; i < len; i++) s[i] = V[i] * ibc2;
        vsqrt(s, s, len);
        #pragma omp simd
        for (int64_t i = 0; i < len; i++) {
            float u = (Mm[i] * ibc1) / (s[i] + eps) + wd * W[i];
            W[i] = W[i] - k * u;
        }
    }
}

double rt_k_sumsq(const float *x, int64_t n) {
    const int64_t nb = nblocks(n);
    double s = 0;
#pragma omp parallel for if (n > PAR_MIN) schedule(static) reduction(+ : s)
    for (int64_t blk = 0; blk < nb; blk++) {
        const int64_t a = blk * BLK, len = (n - a < BLK) ? n - a : BLK;
        double b = 0;
        #pragma omp simd reduction(+ : b)
        for (int64_t i = 0; i < len; i++) b += (double)x[a + i] * x[a + i];
        s += b;
    }
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
