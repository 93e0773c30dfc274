/* tfrecord.c — TFRecord framing and tf.train.Example encode/decode. */
#include "tfrecord.h"
#include "ioutil.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define TFR_MAX_RECORD (1ull << 31)

struct rt_tfrecord_reader {
    FILE *f;                    /* file mode */
    const uint8_t *mem;         /* memory mode */
    size_t memlen, pos;
    uint64_t off;               /* byte offset of the next record */
    int64_t index;
    uint8_t *buf;
    size_t cap;
    char *label;
    int failed;
};

static rt_tfrecord_reader *new_reader(const char *label) {
    rt_tfrecord_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->label = strdup(label))) { free(r); rt_errorf(RT_ENOMEM, "%s: out of memory", label); return NULL; }
    return r;
}

rt_tfrecord_reader *rt_tfrecord_open(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) { rt_errorf(RT_EIO, "%s: %s", path, strerror(errno)); return NULL; }
    rt_tfrecord_reader *r = new_reader(path);
    if (!r) { fclose(f); return NULL; }
    r->f = f;
    return r;
}

rt_tfrecord_reader *rt_tfrecord_open_mem(const void *buf, size_t len, const char *label) {
    rt_tfrecord_reader *r = new_reader(label ? label : "<memory>");
    if (!r) return NULL;
    r->mem = buf;
    r->memlen = len;
    return r;
}

void rt_tfrecord_close(rt_tfrecord_reader *r) {
    if (!r) return;
    if (r->f) fclose(r->f);
    free(r->buf);
    free(r->label);
    free(r);
}

int64_t rt_tfrecord_index(const rt_tfrecord_reader *r) { return r->index; }

/* Read exactly n bytes (memory: pointer into the image; file: into r->buf+at). */
static size_t rd(rt_tfrecord_reader *r, void *dst, size_t n) {
    if (r->f) return fread(dst, 1, n, r->f);
    size_t k = r->memlen - r->pos < n ? r->memlen - r->pos : n;
    memcpy(dst, r->mem + r->pos, k);
    r->pos += k;
    return k;
}

static int rec_err(rt_tfrecord_reader *r, const char *what) {
    rt_errorf(RT_EFORMAT, "%s: record %" PRId64 " at byte %" PRIu64 ": %s", r->label, r->index, r->off, what);
    r->failed = 1;
    return -1;
}

int rt_tfrecord_next(rt_tfrecord_reader *r, const uint8_t **data, size_t *len) {
    if (r->failed) return -1;
    uint8_t h[12];
    size_t got = rd(r, h, 12);
    if (got == 0) return 0;
    if (got < 12) return rec_err(r, "truncated record header");
    uint64_t n = rt_rd64(h);
    if (rt_crc32c_mask(rt_crc32c(h, 8)) != rt_rd32(h + 8)) return rec_err(r, "length CRC mismatch (corrupt file or not a TFRecord)");
    if (n > TFR_MAX_RECORD) return rec_err(r, "implausible record length");
    const uint8_t *p;
    uint8_t tail[4];
    if (r->f) {
        struct stat sb;   /* a record longer than the rest of the file: no allocation for it */
        if (fstat(fileno(r->f), &sb) == 0 && S_ISREG(sb.st_mode) &&
            n > (uint64_t)sb.st_size - ((uint64_t)sb.st_size < r->off + 12 ? (uint64_t)sb.st_size : r->off + 12))
            return rec_err(r, "truncated record data");
        if (n + 1 > r->cap) {
            uint8_t *b = realloc(r->buf, n + 1);
            if (!b) return rec_err(r, "out of memory");
            r->buf = b;
            r->cap = n + 1;
        }
        if (fread(r->buf, 1, n, r->f) != n) return rec_err(r, "truncated record data");
        p = r->buf;
    } else {
        if (r->memlen - r->pos < n) return rec_err(r, "truncated record data");
        p = r->mem + r->pos;
        r->pos += n;
    }
    if (rd(r, tail, 4) != 4) return rec_err(r, "truncated record (data CRC missing)");
    if (rt_crc32c_mask(rt_crc32c(p, n)) != rt_rd32(tail)) return rec_err(r, "data CRC mismatch (corrupt record)");
    r->off += 16 + n;
    r->index++;
    *data = p;
    *len = n;
    return 1;
}

