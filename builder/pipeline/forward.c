/* forward.c (pipeline): see forward.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapters/portfwd.h"
#include "adapters/virt.h"
#include "adapters/virtnet.h"
#include "base/cleanup.h"
#include "base/error.h"
#include "base/xalloc.h"
#include "pipeline/forward.h"
#include "pure/dac.h"
#include "pure/domxml.h"
#include "pure/netxml.h"

/* libvirt runs the scripts in hooks/qemu.d since 6.5.0. */
#define HOOK_DIR_LIBVIRT 6005000UL

/* Each forward of SETS[0..N) as the hook will check it: into a running
 * libvirt network of this host, to a guest's address on it, a host port
 * allowed (below 1024, 22, the host's listening ports: only as recorded). */
static int check_sets(virConnectPtr conn, const struct forward_set *sets, size_t n)
{
    struct forward_listening *l = NULL;
    int ret = 0;

    for (size_t i = 0; i < n && ret == 0; i++) {
        if (sets[i].n == 0)
            continue;
        if (!sets[i].network) {
            ret = error("port forwards to '%s' need a libvirt network (--network NAME): with user networking or "
                        "a host bridge, this host cannot reach its address through a network of its own",
                        sets[i].domain);
            break;
        }
        struct netxml nx;
        if (virtnet_read(conn, sets[i].network, &nx) < 0) {
            netxml_release(&nx);
            ret = -1;
            break;
        }
        struct forward_net net = { .name = sets[i].network, .gateway = nx.address, .prefix = nx.prefix };
        if (!nx.address || nx.prefix < 1 || nx.prefix > 30)
            ret = error("network '%s' has no IPv4 address of this host: port forwards go only into libvirt "
                        "networks with one (forward mode nat, route or none)", sets[i].network);
        else if (portfwd_gateway_on_host(sets[i].network, nx.bridge, nx.address) < 0)
            ret = -1;
        netxml_release(&nx);
        if (!l && ret == 0) {
            l = xcalloc(1, sizeof *l);
            if (portfwd_listening(l) < 0)
                ret = -1;
        }
        for (size_t a = 0; a < sets[i].n && ret == 0; a++)
            if (forward_check_address(&sets[i].f[a], sets[i].domain, &net) < 0 ||
                forward_check_port(&sets[i].f[a], sets[i].domain, l) < 0)
                ret = -1;
    }
    free(l);
    return ret;
}

int forward_plan_check(virConnectPtr conn, const struct forward_set *sets, size_t n)
{
    size_t total = 0, i, a, j, b;
    char what[32];

    for (size_t k = 0; k < n; k++)
        total += sets[k].n;
    if (total == 0)
        return 0;
    if (forward_find_twice(sets, n, &i, &a, &j, &b))
        return error("host port %u/%s is forwarded twice (to '%s' and '%s'): give each forward its own host port",
                     sets[i].f[a].host_port, forward_proto(&sets[i].f[a]), sets[j].domain, sets[i].domain);
    CLEANUP_FREE char *uri = virConnectGetURI(conn);
    if (!uri || !dac_uri_is_local(uri))
        return error("port forwards need vmstamp's libvirt hook on the host, and %s is not this machine's "
                     "qemu:///system: run vmstamp there, or drop --forward", uri ? uri : "the connection");
    unsigned long ver = 0;
    if (virConnectGetLibVersion(conn, &ver) == 0 && ver < HOOK_DIR_LIBVIRT)
        return error("port forwards need libvirt 6.5 or later (hooks/qemu.d); this host's is %lu.%lu.%lu",
                     ver / 1000000, ver / 1000 % 1000, ver % 1000);
    if (check_sets(conn, sets, n) < 0)
        return -1;

    virDomainPtr *doms = NULL;
    int nd = virConnectListAllDomains(conn, &doms, 0);
    if (nd < 0)
        return error("cannot list domains: %s", virt_error());
    int ret = 0;
    for (int d = 0; d < nd; d++) {
        CLEANUP_FREE char *xml = ret == 0 ? virDomainGetXMLDesc(doms[d], VIR_DOMAIN_XML_INACTIVE) : NULL;
        struct clone_meta meta;
        if (xml && domxml_parse(xml, &meta) == 0) {
            const char *other = virDomainGetName(doms[d]);
            for (size_t k = 0; k < meta.nforwards && ret == 0; k++)
                for (size_t i = 0; i < n && ret == 0; i++)
                    for (size_t a = 0; a < sets[i].n && ret == 0; a++)
                        if (forward_same_host_port(&meta.forwards[k], &sets[i].f[a]))
                            ret = error("host port %u/%s is already forwarded to domain '%s' (%s): pick another "
                                        "host port for '%s', or remove '%s'", sets[i].f[a].host_port,
                                        forward_proto(&sets[i].f[a]), other,
                                        forward_format(&meta.forwards[k], what, sizeof what), sets[i].domain,
                                        other);
            clone_meta_release(&meta);
        }
        if (ret == 0)
            error_clear();
        virDomainFree(doms[d]);
    }
    free(doms);
    return ret;
}

