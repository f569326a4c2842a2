/* Unit tests: edit.c, on real file layouts of each distro family. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pure/edit.h"

#define OLD "52:54:00:12:34:56"
#define NEW "52:54:00:aa:bb:cc"

static void check_mac_file(const char *text, const char *expect)
{
    char found[18];
    char *out;

    assert_int_equal(edit_find_pinned_mac(text, found), 0);
    assert_string_equal(found, OLD);
    out = edit_replace_mac(text, OLD, NEW);
    assert_non_null(out);
    assert_string_equal(out, expect);
    free(out);
}

static void test_mac_ifcfg(void **state)
{
    (void)state;
    check_mac_file("DEVICE=eth0\nHWADDR=52:54:00:12:34:56\nONBOOT=yes\n",
                   "DEVICE=eth0\nHWADDR=52:54:00:aa:bb:cc\nONBOOT=yes\n");
    /* upper case stays upper case */
    check_mac_file("HWADDR=\"52:54:00:12:34:56\"\n", "HWADDR=\"52:54:00:aa:bb:cc\"\n");
    char *lo = edit_replace_mac("HWADDR=52:54:00:12:34:56\n", OLD, NEW);
    assert_string_equal(lo, "HWADDR=52:54:00:aa:bb:cc\n");
    free(lo);
    char *up = edit_replace_mac("HWADDR=52:54:00:12:34:56 X=52:54:00:AB:34:56\n", "52:54:00:ab:34:56", NEW);
    assert_string_equal(up, "HWADDR=52:54:00:12:34:56 X=52:54:00:AA:BB:CC\n");
    free(up);
}

static void test_mac_nm_netplan_networkd_udev(void **state)
{
    (void)state;
    check_mac_file("[connection]\nid=eth0\n[ethernet]\nmac-address=52:54:00:12:34:56\n",
                   "[connection]\nid=eth0\n[ethernet]\nmac-address=52:54:00:aa:bb:cc\n");
    check_mac_file("network:\n  ethernets:\n    eth0:\n      match:\n        macaddress: '52:54:00:12:34:56'\n",
                   "network:\n  ethernets:\n    eth0:\n      match:\n        macaddress: '52:54:00:aa:bb:cc'\n");
    check_mac_file("[Match]\nMACAddress=52:54:00:12:34:56\n[Link]\nName=eth0\n",
                   "[Match]\nMACAddress=52:54:00:aa:bb:cc\n[Link]\nName=eth0\n");
    check_mac_file("SUBSYSTEM==\"net\", ATTR{address}==\"52:54:00:12:34:56\", NAME=\"eth0\"\n",
                   "SUBSYSTEM==\"net\", ATTR{address}==\"52:54:00:aa:bb:cc\", NAME=\"eth0\"\n");
    check_mac_file("iface eth0 inet dhcp\n    hwaddress ether 52:54:00:12:34:56\n",
                   "iface eth0 inet dhcp\n    hwaddress ether 52:54:00:aa:bb:cc\n");
}

static void test_mac_not_pinned(void **state)
{
    char found[18];

    (void)state;
    assert_int_equal(edit_find_pinned_mac("# HWADDR=52:54:00:12:34:56\nBOOTPROTO=dhcp\n", found), -1);
    assert_int_equal(edit_find_pinned_mac("auto eth0\niface eth0 inet dhcp\n", found), -1);
    /* a longer hex string is not a MAC */
    assert_null(edit_replace_mac("X=52:54:00:12:34:567\n", OLD, NEW));
    assert_null(edit_replace_mac("nothing here\n", OLD, NEW));
}

static void test_shell_var(void **state)
{
    char *s;

    (void)state;
    s = edit_shell_var("NETWORKING=yes\nHOSTNAME=tpl-el7.example.com\n", "HOSTNAME", "web01");
    assert_string_equal(s, "NETWORKING=yes\nHOSTNAME=web01\n");
    free(s);
    s = edit_shell_var("DHCP_HOSTNAME=\"tpl\"\nXHOSTNAME=keep\n", "DHCP_HOSTNAME", "web01");
    assert_string_equal(s, "DHCP_HOSTNAME=\"web01\"\nXHOSTNAME=keep\n");
    free(s);
    assert_null(edit_shell_var("NETWORKING=yes\n", "HOSTNAME", "web01"));
}

