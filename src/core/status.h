/* status.h — status codes, a thread-local error message, and the interrupt flag.
 *
 * Every core/kernel/model function that can fail returns rt_status (or NULL for
 * functions returning pointers) and records a message with rt_errorf() naming the
 * op, the shapes, the file and line. Bindings turn it into a Lua error. Nothing in
 * retort calls abort()/exit() on user input. */
#ifndef RT_STATUS_H
#define RT_STATUS_H

#include <stdbool.h>
#include <signal.h>

typedef enum {
    RT_OK = 0,
    RT_EINVAL,    /* bad argument value */
    RT_ESHAPE,    /* shapes do not fit */
    RT_EDTYPE,    /* wrong dtype */
    RT_EINDEX,    /* index or dim out of range */
    RT_ENOMEM,    /* allocation failed */
    RT_EIO,       /* file system error */
    RT_EFORMAT,   /* malformed or unsupported file contents */
    RT_ESTATE,    /* call not valid in the current state (e.g. freed graph) */
    RT_EINTR,     /* interrupted by the user (Ctrl-C) */
} rt_status;

/* Record a printf-style message for the current thread and return `code`. */
rt_status rt_errorf(rt_status code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prefix the current message with "prefix: " (to add context on the way up). */
void rt_error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The current thread's last message ("" when none). */
const char *rt_last_error(void);
rt_status rt_last_status(void);
void rt_clear_error(void);

/* Ctrl-C: the signal handler sets the flag; long C loops poll rt_interrupted()
 * between ops/rows and return RT_EINTR. The REPL clears it before each command. */
extern volatile sig_atomic_t rt_interrupt_flag;
static inline bool rt_interrupted(void) { return rt_interrupt_flag != 0; }
static inline void rt_interrupt_clear(void) { rt_interrupt_flag = 0; }

#endif
