/* iso.c: see iso.h. The ISO is opened read-only and read through
 * libarchive's ISO 9660 reader (Rock Ridge/Joliet names when present). */
#include <archive.h>
#include <archive_entry.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/xalloc.h"
#include "adapters/iso.h"

#define ISO_VD_OFFSET 32768   /* sector 16: the primary volume descriptor */
#define ISO_VOLID_OFFSET 32808
#define TREEINFO_MAX (1 << 20)

const char *const iso_known_layouts[][2] = {
    { "images/pxeboot/vmlinuz", "images/pxeboot/initrd.img" }, /* Fedora, RHEL >= 9 */
    { "isolinux/vmlinuz", "isolinux/initrd.img" },             /* CentOS 7, Fedora <= 36 */
    { "install.amd/vmlinuz", "install.amd/initrd.gz" },        /* Debian */
    { "casper/vmlinuz", "casper/initrd" },                     /* Ubuntu live-server */
    { "boot/x86_64/loader/linux", "boot/x86_64/loader/initrd" }, /* SUSE */
    { NULL, NULL },
};

int iso_volume_id(const char *path, char **volid)
{
    CLEANUP_CLOSE int fd = open(path, O_RDONLY | O_CLOEXEC);
    unsigned char vd[ISO_VOLID_OFFSET - ISO_VD_OFFSET + 32];
    struct stat st;
    char id[33];
    size_t len;

    *volid = NULL;
    if (fd < 0) {
        if (errno == ENOENT)
            return error("ISO '%s' not found", path);
        return error("cannot open ISO '%s': %s", path, strerror(errno));
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        return error("ISO '%s' is not a regular file", path);
    if (pread(fd, vd, sizeof vd, ISO_VD_OFFSET) != (ssize_t)sizeof vd ||
        vd[0] != 1 || memcmp(vd + 1, "CD001", 5) != 0)
        return error("'%s' is not an ISO 9660 image", path);
    memcpy(id, vd + (ISO_VOLID_OFFSET - ISO_VD_OFFSET), 32);
    id[32] = '\0';
    len = strlen(id);
    while (len > 0 && (id[len - 1] == ' ' || id[len - 1] == '\0'))
        id[--len] = '\0';
    if (len == 0)
        return error("ISO '%s' has no volume id: the installer could not find it (inst.stage2=hd:LABEL=)", path);
    for (size_t i = 0; i < len; i++)
        if (!isprint((unsigned char)id[i]))
            return error("ISO '%s' has a volume id with unprintable bytes", path);
    *volid = xstrdup(id);
    return 0;
}

static char *trim(char *s)
{
    char *e;

    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* Strip a leading "/" or "./": paths are compared relative to the ISO root. */
static const char *rel(const char *p)
{
    while (*p == '/' || (p[0] == '.' && p[1] == '/'))
        p += (*p == '/') ? 1 : 2;
    return p;
}

int iso_treeinfo_parse(const char *text, char **kernel, char **initrd)
{
    CLEANUP_FREE char *copy = xstrdup(text);
    char *section = NULL, *arch = NULL;
    /* [0]: [images-<arch>], [1]: [images-x86_64] */
    char *k[2] = { NULL, NULL }, *i[2] = { NULL, NULL };
    char *line, *save = NULL;
    int ret = -1;

    *kernel = *initrd = NULL;
    /* Two passes: arch may come after the images sections. */
    for (int pass = 0; pass < 2; pass++) {
        free(copy);
        copy = xstrdup(text);
        section = NULL;
        for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            char *l = trim(line), *eq;
            if (!*l || *l == '#' || *l == ';')
                continue;
            if (*l == '[') {
                char *end = strchr(l, ']');
                if (end) {
                    *end = '\0';
                    section = trim(l + 1);
                }
                continue;
            }
            if (!section || !(eq = strchr(l, '=')))
                continue;
            *eq = '\0';
            char *key = trim(l), *val = trim(eq + 1);
            if (pass == 0) {
                if (strcmp(section, "general") == 0 && strcmp(key, "arch") == 0 && *val) {
                    free(arch);
                    arch = xstrdup(val);
                }
                continue;
            }
            if (strncmp(section, "images-", 7) != 0 || !*val)
                continue;
            int slot;
            if (strcmp(section + 7, arch ? arch : "x86_64") == 0)
                slot = 0;
            else if (strcmp(section + 7, "x86_64") == 0)
                slot = 1;
            else
                continue;
            if (strcmp(key, "kernel") == 0) {
                free(k[slot]);
                k[slot] = xstrdup(rel(val));
            } else if (strcmp(key, "initrd") == 0) {
                free(i[slot]);
                i[slot] = xstrdup(rel(val));
            }
        }
    }
    for (int s = 0; s < 2; s++)
        if (k[s] && i[s] && *k[s] && *i[s]) {
            *kernel = steal_pointer(&k[s]);
            *initrd = steal_pointer(&i[s]);
            ret = 0;
            break;
        }
    for (int s = 0; s < 2; s++) {
        free(k[s]);
        free(i[s]);
    }
    free(arch);
    return ret;
}

/* The ISO read through our callbacks: only read() counts as bytes read;
 * skipping a file's data (the payload, most of a DVD) is an lseek. */
struct iso_src {
    int fd;
    uint64_t *bytes;
    char buf[64 * 1024];
};

static la_ssize_t src_read(struct archive *a, void *data, const void **buf)
{
    struct iso_src *s = data;
    ssize_t n;

    (void)a;
    do
        n = read(s->fd, s->buf, sizeof s->buf);
    while (n < 0 && errno == EINTR);
    if (n > 0)
        *s->bytes += (uint64_t)n;
    *buf = s->buf;
    return n;
}

static la_int64_t src_skip(struct archive *a, void *data, la_int64_t request)
{
    struct iso_src *s = data;

    (void)a;
    if (lseek(s->fd, request, SEEK_CUR) < 0)
        return 0; /* libarchive then reads instead */
    return request;
}

static la_int64_t src_seek(struct archive *a, void *data, la_int64_t offset, int whence)
{
    struct iso_src *s = data;

    (void)a;
    return lseek(s->fd, offset, whence);
}

static int src_close(struct archive *a, void *data)
{
    struct iso_src *s = data;

    (void)a;
    close(s->fd);
    free(s);
    return ARCHIVE_OK;
}

static struct archive *open_iso(const char *path, uint64_t *bytes)
{
    struct archive *a = archive_read_new();
    struct iso_src *s = xcalloc(1, sizeof *s);

    if (!a)
        xalloc_die();
    s->bytes = bytes;
    s->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (s->fd < 0) {
        error("cannot read ISO '%s': %s", path, strerror(errno));
        free(s);
        archive_read_free(a);
        return NULL;
    }
    archive_read_support_format_iso9660(a);
    archive_read_set_seek_callback(a, src_seek);
    if (archive_read_open2(a, s, NULL, src_read, src_skip, src_close) != ARCHIVE_OK) {
        error("cannot read ISO '%s': %s", path, archive_error_string(a));
        archive_read_free(a);
        return NULL;
    }
    return a;
}

/* Every regular file's path (relative) and the text of .treeinfo. */
static char **list_files(const char *iso, char **treeinfo, uint64_t *bytes)
{
    struct archive *a = open_iso(iso, bytes);
    struct archive_entry *e;
    char **v = NULL;
    size_t n = 0, cap = 0;
    int r;

    *treeinfo = NULL;
    if (!a)
        return NULL;
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
        if (archive_entry_filetype(e) != AE_IFREG)
            continue;
        const char *p = rel(archive_entry_pathname(e));
        if (n + 2 > cap) {
            cap = cap ? cap * 2 : 64;
            v = xreallocarray(v, cap, sizeof *v);
        }
        v[n++] = xstrdup(p);
        v[n] = NULL;
        if (strcmp(p, ".treeinfo") == 0 && !*treeinfo && archive_entry_size(e) < TREEINFO_MAX) {
            size_t sz = (size_t)archive_entry_size(e);
            char *buf = xmalloc(sz + 1);
            la_ssize_t got = archive_read_data(a, buf, sz);
            if (got < 0) {
                free(buf);
                break;
            }
            buf[got] = '\0';
            *treeinfo = buf;
        }
    }
    if (r != ARCHIVE_EOF) {
        error("cannot read ISO '%s': %s", iso, archive_error_string(a));
        strv_free(v);
        free(*treeinfo);
        *treeinfo = NULL;
        v = NULL;
    } else if (!v) {
        v = xcalloc(1, sizeof *v);
    }
    archive_read_free(a);
    return v;
}

