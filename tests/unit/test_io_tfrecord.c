/* test_io_tfrecord.c — TFRecord framing and tf.train.Example on the toy pretraining file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/ioutil.h"
#include "io/tfrecord.h"

#define TOY "../shared/seed/pretrain-toy/tf_examples_00.tfrecord"

static void test_toy(void **state) {
    (void)state;
    if (access(TOY, R_OK) != 0) { printf("SKIP: %s not found\n", TOY); return; }
    rt_tfrecord_reader *r = rt_tfrecord_open(TOY);
    assert_non_null(r);
    const uint8_t *d;
    size_t n;
    int count = 0, nsp1 = 0, full = 0;
    while (rt_tfrecord_next(r, &d, &n) == 1) {
        rt_example ex;
        if (rt_example_parse(d, n, &ex, TOY)) fail_msg("%s", rt_last_error());
        assert_int_equal(ex.n, 7);
        const rt_feature *ids = rt_example_get(&ex, "input_ids"), *mask = rt_example_get(&ex, "input_mask");
        const rt_feature *pos = rt_example_get(&ex, "masked_lm_positions"), *mid = rt_example_get(&ex, "masked_lm_ids");
        const rt_feature *w = rt_example_get(&ex, "masked_lm_weights"), *nsp = rt_example_get(&ex, "next_sentence_labels");
        assert_non_null(rt_example_get(&ex, "segment_ids"));
        assert_int_equal(ids->kind, RT_FEAT_INT64);
        assert_int_equal(ids->n, 128);
        assert_int_equal(mask->n, 128);
        assert_int_equal(pos->n, 20);
        assert_int_equal(w->kind, RT_FEAT_FLOAT);
        assert_int_equal(w->n, 20);
        assert_int_equal(nsp->n, 1);
        nsp1 += nsp->i64[0] == 1;
        full += mask->i64[127] == 1;
        if (count == 0) {
            static const int64_t p0[20] = {5, 7, 12, 13, 14, 24, 32, 55, 59, 60, 71, 94, 103, 104, 105, 109, 112, 114, 117, 0};
            static const int64_t i0[20] = {3542, 1996, 4625, 1999, 1996, 2011, 1997, 5472, 1996, 5532, 1997, 2008, 1037, 16465,
                                           10427, 1998, 2037, 2000, 2098, 0};
            assert_memory_equal(pos->i64, p0, sizeof p0);
            assert_memory_equal(mid->i64, i0, sizeof i0);
            for (int k = 0; k < 20; k++) assert_true(w->f32[k] == (k < 19 ? 1.0f : 0.0f));
            assert_int_equal(nsp->i64[0], 1);
            static const int64_t head[6] = {101, 2005, 2062, 2084, 1037, 103};
            assert_memory_equal(ids->i64, head, sizeof head);
            /* re-encode and decode: same features */
            uint8_t *enc;
            size_t elen;
            assert_int_equal(rt_example_encode(&ex, &enc, &elen), RT_OK);
            rt_example back;
            assert_int_equal(rt_example_parse(enc, elen, &back, "enc"), RT_OK);
            for (int k = 0; k < ex.n; k++) {
                const rt_feature *a = &ex.f[k], *b = rt_example_get(&back, a->name);
                assert_non_null(b);
                assert_int_equal(a->kind, b->kind);
                assert_int_equal(a->n, b->n);
                if (a->kind == RT_FEAT_INT64) assert_memory_equal(a->i64, b->i64, (size_t)a->n * 8);
                else assert_memory_equal(a->f32, b->f32, (size_t)a->n * 4);
            }
            assert_int_equal(elen, n);   /* same size as TF's own encoding (packed) */
            free(enc);
            rt_example_free(&back);
        }
        rt_example_free(&ex);
        count++;
    }
    assert_int_equal(count, 60);
    assert_int_equal(nsp1, 32);
    assert_int_equal(full, 33);
    rt_tfrecord_close(r);
}

