/* vocab_build.c — WordPiece (BPE-with-## merges) and character vocabulary learners. */
#include "vocab_build.h"
#include "tokenizer.h"
#include "unicode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rt_vocab_builder {
    rt_tokenizer *tok;       /* basic tokenizer only (empty vocab) */
    rt_vocab *words;         /* word -> index */
    int64_t *count; size_t cap;
};

static const char *const DEFAULT_SPECIAL[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};

rt_vocab_builder *rt_vocab_builder_new(bool lower) {
    rt_vocab_builder *b = calloc(1, sizeof *b);
    if (!b) { rt_errorf(RT_ENOMEM, "vocab builder: out of memory"); return NULL; }
    rt_vocab *empty = rt_vocab_new();
    b->tok = empty ? rt_tokenizer_new(empty, lower, NULL, 0) : NULL;
    b->words = b->tok ? rt_vocab_new() : NULL;
    if (!b->words) { rt_vocab_builder_free(b); return NULL; }
    return b;
}

void rt_vocab_builder_free(rt_vocab_builder *b) {
    if (!b) return;
    rt_tokenizer_free(b->tok); rt_vocab_free(b->words); free(b->count); free(b);
}

size_t rt_vocab_builder_words(const rt_vocab_builder *b) { return (size_t)rt_vocab_size(b->words); }

static int count_word(void *ctx, const char *w, size_t nb, size_t nc) {
    (void)nc;
    rt_vocab_builder *b = ctx;
    int64_t id = rt_vocab_find(b->words, w, nb);
    if (id < 0) {
        id = rt_vocab_add(b->words, w, nb);
        if (id < 0) return 1;
        if ((size_t)id >= b->cap) {
            size_t nc2 = b->cap ? b->cap * 2 : 4096;
            int64_t *c = realloc(b->count, nc2 * sizeof *c);
            if (!c) { rt_errorf(RT_ENOMEM, "vocab builder: out of memory"); return 1; }
            b->count = c; b->cap = nc2;
        }
        b->count[id] = 0;
    }
    b->count[id]++;
    return 0;
}

rt_status rt_vocab_builder_add_text(rt_vocab_builder *b, const char *text, size_t n) {
    return rt_basic_tokenize(b->tok, text, n, count_word, b);
}

rt_status rt_vocab_builder_add_file(rt_vocab_builder *b, const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return rt_errorf(RT_EIO, "vocab builder: cannot open %s", path);
    char *line = NULL; size_t cap = 0; ssize_t r;
    rt_status st = RT_OK;
    while (st == RT_OK && (r = getline(&line, &cap, f)) >= 0) {
        st = rt_vocab_builder_add_text(b, line, (size_t)r);
        if (st == RT_OK && rt_interrupted()) st = rt_errorf(RT_EINTR, "vocab builder: interrupted");
    }
    free(line);
    fclose(f);
    return st;
}

/* ---- alphabet ---- */
typedef struct { uint32_t cp; int64_t n; } cp_count;
static int by_cp(const void *x, const void *y) {
    uint32_t a = ((const cp_count *)x)->cp, b = ((const cp_count *)y)->cp;
    return a < b ? -1 : a > b;
}
static int by_count(const void *x, const void *y) {
    const cp_count *a = x, *b = y;
    if (a->n != b->n) return a->n > b->n ? -1 : 1;
    return a->cp < b->cp ? -1 : a->cp > b->cp;
}

/* Characters with their counts (first positions in first[], inner positions in inner[]). */
typedef struct { cp_count *v; size_t n, cap; int64_t *idx; size_t mask; } cp_map;

static int cpm_add(cp_map *m, uint32_t cp, int64_t n) {
    if ((m->n + 1) * 2 > m->mask + 1 || !m->idx) {
        size_t nm = m->idx ? (m->mask + 1) * 2 - 1 : 1023;
        int64_t *ni = malloc((nm + 1) * sizeof *ni);
        if (!ni) return -1;
        memset(ni, 0xff, (nm + 1) * sizeof *ni);
        for (size_t i = 0; i < m->n; i++) {
            size_t h = (m->v[i].cp * 2654435761u) & nm;
            while (ni[h] >= 0) h = (h + 1) & nm;
            ni[h] = (int64_t)i;
        }
        free(m->idx); m->idx = ni; m->mask = nm;
    }
    size_t h = (cp * 2654435761u) & m->mask;
    while (m->idx[h] >= 0) {
        if (m->v[m->idx[h]].cp == cp) { m->v[m->idx[h]].n += n; return 0; }
        h = (h + 1) & m->mask;
    }
    if (m->n == m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 256;
        cp_count *v = realloc(m->v, nc * sizeof *v);
        if (!v) return -1;
        m->v = v; m->cap = nc;
    }
    m->v[m->n] = (cp_count){cp, n};
    m->idx[h] = (int64_t)m->n++;
    return 0;
}

