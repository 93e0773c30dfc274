/* tensor.c — tensor headers, creation, copies, conversions, element access (tensor.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "shape.h"
#include "tensor.h"

static rt_grad_fn_release_fn grad_fn_release;   /* set by the autograd layer */
void rt_set_grad_fn_release(rt_grad_fn_release_fn fn) { grad_fn_release = fn; }

uint16_t rt_f32_to_bf16(float f) {
    union { float f; uint32_t u; } x = {f};
    if ((x.u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x.u >> 16) | 0x40);  /* quiet NaN */
    uint32_t r = x.u + 0x7fffu + ((x.u >> 16) & 1u);
    return (uint16_t)(r >> 16);
}

void rt_contiguous_strides(int ndim, const int64_t *shape, int64_t *stride) {
    int64_t s = 1;
    for (int i = ndim - 1; i >= 0; i--) { stride[i] = s; s *= shape[i] > 0 ? shape[i] : 1; }
}

/* dims, signs and overflow: every numel/stride/byte size of a tensor fits (shape.h). */
static bool check_shape(int ndim, const int64_t *shape, rt_dtype dt) {
    if (ndim < 0 || ndim > RT_MAXDIM) {
        rt_errorf(RT_ESHAPE, "tensor: %d dims (at most %d supported)", ndim, RT_MAXDIM);
        return false;
    }
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0) {
            char b[128];
            rt_errorf(RT_ESHAPE, "tensor: negative size in shape %s", rt_shape_fmt(ndim, shape, b, sizeof b));
            return false;
        }
    if ((unsigned)dt >= RT_NDTYPES) { rt_errorf(RT_EDTYPE, "tensor: bad dtype %d", (int)dt); return false; }
    return rt_shape_check(ndim, shape, rt_dtype_size(dt), NULL);
}

rt_tensor *rt_tensor_view_of(rt_storage *s, rt_dtype dt, int64_t offset, int ndim,
                             const int64_t *shape, const int64_t *stride) {
    if (!check_shape(ndim, shape, dt)) return NULL;
    int64_t cst[RT_MAXDIM];
    if (!stride) { rt_contiguous_strides(ndim, shape, cst); stride = cst; }
    if (!rt_view_check(offset, ndim, shape, stride, (int64_t)(s->nbytes / rt_dtype_size(dt)))) return NULL;
    rt_tensor *t = calloc(1, sizeof *t);
    if (!t) { rt_errorf(RT_ENOMEM, "out of memory"); return NULL; }
    t->storage = s;
    rt_storage_retain(s);
    t->offset = offset;
    t->dtype = dt;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    for (int i = 0; i < ndim; i++) t->stride[i] = stride[i];
    t->refcount = 1;
    return t;
}

rt_tensor *rt_tensor_empty(rt_dtype dt, int ndim, const int64_t *shape) {
    if (!check_shape(ndim, shape, dt)) return NULL;
    int64_t n = rt_shape_numel(ndim, shape);
    rt_storage *s = rt_storage_new((size_t)n * rt_dtype_size(dt));
    if (!s) return NULL;
    rt_tensor *t = rt_tensor_view_of(s, dt, 0, ndim, shape, NULL);
    rt_storage_release(s);
    return t;
}

rt_tensor *rt_tensor_zeros(rt_dtype dt, int ndim, const int64_t *shape) {
    rt_tensor *t = rt_tensor_empty(dt, ndim, shape);
    if (t) memset(rt_data(t), 0, rt_nbytes(t));
    return t;
}

rt_tensor *rt_tensor_full(rt_dtype dt, int ndim, const int64_t *shape, double value) {
    rt_tensor *t = rt_tensor_empty(dt, ndim, shape);
    if (t && rt_tensor_fill_(t, value) != RT_OK) { rt_release(t); return NULL; }
    return t;
}

rt_tensor *rt_tensor_scalar(rt_dtype dt, double value) { return rt_tensor_full(dt, 0, NULL, value); }

rt_tensor *rt_tensor_alias(const rt_tensor *t) {
    return rt_tensor_view_of(t->storage, t->dtype, t->offset, t->ndim, t->shape, t->stride);
}

void rt_retain(rt_tensor *t) { if (t) t->refcount++; }

void rt_release(rt_tensor *t) {
    if (!t || --t->refcount > 0) return;
    rt_storage_release(t->storage);
    rt_release(t->grad);
    if (t->grad_fn && grad_fn_release) grad_fn_release(t->grad_fn);
    free(t->name);
    free(t);
}

int64_t rt_numel(const rt_tensor *t) { return rt_shape_numel(t->ndim, t->shape); }

bool rt_is_contiguous(const rt_tensor *t) {
    int64_t s = 1;
    for (int i = t->ndim - 1; i >= 0; i--) {
        if (t->shape[i] == 1) continue;
        if (t->stride[i] != s) return false;
        s *= t->shape[i];
    }
    return true;
}

bool rt_same_shape(const rt_tensor *a, const rt_tensor *b) {
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++) if (a->shape[i] != b->shape[i]) return false;
    return true;
}

size_t rt_nbytes(const rt_tensor *t) { return (size_t)rt_numel(t) * rt_dtype_size(t->dtype); }

void *rt_data(const rt_tensor *t) {
    return (char *)t->storage->data + t->offset * (int64_t)rt_dtype_size(t->dtype);
}

char *rt_shape_str(const rt_tensor *t, char *buf, size_t n) { return rt_shape_fmt(t->ndim, t->shape, buf, n); }

