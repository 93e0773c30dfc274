/* sys.c — files, directories, clock and terminal for every layer (see sys.h). */
#include "sys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- growable byte buffer ---- */
rt_status rt_buf_reserve(rt_buf *b, size_t extra) {
    if (b->oom) return RT_ENOMEM;
    if (extra > SIZE_MAX - 1 - b->len) { b->oom = true; return rt_errorf(RT_ENOMEM, "buffer: size overflow"); }
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return RT_OK;
    size_t cap = b->cap;
    if (cap == 0) cap = need > 64 ? need : 64;      /* first allocation: exactly what was asked */
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *d = realloc(b->data, cap);
    if (!d) { b->oom = true; return rt_errorf(RT_ENOMEM, "buffer: out of memory (%zu bytes)", cap); }
    b->data = d;
    b->cap = cap;
    return RT_OK;
}

rt_status rt_buf_append(rt_buf *b, const void *data, size_t n) {
    rt_status s = rt_buf_reserve(b, n);
    if (s) return s;
    if (n) memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = 0;
    return RT_OK;
}

rt_status rt_buf_putc(rt_buf *b, char c) { return rt_buf_append(b, &c, 1); }
rt_status rt_buf_puts(rt_buf *b, const char *s) { return rt_buf_append(b, s, strlen(s)); }

rt_status rt_buf_printf(rt_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0) return rt_errorf(RT_EINVAL, "buffer: bad format");
    if ((size_t)n < sizeof tmp) return rt_buf_append(b, tmp, (size_t)n);
    rt_status s = rt_buf_reserve(b, (size_t)n);
    if (s) return s;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return RT_OK;
}

char *rt_buf_detach(rt_buf *b, size_t *len) {
    if (b->oom) { rt_buf_free(b); if (len) *len = 0; return NULL; }
    if (!b->data && rt_buf_reserve(b, 0)) return NULL;
    char *d = b->data;
    if (len) *len = b->len;
    memset(b, 0, sizeof *b);
    return d;
}

void rt_buf_free(rt_buf *b) {
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* ---- whole files ---- */
rt_status rt_file_size(const char *path, size_t *len) {
    struct stat st;
    if (stat(path, &st) != 0) return rt_errorf(RT_EIO, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode)) return rt_errorf(RT_EIO, "%s: not a regular file", path);
    *len = (size_t)st.st_size;
    return RT_OK;
}

rt_status rt_read_file(const char *path, uint8_t **buf, size_t *len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return rt_errorf(RT_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rt_status s = rt_errorf(RT_EIO, "%s: %s", path, strerror(errno));
        close(fd);
        return s;
    }
    if (S_ISDIR(st.st_mode)) { close(fd); return rt_errorf(RT_EIO, "%s: is a directory, not a file", path); }
    rt_buf b = {0};
    /* a regular file's size is a good first guess; pipes and devices grow as they go */
    size_t chunk = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 1 << 16;
    for (;;) {
        if (!b.data || b.cap - b.len - 1 == 0) {
            if (rt_buf_reserve(&b, chunk)) {
                close(fd);
                rt_buf_free(&b);
                return rt_errorf(RT_ENOMEM, "%s: out of memory reading %zu bytes", path, chunk);
            }
            chunk = b.cap;   /* grow geometrically */
        }
        ssize_t r = read(fd, b.data + b.len, b.cap - b.len - 1);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            rt_status s = rt_errorf(RT_EIO, "%s: read error: %s", path, strerror(errno));
            close(fd);
            rt_buf_free(&b);
            return s;
        }
        if (r == 0) break;
        b.len += (size_t)r;
    }
    close(fd);
    b.data[b.len] = 0;
    *buf = (uint8_t *)rt_buf_detach(&b, len);
    return RT_OK;
}

rt_status rt_write_file_atomic(const char *path, const void *data, size_t n) {
    rt_atomic_file af;
    rt_status s = rt_atomic_open(&af, path);
    if (s) return s;
    s = rt_atomic_write(&af, data, n);
    if (s) { rt_atomic_abort(&af); return s; }
    return rt_atomic_commit(&af);
}