static void test_roundtrip_and_corruption(void **state) {
    (void)state;
    char dir[] = "/tmp/rt_test_tfr_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof path, "%s/x.tfrecord", dir);
    rt_tfrecord_writer *w = rt_tfrecord_writer_open(path);
    assert_non_null(w);
    for (int i = 0; i < 3; i++) {
        rt_example ex = {0};
        int64_t ids[3] = {i, -1, 1LL << 40};
        float f[2] = {0.5f * (float)i, -2};
        const uint8_t *strs[2] = {(const uint8_t *)"hello", (const uint8_t *)"w\0rld"};
        size_t lens[2] = {5, 5};
        rt_example_add_int64(&ex, "ids", ids, 3);
        rt_example_add_float(&ex, "f", f, 2);
        rt_example_add_bytes(&ex, "s", strs, lens, 2);
        rt_example_add_int64(&ex, "empty", NULL, 0);
        uint8_t *b;
        size_t n;
        assert_int_equal(rt_example_encode(&ex, &b, &n), RT_OK);
        assert_int_equal(rt_tfrecord_write(w, b, n), RT_OK);
        free(b);
        rt_example_free(&ex);
    }
    assert_int_equal(rt_tfrecord_writer_close(w), RT_OK);
    uint8_t *img;
    size_t len;
    assert_int_equal(rt_read_file(path, &img, &len), RT_OK);
    rt_tfrecord_reader *r = rt_tfrecord_open_mem(img, len, "mem.tfrecord");
    const uint8_t *d;
    size_t n;
    int i = 0;
    while (rt_tfrecord_next(r, &d, &n) == 1) {
        rt_example ex;
        assert_int_equal(rt_example_parse(d, n, &ex, "x"), RT_OK);
        const rt_feature *f = rt_example_get(&ex, "ids");
        assert_int_equal(f->n, 3);
        assert_int_equal(f->i64[0], i);
        assert_int_equal(f->i64[1], -1);
        assert_int_equal(f->i64[2], 1LL << 40);
        f = rt_example_get(&ex, "f");
        assert_true(f->f32[0] == 0.5f * (float)i && f->f32[1] == -2);
        f = rt_example_get(&ex, "s");
        assert_int_equal(f->kind, RT_FEAT_BYTES);
        assert_int_equal(f->blen[1], 5);
        assert_memory_equal(f->bytes[1], "w\0rld", 5);
        assert_int_equal(rt_example_get(&ex, "empty")->n, 0);
        rt_example_free(&ex);
        i++;
    }
    assert_int_equal(i, 3);
    rt_tfrecord_close(r);
    /* corruption: flipped data byte, flipped length byte, truncation */
    struct { size_t at; const char *needle; } cases[] = {{20, "data CRC mismatch"}, {2, "length CRC mismatch"}};
    for (int c = 0; c < 2; c++) {
        img[cases[c].at] ^= 0x40;
        r = rt_tfrecord_open_mem(img, len, "bad.tfrecord");
        int rc;
        while ((rc = rt_tfrecord_next(r, &d, &n)) == 1) {}
        assert_int_equal(rc, -1);
        if (!strstr(rt_last_error(), cases[c].needle) || !strstr(rt_last_error(), "bad.tfrecord: record 0 at byte 0"))
            fail_msg("'%s'", rt_last_error());
        rt_tfrecord_close(r);
        img[cases[c].at] ^= 0x40;
    }
    for (size_t cut = 1; cut < len; cut += 7) {
        r = rt_tfrecord_open_mem(img, cut, "cut.tfrecord");
        int rc;
        while ((rc = rt_tfrecord_next(r, &d, &n)) == 1) {}
        size_t rec = (len / 3);
        if (cut % rec == 0) assert_int_equal(rc, 0);
        else { assert_int_equal(rc, -1); assert_non_null(strstr(rt_last_error(), "truncated")); }
        rt_tfrecord_close(r);
    }
    /* a bad Example payload */
    rt_example ex;
    assert_int_not_equal(rt_example_parse((const uint8_t *)"\x0a\x05\x0a\x03\x0a\x09x", 7, &ex, "ex.bin"), RT_OK);
    assert_non_null(strstr(rt_last_error(), "ex.bin: malformed Example"));
    free(img);
    unlink(path);
    rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_toy),
        cmocka_unit_test(test_roundtrip_and_corruption),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
