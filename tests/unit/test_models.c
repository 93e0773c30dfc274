/* test_models.c — config parsing/validation, the NEZHA relative-position table and
 * index matrix, TinyBERT layer maps (no autograd needed). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "core/status.h"
#include "models/model.h"

static void test_config_defaults(void **st) {
    (void)st;
    rt_config c;
    assert_int_equal(rt_config_parse("{\"vocab_size\": 21128, \"use_relative_position\": true, \"x\": [1,2]}",
                                     "t", &c), RT_OK);
    assert_int_equal(c.hidden_size, 768);
    assert_int_equal(c.num_hidden_layers, 12);
    assert_int_equal(c.type_vocab_size, 2);
    assert_true(c.layer_norm_eps == 1e-12);
    assert_int_equal(c.max_relative_position, 64);
    assert_true(c.use_relative_position);
    assert_int_equal(c.hidden_act, RT_ACT_GELU);
    assert_true(fabs(c.hidden_dropout_prob - 0.1) < 1e-12);
    assert_int_equal(c.classifier_relu, -1);
    char *j = rt_config_to_json(&c);
    assert_non_null(strstr(j, "\"x\""));          /* unknown keys kept */
    free(j);
    rt_config_free(&c);
    assert_int_equal(rt_config_parse("{\"vocab_size\": 5, \"hidden_act\": \"gelu_new\", \"problem_type\": "
                                     "\"regression\", \"heads\": [\"classifier\"]}", "t", &c), RT_OK);
    assert_int_equal(c.hidden_act, RT_ACT_GELU_TANH);
    assert_int_equal(c.num_labels, 1);
    assert_int_equal(c.heads, RT_HEAD_CLS);
    rt_config_free(&c);
    assert_int_equal(rt_config_parse("{\"vocab_size\": 5, \"id2label\": {\"0\": \"a\", \"1\": \"b\", \"2\": \"c\"}}",
                                     "t", &c), RT_OK);
    assert_int_equal(c.num_labels, 3);
    rt_config_free(&c);
}

static void test_config_errors(void **st) {
    (void)st;
    rt_config c;
    assert_int_equal(rt_config_parse("{\"vocab_size\": 5, \"hidden_size\": 10, \"num_attention_heads\": 3}",
                                     "cfg.json", &c), RT_EINVAL);
    assert_non_null(strstr(rt_last_error(), "not a multiple"));
    assert_non_null(strstr(rt_last_error(), "cfg.json"));
    assert_int_equal(rt_config_parse("{\"hidden_size\": 16}", "c", &c), RT_EINVAL);
    assert_non_null(strstr(rt_last_error(), "vocab_size"));
    assert_int_equal(rt_config_parse("{\n\"vocab_size\": 5,\n oops}", "c.json", &c), RT_EFORMAT);
    assert_non_null(strstr(rt_last_error(), "c.json:3"));
    assert_int_equal(rt_config_parse("[1]", "c", &c), RT_EFORMAT);
    assert_int_equal(rt_config_parse("{\"vocab_size\": 5, \"hidden_act\": \"tanh\"}", "c", &c), RT_EINVAL);
    assert_int_equal(rt_config_parse("{\"vocab_size\": 5.5}", "c", &c), RT_EFORMAT);
    assert_int_equal(rt_config_parse("{\"vocab_size\": 5, \"heads\": [\"mlm\", 3]}", "c", &c), RT_EFORMAT);
}

static void test_relative_table(void **st) {
    (void)st;
    rt_tensor *R = rt_relative_table(6, 32);
    assert_non_null(R);
    const float want[8] = {-0.756802f, -0.653644f, 0.778472f, -0.627680f, 0.953581f, 0.301137f, 0.652828f, 0.757506f};
    for (int i = 0; i < 8; i++) assert_true(fabsf(rt_f32(R)[4 * 32 + i] - want[i]) < 1e-6f);
    rt_tensor *rel = rt_relative_positions(R, 6, 10);
    assert_non_null(rel);
    /* Rel[i][j] = R[clip(j - i, -6, 6) + 6] */
    for (int i = 0; i < 10; i++)
        for (int j = 0; j < 10; j++) {
            int p = j - i < -6 ? 0 : j - i > 6 ? 12 : j - i + 6;
            assert_memory_equal(rt_f32(rel) + (i * 10 + j) * 32, rt_f32(R) + p * 32, 32 * sizeof(float));
        }
    rt_release(rel);
    rt_release(R);
}

static void test_layer_maps(void **st) {
    (void)st;
    int att[4], hid[5];
    assert_int_equal(rt_distill_uniform_map(4, 12, att, hid), RT_OK);
    assert_int_equal(att[0], 2); assert_int_equal(att[3], 11);
    assert_int_equal(hid[0], 0); assert_int_equal(hid[4], 12);
    assert_int_equal(rt_distill_uniform_map(5, 12, att, hid), RT_EINVAL);
    int bad[2] = {0, 4}, h[3] = {0, 1, 4};
    assert_int_equal(rt_distill_check_map(2, 4, bad, h), RT_EINDEX);
    int ok[2] = {1, 3};
    assert_int_equal(rt_distill_check_map(2, 4, ok, h), RT_OK);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_relative_table),
        cmocka_unit_test(test_layer_maps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
