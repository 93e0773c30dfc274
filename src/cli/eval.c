/* eval.c — the evaluation rule shared by the REPL, `-e`, scripts and notebooks:
 * compile (`return <code>` first, like lua.c), call with a traceback handler,
 * Ctrl-C / timeout interrupts (signal flag + Lua hook), pretty-printing, `_`. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "../core/status.h"

volatile int cli_running;
volatile sig_atomic_t cli_sigint_pending;
static lua_State *volatile g_L;
static const char *volatile g_why = "interrupted";

bool cli_color(int fd) {
    const char *nc = getenv("NO_COLOR");
    if (nc && *nc) return false;
    const char *term = getenv("TERM");
    if (term && strcmp(term, "dumb") == 0) return false;
    return isatty(fd);
}

/* ---------- compiling ---------- */

bool cli_msg_incomplete(const char *msg) {
    static const char mark[] = "<eof>";
    size_t n = msg ? strlen(msg) : 0, m = sizeof mark - 1;
    return n >= m && strcmp(msg + n - m, mark) == 0;
}

static int load(lua_State *L, const char *code, size_t len, const char *name) {
    return luaL_loadbuffer(L, code, len, name);
}

/* Try "<prefix>return <rest>": the first line (whole code) or the last line. */
static bool try_return(lua_State *L, const char *code, size_t split, const char *name) {
    size_t len = strlen(code);
    char *buf = malloc(len + 8);
    if (!buf) return false;
    memcpy(buf, code, split);
    memcpy(buf + split, "return ", 7);
    memcpy(buf + split + 7, code + split, len - split);
    int st = load(L, buf, len + 7, name);
    free(buf);
    if (st == LUA_OK) return true;
    lua_pop(L, 1);
    return false;
}

cli_chunk cli_compile(lua_State *L, const char *code, const char *chunkname, bool *suppress) {
    size_t len = strlen(code);
    while (len > 0 && strchr(" \t\r\n", code[len - 1])) len--;
    if (suppress) *suppress = len > 0 && code[len - 1] == ';';
    /* Several lines: if the last line alone is an expression, show its value.
     * (Tried before `return <all>`, which would read "f()\n{1}" as f(){1}.) */
    size_t last = len;
    while (last > 0 && code[last - 1] != '\n') last--;
    if (last > 0 && last < len) {
        /* The last line must be an expression on its own: "return end" would
         * compile (an empty return closing a block) and change the program. */
        char *trimmed = strndup(code, len);
        bool ok = trimmed && try_return(L, trimmed + last, 0, chunkname);
        if (ok) {
            lua_pop(L, 1);
            ok = try_return(L, trimmed, last, chunkname);
        }
        free(trimmed);
        if (ok) return CLI_CHUNK_OK;
    }
    if (try_return(L, code, 0, chunkname)) return CLI_CHUNK_OK;
    if (load(L, code, strlen(code), chunkname) != LUA_OK)
        return cli_msg_incomplete(lua_tostring(L, -1)) ? CLI_CHUNK_INCOMPLETE : CLI_CHUNK_ERROR;
    return CLI_CHUNK_OK;
}

cli_chunk cli_chunk_status(lua_State *L, const char *code) {
    cli_chunk st = cli_compile(L, code, "=input", NULL);
    lua_pop(L, 1);
    return st;
}

/* ---------- calling ---------- */

const char *cli_error_string(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) == LUA_TSTRING) { lua_pushvalue(L, idx); return lua_tostring(L, -1); }
    if (luaL_callmeta(L, idx, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return lua_tostring(L, -1);
    return lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, idx));
}

static int msghandler(lua_State *L) {
    const char *msg = cli_error_string(L, 1);
    if (strcmp(msg, "interrupted") == 0 || strncmp(msg, "timeout", 7) == 0) return 1;
    luaL_traceback(L, L, msg, 1);
    /* Drop the frames of the REPL itself ("[C]: in ?" at the bottom). */
    size_t n;
    const char *tb = lua_tolstring(L, -1, &n);
    const char *tail = "\n\t[C]: in ?";
    size_t tn = strlen(tail);
    while (n >= tn && memcmp(tb + n - tn, tail, tn) == 0) n -= tn;
    lua_pushlstring(L, tb, n);
    return 1;
}

