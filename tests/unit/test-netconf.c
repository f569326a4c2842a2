/* Unit tests: netconf.c (static IPv4 in each network configuration format)
 * and the key=value edits of edit.c it is built on. Golden files: each case
 * reads tests/data/netconf/IN.in (or starts from nothing) and must give
 * NAME.out exactly. argv[1] is tests/data. NETCONF_REGEN=1 rewrites the
 * .out files from what the code gives (then read the diff). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/error.h"
#include "base/fileio.h"
#include "pure/edit.h"
#include "pure/fleetplan.h"
#include "pure/netconf.h"

static const char *data_dir;

static struct static_ipv4 ip4(const char *cidr, const char *gw, const char *dns)
{
    struct static_ipv4 ip = { 0 };

    assert_int_equal(netconf_parse_cidr(cidr, NULL, &ip.address, &ip.prefix), 0);
    if (gw)
        assert_int_equal(ipv4_parse(gw, &ip.gateway), 0);
    for (const char *p = dns; p && *p && ip.ndns < NETCONF_MAX_DNS;) {
        char one[16];
        size_t n = strcspn(p, ",");
        assert_true(n < sizeof one);
        memcpy(one, p, n);
        one[n] = '\0';
        assert_int_equal(ipv4_parse(one, &ip.dns[ip.ndns++]), 0);
        p += n + (p[n] == ',');
    }
    return ip;
}

static char *data_file(const char *name, const char *ext)
{
    char path[4096];

    snprintf(path, sizeof path, "%s/netconf/%s%s", data_dir, name, ext);
    return read_file(path, NULL);
}

/* ---- golden files ---- */

struct golden {
    const char *name;   /* NAME.out */
    enum netconf_format f;
    const char *in;     /* IN.in; NULL: a new file */
    const char *ifname;
    const char *mac;
    const char *cidr, *gw, *dns;
    unsigned flags;
};

