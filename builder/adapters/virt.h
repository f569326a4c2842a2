/* virt.h: the libvirt calls vmstamp makes, with one-line errors. */
#ifndef VMSTAMP_VIRT_H
#define VMSTAMP_VIRT_H

#include <libvirt/libvirt.h>
#include <stdint.h>

#include "pure/domxml.h"

/* Silence libvirt's own stderr printing; errors come back through error(). */
void virt_init(void);
/* Connect to URI (NULL: $LIBVIRT_DEFAULT_URI, else qemu:///system). */
virConnectPtr virt_connect(const char *uri);
/* 1 if a domain NAME is defined (or running), 0 if not, -1 on error. */
int virt_domain_exists(virConnectPtr conn, const char *name);
/* Every MAC of every domain on the connection (NULL-terminated; caller frees). */
char **virt_all_macs(virConnectPtr conn);
/* Check POOL exists, is active and is a directory-backed pool; its target path. */
int virt_pool_dir(virConnectPtr conn, const char *pool, char **target_path);
/* Where POOL (active; dir, fs, netfs or logical) keeps its volumes. */
struct pool_target {
    int logical;  /* an LVM volume group (type='logical'): volumes are LVs, PATH/NAME block devices */
    char *path;   /* the target path: a directory, or /dev/VG */
    char *vg;     /* logical: the volume group's name (<source><name>); NULL otherwise */
};
int virt_pool_target(virConnectPtr conn, const char *pool, struct pool_target *t);
void pool_target_release(struct pool_target *t);
int virt_pool_refresh(virConnectPtr conn, const char *pool);
/* Bytes free in POOL (refreshed first). */
int virt_pool_available(virConnectPtr conn, const char *pool, uint64_t *avail);
/* Check that the network (or bridge) a netspec names exists. */
int virt_network_check(virConnectPtr conn, const struct netspec *net);
/* "pool/vol" -> the volume's path (caller frees); NULL if not a pool volume. */
char *virt_volume_path(virConnectPtr conn, const char *pool_vol);
/* Domain XML (inactive, with metadata) of DOM; caller frees. */
char *virt_domain_xml(virDomainPtr dom);
/* The most vCPUs a VIRT_TYPE ("kvm", "qemu") x86_64 guest of the default
 * machine type can have on this host (<vcpu max='N'/> of the domain
 * capabilities), so a plan can refuse --vcpus 300 before any work. */
int virt_max_vcpus(virConnectPtr conn, const char *virt_type, unsigned *max);
/* Stop DOM if it runs (destroy), then undefine it if it is persistent,
 * with its managed save, snapshot metadata and NVRAM. Errors: "cannot
 * stop domain 'NAME': ..." or "cannot undefine domain 'NAME': ...". */
int virt_domain_remove(virDomainPtr dom);
/* A domain state as vmstamp prints it: running, paused, shut-off, ... */
const char *virt_state_name(int state);
/* The serial console log file of a domain vmstamp defines (this host's
 * /var/log/libvirt/qemu/NAME-serial0.log); caller frees. */
char *virt_console_log(const char *name);
/* The host capabilities XML of CONN (caller frees); NULL with an error
 * recorded. */
char *virt_capabilities(virConnectPtr conn);
/* The libvirt message of the last failed call. */
const char *virt_error(void);
/* The same, of a call on CONN; if CONN is dead (the daemon stopped or
 * restarted), "the connection to libvirt was lost (MESSAGE)". Valid until
 * the next call in this thread. */
const char *virt_error_on(virConnectPtr conn);

#endif
