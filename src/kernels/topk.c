/* topk.c — row-wise top-k by insertion into a sorted list of k (k is small). */
#include "topk.h"

#include <stdlib.h>

/* (value, column) before (value', column') when value is larger, or equal with a lower column. */
static int better(float v, int64_t c, float v2, int64_t c2) { return v > v2 || (v == v2 && c < c2); }

rt_status rt_k_topk_rows_f32(const float *s, int64_t R, int64_t C, int64_t k, const uint8_t *skip,
                       const int64_t *self, int64_t *out) {
    if (k <= 0) return RT_OK;
    float *hv = malloc((size_t)k * sizeof *hv);
    if (!hv) return rt_errorf(RT_ENOMEM, "topk: out of memory");
    for (int64_t r = 0; r < R; r++) {
        const float *row = s + r * C;
        int64_t *idx = out + r * k, n = 0, me = self ? self[r] : -1;
        /* keep a sorted list of the best k (k is small: 15) */
        for (int64_t c = 0; c < C; c++) {
            if ((skip && skip[c]) || c == me) continue;
            float v = row[c];
            if (v != v) continue;                    /* NaN never ranks */
            if (n == k && !better(v, c, hv[k - 1], idx[k - 1])) continue;
            int64_t j = n < k ? n++ : k - 1;
            while (j > 0 && better(v, c, hv[j - 1], idx[j - 1])) { hv[j] = hv[j - 1]; idx[j] = idx[j - 1]; j--; }
            hv[j] = v; idx[j] = c;
        }
        for (int64_t j = n; j < k; j++) idx[j] = -1;
    }
    free(hv);
    return RT_OK;
}
