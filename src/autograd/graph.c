/* graph.c — grad mode, graph nodes and the backward engine (graph.h).
 *
 * rt_backward: an iterative DFS from root->grad_fn gives a topological order
 * (inputs before consumers); nodes are processed in reverse. Each node's
 * incoming gradient is accumulated in a per-call slot (the node's output has
 * exactly one grad_fn, so "per node" is "per tensor"); leaves that require
 * grad accumulate into ->grad. Backward functions run with grad mode off, so
 * they may use ops freely without building graphs. Unless retain_graph, each
 * node's saved tensors, ctx and inputs are released once it has run and the
 * node is marked freed: a second backward reports it instead of crashing. */
#include <stdlib.h>
#include <string.h>
#include "graph.h"
#include "ops.h"
#include "../core/shape.h"
#include "../kernels/elementwise.h"

static _Thread_local int no_grad_depth = 0;
static int64_t epoch = 0;

bool rt_grad_enabled(void) { return no_grad_depth == 0; }
void rt_no_grad_enter(void) { no_grad_depth++; }
void rt_no_grad_exit(void) { if (no_grad_depth > 0) no_grad_depth--; }

bool rt_needs_grad(int n, rt_tensor *const *inputs) {
    if (no_grad_depth) return false;
    for (int i = 0; i < n; i++)
        if (inputs[i] && inputs[i]->requires_grad) return true;
    return false;
}

rt_node *rt_node_attach(rt_tensor *out, const rt_op_desc *op, int n_inputs, rt_tensor *const *inputs) {
    if (!out || !rt_needs_grad(n_inputs, inputs)) return NULL;
    if (n_inputs > RT_NODE_MAX_INPUTS) n_inputs = RT_NODE_MAX_INPUTS;
    rt_node *n = calloc(1, sizeof *n);
    if (!n) return NULL;   /* out of memory: no graph (the caller's result stays valid) */
    n->op = op;
    n->refcount = 1;
    n->n_inputs = n_inputs;
    for (int i = 0; i < n_inputs; i++) {
        n->inputs[i] = inputs[i];
        rt_retain(inputs[i]);
    }
    if (out->grad_fn) rt_node_release(out->grad_fn);
    rt_set_grad_fn_release(rt_node_release);   /* core drops grad_fn through this hook */
    out->grad_fn = n;
    out->requires_grad = true;
    return n;
}

void rt_node_save(rt_node *n, rt_tensor *t) {
    if (!n || n->n_saved >= RT_NODE_MAX_SAVED) return;
    rt_retain(t);
    n->saved[n->n_saved++] = t;
}

void rt_node_save_at(rt_node *n, int slot, rt_tensor *t) {
    if (!n || slot < 0 || slot >= RT_NODE_MAX_SAVED) return;
    rt_retain(t);
    rt_release(n->saved[slot]);
    n->saved[slot] = t;
    if (n->n_saved <= slot) n->n_saved = slot + 1;
}

void rt_node_retain(rt_node *n) { if (n) n->refcount++; }

static void node_free_state(rt_node *n) {
    for (int i = 0; i < n->n_saved; i++) { rt_release(n->saved[i]); n->saved[i] = NULL; }
    n->n_saved = 0;
    if (n->ctx && n->op && n->op->free_ctx) n->op->free_ctx(n->ctx);
    n->ctx = NULL;
    for (int i = 0; i < n->n_inputs; i++) { rt_release(n->inputs[i]); n->inputs[i] = NULL; }
    n->freed = true;
}

/* Releasing a node can release its inputs, whose grad_fns can then be released:
 * iterative, so a 10 000-op chain does not recurse 10 000 deep. */
void rt_node_release(rt_node *n) {
    rt_node **stack = NULL;
    int sp = 0, cap = 0;
    while (n || sp) {
        if (!n) n = stack[--sp];
        if (--n->refcount > 0) { n = NULL; continue; }
        for (int i = 0; i < n->n_saved; i++) rt_release(n->saved[i]);
        if (n->ctx && n->op && n->op->free_ctx) n->op->free_ctx(n->ctx);
        for (int i = 0; i < n->n_inputs; i++) {
            rt_tensor *t = n->inputs[i];
            if (!t) continue;
            if (t->refcount == 1 && t->grad_fn) {
                /* detach its grad_fn and release it after this tensor is gone */
                rt_node *g = t->grad_fn;
                t->grad_fn = NULL;
                if (sp == cap) {
                    cap = cap ? cap * 2 : 16;
                    rt_node **ns = realloc(stack, (size_t)cap * sizeof *ns);
                    if (!ns) { t->grad_fn = g; rt_release(t); continue; }
                    stack = ns;
                }
                stack[sp++] = g;
            }
            rt_release(t);
        }
        free(n);
        n = NULL;
    }
    free(stack);
}

/* f32 contiguous copy helper for accumulation */
static rt_tensor *as_f32_contig(rt_tensor *t) {
    if (t->dtype == RT_F32) return rt_tensor_contiguous(t);
    return rt_tensor_convert(t, RT_F32);
}

