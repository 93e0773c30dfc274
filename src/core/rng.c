/* rng.c — Philox4x32-10 counter-based generator (rng.h). A draw is a pure
 * function of (seed, counter), so fills run in parallel and give the same
 * numbers for any thread count. Uniform element i of a reservation at `base`
 * is word i%4 of philox(seed, base + i/4); normal elements 4j..4j+3 come from
 * counter base + j: words (0,1) and (2,3) are two Box-Muller pairs (cos, sin). */
/* FP compares must not count as traps and sqrtf must not set errno, or GCC
 * will not vectorise the Box-Muller loops (results are unchanged). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math", "no-math-errno")
#endif
#include <math.h>
#include <stdbool.h>
#include <string.h>
#include "rng.h"


static rt_generator default_gen = {0x5eed5eedULL, 0};

static inline void philox(uint64_t seed, uint64_t ctr, uint32_t out[4]) {
    uint32_t c0 = (uint32_t)ctr, c1 = (uint32_t)(ctr >> 32), c2 = 0, c3 = 0;
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)RT_PHILOX_M0 * c0, p1 = (uint64_t)RT_PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c1 = (uint32_t)p1;
        c3 = (uint32_t)p0;
        c0 = n0;
        c2 = n2;
        k0 += RT_PHILOX_W0;
        k1 += RT_PHILOX_W1;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

void rt_philox(uint64_t seed, uint64_t ctr, uint32_t out[4]) { philox(seed, ctr, out); }

rt_generator *rt_default_generator(void) { return &default_gen; }

void rt_manual_seed(uint64_t seed) { default_gen.seed = seed; default_gen.offset = 0; }

uint64_t rt_rng_reserve(rt_generator *g, uint64_t n) {
    if (!g) g = &default_gen;
    uint64_t base = g->offset;
    g->offset += (n + 3) & ~(uint64_t)3;
    if (g->offset == base) g->offset += 4;
    return base;
}

static inline float u01(uint32_t u) { return (float)(int32_t)(u >> 8) * (1.0f / 16777216.0f); }

uint32_t rt_rng_u32(uint64_t seed, uint64_t base, uint64_t i) {
    uint32_t w[4];
    philox(seed, base + i / 4, w);
    return w[i % 4];
}

float rt_rng_uniform(uint64_t seed, uint64_t base, uint64_t i) { return u01(rt_rng_u32(seed, base, i)); }

/* ---- block fills: 64 counters at a time, written so the compiler vectorises
 * Philox (vpmuludq) and the float math (log/sincos polynomials below). ---- */
#define BLK 64


static void philox_blk(uint64_t seed, uint64_t ctr, uint32_t w[4][BLK]) {
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    #pragma omp simd
    for (int j = 0; j < BLK; j++) {
        uint64_t c = ctr + (uint64_t)j;
        uint32_t c0 = (uint32_t)c, c1 = (uint32_t)(c >> 32), c2 = 0, c3 = 0, kk0 = k0, kk1 = k1;
        for (int r = 0; r < 10; r++) {
            uint64_t p0 = (uint64_t)RT_PHILOX_M0 * c0, p1 = (uint64_t)RT_PHILOX_M1 * c2;
            uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ kk0;
            uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ kk1;
            c1 = (uint32_t)p1;
            c3 = (uint32_t)p0;
            c0 = n0;
            c2 = n2;
            kk0 += RT_PHILOX_W0;
            kk1 += RT_PHILOX_W1;
        }
        w[0][j] = c0; w[1][j] = c1; w[2][j] = c2; w[3][j] = c3;
    }
}

/* natural log for x in (0, 1] (Cephes-style polynomial, ~1 ulp) */
static inline float logf_unit(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    float e = (float)((int32_t)((u >> 23) & 0xff) - 126);
    u = (u & 0x007fffffu) | 0x3f000000u;   /* mantissa in [0.5, 1) */
    float m;
    memcpy(&m, &u, 4);
    float adj = m < 0.70710678f ? 1.0f : 0.0f;
    e -= adj;
    m = m + m * adj - 1.0f;
    float z = m * m;
    float y = 7.0376836292e-2f;
    y = y * m - 1.1514610310e-1f;
    y = y * m + 1.1676998740e-1f;
    y = y * m - 1.2420140846e-1f;
    y = y * m + 1.4249322787e-1f;
    y = y * m - 1.6668057665e-1f;
    y = y * m + 2.0000714765e-1f;
    y = y * m - 2.4999993993e-1f;
    y = y * m + 3.3333331174e-1f;
    y = y * m * z;
    y += e * -2.12194440e-4f;
    y += -0.5f * z;
    return m + y + e * 0.693359375f;
}

