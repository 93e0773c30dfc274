/* kernel.c — `retort --kernel CONNECTION_FILE`: retort as a Jupyter kernel
 * (messaging protocol 5.3), and `retort --install-kernel [--user | --prefix P]`.
 *
 * Shell requests run in the main thread on the one Lua state with the REPL's rule
 * (cli_eval): execute (stdout/stderr streamed live to iopub as `stream`, values as
 * `execute_result`, rt.display_png as `display_data`, errors as `error`), complete
 * (the REPL's completion), inspect (the REPL's help), is_complete, kernel_info,
 * history and comm_info. A control thread answers interrupt_request (the same
 * interrupt as Ctrl-C: the running cell stops with "interrupted"), shutdown_request
 * and kernel_info_request; SIGINT (interrupt_mode "signal") works too. A heartbeat
 * thread echoes. stdin (input_request) is not offered: allow_stdin is ignored. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>
#include "cli.h"
#include "kernel_wire.h"
#include "nbjson.h"
#include "../core/sys.h"

#ifndef RETORT_VERSION
#define RETORT_VERSION "0.1.0"
#endif

typedef struct {
    kw_kernel k;
    lua_State *L;
    int count;
    const kw_msg *cur;            /* the request whose outputs are being published */
    char *result;
    volatile sig_atomic_t shutdown;
    volatile sig_atomic_t busy;
} kstate;

static kstate g;

/* An interrupt (SIGINT or interrupt_request) that arrives while a cell is being set up,
 * before the Lua call runs, is kept here and delivered as soon as it does:
 * 1 = pending, 2 = delivered to the running cell. Reset when the cell ends. */
static volatile sig_atomic_t g_pending;

static void deliver_interrupt(void) {
    if (g_pending == 1 && g.busy && cli_running) {
        g_pending = 2;
        cli_interrupt_now("interrupted");
    }
}

static void kernel_sigint(int sig) {
    (void)sig;
    if (!g.busy) return;
    if (g_pending == 0) g_pending = 1;
    deliver_interrupt();
}

/* ---- live capture of fd 1 and fd 2 into stream messages ---- */

typedef struct {
    int rfd[2], saved[2];
    pthread_t th;
    int started;
} capture;

/* Publish text as a stream, keeping an incomplete UTF-8 sequence at the end for later. */
static void publish_stream(const char *name, char *buf, size_t *len) {
    size_t n = *len, keep = 0;
    for (size_t back = 1; back <= 3 && back <= n; back++) {
        unsigned char c = (unsigned char)buf[n - back];
        if ((c & 0xC0) == 0x80) continue;                 /* continuation byte */
        size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        if (need > back) keep = back;
        break;
    }
    size_t send = n - keep;
    if (send > 0) {
        char save = buf[send];
        buf[send] = 0;
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "name", name);
        cJSON_AddStringToObject(c, "text", buf);
        kw_send(&g.k, g.k.iopub, g.cur, "stream", c);
        buf[send] = save;
        memmove(buf, buf + send, keep);
    }
    *len = keep;
}

