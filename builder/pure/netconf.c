/* netconf.c: see netconf.h. Key=value formats go through edit.c's
 * edit_kv_replace; netplan is located with the YAML tree of yamlutil.c and
 * edited by lines, so comments and the rest of the file stay as they were. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/xalloc.h"
#include "pure/edit.h"
#include "pure/fleetplan.h"
#include "pure/netconf.h"
#include "pure/yamlutil.h"

/* ---- addresses ---- */

int netconf_parse_cidr(const char *s, const char *what, uint32_t *address, int *prefix)
{
    const char *slash = strchr(s, '/');
    CLEANUP_FREE char *addr = NULL;
    char *end;
    long p;

    what = what ? what : "address";
    if (!slash)
        return error("invalid %s '%s': give ADDRESS/PREFIX, e.g. 192.168.10.5/24", what, s);
    addr = xstrndup(s, (size_t)(slash - s));
    if (ipv4_parse(addr, address) < 0) {
        error_clear();
        return error("invalid %s '%s': '%s' is not a dotted quad like 192.168.10.5", what, s, addr);
    }
    p = isdigit((unsigned char)slash[1]) ? strtol(slash + 1, &end, 10) : -1;
    if (p < 1 || p > 32 || *end || (slash[1] == '0' && slash[2]))
        return error("invalid %s '%s': the prefix length is 1 to 32, e.g. /24", what, s);
    *prefix = (int)p;
    return 0;
}

static int unicast(uint32_t a)
{
    return a >> 24 != 0 && a >> 24 != 127 && a < 0xe0000000u;
}

int netconf_check(const struct static_ipv4 *ip)
{
    char a[16], g[16], d[16];
    uint32_t host = ip->prefix >= 32 ? 0 : 0xffffffffu >> ip->prefix;

    ipv4_format(ip->address, a);
    if (!unicast(ip->address))
        return error("address %s/%d is not a host address: give a unicast address", a, ip->prefix);
    if (ip->prefix <= 30 && ((ip->address & host) == 0 || (ip->address & host) == host))
        return error("address %s/%d is the %s address of its subnet: give a host address", a, ip->prefix,
                     (ip->address & host) == 0 ? "network" : "broadcast");
    if (ip->gateway) {
        ipv4_format(ip->gateway, g);
        if (!ipv4_in_subnet(ip->gateway, ip->address, ip->prefix))
            return error("gateway %s is not in %s/%d: give a gateway on the clone's subnet", g, a, ip->prefix);
        if (ip->gateway == ip->address)
            return error("gateway %s is the clone's own address: give the router's address", g);
    }
    for (size_t i = 0; i < ip->ndns; i++)
        if (!unicast(ip->dns[i]))
            return error("DNS server %s is not a unicast address", ipv4_format(ip->dns[i], d));
    return 0;
}

/* The strings of IP, formatted once. */
struct strs {
    char addr[16], gw[16], dns[NETCONF_MAX_DNS][16];
    char cidr[20];
    size_t ndns;
};

static void strs_init(struct strs *s, const struct static_ipv4 *ip)
{
    ipv4_format(ip->address, s->addr);
    snprintf(s->cidr, sizeof s->cidr, "%s/%d", s->addr, ip->prefix);
    s->gw[0] = '\0';
    if (ip->gateway)
        ipv4_format(ip->gateway, s->gw);
    s->ndns = ip->ndns < NETCONF_MAX_DNS ? ip->ndns : NETCONF_MAX_DNS;
    for (size_t i = 0; i < s->ndns; i++)
        ipv4_format(ip->dns[i], s->dns[i]);
}

/* PRE d1 SEP d2 ... POST for each DNS server; "" if none. */
static void put_dns(FILE *fp, const struct strs *s, const char *pre, const char *sep, const char *post)
{
    if (!s->ndns)
        return;
    fputs(pre, fp);
    for (size_t i = 0; i < s->ndns; i++)
        fprintf(fp, "%s%s", i ? sep : "", s->dns[i]);
    fputs(post, fp);
}

/* An open_memstream buffer. */
struct out {
    char *s;
    size_t len;
    FILE *fp;
};

static FILE *out_open(struct out *o)
{
    o->s = NULL;
    o->len = 0;
    o->fp = open_memstream(&o->s, &o->len);
    if (!o->fp)
        xalloc_die();
    return o->fp;
}

static char *out_close(struct out *o)
{
    fclose(o->fp);
    return o->s; /* caller frees */
}

