/* perms.c: see perms.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "adapters/perms.h"
#include "base/cleanup.h"
#include "base/error.h"
#include "base/xalloc.h"
#include "pure/dac.h"

/* The child's exit status: 0 nothing blocks, 1 + I directory I of the
 * path's search list, FILE_BLOCKED the file, SETUP_FAILED it could not
 * take on the user. */
#define MAX_DIRS 200
#define FILE_BLOCKED 254
#define SETUP_FAILED 255

void perms_user_init(struct perms_user *u, uid_t uid, gid_t gid)
{
    struct passwd *pw = getpwuid(uid);

    memset(u, 0, sizeof *u);
    u->uid = uid;
    u->gid = gid;
    u->name = pw ? xstrdup(pw->pw_name) : xasprintf("%lu", (unsigned long)uid);
    if (pw) {
        int n = 0;
        getgrouplist(pw->pw_name, gid, NULL, &n);
        if (n > 0) {
            u->groups = xcalloc((size_t)n, sizeof *u->groups);
            if (getgrouplist(pw->pw_name, gid, u->groups, &n) < 0)
                n = 0;
        }
        u->ngroups = n;
    }
    if (!u->ngroups) { /* just its group */
        free(u->groups);
        u->groups = xcalloc(1, sizeof *u->groups);
        u->groups[0] = gid;
        u->ngroups = 1;
    }
}

void perms_user_release(struct perms_user *u)
{
    free(u->name);
    free(u->groups);
    memset(u, 0, sizeof *u);
}

