/* Unit tests: pure/netxml.c (parse libvirt network XML, build the host
 * elements virNetworkUpdate takes), then the elements and adapters/virtnet.c
 * against libvirt's test driver (test:///default: no daemon, a fresh
 * `default` network per connection, the same XML parser and update rules
 * as a real libvirtd's network driver). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <libvirt/libvirt.h>

#include "adapters/virt.h"
#include "adapters/virtnet.h"
#include "base/error.h"
#include "pure/fleetplan.h"
#include "pure/netxml.h"

static uint32_t ip(const char *s)
{
    uint32_t v = 0;
    assert_int_equal(ipv4_parse(s, &v), 0);
    return v;
}

static const char *const full_xml =
    "<network>\n"
    "  <name>lab</name>\n"
    "  <uuid>f317fcc8-6404-4d37-ab99-db5200880185</uuid>\n"
    "  <forward mode='route' dev='eth0'/>\n"
    "  <bridge name='virbr7' stp='on' delay='0'/>\n"
    "  <mac address='52:54:00:fc:3d:1c'/>\n"
    "  <domain name='lab.example.com' localOnly='yes'/>\n"
    "  <dns>\n"
    "    <host ip='10.7.0.10'><hostname>web-1</hostname><hostname>www</hostname></host>\n"
    "    <host ip='fd00::10'><hostname>v6</hostname></host>\n"
    "    <host ip='10.7.0.11'><hostname>a&amp;b</hostname></host>\n"
    "  </dns>\n"
    "  <ip family='ipv6' address='fd00::1' prefix='64'>\n"
    "    <dhcp><range start='fd00::100' end='fd00::1ff'/><host id='0:1' name='six' ip='fd00::20'/></dhcp>\n"
    "  </ip>\n"
    "  <ip address='10.7.0.1' netmask='255.255.240.0'>\n"
    "    <dhcp>\n"
    "      <range start='10.7.0.100' end='10.7.0.200'/>\n"
    "      <range start='10.7.1.100' end='10.7.1.200'/>\n"
    "      <host mac='52:54:0A:07:00:0A' name='web-1' ip='10.7.0.10'/>\n"
    "      <host mac='52:54:0a:07:00:0b' ip='10.7.0.11'/>\n"
    "      <host name='byname' ip='10.7.0.12'/>\n"
    "    </dhcp>\n"
    "  </ip>\n"
    "  <ip address='10.8.0.1' prefix='24'>\n"
    "    <dhcp><host mac='52:54:0a:08:00:05' name='other' ip='10.8.0.5'/></dhcp>\n"
    "  </ip>\n"
    "</network>\n";

static void test_parse_full(void **state)
{
    struct netxml n;
    (void)state;

    assert_int_equal(netxml_parse(full_xml, &n), 0);
    assert_string_equal(n.name, "lab");
    assert_string_equal(n.bridge, "virbr7");
    assert_string_equal(n.domain, "lab.example.com");
    assert_string_equal(n.forward, "route");
    /* The first IPv4 <ip>, its netmask as a prefix, its first range. */
    assert_true(n.address == ip("10.7.0.1"));
    assert_int_equal(n.prefix, 20);
    assert_true(n.dhcp_start == ip("10.7.0.100"));
    assert_true(n.dhcp_end == ip("10.7.0.200"));
    assert_int_equal(n.active, 0);
    /* DHCP hosts of every IPv4 <ip>, none of the IPv6 one. */
    assert_int_equal(n.nhosts, 4);
    assert_string_equal(n.hosts[0].mac, "52:54:0a:07:00:0a"); /* lower case */
    assert_true(n.hosts[0].ip == ip("10.7.0.10"));
    assert_string_equal(n.hosts[0].name, "web-1");
    assert_null(n.hosts[1].name);
    assert_string_equal(n.hosts[2].mac, "");
    assert_string_equal(n.hosts[2].name, "byname");
    assert_string_equal(n.hosts[3].name, "other");
    /* DNS hosts: the IPv6 one skipped, names unescaped. */
    assert_int_equal(n.ndns, 2);
    assert_true(n.dns[0].ip == ip("10.7.0.10"));
    assert_string_equal(n.dns[0].names[0], "web-1");
    assert_string_equal(n.dns[0].names[1], "www");
    assert_null(n.dns[0].names[2]);
    assert_string_equal(n.dns[1].names[0], "a&b");

    assert_int_equal(netxml_find_dhcp_host(&n, "52:54:0a:07:00:0A", ip("10.7.0.10"), "web-1"), 0);
    assert_int_equal(netxml_find_dhcp_host(&n, "52:54:0a:07:00:0a", ip("10.7.0.10"), NULL), -1);
    assert_int_equal(netxml_find_dhcp_host(&n, "52:54:0a:07:00:0b", ip("10.7.0.11"), NULL), 1);
    assert_int_equal(netxml_find_dhcp_host(&n, "52:54:0a:07:00:0a", ip("10.7.0.11"), "web-1"), -1);
    assert_int_equal(netxml_find_dns_ip(&n, ip("10.7.0.11")), 1);
    assert_int_equal(netxml_find_dns_ip(&n, ip("10.7.0.12")), -1);
    assert_int_equal(netxml_find_dns_name(&n, "www"), 0);
    assert_int_equal(netxml_find_dns_name(&n, "v6"), -1);
    netxml_release(&n);
    assert_null(n.hosts);
    netxml_release(&n); /* twice is harmless */
}

