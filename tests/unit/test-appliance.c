/* Unit tests: adapters/appliance.c (the clone appliance's directory). */
#include <archive.h>
#include <archive_entry.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "adapters/appliance.h"
#include "adapters/appliance-helper.h"
#include "base/cleanup.h"
#include "base/error.h"
#include "base/fileio.h"
#include "base/proc.h"
#include "base/xalloc.h"
#include "tmpdir.h"

static void touch(const char *path)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs("x\n", f);
    fclose(f);
}

static int exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

/* A fake libguestfs appliance path: DIR/lib/supermin.d/{packages,base.tar.gz}. */
static char *fake_stock(const char *dir)
{
    char *lib = xasprintf("%s/lib", dir);
    CLEANUP_FREE char *sd = xasprintf("%s/supermin.d", lib);
    CLEANUP_FREE char *a = xasprintf("%s/packages", sd);
    CLEANUP_FREE char *b = xasprintf("%s/base.tar.gz", sd);

    assert_int_equal(mkdir_p(sd, 0755), 0);
    touch(a);
    touch(b);
    return lib;
}

static void test_stock_supermin(void **state)
{
    const char *dir = *state;
    CLEANUP_FREE char *lib = fake_stock(dir);
    CLEANUP_FREE char *empty = xasprintf("%s/empty", dir);
    CLEANUP_FREE char *path = xasprintf("%s:%s", empty, lib);
    CLEANUP_FREE char *want = xasprintf("%s/supermin.d", lib);
    CLEANUP_FREE char *got = NULL;

    assert_int_equal(mkdir(empty, 0755), 0);
    got = appliance_stock_supermin(path);
    assert_non_null(got);
    assert_string_equal(got, want);
    assert_null(appliance_stock_supermin(empty)); /* a fixed appliance, say */
    assert_null(appliance_stock_supermin(""));
    assert_null(appliance_stock_supermin(NULL));
}

/* The tarball's members: name -> content, checked for the overrides. */
static void check_tarball(const char *path)
{
    struct archive *a = archive_read_new();
    struct archive_entry *e;
    int rules = 0, by_path = 0, empty_lvm = 0, shadow = 0, mdadm = 0;
    size_t helper_len = (size_t)(appliance_udevadm_helper_end - appliance_udevadm_helper);

    archive_read_support_filter_gzip(a);
    archive_read_support_format_tar(a);
    assert_int_equal(archive_read_open_filename(a, path, 4096), ARCHIVE_OK);
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(e);
        char buf[4096] = "";
        la_ssize_t n;

        assert_int_equal(archive_entry_uid(e), 0);
        if (archive_entry_filetype(e) != AE_IFREG)
            continue;
        if (strcmp(name, "usr/sbin/udevadm") == 0) {
            /* only put in where this host gets one: the embedded program, byte for byte */
            assert_int_equal(appliance_udevadm_shadow(""), 1);
            assert_int_equal(archive_entry_perm(e), 0755);
            assert_int_equal(archive_entry_size(e), (la_int64_t)helper_len);
            unsigned char *got = malloc(helper_len);
            assert_non_null(got);
            assert_int_equal(archive_read_data(a, got, helper_len), (la_ssize_t)helper_len);
            assert_memory_equal(got, appliance_udevadm_helper, helper_len);
            free(got);
            shadow++;
            continue;
        }
        if (strcmp(name, "etc/mdadm.conf") == 0) {
            /* mdadm opens no device: a DEVICE line that names none, no auto-assembly */
            assert_int_equal(archive_entry_perm(e), 0644);
            n = archive_read_data(a, buf, sizeof buf - 1);
            assert_true(n > 0);
            assert_non_null(strstr(buf, "\nDEVICE /dev/vmstamp-no-device\n"));
            assert_non_null(strstr(buf, "\nAUTO -all\n"));
            assert_null(strstr(buf, "ARRAY"));
            mdadm++;
            continue;
        }
        assert_int_equal(strncmp(name, "etc/udev/rules.d/", 17), 0);
        assert_int_equal(archive_entry_perm(e), 0644);
        n = archive_read_data(a, buf, sizeof buf - 1);
        assert_true(n >= 0);
        rules++;
        if (strcmp(name, "etc/udev/rules.d/60-persistent-storage.rules") == 0) {
            by_path = strstr(buf, "SYMLINK+=\"disk/by-path/$env{ID_PATH}\"") != NULL;
            assert_null(strstr(buf, "IMPORT{builtin}=\"blkid\""));
            assert_null(strstr(buf, "scsi_id --"));
        }
        if (strcmp(name, "etc/udev/rules.d/69-lvm.rules") == 0)
            empty_lvm = strstr(buf, "pvscan --cache") == NULL && strstr(buf, "RUN") == NULL;
    }
    archive_read_free(a);
    assert_int_equal(shadow, appliance_udevadm_shadow(""));
    assert_int_equal(rules, 6);
    assert_int_equal(mdadm, 1);
    assert_true(by_path);
    assert_true(empty_lvm);
}

