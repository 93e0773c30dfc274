/* distill.c — TinyBERT distillation losses and layer maps (TinyBERT general_distill.py / task_distill.py):
 * attention MSE on pre-softmax scores with values <= -100 zeroed on both sides,
 * hidden-state MSE through fit_dense (student) against raw teacher states, and the
 * prediction-layer soft cross-entropy at temperature T (MSE to gold for regression).
 * Teacher tensors are detached here (no gradient flows into the teacher). */
#include <stdlib.h>
#include "model.h"
#include "../autograd/graph.h"
#include "../autograd/ops.h"

rt_status rt_distill_uniform_map(int ls, int lt, int *att, int *hid) {
    if (ls <= 0 || lt <= 0)
        return rt_errorf(RT_EINVAL, "distill.layer_map: layer counts must be > 0 (student %d, teacher %d)", ls, lt);
    if (lt % ls)
        return rt_errorf(RT_EINVAL, "distill.layer_map: teacher layers %d are not a multiple of student layers %d "
                         "(give a custom map)", lt, ls);
    int k = lt / ls;
    for (int i = 0; i < ls; i++) att[i] = i * k + k - 1;
    for (int j = 0; j <= ls; j++) hid[j] = j * k;
    return RT_OK;
}

rt_status rt_distill_check_map(int ls, int lt, const int *att, const int *hid) {
    for (int i = 0; att && i < ls; i++)
        if (att[i] < 0 || att[i] >= lt)
            return rt_errorf(RT_EINDEX, "distill: attention map entry %d -> teacher layer %d is out of range "
                             "[0, %d) (0-based teacher layers)", i, att[i], lt);
    for (int j = 0; hid && j <= ls; j++)
        if (hid[j] < 0 || hid[j] > lt)
            return rt_errorf(RT_EINDEX, "distill: hidden map entry %d -> teacher state %d is out of range "
                             "[0, %d] (0 = embeddings)", j, hid[j], lt);
    return RT_OK;
}

/* z(x) = x <= -100 ? 0 : x */
static rt_tensor *zero_masked(rt_tensor *x) {
    rt_tensor *c = rt_compare_scalar(RT_LE, x, -100.0);
    if (!c) return NULL;
    rt_tensor *r = rt_masked_fill(x, c, 0.0);
    rt_release(c);
    return r;
}

static rt_status accumulate(rt_tensor **acc, rt_tensor *l) {
    if (!l) return rt_last_status();
    if (!*acc) { *acc = l; return RT_OK; }
    rt_tensor *s = rt_add(*acc, l);
    rt_release(l);
    if (!s) return rt_last_status();
    rt_release(*acc);
    *acc = s;
    return RT_OK;
}

static rt_tensor *detached(rt_tensor *t) {
    rt_tensor *a = rt_tensor_alias(t);       /* no grad_fn, requires_grad false */
    return a;
}

static rt_status check_pair(const char *what, int i, rt_tensor *s, rt_tensor *t) {
    if (rt_same_shape(s, t)) return RT_OK;
    char b1[64], b2[64];
    return rt_errorf(RT_ESHAPE, "distill.%s: student %d %s and teacher %s differ (attention heads / "
                     "fit_size must match the teacher)", what, i + 1, rt_shape_str(s, b1, sizeof b1),
                     rt_shape_str(t, b2, sizeof b2));
}

rt_tensor *rt_distill_att_loss(rt_tensor *const *s_att, int ns, rt_tensor *const *t_att, int nt,
                               const int *map) {
    if (rt_distill_check_map(ns, nt, map, NULL)) return NULL;
    rt_tensor *acc = NULL;
    for (int i = 0; i < ns; i++) {
        rt_tensor *s = s_att[i], *t = t_att[map[i]];
        if (check_pair("att", i, s, t)) { rt_release(acc); return NULL; }
        rt_tensor *td = detached(t), *zs = zero_masked(s), *zt = td ? zero_masked(td) : NULL;
        rt_tensor *l = zs && zt ? rt_mse(zs, zt, RT_REDUCE_MEAN) : NULL;
        rt_release(td); rt_release(zs); rt_release(zt);
        if (accumulate(&acc, l)) { rt_release(acc); return NULL; }
    }
    if (!acc) acc = rt_tensor_scalar(RT_F32, 0.0);
    return acc;
}

rt_tensor *rt_distill_rep_loss(rt_tensor *const *s_fit, int ns, rt_tensor *const *t_hid, int nt,
                               const int *map) {
    /* ns = number of student states (layers + 1) */
    for (int j = 0; j < ns; j++)
        if (map[j] < 0 || map[j] >= nt) {
            rt_errorf(RT_EINDEX, "distill: hidden map entry %d -> teacher state %d is out of range [0, %d]",
                      j, map[j], nt - 1);
            return NULL;
        }
    rt_tensor *acc = NULL;
    for (int j = 0; j < ns; j++) {
        rt_tensor *s = s_fit[j], *t = t_hid[map[j]];
        if (check_pair("rep", j, s, t)) { rt_release(acc); return NULL; }
        rt_tensor *td = detached(t);
        rt_tensor *l = td ? rt_mse(s, td, RT_REDUCE_MEAN) : NULL;
        rt_release(td);
        if (accumulate(&acc, l)) { rt_release(acc); return NULL; }
    }
    if (!acc) acc = rt_tensor_scalar(RT_F32, 0.0);
    return acc;
}

rt_tensor *rt_distill_pred_loss(rt_tensor *s_logits, rt_tensor *t_logits, double T, rt_tensor *gold) {
    if (gold) {
        int64_t m1[1] = {-1};
        rt_tensor *g = rt_tensor_convert(gold, RT_F32), *fg = g ? rt_reshape(g, 1, m1) : NULL;
        rt_tensor *fs = rt_reshape(s_logits, 1, m1), *r = NULL;
        if (fg && fs) {
            if (rt_numel(fg) != rt_numel(fs))
                rt_errorf(RT_ESHAPE, "distill.pred: %lld gold labels for %lld student logits (regression "
                          "needs one logit per example)", (long long)rt_numel(fg), (long long)rt_numel(fs));
            else
                r = rt_mse(fs, fg, RT_REDUCE_MEAN);
        }
        rt_release(g); rt_release(fg); rt_release(fs);
        return r;
    }
    if (!t_logits) { rt_errorf(RT_EINVAL, "distill.pred: teacher logits missing"); return NULL; }
    if (!(T > 0)) { rt_errorf(RT_EINVAL, "distill.pred: temperature must be > 0 (got %g)", T); return NULL; }
    if (check_pair("pred", 0, s_logits, t_logits)) return NULL;
    rt_tensor *td = detached(t_logits);
    rt_tensor *r = td ? rt_soft_cross_entropy(s_logits, td, T) : NULL;
    rt_release(td);
    return r;
}
