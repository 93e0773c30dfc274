/* registry.h — the one table of differentiable ops. Each row names an op (the C
 * function rt_<op> in ops.h), the name its graph node carries (t:grad_fn(), the
 * rt_op_desc of its forward+backward pair), a forward wrapper with the gradient
 * checker's signature, a gradient-check case, and a help line. The gradient
 * check test (tests/unit/test_op_registry.c) and help("ops") walk the table, so
 * adding an op is: the kernel (src/kernels, see kernel.h), the forward+backward
 * pair (src/autograd/ops_*.c), one row here.
 *
 * A case is a list of inputs separated by spaces, each a letter and a shape:
 *   n2x3  normal N(0,1)          p2x3  positive, in [0.5, 1.5)
 *   z2x3  |x| >= 0.1 (no kinks)
 *   t3x2  a transposed (non-contiguous) 2-d view of that shape
 *   iV:2x3  integer ids in [0, V) (i64, not differentiable)
 *   m2x3  a bool mask (about half true, not differentiable)
 *   c2x3  normal, not differentiable (a constant such as a teacher or a table) */
#ifndef RT_REGISTRY_H
#define RT_REGISTRY_H

#include "gradcheck.h"
#include "../core/rng.h"

typedef struct {
    const char *op;             /* "add_scalar": the function rt_add_scalar */
    const char *node;           /* "add": the node name its output's grad_fn carries */
    rt_gradcheck_fn forward;    /* inputs -> output (a new reference) */
    const char *inputs;         /* the gradient-check case (see above) */
    double rtol;                /* 0: the checker's default (1e-2) */
    const char *help;           /* one line */
} rt_op_entry;

/* The whole table (closed: every op of ops.h that records a node has a row). */
const rt_op_entry *rt_op_registry(int *n);
/* The row of op `name`, or NULL. */
const rt_op_entry *rt_op_find(const char *name);
/* Build the case's inputs (new references, differentiable ones requiring grad)
 * into in[0..*n) (at most 8), drawing from generator g. */
rt_status rt_op_case_inputs(const rt_op_entry *e, rt_generator *g, rt_tensor **in, int *n);

#endif
