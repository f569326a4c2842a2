/* virt.c: see virt.h. */
#include <errno.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/cleanup-virt.h"
#include "base/cleanup.h"
#include "base/error.h"
#include "base/xalloc.h"
#include "adapters/virt.h"

static void quiet_handler(void *opaque, virErrorPtr err)
{
    (void)opaque;
    (void)err;
}

void virt_init(void)
{
    virSetErrorFunc(NULL, quiet_handler);
}

const char *virt_error(void)
{
    const char *m = virGetLastErrorMessage();

    return m ? m : "unknown libvirt error";
}

const char *virt_error_on(virConnectPtr conn)
{
    static __thread char buf[1024];
    char msg[768];

    /* (taken first: virConnectIsAlive, a libvirt call, clears the last error) */
    snprintf(msg, sizeof msg, "%s", virt_error());
    if (conn && virConnectIsAlive(conn) == 0)
        snprintf(buf, sizeof buf, "the connection to libvirt was lost (%s)", msg);
    else
        snprintf(buf, sizeof buf, "%s", msg);
    return buf;
}

virConnectPtr virt_connect(const char *uri)
{
    virConnectPtr conn;

    if (!uri)
        uri = getenv("LIBVIRT_DEFAULT_URI");
    if (!uri || !*uri)
        uri = "qemu:///system";
    conn = virConnectOpen(uri);
    /* libvirt's reason says which socket and why (not running, no permission). */
    if (!conn)
        error("cannot connect to libvirt at '%s': %s", uri, virt_error());
    return conn;
}

int virt_domain_exists(virConnectPtr conn, const char *name)
{
    CLEANUP_DOMAIN virDomainPtr dom = virDomainLookupByName(conn, name);

    if (dom)
        return 1;
    virErrorPtr e = virGetLastError();
    if (e && e->code == VIR_ERR_NO_DOMAIN)
        return 0;
    return error("cannot look up domain '%s': %s", name, virt_error());
}

char *virt_domain_xml(virDomainPtr dom)
{
    char *xml = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);

    if (!xml)
        error("cannot read the XML of domain '%s': %s", virDomainGetName(dom), virt_error());
    return xml;
}

char **virt_all_macs(virConnectPtr conn)
{
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(conn, &doms, 0);
    char **all;
    size_t k = 0, cap = 8;

    if (n < 0) {
        error("cannot list domains: %s", virt_error());
        return NULL;
    }
    all = xcalloc(cap, sizeof *all);
    for (int i = 0; i < n; i++) {
        char *xml = virDomainGetXMLDesc(doms[i], 0);
        struct clone_meta meta;
        if (xml && domxml_parse(xml, &meta) == 0) {
            for (size_t j = 0; meta.macs[j]; j++) {
                if (k + 2 > cap) {
                    cap *= 2;
                    all = xreallocarray(all, cap, sizeof *all);
                }
                all[k++] = xstrdup(meta.macs[j]);
            }
            clone_meta_release(&meta);
        }
        error_clear();
        free(xml);
        virDomainFree(doms[i]);
    }
    free(doms);
    all[k] = NULL;
    return all; /* caller frees */
}

int virt_pool_target(virConnectPtr conn, const char *pool, struct pool_target *t)
{
    CLEANUP_POOL virStoragePoolPtr p = virStoragePoolLookupByName(conn, pool);
    virStoragePoolInfo info;
    CLEANUP_FREE char *xml = NULL;
    CLEANUP_FREE char *type = NULL;

    memset(t, 0, sizeof *t);
    if (!p)
        return error("storage pool '%s' not found: create it (virsh pool-define-as) or pass --pool", pool);
    if (virStoragePoolGetInfo(p, &info) < 0)
        return error("cannot query storage pool '%s': %s", pool, virt_error());
    if (info.state != VIR_STORAGE_POOL_RUNNING)
        return error("storage pool '%s' is not active: start it with 'virsh pool-start %s'", pool, pool);
    xml = virStoragePoolGetXMLDesc(p, 0);
    if (!xml)
        return error("cannot read storage pool '%s': %s", pool, virt_error());
    type = xml_get(xml, "/pool/@type");
    if (type && strcmp(type, "logical") == 0) {
        t->logical = 1;
        t->vg = xml_get(xml, "/pool/source/name");
        if (!t->vg)
            t->vg = xstrdup(pool); /* libvirt's default: the pool's name */
    } else if (!type || (strcmp(type, "dir") != 0 && strcmp(type, "fs") != 0 && strcmp(type, "netfs") != 0)) {
        return error("storage pool '%s' is of type '%s': vmstamp puts disks in dir, fs, netfs or logical (LVM) "
                     "pools", pool, type ? type : "unknown");
    }
    t->path = xml_get(xml, "/pool/target/path");
    if (!t->path) {
        pool_target_release(t);
        return error("storage pool '%s' has no target path", pool);
    }
    return 0;
}

void pool_target_release(struct pool_target *t)
{
    free(t->path);
    free(t->vg);
    t->path = t->vg = NULL;
}

