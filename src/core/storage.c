/* storage.c — refcounted storage: owned (rt_alloc), read-only file mappings,
 * and borrowed memory released through a callback (tensor.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "alloc.h"
#include "tensor.h"

rt_storage *rt_storage_new(size_t nbytes) {
    rt_storage *s = calloc(1, sizeof *s);
    if (!s) { rt_errorf(RT_ENOMEM, "out of memory"); return NULL; }
    s->data = rt_alloc(nbytes);
    if (!s->data) { free(s); return NULL; }
    s->nbytes = nbytes;
    s->kind = RT_STORAGE_OWNED;
    s->refcount = 1;
    return s;
}

rt_storage *rt_storage_mmap(const char *path, size_t offset, size_t nbytes) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { rt_errorf(RT_EIO, "%s: %s", path, strerror(errno)); return NULL; }
    struct stat sb;
    if (fstat(fd, &sb) != 0) { rt_errorf(RT_EIO, "%s: %s", path, strerror(errno)); close(fd); return NULL; }
    if ((uint64_t)offset + nbytes > (uint64_t)sb.st_size) {
        rt_errorf(RT_EFORMAT, "%s: range [%zu, %zu) past the end of the file (%lld bytes)",
                  path, offset, offset + nbytes, (long long)sb.st_size);
        close(fd);
        return NULL;
    }
    long pg = sysconf(_SC_PAGESIZE);
    size_t start = offset - offset % (size_t)pg;
    size_t len = offset + nbytes - start;
    if (len == 0) len = 1;
    void *base = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, (off_t)start);
    close(fd);
    if (base == MAP_FAILED) { rt_errorf(RT_EIO, "%s: mmap: %s", path, strerror(errno)); return NULL; }
    rt_storage *s = calloc(1, sizeof *s);
    if (!s) { munmap(base, len); rt_errorf(RT_ENOMEM, "out of memory"); return NULL; }
    s->data = (char *)base + (offset - start);
    s->nbytes = nbytes;
    s->kind = RT_STORAGE_MMAP;
    s->refcount = 1;
    s->map_base = base;
    s->map_len = len;
    return s;
}

rt_storage *rt_storage_borrow(void *data, size_t nbytes, void *owner, void (*release)(void *)) {
    rt_storage *s = calloc(1, sizeof *s);
    if (!s) { rt_errorf(RT_ENOMEM, "out of memory"); return NULL; }
    s->data = data;
    s->nbytes = nbytes;
    s->kind = RT_STORAGE_BORROWED;
    s->refcount = 1;
    s->owner = owner;
    s->release = release;
    return s;
}

void rt_storage_retain(rt_storage *s) { if (s) s->refcount++; }

void rt_storage_release(rt_storage *s) {
    if (!s || --s->refcount > 0) return;
    switch (s->kind) {
    case RT_STORAGE_OWNED: rt_free(s->data, s->nbytes); break;
    case RT_STORAGE_MMAP: munmap(s->map_base, s->map_len); break;
    case RT_STORAGE_BORROWED: if (s->release) s->release(s->owner); break;
    }
    free(s);
}
