/* sstable.c — LevelDB/TF table reader and snappy decompression (see sstable.h). */
#include "sstable.h"
#include "ioutil.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define SST_MAGIC 0xdb4775248b80fb57ull
#define SST_MAX_BLOCK (256u << 20)

rt_status rt_snappy_uncompress(const uint8_t *in, size_t n, uint8_t **out, size_t *outlen) {
    const uint8_t *p = in, *end = in + n;
    uint64_t ulen;
    if (rt_pb_varint(&p, end, &ulen) || ulen > SST_MAX_BLOCK) return rt_errorf(RT_EFORMAT, "snappy: bad length preamble");
    uint8_t *o = malloc(ulen ? ulen : 1);
    if (!o) return rt_errorf(RT_ENOMEM, "snappy: out of memory");
    size_t op = 0;
    while (p < end) {
        uint8_t tag = *p++;
        size_t len, off;
        if ((tag & 3) == 0) {
            len = tag >> 2;
            if (len >= 60) {
                int nb = (int)len - 59;
                if (end - p < nb) goto bad;
                len = 0;
                for (int i = 0; i < nb; i++) len |= (size_t)p[i] << (8 * i);
                p += nb;
            }
            len += 1;
            if ((size_t)(end - p) < len || ulen - op < len) goto bad;
            memcpy(o + op, p, len);
            p += len;
            op += len;
            continue;
        }
        if ((tag & 3) == 1) {
            if (end - p < 1) goto bad;
            len = ((tag >> 2) & 7) + 4;
            off = ((size_t)(tag >> 5) << 8) | *p++;
        } else if ((tag & 3) == 2) {
            if (end - p < 2) goto bad;
            len = (tag >> 2) + 1;
            off = rt_rd16(p);
            p += 2;
        } else {
            if (end - p < 4) goto bad;
            len = (tag >> 2) + 1;
            off = rt_rd32(p);
            p += 4;
        }
        if (off == 0 || off > op || ulen - op < len) goto bad;
        for (size_t i = 0; i < len; i++, op++) o[op] = o[op - off];   /* may overlap */
    }
    if (op != ulen) goto bad;
    *out = o;
    *outlen = ulen;
    return RT_OK;
bad:
    free(o);
    return rt_errorf(RT_EFORMAT, "snappy: corrupt compressed block");
}

typedef struct { uint64_t off, size; } handle;

static int get_handle(const uint8_t **p, const uint8_t *end, handle *h) {
    return rt_pb_varint(p, end, &h->off) || rt_pb_varint(p, end, &h->size) ? -1 : 0;
}

/* Read a block: checks bounds and CRC, decompresses; *owned set when *data must be freed. */
static rt_status read_block(const uint8_t *buf, size_t len, const char *label, const char *what, handle h,
                            const uint8_t **data, size_t *n, uint8_t **owned) {
    *owned = NULL;
    if (h.off > len || h.size > SST_MAX_BLOCK || len - h.off < h.size + 5)
        return rt_errorf(RT_EFORMAT, "%s: truncated or corrupt table: %s block [%" PRIu64 ", +%" PRIu64 ") past the end (%zu bytes)",
                         label, what, h.off, h.size, len);
    const uint8_t *b = buf + h.off;
    uint8_t type = b[h.size];
    uint32_t want = rt_crc32c_unmask(rt_rd32(b + h.size + 1));
    if (rt_crc32c(b, h.size + 1) != want)
        return rt_errorf(RT_EFORMAT, "%s: %s block at byte %" PRIu64 ": CRC mismatch (corrupt file)", label, what, h.off);
    if (type == 0) { *data = b; *n = h.size; return RT_OK; }
    if (type == 1) {
        if (rt_snappy_uncompress(b, h.size, owned, n)) {
            rt_error_prefix("%s: %s block at byte %" PRIu64, label, what, h.off);
            return RT_EFORMAT;
        }
        *data = *owned;
        return RT_OK;
    }
    return rt_errorf(RT_EFORMAT, "%s: %s block at byte %" PRIu64 ": unknown compression type %u", label, what, h.off, type);
}

