/* cleanup-virt.h: automatic cleanup of libvirt handles (see base/cleanup.h).
 * Each accepts NULL; steal_pointer() hands a handle out. */
#ifndef VMSTAMP_CLEANUP_VIRT_H
#define VMSTAMP_CLEANUP_VIRT_H

#include <libvirt/libvirt.h>

static inline void cleanup_conn(virConnectPtr *c)
{
    if (*c)
        virConnectClose(*c);
}

static inline void cleanup_domain(virDomainPtr *d)
{
    if (*d)
        virDomainFree(*d);
}

static inline void cleanup_pool(virStoragePoolPtr *p)
{
    if (*p)
        virStoragePoolFree(*p);
}

static inline void cleanup_vol(virStorageVolPtr *v)
{
    if (*v)
        virStorageVolFree(*v);
}

static inline void cleanup_network(virNetworkPtr *n)
{
    if (*n)
        virNetworkFree(*n);
}

#define CLEANUP_CONN __attribute__((cleanup(cleanup_conn)))
#define CLEANUP_DOMAIN __attribute__((cleanup(cleanup_domain)))
#define CLEANUP_POOL __attribute__((cleanup(cleanup_pool)))
#define CLEANUP_VOL __attribute__((cleanup(cleanup_vol)))
#define CLEANUP_NETWORK __attribute__((cleanup(cleanup_network)))

#endif
