/* forward.h: port forwards from the host to a clone (pure, unit-tested).
 *
 * `clone --forward HOSTPORT:GUESTPORT[/tcp|udp]` and a fleet group's
 * `forwards:` send connections to the host's own addresses on HOSTPORT to
 * the clone's address on GUESTPORT, as the lab notes' hand-written
 * /etc/libvirt/hooks/qemu does with iptables. The forwards are recorded in
 * the domain's vmstamp metadata; vmstamp's libvirt hook reads them back on
 * start, stopped and reconnect (adapters/portfwd.h runs the commands).
 *
 * The rules (this file writes them; nothing here runs anything):
 * - DNAT with nftables, in a table of vmstamp's own, `ip vmstamp`: a map
 *   `dnat4` from "proto . host port" to "guest address . guest port", used
 *   by a prerouting chain (connections from other machines) and an output
 *   chain (from this host, except to 127.0.0.0/8, which cannot be DNATed
 *   off the host), both only for the host's own addresses (fib daddr type
 *   local). Each forward is one map element: adding one that is there is
 *   a no-op, adding a port another guest has fails, removing one is exact.
 * - DNAT with iptables where nft is missing: the same two rules per
 *   forward in the nat table's PREROUTING and OUTPUT chains.
 * - An ACCEPT in iptables' FORWARD chain per forward (conntrack state DNAT,
 *   the guest's address and port): libvirt (9.x) rejects new connections
 *   into its NAT networks in its own LIBVIRT_FWI chain, and an accept in
 *   another nftables table cannot overrule a reject there. */
#ifndef VMSTAMP_FORWARD_H
#define VMSTAMP_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#define FORWARD_MAX 32          /* per clone */
#define FORWARD_LOW_PORT 1024   /* host ports below: only with allow_low */
#define FORWARD_SSH_PORT 22     /* the host's own ssh: only with force */
#define FORWARD_NFT_TABLE "vmstamp"
#define FORWARD_NFT_MAP "dnat4"

struct port_forward {
    unsigned host_port;  /* 1-65535 */
    unsigned guest_port; /* 1-65535 */
    int udp;             /* 0: tcp */
    char address[16];    /* the guest's IPv4 address, dotted; "" until known */
    /* Recorded with the forward (attributes of <vmstamp:forward>), so the
     * hook checks what was allowed when the clone was made: */
    int allow_low;       /* a host port below 1024 (--allow-low-port, allow_low_ports:) */
    int force;           /* port 22 or one the host listens on (--force-port, force_ports:) */
};

/* "8765:1337", "8765:1337/tcp", "5353:53/udp" into *F (address left "",
 * flags 0). Ports are strict decimal, 1 to 65535, no leading zero ("0447"
 * is refused), nothing around them. -1 (recorded: "invalid forward 'TEXT':
 * ...") on anything else. */
int forward_parse(const char *text, struct port_forward *f);

/* The libvirt network a forward goes into: the host's address on it (its
 * <ip address=>, which must be on this host) and its prefix. */
struct forward_net {
    const char *name;
    uint32_t gateway; /* host byte order */
    int prefix;       /* 1 to 30 */
};
/* Whether F's address is a guest's on NET: a dotted quad inside
 * NET's subnet, and not its network or broadcast address, the gateway, nor
 * a loopback, multicast, reserved, 0.0.0.0 or 255.255.255.255 address.
 * -1 (recorded, one line naming DOMAIN and the address) when not. */
int forward_check_address(const struct port_forward *f, const char *domain, const struct forward_net *net);

/* The ports this host listens on: TCP sockets in LISTEN and bound,
 * unconnected UDP sockets, on any address (a bit per port). */
struct forward_listening {
    unsigned char tcp[65536 / 8], udp[65536 / 8];
};
/* Add the sockets of TEXT, a /proc/net/{tcp,tcp6,udp,udp6} table (UDP:
 * those of udp and udp6), to *L. -1 (recorded) on a table that is not one. */