static const struct golden goldens[] = {
    /* RHEL/CentOS 7 as anaconda writes it: BOOTPROTO=dhcp becomes the block. */
    { "ifcfg-el7", NETCONF_IFCFG, "ifcfg-el7", "eth0", "52:54:00:aa:bb:cc", "192.168.10.5/24", "192.168.10.1",
      "192.168.10.2,192.168.10.3", 0 },
    /* An old static one: IPADDR0, NETMASK, DNS3 and PEERDNS=no go. */
    { "ifcfg-static", NETCONF_IFCFG, "ifcfg-static", "eth0", NULL, "10.2.0.7/16", "10.2.0.1", "10.2.0.2", 0 },
    /* No gateway, no DNS: PEERDNS stays, GATEWAY and DNSn go. */
    { "ifcfg-static-nogw", NETCONF_IFCFG, "ifcfg-static", "eth0", NULL, "10.2.0.7/16", NULL, NULL, 0 },
    { "ifcfg-new", NETCONF_IFCFG, NULL, "ens3", "52:54:00:aa:bb:cc", "172.16.5.9/20", "172.16.0.1", NULL, 0 },
    /* Rocky 9's NetworkManager keyfile: [ipv4] method=auto becomes manual. */
    { "keyfile-el9", NETCONF_KEYFILE, "keyfile-el9", "eth0", "52:54:00:aa:bb:cc", "192.168.10.5/24",
      "192.168.10.1", "192.168.10.2,192.168.10.3", 0 },
    /* No new DNS servers: the file's own (and dns-search, may-fail) stay. */
    { "keyfile-static-nodns", NETCONF_KEYFILE, "keyfile-static", "enp1s0", NULL, "10.2.0.7/16", "10.2.0.1", NULL,
      0 },
    { "keyfile-static", NETCONF_KEYFILE, "keyfile-static", "enp1s0", NULL, "10.2.0.7/16", NULL, "10.2.0.2", 0 },
    { "keyfile-noipv4", NETCONF_KEYFILE, "keyfile-noipv4", NULL, NULL, "192.168.10.5/24", NULL, "9.9.9.9", 0 },
    { "keyfile-new", NETCONF_KEYFILE, NULL, "eth0", "52:54:00:aa:bb:cc", "192.168.10.5/24", "192.168.10.1",
      "192.168.10.2", 0 },
    /* DHCP=yes: DHCPv6 stays (DHCP=ipv6). */
    { "networkd-dhcp", NETCONF_NETWORKD, "networkd-dhcp", "eth0", NULL, "192.168.10.5/24", "192.168.10.1",
      "192.168.10.2,192.168.10.3,192.168.10.4,192.168.10.6", 0 },
    { "networkd-new", NETCONF_NETWORKD, NULL, "eth0", NULL, "192.168.10.5/24", "192.168.10.1", NULL, 0 },
    /* Debian 12's ifupdown file: hwaddress stays, inet dhcp becomes static. */
    { "interfaces-debian12", NETCONF_INTERFACES, "interfaces-debian12", "eth0", NULL, "192.168.10.5/24",
      "192.168.10.1", "192.168.10.2,192.168.10.3", 0 },
    /* A static stanza (tabs) redone: netmask and the old options go, at
     * the first of them; dns-search, mtu and the inet6 stanza stay. */
    { "interfaces-static", NETCONF_INTERFACES, "interfaces-static", NULL, NULL, "10.2.0.7/16", "10.2.0.1",
      "10.2.0.2", 0 },
    { "interfaces-static-nodns", NETCONF_INTERFACES, "interfaces-static", "eth0", NULL, "10.2.0.7/16", NULL,
      NULL, 0 },
    /* No stanza for the interface: one is appended. */
    { "interfaces-append", NETCONF_INTERFACES, "interfaces-static", "eth1", NULL, "10.3.0.7/24", NULL, NULL, 0 },
    { "interfaces-new", NETCONF_INTERFACES, NULL, "eth0", NULL, "10.3.0.7/24", "10.3.0.1", NULL, 0 },
    /* Ubuntu 22.04's cloud-init netplan (4-space indent): match and
     * set-name stay, dhcp4: true becomes the static keys. */
    { "netplan-ubuntu22", NETCONF_NETPLAN, "netplan-ubuntu22", "eth0", "52:54:00:12:34:56", "192.168.10.5/24",
      "192.168.10.1", "192.168.10.2,192.168.10.3", 0 },
    /* Found by MAC alone; the old addresses and gateway4 go, nameservers
     * gets the new addresses (search stays), dhcp6 and mtu stay, eth1 is
     * untouched; netplan before 0.103 gets its default route as 0.0.0.0/0. */
    { "netplan-static-legacy", NETCONF_NETPLAN, "netplan-static", NULL, "52:54:00:12:34:56", "10.2.0.7/16",
      "10.2.0.1", "10.2.0.2", NETCONF_NETPLAN_LEGACY },
    /* No new DNS servers: nameservers: stays whole. */
    { "netplan-static-nodns", NETCONF_NETPLAN, "netplan-static", "id0", NULL, "10.2.0.7/16", "10.2.0.1", NULL, 0 },
    /* nameservers: on one line, with new servers: replaced. */
    { "netplan-inline-ns", NETCONF_NETPLAN, "netplan-inline-ns", "eth0", NULL, "10.2.0.7/16", NULL, "10.2.0.2", 0 },
    { "netplan-inline-ns-nodns", NETCONF_NETPLAN, "netplan-inline-ns", "eth0", NULL, "10.2.0.7/16", NULL, NULL, 0 },
    /* No entry for eth0: one more in ethernets (before bridges). */
    { "netplan-other", NETCONF_NETPLAN, "netplan-other", "eth0", "52:54:00:aa:bb:cc", "10.2.0.7/16", "10.2.0.1",
      NULL, 0 },
    /* No ethernets: added at the end of network:. */
    { "netplan-noeth", NETCONF_NETPLAN, "netplan-noeth", "eth0", NULL, "10.2.0.7/16", NULL, "10.2.0.2", 0 },
    { "netplan-new", NETCONF_NETPLAN, NULL, "eth0", "52:54:00:aa:bb:cc", "10.2.0.7/16", "10.2.0.1",
      "10.2.0.2,10.2.0.3", 0 },
};

