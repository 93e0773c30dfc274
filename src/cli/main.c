/* main.c — the `retort` command line (lua.c's options, plus notebooks):
 *   retort                      REPL (stdin not a terminal: run stdin as a program)
 *   retort script.lua a b       run a script; arg[0] = script, arg[-1] = program, arg[1..]
 *   retort -e stmt -l mod -i -v -- -
 *   retort --notebook run FILE.ipynb [--allow-errors] [--timeout S]
 * Globals: rt (require "retort"), help, arg, _. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "../dist/dist.h"

static const char *progname = "retort";

static void usage(FILE *f) {
    fprintf(f,
        "usage: %s [options] [script [args]]\n"
        "  -e stmt   execute the Lua statement 'stmt'\n"
        "  -l mod    require library 'mod' into a global (the last dotted part; -l g=mod: into g)\n"
        "  -i        enter the REPL after running the script (with its globals)\n"
        "  -v, --version   show the version\n"
        "  --        stop handling options\n"
        "  -         stop handling options and run the program from stdin\n"
        "  --notebook run FILE.ipynb [--allow-errors] [--timeout S]\n"
        "            execute a Jupyter notebook headless and write its outputs back\n"
        "  --kernel CONNECTION_FILE\n"
        "            run as a Jupyter kernel (messaging protocol 5.3)\n"
        "  --install-kernel [--user | --prefix DIR]\n"
        "            write the kernel spec (kernels/retort/kernel.json) for Jupyter\n"
        "With no script: the REPL on a terminal, else the program read from stdin.\n"
        "In the REPL: ?name or help(x) for help, TAB completes, Ctrl-C interrupts.\n",
        progname);
}

static void print_version(void) {
    printf("retort %s (%s)\n", RETORT_VERSION, LUA_RELEASE);
    fflush(stdout);
}

/* Report an error (message on top of the stack) like lua.c: "retort: msg". */
static int report(lua_State *L, int st) {
    if (st != LUA_OK) {
        const char *msg = cli_error_string(L, -1);
        /* under mpirun: print the rank with the message and end every rank */
        if (rt_dist_size() > 1) rt_dist_abort(msg, 1);
        fflush(stdout);
        fprintf(stderr, "%s: %s\n", progname, msg);
        fflush(stderr);
        lua_pop(L, 2);   /* message and its string form */
    }
    return st;
}

static int dochunk(lua_State *L, int st) {
    if (st == LUA_OK) {
        int base;
        st = cli_docall(L, 0, &base);
        if (st == LUA_OK) lua_settop(L, base);
    }
    return report(L, st);
}

/* -l [g=]mod: g = require(mod); without g the last dotted part names the global. */
static int dolibrary(lua_State *L, const char *spec) {
    char glob[256], mod[256];
    const char *eq = strchr(spec, '=');
    if (eq) {
        snprintf(glob, sizeof glob, "%.*s", (int)(eq - spec), spec);
        snprintf(mod, sizeof mod, "%s", eq + 1);
    } else {
        snprintf(mod, sizeof mod, "%s", spec);
        const char *dot = strrchr(spec, '.');
        snprintf(glob, sizeof glob, "%s", dot ? dot + 1 : spec);
        char *dash = strchr(glob, '-');
        if (dash) *dash = 0;
    }
    lua_getglobal(L, "require");
    lua_pushstring(L, mod);
    int base;
    int st = cli_docall(L, 1, &base);
    if (st == LUA_OK) {
        lua_settop(L, base + 1);
        lua_setglobal(L, glob);
        return LUA_OK;
    }
    return report(L, st);
}

static int handle_script(lua_State *L, char **argv, int script) {
    const char *fname = argv[script];
    if (strcmp(fname, "-") == 0 && (script == 0 || strcmp(argv[script - 1], "--") != 0)) fname = NULL;
    int st = luaL_loadfile(L, fname);
    if (st != LUA_OK) return report(L, st);
    lua_getglobal(L, "arg");
    int n = 0;
    if (lua_type(L, -1) == LUA_TTABLE) {
        n = (int)luaL_len(L, -1);
        luaL_checkstack(L, n + 3, "too many arguments to script");
        for (int i = 1; i <= n; i++) lua_rawgeti(L, -i, i);
        lua_remove(L, -n - 1);
    } else {
        lua_pop(L, 1);
    }
    int base;
    st = cli_docall(L, n, &base);
    if (st == LUA_OK) { lua_settop(L, base); return LUA_OK; }
    return report(L, st);
}

/* arg table as lua.c builds it: arg[0] = script, negative = program and options. */
static void create_arg_table(lua_State *L, char **argv, int argc, int script) {
    if (script == argc) script = 0;
    lua_createtable(L, argc - script - 1, script + 1);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - script);
    }
    lua_setglobal(L, "arg");
}

