/* bert.c — the encoder shared by BERT, NEZHA and TinyBERT:
 * embeddings (with or without absolute positions), post-LN layers with optional
 * NEZHA functional relative positions (NEZHA modeling_nezha.py), the tanh pooler, the
 * parameter registry (PyTorch state_dict names) and random initialisation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"
#include "../autograd/graph.h"
#include "../autograd/ops.h"

/* ---------------------------------------------------------------- relative positions */

rt_tensor *rt_relative_table(int K, int d) {
    if (K <= 0 || d <= 0) { rt_errorf(RT_EINVAL, "relative_table: K %d and d %d must be > 0", K, d); return NULL; }
    int64_t shape[2] = {2 * (int64_t)K + 1, d};
    rt_tensor *R = rt_tensor_empty(RT_F32, 2, shape);
    if (!R) return NULL;
    float *r = rt_f32(R);
    for (int64_t p = 0; p < shape[0]; p++)
        for (int c = 0; c < d; c++) {
            double ang = (double)p / pow(10000.0, (double)(2 * (c / 2)) / (double)d);
            r[p * d + c] = (float)((c % 2 == 0) ? sin(ang) : cos(ang));
        }
    return R;
}

rt_tensor *rt_relative_positions(const rt_tensor *R, int K, int64_t S) {
    int64_t d = R->shape[1];
    int64_t shape[3] = {S, S, d};
    rt_tensor *rel = rt_tensor_empty(RT_F32, 3, shape);
    if (!rel) return NULL;
    const float *r = rt_f32(R);
    float *o = rt_f32(rel);
    for (int64_t i = 0; i < S; i++)
        for (int64_t j = 0; j < S; j++) {
            int64_t dist = j - i;
            if (dist < -K) dist = -K;
            if (dist > K) dist = K;
            memcpy(o + (i * S + j) * d, r + (dist + K) * d, (size_t)d * sizeof(float));
        }
    return rel;
}

/* ---------------------------------------------------------------- construction */

enum { INIT_NORMAL, INIT_ZERO, INIT_ONE };

static rt_status add_param(rt_model *m, rt_tensor **slot, const char *name, int ndim,
                           int64_t d0, int64_t d1, int init, rt_generator *g) {
    int64_t shape[2] = {d0, d1};
    rt_tensor *t = rt_tensor_empty(RT_F32, ndim, shape);
    if (!t) return rt_last_status();
    float *p = rt_f32(t);
    int64_t n = rt_numel(t);
    if (init == INIT_NORMAL) rt_rng_fill_normal(g, p, n, 0.0f, (float)m->cfg.initializer_range);
    else for (int64_t i = 0; i < n; i++) p[i] = init == INIT_ONE ? 1.0f : 0.0f;
    t->requires_grad = true;
    rt_tensor_set_name(t, name);
    *slot = t;
    rt_param *np = realloc(m->params, sizeof(rt_param) * (size_t)(m->nparams + 1));
    if (!np) return rt_errorf(RT_ENOMEM, "model: out of memory");
    m->params = np;
    m->params[m->nparams].name = strdup(name);
    m->params[m->nparams].slot = slot;
    m->nparams++;
    return RT_OK;
}

static rt_status add_linear(rt_model *m, rt_lin *l, const char *prefix, int out, int in, rt_generator *g) {
    char n[256];
    snprintf(n, sizeof n, "%s.weight", prefix);
    rt_status st = add_param(m, &l->w, n, 2, out, in, INIT_NORMAL, g);
    if (st) return st;
    snprintf(n, sizeof n, "%s.bias", prefix);
    return add_param(m, &l->b, n, 1, out, 0, INIT_ZERO, g);
}

static rt_status add_ln(rt_model *m, rt_lnorm *l, const char *prefix, int h, rt_generator *g) {
    char n[256];
    snprintf(n, sizeof n, "%s.weight", prefix);
    rt_status st = add_param(m, &l->w, n, 1, h, 0, INIT_ONE, g);
    if (st) return st;
    snprintf(n, sizeof n, "%s.bias", prefix);
    return add_param(m, &l->b, n, 1, h, 0, INIT_ZERO, g);
}

