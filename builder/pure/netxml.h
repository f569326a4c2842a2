/* netxml.h: libvirt network XML, read and written with libxml2 (pure,
 * unit-tested): what `vmstamp fleet` needs to know about a network (its
 * subnet, DHCP range, DHCP and DNS host entries) and the small elements
 * virNetworkUpdate takes. Addresses are IPv4 in host byte order (see
 * ipv4_parse in pure/fleetplan.h); IPv6 <ip> elements and DNS hosts are
 * skipped. */
#ifndef VMSTAMP_NETXML_H
#define VMSTAMP_NETXML_H

#include <stddef.h>
#include <stdint.h>

/* <ip><dhcp><host mac= ip= name=/> of every IPv4 <ip>. */
struct netxml_host {
    char mac[18]; /* lower case; "" if absent */
    uint32_t ip;  /* 0 if absent */
    char *name;   /* NULL if absent */
};

/* <dns><host ip=><hostname>...</hostname>...</host> (IPv4 ones). */
struct netxml_dns {
    uint32_t ip;
    char **names; /* NULL-terminated */
};

struct netxml {
    char *name;
    char *bridge;  /* <bridge name=>, NULL if none */
    char *domain;  /* <domain name=>, NULL if none */
    char *forward; /* forward mode ("nat", "route", ...; <forward/> alone is "nat"); NULL: isolated */
    uint32_t address; /* first IPv4 <ip address=>; 0 if none */
    int prefix;       /* its prefix= or netmask= (classful if neither); 0 if none */
    uint32_t dhcp_start, dhcp_end; /* first <range> of that <ip>; 0,0: no DHCP */
    struct netxml_host *hosts;
    size_t nhosts;
    struct netxml_dns *dns;
    size_t ndns;
    int active; /* netxml_parse leaves 0; adapters/virtnet.c's virtnet_read sets 1 for a running network */
};

/* Parse network XML into OUT (released with netxml_release, also after an
 * error). -1 recorded on XML that does not parse or is not a <network>;
 * attributes that are not what they should be (a MAC, an address) read as
 * absent. */
int netxml_parse(const char *xml, struct netxml *out);
void netxml_release(struct netxml *n);

/* The index of the DHCP host entry with MAC (any case), IP and NAME, all
 * three as given (NULL name: an entry without one); -1 if none. */
long netxml_find_dhcp_host(const struct netxml *n, const char *mac, uint32_t ip, const char *name);
/* The DNS host for IP; -1 if none. */
long netxml_find_dns_ip(const struct netxml *n, uint32_t ip);
/* The DNS host listing HOSTNAME; -1 if none. */
long netxml_find_dns_name(const struct netxml *n, const char *hostname);

/* The <host .../> element for virNetworkUpdate(VIR_NETWORK_SECTION_IP_DHCP_HOST):
 * <host mac='MAC' name='NAME' ip='IP'/>, each attribute left out when MAC is
 * NULL or "", IP 0, NAME NULL (a DELETE matches on the attributes given).
 * Caller frees; values XML-escaped. */
char *netxml_dhcp_host(const char *mac, uint32_t ip, const char *name);
/* The <host ip='IP'><hostname>HOSTNAME</hostname></host> for
 * VIR_NETWORK_SECTION_DNS_HOST; HOSTNAME NULL gives <host ip='IP'/> (what a
 * DELETE by address takes). Caller frees; names XML-escaped. */
char *netxml_dns_host(uint32_t ip, const char *hostname);
/* The same with every name of NAMES (NULL-terminated). */
char *netxml_dns_host_names(uint32_t ip, char *const *names);

#endif