int perms_blocker(const struct perms_user *u, const char *path, int read, char **blocker)
{
    CLEANUP_STRV char **dirs = dac_search_dirs(path);
    size_t n = 0;
    pid_t pid;
    int status;

    *blocker = NULL;
    if (!dirs)
        return error("cannot check '%s': not an absolute path", path);
    if (geteuid() != 0)
        return error("cannot check what user %s can open: not root", u->name);
    while (dirs[n])
        n++;
    if (n > MAX_DIRS)
        n = MAX_DIRS;
    /* Everything the child needs is ready: it only makes system calls. */
    pid = fork();
    if (pid < 0)
        return error("cannot fork: %s", strerror(errno));
    if (pid == 0) {
        if (setgroups((size_t)u->ngroups, u->groups) < 0 || setgid(u->gid) < 0 || setuid(u->uid) < 0)
            _exit(SETUP_FAILED);
        for (size_t i = 0; i < n; i++)
            if (access(dirs[i], X_OK) < 0)
                _exit(errno == EACCES ? (int)(1 + i) : 0);
        if (read && access(path, R_OK) < 0 && errno == EACCES)
            _exit(FILE_BLOCKED);
        _exit(0);
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return error("cannot wait for the permission check: %s", strerror(errno));
    if (!WIFEXITED(status) || WEXITSTATUS(status) == SETUP_FAILED)
        return error("cannot take on user %s to check what it can open", u->name);
    int code = WEXITSTATUS(status);
    if (code == 0)
        return 0;
    if (code == FILE_BLOCKED) {
        *blocker = xstrdup(path); /* caller frees */
        return 2;
    }
    /* Any other status is not the check's own (a tool wrapping this
     * process, such as valgrind, can set it): no directory to name. */
    if ((size_t)code > n)
        return error("the check of what user %s can open ended unexpectedly (exit %d)", u->name, code);
    *blocker = xstrdup(dirs[code - 1]); /* caller frees */
    return 1;
}

static int cmp_entry(const void *a, const void *b)
{
    const struct perms_acl_entry *x = a, *y = b;

    if (x->tag != y->tag)
        return x->tag < y->tag ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* The entry of TAG (and ID for named ones) in ACL, or NULL. */
static struct perms_acl_entry *find_entry(const struct perms_acl_entry *acl, size_t n, unsigned tag, unsigned id)
{
    for (size_t i = 0; i < n; i++)
        if (acl[i].tag == tag && ((tag != PERMS_ACL_USER && tag != PERMS_ACL_GROUP) || acl[i].id == id))
            return (struct perms_acl_entry *)&acl[i];
    return NULL;
}

struct perms_acl_entry *perms_acl_grant_search(const struct perms_acl_entry *acl, size_t n, unsigned mode,
                                               unsigned uid, size_t *nout)
{
    struct perms_acl_entry *out = xcalloc(n + 5, sizeof *out), *e;
    size_t k = 0;

    if (n == 0) { /* the mode's minimal ACL */
        out[k++] = (struct perms_acl_entry){ PERMS_ACL_USER_OBJ, (mode >> 6) & 7, 0 };
        out[k++] = (struct perms_acl_entry){ PERMS_ACL_GROUP_OBJ, (mode >> 3) & 7, 0 };
        out[k++] = (struct perms_acl_entry){ PERMS_ACL_OTHER, mode & 7, 0 };
    } else {
        memcpy(out, acl, n * sizeof *out);
        k = n;
    }
    if ((e = find_entry(out, k, PERMS_ACL_USER, uid)))
        e->perm |= 1;
    else
        out[k++] = (struct perms_acl_entry){ PERMS_ACL_USER, 1, uid };
    if ((e = find_entry(out, k, PERMS_ACL_MASK, 0))) {
        e->perm |= 1; /* x alone, never recomputed from the entries */
    } else {
        /* A named entry needs a mask: the owning group's own permissions
         * (so it gains nothing) plus x. */
        struct perms_acl_entry *g = find_entry(out, k, PERMS_ACL_GROUP_OBJ, 0);
        out[k++] = (struct perms_acl_entry){ PERMS_ACL_MASK, (g ? g->perm : 0) | 1, 0 };
    }
    qsort(out, k, sizeof *out, cmp_entry);
    *nout = k;
    return out; /* caller frees */
}

static const char *tag_name(unsigned tag)
{
    switch (tag) {
    case PERMS_ACL_USER_OBJ: return "user:";
    case PERMS_ACL_USER: return "user";
    case PERMS_ACL_GROUP_OBJ: return "group:";
    case PERMS_ACL_GROUP: return "group";
    case PERMS_ACL_MASK: return "mask:";
    default: return "other:";
    }
}

/* "rwx" letters of PERM into BUF. */
static const char *perm_letters(unsigned perm, char buf[4])
{
    buf[0] = perm & 4 ? 'r' : '-';
    buf[1] = perm & 2 ? 'w' : '-';
    buf[2] = perm & 1 ? 'x' : '-';
    buf[3] = '\0';
    return buf;
}

int perms_acl_check_gain(const char *dir, const struct perms_acl_entry *before, size_t nb,
                         const struct perms_acl_entry *after, size_t na, unsigned uid)
{
    const struct perms_acl_entry *old_mask = find_entry(before, nb, PERMS_ACL_MASK, 0);
    const struct perms_acl_entry *old_group = find_entry(before, nb, PERMS_ACL_GROUP_OBJ, 0);
    char l1[4], l2[4];

    for (size_t i = 0; i < na; i++) {
        const struct perms_acl_entry *a = &after[i], *b;
        unsigned was, gained;
        if (a->tag == PERMS_ACL_USER && a->id == uid)
            continue;
        if (a->tag == PERMS_ACL_MASK) /* none before: the owning group's permissions were the ceiling */
            was = old_mask ? old_mask->perm : old_group ? old_group->perm : 0;
        else
            was = (b = find_entry(before, nb, a->tag, a->id)) ? b->perm : 0;
        gained = a->perm & ~was & 7;
        if (a->tag == PERMS_ACL_MASK ? (gained & ~1u) : gained) {
            CLEANUP_FREE char *who = (a->tag == PERMS_ACL_USER || a->tag == PERMS_ACL_GROUP)
                                         ? xasprintf("%s:%u", tag_name(a->tag), a->id)
                                         : xstrdup(tag_name(a->tag));
            return error("the ACL of '%s' changed beyond a search entry: '%s' went from %s to %s", dir, who,
                         perm_letters(was, l1), perm_letters(a->perm, l2));
        }
    }
    return 0;
}

/* The kernel's ACL xattr: a version 2 header, then entries of a 16-bit tag,
 * a 16-bit perm and a 32-bit id, little-endian. */
#define ACL_XATTR "system.posix_acl_access"
#define ACL_XATTR_VERSION 2
#define ACL_MAX_ENTRIES 1024

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le(unsigned char *p, uint32_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* FD's access ACL (*N 0 and NULL: none, the mode alone). -1 recorded. */
static int acl_read(int fd, const char *dir, struct perms_acl_entry **acl, size_t *n)
{
    unsigned char buf[4 + 8 * ACL_MAX_ENTRIES];
    ssize_t len = fgetxattr(fd, ACL_XATTR, buf, sizeof buf);

    *acl = NULL;
    *n = 0;
    if (len < 0 && (errno == ENODATA))
        return 0;
    if (len < 0)
        return error("cannot read the ACL of '%s': %s", dir, strerror(errno));
    if (len < 4 || (len - 4) % 8 != 0 || le32(buf) != ACL_XATTR_VERSION)
        return error("cannot read the ACL of '%s': not a version 2 POSIX ACL", dir);
    *n = (size_t)(len - 4) / 8;
    *acl = xcalloc(*n + 1, sizeof **acl);
    for (size_t i = 0; i < *n; i++) {
        const unsigned char *e = buf + 4 + 8 * i;
        (*acl)[i] = (struct perms_acl_entry){ (unsigned)(e[0] | e[1] << 8), (unsigned)(e[2] | e[3] << 8), le32(e + 4) };
    }
    return 0;
}

static int acl_write(int fd, const char *dir, const struct perms_acl_entry *acl, size_t n)
{
    CLEANUP_FREE unsigned char *buf = xcalloc(4 + 8 * n, 1);

    put_le(buf, ACL_XATTR_VERSION, 4);
    for (size_t i = 0; i < n; i++) {
        unsigned char *e = buf + 4 + 8 * i;
        int named = acl[i].tag == PERMS_ACL_USER || acl[i].tag == PERMS_ACL_GROUP;
        put_le(e, acl[i].tag, 2);
        put_le(e + 2, acl[i].perm, 2);
        put_le(e + 4, named ? acl[i].id : 0xffffffffu, 4); /* ACL_UNDEFINED_ID */
    }
    if (fsetxattr(fd, ACL_XATTR, buf, 4 + 8 * n, 0) < 0) {
        if (errno == ENOTSUP || errno == EOPNOTSUPP)
            return error("'%s' is on a filesystem without ACL support: mount it with ACL support, or move the "
                         "files qemu opens", dir);
        return error("cannot set the ACL of '%s': %s", dir, strerror(errno));
    }
    return 0;
}

/* The absolute DIR opened (read-only, a directory), one component at a
 * time, never through a symbolic link. -1 recorded. */
static int open_dir_nofollow(const char *dir)
{
    CLEANUP_FREE char *copy = xstrdup(dir);
    char *save = NULL, *name;
    int fd;

    if (dir[0] != '/')
        return error("cannot open '%s': not an absolute path", dir);
    fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return error("cannot open '/': %s", strerror(errno));
    for (name = strtok_r(copy, "/", &save); name; name = strtok_r(NULL, "/", &save)) {
        int next = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int e = errno;
        close(fd);
        if (next < 0) {
            if (e == ELOOP || e == ENOTDIR)
                return error("'%s' is reached through a symbolic link ('%s'): not followed; give the path without "
                             "links", dir, name);
            return error("cannot open directory '%s': %s", dir, strerror(e));
        }
        fd = next;
    }
    return fd;
}

int perms_grant_search(const struct perms_user *u, const char *dir)
{
    CLEANUP_FREE struct perms_acl_entry *before = NULL;
    CLEANUP_FREE struct perms_acl_entry *want = NULL;
    CLEANUP_FREE struct perms_acl_entry *after = NULL;
    CLEANUP_CLOSE int fd = open_dir_nofollow(dir);
    size_t nb, nw, na;
    struct stat st;

    if (fd < 0)
        return -1;
    if (fstat(fd, &st) < 0)
        return error("cannot stat '%s': %s", dir, strerror(errno));
    if (acl_read(fd, dir, &before, &nb) < 0)
        return -1;
    want = perms_acl_grant_search(before, nb, st.st_mode & 0777, u->uid, &nw);
    if (acl_write(fd, dir, want, nw) < 0)
        return -1;
    /* Read back what the filesystem made of it. */
    if (acl_read(fd, dir, &after, &na) < 0)
        return -1;
    if (nb == 0) { /* the mode's entries, for the comparison */
        before = xcalloc(3, sizeof *before);
        before[0] = (struct perms_acl_entry){ PERMS_ACL_USER_OBJ, (st.st_mode >> 6) & 7, 0 };
        before[1] = (struct perms_acl_entry){ PERMS_ACL_GROUP_OBJ, (st.st_mode >> 3) & 7, 0 };
        before[2] = (struct perms_acl_entry){ PERMS_ACL_OTHER, st.st_mode & 7, 0 };
        nb = 3;
    }
    if (perms_acl_check_gain(dir, before, nb, after, na, u->uid) < 0) {
        CLEANUP_FREE char *why = xstrdup(error_message());
        error_clear();
        if (acl_write(fd, dir, before, nb) < 0)
            error_clear();
        return error("%s: restored it", why);
    }
    if (!find_entry(after, na, PERMS_ACL_USER, u->uid))
        return error("the ACL of '%s' has no entry for user %s after it was set", dir, u->name);
    return 0;
}