static bool cpm_has(const cp_map *m, uint32_t cp) {
    if (!m->idx) return false;
    size_t h = (cp * 2654435761u) & m->mask;
    while (m->idx[h] >= 0) { if (m->v[m->idx[h]].cp == cp) return true; h = (h + 1) & m->mask; }
    return false;
}

static void cpm_free(cp_map *m) { free(m->v); free(m->idx); memset(m, 0, sizeof *m); }

static rt_vocab *start_vocab(const rt_vocab_build_opts *o) {
    rt_vocab *v = rt_vocab_new();
    if (!v) return NULL;
    const char *const *sp = o->special ? o->special : DEFAULT_SPECIAL;
    int ns = o->special ? o->nspecial : 5;
    for (int i = 0; i < ns; i++)
        if (rt_vocab_find(v, sp[i], strlen(sp[i])) < 0 && rt_vocab_add(v, sp[i], strlen(sp[i])) < 0) { rt_vocab_free(v); return NULL; }
    return v;
}

static int add_cp(rt_vocab *v, uint32_t cp, bool cont) {
    char buf[8]; int k = 0;
    if (cont) { buf[k++] = '#'; buf[k++] = '#'; }
    k += rt_utf8_encode(cp, buf + k);
    if (rt_vocab_find(v, buf, (size_t)k) >= 0) return 0;
    return rt_vocab_add(v, buf, (size_t)k) < 0 ? -1 : 0;
}

/* Count characters of all words: whole-word alphabet (kept set after limit). */
static int alphabet(rt_vocab_builder *b, cp_map *all) {
    int64_t nw = rt_vocab_size(b->words);
    uint32_t cps[512];
    for (int64_t w = 0; w < nw; w++) {
        size_t len; const char *s = rt_vocab_token(b->words, w, &len);
        size_t i = 0;
        while (i < len) {
            size_t chunk = len - i > 512 ? 512 : len - i;
            while (chunk < len - i && ((unsigned char)s[i + chunk] & 0xC0) == 0x80) chunk--;
            size_t k = rt_utf8_decode(s + i, chunk, cps, NULL);
            for (size_t j = 0; j < k; j++) if (cpm_add(all, cps[j], b->count[w])) return -1;
            i += chunk;
        }
    }
    return 0;
}


/* ---- BPE merges ---- */
typedef struct { int32_t *s; uint32_t len; int64_t cnt; uint32_t stamp; } mword;
typedef struct { int32_t a, b; int64_t count; int32_t *w; uint32_t nw, capw; } mpair;
typedef struct { int64_t count; int32_t a, b; } hent;

typedef struct {
    mword *w; size_t nw;
    mpair *p; size_t np, capp;
    int64_t *idx; size_t mask;            /* (a,b) -> pair index */
    hent *h; size_t nh, caph;             /* max-heap */
    int32_t *touched; size_t nt, capt;    /* pairs changed during one merge */
} mstate;

static uint64_t pkey(int32_t a, int32_t b) {
    uint64_t k = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    k ^= k >> 33; k *= 0xff51afd7ed558ccdULL; k ^= k >> 33;
    return k;
}

