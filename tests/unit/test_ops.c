/* test_ops.c — the core op C API as other modules call it: ownership of
 * results (new refs, split arrays, max indices), broadcasting + backward,
 * views that copy only when needed, dtype rules, and error messages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "core/alloc.h"

static rt_tensor *vec(int n, const float *v) {
    int64_t s = n;
    rt_tensor *t = rt_tensor_empty(RT_F32, 1, &s);
    memcpy(rt_f32(t), v, (size_t)n * sizeof(float));
    return t;
}

static void test_broadcast_backward(void **st) {
    (void)st;
    int64_t s23[2] = {2, 3};
    rt_tensor *a = rt_ones(RT_F32, 2, s23);
    float bv[3] = {1, 2, 3};
    rt_tensor *b = vec(3, bv);
    a->requires_grad = b->requires_grad = true;
    rt_tensor *c = rt_mul(a, b);                 /* [2,3] */
    assert_non_null(c);
    assert_string_equal(c->grad_fn->op->name, "mul");
    rt_tensor *l = rt_sum(c, NULL, 0, false);
    assert_int_equal(rt_backward(l, NULL, false), RT_OK);
    for (int i = 0; i < 6; i++) assert_true(rt_f32(a->grad)[i] == bv[i % 3]);
    for (int i = 0; i < 3; i++) assert_true(rt_f32(b->grad)[i] == 2.0f);   /* summed over the broadcast dim */
    rt_release(l); rt_release(c); rt_release(a); rt_release(b);
}

static void test_errors(void **st) {
    (void)st;
    int64_t s23[2] = {2, 3}, s4 = 4;
    rt_tensor *a = rt_zeros(RT_F32, 2, s23), *b = rt_zeros(RT_F32, 1, &s4);
    assert_null(rt_add(a, b));
    assert_string_equal(rt_last_error(), "add: shapes [2,3] and [4] cannot broadcast");
    assert_int_equal(rt_last_status(), RT_ESHAPE);
    assert_null(rt_transpose(a, 0, 5));
    assert_string_equal(rt_last_error(), "transpose: dim 5 out of range for a 2-d tensor");
    int64_t bad[2] = {4, 2};
    assert_null(rt_reshape(a, 2, bad));
    assert_non_null(strstr(rt_last_error(), "reshape: shape [4,2] is invalid for input [2,3]"));
    rt_release(a); rt_release(b);
}

static void test_views_and_copies(void **st) {
    (void)st;
    int64_t s23[2] = {2, 3};
    rt_tensor *a = rt_arange(0, 6, 1, RT_F32);
    rt_tensor *m = rt_reshape(a, 2, s23);
    assert_ptr_equal(m->storage, a->storage);              /* a view */
    rt_tensor *t = rt_transpose(m, 0, 1);
    assert_ptr_equal(t->storage, a->storage);
    assert_false(rt_is_contiguous(t));
    int64_t flat = -1;
    assert_null(rt_view(t, 1, &flat));                    /* view would need a copy */
    rt_tensor *r = rt_reshape(t, 1, &flat);               /* reshape copies */
    assert_ptr_not_equal(r->storage, a->storage);
    float want[6] = {0, 3, 1, 4, 2, 5};
    for (int i = 0; i < 6; i++) assert_true(rt_f32(r)[i] == want[i]);
    rt_tensor **parts;
    int n;
    assert_int_equal(rt_split(a, 4, 0, &parts, &n), RT_OK);
    assert_int_equal(n, 2);
    assert_int_equal(parts[1]->shape[0], 2);
    assert_true(rt_f32(parts[1])[0] == 4.0f);
    for (int i = 0; i < n; i++) rt_release(parts[i]);
    free(parts);
    rt_release(r); rt_release(t); rt_release(m); rt_release(a);
}

