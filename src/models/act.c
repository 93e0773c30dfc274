/* act.c — the configured hidden activation, shared by the encoder (bert.c) and
 * the heads (heads.c), so neither imports the other. */
#include "model.h"
#include "../autograd/ops.h"

rt_tensor *rt_apply_act(rt_act a, rt_tensor *x) {
    return rt_unary(a == RT_ACT_GELU ? RT_GELU : a == RT_ACT_GELU_TANH ? RT_GELU_TANH : RT_RELU, x);
}
