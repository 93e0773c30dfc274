/* int8.c — int8 GEMMs (lowp.h): per-row dynamic u8 activations (symmetric
 * int8 + 128, so vpdpbusd's unsigned x signed form applies; the +128 is taken
 * back with the weights' column sums), per-channel symmetric int8 weights,
 * exact int32 accumulation. The VNNI kernel (8 rows x 32 columns) is chosen at
 * run time; the portable loop gives the same integers and the same float
 * epilogue, hence the same bits. */
#include "lowp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NR RT_LOWP_NR
#define MR 8

static int64_t panels(int64_t N) { return (N + NR - 1) / NR; }

rt_status rt_i8_pack(rt_i8_w *w, const float *W, int64_t N, int64_t K, bool native) {
    memset(w, 0, sizeof *w);
    w->N = N; w->K = K; w->Kp = (K + 3) & ~(int64_t)3;
    w->native = native && rt_cpu_has_vnni();
    int64_t rows = w->native ? panels(N) * NR : N;
    w->q = aligned_alloc(64, ((size_t)(rows * w->Kp) + 63) / 64 * 64);
    w->scale = malloc((size_t)N * sizeof(float) + 1);
    w->colsum = malloc((size_t)N * sizeof(int32_t) + 1);
    if (!w->q || !w->scale || !w->colsum) {
        rt_i8_free(w);
        return rt_errorf(RT_ENOMEM, "int8 pack: out of memory for [%lld, %lld]", (long long)N, (long long)K);
    }
    memset(w->q, 0, (size_t)(rows * w->Kp));
#pragma omp parallel for schedule(static) if (N * K > 65536)
    for (int64_t n = 0; n < N; n++) {
        const float *r = W + n * K;
        float amax = 0.0f;
        for (int64_t k = 0; k < K; k++) amax = fmaxf(amax, fabsf(r[k]));
        float s = amax > 0.0f ? amax / 127.0f : 1.0f;
        int32_t cs = 0;
        for (int64_t k = 0; k < K; k++) {
            float v = nearbyintf(r[k] / s);
            int8_t q = (int8_t)(v > 127.0f ? 127 : v < -127.0f ? -127 : v);
            cs += q;
            /* native: [panel][Kp/4][NR][4]; portable: [N][Kp] */
            int64_t at = w->native ? ((n / NR) * (w->Kp / 4) + k / 4) * NR * 4 + (n % NR) * 4 + k % 4
                                   : n * w->Kp + k;
            w->q[at] = q;
        }
        w->scale[n] = s;
        w->colsum[n] = cs;
    }
    return RT_OK;
}

void rt_i8_free(rt_i8_w *w) {
    free(w->q); free(w->scale); free(w->colsum);
    memset(w, 0, sizeof *w);
}

void rt_k_quant_rows(uint8_t *aq, float *s, const float *A, int64_t lda, int64_t M, int64_t K, int64_t Kp) {
    for (int64_t i = 0; i < M; i++) {
        const float *r = A + i * lda;
        float amax = 0.0f;
#pragma omp simd reduction(max : amax)
        for (int64_t k = 0; k < K; k++) { float a = fabsf(r[k]); amax = a > amax ? a : amax; }
        float sc = amax > 0.0f ? amax / 127.0f : 1.0f, inv = 1.0f / sc;
        uint8_t *o = aq + i * Kp;
        /* clamp, then round half to even with the 1.5*2^23 trick (|v| <= 127) */
#pragma omp simd
        for (int64_t k = 0; k < K; k++) {
            float v = r[k] * inv;
            v = v > 127.0f ? 127.0f : v;
            v = v < -127.0f ? -127.0f : v;
            v = (v + 12582912.0f) - 12582912.0f;
            o[k] = (uint8_t)((int32_t)v + 128);
        }
        for (int64_t k = K; k < Kp; k++) o[k] = 128;
        s[i] = sc;
    }
}

/* ---------------------------------------------------------------- portable */

static void gemm_portable(float *C, int64_t ldc, const uint8_t *aq, const float *s, const rt_i8_w *w, int64_t M,
                          int64_t n0, int64_t n1) {
    int64_t Kp = w->Kp;
    for (int64_t i = 0; i < M; i++) {
        const uint8_t *a = aq + i * Kp;
        for (int64_t n = n0; n < n1; n++) {
            const int8_t *q = w->q + n * Kp;
            int32_t acc = 0;
            for (int64_t k = 0; k < Kp; k++) acc += (int32_t)a[k] * (int32_t)q[k];
            C[i * ldc + n] = ((float)(acc - 128 * w->colsum[n]) * s[i]) * w->scale[n];
        }
    }
}