static const char *find(char *const *files, const char *path)
{
    path = rel(path);
    for (size_t i = 0; files[i]; i++)
        if (strcasecmp(files[i], path) == 0)
            return files[i];
    return NULL;
}

static int copy_entry(struct archive *a, const char *iso, const char *name, const char *dst)
{
    CLEANUP_CLOSE int fd = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    const void *buf;
    size_t len;
    la_int64_t off;
    int r;

    if (fd < 0)
        return error("cannot create '%s': %s", dst, strerror(errno));
    while ((r = archive_read_data_block(a, &buf, &len, &off)) == ARCHIVE_OK) {
        if (pwrite(fd, buf, len, off) != (ssize_t)len)
            return error("cannot write '%s': %s", dst, strerror(errno));
    }
    if (r != ARCHIVE_EOF)
        return error("cannot read '%s' in ISO '%s': %s", name, iso, archive_error_string(a));
    if (fchmod(fd, 0644) < 0 || fsync(fd) < 0)
        return error("cannot write '%s': %s", dst, strerror(errno));
    return 0;
}

static int extract(const char *iso, const char *kpath, const char *ipath, struct iso_boot *out)
{
    struct archive *a = open_iso(iso, &out->bytes_read);
    struct archive_entry *e;
    int r, done = 0, ret = 0;

    if (!a)
        return -1;
    while (done < 2 && ret == 0 &&
           ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN)) {
        if (archive_entry_filetype(e) != AE_IFREG)
            continue;
        const char *p = rel(archive_entry_pathname(e));
        /* The same file may be both (never in practice): extract it once per role. */
        if (strcmp(p, kpath) == 0) {
            ret = copy_entry(a, iso, p, out->kernel);
            done++;
            if (ret == 0 && strcmp(p, ipath) == 0) {
                ret = error("kernel and initrd are the same file '%s' in ISO '%s'", p, iso);
            }
        } else if (strcmp(p, ipath) == 0) {
            ret = copy_entry(a, iso, p, out->initrd);
            done++;
        }
    }
    if (ret == 0 && done < 2)
        ret = error("cannot read ISO '%s': %s", iso,
                    archive_error_string(a) ? archive_error_string(a) : "kernel or initrd vanished");
    archive_read_free(a);
    return ret;
}

