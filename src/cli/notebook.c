/* notebook.c — `retort --notebook run FILE.ipynb [--allow-errors] [--timeout S]`:
 * executes the Lua code cells of a Jupyter notebook (nbformat 4.5) in one Lua
 * state with the REPL's evaluation rule and writes the outputs back like Jupyter
 * (stream / execute_result / error / display_data), 1-space indented JSON with
 * sorted keys, atomically (temp file + rename). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
#include <cJSON.h>
#include "cli.h"
#include "nbjson.h"

typedef struct {
    cJSON *outputs;         /* the current cell's outputs */
    int cap_fd[2];          /* capture files for fd 1 and fd 2 */
    off_t cap_off[2];       /* how much of each was already turned into outputs */
    char *result;           /* execute_result text of the current cell */
} nb_ctx;

static char g_timeout_msg[96];

/* ---- outputs ---- */

/* Append text to the last output when it is a stream of the same name, else a new one. */
static void add_stream(cJSON *outputs, const char *name, const char *text, size_t n) {
    if (n == 0) return;
    int cnt = cJSON_GetArraySize(outputs);
    cJSON *last = cnt ? cJSON_GetArrayItem(outputs, cnt - 1) : NULL;
    if (last && strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(last, "output_type")), "stream") == 0 &&
        strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(last, "name")), name) == 0) {
        char *old = nb_join_lines(cJSON_GetObjectItem(last, "text"));
        size_t on = old ? strlen(old) : 0;
        char *all = malloc(on + n + 1);
        if (!all) { free(old); return; }
        if (on) memcpy(all, old, on);
        memcpy(all + on, text, n);
        all[on + n] = 0;
        cJSON_ReplaceItemInObject(last, "text", nb_lines(all, on + n));
        free(old);
        free(all);
        return;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "output_type", "stream");
    cJSON_AddStringToObject(o, "name", name);
    cJSON_AddItemToObject(o, "text", nb_lines(text, n));
    cJSON_AddItemToArray(outputs, o);
}

/* Move what the cell wrote to fd 1 / fd 2 since last time into stream outputs. */
static void drain(nb_ctx *c) {
    fflush(stdout);
    fflush(stderr);
    static const char *names[2] = {"stdout", "stderr"};
    for (int i = 0; i < 2; i++) {
        char buf[65536];
        ssize_t r;
        while ((r = pread(c->cap_fd[i], buf, sizeof buf, c->cap_off[i])) > 0) {
            add_stream(c->outputs, names[i], buf, (size_t)r);
            c->cap_off[i] += r;
        }
    }
}

static void sink(lua_State *L, const char *mime, const char *data, size_t len, void *ud) {
    (void)L;
    nb_ctx *c = ud;
    drain(c);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "output_type", "display_data");
    cJSON *d = cJSON_AddObjectToObject(o, "data");
    if (strcmp(mime, "image/png") == 0) {
        char *b64 = nb_base64(data, len);
        cJSON_AddStringToObject(d, "image/png", b64 ? b64 : "");
        free(b64);
        cJSON_AddItemToObject(d, "text/plain", nb_lines("<image/png>", 11));
    } else {
        cJSON_AddItemToObject(d, mime, nb_lines(data, len));
    }
    cJSON_AddObjectToObject(o, "metadata");
    cJSON_AddItemToArray(c->outputs, o);
}

static void on_result(lua_State *L, const char *text, void *ud) {
    (void)L;
    nb_ctx *c = ud;
    free(c->result);
    c->result = strdup(text);
}

static void on_alarm(int sig) {
    (void)sig;
    cli_interrupt_now(g_timeout_msg);
}

/* ---- running one cell ---- */