static void test_parse_variants(void **state)
{
    struct netxml n;
    (void)state;

    /* libvirt's own default network. */
    assert_int_equal(netxml_parse("<network><name>default</name><forward mode='nat'/>"
                                  "<bridge name='virbr0'/><ip address='192.168.122.1' netmask='255.255.255.0'>"
                                  "<dhcp><range start='192.168.122.2' end='192.168.122.254'/></dhcp></ip></network>",
                                  &n),
                     0);
    assert_string_equal(n.forward, "nat");
    assert_int_equal(n.prefix, 24);
    assert_true(n.dhcp_start == ip("192.168.122.2"));
    assert_int_equal(n.nhosts, 0);
    assert_int_equal(n.ndns, 0);
    assert_null(n.domain);
    netxml_release(&n);

    /* Isolated (no <forward>), prefix=, no DHCP. */
    assert_int_equal(netxml_parse("<network><name>iso</name><ip address='10.1.2.1' prefix='16'/></network>", &n), 0);
    assert_null(n.forward);
    assert_null(n.bridge);
    assert_int_equal(n.prefix, 16);
    assert_true(n.dhcp_start == 0 && n.dhcp_end == 0);
    netxml_release(&n);

    /* <forward/> alone is NAT; neither prefix nor netmask: the class; an
     * attribute that is not an address reads as absent. */
    assert_int_equal(netxml_parse("<network><name>x</name><forward/><ip address='172.16.0.1'><dhcp>"
                                  "<range start='172.16.0.10' end='nope'/>"
                                  "<host mac='bad' ip='172.16.0.300' name='h'/></dhcp></ip></network>",
                                  &n),
                     0);
    assert_null(error_message());
    assert_string_equal(n.forward, "nat");
    assert_int_equal(n.prefix, 16);
    assert_true(n.dhcp_start == 0 && n.dhcp_end == 0);
    assert_int_equal(n.nhosts, 1);
    assert_string_equal(n.hosts[0].mac, "");
    assert_int_equal(n.hosts[0].ip, 0);
    netxml_release(&n);

    /* No IPv4 at all. */
    assert_int_equal(netxml_parse("<network><name>v6</name><ip family='ipv6' address='fd00::1' prefix='64'/>"
                                  "</network>",
                                  &n),
                     0);
    assert_int_equal(n.address, 0);
    assert_int_equal(n.prefix, 0);
    netxml_release(&n);
}

