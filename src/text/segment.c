/* segment.c — jieba-style DAG + max-probability segmentation and forward maximum matching. */
#include "segment.h"
#include "unicode.h"
#include "vocab.h"
#include "../core/sys.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rt_segmenter {
    rt_vocab *words;            /* word and every prefix -> index */
    int64_t *freq; size_t cap;  /* 0 for pure prefixes */
    double total;
    int max_chars;
};

rt_segmenter *rt_segmenter_new(void) {
    rt_segmenter *s = calloc(1, sizeof *s);
    if (!s || !(s->words = rt_vocab_new())) { free(s); rt_errorf(RT_ENOMEM, "segmenter: out of memory"); return NULL; }
    return s;
}

void rt_segmenter_free(rt_segmenter *s) {
    if (!s) return;
    rt_vocab_free(s->words); free(s->freq); free(s);
}

size_t rt_segmenter_size(const rt_segmenter *s) {
    size_t n = 0;
    for (int64_t i = 0; i < rt_vocab_size(s->words); i++) n += s->freq[i] > 0;
    return n;
}

static int64_t entry(rt_segmenter *s, const char *w, size_t len) {
    int64_t id = rt_vocab_find(s->words, w, len);
    if (id >= 0) return id;
    id = rt_vocab_add(s->words, w, len);
    if (id < 0) return -1;
    if ((size_t)id >= s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 4096;
        int64_t *f = realloc(s->freq, nc * sizeof *f);
        if (!f) { rt_errorf(RT_ENOMEM, "segmenter: out of memory"); return -1; }
        s->freq = f; s->cap = nc;
    }
    s->freq[id] = 0;
    return id;
}

rt_status rt_segmenter_add(rt_segmenter *s, const char *w, size_t len, int64_t freq) {
    if (!len) return RT_OK;
    int64_t id = entry(s, w, len);
    if (id < 0) return rt_last_status();
    s->total += (double)(freq - s->freq[id]);
    s->freq[id] = freq;
    int nc = 0;
    for (size_t i = 1; i <= len; i++) {
        if (i < len && ((unsigned char)w[i] & 0xC0) == 0x80) continue;
        nc++;
        if (i < len && entry(s, w, i) < 0) return rt_last_status();   /* prefix */
    }
    if (nc > s->max_chars) s->max_chars = nc;
    return RT_OK;
}

static bool blank(char c) { return c == ' ' || c == '\t'; }

rt_status rt_segmenter_parse(rt_segmenter *s, const char *d, size_t n, const char *name) {
    size_t i = 0, line = 0;
    if (n >= 3 && !memcmp(d, "\xEF\xBB\xBF", 3)) i = 3;
    while (i < n) {
        size_t e = i;
        while (e < n && d[e] != '\n' && d[e] != '\r') e++;
        size_t next = e < n ? (d[e] == '\r' && e + 1 < n && d[e + 1] == '\n' ? e + 2 : e + 1) : e;
        line++;
        size_t b = i;
        while (b < e && blank(d[b])) b++;
        if (b < e && d[b] != '#') {
            size_t we = b;
            while (we < e && !blank(d[we])) we++;
            size_t fb = we;
            while (fb < e && blank(d[fb])) fb++;
            int64_t freq = 1;
            if (fb < e) {
                freq = 0;
                size_t k = fb;
                for (; k < e && !blank(d[k]); k++) {
                    if (d[k] < '0' || d[k] > '9' || freq > INT64_MAX / 20)
                        return rt_errorf(RT_EFORMAT, "%s:%zu: frequency '%.*s' is not a non-negative integer",
                                         name, line, (int)(e - fb > 20 ? 20 : e - fb), d + fb);
                    freq = freq * 10 + (d[k] - '0');
                }
            }
            rt_status st = rt_segmenter_add(s, d + b, we - b, freq);
            if (st) return st;
        }
        i = next;
    }
    return RT_OK;
}

rt_status rt_segmenter_load(rt_segmenter *s, const char *path) {
    uint8_t *buf;
    size_t len;
    rt_status st = rt_read_file(path, &buf, &len);
    if (st) { rt_error_prefix("segmenter"); return st; }
    st = rt_segmenter_parse(s, (const char *)buf, len, path);
    free(buf);
    return st;
}

static bool han_block(uint32_t c) {
    return (c >= 0x4E00 && c <= 0x9FD5) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '+' || c == '#' || c == '&' || c == '.' || c == '_' || c == '%' || c == '-';
}
static bool ascii_alnum(uint32_t c) { return c < 0x80 && ((c | 32) - 'a' < 26 || c - '0' < 10); }

typedef struct {
    const rt_segmenter *s;
    int (*fn)(void *, const char *, size_t); void *ctx;
} cut_ctx;

