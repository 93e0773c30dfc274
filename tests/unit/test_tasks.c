/* test_tasks.c — TSV, GLUE/CLUE task, NER and SQuAD readers (in-memory inputs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "data/tasks.h"
#include "data/features.h"

#define P(task, split, s, d) rt_task_parse(task, split, s, strlen(s), "x.tsv", d)

static void test_tsv(void **st) {
    (void)st;
    rt_tsv t;
    const char *s = "\xEF\xBB\xBF" "a\tb\r\n\"q\"\t\r\rlast";
    assert_int_equal(rt_tsv_parse(s, strlen(s), &t), RT_OK);
    assert_int_equal(t.n, 4);
    assert_string_equal(t.row[0].cell[0], "a");
    assert_string_equal(t.row[1].cell[0], "\"q\"");       /* quotechar=None: quotes kept */
    assert_int_equal(t.row[1].ncell, 2);
    assert_string_equal(t.row[1].cell[1], "");
    assert_int_equal(t.row[2].ncell, 0);                  /* blank line from lone \r */
    assert_int_equal(t.row[3].line, 4);
    rt_tsv_free(&t);
}

static void test_glue(void **st) {
    (void)st;
    rt_task_data d;
    const char *mrpc = "\xEF\xBB\xBFQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tA b.\tC \"d\".\n0\t3\t4\tE\tF\n";
    assert_int_equal(P("mrpc", "train", mrpc, &d), RT_OK);
    assert_int_equal(d.n, 2);
    assert_string_equal(d.ex[0].text_a, "A b.");
    assert_string_equal(d.ex[0].text_b, "C \"d\".");
    assert_string_equal(d.ex[0].label, "1");
    assert_string_equal(d.ex[0].guid, "train-1");
    assert_int_equal(d.nlabels, 2);
    rt_task_free(&d);
    /* ragged row: error naming file:line */
    assert_int_equal(P("mrpc", "train", "h\n1\t2\t3\n", &d), RT_EFORMAT);
    assert_non_null(strstr(rt_last_error(), "x.tsv:2"));
    /* QQP skips short rows with a count */
    assert_int_equal(P("qqp", "train", "id\tq1\tq2\tquestion1\tquestion2\tis_duplicate\n7\t1\t2\ta\tb\t1\n8\t1\t2\tonly\n", &d), RT_OK);
    assert_int_equal(d.n, 1); assert_int_equal(d.skipped, 1);
    assert_string_equal(d.ex[0].guid, "train-7");
    rt_task_free(&d);
    /* CoLA: no header, text col 3, label col 1 */
    assert_int_equal(P("cola", "train", "gj04\t1\t\tThe sailors rode the breeze clear of the rocks.\n", &d), RT_OK);
    assert_int_equal(d.n, 1); assert_string_equal(d.ex[0].label, "1");
    rt_task_free(&d);
    /* MNLI: label = last column; bad label rejected */
    const char *mnli = "h\n0\t1\t2\t3\t4\t5\t6\t7\tP\tH\tneutral\tneutral\n";
    assert_int_equal(P("mnli", "dev", mnli, &d), RT_OK);
    assert_string_equal(d.ex[0].text_a, "P"); assert_string_equal(d.ex[0].label, "neutral");
    rt_task_free(&d);
    assert_int_equal(P("rte", "train", "h\n0\ta\tb\tmaybe\n", &d), RT_EFORMAT);
    assert_non_null(strstr(rt_last_error(), "x.tsv:2"));
    /* STS-B: regression, float label */
    assert_int_equal(P("sts-b", "train", "h\n0\t1\t2\t3\t4\t5\t6\tA\tB\t3.800\n", &d), RT_OK);
    assert_true(d.regression); assert_string_equal(d.ex[0].label, "3.800");
    rt_task_free(&d);
    assert_int_equal(P("sts-b", "train", "h\n0\t1\t2\t3\t4\t5\t6\tA\tB\tx\n", &d), RT_EFORMAT);
    assert_int_equal(P("nope", "train", "", &d), RT_EINVAL);
}