/* TEXT with edit_kv_replace applied (a copy when nothing changed). */
static char *kv_replace(const char *text, const char *section, const char *const *drop, const char *set)
{
    char *r = edit_kv_replace(text, section, drop, set);
    return r ? r : xstrdup(text);
}

/* ---- formats by file name ---- */

static int in_dir(const char *path, size_t dl, const char *dir)
{
    return dl == strlen(dir) && strncmp(path, dir, dl) == 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n > k && strcmp(s + n - k, suffix) == 0;
}

enum netconf_format netconf_format_of(const char *path)
{
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    size_t dl = (size_t)(base - path);

    if (!*base)
        return NETCONF_NONE;
    if (in_dir(path, dl, "/etc/sysconfig/network-scripts/") && strncmp(base, "ifcfg-", 6) == 0 && base[6])
        return NETCONF_IFCFG;
    if (in_dir(path, dl, "/etc/NetworkManager/system-connections/"))
        return NETCONF_KEYFILE;
    if (in_dir(path, dl, "/etc/netplan/") && ends_with(base, ".yaml"))
        return NETCONF_NETPLAN;
    if (in_dir(path, dl, "/etc/systemd/network/") && ends_with(base, ".network"))
        return NETCONF_NETWORKD;
    if (strcmp(path, "/etc/network/interfaces") == 0 || in_dir(path, dl, "/etc/network/interfaces.d/"))
        return NETCONF_INTERFACES;
    return NETCONF_NONE;
}

const char *netconf_format_name(enum netconf_format f)
{
    switch (f) {
    case NETCONF_IFCFG: return "ifcfg";
    case NETCONF_KEYFILE: return "NetworkManager keyfile";
    case NETCONF_NETPLAN: return "netplan";
    case NETCONF_NETWORKD: return "systemd-networkd .network";
    case NETCONF_INTERFACES: return "ifupdown interfaces";
    default: return "unknown";
    }
}

int netconf_netplan_legacy(const char *os_id, const char *version_id)
{
    int major = 0, minor = 0;

    if (!os_id || !version_id || sscanf(version_id, "%d.%d", &major, &minor) < 1)
        return 0;
    if (strcmp(os_id, "ubuntu") == 0)
        return major * 100 + minor < 2110;
    if (strcmp(os_id, "debian") == 0)
        return major < 12;
    return 0;
}

/* ---- lines ---- */

struct lines {
    const char **p; /* start of each line */
    size_t *n;      /* its length, newline excluded */
    size_t count;
};

static void lines_split(struct lines *l, const char *text)
{
    size_t cap = 1;

    for (const char *q = text; *q; q++)
        cap += *q == '\n';
    l->p = xcalloc(cap, sizeof *l->p);
    l->n = xcalloc(cap, sizeof *l->n);
    l->count = 0;
    for (const char *q = text; *q;) {
        const char *end = strchr(q, '\n');
        size_t n = end ? (size_t)(end - q) : strlen(q);
        l->p[l->count] = q;
        l->n[l->count++] = n;
        q += n + (end ? 1 : 0);
    }
}

static void lines_free(struct lines *l)
{
    free(l->p);
    free(l->n);
}

static size_t indent_of(const char *p, size_t n)
{
    size_t i = 0;

    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    return i;
}

/* Blank or a comment (# ...). */
static int line_empty(const struct lines *l, size_t i)
{
    size_t k = indent_of(l->p[i], l->n[i]);
    return k == l->n[i] || l->p[i][k] == '#';
}

static void put_line(FILE *fp, const struct lines *l, size_t i)
{
    fwrite(l->p[i], 1, l->n[i], fp);
    fputc('\n', fp);
}

/* Word W (0-based) of line I into OUT (empty if none). */
static void line_word(const struct lines *l, size_t i, int w, char *out, size_t outsz)
{
    const char *p = l->p[i], *end = p + l->n[i];

    out[0] = '\0';
    for (int k = 0; p < end; k++) {
        while (p < end && isspace((unsigned char)*p))
            p++;
        const char *s = p;
        while (p < end && !isspace((unsigned char)*p))
            p++;
        if (p == s)
            return;
        if (k == w) {
            size_t n = (size_t)(p - s) < outsz - 1 ? (size_t)(p - s) : outsz - 1;
            memcpy(out, s, n);
            out[n] = '\0';
            return;
        }
    }
}

/* ---- ifcfg ---- */

