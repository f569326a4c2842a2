/* forward.c: port forwards, parsed and written as rules (see forward.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/xalloc.h"
#include "pure/domxml.h"
#include "pure/fleetplan.h"
#include "pure/forward.h"

static int parse_port(const char *s, size_t len, unsigned *port)
{
    unsigned v = 0;

    if (len == 0 || len > 5 || (len > 1 && s[0] == '0'))
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v < 1 || v > 65535)
        return -1;
    *port = v;
    return 0;
}

int forward_parse(const char *text, struct port_forward *f)
{
    const char *colon = strchr(text, ':');
    const char *slash = strchr(text, '/');

    memset(f, 0, sizeof *f);
    if (!colon || (slash && slash < colon))
        return error("invalid forward '%s': use HOSTPORT:GUESTPORT[/tcp|udp], e.g. 8765:1337", text);
    const char *guest = colon + 1;
    size_t glen = slash ? (size_t)(slash - guest) : strlen(guest);
    if (parse_port(text, (size_t)(colon - text), &f->host_port) < 0 ||
        parse_port(guest, glen, &f->guest_port) < 0)
        return error("invalid forward '%s': ports are 1 to 65535 (decimal, no leading zero), as "
                     "HOSTPORT:GUESTPORT[/tcp|udp]", text);
    if (slash) {
        if (strcmp(slash + 1, "udp") == 0)
            f->udp = 1;
        else if (strcmp(slash + 1, "tcp") != 0)
            return error("invalid forward '%s': the protocol is tcp or udp", text);
    }
    return 0;
}

/* Why IP is no guest's address on NET, or NULL. */
static const char *address_problem(uint32_t ip, const struct forward_net *net)
{
    uint32_t mask = ipv4_prefix_mask(net->prefix);

    if (ip == 0)
        return "the unspecified address";
    if (ip == 0xffffffffu)
        return "the broadcast address";
    if (ip >> 24 == 127)
        return "a loopback address";
    if (ip >> 28 == 0xe)
        return "a multicast address";
    if (ip >> 28 == 0xf)
        return "a reserved address";
    if (!ipv4_in_subnet(ip, net->gateway, net->prefix))
        return "not on the domain's network";
    if (ip == net->gateway)
        return "the host's own address on the network";
    if (net->prefix < 31 && (ip & ~mask) == 0)
        return "the network's own address";
    if (net->prefix < 31 && (ip & ~mask) == ~mask)
        return "the network's broadcast address";
    return NULL;
}

int forward_check_address(const struct port_forward *f, const char *domain, const struct forward_net *net)
{
    uint32_t ip;
    char gw[16];
    const char *why;

    ipv4_format(net->gateway & ipv4_prefix_mask(net->prefix), gw);
    if (ipv4_parse(f->address, &ip) < 0) {
        error_clear();
        return error("cannot forward host port %u/%s of '%s' to '%.40s': not an IPv4 address (a dotted quad "
                     "without leading zeros)", f->host_port, forward_proto(f), domain, f->address);
    }
    if ((why = address_problem(ip, net)))
        return error("cannot forward host port %u/%s of '%s' to %s: it is %s; forwards go only to a guest's "
                     "address on its libvirt network '%s' (%s/%d)", f->host_port, forward_proto(f), domain,
                     f->address, why, net->name, gw, net->prefix);
    return 0;
}

int forward_is_listening(const struct forward_listening *l, int udp, unsigned port)
{
    const unsigned char *bits = udp ? l->udp : l->tcp;

    return port < 65536 && (bits[port / 8] >> (port % 8) & 1);
}

int forward_listening_parse(const char *text, int udp, struct forward_listening *l)
{
    unsigned char *bits = udp ? l->udp : l->tcp;
    const char *line = strchr(text, '\n');

    /* "  sl  local_address rem_address   st ..." then one socket a line:
     * "   0: 0100007F:0035 00000000:0000 0A ..." (v6: 32 hex digits). */
    if (!strstr(text, "local_address") || !line)
        return error("cannot read the listening sockets: not a /proc/net table");
    for (line++; *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : line + strlen(line)) {
        char local[64], remote[64], state[8];
        unsigned sl;
        if (sscanf(line, " %u: %63s %63s %7s", &sl, local, remote, state) != 4)
            continue;
        const char *colon = strrchr(local, ':');
        char *end;
        unsigned long port = colon ? strtoul(colon + 1, &end, 16) : 0;
        if (!colon || *end || port == 0 || port > 65535)
            continue;
        /* TCP_LISTEN is 0A; an unconnected UDP socket is TCP_CLOSE, 07. */
        if (strcmp(state, udp ? "07" : "0A") == 0)
            bits[port / 8] |= (unsigned char)(1u << (port % 8));
    }
    return 0;
}

