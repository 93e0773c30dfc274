/* ops_index.c — cat, stack, split, index_select, gather, with backward. */
#include <stdlib.h>
#include <string.h>
#include "ops_util.h"
#include "../kernels/elementwise.h"

/* ---- cat ---- */

/* i[k] = size of input k along dim; f[0] = dim */
static rt_status cat_bw(rt_node *n, rt_tensor *go, rt_tensor **g, const bool *needs) {
    int dim = (int)n->f[0];
    int64_t off = 0;
    for (int k = 0; k < n->n_inputs; k++) {
        if (needs[k] && !(g[k] = rt_narrow(go, dim, off, n->i[k]))) return rt_last_status();
        off += n->i[k];
    }
    return RT_OK;
}
static const rt_op_desc CAT = {"cat", cat_bw, NULL};

static rt_tensor *cat_raw(rt_tensor *const *ts, int n, int dim) {
    rt_tensor *t0 = ts[0];
    rt_dtype dt = t0->dtype;
    int64_t total = 0;
    for (int k = 0; k < n; k++) {
        const rt_tensor *t = ts[k];
        bool ok = t->ndim == t0->ndim;
        for (int i = 0; ok && i < t->ndim; i++) if (i != dim && t->shape[i] != t0->shape[i]) ok = false;
        if (!ok) {
            char s1[96], s2[96];
            rt_errorf(RT_ESHAPE, "cat: tensor %d has shape %s, incompatible with %s along dim %d", k + 1,
                      rt_shape_str(t, s1, sizeof s1), rt_shape_str(t0, s2, sizeof s2), dim + 1);
            return NULL;
        }
        total += t->shape[dim];
        dt = rt_promote(dt, t->dtype);
    }
    int64_t sh[RT_MAXDIM];
    memcpy(sh, t0->shape, sizeof sh);
    sh[dim] = total;
    rt_tensor *out = rt_tensor_empty(dt, t0->ndim, sh);
    if (!out) return NULL;
    bool flat = n <= 64;
    for (int k = 0; flat && k < n; k++) flat = ts[k]->dtype == dt && rt_is_contiguous(ts[k]);
    if (flat) {   /* contiguous inputs: row copies, parallel over the outer rows */
        int64_t outer = 1, inner = 1, chunk[64];
        const char *in[64];
        for (int i = 0; i < dim; i++) outer *= sh[i];
        for (int i = dim + 1; i < t0->ndim; i++) inner *= sh[i];
        size_t es = rt_dtype_size(dt);
        for (int k = 0; k < n; k++) { chunk[k] = ts[k]->shape[dim] * inner * (int64_t)es; in[k] = rt_data(ts[k]); }
        rt_k_cat_bytes(rt_data(out), in, chunk, n, outer);
        return out;
    }
    int64_t off = 0;
    for (int k = 0; k < n; k++) {
        int64_t ws[RT_MAXDIM];
        memcpy(ws, sh, sizeof ws);
        ws[dim] = ts[k]->shape[dim];
        rt_tensor *w = rt_tensor_view_of(out->storage, dt, off * out->stride[dim], t0->ndim, ws, out->stride);
        if (!w || rt_tensor_copy_(w, ts[k]) != RT_OK) { rt_release(w); rt_release(out); return NULL; }
        rt_release(w);
        off += ts[k]->shape[dim];
    }
    return out;
}

