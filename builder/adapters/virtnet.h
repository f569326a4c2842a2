/* virtnet.h: libvirt networks for `vmstamp fleet`: read one, reserve an
 * address in it (a DHCP host entry and a DNS host entry), take the
 * reservation back, list its DHCP leases. Through the libvirt API only, so
 * it works the same on a remote host.
 *
 * How libvirt (9.0) behaves, found by experiment, and what is done about it:
 * - virNetworkUpdate ADD refuses a DHCP host whose MAC, name or IP is
 *   already used, and a DNS host whose IP or any host name is already used
 *   (so a second name for an address cannot be added as its own <host>);
 * - DHCP host DELETE matches on the attributes given (all must match; the
 *   MAC in any case): mac= and ip= alone find our entry whatever its name;
 * - DNS host DELETE removes the whole <host> whose IP or any host name
 *   matches (and fails when two do), never one <hostname> of it: taking one
 *   name out of a <host> with several is a DELETE and an ADD of the others;
 * - there is no MODIFY for DNS hosts; LIVE on an inactive network fails,
 *   CONFIG on a transient one fails: the flags follow the network's state;
 * - the live and the persistent definitions can differ (an update made with
 *   LIVE or CONFIG alone): both are read and each is updated as it needs. */
#ifndef VMSTAMP_VIRTNET_H
#define VMSTAMP_VIRTNET_H

#include <libvirt/libvirt.h>
#include <stddef.h>
#include <stdint.h>

#include "pure/netxml.h"

/* NETWORK on CONN: its persistent definition (the live one for a transient
 * network) in OUT, and OUT->active. Errors: "network 'X' not found on URI:
 * ...". OUT is released by the caller (netxml_release), also after -1. */
int virtnet_read(virConnectPtr conn, const char *network, struct netxml *out);
/* 1 running, 0 not, -1 error (recorded). */
int virtnet_is_active(virConnectPtr conn, const char *network);

/* Reserve IP for MAC in NETWORK: a DHCP host entry (MAC, IP, NAME; NAME may
 * be NULL) and, when HOSTNAME is not NULL, a DNS host entry IP -> HOSTNAME,
 * through virNetworkUpdate (LIVE|CONFIG on a running persistent network,
 * CONFIG alone on a stopped one, LIVE alone on a transient one).
 * Idempotent: entries already there as asked are success. A DHCP entry with
 * the same MAC, IP or name but other values, or HOSTNAME already resolving
 * to another address, is an error naming it (the caller checked before:
 * this is the race guard). A DNS host for IP with other names gets HOSTNAME
 * added to it (libvirt keeps one <host> per address). NAME and HOSTNAME
 * must be host names (RFC 1123): libvirt puts the DHCP name in its XML
 * unescaped, so a name with '&' would fail the update. 0 or -1 (recorded). */
int virtnet_reserve(virConnectPtr conn, const char *network, const char *mac, uint32_t ip, const char *name,
                    const char *hostname);
/* The same; *ADDED (if ADDED) is 1 when an entry went in, 0 when both were
 * there already. Undoing a reservation that was there before removes it
 * too: a caller that journaled it (journal_nethost) drops the step
 * (journal_drop) when *ADDED is 0. */
int virtnet_reserve_added(virConnectPtr conn, const char *network, const char *mac, uint32_t ip, const char *name,
                          const char *hostname, int *added);
/* Take it back: the DHCP host entry with this MAC and IP (whatever its
 * name), and HOSTNAME from the DNS host for IP (the whole <host> when it is
 * its only name; its other names stay). NAME is only for messages.
 * 1: something removed, 0: nothing there (a network that is gone included),
 * -1: error (recorded). */
int virtnet_unreserve(virConnectPtr conn, const char *network, const char *mac, uint32_t ip, const char *name,
                      const char *hostname);

/* NETWORK's IPv4 DHCP leases (virNetworkGetDHCPLeases). */
struct virtnet_lease {
    char mac[18];    /* lower case */
    uint32_t ip;
    char *hostname;  /* what the client sent; NULL if none */
    long long expiry; /* seconds since the epoch */
};
int virtnet_leases(virConnectPtr conn, const char *network, struct virtnet_lease **out, size_t *n);
void virtnet_leases_free(struct virtnet_lease *l, size_t n);

#endif
