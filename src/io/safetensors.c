/* safetensors.c — safetensors reader (validating; tensors view one in-memory copy of the file
 * where aligned) and atomic writer. See safetensors.h. */
#include "safetensors.h"
#include "ioutil.h"
#include "../core/shape.h"

#include <cJSON.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define ST_MAX_HEADER (100u << 20)

typedef enum { SRC_NATIVE, SRC_F16, SRC_F64, SRC_I8, SRC_U8, SRC_I16, SRC_U16, SRC_U32 } st_conv;

static const struct { const char *name; rt_dtype dt; st_conv conv; int size; } st_types[] = {
    {"F32", RT_F32, SRC_NATIVE, 4}, {"I32", RT_I32, SRC_NATIVE, 4}, {"I64", RT_I64, SRC_NATIVE, 8},
    {"BF16", RT_BF16, SRC_NATIVE, 2}, {"BOOL", RT_BOOL, SRC_NATIVE, 1},
    {"F16", RT_F32, SRC_F16, 2}, {"F64", RT_F32, SRC_F64, 8}, {"I8", RT_I32, SRC_I8, 1},
    {"U8", RT_I32, SRC_U8, 1}, {"I16", RT_I32, SRC_I16, 2}, {"U16", RT_I32, SRC_U16, 2},
    {"U32", RT_I64, SRC_U32, 4},
};

typedef struct { uint64_t b, e; const char *name; } st_range;

static int cmp_range(const void *a, const void *b) {
    const st_range *x = a, *y = b;
    return x->b < y->b ? -1 : x->b > y->b ? 1 : (x->e < y->e ? -1 : x->e > y->e);
}

/* Convert n source elements at src (possibly unaligned) to the destination dtype. */
static void convert(void *dst, const uint8_t *src, int64_t n, st_conv conv, int size) {
    for (int64_t i = 0; i < n; i++, src += size) {
        switch (conv) {
        case SRC_NATIVE: memcpy((uint8_t *)dst + i * size, src, (size_t)size); break;
        case SRC_F16: ((float *)dst)[i] = rt_f16_to_f32(rt_rd16(src)); break;
        case SRC_F64: { double d; memcpy(&d, src, 8); ((float *)dst)[i] = (float)d; break; }
        case SRC_I8: ((int32_t *)dst)[i] = (int8_t)src[0]; break;
        case SRC_U8: ((int32_t *)dst)[i] = src[0]; break;
        case SRC_I16: ((int32_t *)dst)[i] = (int16_t)rt_rd16(src); break;
        case SRC_U16: ((int32_t *)dst)[i] = rt_rd16(src); break;
        case SRC_U32: ((int64_t *)dst)[i] = rt_rd32(src); break;
        }
    }
}

/* The header's top-level members one at a time: each value is parsed into its own
 * small cJSON tree (freed at the next step), so a big header never becomes one
 * tree of ~20x its size; memory stays close to the tensors it describes. */
typedef struct { const char *h, *label; size_t n, p; cJSON *key, *val; int started; } member_iter;

