/* libFuzzer target: the notebook runner's JSON side: parse, keep the literals cJSON
 * cannot hold (\u0000 strings, big integers), join every cell's source, write the
 * tree back (nbformat style) and parse that again. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include "cli/nbjson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cJSON *nb = cJSON_ParseWithLength((const char *)data, size);
    if (!nb) return 0;
    nb_keep_literals(nb, (const char *)data, size);
    cJSON *cells = cJSON_GetObjectItem(nb, "cells");
    cJSON *cell;
    if (cJSON_IsArray(cells))
        cJSON_ArrayForEach(cell, cells) {
            if (!cJSON_IsObject(cell)) continue;
            free(nb_join_lines(cJSON_GetObjectItem(cell, "source")));
            nb_ensure_id(cell);
        }
    char *out = nb_dumps(nb);
    if (out) {
        cJSON *back = cJSON_Parse(out);
        if (!back) __builtin_trap();              /* our own output must be JSON */
        cJSON_Delete(back);
        free(out);
    }
    cJSON_Delete(nb);
    return 0;
}
