/* sys.h — the services room: the one place that talks to the file system, the
 * clock and the terminal. Every layer above (io, text, data, models, cli, lua)
 * calls these instead of writing its own; every failure records a message that
 * names the path (rt_last_error()).
 *
 *   whole files   rt_read_file, rt_file_size, rt_write_file_atomic
 *   atomic writer rt_atomic_open / rt_atomic_write / rt_atomic_commit / rt_atomic_abort
 *   directories   rt_mkdir_p, rt_listdir, rt_remove_tree, rt_path_exists, rt_path_isdir
 *   clock, tty    rt_now, rt_isatty, rt_fsync_path
 *   bytes         rt_buf (a growable, always NUL-terminated byte buffer)
 *
 * The atomic writer makes "<path>.tmp.XXXXXX" in the same directory, and on commit
 * flushes, fsyncs and closes it, renames it over path and fsyncs the directory.
 * Any failure removes the temp file and leaves the old file at path untouched. */
#ifndef RT_SYS_H
#define RT_SYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "status.h"

/* ---- growable byte buffer ---- */
/* data is NULL or NUL-terminated at data[len]; once an allocation fails, `oom` stays
 * set and later appends do nothing (check it, or the status, once at the end). */
typedef struct { char *data; size_t len, cap; bool oom; } rt_buf;
/* Make room for `extra` more bytes (+ the NUL). RT_ENOMEM on failure (sets oom). */
rt_status rt_buf_reserve(rt_buf *b, size_t extra);
/* Append n bytes / one byte / a C string / printf-formatted text. */
rt_status rt_buf_append(rt_buf *b, const void *data, size_t n);
rt_status rt_buf_putc(rt_buf *b, char c);
rt_status rt_buf_puts(rt_buf *b, const char *s);
rt_status rt_buf_printf(rt_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hand the bytes over to the caller (free() them; never NULL unless oom) and reset b. */
char *rt_buf_detach(rt_buf *b, size_t *len);
void rt_buf_free(rt_buf *b);

/* ---- whole files ---- */
/* Read all of `path` (regular file, pipe or device) into a malloc'ed buffer with one
 * NUL byte after the data (not counted in *len). */
rt_status rt_read_file(const char *path, uint8_t **buf, size_t *len);
/* Size of a regular file (an error for directories and devices). */
rt_status rt_file_size(const char *path, size_t *len);
/* Replace `path` with data[0, n) atomically (see the header comment); mode 0644. */
rt_status rt_write_file_atomic(const char *path, const void *data, size_t n);

/* ---- atomic writer (for data written in pieces) ---- */
typedef struct { FILE *f; char *tmp; char *path; int failed; } rt_atomic_file;
/* Create the temp file next to path with permissions 0644. */
rt_status rt_atomic_open(rt_atomic_file *af, const char *path);
/* The same with the given permission bits (e.g. 0600 for private files). */
rt_status rt_atomic_open_mode(rt_atomic_file *af, const char *path, unsigned mode);
/* Append n bytes; after a failure every later write and the commit fail. */
rt_status rt_atomic_write(rt_atomic_file *af, const void *data, size_t n);
/* Flush, fsync, close, rename over path, fsync the directory. On failure the temp
 * file is removed and path keeps its old contents. Always releases af. */
rt_status rt_atomic_commit(rt_atomic_file *af);
/* Close and remove the temp file; path is not touched. Safe on a zeroed af. */
void rt_atomic_abort(rt_atomic_file *af);

/* ---- directories ---- */
/* mkdir -p: create path and its missing parents (mode 0777 & ~umask); RT_OK if it
 * already is a directory, an error if it (or a parent) exists as something else. */
rt_status rt_mkdir_p(const char *path);
/* The entry names of directory `path` (without "." and ".."), sorted bytewise, as a
 * malloc'ed array of malloc'ed strings; free with rt_names_free. */
rt_status rt_listdir(const char *path, char ***names, size_t *n);
void rt_names_free(char **names, size_t n);
/* rm -r that never follows symbolic links: a symlink (even one to a directory) is
 * unlinked, not descended into. A missing path is RT_OK. */
rt_status rt_remove_tree(const char *path);
/* Whether path exists (lstat: a dangling symlink exists) / is a directory (stat). */
bool rt_path_exists(const char *path);
bool rt_path_isdir(const char *path);
/* fsync an existing file or directory by name. */
rt_status rt_fsync_path(const char *path);

/* ---- clock and terminal ---- */
/* Monotonic wall-clock seconds (CLOCK_MONOTONIC; only differences mean anything). */
double rt_now(void);
/* Whether file descriptor fd is a terminal. */
bool rt_isatty(int fd);

#endif
