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
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/fileio.h"
#include "base/xalloc.h"
#include "pure/domxml.h"
#include "pure/forward.h"
#include "adapters/portfwd.h"

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
        { "0447:22", "ports are 1 to 65535" },   /* leading zeros: not 447, not octal */
        { "447:022", "ports are 1 to 65535" },
        { "00080:22", "ports are 1 to 65535" },
        { "80 :22", "ports are 1 to 65535" },
        { "80:22x", "ports are 1 to 65535" },
        { "0x50:22", "ports are 1 to 65535" },
        { "-80:22", "ports are 1 to 65535" },
        { "80:22/tcp ", "the protocol is tcp or udp" },
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
    struct forward_set sets[2] = { { "a", x, 2, NULL }, { "b", y, 2, NULL } };
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

    /* Hand-edited metadata: a malformed forward is left out and the first
     * one described (the hook refuses the start with it), the rest kept. */
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
    assert_non_null(meta.bad_forward);
    assert_string_equal(meta.bad_forward, "proto=\"tcp\" host=\"99999\" guest=\"22\" address=\"10.0.0.1\"");
    clone_meta_release(&meta);
    assert_null(error_message());
}

/* Each malformed <vmstamp:forward> alone: left out and described in
 * bad_forward, one line whatever the value holds. */
static void test_domxml_malformed(void **state)
{
    static const struct {
        const char *attrs, *described;
    } bad[] = {
        { "proto='tcp' host='0447' guest='22' address='192.168.150.50'", "host=\"0447\"" },
        { "proto='tcp' host='447' guest='022' address='192.168.150.50'", "guest=\"022\"" },
        { "proto='tcp' host='8765 ' guest='22' address='192.168.150.50'", "host=\"8765 \"" },
        { "proto='tcp' host='8765' guest='22x' address='192.168.150.50'", "guest=\"22x\"" },
        { "proto='tcp' host='0' guest='22' address='192.168.150.50'", "host=\"0\"" },
        { "proto='tcp' host='65536' guest='22' address='192.168.150.50'", "host=\"65536\"" },
        { "proto='TCP' host='8765' guest='22' address='192.168.150.50'", "proto=\"TCP\"" },
        { "proto='tcp' host='8765' guest='22' address='192.168.150.050'", "address=\"192.168.150.050\"" },
        { "proto='tcp' host='8765' guest='22' address='192.168.150'", "address=\"192.168.150\"" },
        { "proto='tcp' host='8765' guest='22' address=' 192.168.150.50'", "address=\" 192.168.150.50\"" },
        { "proto='tcp' host='8765' guest='22' address='::1'", "address=\"::1\"" },
        { "proto='tcp' host='8765' guest='22'", "guest=\"22\"" },
        { "proto='tcp' host='8765' guest='22' address='192.168.150.50' allow-low-port='1'", "allow-low-port=\"1\"" },
        { "proto='tcp' host='8765' guest='22' address='192.168.150.50' force='true'", "force=\"true\"" },
        { "proto='tcp' host='8765&#10;x' guest='22' address='192.168.150.50'", "host=\"8765?x\"" },
    };
    struct clone_meta meta;

    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CLEANUP_FREE char *xml = xasprintf(
            "<domain><name>x</name><uuid>0b6c3c4e-5d1a-4a8e-9f3e-2c1d0e9f8a7b</uuid><metadata>"
            "<vmstamp:clone xmlns:vmstamp=\"" VMSTAMP_XMLNS "\"><vmstamp:template>/t</vmstamp:template>"
            "<vmstamp:uuid>0b6c3c4e-5d1a-4a8e-9f3e-2c1d0e9f8a7b</vmstamp:uuid>"
            "<vmstamp:forward %s/></vmstamp:clone></metadata></domain>", bad[i].attrs);
        assert_int_equal(domxml_parse(xml, &meta), 0);
        assert_true(meta.is_vmstamp);
        assert_int_equal(meta.nforwards, 0);
        if (!meta.bad_forward || !strstr(meta.bad_forward, bad[i].described))
            fail_msg("%s: bad_forward '%s'", bad[i].attrs, meta.bad_forward ? meta.bad_forward : "(none)");
        assert_null(strchr(meta.bad_forward, '\n'));
        clone_meta_release(&meta);
    }
    assert_null(error_message());
}

