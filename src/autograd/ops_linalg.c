/* ops_linalg.c — matmul (1-D/2-D/batched with broadcasting; transposed views
 * go to GEMM as transpose flags, not copies) and linear (x·Wᵀ + b, one node). */
#include <stdlib.h>
#include <string.h>
#include "nn_common.h"
#include "../kernels/elementwise.h"
#include "../kernels/gemm.h"
#include "../kernels/reduce.h"

/* A [rows, cols] matrix inside a strided view: op flag + leading dim. */
typedef struct { bool t; int64_t ld; } matdesc;

static bool mat_of(int64_t r, int64_t c, int64_t sr, int64_t sc, matdesc *m) {
    if ((sc == 1 || c == 1) && (r == 1 || sr >= c)) {
        m->t = false; m->ld = r == 1 ? c : sr;
        return sr != 0 || r == 1;
    }
    if ((sr == 1 || r == 1) && (c == 1 || sc >= r)) {
        m->t = true; m->ld = c == 1 ? r : sc;
        return sc != 0 || c == 1;
    }
    return false;
}

/* out = a · b for a [..., M, K], b [..., K, N] (both >= 2-D, f32), batch dims
 * broadcast. Result contiguous [batch..., M, N]. No graph. */
static rt_tensor *mm_compute(const char *op, rt_tensor *a, rt_tensor *b) {
    char sa[96], sb[96];
    int na = a->ndim, nb = b->ndim;
    int64_t M = a->shape[na - 2], K = a->shape[na - 1], N = b->shape[nb - 1];
    if (b->shape[nb - 2] != K) {
        rt_errorf(RT_ESHAPE, "%s: %s x %s: inner sizes differ", op, rt_shape_str(a, sa, sizeof sa),
                  rt_shape_str(b, sb, sizeof sb));
        return NULL;
    }
    int nbo = 0;
    int64_t bshape[RT_MAXDIM], oshape[RT_MAXDIM];
    if (!rt_broadcast_shapes(na - 2, a->shape, nb - 2, b->shape, &nbo, bshape) || nbo + 2 > RT_MAXDIM) {
        rt_errorf(RT_ESHAPE, "%s: %s x %s: batch dims do not broadcast", op,
                  rt_shape_str(a, sa, sizeof sa), rt_shape_str(b, sb, sizeof sb));
        return NULL;
    }
    memcpy(oshape, bshape, sizeof(int64_t) * (size_t)nbo);
    oshape[nbo] = M; oshape[nbo + 1] = N;
    rt_tensor *ac = NULL, *bc = NULL, *out = NULL;
    matdesc ma, mb;
    if (!mat_of(M, K, a->stride[na - 2], a->stride[na - 1], &ma)) {
        if (!(ac = rt_tensor_contiguous(a))) return NULL;
        a = ac; mat_of(M, K, a->stride[na - 2], a->stride[na - 1], &ma);
    }
    if (!mat_of(K, N, b->stride[nb - 2], b->stride[nb - 1], &mb)) {
        if (!(bc = rt_tensor_contiguous(b))) { rt_release(ac); return NULL; }
        b = bc; mat_of(K, N, b->stride[nb - 2], b->stride[nb - 1], &mb);
    }
    if (!rt_gemm_fits(M, N, K, ma.ld, mb.ld, N)) {
        rt_errorf(RT_ESHAPE, "%s: %s x %s: too large for the GEMM backend", op,
                  rt_shape_str(a, sa, sizeof sa), rt_shape_str(b, sb, sizeof sb));
        goto out;
    }
    out = rt_tensor_empty(RT_F32, nbo + 2, oshape);
    if (!out) goto out;
    int64_t nbatch = rt_shape_numel(nbo, bshape);
    int64_t astr[RT_MAXDIM] = {0}, bstr[RT_MAXDIM] = {0};
    rt_broadcast_strides(na - 2, a->shape, a->stride, nbo, bshape, astr);
    rt_broadcast_strides(nb - 2, b->shape, b->stride, nbo, bshape, bstr);
    const float *pa = rt_f32(a), *pb = rt_f32(b);
    float *pc = rt_f32(out);
    bool b_shared = true;
    for (int i = 0; i < nbo; i++) if (bstr[i] != 0 && bshape[i] != 1) b_shared = false;
    /* a's batch rows stacked with a uniform row stride: one tall GEMM */
    bool a_tall = !ma.t && b_shared;
    int64_t expect = M * ma.ld;
    for (int i = nbo - 1; i >= 0 && a_tall; i--) {
        if (bshape[i] == 1) continue;
        if (astr[i] != expect) a_tall = false;
        expect *= bshape[i];
    }
    if (nbatch == 1 || (a_tall && M * nbatch <= 0x7fffffff)) {
        rt_sgemm(ma.t, mb.t, M * nbatch, N, K, 1.0f, pa, ma.ld, pb, mb.ld, 0.0f, pc, N);
    } else if (nbatch > 0) {
        const float **A = malloc((size_t)nbatch * sizeof *A), **B = malloc((size_t)nbatch * sizeof *B);
        float **C = malloc((size_t)nbatch * sizeof *C);
        if (!A || !B || !C) {
            free(A); free(B); free(C); rt_release(out); out = NULL;
            rt_errorf(RT_ENOMEM, "%s: out of memory", op);
            goto out;
        }
        for (int64_t i = 0; i < nbatch; i++) {
            int64_t rem = i, oa = 0, ob = 0;
            for (int d = nbo - 1; d >= 0; d--) {
                int64_t ix = rem % bshape[d]; rem /= bshape[d];
                oa += ix * astr[d]; ob += ix * bstr[d];
            }
            A[i] = pa + oa; B[i] = pb + ob; C[i] = pc + i * M * N;
        }
        rt_sgemm_batch(ma.t, mb.t, M, N, K, 1.0f, A, ma.ld, B, mb.ld, 0.0f, C, N, nbatch);
        free(A); free(B); free(C);
    }
out:
    rt_release(ac); rt_release(bc);
    return out;
}

