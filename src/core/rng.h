/* rng.h — seeded counter-based generator (Philox4x32-10). A generator is a key
 * (seed) and a 64-bit counter; each op that draws n numbers takes a block of the
 * counter space, so results do not depend on the thread count and can be
 * produced in parallel (element i uses counter base + i/4). */
#ifndef RT_RNG_H
#define RT_RNG_H

#include <stdint.h>

typedef struct { uint64_t seed; uint64_t offset; } rt_generator;

rt_generator *rt_default_generator(void);
void rt_manual_seed(uint64_t seed);                    /* reseeds the default generator */
/* Reserve n draws: returns the counter base to use and advances the generator. */
uint64_t rt_rng_reserve(rt_generator *g, uint64_t n);
/* The i-th uniform in [0,1) / 32-bit word of the stream (seed, base). */
float rt_rng_uniform(uint64_t seed, uint64_t base, uint64_t i);
uint32_t rt_rng_u32(uint64_t seed, uint64_t base, uint64_t i);
/* Fill helpers (parallel, thread-count independent). */
void rt_rng_fill_uniform(rt_generator *g, float *out, int64_t n, float lo, float hi);
void rt_rng_fill_normal(rt_generator *g, float *out, int64_t n, float mean, float std);
/* The raw Philox4x32-10 block for (seed, counter): 4 words (for vectorised kernels). */
void rt_philox(uint64_t seed, uint64_t ctr, uint32_t out[4]);
/* Philox4x32-10 round multipliers and key increments (for vectorised copies of
 * rt_philox that must produce the same stream, e.g. kernels/dropout.c). */
#define RT_PHILOX_M0 0xD2511F53u
#define RT_PHILOX_M1 0xCD9E8D57u
#define RT_PHILOX_W0 0x9E3779B9u
#define RT_PHILOX_W1 0xBB67AE85u
/* Uniform integer in [0, n) for shuffling etc. */
uint64_t rt_rng_randint(rt_generator *g, uint64_t n);

#endif
