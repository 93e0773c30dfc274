/* ops_loss.c — cross_entropy (fused log-softmax + NLL, ignore_index), mse,
 * TinyBERT soft cross-entropy and kl_div; each one node. */
#include <math.h>
#include <string.h>
#include "nn_common.h"
#include "../kernels/nn.h"

static rt_tensor *scalar_out(double v) { return rt_tensor_scalar(RT_F32, v); }

/* ---- cross_entropy ---- */

/* cross_entropy node slots */
enum { CE_LOGITS, CE_LABELS, CE_LSE };   /* saved[] */
enum { CE_IGNORE, CE_RED };   /* i[] */
enum { CE_COUNT };   /* f[] */

static rt_status ce_backward(rt_node *n, rt_tensor *go, rt_tensor **grads, const bool *needs) {
    if (!needs[0]) return RT_OK;
    rt_tensor *x = n->saved[CE_LOGITS], *lab = n->saved[CE_LABELS], *lse = n->saved[CE_LSE];
    int64_t N = rt_numel(lse), C = N ? rt_numel(x) / N : 0;
    rt_tensor *g = nn_f32c(go);
    if (!g) return rt_last_status();
    rt_reduction red = (rt_reduction)n->i[CE_RED];
    float sc = rt_f32(g)[0];
    const float *gs = rt_f32(g);
    int64_t gstride = 1;
    if (red != RT_REDUCE_NONE) {
        if (red == RT_REDUCE_MEAN) sc = (float)(sc / n->f[CE_COUNT]);
        gs = &sc; gstride = 0;
    }
    rt_tensor *gx = rt_tensor_empty(RT_F32, n->inputs[0]->ndim, n->inputs[0]->shape);
    if (!gx) { rt_release(g); return rt_last_status(); }
    rt_k_cross_entropy_bwd(rt_f32(gx), gs, gstride, rt_f32(x), rt_f32(lse), rt_data(lab), N, C, n->i[CE_IGNORE]);
    rt_release(g);
    grads[0] = gx;
    return RT_OK;
}
static const rt_op_desc CROSS_ENTROPY = {"cross_entropy", ce_backward, NULL};

rt_tensor *rt_cross_entropy(rt_tensor *logits, rt_tensor *labels, int64_t ignore_index,
                            rt_reduction red) {
    char sl[96], sy[96];
    if (!nn_need_f32("cross_entropy", "logits", logits)) return NULL;
    if (labels->dtype != RT_I64 && labels->dtype != RT_I32) {
        rt_errorf(RT_EDTYPE, "cross_entropy: labels must be i32 or i64, got %s %s",
                  rt_dtype_name(labels->dtype), rt_shape_str(labels, sy, sizeof sy));
        return NULL;
    }
    int64_t C = logits->ndim ? logits->shape[logits->ndim - 1] : 0;
    int64_t N = C ? rt_numel(logits) / C : 0;
    if (logits->ndim < 1 || C == 0 || rt_numel(labels) != N || labels->ndim != logits->ndim - 1) {
        rt_errorf(RT_ESHAPE, "cross_entropy: logits %s and labels %s: expected labels of the logits' shape without its last (class) dim",
                  rt_shape_str(logits, sl, sizeof sl), rt_shape_str(labels, sy, sizeof sy));
        return NULL;
    }
    rt_tensor *xc = rt_tensor_contiguous(logits), *lc = rt_tensor_convert(labels, RT_I64);
    rt_tensor *lse = rt_tensor_empty(RT_F32, 1, &N), *loss = rt_tensor_empty(RT_F32, 1, &N), *out = NULL;
    if (!xc || !lc || !lse || !loss) goto done;
    double total = 0;
    int64_t cnt = rt_k_cross_entropy(rt_f32(loss), rt_f32(lse), red == RT_REDUCE_NONE ? NULL : &total, rt_f32(xc),
                                     rt_data(lc), N, C, ignore_index);
    if (cnt < 0) {
        rt_error_prefix("logits %s", rt_shape_str(logits, sl, sizeof sl));
        goto done;
    }
    if (red == RT_REDUCE_NONE) {
        out = rt_tensor_view_of(loss->storage, RT_F32, 0, labels->ndim, labels->shape, NULL);
    } else {
        out = scalar_out(red == RT_REDUCE_MEAN ? total / (double)cnt : total);
    }
    if (!out) goto done;
    rt_node *nd = rt_node_attach(out, &CROSS_ENTROPY, 1, &logits);
    if (nd) {
        rt_node_save_at(nd, CE_LOGITS, xc); rt_node_save_at(nd, CE_LABELS, lc); rt_node_save_at(nd, CE_LSE, lse);
        nd->i[CE_IGNORE] = ignore_index; nd->i[CE_RED] = red; nd->f[CE_COUNT] = (double)cnt;
    }
done:
    rt_release(xc); rt_release(lc); rt_release(lse); rt_release(loss);
    return out;
}

