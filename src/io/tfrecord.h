/* tfrecord.h — TFRecord files and tf.train.Example protos (BERT create_pretraining_data.py / run_pretraining.py).
 * Record: u64 length | u32 masked_crc32c(length) | data | u32 masked_crc32c(data).
 * Example { features(1): Features { feature(1): map<string, Feature> } },
 * Feature oneof bytes_list(1) / float_list(2) / int64_list(3), value(1) packed
 * or unpacked. */
#ifndef RT_TFRECORD_H
#define RT_TFRECORD_H

#include <stddef.h>
#include <stdint.h>
#include "../core/status.h"

typedef struct rt_tfrecord_reader rt_tfrecord_reader;

rt_tfrecord_reader *rt_tfrecord_open(const char *path);
/* Reader over an in-memory image (not copied: it must outlive the reader). */
rt_tfrecord_reader *rt_tfrecord_open_mem(const void *buf, size_t len, const char *label);
/* Next record: 1 and (*data, *len) valid until the next call; 0 at the end;
 * -1 with "file: record N at byte B: what is wrong" (truncation, CRC mismatch). */
int rt_tfrecord_next(rt_tfrecord_reader *r, const uint8_t **data, size_t *len);
int64_t rt_tfrecord_index(const rt_tfrecord_reader *r);   /* records returned so far */
void rt_tfrecord_close(rt_tfrecord_reader *r);

typedef struct rt_tfrecord_writer rt_tfrecord_writer;
rt_tfrecord_writer *rt_tfrecord_writer_open(const char *path);   /* atomic: visible at close */
rt_status rt_tfrecord_write(rt_tfrecord_writer *w, const void *data, size_t len);
rt_status rt_tfrecord_writer_close(rt_tfrecord_writer *w);       /* commits; frees w */
void rt_tfrecord_writer_abort(rt_tfrecord_writer *w);            /* discards; frees w */

typedef enum { RT_FEAT_BYTES = 1, RT_FEAT_FLOAT = 2, RT_FEAT_INT64 = 3 } rt_feature_kind;

typedef struct {
    char *name;
    rt_feature_kind kind;
    int64_t n;                 /* number of values */
    int64_t *i64;              /* INT64 */
    float *f32;                /* FLOAT */
    uint8_t **bytes;           /* BYTES: n strings of blen[i] bytes */
    size_t *blen;
} rt_feature;

typedef struct { int n, cap; rt_feature *f; } rt_example;

/* Decode an Example (features in file order; a repeated key keeps the last value). */
rt_status rt_example_parse(const uint8_t *buf, size_t len, rt_example *ex, const char *label);
void rt_example_free(rt_example *ex);
const rt_feature *rt_example_get(const rt_example *ex, const char *name);
/* Add a feature (values copied) for encoding. */
rt_status rt_example_add_int64(rt_example *ex, const char *name, const int64_t *v, int64_t n);
rt_status rt_example_add_float(rt_example *ex, const char *name, const float *v, int64_t n);
rt_status rt_example_add_bytes(rt_example *ex, const char *name, const uint8_t *const *v, const size_t *lens, int64_t n);
/* Encode (packed lists, features sorted by name); *out is malloc'ed. */
rt_status rt_example_encode(const rt_example *ex, uint8_t **out, size_t *len);

#endif