static void test_max_indices_and_dtypes(void **st) {
    (void)st;
    float v[6] = {1, 7, 3, 9, 2, 4};
    rt_tensor *a = vec(6, v);
    int64_t s23[2] = {2, 3};
    rt_tensor *m = rt_reshape(a, 2, s23), *idx = NULL;
    rt_tensor *mx = rt_max(m, 1, false, &idx);
    assert_int_equal(idx->dtype, RT_I64);
    assert_true(rt_f32(mx)[0] == 7.0f && rt_f32(mx)[1] == 9.0f);
    assert_true(((int64_t *)rt_data(idx))[0] == 1 && ((int64_t *)rt_data(idx))[1] == 0);
    rt_tensor *am = rt_argmax(m, RT_ALLDIMS, false);
    assert_true(((int64_t *)rt_data(am))[0] == 3);
    rt_tensor *ids = rt_to(a, RT_I64);
    rt_tensor *ids1 = rt_add_scalar(ids, 1);
    assert_int_equal(ids1->dtype, RT_I64);
    assert_false(ids1->requires_grad);
    rt_tensor *half = rt_mul_scalar(ids, 0.5);
    assert_int_equal(half->dtype, RT_F32);
    rt_tensor *h = rt_to(a, RT_BF16);
    assert_int_equal(h->dtype, RT_BF16);
    rt_tensor *mask = rt_compare_scalar(RT_GT, a, 3.0);
    assert_int_equal(mask->dtype, RT_BOOL);
    assert_true(((uint8_t *)rt_data(mask))[1] == 1 && ((uint8_t *)rt_data(mask))[0] == 0);
    rt_release(mask); rt_release(h); rt_release(half); rt_release(ids1); rt_release(ids);
    rt_release(am); rt_release(idx); rt_release(mx); rt_release(m); rt_release(a);
}

static rt_tensor *f_softplus_like(void *ctx, rt_tensor *const *in, int n) {
    (void)ctx; (void)n;
    rt_tensor *e = rt_unary(RT_EXP, in[0]);
    rt_tensor *p = rt_add_scalar(e, 1.0);
    rt_tensor *l = rt_unary(RT_LOG, p);
    rt_tensor *o = rt_mul(l, in[1]);
    rt_release(e); rt_release(p); rt_release(l);
    return o;
}

static void test_gradcheck_from_c(void **st) {
    (void)st;
    int64_t s34[2] = {3, 4}, s4 = 4;
    rt_generator g = {7, 0};
    rt_tensor *x = rt_randn(&g, 2, s34), *w = rt_randn(&g, 1, &s4);
    x->requires_grad = w->requires_grad = true;
    rt_tensor *in[2] = {x, w};
    double err;
    char report[512];
    assert_true(rt_gradcheck(f_softplus_like, NULL, in, 2, NULL, &err, report, sizeof report));
    assert_true(err < 1e-3);
    assert_null(x->grad);   /* the checker leaves the inputs' .grad as it found them */
    rt_release(x); rt_release(w);
}

static void test_no_leak(void **st) {
    (void)st;
    int64_t live0 = rt_memory_stats().live_bytes;
    int64_t s[3] = {4, 5, 6};
    rt_tensor *x = rt_randn(NULL, 3, s);
    x->requires_grad = true;
    rt_tensor *ts[10];
    for (int i = 0; i < 10; i++) ts[i] = x;
    rt_tensor *c = rt_cat(ts, 10, 1);                       /* > 8 inputs with grad: grouped */
    rt_tensor *u = rt_unary(RT_GELU, c);
    int dims[2] = {0, 2};
    rt_tensor *sm = rt_sum(u, dims, 2, false);
    rt_tensor *l = rt_norm(sm, 2.0, NULL, 0, false);
    assert_int_equal(rt_backward(l, NULL, false), RT_OK);
    assert_non_null(x->grad);
    rt_release(l); rt_release(sm); rt_release(u); rt_release(c); rt_release(x);
    assert_int_equal(rt_memory_stats().live_bytes, live0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_broadcast_backward), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_views_and_copies), cmocka_unit_test(test_max_indices_and_dtypes),
        cmocka_unit_test(test_gradcheck_from_c), cmocka_unit_test(test_no_leak),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
