/* libFuzzer target: the restricted unpickler, then the same bytes as the data.pkl
 * of a torch.save zip (built here, CRCs right, four 256-byte storages "0".."3"), so
 * every tensor the pickle describes is built, copied (contiguous) and transposed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "io/ioutil.h"
#include "io/pickle.h"
#include "io/torchbin.h"

static int depth_walk(const pk_val *v, int depth) {
    if (!v || depth > 50) return 0;
    int n = v->kind == PK_TUPLE || v->kind == PK_LIST || v->kind == PK_DICT ? v->n : 0;
    int s = 1;
    for (int i = 0; i < n; i++) s += depth_walk(v->items[i], depth + 1);
    if (v->kind == PK_CALL) s += depth_walk(v->args, depth + 1);
    return s;
}

typedef struct { uint8_t *b; size_t n; size_t cd[8]; const char *name[8]; size_t len[8], off[8]; uint32_t crc[8]; int k; } zbuf;

static void add(zbuf *z, const char *name, const uint8_t *d, size_t n) {
    size_t nl = strlen(name), pad = (64 - (z->n + 30 + nl) % 64) % 64;
    uint8_t *h = z->b + z->n;
    memset(h, 0, 30);
    rt_wr32(h, 0x04034b50u); rt_wr16(h + 4, 20);
    uint32_t crc = rt_crc32_extend(0, d, n);
    rt_wr32(h + 14, crc); rt_wr32(h + 18, (uint32_t)n); rt_wr32(h + 22, (uint32_t)n);
    rt_wr16(h + 26, (uint16_t)nl); rt_wr16(h + 28, (uint16_t)pad);
    memcpy(h + 30, name, nl);
    memset(h + 30 + nl, 0, pad);
    memcpy(h + 30 + nl + pad, d, n);
    z->off[z->k] = z->n; z->name[z->k] = name; z->len[z->k] = n; z->crc[z->k] = crc; z->k++;
    z->n += 30 + nl + pad + n;
}

static void finish(zbuf *z) {
    size_t cd = z->n;
    for (int i = 0; i < z->k; i++) {
        uint8_t *c = z->b + z->n;
        size_t nl = strlen(z->name[i]);
        memset(c, 0, 46);
        rt_wr32(c, 0x02014b50u); rt_wr16(c + 4, 20); rt_wr16(c + 6, 20);
        rt_wr32(c + 16, z->crc[i]); rt_wr32(c + 20, (uint32_t)z->len[i]); rt_wr32(c + 24, (uint32_t)z->len[i]);
        rt_wr16(c + 28, (uint16_t)nl); rt_wr32(c + 42, (uint32_t)z->off[i]);
        memcpy(c + 46, z->name[i], nl);
        z->n += 46 + nl;
    }
    uint8_t *e = z->b + z->n;
    memset(e, 0, 22);
    rt_wr32(e, 0x06054b50u); rt_wr16(e + 8, (uint16_t)z->k); rt_wr16(e + 10, (uint16_t)z->k);
    rt_wr32(e + 12, (uint32_t)(z->n - cd)); rt_wr32(e + 16, (uint32_t)cd);
    z->n += 22;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    pk_val *root;
    pk_doc *doc = rt_pickle_load(data, size, "fuzz", &root);
    if (doc) {
        depth_walk(root, 0);
        rt_pickle_free(doc);
    }
    if (size > (1 << 20)) return 0;
    static uint8_t store[256];
    for (int i = 0; i < 256; i++) store[i] = (uint8_t)(i * 37 + 11);
    zbuf z = {0};
    z.b = malloc(size + 8 * 400 + 4096);
    if (!z.b) return 0;
    add(&z, "archive/data.pkl", data, size);
    add(&z, "archive/data/0", store, 256);
    add(&z, "archive/data/1", store, 256);
    add(&z, "archive/data/2", store, 255);
    add(&z, "archive/data/3", store, 8);
    finish(&z);
    rt_tensor_dict *d = rt_torchbin_load_mem(z.b, z.n, "fuzz.bin");
    if (d) {
        for (int i = 0; i < d->n; i++) {
            rt_tensor *t = d->items[i].t;
            rt_release(rt_tensor_contiguous(t));
            if (t->ndim >= 2) {
                int64_t sh[RT_MAXDIM], st[RT_MAXDIM];
                for (int k = 0; k < t->ndim; k++) { sh[k] = t->shape[k]; st[k] = t->stride[k]; }
                sh[0] = t->shape[1]; sh[1] = t->shape[0]; st[0] = t->stride[1]; st[1] = t->stride[0];
                rt_tensor *v = rt_tensor_view_of(t->storage, t->dtype, t->offset, t->ndim, sh, st);
                if (v) { rt_release(rt_tensor_contiguous(v)); rt_release(v); }
            }
        }
        rt_tdict_free(d);
    }
    free(z.b);
    return 0;
}
