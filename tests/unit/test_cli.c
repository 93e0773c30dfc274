/* test_cli.c — pure pieces of the command line: incomplete-chunk detection, the
 * REPL compile rule, completion candidates (raw access only), history capping,
 * the pretty-printer and the notebook JSON writer. Run from the repo root. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/cli.h"
#include "cli/nbjson.h"

static lua_State *new_L(void) {
    lua_State *L = luaL_newstate();
    luaL_openlibs(L);
    rtl_install(L, "lua");
    int st = luaL_dostring(L, "rt = require 'retort'");
    if (st != LUA_OK) fprintf(stderr, "%s\n", lua_tostring(L, -1));
    assert_int_equal(st, LUA_OK);
    return L;
}

static void test_msg_incomplete(void **s) {
    (void)s;
    assert_true(cli_msg_incomplete("input:1: 'end' expected near <eof>"));
    assert_true(cli_msg_incomplete("input:1: unfinished long string (starting at line 1) near <eof>"));
    assert_false(cli_msg_incomplete("input:1: unexpected symbol near '+'"));
    assert_false(cli_msg_incomplete("input:1: '<eof>' expected near 'x'"));
    assert_false(cli_msg_incomplete(""));
    assert_false(cli_msg_incomplete(NULL));
}

static void test_chunk_status(void **s) {
    (void)s;
    lua_State *L = new_L();
    int top = lua_gettop(L);
    assert_int_equal(cli_chunk_status(L, "x = 1"), CLI_CHUNK_OK);
    assert_int_equal(cli_chunk_status(L, "1 + 1"), CLI_CHUNK_OK);
    assert_int_equal(cli_chunk_status(L, "function f(x)"), CLI_CHUNK_INCOMPLETE);
    assert_int_equal(cli_chunk_status(L, "function f(x)\n  return x"), CLI_CHUNK_INCOMPLETE);
    assert_int_equal(cli_chunk_status(L, "function f(x)\n  return x\nend"), CLI_CHUNK_OK);
    assert_int_equal(cli_chunk_status(L, "for i = 1, 3 do\n print(i)"), CLI_CHUNK_INCOMPLETE);
    assert_int_equal(cli_chunk_status(L, "t = {"), CLI_CHUNK_INCOMPLETE);
    assert_int_equal(cli_chunk_status(L, "s = [[long"), CLI_CHUNK_INCOMPLETE);
    assert_int_equal(cli_chunk_status(L, "print('a',"), CLI_CHUNK_INCOMPLETE);
    assert_int_equal(cli_chunk_status(L, "x = = 2"), CLI_CHUNK_ERROR);
    assert_int_equal(cli_chunk_status(L, "1 +* 2"), CLI_CHUNK_ERROR);
    assert_int_equal(cli_chunk_status(L, "end"), CLI_CHUNK_ERROR);
    assert_int_equal(lua_gettop(L), top);
    lua_close(L);
}

/* Compile with the REPL rule and call: returns the first result as an integer. */
static long long eval_int(lua_State *L, const char *code, bool *suppress) {
    assert_int_equal(cli_compile(L, code, "=t", suppress), CLI_CHUNK_OK);
    assert_int_equal(lua_pcall(L, 0, 1, 0), LUA_OK);
    long long v = lua_tointeger(L, -1);
    lua_pop(L, 1);
    return v;
}

