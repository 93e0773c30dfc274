/* libFuzzer target: the TF checkpoint .data reader. The input's first byte picks a
 * split: bytes [1, k) are the .index image (SSTable + BundleEntryProto), the rest
 * is written as the data shard(s); every variable is then read (sizes, offsets,
 * CRC32C, dtype conversion). Layout: 2 bytes little-endian index length L, one
 * flags byte (bit 0: fix up each variable's CRC so mutated data reaches the
 * conversions), L bytes of index, then the data. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "io/ioutil.h"
#include "io/tfckpt.h"

static char dir[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 4) return 0;
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/rt_fuzz_tfdata_%d", (int)getpid());
        mkdir(dir, 0700);
    }
    size_t L = (size_t)data[0] | (size_t)data[1] << 8, k = 3 + L;
    if (k > size) k = size;
    rt_tf_ckpt *c = rt_tfckpt_parse_index(data + 3, k - 3, "fuzz.index");
    if (!c) return 0;
    const uint8_t *d = data + k;
    size_t dn = size - k;
    char prefix[128], path[200];
    snprintf(prefix, sizeof prefix, "%s/model.ckpt", dir);
    int ns = c->num_shards > 0 && c->num_shards <= 4 ? c->num_shards : 1;
    for (int s = 0; s < ns; s++) {               /* the same bytes in every shard */
        snprintf(path, sizeof path, "%s.data-%05d-of-%05d", prefix, s, c->num_shards);
        FILE *f = fopen(path, "wb");
        if (!f) continue;
        fwrite(d, 1, dn, f);
        fclose(f);
    }
    free(c->prefix);
    c->prefix = strdup(prefix);
    for (int i = 0; c->prefix && i < c->n; i++) {
        rt_tf_var *v = &c->v[i];
        if ((data[2] & 1) && v->offset <= dn && v->size <= dn - v->offset) {
            v->crc = rt_crc32c(d + v->offset, v->size);
            v->has_crc = 1;
        }
        rt_tensor *t = rt_tfckpt_read(c, v);
        if (t) {
            volatile uint8_t x = 0;
            const uint8_t *p = rt_data(t);
            for (size_t b = 0; b < rt_nbytes(t); b++) x ^= p[b];
            rt_release(t);
        }
    }
    for (int s = 0; s < ns; s++) {
        snprintf(path, sizeof path, "%s.data-%05d-of-%05d", prefix, s, c->num_shards);
        unlink(path);
    }
    rt_tfckpt_free(c);
    return 0;
}
