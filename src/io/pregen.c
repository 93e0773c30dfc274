/* pregen.c — TinyBERT pregenerated JSON-lines reader/formatter (see pregen.h). */
#include "pregen.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rt_pregen_reader { FILE *f; char *path; char *line; size_t cap; long lineno; };

rt_pregen_reader *rt_pregen_open(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) { rt_errorf(RT_EIO, "%s: %s", path, strerror(errno)); return NULL; }
    rt_pregen_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) { free(r); fclose(f); rt_errorf(RT_ENOMEM, "out of memory"); return NULL; }
    r->f = f;
    return r;
}

void rt_pregen_close(rt_pregen_reader *r) {
    if (!r) return;
    fclose(r->f);
    free(r->line);
    free(r->path);
    free(r);
}

void rt_pregen_record_free(rt_pregen_record *rec) {
    for (int i = 0; i < rec->ntokens; i++) free(rec->tokens[i]);
    for (int i = 0; i < rec->nlabels; i++) free(rec->labels[i]);
    free(rec->tokens); free(rec->labels); free(rec->segment_ids); free(rec->positions);
    memset(rec, 0, sizeof *rec);
}

static int strs(const cJSON *a, char ***out, int *n) {
    if (!cJSON_IsArray(a)) return -1;
    int k = cJSON_GetArraySize(a);
    *out = calloc((size_t)(k ? k : 1), sizeof **out);
    if (!*out) return -1;
    *n = 0;
    for (const cJSON *x = a->child; x; x = x->next) {
        if (!cJSON_IsString(x) || !((*out)[*n] = strdup(x->valuestring))) return -1;
        (*n)++;
    }
    return 0;
}

static int ints(const cJSON *a, int64_t **out, int *n) {
    if (!cJSON_IsArray(a)) return -1;
    int k = cJSON_GetArraySize(a);
    *out = calloc((size_t)(k ? k : 1), sizeof **out);
    if (!*out) return -1;
    *n = 0;
    for (const cJSON *x = a->child; x; x = x->next) {
        if (!cJSON_IsNumber(x) || !(fabs(x->valuedouble) <= 9.0e15) || x->valuedouble != floor(x->valuedouble)) return -1;
        (*out)[(*n)++] = (int64_t)x->valuedouble;
    }
    return 0;
}

rt_status rt_pregen_parse_line(const char *line, size_t len, rt_pregen_record *rec, const char *label) {
    memset(rec, 0, sizeof *rec);
    cJSON *j = cJSON_ParseWithLength(line, len);
    const char *what = NULL;
    if (!cJSON_IsObject(j)) what = "not a JSON object";
    else if (strs(cJSON_GetObjectItemCaseSensitive(j, "tokens"), &rec->tokens, &rec->ntokens)) what = "'tokens' must be a list of strings";
    else if (ints(cJSON_GetObjectItemCaseSensitive(j, "segment_ids"), &rec->segment_ids, &rec->nsegment)) what = "'segment_ids' must be a list of integers";
    else if (ints(cJSON_GetObjectItemCaseSensitive(j, "masked_lm_positions"), &rec->positions, &rec->npositions)) what = "'masked_lm_positions' must be a list of integers";
    else if (strs(cJSON_GetObjectItemCaseSensitive(j, "masked_lm_labels"), &rec->labels, &rec->nlabels)) what = "'masked_lm_labels' must be a list of strings";
    else if (!cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(j, "is_random_next"))) what = "'is_random_next' must be true or false";
    else if (rec->nsegment != rec->ntokens) what = "'segment_ids' and 'tokens' differ in length";
    else if (rec->npositions != rec->nlabels) what = "'masked_lm_positions' and 'masked_lm_labels' differ in length";
    else {
        rec->is_random_next = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "is_random_next"));
        for (int i = 0; i < rec->npositions; i++)
            if (rec->positions[i] < 0 || rec->positions[i] >= rec->ntokens) { what = "a masked position is outside the tokens"; break; }
    }
    cJSON_Delete(j);
    if (!what) return RT_OK;
    rt_pregen_record_free(rec);
    return rt_errorf(RT_EFORMAT, "%s: %s", label, what);
}

int rt_pregen_next(rt_pregen_reader *r, rt_pregen_record *rec) {
    for (;;) {
        ssize_t n = getline(&r->line, &r->cap, r->f);
        if (n < 0) return 0;
        r->lineno++;
        while (n > 0 && (r->line[n - 1] == '\n' || r->line[n - 1] == '\r' || r->line[n - 1] == ' ')) n--;
        if (n == 0) continue;
        char label[4200];
        snprintf(label, sizeof label, "%s:%ld", r->path, r->lineno);
        return rt_pregen_parse_line(r->line, (size_t)n, rec, label) ? -1 : 1;
    }
}

rt_status rt_pregen_format(const rt_pregen_record *rec, char **out) {
    cJSON *j = cJSON_CreateObject(), *a;
    if (!j) return rt_errorf(RT_ENOMEM, "out of memory");
    a = cJSON_AddArrayToObject(j, "tokens");
    for (int i = 0; i < rec->ntokens; i++) cJSON_AddItemToArray(a, cJSON_CreateString(rec->tokens[i]));
    a = cJSON_AddArrayToObject(j, "segment_ids");
    for (int i = 0; i < rec->nsegment; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber((double)rec->segment_ids[i]));
    cJSON_AddBoolToObject(j, "is_random_next", rec->is_random_next);
    a = cJSON_AddArrayToObject(j, "masked_lm_positions");
    for (int i = 0; i < rec->npositions; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber((double)rec->positions[i]));
    a = cJSON_AddArrayToObject(j, "masked_lm_labels");
    for (int i = 0; i < rec->nlabels; i++) cJSON_AddItemToArray(a, cJSON_CreateString(rec->labels[i]));
    *out = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return *out ? RT_OK : rt_errorf(RT_ENOMEM, "out of memory");
}
