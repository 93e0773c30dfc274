/* test_sys.c — core/sys: whole-file read, atomic write (and its failures keeping
 * the old file), mkdir -p, sorted listdir, remove_tree without following
 * symlinks, the clock, the growable buffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/sys.h"

static char dir[256];

static int setup(void **state) {
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/rt_test_sys_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}
static int teardown(void **state) {
    (void)state;
    return rt_remove_tree(dir) == RT_OK ? 0 : -1;
}

static char *join(const char *a, const char *b) {
    static char buf[4][512];
    static int k;
    char tmp[512];   /* a may be an earlier result */
    snprintf(tmp, sizeof tmp, "%s/%s", a, b);
    char *p = buf[k++ & 3];
    memcpy(p, tmp, sizeof tmp);
    return p;
}

static void put(const char *path, const char *s) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(s, f);
    fclose(f);
}

/* Number of "*.tmp.*" leftovers in directory d. */
static int temps(const char *d) {
    char **names;
    size_t n;
    assert_int_equal(rt_listdir(d, &names, &n), RT_OK);
    int c = 0;
    for (size_t i = 0; i < n; i++) c += strstr(names[i], ".tmp.") != NULL;
    rt_names_free(names, n);
    return c;
}

static void assert_contents(const char *path, const char *want) {
    uint8_t *b;
    size_t n;
    assert_int_equal(rt_read_file(path, &b, &n), RT_OK);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(b, want, n);
    assert_int_equal(b[n], 0);
    free(b);
}

static void test_read_write(void **state) {
    (void)state;
    const char *p = join(dir, "f.txt");
    assert_int_equal(rt_write_file_atomic(p, "hello", 5), RT_OK);
    assert_contents(p, "hello");
    size_t n;
    assert_int_equal(rt_file_size(p, &n), RT_OK);
    assert_int_equal(n, 5);
    assert_int_equal(rt_write_file_atomic(p, "", 0), RT_OK);
    assert_contents(p, "");
    /* pieces, then a replace */
    rt_atomic_file af;
    assert_int_equal(rt_atomic_open(&af, p), RT_OK);
    assert_int_equal(rt_atomic_write(&af, "ab", 2), RT_OK);
    assert_int_equal(rt_atomic_write(&af, "cd", 2), RT_OK);
    assert_contents(p, "");                     /* not visible before the commit */
    assert_int_equal(rt_atomic_commit(&af), RT_OK);
    assert_contents(p, "abcd");
    assert_int_equal(rt_atomic_open(&af, p), RT_OK);
    rt_atomic_write(&af, "zz", 2);
    rt_atomic_abort(&af);                        /* abort: old file, no temp */
    assert_contents(p, "abcd");
    assert_int_equal(temps(dir), 0);
    /* a pipe-like file without a size: /proc files report 0 bytes */
    uint8_t *b;
    assert_int_equal(rt_read_file("/proc/self/status", &b, &n), RT_OK);
    assert_true(n > 0 && strstr((char *)b, "Name:") != NULL);
    free(b);
    /* errors name the path */
    assert_int_not_equal(rt_read_file(join(dir, "missing"), &b, &n), RT_OK);
    assert_non_null(strstr(rt_last_error(), "missing"));
    assert_int_not_equal(rt_read_file(dir, &b, &n), RT_OK);
    assert_non_null(strstr(rt_last_error(), dir));
    assert_int_not_equal(rt_file_size(dir, &n), RT_OK);
}

static void test_write_failures_keep_old(void **state) {
    (void)state;
    /* a directory as the target: rename fails, directory and temp handled */
    const char *d = join(dir, "adir");
    assert_int_equal(rt_mkdir_p(d), RT_OK);
    put(join(d, "inside"), "x");
    assert_int_not_equal(rt_write_file_atomic(d, "data", 4), RT_OK);
    assert_non_null(strstr(rt_last_error(), "adir"));
    assert_true(rt_path_isdir(d));
    assert_contents(join(d, "inside"), "x");
    assert_int_equal(temps(dir), 0);
    /* a missing parent */
    assert_int_not_equal(rt_write_file_atomic(join(dir, "no/such"), "d", 1), RT_OK);
    assert_non_null(strstr(rt_last_error(), "no/such"));
    /* a write failing half way (file size limit, EFBIG): old contents survive */
    const char *p = join(dir, "keep.txt");
    put(p, "old");
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 4096;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    size_t big = 1 << 20;
    char *data = malloc(big);
    memset(data, 'y', big);
    rt_status s = rt_write_file_atomic(p, data, big);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, prev);
    free(data);
    assert_int_equal(s, RT_EIO);
    assert_non_null(strstr(rt_last_error(), "keep.txt"));
    assert_contents(p, "old");
    assert_int_equal(temps(dir), 0);
}