static int64_t pair_get(mstate *m, int32_t a, int32_t b, bool create) {
    if (create && (m->np + 1) * 2 > m->mask + 1) {
        size_t nm = m->idx ? (m->mask + 1) * 2 - 1 : 65535;
        int64_t *ni = malloc((nm + 1) * sizeof *ni);
        if (!ni) return -2;
        memset(ni, 0xff, (nm + 1) * sizeof *ni);
        for (size_t i = 0; i < m->np; i++) {
            size_t h = pkey(m->p[i].a, m->p[i].b) & nm;
            while (ni[h] >= 0) h = (h + 1) & nm;
            ni[h] = (int64_t)i;
        }
        free(m->idx); m->idx = ni; m->mask = nm;
    }
    if (!m->idx) return -1;
    size_t h = pkey(a, b) & m->mask;
    while (m->idx[h] >= 0) {
        mpair *p = &m->p[m->idx[h]];
        if (p->a == a && p->b == b) return m->idx[h];
        h = (h + 1) & m->mask;
    }
    if (!create) return -1;
    if (m->np == m->capp) {
        size_t nc = m->capp ? m->capp * 2 : 65536;
        mpair *np = realloc(m->p, nc * sizeof *np);
        if (!np) return -2;
        m->p = np; m->capp = nc;
    }
    m->p[m->np] = (mpair){a, b, 0, NULL, 0, 0};
    m->idx[h] = (int64_t)m->np;
    return (int64_t)m->np++;
}

static bool hbetter(const hent *x, const hent *y) {
    if (x->count != y->count) return x->count > y->count;
    if (x->a != y->a) return x->a < y->a;
    return x->b < y->b;
}

static int hpush(mstate *m, hent e) {
    if (m->nh == m->caph) {
        size_t nc = m->caph ? m->caph * 2 : 65536;
        hent *nh = realloc(m->h, nc * sizeof *nh);
        if (!nh) return -1;
        m->h = nh; m->caph = nc;
    }
    size_t i = m->nh++;
    while (i > 0 && hbetter(&e, &m->h[(i - 1) / 2])) { m->h[i] = m->h[(i - 1) / 2]; i = (i - 1) / 2; }
    m->h[i] = e;
    return 0;
}

static hent hpop(mstate *m) {
    hent top = m->h[0], last = m->h[--m->nh];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= m->nh) break;
        if (c + 1 < m->nh && hbetter(&m->h[c + 1], &m->h[c])) c++;
        if (!hbetter(&m->h[c], &last)) break;
        m->h[i] = m->h[c]; i = c;
    }
    if (m->nh) m->h[i] = last;
    return top;
}

static int touch(mstate *m, int64_t pi) {
    if (m->nt == m->capt) {
        size_t nc = m->capt ? m->capt * 2 : 1024;
        int32_t *t = realloc(m->touched, nc * sizeof *t);
        if (!t) return -1;
        m->touched = t; m->capt = nc;
    }
    m->touched[m->nt++] = (int32_t)pi;
    return 0;
}

/* count[(a,b)] += d; when d > 0 also record word w in the pair's word list. */
static int bump(mstate *m, int32_t a, int32_t b, int64_t d, int32_t w) {
    int64_t pi = pair_get(m, a, b, d > 0);
    if (pi == -1) return 0;
    if (pi < 0) return -1;
    mpair *p = &m->p[pi];
    p->count += d;
    if (d > 0 && (p->nw == 0 || p->w[p->nw - 1] != w)) {
        if (p->nw == p->capw) {
            uint32_t nc = p->capw ? p->capw * 2 : 4;
            int32_t *nw = realloc(p->w, nc * sizeof *nw);
            if (!nw) return -1;
            p->w = nw; p->capw = nc;
        }
        p->w[p->nw++] = w;
    }
    return touch(m, pi);
}

static void mstate_free(mstate *m) {
    for (size_t i = 0; i < m->nw; i++) free(m->w[i].s);
    for (size_t i = 0; i < m->np; i++) free(m->p[i].w);
    free(m->w); free(m->p); free(m->idx); free(m->h); free(m->touched);
}

/* Symbol id of a code point at a first / inner position (-1 if not in the alphabet). */
static int32_t sym_of(rt_vocab *v, uint32_t cp, bool cont) {
    char buf[8]; int k = 0;
    if (cont) { buf[k++] = '#'; buf[k++] = '#'; }
    k += rt_utf8_encode(cp, buf + k);
    return (int32_t)rt_vocab_find(v, buf, (size_t)k);
}

