/* vmath.h — vectorisable float math (exp, erf, tanh, sigmoid, gelu) for the
 * elementwise kernels. Plain arithmetic and bit casts only, so `omp simd`
 * loops compile to AVX-512 without libmvec. exp: Cody-Waite range reduction +
 * degree-6 polynomial (< 2 ulp); erf: Abramowitz-Stegun 7.1.26 (abs err < 1.5e-7,
 * as PyTorch's vectorised erf); tanh switches to its Taylor series near 0. */
#ifndef RT_VMATH_H
#define RT_VMATH_H

#include <stdint.h>
#include <string.h>

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

#endif
