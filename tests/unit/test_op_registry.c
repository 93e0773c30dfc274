/* test_op_registry.c — walks the op table (autograd/registry.h): every row's
 * forward makes a node with the row's name, and its gradients pass the
 * finite-difference check on the row's case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "autograd/registry.h"
#include "autograd/ops.h"

static void test_rows_unique_and_findable(void **st) {
    (void)st;
    int n;
    const rt_op_entry *t = rt_op_registry(&n);
    assert_true(n >= 60);
    for (int i = 0; i < n; i++) {
        assert_ptr_equal(rt_op_find(t[i].op), &t[i]);
        assert_non_null(t[i].help);
        assert_true(strlen(t[i].help) > 3);
    }
    assert_null(rt_op_find("no_such_op"));
}

static void test_every_row_gradchecks(void **st) {
    (void)st;
    int n, failed = 0;
    const rt_op_entry *t = rt_op_registry(&n);
    for (int i = 0; i < n; i++) {
        rt_generator g = {1234 + (uint64_t)i, 0};
        rt_tensor *in[8];
        int k;
        if (rt_op_case_inputs(&t[i], &g, in, &k) != RT_OK) {
            printf("%s: case: %s\n", t[i].op, rt_last_error());
            failed++;
            continue;
        }
        rt_tensor *out = t[i].forward(NULL, in, k);
        if (!out) { printf("%s: forward: %s\n", t[i].op, rt_last_error()); failed++; goto next; }
        const char *node = out->grad_fn ? out->grad_fn->op->name : "(none)";
        if (strcmp(node, t[i].node) != 0) { printf("%s: node '%s', row says '%s'\n", t[i].op, node, t[i].node); failed++; }
        rt_release(out);
        if (t[i].rtol >= 0) {
            rt_gradcheck_opts o = {1e-3, 1e-3, t[i].rtol > 0 ? t[i].rtol : 1e-2, 1234};
            double err;
            char report[512];
            if (!rt_gradcheck(t[i].forward, NULL, in, k, &o, &err, report, sizeof report)) {
                printf("%s: gradcheck failed (max_err %g):\n%s\n", t[i].op, err, report);
                failed++;
            }
        }
    next:
        for (int j = 0; j < k; j++) rt_release(in[j]);
    }
    assert_int_equal(failed, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_unique_and_findable),
        cmocka_unit_test(test_every_row_gradchecks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
