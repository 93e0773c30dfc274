/* vocab.h — WordPiece vocabularies: token <-> id (id = line number, 0-based).
 * Loading follows the upstream load_vocab: lines split by \n, \r\n or \r
 * (Python universal newlines), each token strip()ped (Unicode whitespace),
 * blank lines keep their id, a repeated token maps to its LAST line (dict
 * semantics) while id -> token still gives each line's text. */
#ifndef RT_TEXT_VOCAB_H
#define RT_TEXT_VOCAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../core/status.h"

typedef struct rt_vocab rt_vocab;

rt_vocab *rt_vocab_new(void);
/* Parse a vocab from memory (name is used in error messages). NULL + error on failure. */
rt_vocab *rt_vocab_from_buffer(const char *data, size_t n, const char *name);
/* Read a vocab.txt file. NULL + error ("vocab: cannot open x: ...") on failure. */
rt_vocab *rt_vocab_load(const char *path);
void rt_vocab_free(rt_vocab *v);

/* Append a token (taken verbatim, no strip) as the next id; returns its id or -1 (ENOMEM). */
int64_t rt_vocab_add(rt_vocab *v, const char *tok, size_t len);
/* id of a token, or -1. */
int64_t rt_vocab_find(const rt_vocab *v, const char *tok, size_t len);
/* id of "##" + piece (a WordPiece continuation), or -1, without building the string. */
int64_t rt_vocab_find_cont(const rt_vocab *v, const char *piece, size_t len);
/* Longest vocabulary match of w[b[start] .. b[k]) over k in (start, kmax] (b: byte
 * offsets of character boundaries; cont: look up "##" + piece). Returns the id and
 * sets *end = k, or -1. At most 128 characters are considered. */
int64_t rt_vocab_longest(const rt_vocab *v, const char *w, const uint32_t *b, size_t start, size_t kmax,
                         bool cont, size_t *end);
/* Text of id (NUL-terminated, owned by v) or NULL when out of range; *len optional. */
const char *rt_vocab_token(const rt_vocab *v, int64_t id, size_t *len);
/* Number of ids (lines). */
int64_t rt_vocab_size(const rt_vocab *v);
/* Longest token in code points, not counting a leading "##" (bounds WordPiece's search). */
int rt_vocab_max_chars(const rt_vocab *v);
/* Write one token per line (atomic: temp file, fsync, rename). */
rt_status rt_vocab_save(const rt_vocab *v, const char *path);

#endif
