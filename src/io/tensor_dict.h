/* tensor_dict.h — the common in-memory result of every weight reader: an ordered
 * list of (name, tensor) plus string key/value metadata (safetensors __metadata__,
 * skipped TF variables, ...). Readers in src/io fill one; rt.load turns it into a
 * Lua table. */
#ifndef RT_TENSOR_DICT_H
#define RT_TENSOR_DICT_H

#include "../core/tensor.h"

typedef struct { char *name; rt_tensor *t; } rt_named_tensor;
typedef struct { char *key; char *value; } rt_kv;

typedef struct rt_tensor_dict {
    int n, cap;
    rt_named_tensor *items;        /* insertion order */
    int nmeta, metacap;
    rt_kv *meta;
    int *hash, hcap;               /* open-addressing index of items (1 + index, 0 empty) */
    int *mhash, mhcap;             /* same for meta: lookups stay O(1), loading O(n) */
} rt_tensor_dict;

rt_tensor_dict *rt_tdict_new(void);                 /* NULL (message set) when out of memory */
void rt_tdict_free(rt_tensor_dict *d);              /* releases every tensor; NULL-safe */
/* Append (name, t); retains t. Replaces the tensor when the name already exists. */
rt_status rt_tdict_add(rt_tensor_dict *d, const char *name, rt_tensor *t);
/* Like rt_tdict_add but takes over the caller's reference to t (released on failure). */
rt_status rt_tdict_add_owned(rt_tensor_dict *d, const char *name, rt_tensor *t);
rt_tensor *rt_tdict_get(const rt_tensor_dict *d, const char *name);   /* borrowed or NULL */
int rt_tdict_index(const rt_tensor_dict *d, const char *name);          /* -1 when absent */
/* Metadata: set (copy, replacing) / get (borrowed or NULL). */
rt_status rt_tdict_set_meta(rt_tensor_dict *d, const char *key, const char *value);
const char *rt_tdict_get_meta(const rt_tensor_dict *d, const char *key);

#endif
