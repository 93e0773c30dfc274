/* vocab_build.h — vocabulary learners.
 *
 * WordPiece (the HF-tokenizers WordPieceTrainer algorithm, i.e. BPE merges with a
 * "##" continuing-subword prefix): words come from the BasicTokenizer (so CJK
 * characters and punctuation are single words, lower-casing as configured);
 * every word starts as its characters, the first as "c" and the rest as "##c";
 * the vocabulary starts as the special tokens, then the alphabet ("c" sorted by
 * code point, then "##c"), then one token per merge: repeatedly the most
 * frequent adjacent pair (ties: the pair of smaller ids) is merged ("ab" from
 * "a" + "##b"; "##ab" from "##a" + "##b") until `size` tokens exist or the best
 * pair occurs fewer than min_frequency times. Deterministic.
 *
 * Characters: specials, then every CJK character / word character sorted by
 * frequency (ties by code point), "##c" for characters seen inside words. */
#ifndef RT_TEXT_VOCAB_BUILD_H
#define RT_TEXT_VOCAB_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "vocab.h"

typedef struct rt_vocab_builder rt_vocab_builder;

/* lower: lower-case + strip accents as the tokenizer will. */
rt_vocab_builder *rt_vocab_builder_new(bool lower);
void rt_vocab_builder_free(rt_vocab_builder *b);
/* Count the words of one text (a line or a whole file's contents). */
rt_status rt_vocab_builder_add_text(rt_vocab_builder *b, const char *text, size_t n);
/* Count every line of a file. */
rt_status rt_vocab_builder_add_file(rt_vocab_builder *b, const char *path);
/* Distinct words counted so far. */
size_t rt_vocab_builder_words(const rt_vocab_builder *b);

typedef struct {
    int64_t size;                 /* target vocabulary size (specials included) */
    int64_t min_frequency;        /* merges (wordpiece) / characters (chars) seen fewer times are dropped */
    int64_t limit_alphabet;       /* 0: keep every character; else the most frequent ones */
    const char *const *special;   /* NULL: [PAD] [UNK] [CLS] [SEP] [MASK] */
    int nspecial;
} rt_vocab_build_opts;

/* Learn a WordPiece vocabulary (new rt_vocab, ids in the order described above). */
rt_vocab *rt_vocab_build_wordpiece(rt_vocab_builder *b, const rt_vocab_build_opts *o);
/* A character vocabulary (for Chinese). */
rt_vocab *rt_vocab_build_chars(rt_vocab_builder *b, const rt_vocab_build_opts *o);

#endif
