/* tensor_dict.c — ordered (name, tensor) list + metadata, see tensor_dict.h. */
#include "tensor_dict.h"

#include <stdlib.h>
#include <string.h>

rt_tensor_dict *rt_tdict_new(void) {
    rt_tensor_dict *d = calloc(1, sizeof *d);
    if (!d) rt_errorf(RT_ENOMEM, "tensor dict: out of memory");
    return d;
}

void rt_tdict_free(rt_tensor_dict *d) {
    if (!d) return;
    for (int i = 0; i < d->n; i++) { free(d->items[i].name); rt_release(d->items[i].t); }
    for (int i = 0; i < d->nmeta; i++) { free(d->meta[i].key); free(d->meta[i].value); }
    free(d->items);
    free(d->meta);
    free(d);
}

int rt_tdict_index(const rt_tensor_dict *d, const char *name) {
    for (int i = 0; i < d->n; i++)
        if (strcmp(d->items[i].name, name) == 0) return i;
    return -1;
}

rt_tensor *rt_tdict_get(const rt_tensor_dict *d, const char *name) {
    int i = rt_tdict_index(d, name);
    return i < 0 ? NULL : d->items[i].t;
}

rt_status rt_tdict_add_owned(rt_tensor_dict *d, const char *name, rt_tensor *t) {
    int i = rt_tdict_index(d, name);
    if (i >= 0) { rt_release(d->items[i].t); d->items[i].t = t; return RT_OK; }
    if (d->n == d->cap) {
        int cap = d->cap ? d->cap * 2 : 16;
        rt_named_tensor *p = realloc(d->items, (size_t)cap * sizeof *p);
        if (!p) { rt_release(t); return rt_errorf(RT_ENOMEM, "tensor dict: out of memory"); }
        d->items = p;
        d->cap = cap;
    }
    char *nm = strdup(name);
    if (!nm) { rt_release(t); return rt_errorf(RT_ENOMEM, "tensor dict: out of memory"); }
    d->items[d->n].name = nm;
    d->items[d->n].t = t;
    d->n++;
    return RT_OK;
}

rt_status rt_tdict_add(rt_tensor_dict *d, const char *name, rt_tensor *t) {
    rt_retain(t);
    return rt_tdict_add_owned(d, name, t);
}

rt_status rt_tdict_set_meta(rt_tensor_dict *d, const char *key, const char *value) {
    char *v = strdup(value);
    if (!v) return rt_errorf(RT_ENOMEM, "tensor dict: out of memory");
    for (int i = 0; i < d->nmeta; i++)
        if (strcmp(d->meta[i].key, key) == 0) { free(d->meta[i].value); d->meta[i].value = v; return RT_OK; }
    if (d->nmeta == d->metacap) {
        int cap = d->metacap ? d->metacap * 2 : 8;
        rt_kv *p = realloc(d->meta, (size_t)cap * sizeof *p);
        if (!p) { free(v); return rt_errorf(RT_ENOMEM, "tensor dict: out of memory"); }
        d->meta = p;
        d->metacap = cap;
    }
    char *k = strdup(key);
    if (!k) { free(v); return rt_errorf(RT_ENOMEM, "tensor dict: out of memory"); }
    d->meta[d->nmeta].key = k;
    d->meta[d->nmeta].value = v;
    d->nmeta++;
    return RT_OK;
}

const char *rt_tdict_get_meta(const rt_tensor_dict *d, const char *key) {
    for (int i = 0; i < d->nmeta; i++)
        if (strcmp(d->meta[i].key, key) == 0) return d->meta[i].value;
    return NULL;
}
