/* ops_view.c — views that share storage (reshape/view, transpose, permute,
 * narrow, select, expand, squeeze, unsqueeze) and contiguous, with backward. */
#include <stdlib.h>
#include <string.h>
#include "ops_util.h"

/* Backward of every shape-only view: reshape go back to the input's shape. */
static rt_status reshape_bw(rt_node *n, rt_tensor *go, rt_tensor **g, const bool *needs) {
    if (needs[0] && !(g[0] = rt_reshape(go, n->inputs[0]->ndim, n->inputs[0]->shape))) return rt_last_status();
    return RT_OK;
}
static const rt_op_desc RESHAPE = {"reshape", reshape_bw, NULL}, VIEW = {"view", reshape_bw, NULL},
                        SQUEEZE = {"squeeze", reshape_bw, NULL}, UNSQUEEZE = {"unsqueeze", reshape_bw, NULL};

static rt_tensor *make_view(rt_tensor *a, int64_t offset, int ndim, const int64_t *shape, const int64_t *stride,
                            const rt_op_desc *desc) {
    rt_tensor *out = rt_tensor_view_of(a->storage, a->dtype, offset, ndim, shape, stride);
    if (out && desc && rt_is_float(a->dtype)) rt_node_attach(out, desc, 1, &a);
    return out;
}

/* Strides for viewing (shape, stride) as new_shape without a copy; false if impossible. */
static bool view_strides(const rt_tensor *a, int nd, const int64_t *ns, int64_t *nst) {
    if (rt_numel(a) == 0 || a->ndim == 0 || rt_is_contiguous(a)) {
        rt_contiguous_strides(nd, ns, nst);
        return true;
    }
    int view_d = nd - 1;
    int64_t chunk = a->stride[a->ndim - 1], tnum = 1, vnum = 1;
    for (int td = a->ndim - 1; td >= 0; td--) {
        tnum *= a->shape[td];
        if (td == 0 || (a->shape[td - 1] != 1 && a->stride[td - 1] != tnum * chunk)) {
            while (view_d >= 0 && (vnum < tnum || ns[view_d] == 1)) {
                nst[view_d] = vnum * chunk;
                vnum *= ns[view_d];
                view_d--;
            }
            if (vnum != tnum) return false;
            if (td > 0) { chunk = a->stride[td - 1]; tnum = 1; vnum = 1; }
        }
    }
    return view_d == -1;
}

static bool resolve_shape(const char *op, const rt_tensor *a, int nd, const int64_t *shape, int64_t *out) {
    int neg = -1;
    int64_t prod = 1;
    char s1[96], s2[96];
    if (nd < 0 || nd > RT_MAXDIM) { rt_errorf(RT_ESHAPE, "%s: %d dims (at most %d)", op, nd, RT_MAXDIM); return false; }
    for (int i = 0; i < nd; i++) {
        out[i] = shape[i];
        if (shape[i] == -1) {
            if (neg >= 0) { rt_errorf(RT_ESHAPE, "%s: only one dimension can be -1 in %s", op, rt_shape_fmt(nd, shape, s1, sizeof s1)); return false; }
            neg = i;
        } else if (shape[i] < 0) {
            rt_errorf(RT_ESHAPE, "%s: invalid size %lld in %s", op, (long long)shape[i], rt_shape_fmt(nd, shape, s1, sizeof s1));
            return false;
        } else prod *= shape[i];
    }
    int64_t n = rt_numel(a);
    if (neg >= 0) {
        if (prod == 0 || n % prod != 0) {
            rt_errorf(RT_ESHAPE, "%s: shape %s is invalid for input %s (%lld elements)", op,
                      rt_shape_fmt(nd, shape, s1, sizeof s1), rt_shape_str(a, s2, sizeof s2), (long long)n);
            return false;
        }
        out[neg] = n / prod;
    } else if (prod != n) {
        rt_errorf(RT_ESHAPE, "%s: shape %s is invalid for input %s (%lld elements)", op,
                  rt_shape_fmt(nd, shape, s1, sizeof s1), rt_shape_str(a, s2, sizeof s2), (long long)n);
        return false;
    }
    return true;
}

