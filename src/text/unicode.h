/* unicode.h — the Unicode predicates and transforms the BERT tokenizer needs,
 * with the exact semantics of the upstream Python tokenizer (BasicTokenizer):
 * categories, NFD, lower-casing and whitespace come from utf8proc, never from
 * hand-made tables (except the upstream CJK code-point ranges). */
#ifndef RT_TEXT_UNICODE_H
#define RT_TEXT_UNICODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decode UTF-8 like Python's bytes.decode("utf-8", "ignore"): invalid bytes
 * (overlongs, surrogates, truncated sequences, > U+10FFFF) are dropped.
 * out must hold n code points. Returns the number written. If offs is non-NULL,
 * offs[i] receives the byte offset of code point i in s. */
size_t rt_utf8_decode(const char *s, size_t n, uint32_t *out, uint32_t *offs);
/* Encode one code point (valid scalar) into buf (4 bytes); returns bytes written. */
int rt_utf8_encode(uint32_t cp, char *buf);
/* Encode n code points into buf (needs 4*n bytes); returns bytes written. */
size_t rt_utf8_encode_n(const uint32_t *cps, size_t n, char *buf);
/* Number of code points in valid UTF-8 (counts lead bytes). */
size_t rt_utf8_len(const char *s, size_t n);

/* Upstream _is_whitespace: ' ', \t, \n, \r or category Zs. */
bool rt_uc_is_whitespace(uint32_t cp);
/* Upstream _is_control: category Cc or Cf, except \t \n \r. */
bool rt_uc_is_control(uint32_t cp);
/* Upstream _is_punctuation: ASCII 33-47, 58-64, 91-96, 123-126 or any P* category. */
bool rt_uc_is_punct(uint32_t cp);
/* Upstream _is_chinese_char: the CJK Unified Ideograph blocks of BERT tokenization.py. */
bool rt_uc_is_cjk(uint32_t cp);
/* CJK Unified Ideographs proper (no compatibility blocks): no case, no decomposition,
 * not punctuation/space/control — the tokenizer's fast path. */
static inline bool rt_uc_is_cjk_unified(uint32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2CEAF);
}
/* Python str.split() separators that survive _clean_text: U+2028, U+2029 (and
 * everything rt_uc_is_whitespace accepts, plus \v \f \x1c-\x1f \x85). */
bool rt_uc_is_split_space(uint32_t cp);
/* Python str.strip() whitespace (Py_UNICODE_ISSPACE). */
bool rt_uc_is_py_space(uint32_t cp);

/* Python's token.lower() then NFD then removal of category Mn (upstream
 * _run_strip_accents), in place semantics: reads n code points from in, writes
 * at most 4*n+4 code points (worst-case NFD growth is bounded) into out, returns
 * the count. Final sigma follows CPython (U+03A3 -> U+03C2 at a word end). */
size_t rt_uc_lower_strip(const uint32_t *in, size_t n, uint32_t *out);
/* Upper bound of the output size of rt_uc_lower_strip for n inputs. */
#define RT_UC_LOWER_STRIP_MAX(n) (4 * (size_t)(n) + 8)

#endif