/* sin and cos of 2*pi*u for u in [0, 1): quadrant reduction + Taylor on [-pi/4, pi/4] */
static inline void sincos_turns(float u, float *sn, float *cs) {
    float t = u >= 0.5f ? u - 1.0f : u;                       /* [-0.5, 0.5) */
    float q = (t * 4.0f + 12582912.0f) - 12582912.0f;          /* nearest quadrant */
    float a = (t - q * 0.25f) * 6.283185307179586f;            /* [-pi/4, pi/4] */
    float a2 = a * a;
    float s = a * (1.0f + a2 * (-1.6666667e-1f + a2 * (8.3333333e-3f + a2 * -1.9841270e-4f)));
    float c = 1.0f + a2 * (-0.5f + a2 * (4.1666667e-2f + a2 * (-1.3888889e-3f + a2 * 2.4801587e-5f)));
    int k = ((int)q + 4) & 3;
    float so = (k & 1) ? c : s, co = (k & 1) ? -s : c;
    so = (k & 2) ? -so : so;
    co = (k & 2) ? -co : co;
    *sn = so;
    *cs = co;
}

/* 4*BLK uniforms in [lo, hi): element j*4+k is word k of counter ctr+j */
static void uniform_blk(uint64_t seed, uint64_t ctr, float *out, float lo, float scale) {
    uint32_t w[4][BLK];
    float z[4][BLK];
    philox_blk(seed, ctr, w);
    for (int k = 0; k < 4; k++) {
        #pragma omp simd
        for (int j = 0; j < BLK; j++) z[k][j] = lo + scale * u01(w[k][j]);
    }
    for (int j = 0; j < BLK; j++)
        for (int k = 0; k < 4; k++) out[j * 4 + k] = z[k][j];
}

#if defined(__AVX2__)
#include <immintrin.h>
/* 8 lanes of logf_unit / sincos_turns / Box-Muller, operation for operation the
 * scalar code above (mul and add kept separate: identical results). */
static inline __m256 mk(float v) { return _mm256_set1_ps(v); }
static inline __m256 madd(__m256 a, __m256 b, __m256 c) { return _mm256_add_ps(_mm256_mul_ps(a, b), c); }

static inline __m256 logf_unit8(__m256 x) {
    __m256i u = _mm256_castps_si256(x);
    __m256 e = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_and_si256(_mm256_srli_epi32(u, 23), _mm256_set1_epi32(0xff)),
                                                   _mm256_set1_epi32(126)));
    __m256 m = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(u, _mm256_set1_epi32(0x007fffff)),
                                                   _mm256_set1_epi32(0x3f000000)));
    __m256 adj = _mm256_and_ps(_mm256_cmp_ps(m, mk(0.70710678f), _CMP_LT_OQ), mk(1.0f));
    e = _mm256_sub_ps(e, adj);
    m = _mm256_sub_ps(_mm256_add_ps(m, _mm256_mul_ps(m, adj)), mk(1.0f));
    __m256 z = _mm256_mul_ps(m, m);
    __m256 y = mk(7.0376836292e-2f);
    y = madd(y, m, mk(-1.1514610310e-1f));
    y = madd(y, m, mk(1.1676998740e-1f));
    y = madd(y, m, mk(-1.2420140846e-1f));
    y = madd(y, m, mk(1.4249322787e-1f));
    y = madd(y, m, mk(-1.6668057665e-1f));
    y = madd(y, m, mk(2.0000714765e-1f));
    y = madd(y, m, mk(-2.4999993993e-1f));
    y = madd(y, m, mk(3.3333331174e-1f));
    y = _mm256_mul_ps(_mm256_mul_ps(y, m), z);
    y = _mm256_add_ps(y, _mm256_mul_ps(e, mk(-2.12194440e-4f)));
    y = _mm256_add_ps(y, _mm256_mul_ps(mk(-0.5f), z));
    return _mm256_add_ps(_mm256_add_ps(m, y), _mm256_mul_ps(e, mk(0.693359375f)));
}

static inline void sincos_turns8(__m256 u, __m256 *sn, __m256 *cs) {
    __m256 t = _mm256_blendv_ps(u, _mm256_sub_ps(u, mk(1.0f)), _mm256_cmp_ps(u, mk(0.5f), _CMP_GE_OQ));
    __m256 q = _mm256_sub_ps(_mm256_add_ps(_mm256_mul_ps(t, mk(4.0f)), mk(12582912.0f)), mk(12582912.0f));
    __m256 a = _mm256_mul_ps(_mm256_sub_ps(t, _mm256_mul_ps(q, mk(0.25f))), mk(6.283185307179586f));
    __m256 a2 = _mm256_mul_ps(a, a);
    __m256 s = _mm256_mul_ps(a, _mm256_add_ps(mk(1.0f), _mm256_mul_ps(a2, _mm256_add_ps(mk(-1.6666667e-1f),
               _mm256_mul_ps(a2, _mm256_add_ps(mk(8.3333333e-3f), _mm256_mul_ps(a2, mk(-1.9841270e-4f))))))));
    __m256 c = _mm256_add_ps(mk(1.0f), _mm256_mul_ps(a2, _mm256_add_ps(mk(-0.5f), _mm256_mul_ps(a2,
               _mm256_add_ps(mk(4.1666667e-2f), _mm256_mul_ps(a2, _mm256_add_ps(mk(-1.3888889e-3f),
               _mm256_mul_ps(a2, mk(2.4801587e-5f)))))))));
    __m256i k = _mm256_and_si256(_mm256_add_epi32(_mm256_cvtps_epi32(q), _mm256_set1_epi32(4)), _mm256_set1_epi32(3));
    __m256 odd = _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(k, _mm256_set1_epi32(1)), _mm256_set1_epi32(1)));
    __m256 neg = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_and_si256(k, _mm256_set1_epi32(2)), 30));  /* sign bit */
    __m256 ms = _mm256_xor_ps(s, mk(-0.0f));
    __m256 so = _mm256_blendv_ps(s, c, odd), co = _mm256_blendv_ps(c, ms, odd);
    *sn = _mm256_xor_ps(so, neg);
    *cs = _mm256_xor_ps(co, neg);
}
#endif