rt_tensor *rt_reshape(rt_tensor *a, int ndim, const int64_t *shape) {
    int64_t ns[RT_MAXDIM], st[RT_MAXDIM];
    if (!resolve_shape("reshape", a, ndim, shape, ns)) return NULL;
    if (view_strides(a, ndim, ns, st)) return make_view(a, a->offset, ndim, ns, st, &RESHAPE);
    rt_tensor *c = rt_tensor_clone(a);
    if (!c) return NULL;
    rt_tensor *out = rt_tensor_view_of(c->storage, c->dtype, 0, ndim, ns, NULL);
    rt_release(c);
    if (out && rt_is_float(a->dtype)) rt_node_attach(out, &RESHAPE, 1, &a);
    return out;
}

rt_tensor *rt_view(rt_tensor *a, int ndim, const int64_t *shape) {
    int64_t ns[RT_MAXDIM], st[RT_MAXDIM];
    if (!resolve_shape("view", a, ndim, shape, ns)) return NULL;
    if (!view_strides(a, ndim, ns, st)) {
        char s1[96], s2[96];
        rt_errorf(RT_ESHAPE, "view: shape %s is not compatible with the strides of input %s (use reshape)",
                  rt_shape_fmt(ndim, ns, s1, sizeof s1), rt_shape_str(a, s2, sizeof s2));
        return NULL;
    }
    return make_view(a, a->offset, ndim, ns, st, &VIEW);
}

/* transpose node slots */
enum { TR_D0, TR_D1 };   /* i[] */

static rt_status transpose_bw(rt_node *n, rt_tensor *go, rt_tensor **g, const bool *needs) {
    if (needs[0] && !(g[0] = rt_transpose(go, (int)n->i[TR_D0], (int)n->i[TR_D1]))) return rt_last_status();
    return RT_OK;
}
static const rt_op_desc TRANSPOSE = {"transpose", transpose_bw, NULL};

rt_tensor *rt_transpose(rt_tensor *a, int d0, int d1) {
    if (a->ndim == 0 && (d0 == 0 || d0 == -1) && (d1 == 0 || d1 == -1)) { rt_retain(a); return a; }
    if (!rt_norm_dim("transpose", &d0, a->ndim, false) || !rt_norm_dim("transpose", &d1, a->ndim, false)) return NULL;
    int64_t sh[RT_MAXDIM], st[RT_MAXDIM];
    memcpy(sh, a->shape, sizeof sh);
    memcpy(st, a->stride, sizeof st);
    sh[d0] = a->shape[d1]; sh[d1] = a->shape[d0];
    st[d0] = a->stride[d1]; st[d1] = a->stride[d0];
    rt_tensor *out = make_view(a, a->offset, a->ndim, sh, st, &TRANSPOSE);
    if (out && out->grad_fn) { out->grad_fn->i[TR_D0] = d0; out->grad_fn->i[TR_D1] = d1; }
    return out;
}

static rt_status permute_bw(rt_node *n, rt_tensor *go, rt_tensor **g, const bool *needs) {
    if (!needs[0]) return RT_OK;
    int inv[RT_MAXDIM];
    for (int i = 0; i < go->ndim; i++) inv[n->i[i]] = i;
    if (!(g[0] = rt_permute(go, inv))) return rt_last_status();
    return RT_OK;
}
static const rt_op_desc PERMUTE = {"permute", permute_bw, NULL};

rt_tensor *rt_permute(rt_tensor *a, const int *perm) {
    int64_t sh[RT_MAXDIM], st[RT_MAXDIM];
    bool seen[RT_MAXDIM] = {0};
    int p[RT_MAXDIM];
    for (int i = 0; i < a->ndim; i++) {
        p[i] = perm[i];
        if (!rt_norm_dim("permute", &p[i], a->ndim, false)) return NULL;
        if (seen[p[i]]) { rt_errorf(RT_EINDEX, "permute: dim %d repeated", perm[i]); return NULL; }
        seen[p[i]] = true;
        sh[i] = a->shape[p[i]];
        st[i] = a->stride[p[i]];
    }
    rt_tensor *out = make_view(a, a->offset, a->ndim, sh, st, &PERMUTE);
    if (out && out->grad_fn) for (int i = 0; i < a->ndim; i++) out->grad_fn->i[i] = p[i];
    return out;
}

