/* fuzz-netconf: a guest's own network configuration, read and rewritten
 * for a static address (pure/netconf.c): which interface each format's
 * file configures (netconf_interface) and the new text with the address
 * (netconf_write) for ifcfg, NetworkManager keyfiles, netplan (libyaml),
 * systemd-networkd and ifupdown. Every input is tried as each format,
 * for the interface of a "#fuzz-ifname NAME" line (else eth0, and then the
 * first one) with the MAC of a "#fuzz-mac MAC" line if any, and netplan
 * in the legacy form too. */
#include "fuzz.h"
#include "pure/netconf.h"

static const struct {
    enum netconf_format f;
    const char *path;
} formats[] = {
    { NETCONF_IFCFG, "/etc/sysconfig/network-scripts/ifcfg-eth0" },
    { NETCONF_KEYFILE, "/etc/NetworkManager/system-connections/eth0.nmconnection" },
    { NETCONF_NETPLAN, "/etc/netplan/50-cloud-init.yaml" },
    { NETCONF_NETWORKD, "/etc/systemd/network/10-eth0.network" },
    { NETCONF_INTERFACES, "/etc/network/interfaces" },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    char *ifname = fuzz_param(text, "ifname");
    char *mac = fuzz_param(text, "mac");
    /* 192.168.10.5/24, gateway .1, two DNS servers; and an address alone. */
    const struct static_ipv4 full = { 0xc0a80a05, 24, 0xc0a80a01, { 0xc0a80a02, 0xc0a80a03 }, 2 };
    const struct static_ipv4 bare = { 0x0a020007, 16, 0, { 0 }, 0 };

    FUZZ_CHECK(netconf_check(&full) == 0 && netconf_check(&bare) == 0);
    for (size_t i = 0; i < sizeof formats / sizeof *formats; i++) {
        enum netconf_format f = formats[i].f;
        const char *path = formats[i].path;
        char *out;

        FUZZ_CHECK(netconf_format_of(path) == f);
        out = netconf_interface(f, path, text);
        free(out);
        out = netconf_write(f, path, text, ifname ? ifname : "eth0", mac, &full, 0);
        if (!out)
            FUZZ_CHECK(f == NETCONF_NETPLAN && error_message());
        free(out);
        error_clear();
        out = netconf_write(f, path, text, NULL, NULL, &bare, NETCONF_NETPLAN_LEGACY);
        if (!out)
            FUZZ_CHECK(f == NETCONF_NETPLAN && error_message());
        free(out);
        error_clear();
    }
    free(ifname);
    free(mac);
    free(text);
    fuzz_done();
    return 0;
}
