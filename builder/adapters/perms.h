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

/* Give U search permission on DIR and nothing more to anyone: an ACL
 * entry u:NAME:x (kept with what an entry of U's had), the mask widened by
 * x alone where it lacks it (never recomputed, which would bring back
 * entries an admin masked off with chmod 700), as 'setfacl -n -m' does. DIR
 * is opened one component at a time without following a symbolic link
 * (one is refused), and the ACL is changed on that open directory and read
 * back: if any entry but U's gained more than x, it is an error. */
int perms_grant_search(const struct perms_user *u, const char *dir);

/* A POSIX ACL entry (the kernel's tags: ACL_USER_OBJ 1, ACL_USER 2,
 * ACL_GROUP_OBJ 4, ACL_GROUP 8, ACL_MASK 16, ACL_OTHER 32; perm rwx as 4 2 1). */
struct perms_acl_entry {
    unsigned tag, perm, id;
};
#define PERMS_ACL_USER_OBJ 0x01
#define PERMS_ACL_USER 0x02
#define PERMS_ACL_GROUP_OBJ 0x04
#define PERMS_ACL_GROUP 0x08
#define PERMS_ACL_MASK 0x10
#define PERMS_ACL_OTHER 0x20

/* The N entries of ACL (N 0: the minimal ACL of MODE) with UID's entry
 * given x and the mask given x (made as the owning group's permissions
 * plus x when there is none). Sorted as the kernel wants them; *NOUT
 * entries, caller frees. */
struct perms_acl_entry *perms_acl_grant_search(const struct perms_acl_entry *acl, size_t n, unsigned mode,
                                               unsigned uid, size_t *nout);
/* 0 if AFTER gives no one but UID more than BEFORE did, save x (the mask
 * widened by x lets masked entries search too); else -1 with an error
 * naming DIR and the entry ("... 'user:65534' gained w ..."). */
int perms_acl_check_gain(const char *dir, const struct perms_acl_entry *before, size_t nb,
                         const struct perms_acl_entry *after, size_t na, unsigned uid);

#endif
