/* libFuzzer target: zip container + torch.save state_dict reader. The input is
 * parsed as is, then again with every entry's CRC fixed up, so mutated pickles get
 * past the CRC check into torchbin.c and tensor construction; every tensor is
 * copied (contiguous) and its transpose too. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "io/ioutil.h"
#include "io/torchbin.h"
#include "io/zip.h"

static void use_tensors(rt_tensor_dict *d) {
    if (!d) return;
    for (int i = 0; i < d->n; i++) {
        rt_tensor *t = d->items[i].t;
        rt_tensor *c = rt_tensor_contiguous(t);   /* reads every element of each view */
        rt_release(c);
        if (t->ndim >= 2) {                        /* transpose(1, 2):contiguous() */
            int64_t sh[RT_MAXDIM], st[RT_MAXDIM];
            for (int k = 0; k < t->ndim; k++) { sh[k] = t->shape[k]; st[k] = t->stride[k]; }
            sh[0] = t->shape[1]; sh[1] = t->shape[0]; st[0] = t->stride[1]; st[1] = t->stride[0];
            rt_tensor *v = rt_tensor_view_of(t->storage, t->dtype, t->offset, t->ndim, sh, st);
            if (v) { rt_release(rt_tensor_contiguous(v)); rt_release(v); }
        }
    }
    rt_tdict_free(d);
}

/* A copy of the image whose central-directory CRCs match the entries' data. */
static uint8_t *fix_crcs(const uint8_t *data, size_t size, const rt_zip *z) {
    uint8_t *b = malloc(size ? size : 1);
    if (!b) return NULL;
    memcpy(b, data, size);
    for (size_t p = 0; p + 46 <= size; p++) {
        if (rt_rd32(b + p) != 0x02014b50u) continue;
        uint16_t nl = rt_rd16(b + p + 28);
        if (p + 46 + nl > size) continue;
        for (int i = 0; i < z->n; i++) {
            const rt_zip_entry *e = &z->e[i];
            if (strlen(e->name) != nl || memcmp(e->name, b + p + 46, nl) || e->method != 0) continue;
            if (e->data_offset > size || e->size > size - e->data_offset) continue;
            rt_wr32(b + p + 16, rt_crc32_extend(0, data + e->data_offset, e->size));
        }
    }
    return b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    rt_zip *z = rt_zip_open_mem(data, size, "fuzz");
    uint8_t *fixed = NULL;
    if (z) {
        for (int i = 0; i < z->n; i++) rt_zip_data(z, &z->e[i], 1);
        fixed = fix_crcs(data, size, z);
        rt_zip_free(z);
    }
    use_tensors(rt_torchbin_load_mem(data, size, "fuzz"));
    if (fixed) {
        use_tensors(rt_torchbin_load_mem(fixed, size, "fuzz-crc"));
        free(fixed);
    }
    return 0;
}
