/* create_pretraining.h — BERT/NEZHA create_pretraining_data (the algorithm of
 * NEZHA-TensorFlow/utils/create_pretraining_data.py, Google BERT's script):
 * documents of tokenized lines, dupe_factor rounds of
 * create_instances_from_document (short sequences, NSP pairs with the put-back
 * rule, random truncation), 80/10/10 masking with round-half-even
 * num_to_predict, instances shuffled and written round-robin as TFRecords of
 * tf.train.Example (upstream feature names, int64/float lists, zero padding).
 *
 * One generator (pyrandom.h) drives everything in upstream order, so with
 * RT_RNG_PYTHON and a buffer holding the whole corpus the instances are the
 * Python script's, in the same order, for the same input, vocab and seed (the
 * bytes differ only where upstream's protobuf runtime starts each record's
 * feature map at another feature, see rt_cpd_encode_example).
 * Streaming: with buffer_bytes > 0 the documents are processed in blocks of
 * about buffer_bytes of input text, each block shuffled and written on its own
 * (random next sentences come from the same block).
 *
 * Whole-word masking (Google's later variant): a candidate is a word (a token
 * and its following "##" pieces; with a segmenter, the characters of one
 * segmented Chinese word); a word is masked as a whole or not at all, each
 * position drawing its own 80/10/10 choice; labels stay per token. */
#ifndef RT_DATA_CREATE_PRETRAINING_H
#define RT_DATA_CREATE_PRETRAINING_H

#include <stddef.h>
#include <stdint.h>
#include "../core/status.h"
#include "../text/tokenizer.h"
#include "../text/segment.h"
#include "pyrandom.h"

typedef struct {
    int max_seq_length;            /* 128 */
    int max_predictions_per_seq;   /* 20 */
    int dupe_factor;               /* 10 */
    double masked_lm_prob;         /* 0.15 */
    double short_seq_prob;         /* 0.1 */
    int whole_word;                /* do_whole_word_mask */
    size_t buffer_bytes;           /* 0: the whole corpus in one block (upstream) */
    rt_rng_kind rng;
    uint64_t seed;                 /* random_seed 12345 */
    int shards;                    /* 1: retort's safetensors shards (pretrain_shards.h), not TFRecords */
} rt_cpd_opts;

typedef struct {
    int64_t bytes_read, lines, documents, sentences, tokens;
    int64_t instances, real_tokens, masked, as_mask, as_keep, as_random, random_next;
    int64_t masked_words;          /* words (by the word flags) with a masked piece */
    int64_t masked_whole_words;    /* masked positions whose whole word is masked */
    int64_t blocks;
    int64_t *len_hist;             /* [max_seq_length + 1]: instances by real length */
} rt_cpd_stats;

typedef struct rt_cpd rt_cpd;

/* Progress callback: bytes of input read so far (of total), instances written; nonzero stops. */
typedef int (*rt_cpd_progress)(void *ctx, int64_t bytes, int64_t total, int64_t instances);

/* tok, seg (optional, Chinese words for whole-word masking) are borrowed. Output
 * files are opened (atomically: visible at rt_cpd_finish). Errors: vocabulary
 * without [CLS]/[SEP]/[MASK], bad sizes. */
rt_cpd *rt_cpd_new(const rt_tokenizer *tok, const rt_segmenter *seg, const rt_cpd_opts *o,
                   const char *const *outputs, int noutputs);
/* Read one text file line by line (total = bytes of all inputs, for progress). */
rt_status rt_cpd_read_file(rt_cpd *c, const char *path, int64_t total, rt_cpd_progress fn, void *ctx);
/* One input line (a sentence; empty after strip() = document boundary). */
rt_status rt_cpd_add_line(rt_cpd *c, const char *line, size_t n);
/* Process the buffered documents, commit the files; error "empty corpus" when no
 * instance at all was made. */
rt_status rt_cpd_finish(rt_cpd *c);
const rt_cpd_stats *rt_cpd_get_stats(const rt_cpd *c);
void rt_cpd_free(rt_cpd *c);        /* uncommitted outputs are discarded */

/* Encode one instance as upstream's tf.train.Example. The protobuf runtime
 * writes the feature map in the cyclic order masked_lm_positions, masked_lm_ids,
 * masked_lm_weights, segment_ids, input_mask, input_ids, next_sentence_labels,
 * starting at a feature that varies from record to record (map iteration); rot
 * (0..6) picks that start, retort's files use 0. out needs
 * rt_cpd_example_bound(S, P) bytes; returns the length. */
size_t rt_cpd_example_bound(int max_seq, int max_pred);
size_t rt_cpd_encode_example(uint8_t *out, const int32_t *ids, const int32_t *seg, int n, int max_seq,
                             const int32_t *pos, const int32_t *lab, int np, int max_pred, int next_label, int rot);

#endif
