/* netconf.h: a static IPv4 configuration written into a guest's own network
 * configuration, for clones on a bridge without libvirt's DHCP (pure). */
#ifndef VMSTAMP_NETCONF_H
#define VMSTAMP_NETCONF_H

#include <stddef.h>
#include <stdint.h>

#define NETCONF_MAX_DNS 4

/* Addresses in host byte order; 0: not given. */
struct static_ipv4 {
    uint32_t address;
    int prefix;                      /* 1-32 */
    uint32_t gateway;
    uint32_t dns[NETCONF_MAX_DNS];
    size_t ndns;
};

/* The network configuration formats vmstamp writes a static address in. */
enum netconf_format {
    NETCONF_NONE,
    NETCONF_IFCFG,      /* /etc/sysconfig/network-scripts/ifcfg-IF (RHEL, CentOS) */
    NETCONF_KEYFILE,    /* /etc/NetworkManager/system-connections/ (keyfile) */
    NETCONF_NETPLAN,    /* /etc/netplan/NAME.yaml */
    NETCONF_NETWORKD,   /* /etc/systemd/network/NAME.network */
    NETCONF_INTERFACES, /* /etc/network/interfaces, interfaces.d/ (Debian ifupdown) */
};

/* "A.B.C.D/PREFIX" (PREFIX 1-32) into *ADDRESS and *PREFIX: 0, or -1
 * recorded ("invalid WHAT 'S': ..."; WHAT NULL: "address"). */
int netconf_parse_cidr(const char *s, const char *what, uint32_t *address, int *prefix);
/* Whether IP can be a host's configuration: a unicast host address of its
 * subnet, the gateway in that subnet and not the address itself, DNS
 * servers unicast. 0, or -1 recorded (one line naming what is wrong). */
int netconf_check(const struct static_ipv4 *ip);

/* The format of guest file PATH, by its name; NETCONF_NONE for others. */
enum netconf_format netconf_format_of(const char *path);
/* "ifcfg", "NetworkManager keyfile", "netplan", ... for messages. */
const char *netconf_format_name(enum netconf_format f);
/* The non-loopback Ethernet interface file PATH (contents TEXT, of format
 * F) configures for IPv4: ifcfg DEVICE= (else the name after ifcfg-), a
 * keyfile's interface-name=, netplan's first ethernets entry (its
 * set-name:, match: name:, else its key), a .network's [Match] Name=, the
 * first `iface IF inet dhcp|static`. "" when the file configures one but
 * names none (matched by MAC only); NULL when it configures none (lo,
 * bridges, bond and bridge ports, .link files). Caller frees. */
char *netconf_interface(enum netconf_format f, const char *path, const char *text);
/* Whether netplan on OS (os-release ID and VERSION_ID) predates 0.103,
 * which reads `routes: - to: default` (Ubuntu before 21.10, Debian before
 * 12): the default route is then written `to: 0.0.0.0/0`. */
int netconf_netplan_legacy(const char *os_id, const char *version_id);

/* The new text of a configuration file giving interface IFNAME (MAC) the
 * static IPv4 configuration IP, from its current TEXT (NULL: a new file for
 * IFNAME, pinned to MAC where the format matches by MAC; IFNAME is then
 * required). Only IPv4 changes: every other key (device, name, MAC
 * pinning, IPv6, ...) stays. The address and gateway replace the old ones
 * (no gateway: no default route); DNS servers replace the old ones when IP
 * has some, else the file's own stay. Caller frees.
 *   ifcfg:      BOOTPROTO=none IPADDR= PREFIX= GATEWAY= DNS1=..., in place of
 *               BOOTPROTO (IPADDRn, PREFIXn, NETMASKn, GATEWAYn go; DNSn and
 *               PEERDNS too with new servers)
 *   keyfile:    [ipv4] method=manual address1=A/P,GW dns=D1;D2;
 *   networkd:   [Network] DHCP=no (ipv6 if it was yes or ipv6) Address=A/P
 *               Gateway= DNS= (one a line)
 *   interfaces: iface IF inet static + address A/P, gateway, dns-nameservers
 *               (netmask, broadcast, network go; hwaddress and the rest stay)
 * In TEXT, the entry for IFNAME (IFNAME NULL: the first Ethernet one) is
 * changed, or one is added. */
char *netconf_ifcfg(const char *text, const char *ifname, const char *mac, const struct static_ipv4 *ip);
char *netconf_keyfile(const char *text, const char *ifname, const char *mac, const struct static_ipv4 *ip);
char *netconf_networkd(const char *text, const char *ifname, const char *mac, const struct static_ipv4 *ip);
char *netconf_interfaces(const char *text, const char *ifname, const char *mac, const struct static_ipv4 *ip);
/* netplan (PATH for messages): the ethernets entry whose key, set-name: or
 * match: name: is IFNAME, or whose match: macaddress: is MAC, gets
 * dhcp4: false, addresses: [A/P], routes: [{to: default, via: GW}] (to:
 * 0.0.0.0/0 if LEGACY), in place of its dhcp4:, addresses:, gateway4: and
 * routes:; with DNS servers, nameservers: addresses: [...] (search: stays);
 * match:, set-name:, dhcp6: and the rest stay. Block-style YAML only: NULL
 * (recorded, "PATH:LINE: ...") for invalid YAML or an entry in flow style. */
char *netconf_netplan(const char *path, const char *text, const char *ifname, const char *mac,
                      const struct static_ipv4 *ip, int legacy);
/* The one of the above for format F (NETCONF_NETPLAN_LEGACY in FLAGS: LEGACY). */
#define NETCONF_NETPLAN_LEGACY 1u
char *netconf_write(enum netconf_format f, const char *path, const char *text, const char *ifname, const char *mac,
                    const struct static_ipv4 *ip, unsigned flags);

#endif
