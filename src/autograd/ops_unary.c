/* ops_unary.c — unary math (rt_unary) and clamp, with backward. f32 compute
 * (bf16 converted through f32); integer inputs keep their dtype for
 * neg/abs/sign/floor/ceil/round and become f32 for the rest. */
#include <math.h>
#include "ops_util.h"
#include "../kernels/elementwise.h"

_Static_assert(RT_SIGN == 14 && RT_GELU == 9, "kernel unary kinds follow rt_unary_kind");

static bool uses_output(rt_unary_kind k) {
    return k == RT_EXP || k == RT_SQRT || k == RT_RSQRT || k == RT_TANH || k == RT_SIGMOID;
}

/* n->i[0] = kind; saved[0] = output alias when the derivative uses it. */
static rt_status unary_bw(rt_node *n, rt_tensor *go, rt_tensor **g, const bool *needs) {
    if (!needs[0]) return RT_OK;
    rt_unary_kind k = (rt_unary_kind)n->i[0];
    rt_tensor *x = rt_f32c(n->inputs[0]);
    rt_tensor *y = n->n_saved ? rt_f32c(n->saved[0]) : NULL;
    rt_tensor *gc = rt_f32c(go);
    rt_tensor *gi = x ? rt_tensor_empty(RT_F32, x->ndim, x->shape) : NULL;
    rt_status st = RT_OK;
    if (!x || !gc || !gi || (n->n_saved && !y)) st = rt_last_status();
    else rt_k_unary_f32_bwd(k, rt_f32(gi), rt_f32(gc), rt_f32(x), y ? rt_f32(y) : NULL, rt_numel(x));
    rt_release(x); rt_release(y); rt_release(gc);
    if (st != RT_OK) { rt_release(gi); return st; }
    g[0] = gi;
    return RT_OK;
}

static const rt_op_desc UNARY_DESC[RT_NUNARY] = {
    {"neg", unary_bw, NULL}, {"exp", unary_bw, NULL}, {"log", unary_bw, NULL}, {"sqrt", unary_bw, NULL},
    {"rsqrt", unary_bw, NULL}, {"abs", unary_bw, NULL}, {"tanh", unary_bw, NULL}, {"sigmoid", unary_bw, NULL},
    {"relu", unary_bw, NULL}, {"gelu", unary_bw, NULL}, {"gelu_tanh", unary_bw, NULL}, {"floor", unary_bw, NULL},
    {"ceil", unary_bw, NULL}, {"round", unary_bw, NULL}, {"sign", unary_bw, NULL}};

rt_tensor *rt_unary(rt_unary_kind k, rt_tensor *a) {
    if ((unsigned)k >= RT_NUNARY) { rt_errorf(RT_EINVAL, "unary: bad kind %d", (int)k); return NULL; }
    rt_tensor *out;
    if (a->dtype == RT_F32) {
        out = rt_tensor_empty(RT_F32, a->ndim, a->shape);
        if (!out) return NULL;
        if (rt_is_contiguous(a)) rt_k_unary_f32_par(k, rt_f32(out), rt_f32(a), rt_numel(a));
        else rt_k_unary_f32_strided(k, rt_f32(out), out->stride, rt_f32(a), a->stride, a->ndim, a->shape);
    } else {
        rt_tensor *f = rt_tensor_convert(a, RT_F32);
        if (!f) return NULL;
        rt_tensor *r = rt_tensor_empty(RT_F32, a->ndim, a->shape);
        if (!r) { rt_release(f); return NULL; }
        rt_k_unary_f32_par(k, rt_f32(r), rt_f32(f), rt_numel(f));
        rt_release(f);
        bool keep = a->dtype == RT_BF16 || k == RT_NEG || k == RT_ABS || k == RT_SIGN || k == RT_FLOOR ||
                    k == RT_CEIL || k == RT_ROUND || k == RT_RELU;
        if (a->dtype == RT_BOOL && k == RT_NEG) keep = false;
        if (keep) { out = rt_tensor_convert(r, a->dtype); rt_release(r); }
        else out = r;
        if (!out) return NULL;
    }
    if (!rt_is_float(out->dtype)) return out;
    rt_node *n = rt_node_attach(out, &UNARY_DESC[k], 1, &a);
    if (n) {
        n->i[0] = k;
        if (uses_output(k)) {
            rt_tensor *al = rt_tensor_alias(out);
            rt_node_save(n, al);
            rt_release(al);
        }
    }
    return out;
}

/* f[0] = lo, f[1] = hi: gradient passes where lo <= x <= hi */
static rt_status clamp_bw(rt_node *n, rt_tensor *go, rt_tensor **g, const bool *needs) {
    if (!needs[0]) return RT_OK;
    rt_tensor *x = rt_f32c(n->inputs[0]), *gc = rt_f32c(go);
    rt_tensor *gi = x ? rt_tensor_empty(RT_F32, x->ndim, x->shape) : NULL;
    if (!x || !gc || !gi) { rt_release(x); rt_release(gc); rt_release(gi); return rt_last_status(); }
    float lo = isnan(n->f[0]) ? -INFINITY : (float)n->f[0], hi = isnan(n->f[1]) ? INFINITY : (float)n->f[1];
    const float *xp = rt_f32(x), *gp = rt_f32(gc);
    float *o = rt_f32(gi);
    int64_t m = rt_numel(x);
    #pragma omp parallel for simd if (m >= RT_PAR_MIN)
    for (int64_t i = 0; i < m; i++) o[i] = xp[i] >= lo && xp[i] <= hi ? gp[i] : 0.0f;
    rt_release(x); rt_release(gc);
    g[0] = gi;
    return RT_OK;
}
static const rt_op_desc CLAMP = {"clamp", clamp_bw, NULL};

rt_tensor *rt_clamp(rt_tensor *a, double lo, double hi) {
    rt_tensor *x = rt_f32c(a);
    if (!x) return NULL;
    rt_tensor *out = rt_tensor_empty(RT_F32, a->ndim, a->shape);
    if (!out) { rt_release(x); return NULL; }
    rt_k_clamp_f32(rt_f32(out), rt_f32(x), rt_numel(x), (float)lo, (float)hi);
    rt_release(x);
    if (a->dtype != RT_F32) {
        rt_tensor *c = rt_tensor_convert(out, a->dtype);
        rt_release(out);
        if (!c) return NULL;
        out = c;
    }
    if (rt_is_float(out->dtype)) {
        rt_node *n = rt_node_attach(out, &CLAMP, 1, &a);
        if (n) { n->f[0] = lo; n->f[1] = hi; }
    }
    return out;
}
