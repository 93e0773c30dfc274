/* l_io.c — Lua bindings for src/io: rt.load / rt.save (safetensors, and any
 * weight file rt_io_load recognises) and the rt.io table (TF checkpoints,
 * TFRecords, pytorch_model.bin). */
#include "lrt.h"
#include "../io/weights.h"
#include "../io/safetensors.h"
#include "../io/tfrecord.h"
#include "../io/tfckpt_write.h"
#include "../io/torchbin.h"
#include "../io/tfckpt.h"
#include "../io/tfnames.h"
#include "../io/pregen.h"
#include "../io/ioutil.h"

#include <stdlib.h>
#include <string.h>

/* Push {name = tensor} and {key = value} for d; frees d. */
static void push_dict(lua_State *L, rt_tensor_dict *d) {
    /* Tell the GC about the file's bytes once (tensors share the file's storage, so
     * rtl_push_tensor does not count them): 40 loads of a big file get collected. */
    double bytes = 0;
    for (int i = 0; i < d->n; i++)
        bytes += (double)d->items[i].t->storage->nbytes / (d->items[i].t->storage->refcount > 0 ? d->items[i].t->storage->refcount : 1);
    lua_createtable(L, 0, d->n);
    for (int i = 0; i < d->n; i++) {
        rt_tensor *t = d->items[i].t;
        d->items[i].t = NULL;             /* the userdata takes this reference */
        rtl_push_tensor(L, t);
        lua_setfield(L, -2, d->items[i].name);
    }
    lua_createtable(L, 0, d->nmeta);
    for (int i = 0; i < d->nmeta; i++) {
        lua_pushstring(L, d->meta[i].value);
        lua_setfield(L, -2, d->meta[i].key);
    }
    rt_tdict_free(d);
    if (bytes >= 1024) rtl_gc_account(L, (size_t)bytes);
}

static int l_load(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    rt_tensor_dict *d = rt_io_load(path);
    RTL_CHECK(L, d);
    push_dict(L, d);
    return 2;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* A tensor dict from a Lua table {name = tensor} at idx (sorted by name) and an
 * optional metadata table at midx (0: none). */
static rt_tensor_dict *dict_from_lua(lua_State *L, int idx, int midx) {
    luaL_checktype(L, idx, LUA_TTABLE);
    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "rt.save: tensor names must be strings");
        if (!rtl_test_tensor(L, -1)) luaL_error(L, "rt.save: '%s' is not a tensor", lua_tostring(L, -2));
        n++;
        lua_pop(L, 1);
    }
    const char **names = lua_newuserdatauv(L, sizeof(char *) * (size_t)(n ? n : 1), 0);  /* GC'd scratch */
    int k = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) { names[k++] = lua_tostring(L, -2); lua_pop(L, 1); }
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    rt_tensor_dict *d = rt_tdict_new();
    RTL_CHECK(L, d);
    for (int i = 0; i < n; i++) {
        lua_getfield(L, idx, names[i]);
        if (rt_tdict_add(d, names[i], rtl_check_tensor(L, -1))) { rt_tdict_free(d); rtl_error(L); }
        lua_pop(L, 1);
    }
    if (midx && !lua_isnoneornil(L, midx)) {
        if (!lua_istable(L, midx)) { rt_tdict_free(d); luaL_error(L, "rt.save: metadata must be a table of strings"); }
        lua_pushnil(L);
        while (lua_next(L, midx)) {
            const char *key = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
            const char *val = luaL_tolstring(L, -1, NULL);
            if (!key) { rt_tdict_free(d); luaL_error(L, "rt.save: metadata keys must be strings"); }
            rt_tdict_set_meta(d, key, val);
            lua_pop(L, 2);
        }
    }
    lua_pop(L, 1);   /* names scratch */
    return d;
}

static int l_save(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    lua_settop(L, 3);
    rt_tensor_dict *d = dict_from_lua(L, 2, 3);
    rt_status st = rt_safetensors_save(path, d);
    rt_tdict_free(d);
    if (st) rtl_error(L);
    return 0;
}

