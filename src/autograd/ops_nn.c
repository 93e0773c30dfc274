/* ops_nn.c — softmax / log_softmax (any dim), layer_norm (last n dims),
 * dropout (counter-based mask, regenerated in backward) and embedding. */
#include <string.h>
#include "nn_common.h"
#include "../kernels/nn.h"

/* outer/n/inner split of a contiguous shape around dim */
static void split_dims(const rt_tensor *t, int dim, int64_t *outer, int64_t *n, int64_t *inner) {
    *outer = 1; *inner = 1; *n = t->ndim ? t->shape[dim] : 1;
    for (int d = 0; d < dim; d++) *outer *= t->shape[d];
    for (int d = dim + 1; d < t->ndim; d++) *inner *= t->shape[d];
}

/* ---- softmax / log_softmax ---- */

/* softmax / log_softmax node slots */
enum { SM_Y };   /* saved[] */
enum { SM_DIM, SM_LOG };   /* i[] */

static rt_status softmax_backward(rt_node *n, rt_tensor *go, rt_tensor **grads, const bool *needs) {
    if (!needs[0]) return RT_OK;
    rt_tensor *y = n->saved[SM_Y], *g = nn_f32c(go);
    if (!g) return rt_last_status();
    rt_tensor *gx = rt_tensor_empty(RT_F32, y->ndim, y->shape);
    if (!gx) { rt_release(g); return rt_last_status(); }
    int64_t outer, len, inner;
    split_dims(y, (int)n->i[SM_DIM], &outer, &len, &inner);
    rt_k_softmax_bwd(rt_f32(gx), rt_f32(y), rt_f32(g), outer, len, inner, n->i[SM_LOG] != 0);
    rt_release(g);
    grads[0] = gx;
    return RT_OK;
}
static const rt_op_desc SOFTMAX = {"softmax", softmax_backward, NULL};
static const rt_op_desc LOG_SOFTMAX = {"log_softmax", softmax_backward, NULL};

static rt_tensor *softmax_impl(const char *op, rt_tensor *a, int dim, bool lg) {
    if (!nn_need_f32(op, "input", a) || !nn_dim(op, &dim, a->ndim)) return NULL;
    rt_tensor *x = rt_tensor_contiguous(a);
    if (!x) return NULL;
    rt_tensor *y = rt_tensor_empty(RT_F32, a->ndim, a->shape);
    if (!y) { rt_release(x); return NULL; }
    int64_t outer, len, inner;
    split_dims(x, dim, &outer, &len, &inner);
    rt_k_softmax(rt_f32(y), rt_f32(x), outer, len, inner, lg);
    rt_release(x);
    rt_node *nd = rt_node_attach(y, lg ? &LOG_SOFTMAX : &SOFTMAX, 1, &a);
    if (nd) {
        rt_tensor *al = rt_tensor_alias(y);
        if (!al) { rt_release(y); return NULL; }
        rt_node_save_at(nd, SM_Y, al);
        rt_release(al);
        nd->i[SM_DIM] = dim; nd->i[SM_LOG] = lg;
    }
    return y;
}

rt_tensor *rt_softmax(rt_tensor *a, int dim) { return softmax_impl("softmax", a, dim, false); }
rt_tensor *rt_log_softmax(rt_tensor *a, int dim) { return softmax_impl("log_softmax", a, dim, true); }

/* ---- layer_norm ---- */

/* layer_norm node slots */
enum { LN_X, LN_MEAN, LN_RSTD, LN_W };   /* saved[] */
enum { LN_EPS };   /* f[] */

static rt_status layer_norm_backward(rt_node *n, rt_tensor *go, rt_tensor **grads, const bool *needs) {
    rt_tensor *x = n->saved[LN_X], *mean = n->saved[LN_MEAN], *rstd = n->saved[LN_RSTD];
    rt_tensor *w = n->inputs[1] ? n->saved[LN_W] : NULL;
    int64_t rows = rt_numel(mean), len = rows ? rt_numel(x) / rows : 0;
    rt_tensor *g = nn_f32c(go), *gx = NULL, *gw = NULL, *gb = NULL;
    if (!g) return rt_last_status();
    if (needs[0] && !(gx = rt_tensor_empty(RT_F32, x->ndim, x->shape))) goto fail;
    if (n->inputs[1] && needs[1] && !(gw = rt_tensor_empty(RT_F32, n->inputs[1]->ndim, n->inputs[1]->shape))) goto fail;
    if (n->inputs[2] && needs[2] && !(gb = rt_tensor_empty(RT_F32, n->inputs[2]->ndim, n->inputs[2]->shape))) goto fail;
    if (rt_k_layer_norm_bwd(gx ? rt_f32(gx) : NULL, gw ? rt_f32(gw) : NULL, gb ? rt_f32(gb) : NULL, rt_f32(g),
                            rt_f32(x), w ? rt_f32(w) : NULL, rt_f32(mean), rt_f32(rstd), rows, len) != RT_OK)
        goto fail;
    rt_release(g);
    grads[0] = gx; grads[1] = gw; grads[2] = gb;
    return RT_OK;
fail:
    rt_release(g); rt_release(gx); rt_release(gw); rt_release(gb);
    return rt_last_status();
}
static const rt_op_desc LAYER_NORM = {"layer_norm", layer_norm_backward, NULL};

