/* test_io_torch.c — pytorch_model.bin (zip + pickle) reader and writer, zip, pickle. */
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
#include "io/pickle.h"
#include "io/safetensors.h"
#include "io/torchbin.h"
#include "io/weights.h"
#include "io/zip.h"

#define FIX "tests/golden/weights_io/"
static char tmpdir[256];

static int setup(void **state) {
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/rt_test_io_torch_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}
static int teardown(void **state) {
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd);
}

/* Every tensor of `exp` must be in `got` with the same dtype, shape and values. */
static void same_dict(const rt_tensor_dict *got, const rt_tensor_dict *exp, const char *skip) {
    for (int i = 0; i < exp->n; i++) {
        if (skip && strncmp(exp->items[i].name, skip, strlen(skip)) == 0) continue;
        rt_tensor *e = exp->items[i].t, *g = rt_tdict_get(got, exp->items[i].name);
        if (!g) fail_msg("missing '%s'", exp->items[i].name);
        assert_int_equal(g->dtype, e->dtype);
        assert_int_equal(g->ndim, e->ndim);
        assert_true(rt_same_shape(g, e));
        rt_tensor *gc = rt_tensor_contiguous(g), *ec = rt_tensor_contiguous(e);
        if (memcmp(rt_data(gc), rt_data(ec), rt_nbytes(e)) != 0) fail_msg("values of '%s' differ", exp->items[i].name);
        rt_release(gc);
        rt_release(ec);
    }
}

static void test_torchbin_read(void **state) {
    (void)state;
    rt_tensor_dict *exp = rt_safetensors_load(FIX "expected.safetensors");
    assert_non_null(exp);
    const char *files[] = {FIX "state.bin", FIX "archive.bin", FIX "proto4.bin"};
    for (int f = 0; f < 3; f++) {
        rt_tensor_dict *d = rt_io_load(files[f]);
        if (!d) fail_msg("%s", rt_last_error());
        same_dict(d, exp, f ? "extra." : NULL);
        rt_tensor *a = rt_tdict_get(d, "bert.embeddings.word_embeddings.weight");
        rt_tensor *b = rt_tdict_get(d, "cls.predictions.decoder.weight");
        assert_ptr_equal(a->storage, b->storage);           /* tied */
        assert_int_equal(a->offset, b->offset);
        assert_int_equal(a->storage->kind, RT_STORAGE_OWNED); /* one copy of the file, viewed */
        rt_tensor *h1 = rt_tdict_get(d, "first_half"), *h2 = rt_tdict_get(d, "second_half");
        assert_int_equal(h2->offset - h1->offset, 5);         /* one storage, two offsets */
        rt_tensor *t = rt_tdict_get(d, "transposed");
        assert_int_equal(t->stride[0], 1);
        assert_int_equal(t->stride[1], 6);
        assert_int_equal(rt_tdict_get(d, "half")->dtype, RT_F32);
        if (f == 0) {
            assert_non_null(rt_tdict_get(d, "extra.nested"));
            assert_string_equal(rt_tdict_get_meta(d, "extra.epoch"), "3");
            assert_string_equal(rt_tdict_get_meta(d, "extra.note"), "hi");
        }
        rt_f32(a)[0] += 1;                                     /* writable copy */
        rt_tdict_free(d);
    }
    rt_tdict_free(exp);
}

static void expect_load_error(const char *path, const char *needle) {
    rt_clear_error();
    rt_tensor_dict *d = rt_io_load(path);
    if (d) { rt_tdict_free(d); fail_msg("%s: accepted (expected '%s')", path, needle); }
    if (!strstr(rt_last_error(), path) || !strstr(rt_last_error(), needle))
        fail_msg("message '%s' lacks '%s'", rt_last_error(), needle);
}

static void test_torchbin_reject(void **state) {
    (void)state;
    unlink("/tmp/retort_pwned");
    expect_load_error(FIX "evil_system.bin", "refusing to load global 'posix.system'");
    expect_load_error(FIX "evil_eval.bin", "refusing to load global 'builtins.eval'");
    assert_int_not_equal(access("/tmp/retort_pwned", F_OK), 0);
    expect_load_error(FIX "legacy.bin", "legacy");
    expect_load_error(FIX "deflated.bin", "compressed");
}

static uint8_t *slurp(const char *path, size_t *n) {
    uint8_t *b;
    assert_int_equal(rt_read_file(path, &b, n), RT_OK);
    return b;
}

