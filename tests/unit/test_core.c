/* test_core.c — status, dtype, allocator, storage, tensor headers/copies, rng, threads. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/alloc.h"
#include "core/parallel.h"
#include "core/rng.h"
#include "core/status.h"
#include "core/tensor.h"

static void test_status(void **s) {
    (void)s;
    rt_clear_error();
    assert_string_equal(rt_last_error(), "");
    assert_int_equal(rt_errorf(RT_ESHAPE, "add: shapes [%d,%d] and [%d]", 2, 3, 4), RT_ESHAPE);
    assert_string_equal(rt_last_error(), "add: shapes [2,3] and [4]");
    rt_error_prefix("layer %d", 3);
    assert_string_equal(rt_last_error(), "layer 3: add: shapes [2,3] and [4]");
    assert_int_equal(rt_last_status(), RT_ESHAPE);
    rt_clear_error();
    assert_int_equal(rt_last_status(), RT_OK);
    assert_false(rt_interrupted());
    rt_interrupt_flag = 1;
    assert_true(rt_interrupted());
    rt_interrupt_clear();
    assert_false(rt_interrupted());
}

static void test_dtype(void **s) {
    (void)s;
    rt_dtype d;
    assert_int_equal(rt_dtype_parse("int64", &d), 0); assert_int_equal(d, RT_I64);
    assert_int_equal(rt_dtype_parse("long", &d), 0); assert_int_equal(d, RT_I64);
    assert_int_equal(rt_dtype_parse("float32", &d), 0); assert_int_equal(d, RT_F32);
    assert_int_equal(rt_dtype_parse("bf16", &d), 0); assert_int_equal(d, RT_BF16);
    assert_int_not_equal(rt_dtype_parse("complex", &d), 0);
    assert_int_equal(rt_dtype_size(RT_BF16), 2);
    assert_int_equal(rt_dtype_size(RT_I64), 8);
    assert_string_equal(rt_dtype_name(RT_BOOL), "bool");
}

static void test_alloc(void **s) {
    (void)s;
    rt_mem_stats a = rt_memory_stats();
    void *p = rt_alloc(100000);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % 64, 0);
    memset(p, 1, 100000);
    rt_mem_stats b = rt_memory_stats();
    assert_int_equal(b.live_bytes - a.live_bytes, 100000);
    assert_true(b.peak_bytes >= b.live_bytes);
    rt_free(p, 100000);
    rt_mem_stats c = rt_memory_stats();
    assert_int_equal(c.live_bytes, a.live_bytes);
    assert_true(c.cached_bytes > 0);
    /* same size class: served from the cache */
    void *q = rt_alloc(99000);
    rt_mem_stats d = rt_memory_stats();
    assert_ptr_equal(q, p);
    assert_int_equal(d.n_cache_hits, c.n_cache_hits + 1);
    rt_free(q, 99000);
    for (int i = 1; i < 200; i++) {   /* odd sizes stay aligned */
        void *r = rt_alloc((size_t)i * 37);
        assert_int_equal((uintptr_t)r % 64, 0);
        rt_free(r, (size_t)i * 37);
    }
    rt_memory_trim();
    assert_int_equal(rt_memory_stats().cached_bytes, 0);
    rt_memory_reset_peak();
    assert_int_equal(rt_memory_stats().peak_bytes, rt_memory_stats().live_bytes);
}

static int released = 0;
static void on_release(void *owner) { released += *(int *)owner; }

static void test_storage(void **s) {
    (void)s;
    static float buf[6] = {1, 2, 3, 4, 5, 6};
    int token = 7;
    rt_storage *st = rt_storage_borrow(buf, sizeof buf, &token, on_release);
    int64_t sh[2] = {2, 3};
    rt_tensor *t = rt_tensor_view_of(st, RT_F32, 0, 2, sh, NULL);
    rt_storage_release(st);
    assert_int_equal(released, 0);
    int64_t ix[2] = {1, 2};
    assert_true(rt_tensor_get(t, ix) == 6.0);
    rt_release(t);
    assert_int_equal(released, 7);

    /* mmap of a file region at an unaligned offset */
    char path[] = "/tmp/rt_core_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    float vals[4] = {0.5f, 1.5f, 2.5f, 3.5f};
    assert_int_equal(write(fd, "abcd", 4), 4);
    assert_int_equal(write(fd, vals, sizeof vals), (int)sizeof vals);
    close(fd);
    rt_storage *m = rt_storage_mmap(path, 4, sizeof vals);
    assert_non_null(m);
    int64_t n4 = 4;
    rt_tensor *mt = rt_tensor_view_of(m, RT_F32, 0, 1, &n4, NULL);
    rt_storage_release(m);
    int64_t i3 = 3;
    assert_true(rt_tensor_get(mt, &i3) == 3.5);
    rt_release(mt);
    assert_null(rt_storage_mmap(path, 8, 1000));
    assert_non_null(strstr(rt_last_error(), "past the end"));
    unlink(path);
}