rt_tensor *rt_layer_norm(rt_tensor *x, int n_norm, rt_tensor *w, rt_tensor *b, double eps) {
    char sx[96], sw[96];
    if (!nn_need_f32("layer_norm", "input", x) || (w && !nn_need_f32("layer_norm", "weight", w)) ||
        (b && !nn_need_f32("layer_norm", "bias", b)))
        return NULL;
    if (n_norm < 1 || n_norm > x->ndim) {
        rt_errorf(RT_ESHAPE, "layer_norm: cannot normalise over the last %d dims of %s", n_norm,
                  rt_shape_str(x, sx, sizeof sx));
        return NULL;
    }
    int64_t len = 1;
    for (int d = x->ndim - n_norm; d < x->ndim; d++) len *= x->shape[d];
    rt_tensor *pw[2] = {w, b};
    for (int i = 0; i < 2; i++) {
        rt_tensor *p = pw[i];
        if (!p) continue;
        bool ok = p->ndim == n_norm;
        for (int d = 0; ok && d < n_norm; d++) ok = p->shape[d] == x->shape[x->ndim - n_norm + d];
        if (!ok) {
            rt_errorf(RT_ESHAPE, "layer_norm: %s %s does not match the normalised shape of input %s",
                      i ? "bias" : "weight", rt_shape_str(p, sw, sizeof sw), rt_shape_str(x, sx, sizeof sx));
            return NULL;
        }
    }
    int64_t rows = len ? rt_numel(x) / len : 0;
    rt_tensor *xc = rt_tensor_contiguous(x), *wc = w ? rt_tensor_contiguous(w) : NULL,
              *bc = b ? rt_tensor_contiguous(b) : NULL, *y = NULL, *mean = NULL, *rstd = NULL;
    if (!xc || (w && !wc) || (b && !bc)) goto done;
    if (!(y = rt_tensor_empty(RT_F32, x->ndim, x->shape)) || !(mean = rt_tensor_empty(RT_F32, 1, &rows)) ||
        !(rstd = rt_tensor_empty(RT_F32, 1, &rows))) {
        rt_release(y); y = NULL;
        goto done;
    }
    rt_k_layer_norm(rt_f32(y), rt_f32(mean), rt_f32(rstd), rt_f32(xc), wc ? rt_f32(wc) : NULL,
                    bc ? rt_f32(bc) : NULL, rows, len, (float)eps);
    rt_tensor *in[3] = {x, w, b};
    rt_node *nd = rt_node_attach(y, &LAYER_NORM, 3, in);
    if (nd) {
        rt_node_save_at(nd, LN_X, xc); rt_node_save_at(nd, LN_MEAN, mean); rt_node_save_at(nd, LN_RSTD, rstd);
        if (wc) rt_node_save_at(nd, LN_W, wc);
        nd->f[LN_EPS] = eps;
    }
done:
    rt_release(xc); rt_release(wc); rt_release(bc); rt_release(mean); rt_release(rstd);
    return y;
}

/* ---- dropout ---- */

/* dropout node slots */
enum { DO_SEED, DO_BASE };   /* i[] */
enum { DO_P };   /* f[] */

static rt_status dropout_backward(rt_node *n, rt_tensor *go, rt_tensor **grads, const bool *needs) {
    if (!needs[0]) return RT_OK;
    rt_tensor *g = nn_f32c(go);
    if (!g) return rt_last_status();
    rt_tensor *gx = rt_tensor_empty(RT_F32, g->ndim, g->shape);
    if (!gx) { rt_release(g); return rt_last_status(); }
    rt_k_dropout(rt_f32(gx), rt_f32(g), rt_numel(g), (float)n->f[DO_P], (uint64_t)n->i[DO_SEED],
                 (uint64_t)n->i[DO_BASE]);
    rt_release(g);
    grads[0] = gx;
    return RT_OK;
}
static const rt_op_desc DROPOUT = {"dropout", dropout_backward, NULL};

