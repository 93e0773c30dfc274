/* gelu_avx2.h — AVX2+FMA kernels for erf-GELU forward and backward (8 lanes),
 * used by elementwise.c when the compiler targets AVX2 (the scalar vmath.h
 * versions handle tails and other targets). erf: Abramowitz-Stegun 7.1.26 with
 * the reciprocal from vrcpps + one Newton step; exp(-z^2) shared by erf and the
 * normal pdf of the backward. */
#ifndef RT_GELU_AVX2_H
#define RT_GELU_AVX2_H

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define RT_HAVE_GELU_AVX2 1

/* exp(x) for x <= 0 (clamped at -87.3: 2^n stays a normal float). */
static inline __m256 rt_exp8_neg(__m256 x) {
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.33654f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187045e-06f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

/* cdf = 0.5 (1 + erf(x / sqrt 2)); *e_out = exp(-x^2 / 2) */
static inline __m256 rt_gelu8_cdf(__m256 x, __m256 *e_out) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 z = _mm256_mul_ps(x, _mm256_set1_ps(0.70710678118654752f));
    __m256 az = _mm256_andnot_ps(sign, z);
    __m256 d = _mm256_fmadd_ps(az, _mm256_set1_ps(0.3275911f), _mm256_set1_ps(1.0f));
    __m256 t = _mm256_rcp_ps(d);
    t = _mm256_mul_ps(t, _mm256_fnmadd_ps(d, t, _mm256_set1_ps(2.0f)));
    __m256 y = _mm256_set1_ps(1.061405429f);
    y = _mm256_fmadd_ps(y, t, _mm256_set1_ps(-1.453152027f));
    y = _mm256_fmadd_ps(y, t, _mm256_set1_ps(1.421413741f));
    y = _mm256_fmadd_ps(y, t, _mm256_set1_ps(-0.284496736f));
    y = _mm256_fmadd_ps(y, t, _mm256_set1_ps(0.254829592f));
    __m256 e = rt_exp8_neg(_mm256_mul_ps(_mm256_mul_ps(az, az), _mm256_set1_ps(-1.0f)));
    *e_out = e;
    __m256 erf_abs = _mm256_fnmadd_ps(_mm256_mul_ps(y, t), e, _mm256_set1_ps(1.0f));
    __m256 erf = _mm256_or_ps(erf_abs, _mm256_and_ps(sign, z));
    return _mm256_mul_ps(_mm256_set1_ps(0.5f), _mm256_add_ps(_mm256_set1_ps(1.0f), erf));
}

static inline __m256 rt_gelu8(__m256 x) {
    __m256 e;
    return _mm256_mul_ps(x, rt_gelu8_cdf(x, &e));
}

/* d gelu / dx = cdf + x * exp(-x^2/2) / sqrt(2 pi) */
static inline __m256 rt_gelu8_grad(__m256 x) {
    __m256 e;
    __m256 cdf = rt_gelu8_cdf(x, &e);
    return _mm256_fmadd_ps(_mm256_mul_ps(x, _mm256_set1_ps(0.3989422804014327f)), e, cdf);
}
#endif

#endif