static void test_golden(void **state)
{
    int regen = getenv("NETCONF_REGEN") && strcmp(getenv("NETCONF_REGEN"), "1") == 0;

    (void)state;
    for (size_t i = 0; i < sizeof goldens / sizeof goldens[0]; i++) {
        const struct golden *g = &goldens[i];
        struct static_ipv4 ip = ip4(g->cidr, g->gw, g->dns);
        char *in = g->in ? data_file(g->in, ".in") : NULL;
        char *got, *want;
        if (g->in && !in)
            fail_msg("%s: cannot read %s.in", g->name, g->in);
        got = netconf_write(g->f, "/etc/test", in, g->ifname, g->mac, &ip, g->flags);
        if (!got)
            fail_msg("%s: %s", g->name, error_message() ? error_message() : "NULL");
        if (regen) {
            char path[4096];
            snprintf(path, sizeof path, "%s/netconf/%s.out", data_dir, g->name);
            FILE *fp = fopen(path, "w");
            assert_non_null(fp);
            fputs(got, fp);
            fclose(fp);
        }
        want = data_file(g->name, ".out");
        if (!want)
            fail_msg("%s: no %s.out", g->name, g->name);
        if (strcmp(got, want) != 0) {
            print_error("%s: got\n%s---\nwant\n%s---\n", g->name, got, want);
            fail_msg("%s differs from %s.out", g->name, g->name);
        }
        /* Applying it again changes nothing: clones start from the same text. */
        char *again = netconf_write(g->f, "/etc/test", got, g->ifname, g->mac, &ip, g->flags);
        assert_non_null(again);
        if (strcmp(again, got) != 0)
            fail_msg("%s: a second pass changed it:\n%s", g->name, again);
        free(again);
        free(in);
        free(got);
        free(want);
    }
}

/* ---- netplan it refuses ---- */

static void test_netplan_refused(void **state)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        { "netplan-flow", "/etc/netplan/x.yaml:1: 'network:' is in flow style" },
        { "netplan-entryflow", "/etc/netplan/x.yaml:4: ethernets entry 'eth0' is not a mapping written one key a line" },
        { "netplan-bad", "/etc/netplan/x.yaml:5: invalid YAML" },
    };
    struct static_ipv4 ip = ip4("10.0.0.5/24", "10.0.0.1", NULL);

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *in = data_file(cases[i].in, ".in");
        assert_non_null(in);
        error_clear();
        assert_null(netconf_netplan("/etc/netplan/x.yaml", in, "eth0", NULL, &ip, 0));
        assert_non_null(error_message());
        if (strncmp(error_message(), cases[i].want, strlen(cases[i].want)) != 0)
            fail_msg("%s: error '%s', want '%s...'", cases[i].in, error_message(), cases[i].want);
        free(in);
    }
    /* A root that is not a mapping with network: */
    error_clear();
    assert_null(netconf_netplan("/etc/netplan/x.yaml", "foo: bar\n", "eth0", NULL, &ip, 0));
    assert_string_equal(error_message(), "/etc/netplan/x.yaml:1: no 'network:' mapping to add eth0 to");
    error_clear();
    /* Line breaks libyaml counts but the line index does not (CR alone,
     * NEL, LS, PS): their line numbers read past the lines (fuzz-netconf,
     * corpus/netconf/crash-cr-line-breaks). CRLF is fine. */
    static const struct {
        const char *text, *want;
    } breaks[] = {
        { "\r\r\rnetwork:\n  version: 2\n  ethernets:\n    eth0: {dhcp4: true}\n", "/etc/netplan/x.yaml:1: a line break" },
        { "network:\n  version: 2\r  ethernets:\n", "/etc/netplan/x.yaml:2: a line break" },
        { "# \xc2\x85\nnetwork:\n", "/etc/netplan/x.yaml:1: a line break" },
        { "network:\n  version: 2 # \xe2\x80\xa8\n", "/etc/netplan/x.yaml:2: a line break" },
        { "network:\n  version: 2 # \xe2\x80\xa9\n", "/etc/netplan/x.yaml:2: a line break" },
    };
    for (size_t i = 0; i < sizeof breaks / sizeof breaks[0]; i++) {
        assert_null(netconf_netplan("/etc/netplan/x.yaml", breaks[i].text, "eth0", NULL, &ip, 0));
        if (!error_message() || strncmp(error_message(), breaks[i].want, strlen(breaks[i].want)) != 0)
            fail_msg("case %zu: error '%s', want '%s...'", i, error_message() ? error_message() : "none",
                     breaks[i].want);
        error_clear();
    }
    char *crlf = netconf_netplan("/etc/netplan/x.yaml", "network:\r\n  version: 2\r\n  ethernets:\r\n"
                                 "    eth0:\r\n      dhcp4: true\r\n", "eth0", NULL, &ip, 0);
    assert_non_null(crlf);
    assert_non_null(strstr(crlf, "10.0.0.5/24"));
    free(crlf);
}

