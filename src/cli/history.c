/* history.c — persistent REPL history: one entry per line ('\n' inside a
 * multi-line entry is stored as '\x1f'), appended per command, capped on load. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"
#include "../core/sys.h"

const char *cli_history_path(char *buf, size_t n) {
    const char *env = getenv("RETORT_HISTORY");
    if (env && *env) { snprintf(buf, n, "%s", env); return buf; }
    const char *home = getenv("HOME");
    if (!home || !*home) return NULL;
    snprintf(buf, n, "%s/.retort_history", home);
    return buf;
}

int cli_history_append(const char *path, const char *entry) {
    if (!path || !entry) return -1;
    size_t n = strlen(entry);
    char *line = malloc(n + 2);
    if (!line) return -1;
    for (size_t i = 0; i < n; i++) line[i] = entry[i] == '\n' ? '\x1f' : entry[i];
    line[n] = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    ssize_t w = fd >= 0 ? write(fd, line, n + 1) : -1;
    if (fd >= 0) close(fd);
    free(line);
    return w == (ssize_t)(n + 1) ? 0 : -1;
}

/* Rewrite `path` with lines[from..n) atomically (temp file + rename). */
static void rewrite(const char *path, char **lines, int from, int n) {
    rt_atomic_file af;
    if (rt_atomic_open_mode(&af, path, 0600)) return;   /* private, like the appended file */
    rt_status s = RT_OK;
    for (int i = from; i < n && !s; i++) {
        s = rt_atomic_write(&af, lines[i], strlen(lines[i]));
        if (!s) s = rt_atomic_write(&af, "\n", 1);
    }
    if (s) rt_atomic_abort(&af);
    else rt_atomic_commit(&af);
}

int cli_history_load(const char *path, int cap, void (*add)(const char *entry, void *ud), void *ud) {
    if (!path || cap <= 0) return -1;
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char **lines = NULL;
    int n = 0, alloc = 0;
    char *buf = NULL;
    size_t bn = 0;
    ssize_t len;
    while ((len = getline(&buf, &bn, f)) >= 0) {
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) buf[--len] = 0;
        if (len == 0) continue;
        if (n == alloc) {
            alloc = alloc ? alloc * 2 : 256;
            char **nl = realloc(lines, (size_t)alloc * sizeof *nl);
            if (!nl) break;
            lines = nl;
        }
        lines[n++] = strdup(buf);
    }
    free(buf);
    fclose(f);
    int from = n > cap ? n - cap : 0;
    if (from > 0) rewrite(path, lines, from, n);
    for (int i = from; i < n; i++) {
        if (!lines[i]) continue;
        for (char *p = lines[i]; *p; p++) if (*p == '\x1f') *p = '\n';
        if (add) add(lines[i], ud);
    }
    for (int i = 0; i < n; i++) free(lines[i]);
    free(lines);
    return n - from;
}
