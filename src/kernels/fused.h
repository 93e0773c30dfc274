/* fused.h — serial one-pass epilogues and per-head attention for the inference
 * path (models/infer.c). Unlike the other kernels these run on one thread and
 * may (must) be called from inside an OpenMP parallel region: the caller owns
 * the one parallel region of a layer and hands each thread its slice. */
#ifndef RT_KERNELS_FUSED_H
#define RT_KERNELS_FUSED_H

#include <stdint.h>
#include "kernel.h"   /* the kernel rule: read it first */

/* y[m, 0:n) = act(y[m, 0:n) + b[0:n)) for M rows of stride ldy; kind is an
 * rt_unary_kind (RT_GELU, RT_GELU_TANH, RT_RELU; -1: bias only). */
void rt_k_bias_act_rows(int kind, float *y, int64_t ldy, const float *b, int64_t M, int64_t n);

/* y[r] = LayerNorm((x[r] + bias) + res[r]) * w + lb over rows of n
 * (the training path's linear + dropout(eval) + add + layer_norm, one pass).
 * y may alias x or res. */
void rt_k_bias_res_ln_rows(float *y, const float *x, const float *bias, const float *res, const float *w,
                           const float *lb, int64_t rows, int64_t n, float eps);

/* One sequence, one head: ctx[S, d] (row stride ldc) = softmax((q·kᵀ + q·relᵀ)
 * * scale + mask) · v (+ p·rel). q, k, v [S, d] with row stride ld; mask [S]
 * additive over keys or NULL; rel [S, S, d] or NULL; scratch [S*S]. */
void rt_k_attn_head(float *ctx, int64_t ldc, const float *q, const float *k, const float *v, int64_t ld,
                    const float *mask, const float *rel, int64_t S, int64_t d, float scale, float *scratch);

#endif
