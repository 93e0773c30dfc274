/* test_pty.c — drives the real REPL (build/retort, or $RETORT_BIN) in a pseudo-
 * terminal with forkpty: auto-print, a multi-line function, `;` and `_`, tab
 * completion of rt.doc_n<TAB>, errors and Ctrl-C (at the prompt and inside
 * `while true do end`) returning to a working prompt, Ctrl-D, history kept
 * across two sessions, colour only without NO_COLOR, and what a new user tries
 * (model, lazy-module and file-name completion, pasted prompts, exit). No sleeps: every step reads until its text appears, with a
 * poll() deadline. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEADLINE_MS 20000

typedef struct {
    pid_t pid;
    int fd;
    char buf[1 << 18];
    size_t n, pos;       /* bytes read, bytes consumed by expect() */
    bool eof;
} session;

static char tmpdir[] = "/tmp/retort_pty_XXXXXX";
static char histfile[256];

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *g_term = "dumb";
static bool g_no_color = true;
static bool g_env_history = true;     /* false: only HOME, so ~/.retort_history */

static void spawn(session *s) {
    const char *bin = getenv("RETORT_BIN");
    if (!bin || !*bin) bin = "build/retort";
    struct winsize ws = {.ws_row = 40, .ws_col = 250};
    s->n = s->pos = 0;
    s->eof = false;
    s->pid = forkpty(&s->fd, NULL, NULL, &ws);
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        setenv("HOME", tmpdir, 1);
        if (g_env_history) setenv("RETORT_HISTORY", histfile, 1);
        else unsetenv("RETORT_HISTORY");
        if (g_no_color) setenv("NO_COLOR", "1", 1);
        else unsetenv("NO_COLOR");
        setenv("TERM", g_term, 1);
        setenv("INPUTRC", "/dev/null", 1);
        execl(bin, bin, (char *)NULL);
        _exit(127);
    }
}

/* Read more output (waits up to ms). Returns false on EOF or timeout. */
static bool pump(session *s, int ms) {
    struct pollfd p = {.fd = s->fd, .events = POLLIN};
    int r = poll(&p, 1, ms);
    if (r <= 0) return false;
    ssize_t k = read(s->fd, s->buf + s->n, sizeof s->buf - 1 - s->n);
    if (k <= 0) { s->eof = true; return false; }
    s->n += (size_t)k;
    s->buf[s->n] = 0;
    return true;
}

/* Wait until `needle` appears after the consumed part; consume through it and
 * return a copy of the text that was skipped (caller frees). Fails the test on
 * timeout, showing what arrived. */
static char *expect(session *s, const char *needle) {
    long long end = now_ms() + DEADLINE_MS;
    for (;;) {
        s->buf[s->n] = 0;
        char *hit = strstr(s->buf + s->pos, needle);
        if (hit) {
            char *skipped = strndup(s->buf + s->pos, (size_t)(hit - (s->buf + s->pos)));
            s->pos = (size_t)(hit - s->buf) + strlen(needle);
            return skipped;
        }
        long long left = end - now_ms();
        if (left <= 0 || s->eof || !pump(s, (int)left)) {
            if (!s->eof && left > 0) continue;
            fail_msg("timed out waiting for '%s'; got: [%s]", needle, s->buf + s->pos);
        }
    }
}

static void expect_(session *s, const char *needle) { free(expect(s, needle)); }

static void send(session *s, const char *text) {
    size_t n = strlen(text);
    assert_int_equal(write(s->fd, text, n), (ssize_t)n);
}

