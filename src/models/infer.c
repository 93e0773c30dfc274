/* infer.c — the inference-only encoder (model.h, "infer.c"): the same weights
 * and arithmetic as the autograd forward of bert.c in eval mode, without
 * graph nodes, with activations kept in one workspace reused across calls,
 * one OpenMP parallel region per layer (threads own GEMM column slices; the
 * bias, GELU, residual and LayerNorm run right after, on the same slice or row
 * block) and attention one (sequence, head) at a time per thread. The heads
 * and the pooler reuse heads.c / the autograd ops under no_grad (small). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include "model.h"
#include "../autograd/graph.h"
#include "../autograd/ops.h"
#include "../kernels/fused.h"
#include "../kernels/gemm.h"
#include "../kernels/lowp.h"
#include "../kernels/nn.h"

enum { LQ, LK, LV, LAO, LI, LO, NLIN };

typedef struct { rt_bf16_w b; rt_i8_w q; rt_f32_w f; } packed;

struct rt_infer {
    rt_prec prec;
    int nlayers;
    packed (*w)[NLIN];          /* [L][6] when prec != F32 */
    float *ws; int64_t ws_cap;  /* workspace (floats) */
};

const char *rt_prec_name(rt_prec p) {
    return p == RT_PREC_BF16 ? "bf16" : p == RT_PREC_INT8 ? "int8" : p == RT_PREC_F32 ? "fp32" : "live";
}

static rt_lin *lin_of(rt_layer *ly, int i) {
    switch (i) {
    case LQ: return &ly->q;
    case LK: return &ly->k;
    case LV: return &ly->v;
    case LAO: return &ly->ao;
    case LI: return &ly->inter;
    default: return &ly->out;
    }
}

static void drop_packed(struct rt_infer *s) {
    if (s->w) {
        for (int l = 0; l < s->nlayers; l++)
            for (int i = 0; i < NLIN; i++) {
                rt_bf16_free(&s->w[l][i].b); rt_i8_free(&s->w[l][i].q); rt_f32_free(&s->w[l][i].f);
            }
    }
    free(s->w);
    s->w = NULL;
    s->nlayers = 0;
}

void rt_infer_free(rt_model *m) {
    if (!m->infer) return;
    drop_packed(m->infer);
    free(m->infer->ws);
    free(m->infer);
    m->infer = NULL;
}

static struct rt_infer *state(rt_model *m) {
    if (!m->infer && !(m->infer = calloc(1, sizeof *m->infer))) rt_errorf(RT_ENOMEM, "model: out of memory");
    return m->infer;
}

static rt_status check_f32(rt_tensor *t, const char *what) {
    if (t->dtype != RT_F32 || !rt_is_contiguous(t))
        return rt_errorf(RT_EDTYPE, "model inference: parameter %s must be contiguous f32 (got %s)",
                         t->name ? t->name : what, rt_dtype_name(t->dtype));
    return RT_OK;
}

rt_status rt_model_set_precision(rt_model *m, rt_prec p) {
    struct rt_infer *s = state(m);
    if (!s) return rt_last_status();
    drop_packed(s);
    s->prec = RT_PREC_F32;
    if (p == RT_PREC_LIVE) return RT_OK;
    int L = m->cfg.num_hidden_layers;
    s->w = calloc((size_t)(L ? L : 1), sizeof *s->w);
    if (!s->w) return rt_errorf(RT_ENOMEM, "model: out of memory");
    s->nlayers = L;
    for (int l = 0; l < L; l++)
        for (int i = 0; i < NLIN; i++) {
            rt_tensor *w = lin_of(&m->layers[l], i)->w;
            rt_status st = check_f32(w, "weight");
            int64_t N = w->shape[0], K = w->shape[1];
            if (!st) st = p == RT_PREC_BF16 ? rt_bf16_pack(&s->w[l][i].b, rt_f32(w), N, K, true)
                        : p == RT_PREC_INT8 ? rt_i8_pack(&s->w[l][i].q, rt_f32(w), N, K, true)
                                            : rt_f32_pack(&s->w[l][i].f, rt_f32(w), N, K, true);
            if (st) { drop_packed(s); return st; }
        }
    s->prec = p;
    return RT_OK;
}

