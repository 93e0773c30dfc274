/* l_tensor_print.c — __tostring for tensors: values (summarised like PyTorch
 * above 1000 elements: 3 edge items per dim; rows wrapped at the line width: the
 * terminal's, else $COLUMNS, else 80) and a footer "[Tensor f32 2x3, grad_fn=add]". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "l_tensor.h"
#include "../autograd/graph.h"

#define EDGE 3
#define THRESHOLD 1000

typedef struct {
    int width; int mode; /* 0 int, 1 fixed, 2 sci */ bool summarise;
    int linewidth, col;  /* wrap rows at linewidth; col: the current output column */
} pfmt;

/* The line width: the terminal's columns when stdout is one, else $COLUMNS, else 80. */
static int line_width(void) {
    struct winsize ws;
    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) return ws.ws_col;
    const char *c = getenv("COLUMNS");
    int n = c ? atoi(c) : 0;
    return n >= 20 ? n : 80;
}

/* Append text and keep the column count (a newline resets it). */
static void put(luaL_Buffer *B, pfmt *f, const char *s) {
    luaL_addstring(B, s);
    const char *nl = strrchr(s, '\n');
    f->col = nl ? (int)strlen(nl + 1) : f->col + (int)strlen(s);
}

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

static void indent(luaL_Buffer *B, pfmt *f, int d) {
    for (int k = 0; k <= d; k++) put(B, f, " ");
}

static void emit(luaL_Buffer *B, const rt_tensor *t, int d, int64_t *ix, pfmt *f) {
    char buf[64];
    if (t->ndim == 0) { fmt_val(buf, sizeof buf, t, rt_tensor_get(t, ix), f); put(B, f, buf); return; }
    put(B, f, "[");
    bool skipped = false;
    bool last = d == t->ndim - 1;
    for (int64_t i = 0; i < t->shape[d]; i++) {
        if (!shown(t, d, i, f)) {
            if (!skipped) {
                skipped = true;
                if (last) put(B, f, " ...,");
                else { put(B, f, "\n"); indent(B, f, d); put(B, f, "...,"); }
            }
            continue;
        }
        ix[d] = i;
        if (i > 0) {
            if (last) {
                /* the next value, its comma and the closing brackets must fit */
                if (f->col + 1 + f->width + 1 + d + 1 > f->linewidth) { put(B, f, "\n"); indent(B, f, d); }
                else put(B, f, " ");
            } else {
                for (int k = d; k < t->ndim - 1; k++) put(B, f, "\n");
                indent(B, f, d);
            }
        }
        if (last) {
            fmt_val(buf, sizeof buf, t, rt_tensor_get(t, ix), f);
            for (int k = f->width - (int)strlen(buf); k > 0; k--) put(B, f, " ");
            put(B, f, buf);
        } else {
            emit(B, t, d + 1, ix, f);
        }
        if (i < t->shape[d] - 1) put(B, f, ",");
    }
    put(B, f, "]");
}

void rtl_tensor_tostring(lua_State *L, rt_tensor *t) {
    luaL_Buffer B;
    luaL_buffinit(L, &B);
    pfmt f = {0, 1, rt_numel(t) > THRESHOLD, line_width(), 0};
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
