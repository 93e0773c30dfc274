/* gemm.h — the one GEMM entry point: row-major, transpose flags,
 * alpha/beta, single, strided-batched and pointer-batched. The backend
 * (OpenBLAS cblas_sgemm today; a oneDNN fp32/bf16 path can be added behind the
 * same functions) is chosen inside, per call. Never call these from inside an
 * OpenMP parallel region. Sizes must fit in int (BLAS limits): callers check
 * with rt_gemm_fits(). */
#ifndef RT_KERNELS_GEMM_H
#define RT_KERNELS_GEMM_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel.h"   /* the kernel rule (gemm keeps the BLAS order) */

/* C[M,N] = alpha * op(A)[M,K] · op(B)[K,N] + beta * C.
 * op(A) = A (A is [M,K], lda >= K) or Aᵀ (A is [K,M], lda >= M); same for B.
 * ldc >= N. beta == 0 ignores C's old contents (NaN-safe). */
void rt_sgemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
              const float *A, int64_t lda, const float *B, int64_t ldb,
              float beta, float *C, int64_t ldc);

/* The same in fp32 whatever the autocast setting. */
void rt_sgemm_f32(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                  const float *A, int64_t lda, const float *B, int64_t ldb,
                  float beta, float *C, int64_t ldc);

/* bf16 autocast (rt.autocast): while on, rt_sgemm (the linear layers and
 * matmuls of the autograd ops, forward and backward) runs rt_sgemm_bf16
 * (lowp.h): bf16 inputs, fp32 accumulation and outputs. The batched attention
 * GEMMs and everything outside GEMMs stay fp32. */
void rt_gemm_set_autocast_bf16(bool on);
bool rt_gemm_autocast_bf16(void);

/* Strided batch: item i uses A + i*sa, B + i*sb, C + i*sc. sa or sb may be 0
 * (broadcast). sc == 0 accumulates every item into one C (beta applied once). */
void rt_sgemm_strided(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                      const float *A, int64_t lda, int64_t sa,
                      const float *B, int64_t ldb, int64_t sb,
                      float beta, float *C, int64_t ldc, int64_t sc, int64_t batch);

/* Pointer batch: item i uses A[i], B[i], C[i] (the C[i] must not overlap).
 * Small items are spread across threads (one GEMM per thread at a time). */
void rt_sgemm_batch(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                    const float *const *A, int64_t lda, const float *const *B, int64_t ldb,
                    float beta, float *const *C, int64_t ldc, int64_t batch);

/* One thread's GEMM, callable from inside an OpenMP parallel region (the
 * OpenBLAS OpenMP build runs single-threaded there): the fused inference path
 * (models/infer.c) splits a layer's columns across threads itself. */
void rt_sgemm_serial(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                     const float *A, int64_t lda, const float *B, int64_t ldb,
                     float beta, float *C, int64_t ldc);

/* True when M, N, K and the leading dimensions fit the backend's int sizes. */
bool rt_gemm_fits(int64_t M, int64_t N, int64_t K, int64_t lda, int64_t ldb, int64_t ldc);

/* Threads the backend may use (n <= 0: all cores); core/parallel.h sets OpenMP's. */
void rt_gemm_set_threads(int n);

/* Raw backend call without any retort logic (for benchmarks: "raw sgemm"). */
void rt_sgemm_raw_blas(bool ta, bool tb, int M, int N, int K, float alpha, const float *A,
                       int lda, const float *B, int ldb, float beta, float *C, int ldc);

#endif
