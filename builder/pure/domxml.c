/* domxml.c: see domxml.h. XML is built through libxml2's tree API, so a
 * value with '<', '&' or quotes is escaped, never pasted. */
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/cleanup-xml.h"
#include "base/cleanup.h"
#include "pure/domxml.h"
#include "base/error.h"
#include "base/xalloc.h"
#include "pure/fleetplan.h"

int netspec_parse(const char *s, struct netspec *out)
{
    memset(out, 0, sizeof *out);
    if (strcmp(s, "user") == 0) {
        out->kind = NET_USER;
        return 0;
    }
    if (strncmp(s, "bridge:", 7) == 0 && s[7]) {
        out->kind = NET_BRIDGE;
        out->source = xstrdup(s + 7);
        return 0;
    }
    if (strncmp(s, "network:", 8) == 0)
        s += 8;
    if (!*s || strchr(s, ':'))
        return error("invalid --network '%s': use NAME, network:NAME, bridge:BRIDGE or user", s);
    out->kind = NET_NETWORK;
    out->source = xstrdup(s);
    return 0;
}

void netspec_release(struct netspec *n)
{
    free(n->source);
    n->source = NULL;
}

static xmlNodePtr child(xmlNodePtr parent, const char *name, const char *text)
{
    return xmlNewTextChild(parent, NULL, BAD_CAST name, BAD_CAST text);
}

static void attr(xmlNodePtr node, const char *name, const char *value)
{
    xmlNewProp(node, BAD_CAST name, BAD_CAST value);
}

