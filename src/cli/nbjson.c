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

/* ---- literals cJSON cannot hold ---- */

static size_t skip_ws(const char *t, size_t n, size_t p) {
    while (p < n && (t[p] == ' ' || t[p] == '\t' || t[p] == '\n' || t[p] == '\r')) p++;
    return p;
}
/* p at the opening quote; returns the position after the closing one. */
static size_t skip_string(const char *t, size_t n, size_t p) {
    for (p++; p < n && t[p] != '"'; p++)
        if (t[p] == '\\') p++;
    return p < n ? p + 1 : n;
}

static bool same_as_printed(const cJSON *v, const char *lit, size_t len) {
    char num[64];
    double d = v->valuedouble;
    if (d == floor(d) && fabs(d) < 1e15) snprintf(num, sizeof num, "%lld", (long long)d);
    else if (isfinite(d)) snprintf(num, sizeof num, "%.17g", d);
    else return false;
    return strlen(num) == len && !memcmp(num, lit, len);
}

/* Replace v (a child of parent) by a raw node printing t[b, e) verbatim. */
static void make_raw(cJSON *parent, cJSON *v, const char *t, size_t b, size_t e) {
    char *lit = malloc(e - b + 1);
    if (!lit) return;
    memcpy(lit, t + b, e - b);
    lit[e - b] = 0;
    cJSON *raw = cJSON_CreateRaw(lit);
    free(lit);
    if (!raw) return;
    raw->string = v->string;
    v->string = NULL;
    cJSON_ReplaceItemViaPointer(parent, v, raw);
}

/* Walk v and the text it was parsed from (at *p) together. */
static bool walk(cJSON *parent, cJSON *v, const char *t, size_t n, size_t *pp, bool strings) {
    size_t p = skip_ws(t, n, *pp);
    if (p >= n) return false;
    if (t[p] == '{' || t[p] == '[') {
        bool obj = t[p] == '{';
        if (obj != cJSON_IsObject(v) || (!obj && !cJSON_IsArray(v))) return false;
        const char *type = obj ? cJSON_GetStringValue(cJSON_GetObjectItem(v, "cell_type")) : NULL;
        bool code = type && !strcmp(type, "code");
        p++;
        for (cJSON *c = v->child, *next; c; c = next) {
            next = c->next;
            p = skip_ws(t, n, p);
            if (obj) {
                if (p >= n || t[p] != '"') return false;
                p = skip_ws(t, n, skip_string(t, n, p));
                if (p >= n || t[p] != ':') return false;
                p++;
            }
            /* a code cell's source is run, so it stays a string */
            bool keep = strings && !(code && c->string && !strcmp(c->string, "source"));
            if (!walk(v, c, t, n, &p, keep)) return false;
            p = skip_ws(t, n, p);
            if (p < n && t[p] == ',') p++;
        }
        p = skip_ws(t, n, p);
        if (p >= n || t[p] != (obj ? '}' : ']')) return false;
        *pp = p + 1;
        return true;
    }
    size_t b = p;
    if (t[p] == '"') {
        if (!cJSON_IsString(v)) return false;
        p = skip_string(t, n, p);
        if (strings && parent) {
            for (size_t i = b; i + 5 < p; i++) {
                if (t[i] == '\\' && t[i + 1] == 'u' && !memcmp(t + i + 2, "0000", 4)) { make_raw(parent, v, t, b, p); break; }
                if (t[i] == '\\') i++;
            }
        }
    } else {
        while (p < n && (strchr("+-.0123456789eE", t[p]) || (t[p] >= 'a' && t[p] <= 'z'))) p++;
        if (cJSON_IsNumber(v) && parent && !same_as_printed(v, t + b, p - b)) make_raw(parent, v, t, b, p);
    }
    *pp = p;
    return true;
}

bool nb_keep_literals(cJSON *root, const char *text, size_t n) {
    size_t p = 0;
    if (n >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) p = 3;
    return walk(NULL, root, text, n, &p, true);
}

/* ---- the writer ---- */

/* The writer appends to an rt_buf (core/sys.h); its oom flag carries failures. */
typedef rt_buf sbuf;
static void put(sbuf *b, const char *s, size_t n) { rt_buf_append(b, s, n); }
static void puts_(sbuf *b, const char *s) { rt_buf_puts(b, s); }

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
    else if (cJSON_IsRaw(v)) puts_(b, v->valuestring);     /* a literal kept byte for byte */
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
        if (!kids) { b->oom = true; return; }
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
    return rt_buf_detach(&b, NULL);
}

rt_status nb_write_atomic(const char *path, const cJSON *root) {
    size_t n;
    sbuf b = {0};
    put_value(&b, root, 0);
    puts_(&b, "\n");
    char *text = rt_buf_detach(&b, &n);
    if (!text) return rt_errorf(RT_ENOMEM, "%s: out of memory formatting the notebook", path);
    rt_status st = rt_write_file_atomic(path, text, n);
    free(text);
    return st;
}
