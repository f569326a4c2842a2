/* virtnet.c: see virtnet.h. */
#include <ctype.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adapters/virt.h"
#include "adapters/virtnet.h"
#include "base/cleanup-virt.h"
#include "base/cleanup.h"
#include "base/error.h"
#include "base/xalloc.h"
#include "pure/fleetplan.h"
#include "pure/util.h"

/* A concurrent change between reading the network and updating it makes the
 * update fail; read again and redo what is still needed this many times. */
#define UPDATE_TRIES 3

/* The definitions of one network an update affects. */
struct view {
    virNetworkPtr net;
    char *uri;
    int active;
    struct {
        int have;
        unsigned flag; /* VIR_NETWORK_UPDATE_AFFECT_LIVE or _CONFIG */
        struct netxml x;
    } def[2]; /* live, persistent */
};

static void view_release(struct view *v)
{
    if (v->net)
        virNetworkFree(v->net);
    free(v->uri);
    for (int i = 0; i < 2; i++)
        netxml_release(&v->def[i].x);
    memset(v, 0, sizeof *v);
}

static char *conn_uri(virConnectPtr conn)
{
    char *uri = virConnectGetURI(conn);

    return uri ? uri : xstrdup("?"); /* caller frees */
}

/* Look NETWORK up. 0, 1 when it does not exist and MISSING_OK (nothing
 * recorded), -1 (recorded). */
static int lookup(virConnectPtr conn, const char *network, const char *uri, virNetworkPtr *net, int missing_ok)
{
    *net = virNetworkLookupByName(conn, network);
    if (*net)
        return 0;
    if (virGetLastErrorCode() == VIR_ERR_NO_NETWORK) {
        if (missing_ok)
            return 1;
        return error("network '%s' not found on %s: define it (virsh net-define) or pick another network", network,
                     uri);
    }
    return error("cannot look up network '%s' on %s: %s", network, uri, virt_error());
}

static int parse_def(struct view *v, int i, unsigned xml_flags, unsigned flag, const char *network)
{
    CLEANUP_FREE char *xml = virNetworkGetXMLDesc(v->net, xml_flags);

    /* libvirt's test driver has no inactive XML: one definition for both. */
    if (!xml && xml_flags && virGetLastErrorCode() == VIR_ERR_INVALID_ARG)
        xml = virNetworkGetXMLDesc(v->net, 0);
    if (!xml)
        return error("cannot read network '%s' on %s: %s", network, v->uri, virt_error());
    v->def[i].have = 1;
    v->def[i].flag = flag;
    if (netxml_parse(xml, &v->def[i].x) < 0)
        return error("cannot read network '%s' on %s: its XML does not parse", network, v->uri);
    return 0;
}

/* Read NETWORK's live definition (if it runs) and its persistent one (if it
 * has one). 0, 1 when the network does not exist and MISSING_OK, -1. */
static int view_load(virConnectPtr conn, const char *network, struct view *v, int missing_ok)
{
    int persistent, r;

    memset(v, 0, sizeof *v);
    v->uri = conn_uri(conn);
    r = lookup(conn, network, v->uri, &v->net, missing_ok);
    if (r != 0)
        return r;
    v->active = virNetworkIsActive(v->net);
    persistent = virNetworkIsPersistent(v->net);
    if (v->active < 0 || persistent < 0)
        return error("cannot query network '%s' on %s: %s", network, v->uri, virt_error());
    if (v->active && parse_def(v, 0, 0, VIR_NETWORK_UPDATE_AFFECT_LIVE, network) < 0)
        return -1;
    if (persistent && parse_def(v, 1, VIR_NETWORK_XML_INACTIVE, VIR_NETWORK_UPDATE_AFFECT_CONFIG, network) < 0)
        return -1;
    if (!v->active && !persistent) /* (a transient network that stopped is gone) */
        return error("network '%s' on %s is neither running nor defined", network, v->uri);
    return 0;
}