rt_prec rt_model_precision(const rt_model *m) {
    return !m->infer || !m->infer->w ? RT_PREC_LIVE : m->infer->prec;
}

bool rt_model_precision_native(const rt_model *m) {
    if (!m->infer || !m->infer->w || m->infer->nlayers == 0) return true;
    return m->infer->prec == RT_PREC_BF16 ? m->infer->w[0][0].b.native
         : m->infer->prec == RT_PREC_INT8 ? m->infer->w[0][0].q.native : m->infer->w[0][0].f.native;
}

/* ---------------------------------------------------------------- one layer */

typedef struct {
    rt_model *m;
    struct rt_infer *s;
    int64_t B, S, H, I, M, N, d;
    float *x, *q, *k, *v, *ctx, *t, *a, *in, *sc;  /* activations; sc: per-thread S*S */
    void *act;                  /* converted activation (bf16 / u8) */
    float *as;                  /* int8 row scales [M] */
    const float *mask;          /* [B, S] additive or NULL */
    const float *rel;           /* [S, S, d] or NULL */
} run;

/* Thread tid's column range of N in panels of RT_LOWP_NR. */
static void slice(int64_t N, int tid, int nt, int64_t *n0, int64_t *n1) {
    int64_t np = (N + RT_LOWP_NR - 1) / RT_LOWP_NR;
    int64_t a = np * tid / nt, b = np * (tid + 1) / nt;
    *n0 = a * RT_LOWP_NR;
    *n1 = b * RT_LOWP_NR < N ? b * RT_LOWP_NR : N;
}

static void rows_of(int64_t M, int tid, int nt, int64_t *r0, int64_t *r1) {
    *r0 = M * tid / nt;
    *r1 = M * (tid + 1) / nt;
}

/* Convert A [M,K] for the low-precision GEMMs of (layer l, linear i); rows split. */
static void convert(run *r, int l, int i, const float *A, int64_t K, int tid, int nt) {
    if (r->s->prec == RT_PREC_F32) return;
    int64_t r0, r1;
    rows_of(r->M, tid, nt, &r0, &r1);
    packed *p = &r->s->w[l][i];
    if (r->s->prec == RT_PREC_BF16) {
        int64_t rb = rt_bf16_act_size(&p->b, 1);
        rt_k_bf16_rows((char *)r->act + r0 * rb, A + r0 * K, K, r1 - r0, &p->b);
    } else {
        rt_k_quant_rows((uint8_t *)r->act + r0 * p->q.Kp, r->as + r0, A + r0 * K, K, r1 - r0, K, p->q.Kp);
    }
}

/* C[:, slice] = A · Wᵀ (then bias + act when kind != -2) on this thread's columns. */
static void gemm_slice(run *r, int l, int i, const float *A, float *C, int kind, int tid, int nt) {
    rt_lin *ln = lin_of(&r->m->layers[l], i);
    int64_t N = ln->w->shape[0], K = ln->w->shape[1], n0, n1;
    slice(N, tid, nt, &n0, &n1);
    if (n1 <= n0) return;
    switch (r->s->prec) {
    case RT_PREC_F32:
        if (r->s->w) rt_k_gemm_f32_nt(C, N, A, K, &r->s->w[l][i].f, r->M, n0, n1);
        else rt_sgemm_serial(false, true, r->M, n1 - n0, K, 1.0f, A, K, rt_f32(ln->w) + n0 * K, K, 0.0f, C + n0, N);
        break;
    default: break;
    case RT_PREC_BF16: rt_k_gemm_bf16_nt(C, N, r->act, &r->s->w[l][i].b, r->M, n0, n1); break;
    case RT_PREC_INT8: rt_k_gemm_i8_nt(C, N, r->act, r->as, &r->s->w[l][i].q, r->M, n0, n1); break;
    }
    if (kind != -2) rt_k_bias_act_rows(kind, C + n0, N, rt_f32(ln->b) + n0, r->M, n1 - n0);
}

static int act_kind(rt_act a) { return a == RT_ACT_GELU ? RT_GELU : a == RT_ACT_GELU_TANH ? RT_GELU_TANH : RT_RELU; }

