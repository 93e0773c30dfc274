/* test_graph.c — the autograd engine with a hand-made op (no op library needed):
 * grad mode nesting, accumulation into leaves, diamonds, retain_graph, the
 * freed-graph error, and releasing long chains without recursion. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "autograd/graph.h"

/* y = c * x (elementwise, scalar c in f[0]) */
static rt_status scale_backward(rt_node *n, rt_tensor *go, rt_tensor **grads, const bool *needs) {
    if (!needs[0]) return RT_OK;
    rt_tensor *g = rt_tensor_clone(go);
    for (int64_t i = 0; i < rt_numel(g); i++) rt_f32(g)[i] *= (float)n->f[0];
    grads[0] = g;
    return RT_OK;
}
static const rt_op_desc SCALE = {"scale", scale_backward, NULL};

static rt_tensor *scale(rt_tensor *x, double c) {
    rt_tensor *y = rt_tensor_clone(x);
    for (int64_t i = 0; i < rt_numel(y); i++) rt_f32(y)[i] *= (float)c;
    rt_node *n = rt_node_attach(y, &SCALE, 1, &x);
    if (n) n->f[0] = c;
    return y;
}

/* z = a + b (same shapes) */
static rt_status add_backward(rt_node *n, rt_tensor *go, rt_tensor **grads, const bool *needs) {
    (void)n;
    for (int i = 0; i < 2; i++) if (needs[i]) { rt_retain(go); grads[i] = go; }
    return RT_OK;
}
static const rt_op_desc ADD = {"add", add_backward, NULL};
static rt_tensor *add(rt_tensor *a, rt_tensor *b) {
    rt_tensor *y = rt_tensor_clone(a);
    for (int64_t i = 0; i < rt_numel(y); i++) rt_f32(y)[i] += rt_f32(b)[i];
    rt_tensor *in[2] = {a, b};
    rt_node_attach(y, &ADD, 2, in);
    return y;
}

static void test_grad_mode(void **s) {
    (void)s;
    assert_true(rt_grad_enabled());
    rt_no_grad_enter(); rt_no_grad_enter();
    assert_false(rt_grad_enabled());
    rt_no_grad_exit();
    assert_false(rt_grad_enabled());
    rt_no_grad_exit();
    assert_true(rt_grad_enabled());
    int64_t n = 3;
    rt_tensor *x = rt_tensor_full(RT_F32, 1, &n, 1.0);
    x->requires_grad = true;
    rt_no_grad_enter();
    rt_tensor *y = scale(x, 2);
    assert_null(y->grad_fn);
    assert_false(y->requires_grad);
    rt_no_grad_exit();
    rt_release(y); rt_release(x);
}

static void test_diamond_and_accumulation(void **s) {
    (void)s;
    int64_t n = 4;
    rt_tensor *x = rt_tensor_full(RT_F32, 1, &n, 1.0);
    x->requires_grad = true;
    for (int rep = 1; rep <= 2; rep++) {
        rt_tensor *a = scale(x, 2), *b = scale(x, 3);
        rt_tensor *c = add(a, b);            /* c = 5x */
        rt_tensor *d = scale(c, 0.5);        /* d = 2.5x */
        rt_release(a); rt_release(b); rt_release(c);   /* graph keeps them */
        rt_tensor *g = rt_tensor_full(RT_F32, 1, &n, 1.0);
        assert_int_equal(rt_backward(d, g, false), RT_OK);
        for (int i = 0; i < 4; i++) assert_true(rt_f32(x->grad)[i] == 2.5f * (float)rep);
        /* graph freed: second backward errors clearly */
        assert_int_equal(rt_backward(d, g, false), RT_ESTATE);
        assert_non_null(strstr(rt_last_error(), "backward: graph already freed (use retain_graph)"));
        rt_release(g); rt_release(d);
    }
    rt_release(x);
}

static void test_retain_graph(void **s) {
    (void)s;
    rt_tensor *x = rt_tensor_scalar(RT_F32, 3);
    x->requires_grad = true;
    rt_tensor *y = scale(x, 4);
    assert_int_equal(rt_backward(y, NULL, true), RT_OK);
    assert_int_equal(rt_backward(y, NULL, false), RT_OK);
    assert_true(rt_f32(x->grad)[0] == 8.0f);
    int64_t two = 2;
    rt_tensor *v = rt_tensor_full(RT_F32, 1, &two, 1.0);
    v->requires_grad = true;
    rt_tensor *w = scale(v, 1);
    assert_int_not_equal(rt_backward(w, NULL, false), RT_OK);     /* implicit grad needs 1 element */
    assert_non_null(strstr(rt_last_error(), "one-element"));
    rt_release(w); rt_release(v);
    rt_release(y); rt_release(x);
}

static void test_long_chain(void **s) {
    (void)s;
    rt_tensor *x = rt_tensor_scalar(RT_F32, 1);
    x->requires_grad = true;
    rt_tensor *y = x;
    rt_retain(y);
    for (int i = 0; i < 200000; i++) {
        rt_tensor *z = scale(y, 1.0);
        rt_release(y);
        y = z;
    }
    assert_int_equal(rt_backward(y, NULL, false), RT_OK);
    assert_true(rt_f32(x->grad)[0] == 1.0f);
    rt_tensor *y2 = x;
    rt_retain(y2);
    for (int i = 0; i < 200000; i++) { rt_tensor *z = scale(y2, 1.0); rt_release(y2); y2 = z; }
    rt_release(y2);   /* releasing an unused long graph must not overflow the stack */
    rt_release(y);
    rt_release(x);
}

static void test_reduce_to_shape(void **s) {
    (void)s;
    int64_t sh[3] = {2, 3, 4};
    rt_tensor *g = rt_tensor_full(RT_F32, 3, sh, 1.0);
    int64_t ts[2] = {1, 4};
    rt_tensor *r = rt_reduce_to_shape(g, 2, ts);
    assert_non_null(r);
    for (int i = 0; i < 4; i++) assert_true(rt_f32(r)[i] == 6.0f);
    int64_t bad[1] = {5};
    assert_null(rt_reduce_to_shape(g, 1, bad));
    rt_release(r); rt_release(g);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_grad_mode), cmocka_unit_test(test_diamond_and_accumulation),
        cmocka_unit_test(test_retain_graph), cmocka_unit_test(test_long_chain),
        cmocka_unit_test(test_reduce_to_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