/* Returns 0 when the cell ran, 1 on an error (an error output was added). */
static int run_cell(lua_State *L, nb_ctx *c, cJSON *cell, int count, double timeout, FILE *log) {
    char *src = nb_join_lines(cJSON_GetObjectItem(cell, "source"));
    if (!src) src = strdup("");
    cJSON *outputs = cJSON_CreateArray();
    cJSON_ReplaceItemInObject(cell, "outputs", outputs);
    c->outputs = outputs;
    c->result = NULL;
    for (int i = 0; i < 2; i++) {
        c->cap_off[i] = 0;
        if (ftruncate(c->cap_fd[i], 0) == 0) lseek(c->cap_fd[i], 0, SEEK_SET);
    }
    int saved[2] = {dup(1), dup(2)};
    fflush(stdout);
    fflush(stderr);
    dup2(c->cap_fd[0], 1);
    dup2(c->cap_fd[1], 2);
    cli_display_set_sink(sink, c);
    if (timeout > 0) {
        snprintf(g_timeout_msg, sizeof g_timeout_msg, "timeout: the cell ran longer than %g s", timeout);
        struct itimerval it = {{0, 0}, {(time_t)timeout, (suseconds_t)((timeout - (time_t)timeout) * 1e6)}};
        setitimer(ITIMER_REAL, &it, NULL);
    }
    char name[32];
    snprintf(name, sizeof name, "=cell[%d]", count);
    int top = lua_gettop(L);
    int st = cli_eval(L, src, name, on_result, c);
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    cli_display_set_sink(NULL, NULL);
    drain(c);
    dup2(saved[0], 1);
    dup2(saved[1], 2);
    close(saved[0]);
    close(saved[1]);
    if (c->result) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "output_type", "execute_result");
        cJSON_AddNumberToObject(o, "execution_count", count);
        cJSON *d = cJSON_AddObjectToObject(o, "data");
        cJSON_AddItemToObject(d, "text/plain", nb_lines(c->result, strlen(c->result)));
        cJSON_AddObjectToObject(o, "metadata");
        cJSON_AddItemToArray(outputs, o);
        free(c->result);
        c->result = NULL;
    }
    int failed = 0;
    if (st != LUA_OK) {
        const char *msg = cli_error_string(L, -1);
        const char *ename = strcmp(msg, "interrupted") == 0 ? "Interrupted"
                            : strncmp(msg, "timeout", 7) == 0 ? "Timeout"
                            : st == LUA_ERRSYNTAX ? "SyntaxError" : "LuaError";
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "output_type", "error");
        cJSON_AddStringToObject(o, "ename", ename);
        size_t fl = strcspn(msg, "\n");
        char *first = strndup(msg, fl);
        cJSON_AddStringToObject(o, "evalue", first ? first : "");
        cJSON *tb = cJSON_AddArrayToObject(o, "traceback");
        for (const char *p = msg; *p;) {
            size_t n = strcspn(p, "\n");
            char *line = strndup(p, n);
            cJSON_AddItemToArray(tb, cJSON_CreateString(line ? line : ""));
            free(line);
            p += n;
            if (*p == '\n') p++;
        }
        cJSON_AddItemToArray(outputs, o);
        fprintf(log, "retort: cell %d failed: %s\n", count, msg);
        free(first);
        failed = 1;
    }
    lua_settop(L, top);
    free(src);
    return failed;
}

/* ---- the notebook ---- */

static void set_metadata(cJSON *nb) {
    cJSON *md = cJSON_GetObjectItem(nb, "metadata");
    if (!cJSON_IsObject(md)) {
        md = cJSON_CreateObject();
        cJSON_ReplaceItemInObject(nb, "metadata", md);
        if (!cJSON_GetObjectItem(nb, "metadata")) cJSON_AddItemToObject(nb, "metadata", md);
    }
    cJSON *ks = cJSON_CreateObject();
    cJSON_AddStringToObject(ks, "display_name", "retort (Lua)");
    cJSON_AddStringToObject(ks, "language", "lua");
    cJSON_AddStringToObject(ks, "name", "retort");
    if (cJSON_GetObjectItem(md, "kernelspec")) cJSON_ReplaceItemInObject(md, "kernelspec", ks);
    else cJSON_AddItemToObject(md, "kernelspec", ks);
    cJSON *li = cJSON_GetObjectItem(md, "language_info");
    if (!cJSON_IsObject(li)) {
        cJSON_DeleteItemFromObject(md, "language_info");
        li = cJSON_AddObjectToObject(md, "language_info");
    }
    cJSON_DeleteItemFromObject(li, "name");
    cJSON_AddStringToObject(li, "name", "lua");
    cJSON_DeleteItemFromObject(li, "version");
    cJSON_AddStringToObject(li, "version", LUA_VERSION_MAJOR "." LUA_VERSION_MINOR);
    cJSON_DeleteItemFromObject(li, "file_extension");
    cJSON_AddStringToObject(li, "file_extension", ".lua");
    cJSON_DeleteItemFromObject(nb, "nbformat");
    cJSON_AddNumberToObject(nb, "nbformat", 4);
    cJSON *minor = cJSON_GetObjectItem(nb, "nbformat_minor");
    if (!cJSON_IsNumber(minor) || minor->valuedouble < 5) {
        cJSON_DeleteItemFromObject(nb, "nbformat_minor");
        cJSON_AddNumberToObject(nb, "nbformat_minor", 5);
    }
}

