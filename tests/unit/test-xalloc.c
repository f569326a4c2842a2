/* Unit tests: base/xalloc.c (allocation that cannot fail) and the cleanup
 * attributes of base/cleanup*.h. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/cleanup-virt.h"
#include "base/cleanup-xml.h"
#include "base/cleanup.h"
#include "base/fileio.h"
#include "base/xalloc.h"

static void test_strings(void **state)
{
    (void)state;
    CLEANUP_FREE char *a = xasprintf("%s-%03d", "web", 7);
    CLEANUP_FREE char *b = xstrdup("abc");
    CLEANUP_FREE char *c = xstrndup("abcdef", 2);
    CLEANUP_FREE char *d = xstrdup_or_null(NULL);
    CLEANUP_FREE int *z = xcalloc(4, sizeof *z);

    assert_string_equal(a, "web-007");
    assert_string_equal(b, "abc");
    assert_string_equal(c, "ab");
    assert_null(d);
    for (int i = 0; i < 4; i++)
        assert_int_equal(z[i], 0);
    z = xreallocarray(z, 1000, sizeof *z);
    z[999] = 1;
}

/* Out of memory: the message, then abort(). */
static void test_dies(void **state)
{
    int pipefd[2], status;
    char buf[128] = "";
    pid_t pid;

    (void)state;
    assert_int_equal(pipe(pipefd), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(pipefd[1], 2);
        signal(SIGABRT, SIG_DFL);
        (void)xreallocarray(NULL, SIZE_MAX / 2, 4); /* overflows */
        _exit(0);
    }
    close(pipefd[1]);
    assert_true(read(pipefd[0], buf, sizeof buf - 1) > 0);
    close(pipefd[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
    assert_string_equal(buf, "vmstamp: out of memory\n");
}

static void test_unlink_free(void **state)
{
    char dir[] = "/tmp/test-xalloc-XXXXXX";
    char *kept_name;

    (void)state;
    assert_non_null(mkdtemp(dir));
    {
        CLEANUP_UNLINK_FREE char *tmp = xasprintf("%s/overlay.qcow2", dir);
        assert_int_equal(write_file_atomic(tmp, "x", 1, 0600), 0);
        assert_int_equal(access(tmp, F_OK), 0);
    } /* removed here */
    {
        CLEANUP_UNLINK_FREE char *tmp = xasprintf("%s/kept.qcow2", dir);
        assert_int_equal(write_file_atomic(tmp, "x", 1, 0600), 0);
        kept_name = steal_pointer(&tmp);
    } /* kept: ownership handed out */
    {
        CLEANUP_UNLINK_FREE char *none = NULL; /* NULL is fine */
        (void)none;
    }
    assert_int_equal(access(kept_name, F_OK), 0);
    unlink(kept_name);
    free(kept_name);
    assert_int_equal(rmdir(dir), 0); /* fails if overlay.qcow2 is still there */
}

/* The handle cleanups accept NULL (a lookup that failed). */
static void test_null_handles(void **state)
{
    (void)state;
    CLEANUP_CONN virConnectPtr conn = NULL;
    CLEANUP_DOMAIN virDomainPtr dom = NULL;
    CLEANUP_POOL virStoragePoolPtr pool = NULL;
    CLEANUP_XMLDOC xmlDocPtr doc = NULL;
    (void)conn, (void)dom, (void)pool, (void)doc;
}

static void test_xmldoc(void **state)
{
    (void)state;
    CLEANUP_XMLDOC xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    assert_non_null(doc); /* freed at scope end; ASan's leak check would tell */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings),      cmocka_unit_test(test_dies),
        cmocka_unit_test(test_unlink_free),  cmocka_unit_test(test_null_handles),
        cmocka_unit_test(test_xmldoc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
