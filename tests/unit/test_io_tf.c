/* test_io_tf.c — TF1 checkpoints (SSTable index, BundleEntryProto, shards, CRCs),
 * the TF -> PyTorch name map, snappy. Fixtures: scripts/golden_tf_io.py. */
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
#include "io/sstable.h"
#include "io/tfckpt.h"
#include "io/tfnames.h"

#define FIX "tests/golden/tfckpt/"

static void test_names(void **state) {
    (void)state;
    static const struct { const char *tf, *pt; int tr; } m[] = {
        {"bert/embeddings/word_embeddings", "bert.embeddings.word_embeddings.weight", 0},
        {"bert/embeddings/token_type_embeddings", "bert.embeddings.token_type_embeddings.weight", 0},
        {"bert/embeddings/LayerNorm/gamma", "bert.embeddings.LayerNorm.weight", 0},
        {"bert/embeddings/LayerNorm/beta", "bert.embeddings.LayerNorm.bias", 0},
        {"bert/encoder/layer_0/attention/self/query/kernel", "bert.encoder.layer.0.attention.self.query.weight", 1},
        {"bert/encoder/layer_11/attention/self/value/bias", "bert.encoder.layer.11.attention.self.value.bias", 0},
        {"bert/encoder/layer_3/attention/output/LayerNorm/gamma", "bert.encoder.layer.3.attention.output.LayerNorm.weight", 0},
        {"bert/encoder/layer_2/intermediate/dense/kernel", "bert.encoder.layer.2.intermediate.dense.weight", 1},
        {"bert/pooler/dense/kernel", "bert.pooler.dense.weight", 1},
        {"cls/predictions/transform/dense/kernel", "cls.predictions.transform.dense.weight", 1},
        {"cls/predictions/transform/LayerNorm/beta", "cls.predictions.transform.LayerNorm.bias", 0},
        {"cls/predictions/output_bias", "cls.predictions.bias", 0},
        {"cls/seq_relationship/output_weights", "cls.seq_relationship.weight", 0},
        {"cls/seq_relationship/output_bias", "cls.seq_relationship.bias", 0},
        {"output_weights", "classifier.weight", 0},
        {"output_bias", "classifier.bias", 0},
        {"cls/squad/output_weights", "qa_outputs.weight", 0},
        {"cls/squad/output_bias", "qa_outputs.bias", 0},
    };
    char out[256];
    int tr;
    for (size_t i = 0; i < sizeof m / sizeof *m; i++) {
        assert_int_equal(rt_tf_to_torch_name(m[i].tf, out, sizeof out, &tr), 1);
        assert_string_equal(out, m[i].pt);
        assert_int_equal(tr, m[i].tr);
    }
    static const char *skip[] = {
        "bert/embeddings/word_embeddings/adam_m", "bert/embeddings/word_embeddings/adam_v",
        "bert/pooler/dense/kernel/lamb_m", "bert/pooler/dense/kernel/lamb_v", "global_step", "loss_scale",
        "current_loss_scale", "good_steps", "bert/pooler/dense/kernel/Adam_1", "beta1_power",
    };
    for (size_t i = 0; i < sizeof skip / sizeof *skip; i++)
        if (rt_tf_to_torch_name(skip[i], out, sizeof out, &tr) != 0) fail_msg("%s not skipped", skip[i]);
    assert_int_equal(rt_tf_to_torch_name("bert/encoder/layer_0/attention/self/query/kernel", out, 10, &tr), -1);
}

static void test_snappy(void **state) {
    (void)state;
    uint8_t *o;
    size_t n;
    /* len 10: literal "abcd", copy(len 6, offset 4) */
    assert_int_equal(rt_snappy_uncompress((const uint8_t *)"\x0a\x0c" "abcd" "\x09\x04", 8, &o, &n), RT_OK);
    assert_int_equal(n, 10);
    assert_memory_equal(o, "abcdabcdab", 10);
    free(o);
    assert_int_not_equal(rt_snappy_uncompress((const uint8_t *)"\x0a\x0c" "abcd" "\x09\x05", 8, &o, &n), RT_OK);
    assert_int_not_equal(rt_snappy_uncompress((const uint8_t *)"\x05\x0c" "abcd", 6, &o, &n), RT_OK);
}

static void same(const rt_tensor *a, const rt_tensor *b, const char *name) {
    if (a->dtype != b->dtype || !rt_same_shape(a, b) || memcmp(rt_data(a), rt_data(b), rt_nbytes(a)) != 0)
        fail_msg("'%s' differs", name);
}

