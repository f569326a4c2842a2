/* Unit tests: pure/selinux.c, the pool relabelling advice, on recorded
 * `ls -Zd` lines (tests/data/selinux/ls-Zd.txt: line, tab, "ok" or text
 * the advice must hold). argv[1] is tests/data. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fileio.h"
#include "base/xalloc.h"
#include "pure/selinux.h"

static const char *data_dir = "tests/data";

static void test_recorded(void **state)
{
    CLEANUP_FREE char *path = xasprintf("%s/selinux/ls-Zd.txt", data_dir);
    CLEANUP_FREE char *text = read_file(path, NULL);
    size_t cases = 0;

    (void)state;
    assert_non_null(text);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#')
            continue;
        char *tab = strchr(line, '\t');
        assert_non_null(tab);
        *tab = '\0';
        const char *want = tab + 1;
        CLEANUP_FREE char *ctx = NULL, *dir = NULL;
        assert_int_equal(selinux_parse_ls_z(line, &ctx, &dir), 0);

        CLEANUP_FREE char *enforcing = selinux_pool_advice("1\n", "lab", dir, ctx);
        if (strcmp(want, "ok") == 0) {
            if (enforcing)
                fail_msg("%s: said '%s'", line, enforcing);
        } else {
            if (!enforcing || !strstr(enforcing, want) || strncmp(enforcing, "storage pool 'lab': directory ", strlen("storage pool 'lab': directory ")))
                fail_msg("%s: said '%s', want '%s'", line, enforcing ? enforcing : "nothing", want);
            assert_null(strchr(enforcing, '\n'));
        }
        /* Permissive, or no SELinux at all: nothing to say. */
        CLEANUP_FREE char *permissive = selinux_pool_advice("0\n", "lab", dir, ctx);
        CLEANUP_FREE char *none = selinux_pool_advice(NULL, "lab", dir, ctx);
        assert_null(permissive);
        assert_null(none);
        cases++;
    }
    assert_true(cases >= 9);
}

static void test_context(void **state)
{
    static const char *const bad[] = { "", "virt_image_t", "a:b", "a:b:c", "a:b::s0", "/var/lib/libvirt/images" };
    char *c, *d;

    (void)state;
    CLEANUP_FREE char *t = selinux_context_type("system_u:object_r:virt_image_t:s0");
    assert_string_equal(t, "virt_image_t");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *x = selinux_context_type(bad[i]);
        if (x)
            fail_msg("'%s' gave type '%s'", bad[i], x);
    }
    assert_null(selinux_context_type(NULL));
    /* Not an ls -Z line: "?" for a file without a context, or no path. */
    assert_int_equal(selinux_parse_ls_z("? /srv/vms", &c, &d), -1);
    assert_int_equal(selinux_parse_ls_z("system_u:object_r:virt_image_t:s0", &c, &d), -1);
    assert_int_equal(selinux_parse_ls_z("system_u:object_r:virt_image_t:s0   ", &c, &d), -1);
    /* No context known (getxattr failed): nothing to say. */
    assert_null(selinux_pool_advice("1", "lab", "/srv", NULL));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recorded),
        cmocka_unit_test(test_context),
    };

    if (argc > 1)
        data_dir = argv[1];
    return cmocka_run_group_tests(tests, NULL, NULL);
}
