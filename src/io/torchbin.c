/* torchbin.c — torch.save zip + pickle state_dict reader and writer. */
#include "torchbin.h"
#include "pickle.h"
#include "zip.h"
#include "../core/shape.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define TB_MAX_DEPTH 32

typedef enum { CV_NATIVE, CV_F16, CV_F64, CV_I8, CV_U8, CV_I16 } tb_conv;
static const struct { const char *cls; rt_dtype dt; tb_conv conv; int size; } tb_types[] = {
    {"torch.FloatStorage", RT_F32, CV_NATIVE, 4}, {"torch.LongStorage", RT_I64, CV_NATIVE, 8},
    {"torch.IntStorage", RT_I32, CV_NATIVE, 4}, {"torch.BFloat16Storage", RT_BF16, CV_NATIVE, 2},
    {"torch.BoolStorage", RT_BOOL, CV_NATIVE, 1}, {"torch.HalfStorage", RT_F32, CV_F16, 2},
    {"torch.DoubleStorage", RT_F32, CV_F64, 8}, {"torch.CharStorage", RT_I32, CV_I8, 1},
    {"torch.ByteStorage", RT_I32, CV_U8, 1}, {"torch.ShortStorage", RT_I32, CV_I16, 2},
};

typedef struct { const char *key; rt_storage *s; int64_t base, numel; rt_dtype dt; } tb_store;

typedef struct {
    const char *label;
    rt_storage *file;          /* whole image */
    rt_zip *zip;
    char prefix[256];
    tb_store *stores; int nstores, capstores;
    int *shash, shcap;         /* index of stores by key (1 + store, 0 empty) */
    rt_tensor_dict *out;
} tb_ctx;

static int tberr(tb_ctx *c, rt_status code, const char *fmt, const char *a, const char *b) {
    char msg[2048];
    snprintf(msg, sizeof msg, fmt, a ? a : "", b ? b : "");
    rt_errorf(code, "%s: %s", c->label, msg);
    return -1;
}

static void convert(void *dst, const uint8_t *src, int64_t n, tb_conv cv, int size) {
    for (int64_t i = 0; i < n; i++, src += size) {
        switch (cv) {
        case CV_NATIVE: memcpy((uint8_t *)dst + i * size, src, (size_t)size); break;
        case CV_F16: ((float *)dst)[i] = rt_f16_to_f32(rt_rd16(src)); break;
        case CV_F64: { double d; memcpy(&d, src, 8); ((float *)dst)[i] = (float)d; break; }
        case CV_I8: ((int32_t *)dst)[i] = (int8_t)src[0]; break;
        case CV_U8: ((int32_t *)dst)[i] = src[0]; break;
        case CV_I16: ((int32_t *)dst)[i] = (int16_t)rt_rd16(src); break;
        }
    }
}

/* Slot of key in the store index (or the empty slot it takes); -1 without an index. */
static int store_slot(const tb_ctx *c, const char *key) {
    if (!c->shash) return -1;
    uint32_t h = 2166136261u, m = (uint32_t)c->shcap - 1;
    for (const char *p = key; *p; p++) h = (h ^ (uint8_t)*p) * 16777619u;
    for (h &= m; c->shash[h]; h = (h + 1) & m)
        if (strcmp(c->stores[c->shash[h] - 1].key, key) == 0) break;
    return (int)h;
}

