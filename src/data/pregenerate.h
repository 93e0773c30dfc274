/* pregenerate.h — TinyBERT's general-distillation data generator
 * (TinyBERT/pregenerate_training_data.py) as a streaming C loop.
 *
 * Corpus: one sentence per line, a blank line (Python str.strip() == "") ends a
 * document; each line is tokenized (Basic + WordPiece) into one sentence. Empty
 * documents are dropped. Tokens are kept in unlinked temporary files that are
 * memory-mapped (bounded RSS for any corpus size; upstream keeps a shelve DB in
 * /cache with --reduce_memory, or everything in RAM).
 *
 * Instances follow the upstream algorithm (create_instances_from_document,
 * sentence-weighted sample_doc, truncate_seq_pair, create_masked_lm_predictions)
 * with one difference: each (seed, epoch, document) has its own random stream
 * (xoshiro256**), so output is reproducible and independent of the thread count
 * (upstream uses the unseeded global `random`). Output is upstream's JSON lines,
 * byte for byte as Python's json.dumps writes them (", " / ": " separators,
 * non-ASCII as \uXXXX). */
#ifndef RT_DATA_PREGENERATE_H
#define RT_DATA_PREGENERATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../core/status.h"
#include "../text/tokenizer.h"
#include "../text/segment.h"

#define RT_PG_HIST 1025   /* instance length histogram bins 0..1024 */

typedef struct rt_pg_corpus rt_pg_corpus;

/* A corpus under construction; temp files go in tmpdir (created by the caller).
 * The tokenizer's vocabulary is copied (JSON-escaped token strings). */
rt_pg_corpus *rt_pg_corpus_new(const rt_tokenizer *tok, const char *tmpdir);
/* Tokenize buf[0..n): complete lines ('\n'-terminated; a final unterminated line
 * counts as a line). seg (may be NULL): Chinese words are cut with it and the
 * pieces of one CJK word form one whole-word-masking group. nthreads >= 1. */
rt_status rt_pg_corpus_feed(rt_pg_corpus *c, const rt_tokenizer *tok, const rt_segmenter *seg,
                            const char *buf, size_t n, int nthreads);
/* Ends the last document and maps the token files; after it, generate may run. */
rt_status rt_pg_corpus_finish(rt_pg_corpus *c);
void rt_pg_corpus_free(rt_pg_corpus *c);
int64_t rt_pg_corpus_docs(const rt_pg_corpus *c);
int64_t rt_pg_corpus_sentences(const rt_pg_corpus *c);
int64_t rt_pg_corpus_tokens(const rt_pg_corpus *c);

typedef struct {
    int max_seq_len;          /* 128 */
    int max_pred;             /* max_predictions_per_seq, 20 */
    double short_seq_prob;    /* 0.1 */
    double masked_lm_prob;    /* 0.0 (still masks one position) */
    bool whole_word;          /* do_whole_word_mask */
    bool one_seq;             /* bi_text = false: always the actual next */
    uint64_t seed;
} rt_pg_opts;

typedef struct {
    int64_t instances, random_next, forced_random;   /* forced: single-sentence chunk */
    int64_t tokens;                                  /* sum of instance lengths */
    int64_t masked, mask_token, kept, random_token;  /* 80/10/10 draws */
    int64_t target_short;                            /* documents with a short target */
    int64_t len_hist[RT_PG_HIST];                    /* instances by length (clamped) */
} rt_pg_stats;

typedef struct { char *p; size_t n, cap; } rt_pg_buf;
void rt_pg_buf_free(rt_pg_buf *b);

/* The instances of documents [lo, hi) for epoch `epoch`, as JSON lines appended
 * to out (in document order), statistics added to st. */
rt_status rt_pg_generate(const rt_pg_corpus *c, const rt_pg_opts *o, int epoch, int64_t lo, int64_t hi,
                         int nthreads, rt_pg_buf *out, rt_pg_stats *st);

#endif
