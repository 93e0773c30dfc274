/* rng.c — Philox4x32-10 counter-based generator (rng.h). A draw is a pure
 * function of (seed, counter), so fills run in parallel and give the same
 * numbers for any thread count. Uniform element i of a reservation at `base`
 * is word i%4 of philox(seed, base + i/4); normal element i uses the pair of
 * words (2*(i%2), 2*(i%2)+1) of philox(seed, base + i/2) through Box-Muller. */
#include <math.h>
#include "rng.h"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

static rt_generator default_gen = {0x5eed5eedULL, 0};

static inline void philox(uint64_t seed, uint64_t ctr, uint32_t out[4]) {
    uint32_t c0 = (uint32_t)ctr, c1 = (uint32_t)(ctr >> 32), c2 = 0, c3 = 0;
    uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
    for (int r = 0; r < 10; r++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0, p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c1 = (uint32_t)p1;
        c3 = (uint32_t)p0;
        c0 = n0;
        c2 = n2;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
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

static inline float u01(uint32_t u) { return (float)(u >> 8) * (1.0f / 16777216.0f); }

uint32_t rt_rng_u32(uint64_t seed, uint64_t base, uint64_t i) {
    uint32_t w[4];
    philox(seed, base + i / 4, w);
    return w[i % 4];
}

float rt_rng_uniform(uint64_t seed, uint64_t base, uint64_t i) { return u01(rt_rng_u32(seed, base, i)); }

void rt_rng_fill_uniform(rt_generator *g, float *out, int64_t n, float lo, float hi) {
    if (!g) g = &default_gen;
    uint64_t base = rt_rng_reserve(g, (uint64_t)n), seed = g->seed;
    int64_t nb = (n + 3) / 4;
    float scale = hi - lo;
    #pragma omp parallel for schedule(static) if (n > 65536)
    for (int64_t b = 0; b < nb; b++) {
        uint32_t w[4];
        philox(seed, base + (uint64_t)b, w);
        for (int j = 0; j < 4; j++) {
            int64_t i = b * 4 + j;
            if (i < n) out[i] = lo + scale * u01(w[j]);
        }
    }
}

void rt_rng_fill_normal(rt_generator *g, float *out, int64_t n, float mean, float std) {
    if (!g) g = &default_gen;
    uint64_t base = rt_rng_reserve(g, (uint64_t)n), seed = g->seed;
    int64_t nb = (n + 1) / 2;
    #pragma omp parallel for schedule(static) if (n > 32768)
    for (int64_t b = 0; b < nb; b++) {
        uint32_t w[4];
        philox(seed, base + (uint64_t)b, w);
        for (int j = 0; j < 2; j++) {
            int64_t i = b * 2 + j;
            if (i >= n) break;
            /* u1 in (0,1] so log is finite */
            double u1 = ((double)(w[2 * j] >> 8) + 1.0) * (1.0 / 16777216.0);
            double u2 = (double)(w[2 * j + 1] >> 8) * (1.0 / 16777216.0);
            double z = sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
            out[i] = mean + std * (float)z;
        }
    }
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
