/* l_help.c — the doc registry that C and Lua modules both fill, and the error
 * bridge. Texts are stored in two registry tables: by value (weak keys:
 * functions, tables, metatables) and by qualified name ("rt.tensor"). */
#include <string.h>
#include "lrt.h"
#include "../core/status.h"

static const char *DOC_BY_VALUE = "rt.doc.by_value";
static const char *DOC_BY_NAME = "rt.doc.by_name";

static void push_registry_table(lua_State *L, const char *key, const char *mode) {
    if (lua_getfield(L, LUA_REGISTRYINDEX, key) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        if (mode) {
            lua_newtable(L);
            lua_pushstring(L, mode);
            lua_setfield(L, -2, "__mode");
            lua_setmetatable(L, -2);
        }
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, key);
    }
}

void rtl_doc_name(lua_State *L, const char *qualname, const char *text) {
    push_registry_table(L, DOC_BY_NAME, NULL);
    lua_pushstring(L, text);
    lua_setfield(L, -2, qualname);
    lua_pop(L, 1);
}

void rtl_doc(lua_State *L, int idx, const char *qualname, const char *text) {
    idx = lua_absindex(L, idx);
    if (!text) return;
    push_registry_table(L, DOC_BY_VALUE, "k");
    lua_pushvalue(L, idx);
    lua_pushstring(L, text);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    if (qualname) rtl_doc_name(L, qualname, text);
}

void rtl_register(lua_State *L, int t, const char *prefix, const rtl_reg *regs) {
    t = lua_absindex(L, t);
    char name[256];
    for (; regs->name; regs++) {
        lua_pushcfunction(L, regs->fn);
        snprintf(name, sizeof name, "%s%s%s", prefix ? prefix : "",
                 prefix && prefix[strlen(prefix) - 1] != ':' ? "." : "", regs->name);
        rtl_doc(L, -1, name, regs->doc);
        lua_setfield(L, t, regs->name);
    }
}

int rtl_error(lua_State *L) {
    const char *msg = rt_last_error();
    if (!msg || !*msg) msg = "unknown error";
    lua_pushstring(L, msg);
    rt_clear_error();
    return lua_error(L);
}

/* rt.doc(value_or_name, text): register help text from Lua (name optional).
 * rt.doc(value) / rt.doc("name"): look it up (nil when none). */
static int l_doc(lua_State *L) {
    if (lua_gettop(L) >= 2 && !lua_isnil(L, 2)) {
        const char *text = luaL_checkstring(L, 2);
        const char *name = luaL_optstring(L, 3, lua_type(L, 1) == LUA_TSTRING ? lua_tostring(L, 1) : NULL);
        if (lua_type(L, 1) == LUA_TSTRING) {
            push_registry_table(L, DOC_BY_NAME, NULL);
            lua_pushstring(L, text);
            lua_setfield(L, -2, name);
            return 0;
        }
        rtl_doc(L, 1, name, text);
        return 0;
    }
    if (lua_type(L, 1) == LUA_TSTRING) {
        push_registry_table(L, DOC_BY_NAME, NULL);
        lua_getfield(L, -1, lua_tostring(L, 1));
        return 1;
    }
    push_registry_table(L, DOC_BY_VALUE, "k");
    lua_pushvalue(L, 1);
    lua_rawget(L, -2);
    if (lua_isnil(L, -1) && lua_getmetatable(L, 1)) {   /* userdata/table: try its metatable */
        lua_rawget(L, -3);
    }
    return 1;
}

/* rt.doc_names(): table of every documented qualified name (for ?-completion). */
static int l_doc_names(lua_State *L) {
    push_registry_table(L, DOC_BY_NAME, NULL);
    lua_newtable(L);
    int i = 1;
    lua_pushnil(L);
    while (lua_next(L, -3)) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_rawseti(L, -3, i++);
    }
    return 1;
}

void rtl_open_help(lua_State *L, int rt) {
    static const rtl_reg regs[] = {
        {"doc", l_doc, "rt.doc(x, text [, name]) registers help text for x (a value or a name);\n"
                       "rt.doc(x) returns it. help(x) and ?name show it."},
        {"doc_names", l_doc_names, "rt.doc_names() -> list of every documented name."},
        {NULL, NULL, NULL}};
    rtl_register(L, rt, "rt", regs);
}