static void layer(run *r, int l) {
    rt_layer *ly = &r->m->layers[l];
    int64_t H = r->H, I = r->I, M = r->M, S = r->S, d = r->d, BN = r->B * r->N;
    float eps = (float)r->m->cfg.layer_norm_eps, scale = (float)(1.0 / sqrt((double)d));
    int kind = act_kind(r->m->cfg.hidden_act);
    bool lowp = r->s->prec != RT_PREC_F32;
#pragma omp parallel
    {
        int tid = omp_get_thread_num(), nt = omp_get_num_threads();
        int64_t r0, r1;
        rows_of(M, tid, nt, &r0, &r1);
        /* q, k, v (the three share one converted input) */
        convert(r, l, LQ, r->x, H, tid, nt);
        if (lowp) {
#pragma omp barrier
        }
        gemm_slice(r, l, LQ, r->x, r->q, -1, tid, nt);
        gemm_slice(r, l, LK, r->x, r->k, -1, tid, nt);
        gemm_slice(r, l, LV, r->x, r->v, -1, tid, nt);
#pragma omp barrier
        /* attention, one (sequence, head) per task */
        float *sc = r->sc + (int64_t)tid * S * S;
#pragma omp for schedule(static)
        for (int64_t bh = 0; bh < BN; bh++) {
            int64_t b = bh / r->N, h = bh % r->N, o = b * S * H + h * d;
            rt_k_attn_head(r->ctx + o, H, r->q + o, r->k + o, r->v + o, H, r->mask ? r->mask + b * S : NULL,
                           r->rel, S, d, scale, sc);
        }
        /* attention output dense; bias + residual + LayerNorm on row blocks */
        convert(r, l, LAO, r->ctx, H, tid, nt);
        if (lowp) {
#pragma omp barrier
        }
        gemm_slice(r, l, LAO, r->ctx, r->t, -2, tid, nt);
#pragma omp barrier
        rt_k_bias_res_ln_rows(r->a + r0 * H, r->t + r0 * H, rt_f32(ly->ao.b), r->x + r0 * H, rt_f32(ly->aln.w),
                              rt_f32(ly->aln.b), r1 - r0, H, eps);
#pragma omp barrier
        /* intermediate: bias + activation on the slice */
        convert(r, l, LI, r->a, H, tid, nt);
        if (lowp) {
#pragma omp barrier
        }
        gemm_slice(r, l, LI, r->a, r->in, kind, tid, nt);
#pragma omp barrier
        convert(r, l, LO, r->in, I, tid, nt);
        if (lowp) {
#pragma omp barrier
        }
        gemm_slice(r, l, LO, r->in, r->t, -2, tid, nt);
#pragma omp barrier
        rt_k_bias_res_ln_rows(r->x + r0 * H, r->t + r0 * H, rt_f32(ly->out.b), r->a + r0 * H, rt_f32(ly->oln.w),
                              rt_f32(ly->oln.b), r1 - r0, H, eps);
    }
}

/* ---------------------------------------------------------------- forward */

static rt_status check_ints(const char *what, rt_tensor *t, rt_tensor *ids) {
    char b1[64], b2[64];
    if (t->dtype != RT_I64 && t->dtype != RT_I32)
        return rt_errorf(RT_EDTYPE, "model.infer: %s must be an integer tensor (got %s)", what,
                         rt_dtype_name(t->dtype));
    if (ids && !rt_same_shape(t, ids))
        return rt_errorf(RT_ESHAPE, "model.infer: %s %s must have the shape of input_ids %s", what,
                         rt_shape_str(t, b1, sizeof b1), rt_shape_str(ids, b2, sizeof b2));
    return RT_OK;
}

/* ids as i64 [n] (a contiguous copy when needed); *own set when allocated. */
static const int64_t *ids64(rt_tensor *t, rt_tensor **own) {
    *own = NULL;
    if (t->dtype == RT_I64 && rt_is_contiguous(t)) return (const int64_t *)rt_data(t);
    if (!(*own = rt_tensor_convert(t, RT_I64))) return NULL;
    return (const int64_t *)rt_data(*own);
}