/* narrow/select backward: zeros of the input shape with go written into the window.
 * i[0] = dim, i[1] = start, i[2] = 1 for select, i[3] = narrow length. */
/* narrow / select node slots */
enum { WIN_DIM, WIN_START, WIN_IS_SELECT, WIN_LEN };   /* i[] */

static rt_status window_bw(rt_node *n, rt_tensor *go, rt_tensor **g, const bool *needs) {
    if (!needs[0]) return RT_OK;
    rt_tensor *in = n->inputs[0];
    int dim = (int)n->i[WIN_DIM];
    bool is_select = n->i[WIN_IS_SELECT] != 0;
    rt_tensor *z = rt_tensor_zeros(RT_F32, in->ndim, in->shape);
    if (!z) return rt_last_status();
    int64_t sh[RT_MAXDIM];
    memcpy(sh, in->shape, sizeof sh);
    sh[dim] = is_select ? 1 : n->i[WIN_LEN];
    rt_tensor *w = rt_tensor_view_of(z->storage, RT_F32, n->i[WIN_START] * z->stride[dim], in->ndim, sh, z->stride);
    rt_tensor *src = is_select ? rt_unsqueeze(go, dim) : (rt_retain(go), go);
    rt_status st = w && src ? rt_tensor_copy_(w, src) : rt_last_status();
    rt_release(w);
    rt_release(src);
    if (st != RT_OK) { rt_release(z); return st; }
    g[0] = z;
    return RT_OK;
}
static const rt_op_desc NARROW = {"narrow", window_bw, NULL}, SELECT = {"select", window_bw, NULL};

rt_tensor *rt_narrow(rt_tensor *a, int dim, int64_t start, int64_t len) {
    if (!rt_norm_dim("narrow", &dim, a->ndim, false)) return NULL;
    int64_t size = a->shape[dim];
    if (start < 0) start += size;
    if (start < 0 || len < 0 || start + len > size) {
        char s[96];
        rt_errorf(RT_EINDEX, "narrow: start %lld length %lld out of range for dim %d of size %lld (shape %s)",
                  (long long)start, (long long)len, dim, (long long)size, rt_shape_str(a, s, sizeof s));
        return NULL;
    }
    int64_t sh[RT_MAXDIM];
    memcpy(sh, a->shape, sizeof sh);
    sh[dim] = len;
    rt_tensor *out = make_view(a, a->offset + start * a->stride[dim], a->ndim, sh, a->stride, &NARROW);
    if (out && out->grad_fn) { out->grad_fn->i[WIN_DIM] = dim; out->grad_fn->i[WIN_START] = start; out->grad_fn->i[WIN_IS_SELECT] = 0; out->grad_fn->i[WIN_LEN] = len; }
    return out;
}

rt_tensor *rt_select(rt_tensor *a, int dim, int64_t index) {
    if (!rt_norm_dim("select", &dim, a->ndim, false)) return NULL;
    int64_t size = a->shape[dim];
    if (index < -size || index >= size) {
        char s[96];
        rt_errorf(RT_EINDEX, "select: index %lld out of range for dim %d of size %lld (shape %s)",
                  (long long)index, dim, (long long)size, rt_shape_str(a, s, sizeof s));
        return NULL;
    }
    if (index < 0) index += size;
    int64_t sh[RT_MAXDIM], st[RT_MAXDIM];
    int k = 0;
    for (int i = 0; i < a->ndim; i++) if (i != dim) { sh[k] = a->shape[i]; st[k++] = a->stride[i]; }
    rt_tensor *out = make_view(a, a->offset + index * a->stride[dim], a->ndim - 1, sh, st, &SELECT);
    if (out && out->grad_fn) { out->grad_fn->i[WIN_DIM] = dim; out->grad_fn->i[WIN_START] = index; out->grad_fn->i[WIN_IS_SELECT] = 1; }
    return out;
}

/* expand: the engine sums the gradient back to the input shape. */
static rt_status expand_bw(rt_node *n, rt_tensor *go, rt_tensor **g, const bool *needs) {
    if (needs[0] && !(g[0] = rt_reduce_to_shape(go, n->inputs[0]->ndim, n->inputs[0]->shape))) return rt_last_status();
    return RT_OK;
}
static const rt_op_desc EXPAND = {"expand", expand_bw, NULL};