static rt_status build(rt_model *m, rt_generator *g) {
    rt_config *c = &m->cfg;
    int H = c->hidden_size, I = c->intermediate_size, V = c->vocab_size;
    rt_status st;
#define T(x) do { if ((st = (x)) != RT_OK) return st; } while (0)
    T(add_param(m, &m->word, "bert.embeddings.word_embeddings.weight", 2, V, H, INIT_NORMAL, g));
    if (!c->use_relative_position)
        T(add_param(m, &m->pos, "bert.embeddings.position_embeddings.weight", 2,
                    c->max_position_embeddings, H, INIT_NORMAL, g));
    T(add_param(m, &m->type, "bert.embeddings.token_type_embeddings.weight", 2, c->type_vocab_size, H,
                INIT_NORMAL, g));
    T(add_ln(m, &m->eln, "bert.embeddings.LayerNorm", H, g));
    m->layers = calloc((size_t)(c->num_hidden_layers ? c->num_hidden_layers : 1), sizeof(rt_layer));
    if (!m->layers) return rt_errorf(RT_ENOMEM, "model: out of memory");
    char p[200], n[256];
    for (int i = 0; i < c->num_hidden_layers; i++) {
        rt_layer *ly = &m->layers[i];
        snprintf(p, sizeof p, "bert.encoder.layer.%d", i);
        snprintf(n, sizeof n, "%s.attention.self.query", p);      T(add_linear(m, &ly->q, n, H, H, g));
        snprintf(n, sizeof n, "%s.attention.self.key", p);        T(add_linear(m, &ly->k, n, H, H, g));
        snprintf(n, sizeof n, "%s.attention.self.value", p);      T(add_linear(m, &ly->v, n, H, H, g));
        snprintf(n, sizeof n, "%s.attention.output.dense", p);    T(add_linear(m, &ly->ao, n, H, H, g));
        snprintf(n, sizeof n, "%s.attention.output.LayerNorm", p); T(add_ln(m, &ly->aln, n, H, g));
        snprintf(n, sizeof n, "%s.intermediate.dense", p);        T(add_linear(m, &ly->inter, n, I, H, g));
        snprintf(n, sizeof n, "%s.output.dense", p);              T(add_linear(m, &ly->out, n, H, I, g));
        snprintf(n, sizeof n, "%s.output.LayerNorm", p);          T(add_ln(m, &ly->oln, n, H, g));
    }
    T(add_linear(m, &m->pooler, "bert.pooler.dense", H, H, g));
    if (c->heads & RT_HEAD_MLM) {
        T(add_linear(m, &m->mlm_dense, "cls.predictions.transform.dense", H, H, g));
        T(add_ln(m, &m->mlm_ln, "cls.predictions.transform.LayerNorm", H, g));
        T(add_param(m, &m->mlm_bias, "cls.predictions.bias", 1, V, 0, INIT_ZERO, g));
    }
    if (c->heads & RT_HEAD_NSP) T(add_linear(m, &m->nsp, "cls.seq_relationship", 2, H, g));
    if (c->heads & (RT_HEAD_CLS | RT_HEAD_TOKCLS)) T(add_linear(m, &m->cls, "classifier", c->num_labels, H, g));
    if (c->heads & RT_HEAD_QA) T(add_linear(m, &m->qa, "qa_outputs", 2, H, g));
    if (c->fit_size > 0) T(add_linear(m, &m->fit, "fit_dense", c->fit_size, H, g));
#undef T
    if (c->use_relative_position) {
        m->rel_table = rt_relative_table(c->max_relative_position, H / c->num_attention_heads);
        if (!m->rel_table) return rt_last_status();
    }
    return RT_OK;
}

