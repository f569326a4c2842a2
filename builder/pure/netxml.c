/* netxml.c: see netxml.h. Read with XPath, written through libxml2's tree
 * API (a name with '<' or '&' is escaped, never pasted). */
#include <ctype.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/cleanup-xml.h"
#include "base/cleanup.h"
#include "base/error.h"
#include "base/xalloc.h"
#include "pure/fleetplan.h"
#include "pure/netxml.h"

/* An attribute of NODE, or NULL; caller frees. */
static char *prop(xmlNodePtr node, const char *name)
{
    xmlChar *v = xmlGetProp(node, BAD_CAST name);
    char *s = v ? xstrdup((const char *)v) : NULL;

    xmlFree(v);
    return s;
}

/* An IPv4 address, or 0 when S is NULL or not one (without recording an
 * error: a bad attribute reads as absent). */
static uint32_t quiet_ipv4(const char *s)
{
    uint32_t ip = 0;
    int had_error = error_message() != NULL;

    if (!s)
        return 0;
    if (ipv4_parse(s, &ip) < 0) {
        if (!had_error)
            error_clear();
        return 0;
    }
    return ip;
}

/* "255.255.255.0" -> 24; -1 if not a contiguous netmask. */
static int netmask_prefix(uint32_t mask)
{
    int p = 0;

    while (p < 32 && (mask & (0x80000000u >> p)))
        p++;
    if (p < 32 && (mask << p) != 0)
        return -1;
    return p;
}

static int is_ipv4_ip(xmlNodePtr ip)
{
    CLEANUP_FREE char *family = prop(ip, "family");
    CLEANUP_FREE char *address = prop(ip, "address");

    if (family && strcmp(family, "ipv4") != 0)
        return 0;
    return quiet_ipv4(address) != 0;
}

static xmlNodePtr first_child(xmlNodePtr parent, const char *name)
{
    for (xmlNodePtr c = parent ? parent->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && xmlStrcmp(c->name, BAD_CAST name) == 0)
            return c;
    return NULL;
}

static void read_ip(struct netxml *out, xmlNodePtr ip, int first)
{
    xmlNodePtr dhcp = first_child(ip, "dhcp");

    if (first) {
        CLEANUP_FREE char *address = prop(ip, "address");
        CLEANUP_FREE char *prefix = prop(ip, "prefix");
        CLEANUP_FREE char *netmask = prop(ip, "netmask");
        out->address = quiet_ipv4(address);
        if (prefix) {
            char *end;
            long p = strtol(prefix, &end, 10);
            out->prefix = (*prefix && !*end && p >= 0 && p <= 32) ? (int)p : 0;
        } else if (netmask) {
            int p = netmask_prefix(quiet_ipv4(netmask));
            out->prefix = p > 0 ? p : 0;
        } else { /* libvirt's default: the address class */
            uint32_t a = out->address >> 24;
            out->prefix = a < 128 ? 8 : a < 192 ? 16 : 24;
        }
        xmlNodePtr range = first_child(dhcp, "range");
        if (range) {
            CLEANUP_FREE char *start = prop(range, "start");
            CLEANUP_FREE char *end = prop(range, "end");
            out->dhcp_start = quiet_ipv4(start);
            out->dhcp_end = quiet_ipv4(end);
            if (!out->dhcp_start || !out->dhcp_end)
                out->dhcp_start = out->dhcp_end = 0;
        }
    }
    for (xmlNodePtr h = dhcp ? dhcp->children : NULL; h; h = h->next) {
        if (h->type != XML_ELEMENT_NODE || xmlStrcmp(h->name, BAD_CAST "host") != 0)
            continue;
        CLEANUP_FREE char *mac = prop(h, "mac");
        CLEANUP_FREE char *addr = prop(h, "ip");
        struct netxml_host *e;
        out->hosts = xreallocarray(out->hosts, out->nhosts + 1, sizeof *out->hosts);
        e = &out->hosts[out->nhosts++];
        memset(e, 0, sizeof *e);
        if (mac && strlen(mac) == 17) {
            for (int i = 0; i < 17; i++)
                e->mac[i] = (char)tolower((unsigned char)mac[i]);
        }
        e->ip = quiet_ipv4(addr);
        e->name = prop(h, "name");
    }
}

static void read_dns(struct netxml *out, xmlNodePtr dns)
{
    for (xmlNodePtr h = dns ? dns->children : NULL; h; h = h->next) {
        if (h->type != XML_ELEMENT_NODE || xmlStrcmp(h->name, BAD_CAST "host") != 0)
            continue;
        CLEANUP_FREE char *addr = prop(h, "ip");
        uint32_t ip = quiet_ipv4(addr);
        if (!ip)
            continue; /* IPv6 */
        struct netxml_dns *d;
        out->dns = xreallocarray(out->dns, out->ndns + 1, sizeof *out->dns);
        d = &out->dns[out->ndns++];
        d->ip = ip;
        d->names = xcalloc(1, sizeof *d->names);
        for (xmlNodePtr n = h->children; n; n = n->next) {
            if (n->type != XML_ELEMENT_NODE || xmlStrcmp(n->name, BAD_CAST "hostname") != 0)
                continue;
            CLEANUP_XMLCHAR xmlChar *text = xmlNodeGetContent(n);
            if (text && *text)
                strv_append(&d->names, xstrdup((const char *)text));
        }
    }
}