char *netconf_ifcfg(const char *text, const char *ifname, const char *mac, const struct static_ipv4 *ip)
{
    static const char *const drop[] = { "BOOTPROTO", "IPADDR#", "PREFIX#", "NETMASK#", "GATEWAY#", NULL };
    static const char *const drop_dns[] = { "BOOTPROTO", "IPADDR#", "PREFIX#", "NETMASK#", "GATEWAY#", "DNS#",
                                            "PEERDNS", NULL };
    CLEANUP_FREE char *fresh = NULL;
    CLEANUP_FREE char *set = NULL;
    struct strs s;
    struct out o;
    FILE *fp = out_open(&o);

    strs_init(&s, ip);
    fprintf(fp, "BOOTPROTO=none\nIPADDR=%s\nPREFIX=%d\n", s.addr, ip->prefix);
    if (ip->gateway)
        fprintf(fp, "GATEWAY=%s\n", s.gw);
    for (size_t i = 0; i < s.ndns; i++)
        fprintf(fp, "DNS%zu=%s\n", i + 1, s.dns[i]);
    set = out_close(&o);
    if (!text) {
        ifname = ifname ? ifname : "eth0";
        fresh = xasprintf("TYPE=Ethernet\nNAME=%s\nDEVICE=%s\nONBOOT=yes\n%s%s%s", ifname, ifname,
                          mac ? "HWADDR=" : "", mac ? mac : "", mac ? "\n" : "");
    }
    return kv_replace(text ? text : fresh, NULL, s.ndns ? drop_dns : drop, set);
}

/* ---- NetworkManager keyfile ---- */

char *netconf_keyfile(const char *text, const char *ifname, const char *mac, const struct static_ipv4 *ip)
{
    static const char *const drop[] = { "method", "address#", "addresses#", "gateway", NULL };
    static const char *const drop_dns[] = { "method", "address#", "addresses#", "gateway", "dns", NULL };
    CLEANUP_FREE char *fresh = NULL;
    CLEANUP_FREE char *set = NULL;
    struct strs s;
    struct out o;
    FILE *fp = out_open(&o);

    strs_init(&s, ip);
    fprintf(fp, "method=manual\naddress1=%s%s%s\n", s.cidr, ip->gateway ? "," : "", s.gw);
    put_dns(fp, &s, "dns=", ";", ";\n");
    set = out_close(&o);
    if (!text) {
        ifname = ifname ? ifname : "eth0";
        fresh = xasprintf("[connection]\nid=%s\ntype=ethernet\ninterface-name=%s\n\n[ethernet]\n%s%s%s\n"
                          "[ipv4]\nmethod=auto\n\n[ipv6]\naddr-gen-mode=eui64\nmethod=auto\n",
                          ifname, ifname, mac ? "mac-address=" : "", mac ? mac : "", mac ? "\n" : "");
    }
    return kv_replace(text ? text : fresh, "ipv4", s.ndns ? drop_dns : drop, set);
}

/* ---- systemd-networkd ---- */

char *netconf_networkd(const char *text, const char *ifname, const char *mac, const struct static_ipv4 *ip)
{
    static const char *const drop[] = { "DHCP", "Address", "Gateway", NULL };
    static const char *const drop_dns[] = { "DHCP", "Address", "Gateway", "DNS", NULL };
    static const char *const v6[] = { "yes", "true", "on", "1", "ipv6", "both", NULL };
    CLEANUP_FREE char *fresh = NULL;
    CLEANUP_FREE char *set = NULL;
    CLEANUP_FREE char *dhcp = NULL;
    const char *dhcp_now = "no";
    struct strs s;
    struct out o;
    FILE *fp;

    (void)mac; /* matched by name; a .link file pins the MAC */
    if (!text) {
        fresh = xasprintf("[Match]\nName=%s\n\n[Network]\n", ifname ? ifname : "eth0");
        text = fresh;
    }
    /* DHCPv6 stays as it was: only IPv4 becomes static. */
    dhcp = edit_kv_get(text, "Network", "DHCP");
    for (size_t i = 0; dhcp && v6[i]; i++)
        if (strcasecmp(dhcp, v6[i]) == 0)
            dhcp_now = "ipv6";
    strs_init(&s, ip);
    fp = out_open(&o);
    fprintf(fp, "DHCP=%s\nAddress=%s\n", dhcp_now, s.cidr);
    if (ip->gateway)
        fprintf(fp, "Gateway=%s\n", s.gw);
    put_dns(fp, &s, "DNS=", "\nDNS=", "\n");
    set = out_close(&o);
    return kv_replace(text, "Network", s.ndns ? drop_dns : drop, set);
}

