/* features.c — sequence layout and truncation for classification inputs. */
#include "features.h"

rt_status rt_feat_truncate(size_t *na, size_t *nb, bool pair, int64_t max_len, rt_trunc trunc) {
    if (max_len <= 0) return RT_OK;
    size_t special = pair ? 3 : 2;
    if ((size_t)max_len < special)
        return rt_errorf(RT_EINVAL, "encode: max_len %lld leaves no room for tokens", (long long)max_len);
    size_t room = (size_t)max_len > special ? (size_t)max_len - special : 0;
    if (*na + (pair ? *nb : 0) <= room) return RT_OK;
    switch (trunc) {
    case RT_TRUNC_NONE:
        return rt_errorf(RT_EINVAL, "encode: %zu tokens do not fit max_len %lld (truncation=false)",
                         *na + (pair ? *nb : 0) + special, (long long)max_len);
    case RT_TRUNC_LONGEST_FIRST:
        if (!pair) { *na = room; return RT_OK; }
        while (*na + *nb > room) { if (*na > *nb) (*na)--; else (*nb)--; }
        return RT_OK;
    case RT_TRUNC_ONLY_FIRST:
        if (pair && *nb > room) return rt_errorf(RT_EINVAL, "encode: second text alone (%zu tokens) exceeds max_len %lld", *nb, (long long)max_len);
        *na = room - (pair ? *nb : 0);
        return RT_OK;
    case RT_TRUNC_ONLY_SECOND:
        if (!pair || *na > room) return rt_errorf(RT_EINVAL, "encode: first text (%zu tokens) exceeds max_len %lld", *na, (long long)max_len);
        *nb = room - *na;
        return RT_OK;
    }
    return RT_OK;
}

void rt_feat_fill(const rt_tokenizer *t, const int64_t *a, size_t na, const int64_t *b, size_t nb,
                  bool pair, size_t width, int64_t *ids, int64_t *seg, int64_t *mask) {
    size_t k = 0;
    int64_t pad = t->pad_id >= 0 ? t->pad_id : 0;
    ids[k] = t->cls_id; seg[k] = 0; mask[k++] = 1;
    for (size_t i = 0; i < na; i++) { ids[k] = a[i]; seg[k] = 0; mask[k++] = 1; }
    ids[k] = t->sep_id; seg[k] = 0; mask[k++] = 1;
    if (pair) {
        for (size_t i = 0; i < nb; i++) { ids[k] = b[i]; seg[k] = 1; mask[k++] = 1; }
        ids[k] = t->sep_id; seg[k] = 1; mask[k++] = 1;
    }
    for (; k < width; k++) { ids[k] = pad; seg[k] = 0; mask[k] = 0; }
}
