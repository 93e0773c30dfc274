/* bf16.c — bf16 GEMMs (lowp.h): a vdpbf16ps register-blocked kernel (8 rows x
 * 32 columns of fp32 accumulators over packed bf16 pairs) compiled with a
 * target attribute and chosen at run time, and the portable fallback (inputs
 * rounded to bf16-valued fp32, then the fp32 GEMM). */
#include "lowp.h"

#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include "gemm.h"
#include "../core/tensor.h"

#define NR RT_LOWP_NR
#define MR 8

/* ---------------------------------------------------------------- features */

static int forced = -1;   /* -1: not read yet */

static bool portable_now(void) {
    if (forced < 0) {
        const char *e = getenv("RETORT_PORTABLE");
        forced = e && *e && strcmp(e, "0") != 0;
    }
    return forced == 1;
}
void rt_lowp_force_portable(bool on) { forced = on ? 1 : 0; }
bool rt_lowp_portable(void) { return portable_now(); }

bool rt_cpu_has_bf16(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    return !portable_now() && __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw");
#else
    return false;
#endif
}

bool rt_cpu_has_vnni(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    return !portable_now() && __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw");
#else
    return false;
#endif
}

/* rt_f32_to_bf16 (core/tensor.c) as bits in the high half, branch-free so loops
 * vectorise: round to nearest even, NaN kept quiet. */
static inline uint32_t rne_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    uint32_t r = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u, nan = (u | 0x00400000u) & 0xffff0000u;
    return (u & 0x7fffffffu) > 0x7f800000u ? nan : r;
}
static inline uint16_t rne16(float f) { return (uint16_t)(rne_bits(f) >> 16); }

void rt_k_round_bf16(float *y, const float *x, int64_t n) {
#pragma omp simd
    for (int64_t i = 0; i < n; i++) {
        uint32_t b = rne_bits(x[i]);
        float f;
        memcpy(&f, &b, 4);
        y[i] = f;
    }
}

/* ---------------------------------------------------------------- packing */

static int64_t panels(int64_t N) { return (N + NR - 1) / NR; }

/* op(B)[k][n] = tb ? B[n*ldb + k] : B[k*ldb + n], packed as [panel][Kp/2][NR][2]. */
static void pack_pairs(uint16_t *p, const float *B, int64_t ldb, bool tb, int64_t N, int64_t K, int64_t Kp,
                       int64_t pan) {
    uint16_t *d = p + pan * (Kp / 2) * NR * 2;
    for (int64_t j = 0; j < NR; j++) {
        int64_t n = pan * NR + j;
        if (n >= N) {
            for (int64_t kk = 0; kk < Kp / 2; kk++) d[(kk * NR + j) * 2] = d[(kk * NR + j) * 2 + 1] = 0;
            continue;
        }
        if (tb) {   /* column n of op(B) is row n of B: contiguous reads */
            const float *r = B + n * ldb;
            for (int64_t k = 0; k < K; k++) d[((k >> 1) * NR + j) * 2 + (k & 1)] = rne16(r[k]);
        } else {
            for (int64_t k = 0; k < K; k++) d[((k >> 1) * NR + j) * 2 + (k & 1)] = rne16(B[k * ldb + n]);
        }
        if (K & 1) d[((K >> 1) * NR + j) * 2 + 1] = 0;
    }
}

rt_status rt_bf16_pack(rt_bf16_w *w, const float *W, int64_t N, int64_t K, bool native) {
    memset(w, 0, sizeof *w);
    w->N = N; w->K = K; w->Kp = (K + 1) & ~(int64_t)1;
    w->native = native && rt_cpu_has_bf16();
    if (w->native) {
        w->p = aligned_alloc(64, ((size_t)(panels(N) * w->Kp * NR) * 2 + 63) / 64 * 64);
        if (!w->p) return rt_errorf(RT_ENOMEM, "bf16 pack: out of memory for [%lld, %lld]", (long long)N, (long long)K);
#pragma omp parallel for schedule(static) if (N * K > 65536)
        for (int64_t pan = 0; pan < panels(N); pan++) pack_pairs(w->p, W, K, true, N, K, w->Kp, pan);
    } else {
        w->r = malloc((size_t)(N * K) * sizeof(float) + 1);
        if (!w->r) return rt_errorf(RT_ENOMEM, "bf16 pack: out of memory for [%lld, %lld]", (long long)N, (long long)K);
        rt_k_round_bf16(w->r, W, N * K);
    }
    return RT_OK;
}

void rt_bf16_free(rt_bf16_w *w) {
    free(w->p); free(w->r);
    memset(w, 0, sizeof *w);
}

int64_t rt_bf16_act_size(const rt_bf16_w *w, int64_t M) {
    return w->native ? M * w->Kp * 2 : M * w->K * 4;
}

