/* Unit tests: pure/forward.c (parsing, the nft and iptables rules, against
 * tests/data/forward/rules.golden; FORWARD_REGEN=1 rewrites it, then review
 * it) and the forwards' round trip through a domain's vmstamp metadata
 * (pure/domxml.c). argv[1] is tests/data. */
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
#include "pure/domxml.h"
#include "pure/forward.h"

static const char *data_dir = "tests/data";

static void test_parse(void **state)
{
    static const struct {
        const char *text;
        unsigned host, guest;
        int udp;
    } good[] = {
        { "8765:1337", 8765, 1337, 0 },
        { "8765:1337/tcp", 8765, 1337, 0 },
        { "5353:53/udp", 5353, 53, 1 },
        { "1:65535", 1, 65535, 0 },
    };
    static const struct {
        const char *text, *why;
    } bad[] = {
        { "8765", "use HOSTPORT:GUESTPORT" },
        { "8765-1337", "use HOSTPORT:GUESTPORT" },
        { ":1337", "ports are 1 to 65535" },
        { "8765:", "ports are 1 to 65535" },
        { "0:22", "ports are 1 to 65535" },
        { "65536:22", "ports are 1 to 65535" },
        { "123456:22", "ports are 1 to 65535" },
        { "80:22/sctp", "the protocol is tcp or udp" },
        { "80:22/", "the protocol is tcp or udp" },
        { "80/tcp:22", "use HOSTPORT:GUESTPORT" },
        { "+80:22", "ports are 1 to 65535" },
        { "80:2 2", "ports are 1 to 65535" },
    };
    struct port_forward f;
    char buf[32];

    (void)state;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_int_equal(forward_parse(good[i].text, &f), 0);
        assert_int_equal(f.host_port, good[i].host);
        assert_int_equal(f.guest_port, good[i].guest);
        assert_int_equal(f.udp, good[i].udp);
        assert_string_equal(f.address, "");
        struct port_forward again;
        assert_int_equal(forward_parse(forward_format(&f, buf, sizeof buf), &again), 0);
        assert_true(forward_same_host_port(&f, &again));
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(forward_parse(bad[i].text, &f), -1);
        assert_non_null(strstr(error_message(), bad[i].why));
        assert_non_null(strstr(error_message(), bad[i].text));
        error_clear();
    }
    struct port_forward a, b, c;
    forward_parse("80:22", &a);
    forward_parse("80:23/tcp", &b);
    forward_parse("80:22/udp", &c);
    assert_true(forward_same_host_port(&a, &b));
    assert_false(forward_same_host_port(&a, &c));
}

static void test_find_twice(void **state)
{
    struct port_forward x[2], y[2];
    struct forward_set sets[2] = { { "a", x, 2 }, { "b", y, 2 } };
    size_t i, a, j, b;

    (void)state;
    forward_parse("80:80", &x[0]);
    forward_parse("81:80", &x[1]);
    forward_parse("80:80/udp", &y[0]);
    forward_parse("82:22", &y[1]);
    assert_int_equal(forward_find_twice(sets, 2, &i, &a, &j, &b), 0);
    forward_parse("81:22", &y[1]); /* b's second has a's second host port */
    assert_int_equal(forward_find_twice(sets, 2, &i, &a, &j, &b), 1);
    assert_true(i == 1 && a == 1 && j == 0 && b == 1);
    forward_parse("80:443", &x[1]); /* within one set: found before the later set's */
    assert_int_equal(forward_find_twice(sets, 2, &i, &a, &j, &b), 1);
    assert_true(i == 0 && a == 1 && j == 0 && b == 0);
    assert_int_equal(forward_find_twice(sets, 0, &i, &a, &j, &b), 0);
}

static void append_argv(char **out, char **argv)
{
    for (size_t i = 0; argv[i]; i++) {
        char *s = xasprintf("%s%s%s%s%s", *out, i ? " " : "", strchr(argv[i], ' ') ? "'" : "", argv[i],
                            strchr(argv[i], ' ') ? "'" : "");
        free(*out);
        *out = s;
    }
    char *s = xasprintf("%s\n", *out);
    free(*out);
    *out = s;
    strv_free(argv);
}