rt_tensor *rt_cat(rt_tensor *const *ts, int n, int dim) {
    if (n <= 0) { rt_errorf(RT_EINVAL, "cat: expected at least one tensor"); return NULL; }
    if (!rt_norm_dim("cat", &dim, ts[0]->ndim, false)) return NULL;
    if (n > RT_NODE_MAX_INPUTS && rt_needs_grad(n, ts)) {
        /* nodes hold at most 8 inputs: concatenate groups of 8, then the groups */
        int ng = (n + RT_NODE_MAX_INPUTS - 1) / RT_NODE_MAX_INPUTS;
        rt_tensor **parts = calloc((size_t)ng, sizeof *parts);
        if (!parts) { rt_errorf(RT_ENOMEM, "cat: out of memory"); return NULL; }
        rt_tensor *out = NULL;
        int k;
        for (k = 0; k < ng; k++) {
            int m = n - k * RT_NODE_MAX_INPUTS < RT_NODE_MAX_INPUTS ? n - k * RT_NODE_MAX_INPUTS : RT_NODE_MAX_INPUTS;
            if (!(parts[k] = rt_cat(ts + k * RT_NODE_MAX_INPUTS, m, dim))) break;
        }
        if (k == ng) out = rt_cat(parts, ng, dim);
        for (int j = 0; j < ng; j++) rt_release(parts[j]);
        free(parts);
        return out;
    }
    rt_tensor *out = cat_raw(ts, n, dim);
    if (out && rt_is_float(out->dtype)) {
        rt_node *nd = rt_node_attach(out, &CAT, n, ts);
        if (nd) {
            nd->f[0] = dim;
            for (int k = 0; k < n; k++) nd->i[k] = ts[k]->shape[dim];
        }
    }
    return out;
}

rt_tensor *rt_stack(rt_tensor *const *ts, int n, int dim) {
    if (n <= 0) { rt_errorf(RT_EINVAL, "stack: expected at least one tensor"); return NULL; }
    for (int k = 1; k < n; k++)
        if (!rt_same_shape(ts[k], ts[0])) {
            char s1[96], s2[96];
            rt_errorf(RT_ESHAPE, "stack: tensor %d has shape %s, expected %s", k + 1, rt_shape_str(ts[k], s1, sizeof s1),
                      rt_shape_str(ts[0], s2, sizeof s2));
            return NULL;
        }
    if (!rt_norm_dim("stack", &dim, ts[0]->ndim, true)) return NULL;
    rt_tensor **us = calloc((size_t)n, sizeof *us);
    if (!us) { rt_errorf(RT_ENOMEM, "stack: out of memory"); return NULL; }
    rt_tensor *out = NULL;
    int k;
    for (k = 0; k < n; k++) if (!(us[k] = rt_unsqueeze(ts[k], dim))) break;
    if (k == n) out = rt_cat(us, n, dim);
    for (int j = 0; j < n; j++) rt_release(us[j]);
    free(us);
    return out;
}

rt_status rt_split(rt_tensor *a, int64_t size, int dim, rt_tensor ***out, int *n) {
    *out = NULL;
    *n = 0;
    if (!rt_norm_dim("split", &dim, a->ndim, false)) return rt_last_status();
    if (size <= 0) return rt_errorf(RT_EINVAL, "split: chunk size must be positive, got %lld", (long long)size);
    int64_t len = a->shape[dim], cnt = len == 0 ? 1 : (len + size - 1) / size;
    rt_tensor **parts = calloc((size_t)cnt, sizeof *parts);
    if (!parts) return rt_errorf(RT_ENOMEM, "split: out of memory");
    for (int64_t k = 0; k < cnt; k++) {
        int64_t s = k * size, l = len - s < size ? len - s : size;
        if (!(parts[k] = rt_narrow(a, dim, s, l))) {
            for (int64_t j = 0; j < k; j++) rt_release(parts[j]);
            free(parts);
            return rt_last_status();
        }
    }
    *out = parts;
    *n = (int)cnt;
    return RT_OK;
}

/* ---- index_select ---- */

/* A contiguous i64 copy of an integer index tensor, checked against [0, size). */
static rt_tensor *check_index(const char *op, rt_tensor *index, int64_t size, int dim, const rt_tensor *a) {
    if (index->dtype != RT_I64 && index->dtype != RT_I32) {
        rt_errorf(RT_EDTYPE, "%s: index must be an integer tensor (i32/i64), got %s", op, rt_dtype_name(index->dtype));
        return NULL;
    }
    rt_tensor *ix = index->dtype == RT_I64 ? rt_tensor_contiguous(index) : rt_tensor_convert(index, RT_I64);
    if (!ix) return NULL;
    const int64_t *p = (const int64_t *)rt_data(ix);
    for (int64_t i = 0, n = rt_numel(ix); i < n; i++)
        if (p[i] < 0 || p[i] >= size) {
            char s[96];
            rt_errorf(RT_EINDEX, "%s: index %lld out of range for dim %d of size %lld (shape %s; indices are 0-based)",
                      op, (long long)p[i], dim + 1, (long long)size, rt_shape_str(a, s, sizeof s));
            rt_release(ix);
            return NULL;
        }
    return ix;
}

