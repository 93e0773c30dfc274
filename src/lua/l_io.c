/* l_io.c — Lua bindings: placeholder until the module lands. */
#include "lrt.h"

void rtl_open_io(lua_State *L, int rt) { (void)L; (void)rt; }
