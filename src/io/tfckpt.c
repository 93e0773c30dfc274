/* tfckpt.c — TF1 tensor-bundle checkpoint reader (see tfckpt.h). */
#include "tfckpt.h"
#include "ioutil.h"
#include "sstable.h"
#include "tfnames.h"
#include "../core/shape.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef enum { C_NATIVE, C_F16, C_F64, C_I8, C_U8, C_I16, C_U16, C_U32 } tf_conv;
static const struct { int tf; const char *name; int dt; tf_conv conv; int size; } tf_types[] = {
    {1, "float", RT_F32, C_NATIVE, 4}, {2, "double", RT_F32, C_F64, 8}, {3, "int32", RT_I32, C_NATIVE, 4},
    {4, "uint8", RT_I32, C_U8, 1}, {5, "int16", RT_I32, C_I16, 2}, {6, "int8", RT_I32, C_I8, 1},
    {7, "string", -1, C_NATIVE, 0}, {9, "int64", RT_I64, C_NATIVE, 8}, {10, "bool", RT_BOOL, C_NATIVE, 1},
    {14, "bfloat16", RT_BF16, C_NATIVE, 2}, {17, "uint16", RT_I32, C_U16, 2}, {19, "half", RT_F32, C_F16, 2},
    {22, "uint32", RT_I64, C_U32, 4},
};

static int type_index(int tf) {
    for (size_t i = 0; i < sizeof tf_types / sizeof *tf_types; i++)
        if (tf_types[i].tf == tf) return (int)i;
    return -1;
}

void rt_tfckpt_free(rt_tf_ckpt *c) {
    if (!c) return;
    for (int i = 0; i < c->n; i++) free(c->v[i].name);
    free(c->v);
    free(c->prefix);
    free(c);
}

typedef struct { rt_tf_ckpt *c; int cap; const char *label; int have_header; } parse_ctx;

static int bad(parse_ctx *pc, const char *key, const char *what) {
    rt_errorf(RT_EFORMAT, "%s: variable '%s': %s", pc->label, key, what);
    return -1;
}

static int parse_shape(const uint8_t *p, const uint8_t *end, rt_tf_var *v) {
    while (p < end) {
        uint64_t tag, x;
        if (rt_pb_varint(&p, end, &tag)) return -1;
        if (tag == ((2 << 3) | 2)) {                         /* dim */
            uint64_t ln;
            if (rt_pb_varint(&p, end, &ln) || ln > (uint64_t)(end - p)) return -1;
            const uint8_t *q = p, *qe = p + ln;
            p = qe;
            int64_t size = 0;
            while (q < qe) {
                if (rt_pb_varint(&q, qe, &tag)) return -1;
                if (tag == (1 << 3)) { if (rt_pb_varint(&q, qe, &x)) return -1; size = (int64_t)x; }
                else if (rt_pb_skip(&q, qe, (int)(tag & 7))) return -1;
            }
            if (v->ndim >= RT_MAXDIM) return -2;
            if (size < 0) return -3;
            v->shape[v->ndim++] = size;
        } else if (tag == (3 << 3)) {                        /* unknown_rank */
            if (rt_pb_varint(&p, end, &x)) return -1;
            if (x) return -3;
        } else if (rt_pb_skip(&p, end, (int)(tag & 7))) return -1;
    }
    return 0;
}

