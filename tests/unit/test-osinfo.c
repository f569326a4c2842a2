/* Unit tests: osinfo.c, against the installed osinfo-db (the library and
 * its data, as vmstamp uses them; no daemon). What --os-variant resolves
 * to, and which kickstart argument each installer generation wants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/error.h"
#include "adapters/osinfo.h"

static void test_ks_argument(void **state)
{
    static const struct {
        const char *spec, *id, *ks;
    } cases[] = {
        { "centos7.0", "http://centos.org/centos/7.0", "ks" },
        { "centos6.10", "http://centos.org/centos/6.10", "ks" },
        { "centos-stream8", "http://centos.org/centos-stream/8", "ks" },
        { "centos-stream9", "http://centos.org/centos-stream/9", "inst.ks" },
        { "rhel8.4", "http://redhat.com/rhel/8.4", "ks" },
        { "rhel9.0", "http://redhat.com/rhel/9.0", "inst.ks" },
        { "rocky8", "http://rockylinux.org/rocky/8", "ks" },
        { "rocky9", "http://rockylinux.org/rocky/9", "inst.ks" },
        { "almalinux8", "http://almalinux.org/almalinux/8", "ks" },
        { "almalinux9", "http://almalinux.org/almalinux/9", "inst.ks" },
        { "fedora33", "http://fedoraproject.org/fedora/33", "ks" },
        { "fedora34", "http://fedoraproject.org/fedora/34", "inst.ks" },
        { "fedora37", "http://fedoraproject.org/fedora/37", "inst.ks" },
        { "fedora-rawhide", "http://fedoraproject.org/fedora/rawhide", "inst.ks" },
        { "debian11", "http://debian.org/debian/11", "inst.ks" },
        /* the other spellings virt-install takes */
        { "short-id=rocky9", "http://rockylinux.org/rocky/9", "inst.ks" },
        { "name=centos7.0", "http://centos.org/centos/7.0", "ks" },
        { "id=http://centos.org/centos/7.0", "http://centos.org/centos/7.0", "ks" },
        { "http://fedoraproject.org/fedora/33", "http://fedoraproject.org/fedora/33", "ks" },
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct os_variant v;
        if (os_variant_lookup(cases[i].spec, &v) < 0)
            fail_msg("%s: %s", cases[i].spec, error_message());
        if (strcmp(v.id, cases[i].id) != 0)
            fail_msg("%s: id %s, want %s", cases[i].spec, v.id, cases[i].id);
        if (strcmp(os_variant_ks_arg(&v), cases[i].ks) != 0)
            fail_msg("%s: %s=, want %s=", cases[i].spec, os_variant_ks_arg(&v), cases[i].ks);
        assert_non_null(v.short_id);
        assert_non_null(v.name);
        os_variant_release(&v);
    }
}

static void test_generic_and_unknown(void **state)
{
    struct os_variant v;

    (void)state;
    assert_int_equal(os_variant_lookup("generic", &v), 0);
    assert_null(v.id);
    assert_string_equal(os_variant_ks_arg(&v), "inst.ks");
    os_variant_release(&v);
    assert_string_equal(os_variant_ks_arg(NULL), "inst.ks");

    static const char *const bad[] = { "rocky99", "centos7.1", "id=http://example.com/none/1", "", "Rocky9" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        error_clear();
        assert_int_equal(os_variant_lookup(bad[i], &v), -1);
        assert_non_null(error_message());
        assert_null(strchr(error_message(), '\n'));
        if (*bad[i] && !strstr(error_message(), bad[i]))
            fail_msg("message does not name '%s': %s", bad[i], error_message());
    }
    error_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ks_argument),
        cmocka_unit_test(test_generic_and_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