/* op(A) rows as bf16 [M][Kp] (zero padded); rs/ks: op(A)[i][k] = A[i*rs + k*ks]. */
static void cvt_rows(uint16_t *out, const float *A, int64_t rs, int64_t ks, int64_t M, int64_t K, int64_t Kp) {
    for (int64_t i = 0; i < M; i++) {
        uint16_t *o = out + i * Kp;
        for (int64_t k = 0; k < K; k++) o[k] = rne16(A[i * rs + k * ks]);
        for (int64_t k = K; k < Kp; k++) o[k] = 0;
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
/* Contiguous rows with vcvtneps2bf16 (round to nearest even, as rt_f32_to_bf16). */
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
static void cvt_rows_native(uint16_t *out, const float *A, int64_t lda, int64_t M, int64_t K, int64_t Kp) {
    for (int64_t i = 0; i < M; i++) {
        const float *a = A + i * lda;
        uint16_t *o = out + i * Kp;
        int64_t k = 0;
        for (; k + 16 <= K; k += 16)
            _mm256_storeu_si256((__m256i *)(o + k), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(a + k)));
        for (; k < K; k++) o[k] = rt_f32_to_bf16(a[k]);
        for (; k < Kp; k++) o[k] = 0;
    }
}
#endif

void rt_k_bf16_rows(void *act, const float *A, int64_t lda, int64_t M, const rt_bf16_w *w) {
#if defined(__x86_64__) && defined(__GNUC__)
    if (w->native) { cvt_rows_native(act, A, lda, M, w->K, w->Kp); return; }
#endif
    if (w->native) { cvt_rows(act, A, lda, 1, M, w->K, w->Kp); return; }
    float *o = act;
    for (int64_t i = 0; i < M; i++) rt_k_round_bf16(o + i * w->K, A + i * lda, w->K);
}

/* ---------------------------------------------------------------- the kernel */
#if defined(__x86_64__) && defined(__GNUC__)
#define TGT __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

static inline __attribute__((always_inline)) TGT void
kern(int mr, float *C, int64_t ldc, const uint16_t *a, int64_t Kp, const uint16_t *bp, int64_t nc, float alpha,
     float beta) {
    __m512 acc[MR][2];
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) { acc[r][0] = _mm512_setzero_ps(); acc[r][1] = _mm512_setzero_ps(); }
    for (int64_t kk = 0; kk < Kp / 2; kk++) {
        __m512bh b0 = (__m512bh)_mm512_loadu_si512(bp + kk * NR * 2);
        __m512bh b1 = (__m512bh)_mm512_loadu_si512(bp + kk * NR * 2 + 32);
#pragma GCC unroll 8
        for (int r = 0; r < MR; r++) {
            if (r >= mr) break;
            int32_t pr;
            memcpy(&pr, a + r * Kp + 2 * kk, 4);
            __m512bh av = (__m512bh)_mm512_set1_epi32(pr);
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], av, b0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], av, b1);
        }
    }
    __mmask16 m0 = nc >= 16 ? 0xffff : (__mmask16)((1u << nc) - 1);
    __mmask16 m1 = nc >= 32 ? 0xffff : nc <= 16 ? 0 : (__mmask16)((1u << (nc - 16)) - 1);
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
        if (r >= mr) break;
        float *c = C + r * ldc;
        __m512 x0 = _mm512_mul_ps(acc[r][0], va), x1 = _mm512_mul_ps(acc[r][1], va);
        if (beta != 0.0f) {
            x0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m0, c), vb, x0);
            x1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m1, c + 16), vb, x1);
        }
        _mm512_mask_storeu_ps(c, m0, x0);
        _mm512_mask_storeu_ps(c + 16, m1, x1);
    }
}

/* C[M, n0:n1) over a packed panel range; rows of a are Kp apart. */
static TGT void gemm_block(float *C, int64_t ldc, const uint16_t *a, const uint16_t *p, int64_t Kp, int64_t M,
                           int64_t N, int64_t n0, int64_t n1, float alpha, float beta);

/* Blocks of 64 rows (in L2) x the panels of [n0, n1). */
static TGT void gemm_native(float *C, int64_t ldc, const uint16_t *a, const uint16_t *p, int64_t Kp, int64_t M,
                            int64_t N, int64_t n0, int64_t n1, float alpha, float beta) {
    for (int64_t b0 = 0; b0 < M; b0 += 64)
        gemm_block(C + b0 * ldc, ldc, a + b0 * Kp, p, Kp, M - b0 < 64 ? M - b0 : 64, N, n0, n1, alpha, beta);
}

