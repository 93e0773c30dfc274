/* tsv.c — TSV splitting with csv.reader(delimiter="\t", quotechar=None) semantics. */
#include "tasks.h"
#include "../core/sys.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *rt_data_read_file(const char *path, size_t *n) {
    uint8_t *buf;
    return rt_read_file(path, &buf, n) == RT_OK ? (char *)buf : NULL;
}

void rt_tsv_free(rt_tsv *t) {
    for (size_t i = 0; i < t->n; i++) free(t->row[i].cell);
    free(t->row); free(t->buf);
    memset(t, 0, sizeof *t);
}

rt_status rt_tsv_parse(const char *data, size_t n, rt_tsv *out) { return rt_tsv_parse_named(data, n, "tsv", out); }

rt_status rt_tsv_parse_named(const char *data, size_t n, const char *name, rt_tsv *out) {
    memset(out, 0, sizeof *out);
    out->buf = malloc(n + 1);
    if (!out->buf) return rt_errorf(RT_ENOMEM, "%s: out of memory", name);
    memcpy(out->buf, data, n);
    out->buf[n] = 0;
    char *s = out->buf;
    size_t i = 0, line = 0;
    if (n >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3)) i = 3;
    while (i < n) {
        size_t e = i;
        while (e < n && s[e] != '\n' && s[e] != '\r') e++;
        size_t next = e < n ? (s[e] == '\r' && e + 1 < n && s[e + 1] == '\n' ? e + 2 : e + 1) : e;
        line++;
        const char *nul = memchr(s + i, 0, e - i);
        if (nul) {                      /* a NUL would silently cut the line short */
            size_t col = (size_t)(nul - (s + i)) + 1;
            rt_tsv_free(out);
            return rt_errorf(RT_EFORMAT, "%s:%zu: NUL byte at column %zu (binary or UTF-16 file?)", name, line, col);
        }
        s[e] = 0;
        if (out->n == out->cap) {
            size_t nc = out->cap ? out->cap * 2 : 256;
            rt_tsv_row *r = realloc(out->row, nc * sizeof *r);
            if (!r) { rt_tsv_free(out); return rt_errorf(RT_ENOMEM, "%s: out of memory", name); }
            out->row = r; out->cap = nc;
        }
        rt_tsv_row *row = &out->row[out->n++];
        row->line = line; row->ncell = 0; row->cell = NULL;
        if (e > i) {
            size_t nt = 1;
            for (size_t k = i; k < e; k++) nt += s[k] == '\t';
            row->cell = malloc(nt * sizeof *row->cell);
            if (!row->cell) { rt_tsv_free(out); return rt_errorf(RT_ENOMEM, "%s: out of memory", name); }
            char *c = s + i;
            row->cell[row->ncell++] = c;
            for (; *c; c++) if (*c == '\t') { *c = 0; row->cell[row->ncell++] = c + 1; }
        }
        i = next;
    }
    return RT_OK;
}

rt_status rt_tsv_read(const char *path, rt_tsv *out) {
    size_t n;
    char *d = rt_data_read_file(path, &n);
    if (!d) { memset(out, 0, sizeof *out); return rt_last_status(); }
    rt_status s = rt_tsv_parse_named(d, n, path, out);
    free(d);
    return s;
}
