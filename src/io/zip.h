/* zip.h — the zip container subset torch.save uses: a reader over an in-memory
 * (or mapped) image that lists entries and locates stored (uncompressed) data,
 * with zip64; and a writer of stored entries with data aligned to 64 bytes
 * (the way torch.save pads them, so tensors can be mapped in place). */
#ifndef RT_ZIP_H
#define RT_ZIP_H

#include <stddef.h>
#include <stdint.h>
#include "ioutil.h"

typedef struct {
    char *name;
    uint64_t data_offset;    /* of the first data byte in the image */
    uint64_t size;           /* uncompressed size */
    uint64_t csize;          /* compressed size */
    uint32_t crc;
    uint16_t method;         /* 0 stored, 8 deflate (rejected when read) */
} rt_zip_entry;

typedef struct {
    const uint8_t *buf;
    size_t len;
    int n;
    rt_zip_entry *e;
    char *label;
    int *hash, hcap;         /* name index (1 + entry, 0 empty): rt_zip_find in O(1) */
} rt_zip;

/* Parse the central directory of the image buf[0..len) (not copied: it must
 * outlive the rt_zip). label names the file in errors. NULL on failure. */
rt_zip *rt_zip_open_mem(const uint8_t *buf, size_t len, const char *label);
void rt_zip_free(rt_zip *z);
const rt_zip_entry *rt_zip_find(const rt_zip *z, const char *name);
/* Data of a stored entry (checks method and bounds; crc when check_crc). */
const uint8_t *rt_zip_data(const rt_zip *z, const rt_zip_entry *e, int check_crc);

/* Writer of stored entries into an atomic file. */
typedef struct {
    rt_atomic_file af;
    uint64_t pos;
    int n, cap;
    rt_zip_entry *e;
    uint64_t *lho;           /* local header offsets */
} rt_zip_writer;

rt_status rt_zip_writer_open(rt_zip_writer *w, const char *path);
/* Add a stored entry whose data is the concatenation of n pieces. */
rt_status rt_zip_writer_add(rt_zip_writer *w, const char *name, const void *const *pieces,
                            const size_t *sizes, int n);
rt_status rt_zip_writer_close(rt_zip_writer *w);   /* central directory + commit */
void rt_zip_writer_abort(rt_zip_writer *w);

#endif
