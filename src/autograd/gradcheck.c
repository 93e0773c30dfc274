/* gradcheck.c — central-difference gradient checker (gradcheck.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gradcheck.h"
#include "../core/rng.h"

typedef struct { char *buf; size_t len, used; } sbuf;

static void addf(sbuf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void addf(sbuf *s, const char *fmt, ...) {
    if (!s->buf || s->used + 1 >= s->len) return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(s->buf + s->used, s->len - s->used, fmt, ap);
    va_end(ap);
    if (k > 0) s->used += (size_t)k < s->len - s->used ? (size_t)k : s->len - s->used - 1;
}

/* sum(out * r) in double */
static bool project(rt_tensor *out, const rt_tensor *r, double *L) {
    if (!out) return false;
    int64_t n = rt_numel(out);
    if (n != rt_numel(r)) {
        rt_errorf(RT_ESHAPE, "gradcheck: output size changed between calls");
        return false;
    }
    rt_tensor *c = rt_tensor_convert(out, RT_F32);
    if (!c) return false;
    double s = 0;
    const float *a = rt_f32(c), *b = rt_f32(r);
    for (int64_t i = 0; i < n; i++) s += (double)a[i] * b[i];
    rt_release(c);
    *L = s;
    return true;
}

static void fmt_index(char *buf, size_t n, const rt_tensor *t, int64_t flat) {
    int64_t ix[RT_MAXDIM];
    for (int d = t->ndim - 1; d >= 0; d--) { ix[d] = flat % t->shape[d]; flat /= t->shape[d]; }
    size_t o = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < t->ndim && o < n; d++) o += (size_t)snprintf(buf + o, n - o, d ? ",%lld" : "%lld", (long long)ix[d] + 1);
    if (o < n) snprintf(buf + o, n - o, "]");
}

bool rt_gradcheck(rt_gradcheck_fn fn, void *ctx, rt_tensor *const *inputs, int n,
                  const rt_gradcheck_opts *opts, double *max_err, char *report, size_t report_len) {
    rt_gradcheck_opts o = {1e-3, 1e-3, 1e-2, 1234};
    if (opts) {
        if (opts->eps > 0) o.eps = opts->eps;
        if (opts->atol >= 0) o.atol = opts->atol;
        if (opts->rtol >= 0) o.rtol = opts->rtol;
        if (opts->seed) o.seed = opts->seed;
    }
    sbuf rep = {report, report_len, 0};
    if (report && report_len) report[0] = 0;
    *max_err = INFINITY;
    bool ok = true;
    rt_tensor **saved_grads = calloc((size_t)n + 1, sizeof *saved_grads);
    rt_tensor **agrads = calloc((size_t)n + 1, sizeof *agrads);
    rt_tensor *out = NULL, *r = NULL;
    if (!saved_grads || !agrads) { addf(&rep, "gradcheck: out of memory"); ok = false; goto done; }
    /* analytic: backward of L = sum(out * r) */
    for (int i = 0; i < n; i++) { saved_grads[i] = inputs[i]->grad; inputs[i]->grad = NULL; }
    out = fn(ctx, inputs, n);
    if (!out) { addf(&rep, "gradcheck: function failed: %s", rt_last_error()); ok = false; goto restore; }
    if (!out->requires_grad) { addf(&rep, "gradcheck: the output does not require grad (no input requires grad?)"); ok = false; goto restore; }
    r = rt_tensor_empty(RT_F32, out->ndim, out->shape);
    if (!r) { addf(&rep, "gradcheck: %s", rt_last_error()); ok = false; goto restore; }
    rt_generator g = {o.seed, 0};
    rt_rng_fill_normal(&g, rt_f32(r), rt_numel(r), 0.0f, 1.0f);
    if (rt_backward(out, r, false) != RT_OK) { addf(&rep, "gradcheck: backward failed: %s", rt_last_error()); ok = false; goto restore; }
    for (int i = 0; i < n; i++) { agrads[i] = inputs[i]->grad; inputs[i]->grad = NULL; }
restore:
    for (int i = 0; i < n; i++) {
        rt_release(inputs[i]->grad);
        inputs[i]->grad = saved_grads[i];
    }
    if (!ok) goto done;
    /* numeric */
    double worst = 0;
    int nfail = 0;
    bool fatal = false;
    rt_no_grad_enter();
    for (int i = 0; i < n && !fatal; i++) {
        rt_tensor *x = inputs[i];
        if (!x->requires_grad || x->grad_fn) continue;
        int64_t cnt = rt_numel(x);
        rt_tensor *ag = agrads[i] ? rt_tensor_convert(agrads[i], RT_F32) : NULL;
        double in_worst = 0;
        int64_t in_worst_at = -1;
        double in_worst_a = 0, in_worst_n = 0;
        for (int64_t e = 0; e < cnt; e++) {
            int64_t ix[RT_MAXDIM], rem = e;
            for (int d = x->ndim - 1; d >= 0; d--) { ix[d] = rem % x->shape[d]; rem /= x->shape[d]; }
            double x0 = rt_tensor_get(x, ix);
            rt_tensor_set(x, ix, x0 + o.eps);
            double xp = rt_tensor_get(x, ix);
            rt_tensor *op = fn(ctx, inputs, n);
            double Lp = 0, Lm = 0;
            bool okp = project(op, r, &Lp);
            rt_release(op);
            rt_tensor_set(x, ix, x0 - o.eps);
            double xm = rt_tensor_get(x, ix);
            rt_tensor *om = okp ? fn(ctx, inputs, n) : NULL;
            bool okm = okp && project(om, r, &Lm);
            rt_release(om);
            rt_tensor_set(x, ix, x0);
            if (!okm) {
                addf(&rep, "gradcheck: function failed during finite differences: %s", rt_last_error());
                ok = false;
                fatal = true;
                break;
            }
            double num = (Lp - Lm) / (xp - xm);
            double ana = ag ? rt_f32(ag)[e] : 0.0;
            double err = fabs(ana - num);
            if (err > worst) worst = err;
            if (err > in_worst || in_worst_at < 0) { in_worst = err; in_worst_at = e; in_worst_a = ana; in_worst_n = num; }
            if (!(err <= o.atol + o.rtol * fabs(num))) {
                ok = false;
                if (nfail++ < 5) {
                    char where[64];
                    fmt_index(where, sizeof where, x, e);
                    addf(&rep, "input %d element %s: analytic %.6g, numeric %.6g (diff %.3g)\n", i + 1, where, ana, num, err);
                }
            }
        }
        if (in_worst_at >= 0) {
            char where[64];
            fmt_index(where, sizeof where, x, in_worst_at);
            addf(&rep, "input %d: %lld elements, worst %s analytic %.6g numeric %.6g (diff %.3g)\n", i + 1,
                 (long long)cnt, where, in_worst_a, in_worst_n, in_worst);
        }
        rt_release(ag);
    }
    rt_no_grad_exit();
    if (nfail > 5) addf(&rep, "... %d failing elements in all\n", nfail);
    *max_err = worst;
done:
    if (agrads) for (int i = 0; i < n; i++) rt_release(agrads[i]);
    free(agrads);
    free(saved_grads);
    rt_release(out);
    rt_release(r);
    return ok;
}