/* ---- atomic writer ---- */
rt_status rt_atomic_open_mode(rt_atomic_file *af, const char *path, unsigned mode) {
    memset(af, 0, sizeof *af);
    size_t n = strlen(path);
    if (n == 0) return rt_errorf(RT_EINVAL, "atomic write: empty path");
    af->path = strdup(path);
    af->tmp = malloc(n + 16);
    if (!af->path || !af->tmp) {
        free(af->path); free(af->tmp);
        memset(af, 0, sizeof *af);
        return rt_errorf(RT_ENOMEM, "%s: out of memory", path);
    }
    snprintf(af->tmp, n + 16, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(af->tmp);
    if (fd < 0) {
        rt_status s = rt_errorf(RT_EIO, "%s: cannot create temporary file: %s", path, strerror(errno));
        free(af->path); free(af->tmp);
        memset(af, 0, sizeof *af);
        return s;
    }
    if (fchmod(fd, (mode_t)mode) != 0 || !(af->f = fdopen(fd, "wb"))) {
        rt_status s = rt_errorf(RT_EIO, "%s: cannot prepare temporary file %s: %s", path, af->tmp, strerror(errno));
        close(fd);
        unlink(af->tmp);
        free(af->path); free(af->tmp);
        memset(af, 0, sizeof *af);
        return s;
    }
    return RT_OK;
}

rt_status rt_atomic_open(rt_atomic_file *af, const char *path) { return rt_atomic_open_mode(af, path, 0644); }

rt_status rt_atomic_write(rt_atomic_file *af, const void *data, size_t n) {
    if (af->failed || !af->f) return rt_errorf(RT_EIO, "%s: write after a failed write", af->path ? af->path : "?");
    if (n && fwrite(data, 1, n, af->f) != n) {
        af->failed = 1;
        return rt_errorf(RT_EIO, "%s: write failed: %s", af->path, strerror(errno));
    }
    return RT_OK;
}

void rt_atomic_abort(rt_atomic_file *af) {
    if (af->f) fclose(af->f);
    if (af->tmp) unlink(af->tmp);
    free(af->tmp);
    free(af->path);
    memset(af, 0, sizeof *af);
}

/* fsync the directory holding path (so the rename survives a crash). */
static rt_status fsync_parent(const char *path) {
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!dir) return rt_errorf(RT_ENOMEM, "%s: out of memory", path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    rt_status s = RT_OK;
    if (fd < 0) s = rt_errorf(RT_EIO, "%s: written, but cannot open directory %s to sync it: %s", path, dir, strerror(errno));
    else {
        /* some file systems cannot sync directories; that is not a failed write */
        if (fsync(fd) != 0 && errno != EINVAL && errno != ENOTSUP)
            s = rt_errorf(RT_EIO, "%s: written, but syncing directory %s failed: %s", path, dir, strerror(errno));
        close(fd);
    }
    free(dir);
    return s;
}

rt_status rt_atomic_commit(rt_atomic_file *af) {
    if (!af->f) { rt_atomic_abort(af); return rt_errorf(RT_EINVAL, "atomic write: not open"); }
    if (af->failed) {
        rt_status s = rt_errorf(RT_EIO, "%s: not written (an earlier write failed); old file kept", af->path);
        rt_atomic_abort(af);
        return s;
    }
    if (fflush(af->f) != 0 || fsync(fileno(af->f)) != 0) {
        rt_status s = rt_errorf(RT_EIO, "%s: flush failed: %s; old file kept", af->path, strerror(errno));
        rt_atomic_abort(af);
        return s;
    }
    int rc = fclose(af->f);
    af->f = NULL;
    if (rc != 0) {
        rt_status s = rt_errorf(RT_EIO, "%s: close failed: %s; old file kept", af->path, strerror(errno));
        rt_atomic_abort(af);
        return s;
    }
    if (rename(af->tmp, af->path) != 0) {
        rt_status s = rt_errorf(RT_EIO, "%s: cannot replace: %s; old file kept", af->path, strerror(errno));
        rt_atomic_abort(af);
        return s;
    }
    rt_status s = fsync_parent(af->path);
    free(af->tmp);
    free(af->path);
    memset(af, 0, sizeof *af);
    return s;
}

/* ---- directories ---- */
rt_status rt_mkdir_p(const char *path) {
    size_t n = strlen(path);
    if (n == 0) return rt_errorf(RT_EINVAL, "mkdir: empty path");
    char *buf = strdup(path);
    if (!buf) return rt_errorf(RT_ENOMEM, "mkdir: %s: out of memory", path);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != 0) continue;
        if (buf[i - 1] == '/') continue;               /* "a//b" or a trailing "/" */
        char c = buf[i];
        buf[i] = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
            rt_status s = rt_errorf(RT_EIO, "mkdir: %s: %s", buf, strerror(errno));
            free(buf);
            return s;
        }
        buf[i] = c;
    }
    free(buf);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) return rt_errorf(RT_EIO, "mkdir: %s is not a directory", path);
    return RT_OK;
}

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

