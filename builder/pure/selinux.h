/* selinux.h: whether a storage pool's directory needs relabelling for
 * qemu under SELinux (pure, unit-tested with recorded `ls -Zd` lines; the
 * facts come from adapters/selinux.c).
 *
 * On an SELinux host in enforcing mode, qemu (svirt) may only open images
 * labelled virt_image_t: a pool directory elsewhere than
 * /var/lib/libvirt/images needs, as the lab notes have it,
 *   semanage fcontext -a -t virt_image_t 'DIR(/.*)?'
 *   restorecon -R DIR
 * On hosts without SELinux, or not enforcing, there is nothing to say. */
#ifndef VMSTAMP_SELINUX_H
#define VMSTAMP_SELINUX_H

#define SELINUX_IMAGE_TYPE "virt_image_t"

/* The type field of a context "user:role:type:level" ("virt_image_t"),
 * or NULL when CONTEXT is not one. Caller frees. */
char *selinux_context_type(const char *context);

/* One line of `ls -Zd DIR` ("system_u:object_r:virt_image_t:s0 /var/lib/x"):
 * 0 with *CONTEXT and *DIR (caller frees both), -1 when it is not one. */
int selinux_parse_ls_z(const char *line, char **context, char **dir);

/* What to tell the user about pool POOL at DIR whose context is CONTEXT,
 * when ENFORCE is the text of /sys/fs/selinux/enforce (NULL: no SELinux):
 * NULL when nothing (no SELinux, permissive, already virt_image_t, or no
 * context known); else one line naming the pool, the directory and its
 * type, with the two commands. Caller frees. */
char *selinux_pool_advice(const char *enforce, const char *pool, const char *dir, const char *context);

#endif