char *domxml_build(const struct domain_spec *spec)
{
    xmlDocPtr doc = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr dom, n, dev, d, meta, ns_root;
    xmlNsPtr ns;
    xmlChar *buf = NULL;
    int len = 0;
    char num[32];
    char *ret;

    dom = xmlNewNode(NULL, BAD_CAST "domain");
    xmlDocSetRootElement(doc, dom);
    attr(dom, "type", spec->virt_type);
    child(dom, "name", spec->name);
    if (spec->uuid)
        child(dom, "uuid", spec->uuid);
    if (spec->description)
        child(dom, "description", spec->description);

    meta = spec->os_id || spec->template_path ? xmlNewChild(dom, NULL, BAD_CAST "metadata", NULL) : NULL;
    if (spec->os_id) {
        ns_root = xmlNewChild(meta, NULL, BAD_CAST "libosinfo", NULL);
        ns = xmlNewNs(ns_root, BAD_CAST LIBOSINFO_XMLNS, BAD_CAST "libosinfo");
        xmlSetNs(ns_root, ns);
        attr(xmlNewChild(ns_root, ns, BAD_CAST "os", NULL), "id", spec->os_id);
    }
    if (spec->template_path) {
        ns_root = xmlNewChild(meta, NULL, BAD_CAST "clone", NULL);
        ns = xmlNewNs(ns_root, BAD_CAST VMSTAMP_XMLNS, BAD_CAST "vmstamp");
        xmlSetNs(ns_root, ns);
        xmlNewTextChild(ns_root, ns, BAD_CAST "template", BAD_CAST spec->template_path);
        if (spec->uuid)
            xmlNewTextChild(ns_root, ns, BAD_CAST "uuid", BAD_CAST spec->uuid);
        if (spec->hostname)
            xmlNewTextChild(ns_root, ns, BAD_CAST "hostname", BAD_CAST spec->hostname);
        if (spec->created)
            xmlNewTextChild(ns_root, ns, BAD_CAST "created", BAD_CAST spec->created);
        xmlNewTextChild(ns_root, ns, BAD_CAST "disk", BAD_CAST spec->disk_path);
        if (spec->fleet) {
            xmlNodePtr f = xmlNewChild(ns_root, ns, BAD_CAST "fleet", NULL);
            attr(f, "name", spec->fleet->name);
            attr(f, "group", spec->fleet->group);
            attr(f, "plan", spec->fleet->plan);
            attr(f, "hash", spec->fleet->hash);
            if (spec->fleet->ip)
                attr(f, "ip", spec->fleet->ip);
        }
        for (size_t i = 0; i < spec->nforwards; i++) {
            const struct port_forward *pf = &spec->forwards[i];
            xmlNodePtr f = xmlNewChild(ns_root, ns, BAD_CAST "forward", NULL);
            attr(f, "proto", forward_proto(pf));
            attr(f, "host", (snprintf(num, sizeof num, "%u", pf->host_port), num));
            attr(f, "guest", (snprintf(num, sizeof num, "%u", pf->guest_port), num));
            attr(f, "address", pf->address);
            if (pf->allow_low)
                attr(f, "allow-low-port", "yes");
            if (pf->force)
                attr(f, "force", "yes");
        }
    }

    n = child(dom, "memory", (snprintf(num, sizeof num, "%llu",
                                      (unsigned long long)spec->memory_kib), num));
    attr(n, "unit", "KiB");
    child(dom, "vcpu", (snprintf(num, sizeof num, "%u", spec->vcpus), num));

    n = xmlNewChild(dom, NULL, BAD_CAST "os", NULL);
    d = child(n, "type", "hvm");
    attr(d, "arch", "x86_64");
    if (spec->machine)
        attr(d, "machine", spec->machine);
    if (spec->kernel) {
        child(n, "kernel", spec->kernel);
        child(n, "initrd", spec->initrd);
        child(n, "cmdline", spec->cmdline);
    } else {
        attr(xmlNewChild(n, NULL, BAD_CAST "boot", NULL), "dev", "hd");
    }

    n = xmlNewChild(dom, NULL, BAD_CAST "features", NULL);
    xmlNewChild(n, NULL, BAD_CAST "acpi", NULL);
    xmlNewChild(n, NULL, BAD_CAST "apic", NULL);
    if (strcmp(spec->virt_type, "kvm") == 0)
        attr(xmlNewChild(dom, NULL, BAD_CAST "cpu", NULL), "mode", "host-passthrough");
    attr(xmlNewChild(dom, NULL, BAD_CAST "clock", NULL), "offset", "utc");
    child(dom, "on_poweroff", "destroy");
    child(dom, "on_reboot", spec->on_reboot_destroy ? "destroy" : "restart");
    child(dom, "on_crash", "destroy");

    dev = xmlNewChild(dom, NULL, BAD_CAST "devices", NULL);
    d = xmlNewChild(dev, NULL, BAD_CAST "disk", NULL);
    attr(d, "type", spec->disk_block ? "block" : "file");
    attr(d, "device", "disk");
    n = xmlNewChild(d, NULL, BAD_CAST "driver", NULL);
    attr(n, "name", "qemu");
    attr(n, "type", spec->disk_format);
    attr(n, "discard", "unmap");
    attr(xmlNewChild(d, NULL, BAD_CAST "source", NULL), spec->disk_block ? "dev" : "file", spec->disk_path);
    n = xmlNewChild(d, NULL, BAD_CAST "target", NULL);
    attr(n, "dev", "vda");
    attr(n, "bus", "virtio");

    if (spec->cdrom) {
        d = xmlNewChild(dev, NULL, BAD_CAST "disk", NULL);
        attr(d, "type", "file");
        attr(d, "device", "cdrom");
        n = xmlNewChild(d, NULL, BAD_CAST "driver", NULL);
        attr(n, "name", "qemu");
        attr(n, "type", "raw");
        n = xmlNewChild(d, NULL, BAD_CAST "source", NULL);
        attr(n, "file", spec->cdrom);
        if (spec->cdrom_no_relabel) {
            /* libvirt would chown the ISO to the qemu user and, read-only
             * images never being restored, leave it so. */
            n = xmlNewChild(n, NULL, BAD_CAST "seclabel", NULL);
            attr(n, "model", "dac");
            attr(n, "relabel", "no");
        }
        n = xmlNewChild(d, NULL, BAD_CAST "target", NULL);
        attr(n, "dev", "sda");
        attr(n, "bus", "sata");
        xmlNewChild(d, NULL, BAD_CAST "readonly", NULL);
    }

    d = xmlNewChild(dev, NULL, BAD_CAST "interface", NULL);
    switch (spec->net->kind) {
    case NET_USER:
        attr(d, "type", "user");
        break;
    case NET_BRIDGE:
        attr(d, "type", "bridge");
        attr(xmlNewChild(d, NULL, BAD_CAST "source", NULL), "bridge", spec->net->source);
        break;
    case NET_NETWORK:
        attr(d, "type", "network");
        attr(xmlNewChild(d, NULL, BAD_CAST "source", NULL), "network", spec->net->source);
        break;
    }
    if (spec->mac)
        attr(xmlNewChild(d, NULL, BAD_CAST "mac", NULL), "address", spec->mac);
    attr(xmlNewChild(d, NULL, BAD_CAST "model", NULL), "type", "virtio");

    d = xmlNewChild(dev, NULL, BAD_CAST "serial", NULL);
    attr(d, "type", "pty");
    if (spec->console_log) {
        n = xmlNewChild(d, NULL, BAD_CAST "log", NULL);
        attr(n, "file", spec->console_log);
        attr(n, "append", "off");
    }
    attr(xmlNewChild(d, NULL, BAD_CAST "target", NULL), "port", "0");
    d = xmlNewChild(dev, NULL, BAD_CAST "console", NULL);
    attr(d, "type", "pty");
    n = xmlNewChild(d, NULL, BAD_CAST "target", NULL);
    attr(n, "type", "serial");
    attr(n, "port", "0");
    d = xmlNewChild(dev, NULL, BAD_CAST "rng", NULL);
    attr(d, "model", "virtio");
    n = child(d, "backend", "/dev/urandom");
    attr(n, "model", "random");
    attr(xmlNewChild(dev, NULL, BAD_CAST "memballoon", NULL), "model", "virtio");

    xmlDocDumpFormatMemoryEnc(doc, &buf, &len, "UTF-8", 1);
    xmlFreeDoc(doc);
    if (!buf) {
        error("cannot serialise the domain XML of '%s'", spec->name);
        return NULL;
    }
    ret = xstrdup((const char *)buf);
    xmlFree(buf);
    return ret; /* caller frees */
}