static void test_prepare(void **state)
{
    const char *dir = *state;
    CLEANUP_FREE char *lib = fake_stock(dir);
    CLEANUP_FREE char *stock = xasprintf("%s/supermin.d", lib);
    CLEANUP_FREE char *root = xasprintf("%s/cache/appliance", dir);
    CLEANUP_FREE char *path = NULL, *cache = NULL, *path2 = NULL, *cache2 = NULL, *path3 = NULL, *cache3 = NULL;
    CLEANUP_FREE char *link = NULL, *tar = NULL, *stale = NULL, *other = NULL, *extra = NULL, *want = NULL;
    CLEANUP_FREE char *mine = NULL, *extra2 = NULL, *path4 = NULL, *cache4 = NULL;
    char target[PATH_MAX];
    ssize_t n;
    int fd1, fd2, fd3, fd4;

    assert_int_equal(appliance_prepare(root, stock, &path, &cache, &fd1), 0);
    assert_true(fd1 >= 0);
    assert_int_equal(flock(fd1, LOCK_SH | LOCK_NB), 0); /* ours: shared */
    assert_int_equal(strncmp(path, root, strlen(root)), 0);
    link = xasprintf("%s/supermin.d/packages", path);
    n = readlink(link, target, sizeof target - 1);
    assert_true(n > 0);
    target[n] = '\0';
    want = xasprintf("%s/packages", stock);
    assert_string_equal(target, want);
    tar = xasprintf("%s/supermin.d/zz-vmstamp-udev.tar.gz", path);
    check_tarball(tar);
    assert_true(exists(cache));

    /* Again: the same directory. Another run's temporary directory (dead
     * runs' are recovery's, pipeline/run.c) and a directory that is not a
     * key's stay; ours is gone. */
    mine = xasprintf("%s/" APPLIANCE_TMP_PREFIX "%s", root, proc_run_id());
    assert_false(exists(mine));
    stale = xasprintf("%s/" APPLIANCE_TMP_PREFIX "999999999-1", root);
    other = xasprintf("%s/not-a-key", root);
    assert_int_equal(mkdir(stale, 0755), 0);
    assert_int_equal(mkdir(other, 0755), 0);
    assert_int_equal(appliance_prepare(root, stock, &path2, &cache2, &fd2), 0);
    assert_string_equal(path2, path);
    assert_string_equal(cache2, cache);
    assert_true(exists(stale));
    assert_true(exists(other));

    /* libguestfs changed (a new file in supermin.d): a new key's directory;
     * the old one stays while a run (here fd1 and fd2) holds it. */
    extra = xasprintf("%s/packages-zfs", stock);
    touch(extra);
    assert_int_equal(appliance_prepare(root, stock, &path3, &cache3, &fd3), 0);
    assert_string_not_equal(path3, path);
    assert_true(exists(path));
    free(link);
    link = xasprintf("%s/supermin.d/packages-zfs", path3);
    assert_true(exists(link));
    /* Released, it goes when the next new key's directory is made; the one
     * still held (fd3) stays. */
    close(fd1);
    close(fd2);
    extra2 = xasprintf("%s/packages-btrfs", stock);
    touch(extra2);
    assert_int_equal(appliance_prepare(root, stock, &path4, &cache4, &fd4), 0);
    assert_string_not_equal(path4, path3);
    assert_false(exists(path));
    assert_true(exists(path3));
    assert_true(exists(path4));
    assert_false(exists(mine));
    assert_true(exists(stale));
    assert_true(exists(other));
    CLEANUP_FREE char *gone = xasprintf("%s/" APPLIANCE_TMP_PREFIX "%s.0", root, proc_run_id());
    assert_false(exists(gone));
    close(fd3);
    close(fd4);
}

static void write_exec(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, 0755), 0);
}

/* Run the script at PATH with ARGS (one shell word list) under /bin/sh;
 * what it printed (the fake udevadm prints "real ARGS"), and *RC. */
static char *run_script(const char *path, const char *args, int *rc)
{
    CLEANUP_FREE char *cmd = xasprintf("%s %s", path, args);
    FILE *p = popen(cmd, "r");
    char buf[256] = "";
    size_t n;

    assert_non_null(p);
    n = fread(buf, 1, sizeof buf - 1, p);
    buf[n] = '\0';
    *rc = pclose(p);
    return xstrdup(buf);
}

