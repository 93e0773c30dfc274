/* l_tensor_print.c — __tostring for tensors: values (summarised like PyTorch
 * above 1000 elements: 3 edge items per dim) and a footer
 * "[Tensor f32 2x3, grad_fn=add]". */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "l_tensor.h"
#include "../autograd/graph.h"

#define EDGE 3
#define THRESHOLD 1000

typedef struct { int width; int mode; /* 0 int, 1 fixed, 2 sci */ bool summarise; } pfmt;

static void fmt_val(char *buf, size_t n, const rt_tensor *t, double v, const pfmt *f) {
    if (t->dtype == RT_BOOL) { snprintf(buf, n, "%s", v != 0 ? "true" : "false"); return; }
    if (t->dtype == RT_I32 || t->dtype == RT_I64) { snprintf(buf, n, "%lld", (long long)v); return; }
    if (isnan(v)) { snprintf(buf, n, "nan"); return; }
    if (isinf(v)) { snprintf(buf, n, v > 0 ? "inf" : "-inf"); return; }
    if (f->mode == 0) snprintf(buf, n, "%.0f.", v);
    else if (f->mode == 1) snprintf(buf, n, "%.4f", v);
    else snprintf(buf, n, "%.4e", v);
}

static bool shown(const rt_tensor *t, int d, int64_t i, const pfmt *f) {
    return !f->summarise || t->shape[d] <= 2 * EDGE || i < EDGE || i >= t->shape[d] - EDGE;
}

/* Visit shown elements to choose the format. */
static void scan(const rt_tensor *t, int d, int64_t *ix, double *amax, double *amin, bool *allint, bool *neg, const pfmt *f) {
    if (d == t->ndim) {
        double v = rt_tensor_get(t, ix);
        if (!isfinite(v)) return;
        double a = fabs(v);
        if (a > *amax) *amax = a;
        if (a > 0 && a < *amin) *amin = a;
        if (v != floor(v)) *allint = false;
        if (v < 0) *neg = true;
        return;
    }
    for (int64_t i = 0; i < t->shape[d]; i++) {
        if (!shown(t, d, i, f)) continue;
        ix[d] = i;
        scan(t, d + 1, ix, amax, amin, allint, neg, f);
    }
}

static void emit(luaL_Buffer *B, const rt_tensor *t, int d, int64_t *ix, const pfmt *f) {
    char buf[64];
    if (t->ndim == 0) { fmt_val(buf, sizeof buf, t, rt_tensor_get(t, ix), f); luaL_addstring(B, buf); return; }
    luaL_addchar(B, '[');
    bool skipped = false;
    for (int64_t i = 0; i < t->shape[d]; i++) {
        if (!shown(t, d, i, f)) {
            if (!skipped) {
                skipped = true;
                if (d == t->ndim - 1) luaL_addstring(B, " ...,");
                else {
                    luaL_addstring(B, "\n");
                    for (int k = 0; k <= d; k++) luaL_addchar(B, ' ');
                    luaL_addstring(B, "...,");
                }
            }
            continue;
        }
        ix[d] = i;
        if (i > 0) {
            if (d == t->ndim - 1) luaL_addchar(B, ' ');
            else {
                for (int k = d; k < t->ndim - 1; k++) luaL_addchar(B, '\n');
                for (int k = 0; k <= d; k++) luaL_addchar(B, ' ');
            }
        }
        if (d == t->ndim - 1) {
            fmt_val(buf, sizeof buf, t, rt_tensor_get(t, ix), f);
            int pad = f->width - (int)strlen(buf);
            for (int k = 0; k < pad; k++) luaL_addchar(B, ' ');
            luaL_addstring(B, buf);
        } else {
            emit(B, t, d + 1, ix, f);
        }
        if (i < t->shape[d] - 1) luaL_addchar(B, ',');
    }
    luaL_addchar(B, ']');
}

void rtl_tensor_tostring(lua_State *L, rt_tensor *t) {
    luaL_Buffer B;
    luaL_buffinit(L, &B);
    pfmt f = {0, 1, rt_numel(t) > THRESHOLD};
    int64_t ix[RT_MAXDIM] = {0};
    if (rt_numel(t) > 0) {
        double amax = 0, amin = INFINITY;
        bool allint = true, neg = false;
        scan(t, 0, ix, &amax, &amin, &allint, &neg, &f);
        if ((t->dtype == RT_F32 || t->dtype == RT_BF16)) {
            if (allint && amax < 1e8) f.mode = 0;
            else if (amax >= 1e5 || (amin < 1e-4 && amin > 0) || (amin != INFINITY && amax / amin > 1e6)) f.mode = 2;
            else f.mode = 1;
        }
        /* width: the widest shown element */
        char buf[64];
        double probe[2] = {amax, neg ? -amax : amax};
        for (int k = 0; k < 2; k++) {
            fmt_val(buf, sizeof buf, t, probe[k], &f);
            if ((int)strlen(buf) > f.width) f.width = (int)strlen(buf);
        }
        if (t->dtype == RT_BOOL) f.width = 5;
        memset(ix, 0, sizeof ix);
        emit(&B, t, 0, ix, &f);
        luaL_addchar(&B, '\n');
    } else if (t->ndim > 0) {
        luaL_addstring(&B, "[]\n");
    }
    luaL_addstring(&B, "[Tensor ");
    luaL_addstring(&B, rt_dtype_name(t->dtype));
    luaL_addchar(&B, ' ');
    if (t->ndim == 0) luaL_addstring(&B, "scalar");
    for (int i = 0; i < t->ndim; i++) {
        char b[32];
        snprintf(b, sizeof b, i ? "x%lld" : "%lld", (long long)t->shape[i]);
        luaL_addstring(&B, b);
    }
    if (t->grad_fn && t->grad_fn->op) {
        luaL_addstring(&B, ", grad_fn=");
        luaL_addstring(&B, t->grad_fn->op->name);
    } else if (t->requires_grad) {
        luaL_addstring(&B, ", requires_grad");
    }
    if (t->name) { luaL_addstring(&B, ", name="); luaL_addstring(&B, t->name); }
    luaL_addchar(&B, ']');
    luaL_pushresult(&B);
}
