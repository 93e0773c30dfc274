/* ops_elementwise.c — binary ops with broadcasting (and tensor-number forms),
 * with backward. Inputs are kept by the node (retained), so backward reads
 * them directly; outputs needed by backward are saved as aliases. Results of
 * float ops are f32 (bf16 when every float input is bf16); integer ops stay
 * integer (true division gives f32). Unary ops live in ops_unary.c. */
#include <math.h>
#include <stdio.h>
#include "ops_util.h"
#include "../kernels/elementwise.h"

static const char *BIN_NAMES[] = {"add", "sub", "mul", "div", "pow", "maximum", "minimum", "rsub", "rdiv", "rpow"};

/* Result dtype of a binary op (PyTorch-like promotion). */
rt_dtype rt_promote(rt_dtype a, rt_dtype b) {
    if (a == b) return a == RT_BOOL ? RT_BOOL : a;
    if (a == RT_F32 || b == RT_F32) return RT_F32;
    if (a == RT_BF16 || b == RT_BF16) return RT_BF16;
    if (a == RT_I64 || b == RT_I64) return RT_I64;
    if (a == RT_I32 || b == RT_I32) return RT_I32;
    return RT_I64;
}

/* Forward without graph: out = a op b (broadcast). */
static rt_tensor *binary_fwd(rt_binop op, rt_tensor *a, rt_tensor *b) {
    int nd;
    int64_t shape[RT_MAXDIM], as[RT_MAXDIM], bs[RT_MAXDIM];
    if (!rt_broadcast_shapes(a->ndim, a->shape, b->ndim, b->shape, &nd, shape)) {
        char s1[96], s2[96];
        rt_errorf(RT_ESHAPE, "%s: shapes %s and %s cannot broadcast", BIN_NAMES[op],
                  rt_shape_str(a, s1, sizeof s1), rt_shape_str(b, s2, sizeof s2));
        return NULL;
    }
    rt_dtype rdt = rt_promote(a->dtype, b->dtype);
    if ((op == RT_BIN_DIV || op == RT_BIN_RDIV) && !rt_is_float(rdt)) rdt = RT_F32;
    if (op == RT_BIN_POW && !rt_is_float(rdt) && (a->dtype == RT_BOOL)) rdt = RT_I64;
    rt_tensor *out = rt_tensor_empty(rdt, nd, shape);
    if (!out) return NULL;
    rt_broadcast_strides(a->ndim, a->shape, a->stride, nd, shape, as);
    rt_broadcast_strides(b->ndim, b->shape, b->stride, nd, shape, bs);
    if (rdt == RT_F32 && a->dtype == RT_F32 && b->dtype == RT_F32) {
        rt_k_binary_f32(op, rt_f32(out), out->stride, rt_f32(a), as, rt_f32(b), bs, nd, shape);
    } else if (rt_is_float(rdt)) {
        rt_tensor *fa = a->dtype == RT_F32 ? (rt_retain(a), a) : rt_tensor_convert(a, RT_F32);
        rt_tensor *fb = b->dtype == RT_F32 ? (rt_retain(b), b) : rt_tensor_convert(b, RT_F32);
        rt_tensor *fo = rdt == RT_F32 ? (rt_retain(out), out) : rt_tensor_empty(RT_F32, nd, shape);
        if (!fa || !fb || !fo) { rt_release(fa); rt_release(fb); rt_release(fo); rt_release(out); return NULL; }
        rt_broadcast_strides(fa->ndim, fa->shape, fa->stride, nd, shape, as);
        rt_broadcast_strides(fb->ndim, fb->shape, fb->stride, nd, shape, bs);
        rt_k_binary_f32(op, rt_f32(fo), fo->stride, rt_f32(fa), as, rt_f32(fb), bs, nd, shape);
        if (fo != out) rt_tensor_copy_(out, fo);
        rt_release(fa); rt_release(fb); rt_release(fo);
    } else {
        rt_k_binary_generic(op, rt_data(out), rdt, out->stride, rt_data(a), a->dtype, as, rt_data(b), b->dtype, bs,
                            nd, shape);
    }
    return out;
}

