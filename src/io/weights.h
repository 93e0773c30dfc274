/* weights.h — one entry point for every weight-file reader: picks the format
 * from the file's contents (safetensors, zip-based pytorch_model.bin) or name
 * (TF checkpoint prefix / .index). */
#ifndef RT_WEIGHTS_H
#define RT_WEIGHTS_H

#include "tensor_dict.h"

/* Load all tensors of a weight file (names as stored in the file; a TF
 * checkpoint is recognised by a ".index" path or a prefix with one).
 * NULL with "path: what is wrong" on failure. */
rt_tensor_dict *rt_io_load(const char *path);

#endif