int virtnet_read(virConnectPtr conn, const char *network, struct netxml *out)
{
    struct view v;
    int r = view_load(conn, network, &v, 0);

    memset(out, 0, sizeof *out);
    if (r == 0) {
        int i = v.def[1].have ? 1 : 0; /* persistent, else live */
        *out = v.def[i].x;
        memset(&v.def[i].x, 0, sizeof v.def[i].x);
        out->active = v.active;
    }
    view_release(&v);
    return r < 0 ? -1 : 0;
}

int virtnet_is_active(virConnectPtr conn, const char *network)
{
    CLEANUP_FREE char *uri = conn_uri(conn);
    CLEANUP_NETWORK virNetworkPtr net = NULL;
    int r;

    if (lookup(conn, network, uri, &net, 0) < 0)
        return -1;
    r = virNetworkIsActive(net);
    if (r < 0)
        return error("cannot query network '%s' on %s: %s", network, uri, virt_error());
    return r;
}

static int update(struct view *v, unsigned command, unsigned section, const char *xml, unsigned flags)
{
    return virNetworkUpdate(v->net, command, section, -1, xml, flags);
}

static void keep_msg(char **libvirt_msg)
{
    free(*libvirt_msg);
    *libvirt_msg = xstrdup(virt_error());
}

/* Replace the DNS host for IP in definition I of V by one with NAMES: libvirt
 * has no MODIFY for DNS hosts, so a DELETE (it takes the whole <host>) and
 * an ADD; if the ADD fails, the old <host> is put back. 0, or -1 with the
 * failed update's message in *LIBVIRT_MSG. */
static int replace_dns_host(struct view *v, int i, uint32_t ip, char *const *names, char **libvirt_msg)
{
    const struct netxml *x = &v->def[i].x;
    const struct netxml_dns *d = &x->dns[netxml_find_dns_ip(x, ip)];
    unsigned flag = v->def[i].flag;
    CLEANUP_FREE char *del = netxml_dns_host(ip, NULL);
    CLEANUP_FREE char *add = netxml_dns_host_names(ip, names);
    CLEANUP_FREE char *old = netxml_dns_host_names(ip, d->names);

    if (update(v, VIR_NETWORK_UPDATE_COMMAND_DELETE, VIR_NETWORK_SECTION_DNS_HOST, del, flag) < 0) {
        keep_msg(libvirt_msg);
        return -1;
    }
    if (!names[0] || update(v, VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, VIR_NETWORK_SECTION_DNS_HOST, add, flag) == 0)
        return 0;
    keep_msg(libvirt_msg);
    update(v, VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, VIR_NETWORK_SECTION_DNS_HOST, old, flag);
    return -1;
}

/* ---- reserve ---------------------------------------------------------------- */

/* 1 if X has the DHCP entry as asked, 0 if nothing of it, -1 (recorded) if
 * an entry has its MAC, IP or name with other values. */
static int dhcp_state(const struct view *v, const struct netxml *x, const char *network, const char *mac,
                      uint32_t ip, const char *name)
{
    if (netxml_find_dhcp_host(x, mac, ip, name) >= 0)
        return 1;
    for (size_t i = 0; i < x->nhosts; i++) {
        const struct netxml_host *h = &x->hosts[i];
        if (strcasecmp(h->mac, mac) == 0 || h->ip == ip || (name && h->name && strcmp(h->name, name) == 0)) {
            CLEANUP_FREE char *theirs = netxml_dhcp_host(h->mac, h->ip, h->name);
            CLEANUP_FREE char *ours = netxml_dhcp_host(mac, ip, name);
            return error("network '%s' on %s already has DHCP host %s, in the way of %s: remove it "
                         "(virsh net-update %s delete ip-dhcp-host) or pick another address",
                         network, v->uri, theirs, ours, network);
        }
    }
    return 0;
}

enum dns_need { DNS_THERE, DNS_ADD, DNS_MERGE };

