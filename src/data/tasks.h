/* tasks.h — task data readers (the run_classifier.py / task_distill.py processors): generic TSV, the nine
 * GLUE tasks with TinyBERT's column layouts/headers/label lists, ChnSentiCorp,
 * LCQMC, XNLI (zh), People's Daily NER, CMRC 2018 / SQuAD v1.1 JSON.
 *
 * TSV semantics follow Python's csv.reader(delimiter="\t", quotechar=None) over a
 * file opened in text mode: lines end at \n, \r\n or \r; no quote processing
 * (a '"' is an ordinary character); a leading UTF-8 BOM is removed. A row with
 * too few columns is an error naming file:line, except where upstream skips it
 * (QQP's IndexError rows), which are counted in `skipped`. */
#ifndef RT_DATA_TASKS_H
#define RT_DATA_TASKS_H

#include <stdbool.h>
#include <stddef.h>
#include "../core/status.h"

/* ---- generic TSV ---- */
typedef struct { char **cell; size_t ncell; size_t line; } rt_tsv_row;   /* line: 1-based */
typedef struct { rt_tsv_row *row; size_t n, cap; char *buf; } rt_tsv;

/* Parse a buffer (copied); rows keep every line, including blank ones (ncell == 0),
 * except a final empty line after the last newline. */
rt_status rt_tsv_parse(const char *data, size_t n, rt_tsv *out);
/* The same, naming `name` in errors ("name:line: NUL byte ..."). */
rt_status rt_tsv_parse_named(const char *data, size_t n, const char *name, rt_tsv *out);
rt_status rt_tsv_read(const char *path, rt_tsv *out);
void rt_tsv_free(rt_tsv *t);
/* rt_read_file (core/sys.h) as a char buffer for the text readers; NULL on error. */
char *rt_data_read_file(const char *path, size_t *n);

/* ---- classification / regression tasks ---- */
typedef struct { char *guid, *text_a, *text_b, *label; size_t line; } rt_example;  /* text_b/label may be NULL */
typedef struct {
    rt_example *ex; size_t n, cap;
    char **labels; size_t nlabels;     /* label list (index = class id); empty for regression */
    bool regression;
    size_t skipped;                    /* rows skipped as upstream does */
    char file[512];                    /* the file read */
} rt_task_data;

/* Known task names (NULL-terminated): cola sst-2 mrpc sts-b qqp mnli mnli-mm qnli rte
 * wnli chnsenti lcqmc xnli text-clf. Aliases: sst2 stsb text_clf. */
extern const char *const rt_task_names[];

/* Read <dir>/<file of split> for task. split: "train", "dev", "test" (mnli: dev =
 * dev_matched; mnli-mm: dev = dev_mismatched). */
rt_status rt_task_read(const char *task, const char *dir, const char *split, rt_task_data *out);
/* rt_task_read_file: as rt_task_read, but from <dir>/<file> (e.g. TinyBERT's train_aug.tsv,
 * which has the train.tsv layout of the task). */
rt_status rt_task_read_file(const char *task, const char *dir, const char *file, const char *split,
                            rt_task_data *out);
/* The same from a buffer (name is used in messages; for tests and fuzzing). */
rt_status rt_task_parse(const char *task, const char *split, const char *data, size_t n,
                        const char *name, rt_task_data *out);
void rt_task_free(rt_task_data *d);

/* ---- NER (People's Daily, BIO): "char label" per line, blank line between sentences ---- */
typedef struct { char **word, **label; size_t n; size_t line; } rt_ner_sent;
typedef struct { rt_ner_sent *s; size_t n, cap; char file[512]; } rt_ner_data;
/* mode 0: a blank line ends a sentence (CoNLL); 1: upstream run_classifier_ner.py: only
 * a blank line right after a "。" line ends one, other sentences are joined, and a
 * trailing sentence without a final blank line is dropped. "-DOCSTART-" lines skipped. */
rt_status rt_ner_parse(const char *data, size_t n, const char *name, int mode, rt_ner_data *out);
rt_status rt_ner_read(const char *path, int mode, rt_ner_data *out);
void rt_ner_free(rt_ner_data *d);
/* Upstream NER labels: O B-PER I-PER B-ORG I-ORG B-LOC I-LOC X [CLS] [SEP] (ids 1..10, 0 = pad). */
extern const char *const rt_ner_labels[];

/* ---- SQuAD v1.1 / CMRC 2018 JSON ---- */
typedef struct { char *text; long start; } rt_qa_answer;
typedef struct { char *id, *question, *context, *title; rt_qa_answer *ans; size_t nans; } rt_qa;
typedef struct { rt_qa *q; size_t n, cap; char file[512]; } rt_qa_data;
rt_status rt_squad_parse(const char *data, size_t n, const char *name, rt_qa_data *out);
rt_status rt_squad_read(const char *path, rt_qa_data *out);
void rt_squad_free(rt_qa_data *d);

#endif