static int on_entry(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen) {
    parse_ctx *pc = ctx;
    const uint8_t *p = val, *end = val + vlen;
    uint64_t tag, x;
    if (klen == 0) {                                         /* BundleHeaderProto */
        pc->have_header = 1;
        while (p < end) {
            if (rt_pb_varint(&p, end, &tag)) return bad(pc, "", "corrupt header");
            if (tag == (1 << 3)) { if (rt_pb_varint(&p, end, &x) || x > 100000) return bad(pc, "", "bad num_shards"); pc->c->num_shards = (int)x; }
            else if (tag == (2 << 3)) {
                if (rt_pb_varint(&p, end, &x)) return bad(pc, "", "corrupt header");
                if (x != 0) { rt_errorf(RT_EFORMAT, "%s: big-endian checkpoints are not supported", pc->label); return -1; }
            } else if (rt_pb_skip(&p, end, (int)(tag & 7))) return bad(pc, "", "corrupt header");
        }
        return 0;
    }
    if (memchr(key, 0, klen)) { rt_errorf(RT_EFORMAT, "%s: variable name contains a NUL byte", pc->label); return -1; }
    const char *name = (const char *)key;
    if (pc->c->n == pc->cap) {
        int cap = pc->cap ? 2 * pc->cap : 64;
        rt_tf_var *nv = realloc(pc->c->v, (size_t)cap * sizeof *nv);
        if (!nv) { rt_errorf(RT_ENOMEM, "%s: out of memory", pc->label); return -1; }
        pc->c->v = nv;
        pc->cap = cap;
    }
    rt_tf_var *v = &pc->c->v[pc->c->n];
    memset(v, 0, sizeof *v);
    v->tf_dtype = -1;
    while (p < end) {
        if (rt_pb_varint(&p, end, &tag)) return bad(pc, name, "corrupt BundleEntryProto");
        int field = (int)(tag >> 3), wt = (int)(tag & 7);
        if (wt == 0 && field >= 1 && field <= 5 && field != 2) {
            if (rt_pb_varint(&p, end, &x)) return bad(pc, name, "corrupt BundleEntryProto");
            if (field == 1) v->tf_dtype = (int)(x & 0x7fffffff);
            else if (field == 3) { if (x > 100000) return bad(pc, name, "bad shard id"); v->shard = (int)x; }
            else if (field == 4) v->offset = x;
            else v->size = x;
        } else if (field == 2 && wt == 2) {
            uint64_t ln;
            if (rt_pb_varint(&p, end, &ln) || ln > (uint64_t)(end - p)) return bad(pc, name, "corrupt shape");
            int rc = parse_shape(p, p + ln, v);
            if (rc == -2) return bad(pc, name, "more than 6 dims");
            if (rc) return bad(pc, name, "corrupt or unknown shape");
            p += ln;
        } else if (field == 6 && wt == 5) {
            if (end - p < 4) return bad(pc, name, "corrupt BundleEntryProto");
            v->crc = rt_crc32c_unmask(rt_rd32(p));
            v->has_crc = 1;
            p += 4;
        } else if (field == 7) {
            v->sliced = 1;
            if (rt_pb_skip(&p, end, wt)) return bad(pc, name, "corrupt BundleEntryProto");
        } else if (rt_pb_skip(&p, end, wt)) return bad(pc, name, "corrupt BundleEntryProto");
    }
    int ti = type_index(v->tf_dtype);
    v->dt = ti < 0 ? -1 : tf_types[ti].dt;
    v->dtype_name = ti < 0 ? "unsupported" : tf_types[ti].name;
    if (!(v->name = malloc(klen + 1))) { rt_errorf(RT_ENOMEM, "%s: out of memory", pc->label); return -1; }
    memcpy(v->name, key, klen);
    v->name[klen] = 0;
    pc->c->n++;
    return 0;
}

rt_tf_ckpt *rt_tfckpt_parse_index(const uint8_t *buf, size_t len, const char *label) {
    rt_tf_ckpt *c = calloc(1, sizeof *c);
    if (!c) { rt_errorf(RT_ENOMEM, "out of memory"); return NULL; }
    c->num_shards = 1;
    parse_ctx pc = {c, 0, label ? label : "<memory>", 0};
    if (rt_sstable_foreach(buf, len, pc.label, on_entry, &pc)) { rt_tfckpt_free(c); return NULL; }
    if (!pc.have_header) { rt_errorf(RT_EFORMAT, "%s: no bundle header: not a TF checkpoint index", pc.label); rt_tfckpt_free(c); return NULL; }
    for (int i = 0; i < c->n; i++) {
        rt_tf_var *v = &c->v[i];
        if (v->shard >= c->num_shards) {
            rt_errorf(RT_EFORMAT, "%s: variable '%s': shard %d of %d", pc.label, v->name, v->shard, c->num_shards);
            rt_tfckpt_free(c);
            return NULL;
        }
    }
    return c;
}

