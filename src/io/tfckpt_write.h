/* tfckpt_write.h — TF1 (V2-format) checkpoint writer: `<prefix>.index` (a LevelDB
 * table of BundleEntryProto values, the "" key holding the BundleHeaderProto) and
 * one data shard `<prefix>.data-00000-of-00001`, little-endian, each tensor's
 * masked CRC32C in its entry, as tf.train.Saver writes them; rt_tfckpt_open reads
 * them back. */
#ifndef RT_TFCKPT_WRITE_H
#define RT_TFCKPT_WRITE_H

#include "tensor_dict.h"

/* Write the tensors of d (f32, i32, i64, bf16, bool). torch_names: d holds
 * PyTorch state_dict names, mapped to TF names with rt_torch_to_tf_name
 * (kernels transposed [out,in] -> [in,out]; the tied decoder is left out).
 * global_step >= 0 adds the int64 scalar `global_step`. Both files are written
 * atomically; also writes the `checkpoint` state file next to them naming the
 * prefix (model_checkpoint_path). */
rt_status rt_tfckpt_save(const char *prefix, const rt_tensor_dict *d, int torch_names, int64_t global_step);

#endif
