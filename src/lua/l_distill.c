/* l_distill.c — Lua bindings: placeholder until the module lands. */
#include "lrt.h"

void rtl_open_distill(lua_State *L, int rt) { (void)L; (void)rt; }
