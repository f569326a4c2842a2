/* inject.c: see inject.h. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/xalloc.h"
#include "adapters/inject.h"

static int copy_fd(int in, int out, const char *src, const char *dst)
{
    char buf[128 * 1024];
    ssize_t n;

    while ((n = read(in, buf, sizeof buf)) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return error("cannot read '%s': %s", src, strerror(errno));
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                return error("cannot write '%s': %s", dst, strerror(errno));
            }
            off += w;
        }
    }
    return 0;
}

static int append_archive(int fd, const char *dst, const char *name, const char *data, size_t len)
{
    struct archive *a = archive_write_new();
    struct archive_entry *e = archive_entry_new();
    int ret = -1;

    if (!a || !e)
        xalloc_die();
    /* No blocking: the archive ends where its data ends (no padding). */
    if (archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
        archive_write_set_format_cpio_newc(a) != ARCHIVE_OK ||
        archive_write_set_bytes_per_block(a, 0) != ARCHIVE_OK ||
        archive_write_open_fd(a, fd) != ARCHIVE_OK) {
        error("cannot write '%s': %s", dst, archive_error_string(a));
        goto out;
    }
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    archive_entry_set_nlink(e, 1);
    archive_entry_set_size(e, (la_int64_t)len);
    archive_entry_set_mtime(e, time(NULL), 0);
    if (archive_write_header(a, e) != ARCHIVE_OK ||
        (len && archive_write_data(a, data, len) != (la_ssize_t)len) ||
        archive_write_close(a) != ARCHIVE_OK) {
        error("cannot write '%s': %s", dst, archive_error_string(a));
        goto out;
    }
    ret = 0;
out:
    archive_entry_free(e);
    archive_write_free(a);
    return ret;
}

int inject_file(const char *src, const char *dst, int mode,
                const char *name, const char *data, size_t len)
{
    CLEANUP_CLOSE int in = open(src, O_RDONLY | O_CLOEXEC);
    CLEANUP_CLOSE int out = -1;

    if (in < 0)
        return error("cannot open '%s': %s", src, strerror(errno));
    unlink(dst);
    out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    if (out < 0)
        return error("cannot create '%s': %s", dst, strerror(errno));
    if (fchmod(out, (mode_t)mode) < 0)
        return error("cannot chmod '%s': %s", dst, strerror(errno));
    if (copy_fd(in, out, src, dst) < 0 || append_archive(out, dst, name, data, len) < 0)
        return -1;
    if (fsync(out) < 0)
        return error("cannot write '%s': %s", dst, strerror(errno));
    return 0;
}