rt_model *rt_model_new(rt_config *cfg, rt_generator *g) {
    if (rt_config_validate(cfg, "model") != RT_OK) return NULL;
    rt_model *m = calloc(1, sizeof *m);
    if (!m) { rt_errorf(RT_ENOMEM, "model: out of memory"); return NULL; }
    m->cfg = *cfg;
    memset(cfg, 0, sizeof *cfg);
    if (m->cfg.classifier_relu < 0 && (m->cfg.heads & RT_HEAD_CLS))
        m->cfg.classifier_relu = m->cfg.fit_size > 0 ? 1 : 0;   /* TinyBERT's own head */
    if (!g) g = rt_default_generator();
    if (build(m, g) != RT_OK) { rt_model_free(m); return NULL; }
    rt_config_sync(&m->cfg);
    return m;
}

void rt_model_free(rt_model *m) {
    if (!m) return;
    for (int i = 0; i < m->nparams; i++) {
        rt_release(*m->params[i].slot);
        free(m->params[i].name);
    }
    free(m->params);
    free(m->layers);
    rt_release(m->rel_table);
    rt_release(m->rel_cache);
    free(m->vocab_path);
    rt_infer_free(m);
    rt_config_free(&m->cfg);
    free(m);
}

rt_tensor *rt_model_param(rt_model *m, const char *name) {
    for (int i = 0; i < m->nparams; i++)
        if (!strcmp(m->params[i].name, name)) return *m->params[i].slot;
    return NULL;
}

int64_t rt_model_num_parameters(const rt_model *m) {
    int64_t n = 0;
    for (int i = 0; i < m->nparams; i++) n += rt_numel(*m->params[i].slot);
    return n;
}

/* ---------------------------------------------------------------- forward */

/* x [B,S,H] -> [B,N,S,d] (view) */
static rt_tensor *split_heads(rt_tensor *x, int N) {
    int64_t sh[4] = {x->shape[0], x->shape[1], N, x->shape[2] / N};
    rt_tensor *v = rt_view(x, 4, sh);
    if (!v) return NULL;
    static const int perm[4] = {0, 2, 1, 3};
    rt_tensor *p = rt_permute(v, perm);
    rt_release(v);
    return p;
}

/* dropout(linear(x)) + res, then LayerNorm */
static rt_tensor *dense_res_ln(rt_model *m, rt_lin *l, rt_lnorm *ln, rt_tensor *x, rt_tensor *res) {
    rt_tensor *a = NULL, *b = NULL, *c = NULL, *out = NULL;
    if (!(a = rt_linear(x, l->w, l->b))) goto done;
    if (!(b = rt_dropout(a, m->cfg.hidden_dropout_prob, m->training, m->gen))) goto done;
    if (!(c = rt_add(b, res))) goto done;
    out = rt_layer_norm(c, 1, ln->w, ln->b, m->cfg.layer_norm_eps);
done:
    rt_release(a); rt_release(b); rt_release(c);
    return out;
}

static rt_tensor *layer_forward(rt_model *m, rt_layer *ly, rt_tensor *x, rt_tensor *mask,
                                rt_tensor *rel, rt_tensor **att, rt_tensor **probs) {
    int N = m->cfg.num_attention_heads;
    int64_t B = x->shape[0], S = x->shape[1], H = x->shape[2];
    double d = (double)(H / N);
    rt_tensor *q = NULL, *k = NULL, *v = NULL, *qh = NULL, *kh = NULL, *vh = NULL, *ctx = NULL,
              *ctxp = NULL, *ctx2 = NULL, *a = NULL, *i1 = NULL, *i2 = NULL, *out = NULL;
    if (!(q = rt_linear(x, ly->q.w, ly->q.b)) || !(k = rt_linear(x, ly->k.w, ly->k.b)) ||
        !(v = rt_linear(x, ly->v.w, ly->v.b)))
        goto done;
    if (!(qh = split_heads(q, N)) || !(kh = split_heads(k, N)) || !(vh = split_heads(v, N))) goto done;
    if (!(*att = rt_attention_scores(qh, kh, rel, mask, 1.0 / sqrt(d)))) goto done;
    if (!(ctx = rt_attention_context(*att, vh, rel, m->cfg.attention_probs_dropout_prob, m->training,
                                     m->gen, probs)))
        goto done;
    static const int perm[4] = {0, 2, 1, 3};
    int64_t sh[3] = {B, S, H};
    if (!(ctxp = rt_permute(ctx, perm)) || !(ctx2 = rt_reshape(ctxp, 3, sh))) goto done;
    if (!(a = dense_res_ln(m, &ly->ao, &ly->aln, ctx2, x))) goto done;
    if (!(i1 = rt_linear(a, ly->inter.w, ly->inter.b))) goto done;
    if (!(i2 = rt_apply_act(m->cfg.hidden_act, i1))) goto done;
    out = dense_res_ln(m, &ly->out, &ly->oln, i2, a);
done:
    rt_release(q); rt_release(k); rt_release(v); rt_release(qh); rt_release(kh); rt_release(vh);
    rt_release(ctx); rt_release(ctxp); rt_release(ctx2); rt_release(a); rt_release(i1); rt_release(i2);
    return out;
}

