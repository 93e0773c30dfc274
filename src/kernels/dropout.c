/* dropout.c — inverted dropout with a counter-based mask. The bits are the
 * Philox4x32-10 stream of core's rng.h (element i of the stream (seed, base)
 * is word i%4 of the block at counter base + i/4, uniform = (u >> 8) * 2^-24;
 * tests/unit/test_kernels_nn.c checks this against rt_rng_uniform). Computed
 * here 8 counters (32 elements) per AVX-512 step (4 counters with AVX2), in parallel, so the mask is
 * cheap enough to regenerate in backward instead of being stored. */
#include "nn.h"
#include "../core/rng.h"

#include <math.h>
#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif


/* keep iff (u >> 8) * 2^-24 >= p  <=>  (u >> 8) >= ceil(p * 2^24) */
static inline uint32_t keep_threshold(float p) {
    double t = ceil((double)p * 16777216.0);
    return t > 16777216.0 ? 16777217u : (uint32_t)t;
}

bool rt_k_dropout_keep(uint64_t seed, uint64_t base, uint64_t i, float p) {
    uint32_t w[4];
    rt_philox(seed, base + i / 4, w);
    return (w[i % 4] >> 8) >= keep_threshold(p);
}

/* Elements [i0, i1) with i0 % 4 == 0 (scalar). */
static void apply_scalar(const float *x, float *y, int64_t i0, int64_t i1, uint32_t thr,
                         float scale, uint64_t seed, uint64_t base) {
    uint32_t w[4];
    for (int64_t i = i0; i < i1; i++) {
        if (i == i0 || i % 4 == 0) rt_philox(seed, base + (uint64_t)i / 4, w);
        y[i] = (w[i % 4] >> 8) >= thr ? x[i] * scale : 0.0f;
    }
}

#if defined(__AVX512F__)
/* 8 Philox blocks for counters c..c+7 (64-bit lanes hold 32-bit words); writes
 * the 32 words in stream order into two 16-lane vectors. */
static inline void philox8(uint64_t seed, uint64_t c, __m512i *out0, __m512i *out1) {
    const __m512i lo32 = _mm512_set1_epi64(0xffffffffLL);
    __m512i cv = _mm512_add_epi64(_mm512_set1_epi64((long long)c),
                                  _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0));
    __m512i c0 = _mm512_and_si512(cv, lo32), c1 = _mm512_srli_epi64(cv, 32);
    __m512i c2 = _mm512_setzero_si512(), c3 = _mm512_setzero_si512();
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    const __m512i m0 = _mm512_set1_epi64(RT_PHILOX_M0), m1 = _mm512_set1_epi64(RT_PHILOX_M1);
    for (int r = 0; r < 10; r++) {
        __m512i p0 = _mm512_mul_epu32(c0, m0), p1 = _mm512_mul_epu32(c2, m1);
        __m512i n0 = _mm512_xor_si512(_mm512_xor_si512(_mm512_srli_epi64(p1, 32), c1),
                                      _mm512_set1_epi64(k0));
        __m512i n2 = _mm512_xor_si512(_mm512_xor_si512(_mm512_srli_epi64(p0, 32), c3),
                                      _mm512_set1_epi64(k1));
        c1 = _mm512_and_si512(p1, lo32); c3 = _mm512_and_si512(p0, lo32);
        c0 = n0; c2 = n2;
        k0 += RT_PHILOX_W0; k1 += RT_PHILOX_W1;
    }
    __m512i a = _mm512_or_si512(c0, _mm512_slli_epi64(c1, 32));   /* w0 w1 per counter */
    __m512i b = _mm512_or_si512(c2, _mm512_slli_epi64(c3, 32));   /* w2 w3 per counter */
    __m512i lo = _mm512_unpacklo_epi64(a, b);                      /* counters 0 2 4 6 */
    __m512i hi = _mm512_unpackhi_epi64(a, b);                      /* counters 1 3 5 7 */
    *out0 = _mm512_permutex2var_epi64(lo, _mm512_set_epi64(11, 10, 3, 2, 9, 8, 1, 0), hi);
    *out1 = _mm512_permutex2var_epi64(lo, _mm512_set_epi64(15, 14, 7, 6, 13, 12, 5, 4), hi);
}
#elif defined(__AVX2__)
/* 4 Philox blocks for counters c..c+3; the 16 words in stream order. */
static inline void philox4(uint64_t seed, uint64_t c, __m256i *out0, __m256i *out1) {
    const __m256i lo32 = _mm256_set1_epi64x(0xffffffffLL);
    __m256i cv = _mm256_add_epi64(_mm256_set1_epi64x((long long)c), _mm256_set_epi64x(3, 2, 1, 0));
    __m256i c0 = _mm256_and_si256(cv, lo32), c1 = _mm256_srli_epi64(cv, 32);
    __m256i c2 = _mm256_setzero_si256(), c3 = _mm256_setzero_si256();
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    const __m256i m0 = _mm256_set1_epi64x(RT_PHILOX_M0), m1 = _mm256_set1_epi64x(RT_PHILOX_M1);
    for (int r = 0; r < 10; r++) {
        __m256i p0 = _mm256_mul_epu32(c0, m0), p1 = _mm256_mul_epu32(c2, m1);
        __m256i n0 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p1, 32), c1),
                                      _mm256_set1_epi64x(k0));
        __m256i n2 = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p0, 32), c3),
                                      _mm256_set1_epi64x(k1));
        c1 = _mm256_and_si256(p1, lo32); c3 = _mm256_and_si256(p0, lo32);
        c0 = n0; c2 = n2;
        k0 += RT_PHILOX_W0; k1 += RT_PHILOX_W1;
    }
    __m256i a = _mm256_or_si256(c0, _mm256_slli_epi64(c1, 32));   /* w0 w1 per counter */
    __m256i b = _mm256_or_si256(c2, _mm256_slli_epi64(c3, 32));   /* w2 w3 per counter */
    __m256i lo = _mm256_unpacklo_epi64(a, b);                      /* counters 0 | 2 */
    __m256i hi = _mm256_unpackhi_epi64(a, b);                      /* counters 1 | 3 */
    *out0 = _mm256_permute2x128_si256(lo, hi, 0x20);               /* counters 0 1 */
    *out1 = _mm256_permute2x128_si256(lo, hi, 0x31);               /* counters 2 3 */
}
#endif

