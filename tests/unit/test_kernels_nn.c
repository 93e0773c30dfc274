/* test_kernels_nn.c — the raw nn kernels (gemm, softmax, layer_norm, embedding,
 * dropout, losses, attention core) against naive double-precision loops. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "kernels/gemm.h"
#include "kernels/nn.h"
#include "core/rng.h"
#include "core/parallel.h"

static uint64_t lcg = 12345;
static float frand(void) {   /* deterministic U(-1, 1) */
    lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((double)(lcg >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}
static float *rnd(int64_t n) {
    float *p = malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++) p[i] = frand();
    return p;
}
static void close_to(const float *a, const double *b, int64_t n, double tol) {
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (!(d <= tol * (1.0 + fabs(b[i])))) {
            print_error("element %lld: %.9g vs %.9g\n", (long long)i, a[i], b[i]);
            fail();
        }
    }
}

/* naive C = alpha op(A) op(B) + beta C in double */
static void ref_gemm(bool ta, bool tb, int M, int N, int K, double alpha, const float *A, int lda,
                     const float *B, int ldb, double beta, const float *C0, int ldc, double *out) {
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < K; k++)
                s += (double)(ta ? A[k * lda + i] : A[i * lda + k]) * (tb ? B[j * ldb + k] : B[k * ldb + j]);
            out[i * N + j] = alpha * s + (beta != 0 ? beta * C0[i * ldc + j] : 0);
        }
}

static void test_gemm(void **st) {
    int M = 37, N = 29, K = 41;
    for (int f = 0; f < 4; f++) {
        bool ta = f & 1, tb = f & 2;
        int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 2, ldc = N + 5;
        float *A = rnd((ta ? K : M) * lda), *B = rnd((tb ? N : K) * ldb), *C = rnd(M * ldc);
        double *ref = malloc(sizeof(double) * M * N);
        ref_gemm(ta, tb, M, N, K, 0.5, A, lda, B, ldb, 2.0, C, ldc, ref);
        rt_sgemm(ta, tb, M, N, K, 0.5f, A, lda, B, ldb, 2.0f, C, ldc);
        for (int i = 0; i < M; i++) close_to(C + i * ldc, ref + i * N, N, 1e-5);
        free(A); free(B); free(C); free(ref);
    }
    /* beta == 0 ignores NaN in C */
    float a[4] = {1, 2, 3, 4}, b[4] = {1, 0, 0, 1}, c[4] = {NAN, NAN, NAN, NAN};
    rt_sgemm(false, false, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2);
    double e[4] = {1, 2, 3, 4};
    close_to(c, e, 4, 0);
}

static void test_gemm_batched(void **st) {
    int M = 8, N = 6, K = 5, nb = 7;
    float *A = rnd(nb * M * K), *B = rnd(K * N), *C = rnd(nb * M * N), *Cs = calloc(M * N, 4);
    double *ref = malloc(sizeof(double) * M * N);
    /* shared B (broadcast), stacked A: goes through the one-big-GEMM path */
    rt_sgemm_strided(false, false, M, N, K, 1.0f, A, K, M * K, B, N, 0, 0.0f, C, N, M * N, nb);
    for (int i = 0; i < nb; i++) {
        ref_gemm(false, false, M, N, K, 1, A + i * M * K, K, B, N, 0, NULL, N, ref);
        close_to(C + i * M * N, ref, M * N, 1e-5);
    }
    /* transposed A with sc == 0: sum of Aᵢᵀ·Cᵢ into one [K, N] */
    rt_sgemm_strided(true, false, K, N, M, 1.0f, A, K, M * K, C, N, M * N, 0.0f, Cs, N, 0, nb);
    double *acc = calloc(K * N, sizeof(double)), *one = malloc(sizeof(double) * K * N);
    for (int i = 0; i < nb; i++) {
        ref_gemm(true, false, K, N, M, 1, A + i * M * K, K, C + i * M * N, N, 0, NULL, N, one);
        for (int j = 0; j < K * N; j++) acc[j] += one[j];
    }
    close_to(Cs, acc, K * N, 1e-4);
    free(A); free(B); free(C); free(Cs); free(ref); free(acc); free(one);
    /* pointer batch of small products (the threaded packed kernel), every
     * transpose combination, odd sizes (partial tiles), alpha and beta */
    enum { PB = 9, PM = 13, PN = 37, PK = 19 };
    for (int f = 0; f < 4; f++) {
        bool ta = f & 1, tb = f & 2;
        int lda = (ta ? PM : PK) + 1, ldb = (tb ? PK : PN) + 3, ldc = PN + 2;
        const float *pa[PB], *pb[PB];
        float *pc[PB];
        double *want = malloc(sizeof(double) * PM * PN);
        for (int i = 0; i < PB; i++) {
            pa[i] = rnd((ta ? PK : PM) * lda); pb[i] = rnd((tb ? PN : PK) * ldb); pc[i] = rnd(PM * ldc);
        }
        float *c0 = malloc(sizeof(float) * PM * ldc);
        memcpy(c0, pc[4], sizeof(float) * PM * ldc);
        rt_sgemm_batch(ta, tb, PM, PN, PK, 0.75f, pa, lda, pb, ldb, 0.5f, pc, ldc, PB);
        ref_gemm(ta, tb, PM, PN, PK, 0.75, pa[4], lda, pb[4], ldb, 0.5, c0, ldc, want);
        for (int r = 0; r < PM; r++) close_to(pc[4] + r * ldc, want + r * PN, PN, 1e-5);
        for (int i = 0; i < PB; i++) { free((void *)pa[i]); free((void *)pb[i]); free(pc[i]); }
        free(want); free(c0);
    }
}

