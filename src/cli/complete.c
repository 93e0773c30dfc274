/* complete.c — tab-completion candidates for the REPL. Pure lookup over the Lua
 * state with raw access only (lua_rawget, lua_next, lua_getmetatable): it never
 * calls metamethods or user code, so completing `obj:` on anything is safe. The one
 * exception is the library's own lazy modules: `rt.trainer.<TAB>` loads
 * lua/retort/trainer.lua (what the first use of rt.trainer would do). Objects whose
 * __index is a C function show the metatable's __methods table and __fields list. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static const char *const KEYWORDS[] = {
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if",
    "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while", NULL};

typedef struct { char **v; size_t n, cap; } strvec;

static void vec_push(strvec *s, const char *prefix, char sep, const char *name) {
    if (s->n + 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        char **v = realloc(s->v, cap * sizeof *v);
        if (!v) return;
        s->v = v; s->cap = cap;
    }
    size_t pl = prefix ? strlen(prefix) : 0, nl = strlen(name);
    char *w = malloc(pl + nl + 2);
    if (!w) return;
    if (pl) memcpy(w, prefix, pl);
    if (sep) w[pl++] = sep;
    memcpy(w + pl, name, nl + 1);
    s->v[s->n++] = w;
}

static bool is_ident(const char *s, size_t n) {
    if (n == 0 || !(s[0] == '_' || ((s[0] | 32) >= 'a' && (s[0] | 32) <= 'z'))) return false;
    for (size_t i = 1; i < n; i++) {
        char c = s[i];
        if (!(c == '_' || (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z'))) return false;
    }
    return true;
}

/* Push where the value's methods live, reading only (never calling):
 * the metatable's __index when it is a table; when __index is a C function, its
 * first table upvalue (bindings keep the method table there); for other functions
 * the metatable itself. Returns 1 if something was pushed. */
static int push_index_table(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    if (!lua_getmetatable(L, idx)) return 0;
    lua_pushliteral(L, "__index");
    lua_rawget(L, -2);
    if (lua_type(L, -1) == LUA_TTABLE) { lua_remove(L, -2); return 1; }
    if (lua_iscfunction(L, -1)) {
        for (int i = 1; lua_getupvalue(L, -1, i); i++) {
            if (lua_type(L, -1) == LUA_TTABLE) { lua_remove(L, -2); lua_remove(L, -2); return 1; }
            lua_pop(L, 1);
        }
        lua_pushliteral(L, "__methods");          /* models: methods in metatable.__methods */
        lua_rawget(L, -3);
        if (lua_type(L, -1) == LUA_TTABLE) { lua_remove(L, -2); lua_remove(L, -2); return 1; }
        lua_pop(L, 1);
    }
    bool fn = lua_type(L, -1) == LUA_TFUNCTION;
    lua_pop(L, 1);
    if (fn && !lua_rawequal(L, -1, idx)) return 1;   /* the metatable */
    lua_pop(L, 1);
    return 0;
}

/* Raw field lookup of `key` in the value at idx, following __index tables.
 * Pushes the value (nil when absent). */
static void raw_lookup(lua_State *L, int idx, const char *key, size_t klen) {
    lua_pushvalue(L, idx);
    for (int depth = 0; depth < 16; depth++) {
        if (lua_type(L, -1) == LUA_TTABLE) {
            lua_pushlstring(L, key, klen);
            lua_rawget(L, -2);
            if (!lua_isnil(L, -1)) { lua_remove(L, -2); return; }
            lua_pop(L, 1);
        }
        if (!push_index_table(L, -1)) break;
        lua_remove(L, -2);
    }
    lua_pop(L, 1);
    lua_pushnil(L);
}

/* Collect string keys of the value at idx (and its __index chain) starting with
 * `part`; methods_only keeps function values. */
static void collect(lua_State *L, int idx, const char *part, bool methods_only,
                    const char *prefix, char sep, strvec *out) {
    size_t pl = strlen(part);
    /* fields a C __index computes (m.config): the metatable's __fields name list */
    if (!methods_only && lua_type(L, idx) == LUA_TUSERDATA && lua_getmetatable(L, idx)) {
        lua_pushliteral(L, "__fields");
        lua_rawget(L, -2);
        if (lua_type(L, -1) == LUA_TTABLE) {
            for (lua_Integer i = 1; lua_rawgeti(L, -1, i) == LUA_TSTRING; i++) {
                size_t kl;
                const char *k = lua_tolstring(L, -1, &kl);
                if (kl >= pl && memcmp(k, part, pl) == 0) vec_push(out, prefix, sep, k);
                lua_pop(L, 1);
            }
            lua_pop(L, 1);
        }
        lua_pop(L, 2);
    }
    lua_pushvalue(L, idx);
    for (int depth = 0; depth < 16; depth++) {
        if (lua_type(L, -1) == LUA_TTABLE) {
            lua_pushnil(L);
            while (lua_next(L, -2)) {
                size_t kl;
                if (lua_type(L, -2) == LUA_TSTRING) {
                    const char *k = lua_tolstring(L, -2, &kl);
                    bool fn = lua_type(L, -1) == LUA_TFUNCTION;
                    if (kl >= pl && memcmp(k, part, pl) == 0 && is_ident(k, kl) &&
                        (!methods_only || fn) && strncmp(k, "__", 2) != 0)
                        vec_push(out, prefix, sep, k);
                }
                lua_pop(L, 1);
            }
        }
        if (!push_index_table(L, -1)) break;
        lua_remove(L, -2);
    }
    lua_pop(L, 1);
}

