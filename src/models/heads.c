/* heads.c — task heads over the encoder outputs (BERT modeling.py, TinyBERT modeling.py):
 * MLM (transform dense + act + LayerNorm, decoder tied to the word embeddings,
 * separate bias; optionally only at given positions), NSP, sequence
 * classification/regression (TinyBERT classifier(relu(pooled)) or standard
 * classifier(dropout(pooled))), token classification, span QA, fit_dense; and the
 * losses their labels enable. */
#include <stdlib.h>
#include <string.h>
#include "model.h"
#include "../autograd/ops.h"

/* seq [B,S,H], pos [B,P] ints -> [B,P,H] */
static rt_tensor *gather_positions(rt_tensor *seq, rt_tensor *pos) {
    int64_t B = seq->shape[0], S = seq->shape[1], H = seq->shape[2];
    char b1[64];
    if (pos->ndim != 2 || pos->shape[0] != B || (pos->dtype != RT_I64 && pos->dtype != RT_I32)) {
        rt_errorf(RT_ESHAPE, "model.forward: mlm_positions %s must be integer [%lld, P]",
                  rt_shape_str(pos, b1, sizeof b1), (long long)B);
        return NULL;
    }
    int64_t P = pos->shape[1];
    int64_t n = B * P;
    rt_tensor *idx = rt_tensor_empty(RT_I64, 1, &n);
    if (!idx) return NULL;
    int64_t *ix = (int64_t *)rt_data(idx);
    for (int64_t b = 0; b < B; b++)
        for (int64_t p = 0; p < P; p++) {
            int64_t at[2] = {b, p};
            int64_t v = (int64_t)rt_tensor_get(pos, at);
            if (v < 0 || v >= S) {
                rt_release(idx);
                rt_errorf(RT_EINDEX, "model.forward: mlm_positions[%lld][%lld] = %lld out of range [0, %lld)",
                          (long long)b, (long long)p, (long long)v, (long long)S);
                return NULL;
            }
            ix[b * P + p] = b * S + v;
        }
    int64_t flat[2] = {B * S, H}, out[3] = {B, P, H};
    rt_tensor *f = rt_reshape(seq, 2, flat), *g = NULL, *r = NULL;
    if (f && (g = rt_index_select(f, 0, idx))) r = rt_reshape(g, 3, out);
    rt_release(f); rt_release(g); rt_release(idx);
    return r;
}

static rt_tensor *mlm_head(rt_model *m, rt_tensor *seq, rt_tensor *pos) {
    rt_tensor *x = NULL, *a = NULL, *b = NULL, *c = NULL, *out = NULL;
    if (pos) {
        if (!(x = gather_positions(seq, pos))) return NULL;
    } else {
        x = seq; rt_retain(x);
    }
    if ((a = rt_linear(x, m->mlm_dense.w, m->mlm_dense.b)) && (b = rt_apply_act(m->cfg.hidden_act, a)) &&
        (c = rt_layer_norm(b, 1, m->mlm_ln.w, m->mlm_ln.b, m->cfg.layer_norm_eps)))
        out = rt_linear(c, m->word, m->mlm_bias);
    rt_release(x); rt_release(a); rt_release(b); rt_release(c);
    return out;
}

static rt_tensor *flat2(rt_tensor *t, int64_t last) {
    int64_t sh[2] = {-1, last};
    return rt_reshape(t, 2, sh);
}
static rt_tensor *flat1(rt_tensor *t) {
    int64_t sh[1] = {-1};
    return rt_reshape(t, 1, sh);
}

/* CE over [..., C] logits and [...] labels, ignore -100 */
static rt_tensor *ce(rt_tensor *logits, rt_tensor *labels, const char *what) {
    int64_t C = logits->shape[logits->ndim - 1];
    if (labels->dtype != RT_I64 && labels->dtype != RT_I32) {
        rt_errorf(RT_EDTYPE, "model.forward: %s must be an integer tensor (got %s)", what,
                  rt_dtype_name(labels->dtype));
        return NULL;
    }
    if (rt_numel(labels) * C != rt_numel(logits)) {
        char b1[64], b2[64];
        rt_errorf(RT_ESHAPE, "model.forward: %s %s does not fit logits %s", what,
                  rt_shape_str(labels, b1, sizeof b1), rt_shape_str(logits, b2, sizeof b2));
        return NULL;
    }
    rt_tensor *l = flat2(logits, C), *y = flat1(labels), *r = NULL;
    if (l && y) r = rt_cross_entropy(l, y, -100, RT_REDUCE_MEAN);
    rt_release(l); rt_release(y);
    return r;
}

/* HF QA: positions clamped to [0, S], ignore_index S */
static rt_tensor *span_ce(rt_tensor *logits, rt_tensor *pos, const char *what) {
    int64_t S = logits->shape[1];
    int64_t n = rt_numel(pos);
    if (n != logits->shape[0]) {
        rt_errorf(RT_ESHAPE, "model.forward: %s needs %lld entries (got %lld)", what,
                  (long long)logits->shape[0], (long long)n);
        return NULL;
    }
    rt_tensor *c = rt_tensor_convert(pos, RT_I64), *fc = NULL, *r = NULL;
    if (!c) return NULL;
    int64_t *p = (int64_t *)rt_data(c);
    for (int64_t i = 0; i < n; i++) p[i] = p[i] < 0 ? 0 : p[i] > S ? S : p[i];
    if ((fc = flat1(c))) r = rt_cross_entropy(logits, fc, S, RT_REDUCE_MEAN);
    rt_release(c); rt_release(fc);
    return r;
}

