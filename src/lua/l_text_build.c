/* l_text_build.c — rt.vocab (vocabulary builders) and rt.segment (Chinese word
 * segmentation) bindings. */
#include "l_text.h"

void rtl_open_text_build(lua_State *L, int rt) { (void)L; (void)rt; }
