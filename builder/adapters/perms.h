/* perms.h: whether a given user can open a path on this machine, asked
 * of the kernel itself (a child takes on the user, its group and its
 * supplementary groups, as libvirt does for qemu, and calls access(2), so
 * modes, ACLs and group membership count as they will for qemu), and
 * granting a user search permission on a directory with setfacl. */
#ifndef VMSTAMP_PERMS_H
#define VMSTAMP_PERMS_H

#include <sys/types.h>

struct perms_user {
    uid_t uid;
    gid_t gid;
    char *name;     /* the user's name, or its number when it has none */
    gid_t *groups;  /* supplementary groups (the user database's) */
    int ngroups;
};

/* U for UID and GID, its name and groups from the user database. */
void perms_user_init(struct perms_user *u, uid_t uid, gid_t gid);
void perms_user_release(struct perms_user *u);

/* What stops U from opening the absolute PATH: 0 nothing; 1 with
 * *BLOCKER (caller frees) the first directory above PATH U cannot search;
 * 2 with *BLOCKER = PATH when READ is set and U cannot read PATH. A
 * directory or file that does not exist is not this check's business (0).
 * -1 with an error recorded when the check cannot be made (not root). */
int perms_blocker(const struct perms_user *u, const char *path, int read, char **blocker);

/* Give U search permission on DIR: setfacl -m u:NAME:x DIR (an ACL entry
 * for U alone; the mode and other entries are kept). */
int perms_grant_search(const struct perms_user *u, const char *dir);

#endif
