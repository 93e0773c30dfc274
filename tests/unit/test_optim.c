/* test_optim.c — optimizer kernels against straightforward double-precision
 * formulas, and the parallel paths against the serial ones. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include "optim/update.h"
#include "optim/loss_scale.h"

static float frand(unsigned *s) { *s = *s * 1103515245u + 12345u; return ((*s >> 8) & 0xffff) / 32768.0f - 1.0f; }

static void test_adamw_formula(void **st) {
    (void)st;
    float w[5] = {0.5f, -1.0f, 2.0f, 0.0f, 3.0f}, g[5] = {0.1f, -0.2f, 0.0f, 1.5f, -3.0f};
    float m[5] = {0}, v[5] = {0};
    double wd_[5], md[5] = {0}, vd[5] = {0};
    for (int i = 0; i < 5; i++) wd_[i] = w[i];
    for (int t = 1; t <= 3; t++) {
        rt_adam_hp hp = {1e-2, 0.9, 0.999, 1e-8, 0.1, 1.0, t};
        rt_k_adamw(w, m, v, g, 5, &hp);
        for (int i = 0; i < 5; i++) {
            wd_[i] *= 1 - 1e-2 * 0.1;
            md[i] = 0.9 * md[i] + 0.1 * g[i];
            vd[i] = 0.999 * vd[i] + 0.001 * g[i] * g[i];
            double mh = md[i] / (1 - pow(0.9, t)), vh = vd[i] / (1 - pow(0.999, t));
            wd_[i] -= 1e-2 * mh / (sqrt(vh) + 1e-8);
        }
    }
    for (int i = 0; i < 5; i++) assert_true(fabs(w[i] - wd_[i]) < 1e-6);
}

static void test_adam_wd_clip(void **st) {
    (void)st;
    float w[3] = {1, 2, 3}, g[3] = {3, 4, 0}, m[3] = {0}, v[3] = {0};
    rt_adam_hp hp = {0.1, 0.9, 0.999, 1e-6, 0.01, 0.2, 1};   /* g scaled to norm 1 */
    rt_k_adam_wd(w, m, v, g, 3, &hp);
    /* m = 0.1*0.6, v = 0.001*0.36 -> u = 0.06/(0.018974+1e-6) + 0.01*w */
    double u0 = 0.06 / (sqrt(0.00036) + 1e-6) + 0.01 * 1.0;
    assert_true(fabs(w[0] - (1 - 0.1 * u0)) < 1e-5);
    assert_true(fabs(m[1] - 0.08) < 1e-7);
    assert_true(fabs(w[2] - (3 - 0.1 * 0.03)) < 1e-6);       /* zero grad: decay only */
}

static void test_lamb_and_parallel(void **st) {
    (void)st;
    int64_t n = 100000;
    float *w = malloc(n * 4), *g = malloc(n * 4), *m = calloc(n, 4), *v = calloc(n, 4);
    unsigned s = 7;
    double sw = 0, sg = 0;
    for (int64_t i = 0; i < n; i++) { w[i] = frand(&s); g[i] = frand(&s); sw += (double)w[i] * w[i]; sg += (double)g[i] * g[i]; }
    assert_true(fabs(rt_k_sumsq(w, n) - sw) < 1e-9 * sw);
    rt_adam_hp hp = {1e-3, 0.9, 0.999, 1e-6, 0.01, 1.0, 1};
    double sums[3];
    rt_k_lamb_moments(m, v, sums, w, g, n, &hp, 0.01);
    assert_true(fabs(sums[0] - sw) < 1e-9 * sw);
    assert_true(fabs(sums[2] - sg) < 1e-9 * sg);
    /* step 1: m^ = g, v^ = g^2 -> r ~ sign(g) + 0.01 w */
    assert_true(sums[1] > 0.9 * n && sums[1] < 1.1 * n);
    float w0 = w[10];
    double mh = m[10] / 0.1, vh = v[10] / 0.001;
    rt_k_lamb_apply(w, m, v, n, &hp, 2.0);
    assert_true(fabs(w[10] - (w0 - 2.0 * 1e-3 * (mh / (sqrt(vh) + 1e-6) + 0.01 * w0))) < 1e-6);
    w[5] = NAN; w[6] = INFINITY;
    assert_int_equal(rt_k_nonfinite(w, n), 2);
    rt_k_scale(g, n, 0.5f);
    assert_true(fabs(rt_k_sumsq(g, n) - 0.25 * sg) < 1e-6 * sg);
    free(w); free(g); free(m); free(v);
}

/* GradScaler's rule: back off on inf (step skipped), grow after growth_interval good steps. */
static void test_loss_scaler(void **st) {
    (void)st;
    rt_loss_scaler s;
    rt_loss_scaler_init(&s, 65536.0);
    assert_true(s.scale == 65536.0 && s.growth_interval == 2000);
    assert_false(rt_loss_scaler_update(&s, true));
    assert_true(s.scale == 32768.0);
    s.growth_interval = 3;
    assert_true(rt_loss_scaler_update(&s, false));
    assert_true(rt_loss_scaler_update(&s, false));
    assert_true(s.scale == 32768.0);
    assert_true(rt_loss_scaler_update(&s, false));   /* third good step: grows */
    assert_true(s.scale == 65536.0 && s.good_steps == 0);
    assert_true(rt_loss_scaler_update(&s, false));
    assert_false(rt_loss_scaler_update(&s, true));   /* a bad step resets the count */
    assert_true(s.scale == 32768.0 && s.good_steps == 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adamw_formula),
        cmocka_unit_test(test_adam_wd_clip),
        cmocka_unit_test(test_lamb_and_parallel),
        cmocka_unit_test(test_loss_scaler),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