/* The flags round-trip through the metadata; absent, they are off. */
static void test_domxml_flags(void **state)
{
    struct port_forward f[2];
    struct netspec net = { .kind = NET_NETWORK, .source = (char *)"default" };
    struct domain_spec spec = {
        .name = "web-01", .uuid = "0b6c3c4e-5d1a-4a8e-9f3e-2c1d0e9f8a7b", .virt_type = "qemu", .memory_kib = 1024,
        .vcpus = 1, .disk_path = "/x/web-01.qcow2", .disk_format = "qcow2", .net = &net, .template_path = "/x/t.qcow2",
        .forwards = f, .nforwards = 2,
    };
    struct clone_meta meta;

    (void)state;
    forward_parse("80:80", &f[0]);
    strcpy(f[0].address, "192.168.150.50");
    f[0].allow_low = 1;
    forward_parse("22:22", &f[1]);
    strcpy(f[1].address, "192.168.150.50");
    f[1].allow_low = f[1].force = 1;
    CLEANUP_FREE char *xml = domxml_build(&spec);
    assert_non_null(strstr(xml, "host=\"80\" guest=\"80\" address=\"192.168.150.50\" allow-low-port=\"yes\"/>"));
    assert_non_null(strstr(xml, "allow-low-port=\"yes\" force=\"yes\"/>"));
    assert_int_equal(domxml_parse(xml, &meta), 0);
    assert_true(meta.is_vmstamp);
    assert_null(meta.bad_forward);
    assert_int_equal(meta.nforwards, 2);
    assert_true(meta.forwards[0].allow_low && !meta.forwards[0].force);
    assert_true(meta.forwards[1].allow_low && meta.forwards[1].force);
    clone_meta_release(&meta);
}

static const struct forward_net lab = { "default", 0xc0a89601u /* 192.168.150.1 */, 24 };

static void test_check_address(void **state)
{
    static const char *good[] = { "192.168.150.50", "192.168.150.2", "192.168.150.254" };
    static const struct {
        const char *address, *why;
    } bad[] = {
        { "10.9.9.9", "not on the domain's network" },
        { "192.168.151.50", "not on the domain's network" },
        { "8.8.8.8", "not on the domain's network" },
        { "0.0.0.0", "the unspecified address" },
        { "127.0.0.1", "a loopback address" },
        { "127.1.2.3", "a loopback address" },
        { "255.255.255.255", "the broadcast address" },
        { "224.0.0.1", "a multicast address" },
        { "239.255.255.250", "a multicast address" },
        { "240.0.0.1", "a reserved address" },
        { "192.168.150.0", "the network's own address" },
        { "192.168.150.255", "the network's broadcast address" },
        { "192.168.150.1", "the host's own address on the network" },
        { "192.168.150.050", "not an IPv4 address" },
        { "0192.168.150.50", "not an IPv4 address" },
        { "192.168.150.50x", "not an IPv4 address" },
        { "192.168.150", "not an IPv4 address" },
        { "", "not an IPv4 address" },
    };
    struct port_forward f;

    (void)state;
    forward_parse("8765:1337", &f);
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        strcpy(f.address, good[i]);
        assert_int_equal(forward_check_address(&f, "web", &lab), 0);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        strcpy(f.address, bad[i].address);
        assert_int_equal(forward_check_address(&f, "web", &lab), -1);
        if (!strstr(error_message(), bad[i].why) || !strstr(error_message(), "'web'") ||
            !strstr(error_message(), "8765/tcp") || strchr(error_message(), '\n'))
            fail_msg("%s: '%s'", bad[i].address, error_message());
        error_clear();
    }
    /* A /30: two guests' addresses, no room for a network or broadcast mistake. */
    struct forward_net small = { "p2p", 0x0a000001u, 30 };
    strcpy(f.address, "10.0.0.2");
    assert_int_equal(forward_check_address(&f, "web", &small), 0);
    strcpy(f.address, "10.0.0.3");
    assert_int_equal(forward_check_address(&f, "web", &small), -1);
    assert_non_null(strstr(error_message(), "broadcast"));
    error_clear();
}

static const char proc_tcp[] =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0\n"
    "   1: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0 100 0 0 10 0\n"
    "   2: 0A00000F:2233 0A000001:0016 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 100 0 0 10 0\n";
static const char proc_udp6[] =
    "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
    "   0: 00000000000000000000000000000000:0035 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4 2 0 0\n"
    "   1: 00000000000000000000000000000000:3039 00000000000000000000000001000000:0035 01 00000000:00000000 00:00000000 00000000     0        0 5 2 0 0\n";