static const rtl_reg rt_funcs[] = {
    {"load", l_load,
     "rt.load(path) -> {name = tensor}, metadata\n"
     "  Reads a safetensors file, a pytorch_model.bin (zip + pickle subset, nothing\n"
     "  executed) or a TF checkpoint (.index prefix, names kept as in TF). The second\n"
     "  result holds the file's metadata strings. The file is read into memory (one\n"
     "  copy that aligned tensors view): changing, truncating or deleting the file\n"
     "  afterwards does not affect the tensors, and they can be changed in place."},
    {"save", l_save,
     "rt.save(path, {name = tensor}, [metadata]) -- writes a safetensors file\n"
     "  atomically (temp file + fsync + rename); metadata values become strings."},
    {NULL, NULL, NULL},
};

/* ---- pytorch_model.bin ---- */
static int l_load_bin(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    rt_tensor_dict *d = rt_torchbin_load(path);
    RTL_CHECK(L, d);
    push_dict(L, d);
    return 2;
}

static int l_save_bin(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    rt_tensor_dict *d = dict_from_lua(L, 2, 0);
    rt_status st = rt_torchbin_save(path, d);
    rt_tdict_free(d);
    if (st) rtl_error(L);
    return 0;
}

/* ---- TFRecord ---- */
#define TFR_MT "rt.io.TFRecordReader"
typedef struct { rt_tfrecord_reader *r; int raw; } tfr_ud;

static int tfr_gc(lua_State *L) {
    tfr_ud *u = luaL_checkudata(L, 1, TFR_MT);
    rt_tfrecord_close(u->r);
    u->r = NULL;
    return 0;
}

static void push_example(lua_State *L, const rt_example *ex) {
    lua_createtable(L, 0, ex->n);
    for (int i = 0; i < ex->n; i++) {
        const rt_feature *f = &ex->f[i];
        int64_t n = f->n;
        if (f->kind == RT_FEAT_BYTES) {
            lua_createtable(L, (int)n, 0);
            for (int64_t k = 0; k < n; k++) {
                lua_pushlstring(L, (const char *)f->bytes[k], f->blen[k]);
                lua_rawseti(L, -2, k + 1);
            }
        } else {
            rt_tensor *t = rt_tensor_empty(f->kind == RT_FEAT_FLOAT ? RT_F32 : RT_I64, 1, &n);
            RTL_CHECK(L, t);
            if (n) memcpy(rt_data(t), f->kind == RT_FEAT_FLOAT ? (void *)f->f32 : (void *)f->i64, rt_nbytes(t));
            rtl_push_tensor(L, t);
        }
        lua_setfield(L, -2, f->name);
    }
}

static int tfr_next(lua_State *L) {
    tfr_ud *u = luaL_checkudata(L, lua_upvalueindex(1), TFR_MT);
    if (!u->r) return 0;
    const uint8_t *data;
    size_t len;
    int rc = rt_tfrecord_next(u->r, &data, &len);
    if (rc < 0) rtl_error(L);
    if (rc == 0) { rt_tfrecord_close(u->r); u->r = NULL; return 0; }
    if (u->raw) { lua_pushlstring(L, (const char *)data, len); return 1; }
    rt_example ex;
    if (rt_example_parse(data, len, &ex, "")) {
        lua_pushfstring(L, "%s: record %d: %s", lua_tostring(L, lua_upvalueindex(2)),
                        (int)rt_tfrecord_index(u->r) - 1, rt_last_error() + 2);
        return lua_error(L);
    }
    push_example(L, &ex);
    rt_example_free(&ex);
    return 1;
}

static int l_tfrecord(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    int raw = 0;
    if (lua_istable(L, 2)) { lua_getfield(L, 2, "raw"); raw = lua_toboolean(L, -1); lua_pop(L, 1); }
    tfr_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->r = NULL;
    u->raw = raw;
    if (luaL_newmetatable(L, TFR_MT)) { lua_pushcfunction(L, tfr_gc); lua_setfield(L, -2, "__gc"); }
    lua_setmetatable(L, -2);
    u->r = rt_tfrecord_open(path);
    RTL_CHECK(L, u->r);
    lua_pushvalue(L, 1);
    lua_pushcclosure(L, tfr_next, 2);
    return 1;
}

