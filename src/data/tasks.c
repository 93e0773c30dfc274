/* tasks.c — GLUE / CLUE classification task readers with the upstream processors'
 * column layouts, header handling and label lists (TinyBERT task_distill.py for
 * GLUE, NEZHA run_classifier.py / run_sequence_classifier.py for the Chinese tasks). */
#include "tasks.h"

#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Column -1 = last column; -2 = absent. */
typedef struct {
    const char *name;
    const char *train, *dev, *test;       /* file names in the task directory */
    int header;                           /* 1: skip line 1; 2: skip line 1 if it contains "label"; 0: none */
    int a, b, label;                      /* train/dev columns */
    int test_header, ta, tb;              /* test files (GLUE: no labels) */
    int test_label;                       /* label column in test files, -2 none */
    const char *labels[4];                /* NULL-terminated; labels[0] == NULL: from train data */
    int guid_col;                         /* column used as guid (-2: the line index) */
    bool regression, skip_short, sorted_labels;
} task_spec;

static const task_spec SPECS[] = {
    {"cola", "train.tsv", "dev.tsv", "test.tsv", 0, 3, -2, 1, 1, 1, -2, -2, {"0", "1"}, -2, 0, 0, 0},
    {"sst-2", "train.tsv", "dev.tsv", "test.tsv", 1, 0, -2, 1, 1, 1, -2, -2, {"0", "1"}, -2, 0, 0, 0},
    {"mrpc", "train.tsv", "dev.tsv", "test.tsv", 1, 3, 4, 0, 1, 3, 4, -2, {"0", "1"}, -2, 0, 0, 0},
    {"sts-b", "train.tsv", "dev.tsv", "test.tsv", 1, 7, 8, -1, 1, 7, 8, -2, {NULL}, 0, 1, 0, 0},
    {"qqp", "train.tsv", "dev.tsv", "test.tsv", 1, 3, 4, 5, 1, 1, 2, -2, {"0", "1"}, 0, 0, 1, 0},
    {"mnli", "train.tsv", "dev_matched.tsv", "test_matched.tsv", 1, 8, 9, -1, 1, 8, 9, -2,
     {"contradiction", "entailment", "neutral"}, 0, 0, 0, 0},
    {"mnli-mm", "train.tsv", "dev_mismatched.tsv", "test_mismatched.tsv", 1, 8, 9, -1, 1, 8, 9, -2,
     {"contradiction", "entailment", "neutral"}, 0, 0, 0, 0},
    {"qnli", "train.tsv", "dev.tsv", "test.tsv", 1, 1, 2, -1, 1, 1, 2, -2, {"entailment", "not_entailment"}, 0, 0, 0, 0},
    {"rte", "train.tsv", "dev.tsv", "test.tsv", 1, 1, 2, -1, 1, 1, 2, -2, {"entailment", "not_entailment"}, 0, 0, 0, 0},
    {"wnli", "train.tsv", "dev.tsv", "test.tsv", 1, 1, 2, -1, 1, 1, 2, -2, {"0", "1"}, 0, 0, 0, 0},
    /* ChnSentiCorp: label<TAB>text, no header; labels 0 and 1 (the upstream processor's
     * get_labels), so a stray label is an error instead of a third class. */
    {"chnsenti", "train.tsv", "dev.tsv", "test.tsv", 0, 1, -2, 0, 0, 1, -2, 0, {"0", "1"}, -2, 0, 0, 1},
    {"lcqmc", "train.tsv", "dev.tsv", "test.tsv", 2, 0, 1, 2, 2, 0, 1, 2, {"0", "1"}, -2, 0, 0, 0},
    {"xnli", "train.tsv", "dev.tsv", "test.tsv", 1, 0, 1, 2, 1, 0, 1, 2, {"contradiction", "entailment", "neutral"}, -2, 0, 0, 0},
    /* NEZHA PT run_sequence_classifier.py text-clf: label<TAB>text, the first line skipped (as a
     * header), labels in order of first appearance in the file (any number of classes). */
    {"text-clf", "train.tsv", "dev.tsv", "test.tsv", 1, 1, -2, 0, 1, 1, -2, 0, {NULL}, -2, 0, 0, 0},
};

const char *const rt_task_names[] = {"cola", "sst-2", "mrpc", "sts-b", "qqp", "mnli", "mnli-mm", "qnli",
                                     "rte", "wnli", "chnsenti", "lcqmc", "xnli", "text-clf", NULL};