static void test_hosts(void **state)
{
    char *s;

    (void)state;
    s = edit_hosts("127.0.0.1\tlocalhost\n127.0.1.1\ttpl-debian12.example.com tpl-debian12\n",
                   "tpl-debian12.example.com", "web01.lab", 1);
    assert_string_equal(s, "127.0.0.1\tlocalhost\n127.0.1.1\tweb01.lab web01\n");
    free(s);
    /* only whole words */
    s = edit_hosts("127.0.1.1 tpl tpl-other\n", "tpl", "web01", 0);
    assert_string_equal(s, "127.0.1.1 web01 tpl-other\n");
    free(s);
    /* not present: Debian family appends a 127.0.1.1 line */
    s = edit_hosts("127.0.0.1 localhost\n", "old", "web01", 1);
    assert_string_equal(s, "127.0.0.1 localhost\n127.0.1.1\tweb01\n");
    free(s);
    assert_null(edit_hosts("127.0.0.1 localhost\n", "old", "web01", 0));
    assert_null(edit_hosts("127.0.0.1 localhost\n", "localhost", "web01", 0));
}

static void test_shadow(void **state)
{
    char *s;

    (void)state;
    s = edit_shadow("root:$6$old$hash:19000:0:99999:7:::\nbin:*:19000:0:99999:7:::\n", "root", "$6$new$x");
    assert_string_equal(s, "root:$6$new$x:19000:0:99999:7:::\nbin:*:19000:0:99999:7:::\n");
    free(s);
    s = edit_shadow("rootx:a:1\nroot:!:1:2\n", "root", "H");
    assert_string_equal(s, "rootx:a:1\nroot:H:1:2\n");
    free(s);
}

static void test_os_release(void **state)
{
    char *s;

    (void)state;
    s = edit_os_release_get("NAME=\"Rocky Linux\"\nID=\"rocky\"\nVERSION_ID=\"9.3\"\n", "ID");
    assert_string_equal(s, "rocky");
    free(s);
    s = edit_os_release_get("ID=debian\n", "ID");
    assert_string_equal(s, "debian");
    free(s);
    assert_null(edit_os_release_get("ID_LIKE=x\n", "ID"));
}

static void test_guest_file(void **state)
{
    struct clone_edit e = { "tpl-el7.example.com", "web01", OLD, NEW, 0 };
    char *s;

    (void)state;
    s = edit_guest_file("/etc/hostname", "tpl-el7.example.com\n", &e);
    assert_string_equal(s, "web01\n");
    free(s);
    /* the same name again is no change */
    assert_null(edit_guest_file("/etc/hostname", "web01\n", &e));
    s = edit_guest_file("/etc/sysconfig/network", "NETWORKING=yes\nHOSTNAME=tpl-el7.example.com\n", &e);
    assert_string_equal(s, "NETWORKING=yes\nHOSTNAME=web01\n");
    free(s);
    s = edit_guest_file("/etc/sysconfig/network-scripts/ifcfg-eth0",
                        "DEVICE=eth0\nHWADDR=52:54:00:12:34:56\nDHCP_HOSTNAME=tpl-el7.example.com\n", &e);
    assert_string_equal(s, "DEVICE=eth0\nHWADDR=52:54:00:aa:bb:cc\nDHCP_HOSTNAME=web01\n");
    free(s);
    s = edit_guest_file("/etc/hosts", "127.0.0.1 localhost\n10.0.0.5 tpl-el7.example.com tpl-el7\n", &e);
    assert_string_equal(s, "127.0.0.1 localhost\n10.0.0.5 web01 web01\n");
    free(s);
    s = edit_guest_file("/etc/netplan/50-cloud-init.yaml", "macaddress: 52:54:00:12:34:56\n", &e);
    assert_string_equal(s, "macaddress: 52:54:00:aa:bb:cc\n");
    free(s);
    /* a MAC file when the template pins nothing: untouched */
    e.old_mac = "";
    assert_null(edit_guest_file("/etc/netplan/50-cloud-init.yaml", "macaddress: 52:54:00:12:34:56\n", &e));
}

static void test_drop_lines(void **state)
{
    static const char *const keys[] = { "HWADDR=", "DHCP_HOSTNAME=", NULL };
    char *s;

    (void)state;
    s = edit_drop_lines("DEVICE=eth0\nHWADDR=52:54:00:12:34:56\n  DHCP_HOSTNAME=x\nONBOOT=yes\n", keys);
    assert_string_equal(s, "DEVICE=eth0\nONBOOT=yes\n");
    free(s);
    assert_null(edit_drop_lines("DEVICE=eth0\n", keys));
}

static void test_netplan_unpin(void **state)
{
    char *s;

    (void)state;
    s = edit_netplan_unpin("network:\n  ethernets:\n    eth0:\n      match:\n        macaddress: 52:54:00:12:34:56\n"
                           "      set-name: eth0\n      dhcp4: true\n");
    assert_string_equal(s, "network:\n  ethernets:\n    eth0:\n      match:\n        name: \"eth0\"\n"
                           "      dhcp4: true\n");
    free(s);
    assert_null(edit_netplan_unpin("network:\n  ethernets:\n    eth0:\n      dhcp4: true\n"));
}

