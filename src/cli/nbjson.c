/* nbjson.c — JSON helpers for notebooks: Jupyter's line arrays, base64, cell ids
 * and nbformat's on-disk style (json.dumps(sort_keys=True, indent=1,
 * ensure_ascii=False) plus a final newline), written atomically. */
#include <errno.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "nbjson.h"

cJSON *nb_lines(const char *text, size_t n) {
    cJSON *a = cJSON_CreateArray();
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && text[j] != '\n') j++;
        if (j < n) j++;                      /* keep the newline */
        char *line = strndup(text + i, j - i);
        cJSON_AddItemToArray(a, cJSON_CreateString(line ? line : ""));
        free(line);
        i = j;
    }
    return a;
}

char *nb_join_lines(const cJSON *v) {
    if (cJSON_IsString(v)) return strdup(v->valuestring);
    if (!cJSON_IsArray(v)) return NULL;
    size_t n = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, v) if (cJSON_IsString(it)) n += strlen(it->valuestring);
    char *s = malloc(n + 1), *p = s;
    if (!s) return NULL;
    cJSON_ArrayForEach(it, v) {
        if (!cJSON_IsString(it)) continue;
        size_t k = strlen(it->valuestring);
        memcpy(p, it->valuestring, k);
        p += k;
    }
    *p = 0;
    return s;
}

char *nb_base64(const void *data, size_t n) {
    static const char T[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *d = data;
    char *out = malloc((n + 2) / 3 * 4 + 1), *o = out;
    if (!out) return NULL;
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v = (unsigned)d[i] << 16 | (unsigned)d[i + 1] << 8 | d[i + 2];
        *o++ = T[v >> 18]; *o++ = T[(v >> 12) & 63]; *o++ = T[(v >> 6) & 63]; *o++ = T[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned)d[i] << 16 | (i + 1 < n ? (unsigned)d[i + 1] << 8 : 0);
        *o++ = T[v >> 18];
        *o++ = T[(v >> 12) & 63];
        *o++ = i + 1 < n ? T[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    *o = 0;
    return out;
}

char *nb_read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 1 << 16, n = 0, r;
    char *s = malloc(cap);
    while (s && (r = fread(s + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n - 1 == 0) {
            char *t = realloc(s, cap *= 2);
            if (!t) { free(s); s = NULL; }
            else s = t;
        }
    }
    fclose(f);
    if (s) s[n] = 0;
    else errno = ENOMEM;
    return s;
}

void nb_ensure_id(cJSON *cell) {
    static unsigned long state;
    if (cJSON_IsString(cJSON_GetObjectItem(cell, "id"))) return;
    if (!state) state = (unsigned long)time(NULL) ^ ((unsigned long)getpid() << 16) ^ 0x9e3779b9UL;
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    char id[16];
    snprintf(id, sizeof id, "%08lx", (state >> 24) & 0xffffffffUL);
    cJSON_DeleteItemFromObject(cell, "id");
    cJSON_AddStringToObject(cell, "id", id);
}

/* ---- the writer ---- */

typedef struct { char *s; size_t n, cap; int err; } sbuf;

static void put(sbuf *b, const char *s, size_t n) {
    if (b->err) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->n + n + 1) * 2;
        char *t = realloc(b->s, cap);
        if (!t) { b->err = 1; return; }
        b->s = t; b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
}

static void puts_(sbuf *b, const char *s) { put(b, s, strlen(s)); }

static void indent(sbuf *b, int k) { put(b, "\n", 1); for (int i = 0; i < k; i++) put(b, " ", 1); }

static void put_string(sbuf *b, const char *s) {
    put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char e[8];
        switch (*p) {
        case '"': puts_(b, "\\\""); break;
        case '\\': puts_(b, "\\\\"); break;
        case '\n': puts_(b, "\\n"); break;
        case '\r': puts_(b, "\\r"); break;
        case '\t': puts_(b, "\\t"); break;
        case '\b': puts_(b, "\\b"); break;
        case '\f': puts_(b, "\\f"); break;
        default:
            if (*p < 0x20) { snprintf(e, sizeof e, "\\u%04x", *p); puts_(b, e); }
            else put(b, (const char *)p, 1);
        }
    }
    put(b, "\"", 1);
}

static int cmp_key(const void *a, const void *b) {
    return strcmp((*(cJSON *const *)a)->string, (*(cJSON *const *)b)->string);
}

static void put_value(sbuf *b, const cJSON *v, int k) {
    char num[64];
    if (cJSON_IsNull(v)) puts_(b, "null");
    else if (cJSON_IsTrue(v)) puts_(b, "true");
    else if (cJSON_IsFalse(v)) puts_(b, "false");
    else if (cJSON_IsNumber(v)) {
        double d = v->valuedouble;
        if (d == floor(d) && fabs(d) < 1e15) snprintf(num, sizeof num, "%lld", (long long)d);
        else if (isfinite(d)) snprintf(num, sizeof num, "%.17g", d);
        else snprintf(num, sizeof num, "null");
        puts_(b, num);
    } else if (cJSON_IsString(v)) put_string(b, v->valuestring);
    else if (cJSON_IsArray(v)) {
        if (!v->child) { puts_(b, "[]"); return; }
        puts_(b, "[");
        for (const cJSON *c = v->child; c; c = c->next) {
            indent(b, k + 1);
            put_value(b, c, k + 1);
            if (c->next) puts_(b, ",");
        }
        indent(b, k);
        puts_(b, "]");
    } else if (cJSON_IsObject(v)) {
        size_t n = 0;
        for (const cJSON *c = v->child; c; c = c->next) n++;
        if (!n) { puts_(b, "{}"); return; }
        const cJSON **kids = malloc(n * sizeof *kids);
        if (!kids) { b->err = 1; return; }
        n = 0;
        for (const cJSON *c = v->child; c; c = c->next) kids[n++] = c;
        qsort(kids, n, sizeof *kids, cmp_key);
        puts_(b, "{");
        for (size_t i = 0; i < n; i++) {
            indent(b, k + 1);
            put_string(b, kids[i]->string);
            puts_(b, ": ");
            put_value(b, kids[i], k + 1);
            if (i + 1 < n) puts_(b, ",");
        }
        free(kids);
        indent(b, k);
        puts_(b, "}");
    } else {
        puts_(b, "null");
    }
}

char *nb_dumps(const cJSON *root) {
    sbuf b = {0};
    put_value(&b, root, 0);
    puts_(&b, "\n");
    if (b.err) { free(b.s); return NULL; }
    return b.s;
}

int nb_write_atomic(const char *path, const cJSON *root) {
    char *text = nb_dumps(root);
    if (!text) { errno = ENOMEM; return -1; }
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 24);
    if (!tmp) { free(text); errno = ENOMEM; return -1; }
    snprintf(tmp, pl + 24, "%s.tmp%d", path, (int)getpid());
    FILE *f = fopen(tmp, "wb");
    int rc = -1;
    if (f) {
        size_t n = strlen(text);
        bool ok = fwrite(text, 1, n, f) == n;
        ok = (fflush(f) == 0) && ok && fsync(fileno(f)) == 0;
        if (fclose(f) != 0) ok = false;
        if (ok && rename(tmp, path) == 0) rc = 0;
        else unlink(tmp);
    }
    free(tmp);
    free(text);
    return rc;
}
