/* forward.c (pipeline): see forward.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapters/portfwd.h"
#include "adapters/virt.h"
#include "base/cleanup.h"
#include "base/error.h"
#include "pipeline/forward.h"
#include "pure/dac.h"
#include "pure/domxml.h"

/* libvirt runs the scripts in hooks/qemu.d since 6.5.0. */
#define HOOK_DIR_LIBVIRT 6005000UL

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

int forward_hook(const char *name, const char *op, const char *xml)
{
    struct clone_meta meta;
    int add = strcmp(op, "start") == 0 || strcmp(op, "reconnect") == 0;
    int ret;

    if (!add && strcmp(op, "stopped") != 0)
        return 0;
    if (domxml_parse(xml, &meta) < 0)
        return error_replace("cannot read the XML of domain '%s' given by libvirt on stdin", name);
    ret = add ? portfwd_add(name, meta.forwards, meta.nforwards) : portfwd_remove(name, meta.forwards, meta.nforwards);
    clone_meta_release(&meta);
    return ret;
}
