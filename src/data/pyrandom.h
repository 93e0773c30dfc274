/* pyrandom.h — CPython's random.Random on MT19937, bit for bit: seeding an int
 * seed (init_by_array over its 32-bit words), random() (53 bits from two draws),
 * getrandbits(k <= 32), _randbelow (rejection on getrandbits(bit_length(n))),
 * randint(a, b) and shuffle (i from n-1 down to 1, j = _randbelow(i + 1)).
 * A second generator kind (splitmix64, RT_RNG_FAST) has the same interface and
 * the same derived functions, for runs that need no parity with Python. */
#ifndef RT_DATA_PYRANDOM_H
#define RT_DATA_PYRANDOM_H

#include <stddef.h>
#include <stdint.h>

typedef enum { RT_RNG_PYTHON = 0, RT_RNG_FAST = 1 } rt_rng_kind;

typedef struct {
    rt_rng_kind kind;
    uint32_t mt[624];
    int mti;
    uint64_t sm;            /* splitmix64 state (RT_RNG_FAST) */
} rt_pyrandom;

/* random.Random(seed) for seed >= 0 (kind PYTHON); FAST seeds splitmix64. */
void rt_pyrandom_seed(rt_pyrandom *r, rt_rng_kind kind, uint64_t seed);
uint32_t rt_pyrandom_u32(rt_pyrandom *r);                 /* genrand_uint32 */
double rt_pyrandom_random(rt_pyrandom *r);                /* [0, 1) */
uint32_t rt_pyrandom_getrandbits(rt_pyrandom *r, int k);  /* 1 <= k <= 32 */
uint64_t rt_pyrandom_below(rt_pyrandom *r, uint64_t n);   /* _randbelow(n), n < 2^32; 0 if n == 0 */
int64_t rt_pyrandom_randint(rt_pyrandom *r, int64_t a, int64_t b);   /* a <= x <= b */
/* random.shuffle over n elements of size elem (in place). */
void rt_pyrandom_shuffle(rt_pyrandom *r, void *base, size_t n, size_t elem);

#endif