static void test_parse_errors(void **state)
{
    struct netxml n;
    (void)state;

    assert_int_equal(netxml_parse("<network><name>x</name>", &n), -1);
    assert_non_null(strstr(error_message(), "network XML"));
    error_clear();
    netxml_release(&n);
    assert_int_equal(netxml_parse("<domain><name>x</name></domain>", &n), -1);
    assert_non_null(strstr(error_message(), "<network>"));
    error_clear();
    netxml_release(&n);
    assert_int_equal(netxml_parse("", &n), -1);
    error_clear();
    netxml_release(&n);
}

static void test_build(void **state)
{
    char *s;
    (void)state;

    s = netxml_dhcp_host("52:54:0a:07:00:0a", ip("10.7.0.10"), "web-1");
    assert_string_equal(s, "<host mac=\"52:54:0a:07:00:0a\" name=\"web-1\" ip=\"10.7.0.10\"/>");
    free(s);
    /* Escaped, never pasted. */
    s = netxml_dhcp_host("52:54:0a:07:00:0a", ip("10.7.0.10"), "a'b\"<c>&");
    assert_string_equal(s, "<host mac=\"52:54:0a:07:00:0a\" name=\"a'b&quot;&lt;c&gt;&amp;\" ip=\"10.7.0.10\"/>");
    free(s);
    /* What a DELETE matches on: only the attributes given. */
    s = netxml_dhcp_host("52:54:0a:07:00:0a", ip("10.7.0.10"), NULL);
    assert_string_equal(s, "<host mac=\"52:54:0a:07:00:0a\" ip=\"10.7.0.10\"/>");
    free(s);
    s = netxml_dhcp_host("", 0, "n");
    assert_string_equal(s, "<host name=\"n\"/>");
    free(s);

    s = netxml_dns_host(ip("10.7.0.10"), "web-1.lab");
    assert_string_equal(s, "<host ip=\"10.7.0.10\"><hostname>web-1.lab</hostname></host>");
    free(s);
    s = netxml_dns_host(ip("10.7.0.10"), "a<&>b");
    assert_string_equal(s, "<host ip=\"10.7.0.10\"><hostname>a&lt;&amp;&gt;b</hostname></host>");
    free(s);
    s = netxml_dns_host(ip("10.7.0.10"), NULL);
    assert_string_equal(s, "<host ip=\"10.7.0.10\"/>");
    free(s);
    char *names[] = { (char *)"a", (char *)"b", NULL };
    s = netxml_dns_host_names(ip("10.7.0.10"), names);
    assert_string_equal(s, "<host ip=\"10.7.0.10\"><hostname>a</hostname><hostname>b</hostname></host>");
    free(s);
}

/* What is built reads back as it was meant, odd characters included. */
static void test_roundtrip(void **state)
{
    char *dhcp = netxml_dhcp_host("52:54:0a:07:00:0a", ip("10.7.0.10"), "x&<y>'\"");
    char *dns = netxml_dns_host(ip("10.7.0.10"), "q&<r>");
    char *xml;
    struct netxml n;
    (void)state;

    assert_true(asprintf(&xml, "<network><name>rt</name><dns>%s</dns><ip address='10.7.0.1' prefix='24'><dhcp>%s"
                               "</dhcp></ip></network>",
                         dns, dhcp) > 0);
    assert_int_equal(netxml_parse(xml, &n), 0);
    assert_int_equal(n.nhosts, 1);
    assert_string_equal(n.hosts[0].name, "x&<y>'\"");
    assert_int_equal(netxml_find_dhcp_host(&n, "52:54:0a:07:00:0a", ip("10.7.0.10"), "x&<y>'\""), 0);
    assert_string_equal(n.dns[0].names[0], "q&<r>");
    netxml_release(&n);
    free(xml);
    free(dhcp);
    free(dns);
}

/* ---- against libvirt's test driver ------------------------------------------ */