/* 1-D operands as matrices: a [K] -> [1, K], b [K] -> [K, 1] (headers). */
static rt_tensor *as_mat(rt_tensor *t, bool left) {
    if (t->ndim >= 2) { rt_retain(t); return t; }
    int64_t sh[2], st[2];
    if (left) { sh[0] = 1; sh[1] = t->shape[0]; st[0] = t->shape[0] * t->stride[0]; st[1] = t->stride[0]; }
    else { sh[0] = t->shape[0]; sh[1] = 1; st[0] = t->stride[0]; st[1] = 1; }
    return rt_tensor_view_of(t->storage, t->dtype, t->offset, 2, sh, st);
}

static rt_status matmul_backward(rt_node *n, rt_tensor *go, rt_tensor **grads, const bool *needs) {
    rt_tensor *a = as_mat(n->inputs[0], true), *b = as_mat(n->inputs[1], false);
    rt_tensor *g = nn_f32c(go), *g2 = NULL;
    rt_status st = RT_OK;
    if (!a || !b || !g) { st = rt_last_status(); goto done; }
    /* gradient with the 1-D dims put back: [batch..., M, N] */
    int64_t gs[RT_MAXDIM];
    int nbo = 0;
    rt_broadcast_shapes(a->ndim - 2, a->shape, b->ndim - 2, b->shape, &nbo, gs);
    gs[nbo] = a->shape[a->ndim - 2]; gs[nbo + 1] = b->shape[b->ndim - 1];
    if (!(g2 = nn_view(g, nbo + 2, gs))) { st = rt_last_status(); goto done; }
    for (int i = 0; i < 2 && st == RT_OK; i++) {
        if (!needs[i]) continue;
        rt_tensor *x = n->inputs[i], *r = NULL, *gi = NULL;
        bool flat = i == 1 && b->ndim == 2 && nbo > 0;   /* shared weight: one tall GEMM */
        if (flat) {   /* gB = Aflatᵀ · Gflat, A [rows, K], G [rows, N] */
            rt_tensor *ac = rt_tensor_contiguous(a);
            int64_t K = a->shape[a->ndim - 1], rows = ac ? rt_numel(ac) / (K ? K : 1) : 0;
            int64_t s1[2] = {rows, K}, s2[2] = {rows, gs[nbo + 1]};
            rt_tensor *af = ac ? nn_view(ac, 2, s1) : NULL, *gf = nn_view(g, 2, s2);
            rt_tensor *aft = af ? nn_t(af) : NULL;
            /* when a was broadcast against batch dims of b (b 2-D: never) rows match */
            gi = aft && gf && rows * gs[nbo + 1] == rt_numel(g) ? mm_compute("matmul backward", aft, gf) : NULL;
            if (!gi && rt_last_status() == RT_OK) rt_errorf(RT_ESHAPE, "matmul backward: shapes");
            rt_release(ac); rt_release(af); rt_release(gf); rt_release(aft);
        } else if (i == 0) {
            rt_tensor *bt = nn_t(b);
            gi = bt ? mm_compute("matmul backward", g2, bt) : NULL;
            rt_release(bt);
        } else {
            rt_tensor *at = nn_t(a);
            gi = at ? mm_compute("matmul backward", at, g2) : NULL;
            rt_release(at);
        }
        if (!gi) { st = rt_last_status(); break; }
        if (x->ndim == 1) {   /* drop the unit dim: [..., 1, K] / [..., K, 1] -> [..., K] */
            int64_t s[RT_MAXDIM];
            int nd = gi->ndim - 1;
            for (int d = 0; d < nd - 1; d++) s[d] = gi->shape[d];
            s[nd - 1] = x->shape[0];
            rt_tensor *v = nn_view(gi, nd, s);
            rt_release(gi);
            if (!(gi = v)) { st = rt_last_status(); break; }
        }
        r = rt_reduce_to_shape(gi, x->ndim, x->shape);
        rt_release(gi);
        if (!r) { st = rt_last_status(); break; }
        grads[i] = r;
    }
done:
    rt_release(a); rt_release(b); rt_release(g); rt_release(g2);
    return st;
}
static const rt_op_desc MATMUL = {"matmul", matmul_backward, NULL};

