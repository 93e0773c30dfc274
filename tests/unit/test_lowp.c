/* test_lowp.c — kernels/lowp: bf16 and int8 GEMMs on ragged shapes (M not a
 * multiple of 8, N not of 32, odd K), native (when this CPU has AVX512-BF16 /
 * VNNI) against the portable fallback and a double-precision reference of the
 * same rounded operands; column slices as the inference path uses them;
 * kernels/fused epilogues against plain loops. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/tensor.h"
#include "kernels/fused.h"
#include "kernels/lowp.h"

static float frand(unsigned *s) { *s = *s * 1103515245u + 12345u; return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f; }
static float bf(float x) { return rt_bf16_to_f32(rt_f32_to_bf16(x)); }

static const int64_t SHAPES[][3] = {{1, 1, 1}, {7, 33, 5}, {8, 32, 64}, {13, 70, 37}, {29, 96, 130}, {3, 312, 312}};

static void test_rne(void **state) {
    (void)state;
    /* 1 + 2^-8 is a tie between 1 and 1 + 2^-7: even mantissa (1) wins; 1 + 3*2^-8 rounds up */
    assert_true(bf(1.0f + 1.0f / 256) == 1.0f);
    assert_true(bf(1.0f + 3.0f / 256) == 1.0f + 1.0f / 64);
    assert_true(isnan(bf(NAN)));
    assert_true(bf(INFINITY) == INFINITY);
}

static void bf16_case(int64_t M, int64_t N, int64_t K, bool native) {
    unsigned s = (unsigned)(M * 131 + N * 7 + K);
    float *A = malloc(sizeof(float) * M * K), *W = malloc(sizeof(float) * N * K);
    float *C = malloc(sizeof(float) * M * N), *R = malloc(sizeof(float) * M * N);
    for (int64_t i = 0; i < M * K; i++) A[i] = frand(&s);
    for (int64_t i = 0; i < N * K; i++) W[i] = frand(&s);
    rt_bf16_w w;
    assert_int_equal(rt_bf16_pack(&w, W, N, K, native), RT_OK);
    void *act = malloc((size_t)rt_bf16_act_size(&w, M) + 4);
    rt_k_bf16_rows(act, A, K, M, &w);
    int64_t mid = N > 32 ? 32 : N;   /* two slices, as two threads would */
    rt_k_gemm_bf16_nt(C, N, act, &w, M, 0, mid);
    rt_k_gemm_bf16_nt(C, N, act, &w, M, mid, N);
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double r = 0;
            for (int64_t k = 0; k < K; k++) r += (double)bf(A[i * K + k]) * bf(W[j * K + k]);
            R[i * N + j] = (float)r;
            assert_true(fabs(C[i * N + j] - r) <= 1e-5 * (double)K + 1e-6);
        }
    /* the general entry point (autocast): op(A) = Aᵀ stored [K, M] */
    float *At = malloc(sizeof(float) * M * K);
    for (int64_t i = 0; i < M; i++) for (int64_t k = 0; k < K; k++) At[k * M + i] = A[i * K + k];
    rt_sgemm_bf16(true, true, M, N, K, 2.0f, At, M, W, K, 0.0f, C, N);
    for (int64_t i = 0; i < M * N; i++) assert_true(fabs(C[i] - 2 * R[i]) <= 2e-5 * (double)K + 1e-6);
    free(At); free(act); rt_bf16_free(&w); free(A); free(W); free(C); free(R);
}

static void test_bf16(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof SHAPES / sizeof SHAPES[0]; i++) {
        rt_lowp_force_portable(true);
        bf16_case(SHAPES[i][0], SHAPES[i][1], SHAPES[i][2], true);
        rt_lowp_force_portable(false);
        bf16_case(SHAPES[i][0], SHAPES[i][1], SHAPES[i][2], true);
    }
}

