/* test_example.c — the example at the top of src/retort.h, verbatim, checked
 * against a hand computation: d/dw sum(tanh(x · wᵀ)) = (1 - tanh²(y))ᵀ · x. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>

#include "retort.h"

static void test_header_example(void **st) {
    (void)st;
    /* ---- the example, as in retort.h ---- */
    rt_generator g = {42, 0};
    int64_t sx[2] = {4, 3}, sw[2] = {2, 3};
    rt_tensor *x = rt_randn(&g, 2, sx);                  // [4, 3] input
    rt_tensor *w = rt_randn(&g, 2, sw);                  // [2, 3] weight
    w->requires_grad = true;                             // a leaf that collects .grad
    rt_tensor *y = rt_linear(x, w, NULL);                // y = x · wᵀ: [4, 2], one node
    rt_tensor *a = y ? rt_unary(RT_TANH, y) : NULL;      // tanh(y)
    rt_tensor *loss = a ? rt_sum(a, NULL, 0, false) : NULL;   // a 0-d scalar
    if (!loss || rt_backward(loss, NULL, false) != RT_OK)
        fprintf(stderr, "retort: %s\n", rt_last_error());
    else
        printf("loss %g, dloss/dw[0,0] %g\n", rt_tensor_get(loss, NULL),
               rt_f32(w->grad)[0]);                      // w->grad: [2, 3]
    /* ---- checks ---- */
    assert_non_null(loss);
    assert_non_null(w->grad);
    const float *px = rt_f32(x), *pw = rt_f32(w), *gw = rt_f32(w->grad);
    double total = 0;
    for (int o = 0; o < 2; o++)
        for (int k = 0; k < 3; k++) {
            double want = 0;
            for (int r = 0; r < 4; r++) {
                double yr = 0;
                for (int j = 0; j < 3; j++) yr += (double)px[r * 3 + j] * pw[o * 3 + j];
                if (k == 0) total += tanh(yr);
                want += (1 - tanh(yr) * tanh(yr)) * px[r * 3 + k];
            }
            assert_true(fabs(gw[o * 3 + k] - want) < 1e-5);
        }
    assert_true(fabs(rt_tensor_get(loss, NULL) - total) < 1e-5);
    /* ---- the example's clean-up ---- */
    rt_release(loss); rt_release(a); rt_release(y);
    rt_release(w); rt_release(x);                       // the graph goes with them
    assert_int_equal(rt_memory_stats().live_bytes, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_header_example)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
