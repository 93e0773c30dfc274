/* retort.h — read this first.
 *
 * WHAT RETORT IS
 *
 * A CPU workbench for BERT, NEZHA and TinyBERT: n-d tensors with reverse-mode
 * autograd, fast kernels (OpenBLAS GEMM plus hand-vectorised softmax, layer norm,
 * GELU, attention, losses), one encoder for the three model families, the
 * tokenizers and task readers, readers and writers for safetensors, PyTorch and
 * TensorFlow checkpoints and TFRecords, optimizers, and Lua 5.4 embedded on top:
 * recipes, the Trainer, a REPL and notebooks are Lua; everything heavy is C11.
 * Including this header gives the whole C library (link build/libretort.a).
 *
 * THE LAYERS, AND THE ONE DIRECTION OF THEIR ARROWS
 *
 *   src/cli       the command line, REPL, notebooks, Jupyter kernel
 *     -> src/lua  the bindings (the only place that includes lua.h) and lua/ on top
 *       -> src/models  src/data  src/optim  src/io  src/text  src/dist (MPI)
 *         -> src/autograd   ops: check arguments, allocate, call kernels, record nodes
 *           -> src/kernels  raw-pointer loops (the signature rule: kernels/kernel.h)
 *             -> src/core   tensors, storage, allocator, RNG, status, threads, and the
 *                           services room core/sys.h (files, directories, clock)
 *
 * A file includes only headers of its own layer or of layers below it. Where a
 * lower layer must call back up, the upper one registers a hook: core/tensor.c
 * drops a tensor's grad_fn through the release function autograd/graph.c
 * registers (rt_set_grad_fn_release). BLAS threads are set behind kernels/gemm.h.
 *
 * THE LIFE OF A TENSOR
 *
 * An rt_tensor is a refcounted header (dtype, shape, strides in elements, offset)
 * over a refcounted rt_storage (owned memory from core/alloc's cache, a read-only
 * file mapping, or borrowed bytes). Views (transpose, narrow, expand, ...) are new
 * headers over the same storage. Every function returning rt_tensor * returns a NEW
 * reference, or NULL with a message naming the op and the shapes (rt_last_error());
 * arguments are borrowed. rt_release drops a reference; the last one frees the
 * header, its .grad, its grad_fn and (when no view is left) the storage. In Lua the
 * userdata box holds one reference, so the garbage collector (or t:close()) ends it.
 *
 * THE LIFE OF A NODE
 *
 * When grad mode is on and an input requires grad, an op attaches a node to its
 * output (rt_node_attach): the op's descriptor (name + backward), the inputs
 * (retained), saved tensors in named slots (rt_node_save_at) and scalar params.
 * A node never holds its own output, so there are no cycles. rt_backward sorts the
 * graph from the root, runs each backward once with grad mode off, sums gradients
 * per tensor and accumulates into the leaves' .grad; then it frees the saved state
 * (unless retain_graph), so a second backward reports the freed graph.
 *
 * HOW AN OP IS ADDED
 *
 *   1. the kernel: a raw-pointer function rt_k_<op> / rt_k_<op>_bwd in src/kernels,
 *      arguments outputs, inputs, sizes, scalars (kernels/kernel.h);
 *   2. the forward+backward pair in src/autograd/ops_<group>.c: check dtypes and
 *      shapes with messages naming both, allocate, call the kernel, attach a node
 *      with a static rt_op_desc {"name", backward, NULL}; declare it in ops.h;
 *   3. one row in src/autograd/registry.c (op, node name, forward wrapper, gradient-
 *      check case, help line): tests/unit/test_op_registry.c then checks its node and
 *      its gradients, and help("ops") lists it. Bind it for Lua in src/lua/l_nn.c or
 *      l_tensor_methods.c.
 *
 * AN EXAMPLE (tests/unit/test_example.c runs exactly this)
 *
 *     rt_generator g = {42, 0};
 *     int64_t sx[2] = {4, 3}, sw[2] = {2, 3};
 *     rt_tensor *x = rt_randn(&g, 2, sx);                  // [4, 3] input
 *     rt_tensor *w = rt_randn(&g, 2, sw);                  // [2, 3] weight
 *     w->requires_grad = true;                             // a leaf that collects .grad
 *     rt_tensor *y = rt_linear(x, w, NULL);                // y = x · wᵀ: [4, 2], one node
 *     rt_tensor *a = y ? rt_unary(RT_TANH, y) : NULL;      // tanh(y)
 *     rt_tensor *loss = a ? rt_sum(a, NULL, 0, false) : NULL;   // a 0-d scalar
 *     if (!loss || rt_backward(loss, NULL, false) != RT_OK)
 *         fprintf(stderr, "retort: %s\n", rt_last_error());
 *     else
 *         printf("loss %g, dloss/dw[0,0] %g\n", rt_tensor_get(loss, NULL),
 *                rt_f32(w->grad)[0]);                      // w->grad: [2, 3]
 *     rt_release(loss); rt_release(a); rt_release(y);
 *     rt_release(w); rt_release(x);                       // the graph goes with them
 *
 * WHERE TO READ NEXT: core/tensor.h, autograd/ops.h and graph.h, kernels/kernel.h,
 * core/sys.h, models/model.h, src/lua/lrt.h; for Lua users, help() at the prompt. */
#ifndef RETORT_H
#define RETORT_H

#include "core/status.h"
#include "core/tensor.h"
#include "core/rng.h"
#include "core/alloc.h"
#include "core/parallel.h"
#include "core/sys.h"
#include "kernels/gemm.h"
#include "autograd/ops.h"
#include "autograd/graph.h"
#include "autograd/gradcheck.h"
#include "autograd/registry.h"
#include "models/model.h"
#include "optim/update.h"
#include "optim/loss_scale.h"
#include "dist/dist.h"

#endif
