/* test_hostile.c — crafted files and sizes that used to crash, hang or wrap around:
 * overflow-checked shapes in core and in every tensor reader (files built here). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/shape.h"
#include "core/tensor.h"
#include "io/ioutil.h"
#include "io/pickle.h"
#include "io/safetensors.h"
#include "io/torchbin.h"
#include "io/weights.h"
#include "io/zip.h"

static char tmpdir[256];

static int setup(void **state) {
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/rt_test_hostile_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}
static int teardown(void **state) {
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd);
}

static void expect_error(const char *needle) {
    if (!strstr(rt_last_error(), needle)) fail_msg("message '%s' lacks '%s'", rt_last_error(), needle);
}

/* ---- byte builder for pickles ---- */
typedef struct { uint8_t b[4096]; size_t n; } bb;
static void put(bb *o, const void *p, size_t n) { memcpy(o->b + o->n, p, n); o->n += n; }
static void puts_(bb *o, const char *s) { put(o, s, strlen(s)); }
static void pstr(bb *o, const char *s) {   /* BINUNICODE */
    uint8_t h[5] = {'X'};
    rt_wr32(h + 1, (uint32_t)strlen(s));
    put(o, h, 5);
    puts_(o, s);
}
static void pint(bb *o, int64_t v) {       /* LONG1 with 8 bytes */
    uint8_t h[10] = {0x8a, 8};
    rt_wr64(h + 2, (uint64_t)v);
    put(o, h, 10);
}

/* A torch.save zip holding one FloatStorage of `nel` elements and one tensor 'w' of
 * the given shape/stride over it; returns the path. */
static const char *torch_file(const char *name, int nd, const int64_t *shape, const int64_t *stride, int nel) {
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    bb p = {.n = 0};
    puts_(&p, "\x80\x02}(");
    pstr(&p, "w");
    puts_(&p, "ctorch._utils\n_rebuild_tensor_v2\n((");
    pstr(&p, "storage");
    puts_(&p, "ctorch\nFloatStorage\n");
    pstr(&p, "0");
    pstr(&p, "cpu");
    pint(&p, nel);
    puts_(&p, "tQ");
    pint(&p, 0);
    puts_(&p, "(");
    for (int i = 0; i < nd; i++) pint(&p, shape[i]);
    puts_(&p, "t(");
    for (int i = 0; i < nd; i++) pint(&p, stride[i]);
    puts_(&p, "t\x89tRu.");
    float data[64] = {0};
    rt_zip_writer w;
    assert_int_equal(rt_zip_writer_open(&w, path), RT_OK);
    const void *pc[1] = {p.b};
    size_t ps[1] = {p.n};
    assert_int_equal(rt_zip_writer_add(&w, "archive/data.pkl", pc, ps, 1), RT_OK);
    const void *dc[1] = {data};
    size_t ds[1] = {(size_t)nel * 4};
    assert_int_equal(rt_zip_writer_add(&w, "archive/data/0", dc, ds, 1), RT_OK);
    assert_int_equal(rt_zip_writer_close(&w), RT_OK);
    return path;
}

static void expect_load_error(const char *path, const char *needle) {
    rt_clear_error();
    rt_tensor_dict *d = rt_io_load(path);
    if (d) {
        rt_tensor *t = d->n ? d->items[0].t : NULL;
        if (t) {   /* what used to happen next: a copy through the wrapped shape */
            rt_tensor *c = rt_tensor_clone(t);
            rt_release(c);
        }
        rt_tdict_free(d);
        fail_msg("%s: accepted (expected '%s')", path, needle);
    }
    if (!strstr(rt_last_error(), path)) fail_msg("message '%s' does not name %s", rt_last_error(), path);
    expect_error(needle);
}

/* torch.save with shape [2^62+1, 4], strides [0, 0]: the element count wrapped to 4. */
static void test_torch_shape_overflow(void **state) {
    (void)state;
    int64_t sh[2] = {((int64_t)1 << 62) + 1, 4}, st[2] = {0, 0};
    expect_load_error(torch_file("wrap.bin", 2, sh, st, 4), "tensor 'w': shape [4611686018427387905,4] is too large");
    int64_t sh2[3] = {3, (int64_t)1 << 40, (int64_t)1 << 40}, st2[3] = {0, 0, 0};
    expect_load_error(torch_file("wrap3.bin", 3, sh2, st2, 4), "is too large");
    int64_t sh3[2] = {2, 2}, st3[2] = {(int64_t)1 << 61, 1};
    expect_load_error(torch_file("stride.bin", 2, sh3, st3, 4), "tensor 'w'");
    int64_t sh4[2] = {2, 3}, st4[2] = {3, 1};     /* an honest file still loads */
    rt_tensor_dict *d = rt_io_load(torch_file("ok.bin", 2, sh4, st4, 6));
    if (!d) fail_msg("%s", rt_last_error());
    assert_int_equal(rt_numel(rt_tdict_get(d, "w")), 6);
    rt_tdict_free(d);
}

