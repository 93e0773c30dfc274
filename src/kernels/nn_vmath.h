/* nn_vmath.h — small vectorised math helpers shared by the nn kernels (exp for
 * softmax, cross-entropy and friends): AVX-512 or AVX2+FMA, whichever the
 * compiler targets (-march=native), plain loops otherwise. rt_vexp is a
 * Cephes-style polynomial, ~2 ulp on [-87, 88]; inputs below -87.3 give
 * 0 (AVX-512) or ~1e-38 (AVX2), both negligible next to a softmax sum >= 1. */
#ifndef RT_KERNELS_NN_VMATH_H
#define RT_KERNELS_NN_VMATH_H

#include <math.h>
#include <stdint.h>
#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#endif

#define RT_EXP_POLY(P, FMA, SET1, r)                                    \
    do {                                                                \
        P = SET1(1.9875691500E-4f);                                     \
        P = FMA(P, r, SET1(1.3981999507E-3f));                          \
        P = FMA(P, r, SET1(8.3334519073E-3f));                          \
        P = FMA(P, r, SET1(4.1665795894E-2f));                          \
        P = FMA(P, r, SET1(1.6666665459E-1f));                          \
        P = FMA(P, r, SET1(5.0000001201E-1f));                          \
    } while (0)

#if defined(__AVX512F__)
#define RT_VW 16
typedef __m512 rt_vf;
#define rt_vload _mm512_loadu_ps
#define rt_vstore _mm512_storeu_ps
#define rt_vset1 _mm512_set1_ps
#define rt_vadd _mm512_add_ps
#define rt_vsub _mm512_sub_ps
#define rt_vmul _mm512_mul_ps
#define rt_vmaxv _mm512_max_ps
#define rt_vfma _mm512_fmadd_ps
#define rt_vhsum _mm512_reduce_add_ps
#define rt_vhmax _mm512_reduce_max_ps
static inline rt_vf rt_vexpv(rt_vf x) {
    x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(88.3762626647949f)), _mm512_set1_ps(-103.97f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p;
    RT_EXP_POLY(p, _mm512_fmadd_ps, _mm512_set1_ps, r);
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}
#elif defined(__AVX2__) && defined(__FMA__)
#define RT_VW 8
typedef __m256 rt_vf;
#define rt_vload _mm256_loadu_ps
#define rt_vstore _mm256_storeu_ps
#define rt_vset1 _mm256_set1_ps
#define rt_vadd _mm256_add_ps
#define rt_vsub _mm256_sub_ps
#define rt_vmul _mm256_mul_ps
#define rt_vmaxv _mm256_max_ps
#define rt_vfma _mm256_fmadd_ps
static inline float rt_vhsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
static inline float rt_vhmax(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
static inline rt_vf rt_vexpv(rt_vf x) {
    x = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(88.3762626647949f)), _mm256_set1_ps(-87.3365478515625f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p;
    RT_EXP_POLY(p, _mm256_fmadd_ps, _mm256_set1_ps, r);
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}
#endif

/* max of x[0..n) (n >= 1) */
static inline float rt_vmax(const float *x, int64_t n) {
    float m = x[0];
    int64_t i = 0;
#ifdef RT_VW
    if (n >= RT_VW) {
        rt_vf vm = rt_vload(x);
        for (i = RT_VW; i + RT_VW <= n; i += RT_VW) vm = rt_vmaxv(vm, rt_vload(x + i));
        m = rt_vhmax(vm);
    }
#endif
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    return m;
}

/* y[i] = exp(x[i] - sub) (y may be NULL or == x); returns the sum. */
static inline double rt_vexp_sum(const float *x, float sub, float *y, int64_t n) {
    double s = 0.0;
    int64_t i = 0;
#ifdef RT_VW
    rt_vf vs = rt_vset1(sub), acc = rt_vset1(0.0f);
    for (; i + RT_VW <= n; i += RT_VW) {
        rt_vf e = rt_vexpv(rt_vsub(rt_vload(x + i), vs));
        if (y) rt_vstore(y + i, e);
        acc = rt_vadd(acc, e);
    }
    s = (double)rt_vhsum(acc);
#endif
    for (; i < n; i++) { float e = expf(x[i] - sub); if (y) y[i] = e; s += e; }
    return s;
}

/* y[i] = exp(x[i]) (x == y allowed). */
static inline void rt_vexp(const float *x, float *y, int64_t n) {
    int64_t i = 0;
#ifdef RT_VW
    for (; i + RT_VW <= n; i += RT_VW) rt_vstore(y + i, rt_vexpv(rt_vload(x + i)));
#endif
    for (; i < n; i++) y[i] = expf(x[i]);
}

#endif
