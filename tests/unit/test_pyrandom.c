/* test_pyrandom.c — CPython random.Random semantics (values printed by CPython 3). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "data/pyrandom.h"

static void test_python_values(void **s) {
    (void)s;
    rt_pyrandom r;
    rt_pyrandom_seed(&r, RT_RNG_PYTHON, 12345);     /* random.Random(12345) */
    assert_true(rt_pyrandom_random(&r) == 0.41661987254534116);
    assert_true(rt_pyrandom_random(&r) == 0.010169169457068361);
    assert_true(rt_pyrandom_random(&r) == 0.8252065092537432);
    const int64_t ri[5] = {4, 5, 3, 4, 9};          /* randint(0, 10) x 5 */
    for (int i = 0; i < 5; i++) assert_int_equal(rt_pyrandom_randint(&r, 0, 10), ri[i]);
    assert_int_equal(rt_pyrandom_getrandbits(&r, 32), 1873586768u);
    int v[10];
    for (int i = 0; i < 10; i++) v[i] = i;
    rt_pyrandom_shuffle(&r, v, 10, sizeof *v);       /* shuffle(list(range(10))) */
    const int want[10] = {8, 0, 4, 7, 9, 3, 6, 1, 5, 2};
    for (int i = 0; i < 10; i++) assert_int_equal(v[i], want[i]);
    assert_int_equal(rt_pyrandom_randint(&r, 2, 125), 47);
    rt_pyrandom_seed(&r, RT_RNG_PYTHON, (1ull << 40) + 7);   /* a seed of two 32-bit words */
    assert_true(rt_pyrandom_random(&r) == 0.6137037779936511);
    rt_pyrandom_seed(&r, RT_RNG_PYTHON, 0);
    assert_true(rt_pyrandom_random(&r) == 0.8444218515250481);
}

static void test_fast_deterministic(void **s) {
    (void)s;
    rt_pyrandom a, b;
    rt_pyrandom_seed(&a, RT_RNG_FAST, 7);
    rt_pyrandom_seed(&b, RT_RNG_FAST, 7);
    double sum = 0;
    for (int i = 0; i < 10000; i++) {
        double x = rt_pyrandom_random(&a);
        assert_true(x == rt_pyrandom_random(&b));
        assert_true(x >= 0 && x < 1);
        sum += x;
    }
    assert_true(sum / 10000 > 0.48 && sum / 10000 < 0.52);
    int64_t c[3] = {0};
    for (int i = 0; i < 30000; i++) c[rt_pyrandom_randint(&a, 0, 2)]++;
    for (int i = 0; i < 3; i++) assert_true(c[i] > 9500 && c[i] < 10500);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_python_values), cmocka_unit_test(test_fast_deterministic)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