static int hdr_err(const member_iter *m, size_t at) {
    rt_errorf(RT_EFORMAT, "%s: safetensors header is not valid JSON (near byte %zu of the header)", m->label, at);
    return -1;
}
static size_t skip_ws(const char *h, size_t n, size_t p) {
    while (p < n && (h[p] == ' ' || h[p] == '\t' || h[p] == '\n' || h[p] == '\r')) p++;
    return p;
}
/* h[p] == '"': the index after the closing quote, 0 when unterminated. */
static size_t string_end(const char *h, size_t n, size_t p) {
    for (p++; p < n && h[p] != '"'; p++)
        if (h[p] == '\\') p++;
    return p < n ? p + 1 : 0;
}
/* End of the JSON value starting at h[p] (brackets matched outside strings); 0 on error. */
static size_t value_end(const char *h, size_t n, size_t p) {
    if (p >= n) return 0;
    if (h[p] == '"') return string_end(h, n, p);
    if (h[p] == '{' || h[p] == '[') {
        size_t depth = 0;
        while (p < n) {
            if (h[p] == '"') {
                size_t e = string_end(h, n, p);
                if (!e) return 0;
                p = e;
                continue;
            }
            if (h[p] == '{' || h[p] == '[') depth++;
            else if ((h[p] == '}' || h[p] == ']') && --depth == 0) return p + 1;
            p++;
        }
        return 0;
    }
    while (p < n && !strchr(",}] \t\r\n", h[p])) p++;
    return p;
}
static void member_free(member_iter *m) {
    cJSON_Delete(m->key);
    cJSON_Delete(m->val);
    m->key = m->val = NULL;
}
/* 1: m->key (a string) and m->val hold the next member; 0: end of the object; -1: error. */
static int next_member(member_iter *m) {
    member_free(m);
    const char *h = m->h;
    size_t n = m->n, p = skip_ws(h, n, m->p);
    if (!m->started) {                         /* h[0] == '{' (checked by the caller) */
        m->started = 1;
        p = skip_ws(h, n, 1);
        if (p < n && h[p] == '}') { m->p = p + 1; return 0; }
    } else if (p < n && h[p] == ',') {
        p = skip_ws(h, n, p + 1);
    } else if (p < n && h[p] == '}') {
        m->p = p + 1;
        return 0;
    } else {
        return hdr_err(m, p);
    }
    size_t ke = p < n && h[p] == '"' ? string_end(h, n, p) : 0;
    if (!ke || !(m->key = cJSON_ParseWithLength(h + p, ke - p)) || !cJSON_IsString(m->key)) return hdr_err(m, p);
    p = skip_ws(h, n, ke);
    if (p >= n || h[p] != ':') return hdr_err(m, p);
    p = skip_ws(h, n, p + 1);
    size_t ve = value_end(h, n, p);
    if (!ve || ve == p) return hdr_err(m, p);
    if (!(m->val = cJSON_ParseWithLength(h + p, ve - p))) {
        const char *ep = cJSON_GetErrorPtr();
        return hdr_err(m, ep && ep >= h + p && ep <= h + ve ? (size_t)(ep - h) : p);
    }
    m->p = ve;
    return 1;
}

