/* test_vocab_build.c — WordPiece learner, character vocabulary, segmenter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "text/segment.h"
#include "text/tokenizer.h"
#include "text/vocab_build.h"

static void test_wordpiece_learner(void **st) {
    (void)st;
    rt_vocab_builder *b = rt_vocab_builder_new(true);
    const char *text = "low lower lowest low low newer newest Newer wider\n";
    for (int i = 0; i < 3; i++) assert_int_equal(rt_vocab_builder_add_text(b, text, strlen(text)), RT_OK);
    assert_int_equal(rt_vocab_builder_words(b), 6);   /* "Newer" lower-cased */
    rt_vocab_build_opts o = {.size = 40, .min_frequency = 2};
    rt_vocab *v = rt_vocab_build_wordpiece(b, &o);
    assert_non_null(v);
    assert_string_equal(rt_vocab_token(v, 0, NULL), "[PAD]");
    assert_string_equal(rt_vocab_token(v, 4, NULL), "[MASK]");
    assert_string_equal(rt_vocab_token(v, 5, NULL), "d");            /* alphabet sorted */
    assert_true(rt_vocab_find(v, "##o", 3) >= 0);
    assert_true(rt_vocab_find(v, "low", 3) >= 0);                      /* frequent merges */
    assert_true(rt_vocab_size(v) <= 40);
    /* the learned vocabulary tokenizes the corpus without [UNK] */
    rt_tokenizer *t = rt_tokenizer_new(v, true, NULL, 0);
    rt_ids ids = {0};
    assert_int_equal(rt_tokenize_ids(t, text, strlen(text), &ids), RT_OK);
    for (size_t i = 0; i < ids.n; i++) assert_true(ids.v[i] != t->unk_id);
    assert_int_equal(ids.v[0], rt_vocab_find(t->vocab, "low", 3));
    rt_ids_free(&ids);
    rt_tokenizer_free(t);
    /* chars */
    const char *zh = "我爱北京，北京爱我。abc";
    assert_int_equal(rt_vocab_builder_add_text(b, zh, strlen(zh)), RT_OK);
    rt_vocab_build_opts oc = {.size = 0, .min_frequency = 1};
    v = rt_vocab_build_chars(b, &oc);
    assert_non_null(v);
    assert_true(rt_vocab_find(v, "北", 3) >= 0);
    assert_true(rt_vocab_find(v, "##b", 3) >= 0);
    rt_vocab_free(v);
    rt_vocab_builder_free(b);
}

typedef struct { char out[512]; } acc;
static int cat_word(void *c, const char *w, size_t nb) {
    acc *a = c;
    if (a->out[0]) strcat(a->out, "/");
    strncat(a->out, w, nb);
    return 0;
}

static void test_segment(void **st) {
    (void)st;
    rt_segmenter *s = rt_segmenter_new();
    const char *dict = "# comment\n北京 100 ns\n天安门 50\n北京大学 80 nt\n大学 60\n学生 40\n我 200\n爱 100\n来到 30\n";
    assert_int_equal(rt_segmenter_parse(s, dict, strlen(dict), "d.txt"), RT_OK);
    assert_int_equal(rt_segmenter_size(s), 8);
    acc a = {""};
    const char *t = "我爱北京天安门 abc12 我来到北京大学！";
    assert_int_equal(rt_segment_cut(s, t, strlen(t), RT_SEG_DAG, cat_word, &a), RT_OK);
    assert_string_equal(a.out, "我/爱/北京/天安门/ /abc12/ /我/来到/北京大学/！");
    a.out[0] = 0;
    assert_int_equal(rt_segment_cut(s, "北京大学生", strlen("北京大学生"), RT_SEG_FMM, cat_word, &a), RT_OK);
    assert_string_equal(a.out, "北京大学/生");
    assert_int_equal(rt_segmenter_parse(s, "词 x1\n", 7, "d.txt"), RT_EFORMAT);
    assert_non_null(strstr(rt_last_error(), "d.txt:1"));
    rt_segmenter_free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = { cmocka_unit_test(test_wordpiece_learner), cmocka_unit_test(test_segment) };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