/* What X needs for IP -> HOSTNAME; -1 (recorded) if HOSTNAME resolves to
 * another address there. */
static int dns_state(const struct view *v, const struct netxml *x, const char *network, uint32_t ip,
                     const char *hostname)
{
    long k;

    for (size_t i = 0; i < x->ndns; i++) {
        if (x->dns[i].ip == ip)
            continue;
        for (size_t j = 0; x->dns[i].names[j]; j++) {
            if (strcmp(x->dns[i].names[j], hostname) == 0) {
                char a[16], b[16];
                return error("host name '%s' already resolves to %s in network '%s' on %s, not %s: remove it "
                             "(virsh net-update %s delete dns-host) or pick another name",
                             hostname, ipv4_format(x->dns[i].ip, a), network, v->uri, ipv4_format(ip, b),
                             network);
            }
        }
    }
    k = netxml_find_dns_ip(x, ip);
    if (k < 0)
        return DNS_ADD;
    for (size_t j = 0; x->dns[k].names[j]; j++)
        if (strcmp(x->dns[k].names[j], hostname) == 0)
            return DNS_THERE;
    return DNS_MERGE;
}

/* One pass: read, decide, update. 0 done, 1 an update failed (read again),
 * -1 error (recorded). *LIBVIRT_MSG gets the failed update's message;
 * *ADDED is set when an update went in. */
static int reserve_once(virConnectPtr conn, const char *network, const char *mac, uint32_t ip, const char *name,
                        const char *hostname, char **libvirt_msg, int *added)
{
    struct view v;
    unsigned dhcp_flags = 0, dns_flags = 0;
    int need[2] = { DNS_THERE, DNS_THERE };
    int r = view_load(conn, network, &v, 0);

    if (r < 0)
        goto out;
    for (int i = 0; i < 2; i++) {
        if (!v.def[i].have)
            continue;
        int s = dhcp_state(&v, &v.def[i].x, network, mac, ip, name);
        if (s < 0) {
            r = -1;
            goto out;
        }
        if (s == 0)
            dhcp_flags |= v.def[i].flag;
        if (hostname) {
            need[i] = dns_state(&v, &v.def[i].x, network, ip, hostname);
            if (need[i] < 0) {
                r = -1;
                goto out;
            }
            if (need[i] == DNS_ADD)
                dns_flags |= v.def[i].flag;
        }
    }
    if (dhcp_flags) {
        CLEANUP_FREE char *xml = netxml_dhcp_host(mac, ip, name);
        if (update(&v, VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, VIR_NETWORK_SECTION_IP_DHCP_HOST, xml, dhcp_flags) < 0)
            goto failed;
        *added = 1;
    }
    if (dns_flags) {
        CLEANUP_FREE char *xml = netxml_dns_host(ip, hostname);
        if (update(&v, VIR_NETWORK_UPDATE_COMMAND_ADD_LAST, VIR_NETWORK_SECTION_DNS_HOST, xml, dns_flags) < 0)
            goto failed;
        *added = 1;
    }
    for (int i = 0; i < 2; i++) {
        if (need[i] != DNS_MERGE)
            continue;
        /* One <host> per address: ours joins the names it has. */
        const struct netxml *x = &v.def[i].x;
        const struct netxml_dns *d = &x->dns[netxml_find_dns_ip(x, ip)];
        CLEANUP_STRV char **names = xcalloc(1, sizeof *names);
        for (size_t j = 0; d->names[j]; j++)
            strv_append(&names, xstrdup(d->names[j]));
        strv_append(&names, xstrdup(hostname));
        if (replace_dns_host(&v, i, ip, names, libvirt_msg) < 0) {
            r = 1;
            goto out;
        }
        *added = 1;
    }
    r = 0;
out:
    view_release(&v);
    return r;
failed:
    keep_msg(libvirt_msg);
    view_release(&v);
    return 1;
}