static void ref_softmax(const float *x, double *y, int outer, int n, int inner, bool lg) {
    for (int o = 0; o < outer; o++)
        for (int c = 0; c < inner; c++) {
            double m = -INFINITY, s = 0;
            for (int j = 0; j < n; j++) m = fmax(m, x[(o * n + j) * inner + c]);
            for (int j = 0; j < n; j++) s += exp(x[(o * n + j) * inner + c] - m);
            for (int j = 0; j < n; j++) {
                double v = x[(o * n + j) * inner + c] - m;
                y[(o * n + j) * inner + c] = lg ? v - log(s) : exp(v) / s;
            }
        }
}

static void test_softmax(void **st) {
    int shapes[][3] = {{5, 33, 1}, {3, 7, 5}, {2, 300, 1}, {2, 4, 70}};
    for (int s = 0; s < 4; s++)
        for (int lg = 0; lg < 2; lg++) {
            int o = shapes[s][0], n = shapes[s][1], in = shapes[s][2], tot = o * n * in;
            float *x = rnd(tot), *y = malloc(4 * tot), *gy = rnd(tot), *gx = malloc(4 * tot);
            for (int i = 0; i < tot; i++) x[i] *= 8;
            double *ref = malloc(8 * tot), *gref = malloc(8 * tot);
            ref_softmax(x, ref, o, n, in, lg);
            rt_k_softmax(y, x, o, n, in, lg);
            close_to(y, ref, tot, 2e-6);
            /* backward: naive Jacobian-vector product */
            for (int a = 0; a < o; a++)
                for (int c = 0; c < in; c++) {
                    double sum = 0;
                    for (int j = 0; j < n; j++) {
                        int k = (a * n + j) * in + c;
                        sum += lg ? gy[k] : gy[k] * ref[k];
                    }
                    for (int j = 0; j < n; j++) {
                        int k = (a * n + j) * in + c;
                        gref[k] = lg ? gy[k] - exp(ref[k]) * sum : ref[k] * (gy[k] - sum);
                    }
                }
            rt_k_softmax_bwd(gx, y, gy, o, n, in, lg);
            close_to(gx, gref, tot, 1e-5);
            rt_k_softmax_bwd(gy, y, gy, o, n, in, lg);     /* in place */
            close_to(gy, gref, tot, 1e-5);
            free(x); free(y); free(gy); free(gx); free(ref); free(gref);
        }
    /* large logits: stable */
    float big[3] = {1000, 1001, 1002}, out[3];
    rt_k_softmax(out, big, 1, 3, 1, false);
    double e[3] = {0.09003057, 0.24472847, 0.66524096};
    close_to(out, e, 3, 1e-6);
}