/* ---- Debian ifupdown ---- */

static int word_in(const char *word, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (strcmp(word, list[i]) == 0)
            return 1;
    return 0;
}

static int stanza_start(const char *word)
{
    static const char *const kw[] = { "iface", "mapping", "auto", "source", "source-directory",
                                      "no-auto-down", "no-scripts", "rename", NULL };

    return word_in(word, kw) || strncmp(word, "allow-", 6) == 0;
}

/* The first `iface IF inet METHOD` line configuring IFNAME (NULL: the
 * first one that is not lo, with method dhcp or static); -1 if none. */
static long find_iface(const struct lines *l, const char *ifname)
{
    for (size_t i = 0; i < l->count; i++) {
        char w0[16], name[64], fam[16], method[32];
        line_word(l, i, 0, w0, sizeof w0);
        line_word(l, i, 1, name, sizeof name);
        line_word(l, i, 2, fam, sizeof fam);
        line_word(l, i, 3, method, sizeof method);
        if (strcmp(w0, "iface") != 0 || strcmp(fam, "inet") != 0)
            continue;
        if (ifname ? strcmp(name, ifname) == 0
                   : strcmp(name, "lo") != 0 && (strcmp(method, "dhcp") == 0 || strcmp(method, "static") == 0))
            return (long)i;
    }
    return -1;
}

static void put_iface_options(FILE *fp, const char *ind, const struct strs *s)
{
    fprintf(fp, "%saddress %s\n", ind, s->cidr);
    if (s->gw[0])
        fprintf(fp, "%sgateway %s\n", ind, s->gw);
    if (s->ndns) {
        fprintf(fp, "%s", ind);
        put_dns(fp, s, "dns-nameservers ", " ", "\n");
    }
}

char *netconf_interfaces(const char *text, const char *ifname, const char *mac, const struct static_ipv4 *ip)
{
    static const char *const drop_dns[] = { "address", "netmask", "gateway", "broadcast", "network",
                                            "dns-nameservers", NULL };
    static const char *const drop_addr[] = { "address", "netmask", "gateway", "broadcast", "network", NULL };
    struct lines l;
    struct strs s;
    struct out o;
    FILE *fp = out_open(&o);
    long at;

    (void)mac; /* `hwaddress` sets a MAC, it does not match one: left as it is */
    strs_init(&s, ip);
    const char *const *drop = s.ndns ? drop_dns : drop_addr; /* no new servers: the old ones stay */
    lines_split(&l, text ? text : "");
    at = find_iface(&l, ifname);
    if (at < 0) {
        const char *name = ifname ? ifname : "eth0";
        for (size_t i = 0; i < l.count; i++)
            put_line(fp, &l, i);
        if (l.count && !line_empty(&l, l.count - 1))
            fputc('\n', fp);
        fprintf(fp, "auto %s\niface %s inet static\n", name, name);
        put_iface_options(fp, "    ", &s);
        lines_free(&l);
        return out_close(&o);
    }
    /* The stanza's option lines: up to the next stanza; the last one that
     * is not blank or a comment ends it (what follows stays after it). */
    size_t last = (size_t)at, drop_at = 0;
    char ind[32] = "    ";
    for (size_t i = (size_t)at + 1; i < l.count; i++) {
        char w0[64];
        if (line_empty(&l, i))
            continue;
        line_word(&l, i, 0, w0, sizeof w0);
        if (stanza_start(w0))
            break;
        if (last == (size_t)at) {
            size_t k = indent_of(l.p[i], l.n[i]);
            k = k < sizeof ind - 1 ? k : sizeof ind - 1;
            memcpy(ind, l.p[i], k);
            ind[k] = '\0';
        }
        last = i;
        if (!drop_at && word_in(w0, drop))
            drop_at = i;
    }
    for (size_t i = 0; i < (size_t)at; i++)
        put_line(fp, &l, i);
    {
        /* iface NAME inet static, keeping what comes after METHOD */
        const char *p = l.p[at], *end = p + l.n[at];
        for (int w = 0; w < 3; w++) {
            while (p < end && isspace((unsigned char)*p))
                p++;
            while (p < end && !isspace((unsigned char)*p))
                p++;
        }
        while (p < end && isspace((unsigned char)*p))
            p++;
        fwrite(l.p[at], 1, (size_t)(p - l.p[at]), fp);
        fputs("static", fp);
        while (p < end && !isspace((unsigned char)*p))
            p++;
        fwrite(p, 1, (size_t)(end - p), fp);
        fputc('\n', fp);
    }
    for (size_t i = (size_t)at + 1; i <= last; i++) {
        char w0[64];
        if (i == drop_at)
            put_iface_options(fp, ind, &s);
        line_word(&l, i, 0, w0, sizeof w0);
        if (line_empty(&l, i) || !word_in(w0, drop))
            put_line(fp, &l, i);
    }
    if (!drop_at)
        put_iface_options(fp, ind, &s);
    for (size_t i = last + 1; i < l.count; i++)
        put_line(fp, &l, i);
    lines_free(&l);
    return out_close(&o);
}

