/* Unit tests: adapters/perms.c's search grant. The ACL a locked directory
 * gets: u:USER:x, the mask widened by x alone (never recomputed: entries
 * masked off by chmod 700 stay off), nothing else; a symbolic link on the
 * way is not followed; and, as root on a filesystem with ACLs, the real
 * thing read back with getfacl. */
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

#include "adapters/perms.h"
#include "base/cleanup.h"
#include "base/error.h"
#include "base/xalloc.h"
#include "tmpdir.h"

#define E(t, p, i) { PERMS_ACL_##t, p, i }

static unsigned perm_of(const struct perms_acl_entry *a, size_t n, unsigned tag, unsigned id)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].tag == tag && a[i].id == id)
            return a[i].perm;
    fail_msg("no entry %u:%u", tag, id);
    return 0;
}

/* chmod 700 over u:nobody:rwx and g:users:rwx: the mask is ---. The grant
 * gives the mask x and nothing else; setfacl -m would have made it rwx. */
static void test_locked_directory(void **state)
{
    (void)state;
    const struct perms_acl_entry locked[] = {
        E(USER_OBJ, 7, 0), E(USER, 7, 65534), E(GROUP_OBJ, 0, 0), E(GROUP, 7, 100), E(MASK, 0, 0), E(OTHER, 0, 0),
    };
    size_t n;
    CLEANUP_FREE struct perms_acl_entry *g = perms_acl_grant_search(locked, 6, 0700, 64055, &n);

    assert_int_equal(n, 7);
    assert_int_equal(perm_of(g, n, PERMS_ACL_MASK, 0), 1);
    assert_int_equal(perm_of(g, n, PERMS_ACL_USER, 64055), 1);
    assert_int_equal(perm_of(g, n, PERMS_ACL_USER, 65534), 7);
    assert_int_equal(perm_of(g, n, PERMS_ACL_GROUP, 100), 7);
    assert_int_equal(perm_of(g, n, PERMS_ACL_GROUP_OBJ, 0), 0);
    /* Sorted by tag, then id: the kernel refuses anything else. */
    for (size_t i = 1; i < n; i++)
        assert_true(g[i - 1].tag < g[i].tag || (g[i - 1].tag == g[i].tag && g[i - 1].id < g[i].id));
    assert_int_equal(perms_acl_check_gain("/d", locked, 6, g, n, 64055), 0);
}

/* A 0700 directory without an ACL: u:USER:x and mask --x (mode 0710). */
static void test_minimal(void **state)
{
    (void)state;
    size_t n;
    CLEANUP_FREE struct perms_acl_entry *g = perms_acl_grant_search(NULL, 0, 0750, 64055, &n);
    const struct perms_acl_entry mode[] = { E(USER_OBJ, 7, 0), E(GROUP_OBJ, 5, 0), E(OTHER, 0, 0) };

    assert_int_equal(n, 5);
    assert_int_equal(perm_of(g, n, PERMS_ACL_MASK, 0), 5);
    assert_int_equal(perm_of(g, n, PERMS_ACL_USER, 64055), 1);
    assert_int_equal(perms_acl_check_gain("/d", mode, 3, g, n, 64055), 0);
}

/* An entry of the user's own keeps what it had. */
static void test_existing_entry(void **state)
{
    (void)state;
    const struct perms_acl_entry acl[] = { E(USER_OBJ, 7, 0), E(USER, 4, 64055), E(GROUP_OBJ, 0, 0), E(MASK, 5, 0),
                                           E(OTHER, 0, 0) };
    size_t n;
    CLEANUP_FREE struct perms_acl_entry *g = perms_acl_grant_search(acl, 5, 0750, 64055, &n);

    assert_int_equal(n, 5);
    assert_int_equal(perm_of(g, n, PERMS_ACL_USER, 64055), 5);
    assert_int_equal(perm_of(g, n, PERMS_ACL_MASK, 0), 5);
}