static void *reader(void *arg) {
    capture *cp = arg;
    static const char *names[2] = {"stdout", "stderr"};
    char buf[2][8192 + 4];
    size_t len[2] = {0, 0};
    int open_[2] = {1, 1};
    while (open_[0] || open_[1]) {
        struct pollfd p[2];
        int np = 0, idx[2];
        for (int i = 0; i < 2; i++)
            if (open_[i]) { p[np].fd = cp->rfd[i]; p[np].events = POLLIN; idx[np++] = i; }
        if (poll(p, (nfds_t)np, 200) < 0 && errno != EINTR) break;
        for (int j = 0; j < np; j++) {
            if (!(p[j].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            int i = idx[j];
            ssize_t r = read(cp->rfd[i], buf[i] + len[i], 8192 - len[i]);
            if (r <= 0) {
                if (r < 0 && errno == EINTR) continue;
                open_[i] = 0;
                len[i] = len[i] ? (publish_stream(names[i], buf[i], &len[i]), 0) : 0;
                continue;
            }
            len[i] += (size_t)r;
            publish_stream(names[i], buf[i], &len[i]);
        }
    }
    return NULL;
}

static void capture_start(capture *cp) {
    memset(cp, 0, sizeof *cp);
    fflush(stdout);
    fflush(stderr);
    int p[2][2];
    if (pipe(p[0]) != 0) return;
    if (pipe(p[1]) != 0) { close(p[0][0]); close(p[0][1]); return; }
    for (int i = 0; i < 2; i++) {
        cp->saved[i] = dup(i + 1);
        dup2(p[i][1], i + 1);
        close(p[i][1]);
        cp->rfd[i] = p[i][0];
    }
    cp->started = pthread_create(&cp->th, NULL, reader, cp) == 0;
}

static void capture_stop(capture *cp) {
    fflush(stdout);
    fflush(stderr);
    for (int i = 0; i < 2; i++) {         /* closes the last write ends: the reader sees EOF */
        dup2(cp->saved[i], i + 1);
        close(cp->saved[i]);
    }
    if (cp->started) pthread_join(cp->th, NULL);
    close(cp->rfd[0]);
    close(cp->rfd[1]);
}

/* Run `?name` (the REPL's help) and return what it printed (malloc'd). */
static char *help_text(const char *name) {
    FILE *tmp = tmpfile();
    if (!tmp) return NULL;
    fflush(stdout);
    int saved = dup(1);
    dup2(fileno(tmp), 1);
    size_t n = strlen(name);
    char *code = malloc(n + 2);
    code[0] = '?';
    memcpy(code + 1, name, n + 1);
    int top = lua_gettop(g.L);
    cli_eval(g.L, code, "=inspect", NULL, NULL);
    lua_settop(g.L, top);
    free(code);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    long sz = ftell(tmp);
    char *out = malloc(sz > 0 ? (size_t)sz + 1 : 1);
    rewind(tmp);
    size_t got = sz > 0 ? fread(out, 1, (size_t)sz, tmp) : 0;
    out[got] = 0;
    fclose(tmp);
    return out;
}

/* ---- outputs of a running cell ---- */

static void on_display(lua_State *L, const char *mime, const char *data, size_t len, void *ud) {
    (void)L; (void)ud;
    fflush(stdout);
    fflush(stderr);
    cJSON *c = cJSON_CreateObject();
    cJSON *d = cJSON_AddObjectToObject(c, "data");
    if (strcmp(mime, "image/png") == 0) {
        char *b64 = nb_base64(data, len);
        cJSON_AddStringToObject(d, "image/png", b64 ? b64 : "");
        free(b64);
        cJSON_AddStringToObject(d, "text/plain", "<image/png>");
    } else {
        char *s = strndup(data, len);
        cJSON_AddStringToObject(d, mime, s ? s : "");
        free(s);
    }
    cJSON_AddObjectToObject(c, "metadata");
    cJSON_AddObjectToObject(c, "transient");
    kw_send(&g.k, g.k.iopub, g.cur, "display_data", c);
}

static void on_result(lua_State *L, const char *text, void *ud) {
    (void)L; (void)ud;
    free(g.result);
    g.result = strdup(text);
}

static cJSON *str_array(const char *msg) {
    cJSON *a = cJSON_CreateArray();
    for (const char *p = msg; *p;) {
        size_t n = strcspn(p, "\n");
        char *line = strndup(p, n);
        cJSON_AddItemToArray(a, cJSON_CreateString(line ? line : ""));
        free(line);
        p += n;
        if (*p == '\n') p++;
    }
    return a;
}

/* ---- shell handlers ---- */

static void do_execute(kw_msg *m) {
    const char *code = cJSON_GetStringValue(cJSON_GetObjectItem(m->content, "code"));
    bool silent = cJSON_IsTrue(cJSON_GetObjectItem(m->content, "silent"));
    if (!code) code = "";
    if (!silent) g.count++;
    g.busy = 1;                    /* from here an interrupt is for this cell */
    cJSON *in = cJSON_CreateObject();
    cJSON_AddStringToObject(in, "code", code);
    cJSON_AddNumberToObject(in, "execution_count", g.count);
    kw_send(&g.k, g.k.iopub, m, "execute_input", in);

    char name[32];
    snprintf(name, sizeof name, "=cell[%d]", g.count);
    capture cp;
    g.cur = m;
    g.result = NULL;
    capture_start(&cp);
    cli_display_set_sink(on_display, NULL);
    int top = lua_gettop(g.L);
    int st = cli_eval(g.L, code, name, on_result, NULL);
    g.busy = 0;
    g_pending = 0;
    cli_display_set_sink(NULL, NULL);
    capture_stop(&cp);

    if (g.result && !silent) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddNumberToObject(r, "execution_count", g.count);
        cJSON *d = cJSON_AddObjectToObject(r, "data");
        cJSON_AddStringToObject(d, "text/plain", g.result);
        cJSON_AddObjectToObject(r, "metadata");
        kw_send(&g.k, g.k.iopub, m, "execute_result", r);
    }
    free(g.result);
    g.result = NULL;
    cJSON *reply = cJSON_CreateObject();
    if (st != LUA_OK) {
        const char *msg = cli_error_string(g.L, -1);
        const char *ename = strcmp(msg, "interrupted") == 0 ? "Interrupted"
                            : st == LUA_ERRSYNTAX ? "SyntaxError" : "LuaError";
        size_t fl = strcspn(msg, "\n");
        char *first = strndup(msg, fl);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "ename", ename);
        cJSON_AddStringToObject(e, "evalue", first ? first : "");
        cJSON_AddItemToObject(e, "traceback", str_array(msg));
        kw_send(&g.k, g.k.iopub, m, "error", e);
        cJSON_AddStringToObject(reply, "status", "error");
        cJSON_AddStringToObject(reply, "ename", ename);
        cJSON_AddStringToObject(reply, "evalue", first ? first : "");
        cJSON_AddItemToObject(reply, "traceback", str_array(msg));
        free(first);
    } else {
        cJSON_AddStringToObject(reply, "status", "ok");
        cJSON_AddObjectToObject(reply, "user_expressions");
        cJSON_AddArrayToObject(reply, "payload");
    }
    lua_settop(g.L, top);
    cJSON_AddNumberToObject(reply, "execution_count", g.count);
    kw_send(&g.k, g.k.shell, m, "execute_reply", reply);
    g.cur = NULL;
}

