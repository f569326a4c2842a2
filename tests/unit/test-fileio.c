/* Unit tests: base/fileio.c (atomic writes, no-replace renames, trees). */
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

#include "base/cleanup.h"
#include "base/xalloc.h"
#include "base/error.h"
#include "base/fileio.h"
#include "tmpdir.h"

static char *join(const char *dir, const char *name)
{
    char *p;

    if (asprintf(&p, "%s/%s", dir, name) < 0)
        abort();
    return p;
}

static void assert_contents(const char *path, const char *want)
{
    size_t len;
    CLEANUP_FREE char *got = read_file(path, &len);

    assert_non_null(got);
    assert_int_equal(len, strlen(want));
    assert_string_equal(got, want);
}

/* Only PATH itself in DIR: no temporary file left behind. */
static void assert_only(const char *dir, int want)
{
    CLEANUP_FREE char *cmd = NULL;
    FILE *p;
    int n = -1;

    if (asprintf(&cmd, "ls -A '%s' | wc -l", dir) < 0)
        abort();
    p = popen(cmd, "r");
    assert_non_null(p);
    assert_int_equal(fscanf(p, "%d", &n), 1);
    pclose(p);
    assert_int_equal(n, want);
}

static void test_write_replaces(void **state)
{
    const char *dir = *state;
    CLEANUP_FREE char *path = join(dir, "meta.json");

    assert_int_equal(write_file_atomic(path, "old\n", 4, 0644), 0);
    assert_contents(path, "old\n");
    assert_int_equal(write_file_atomic(path, "new contents\n", 13, 0644), 0);
    assert_contents(path, "new contents\n");
    assert_int_equal(write_file_atomic(path, "", 0, 0644), 0);
    assert_contents(path, "");
    assert_only(dir, 1);
}

static void test_mode(void **state)
{
    const char *dir = *state;
    CLEANUP_FREE char *a = join(dir, "a");
    CLEANUP_FREE char *b = join(dir, "b");
    struct stat st;
    mode_t old = umask(077);

    /* The umask does not narrow the mode asked for. */
    assert_int_equal(write_file_atomic(a, "x", 1, 0644), 0);
    assert_int_equal(stat(a, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    assert_int_equal(write_file_atomic(a, "y", 1, 0600), 0);
    assert_int_equal(stat(a, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(create_file_atomic(b, "z", 1, 0640), 0);
    assert_int_equal(stat(b, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0640);
    umask(old);
}

static void test_create_refuses_existing(void **state)
{
    const char *dir = *state;
    CLEANUP_FREE char *path = join(dir, "template.qcow2");

    assert_int_equal(create_file_atomic(path, "first", 5, 0644), 0);
    assert_contents(path, "first");
    assert_int_equal(create_file_atomic(path, "second", 6, 0644), 1);
    assert_null(error_message()); /* nothing recorded: the caller names it */
    assert_contents(path, "first");
    assert_only(dir, 1);
}

static void test_rename_noreplace(void **state)
{
    const char *dir = *state;
    CLEANUP_FREE char *from = join(dir, "from");
    CLEANUP_FREE char *to = join(dir, "to");
    CLEANUP_FREE char *other = join(dir, "other");

    assert_int_equal(write_file_atomic(from, "from", 4, 0644), 0);
    assert_int_equal(write_file_atomic(to, "to", 2, 0644), 0);
    assert_int_equal(rename_noreplace(from, to), 1);
    assert_null(error_message());
    assert_contents(to, "to");
    assert_contents(from, "from");

    assert_int_equal(rename_noreplace(from, other), 0);
    assert_contents(other, "from");
    assert_int_equal(access(from, F_OK), -1);

    /* A missing source is an error, recorded. */
    assert_int_equal(rename_noreplace(from, to), -1);
    assert_non_null(strstr(error_message(), "cannot rename"));
    error_clear();
    assert_contents(to, "to");
}

static void test_write_missing_dir(void **state)
{
    CLEANUP_FREE char *path = join(*state, "no/such/file");

    assert_int_equal(write_file_atomic(path, "x", 1, 0644), -1);
    assert_non_null(strstr(error_message(), "no/such"));
    error_clear();
    assert_null(read_file(path, NULL));
    assert_non_null(strstr(error_message(), "cannot open"));
    error_clear();
}

static void test_mkdir_p_remove_tree(void **state)
{
    const char *dir = *state;
    CLEANUP_FREE char *deep = join(dir, "a/b//c/");
    CLEANUP_FREE char *file = join(dir, "a/b/c/f");
    CLEANUP_FREE char *link = join(dir, "a/link");
    CLEANUP_FREE char *top = join(dir, "a");
    CLEANUP_FREE char *keep = join(dir, "keep");
    CLEANUP_FREE char *keepfile = join(dir, "keep/k");
    struct stat st;

    assert_int_equal(mkdir_p(deep, 0755), 0);
    assert_int_equal(mkdir_p(deep, 0755), 0); /* exists: fine */
    assert_int_equal(write_file_atomic(file, "f", 1, 0644), 0);
    assert_int_equal(mkdir_p(file, 0755), -1); /* a file of that name */
    assert_non_null(strstr(error_message(), "a file of that name exists"));
    error_clear();

    /* A symbolic link inside is removed, not followed. */
    assert_int_equal(mkdir_p(keep, 0755), 0);
    assert_int_equal(write_file_atomic(keepfile, "k", 1, 0644), 0);
    assert_int_equal(symlink(keep, link), 0);

    assert_int_equal(remove_tree(top), 0);
    assert_int_equal(stat(top, &st), -1);
    assert_contents(keepfile, "k");
    assert_int_equal(remove_tree(top), 0); /* missing: fine */
    assert_int_equal(remove_tree(keepfile), 0); /* a plain file */
    assert_int_equal(stat(keepfile, &st), -1);
}

/* A symlinked directory resolves to where it points (qemu's access is
 * checked there); a file not made yet keeps its name under the resolved
 * directory; a missing directory leaves the path as given. */
static void test_realpath_or_parent(void **state)
{
    const char *dir = *state;
    CLEANUP_FREE char *real = xasprintf("%s/real", dir);
    CLEANUP_FREE char *link = xasprintf("%s/link", dir);
    CLEANUP_FREE char *in_link = xasprintf("%s/disk.qcow2", link);
    CLEANUP_FREE char *want = xasprintf("%s/disk.qcow2", real);
    CLEANUP_FREE char *missing = xasprintf("%s/no/x.qcow2", dir);
    CLEANUP_FREE char *rdir = realpath(dir, NULL);
    CLEANUP_FREE char *got = NULL, *got2 = NULL, *got3 = NULL;

    assert_int_equal(mkdir(real, 0755), 0);
    assert_int_equal(symlink(real, link), 0);
    got = realpath_or_parent(in_link); /* not made yet */
    CLEANUP_FREE char *rwant = xasprintf("%s/real/disk.qcow2", rdir);
    assert_string_equal(got, rwant);
    FILE *f = fopen(want, "w");
    assert_non_null(f);
    fclose(f);
    got2 = realpath_or_parent(in_link); /* made */
    assert_string_equal(got2, rwant);
    got3 = realpath_or_parent(missing);
    assert_string_equal(got3, missing);
    free(realpath_or_parent("/"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_replaces, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_mode, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_create_refuses_existing, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_rename_noreplace, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_write_missing_dir, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_mkdir_p_remove_tree, tmpdir_setup, tmpdir_teardown),
        cmocka_unit_test_setup_teardown(test_realpath_or_parent, tmpdir_setup, tmpdir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
