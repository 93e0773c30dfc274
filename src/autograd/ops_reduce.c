/* ops_reduce.c — sum, mean, var, norm over dims (keepdim), max/min (values and
 * indices), argmax/argmin, with backward. Every reduction is brought to an
 * [O, R, I] contiguous f32 layout (kernels/reduce.h): directly when the
 * reduced dims are adjacent, else through a permuting copy. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ops_util.h"
#include "../kernels/reduce.h"

typedef struct {
    bool red[RT_MAXDIM];     /* reduced dims */
    int nred;
    int out_nd;              /* ndim of the result */
    int64_t out_shape[RT_MAXDIM];
    int64_t keep_shape[RT_MAXDIM];   /* input ndim, 1 at reduced dims */
    int64_t O, R, I;
} rplan;

static bool plan(const char *op, const rt_tensor *a, const int *dims, int ndims, bool keepdim, rplan *p) {
    memset(p, 0, sizeof *p);
    if (ndims == 0 || (ndims == 1 && dims[0] == RT_ALLDIMS)) {
        for (int i = 0; i < a->ndim; i++) p->red[i] = true;
    } else {
        for (int k = 0; k < ndims; k++) {
            int d = dims[k];
            if (!rt_norm_dim(op, &d, a->ndim, false)) return false;
            if (a->ndim == 0) continue;
            if (p->red[d]) { rt_errorf(RT_EINDEX, "%s: dim %d repeated", op, dims[k]); return false; }
            p->red[d] = true;
        }
    }
    p->O = p->R = p->I = 1;
    for (int i = 0; i < a->ndim; i++) {
        p->keep_shape[i] = p->red[i] ? 1 : a->shape[i];
        if (p->red[i]) { p->nred++; p->R *= a->shape[i]; if (keepdim) p->out_shape[p->out_nd++] = 1; }
        else p->out_shape[p->out_nd++] = a->shape[i];
    }
    return true;
}

/* A contiguous f32 buffer of a laid out as [O, R, I] for the plan (new ref). */
static rt_tensor *to_ori(rt_tensor *a, rplan *p) {
    int lo = -1, hi = -1;
    for (int i = 0; i < a->ndim; i++) if (p->red[i]) { if (lo < 0) lo = i; hi = i; }
    bool adjacent = true;
    for (int i = lo; lo >= 0 && i <= hi; i++) if (!p->red[i] && a->shape[i] != 1) adjacent = false;
    if (lo < 0) { p->O = rt_numel(a); p->R = 1; p->I = 1; return rt_f32c(a); }
    if (adjacent) {
        p->O = rt_shape_numel(lo, a->shape);
        p->I = rt_shape_numel(a->ndim - hi - 1, a->shape + hi + 1);
        return rt_f32c(a);
    }
    int perm[RT_MAXDIM], k = 0;
    for (int i = 0; i < a->ndim; i++) if (!p->red[i]) perm[k++] = i;
    for (int i = 0; i < a->ndim; i++) if (p->red[i]) perm[k++] = i;
    int64_t sh[RT_MAXDIM], st[RT_MAXDIM];
    for (int i = 0; i < a->ndim; i++) { sh[i] = a->shape[perm[i]]; st[i] = a->stride[perm[i]]; }
    rt_tensor *v = rt_tensor_view_of(a->storage, a->dtype, a->offset, a->ndim, sh, st);
    if (!v) return NULL;
    rt_tensor *c = rt_tensor_convert(v, RT_F32);
    rt_release(v);
    p->I = 1;
    p->O = rt_numel(a) / (p->R ? p->R : 1);
    if (p->R == 0) p->O = rt_numel(a);
    return c;
}

static rt_tensor *finish_dtype(rt_tensor *out, rt_dtype want) {
    if (!out || out->dtype == want) return out;
    rt_tensor *c = rt_tensor_convert(out, want);
    rt_release(out);
    return c;
}

