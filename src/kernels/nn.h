/* nn.h — raw-pointer kernels for the nn ops (softmax, layer_norm, embedding,
 * dropout, losses, attention core). No tensors, no autograd: the ops in
 * src/autograd/ops_{nn,loss,attention}.c check shapes and call these. All are
 * parallel inside (OpenMP) and must not be called from a parallel region.
 * Arrays are contiguous unless strides are given. */
#ifndef RT_KERNELS_NN_H
#define RT_KERNELS_NN_H

#include <stdbool.h>
#include <stdint.h>
#include "../core/status.h"
#include "kernel.h"   /* the kernel rule: read it first */

/* --- softmax.c: x viewed as [outer, n, inner], softmax over n --- */
void rt_k_softmax(float *y, const float *x, int64_t outer, int64_t n, int64_t inner, bool log);
/* softmax:     gx = y * (gy - Σ gy·y)
 * log_softmax: gx = gy - exp(y) * Σ gy        (y = the forward output; gx may alias gy) */
void rt_k_softmax_bwd(float *gx, const float *y, const float *gy, int64_t outer, int64_t n, int64_t inner,
                      bool log);

/* --- norm.c: layer norm over rows of n (x [rows, n]); w, b [n] or NULL ---
 * Saves mean[rows] and rstd[rows] = 1/sqrt(var + eps) (biased variance). */
void rt_k_layer_norm(float *y, float *mean, float *rstd, const float *x, const float *w, const float *b,
                     int64_t rows, int64_t n, float eps);
/* gx [rows,n] (may be NULL), gw/gb [n] (NULL to skip; overwritten, not accumulated). */
rt_status rt_k_layer_norm_bwd(float *gx, float *gw, float *gb, const float *gy, const float *x, const float *w,
                              const float *mean, const float *rstd, int64_t rows, int64_t n);

/* --- embedding.c: ids are i64 (ids64) or i32 (ids32), exactly one non-NULL --- */
/* Index of the first id outside [0, V), or -1 when all are valid. */
int64_t rt_k_embedding_check(const int64_t *ids64, const int32_t *ids32, int64_t n, int64_t V);
/* out[i, :] = w[ids[i], :]   (w [V, D], out [n, D]) */
void rt_k_embedding(float *out, const float *w, const int64_t *ids64, const int32_t *ids32, int64_t n,
                    int64_t D);
/* gw[ids[i], :] += gy[i, :] (gw [V, D]); threads own column blocks: no races,
 * deterministic (same order as serial). */
void rt_k_embedding_bwd(float *gw, const float *gy, const int64_t *ids64, const int32_t *ids32, int64_t n,
                        int64_t D);

/* --- dropout.c: inverted dropout with a counter-based (Philox) mask ---
 * Element i is kept when rt_rng_uniform(seed, base, i) >= p; kept values are
 * scaled by 1/(1-p). The same call is the forward (x -> y) and the backward
 * (gy -> gx): the mask is regenerated from (seed, base), never stored.
 * Results do not depend on the thread count. y may alias x. */
void rt_k_dropout(float *y, const float *x, int64_t n, float p, uint64_t seed, uint64_t base);
/* The keep decision for element i (for tests). */
bool rt_k_dropout_keep(uint64_t seed, uint64_t base, uint64_t i, float p);

/* --- loss.c --- */
/* Cross-entropy over rows: logits [N, C], labels [N] (i64). For row r with
 * label != ignore: loss[r] = lse[r] - logits[r, label]; ignored rows get 0.
 * Saves lse[N]; *sum (when not NULL) = the sum of loss in row order. Returns the
 * number of non-ignored rows, or -1 (and sets the message) when a label is
 * outside [0, C). */
int64_t rt_k_cross_entropy(float *loss, float *lse, double *sum, const float *logits, const int64_t *labels,
                           int64_t N, int64_t C, int64_t ignore);
/* gx[r, :] = gscale[r * gstride] * (softmax(logits[r]) - onehot(label)), 0 on ignored rows. */
void rt_k_cross_entropy_bwd(float *gx, const float *gscale, int64_t gstride, const float *logits, const float *lse,
                            const int64_t *labels, int64_t N, int64_t C, int64_t ignore);
/* TinyBERT soft cross-entropy: mean over N*C of -softmax(t/T) * log_softmax(s/T). */
double rt_k_soft_cross_entropy(const float *s, const float *t, int64_t N, int64_t C, double T);
/* gs = g * (softmax(s/T) - softmax(t/T)) / (T * N * C) */
void rt_k_soft_cross_entropy_bwd(float *gs, const float *s, const float *t, int64_t N, int64_t C, double T, float g);

/* mse: out[i] = (a - b)^2; rt_k_mse_sum = Σ (a - b)^2 in double.
 * Backward: d = k * (a - b) * (g ? g[i] : 1); ga = d, gb = -d (either may be NULL). */
void rt_k_mse(float *out, const float *a, const float *b, int64_t n);
double rt_k_mse_sum(const float *a, const float *b, int64_t n);
void rt_k_mse_bwd(float *ga, float *gb, const float *a, const float *b, const float *g, int64_t n, float k);
/* kl_div (torch.nn.functional.kl_div, log_target=False): out[i] = t > 0 ? t (log t - logp) : 0;
 * rt_k_kl_div_sum = the same summed in double. Backward with s = g ? g[i] : k:
 * gx = -t * s, gt = t > 0 ? (log t + 1 - logp) * s : 0 (either may be NULL). */
void rt_k_kl_div(float *out, const float *logp, const float *t, int64_t n);
double rt_k_kl_div_sum(const float *logp, const float *t, int64_t n);
void rt_k_kl_div_bwd(float *gx, float *gt, const float *logp, const float *t, const float *g, int64_t n, float k);

/* --- attention.c: the attention core over heads ---
 * A "heads" operand is [B, H, S, X] with the last dim contiguous and strides
 * (sb, sh, ss) in elements, so [B, S, H, D] activations (after a permute) need
 * no copy. rel is [S, S, D] contiguous or NULL; scores/probs are contiguous
 * [B, H, S, S]. */
typedef struct { const float *p; int64_t sb, sh, ss; } rt_heads;
typedef struct { float *p; int64_t sb, sh, ss; } rt_heads_out;
typedef struct { const float *p; int64_t sb, sh, si, sj; } rt_mask4;   /* strides 0 = broadcast */

/* scores = (q·kᵀ + q·relᵀ) * scale + mask */
rt_status rt_k_attn_scores(float *scores, rt_heads q, rt_heads k, const float *rel, rt_mask4 mask, int64_t B,
                           int64_t H, int64_t S, int64_t D, float scale);
/* gq/gk (contiguous [B,H,S,D]; either may be NULL) from gs [B,H,S,S]. */
rt_status rt_k_attn_scores_bwd(float *gq, float *gk, const float *gs, rt_heads q, rt_heads k, const float *rel,
                               int64_t B, int64_t H, int64_t S, int64_t D, float scale);
/* ctx = p·v + p·rel  (p [B,H,S,S] = the dropped-out probabilities) */
rt_status rt_k_attn_context(rt_heads_out ctx, const float *p, rt_heads v, const float *rel, int64_t B, int64_t H,
                            int64_t S, int64_t D);
/* gp [B,H,S,S] (overwritten), gv contiguous [B,H,S,D] (may be NULL) from gctx. */
rt_status rt_k_attn_context_bwd(float *gp, float *gv, rt_heads gctx, const float *p, rt_heads v, const float *rel,
                                int64_t B, int64_t H, int64_t S, int64_t D);

#endif