rt_status rt_grad_accumulate(rt_tensor **acc, rt_tensor *g) {
    if (!g) return RT_OK;
    if (!*acc) { *acc = g; return RT_OK; }
    rt_tensor *a = *acc;
    if (rt_numel(a) != rt_numel(g)) {
        char sa[96], sg[96];
        rt_release(g);
        return rt_errorf(RT_ESHAPE, "backward: gradient shapes %s and %s differ",
                         rt_shape_str(a, sa, sizeof sa), rt_shape_str(g, sg, sizeof sg));
    }
    bool exclusive = a->refcount == 1 && a->storage->refcount == 1 && a->dtype == RT_F32 &&
                     rt_is_contiguous(a) && a->storage->kind == RT_STORAGE_OWNED;
    rt_tensor *gc = as_f32_contig(g);
    rt_release(g);
    if (!gc) return rt_last_status();
    rt_tensor *dst = exclusive ? a : as_f32_contig(a);
    if (!dst) { rt_release(gc); return rt_last_status(); }
    if (!exclusive && dst == a) {  /* contiguous f32 but shared: copy */
        rt_release(dst);
        dst = rt_tensor_clone(a);
        if (!dst) { rt_release(gc); return rt_last_status(); }
    }
    float *d = rt_f32(dst);
    const float *s = rt_f32(gc);
    int64_t n = rt_numel(dst);
    rt_k_acc_f32(d, s, n);
    rt_release(gc);
    if (dst != a) {
        if (a->dtype != RT_F32) {
            rt_tensor *c = rt_tensor_convert(dst, a->dtype);
            rt_release(dst);
            if (!c) return rt_last_status();
            dst = c;
        }
        if (!rt_same_shape(dst, a)) {
            rt_tensor *v = rt_tensor_view_of(dst->storage, dst->dtype, dst->offset, a->ndim, a->shape, NULL);
            rt_release(dst);
            if (!v) return rt_last_status();
            dst = v;
        }
        rt_release(a);
        *acc = dst;
    }
    return RT_OK;
}

rt_tensor *rt_reduce_to_shape(rt_tensor *g, int ndim, const int64_t *shape) {
    if (g->ndim == ndim) {
        bool same = true;
        for (int i = 0; i < ndim; i++) if (g->shape[i] != shape[i]) same = false;
        if (same) { rt_retain(g); return g; }
    }
    char b1[96], b2[96];
    bool ok = ndim <= g->ndim;
    int dims[RT_MAXDIM], nd = 0;
    for (int i = 0; ok && i < g->ndim; i++) {
        int j = ndim - g->ndim + i;
        if (j < 0) dims[nd++] = i;                                   /* extra leading dim */
        else if (shape[j] == 1 && g->shape[i] != 1) dims[nd++] = i;  /* broadcast dim */
        else if (shape[j] != g->shape[i]) ok = false;
    }
    if (!ok) {
        rt_errorf(RT_ESHAPE, "backward: cannot reduce gradient %s to %s", rt_shape_str(g, b1, sizeof b1),
                  rt_shape_fmt(ndim, shape, b2, sizeof b2));
        return NULL;
    }
    rt_tensor *s = nd ? rt_sum(g, dims, nd, true) : (rt_retain(g), g);
    if (!s) return NULL;
    rt_tensor *r = rt_reshape(s, ndim, shape);
    rt_release(s);
    return r;
}

typedef struct { rt_node *n; int next; } frame;