static void test_tensor_views_and_copies(void **s) {
    (void)s;
    int64_t sh[2] = {2, 3};
    rt_tensor *t = rt_tensor_empty(RT_F32, 2, sh);
    for (int i = 0; i < 6; i++) rt_f32(t)[i] = (float)i;
    assert_true(rt_is_contiguous(t));
    assert_int_equal(rt_numel(t), 6);
    char b[64];
    assert_string_equal(rt_shape_str(t, b, sizeof b), "[2,3]");
    /* transposed view [3,2] */
    int64_t tsh[2] = {3, 2}, tst[2] = {1, 3};
    rt_tensor *tt = rt_tensor_view_of(t->storage, RT_F32, 0, 2, tsh, tst);
    assert_false(rt_is_contiguous(tt));
    rt_tensor *c = rt_tensor_contiguous(tt);
    assert_true(rt_is_contiguous(c));
    float want[6] = {0, 3, 1, 4, 2, 5};
    for (int i = 0; i < 6; i++) assert_true(rt_f32(c)[i] == want[i]);
    rt_tensor *same = rt_tensor_contiguous(t);
    assert_ptr_equal(same, t);
    rt_release(same);
    /* convert to i64 and back */
    rt_tensor *l = rt_tensor_convert(tt, RT_I64);
    int64_t ix[2] = {2, 1};
    assert_true(rt_tensor_get(l, ix) == 5.0);
    assert_int_equal(rt_tensor_set(l, ix, 42), RT_OK);
    assert_true(((int64_t *)rt_data(l))[5] == 42);
    int64_t bad[2] = {3, 0};
    assert_int_equal(rt_tensor_set(l, bad, 1), RT_EINDEX);
    assert_non_null(strstr(rt_last_error(), "out of range"));
    /* copy_ into a strided destination */
    rt_tensor *z = rt_tensor_zeros(RT_F32, 2, sh);
    int64_t zsh[2] = {3, 2};
    rt_tensor *zt = rt_tensor_view_of(z->storage, RT_F32, 0, 2, zsh, tst);
    assert_int_equal(rt_tensor_copy_(zt, c), RT_OK);
    for (int i = 0; i < 6; i++) assert_true(rt_f32(z)[i] == (float)i);
    assert_int_equal(rt_tensor_fill_(zt, 2.5), RT_OK);
    for (int i = 0; i < 6; i++) assert_true(rt_f32(z)[i] == 2.5f);
    rt_tensor *sc = rt_tensor_scalar(RT_I32, 7);
    assert_int_equal(sc->ndim, 0);
    assert_int_equal(rt_numel(sc), 1);
    assert_true(rt_tensor_get(sc, NULL) == 7.0);
    rt_tensor *al = rt_tensor_alias(t);
    assert_ptr_equal(al->storage, t->storage);
    assert_null(al->grad_fn);
    rt_tensor_set_name(al, "w");
    assert_string_equal(al->name, "w");
    int64_t neg[1] = {-1};
    assert_null(rt_tensor_empty(RT_F32, 1, neg));
    rt_release(al); rt_release(sc); rt_release(zt); rt_release(z);
    rt_release(l); rt_release(c); rt_release(tt); rt_release(t);
}

