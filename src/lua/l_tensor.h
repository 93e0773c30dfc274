/* l_tensor.h — internal to the tensor bindings (l_check.c, l_tensor*.c, l_gradcheck.c). */
#ifndef RT_L_TENSOR_H
#define RT_L_TENSOR_H

#include "lrt.h"

/* The userdata behind a Tensor (t is NULL once closed). */
typedef struct { rt_tensor *t; } rtl_tbox;

/* The name of the running C function (for error messages), "tensor" if unknown. */
const char *rtl_fname(lua_State *L);
/* Lua 1-based index (negatives from the end) for a dim of size n -> 0-based. */
int64_t rtl_check_index(lua_State *L, int arg, int64_t n, const char *what);
/* Optional dtype name at arg (nil/none -> def). */
rt_dtype rtl_opt_dtype(lua_State *L, int arg, rt_dtype def);
/* Push the printed form of t (l_tensor_print.c). */
void rtl_tensor_tostring(lua_State *L, rt_tensor *t);

#endif