struct rt_tfrecord_writer { rt_atomic_file af; };

rt_tfrecord_writer *rt_tfrecord_writer_open(const char *path) {
    rt_tfrecord_writer *w = calloc(1, sizeof *w);
    if (!w) { rt_errorf(RT_ENOMEM, "%s: out of memory", path); return NULL; }
    if (rt_atomic_open(&w->af, path)) { free(w); return NULL; }
    return w;
}

rt_status rt_tfrecord_write(rt_tfrecord_writer *w, const void *data, size_t len) {
    uint8_t h[12], t[4];
    rt_wr64(h, len);
    rt_wr32(h + 8, rt_crc32c_mask(rt_crc32c(h, 8)));
    rt_wr32(t, rt_crc32c_mask(rt_crc32c(data, len)));
    rt_atomic_write(&w->af, h, 12);
    rt_atomic_write(&w->af, data, len);
    return rt_atomic_write(&w->af, t, 4);
}

rt_status rt_tfrecord_writer_close(rt_tfrecord_writer *w) {
    rt_status s = rt_atomic_commit(&w->af);
    free(w);
    return s;
}

void rt_tfrecord_writer_abort(rt_tfrecord_writer *w) {
    if (!w) return;
    rt_atomic_abort(&w->af);
    free(w);
}

/* ---- Example ---- */
static void feat_clear(rt_feature *f) {
    free(f->i64);
    free(f->f32);
    if (f->bytes) for (int64_t i = 0; i < f->n; i++) free(f->bytes[i]);
    free(f->bytes);
    free(f->blen);
    f->i64 = NULL; f->f32 = NULL; f->bytes = NULL; f->blen = NULL; f->n = 0;
}

void rt_example_free(rt_example *ex) {
    for (int i = 0; i < ex->n; i++) { feat_clear(&ex->f[i]); free(ex->f[i].name); }
    free(ex->f);
    memset(ex, 0, sizeof *ex);
}

const rt_feature *rt_example_get(const rt_example *ex, const char *name) {
    for (int i = 0; i < ex->n; i++)
        if (strcmp(ex->f[i].name, name) == 0) return &ex->f[i];
    return NULL;
}

/* A feature slot named name (existing one cleared, or a new one). */
static rt_feature *slot(rt_example *ex, const char *name, size_t nlen) {
    for (int i = 0; i < ex->n; i++)
        if (strlen(ex->f[i].name) == nlen && memcmp(ex->f[i].name, name, nlen) == 0) { feat_clear(&ex->f[i]); return &ex->f[i]; }
    if (ex->n == ex->cap) {
        int cap = ex->cap ? 2 * ex->cap : 8;
        rt_feature *f = realloc(ex->f, (size_t)cap * sizeof *f);
        if (!f) return NULL;
        ex->f = f;
        ex->cap = cap;
    }
    rt_feature *f = &ex->f[ex->n];
    memset(f, 0, sizeof *f);
    if (!(f->name = malloc(nlen + 1))) return NULL;
    memcpy(f->name, name, nlen);
    f->name[nlen] = 0;
    ex->n++;
    return f;
}

