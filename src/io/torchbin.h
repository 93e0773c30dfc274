/* torchbin.h — PyTorch `pytorch_model.bin` (torch.save zip format) reader and
 * writer for state_dicts. Reader: any top folder (`archive/`, `<name>/`),
 * stored entries, tensors as views into the (copy-on-write) file mapping when
 * aligned, shared storages kept shared, nested dicts flattened with '.', only
 * the pickle subset of pickle.h (nothing executed). Half/double storages become
 * f32, int8/uint8/int16 become i32. Writer: archive/data.pkl (protocol 2),
 * archive/data/<key>, archive/version = "3", readable by torch.load; tensors
 * sharing a storage stay shared. */
#ifndef RT_TORCHBIN_H
#define RT_TORCHBIN_H

#include "tensor_dict.h"

rt_tensor_dict *rt_torchbin_load(const char *path);
/* From an in-memory image (copied). */
rt_tensor_dict *rt_torchbin_load_mem(const void *buf, size_t len, const char *label);
rt_status rt_torchbin_save(const char *path, const rt_tensor_dict *d);

#endif