/* i[0] = dim */
static rt_status index_select_bw(rt_node *n, rt_tensor *go, rt_tensor **g, const bool *needs) {
    if (!needs[0]) return RT_OK;
    rt_tensor *a = n->inputs[0];
    int dim = (int)n->i[0];
    rt_tensor *ix = check_index("index_select", n->inputs[1], a->shape[dim], dim, a);
    rt_tensor *gc = rt_f32c(go);
    rt_tensor *z = rt_tensor_zeros(RT_F32, a->ndim, a->shape);
    if (!ix || !gc || !z) { rt_release(ix); rt_release(gc); rt_release(z); return rt_last_status(); }
    int64_t O = rt_shape_numel(dim, a->shape), D = a->shape[dim], I = rt_shape_numel(a->ndim - dim - 1, a->shape + dim + 1);
    int64_t J = rt_numel(ix);
    const int64_t *ip = (const int64_t *)rt_data(ix);
    const float *gp = rt_f32(gc);
    float *zp = rt_f32(z);
    #pragma omp parallel for schedule(static) if (O * J * I >= 65536 && O > 1)
    for (int64_t o = 0; o < O; o++)
        for (int64_t j = 0; j < J; j++) {
            float *dst = zp + (o * D + ip[j]) * I;
            const float *src = gp + (o * J + j) * I;
            for (int64_t i = 0; i < I; i++) dst[i] += src[i];
        }
    rt_release(ix); rt_release(gc);
    g[0] = z;
    return RT_OK;
}
static const rt_op_desc INDEX_SELECT = {"index_select", index_select_bw, NULL};

rt_tensor *rt_index_select(rt_tensor *a, int dim, rt_tensor *index) {
    if (!rt_norm_dim("index_select", &dim, a->ndim, false)) return NULL;
    if (index->ndim > 1) {
        char s[96];
        rt_errorf(RT_ESHAPE, "index_select: index must be 1-D, got %s", rt_shape_str(index, s, sizeof s));
        return NULL;
    }
    rt_tensor *ix = check_index("index_select", index, a->ndim ? a->shape[dim] : 1, dim, a);
    if (!ix) return NULL;
    rt_tensor *ac = rt_tensor_contiguous(a);
    int64_t sh[RT_MAXDIM];
    memcpy(sh, a->shape, sizeof sh);
    int64_t J = rt_numel(ix);
    if (a->ndim) sh[dim] = J;
    rt_tensor *out = ac ? rt_tensor_empty(a->dtype, a->ndim, sh) : NULL;
    if (out) {
        size_t es = rt_dtype_size(a->dtype);
        int64_t O = rt_shape_numel(dim, a->shape), D = a->ndim ? a->shape[dim] : 1;
        int64_t I = a->ndim ? rt_shape_numel(a->ndim - dim - 1, a->shape + dim + 1) : 1;
        const int64_t *ip = (const int64_t *)rt_data(ix);
        const char *src = rt_data(ac);
        char *dst = rt_data(out);
        #pragma omp parallel for schedule(static) if (O * J * I >= 65536)
        for (int64_t oj = 0; oj < O * J; oj++) {
            int64_t o = oj / J, j = oj % J;
            memcpy(dst + (size_t)(oj * I) * es, src + (size_t)((o * D + ip[j]) * I) * es, (size_t)I * es);
        }
    }
    rt_release(ac); rt_release(ix);
    if (out && rt_is_float(out->dtype)) {
        rt_tensor *in[2] = {a, index};
        rt_node *n = rt_node_attach(out, &INDEX_SELECT, 2, in);
        if (n) n->i[0] = dim;
    }
    return out;
}

