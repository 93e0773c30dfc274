/* dirsave.h — replace several files of one folder as a whole (a model save:
 * config.json, weights, vocab.txt).
 *
 * Each new file is written (atomically, fsynced) under a hidden staged name
 * ".<name>.retort-new"; then a commit record ".retort-save" listing the renames
 * and deletions is written atomically; then the renames run and the record is
 * removed. A kill -9 or a full disk before the record leaves the old files (the
 * staged ones are ignored, and removed by the next save to that folder); after it,
 * the folder already reads as the new save: rt_dirsave_resolve (the loader) follows
 * the record, and the next save finishes the renames. One save per folder at a time. */
#ifndef RT_DIRSAVE_H
#define RT_DIRSAVE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include "../core/status.h"

#define RT_DIRSAVE_MAX 8

typedef struct {
    char dir[PATH_MAX];
    int n;
    struct { char name[128]; char staged[PATH_MAX]; bool del; } f[RT_DIRSAVE_MAX];
} rt_dirsave;

/* mkdir -p dir, finish an interrupted committed save there, remove stale staged files. */
rt_status rt_dirsave_begin(rt_dirsave *s, const char *dir);
/* Path to write the new `name` to (it is renamed to dir/name at commit); NULL on error. */
const char *rt_dirsave_stage(rt_dirsave *s, const char *name);
/* Remove dir/name at commit (when it exists). */
rt_status rt_dirsave_remove(rt_dirsave *s, const char *name);
/* Write the commit record, rename every staged file, remove the record. */
rt_status rt_dirsave_commit(rt_dirsave *s);
/* Remove the staged files (after a failed write). */
void rt_dirsave_abort(rt_dirsave *s);
/* The path `name` of dir reads from as of the last committed save (the staged copy
 * while an interrupted commit is unfinished). false when it does not exist. */
bool rt_dirsave_resolve(const char *dir, const char *name, char *out, size_t n);

#endif