/* ---- mse ---- */

/* mse node slots */
enum { MSE_A, MSE_B };   /* saved[] */
enum { MSE_RED };   /* i[] */

static rt_status mse_backward(rt_node *n, rt_tensor *go, rt_tensor **grads, const bool *needs) {
    rt_tensor *a = n->saved[MSE_A], *b = n->saved[MSE_B], *g = nn_f32c(go);
    if (!g) return rt_last_status();
    int64_t N = rt_numel(a);
    rt_reduction red = (rt_reduction)n->i[MSE_RED];
    float k = red == RT_REDUCE_NONE ? 2.0f : (float)(2.0 * rt_f32(g)[0] / (red == RT_REDUCE_MEAN ? (double)N : 1.0));
    const float *pa = rt_f32(a), *pb = rt_f32(b), *pg = rt_f32(g);
    rt_tensor *ga = NULL, *gb = NULL;
    if (needs[0] && !(ga = rt_tensor_empty(RT_F32, a->ndim, a->shape))) goto fail;
    if (needs[1] && !(gb = rt_tensor_empty(RT_F32, a->ndim, a->shape))) goto fail;
    rt_k_mse_bwd(ga ? rt_f32(ga) : NULL, gb ? rt_f32(gb) : NULL, pa, pb, red == RT_REDUCE_NONE ? pg : NULL, N, k);
    rt_release(g);
    grads[0] = ga; grads[1] = gb;
    return RT_OK;
fail:
    rt_release(g); rt_release(ga); rt_release(gb);
    return rt_last_status();
}
static const rt_op_desc MSE = {"mse", mse_backward, NULL};

rt_tensor *rt_mse(rt_tensor *a, rt_tensor *b, rt_reduction red) {
    char sa[96], sb[96];
    if (!nn_need_f32("mse", "input", a) || !nn_need_f32("mse", "target", b)) return NULL;
    if (!rt_same_shape(a, b)) {
        rt_errorf(RT_ESHAPE, "mse: input %s and target %s: shapes differ", rt_shape_str(a, sa, sizeof sa),
                  rt_shape_str(b, sb, sizeof sb));
        return NULL;
    }
    rt_tensor *ac = rt_tensor_contiguous(a), *bc = rt_tensor_contiguous(b), *out = NULL;
    if (!ac || !bc) goto done;
    int64_t N = rt_numel(a);
    const float *pa = rt_f32(ac), *pb = rt_f32(bc);
    if (red == RT_REDUCE_NONE) {
        if (!(out = rt_tensor_empty(RT_F32, a->ndim, a->shape))) goto done;
        rt_k_mse(rt_f32(out), pa, pb, N);
    } else {
        double s = rt_k_mse_sum(pa, pb, N);
        if (!(out = scalar_out(red == RT_REDUCE_MEAN ? s / (double)N : s))) goto done;
    }
    rt_tensor *in[2] = {a, b};
    rt_node *nd = rt_node_attach(out, &MSE, 2, in);
    if (nd) { rt_node_save_at(nd, MSE_A, ac); rt_node_save_at(nd, MSE_B, bc); nd->i[MSE_RED] = red; }
done:
    rt_release(ac); rt_release(bc);
    return out;
}

/* ---- soft cross-entropy (TinyBERT) ---- */

/* soft_cross_entropy node slots */
enum { SCE_STUDENT, SCE_TEACHER };   /* saved[] */
enum { SCE_TEMP };   /* f[] */

static rt_status sce_backward(rt_node *n, rt_tensor *go, rt_tensor **grads, const bool *needs) {
    if (!needs[0]) return RT_OK;
    rt_tensor *s = n->saved[SCE_STUDENT], *t = n->saved[SCE_TEACHER];
    int64_t C = s->shape[s->ndim - 1], N = C ? rt_numel(s) / C : 0;
    rt_tensor *gs = rt_tensor_empty(RT_F32, s->ndim, s->shape);
    if (!gs) return rt_last_status();
    rt_tensor *g = nn_f32c(go);
    if (!g) { rt_release(gs); return rt_last_status(); }
    rt_k_soft_cross_entropy_bwd(rt_f32(gs), rt_f32(s), rt_f32(t), N, C, n->f[SCE_TEMP], rt_f32(g)[0]);
    rt_release(g);
    grads[0] = gs;
    return RT_OK;
}
static const rt_op_desc SOFT_CE = {"soft_cross_entropy", sce_backward, NULL};

