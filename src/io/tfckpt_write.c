/* tfckpt_write.c — TF1 tensor-bundle checkpoint writer (see tfckpt_write.h). */
#include "tfckpt_write.h"
#include "ioutil.h"
#include "tfnames.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SST_MAGIC 0xdb4775248b80fb57ull

typedef struct { uint8_t *p; size_t n, cap; int failed; } buf;

static void put(buf *b, const void *d, size_t n) {
    if (b->failed) return;
    if (b->n + n > b->cap) {
        size_t c = b->cap ? b->cap : 4096;
        while (c < b->n + n) c *= 2;
        uint8_t *q = realloc(b->p, c);
        if (!q) { b->failed = 1; return; }
        b->p = q;
        b->cap = c;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void put_varint(buf *b, uint64_t v) { uint8_t t[10]; put(b, t, rt_pb_put_varint(t, v)); }
static void put_u32(buf *b, uint32_t v) { uint8_t t[4]; rt_wr32(t, v); put(b, t, 4); }

typedef struct { char *name; rt_tensor *t; int tf_dtype; uint64_t off, size; uint32_t crc; } entry;

static int cmp_entry(const void *a, const void *b) {
    return strcmp(((const entry *)a)->name, ((const entry *)b)->name);
}

static int tf_dtype_of(rt_dtype dt) {
    switch (dt) {
    case RT_F32: return 1;
    case RT_I32: return 3;
    case RT_I64: return 9;
    case RT_BOOL: return 10;
    case RT_BF16: return 14;
    default: return -1;
    }
}

/* [a, b] -> contiguous [b, a] copy (TF kernels are [in, out]). */
static rt_tensor *transpose2(rt_tensor *t) {
    rt_tensor *c = rt_tensor_contiguous(t);
    if (!c) return NULL;
    int64_t shape[2] = {c->shape[1], c->shape[0]};
    rt_tensor *o = rt_tensor_empty(c->dtype, 2, shape);
    if (!o) { rt_release(c); return NULL; }
    size_t es = rt_dtype_size(c->dtype);
    const uint8_t *s = rt_data(c);
    uint8_t *d = rt_data(o);
    for (int64_t i = 0; i < c->shape[0]; i++)
        for (int64_t j = 0; j < c->shape[1]; j++)
            memcpy(d + ((size_t)j * (size_t)c->shape[0] + (size_t)i) * es, s + ((size_t)i * (size_t)c->shape[1] + (size_t)j) * es, es);
    rt_release(c);
    return o;
}

static void entry_proto(buf *b, const entry *e) {
    put_varint(b, 1 << 3); put_varint(b, (uint64_t)e->tf_dtype);                /* dtype */
    buf sh = {0};
    for (int a = 0; a < e->t->ndim; a++) {                                      /* TensorShapeProto.dim */
        buf dim = {0};
        put_varint(&dim, 1 << 3); put_varint(&dim, (uint64_t)e->t->shape[a]);
        put_varint(&sh, (2 << 3) | 2); put_varint(&sh, dim.n); put(&sh, dim.p, dim.n);
        sh.failed |= dim.failed;
        free(dim.p);
    }
    put_varint(b, (2 << 3) | 2); put_varint(b, sh.n); if (sh.n) put(b, sh.p, sh.n);
    b->failed |= sh.failed;
    free(sh.p);
    if (e->off) { put_varint(b, 4 << 3); put_varint(b, e->off); }                 /* offset (shard 0: omitted) */
    if (e->size) { put_varint(b, 5 << 3); put_varint(b, e->size); }
    put_varint(b, (6 << 3) | 5); put_u32(b, rt_crc32c_mask(e->crc));              /* crc32c, fixed32 */
}

/* LevelDB table building as TF's tensor bundle does it (table::Options: no compression,
 * block_size 256 KiB, a restart point every 16 keys, keys prefix-compressed; index keys
 * from FindShortestSeparator / FindShortSuccessor), so the .index bytes equal TF's. */
#define SST_BLOCK_SIZE 262144
#define SST_RESTART 16

typedef struct { buf b; uint32_t *restarts; int nr, cap, counter; char *last; size_t lastlen; int nentries; } blockb;

static void bb_add(blockb *k, const char *key, size_t kl, const uint8_t *val, size_t vl) {
    size_t shared = 0;
    if (k->counter < SST_RESTART && k->nentries) {
        while (shared < kl && shared < k->lastlen && key[shared] == k->last[shared]) shared++;
    } else {
        if (k->nr == k->cap) {
            int c = k->cap ? 2 * k->cap : 16;
            uint32_t *r = realloc(k->restarts, sizeof *r * (size_t)c);
            if (!r) { k->b.failed = 1; return; }
            k->restarts = r;
            k->cap = c;
        }
        k->restarts[k->nr++] = (uint32_t)k->b.n;
        k->counter = 0;
    }
    put_varint(&k->b, shared); put_varint(&k->b, kl - shared); put_varint(&k->b, vl);
    put(&k->b, key + shared, kl - shared);
    if (vl) put(&k->b, val, vl);
    char *nl = realloc(k->last, kl + 1);
    if (!nl) { k->b.failed = 1; return; }
    memcpy(nl, key, kl);
    k->last = nl;
    k->lastlen = kl;
    k->counter++;
    k->nentries++;
}

static size_t bb_size(const blockb *k) { return k->b.n + 4 * (size_t)(k->nr ? k->nr : 1) + 4; }

/* Finish the block into out (+ type byte and masked CRC); reset it. */
static void bb_flush(blockb *k, buf *out, uint64_t *off, uint64_t *size) {
    if (!k->nr) { put_u32(&k->b, 0); } else for (int i = 0; i < k->nr; i++) put_u32(&k->b, k->restarts[i]);
    put_u32(&k->b, (uint32_t)(k->nr ? k->nr : 1));
    uint8_t type = 0;
    put(&k->b, &type, 1);
    *off = out->n;
    *size = k->b.n - 1;
    put(out, k->b.p, k->b.n);
    put_u32(out, rt_crc32c_mask(rt_crc32c(k->b.p, k->b.n)));   /* over contents + type byte */
    out->failed |= k->b.failed;
    k->b.n = 0; k->nr = 0; k->counter = 0; k->nentries = 0;
}

static void bb_free(blockb *k) { free(k->b.p); free(k->restarts); free(k->last); }

/* LevelDB's BytewiseComparator: shortest key in [start, limit) (in place), and short successor. */
static size_t shortest_separator(char *start, size_t sl, const char *limit, size_t ll) {
    size_t i = 0, m = sl < ll ? sl : ll;
    while (i < m && start[i] == limit[i]) i++;
    if (i < m) {
        uint8_t d = (uint8_t)start[i];
        if (d < 0xff && d + 1 < (uint8_t)limit[i]) { start[i] = (char)(d + 1); return i + 1; }
    }
    return sl;
}

static size_t short_successor(char *key, size_t kl) {
    for (size_t i = 0; i < kl; i++)
        if ((uint8_t)key[i] != 0xff) { key[i] = (char)((uint8_t)key[i] + 1); return i + 1; }
    return kl;
}

typedef struct { blockb data, index; buf out; int pending; uint64_t poff, psize; } tableb;

static void pending_index(tableb *t, const char *next, size_t nl) {
    if (!t->pending) return;
    char *k = malloc(t->data.lastlen + 1);
    if (!k) { t->out.failed = 1; return; }
    memcpy(k, t->data.last, t->data.lastlen);
    size_t kl = next ? shortest_separator(k, t->data.lastlen, next, nl) : short_successor(k, t->data.lastlen);
    buf h = {0};
    put_varint(&h, t->poff); put_varint(&h, t->psize);
    bb_add(&t->index, k, kl, h.p, h.n);
    t->out.failed |= h.failed;
    free(h.p);
    free(k);
    t->pending = 0;
}

static void tb_add(tableb *t, const char *key, const uint8_t *val, size_t vl) {
    size_t kl = strlen(key);
    pending_index(t, key, kl);
    bb_add(&t->data, key, kl, val, vl);
    if (bb_size(&t->data) >= SST_BLOCK_SIZE) {
        char *keep = t->data.last;                        /* bb_flush keeps last for the separator */
        bb_flush(&t->data, &t->out, &t->poff, &t->psize);
        t->data.last = keep;
        t->pending = 1;
    }
}

static void tb_finish(tableb *t) {
    uint64_t moff, msize, ioff, isize;
    if (t->data.nentries) { bb_flush(&t->data, &t->out, &t->poff, &t->psize); t->pending = 1; }
    pending_index(t, NULL, 0);
    blockb meta = {0};
    bb_flush(&meta, &t->out, &moff, &msize);              /* empty metaindex */
    t->out.failed |= meta.b.failed;
    bb_free(&meta);
    bb_flush(&t->index, &t->out, &ioff, &isize);
    buf foot = {0};
    put_varint(&foot, moff); put_varint(&foot, msize); put_varint(&foot, ioff); put_varint(&foot, isize);
    uint8_t zero[40] = {0};
    put(&foot, zero, 40 - foot.n);
    uint8_t mg[8];
    rt_wr64(mg, SST_MAGIC);
    put(&foot, mg, 8);
    put(&t->out, foot.p, foot.n);
    t->out.failed |= foot.failed;
    free(foot.p);
}

static rt_status write_file(const char *path, const void *d, size_t n) {
    rt_atomic_file af;
    if (rt_atomic_open(&af, path)) return rt_last_status();
    if (rt_atomic_write(&af, d, n)) { rt_atomic_abort(&af); return rt_last_status(); }
    return rt_atomic_commit(&af);
}

rt_status rt_tfckpt_save(const char *prefix, const rt_tensor_dict *d, int torch_names, int64_t global_step) {
    int n = 0;
    entry *es = calloc((size_t)d->n + 1, sizeof *es);
    if (!es) return rt_errorf(RT_ENOMEM, "%s: out of memory", prefix);
    rt_status st = RT_OK;
    for (int i = 0; i < d->n && !st; i++) {
        const char *name = d->items[i].name;
        rt_tensor *t = d->items[i].t;
        char tf[1024];
        int tr = 0;
        if (torch_names) {
            int rc = rt_torch_to_tf_name(name, tf, sizeof tf, &tr);
            if (rc == 0) continue;
            if (rc < 0) { st = rt_errorf(RT_EINVAL, "%s: tensor name '%s' too long", prefix, name); break; }
        } else snprintf(tf, sizeof tf, "%s", name);
        int dt = tf_dtype_of(t->dtype);
        if (dt < 0) { st = rt_errorf(RT_EDTYPE, "%s: tensor '%s': dtype %s cannot be written", prefix, name, rt_dtype_name(t->dtype)); break; }
        if (tr && t->ndim != 2) tr = 0;
        for (int k = 0; k < n; k++)
            if (!strcmp(es[k].name, tf)) { st = rt_errorf(RT_EINVAL, "%s: two tensors map to the TF name '%s'", prefix, tf); break; }
        if (st) break;
        rt_tensor *c = tr ? transpose2(t) : rt_tensor_contiguous(t);
        if (!c || !(es[n].name = strdup(tf))) { if (c) rt_release(c); st = rt_errorf(RT_ENOMEM, "%s: out of memory", prefix); break; }
        es[n].t = c;
        es[n].tf_dtype = dt;
        n++;
    }
    if (!st && global_step >= 0) {
        rt_tensor *g = rt_tensor_empty(RT_I64, 0, NULL);
        if (!g || !(es[n].name = strdup("global_step"))) { if (g) rt_release(g); st = rt_errorf(RT_ENOMEM, "%s: out of memory", prefix); }
        else { *(int64_t *)rt_data(g) = global_step; es[n].t = g; es[n].tf_dtype = 9; n++; }
    }
    buf data = {0}, *vals = NULL;
    tableb tb = {0};
    char *path = NULL;
    if (st) goto done;
    qsort(es, (size_t)n, sizeof *es, cmp_entry);
    for (int i = 0; i < n; i++) {                          /* the data shard, in key order */
        es[i].off = data.n;
        es[i].size = rt_nbytes(es[i].t);
        const void *p = rt_data(es[i].t);
        es[i].crc = rt_crc32c(p, es[i].size);
        if (es[i].size) put(&data, p, es[i].size);
    }
    vals = calloc((size_t)n + 1, sizeof *vals);
    if (!vals) { st = rt_errorf(RT_ENOMEM, "%s: out of memory", prefix); goto done; }
    put_varint(&vals[0], 1 << 3); put_varint(&vals[0], 1);                      /* num_shards 1 */
    buf ver = {0};
    put_varint(&ver, 1 << 3); put_varint(&ver, 1);                             /* VersionDef.producer 1 */
    put_varint(&vals[0], (3 << 3) | 2); put_varint(&vals[0], ver.n); put(&vals[0], ver.p, ver.n);
    free(ver.p);
    tb_add(&tb, "", vals[0].p, vals[0].n);                                      /* BundleHeaderProto */
    for (int i = 0; i < n; i++) { entry_proto(&vals[i + 1], &es[i]); tb_add(&tb, es[i].name, vals[i + 1].p, vals[i + 1].n); }
    tb_finish(&tb);
    int failed = data.failed || tb.out.failed || tb.data.b.failed || tb.index.b.failed;
    for (int i = 0; i <= n; i++) failed |= vals[i].failed;
    if (failed) { st = rt_errorf(RT_ENOMEM, "%s: out of memory", prefix); goto done; }
    size_t pl = strlen(prefix);
    if (!(path = malloc(pl + 64))) { st = rt_errorf(RT_ENOMEM, "%s: out of memory", prefix); goto done; }
    snprintf(path, pl + 64, "%s.data-00000-of-00001", prefix);
    if ((st = write_file(path, data.p ? (void *)data.p : (void *)"", data.n))) goto done;
    snprintf(path, pl + 64, "%s.index", prefix);
    if ((st = write_file(path, tb.out.p, tb.out.n))) goto done;
    {   /* the `checkpoint` state file beside it (tf.train.latest_checkpoint) */
        const char *slash = strrchr(prefix, '/');
        const char *base = slash ? slash + 1 : prefix;
        size_t dl = slash ? (size_t)(slash - prefix) + 1 : 0;
        char *txt = malloc(2 * strlen(base) + 96);
        if (!txt) { st = rt_errorf(RT_ENOMEM, "%s: out of memory", prefix); goto done; }
        int tl = sprintf(txt, "model_checkpoint_path: \"%s\"\nall_model_checkpoint_paths: \"%s\"\n", base, base);
        snprintf(path, pl + 64, "%.*scheckpoint", (int)dl, prefix);
        st = write_file(path, txt, (size_t)tl);
        free(txt);
    }
done:
    for (int i = 0; i < n; i++) { free(es[i].name); rt_release(es[i].t); }
    free(es);
    if (vals) for (int i = 0; i <= n; i++) free(vals[i].p);
    free(vals);
    free(data.p);
    free(tb.out.p);
    bb_free(&tb.data);
    bb_free(&tb.index);
    free(path);
    return st;
}
