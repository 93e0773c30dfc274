/* l_sys.c — rt.sys: the services room (core/sys.h) for Lua: whole-file reads,
 * atomic writes, mkdir -p, directory listing, lstat-safe tree removal, the
 * monotonic clock and isatty. Errors are Lua errors naming the path, except
 * listdir, which answers nil, message for a missing directory (a question, not
 * a failure). */
#include <stdlib.h>
#include "lrt.h"
#include "../core/sys.h"

/* rt.sys.read_file(path) -> the file's bytes as a string */
static int l_read_file(lua_State *L) {
    const char *p = luaL_checkstring(L, 1);
    uint8_t *buf;
    size_t n;
    if (rt_read_file(p, &buf, &n)) return rtl_error(L);
    lua_pushlstring(L, (const char *)buf, n);
    free(buf);
    return 1;
}

/* rt.sys.atomic_write(path, bytes): temp file in path's directory, fsync, rename, fsync dir */
static int l_atomic_write(lua_State *L) {
    const char *p = luaL_checkstring(L, 1);
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    if (rt_write_file_atomic(p, s, n)) return rtl_error(L);
    return 0;
}

/* rt.sys.mkdir(path): mkdir -p */
static int l_mkdir(lua_State *L) {
    if (rt_mkdir_p(luaL_checkstring(L, 1))) return rtl_error(L);
    return 0;
}

/* rt.sys.listdir(dir) -> sorted names, or nil, message */
static int l_listdir(lua_State *L) {
    const char *p = luaL_checkstring(L, 1);
    char **names;
    size_t n;
    if (rt_listdir(p, &names, &n)) {
        lua_pushnil(L);
        lua_pushstring(L, rt_last_error());
        return 2;
    }
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        lua_pushstring(L, names[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    rt_names_free(names, n);
    return 1;
}

static int l_isdir(lua_State *L) { lua_pushboolean(L, rt_path_isdir(luaL_checkstring(L, 1))); return 1; }
static int l_exists(lua_State *L) { lua_pushboolean(L, rt_path_exists(luaL_checkstring(L, 1))); return 1; }

/* rt.sys.file_size(path) -> bytes of a regular file */
static int l_file_size(lua_State *L) {
    size_t n;
    if (rt_file_size(luaL_checkstring(L, 1), &n)) return rtl_error(L);
    lua_pushinteger(L, (lua_Integer)n);
    return 1;
}

static int l_remove_tree(lua_State *L) {
    if (rt_remove_tree(luaL_checkstring(L, 1))) return rtl_error(L);
    return 0;
}

static int l_fsync(lua_State *L) {
    if (rt_fsync_path(luaL_checkstring(L, 1))) return rtl_error(L);
    return 0;
}

static int l_now(lua_State *L) { lua_pushnumber(L, rt_now()); return 1; }
static int l_isatty(lua_State *L) { lua_pushboolean(L, rt_isatty((int)luaL_optinteger(L, 1, 1))); return 1; }

static const rtl_reg sys_fns[] = {
    {"read_file", l_read_file, "rt.sys.read_file(path) -> the whole file as a string (error naming path)."},
    {"atomic_write", l_atomic_write, "rt.sys.atomic_write(path, bytes): replace path atomically (temp file in the\n"
     "  same directory, fsync, rename, fsync the directory); on failure the old file stays."},
    {"mkdir", l_mkdir, "rt.sys.mkdir(path): create a directory and its parents (mkdir -p)."},
    {"listdir", l_listdir, "rt.sys.listdir(dir) -> sorted entry names (no . and ..), or nil, message."},
    {"isdir", l_isdir, "rt.sys.isdir(path) -> whether path is a directory (follows symlinks)."},
    {"exists", l_exists, "rt.sys.exists(path) -> whether path exists (a dangling symlink exists)."},
    {"file_size", l_file_size, "rt.sys.file_size(path) -> size in bytes of a regular file."},
    {"remove_tree", l_remove_tree, "rt.sys.remove_tree(path): rm -r that never follows symlinks (a link is\n"
     "  removed, not descended into); a missing path is fine."},
    {"fsync", l_fsync, "rt.sys.fsync(path): flush a file (or directory) to disk."},
    {"now", l_now, "rt.sys.now() -> monotonic wall-clock seconds (differences only)."},
    {"isatty", l_isatty, "rt.sys.isatty(fd=1) -> whether the file descriptor is a terminal."},
    {NULL, NULL, NULL}};

/* The same C functions under rt._optim's old names, for callers not yet moved. */
static const rtl_reg optim_aliases[] = {
    {"isatty", l_isatty, "rt._optim.isatty(fd=1): deprecated, use rt.sys.isatty."},
    {"now", l_now, "rt._optim.now(): deprecated, use rt.sys.now."},
    {"fsync", l_fsync, "rt._optim.fsync(path): deprecated, use rt.sys.fsync."},
    {"mkdir", l_mkdir, "rt._optim.mkdir(path): deprecated, use rt.sys.mkdir."},
    {"listdir", l_listdir, "rt._optim.listdir(path): deprecated, use rt.sys.listdir."},
    {"isdir", l_isdir, "rt._optim.isdir(path): deprecated, use rt.sys.isdir."},
    {NULL, NULL, NULL}};

void rtl_sys_aliases(lua_State *L, int t) {
    rtl_register(L, t, "rt._optim", optim_aliases);
    /* help by value must keep describing rt.sys.<name>, not the alias */
    for (const rtl_reg *r = sys_fns; r->name; r++) {
        lua_pushcfunction(L, r->fn);
        rtl_doc(L, -1, NULL, r->doc);
        lua_pop(L, 1);
    }
}

void rtl_open_sys(lua_State *L, int rt) {
    lua_newtable(L);
    rtl_register(L, lua_gettop(L), "rt.sys", sys_fns);
    rtl_doc(L, -1, "rt.sys", "Files, directories, clock and terminal (atomic writes, mkdir -p, listdir, ...).");
    lua_setfield(L, rt, "sys");
}
