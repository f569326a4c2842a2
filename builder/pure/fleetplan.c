/* fleetplan.c: see fleetplan.h. Read into a tree of nodes that keep their
 * lines (pure/yamlutil.c), then checked and expanded key by key. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/cleanup.h"
#include "base/digest.h"
#include "base/error.h"
#include "base/xalloc.h"
#include "pure/fleetplan.h"
#include "pure/util.h"
#include "pure/yamlutil.h"

#define COUNT_MAX 1000
#define ADDRESS_HINT "use a dotted quad like 192.168.122.10"

static const char *const top_names[FLEET_NKEYS] = {
    [FLEET_FLEET] = "fleet",
    [FLEET_TEMPLATE] = "template",
    [FLEET_HOSTS] = "hosts",
    [FLEET_PLACEMENT] = "placement",
    [FLEET_DEFAULTS] = "defaults",
    [FLEET_GROUPS] = "groups",
};

static const char *const group_names[FG_NKEYS] = {
    [FG_NAME] = "name",
    [FG_COUNT] = "count",
    [FG_IP] = "ip",
    [FG_HOST] = "host",
    [FG_MEMORY] = "memory",
    [FG_VCPUS] = "vcpus",
    [FG_SIZE] = "size",
    [FG_NETWORK] = "network",
    [FG_POOL] = "pool",
    [FG_DISK] = "disk",
    [FG_DOMAIN] = "domain",
    [FG_SSH_KEY] = "ssh_key",
    [FG_PREFIX] = "prefix",
    [FG_GATEWAY] = "gateway",
    [FG_DNS] = "dns",
    [FG_DESCRIPTION] = "description",
    [FG_FORWARDS] = "forwards",
    [FG_ALLOW_LOW_PORTS] = "allow_low_ports",
    [FG_FORCE_PORTS] = "force_ports",
};

const char *fleet_key_name(enum fleet_key key)
{
    return key < FLEET_NKEYS ? top_names[key] : "?";
}

const char *fleet_group_key_name(enum fleet_group_key key)
{
    return key < FG_NKEYS ? group_names[key] : "?";
}

static int find_name(const char *const *names, int from, int to, const char *s)
{
    for (int k = from; k < to; k++)
        if (strcmp(names[k], s) == 0)
            return k;
    return -1;
}

/* "a, b, c" for an unknown key's message; caller frees. */
static char *join_names(const char *const *names, int from, int to)
{
    char *s = xstrdup(names[from]);

    for (int k = from + 1; k < to; k++) {
        char *t = xasprintf("%s, %s", s, names[k]);
        free(s);
        s = t;
    }
    return s; /* caller frees */
}

/* ---- IPv4 ---- */

int ipv4_parse(const char *s, uint32_t *ip)
{
    uint32_t v = 0;
    const char *p = s;

    for (int i = 0; i < 4; i++) {
        unsigned octet = 0;
        int digits = 0;
        if (i > 0 && *p++ != '.')
            goto bad;
        while (isdigit((unsigned char)*p) && digits < 4) {
            octet = octet * 10 + (unsigned)(*p++ - '0');
            digits++;
        }
        if (digits == 0 || digits > 3 || octet > 255 || (digits > 1 && p[-digits] == '0'))
            goto bad;
        v = v << 8 | octet;
    }
    if (*p)
        goto bad;
    *ip = v;
    return 0;
bad:
    return error("invalid IPv4 address '%s': " ADDRESS_HINT, s);
}

uint32_t ipv4_prefix_mask(int prefix)
{
    return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~(0xffffffffu >> prefix);
}

int ipv4_in_subnet(uint32_t ip, uint32_t net, int prefix)
{
    uint32_t mask = ipv4_prefix_mask(prefix);

    return (ip & mask) == (net & mask);
}

