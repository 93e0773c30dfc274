/* libFuzzer target: the restricted unpickler. */
#include <stddef.h>
#include <stdint.h>
#include "io/pickle.h"

static int depth_walk(const pk_val *v, int depth) {
    if (!v || depth > 50) return 0;
    int n = v->kind == PK_TUPLE || v->kind == PK_LIST || v->kind == PK_DICT ? v->n : 0;
    int s = 1;
    for (int i = 0; i < n; i++) s += depth_walk(v->items[i], depth + 1);
    if (v->kind == PK_CALL) s += depth_walk(v->args, depth + 1);
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    pk_val *root;
    pk_doc *doc = rt_pickle_load(data, size, "fuzz", &root);
    if (doc) {
        depth_walk(root, 0);
        rt_pickle_free(doc);
    }
    return 0;
}