/* ---- netplan ---- */

static const struct ynode *map_get(const struct ynode *m, const char *key)
{
    for (size_t i = 0; m && m->kind == YNODE_MAP && i < m->n; i++)
        if (strcmp(m->keys[i], key) == 0)
            return m->items[i];
    return NULL;
}

static const char *scalar(const struct ynode *n)
{
    return n && n->kind == YNODE_SCALAR && !n->null ? n->value : NULL;
}

/* The name netplan's entry KEY (value V) gives its interface. */
static const char *netplan_entry_name(const char *key, const struct ynode *v)
{
    const char *set_name = scalar(map_get(v, "set-name"));
    const char *match_name = scalar(map_get(map_get(v, "match"), "name"));

    if (set_name)
        return set_name;
    if (match_name && !strpbrk(match_name, "*?["))
        return match_name;
    return key;
}

static int netplan_entry_matches(const char *key, const struct ynode *v, const char *ifname, const char *mac)
{
    const char *m = scalar(map_get(map_get(v, "match"), "macaddress"));

    if (ifname && (strcmp(key, ifname) == 0 || strcmp(netplan_entry_name(key, v), ifname) == 0))
        return 1;
    return mac && m && strcasecmp(m, mac) == 0;
}

/* The last line (0-based) of the block under key line K: lines indented
 * deeper than it (or as deep, for the items of a list under it), blank and
 * comment lines inside but not after it. */
static size_t block_end(const struct lines *l, size_t k)
{
    size_t ind = indent_of(l->p[k], l->n[k]), last = k;

    for (size_t i = k + 1; i < l->count; i++) {
        if (line_empty(l, i))
            continue;
        size_t li = indent_of(l->p[i], l->n[i]);
        if (li < ind || (li == ind && l->p[i][li] != '-'))
            break;
        last = i;
    }
    return last;
}

/* The key of mapping line I at indent C ("" if it is a list item); OUT. */
static const char *yaml_key(const struct lines *l, size_t i, size_t c, char *out, size_t outsz)
{
    const char *p = l->p[i] + c;
    size_t n = l->n[i] - c, k = 0;

    out[0] = '\0';
    if (n && *p == '-')
        return out;
    if (n && (*p == '"' || *p == '\'')) {
        p++;
        n--;
    }
    while (k < n && k < outsz - 1 && p[k] != ':' && p[k] != '"' && p[k] != '\'')
        k++;
    memcpy(out, p, k);
    out[k] = '\0';
    return out;
}

/* Whether line I (KEY: at indent C) has its value on the same line. */
static int yaml_inline_value(const struct lines *l, size_t i, size_t c)
{
    const char *colon = memchr(l->p[i] + c, ':', l->n[i] - c);

    if (!colon)
        return 0;
    for (const char *q = colon + 1; q < l->p[i] + l->n[i]; q++)
        if (*q == '#')
            return 0;
        else if (!isspace((unsigned char)*q))
            return 1;
    return 0;
}

/* The keys of a static IPv4 entry at indent C (each level STEP deeper);
 * nameservers: only with DNS. */
static void put_netplan_keys(FILE *fp, size_t c, size_t step, const struct strs *s, int legacy, int dns)
{
    int C = (int)c, S = (int)step;

    fprintf(fp, "%*sdhcp4: false\n", C, "");
    fprintf(fp, "%*saddresses:\n%*s- %s\n", C, "", C + S, "", s->cidr);
    if (s->gw[0])
        fprintf(fp, "%*sroutes:\n%*s- to: %s\n%*s  via: %s\n", C, "", C + S, "", legacy ? "0.0.0.0/0" : "default",
                C + S, "", s->gw);
    if (dns && s->ndns) {
        fprintf(fp, "%*snameservers:\n%*s", C, "", C + S, "");
        put_dns(fp, s, "addresses: [", ", ", "]\n");
    }
}

