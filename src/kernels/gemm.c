/* gemm.c — GEMM entry points over OpenBLAS (OpenMP build). See gemm.h. */
#include "gemm.h"

#include <cblas.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include "vmath.h"
#include "lowp.h"

void openblas_set_num_threads(int n);   /* from libopenblas (OpenMP build) */

void rt_gemm_set_threads(int n) { openblas_set_num_threads(n > 0 ? n : omp_get_num_procs()); }

bool rt_gemm_fits(int64_t M, int64_t N, int64_t K, int64_t lda, int64_t ldb, int64_t ldc) {
    return M >= 0 && N >= 0 && K >= 0 && M <= INT_MAX && N <= INT_MAX && K <= INT_MAX &&
           lda <= INT_MAX && ldb <= INT_MAX && ldc <= INT_MAX;
}

void rt_sgemm_raw_blas(bool ta, bool tb, int M, int N, int K, float alpha, const float *A,
                       int lda, const float *B, int ldb, float beta, float *C, int ldc) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

/* C = beta*C for the degenerate K == 0 case (BLAS would do it too, but keep
 * beta == 0 NaN-safe and avoid backend quirks with empty inputs). */
static void scale_c(int64_t M, int64_t N, float beta, float *C, int64_t ldc) {
    for (int64_t i = 0; i < M; i++) {
        float *c = C + i * ldc;
        if (beta == 0.0f) memset(c, 0, (size_t)N * sizeof(float));
        else for (int64_t j = 0; j < N; j++) c[j] *= beta;
    }
}

static bool autocast_bf16;
void rt_gemm_set_autocast_bf16(bool on) { autocast_bf16 = on; }
bool rt_gemm_autocast_bf16(void) { return autocast_bf16; }