rt_vocab *rt_vocab_build_wordpiece(rt_vocab_builder *b, const rt_vocab_build_opts *o) {
    mstate m = {0};
    cp_map all = {0}, inner = {0};
    rt_vocab *v = NULL;
    uint32_t *cps = NULL; size_t cap = 0;
    char *nbuf = NULL; size_t ncap = 0;
    int64_t nw = rt_vocab_size(b->words);
    if (alphabet(b, &all)) goto oom;
    if (all.n) qsort(all.v, all.n, sizeof *all.v, by_count);
    if (o->limit_alphabet > 0 && all.n > (size_t)o->limit_alphabet) all.n = (size_t)o->limit_alphabet;
    cp_map keep = {0};
    for (size_t i = 0; i < all.n; i++) if (cpm_add(&keep, all.v[i].cp, 0)) { cpm_free(&keep); goto oom; }
    if (all.n) qsort(all.v, all.n, sizeof *all.v, by_cp);
    if (!(v = start_vocab(o))) { cpm_free(&keep); goto oom; }
    for (size_t i = 0; i < all.n; i++) if (add_cp(v, all.v[i].cp, false)) { cpm_free(&keep); goto oom; }
    /* words as symbol sequences; inner characters become "##c" */
    m.w = calloc((size_t)(nw ? nw : 1), sizeof *m.w);
    if (!m.w) { cpm_free(&keep); goto oom; }
    for (int64_t w = 0; w < nw; w++) {
        size_t len; const char *s = rt_vocab_token(b->words, w, &len);
        if (len > cap) { free(cps); cap = len * 2; cps = malloc(cap * sizeof *cps); if (!cps) { cpm_free(&keep); goto oom; } }
        size_t k = rt_utf8_decode(s, len, cps, NULL), kk = 0;
        for (size_t j = 0; j < k; j++) if (cpm_has(&keep, cps[j])) cps[kk++] = cps[j];
        for (size_t j = 1; j < kk; j++) if (cpm_add(&inner, cps[j], 0)) { cpm_free(&keep); goto oom; }
    }
    if (inner.n) qsort(inner.v, inner.n, sizeof *inner.v, by_cp);
    for (size_t i = 0; i < inner.n; i++) if (add_cp(v, inner.v[i].cp, true)) { cpm_free(&keep); goto oom; }
    m.nw = (size_t)nw;
    for (int64_t w = 0; w < nw; w++) {
        size_t len; const char *s = rt_vocab_token(b->words, w, &len);
        size_t k = rt_utf8_decode(s, len, cps, NULL), kk = 0;
        mword *mw = &m.w[w];
        mw->cnt = b->count[w];
        mw->s = malloc((k ? k : 1) * sizeof *mw->s);
        if (!mw->s) { cpm_free(&keep); goto oom; }
        for (size_t j = 0; j < k; j++) {
            if (!cpm_has(&keep, cps[j])) continue;
            mw->s[kk] = sym_of(v, cps[j], kk > 0);
            kk++;
        }
        mw->len = (uint32_t)kk;
        for (size_t j = 0; j + 1 < kk; j++) if (bump(&m, mw->s[j], mw->s[j + 1], mw->cnt, (int32_t)w)) { cpm_free(&keep); goto oom; }
    }
    cpm_free(&keep);
    for (size_t i = 0; i < m.np; i++) if (hpush(&m, (hent){m.p[i].count, m.p[i].a, m.p[i].b})) goto oom;
    int64_t minf = o->min_frequency > 0 ? o->min_frequency : 1;
    uint32_t stamp = 0;
    while (m.nh && (o->size <= 0 || rt_vocab_size(v) < o->size)) {
        if (rt_interrupted()) { rt_vocab_free(v); mstate_free(&m); cpm_free(&all); cpm_free(&inner); free(cps); free(nbuf);
                                rt_errorf(RT_EINTR, "build_wordpiece: interrupted"); return NULL; }
        hent e = hpop(&m);
        int64_t pi = pair_get(&m, e.a, e.b, false);
        if (pi < 0 || m.p[pi].count != e.count || e.count <= 0) continue;   /* stale entry */
        if (e.count < minf) break;
        /* the new token: a + b without its "##" */
        size_t la, lb; const char *sa = rt_vocab_token(v, e.a, &la), *sb = rt_vocab_token(v, e.b, &lb);
        if (la + lb + 1 > ncap) { ncap = (la + lb + 1) * 2; char *nb2 = realloc(nbuf, ncap); if (!nb2) goto oom; nbuf = nb2; }
        memcpy(nbuf, sa, la);
        size_t skip = lb >= 2 && sb[0] == '#' && sb[1] == '#' ? 2 : 0;
        memcpy(nbuf + la, sb + skip, lb - skip);
        size_t ln = la + lb - skip;
        int64_t c = rt_vocab_find(v, nbuf, ln);
        if (c < 0 && (c = rt_vocab_add(v, nbuf, ln)) < 0) goto oom;
        int32_t a = e.a, bb = e.b, ci = (int32_t)c;
        stamp++;
        m.nt = 0;
        /* the word list may grow while we walk it (new pairs with c never equal (a,b)) */
        for (uint32_t k = 0; k < m.p[pi].nw; k++) {
            int32_t w = m.p[pi].w[k];
            mword *mw = &m.w[w];
            if (mw->stamp == stamp) continue;
            mw->stamp = stamp;
            for (uint32_t i = 0; i + 1 < mw->len; i++) {
                if (mw->s[i] != a || mw->s[i + 1] != bb) continue;
                if (i > 0 && (bump(&m, mw->s[i - 1], a, -mw->cnt, w) || bump(&m, mw->s[i - 1], ci, mw->cnt, w))) goto oom;
                if (i + 2 < mw->len && (bump(&m, bb, mw->s[i + 2], -mw->cnt, w) || bump(&m, ci, mw->s[i + 2], mw->cnt, w))) goto oom;
                mw->s[i] = ci;
                memmove(mw->s + i + 1, mw->s + i + 2, (mw->len - i - 2) * sizeof *mw->s);
                mw->len--;
            }
        }
        m.p[pi].count = 0;
        free(m.p[pi].w); m.p[pi].w = NULL; m.p[pi].nw = m.p[pi].capw = 0;
        for (size_t t = 0; t < m.nt; t++) {
            mpair *p = &m.p[m.touched[t]];
            if (p->count > 0 && hpush(&m, (hent){p->count, p->a, p->b})) goto oom;
        }
    }
    mstate_free(&m); cpm_free(&all); cpm_free(&inner); free(cps); free(nbuf);
    return v;
oom:
    mstate_free(&m); cpm_free(&all); cpm_free(&inner); free(cps); free(nbuf); rt_vocab_free(v);
    rt_errorf(RT_ENOMEM, "build_wordpiece: out of memory");
    return NULL;
}

