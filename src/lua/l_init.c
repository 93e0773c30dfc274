/* l_init.c — builds the `rt` table from every binding module. */
#include "lrt.h"

int rtl_open_retort(lua_State *L) {
    lua_newtable(L);
    int rt = lua_gettop(L);
    rtl_open_help(L, rt);      /* first: the doc registry others write to */
    rtl_open_core(L, rt);
    rtl_open_sys(L, rt);
    rtl_open_tensor(L, rt);
    rtl_open_tensor_methods(L, rt);
    rtl_open_gradcheck(L, rt);
    rtl_open_nn(L, rt);
    rtl_open_io(L, rt);
    rtl_open_model(L, rt);
    rtl_open_distill(L, rt);
    rtl_open_text(L, rt);
    rtl_open_data(L, rt);
    rtl_open_pregen(L, rt);
    rtl_open_optim(L, rt);
    rtl_open_augment(L, rt);
    rtl_open_lowp(L, rt);
    rtl_open_dist(L, rt);
    return 1;
}

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int preload_core(lua_State *L) { return rtl_open_retort(L); }

static int dir_has_retort(const char *dir) {
    char p[PATH_MAX + 32];
    snprintf(p, sizeof p, "%s/retort/init.lua", dir);
    return access(p, R_OK) == 0;
}

/* Find lua/: $RETORT_LUA_DIR, <exe>/../lua (build tree), <exe>/../share/retort/lua (install). */
static int find_lua_dir(char *out, size_t n) {
    const char *env = getenv("RETORT_LUA_DIR");
    if (env && dir_has_retort(env)) { snprintf(out, n, "%s", env); return 1; }
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) return 0;
    exe[len] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash) return 0;
    *slash = 0;
    const char *rel[] = {"/../lua", "/../share/retort/lua", "/../../lua"};
    for (size_t i = 0; i < sizeof rel / sizeof *rel; i++) {
        char cand[PATH_MAX], real[PATH_MAX];
        snprintf(cand, sizeof cand, "%s%s", exe, rel[i]);
        if (realpath(cand, real) && dir_has_retort(real)) { snprintf(out, n, "%s", real); return 1; }
    }
    return 0;
}

void rtl_install(lua_State *L, const char *lua_dir) {
    char dir[PATH_MAX] = "";
    if (lua_dir) snprintf(dir, sizeof dir, "%s", lua_dir);
    else find_lua_dir(dir, sizeof dir);
    lua_getglobal(L, "package");
    if (dir[0]) {
        lua_getfield(L, -1, "path");
        lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s", dir, dir, lua_tostring(L, -1));
        lua_setfield(L, -3, "path");
        lua_pop(L, 1);
        lua_pushstring(L, dir);
        lua_setfield(L, LUA_REGISTRYINDEX, "rt.lua_dir");
    }
    lua_getfield(L, -1, "preload");
    lua_pushcfunction(L, preload_core);
    lua_setfield(L, -2, "retort.core");
    lua_pop(L, 2);
}