rt_tensor *rt_soft_cross_entropy(rt_tensor *student, rt_tensor *teacher, double T) {
    char sa[96], sb[96];
    if (!nn_need_f32("soft_cross_entropy", "student", student) ||
        !nn_need_f32("soft_cross_entropy", "teacher", teacher))
        return NULL;
    if (!rt_same_shape(student, teacher) || student->ndim < 1) {
        rt_errorf(RT_ESHAPE, "soft_cross_entropy: student %s and teacher %s: shapes differ",
                  rt_shape_str(student, sa, sizeof sa), rt_shape_str(teacher, sb, sizeof sb));
        return NULL;
    }
    if (!(T > 0)) { rt_errorf(RT_EINVAL, "soft_cross_entropy: temperature %g must be > 0", T); return NULL; }
    rt_tensor *sc = rt_tensor_contiguous(student), *tc = rt_tensor_contiguous(teacher), *out = NULL;
    if (!sc || !tc) goto done;
    int64_t C = student->shape[student->ndim - 1], N = C ? rt_numel(student) / C : 0;
    if (!(out = scalar_out(rt_k_soft_cross_entropy(rt_f32(sc), rt_f32(tc), N, C, T)))) goto done;
    rt_node *nd = rt_node_attach(out, &SOFT_CE, 1, &student);   /* teacher: detached */
    if (nd) {
        rt_node_save_at(nd, SCE_STUDENT, sc); rt_node_save_at(nd, SCE_TEACHER, tc);
        nd->f[SCE_TEMP] = T;
    }
done:
    rt_release(sc); rt_release(tc);
    return out;
}

/* ---- kl_div (torch.nn.functional.kl_div, log_target=False) ---- */

static double kl_scale(rt_reduction red, bool batchmean, const rt_tensor *x) {
    if (red == RT_REDUCE_NONE || red == RT_REDUCE_SUM) return 1.0;
    if (batchmean) return x->ndim ? 1.0 / (double)x->shape[0] : 1.0;
    return 1.0 / (double)rt_numel(x);
}

/* kl_div node slots */
enum { KL_LOGP, KL_TARGET };   /* saved[] */
enum { KL_RED };   /* i[] */
enum { KL_SCALE };   /* f[] */

static rt_status kl_backward(rt_node *n, rt_tensor *go, rt_tensor **grads, const bool *needs) {
    rt_tensor *x = n->saved[KL_LOGP], *t = n->saved[KL_TARGET], *g = nn_f32c(go);
    if (!g) return rt_last_status();
    rt_reduction red = (rt_reduction)n->i[KL_RED];
    int64_t N = rt_numel(x);
    float k = red == RT_REDUCE_NONE ? 1.0f : (float)(rt_f32(g)[0] * n->f[KL_SCALE]);
    const float *px = rt_f32(x), *pt = rt_f32(t), *pg = rt_f32(g);
    rt_tensor *gx = NULL, *gt = NULL;
    if (needs[0] && !(gx = rt_tensor_empty(RT_F32, x->ndim, x->shape))) goto fail;
    if (needs[1] && !(gt = rt_tensor_empty(RT_F32, x->ndim, x->shape))) goto fail;
    rt_k_kl_div_bwd(gx ? rt_f32(gx) : NULL, gt ? rt_f32(gt) : NULL, px, pt, red == RT_REDUCE_NONE ? pg : NULL, N, k);
    rt_release(g);
    grads[0] = gx; grads[1] = gt;
    return RT_OK;
fail:
    rt_release(g); rt_release(gx); rt_release(gt);
    return rt_last_status();
}
static const rt_op_desc KL_DIV = {"kl_div", kl_backward, NULL};

rt_tensor *rt_kl_div(rt_tensor *logp, rt_tensor *target, rt_reduction red, bool batchmean) {
    char sa[96], sb[96];
    if (!nn_need_f32("kl_div", "input", logp) || !nn_need_f32("kl_div", "target", target)) return NULL;
    if (!rt_same_shape(logp, target)) {
        rt_errorf(RT_ESHAPE, "kl_div: input %s and target %s: shapes differ",
                  rt_shape_str(logp, sa, sizeof sa), rt_shape_str(target, sb, sizeof sb));
        return NULL;
    }
    rt_tensor *xc = rt_tensor_contiguous(logp), *tc = rt_tensor_contiguous(target), *out = NULL;
    if (!xc || !tc) goto done;
    int64_t N = rt_numel(logp);
    const float *px = rt_f32(xc), *pt = rt_f32(tc);
    double scale = kl_scale(red, batchmean, logp);
    if (red == RT_REDUCE_NONE) {
        if (!(out = rt_tensor_empty(RT_F32, logp->ndim, logp->shape))) goto done;
        rt_k_kl_div(rt_f32(out), px, pt, N);
    } else {
        if (!(out = scalar_out(rt_k_kl_div_sum(px, pt, N) * scale))) goto done;
    }
    rt_tensor *in[2] = {logp, target};
    rt_node *nd = rt_node_attach(out, &KL_DIV, 2, in);
    if (nd) {
        rt_node_save_at(nd, KL_LOGP, xc); rt_node_save_at(nd, KL_TARGET, tc);
        nd->i[KL_RED] = red; nd->f[KL_SCALE] = scale;
    }
done:
    rt_release(xc); rt_release(tc);
    return out;
}