/* the tiled transpose path of rt_copy_strided (sizes not multiples of the tile) */
static void test_transpose_copy(void **s) {
    (void)s;
    int64_t sh[3] = {3, 37, 45};
    rt_tensor *t = rt_tensor_empty(RT_F32, 3, sh);
    for (int64_t i = 0; i < rt_numel(t); i++) rt_f32(t)[i] = (float)i;
    int64_t vsh[3] = {3, 45, 37}, vst[3] = {37 * 45, 1, 45};
    rt_tensor *v = rt_tensor_view_of(t->storage, RT_F32, 0, 3, vsh, vst);
    rt_tensor *c = rt_tensor_contiguous(v);
    for (int64_t b = 0; b < 3; b++)
        for (int64_t i = 0; i < 45; i++)
            for (int64_t j = 0; j < 37; j++)
                assert_true(rt_f32(c)[(b * 45 + i) * 37 + j] == (float)(b * 37 * 45 + j * 45 + i));
    rt_release(c); rt_release(v); rt_release(t);
}

static void test_bf16(void **s) {
    (void)s;
    assert_int_equal(rt_f32_to_bf16(1.0f), 0x3f80);
    /* 1 + 2^-8 is halfway between 1 and 1+2^-7: ties to even (1.0) */
    assert_int_equal(rt_f32_to_bf16(1.0f + 1.0f / 256), 0x3f80);
    /* 1 + 3*2^-8 is halfway between 1+2^-7 (odd) and 1+2^-6: to even (up) */
    assert_int_equal(rt_f32_to_bf16(1.0f + 3.0f / 256), 0x3f82);
    assert_true(rt_bf16_to_f32(rt_f32_to_bf16(-2.5f)) == -2.5f);
    assert_true(isnan(rt_bf16_to_f32(rt_f32_to_bf16(NAN))));
    assert_true(isinf(rt_bf16_to_f32(rt_f32_to_bf16(INFINITY))));
    int64_t n = 5;
    rt_tensor *t = rt_tensor_empty(RT_F32, 1, &n);
    for (int i = 0; i < 5; i++) rt_f32(t)[i] = 1.0f + (float)i / 3;
    rt_tensor *h = rt_tensor_convert(t, RT_BF16);
    rt_tensor *f = rt_tensor_convert(h, RT_F32);
    for (int i = 0; i < 5; i++) assert_true(fabsf(rt_f32(f)[i] - rt_f32(t)[i]) < 1e-2f);
    rt_release(t); rt_release(h); rt_release(f);
}

static void test_rng(void **s) {
    (void)s;
    enum { N = 200001 };
    float *a = malloc(N * sizeof(float)), *b = malloc(N * sizeof(float));
    rt_manual_seed(123);
    rt_set_threads(1);
    rt_rng_fill_normal(NULL, a, N, 0, 1);
    rt_manual_seed(123);
    rt_set_threads(2);
    rt_rng_fill_normal(NULL, b, N, 0, 1);
    assert_memory_equal(a, b, N * sizeof(float));
    double m = 0, v = 0;
    for (int i = 0; i < N; i++) m += a[i];
    m /= N;
    for (int i = 0; i < N; i++) v += (a[i] - m) * (a[i] - m);
    v /= N;
    assert_true(fabs(m) < 0.01);
    assert_true(fabs(v - 1) < 0.02);
    /* the next draw differs (the generator advanced) */
    rt_rng_fill_uniform(NULL, b, N, 0, 1);
    rt_rng_fill_uniform(NULL, a, N, 0, 1);
    assert_true(memcmp(a, b, 64) != 0);
    double mu = 0;
    for (int i = 0; i < N; i++) { assert_true(a[i] >= 0 && a[i] < 1); mu += a[i]; }
    assert_true(fabs(mu / N - 0.5) < 0.01);
    /* per-element access agrees with fills */
    rt_generator g = {99, 0};
    rt_rng_fill_uniform(&g, a, 10, 0, 1);
    for (int i = 0; i < 10; i++) assert_true(a[i] == rt_rng_uniform(99, 0, (uint64_t)i));
    assert_true(g.offset >= 10);
    for (int i = 0; i < 100; i++) assert_true(rt_rng_randint(&g, 7) < 7);
    free(a); free(b);
}

static void test_threads(void **s) {
    (void)s;
    rt_set_threads(1);
    assert_int_equal(rt_get_threads(), 1);
    rt_set_threads(2);
    assert_int_equal(rt_get_threads(), 2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status), cmocka_unit_test(test_dtype), cmocka_unit_test(test_alloc),
        cmocka_unit_test(test_storage), cmocka_unit_test(test_tensor_views_and_copies), cmocka_unit_test(test_transpose_copy),
        cmocka_unit_test(test_bf16), cmocka_unit_test(test_rng), cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