static void test_read_tf_names(void **state) {
    (void)state;
    rt_tensor_dict *exp = rt_safetensors_load(FIX "expected.safetensors");
    assert_non_null(exp);
    rt_tf_ckpt *c = rt_tfckpt_open(FIX "model.ckpt");
    if (!c) fail_msg("%s", rt_last_error());
    assert_int_equal(c->num_shards, 2);
    assert_int_equal(c->n, exp->n + 1);                      /* + the string variable */
    const rt_tf_var *v = rt_tfckpt_find(c, "extra/string");
    assert_non_null(v);
    assert_string_equal(v->dtype_name, "string");
    assert_null(rt_tfckpt_read(c, v));
    assert_non_null(strstr(rt_last_error(), "extra/string"));
    v = rt_tfckpt_find(c, "bert/encoder/layer_11/intermediate/dense/kernel");
    assert_int_equal(v->ndim, 2);
    assert_int_equal(v->shape[0], 4);
    assert_int_equal(v->shape[1], 8);
    rt_tfckpt_free(c);
    /* raw names: everything numeric, values identical */
    rt_tensor_dict *d = rt_tfckpt_load(FIX "model.ckpt.index", 0);
    if (!d) fail_msg("%s", rt_last_error());
    assert_int_equal(d->n, exp->n);
    for (int i = 0; i < exp->n; i++) {
        rt_tensor *t = rt_tdict_get(d, exp->items[i].name);
        if (!t) fail_msg("missing %s", exp->items[i].name);
        same(t, exp->items[i].t, exp->items[i].name);
    }
    assert_string_equal(rt_tdict_get_meta(d, "skipped"), "extra/string");
    rt_tdict_free(d);
    rt_tdict_free(exp);
}

static void test_read_torch_names(void **state) {
    (void)state;
    rt_tensor_dict *exp = rt_safetensors_load(FIX "expected.safetensors");
    rt_tensor_dict *d = rt_tfckpt_load(FIX, 1);                /* a directory: model.ckpt */
    if (!d) fail_msg("%s", rt_last_error());
    rt_tensor *k = rt_tdict_get(exp, "bert/encoder/layer_11/intermediate/dense/kernel");
    rt_tensor *w = rt_tdict_get(d, "bert.encoder.layer.11.intermediate.dense.weight");
    assert_non_null(w);
    assert_int_equal(w->shape[0], 8);
    assert_int_equal(w->shape[1], 4);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 8; j++) assert_true(rt_f32(w)[j * 4 + i] == rt_f32(k)[i * 8 + j]);
    same(rt_tdict_get(d, "cls.seq_relationship.weight"), rt_tdict_get(exp, "cls/seq_relationship/output_weights"), "nsp");
    same(rt_tdict_get(d, "classifier.weight"), rt_tdict_get(exp, "output_weights"), "classifier");
    same(rt_tdict_get(d, "qa_outputs.bias"), rt_tdict_get(exp, "cls/squad/output_bias"), "qa");
    same(rt_tdict_get(d, "bert.embeddings.LayerNorm.weight"), rt_tdict_get(exp, "bert/embeddings/LayerNorm/gamma"), "gamma");
    same(rt_tdict_get(d, "cls.predictions.bias"), rt_tdict_get(exp, "cls/predictions/output_bias"), "mlm bias");
    assert_null(rt_tdict_get(d, "global_step"));
    const char *sk = rt_tdict_get_meta(d, "skipped");
    assert_non_null(sk);
    static const char *want[] = {"adam_m", "adam_v", "lamb_m", "lamb_v", "global_step", "loss_scale", "good_steps", "extra/string"};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) assert_non_null(strstr(sk, want[i]));
    for (int i = 0; i < d->n; i++) assert_null(strstr(d->items[i].name, "adam"));
    rt_tdict_free(d);
    rt_tdict_free(exp);
}

static void test_many_blocks(void **state) {
    (void)state;
    rt_tensor_dict *d = rt_tfckpt_load(FIX "many.ckpt", 0);
    if (!d) fail_msg("%s", rt_last_error());
    assert_int_equal(d->n, 300);
    for (int i = 0; i < 300; i += 37) {
        char name[32];
        snprintf(name, sizeof name, "many/v_%03d", i);
        rt_tensor *t = rt_tdict_get(d, name);
        assert_non_null(t);
        assert_true(rt_f32(t)[0] == (float)i && rt_f32(t)[1] == (float)-i);
    }
    rt_tdict_free(d);
}

static void copy_file(const char *from, const char *to, long flip, long cut) {
    uint8_t *b;
    size_t n;
    assert_int_equal(rt_read_file(from, &b, &n), RT_OK);
    if (flip >= 0) b[flip] ^= 0x20;
    if (cut >= 0) n = (size_t)cut;
    FILE *f = fopen(to, "wb");
    assert_non_null(f);
    fwrite(b, 1, n, f);
    fclose(f);
    free(b);
}

static void expect(const char *prefix, const char *needle1, const char *needle2) {
    rt_clear_error();
    rt_tensor_dict *d = rt_tfckpt_load(prefix, 1);
    if (d) { rt_tdict_free(d); fail_msg("accepted (expected '%s')", needle1); }
    if (!strstr(rt_last_error(), needle1) || (needle2 && !strstr(rt_last_error(), needle2)))
        fail_msg("'%s' lacks '%s'/'%s'", rt_last_error(), needle1, needle2 ? needle2 : "");
}

