/* tokenizer.h — the BERT tokenizer with upstream semantics (BERT tokenization.py):
 * BasicTokenizer (clean text, CJK splitting, optional lower-casing with NFD
 * accent stripping, punctuation splitting, never-split specials) followed by
 * greedy longest-match-first WordPiece with "##" continuations and [UNK] for
 * words over max_chars (100) code points or without a match. */
#ifndef RT_TEXT_TOKENIZER_H
#define RT_TEXT_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "vocab.h"

#define RT_TOK_MAX_NEVER 32

typedef struct rt_tokenizer {
    rt_vocab *vocab;                 /* owned */
    bool lower;                      /* do_lower_case */
    int max_chars;                   /* max_input_chars_per_word (100) */
    int n_never;                     /* never_split tokens (kept whole, not lowered) */
    char *never[RT_TOK_MAX_NEVER];
    int64_t unk_id, cls_id, sep_id, pad_id, mask_id;   /* -1 when absent */
} rt_tokenizer;

/* A growable id list. */
typedef struct { int64_t *v; size_t n, cap; } rt_ids;
int rt_ids_push(rt_ids *a, int64_t id);           /* 0 or -1 (ENOMEM, message set) */
void rt_ids_free(rt_ids *a);

/* Take ownership of vocab (freed with the tokenizer, also on failure). never_split:
 * NULL = the upstream default ([UNK] [SEP] [PAD] [CLS] [MASK]). */
rt_tokenizer *rt_tokenizer_new(rt_vocab *vocab, bool lower, const char *const *never_split, int n_never);
void rt_tokenizer_free(rt_tokenizer *t);

/* Called once per basic token (UTF-8, nbytes, nchars code points); nonzero stops. */
typedef int (*rt_word_fn)(void *ctx, const char *word, size_t nbytes, size_t nchars);

/* BasicTokenizer.tokenize over UTF-8 text (invalid bytes ignored). RT_OK or the
 * callback's failure (RT_EINVAL) / ENOMEM. */
rt_status rt_basic_tokenize(const rt_tokenizer *t, const char *text, size_t n, rt_word_fn fn, void *ctx);

/* WordpieceTokenizer.tokenize of one basic token, appending ids to out
 * (unk_id, possibly -1, for [UNK]). */
rt_status rt_wordpiece(const rt_tokenizer *t, const char *word, size_t nbytes, size_t nchars, rt_ids *out);

/* Full tokenization: basic + WordPiece, ids appended to out. */
rt_status rt_tokenize_ids(const rt_tokenizer *t, const char *text, size_t n, rt_ids *out);

/* Token text of an id ("[UNK]" for -1); NULL if out of range. */
const char *rt_tokenizer_token(const rt_tokenizer *t, int64_t id, size_t *len);

#endif