/* safetensors shape [0, 9e15, 9e15]: no elements, but the strides overflow (UBSan). */
static void test_safetensors_stride_overflow(void **state) {
    (void)state;
    const char *hdr = "{\"t\":{\"dtype\":\"F32\",\"shape\":[0,9000000000000000,9000000000000000],\"data_offsets\":[0,0]}}";
    uint8_t buf[256];
    size_t hl = strlen(hdr);
    rt_wr64(buf, hl);
    memcpy(buf + 8, hdr, hl);
    rt_clear_error();
    rt_tensor_dict *d = rt_safetensors_load_mem(buf, 8 + hl, "zero.safetensors");
    if (d) { rt_tdict_free(d); fail_msg("accepted"); }
    expect_error("zero.safetensors: tensor 't': shape [0,9000000000000000,9000000000000000] is too large");
}

/* rt_tensor_zeros/empty with sizes whose product wraps fail instead of allocating. */
static void test_core_shape_checks(void **state) {
    (void)state;
    int64_t sh[2] = {((int64_t)1 << 62) + 1, 4};
    rt_clear_error();
    assert_null(rt_tensor_zeros(RT_F32, 2, sh));
    expect_error("shape [4611686018427387905,4] is too large");
    int64_t sh2[3] = {0, 9000000000000000, 9000000000000000};
    assert_null(rt_tensor_empty(RT_F32, 3, sh2));
    expect_error("is too large");
    int64_t sh3[1] = {(int64_t)1 << 61};          /* 2^61 floats = 2^63 bytes */
    assert_null(rt_tensor_empty(RT_F32, 1, sh3));
    expect_error("is too large");
    int64_t n;
    int64_t ok[3] = {0, 5, 7};
    assert_true(rt_shape_check(3, ok, 4, &n));
    assert_int_equal(n, 0);
    /* a view reaching past its storage is refused */
    rt_tensor *t = rt_tensor_zeros(RT_F32, 1, (int64_t[]){4});
    assert_non_null(t);
    assert_null(rt_tensor_view_of(t->storage, RT_F32, 0, 1, (int64_t[]){5}, NULL));
    expect_error("reaches past its storage");
    assert_null(rt_tensor_view_of(t->storage, RT_F32, 1, 2, (int64_t[]){2, 2}, (int64_t[]){2, 1}));
    assert_null(rt_tensor_view_of(t->storage, RT_F32, 0, 2, (int64_t[]){2, 2}, (int64_t[]){-1, 1}));
    rt_tensor *v = rt_tensor_view_of(t->storage, RT_F32, 0, 2, (int64_t[]){2, 2}, (int64_t[]){0, 1});
    assert_non_null(v);                           /* broadcast view (stride 0) is fine */
    rt_release(v);
    rt_release(t);
}

/* MEMOIZE stores at len(memo) (Python's rule, now O(1)): mixed with BINPUT 5 it is slot 1. */
static void test_pickle_memoize(void **state) {
    (void)state;
    static const uint8_t p[] = "\x80\x04](\x8c\x01" "aq\x05\x8c\x01" "b\x94h\x01h\x05" "e.";
    pk_val *root;
    pk_doc *doc = rt_pickle_load(p, sizeof p - 1, "memo.pkl", &root);
    if (!doc) fail_msg("%s", rt_last_error());
    assert_int_equal(root->kind, PK_LIST);
    assert_int_equal(root->n, 4);
    assert_string_equal(root->items[2]->s, "b");
    assert_string_equal(root->items[3]->s, "a");
    rt_pickle_free(doc);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_torch_shape_overflow),
        cmocka_unit_test(test_safetensors_stride_overflow),
        cmocka_unit_test(test_core_shape_checks),
        cmocka_unit_test(test_pickle_memoize),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
