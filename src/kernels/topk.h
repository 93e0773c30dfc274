/* topk.h — row-wise top-k selection over f32 scores (MLM logits, cosine
 * similarities): the k best columns of each row, best first. */
#ifndef RT_TOPK_H
#define RT_TOPK_H

#include <stdint.h>
#include "../core/status.h"

/* Row-wise top-k of a contiguous f32 matrix s [R, C]: out[r*k + j] = the column of
 * the j-th largest value of row r (ties: lower column first). Columns with
 * skip[c] != 0 (skip may be NULL) and column self[r] (self may be NULL; -1 none)
 * are never chosen; a row with fewer than k eligible columns pads with -1. */
rt_status rt_k_topk_rows_f32(const float *s, int64_t R, int64_t C, int64_t k, const uint8_t *skip,
                       const int64_t *self, int64_t *out);

#endif