/* Fill ex from a Lua table {name = tensor | string | {strings} | {numbers}} at idx. */
static void example_from_lua(lua_State *L, int idx, rt_example *ex, int rec) {
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) != LUA_TSTRING) luaL_error(L, "rt.io.write_tfrecord: record %d: feature names must be strings", rec);
        const char *name = lua_tostring(L, -2);
        rt_tensor *t = rtl_test_tensor(L, -1);
        rt_status st = RT_OK;
        if (t) {
            int fl = t->dtype == RT_F32 || t->dtype == RT_BF16;
            rt_tensor *c = rt_tensor_convert(t, fl ? RT_F32 : RT_I64);
            RTL_CHECK(L, c);
            st = fl ? rt_example_add_float(ex, name, rt_f32(c), rt_numel(c))
                    : rt_example_add_int64(ex, name, (int64_t *)rt_data(c), rt_numel(c));
            rt_release(c);
        } else if (lua_type(L, -1) == LUA_TSTRING) {
            size_t n;
            const uint8_t *s = (const uint8_t *)lua_tolstring(L, -1, &n);
            st = rt_example_add_bytes(ex, name, &s, &n, 1);
        } else if (lua_istable(L, -1)) {
            lua_Integer n = luaL_len(L, -1);
            int strings = n > 0 && (lua_rawgeti(L, -1, 1), lua_type(L, -1) == LUA_TSTRING);
            if (n > 0) lua_pop(L, 1);
            int ints = 1;
            for (lua_Integer k = 1; k <= n && !strings; k++) {
                lua_rawgeti(L, -1, k);
                if (!lua_isinteger(L, -1)) {
                    if (!lua_isnumber(L, -1)) luaL_error(L, "rt.io.write_tfrecord: record %d: feature '%s' mixes types", rec, name);
                    ints = 0;
                }
                lua_pop(L, 1);
            }
            if (strings) {
                const uint8_t **sv = lua_newuserdatauv(L, sizeof(char *) * (size_t)n, 0);
                size_t *lv = lua_newuserdatauv(L, sizeof(size_t) * (size_t)n, 0);
                for (lua_Integer k = 1; k <= n; k++) {
                    lua_rawgeti(L, -3, k);
                    if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "rt.io.write_tfrecord: record %d: feature '%s' mixes types", rec, name);
                    sv[k - 1] = (const uint8_t *)lua_tolstring(L, -1, &lv[k - 1]);
                    lua_pop(L, 1);   /* the string stays alive in the table */
                }
                st = rt_example_add_bytes(ex, name, sv, lv, n);
                lua_pop(L, 2);
            } else if (ints) {
                int64_t *v = lua_newuserdatauv(L, sizeof(int64_t) * (size_t)(n ? n : 1), 0);
                for (lua_Integer k = 1; k <= n; k++) { lua_rawgeti(L, -2, k); v[k - 1] = lua_tointeger(L, -1); lua_pop(L, 1); }
                st = rt_example_add_int64(ex, name, v, n);
                lua_pop(L, 1);
            } else {
                float *v = lua_newuserdatauv(L, sizeof(float) * (size_t)n, 0);
                for (lua_Integer k = 1; k <= n; k++) { lua_rawgeti(L, -2, k); v[k - 1] = (float)lua_tonumber(L, -1); lua_pop(L, 1); }
                st = rt_example_add_float(ex, name, v, n);
                lua_pop(L, 1);
            }
        } else {
            luaL_error(L, "rt.io.write_tfrecord: record %d: feature '%s' must be a tensor, a string or a list", rec, name);
        }
        if (st) rtl_error(L);
        lua_pop(L, 1);
    }
}

#define TFW_MT "rt.io.TFRecordWriter"
typedef struct { rt_tfrecord_writer *w; rt_example ex; } tfw_ud;

static int tfw_gc(lua_State *L) {
    tfw_ud *u = luaL_checkudata(L, 1, TFW_MT);
    rt_example_free(&u->ex);
    if (u->w) rt_tfrecord_writer_abort(u->w);   /* never closed: discard the temp file */
    u->w = NULL;
    return 0;
}

