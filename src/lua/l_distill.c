/* l_distill.c — rt.distill: TinyBERT's distillation losses over the tables that
 * m:forward returns (TinyBERT general_distill.py / task_distill.py). Layer maps are Lua positions:
 * att[i] = which teacher attention (1..Lt) student layer i learns from, hidden[j] =
 * which teacher hidden state (1 = embeddings .. Lt+1) student state j learns from. */
#include <stdlib.h>
#include <string.h>
#include "lrt.h"
#include "../autograd/ops.h"
#include "../models/model.h"

#define MAXL 256

/* the tensors of out[field] (a list) into ts; returns the count */
static int get_list(lua_State *L, int out, const char *field, const char *who, rt_tensor **ts, bool required) {
    if (lua_getfield(L, out, field) != LUA_TTABLE) {
        lua_pop(L, 1);
        if (required) luaL_error(L, "distill.losses: %s output has no %s (pass what m:forward returned)", who, field);
        return -1;
    }
    int n = (int)lua_rawlen(L, -1);
    if (n > MAXL) luaL_error(L, "distill.losses: too many layers (%d)", n);
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, -1, i + 1);
        ts[i] = rtl_check_tensor(L, -1);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return n;
}

/* map from opts[field] (1-based) or NULL when absent; n entries expected */
static bool get_map(lua_State *L, int opts, const char *field, int n, int base_hi, int *map) {
    if (!opts || lua_getfield(L, opts, field) != LUA_TTABLE) {
        if (opts) lua_pop(L, 1);
        return false;
    }
    int len = (int)lua_rawlen(L, -1);
    if (len != n)
        luaL_error(L, "distill: %s has %d entries but the student has %d (one per student %s)", field, len, n,
                   strcmp(field, "att_map") ? "hidden state, embeddings first" : "layer");
    for (int i = 0; i < n; i++) {
        lua_rawgeti(L, -1, i + 1);
        int isnum;
        lua_Integer v = lua_tointegerx(L, -1, &isnum);
        if (!isnum || v < 1 || v > base_hi)
            luaL_error(L, "distill: %s[%d] must be a teacher %s number in 1..%d", field, i + 1,
                       strcmp(field, "att_map") ? "hidden state" : "layer", base_hi);
        map[i] = (int)v - 1;
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return true;
}

static double opt_num(lua_State *L, int opts, const char *k, double def) {
    if (!opts) return def;
    lua_getfield(L, opts, k);
    double v = luaL_optnumber(L, -1, def);
    lua_pop(L, 1);
    return v;
}

static int opt_flag(lua_State *L, int opts, const char *k, int def) {
    if (!opts) return def;
    lua_getfield(L, opts, k);
    int v = lua_isnil(L, -1) ? def : lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

static int l_losses(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checktype(L, 2, LUA_TTABLE);
    int opts = lua_istable(L, 3) ? 3 : 0;
    rt_tensor *sa[MAXL], *ta[MAXL], *sh[MAXL + 1], *th[MAXL + 1];
    int want_att = opt_flag(L, opts, "att", 1), want_pred = opt_flag(L, opts, "pred", 0);
    int want_rep = opt_flag(L, opts, "rep", 1);
    lua_newtable(L);
    int res = lua_gettop(L);
    rt_tensor *total = NULL;
    int ns = 0, nt = 0;
    if (want_att || want_rep) {
        ns = get_list(L, 1, "attentions", "student", sa, true);
        nt = get_list(L, 2, "attentions", "teacher", ta, true);
    }
    int att_map[MAXL], hid_map[MAXL + 1];
    if (want_att || want_rep) {
        bool a = get_map(L, opts, "att_map", ns, nt, att_map);
        bool h = get_map(L, opts, "hidden_map", ns + 1, nt + 1, hid_map);
        if (!a || !h) {
            int a2[MAXL], h2[MAXL + 1];
            if (rt_distill_uniform_map(ns, nt, a2, h2)) return rtl_error(L);
            if (!a) memcpy(att_map, a2, sizeof(int) * (size_t)ns);
            if (!h) memcpy(hid_map, h2, sizeof(int) * (size_t)(ns + 1));
        }
    }
    if (want_att) {
        rt_tensor *l = rt_distill_att_loss(sa, ns, ta, nt, att_map);
        RTL_CHECK(L, l);
        rt_retain(l);
        total = l;
        rtl_push_tensor(L, l);
        lua_setfield(L, res, "att");
    }
    if (want_rep) {
        int nsh = get_list(L, 1, "fit_hidden_states", "student", sh, false);
        if (nsh < 0) nsh = get_list(L, 1, "hidden_states", "student", sh, true);
        int nth = get_list(L, 2, "hidden_states", "teacher", th, true);
        if (nsh != ns + 1) luaL_error(L, "distill.losses: student has %d hidden states for %d layers", nsh, ns);
        rt_tensor *l = rt_distill_rep_loss(sh, nsh, th, nth, hid_map);
        if (!l) { rt_release(total); return rtl_error(L); }
        rt_retain(l);
        rtl_push_tensor(L, l);
        lua_setfield(L, res, "rep");
        if (total) {
            rt_tensor *s = rt_add(total, l);
            rt_release(total); rt_release(l);
            total = s;
            RTL_CHECK(L, total);
        } else total = l;
    }
    if (want_pred) {
        lua_getfield(L, 1, "logits");
        rt_tensor *s = rtl_test_tensor(L, -1);
        lua_getfield(L, 2, "logits");
        rt_tensor *t = rtl_test_tensor(L, -1);
        rt_tensor *gold = NULL;
        if (opts && opt_flag(L, opts, "regression", 0)) {
            lua_getfield(L, opts, "labels");
            gold = rtl_to_tensor(L, -1, RT_F32);
            if (!gold) { rt_release(total); return luaL_error(L, "distill.losses: regression needs opts.labels (gold values)"); }
        }
        if (!s) { rt_release(total); rt_release(gold); return luaL_error(L, "distill.losses: student output has no logits"); }
        rt_tensor *l = rt_distill_pred_loss(s, t, opt_num(L, opts, "temperature", opt_num(L, opts, "T", 1.0)), gold);
        rt_release(gold);
        if (!l) { rt_release(total); return rtl_error(L); }
        rt_retain(l);
        rtl_push_tensor(L, l);
        lua_setfield(L, res, "pred");
        if (total) {
            rt_tensor *sum = rt_add(total, l);
            rt_release(total); rt_release(l);
            total = sum;
            RTL_CHECK(L, total);
        } else total = l;
        lua_settop(L, res);
    }
    if (!total) return luaL_error(L, "distill.losses: no term selected (att, rep, pred)");
    rtl_push_tensor(L, total);
    lua_setfield(L, res, "total");
    lua_settop(L, res);
    return 1;
}

static int l_layer_map(lua_State *L) {
    int ns = (int)luaL_checkinteger(L, 1), nt = (int)luaL_checkinteger(L, 2);
    if (ns > MAXL || nt > 4096) return luaL_error(L, "distill.layer_map: too many layers");
    int att[MAXL], hid[MAXL + 1];
    if (lua_istable(L, 3)) {        /* validate a custom map */
        lua_settop(L, 3);
        bool a = get_map(L, 3, "att_map", ns, nt, att), h = get_map(L, 3, "hidden_map", ns + 1, nt + 1, hid);
        if (!a || !h) {
            int a2[MAXL], h2[MAXL + 1];
            if (rt_distill_uniform_map(ns, nt, a2, h2)) return rtl_error(L);
            if (!a) memcpy(att, a2, sizeof(int) * (size_t)ns);
            if (!h) memcpy(hid, h2, sizeof(int) * (size_t)(ns + 1));
        }
    } else if (rt_distill_uniform_map(ns, nt, att, hid)) {
        return rtl_error(L);
    }
    lua_createtable(L, 0, 2);
    lua_createtable(L, ns, 0);
    for (int i = 0; i < ns; i++) { lua_pushinteger(L, att[i] + 1); lua_rawseti(L, -2, i + 1); }
    lua_setfield(L, -2, "att_map");
    lua_createtable(L, ns + 1, 0);
    for (int j = 0; j <= ns; j++) { lua_pushinteger(L, hid[j] + 1); lua_rawseti(L, -2, j + 1); }
    lua_setfield(L, -2, "hidden_map");
    return 1;
}

static const rtl_reg funcs[] = {
    {"losses", l_losses,
     "rt.distill.losses(student_out, teacher_out [, opts]) -> {att=, rep=, pred=, total=}\n"
     "TinyBERT distillation over two m:forward results (run the teacher under rt.no_grad):\n"
     "  att  = sum_i MSE(z(S.attentions[i]), z(T.attentions[att_map[i]])), z(x) = 0 where x <= -100\n"
     "  rep  = sum_j MSE(S.fit_hidden_states[j] (or hidden_states), T.hidden_states[hidden_map[j]])\n"
     "  pred = soft cross-entropy of S.logits/T against softmax(T.logits/T) (mean over batch x\n"
     "         classes), or MSE(S.logits, opts.labels) with opts.regression.\n"
     "opts: att=true, rep=true, pred=false (choose terms), temperature=1, att_map=, hidden_map=\n"
     "(Lua positions; default the uniform map of rt.distill.layer_map), regression, labels."},
    {"layer_map", l_layer_map,
     "rt.distill.layer_map(student_layers, teacher_layers [, {att_map=, hidden_map=}])\n"
     "  -> {att_map=, hidden_map=}: TinyBERT's uniform map with k = teacher/student:\n"
     "attention of student layer i <- teacher layer i*k (1-based), hidden state j <- teacher\n"
     "state (j-1)*k+1 (1 = embeddings). With a table: validates a custom map (range, length)."},
    {NULL, NULL, NULL}};

void rtl_open_distill(lua_State *L, int rt) {
    rt = lua_absindex(L, rt);
    lua_newtable(L);
    rtl_register(L, -1, "rt.distill", funcs);
    rtl_doc(L, -1, "rt.distill", "TinyBERT distillation: rt.distill.losses(s_out, t_out, opts), "
            "rt.distill.layer_map(ns, nt).");
    lua_setfield(L, rt, "distill");
}
