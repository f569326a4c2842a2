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

#endif