/* The storage for a persistent id ('storage', cls, key, location, numel). */
static tb_store *get_store(tb_ctx *c, const pk_val *pid, const char *tname) {
    const pk_val *t = pid->args;
    if (t->kind != PK_TUPLE || t->n < 5 || t->items[0]->kind != PK_STR || strcmp(t->items[0]->s, "storage") != 0 ||
        t->items[1]->kind != PK_GLOBAL || t->items[2]->kind != PK_STR || t->items[4]->kind != PK_INT) {
        tberr(c, RT_EFORMAT, "tensor '%s': malformed storage reference", tname, NULL);
        return NULL;
    }
    const char *key = t->items[2]->s;
    int slot = store_slot(c, key);
    if (slot >= 0 && c->shash[slot]) return &c->stores[c->shash[slot] - 1];
    int ti = -1;
    for (size_t k = 0; k < sizeof tb_types / sizeof *tb_types; k++)
        if (strcmp(t->items[1]->s, tb_types[k].cls) == 0) ti = (int)k;
    if (ti < 0) { tberr(c, RT_EDTYPE, "tensor '%s': unsupported storage type %s", tname, t->items[1]->s); return NULL; }
    int64_t numel = t->items[4]->i;
    char ename[512];
    snprintf(ename, sizeof ename, "%s/data/%s", c->prefix, key);
    const rt_zip_entry *e = rt_zip_find(c->zip, ename);
    if (!e) { tberr(c, RT_EFORMAT, "tensor '%s': storage entry '%s' missing from the archive", tname, ename); return NULL; }
    const uint8_t *data = rt_zip_data(c->zip, e, 0);
    if (!data) return NULL;
    uint64_t size = (uint64_t)tb_types[ti].size;
    if (numel < 0 || (uint64_t)numel > e->size / size) {
        char m2[64];
        snprintf(m2, sizeof m2, "%" PRId64 " elements", numel);
        tberr(c, RT_EFORMAT, "storage '%s' is truncated: it should hold %s", ename, m2);
        return NULL;
    }
    if (c->nstores == c->capstores) {
        int cap = c->capstores ? 2 * c->capstores : 32;
        tb_store *s = realloc(c->stores, (size_t)cap * sizeof *s);
        if (!s) { rt_errorf(RT_ENOMEM, "%s: out of memory", c->label); return NULL; }
        c->stores = s;
        c->capstores = cap;
    }
    if (2 * (c->nstores + 1) > c->shcap) {       /* grow the index, load <= 1/2 */
        int nc = c->shcap ? 2 * c->shcap : 64;
        int *h = calloc((size_t)nc, sizeof *h);
        if (!h) { rt_errorf(RT_ENOMEM, "%s: out of memory", c->label); return NULL; }
        free(c->shash);
        c->shash = h;
        c->shcap = nc;
        for (int i = 0; i < c->nstores; i++) c->shash[store_slot(c, c->stores[i].key)] = i + 1;
        slot = store_slot(c, key);
    }
    c->shash[slot] = c->nstores + 1;
    tb_store *st = &c->stores[c->nstores];
    st->key = key;
    st->numel = numel;
    st->dt = tb_types[ti].dt;
    if (tb_types[ti].conv == CV_NATIVE && e->data_offset % size == 0) {
        st->s = c->file;
        rt_storage_retain(c->file);
        st->base = (int64_t)(e->data_offset / size);
    } else {
        size_t nb = (size_t)numel * rt_dtype_size(st->dt);
        st->s = rt_storage_new(nb ? nb : 1);
        if (!st->s) { rt_error_prefix("%s: tensor '%s' (storage '%s')", c->label, tname, ename); return NULL; }
        convert(st->s->data, data, numel, tb_types[ti].conv, (int)size);
        st->base = 0;
    }
    c->nstores++;
    return st;
}

static int int_tuple(const pk_val *v, int64_t *out, int *n) {
    if (v->kind != PK_TUPLE || v->n > RT_MAXDIM) return -1;
    for (int i = 0; i < v->n; i++) {
        if (v->items[i]->kind != PK_INT) return -1;
        out[i] = v->items[i]->i;
    }
    *n = v->n;
    return 0;
}

