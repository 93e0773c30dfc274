/* reduce.c — [O, R, I] reductions (reduce.h). Parallel over O when there are
 * enough rows, over I-chunks when I is wide, over R when everything reduces to
 * one value. */
#include <math.h>
#include <omp.h>
#include <string.h>
#include "reduce.h"

#define PAR_MIN 32768

double rt_k_sum_f32(const float *x, int64_t n) {
    double s = 0;
    #pragma omp parallel for simd reduction(+:s) schedule(static) if (n >= PAR_MIN)
    for (int64_t i = 0; i < n; i++) s += x[i];
    return s;
}

void rt_k_sum_ori(const float *x, float *out, int64_t O, int64_t R, int64_t I, double scale) {
    int64_t total = O * R * I;
    if (I == 1) {
        if (O == 1) { out[0] = (float)(rt_k_sum_f32(x, R) * scale); return; }
        #pragma omp parallel for schedule(static) if (total >= PAR_MIN)
        for (int64_t o = 0; o < O; o++) {
            const float *p = x + o * R;
            double s = 0;
            #pragma omp simd reduction(+:s)
            for (int64_t r = 0; r < R; r++) s += p[r];
            out[o] = (float)(s * scale);
        }
        return;
    }
    /* tasks: (o, chunk of I) */
    int64_t CH = 512, nch = (I + CH - 1) / CH, tasks = O * nch;
    #pragma omp parallel for schedule(static) if (total >= PAR_MIN)
    for (int64_t t = 0; t < tasks; t++) {
        int64_t o = t / nch, i0 = (t % nch) * CH, n = I - i0 < CH ? I - i0 : CH;
        float acc[512];
        memset(acc, 0, sizeof acc);
        const float *p = x + o * R * I + i0;
        for (int64_t r = 0; r < R; r++) {
            const float *row = p + r * I;
            #pragma omp simd
            for (int64_t i = 0; i < n; i++) acc[i] += row[i];
        }
        float *dst = out + o * I + i0;
        for (int64_t i = 0; i < n; i++) dst[i] = (float)(acc[i] * scale);
    }
}

void rt_k_var_ori(const float *x, float *out, int64_t O, int64_t R, int64_t I, int64_t correction) {
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

void rt_k_norm_ori(const float *x, float *out, int64_t O, int64_t R, int64_t I, double p) {
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

void rt_k_maxmin_ori(const float *x, float *out, int64_t *idx, int64_t O, int64_t R, int64_t I, bool is_max) {
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
