/* glove.c — GloVe text vectors for neighbour retrieval (TinyBERT
 * data_augmentation.py prepare_embedding_retrieval) */
#include "glove.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_space(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

void rt_glove_free(rt_glove *g) {
    if (!g) return;
    for (int64_t i = 0; i < g->n; i++) free(g->words[i]);
    free(g->words);
    free(g->zero);
    rt_release(g->emb);
    memset(g, 0, sizeof *g);
}

/* Word lookup while reading: open addressing over word indices. */
typedef struct { int64_t *slot; size_t cap; } wtab;

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* The slot of `w` (holding -1 when absent). */
static int64_t *wtab_find(wtab *t, char **words, const char *w) {
    size_t i = (size_t)hash_str(w) & (t->cap - 1);
    while (t->slot[i] >= 0 && strcmp(words[t->slot[i]], w)) i = (i + 1) & (t->cap - 1);
    return &t->slot[i];
}

rt_status rt_glove_read(const char *path, int64_t limit, rt_glove *g) {
    memset(g, 0, sizeof *g);
    FILE *f = fopen(path, "rb");
    if (!f) return rt_errorf(RT_EIO, "%s: %s", path, strerror(errno));
    rt_status st = rt_glove_read_stream(f, path, limit, g);
    fclose(f);
    return st;
}

rt_status rt_glove_read_stream(FILE *f, const char *path, int64_t limit, rt_glove *g) {
    memset(g, 0, sizeof *g);
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    int64_t cap = 0, lineno = 0;
    float *data = NULL;
    wtab t = {NULL, 0};
    rt_status st = RT_OK;
    while ((limit <= 0 || g->n < limit) && (len = getline(&line, &lcap, f)) >= 0) {
        lineno++;
        char *p = line, *end = line + len;
        while (p < end && is_space((unsigned char)*p)) p++;
        if (p == end) { st = rt_errorf(RT_EFORMAT, "%s:%lld: empty line (expected a word and its vector)", path, (long long)lineno); break; }
        char *w = p;
        while (p < end && !is_space((unsigned char)*p)) p++;
        char *wend = p;
        /* count and parse the values */
        if (g->n == 0) {        /* the first line fixes the dimension */
            int64_t d = 0;
            for (char *q = p; q < end;) {
                while (q < end && is_space((unsigned char)*q)) q++;
                if (q == end) break;
                d++;
                while (q < end && !is_space((unsigned char)*q)) q++;
            }
            if (d == 0) { st = rt_errorf(RT_EFORMAT, "%s:%lld: a word without a vector", path, (long long)lineno); break; }
            g->dim = d;
        }
        if (g->n == cap) {
            int64_t nc = cap ? cap * 2 : 1024;
            char **nw = realloc(g->words, (size_t)nc * sizeof *nw);
            if (nw) g->words = nw;
            float *nd = nw ? realloc(data, (size_t)nc * (size_t)g->dim * sizeof *nd) : NULL;
            if (!nw || !nd) { st = rt_errorf(RT_ENOMEM, "%s: out of memory at line %lld", path, (long long)lineno); break; }
            data = nd;
            cap = nc;
        }
        float *row = data + g->n * g->dim;
        int64_t k = 0;
        while (p < end) {
            while (p < end && is_space((unsigned char)*p)) p++;
            if (p == end) break;
            char *e;
            double v = strtod(p, &e);
            if (e == p || (e < end && !is_space((unsigned char)*e))) {
                char *q = p;
                while (q < end && !is_space((unsigned char)*q)) q++;
                st = rt_errorf(RT_EFORMAT, "%s:%lld: value %lld ('%.*s') is not a number", path, (long long)lineno,
                               (long long)k + 1, (int)(q - p > 40 ? 40 : q - p), p);
                break;
            }
            if (!isfinite((float)v)) {
                st = rt_errorf(RT_EFORMAT, "%s:%lld: value %lld is not finite in float32", path, (long long)lineno,
                               (long long)k + 1);
                break;
            }
            if (k < g->dim) row[k] = (float)v;
            k++;
            p = e;
        }
        if (st) break;
        if (k != g->dim) {
            st = rt_errorf(RT_EFORMAT, "%s:%lld: ragged line: %lld values, line 1 has %lld", path, (long long)lineno,
                           (long long)k, (long long)g->dim);
            break;
        }
        *wend = 0;
        if (!(g->words[g->n] = strdup(w))) { st = rt_errorf(RT_ENOMEM, "out of memory"); break; }
        g->n++;
    }
    free(line);
    if (!st && g->n == 0) st = rt_errorf(RT_EFORMAT, "%s: no word vectors", path);
    if (st) { free(data); rt_glove_free(g); return st; }
    int64_t shape[2] = {g->n, g->dim};
    g->emb = rt_tensor_empty(RT_F32, 2, shape);
    g->zero = calloc((size_t)g->n, 1);
    t.cap = 16;
    while (t.cap < (size_t)g->n * 2) t.cap <<= 1;
    t.slot = malloc(t.cap * sizeof *t.slot);
    if (!g->emb || !g->zero || !t.slot) { free(data); free(t.slot); rt_glove_free(g); return rt_errorf(RT_ENOMEM, "%s: out of memory", path); }
    memset(t.slot, 0xff, t.cap * sizeof *t.slot);
    float *E = rt_f32(g->emb);
    for (int64_t i = 0; i < g->n; i++) {
        int64_t *s = wtab_find(&t, g->words, g->words[i]);
        if (*s >= 0) g->zero[*s] = 1;        /* an earlier line of the same word: its row stays zero */
        *s = i;
        const float *src = data + i * g->dim;
        float *dst = E + i * g->dim;
        double ss = 0;
        for (int64_t j = 0; j < g->dim; j++) ss += (double)src[j] * src[j];
        if (!strcmp(g->words[i], "<unk>") || ss == 0) { g->zero[i] = 1; ss = 0; }
        double inv = ss > 0 ? 1.0 / sqrt(ss) : 0.0;
        for (int64_t j = 0; j < g->dim; j++) dst[j] = (float)(src[j] * inv);
    }
    for (int64_t i = 0; i < g->n; i++)
        if (g->zero[i]) memset(E + i * g->dim, 0, (size_t)g->dim * sizeof *E);
    free(t.slot);
    free(data);
    return RT_OK;
}
