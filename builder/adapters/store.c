/* store.c: see store.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adapters/bundle.h"
#include "base/cancel.h"
#include "base/digest.h"
#include "base/cleanup-virt.h"
#include "base/cleanup.h"
#include "pure/domxml.h"
#include "base/error.h"
#include "base/fileio.h"
#include "adapters/store.h"
#include "pure/util.h"
#include "adapters/virt.h"
#include "base/xalloc.h"

#define HASH_BUF (1024 * 1024)

static int define_default_pool(virConnectPtr conn)
{
    CLEANUP_FREE char *xml = NULL;
    CLEANUP_POOL virStoragePoolPtr p = NULL;

    if (mkdir_p(STORE_DEFAULT_DIR, 0755) < 0)
        return -1;
    xml = xasprintf("<pool type='dir'><name>%s</name><target><path>%s</path></target></pool>",
                    STORE_DEFAULT_POOL, STORE_DEFAULT_DIR);
    p = virStoragePoolDefineXML(conn, xml, 0);
    if (!p)
        return error("cannot define storage pool '%s': %s", STORE_DEFAULT_POOL, virt_error());
    virStoragePoolSetAutostart(p, 1);
    info("vmstamp: defined storage pool '%s' at %s", STORE_DEFAULT_POOL, STORE_DEFAULT_DIR);
    return 0;
}

int store_open(virConnectPtr conn, const char *pool, int create, struct store *st)
{
    CLEANUP_POOL virStoragePoolPtr p = NULL;

    memset(st, 0, sizeof *st);
    st->conn = conn;
    st->pool = xstrdup(pool ? pool : STORE_DEFAULT_POOL);
    p = virStoragePoolLookupByName(conn, st->pool);
    if (!p && create && strcmp(st->pool, STORE_DEFAULT_POOL) == 0) {
        if (define_default_pool(conn) < 0)
            return -1;
        p = virStoragePoolLookupByName(conn, st->pool);
    }
    if (!p) {
        error_clear();
        return error("template store '%s' not found: make a template first (vmstamp template create) or pass --pool",
                     st->pool);
    }
    if (virStoragePoolIsActive(p) == 0 && virStoragePoolCreate(p, 0) < 0)
        return error("cannot start storage pool '%s': %s", st->pool, virt_error());
    if (virt_pool_dir(conn, st->pool, &st->dir) < 0)
        return -1;
    st->index = xasprintf("%s/%s", STORE_INDEX_ROOT, st->pool);
    return mkdir_p(st->index, 0755);
}

void store_close(struct store *st)
{
    free(st->pool);
    free(st->dir);
    free(st->index);
    memset(st, 0, sizeof *st);
}

char *store_image_path(const struct store *st, const char *name)
{
    char *s;

    s = xasprintf("%s/%s.qcow2", st->dir, name);
    return s;
}

char *store_meta_path(const struct store *st, const char *name)
{
    char *s;

    s = xasprintf("%s/%s.json", st->index, name);
    return s;
}

int store_check_name(const struct store *st, const char *name)
{
    const char *problem = domain_name_problem(name);

    if (problem)
        return error("invalid template name '%s' for store '%s': it %s (see 'vmstamp template list')", name,
                     st->pool, problem);
    return 0;
}

int store_has(const struct store *st, const char *name)
{
    CLEANUP_FREE char *img = store_image_path(st, name);
    CLEANUP_FREE char *meta = store_meta_path(st, name);

    return access(img, F_OK) == 0 || access(meta, F_OK) == 0;
}

int store_load(const struct store *st, const char *name, struct template_meta *meta)
{
    CLEANUP_FREE char *path = NULL;
    CLEANUP_FREE char *img = NULL;
    CLEANUP_FREE char *json = NULL;

    memset(meta, 0, sizeof *meta);
    /* The name becomes a path: '../x' or '.x' would read outside the index. */
    if (store_check_name(st, name) < 0)
        return -1;
    path = store_meta_path(st, name);
    img = store_image_path(st, name);
    if (access(path, F_OK) < 0 || access(img, F_OK) < 0)
        return error("template '%s' not found in store '%s' (see 'vmstamp template list')", name, st->pool);
    json = read_file_limited(path, READ_MAX_DOCUMENT, READ_NOFOLLOW, "template metadata",
                             "remove it and make the template again", NULL);
    if (!json)
        return -1;
    if (template_meta_from_json(json, meta) < 0)
        return error_replace("template '%s': metadata %s is damaged", name, path);
    /* What acts on the entry (rm, clone) uses the name inside it. */
    if (!meta->name || strcmp(meta->name, name) != 0) {
        error("template '%s': metadata %s names another template ('%s'): remove it and make the template again",
              name, path, meta->name ? meta->name : "");
        template_meta_release(meta);
        return -1;
    }
    return 0;
}

