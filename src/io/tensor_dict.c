/* tensor_dict.c — ordered (name, tensor) list + metadata, see tensor_dict.h. */
#include "tensor_dict.h"

#include <stdint.h>
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
    free(d->hash);
    free(d->mhash);
    free(d);
}

static uint32_t hash_str(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

/* Slot of `name` in table (names[i] via stride) or of the empty slot it would take. */
static int slot_of(const int *tab, int cap, const char *name, const void *base, size_t stride) {
    uint32_t m = (uint32_t)cap - 1, i = hash_str(name) & m;
    while (tab[i]) {
        const char *k = *(char *const *)((const char *)base + (size_t)(tab[i] - 1) * stride);
        if (strcmp(k, name) == 0) return (int)i;
        i = (i + 1) & m;
    }
    return (int)i;
}

/* Make room for n+1 entries (load <= 1/2); returns -1 when out of memory. */
static int rehash(int **tab, int *cap, int n, const void *base, size_t stride) {
    if (*tab && 2 * (n + 1) <= *cap) return 0;
    int nc = *cap ? *cap : 32;
    while (2 * (n + 1) > nc) nc *= 2;
    int *t = calloc((size_t)nc, sizeof *t);
    if (!t) return -1;
    for (int i = 0; i < n; i++) {
        const char *k = *(char *const *)((const char *)base + (size_t)i * stride);
        t[slot_of(t, nc, k, base, stride)] = i + 1;
    }
    free(*tab);
    *tab = t;
    *cap = nc;
    return 0;
}

int rt_tdict_index(const rt_tensor_dict *d, const char *name) {
    if (!d->hash) return -1;
    int s = slot_of(d->hash, d->hcap, name, d->items, sizeof *d->items);
    return d->hash[s] - 1;
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
    if (!nm || rehash(&d->hash, &d->hcap, d->n, d->items, sizeof *d->items)) {
        free(nm);
        rt_release(t);
        return rt_errorf(RT_ENOMEM, "tensor dict: out of memory");
    }
    d->items[d->n].name = nm;
    d->items[d->n].t = t;
    d->hash[slot_of(d->hash, d->hcap, nm, d->items, sizeof *d->items)] = d->n + 1;
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
    if (d->mhash) {
        int i = d->mhash[slot_of(d->mhash, d->mhcap, key, d->meta, sizeof *d->meta)] - 1;
        if (i >= 0) { free(d->meta[i].value); d->meta[i].value = v; return RT_OK; }
    }
    if (d->nmeta == d->metacap) {
        int cap = d->metacap ? d->metacap * 2 : 8;
        rt_kv *p = realloc(d->meta, (size_t)cap * sizeof *p);
        if (!p) { free(v); return rt_errorf(RT_ENOMEM, "tensor dict: out of memory"); }
        d->meta = p;
        d->metacap = cap;
    }
    char *k = strdup(key);
    if (!k || rehash(&d->mhash, &d->mhcap, d->nmeta, d->meta, sizeof *d->meta)) {
        free(k);
        free(v);
        return rt_errorf(RT_ENOMEM, "tensor dict: out of memory");
    }
    d->meta[d->nmeta].key = k;
    d->meta[d->nmeta].value = v;
    d->mhash[slot_of(d->mhash, d->mhcap, k, d->meta, sizeof *d->meta)] = d->nmeta + 1;
    d->nmeta++;
    return RT_OK;
}

const char *rt_tdict_get_meta(const rt_tensor_dict *d, const char *key) {
    if (!d->mhash) return NULL;
    int i = d->mhash[slot_of(d->mhash, d->mhcap, key, d->meta, sizeof *d->meta)] - 1;
    return i >= 0 ? d->meta[i].value : NULL;
}
