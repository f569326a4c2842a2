/* forward.c: port forwards, parsed and written as rules (see forward.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/xalloc.h"
#include "pure/forward.h"

static int parse_port(const char *s, size_t len, unsigned *port)
{
    unsigned v = 0;

    if (len == 0 || len > 5)
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
        return error("invalid forward '%s': ports are 1 to 65535, as HOSTPORT:GUESTPORT[/tcp|udp]", text);
    if (slash) {
        if (strcmp(slash + 1, "udp") == 0)
            f->udp = 1;
        else if (strcmp(slash + 1, "tcp") != 0)
            return error("invalid forward '%s': the protocol is tcp or udp", text);
    }
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