static rt_status embed(rt_model *m, run *r, rt_tensor *ids_t, rt_tensor *tt_t) {
    int64_t M = r->M, S = r->S, H = r->H;
    rt_tensor *own1 = NULL, *own2 = NULL;
    rt_status st = RT_OK;
    const int64_t *ids = ids64(ids_t, &own1), *tt = NULL;
    if (!ids) return rt_last_status();
    if (tt_t && !(tt = ids64(tt_t, &own2))) { rt_release(own1); return rt_last_status(); }
    int64_t bad = rt_k_embedding_check(ids, NULL, M, m->word->shape[0]);
    if (bad >= 0) {
        st = rt_errorf(RT_EINDEX, "model.infer: input_ids[%lld] = %lld outside the vocabulary [0, %lld)",
                       (long long)bad, (long long)ids[bad], (long long)m->word->shape[0]);
    } else if (tt && (bad = rt_k_embedding_check(tt, NULL, M, m->type->shape[0])) >= 0) {
        st = rt_errorf(RT_EINDEX, "model.infer: token_type_ids[%lld] = %lld outside [0, %lld)", (long long)bad,
                       (long long)tt[bad], (long long)m->type->shape[0]);
    } else if (m->pos && S > m->pos->shape[0]) {
        st = rt_errorf(RT_ESHAPE, "model.infer: sequence length %lld exceeds max_position_embeddings %lld",
                       (long long)S, (long long)m->pos->shape[0]);
    }
    if (st) { rt_release(own1); rt_release(own2); return st; }
    const float *w = rt_f32(m->word), *ty = rt_f32(m->type), *p = m->pos ? rt_f32(m->pos) : NULL;
#pragma omp parallel for schedule(static) if (M * H > 32768)
    for (int64_t i = 0; i < M; i++) {
        const float *wr = w + ids[i] * H, *tr = ty + (tt ? tt[i] : 0) * H;
        float *o = r->t + i * H;
        if (p) {
            const float *pr = p + (i % S) * H;
            for (int64_t j = 0; j < H; j++) o[j] = (wr[j] + tr[j]) + pr[j];
        } else {
            for (int64_t j = 0; j < H; j++) o[j] = wr[j] + tr[j];
        }
    }
    rt_k_layer_norm(r->x, NULL, NULL, r->t, rt_f32(m->eln.w), rt_f32(m->eln.b), M, H, (float)m->cfg.layer_norm_eps);
    rt_release(own1); rt_release(own2);
    return RT_OK;
}

static rt_status check_params(rt_model *m) {
    rt_status st;
    if ((st = check_f32(m->word, "word")) || (st = check_f32(m->type, "type")) ||
        (m->pos && (st = check_f32(m->pos, "pos"))))
        return st;
    for (int l = 0; l < m->cfg.num_hidden_layers; l++) {
        rt_layer *ly = &m->layers[l];
        for (int i = 0; i < NLIN; i++)
            if ((st = check_f32(lin_of(ly, i)->w, "weight")) || (st = check_f32(lin_of(ly, i)->b, "bias")))
                return st;
        if ((st = check_f32(ly->aln.w, "ln")) || (st = check_f32(ly->aln.b, "ln")) ||
            (st = check_f32(ly->oln.w, "ln")) || (st = check_f32(ly->oln.b, "ln")))
            return st;
    }
    return RT_OK;
}