/* ---- backward functions (run with grad mode off; ops may be used freely) ---- */

static rt_status add_bw(rt_node *n, rt_tensor *go, rt_tensor **g, const bool *needs) {
    if (needs[0]) { rt_retain(go); g[0] = go; }
    if (needs[1]) {
        if (n->i[0]) { g[1] = rt_mul_scalar(go, -1.0); if (!g[1]) return rt_last_status(); }
        else { rt_retain(go); g[1] = go; }
    }
    return RT_OK;
}

static rt_status mul_bw(rt_node *n, rt_tensor *go, rt_tensor **g, const bool *needs) {
    if (needs[0] && !(g[0] = rt_mul(go, n->inputs[1]))) return rt_last_status();
    if (needs[1] && !(g[1] = rt_mul(go, n->inputs[0]))) return rt_last_status();
    return RT_OK;
}

static rt_status div_bw(rt_node *n, rt_tensor *go, rt_tensor **g, const bool *needs) {
    rt_tensor *ga = rt_div(go, n->inputs[1]);
    if (!ga) return rt_last_status();
    if (needs[1]) {   /* d(a/b)/db = -(a/b)/b = -out/b */
        rt_tensor *t = rt_mul(ga, n->saved[0]);
        if (!t) { rt_release(ga); return rt_last_status(); }
        g[1] = rt_mul_scalar(t, -1.0);
        rt_release(t);
        if (!g[1]) { rt_release(ga); return rt_last_status(); }
    }
    if (needs[0]) g[0] = ga; else rt_release(ga);
    return RT_OK;
}

static rt_status pow_bw(rt_node *n, rt_tensor *go, rt_tensor **g, const bool *needs) {
    rt_tensor *a = n->inputs[0], *b = n->inputs[1], *out = n->saved[0];
    if (needs[0]) {   /* b * a^(b-1) */
        rt_tensor *bm1 = rt_add_scalar(b, -1.0);
        rt_tensor *p = bm1 ? rt_pow(a, bm1) : NULL;
        rt_tensor *q = p ? rt_mul(p, b) : NULL;
        g[0] = q ? rt_mul(q, go) : NULL;
        rt_release(bm1); rt_release(p); rt_release(q);
        if (!g[0]) return rt_last_status();
    }
    if (needs[1]) {   /* out * log(a) */
        rt_tensor *la = rt_unary(RT_LOG, a);
        rt_tensor *q = la ? rt_mul(out, la) : NULL;
        g[1] = q ? rt_mul(q, go) : NULL;
        rt_release(la); rt_release(q);
        if (!g[1]) return rt_last_status();
    }
    return RT_OK;
}

static const rt_op_desc ADD = {"add", add_bw, NULL}, SUB = {"sub", add_bw, NULL},
                        MUL = {"mul", mul_bw, NULL}, DIV = {"div", div_bw, NULL},
                        POW = {"pow", pow_bw, NULL};

static rt_tensor *binary(rt_binop op, const rt_op_desc *desc, rt_tensor *a, rt_tensor *b) {
    rt_tensor *out = binary_fwd(op, a, b);
    if (!out || !rt_is_float(out->dtype)) return out;
    rt_tensor *in[2] = {a, b};
    rt_node *n = rt_node_attach(out, desc, 2, in);
    if (n) {
        n->i[0] = op == RT_BIN_SUB;
        if (op == RT_BIN_DIV || op == RT_BIN_POW) {
            rt_tensor *al = rt_tensor_alias(out);
            rt_node_save(n, al);
            rt_release(al);
        }
    }
    return out;
}

rt_tensor *rt_add(rt_tensor *a, rt_tensor *b) { return binary(RT_BIN_ADD, &ADD, a, b); }
rt_tensor *rt_sub(rt_tensor *a, rt_tensor *b) { return binary(RT_BIN_SUB, &SUB, a, b); }
rt_tensor *rt_mul(rt_tensor *a, rt_tensor *b) { return binary(RT_BIN_MUL, &MUL, a, b); }
rt_tensor *rt_div(rt_tensor *a, rt_tensor *b) { return binary(RT_BIN_DIV, &DIV, a, b); }
rt_tensor *rt_pow(rt_tensor *a, rt_tensor *b) { return binary(RT_BIN_POW, &POW, a, b); }

