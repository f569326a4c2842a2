/* fileio.c: see fileio.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cancel.h"
#include "base/cleanup.h"
#include "base/error.h"
#include "base/fileio.h"
#include "base/xalloc.h"

int fsync_parent(const char *path)
{
    CLEANUP_FREE char *copy = xstrdup(path);
    CLEANUP_CLOSE int fd = -1;
    const char *dir;

    dir = dirname(copy);
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return error("cannot open directory '%s': %s", dir, strerror(errno));
    /* Some file systems cannot fsync a directory (EINVAL): nothing to do there. */
    if (fsync(fd) < 0 && errno != EINVAL)
        return error("cannot sync directory '%s': %s", dir, strerror(errno));
    return 0;
}

int rename_noreplace(const char *from, const char *to)
{
    if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno == EEXIST)
        return 1;
    if (errno != EINVAL && errno != ENOSYS)
        return error("cannot rename '%s' to '%s': %s", from, to, strerror(errno));
    /* The file system has no RENAME_NOREPLACE (tmpfs before 3.17, NFS, ...):
     * link() never replaces either, then the old name goes. */
    if (link(from, to) < 0) {
        if (errno == EEXIST)
            return 1;
        return error("cannot rename '%s' to '%s': %s", from, to, strerror(errno));
    }
    if (unlink(from) < 0)
        return error("cannot remove '%s' after linking it to '%s': %s", from, to, strerror(errno));
    return 0;
}

/* Write DATA to the open file FD (named NAME, for messages), set MODE (not
 * subject to the umask), fsync, close (always). -1 recorded on error. */
static int write_fd(int fd, const char *name, const void *data, size_t len, mode_t mode)
{
    const char *p = data;

    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            error("cannot write '%s': %s", name, strerror(errno));
            goto fail;
        }
        p += n;
        len -= (size_t)n;
    }
    if (fchmod(fd, mode) < 0) {
        error("cannot set the mode of '%s': %s", name, strerror(errno));
        goto fail;
    }
    if (fsync(fd) < 0) {
        error("cannot sync '%s': %s", name, strerror(errno));
        goto fail;
    }
    if (close(fd) < 0)
        return error("cannot write '%s': %s", name, strerror(errno));
    return 0;
fail:
    close(fd);
    return -1;
}

/* Write DATA to a new temporary file beside PATH, synced, with MODE.
 * Returns the temporary name (caller frees and renames or unlinks), NULL on
 * error (recorded, nothing left behind). */
static char *write_temp(const char *path, const void *data, size_t len, mode_t mode)
{
    char *tmp = xasprintf("%s.tmp.XXXXXX", path);
    int fd = mkostemp(tmp, O_CLOEXEC);

    if (fd < 0) {
        error("cannot create a temporary file beside '%s': %s", path, strerror(errno));
        free(tmp);
        return NULL;
    }
    if (write_fd(fd, tmp, data, len, mode) < 0) {
        unlink(tmp);
        free(tmp);
        return NULL;
    }
    return tmp; /* caller frees */
}

/* TMP (written and synced) over PATH, durably; TMP goes on error. */
static int replace_with(const char *tmp, const char *path)
{
    if (rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return error("cannot rename '%s' to '%s': %s", tmp, path, strerror(e));
    }
    return fsync_parent(path);
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    CLEANUP_FREE char *tmp = write_temp(path, data, len, mode);

    if (!tmp)
        return -1;
    return replace_with(tmp, path);
}

int write_file_atomic_via(const char *path, const char *tmp, const void *data, size_t len, mode_t mode)
{
    int fd;

    if (unlink(tmp) < 0 && errno != ENOENT)
        return error("cannot remove '%s': %s", tmp, strerror(errno));
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return error("cannot create '%s': %s", tmp, strerror(errno));
    if (write_fd(fd, tmp, data, len, mode) < 0) {
        unlink(tmp);
        return -1;
    }
    return replace_with(tmp, path);
}

int create_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
    CLEANUP_FREE char *tmp = NULL;
    int r;

    /* Cheap early answer; rename_noreplace is what makes it safe. */
    if (access(path, F_OK) == 0)
        return 1;
    tmp = write_temp(path, data, len, mode);
    if (!tmp)
        return -1;
    r = rename_noreplace(tmp, path);
    if (r != 0) {
        unlink(tmp);
        return r;
    }
    return fsync_parent(path);
}

const char *size_words(size_t n, char buf[32])
{
    if (n >= 1024 * 1024 && n % (1024 * 1024) == 0)
        snprintf(buf, 32, "%zu MiB", n / (1024 * 1024));
    else if (n >= 1024 && n % 1024 == 0)
        snprintf(buf, 32, "%zu KiB", n / 1024);
    else
        snprintf(buf, 32, "%zu bytes", n);
    return buf;
}

/* "WHAT 'PATH'" or "'PATH'" (caller frees). */
static char *subject(const char *what, const char *path)
{
    return what ? xasprintf("%s '%s'", what, path) : xasprintf("'%s'", path); /* caller frees */
}

