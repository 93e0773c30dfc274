/* tfckpt.h — TF1 (V2-format) checkpoints: `<prefix>.index` (an SSTable whose
 * values are BundleEntryProto, plus the "" BundleHeaderProto) and the data
 * shards `<prefix>.data-0000N-of-0000M`, with masked CRC32C checks.
 * dtypes: float, int32, int64, bfloat16, bool as is; half, double -> f32;
 * int8/uint8/int16/uint16 -> i32; uint32 -> i64; strings are listed but not read. */
#ifndef RT_TFCKPT_H
#define RT_TFCKPT_H

#include "tensor_dict.h"

typedef struct {
    char *name;
    int tf_dtype;            /* DataType enum value */
    int dt;                  /* rt_dtype, or -1 when unsupported (strings, complex...) */
    const char *dtype_name;  /* TF's name: "float", "int64", "string", ... */
    int ndim;
    int64_t shape[RT_MAXDIM];
    int shard;
    uint64_t offset, size;
    uint32_t crc;            /* unmasked; valid when has_crc */
    int has_crc, sliced;
} rt_tf_var;

typedef struct {
    char *prefix;            /* path prefix of the data shards */
    int num_shards;
    int n;
    rt_tf_var *v;            /* sorted by name */
} rt_tf_ckpt;

/* Open a checkpoint: a prefix ("dir/model.ckpt"), the ".index" file, or a
 * directory (its `checkpoint` file's model_checkpoint_path, else model.ckpt). */
rt_tf_ckpt *rt_tfckpt_open(const char *path);
/* Parse an index image only (no data files; for tests and fuzzing). */
rt_tf_ckpt *rt_tfckpt_parse_index(const uint8_t *buf, size_t len, const char *label);
void rt_tfckpt_free(rt_tf_ckpt *c);
const rt_tf_var *rt_tfckpt_find(const rt_tf_ckpt *c, const char *name);
/* Read one variable (contiguous, converted dtype); checks size and CRC. */
rt_tensor *rt_tfckpt_read(const rt_tf_ckpt *c, const rt_tf_var *v);
/* All variables. torch_names: map names with rt_tf_to_torch_name (transposing
 * kernels, skipping optimizer slots); names skipped are listed, comma-separated,
 * in metadata "skipped". Without torch_names every readable variable keeps its TF
 * name (strings are skipped). */
rt_tensor_dict *rt_tfckpt_load(const char *path, int torch_names);

#endif