static void test_compile_rule(void **s) {
    (void)s;
    lua_State *L = new_L();
    bool sup = true;
    assert_int_equal(eval_int(L, "1 + 1", &sup), 2);
    assert_false(sup);
    assert_int_equal(eval_int(L, "6 * 7;", &sup), 42);
    assert_true(sup);
    assert_int_equal(eval_int(L, "y = 5\ny + 1", &sup), 6);          /* last line shows */
    assert_int_equal(eval_int(L, "local a = 2\nlocal b = 3\na * b  ", &sup), 6);
    assert_int_equal(eval_int(L, "z = 9", &sup), 0);
    /* "return end" / "return until" compile but must not be used: loops run fully. */
    assert_int_equal(eval_int(L, "n = 0\nfor i = 1, 3 do\n  n = n + i\nend", &sup), 0);
    assert_int_equal(eval_int(L, "n", &sup), 6);
    assert_int_equal(eval_int(L, "repeat\n  n = n + 1\nuntil n >= 10", &sup), 0);
    assert_int_equal(eval_int(L, "n", &sup), 10);
    assert_int_equal(eval_int(L, "if n > 100 then\n  n = 0\nelse\n  n = n + 1\nend\nn", &sup), 11);
    assert_int_equal(eval_int(L, "f = function() return 5 end\nf()", &sup), 5);
    assert_int_equal(eval_int(L, "t = {}\nf()\n{1}", &sup), 0);   /* not f(){1}: a table */
    assert_int_equal(eval_int(L, "t = {\n  1,\n  2\n}\n#t", &sup), 2);                  /* statement: no value */
    assert_int_equal(luaL_dostring(L, "return z"), LUA_OK);
    assert_int_equal(lua_tointeger(L, -1), 9);
    lua_pop(L, 1);
    assert_int_equal(cli_compile(L, "x = = 1", "=t", NULL), CLI_CHUNK_ERROR);
    assert_non_null(strstr(lua_tostring(L, -1), "t:1:"));
    lua_pop(L, 1);
    lua_close(L);
}

static void test_eval_underscore(void **s) {
    (void)s;
    lua_State *L = new_L();
    assert_int_equal(cli_eval(L, "40 + 2;", "=t", NULL, NULL), LUA_OK);
    assert_int_equal(luaL_dostring(L, "return _"), LUA_OK);
    assert_int_equal(lua_tointeger(L, -1), 42);
    lua_settop(L, 0);
    assert_int_equal(cli_eval(L, "error('boom')", "=t", NULL, NULL), LUA_ERRRUN);
    const char *msg = lua_tostring(L, -1);
    assert_non_null(strstr(msg, "boom"));
    assert_non_null(strstr(msg, "stack traceback"));
    lua_close(L);
}

static int count(char **c) { int n = 0; while (c && c[n]) n++; return n; }
static bool has(char **c, const char *w) {
    for (int i = 0; c && c[i]; i++) if (strcmp(c[i], w) == 0) return true;
    return false;
}

static const char *SETUP =
    "foo = {bar = {baz = 1, bam = 2}, fn = function() end}\n"
    "local methods = {method1 = function() end, method2 = function() end, field = 1}\n"
    "obj = setmetatable({own = 1}, {__index = methods})\n"
    "called = false\n"
    "proxy = setmetatable({}, {__index = function() called = true; error('must not run') end,\n"
    "                         __pairs = function() called = true; error('must not run') end})\n"
    "str = 'abc'\n";

static int c_index(lua_State *L) {      /* like the Tensor binding: methods in an upvalue */
    lua_pushboolean(L, 1);
    lua_setglobal(L, "called");
    lua_pushvalue(L, 2);
    lua_gettable(L, lua_upvalueindex(1));
    return 1;
}