static TGT void gemm_block(float *C, int64_t ldc, const uint16_t *a, const uint16_t *p, int64_t Kp, int64_t M,
                           int64_t N, int64_t n0, int64_t n1, float alpha, float beta) {
    for (int64_t j0 = n0; j0 < n1; j0 += NR) {
        const uint16_t *bp = p + (j0 / NR) * (Kp / 2) * NR * 2;
        int64_t nc = (n1 < N ? n1 : N) - j0;
        if (nc > NR) nc = NR;
        int64_t i0 = 0;
        for (; i0 + MR <= M; i0 += MR) kern(MR, C + i0 * ldc + j0, ldc, a + i0 * Kp, Kp, bp, nc, alpha, beta);
        switch (M - i0) {
        case 7: kern(7, C + i0 * ldc + j0, ldc, a + i0 * Kp, Kp, bp, nc, alpha, beta); break;
        case 6: kern(6, C + i0 * ldc + j0, ldc, a + i0 * Kp, Kp, bp, nc, alpha, beta); break;
        case 5: kern(5, C + i0 * ldc + j0, ldc, a + i0 * Kp, Kp, bp, nc, alpha, beta); break;
        case 4: kern(4, C + i0 * ldc + j0, ldc, a + i0 * Kp, Kp, bp, nc, alpha, beta); break;
        case 3: kern(3, C + i0 * ldc + j0, ldc, a + i0 * Kp, Kp, bp, nc, alpha, beta); break;
        case 2: kern(2, C + i0 * ldc + j0, ldc, a + i0 * Kp, Kp, bp, nc, alpha, beta); break;
        case 1: kern(1, C + i0 * ldc + j0, ldc, a + i0 * Kp, Kp, bp, nc, alpha, beta); break;
        default: break;
        }
    }
}
#else
static void gemm_native(float *C, int64_t ldc, const uint16_t *a, const uint16_t *p, int64_t Kp, int64_t M,
                        int64_t N, int64_t n0, int64_t n1, float alpha, float beta) {
    (void)C; (void)ldc; (void)a; (void)p; (void)Kp; (void)M; (void)N; (void)n0; (void)n1; (void)alpha; (void)beta;
}
#endif

void rt_k_gemm_bf16_nt(float *C, int64_t ldc, const void *act, const rt_bf16_w *w, int64_t M, int64_t n0,
                       int64_t n1) {
    if (M <= 0 || n1 <= n0) return;
    if (w->native) { gemm_native(C, ldc, act, w->p, w->Kp, M, w->N, n0, n1, 1.0f, 0.0f); return; }
    rt_sgemm_serial(false, true, M, n1 - n0, w->K, 1.0f, act, w->K, w->r + n0 * w->K, w->K, 0.0f, C + n0, ldc);
}

/* ---------------------------------------------------------------- general (autocast) */

void rt_sgemm_bf16(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                   const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    if (M == 0 || N == 0) return;
    if (K == 0 || alpha == 0.0f) { rt_sgemm_f32(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc); return; }
    int64_t Kp = (K + 1) & ~(int64_t)1, np = panels(N);
    if (rt_cpu_has_bf16()) {
        uint16_t *a = malloc((size_t)(M * Kp) * 2), *p = malloc((size_t)(np * Kp * NR) * 2);
        if (a && p) {
            int64_t rs = ta ? 1 : lda, ks = ta ? lda : 1;
            int64_t mb = (M + 63) / 64;
#pragma omp parallel
            {
#pragma omp for schedule(static) nowait
                for (int64_t pan = 0; pan < np; pan++) pack_pairs(p, B, ldb, tb, N, K, Kp, pan);
#pragma omp for schedule(static)
                for (int64_t b = 0; b < mb; b++) {
                    int64_t i0 = b * 64, m = M - i0 < 64 ? M - i0 : 64;
#if defined(__x86_64__) && defined(__GNUC__)
                    if (!ta) { cvt_rows_native(a + i0 * Kp, A + i0 * lda, lda, m, K, Kp); continue; }
#endif
                    cvt_rows(a + i0 * Kp, A + i0 * rs, rs, ks, m, K, Kp);
                }
#pragma omp for schedule(dynamic, 1) collapse(2)
                for (int64_t b = 0; b < mb; b++)
                    for (int64_t pan = 0; pan < np; pan++) {
                        int64_t i0 = b * 64, m = M - i0 < 64 ? M - i0 : 64;
                        gemm_native(C + i0 * ldc, ldc, a + i0 * Kp, p, Kp, m, N, pan * NR, pan * NR + NR, alpha,
                                    beta);
                    }
            }
            free(a); free(p);
            return;
        }
        free(a); free(p);   /* out of memory: the fallback below needs less */
    }
    /* portable: bf16-valued fp32 copies of op(A) and op(B), then the fp32 GEMM */
    int64_t ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
    float *ra = malloc((size_t)(ar * ac) * sizeof(float) + 1), *rb = malloc((size_t)(br * bc) * sizeof(float) + 1);
    if (ra && rb) {
        for (int64_t i = 0; i < ar; i++) rt_k_round_bf16(ra + i * ac, A + i * lda, ac);
        for (int64_t i = 0; i < br; i++) rt_k_round_bf16(rb + i * bc, B + i * ldb, bc);
        rt_sgemm_f32(ta, tb, M, N, K, alpha, ra, ac, rb, bc, beta, C, ldc);
    } else {
        rt_sgemm_f32(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);   /* no memory: fp32 */
    }
    free(ra); free(rb);
}