static void test_clue(void **st) {
    (void)st;
    rt_task_data d;
    assert_int_equal(P("chnsenti", "train", "1\t好\n0\t差\n1\t行\n", &d), RT_OK);
    assert_int_equal(d.n, 3); assert_int_equal(d.nlabels, 2);
    assert_string_equal(d.labels[0], "0"); assert_string_equal(d.ex[1].text_a, "差");
    rt_task_free(&d);
    assert_int_equal(P("lcqmc", "train", "text_a\ttext_b\tlabel\n甲\t乙\t1\n", &d), RT_OK);
    assert_int_equal(d.n, 1);
    rt_task_free(&d);
    assert_int_equal(P("lcqmc", "train", "甲\t乙\t1\n丙\t丁\t0\n", &d), RT_OK);
    assert_int_equal(d.n, 2);
    rt_task_free(&d);
    /* text-clf: first line skipped, labels in order of first appearance, any count */
    assert_int_equal(P("text-clf", "train", "label\ttext\nlove\ta\nfood\tb\nlove\tc\nart\td\n", &d), RT_OK);
    assert_int_equal(d.n, 4); assert_int_equal(d.nlabels, 3);
    assert_string_equal(d.labels[0], "love"); assert_string_equal(d.labels[2], "art");
    assert_string_equal(d.ex[0].text_a, "a");
    rt_task_free(&d);
    assert_int_equal(P("xnli", "train", "p\th\tl\n甲\t乙\tcontradictory\n", &d), RT_OK);
    assert_string_equal(d.ex[0].label, "contradiction");
    rt_task_free(&d);
}

static void test_ner(void **st) {
    (void)st;
    rt_ner_data d;
    const char *s = "-DOCSTART- O\n\n中 B-LOC\n国 I-LOC\n\n人 O\n。 O\n\n好 O\n";
    assert_int_equal(rt_ner_parse(s, strlen(s), "n.txt", 0, &d), RT_OK);
    assert_int_equal(d.n, 3);
    assert_int_equal(d.s[0].n, 2); assert_string_equal(d.s[0].label[1], "I-LOC");
    rt_ner_free(&d);
    assert_int_equal(rt_ner_parse(s, strlen(s), "n.txt", 1, &d), RT_OK);   /* upstream: join until 。 */
    assert_int_equal(d.n, 1);
    assert_int_equal(d.s[0].n, 4);
    rt_ner_free(&d);
    assert_int_equal(rt_ner_parse("中\n", 4, "n.txt", 0, &d), RT_EFORMAT);
    assert_non_null(strstr(rt_last_error(), "n.txt:1"));
}

static void test_squad(void **st) {
    (void)st;
    rt_qa_data d;
    const char *j = "{\"version\":\"v1.1\",\"data\":[{\"title\":\"t\",\"paragraphs\":[{\"context\":\"北京是首都。\","
                    "\"qas\":[{\"id\":\"q1\",\"question\":\"首都?\",\"answers\":[{\"text\":\"北京\",\"answer_start\":0}]}]}]}]}";
    assert_int_equal(rt_squad_parse(j, strlen(j), "s.json", &d), RT_OK);
    assert_int_equal(d.n, 1);
    assert_string_equal(d.q[0].id, "q1"); assert_int_equal(d.q[0].nans, 1);
    assert_string_equal(d.q[0].ans[0].text, "北京"); assert_int_equal(d.q[0].ans[0].start, 0);
    rt_squad_free(&d);
    const char *big = "{\"data\":[{\"paragraphs\":[{\"context\":\"c\",\"qas\":[{\"id\":7,\"question\":\"q\","
                      "\"answers\":[{\"text\":\"c\",\"answer_start\":1e300}]}]}]}]}";
    assert_int_equal(rt_squad_parse(big, strlen(big), "s.json", &d), RT_OK);   /* found by fuzzing */
    assert_int_equal(d.q[0].ans[0].start, -1);
    assert_string_equal(d.q[0].id, "7");
    rt_squad_free(&d);
    assert_int_equal(rt_squad_parse("{\"data\":[\n{", 12, "s.json", &d), RT_EFORMAT);
    assert_non_null(strstr(rt_last_error(), "s.json:2"));
    assert_int_equal(rt_squad_parse("{\"data\":[{\"paragraphs\":[{\"qas\":[]}]}]}", 38, "s.json", &d), RT_EFORMAT);
}

static void test_truncate(void **st) {
    (void)st;
    size_t a = 10, b = 3;
    assert_int_equal(rt_feat_truncate(&a, &b, true, 10, RT_TRUNC_LONGEST_FIRST), RT_OK);
    assert_int_equal(a, 4); assert_int_equal(b, 3);
    a = 5; b = 5;
    assert_int_equal(rt_feat_truncate(&a, &b, true, 10, RT_TRUNC_LONGEST_FIRST), RT_OK);
    assert_int_equal(a, 4); assert_int_equal(b, 3);     /* ties pop b first */
    a = 9; b = 0;
    assert_int_equal(rt_feat_truncate(&a, &b, false, 8, RT_TRUNC_LONGEST_FIRST), RT_OK);
    assert_int_equal(a, 6);
    a = 9;
    assert_int_equal(rt_feat_truncate(&a, &b, false, 8, RT_TRUNC_NONE), RT_EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tsv), cmocka_unit_test(test_glue), cmocka_unit_test(test_clue),
        cmocka_unit_test(test_ner), cmocka_unit_test(test_squad), cmocka_unit_test(test_truncate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