static void test_complete(void **s) {
    (void)s;
    lua_State *L = new_L();
    assert_int_equal(luaL_dostring(L, SETUP), LUA_OK);
    lua_newuserdatauv(L, 8, 0);                       /* ud with a C-closure __index */
    lua_newtable(L);
    assert_int_equal(luaL_dostring(L, "return {sum = function() end, shape = function() end, size = 3}"), LUA_OK);
    lua_pushcclosure(L, c_index, 1);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    lua_setglobal(L, "ud");
    int top = lua_gettop(L);
    char **c;
    c = cli_complete(L, "whi");
    assert_true(has(c, "while"));
    cli_free_candidates(c);
    c = cli_complete(L, "fo");
    assert_true(has(c, "foo") && has(c, "for"));
    cli_free_candidates(c);
    c = cli_complete(L, "foo.");
    assert_int_equal(count(c), 2);
    assert_string_equal(c[0], "foo.bar");
    assert_string_equal(c[1], "foo.fn");
    cli_free_candidates(c);
    c = cli_complete(L, "foo.bar.ba");
    assert_int_equal(count(c), 2);
    assert_string_equal(c[0], "foo.bar.bam");
    cli_free_candidates(c);
    c = cli_complete(L, "foo.bar.");
    assert_int_equal(count(c), 2);
    assert_string_equal(c[1], "foo.bar.baz");
    cli_free_candidates(c);
    c = cli_complete(L, "obj:me");
    assert_int_equal(count(c), 2);
    assert_string_equal(c[0], "obj:method1");
    cli_free_candidates(c);
    assert_null(cli_complete(L, "obj:fi"));                       /* not a method */
    c = cli_complete(L, "obj.");
    assert_true(has(c, "obj.field") && has(c, "obj.own") && has(c, "obj.method2"));
    cli_free_candidates(c);
    assert_null(cli_complete(L, "proxy.x"));
    assert_null(cli_complete(L, "proxy.x.y"));
    c = cli_complete(L, "str:up");
    assert_true(has(c, "str:upper"));
    cli_free_candidates(c);
    c = cli_complete(L, "rt.do");
    assert_true(has(c, "rt.doc") && has(c, "rt.doc_names"));
    cli_free_candidates(c);
    c = cli_complete(L, "rt.pre");                              /* lazy lua/retort module */
    assert_true(has(c, "rt.pretty"));
    cli_free_candidates(c);
    c = cli_complete(L, "ud:s");
    assert_int_equal(count(c), 2);
    assert_string_equal(c[0], "ud:shape");
    assert_string_equal(c[1], "ud:sum");
    cli_free_candidates(c);
    c = cli_complete(L, "ud.si");
    assert_true(has(c, "ud.size"));
    cli_free_candidates(c);
    assert_null(cli_complete(L, "nosuch.x"));
    assert_null(cli_complete(L, "foo.bar.baz.x"));                /* a number has no fields */
    assert_null(cli_complete(L, "1abc.x"));
    assert_int_equal(lua_gettop(L), top);
    lua_getglobal(L, "called");
    assert_false(lua_toboolean(L, -1));                           /* no metamethod ran */
    lua_close(L);
}

static int n_loaded;
static char loaded[8][64];
static void on_entry(const char *e, void *ud) {
    (void)ud;
    if (n_loaded < 8) snprintf(loaded[n_loaded], 64, "%s", e);
    n_loaded++;
}

static void test_history(void **s) {
    (void)s;
    char path[] = "/tmp/retort_hist_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(cli_history_append(path, "a = 1"), 0);
    assert_int_equal(cli_history_append(path, "b = 2"), 0);
    assert_int_equal(cli_history_append(path, "function f()\n  return 1\nend"), 0);
    assert_int_equal(cli_history_append(path, "f()"), 0);
    assert_int_equal(cli_history_append(path, "print('x')"), 0);
    n_loaded = 0;
    assert_int_equal(cli_history_load(path, 3, on_entry, NULL), 3);
    assert_int_equal(n_loaded, 3);
    assert_string_equal(loaded[0], "function f()\n  return 1\nend");
    assert_string_equal(loaded[2], "print('x')");
    /* The file was rewritten with the last 3 entries only. */
    n_loaded = 0;
    assert_int_equal(cli_history_load(path, 100, on_entry, NULL), 3);
    FILE *f = fopen(path, "r");
    int lines = 0, ch;
    while ((ch = fgetc(f)) != EOF) lines += ch == '\n';
    fclose(f);
    assert_int_equal(lines, 3);
    unlink(path);
    assert_int_equal(cli_history_load("/nonexistent/dir/h", 10, on_entry, NULL), -1);
    setenv("RETORT_HISTORY", "/tmp/x_hist", 1);
    char buf[256];
    assert_string_equal(cli_history_path(buf, sizeof buf), "/tmp/x_hist");
    unsetenv("RETORT_HISTORY");
    setenv("HOME", "/home/someone", 1);
    assert_string_equal(cli_history_path(buf, sizeof buf), "/home/someone/.retort_history");
}

static const char *pretty(lua_State *L, const char *expr) {
    lua_settop(L, 0);
    char code[512];
    snprintf(code, sizeof code, "return %s", expr);
    assert_int_equal(luaL_dostring(L, code), LUA_OK);
    cli_pretty(L, 1);
    return lua_tostring(L, -1);
}