rt_status rt_backward(rt_tensor *root, rt_tensor *grad, bool retain_graph) {
    if (!root->requires_grad) return rt_errorf(RT_ESTATE, "backward: tensor does not require grad (no graph to differentiate)");
    rt_tensor *g0;
    if (grad) {
        if (!rt_same_shape(grad, root)) {
            char a[96], b[96];
            return rt_errorf(RT_ESHAPE, "backward: gradient shape %s does not match tensor shape %s",
                             rt_shape_str(grad, a, sizeof a), rt_shape_str(root, b, sizeof b));
        }
        /* a graph root can use the caller's f32 gradient as is (the engine never
         * writes into incoming gradients); a leaf keeps its own copy in ->grad */
        if (grad->dtype == RT_F32 && root->grad_fn) { rt_retain(grad); g0 = grad; }
        else g0 = rt_tensor_convert(grad, RT_F32);
    } else {
        if (rt_numel(root) != 1) {
            char a[96];
            return rt_errorf(RT_ESHAPE, "backward: gradient can be implicit only for one-element tensors, got %s (pass a gradient)",
                             rt_shape_str(root, a, sizeof a));
        }
        g0 = rt_tensor_full(RT_F32, root->ndim, root->shape, 1.0);
    }
    if (!g0) return rt_last_status();
    if (!root->grad_fn) {   /* a leaf */
        rt_status s = rt_grad_accumulate(&root->grad, g0);
        return s;
    }
    /* topological order */
    int64_t mark = ++epoch;
    int cap = 64, n_order = 0, sp = 0, scap = 64;
    rt_node **order = malloc((size_t)cap * sizeof *order);
    frame *stack = malloc((size_t)scap * sizeof *stack);
    rt_tensor **acc = NULL;
    rt_status st = RT_OK;
    if (!order || !stack) { st = rt_errorf(RT_ENOMEM, "backward: out of memory"); goto done; }
    root->grad_fn->topo_mark = mark;
    stack[sp++] = (frame){root->grad_fn, 0};
    while (sp) {
        frame *f = &stack[sp - 1];
        rt_node *n = f->n;
        if (n->freed) {
            st = rt_errorf(RT_ESTATE, "backward: graph already freed (use retain_graph) at %s",
                           n->op ? n->op->name : "?");
            goto done;
        }
        if (f->next < n->n_inputs) {
            rt_tensor *in = n->inputs[f->next++];
            if (in && in->grad_fn && in->grad_fn->topo_mark != mark) {
                in->grad_fn->topo_mark = mark;
                if (sp == scap) {
                    scap *= 2;
                    frame *ns = realloc(stack, (size_t)scap * sizeof *ns);
                    if (!ns) { st = rt_errorf(RT_ENOMEM, "backward: out of memory"); goto done; }
                    stack = ns;
                }
                stack[sp++] = (frame){in->grad_fn, 0};
            }
            continue;
        }
        sp--;
        if (n_order == cap) {
            cap *= 2;
            rt_node **no = realloc(order, (size_t)cap * sizeof *no);
            if (!no) { st = rt_errorf(RT_ENOMEM, "backward: out of memory"); goto done; }
            order = no;
        }
        n->pending = n_order;
        rt_node_retain(n);   /* freeing inputs during backward must not free queued nodes */
        order[n_order++] = n;
    }
    acc = calloc((size_t)n_order, sizeof *acc);
    if (!acc) { st = rt_errorf(RT_ENOMEM, "backward: out of memory"); goto done; }
    acc[root->grad_fn->pending] = g0;
    g0 = NULL;
    rt_no_grad_enter();
    for (int k = n_order - 1; k >= 0 && st == RT_OK; k--) {
        rt_node *n = order[k];
        rt_tensor *go = acc[k];
        acc[k] = NULL;
        if (rt_interrupted()) { rt_release(go); st = rt_errorf(RT_EINTR, "backward: interrupted"); break; }
        if (go && n->op && n->op->backward) {
            rt_tensor *grads[RT_NODE_MAX_INPUTS] = {0};
            bool needs[RT_NODE_MAX_INPUTS] = {0};
            for (int i = 0; i < n->n_inputs; i++) needs[i] = n->inputs[i] && n->inputs[i]->requires_grad;
            if (!rt_is_contiguous(go)) {   /* backward functions may assume a contiguous grad_out */
                rt_tensor *c = rt_tensor_clone(go);
                if (!c) { st = rt_last_status(); rt_release(go); break; }
                rt_release(go);
                go = c;
            }
            st = n->op->backward(n, go, grads, needs);
            if (st != RT_OK) {
                rt_error_prefix("backward of %s", n->op->name);
                for (int i = 0; i < n->n_inputs; i++) rt_release(grads[i]);
            }
            for (int i = 0; i < n->n_inputs && st == RT_OK; i++) {
                rt_tensor *in = n->inputs[i], *gi = grads[i];
                grads[i] = NULL;
                if (!gi) continue;
                if (!needs[i]) { rt_release(gi); continue; }
                if (!rt_same_shape(gi, in)) {
                    rt_tensor *r = rt_reduce_to_shape(gi, in->ndim, in->shape);
                    rt_release(gi);
                    if (!r) { st = rt_last_status(); break; }
                    gi = r;
                }
                if (in->grad_fn) {
                    st = rt_grad_accumulate(&acc[in->grad_fn->pending], gi);
                } else {
                    /* a leaf keeps its own copy: never alias a gradient used elsewhere */
                    if (!in->grad && (gi->refcount > 1 || gi->storage->refcount > 1 || !rt_is_contiguous(gi) ||
                                      gi->dtype != in->dtype)) {
                        rt_tensor *c = rt_tensor_convert(gi, in->dtype);
                        rt_release(gi);
                        if (!c) { st = rt_last_status(); break; }
                        gi = c;
                    }
                    st = rt_grad_accumulate(&in->grad, gi);
                }
            }
            for (int i = 0; i < n->n_inputs; i++) rt_release(grads[i]);
        }
        rt_release(go);
        if (!retain_graph) node_free_state(n);
    }
    rt_no_grad_exit();
done:
    if (acc) for (int k = 0; k < n_order; k++) rt_release(acc[k]);
    free(acc);
    for (int k = 0; k < n_order; k++) rt_node_release(order[k]);
    free(order);
    free(stack);
    rt_release(g0);
    return st;
}
