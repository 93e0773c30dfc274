/* ops_attention.c — the attention core as two fused nodes:
 *   rt_attention_scores:  scores = (q·kᵀ + q·relᵀ) * scale + mask
 *   rt_attention_context: p = softmax(scores), p' = dropout(p), ctx = p'·v + p'·rel
 * rel ([S, S, D], NEZHA relative positions) and mask are constants. Heads may be
 * strided views ([B, S, H, D] activations permuted to [B, H, S, D]): no copies.
 * The context is written in [B, S, H, D] memory and returned as the permuted
 * [B, H, S, D] view, so merging heads back to [B, S, H*D] is free. */
#include <string.h>
#include "nn_common.h"
#include "../kernels/nn.h"

/* A [B,H,S,X] f32 operand with unit last stride (copied if needed). */
static rt_tensor *heads_operand(rt_tensor *t, rt_heads *h) {
    rt_tensor *c;
    if (t->dtype == RT_F32 && (t->stride[3] == 1 || t->shape[3] == 1)) { rt_retain(t); c = t; }
    else if (!(c = nn_f32c(t))) return NULL;
    h->p = rt_f32(c); h->sb = c->stride[0]; h->sh = c->stride[1]; h->ss = c->stride[2];
    return c;
}

static bool check_rel(const char *op, rt_tensor *rel, int64_t S, int64_t D) {
    char b[96];
    if (!rel) return true;
    if (!nn_need_f32(op, "rel", rel)) return false;
    if (rel->ndim != 3 || rel->shape[0] != S || rel->shape[1] != S || rel->shape[2] != D) {
        rt_errorf(RT_ESHAPE, "%s: rel %s must be [S, S, D] = [%lld,%lld,%lld]", op,
                  rt_shape_str(rel, b, sizeof b), (long long)S, (long long)S, (long long)D);
        return false;
    }
    return true;
}

/* ---- scores ---- */

/* attention_scores node slots */
enum { SC_REL };   /* saved[] */
enum { SC_SCALE };   /* f[] */

static rt_status scores_backward(rt_node *n, rt_tensor *go, rt_tensor **grads, const bool *needs) {
    rt_tensor *q = n->inputs[0], *k = n->inputs[1], *rel = n->saved[SC_REL];
    int64_t B = q->shape[0], H = q->shape[1], S = q->shape[2], D = q->shape[3];
    rt_heads hq, hk;
    rt_tensor *qc = heads_operand(q, &hq), *kc = heads_operand(k, &hk), *g = nn_f32c(go);
    rt_tensor *gq = NULL, *gk = NULL;
    rt_status st = RT_OK;
    if (!qc || !kc || !g) { st = rt_last_status(); goto done; }
    if (needs[0] && !(gq = rt_tensor_empty(RT_F32, 4, q->shape))) { st = rt_last_status(); goto done; }
    if (needs[1] && !(gk = rt_tensor_empty(RT_F32, 4, k->shape))) { st = rt_last_status(); goto done; }
    st = rt_k_attn_scores_bwd(gq ? rt_f32(gq) : NULL, gk ? rt_f32(gk) : NULL, rt_f32(g), hq, hk,
                              rel ? rt_f32(rel) : NULL, B, H, S, D, (float)n->f[SC_SCALE]);
    if (st == RT_OK) { grads[0] = gq; grads[1] = gk; gq = gk = NULL; }
done:
    rt_release(qc); rt_release(kc); rt_release(g); rt_release(gq); rt_release(gk);
    return st;
}
static const rt_op_desc ATTN_SCORES = {"attention_scores", scores_backward, NULL};