/* A new ethernets entry NAME at indent K (keys at K + STEP). */
static void put_netplan_entry(FILE *fp, size_t k, size_t step, const char *name, const char *mac,
                              const struct strs *s, int legacy)
{
    int K = (int)k, S = (int)step;

    fprintf(fp, "%*s%s:\n", K, "", name);
    if (mac)
        fprintf(fp, "%*smatch:\n%*smacaddress: \"%s\"\n%*sset-name: %s\n", K + S, "", K + 2 * S, "", mac, K + S, "",
                name);
    put_netplan_keys(fp, k + step, step, s, legacy, 1);
}

/* The entry at key line K (0-based): dhcp4, addresses, gateway4 and routes
 * give way to the static keys (where the first of them was); with DNS,
 * nameservers: gets the new addresses: (its search: stays). */
static void netplan_edit_entry(FILE *fp, const struct lines *l, size_t k, size_t step, const struct strs *s,
                               int legacy)
{
    static const char *const replaced[] = { "dhcp4", "addresses", "gateway4", "routes", NULL };
    size_t end = block_end(l, k), c = indent_of(l->p[k], l->n[k]) + step;
    int placed = 0, ns_block = 0;
    char key[64];

    for (size_t i = k + 1; i <= end; i++)
        if (!line_empty(l, i)) {
            c = indent_of(l->p[i], l->n[i]);
            break;
        }
    /* A nameservers: block to edit (one on a single line is replaced). */
    for (size_t i = k + 1; i <= end; i++)
        if (!line_empty(l, i) && indent_of(l->p[i], l->n[i]) == c &&
            strcmp(yaml_key(l, i, c, key, sizeof key), "nameservers") == 0 && !yaml_inline_value(l, i, c))
            ns_block = 1;
    put_line(fp, l, k);
    for (size_t i = k + 1; i <= end;) {
        if (line_empty(l, i) || indent_of(l->p[i], l->n[i]) != c) {
            put_line(fp, l, i++);
            continue;
        }
        size_t cend = block_end(l, i);
        yaml_key(l, i, c, key, sizeof key);
        if (word_in(key, replaced) || (s->ndns && !ns_block && strcmp(key, "nameservers") == 0)) {
            if (!placed)
                put_netplan_keys(fp, c, step, s, legacy, !ns_block);
            placed = 1;
            i = cend + 1;
            continue;
        }
        if (s->ndns && strcmp(key, "nameservers") == 0) {
            size_t gc = c + step;
            int done = 0;
            put_line(fp, l, i);
            for (size_t j = i + 1; j <= cend; j++)
                if (!line_empty(l, j)) {
                    gc = indent_of(l->p[j], l->n[j]);
                    break;
                }
            for (size_t j = i + 1; j <= cend;) {
                if (!line_empty(l, j) && indent_of(l->p[j], l->n[j]) == gc &&
                    strcmp(yaml_key(l, j, gc, key, sizeof key), "addresses") == 0) {
                    fprintf(fp, "%*s", (int)gc, "");
                    put_dns(fp, s, "addresses: [", ", ", "]\n");
                    done = 1;
                    j = block_end(l, j) + 1;
                    continue;
                }
                put_line(fp, l, j++);
            }
            if (!done) {
                fprintf(fp, "%*s", (int)gc, "");
                put_dns(fp, s, "addresses: [", ", ", "]\n");
            }
            i = cend + 1;
            continue;
        }
        for (; i <= cend; i++)
            put_line(fp, l, i);
    }
    if (!placed)
        put_netplan_keys(fp, c, step, s, legacy, !ns_block);
}

/* The first line break in TEXT that libyaml counts and lines_split does
 * not: a CR not before an LF, NEL, LS or PS (the edits below index TEXT's
 * lines by libyaml's line numbers, which must be the same); NULL if none. */
static const char *other_break(const char *text)
{
    for (const char *p = text; *p; p++)
        if ((p[0] == '\r' && p[1] != '\n') || (p[0] == '\xc2' && p[1] == '\x85') ||
            (p[0] == '\xe2' && p[1] == '\x80' && (p[2] == '\xa8' || p[2] == '\xa9')))
            return p;
    return NULL;
}