void rt_names_free(char **names, size_t n) {
    if (!names) return;
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

rt_status rt_listdir(const char *path, char ***names, size_t *n) {
    *names = NULL;
    *n = 0;
    DIR *d = opendir(path);
    if (!d) return rt_errorf(RT_EIO, "%s: %s", path, strerror(errno));
    char **v = NULL;
    size_t len = 0, cap = 0;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        if (len == cap) {
            char **nv = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof *v);
            if (!nv) goto oom;
            v = nv;
        }
        if (!(v[len] = strdup(e->d_name))) goto oom;
        len++;
    }
    if (errno) {
        rt_status s = rt_errorf(RT_EIO, "%s: %s", path, strerror(errno));
        closedir(d);
        rt_names_free(v, len);
        return s;
    }
    closedir(d);
    if (len) qsort(v, len, sizeof *v, cmp_names);
    *names = v;
    *n = len;
    return RT_OK;
oom:
    closedir(d);
    rt_names_free(v, len);
    return rt_errorf(RT_ENOMEM, "%s: out of memory listing the directory", path);
}

/* Remove every entry of the open directory dfd (which is then closed); shown is the
 * path used in messages. */
static rt_status remove_contents(int dfd, const char *shown) {
    DIR *d = fdopendir(dfd);
    if (!d) { rt_status s = rt_errorf(RT_EIO, "remove: %s: %s", shown, strerror(errno)); close(dfd); return s; }
    rt_status s = RT_OK;
    struct dirent *e;
    while (s == RT_OK && (errno = 0, e = readdir(d)) != NULL) {
        const char *nm = e->d_name;
        if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0) continue;
        struct stat st;
        if (fstatat(dirfd(d), nm, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT) continue;
            s = rt_errorf(RT_EIO, "remove: %s/%s: %s", shown, nm, strerror(errno));
            break;
        }
        if (S_ISDIR(st.st_mode)) {
            int cfd = openat(dirfd(d), nm, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (cfd < 0) { s = rt_errorf(RT_EIO, "remove: %s/%s: %s", shown, nm, strerror(errno)); break; }
            size_t sl = strlen(shown) + strlen(nm) + 2;
            char *child = malloc(sl);
            if (!child) { close(cfd); s = rt_errorf(RT_ENOMEM, "remove: out of memory"); break; }
            snprintf(child, sl, "%s/%s", shown, nm);
            s = remove_contents(cfd, child);
            free(child);
            if (s == RT_OK && unlinkat(dirfd(d), nm, AT_REMOVEDIR) != 0 && errno != ENOENT)
                s = rt_errorf(RT_EIO, "remove: %s/%s: %s", shown, nm, strerror(errno));
        } else if (unlinkat(dirfd(d), nm, 0) != 0 && errno != ENOENT) {
            s = rt_errorf(RT_EIO, "remove: %s/%s: %s", shown, nm, strerror(errno));
        }
    }
    if (s == RT_OK && errno) s = rt_errorf(RT_EIO, "remove: %s: %s", shown, strerror(errno));
    closedir(d);
    return s;
}

rt_status rt_remove_tree(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT) return RT_OK;
        return rt_errorf(RT_EIO, "remove: %s: %s", path, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
        if (unlink(path) != 0 && errno != ENOENT) return rt_errorf(RT_EIO, "remove: %s: %s", path, strerror(errno));
        return RT_OK;
    }
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return rt_errorf(RT_EIO, "remove: %s: %s", path, strerror(errno));
    rt_status s = remove_contents(fd, path);
    if (s) return s;
    if (rmdir(path) != 0 && errno != ENOENT) return rt_errorf(RT_EIO, "remove: %s: %s", path, strerror(errno));
    return RT_OK;
}

bool rt_path_exists(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

bool rt_path_isdir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

rt_status rt_fsync_path(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return rt_errorf(RT_EIO, "fsync: %s: %s", path, strerror(errno));
    int rc = fsync(fd);
    int err = errno;
    close(fd);
    if (rc != 0 && err != EINVAL) return rt_errorf(RT_EIO, "fsync: %s: %s", path, strerror(err));
    return RT_OK;
}

/* ---- clock and terminal ---- */
double rt_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

bool rt_isatty(int fd) { return isatty(fd) == 1; }
