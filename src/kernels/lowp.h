/* lowp.h — low-precision GEMMs: bf16 (AVX512-BF16 vdpbf16ps) and int8
 * (AVX512-VNNI vpdpbusd), each chosen at run time with a portable fallback of
 * the same numerics:
 *   bf16: inputs rounded to bf16 (round-to-nearest-even), exact products,
 *         fp32 accumulation (the fallback rounds to bf16-valued fp32 and runs
 *         the fp32 GEMM: only the summation order differs);
 *   int8: per-row dynamic activation scales, per-channel weight scales, exact
 *         int32 accumulation (fallback and VNNI give identical bits).
 * The weight operand is packed once (rt_bf16_w / rt_i8_w) for y = x·Wᵀ, W [N,K]
 * as a linear layer stores it. The *_nt kernels are serial and may be called
 * from inside an OpenMP parallel region (each thread takes a column slice
 * [n0, n1) with n0 a multiple of RT_LOWP_NR). */
#ifndef RT_KERNELS_LOWP_H
#define RT_KERNELS_LOWP_H

#include <stdbool.h>
#include <stdint.h>
#include "kernel.h"   /* the kernel rule: read it first */

#define RT_LOWP_NR 32   /* columns per packed panel */

/* CPU features found at run time (cpuid), false when forced portable. */
bool rt_cpu_has_bf16(void);
bool rt_cpu_has_vnni(void);
/* Force the portable paths (tests; also env RETORT_PORTABLE=1 at start). */
void rt_lowp_force_portable(bool on);
bool rt_lowp_portable(void);

/* ---------------------------------------------------------------- bf16 */
typedef struct {
    int64_t N, K, Kp;     /* Kp = K rounded up to even */
    bool native;          /* packed for vdpbf16ps (p) or rounded fp32 (r) */
    uint16_t *p;          /* [ceil(N/NR)][Kp/2][NR][2] */
    float *r;             /* [N, K] bf16-valued fp32 */
} rt_bf16_w;

/* Pack W [N,K] (row stride K). native: for the vdpbf16ps kernel (ignored, false,
 * when the CPU lacks it). */
rt_status rt_bf16_pack(rt_bf16_w *w, const float *W, int64_t N, int64_t K, bool native);
void rt_bf16_free(rt_bf16_w *w);
/* Bytes needed for the converted activation of M rows (rt_k_bf16_rows). */
int64_t rt_bf16_act_size(const rt_bf16_w *w, int64_t M);
/* act = A [M,K] (row stride lda) in the form w's kernel reads (bf16 pairs for
 * native, bf16-valued fp32 otherwise). Serial. */
void rt_k_bf16_rows(void *act, const float *A, int64_t lda, int64_t M, const rt_bf16_w *w);
/* C[M, n0:n1) = act · W[n0:n1)ᵀ (ldc row stride of C). Serial. */
void rt_k_gemm_bf16_nt(float *C, int64_t ldc, const void *act, const rt_bf16_w *w, int64_t M, int64_t n0,
                       int64_t n1);

/* General bf16 GEMM with the rt_sgemm argument order (autocast): op(A), op(B)
 * rounded to bf16 here, fp32 accumulation; parallel inside; never call from a
 * parallel region. */
void rt_sgemm_bf16(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                   const float *B, int64_t ldb, float beta, float *C, int64_t ldc);

/* y[n] = fp32(bf16(x[n])) (y may alias x). */
void rt_k_round_bf16(float *y, const float *x, int64_t n);

/* ---------------------------------------------------------------- fp32, prepacked */
/* The fp32 weights of y = x·Wᵀ packed once ([panel][K][NR]) for an AVX-512 FMA
 * kernel (8 rows x 32 columns), so a small-batch GEMM pays no per-call packing
 * of the weights; where AVX-512 is missing, a plain copy for the fp32 GEMM. */
typedef struct {
    int64_t N, K;
    bool native;
    float *p;             /* native: [ceil(N/NR)][K][NR]; else [N, K] */
} rt_f32_w;

rt_status rt_f32_pack(rt_f32_w *w, const float *W, int64_t N, int64_t K, bool native);
void rt_f32_free(rt_f32_w *w);
/* C[M, n0:n1) = A[M,K] (row stride lda) · W[n0:n1)ᵀ. Serial. */
void rt_k_gemm_f32_nt(float *C, int64_t ldc, const float *A, int64_t lda, const rt_f32_w *w, int64_t M, int64_t n0,
                      int64_t n1);
bool rt_cpu_has_avx512(void);

/* ---------------------------------------------------------------- int8 */
typedef struct {
    int64_t N, K, Kp;     /* Kp = K rounded up to a multiple of 4 */
    bool native;          /* panels for vpdpbusd, else rows [N, Kp] */
    int8_t *q;
    float *scale;         /* [N] = max|W[n,:]| / 127 (1 when the row is 0) */
    int32_t *colsum;      /* [N] = Σ_k q[n,k] (the +128 offset correction) */
} rt_i8_w;

rt_status rt_i8_pack(rt_i8_w *w, const float *W, int64_t N, int64_t K, bool native);
void rt_i8_free(rt_i8_w *w);
/* aq [M, Kp] = round(A / s) + 128 (u8, clamped to [-127,127] first), s[m] =
 * max|A[m,:]| / 127 (1 for a zero row), A [M,K] row stride lda. Serial. */
void rt_k_quant_rows(uint8_t *aq, float *s, const float *A, int64_t lda, int64_t M, int64_t K, int64_t Kp);
/* C[M, n0:n1) = (Σ_k aq·q - 128·colsum) * s[m] * scale[n]. Serial. */
void rt_k_gemm_i8_nt(float *C, int64_t ldc, const uint8_t *aq, const float *s, const rt_i8_w *w, int64_t M,
                     int64_t n0, int64_t n1);

#endif