static const task_spec *find_spec(const char *task) {
    static const char *const alias[][2] = {{"sst2", "sst-2"}, {"stsb", "sts-b"}, {"text_clf", "text-clf"},
                                           {"mnli_mm", "mnli-mm"}, {"mnli-m", "mnli"}};
    for (size_t i = 0; i < sizeof alias / sizeof *alias; i++)
        if (!strcmp(task, alias[i][0])) task = alias[i][1];
    for (size_t i = 0; i < sizeof SPECS / sizeof *SPECS; i++)
        if (!strcmp(task, SPECS[i].name)) return &SPECS[i];
    return NULL;
}

void rt_task_free(rt_task_data *d) {
    for (size_t i = 0; i < d->n; i++) {
        free(d->ex[i].guid); free(d->ex[i].text_a); free(d->ex[i].text_b); free(d->ex[i].label);
    }
    for (size_t i = 0; i < d->nlabels; i++) free(d->labels[i]);
    free(d->ex); free(d->labels);
    memset(d, 0, sizeof *d);
}

static int add_label(rt_task_data *d, const char *l) {
    for (size_t i = 0; i < d->nlabels; i++) if (!strcmp(d->labels[i], l)) return 0;
    char **p = realloc(d->labels, (d->nlabels + 1) * sizeof *p);
    if (!p) return -1;
    d->labels = p;
    if (!(d->labels[d->nlabels] = strdup(l))) return -1;
    d->nlabels++;
    return 0;
}

/* The distinct labels of d->ex in first-seen order (a hash set: linear in the examples). */
static int collect_labels(rt_task_data *d) {
    size_t cap = 16;
    while (cap < 2 * d->n + 2) cap *= 2;
    size_t *tab = calloc(cap, sizeof *tab);
    char **labels = malloc((d->n + 1) * sizeof *labels);
    if (!tab || !labels) { free(tab); free(labels); return -1; }
    size_t nl = 0;
    int rc = 0;
    for (size_t i = 0; i < d->n && !rc; i++) {
        const char *l = d->ex[i].label;
        if (!l) continue;
        uint32_t h = 2166136261u;
        for (const char *p = l; *p; p++) h = (h ^ (uint8_t)*p) * 16777619u;
        size_t k = h & (cap - 1);
        while (tab[k] && strcmp(labels[tab[k] - 1], l)) k = (k + 1) & (cap - 1);
        if (tab[k]) continue;
        if (!(labels[nl] = strdup(l))) { rc = -1; break; }
        tab[k] = ++nl;
    }
    free(tab);
    for (size_t i = 0; i < d->nlabels; i++) free(d->labels[i]);
    free(d->labels);
    d->labels = labels;
    d->nlabels = nl;
    return rc;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static const char *cell(const rt_tsv_row *r, int c) {
    if (c == -2) return NULL;
    if (c == -1) return r->ncell ? r->cell[r->ncell - 1] : NULL;
    return (size_t)c < r->ncell ? r->cell[c] : NULL;
}

static char *dup_or_null(const char *s, int *oom) {
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) *oom = 1;
    return d;
}

