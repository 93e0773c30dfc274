/* repl.c — the interactive loop: lua.c's rule (expressions print, multi-line only
 * while the chunk is incomplete), GNU Readline in callback mode (so Ctrl-C at the
 * prompt clears the line safely: "^C" after the text, then a fresh prompt), tab
 * completion (file names inside a string), persistent history, timing. `exit` or
 * `quit` on a line of its own leaves; a pasted "rt> " / "..> " prompt is dropped. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <readline/readline.h>
#include <readline/history.h>
#include "cli.h"
#include "../core/status.h"
#include "../core/sys.h"

#define PROMPT1 "rt> "
#define PROMPT2 "..> "
#define HISTORY_CAP 10000

extern volatile sig_atomic_t cli_sigint_pending;

static lua_State *g_L;
static char *g_line;
static bool g_got_line, g_eof;

/* The pending chunk: lines joined by '\n' (an rt_buf, core/sys.h). */
typedef rt_buf buf_t;

static void buf_add(buf_t *b, const char *line) {
    if (b->len) rt_buf_putc(b, '\n');
    rt_buf_puts(b, line);
}

static void buf_clear(buf_t *b) { b->len = 0; b->oom = false; if (b->data) b->data[0] = 0; }

static bool blank(const char *s) {
    for (; *s; s++) if (!strchr(" \t\r\n", *s)) return false;
    return true;
}

/* A line pasted from a transcript: drop a leading "rt> " or "..> " prompt. */
static const char *strip_prompt(const char *line) {
    const char *p = line + strspn(line, " \t");
    if (!strncmp(p, PROMPT1, 4) || !strncmp(p, PROMPT2, 4)) return p + 4;
    if (!strcmp(p, "rt>") || !strcmp(p, "..>")) return p + 3;
    return line;
}

/* `exit` / `quit` (or exit() / quit()) alone on the first line of a chunk. */
static bool is_exit(const char *line) {
    const char *p = line + strspn(line, " \t");
    size_t n = strlen(p);
    while (n > 0 && strchr(" \t;", p[n - 1])) n--;
    static const char *const words[] = {"exit", "quit", "exit()", "quit()", NULL};
    for (int i = 0; words[i]; i++)
        if (n == strlen(words[i]) && !strncmp(p, words[i], n)) return true;
    return false;
}

/* Run one complete chunk and report errors/timing. */
static void run_chunk(lua_State *L, const char *code) {
    double t0 = rt_now();
    int top = lua_gettop(L);
    int st = cli_eval(L, code, "=input", NULL, NULL);
    double dt = rt_now() - t0;
    fflush(stdout);
    if (st != LUA_OK) {
        const char *msg = cli_error_string(L, -1);
        bool c = cli_color(2);
        fprintf(stderr, "%s%s%s\n", c ? "\033[31m" : "", msg, c ? "\033[0m" : "");
        fflush(stderr);
    }
    lua_settop(L, top);
    if (dt > 1.0) {
        bool c = cli_color(1);
        printf("%s(%.2f s)%s\n", c ? "\033[2m" : "", dt, c ? "\033[0m" : "");
        fflush(stdout);
    }
}

/* ---- readline glue ---- */

static char **g_cands;
static size_t g_cand_i;
static bool g_qmark, g_files;

static char *generator(const char *text, int state) {
    (void)text;
    if (!g_cands) return NULL;
    if (state == 0) g_cand_i = 0;
    const char *c = g_cands[g_cand_i];
    if (!c) return NULL;
    g_cand_i++;
    if (!g_qmark) return strdup(c);
    char *r = malloc(strlen(c) + 2);
    if (r) { r[0] = '?'; strcpy(r + 1, c); }
    return r;
}

static char **attempt(const char *text, int start, int end) {
    (void)start; (void)end;
    rl_attempted_completion_over = 1;       /* never fall back to file names ... */
    rl_completion_append_character = '\0';
    g_files = rl_completion_quote_character != 0;
    if (g_files) {                          /* ... except inside a string: "data/tr<TAB> */
        rl_filename_completion_desired = 1;
        return rl_completion_matches(text, rl_filename_completion_function);
    }
    cli_free_candidates(g_cands);
    g_qmark = text[0] == '?';
    g_cands = cli_complete(g_L, text + (g_qmark ? 1 : 0));
    char **m = g_cands ? rl_completion_matches(text, generator) : NULL;
    cli_free_candidates(g_cands);
    g_cands = NULL;
    return m;
}

/* List matches by their last part ("sum" rather than "x:sum"), like IPython. */
static void show_matches(char **matches, int n, int maxlen) {
    const char *m1 = matches[1] ? matches[1] : matches[0];
    size_t cut = 0;
    for (const char *p = m1; *p; p++)
        if (g_files ? *p == '/' : (*p == '.' || *p == ':')) cut = (size_t)(p - m1) + 1;
    char **view = malloc((size_t)(n + 2) * sizeof *view);
    if (!view) return;
    for (int i = 0; i <= n; i++) view[i] = strlen(matches[i]) >= cut ? matches[i] + cut : matches[i];
    view[n + 1] = NULL;
    rl_display_match_list(view, n, maxlen - (int)cut);
    rl_forced_update_display();
    free(view);
}