/* Ctrl-D, then read to EOF and reap; the exit status must be 0. */
static void finish(session *s) {
    send(s, "\x04");
    if (getenv("RETORT_PTY_DUMP")) fprintf(stderr, "---- transcript ----\n%s\n----\n", s->buf);
    long long end = now_ms() + DEADLINE_MS;
    while (!s->eof && now_ms() < end) pump(s, 1000);
    int status = 0;
    assert_int_equal(waitpid(s->pid, &status, 0), s->pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    close(s->fd);
}

static int setup(void **st) {
    (void)st;
    if (!mkdtemp(tmpdir)) return -1;
    snprintf(histfile, sizeof histfile, "%s/hist", tmpdir);
    return 0;
}

static int teardown(void **st) {
    (void)st;
    unlink(histfile);
    char p[300];
    snprintf(p, sizeof p, "%s/.retort_history", tmpdir);
    unlink(p);
    rmdir(tmpdir);
    return 0;
}

static session S;

static void test_repl_session(void **st) {
    (void)st;
    session *s = &S;
    spawn(s);
    expect_(s, "Type ?name");
    expect_(s, "rt> ");
    /* auto-print of an expression */
    send(s, "1234 + 1\r");
    expect_(s, "1235");
    expect_(s, "rt> ");
    /* multi-line function definition: continuation prompt while incomplete */
    send(s, "function sq(x)\r");
    expect_(s, "..> ");
    send(s, "return x * x\r");
    expect_(s, "..> ");
    send(s, "end\r");
    expect_(s, "rt> ");
    send(s, "sq(12)\r");
    expect_(s, "144");
    expect_(s, "rt> ");
    /* trailing ; suppresses printing; _ still holds the value */
    send(s, "6 * 7;\r");
    char *skipped = expect(s, "rt> ");
    assert_null(strstr(skipped, "42"));
    free(skipped);
    send(s, "_ + 1\r");
    expect_(s, "43");
    expect_(s, "rt> ");
    /* tab completion of a real field of rt */
    send(s, "rt.doc_n\t");
    expect_(s, "names");
    send(s, " ~= nil\r");
    expect_(s, "true");
    expect_(s, "rt> ");
    /* ?name help */
    send(s, "?rt.doc\r");
    expect_(s, "registers help text");
    expect_(s, "rt> ");
    /* an error prints a traceback, then the prompt works */
    send(s, "error('bo' .. 'om')\r");
    expect_(s, "boom");
    expect_(s, "stack traceback");
    expect_(s, "rt> ");
    send(s, "2 + 2\r");
    expect_(s, "4");
    expect_(s, "rt> ");
    /* Ctrl-C inside a running loop stops it */
    send(s, "print('spin' .. 'ning') while true do end\r");
    expect_(s, "spinning");
    send(s, "\x03");
    expect_(s, "interrupted");
    expect_(s, "rt> ");
    send(s, "5 + 5\r");
    expect_(s, "10");
    expect_(s, "rt> ");
    /* Ctrl-C at the prompt clears the line */
    send(s, "this is not lua");
    expect_(s, "not lua");
    send(s, "\x03");
    expect_(s, "rt> ");
    send(s, "3 + 3\r");
    expect_(s, "6");
    expect_(s, "rt> ");
    send(s, "4321 + 1\r");
    expect_(s, "4322");
    expect_(s, "rt> ");
    /* no colour with NO_COLOR */
    assert_null(strstr(s->buf, "\033[31m"));
    finish(s);
}

static void test_history_across_sessions(void **st) {
    (void)st;
    FILE *f = fopen(histfile, "r");
    assert_non_null(f);
    char line[256];
    bool saw = false, saw_fn = false;
    while (fgets(line, sizeof line, f)) {
        if (strcmp(line, "1234 + 1\n") == 0) saw = true;
        if (strstr(line, "function sq(x)\x1freturn x * x\x1f" "end")) saw_fn = true;
    }
    fclose(f);
    assert_true(saw);
    assert_true(saw_fn);
    session *s = &S;
    spawn(s);
    expect_(s, "rt> ");
    send(s, "\x10\r");            /* Ctrl-P: the previous session's last command */
    expect_(s, "4322");
    expect_(s, "rt> ");
    finish(s);
}

/* Colour on a terminal, none with NO_COLOR (TERM=xterm both times); without
 * $RETORT_HISTORY the history goes to $HOME/.retort_history. */
static void test_color(void **st) {
    (void)st;
    session *s = &S;
    g_term = "xterm";
    g_env_history = false;
    for (int nc = 0; nc < 2; nc++) {
        g_no_color = nc == 1;
        spawn(s);
        expect_(s, "rt> ");
        send(s, "error('red' .. 'dish')\r");
        char *skipped = expect(s, "reddish");
        if (nc == 0) assert_non_null(strstr(skipped, "\033[31m"));
        else assert_null(strstr(s->buf, "\033[31m"));
        free(skipped);
        expect_(s, "rt> ");
        finish(s);
    }
    g_term = "dumb";
    g_no_color = true;
    g_env_history = true;
    char p[300], line[256];
    snprintf(p, sizeof p, "%s/.retort_history", tmpdir);
    FILE *f = fopen(p, "r");
    assert_non_null(f);
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "error('red' .. 'dish')\n");
    fclose(f);
}