static void test_corrupt(void **state) {
    (void)state;
    char dir[] = "/tmp/rt_test_tf_XXXXXX", p[128], q[128];
    assert_non_null(mkdtemp(dir));
    snprintf(p, sizeof p, "%s/m", dir);
    snprintf(q, sizeof q, "%s/m.index", dir);
    copy_file(FIX "model.ckpt.index", q, -1, -1);
    char d0[128], d1[128];
    snprintf(d0, sizeof d0, "%s/m.data-00000-of-00002", dir);
    snprintf(d1, sizeof d1, "%s/m.data-00001-of-00002", dir);
    expect(p, "m.data-00000-of-00002", "No such file");              /* missing shard */
    copy_file(FIX "model.ckpt.data-00000-of-00002", d0, 20, -1);
    copy_file(FIX "model.ckpt.data-00001-of-00002", d1, -1, -1);
    expect(p, "CRC32C mismatch", "m.data-00000-of-00002");          /* flipped data byte */
    copy_file(FIX "model.ckpt.data-00000-of-00002", d0, -1, 500);
    expect(p, "truncated", "m.data-00000-of-00002");                /* short shard */
    copy_file(FIX "model.ckpt.data-00000-of-00002", d0, -1, -1);
    rt_tensor_dict *ok = rt_tfckpt_load(p, 1);
    assert_non_null(ok);
    rt_tdict_free(ok);
    copy_file(FIX "model.ckpt.index", q, 30, -1);
    expect(p, "m.index", "CRC mismatch");                           /* flipped index byte */
    copy_file(FIX "model.ckpt.index", q, -1, 1000);
    expect(p, "m.index", "bad table magic");                        /* truncated index */
    copy_file(FIX "model.ckpt.index", q, -1, 10);
    expect(p, "m.index", "too short");
    snprintf(q, sizeof q, "%s/nothere", dir);
    expect(q, "nothere.index", NULL);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* A hand-built table whose data block is snappy-compressed (TF writes raw blocks). */
static void test_snappy_table(void **state) {
    (void)state;
    uint8_t blk[128], t[512];
    size_t n = 0, p = 0;
    static const uint8_t hdr[] = {0x08, 0x01}, ent[] = {0x08, 0x01, 0x12, 0x04, 0x12, 0x02, 0x08, 0x02, 0x28, 0x08};
    blk[n++] = 0; blk[n++] = 0; blk[n++] = sizeof hdr;                  /* key "" */
    memcpy(blk + n, hdr, sizeof hdr); n += sizeof hdr;
    blk[n++] = 0; blk[n++] = 1; blk[n++] = sizeof ent; blk[n++] = 'v';  /* key "v" */
    memcpy(blk + n, ent, sizeof ent); n += sizeof ent;
    rt_wr32(blk + n, 0); rt_wr32(blk + n + 4, 1); n += 8;               /* one restart at 0 */
    t[p++] = (uint8_t)n;                                                 /* snappy: length, one literal */
    t[p++] = (uint8_t)((n - 1) << 2);
    memcpy(t + p, blk, n); p += n;
    size_t dsize = p;
    t[p] = 1;                                                            /* type snappy */
    rt_wr32(t + p + 1, rt_crc32c_mask(rt_crc32c(t, p + 1)));
    p += 5;
    size_t ioff = p, q = p;
    t[q++] = 0; t[q++] = 1; t[q++] = 2; t[q++] = 'v'; t[q++] = 0; t[q++] = (uint8_t)dsize;
    rt_wr32(t + q, 0); rt_wr32(t + q + 4, 1); q += 8;
    size_t isize = q - ioff;
    t[q] = 0;
    rt_wr32(t + q + 1, rt_crc32c_mask(rt_crc32c(t + ioff, isize + 1)));
    q += 5;
    memset(t + q, 0, 48);
    t[q] = 0; t[q + 1] = 0; t[q + 2] = (uint8_t)ioff; t[q + 3] = (uint8_t)isize;   /* metaindex, index handles */
    rt_wr64(t + q + 40, 0xdb4775248b80fb57ull);
    q += 48;
    rt_tf_ckpt *c = rt_tfckpt_parse_index(t, q, "snappy.index");
    if (!c) fail_msg("%s", rt_last_error());
    assert_int_equal(c->n, 1);
    assert_string_equal(c->v[0].name, "v");
    assert_int_equal(c->v[0].ndim, 1);
    assert_int_equal(c->v[0].shape[0], 2);
    assert_int_equal(c->v[0].size, 8);
    rt_tfckpt_free(c);
    t[5] ^= 1;                                                           /* corrupt compressed data */
    assert_null(rt_tfckpt_parse_index(t, q, "snappy.index"));
    assert_non_null(strstr(rt_last_error(), "CRC mismatch"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_snappy),
        cmocka_unit_test(test_snappy_table),
        cmocka_unit_test(test_read_tf_names),
        cmocka_unit_test(test_read_torch_names),
        cmocka_unit_test(test_many_blocks),
        cmocka_unit_test(test_corrupt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