/* Parse the image held by storage s (s->data covers the whole file). */
static rt_tensor_dict *parse(rt_storage *s, size_t len, const char *label) {
    const uint8_t *buf = s->data;
    if (len < 8) { rt_errorf(RT_EFORMAT, "%s: not a safetensors file (%zu bytes, truncated header length)", label, len); return NULL; }
    uint64_t hlen = rt_rd64(buf);
    if (hlen > ST_MAX_HEADER) { rt_errorf(RT_EFORMAT, "%s: not a safetensors file (header length %" PRIu64 " is implausible)", label, hlen); return NULL; }
    if (hlen > len - 8) { rt_errorf(RT_EFORMAT, "%s: truncated: header needs %" PRIu64 " bytes, file has %zu", label, hlen, len - 8); return NULL; }
    if (hlen < 2 || buf[8] != '{') { rt_errorf(RT_EFORMAT, "%s: not a safetensors file (header is not a JSON object)", label); return NULL; }
    const char *hdr = (const char *)buf + 8;
    uint64_t data_len = len - 8 - hlen, data_pos = 8 + hlen;
    member_iter mi = {.h = hdr, .label = label, .n = (size_t)hlen};
    rt_tensor_dict *d = rt_tdict_new();
    int nr = 0, rcap = 64, more;
    st_range *ranges = calloc((size_t)rcap, sizeof *ranges);
    if (!d || !ranges) goto fail_nomem;
    while ((more = next_member(&mi)) == 1) {
        cJSON *it = mi.val;
        const char *name = mi.key->valuestring ? mi.key->valuestring : "";
        if (strcmp(name, "__metadata__") == 0) {
            if (!cJSON_IsObject(it)) { rt_errorf(RT_EFORMAT, "%s: __metadata__ must be an object of strings", label); goto fail; }
            for (cJSON *m = it->child; m; m = m->next) {
                if (!cJSON_IsString(m)) { rt_errorf(RT_EFORMAT, "%s: __metadata__ value '%s' is not a string", label, m->string); goto fail; }
                if (rt_tdict_set_meta(d, m->string, m->valuestring)) goto fail;
            }
            continue;
        }
        if (rt_tdict_index(d, name) >= 0) { rt_errorf(RT_EFORMAT, "%s: tensor '%s' appears twice in the header", label, name); goto fail; }
        if (!cJSON_IsObject(it)) { rt_errorf(RT_EFORMAT, "%s: tensor '%s': entry is not an object", label, name); goto fail; }
        cJSON *jdt = cJSON_GetObjectItemCaseSensitive(it, "dtype");
        cJSON *jsh = cJSON_GetObjectItemCaseSensitive(it, "shape");
        cJSON *jof = cJSON_GetObjectItemCaseSensitive(it, "data_offsets");
        if (!cJSON_IsString(jdt)) { rt_errorf(RT_EFORMAT, "%s: tensor '%s': missing dtype", label, name); goto fail; }
        int ti = -1;
        for (size_t k = 0; k < sizeof st_types / sizeof *st_types; k++)
            if (strcmp(jdt->valuestring, st_types[k].name) == 0) ti = (int)k;
        if (ti < 0) { rt_errorf(RT_EDTYPE, "%s: tensor '%s': unsupported dtype '%s'", label, name, jdt->valuestring); goto fail; }
        if (!cJSON_IsArray(jsh)) { rt_errorf(RT_EFORMAT, "%s: tensor '%s': missing shape", label, name); goto fail; }
        int nd = cJSON_GetArraySize(jsh);
        if (nd > RT_MAXDIM) { rt_errorf(RT_ESHAPE, "%s: tensor '%s': %d dims (at most %d supported)", label, name, nd, RT_MAXDIM); goto fail; }
        int64_t shape[RT_MAXDIM];
        uint64_t numel = 1;
        int k = 0;
        for (cJSON *x = jsh->child; x; x = x->next, k++) {
            double v = cJSON_IsNumber(x) ? x->valuedouble : -1;
            if (!(v >= 0 && v <= 9.0e15) || v != floor(v)) { rt_errorf(RT_ESHAPE, "%s: tensor '%s': bad shape entry %d", label, name, k + 1); goto fail; }
            shape[k] = (int64_t)v;
        }
        int64_t numel_s;
        if (!rt_shape_check(nd, shape, 8, &numel_s)) { rt_error_prefix("%s: tensor '%s'", label, name); goto fail; }
        numel = (uint64_t)numel_s;
        if (!cJSON_IsArray(jof) || cJSON_GetArraySize(jof) != 2 || !cJSON_IsNumber(jof->child) || !cJSON_IsNumber(jof->child->next)) {
            rt_errorf(RT_EFORMAT, "%s: tensor '%s': data_offsets must be [begin, end]", label, name); goto fail;
        }
        double db = jof->child->valuedouble, de = jof->child->next->valuedouble;
        if (!(db >= 0 && de >= db && de <= 1.8e19) || db != floor(db) || de != floor(de)) {
            rt_errorf(RT_EFORMAT, "%s: tensor '%s': bad data_offsets [%.0f, %.0f]", label, name, db, de); goto fail;
        }
        uint64_t b = (uint64_t)db, e = (uint64_t)de, size = (uint64_t)st_types[ti].size;
        if (e > data_len) {
            rt_errorf(RT_EFORMAT, "%s: truncated: tensor '%s' needs data bytes [%" PRIu64 ", %" PRIu64 ") but the data section has %" PRIu64,
                      label, name, b, e, data_len); goto fail;
        }
        if (e - b != numel * size) {
            char sh[128];
            size_t o = 0;
            sh[0] = 0;
            for (int j = 0; j < nd && o < sizeof sh - 24; j++) o += (size_t)snprintf(sh + o, sizeof sh - o, j ? ",%" PRId64 : "%" PRId64, shape[j]);
            rt_errorf(RT_ESHAPE, "%s: tensor '%s': shape [%s] of %s needs %" PRIu64 " bytes but data_offsets span %" PRIu64,
                      label, name, sh, st_types[ti].name, numel * size, e - b); goto fail;
        }
        if (nr == rcap) {
            st_range *r2 = realloc(ranges, (size_t)rcap * 2 * sizeof *ranges);
            if (!r2) goto fail_nomem;
            ranges = r2;
            rcap *= 2;
        }
        ranges[nr].b = b; ranges[nr].e = e; ranges[nr].name = NULL; nr++;
        rt_tensor *t;
        uint64_t pos = data_pos + b;
        if (st_types[ti].conv == SRC_NATIVE && pos % size == 0) {
            t = rt_tensor_view_of(s, st_types[ti].dt, (int64_t)(pos / size), nd, shape, NULL);
        } else {
            t = rt_tensor_empty(st_types[ti].dt, nd, shape);
            if (t) convert(rt_data(t), buf + pos, (int64_t)numel, st_types[ti].conv, (int)size);
        }
        if (!t) { rt_error_prefix("%s: tensor '%s'", label, name); goto fail; }
        if (rt_tdict_add_owned(d, name, t)) goto fail;
        ranges[nr - 1].name = d->items[d->n - 1].name;   /* outlives this member's tree */
    }
    if (more < 0) goto fail;
    member_free(&mi);
    qsort(ranges, (size_t)nr, sizeof *ranges, cmp_range);
    for (int i = 1; i < nr; i++) {
        if (ranges[i].b < ranges[i - 1].e && ranges[i].b < ranges[i].e) {
            rt_errorf(RT_EFORMAT, "%s: tensors '%s' [%" PRIu64 ", %" PRIu64 ") and '%s' [%" PRIu64 ", %" PRIu64 ") overlap",
                      label, ranges[i - 1].name, ranges[i - 1].b, ranges[i - 1].e, ranges[i].name, ranges[i].b, ranges[i].e);
            goto fail;
        }
    }
    free(ranges);
    return d;
fail_nomem:
    rt_errorf(RT_ENOMEM, "%s: out of memory", label);
fail:
    member_free(&mi);
    free(ranges);
    rt_tdict_free(d);
    return NULL;
}