int virt_pool_dir(virConnectPtr conn, const char *pool, char **target_path)
{
    struct pool_target t;

    if (virt_pool_target(conn, pool, &t) < 0)
        return -1;
    if (t.logical) {
        pool_target_release(&t);
        return error("storage pool '%s' is an LVM (logical) pool: this command puts files in dir, fs or netfs "
                     "pools; pick one with --pool", pool);
    }
    *target_path = t.path; /* caller frees */
    free(t.vg);
    return 0;
}

int virt_pool_refresh(virConnectPtr conn, const char *pool)
{
    CLEANUP_POOL virStoragePoolPtr p = virStoragePoolLookupByName(conn, pool);

    if (!p)
        return error("storage pool '%s' not found", pool);
    if (virStoragePoolRefresh(p, 0) < 0)
        return error("cannot refresh storage pool '%s': %s", pool, virt_error());
    return 0;
}

int virt_pool_available(virConnectPtr conn, const char *pool, uint64_t *avail)
{
    CLEANUP_POOL virStoragePoolPtr p = virStoragePoolLookupByName(conn, pool);
    virStoragePoolInfo info;

    if (!p)
        return error("storage pool '%s' not found", pool);
    virStoragePoolRefresh(p, 0); /* best effort: a pool may be busy */
    if (virStoragePoolGetInfo(p, &info) < 0)
        return error("cannot query storage pool '%s': %s", pool, virt_error());
    *avail = info.available;
    return 0;
}

int virt_network_check(virConnectPtr conn, const struct netspec *net)
{
    CLEANUP_NETWORK virNetworkPtr n = NULL;
    struct stat st;
    CLEANUP_FREE char *sys = NULL;

    switch (net->kind) {
    case NET_USER:
        return 0;
    case NET_BRIDGE:
        sys = xasprintf("/sys/class/net/%s/bridge", net->source);
        if (stat(sys, &st) < 0)
            return error("bridge '%s' not found on this host: create it or pick another --network", net->source);
        return 0;
    case NET_NETWORK:
        n = virNetworkLookupByName(conn, net->source);
        if (!n)
            return error("network '%s' not found: define it (virsh net-define) or pass --network", net->source);
        return 0;
    }
    return 0;
}

char *virt_volume_path(virConnectPtr conn, const char *pool_vol)
{
    const char *slash = strchr(pool_vol, '/');
    CLEANUP_FREE char *pool_name = NULL;
    CLEANUP_POOL virStoragePoolPtr p = NULL;
    CLEANUP_VOL virStorageVolPtr v = NULL;

    if (!slash || slash == pool_vol || strchr(slash + 1, '/'))
        return NULL;
    pool_name = xstrndup(pool_vol, (size_t)(slash - pool_vol));
    p = virStoragePoolLookupByName(conn, pool_name);
    if (!p)
        return NULL;
    v = virStorageVolLookupByName(p, slash + 1);
    if (!v)
        return NULL;
    return virStorageVolGetPath(v); /* caller frees */
}

int virt_max_vcpus(virConnectPtr conn, const char *virt_type, unsigned *max)
{
    /* The arch domxml gives every domain; the default machine type, as domxml leaves it. */
    CLEANUP_FREE char *caps = virConnectGetDomainCapabilities(conn, NULL, "x86_64", NULL, virt_type, 0);
    CLEANUP_FREE char *v = NULL;
    unsigned long n;
    char *end;

    *max = 0;
    if (!caps)
        return error("cannot read the domain capabilities of %s guests: %s", virt_type, virt_error());
    v = xml_get(caps, "/domainCapabilities/vcpu/@max");
    if (!v)
        return error("the domain capabilities of %s guests give no vCPU maximum", virt_type);
    errno = 0;
    n = strtoul(v, &end, 10);
    if (errno || end == v || *end || n == 0 || n > 1u << 20)
        return error("the domain capabilities of %s guests give an odd vCPU maximum '%s'", virt_type, v);
    *max = (unsigned)n;
    return 0;
}

int virt_domain_remove(virDomainPtr dom)
{
    const char *name = virDomainGetName(dom);

    if (virDomainIsActive(dom) == 1 && virDomainDestroy(dom) < 0 && virDomainIsActive(dom) == 1)
        return error("cannot stop domain '%s': %s", name, virt_error());
    if (virDomainIsPersistent(dom) == 1 &&
        virDomainUndefineFlags(dom, VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA |
                                        VIR_DOMAIN_UNDEFINE_NVRAM) < 0)
        return error("cannot undefine domain '%s': %s", name, virt_error());
    return 0;
}

const char *virt_state_name(int state)
{
    switch (state) {
    case VIR_DOMAIN_RUNNING: return "running";
    case VIR_DOMAIN_BLOCKED: return "blocked";
    case VIR_DOMAIN_PAUSED: return "paused";
    case VIR_DOMAIN_SHUTDOWN: return "shutting-down";
    case VIR_DOMAIN_SHUTOFF: return "shut-off";
    case VIR_DOMAIN_CRASHED: return "crashed";
    case VIR_DOMAIN_PMSUSPENDED: return "suspended";
    default: return "unknown";
    }
}

char *virt_console_log(const char *name)
{
    return xasprintf("/var/log/libvirt/qemu/%s-serial0.log", name);
}

char *virt_capabilities(virConnectPtr conn)
{
    char *caps = virConnectGetCapabilities(conn);

    if (!caps)
        error("cannot read the host capabilities: %s", virt_error());
    return caps; /* caller frees */
}
