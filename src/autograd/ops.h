/* ops.h — the differentiable op set. Each op checks its arguments,
 * computes with kernels/, and records a graph node when grad is needed.
 * Conventions: dims are 0-based, negative dims count from the end; functions
 * return a NEW reference or NULL with the message set ("matmul: [2,3] x [4,5]:
 * inner sizes differ"); inputs are borrowed. Binary ops broadcast like PyTorch. */
#ifndef RT_OPS_H
#define RT_OPS_H

#include "../core/tensor.h"
#include "../core/rng.h"

#define RT_ALLDIMS 0x7fff   /* for reductions/squeeze: all dims */

/* --- creation (leaves, no graph) --- */
rt_tensor *rt_zeros(rt_dtype dt, int ndim, const int64_t *shape);
rt_tensor *rt_ones(rt_dtype dt, int ndim, const int64_t *shape);
rt_tensor *rt_rand(rt_generator *g, int ndim, const int64_t *shape);       /* U[0,1) f32 */
rt_tensor *rt_randn(rt_generator *g, int ndim, const int64_t *shape);      /* N(0,1) f32 */
rt_tensor *rt_arange(double start, double end, double step, rt_dtype dt);
rt_tensor *rt_eye(int64_t n, int64_t m, rt_dtype dt);

/* --- elementwise (broadcasting) --- */
rt_tensor *rt_add(rt_tensor *a, rt_tensor *b);
rt_tensor *rt_sub(rt_tensor *a, rt_tensor *b);
rt_tensor *rt_mul(rt_tensor *a, rt_tensor *b);
rt_tensor *rt_div(rt_tensor *a, rt_tensor *b);
rt_tensor *rt_pow(rt_tensor *a, rt_tensor *b);
rt_tensor *rt_add_scalar(rt_tensor *a, double s);     /* a + s */
rt_tensor *rt_mul_scalar(rt_tensor *a, double s);     /* a * s */
rt_tensor *rt_rsub_scalar(rt_tensor *a, double s);    /* s - a */
rt_tensor *rt_rdiv_scalar(rt_tensor *a, double s);    /* s / a */
rt_tensor *rt_pow_scalar(rt_tensor *a, double p);     /* a ^ p */
rt_tensor *rt_rpow_scalar(rt_tensor *a, double s);    /* s ^ a */

typedef enum {
    RT_NEG, RT_EXP, RT_LOG, RT_SQRT, RT_RSQRT, RT_ABS, RT_TANH, RT_SIGMOID,
    RT_RELU, RT_GELU /* erf */, RT_GELU_TANH, RT_FLOOR, RT_CEIL, RT_ROUND, RT_SIGN,
    RT_NUNARY
} rt_unary_kind;
rt_tensor *rt_unary(rt_unary_kind k, rt_tensor *a);
rt_tensor *rt_clamp(rt_tensor *a, double lo, double hi);  /* NAN = no bound */
rt_tensor *rt_where(rt_tensor *cond, rt_tensor *a, rt_tensor *b);
rt_tensor *rt_masked_fill(rt_tensor *a, rt_tensor *mask, double value);

typedef enum { RT_EQ, RT_NE, RT_LT, RT_LE, RT_GT, RT_GE } rt_cmp_kind;
rt_tensor *rt_compare(rt_cmp_kind k, rt_tensor *a, rt_tensor *b);   /* -> bool */
rt_tensor *rt_compare_scalar(rt_cmp_kind k, rt_tensor *a, double s);

/* dtype conversion (differentiable f32<->bf16; ints detached) */
rt_tensor *rt_to(rt_tensor *a, rt_dtype dt);

/* --- reductions: dims[0..ndims) (ndims 0 = all) --- */
rt_tensor *rt_sum(rt_tensor *a, const int *dims, int ndims, bool keepdim);
rt_tensor *rt_mean(rt_tensor *a, const int *dims, int ndims, bool keepdim);
rt_tensor *rt_var(rt_tensor *a, const int *dims, int ndims, int correction, bool keepdim);
rt_tensor *rt_norm(rt_tensor *a, double p, const int *dims, int ndims, bool keepdim);
/* max/min over one dim (dim = RT_ALLDIMS: over everything, indices then flat);
 * *indices (i64) optional. Gradient flows to the selected element. */
rt_tensor *rt_max(rt_tensor *a, int dim, bool keepdim, rt_tensor **indices);
rt_tensor *rt_min(rt_tensor *a, int dim, bool keepdim, rt_tensor **indices);
rt_tensor *rt_argmax(rt_tensor *a, int dim, bool keepdim);
rt_tensor *rt_argmin(rt_tensor *a, int dim, bool keepdim);

/* --- linear algebra --- */
/* 1-D/2-D/batched with broadcasting of batch dims (torch.matmul); transposed
 * (non-contiguous) operands go to GEMM with transpose flags, not copies. */
