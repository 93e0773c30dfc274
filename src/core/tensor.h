/* tensor.h — refcounted storage and strided tensor views (Torch7's two levels,
 * PyTorch's order: shape/strides outermost first, in elements).
 *
 * Conventions used across the C code:
 *  - dims are 0-based here (the Lua binding converts 1-based/negative dims);
 *  - functions returning rt_tensor* return a NEW reference (release it with
 *    rt_release) or NULL with the message set (status.h); arguments are borrowed;
 *  - refcounts are not atomic: tensors belong to the single Lua thread; kernels
 *    parallelise inside with OpenMP over raw pointers. */
#ifndef RT_TENSOR_H
#define RT_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "status.h"

#define RT_MAXDIM 6

typedef enum { RT_F32 = 0, RT_I32, RT_I64, RT_BF16, RT_BOOL, RT_NDTYPES } rt_dtype;

size_t rt_dtype_size(rt_dtype dt);            /* bytes per element */
const char *rt_dtype_name(rt_dtype dt);       /* "f32" "i32" "i64" "bf16" "bool" */
int rt_dtype_parse(const char *name, rt_dtype *out); /* accepts also "float32", "int64", "long", ... ; 0 on success */

typedef enum { RT_STORAGE_OWNED, RT_STORAGE_MMAP, RT_STORAGE_BORROWED } rt_storage_kind;

typedef struct rt_storage {
    void *data;
    size_t nbytes;
    rt_storage_kind kind;
    int refcount;
    /* MMAP: the mapping to munmap; BORROWED: `release(owner)` runs at the end. */
    void *map_base;
    size_t map_len;
    void *owner;
    void (*release)(void *owner);
} rt_storage;

struct rt_node;

typedef struct rt_tensor {
    rt_storage *storage;
    int64_t offset;                 /* in elements */
    rt_dtype dtype;
    int ndim;
    int64_t shape[RT_MAXDIM];
    int64_t stride[RT_MAXDIM];
    int refcount;
    bool requires_grad;             /* leaf flag or "depends on a leaf that requires grad" */
    struct rt_tensor *grad;         /* accumulated gradient of a leaf (owned ref) */
    struct rt_node *grad_fn;        /* node that produced it (owned ref), NULL for leaves */
    char *name;                     /* optional (parameter name), owned */
} rt_tensor;

/* --- the grad_fn hook ---
 * Core does not know autograd: grad_fn is an opaque owned reference, and the
 * autograd layer registers how to drop one (graph.c does so before it attaches
 * the first node). rt_release calls the hook for a tensor that has a grad_fn. */
typedef void (*rt_grad_fn_release_fn)(struct rt_node *n);
void rt_set_grad_fn_release(rt_grad_fn_release_fn fn);

/* --- storage --- */
rt_storage *rt_storage_new(size_t nbytes);                 /* owned, 64-byte aligned, uninitialised */
rt_storage *rt_storage_mmap(const char *path, size_t offset, size_t nbytes); /* read-only file mapping */
rt_storage *rt_storage_borrow(void *data, size_t nbytes, void *owner, void (*release)(void *));
void rt_storage_retain(rt_storage *s);
void rt_storage_release(rt_storage *s);

/* --- creation (contiguous) --- */
rt_tensor *rt_tensor_empty(rt_dtype dt, int ndim, const int64_t *shape);
rt_tensor *rt_tensor_zeros(rt_dtype dt, int ndim, const int64_t *shape);
rt_tensor *rt_tensor_full(rt_dtype dt, int ndim, const int64_t *shape, double value);
rt_tensor *rt_tensor_scalar(rt_dtype dt, double value);     /* 0-dim */
/* A view header over existing storage (retains it). */
rt_tensor *rt_tensor_view_of(rt_storage *s, rt_dtype dt, int64_t offset, int ndim,
                             const int64_t *shape, const int64_t *stride);
/* A new header sharing t's storage/shape/strides, no grad_fn, requires_grad false
 * (what autograd saves when a backward needs an op's output: no reference cycles). */
rt_tensor *rt_tensor_alias(const rt_tensor *t);

void rt_retain(rt_tensor *t);
void rt_release(rt_tensor *t);               /* NULL-safe */

/* --- queries --- */
int64_t rt_numel(const rt_tensor *t);
bool rt_is_contiguous(const rt_tensor *t);
bool rt_same_shape(const rt_tensor *a, const rt_tensor *b);
size_t rt_nbytes(const rt_tensor *t);        /* numel * element size */
/* Pointer to element 0 of the view (storage data + offset). */
void *rt_data(const rt_tensor *t);
static inline float *rt_f32(const rt_tensor *t) { return (float *)rt_data(t); }
/* Write "[2,128,768]" into buf; returns buf (for error messages). */
char *rt_shape_str(const rt_tensor *t, char *buf, size_t n);
void rt_contiguous_strides(int ndim, const int64_t *shape, int64_t *stride);

/* --- raw copies and conversions (no autograd) --- */
rt_tensor *rt_tensor_clone(const rt_tensor *t);          /* contiguous copy, same dtype */
rt_tensor *rt_tensor_contiguous(rt_tensor *t);           /* t retained if contiguous, else a copy */
rt_tensor *rt_tensor_convert(const rt_tensor *t, rt_dtype dt); /* contiguous copy in dtype (bf16 round-to-nearest-even) */
rt_status rt_tensor_copy_(rt_tensor *dst, const rt_tensor *src); /* same numel/shape; dtype converted */
rt_status rt_tensor_fill_(rt_tensor *t, double value);
double rt_tensor_get(const rt_tensor *t, const int64_t *index); /* element as double */
rt_status rt_tensor_set(rt_tensor *t, const int64_t *index, double v);

/* bf16 helpers */
static inline float rt_bf16_to_f32(uint16_t h) { union { uint32_t u; float f; } x; x.u = (uint32_t)h << 16; return x.f; }
uint16_t rt_f32_to_bf16(float f);

/* Name (parameter name); copied. */
void rt_tensor_set_name(rt_tensor *t, const char *name);

#endif