/* ---- which interface a file configures ---- */

static void test_interface(void **state)
{
    static const struct {
        enum netconf_format f;
        const char *path, *text, *want; /* want NULL: none */
    } cases[] = {
        { NETCONF_IFCFG, "/etc/sysconfig/network-scripts/ifcfg-eth0", "DEVICE=eth0\nBOOTPROTO=dhcp\n", "eth0" },
        { NETCONF_IFCFG, "/etc/sysconfig/network-scripts/ifcfg-ens3", "BOOTPROTO=dhcp\n", "ens3" },
        { NETCONF_IFCFG, "/etc/sysconfig/network-scripts/ifcfg-lo", "DEVICE=lo\nIPADDR=127.0.0.1\n", NULL },
        { NETCONF_IFCFG, "/etc/sysconfig/network-scripts/ifcfg-br0", "DEVICE=br0\nTYPE=Bridge\n", NULL },
        { NETCONF_IFCFG, "/etc/sysconfig/network-scripts/ifcfg-eth1", "DEVICE=eth1\nBRIDGE=br0\n", NULL },
        { NETCONF_KEYFILE, "/etc/NetworkManager/system-connections/eth0.nmconnection",
          "[connection]\nid=eth0\ntype=ethernet\ninterface-name=eth0\n", "eth0" },
        { NETCONF_KEYFILE, "/etc/NetworkManager/system-connections/w",
          "[connection]\nid=Wired\ntype=802-3-ethernet\n[802-3-ethernet]\nmac-address=52:54:00:12:34:56\n", "" },
        { NETCONF_KEYFILE, "/etc/NetworkManager/system-connections/wifi", "[connection]\ntype=wifi\n", NULL },
        { NETCONF_KEYFILE, "/etc/NetworkManager/system-connections/port",
          "[connection]\ntype=ethernet\ninterface-name=eth1\nmaster=br0\n", NULL },
        { NETCONF_NETPLAN, "/etc/netplan/50-cloud-init.yaml",
          "network:\n  ethernets:\n    id0:\n      match:\n        macaddress: 52:54:00:12:34:56\n      set-name: eth0\n",
          "eth0" },
        { NETCONF_NETPLAN, "/etc/netplan/a.yaml", "network:\n  ethernets:\n    ens3:\n      dhcp4: true\n", "ens3" },
        { NETCONF_NETPLAN, "/etc/netplan/a.yaml", "network:\n  ethernets:\n    all:\n      match:\n        name: en*\n",
          "all" },
        { NETCONF_NETPLAN, "/etc/netplan/a.yaml", "network:\n  version: 2\n", NULL },
        { NETCONF_NETPLAN, "/etc/netplan/a.yaml", "network: [\n", NULL },
        { NETCONF_NETWORKD, "/etc/systemd/network/10-eth0.network", "[Match]\nName=eth0\n[Network]\nDHCP=yes\n",
          "eth0" },
        { NETCONF_NETWORKD, "/etc/systemd/network/99-all.network", "[Match]\nName=en*\n[Network]\nDHCP=yes\n", "" },
        { NETCONF_NETWORKD, "/etc/systemd/network/lo.network", "[Match]\nName=lo\n", NULL },
        { NETCONF_NETWORKD, "/etc/systemd/network/port.network", "[Match]\nName=eth1\n[Network]\nBridge=br0\n", NULL },
        { NETCONF_INTERFACES, "/etc/network/interfaces", "auto lo\niface lo inet loopback\nauto eth0\niface eth0 inet dhcp\n",
          "eth0" },
        { NETCONF_INTERFACES, "/etc/network/interfaces", "auto lo\niface lo inet loopback\n"
          "source /etc/network/interfaces.d/*\n", NULL },
        { NETCONF_INTERFACES, "/etc/network/interfaces.d/eth1", "iface eth1 inet manual\n", NULL },
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = netconf_interface(cases[i].f, cases[i].path, cases[i].text);
        if (!cases[i].want != !got || (got && strcmp(got, cases[i].want) != 0))
            fail_msg("case %zu (%s): got '%s', want '%s'", i, cases[i].path, got ? got : "(none)",
                     cases[i].want ? cases[i].want : "(none)");
        free(got);
    }
}

