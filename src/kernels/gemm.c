/* gemm.c — GEMM entry points over OpenBLAS (OpenMP build). See gemm.h. */
#include "gemm.h"

#include <cblas.h>
#include <limits.h>
#include <string.h>
#include <omp.h>

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

void rt_sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
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

void rt_sgemm_batch(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                    const float *const *A, int64_t lda, const float *const *B, int64_t ldb,
                    float beta, float *const *C, int64_t ldc, int64_t batch) {
    for (int64_t i = 0; i < batch; i++)
        rt_sgemm(ta, tb, M, N, K, alpha, A[i], lda, B[i], ldb, beta, C[i], ldc);
}
