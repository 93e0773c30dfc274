/* l_io.c — Lua bindings for src/io: rt.load / rt.save (safetensors, and any
 * weight file rt_io_load recognises) and the rt.io table (TF checkpoints,
 * TFRecords, pytorch_model.bin). */
#include "lrt.h"
#include "../io/weights.h"
#include "../io/safetensors.h"

#include <stdlib.h>
#include <string.h>

/* Push {name = tensor} and {key = value} for d; frees d. */
static void push_dict(lua_State *L, rt_tensor_dict *d) {
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
    rt_tensor_dict *d = dict_from_lua(L, 2, 3);
    rt_status st = rt_safetensors_save(path, d);
    rt_tdict_free(d);
    if (st) rtl_error(L);
    return 0;
}

static const rtl_reg rt_funcs[] = {
    {"load", l_load,
     "rt.load(path) -> {name = tensor}, metadata\n"
     "  Reads a safetensors file (memory-mapped, zero copy), a pytorch_model.bin\n"
     "  (zip + pickle subset, nothing executed) or a TF checkpoint (.index prefix,\n"
     "  names kept as in TF). The second result holds the file's metadata strings."},
    {"save", l_save,
     "rt.save(path, {name = tensor}, [metadata]) -- writes a safetensors file\n"
     "  atomically (temp file + fsync + rename); metadata values become strings."},
    {NULL, NULL, NULL},
};

static const rtl_reg io_funcs[] = {
    {NULL, NULL, NULL},
};

void rtl_open_io(lua_State *L, int rt) {
    rtl_register(L, rt, "rt", rt_funcs);
    lua_newtable(L);
    rtl_register(L, lua_gettop(L), "rt.io", io_funcs);
    lua_setfield(L, rt, "io");
}