int iso_find_boot(const char *iso, char *const *files, const char *treeinfo, const char *kernel,
                  const char *initrd, const char **k, const char **i)
{
    CLEANUP_FREE char *tk = NULL;
    CLEANUP_FREE char *ti = NULL;
    CLEANUP_FREE char *tried = NULL;
    size_t tlen = 0;
    FILE *tf;

    *k = *i = NULL;
    tf = open_memstream(&tried, &tlen);
    if (!tf)
        xalloc_die();
    if (kernel || initrd) {
        *k = find(files, kernel);
        *i = find(files, initrd);
        fprintf(tf, "%s, %s", rel(kernel), rel(initrd));
    } else {
        if (treeinfo && iso_treeinfo_parse(treeinfo, &tk, &ti) == 0) {
            *k = find(files, tk);
            *i = find(files, ti);
            fprintf(tf, ".treeinfo (%s, %s)", tk, ti);
        } else {
            fprintf(tf, "%s", treeinfo ? ".treeinfo (no kernel/initrd)" : ".treeinfo (absent)");
        }
        for (size_t l = 0; (!*k || !*i) && iso_known_layouts[l][0]; l++) {
            *k = find(files, iso_known_layouts[l][0]);
            *i = find(files, iso_known_layouts[l][1]);
            fprintf(tf, ", %s + %s", iso_known_layouts[l][0], iso_known_layouts[l][1]);
        }
    }
    fclose(tf);
    if (!*k || !*i) {
        if (kernel || initrd)
            return error("ISO '%s' has no %s '%s': list it with 'xorriso -indev %s -find / -type f'",
                         iso, !*k ? "kernel" : "initrd", !*k ? rel(kernel) : rel(initrd), iso);
        return error("no kernel and initrd found in ISO '%s' (tried %s): give --kernel PATH --initrd PATH inside the ISO",
                     iso, tried);
    }
    return 0;
}

int iso_extract_boot(const char *iso, const char *kernel, const char *initrd,
                     const char *dir, struct iso_boot *out)
{
    CLEANUP_STRV char **files = NULL;
    CLEANUP_FREE char *treeinfo = NULL;
    const char *k, *i;

    memset(out, 0, sizeof *out);
    if (iso_volume_id(iso, &out->volume_id) < 0)
        return -1;
    files = list_files(iso, &treeinfo, &out->bytes_read);
    if (!files)
        return -1;
    if (iso_find_boot(iso, files, treeinfo, kernel, initrd, &k, &i) < 0)
        return -1;
    out->kernel_path = xstrdup(k);
    out->initrd_path = xstrdup(i);
    out->kernel = xasprintf("%s/vmlinuz", dir);
    out->initrd = xasprintf("%s/initrd", dir);
    debug("ISO %s: volume id '%s', kernel %s, initrd %s", iso, out->volume_id, k, i);
    return extract(iso, k, i, out);
}

void iso_boot_release(struct iso_boot *b)
{
    free(b->volume_id);
    free(b->kernel_path);
    free(b->initrd_path);
    free(b->kernel);
    free(b->initrd);
    memset(b, 0, sizeof *b);
}