int forward_check_port(const struct port_forward *f, const char *domain, const struct forward_listening *l)
{
    if (f->host_port < FORWARD_LOW_PORT && !f->allow_low)
        return error("cannot forward host port %u/%s of '%s': ports below %d need --allow-low-port when the "
                     "clone is made (allow_low_ports: true in a fleet plan)", f->host_port, forward_proto(f),
                     domain, FORWARD_LOW_PORT);
    if (f->host_port == FORWARD_SSH_PORT && !f->force)
        return error("cannot forward host port %u/%s of '%s': it is the host's ssh port; pick another, or give "
                     "--force-port when the clone is made (force_ports: true in a fleet plan)", f->host_port,
                     forward_proto(f), domain);
    if (l && forward_is_listening(l, f->udp, f->host_port) && !f->force)
        return error("cannot forward host port %u/%s of '%s': a service on this host listens on it; pick another, "
                     "or give --force-port when the clone is made (force_ports: true in a fleet plan)",
                     f->host_port, forward_proto(f), domain);
    return 0;
}

int forward_flagged(const struct port_forward *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (f[i].allow_low || f[i].force)
            return 1;
    return 0;
}

char *forward_grant_format(const struct port_forward *f, size_t n)
{
    char *text = xstrdup("");

    for (size_t i = 0; i < n; i++) {
        if (!f[i].allow_low && !f[i].force)
            continue;
        char *t = xasprintf("%s%s %u%s%s\n", text, forward_proto(&f[i]), f[i].host_port, f[i].allow_low ? " low" : "",
                            f[i].force ? " force" : "");
        free(text);
        text = t;
    }
    return text; /* caller frees */
}

void forward_grant_apply(const char *text, struct port_forward *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int low = 0, force = 0;
        for (const char *line = text; line && *line;) {
            char proto[8], w1[8] = "", w2[8] = "";
            unsigned port;
            size_t len = strcspn(line, "\n");
            CLEANUP_FREE char *one = xstrndup(line, len);
            if (sscanf(one, "%7s %u %7s %7s", proto, &port, w1, w2) >= 2 && strcmp(proto, forward_proto(&f[i])) == 0 &&
                port == f[i].host_port) {
                low |= strcmp(w1, "low") == 0 || strcmp(w2, "low") == 0;
                force |= strcmp(w1, "force") == 0 || strcmp(w2, "force") == 0;
            }
            line += len + (line[len] == '\n');
        }
        f[i].allow_low &= low;
        f[i].force &= force;
    }
}

int forward_net_parse(const char *xml, const char *name, struct forward_net *net, char **bridge)
{
    CLEANUP_FREE char *address = xml_get(xml, "(//network/ip[not(@family) or @family='ipv4'])[1]/@address");
    CLEANUP_FREE char *prefix = xml_get(xml, "(//network/ip[not(@family) or @family='ipv4'])[1]/@prefix");
    CLEANUP_FREE char *netmask = xml_get(xml, "(//network/ip[not(@family) or @family='ipv4'])[1]/@netmask");
    uint32_t mask;
    unsigned p = 0;

    *bridge = xml_get(xml, "(//network/bridge/@name)[1]");
    if (!*bridge || !address || ipv4_parse(address, &net->gateway) < 0) {
        error_clear();
        free(*bridge);
        *bridge = NULL;
        return error("network '%s' has no bridge with an IPv4 address on this host: port forwards go only into "
                     "libvirt networks with one (forward mode nat, route or none)", name);
    }
    if (prefix) {
        if (parse_port(prefix, strlen(prefix), &p) < 0 || p > 30)
            p = 0;
    } else if (netmask && ipv4_parse(netmask, &mask) == 0) {
        while (p < 32 && (mask & (0x80000000u >> p)))
            p++;
        if (p > 30 || (p < 32 && (mask << p) != 0))
            p = 0;
    }
    error_clear();
    if (p == 0) {
        free(*bridge);
        *bridge = NULL;
        return error("network '%s' has no usable prefix or netmask on its address %s", name, address);
    }
    net->prefix = (int)p;
    return 0;
}

const char *forward_proto(const struct port_forward *f)
{
    return f->udp ? "udp" : "tcp";
}

const char *forward_format(const struct port_forward *f, char *buf, size_t len)
{
    snprintf(buf, len, "%u:%u/%s", f->host_port, f->guest_port, forward_proto(f));
    return buf;
}

int forward_same_host_port(const struct port_forward *a, const struct port_forward *b)
{
    return a->udp == b->udp && a->host_port == b->host_port;
}