static int l_write_tfrecord(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    tfw_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
    memset(u, 0, sizeof *u);
    if (luaL_newmetatable(L, TFW_MT)) { lua_pushcfunction(L, tfw_gc); lua_setfield(L, -2, "__gc"); }
    lua_setmetatable(L, -2);
    int ud = lua_gettop(L);
    u->w = rt_tfrecord_writer_open(path);
    RTL_CHECK(L, u->w);
    lua_Integer n = luaL_len(L, 2);
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, 2, i);
        if (lua_type(L, -1) == LUA_TSTRING) {          /* a raw payload (e.g. from rt.io.tfrecord(p, {raw=true})) */
            size_t len;
            const char *raw = lua_tolstring(L, -1, &len);
            if (rt_tfrecord_write(u->w, raw, len)) rtl_error(L);
            lua_pop(L, 1);
            continue;
        }
        if (!lua_istable(L, -1)) luaL_error(L, "rt.io.write_tfrecord: record %d is not a table or a string", (int)i);
        rt_example_free(&u->ex);
        example_from_lua(L, lua_gettop(L), &u->ex, (int)i);
        uint8_t *buf;
        size_t len;
        if (rt_example_encode(&u->ex, &buf, &len)) rtl_error(L);
        rt_status st = rt_tfrecord_write(u->w, buf, len);
        free(buf);
        if (st) rtl_error(L);
        lua_pop(L, 1);
    }
    rt_example_free(&u->ex);
    rt_tfrecord_writer *w = u->w;
    u->w = NULL;
    if (rt_tfrecord_writer_close(w)) rtl_error(L);
    lua_settop(L, ud - 1);
    lua_pushinteger(L, n);
    return 1;
}

/* ---- TF checkpoints ---- */
/* rt.io.save_tf_checkpoint(prefix, {name = tensor}, {global_step=, tf_names=false}) */
static int l_save_tf_checkpoint(lua_State *L) {
    const char *prefix = luaL_checkstring(L, 1);
    int64_t gs = -1;
    int raw = 0;
    if (lua_istable(L, 3)) {
        lua_getfield(L, 3, "global_step"); if (!lua_isnil(L, -1)) gs = luaL_checkinteger(L, -1); lua_pop(L, 1);
        lua_getfield(L, 3, "tf_names"); raw = lua_toboolean(L, -1); lua_pop(L, 1);
    }
    rt_tensor_dict *d = dict_from_lua(L, 2, 0);
    rt_status st = rt_tfckpt_save(prefix, d, !raw, gs);
    rt_tdict_free(d);
    if (st) rtl_error(L);
    return 0;
}

static int l_tf_checkpoint(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    int raw = 0;
    if (lua_istable(L, 2)) { lua_getfield(L, 2, "tf_names"); raw = lua_toboolean(L, -1); lua_pop(L, 1); }
    rt_tensor_dict *d = rt_tfckpt_load(path, !raw);
    RTL_CHECK(L, d);
    const char *sk = rt_tdict_get_meta(d, "skipped");
    lua_newtable(L);                                   /* skipped names as a list */
    int n = 0;
    for (const char *p = sk; p && *p;) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        lua_pushlstring(L, p, len);
        lua_rawseti(L, -2, ++n);
        p = c ? c + 1 : p + len;
    }
    int skipped = lua_gettop(L);
    push_dict(L, d);
    lua_pop(L, 1);                                     /* metadata table */
    lua_pushvalue(L, skipped);
    lua_remove(L, skipped);
    return 2;
}