static int grow(void **p, int64_t *cap, int64_t need, size_t elem) {
    if (need <= *cap) return 0;
    int64_t c = *cap ? *cap : 16;
    while (c < need) c *= 2;
    void *q = realloc(*p, (size_t)c * elem);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

/* Decode one Feature message into f. */
static int parse_feature(const uint8_t *p, const uint8_t *end, rt_feature *f) {
    int64_t cap = 0, bcap = 0;
    while (p < end) {
        uint64_t tag, ln;
        if (rt_pb_varint(&p, end, &tag)) return -1;
        if ((tag & 7) != 2) { if (rt_pb_skip(&p, end, (int)(tag & 7))) return -1; continue; }
        if (rt_pb_varint(&p, end, &ln) || ln > (uint64_t)(end - p)) return -1;
        const uint8_t *q = p, *qe = p + ln;
        p = qe;
        int kind = (int)(tag >> 3);
        if (kind < 1 || kind > 3) continue;
        if ((int)f->kind != kind) { feat_clear(f); cap = bcap = 0; f->kind = (rt_feature_kind)kind; }
        while (q < qe) {                         /* the list message: field 1 repeated */
            uint64_t t2, v;
            if (rt_pb_varint(&q, qe, &t2)) return -1;
            int wt = (int)(t2 & 7);
            if ((t2 >> 3) != 1) { if (rt_pb_skip(&q, qe, wt)) return -1; continue; }
            if (kind == RT_FEAT_INT64 && wt == 0) {
                if (rt_pb_varint(&q, qe, &v) || grow((void **)&f->i64, &cap, f->n + 1, 8)) return -1;
                f->i64[f->n++] = (int64_t)v;
            } else if (kind == RT_FEAT_FLOAT && wt == 5) {
                if (qe - q < 4 || grow((void **)&f->f32, &cap, f->n + 1, 4)) return -1;
                uint32_t u = rt_rd32(q);
                memcpy(&f->f32[f->n++], &u, 4);
                q += 4;
            } else if (wt == 2) {
                if (rt_pb_varint(&q, qe, &v) || v > (uint64_t)(qe - q)) return -1;
                const uint8_t *r = q, *re = q + v;
                q = re;
                if (kind == RT_FEAT_BYTES) {
                    if (grow((void **)&f->bytes, &bcap, f->n + 1, sizeof *f->bytes)) return -1;
                    size_t *bl = realloc(f->blen, (size_t)bcap * sizeof *bl);   /* in step with bytes */
                    if (!bl) return -1;
                    f->blen = bl;
                    uint8_t *s = malloc(v + 1);
                    if (!s) return -1;
                    memcpy(s, r, v);
                    s[v] = 0;
                    f->bytes[f->n] = s;
                    f->blen[f->n++] = v;
                } else if (kind == RT_FEAT_FLOAT) {
                    if (v % 4 || grow((void **)&f->f32, &cap, f->n + (int64_t)(v / 4), 4)) return -1;
                    for (; r < re; r += 4) { uint32_t u = rt_rd32(r); memcpy(&f->f32[f->n++], &u, 4); }
                } else {
                    while (r < re) {
                        if (rt_pb_varint(&r, re, &v) || grow((void **)&f->i64, &cap, f->n + 1, 8)) return -1;
                        f->i64[f->n++] = (int64_t)v;
                    }
                }
            } else return -1;
        }
    }
    if (!f->kind) f->kind = RT_FEAT_INT64;   /* empty Feature */
    return 0;
}

rt_status rt_example_parse(const uint8_t *buf, size_t len, rt_example *ex, const char *label) {
    memset(ex, 0, sizeof *ex);
    const uint8_t *p = buf, *end = buf + len;
    const char *what = "malformed Example protobuf";
    while (p < end) {
        uint64_t tag, ln;
        if (rt_pb_varint(&p, end, &tag)) goto bad;
        if (tag != ((1 << 3) | 2)) { if (rt_pb_skip(&p, end, (int)(tag & 7))) goto bad; continue; }
        if (rt_pb_varint(&p, end, &ln) || ln > (uint64_t)(end - p)) goto bad;
        const uint8_t *q = p, *qe = p + ln;               /* Features */
        p = qe;
        while (q < qe) {
            if (rt_pb_varint(&q, qe, &tag)) goto bad;
            if (tag != ((1 << 3) | 2)) { if (rt_pb_skip(&q, qe, (int)(tag & 7))) goto bad; continue; }
            if (rt_pb_varint(&q, qe, &ln) || ln > (uint64_t)(qe - q)) goto bad;
            const uint8_t *e = q, *ee = q + ln;           /* map entry */
            q = ee;
            const uint8_t *key = (const uint8_t *)"", *val = NULL;
            uint64_t klen = 0, vlen = 0;
            while (e < ee) {
                if (rt_pb_varint(&e, ee, &tag)) goto bad;
                if ((tag & 7) == 2 && ((tag >> 3) == 1 || (tag >> 3) == 2)) {
                    if (rt_pb_varint(&e, ee, &ln) || ln > (uint64_t)(ee - e)) goto bad;
                    if ((tag >> 3) == 1) { key = e; klen = ln; } else { val = e; vlen = ln; }
                    e += ln;
                } else if (rt_pb_skip(&e, ee, (int)(tag & 7))) goto bad;
            }
            if (memchr(key, 0, klen)) { what = "feature name contains a NUL byte"; goto bad; }
            rt_feature *f = slot(ex, (const char *)key, klen);
            if (!f) { what = "out of memory"; goto bad; }
            if (val && parse_feature(val, val + vlen, f)) goto bad;
            if (!val) f->kind = RT_FEAT_INT64;
        }
    }
    return RT_OK;
bad:
    rt_example_free(ex);
    return rt_errorf(RT_EFORMAT, "%s: %s", label ? label : "<memory>", what);
}

static rt_feature *add(rt_example *ex, const char *name, rt_feature_kind k, int64_t n) {
    rt_feature *f = slot(ex, name, strlen(name));
    if (!f) { rt_errorf(RT_ENOMEM, "example: out of memory"); return NULL; }
    f->kind = k;
    f->n = n;
    return f;
}

rt_status rt_example_add_int64(rt_example *ex, const char *name, const int64_t *v, int64_t n) {
    rt_feature *f = add(ex, name, RT_FEAT_INT64, 0);
    if (!f || !(f->i64 = malloc((size_t)(n ? n : 1) * 8))) return rt_errorf(RT_ENOMEM, "example: out of memory");
    if (n) memcpy(f->i64, v, (size_t)n * 8);
    f->n = n;
    return RT_OK;
}

rt_status rt_example_add_float(rt_example *ex, const char *name, const float *v, int64_t n) {
    rt_feature *f = add(ex, name, RT_FEAT_FLOAT, 0);
    if (!f || !(f->f32 = malloc((size_t)(n ? n : 1) * 4))) return rt_errorf(RT_ENOMEM, "example: out of memory");
    if (n) memcpy(f->f32, v, (size_t)n * 4);
    f->n = n;
    return RT_OK;
}

rt_status rt_example_add_bytes(rt_example *ex, const char *name, const uint8_t *const *v, const size_t *lens, int64_t n) {
    rt_feature *f = add(ex, name, RT_FEAT_BYTES, 0);
    if (!f) return RT_ENOMEM;
    f->bytes = calloc((size_t)(n ? n : 1), sizeof *f->bytes);
    f->blen = calloc((size_t)(n ? n : 1), sizeof *f->blen);
    if (!f->bytes || !f->blen) return rt_errorf(RT_ENOMEM, "example: out of memory");
    for (int64_t i = 0; i < n; i++) {
        if (!(f->bytes[i] = malloc(lens[i] + 1))) return rt_errorf(RT_ENOMEM, "example: out of memory");
        memcpy(f->bytes[i], v[i], lens[i]);
        f->bytes[i][lens[i]] = 0;
        f->blen[i] = lens[i];
        f->n = i + 1;
    }
    return RT_OK;
}

/* Growable output with length-prefixed nesting done in two passes (size, then write). */
static size_t vlen(uint64_t v) { size_t n = 1; while (v >= 0x80) { v >>= 7; n++; } return n; }

static size_t list_size(const rt_feature *f) {        /* the XxxList message body */
    size_t s = 0;
    if (f->kind == RT_FEAT_INT64) {
        size_t b = 0;
        for (int64_t i = 0; i < f->n; i++) b += vlen((uint64_t)f->i64[i]);
        if (f->n) s = 1 + vlen(b) + b;
    } else if (f->kind == RT_FEAT_FLOAT) {
        if (f->n) s = 1 + vlen((uint64_t)f->n * 4) + (size_t)f->n * 4;
    } else {
        for (int64_t i = 0; i < f->n; i++) s += 1 + vlen(f->blen[i]) + f->blen[i];
    }
    return s;
}

static int cmp_feat(const void *a, const void *b) {
    return strcmp((*(const rt_feature *const *)a)->name, (*(const rt_feature *const *)b)->name);
}

rt_status rt_example_encode(const rt_example *ex, uint8_t **out, size_t *len) {
    const rt_feature **fs = malloc(((size_t)ex->n + 1) * sizeof *fs);
    if (!fs) return rt_errorf(RT_ENOMEM, "example: out of memory");
    for (int i = 0; i < ex->n; i++) fs[i] = &ex->f[i];
    qsort(fs, (size_t)ex->n, sizeof *fs, cmp_feat);
    size_t features = 0;
    for (int i = 0; i < ex->n; i++) {
        size_t ls = list_size(fs[i]), feat = 1 + vlen(ls) + ls, kl = strlen(fs[i]->name);
        size_t entry = 1 + vlen(kl) + kl + 1 + vlen(feat) + feat;
        features += 1 + vlen(entry) + entry;
    }
    size_t total = 1 + vlen(features) + features;
    uint8_t *b = malloc(total ? total : 1), *p = b;
    if (!b) { free(fs); return rt_errorf(RT_ENOMEM, "example: out of memory"); }
    *p++ = 0x0a;
    p += rt_pb_put_varint(p, features);
    for (int i = 0; i < ex->n; i++) {
        const rt_feature *f = fs[i];
        size_t ls = list_size(f), feat = 1 + vlen(ls) + ls, kl = strlen(f->name);
        size_t entry = 1 + vlen(kl) + kl + 1 + vlen(feat) + feat;
        *p++ = 0x0a;
        p += rt_pb_put_varint(p, entry);
        *p++ = 0x0a;
        p += rt_pb_put_varint(p, kl);
        memcpy(p, f->name, kl);
        p += kl;
        *p++ = 0x12;
        p += rt_pb_put_varint(p, feat);
        *p++ = (uint8_t)((f->kind << 3) | 2);
        p += rt_pb_put_varint(p, ls);
        if (f->kind == RT_FEAT_INT64 && f->n) {
            size_t bb = 0;
            for (int64_t k = 0; k < f->n; k++) bb += vlen((uint64_t)f->i64[k]);
            *p++ = 0x0a;
            p += rt_pb_put_varint(p, bb);
            for (int64_t k = 0; k < f->n; k++) p += rt_pb_put_varint(p, (uint64_t)f->i64[k]);
        } else if (f->kind == RT_FEAT_FLOAT && f->n) {
            *p++ = 0x0a;
            p += rt_pb_put_varint(p, (uint64_t)f->n * 4);
            for (int64_t k = 0; k < f->n; k++) { uint32_t u; memcpy(&u, &f->f32[k], 4); rt_wr32(p, u); p += 4; }
        } else if (f->kind == RT_FEAT_BYTES) {
            for (int64_t k = 0; k < f->n; k++) {
                *p++ = 0x0a;
                p += rt_pb_put_varint(p, f->blen[k]);
                memcpy(p, f->bytes[k], f->blen[k]);
                p += f->blen[k];
            }
        }
    }
    free(fs);
    *out = b;
    *len = (size_t)(p - b);
    return RT_OK;
}
