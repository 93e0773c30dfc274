/* pickle.h — a restricted unpickler for the pickle subset torch.save writes for a
 * state_dict. It builds a value tree; it never calls anything. GLOBAL/STACK_GLOBAL
 * references outside a small whitelist (collections.OrderedDict, torch._utils.
 * _rebuild_tensor[_v2], _rebuild_parameter, torch.*Storage) are refused, and
 * REDUCE only records "call f(args)" nodes (OrderedDict() becomes an empty dict)
 * for the caller to interpret. Persistent ids become PK_PERSID nodes. */
#ifndef RT_PICKLE_H
#define RT_PICKLE_H

#include <stddef.h>
#include <stdint.h>
#include "../core/status.h"

typedef enum {
    PK_NONE, PK_BOOL, PK_INT, PK_FLOAT, PK_STR, PK_BYTES, PK_TUPLE, PK_LIST, PK_DICT,
    PK_GLOBAL,   /* s = "module.name" (whitelisted) */
    PK_CALL,     /* func (PK_GLOBAL) applied to args (PK_TUPLE); state from BUILD or NULL */
    PK_PERSID,   /* args = the persistent id value */
    PK_MARK,     /* internal */
} pk_kind;

typedef struct pk_val {
    pk_kind kind;
    int64_t i;                     /* BOOL, INT */
    double f;                      /* FLOAT */
    const char *s;                 /* STR, BYTES, GLOBAL (NUL-terminated) */
    size_t slen;
    struct pk_val **items;         /* TUPLE, LIST: n items; DICT: n slots = n/2 (key, value) pairs */
    int n, cap;
    struct pk_val *func, *args, *state;
} pk_val;

typedef struct pk_doc pk_doc;      /* owns every value (arena) */

/* Unpickle buf[0..len). label names the source in errors. NULL on failure. */
pk_doc *rt_pickle_load(const uint8_t *buf, size_t len, const char *label, pk_val **root);
void rt_pickle_free(pk_doc *doc);

/* Helpers for interpreters of the tree. */
static inline int pk_len(const pk_val *v) { return v->kind == PK_DICT ? v->n / 2 : v->n; }
static inline pk_val *pk_key(const pk_val *d, int i) { return d->items[2 * i]; }
static inline pk_val *pk_value(const pk_val *d, int i) { return d->items[2 * i + 1]; }
int pk_is_global(const pk_val *v, const char *qualname);

#endif
