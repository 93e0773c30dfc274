/* libFuzzer target: TFRecord framing and tf.train.Example decode/encode. */
#include <stdlib.h>
#include <stddef.h>
#include <stdint.h>
#include "io/tfrecord.h"

static void example(const uint8_t *d, size_t n) {
    rt_example ex;
    if (rt_example_parse(d, n, &ex, "fuzz") != RT_OK) return;
    uint8_t *b;
    size_t len;
    if (rt_example_encode(&ex, &b, &len) == RT_OK) {
        rt_example back;
        if (rt_example_parse(b, len, &back, "re") != RT_OK || back.n > ex.n) abort();   /* own output must parse */
        rt_example_free(&back);
        free(b);
    }
    rt_example_free(&ex);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    rt_tfrecord_reader *r = rt_tfrecord_open_mem(data, size, "fuzz");
    const uint8_t *d;
    size_t n;
    while (rt_tfrecord_next(r, &d, &n) == 1) example(d, n);
    rt_tfrecord_close(r);
    example(data, size);                 /* the payload parser on raw input too */
    return 0;
}
