/* nbjson.h — small JSON helpers for the notebook runner (cJSON trees). */
#ifndef RT_NBJSON_H
#define RT_NBJSON_H

#include <stdbool.h>
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
/* Keep what a cJSON tree cannot hold, from the text it was parsed from: strings with
 * a \u0000 escape (cJSON stops at the NUL) and numbers the writer would print
 * differently (integers past 2^53 and such) become raw nodes written back byte for
 * byte. Code cells' "source" stays a string (it is run). false: text and tree differ. */
bool nb_keep_literals(cJSON *root, const char *text, size_t n);
/* Write the tree as nbformat does (sorted keys, 1-space indent, UTF-8, final
 * newline) to path atomically (rt_write_file_atomic). */
rt_status nb_write_atomic(const char *path, const cJSON *root);
/* The same text into a malloc'd string (for tests). */
char *nb_dumps(const cJSON *root);

#endif