/* For the rt table: the lazy-loaded modules lua/retort/<name>.lua too. */
static void collect_lazy_modules(lua_State *L, int idx, const char *part, const char *prefix, strvec *out) {
    lua_getglobal(L, "package");
    if (lua_type(L, -1) != LUA_TTABLE) { lua_pop(L, 1); return; }
    lua_pushliteral(L, "loaded");
    lua_rawget(L, -2);
    lua_pushliteral(L, "retort");
    if (lua_type(L, -2) == LUA_TTABLE) lua_rawget(L, -2); else lua_pushnil(L);
    bool is_rt = lua_rawequal(L, -1, idx);
    lua_pop(L, 3);
    if (!is_rt) return;
    lua_getfield(L, LUA_REGISTRYINDEX, "rt.lua_dir");
    const char *dir = lua_tostring(L, -1);
    if (dir) {
        char path[4096];
        snprintf(path, sizeof path, "%s/retort", dir);
        DIR *d = opendir(path);
        struct dirent *e;
        size_t pl = strlen(part);
        while (d && (e = readdir(d))) {
            size_t n = strlen(e->d_name);
            if (n < 5 || strcmp(e->d_name + n - 4, ".lua") != 0) continue;
            char name[256];
            if (n - 4 >= sizeof name) continue;
            memcpy(name, e->d_name, n - 4);
            name[n - 4] = 0;
            if (strcmp(name, "init") == 0 || strncmp(name, part, pl) != 0) continue;
            vec_push(out, prefix, '.', name);
        }
        if (d) closedir(d);
    }
    lua_pop(L, 1);
}

/* Whether the value at idx is the `rt` library table (package.loaded.retort). */
static bool is_rt_table(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    lua_getglobal(L, "package");
    if (lua_type(L, -1) != LUA_TTABLE) { lua_pop(L, 1); return false; }
    lua_pushliteral(L, "loaded");
    lua_rawget(L, -2);
    lua_pushliteral(L, "retort");
    if (lua_type(L, -2) == LUA_TTABLE) lua_rawget(L, -2); else lua_pushnil(L);
    bool r = lua_rawequal(L, -1, idx);
    lua_pop(L, 3);
    return r;
}

/* rt.<name> not loaded yet: require "retort.<name>" when lua/retort/<name>.lua
 * exists (errors swallowed). Replaces the nil on top of the stack with the module. */
static void load_lazy_module(lua_State *L, const char *name, size_t len) {
    if (len == 0 || len > 200) return;
    lua_getfield(L, LUA_REGISTRYINDEX, "rt.lua_dir");
    const char *dir = lua_tostring(L, -1);
    char path[4096];
    bool exists = false;
    if (dir) {
        snprintf(path, sizeof path, "%s/retort/%.*s.lua", dir, (int)len, name);
        FILE *f = fopen(path, "rb");
        if (f) { exists = true; fclose(f); }
    }
    lua_pop(L, 1);
    if (!exists) return;
    lua_getglobal(L, "require");
    lua_pushfstring(L, "retort.%s", lua_pushlstring(L, name, len));
    lua_remove(L, -2);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) { lua_pop(L, 1); return; }
    lua_remove(L, -2);                            /* the nil */
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **cli_complete(lua_State *L, const char *text) {
    int top = lua_gettop(L);
    strvec out = {0};
    const char *sep = NULL;
    for (const char *p = text; *p; p++) if (*p == '.' || *p == ':') sep = p;
    if (!sep) {
        size_t tl = strlen(text);
        for (int i = 0; KEYWORDS[i]; i++)
            if (strncmp(KEYWORDS[i], text, tl) == 0) vec_push(&out, NULL, 0, KEYWORDS[i]);
        lua_pushglobaltable(L);
        collect(L, -1, text, false, NULL, 0, &out);
    } else {
        /* Resolve the path before the last separator, segment by segment. */
        lua_pushglobaltable(L);
        const char *p = text;
        bool ok = true;
        while (ok && p < sep) {
            const char *q = p;
            while (q < sep && *q != '.' && *q != ':') q++;
            if (!is_ident(p, (size_t)(q - p))) { ok = false; break; }
            raw_lookup(L, -1, p, (size_t)(q - p));
            if (lua_isnil(L, -1) && is_rt_table(L, -2)) load_lazy_module(L, p, (size_t)(q - p));
            lua_remove(L, -2);
            int t = lua_type(L, -1);
            if (t != LUA_TTABLE && t != LUA_TUSERDATA && t != LUA_TSTRING) ok = false;
            p = q < sep ? q + 1 : q;
            if (q < sep && *q == ':') ok = false;   /* a:b.c is not a path */
        }
        if (ok) {
            char *prefix = strndup(text, (size_t)(sep - text));
            if (prefix) {
                collect(L, -1, sep + 1, *sep == ':', prefix, *sep, &out);
                if (*sep == '.') collect_lazy_modules(L, lua_gettop(L), sep + 1, prefix, &out);
                free(prefix);
            }
        }
    }
    lua_settop(L, top);
    if (out.n == 0) { free(out.v); return NULL; }
    qsort(out.v, out.n, sizeof *out.v, cmp_str);
    size_t w = 0;
    for (size_t i = 0; i < out.n; i++) {
        if (w > 0 && strcmp(out.v[w - 1], out.v[i]) == 0) free(out.v[i]);
        else out.v[w++] = out.v[i];
    }
    out.v[w] = NULL;
    return out.v;
}

void cli_free_candidates(char **c) {
    if (!c) return;
    for (char **p = c; *p; p++) free(*p);
    free(c);
}
