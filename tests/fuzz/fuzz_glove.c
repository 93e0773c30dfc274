/* fuzz_glove.c — libFuzzer target: the GloVe text reader on arbitrary bytes (through
 * fmemopen), the row-wise top-k over the rows it read, and their invariants. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "io/glove.h"
#include "kernels/topk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    FILE *f = fmemopen((void *)(data + 1), size - 1, "rb");
    if (!f) return 0;
    rt_glove g;
    if (rt_glove_read_stream(f, "fuzz.txt", data[0] % 8, &g) == RT_OK) {
        if (g.n <= 0 || g.dim <= 0 || !g.emb) __builtin_trap();
        const float *E = rt_f32(g.emb);
        for (int64_t i = 0; i < g.n; i++) {
            double ss = 0;
            for (int64_t j = 0; j < g.dim; j++) ss += (double)E[i * g.dim + j] * E[i * g.dim + j];
            if (g.zero[i] ? ss != 0 : fabs(ss - 1) > 1e-3) __builtin_trap();
        }
        int64_t k = 3, *out = malloc((size_t)(g.n * k) * sizeof *out);
        if (out && rt_k_topk_rows_f32(E, g.n, g.dim, k, NULL, NULL, out) == RT_OK)
            for (int64_t i = 0; i < g.n * k; i++) if (out[i] < -1 || out[i] >= g.dim) __builtin_trap();
        free(out);
        rt_glove_free(&g);
    }
    fclose(f);
    return 0;
}
