/* l_model.c — rt.model: build, load, run and save BERT / NEZHA / TinyBERT models
 * The userdata "rt.Model" owns an rt_model; its parameters are the
 * live tensors (requires_grad) handed out by named_parameters(). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lrt.h"
#include "../autograd/graph.h"
#include "../models/model.h"

#define MODEL_MT "rt.Model"

typedef struct { rt_model *m; } lmodel;

static rt_model *check_model(lua_State *L, int i) {
    lmodel *u = luaL_checkudata(L, i, MODEL_MT);
    if (!u->m) luaL_error(L, "model has been freed");
    return u->m;
}

/* ------------------------------------------------------------------ JSON <-> Lua */

static void push_json(lua_State *L, const cJSON *j) {
    if (cJSON_IsObject(j)) {
        lua_newtable(L);
        const cJSON *e;
        cJSON_ArrayForEach(e, j) {
            if (cJSON_IsNull(e)) continue;
            push_json(L, e);
            lua_setfield(L, -2, e->string);
        }
    } else if (cJSON_IsArray(j)) {
        lua_newtable(L);
        const cJSON *e;
        int i = 1;
        cJSON_ArrayForEach(e, j) { push_json(L, e); lua_rawseti(L, -2, i++); }
    } else if (cJSON_IsNumber(j)) {
        double v = j->valuedouble;
        if (v == (double)(long long)v && v > -9e15 && v < 9e15) lua_pushinteger(L, (lua_Integer)v);
        else lua_pushnumber(L, v);
    } else if (cJSON_IsString(j)) {
        lua_pushstring(L, j->valuestring);
    } else if (cJSON_IsBool(j)) {
        lua_pushboolean(L, cJSON_IsTrue(j));
    } else {
        lua_pushnil(L);
    }
}

static cJSON *to_json(lua_State *L, int idx, int depth) {
    idx = lua_absindex(L, idx);
    if (depth > 32) luaL_error(L, "config: table nested too deeply");
    switch (lua_type(L, idx)) {
    case LUA_TBOOLEAN: return cJSON_CreateBool(lua_toboolean(L, idx));
    case LUA_TNUMBER: return cJSON_CreateNumber(lua_tonumber(L, idx));
    case LUA_TSTRING: return cJSON_CreateString(lua_tostring(L, idx));
    case LUA_TTABLE: {
        lua_Integer n = (lua_Integer)lua_rawlen(L, idx), count = 0;
        lua_pushnil(L);
        while (lua_next(L, idx)) { count++; lua_pop(L, 1); }
        if (count == n) {
            cJSON *a = cJSON_CreateArray();
            for (lua_Integer i = 1; i <= n; i++) {
                lua_rawgeti(L, idx, i);
                cJSON_AddItemToArray(a, to_json(L, -1, depth + 1));
                lua_pop(L, 1);
            }
            return a;
        }
        cJSON *o = cJSON_CreateObject();
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            lua_pushvalue(L, -2);
            const char *k = lua_tostring(L, -1);     /* numbers become "0", "1" (id2label) */
            if (k) cJSON_AddItemToObject(o, k, to_json(L, -2, depth + 1));
            lua_pop(L, 2);
        }
        return o;
    }
    default:
        return luaL_error(L, "config: cannot store a %s in JSON", luaL_typename(L, idx)), NULL;
    }
}

/* ------------------------------------------------------------------ push / construct */

static void push_model(lua_State *L, rt_model *m) {
    lmodel *u = lua_newuserdatauv(L, sizeof *u, 1);
    u->m = m;
    luaL_setmetatable(L, MODEL_MT);
}

static int model_new(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    cJSON *j = to_json(L, 1, 0);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    rt_config c;
    rt_status st = rt_config_parse(text, "rt.model.new", &c);
    free(text);
    if (st) return rtl_error(L);
    rt_generator gen, *g = NULL;
    if (lua_istable(L, 2) && lua_getfield(L, 2, "seed") == LUA_TNUMBER) {
        gen.seed = (uint64_t)lua_tointeger(L, -1);
        gen.offset = 0;
        g = &gen;
    }
    rt_model *m = rt_model_new(&c, g);
    if (!m) { rt_config_free(&c); return rtl_error(L); }
    m->training = true;
    push_model(L, m);
    return 1;
}