/* Byte offset of code point `cp` in s (Jupyter counts cursor positions in code points). */
static size_t byte_at(const char *s, long cp) {
    size_t i = 0;
    for (long n = 0; s[i] && n < cp; n++) {
        i++;
        while (((unsigned char)s[i] & 0xC0) == 0x80) i++;
    }
    return i;
}

static long cps(const char *s, size_t bytes) {
    long n = 0;
    for (size_t i = 0; i < bytes && s[i]; i++) if (((unsigned char)s[i] & 0xC0) != 0x80) n++;
    return n;
}

static bool word_char(char c) { return c == '_' || c == '.' || c == ':' || (c >= '0' && c <= '9') ||
                                       (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

static void cursor_word(kw_msg *m, const char **code, size_t *start, size_t *end, bool extend) {
    *code = cJSON_GetStringValue(cJSON_GetObjectItem(m->content, "code"));
    if (!*code) *code = "";
    cJSON *cpj = cJSON_GetObjectItem(m->content, "cursor_pos");
    long cp = cJSON_IsNumber(cpj) ? (long)cpj->valuedouble : cps(*code, strlen(*code));
    size_t pos = byte_at(*code, cp), s = pos, e = pos;
    while (s > 0 && word_char((*code)[s - 1])) s--;
    if (extend) while ((*code)[e] && word_char((*code)[e])) e++;
    *start = s;
    *end = e;
}

static void do_complete(kw_msg *m) {
    const char *code;
    size_t s, e;
    cursor_word(m, &code, &s, &e, false);
    char *word = strndup(code + s, e - s);
    cJSON *r = cJSON_CreateObject();
    cJSON *matches = cJSON_AddArrayToObject(r, "matches");
    char **c = word ? cli_complete(g.L, word) : NULL;
    for (char **p = c; p && *p; p++) cJSON_AddItemToArray(matches, cJSON_CreateString(*p));
    cli_free_candidates(c);
    free(word);
    cJSON_AddNumberToObject(r, "cursor_start", (double)cps(code, s));
    cJSON_AddNumberToObject(r, "cursor_end", (double)cps(code, e));
    cJSON_AddObjectToObject(r, "metadata");
    cJSON_AddStringToObject(r, "status", "ok");
    kw_send(&g.k, g.k.shell, m, "complete_reply", r);
}

static void do_inspect(kw_msg *m) {
    const char *code;
    size_t s, e;
    cursor_word(m, &code, &s, &e, true);
    while (e > s && (code[e - 1] == '.' || code[e - 1] == ':')) e--;
    char *word = strndup(code + s, e - s);
    char *text = word && *word ? help_text(word) : NULL;
    bool found = text && *text && strncmp(text, "no help", 7) != 0 && strncmp(text, "no documentation", 16) != 0;
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "status", "ok");
    cJSON_AddBoolToObject(r, "found", found);
    cJSON *d = cJSON_AddObjectToObject(r, "data");
    if (found) cJSON_AddStringToObject(d, "text/plain", text);
    cJSON_AddObjectToObject(r, "metadata");
    kw_send(&g.k, g.k.shell, m, "inspect_reply", r);
    free(text);
    free(word);
}

static void do_is_complete(kw_msg *m) {
    const char *code = cJSON_GetStringValue(cJSON_GetObjectItem(m->content, "code"));
    cJSON *r = cJSON_CreateObject();
    const char *st = "complete";
    if (code && code[strspn(code, " \t\r\n")] != '?') {
        cli_chunk ck = cli_chunk_status(g.L, code);
        st = ck == CLI_CHUNK_OK ? "complete" : ck == CLI_CHUNK_INCOMPLETE ? "incomplete" : "invalid";
    }
    cJSON_AddStringToObject(r, "status", st);
    if (strcmp(st, "incomplete") == 0) cJSON_AddStringToObject(r, "indent", "  ");
    kw_send(&g.k, g.k.shell, m, "is_complete_reply", r);
}

static cJSON *kernel_info(void) {
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "status", "ok");
    cJSON_AddStringToObject(r, "protocol_version", "5.3");
    cJSON_AddStringToObject(r, "implementation", "retort");
    cJSON_AddStringToObject(r, "implementation_version", RETORT_VERSION);
    cJSON *li = cJSON_AddObjectToObject(r, "language_info");
    cJSON_AddStringToObject(li, "name", "lua");
    cJSON_AddStringToObject(li, "version", LUA_VERSION_MAJOR "." LUA_VERSION_MINOR);
    cJSON_AddStringToObject(li, "mimetype", "text/x-lua");
    cJSON_AddStringToObject(li, "file_extension", ".lua");
    cJSON_AddStringToObject(li, "pygments_lexer", "lua");
    cJSON_AddStringToObject(li, "codemirror_mode", "lua");
    cJSON_AddStringToObject(r, "banner", "retort " RETORT_VERSION " (Lua " LUA_VERSION_MAJOR "." LUA_VERSION_MINOR
                                         "): BERT/NEZHA/TinyBERT on the CPU. help() for an overview.");
    cJSON_AddArrayToObject(r, "help_links");
    return r;
}