static void test_torchbin_corrupt(void **state) {
    (void)state;
    size_t n;
    uint8_t *b = slurp(FIX "state.bin", &n);
    /* every truncation fails cleanly */
    for (size_t cut = 0; cut < n; cut += 97) {
        rt_tensor_dict *d = rt_torchbin_load_mem(b, cut, "cut.bin");
        if (d) { rt_tdict_free(d); fail_msg("truncated at %zu accepted", cut); }
        assert_non_null(strstr(rt_last_error(), "cut.bin"));
    }
    /* a flipped byte in data.pkl: CRC mismatch */
    uint8_t *c = malloc(n);
    memcpy(c, b, n);
    rt_zip *z = rt_zip_open_mem(c, n, "x");
    const rt_zip_entry *e = rt_zip_find(z, "state/data.pkl");
    assert_non_null(e);
    c[e->data_offset + 40] ^= 0x55;
    rt_zip_free(z);
    assert_null(rt_torchbin_load_mem(c, n, "flip.bin"));
    assert_non_null(strstr(rt_last_error(), "CRC"));
    free(c);
    free(b);
    assert_null(rt_torchbin_load_mem("hello world, this is not a zip file", 35, "text.bin"));
    assert_non_null(strstr(rt_last_error(), "not a zip file"));
}

