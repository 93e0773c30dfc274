/* libFuzzer target: one line of TinyBERT pregenerated JSON (epoch_k.json); a record
 * that parses is formatted again and must parse back to the same counts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "io/pregen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    rt_pregen_record r;
    memset(&r, 0, sizeof r);
    if (rt_pregen_parse_line((const char *)data, size, &r, "fuzz.json") != RT_OK) return 0;
    char *line = NULL;
    if (rt_pregen_format(&r, &line) == RT_OK) {
        rt_pregen_record b;
        memset(&b, 0, sizeof b);
        if (rt_pregen_parse_line(line, strlen(line), &b, "re") != RT_OK || b.ntokens != r.ntokens ||
            b.npositions != r.npositions || b.nlabels != r.nlabels)
            __builtin_trap();
        rt_pregen_record_free(&b);
        free(line);
    }
    rt_pregen_record_free(&r);
    return 0;
}
