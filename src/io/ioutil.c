/* ioutil.c — checksums, half floats, varints, copy-on-write maps. */
#include <sys/mman.h>
#include "ioutil.h"
#include "../core/tensor.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __SSE4_2__
#include <nmmintrin.h>
#endif

/* ---- CRC32C ---- */
static uint32_t crc32c_table[8][256];
static uint32_t crc32_table[8][256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void init_tables(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i, d = i;
        for (int k = 0; k < 8; k++) {
            c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
            d = (d >> 1) ^ (0xEDB88320u & (0u - (d & 1)));
        }
        crc32c_table[0][i] = c;
        crc32_table[0][i] = d;
    }
    for (int t = 1; t < 8; t++)
        for (int i = 0; i < 256; i++) {
            crc32c_table[t][i] = (crc32c_table[t - 1][i] >> 8) ^ crc32c_table[0][crc32c_table[t - 1][i] & 0xff];
            crc32_table[t][i] = (crc32_table[t - 1][i] >> 8) ^ crc32_table[0][crc32_table[t - 1][i] & 0xff];
        }
}

uint32_t rt_crc32c_extend(uint32_t crc, const void *data, size_t n) {
    const uint8_t *p = data;
    uint32_t c = ~crc;
#ifdef __SSE4_2__
    uint64_t c64 = c;
    for (; n >= 8; n -= 8, p += 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c64 = _mm_crc32_u64(c64, w);
    }
    c = (uint32_t)c64;
    for (; n; n--, p++) c = _mm_crc32_u8(c, *p);
#else
    pthread_once(&tables_once, init_tables);
    for (; n >= 8; n -= 8, p += 8) {
        uint32_t lo = c ^ rt_rd32(p), hi = rt_rd32(p + 4);
        c = crc32c_table[7][lo & 0xff] ^ crc32c_table[6][(lo >> 8) & 0xff] ^
            crc32c_table[5][(lo >> 16) & 0xff] ^ crc32c_table[4][lo >> 24] ^
            crc32c_table[3][hi & 0xff] ^ crc32c_table[2][(hi >> 8) & 0xff] ^
            crc32c_table[1][(hi >> 16) & 0xff] ^ crc32c_table[0][hi >> 24];
    }
    for (; n; n--, p++) c = (c >> 8) ^ crc32c_table[0][(c ^ *p) & 0xff];
#endif
    return ~c;
}

uint32_t rt_crc32_extend(uint32_t crc, const void *data, size_t n) {
    pthread_once(&tables_once, init_tables);
    const uint8_t *p = data;
    uint32_t c = ~crc;
    for (; n >= 8; n -= 8, p += 8) {                 /* slice-by-8 */
        uint32_t lo = c ^ rt_rd32(p), hi = rt_rd32(p + 4);
        c = crc32_table[7][lo & 0xff] ^ crc32_table[6][(lo >> 8) & 0xff] ^
            crc32_table[5][(lo >> 16) & 0xff] ^ crc32_table[4][lo >> 24] ^
            crc32_table[3][hi & 0xff] ^ crc32_table[2][(hi >> 8) & 0xff] ^
            crc32_table[1][(hi >> 16) & 0xff] ^ crc32_table[0][hi >> 24];
    }
    for (; n; n--, p++) c = (c >> 8) ^ crc32_table[0][(c ^ *p) & 0xff];
    return ~c;
}

float rt_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff, u;
    if (exp == 0) {
        if (man == 0) u = sign;
        else {                                   /* subnormal: normalise */
            int e = -1;
            do { man <<= 1; e++; } while (!(man & 0x400));
            u = sign | (uint32_t)(127 - 15 - e) << 23 | (man & 0x3ff) << 13;
        }
    } else if (exp == 31) u = sign | 0x7f800000u | man << 13;
    else u = sign | (exp + 112) << 23 | man << 13;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* ---- protobuf wire helpers ---- */
int rt_pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end) return -1;
        uint8_t b = *(*p)++;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) { *v = r; return 0; }
    }
    return -1;
}

int rt_pb_skip(const uint8_t **p, const uint8_t *end, int wt) {
    uint64_t v;
    switch (wt) {
    case 0: return rt_pb_varint(p, end, &v);
    case 1: if (end - *p < 8) return -1; *p += 8; return 0;
    case 5: if (end - *p < 4) return -1; *p += 4; return 0;
    case 2:
        if (rt_pb_varint(p, end, &v) || v > (uint64_t)(end - *p)) return -1;
        *p += v;
        return 0;
    default: return -1;
    }
}

size_t rt_pb_put_varint(uint8_t *out, uint64_t v) {
    size_t n = 0;
    while (v >= 0x80) { out[n++] = (uint8_t)(v | 0x80); v >>= 7; }
    out[n++] = (uint8_t)v;
    return n;
}

rt_storage *rt_file_storage(const char *path, size_t len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { rt_errorf(RT_EIO, "%s: %s", path, strerror(errno)); return NULL; }
    rt_storage *s = rt_storage_new(len ? len : 1);
    if (!s) { rt_error_prefix("%s", path); close(fd); return NULL; }
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, (char *)s->data + got, len - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    char extra;
    bool longer = got == len && read(fd, &extra, 1) > 0;
    close(fd);
    if (got != len || longer) {
        rt_storage_release(s);
        rt_errorf(RT_EIO, "%s: the file changed size while it was read (%zu bytes expected)", path, len);
        return NULL;
    }
    return s;
}

rt_storage *rt_storage_from_mem(const void *buf, size_t len) {
    rt_storage *s = rt_storage_new(len ? len : 1);
    if (s && len) memcpy(s->data, buf, len);
    return s;
}