rt_tensor *rt_expand(rt_tensor *a, int ndim, const int64_t *shape) {
    char s1[96], s2[96];
    if (ndim < a->ndim || ndim > RT_MAXDIM) {
        rt_errorf(RT_ESHAPE, "expand: cannot expand %s to %s", rt_shape_str(a, s1, sizeof s1), rt_shape_fmt(ndim, shape, s2, sizeof s2));
        return NULL;
    }
    int64_t sh[RT_MAXDIM], st[RT_MAXDIM];
    for (int i = 0; i < ndim; i++) {
        int j = i - (ndim - a->ndim);
        int64_t want = shape[i];
        if (j < 0) {
            if (want < 0) { rt_errorf(RT_ESHAPE, "expand: -1 not allowed for the new leading dim %d", i); return NULL; }
            sh[i] = want; st[i] = 0;
            continue;
        }
        if (want == -1) want = a->shape[j];
        if (want == a->shape[j]) { sh[i] = want; st[i] = a->stride[j]; }
        else if (a->shape[j] == 1 && want >= 0) { sh[i] = want; st[i] = 0; }
        else {
            rt_errorf(RT_ESHAPE, "expand: cannot expand %s to %s (dim %d: %lld vs %lld)", rt_shape_str(a, s1, sizeof s1),
                      rt_shape_fmt(ndim, shape, s2, sizeof s2), i, (long long)a->shape[j], (long long)want);
            return NULL;
        }
    }
    return make_view(a, a->offset, ndim, sh, st, &EXPAND);
}

rt_tensor *rt_squeeze(rt_tensor *a, int dim) {
    int64_t sh[RT_MAXDIM], st[RT_MAXDIM];
    int k = 0;
    if (dim != RT_ALLDIMS && !rt_norm_dim("squeeze", &dim, a->ndim, false)) return NULL;
    for (int i = 0; i < a->ndim; i++) {
        bool drop = a->shape[i] == 1 && (dim == RT_ALLDIMS || dim == i);
        if (!drop) { sh[k] = a->shape[i]; st[k++] = a->stride[i]; }
    }
    return make_view(a, a->offset, k, sh, st, &SQUEEZE);
}

rt_tensor *rt_unsqueeze(rt_tensor *a, int dim) {
    if (a->ndim >= RT_MAXDIM) { rt_errorf(RT_ESHAPE, "unsqueeze: already %d dims (at most %d)", a->ndim, RT_MAXDIM); return NULL; }
    if (!rt_norm_dim("unsqueeze", &dim, a->ndim, true)) return NULL;
    int64_t sh[RT_MAXDIM], st[RT_MAXDIM];
    int k = 0;
    for (int i = 0; i <= a->ndim; i++) {
        if (i == dim) {
            sh[k] = 1;
            st[k++] = i < a->ndim ? a->shape[i] * a->stride[i] : 1;
        }
        if (i < a->ndim) { sh[k] = a->shape[i]; st[k++] = a->stride[i]; }
    }
    return make_view(a, a->offset, a->ndim + 1, sh, st, &UNSQUEEZE);
}

static rt_status identity_bw(rt_node *n, rt_tensor *go, rt_tensor **g, const bool *needs) {
    (void)n;
    if (needs[0]) { rt_retain(go); g[0] = go; }
    return RT_OK;
}
static const rt_op_desc CONTIGUOUS = {"contiguous", identity_bw, NULL};

rt_tensor *rt_contiguous(rt_tensor *a) {
    if (rt_is_contiguous(a)) { rt_retain(a); return a; }
    rt_tensor *out = rt_tensor_clone(a);
    if (out && rt_is_float(a->dtype)) rt_node_attach(out, &CONTIGUOUS, 1, &a);
    return out;
}

rt_tensor *rt_clone(rt_tensor *a) {
    rt_tensor *out = rt_tensor_clone(a);
    if (out && rt_is_float(a->dtype)) rt_node_attach(out, &CONTIGUOUS, 1, &a);
    return out;
}