static char **xpath_strings(xmlXPathContextPtr ctx, const char *expr)
{
    CLEANUP_XPATH_OBJ xmlXPathObjectPtr obj = xmlXPathEvalExpression(BAD_CAST expr, ctx);
    int n = (obj && obj->nodesetval) ? obj->nodesetval->nodeNr : 0;
    char **v = xcalloc((size_t)n + 1, sizeof *v);
    int k = 0;

    for (int i = 0; i < n; i++) {
        CLEANUP_XMLCHAR xmlChar *s = xmlNodeGetContent(obj->nodesetval->nodeTab[i]);
        if (s)
            v[k++] = xstrdup((const char *)s);
    }
    return v; /* caller frees (strv_free) */
}

/* ATTR="VALUE" of a malformed <vmstamp:forward>, for its one-line message:
 * VALUE cut at 40 bytes, anything but printable ASCII shown as '?'. */
static void describe_attr(char **out, const char *attr, const xmlChar *value)
{
    char v[41];
    size_t i = 0;

    if (!value)
        return;
    for (; value[i] && i < sizeof v - 1; i++)
        v[i] = value[i] >= 0x20 && value[i] < 0x7f && value[i] != '"' ? (char)value[i] : '?';
    v[i] = '\0';
    char *s = xasprintf("%s%s%s=\"%s\"", *out, **out ? " " : "", attr, v);
    free(*out);
    *out = s;
}

/* A yes/no flag attribute: absent or "no" 0, "yes" 1, else -1. */
static int flag_attr(const xmlChar *v)
{
    if (!v || xmlStrcmp(v, BAD_CAST "no") == 0)
        return 0;
    return xmlStrcmp(v, BAD_CAST "yes") == 0 ? 1 : -1;
}

/* The <vmstamp:forward> elements under XPATH EXPR. A malformed one is left
 * out and the first such is described in *BAD (caller frees; NULL: none),
 * so the hook refuses the start instead of skipping it silently. */