/* What setfacl -m did (the mask recomputed to rwx) is caught. */
static void test_gain_caught(void **state)
{
    (void)state;
    const struct perms_acl_entry before[] = { E(USER_OBJ, 7, 0), E(USER, 7, 65534), E(GROUP_OBJ, 0, 0),
                                              E(MASK, 0, 0), E(OTHER, 0, 0) };
    const struct perms_acl_entry widened[] = { E(USER_OBJ, 7, 0), E(USER, 7, 65534), E(USER, 1, 64055),
                                               E(GROUP_OBJ, 0, 0), E(MASK, 7, 0), E(OTHER, 0, 0) };
    const struct perms_acl_entry other[] = { E(USER_OBJ, 7, 0), E(USER, 7, 65534), E(USER, 1, 64055),
                                             E(GROUP_OBJ, 0, 0), E(MASK, 1, 0), E(OTHER, 1, 0) };

    assert_int_equal(perms_acl_check_gain("/d", before, 5, widened, 6, 64055), -1);
    assert_string_equal(error_message(), "the ACL of '/d' changed beyond a search entry: 'mask:' went from --- to rwx");
    error_clear();
    assert_int_equal(perms_acl_check_gain("/d", before, 5, other, 6, 64055), -1);
    assert_non_null(strstr(error_message(), "'other:' went from --- to --x"));
    error_clear();
}

/* The real directory, as root: the ACL read back with getfacl; a path
 * through a symbolic link is refused and its target left as it was. */
static void test_on_disk(void **state)
{
    const char *dir = *state;
    CLEANUP_FREE char *locked = xasprintf("%s/locked", dir);
    CLEANUP_FREE char *link = xasprintf("%s/link", dir);
    CLEANUP_FREE char *cmd = NULL;
    CLEANUP_FREE char *out = NULL;
    struct perms_user u;
    char line[256];
    size_t size = 0;
    FILE *p, *m;

    if (geteuid() != 0) {
        skip();
        return;
    }
    assert_int_equal(mkdir(locked, 0755), 0);
    cmd = xasprintf("setfacl -m u:nobody:rwx,g:users:rwx '%s' 2>/dev/null && chmod 700 '%s'", locked, locked);
    if (system(cmd) != 0) {
        skip(); /* no ACL support here */
        return;
    }
    assert_int_equal(symlink("locked", link), 0);
    perms_user_init(&u, 65534, 65534);
    /* Through the link: refused, nothing changed. */
    assert_int_equal(perms_grant_search(&u, link), -1);
    assert_non_null(strstr(error_message(), "symbolic link"));
    error_clear();
    free(cmd);
    cmd = xasprintf("getfacl -cpE '%s'", locked);
    m = open_memstream(&out, &size);
    p = popen(cmd, "r");
    while (fgets(line, sizeof line, p))
        fputs(line, m);
    pclose(p);
    fclose(m);
    assert_non_null(strstr(out, "mask::---\n"));
    free(out);
    out = NULL;
    perms_user_release(&u);

    /* A user of its own (uid 4242, none in the user database). */
    perms_user_init(&u, 4242, 4242);
    if (perms_grant_search(&u, locked) < 0)
        fail_msg("%s", error_message());
    perms_user_release(&u);
    m = open_memstream(&out, &size);
    p = popen(cmd, "r");
    while (fgets(line, sizeof line, p))
        fputs(line, m);
    pclose(p);
    fclose(m);
    /* The mask gained x alone: nobody and users can search, never write. */
    assert_string_equal(out, "user::rwx\nuser:4242:--x\nuser:nobody:rwx\ngroup::r-x\ngroup:users:rwx\nmask::--x\n"
                             "other::---\n\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_locked_directory),
        cmocka_unit_test(test_minimal),
        cmocka_unit_test(test_existing_entry),
        cmocka_unit_test(test_gain_caught),
        cmocka_unit_test_setup_teardown(test_on_disk, tmpdir_setup, tmpdir_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
