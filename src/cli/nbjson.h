/* nbjson.h — small JSON helpers for the notebook runner (cJSON trees). */
#ifndef RT_NBJSON_H
#define RT_NBJSON_H

#include <stddef.h>
#include <cJSON.h>
#include "../core/sys.h"

/* Jupyter multi-line text: a string array of lines, each keeping its '\n'. */
cJSON *nb_lines(const char *text, size_t n);
/* Join a string or an array of strings (malloc'd; NULL when neither). */
char *nb_join_lines(const cJSON *v);
/* Base64 of n bytes (malloc'd, NUL-terminated). */
char *nb_base64(const void *data, size_t n);
/* Give the cell an "id" (8 hex digits) when it has none. */
void nb_ensure_id(cJSON *cell);
/* Write the tree as nbformat does (sorted keys, 1-space indent, UTF-8, final
 * newline) to path atomically (rt_write_file_atomic). */
rt_status nb_write_atomic(const char *path, const cJSON *root);
/* The same text into a malloc'd string (for tests). */
char *nb_dumps(const cJSON *root);

#endif
