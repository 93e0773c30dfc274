/* libFuzzer target: safetensors parser over an in-memory image. */
#include <stddef.h>
#include <stdint.h>
#include "io/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    rt_tensor_dict *d = rt_safetensors_load_mem(data, size, "fuzz");
    if (d) {
        for (int i = 0; i < d->n; i++) {           /* touch every element */
            volatile uint8_t s = 0;
            const uint8_t *p = rt_data(d->items[i].t);
            for (size_t k = 0; k < rt_nbytes(d->items[i].t); k++) s ^= p[k];
        }
        rt_tdict_free(d);
    }
    return 0;
}
