/* weights_io.h — the model code's view of the src/io readers and writers:
 * load any supported weight file into a tensor dict, save one as safetensors or
 * as a torch.save-compatible pytorch_model.bin, and map TF1 variable names. */
#ifndef RT_WEIGHTS_IO_H
#define RT_WEIGHTS_IO_H

#include <stdbool.h>
#include <stddef.h>
#include "../io/tensor_dict.h"

/* model.safetensors / pytorch_model.bin / TF .index (by content or name). */
rt_tensor_dict *rt_weights_load(const char *path);
/* bin: a zip + pickle state_dict (tensors sharing storage stay shared). */
rt_status rt_weights_save(const char *path, const rt_tensor_dict *d, bool bin);
#endif
