/* alloc.c — 64-byte aligned allocator with live/peak counters and a size-class
 * cache (alloc.h). Blocks >= 4 KB are rounded up to classes of 2^k * {5,6,7,8}/4
 * (at most 25% slack) and kept on per-class free lists when freed, up to a cap
 * on cached bytes (RETORT_CACHE_MB, default: the peak of live bytes), so a
 * training step reuses its activation memory instead of faulting fresh pages in
 * every step. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "alloc.h"
#include "status.h"

#define ALIGN 64
#define MIN_CACHED 4096
#define NBINS 256
#define HUGE_MIN ((size_t)4 << 20)
#define HUGE_ALIGN ((size_t)2 << 20)

typedef struct block { struct block *next; } block;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static block *bins[NBINS];
static rt_mem_stats st;
static int64_t cache_cap = -1;

/* Cached bytes allowed: RETORT_CACHE_MB when set, else the peak of live bytes
 * (at least 256 MB): a training step reuses its own activation memory, and the
 * process never holds more than about twice its peak. Called with mu held. */
static int64_t cap(void) {
    if (cache_cap == -1) {
        const char *e = getenv("RETORT_CACHE_MB");
        cache_cap = e && *e ? ((int64_t)(atoll(e) < 0 ? 0 : atoll(e)) << 20) : -2;
    }
    if (cache_cap >= 0) return cache_cap;
    return st.peak_bytes > (256LL << 20) ? st.peak_bytes : (256LL << 20);
}

/* Rounded size of a request and its bin (-1: not cached). */
static size_t size_class(size_t n, int *bin) {
    if (n < MIN_CACHED) { *bin = -1; return (n + ALIGN - 1) & ~(size_t)(ALIGN - 1); }
    int k = 63 - __builtin_clzll((unsigned long long)(n - 1));   /* 2^k < n <= 2^(k+1) */
    size_t step = (size_t)1 << (k - 2);
    size_t m = (n + step - 1) / step;                              /* 5..8 */
    *bin = k * 4 + (int)(m - 5);
    if (*bin >= NBINS) *bin = -1;
    return m * step;
}

/* RETORT_MEMORY_LIMIT_MB caps the live tensor bytes (0/unset: no cap): a request
 * past it fails like a failed malloc (used to test out-of-memory paths). */
static int64_t mem_limit = -1;

void *rt_alloc(size_t nbytes) {
    if (nbytes == 0) nbytes = 1;
    int bin;
    size_t sz = size_class(nbytes, &bin);
    void *p = NULL;
    pthread_mutex_lock(&mu);
    if (mem_limit < 0) {
        const char *e = getenv("RETORT_MEMORY_LIMIT_MB");
        mem_limit = e && atoll(e) > 0 ? (int64_t)atoll(e) << 20 : 0;
    }
    if (mem_limit > 0 && (nbytes > (size_t)mem_limit || st.live_bytes + (int64_t)nbytes > mem_limit)) {
        pthread_mutex_unlock(&mu);
        rt_errorf(RT_ENOMEM, "out of memory allocating %zu bytes (RETORT_MEMORY_LIMIT_MB)", nbytes);
        return NULL;
    }
    st.n_allocs++;
    if (bin >= 0 && bins[bin]) {
        p = bins[bin];
        bins[bin] = bins[bin]->next;
        st.cached_bytes -= (int64_t)sz;
        st.n_cache_hits++;
    }
    pthread_mutex_unlock(&mu);
    if (!p) {
        /* big blocks: 2 MB aligned and advised as transparent huge pages (fewer
         * TLB misses when streaming activations, as PyTorch's allocator does) */
        size_t al = sz >= HUGE_MIN ? HUGE_ALIGN : ALIGN;
        /* posix_memalign: C11's aligned_alloc wants sz to be a multiple of al, which a
         * size class need not be for 2 MB alignment (AddressSanitizer rejects it) */
        if (posix_memalign(&p, al, sz) != 0) {
            rt_memory_trim();
            if (posix_memalign(&p, al, sz) != 0) p = NULL;
        }
        if (p && sz >= HUGE_MIN) madvise(p, sz, MADV_HUGEPAGE);
        if (!p) { rt_errorf(RT_ENOMEM, "out of memory allocating %zu bytes", nbytes); return NULL; }
    }
    pthread_mutex_lock(&mu);
    st.live_bytes += (int64_t)nbytes;
    if (st.live_bytes > st.peak_bytes) st.peak_bytes = st.live_bytes;
    pthread_mutex_unlock(&mu);
    return p;
}

void rt_free(void *p, size_t nbytes) {
    if (!p) return;
    if (nbytes == 0) nbytes = 1;
    int bin;
    size_t sz = size_class(nbytes, &bin);
    pthread_mutex_lock(&mu);
    st.live_bytes -= (int64_t)nbytes;
    if (bin >= 0 && st.cached_bytes + (int64_t)sz <= cap()) {
        block *b = p;
        b->next = bins[bin];
        bins[bin] = b;
        st.cached_bytes += (int64_t)sz;
        p = NULL;
    }
    pthread_mutex_unlock(&mu);
    free(p);
}

rt_mem_stats rt_memory_stats(void) {
    pthread_mutex_lock(&mu);
    rt_mem_stats s = st;
    pthread_mutex_unlock(&mu);
    return s;
}

void rt_memory_reset_peak(void) {
    pthread_mutex_lock(&mu);
    st.peak_bytes = st.live_bytes;
    pthread_mutex_unlock(&mu);
}

void rt_memory_trim(void) {
    pthread_mutex_lock(&mu);
    for (int i = 0; i < NBINS; i++) {
        while (bins[i]) { block *b = bins[i]; bins[i] = b->next; free(b); }
    }
    st.cached_bytes = 0;
    pthread_mutex_unlock(&mu);
}