static rt_status add_loss(rt_model_output *o, rt_tensor *l) {
    if (!l) return rt_last_status();
    if (!o->loss) { o->loss = l; return RT_OK; }
    rt_tensor *s = rt_add(o->loss, l);
    rt_release(l);
    if (!s) return rt_last_status();
    rt_release(o->loss);
    o->loss = s;
    return RT_OK;
}

static rt_status head_losses(rt_model *m, const rt_model_input *in, rt_model_output *o) {
    rt_status st = RT_OK;
    if (in->labels && (m->cfg.heads & RT_HEAD_CLS)) {
        if (m->cfg.regression) {
            rt_tensor *y = rt_tensor_convert(in->labels, RT_F32), *fy = NULL, *fl = NULL, *l = NULL;
            if (y && (fy = flat1(y)) && (fl = flat1(o->logits))) {
                if (rt_numel(fy) != rt_numel(fl))
                    rt_errorf(RT_ESHAPE, "model.forward: labels has %lld values, logits %lld",
                              (long long)rt_numel(fy), (long long)rt_numel(fl));
                else
                    l = rt_mse(fl, fy, RT_REDUCE_MEAN);
            }
            rt_release(y); rt_release(fy); rt_release(fl);
            st = add_loss(o, l);
        } else {
            st = add_loss(o, ce(o->logits, in->labels, "labels"));
        }
        if (st) return st;
    }
    if (in->labels && (m->cfg.heads & RT_HEAD_TOKCLS) && (st = add_loss(o, ce(o->logits, in->labels, "labels"))))
        return st;
    if (in->mlm_labels && o->mlm_logits && (st = add_loss(o, ce(o->mlm_logits, in->mlm_labels, "mlm_labels"))))
        return st;
    if (in->nsp_labels && o->nsp_logits && (st = add_loss(o, ce(o->nsp_logits, in->nsp_labels, "nsp_labels"))))
        return st;
    if (in->start_positions && in->end_positions && o->start_logits) {
        rt_tensor *a = span_ce(o->start_logits, in->start_positions, "start_positions");
        rt_tensor *b = a ? span_ce(o->end_logits, in->end_positions, "end_positions") : NULL;
        rt_tensor *s = b ? rt_add(a, b) : NULL;
        rt_tensor *h = s ? rt_mul_scalar(s, 0.5) : NULL;
        rt_release(a); rt_release(b); rt_release(s);
        if ((st = add_loss(o, h))) return st;
    }
    return RT_OK;
}

rt_status rt_heads_forward(rt_model *m, const rt_model_input *in, rt_model_output *o) {
    rt_config *c = &m->cfg;
    int L = o->n_layers;
    rt_tensor *seq = o->hidden[L];
    if (c->heads & RT_HEAD_MLM) {
        if (!(o->mlm_logits = mlm_head(m, seq, in->mlm_positions))) return rt_last_status();
    }
    if (c->heads & RT_HEAD_NSP) {
        if (!(o->nsp_logits = rt_linear(o->pooled, m->nsp.w, m->nsp.b))) return rt_last_status();
    }
    if (c->heads & RT_HEAD_CLS) {
        rt_tensor *x = c->classifier_relu == 1 ? rt_unary(RT_RELU, o->pooled)
                     : rt_dropout(o->pooled, c->hidden_dropout_prob, m->training, m->gen);
        if (!x) return rt_last_status();
        o->logits = rt_linear(x, m->cls.w, m->cls.b);
        rt_release(x);
        if (!o->logits) return rt_last_status();
    }
    if (c->heads & RT_HEAD_TOKCLS) {
        rt_tensor *x = rt_dropout(seq, c->hidden_dropout_prob, m->training, m->gen);
        if (!x) return rt_last_status();
        o->logits = rt_linear(x, m->cls.w, m->cls.b);
        rt_release(x);
        if (!o->logits) return rt_last_status();
    }
    if (c->heads & RT_HEAD_QA) {
        rt_tensor *se = rt_linear(seq, m->qa.w, m->qa.b);
        if (!se) return rt_last_status();
        rt_tensor *s0 = rt_select(se, 2, 0), *s1 = rt_select(se, 2, 1);
        if (s0 && s1) {
            o->start_logits = rt_contiguous(s0);
            o->end_logits = rt_contiguous(s1);
        }
        rt_release(se); rt_release(s0); rt_release(s1);
        if (!o->start_logits || !o->end_logits) return rt_last_status();
    }
    if (m->fit.w && !in->no_fit) {
        o->fit = calloc((size_t)L + 1, sizeof(rt_tensor *));
        if (!o->fit) return rt_errorf(RT_ENOMEM, "model.forward: out of memory");
        for (int i = 0; i <= L; i++)
            if (!(o->fit[i] = rt_linear(o->hidden[i], m->fit.w, m->fit.b))) return rt_last_status();
    }
    return head_losses(m, in, o);
}
