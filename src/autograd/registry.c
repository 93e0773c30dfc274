/* registry.c — the table of differentiable ops (registry.h): one row per op,
 * with its forward wrapper for the gradient checker, its case and its help. */
#include <stdlib.h>
#include <string.h>
#include "registry.h"
#include "ops.h"
#include "../core/rng.h"

/* A forward wrapper: x[] are the case's inputs in order. */
#define FW(name, expr) \
    static rt_tensor *fw_##name(void *c, rt_tensor *const *x, int n) { (void)c; (void)n; return (expr); }

static const int D0[1] = {0}, D1[1] = {1};
static const int64_t SH32[2] = {3, 2}, SH34[2] = {3, 4}, SH2N[2] = {2, -1};
static const int PERM[3] = {2, 0, 1};

/* dropout: a fresh generator with a fixed seed each call, so every evaluation of
 * the finite differences draws the same mask */
static rt_tensor *fw_dropout(void *c, rt_tensor *const *x, int n) {
    (void)c; (void)n;
    rt_generator g = {7, 0};
    return rt_dropout(x[0], 0.3, true, &g);
}
static rt_tensor *fw_cat(void *c, rt_tensor *const *x, int n) { (void)c; (void)n; return rt_cat(x, 2, 0); }
static rt_tensor *fw_max_values(void *c, rt_tensor *const *x, int n) { (void)c; (void)n; return rt_max(x[0], 1, false, NULL); }
static rt_tensor *fw_min_values(void *c, rt_tensor *const *x, int n) { (void)c; (void)n; return rt_min(x[0], 0, true, NULL); }
static rt_tensor *fw_to(void *c, rt_tensor *const *x, int n) {
    (void)c; (void)n;
    rt_tensor *b = rt_to(x[0], RT_BF16);
    rt_tensor *f = b ? rt_to(b, RT_F32) : NULL;
    rt_release(b);
    return f;
}

FW(add, rt_add(x[0], x[1]))
FW(sub, rt_sub(x[0], x[1]))
FW(mul, rt_mul(x[0], x[1]))
FW(div, rt_div(x[0], x[1]))
FW(pow, rt_pow(x[0], x[1]))
FW(add_scalar, rt_add_scalar(x[0], 0.5))
FW(mul_scalar, rt_mul_scalar(x[0], -1.5))
FW(rsub_scalar, rt_rsub_scalar(x[0], 2.0))
FW(rdiv_scalar, rt_rdiv_scalar(x[0], 2.0))
FW(pow_scalar, rt_pow_scalar(x[0], 2.5))
FW(rpow_scalar, rt_rpow_scalar(x[0], 1.7))
FW(neg, rt_unary(RT_NEG, x[0]))
FW(exp, rt_unary(RT_EXP, x[0]))
FW(log, rt_unary(RT_LOG, x[0]))
FW(sqrt, rt_unary(RT_SQRT, x[0]))
FW(rsqrt, rt_unary(RT_RSQRT, x[0]))
FW(abs, rt_unary(RT_ABS, x[0]))
FW(tanh, rt_unary(RT_TANH, x[0]))
FW(sigmoid, rt_unary(RT_SIGMOID, x[0]))
FW(relu, rt_unary(RT_RELU, x[0]))
FW(gelu, rt_unary(RT_GELU, x[0]))
FW(gelu_tanh, rt_unary(RT_GELU_TANH, x[0]))
FW(floor, rt_unary(RT_FLOOR, x[0]))
FW(ceil, rt_unary(RT_CEIL, x[0]))
FW(round, rt_unary(RT_ROUND, x[0]))
FW(sign, rt_unary(RT_SIGN, x[0]))
FW(clamp, rt_clamp(x[0], -0.5, 0.5))
FW(where, rt_where(x[0], x[1], x[2]))
FW(masked_fill, rt_masked_fill(x[0], x[1], 0.5))
FW(sum, rt_sum(x[0], NULL, 0, false))
FW(mean, rt_mean(x[0], D1, 1, true))
FW(var, rt_var(x[0], D1, 1, 1, false))
FW(norm, rt_norm(x[0], 2.0, D0, 1, false))
FW(matmul, rt_matmul(x[0], x[1]))
FW(linear, rt_linear(x[0], x[1], x[2]))
FW(softmax, rt_softmax(x[0], 1))
FW(log_softmax, rt_log_softmax(x[0], 1))
FW(layer_norm, rt_layer_norm(x[0], 1, x[1], x[2], 1e-5))
FW(embedding, rt_embedding(x[0], x[1]))
FW(cross_entropy, rt_cross_entropy(x[0], x[1], -100, RT_REDUCE_MEAN))
FW(mse, rt_mse(x[0], x[1], RT_REDUCE_MEAN))
FW(soft_cross_entropy, rt_soft_cross_entropy(x[0], x[1], 2.0))
FW(kl_div, rt_kl_div(x[0], x[1], RT_REDUCE_SUM, true))
FW(attention_scores, rt_attention_scores(x[0], x[1], x[2], x[3], 0.5))
FW(attention_context, rt_attention_context(x[0], x[1], x[2], 0.0, false, NULL, NULL))
FW(index_select, rt_index_select(x[0], 0, x[1]))
FW(gather, rt_gather(x[0], 1, x[1]))
FW(reshape, rt_reshape(x[0], 2, SH32))
FW(view, rt_view(x[0], 2, SH2N))
FW(squeeze, rt_squeeze(x[0], RT_ALLDIMS))
FW(unsqueeze, rt_unsqueeze(x[0], 1))
FW(transpose, rt_transpose(x[0], 0, 1))
FW(permute, rt_permute(x[0], PERM))
FW(narrow, rt_narrow(x[0], 1, 1, 2))
FW(select, rt_select(x[0], 0, 1))
FW(expand, rt_expand(x[0], 2, SH34))
FW(contiguous, rt_contiguous(x[0]))
FW(clone, rt_clone(x[0]))