static void test_pickle_subset(void **state) {
    (void)state;
    pk_val *root;
    /* dict with list, tuple, ints, float, str, nested memo */
    static const uint8_t ok[] = "\x80\x02}q\x00(X\x01\x00\x00\x00" "a]q\x01(K\x01M\x00\x01J\xff\xff\xff\xff"
                                "\x8a\x02\x00\x80G?\xf8\x00\x00\x00\x00\x00\x00" "eX\x01\x00\x00\x00" "bh\x01u.";
    pk_doc *doc = rt_pickle_load(ok, sizeof ok - 1, "ok.pkl", &root);
    if (!doc) fail_msg("%s", rt_last_error());
    assert_int_equal(root->kind, PK_DICT);
    assert_int_equal(pk_len(root), 2);
    pk_val *l = pk_value(root, 0);
    assert_int_equal(l->kind, PK_LIST);
    assert_int_equal(l->n, 5);
    assert_int_equal(l->items[0]->i, 1);
    assert_int_equal(l->items[1]->i, 256);
    assert_int_equal(l->items[2]->i, -1);
    assert_int_equal(l->items[3]->i, -32768);
    assert_true(l->items[4]->f == 1.5);
    assert_ptr_equal(pk_value(root, 1), l);   /* memo shares */
    rt_pickle_free(doc);
    static const struct { const char *p; size_t n; const char *needle; } bad[] = {
        {"\x80\x02" "cos\nsystem\nX\x02\x00\x00\x00lsR.", 22, "'os.system'"},
        {"\x80\x02X\x02\x00\x00\x00" "osX\x06\x00\x00\x00" "system\x93.", 22, "'os.system'"},
        {"\x80\x02" "c__builtin__\ngetattr\n.", 24, "__builtin__.getattr"},
        {"\x80\x02]q\x00(K\x01", 8, "no STOP"},
        {"\x80\x02h\x05.", 5, "memo key missing"},
        {"\x80\x02" "0.", 4, "underflow"},
        {"\x80\x02K\x01K\x02.", 7, "exactly one value"},
        {"\x80\x02" "ccollections\nOrderedDict\n)\x81.", 30, "opcode 0x81"},
        {"\x80\x02X\xff\xff\xff\x7f" "abc", 10, "truncated"},
        {"\x80\x02" "ctorch\nFloatStorage\n)R.", 24, "called directly"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rt_clear_error();
        doc = rt_pickle_load((const uint8_t *)bad[i].p, bad[i].n, "bad.pkl", &root);
        if (doc) { rt_pickle_free(doc); fail_msg("bad pickle %zu accepted", i); }
        if (!strstr(rt_last_error(), bad[i].needle) || !strstr(rt_last_error(), "bad.pkl"))
            fail_msg("case %zu: '%s' lacks '%s'", i, rt_last_error(), bad[i].needle);
    }
}

static void test_torchbin_write(void **state) {
    (void)state;
    rt_tensor_dict *src = rt_torchbin_load(FIX "state.bin");
    assert_non_null(src);
    char path[300];
    snprintf(path, sizeof path, "%s/out.bin", tmpdir);
    assert_int_equal(rt_torchbin_save(path, src), RT_OK);
    rt_tensor_dict *back = rt_torchbin_load(path);
    if (!back) fail_msg("%s", rt_last_error());
    same_dict(back, src, NULL);
    assert_ptr_equal(rt_tdict_get(back, "bert.embeddings.word_embeddings.weight")->storage,
                     rt_tdict_get(back, "cls.predictions.decoder.weight")->storage);
    /* the zip entries are 64-byte aligned: the tensors view the file's copy */
    assert_ptr_equal(rt_tdict_get(back, "half")->storage, rt_tdict_get(back, "bert.embeddings.word_embeddings.weight")->storage);
    rt_tdict_free(back);
    /* torch.load reads it (skipped when python3-torch is absent) */
    if (system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) {
        printf("SKIP torch.load check: /usr/bin/python3 with torch not found\n");
    } else {
        char cmd[2048];
        snprintf(cmd, sizeof cmd,
                 
                 "/usr/bin/python3 - %s <<'PY'\n"
                 "import sys, torch\n"
                 "sd = torch.load(sys.argv[1])\n"
                 "a = sd['bert.embeddings.word_embeddings.weight']; b = sd['cls.predictions.decoder.weight']\n"
                 "assert a.data_ptr() == b.data_ptr(), 'tie lost'\n"
                 "assert torch.equal(torch.cat([sd['first_half'], sd['second_half']]), torch.arange(10.))\n"
                 "assert sd['transposed'].stride() == (1, 6)\n"
                 "assert torch.equal(sd['transposed'], torch.arange(24.).reshape(4, 6).t())\n"
                 "assert sd['ids'].dtype == torch.int64 and sd['ids'][0, 1].item() == 2**40\n"
                 "assert sd['mask'].tolist() == [True, False, True]\n"
                 "assert sd['bf16'].dtype == torch.bfloat16 and sd['bf16'].tolist() == [1.0, -2.5, 3.0]\n"
                 "assert sd['scalar'].dim() == 0 and sd['scalar'].item() == 2.5\n"
                 "assert sd['empty'].shape == (0, 3)\n"
                 "assert sd['half'].tolist() == [1.0, -2.0, 0.5, 65504.0]\n"
                 "PY", path);
        assert_int_equal(system(cmd), 0);
    }
    rt_tdict_free(src);
}

/* A hand-made zip64 archive: one stored entry whose sizes and offset live in the
 * zip64 extra field, a zip64 end-of-central-directory record and locator. */
static void test_zip64(void **state) {
    (void)state;
    uint8_t b[512];
    memset(b, 0, sizeof b);
    const char *name = "a/data/0", *data = "0123456789";
    size_t nl = strlen(name), p = 0;
    uint32_t crc = rt_crc32_extend(0, data, 10);
    rt_wr32(b, 0x04034b50u); rt_wr16(b + 8, 0); rt_wr32(b + 14, crc);
    rt_wr32(b + 18, 0xffffffffu); rt_wr32(b + 22, 0xffffffffu); rt_wr16(b + 26, (uint16_t)nl); rt_wr16(b + 28, 20);
    memcpy(b + 30, name, nl);
    rt_wr16(b + 30 + nl, 1); rt_wr16(b + 32 + nl, 16); rt_wr64(b + 34 + nl, 10); rt_wr64(b + 42 + nl, 10);
    size_t doff = 30 + nl + 20;
    memcpy(b + doff, data, 10);
    p = doff + 10;
    size_t cd = p;
    rt_wr32(b + p, 0x02014b50u); rt_wr32(b + p + 16, crc); rt_wr32(b + p + 20, 0xffffffffu); rt_wr32(b + p + 24, 0xffffffffu);
    rt_wr16(b + p + 28, (uint16_t)nl); rt_wr16(b + p + 30, 28); rt_wr32(b + p + 42, 0xffffffffu);
    memcpy(b + p + 46, name, nl);
    rt_wr16(b + p + 46 + nl, 1); rt_wr16(b + p + 48 + nl, 24);
    rt_wr64(b + p + 50 + nl, 10); rt_wr64(b + p + 58 + nl, 10); rt_wr64(b + p + 66 + nl, 0);
    p += 46 + nl + 28;
    size_t cdsize = p - cd, e64 = p;
    rt_wr32(b + p, 0x06064b50u); rt_wr64(b + p + 4, 44); rt_wr64(b + p + 24, 1); rt_wr64(b + p + 32, 1);
    rt_wr64(b + p + 40, cdsize); rt_wr64(b + p + 48, cd);
    p += 56;
    rt_wr32(b + p, 0x07064b50u); rt_wr64(b + p + 8, e64); rt_wr32(b + p + 16, 1);
    p += 20;
    rt_wr32(b + p, 0x06054b50u); rt_wr16(b + p + 8, 0xffff); rt_wr16(b + p + 10, 0xffff);
    rt_wr32(b + p + 12, 0xffffffffu); rt_wr32(b + p + 16, 0xffffffffu);
    p += 22;
    rt_zip *z = rt_zip_open_mem(b, p, "z64.zip");
    if (!z) fail_msg("%s", rt_last_error());
    assert_int_equal(z->n, 1);
    assert_string_equal(z->e[0].name, name);
    assert_int_equal(z->e[0].size, 10);
    assert_int_equal(z->e[0].data_offset, doff);
    const uint8_t *d = rt_zip_data(z, &z->e[0], 1);
    assert_non_null(d);
    assert_memory_equal(d, data, 10);
    rt_zip_free(z);
    rt_wr64(b + e64 + 56 + 8, 3);                  /* locator points at garbage */
    assert_null(rt_zip_open_mem(b, p, "z64.zip"));
    assert_non_null(strstr(rt_last_error(), "z64.zip: bad zip64 end-of-central-directory record"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_torchbin_read),
        cmocka_unit_test(test_torchbin_reject),
        cmocka_unit_test(test_torchbin_corrupt),
        cmocka_unit_test(test_pickle_subset),
        cmocka_unit_test(test_torchbin_write),
        cmocka_unit_test(test_zip64),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