static void test_rules_golden(void **state)
{
    struct port_forward f[2];
    char *all = xstrdup("");

    (void)state;
    assert_int_equal(forward_parse("8765:1337", &f[0]), 0);
    strcpy(f[0].address, "192.168.150.50");
    assert_int_equal(forward_parse("5353:53/udp", &f[1]), 0);
    strcpy(f[1].address, "10.1.2.3");
    for (int i = 0; i < 2; i++) {
        CLEANUP_FREE char *add = forward_nft_add(&f[i]);
        CLEANUP_FREE char *rm = forward_nft_remove(&f[i]);
        char *s = xasprintf("%s# nft add\n%s# nft remove\n%s# iptables\n", all, add, rm);
        free(all);
        all = s;
        append_argv(&all, forward_iptables_argv(&f[i], "web-01", FORWARD_RULE_ACCEPT, "-I"));
        append_argv(&all, forward_iptables_argv(&f[i], "web-01", FORWARD_RULE_ACCEPT, "-D"));
        append_argv(&all, forward_iptables_argv(&f[i], "web-01", FORWARD_RULE_PREROUTING, "-C"));
        append_argv(&all, forward_iptables_argv(&f[i], "web-01", FORWARD_RULE_OUTPUT, "-I"));
    }
    CLEANUP_FREE char *path = xasprintf("%s/forward/rules.golden", data_dir);
    if (getenv("FORWARD_REGEN")) {
        assert_int_equal(write_file_atomic(path, all, strlen(all), 0644), 0);
    } else {
        CLEANUP_FREE char *want = read_file(path, NULL);
        assert_non_null(want);
        assert_string_equal(all, want);
    }
    free(all);
}

static void test_domxml_round_trip(void **state)
{
    struct port_forward f[2];
    struct netspec net = { .kind = NET_USER };
    struct domain_spec spec = {
        .name = "web-01", .virt_type = "qemu", .memory_kib = 1024, .vcpus = 1, .disk_path = "/x/web-01.qcow2",
        .disk_format = "qcow2", .net = &net, .template_path = "/x/t.qcow2", .forwards = f, .nforwards = 2,
    };
    struct clone_meta meta;

    (void)state;
    forward_parse("8765:1337", &f[0]);
    strcpy(f[0].address, "192.168.150.50");
    forward_parse("5353:53/udp", &f[1]);
    strcpy(f[1].address, "192.168.150.50");
    CLEANUP_FREE char *xml = domxml_build(&spec);
    assert_non_null(xml);
    assert_non_null(strstr(xml, "<vmstamp:forward proto=\"tcp\" host=\"8765\" guest=\"1337\" address=\"192.168.150.50\"/>"));
    assert_int_equal(domxml_parse(xml, &meta), 0);
    assert_int_equal(meta.nforwards, 2);
    assert_int_equal(meta.forwards[1].host_port, 5353);
    assert_int_equal(meta.forwards[1].guest_port, 53);
    assert_true(meta.forwards[1].udp);
    assert_string_equal(meta.forwards[1].address, "192.168.150.50");
    clone_meta_release(&meta);

    /* Hand-edited metadata: a malformed forward is skipped, the rest kept. */
    static const char edited[] =
        "<domain><name>x</name><metadata><vmstamp:clone xmlns:vmstamp=\"" VMSTAMP_XMLNS "\">"
        "<vmstamp:template>/t</vmstamp:template>"
        "<vmstamp:forward proto=\"tcp\" host=\"99999\" guest=\"22\" address=\"10.0.0.1\"/>"
        "<vmstamp:forward proto=\"tcp\" host=\"80\" guest=\"22\" address=\"10.0.0.999\"/>"
        "<vmstamp:forward proto=\"sctp\" host=\"80\" guest=\"22\" address=\"10.0.0.1\"/>"
        "<vmstamp:forward host=\"80\" guest=\"22\" address=\"10.0.0.1\"/>"
        "<vmstamp:forward proto=\"udp\" host=\"69\" guest=\"69\" address=\"10.0.0.2\"/>"
        "</vmstamp:clone></metadata></domain>";
    assert_int_equal(domxml_parse(edited, &meta), 0);
    assert_int_equal(meta.nforwards, 1);
    assert_int_equal(meta.forwards[0].host_port, 69);
    assert_string_equal(meta.forwards[0].address, "10.0.0.2");
    clone_meta_release(&meta);
    assert_null(error_message());
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_find_twice),
        cmocka_unit_test(test_rules_golden),
        cmocka_unit_test(test_domxml_round_trip),
    };

    if (argc > 1)
        data_dir = argv[1];
    return cmocka_run_group_tests(tests, NULL, NULL);
}
