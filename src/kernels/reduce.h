/* reduce.h — reductions over the middle axis of a contiguous f32 array viewed
 * as [O, R, I] (outer, reduced, inner); results are [O, I]. Any reduction over
 * a set of dims is brought to this form by the op layer (a permuting copy when
 * the reduced dims are not adjacent). Sums accumulate in double when I == 1. */
#ifndef RT_KERNELS_REDUCE_H
#define RT_KERNELS_REDUCE_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel.h"   /* the kernel rule: read it first */

/* out[o,i] = scale * sum_r x[o,r,i] */
void rt_k_sum_ori(float *out, const float *x, int64_t O, int64_t R, int64_t I, double scale);
/* out[o,i] = sum_r (x - mean)^2 / (R - correction) */
void rt_k_var_ori(float *out, const float *x, int64_t O, int64_t R, int64_t I, int64_t correction);
/* out[o,i] = (sum_r |x|^p)^(1/p); p = INFINITY: max |x| */
void rt_k_norm_ori(float *out, const float *x, int64_t O, int64_t R, int64_t I, double p);
/* max (is_max) or min over r with the first index of it; NaN wins. out/idx may be NULL. */
void rt_k_maxmin_ori(float *out, int64_t *idx, const float *x, int64_t O, int64_t R, int64_t I, bool is_max);
/* out[n] = Σ_r x[r, n] (x [rows, n]), each column summed in row order in float, so
 * the result does not depend on the thread count (a bias gradient). */
void rt_k_sum_rows_f32(float *out, const float *x, int64_t rows, int64_t n);

#endif
