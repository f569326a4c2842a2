/* publish.c: see publish.h.
 *
 * virt-builder's index parser (guestfs-tools builder/index-scan.l,
 * index-parse.y, index_parser.ml) takes: a section header [NAME] with NAME
 * of [-A-Za-z0-9._]+; then key=value lines, one per field, each ending in a
 * newline (also the last line of the file); a value continues on following
 * lines that start with one blank (that blank is dropped), so an empty line
 * inside a value must be written as a single space; a blank line ends a
 * section and separates it from the next. It requires arch, file (a
 * relative path) and size, and refuses a repeated field or a repeated
 * name+arch. xz(1) has no option to name its output file and command.h
 * captures stdout into memory (no length, so not for binary data), so an
 * image is compressed through a symlink to it in a private temp directory
 * in DIR: `xz -k -f LINK` writes LINK.xz next to the link. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/digest.h"
#include "adapters/command.h"
#include "base/error.h"
#include "base/fileio.h"
#include "adapters/publish.h"
#include "base/xalloc.h"

#define XZ_SUFFIX ".qcow2.xz"

/* [-A-Za-z0-9._]+, what virt-builder accepts between the brackets; also a
 * safe file name (no '/', and "." and ".." are refused). */
static int valid_section_name(const char *s)
{
    if (!s || !*s || !strcmp(s, ".") || !strcmp(s, ".."))
        return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789-._") == strlen(s);
}

static int one_line(const char *s)
{
    return !s || !strpbrk(s, "\n\r");
}

static int cmp_names(const void *a, const void *b, void *arg)
{
    const struct template_meta *metas = arg;

    return strcmp(metas[*(const size_t *)a].name, metas[*(const size_t *)b].name);
}

/* The order of METAS by name in a new array (caller frees); NULL with an
 * error recorded if an entry cannot go into an index. */
static size_t *check_and_sort(const struct template_meta *metas, size_t n)
{
    CLEANUP_FREE size_t *order = xcalloc(n, sizeof *order);

    for (size_t i = 0; i < n; i++) {
        const struct template_meta *m = &metas[i];
        const char *fields[] = { "product", m->product, "os", m->os, "arch", m->arch,
                                 "format", m->format, "expand", m->expand,
                                 "expand_lv", m->expand_lv };

        if (!valid_section_name(m->name)) {
            error("cannot publish template '%s': virt-builder takes only names of "
                  "letters, digits, '-', '.' and '_'", m->name ? m->name : "");
            return NULL;
        }
        for (size_t f = 0; f < sizeof fields / sizeof *fields; f += 2) {
            if (!one_line(fields[f + 1])) {
                error("cannot publish template '%s': its %s has a line break", m->name,
                      fields[f]);
                return NULL;
            }
        }
        if (m->virtual_size == 0) {
            error("cannot publish template '%s': its virtual size is not known", m->name);
            return NULL;
        }
        order[i] = i;
    }
    qsort_r(order, n, sizeof *order, cmp_names, (void *)metas);
    for (size_t i = 1; i < n; i++) {
        if (!strcmp(metas[order[i - 1]].name, metas[order[i]].name)) {
            error("cannot publish template '%s' twice", metas[order[i]].name);
            return NULL;
        }
    }
    return steal_pointer(&order);
}

static int valid_sha512(const char *s)
{
    return s && strlen(s) == 128 && strspn(s, "0123456789abcdef") == 128;
}

/* VALUE with every line after the first indented by one space, which is how
 * virt-builder continues a value (an empty line becomes " "). */
static void put_multiline(FILE *fp, const char *value)
{
    for (const char *p = value; *p; p++) {
        if (*p == '\r')
            continue;
        fputc(*p, fp);
        if (*p == '\n')
            fputc(' ', fp);
    }
}

static void put_notes(FILE *fp, const struct template_meta *m)
{
    fputs("notes=Made by vmstamp", fp);
    if (m->source && *m->source) {
        fputs(" from ", fp);
        put_multiline(fp, m->source);
    }
    fputs(", sysprep: ", fp);
    if (!m->operations || !m->operations[0]) {
        fputs("none", fp);
    } else {
        for (size_t i = 0; m->operations[i]; i++) {
            if (i)
                fputc(',', fp);
            put_multiline(fp, m->operations[i]);
        }
    }
    fputc('\n', fp);
}

char *publish_index_text(const struct template_meta *metas, const uint64_t *xz_sizes,
                         const char *const *xz_sha512, size_t n)
{
    CLEANUP_FREE size_t *order = check_and_sort(metas, n);
    char *buf = NULL;
    size_t len = 0;
    FILE *fp;

    if (!order)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (!valid_sha512(xz_sha512[i])) {
            error("cannot publish template '%s': the checksum of its image is not "
                  "128 lowercase hex digits", metas[i].name);
            return NULL;
        }
    }
    fp = open_memstream(&buf, &len);
    if (!fp)
        xalloc_die();
    for (size_t k = 0; k < n; k++) {
        size_t i = order[k];
        const struct template_meta *m = &metas[i];

        if (k)
            fputc('\n', fp);
        fprintf(fp, "[%s]\n", m->name);
        fprintf(fp, "name=%s\n", m->product && *m->product ? m->product : m->name);
        if (m->os && *m->os)
            fprintf(fp, "osinfo=%s\n", m->os);
        fprintf(fp, "arch=%s\n", m->arch && *m->arch ? m->arch : "x86_64");
        fprintf(fp, "file=%s" XZ_SUFFIX "\n", m->name);
        fprintf(fp, "format=%s\n", m->format && *m->format ? m->format : "qcow2");
        fprintf(fp, "size=%llu\n", (unsigned long long)m->virtual_size);
        fprintf(fp, "compressed_size=%llu\n", (unsigned long long)xz_sizes[i]);
        if (m->expand && *m->expand)
            fprintf(fp, "expand=%s\n", m->expand);
        if (m->expand_lv && *m->expand_lv)
            fprintf(fp, "lvexpand=%s\n", m->expand_lv);
        fprintf(fp, "checksum[sha512]=%s\n", xz_sha512[i]);
        fputs("revision=1\n", fp);
        put_notes(fp, m);
    }
    if (fclose(fp) != 0)
        xalloc_die(); /* a memory stream fails only for want of memory */
    return buf; /* caller frees */
}

