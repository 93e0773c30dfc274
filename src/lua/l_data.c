/* l_data.c — Lua bindings: placeholder until the module lands. */
#include "lrt.h"

void rtl_open_data(lua_State *L, int rt) { (void)L; (void)rt; }
