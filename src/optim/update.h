/* update.h — one-pass optimizer update kernels over contiguous f32 buffers (no tensors,
 * no autograd). Each kernel updates one parameter tensor of n elements in place:
 * w (weights), g (gradient, read only), m / v (first / second moment slots).
 * Scalars are given in double (as the Lua layer computes them) and rounded to
 * float where the reference implementations (PyTorch, TF) do. Large tensors are
 * split across OpenMP threads; results do not depend on the thread count except
 * for the order of the double-precision sums in rt_k_sumsq / rt_k_lamb_moments. */
#ifndef RT_OPTIM_UPDATE_H
#define RT_OPTIM_UPDATE_H

#include <stdint.h>
#include "../kernels/kernel.h"   /* the kernel rule */

typedef struct {
    double lr;            /* learning rate of this step (schedule applied) */
    double beta1, beta2;  /* moment decay rates */
    double eps;           /* denominator epsilon */
    double weight_decay;  /* 0 for no-decay groups */
    double grad_scale;    /* g is multiplied by this first (clipping); 1 = none */
    int64_t step;         /* 1-based step count for bias correction (adamw, lamb) */
} rt_adam_hp;

/* PyTorch torch.optim.AdamW (1.13, single tensor): w *= 1 - lr*wd; m, v updated;
 * w -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps). */
void rt_k_adamw(float *w, float *m, float *v, const float *g, int64_t n, const rt_adam_hp *hp);

/* BertAdam (TinyBERT / HF 0.x) and TF AdamWeightDecay: no bias correction,
 * u = m / (sqrt(v) + eps) + wd * w; w -= lr * u. (Clipping via grad_scale.) */
void rt_k_adam_wd(float *w, float *m, float *v, const float *g, int64_t n, const rt_adam_hp *hp);

/* LAMB phase 1 (NEZHA TF): update m, v and return in sums[0..2] the squared L2
 * norms of w, of r = m^/sqrt(v^+eps) + decay_r*w (decay_r: the decay ALWAYS used
 * in the trust-ratio denominator), and of the (scaled) gradient. */
void rt_k_lamb_moments(float *m, float *v, double sums[3], const float *w, const float *g, int64_t n,
                       const rt_adam_hp *hp, double decay_r);
/* LAMB phase 2: w -= ratio * lr * (m^/(sqrt(v^)+eps) + wd*w) (wd = 0 when excluded). */
void rt_k_lamb_apply(float *w, const float *m, const float *v, int64_t n,
                     const rt_adam_hp *hp, double ratio);

/* Sum of squares in double (for norms and global clipping). */
double rt_k_sumsq(const float *x, int64_t n);
/* x *= s. */
void rt_k_scale(float *x, int64_t n, float s);
/* Count of non-finite (NaN / Inf) elements. */
int64_t rt_k_nonfinite(const float *x, int64_t n);

#endif
