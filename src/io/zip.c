/* zip.c — zip reader (stored entries, zip64) and aligned stored-entry writer. */
#include "zip.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_LOC64 0x07064b50u
#define ZIP_MAX_ENTRIES 1000000

void rt_zip_free(rt_zip *z) {
    if (!z) return;
    for (int i = 0; i < z->n; i++) free(z->e[i].name);
    free(z->e);
    free(z->label);
    free(z->hash);
    free(z);
}

static uint32_t name_hash(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static rt_zip *zfail(rt_zip *z) { rt_zip_free(z); return NULL; }

rt_zip *rt_zip_open_mem(const uint8_t *buf, size_t len, const char *label) {
    if (!label) label = "<memory>";
    rt_zip *z = calloc(1, sizeof *z);
    if (!z || !(z->label = strdup(label))) { free(z); rt_errorf(RT_ENOMEM, "%s: out of memory", label); return NULL; }
    z->buf = buf;
    z->len = len;
    if (len < 22) { rt_errorf(RT_EFORMAT, "%s: not a zip file (too short: %zu bytes)", label, len); return zfail(z); }
    /* end of central directory: last 22 bytes + up to 64 KiB of comment */
    size_t eocd = SIZE_MAX;
    size_t lo = len > 22 + 65535 ? len - 22 - 65535 : 0;
    for (size_t p = len - 22 + 1; p-- > lo;)
        if (rt_rd32(buf + p) == SIG_EOCD) { eocd = p; break; }
    if (eocd == SIZE_MAX) {
        if (rt_rd32(buf) == SIG_LOCAL) rt_errorf(RT_EFORMAT, "%s: truncated zip file (no end-of-central-directory record)", label);
        else rt_errorf(RT_EFORMAT, "%s: not a zip file (no end-of-central-directory record)", label);
        return zfail(z);
    }
    uint64_t count = rt_rd16(buf + eocd + 10), cdsize = rt_rd32(buf + eocd + 12), cdoff = rt_rd32(buf + eocd + 16);
    if (count == 0xffff || cdsize == 0xffffffffu || cdoff == 0xffffffffu) {
        if (eocd < 20 || rt_rd32(buf + eocd - 20) != SIG_LOC64) {
            rt_errorf(RT_EFORMAT, "%s: zip64 end-of-central-directory locator missing", label);
            return zfail(z);
        }
        uint64_t r64 = rt_rd64(buf + eocd - 20 + 8);
        if (r64 > len - 56 || len < 56 || rt_rd32(buf + r64) != SIG_EOCD64) {
            rt_errorf(RT_EFORMAT, "%s: bad zip64 end-of-central-directory record", label);
            return zfail(z);
        }
        count = rt_rd64(buf + r64 + 32);
        cdsize = rt_rd64(buf + r64 + 40);
        cdoff = rt_rd64(buf + r64 + 48);
    }
    if (cdoff > len || cdsize > len - cdoff) {
        rt_errorf(RT_EFORMAT, "%s: truncated or corrupt zip (central directory at %" PRIu64 "+%" PRIu64 " past %zu bytes)",
                  label, cdoff, cdsize, len);
        return zfail(z);
    }
    if (count > ZIP_MAX_ENTRIES || count > cdsize / 46) {
        rt_errorf(RT_EFORMAT, "%s: corrupt zip (%" PRIu64 " entries in a %" PRIu64 "-byte directory)", label, count, cdsize);
        return zfail(z);
    }
    z->e = calloc(count ? count : 1, sizeof *z->e);
    if (!z->e) { rt_errorf(RT_ENOMEM, "%s: out of memory", label); return zfail(z); }
    const uint8_t *p = buf + cdoff, *end = buf + cdoff + cdsize;
    for (uint64_t i = 0; i < count; i++) {
        if (end - p < 46 || rt_rd32(p) != SIG_CENTRAL) {
            rt_errorf(RT_EFORMAT, "%s: corrupt zip central directory (entry %" PRIu64 ")", label, i);
            return zfail(z);
        }
        rt_zip_entry *e = &z->e[z->n];
        e->method = rt_rd16(p + 10);
        e->crc = rt_rd32(p + 16);
        e->csize = rt_rd32(p + 20);
        e->size = rt_rd32(p + 24);
        uint16_t nlen = rt_rd16(p + 28), xlen = rt_rd16(p + 30), clen = rt_rd16(p + 32);
        uint64_t lho = rt_rd32(p + 42);
        if ((size_t)(end - p) < 46u + nlen + xlen + clen) {
            rt_errorf(RT_EFORMAT, "%s: corrupt zip central directory (entry %" PRIu64 ")", label, i);
            return zfail(z);
        }
        e->name = malloc((size_t)nlen + 1);
        if (!e->name) { rt_errorf(RT_ENOMEM, "%s: out of memory", label); return zfail(z); }
        memcpy(e->name, p + 46, nlen);
        e->name[nlen] = 0;
        z->n++;
        if (memchr(e->name, 0, nlen)) { rt_errorf(RT_EFORMAT, "%s: zip entry name contains a NUL byte", label); return zfail(z); }
        /* zip64 extra field: the 0xffffffff fields in order size, csize, offset */
        const uint8_t *x = p + 46 + nlen, *xend = x + xlen;
        while (xend - x >= 4) {
            uint16_t id = rt_rd16(x), sz = rt_rd16(x + 2);
            if (xend - x - 4 < sz) break;
            if (id == 1) {
                const uint8_t *q = x + 4, *qe = q + sz;
                if (e->size == 0xffffffffu) { if (qe - q < 8) break; e->size = rt_rd64(q); q += 8; }
                if (e->csize == 0xffffffffu) { if (qe - q < 8) break; e->csize = rt_rd64(q); q += 8; }
                if (lho == 0xffffffffu) { if (qe - q < 8) break; lho = rt_rd64(q); q += 8; }
            }
            x += 4 + sz;
        }
        p += 46 + nlen + xlen + clen;
        if (lho > len || len - lho < 30 || rt_rd32(buf + lho) != SIG_LOCAL) {
            rt_errorf(RT_EFORMAT, "%s: zip entry '%s': bad local header offset %" PRIu64, label, e->name, lho);
            return zfail(z);
        }
        uint64_t doff = lho + 30 + rt_rd16(buf + lho + 26) + rt_rd16(buf + lho + 28);
        if (doff > len || e->csize > len - doff) {
            rt_errorf(RT_EFORMAT, "%s: truncated zip: entry '%s' needs bytes [%" PRIu64 ", %" PRIu64 ") of %zu",
                      label, e->name, doff, doff + e->csize, len);
            return zfail(z);
        }
        e->data_offset = doff;
    }
    z->hcap = 16;
    while (z->hcap < 2 * z->n) z->hcap *= 2;
    if (!(z->hash = calloc((size_t)z->hcap, sizeof *z->hash))) { rt_errorf(RT_ENOMEM, "%s: out of memory", label); return zfail(z); }
    for (int i = 0; i < z->n; i++) {
        uint32_t h = name_hash(z->e[i].name) & (uint32_t)(z->hcap - 1);
        while (z->hash[h] && strcmp(z->e[z->hash[h] - 1].name, z->e[i].name)) h = (h + 1) & (uint32_t)(z->hcap - 1);
        if (!z->hash[h]) z->hash[h] = i + 1;          /* the first of duplicate names wins */
    }
    return z;
}

const rt_zip_entry *rt_zip_find(const rt_zip *z, const char *name) {
    if (!z->hash) return NULL;
    uint32_t h = name_hash(name) & (uint32_t)(z->hcap - 1);
    for (; z->hash[h]; h = (h + 1) & (uint32_t)(z->hcap - 1))
        if (strcmp(z->e[z->hash[h] - 1].name, name) == 0) return &z->e[z->hash[h] - 1];
    return NULL;
}

const uint8_t *rt_zip_data(const rt_zip *z, const rt_zip_entry *e, int check_crc) {
    if (e->method != 0) {
        rt_errorf(RT_EFORMAT, "%s: zip entry '%s' is compressed (method %u); only stored entries are supported "
                  "(torch.save writes stored entries — re-save the file with torch.save)", z->label, e->name, e->method);
        return NULL;
    }
    if (e->csize != e->size) {
        rt_errorf(RT_EFORMAT, "%s: zip entry '%s': stored size %" PRIu64 " differs from size %" PRIu64, z->label, e->name, e->csize, e->size);
        return NULL;
    }
    const uint8_t *d = z->buf + e->data_offset;
    if (check_crc && rt_crc32_extend(0, d, e->size) != e->crc) {
        rt_errorf(RT_EFORMAT, "%s: zip entry '%s' is corrupt (CRC-32 mismatch)", z->label, e->name);
        return NULL;
    }
    return d;
}

/* ---- writer ---- */
rt_status rt_zip_writer_open(rt_zip_writer *w, const char *path) {
    memset(w, 0, sizeof *w);
    return rt_atomic_open(&w->af, path);
}

void rt_zip_writer_abort(rt_zip_writer *w) {
    rt_atomic_abort(&w->af);
    for (int i = 0; i < w->n; i++) free(w->e[i].name);
    free(w->e);
    free(w->lho);
    memset(w, 0, sizeof *w);
}

static rt_status put(rt_zip_writer *w, const void *d, size_t n) {
    rt_status s = rt_atomic_write(&w->af, d, n);
    w->pos += n;
    return s;
}

rt_status rt_zip_writer_add(rt_zip_writer *w, const char *name, const void *const *pieces,
                            const size_t *sizes, int n) {
    if (w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 64;
        rt_zip_entry *e = realloc(w->e, (size_t)cap * sizeof *e);
        if (e) w->e = e;
        uint64_t *l = realloc(w->lho, (size_t)cap * sizeof *l);
        if (l) w->lho = l;
        if (!e || !l) return rt_errorf(RT_ENOMEM, "zip writer: out of memory");
        w->cap = cap;
    }
    uint64_t size = 0;
    uint32_t crc = 0;
    for (int i = 0; i < n; i++) { size += sizes[i]; crc = rt_crc32_extend(crc, pieces[i], sizes[i]); }
    size_t nlen = strlen(name);
    if (size >= 0xffffffffu || w->pos >= 0xffffffffu || nlen > 0xffff)
        return rt_errorf(RT_EINVAL, "zip writer: entry '%s' too large (zip64 output not supported)", name);
    /* pad with an extra field so the data starts on a 64-byte boundary */
    uint64_t hdr_end = w->pos + 30 + nlen + 4;
    size_t pad = (size_t)((64 - hdr_end % 64) % 64);
    uint8_t h[30 + 4];
    memset(h, 0, sizeof h);
    rt_wr32(h, SIG_LOCAL);
    rt_wr16(h + 4, 20);          /* version needed */
    rt_wr16(h + 6, 0);           /* flags */
    rt_wr16(h + 8, 0);           /* stored */
    rt_wr32(h + 14, crc);
    rt_wr32(h + 18, (uint32_t)size);
    rt_wr32(h + 22, (uint32_t)size);
    rt_wr16(h + 26, (uint16_t)nlen);
    rt_wr16(h + 28, (uint16_t)(4 + pad));
    rt_wr16(h + 30, 0x4246);     /* "FB": padding, as torch.save writes */
    rt_wr16(h + 32, (uint16_t)pad);
    rt_zip_entry *e = &w->e[w->n];
    memset(e, 0, sizeof *e);
    if (!(e->name = strdup(name))) return rt_errorf(RT_ENOMEM, "zip writer: out of memory");
    e->size = e->csize = size;
    e->crc = crc;
    w->lho[w->n] = w->pos;
    w->n++;
    static const uint8_t zeros[64];
    put(w, h, 30);
    put(w, name, nlen);
    put(w, h + 30, 4);
    put(w, zeros, pad);
    for (int i = 0; i < n; i++) put(w, pieces[i], sizes[i]);
    return w->af.failed ? RT_EIO : RT_OK;
}

rt_status rt_zip_writer_close(rt_zip_writer *w) {
    uint64_t cd = w->pos;
    for (int i = 0; i < w->n; i++) {
        uint8_t h[46];
        memset(h, 0, sizeof h);
        size_t nlen = strlen(w->e[i].name);
        rt_wr32(h, SIG_CENTRAL);
        rt_wr16(h + 4, 20);
        rt_wr16(h + 6, 20);
        rt_wr32(h + 16, w->e[i].crc);
        rt_wr32(h + 20, (uint32_t)w->e[i].size);
        rt_wr32(h + 24, (uint32_t)w->e[i].size);
        rt_wr16(h + 28, (uint16_t)nlen);
        rt_wr32(h + 42, (uint32_t)w->lho[i]);
        put(w, h, 46);
        put(w, w->e[i].name, nlen);
    }
    uint64_t cdsize = w->pos - cd;
    if (w->n > 0xfffe || cd >= 0xffffffffu) { rt_zip_writer_abort(w); return rt_errorf(RT_EINVAL, "zip writer: archive too large (zip64 output not supported)"); }
    uint8_t eo[22];
    memset(eo, 0, sizeof eo);
    rt_wr32(eo, SIG_EOCD);
    rt_wr16(eo + 8, (uint16_t)w->n);
    rt_wr16(eo + 10, (uint16_t)w->n);
    rt_wr32(eo + 12, (uint32_t)cdsize);
    rt_wr32(eo + 16, (uint32_t)cd);
    put(w, eo, 22);
    rt_status s = rt_atomic_commit(&w->af);
    for (int i = 0; i < w->n; i++) free(w->e[i].name);
    free(w->e);
    free(w->lho);
    w->e = NULL; w->lho = NULL; w->n = 0;
    return s;
}