static rt_tensor *rebuild(tb_ctx *c, const pk_val *v, const char *name, int depth) {
    if (depth > 4) { tberr(c, RT_EFORMAT, "tensor '%s': nested too deeply", name, NULL); return NULL; }
    const pk_val *a = v->args;
    if (pk_is_global(v->func, "torch._utils._rebuild_parameter")) {
        if (a->n < 1 || a->items[0]->kind != PK_CALL) { tberr(c, RT_EFORMAT, "parameter '%s': malformed", name, NULL); return NULL; }
        return rebuild(c, a->items[0], name, depth + 1);
    }
    if (!pk_is_global(v->func, "torch._utils._rebuild_tensor_v2") && !pk_is_global(v->func, "torch._utils._rebuild_tensor")) {
        tberr(c, RT_EFORMAT, "'%s': unsupported object %s", name, v->func->s);
        return NULL;
    }
    int64_t shape[RT_MAXDIM], stride[RT_MAXDIM];
    int nd, nd2;
    if (a->n < 4 || a->items[0]->kind != PK_PERSID || a->items[1]->kind != PK_INT ||
        int_tuple(a->items[2], shape, &nd) || int_tuple(a->items[3], stride, &nd2) || nd != nd2) {
        tberr(c, RT_EFORMAT, "tensor '%s': malformed _rebuild_tensor arguments (or more than 6 dims)", name, NULL);
        return NULL;
    }
    for (int i = 0; i < nd; i++)
        if (shape[i] < 0 || stride[i] < 0) { tberr(c, RT_ESHAPE, "tensor '%s': negative size or stride", name, NULL); return NULL; }
    if (!rt_shape_check(nd, shape, 8, NULL)) { rt_error_prefix("%s: tensor '%s'", c->label, name); return NULL; }
    tb_store *st = get_store(c, a->items[0], name);
    if (!st) return NULL;
    int64_t off = a->items[1]->i, last = off;
    int empty = 0;
    for (int i = 0; i < nd; i++) {
        if (shape[i] < 0 || stride[i] < 0) { tberr(c, RT_ESHAPE, "tensor '%s': negative size or stride", name, NULL); return NULL; }
        if (shape[i] == 0) empty = 1;
        else if (stride[i] > (INT64_MAX / 4) / shape[i] || last > INT64_MAX / 4) { tberr(c, RT_ESHAPE, "tensor '%s': shape too large", name, NULL); return NULL; }
        else last += (shape[i] - 1) * stride[i];
    }
    if (off < 0 || (!empty && last >= st->numel) || (empty && off > st->numel)) {
        char m2[128];
        snprintf(m2, sizeof m2, "reaches element %" PRId64 " of a %" PRId64 "-element storage", last, st->numel);
        tberr(c, RT_ESHAPE, "tensor '%s': view %s", name, m2);
        return NULL;
    }
    rt_tensor *t = rt_tensor_view_of(st->s, st->dt, st->base + off, nd, shape, stride);
    if (!t) rt_error_prefix("%s: tensor '%s'", c->label, name);
    return t;
}

static int walk(tb_ctx *c, const pk_val *d, const char *prefix, int depth) {
    if (depth > TB_MAX_DEPTH) return tberr(c, RT_EFORMAT, "dicts nested too deeply", NULL, NULL);
    for (int i = 0; i < pk_len(d); i++) {
        const pk_val *k = pk_key(d, i), *v = pk_value(d, i);
        char name[1024];
        if (k->kind == PK_STR) snprintf(name, sizeof name, "%s%s", prefix, k->s);
        else if (k->kind == PK_INT) snprintf(name, sizeof name, "%s%" PRId64, prefix, k->i);
        else return tberr(c, RT_EFORMAT, "dict key of unsupported type under '%s'", prefix, NULL);
        if (v->kind == PK_CALL) {
            rt_tensor *t = rebuild(c, v, name, 0);
            if (!t || rt_tdict_add_owned(c->out, name, t)) return -1;
        } else if (v->kind == PK_DICT) {
            size_t n = strlen(name);
            if (n + 2 > sizeof name) return tberr(c, RT_EFORMAT, "name too long", NULL, NULL);
            name[n] = '.';
            name[n + 1] = 0;
            if (walk(c, v, name, depth + 1)) return -1;
        } else if (v->kind == PK_INT || v->kind == PK_FLOAT || v->kind == PK_STR || v->kind == PK_BOOL) {
            char val[64];
            if (v->kind == PK_STR) { if (rt_tdict_set_meta(c->out, name, v->s)) return -1; continue; }
            if (v->kind == PK_FLOAT) snprintf(val, sizeof val, "%.17g", v->f);
            else if (v->kind == PK_BOOL) snprintf(val, sizeof val, "%s", v->i ? "true" : "false");
            else snprintf(val, sizeof val, "%" PRId64, v->i);
            if (rt_tdict_set_meta(c->out, name, val)) return -1;
        }
        /* other values (None, lists, tuples of numbers) are ignored */
    }
    return 0;
}

