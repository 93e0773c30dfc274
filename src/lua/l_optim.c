/* l_optim.c — Lua bindings: placeholder until the module lands. */
#include "lrt.h"

void rtl_open_optim(lua_State *L, int rt) { (void)L; (void)rt; }
