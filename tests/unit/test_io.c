/* test_io.c — safetensors reader/writer, tensor dict, checksums, half floats. */
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
#include "io/safetensors.h"
#include "io/tensor_dict.h"

static char tmpdir[256];

static int setup(void **state) {
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/rt_test_io_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}
static int teardown(void **state) {
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    return system(cmd);
}

static void test_crc(void **state) {
    (void)state;
    assert_int_equal(rt_crc32c("123456789", 9), 0xE3069283u);
    assert_int_equal(rt_crc32_extend(0, "123456789", 9), 0xCBF43926u);
    /* extend in pieces == whole */
    uint32_t c = rt_crc32c_extend(rt_crc32c("1234", 4), "56789", 5);
    assert_int_equal(c, 0xE3069283u);
    uint8_t zeros[32] = {0};
    assert_int_equal(rt_crc32c(zeros, 32), 0x8A9136AAu);   /* RFC 3720 test vector */
    assert_int_equal(rt_crc32c_unmask(rt_crc32c_mask(0x12345678u)), 0x12345678u);
}

static void test_half(void **state) {
    (void)state;
    assert_true(rt_f16_to_f32(0x3c00) == 1.0f);
    assert_true(rt_f16_to_f32(0xc000) == -2.0f);
    assert_true(rt_f16_to_f32(0x7bff) == 65504.0f);
    assert_true(rt_f16_to_f32(0x0001) == 5.9604644775390625e-08f);
    assert_true(rt_f16_to_f32(0x03ff) == 6.097555160522461e-05f);
    assert_true(rt_f16_to_f32(0x7c00) > 1e38f);
    assert_true(rt_f16_to_f32(0x3555) == 0.333251953125f);
}

static void test_tdict(void **state) {
    (void)state;
    rt_tensor_dict *d = rt_tdict_new();
    int64_t sh[1] = {3};
    rt_tensor *a = rt_tensor_zeros(RT_F32, 1, sh), *b = rt_tensor_zeros(RT_I64, 1, sh);
    assert_int_equal(rt_tdict_add(d, "a", a), RT_OK);
    assert_int_equal(rt_tdict_add(d, "b", b), RT_OK);
    assert_int_equal(rt_tdict_add(d, "a", b), RT_OK);   /* replace keeps order */
    assert_int_equal(d->n, 2);
    assert_ptr_equal(rt_tdict_get(d, "a"), b);
    assert_null(rt_tdict_get(d, "c"));
    assert_int_equal(rt_tdict_set_meta(d, "k", "v1"), RT_OK);
    assert_int_equal(rt_tdict_set_meta(d, "k", "v2"), RT_OK);
    assert_string_equal(rt_tdict_get_meta(d, "k"), "v2");
    rt_release(a);
    rt_release(b);
    rt_tdict_free(d);
}

static rt_tensor *ramp(rt_dtype dt, int nd, const int64_t *sh) {
    rt_tensor *t = rt_tensor_empty(dt, nd, sh);
    int64_t n = rt_numel(t);
    for (int64_t i = 0; i < n; i++) {
        switch (dt) {
        case RT_F32: ((float *)rt_data(t))[i] = 0.5f * (float)i - 1; break;
        case RT_I64: ((int64_t *)rt_data(t))[i] = i * 1000000007LL; break;
        case RT_I32: ((int32_t *)rt_data(t))[i] = (int32_t)(-i); break;
        case RT_BF16: ((uint16_t *)rt_data(t))[i] = rt_f32_to_bf16((float)i); break;
        default: ((uint8_t *)rt_data(t))[i] = (uint8_t)(i & 1); break;
        }
    }
    return t;
}

static void test_safetensors_roundtrip(void **state) {
    (void)state;
    rt_tensor_dict *d = rt_tdict_new();
    int64_t s23[2] = {2, 3}, s5[1] = {5}, s0[2] = {0, 4};
    rt_tdict_add_owned(d, "flag", ramp(RT_BOOL, 1, s5));       /* odd-sized first: writer must realign */
    rt_tdict_add_owned(d, "w \"quoted\"", ramp(RT_F32, 2, s23));
    rt_tdict_add_owned(d, "ids", ramp(RT_I64, 1, s5));
    rt_tdict_add_owned(d, "half", ramp(RT_BF16, 1, s5));
    rt_tdict_add_owned(d, "neg", ramp(RT_I32, 1, s5));
    rt_tdict_add_owned(d, "empty", rt_tensor_zeros(RT_F32, 2, s0));
    rt_tdict_add_owned(d, "scalar", rt_tensor_zeros(RT_F32, 0, s0));
    rt_tdict_set_meta(d, "format", "pt");
    char path[300];
    snprintf(path, sizeof path, "%s/a.safetensors", tmpdir);
    assert_int_equal(rt_safetensors_save(path, d), RT_OK);
    rt_tensor_dict *e = rt_safetensors_load(path);
    assert_non_null(e);
    assert_int_equal(e->n, 7);
    assert_string_equal(rt_tdict_get_meta(e, "format"), "pt");
    for (int i = 0; i < d->n; i++) {
        rt_tensor *x = d->items[i].t, *y = rt_tdict_get(e, d->items[i].name);
        assert_non_null(y);
        assert_int_equal(x->dtype, y->dtype);
        assert_int_equal(x->ndim, y->ndim);
        assert_true(rt_same_shape(x, y));
        assert_memory_equal(rt_data(x), rt_data(y), rt_nbytes(x));
        if (rt_numel(y) > 0) {
            assert_int_equal(y->storage->kind, RT_STORAGE_OWNED);  /* one copy of the file, not a mapping */
            ((uint8_t *)rt_data(y))[0] ^= 1;                      /* writable, the file is untouched */
        }
    }
    rt_tdict_free(e);
    e = rt_safetensors_load(path);                               /* the file is unchanged */
    assert_memory_equal(rt_data(rt_tdict_get(e, "ids")), rt_data(rt_tdict_get(d, "ids")), 40);
    rt_tdict_free(e);
    rt_tdict_free(d);
    /* no temp file left behind */
    char cmd[400];
    snprintf(cmd, sizeof cmd, "ls %s | grep -q tmp", tmpdir);
    assert_int_not_equal(system(cmd), 0);
}

