/* Unit tests: base/fileio.c (atomic writes, no-replace renames, trees). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
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

/* Write LEN bytes of C to PATH. */
static void fill(const char *path, int c, size_t len)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    for (size_t i = 0; i < len; i++)
        fputc(c, f);
    fclose(f);
}

/* Files read whole: within the limit they are read; one byte over, a
 * sparse 1 TiB file, a FIFO (not waited for), a device, a directory and,
 * with READ_NOFOLLOW, a symbolic link are refused in one line naming the
 * file and what to give. */
static void test_read_file_limited(void **state)
{
    const char *dir = *state;
    CLEANUP_FREE char *ok = join(dir, "ok");
    CLEANUP_FREE char *big = join(dir, "big");
    CLEANUP_FREE char *sparse = join(dir, "sparse");
    CLEANUP_FREE char *fifo = join(dir, "fifo");
    CLEANUP_FREE char *link = join(dir, "link");
    CLEANUP_FREE char *text = NULL;
    size_t len = 0;
    char *r;

    fill(ok, 'a', 100);
    text = read_file_limited(ok, 100, READ_NOFOLLOW, "ssh key", "give a public key file", &len);
    assert_non_null(text);
    assert_int_equal(len, 100);
    assert_int_equal(strlen(text), 100);

    fill(big, 'b', 101);
    r = read_file_limited(big, 100, 0, "ssh key", "give a public key file", NULL);
    assert_null(r);
    CLEANUP_FREE char *want = xasprintf("ssh key '%s' is larger than 100 bytes: give a public key file", big);
    assert_string_equal(error_message(), want);
    error_clear();

    fill(big, 'b', 16 * 1024 + 1);
    assert_null(read_file_limited(big, READ_MAX_PUBKEY, 0, "ssh key", "give a public key file", NULL));
    assert_non_null(strstr(error_message(), "is larger than 16 KiB: give a public key file"));
    error_clear();

    int fd = open(sparse, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)1 << 40), 0);
    close(fd);
    assert_null(read_file(sparse, NULL));
    assert_non_null(strstr(error_message(), "is larger than 16 MiB"));
    error_clear();

    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_null(read_file_limited(fifo, 100, 0, "fleet plan", "give a YAML file", NULL));
    CLEANUP_FREE char *want_fifo = xasprintf("fleet plan '%s' is not a regular file: give a YAML file", fifo);
    assert_string_equal(error_message(), want_fifo);
    error_clear();

    assert_null(read_file_limited("/dev/zero", READ_MAX_PUBKEY, 0, "ssh key", "give a public key file", NULL));
    assert_string_equal(error_message(), "ssh key '/dev/zero' is not a regular file: give a public key file");
    error_clear();
    assert_null(read_file("/dev/zero", NULL));
    assert_string_equal(error_message(), "'/dev/zero' is not a regular file");
    error_clear();
    assert_null(read_file(dir, NULL));
    error_clear();

    assert_int_equal(symlink(ok, link), 0);
    assert_null(read_file_limited(link, 100, READ_NOFOLLOW, "password file", "give the file itself", NULL));
    CLEANUP_FREE char *want_link = xasprintf("password file '%s' is a symbolic link: give the file itself", link);
    assert_string_equal(error_message(), want_link);
    error_clear();
    CLEANUP_FREE char *followed = read_file_limited(link, 100, 0, "x", NULL, NULL);
    assert_non_null(followed);

    CLEANUP_FREE char *missing = join(dir, "missing");
    assert_null(read_file_limited(missing, 100, 0, "fleet plan", "give a YAML file", NULL));
    CLEANUP_FREE char *want_missing = xasprintf("fleet plan '%s' not found: give a YAML file", missing);
    assert_string_equal(error_message(), want_missing);
    error_clear();

    /* A pipe (READ_ANY_TYPE): only the limit holds, counted as it is read. */
    int p[2];
    char chunk[300];
    assert_int_equal(pipe(p), 0);
    memset(chunk, 'z', sizeof chunk);
    assert_int_equal(write(p[1], chunk, sizeof chunk), (ssize_t)sizeof chunk);
    close(p[1]);
    assert_null(read_fd_limited(p[0], "/dev/stdin", 200, READ_ANY_TYPE, "domain XML", NULL, NULL));
    assert_string_equal(error_message(), "domain XML '/dev/stdin' is larger than 200 bytes");
    error_clear();
    close(p[0]);

    /* An empty file is an empty string. */
    CLEANUP_FREE char *empty = join(dir, "empty");
    fill(empty, 'x', 0);
    CLEANUP_FREE char *e = read_file_limited(empty, 10, READ_NOFOLLOW, NULL, NULL, &len);
    assert_non_null(e);
    assert_int_equal(len, 0);
    assert_string_equal(e, "");
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
        cmocka_unit_test_setup_teardown(test_read_file_limited, tmpdir_setup, tmpdir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
