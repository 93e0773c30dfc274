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
/* "[2,3]" from a raw shape. */
char *rt_shape_fmt(int ndim, const int64_t *shape, char *buf, size_t n);

/* Copy/convert between any dtypes and strided layouts of the same shape
 * (OpenMP over rows when large). */
void rt_copy_strided(void *dst, rt_dtype ddt, const int64_t *dstride,
                     const void *src, rt_dtype sdt, const int64_t *sstride,
                     int ndim, const int64_t *shape);

#endif