char *netconf_netplan(const char *path, const char *text, const char *ifname, const char *mac,
                      const struct static_ipv4 *ip, int legacy)
{
    struct ynode *root = NULL;
    struct lines l = { 0 };
    struct strs s;
    struct out o;
    FILE *fp = out_open(&o);
    const char *name = ifname ? ifname : "eth0";
    char *result = NULL;

    path = path ? path : "netplan file";
    strs_init(&s, ip);
    const char *odd = text ? other_break(text) : NULL;
    if (odd) {
        size_t line = 1;
        for (const char *p = text; p < odd; p++)
            line += *p == '\n';
        yamlutil_error_at(path, line, "a line break other than LF or CRLF (CR alone, NEL, LS or PS): "
                          "write the file with LF line ends");
        goto out;
    }
    if (ynode_load(path, text ? text : "", "a netplan file", &root) < 0)
        goto out;
    lines_split(&l, text ? text : "");
    if (!root || (root->kind == YNODE_SCALAR && root->null)) {
        /* Nothing (or only comments): a whole new file. */
        for (size_t i = 0; i < l.count; i++)
            put_line(fp, &l, i);
        fputs("network:\n  version: 2\n  ethernets:\n", fp);
        put_netplan_entry(fp, 4, 2, name, mac, &s, legacy);
        goto done;
    }
    const struct ynode *net = map_get(root, "network");
    if (!net || net->kind != YNODE_MAP || net->n == 0) {
        yamlutil_error_at(path, root->line, "no 'network:' mapping to add %s to", name);
        goto out;
    }
    size_t net_line = 0;
    for (size_t i = 0; i < root->n; i++)
        if (root->items[i] == net)
            net_line = root->key_lines[i] - 1;
    const struct ynode *eth = map_get(net, "ethernets");
    size_t eth_line = 0;
    for (size_t i = 0; i < net->n; i++)
        if (net->items[i] == eth)
            eth_line = net->key_lines[i] - 1;
    if (net->line - 1 == net_line) {
        yamlutil_error_at(path, net->line, "'network:' is in flow style ({...}): write it one key a line");
        goto out;
    }
    size_t step = indent_of(l.p[net->line - 1], l.n[net->line - 1]) - indent_of(l.p[net_line], l.n[net_line]);
    step = step ? step : 2;
    if (!eth || (eth->kind == YNODE_SCALAR && eth->null)) {
        /* No ethernets yet (or `ethernets:` with nothing under it, which
         * is replaced): it goes, with the entry, at the end of network:. */
        size_t at = eth ? eth_line : block_end(&l, net_line);
        size_t c = indent_of(l.p[net->line - 1], l.n[net->line - 1]);
        for (size_t i = 0; i < l.count; i++) {
            if (!(eth && i == at))
                put_line(fp, &l, i);
            if (i == at) {
                fprintf(fp, "%*sethernets:\n", (int)c, "");
                put_netplan_entry(fp, c + step, step, name, mac, &s, legacy);
            }
        }
        goto done;
    }
    if (eth->kind != YNODE_MAP || eth->line - 1 == eth_line) {
        yamlutil_error_at(path, eth_line + 1, "'ethernets:' is not a mapping written one key a line");
        goto out;
    }
    for (size_t i = 0; i < eth->n; i++) {
        const struct ynode *v = eth->items[i];
        size_t k = eth->key_lines[i] - 1;
        if (!netplan_entry_matches(eth->keys[i], v, ifname, mac))
            continue;
        if (v->kind == YNODE_LIST || (v->kind == YNODE_SCALAR && !v->null) ||
            (v->kind == YNODE_MAP && v->line - 1 == k)) {
            yamlutil_error_at(path, k + 1, "ethernets entry '%s' is not a mapping written one key a line",
                              eth->keys[i]);
            goto out;
        }
        for (size_t j = 0; j < k; j++)
            put_line(fp, &l, j);
        netplan_edit_entry(fp, &l, k, step, &s, legacy);
        for (size_t j = block_end(&l, k) + 1; j < l.count; j++)
            put_line(fp, &l, j);
        goto done;
    }
    /* No entry for the interface: one more at the end of ethernets:. */
    {
        size_t end = block_end(&l, eth_line);
        size_t kind = indent_of(l.p[eth->line - 1], l.n[eth->line - 1]);
        for (size_t i = 0; i < l.count; i++) {
            put_line(fp, &l, i);
            if (i == end)
                put_netplan_entry(fp, kind, step, name, mac, &s, legacy);
        }
    }
done:
    result = out_close(&o);
    fp = NULL;
    /* What was written must read back. */
    ynode_free(root);
    root = NULL;
    if (ynode_load(path, result, "a netplan file", &root) < 0) {
        error_replace("%s: vmstamp made invalid YAML of it (%s): report this", path,
                      error_message() ? error_message() : "?");
        free(result);
        result = NULL;
    }
out:
    if (fp)
        free(out_close(&o));
    ynode_free(root);
    lines_free(&l);
    return result; /* caller frees */
}

