/* ioutil.h — small shared pieces of the file readers/writers: checksums
 * (CRC32C for TF, CRC-32 for zip), little-endian access, whole-file
 * storages, varints and the half-precision conversion. Whole-file reads and atomic
 * writes live in core/sys.h (included here for the readers' convenience). */
#ifndef RT_IOUTIL_H
#define RT_IOUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "../core/status.h"
#include "../core/sys.h"

/* CRC32C (Castagnoli), standard init/final xor; `crc` is a previous result (0 to start). */
uint32_t rt_crc32c_extend(uint32_t crc, const void *data, size_t n);
static inline uint32_t rt_crc32c(const void *data, size_t n) { return rt_crc32c_extend(0, data, n); }
/* TF's masked CRC: ((crc >> 15 | crc << 17) + 0xa282ead8). */
static inline uint32_t rt_crc32c_mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }
static inline uint32_t rt_crc32c_unmask(uint32_t m) { uint32_t r = m - 0xa282ead8u; return (r >> 17) | (r << 15); }
/* CRC-32 (IEEE 802.3, zip); `crc` is a previous result (0 to start). */
uint32_t rt_crc32_extend(uint32_t crc, const void *data, size_t n);

static inline uint16_t rt_rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t rt_rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static inline uint64_t rt_rd64(const uint8_t *p) { return (uint64_t)rt_rd32(p) | (uint64_t)rt_rd32(p + 4) << 32; }
static inline void rt_wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void rt_wr32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> 8 * i); }
static inline void rt_wr64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> 8 * i); }

/* IEEE half -> float. */
float rt_f16_to_f32(uint16_t h);

/* The whole of `path` read into an owned storage (len = rt_file_size's result).
 * Readers copy instead of mapping the file: truncating or rewriting the file after
 * a load can neither kill the process (SIGBUS) nor change the loaded tensors, and
 * the bytes count as tensor memory (rt.memory, the GC). */
struct rt_storage *rt_file_storage(const char *path, size_t len);
/* An owned storage holding a copy of buf[0, len) (for the *_load_mem entry points). */
struct rt_storage *rt_storage_from_mem(const void *buf, size_t len);

/* Varints / protobuf wire reading over [*p, end): 0 on success, -1 on truncation. */
int rt_pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v);
/* Skip a field of wire type wt (0 varint, 1 fixed64, 2 bytes, 5 fixed32); -1 on error. */
int rt_pb_skip(const uint8_t **p, const uint8_t *end, int wt);
/* Append a varint to out (at most 10 bytes); returns bytes written. */
size_t rt_pb_put_varint(uint8_t *out, uint64_t v);

#endif
