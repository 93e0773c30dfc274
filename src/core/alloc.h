/* alloc.h — the one allocator for tensor memory: 64-byte aligned, with live/peak
 * byte counters and a size-class cache so a training step does not go back to
 * malloc/the kernel for every activation. */
#ifndef RT_ALLOC_H
#define RT_ALLOC_H

#include <stddef.h>
#include <stdint.h>

void *rt_alloc(size_t nbytes);          /* 64-byte aligned; NULL (message set) on failure */
void rt_free(void *p, size_t nbytes);   /* nbytes must be the size passed to rt_alloc */

typedef struct {
    int64_t live_bytes;     /* bytes in tensors now */
    int64_t peak_bytes;     /* max of live_bytes since start / last reset */
    int64_t cached_bytes;   /* bytes held in the size-class cache */
    int64_t n_allocs, n_cache_hits;
} rt_mem_stats;

rt_mem_stats rt_memory_stats(void);
void rt_memory_reset_peak(void);
void rt_memory_trim(void);              /* return cached blocks to the system */

#endif