static void test_listening(void **state)
{
    struct forward_listening l;

    (void)state;
    memset(&l, 0, sizeof l);
    assert_int_equal(forward_listening_parse(proc_tcp, 0, &l), 0);
    assert_int_equal(forward_listening_parse(proc_udp6, 1, &l), 0);
    assert_true(forward_is_listening(&l, 0, 8080));  /* 0.0.0.0:8080 LISTEN */
    assert_true(forward_is_listening(&l, 0, 3306));  /* 127.0.0.1:3306 LISTEN: still the host's port */
    assert_false(forward_is_listening(&l, 0, 8755)); /* an outgoing connection's port */
    assert_true(forward_is_listening(&l, 1, 53));    /* [::]:53 UDP */
    assert_false(forward_is_listening(&l, 1, 12345)); /* a connected UDP socket */
    assert_false(forward_is_listening(&l, 0, 53));   /* not TCP */
    assert_false(forward_is_listening(&l, 1, 8080));
    assert_int_equal(forward_listening_parse("garbage", 0, &l), -1);
    error_clear();
}

static void test_check_port(void **state)
{
    struct forward_listening l;
    struct port_forward f;

    (void)state;
    memset(&l, 0, sizeof l);
    assert_int_equal(forward_listening_parse(proc_tcp, 0, &l), 0);
    assert_int_equal(forward_listening_parse(proc_udp6, 1, &l), 0);
    static const struct {
        const char *text;
        int allow_low, force;
        const char *why; /* NULL: allowed */
    } cases[] = {
        { "8765:1337", 0, 0, NULL },
        { "1024:80", 0, 0, NULL },
        { "1023:80", 0, 0, "below 1024 need --allow-low-port" },
        { "80:80", 0, 0, "below 1024 need --allow-low-port" },
        { "443:443", 0, 1, "below 1024 need --allow-low-port" },
        { "80:80", 1, 0, NULL },
        { "22:22", 0, 0, "below 1024" },
        { "22:22", 1, 0, "the host's ssh port" },
        { "22:22", 1, 1, NULL },
        { "22:22/udp", 1, 0, "the host's ssh port" },
        { "8080:80", 0, 0, "a service on this host listens on it" },
        { "8080:80", 0, 1, NULL },
        { "3306:3306", 0, 0, "a service on this host listens on it" },
        { "8080:80/udp", 0, 0, NULL },
        { "53:53/udp", 1, 0, "a service on this host listens on it" },
        { "53:53/udp", 1, 1, NULL },
        { "53:53", 1, 0, NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(forward_parse(cases[i].text, &f), 0);
        f.allow_low = cases[i].allow_low;
        f.force = cases[i].force;
        int r = forward_check_port(&f, "web", &l);
        if (!cases[i].why && r != 0)
            fail_msg("%s (%d, %d): refused: %s", cases[i].text, f.allow_low, f.force, error_message());
        if (cases[i].why && (r != -1 || !strstr(error_message(), cases[i].why) || !strstr(error_message(), "'web'")))
            fail_msg("%s (%d, %d): %d '%s'", cases[i].text, f.allow_low, f.force, r,
                     error_message() ? error_message() : "");
        error_clear();
    }
    /* Without the host's sockets (a fleet plan's static check): 8080 passes. */
    forward_parse("8080:80", &f);
    assert_int_equal(forward_check_port(&f, "web", NULL), 0);
}

/* The flags count only as far as root's grant gives them, port by port. */
static void test_grant(void **state)
{
    struct port_forward f[3];

    (void)state;
    forward_parse("80:80", &f[0]);
    f[0].allow_low = 1;
    forward_parse("22:22", &f[1]);
    f[1].allow_low = f[1].force = 1;
    forward_parse("8765:1337/udp", &f[2]);
    assert_true(forward_flagged(f, 3));
    assert_false(forward_flagged(&f[2], 1));
    CLEANUP_FREE char *text = forward_grant_format(f, 3);
    assert_string_equal(text, "tcp 80 low\ntcp 22 low force\n");

    struct port_forward g[4];
    memcpy(g, f, sizeof f);
    forward_grant_apply(text, g, 3);
    assert_true(g[0].allow_low && !g[0].force && g[1].allow_low && g[1].force);
    /* No grant: every flag the metadata claims is dropped. */
    memcpy(g, f, sizeof f);
    forward_grant_apply(NULL, g, 3);
    assert_false(forward_flagged(g, 3));
    /* A grant for other ports, another protocol, or low only: not for these. */
    static const char *others[] = { "tcp 81 low force\ntcp 2222 low force\n", "udp 80 low\nudp 22 low force\n",
                                    "tcp 22 low\n", "tcp 22\n", "garbage\n" };
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        memcpy(g, f, sizeof f);
        forward_grant_apply(others[i], g, 3);
        assert_false(g[1].force);
        assert_false(g[0].force);
    }
    memcpy(g, f, sizeof f);
    forward_grant_apply("tcp 22 low\n", g, 3);
    assert_true(g[1].allow_low && !g[1].force && !g[0].allow_low);
    /* A forced port the metadata does not flag stays unflagged. */
    memcpy(g, f, sizeof f);
    forward_grant_apply("udp 8765 low force\n", g, 3);
    assert_false(g[2].allow_low || g[2].force);
}