rt_tensor *rt_attention_scores(rt_tensor *q, rt_tensor *k, rt_tensor *rel, rt_tensor *mask,
                               double scale) {
    const char *op = "attention_scores";
    char sq[96], sk[96], sm[96];
    if (!nn_need_f32(op, "q", q) || !nn_need_f32(op, "k", k)) return NULL;
    if (q->ndim != 4 || !rt_same_shape(q, k)) {
        rt_errorf(RT_ESHAPE, "%s: q %s and k %s must both be [B, H, S, D]", op,
                  rt_shape_str(q, sq, sizeof sq), rt_shape_str(k, sk, sizeof sk));
        return NULL;
    }
    int64_t B = q->shape[0], H = q->shape[1], S = q->shape[2], D = q->shape[3];
    int64_t os[4] = {B, H, S, S};
    if (!check_rel(op, rel, S, D)) return NULL;
    rt_mask4 m = {0};
    rt_tensor *mc = NULL, *relc = NULL, *qc = NULL, *kc = NULL, *out = NULL;
    if (mask) {
        int nd;
        int64_t bs[RT_MAXDIM], st[RT_MAXDIM];
        if (!nn_need_f32(op, "mask", mask)) return NULL;
        if (mask->ndim > 4 || !rt_broadcast_shapes(mask->ndim, mask->shape, 4, os, &nd, bs) || nd != 4 ||
            bs[0] != B || bs[1] != H || bs[2] != S || bs[3] != S) {
            rt_errorf(RT_ESHAPE, "%s: mask %s does not broadcast to scores [%lld,%lld,%lld,%lld]", op,
                      rt_shape_str(mask, sm, sizeof sm), (long long)B, (long long)H, (long long)S, (long long)S);
            return NULL;
        }
        rt_retain(mask); mc = mask;
        rt_broadcast_strides(mask->ndim, mask->shape, mask->stride, 4, os, st);
        m = (rt_mask4){rt_f32(mask), st[0], st[1], st[2], st[3]};
    }
    if (rel && !(relc = rt_tensor_contiguous(rel))) goto done;
    rt_heads hq, hk;
    if (!(qc = heads_operand(q, &hq)) || !(kc = heads_operand(k, &hk))) goto done;
    if (!(out = rt_tensor_empty(RT_F32, 4, os))) goto done;
    if (rt_k_attn_scores(rt_f32(out), hq, hk, relc ? rt_f32(relc) : NULL, m, B, H, S, D, (float)scale) != RT_OK) {
        rt_release(out); out = NULL;
        goto done;
    }
    rt_tensor *in[2] = {q, k};
    rt_node *nd = rt_node_attach(out, &ATTN_SCORES, 2, in);
    if (nd) { if (relc) rt_node_save_at(nd, SC_REL, relc); nd->f[SC_SCALE] = scale; }
done:
    rt_release(mc); rt_release(relc); rt_release(qc); rt_release(kc);
    return out;
}

/* ---- context ---- */

/* saved: [0] probs (alias, pre-dropout), [1] rel (optional) */
/* attention_context node slots */
enum { CTX_PROBS, CTX_REL };   /* saved[] */
enum { CTX_SEED, CTX_BASE, CTX_HAS_REL };   /* i[] */
enum { CTX_P };   /* f[] */

static rt_status context_backward(rt_node *n, rt_tensor *go, rt_tensor **grads, const bool *needs) {
    rt_tensor *v = n->inputs[1], *pr = n->saved[CTX_PROBS], *rel = n->i[CTX_HAS_REL] ? n->saved[CTX_REL] : NULL;
    int64_t B = v->shape[0], H = v->shape[1], S = v->shape[2], D = v->shape[3], np = rt_numel(pr);
    float p = (float)n->f[CTX_P];
    bool drop = p > 0.0f;
    rt_heads hv, hg;
    rt_tensor *vc = heads_operand(v, &hv), *gc = heads_operand(go, &hg);
    rt_tensor *pd = NULL, *gp = NULL, *gv = NULL;
    rt_status st = RT_OK;
    if (!vc || !gc) { st = rt_last_status(); goto done; }
    if (drop) {   /* regenerate p' from (seed, base) */
        if (!(pd = rt_tensor_empty(RT_F32, 4, pr->shape))) { st = rt_last_status(); goto done; }
        rt_k_dropout(rt_f32(pd), rt_f32(pr), np, p, (uint64_t)n->i[CTX_SEED], (uint64_t)n->i[CTX_BASE]);
    }
    if (!(gp = rt_tensor_empty(RT_F32, 4, pr->shape))) { st = rt_last_status(); goto done; }
    if (needs[1] && !(gv = rt_tensor_empty(RT_F32, 4, v->shape))) { st = rt_last_status(); goto done; }
    st = rt_k_attn_context_bwd(rt_f32(gp), gv ? rt_f32(gv) : NULL, hg, rt_f32(pd ? pd : pr), hv,
                               rel ? rt_f32(rel) : NULL, B, H, S, D);
    if (st != RT_OK) goto done;
    if (needs[0]) {
        if (drop) rt_k_dropout(rt_f32(gp), rt_f32(gp), np, p, (uint64_t)n->i[CTX_SEED], (uint64_t)n->i[CTX_BASE]);
        rt_k_softmax_bwd(rt_f32(gp), rt_f32(pr), rt_f32(gp), np / S, S, 1, false);
        grads[0] = gp; gp = NULL;
    }
    grads[1] = gv; gv = NULL;
done:
    rt_release(vc); rt_release(gc); rt_release(pd); rt_release(gp); rt_release(gv);
    return st;
}
static const rt_op_desc ATTN_CONTEXT = {"attention_context", context_backward, NULL};