static void handle_shell(kw_msg *m) {
    const char *t = m->msg_type;
    kw_status(&g.k, m, "busy");
    if (strcmp(t, "execute_request") == 0) do_execute(m);
    else if (strcmp(t, "complete_request") == 0) do_complete(m);
    else if (strcmp(t, "inspect_request") == 0) do_inspect(m);
    else if (strcmp(t, "is_complete_request") == 0) do_is_complete(m);
    else if (strcmp(t, "kernel_info_request") == 0) kw_send(&g.k, g.k.shell, m, "kernel_info_reply", kernel_info());
    else if (strcmp(t, "history_request") == 0) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "status", "ok");
        cJSON_AddArrayToObject(r, "history");
        kw_send(&g.k, g.k.shell, m, "history_reply", r);
    } else if (strcmp(t, "comm_info_request") == 0) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "status", "ok");
        cJSON_AddObjectToObject(r, "comms");
        kw_send(&g.k, g.k.shell, m, "comm_info_reply", r);
    } else if (strcmp(t, "shutdown_request") == 0) {
        cJSON *r = cJSON_CreateObject();
        cJSON_AddStringToObject(r, "status", "ok");
        cJSON_AddBoolToObject(r, "restart", cJSON_IsTrue(cJSON_GetObjectItem(m->content, "restart")));
        kw_send(&g.k, g.k.shell, m, "shutdown_reply", r);
        g.shutdown = 1;
    } else {
        fprintf(stderr, "retort kernel: ignoring %s\n", t);
    }
    kw_status(&g.k, m, "idle");
}

