/* dirsave.c — staged files + commit record + renames: a folder of files replaced
 * as a whole (dirsave.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "dirsave.h"
#include "../io/ioutil.h"

#define RECORD ".retort-save"
#define STAGED_SUFFIX ".retort-new"

/* Test hook: RETORT_CRASH_AT=N kills the process (SIGKILL) at the N-th step of a
 * save (1 = before the first staged file), so tests can check every interruption. */
static void step(void) {
    static int count, at = -1;
    if (at < 0) {
        const char *e = getenv("RETORT_CRASH_AT");
        at = e ? atoi(e) : 0;
    }
    if (at > 0 && ++count == at) raise(SIGKILL);
}

static bool join(char *out, size_t n, const char *a, const char *b) {
    int k = snprintf(out, n, "%s/%s", a, b);
    if (k < 0 || (size_t)k >= n) { rt_errorf(RT_EIO, "%s/%s: path too long", a, b); return false; }
    return true;
}

static void staged_name(char *out, size_t n, const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name), c = strlen(STAGED_SUFFIX);
    if (a + b + c + 3 > n) { out[0] = 0; return; }
    memmove(out, dir, a);
    memcpy(out + a, "/.", 2);
    memcpy(out + a + 2, name, b);
    memcpy(out + a + 2 + b, STAGED_SUFFIX, c + 1);
}

static void fsync_dir(const char *dir) { (void)rt_fsync_path(dir); }

static bool exists(const char *p) { return rt_path_exists(p); }

/* Parse dir/.retort-save into s->f (renames and deletions); false when absent. */
static bool read_record(const char *dir, rt_dirsave *s) {
    char p[PATH_MAX];
    if (!join(p, sizeof p, dir, RECORD)) return false;
    FILE *f = fopen(p, "r");
    if (!f) return false;
    char line[256];
    s->n = 0;
    while (fgets(line, sizeof line, f) && s->n < RT_DIRSAVE_MAX) {
        size_t l = strlen(line);
        if (l && line[l - 1] == '\n') line[--l] = 0;
        if (l < 3 || l - 2 >= sizeof s->f[0].name || (line[0] != 'R' && line[0] != 'D') || line[1] != ' ' ||
            strchr(line + 2, '/'))
            continue;
        memcpy(s->f[s->n].name, line + 2, l - 1);
        staged_name(s->f[s->n].staged, sizeof s->f[s->n].staged, dir, line + 2);
        s->f[s->n].del = line[0] == 'D';
        s->n++;
    }
    fclose(f);
    return true;
}

/* Finish the renames/deletions of a committed record, then drop the record. */
static rt_status roll_forward(const char *dir, const rt_dirsave *s) {
    char p[PATH_MAX];
    for (int i = 0; i < s->n; i++) {
        if (!join(p, sizeof p, dir, s->f[i].name)) return rt_last_status();
        if (s->f[i].del) {
            if (unlink(p) && errno != ENOENT) return rt_errorf(RT_EIO, "%s: cannot remove: %s", p, strerror(errno));
        } else if (exists(s->f[i].staged)) {
            if (rename(s->f[i].staged, p))
                return rt_errorf(RT_EIO, "%s: cannot rename into place: %s", p, strerror(errno));
            step();
        }
    }
    fsync_dir(dir);
    if (!join(p, sizeof p, dir, RECORD)) return rt_last_status();
    if (unlink(p) && errno != ENOENT) return rt_errorf(RT_EIO, "%s: cannot remove: %s", p, strerror(errno));
    fsync_dir(dir);
    return RT_OK;
}

static bool stale_name(const char *n) {
    static const char *old_tmp[] = {"config.json.tmp.", "model.safetensors.tmp.", "pytorch_model.bin.tmp.",
                                    "vocab.txt.tmp.", NULL};
    if (n[0] == '.' && strstr(n, STAGED_SUFFIX)) return true;
    if (!strncmp(n, RECORD ".tmp.", strlen(RECORD) + 5)) return true;
    for (int i = 0; old_tmp[i]; i++)
        if (!strncmp(n, old_tmp[i], strlen(old_tmp[i]))) return true;
    return false;
}

