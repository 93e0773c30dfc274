/* glove.h — GloVe-format word vectors ("word v1 v2 ... vD" per line, whitespace
 * separated), read the way TinyBERT's data_augmentation.py reads them for
 * neighbour retrieval: only the first `limit` lines, the row of "<unk>" left zero,
 * a repeated word keeps only its last line (earlier rows zero), every row
 * L2-normalised. Rows whose norm is zero are flagged instead of becoming NaN. */
#ifndef RT_GLOVE_H
#define RT_GLOVE_H

#include <stdint.h>
#include <stdio.h>
#include "../core/status.h"
#include "../core/tensor.h"

typedef struct {
    char **words;        /* n words, line order (a repeated word appears twice) */
    int64_t n, dim;
    rt_tensor *emb;      /* f32 [n, dim], unit rows (zero rows stay zero) */
    uint8_t *zero;       /* n flags: 1 = zero row (never a neighbour, no neighbours) */
} rt_glove;

/* Read at most `limit` lines (limit <= 0: all) of `path` into *g. Errors name
 * "path:line" (an empty line, a value that is not a number, a line whose vector
 * length differs from line 1's). */
rt_status rt_glove_read(const char *path, int64_t limit, rt_glove *g);
/* The same from an open stream (not closed); `path` names it in errors. */
rt_status rt_glove_read_stream(FILE *f, const char *path, int64_t limit, rt_glove *g);
void rt_glove_free(rt_glove *g);

#endif
