/* elementwise.h — strided/broadcast elementwise kernels (no autograd, no tensors
 * beyond raw pointers + shapes). An iteration is described by a shape and, per
 * operand, element strides (0 on broadcast dims); rt_k_foreach coalesces dims
 * and hands contiguous-ish rows to a row function, in parallel for large sizes. */
#ifndef RT_KERNELS_ELEMENTWISE_H
#define RT_KERNELS_ELEMENTWISE_H

#include <stdint.h>
#include "../core/tensor.h"
#include "kernel.h"   /* the kernel rule: read it first */

#define RT_K_MAXOPS 4
/* Elements above which loops run across OpenMP threads. */
#define RT_PAR_MIN 32768

/* Row callback: p[k] points at operand k's first element of the row, s[k] is its
 * element stride along the row, n the row length. */
typedef void (*rt_row_fn)(void *ctx, char **p, const int64_t *s, int64_t n);

void rt_k_foreach(int ndim, const int64_t *shape, int nops, char *const *base,
                  const int64_t (*strides)[RT_MAXDIM], const size_t *esize,
                  rt_row_fn fn, void *ctx);

typedef enum { RT_BIN_ADD, RT_BIN_SUB, RT_BIN_MUL, RT_BIN_DIV, RT_BIN_POW,
               RT_BIN_MAX, RT_BIN_MIN, RT_BIN_RSUB, RT_BIN_RDIV, RT_BIN_RPOW } rt_binop;

/* out[shape] (strides os) = a op b, f32, any strides (broadcast = stride 0). */
void rt_k_binary_f32(rt_binop op, float *out, const int64_t *os, const float *a, const int64_t *as,
                     const float *b, const int64_t *bs, int ndim, const int64_t *shape);
/* out = a op s (the R-ops: s op a). */
void rt_k_binary_scalar_f32(rt_binop op, float *out, const int64_t *os, const float *a, const int64_t *as,
                            int ndim, const int64_t *shape, float s);
/* Any dtypes (computed in double; ints, bools, mixed): slower generic path. */
void rt_k_binary_generic(rt_binop op, void *out, rt_dtype odt, const int64_t *os, const void *a, rt_dtype adt,
                         const int64_t *as, const void *b, rt_dtype bdt, const int64_t *bs, int ndim,
                         const int64_t *shape);

/* Unary kinds mirror rt_unary_kind in autograd/ops.h (same order). */
void rt_k_unary_f32(int kind, float *out, const float *a, int64_t n);
/* Same, split across threads for large n. */
void rt_k_unary_f32_par(int kind, float *out, const float *a, int64_t n);
/* Strided variant (out contiguous or strided). */
void rt_k_unary_f32_strided(int kind, float *out, const int64_t *os, const float *a, const int64_t *as, int ndim,
                            const int64_t *shape);
/* gi = go * f'(x) for contiguous buffers; y = f(x) (used where cheaper). */
void rt_k_unary_f32_bwd(int kind, float *gi, const float *go, const float *x, const float *y, int64_t n);

/* Comparisons (kinds as rt_cmp_kind) into bool (uint8), any input dtypes. */
void rt_k_compare(int kind, uint8_t *out, const int64_t *os, const void *a, rt_dtype adt,
                  const int64_t *as, const void *b, rt_dtype bdt, const int64_t *bs, int ndim,
                  const int64_t *shape);
/* out = cond ? a : b (cond bool/any dtype, a/b/out same dtype dt). */
void rt_k_where(void *out, const int64_t *os, rt_dtype dt, const void *cond, rt_dtype cdt,
                const int64_t *cs, const void *a, const int64_t *as, const void *b, const int64_t *bs,
                int ndim, const int64_t *shape);
/* out = clamp(a, lo, hi) f32 contiguous (NAN = no bound). */
void rt_k_clamp_f32(float *out, const float *a, int64_t n, float lo, float hi);

/* Concatenation of contiguous inputs viewed as [outer, chunk[k] bytes]: out row o
 * = in[0] row o | in[1] row o | ...; parallel over rows for large sizes. */
void rt_k_cat_bytes(char *out, const char *const *in, const int64_t *chunk, int n, int64_t outer);

/* Contiguous helpers. y[n] += x[n] (gradient accumulation). */
void rt_k_acc_f32(float *y, const float *x, int64_t n);
/* y[rows, n] += b[n] on every row (a bias). */
void rt_k_add_rows_f32(float *y, const float *b, int64_t rows, int64_t n);

#endif