static int l_tf_list(lua_State *L) {
    rt_tf_ckpt *c = rt_tfckpt_open(luaL_checkstring(L, 1));
    RTL_CHECK(L, c);
    lua_createtable(L, c->n, 0);
    for (int i = 0; i < c->n; i++) {
        const rt_tf_var *v = &c->v[i];
        lua_createtable(L, 0, 4);
        lua_pushstring(L, v->name); lua_setfield(L, -2, "name");
        lua_pushstring(L, v->dtype_name); lua_setfield(L, -2, "dtype");
        lua_createtable(L, v->ndim, 0);
        for (int k = 0; k < v->ndim; k++) { lua_pushinteger(L, v->shape[k]); lua_rawseti(L, -2, k + 1); }
        lua_setfield(L, -2, "shape");
        char pt[1024];
        int tr = 0;
        if (rt_tf_to_torch_name(v->name, pt, sizeof pt, &tr) == 1) {
            lua_pushstring(L, pt); lua_setfield(L, -2, "torch_name");
            lua_pushboolean(L, tr); lua_setfield(L, -2, "transpose");
        }
        lua_rawseti(L, -2, i + 1);
    }
    rt_tfckpt_free(c);
    return 1;
}

static int l_tf_to_torch_name(lua_State *L) {
    char out[1024];
    int tr = 0, rc = rt_tf_to_torch_name(luaL_checkstring(L, 1), out, sizeof out, &tr);
    if (rc < 0) return luaL_error(L, "rt.io.tf_to_torch_name: name too long");
    if (rc == 0) { lua_pushnil(L); return 1; }
    lua_pushstring(L, out);
    lua_pushboolean(L, tr);
    return 2;
}

/* ---- TinyBERT pregenerated JSON ---- */
#define PG_MT "rt.io.PregenReader"
typedef struct { rt_pregen_reader *r; } pg_ud;

static int pg_gc(lua_State *L) {
    pg_ud *u = luaL_checkudata(L, 1, PG_MT);
    rt_pregen_close(u->r);
    u->r = NULL;
    return 0;
}

static void push_i64(lua_State *L, const int64_t *v, int n) {
    int64_t len = n;
    rt_tensor *t = rt_tensor_empty(RT_I64, 1, &len);
    RTL_CHECK(L, t);
    if (n) memcpy(rt_data(t), v, (size_t)n * sizeof *v);
    rtl_push_tensor(L, t);
}

static void push_strs(lua_State *L, char **v, int n) {
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) { lua_pushstring(L, v[i]); lua_rawseti(L, -2, i + 1); }
}

static int pg_next(lua_State *L) {
    pg_ud *u = luaL_checkudata(L, lua_upvalueindex(1), PG_MT);
    if (!u->r) return 0;
    rt_pregen_record rec;
    int rc = rt_pregen_next(u->r, &rec);
    if (rc < 0) rtl_error(L);
    if (rc == 0) { rt_pregen_close(u->r); u->r = NULL; return 0; }
    lua_createtable(L, 0, 5);
    push_strs(L, rec.tokens, rec.ntokens); lua_setfield(L, -2, "tokens");
    push_i64(L, rec.segment_ids, rec.nsegment); lua_setfield(L, -2, "segment_ids");
    lua_pushboolean(L, rec.is_random_next); lua_setfield(L, -2, "is_random_next");
    push_i64(L, rec.positions, rec.npositions); lua_setfield(L, -2, "masked_lm_positions");
    push_strs(L, rec.labels, rec.nlabels); lua_setfield(L, -2, "masked_lm_labels");
    rt_pregen_record_free(&rec);
    return 1;
}

static int l_pregenerated(lua_State *L) {
    luaL_checkstring(L, 1);
    pg_ud *u = lua_newuserdatauv(L, sizeof *u, 0);
    u->r = NULL;
    if (luaL_newmetatable(L, PG_MT)) { lua_pushcfunction(L, pg_gc); lua_setfield(L, -2, "__gc"); }
    lua_setmetatable(L, -2);
    u->r = rt_pregen_open(lua_tostring(L, 1));
    RTL_CHECK(L, u->r);
    lua_pushcclosure(L, pg_next, 1);
    return 1;
}