/* ---- gather ---- */

/* Walk every element of index (contiguous i64 [shape of index]); call fn with the
 * flat index position and the offset into a (a's strides, dim replaced). */
static rt_status gather_check(const rt_tensor *a, int dim, const rt_tensor *index) {
    char s1[96], s2[96];
    if (index->ndim != a->ndim)
        return rt_errorf(RT_ESHAPE, "gather: index %s must have as many dims as input %s",
                         rt_shape_str(index, s1, sizeof s1), rt_shape_str(a, s2, sizeof s2));
    for (int i = 0; i < a->ndim; i++)
        if (i != dim && index->shape[i] > a->shape[i])
            return rt_errorf(RT_ESHAPE, "gather: index %s larger than input %s at dim %d",
                             rt_shape_str(index, s1, sizeof s1), rt_shape_str(a, s2, sizeof s2), i + 1);
    return RT_OK;
}

/* i[0] = dim */
static rt_status gather_bw(rt_node *n, rt_tensor *go, rt_tensor **g, const bool *needs) {
    if (!needs[0]) return RT_OK;
    rt_tensor *a = n->inputs[0];
    int dim = (int)n->i[0];
    rt_tensor *ix = check_index("gather", n->inputs[1], a->shape[dim], dim, a);
    rt_tensor *gc = rt_f32c(go);
    rt_tensor *z = rt_tensor_zeros(RT_F32, a->ndim, a->shape);
    if (!ix || !gc || !z) { rt_release(ix); rt_release(gc); rt_release(z); return rt_last_status(); }
    const int64_t *ip = (const int64_t *)rt_data(ix);
    const float *gp = rt_f32(gc);
    float *zp = rt_f32(z);
    int64_t cnt = rt_numel(ix);
    for (int64_t e = 0; e < cnt; e++) {
        int64_t rem = e, off = 0;
        for (int d = ix->ndim - 1; d >= 0; d--) {
            int64_t c = rem % ix->shape[d];
            rem /= ix->shape[d];
            off += (d == dim ? ip[e] : c) * z->stride[d];
        }
        zp[off] += gp[e];
    }
    rt_release(ix); rt_release(gc);
    g[0] = z;
    return RT_OK;
}
static const rt_op_desc GATHER = {"gather", gather_bw, NULL};

rt_tensor *rt_gather(rt_tensor *a, int dim, rt_tensor *index) {
    if (!rt_norm_dim("gather", &dim, a->ndim, false)) return NULL;
    if (gather_check(a, dim, index) != RT_OK) return NULL;
    rt_tensor *ix = check_index("gather", index, a->ndim ? a->shape[dim] : 1, dim, a);
    if (!ix) return NULL;
    rt_tensor *out = rt_tensor_empty(a->dtype, ix->ndim, ix->shape);
    if (!out) { rt_release(ix); return NULL; }
    size_t es = rt_dtype_size(a->dtype);
    const int64_t *ip = (const int64_t *)rt_data(ix);
    const char *src = rt_data(a);
    char *dst = rt_data(out);
    int64_t cnt = rt_numel(ix);
    #pragma omp parallel for schedule(static) if (cnt >= 65536)
    for (int64_t e = 0; e < cnt; e++) {
        int64_t rem = e, off = 0;
        for (int d = ix->ndim - 1; d >= 0; d--) {
            int64_t c = rem % ix->shape[d];
            rem /= ix->shape[d];
            off += (d == dim ? ip[e] : c) * a->stride[d];
        }
        memcpy(dst + (size_t)e * es, src + (size_t)off * es, es);
    }
    rt_release(ix);
    if (rt_is_float(out->dtype)) {
        rt_tensor *in[2] = {a, index};
        rt_node *n = rt_node_attach(out, &GATHER, 2, in);
        if (n) n->i[0] = dim;
    }
    return out;
}
