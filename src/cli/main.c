/* main.c — placeholder entry point: `retort script.lua args...` and `retort -e stmt`.
 * (The full command line and REPL live in src/cli; this stub is replaced there.) */
#include <stdio.h>
#include <string.h>
#include "../lua/lrt.h"

int main(int argc, char **argv) {
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    rtl_install(L, NULL);
    if (luaL_dostring(L, "rt = require 'retort'") != LUA_OK) {
        fprintf(stderr, "retort: %s\n", lua_tostring(L, -1));
        return 1;
    }
    int rc = 0;
    if (argc >= 3 && strcmp(argv[1], "-e") == 0) {
        rc = luaL_dostring(L, argv[2]);
    } else if (argc >= 2) {
        lua_createtable(L, argc, 1);
        for (int i = 0; i < argc; i++) { lua_pushstring(L, argv[i]); lua_rawseti(L, -2, i - 1); }
        lua_setglobal(L, "arg");
        rc = luaL_loadfile(L, argv[1]);
        if (rc == LUA_OK) {
            for (int i = 2; i < argc; i++) lua_pushstring(L, argv[i]);
            rc = lua_pcall(L, argc - 2, 0, 0);
        }
    }
    if (rc != LUA_OK) fprintf(stderr, "retort: %s\n", lua_tostring(L, -1));
    lua_close(L);
    return rc == LUA_OK ? 0 : 1;
}