rt_status rt_dirsave_begin(rt_dirsave *s, const char *dir) {
    memset(s, 0, sizeof *s);
    if (strlen(dir) >= sizeof s->dir - 160) return rt_errorf(RT_EIO, "%s: path too long", dir);
    snprintf(s->dir, sizeof s->dir, "%s", dir);
    rt_status st = rt_mkdir_p(dir);
    if (st) return st;
    rt_dirsave rec;
    if (read_record(dir, &rec) && (st = roll_forward(dir, &rec))) return st;
    DIR *d = opendir(dir);
    if (!d) return rt_errorf(RT_EIO, "%s: %s", dir, strerror(errno));
    struct dirent *e;
    char p[PATH_MAX];
    while ((e = readdir(d))) {
        struct stat sb;
        if (!stale_name(e->d_name) || !join(p, sizeof p, dir, e->d_name) || lstat(p, &sb)) continue;
        if (S_ISREG(sb.st_mode) || S_ISLNK(sb.st_mode)) unlink(p);   /* never a folder, never through a link */
    }
    closedir(d);
    return RT_OK;
}

const char *rt_dirsave_stage(rt_dirsave *s, const char *name) {
    if (s->n >= RT_DIRSAVE_MAX || strlen(name) >= sizeof s->f[0].name || strchr(name, '/')) {
        rt_errorf(RT_EINVAL, "%s/%s: cannot stage this file", s->dir, name);
        return NULL;
    }
    step();
    snprintf(s->f[s->n].name, sizeof s->f[s->n].name, "%s", name);
    staged_name(s->f[s->n].staged, sizeof s->f[s->n].staged, s->dir, name);
    s->f[s->n].del = false;
    return s->f[s->n++].staged;
}

rt_status rt_dirsave_remove(rt_dirsave *s, const char *name) {
    char p[PATH_MAX];
    if (!join(p, sizeof p, s->dir, name)) return rt_last_status();
    if (!exists(p)) return RT_OK;
    if (s->n >= RT_DIRSAVE_MAX) return rt_errorf(RT_EINVAL, "%s: too many files in one save", s->dir);
    snprintf(s->f[s->n].name, sizeof s->f[s->n].name, "%s", name);
    s->f[s->n].staged[0] = 0;
    s->f[s->n].del = true;
    s->n++;
    return RT_OK;
}

rt_status rt_dirsave_commit(rt_dirsave *s) {
    step();
    char rec[RT_DIRSAVE_MAX * 140 + 1];
    size_t o = 0;
    for (int i = 0; i < s->n; i++)
        o += (size_t)snprintf(rec + o, sizeof rec - o, "%c %s\n", s->f[i].del ? 'D' : 'R', s->f[i].name);
    char p[PATH_MAX];
    if (!join(p, sizeof p, s->dir, RECORD)) { rt_dirsave_abort(s); return rt_last_status(); }
    rt_atomic_file af;
    rt_status st = rt_atomic_open(&af, p);
    if (!st) st = rt_atomic_write(&af, rec, o);
    if (!st) st = rt_atomic_commit(&af);
    else rt_atomic_abort(&af);
    if (st) { rt_dirsave_abort(s); return st; }
    step();
    return roll_forward(s->dir, s);
}

void rt_dirsave_abort(rt_dirsave *s) {
    for (int i = 0; i < s->n; i++)
        if (!s->f[i].del) unlink(s->f[i].staged);
    s->n = 0;
}

bool rt_dirsave_resolve(const char *dir, const char *name, char *out, size_t n) {
    rt_dirsave rec;
    if (read_record(dir, &rec))
        for (int i = 0; i < rec.n; i++) {
            if (strcmp(rec.f[i].name, name)) continue;
            if (rec.f[i].del) return false;
            if (exists(rec.f[i].staged)) {
                snprintf(out, n, "%s", rec.f[i].staged);
                return true;
            }
        }
    if (!join(out, n, dir, name)) return false;
    struct stat st;
    return stat(out, &st) == 0 && S_ISREG(st.st_mode);
}
