/* pregen.h — TinyBERT's pregenerated general-distillation data (TinyBERT pregenerate_training_data.py):
 * epoch_{k}.json with one JSON object per line
 *   {"tokens": [str], "segment_ids": [int], "is_random_next": bool,
 *    "masked_lm_positions": [int], "masked_lm_labels": [str]}
 * and epoch_{k}_metrics.json {"num_training_examples": n, "max_seq_len": L}. */
#ifndef RT_PREGEN_H
#define RT_PREGEN_H

#include <stddef.h>
#include <stdint.h>
#include "../core/status.h"

typedef struct {
    char **tokens; int ntokens;
    int64_t *segment_ids; int nsegment;
    int is_random_next;
    int64_t *positions; int npositions;
    char **labels; int nlabels;
} rt_pregen_record;

typedef struct rt_pregen_reader rt_pregen_reader;

rt_pregen_reader *rt_pregen_open(const char *path);
/* 1 with *rec filled (free with rt_pregen_record_free), 0 at the end, -1 with
 * "path:line: what is wrong". Blank lines are skipped. */
int rt_pregen_next(rt_pregen_reader *r, rt_pregen_record *rec);
void rt_pregen_close(rt_pregen_reader *r);
/* Parse one line (for tests/fuzzing); label names it in errors. */
rt_status rt_pregen_parse_line(const char *line, size_t len, rt_pregen_record *rec, const char *label);
void rt_pregen_record_free(rt_pregen_record *rec);
/* One JSON line (no newline) in the upstream key order; *out malloc'ed. */
rt_status rt_pregen_format(const rt_pregen_record *rec, char **out);

#endif