/* Record "SUBJECT PROBLEM: FIX" (or without the fix); -1. */
static int file_error(const char *what, const char *path, const char *problem, const char *fix)
{
    CLEANUP_FREE char *subj = subject(what, path);

    if (fix)
        return error("%s %s: %s", subj, problem, fix);
    return error("%s %s", subj, problem);
}

/* Before PATH is opened: opening a device can act by itself (a watchdog
 * arms, a tape rewinds), so its type is checked first, by lstat (NOFOLLOW)
 * or stat, into *PRE. 0, or -1 (recorded as open_regular would). */
static int regular_before_open(const char *path, int nofollow, const char *what, const char *fix, struct stat *pre)
{
    if ((nofollow ? lstat(path, pre) : stat(path, pre)) < 0) {
        int e = errno;
        CLEANUP_FREE char *subj = subject(what, path);
        if (e == ENOENT && fix)
            return file_error(what, path, "not found", fix);
        return error("cannot open %s: %s", subj, strerror(e));
    }
    if (S_ISLNK(pre->st_mode))
        return file_error(what, path, "is a symbolic link", fix);
    if (!S_ISREG(pre->st_mode))
        return file_error(what, path, "is not a regular file", fix);
    return 0;
}

/* After: the file opened is the one checked (not swapped in between). */
static int same_file(int fd, const struct stat *pre, const char *path, const char *what, const char *fix)
{
    struct stat st;

    if (fstat(fd, &st) == 0 && st.st_dev == pre->st_dev && st.st_ino == pre->st_ino)
        return 0;
    return file_error(what, path, "changed while it was opened", fix);
}

int open_regular(const char *path, const char *what, const char *fix, struct stat *st)
{
    struct stat pre;

    if (regular_before_open(path, 1, what, fix, &pre) < 0)
        return -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);

    if (fd < 0) {
        int e = errno;
        CLEANUP_FREE char *subj = subject(what, path);
        if (e == ELOOP)
            return file_error(what, path, "is a symbolic link", fix);
        if (e == ENOENT && fix)
            return file_error(what, path, "not found", fix);
        return error("cannot open %s: %s", subj, strerror(e));
    }
    if (fstat(fd, st) < 0) {
        int e = errno;
        CLEANUP_FREE char *subj = subject(what, path);
        close(fd);
        return error("cannot stat %s: %s", subj, strerror(e));
    }
    if (!S_ISREG(st->st_mode) || st->st_dev != pre.st_dev || st->st_ino != pre.st_ino) {
        close(fd);
        return file_error(what, path, S_ISREG(st->st_mode) ? "changed while it was opened" : "is not a regular file",
                          fix);
    }
    return fd;
}

char *read_fd_limited(int fd, const char *path, size_t max, int flags, const char *what, const char *fix,
                      size_t *len)
{
    CLEANUP_FREE char *subj = subject(what, path);
    CLEANUP_FREE char *buf = NULL;
    size_t size = 0, cap = 0;
    struct stat st;
    char words[32], problem[64];

    if (fstat(fd, &st) < 0) {
        error("cannot stat %s: %s", subj, strerror(errno));
        return NULL;
    }
    if (!(flags & READ_ANY_TYPE) && !S_ISREG(st.st_mode)) {
        file_error(what, path, "is not a regular file", fix);
        return NULL;
    }
    snprintf(problem, sizeof problem, "is larger than %s", size_words(max, words));
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > (uint64_t)max) {
        file_error(what, path, problem, fix);
        return NULL;
    }
    /* Its size can change while it is read: the limit is counted here. */
    for (;;) {
        if (cancel_requested()) {
            error("interrupted: reading %s", subj);
            return NULL;
        }
        if (cap - size < 8192) {
            cap = cap ? cap * 2 : 8192 + 1;
            if (cap > max + 2)
                cap = max + 2;
            buf = xrealloc(buf, cap);
        }
        /* One byte over the limit is enough to know; one kept for the NUL. */
        ssize_t n = read(fd, buf + size, cap - 1 - size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            error("cannot read %s: %s", subj, strerror(errno));
            return NULL;
        }
        if (n == 0)
            break;
        size += (size_t)n;
        if (size > max) {
            file_error(what, path, problem, fix);
            return NULL;
        }
    }
    if (!buf)
        buf = xmalloc(1);
    buf[size] = '\0';
    if (len)
        *len = size;
    return steal_pointer(&buf); /* caller frees */
}

