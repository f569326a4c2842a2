/* store.c: see store.h. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adapters/bundle.h"
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

int store_has(const struct store *st, const char *name)
{
    CLEANUP_FREE char *img = store_image_path(st, name);
    CLEANUP_FREE char *meta = store_meta_path(st, name);

    return access(img, F_OK) == 0 || access(meta, F_OK) == 0;
}

int store_load(const struct store *st, const char *name, struct template_meta *meta)
{
    CLEANUP_FREE char *path = store_meta_path(st, name);
    CLEANUP_FREE char *img = store_image_path(st, name);
    CLEANUP_FREE char *json = NULL;

    if (access(path, F_OK) < 0 || access(img, F_OK) < 0)
        return error("template '%s' not found in store '%s' (see 'vmstamp template list')", name, st->pool);
    json = read_file(path, NULL);
    if (!json)
        return -1;
    if (template_meta_from_json(json, meta) < 0)
        return error_replace("template '%s': metadata %s is damaged", name, path);
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

int store_verify(const struct store *st, const struct template_meta *meta, int use_cache)
{
    CLEANUP_FREE char *img = store_image_path(st, meta->name);
    CLEANUP_FREE char *cache = NULL;
    CLEANUP_FREE char *stamp = NULL;
    CLEANUP_FREE char *old = NULL;
    struct stat sb;
    char sum[65];

    if (stat(img, &sb) < 0)
        return error("template '%s': image %s is missing", meta->name, img);
    cache = xasprintf("%s/.%s.verified", st->index, meta->name);
    stamp = xasprintf("%lld %lld.%09ld %s\n", (long long)sb.st_size, (long long)sb.st_mtim.tv_sec,
                      sb.st_mtim.tv_nsec, meta->sha256);
    if (use_cache) {
        old = read_file(cache, NULL);
        error_clear();
        if (old && strcmp(old, stamp) == 0)
            return 0;
    }
    if (sha256_file(img, sum) < 0)
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