static void stop_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    lua_pushstring(L, g_why);
    lua_error(L);
}

void cli_interrupt_now(const char *why) {
    g_why = why;
    rt_interrupt_flag = 1;
    if (cli_running && g_L)
        lua_sethook(g_L, stop_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

static void on_sigint(int sig) {
    (void)sig;
    if (cli_running) cli_interrupt_now("interrupted");
    else cli_sigint_pending = 1;
}

void cli_signals_install(lua_State *L) {
    g_L = L;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;            /* no SA_RESTART: poll() at the prompt sees EINTR */
    sigaction(SIGINT, &sa, NULL);
}

int cli_docall(lua_State *L, int nargs, int *base) {
    int fn = lua_gettop(L) - nargs;
    lua_pushcfunction(L, msghandler);
    lua_insert(L, fn);
    g_L = L;
    rt_interrupt_clear();
    g_why = "interrupted";
    cli_running = 1;
    int st = lua_pcall(L, nargs, LUA_MULTRET, fn);
    cli_running = 0;
    lua_sethook(L, NULL, 0, 0);
    rt_interrupt_clear();
    lua_remove(L, fn);
    if (base) *base = fn - 1;
    return st;
}

/* ---------- printing ---------- */

void cli_pretty(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) == LUA_TSTRING) { lua_pushvalue(L, idx); return; }
    if (lua_getfield(L, LUA_REGISTRYINDEX, "cli.pretty") == LUA_TNIL) {
        lua_pop(L, 1);
        lua_getglobal(L, "require");
        lua_pushstring(L, "retort.pretty");
        if (lua_pcall(L, 1, 1, 0) != LUA_OK) { lua_pop(L, 1); lua_pushboolean(L, 0); }
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, "cli.pretty");
    }
    if (!lua_toboolean(L, -1)) { lua_pop(L, 1); luaL_tolstring(L, idx, NULL); return; }
    lua_getfield(L, -1, "format");
    lua_remove(L, -2);
    lua_pushvalue(L, idx);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK || lua_type(L, -1) != LUA_TSTRING) {
        lua_pop(L, 1);
        luaL_tolstring(L, idx, NULL);
    }
}

static void print_result(lua_State *L, const char *text, void *ud) {
    (void)L; (void)ud;
    fputs(text, stdout);
    fputc('\n', stdout);
    fflush(stdout);
}

static int call_help(lua_State *L, const char *name) {
    int top = lua_gettop(L);
    lua_getglobal(L, "require");
    lua_pushstring(L, "retort.help");
    int st = cli_docall(L, 1, NULL);
    if (st != LUA_OK) return st;            /* message at top + 1 */
    lua_settop(L, top + 1);
    lua_pushstring(L, name);
    st = cli_docall(L, 1, NULL);
    if (st != LUA_OK) return st;
    lua_settop(L, top);
    return LUA_OK;
}

int cli_eval(lua_State *L, const char *code, const char *chunkname, cli_result_fn out, void *ud) {
    const char *p = code;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    if (*p == '?') {
        char name[512];
        snprintf(name, sizeof name, "%s", p + 1);
        char *s = name, *e = name + strlen(name);
        while (*s == ' ' || *s == '\t') s++;
        while (e > s && strchr(" \t\r\n;", e[-1])) *--e = 0;
        return call_help(L, s);
    }
    bool suppress = false;
    cli_chunk ck = cli_compile(L, code, chunkname, &suppress);
    if (ck != CLI_CHUNK_OK) return LUA_ERRSYNTAX;
    int base;
    int st = cli_docall(L, 0, &base);
    if (st != LUA_OK) return st;
    int n = lua_gettop(L) - base;
    if (n > 0) { lua_pushvalue(L, base + 1); lua_setglobal(L, "_"); }
    if (n > 0 && !suppress) {
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        for (int i = 1; i <= n; i++) {
            if (i > 1) luaL_addchar(&b, '\t');
            cli_pretty(L, base + i);
            luaL_addvalue(&b);
        }
        luaL_pushresult(&b);
        (out ? out : print_result)(L, lua_tostring(L, -1), ud);
    }
    lua_settop(L, base);
    return LUA_OK;
}