static void test_layer_norm(void **st) {
    int R = 9, n = 50;
    float *x = rnd(R * n), *w = rnd(n), *b = rnd(n), *y = malloc(4 * R * n), *mean = malloc(4 * R),
          *rstd = malloc(4 * R), *gy = rnd(R * n), *gx = malloc(4 * R * n), *gw = malloc(4 * n),
          *gb = malloc(4 * n);
    double *ry = malloc(8 * R * n), *rgx = malloc(8 * R * n), *rgw = calloc(n, 8), *rgb = calloc(n, 8);
    double eps = 1e-5;
    for (int r = 0; r < R; r++) {
        double mu = 0, v = 0;
        for (int j = 0; j < n; j++) mu += x[r * n + j];
        mu /= n;
        for (int j = 0; j < n; j++) v += pow(x[r * n + j] - mu, 2);
        v /= n;
        double rs = 1 / sqrt(v + eps), a = 0, c = 0;
        for (int j = 0; j < n; j++) {
            double xh = (x[r * n + j] - mu) * rs;
            ry[r * n + j] = xh * w[j] + b[j];
            rgw[j] += gy[r * n + j] * xh; rgb[j] += gy[r * n + j];
            a += gy[r * n + j] * w[j]; c += gy[r * n + j] * w[j] * xh;
        }
        for (int j = 0; j < n; j++) {
            double xh = (x[r * n + j] - mu) * rs;
            rgx[r * n + j] = rs * (gy[r * n + j] * w[j] - a / n - xh * c / n);
        }
    }
    rt_k_layer_norm(y, mean, rstd, x, w, b, R, n, (float)eps);
    close_to(y, ry, R * n, 1e-5);
    assert_int_equal(rt_k_layer_norm_bwd(gx, gw, gb, gy, x, w, mean, rstd, R, n), RT_OK);
    close_to(gx, rgx, R * n, 1e-4);
    close_to(gw, rgw, n, 1e-5);
    close_to(gb, rgb, n, 1e-5);
    free(x); free(w); free(b); free(y); free(mean); free(rstd); free(gy); free(gx); free(gw); free(gb);
    free(ry); free(rgx); free(rgw); free(rgb);
}

static void test_embedding(void **st) {
    int V = 11, D = 37, n = 25;
    float *w = rnd(V * D), *out = malloc(4 * n * D), *gy = rnd(n * D), *gw = calloc(V * D, 4);
    int64_t ids[25];
    int32_t ids32[25];
    for (int i = 0; i < n; i++) ids32[i] = (int32_t)(ids[i] = (i * 7) % V);
    assert_int_equal(rt_k_embedding_check(ids, NULL, n, V), -1);
    ids[3] = V;
    assert_int_equal(rt_k_embedding_check(ids, NULL, n, V), 3);
    ids[3] = 3 * 7 % V;
    ids32[4] = -1;
    assert_int_equal(rt_k_embedding_check(NULL, ids32, n, V), 4);
    ids32[4] = (int32_t)ids[4];
    rt_k_embedding(out, w, NULL, ids32, n, D);
    double *ref = calloc(V * D, 8), *ro = malloc(8 * n * D);
    for (int i = 0; i < n; i++)
        for (int d = 0; d < D; d++) { ro[i * D + d] = w[ids[i] * D + d]; ref[ids[i] * D + d] += gy[i * D + d]; }
    close_to(out, ro, n * D, 0);
    rt_k_embedding_bwd(gw, gy, ids, NULL, n, D);
    close_to(gw, ref, V * D, 1e-6);
    free(w); free(out); free(gy); free(gw); free(ref); free(ro);
}

static void test_dropout(void **st) {
    int64_t n = 100003;
    float *x = rnd(n), *y1 = malloc(4 * n), *y2 = malloc(4 * n);
    float p = 0.3f;
    uint64_t seed = 42, base = 1000;
    rt_set_threads(1);
    rt_k_dropout(y1, x, n, p, seed, base);
    rt_set_threads(2);
    rt_k_dropout(y2, x, n, p, seed, base);
    assert_memory_equal(y1, y2, 4 * n);       /* thread-count independent */
    int64_t kept = 0;
    for (int64_t i = 0; i < n; i++) {
        bool k = rt_rng_uniform(seed, base, (uint64_t)i) >= p;   /* core's stream */
        assert_int_equal(k, rt_k_dropout_keep(seed, base, (uint64_t)i, p));
        float want = k ? x[i] / (1 - p) : 0.0f;
        if (fabsf(y1[i] - want) > 1e-6f * (1 + fabsf(want))) fail_msg("dropout element %lld", (long long)i);
        kept += k;
    }
    double frac = (double)kept / (double)n;
    assert_true(frac > 0.69 && frac < 0.71);
    /* odd base and in-place use give the same as out-of-place */
    memcpy(y2, x, 4 * n);
    rt_k_dropout(y2, y2, n, p, seed, base);
    assert_memory_equal(y1, y2, 4 * n);
    free(x); free(y1); free(y2);
}