static rt_tensor_dict *parse(rt_storage *file, size_t len, const char *label) {
    tb_ctx c;
    memset(&c, 0, sizeof c);
    c.label = label;
    c.file = file;
    pk_doc *doc = NULL;
    const uint8_t *buf = file->data;
    if (len >= 2 && buf[0] == 0x80 && buf[1] <= 5) {
        rt_errorf(RT_EFORMAT, "%s: legacy (pre-1.6, non-zip) torch.save format is not supported; "
                  "re-save it with torch.save(state_dict, path) from PyTorch >= 1.6", label);
        return NULL;
    }
    if (!(c.zip = rt_zip_open_mem(buf, len, label))) return NULL;
    const rt_zip_entry *pkl = NULL;
    for (int i = 0; i < c.zip->n; i++) {
        const char *nm = c.zip->e[i].name, *sl = strchr(nm, '/');
        if (sl && strcmp(sl, "/data.pkl") == 0 && (size_t)(sl - nm) < sizeof c.prefix) {
            pkl = &c.zip->e[i];
            memcpy(c.prefix, nm, (size_t)(sl - nm));
            c.prefix[sl - nm] = 0;
            break;
        }
    }
    if (!pkl) { rt_errorf(RT_EFORMAT, "%s: zip file without <name>/data.pkl: not a torch.save file", label); goto fail; }
    char bo[300];
    snprintf(bo, sizeof bo, "%s/byteorder", c.prefix);
    const rt_zip_entry *boe = rt_zip_find(c.zip, bo);
    if (boe) {
        const uint8_t *b = rt_zip_data(c.zip, boe, 0);
        if (!b) goto fail;
        if (boe->size >= 3 && memcmp(b, "big", 3) == 0) { rt_errorf(RT_EFORMAT, "%s: big-endian torch.save files are not supported", label); goto fail; }
    }
    const uint8_t *p = rt_zip_data(c.zip, pkl, 1);
    if (!p) goto fail;
    char plabel[600];
    snprintf(plabel, sizeof plabel, "%s (%s)", label, pkl->name);
    pk_val *root;
    if (!(doc = rt_pickle_load(p, pkl->size, plabel, &root))) goto fail;
    if (root->kind != PK_DICT) { rt_errorf(RT_EFORMAT, "%s: the pickled object is not a dict (state_dict expected)", label); goto fail; }
    if (!(c.out = rt_tdict_new())) goto fail;
    if (walk(&c, root, "", 0)) goto fail;
    rt_pickle_free(doc);
    rt_zip_free(c.zip);
    for (int i = 0; i < c.nstores; i++) rt_storage_release(c.stores[i].s);
    free(c.shash);
    free(c.stores);
    return c.out;
fail:
    rt_pickle_free(doc);
    rt_zip_free(c.zip);
    for (int i = 0; i < c.nstores; i++) rt_storage_release(c.stores[i].s);
    free(c.shash);
    free(c.stores);
    rt_tdict_free(c.out);
    return NULL;
}

rt_tensor_dict *rt_torchbin_load(const char *path) {
    size_t len;
    if (rt_file_size(path, &len)) return NULL;
    if (len == 0) { rt_errorf(RT_EFORMAT, "%s: empty file", path); return NULL; }
    rt_storage *s = rt_file_storage(path, len);
    if (!s) return NULL;
    rt_tensor_dict *d = parse(s, len, path);
    rt_storage_release(s);
    return d;
}

