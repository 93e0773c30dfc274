/* ops_util.h — small helpers shared by the core op files (ops_*.c). Internal. */
#ifndef RT_OPS_UTIL_H
#define RT_OPS_UTIL_H

#include <stdbool.h>
#include "ops.h"
#include "graph.h"
#include "../core/shape.h"

rt_dtype rt_promote(rt_dtype a, rt_dtype b);   /* ops_elementwise.c */

static inline bool rt_is_float(rt_dtype d) { return d == RT_F32 || d == RT_BF16; }

/* Normalise a 0-based (negative from end) dim for ndim dims; allow_end accepts
 * ndim (unsqueeze). false + message "<op>: dim D out of range for a N-d tensor". */
static inline bool rt_norm_dim(const char *op, int *dim, int ndim, bool allow_end) {
    int n = ndim + (allow_end ? 1 : 0), d = *dim;
    if (d < 0) d += n;
    if (d < 0 || d >= (n > 0 ? n : 1) || (n == 0 && d != 0)) {
        rt_errorf(RT_EINDEX, "%s: dim %d out of range for a %d-d tensor", op, *dim, ndim);
        return false;
    }
    *dim = d;
    return true;
}

/* A contiguous f32 version of t (new ref; t itself when already so). */
static inline rt_tensor *rt_f32c(rt_tensor *t) {
    if (t->dtype == RT_F32) return rt_tensor_contiguous(t);
    return rt_tensor_convert(t, RT_F32);
}

/* Reject non-float inputs for float-only ops. */
static inline bool rt_need_float(const char *op, const rt_tensor *t) {
    if (rt_is_float(t->dtype)) return true;
    rt_errorf(RT_EDTYPE, "%s: expected a floating tensor (f32/bf16), got %s", op, rt_dtype_name(t->dtype));
    return false;
}

#endif