char *ipv4_format(uint32_t ip, char out[16])
{
    snprintf(out, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
    return out;
}

/* ---- errors ---- */

static int key_verror(const char *path, int line, const char *key, const char *fmt, va_list ap)
{
    CLEANUP_FREE char *msg = NULL;

    if (vasprintf(&msg, fmt, ap) < 0)
        abort();
    return yamlutil_error_at(path, line > 0 ? (size_t)line : 0, "%s: %s", key, msg);
}

int fleet_plan_error(const struct fleet_plan *p, enum fleet_key key, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = key_verror(p->path, key < FLEET_NKEYS ? p->line[key] : 0, fleet_key_name(key), fmt, ap);
    va_end(ap);
    return r;
}

int fleet_group_line(const struct fleet_plan *p, size_t group, enum fleet_group_key key)
{
    const struct fleet_group *g = group < p->ngroups ? &p->groups[group] : &p->defaults;

    if (key >= FG_NKEYS)
        return g->at;
    if (g->line[key])
        return g->line[key];
    if (key >= FG_FIRST_SETTING && p->defaults.line[key])
        return p->defaults.line[key];
    return g->at;
}

int fleet_group_error(const struct fleet_plan *p, size_t group, enum fleet_group_key key, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = key_verror(p->path, fleet_group_line(p, group, key), fleet_group_key_name(key), fmt, ap);
    va_end(ap);
    return r;
}

/* ---- release ---- */

static void group_release(struct fleet_group *g)
{
    free(g->name);
    free(g->host);
    free(g->network);
    free(g->pool);
    free(g->domain);
    free(g->ssh_key);
    free(g->description);
    free(g->dns);
    free(g->forwards);
}

void fleet_plan_release(struct fleet_plan *p)
{
    if (!p)
        return;
    free(p->path);
    free(p->fleet);
    free(p->template);
    for (size_t i = 0; i < p->nhosts; i++) {
        free(p->hosts[i].name);
        free(p->hosts[i].uri);
    }
    free(p->hosts);
    group_release(&p->defaults);
    for (size_t i = 0; i < p->ngroups; i++)
        group_release(&p->groups[i]);
    free(p->groups);
    for (size_t i = 0; i < p->nclones; i++) {
        free(p->clones[i].name);
        free(p->clones[i].hostname);
        free(p->clones[i].forwards);
    }
    free(p->clones);
    memset(p, 0, sizeof *p);
}

/* ---- values ---- */

/* N must be of KIND (a scalar: with a value): else "KEY: a list is not
 * allowed here: give WHAT". */
static int want(const struct fleet_plan *p, const struct ynode *n, enum ynode_kind kind, const char *key,
                const char *what)
{
    if (n->kind == YNODE_SCALAR && n->null)
        return yamlutil_error_at(p->path, n->line, "%s: no value", key);
    if (n->kind != kind)
        return yamlutil_error_at(p->path, n->line, "%s: %s is not allowed here: give %s", key, ynode_kind_phrase(n),
                                 what);
    return 0;
}

static int want_scalar(const struct fleet_plan *p, const struct ynode *n, const char *key)
{
    return want(p, n, YNODE_SCALAR, key, "one value");
}

/* A decimal number from MIN to MAX. */
static int parse_uint(const char *v, unsigned long min, unsigned long max, unsigned *out)
{
    char *end;
    unsigned long n;

    if (!isdigit((unsigned char)v[0]))
        return -1;
    errno = 0;
    n = strtoul(v, &end, 10);
    if (errno || *end || n < min || n > max)
        return -1;
    *out = (unsigned)n;
    return 0;
}

/* A unicast address a clone, a gateway or a DNS server may have. */
static int parse_address(const struct fleet_plan *p, const struct ynode *n, const char *key, uint32_t *ip)
{
    if (ipv4_parse(n->value, ip) < 0) {
        error_clear();
        return yamlutil_error_at(p->path, n->line, "%s: '%s' is not an IPv4 address: " ADDRESS_HINT, key, n->value);
    }
    if ((*ip >> 24) == 0 || (*ip >> 24) == 127 || (*ip >> 24) >= 224)
        return yamlutil_error_at(p->path, n->line, "%s: '%s' cannot be a host's address (0.*, 127.*, multicast "
                                 "and reserved addresses are refused)", key, n->value);
    return 0;
}

static void add_dns(struct fleet_group *g, uint32_t ip)
{
    g->dns = xreallocarray(g->dns, g->ndns + 1, sizeof *g->dns);
    g->dns[g->ndns++] = ip;
}

static int parse_dns(const struct fleet_plan *p, const struct ynode *n, struct fleet_group *g)
{
    const char *key = group_names[FG_DNS];

    if (n->kind == YNODE_LIST) {
        if (n->n == 0)
            return yamlutil_error_at(p->path, n->line, "%s: an empty list: leave 'dns' out, or give addresses", key);
        for (size_t i = 0; i < n->n; i++) {
            uint32_t ip;
            if (want(p, n->items[i], YNODE_SCALAR, key, "addresses, not a list inside the list") < 0 ||
                parse_address(p, n->items[i], key, &ip) < 0)
                return -1;
            add_dns(g, ip);
        }
        return 0;
    }
    if (want(p, n, YNODE_SCALAR, key, "one address, several separated by commas, or a list") < 0)
        return -1;
    CLEANUP_FREE char *copy = xstrdup(n->value);
    char *save = NULL;
    for (char *tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
        struct ynode one = { .kind = YNODE_SCALAR, .line = n->line, .value = tok };
        uint32_t ip;
        if (parse_address(p, &one, key, &ip) < 0)
            return -1;
        add_dns(g, ip);
    }
    if (g->ndns == 0)
        return yamlutil_error_at(p->path, n->line, "%s: no value", key);
    return 0;
}

static int add_forward(const struct fleet_plan *p, const struct ynode *n, const char *text, struct fleet_group *g)
{
    struct port_forward f;

    if (g->nforwards == FORWARD_MAX)
        return yamlutil_error_at(p->path, n->line, "%s: more than %d forwards", group_names[FG_FORWARDS],
                                 FORWARD_MAX);
    if (forward_parse(text, &f) < 0) {
        CLEANUP_FREE char *why = xstrdup(error_message());
        error_clear();
        return yamlutil_error_at(p->path, n->line, "%s: %s", group_names[FG_FORWARDS], why);
    }
    g->forwards = xreallocarray(g->forwards, g->nforwards + 1, sizeof *g->forwards);
    g->forwards[g->nforwards++] = f;
    return 0;
}

/* forwards: "HOSTPORT:GUESTPORT[/tcp|udp]", several separated by commas, or a list of them. */
static int parse_forwards(const struct fleet_plan *p, const struct ynode *n, struct fleet_group *g)
{
    const char *key = group_names[FG_FORWARDS];

    if (n->kind == YNODE_LIST) {
        if (n->n == 0)
            return yamlutil_error_at(p->path, n->line, "%s: an empty list: leave it out, or give HOSTPORT:GUESTPORT",
                                     key);
        for (size_t i = 0; i < n->n; i++)
            if (want(p, n->items[i], YNODE_SCALAR, key, "HOSTPORT:GUESTPORT, not a list inside the list") < 0 ||
                add_forward(p, n->items[i], n->items[i]->value, g) < 0)
                return -1;
        return 0;
    }
    if (want(p, n, YNODE_SCALAR, key, "HOSTPORT:GUESTPORT, several separated by commas, or a list") < 0)
        return -1;
    CLEANUP_FREE char *copy = xstrdup(n->value);
    char *save = NULL;
    for (char *tok = strtok_r(copy, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save))
        if (add_forward(p, n, tok, g) < 0)
            return -1;
    if (g->nforwards == 0)
        return yamlutil_error_at(p->path, n->line, "%s: no value", key);
    return 0;
}

/* The network: a libvirt network's name, or bridge:BR. */
static const char *network_problem(const char *v)
{
    static const char prefix[] = "bridge:";

    if (strncmp(v, prefix, sizeof prefix - 1) == 0) {
        const char *br = v + sizeof prefix - 1;
        if (!*br)
            return "names no bridge after 'bridge:'";
        if (strlen(br) > 15)
            return "names a bridge longer than 15 characters";
        return domain_name_problem(br);
    }
    return domain_name_problem(v);
}

/* Store the value N of KEY in G. */
static int set_group_key(const struct fleet_plan *p, struct fleet_group *g, int key, const struct ynode *n)
{
    const char *kn = group_names[key];
    const char *v, *problem;

    if (key == FG_DNS)
        return parse_dns(p, n, g);
    if (key == FG_FORWARDS)
        return parse_forwards(p, n, g);
    if (want_scalar(p, n, kn) < 0)
        return -1;
    v = n->value;
    switch (key) {
    case FG_NAME: g->name = xstrdup(v); break;
    case FG_COUNT:
        if (parse_uint(v, 1, COUNT_MAX, &g->count) < 0)
            return yamlutil_error_at(p->path, n->line, "%s: '%s' is not a number of clones: give 1 to %d", kn, v,
                                     COUNT_MAX);
        break;
    case FG_IP: return parse_address(p, n, kn, &g->ip);
    case FG_GATEWAY: return parse_address(p, n, kn, &g->gateway);
    case FG_HOST: g->host = xstrdup(v); break;
    case FG_MEMORY:
        if (parse_memory(v, &g->memory_kib) < 0) {
            error_clear();
            return yamlutil_error_at(p->path, n->line, "%s: '%s' is not a memory size: give MiB (2048) or a size (2G)",
                                     kn, v);
        }
        break;
    case FG_VCPUS:
        if (parse_uint(v, 1, 512, &g->vcpus) < 0)
            return yamlutil_error_at(p->path, n->line, "%s: '%s' is not a number of CPUs: give 1 to 512", kn, v);
        break;
    case FG_SIZE:
        if (parse_size(v, &g->size) < 0 || g->size < 64 * 1024 * 1024) {
            error_clear();
            g->size = 0;
            return yamlutil_error_at(p->path, n->line, "%s: '%s' is not a disk size: use e.g. 10G (at least 64M)",
                                     kn, v);
        }
        break;
    case FG_NETWORK:
        if ((problem = network_problem(v)))
            return yamlutil_error_at(p->path, n->line, "%s: '%s' is not a network: it %s (give a libvirt network's "
                                     "name, or bridge:BR)", kn, v, problem);
        g->network = xstrdup(v);
        break;
    case FG_POOL:
        if ((problem = domain_name_problem(v)))
            return yamlutil_error_at(p->path, n->line, "%s: '%s' is not a storage pool's name: it %s", kn, v, problem);
        g->pool = xstrdup(v);
        break;
    case FG_DISK:
        if (strcmp(v, "linked") != 0 && strcmp(v, "full") != 0)
            return yamlutil_error_at(p->path, n->line, "%s: '%s' is not a disk mode: give linked or full", kn, v);
        g->full = strcmp(v, "full") == 0;
        break;
    case FG_DOMAIN:
        if ((problem = hostname_problem(v)))
            return yamlutil_error_at(p->path, n->line, "%s: '%s' is not a DNS domain: it %s", kn, v, problem);
        g->domain = xstrdup(v);
        break;
    case FG_SSH_KEY: g->ssh_key = xstrdup(v); break;
    case FG_ALLOW_LOW_PORTS:
    case FG_FORCE_PORTS: {
        int yes = strcmp(v, "true") == 0 || strcmp(v, "yes") == 0;
        if (!yes && strcmp(v, "false") != 0 && strcmp(v, "no") != 0)
            return yamlutil_error_at(p->path, n->line, "%s: '%s' is not true or false", kn, v);
        *(key == FG_ALLOW_LOW_PORTS ? &g->allow_low_ports : &g->force_ports) = yes;
        break;
    }
    case FG_DESCRIPTION: g->description = xstrdup(v); break;
    case FG_PREFIX: {
        unsigned prefix;
        if (parse_uint(v, 1, 30, &prefix) < 0)
            return yamlutil_error_at(p->path, n->line, "%s: '%s' is not a prefix length: give 1 to 30 (24 for "
                                     "255.255.255.0)", kn, v);
        g->prefix = (int)prefix;
        break;
    }
    }
    return 0;
}

/* A group (DEFAULTS: the defaults, only settings). */
static int parse_group(struct fleet_plan *p, const struct ynode *n, struct fleet_group *g, int defaults)
{
    int from = defaults ? FG_FIRST_SETTING : 0;

    g->at = (int)n->line;
    g->count = 1;
    g->host_index = -1;
    if (want(p, n, YNODE_MAP, defaults ? "defaults" : "groups",
             defaults ? "a mapping (memory: 1G, vcpus: 1, ...)" : "a mapping per group ({name: web-%02d, count: 2, ...})") < 0)
        return -1;
    for (size_t i = 0; i < n->n; i++) {
        int key = find_name(group_names, from, FG_NKEYS, n->keys[i]);
        if (key < 0 && defaults && find_name(group_names, 0, from, n->keys[i]) >= 0)
            return yamlutil_error_at(p->path, n->key_lines[i], "%s: not a default: give it in each group", n->keys[i]);
        if (key < 0) {
            CLEANUP_FREE char *known = join_names(group_names, from, FG_NKEYS);
            return yamlutil_error_at(p->path, n->key_lines[i], "unknown key '%s' in %s (known: %s)", n->keys[i],
                                     defaults ? "defaults" : "a group", known);
        }
        g->line[key] = (int)n->key_lines[i];
        if (set_group_key(p, g, key, n->items[i]) < 0)
            return -1;
    }
    if (!defaults && !g->line[FG_NAME])
        return yamlutil_error_at(p->path, n->line, "groups: a group needs a 'name' (a pattern such as web-%%02d)");
    return 0;
}

static int parse_groups(struct fleet_plan *p, const struct ynode *n)
{
    if (want(p, n, YNODE_LIST, "groups", "a list of groups (- {name: web-%02d, count: 2, ...})") < 0)
        return -1;
    if (n->n == 0)
        return yamlutil_error_at(p->path, n->line, "groups: an empty list: give at least one group");
    p->groups = xcalloc(n->n, sizeof *p->groups);
    for (size_t i = 0; i < n->n; i++) {
        p->ngroups++;
        if (parse_group(p, n->items[i], &p->groups[i], 0) < 0)
            return -1;
    }
    return 0;
}

static int parse_host(const struct fleet_plan *p, const struct ynode *n, struct fleet_host *h)
{
    const char *problem;

    h->line = (int)n->line;
    if (want(p, n, YNODE_MAP, "hosts", "a mapping per host ({name: kvm1, uri: qemu:///system})") < 0)
        return -1;
    for (size_t i = 0; i < n->n; i++) {
        const struct ynode *v = n->items[i];
        int is_name = strcmp(n->keys[i], "name") == 0;
        if (!is_name && strcmp(n->keys[i], "uri") != 0)
            return yamlutil_error_at(p->path, n->key_lines[i], "unknown key '%s' in a host (known: name, uri)",
                                     n->keys[i]);
        if (want_scalar(p, v, n->keys[i]) < 0)
            return -1;
        if (is_name) {
            if ((problem = hostname_problem(v->value)))
                return yamlutil_error_at(p->path, v->line, "name: '%s' is not a valid host name: it %s", v->value,
                                         problem);
            h->name = xstrdup(v->value);
            h->name_line = (int)n->key_lines[i];
        } else {
            for (const char *c = v->value; *c; c++)
                if (isspace((unsigned char)*c) || iscntrl((unsigned char)*c))
                    return yamlutil_error_at(p->path, v->line, "uri: '%s' is not a libvirt URI: it has a space or a "
                                             "control character", v->value);
            h->uri = xstrdup(v->value);
            h->uri_line = (int)n->key_lines[i];
        }
    }
    if (!h->name || !h->uri)
        return yamlutil_error_at(p->path, n->line, "hosts: a host needs a '%s' (such as %s)", h->name ? "uri" : "name",
                                 h->name ? "qemu+ssh://root@kvm2/system" : "kvm2");
    return 0;
}

static int parse_hosts(struct fleet_plan *p, const struct ynode *n)
{
    if (want(p, n, YNODE_LIST, "hosts", "a list of hosts (- {name: kvm1, uri: qemu:///system})") < 0)
        return -1;
    if (n->n == 0)
        return yamlutil_error_at(p->path, n->line, "hosts: an empty list: leave 'hosts' out to use the -c "
                                 "connection alone");
    p->hosts = xcalloc(n->n, sizeof *p->hosts);
    for (size_t i = 0; i < n->n; i++) {
        struct fleet_host *h = &p->hosts[i];
        p->nhosts++;
        if (parse_host(p, n->items[i], h) < 0)
            return -1;
        for (size_t j = 0; j < i; j++) {
            if (strcasecmp(p->hosts[j].name, h->name) == 0)
                return yamlutil_error_at(p->path, (size_t)h->name_line, "name: host '%s' is listed twice (first "
                                         "on line %d)", h->name, p->hosts[j].name_line);
            if (strcmp(p->hosts[j].uri, h->uri) == 0)
                return yamlutil_error_at(p->path, (size_t)h->uri_line, "uri: '%s' is listed twice (first on line "
                                         "%d, host '%s')", h->uri, p->hosts[j].uri_line, p->hosts[j].name);
        }
    }
    return 0;
}

static int parse_top(struct fleet_plan *p, const struct ynode *root)
{
    const char *problem;

    if (!root || (root->kind == YNODE_SCALAR && root->null))
        return 0; /* an empty document: the missing keys are said after */
    if (root->kind != YNODE_MAP)
        return yamlutil_error_at(p->path, root->line, "%s: a plan is a mapping (fleet: ..., template: ..., "
                                 "groups: ...)", ynode_kind_phrase(root));
    for (size_t i = 0; i < root->n; i++) {
        const struct ynode *v = root->items[i];
        int key = find_name(top_names, 0, FLEET_NKEYS, root->keys[i]);
        int r = 0;
        if (key < 0) {
            CLEANUP_FREE char *known = join_names(top_names, 0, FLEET_NKEYS);
            return yamlutil_error_at(p->path, root->key_lines[i], "unknown key '%s' (known: %s)", root->keys[i], known);
        }
        p->line[key] = (int)root->key_lines[i];
        switch (key) {
        case FLEET_FLEET:
            if ((r = want_scalar(p, v, top_names[key])) < 0)
                break;
            if ((problem = domain_name_problem(v->value)))
                return yamlutil_error_at(p->path, v->line, "fleet: '%s' is not a valid fleet name: it %s", v->value,
                                         problem);
            p->fleet = xstrdup(v->value);
            break;
        case FLEET_TEMPLATE:
            if ((r = want_scalar(p, v, top_names[key])) == 0)
                p->template = xstrdup(v->value);
            break;
        case FLEET_PLACEMENT:
            if ((r = want_scalar(p, v, top_names[key])) < 0)
                break;
            if (strcmp(v->value, "spread") != 0 && strcmp(v->value, "fill") != 0)
                return yamlutil_error_at(p->path, v->line, "placement: '%s' is not a placement: give spread or fill",
                                         v->value);
            p->placement = strcmp(v->value, "fill") == 0 ? FLEET_FILL : FLEET_SPREAD;
            break;
        case FLEET_HOSTS: r = parse_hosts(p, v); break;
        case FLEET_DEFAULTS: r = parse_group(p, v, &p->defaults, 1); break;
        case FLEET_GROUPS: r = parse_groups(p, v); break;
        }
        if (r < 0)
            return -1;
    }
    return 0;
}

/* ---- checks across keys, and the expansion ---- */

/* The group G's own value of a setting, else the defaults'. */
static const struct fleet_group *setting(const struct fleet_plan *p, const struct fleet_group *g, int key)
{
    if (g->line[key])
        return g;
    if (p->defaults.line[key])
        return &p->defaults;
    return NULL;
}

static int same_network(const struct fleet_plan *p, const struct fleet_group *a, const struct fleet_group *b)
{
    const struct fleet_group *sa = setting(p, a, FG_NETWORK), *sb = setting(p, b, FG_NETWORK);

    return strcmp(sa ? sa->network : "default", sb ? sb->network : "default") == 0;
}

static int resolve_host(struct fleet_plan *p, size_t gi)
{
    struct fleet_group *g = &p->groups[gi];
    CLEANUP_FREE char *listed = NULL;

    if (!g->host)
        return 0;
    for (size_t h = 0; h < p->nhosts; h++) {
        if (strcasecmp(p->hosts[h].name, g->host) == 0) {
            g->host_index = (int)h;
            return 0;
        }
        char *t = xasprintf("%s%s%s", listed ? listed : "", listed ? ", " : "", p->hosts[h].name);
        free(listed);
        listed = t;
    }
    if (!listed)
        return fleet_group_error(p, gi, FG_HOST, "'%s' is not listed: the plan has no 'hosts', so every clone goes "
                                 "to the -c connection", g->host);
    return fleet_group_error(p, gi, FG_HOST, "'%s' is not listed in 'hosts' (listed: %s)", g->host, listed);
}

/* The group's addresses stay inside its subnet: its prefix, else the /24
 * of its ip, less the network and broadcast addresses. */
static int check_range(const struct fleet_plan *p, size_t gi)
{
    const struct fleet_group *g = &p->groups[gi], *ps = setting(p, g, FG_PREFIX), *gw = setting(p, g, FG_GATEWAY);
    int prefix = ps ? ps->prefix : 24;
    uint32_t mask = ipv4_prefix_mask(prefix), net = g->ip & mask, bcast = net | ~mask;
    uint64_t last = (uint64_t)g->ip + g->count - 1;
    char a[16], b[16], c[16];

    if (!g->ip)
        return 0;
    if (g->ip == net)
        return fleet_group_error(p, gi, FG_IP, "%s is the network address of %s/%d: start at %s", ipv4_format(g->ip, a),
                                 ipv4_format(net, b), prefix, ipv4_format(net + 1, c));
    if (last >= bcast) {
        ipv4_format(bcast - 1, c);
        if (g->ip == bcast)
            return fleet_group_error(p, gi, FG_IP, "%s is the broadcast address of %s/%d", ipv4_format(g->ip, a),
                                     ipv4_format(net, b), prefix);
        return fleet_group_error(p, gi, FG_IP, "%s with count %u runs past %s, the last address of %s/%d%s",
                                 ipv4_format(g->ip, a), g->count, c, ipv4_format(net, b), prefix,
                                 ps ? "" : " (give 'prefix' for a larger subnet)");
    }
    if (gw && !ipv4_in_subnet(gw->gateway, g->ip, prefix))
        return fleet_group_error(p, gi, FG_GATEWAY, "%s is outside %s/%d, the subnet of the group's ip",
                                 ipv4_format(gw->gateway, a), ipv4_format(net, b), prefix);
    return 0;
}

/* Name the clone at address IP of group G (which has it). */
static const char *clone_at(const struct fleet_plan *p, size_t first_clone, uint32_t ip)
{
    return p->clones[first_clone + (ip - p->clones[first_clone].ip)].name;
}

/* Host ports: each forwarded once in the plan (whatever the host: a
 * clone may move). */
static int check_forwards(const struct fleet_plan *p)
{
    CLEANUP_FREE struct forward_set *sets = xcalloc(p->nclones ? p->nclones : 1, sizeof *sets);
    size_t i, a, j, b;

    for (size_t k = 0; k < p->nclones; k++)
        sets[k] = (struct forward_set){ p->clones[k].name, p->clones[k].forwards, p->clones[k].nforwards, NULL };
    if (!forward_find_twice(sets, p->nclones, &i, &a, &j, &b))
        return 0;
    return fleet_group_error(p, p->clones[i].group, FG_FORWARDS, "host port %u/%s of '%s' is also forwarded to '%s'",
                             sets[i].f[a].host_port, forward_proto(&sets[i].f[a]), p->clones[i].name,
                             p->clones[j].name);
}

/* Addresses: two groups never share one (their MACs would be the same), a
 * gateway is no clone's address on its network. */
static int check_addresses(const struct fleet_plan *p, const size_t *first)
{
    char a[16];

    for (size_t i = 0; i < p->ngroups; i++) {
        const struct fleet_group *g = &p->groups[i];
        for (size_t j = 0; g->ip && j < i; j++) {
            const struct fleet_group *o = &p->groups[j];
            if (!o->ip || g->ip > o->ip + (o->count - 1) || o->ip > g->ip + (g->count - 1))
                continue;
            uint32_t both = g->ip > o->ip ? g->ip : o->ip;
            return fleet_group_error(p, i, FG_IP, "%s (%s) is also %s's address (the group on line %d)",
                                     ipv4_format(both, a), clone_at(p, first[i], both), clone_at(p, first[j], both),
                                     o->at);
        }
    }
    for (size_t i = 0; i < p->ngroups; i++) {
        const struct fleet_group *gw = setting(p, &p->groups[i], FG_GATEWAY);
        if (!gw || !p->groups[i].ip)
            continue;
        for (size_t j = 0; j < p->ngroups; j++) {
            const struct fleet_group *o = &p->groups[j];
            if (o->ip && gw->gateway >= o->ip && gw->gateway <= o->ip + (o->count - 1) &&
                same_network(p, &p->groups[i], o))
                return fleet_group_error(p, i, FG_GATEWAY, "%s is also %s's address (the group on line %d)",
                                         ipv4_format(gw->gateway, a), clone_at(p, first[j], gw->gateway), o->at);
        }
    }
    return 0;
}

/* The clone names of group GI, into p->clones. */
static int expand_group(struct fleet_plan *p, size_t gi)
{
    const struct fleet_group *g = &p->groups[gi];
    const struct fleet_group *s;
    const char *problem;

    for (unsigned k = 1; k <= g->count; k++) {
        struct fleet_clone *c = &p->clones[p->nclones];
        char *name = expand_name_pattern(g->name, (int)k);
        if (!name) {
            error_clear();
            if (g->count > 1 || strchr(g->name, '%'))
                return fleet_group_error(p, gi, FG_NAME, "'%s' is not a name pattern: use one %%d (or %%02d) "
                                         "conversion, or a plain name with count 1", g->name);
            name = xstrdup(g->name);
        }
        c->name = name;
        p->nclones++;
        if ((problem = domain_name_problem(name)) || (problem = hostname_problem(name)))
            return fleet_group_error(p, gi, FG_NAME, "'%s' is not a valid clone name: it %s", name, problem);
        c->group = gi;
        c->index = (int)k;
        c->host = g->host_index;
        c->memory_kib = (s = setting(p, g, FG_MEMORY)) ? s->memory_kib : 0;
        c->vcpus = (s = setting(p, g, FG_VCPUS)) ? s->vcpus : 0;
        c->size = (s = setting(p, g, FG_SIZE)) ? s->size : 0;
        c->network = (s = setting(p, g, FG_NETWORK)) ? s->network : NULL;
        c->pool = (s = setting(p, g, FG_POOL)) ? s->pool : NULL;
        c->full = (s = setting(p, g, FG_DISK)) ? s->full : 0;
        c->domain = (s = setting(p, g, FG_DOMAIN)) ? s->domain : NULL;
        c->ssh_key = (s = setting(p, g, FG_SSH_KEY)) ? s->ssh_key : NULL;
        c->description = (s = setting(p, g, FG_DESCRIPTION)) ? s->description : NULL;
        c->hostname = c->domain ? xasprintf("%s.%s", name, c->domain) : xstrdup(name);
        if ((problem = hostname_problem(c->hostname)))
            return fleet_group_error(p, gi, FG_NAME, "'%s' is not a valid host name: it %s", c->hostname, problem);
        if (g->ip) {
            c->ip = g->ip + (k - 1);
            ipv4_format(c->ip, c->ip_text);
            if (mac_from_ipv4(c->ip_text, c->mac) < 0)
                return -1;
            /* A static address's settings: only with an ip. */
            c->prefix = (s = setting(p, g, FG_PREFIX)) ? s->prefix : 0;
            c->gateway = (s = setting(p, g, FG_GATEWAY)) ? s->gateway : 0;
            if ((s = setting(p, g, FG_DNS))) {
                c->dns = s->dns;
                c->ndns = s->ndns;
            }
        }
        if ((s = setting(p, g, FG_FORWARDS))) {
            if (!g->ip)
                return fleet_group_error(p, gi, FG_FORWARDS, "need the clones' addresses: give the group an ip");
            if (c->network && (strcmp(c->network, "user") == 0 || strncmp(c->network, "bridge:", 7) == 0))
                return fleet_group_error(p, gi, FG_FORWARDS, "need a libvirt network: on network '%s' this host "
                                         "cannot reach the clones' addresses (give network: default or another "
                                         "libvirt network)", c->network);
            const struct fleet_group *low = setting(p, g, FG_ALLOW_LOW_PORTS), *force = setting(p, g, FG_FORCE_PORTS);
            c->forwards = xcalloc(s->nforwards, sizeof *c->forwards);
            c->nforwards = s->nforwards;
            for (size_t f = 0; f < s->nforwards; f++) {
                c->forwards[f] = s->forwards[f];
                c->forwards[f].host_port += k - 1;
                if (c->forwards[f].host_port > 65535)
                    return fleet_group_error(p, gi, FG_FORWARDS, "host port %u of '%s' is past 65535: give a "
                                             "lower first host port", s->forwards[f].host_port + k - 1, name);
                memcpy(c->forwards[f].address, c->ip_text, sizeof c->ip_text);
                c->forwards[f].allow_low = low && low->allow_low_ports && c->forwards[f].host_port < FORWARD_LOW_PORT;
                c->forwards[f].force = force && force->force_ports;
                if (forward_check_port(&c->forwards[f], name, NULL) < 0) {
                    CLEANUP_FREE char *why = xstrdup(error_message());
                    error_clear();
                    return fleet_group_error(p, gi, FG_FORWARDS, "%s", why);
                }
            }
        }
    }
    return 0;
}

static int by_name(const void *a, const void *b, void *names)
{
    const char *const *s = names;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    int r = strcasecmp(s[i], s[j]);

    return r ? r : (i > j) - (i < j);
}

size_t names_case_clash(const char *const *names, size_t n, size_t *earlier)
{
    CLEANUP_FREE size_t *order = xcalloc(n ? n : 1, sizeof *order);
    size_t worst = n;

    for (size_t i = 0; i < n; i++)
        order[i] = i;
    qsort_r(order, n, sizeof *order, by_name, (void *)names);
    for (size_t i = 1; i < n; i++)
        if (strcasecmp(names[order[i]], names[order[i - 1]]) == 0 && order[i] < worst) {
            worst = order[i];
            *earlier = order[i - 1];
        }
    return worst;
}

/* Clone names (and so host names) are unique across the fleet, whatever
 * the case. The message is for the first clone, in plan order, whose name
 * an earlier one has. */
static int check_names(const struct fleet_plan *p)
{
    CLEANUP_FREE const char **names = xcalloc(p->nclones ? p->nclones : 1, sizeof *names);
    size_t worst, first = 0;

    for (size_t i = 0; i < p->nclones; i++)
        names[i] = p->clones[i].name;
    worst = names_case_clash(names, p->nclones, &first);
    if (worst == p->nclones)
        return 0;
    return fleet_group_error(p, p->clones[worst].group, FG_NAME, "'%s' is also a clone of the group on line %d",
                             p->clones[worst].name, p->groups[p->clones[first].group].at);
}

/* spread: round robin over the hosts a group may use, the turn going on
 * from group to group. fill: up to ceil(clones / hosts) per host, in the
 * order listed; pinned clones count first; the least loaded host takes
 * what is left when all are full (only when pins overfill hosts). */
static void place(struct fleet_plan *p)
{
    CLEANUP_FREE size_t *load = NULL;
    size_t turn = 0, cap;

    if (p->nhosts == 0)
        return; /* every clone: host -1 */
    load = xcalloc(p->nhosts, sizeof *load);
    cap = (p->nclones + p->nhosts - 1) / p->nhosts;
    for (size_t i = 0; i < p->nclones; i++)
        if (p->clones[i].host >= 0)
            load[p->clones[i].host]++;
    for (size_t i = 0; i < p->nclones; i++) {
        struct fleet_clone *c = &p->clones[i];
        size_t h = 0;
        if (c->host >= 0)
            continue;
        if (p->placement == FLEET_SPREAD) {
            h = turn++ % p->nhosts;
        } else {
            while (h < p->nhosts && load[h] >= cap)
                h++;
            if (h == p->nhosts) {
                h = 0;
                for (size_t k = 1; k < p->nhosts; k++)
                    if (load[k] < load[h])
                        h = k;
            }
        }
        c->host = (int)h;
        load[h]++;
    }
}

static int check_and_expand(struct fleet_plan *p)
{
    static const int required[] = { FLEET_FLEET, FLEET_TEMPLATE, FLEET_GROUPS };
    CLEANUP_FREE size_t *first = NULL;
    size_t total = 0;

    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (!p->line[required[i]])
            return yamlutil_error_at(p->path, 0, "missing key '%s': a plan needs at least 'fleet', 'template' and "
                                     "'groups'", top_names[required[i]]);
    for (size_t i = 0; i < p->ngroups; i++) {
        if (resolve_host(p, i) < 0 || check_range(p, i) < 0)
            return -1;
        total += p->groups[i].count;
    }
    first = xcalloc(p->ngroups, sizeof *first);
    p->clones = xcalloc(total, sizeof *p->clones);
    for (size_t i = 0; i < p->ngroups; i++) {
        first[i] = p->nclones;
        if (expand_group(p, i) < 0)
            return -1;
    }
    if (check_names(p) < 0 || check_addresses(p, first) < 0 || check_forwards(p) < 0)
        return -1;
    place(p);
    return 0;
}

int fleet_plan_parse(const char *path, const char *text, struct fleet_plan *p)
{
    struct ynode *root = NULL;
    int ret = -1;

    memset(p, 0, sizeof *p);
    p->path = xstrdup(path);
    p->defaults.host_index = -1;
    if (digest_buffer_hex(DIGEST_SHA256, text, strlen(text), p->sha256) < 0)
        goto out;
    if (ynode_load(path, text, "a plan", &root) < 0 || parse_top(p, root) < 0 || check_and_expand(p) < 0)
        goto out;
    ret = 0;
out:
    ynode_free(root);
    if (ret < 0)
        fleet_plan_release(p);
    return ret;
}

int fleet_plan_load(const char *path, struct fleet_plan *p)
{
    CLEANUP_FREE char *text = NULL;

    memset(p, 0, sizeof *p);
    text = yamlutil_read(path, "fleet plan", "give a YAML file (fleet: ..., template: ..., groups: ...)");
    if (!text)
        return -1;
    return fleet_plan_parse(path, text, p);
}

/* ---- against a libvirt network ---- */

/* "52:54:00:11:22:33 'web-01'", what a reservation holds; into BUF. */
static const char *describe(const struct fleet_reservation *r, char *buf, size_t len)
{
    char a[16];

    snprintf(buf, len, "%s%s%s%s%s%s%s", r->mac ? r->mac : "", r->mac && (r->ip || r->name) ? " " : "",
             r->ip ? ipv4_format(r->ip, a) : "", r->ip && r->name ? " " : "", r->name ? "'" : "",
             r->name ? r->name : "", r->name ? "'" : "");
    return buf;
}

static int check_reservations(const struct fleet_plan *p, const struct fleet_clone *c, const struct fleet_network *net)
{
    char buf[256];

    for (size_t i = 0; i < net->nreserved; i++) {
        const struct fleet_reservation *r = &net->reserved[i];
        int same_ip = r->ip == c->ip;
        int same_mac = r->mac && strcasecmp(r->mac, c->mac) == 0;
        int same_name = r->name && (strcasecmp(r->name, c->name) == 0 || strcasecmp(r->name, c->hostname) == 0);
        if (!same_ip && !same_mac && !same_name)
            continue;
        if (same_ip && same_mac && (!r->name || same_name))
            continue; /* the clone's own, from an earlier apply */
        describe(r, buf, sizeof buf);
        if (same_ip)
            return fleet_group_error(p, c->group, FG_IP, "%s (%s) is already reserved in network '%s' for %s",
                                     c->ip_text, c->name, net->name, buf);
        if (same_mac)
            return fleet_group_error(p, c->group, FG_IP, "%s's MAC %s (from %s) is already reserved in network '%s' "
                                     "for %s", c->name, c->mac, c->ip_text, net->name, buf);
        return fleet_group_error(p, c->group, FG_IP, "the name '%s' is already reserved in network '%s' for %s, "
                                 "not %s", r->name, net->name, buf, c->ip_text);
    }
    return 0;
}

int fleet_check_network(const struct fleet_plan *p, int host, const struct fleet_network *net)
{
    uint32_t mask = ipv4_prefix_mask(net->prefix), base = net->address & mask, bcast = base | ~mask;
    uint32_t gateway = net->gateway ? net->gateway : net->address;
    char a[16];

    ipv4_format(base, a);
    for (size_t i = 0; i < p->nclones; i++) {
        const struct fleet_clone *c = &p->clones[i];
        const char *what = NULL;
        if (!c->ip || (host >= 0 && c->host != host) || strcmp(c->network ? c->network : "default", net->name) != 0)
            continue;
        if (!ipv4_in_subnet(c->ip, net->address, net->prefix))
            return fleet_group_error(p, c->group, FG_IP, "%s (%s) is outside network '%s' (%s/%d)", c->ip_text, c->name,
                                     net->name, a, net->prefix);
        if (c->ip == base)
            what = "the network address";
        else if (c->ip == bcast)
            what = "the broadcast address";
        else if (c->ip == net->address)
            what = "the host's own address";
        else if (c->ip == gateway)
            what = "the gateway";
        if (what)
            return fleet_group_error(p, c->group, FG_IP, "%s (%s) is %s of network '%s' (%s/%d)", c->ip_text, c->name,
                                     what, net->name, a, net->prefix);
        if (c->prefix && c->prefix != net->prefix)
            return fleet_group_error(p, c->group, FG_PREFIX, "/%d for %s, but network '%s' is %s/%d", c->prefix,
                                     c->name, net->name, a, net->prefix);
        if (!net->dhcp_start && !c->prefix)
            return fleet_group_error(p, c->group, FG_IP, "network '%s' has no DHCP, so %s cannot be given %s: give "
                                     "'prefix' (and 'gateway') for a static address", net->name, c->name, c->ip_text);
        if (check_reservations(p, c, net) < 0)
            return -1;
    }
    return 0;
}