static virConnectPtr test_conn(void)
{
    virt_init();
    virConnectPtr c = virConnectOpen("test:///default");
    assert_non_null(c);
    return c;
}

/* The built elements are what libvirt's update parser takes. */
static void test_libvirt_takes_them(void **state)
{
    virConnectPtr c = test_conn();
    virNetworkPtr net = virNetworkLookupByName(c, "default");
    unsigned both = VIR_NETWORK_UPDATE_AFFECT_LIVE | VIR_NETWORK_UPDATE_AFFECT_CONFIG;
    /* (A DHCP host name with '&' is escaped here, but libvirt formats it back
     * unescaped: its next update fails to parse. virtnet takes host names only.) */
    char *dhcp = netxml_dhcp_host("52:54:c0:a8:7a:0a", ip("192.168.122.10"), "odd-name");
    char *dns = netxml_dns_host(ip("192.168.122.10"), "odd&name.example.com");
    char *del = netxml_dhcp_host("52:54:c0:a8:7a:0a", ip("192.168.122.10"), NULL);
    struct netxml n;
    (void)state;

    assert_non_null(net);
    assert_int_equal(virNetworkUpdate(net, VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, VIR_NETWORK_SECTION_IP_DHCP_HOST,
                                      -1, dhcp, both),
                     0);
    assert_int_equal(virNetworkUpdate(net, VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, VIR_NETWORK_SECTION_DNS_HOST, -1,
                                      dns, both),
                     0);
    char *xml = virNetworkGetXMLDesc(net, 0);
    assert_int_equal(netxml_parse(xml, &n), 0);
    assert_int_equal(netxml_find_dhcp_host(&n, "52:54:c0:a8:7a:0a", ip("192.168.122.10"), "odd-name"), 0);
    assert_int_equal(netxml_find_dns_name(&n, "odd&name.example.com"), 0);
    netxml_release(&n);
    free(xml);
    /* A DELETE by MAC and address alone finds it (its name not given). */
    assert_int_equal(virNetworkUpdate(net, VIR_NETWORK_UPDATE_COMMAND_DELETE, VIR_NETWORK_SECTION_IP_DHCP_HOST, -1,
                                      del, both),
                     0);
    xml = virNetworkGetXMLDesc(net, 0);
    assert_int_equal(netxml_parse(xml, &n), 0);
    assert_int_equal(n.nhosts, 0);
    netxml_release(&n);
    free(xml);
    free(dhcp);
    free(dns);
    free(del);
    virNetworkFree(net);
    virConnectClose(c);
}

/* The DHCP hosts and DNS hosts of NET, as one line (the test driver keeps
 * one definition: it has no inactive XML). */
static char *entries(virConnectPtr c, const char *net)
{
    static char buf[1][1024];
    struct netxml n;

    for (int i = 0; i < 1; i++) {
        virNetworkPtr p = virNetworkLookupByName(c, net);
        char *xml = virNetworkGetXMLDesc(p, 0);
        char a[16];
        buf[i][0] = '\0';
        assert_int_equal(netxml_parse(xml, &n), 0);
        for (size_t k = 0; k < n.nhosts; k++)
            snprintf(buf[i] + strlen(buf[i]), sizeof buf[i] - strlen(buf[i]), "dhcp %s %s %s; ", n.hosts[k].mac,
                     ipv4_format(n.hosts[k].ip, a), n.hosts[k].name ? n.hosts[k].name : "-");
        for (size_t k = 0; k < n.ndns; k++) {
            snprintf(buf[i] + strlen(buf[i]), sizeof buf[i] - strlen(buf[i]), "dns %s", ipv4_format(n.dns[k].ip, a));
            for (size_t j = 0; n.dns[k].names[j]; j++)
                snprintf(buf[i] + strlen(buf[i]), sizeof buf[i] - strlen(buf[i]), " %s", n.dns[k].names[j]);
            strncat(buf[i], "; ", sizeof buf[i] - strlen(buf[i]) - 1);
        }
        netxml_release(&n);
        free(xml);
        virNetworkFree(p);
    }
    return buf[0];
}

