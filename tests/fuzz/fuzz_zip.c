/* libFuzzer target: zip container + torch.save state_dict reader. */
#include <stddef.h>
#include <stdint.h>
#include "io/torchbin.h"
#include "io/zip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    rt_zip *z = rt_zip_open_mem(data, size, "fuzz");
    if (z) {
        for (int i = 0; i < z->n; i++) rt_zip_data(z, &z->e[i], 1);
        rt_zip_free(z);
    }
    rt_tensor_dict *d = rt_torchbin_load_mem(data, size, "fuzz");
    if (d) {
        for (int i = 0; i < d->n; i++) {
            rt_tensor *c = rt_tensor_contiguous(d->items[i].t);   /* reads every element of each view */
            rt_release(c);
        }
        rt_tdict_free(d);
    }
    return 0;
}