/* Gradient of a keepdim-shaped g (shape keep_shape) expanded to the input shape, times scale. */
static rt_tensor *expand_grad(rt_tensor *go, rt_node *n, double scale) {
    rt_tensor *in = n->inputs[0];
    int64_t ks[RT_MAXDIM];
    for (int i = 0; i < in->ndim; i++) ks[i] = n->i[i] ? 1 : in->shape[i];
    rt_tensor *r = rt_reshape(go, in->ndim, ks);
    if (!r) return NULL;
    rt_tensor *e = rt_expand(r, in->ndim, in->shape);
    rt_release(r);
    if (!e || scale == 1.0) return e;
    rt_tensor *s = rt_mul_scalar(e, scale);
    rt_release(e);
    return s;
}

/* i[d] = 1 for reduced dims; i[7] = kind (0 sum, 1 mean, 2 var, 3 norm); f[0] = scale/correction/p */
static rt_status reduce_bw(rt_node *n, rt_tensor *go, rt_tensor **g, const bool *needs) {
    if (!needs[0]) return RT_OK;
    rt_tensor *x = n->inputs[0];
    int kind = (int)n->i[7];
    if (kind == 0 || kind == 1) {
        g[0] = expand_grad(go, n, n->f[0]);
        return g[0] ? RT_OK : rt_last_status();
    }
    rt_tensor *ge = expand_grad(go, n, 1.0);
    if (!ge) return rt_last_status();
    rt_tensor *res = NULL, *t1 = NULL, *t2 = NULL, *t3 = NULL;
    int dims[RT_MAXDIM], nd = 0;
    for (int i = 0; i < x->ndim; i++) if (n->i[i]) dims[nd++] = i;
    if (kind == 2) {   /* var: 2 (x - mean) / (N - c) */
        t1 = rt_mean(x, dims, nd, true);
        t2 = t1 ? rt_sub(x, t1) : NULL;
        t3 = t2 ? rt_mul(t2, ge) : NULL;
        res = t3 ? rt_mul_scalar(t3, 2.0 / n->f[1]) : NULL;
    } else {           /* norm */
        double p = n->f[0];
        rt_tensor *out = n->saved[0];   /* keepdim-shaped alias */
        if (p == 2) {      /* x / norm (0 where norm is 0) */
            t1 = rt_div(x, out);
            t2 = t1 ? rt_mul(t1, ge) : NULL;
            rt_tensor *mask = rt_compare_scalar(RT_EQ, out, 0.0);
            res = t2 && mask ? rt_masked_fill(t2, mask, 0.0) : NULL;
            rt_release(mask);
        } else if (p == 1) {
            t1 = rt_unary(RT_SIGN, x);
            res = t1 ? rt_mul(t1, ge) : NULL;
        } else if (isinf(p)) {   /* to the elements equal to the max |x| */
            t1 = rt_unary(RT_ABS, x);
            rt_tensor *m = t1 ? rt_compare(RT_EQ, t1, out) : NULL;
            t2 = rt_unary(RT_SIGN, x);
            t3 = t2 && m ? rt_masked_fill(t2, m, 0.0) : NULL;      /* sign where not max */
            rt_tensor *t4 = t2 && t3 ? rt_sub(t2, t3) : NULL;        /* sign where max */
            res = t4 ? rt_mul(t4, ge) : NULL;
            rt_release(m); rt_release(t4);
        } else {               /* |x|^(p-1) sign(x) / norm^(p-1) */
            t1 = rt_unary(RT_ABS, x);
            rt_tensor *a = t1 ? rt_div(t1, out) : NULL;
            rt_tensor *b = a ? rt_pow_scalar(a, p - 1) : NULL;
            t2 = rt_unary(RT_SIGN, x);
            t3 = b && t2 ? rt_mul(b, t2) : NULL;
            res = t3 ? rt_mul(t3, ge) : NULL;
            rt_release(a); rt_release(b);
        }
    }
    rt_release(t1); rt_release(t2); rt_release(t3); rt_release(ge);
    if (!res) return rt_last_status();
    g[0] = res;
    return RT_OK;
}
static const rt_op_desc SUM = {"sum", reduce_bw, NULL}, MEAN = {"mean", reduce_bw, NULL},
                        VAR = {"var", reduce_bw, NULL}, NORM = {"norm", reduce_bw, NULL};

