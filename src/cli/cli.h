/* cli.h — the retort command line: evaluation rule shared by the REPL and the
 * notebook runner, tab completion, history, interrupts and display hooks.
 * Only src/cli and src/lua include Lua headers; these pieces go through lrt.h. */
#ifndef RT_CLI_H
#define RT_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include "../lua/lrt.h"

/* ---- evaluation (eval.c) ---- */

typedef enum {
    CLI_CHUNK_OK = 0,        /* compiled; the function is on the stack */
    CLI_CHUNK_INCOMPLETE,    /* more input needed (the parser stopped at <eof>) */
    CLI_CHUNK_ERROR,         /* syntax error; the message is on the stack */
} cli_chunk;

/* Compile `code` with the REPL rule: for several lines, the last line as
 * `return <line>` when that compiles; then `return <code>` (so expressions print);
 * else the code as is. Pushes the function (OK) or the message (INCOMPLETE/ERROR).
 * *suppress is set when the code ends with ';' (no auto-print). */
cli_chunk cli_compile(lua_State *L, const char *code, const char *chunkname, bool *suppress);

/* True when a load() error message means "the chunk is incomplete" (ends with <eof>). */
bool cli_msg_incomplete(const char *msg);

/* Pure check used by the REPL loop: is `code` complete (or a definite error)?
 * Leaves the stack unchanged. */
cli_chunk cli_chunk_status(lua_State *L, const char *code);

/* Call the function on top of the stack with a traceback handler, the interrupt
 * hook armed and SIGINT routed to it. Returns the lua status; results (LUA_MULTRET)
 * or the traceback string replace the function. base receives the stack index
 * below the results. */
int cli_docall(lua_State *L, int nargs, int *base);

/* Run one REPL/notebook input: `?name` → help, else compile + call. Results are
 * pretty-printed with `out` (NULL: to stdout) unless suppressed; `_` is set to the
 * first result. Returns LUA_OK, or the error status with the traceback message on
 * the stack top (caller pops). */
typedef void (*cli_result_fn)(lua_State *L, const char *text, void *ud);
int cli_eval(lua_State *L, const char *code, const char *chunkname, cli_result_fn out, void *ud);

/* The pretty form of the value at idx (lua/retort/pretty.lua; raw strings at top
 * level). Pushes the string. */
void cli_pretty(lua_State *L, int idx);

/* Message string for an error object at idx (tostring/__tostring aware); pushes it. */
const char *cli_error_string(lua_State *L, int idx);

/* ---- interrupts (eval.c) ---- */
/* Install the SIGINT handler that sets rt_interrupt_flag and, while a command runs,
 * a Lua hook raising "interrupted". */
void cli_signals_install(lua_State *L);
/* Arm the same mechanism from another signal (SIGALRM for notebook --timeout). */
void cli_interrupt_now(const char *why);
/* True while cli_docall is running a command. */
extern volatile int cli_running;

/* ---- colour (eval.c) ---- */
/* Colour is used only on a TTY and never with NO_COLOR set. */
bool cli_color(int fd);

/* ---- completion (complete.c) ---- */
/* Candidates for the word `text` (like "rt.do", "x:re", "whi"): keywords and globals
 * for plain names, fields of tables (raw access, following metatable __index tables)
 * for a.b.c, methods for obj:m. Never calls metamethods or user code. Returns a
 * malloc'd NULL-terminated array of malloc'd full words (sorted, unique), or NULL
 * when none. Free with cli_free_candidates. */
char **cli_complete(lua_State *L, const char *text);
void cli_free_candidates(char **c);

/* ---- history (history.c) ---- */
/* Load the history file (entries, one per line; '\n' inside an entry stored as
 * '\x1f'), keeping the last `cap` entries and rewriting the file when it was longer.
 * Calls add(entry) for each kept entry in order. Returns the number kept or -1. */
int cli_history_load(const char *path, int cap, void (*add)(const char *entry, void *ud), void *ud);
/* Append one entry (per line, O_APPEND). Returns 0 or -1. */
int cli_history_append(const char *path, const char *entry);
/* $RETORT_HISTORY, else $HOME/.retort_history (buffer of size n). */
const char *cli_history_path(char *buf, size_t n);

/* ---- display (display.c) ---- */
/* Adds rt.display(x) and rt.display_png(path) to the rt table at idx. Outside a
 * notebook they print a short line; the notebook runner sets a sink. */
void cli_display_install(lua_State *L, int rt);
typedef void (*cli_display_sink)(lua_State *L, const char *mime, const char *data, size_t len, void *ud);
void cli_display_set_sink(cli_display_sink sink, void *ud);

/* ---- REPL and notebook ---- */
/* Interactive loop until EOF (readline on a TTY, plain lines otherwise). */
int cli_repl(lua_State *L, bool banner);
/* `retort --notebook run FILE [--allow-errors] [--timeout S]`; returns exit status. */
int cli_notebook_main(lua_State *L, int argc, char **argv);
/* `retort --kernel CONNECTION_FILE`: a Jupyter kernel (kernel.c) until shutdown. */
int cli_kernel_main(lua_State *L, const char *connection_file);
/* `retort --install-kernel [--user | --prefix DIR]`: writes kernels/retort/kernel.json. */
int cli_install_kernel_main(int argc, char **argv);

#endif
