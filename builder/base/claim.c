/* claim.c: cross-process claims on names and MACs.
 *
 * A claim file is locked (flock) for as long as its owner lives: the kernel
 * drops the lock when the owner dies, even by kill -9, so an unlocked claim
 * file is stale and can be taken over in place. The lock is taken on the
 * temporary file before it is linked to its name, so a claim never appears
 * unlocked. Claim fds are close-on-exec: children do not inherit them. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "base/claim.h"
#include "base/error.h"
#include "base/xalloc.h"
#include "base/proc.h"

struct held {
    char *path;
    int fd;
};

struct claims {
    struct held *v;
    size_t n, cap;
};

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

/* A file name for S: its safe characters (at most 80), then a hash of all of it. */
static void name_part(const char *s, char *out, size_t len)
{
    size_t k = 0;

    for (const char *p = s; *p && k < 80 && k + 1 < len; p++) {
        int safe = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-", *p) && !(k == 0 && *p == '.');
        out[k++] = safe ? *p : '_';
    }
    snprintf(out + k, len - k, "~%08x", fnv1a(s));
}

static int claim_path(const char *scope, const char *kind, const char *value, char *dir, char *path)
{
    char s[128], v[128];

    name_part(scope, s, sizeof s);
    name_part(value, v, sizeof v);
    snprintf(dir, PATH_MAX, "%s/%s", CLAIM_ROOT, s);
    if (snprintf(path, PATH_MAX, "%s/%s:%s", dir, kind, v) >= PATH_MAX)
        return error("claim name too long");
    return 0;
}

static int mkdirs(const char *dir)
{
    char buf[PATH_MAX];

    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
            return error("cannot create '%s': %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0700) < 0 && errno != EEXIST)
        return error("cannot create '%s': %s", buf, strerror(errno));
    return 0;
}

struct claims *claims_new(void)
{
    struct claims *c = xcalloc(1, sizeof *c);
    struct rlimit rl;
    /* A claim holds an fd; a run of 250 clones holds ~750. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max && rl.rlim_cur < 8192) {
        rl.rlim_cur = rl.rlim_max < 8192 ? rl.rlim_max : 8192;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    return c;
}

static void owner_line(char *buf, size_t len)
{
    snprintf(buf, len, "%s\n", proc_run_id());
}

static pid_t read_owner(int fd)
{
    char buf[64] = "";
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);

    if (n <= 0)
        return 0;
    buf[n] = '\0';
    return (pid_t)atoi(buf);
}

static void keep(struct claims *c, const char *path, int fd)
{
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->v = xrealloc(c->v, c->cap * sizeof *c->v);
    }
    c->v[c->n].path = xstrdup(path);
    c->v[c->n++].fd = fd;
}

/* Lock an existing claim file whose owner may be dead; 0 and *FD if we
 * hold it now (rewritten as ours), 1 if a live run holds it (*HOLDER),
 * 2 if the file went away meanwhile (try again), -1 on error. */
static int take_over(const char *path, int *fd_out, pid_t *holder)
{
    int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    struct stat a, b;
    char line[64];

    if (fd < 0)
        return errno == ENOENT ? 2 : error("cannot open claim '%s': %s", path, strerror(errno));
    /* A run that just died may still have a child holding the lock for a
     * moment (libguestfs's recovery process): wait for that, briefly. */
    for (int tries = 0;; tries++) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            break;
        pid_t owner = read_owner(fd);
        if (tries >= 60 || (owner > 0 && kill(owner, 0) == 0) || errno != EWOULDBLOCK) {
            *holder = owner > 0 ? owner : -1;
            close(fd);
            return 1;
        }
        struct timespec ts = { 0, 50 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    if (fstat(fd, &a) < 0 || stat(path, &b) < 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
        close(fd); /* swept away meanwhile */
        return 2;
    }
    owner_line(line, sizeof line);
    if (ftruncate(fd, 0) < 0 || pwrite(fd, line, strlen(line), 0) < 0) {
        close(fd);
        return error("cannot write claim '%s': %s", path, strerror(errno));
    }
    *fd_out = fd;
    return 0;
}

int claim(struct claims *c, const char *scope, const char *kind, const char *value, pid_t *holder)
{
    char dir[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX + 64], line[64];

    *holder = 0;
    if (claim_path(scope, kind, value, dir, path) < 0)
        return -1;
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->v[i].path, path) == 0)
            return 0; /* already ours */
    if (mkdirs(dir) < 0)
        return -1;
    for (int attempt = 0; attempt < 10; attempt++) {
        snprintf(tmp, sizeof tmp, "%s/.new.%s.%d", dir, proc_run_id(), attempt);
        int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0 && errno == ENOENT && mkdirs(dir) == 0) /* a sweep removed the empty directory */
            continue;
        if (fd < 0)
            return error("cannot create claim '%s': %s", tmp, strerror(errno));
        owner_line(line, sizeof line);
        if (flock(fd, LOCK_EX) < 0 || write(fd, line, strlen(line)) < 0) {
            close(fd);
            unlink(tmp);
            return error("cannot write claim '%s': %s", tmp, strerror(errno));
        }
        int r = link(tmp, path);
        int err = errno;
        unlink(tmp);
        if (r == 0) {
            keep(c, path, fd);
            return 0;
        }
        close(fd);
        if (err == ENOENT) /* a sweep took our unlinked-looking temporary file */
            continue;
        if (err != EEXIST)
            return error("cannot claim '%s': %s", path, strerror(err));
        int got = -1;
        r = take_over(path, &got, holder);
        if (r == 0) {
            keep(c, path, got);
            return 0;
        }
        if (r != 2)
            return -1; /* held by a live run (*holder), or an error */
    }
    return error("cannot claim %s '%s': it keeps changing hands", kind, value);
}

static void drop(struct held *h)
{
    unlink(h->path); /* while still locked: nobody can take it meanwhile */
    close(h->fd);
    free(h->path);
}

void claim_release(struct claims *c, const char *scope, const char *kind, const char *value)
{
    char dir[PATH_MAX], path[PATH_MAX];

    if (!c || claim_path(scope, kind, value, dir, path) < 0)
        return;
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->v[i].path, path) == 0) {
            drop(&c->v[i]);
            c->v[i] = c->v[--c->n];
            return;
        }
}

void claims_free(struct claims *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        drop(&c->v[i]);
    free(c->v);
    free(c);
}

int claims_sweep_stale(void)
{
    DIR *top = opendir(CLAIM_ROOT);
    struct dirent *s;
    int removed = 0;

    if (!top)
        return 0;
    while ((s = readdir(top))) {
        char dir[PATH_MAX];
        if (s->d_name[0] == '.')
            continue;
        snprintf(dir, sizeof dir, "%s/%s", CLAIM_ROOT, s->d_name);
        DIR *d = opendir(dir);
        struct dirent *e;
        if (!d)
            continue;
        while ((e = readdir(d))) {
            char path[PATH_MAX * 2];
            struct stat a, b;
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
            if (fd < 0)
                continue;
            if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
                a.st_ino == b.st_ino) {
                /* A ".new." file unlocked is a creator that died before its link. */
                if (unlink(path) == 0)
                    removed++;
            }
            close(fd);
        }
        closedir(d);
        rmdir(dir); /* only if empty */
    }
    closedir(top);
    return removed;
}