/* ---- control and heartbeat threads ---- */

static void *control_thread(void *arg) {
    (void)arg;
    while (!g.shutdown) {
        zmq_pollitem_t it = {g.k.control, 0, ZMQ_POLLIN, 0};
        int n = zmq_poll(&it, 1, 200);
        deliver_interrupt();       /* one that came before the cell's Lua call started */
        if (n < 0) { if (zmq_errno() == ETERM) break; continue; }
        if (n == 0) continue;
        kw_msg m;
        int rc = kw_recv(&g.k, g.k.control, &m);
        if (rc < 0) break;
        if (rc > 0) continue;
        const char *t = m.msg_type;
        kw_status(&g.k, &m, "busy");
        if (strcmp(t, "interrupt_request") == 0) {
            if (g.busy && g_pending == 0) g_pending = 1;
            deliver_interrupt();
            cJSON *r = cJSON_CreateObject();
            cJSON_AddStringToObject(r, "status", "ok");
            kw_send(&g.k, g.k.control, &m, "interrupt_reply", r);
        } else if (strcmp(t, "shutdown_request") == 0) {
            cJSON *r = cJSON_CreateObject();
            cJSON_AddStringToObject(r, "status", "ok");
            cJSON_AddBoolToObject(r, "restart", cJSON_IsTrue(cJSON_GetObjectItem(m.content, "restart")));
            kw_send(&g.k, g.k.control, &m, "shutdown_reply", r);
            g.shutdown = 1;
            if (g.busy && g_pending == 0) g_pending = 1;
            deliver_interrupt();
        } else if (strcmp(t, "kernel_info_request") == 0) {
            kw_send(&g.k, g.k.control, &m, "kernel_info_reply", kernel_info());
        } else {
            fprintf(stderr, "retort kernel: ignoring control %s\n", t);
        }
        kw_status(&g.k, &m, "idle");
        kw_msg_free(&m);
    }
    return NULL;
}

static void *heartbeat_thread(void *arg) {
    (void)arg;
    for (;;) {
        zmq_msg_t f;
        zmq_msg_init(&f);
        if (zmq_msg_recv(&f, g.k.hb, 0) < 0) { zmq_msg_close(&f); if (zmq_errno() == ETERM) break; continue; }
        zmq_msg_send(&f, g.k.hb, 0);
        zmq_msg_close(&f);
    }
    return NULL;
}

