/* ops_create.c — creation ops (leaves, no graph): zeros, ones, rand, randn, arange, eye. */
#include <math.h>
#include "ops_util.h"
#include "../core/rng.h"

/* [shape] of zeros / ones in dtype dt. */
rt_tensor *rt_zeros(rt_dtype dt, int ndim, const int64_t *shape) { return rt_tensor_zeros(dt, ndim, shape); }
rt_tensor *rt_ones(rt_dtype dt, int ndim, const int64_t *shape) { return rt_tensor_full(dt, ndim, shape, 1.0); }

/* U[0,1) f32 from g (NULL: default generator); thread-count independent. */
rt_tensor *rt_rand(rt_generator *g, int ndim, const int64_t *shape) {
    rt_tensor *t = rt_tensor_empty(RT_F32, ndim, shape);
    if (t) rt_rng_fill_uniform(g ? g : rt_default_generator(), rt_f32(t), rt_numel(t), 0.0f, 1.0f);
    return t;
}

/* N(0,1) f32. */
rt_tensor *rt_randn(rt_generator *g, int ndim, const int64_t *shape) {
    rt_tensor *t = rt_tensor_empty(RT_F32, ndim, shape);
    if (t) rt_rng_fill_normal(g ? g : rt_default_generator(), rt_f32(t), rt_numel(t), 0.0f, 1.0f);
    return t;
}

/* [ceil((end-start)/step)] values start, start+step, ... (end excluded). */
rt_tensor *rt_arange(double start, double end, double step, rt_dtype dt) {
    if (step == 0 || isnan(step) || isnan(start) || isnan(end)) {
        rt_errorf(RT_EINVAL, "arange: step must be nonzero and bounds finite (start=%g end=%g step=%g)", start, end, step);
        return NULL;
    }
    double len = ceil((end - start) / step);
    if (len < 0) len = 0;
    if (len > 1e12) { rt_errorf(RT_EINVAL, "arange: %g elements is too many", len); return NULL; }
    int64_t n = (int64_t)len;
    rt_tensor *t = rt_tensor_empty(dt, 1, &n);
    if (!t) return NULL;
    for (int64_t i = 0; i < n; i++) {
        double v = start + (double)i * step;
        switch (dt) {
        case RT_F32: rt_f32(t)[i] = (float)v; break;
        case RT_I32: ((int32_t *)rt_data(t))[i] = (int32_t)v; break;
        case RT_I64: ((int64_t *)rt_data(t))[i] = (int64_t)v; break;
        default: { int64_t ix = i; rt_tensor_set(t, &ix, v); }
        }
    }
    return t;
}

/* [n, m] identity (m <= 0: square). */
rt_tensor *rt_eye(int64_t n, int64_t m, rt_dtype dt) {
    if (m <= 0) m = n;
    int64_t shape[2] = {n, m};
    rt_tensor *t = rt_tensor_zeros(dt, 2, shape);
    if (!t) return NULL;
    for (int64_t i = 0; i < n && i < m; i++) {
        int64_t ix[2] = {i, i};
        rt_tensor_set(t, ix, 1.0);
    }
    return t;
}