/* ---- tensor (op) number ---- */

/* f[0] = s; i[0] = op */
static rt_status scalar_bw(rt_node *n, rt_tensor *go, rt_tensor **g, const bool *needs) {
    if (!needs[0]) return RT_OK;
    double s = n->f[0];
    rt_tensor *a = n->inputs[0], *out = n->n_saved ? n->saved[0] : NULL, *t = NULL, *u = NULL;
    switch ((rt_binop)n->i[0]) {
    case RT_BIN_ADD: rt_retain(go); g[0] = go; break;
    case RT_BIN_MUL: g[0] = rt_mul_scalar(go, s); break;
    case RT_BIN_RSUB: g[0] = rt_mul_scalar(go, -1.0); break;
    case RT_BIN_RDIV:   /* d(s/a) = -out/a */
        t = rt_div(out, a);
        u = t ? rt_mul(t, go) : NULL;
        g[0] = u ? rt_mul_scalar(u, -1.0) : NULL;
        break;
    case RT_BIN_POW:    /* p a^(p-1) */
        if (s == 0) { g[0] = rt_tensor_zeros(RT_F32, a->ndim, a->shape); break; }
        t = s == 1 ? (rt_retain(go), go) : rt_pow_scalar(a, s - 1);
        u = t && s != 1 ? rt_mul(t, go) : (rt_retain(t), t);
        g[0] = u ? rt_mul_scalar(u, s) : NULL;
        break;
    case RT_BIN_RPOW:   /* s^a ln s */
        t = rt_mul(out, go);
        g[0] = t ? rt_mul_scalar(t, log(s)) : NULL;
        break;
    default: break;
    }
    rt_release(t); rt_release(u);
    return g[0] ? RT_OK : rt_last_status();
}

static const rt_op_desc SC_ADD = {"add", scalar_bw, NULL}, SC_MUL = {"mul", scalar_bw, NULL},
                        SC_RSUB = {"rsub", scalar_bw, NULL}, SC_RDIV = {"rdiv", scalar_bw, NULL},
                        SC_POW = {"pow", scalar_bw, NULL}, SC_RPOW = {"rpow", scalar_bw, NULL};

static rt_tensor *scalar_op(rt_binop op, const rt_op_desc *desc, rt_tensor *a, double s) {
    rt_tensor *out;
    if (a->dtype == RT_F32) {
        out = rt_tensor_empty(RT_F32, a->ndim, a->shape);
        if (!out) return NULL;
        rt_k_binary_scalar_f32(op, rt_f32(out), out->stride, rt_f32(a), a->stride, a->ndim, a->shape, (float)s);
    } else {
        bool integral = s == floor(s) && fabs(s) < 9e15 && op != RT_BIN_RDIV && !(op == RT_BIN_POW && s < 0);
        rt_dtype sdt = rt_is_float(a->dtype) ? a->dtype : (integral ? RT_I64 : RT_F32);
        if (a->dtype == RT_I32 && integral) sdt = RT_I32;
        rt_tensor *st = rt_tensor_scalar(sdt == RT_BF16 ? RT_F32 : sdt, s);
        if (!st) return NULL;
        rt_binop bop = op == RT_BIN_RSUB ? RT_BIN_SUB : op == RT_BIN_RDIV ? RT_BIN_DIV : op == RT_BIN_RPOW ? RT_BIN_POW : op;
        bool rev = op == RT_BIN_RSUB || op == RT_BIN_RDIV || op == RT_BIN_RPOW;
        out = rev ? binary_fwd(bop, st, a) : binary_fwd(bop, a, st);
        rt_release(st);
        if (out && a->dtype == RT_BF16 && out->dtype != RT_BF16) {
            rt_tensor *c = rt_tensor_convert(out, RT_BF16);
            rt_release(out);
            out = c;
        }
        if (!out) return NULL;
    }
    if (!rt_is_float(out->dtype)) return out;
    rt_node *n = rt_node_attach(out, desc, 1, &a);
    if (n) {
        n->f[0] = s;
        n->i[0] = op;
        if (op == RT_BIN_RDIV || op == RT_BIN_RPOW) {
            rt_tensor *al = rt_tensor_alias(out);
            rt_node_save(n, al);
            rt_release(al);
        }
    }
    return out;
}

