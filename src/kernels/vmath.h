/* vmath.h — the one vector-math header of the kernels. Plain arithmetic and bit
 * casts, so `omp simd` loops compile to AVX-512/AVX2 without libmvec; register
 * versions where the compiler targets AVX-512 or AVX2+FMA (-march=native).
 *
 *   scalar, `omp declare simd` (elementwise.c):
 *     rt_vexp(x)    Cody-Waite range reduction + degree-6 polynomial (< 2 ulp)
 *     rt_verf(x)    Abramowitz-Stegun 7.1.26 (abs err < 1.5e-7, as PyTorch's vectorised erf)
 *     rt_vtanh(x)   switches to its Taylor series near 0
 *     rt_vsigmoid, rt_vgelu, rt_vgelu_tanh
 *   registers (softmax.c, loss.c, gemm.c): rt_vf with RT_VW lanes, rt_vexpv(v)
 *     (the same polynomial; inputs below -87.3 give 0 on AVX-512, ~1e-38 on AVX2,
 *     negligible next to a softmax sum >= 1), rt_vmax(x, n), rt_vexp_sum(x, sub, y, n)
 *   AVX2 erf-GELU (elementwise.c): rt_gelu8, rt_gelu8_grad (RT_HAVE_GELU_AVX2);
 *     erf's reciprocal from vrcpps + one Newton step, exp(-z^2) shared by erf and
 *     the normal pdf of the backward. */
#ifndef RT_KERNELS_VMATH_H
#define RT_KERNELS_VMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>
#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#endif

/* ---- scalar, for `omp simd` loops ---- */
#pragma omp declare simd notinbranch
static inline float rt_vexp(float x) {
    x = x < -87.33654f ? -87.33654f : (x > 88.72283f ? 88.72283f : x);
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;   /* round to nearest */
    float r = x - n * 0.693145751953125f;        /* ln2 hi */
    r = r - n * 1.428606765330187045e-06f;        /* ln2 lo */
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t e = (int32_t)n;
    /* 2^n: n in [-126, 128]; split to stay in range */
    int32_t e1 = e / 2, e2 = e - e1;
    uint32_t b1 = (uint32_t)(e1 + 127) << 23, b2 = (uint32_t)(e2 + 127) << 23;
    float s1, s2;
    memcpy(&s1, &b1, 4);
    memcpy(&s2, &b2, 4);
    return p * s1 * s2;
}

#pragma omp declare simd notinbranch
static inline float rt_verf(float x) {
    float ax = x < 0 ? -x : x;
    float t = 1.0f / (1.0f + 0.3275911f * ax);
    float y = 1.061405429f;
    y = y * t - 1.453152027f;
    y = y * t + 1.421413741f;
    y = y * t - 0.284496736f;
    y = y * t + 0.254829592f;
    y = 1.0f - y * t * rt_vexp(-ax * ax);
    return x < 0 ? -y : y;
}

#pragma omp declare simd notinbranch
static inline float rt_vtanh(float x) {
    float ax = x < 0 ? -x : x;
    float e = rt_vexp(-2.0f * ax);
    float big = (1.0f - e) / (1.0f + e);
    float x2 = ax * ax;
    float small = ax * (1.0f + x2 * (-0.33333333f + x2 * (0.13333333f + x2 * -0.053968254f)));
    float y = ax < 0.125f ? small : big;
    return x < 0 ? -y : y;
}

#pragma omp declare simd notinbranch
static inline float rt_vsigmoid(float x) { return 1.0f / (1.0f + rt_vexp(-x)); }

#define RT_SQRT1_2 0.70710678118654752f
#define RT_SQRT_2_PI 0.79788456080286536f

#pragma omp declare simd notinbranch
static inline float rt_vgelu(float x) { return 0.5f * x * (1.0f + rt_verf(x * RT_SQRT1_2)); }

#pragma omp declare simd notinbranch
static inline float rt_vgelu_tanh(float x) {
    return 0.5f * x * (1.0f + rt_vtanh(RT_SQRT_2_PI * (x + 0.044715f * x * x * x)));
}

/* ---- registers ---- */
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

/* ---- AVX2 erf-GELU ---- */
#if defined(__AVX2__) && defined(__FMA__)
#define RT_HAVE_GELU_AVX2 1

/* exp(x) for x <= 0 (clamped at -87.3: 2^n stays a normal float). */
static inline __m256 rt_exp8_neg(__m256 x) {
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.33654f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187045e-06f), r);
    __m256 p;
    RT_EXP_POLY(p, _mm256_fmadd_ps, _mm256_set1_ps, r);
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