static void test_users(void **state)
{
    const char *passwd = "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534::/:/sbin/nologin\n"
                         "alice:x:1000:1000::/home/alice:/bin/bash\nbob:x:1001:1001::/home/bob:/bin/sh\n";
    char **users = edit_normal_users(passwd);
    char *s;

    (void)state;
    assert_string_equal(users[0], "alice");
    assert_string_equal(users[1], "bob");
    assert_null(users[2]);
    s = edit_remove_users(passwd, users);
    assert_string_equal(s, "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534::/:/sbin/nologin\n");
    free(s);
    s = edit_remove_users("wheel:x:10:root,alice\nalice:x:1000:\nusers:x:100:bob\naudio:x:63:\n", users);
    assert_string_equal(s, "wheel:x:10:root\nusers:x:100:\naudio:x:63:\n");
    free(s);
    for (size_t i = 0; users[i]; i++)
        free(users[i]);
    free(users);
}

static void test_known_hosts_drop(void **state)
{
    (void)state;
    const char *text = "web-01,web-01.lab,192.168.1.10 ssh-ed25519 AAAA1\n"
                       "web-010,web-010.lab ssh-ed25519 AAAA2\n"
                       "\n"
                       "db-01 ssh-rsa AAAA3\n"
                       "web-01 ssh-rsa AAAA4";
    char *names[] = { "web-01", "db-02" };
    char *out = edit_known_hosts_drop(text, names, 2);
    assert_string_equal(out, "web-010,web-010.lab ssh-ed25519 AAAA2\ndb-01 ssh-rsa AAAA3\n");
    free(out);
    out = edit_known_hosts_drop(NULL, names, 2);
    assert_string_equal(out, "");
    free(out);
}

/* NetworkManager keyfiles: the connection's uuid= found in [connection]
 * only; every UUID (its own and a reference to it) replaced whole. */
static void test_keyfile_uuids(void **state)
{
    const char *eth = "[connection]\nid=eth0\nuuid=0B5D2F6E-3C1A-4E8B-9F7D-2A6C4E8B1D3F\ntype=ethernet\n"
                      "[ipv4]\nmethod=auto\n";
    const char *port = "[connection]\nid=port\nuuid=11111111-2222-4333-8444-555555555555\n"
                       "master=0b5d2f6e-3c1a-4e8b-9f7d-2a6c4e8b1d3f\n[x]\nuuid=not-this-section\n";
    char olds[2][37], news[2][37] = { "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb" };
    char *out;

    (void)state;
    assert_int_equal(edit_keyfile_uuid(eth, olds[0]), 0);
    assert_string_equal(olds[0], "0B5D2F6E-3C1A-4E8B-9F7D-2A6C4E8B1D3F");
    assert_int_equal(edit_keyfile_uuid(port, olds[1]), 0);
    assert_string_equal(olds[1], "11111111-2222-4333-8444-555555555555");
    assert_int_equal(edit_keyfile_uuid("[ipv4]\nuuid=11111111-2222-4333-8444-555555555555\n", olds[1]), -1);
    assert_int_equal(edit_keyfile_uuid(port, olds[1]), 0);
    out = edit_replace_uuids(eth, olds, news, 2);
    assert_non_null(strstr(out, "uuid=aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa\n"));
    free(out);
    out = edit_replace_uuids(port, olds, news, 2);
    assert_non_null(strstr(out, "uuid=bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb\n"));
    assert_non_null(strstr(out, "master=aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa\n"));
    free(out);
    /* Part of a longer hex run is not the UUID. */
    assert_null(edit_replace_uuids("x=f0b5d2f6e-3c1a-4e8b-9f7d-2a6c4e8b1d3f\n", olds, news, 2));
    assert_null(edit_replace_uuids("[ipv4]\nmethod=auto\n", olds, news, 2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keyfile_uuids),
        cmocka_unit_test(test_mac_ifcfg), cmocka_unit_test(test_mac_nm_netplan_networkd_udev),
        cmocka_unit_test(test_mac_not_pinned), cmocka_unit_test(test_shell_var),
        cmocka_unit_test(test_hosts), cmocka_unit_test(test_shadow),
        cmocka_unit_test(test_os_release), cmocka_unit_test(test_guest_file),
        cmocka_unit_test(test_drop_lines), cmocka_unit_test(test_netplan_unpin), cmocka_unit_test(test_users),
        cmocka_unit_test(test_known_hosts_drop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