static int model_load(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    rt_load_opts o;
    memset(&o, 0, sizeof o);
    o.classifier_relu = -1;
    o.regression = -1;
    bool quiet = false;
    if (lua_istable(L, 2)) {
        lua_getfield(L, 2, "strict"); o.strict = lua_toboolean(L, -1); lua_pop(L, 1);
        lua_getfield(L, 2, "quiet"); quiet = lua_toboolean(L, -1); lua_pop(L, 1);
        if (lua_getfield(L, 2, "problem_type") == LUA_TSTRING)
            o.regression = !strcmp(lua_tostring(L, -1), "regression");
        lua_pop(L, 1);
        lua_getfield(L, 2, "num_labels"); o.num_labels = (int)luaL_optinteger(L, -1, 0); lua_pop(L, 1);
        if (lua_getfield(L, 2, "classifier_activation") == LUA_TSTRING) {
            const char *s = lua_tostring(L, -1);
            if (!strcmp(s, "relu")) o.classifier_relu = 1;
            else if (!strcmp(s, "none")) o.classifier_relu = 0;
            else luaL_error(L, "rt.model.load: classifier_activation must be \"relu\" or \"none\"");
        }
        lua_pop(L, 1);
        if (lua_getfield(L, 2, "heads") == LUA_TTABLE) {
            int n = (int)lua_rawlen(L, -1);
            for (int i = 1; i <= n; i++) {
                lua_rawgeti(L, -1, i);
                const char *h = lua_tostring(L, -1);
                unsigned b = h ? rt_head_parse(h) : 0;
                if (!b) luaL_error(L, "rt.model.load: unknown head '%s' (mlm, nsp, classifier, token_classifier, qa)",
                                   h ? h : "?");
                o.heads |= b;
                lua_pop(L, 1);
            }
        }
        lua_pop(L, 1);
    }
    rt_model *m = rt_model_load(path, &o);
    if (!m) return rtl_error(L);
    m->training = false;
    push_model(L, m);
    if (o.report[0] && !quiet) fprintf(stderr, "%s", o.report);
    lua_pushstring(L, o.report);
    return 2;
}

/* ------------------------------------------------------------------ forward */

/* The tensor in field k of the table at t, or NULL when absent. The reference is
 * anchored in a Tensor box pushed on the Lua stack (the pointer is borrowed), so
 * a Lua error on a later field cannot leak it; close_boxes releases them early. */
static rt_tensor *opt_tensor(lua_State *L, int t, const char *k, rt_dtype hint) {
    lua_getfield(L, t, k);
    if (lua_isnil(L, -1)) { lua_pop(L, 1); return NULL; }
    if (!rtl_test_tensor(L, -1) && !lua_istable(L, -1))
        luaL_error(L, "forward: %s must be a Tensor or a table of numbers", k);
    rt_tensor *r = rtl_to_tensor(L, -1, hint);
    if (!r) rtl_error(L);
    lua_pop(L, 1);
    rtl_push_tensor(L, r);   /* the box owns the reference */
    return r;
}

/* Release the tensors of the boxes above stack index base now (not at the next GC). */
static void close_boxes(lua_State *L, int base) {
    for (int i = lua_gettop(L); i > base; i--) {
        rtl_close_tensor(L, i);
    }
    lua_settop(L, base);
}

static bool opt_bool(lua_State *L, int t, const char *k, bool def) {
    lua_getfield(L, t, k);
    bool r = lua_isnil(L, -1) ? def : lua_toboolean(L, -1);
    lua_pop(L, 1);
    return r;
}

static void push_owned(lua_State *L, rt_tensor **t) {
    if (*t) { rtl_push_tensor(L, *t); *t = NULL; } else lua_pushnil(L);
}

static void push_list(lua_State *L, rt_tensor **ts, int n) {
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) { push_owned(L, &ts[i]); lua_rawseti(L, -2, i + 1); }
}