int forward_listening_parse(const char *text, int udp, struct forward_listening *l);
int forward_is_listening(const struct forward_listening *l, int udp, unsigned port);
/* Whether F's host port may be forwarded: below 1024 only if F->allow_low;
 * 22 or a port in L (NULL: none) only if F->force. -1 (recorded, one line
 * naming DOMAIN and the option that allows it) when not. */
int forward_check_port(const struct port_forward *f, const char *domain, const struct forward_listening *l);

/* The flags in metadata are written by whoever defines the domain, so the
 * hook honours them only as far as root's grant for the domain's UUID says
 * (written by vmstamp when it defines the clone; adapters/portfwd.h). */
/* Whether any of F[0..N) has allow_low or force. */
int forward_flagged(const struct port_forward *f, size_t n);
/* The grant for F[0..N): a line "PROTO HOSTPORT[ low][ force]" per
 * flagged forward. Caller frees. */
char *forward_grant_format(const struct port_forward *f, size_t n);
/* Clear in F[0..N) each flag that TEXT (a grant; NULL: none) does not give
 * its host port. */
void forward_grant_apply(const char *text, struct port_forward *f, size_t n);

/* From a libvirt network's XML (<network>, or the <networkstatus> libvirt
 * keeps in /run/libvirt/network): its bridge (*BRIDGE, caller frees) and
 * first IPv4 <ip address= prefix=|netmask=> into NET (name left as is).
 * -1 (recorded, naming NAME) when it has none of them. */
int forward_net_parse(const char *xml, const char *name, struct forward_net *net, char **bridge);
/* "tcp" or "udp". */
const char *forward_proto(const struct port_forward *f);
/* "8765:1337/tcp" into BUF (at least 32 bytes). */
const char *forward_format(const struct port_forward *f, char *buf, size_t len);
/* Whether A and B take the same host port (same protocol and port). */
int forward_same_host_port(const struct port_forward *a, const struct port_forward *b);

/* One clone's forwards. */
struct forward_set {
    const char *domain;
    const struct port_forward *f;
    size_t n;
    /* The libvirt network of its first NIC; NULL: none (user networking,
     * a host bridge): its forwards are refused. */
    const char *network;
};
/* The first forward in SETS[0..N), in order, whose host port an earlier
 * one has (in its own set or an earlier set): 1 with it as SETS[*I].f[*A]
 * and the earlier as SETS[*J].f[*B]; 0 when every host port is used once. */
int forward_find_twice(const struct forward_set *sets, size_t n, size_t *i, size_t *a, size_t *j, size_t *b);

/* nft script (for `nft -f -`) that makes the table, its map and chains if
 * they are missing (the chains' rules are rewritten, never doubled) and
 * adds forward F; one transaction. Caller frees. */
char *forward_nft_add(const struct port_forward *f);
/* nft script removing forward F: its element only if it still maps to F's
 * guest (the add makes sure; a host port that now forwards to another
 * guest makes the script fail and is left alone). Caller frees. */
char *forward_nft_remove(const struct port_forward *f);

/* The iptables rules of forward F for domain DOMAIN (in a comment, so
 * `iptables -S` shows whose each rule is). */
enum forward_rule {
    FORWARD_RULE_ACCEPT,     /* filter FORWARD: let the DNATed connection in */
    FORWARD_RULE_PREROUTING, /* nat PREROUTING: DNAT (no nft) */
    FORWARD_RULE_OUTPUT,     /* nat OUTPUT: DNAT from this host (no nft) */
};
/* The iptables argv (NULL-terminated, argv[0] "iptables") with ACTION
 * ("-I", "-D" or "-C") for RULE of F. Caller frees (strv_free). */
char **forward_iptables_argv(const struct port_forward *f, const char *domain, enum forward_rule rule,
                             const char *action);

#endif