#define ROW(op, node, inputs, rtol, help) {#op, node, fw_##op, inputs, rtol, help}

static const rt_op_entry TABLE[] = {
    /* elementwise */
    ROW(add, "add", "n2x3 n3", 0, "a + b with broadcasting (rt.add, t:add, +)"),
    ROW(sub, "sub", "n2x3 t2x3", 0, "a - b with broadcasting (t:sub, -)"),
    ROW(mul, "mul", "n2x3x4 n3x1", 0, "a * b elementwise with broadcasting (t:mul, *)"),
    ROW(div, "div", "n2x3 p3", 0, "a / b with broadcasting (t:div, /)"),
    ROW(pow, "pow", "p2x3 n2x3", 2e-2, "a ^ b, tensor exponent (t:pow, ^)"),
    ROW(add_scalar, "add", "n2x3", 0, "a + s for a number s"),
    ROW(mul_scalar, "mul", "n2x3", 0, "a * s for a number s"),
    ROW(rsub_scalar, "rsub", "n2x3", 0, "s - a for a number s"),
    ROW(rdiv_scalar, "rdiv", "p2x3", 0, "s / a for a number s"),
    ROW(pow_scalar, "pow", "p2x3", 0, "a ^ p for a number p"),
    ROW(rpow_scalar, "rpow", "n2x3", 0, "s ^ a for a number s"),
    ROW(neg, "neg", "n2x3", 0, "negation, -a"),
    ROW(exp, "exp", "n2x3", 0, "exp(a)"),
    ROW(log, "log", "p2x3", 0, "natural log"),
    ROW(sqrt, "sqrt", "p2x3", 0, "square root"),
    ROW(rsqrt, "rsqrt", "p2x3", 0, "1 / sqrt(a)"),
    ROW(abs, "abs", "z2x3", 0, "absolute value |a|"),
    ROW(tanh, "tanh", "n2x3", 0, "hyperbolic tangent"),
    ROW(sigmoid, "sigmoid", "n2x3", 0, "1 / (1 + exp(-a))"),
    ROW(relu, "relu", "z2x3", 0, "max(a, 0)"),
    ROW(gelu, "gelu", "n2x3", 0, "a * Phi(a) (erf form, BERT/PyTorch)"),
    ROW(gelu_tanh, "gelu_tanh", "n2x3", 0, "tanh approximation of gelu (TF BERT, gelu_new)"),
    ROW(floor, "floor", "n2x3", 0, "floor (zero gradient)"),
    ROW(ceil, "ceil", "n2x3", 0, "ceil (zero gradient)"),
    ROW(round, "round", "n2x3", 0, "round half to even (zero gradient)"),
    ROW(sign, "sign", "z2x3", 0, "sign (zero gradient)"),
    ROW(clamp, "clamp", "n2x3", 0, "clamp(a, lo, hi); NAN = no bound"),
    ROW(where, "where", "m2x3 n2x3 n3", 0, "cond ? a : b with broadcasting"),
    ROW(masked_fill, "masked_fill", "n2x3 m2x3", 0, "a with value where mask is true"),
    ROW(to, "to", "n2x3", -1, "dtype conversion; f32 <-> bf16 passes the gradient (bf16 rounding is too coarse for differences)"),
    /* reductions */
    ROW(sum, "sum", "n2x3", 0, "sum over dims (all by default)"),
    ROW(mean, "mean", "n2x3", 0, "mean over dims"),
    ROW(var, "var", "n2x4", 0, "variance over dims (correction 1 = unbiased)"),
    ROW(norm, "norm", "z3x2", 0, "p-norm over dims"),
    ROW(max_values, "max", "n3x4", 0, "max over a dim (gradient to the selected element)"),
    ROW(min_values, "min", "n3x4", 0, "min over a dim (gradient to the selected element)"),
    /* linear algebra and nn */
    ROW(matmul, "matmul", "n2x3 t3x4", 0, "torch.matmul: 1-d, 2-d, batched with broadcasting"),
    ROW(linear, "linear", "n4x3 n5x3 n5", 0, "x . w^T + b, one node (rt.F.linear)"),
    ROW(softmax, "softmax", "n3x4", 0, "softmax along a dim (rt.F.softmax)"),
    ROW(log_softmax, "log_softmax", "n3x4", 0, "log of softmax along a dim, computed stably"),
    ROW(layer_norm, "layer_norm", "n3x4 n4 n4", 0, "normalise over the last dims, then * w + b (rt.F.layer_norm)"),
    ROW(dropout, "dropout", "n4x6", 0, "inverted dropout with a Philox mask (rt.F.dropout)"),
    ROW(embedding, "embedding", "n7x3 i7:2x3", 0, "rows of w picked by ids; scatter-add backward (rt.F.embedding)"),
    /* losses */
    ROW(cross_entropy, "cross_entropy", "n4x5 i5:4", 0, "fused log-softmax + NLL with ignore_index (rt.F.cross_entropy)"),
    ROW(mse, "mse", "n2x3 n2x3", 0, "mean((a - b)^2) (rt.F.mse)"),
    ROW(soft_cross_entropy, "soft_cross_entropy", "n3x4 c3x4", 0, "TinyBERT's soft cross-entropy with temperature T"),
    ROW(kl_div, "kl_div", "n3x4 p3x4", 0, "torch's kl_div (log-prob input, prob target)"),
    /* attention core */
    ROW(attention_scores, "attention_scores", "n1x2x3x4 n1x2x3x4 c3x3x4 c1x1x1x3", 0,
        "(q . k^T + q . rel^T) * scale + mask (rt.F.attention_scores)"),
    ROW(attention_context, "attention_context", "n1x2x3x3 n1x2x3x4 c3x3x4", 0,
        "softmax(scores) . v + . rel, with dropout (rt.F.attention_context)"),
    /* joining and indexing */
    ROW(cat, "cat", "n2x3 n4x3", 0, "concatenation along a dim (rt.cat)"),
    ROW(index_select, "index_select", "n5x3 i5:4", 0, "rows picked by a 1-d index (t:index_select)"),
    ROW(gather, "gather", "n3x4 i4:3x2", 0, "torch.gather along a dim"),
    /* views */
    ROW(reshape, "reshape", "t2x3", 0, "reshape (copies only when needed)"),
    ROW(view, "view", "n3x2", 0, "view (never copies)"),
    ROW(squeeze, "squeeze", "n2x1x3", 0, "drop size-1 dims"),
    ROW(unsqueeze, "unsqueeze", "n2x3", 0, "insert a size-1 dim"),
    ROW(transpose, "transpose", "n2x3", 0, "swap two dims (a view)"),
    ROW(permute, "permute", "n2x3x4", 0, "reorder dims (a view)"),
    ROW(narrow, "narrow", "n2x4", 0, "a slice along a dim (a view)"),
    ROW(select, "select", "n3x4", 0, "one index along a dim, dropping it (a view)"),
    ROW(expand, "expand", "n1x4", 0, "broadcast size-1 dims (a view)"),
    ROW(contiguous, "contiguous", "t3x2", 0, "a contiguous copy when needed (stays in the graph)"),
    ROW(clone, "contiguous", "n2x3", 0, "a contiguous copy that stays in the graph"),
};