/* S with each THERE and MISSING made DIR/there and DIR/missing. */
static char *in_dir(const char *s, const char *dir)
{
    char *r = xstrdup(s);

    for (char *p; (p = strstr(r, "THERE")) || (p = strstr(r, "MISSING"));) {
        int there = strncmp(p, "THERE", 5) == 0;
        *p = '\0';
        char *n = xasprintf("%s%s/%s%s", r, dir, there ? "there" : "missing", p + (there ? 5 : 7));
        free(r);
        r = n;
    }
    return r;
}

/* Where the host has udevadm in /usr/bin (usr-merged /bin links there):
 * the program goes in; where something is in /usr/sbin or /sbin, not. And
 * the program itself (the test build of builder/helpers/udevadm.c, which
 * runs $UDEVADM, here a fake): "settle -E FILE" with FILE there returns 0
 * without udevadm, everything else reaches udevadm unchanged. The embedded
 * program, run here, answers the first case itself too. */
static void test_udevadm_shadow(void **state)
{
    const char *dir = *state;
    CLEANUP_FREE char *root = xasprintf("%s/root", dir);
    CLEANUP_FREE char *bin = xasprintf("%s/usr/bin", root);
    CLEANUP_FREE char *sbin = xasprintf("%s/usr/sbin", root);
    CLEANUP_FREE char *real = xasprintf("%s/udevadm", bin);
    CLEANUP_FREE char *taken = xasprintf("%s/udevadm", sbin);
    const char *fake = "#!/bin/sh\necho real \"$@\"\nexit 3\n";
    const char *program = getenv("UDEVADM_HELPER_TEST");
    CLEANUP_FREE char *embedded = xasprintf("%s/embedded", dir);
    CLEANUP_FREE char *there = xasprintf("%s/there", dir);
    struct { const char *args; const char *out; int rc; } cases[] = {
        { "settle -E THERE", "", 0 },
        { "--debug settle -E THERE", "", 0 },
        { "settle -E MISSING", "real settle -E MISSING\n", 3 },
        { "--debug settle -E MISSING", "real --debug settle -E MISSING\n", 3 },
        { "settle", "real settle\n", 3 },
        { "settle --timeout=600", "real settle --timeout=600\n", 3 },
        { "settle -E THERE -t 5", "real settle -E THERE -t 5\n", 3 },
        { "settle -t 5 -E THERE", "real settle -t 5 -E THERE\n", 3 },
        { "trigger", "real trigger\n", 3 },
    };
    int rc;

    assert_int_equal(appliance_udevadm_shadow(root), 0); /* no udevadm at all */
    assert_int_equal(mkdir_p(bin, 0755), 0);
    assert_int_equal(mkdir_p(sbin, 0755), 0);
    write_exec(real, fake);
    assert_int_equal(appliance_udevadm_shadow(root), 1);
    touch(taken);
    assert_int_equal(appliance_udevadm_shadow(root), 0);

    /* The program, pointed at the fake udevadm. */
    assert_non_null(program);
    assert_int_equal(setenv("UDEVADM", real, 1), 0);
    touch(there);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CLEANUP_FREE char *args = in_dir(cases[i].args, dir);
        CLEANUP_FREE char *exp = in_dir(cases[i].out, dir);
        CLEANUP_FREE char *out = run_script(program, args, &rc);
        assert_string_equal(out, exp);
        assert_true(WIFEXITED(rc));
        assert_int_equal(WEXITSTATUS(rc), cases[i].rc);
    }
    unsetenv("UDEVADM");

    /* The embedded program: a static executable that answers at once. */
    size_t len = (size_t)(appliance_udevadm_helper_end - appliance_udevadm_helper);
    assert_true(len > 4);
    assert_memory_equal(appliance_udevadm_helper, "\177ELF", 4);
    assert_int_equal(write_file_atomic(embedded, appliance_udevadm_helper, len, 0755), 0);
    CLEANUP_FREE char *args = in_dir("settle -E THERE", dir);
    CLEANUP_FREE char *out = run_script(embedded, args, &rc);
    assert_string_equal(out, "");
    assert_true(WIFEXITED(rc));
    assert_int_equal(WEXITSTATUS(rc), 0);
}

static void test_prepare_error(void **state)
{
    const char *dir = *state;
    CLEANUP_FREE char *root = xasprintf("%s/appliance", dir);
    CLEANUP_FREE char *missing = xasprintf("%s/no/supermin.d", dir);
    char *path = (char *)"x", *cache = (char *)"y";
    int fd = 7;

    assert_int_equal(appliance_prepare(root, missing, &path, &cache, &fd), -1);
    assert_null(path);
    assert_null(cache);
    assert_int_equal(fd, -1);
    assert_non_null(strstr(error_message(), missing));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stock_supermin, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_prepare, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_prepare_error, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_udevadm_shadow, tmpdir_setup, tmpdir_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
