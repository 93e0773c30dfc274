/* safetensors.h — read (one in-memory copy of the file, viewed where aligned) and write safetensors
 * files: u64 little-endian header length N, N bytes of JSON
 * {"name": {"dtype": "F32", "shape": [..], "data_offsets": [b, e]}, ...,
 *  "__metadata__": {"k": "v"}}, then the raw little-endian data.
 * dtypes: F32 I32 I64 BF16 BOOL stay as they are (views into the mapping when
 * the data is aligned); F16 and F64 become f32; I8 U8 I16 U16 become i32, U32 i64. */
#ifndef RT_SAFETENSORS_H
#define RT_SAFETENSORS_H

#include "tensor_dict.h"

/* Load a file (read into memory, not mapped). NULL with "path: what is wrong" on any defect. */
rt_tensor_dict *rt_safetensors_load(const char *path);
/* Parse an in-memory file image (copied; buf may be freed afterwards). label names it in errors. */
rt_tensor_dict *rt_safetensors_load_mem(const void *buf, size_t len, const char *label);
/* Write d (tensors in any layout, metadata as __metadata__) atomically to path. */
rt_status rt_safetensors_save(const char *path, const rt_tensor_dict *d);

#endif