rt_tensor_dict *rt_torchbin_load_mem(const void *buf, size_t len, const char *label) {
    rt_storage *s = rt_storage_from_mem(buf, len);
    if (!s) return NULL;
    rt_tensor_dict *d = parse(s, len, label ? label : "<memory>");
    rt_storage_release(s);
    return d;
}

/* ---- writer ---- */
/* The pickle is built in an rt_buf (core/sys.h); its oom flag carries failures. */
typedef rt_buf bbuf;
static void bb_put(bbuf *b, const void *s, size_t n) { rt_buf_append(b, s, n); }
static void bb_op(bbuf *b, uint8_t op) { bb_put(b, &op, 1); }
static void bb_str(bbuf *b, const char *s) {
    uint8_t h[5] = {'X'};
    size_t n = strlen(s);
    rt_wr32(h + 1, (uint32_t)n);
    bb_put(b, h, 5);
    bb_put(b, s, n);
}
static void bb_int(bbuf *b, int64_t v) {
    uint8_t h[10];
    if (v >= INT32_MIN && v <= INT32_MAX) { h[0] = 'J'; rt_wr32(h + 1, (uint32_t)v); bb_put(b, h, 5); }
    else { h[0] = 0x8a; h[1] = 8; rt_wr64(h + 2, (uint64_t)v); bb_put(b, h, 10); }
}
static void bb_global(bbuf *b, const char *mod, const char *name) {
    bb_op(b, 'c');
    bb_put(b, mod, strlen(mod));
    bb_op(b, '\n');
    bb_put(b, name, strlen(name));
    bb_op(b, '\n');
}

typedef struct { int idx; const rt_storage *s; rt_dtype dt; int64_t lo, hi; int group; } tb_rec;