static void test_cross_entropy(void **st) {
    int N = 7, C = 13;
    float *x = rnd(N * C), loss[7], lse[7], *gx = malloc(4 * N * C), gs[7];
    int64_t lab[7] = {0, 12, -100, 5, 3, -100, 7};
    for (int i = 0; i < N * C; i++) x[i] *= 5;
    double total = -1;
    int64_t cnt = rt_k_cross_entropy(loss, lse, &total, x, lab, N, C, -100);
    assert_int_equal(cnt, 5);
    double want = 0;
    for (int r = 0; r < N; r++) want += loss[r];
    assert_true(total == want);
    double rl[7], rg[7 * 13];
    for (int r = 0; r < N; r++) {
        double m = -INFINITY, s = 0;
        for (int j = 0; j < C; j++) m = fmax(m, x[r * C + j]);
        for (int j = 0; j < C; j++) s += exp(x[r * C + j] - m);
        double l = m + log(s);
        rl[r] = lab[r] == -100 ? 0 : l - x[r * C + lab[r]];
        gs[r] = 0.5f + (float)r;
        for (int j = 0; j < C; j++)
            rg[r * C + j] = lab[r] == -100 ? 0 : gs[r] * (exp(x[r * C + j] - l) - (j == lab[r]));
    }
    close_to(loss, rl, N, 1e-5);
    rt_k_cross_entropy_bwd(gx, gs, 1, x, lse, lab, N, C, -100);
    close_to(gx, rg, N * C, 1e-5);
    lab[1] = 13;
    assert_int_equal(rt_k_cross_entropy(loss, lse, NULL, x, lab, N, C, -100), -1);
    assert_non_null(strstr(rt_last_error(), "label 13"));
    free(x); free(gx);
}

static void test_soft_cross_entropy(void **st) {
    int N = 6, C = 9;
    double T = 2.0;
    float *s = rnd(N * C), *t = rnd(N * C), *g = malloc(4 * N * C);
    double tot = 0, rg[54];
    for (int r = 0; r < N; r++) {
        double ms = -INFINITY, mt = -INFINITY, ss = 0, stt = 0;
        for (int j = 0; j < C; j++) { ms = fmax(ms, s[r * C + j] / T); mt = fmax(mt, t[r * C + j] / T); }
        for (int j = 0; j < C; j++) { ss += exp(s[r * C + j] / T - ms); stt += exp(t[r * C + j] / T - mt); }
        for (int j = 0; j < C; j++) {
            double pt = exp(t[r * C + j] / T - mt) / stt, ls = s[r * C + j] / T - ms - log(ss);
            tot += -pt * ls;
            rg[r * C + j] = 3.0 * (exp(ls) - pt) / (T * N * C);
        }
    }
    assert_true(fabs(rt_k_soft_cross_entropy(s, t, N, C, T) - tot / (N * C)) < 1e-6);
    rt_k_soft_cross_entropy_bwd(g, s, t, N, C, T, 3.0f);
    close_to(g, rg, N * C, 1e-5);
    free(s); free(t); free(g);
}