rt_tensor *rt_matmul(rt_tensor *a, rt_tensor *b) {
    char sa[96], sb[96];
    if (a->ndim == 0 || b->ndim == 0) {
        rt_errorf(RT_ESHAPE, "matmul: %s x %s: both arguments need at least 1 dim",
                  rt_shape_str(a, sa, sizeof sa), rt_shape_str(b, sb, sizeof sb));
        return NULL;
    }
    if (!nn_need_f32("matmul", "first argument", a) || !nn_need_f32("matmul", "second argument", b))
        return NULL;
    if (a->shape[a->ndim - 1] != b->shape[b->ndim >= 2 ? b->ndim - 2 : 0]) {
        rt_errorf(RT_ESHAPE, "matmul: %s x %s: inner sizes differ", rt_shape_str(a, sa, sizeof sa),
                  rt_shape_str(b, sb, sizeof sb));
        return NULL;
    }
    rt_tensor *am = as_mat(a, true), *bm = as_mat(b, false), *out = NULL;
    if (am && bm) out = mm_compute("matmul", am, bm);
    rt_release(am); rt_release(bm);
    if (!out) return NULL;
    if (a->ndim == 1 || b->ndim == 1) {   /* drop the dims the 1-D operands added */
        int64_t s[RT_MAXDIM];
        int nd = 0;
        for (int d = 0; d < out->ndim - 2; d++) s[nd++] = out->shape[d];
        if (a->ndim > 1) s[nd++] = out->shape[out->ndim - 2];
        if (b->ndim > 1) s[nd++] = out->shape[out->ndim - 1];
        rt_tensor *v = nn_view(out, nd, s);
        rt_release(out);
        if (!(out = v)) return NULL;
    }
    rt_tensor *in[2] = {a, b};
    rt_node_attach(out, &MATMUL, 2, in);
    return out;
}

/* ---- linear ---- */

/* rows and row stride when t's leading dims collapse onto rows of its last dim. */
static bool rows_of(const rt_tensor *t, int64_t *rows, int64_t *ld) {
    int n = t->ndim;
    int64_t cols = t->shape[n - 1];
    if (cols != 1 && t->stride[n - 1] != 1) return false;
    int64_t r = 1, st = -1;
    for (int d = n - 2; d >= 0; d--) {
        if (t->shape[d] == 1) continue;
        if (st < 0) { st = t->stride[d]; r = t->shape[d]; if (st < cols) return false; continue; }
        if (t->stride[d] != st * r) return false;
        r *= t->shape[d];
    }
    *rows = r;
    *ld = st < 0 ? cols : st;
    return true;
}

