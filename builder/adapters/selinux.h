/* selinux.h (adapters): this host's SELinux facts for pure/selinux.h:
 * the enforce state, and a directory's context. No libselinux: the
 * kernel's files and the security.selinux extended attribute. */
#ifndef VMSTAMP_ADAPTERS_SELINUX_H
#define VMSTAMP_ADAPTERS_SELINUX_H

/* The advice of selinux_pool_advice() for pool POOL at DIR on this host,
 * or NULL (nothing to say; also when SELinux is absent). Caller frees. */
char *selinux_check_pool(const char *pool, const char *dir);

#endif
