/* shape.h — shape helpers shared by core, kernels and ops (internal to the C code). */
#ifndef RT_SHAPE_H
#define RT_SHAPE_H

#include <stdbool.h>
#include <stdint.h>
#include "tensor.h"

/* Broadcast two shapes (PyTorch rules); returns false when they do not fit. */
bool rt_broadcast_shapes(int na, const int64_t *sa, int nb, const int64_t *sb,
                         int *nout, int64_t *out);
/* Strides of a tensor of (ndim, shape, stride) viewed as the broadcast shape
 * (ondim, oshape): 0 on broadcast dims. */
void rt_broadcast_strides(int ndim, const int64_t *shape, const int64_t *stride,
                          int ondim, const int64_t *oshape, int64_t *ostride);
/* Merge adjacent dims that are contiguous with each other in every operand
 * (strides[k] arrays of nops operands); drops size-1 dims. Returns new ndim (>= 1). */
int rt_coalesce(int ndim, int64_t *shape, int nops, int64_t (*strides)[RT_MAXDIM]);
int64_t rt_shape_numel(int ndim, const int64_t *shape);
/* Largest byte size of one tensor (and of its contiguous stride products): 2^62. */
#define RT_MAX_TENSOR_BYTES ((int64_t)1 << 62)
/* Check that a shape of `ndim` sizes (each >= 0) with elements of `elsize` bytes can
 * exist: the element count, the contiguous strides (the product of the sizes with 0
 * counted as 1) and the byte size all stay under RT_MAX_TENSOR_BYTES. Returns false
 * with "shape [..] is too large" (RT_ESHAPE) set otherwise; *numel gets the count. */
bool rt_shape_check(int ndim, const int64_t *shape, size_t elsize, int64_t *numel);
/* Check that a view (offset, shape, stride; sizes already checked) reaches only
 * elements [0, limit) of its storage; sets the error (RT_ESHAPE) otherwise. */
bool rt_view_check(int64_t offset, int ndim, const int64_t *shape, const int64_t *stride, int64_t limit);
/* "[2,3]" from a raw shape. */
char *rt_shape_fmt(int ndim, const int64_t *shape, char *buf, size_t n);

/* Copy/convert between any dtypes and strided layouts of the same shape
 * (OpenMP over rows when large). */
void rt_copy_strided(void *dst, rt_dtype ddt, const int64_t *dstride,
                     const void *src, rt_dtype sdt, const int64_t *sstride,
                     int ndim, const int64_t *shape);

#endif
