/* nn_common.h — small helpers shared by the nn op files (ops_linalg.c,
 * ops_nn.c, ops_loss.c, ops_attention.c). Internal to src/autograd. */
#ifndef RT_NN_COMMON_H
#define RT_NN_COMMON_H

#include <stdio.h>
#include "graph.h"
#include "ops.h"
#include "../core/shape.h"

/* Error unless t is f32: "<op>: <what> must be f32, got i64 [2,3]". */
static inline bool nn_need_f32(const char *op, const char *what, const rt_tensor *t) {
    if (t->dtype == RT_F32) return true;
    char b[96];
    rt_errorf(RT_EDTYPE, "%s: %s must be f32, got %s %s", op, what, rt_dtype_name(t->dtype),
              rt_shape_str(t, b, sizeof b));
    return false;
}

/* A contiguous f32 tensor with t's values (t retained when it already is one). */
static inline rt_tensor *nn_f32c(rt_tensor *t) {
    if (t->dtype == RT_F32) return rt_tensor_contiguous(t);
    return rt_tensor_convert(t, RT_F32);
}

/* A header over a CONTIGUOUS tensor's storage with another shape (same numel). */
static inline rt_tensor *nn_view(const rt_tensor *c, int ndim, const int64_t *shape) {
    return rt_tensor_view_of(c->storage, c->dtype, c->offset, ndim, shape, NULL);
}

/* t with its last two dims swapped (a header; ndim >= 2). */
static inline rt_tensor *nn_t(const rt_tensor *t) {
    int64_t sh[RT_MAXDIM], st[RT_MAXDIM];
    int n = t->ndim;
    for (int i = 0; i < n; i++) { sh[i] = t->shape[i]; st[i] = t->stride[i]; }
    int64_t x = sh[n - 1]; sh[n - 1] = sh[n - 2]; sh[n - 2] = x;
    x = st[n - 1]; st[n - 1] = st[n - 2]; st[n - 2] = x;
    return rt_tensor_view_of(t->storage, t->dtype, t->offset, n, sh, st);
}

/* Normalise a 0-based dim that may be negative; error names the op. */
static inline bool nn_dim(const char *op, int *dim, int ndim) {
    int d = *dim < 0 ? *dim + ndim : *dim;
    if (d < 0 || d >= (ndim ? ndim : 1)) {
        rt_errorf(RT_EINDEX, "%s: dim %d out of range for a %d-d tensor", op, *dim, ndim);
        return false;
    }
    *dim = d;
    return true;
}

#endif