static void usage(FILE *f) {
    fprintf(f, "usage: retort --notebook run FILE.ipynb [--allow-errors] [--timeout S]\n");
}

int cli_notebook_main(lua_State *L, int argc, char **argv) {
    const char *file = NULL;
    bool allow_errors = false;
    double timeout = 0;
    if (argc < 1 || strcmp(argv[0], "run") != 0) { usage(stderr); return 2; }
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--allow-errors") == 0) allow_errors = true;
        else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) timeout = atof(argv[++i]);
        else if (strncmp(argv[i], "--timeout=", 10) == 0) timeout = atof(argv[i] + 10);
        else if (argv[i][0] != '-' && !file) file = argv[i];
        else { usage(stderr); return 2; }
    }
    if (!file) { usage(stderr); return 2; }
    uint8_t *bytes;
    size_t nbytes;
    if (rt_read_file(file, &bytes, &nbytes)) { fprintf(stderr, "retort: cannot read %s\n", rt_last_error()); return 1; }
    char *text = (char *)bytes;
    cJSON *nb = cJSON_ParseWithLength(text, nbytes);
    if (nb) nb_keep_literals(nb, text, nbytes);   /* every byte of cells that are not run */
    free(text);
    cJSON *cells = nb ? cJSON_GetObjectItem(nb, "cells") : NULL;
    if (!cJSON_IsArray(cells)) {
        fprintf(stderr, "retort: %s is not a Jupyter notebook (no cells array)\n", file);
        cJSON_Delete(nb);
        return 1;
    }
    set_metadata(nb);
    nb_ctx ctx = {0};
    FILE *f0 = tmpfile(), *f1 = tmpfile();
    if (!f0 || !f1) { fprintf(stderr, "retort: cannot create temp files\n"); cJSON_Delete(nb); return 1; }
    ctx.cap_fd[0] = fileno(f0);
    ctx.cap_fd[1] = fileno(f1);
    FILE *log = fdopen(dup(2), "w");
    if (!log) log = stderr;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    cli_signals_install(L);

    int count = 0, errors = 0;
    cJSON *cell;
    cJSON_ArrayForEach(cell, cells) {
        nb_ensure_id(cell);
        const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(cell, "cell_type"));
        if (!type || strcmp(type, "code") != 0) continue;
        if (!cJSON_GetObjectItem(cell, "metadata")) cJSON_AddObjectToObject(cell, "metadata");
        char *src = nb_join_lines(cJSON_GetObjectItem(cell, "source"));
        bool empty = !src || src[strspn(src, " \t\r\n")] == 0;
        free(src);
        cJSON_DeleteItemFromObject(cell, "execution_count");
        if (empty) {
            cJSON_AddNullToObject(cell, "execution_count");
            cJSON_ReplaceItemInObject(cell, "outputs", cJSON_CreateArray());
            if (!cJSON_GetObjectItem(cell, "outputs")) cJSON_AddArrayToObject(cell, "outputs");
            continue;
        }
        count++;
        cJSON_AddNumberToObject(cell, "execution_count", count);
        if (!cJSON_GetObjectItem(cell, "outputs")) cJSON_AddArrayToObject(cell, "outputs");
        if (run_cell(L, &ctx, cell, count, timeout, log)) {
            errors++;
            if (!allow_errors) break;
        }
    }
    int rc = nb_write_atomic(file, nb) == RT_OK ? 0 : 1;
    if (rc) fprintf(log, "retort: cannot write %s\n", rt_last_error());
    if (errors && !allow_errors) rc = 1;
    fprintf(log, "retort: %s: %d cell%s run, %d error%s\n", file, count, count == 1 ? "" : "s",
            errors, errors == 1 ? "" : "s");
    fflush(log);
    if (log != stderr) fclose(log);
    fclose(f0);
    fclose(f1);
    cJSON_Delete(nb);
    return rc;
}
