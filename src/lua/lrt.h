/* lrt.h — shared helpers for the Lua bindings (src/lua is the only place that
 * includes lua.h). Each binding file l_<module>.c defines one rtl_open_<module>
 * that adds its functions to the `rt` table at stack index `rt`. */
#ifndef RT_LRT_H
#define RT_LRT_H

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include "../core/tensor.h"

#define RTL_TENSOR_MT "rt.Tensor"

/* A registered function with its help() text. */
typedef struct { const char *name; lua_CFunction fn; const char *doc; } rtl_reg;

/* Set fields of the table at index t from regs (until name == NULL), documenting
 * each as "<prefix>.<name>" (prefix "rt", "rt.F", "Tensor:" ...). */
void rtl_register(lua_State *L, int t, const char *prefix, const rtl_reg *regs);
/* Attach help text to the value at index idx (functions, tables, userdata metatables),
 * under a qualified name so `?name` finds it too. */
void rtl_doc(lua_State *L, int idx, const char *qualname, const char *text);

/* Raise a Lua error from the current rt_last_error() message (never returns). */
int rtl_error(lua_State *L);
/* Check that a C result is non-NULL; otherwise raise the current message. */
#define RTL_CHECK(L, expr) do { if (!(expr)) rtl_error(L); } while (0)

/* --- tensors and argument checkers (implemented in l_check.c) --- */
/* Push a tensor userdata taking ownership of the reference t (t NULL: raises the error). */
void rtl_push_tensor(lua_State *L, rt_tensor *t);
/* The tensor at idx (borrowed) or a Lua error "bad argument #idx (Tensor expected, got ...)". */
rt_tensor *rtl_check_tensor(lua_State *L, int idx);
rt_tensor *rtl_test_tensor(lua_State *L, int idx);   /* NULL if not a tensor */
/* Release the reference held by the Tensor box at idx now (it reads as closed after);
 * no-op for other values. */
void rtl_close_tensor(lua_State *L, int idx);
/* A tensor from idx: a Tensor, a number or a nested table (new ref; dtype hint for tables/numbers). */
rt_tensor *rtl_to_tensor(lua_State *L, int idx, rt_dtype hint);
/* Convert a Lua dim (1-based, negative from end) for a tensor of ndim dims to 0-based
 * (raises "dim 4 out of range for a 3-d tensor"). allow_end: accept ndim+1 (unsqueeze). */
int rtl_check_dim(lua_State *L, int arg, int ndim, int allow_end);
/* Read a shape given as varargs (2, 3) or a table {2, 3} starting at arg. Returns ndim. */
int rtl_check_shape(lua_State *L, int arg, int64_t *shape);
/* Tell Lua's GC about nbytes of tensor memory (lua_gc step proportional to bytes). */
void rtl_gc_account(lua_State *L, size_t nbytes);

/* Module openers (each in its own l_*.c). */
void rtl_open_core(lua_State *L, int rt);      /* memory, manual_seed, set_threads, version */
void rtl_open_tensor(lua_State *L, int rt);    /* rt.Tensor metatable, creation */
void rtl_open_tensor_methods(lua_State *L, int rt); /* the methods of rt.Tensor (after rtl_open_tensor) */
void rtl_open_gradcheck(lua_State *L, int rt); /* rt.gradcheck */
void rtl_open_nn(lua_State *L, int rt);        /* rt.F */
void rtl_open_io(lua_State *L, int rt);        /* rt.load, rt.save, rt.io */
void rtl_open_model(lua_State *L, int rt);     /* rt.model */
void rtl_open_distill(lua_State *L, int rt);   /* rt.distill */
void rtl_open_text(lua_State *L, int rt);      /* rt.tokenizer, rt.vocab, rt.segment */
void rtl_open_data(lua_State *L, int rt);      /* rt.data */
void rtl_open_pregen(lua_State *L, int rt);    /* rt._data.pregen_corpus etc. (after rtl_open_data) */
void rtl_open_pretrain(lua_State *L, int t);  /* rt._data.create_pretraining (into the table at t) */
void rtl_open_optim(lua_State *L, int rt);     /* rt._optim kernels */
void rtl_open_sys(lua_State *L, int rt);       /* rt.sys: files, directories, clock */
/* Add the deprecated rt._optim aliases of rt.sys functions to the table at index t. */
void rtl_sys_aliases(lua_State *L, int t);
void rtl_open_lowp(lua_State *L, int rt);      /* rt.autocast, rt.cpu */
void rtl_open_augment(lua_State *L, int rt);   /* rt._augment (GloVe, top-k) */
void rtl_open_help(lua_State *L, int rt);      /* rt.doc, help */
void rtl_open_dist(lua_State *L, int rt);      /* rt.dist: ranks and collectives (MPI) */

/* Build the whole `rt` table (all modules) and leave it on the stack. Used by
 * the `retort.core` preload and by tests. */
int rtl_open_retort(lua_State *L);
/* Make `require "retort.core"` return the C table, and set package.path so
 * `require "retort"` finds lua/ (lua_dir may be NULL: search near the binary). */
void rtl_install(lua_State *L, const char *lua_dir);

#endif