static int check_args(const char *network, const char *mac, uint32_t ip, char out[18])
{
    if (!mac || parse_mac(mac, out) < 0)
        return error("cannot reserve an address in network '%s': invalid MAC '%s'", network, mac ? mac : "");
    if (!ip)
        return error("cannot reserve an address in network '%s' for %s: no address", network, out);
    return 0;
}

/* libvirt writes a DHCP host's name into the network XML unescaped (and
 * into dnsmasq's hosts file, comma-separated): a name with '&' makes the
 * update fail, or on the test driver goes in and breaks every later one.
 * Host names only, then, for both entries. */
static int check_names(const char *network, const char *name, const char *hostname)
{
    const char *problem;

    if (name && (problem = hostname_problem(name)))
        return error("cannot reserve an address in network '%s' for '%s': the name %s", network, name, problem);
    if (hostname && (problem = hostname_problem(hostname)))
        return error("cannot reserve an address in network '%s' for host name '%s': it %s", network, hostname,
                     problem);
    return 0;
}

int virtnet_reserve_added(virConnectPtr conn, const char *network, const char *mac, uint32_t ip, const char *name,
                          const char *hostname, int *added)
{
    CLEANUP_FREE char *msg = NULL;
    CLEANUP_FREE char *uri = NULL;
    char lmac[18], addr[16];
    int dummy;

    if (!added)
        added = &dummy;
    *added = 0;
    if (check_args(network, mac, ip, lmac) < 0 || check_names(network, name, hostname) < 0)
        return -1;
    for (int t = 0; t < UPDATE_TRIES; t++) {
        int r = reserve_once(conn, network, lmac, ip, name, hostname, &msg, added);
        if (r <= 0)
            return r;
    }
    uri = conn_uri(conn);
    return error("cannot reserve %s for %s in network '%s' on %s: %s", ipv4_format(ip, addr), lmac, network, uri,
                 msg ? msg : "?");
}

int virtnet_reserve(virConnectPtr conn, const char *network, const char *mac, uint32_t ip, const char *name,
                    const char *hostname)
{
    return virtnet_reserve_added(conn, network, mac, ip, name, hostname, NULL);
}

/* ---- unreserve -------------------------------------------------------------- */

/* One pass, as reserve_once; *REMOVED set when something went. */
static int unreserve_once(virConnectPtr conn, const char *network, const char *mac, uint32_t ip,
                          const char *hostname, int *removed, char **libvirt_msg)
{
    struct view v;
    unsigned dhcp_flags = 0, dns_flags = 0;
    int keep_others[2] = { 0, 0 };
    int r = view_load(conn, network, &v, 1);

    if (r != 0) {
        view_release(&v);
        return r < 0 ? -1 : 0; /* no network: nothing of ours in it */
    }
    for (int i = 0; i < 2; i++) {
        const struct netxml *x = &v.def[i].x;
        if (!v.def[i].have)
            continue;
        for (size_t k = 0; k < x->nhosts; k++)
            if (strcasecmp(x->hosts[k].mac, mac) == 0 && x->hosts[k].ip == ip)
                dhcp_flags |= v.def[i].flag;
        long k = hostname ? netxml_find_dns_ip(x, ip) : -1;
        if (k >= 0) {
            size_t n = 0, ours = 0;
            for (; x->dns[k].names[n]; n++)
                ours += strcmp(x->dns[k].names[n], hostname) == 0;
            if (ours && n == ours)
                dns_flags |= v.def[i].flag;
            else if (ours)
                keep_others[i] = 1;
        }
    }
    if (dhcp_flags) {
        CLEANUP_FREE char *xml = netxml_dhcp_host(mac, ip, NULL);
        if (update(&v, VIR_NETWORK_UPDATE_COMMAND_DELETE, VIR_NETWORK_SECTION_IP_DHCP_HOST, xml, dhcp_flags) < 0)
            goto failed;
        *removed = 1;
    }
    if (dns_flags) {
        CLEANUP_FREE char *xml = netxml_dns_host(ip, NULL);
        if (update(&v, VIR_NETWORK_UPDATE_COMMAND_DELETE, VIR_NETWORK_SECTION_DNS_HOST, xml, dns_flags) < 0)
            goto failed;
        *removed = 1;
    }
    for (int i = 0; i < 2; i++) {
        if (!keep_others[i])
            continue;
        /* Ours goes, the others stay. */
        const struct netxml *x = &v.def[i].x;
        const struct netxml_dns *d = &x->dns[netxml_find_dns_ip(x, ip)];
        CLEANUP_STRV char **names = xcalloc(1, sizeof *names);
        for (size_t j = 0; d->names[j]; j++)
            if (strcmp(d->names[j], hostname) != 0)
                strv_append(&names, xstrdup(d->names[j]));
        if (replace_dns_host(&v, i, ip, names, libvirt_msg) < 0) {
            view_release(&v);
            return 1;
        }
        *removed = 1;
    }
    view_release(&v);
    return 0;
failed:
    keep_msg(libvirt_msg);
    view_release(&v);
    return 1;
}