static rt_tensor *reduce(const char *op, int kind, rt_tensor *a, const int *dims, int ndims, bool keepdim,
                         double param) {
    rplan p;
    if (!plan(op, a, dims, ndims, keepdim, &p)) return NULL;
    if (kind != 0 && !rt_need_float(op, a)) return NULL;
    rt_tensor *x = to_ori(a, &p);
    if (!x) return NULL;
    rt_tensor *out = rt_tensor_empty(RT_F32, p.out_nd, p.out_shape);
    if (!out) { rt_release(x); return NULL; }
    double scale = 1.0;
    if (kind == 0) rt_k_sum_ori(rt_f32(out), rt_f32(x), p.O, p.R, p.I, 1.0);
    else if (kind == 1) { scale = p.R ? 1.0 / (double)p.R : NAN; rt_k_sum_ori(rt_f32(out), rt_f32(x), p.O, p.R, p.I, scale); }
    else if (kind == 2) rt_k_var_ori(rt_f32(out), rt_f32(x), p.O, p.R, p.I, (int64_t)param);
    else rt_k_norm_ori(rt_f32(out), rt_f32(x), p.O, p.R, p.I, param);
    rt_release(x);
    rt_dtype want = a->dtype == RT_BF16 ? RT_BF16 : (rt_is_float(a->dtype) ? RT_F32 : RT_I64);
    if (kind != 0) want = a->dtype == RT_BF16 ? RT_BF16 : RT_F32;
    out = finish_dtype(out, want);
    if (!out || !rt_is_float(out->dtype)) return out;
    static const rt_op_desc *descs[4] = {&SUM, &MEAN, &VAR, &NORM};
    rt_node *n = rt_node_attach(out, descs[kind], 1, &a);
    if (n) {
        for (int i = 0; i < a->ndim; i++) n->i[i] = p.red[i];
        n->i[7] = kind;
        n->f[0] = kind == 3 ? param : scale;
        if (kind == 2) n->f[1] = (double)p.R - param;   /* var: N - correction */
        if (kind == 3) {
            rt_tensor *al = rt_tensor_view_of(out->storage, out->dtype, out->offset, a->ndim, p.keep_shape, NULL);
            rt_node_save(n, al);
            rt_release(al);
        }
    }
    return out;
}

rt_tensor *rt_sum(rt_tensor *a, const int *dims, int ndims, bool keepdim) { return reduce("sum", 0, a, dims, ndims, keepdim, 0); }
rt_tensor *rt_mean(rt_tensor *a, const int *dims, int ndims, bool keepdim) { return reduce("mean", 1, a, dims, ndims, keepdim, 0); }
rt_tensor *rt_var(rt_tensor *a, const int *dims, int ndims, int correction, bool keepdim) {
    return reduce("var", 2, a, dims, ndims, keepdim, correction);
}
rt_tensor *rt_norm(rt_tensor *a, double p, const int *dims, int ndims, bool keepdim) {
    if (p < 0 || isnan(p)) { rt_errorf(RT_EINVAL, "norm: p must be >= 0, got %g", p); return NULL; }
    return reduce("norm", 3, a, dims, ndims, keepdim, p);
}

/* ---- max / min ---- */