static int fsync_path(const char *path)
{
    CLEANUP_CLOSE int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0 || fsync(fd) < 0)
        return error("cannot sync '%s': %s", path, strerror(errno));
    return 0;
}

static int ensure_dir(const char *dir)
{
    struct stat st;

    if (mkdir(dir, 0755) == 0)
        return 0;
    if (errno != EEXIST)
        return error("cannot create repository directory '%s': %s", dir, strerror(errno));
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return error("repository '%s' is not a directory", dir);
    return 0;
}

/* Compress IMAGE into TMPDIR/NAME.qcow2.xz (through the symlink
 * TMPDIR/NAME.qcow2), made 0644 and synced; its size and sha512 out. */
static int compress_image(const char *tmpdir, const char *name, const char *image,
                          uint64_t *size, char sha512[129])
{
    CLEANUP_FREE char *abs = realpath(image, NULL);
    CLEANUP_FREE char *link = NULL, *xz = NULL;
    struct command *cmd;
    struct stat st;
    int r;

    if (!abs)
        return error("cannot publish template '%s': image '%s': %s", name, image,
                     strerror(errno));
    if (stat(abs, &st) < 0 || !S_ISREG(st.st_mode))
        return error("cannot publish template '%s': image '%s' is not a regular file",
                     name, image);
    link = xasprintf("%s/%s.qcow2", tmpdir, name);
    xz = xasprintf("%s/%s" XZ_SUFFIX, tmpdir, name);
    if (symlink(abs, link) < 0)
        return error("cannot create '%s': %s", link, strerror(errno));
    info("compressing %s (%s)", name, image);
    cmd = command_new("xz");
    command_add(cmd, "-T2");
    command_add(cmd, "-6");
    command_add(cmd, "-k"); /* the link stays, the image is never touched */
    command_add(cmd, "-f"); /* follow the symlink */
    command_add(cmd, "--");
    command_add(cmd, link);
    r = command_run(cmd, NULL);
    command_free(cmd);
    unlink(link);
    if (r < 0) {
        unlink(xz);
        return -1;
    }
    if (chmod(xz, 0644) < 0)
        r = error("cannot chmod '%s': %s", xz, strerror(errno));
    if (r < 0 || fsync_path(xz) < 0 || sha512_file(xz, sha512, size) < 0) {
        unlink(xz);
        return -1;
    }
    return 0;
}

int publish_repository(const char *dir, const struct template_meta *metas,
                       const char *const *images, size_t n)
{
    CLEANUP_FREE size_t *order = check_and_sort(metas, n);
    CLEANUP_FREE char *tmpdir = NULL, *index = NULL, *text = NULL;
    CLEANUP_FREE uint64_t *sizes = xcalloc(n, sizeof *sizes);
    CLEANUP_FREE char (*sums)[129] = xcalloc(n, sizeof *sums);
    CLEANUP_FREE const char **sum_ptrs = xcalloc(n, sizeof *sum_ptrs);
    size_t done = 0, moved = 0;
    int ret = -1;

    if (!order || ensure_dir(dir) < 0)
        return -1;
    tmpdir = xasprintf("%s/.publish-XXXXXX", dir);
    index = xasprintf("%s/index", dir);
    if (!mkdtemp(tmpdir))
        return error("cannot create a temporary directory in '%s': %s", dir, strerror(errno));

    for (; done < n; done++) {
        if (compress_image(tmpdir, metas[done].name, images[done], &sizes[done],
                           sums[done]) < 0)
            goto out;
        sum_ptrs[done] = sums[done];
    }
    text = publish_index_text(metas, sizes, sum_ptrs, n);
    if (!text)
        goto out;
    /* Everything is ready: swap the images in, then the index, so the window
     * where the index and an image disagree is as short as it can be. */
    for (; moved < n; moved++) {
        CLEANUP_FREE char *from = NULL, *to = NULL;
        from = xasprintf("%s/%s" XZ_SUFFIX, tmpdir, metas[moved].name);
        to = xasprintf("%s/%s" XZ_SUFFIX, dir, metas[moved].name);
        if (rename(from, to) < 0) {
            error("cannot rename '%s' to '%s': %s", from, to, strerror(errno));
            goto out;
        }
    }
    /* The index last (written beside, synced, renamed, directory synced). */
    if (write_file_atomic(index, text, strlen(text), 0644) < 0)
        goto out;
    info("published %zu template%s in %s", n, n == 1 ? "" : "s", dir);
    ret = 0;

out:
    for (size_t i = moved; i < done; i++) {
        CLEANUP_FREE char *xz = NULL;
        xz = xasprintf("%s/%s" XZ_SUFFIX, tmpdir, metas[i].name);
        unlink(xz);
    }
    if (rmdir(tmpdir) < 0 && ret == 0)
        warning("cannot remove '%s': %s", tmpdir, strerror(errno));
    return ret;
}