int cli_kernel_main(lua_State *L, const char *connection_file) {
    char err[512];
    memset(&g, 0, sizeof g);
    g.L = L;
    if (kw_read_connection(connection_file, &g.k.conn, err, sizeof err) != 0 || kw_open(&g.k, err, sizeof err) != 0) {
        fprintf(stderr, "retort --kernel: %s\n", err);
        return 1;
    }
    cli_signals_install(L);
    struct sigaction sa;              /* SIGINT (interrupt_mode "signal") stops the running cell */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = kernel_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    pthread_t hb, ctl;
    pthread_create(&hb, NULL, heartbeat_thread, NULL);
    pthread_create(&ctl, NULL, control_thread, NULL);
    kw_status(&g.k, NULL, "starting");
    while (!g.shutdown) {
        zmq_pollitem_t it = {g.k.shell, 0, ZMQ_POLLIN, 0};
        int n = zmq_poll(&it, 1, 200);
        if (n < 0) { if (zmq_errno() == ETERM) break; continue; }
        if (n == 0) continue;
        kw_msg m;
        int rc = kw_recv(&g.k, g.k.shell, &m);
        if (rc < 0) break;
        if (rc > 0) continue;
        handle_shell(&m);
        kw_msg_free(&m);
    }
    g.shutdown = 1;
    zmq_ctx_shutdown(g.k.ctx);        /* wakes the heartbeat thread with ETERM */
    pthread_join(ctl, NULL);
    pthread_join(hb, NULL);
    kw_close(&g.k);
    return 0;
}

/* ---- --install-kernel ---- */

int cli_install_kernel_main(int argc, char **argv) {
    bool user = false;
    const char *prefix = "/usr/local";
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--user") == 0) user = true;
        else if (strcmp(argv[i], "--prefix") == 0 && i + 1 < argc) prefix = argv[++i];
        else if (strncmp(argv[i], "--prefix=", 9) == 0) prefix = argv[i] + 9;
        else {
            fprintf(stderr, "usage: retort --install-kernel [--user | --prefix DIR]\n");
            return 2;
        }
    }
    char exe[PATH_MAX], dir[PATH_MAX + 64];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) { fprintf(stderr, "retort --install-kernel: cannot find the retort binary\n"); return 1; }
    exe[n] = 0;
    const char *data = getenv("JUPYTER_DATA_DIR");
    if (user && data && *data) snprintf(dir, sizeof dir, "%s/kernels/retort", data);
    else if (user) snprintf(dir, sizeof dir, "%s/.local/share/jupyter/kernels/retort", getenv("HOME") ? getenv("HOME") : ".");
    else snprintf(dir, sizeof dir, "%s/share/jupyter/kernels/retort", prefix);
    if (rt_mkdir_p(dir) != RT_OK) { fprintf(stderr, "retort --install-kernel: %s\n", rt_last_error()); return 1; }
    cJSON *spec = cJSON_CreateObject();
    cJSON *av = cJSON_AddArrayToObject(spec, "argv");
    cJSON_AddItemToArray(av, cJSON_CreateString(exe));
    cJSON_AddItemToArray(av, cJSON_CreateString("--kernel"));
    cJSON_AddItemToArray(av, cJSON_CreateString("{connection_file}"));
    cJSON_AddStringToObject(spec, "display_name", "retort (Lua)");
    cJSON_AddStringToObject(spec, "language", "lua");
    cJSON_AddStringToObject(spec, "interrupt_mode", "signal");
    char *text = cJSON_Print(spec);
    cJSON_Delete(spec);
    char file[PATH_MAX + 96];
    snprintf(file, sizeof file, "%s/kernel.json", dir);
    int ok = rt_write_file_atomic(file, text, strlen(text)) == RT_OK;
    free(text);
    if (!ok) { fprintf(stderr, "retort --install-kernel: %s\n", rt_last_error()); return 1; }
    printf("installed the retort kernel spec in %s\n", dir);
    return 0;
}