/* Lua list (table of numbers or tensor) at idx -> int64 array in a GC'd userdata. */
static int64_t *lua_ints(lua_State *L, int idx, int *n, const char *field, int rec) {
    rt_tensor *t = rtl_test_tensor(L, idx);
    if (t) {
        rt_tensor *c = rt_tensor_convert(t, RT_I64);
        RTL_CHECK(L, c);
        *n = (int)rt_numel(c);
        int64_t *v = lua_newuserdatauv(L, sizeof(int64_t) * (size_t)(*n ? *n : 1), 0);
        memcpy(v, rt_data(c), (size_t)*n * sizeof *v);
        rt_release(c);
        lua_replace(L, idx);   /* keep it alive in the arg slot */
        return v;
    }
    if (!lua_istable(L, idx)) luaL_error(L, "rt.io.write_pregenerated: record %d: '%s' must be a list or tensor", rec, field);
    *n = (int)luaL_len(L, idx);
    int64_t *v = lua_newuserdatauv(L, sizeof(int64_t) * (size_t)(*n ? *n : 1), 0);
    for (int i = 0; i < *n; i++) { lua_rawgeti(L, idx, i + 1); v[i] = (int64_t)luaL_checkinteger(L, -1); lua_pop(L, 1); }
    lua_replace(L, idx);
    return v;
}

static char **lua_strs(lua_State *L, int idx, int *n, const char *field, int rec) {
    if (!lua_istable(L, idx)) luaL_error(L, "rt.io.write_pregenerated: record %d: '%s' must be a list of strings", rec, field);
    *n = (int)luaL_len(L, idx);
    char **v = lua_newuserdatauv(L, sizeof(char *) * (size_t)(*n ? *n : 1), 0);
    for (int i = 0; i < *n; i++) {
        lua_rawgeti(L, idx, i + 1);
        if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "rt.io.write_pregenerated: record %d: '%s' must be a list of strings", rec, field);
        v[i] = (char *)lua_tostring(L, -1);   /* anchored by the table */
        lua_pop(L, 1);
    }
    return v;                                 /* the userdata stays on the stack until settop */
}

static int l_write_pregenerated(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 3);
    rt_atomic_file af;
    if (rt_atomic_open(&af, path)) rtl_error(L);
    lua_Integer n = luaL_len(L, 2);
    int maxlen = 0;
    for (lua_Integer i = 1; i <= n; i++) {
        int top = lua_gettop(L);
        lua_rawgeti(L, 2, i);
        int r = lua_gettop(L);
        if (!lua_istable(L, r)) { rt_atomic_abort(&af); return luaL_error(L, "rt.io.write_pregenerated: record %d is not a table", (int)i); }
        rt_pregen_record rec;
        memset(&rec, 0, sizeof rec);
        lua_getfield(L, r, "tokens");
        lua_getfield(L, r, "segment_ids");
        lua_getfield(L, r, "masked_lm_positions");
        lua_getfield(L, r, "masked_lm_labels");
        lua_getfield(L, r, "is_random_next");
        rec.is_random_next = lua_toboolean(L, -1);
        rec.tokens = lua_strs(L, r + 1, &rec.ntokens, "tokens", (int)i);
        rec.segment_ids = lua_ints(L, r + 2, &rec.nsegment, "segment_ids", (int)i);
        rec.positions = lua_ints(L, r + 3, &rec.npositions, "masked_lm_positions", (int)i);
        rec.labels = lua_strs(L, r + 4, &rec.nlabels, "masked_lm_labels", (int)i);
        if (rec.ntokens > maxlen) maxlen = rec.ntokens;
        char *line;
        if (rt_pregen_format(&rec, &line)) { rt_atomic_abort(&af); rtl_error(L); }
        rt_atomic_write(&af, line, strlen(line));
        rt_status st = rt_atomic_write(&af, "\n", 1);
        free(line);
        if (st) { rt_atomic_abort(&af); rtl_error(L); }
        lua_settop(L, top);
    }
    if (rt_atomic_commit(&af)) rtl_error(L);
    if (lua_istable(L, 3)) {                  /* {metrics = "epoch_0_metrics.json", max_seq_len = 128} */
        lua_getfield(L, 3, "metrics");
        const char *mp = lua_tostring(L, -1);
        lua_getfield(L, 3, "max_seq_len");
        lua_Integer msl = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : maxlen;
        if (mp) {
            char buf[128];
            int k = snprintf(buf, sizeof buf, "{\"num_training_examples\": %lld, \"max_seq_len\": %lld}", (long long)n, (long long)msl);
            if (rt_atomic_open(&af, mp)) rtl_error(L);
            rt_atomic_write(&af, buf, (size_t)k);
            if (rt_atomic_commit(&af)) rtl_error(L);
        }
        lua_pop(L, 2);
    }
    lua_pushinteger(L, n);
    return 1;
}