rt_tensor *rt_add_scalar(rt_tensor *a, double s) { return scalar_op(RT_BIN_ADD, &SC_ADD, a, s); }
rt_tensor *rt_mul_scalar(rt_tensor *a, double s) { return scalar_op(RT_BIN_MUL, &SC_MUL, a, s); }
rt_tensor *rt_rsub_scalar(rt_tensor *a, double s) { return scalar_op(RT_BIN_RSUB, &SC_RSUB, a, s); }
rt_tensor *rt_rdiv_scalar(rt_tensor *a, double s) { return scalar_op(RT_BIN_RDIV, &SC_RDIV, a, s); }
rt_tensor *rt_pow_scalar(rt_tensor *a, double p) { return scalar_op(RT_BIN_POW, &SC_POW, a, p); }
rt_tensor *rt_rpow_scalar(rt_tensor *a, double s) { return scalar_op(RT_BIN_RPOW, &SC_RPOW, a, s); }

/* ---- comparisons ---- */

static const char *CMP_NAMES[] = {"eq", "ne", "lt", "le", "gt", "ge"};

rt_tensor *rt_compare(rt_cmp_kind k, rt_tensor *a, rt_tensor *b) {
    int nd;
    int64_t shape[RT_MAXDIM], as[RT_MAXDIM], bs[RT_MAXDIM];
    if (!rt_broadcast_shapes(a->ndim, a->shape, b->ndim, b->shape, &nd, shape)) {
        char s1[96], s2[96];
        rt_errorf(RT_ESHAPE, "%s: shapes %s and %s cannot broadcast", CMP_NAMES[k],
                  rt_shape_str(a, s1, sizeof s1), rt_shape_str(b, s2, sizeof s2));
        return NULL;
    }
    rt_tensor *out = rt_tensor_empty(RT_BOOL, nd, shape);
    if (!out) return NULL;
    rt_broadcast_strides(a->ndim, a->shape, a->stride, nd, shape, as);
    rt_broadcast_strides(b->ndim, b->shape, b->stride, nd, shape, bs);
    rt_k_compare(k, rt_data(out), out->stride, rt_data(a), a->dtype, as, rt_data(b), b->dtype, bs, nd, shape);
    return out;
}

rt_tensor *rt_compare_scalar(rt_cmp_kind k, rt_tensor *a, double s) {
    rt_tensor *st = rt_tensor_scalar(a->dtype == RT_F32 || a->dtype == RT_BF16 ? RT_F32 :
                                     (s == floor(s) ? RT_I64 : RT_F32), s);
    if (!st) return NULL;
    rt_tensor *out = rt_compare(k, a, st);
    rt_release(st);
    return out;
}

/* ---- where / masked_fill ---- */

static rt_status where_bw(rt_node *n, rt_tensor *go, rt_tensor **g, const bool *needs) {
    rt_tensor *cond = n->inputs[0];
    if (needs[2] && !(g[2] = rt_masked_fill(go, cond, 0.0))) return rt_last_status();
    if (needs[1]) {
        rt_tensor *z = rt_tensor_scalar(RT_F32, 0.0);
        g[1] = z ? rt_where(cond, go, z) : NULL;
        rt_release(z);
        if (!g[1]) return rt_last_status();
    }
    return RT_OK;
}
/* masked_fill(a, mask): gradient to a is go where mask is false */
static rt_status masked_fill_bw(rt_node *n, rt_tensor *go, rt_tensor **g, const bool *needs) {
    if (needs[0] && !(g[0] = rt_masked_fill(go, n->inputs[1], 0.0))) return rt_last_status();
    return RT_OK;
}
static const rt_op_desc WHERE = {"where", where_bw, NULL}, MASKED_FILL = {"masked_fill", masked_fill_bw, NULL};