static void on_line(char *line) {
    if (!line) g_eof = true;
    g_line = line;
    g_got_line = true;
    rl_callback_handler_remove();
}

static void add_entry(const char *entry, void *ud) { (void)ud; add_history(entry); }

static void remember(const char *hist_path, const char *code) {
    if (blank(code)) return;
    HIST_ENTRY *last = history_length > 0 ? history_get(history_base + history_length - 1) : NULL;
    if (last && last->line && strcmp(last->line, code) == 0) return;
    add_history(code);
    if (hist_path) cli_history_append(hist_path, code);
}

/* Ctrl-C at the prompt: "^C" after what was typed, then drop the line (and any
 * pending multi-line input); the caller draws a fresh prompt on the next line. */
static void cancel_line(void) {
    rl_point = rl_end;
    rl_redisplay();
    fputs("^C\n", stdout);
    fflush(stdout);
    rl_free_line_state();
    rl_callback_sigcleanup();
    rl_replace_line("", 0);
    rl_point = rl_end = 0;
    rl_callback_handler_remove();
}

static int repl_readline(lua_State *L) {
    char hbuf[4096];
    const char *hist = cli_history_path(hbuf, sizeof hbuf);
    rl_readline_name = "retort";
    rl_attempted_completion_function = attempt;
    rl_completion_display_matches_hook = show_matches;
    rl_basic_word_break_characters = " \t\n\"\\'`@$><=;|&{}()[],+-*/%^#~";
    rl_completer_word_break_characters = rl_basic_word_break_characters;
    rl_completer_quote_characters = "\"'";
    rl_catch_signals = 0;
    using_history();
    stifle_history(HISTORY_CAP);
    if (hist) cli_history_load(hist, HISTORY_CAP, add_entry, NULL);
    buf_t buf = {0};
    for (;;) {
        g_got_line = g_eof = false;
        g_line = NULL;
        cli_sigint_pending = 0;
        rl_callback_handler_install(buf.len ? PROMPT2 : PROMPT1, on_line);
        while (!g_got_line) {
            if (cli_sigint_pending) {
                cli_sigint_pending = 0;
                cancel_line();
                buf_clear(&buf);
                rl_callback_handler_install(PROMPT1, on_line);
                continue;
            }
            struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
            int r = poll(&p, 1, -1);
            if (r < 0) {
                if (errno == EINTR) continue;
                g_eof = g_got_line = true;
                break;
            }
            if (p.revents & (POLLIN | POLLHUP | POLLERR)) rl_callback_read_char();
        }
        if (g_eof) { rl_callback_handler_remove(); fputc('\n', stdout); break; }
        if (!buf.len && is_exit(g_line)) { remember(hist, g_line); free(g_line); break; }
        buf_add(&buf, strip_prompt(g_line));
        free(g_line);
        if (blank(buf.data)) { buf_clear(&buf); continue; }
        if (buf.data[strspn(buf.data, " \t")] != '?' && cli_chunk_status(L, buf.data) == CLI_CHUNK_INCOMPLETE)
            continue;
        remember(hist, buf.data);
        run_chunk(L, buf.data);
        buf_clear(&buf);
    }
    free(buf.data);
    return 0;
}

/* Not a terminal: read lines, same rule, no prompts, no history. */
static int repl_plain(lua_State *L) {
    buf_t buf = {0};
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
        if (!buf.len && is_exit(line)) break;
        buf_add(&buf, strip_prompt(line));
        if (blank(buf.data)) { buf_clear(&buf); continue; }
        if (buf.data[strspn(buf.data, " \t")] != '?' && cli_chunk_status(L, buf.data) == CLI_CHUNK_INCOMPLETE)
            continue;
        run_chunk(L, buf.data);
        buf_clear(&buf);
    }
    if (buf.len && !blank(buf.data)) run_chunk(L, buf.data);   /* reports the incomplete chunk */
    free(line);
    free(buf.data);
    return 0;
}

int cli_repl(lua_State *L, bool banner) {
    g_L = L;
    cli_signals_install(L);
    bool tty = isatty(STDIN_FILENO);
    if (banner && tty) {
        lua_getfield(L, LUA_REGISTRYINDEX, "rt.lua_dir");
        const char *dir = lua_tostring(L, -1);
        bool c = cli_color(1);
        printf("%sretort %s%s (%s) — NEZHA / TinyBERT in Lua\n", c ? "\033[1m" : "",
               RETORT_VERSION, c ? "\033[0m" : "", LUA_RELEASE);
        printf("Type ?name or help() for help, rt.<TAB> to explore, Ctrl-D to exit.\n");
        printf("Recipes: %s/recipes   Notebooks: notebooks/\n", dir ? dir : "lua");
        lua_pop(L, 1);
        fflush(stdout);
    }
    return tty ? repl_readline(L) : repl_plain(L);
}
