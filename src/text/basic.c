/* basic.c — upstream BasicTokenizer: _clean_text, _tokenize_chinese_chars,
 * whitespace split, lower + strip accents, _run_split_on_punc. */
#include "tokenizer.h"
#include "unicode.h"

#include <stdlib.h>
#include <string.h>

int rt_ids_push(rt_ids *a, int64_t id) {
    if (a->n == a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 64;
        int64_t *p = realloc(a->v, nc * sizeof *p);
        if (!p) { rt_errorf(RT_ENOMEM, "tokenizer: out of memory"); return -1; }
        a->v = p; a->cap = nc;
    }
    a->v[a->n++] = id;
    return 0;
}

void rt_ids_free(rt_ids *a) { free(a->v); a->v = NULL; a->n = a->cap = 0; }

static const char *const default_never[] = {"[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]"};

rt_tokenizer *rt_tokenizer_new(rt_vocab *vocab, bool lower, const char *const *never, int n_never) {
    rt_tokenizer *t = calloc(1, sizeof *t);
    if (!t) { rt_vocab_free(vocab); rt_errorf(RT_ENOMEM, "tokenizer: out of memory"); return NULL; }
    t->vocab = vocab; t->lower = lower; t->max_chars = 100;
    if (!never) { never = default_never; n_never = 5; }
    if (n_never > RT_TOK_MAX_NEVER) n_never = RT_TOK_MAX_NEVER;
    for (int i = 0; i < n_never; i++) {
        t->never[i] = strdup(never[i]);
        if (!t->never[i]) { rt_tokenizer_free(t); rt_errorf(RT_ENOMEM, "tokenizer: out of memory"); return NULL; }
        t->n_never = i + 1;
    }
    t->unk_id = rt_vocab_find(vocab, "[UNK]", 5);
    t->cls_id = rt_vocab_find(vocab, "[CLS]", 5);
    t->sep_id = rt_vocab_find(vocab, "[SEP]", 5);
    t->pad_id = rt_vocab_find(vocab, "[PAD]", 5);
    t->mask_id = rt_vocab_find(vocab, "[MASK]", 6);
    return t;
}

void rt_tokenizer_free(rt_tokenizer *t) {
    if (!t) return;
    for (int i = 0; i < t->n_never; i++) free(t->never[i]);
    rt_vocab_free(t->vocab);
    free(t);
}

const char *rt_tokenizer_token(const rt_tokenizer *t, int64_t id, size_t *len) {
    if (id == -1) { if (len) *len = 5; return "[UNK]"; }
    return rt_vocab_token(t->vocab, id, len);
}

typedef struct {
    const rt_tokenizer *t;
    rt_word_fn fn; void *ctx;
    uint32_t *low; size_t lowcap;      /* lower/strip output */
    char *wb; size_t wbcap;            /* UTF-8 of one word */
    rt_status st;
} basic_state;

static int grow_u32(uint32_t **p, size_t *cap, size_t need) {
    if (need <= *cap) return 0;
    size_t nc = *cap ? *cap : 256;
    while (nc < need) nc *= 2;
    uint32_t *q = realloc(*p, nc * sizeof *q);
    if (!q) return -1;
    *p = q; *cap = nc;
    return 0;
}

static int emit(basic_state *s, const uint32_t *cp, size_t n) {
    if (!n) return 0;
    if (4 * n > s->wbcap) {
        size_t nc = s->wbcap ? s->wbcap : 256;
        while (nc < 4 * n) nc *= 2;
        char *q = realloc(s->wb, nc);
        if (!q) { s->st = rt_errorf(RT_ENOMEM, "tokenizer: out of memory"); return -1; }
        s->wb = q; s->wbcap = nc;
    }
    size_t nb = rt_utf8_encode_n(cp, n, s->wb);
    if (s->fn(s->ctx, s->wb, nb, n)) { s->st = rt_last_status() ? rt_last_status() : RT_EINVAL; return -1; }
    return 0;
}

static bool is_never(const rt_tokenizer *t, const uint32_t *cp, size_t n) {
    for (int i = 0; i < t->n_never; i++) {
        const char *w = t->never[i]; size_t k = 0;
        for (; k < n && w[k]; k++) if ((unsigned char)w[k] != cp[k]) break;
        if (k == n && !w[k]) return true;
    }
    return false;
}

/* One whitespace token (after cleaning / CJK isolation). */
static int do_token(basic_state *s, const uint32_t *cp, size_t n) {
    const rt_tokenizer *t = s->t;
    if (t->n_never && n && cp[0] == '[' && is_never(t, cp, n)) return emit(s, cp, n);
    if (n == 1 && rt_uc_is_cjk_unified(cp[0])) return emit(s, cp, 1);   /* fast path */
    if (t->lower) {
        if (grow_u32(&s->low, &s->lowcap, RT_UC_LOWER_STRIP_MAX(n))) {
            s->st = rt_errorf(RT_ENOMEM, "tokenizer: out of memory"); return -1;
        }
        n = rt_uc_lower_strip(cp, n, s->low);
        cp = s->low;
        if (t->n_never && n && cp[0] == '[' && is_never(t, cp, n)) return emit(s, cp, n);
    }
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        if (rt_uc_is_punct(cp[i])) {
            if (emit(s, cp + start, i - start) || emit(s, cp + i, 1)) return -1;
            start = i + 1;
        }
    }
    return emit(s, cp + start, n - start);
}

rt_status rt_basic_tokenize(const rt_tokenizer *t, const char *text, size_t n, rt_word_fn fn, void *ctx) {
    uint32_t stackbuf[1024];
    uint32_t *cp = n <= 1024 ? stackbuf : malloc(n * sizeof *cp);
    if (!cp) return rt_errorf(RT_ENOMEM, "tokenizer: out of memory (%zu bytes of text)", n);
    size_t m = rt_utf8_decode(text, n, cp, NULL);
    basic_state s = {.t = t, .fn = fn, .ctx = ctx, .st = RT_OK};
    /* Clean in place: drop NUL/U+FFFD/control, whitespace -> ' ', then cut tokens. */
    size_t w = 0, tok = 0;
    int stop = 0;
    for (size_t i = 0; i < m && !stop; i++) {
        uint32_t c = cp[i];
        if (c >= 0x21 && c < 0x7F) { cp[w++] = c; continue; }     /* fast path: printable ASCII */
        if (rt_uc_is_cjk_unified(c)) {                             /* fast path: CJK */
            if (w > tok) stop = do_token(&s, cp + tok, w - tok);
            cp[w++] = c;
            if (!stop) stop = emit(&s, cp + w - 1, 1);
            tok = w;
            continue;
        }
        if (c == 0 || c == 0xFFFD || rt_uc_is_control(c)) continue;
        if (rt_uc_is_whitespace(c) || rt_uc_is_split_space(c)) {
            if (w > tok) stop = do_token(&s, cp + tok, w - tok);
            tok = w;
            continue;
        }
        if (rt_uc_is_cjk(c)) {
            if (w > tok) stop = do_token(&s, cp + tok, w - tok);
            cp[w++] = c;
            if (!stop) stop = do_token(&s, cp + w - 1, 1);
            tok = w;
            continue;
        }
        cp[w++] = c;
    }
    if (!stop && w > tok) do_token(&s, cp + tok, w - tok);
    if (cp != stackbuf) free(cp);
    free(s.low); free(s.wb);
    return s.st;
}