rt_tensor *rt_attention_context(rt_tensor *scores, rt_tensor *v, rt_tensor *rel,
                                double dropout_p, bool train, rt_generator *g,
                                rt_tensor **probs_out) {
    const char *op = "attention_context";
    char ss[96], sv[96];
    if (probs_out) *probs_out = NULL;
    if (!nn_need_f32(op, "scores", scores) || !nn_need_f32(op, "v", v)) return NULL;
    if (scores->ndim != 4 || v->ndim != 4 || scores->shape[0] != v->shape[0] ||
        scores->shape[1] != v->shape[1] || scores->shape[2] != v->shape[2] ||
        scores->shape[3] != v->shape[2]) {
        rt_errorf(RT_ESHAPE, "%s: scores %s and v %s: expected [B, H, S, S] and [B, H, S, D]", op,
                  rt_shape_str(scores, ss, sizeof ss), rt_shape_str(v, sv, sizeof sv));
        return NULL;
    }
    if (!(dropout_p >= 0.0 && dropout_p <= 1.0)) {
        rt_errorf(RT_EINVAL, "%s: dropout probability %g is not in [0, 1]", op, dropout_p);
        return NULL;
    }
    int64_t B = v->shape[0], H = v->shape[1], S = v->shape[2], D = v->shape[3];
    if (!check_rel(op, rel, S, D)) return NULL;
    bool drop = train && dropout_p > 0.0;
    rt_tensor *sc = NULL, *pr = NULL, *pd = NULL, *relc = NULL, *vc = NULL, *store = NULL, *out = NULL;
    if (!(sc = rt_tensor_contiguous(scores)) || !(pr = rt_tensor_empty(RT_F32, 4, scores->shape)))
        goto done;
    int64_t np = rt_numel(pr);
    rt_k_softmax(rt_f32(pr), rt_f32(sc), np / (S ? S : 1), S, 1, false);
    uint64_t seed = 0, base = 0;
    if (drop) {
        if (!g) g = rt_default_generator();
        seed = g->seed; base = rt_rng_reserve(g, (uint64_t)np);
        if (!(pd = rt_tensor_empty(RT_F32, 4, scores->shape))) goto done;
        rt_k_dropout(rt_f32(pd), rt_f32(pr), np, (float)dropout_p, seed, base);
    }
    if (rel && !(relc = rt_tensor_contiguous(rel))) goto done;
    rt_heads hv;
    if (!(vc = heads_operand(v, &hv))) goto done;
    int64_t bshd[4] = {B, S, H, D};
    if (!(store = rt_tensor_empty(RT_F32, 4, bshd))) goto done;
    int64_t oshape[4] = {B, H, S, D}, ostride[4] = {S * H * D, D, H * D, 1};
    if (!(out = rt_tensor_view_of(store->storage, RT_F32, 0, 4, oshape, ostride))) goto done;
    rt_heads_out ho = {rt_f32(out), ostride[0], ostride[1], ostride[2]};
    if (rt_k_attn_context(ho, rt_f32(pd ? pd : pr), hv, relc ? rt_f32(relc) : NULL, B, H, S, D) != RT_OK) {
        rt_release(out); out = NULL;
        goto done;
    }
    rt_tensor *in[2] = {scores, v};
    rt_node *nd = rt_node_attach(out, &ATTN_CONTEXT, 2, in);
    if (nd) {
        rt_node_save_at(nd, CTX_PROBS, pr);
        if (relc) rt_node_save_at(nd, CTX_REL, relc);
        nd->f[CTX_P] = drop ? dropout_p : 0.0;
        nd->i[CTX_SEED] = (int64_t)seed; nd->i[CTX_BASE] = (int64_t)base; nd->i[CTX_HAS_REL] = relc != NULL;
    }
    if (probs_out && !(*probs_out = rt_tensor_alias(pr))) { rt_release(out); out = NULL; }
done:
    rt_release(sc); rt_release(pr); rt_release(pd); rt_release(relc); rt_release(vc); rt_release(store);
    return out;
}