rt_tensor_dict *rt_safetensors_load(const char *path) {
    size_t len;
    if (rt_file_size(path, &len)) return NULL;
    if (len < 8) { rt_errorf(RT_EFORMAT, "%s: not a safetensors file (%zu bytes, truncated header length)", path, len); return NULL; }
    rt_storage *s = rt_file_storage(path, len);
    if (!s) return NULL;
    rt_tensor_dict *d = parse(s, len, path);
    rt_storage_release(s);           /* the views keep the copy alive */
    return d;
}

rt_tensor_dict *rt_safetensors_load_mem(const void *buf, size_t len, const char *label) {
    rt_storage *s = rt_storage_from_mem(buf, len);
    if (!s) return NULL;
    rt_tensor_dict *d = parse(s, len, label ? label : "<memory>");
    rt_storage_release(s);
    return d;
}

/* ---- writer ---- */
/* The header is built in an rt_buf (core/sys.h); its oom flag carries failures. */
typedef rt_buf sbuf;
static void sb_put(sbuf *b, const char *s, size_t n) { rt_buf_append(b, s, n); }
static void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }
static void sb_json_str(sbuf *b, const char *s) {
    sb_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') { esc[0] = '\\'; esc[1] = (char)c; sb_put(b, esc, 2); }
        else if (c < 0x20) { snprintf(esc, sizeof esc, "\\u%04x", c); sb_put(b, esc, 6); }
        else sb_put(b, (const char *)&c, 1);
    }
    sb_put(b, "\"", 1);
}

