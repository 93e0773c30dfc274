/* gradcheck.h — finite-difference gradient checking.
 *
 * rt_gradcheck(fn, ctx, inputs, n, opts, &max_err, report, len) evaluates
 * out = fn(inputs), projects it to a scalar L = sum(out * r) with a fixed random
 * r, computes dL/dx by backward for every input that requires grad, and compares
 * with central differences (L(x+h) - L(x-h)) / (2h) per element, accumulated in
 * double. Inputs may be non-contiguous (views, transposes). An element passes
 * when |analytic - numeric| <= atol + rtol * |numeric|. f32 forward passes limit
 * what can be resolved: defaults eps 1e-3, atol 1e-3, rtol 1e-2. */
#ifndef RT_GRADCHECK_H
#define RT_GRADCHECK_H

#include "graph.h"

/* Returns a new reference (or NULL with the message set). Must not keep inputs. */
typedef rt_tensor *(*rt_gradcheck_fn)(void *ctx, rt_tensor *const *inputs, int n);

typedef struct {
    double eps;      /* step h (default 1e-3) */
    double atol;     /* default 1e-3 */
    double rtol;     /* default 1e-2 */
    uint64_t seed;   /* projection vector seed (default 1234) */
} rt_gradcheck_opts;

/* true when every checked element passes. *max_err: max |analytic - numeric|.
 * report (may be NULL): a short text naming the worst element of each input and
 * the first failures. Returns false with *max_err = INFINITY and the message in
 * report when fn or backward fails. */
bool rt_gradcheck(rt_gradcheck_fn fn, void *ctx, rt_tensor *const *inputs, int n,
                  const rt_gradcheck_opts *opts, double *max_err, char *report, size_t report_len);

#endif
