/* l_tensor.h — internal to the tensor bindings (l_tensor*.c). */
#ifndef RT_L_TENSOR_H
#define RT_L_TENSOR_H

#include "lrt.h"

/* The name of the running C function (for error messages), "tensor" if unknown. */
const char *rtl_fname(lua_State *L);
/* Lua 1-based index (negatives from the end) for a dim of size n -> 0-based. */
int64_t rtl_check_index(lua_State *L, int arg, int64_t n, const char *what);
/* Optional dtype name at arg (nil/none -> def). */
rt_dtype rtl_opt_dtype(lua_State *L, int arg, rt_dtype def);
/* A tensor or a number at idx is accepted; returns the tensor or NULL (number). */
void rtl_tensor_tostring(lua_State *L, rt_tensor *t);
void rtl_open_tensor_methods(lua_State *L, int methods);
void rtl_open_gradcheck(lua_State *L, int rt);   /* l_gradcheck.c */

#endif