static const char *st_name(rt_dtype dt) {
    switch (dt) {
    case RT_F32: return "F32"; case RT_I32: return "I32"; case RT_I64: return "I64";
    case RT_BF16: return "BF16"; case RT_BOOL: return "BOOL"; default: return NULL;
    }
}

rt_status rt_safetensors_save(const char *path, const rt_tensor_dict *d) {
    int n = d->n;
    int *order = malloc(((size_t)n + 1) * sizeof *order);
    rt_tensor **ct = calloc((size_t)n + 1, sizeof *ct);
    sbuf h = {0};
    rt_status st = RT_OK;
    if (!order || !ct) { st = rt_errorf(RT_ENOMEM, "%s: out of memory", path); goto done; }
    /* Larger elements first (stable), so every tensor's data stays aligned. */
    int k = 0;
    for (size_t sz = 8; sz >= 1; sz /= 2)
        for (int i = 0; i < n; i++)
            if (rt_dtype_size(d->items[i].t->dtype) == sz) order[k++] = i;
    if (k != n) { st = rt_errorf(RT_EDTYPE, "%s: unsupported dtype in tensor list", path); goto done; }
    sb_str(&h, "{");
    if (d->nmeta) {
        sb_str(&h, "\"__metadata__\":{");
        for (int i = 0; i < d->nmeta; i++) {
            if (i) sb_str(&h, ",");
            sb_json_str(&h, d->meta[i].key);
            sb_str(&h, ":");
            sb_json_str(&h, d->meta[i].value);
        }
        sb_str(&h, "}");
    }
    uint64_t off = 0;
    for (int j = 0; j < n; j++) {
        const rt_named_tensor *e = &d->items[order[j]];
        if (strcmp(e->name, "__metadata__") == 0) { st = rt_errorf(RT_EINVAL, "%s: '__metadata__' cannot be a tensor name", path); goto done; }
        const char *dn = st_name(e->t->dtype);
        if (!dn) { st = rt_errorf(RT_EDTYPE, "%s: tensor '%s': dtype %s cannot be saved", path, e->name, rt_dtype_name(e->t->dtype)); goto done; }
        ct[order[j]] = rt_tensor_contiguous(e->t);
        if (!ct[order[j]]) { st = rt_last_status(); goto done; }
        uint64_t nb = rt_nbytes(e->t);
        char num[64];
        if (d->nmeta || j) sb_str(&h, ",");
        sb_json_str(&h, e->name);
        sb_str(&h, ":{\"dtype\":\"");
        sb_str(&h, dn);
        sb_str(&h, "\",\"shape\":[");
        for (int a = 0; a < e->t->ndim; a++) {
            snprintf(num, sizeof num, a ? ",%" PRId64 : "%" PRId64, e->t->shape[a]);
            sb_str(&h, num);
        }
        snprintf(num, sizeof num, "],\"data_offsets\":[%" PRIu64 ",%" PRIu64 "]}", off, off + nb);
        sb_str(&h, num);
        off += nb;
    }
    sb_str(&h, "}");
    while (!h.oom && h.len % 8) sb_str(&h, " ");
    if (h.oom) { st = rt_errorf(RT_ENOMEM, "%s: out of memory", path); goto done; }
    rt_atomic_file af;
    if ((st = rt_atomic_open(&af, path))) goto done;
    uint8_t len8[8];
    rt_wr64(len8, h.len);
    rt_atomic_write(&af, len8, 8);
    rt_atomic_write(&af, h.data, h.len);
    for (int j = 0; j < n; j++) {
        rt_tensor *t = ct[order[j]];
        rt_atomic_write(&af, rt_data(t), rt_nbytes(t));
    }
    st = rt_atomic_commit(&af);
done:
    if (ct) for (int i = 0; i < n; i++) rt_release(ct[i]);
    free(ct);
    free(order);
    rt_buf_free(&h);
    return st;
}