static void test_format_of(void **state)
{
    static const struct {
        const char *path;
        enum netconf_format f;
    } cases[] = {
        { "/etc/sysconfig/network-scripts/ifcfg-eth0", NETCONF_IFCFG },
        { "/etc/sysconfig/network-scripts/ifcfg-", NETCONF_NONE },
        { "/etc/sysconfig/network-scripts/readme-ifcfg-rh.txt", NETCONF_NONE },
        { "/etc/NetworkManager/system-connections/eth0.nmconnection", NETCONF_KEYFILE },
        { "/etc/NetworkManager/NetworkManager.conf", NETCONF_NONE },
        { "/etc/netplan/50-cloud-init.yaml", NETCONF_NETPLAN },
        { "/etc/netplan/50-cloud-init.yaml.bak", NETCONF_NONE },
        { "/etc/systemd/network/10-eth0.network", NETCONF_NETWORKD },
        { "/etc/systemd/network/10-eth0.link", NETCONF_NONE },
        { "/etc/network/interfaces", NETCONF_INTERFACES },
        { "/etc/network/interfaces.d/eth0", NETCONF_INTERFACES },
        { "/etc/udev/rules.d/70-persistent-net.rules", NETCONF_NONE },
        { "/etc/hosts", NETCONF_NONE },
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (netconf_format_of(cases[i].path) != cases[i].f)
            fail_msg("%s: format %d, want %d", cases[i].path, netconf_format_of(cases[i].path), cases[i].f);
    assert_string_equal(netconf_format_name(NETCONF_KEYFILE), "NetworkManager keyfile");
}

static void test_netplan_legacy(void **state)
{
    (void)state;
    assert_int_equal(netconf_netplan_legacy("ubuntu", "18.04"), 1);
    assert_int_equal(netconf_netplan_legacy("ubuntu", "20.04"), 1);
    assert_int_equal(netconf_netplan_legacy("ubuntu", "21.10"), 0);
    assert_int_equal(netconf_netplan_legacy("ubuntu", "22.04"), 0);
    assert_int_equal(netconf_netplan_legacy("debian", "11"), 1);
    assert_int_equal(netconf_netplan_legacy("debian", "12"), 0);
    assert_int_equal(netconf_netplan_legacy("rocky", "9.3"), 0);
    assert_int_equal(netconf_netplan_legacy(NULL, NULL), 0);
    assert_int_equal(netconf_netplan_legacy("ubuntu", "x"), 0);
}

/* ---- addresses ---- */

static void test_parse_cidr(void **state)
{
    static const struct {
        const char *s;
        const char *err; /* NULL: valid */
    } cases[] = {
        { "192.168.10.5/24", NULL },
        { "10.0.0.1/32", NULL },
        { "10.0.0.1/1", NULL },
        { "10.0.0.1", "invalid address '10.0.0.1': give ADDRESS/PREFIX, e.g. 192.168.10.5/24" },
        { "10.0.0.1/0", "invalid address '10.0.0.1/0': the prefix length is 1 to 32, e.g. /24" },
        { "10.0.0.1/33", "invalid address '10.0.0.1/33': the prefix length is 1 to 32, e.g. /24" },
        { "10.0.0.1/024", "invalid address '10.0.0.1/024': the prefix length is 1 to 32, e.g. /24" },
        { "10.0.0.1/", "invalid address '10.0.0.1/': the prefix length is 1 to 32, e.g. /24" },
        { "10.0.0.1/2x", "invalid address '10.0.0.1/2x': the prefix length is 1 to 32, e.g. /24" },
        { "10.0.0.1/-8", "invalid address '10.0.0.1/-8': the prefix length is 1 to 32, e.g. /24" },
        { "10.0.0/24", "invalid address '10.0.0/24': '10.0.0' is not a dotted quad like 192.168.10.5" },
        { "10.0.0.256/24", "invalid address '10.0.0.256/24': '10.0.0.256' is not a dotted quad like 192.168.10.5" },
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t a = 0;
        int p = 0;
        error_clear();
        int r = netconf_parse_cidr(cases[i].s, NULL, &a, &p);
        if (!cases[i].err) {
            assert_int_equal(r, 0);
            continue;
        }
        assert_int_equal(r, -1);
        assert_string_equal(error_message(), cases[i].err);
    }
    uint32_t a;
    int p;
    assert_int_equal(netconf_parse_cidr("192.168.10.5/24", NULL, &a, &p), 0);
    assert_int_equal(a, 0xc0a80a05u);
    assert_int_equal(p, 24);
    /* the caller names what it parses */
    error_clear();
    assert_int_equal(netconf_parse_cidr("10.0.0.1/40", "--ip", &a, &p), -1);
    assert_string_equal(error_message(), "invalid --ip '10.0.0.1/40': the prefix length is 1 to 32, e.g. /24");
    error_clear();
}

static void test_check(void **state)
{
    static const struct {
        const char *cidr, *gw, *dns;
        const char *err; /* NULL: valid */
    } cases[] = {
        { "192.168.10.5/24", "192.168.10.1", "192.168.10.2,8.8.8.8", NULL },
        { "192.168.10.5/32", NULL, NULL, NULL },
        { "10.0.0.0/31", NULL, NULL, NULL },
        { "192.168.10.0/24", NULL, NULL, "address 192.168.10.0/24 is the network address of its subnet: give a host address" },
        { "192.168.10.255/24", NULL, NULL, "address 192.168.10.255/24 is the broadcast address of its subnet: give a host address" },
        { "127.0.0.5/8", NULL, NULL, "address 127.0.0.5/8 is not a host address: give a unicast address" },
        { "224.0.0.5/24", NULL, NULL, "address 224.0.0.5/24 is not a host address: give a unicast address" },
        { "0.1.2.3/24", NULL, NULL, "address 0.1.2.3/24 is not a host address: give a unicast address" },
        { "192.168.10.5/24", "192.168.11.1", NULL, "gateway 192.168.11.1 is not in 192.168.10.5/24: give a gateway on the clone's subnet" },
        { "192.168.10.5/24", "192.168.10.5", NULL, "gateway 192.168.10.5 is the clone's own address: give the router's address" },
        { "192.168.10.5/24", NULL, "8.8.8.8,255.255.255.255", "DNS server 255.255.255.255 is not a unicast address" },
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct static_ipv4 ip = ip4(cases[i].cidr, cases[i].gw, cases[i].dns);
        error_clear();
        int r = netconf_check(&ip);
        if (!cases[i].err) {
            if (r != 0)
                fail_msg("%s: %s", cases[i].cidr, error_message());
            continue;
        }
        assert_int_equal(r, -1);
        assert_string_equal(error_message(), cases[i].err);
    }
    error_clear();
}

/* ---- edit.c: KEY=value files ---- */

static void test_kv_get(void **state)
{
    const char *ini = "[connection]\nid=eth0\ntype = ethernet\n\n[ipv4]\nmethod=auto\n# method=manual\n"
                      "[ipv6]\nmethod=ignore\n";
    char *s;

    (void)state;
    s = edit_kv_get(ini, "connection", "type");
    assert_string_equal(s, "ethernet");
    free(s);
    s = edit_kv_get(ini, "ipv4", "method");
    assert_string_equal(s, "auto");
    free(s);
    s = edit_kv_get(ini, "ipv6", "method");
    assert_string_equal(s, "ignore");
    free(s);
    assert_null(edit_kv_get(ini, "ipv4", "id"));
    assert_null(edit_kv_get(ini, "proxy", "method"));
    /* no sections: the whole file; quotes go; the last line counts */
    s = edit_kv_get("DEVICE=\"eth0\"\nONBOOT=no\nONBOOT='yes'\n", NULL, "ONBOOT");
    assert_string_equal(s, "yes");
    free(s);
    s = edit_kv_get("DEVICE=\"eth0\"\n", NULL, "DEVICE");
    assert_string_equal(s, "eth0");
    free(s);
    assert_null(edit_kv_get("XDEVICE=eth0\nDEVICEX=eth1\n", NULL, "DEVICE"));
}

static void test_kv_replace(void **state)
{
    static const char *const drop[] = { "method", "address#", "dns", NULL };
    static const struct {
        const char *text, *section, *set, *want; /* want NULL: unchanged */
    } cases[] = {
        /* in place of the first dropped key; others in the section stay */
        { "[a]\nx=1\n[ipv4]\nfoo=1\nmethod=auto\naddress1=1.2.3.4/8\nbar=2\n\n[ipv6]\nmethod=auto\n", "ipv4",
          "method=manual\n", "[a]\nx=1\n[ipv4]\nfoo=1\nmethod=manual\nbar=2\n\n[ipv6]\nmethod=auto\n" },
        /* none to drop: at the end of the section, before its blank lines */
        { "[ipv4]\nfoo=1\n\n# c\n[ipv6]\n", "ipv4", "method=manual\n", "[ipv4]\nfoo=1\nmethod=manual\n\n# c\n[ipv6]\n" },
        /* no such section: appended */
        { "[a]\nx=1\n", "ipv4", "method=manual\n", "[a]\nx=1\n\n[ipv4]\nmethod=manual\n" },
        { "", "ipv4", "method=manual\n", "[ipv4]\nmethod=manual\n" },
        /* no newline at the end */
        { "[ipv4]\nfoo=1", "ipv4", "method=manual\n", "[ipv4]\nfoo=1\nmethod=manual\n" },
        /* address# is address then digits: addresses stays */
        { "address=1\naddress12=2\naddresses=3\naddressX=4\n", NULL, "", "addresses=3\naddressX=4\n" },
        /* plain files: the whole file is the section */
        { "A=1\nmethod=x\nB=2\n", NULL, "method=y\ndns=z\n", "A=1\nmethod=y\ndns=z\nB=2\n" },
        /* the same text again: no change */
        { "[ipv4]\nmethod=manual\n", "ipv4", "method=manual\n", NULL },
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = edit_kv_replace(cases[i].text, cases[i].section, drop, cases[i].set);
        if (!cases[i].want != !got || (got && strcmp(got, cases[i].want) != 0))
            fail_msg("case %zu: got\n%s\nwant\n%s", i, got ? got : "(unchanged)",
                     cases[i].want ? cases[i].want : "(unchanged)");
        free(got);
    }
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),      cmocka_unit_test(test_netplan_refused),
        cmocka_unit_test(test_interface),   cmocka_unit_test(test_format_of),
        cmocka_unit_test(test_netplan_legacy), cmocka_unit_test(test_parse_cidr),
        cmocka_unit_test(test_check),       cmocka_unit_test(test_kv_get),
        cmocka_unit_test(test_kv_replace),
    };

    data_dir = argc > 1 ? argv[1] : "tests/data";
    return cmocka_run_group_tests(tests, NULL, NULL);
}