int forward_prepare(void)
{
    int created = 0;

    if (portfwd_hook_install(&created) < 0)
        return -1;
    if (!created)
        return 0;
    /* The daemon behind qemu:///system: virtqemud where it runs, else libvirtd. */
    const char *sock = access("/run/libvirt/virtqemud-sock", F_OK) == 0 ? "/run/libvirt/virtqemud-sock"
                                                                         : "/run/libvirt/libvirt-sock";
    if (portfwd_daemon_reload(sock) < 0) {
        warning("%s; until libvirt is reloaded (systemctl reload libvirtd), forwards are added by vmstamp when "
                "it starts a clone but not removed when it stops", error_message());
        error_clear();
    }
    return 0;
}

/* The forwards of META (domain NAME) checked as forward_plan_check did
 * when the clone was made, against what is on this host now. */
static int hook_check(const char *name, struct clone_meta *meta)
{
    char what[32];

    if (!meta->is_vmstamp)
        return error("domain '%s' has vmstamp port forwards, but its vmstamp metadata is not bound to it (a copy, "
                     "e.g. virt-clone or virsh dumpxml | define, or a clone made by a vmstamp before the binding): "
                     "they are not used and it is not started; "
                     "remove them (virsh edit %s), or make the clone with vmstamp clone", name, name);
    if (meta->bad_forward)
        return error("domain '%s' has a malformed vmstamp port forward (%s): fix or remove it (virsh edit %s)",
                     name, meta->bad_forward, name);
    /* allow-low-port and force count only as far as root's grant says. */
    if (portfwd_granted(meta->uuid, meta->forwards, meta->nforwards) < 0)
        return -1;
    if (meta->nforwards > FORWARD_MAX)
        return error("domain '%s' has %zu vmstamp port forwards: at most %d", name, meta->nforwards, FORWARD_MAX);
    struct forward_set set = { .domain = name, .f = meta->forwards, .n = meta->nforwards };
    size_t i, a, j, b;
    if (forward_find_twice(&set, 1, &i, &a, &j, &b))
        return error("domain '%s' forwards host port %s twice: fix its metadata (virsh edit %s)", name,
                     forward_format(&meta->forwards[a], what, sizeof what), name);
    if (!meta->net_type || strcmp(meta->net_type, "network") != 0 || !meta->net_source)
        return error("domain '%s' has vmstamp port forwards, but its first interface is on no libvirt network: "
                     "forwards go only into one (virsh edit %s)", name, name);
    struct forward_net net;
    if (portfwd_network(meta->net_source, &net) < 0)
        return -1;
    CLEANUP_FREE struct forward_listening *l = xcalloc(1, sizeof *l);
    if (portfwd_listening(l) < 0)
        return -1;
    for (size_t k = 0; k < meta->nforwards; k++)
        if (forward_check_address(&meta->forwards[k], name, &net) < 0 ||
            forward_check_port(&meta->forwards[k], name, l) < 0)
            return -1;
    return 0;
}

int forward_hook(const char *name, const char *op, const char *xml)
{
    struct clone_meta meta;
    int start = strcmp(op, "start") == 0, reconnect = strcmp(op, "reconnect") == 0;
    int ret = 0;

    if (!start && !reconnect && strcmp(op, "stopped") != 0)
        return 0;
    if (domxml_parse(xml, &meta) < 0)
        return error_replace("cannot read the XML of domain '%s' given by libvirt on stdin", name);
    if (!start && !reconnect) {
        /* What this domain's UUID added, whatever its metadata says now. */
        ret = portfwd_remove_owned(name, meta.uuid);
    } else if (meta.nforwards || meta.bad_forward) {
        ret = hook_check(name, &meta);
        if (ret == 0)
            ret = portfwd_add(name, meta.uuid, meta.forwards, meta.nforwards);
        if (ret < 0 && reconnect) {
            /* A failed reconnect hook makes libvirt kill the running domain:
             * say why, add nothing, let it run. */
            warning("%s", error_message());
            error_clear();
            ret = 0;
        }
    }
    clone_meta_release(&meta);
    return ret;
}