/* Resolve a directory / .index path / prefix into a prefix (malloc'ed). */
static char *resolve_prefix(const char *path) {
    struct stat st;
    size_t n = strlen(path);
    char *out = malloc(n + 4096);
    if (!out) return NULL;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        char cp[4096];
        snprintf(cp, sizeof cp, "%s/checkpoint", path);
        FILE *f = fopen(cp, "r");
        char line[2048];
        if (f) {
            while (fgets(line, sizeof line, f)) {
                char *q1, *q2;
                if (strncmp(line, "model_checkpoint_path:", 22) == 0 && (q1 = strchr(line, '"')) && (q2 = strrchr(line, '"')) && q2 > q1) {
                    *q2 = 0;
                    if (q1[1] == '/') snprintf(out, n + 4096, "%s", q1 + 1);
                    else snprintf(out, n + 4096, "%s/%s", path, q1 + 1);
                    fclose(f);
                    return out;
                }
            }
            fclose(f);
        }
        snprintf(out, n + 4096, "%s/model.ckpt", path);
        return out;
    }
    snprintf(out, n + 4096, "%s", path);
    if (n > 6 && strcmp(out + n - 6, ".index") == 0) out[n - 6] = 0;
    return out;
}

rt_tf_ckpt *rt_tfckpt_open(const char *path) {
    char *prefix = resolve_prefix(path);
    if (!prefix) { rt_errorf(RT_ENOMEM, "out of memory"); return NULL; }
    size_t pl = strlen(prefix);
    char *ip = malloc(pl + 8);
    if (!ip) { free(prefix); rt_errorf(RT_ENOMEM, "out of memory"); return NULL; }
    snprintf(ip, pl + 8, "%s.index", prefix);
    uint8_t *buf;
    size_t len;
    rt_tf_ckpt *c = NULL;
    if (rt_read_file(ip, &buf, &len) == RT_OK) {
        c = rt_tfckpt_parse_index(buf, len, ip);
        free(buf);
    }
    free(ip);
    if (c) c->prefix = prefix;
    else free(prefix);
    return c;
}

const rt_tf_var *rt_tfckpt_find(const rt_tf_ckpt *c, const char *name) {
    for (int i = 0; i < c->n; i++)
        if (strcmp(c->v[i].name, name) == 0) return &c->v[i];
    return NULL;
}