/* ---- which interface a file configures ---- */

static char *ifcfg_interface(const char *path, const char *text)
{
    CLEANUP_FREE char *type = edit_kv_get(text, NULL, "TYPE");
    CLEANUP_FREE char *master = edit_kv_get(text, NULL, "MASTER");
    CLEANUP_FREE char *bridge = edit_kv_get(text, NULL, "BRIDGE");
    char *dev = edit_kv_get(text, NULL, "DEVICE");

    if (!dev || !*dev) {
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        free(dev);
        dev = xstrdup(base + 6);
    }
    if (strcmp(dev, "lo") == 0 || (type && strcasecmp(type, "Ethernet") != 0) || (master && *master) ||
        (bridge && *bridge)) {
        free(dev);
        return NULL;
    }
    return dev;
}

static char *keyfile_interface(const char *text)
{
    CLEANUP_FREE char *type = edit_kv_get(text, "connection", "type");
    CLEANUP_FREE char *master = edit_kv_get(text, "connection", "master");
    CLEANUP_FREE char *controller = edit_kv_get(text, "connection", "controller");
    char *name;

    if (!type || (strcmp(type, "ethernet") != 0 && strcmp(type, "802-3-ethernet") != 0) || master || controller)
        return NULL;
    name = edit_kv_get(text, "connection", "interface-name");
    return name ? name : xstrdup("");
}

static char *networkd_interface(const char *text)
{
    CLEANUP_FREE char *bridge = edit_kv_get(text, "Network", "Bridge");
    CLEANUP_FREE char *bond = edit_kv_get(text, "Network", "Bond");
    char *name = edit_kv_get(text, "Match", "Name");

    if (bridge || bond || (name && strcmp(name, "lo") == 0)) {
        free(name);
        return NULL;
    }
    if (name && (strpbrk(name, "*?[ ") || !*name)) {
        free(name);
        name = NULL;
    }
    return name ? name : xstrdup("");
}

static char *netplan_interface(const char *text)
{
    struct ynode *root = NULL;
    char *name = NULL;

    if (ynode_load("netplan", text, "a netplan file", &root) < 0) {
        error_clear();
        return NULL;
    }
    const struct ynode *eth = map_get(map_get(root, "network"), "ethernets");
    if (eth && eth->kind == YNODE_MAP && eth->n)
        name = xstrdup(netplan_entry_name(eth->keys[0], eth->items[0]));
    ynode_free(root);
    return name;
}

char *netconf_interface(enum netconf_format f, const char *path, const char *text)
{
    struct lines l;
    long at;
    char name[64];

    switch (f) {
    case NETCONF_IFCFG: return ifcfg_interface(path, text);
    case NETCONF_KEYFILE: return keyfile_interface(text);
    case NETCONF_NETWORKD: return networkd_interface(text);
    case NETCONF_NETPLAN: return netplan_interface(text);
    case NETCONF_INTERFACES:
        lines_split(&l, text);
        at = find_iface(&l, NULL);
        if (at >= 0)
            line_word(&l, (size_t)at, 1, name, sizeof name);
        lines_free(&l);
        return at >= 0 ? xstrdup(name) : NULL;
    default: return NULL;
    }
}

char *netconf_write(enum netconf_format f, const char *path, const char *text, const char *ifname, const char *mac,
                    const struct static_ipv4 *ip, unsigned flags)
{
    switch (f) {
    case NETCONF_IFCFG: return netconf_ifcfg(text, ifname, mac, ip);
    case NETCONF_KEYFILE: return netconf_keyfile(text, ifname, mac, ip);
    case NETCONF_NETPLAN: return netconf_netplan(path, text, ifname, mac, ip, (flags & NETCONF_NETPLAN_LEGACY) != 0);
    case NETCONF_NETWORKD: return netconf_networkd(text, ifname, mac, ip);
    case NETCONF_INTERFACES: return netconf_interfaces(text, ifname, mac, ip);
    default:
        error("%s: not a network configuration vmstamp writes", path ? path : "file");
        return NULL;
    }
}