static const rtl_reg io_funcs[] = {
    {"pregenerated", l_pregenerated,
     "rt.io.pregenerated(path) -> iterator over TinyBERT pregenerated records (epoch_k.json)\n"
     "  each {tokens = {str}, segment_ids = i64, is_random_next = bool,\n"
     "        masked_lm_positions = i64, masked_lm_labels = {str}}; errors name path:line."},
    {"write_pregenerated", l_write_pregenerated,
     "rt.io.write_pregenerated(path, records, [{metrics = path, max_seq_len = n}]) -> count\n"
     "  Writes records (as rt.io.pregenerated yields them; lists or tensors) one JSON object\n"
     "  per line, atomically; optionally the epoch_k_metrics.json file."},
    {"tf_checkpoint", l_tf_checkpoint,
     "rt.io.tf_checkpoint(prefix, [{tf_names = true}]) -> {name = tensor}, skipped\n"
     "  Reads a TF1 checkpoint (prefix \"dir/model.ckpt\", its .index file, or a directory)\n"
     "  with PyTorch names (kernels transposed, gamma/beta -> weight/bias, layer_N -> layer.N,\n"
     "  output_weights -> weight...); optimizer slots, global_step and loss-scale variables\n"
     "  are skipped and listed in the second result. tf_names = true keeps TF names."},
    {"save_tf_checkpoint", l_save_tf_checkpoint,
     "rt.io.save_tf_checkpoint(prefix, {name = tensor}, {global_step=, tf_names=false})\n"
     "  Writes a TF1 checkpoint: prefix.index + prefix.data-00000-of-00001 (+ the `checkpoint`\n"
     "  file beside them). PyTorch names become NEZHA/BERT TF names (kernels transposed, the tied\n"
     "  decoder left out) unless tf_names = true; global_step adds the int64 scalar. Atomic."},
    {"tf_list", l_tf_list,
     "rt.io.tf_list(prefix) -> {{name=, dtype=, shape=, torch_name=, transpose=}, ...}\n"
     "  The variables of a TF1 checkpoint without reading their data."},
    {"tf_to_torch_name", l_tf_to_torch_name,
     "rt.io.tf_to_torch_name(tf_name) -> torch_name, transpose | nil (skipped variable)"},
    {"load_bin", l_load_bin,
     "rt.io.load_bin(path) -> {name = tensor}, extras\n"
     "  Reads a torch.save zip file (pytorch_model.bin): only the state_dict pickle subset\n"
     "  is accepted, nothing is executed; tied tensors share storage; half -> f32."},
    {"save_bin", l_save_bin,
     "rt.io.save_bin(path, {name = tensor}) -- writes a torch.save-compatible zip\n"
     "  (archive/data.pkl + archive/data/N) that torch.load reads; atomic."},
    {"tfrecord", l_tfrecord,
     "rt.io.tfrecord(path, [{raw = true}]) -> iterator over records\n"
     "  for ex in rt.io.tfrecord(\"x.tfrecord\") do ... end yields tf.train.Example\n"
     "  tables {name = tensor}: int64_list -> i64, float_list -> f32, bytes_list -> {strings}.\n"
     "  CRCs are checked; raw = true yields the record bytes as strings."},
    {"write_tfrecord", l_write_tfrecord,
     "rt.io.write_tfrecord(path, {example, ...}) -> count\n"
     "  Each example is {name = tensor | {ints} | {floats} | string | {strings}} (or a string: the\n"
     "  serialized payload, written as is); float tensors become float_list, integer ones int64_list.\n"
     "  Written atomically."},
    {NULL, NULL, NULL},
};

void rtl_open_io(lua_State *L, int rt) {
    rtl_register(L, rt, "rt", rt_funcs);
    lua_newtable(L);
    rtl_register(L, lua_gettop(L), "rt.io", io_funcs);
    lua_setfield(L, rt, "io");
}
