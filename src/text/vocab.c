/* vocab.c — vocabulary loading, hashing and saving. */
#include "vocab.h"
#include "unicode.h"
#include "../core/sys.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct rt_vocab {
    char *arena; size_t alen, acap;        /* tokens, each NUL-terminated */
    size_t *off; uint32_t *len; int64_t n, cap;
    int64_t *full, *cont; size_t mask;     /* open addressing: id or -1 */
    int max_chars;
};

/* FNV-1a over the bytes (incremental: hash_step), then a final mix. */
static inline uint64_t hash_step(uint64_t h, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) { h ^= (unsigned char)s[i]; h *= 1099511628211ULL; }
    return h;
}
static inline uint64_t hash_fin(uint64_t h) {
    h ^= h >> 29; h *= 0xbf58476d1ce4e5b9ULL; h ^= h >> 32;
    return h;
}
static uint64_t hash_bytes(const char *s, size_t n, uint64_t seed) {
    return hash_fin(hash_step(1469598103934665603ULL ^ seed, s, n));
}
#define SEED_FULL 0
#define SEED_CONT 0x9e3779b97f4a7c15ULL

rt_vocab *rt_vocab_new(void) {
    rt_vocab *v = calloc(1, sizeof *v);
    if (!v) { rt_errorf(RT_ENOMEM, "vocab: out of memory"); return NULL; }
    v->mask = 1023;
    v->full = malloc((v->mask + 1) * sizeof *v->full);
    v->cont = malloc((v->mask + 1) * sizeof *v->cont);
    if (!v->full || !v->cont) { rt_vocab_free(v); rt_errorf(RT_ENOMEM, "vocab: out of memory"); return NULL; }
    memset(v->full, 0xff, (v->mask + 1) * sizeof *v->full);
    memset(v->cont, 0xff, (v->mask + 1) * sizeof *v->cont);
    return v;
}

void rt_vocab_free(rt_vocab *v) {
    if (!v) return;
    free(v->arena); free(v->off); free(v->len); free(v->full); free(v->cont); free(v);
}

static int tok_eq(const rt_vocab *v, int64_t id, const char *s, size_t n, size_t skip) {
    return v->len[id] == n + skip && memcmp(v->arena + v->off[id] + skip, s, n) == 0 &&
           (skip == 0 || memcmp(v->arena + v->off[id], "##", 2) == 0);
}

#define SLOT(h, id) ((int64_t)(((h) >> 33) << 32) | (int64_t)(id))
#define SLOT_ID(x) ((x) & 0xffffffffLL)
#define SLOT_FP(x) ((uint64_t)(x) >> 32)

static void tab_put(rt_vocab *v, int64_t *tab, uint64_t h, int64_t id, size_t skip) {
    const char *s = v->arena + v->off[id] + skip; size_t n = v->len[id] - skip;
    for (size_t i = h & v->mask;; i = (i + 1) & v->mask) {
        if (tab[i] < 0) { tab[i] = SLOT(h, id); return; }
        if (SLOT_FP(tab[i]) == (h >> 33) && tok_eq(v, SLOT_ID(tab[i]), s, n, skip)) { tab[i] = SLOT(h, id); return; }  /* last line wins */
    }
}

static void insert(rt_vocab *v, int64_t id) {
    const char *s = v->arena + v->off[id]; size_t n = v->len[id];
    tab_put(v, v->full, hash_bytes(s, n, SEED_FULL), id, 0);
    if (n >= 2 && s[0] == '#' && s[1] == '#')
        tab_put(v, v->cont, hash_bytes(s + 2, n - 2, SEED_CONT), id, 2);
}

static int rehash(rt_vocab *v) {
    size_t nm = (v->mask + 1) * 2 - 1;
    int64_t *f = malloc((nm + 1) * sizeof *f), *c = malloc((nm + 1) * sizeof *c);
    if (!f || !c) { free(f); free(c); return -1; }
    memset(f, 0xff, (nm + 1) * sizeof *f); memset(c, 0xff, (nm + 1) * sizeof *c);
    free(v->full); free(v->cont);
    v->full = f; v->cont = c; v->mask = nm;
    for (int64_t i = 0; i < v->n; i++) insert(v, i);
    return 0;
}

int64_t rt_vocab_add(rt_vocab *v, const char *tok, size_t len) {
    if (v->n == v->cap) {
        int64_t nc = v->cap ? v->cap * 2 : 1024;
        size_t *o = realloc(v->off, (size_t)nc * sizeof *o);
        if (o) v->off = o;
        uint32_t *l = realloc(v->len, (size_t)nc * sizeof *l);
        if (l) v->len = l;
        if (!o || !l) { rt_errorf(RT_ENOMEM, "vocab: out of memory"); return -1; }
        v->cap = nc;
    }
    if (v->alen + len + 1 > v->acap) {
        size_t nc = v->acap ? v->acap * 2 : 65536;
        while (nc < v->alen + len + 1) nc *= 2;
        char *a = realloc(v->arena, nc);
        if (!a) { rt_errorf(RT_ENOMEM, "vocab: out of memory"); return -1; }
        v->arena = a; v->acap = nc;
    }
    memcpy(v->arena + v->alen, tok, len);
    v->arena[v->alen + len] = 0;
    int64_t id = v->n++;
    v->off[id] = v->alen; v->len[id] = (uint32_t)len;
    v->alen += len + 1;
    if ((size_t)v->n * 2 > v->mask + 1) { if (rehash(v)) { v->n--; rt_errorf(RT_ENOMEM, "vocab: out of memory"); return -1; } }
    else insert(v, id);
    size_t skip = (len >= 2 && tok[0] == '#' && tok[1] == '#') ? 2 : 0;
    int nc = (int)rt_utf8_len(tok + skip, len - skip);
    if (nc > v->max_chars) v->max_chars = nc;
    return id;
}