static void test_pretty(void **s) {
    (void)s;
    lua_State *L = new_L();
    assert_string_equal(pretty(L, "{3, 1, 2}"), "{3, 1, 2}");
    assert_string_equal(pretty(L, "{b = 2, a = 1, 10, [5] = 'x'}"), "{10, [5] = \"x\", a = 1, b = 2}");
    assert_string_equal(pretty(L, "{['key with space'] = true, ['end'] = 1}"),
                        "{[\"end\"] = 1, [\"key with space\"] = true}");
    assert_string_equal(pretty(L, "{{{{{1}}}}}"), "{{{{...}}}}");
    assert_string_equal(pretty(L, "{}"), "{}");
    assert_string_equal(pretty(L, "'top level raw'"), "top level raw");
    assert_string_equal(pretty(L, "{'a\\nb'}"), "{\"a\\nb\"}");
    assert_string_equal(pretty(L, "(function() local t = {1}; t.self = t; return t end)()"),
                        "{1, self = <cycle>}");
    assert_string_equal(pretty(L, "setmetatable({}, {__tostring = function() return 'OBJ' end})"), "OBJ");
    /* multi-line __tostring: whole at top level, the last line inside a table */
    assert_string_equal(pretty(L, "setmetatable({}, {__tostring = function() return '1 2\\n[T 2]\\n' end})"),
                        "1 2\n[T 2]\n");
    assert_string_equal(pretty(L, "{setmetatable({}, {__tostring = function() return '1 2\\n[T 2]\\n' end})}"),
                        "{[T 2]}");
    /* Long tables break over lines with two-space indentation. */
    const char *p = pretty(L, "{alpha = string.rep('a', 50), beta = string.rep('b', 50)}");
    assert_non_null(strstr(p, "{\n  alpha = \""));
    assert_non_null(strstr(p, ",\n  beta = \""));
    /* At most 100 items. */
    p = pretty(L, "(function() local t = {} for i = 1, 150 do t[i] = i end return t end)()");
    assert_non_null(strstr(p, "... (50 more)"));
    p = pretty(L, "{string.rep('x', 300)}");
    assert_non_null(strstr(p, "xx\"... (300 bytes)\n}"));
    /* A shared (not cyclic) table prints twice. */
    assert_string_equal(pretty(L, "(function() local s = {1} return {s, s} end)()"), "{{1}, {1}}");
    lua_close(L);
}

static void test_nbjson(void **s) {
    (void)s;
    cJSON *a = nb_lines("one\ntwo\n\nthree", 14);
    assert_int_equal(cJSON_GetArraySize(a), 4);
    assert_string_equal(cJSON_GetArrayItem(a, 0)->valuestring, "one\n");
    assert_string_equal(cJSON_GetArrayItem(a, 2)->valuestring, "\n");
    assert_string_equal(cJSON_GetArrayItem(a, 3)->valuestring, "three");
    char *j = nb_join_lines(a);
    assert_string_equal(j, "one\ntwo\n\nthree");
    free(j);
    cJSON_Delete(a);
    char *b = nb_base64("hello", 5);
    assert_string_equal(b, "aGVsbG8=");
    free(b);
    b = nb_base64("hi!", 3);
    assert_string_equal(b, "aGkh");
    free(b);
    cJSON *o = cJSON_Parse("{\"z\": [1, 2.5, \"a\\u0001\\\"\"], \"a\": {}, \"m\": [], \"n\": null}");
    char *txt = nb_dumps(o);
    assert_string_equal(txt, "{\n \"a\": {},\n \"m\": [],\n \"n\": null,\n \"z\": [\n  1,\n  2.5,\n"
                             "  \"a\\u0001\\\"\"\n ]\n}\n");
    free(txt);
    cJSON_Delete(o);
    cJSON *cell = cJSON_CreateObject();
    nb_ensure_id(cell);
    assert_int_equal(strlen(cJSON_GetObjectItem(cell, "id")->valuestring), 8);
    cJSON_Delete(cell);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_msg_incomplete), cmocka_unit_test(test_chunk_status),
        cmocka_unit_test(test_compile_rule),   cmocka_unit_test(test_eval_underscore),
        cmocka_unit_test(test_complete),       cmocka_unit_test(test_history),
        cmocka_unit_test(test_pretty),         cmocka_unit_test(test_nbjson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
