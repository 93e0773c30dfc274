/* libFuzzer target: config.json parsing and validation; a config that passes and
 * asks for a small model (estimated before allocating) is built and freed. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "models/model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *s = malloc(size + 1);
    if (!s) return 0;
    memcpy(s, data, size);
    s[size] = 0;
    rt_config c;
    if (rt_config_parse(s, "fuzz.json", &c) == RT_OK) {
        if (rt_config_param_bytes(&c) < (4 << 20)) {
            rt_model *m = rt_model_new(&c, NULL);     /* takes over c */
            if (m) rt_model_free(m);
        } else {
            rt_config_free(&c);
        }
    }
    free(s);
    return 0;
}
