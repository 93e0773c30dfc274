/* f32pack.c — fp32 GEMM over prepacked weights (lowp.h, rt_f32_w): the
 * inference path's fp32 linear layers at small batch, where OpenBLAS spends a
 * quarter of the time packing the weights on every call. */
#include "lowp.h"

#include <stdlib.h>
#include <string.h>
#include "gemm.h"

#define NR RT_LOWP_NR
#define MR 8

bool rt_cpu_has_avx512(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    return !rt_lowp_portable() && __builtin_cpu_supports("avx512f");
#else
    return false;
#endif
}

rt_status rt_f32_pack(rt_f32_w *w, const float *W, int64_t N, int64_t K, bool native) {
    memset(w, 0, sizeof *w);
    w->N = N; w->K = K;
    w->native = native && rt_cpu_has_avx512();
    int64_t np = (N + NR - 1) / NR;
    size_t n = w->native ? (size_t)(np * NR * K) : (size_t)(N * K);
    w->p = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64 + 64);
    if (!w->p) return rt_errorf(RT_ENOMEM, "fp32 pack: out of memory for [%lld, %lld]", (long long)N, (long long)K);
    if (!w->native) { memcpy(w->p, W, (size_t)(N * K) * sizeof(float)); return RT_OK; }
#pragma omp parallel for schedule(static) if (N * K > 65536)
    for (int64_t pan = 0; pan < np; pan++) {
        float *d = w->p + pan * K * NR;
        for (int64_t k = 0; k < K; k++)
            for (int64_t j = 0; j < NR; j++) {
                int64_t c = pan * NR + j;
                d[k * NR + j] = c < N ? W[c * K + k] : 0.0f;
            }
    }
    return RT_OK;
}

void rt_f32_free(rt_f32_w *w) { free(w->p); memset(w, 0, sizeof *w); }

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define TGT __attribute__((target("avx512f")))

static inline __attribute__((always_inline)) TGT void
kern(int mr, float *C, int64_t ldc, const float *a, int64_t lda, const float *bp, int64_t K, int64_t nc) {
    __m512 acc[MR][2];
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) { acc[r][0] = _mm512_setzero_ps(); acc[r][1] = _mm512_setzero_ps(); }
    for (int64_t k = 0; k < K; k++) {
        __m512 b0 = _mm512_load_ps(bp + k * NR), b1 = _mm512_load_ps(bp + k * NR + 16);
#pragma GCC unroll 8
        for (int r = 0; r < MR; r++) {
            if (r >= mr) break;
            __m512 av = _mm512_set1_ps(a[r * lda + k]);
            acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
        }
    }
    __mmask16 m0 = nc >= 16 ? 0xffff : (__mmask16)((1u << nc) - 1);
    __mmask16 m1 = nc >= 32 ? 0xffff : nc <= 16 ? 0 : (__mmask16)((1u << (nc - 16)) - 1);
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
        if (r >= mr) break;
        _mm512_mask_storeu_ps(C + r * ldc, m0, acc[r][0]);
        _mm512_mask_storeu_ps(C + r * ldc + 16, m1, acc[r][1]);
    }
}

static TGT void gemm_native(float *C, int64_t ldc, const float *A, int64_t lda, const rt_f32_w *w, int64_t M,
                            int64_t n0, int64_t n1) {
    int64_t K = w->K;
    /* blocks of MB rows (in L2) x the slice's panels; within a block, 8-row strips */
    enum { MB = 64 };
    for (int64_t b0 = 0; b0 < M; b0 += MB)
    for (int64_t j0 = n0; j0 < n1; j0 += NR)
    for (int64_t i0 = b0; i0 < M && i0 < b0 + MB; i0 += MR) {
        int64_t mr = M - i0 < MR ? M - i0 : MR;
        {
            const float *bp = w->p + (j0 / NR) * K * NR;
            int64_t nc = (n1 < w->N ? n1 : w->N) - j0;
            if (nc > NR) nc = NR;
            float *c = C + i0 * ldc + j0;
            const float *a = A + i0 * lda;
            switch (mr) {
            case 8: kern(8, c, ldc, a, lda, bp, K, nc); break;
            case 7: kern(7, c, ldc, a, lda, bp, K, nc); break;
            case 6: kern(6, c, ldc, a, lda, bp, K, nc); break;
            case 5: kern(5, c, ldc, a, lda, bp, K, nc); break;
            case 4: kern(4, c, ldc, a, lda, bp, K, nc); break;
            case 3: kern(3, c, ldc, a, lda, bp, K, nc); break;
            case 2: kern(2, c, ldc, a, lda, bp, K, nc); break;
            default: kern(1, c, ldc, a, lda, bp, K, nc); break;
            }
        }
    }
}
#endif

void rt_k_gemm_f32_nt(float *C, int64_t ldc, const float *A, int64_t lda, const rt_f32_w *w, int64_t M, int64_t n0,
                      int64_t n1) {
    if (M <= 0 || n1 <= n0) return;
#if defined(__x86_64__) && defined(__GNUC__)
    if (w->native) { gemm_native(C, ldc, A, lda, w, M, n0, n1); return; }
#endif
    rt_sgemm_serial(false, true, M, n1 - n0, w->K, 1.0f, A, lda, w->p + n0 * w->K, w->K, 0.0f, C + n0, ldc);
}
