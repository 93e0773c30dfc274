/* sstable.h — read-only LevelDB-format table (what TF's tensor bundle .index
 * is): footer (metaindex + index BlockHandles, magic 0xdb4775248b80fb57),
 * blocks of prefix-compressed entries with restart points, each followed by a
 * type byte (0 raw, 1 snappy) and a masked CRC32C of contents+type. */
#ifndef RT_SSTABLE_H
#define RT_SSTABLE_H

#include <stddef.h>
#include <stdint.h>
#include "../core/status.h"

/* Called for every (key, value) in key order; return nonzero to stop with an error
 * (the callback sets the message). */
typedef int (*rt_sstable_fn)(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen);

/* Iterate every entry of the table image buf[0..len). label names it in errors. */
rt_status rt_sstable_foreach(const uint8_t *buf, size_t len, const char *label, rt_sstable_fn fn, void *ctx);

/* Snappy raw-format decompression; *out malloc'ed. */
rt_status rt_snappy_uncompress(const uint8_t *in, size_t n, uint8_t **out, size_t *outlen);

#endif