static void xpath_forwards(xmlXPathContextPtr ctx, const char *expr, struct port_forward **out, size_t *n,
                           char **bad)
{
    CLEANUP_XPATH_OBJ xmlXPathObjectPtr obj = xmlXPathEvalExpression(BAD_CAST expr, ctx);
    int nodes = (obj && obj->nodesetval) ? obj->nodesetval->nodeNr : 0;

    *out = NULL;
    *n = 0;
    *bad = NULL;
    if (nodes == 0)
        return;
    *out = xcalloc((size_t)nodes, sizeof **out);
    for (int i = 0; i < nodes; i++) {
        xmlNodePtr node = obj->nodesetval->nodeTab[i];
        CLEANUP_XMLCHAR xmlChar *proto = xmlGetProp(node, BAD_CAST "proto");
        CLEANUP_XMLCHAR xmlChar *host = xmlGetProp(node, BAD_CAST "host");
        CLEANUP_XMLCHAR xmlChar *guest = xmlGetProp(node, BAD_CAST "guest");
        CLEANUP_XMLCHAR xmlChar *address = xmlGetProp(node, BAD_CAST "address");
        CLEANUP_XMLCHAR xmlChar *low = xmlGetProp(node, BAD_CAST "allow-low-port");
        CLEANUP_XMLCHAR xmlChar *force = xmlGetProp(node, BAD_CAST "force");
        struct port_forward *f = &(*out)[*n];
        uint32_t ip;
        int ok = proto && host && guest && address && flag_attr(low) >= 0 && flag_attr(force) >= 0 &&
                 (xmlStrcmp(proto, BAD_CAST "tcp") == 0 || xmlStrcmp(proto, BAD_CAST "udp") == 0) &&
                 ipv4_parse((const char *)address, &ip) == 0;
        if (ok) {
            CLEANUP_FREE char *text = xasprintf("%s:%s/%s", host, guest, proto);
            ok = forward_parse(text, f) == 0;
        }
        error_clear();
        if (!ok) {
            if (!*bad) {
                *bad = xstrdup("");
                describe_attr(bad, "proto", proto);
                describe_attr(bad, "host", host);
                describe_attr(bad, "guest", guest);
                describe_attr(bad, "address", address);
                describe_attr(bad, "allow-low-port", low);
                describe_attr(bad, "force", force);
            }
            continue;
        }
        ipv4_format(ip, f->address);
        f->allow_low = flag_attr(low);
        f->force = flag_attr(force);
        (*n)++;
    }
}

static int strv_has(char *const *v, const char *s)
{
    for (size_t i = 0; v[i]; i++)
        if (strcmp(v[i], s) == 0)
            return 1;
    return 0;
}

static char *xpath_string(xmlXPathContextPtr ctx, const char *expr)
{
    char **v = xpath_strings(ctx, expr);
    char *s = xstrdup_or_null(v[0]);

    strv_free(v);
    return s;
}

