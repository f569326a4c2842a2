/* Unit tests: pure/dac.c (qemu's user from recorded capabilities, the
 * directories a path needs, qemu.conf's dynamic_ownership, local URIs)
 * and adapters/perms.c (the kernel asked as another user; needs root,
 * skipped otherwise). argv[1] is tests/data. */
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
#include "base/fileio.h"
#include "base/xalloc.h"
#include "pure/dac.h"
#include "tmpdir.h"

static const char *data_dir = "tests/data";

static char *caps(const char *name)
{
    CLEANUP_FREE char *path = xasprintf("%s/caps/%s", data_dir, name);
    char *xml = read_file(path, NULL);

    assert_non_null(xml);
    return xml;
}

/* virsh capabilities of this project's Debian 12 host (qemu:///system):
 * <baselabel type='kvm'>+64055:+64055</baselabel>, and the same for qemu. */
static void test_caps_system(void **state)
{
    CLEANUP_FREE char *xml = caps("qemu-system-debian12.xml");
    uid_t uid = 1;
    gid_t gid = 1;

    (void)state;
    assert_int_equal(dac_label_from_caps(xml, "kvm", &uid, &gid), 0);
    assert_int_equal(uid, 64055);
    assert_int_equal(gid, 64055);
    uid = gid = 1;
    assert_int_equal(dac_label_from_caps(xml, "qemu", &uid, &gid), 0);
    assert_int_equal(uid, 64055);
    assert_int_equal(gid, 64055);
    /* No label for that type: nothing to check. */
    assert_int_equal(dac_label_from_caps(xml, "xen", &uid, &gid), 1);
    assert_int_equal(dac_label_from_caps(xml, "kvm']|//x[@a='", &uid, &gid), -1);
    error_clear();
}

/* libvirt's test driver (test:///default) has no DAC model, as a session
 * daemon has none: nothing to check. */
static void test_caps_no_dac(void **state)
{
    CLEANUP_FREE char *xml = caps("test-default.xml");
    uid_t uid;
    gid_t gid;

    (void)state;
    assert_int_equal(dac_label_from_caps(xml, "kvm", &uid, &gid), 1);
    assert_int_equal(dac_label_from_caps(xml, "qemu", &uid, &gid), 1);
}

static void test_parse_label(void **state)
{
    static const char *const bad[] = { "", "64055:64055", "+64055", "+64055:", "+a:+1", "+1:+1x", "+1:+1:+1",
                                       "+-1:+1", "+99999999999:+1", "libvirt-qemu:kvm" };
    uid_t uid;
    gid_t gid;

    (void)state;
    assert_int_equal(dac_parse_label("+0:+0", &uid, &gid), 0);
    assert_int_equal(uid, 0);
    assert_int_equal(gid, 0);
    assert_int_equal(dac_parse_label("+107:+994", &uid, &gid), 0);
    assert_int_equal(uid, 107);
    assert_int_equal(gid, 994);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(dac_parse_label(bad[i], &uid, &gid), -1);
        assert_non_null(strstr(error_message(), "+UID:+GID"));
        error_clear();
    }
}

static void check_dirs(const char *path, const char *const *want)
{
    CLEANUP_STRV char **got = dac_search_dirs(path);
    size_t i = 0;

    assert_non_null(got);
    for (; want[i]; i++) {
        assert_non_null(got[i]);
        assert_string_equal(got[i], want[i]);
    }
    assert_null(got[i]);
}

static void test_search_dirs(void **state)
{
    (void)state;
    check_dirs("/a/b/c.iso", (const char *const[]){ "/", "/a", "/a/b", NULL });
    check_dirs("/c.iso", (const char *const[]){ "/", NULL });
    check_dirs("/tmp/tmp.X/", (const char *const[]){ "/", "/tmp", "/tmp/tmp.X", NULL });
    check_dirs("//a//b", (const char *const[]){ "/", "//a", NULL });
    assert_null(dac_search_dirs("a/b"));
    assert_null(dac_search_dirs(""));
    assert_null(dac_search_dirs(NULL));
}

static void test_dynamic_ownership(void **state)
{
    static const struct {
        const char *conf;
        int on;
    } cases[] = {
        { NULL, 1 },
        { "", 1 },
        { "#dynamic_ownership = 0\n", 1 },
        { "dynamic_ownership = 0\n", 0 },
        { "  dynamic_ownership=0  # off\n", 0 },
        { "dynamic_ownership = 1\n", 1 },
        { "dynamic_ownership = 0\ndynamic_ownership = 1\n", 1 },
        { "user = \"root\"\ndynamic_ownership = 0", 0 },
        { "dynamic_ownership_extra = 0\n", 1 },
        { "# dynamic_ownership = 0\nremember_owner = 0\n", 1 },
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (dac_dynamic_ownership(cases[i].conf) != cases[i].on)
            fail_msg("case %zu: '%s'", i, cases[i].conf ? cases[i].conf : "(null)");
    }
}