/* attention core: q and v in [B,S,H,D] storage (strided heads), k contiguous */
static void test_attention(void **st) {
    enum { B = 2, H = 3, S = 5, D = 4 };
    for (int use_rel = 0; use_rel < 2; use_rel++) {
        float *qs = rnd(B * S * H * D), *ks = rnd(B * H * S * D), *vs = rnd(B * S * H * D);
        float *rel = use_rel ? rnd(S * S * D) : NULL, *mask = rnd(B * S);
        float scale = 0.5f;
        rt_heads q = {qs, S * H * D, D, H * D}, k = {ks, H * S * D, S * D, D}, v = {vs, S * H * D, D, H * D};
        rt_mask4 m = {mask, S, 0, 0, 1};
#define Q(b, h, i, d) qs[(((b) * S + (i)) * H + (h)) * D + (d)]
#define K(b, h, i, d) ks[(((b) * H + (h)) * S + (i)) * D + (d)]
#define V(b, h, i, d) vs[(((b) * S + (i)) * H + (h)) * D + (d)]
#define R(i, j, d) (rel ? rel[((i) * S + (j)) * D + (d)] : 0.0f)
        float sc[B * H * S * S];
        double ref[B * H * S * S];
        for (int b = 0; b < B; b++) for (int h = 0; h < H; h++)
            for (int i = 0; i < S; i++) for (int j = 0; j < S; j++) {
                double a = 0;
                for (int d = 0; d < D; d++) a += (double)Q(b, h, i, d) * (K(b, h, j, d) + R(i, j, d));
                ref[((b * H + h) * S + i) * S + j] = a * scale + mask[b * S + j];
            }
        assert_int_equal(rt_k_attn_scores(sc, q, k, rel, m, B, H, S, D, scale), RT_OK);
        close_to(sc, ref, B * H * S * S, 1e-5);
        /* backward */
        float *gs = rnd(B * H * S * S), gq[B * H * S * D], gk[B * H * S * D];
        double rq[B * H * S * D] = {0}, rk[B * H * S * D] = {0};
        for (int b = 0; b < B; b++) for (int h = 0; h < H; h++)
            for (int i = 0; i < S; i++) for (int j = 0; j < S; j++) {
                double g = gs[((b * H + h) * S + i) * S + j] * scale;
                for (int d = 0; d < D; d++) {
                    rq[((b * H + h) * S + i) * D + d] += g * (K(b, h, j, d) + R(i, j, d));
                    rk[((b * H + h) * S + j) * D + d] += g * Q(b, h, i, d);
                }
            }
        assert_int_equal(rt_k_attn_scores_bwd(gq, gk, gs, q, k, rel, B, H, S, D, scale), RT_OK);
        close_to(gq, rq, B * H * S * D, 1e-5);
        close_to(gk, rk, B * H * S * D, 1e-5);
        /* context: p = gs reused as probabilities; ctx stored as [B,S,H,D] */
        float ctx[B * S * H * D], *gc = rnd(B * H * S * D), gp[B * H * S * S], gv[B * H * S * D];
        double rc[B * S * H * D], rgp[B * H * S * S], rgv[B * H * S * D] = {0};
        rt_heads_out co = {ctx, S * H * D, D, H * D};
        for (int b = 0; b < B; b++) for (int h = 0; h < H; h++)
            for (int i = 0; i < S; i++) for (int d = 0; d < D; d++) {
                double a = 0;
                for (int j = 0; j < S; j++) a += (double)gs[((b * H + h) * S + i) * S + j] * (V(b, h, j, d) + R(i, j, d));
                rc[((b * S + i) * H + h) * D + d] = a;
            }
        assert_int_equal(rt_k_attn_context(co, gs, v, rel, B, H, S, D), RT_OK);
        close_to(ctx, rc, B * S * H * D, 1e-5);
        rt_heads g = {gc, H * S * D, S * D, D};
        for (int b = 0; b < B; b++) for (int h = 0; h < H; h++)
            for (int i = 0; i < S; i++) for (int j = 0; j < S; j++) {
                double a = 0;
                for (int d = 0; d < D; d++) {
                    double gcv = gc[((b * H + h) * S + i) * D + d];
                    a += gcv * (V(b, h, j, d) + R(i, j, d));
                    rgv[((b * H + h) * S + j) * D + d] += gs[((b * H + h) * S + i) * S + j] * gcv;
                }
                rgp[((b * H + h) * S + i) * S + j] = a;
            }
        assert_int_equal(rt_k_attn_context_bwd(gp, gv, g, gs, v, rel, B, H, S, D), RT_OK);
        close_to(gp, rgp, B * H * S * S, 1e-5);
        close_to(gv, rgv, B * H * S * D, 1e-5);
        free(qs); free(ks); free(vs); free(rel); free(mask); free(gs); free(gc);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm), cmocka_unit_test(test_gemm_batched),
        cmocka_unit_test(test_softmax), cmocka_unit_test(test_layer_norm),
        cmocka_unit_test(test_embedding), cmocka_unit_test(test_dropout),
        cmocka_unit_test(test_cross_entropy), cmocka_unit_test(test_soft_cross_entropy),
        cmocka_unit_test(test_attention),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