int store_save_meta(const struct store *st, const struct template_meta *meta)
{
    CLEANUP_FREE char *path = store_meta_path(st, meta->name);
    CLEANUP_FREE char *json = template_meta_to_json(meta);
    CLEANUP_FREE char *text = NULL;

    text = xasprintf("%s\n", json);
    return write_file_atomic(path, text, strlen(text), 0644);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **store_names(const struct store *st)
{
    DIR *d = opendir(st->index);
    struct dirent *e;
    char **v = xcalloc(1, sizeof *v);
    size_t n = 0;

    while (d && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l > 5 && strcmp(e->d_name + l - 5, ".json") == 0 && e->d_name[0] != '.') {
            CLEANUP_FREE char *name = xstrndup(e->d_name, l - 5);
            if (domain_name_problem(name))
                continue; /* not one of ours: no template has that name */
            v = xreallocarray(v, n + 2, sizeof *v);
            v[n++] = xstrndup(e->d_name, l - 5);
            v[n] = NULL;
        }
    }
    if (d)
        closedir(d);
    qsort(v, n, sizeof *v, cmp_str);
    return v;
}

/* Big-endian integers of a qcow2 header. */
static uint64_t be64(const unsigned char *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* A qcow2 image that reads another file (a backing file, an external data
 * file) would make clones read a host file: a store image stands alone.
 * HDR: the image's first 104 bytes (N of them read). */
static const char *qcow2_outside_reference(const unsigned char *hdr, size_t n)
{
    if (n < 72 || memcmp(hdr, "QFI\xfb", 4) != 0)
        return "is not a qcow2 image";
    if (be64(hdr + 8) != 0)
        return "has a backing file";
    /* Version 3: incompatible feature bit 2, an external data file. */
    if (be64(hdr + 4) >> 32 >= 3 && n >= 80 && (be64(hdr + 72) & 4))
        return "has an external data file";
    return NULL;
}

/* META's image, opened without following a link or blocking on a FIFO,
 * checked before a byte is hashed or copied: a regular file of the size
 * recorded, a qcow2 that reads no other file. The fd (*SB filled), or -1
 * recorded. */
static int open_image(const struct store *st, const struct template_meta *meta, const char *img,
                      struct stat *sb)
{
    unsigned char hdr[104];
    ssize_t n;
    const char *problem;
    int fd = open(img, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);

    if (fd < 0) {
        if (errno == ENOENT)
            return error("template '%s': image %s is missing", meta->name, img);
        if (errno == ELOOP)
            return error("template '%s': image %s is a symbolic link, not the store's file: remove the template "
                         "(vmstamp template rm %s --pool %s)", meta->name, img, meta->name, st->pool);
        return error("cannot open template '%s' image %s: %s", meta->name, img, strerror(errno));
    }
    if (fstat(fd, sb) < 0) {
        error("cannot stat template '%s' image %s: %s", meta->name, img, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(sb->st_mode)) {
        error("template '%s': image %s is not a regular file: remove the template (vmstamp template rm %s --pool "
              "%s)", meta->name, img, meta->name, st->pool);
        goto fail;
    }
    if ((uint64_t)sb->st_size != meta->stored_size) {
        error("template '%s' fails verification: image %s is %lld bytes, its metadata says %llu: the image changed "
              "since it was made", meta->name, img, (long long)sb->st_size, (unsigned long long)meta->stored_size);
        goto fail;
    }
    n = pread(fd, hdr, sizeof hdr, 0);
    if (n < 0) {
        error("cannot read template '%s' image %s: %s", meta->name, img, strerror(errno));
        goto fail;
    }
    if ((problem = qcow2_outside_reference(hdr, (size_t)n))) {
        error("template '%s': image %s %s: a store template must stand alone; remove it (vmstamp template rm %s "
              "--pool %s)", meta->name, img, problem, meta->name, st->pool);
        goto fail;
    }
    return fd;
fail:
    close(fd);
    return -1;
}

int store_check_image(const struct store *st, const struct template_meta *meta)
{
    CLEANUP_FREE char *img = store_image_path(st, meta->name);
    struct stat sb;
    int fd = open_image(st, meta, img, &sb);

    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

/* SHA-256 of the open image FD (IMG), as hex in SUM; the cancel flag is
 * checked between chunks. */
static int hash_image(int fd, const struct template_meta *meta, const char *img, char sum[65])
{
    CLEANUP_DIGEST struct digest *d = digest_new(DIGEST_SHA256);
    CLEANUP_FREE unsigned char *buf = xmalloc(HASH_BUF);
    uint64_t total = 0;

    if (!d)
        return -1;
    for (;;) {
        if (cancel_check("template not verified") < 0)
            return -1;
        ssize_t n = read(fd, buf, HASH_BUF);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return error("cannot read template '%s' image %s: %s", meta->name, img, strerror(errno));
        if (n == 0)
            break;
        total += (uint64_t)n;
        /* It grew while read: not the image checked. */
        if (total > meta->stored_size)
            return error("template '%s': image %s grew while it was verified: the image changed since it was made",
                         meta->name, img);
        if (digest_update(d, buf, (size_t)n) < 0)
            return -1;
    }
    return digest_finish_hex(d, sum);
}

int store_verify(const struct store *st, const struct template_meta *meta, int use_cache)
{
    CLEANUP_FREE char *img = store_image_path(st, meta->name);
    CLEANUP_FREE char *cache = NULL;
    CLEANUP_FREE char *stamp = NULL;
    CLEANUP_FREE char *old = NULL;
    CLEANUP_CLOSE int fd = -1;
    struct stat sb;
    char sum[65];

    fd = open_image(st, meta, img, &sb);
    if (fd < 0)
        return -1;
    cache = xasprintf("%s/.%s.verified", st->index, meta->name);
    /* The file itself (device, inode, ctime: a file swapped in with the
     * same size and mtime is another), not only its size and mtime. */
    stamp = xasprintf("%llu %llu %lld %lld.%09ld %lld.%09ld %s\n", (unsigned long long)sb.st_dev,
                      (unsigned long long)sb.st_ino, (long long)sb.st_size, (long long)sb.st_mtim.tv_sec,
                      sb.st_mtim.tv_nsec, (long long)sb.st_ctim.tv_sec, sb.st_ctim.tv_nsec, meta->sha256);
    if (use_cache) {
        old = read_file_limited(cache, 4096, READ_NOFOLLOW, NULL, NULL, NULL);
        error_clear();
        if (old && strcmp(old, stamp) == 0)
            return 0;
    }
    if (hash_image(fd, meta, img, sum) < 0)
        return -1;
    if (strcmp(sum, meta->sha256) != 0) {
        unlink(cache);
        return error("template '%s' fails verification: SHA-256 of %s is %.12s..., its metadata says %.12s...: the image changed since it was made",
                     meta->name, img, sum, meta->sha256);
    }
    /* The cache only saves time: a failure to write it is no error. */
    if (write_file_atomic(cache, stamp, strlen(stamp), 0644) < 0) {
        debug("cannot cache the verification of '%s': %s", meta->name, error_message());
        error_clear();
    }
    return 0;
}

char **store_clones_of(virConnectPtr conn, const char *image)
{
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(conn, &doms, 0);
    char **v = xcalloc(1, sizeof *v);

    for (int i = 0; i < n; i++) {
        char *xml = virDomainGetXMLDesc(doms[i], VIR_DOMAIN_XML_INACTIVE);
        struct clone_meta meta;
        if (xml && domxml_parse(xml, &meta) == 0) {
            /* A copy of a clone (unbound metadata) still uses the template
             * as far as anyone can tell: it holds it too. */
            if ((meta.is_vmstamp || meta.unbound) && strcmp(meta.template_path, image) == 0) {
                strv_append(&v, xstrdup(virDomainGetName(doms[i])));
            }
            clone_meta_release(&meta);
        }
        error_clear();
        free(xml);
        virDomainFree(doms[i]);
    }
    free(doms);
    return v;
}
