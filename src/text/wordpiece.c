/* wordpiece.c — greedy longest-match-first WordPiece (upstream WordpieceTokenizer). */
#include "tokenizer.h"

#include <stdlib.h>

rt_status rt_wordpiece(const rt_tokenizer *t, const char *w, size_t nb, size_t nc, rt_ids *out) {
    if (nc > (size_t)t->max_chars) return rt_ids_push(out, t->unk_id) ? RT_ENOMEM : RT_OK;
    /* byte offset of every char boundary (nc + 1 of them) */
    uint32_t sb[256];
    uint32_t *b = nc + 1 <= 256 ? sb : malloc((nc + 1) * sizeof *b);
    if (!b) return rt_errorf(RT_ENOMEM, "tokenizer: out of memory");
    size_t k = 0;
    for (size_t i = 0; i < nb; i++)
        if (((unsigned char)w[i] & 0xC0) != 0x80) b[k++] = (uint32_t)i;
    b[k] = (uint32_t)nb;
    size_t maxc = (size_t)rt_vocab_max_chars(t->vocab);
    size_t mark = out->n, start = 0;
    int bad = 0;
    while (start < k) {
        size_t kmax = k - start > maxc ? start + maxc : k, end = start;
        int64_t id = rt_vocab_longest(t->vocab, w, b, start, kmax, start > 0, &end);
        if (id < 0) { bad = 1; break; }
        if (rt_ids_push(out, id)) { if (b != sb) free(b); return RT_ENOMEM; }
        start = end;
    }
    if (b != sb) free(b);
    if (bad) { out->n = mark; return rt_ids_push(out, t->unk_id) ? RT_ENOMEM : RT_OK; }
    return RT_OK;
}

typedef struct { const rt_tokenizer *t; rt_ids *out; } wp_ctx;

static int wp_word(void *c, const char *w, size_t nb, size_t nc) {
    wp_ctx *x = c;
    return rt_wordpiece(x->t, w, nb, nc, x->out) != RT_OK;
}

rt_status rt_tokenize_ids(const rt_tokenizer *t, const char *text, size_t n, rt_ids *out) {
    wp_ctx c = {t, out};
    return rt_basic_tokenize(t, text, n, wp_word, &c);
}