/* Iterate the entries of one block. */
static rt_status block_foreach(const uint8_t *b, size_t n, const char *label, const char *what,
                               rt_sstable_fn fn, void *ctx) {
    if (n < 4) return rt_errorf(RT_EFORMAT, "%s: %s block too short", label, what);
    uint32_t nr = rt_rd32(b + n - 4);
    if (nr > (n - 4) / 4) return rt_errorf(RT_EFORMAT, "%s: %s block: bad restart count %u", label, what, nr);
    const uint8_t *p = b, *end = b + n - 4 - 4 * (size_t)nr;
    uint8_t *key = NULL;
    size_t klen = 0, kcap = 0;
    rt_status st = RT_OK;
    while (p < end) {
        uint64_t shared, nonshared, vlen;
        if (rt_pb_varint(&p, end, &shared) || rt_pb_varint(&p, end, &nonshared) || rt_pb_varint(&p, end, &vlen) ||
            shared > klen || nonshared > (uint64_t)(end - p) || vlen > (uint64_t)(end - p) - nonshared) {
            st = rt_errorf(RT_EFORMAT, "%s: %s block: corrupt entry at offset %ld", label, what, (long)(p - b));
            break;
        }
        size_t nk = (size_t)(shared + nonshared);
        if (nk + 1 > kcap) {
            size_t cap = (nk + 1) * 2;
            uint8_t *k2 = realloc(key, cap);
            if (!k2) { st = rt_errorf(RT_ENOMEM, "%s: out of memory", label); break; }
            key = k2;
            kcap = cap;
        }
        memcpy(key + shared, p, nonshared);
        klen = nk;
        key[klen] = 0;
        p += nonshared;
        if (fn(ctx, key, klen, p, vlen)) { st = rt_last_status() ? rt_last_status() : RT_EFORMAT; break; }
        p += vlen;
    }
    free(key);
    return st;
}

typedef struct {
    const uint8_t *buf;
    size_t len;
    const char *label;
    rt_sstable_fn fn;
    void *ctx;
} outer_ctx;

/* An index entry: its value is the handle of a data block. */
static int index_entry(void *c, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen) {
    (void)key; (void)klen;
    outer_ctx *o = c;
    handle h;
    const uint8_t *p = val;
    if (get_handle(&p, val + vlen, &h)) { rt_errorf(RT_EFORMAT, "%s: corrupt index entry", o->label); return -1; }
    const uint8_t *data;
    size_t n;
    uint8_t *owned;
    if (read_block(o->buf, o->len, o->label, "data", h, &data, &n, &owned)) return -1;
    rt_status st = block_foreach(data, n, o->label, "data", o->fn, o->ctx);
    free(owned);
    return st ? -1 : 0;
}

rt_status rt_sstable_foreach(const uint8_t *buf, size_t len, const char *label, rt_sstable_fn fn, void *ctx) {
    if (!label) label = "<memory>";
    if (len < 48) return rt_errorf(RT_EFORMAT, "%s: not a checkpoint index (too short: %zu bytes)", label, len);
    const uint8_t *f = buf + len - 48;
    if (rt_rd64(f + 40) != SST_MAGIC)
        return rt_errorf(RT_EFORMAT, "%s: not a checkpoint index (bad table magic; truncated or not an SSTable)", label);
    handle meta, index;
    const uint8_t *p = f;
    if (get_handle(&p, f + 40, &meta) || get_handle(&p, f + 40, &index))
        return rt_errorf(RT_EFORMAT, "%s: corrupt table footer", label);
    const uint8_t *data;
    size_t n;
    uint8_t *owned;
    rt_status st = read_block(buf, len, label, "index", index, &data, &n, &owned);
    if (st) return st;
    outer_ctx o = {buf, len, label, fn, ctx};
    rt_clear_error();
    st = block_foreach(data, n, label, "index", index_entry, &o);
    free(owned);
    return st;
}