/* saved[0] = indices (i64, keepdim shape [O,1,I] as the input's keep shape); i[0] = dim or -1 (all) */
static rt_status maxmin_bw(rt_node *n, rt_tensor *go, rt_tensor **g, const bool *needs) {
    if (!needs[0]) return RT_OK;
    rt_tensor *x = n->inputs[0], *idx = n->saved[0];
    rt_tensor *gc = rt_f32c(go);
    rt_tensor *z = rt_tensor_zeros(RT_F32, x->ndim, x->shape);
    if (!gc || !z) { rt_release(gc); rt_release(z); return rt_last_status(); }
    int64_t O = n->i[1], R = n->i[2], I = n->i[3];
    const int64_t *ip = (const int64_t *)rt_data(idx);
    const float *gp = rt_f32(gc);
    float *zp = rt_f32(z);
    if (n->i[4]) {   /* max()/min() over everything: split evenly among ties, as PyTorch */
        rt_tensor *xc = rt_f32c(x);
        if (!xc) { rt_release(gc); rt_release(z); return rt_last_status(); }
        const float *xp = rt_f32(xc);
        float best = xp[ip[0]];
        int64_t cnt = 0, N = rt_numel(xc);
        for (int64_t e = 0; e < N; e++) cnt += xp[e] == best || (best != best && xp[e] != xp[e]);
        float share = gp[0] / (float)(cnt ? cnt : 1);
        for (int64_t e = 0; e < N; e++)
            if (xp[e] == best || (best != best && xp[e] != xp[e])) zp[e] = share;
        rt_release(xc);
    } else {
        for (int64_t oi = 0; oi < O * I; oi++) {
            int64_t o = oi / I, i = oi % I;
            zp[(o * R + ip[oi]) * I + i] += gp[oi];
        }
    }
    rt_release(gc);
    g[0] = z;
    return RT_OK;
}
static const rt_op_desc MAX = {"max", maxmin_bw, NULL}, MIN = {"min", maxmin_bw, NULL};

static rt_tensor *maxmin(const char *op, bool is_max, bool want_vals, rt_tensor *a, int dim, bool keepdim,
                         rt_tensor **indices) {
    if (indices) *indices = NULL;
    if (rt_numel(a) == 0) { char s[96]; rt_errorf(RT_ESHAPE, "%s: empty tensor %s", op, rt_shape_str(a, s, sizeof s)); return NULL; }
    bool all = dim == RT_ALLDIMS;
    if (!all && !rt_norm_dim(op, &dim, a->ndim, false)) return NULL;
    if (a->ndim == 0) all = true;
    int64_t O, R, I, osh[RT_MAXDIM];
    int ond = 0;
    if (all) { O = 1; R = rt_numel(a); I = 1; }
    else {
        O = rt_shape_numel(dim, a->shape); R = a->shape[dim]; I = rt_shape_numel(a->ndim - dim - 1, a->shape + dim + 1);
        for (int i = 0; i < a->ndim; i++) if (i != dim || keepdim) osh[ond++] = i == dim ? 1 : a->shape[i];
    }
    if (all && keepdim) { ond = a->ndim; for (int i = 0; i < ond; i++) osh[i] = 1; }
    rt_tensor *x = rt_f32c(a);
    rt_tensor *vals = want_vals ? rt_tensor_empty(RT_F32, ond, osh) : NULL;
    rt_tensor *idx = rt_tensor_empty(RT_I64, ond, osh);
    if (!x || (want_vals && !vals) || !idx) { rt_release(x); rt_release(vals); rt_release(idx); return NULL; }
    rt_k_maxmin_ori(vals ? rt_f32(vals) : NULL, (int64_t *)rt_data(idx), rt_f32(x), O, R, I, is_max);
    rt_release(x);
    if (!want_vals) return idx;
    if (a->dtype != RT_F32) {
        vals = finish_dtype(vals, a->dtype);
        if (!vals) { rt_release(idx); return NULL; }
    }
    if (rt_is_float(vals->dtype)) {
        rt_node *n = rt_node_attach(vals, is_max ? &MAX : &MIN, 1, &a);
        if (n) { rt_node_save(n, idx); n->i[1] = O; n->i[2] = R; n->i[3] = I; n->i[4] = all; }
    }
    if (indices) *indices = idx; else rt_release(idx);
    return vals;
}

rt_tensor *rt_max(rt_tensor *a, int dim, bool keepdim, rt_tensor **indices) { return maxmin("max", true, true, a, dim, keepdim, indices); }
rt_tensor *rt_min(rt_tensor *a, int dim, bool keepdim, rt_tensor **indices) { return maxmin("min", false, true, a, dim, keepdim, indices); }
rt_tensor *rt_argmax(rt_tensor *a, int dim, bool keepdim) { return maxmin("argmax", true, false, a, dim, keepdim, NULL); }
rt_tensor *rt_argmin(rt_tensor *a, int dim, bool keepdim) { return maxmin("argmin", false, false, a, dim, keepdim, NULL); }
