/* status.c — thread-local error message and the Ctrl-C flag (status.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "status.h"

#define RT_MSG_MAX 1024

static _Thread_local char tl_msg[RT_MSG_MAX];
static _Thread_local rt_status tl_status = RT_OK;

volatile sig_atomic_t rt_interrupt_flag = 0;

rt_status rt_errorf(rt_status code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tl_msg, sizeof tl_msg, fmt, ap);
    va_end(ap);
    tl_status = code;
    return code;
}

void rt_error_prefix(const char *fmt, ...) {
    char pre[RT_MSG_MAX / 2], old[RT_MSG_MAX / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    size_t lo = strnlen(tl_msg, sizeof old - 1);
    memcpy(old, tl_msg, lo);
    old[lo] = 0;
    size_t lp = strlen(pre);
    memcpy(tl_msg, pre, lp);
    memcpy(tl_msg + lp, ": ", 2);
    memcpy(tl_msg + lp + 2, old, lo + 1);
}

const char *rt_last_error(void) { return tl_msg; }
rt_status rt_last_status(void) { return tl_status; }
void rt_clear_error(void) { tl_msg[0] = 0; tl_status = RT_OK; }