char *read_file_limited(const char *path, size_t max, int flags, const char *what, const char *fix,
                        size_t *len)
{
    CLEANUP_CLOSE int fd = -1;
    struct stat st;

    if (flags & READ_ANY_TYPE) {
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | ((flags & READ_NOFOLLOW) ? O_NOFOLLOW : 0));
        if (fd < 0) {
            CLEANUP_FREE char *subj = subject(what, path);
            error("cannot open %s: %s", subj, strerror(errno));
            return NULL;
        }
    } else if (flags & READ_NOFOLLOW) {
        fd = open_regular(path, what, fix, &st);
        if (fd < 0)
            return NULL;
    } else {
        /* A link is followed, to a regular file only; a FIFO is not waited for. */
        if (regular_before_open(path, 0, what, fix, &st) < 0)
            return NULL;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd >= 0 && same_file(fd, &st, path, what, fix) < 0)
            return NULL;
        if (fd < 0) {
            int e = errno;
            CLEANUP_FREE char *subj = subject(what, path);
            if (e == ENOENT && fix)
                file_error(what, path, "not found", fix);
            else
                error("cannot open %s: %s", subj, strerror(e));
            return NULL;
        }
    }
    return read_fd_limited(fd, path, max, flags, what, fix, len); /* caller frees */
}

char *read_file(const char *path, size_t *len)
{
    return read_file_limited(path, READ_MAX_DEFAULT, 0, NULL, NULL, len); /* caller frees */
}

/* mkdir that accepts an existing directory (and only a directory). */
static int mkdir_one(const char *p, mode_t mode)
{
    struct stat st;

    if (mkdir(p, mode) == 0)
        return 0;
    if (errno != EEXIST)
        return error("cannot create directory '%s': %s", p, strerror(errno));
    if (stat(p, &st) == 0 && !S_ISDIR(st.st_mode))
        return error("cannot create directory '%s': a file of that name exists", p);
    return 0;
}

int mkdir_p(const char *path, int mode)
{
    CLEANUP_FREE char *p = xstrdup(path);

    if (!*p)
        return error("cannot create a directory with an empty name");
    for (char *s = p + 1; *s; s++) {
        if (*s != '/' || s[-1] == '/')
            continue;
        *s = '\0';
        if (mkdir_one(p, (mode_t)mode) < 0)
            return -1;
        *s = '/';
    }
    return mkdir_one(p, (mode_t)mode);
}

/* Remove NAME in PARENT (shown as PATH in messages), recursively, never
 * following a symbolic link. */
static int remove_at(int parent, const char *name, const char *path)
{
    DIR *d;
    struct dirent *ent;
    int fd, r = 0;

    if (unlinkat(parent, name, 0) == 0 || errno == ENOENT)
        return 0;
    if (errno != EISDIR && errno != EPERM)
        return error("cannot remove '%s': %s", path, strerror(errno));
    fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return error("cannot remove '%s': %s", path, strerror(errno));
    d = fdopendir(fd);
    if (!d) {
        close(fd);
        return error("cannot read directory '%s': %s", path, strerror(errno));
    }
    while (r == 0) {
        errno = 0;
        ent = readdir(d);
        if (!ent) {
            if (errno)
                r = error("cannot read directory '%s': %s", path, strerror(errno));
            break;
        }
        if (!strcmp(ent->d_name, ".") || !strcmp(ent->d_name, ".."))
            continue;
        CLEANUP_FREE char *child = NULL;
        child = xasprintf("%s/%s", path, ent->d_name);
        r = remove_at(dirfd(d), ent->d_name, child);
    }
    closedir(d);
    if (r < 0)
        return -1;
    if (unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        return error("cannot remove directory '%s': %s", path, strerror(errno));
    return 0;
}

int remove_tree(const char *path)
{
    return remove_at(AT_FDCWD, path, path);
}

int copy_file(const char *from, const char *to, int to_flags)
{
    int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, ret = -1;
    char buf[65536];
    ssize_t r;

    if (in < 0)
        return error("cannot read '%s': %s", from, strerror(errno));
    out = open(to, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW | to_flags, 0600);
    if (out < 0) {
        error("cannot create '%s': %s", to, strerror(errno));
        goto done;
    }
    while ((r = read(in, buf, sizeof buf)) > 0) {
        for (ssize_t w = 0; w < r;) {
            ssize_t n = write(out, buf + w, (size_t)(r - w));
            if (n < 0) {
                error("cannot write '%s': %s", to, strerror(errno));
                goto done;
            }
            w += n;
        }
    }
    if (r < 0) {
        error("cannot read '%s': %s", from, strerror(errno));
        goto done;
    }
    if (fsync(out) < 0) {
        error("cannot write '%s': %s", to, strerror(errno));
        goto done;
    }
    ret = 0;
done:
    if (out >= 0)
        close(out);
    close(in);
    return ret;
}

char *realpath_or_parent(const char *path)
{
    char *r = realpath(path, NULL);
    const char *slash = strrchr(path, '/');

    if (r)
        return r; /* caller frees */
    if (!slash || slash == path)
        return xstrdup(path);
    CLEANUP_FREE char *dir = xstrndup(path, (size_t)(slash - path));
    CLEANUP_FREE char *rdir = realpath(dir, NULL);
    if (!rdir)
        return xstrdup(path);
    return xasprintf("%s%s", strcmp(rdir, "/") == 0 ? "" : rdir, slash); /* caller frees */
}

int is_block_device(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISBLK(st.st_mode);
}
