/* fuzz_tasks.c — libFuzzer target: every task reader on arbitrary bytes (TSV tasks,
 * People's Daily NER in both modes, SQuAD/CMRC JSON, generic TSV) and the feature
 * truncation rules. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "data/features.h"
#include "data/tasks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const char *s = (const char *)data + 1;
    size_t n = size - 1;
    unsigned sel = data[0];
    size_t ntask = 0;
    while (rt_task_names[ntask]) ntask++;
    const char *splits[] = {"train", "dev", "test"};
    rt_task_data d;
    if (rt_task_parse(rt_task_names[sel % ntask], splits[(sel / 16) % 3], s, n, "fuzz.tsv", &d) == RT_OK) {
        for (size_t i = 0; i < d.n; i++) if (!d.ex[i].guid || !d.ex[i].text_a) __builtin_trap();
        rt_task_free(&d);
    }
    rt_ner_data nd;
    if (rt_ner_parse(s, n, "fuzz.txt", sel & 1, &nd) == RT_OK) rt_ner_free(&nd);
    rt_qa_data qd;
    if (rt_squad_parse(s, n, "fuzz.json", &qd) == RT_OK) rt_squad_free(&qd);
    rt_tsv t;
    if (rt_tsv_parse(s, n, &t) == RT_OK) rt_tsv_free(&t);
    if (size >= 4) {
        size_t na = data[1], nb = data[2];
        int64_t ml = data[3];
        bool pair = data[0] & 2;
        if (rt_feat_truncate(&na, &nb, pair, ml, (rt_trunc)(data[0] % 4)) == RT_OK && ml > 0 &&
            rt_feat_len(na, pair ? nb : 0, pair) > (size_t)ml) __builtin_trap();
    }
    return 0;
}