rt_tensor *rt_dropout(rt_tensor *x, double p, bool train, rt_generator *g) {
    if (!(p >= 0.0 && p <= 1.0)) {
        rt_errorf(RT_EINVAL, "dropout: probability %g is not in [0, 1]", p);
        return NULL;
    }
    if (!train || p == 0.0) { rt_retain(x); return x; }
    if (!nn_need_f32("dropout", "input", x)) return NULL;
    if (!g) g = rt_default_generator();
    rt_tensor *xc = rt_tensor_contiguous(x);
    if (!xc) return NULL;
    rt_tensor *y = rt_tensor_empty(RT_F32, x->ndim, x->shape);
    if (!y) { rt_release(xc); return NULL; }
    int64_t n = rt_numel(x);
    uint64_t seed = g->seed, base = rt_rng_reserve(g, (uint64_t)n);
    rt_k_dropout(rt_f32(y), rt_f32(xc), n, (float)p, seed, base);
    rt_release(xc);
    rt_node *nd = rt_node_attach(y, &DROPOUT, 1, &x);
    if (nd) { nd->f[DO_P] = p; nd->i[DO_SEED] = (int64_t)seed; nd->i[DO_BASE] = (int64_t)base; }
    return y;
}

/* ---- embedding ---- */

/* embedding node slots */
enum { EMB_IDS };   /* saved[] */

static rt_status embedding_backward(rt_node *n, rt_tensor *go, rt_tensor **grads, const bool *needs) {
    if (!needs[0]) return RT_OK;
    rt_tensor *w = n->inputs[0], *ids = n->saved[EMB_IDS], *g = nn_f32c(go);
    if (!g) return rt_last_status();
    rt_tensor *gw = rt_tensor_zeros(RT_F32, 2, w->shape);
    if (!gw) { rt_release(g); return rt_last_status(); }
    bool i64 = ids->dtype == RT_I64;
    rt_k_embedding_bwd(rt_f32(gw), rt_f32(g), i64 ? rt_data(ids) : NULL, i64 ? NULL : rt_data(ids),
                       rt_numel(ids), w->shape[1]);
    rt_release(g);
    grads[0] = gw;
    return RT_OK;
}
static const rt_op_desc EMBEDDING = {"embedding", embedding_backward, NULL};

rt_tensor *rt_embedding(rt_tensor *weight, rt_tensor *ids) {
    char sw[96], si[96];
    if (!nn_need_f32("embedding", "weight", weight)) return NULL;
    if (weight->ndim != 2) {
        rt_errorf(RT_ESHAPE, "embedding: weight must be [vocab, dim], got %s", rt_shape_str(weight, sw, sizeof sw));
        return NULL;
    }
    if (ids->dtype != RT_I64 && ids->dtype != RT_I32) {
        rt_errorf(RT_EDTYPE, "embedding: ids must be i32 or i64, got %s %s", rt_dtype_name(ids->dtype),
                  rt_shape_str(ids, si, sizeof si));
        return NULL;
    }
    if (ids->ndim + 1 > RT_MAXDIM) {
        rt_errorf(RT_ESHAPE, "embedding: ids %s have too many dims", rt_shape_str(ids, si, sizeof si));
        return NULL;
    }
    int64_t V = weight->shape[0], D = weight->shape[1], n = rt_numel(ids);
    rt_tensor *ic = rt_tensor_contiguous(ids), *wc = NULL, *y = NULL;
    if (!ic) return NULL;
    bool i64 = ic->dtype == RT_I64;
    const int64_t *p64 = i64 ? rt_data(ic) : NULL;
    const int32_t *p32 = i64 ? NULL : rt_data(ic);
    int64_t bad = rt_k_embedding_check(p64, p32, n, V);
    if (bad >= 0) {
        rt_errorf(RT_EINDEX, "embedding: id %lld (at flat position %lld of ids %s) is out of range for vocabulary size %lld (weight %s)",
                  (long long)(i64 ? p64[bad] : p32[bad]), (long long)bad, rt_shape_str(ids, si, sizeof si),
                  (long long)V, rt_shape_str(weight, sw, sizeof sw));
        goto done;
    }
    if (!(wc = rt_tensor_contiguous(weight))) goto done;
    int64_t os[RT_MAXDIM];
    for (int d = 0; d < ids->ndim; d++) os[d] = ids->shape[d];
    os[ids->ndim] = D;
    if (!(y = rt_tensor_empty(RT_F32, ids->ndim + 1, os))) goto done;
    rt_k_embedding(rt_f32(y), rt_f32(wc), p64, p32, n, D);
    rt_tensor *in[2] = {weight, ids};
    rt_node *nd = rt_node_attach(y, &EMBEDDING, 2, in);
    if (nd) rt_node_save_at(nd, EMB_IDS, ic);
done:
    rt_release(ic); rt_release(wc);
    return y;
}
