/* qemuperm.h: before a run makes anything, whether the qemu that libvirt
 * starts on a connection can open the files a domain will use (an ISO,
 * disks, every backing file of a linked clone): the check virt-install
 * makes, so that a template under /root or an ISO in a mktemp -d
 * directory fails at once, in one line with the fix, instead of leaving a
 * domain that fails when it starts.
 *
 * qemu's user and group come from the host capabilities' DAC label for
 * the domain type; each path is checked as that user (adapters/perms.c):
 * search permission on every directory above it, and read permission on
 * the file itself only when libvirt's dynamic_ownership is off (on, the
 * default, libvirt hands the file to qemu's user when the domain starts).
 * Nothing is checked, and nothing said, when the check cannot be made
 * here: a remote connection, a daemon behind its own socket (it may see
 * another mount namespace), a daemon without a DAC model, or vmstamp not
 * running as root. */
#ifndef VMSTAMP_PIPELINE_QEMUPERM_H
#define VMSTAMP_PIPELINE_QEMUPERM_H

#include <libvirt/libvirt.h>
#include <stddef.h>

/* Check the N absolute PATHS for domains of VIRT_TYPE ("kvm", "qemu") on
 * CONN. A directory that blocks: with FIX, qemu's user gets search
 * permission on it (setfacl -m u:USER:x DIR, said in one line each);
 * without, the error names it and the setfacl command. 0 or -1. */
int qemuperm_check(virConnectPtr conn, const char *virt_type, const char *const *paths, size_t n, int fix);

/* On an SELinux host in enforcing mode, the one-line advice when pool
 * POOL's directory DIR on CONN (checked when CONN's files are this
 * machine's) is not labelled virt_image_t, with the commands that fix it
 * (pure/selinux.h); NULL when there is nothing to say. Caller frees. */
char *qemuperm_selinux_advice(virConnectPtr conn, const char *pool, const char *dir);
/* That advice as a warning, if any. */
void qemuperm_selinux_warning(virConnectPtr conn, const char *pool, const char *dir);

#endif