/* The state every mode uses: libs, lua/ on package.path, rt, help, rt.display. */
static lua_State *new_state(void) {
    lua_State *L = luaL_newstate();
    if (!L) { fprintf(stderr, "%s: cannot create the Lua state\n", progname); return NULL; }
    luaL_openlibs(L);
    rtl_install(L, NULL);
    lua_getglobal(L, "require");
    lua_pushstring(L, "retort");
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        fprintf(stderr, "%s: cannot load the retort library: %s\n"
                "(lua/ is looked up next to the program and in <prefix>/share/retort/lua;"
                " set RETORT_LUA_DIR)\n", progname, lua_tostring(L, -1));
        lua_close(L);
        return NULL;
    }
    if (lua_type(L, -1) == LUA_TTABLE) cli_display_install(L, lua_gettop(L));
    lua_setglobal(L, "rt");
    lua_getglobal(L, "require");
    lua_pushstring(L, "retort.help");
    if (lua_pcall(L, 1, 1, 0) == LUA_OK) lua_setglobal(L, "help");
    else lua_pop(L, 1);
    return L;
}

/* libgomp reads OMP_WAIT_POLICY once, when it loads. Spinning idle threads cost
 * retort's many short kernels 2-10x on a loaded 2-core machine, so unless the
 * user chose a policy, re-exec once with PASSIVE (what scripts/bench/run.sh uses for the
 * PyTorch peer too). */
static void ensure_wait_policy(char **argv) {
    if (getenv("OMP_WAIT_POLICY")) return;
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    execv("/proc/self/exe", argv);
    /* exec failed: go on with the default policy */
}

int main(int argc, char **argv) {
    ensure_wait_policy(argv);
    if (argv[0] && argv[0][0]) progname = argv[0];
    /* Pass 1: collect options (lua.c order: -e/-l run in order, then script, then -i). */
    int script = argc;
    bool interactive = false, version = false, has_e = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-') { script = i; break; }
        if (strcmp(a, "-") == 0) { script = i; break; }
        if (strcmp(a, "--") == 0) { if (i + 1 < argc) script = i + 1; break; }
        if (strcmp(a, "--notebook") == 0) {
            lua_State *L = new_state();
            if (!L) return 1;
            int rc = cli_notebook_main(L, argc - i - 1, argv + i + 1);
            lua_close(L);
            return rc;
        }
        if (strcmp(a, "--kernel") == 0) {
            if (i + 1 >= argc) { fprintf(stderr, "%s: --kernel needs a connection file\n", progname); return 2; }
            lua_State *L = new_state();
            if (!L) return 1;
            int rc = cli_kernel_main(L, argv[i + 1]);
            lua_close(L);
            return rc;
        }
        if (strcmp(a, "--install-kernel") == 0) return cli_install_kernel_main(argc - i - 1, argv + i + 1);
        if (strcmp(a, "-i") == 0) { interactive = version = true; continue; }
        if (strcmp(a, "-v") == 0 || strcmp(a, "--version") == 0) { version = true; continue; }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) { usage(stdout); return 0; }
        if ((a[1] == 'e' || a[1] == 'l') && a[2] == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "%s: '%s' needs an argument\n", progname, a);
                usage(stderr);
                return 1;
            }
            if (a[1] == 'e') has_e = true;
            i++;
            continue;
        }
        if ((a[1] == 'e' || a[1] == 'l') && a[2] != 0) { if (a[1] == 'e') has_e = true; continue; }
        fprintf(stderr, "%s: unrecognized option '%s'\n", progname, a);
        usage(stderr);
        return 1;
    }
    if (version && !interactive) print_version();

    lua_State *L = new_state();
    if (!L) return 1;
    cli_signals_install(L);
    create_arg_table(L, argv, argc, script);

    int rc = 0;
    for (int i = 1; i < script && rc == 0; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) break;
        if (a[0] == '-' && (a[1] == 'e' || a[1] == 'l')) {
            const char *val = a[2] ? a + 2 : argv[++i];
            if (a[1] == 'e')
                rc = dochunk(L, luaL_loadbuffer(L, val, strlen(val), "=(command line)")) != LUA_OK;
            else
                rc = dolibrary(L, val) != LUA_OK;
        }
    }
    if (rc == 0 && script < argc) rc = handle_script(L, argv, script) != LUA_OK;
    if (rc == 0) {
        if (interactive) {
            cli_repl(L, true);
        } else if (script == argc && !has_e && !version) {
            if (isatty(STDIN_FILENO)) {
                cli_repl(L, true);
            } else {
                rc = dochunk(L, luaL_loadfile(L, NULL)) != LUA_OK;
            }
        }
    }
    fflush(stdout);
    lua_close(L);
    return rc;
}