/* ---------------------------------------------------------------- VNNI */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define TGT __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

static inline __attribute__((always_inline)) TGT void
kern(int mr, float *C, int64_t ldc, const uint8_t *a, int64_t Kp, const int8_t *bp, const float *s,
     const float *scale, const int32_t *colsum, int64_t nc) {
    __m512i acc[MR][2];
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) { acc[r][0] = _mm512_setzero_si512(); acc[r][1] = _mm512_setzero_si512(); }
    for (int64_t kq = 0; kq < Kp / 4; kq++) {
        __m512i b0 = _mm512_loadu_si512(bp + kq * NR * 4);
        __m512i b1 = _mm512_loadu_si512(bp + kq * NR * 4 + 64);
#pragma GCC unroll 8
        for (int r = 0; r < MR; r++) {
            if (r >= mr) break;
            int32_t pr;
            memcpy(&pr, a + r * Kp + 4 * kq, 4);
            __m512i av = _mm512_set1_epi32(pr);
            acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], av, b0);
            acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], av, b1);
        }
    }
    __mmask16 m0 = nc >= 16 ? 0xffff : (__mmask16)((1u << nc) - 1);
    __mmask16 m1 = nc >= 32 ? 0xffff : nc <= 16 ? 0 : (__mmask16)((1u << (nc - 16)) - 1);
    __m512i c0 = _mm512_slli_epi32(_mm512_maskz_loadu_epi32(m0, colsum), 7);
    __m512i c1 = _mm512_slli_epi32(_mm512_maskz_loadu_epi32(m1, colsum + 16), 7);
    __m512 w0 = _mm512_maskz_loadu_ps(m0, scale), w1 = _mm512_maskz_loadu_ps(m1, scale + 16);
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
        if (r >= mr) break;
        __m512 sv = _mm512_set1_ps(s[r]);
        __m512 x0 = _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc[r][0], c0)), sv), w0);
        __m512 x1 = _mm512_mul_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(acc[r][1], c1)), sv), w1);
        _mm512_mask_storeu_ps(C + r * ldc, m0, x0);
        _mm512_mask_storeu_ps(C + r * ldc + 16, m1, x1);
    }
}

static TGT void vnni_block(float *C, int64_t ldc, const uint8_t *aq, const float *s, const rt_i8_w *w, int64_t M,
                           int64_t n0, int64_t n1);

/* Blocks of 64 rows (in L2) x the panels of [n0, n1). */
static TGT void gemm_vnni(float *C, int64_t ldc, const uint8_t *aq, const float *s, const rt_i8_w *w, int64_t M,
                          int64_t n0, int64_t n1) {
    for (int64_t b0 = 0; b0 < M; b0 += 64)
        vnni_block(C + b0 * ldc, ldc, aq + b0 * w->Kp, s + b0, w, M - b0 < 64 ? M - b0 : 64, n0, n1);
}

static TGT void vnni_block(float *C, int64_t ldc, const uint8_t *aq, const float *s, const rt_i8_w *w, int64_t M,
                           int64_t n0, int64_t n1) {
    int64_t Kp = w->Kp;
    for (int64_t j0 = n0; j0 < n1; j0 += NR) {
        const int8_t *bp = w->q + (j0 / NR) * (Kp / 4) * NR * 4;
        int64_t nc = (n1 < w->N ? n1 : w->N) - j0;
        if (nc > NR) nc = NR;
        const float *sc = w->scale + j0;
        const int32_t *cs = w->colsum + j0;
        int64_t i0 = 0;
#define K_(r) kern(r, C + i0 * ldc + j0, ldc, aq + i0 * Kp, Kp, bp, s + i0, sc, cs, nc)
        for (; i0 + MR <= M; i0 += MR) K_(MR);
        switch (M - i0) {
        case 7: K_(7); break;
        case 6: K_(6); break;
        case 5: K_(5); break;
        case 4: K_(4); break;
        case 3: K_(3); break;
        case 2: K_(2); break;
        case 1: K_(1); break;
        default: break;
        }
#undef K_
    }
}
#endif

void rt_k_gemm_i8_nt(float *C, int64_t ldc, const uint8_t *aq, const float *s, const rt_i8_w *w, int64_t M,
                     int64_t n0, int64_t n1) {
    if (M <= 0 || n1 <= n0) return;
#if defined(__x86_64__) && defined(__GNUC__)
    if (w->native) { gemm_vnni(C, ldc, aq, s, w, M, n0, n1); return; }
#endif
    gemm_portable(C, ldc, aq, s, w, M, n0, n1);
}