/* Segment one block of n code points with byte offsets off[0..n] into text t. */
static int cut_block(const cut_ctx *c, const char *t, const uint32_t *cp, const uint32_t *off, size_t n,
                     rt_seg_mode mode, double *score, int32_t *nextpos) {
    const rt_segmenter *s = c->s;
    int maxc = s->max_chars > 0 ? s->max_chars : 1;
    if (mode == RT_SEG_FMM) {
        size_t x = 0;
        while (x < n) {
            size_t best = x + 1;
            for (size_t y = (n - x > (size_t)maxc ? x + maxc : n); y > x + 1; y--) {
                int64_t id = rt_vocab_find(s->words, t + off[x], off[y] - off[x]);
                if (id >= 0 && s->freq[id] > 0) { best = y; break; }
            }
            nextpos[x] = (int32_t)best;
            x = best;
        }
    } else {
        double logt = log(s->total > 0 ? s->total : 1.0);
        score[n] = 0;
        for (size_t k = n; k-- > 0;) {
            double bs = -INFINITY; size_t bx = 0;
            for (size_t y = k + 1; y <= n && y - k <= (size_t)maxc; y++) {
                int64_t id = rt_vocab_find(s->words, t + off[k], off[y] - off[k]);
                if (id < 0) break;                               /* not even a prefix: stop */
                int64_t f = s->freq[id];
                if (f <= 0) continue;                            /* prefix only */
                double sc = log((double)f) - logt + score[y];
                if (sc > bs || (sc == bs && y > bx)) { bs = sc; bx = y; }   /* jieba: max((score, x)) */
            }
            if (!bx) { bx = k + 1; bs = -logt + score[k + 1]; }  /* unknown character: freq 1 */
            score[k] = bs; nextpos[k] = (int32_t)bx;
        }
    }
    size_t x = 0, buf = SIZE_MAX;
    while (x < n) {
        size_t y = (size_t)nextpos[x];
        if (y == x + 1 && ascii_alnum(cp[x])) { if (buf == SIZE_MAX) buf = x; x = y; continue; }
        if (buf != SIZE_MAX) { if (c->fn(c->ctx, t + off[buf], off[x] - off[buf])) return 1; buf = SIZE_MAX; }
        if (c->fn(c->ctx, t + off[x], off[y] - off[x])) return 1;
        x = y;
    }
    if (buf != SIZE_MAX && c->fn(c->ctx, t + off[buf], off[n] - off[buf])) return 1;
    return 0;
}

rt_status rt_segment_cut(const rt_segmenter *s, const char *text, size_t n, rt_seg_mode mode,
                         int (*fn)(void *, const char *, size_t), void *ctx) {
    uint32_t *cp = malloc((n + 1) * sizeof *cp), *off = malloc((n + 1) * sizeof *off);
    double *score = malloc((n + 1) * sizeof *score);
    int32_t *nextpos = malloc((n + 1) * sizeof *nextpos);
    if (!cp || !off || !score || !nextpos) {
        free(cp); free(off); free(score); free(nextpos);
        return rt_errorf(RT_ENOMEM, "segment: out of memory (%zu bytes of text)", n);
    }
    /* decode; invalid bytes are dropped, so work on a clean copy of the text */
    size_t m = rt_utf8_decode(text, n, cp, NULL);
    char *t = malloc(4 * m + 1);
    if (!t) { free(cp); free(off); free(score); free(nextpos); return rt_errorf(RT_ENOMEM, "segment: out of memory"); }
    size_t nb = 0;
    for (size_t i = 0; i < m; i++) { off[i] = (uint32_t)nb; nb += (size_t)rt_utf8_encode(cp[i], t + nb); }
    off[m] = (uint32_t)nb;
    cut_ctx c = {s, fn, ctx};
    rt_status st = RT_OK;
    size_t i = 0;
    while (i < m && st == RT_OK) {
        size_t j = i + 1;
        int stop = 0;
        if (han_block(cp[i])) {
            while (j < m && han_block(cp[j])) j++;
            stop = cut_block(&c, t, cp + i, off + i, j - i, mode, score + i, nextpos + i);
        } else if (cp[i] == '\r' && j < m && cp[j] == '\n') {     /* jieba's re_skip: \r\n or one \s */
            j++;
            stop = fn(ctx, t + off[i], off[j] - off[i]);
        } else {
            stop = fn(ctx, t + off[i], off[j] - off[i]);
        }
        if (stop) st = rt_last_status() ? rt_last_status() : RT_EINVAL;
        i = j;
    }
    free(cp); free(off); free(score); free(nextpos); free(t);
    return st;
}