int netxml_parse(const char *xml, struct netxml *out)
{
    CLEANUP_XMLDOC xmlDocPtr doc = NULL;
    xmlNodePtr root, c;
    int nip = 0;

    memset(out, 0, sizeof *out);
    doc = xmlReadMemory(xml, (int)strlen(xml), "network.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc)
        return error("cannot parse network XML: not well-formed");
    root = xmlDocGetRootElement(doc);
    if (!root || xmlStrcmp(root->name, BAD_CAST "network") != 0)
        return error("cannot parse network XML: the root element is not <network>");
    for (c = root->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (xmlStrcmp(c->name, BAD_CAST "name") == 0 && !out->name) {
            CLEANUP_XMLCHAR xmlChar *text = xmlNodeGetContent(c);
            out->name = xstrdup(text ? (const char *)text : "");
        } else if (xmlStrcmp(c->name, BAD_CAST "bridge") == 0 && !out->bridge) {
            out->bridge = prop(c, "name");
        } else if (xmlStrcmp(c->name, BAD_CAST "domain") == 0 && !out->domain) {
            out->domain = prop(c, "name");
        } else if (xmlStrcmp(c->name, BAD_CAST "forward") == 0 && !out->forward) {
            out->forward = prop(c, "mode");
            if (!out->forward)
                out->forward = xstrdup("nat");
        } else if (xmlStrcmp(c->name, BAD_CAST "ip") == 0 && is_ipv4_ip(c)) {
            read_ip(out, c, nip++ == 0);
        } else if (xmlStrcmp(c->name, BAD_CAST "dns") == 0) {
            read_dns(out, c);
        }
    }
    return 0;
}

void netxml_release(struct netxml *n)
{
    if (!n)
        return;
    free(n->name);
    free(n->bridge);
    free(n->domain);
    free(n->forward);
    for (size_t i = 0; i < n->nhosts; i++)
        free(n->hosts[i].name);
    free(n->hosts);
    for (size_t i = 0; i < n->ndns; i++)
        strv_free(n->dns[i].names);
    free(n->dns);
    memset(n, 0, sizeof *n);
}

long netxml_find_dhcp_host(const struct netxml *n, const char *mac, uint32_t ip, const char *name)
{
    for (size_t i = 0; i < n->nhosts; i++) {
        const struct netxml_host *h = &n->hosts[i];
        if (strcasecmp(h->mac, mac ? mac : "") == 0 && h->ip == ip &&
            (name ? h->name && strcmp(h->name, name) == 0 : !h->name))
            return (long)i;
    }
    return -1;
}

long netxml_find_dns_ip(const struct netxml *n, uint32_t ip)
{
    for (size_t i = 0; i < n->ndns; i++)
        if (n->dns[i].ip == ip)
            return (long)i;
    return -1;
}

long netxml_find_dns_name(const struct netxml *n, const char *hostname)
{
    for (size_t i = 0; i < n->ndns; i++)
        for (size_t k = 0; n->dns[i].names[k]; k++)
            if (strcmp(n->dns[i].names[k], hostname) == 0)
                return (long)i;
    return -1;
}

/* NODE serialised on its own (no XML declaration); caller frees. */
static char *dump(xmlNodePtr node)
{
    xmlBufferPtr buf = xmlBufferCreate();
    char *s;

    if (!buf)
        xalloc_die();
    if (xmlNodeDump(buf, NULL, node, 0, 0) < 0)
        xalloc_die();
    s = xstrdup((const char *)xmlBufferContent(buf));
    xmlBufferFree(buf);
    return s;
}

char *netxml_dhcp_host(const char *mac, uint32_t ip, const char *name)
{
    xmlNodePtr host = xmlNewNode(NULL, BAD_CAST "host");
    char addr[16];
    char *s;

    if (!host)
        xalloc_die();
    if (mac && *mac)
        xmlNewProp(host, BAD_CAST "mac", BAD_CAST mac);
    if (name)
        xmlNewProp(host, BAD_CAST "name", BAD_CAST name);
    if (ip)
        xmlNewProp(host, BAD_CAST "ip", BAD_CAST ipv4_format(ip, addr));
    s = dump(host);
    xmlFreeNode(host);
    return s; /* caller frees */
}

char *netxml_dns_host_names(uint32_t ip, char *const *names)
{
    xmlNodePtr host = xmlNewNode(NULL, BAD_CAST "host");
    char addr[16];
    char *s;

    if (!host)
        xalloc_die();
    xmlNewProp(host, BAD_CAST "ip", BAD_CAST ipv4_format(ip, addr));
    for (size_t i = 0; names && names[i]; i++)
        xmlNewTextChild(host, NULL, BAD_CAST "hostname", BAD_CAST names[i]);
    s = dump(host);
    xmlFreeNode(host);
    return s; /* caller frees */
}

char *netxml_dns_host(uint32_t ip, const char *hostname)
{
    char *names[2] = { (char *)hostname, NULL };

    return netxml_dns_host_names(ip, names); /* caller frees */
}