static int cmp_rec(const void *a, const void *b) {
    const tb_rec *x = a, *y = b;
    if (x->s != y->s) return (uintptr_t)x->s < (uintptr_t)y->s ? -1 : 1;
    if (x->dt != y->dt) return x->dt < y->dt ? -1 : 1;
    if (x->lo != y->lo) return x->lo < y->lo ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static const char *storage_class(rt_dtype dt) {
    switch (dt) {
    case RT_F32: return "FloatStorage"; case RT_I64: return "LongStorage"; case RT_I32: return "IntStorage";
    case RT_BF16: return "BFloat16Storage"; case RT_BOOL: return "BoolStorage"; default: return NULL;
    }
}

rt_status rt_torchbin_save(const char *path, const rt_tensor_dict *d) {
    int n = d->n;
    tb_rec *r = calloc((size_t)n + 1, sizeof *r);
    rt_tensor **ts = calloc((size_t)n + 1, sizeof *ts);
    int *grp_of = calloc((size_t)n + 1, sizeof *grp_of);
    int *grp_first = calloc((size_t)n + 1, sizeof *grp_first);   /* record index of each group's first tensor */
    int64_t *glo = calloc((size_t)n + 1, sizeof *glo), *ghi = calloc((size_t)n + 1, sizeof *ghi);
    bbuf pk = {0};
    rt_status st = RT_OK;
    rt_zip_writer w;
    int wopen = 0;
    if (!r || !ts || !grp_of || !grp_first || !glo || !ghi) { st = rt_errorf(RT_ENOMEM, "%s: out of memory", path); goto done; }
    for (int i = 0; i < n; i++) {
        rt_tensor *t = d->items[i].t;
        if (!storage_class(t->dtype)) { st = rt_errorf(RT_EDTYPE, "%s: tensor '%s': dtype %s cannot be saved", path, d->items[i].name, rt_dtype_name(t->dtype)); goto done; }
        int neg = 0;
        for (int a = 0; a < t->ndim; a++) neg |= t->stride[a] < 0;
        if (neg) { if (!(t = rt_tensor_contiguous(t))) { st = rt_last_status(); goto done; } }
        else rt_retain(t);
        ts[i] = t;
        int64_t hi = t->offset + (rt_numel(t) > 0 ? 1 : 0);
        if (rt_numel(t) > 0) for (int a = 0; a < t->ndim; a++) hi += (t->shape[a] - 1) * t->stride[a];
        r[i] = (tb_rec){i, t->storage, t->dtype, t->offset, hi, 0};
    }
    qsort(r, (size_t)n, sizeof *r, cmp_rec);
    int ng = 0;
    for (int j = 0; j < n; j++) {
        if (j && r[j].s == r[j - 1].s && r[j].dt == r[j - 1].dt && r[j].lo < ghi[ng - 1] && r[j].hi > r[j].lo) {
            if (r[j].hi > ghi[ng - 1]) ghi[ng - 1] = r[j].hi;
        } else {
            glo[ng] = r[j].lo;
            ghi[ng] = r[j].hi;
            grp_first[ng] = r[j].idx;
            ng++;
        }
        grp_of[r[j].idx] = ng - 1;
    }
    /* pickle: OrderedDict of _rebuild_tensor_v2 calls, no memo */
    bb_op(&pk, 0x80); bb_op(&pk, 2);
    bb_global(&pk, "collections", "OrderedDict");
    bb_op(&pk, ')'); bb_op(&pk, 'R');
    bb_op(&pk, '(');
    for (int i = 0; i < n; i++) {
        rt_tensor *t = ts[i];
        int g = grp_of[i];
        char key[32];
        snprintf(key, sizeof key, "%d", g);
        bb_str(&pk, d->items[i].name);
        bb_global(&pk, "torch._utils", "_rebuild_tensor_v2");
        bb_op(&pk, '(');
        bb_op(&pk, '(');
        bb_str(&pk, "storage");
        bb_global(&pk, "torch", storage_class(t->dtype));
        bb_str(&pk, key);
        bb_str(&pk, "cpu");
        bb_int(&pk, ghi[g] - glo[g]);
        bb_op(&pk, 't'); bb_op(&pk, 'Q');
        bb_int(&pk, t->offset - glo[g]);
        bb_op(&pk, '(');
        for (int a = 0; a < t->ndim; a++) bb_int(&pk, t->shape[a]);
        bb_op(&pk, 't');
        bb_op(&pk, '(');
        for (int a = 0; a < t->ndim; a++) bb_int(&pk, t->stride[a]);
        bb_op(&pk, 't');
        bb_op(&pk, 0x89);
        bb_global(&pk, "collections", "OrderedDict");
        bb_op(&pk, ')'); bb_op(&pk, 'R');
        bb_op(&pk, 't'); bb_op(&pk, 'R');
    }
    bb_op(&pk, 'u'); bb_op(&pk, '.');
    if (pk.oom) { st = rt_errorf(RT_ENOMEM, "%s: out of memory", path); goto done; }
    if ((st = rt_zip_writer_open(&w, path))) goto done;
    wopen = 1;
    const void *pieces[1];
    size_t sizes[1];
    pieces[0] = pk.data; sizes[0] = pk.len;
    if ((st = rt_zip_writer_add(&w, "archive/data.pkl", pieces, sizes, 1))) goto done;
    for (int g = 0; g < ng; g++) {
        rt_tensor *t = ts[grp_first[g]];
        size_t es = rt_dtype_size(t->dtype);
        char ename[64];
        snprintf(ename, sizeof ename, "archive/data/%d", g);
        pieces[0] = (const uint8_t *)t->storage->data + (size_t)glo[g] * es;
        sizes[0] = (size_t)(ghi[g] - glo[g]) * es;
        if ((st = rt_zip_writer_add(&w, ename, pieces, sizes, 1))) goto done;
    }
    pieces[0] = "3\n"; sizes[0] = 2;
    if ((st = rt_zip_writer_add(&w, "archive/version", pieces, sizes, 1))) goto done;
    wopen = 0;
    st = rt_zip_writer_close(&w);
done:
    if (wopen) rt_zip_writer_abort(&w);
    if (ts) for (int i = 0; i < n; i++) rt_release(ts[i]);
    free(ts); free(r); free(grp_of); free(grp_first); free(glo); free(ghi); rt_buf_free(&pk);
    return st;
}