static rt_status linear_backward(rt_node *n, rt_tensor *go, rt_tensor **grads, const bool *needs) {
    rt_tensor *x = n->inputs[0], *w = n->inputs[1];
    int64_t in = x->shape[x->ndim - 1], outf = w->shape[0];
    rt_tensor *g = nn_f32c(go);
    if (!g) return rt_last_status();
    int64_t R = rt_numel(g) / (outf ? outf : 1);
    const float *pg = rt_f32(g);
    rt_status st = RT_OK;
    matdesc mw;
    rt_tensor *wc = NULL;
    if (!mat_of(outf, in, w->stride[0], w->stride[1], &mw)) {
        if (!(wc = rt_tensor_contiguous(w))) { rt_release(g); return rt_last_status(); }
        w = wc; mat_of(outf, in, w->stride[0], w->stride[1], &mw);
    }
    if (needs[0]) {   /* gx [R, in] = g [R, out] · w [out, in] */
        rt_tensor *gx = rt_tensor_empty(RT_F32, x->ndim, x->shape);
        if (!gx) { st = rt_last_status(); goto done; }
        rt_sgemm(false, mw.t, R, in, outf, 1.0f, pg, outf, rt_f32(w), mw.ld, 0.0f, rt_f32(gx), in);
        grads[0] = gx;
    }
    if (needs[1]) {   /* gw [out, in] = gᵀ · x */
        int64_t rows, ld;
        rt_tensor *xc = NULL, *xx = x;
        if (!rows_of(x, &rows, &ld)) {
            if (!(xc = rt_tensor_contiguous(x))) { st = rt_last_status(); goto done; }
            xx = xc; rows_of(xx, &rows, &ld);
        }
        rt_tensor *gw = rt_tensor_empty(RT_F32, 2, n->inputs[1]->shape);
        if (!gw) { rt_release(xc); st = rt_last_status(); goto done; }
        rt_sgemm(true, false, outf, in, R, 1.0f, pg, outf, rt_f32(xx), ld, 0.0f, rt_f32(gw), in);
        rt_release(xc);
        grads[1] = gw;
    }
    if (n->n_inputs > 2 && needs[2]) {   /* gb = Σ_rows g */
        rt_tensor *gb = rt_tensor_empty(RT_F32, 1, &outf);
        if (!gb) { st = rt_last_status(); goto done; }
        rt_k_sum_rows_f32(rt_f32(gb), pg, R, outf);
        grads[2] = gb;
    }
done:
    rt_release(wc); rt_release(g);
    return st;
}
static const rt_op_desc LINEAR = {"linear", linear_backward, NULL};

rt_tensor *rt_linear(rt_tensor *x, rt_tensor *w, rt_tensor *b) {
    char sx[96], sw[96], sb[96];
    if (!nn_need_f32("linear", "input", x) || !nn_need_f32("linear", "weight", w) ||
        (b && !nn_need_f32("linear", "bias", b)))
        return NULL;
    if (x->ndim < 1 || w->ndim != 2 || x->shape[x->ndim - 1] != w->shape[1]) {
        rt_errorf(RT_ESHAPE, "linear: input %s and weight %s: expected weight [out, %lld]",
                  rt_shape_str(x, sx, sizeof sx), rt_shape_str(w, sw, sizeof sw),
                  (long long)(x->ndim ? x->shape[x->ndim - 1] : 0));
        return NULL;
    }
    int64_t in = w->shape[1], outf = w->shape[0];
    if (b && (b->ndim != 1 || b->shape[0] != outf)) {
        rt_errorf(RT_ESHAPE, "linear: bias %s does not match weight %s (expected [%lld])",
                  rt_shape_str(b, sb, sizeof sb), rt_shape_str(w, sw, sizeof sw), (long long)outf);
        return NULL;
    }
    int64_t rows, ld;
    rt_tensor *xc = NULL, *xx = x, *wc = NULL, *bc = NULL, *out = NULL;
    if (!rows_of(x, &rows, &ld)) {
        if (!(xc = rt_tensor_contiguous(x))) return NULL;
        xx = xc; rows_of(xx, &rows, &ld);
    }
    matdesc mw;
    if (!mat_of(outf, in, w->stride[0], w->stride[1], &mw)) {
        if (!(wc = rt_tensor_contiguous(w))) goto done;
        mat_of(outf, in, wc->stride[0], wc->stride[1], &mw);
    }
    if (b && !(bc = rt_tensor_contiguous(b))) goto done;
    if (!rt_gemm_fits(rows, outf, in, ld, mw.ld, outf)) {
        rt_errorf(RT_ESHAPE, "linear: input %s too large for the GEMM backend", rt_shape_str(x, sx, sizeof sx));
        goto done;
    }
    int64_t os[RT_MAXDIM];
    for (int d = 0; d < x->ndim - 1; d++) os[d] = x->shape[d];
    os[x->ndim - 1] = outf;
    if (!(out = rt_tensor_empty(RT_F32, x->ndim, os))) goto done;
    float *po = rt_f32(out);
    /* y = x · wᵀ: op(B) = wᵀ, i.e. transpose flag set when w is row-major [out, in] */
    rt_sgemm(false, !mw.t, rows, outf, in, 1.0f, rt_f32(xx), ld, rt_f32(wc ? wc : w), mw.ld, 0.0f, po, outf);
    if (bc) rt_k_add_rows_f32(po, rt_f32(bc), rows, outf);
    rt_tensor *inputs[3] = {x, w, b};
    rt_node_attach(out, &LINEAR, b ? 3 : 2, inputs);
done:
    rt_release(xc); rt_release(wc); rt_release(bc);
    return out;
}
