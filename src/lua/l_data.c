/* l_data.c — Lua bindings for the task readers and feature helpers (rt.data.*).
 * The batching layer (rt.data.loader, dataset helpers) is lua/retort/data.lua;
 * init.lua's lazy loading gives rt.data = that module, which starts from this
 * C table (require "retort.core".data). */
#include <stdlib.h>
#include <string.h>
#include "lrt.h"
#include "l_text.h"
#include "../data/tasks.h"
#include "../data/features.h"

static void set_str(lua_State *L, const char *k, const char *v) {
    if (!v) return;
    lua_pushstring(L, v);
    lua_setfield(L, -2, k);
}

static void push_string_list(lua_State *L, char *const *v, size_t n) {
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) { lua_pushstring(L, v[i]); lua_rawseti(L, -2, (lua_Integer)i + 1); }
}

/* rt.data.read_task(task, dir, split) -> examples, labels, info */
static int l_read_task(lua_State *L) {
    const char *task = luaL_checkstring(L, 1), *dir = luaL_checkstring(L, 2);
    const char *split = luaL_optstring(L, 3, "train");
    const char *file = NULL;
    if (lua_istable(L, 4) && lua_getfield(L, 4, "file") == LUA_TSTRING) file = lua_tostring(L, -1);
    rt_task_data d;
    if (rt_task_read_file(task, dir, file, split, &d) != RT_OK) return rtl_error(L);
    lua_createtable(L, (int)d.n, 0);
    for (size_t i = 0; i < d.n; i++) {
        const rt_example *e = &d.ex[i];
        lua_createtable(L, 0, 4);
        set_str(L, "guid", e->guid);
        set_str(L, "text_a", e->text_a);
        set_str(L, "text_b", e->text_b);
        if (e->label && d.regression) { lua_pushnumber(L, strtod(e->label, NULL)); lua_setfield(L, -2, "label"); }
        else set_str(L, "label", e->label);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    push_string_list(L, d.labels, d.nlabels);
    lua_createtable(L, 0, 4);
    lua_pushstring(L, d.file); lua_setfield(L, -2, "file");
    lua_pushinteger(L, (lua_Integer)d.skipped); lua_setfield(L, -2, "skipped");
    lua_pushboolean(L, d.regression); lua_setfield(L, -2, "regression");
    lua_pushinteger(L, (lua_Integer)d.n); lua_setfield(L, -2, "n");
    rt_task_free(&d);
    return 3;
}

/* rt.data.read_tsv(path, {header=false, columns=n}) -> rows (lists of strings), header */
static int l_read_tsv(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    int header = 0; lua_Integer cols = 0;
    if (lua_type(L, 2) == LUA_TTABLE) {
        lua_getfield(L, 2, "header"); header = lua_toboolean(L, -1); lua_pop(L, 1);
        lua_getfield(L, 2, "columns"); cols = luaL_optinteger(L, -1, 0); lua_pop(L, 1);
    }
    rt_tsv t;
    if (rt_tsv_read(path, &t) != RT_OK) return rtl_error(L);
    size_t nrows = t.n;
    if (nrows && t.row[nrows - 1].ncell == 0) nrows--;     /* trailing blank line */
    if (!cols && nrows) cols = (lua_Integer)t.row[0].ncell;
    for (size_t i = 0; i < nrows; i++)
        if (cols && (lua_Integer)t.row[i].ncell != cols) {
            size_t line = t.row[i].line, got = t.row[i].ncell;
            rt_tsv_free(&t);
            return luaL_error(L, "%s:%d: expected %d tab-separated columns, found %d", path, (int)line, (int)cols, (int)got);
        }
    lua_createtable(L, (int)nrows, 0);
    int out = lua_gettop(L);
    int hdr_pushed = 0;
    for (size_t i = 0, k = 0; i < nrows; i++) {
        push_string_list(L, t.row[i].cell, t.row[i].ncell);
        if (header && i == 0) { hdr_pushed = 1; lua_insert(L, out + 1); continue; }  /* keep header above */
        lua_rawseti(L, out, (lua_Integer)++k);
    }
    rt_tsv_free(&t);
    if (!hdr_pushed) lua_pushnil(L);
    return 2;
}

/* rt.data.read_ner(path, {upstream=false}) -> sentences {{words=, labels=}}, label list */
static int l_read_ner(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    int mode = 0;
    if (lua_type(L, 2) == LUA_TTABLE) { lua_getfield(L, 2, "upstream"); mode = lua_toboolean(L, -1); lua_pop(L, 1); }
    rt_ner_data d;
    if (rt_ner_read(path, mode, &d) != RT_OK) return rtl_error(L);
    lua_createtable(L, (int)d.n, 0);
    for (size_t i = 0; i < d.n; i++) {
        lua_createtable(L, 0, 3);
        push_string_list(L, d.s[i].word, d.s[i].n); lua_setfield(L, -2, "words");
        push_string_list(L, d.s[i].label, d.s[i].n); lua_setfield(L, -2, "labels");
        lua_pushinteger(L, (lua_Integer)d.s[i].line); lua_setfield(L, -2, "line");
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    rt_ner_free(&d);
    lua_newtable(L);
    for (int i = 0; rt_ner_labels[i]; i++) { lua_pushstring(L, rt_ner_labels[i]); lua_rawseti(L, -2, i + 1); }
    return 2;
}

/* rt.data.read_squad(path) -> {{id=, question=, context=, title=, answers={{text=, start=}}}} */
static int l_read_squad(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    rt_qa_data d;
    if (rt_squad_read(path, &d) != RT_OK) return rtl_error(L);
    lua_createtable(L, (int)d.n, 0);
    int top = lua_gettop(L);
    /* one Lua string per shared context/title (a long context is not copied per question) */
    lua_pushnil(L);
    lua_pushnil(L);
    const char *lastc = NULL, *lastt = NULL;
    for (size_t i = 0; i < d.n; i++) {
        const rt_qa *q = &d.q[i];
        if (q->context != lastc) { lua_pushstring(L, q->context); lua_replace(L, top + 1); lastc = q->context; }
        if (q->title != lastt) {
            if (q->title) lua_pushstring(L, q->title); else lua_pushnil(L);
            lua_replace(L, top + 2);
            lastt = q->title;
        }
        lua_createtable(L, 0, 5);
        set_str(L, "id", q->id); set_str(L, "question", q->question);
        lua_pushvalue(L, top + 1); lua_setfield(L, -2, "context");
        lua_pushvalue(L, top + 2); lua_setfield(L, -2, "title");
        lua_createtable(L, (int)q->nans, 0);
        for (size_t k = 0; k < q->nans; k++) {
            lua_createtable(L, 0, 2);
            set_str(L, "text", q->ans[k].text);
            lua_pushinteger(L, q->ans[k].start); lua_setfield(L, -2, "start");
            lua_rawseti(L, -2, (lua_Integer)k + 1);
        }
        lua_setfield(L, -2, "answers");
        lua_rawseti(L, top, (lua_Integer)i + 1);
    }
    lua_settop(L, top);
    rt_squad_free(&d);
    return 1;
}

static int l_task_names(lua_State *L) {
    lua_newtable(L);
    for (int i = 0; rt_task_names[i]; i++) { lua_pushstring(L, rt_task_names[i]); lua_rawseti(L, -2, i + 1); }
    return 1;
}

/* rt.data.truncate_pair(na, nb, max_len) -> na', nb' (upstream _truncate_seq_pair lengths) */
static int l_truncate_pair(lua_State *L) {
    size_t na = (size_t)luaL_checkinteger(L, 1), nb = (size_t)luaL_checkinteger(L, 2);
    lua_Integer max_len = luaL_checkinteger(L, 3);
    if (rt_feat_truncate(&na, &nb, true, max_len, RT_TRUNC_LONGEST_FIRST) != RT_OK) return rtl_error(L);
    lua_pushinteger(L, (lua_Integer)na); lua_pushinteger(L, (lua_Integer)nb);
    return 2;
}

/* rt.data.pack_i64(rows, width, pad) -> [B, width] i64 tensor from lists of integers */
static int l_pack_i64(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer B = luaL_len(L, 1), W = luaL_optinteger(L, 2, -1), pad = luaL_optinteger(L, 3, 0);
    if (W < 0) {
        W = 0;
        for (lua_Integer i = 1; i <= B; i++) { lua_geti(L, 1, i); if (luaL_len(L, -1) > W) W = luaL_len(L, -1); lua_pop(L, 1); }
    }
    int64_t shape[2] = {B, W};
    rt_tensor *x = rt_tensor_empty(RT_I64, 2, shape);
    RTL_CHECK(L, x);
    rtl_push_tensor(L, x);
    int64_t *p = rt_data(x);
    for (lua_Integer i = 1; i <= B; i++) {
        lua_geti(L, 1, i);
        if (lua_type(L, -1) != LUA_TTABLE) return luaL_error(L, "pack_i64: row %d is not a list", (int)i);
        lua_Integer n = luaL_len(L, -1);
        if (n > W) return luaL_error(L, "pack_i64: row %d has %d values > width %d", (int)i, (int)n, (int)W);
        for (lua_Integer j = 1; j <= W; j++) {
            int64_t v = pad;
            if (j <= n) { lua_geti(L, -1, j); v = (int64_t)luaL_checkinteger(L, -1); lua_pop(L, 1); }
            p[(i - 1) * W + (j - 1)] = v;
        }
        lua_pop(L, 1);
    }
    return 1;
}

void rtl_open_data(lua_State *L, int rt) {
    rt = lua_absindex(L, rt);
    static const rtl_reg fns[] = {
        {"read_task", l_read_task, "rt.data.read_task(task, dir, split=\"train\" [, {file=}]) -> examples, labels, info\n"
                                   "  file: read <dir>/<file> with the split's layout (TinyBERT's train_aug.tsv).\n"
                                   "  examples: {{guid=, text_a=, text_b=, label=}}, labels: the label list (class id = index-1),\n"
                                   "  info: {file=, skipped=, regression=, n=}. Tasks: cola sst-2 mrpc sts-b qqp mnli mnli-mm qnli rte wnli\n"
                                   "  chnsenti lcqmc xnli text-clf (upstream columns, headers, label lists)."},
        {"read_tsv", l_read_tsv, "rt.data.read_tsv(path, {header=false, columns=n}) -> rows, header\n"
                                 "  Tab-separated, no quote processing, BOM/CRLF handled; a row with another column count is an error naming file:line."},
        {"read_ner", l_read_ner, "rt.data.read_ner(path, {upstream=false}) -> sentences {{words=, labels=, line=}}, label list\n"
                                 "  'char label' per line, blank line between sentences (upstream=true: only after '。')."},
        {"read_squad", l_read_squad, "rt.data.read_squad(path) -> {{id=, question=, context=, title=, answers={{text=, start=}}}} (SQuAD v1.1 / CMRC 2018)."},
        {"task_names", l_task_names, "rt.data.task_names() -> the task names read_task knows."},
        {"truncate_pair", l_truncate_pair, "rt.data.truncate_pair(na, nb, max_len) -> na, nb after upstream pop-the-longer truncation."},
        {"pack_i64", l_pack_i64, "rt.data.pack_i64(rows, width=longest, pad=0) -> [B, width] i64 tensor."},
        {NULL, NULL, NULL},
    };
    lua_newtable(L);
    rtl_register(L, -1, "rt.data", fns);
    rtl_open_pretrain(L, -1);
    lua_setfield(L, rt, "_data");   /* lua/retort/data.lua builds rt.data on top of it */
}