const rt_op_entry *rt_op_registry(int *n) {
    *n = (int)(sizeof TABLE / sizeof *TABLE);
    return TABLE;
}

const rt_op_entry *rt_op_find(const char *name) {
    for (size_t i = 0; i < sizeof TABLE / sizeof *TABLE; i++)
        if (strcmp(TABLE[i].op, name) == 0) return &TABLE[i];
    return NULL;
}

/* One input of a case: kind letter, optional "V:" bound, dims "2x3". */
static rt_tensor *case_input(const char *spec, size_t len, rt_generator *g, const char *op) {
    char kind = spec[0];
    const char *p = spec + 1, *end = spec + len;
    int64_t bound = 0, shape[RT_MAXDIM];
    int nd = 0;
    if (kind == 'i') {
        bound = strtoll(p, (char **)&p, 10);
        if (*p == ':') p++;
    }
    while (p < end && nd < RT_MAXDIM) {
        shape[nd++] = strtoll(p, (char **)&p, 10);
        if (p < end && *p == 'x') p++;
        else break;
    }
    if (kind == 't') {   /* a transposed view of the given 2-d shape */
        if (nd != 2) { rt_errorf(RT_EINVAL, "registry %s: t needs 2 dims", op); return NULL; }
        int64_t sw[2] = {shape[1], shape[0]};
        rt_tensor *b = rt_randn(g, 2, sw);
        rt_tensor *t = b ? rt_transpose(b, 0, 1) : NULL;
        rt_release(b);
        if (t) t->requires_grad = true;
        return t;
    }
    rt_tensor *t = NULL;
    switch (kind) {
    case 'n': case 'c': t = rt_randn(g, nd, shape); break;
    case 'p': case 'z': case 'm': case 'i': t = rt_rand(g, nd, shape); break;
    default: rt_errorf(RT_EINVAL, "registry %s: unknown input kind '%c'", op, kind); return NULL;
    }
    if (!t) return NULL;
    float *d = rt_f32(t);
    int64_t n = rt_numel(t);
    if (kind == 'p') for (int64_t k = 0; k < n; k++) d[k] += 0.5f;
    if (kind == 'z') for (int64_t k = 0; k < n; k++) d[k] = (d[k] - 0.5f) * 4.0f + (d[k] < 0.5f ? -0.1f : 0.1f);
    if (kind == 'm' || kind == 'i') {
        rt_tensor *c = kind == 'm' ? rt_tensor_empty(RT_BOOL, nd, shape) : rt_tensor_empty(RT_I64, nd, shape);
        if (!c) { rt_release(t); return NULL; }
        for (int64_t k = 0; k < n; k++) {
            if (kind == 'm') ((uint8_t *)rt_data(c))[k] = d[k] < 0.5f;
            else ((int64_t *)rt_data(c))[k] = (int64_t)(d[k] * (float)bound) % (bound ? bound : 1);
        }
        rt_release(t);
        return c;
    }
    if (kind != 'c') t->requires_grad = true;
    return t;
}

rt_status rt_op_case_inputs(const rt_op_entry *e, rt_generator *g, rt_tensor **in, int *n) {
    *n = 0;
    for (const char *p = e->inputs; *p;) {
        while (*p == ' ') p++;
        if (!*p) break;
        size_t len = strcspn(p, " ");
        if (*n == 8) return rt_errorf(RT_EINVAL, "registry %s: more than 8 inputs", e->op);
        rt_tensor *t = case_input(p, len, g, e->op);
        if (!t) {
            for (int k = 0; k < *n; k++) rt_release(in[k]);
            *n = 0;
            return rt_last_status();
        }
        in[(*n)++] = t;
        p += len;
    }
    return RT_OK;
}