/* Build a file image: header JSON + data bytes. */
static size_t image(uint8_t *out, const char *json, const void *data, size_t dn) {
    size_t h = strlen(json);
    rt_wr64(out, h);
    memcpy(out + 8, json, h);
    if (dn) memcpy(out + 8 + h, data, dn);
    return 8 + h + dn;
}

static void expect_error(const uint8_t *buf, size_t n, const char *needle) {
    rt_clear_error();
    rt_tensor_dict *d = rt_safetensors_load_mem(buf, n, "bad.safetensors");
    if (d) { rt_tdict_free(d); fail_msg("accepted a bad file (expected '%s')", needle); }
    const char *msg = rt_last_error();
    if (!strstr(msg, "bad.safetensors") || !strstr(msg, needle))
        fail_msg("message '%s' lacks '%s'", msg, needle);
}

static void test_safetensors_bad(void **state) {
    (void)state;
    uint8_t buf[1024];
    float data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    size_t n;
    n = image(buf, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}}", data, 16);
    rt_tensor_dict *ok = rt_safetensors_load_mem(buf, n, "ok");
    assert_non_null(ok);
    assert_true(rt_f32(rt_tdict_get(ok, "a"))[3] == 4.0f);
    rt_tdict_free(ok);
    expect_error(buf, n - 1, "truncated");
    expect_error(buf, 5, "truncated header length");
    expect_error(buf, 20, "truncated: header needs");
    n = image(buf, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}", data, 16);
    expect_error(buf, n, "not valid JSON");
    n = image(buf, "{\"a\":{\"dtype\":\"Q7\",\"shape\":[2,2],\"data_offsets\":[0,16]}}", data, 16);
    expect_error(buf, n, "unsupported dtype 'Q7'");
    n = image(buf, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,16]}}", data, 16);
    expect_error(buf, n, "shape [2,3] of F32 needs 24 bytes but data_offsets span 16");
    n = image(buf, "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2,2],\"data_offsets\":[0,16]}}", data, 16);
    expect_error(buf, n, "bad shape");
    n = image(buf, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
                   "\"b\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[8,24]}}", data, 32);
    expect_error(buf, n, "overlap");
    n = image(buf, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[16,0]}}", data, 16);
    expect_error(buf, n, "bad data_offsets");
    n = image(buf, "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                   "\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,32]}}", data, 32);
    expect_error(buf, n, "appears twice");
    n = image(buf, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", data, 4);
    expect_error(buf, n, "7 dims");
    n = image(buf, "{\"__metadata__\":{\"x\":1}}", NULL, 0);
    expect_error(buf, n, "not a string");
    n = image(buf, "[1,2]", NULL, 0);
    expect_error(buf, n, "not a JSON object");
    rt_wr64(buf, 1ull << 40);
    expect_error(buf, 64, "implausible");
}

static void test_safetensors_convert(void **state) {
    (void)state;
    /* F16, F64, U8 and an unaligned F32 (header length not a multiple of 4) */
    uint8_t buf[512], data[64];
    uint16_t h[2] = {0x3c00, 0xc000};
    double dd[2] = {0.25, -3.5};
    float f[2] = {7.5f, -1.25f};
    memcpy(data, h, 4);
    memcpy(data + 4, dd, 16);
    data[20] = 200;
    memcpy(data + 21, f, 8);
    size_t n = image(buf, "{\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]},"
                          "\"d\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[4,20]},"
                          "\"u\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[20,21]},"
                          "\"f\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[21,29]}}", data, 29);
    rt_tensor_dict *d = rt_safetensors_load_mem(buf, n, "conv");
    assert_non_null(d);
    rt_tensor *t = rt_tdict_get(d, "h");
    assert_int_equal(t->dtype, RT_F32);
    assert_true(rt_f32(t)[0] == 1.0f && rt_f32(t)[1] == -2.0f);
    t = rt_tdict_get(d, "d");
    assert_true(rt_f32(t)[0] == 0.25f && rt_f32(t)[1] == -3.5f);
    t = rt_tdict_get(d, "u");
    assert_int_equal(t->dtype, RT_I32);
    assert_int_equal(((int32_t *)rt_data(t))[0], 200);
    t = rt_tdict_get(d, "f");
    assert_true(rt_f32(t)[0] == 7.5f && rt_f32(t)[1] == -1.25f);
    rt_tdict_free(d);
}

static void test_safetensors_missing_file(void **state) {
    (void)state;
    assert_null(rt_safetensors_load("/nonexistent/x.safetensors"));
    assert_non_null(strstr(rt_last_error(), "/nonexistent/x.safetensors"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc),
        cmocka_unit_test(test_half),
        cmocka_unit_test(test_tdict),
        cmocka_unit_test(test_safetensors_roundtrip),
        cmocka_unit_test(test_safetensors_bad),
        cmocka_unit_test(test_safetensors_convert),
        cmocka_unit_test(test_safetensors_missing_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