/* Reads the input table at index 2 into in (boxes pushed above the stack top). */
static void read_input(lua_State *L, rt_model *m, rt_model_input *in) {
    luaL_checktype(L, 2, LUA_TTABLE);
    memset(in, 0, sizeof *in);
    in->input_ids = opt_tensor(L, 2, "input_ids", RT_I64);
    in->token_type_ids = opt_tensor(L, 2, "token_type_ids", RT_I64);
    in->attention_mask = opt_tensor(L, 2, "attention_mask", RT_I64);
    in->mlm_positions = opt_tensor(L, 2, "mlm_positions", RT_I64);
    in->labels = opt_tensor(L, 2, "labels", m->cfg.regression ? RT_F32 : RT_I64);
    in->mlm_labels = opt_tensor(L, 2, "mlm_labels", RT_I64);
    in->nsp_labels = opt_tensor(L, 2, "nsp_labels", RT_I64);
    if (!in->nsp_labels) in->nsp_labels = opt_tensor(L, 2, "next_sentence_label", RT_I64);
    in->start_positions = opt_tensor(L, 2, "start_positions", RT_I64);
    in->end_positions = opt_tensor(L, 2, "end_positions", RT_I64);
    in->output_probs = opt_bool(L, 2, "output_probs", false);
    in->no_fit = !opt_bool(L, 2, "output_fit", true);
}

/* The head outputs and loss of o into the table on top. */
static void push_heads(lua_State *L, rt_model_output *o) {
    push_owned(L, &o->pooled); lua_setfield(L, -2, "pooled");
    push_owned(L, &o->logits); lua_setfield(L, -2, "logits");
    push_owned(L, &o->mlm_logits); lua_setfield(L, -2, "mlm_logits");
    push_owned(L, &o->nsp_logits); lua_setfield(L, -2, "nsp_logits");
    push_owned(L, &o->start_logits); lua_setfield(L, -2, "start_logits");
    push_owned(L, &o->end_logits); lua_setfield(L, -2, "end_logits");
    push_owned(L, &o->loss); lua_setfield(L, -2, "loss");
}

static int model_forward(lua_State *L) {
    rt_model *m = check_model(L, 1);
    rt_model_input in;
    int base = lua_gettop(L);   /* the input tensors' boxes go above */
    read_input(L, m, &in);
    rt_model_output o;
    rt_status st = in.input_ids ? rt_model_forward(m, &in, &o)
                                : rt_errorf(RT_EINVAL, "forward: input_ids is required");
    close_boxes(L, base);
    if (st) return rtl_error(L);
    int L1 = o.n_layers;
    lua_createtable(L, 0, 12);
    push_list(L, o.hidden, L1 + 1); lua_setfield(L, -2, "hidden_states");
    lua_getfield(L, -1, "hidden_states");
    lua_rawgeti(L, -1, L1 + 1);
    lua_setfield(L, -3, "last_hidden_state");
    lua_pop(L, 1);
    push_list(L, o.att, L1); lua_setfield(L, -2, "attentions");
    if (o.probs) { push_list(L, o.probs, L1); lua_setfield(L, -2, "probs"); }
    if (o.fit) { push_list(L, o.fit, L1 + 1); lua_setfield(L, -2, "fit_hidden_states"); }
    push_heads(L, &o);
    rt_model_output_free(&o);
    return 1;
}

static int model_infer(lua_State *L) {
    rt_model *m = check_model(L, 1);
    rt_model_input in;
    int base = lua_gettop(L);
    read_input(L, m, &in);
    rt_model_output o;
    rt_status st = in.input_ids ? rt_model_infer(m, &in, &o) : rt_errorf(RT_EINVAL, "infer: input_ids is required");
    close_boxes(L, base);
    if (st) return rtl_error(L);
    lua_createtable(L, 0, 9);
    push_owned(L, &o.hidden[o.n_layers]); lua_setfield(L, -2, "last_hidden_state");
    push_heads(L, &o);
    rt_model_output_free(&o);
    return 1;
}

static int model_to(lua_State *L) {
    rt_model *m = check_model(L, 1);
    const char *s = luaL_optstring(L, 2, "live");
    rt_prec p;
    if (!strcmp(s, "live")) p = RT_PREC_LIVE;
    else if (!strcmp(s, "bf16") || !strcmp(s, "bfloat16")) p = RT_PREC_BF16;
    else if (!strcmp(s, "fp32") || !strcmp(s, "f32") || !strcmp(s, "float32")) p = RT_PREC_F32;
    else if (!strcmp(s, "int8")) p = RT_PREC_INT8;
    else return luaL_error(L, "to: precision must be \"fp32\", \"bf16\", \"int8\" or \"live\" (got \"%s\")", s);
    if (rt_model_set_precision(m, p)) return rtl_error(L);
    lua_settop(L, 1);
    return 1;
}