static void test_uri_is_local(void **state)
{
    static const struct {
        const char *uri;
        int local;
    } cases[] = {
        { "qemu:///system", 1 },
        { "qemu:///session", 1 },
        { "qemu+unix:///system", 1 },
        { "test:///default", 1 },
        { "qemu+unix:///system?socket=/tmp/h2/libvirt-sock", 0 },
        { "qemu+unix:///system?mode=direct&socket=/x", 0 },
        { "qemu+ssh://root@kvm2/system", 0 },
        { "qemu+tcp://kvm2/system", 0 },
        { "qemu+tls://kvm2.example.com/system", 0 },
        { "qemu+libssh2://kvm2/system", 0 },
        { "qemu://kvm2/system", 0 },
        { "qemu+ext:///system?command=/bin/x", 0 },
        { "", 0 },
        { NULL, 0 },
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (dac_uri_is_local(cases[i].uri) != cases[i].local)
            fail_msg("'%s': want %d", cases[i].uri ? cases[i].uri : "(null)", cases[i].local);
    }
}

/* As nobody: a 0700 directory blocks, at the first level that does; a
 * search ACL for nobody opens it (its group bits then show the ACL mask); an unreadable
 * file blocks only when the read is asked for; a missing path is not this
 * check's business. */
static void test_perms_blocker(void **state)
{
    const char *dir = *state;
    CLEANUP_FREE char *top = xasprintf("%s/top", dir);
    CLEANUP_FREE char *inner = xasprintf("%s/inner", top);
    CLEANUP_FREE char *file = xasprintf("%s/disk.qcow2", inner);
    CLEANUP_FREE char *missing = xasprintf("%s/no/such.iso", inner);
    struct perms_user u;
    char *b = NULL;
    struct stat st;

    if (geteuid() != 0)
        skip();
    assert_int_equal(chmod(dir, 0755), 0);
    assert_int_equal(mkdir(top, 0700), 0);
    assert_int_equal(mkdir(inner, 0700), 0);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(chmod(file, 0600), 0);
    perms_user_init(&u, 65534, 65534);

    assert_int_equal(perms_blocker(&u, file, 0, &b), 1);
    assert_string_equal(b, top);
    free(b);
    assert_int_equal(perms_grant_search(&u, top), 0);
    assert_int_equal(stat(top, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0710); /* an ACL's mask shows in the group bits */
    assert_int_equal(perms_blocker(&u, file, 0, &b), 1);
    assert_string_equal(b, inner);
    free(b);
    assert_int_equal(perms_grant_search(&u, inner), 0);
    assert_int_equal(perms_blocker(&u, file, 0, &b), 0);
    assert_null(b);
    assert_int_equal(perms_blocker(&u, file, 1, &b), 2);
    assert_string_equal(b, file);
    free(b);
    assert_int_equal(chmod(file, 0604), 0);
    assert_int_equal(perms_blocker(&u, file, 1, &b), 0);
    assert_int_equal(perms_blocker(&u, missing, 1, &b), 0);
    assert_int_equal(perms_blocker(&u, "relative/path", 0, &b), -1);
    error_clear();
    perms_user_release(&u);

    /* The group counts: a directory open to its group (root) only. */
    CLEANUP_FREE char *grp = xasprintf("%s/grp", dir);
    CLEANUP_FREE char *in_grp = xasprintf("%s/x.iso", grp);
    assert_int_equal(mkdir(grp, 0750), 0);
    assert_int_equal(chown(grp, 0, 0), 0);
    perms_user_init(&u, 65534, 65534);
    assert_int_equal(perms_blocker(&u, in_grp, 0, &b), 1);
    assert_string_equal(b, grp);
    free(b);
    perms_user_release(&u);
    perms_user_init(&u, 65534, 0);
    assert_int_equal(perms_blocker(&u, in_grp, 0, &b), 0);
    perms_user_release(&u);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_caps_system),
        cmocka_unit_test(test_caps_no_dac),
        cmocka_unit_test(test_parse_label),
        cmocka_unit_test(test_search_dirs),
        cmocka_unit_test(test_dynamic_ownership),
        cmocka_unit_test(test_uri_is_local),
        cmocka_unit_test_setup_teardown(test_perms_blocker, tmpdir_setup, tmpdir_teardown),
    };

    if (argc > 1)
        data_dir = argv[1];
    return cmocka_run_group_tests(tests, NULL, NULL);
}