/* What a new user tries (issue 9), one session each: completion of model methods
 * and fields, of lazy modules before their first use and of file names inside a
 * string; a pasted "rt> " prompt; Ctrl-C after typed text ("^C" right after it,
 * then a fresh prompt); `exit` and `quit`. */
static session *fresh(void) {
    session *s = &S;
    spawn(s);
    expect_(s, "rt> ");
    return s;
}

/* `word` + Enter must end the REPL with status 0. */
static void leave_with(session *s, const char *word) {
    send(s, word);
    send(s, "\r");
    long long end = now_ms() + DEADLINE_MS;
    while (!s->eof && now_ms() < end) pump(s, 1000);
    assert_true(s->eof);
    int status = 0;
    assert_int_equal(waitpid(s->pid, &status, 0), s->pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    close(s->fd);
}

static void test_complete_model(void **st) {
    (void)st;
    session *s = fresh();
    send(s, "m = rt.model.new{hidden_size = 8, num_hidden_layers = 1, num_attention_heads = 2, "
            "intermediate_size = 8, vocab_size = 10}\r");
    expect_(s, "rt> ");
    send(s, "m:num_param\t");
    expect_(s, "num_parameters");
    send(s, "() > 0 and 'pos' .. 'itive'\r");
    expect_(s, "positive");
    expect_(s, "rt> ");
    send(s, "m.conf\t");
    expect_(s, "config");
    send(s, ".hidden_size * 111\r");
    expect_(s, "888");
    expect_(s, "rt> ");
    finish(s);
}

static void test_complete_lazy_module(void **st) {
    (void)st;
    session *s = fresh();
    send(s, "rt.trainer.remove_tr\t");
    expect_(s, "remove_tree");
    send(s, " and 'lo' .. 'aded'\r");
    expect_(s, "loaded");
    expect_(s, "rt> ");
    finish(s);
}

static void test_complete_file_in_string(void **st) {
    (void)st;
    session *s = fresh();
    send(s, "f = \"src/cli/complet\t");
    expect_(s, "complete.c");
    send(s, "\r");
    expect_(s, "rt> ");
    send(s, "f:upper()\r");
    expect_(s, "SRC/CLI/COMPLETE.C");
    expect_(s, "rt> ");
    finish(s);
}

static void test_pasted_prompt(void **st) {
    (void)st;
    session *s = fresh();
    send(s, "rt> 20 + 3\r");
    expect_(s, "23");
    expect_(s, "rt> ");
    finish(s);
}

static void test_ctrl_c_after_text(void **st) {
    (void)st;
    g_term = "xterm";                     /* a real terminal's cursor movements */
    session *s = fresh();
    send(s, "x = 1 +");
    expect_(s, "1 +");
    send(s, "\x03");
    char *before = expect(s, "^C");     /* right after the typed text, not over the prompt */
    assert_string_equal(before, "");
    free(before);
    expect_(s, "rt> ");
    send(s, "7 * 6\r");
    expect_(s, "42");
    expect_(s, "rt> ");
    finish(s);
    g_term = "dumb";
}

static void test_exit_quit(void **st) {
    (void)st;
    leave_with(fresh(), "exit");
    leave_with(fresh(), "quit");
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_repl_session),
        cmocka_unit_test(test_history_across_sessions),
        cmocka_unit_test(test_color),
        cmocka_unit_test(test_complete_model),
        cmocka_unit_test(test_complete_lazy_module),
        cmocka_unit_test(test_complete_file_in_string),
        cmocka_unit_test(test_pasted_prompt),
        cmocka_unit_test(test_ctrl_c_after_text),
        cmocka_unit_test(test_exit_quit),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
