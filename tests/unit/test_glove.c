/* test_glove.c — io/glove: the GloVe reader (line limit, <unk> and repeated words
 * left as zero rows, unit rows, file:line errors) and kernels/topk (order, ties,
 * skipped columns, padding). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/status.h"
#include "io/glove.h"
#include "kernels/topk.h"

static rt_status read_text(const char *text, int64_t limit, rt_glove *g) {
    FILE *f = fmemopen((void *)text, strlen(text), "rb");
    assert_non_null(f);
    rt_status st = rt_glove_read_stream(f, "mem.txt", limit, g);
    fclose(f);
    return st;
}

static void test_read(void **state) {
    (void)state;
    rt_glove g;
    assert_int_equal(read_text("a 3 4\n<unk> 1 0\nb 0 2\nb 1 0\n  c\t0 -5  \r\n", 0, &g), RT_OK);
    assert_int_equal(g.n, 5);
    assert_int_equal(g.dim, 2);
    const float *E = rt_f32(g.emb);
    assert_true(fabsf(E[0] - 0.6f) < 1e-6f && fabsf(E[1] - 0.8f) < 1e-6f);
    assert_true(g.zero[1] && g.zero[2] && !g.zero[3] && !g.zero[0]);
    assert_true(E[2] == 0 && E[3] == 0 && E[4] == 0 && E[5] == 0);
    assert_string_equal(g.words[4], "c");
    assert_true(fabsf(E[9] + 1.0f) < 1e-6f);
    rt_glove_free(&g);
    assert_int_equal(read_text("a 3 4\nb 1 2\nc 1\n", 2, &g), RT_OK);   /* the limit stops before line 3 */
    assert_int_equal(g.n, 2);
    rt_glove_free(&g);
}

static void test_errors(void **state) {
    (void)state;
    rt_glove g;
    assert_int_equal(read_text("a 1 2\nb 1\n", 0, &g), RT_EFORMAT);
    assert_non_null(strstr(rt_last_error(), "mem.txt:2: ragged line"));
    assert_int_equal(read_text("a 1 2\n\n", 0, &g), RT_EFORMAT);
    assert_non_null(strstr(rt_last_error(), "mem.txt:2: empty line"));
    assert_int_equal(read_text("a 1 zz\n", 0, &g), RT_EFORMAT);
    assert_non_null(strstr(rt_last_error(), "mem.txt:1: value 2 ('zz')"));
    assert_int_equal(read_text("a\n", 0, &g), RT_EFORMAT);
    assert_int_equal(read_text("", 0, &g), RT_EFORMAT);
    assert_int_equal(read_text("a inf 1\n", 0, &g), RT_EFORMAT);
}

static void test_topk(void **state) {
    (void)state;
    const float s[] = {1, 5, 3, 5, NAN, -1, -2, -3, 0, 7};
    int64_t out[6];
    assert_int_equal(rt_k_topk_rows_f32(s, 2, 5, 3, NULL, NULL, out), RT_OK);
    int64_t want[] = {1, 3, 2, 4, 3, 0};
    assert_memory_equal(out, want, sizeof want);
    uint8_t skip[5] = {0, 1, 0, 0, 0};
    int64_t self[2] = {3, -1};
    assert_int_equal(rt_k_topk_rows_f32(s, 2, 5, 3, skip, self, out), RT_OK);
    int64_t want2[] = {2, 0, -1, 4, 3, 0};
    assert_memory_equal(out, want2, sizeof want2);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_topk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