/* 4*BLK normals: words (0,1) and (2,3) of each counter are Box-Muller pairs
 * giving elements j*4+0/1 (cos/sin) and j*4+2/3. */
static void normal_blk(uint64_t seed, uint64_t ctr, float *out, float mean, float std) {
    uint32_t w[4][BLK];
    float z[4][BLK];
    philox_blk(seed, ctr, w);
    for (int p = 0; p < 2; p++) {
        int j = 0;
#if defined(__AVX2__)
        const __m256 scale = mk(1.0f / 16777216.0f);
        for (; j + 8 <= BLK; j += 8) {
            __m256i w1 = _mm256_loadu_si256((const __m256i *)&w[2 * p][j]);
            __m256i w2 = _mm256_loadu_si256((const __m256i *)&w[2 * p + 1][j]);
            __m256 u1 = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(_mm256_srli_epi32(w1, 8), _mm256_set1_epi32(1))), scale);
            __m256 u2 = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(w2, 8)), scale);
            __m256 r = _mm256_sqrt_ps(_mm256_mul_ps(mk(-2.0f), logf_unit8(u1)));
            __m256 sn, cs;
            sincos_turns8(u2, &sn, &cs);
            _mm256_storeu_ps(&z[2 * p][j], _mm256_add_ps(mk(mean), _mm256_mul_ps(_mm256_mul_ps(mk(std), r), cs)));
            _mm256_storeu_ps(&z[2 * p + 1][j], _mm256_add_ps(mk(mean), _mm256_mul_ps(_mm256_mul_ps(mk(std), r), sn)));
        }
#endif
        for (; j < BLK; j++) {
            float u1 = (float)(int32_t)((w[2 * p][j] >> 8) + 1) * (1.0f / 16777216.0f);   /* (0, 1] */
            float u2 = (float)(int32_t)(w[2 * p + 1][j] >> 8) * (1.0f / 16777216.0f);      /* [0, 1) */
            float r = sqrtf(-2.0f * logf_unit(u1));
            float sn, cs;
            sincos_turns(u2, &sn, &cs);
            z[2 * p][j] = mean + std * r * cs;
            z[2 * p + 1][j] = mean + std * r * sn;
        }
    }
    for (int j = 0; j < BLK; j++)
        for (int k = 0; k < 4; k++) out[j * 4 + k] = z[k][j];
}

/* Fill n values block by block (parallel over blocks; the tail goes through a buffer). */
static void fill_blocks(rt_generator *g, float *out, int64_t n, float a, float b, bool normal) {
    if (!g) g = &default_gen;
    uint64_t base = rt_rng_reserve(g, (uint64_t)n), seed = g->seed;
    int64_t per = 4 * BLK, nb = (n + per - 1) / per;
    #pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t bi = 0; bi < nb; bi++) {
        float tmp[4 * BLK];
        int64_t i0 = bi * per, m = n - i0 < per ? n - i0 : per;
        float *dst = m == per ? out + i0 : tmp;
        if (normal) normal_blk(seed, base + (uint64_t)bi * BLK, dst, a, b);
        else uniform_blk(seed, base + (uint64_t)bi * BLK, dst, a, b);
        if (dst == tmp) memcpy(out + i0, tmp, (size_t)m * sizeof(float));
    }
}

void rt_rng_fill_uniform(rt_generator *g, float *out, int64_t n, float lo, float hi) {
    fill_blocks(g, out, n, lo, hi - lo, false);
}

void rt_rng_fill_normal(rt_generator *g, float *out, int64_t n, float mean, float std) {
    fill_blocks(g, out, n, mean, std, true);
}

uint64_t rt_rng_randint(rt_generator *g, uint64_t n) {
    if (!g) g = &default_gen;
    if (n <= 1) return 0;
    uint64_t base = rt_rng_reserve(g, 4);
    uint32_t w[4];
    philox(g->seed, base, w);
    uint64_t r = ((uint64_t)w[0] << 32) | w[1];
    /* 64-bit draw: bias < n / 2^64, negligible */
    return r % n;
}