/* int8: native and portable give identical floats, and match the formula. */
static void test_int8(void **state) {
    (void)state;
    for (size_t c = 0; c < sizeof SHAPES / sizeof SHAPES[0]; c++) {
        int64_t M = SHAPES[c][0], N = SHAPES[c][1], K = SHAPES[c][2];
        unsigned s = (unsigned)(M + N + K);
        float *A = malloc(sizeof(float) * M * K), *W = malloc(sizeof(float) * N * K);
        float *C1 = malloc(sizeof(float) * M * N), *C2 = malloc(sizeof(float) * M * N);
        for (int64_t i = 0; i < M * K; i++) A[i] = frand(&s) * 3;
        for (int64_t i = 0; i < N * K; i++) W[i] = frand(&s) * 0.1f;
        rt_i8_w wn, wp;
        assert_int_equal(rt_i8_pack(&wn, W, N, K, true), RT_OK);
        assert_int_equal(rt_i8_pack(&wp, W, N, K, false), RT_OK);
        uint8_t *aq = malloc((size_t)(M * wn.Kp));
        float *as = malloc(sizeof(float) * M);
        rt_k_quant_rows(aq, as, A, K, M, K, wn.Kp);
        int64_t mid = N > 32 ? 32 : N;
        rt_k_gemm_i8_nt(C1, N, aq, as, &wn, M, 0, mid);
        rt_k_gemm_i8_nt(C1, N, aq, as, &wn, M, mid, N);
        rt_k_gemm_i8_nt(C2, N, aq, as, &wp, M, 0, N);
        assert_memory_equal(C1, C2, sizeof(float) * (size_t)(M * N));
        for (int64_t i = 0; i < M; i++)
            for (int64_t j = 0; j < N; j++) {
                double r = 0, amax = 0;
                for (int64_t k = 0; k < K; k++) { r += (double)A[i * K + k] * W[j * K + k]; amax = fmax(amax, fabs(A[i * K + k])); }
                /* error bound: half a step of each operand's grid per product */
                double wmax = 0;
                for (int64_t k = 0; k < K; k++) wmax = fmax(wmax, fabs(W[j * K + k]));
                double tol = (double)K * (amax * wmax / 127.0) * 1.01 + 1e-6;
                assert_true(fabs(C1[i * N + j] - r) <= tol);
            }
        rt_i8_free(&wn); rt_i8_free(&wp); free(aq); free(as); free(A); free(W); free(C1); free(C2);
    }
}

/* fp32 prepacked: same sums as a double reference to fp32 rounding, both forms. */
static void test_f32pack(void **state) {
    (void)state;
    for (int pass = 0; pass < 2; pass++) {
        rt_lowp_force_portable(pass == 1);
        for (size_t c = 0; c < sizeof SHAPES / sizeof SHAPES[0]; c++) {
            int64_t M = SHAPES[c][0], N = SHAPES[c][1], K = SHAPES[c][2], lda = K + 3;
            unsigned s = (unsigned)(M * 3 + N + K);
            float *A = malloc(sizeof(float) * M * lda), *W = malloc(sizeof(float) * N * K), *C = malloc(sizeof(float) * M * N);
            for (int64_t i = 0; i < M * lda; i++) A[i] = frand(&s);
            for (int64_t i = 0; i < N * K; i++) W[i] = frand(&s);
            rt_f32_w w;
            assert_int_equal(rt_f32_pack(&w, W, N, K, true), RT_OK);
            assert_true(w.native == (pass == 0 && rt_cpu_has_avx512()));
            int64_t mid = N > 32 ? 32 : N;
            rt_k_gemm_f32_nt(C, N, A, lda, &w, M, 0, mid);
            rt_k_gemm_f32_nt(C, N, A, lda, &w, M, mid, N);
            for (int64_t i = 0; i < M; i++)
                for (int64_t j = 0; j < N; j++) {
                    double r = 0;
                    for (int64_t k = 0; k < K; k++) r += (double)A[i * lda + k] * W[j * K + k];
                    assert_true(fabs(C[i * N + j] - r) <= 1e-5 * (double)K + 1e-6);
                }
            rt_f32_free(&w); free(A); free(W); free(C);
        }
    }
    rt_lowp_force_portable(false);
}

static void test_fused(void **state) {
    (void)state;
    enum { R = 5, NN = 37 };
    float x[R * NN], res[R * NN], bias[NN], w[NN], b[NN], y[R * NN];
    unsigned s = 3;
    for (int i = 0; i < R * NN; i++) { x[i] = frand(&s); res[i] = frand(&s); }
    for (int j = 0; j < NN; j++) { bias[j] = frand(&s); w[j] = 1 + frand(&s) * 0.5f; b[j] = frand(&s); }
    rt_k_bias_res_ln_rows(y, x, bias, res, w, b, R, NN, 1e-12f);
    for (int r = 0; r < R; r++) {
        double mu = 0, var = 0;
        for (int j = 0; j < NN; j++) mu += (double)(x[r * NN + j] + bias[j]) + res[r * NN + j];
        mu /= NN;
        for (int j = 0; j < NN; j++) { double d = (double)(x[r * NN + j] + bias[j]) + res[r * NN + j] - mu; var += d * d; }
        var /= NN;
        for (int j = 0; j < NN; j++) {
            double want = ((double)(x[r * NN + j] + bias[j]) + res[r * NN + j] - mu) / sqrt(var + 1e-12) * w[j] + b[j];
            assert_true(fabs(y[r * NN + j] - want) < 1e-5);
        }
    }
    memcpy(y, x, sizeof x);
    rt_k_bias_act_rows(-1, y, NN, bias, R, NN);
    for (int i = 0; i < R * NN; i++) assert_true(y[i] == x[i] + bias[i % NN]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rne),
        cmocka_unit_test(test_bf16),
        cmocka_unit_test(test_int8),
        cmocka_unit_test(test_f32pack),
        cmocka_unit_test(test_fused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