/* additive key mask [B,1,1,S]: (1 - mask) * -10000 */
static rt_tensor *make_mask(rt_tensor *am, int64_t B, int64_t S) {
    if (am->ndim != 2 || am->shape[0] != B || am->shape[1] != S) {
        char b1[64];
        rt_errorf(RT_ESHAPE, "model.forward: attention_mask %s must be [%lld,%lld] like input_ids",
                  rt_shape_str(am, b1, sizeof b1), (long long)B, (long long)S);
        return NULL;
    }
    int64_t sh[4] = {B, 1, 1, S};
    rt_tensor *m = rt_tensor_empty(RT_F32, 4, sh);
    if (!m) return NULL;
    float *p = rt_f32(m);
    for (int64_t b = 0; b < B; b++)
        for (int64_t s = 0; s < S; s++) {
            int64_t ix[2] = {b, s};
            p[b * S + s] = (float)((1.0 - rt_tensor_get(am, ix)) * -10000.0);
        }
    return m;
}

static rt_tensor *embed(rt_model *m, rt_tensor *ids, rt_tensor *tt) {
    int64_t S = ids->shape[1];
    rt_tensor *w = NULL, *t = NULL, *e = NULL, *e2 = NULL, *p = NULL, *ln = NULL, *out = NULL,
              *zeros = NULL;
    if (!tt) {
        if (!(zeros = rt_tensor_zeros(RT_I64, 2, ids->shape))) return NULL;
        tt = zeros;
    }
    if (!(w = rt_embedding(m->word, ids)) || !(t = rt_embedding(m->type, tt)) || !(e = rt_add(w, t))) goto done;
    if (m->pos) {
        if (S > m->pos->shape[0]) {
            rt_errorf(RT_ESHAPE, "model.forward: sequence length %lld exceeds max_position_embeddings %lld",
                      (long long)S, (long long)m->pos->shape[0]);
            goto done;
        }
        if (!(p = rt_narrow(m->pos, 0, 0, S)) || !(e2 = rt_add(e, p))) goto done;
    } else {
        e2 = e; rt_retain(e2);
    }
    if (!(ln = rt_layer_norm(e2, 1, m->eln.w, m->eln.b, m->cfg.layer_norm_eps))) goto done;
    out = rt_dropout(ln, m->cfg.hidden_dropout_prob, m->training, m->gen);
done:
    rt_release(zeros); rt_release(w); rt_release(t); rt_release(e); rt_release(e2); rt_release(p);
    rt_release(ln);
    return out;
}

static rt_status check_ids(const char *what, rt_tensor *t, rt_tensor *ids) {
    char b1[64], b2[64];
    if (t->dtype != RT_I64 && t->dtype != RT_I32)
        return rt_errorf(RT_EDTYPE, "model.forward: %s must be an integer tensor (got %s)", what,
                         rt_dtype_name(t->dtype));
    if (ids && !rt_same_shape(t, ids))
        return rt_errorf(RT_ESHAPE, "model.forward: %s %s must have the shape of input_ids %s", what,
                         rt_shape_str(t, b1, sizeof b1), rt_shape_str(ids, b2, sizeof b2));
    return RT_OK;
}