rt_status rt_task_parse(const char *task, const char *split, const char *data, size_t n,
                        const char *name, rt_task_data *d) {
    memset(d, 0, sizeof *d);
    snprintf(d->file, sizeof d->file, "%s", name);
    const task_spec *sp = find_spec(task);
    if (!sp) return rt_errorf(RT_EINVAL, "read_task: unknown task '%s' (cola sst-2 mrpc sts-b qqp mnli mnli-mm "
                                         "qnli rte wnli chnsenti lcqmc xnli text-clf)", task);
    bool test = !strcmp(split, "test");
    int header = test ? sp->test_header : sp->header;
    int ca = test ? sp->ta : sp->a, cb = test ? sp->tb : sp->b, cl = test ? sp->test_label : sp->label;
    d->regression = sp->regression;
    rt_tsv t;
    rt_status st = rt_tsv_parse_named(data, n, name, &t);
    if (st) return st;
    size_t first = 0;
    if (t.n && header == 1) first = 1;
    if (header == 2 && t.n) {       /* LCQMC: skip only a header line mentioning "label" */
        for (size_t c = 0; c < t.row[0].ncell; c++) if (strstr(t.row[0].cell[c], "label")) first = 1;
    }
    int need = ca > cb ? ca : cb;
    if (cl > need) need = cl;
    if (sp->guid_col > need && !test) need = sp->guid_col;
    int oom = 0;
    for (size_t i = first; i < t.n; i++) {
        const rt_tsv_row *r = &t.row[i];
        if (r->ncell == 0 && i == t.n - 1) break;       /* trailing blank line */
        if ((int)r->ncell < need + 1 || (cl == -1 && r->ncell < 2)) {
            if (sp->skip_short) { d->skipped++; continue; }
            size_t line = r->line, nc = r->ncell;
            rt_tsv_free(&t); rt_task_free(d);
            return rt_errorf(RT_EFORMAT, "%s:%zu: %s expects at least %d tab-separated columns, found %zu",
                             name, line, sp->name, need + 1, nc);
        }
        if (d->n == d->cap) {
            size_t nc = d->cap ? d->cap * 2 : 256;
            rt_example *e = realloc(d->ex, nc * sizeof *e);
            if (!e) { oom = 1; break; }
            d->ex = e; d->cap = nc;
        }
        rt_example *e = &d->ex[d->n++];
        memset(e, 0, sizeof *e);
        e->line = r->line;
        char g[64];
        const char *gc = sp->guid_col >= 0 && !test ? cell(r, sp->guid_col) : NULL;
        if (gc) { size_t l = strlen(split) + strlen(gc) + 2; e->guid = malloc(l); if (e->guid) snprintf(e->guid, l, "%s-%s", split, gc); else oom = 1; }
        else { snprintf(g, sizeof g, "%s-%zu", split, i); e->guid = dup_or_null(g, &oom); }
        e->text_a = dup_or_null(cell(r, ca), &oom);
        e->text_b = dup_or_null(cell(r, cb), &oom);
        e->label = dup_or_null(cell(r, cl), &oom);
        if (oom) break;
        if (sp->regression && e->label) {
            char *end; strtod(e->label, &end);
            if (end == e->label || *end) {
                st = rt_errorf(RT_EFORMAT, "%s:%zu: %s label '%.40s' is not a number", name, r->line, sp->name, e->label);
                rt_tsv_free(&t); rt_task_free(d); return st;
            }
        }
        if (!strcmp(sp->name, "xnli") && e->label && !strcmp(e->label, "contradictory")) {
            free(e->label); e->label = dup_or_null("contradiction", &oom);
        }
    }
    rt_tsv_free(&t);
    if (oom) { rt_task_free(d); return rt_errorf(RT_ENOMEM, "%s: out of memory", name); }
    if (!sp->regression) {
        if (sp->labels[0]) {
            for (int k = 0; k < 4 && sp->labels[k]; k++) if (add_label(d, sp->labels[k])) oom = 1;
            for (size_t i = 0; i < d->n && !oom; i++) {
                const rt_example *e = &d->ex[i];
                if (!e->label) continue;
                size_t k = 0;
                while (k < d->nlabels && strcmp(d->labels[k], e->label)) k++;
                if (k == d->nlabels) {
                    char allowed[128] = "";
                    for (size_t j = 0; j < d->nlabels; j++) {
                        size_t used = strlen(allowed);
                        snprintf(allowed + used, sizeof allowed - used, "%s%s", j ? ", " : "", d->labels[j]);
                    }
                    st = rt_errorf(RT_EFORMAT, "%s:%zu: %s label '%.40s' is not one of the task's labels (%s)",
                                   name, e->line, sp->name, e->label, allowed);
                    rt_task_free(d); return st;
                }
            }
        } else {
            if (collect_labels(d)) oom = 1;
            if (sp->sorted_labels && d->nlabels) qsort(d->labels, d->nlabels, sizeof *d->labels, cmp_str);
        }
        if (oom) { rt_task_free(d); return rt_errorf(RT_ENOMEM, "%s: out of memory", name); }
    }
    return RT_OK;
}

static const char *split_file(const task_spec *sp, const char *split) {
    if (!strcmp(split, "train")) return sp->train;
    if (!strcmp(split, "dev") || !strcmp(split, "eval") || !strcmp(split, "validation")) return sp->dev;
    if (!strcmp(split, "test")) return sp->test;
    return NULL;
}

rt_status rt_task_read(const char *task, const char *dir, const char *split, rt_task_data *out) {
    return rt_task_read_file(task, dir, NULL, split, out);
}

rt_status rt_task_read_file(const char *task, const char *dir, const char *file, const char *split,
                            rt_task_data *out) {
    memset(out, 0, sizeof *out);
    const task_spec *sp = find_spec(task);
    if (!sp) return rt_task_parse(task, split, "", 0, "", out);
    const char *f = file ? file : split_file(sp, split);
    if (!f) return rt_errorf(RT_EINVAL, "read_task: unknown split '%s' (train, dev, test)", split);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, f);
    if (!file && !strcmp(sp->name, "xnli") && !strcmp(split, "train")) {   /* NEZHA's XNLI train file */
        FILE *probe = fopen(path, "rb");
        if (probe) fclose(probe);
        else snprintf(path, sizeof path, "%s/multinli/multinli.train.zh.tsv", dir);
    }
    size_t n;
    char *data = rt_data_read_file(path, &n);
    if (!data) return rt_last_status();
    const char *sp_split = !strcmp(split, "eval") || !strcmp(split, "validation") ? "dev" : split;
    rt_status st = rt_task_parse(task, sp_split, data, n, path, out);
    free(data);
    return st;
}