rt_vocab *rt_vocab_build_chars(rt_vocab_builder *b, const rt_vocab_build_opts *o) {
    cp_map first = {0}, inner = {0};
    int64_t nw = rt_vocab_size(b->words);
    uint32_t *cps = NULL; size_t cap = 0;
    rt_vocab *v = NULL;
    for (int64_t w = 0; w < nw; w++) {
        size_t len; const char *s = rt_vocab_token(b->words, w, &len);
        if (len > cap) { free(cps); cap = len * 2; cps = malloc(cap * sizeof *cps); if (!cps) goto oom; }
        size_t k = rt_utf8_decode(s, len, cps, NULL);
        for (size_t j = 0; j < k; j++)
            if (cpm_add(j ? &inner : &first, cps[j], b->count[w])) goto oom;
    }
    if (first.n) qsort(first.v, first.n, sizeof *first.v, by_count);
    if (inner.n) qsort(inner.v, inner.n, sizeof *inner.v, by_count);
    if (!(v = start_vocab(o))) goto oom;
    /* interleave by frequency: the most frequent of the two lists first */
    size_t i = 0, j = 0;
    while ((i < first.n || j < inner.n) && (o->size <= 0 || rt_vocab_size(v) < o->size)) {
        bool take_first = j >= inner.n || (i < first.n && first.v[i].n >= inner.v[j].n);
        cp_count c = take_first ? first.v[i++] : inner.v[j++];
        if (c.n < (o->min_frequency > 0 ? o->min_frequency : 1)) continue;
        if (add_cp(v, c.cp, !take_first)) goto oom;
    }
    free(cps); cpm_free(&first); cpm_free(&inner);
    return v;
oom:
    free(cps); cpm_free(&first); cpm_free(&inner); rt_vocab_free(v);
    rt_errorf(RT_ENOMEM, "build_chars: out of memory");
    return NULL;
}