static rt_tensor *where_fwd(const char *op, rt_tensor *cond, rt_tensor *a, rt_tensor *b) {
    int n1, nd;
    int64_t s1[RT_MAXDIM], shape[RT_MAXDIM], cs[RT_MAXDIM], as[RT_MAXDIM], bs[RT_MAXDIM];
    if (!rt_broadcast_shapes(cond->ndim, cond->shape, a->ndim, a->shape, &n1, s1) ||
        !rt_broadcast_shapes(n1, s1, b->ndim, b->shape, &nd, shape)) {
        char x[96], y[96], z[96];
        rt_errorf(RT_ESHAPE, "%s: shapes %s, %s and %s cannot broadcast", op, rt_shape_str(cond, x, sizeof x),
                  rt_shape_str(a, y, sizeof y), rt_shape_str(b, z, sizeof z));
        return NULL;
    }
    rt_dtype dt = rt_promote(a->dtype, b->dtype);
    rt_tensor *ca = a->dtype == dt ? (rt_retain(a), a) : rt_tensor_convert(a, dt);
    rt_tensor *cb = b->dtype == dt ? (rt_retain(b), b) : rt_tensor_convert(b, dt);
    rt_tensor *out = ca && cb ? rt_tensor_empty(dt, nd, shape) : NULL;
    if (out) {
        rt_broadcast_strides(cond->ndim, cond->shape, cond->stride, nd, shape, cs);
        rt_broadcast_strides(ca->ndim, ca->shape, ca->stride, nd, shape, as);
        rt_broadcast_strides(cb->ndim, cb->shape, cb->stride, nd, shape, bs);
        rt_k_where(rt_data(out), out->stride, dt, rt_data(cond), cond->dtype, cs, rt_data(ca), as,
                   rt_data(cb), bs, nd, shape);
    }
    rt_release(ca); rt_release(cb);
    return out;
}

rt_tensor *rt_where(rt_tensor *cond, rt_tensor *a, rt_tensor *b) {
    rt_tensor *out = where_fwd("where", cond, a, b);
    if (out && rt_is_float(out->dtype)) {
        rt_tensor *in[3] = {cond, a, b};
        rt_node_attach(out, &WHERE, 3, in);
    }
    return out;
}

rt_tensor *rt_masked_fill(rt_tensor *a, rt_tensor *mask, double value) {
    int nd;
    int64_t shape[RT_MAXDIM];
    bool ok = rt_broadcast_shapes(a->ndim, a->shape, mask->ndim, mask->shape, &nd, shape) && nd == a->ndim;
    for (int i = 0; ok && i < nd; i++) ok = shape[i] == a->shape[i];
    if (!ok) {
        char x[96], y[96];
        rt_errorf(RT_ESHAPE, "masked_fill: mask %s cannot broadcast to %s", rt_shape_str(mask, x, sizeof x),
                  rt_shape_str(a, y, sizeof y));
        return NULL;
    }
    rt_tensor *v = rt_tensor_scalar(a->dtype, value);
    if (!v) return NULL;
    rt_tensor *out = where_fwd("masked_fill", mask, v, a);
    rt_release(v);
    if (out && rt_is_float(out->dtype)) {
        rt_tensor *in[2] = {a, mask};
        rt_node_attach(out, &MASKED_FILL, 2, in);
    }
    return out;
}

/* ---- dtype conversion ---- */

static rt_status to_bw(rt_node *n, rt_tensor *go, rt_tensor **g, const bool *needs) {
    if (needs[0] && !(g[0] = rt_tensor_convert(go, n->inputs[0]->dtype))) return rt_last_status();
    return RT_OK;
}
static const rt_op_desc TO = {"to", to_bw, NULL};

rt_tensor *rt_to(rt_tensor *a, rt_dtype dt) {
    if ((unsigned)dt >= RT_NDTYPES) { rt_errorf(RT_EDTYPE, "to: bad dtype %d", (int)dt); return NULL; }
    if (a->dtype == dt) { rt_retain(a); return a; }
    rt_tensor *out = rt_tensor_convert(a, dt);
    if (out && rt_is_float(dt) && rt_is_float(a->dtype)) rt_node_attach(out, &TO, 1, &a);
    return out;
}
