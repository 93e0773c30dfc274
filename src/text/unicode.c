/* unicode.c — Unicode predicates and lower/NFD/strip for the tokenizer (utf8proc). */
#include "unicode.h"

#include <utf8proc.h>

size_t rt_utf8_decode(const char *str, size_t n, uint32_t *out, uint32_t *offs) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, k = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            if (offs) offs[k] = (uint32_t)i;
            out[k++] = c; i++; continue;
        }
        uint32_t cp; int len; unsigned lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) { cp = c & 0x1F; len = 2; }
        else if (c >= 0xE0 && c <= 0xEF) {
            cp = c & 0x0F; len = 3;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            cp = c & 0x07; len = 4;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        } else { i++; continue; }          /* invalid lead byte: dropped */
        size_t j = i + 1; int ok = 1;
        for (int t = 1; t < len; t++, j++) {
            if (j >= n) { ok = 0; break; }
            unsigned b = s[j];
            unsigned l = t == 1 ? lo : 0x80, h = t == 1 ? hi : 0xBF;
            if (b < l || b > h) { ok = 0; break; }
            cp = (cp << 6) | (b & 0x3F);
        }
        if (!ok) { i++; continue; }        /* drop the lead; continuation bytes drop one by one */
        if (offs) offs[k] = (uint32_t)i;
        out[k++] = cp;
        i = j;
    }
    return k;
}

int rt_utf8_encode(uint32_t cp, char *b) {
    if (cp < 0x80) { b[0] = (char)cp; return 1; }
    if (cp < 0x800) { b[0] = (char)(0xC0 | (cp >> 6)); b[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12)); b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F)); return 3;
    }
    b[0] = (char)(0xF0 | (cp >> 18)); b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    b[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); b[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t rt_utf8_encode_n(const uint32_t *cps, size_t n, char *buf) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += (size_t)rt_utf8_encode(cps[i], buf + k);
    return k;
}

size_t rt_utf8_len(const char *s, size_t n) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

static inline int cat(uint32_t cp) { return utf8proc_category((utf8proc_int32_t)cp); }

bool rt_uc_is_whitespace(uint32_t cp) {
    if (cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r') return true;
    if (cp < 0x80) return false;
    return cat(cp) == UTF8PROC_CATEGORY_ZS;
}

bool rt_uc_is_control(uint32_t cp) {
    if (cp == '\t' || cp == '\n' || cp == '\r') return false;
    if (cp < 0x20 || cp == 0x7F) return true;
    if (cp < 0x80) return false;
    int c = cat(cp);
    return c == UTF8PROC_CATEGORY_CC || c == UTF8PROC_CATEGORY_CF;
}

bool rt_uc_is_punct(uint32_t cp) {
    if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
        (cp >= 123 && cp <= 126)) return true;
    if (cp < 0x80) return false;
    int c = cat(cp);
    return c >= UTF8PROC_CATEGORY_PC && c <= UTF8PROC_CATEGORY_PO;
}

bool rt_uc_is_cjk(uint32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
           (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

bool rt_uc_is_py_space(uint32_t cp) {
    if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x1F);
    if (cp == 0x85 || cp == 0x2028 || cp == 0x2029) return true;
    return cat(cp) == UTF8PROC_CATEGORY_ZS;
}

bool rt_uc_is_split_space(uint32_t cp) { return rt_uc_is_py_space(cp); }

/* CPython's _PyUnicode_IsCased / _PyUnicode_IsCaseIgnorable, approximated from
 * utf8proc data: cased = has a case mapping or is Lu/Ll/Lt; case-ignorable =
 * Mn, Me, Cf, Lm, Sk or the word-break MidLetter/MidNumLet/Single_Quote set. */
static bool is_cased(uint32_t cp) {
    int c = cat(cp);
    if (c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LL || c == UTF8PROC_CATEGORY_LT) return true;
    return utf8proc_islower((utf8proc_int32_t)cp) || utf8proc_isupper((utf8proc_int32_t)cp);
}

static bool is_case_ignorable(uint32_t cp) {
    switch (cp) {
    case 0x27: case 0x2E: case 0x3A: case 0x5E: case 0x60: case 0xA8: case 0xAD: case 0xAF:
    case 0xB4: case 0xB7: case 0xB8: case 0x2018: case 0x2019: case 0x2024: case 0x2027:
    case 0xFE13: case 0xFE52: case 0xFE55: case 0xFF07: case 0xFF0E: case 0xFF1A:
        return true;
    default: break;
    }
    int c = cat(cp);
    return c == UTF8PROC_CATEGORY_MN || c == UTF8PROC_CATEGORY_ME || c == UTF8PROC_CATEGORY_CF ||
           c == UTF8PROC_CATEGORY_LM || c == UTF8PROC_CATEGORY_SK;
}

static uint32_t py_lower1(const uint32_t *in, size_t n, size_t i) {
    uint32_t c = in[i];
    if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
    if (c == 0x3A3) {                                   /* capital sigma: final form? */
        size_t j = i; uint32_t p = 0; int found = 0;
        while (j > 0) { p = in[--j]; if (!is_case_ignorable(p)) { found = 1; break; } }
        int fin = found && is_cased(p);
        if (fin) {
            size_t k = i + 1;
            while (k < n && is_case_ignorable(in[k])) k++;
            fin = k == n || !is_cased(in[k]);
        }
        return fin ? 0x3C2 : 0x3C3;
    }
    return (uint32_t)utf8proc_tolower((utf8proc_int32_t)c);
}

size_t rt_uc_lower_strip(const uint32_t *in, size_t n, uint32_t *out) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = py_lower1(in, n, i);
        if (c < 0xC0) { out[k++] = c; continue; }       /* nothing below U+00C0 decomposes */
        if (in[i] == 0x130) { out[k++] = 'i'; continue; } /* "i" + U+0307 (Mn, removed) */
        utf8proc_int32_t buf[8];
        utf8proc_ssize_t m = utf8proc_decompose_char((utf8proc_int32_t)c, buf, 8,
                                                     UTF8PROC_DECOMPOSE, NULL);
        if (m < 0 || m > 8) { out[k++] = c; continue; }
        for (utf8proc_ssize_t t = 0; t < m; t++) out[k++] = (uint32_t)buf[t];
    }
    /* canonical ordering of combining marks (stable insertion sort by ccc > 0) */
    for (size_t i = 1; i < k; i++) {
        uint32_t c = out[i];
        if (c < 0x300) continue;
        int cc = utf8proc_get_property((utf8proc_int32_t)c)->combining_class;
        if (!cc) continue;
        size_t j = i;
        while (j > 0 && out[j - 1] >= 0x300) {
            int pc = utf8proc_get_property((utf8proc_int32_t)out[j - 1])->combining_class;
            if (pc <= cc) break;
            out[j] = out[j - 1]; j--;
        }
        out[j] = c;
    }
    size_t w = 0;
    for (size_t i = 0; i < k; i++)
        if (out[i] < 0x300 || cat(out[i]) != UTF8PROC_CATEGORY_MN) out[w++] = out[i];
    return w;
}