rt_tensor *rt_tfckpt_read(const rt_tf_ckpt *c, const rt_tf_var *v) {
    int ti = type_index(v->tf_dtype);
    if (ti < 0 || tf_types[ti].dt < 0) {
        rt_errorf(RT_EDTYPE, "%s: variable '%s' has dtype %s (%d), which cannot be read as a tensor", c->prefix, v->name,
                  ti < 0 ? "unsupported" : tf_types[ti].name, v->tf_dtype);
        return NULL;
    }
    if (v->sliced) { rt_errorf(RT_EFORMAT, "%s: variable '%s' is saved in slices (partitioned), not supported", c->prefix, v->name); return NULL; }
    int64_t numel_s;
    if (!rt_shape_check(v->ndim, v->shape, 8, &numel_s)) { rt_error_prefix("%s: variable '%s'", c->prefix, v->name); return NULL; }
    uint64_t numel = (uint64_t)numel_s;
    uint64_t want = numel * (uint64_t)tf_types[ti].size;
    if (v->size != want) {
        rt_errorf(RT_ESHAPE, "%s: variable '%s': %" PRIu64 " bytes stored but its shape and dtype %s need %" PRIu64,
                  c->prefix, v->name, v->size, tf_types[ti].name, want);
        return NULL;
    }
    size_t pl = strlen(c->prefix) + 40;
    char *dp = malloc(pl);
    if (!dp) { rt_errorf(RT_ENOMEM, "out of memory"); return NULL; }
    snprintf(dp, pl, "%s.data-%05d-of-%05d", c->prefix, v->shard, c->num_shards);
    rt_tensor *t = NULL;
    uint8_t *raw = malloc(v->size ? v->size : 1);
    int fd = open(dp, O_RDONLY | O_CLOEXEC);
    if (!raw) { rt_errorf(RT_ENOMEM, "%s: variable '%s': out of memory reading %" PRIu64 " bytes", dp, v->name, v->size); goto done; }
    if (fd < 0) { rt_errorf(RT_EIO, "%s: %s (needed for variable '%s')", dp, strerror(errno), v->name); goto done; }
    size_t got = 0;
    while (got < v->size) {
        ssize_t r = pread(fd, raw + got, v->size - got, (off_t)(v->offset + got));
        if (r <= 0) break;
        got += (size_t)r;
    }
    if (got != v->size) {
        rt_errorf(RT_EFORMAT, "%s: truncated: variable '%s' needs bytes [%" PRIu64 ", %" PRIu64 ")", dp, v->name, v->offset, v->offset + v->size);
        goto done;
    }
    if (v->has_crc && rt_crc32c(raw, v->size) != v->crc) {
        rt_errorf(RT_EFORMAT, "%s: variable '%s': CRC32C mismatch (corrupt data file)", dp, v->name);
        goto done;
    }
    t = rt_tensor_empty((rt_dtype)tf_types[ti].dt, v->ndim, v->shape);
    if (!t) { rt_error_prefix("%s: variable '%s'", c->prefix, v->name); goto done; }
    uint8_t *o = rt_data(t);
    const uint8_t *s = raw;
    int sz = tf_types[ti].size;
    for (uint64_t i = 0; i < numel; i++, s += sz) {
        switch (tf_types[ti].conv) {
        case C_NATIVE: memcpy(o + i * (uint64_t)sz, s, (size_t)sz); break;
        case C_F16: ((float *)o)[i] = rt_f16_to_f32(rt_rd16(s)); break;
        case C_F64: { double d; memcpy(&d, s, 8); ((float *)o)[i] = (float)d; break; }
        case C_I8: ((int32_t *)o)[i] = (int8_t)s[0]; break;
        case C_U8: ((int32_t *)o)[i] = s[0]; break;
        case C_I16: ((int32_t *)o)[i] = (int16_t)rt_rd16(s); break;
        case C_U16: ((int32_t *)o)[i] = rt_rd16(s); break;
        case C_U32: ((int64_t *)o)[i] = rt_rd32(s); break;
        }
    }
done:
    if (fd >= 0) close(fd);
    free(raw);
    free(dp);
    return t;
}

rt_tensor_dict *rt_tfckpt_load(const char *path, int torch_names) {
    rt_tf_ckpt *c = rt_tfckpt_open(path);
    if (!c) return NULL;
    rt_tensor_dict *d = rt_tdict_new();
    char *skipped = NULL;
    size_t slen = 0;
    if (!d) goto fail;
    for (int i = 0; i < c->n; i++) {
        const rt_tf_var *v = &c->v[i];
        char name[1024];
        int transpose = 0, rc = 1;
        if (torch_names) rc = rt_tf_to_torch_name(v->name, name, sizeof name, &transpose);
        else snprintf(name, sizeof name, "%s", v->name);
        if (rc < 0) { rt_errorf(RT_EINVAL, "%s: variable name too long: %s", c->prefix, v->name); goto fail; }
        if (rc == 0 || v->dt < 0) {
            size_t add = strlen(v->name) + 2;
            char *s2 = realloc(skipped, slen + add);
            if (!s2) { rt_errorf(RT_ENOMEM, "out of memory"); goto fail; }
            skipped = s2;
            snprintf(skipped + slen, add, "%s%s", slen ? "," : "", v->name);
            slen = strlen(skipped);
            continue;
        }
        rt_tensor *t = rt_tfckpt_read(c, v);
        if (!t) goto fail;
        if (transpose && t->ndim == 2) {
            int64_t sh[2] = {t->shape[1], t->shape[0]}, str[2] = {t->stride[1], t->stride[0]};
            rt_tensor *view = rt_tensor_view_of(t->storage, t->dtype, t->offset, 2, sh, str);
            rt_release(t);
            if (!view) goto fail;
            t = rt_tensor_clone(view);
            rt_release(view);
            if (!t) goto fail;
        }
        if (rt_tdict_add_owned(d, name, t)) goto fail;
    }
    if (skipped && rt_tdict_set_meta(d, "skipped", skipped)) goto fail;
    free(skipped);
    rt_tfckpt_free(c);
    return d;
fail:
    free(skipped);
    rt_tdict_free(d);
    rt_tfckpt_free(c);
    return NULL;
}
