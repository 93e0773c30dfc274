/* embedding.c — row gather and its scatter-add backward. */
#include "nn.h"

#include <string.h>
#include <omp.h>

static inline int64_t id_at(const int64_t *i64, const int32_t *i32, int64_t i) {
    return i64 ? i64[i] : (int64_t)i32[i];
}

int64_t rt_k_embedding_check(const int64_t *ids64, const int32_t *ids32, int64_t n, int64_t V) {
    for (int64_t i = 0; i < n; i++) {
        int64_t id = id_at(ids64, ids32, i);
        if (id < 0 || id >= V) return i;
    }
    return -1;
}

void rt_k_embedding(float *out, const float *w, const int64_t *ids64, const int32_t *ids32, int64_t n,
                    int64_t D) {
#pragma omp parallel for schedule(static) if (n * D > 16384)
    for (int64_t i = 0; i < n; i++)
        memcpy(out + i * D, w + id_at(ids64, ids32, i) * D, (size_t)D * sizeof(float));
}

void rt_k_embedding_bwd(float *gw, const float *gy, const int64_t *ids64, const int32_t *ids32, int64_t n,
                        int64_t D) {
    /* Each thread owns a block of columns and walks all ids in order: no two
     * threads write the same element, and the summation order is the serial one. */
#pragma omp parallel if (n * D > 16384)
    {
        int nt = omp_get_num_threads(), t = omp_get_thread_num();
        int64_t blk = ((D + nt - 1) / nt + 15) / 16 * 16;
        int64_t c0 = t * blk, c1 = c0 + blk < D ? c0 + blk : D;
        if (c0 < c1) {
            for (int64_t i = 0; i < n; i++) {
                float *dst = gw + id_at(ids64, ids32, i) * D;
                const float *src = gy + i * D;
#pragma omp simd
                for (int64_t c = c0; c < c1; c++) dst[c] += src[c];
            }
        }
    }
}
