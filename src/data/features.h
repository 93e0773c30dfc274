/* features.h — model inputs from token ids (BERT run_classifier.py / run_squad.py):
 * [CLS] a [SEP] (b [SEP]) with upstream truncation, segment ids and masks;
 * NER label alignment; reading-comprehension windows. */
#ifndef RT_DATA_FEATURES_H
#define RT_DATA_FEATURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../core/status.h"
#include "../text/tokenizer.h"

typedef enum { RT_TRUNC_NONE = 0, RT_TRUNC_LONGEST_FIRST, RT_TRUNC_ONLY_FIRST, RT_TRUNC_ONLY_SECOND } rt_trunc;

/* Lengths of a and b after upstream truncation to fit max_len (max_len <= 0: no
 * limit). Pair: pop the last token of the longer list (b on ties) until
 * na + nb <= max_len - 3 (_truncate_seq_pair); single: na <= max_len - 2.
 * Returns RT_OK or RT_EINVAL (does not fit and trunc == NONE / cannot fit). */
rt_status rt_feat_truncate(size_t *na, size_t *nb, bool pair, int64_t max_len, rt_trunc trunc);

/* Number of positions [CLS] a [SEP] (b [SEP]) takes. */
static inline size_t rt_feat_len(size_t na, size_t nb, bool pair) { return na + nb + (pair ? 3 : 2); }

/* Write the layout into ids/seg/mask (each with room for width >= rt_feat_len):
 * segment 0 for [CLS] a [SEP], 1 for b [SEP]; mask 1 on tokens; positions up to
 * width padded with pad_id / 0 / 0. a, b already truncated. */
void rt_feat_fill(const rt_tokenizer *t, const int64_t *a, size_t na, const int64_t *b, size_t nb,
                  bool pair, size_t width, int64_t *ids, int64_t *seg, int64_t *mask);

#endif
