/* libFuzzer target: SSTable (TF checkpoint index) + BundleEntryProto parsing, snappy. */
#include <stdlib.h>
#include <stddef.h>
#include <stdint.h>
#include "io/sstable.h"
#include "io/tfckpt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    rt_tf_ckpt *c = rt_tfckpt_parse_index(data, size, "fuzz");
    rt_tfckpt_free(c);
    uint8_t *out;
    size_t n;
    if (rt_snappy_uncompress(data, size, &out, &n) == RT_OK) free(out);
    return 0;
}