static void test_virtnet(void **state)
{
    virConnectPtr c = test_conn();
    uint32_t a10 = ip("192.168.122.10");
    struct netxml n;
    (void)state;

    assert_int_equal(virtnet_is_active(c, "default"), 1);
    assert_int_equal(virtnet_read(c, "default", &n), 0);
    assert_int_equal(n.active, 1);
    assert_true(n.address == ip("192.168.122.1"));
    netxml_release(&n);
    assert_int_equal(virtnet_read(c, "nonesuch", &n), -1);
    assert_non_null(strstr(error_message(), "network 'nonesuch' not found on test:///default: "));
    error_clear();
    netxml_release(&n);

    /* Reserve (a MAC in upper case is the same MAC), then again: nothing new. */
    assert_int_equal(virtnet_reserve(c, "default", "52:54:C0:A8:7A:0A", a10, "web-1", "web-1.lab"), 0);
    assert_string_equal(entries(c, "default"), "dhcp 52:54:c0:a8:7a:0a 192.168.122.10 web-1; "
                                               "dns 192.168.122.10 web-1.lab; ");
    int added = -1;
    assert_int_equal(virtnet_reserve_added(c, "default", "52:54:c0:a8:7a:0a", a10, "web-1", "web-1.lab", &added), 0);
    assert_int_equal(added, 0);
    assert_string_equal(entries(c, "default"), "dhcp 52:54:c0:a8:7a:0a 192.168.122.10 web-1; "
                                               "dns 192.168.122.10 web-1.lab; ");

    /* The race guard: the same MAC, address or name with other values. */
    assert_int_equal(virtnet_reserve(c, "default", "52:54:c0:a8:7a:0b", a10, "web-2", "web-2.lab"), -1);
    assert_non_null(strstr(error_message(), "network 'default' on test:///default already has DHCP host "
                                            "<host mac=\"52:54:c0:a8:7a:0a\" name=\"web-1\" ip=\"192.168.122.10\"/>"));
    error_clear();
    assert_int_equal(virtnet_reserve(c, "default", "52:54:c0:a8:7a:0a", ip("192.168.122.11"), "web-1", NULL), -1);
    error_clear();
    assert_int_equal(virtnet_reserve(c, "default", "52:54:c0:a8:7a:0c", ip("192.168.122.12"), "web-1", NULL), -1);
    error_clear();
    /* A host name that resolves elsewhere. */
    assert_int_equal(virtnet_reserve(c, "default", "52:54:c0:a8:7a:0d", ip("192.168.122.13"), "web-3", "web-1.lab"),
                     -1);
    assert_non_null(strstr(error_message(), "host name 'web-1.lab' already resolves to 192.168.122.10"));
    error_clear();
    /* Nothing of the refused ones got in. */
    assert_string_equal(entries(c, "default"), "dhcp 52:54:c0:a8:7a:0a 192.168.122.10 web-1; "
                                               "dns 192.168.122.10 web-1.lab; ");

    /* A second name for the address joins its <host> (libvirt keeps one per
     * address); taking one out keeps the other. */
    assert_int_equal(virtnet_reserve_added(c, "default", "52:54:c0:a8:7a:0a", a10, "web-1", "www.lab", &added), 0);
    assert_int_equal(added, 1);
    assert_string_equal(entries(c, "default"), "dhcp 52:54:c0:a8:7a:0a 192.168.122.10 web-1; "
                                               "dns 192.168.122.10 web-1.lab www.lab; ");
    assert_int_equal(virtnet_unreserve(c, "default", "52:54:c0:a8:7a:0a", a10, "web-1", "web-1.lab"), 1);
    assert_string_equal(entries(c, "default"), "dns 192.168.122.10 www.lab; ");
    assert_int_equal(virtnet_unreserve(c, "default", "52:54:c0:a8:7a:0a", a10, "web-1", "web-1.lab"), 0);
    assert_int_equal(virtnet_unreserve(c, "default", "52:54:c0:a8:7a:0a", a10, "web-1", "www.lab"), 1);
    assert_string_equal(entries(c, "default"), "");
    assert_int_equal(virtnet_unreserve(c, "default", "52:54:c0:a8:7a:0a", a10, "web-1", "www.lab"), 0);

    /* No DNS name; the DHCP entry goes by MAC and address whatever its name. */
    assert_int_equal(virtnet_reserve(c, "default", "52:54:c0:a8:7a:0a", a10, "web-1", NULL), 0);
    assert_string_equal(entries(c, "default"), "dhcp 52:54:c0:a8:7a:0a 192.168.122.10 web-1; ");
    assert_int_equal(virtnet_unreserve(c, "default", "52:54:c0:a8:7a:0a", a10, "renamed", "web-1.lab"), 1);
    assert_string_equal(entries(c, "default"), "");

    /* A stopped network: its persistent definition alone (one defined and
     * never started: the test driver does not swap definitions on destroy). */
    virNetworkPtr net = virNetworkDefineXML(c, "<network><name>stopped</name><forward mode='nat'/>"
                                               "<ip address='10.9.0.1' prefix='24'><dhcp>"
                                               "<range start='10.9.0.100' end='10.9.0.200'/></dhcp></ip></network>");
    uint32_t b10 = ip("10.9.0.10");
    assert_non_null(net);
    assert_int_equal(virtnet_is_active(c, "stopped"), 0);
    assert_int_equal(virtnet_reserve(c, "stopped", "52:54:0a:09:00:0a", b10, "web-1", "web-1.lab"), 0);
    assert_int_equal(virtnet_reserve(c, "stopped", "52:54:0a:09:00:0a", b10, "web-1", "web-1.lab"), 0);
    assert_string_equal(entries(c, "stopped"), "dhcp 52:54:0a:09:00:0a 10.9.0.10 web-1; dns 10.9.0.10 web-1.lab; ");
    assert_int_equal(virtnet_read(c, "stopped", &n), 0);
    assert_int_equal(n.active, 0);
    assert_int_equal(n.nhosts, 1);
    netxml_release(&n);
    assert_int_equal(virtnet_unreserve(c, "stopped", "52:54:0a:09:00:0a", b10, "web-1", "web-1.lab"), 1);
    assert_string_equal(entries(c, "stopped"), "");
    virNetworkFree(net);

    /* A network that is gone holds nothing of ours. */
    assert_int_equal(virtnet_unreserve(c, "nonesuch", "52:54:c0:a8:7a:0a", a10, "web-1", "web-1.lab"), 0);
    assert_null(error_message());
    /* Bad arguments. */
    assert_int_equal(virtnet_reserve(c, "default", "01:00:5e:00:00:01", a10, "m", NULL), -1);
    assert_non_null(strstr(error_message(), "invalid MAC"));
    error_clear();
    assert_int_equal(virtnet_reserve(c, "default", "52:54:c0:a8:7a:0a", a10, "a&b", NULL), -1);
    assert_non_null(strstr(error_message(), "for 'a&b': the name has character '&'"));
    error_clear();
    assert_int_equal(virtnet_reserve(c, "default", "52:54:c0:a8:7a:0a", a10, "ab", "x,y"), -1);
    assert_non_null(strstr(error_message(), "host name 'x,y': it has character ','"));
    error_clear();
    assert_string_equal(entries(c, "default"), "");
    virConnectClose(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_full),   cmocka_unit_test(test_parse_variants),
        cmocka_unit_test(test_parse_errors), cmocka_unit_test(test_build),
        cmocka_unit_test(test_roundtrip),    cmocka_unit_test(test_libvirt_takes_them),
        cmocka_unit_test(test_virtnet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
