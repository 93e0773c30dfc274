/* nn_vmath.h — small vectorised math helpers shared by the nn kernels (exp for
 * softmax, cross-entropy and friends). AVX-512 when the compiler targets it,
 * plain loops otherwise. Accuracy of rt_vexp: ~2 ulp over [-87, 88]. */
#ifndef RT_KERNELS_NN_VMATH_H
#define RT_KERNELS_NN_VMATH_H

#include <math.h>
#include <stdint.h>
#if defined(__AVX512F__)
#include <immintrin.h>

static inline __m512 rt_v512_exp(__m512 x) {
    const __m512 hi = _mm512_set1_ps(88.3762626647949f), lo = _mm512_set1_ps(-103.9720840454f);
    x = _mm512_max_ps(_mm512_min_ps(x, hi), lo);
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500E-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507E-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073E-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894E-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459E-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201E-1f));
    __m512 r2 = _mm512_mul_ps(r, r);
    p = _mm512_fmadd_ps(p, r2, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}
#endif

/* max of x[0..n) (n >= 1) */
static inline float rt_vmax(const float *x, int64_t n) {
    float m = x[0];
#if defined(__AVX512F__)
    int64_t i = 0;
    __m512 vm = _mm512_set1_ps(x[0]);
    for (; i + 16 <= n; i += 16) vm = _mm512_max_ps(vm, _mm512_loadu_ps(x + i));
    m = _mm512_reduce_max_ps(vm);
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
#else
    for (int64_t i = 1; i < n; i++) m = x[i] > m ? x[i] : m;
#endif
    return m;
}

/* y[i] = exp(x[i] - sub) (y may be NULL or == x); returns the sum (accumulated
 * in float lanes, then double). */
static inline double rt_vexp_sum(const float *x, float sub, float *y, int64_t n) {
#if defined(__AVX512F__)
    __m512 vs = _mm512_set1_ps(sub), acc = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 e = rt_v512_exp(_mm512_sub_ps(_mm512_loadu_ps(x + i), vs));
        if (y) _mm512_storeu_ps(y + i, e);
        acc = _mm512_add_ps(acc, e);
    }
    if (i < n) {
        __mmask16 k = (__mmask16)((1u << (n - i)) - 1);
        __m512 e = rt_v512_exp(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), vs));
        e = _mm512_maskz_mov_ps(k, e);
        if (y) _mm512_mask_storeu_ps(y + i, k, e);
        acc = _mm512_add_ps(acc, e);
    }
    return (double)_mm512_reduce_add_ps(acc);
#else
    double s = 0;
    for (int64_t i = 0; i < n; i++) { float e = expf(x[i] - sub); if (y) y[i] = e; s += e; }
    return s;
#endif
}

/* y[i] = exp(x[i]) for an array (x == y allowed). */
static inline void rt_vexp(const float *x, float *y, int64_t n) {
#if defined(__AVX512F__)
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, rt_v512_exp(_mm512_loadu_ps(x + i)));
    if (i < n) {
        __mmask16 k = (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(y + i, k, rt_v512_exp(_mm512_maskz_loadu_ps(k, x + i)));
    }
#else
    for (int64_t i = 0; i < n; i++) y[i] = expf(x[i]);
#endif
}

#endif
