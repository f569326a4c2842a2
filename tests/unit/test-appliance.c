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
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "adapters/appliance.h"
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
    int rules = 0, by_path = 0, empty_lvm = 0;

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
    assert_int_equal(rules, 6);
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
    CLEANUP_FREE char *mine = NULL;
    char target[PATH_MAX];
    ssize_t n;

    assert_int_equal(appliance_prepare(root, stock, &path, &cache), 0);
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
    assert_int_equal(appliance_prepare(root, stock, &path2, &cache2), 0);
    assert_string_equal(path2, path);
    assert_string_equal(cache2, cache);
    assert_true(exists(stale));
    assert_true(exists(other));

    /* libguestfs changed (a new file in supermin.d): a new key's directory,
     * the old one removed. */
    extra = xasprintf("%s/packages-zfs", stock);
    touch(extra);
    assert_int_equal(appliance_prepare(root, stock, &path3, &cache3), 0);
    assert_string_not_equal(path3, path);
    assert_false(exists(path));
    assert_false(exists(mine));
    assert_true(exists(stale));
    assert_true(exists(other));
    free(link);
    link = xasprintf("%s/supermin.d/packages-zfs", path3);
    assert_true(exists(link));
}

static void test_prepare_error(void **state)
{
    const char *dir = *state;
    CLEANUP_FREE char *root = xasprintf("%s/appliance", dir);
    CLEANUP_FREE char *missing = xasprintf("%s/no/supermin.d", dir);
    char *path = (char *)"x", *cache = (char *)"y";

    assert_int_equal(appliance_prepare(root, missing, &path, &cache), -1);
    assert_null(path);
    assert_null(cache);
    assert_non_null(strstr(error_message(), missing));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stock_supermin, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_prepare, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_prepare_error, tmpdir_setup, tmpdir_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