static int64_t lookup_h(const rt_vocab *v, const int64_t *tab, const char *s, size_t n, uint64_t h, size_t skip) {
    uint64_t fp = h >> 33;
    for (size_t i = h & v->mask;; i = (i + 1) & v->mask) {
        int64_t x = tab[i];
        if (x < 0) return -1;
        if (SLOT_FP(x) == fp && tok_eq(v, SLOT_ID(x), s, n, skip)) return SLOT_ID(x);
    }
}

static int64_t lookup(const rt_vocab *v, const int64_t *tab, const char *s, size_t n, uint64_t seed, size_t skip) {
    return lookup_h(v, tab, s, n, hash_bytes(s, n, seed), skip);
}

int64_t rt_vocab_longest(const rt_vocab *v, const char *w, const uint32_t *b, size_t start, size_t kmax,
                         bool cont, size_t *end) {
    uint64_t hs[130];
    if (kmax - start >= 128) kmax = start + 128;
    uint64_t h = 1469598103934665603ULL ^ (cont ? SEED_CONT : SEED_FULL);
    for (size_t k = start + 1; k <= kmax; k++) {
        h = hash_step(h, w + b[k - 1], b[k] - b[k - 1]);
        hs[k - start] = h;
    }
    const int64_t *tab = cont ? v->cont : v->full;
    for (size_t k = kmax; k > start; k--) {
        int64_t id = lookup_h(v, tab, w + b[start], b[k] - b[start], hash_fin(hs[k - start]), cont ? 2 : 0);
        if (id >= 0) { *end = k; return id; }
    }
    return -1;
}

int64_t rt_vocab_find(const rt_vocab *v, const char *tok, size_t len) {
    return lookup(v, v->full, tok, len, SEED_FULL, 0);
}

int64_t rt_vocab_find_cont(const rt_vocab *v, const char *piece, size_t len) {
    return lookup(v, v->cont, piece, len, SEED_CONT, 2);
}

const char *rt_vocab_token(const rt_vocab *v, int64_t id, size_t *len) {
    if (id < 0 || id >= v->n) return NULL;
    if (len) *len = v->len[id];
    return v->arena + v->off[id];
}

int64_t rt_vocab_size(const rt_vocab *v) { return v->n; }
int rt_vocab_max_chars(const rt_vocab *v) { return v->max_chars; }

/* Length of a Python-whitespace code point starting at s[i] (0 if none). */
static size_t space_at(const char *s, size_t i, size_t n) {
    uint32_t cp[4], off[4];
    size_t m = n - i < 4 ? n - i : 4;
    size_t k = rt_utf8_decode(s + i, m, cp, off);
    if (!k || off[0] != 0 || !rt_uc_is_py_space(cp[0])) return 0;
    char tmp[4];
    return (size_t)rt_utf8_encode(cp[0], tmp);
}

/* Length of a Python-whitespace code point ending at s[e-1] (0 if none). */
static size_t space_before(const char *s, size_t b, size_t e) {
    size_t i = e;
    while (i > b && e - i < 4) {
        i--;
        if (((unsigned char)s[i] & 0xC0) != 0x80) break;
    }
    if (i >= e) return 0;
    size_t l = space_at(s, i, e);
    return (l && i + l == e) ? e - i : 0;
}

rt_vocab *rt_vocab_from_buffer(const char *d, size_t n, const char *name) {
    rt_vocab *v = rt_vocab_new();
    if (!v) return NULL;
    size_t i = 0;
    while (i < n) {
        size_t e = i;
        while (e < n && d[e] != '\n' && d[e] != '\r') e++;
        size_t next = e < n ? (d[e] == '\r' && e + 1 < n && d[e + 1] == '\n' ? e + 2 : e + 1) : e;
        size_t b = i, l;
        while (b < e && (l = space_at(d, b, e))) b += l;
        while (e > b && (l = space_before(d, b, e))) e -= l;
        if (rt_vocab_add(v, d + b, e - b) < 0) { rt_error_prefix("%s", name); rt_vocab_free(v); return NULL; }
        i = next;
    }
    return v;
}

rt_vocab *rt_vocab_load(const char *path) {
    uint8_t *buf;
    size_t n;
    if (rt_read_file(path, &buf, &n)) { rt_error_prefix("vocab"); return NULL; }
    rt_vocab *v = rt_vocab_from_buffer((const char *)buf, n, path);
    free(buf);
    return v;
}

rt_status rt_vocab_save(const rt_vocab *v, const char *path) {
    rt_atomic_file af;
    rt_status s = rt_atomic_open(&af, path);
    for (int64_t i = 0; i < v->n && !s; i++) {
        s = rt_atomic_write(&af, v->arena + v->off[i], v->len[i]);
        if (!s) s = rt_atomic_write(&af, "\n", 1);
    }
    if (s) { rt_atomic_abort(&af); rt_error_prefix("vocab"); return s; }
    s = rt_atomic_commit(&af);
    if (s) rt_error_prefix("vocab");
    return s;
}