int forward_find_twice(const struct forward_set *sets, size_t n, size_t *i, size_t *a, size_t *j, size_t *b)
{
    for (*i = 0; *i < n; (*i)++)
        for (*a = 0; *a < sets[*i].n; (*a)++)
            for (*j = 0; *j <= *i; (*j)++)
                for (*b = 0; *b < (*j == *i ? *a : sets[*j].n); (*b)++)
                    if (forward_same_host_port(&sets[*i].f[*a], &sets[*j].f[*b]))
                        return 1;
    return 0;
}

/* The table, its map and its two chains, made if missing; the chains'
 * rules flushed and written again, so running it twice leaves one of each. */
#define NFT_TABLE_AND_MAP                                                                             \
    "add table ip " FORWARD_NFT_TABLE "\n"                                                          \
    "add map ip " FORWARD_NFT_TABLE " " FORWARD_NFT_MAP                                              \
    " { type inet_proto . inet_service : ipv4_addr . inet_service; }\n"
static const char nft_table[] =
    NFT_TABLE_AND_MAP
    "add chain ip " FORWARD_NFT_TABLE " prerouting { type nat hook prerouting priority dstnat; policy accept; }\n"
    "add chain ip " FORWARD_NFT_TABLE " output { type nat hook output priority -100; policy accept; }\n"
    "flush chain ip " FORWARD_NFT_TABLE " prerouting\n"
    "flush chain ip " FORWARD_NFT_TABLE " output\n"
    "add rule ip " FORWARD_NFT_TABLE " prerouting fib daddr type local"
    " dnat ip to meta l4proto . th dport map @" FORWARD_NFT_MAP "\n"
    "add rule ip " FORWARD_NFT_TABLE " output ip daddr != 127.0.0.0/8 fib daddr type local"
    " dnat ip to meta l4proto . th dport map @" FORWARD_NFT_MAP "\n";

char *forward_nft_add(const struct port_forward *f)
{
    return xasprintf("%sadd element ip %s %s { %s . %u : %s . %u }\n", nft_table, FORWARD_NFT_TABLE,
                     FORWARD_NFT_MAP, forward_proto(f), f->host_port, f->address, f->guest_port);
}

char *forward_nft_remove(const struct port_forward *f)
{
    return xasprintf(NFT_TABLE_AND_MAP
                     "add element ip %s %s { %s . %u : %s . %u }\n"
                     "delete element ip %s %s { %s . %u }\n",
                     FORWARD_NFT_TABLE, FORWARD_NFT_MAP, forward_proto(f), f->host_port, f->address, f->guest_port,
                     FORWARD_NFT_TABLE, FORWARD_NFT_MAP, forward_proto(f), f->host_port);
}

/* Append the words (up to a NULL) to *V. */
static void words(char ***v, ...)
{
    va_list ap;
    const char *w;

    va_start(ap, v);
    while ((w = va_arg(ap, const char *)))
        strv_append(v, xstrdup(w));
    va_end(ap);
}

char **forward_iptables_argv(const struct port_forward *f, const char *domain, enum forward_rule rule,
                             const char *action)
{
    char **v = NULL;
    char port[8], buf[96];
    int accept = rule == FORWARD_RULE_ACCEPT;

    words(&v, "iptables", "-w", NULL);
    if (!accept)
        words(&v, "-t", "nat", NULL);
    words(&v, action, accept ? "FORWARD" : rule == FORWARD_RULE_PREROUTING ? "PREROUTING" : "OUTPUT", NULL);
    if (strcmp(action, "-I") == 0)
        words(&v, "1", NULL);
    if (accept)
        words(&v, "-d", (snprintf(buf, sizeof buf, "%s/32", f->address), buf), NULL);
    if (rule == FORWARD_RULE_OUTPUT)
        words(&v, "!", "-d", "127.0.0.0/8", NULL);
    if (!accept)
        words(&v, "-m", "addrtype", "--dst-type", "LOCAL", NULL);
    snprintf(port, sizeof port, "%u", accept ? f->guest_port : f->host_port);
    words(&v, "-p", forward_proto(f), "--dport", port, NULL);
    if (accept)
        words(&v, "-m", "conntrack", "--ctstate", "DNAT", NULL);
    snprintf(buf, sizeof buf, "vmstamp: %.64s", domain);
    words(&v, "-m", "comment", "--comment", buf, "-j", NULL);
    if (accept)
        words(&v, "ACCEPT", NULL);
    else
        words(&v, "DNAT", "--to-destination", (snprintf(buf, sizeof buf, "%s:%u", f->address, f->guest_port), buf),
              NULL);
    return v; /* caller frees */
}