void rt_k_dropout(float *y, const float *x, int64_t n, float p, uint64_t seed, uint64_t base) {
    if (n <= 0) return;
    uint32_t thr = keep_threshold(p);
    float scale = p < 1.0f ? 1.0f / (1.0f - p) : 0.0f;
    const int64_t CH = 4096;                 /* multiple of 32: chunks start on block bounds */
    int64_t nch = (n + CH - 1) / CH;
#pragma omp parallel for schedule(static) if (n > 32768)
    for (int64_t ch = 0; ch < nch; ch++) {
        int64_t i0 = ch * CH, i1 = i0 + CH < n ? i0 + CH : n;
#if defined(__AVX512F__)
        const __m512i vthr = _mm512_set1_epi32((int)thr);
        const __m512 vs = _mm512_set1_ps(scale);
        int64_t i = i0;
        for (; i + 32 <= i1; i += 32) {
            __m512i u0, u1;
            philox8(seed, base + (uint64_t)i / 4, &u0, &u1);
            __mmask16 k0 = _mm512_cmpge_epu32_mask(_mm512_srli_epi32(u0, 8), vthr);
            __mmask16 k1 = _mm512_cmpge_epu32_mask(_mm512_srli_epi32(u1, 8), vthr);
            _mm512_storeu_ps(y + i, _mm512_maskz_mul_ps(k0, _mm512_loadu_ps(x + i), vs));
            _mm512_storeu_ps(y + i + 16, _mm512_maskz_mul_ps(k1, _mm512_loadu_ps(x + i + 16), vs));
        }
        if (i < i1) apply_scalar(x, y, i, i1, thr, scale, seed, base);
#elif defined(__AVX2__)
        const __m256i vthr = _mm256_set1_epi32((int)thr - 1);   /* (u >> 8) < 2^24: signed compare is safe */
        const __m256 vs = _mm256_set1_ps(scale);
        int64_t i = i0;
        for (; i + 16 <= i1; i += 16) {
            __m256i u0, u1;
            philox4(seed, base + (uint64_t)i / 4, &u0, &u1);
            __m256 k0 = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_srli_epi32(u0, 8), vthr));
            __m256 k1 = _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_srli_epi32(u1, 8), vthr));
            _mm256_storeu_ps(y + i, _mm256_and_ps(k0, _mm256_mul_ps(_mm256_loadu_ps(x + i), vs)));
            _mm256_storeu_ps(y + i + 8, _mm256_and_ps(k1, _mm256_mul_ps(_mm256_loadu_ps(x + i + 8), vs)));
        }
        if (i < i1) apply_scalar(x, y, i, i1, thr, scale, seed, base);
#else
        apply_scalar(x, y, i0, i1, thr, scale, seed, base);
#endif
    }
}
