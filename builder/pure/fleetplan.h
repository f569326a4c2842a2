/* fleetplan.h: fleet plans for `vmstamp fleet` (a YAML file, read with
 * libyaml; pure, unit-tested). The format:
 *
 *   fleet: lab                 (required; a name of 1-64 [A-Za-z0-9._-])
 *   template: rocky9           (required; a store template name, or a disk path)
 *   hosts:                     (libvirt connections; absent: the -c connection alone)
 *     - {name: kvm1, uri: qemu:///system}
 *     - {name: kvm2, uri: qemu+ssh://root@kvm2/system}
 *   placement: spread          (spread | fill; default spread)
 *   defaults: {memory: 1G, vcpus: 1, size: 10G, network: default, pool: default,
 *              disk: linked, domain: lab.example.com, ssh_key: ~/.ssh/id_ed25519.pub}
 *   groups:                    (required, at least one)
 *     - {name: web-%02d, count: 10, ip: 192.168.122.10}
 *     - {name: db-%02d, count: 2, ip: 192.168.122.50, memory: 4G, host: kvm2}
 *
 * A group: name (a printf pattern with one integer conversion, numbered
 * from 1; a plain name when count is 1), count (1 to 1000; default 1), ip
 * (the first clone's; the others take the next addresses), host (pin the
 * group to one of 'hosts'), and any of the settings, which 'defaults' gives
 * for every group:
 *   memory (MiB, or a size such as 2G), vcpus (1-512), size (the disk, at
 *   least 64M), network (a libvirt network, or bridge:BR), pool, disk
 *   (linked | full), domain (host name = name.domain), ssh_key (a public
 *   key file), and for bridges without libvirt's DHCP: prefix (1-30),
 *   gateway, dns (one address, several separated by commas, or a list),
 *   which only clones with an ip take.
 * A setting not given anywhere is 0/NULL: the clone pipeline's default.
 *
 * Every clone's MAC is 52:54: + its IP's four octets in hex (none without
 * an ip). Placement: spread deals each group's clones round robin over the
 * hosts the group may use, the turn carrying over from group to group;
 * fill gives each host up to ceil(clones / hosts) clones, in the order the
 * hosts are listed (pinned groups are counted first; when every host is
 * full, the least loaded takes the rest).
 *
 * Every error is one line naming the file, the line and the key:
 *   "lab.yaml:12: ip: 192.168.122.250 with count 10 runs past ..." */
#ifndef VMSTAMP_FLEETPLAN_H
#define VMSTAMP_FLEETPLAN_H

#include <stddef.h>
#include <stdint.h>

#include "pure/forward.h"

/* Top-level keys. */
enum fleet_key { FLEET_FLEET, FLEET_TEMPLATE, FLEET_HOSTS, FLEET_PLACEMENT, FLEET_DEFAULTS, FLEET_GROUPS, FLEET_NKEYS };

/* A group's keys; from FG_MEMORY on they are settings ('defaults' too). */
enum fleet_group_key {
    FG_NAME,
    FG_COUNT,
    FG_IP,
    FG_HOST,
    FG_MEMORY,
    FG_VCPUS,
    FG_SIZE,
    FG_NETWORK,
    FG_POOL,
    FG_DISK,
    FG_DOMAIN,
    FG_SSH_KEY,
    FG_PREFIX,
    FG_GATEWAY,
    FG_DNS,
    FG_DESCRIPTION,
    FG_FORWARDS,
    FG_ALLOW_LOW_PORTS,
    FG_FORCE_PORTS,
    FG_NKEYS
};
#define FG_FIRST_SETTING FG_MEMORY

enum fleet_placement { FLEET_SPREAD, FLEET_FILL };

struct fleet_host {
    char *name;
    char *uri;
    int line;      /* the entry's */
    int name_line;
    int uri_line;
};

/* A group, or the defaults (which have only settings). */
struct fleet_group {
    char *name;          /* pattern, or a plain name when count is 1 */
    unsigned count;      /* 1 when not given */
    uint32_t ip;         /* host byte order; 0: not given */
    char *host;          /* NULL: not pinned */
    int host_index;      /* into hosts[]; -1: not pinned */
    uint64_t memory_kib; /* 0: not given */
    unsigned vcpus;      /* 0: not given */
    uint64_t size;       /* bytes; 0: not given */
    char *network;
    char *pool;
    int full;            /* disk: full (1) or linked (0) */
    char *domain;
    char *ssh_key;       /* as written (~ not expanded) */
    char *description;   /* the domains' <description> */
    struct port_forward *forwards; /* the first clone's; host ports count up per clone, as ip does */
    size_t nforwards;
    int allow_low_ports; /* forwards of host ports below 1024 allowed (recorded in each forward) */
    int force_ports;     /* forwards of port 22 and the host's listening ports allowed (recorded) */
    int prefix;          /* 0: not given */
    uint32_t gateway;    /* 0: not given */
    uint32_t *dns;
    size_t ndns;
    int line[FG_NKEYS];  /* 1-based line of each key; 0: absent */
    int at;              /* the group's own line */
};