static void test_net_parse(void **state)
{
    struct forward_net net = { .name = "default" };
    char *bridge = NULL;

    (void)state;
    assert_int_equal(forward_net_parse("<networkstatus><class_id bitmap='0-2'/><floor sum='0'/><network>"
                                       "<name>default</name><bridge name='virbr0' stp='on'/>"
                                       "<ip family='ipv6' address='fd00::1' prefix='64'/>"
                                       "<ip address='192.168.150.1' netmask='255.255.255.0'/></network>"
                                       "</networkstatus>", "default", &net, &bridge), 0);
    assert_string_equal(bridge, "virbr0");
    assert_int_equal(net.gateway, 0xc0a89601u);
    assert_int_equal(net.prefix, 24);
    free(bridge);
    assert_int_equal(forward_net_parse("<network><name>n</name><bridge name='br9'/>"
                                       "<ip address='10.1.0.1' prefix='16'/></network>", "n", &net, &bridge), 0);
    assert_int_equal(net.prefix, 16);
    free(bridge);
    static const char *bad[] = {
        "<network><name>n</name><ip address='10.1.0.1' prefix='16'/></network>",          /* no bridge */
        "<network><name>n</name><bridge name='b'/></network>",                            /* no address */
        "<network><name>n</name><bridge name='b'/><ip family='ipv6' address='fd00::1' prefix='64'/></network>",
        "<network><name>n</name><bridge name='b'/><ip address='10.1.0.1' netmask='255.0.255.0'/></network>",
        "<network><name>n</name><bridge name='b'/><ip address='10.1.0.1' prefix='32'/></network>",
        "<network><name>n</name><bridge name='b'/><ip address='10.1.0.01' prefix='24'/></network>",
        "not xml",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(forward_net_parse(bad[i], "n", &net, &bridge), -1);
        assert_null(bridge);
        assert_non_null(strstr(error_message(), "network 'n'"));
        error_clear();
    }
}

/* This host's own /proc/net tables, read in chunks: a TCP listener and a
 * bound UDP socket on loopback are seen, and so is one behind up to 3000
 * other sockets (more lines than one chunk of the reader holds). */
static int bound(int type, int listen_too)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int fd = socket(AF_INET, type, 0);

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    if (listen_too)
        assert_int_equal(listen(fd, 1), 0);
    return fd;
}

static unsigned port_of(int fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;

    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    return ntohs(a.sin_port);
}

static void test_listening_host(void **state)
{
    struct forward_listening l;
    static int many[3000];
    size_t nmany = 0;

    (void)state;
    for (; nmany < sizeof many / sizeof many[0]; nmany++) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        many[nmany] = socket(AF_INET, SOCK_DGRAM, 0);
        if (many[nmany] < 0)
            break; /* fewer files allowed: still more lines than one chunk */
        if (bind(many[nmany], (struct sockaddr *)&a, sizeof a) < 0) {
            close(many[nmany]);
            break;
        }
    }
    assert_true(nmany > 600); /* ~130 bytes a line: over 64 KiB */
    int t = bound(SOCK_STREAM, 1), u = bound(SOCK_DGRAM, 0);
    assert_int_equal(portfwd_listening(&l), 0);
    assert_true(forward_is_listening(&l, 0, port_of(t)));
    assert_true(forward_is_listening(&l, 1, port_of(u)));
    assert_true(forward_is_listening(&l, 1, port_of(many[0])));
    assert_true(forward_is_listening(&l, 1, port_of(many[nmany - 1])));
    close(t);
    close(u);
    for (size_t i = 0; i < nmany; i++)
        close(many[i]);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listening_host),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_find_twice),
        cmocka_unit_test(test_rules_golden),
        cmocka_unit_test(test_domxml_round_trip),
        cmocka_unit_test(test_domxml_malformed),
        cmocka_unit_test(test_domxml_flags),
        cmocka_unit_test(test_check_address),
        cmocka_unit_test(test_listening),
        cmocka_unit_test(test_check_port),
        cmocka_unit_test(test_grant),
        cmocka_unit_test(test_net_parse),
    };

    if (argc > 1)
        data_dir = argv[1];
    return cmocka_run_group_tests(tests, NULL, NULL);
}