rt_tensor *rt_matmul(rt_tensor *a, rt_tensor *b);
/* x[..., in] · w[out, in]^T + b[out] (b may be NULL); one node. */
rt_tensor *rt_linear(rt_tensor *x, rt_tensor *w, rt_tensor *b);

/* --- nn --- */
rt_tensor *rt_softmax(rt_tensor *a, int dim);
rt_tensor *rt_log_softmax(rt_tensor *a, int dim);
/* normalise over the last n_norm dims; w/b may be NULL. */
rt_tensor *rt_layer_norm(rt_tensor *x, int n_norm, rt_tensor *w, rt_tensor *b, double eps);
/* train false or p == 0: returns x retained. Mask drawn from g (NULL: default). */
rt_tensor *rt_dropout(rt_tensor *x, double p, bool train, rt_generator *g);
/* weight[V, D], ids (i32/i64, any shape, 0-based) -> [..., D]; scatter-add backward. */
rt_tensor *rt_embedding(rt_tensor *weight, rt_tensor *ids);

/* --- joining / indexing --- */
rt_tensor *rt_cat(rt_tensor *const *ts, int n, int dim);
rt_tensor *rt_stack(rt_tensor *const *ts, int n, int dim);
/* Split into chunks of `size` along dim; *out is malloc'd array of *n new refs. */
rt_status rt_split(rt_tensor *a, int64_t size, int dim, rt_tensor ***out, int *n);
rt_tensor *rt_index_select(rt_tensor *a, int dim, rt_tensor *index);   /* index: 1-D ints, 0-based */
rt_tensor *rt_gather(rt_tensor *a, int dim, rt_tensor *index);

/* --- views (share storage; differentiable) --- */
rt_tensor *rt_reshape(rt_tensor *a, int ndim, const int64_t *shape);   /* one -1 allowed; copies only when needed */
rt_tensor *rt_view(rt_tensor *a, int ndim, const int64_t *shape);      /* errors when a copy would be needed */
rt_tensor *rt_transpose(rt_tensor *a, int d0, int d1);
rt_tensor *rt_permute(rt_tensor *a, const int *perm);
rt_tensor *rt_narrow(rt_tensor *a, int dim, int64_t start, int64_t len);
rt_tensor *rt_select(rt_tensor *a, int dim, int64_t index);
rt_tensor *rt_expand(rt_tensor *a, int ndim, const int64_t *shape);    /* -1 keeps a size */
rt_tensor *rt_squeeze(rt_tensor *a, int dim);                          /* RT_ALLDIMS: all size-1 dims */
rt_tensor *rt_unsqueeze(rt_tensor *a, int dim);
rt_tensor *rt_contiguous(rt_tensor *a);
/* A contiguous copy that stays in the graph (gradient passes through). */
rt_tensor *rt_clone(rt_tensor *a);

/* --- losses --- */
typedef enum { RT_REDUCE_MEAN, RT_REDUCE_SUM, RT_REDUCE_NONE } rt_reduction;
/* logits [N, C] (or [N, C] after flattening leading dims), labels [N] ints. */
rt_tensor *rt_cross_entropy(rt_tensor *logits, rt_tensor *labels, int64_t ignore_index,
                            rt_reduction red);
rt_tensor *rt_mse(rt_tensor *a, rt_tensor *b, rt_reduction red);
/* TinyBERT: mean over batch x classes of -softmax(t/T) * log_softmax(s/T); t detached. */
rt_tensor *rt_soft_cross_entropy(rt_tensor *student, rt_tensor *teacher, double T);
/* torch.nn.functional.kl_div(input=log-probs, target=probs), reduction batchmean/sum/mean. */
rt_tensor *rt_kl_div(rt_tensor *logp, rt_tensor *target, rt_reduction red, bool batchmean);

/* --- attention core (two fused nodes) ---
 * q, k: [B, H, S, D]; rel: [S, S, D] or NULL (NEZHA relative-position table
 * Rel[i][j] = R[clip(j-i,-K,K)+K], shared by heads, constant); mask: additive,
 * broadcastable to [B, H, S, S] (typically [B, 1, 1, S]) or NULL.
 *   scores = (q·kᵀ + q·relᵀ) * scale + mask            -> [B, H, S, S]   */
rt_tensor *rt_attention_scores(rt_tensor *q, rt_tensor *k, rt_tensor *rel,
                               rt_tensor *mask, double scale);
/* scores [B,H,S,S], v [B,H,S,D], rel [S,S,D] or NULL:
 *   p = softmax(scores); p' = dropout(p); context = p'·v + p'·rel  -> [B,H,S,D]
 * *probs_out (optional): the softmax probabilities (detached, new ref). */
rt_tensor *rt_attention_context(rt_tensor *scores, rt_tensor *v, rt_tensor *rel,
                                double dropout_p, bool train, rt_generator *g,
                                rt_tensor **probs_out);

#endif
