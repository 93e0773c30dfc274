/* graph.h — define-by-run reverse-mode autograd.
 *
 * When grad mode is on and an input requires grad, an op builds a node holding
 * its descriptor, retained inputs, saved tensors and scalar params, and sets the
 * output's grad_fn. rt_backward() sorts the graph topologically and calls each
 * descriptor's backward, which returns input gradients; gradients are summed per
 * tensor (set on first contribution, add after); leaves accumulate into ->grad.
 * Saved tensors are released after backward unless retain_graph. A node never
 * holds its own output (save rt_tensor_alias(out) instead): no reference cycles. */
#ifndef RT_GRAPH_H
#define RT_GRAPH_H

#include "../core/tensor.h"

#define RT_NODE_MAX_INPUTS 8
#define RT_NODE_MAX_SAVED 8

struct rt_node;

/* Compute gradients for each input i with needs[i] true (may leave NULL for
 * "no contribution"). grads[i] must be a new reference with inputs[i]'s shape
 * (the engine reduces broadcasting only if the op says so — ops reduce themselves). */
typedef rt_status (*rt_backward_fn)(struct rt_node *n, rt_tensor *grad_out,
                                    rt_tensor **grads, const bool *needs);

typedef struct rt_op_desc {
    const char *name;               /* "linear", "layer_norm", ... shown as grad_fn= */
    rt_backward_fn backward;
    void (*free_ctx)(void *ctx);    /* optional: frees node->ctx */
} rt_op_desc;

typedef struct rt_node {
    const rt_op_desc *op;
    int refcount;
    int n_inputs;
    rt_tensor *inputs[RT_NODE_MAX_INPUTS];  /* retained (may be NULL for optional inputs) */
    int n_saved;
    rt_tensor *saved[RT_NODE_MAX_SAVED];    /* retained; released after backward */
    double f[8];                            /* scalar params */
    int64_t i[8];                           /* integer params */
    void *ctx;                              /* op-specific, freed by op->free_ctx */
    bool freed;                             /* saved state released: second backward errors */
    /* engine bookkeeping */
    int64_t topo_mark;
    int pending;
} rt_node;

/* Grad mode (a depth counter: no_grad nests). */
bool rt_grad_enabled(void);
void rt_no_grad_enter(void);
void rt_no_grad_exit(void);

/* True when grad mode is on and any of the inputs requires grad. */
bool rt_needs_grad(int n, rt_tensor *const *inputs);

/* Make a node for `out` from these inputs (retained) if rt_needs_grad(...);
 * returns the node (owned by out->grad_fn) or NULL when no graph is needed.
 * Sets out->requires_grad. Ops then fill saved[]/f[]/i[]/ctx. */
rt_node *rt_node_attach(rt_tensor *out, const rt_op_desc *op, int n_inputs,
                        rt_tensor *const *inputs);
/* Save a tensor in the node (retained), in the next free slot. */
void rt_node_save(rt_node *n, rt_tensor *t);
/* Save a tensor in a named slot (retained). Ops name their slots with an enum
 * next to the backward, e.g. enum { LN_X, LN_MEAN, LN_RSTD, LN_W }, and read
 * n->saved[LN_MEAN]; the scalar slots f[] / i[] are named the same way. */
void rt_node_save_at(rt_node *n, int slot, rt_tensor *t);

void rt_node_retain(rt_node *n);
void rt_node_release(rt_node *n);

/* root: any shape; grad: same shape as root, or NULL when root has one element
 * (then 1). Errors on a second backward through a freed graph. */
rt_status rt_backward(rt_tensor *root, rt_tensor *grad, bool retain_graph);

/* Gradient accumulation helper: *acc = *acc ? *acc + g : g (takes ownership of g). */
rt_status rt_grad_accumulate(rt_tensor **acc, rt_tensor *g);

/* Sum `g` down to `shape` (undo broadcasting); returns a new ref. */
rt_tensor *rt_reduce_to_shape(rt_tensor *g, int ndim, const int64_t *shape);

#endif