void rt_sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
              const float *A, int64_t lda, const float *B, int64_t ldb,
              float beta, float *C, int64_t ldc) {
    if (autocast_bf16 && !omp_in_parallel()) {
        rt_sgemm_bf16(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    rt_sgemm_f32(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void rt_sgemm_f32(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                  const float *A, int64_t lda, const float *B, int64_t ldb,
                  float beta, float *C, int64_t ldc) {
    if (M == 0 || N == 0) return;
    if (K == 0 || alpha == 0.0f) { scale_c(M, N, beta, C, ldc); return; }
    /* BLAS requires lda >= max(1, cols); a leading dim is irrelevant when the
     * matrix has one row, so fix degenerate strides from views. */
    int64_t acols = ta ? M : K, bcols = tb ? K : N;
    if (lda < acols) lda = acols;
    if (ldb < bcols) ldb = bcols;
    if (ldc < N) ldc = N;
    rt_sgemm_raw_blas(ta, tb, (int)M, (int)N, (int)K, alpha, A, (int)lda, B, (int)ldb,
                      beta, C, (int)ldc);
}

void rt_sgemm_serial(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                     const float *A, int64_t lda, const float *B, int64_t ldb,
                     float beta, float *C, int64_t ldc) {
    rt_sgemm_f32(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);   /* see gemm.h */
}

void rt_sgemm_strided(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                      const float *A, int64_t lda, int64_t sa,
                      const float *B, int64_t ldb, int64_t sb,
                      float beta, float *C, int64_t ldc, int64_t sc, int64_t batch) {
    if (batch <= 0) return;
    if (sc == 0) {   /* accumulate all items into one C */
        for (int64_t i = 0; i < batch; i++)
            rt_sgemm(ta, tb, M, N, K, alpha, A + i * sa, lda, B + i * sb, ldb,
                     i == 0 ? beta : 1.0f, C, ldc);
        return;
    }
    /* B shared and A items stacked contiguously without transpose: one big GEMM. */
    if (sb == 0 && !ta && batch > 1 && sa == M * lda && sc == M * ldc && lda == K && ldc == N) {
        rt_sgemm(false, tb, M * batch, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    enum { CHUNK = 256 };
    const float *pa[CHUNK], *pb[CHUNK];
    float *pc[CHUNK];
    for (int64_t i0 = 0; i0 < batch; i0 += CHUNK) {
        int64_t n = batch - i0 < CHUNK ? batch - i0 : CHUNK;
        for (int64_t i = 0; i < n; i++) {
            pa[i] = A + (i0 + i) * sa; pb[i] = B + (i0 + i) * sb; pc[i] = C + (i0 + i) * sc;
        }
        rt_sgemm_batch(ta, tb, M, N, K, alpha, pa, lda, pb, ldb, beta, pc, ldc, n);
    }
}

#ifdef RT_VW
/* ---- small GEMMs spread across threads (attention heads) ----
 * BLAS must not run inside an OpenMP parallel region, and OpenBLAS spends most
 * of a 128x128x64 product on threading and packing overhead; so a batch of
 * small products runs here, one item per thread at a time, with a packed
 * register-blocked kernel: MR x NR = 6 x (2 vectors) accumulators. */
#define MR 6
#define NR (2 * RT_VW)
#define SMALL_MAX_K 1024

/* Bp[panel][k][NR] = op(B)[k][panel*NR + j], zero-padded */
static void pack_b(bool tb, int64_t K, int64_t N, const float *B, int64_t ldb, float *bp) {
    for (int64_t j0 = 0; j0 < N; j0 += NR) {
        int64_t nr = N - j0 < NR ? N - j0 : NR;
        float *dst = bp + j0 * K;
        for (int64_t k = 0; k < K; k++) {
            float *d = dst + k * NR;
            if (!tb) {
                const float *src = B + k * ldb + j0;
                for (int64_t j = 0; j < nr; j++) d[j] = src[j];
            } else {
                const float *src = B + j0 * ldb + k;
                for (int64_t j = 0; j < nr; j++) d[j] = src[j * ldb];
            }
            for (int64_t j = nr; j < NR; j++) d[j] = 0.0f;
        }
    }
}

static void ukernel(int64_t K, const float *const *a, int64_t ak, const float *bp, float alpha,
                    float beta, float *C, int64_t ldc, int64_t mr, int64_t nr) {
    rt_vf c00 = rt_vset1(0.0f), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
          c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (int64_t k = 0; k < K; k++) {
        rt_vf b0 = rt_vload(bp + k * NR), b1 = rt_vload(bp + k * NR + RT_VW), v;
        int64_t o = k * ak;
        v = rt_vset1(a[0][o]); c00 = rt_vfma(v, b0, c00); c01 = rt_vfma(v, b1, c01);
        v = rt_vset1(a[1][o]); c10 = rt_vfma(v, b0, c10); c11 = rt_vfma(v, b1, c11);
        v = rt_vset1(a[2][o]); c20 = rt_vfma(v, b0, c20); c21 = rt_vfma(v, b1, c21);
        v = rt_vset1(a[3][o]); c30 = rt_vfma(v, b0, c30); c31 = rt_vfma(v, b1, c31);
        v = rt_vset1(a[4][o]); c40 = rt_vfma(v, b0, c40); c41 = rt_vfma(v, b1, c41);
        v = rt_vset1(a[5][o]); c50 = rt_vfma(v, b0, c50); c51 = rt_vfma(v, b1, c51);
    }
    rt_vf acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    rt_vf va = rt_vset1(alpha), vb = rt_vset1(beta);
    if (mr == MR && nr == NR) {
        for (int r = 0; r < MR; r++) {
            float *c = C + r * ldc;
            rt_vf x0 = rt_vmul(acc[r][0], va), x1 = rt_vmul(acc[r][1], va);
            if (beta != 0.0f) {
                x0 = rt_vfma(rt_vload(c), vb, x0);
                x1 = rt_vfma(rt_vload(c + RT_VW), vb, x1);
            }
            rt_vstore(c, x0);
            rt_vstore(c + RT_VW, x1);
        }
        return;
    }
    float tile[MR * NR];
    for (int r = 0; r < MR; r++) { rt_vstore(tile + r * NR, acc[r][0]); rt_vstore(tile + r * NR + RT_VW, acc[r][1]); }
    for (int64_t r = 0; r < mr; r++)
        for (int64_t j = 0; j < nr; j++) {
            float *c = C + r * ldc + j;
            *c = alpha * tile[r * NR + j] + (beta != 0.0f ? beta * *c : 0.0f);
        }
}

/* One small GEMM with this thread's packing buffer (bp: K * roundup(N, NR)). */
static void small_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                       const float *A, int64_t lda, const float *B, int64_t ldb,
                       float beta, float *C, int64_t ldc, float *bp) {
    pack_b(tb, K, N, B, ldb, bp);
    int64_t rs = ta ? 1 : lda, ak = ta ? lda : 1;   /* op(A)[i][k] = A[i*rs + k*ak] */
    for (int64_t i0 = 0; i0 < M; i0 += MR) {
        int64_t mr = M - i0 < MR ? M - i0 : MR;
        const float *a[MR];
        for (int64_t r = 0; r < MR; r++) a[r] = A + (i0 + (r < mr ? r : mr - 1)) * rs;
        for (int64_t j0 = 0; j0 < N; j0 += NR)
            ukernel(K, a, ak, bp + j0 * K, alpha, beta, C + i0 * ldc + j0, ldc, mr,
                    N - j0 < NR ? N - j0 : NR);
    }
}
#endif

void rt_sgemm_batch(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                    const float *const *A, int64_t lda, const float *const *B, int64_t ldb,
                    float beta, float *const *C, int64_t ldc, int64_t batch) {
#ifdef RT_VW
    int nt = omp_get_max_threads();
    bool small = M > 0 && N > 0 && K > 0 && K <= SMALL_MAX_K && M * N * K <= (int64_t)1 << 22;
    if (small && nt > 1 && batch >= 2 * nt && !omp_in_parallel()) {
        int64_t npad = (N + NR - 1) / NR * NR;
#pragma omp parallel
        {
            float *bp = malloc((size_t)(K * npad) * sizeof(float));
#pragma omp for schedule(static)
            for (int64_t i = 0; i < batch; i++) {
                if (bp) {
                    small_gemm(ta, tb, M, N, K, alpha, A[i], lda, B[i], ldb, beta, C[i], ldc, bp);
                    continue;
                }
                /* no packing buffer (out of memory): plain loops, still correct */
                for (int64_t r = 0; r < M; r++)
                    for (int64_t j = 0; j < N; j++) {
                        double acc = 0.0;
                        for (int64_t k = 0; k < K; k++)
                            acc += (double)(ta ? A[i][k * lda + r] : A[i][r * lda + k]) *
                                   (tb ? B[i][j * ldb + k] : B[i][k * ldb + j]);
                        float *c = C[i] + r * ldc + j;
                        *c = alpha * (float)acc + (beta != 0.0f ? beta * *c : 0.0f);
                    }
            }
            free(bp);
        }
        return;
    }
#endif
    for (int64_t i = 0; i < batch; i++)
        rt_sgemm(ta, tb, M, N, K, alpha, A[i], lda, B[i], ldb, beta, C[i], ldc);
}