int virtnet_unreserve(virConnectPtr conn, const char *network, const char *mac, uint32_t ip, const char *name,
                      const char *hostname)
{
    CLEANUP_FREE char *msg = NULL;
    CLEANUP_FREE char *uri = NULL;
    char lmac[18], addr[16];
    int removed = 0;

    if (check_args(network, mac, ip, lmac) < 0)
        return -1;
    for (int t = 0; t < UPDATE_TRIES; t++) {
        int r = unreserve_once(conn, network, lmac, ip, hostname, &removed, &msg);
        if (r < 0)
            return -1;
        if (r == 0)
            return removed;
    }
    uri = conn_uri(conn);
    return error("cannot remove the reservation of %s for %s%s%s in network '%s' on %s: %s", ipv4_format(ip, addr),
                 lmac, name ? " " : "", name ? name : "", network, uri, msg ? msg : "?");
}

/* ---- leases ----------------------------------------------------------------- */

int virtnet_leases(virConnectPtr conn, const char *network, struct virtnet_lease **out, size_t *n)
{
    CLEANUP_FREE char *uri = conn_uri(conn);
    CLEANUP_NETWORK virNetworkPtr net = NULL;
    virNetworkDHCPLeasePtr *leases = NULL;
    int count;

    *out = NULL;
    *n = 0;
    if (lookup(conn, network, uri, &net, 0) < 0)
        return -1;
    count = virNetworkGetDHCPLeases(net, NULL, &leases, 0);
    if (count < 0)
        return error("cannot read the DHCP leases of network '%s' on %s: %s", network, uri, virt_error());
    *out = xcalloc((size_t)count + 1, sizeof **out);
    for (int i = 0; i < count; i++) {
        virNetworkDHCPLeasePtr l = leases[i];
        struct virtnet_lease *e = &(*out)[*n];
        uint32_t ip = 0;
        int had_error = error_message() != NULL;
        if (l->type != VIR_IP_ADDR_TYPE_IPV4 || !l->ipaddr || !l->mac || strlen(l->mac) != 17 ||
            ipv4_parse(l->ipaddr, &ip) < 0) {
            if (!had_error)
                error_clear();
            virNetworkDHCPLeaseFree(l);
            continue;
        }
        for (int k = 0; k < 17; k++)
            e->mac[k] = (char)tolower((unsigned char)l->mac[k]);
        e->ip = ip;
        e->hostname = l->hostname && *l->hostname ? xstrdup(l->hostname) : NULL;
        e->expiry = l->expirytime;
        (*n)++;
        virNetworkDHCPLeaseFree(l);
    }
    free(leases);
    return 0;
}

void virtnet_leases_free(struct virtnet_lease *l, size_t n)
{
    if (!l)
        return;
    for (size_t i = 0; i < n; i++)
        free(l[i].hostname);
    free(l);
}
