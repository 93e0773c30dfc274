/* ner.c — People's Daily NER reader: one "char label" per line (first and last
 * space-separated fields), sentences separated by blank lines, BIO labels. */
#include "tasks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const rt_ner_labels[] = {"O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC",
                                     "X", "[CLS]", "[SEP]", NULL};

void rt_ner_free(rt_ner_data *d) {
    for (size_t i = 0; i < d->n; i++) {
        for (size_t k = 0; k < d->s[i].n; k++) { free(d->s[i].word[k]); free(d->s[i].label[k]); }
        free(d->s[i].word); free(d->s[i].label);
    }
    free(d->s);
    memset(d, 0, sizeof *d);
}

typedef struct { char **w, **l; size_t n, cap, line; } cur_sent;

static int push_tok(cur_sent *c, const char *w, size_t wl, const char *l, size_t ll) {
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 64;
        char **a = realloc(c->w, nc * sizeof *a);
        if (!a) return -1;
        c->w = a;
        char **b = realloc(c->l, nc * sizeof *b);
        if (!b) return -1;
        c->l = b; c->cap = nc;
    }
    c->w[c->n] = strndup(w, wl);
    c->l[c->n] = strndup(l, ll);
    c->n++;
    return c->w[c->n - 1] && c->l[c->n - 1] ? 0 : -1;
}

static int flush(rt_ner_data *d, cur_sent *c) {
    if (!c->n) return 0;
    if (d->n == d->cap) {
        size_t nc = d->cap ? d->cap * 2 : 64;
        rt_ner_sent *s = realloc(d->s, nc * sizeof *s);
        if (!s) return -1;
        d->s = s; d->cap = nc;
    }
    rt_ner_sent *s = &d->s[d->n++];
    s->word = c->w; s->label = c->l; s->n = c->n; s->line = c->line;
    memset(c, 0, sizeof *c);
    return 0;
}

static void drop(cur_sent *c) {
    for (size_t k = 0; k < c->n; k++) { free(c->w[k]); free(c->l[k]); }
    free(c->w); free(c->l);
    memset(c, 0, sizeof *c);
}

static int is_sp(char ch) { return ch == ' ' || ch == '\t'; }

rt_status rt_ner_parse(const char *data, size_t n, const char *name, int mode, rt_ner_data *d) {
    memset(d, 0, sizeof *d);
    snprintf(d->file, sizeof d->file, "%s", name);
    cur_sent c = {0};
    size_t i = 0, line = 0;
    if (n >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3)) i = 3;
    int prev_stop = 0;                 /* mode 1: previous token line was "。" */
    while (i < n) {
        size_t e = i;
        while (e < n && data[e] != '\n' && data[e] != '\r') e++;
        size_t next = e < n ? (data[e] == '\r' && e + 1 < n && data[e + 1] == '\n' ? e + 2 : e + 1) : e;
        line++;
        const char *nul = memchr(data + i, 0, e - i);
        if (nul) {                                      /* would silently cut the line */
            drop(&c); rt_ner_free(d);
            return rt_errorf(RT_EFORMAT, "%s:%zu: NUL byte at column %zu (binary or UTF-16 file?)", name, line,
                             (size_t)(nul - (data + i)) + 1);
        }
        size_t b = i, z = e;
        while (b < z && is_sp(data[b])) b++;
        while (z > b && is_sp(data[z - 1])) z--;
        if (b == z) {                                   /* blank line */
            if (mode == 0 || prev_stop) { if (flush(d, &c)) goto oom; }
            prev_stop = 0;
        } else if (z - b >= 10 && !memcmp(data + b, "-DOCSTART-", 10)) {
            prev_stop = 0;
        } else {
            size_t we = b;
            while (we < z && !is_sp(data[we])) we++;
            size_t lb = z;
            while (lb > we && !is_sp(data[lb - 1])) lb--;
            if (we == z) {
                drop(&c); rt_ner_free(d);
                return rt_errorf(RT_EFORMAT, "%s:%zu: expected \"<char> <label>\", found one field", name, line);
            }
            if (!c.n) c.line = line;
            if (push_tok(&c, data + b, we - b, data + lb, z - lb)) goto oom;
            prev_stop = we - b == 3 && !memcmp(data + b, "\xE3\x80\x82", 3);
        }
        i = next;
    }
    if (mode == 0) { if (flush(d, &c)) goto oom; }
    else drop(&c);                                      /* upstream drops an unterminated sentence */
    return RT_OK;
oom:
    drop(&c); rt_ner_free(d);
    return rt_errorf(RT_ENOMEM, "%s: out of memory", name);
}

rt_status rt_ner_read(const char *path, int mode, rt_ner_data *out) {
    memset(out, 0, sizeof *out);
    size_t n;
    char *data = rt_data_read_file(path, &n);
    if (!data) return rt_last_status();
    rt_status st = rt_ner_parse(data, n, path, mode, out);
    free(data);
    return st;
}
