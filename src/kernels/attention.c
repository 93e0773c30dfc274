/* attention.c — the attention core over B*H heads (NEZHA modeling_nezha.py relative positions):
 *   scores = (q·kᵀ + q·relᵀ) * scale + mask,   ctx = p·v + p·rel
 * Per-head products are one pointer-batched GEMM over the B*H heads (spread
 * across threads by gemm.c); NEZHA's relative terms are, for each query
 * position i, one GEMM over all (b, h) rows: [BH, D] x Rel[i]ᵀ [D, S]. */
#include "nn.h"
#include "gemm.h"

#include <stdlib.h>
#include <string.h>

#define HEAD(x, b, h) ((x).p + (b) * (x).sb + (h) * (x).sh)

static rt_status nomem(const char *op) {
    return rt_errorf(RT_ENOMEM, "%s: out of memory (%s:%d)", op, __FILE__, __LINE__);
}

/* dst[i][bh][:] = src[b,h,i,:]  ([S][BH][D] contiguous gather of a heads operand) */
static void gather_sbd(int64_t B, int64_t H, int64_t S, int64_t D, rt_heads x, float *dst) {
#pragma omp parallel for collapse(2) schedule(static) if (B * H * S * D > 65536)
    for (int64_t i = 0; i < S; i++)
        for (int64_t bh = 0; bh < B * H; bh++)
            memcpy(dst + (i * B * H + bh) * D, x.p + (bh / H) * x.sb + (bh % H) * x.sh + i * x.ss,
                   (size_t)D * sizeof(float));
}

/* For every query position i: out_i = alpha * a_i · op(Rel[i]) + beta * out_i, a_i
 * [BH, K] at a + i*sa (row stride lda), out_i [BH, N] at out + i*so (row stride
 * ldc): S GEMMs spread across threads; strided rows need no copies. */
static rt_status rel_gemms(bool trans_rel, int64_t S, int64_t BH, int64_t N, int64_t K, float alpha,
                           const float *a, int64_t lda, int64_t sa, const float *rel, int64_t D,
                           float beta, float *out, int64_t ldc, int64_t so) {
    const float **pa = malloc((size_t)S * sizeof *pa), **pb = malloc((size_t)S * sizeof *pb);
    float **pc = malloc((size_t)S * sizeof *pc);
    if (!pa || !pb || !pc) { free(pa); free(pb); free(pc); return nomem("attention"); }
    for (int64_t i = 0; i < S; i++) { pa[i] = a + i * sa; pb[i] = rel + i * S * D; pc[i] = out + i * so; }
    rt_sgemm_batch(false, trans_rel, BH, N, K, alpha, pa, lda, pb, D, beta, pc, ldc, S);
    free(pa); free(pb); free(pc);
    return RT_OK;
}

/* Pointer arrays for B*H heads. */
typedef struct { const float **a; const float **b; float **c; } ptrs;
static bool ptrs_alloc(ptrs *p, int64_t n) {
    p->a = calloc((size_t)n + 1, sizeof *p->a);
    p->b = calloc((size_t)n + 1, sizeof *p->b);
    p->c = calloc((size_t)n + 1, sizeof *p->c);
    return p->a && p->b && p->c;
}
static void ptrs_free(ptrs *p) { free(p->a); free(p->b); free(p->c); }

rt_status rt_k_attn_scores(float *scores, rt_heads q, rt_heads k, const float *rel, rt_mask4 mask, int64_t B,
                           int64_t H, int64_t S, int64_t D, float scale) {
    int64_t BH = B * H;
    ptrs p;
    if (!ptrs_alloc(&p, BH)) { ptrs_free(&p); return nomem("attention_scores"); }
    for (int64_t bh = 0; bh < BH; bh++) {
        p.a[bh] = HEAD(q, bh / H, bh % H);
        p.b[bh] = HEAD(k, bh / H, bh % H);
        p.c[bh] = scores + bh * S * S;
    }
    rt_sgemm_batch(false, true, S, S, D, scale, p.a, q.ss, p.b, k.ss, 0.0f, p.c, S, BH);
    ptrs_free(&p);
    if (rel) {   /* scores[bh, i, :] += scale * q[bh, i, :] · Rel[i]ᵀ */
        float *qs = malloc((size_t)(S * BH * D) * sizeof(float));
        if (!qs) return nomem("attention_scores");
        gather_sbd(B, H, S, D, q, qs);
        rt_status st = rel_gemms(true, S, BH, S, D, scale, qs, D, BH * D, rel, D, 1.0f, scores, S * S, S);
        free(qs);
        if (st != RT_OK) return st;
    }
    if (mask.p) {
#pragma omp parallel for schedule(static) if (BH * S * S > 65536)
        for (int64_t r = 0; r < BH * S; r++) {
            int64_t b = r / (H * S), h = (r / S) % H, i = r % S;
            const float *m = mask.p + b * mask.sb + h * mask.sh + i * mask.si;
            float *o = scores + r * S;
            if (mask.sj == 1) {
#pragma omp simd
                for (int64_t j = 0; j < S; j++) o[j] += m[j];
            } else {
                for (int64_t j = 0; j < S; j++) o[j] += m[j * mask.sj];
            }
        }
    }
    return RT_OK;
}

