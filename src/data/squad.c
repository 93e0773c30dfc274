/* squad.c — SQuAD v1.1 / CMRC 2018 JSON reader (cJSON): data -> paragraphs ->
 * {context, qas: [{id, question, answers: [{text, answer_start}]}]}. */
#include "tasks.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rt_squad_free(rt_qa_data *d) {
    for (size_t i = 0; i < d->n; i++) {
        rt_qa *q = &d->q[i];
        free(q->id); free(q->question);
        /* questions of one paragraph share its context (and of one article its title) */
        if (i == 0 || q->context != d->q[i - 1].context) free(q->context);
        if (i == 0 || q->title != d->q[i - 1].title) free(q->title);
        for (size_t k = 0; k < q->nans; k++) free(q->ans[k].text);
        free(q->ans);
    }
    free(d->q);
    memset(d, 0, sizeof *d);
}

static const char *str_field(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static char *dupnum_or_str(const cJSON *v) {
    if (cJSON_IsString(v)) return strdup(v->valuestring);
    if (cJSON_IsNumber(v)) { char b[32]; snprintf(b, sizeof b, "%.17g", v->valuedouble); return strdup(b); }
    return NULL;
}

#define FAIL(...) do { st = rt_errorf(RT_EFORMAT, __VA_ARGS__); goto fail; } while (0)

rt_status rt_squad_parse(const char *data, size_t n, const char *name, rt_qa_data *d) {
    memset(d, 0, sizeof *d);
    snprintf(d->file, sizeof d->file, "%s", name);
    rt_status st = RT_OK;
    if (n >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3)) { data += 3; n -= 3; }
    cJSON *root = cJSON_ParseWithLength(data, n);
    if (!root) {
        const char *e = cJSON_GetErrorPtr();
        size_t off = e && e >= data && e <= data + n ? (size_t)(e - data) : 0, line = 1;
        for (size_t i = 0; i < off; i++) line += data[i] == '\n';
        return rt_errorf(RT_EFORMAT, "%s:%zu: invalid JSON (near byte %zu)", name, line, off);
    }
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "data");
    if (!cJSON_IsArray(arr)) FAIL("%s: expected {\"data\": [...]} (SQuAD v1.1 / CMRC 2018 format)", name);
    int ai = 0;
    const cJSON *art;
    cJSON_ArrayForEach(art, arr) {
        const char *title = str_field(art, "title");
        char *title_c = NULL;           /* one copy per article, shared by its questions */
        const cJSON *paras = cJSON_GetObjectItemCaseSensitive(art, "paragraphs");
        if (!cJSON_IsArray(paras)) FAIL("%s: data[%d]: \"paragraphs\" must be an array", name, ai);
        int pi = 0;
        const cJSON *p;
        cJSON_ArrayForEach(p, paras) {
            const char *ctx = str_field(p, "context");
            const cJSON *qas = cJSON_GetObjectItemCaseSensitive(p, "qas");
            if (!ctx) FAIL("%s: data[%d].paragraphs[%d]: missing \"context\" string", name, ai, pi);
            if (!cJSON_IsArray(qas)) FAIL("%s: data[%d].paragraphs[%d]: \"qas\" must be an array", name, ai, pi);
            int qi = 0;
            char *ctx_c = NULL;         /* one copy per paragraph, shared by its questions */
            const cJSON *qa;
            cJSON_ArrayForEach(qa, qas) {
                const char *qs = str_field(qa, "question");
                char *id = dupnum_or_str(cJSON_GetObjectItemCaseSensitive(qa, "id"));
                if (!qs || !id) { free(id); FAIL("%s: data[%d].paragraphs[%d].qas[%d]: missing \"id\" or \"question\"", name, ai, pi, qi); }
                if (d->n == d->cap) {
                    size_t nc = d->cap ? d->cap * 2 : 64;
                    rt_qa *q = realloc(d->q, nc * sizeof *q);
                    if (!q) { free(id); st = rt_errorf(RT_ENOMEM, "%s: out of memory", name); goto fail; }
                    d->q = q; d->cap = nc;
                }
                rt_qa *q = &d->q[d->n++];
                memset(q, 0, sizeof *q);
                q->id = id;
                q->question = strdup(qs);
                if (!ctx_c && !(ctx_c = strdup(ctx))) { st = rt_errorf(RT_ENOMEM, "%s: out of memory", name); d->n--; free(id); goto fail; }
                if (title && !title_c && !(title_c = strdup(title))) { st = rt_errorf(RT_ENOMEM, "%s: out of memory", name); d->n--; free(id); goto fail; }
                q->context = ctx_c;
                q->title = title_c;
                const cJSON *ans = cJSON_GetObjectItemCaseSensitive(qa, "answers");
                if (ans && !cJSON_IsArray(ans)) FAIL("%s: qas id %s: \"answers\" must be an array", name, q->id);
                int na = cJSON_GetArraySize(ans);
                if (na > 0) {
                    q->ans = calloc((size_t)na, sizeof *q->ans);
                    if (!q->ans) { st = rt_errorf(RT_ENOMEM, "%s: out of memory", name); goto fail; }
                }
                const cJSON *a;
                cJSON_ArrayForEach(a, ans) {
                    const char *t = str_field(a, "text");
                    if (!t) FAIL("%s: qas id %s: answer without \"text\"", name, q->id);
                    const cJSON *s = cJSON_GetObjectItemCaseSensitive(a, "answer_start");
                    double sv = cJSON_IsNumber(s) ? s->valuedouble : -1;
                    q->ans[q->nans].start = sv >= 0 && sv < 1e15 ? (long)sv : -1;   /* NaN/huge: unknown */
                    q->ans[q->nans].text = strdup(t);
                    if (!q->ans[q->nans++].text) { st = rt_errorf(RT_ENOMEM, "%s: out of memory", name); goto fail; }
                }
                if (!q->question || !q->context) { st = rt_errorf(RT_ENOMEM, "%s: out of memory", name); goto fail; }
                qi++;
            }
            pi++;
        }
        ai++;
    }
    cJSON_Delete(root);
    return RT_OK;
fail:
    cJSON_Delete(root);
    rt_squad_free(d);
    return st;
}

rt_status rt_squad_read(const char *path, rt_qa_data *out) {
    memset(out, 0, sizeof *out);
    size_t n;
    char *data = rt_data_read_file(path, &n);
    if (!data) return rt_last_status();
    rt_status st = rt_squad_parse(data, n, path, out);
    free(data);
    return st;
}