/* One clone, the group's settings over the defaults. Strings other than
 * NAME and HOSTNAME point into the plan. */
struct fleet_clone {
    char *name;
    char *hostname;      /* NAME.DOMAIN, or NAME without a domain */
    size_t group;        /* index into groups[] */
    int index;           /* 1-based, within the group */
    int host;            /* index into hosts[]; -1: no hosts listed (the -c connection) */
    uint64_t memory_kib; /* 0: the pipeline's default, as below */
    unsigned vcpus;
    uint64_t size;
    const char *network, *pool, *domain, *ssh_key;
    const char *description; /* NULL: none */
    int full;
    uint32_t ip;         /* 0: none (the network's DHCP picks; a random MAC) */
    char ip_text[16];    /* "" without an ip */
    char mac[18];        /* from the ip; "" without one */
    int prefix;
    uint32_t gateway;
    const uint32_t *dns;
    size_t ndns;
    struct port_forward *forwards; /* its own (host port + index - 1, its ip); owned */
    size_t nforwards;
};

struct fleet_plan {
    char *path;          /* the file, as given (for messages) */
    char sha256[65];     /* of the text parsed: the plan applied is the plan hashed */
    char *fleet;
    char *template;
    struct fleet_host *hosts;
    size_t nhosts;
    enum fleet_placement placement;
    struct fleet_group defaults;
    struct fleet_group *groups;
    size_t ngroups;
    struct fleet_clone *clones; /* the expansion, group by group */
    size_t nclones;
    int line[FLEET_NKEYS]; /* 1-based line of each key; 0: absent */
};

const char *fleet_key_name(enum fleet_key key);
const char *fleet_group_key_name(enum fleet_group_key key);
/* Parse TEXT, the contents of PATH, check it and expand it into clones[].
 * 0, or -1 with "PATH:LINE: KEY: problem" recorded (and *P released). */
int fleet_plan_parse(const char *path, const char *text, struct fleet_plan *p);
/* Read PATH and parse it; a missing file: "fleet plan 'PATH' not found: ...". */
int fleet_plan_load(const char *path, struct fleet_plan *p);
void fleet_plan_release(struct fleet_plan *p);

/* Record "PATH:LINE: KEY: MESSAGE" and return -1, for problems found later
 * (a template that does not exist, a network unknown on a host). For a
 * group, KEY's line is the group's if it gives KEY, else that of the
 * defaults if they do, else the group's own line. */
int fleet_plan_error(const struct fleet_plan *p, enum fleet_key key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int fleet_group_error(const struct fleet_plan *p, size_t group, enum fleet_group_key key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The line fleet_group_error names. */
int fleet_group_line(const struct fleet_plan *p, size_t group, enum fleet_group_key key);
/* Host names are one whatever the case: the first of the N NAMES, in
 * order, that an earlier one has ignoring case (its index, and in *EARLIER
 * that earlier one's), or N if none. The fleet's and clone's check. */
size_t names_case_clash(const char *const *names, size_t n, size_t *earlier);

/* IPv4 addresses in host byte order. "192.168.122.4": 0, or -1 recorded
 * ("invalid IPv4 address '...'"); no leading zeros, nothing around it. */
int ipv4_parse(const char *s, uint32_t *ip);
/* Whether IP is in NET/PREFIX (0 to 32). */
int ipv4_in_subnet(uint32_t ip, uint32_t net, int prefix);
/* Dotted quad into OUT; returns OUT. */
char *ipv4_format(uint32_t ip, char out[16]);
/* The netmask of PREFIX (0..32; outside: clamped), host byte order. */
uint32_t ipv4_prefix_mask(int prefix);

/* A libvirt network as the caller read it (its XML, its leases). */
struct fleet_reservation {
    const char *mac;  /* NULL: none */
    uint32_t ip;      /* 0: none */
    const char *name; /* NULL: none */
};
struct fleet_network {
    const char *name;
    uint32_t address;              /* the host's address on it (<ip address=...>) */
    int prefix;
    uint32_t gateway;              /* 0: ADDRESS */
    uint32_t dhcp_start, dhcp_end; /* 0, 0: no DHCP */
    const struct fleet_reservation *reserved; /* DHCP hosts, and leases if wanted */
    size_t nreserved;
};
/* Check the clones placed on HOST (-1: every clone) that use NET (by name)
 * and have an ip against NET: outside its subnet, its network, broadcast,
 * host or gateway address, reserved there for another MAC or name (a
 * reservation with the clone's MAC, IP and name is the clone's own, from
 * an earlier apply), a prefix other than the network's, a network without
 * DHCP for a clone that has no prefix. The first collision: -1 with
 * "PATH:LINE: ip: ..." naming the group's line; else 0. */
int fleet_check_network(const struct fleet_plan *p, int host, const struct fleet_network *net);

#endif