rt_status rt_model_infer(rt_model *m, const rt_model_input *in, rt_model_output *o) {
    memset(o, 0, sizeof *o);
    rt_tensor *ids = in->input_ids;
    if (!ids) return rt_errorf(RT_EINVAL, "model.infer: input_ids is required");
    char b1[64];
    if (ids->ndim != 2)
        return rt_errorf(RT_ESHAPE, "model.infer: input_ids %s must be [batch, seq]", rt_shape_str(ids, b1, sizeof b1));
    rt_status st;
    if ((st = check_ints("input_ids", ids, NULL))) return st;
    if (in->token_type_ids && (st = check_ints("token_type_ids", in->token_type_ids, ids))) return st;
    struct rt_infer *s = state(m);
    if (!s) return rt_last_status();
    if ((st = check_params(m))) return st;
    run r;
    memset(&r, 0, sizeof r);
    r.m = m; r.s = s;
    r.B = ids->shape[0]; r.S = ids->shape[1]; r.H = m->cfg.hidden_size; r.I = m->cfg.intermediate_size;
    r.N = m->cfg.num_attention_heads; r.d = r.H / r.N; r.M = r.B * r.S;
    int L = m->cfg.num_hidden_layers, nt = omp_get_max_threads();
    int64_t M = r.M, H = r.H, I = r.I, S = r.S;
    /* workspace: x q k v ctx t a [M,H], in [M,I], sc [nt,S,S], mask [B,S], as [M], act */
    int64_t kmax = I > H ? I : H;
    int64_t act_f = (M * (kmax + 4) * 4 + 3) / 4;   /* bf16 fallback (fp32) is the largest form */
    int64_t need = 7 * M * H + M * I + (int64_t)nt * S * S + M + M + act_f + 64;
    if (need > s->ws_cap) {
        free(s->ws);
        s->ws = malloc((size_t)need * sizeof(float));
        s->ws_cap = s->ws ? need : 0;
        if (!s->ws) return rt_errorf(RT_ENOMEM, "model.infer: out of memory for the activations of [%lld, %lld]",
                                     (long long)r.B, (long long)r.S);
    }
    float *p = s->ws;
    r.x = p; p += M * H; r.q = p; p += M * H; r.k = p; p += M * H; r.v = p; p += M * H;
    r.ctx = p; p += M * H; r.t = p; p += M * H; r.a = p; p += M * H; r.in = p; p += M * I;
    r.sc = p; p += (int64_t)nt * S * S;
    r.as = p; p += M;
    float *mask = p; p += M;
    r.act = p;
    if (in->attention_mask) {
        rt_tensor *am = in->attention_mask;
        if (am->ndim != 2 || am->shape[0] != r.B || am->shape[1] != S)
            return rt_errorf(RT_ESHAPE, "model.infer: attention_mask %s must be [%lld,%lld] like input_ids",
                             rt_shape_str(am, b1, sizeof b1), (long long)r.B, (long long)S);
        for (int64_t b = 0; b < r.B; b++)
            for (int64_t j = 0; j < S; j++) {
                int64_t ix[2] = {b, j};
                mask[b * S + j] = (float)((1.0 - rt_tensor_get(am, ix)) * -10000.0);
            }
        r.mask = mask;
    }
    if (m->rel_table) {
        if (!m->rel_cache || m->rel_len != S) {
            rt_release(m->rel_cache);
            m->rel_cache = rt_relative_positions(m->rel_table, m->cfg.max_relative_position, S);
            m->rel_len = m->rel_cache ? S : 0;
            if (!m->rel_cache) return rt_last_status();
        }
        r.rel = rt_f32(m->rel_cache);
    }
    if ((st = embed(m, &r, ids, in->token_type_ids))) return st;
    for (int l = 0; l < L; l++) {
        if (rt_interrupted()) return rt_errorf(RT_EINTR, "model.infer: interrupted");
        layer(&r, l);
    }
    /* outputs: the last hidden state (copied out of the workspace), pooler, heads */
    o->n_layers = L;
    if (!(o->hidden = calloc((size_t)L + 1, sizeof(rt_tensor *)))) return rt_errorf(RT_ENOMEM, "model.infer: out of memory");
    int64_t sh[3] = {r.B, S, H};
    if (!(o->hidden[L] = rt_tensor_empty(RT_F32, 3, sh))) { rt_model_output_free(o); return rt_last_status(); }
    memcpy(rt_f32(o->hidden[L]), r.x, (size_t)(M * H) * sizeof(float));
    rt_no_grad_enter();
    bool train = m->training;
    m->training = false;
    rt_model_input hin = *in;
    hin.no_fit = true;
    rt_tensor *first = rt_select(o->hidden[L], 1, 0), *pd = NULL;
    st = RT_OK;
    if (first && (pd = rt_linear(first, m->pooler.w, m->pooler.b))) o->pooled = rt_unary(RT_TANH, pd);
    rt_release(first); rt_release(pd);
    if (!o->pooled) st = rt_last_status();
    if (!st) st = rt_heads_forward(m, &hin, o);
    m->training = train;
    rt_no_grad_exit();
    if (st) { rt_model_output_free(o); return st; }
    return RT_OK;
}
