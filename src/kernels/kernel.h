/* kernel.h — read this first: the one rule every kernel in src/kernels (and the
 * optimizer update kernels in src/optim) follows.
 *
 * A kernel is a C function over raw pointers: no rt_tensor, no autograd, no Lua,
 * no allocation of its results (the op layer in src/autograd checks shapes and
 * dtypes, allocates, and calls the kernel).
 *
 *   name       rt_k_<op>[_<dtype>] computes the forward, rt_k_<op>_bwd its
 *              gradient: rt_k_softmax / rt_k_softmax_bwd, rt_k_mse / rt_k_mse_bwd.
 *   arguments  1. outputs (written; gradients g<name>, in-place operands such as
 *                 the weights and moments of an optimizer step),
 *              2. inputs (read only; forward activations the backward needs),
 *              3. sizes (element counts, shapes, [outer, n, inner] extents),
 *              4. scalar parameters (eps, p, scale, temperature, seeds), then an
 *                 options struct if any (rt_adam_hp).
 *              A stride array follows the pointer it describes (out, os, a, as).
 *              An enum choosing one of a family (rt_binop, the unary kind) comes
 *              first, before the outputs: it is part of the name.
 *   results    void; rt_status, or a count with -1 on error, when an input value
 *              can be invalid (a label or an id out of range): the message names
 *              the value and its position (rt_errorf). Reductions to one number
 *              return it (double).
 *   memory     contiguous unless strides are given; an output may alias an input
 *              only where the header says so ("y may alias x").
 *   threads    parallel inside with OpenMP above a size threshold; never call a
 *              kernel from inside a parallel region. Results do not depend on the
 *              thread count unless the header says otherwise.
 *
 * One exception: the GEMM entry points (gemm.h) keep the BLAS argument order
 * (transposes, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) that every reader of
 * BLAS code knows. The iteration engine rt_k_foreach (elementwise.h) is a
 * helper for writing kernels, not a kernel.
 *
 * Where things are: elementwise.h (binary, unary, compare, where, clamp, adds),
 * reduce.h (sums, var, norms, max/min), nn.h (softmax, layer norm, embedding,
 * dropout, losses, attention), gemm.h, vmath.h (the vector math they share),
 * ../optim/update.h (AdamW, BertAdam, LAMB). Adding an op: see the top of
 * autograd/ops.h. */
#ifndef RT_KERNELS_KERNEL_H
#define RT_KERNELS_KERNEL_H

#include <stdbool.h>
#include <stdint.h>
#include "../core/status.h"

#endif