void rt_model_output_free(rt_model_output *o) {
    for (int i = 0; i <= o->n_layers; i++) {
        if (o->hidden) rt_release(o->hidden[i]);
        if (o->fit) rt_release(o->fit[i]);
        if (i < o->n_layers) {
            if (o->att) rt_release(o->att[i]);
            if (o->probs) rt_release(o->probs[i]);
        }
    }
    free(o->hidden); free(o->fit); free(o->att); free(o->probs);
    rt_release(o->pooled); rt_release(o->logits); rt_release(o->mlm_logits);
    rt_release(o->nsp_logits); rt_release(o->start_logits); rt_release(o->end_logits);
    rt_release(o->loss);
    memset(o, 0, sizeof *o);
}

rt_status rt_model_forward(rt_model *m, const rt_model_input *in, rt_model_output *o) {
    memset(o, 0, sizeof *o);
    rt_tensor *ids = in->input_ids;
    if (!ids) return rt_errorf(RT_EINVAL, "model.forward: input_ids is required");
    if (ids->ndim != 2) {
        char b1[64];
        return rt_errorf(RT_ESHAPE, "model.forward: input_ids %s must be [batch, seq]",
                         rt_shape_str(ids, b1, sizeof b1));
    }
    rt_status st;
    if ((st = check_ids("input_ids", ids, NULL))) return st;
    if (in->token_type_ids && (st = check_ids("token_type_ids", in->token_type_ids, ids))) return st;
    int64_t B = ids->shape[0], S = ids->shape[1];
    int L = m->cfg.num_hidden_layers;
    o->n_layers = L;
    o->hidden = calloc((size_t)L + 1, sizeof(rt_tensor *));
    o->att = calloc((size_t)L + 1, sizeof(rt_tensor *));
    if (in->output_probs) o->probs = calloc((size_t)L + 1, sizeof(rt_tensor *));
    if (!o->hidden || !o->att || (in->output_probs && !o->probs)) {
        rt_model_output_free(o);
        return rt_errorf(RT_ENOMEM, "model.forward: out of memory");
    }
    rt_tensor *mask = NULL, *rel = NULL;
    if (in->attention_mask && !(mask = make_mask(in->attention_mask, B, S))) goto fail;
    if (m->rel_table) {
        if (!m->rel_cache || m->rel_len != S) {
            rt_release(m->rel_cache);
            m->rel_cache = rt_relative_positions(m->rel_table, m->cfg.max_relative_position, S);
            m->rel_len = m->rel_cache ? S : 0;
            if (!m->rel_cache) goto fail;
        }
        rel = m->rel_cache;
    }
    if (!(o->hidden[0] = embed(m, ids, in->token_type_ids))) goto fail;
    for (int i = 0; i < L; i++) {
        if (rt_interrupted()) { rt_errorf(RT_EINTR, "model.forward: interrupted"); goto fail; }
        o->hidden[i + 1] = layer_forward(m, &m->layers[i], o->hidden[i], mask, rel, &o->att[i],
                                         o->probs ? &o->probs[i] : NULL);
        if (!o->hidden[i + 1]) goto fail;
    }
    rt_tensor *first = rt_select(o->hidden[L], 1, 0), *pd = NULL;
    if (!first) goto fail;
    pd = rt_linear(first, m->pooler.w, m->pooler.b);
    rt_release(first);
    if (!pd) goto fail;
    o->pooled = rt_unary(RT_TANH, pd);
    rt_release(pd);
    if (!o->pooled) goto fail;
    if (rt_heads_forward(m, in, o) != RT_OK) goto fail;
    rt_release(mask);
    return RT_OK;
fail:
    st = rt_last_status();
    rt_release(mask);
    rt_model_output_free(o);
    return st ? st : RT_EINVAL;
}