int domxml_parse(const char *xml, struct clone_meta *meta)
{
    CLEANUP_XMLDOC xmlDocPtr doc = NULL;
    CLEANUP_XPATH_CTX xmlXPathContextPtr ctx = NULL;

    memset(meta, 0, sizeof *meta);
    doc = xmlReadMemory(xml, (int)strlen(xml), "domain.xml", NULL,
                        XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc)
        return error("cannot parse domain XML");
    ctx = xmlXPathNewContext(doc);
    xmlXPathRegisterNs(ctx, BAD_CAST "v", BAD_CAST VMSTAMP_XMLNS);
    xmlXPathRegisterNs(ctx, BAD_CAST "o", BAD_CAST LIBOSINFO_XMLNS);
    meta->os_id = xpath_string(ctx, "/domain/metadata/o:libosinfo/o:os/@id");
    meta->uuid = xpath_string(ctx, "/domain/uuid");
    meta->template_path = xpath_string(ctx, "/domain/metadata/v:clone/v:template");
    {
        CLEANUP_FREE char *bound = xpath_string(ctx, "/domain/metadata/v:clone/v:uuid");
        /* libvirt writes <uuid> lowercase; a hand-written one may not be. */
        int same = bound && meta->uuid && strcasecmp(bound, meta->uuid) == 0;
        meta->is_vmstamp = meta->template_path != NULL && same;
        meta->unbound = meta->template_path != NULL && !same;
    }
    meta->hostname = xpath_string(ctx, "/domain/metadata/v:clone/v:hostname");
    meta->created = xpath_string(ctx, "/domain/metadata/v:clone/v:created");
    {
        char **named = xpath_strings(ctx, "/domain/metadata/v:clone/v:disk");
        char **used = xpath_strings(ctx, "/domain/devices/disk[@device='disk']/source/@file | "
                                         "/domain/devices/disk[@device='disk']/source/@dev");
        size_t n = 0, k = 0, s = 0;
        while (named[n])
            n++;
        meta->disks = xcalloc(n + 1, sizeof *meta->disks);
        meta->stray_disks = xcalloc(n + 1, sizeof *meta->stray_disks);
        for (size_t i = 0; i < n; i++) {
            if (meta->is_vmstamp && strv_has(used, named[i]))
                meta->disks[k++] = named[i];
            else
                meta->stray_disks[s++] = named[i];
        }
        free(named); /* the strings moved */
        strv_free(used);
    }
    meta->macs = xpath_strings(ctx, "/domain/devices/interface/mac/@address");
    meta->fleet = xpath_string(ctx, "/domain/metadata/v:clone/v:fleet/@name");
    meta->fleet_group = xpath_string(ctx, "/domain/metadata/v:clone/v:fleet/@group");
    meta->fleet_plan = xpath_string(ctx, "/domain/metadata/v:clone/v:fleet/@plan");
    meta->fleet_hash = xpath_string(ctx, "/domain/metadata/v:clone/v:fleet/@hash");
    meta->fleet_ip = xpath_string(ctx, "/domain/metadata/v:clone/v:fleet/@ip");
    xpath_forwards(ctx, "/domain/metadata/v:clone/v:forward", &meta->forwards, &meta->nforwards,
                   &meta->bad_forward);
    {
        CLEANUP_FREE char *mem = xpath_string(ctx, "/domain/memory");
        CLEANUP_FREE char *unit = xpath_string(ctx, "/domain/memory/@unit");
        CLEANUP_FREE char *vcpu = xpath_string(ctx, "/domain/vcpu");
        if (mem) {
            unsigned long long v = strtoull(mem, NULL, 10);
            if (unit && (strcmp(unit, "MiB") == 0 || strcmp(unit, "M") == 0))
                v *= 1024;
            else if (unit && (strcmp(unit, "GiB") == 0 || strcmp(unit, "G") == 0))
                v *= 1024 * 1024;
            else if (unit && strcmp(unit, "b") == 0)
                v /= 1024;
            meta->memory_kib = v;
        }
        if (vcpu)
            meta->vcpus = (unsigned)strtoul(vcpu, NULL, 10);
    }
    meta->net_type = xpath_string(ctx, "/domain/devices/interface[1]/@type");
    if (meta->net_type && strcmp(meta->net_type, "network") == 0)
        meta->net_source = xpath_string(ctx, "/domain/devices/interface[1]/source/@network");
    else if (meta->net_type && strcmp(meta->net_type, "bridge") == 0)
        meta->net_source = xpath_string(ctx, "/domain/devices/interface[1]/source/@bridge");
    return 0;
}

char *xml_get(const char *xml, const char *xpath)
{
    CLEANUP_XMLDOC xmlDocPtr doc = xmlReadMemory(xml, (int)strlen(xml), "in.xml", NULL,
                                                 XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    CLEANUP_XPATH_CTX xmlXPathContextPtr ctx = NULL;

    if (!doc)
        return NULL;
    ctx = xmlXPathNewContext(doc);
    if (!ctx)
        xalloc_die();
    return xpath_string(ctx, xpath); /* caller frees */
}

void clone_meta_release(struct clone_meta *meta)
{
    free(meta->uuid);
    free(meta->template_path);
    free(meta->hostname);
    free(meta->created);
    free(meta->os_id);
    strv_free(meta->disks);
    strv_free(meta->stray_disks);
    strv_free(meta->macs);
    free(meta->fleet);
    free(meta->fleet_group);
    free(meta->fleet_plan);
    free(meta->fleet_hash);
    free(meta->fleet_ip);
    free(meta->net_type);
    free(meta->net_source);
    free(meta->forwards);
    free(meta->bad_forward);
    memset(meta, 0, sizeof *meta);
}