static int model_quantize(lua_State *L) {
    rt_model *m = check_model(L, 1);
    if (rt_model_set_precision(m, RT_PREC_INT8)) return rtl_error(L);
    lua_settop(L, 1);
    return 1;
}

static int model_precision(lua_State *L) {
    rt_model *m = check_model(L, 1);
    lua_pushstring(L, rt_prec_name(rt_model_precision(m)));
    lua_pushboolean(L, rt_model_precision_native(m));
    return 2;
}

/* ------------------------------------------------------------------ parameters */

static int model_named_parameters(lua_State *L) {
    rt_model *m = check_model(L, 1);
    lua_createtable(L, 0, m->nparams);
    for (int i = 0; i < m->nparams; i++) {
        rt_tensor *t = *m->params[i].slot;
        rt_retain(t);
        rtl_push_tensor(L, t);
        lua_setfield(L, -2, m->params[i].name);
    }
    return 1;
}

static int model_parameters(lua_State *L) {
    rt_model *m = check_model(L, 1);
    lua_createtable(L, m->nparams, 0);
    for (int i = 0; i < m->nparams; i++) {
        rt_tensor *t = *m->params[i].slot;
        rt_retain(t);
        rtl_push_tensor(L, t);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int model_parameter_names(lua_State *L) {
    rt_model *m = check_model(L, 1);
    lua_createtable(L, m->nparams, 0);
    for (int i = 0; i < m->nparams; i++) {
        lua_pushstring(L, m->params[i].name);
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int model_num_parameters(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)rt_model_num_parameters(check_model(L, 1)));
    return 1;
}

static int model_zero_grad(lua_State *L) {
    rt_model *m = check_model(L, 1);
    for (int i = 0; i < m->nparams; i++) {
        rt_tensor *t = *m->params[i].slot;
        rt_release(t->grad);
        t->grad = NULL;
    }
    lua_settop(L, 1);
    return 1;
}

static int model_train(lua_State *L) {
    rt_model *m = check_model(L, 1);
    m->training = lua_isnone(L, 2) ? true : lua_toboolean(L, 2);
    lua_settop(L, 1);
    return 1;
}

static int model_eval(lua_State *L) {
    check_model(L, 1)->training = false;
    lua_settop(L, 1);
    return 1;
}

static int model_save(lua_State *L) {
    rt_model *m = check_model(L, 1);
    const char *dir = luaL_checkstring(L, 2);
    const char *fmt = "safetensors";
    if (lua_istable(L, 3)) {
        lua_getfield(L, 3, "format");
        fmt = luaL_optstring(L, -1, "safetensors");
    }
    if (strcmp(fmt, "safetensors") && strcmp(fmt, "bin"))
        return luaL_error(L, "save: format must be \"safetensors\" or \"bin\" (got \"%s\")", fmt);
    /* fold Lua-side edits of m.config (id2label, ...) into the saved JSON */
    if (lua_getiuservalue(L, 1, 1) == LUA_TTABLE) {
        cJSON *j = to_json(L, -1, 0);
        rt_config tmp;
        char *text = cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
        rt_status st = rt_config_parse(text, "m.config", &tmp);
        free(text);
        if (st) return rtl_error(L);
        /* architecture must not change under the weights */
        if (tmp.hidden_size != m->cfg.hidden_size || tmp.num_hidden_layers != m->cfg.num_hidden_layers ||
            tmp.vocab_size != m->cfg.vocab_size) {
            rt_config_free(&tmp);
            return luaL_error(L, "save: m.config changes the architecture (hidden_size, num_hidden_layers "
                                 "or vocab_size); build a new model instead");
        }
        cJSON_Delete(m->cfg.json);
        m->cfg.json = tmp.json;
        tmp.json = NULL;
        rt_config_free(&tmp);
    }
    lua_pop(L, 1);
    if (rt_model_save(m, dir, fmt)) return rtl_error(L);
    return 0;                         /* nothing for the REPL to print */
}

static int model_gc(lua_State *L) {
    lmodel *u = luaL_checkudata(L, 1, MODEL_MT);
    rt_model_free(u->m);
    u->m = NULL;
    return 0;
}

/* ------------------------------------------------------------------ printing */

static void fmt_count(char *b, size_t n, int64_t v) {
    char t[32];
    snprintf(t, sizeof t, "%lld", (long long)v);
    int len = (int)strlen(t), o = 0;
    for (int i = 0; i < len && o < (int)n - 1; i++) {
        if (i && (len - i) % 3 == 0 && o < (int)n - 2) b[o++] = ',';
        b[o++] = t[i];
    }
    b[o] = 0;
}

/* The parameter tree: one node per dotted name component. */
typedef struct tnode {
    char name[64];
    int64_t count;
    const rt_tensor *leaf;        /* parameters are leaves */
    int n, cap;
    struct tnode **kids;
} tnode;

static tnode *tnode_child(tnode *p, const char *name, size_t len) {
    for (int i = 0; i < p->n; i++)
        if (strlen(p->kids[i]->name) == len && !strncmp(p->kids[i]->name, name, len)) return p->kids[i];
    if (p->n == p->cap) {
        int cap = p->cap ? p->cap * 2 : 4;
        tnode **k = realloc(p->kids, sizeof *k * (size_t)cap);
        if (!k) return NULL;
        p->kids = k;
        p->cap = cap;
    }
    tnode *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    snprintf(c->name, sizeof c->name, "%.*s", (int)(len < 63 ? len : 63), name);
    p->kids[p->n++] = c;
    return c;
}

static void tnode_free(tnode *t) {
    for (int i = 0; i < t->n; i++) tnode_free(t->kids[i]);
    free(t->kids);
    free(t);
}

static bool is_number(const char *s) {
    if (!*s) return false;
    for (; *s; s++) if (*s < '0' || *s > '9') return false;
    return true;
}

static void tree_line(luaL_Buffer *b, int depth, const char *name, const char *shapes, int64_t count) {
    char line[400], cnt[32];
    fmt_count(cnt, sizeof cnt, count);
    int w = 34 - 2 * depth;
    snprintf(line, sizeof line, "%*s%-*s %-24s %12s\n", 2 * depth, "", w > 4 ? w : 4, name, shapes, cnt);
    luaL_addstring(b, line);
}

static void print_node(luaL_Buffer *b, const tnode *t, int depth) {
    bool all_leaves = t->n > 0, numbered = t->n > 0;
    for (int i = 0; i < t->n; i++) {
        if (!t->kids[i]->leaf) all_leaves = false;
        if (!is_number(t->kids[i]->name)) numbered = false;
    }
    if (all_leaves) {           /* a module of weight/bias: one line with its shapes */
        char shapes[128] = "";
        for (int i = 0; i < t->n; i++) {
            char sh[48];
            rt_shape_str(t->kids[i]->leaf, sh, sizeof sh);
            if (strlen(shapes) + strlen(sh) + 4 < sizeof shapes) {
                if (i) strcat(shapes, " ");
                strcat(shapes, sh);
            }
        }
        tree_line(b, depth, t->name, shapes, t->count);
        return;
    }
    if (t->leaf) { char sh[48]; tree_line(b, depth, t->name, rt_shape_str(t->leaf, sh, sizeof sh), t->count); return; }
    if (numbered) {             /* encoder layers: one summary and the first layer's structure */
        char nm[96], each[32], what[64];
        snprintf(nm, sizeof nm, "%s.0..%d", t->name, t->n - 1);
        fmt_count(each, sizeof each, t->kids[0]->count);
        snprintf(what, sizeof what, "%d x %s", t->n, each);
        tree_line(b, depth, nm, what, t->count);
        for (int i = 0; i < t->kids[0]->n; i++) print_node(b, t->kids[0]->kids[i], depth + 1);
        return;
    }
    if (depth >= 0) tree_line(b, depth, t->name, "", t->count);
    for (int i = 0; i < t->n; i++) print_node(b, t->kids[i], depth + 1);
}

static void print_tree(luaL_Buffer *b, rt_model *m) {
    tnode *root = calloc(1, sizeof *root);
    if (!root) return;
    for (int p = 0; p < m->nparams; p++) {
        const char *nm = m->params[p].name;
        const rt_tensor *t = *m->params[p].slot;
        tnode *cur = root;
        root->count += rt_numel(t);
        while (cur && *nm) {
            const char *dot = strchr(nm, '.');
            size_t len = dot ? (size_t)(dot - nm) : strlen(nm);
            cur = tnode_child(cur, nm, len);
            if (!cur) break;
            cur->count += rt_numel(t);
            if (!dot) cur->leaf = t;
            nm += len + (dot ? 1 : 0);
        }
    }
    for (int i = 0; i < root->n; i++) print_node(b, root->kids[i], 1);
    tnode_free(root);
}

static int model_tostring(lua_State *L) {
    rt_model *m = check_model(L, 1);
    rt_config *c = &m->cfg;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    char line[512], cnt[32], heads[128] = "";
    for (int i = 0; i < 5; i++)
        if (c->heads & (1u << i)) {
            if (heads[0]) strcat(heads, ", ");
            strcat(heads, rt_head_name(1u << i));
        }
    fmt_count(cnt, sizeof cnt, rt_model_num_parameters(m));
    const char *kind = c->use_relative_position ? "NEZHA" : c->fit_size > 0 ? "TinyBERT" : "BERT";
    char rel[48] = "";
    if (c->use_relative_position) snprintf(rel, sizeof rel, ", relative positions K=%d", c->max_relative_position);
    snprintf(line, sizeof line, "%s model: %d layers, hidden %d, %d heads, FFN %d, vocab %d, %s%s; "
             "heads: %s; %s; %s parameters\n", kind, c->num_hidden_layers, c->hidden_size,
             c->num_attention_heads, c->intermediate_size, c->vocab_size, rt_act_name(c->hidden_act),
             rel, heads[0] ? heads : "none", m->training ? "train" : "eval", cnt);
    luaL_addstring(&b, line);
    print_tree(&b, m);
    luaL_pushresult(&b);
    return 1;
}

static int model_index(lua_State *L) {
    check_model(L, 1);
    const char *k = lua_tostring(L, 2);
    if (k && !strcmp(k, "config")) {
        if (lua_getiuservalue(L, 1, 1) != LUA_TTABLE) {
            lua_pop(L, 1);
            rt_model *m = check_model(L, 1);
            rt_config_sync(&m->cfg);
            push_json(L, m->cfg.json);
            lua_pushvalue(L, -1);
            lua_setiuservalue(L, 1, 1);
        }
        return 1;
    }
    if (k && !strcmp(k, "training")) { lua_pushboolean(L, check_model(L, 1)->training); return 1; }
    luaL_getmetatable(L, MODEL_MT);
    lua_getfield(L, -1, "__methods");
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
    return 1;
}

static int model_call(lua_State *L) { return model_forward(L); }

/* ------------------------------------------------------------------ module functions */

static int l_relative_table(lua_State *L) {
    int K = (int)luaL_checkinteger(L, 1), d = (int)luaL_checkinteger(L, 2);
    rt_tensor *t = rt_relative_table(K, d);
    RTL_CHECK(L, t);
    rtl_push_tensor(L, t);
    return 1;
}

static int l_read_config(lua_State *L) {
    rt_config c;
    if (rt_config_load(luaL_checkstring(L, 1), &c)) return rtl_error(L);
    rt_config_sync(&c);
    push_json(L, c.json);
    rt_config_free(&c);
    return 1;
}

static const rtl_reg methods[] = {
    {"forward", model_forward,
     "m:forward{input_ids=, token_type_ids=, attention_mask=, mlm_positions=, output_probs=false,\n"
     "          output_fit=true, labels=, mlm_labels=, nsp_labels=, start_positions=, end_positions=}\n"
     "Runs the model ([batch, seq] integer ids; 0-based data). Returns a table:\n"
     "  hidden_states[1..L+1] (1 = embeddings), last_hidden_state, attentions[1..L] (scaled,\n"
     "  masked, pre-softmax scores [B,heads,S,S]), probs[1..L] (with output_probs), pooled,\n"
     "  logits (classifier), mlm_logits ([B,S,V] or [B,P,V] with mlm_positions), nsp_logits,\n"
     "  start_logits / end_logits (qa), fit_hidden_states[1..L+1] (TinyBERT fit_dense), and loss\n"
     "  (sum of the head losses whose labels were given; -100 labels are ignored).\n"
     "Dropout is active after m:train(), off after m:eval(). Also callable as m{...}."},
    {"infer", model_infer,
     "m:infer{input_ids=, token_type_ids=, attention_mask=, mlm_positions=, labels=, ...}\n"
     "The inference-only path: no autograd nodes (whatever the grad mode), dropout off, activations\n"
     "reused across calls, one thread team per layer, bias+GELU and bias+residual+LayerNorm fused;\n"
     "in the precision set by m:to / m:quantize. Returns last_hidden_state, pooled, logits,\n"
     "mlm_logits, nsp_logits, start_logits, end_logits, loss (no hidden_states / attentions).\n"
     "In fp32 it matches m:forward in eval mode within float rounding."},
    {"to", model_to,
     "m:to(\"bf16\" | \"int8\" | \"fp32\" | \"live\") -> m: the precision of the encoder's linear layers\n"
     "in m:infer. fp32: the weights prepacked for the AVX-512 kernel (no per-call packing);\n"
     "bf16: bf16 inputs, fp32 accumulation (AVX512-BF16 when the CPU has it, else an emulation\n"
     "with the same rounding); int8: see m:quantize; live (also m:to()): no packed copy, the live\n"
     "fp32 weights through the BLAS on every call (the default). The fp32 parameters stay the\n"
     "master copy (m:forward and training are unchanged); a packed copy is made from the weights\n"
     "as they are now: call m:to again after changing them."},
    {"quantize", model_quantize,
     "m:quantize() -> m: int8 inference (m:infer): per-channel symmetric int8 weights, dynamic\n"
     "per-row int8 activations, exact int32 sums (AVX512-VNNI vpdpbusd when present, else a\n"
     "portable loop with the same results). Same as m:to(\"int8\")."},
    {"precision", model_precision,
     "m:precision() -> \"live\" | \"fp32\" | \"bf16\" | \"int8\", native (false when emulated)."},
    {"named_parameters", model_named_parameters,
     "m:named_parameters() -> {name = tensor}: the live parameters (requires_grad), named like the\n"
     "PyTorch state_dict (bert.encoder.layer.0.attention.self.query.weight, ...)."},
    {"parameters", model_parameters, "m:parameters() -> {tensor, ...} in registration order."},
    {"parameter_names", model_parameter_names, "m:parameter_names() -> {name, ...} in registration order."},
    {"num_parameters", model_num_parameters, "m:num_parameters() -> total number of parameter elements."},
    {"zero_grad", model_zero_grad, "m:zero_grad(): drops the .grad of every parameter; returns m."},
    {"train", model_train, "m:train([mode=true]): dropout on (training mode); returns m."},
    {"eval", model_eval, "m:eval(): dropout off (inference mode); returns m."},
    {"save", model_save,
     "m:save(dir, {format=\"safetensors\"|\"bin\"}): writes dir/config.json and dir/model.safetensors\n"
     "(or dir/pytorch_model.bin, readable by torch.load), plus vocab.txt when the model was loaded\n"
     "from a folder with one. Edits to m.config are saved. The folder is replaced as a whole: the\n"
     "files are staged under hidden names (.<name>.retort-new), a commit record (.retort-save) is\n"
     "written, then they are renamed into place; a kill or a full disk leaves the old or the new\n"
     "model, never a mix, and the next save there finishes or removes what was left. A weights file\n"
     "of the other format already in dir is rewritten from this model in the same commit."},
    {NULL, NULL, NULL}};

static const rtl_reg funcs[] = {
    {"new", model_new,
     "rt.model.new(config [, {seed=}]) -> model with random weights (normal(0, initializer_range),\n"
     "biases 0, LayerNorm 1/0), in training mode. config keys as config.json: vocab_size (required),\n"
     "hidden_size, num_hidden_layers, num_attention_heads, intermediate_size, hidden_act (gelu =\n"
     "erf, gelu_new = tanh, relu), max_position_embeddings, type_vocab_size (2), layer_norm_eps\n"
     "(1e-12), use_relative_position (NEZHA), max_relative_position (64), dropouts (0.1),\n"
     "initializer_range (0.02); retort keys: heads = {\"mlm\",\"nsp\",\"classifier\",\n"
     "\"token_classifier\",\"qa\"}, num_labels, id2label, fit_size (TinyBERT fit_dense),\n"
     "classifier_activation (\"relu\" = TinyBERT classifier(relu(pooled)), \"none\" = standard),\n"
     "problem_type = \"regression\".\n"
     "Limits (checked before anything is allocated, also by rt.model.load): vocab_size <= 2^24,\n"
     "hidden_size and fit_size <= 65536, num_hidden_layers <= 1024, num_attention_heads <= 1024,\n"
     "intermediate_size <= 2^20, max_position_embeddings and max_relative_position <= 2^20,\n"
     "type_vocab_size <= 65536, num_labels <= 2^20, and the f32 parameters must fit in the\n"
     "machine's physical memory."},
    {"load", model_load,
     "rt.model.load(path [, {strict=false, num_labels=, heads=, classifier_activation=, problem_type=,\n"
     "                       quiet=}])\n"
     "  -> model, report. path: a folder with config.json or bert_config.json and\n"
     "model.safetensors | pytorch_model.bin | model.ckpt.index (TF1), or one of those files.\n"
     "Key fix-ups: gamma/beta -> weight/bias, missing or extra `bert.`/`module.` prefixes,\n"
     "TinyBERT fit_denses.0 -> fit_dense, TF names. Heads and fit_size are inferred from the\n"
     "weights when the config does not list them. The report lists missing (randomly\n"
     "initialised) and unexpected keys like HF; strict=true turns them into an error. Encoder\n"
     "or embedding tensors the config needs but the weights lack are always an error (config and\n"
     "weights disagree). A folder whose m:save was interrupted loads as the old or the new save\n"
     "(see Model:save). The model is returned in eval mode."},
    {"relative_table", l_relative_table,
     "rt.model.relative_table(K, d) -> R [2K+1, d]: NEZHA's sinusoid table at the shifted index p,\n"
     "R[p][2k] = sin(p / 10000^(2k/d)), R[p][2k+1] = cos(...), float64 then float32."},
    {"read_config", l_read_config,
     "rt.model.read_config(path) -> table: config.json / bert_config.json with defaults filled in."},
    {NULL, NULL, NULL}};

void rtl_open_model(lua_State *L, int rt) {
    rt = lua_absindex(L, rt);
    luaL_newmetatable(L, MODEL_MT);
    lua_newtable(L);
    rtl_register(L, -1, "Model:", methods);
    lua_setfield(L, -2, "__methods");
    lua_pushcfunction(L, model_index); lua_setfield(L, -2, "__index");
    lua_newtable(L);                  /* what model_index computes, for completion and help */
    lua_pushliteral(L, "config"); lua_rawseti(L, -2, 1);
    lua_pushliteral(L, "training"); lua_rawseti(L, -2, 2);
    lua_setfield(L, -2, "__fields");
    lua_pushcfunction(L, model_gc); lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, model_tostring); lua_setfield(L, -2, "__tostring");
    lua_pushcfunction(L, model_call); lua_setfield(L, -2, "__call");
    lua_pushstring(L, "Model"); lua_setfield(L, -2, "__name");
    rtl_doc(L, -1, "Model", "A BERT / NEZHA / TinyBERT model (rt.model.new / rt.model.load). Methods: forward, "
            "infer, to, quantize, precision, named_parameters, parameters, parameter_names, num_parameters, zero_grad, train, eval, save; "
            "field m.config (table).");
    lua_pop(L, 1);
    lua_newtable(L);
    rtl_register(L, -1, "rt.model", funcs);
    rtl_doc(L, -1, "rt.model", "Models: rt.model.new(config), rt.model.load(path, opts), "
            "rt.model.relative_table(K, d), rt.model.read_config(path).");
    lua_setfield(L, rt, "model");
}
