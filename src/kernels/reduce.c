/* reduce.c — [O, R, I] reductions (reduce.h). Parallel over O when there are
 * enough rows, over I-chunks when I is wide, over R when everything reduces to
 * one value. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "reduce.h"

#define PAR_MIN 32768

/* float lanes within blocks of 1024 (vectorised), blocks summed in double */
static inline double sum_blocks(const float *x, int64_t n) {
    double s = 0;
    for (int64_t b = 0; b < n; b += 1024) {
        int64_t e = b + 1024 < n ? b + 1024 : n, i = b;
        float acc[32] = {0};   /* 4 vector accumulators: no add-latency chain */
        for (; i + 32 <= e; i += 32)
            for (int k = 0; k < 32; k++) acc[k] += x[i + k];
        float fs = 0;
        for (; i < e; i++) fs += x[i];
        for (int k = 0; k < 32; k++) fs += acc[k];
        s += fs;
    }
    return s;
}

static double sum_f32(const float *x, int64_t n) {
    if (n < PAR_MIN) return sum_blocks(x, n);
    int64_t nb = (n + 16383) / 16384;
    double s = 0;
    #pragma omp parallel for reduction(+:s) schedule(static)
    for (int64_t b = 0; b < nb; b++) {
        int64_t e = (b + 1) * 16384 < n ? (b + 1) * 16384 : n;
        s += sum_blocks(x + b * 16384, e - b * 16384);
    }
    return s;
}

void rt_k_sum_ori(float *out, const float *x, int64_t O, int64_t R, int64_t I, double scale) {
    int64_t total = O * R * I;
    if (I == 1) {
        if (O == 1) { out[0] = (float)(sum_f32(x, R) * scale); return; }
        #pragma omp parallel for schedule(static) if (total >= PAR_MIN)
        for (int64_t o = 0; o < O; o++) {
            out[o] = (float)(sum_blocks(x + o * R, R) * scale);
        }
        return;
    }
    /* rows of I streamed in order into an accumulator row (L1-resident for
     * I up to a few thousand): sequential reads, vector adds */
    int nt = omp_get_max_threads();
    if (O >= nt || total < PAR_MIN || nt == 1) {
        #pragma omp parallel for schedule(static) if (total >= PAR_MIN && O > 1)
        for (int64_t o = 0; o < O; o++) {
            float *acc = out + o * I;
            const float *p = x + o * R * I;
            memcpy(acc, p, (size_t)I * sizeof(float));
            for (int64_t r = 1; r < R; r++) {
                const float *row = p + r * I;
                #pragma omp simd
                for (int64_t i = 0; i < I; i++) acc[i] += row[i];
            }
            if (scale != 1.0) for (int64_t i = 0; i < I; i++) acc[i] = (float)(acc[i] * scale);
        }
        return;
    }
    /* few outer rows: split R across threads, partial rows summed in thread order */
    float *part = malloc((size_t)nt * (size_t)I * sizeof(float));
    if (!part) { nt = 1; part = out; }
    for (int64_t o = 0; o < O; o++) {
        const float *p = x + o * R * I;
        #pragma omp parallel num_threads(nt)
        {
            int id = omp_get_thread_num(), n_t = omp_get_num_threads();
            int64_t r0 = R * id / n_t, r1 = R * (id + 1) / n_t;
            float *acc = part + (size_t)id * (size_t)I;
            memset(acc, 0, (size_t)I * sizeof(float));
            for (int64_t r = r0; r < r1; r++) {
                const float *row = p + r * I;
                #pragma omp simd
                for (int64_t i = 0; i < I; i++) acc[i] += row[i];
            }
            #pragma omp barrier
            #pragma omp for schedule(static)
            for (int64_t i = 0; i < I; i++) {
                float s = 0;
                for (int k = 0; k < n_t; k++) s += part[(size_t)k * (size_t)I + i];
                out[o * I + i] = (float)(s * scale);
            }
        }
    }
    if (part != out) free(part);
}

void rt_k_var_ori(float *out, const float *x, int64_t O, int64_t R, int64_t I, int64_t correction) {
    int64_t total = O * R * I;
    double den = (double)(R - correction);
    #pragma omp parallel for schedule(static) if (total >= PAR_MIN)
    for (int64_t oi = 0; oi < O * I; oi++) {
        int64_t o = oi / I, i = oi % I;
        const float *p = x + o * R * I + i;
        double m = 0, s = 0;
        for (int64_t r = 0; r < R; r++) m += p[r * I];
        m /= (double)R;
        for (int64_t r = 0; r < R; r++) { double d = p[r * I] - m; s += d * d; }
        out[oi] = den > 0 ? (float)(s / den) : NAN;
    }
}

void rt_k_norm_ori(float *out, const float *x, int64_t O, int64_t R, int64_t I, double p) {
    int64_t total = O * R * I;
    #pragma omp parallel for schedule(static) if (total >= PAR_MIN)
    for (int64_t oi = 0; oi < O * I; oi++) {
        int64_t o = oi / I, i = oi % I;
        const float *q = x + o * R * I + i;
        double s = 0;
        if (isinf(p)) {
            for (int64_t r = 0; r < R; r++) { double a = fabs(q[r * I]); if (a > s || a != a) s = a; }
        } else if (p == 2) {
            for (int64_t r = 0; r < R; r++) s += (double)q[r * I] * q[r * I];
            s = sqrt(s);
        } else if (p == 1) {
            for (int64_t r = 0; r < R; r++) s += fabs(q[r * I]);
        } else if (p == 0) {
            for (int64_t r = 0; r < R; r++) s += q[r * I] != 0;
        } else {
            for (int64_t r = 0; r < R; r++) s += pow(fabs(q[r * I]), p);
            s = pow(s, 1.0 / p);
        }
        out[oi] = (float)s;
    }
}

void rt_k_maxmin_ori(float *out, int64_t *idx, const float *x, int64_t O, int64_t R, int64_t I, bool is_max) {
    int64_t total = O * R * I;
    #pragma omp parallel for schedule(static) if (total >= PAR_MIN)
    for (int64_t oi = 0; oi < O * I; oi++) {
        int64_t o = oi / I, i = oi % I;
        const float *q = x + o * R * I + i;
        float best = q[0];
        int64_t bi = 0;
        if (best == best) {
            for (int64_t r = 1; r < R; r++) {
                float v = q[r * I];
                if (v != v) { best = v; bi = r; break; }
                if (is_max ? v > best : v < best) { best = v; bi = r; }
            }
        }
        if (out) out[oi] = best;
        if (idx) idx[oi] = bi;
    }
}

void rt_k_sum_rows_f32(float *out, const float *x, int64_t rows, int64_t n) {
    memset(out, 0, (size_t)n * sizeof *out);
    int64_t nblk = (n + 63) / 64;
#pragma omp parallel for schedule(static) if (rows * n > 65536)
    for (int64_t blk = 0; blk < nblk; blk++) {
        int64_t c0 = blk * 64, c1 = c0 + 64 < n ? c0 + 64 : n;
        for (int64_t r = 0; r < rows; r++) {
            const float *xr = x + r * n;
#pragma omp simd
            for (int64_t c = c0; c < c1; c++) out[c] += xr[c];
        }
    }
}