rt_tensor *rt_tensor_convert(const rt_tensor *t, rt_dtype dt) {
    rt_tensor *o = rt_tensor_empty(dt, t->ndim, t->shape);
    if (!o) return NULL;
    rt_copy_strided(rt_data(o), dt, o->stride, rt_data(t), t->dtype, t->stride, t->ndim, t->shape);
    return o;
}

rt_tensor *rt_tensor_clone(const rt_tensor *t) { return rt_tensor_convert(t, t->dtype); }

rt_tensor *rt_tensor_contiguous(rt_tensor *t) {
    if (rt_is_contiguous(t)) { rt_retain(t); return t; }
    return rt_tensor_clone(t);
}

rt_status rt_tensor_copy_(rt_tensor *dst, const rt_tensor *src) {
    if (rt_numel(dst) != rt_numel(src)) {
        char a[128], b[128];
        return rt_errorf(RT_ESHAPE, "copy_: shapes %s and %s differ", rt_shape_str(dst, a, sizeof a),
                         rt_shape_str(src, b, sizeof b));
    }
    if (rt_same_shape(dst, src)) {
        rt_copy_strided(rt_data(dst), dst->dtype, dst->stride, rt_data(src), src->dtype, src->stride,
                        dst->ndim, dst->shape);
        return RT_OK;
    }
    /* same numel, different shape: copy through contiguous order */
    rt_tensor *s = rt_tensor_clone(src);
    if (!s) return rt_last_status();
    rt_tensor *sv = rt_tensor_view_of(s->storage, s->dtype, 0, dst->ndim, dst->shape, NULL);
    rt_release(s);
    if (!sv) return rt_last_status();
    rt_copy_strided(rt_data(dst), dst->dtype, dst->stride, rt_data(sv), sv->dtype, sv->stride,
                    dst->ndim, dst->shape);
    rt_release(sv);
    return RT_OK;
}

rt_status rt_tensor_fill_(rt_tensor *t, double v) {
    int64_t n = rt_numel(t);
    if (n == 0) return RT_OK;
    rt_tensor *one = rt_tensor_empty(t->dtype, 0, NULL);
    if (!one) return rt_last_status();
    /* write the value once in the dtype, then broadcast-copy it (stride 0) */
    switch (t->dtype) {
    case RT_F32: *(float *)rt_data(one) = (float)v; break;
    case RT_I32: *(int32_t *)rt_data(one) = (int32_t)v; break;
    case RT_I64: *(int64_t *)rt_data(one) = (int64_t)v; break;
    case RT_BF16: *(uint16_t *)rt_data(one) = rt_f32_to_bf16((float)v); break;
    case RT_BOOL: *(uint8_t *)rt_data(one) = v != 0; break;
    default: break;
    }
    int64_t zs[RT_MAXDIM] = {0};
    if (rt_is_contiguous(t) && t->dtype == RT_F32) {
        float *p = rt_f32(t), fv = (float)v;
        #pragma omp parallel for simd schedule(static) if (n > 262144)
        for (int64_t i = 0; i < n; i++) p[i] = fv;
    } else {
        rt_copy_strided(rt_data(t), t->dtype, t->stride, rt_data(one), t->dtype, zs, t->ndim, t->shape);
    }
    rt_release(one);
    return RT_OK;
}

static bool elem_offset(const rt_tensor *t, const int64_t *index, int64_t *off, const char *op) {
    int64_t o = 0;
    for (int i = 0; i < t->ndim; i++) {
        if (index[i] < 0 || index[i] >= t->shape[i]) {
            char b[128];
            rt_errorf(RT_EINDEX, "%s: index %lld out of range for dim %d of size %lld (shape %s)", op,
                      (long long)index[i], i + 1, (long long)t->shape[i], rt_shape_str(t, b, sizeof b));
            return false;
        }
        o += index[i] * t->stride[i];
    }
    *off = o;
    return true;
}

double rt_tensor_get(const rt_tensor *t, const int64_t *index) {
    int64_t o;
    if (!elem_offset(t, index, &o, "get")) return NAN;
    const void *p = rt_data(t);
    switch (t->dtype) {
    case RT_F32: return ((const float *)p)[o];
    case RT_I32: return ((const int32_t *)p)[o];
    case RT_I64: return (double)((const int64_t *)p)[o];
    case RT_BF16: return rt_bf16_to_f32(((const uint16_t *)p)[o]);
    case RT_BOOL: return ((const uint8_t *)p)[o];
    default: return NAN;
    }
}

rt_status rt_tensor_set(rt_tensor *t, const int64_t *index, double v) {
    int64_t o;
    if (!elem_offset(t, index, &o, "set")) return RT_EINDEX;
    void *p = rt_data(t);
    switch (t->dtype) {
    case RT_F32: ((float *)p)[o] = (float)v; break;
    case RT_I32: ((int32_t *)p)[o] = (int32_t)v; break;
    case RT_I64: ((int64_t *)p)[o] = (int64_t)v; break;
    case RT_BF16: ((uint16_t *)p)[o] = rt_f32_to_bf16((float)v); break;
    case RT_BOOL: ((uint8_t *)p)[o] = v != 0; break;
    default: break;
    }
    return RT_OK;
}

void rt_tensor_set_name(rt_tensor *t, const char *name) {
    free(t->name);
    t->name = name ? strdup(name) : NULL;
}