static void test_dirs(void **state) {
    (void)state;
    const char *deep = join(dir, "a/b//c/");
    assert_int_equal(rt_mkdir_p(deep), RT_OK);
    assert_int_equal(rt_mkdir_p(deep), RT_OK);
    assert_true(rt_path_isdir(join(dir, "a/b/c")));
    put(join(dir, "a/zz"), "");
    put(join(dir, "a/B"), "");
    put(join(dir, "a/aa"), "");
    char **names;
    size_t n;
    assert_int_equal(rt_listdir(join(dir, "a"), &names, &n), RT_OK);
    assert_int_equal(n, 4);
    assert_string_equal(names[0], "B");
    assert_string_equal(names[1], "aa");
    assert_string_equal(names[2], "b");
    assert_string_equal(names[3], "zz");
    rt_names_free(names, n);
    assert_int_not_equal(rt_listdir(join(dir, "nope"), &names, &n), RT_OK);
    assert_non_null(strstr(rt_last_error(), "nope"));
    /* a file in the way */
    assert_int_not_equal(rt_mkdir_p(join(dir, "a/zz/sub")), RT_OK);
    assert_non_null(strstr(rt_last_error(), "a/zz"));
    assert_true(rt_path_exists(join(dir, "a/zz")));
    assert_false(rt_path_isdir(join(dir, "a/zz")));
}

static void test_remove_tree_symlinks(void **state) {
    (void)state;
    char outside[256];
    snprintf(outside, sizeof outside, "/tmp/rt_test_sys_out_XXXXXX");
    assert_non_null(mkdtemp(outside));
    put(join(outside, "precious"), "p");
    const char *t = join(dir, "tree");
    assert_int_equal(rt_mkdir_p(join(t, "x/y")), RT_OK);
    put(join(t, "x/y/f"), "f");
    assert_int_equal(symlink(outside, join(t, "x/link")), 0);
    assert_int_equal(symlink(join(dir, "gone"), join(t, "dangling")), 0);
    assert_int_equal(symlink(outside, join(dir, "toplink")), 0);
    assert_int_equal(rt_remove_tree(join(dir, "toplink")), RT_OK);
    assert_false(rt_path_exists(join(dir, "toplink")));
    assert_int_equal(rt_remove_tree(t), RT_OK);
    assert_false(rt_path_exists(t));
    assert_contents(join(outside, "precious"), "p");
    assert_int_equal(rt_remove_tree(join(dir, "never-there")), RT_OK);
    assert_int_equal(rt_remove_tree(outside), RT_OK);
}

static void test_clock_tty_buf(void **state) {
    (void)state;
    double a = rt_now(), b = rt_now();
    assert_true(a > 0 && b >= a);
    assert_false(rt_isatty(-1));
    rt_buf buf = {0};
    for (int i = 0; i < 1000; i++) assert_int_equal(rt_buf_printf(&buf, "%d,", i), RT_OK);
    assert_int_equal(rt_buf_puts(&buf, "end"), RT_OK);
    assert_int_equal(rt_buf_putc(&buf, '!'), RT_OK);
    assert_int_equal(buf.data[buf.len], 0);
    assert_int_equal(strncmp(buf.data, "0,1,2,", 6), 0);
    char longs[600];
    memset(longs, 'q', sizeof longs - 1);
    longs[sizeof longs - 1] = 0;
    assert_int_equal(rt_buf_printf(&buf, "[%s]", longs), RT_OK);
    size_t n;
    char *s = rt_buf_detach(&buf, &n);
    assert_int_equal(strlen(s), n);
    assert_non_null(strstr(s, "999,end!["));
    assert_int_equal(s[n - 1], ']');
    assert_null(buf.data);
    free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_write),
        cmocka_unit_test(test_write_failures_keep_old),
        cmocka_unit_test(test_dirs),
        cmocka_unit_test(test_remove_tree_symlinks),
        cmocka_unit_test(test_clock_tty_buf),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