rt_status rt_k_attn_scores_bwd(float *gq, float *gk, const float *gs, rt_heads q, rt_heads k, const float *rel,
                               int64_t B, int64_t H, int64_t S, int64_t D, float scale) {
    int64_t BH = B * H;
    ptrs p;
    if (!ptrs_alloc(&p, BH)) { ptrs_free(&p); return nomem("attention_scores backward"); }
    if (gq) {   /* gq = scale * gs · k  (+ rel term) */
        for (int64_t bh = 0; bh < BH; bh++) {
            p.a[bh] = gs + bh * S * S; p.b[bh] = HEAD(k, bh / H, bh % H); p.c[bh] = gq + bh * S * D;
        }
        rt_sgemm_batch(false, false, S, D, S, scale, p.a, S, p.b, k.ss, 0.0f, p.c, D, BH);
        if (rel) {   /* gq[bh, i, :] += scale * gs[bh, i, :] · Rel[i] */
            rt_status st = rel_gemms(false, S, BH, D, S, scale, gs, S * S, S, rel, D, 1.0f, gq, S * D, D);
            if (st != RT_OK) { ptrs_free(&p); return st; }
        }
    }
    if (gk) {   /* gk = scale * gsᵀ · q */
        for (int64_t bh = 0; bh < BH; bh++) {
            p.a[bh] = gs + bh * S * S; p.b[bh] = HEAD(q, bh / H, bh % H); p.c[bh] = gk + bh * S * D;
        }
        rt_sgemm_batch(true, false, S, D, S, scale, p.a, S, p.b, q.ss, 0.0f, p.c, D, BH);
    }
    ptrs_free(&p);
    return RT_OK;
}

rt_status rt_k_attn_context(rt_heads_out ctx, const float *pr, rt_heads v, const float *rel, int64_t B, int64_t H,
                            int64_t S, int64_t D) {
    int64_t BH = B * H;
    ptrs p;
    if (!ptrs_alloc(&p, BH)) { ptrs_free(&p); return nomem("attention_context"); }
    for (int64_t bh = 0; bh < BH; bh++) {
        p.a[bh] = pr + bh * S * S; p.b[bh] = HEAD(v, bh / H, bh % H); p.c[bh] = HEAD(ctx, bh / H, bh % H);
    }
    rt_sgemm_batch(false, false, S, D, S, 1.0f, p.a, S, p.b, v.ss, 0.0f, p.c, ctx.ss, BH);
    ptrs_free(&p);
    if (rel) {   /* t[i][bh][:] = p[bh, i, :] · Rel[i], then ctx[b,h,i,:] += t[i][bh][:] */
        float *t = malloc((size_t)(S * BH * D) * sizeof(float));
        if (!t) return nomem("attention_context");
        rt_status st = rel_gemms(false, S, BH, D, S, 1.0f, pr, S * S, S, rel, D, 0.0f, t, D, BH * D);
        if (st != RT_OK) { free(t); return st; }
#pragma omp parallel for collapse(2) schedule(static) if (BH * S * D > 65536)
        for (int64_t bh = 0; bh < BH; bh++)
            for (int64_t i = 0; i < S; i++) {
                float *o = HEAD(ctx, bh / H, bh % H) + i * ctx.ss;
                const float *s = t + (i * BH + bh) * D;
#pragma omp simd
                for (int64_t d = 0; d < D; d++) o[d] += s[d];
            }
        free(t);
    }
    return RT_OK;
}

rt_status rt_k_attn_context_bwd(float *gp, float *gv, rt_heads gctx, const float *pr, rt_heads v, const float *rel,
                                int64_t B, int64_t H, int64_t S, int64_t D) {
    int64_t BH = B * H;
    ptrs p;
    if (!ptrs_alloc(&p, BH)) { ptrs_free(&p); return nomem("attention_context backward"); }
    /* gp = gctx · vᵀ */
    for (int64_t bh = 0; bh < BH; bh++) {
        p.a[bh] = HEAD(gctx, bh / H, bh % H); p.b[bh] = HEAD(v, bh / H, bh % H); p.c[bh] = gp + bh * S * S;
    }
    rt_sgemm_batch(false, true, S, S, D, 1.0f, p.a, gctx.ss, p.b, v.ss, 0.0f, p.c, S, BH);
    if (gv) {   /* gv = pᵀ · gctx */
        for (int64_t bh = 0; bh < BH; bh++) {
            p.a[bh] = pr + bh * S * S; p.b[bh] = HEAD(gctx, bh / H, bh % H); p.c[bh] = gv + bh * S * D;
        }
        rt_sgemm_batch(true, false, S, D, S, 1.0f, p.a, S, p.b, gctx.ss, 0.0f, p.c, D, BH);
    }
    ptrs_free(&p);
    if (rel) {   /* gp[bh, i, :] += gctx[bh, i, :] · Rel[i]ᵀ */
        float *gs = malloc((size_t)(S * BH * D) * sizeof(float));
        if (!gs) return nomem("attention_context backward");
        gather_sbd(B, H, S, D, gctx, gs);
        rt_status st = rel_gemms(true, S, BH, S, D, 1.0f, gs, D, BH * D, rel, D, 1.0f, gp, S * S, S);
        free(gs);
        if (st != RT_OK) return st;
    }
    return RT_OK;
}
