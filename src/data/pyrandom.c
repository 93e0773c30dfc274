/* pyrandom.c — CPython-compatible Mersenne Twister (Modules/_randommodule.c and
 * Lib/random.py semantics) plus a splitmix64 alternative. */
#include "pyrandom.h"
#include <string.h>

#define MT_N 624
#define MT_M 397

static void init_genrand(rt_pyrandom *r, uint32_t s) {
    r->mt[0] = s;
    for (int i = 1; i < MT_N; i++)
        r->mt[i] = 1812433253u * (r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) + (uint32_t)i;
    r->mti = MT_N;
}

static void init_by_array(rt_pyrandom *r, const uint32_t *key, int klen) {
    init_genrand(r, 19650218u);
    int i = 1, j = 0;
    for (int k = MT_N > klen ? MT_N : klen; k; k--) {
        r->mt[i] = (r->mt[i] ^ ((r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) * 1664525u)) + key[j] + (uint32_t)j;
        i++; j++;
        if (i >= MT_N) { r->mt[0] = r->mt[MT_N - 1]; i = 1; }
        if (j >= klen) j = 0;
    }
    for (int k = MT_N - 1; k; k--) {
        r->mt[i] = (r->mt[i] ^ ((r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) * 1566083941u)) - (uint32_t)i;
        i++;
        if (i >= MT_N) { r->mt[0] = r->mt[MT_N - 1]; i = 1; }
    }
    r->mt[0] = 0x80000000u;
}

void rt_pyrandom_seed(rt_pyrandom *r, rt_rng_kind kind, uint64_t seed) {
    memset(r, 0, sizeof *r);
    r->kind = kind;
    if (kind == RT_RNG_FAST) { r->sm = seed ^ 0x6a09e667f3bcc909ull; return; }
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    init_by_array(r, key, key[1] ? 2 : 1);   /* CPython: the 32-bit words of |seed|, at least one */
}

static uint32_t mt_next(rt_pyrandom *r) {
    static const uint32_t mag01[2] = {0u, 0x9908b0dfu};
    uint32_t y;
    if (r->mti >= MT_N) {
        int kk;
        for (kk = 0; kk < MT_N - MT_M; kk++) {
            y = (r->mt[kk] & 0x80000000u) | (r->mt[kk + 1] & 0x7fffffffu);
            r->mt[kk] = r->mt[kk + MT_M] ^ (y >> 1) ^ mag01[y & 1u];
        }
        for (; kk < MT_N - 1; kk++) {
            y = (r->mt[kk] & 0x80000000u) | (r->mt[kk + 1] & 0x7fffffffu);
            r->mt[kk] = r->mt[kk + (MT_M - MT_N)] ^ (y >> 1) ^ mag01[y & 1u];
        }
        y = (r->mt[MT_N - 1] & 0x80000000u) | (r->mt[0] & 0x7fffffffu);
        r->mt[MT_N - 1] = r->mt[MT_M - 1] ^ (y >> 1) ^ mag01[y & 1u];
        r->mti = 0;
    }
    y = r->mt[r->mti++];
    y ^= (y >> 11);
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= (y >> 18);
    return y;
}

uint32_t rt_pyrandom_u32(rt_pyrandom *r) {
    if (r->kind == RT_RNG_FAST) {
        uint64_t z = (r->sm += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return (uint32_t)((z ^ (z >> 31)) >> 32);
    }
    return mt_next(r);
}

double rt_pyrandom_random(rt_pyrandom *r) {
    uint32_t a = rt_pyrandom_u32(r) >> 5, b = rt_pyrandom_u32(r) >> 6;
    return ((double)a * 67108864.0 + (double)b) * (1.0 / 9007199254740992.0);
}

uint32_t rt_pyrandom_getrandbits(rt_pyrandom *r, int k) {
    return rt_pyrandom_u32(r) >> (32 - k);
}

uint64_t rt_pyrandom_below(rt_pyrandom *r, uint64_t n) {
    if (n == 0) return 0;
    int k = 0;
    for (uint64_t m = n; m; m >>= 1) k++;     /* n.bit_length() */
    uint64_t v = rt_pyrandom_getrandbits(r, k);
    while (v >= n) v = rt_pyrandom_getrandbits(r, k);
    return v;
}

int64_t rt_pyrandom_randint(rt_pyrandom *r, int64_t a, int64_t b) {
    return a + (int64_t)rt_pyrandom_below(r, (uint64_t)(b - a + 1));
}

void rt_pyrandom_shuffle(rt_pyrandom *r, void *base, size_t n, size_t elem) {
    unsigned char *p = base;
    if (n < 2) return;
    for (size_t i = n - 1; i >= 1; i--) {
        size_t j = (size_t)rt_pyrandom_below(r, i + 1);
        if (j != i)
            for (size_t b = 0; b < elem; b++) {
                unsigned char t = p[i * elem + b];
                p[i * elem + b] = p[j * elem + b];
                p[j * elem + b] = t;
            }
    }
}
