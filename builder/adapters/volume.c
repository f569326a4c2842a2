/* volume.c: see volume.h. */
#include <errno.h>
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "adapters/command.h"
#include "adapters/virt.h"
#include "adapters/volume.h"
#include "base/cancel.h"
#include "base/cleanup-virt.h"
#include "base/cleanup.h"
#include "base/digest.h"
#include "base/error.h"
#include "base/proc.h"
#include "base/xalloc.h"
#include "pure/domxml.h"

static char *conn_uri(virConnectPtr conn)
{
    char *uri = virConnectGetURI(conn);

    return uri ? uri : xstrdup("?"); /* caller frees */
}

/* POOL on CONN. 0, 1 if it does not exist and MISSING_OK (nothing
 * recorded), -1 (recorded). */
static int pool_lookup(virConnectPtr conn, const char *uri, const char *pool, virStoragePoolPtr *p, int missing_ok)
{
    *p = virStoragePoolLookupByName(conn, pool);
    if (*p)
        return 0;
    if (virGetLastErrorCode() == VIR_ERR_NO_STORAGE_POOL) {
        if (missing_ok)
            return 1;
        return error("storage pool '%s' not found on %s: define it (virsh pool-define-as) or pick another pool",
                     pool, uri);
    }
    return error("cannot look up storage pool '%s' on %s: %s", pool, uri, virt_error());
}

/* Volume NAME in P: 0, 1 if not there (nothing recorded), -1 (recorded:
 * an inactive pool included). */
static int vol_lookup(virStoragePoolPtr p, const char *uri, const char *pool, const char *name,
                      virStorageVolPtr *v)
{
    *v = virStorageVolLookupByName(p, name);
    if (*v)
        return 0;
    if (virGetLastErrorCode() == VIR_ERR_NO_STORAGE_VOL)
        return 1;
    return error("cannot look up volume '%s' in pool '%s' on %s: %s", name, pool, uri, virt_error());
}

int volume_exists(virConnectPtr conn, const char *pool, const char *name, char **path)
{
    CLEANUP_FREE char *uri = conn_uri(conn);
    CLEANUP_POOL virStoragePoolPtr p = NULL;
    CLEANUP_VOL virStorageVolPtr v = NULL;
    int r;

    if (path)
        *path = NULL;
    if (pool_lookup(conn, uri, pool, &p, 0) < 0)
        return -1;
    r = vol_lookup(p, uri, pool, name, &v);
    if (r != 0)
        return r < 0 ? -1 : 0;
    if (path && !(*path = virStorageVolGetPath(v)))
        return error("cannot read the path of volume '%s' in pool '%s' on %s: %s", name, pool, uri, virt_error());
    return 1;
}

int volume_delete(virConnectPtr conn, const char *pool, const char *name)
{
    CLEANUP_FREE char *uri = conn_uri(conn);
    CLEANUP_POOL virStoragePoolPtr p = NULL;
    CLEANUP_VOL virStorageVolPtr v = NULL;
    int r;

    r = pool_lookup(conn, uri, pool, &p, 1);
    if (r != 0)
        return r < 0 ? -1 : 0;
    r = vol_lookup(p, uri, pool, name, &v);
    if (r == 1) {
        /* Made outside libvirt (an LVM thin snapshot) and not listed yet:
         * look again after a refresh. */
        if (virStoragePoolRefresh(p, 0) < 0)
            return error("cannot refresh storage pool '%s' on %s: %s", pool, uri, virt_error());
        r = vol_lookup(p, uri, pool, name, &v);
    }
    if (r != 0)
        return r < 0 ? -1 : 0;
    if (virStorageVolDelete(v, 0) < 0) {
        if (virGetLastErrorCode() == VIR_ERR_NO_STORAGE_VOL)
            return 0; /* gone meanwhile */
        return error("cannot delete volume '%s' in pool '%s' on %s: %s", name, pool, uri, virt_error());
    }
    return 1;
}

/* The volume XML, built with libxml2 (a name with '<' is escaped); caller
 * frees. ALLOCATION: bytes allocated at once; BACKING: a <backingStore>
 * path, or NULL; FORMAT and MODE: the <target>'s format and permissions,
 * or NULL and 0 for none (a logical pool's volumes have neither). */
static char *volume_xml(const char *name, uint64_t capacity, uint64_t allocation, const char *backing,
                        const char *format, unsigned mode)
{
    xmlNodePtr vol = xmlNewNode(NULL, BAD_CAST "volume"), n, t;
    xmlBufferPtr buf = xmlBufferCreate();
    char num[32];
    char *s;

    if (!vol || !buf)
        xalloc_die();
    xmlNewTextChild(vol, NULL, BAD_CAST "name", BAD_CAST name);
    snprintf(num, sizeof num, "%llu", (unsigned long long)capacity);
    n = xmlNewTextChild(vol, NULL, BAD_CAST "capacity", BAD_CAST num);
    xmlNewProp(n, BAD_CAST "unit", BAD_CAST "bytes");
    snprintf(num, sizeof num, "%llu", (unsigned long long)allocation);
    n = xmlNewTextChild(vol, NULL, BAD_CAST "allocation", BAD_CAST num);
    xmlNewProp(n, BAD_CAST "unit", BAD_CAST "bytes");
    if (backing)
        xmlNewTextChild(xmlNewChild(vol, NULL, BAD_CAST "backingStore", NULL), NULL, BAD_CAST "path",
                        BAD_CAST backing);
    if (format) {
        t = xmlNewChild(vol, NULL, BAD_CAST "target", NULL);
        xmlNewProp(xmlNewChild(t, NULL, BAD_CAST "format", NULL), BAD_CAST "type", BAD_CAST format);
        n = xmlNewChild(t, NULL, BAD_CAST "permissions", NULL);
        snprintf(num, sizeof num, "0%o", mode & 07777);
        xmlNewTextChild(n, NULL, BAD_CAST "mode", BAD_CAST num);
    }
    if (xmlNodeDump(buf, NULL, vol, 0, 1) < 0)
        xalloc_die();
    s = xstrdup((const char *)xmlBufferContent(buf));
    xmlBufferFree(buf);
    xmlFreeNode(vol);
    return s; /* caller frees */
}

int volume_create_lv(virConnectPtr conn, const char *pool, const char *name, uint64_t capacity,
                     const char *backing, char **path)
{
    CLEANUP_FREE char *uri = conn_uri(conn);
    CLEANUP_POOL virStoragePoolPtr p = NULL;
    CLEANUP_VOL virStorageVolPtr v = NULL;
    /* Allocation as capacity: libvirt's logical backend would make a
     * sparse (--virtualsize) LV of a smaller one. */
    CLEANUP_FREE char *xml = volume_xml(name, capacity, capacity, backing, NULL, 0);

    if (path)
        *path = NULL;
    if (pool_lookup(conn, uri, pool, &p, 0) < 0)
        return -1;
    int r = vol_lookup(p, uri, pool, name, &v);
    if (r < 0)
        return -1;
    if (r == 0) {
        error("volume '%s' already exists in pool '%s' on %s: remove it or pick another name", name, pool, uri);
        return VOLUME_EXISTED;
    }
    v = virStorageVolCreateXML(p, xml, 0);
    if (!v) {
        /* An LV made by hand since the last refresh: lvcreate's own words. */
        if (virGetLastErrorCode() == VIR_ERR_STORAGE_VOL_EXIST || strstr(virt_error(), "already exists")) {
            error("volume '%s' already exists in pool '%s' on %s: remove it or pick another name", name, pool, uri);
            return VOLUME_EXISTED;
        }
        /* libvirt passes lvcreate's stderr on, lines and all: one line. */
        CLEANUP_FREE char *why = command_stderr_summary(virt_error(), COMMAND_STDERR_MAX);
        return error("cannot create logical volume '%s' in pool '%s' on %s: %s", name, pool, uri, why);
    }
    if (path && !(*path = virStorageVolGetPath(v)))
        return error("cannot read the path of volume '%s' in pool '%s' on %s: %s", name, pool, uri, virt_error());
    return 0;
}

/* ---- upload ----------------------------------------------------------------- */

/* P must be active and keep its volumes as files. */
static int check_file_pool(virStoragePoolPtr p, const char *uri, const char *pool)
{
    virStoragePoolInfo info;
    CLEANUP_FREE char *xml = NULL;
    CLEANUP_FREE char *type = NULL;

    if (virStoragePoolGetInfo(p, &info) < 0)
        return error("cannot query storage pool '%s' on %s: %s", pool, uri, virt_error());
    if (info.state != VIR_STORAGE_POOL_RUNNING)
        return error("storage pool '%s' on %s is not active: start it (virsh pool-start %s)", pool, uri, pool);
    xml = virStoragePoolGetXMLDesc(p, 0);
    if (!xml)
        return error("cannot read storage pool '%s' on %s: %s", pool, uri, virt_error());
    type = xml_get(xml, "/pool/@type");
    if (!type || (strcmp(type, "dir") != 0 && strcmp(type, "fs") != 0 && strcmp(type, "netfs") != 0))
        return error("storage pool '%s' on %s is of type '%s': vmstamp uploads images into dir, fs or netfs pools",
                     pool, uri, type ? type : "unknown");
    return 0;
}

/* LOCAL must be what FORMAT and CAPACITY say: the volume is made from
 * them, then overwritten with LOCAL's bytes. */
static int check_local(int fd, const char *local, const char *format, uint64_t capacity, uint64_t size)
{
    unsigned char hdr[32];

    if (strcmp(format, "raw") == 0) {
        if (size != capacity)
            return error("cannot upload '%s': it is %llu bytes, not the %llu bytes given as its size", local,
                         (unsigned long long)size, (unsigned long long)capacity);
        return 0;
    }
    if (strcmp(format, "qcow2") != 0)
        return error("cannot upload '%s' as '%s': vmstamp uploads qcow2 and raw images", local, format);
    if (pread(fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr || memcmp(hdr, "QFI\xfb", 4) != 0)
        return error("cannot upload '%s': it is not a qcow2 image", local);
    uint64_t vsize = 0;
    for (int i = 24; i < 32; i++)
        vsize = vsize << 8 | hdr[i];
    if (vsize != capacity)
        return error("cannot upload '%s': its virtual size is %llu bytes, not the %llu bytes given", local,
                     (unsigned long long)vsize, (unsigned long long)capacity);
    return 0;
}

struct upload {
    int fd;
    const char *local;
    const char *what;   /* "uploading X to pool P on URI", for interruptions */
    uint64_t size;
    uint64_t fill_below; /* holes before this offset are sent as zeros */
    uint64_t sent;
};

/* Where the next section starts and how long it is (virStreamSourceHoleFunc). */
static int upload_in_data(virStreamPtr st, int *in_data, long long *length, void *opaque)
{
    struct upload *u = opaque;
    off_t cur, data, hole;

    (void)st;
    if (cancel_check(u->what) < 0)
        return -1;
    cur = lseek(u->fd, 0, SEEK_CUR);
    if (cur < 0)
        return error("cannot read '%s': %s", u->local, strerror(errno));
    if ((uint64_t)cur >= u->size) {
        *in_data = 0;
        *length = 0; /* the end */
        return 0;
    }
    data = lseek(u->fd, cur, SEEK_DATA);
    if (data < 0 && errno == ENXIO)
        data = (off_t)u->size; /* a hole up to the end */
    else if (data < 0)
        data = cur;            /* no SEEK_DATA here: all data */
    if (data > cur) {
        *in_data = 0;
        *length = data - cur;
        if ((uint64_t)cur < u->fill_below) { /* over the fresh volume's own bytes: zeros, sent */
            *in_data = 1;
            *length = (long long)((uint64_t)data < u->fill_below ? (uint64_t)data : u->fill_below) - cur;
        }
    } else {
        hole = lseek(u->fd, cur, SEEK_HOLE);
        if (hole < 0 || (uint64_t)hole > u->size)
            hole = (off_t)u->size;
        *in_data = 1;
        *length = hole - cur;
    }
    if (lseek(u->fd, cur, SEEK_SET) < 0)
        return error("cannot read '%s': %s", u->local, strerror(errno));
    return 0;
}

/* Skip a hole (virStreamSourceSkipFunc). */
static int upload_skip(virStreamPtr st, long long length, void *opaque)
{
    struct upload *u = opaque;

    (void)st;
    if (lseek(u->fd, length, SEEK_CUR) < 0)
        return error("cannot read '%s': %s", u->local, strerror(errno));
    return 0;
}

/* Bytes of a data section (virStreamSourceFunc). */
static int upload_data(virStreamPtr st, char *buf, size_t nbytes, void *opaque)
{
    struct upload *u = opaque;
    ssize_t got;

    (void)st;
    if (cancel_check(u->what) < 0)
        return -1;
    do
        got = read(u->fd, buf, nbytes);
    while (got < 0 && errno == EINTR && !cancel_requested());
    if (got < 0)
        return error("cannot read '%s': %s", u->local, strerror(errno));
    u->sent += (uint64_t)got;
    return (int)got;
}

int volume_upload_sent(virConnectPtr conn, const char *pool, const char *name, const char *local,
                       const char *format, uint64_t capacity, unsigned mode, char **path, uint64_t *sent)
{
    CLEANUP_FREE char *uri = conn_uri(conn);
    CLEANUP_FREE char *xml = NULL;
    CLEANUP_FREE char *what = NULL;
    CLEANUP_CLOSE int fd = -1;
    CLEANUP_POOL virStoragePoolPtr p = NULL;
    CLEANUP_VOL virStorageVolPtr v = NULL;
    virStreamPtr st = NULL;
    virStorageVolInfo info;
    struct upload u;
    struct stat sb;
    int r;

    if (path)
        *path = NULL;
    if (sent)
        *sent = 0;
    fd = open(local, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &sb) < 0)
        return error("cannot open '%s': %s", local, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return error("cannot upload '%s': not a regular file", local);
    if (check_local(fd, local, format, capacity, (uint64_t)sb.st_size) < 0)
        return -1;
    if (pool_lookup(conn, uri, pool, &p, 0) < 0 || check_file_pool(p, uri, pool) < 0)
        return -1;
    r = vol_lookup(p, uri, pool, name, &v);
    if (r < 0)
        return -1;
    if (r == 0) {
        error("volume '%s' already exists in pool '%s' on %s", name, pool, uri);
        return VOLUME_EXISTED;
    }
    /* Sparse: a raw volume starts as zeros that take no space. */
    xml = volume_xml(name, capacity, 0, NULL, format, mode);
    v = virStorageVolCreateXML(p, xml, 0);
    if (!v) {
        if (virGetLastErrorCode() == VIR_ERR_STORAGE_VOL_EXIST) {
            error("volume '%s' already exists in pool '%s' on %s", name, pool, uri);
            return VOLUME_EXISTED;
        }
        return error("cannot create volume '%s' in pool '%s' on %s: %s", name, pool, uri, virt_error());
    }

    /* What the fresh volume holds: a qcow2 header libvirt wrote; a raw
     * volume is zeros. Holes of ours over those bytes must be sent. */
    u = (struct upload){ .fd = fd, .local = local, .size = (uint64_t)sb.st_size };
    if (strcmp(format, "raw") != 0) {
        if (virStorageVolGetInfoFlags(v, &info, VIR_STORAGE_VOL_GET_PHYSICAL) < 0)
            u.fill_below = UINT64_MAX; /* unknown: send every hole as zeros */
        else
            u.fill_below = info.allocation; /* the physical size, with this flag */
    }
    what = xasprintf("uploading '%s' to volume '%s' in pool '%s' on %s", local, name, pool, uri);
    u.what = what;
    if (lseek(fd, 0, SEEK_SET) < 0) {
        error("cannot read '%s': %s", local, strerror(errno));
        goto fail;
    }
    st = virStreamNew(conn, 0);
    if (!st) {
        error("cannot upload to volume '%s' in pool '%s' on %s: %s", name, pool, uri, virt_error());
        goto fail;
    }
    if (virStorageVolUpload(v, st, 0, 0, VIR_STORAGE_VOL_UPLOAD_SPARSE_STREAM) < 0) {
        error("cannot upload to volume '%s' in pool '%s' on %s: %s", name, pool, uri, virt_error());
        goto fail;
    }
    if (virStreamSparseSendAll(st, upload_data, upload_in_data, upload_skip, &u) < 0) {
        /* Our callbacks' errors (interrupted, a read) come first. */
        error("cannot upload '%s' to volume '%s' in pool '%s' on %s: %s", local, name, pool, uri, virt_error());
        goto fail; /* the stream is aborted */
    }
    if (virStreamFinish(st) < 0) {
        error("cannot upload '%s' to volume '%s' in pool '%s' on %s: %s", local, name, pool, uri, virt_error());
        goto fail;
    }
    virStreamFree(st);
    st = NULL;
    /* A file shorter than the fresh volume would keep the volume's tail. */
    if (virStorageVolGetInfoFlags(v, &info, VIR_STORAGE_VOL_GET_PHYSICAL) == 0 && info.allocation != u.size) {
        error("volume '%s' in pool '%s' on %s is %llu bytes after the upload of '%s' (%llu bytes)", name, pool,
              uri, (unsigned long long)info.allocation, local, (unsigned long long)u.size);
        goto fail;
    }
    if (path && !(*path = virStorageVolGetPath(v))) {
        error("cannot read the path of volume '%s' in pool '%s' on %s: %s", name, pool, uri, virt_error());
        goto fail;
    }
    if (sent)
        *sent = u.sent;
    return 0;

fail:
    if (st) {
        virStreamAbort(st);
        virStreamFree(st);
    }
    if (virStorageVolDelete(v, 0) < 0)
        warning("could not delete the partial volume '%s' in pool '%s' on %s: %s", name, pool, uri, virt_error());
    return -1;
}

int volume_upload(virConnectPtr conn, const char *pool, const char *name, const char *local, const char *format,
                  uint64_t capacity, unsigned mode, char **path)
{
    return volume_upload_sent(conn, pool, name, local, format, capacity, mode, path, NULL);
}

/* ---- download and hash ------------------------------------------------------ */

struct download {
    struct digest *d;
    const char *what;
};

static int download_data(virStreamPtr st, const char *buf, size_t nbytes, void *opaque)
{
    struct download *dl = opaque;

    (void)st;
    if (cancel_check(dl->what) < 0 || digest_update(dl->d, buf, nbytes) < 0)
        return -1;
    return (int)nbytes;
}

static int download_hole(virStreamPtr st, long long length, void *opaque)
{
    static const char zeros[1 << 16];
    struct download *dl = opaque;

    (void)st;
    while (length > 0) {
        size_t n = length > (long long)sizeof zeros ? sizeof zeros : (size_t)length;
        if (cancel_check(dl->what) < 0 || digest_update(dl->d, zeros, n) < 0)
            return -1;
        length -= (long long)n;
    }
    return 0;
}

int volume_sha256(virConnectPtr conn, const char *pool, const char *name, char hex[65])
{
    CLEANUP_FREE char *uri = conn_uri(conn);
    CLEANUP_FREE char *what = NULL;
    CLEANUP_POOL virStoragePoolPtr p = NULL;
    CLEANUP_VOL virStorageVolPtr v = NULL;
    CLEANUP_DIGEST struct digest *d = NULL;
    virStreamPtr st = NULL;
    struct download dl;
    int r;

    hex[0] = '\0';
    if (pool_lookup(conn, uri, pool, &p, 0) < 0)
        return -1;
    r = vol_lookup(p, uri, pool, name, &v);
    if (r < 0)
        return -1;
    if (r > 0)
        return error("volume '%s' not found in pool '%s' on %s", name, pool, uri);
    d = digest_new(DIGEST_SHA256);
    if (!d)
        return -1;
    what = xasprintf("reading volume '%s' in pool '%s' on %s", name, pool, uri);
    dl = (struct download){ .d = d, .what = what };
    st = virStreamNew(conn, 0);
    if (!st)
        return error("cannot read volume '%s' in pool '%s' on %s: %s", name, pool, uri, virt_error());
    if (virStorageVolDownload(v, st, 0, 0, VIR_STORAGE_VOL_DOWNLOAD_SPARSE_STREAM) < 0 ||
        virStreamSparseRecvAll(st, download_data, download_hole, &dl) < 0 || virStreamFinish(st) < 0) {
        error("cannot read volume '%s' in pool '%s' on %s: %s", name, pool, uri, virt_error());
        virStreamAbort(st);
        virStreamFree(st);
        return -1;
    }
    virStreamFree(st);
    return digest_finish_hex(d, hex);
}

/* ---- shared storage --------------------------------------------------------- */

/* Refresh POOL; while another client's volume is being built libvirt
 * refuses ("pool 'X' has asynchronous jobs running."; an upload does not
 * count): tried again for up to about 5 s. */
static int refresh(virStoragePoolPtr p, const char *uri, const char *pool)
{
    for (int i = 0;; i++) {
        if (virStoragePoolRefresh(p, 0) == 0)
            return 0;
        if (i == 25 || !strstr(virt_error(), "asynchronous jobs"))
            return error("cannot refresh storage pool '%s' on %s: %s", pool, uri, virt_error());
        struct timespec ts = { 0, 200 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
}

/* Refresh every active pool of CONN (errors ignored: a pool that cannot be
 * refreshed just does not list what it would have). */
static void refresh_all_pools(virConnectPtr conn)
{
    virStoragePoolPtr *pools = NULL;
    int n = virConnectListAllStoragePools(conn, &pools, VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE);

    for (int i = 0; i < n; i++) {
        virStoragePoolRefresh(pools[i], 0);
        virStoragePoolFree(pools[i]);
    }
    free(pools);
}

int volume_delete_disk(virConnectPtr conn, const char *path, char **why)
{
    CLEANUP_VOL virStorageVolPtr v = virStorageVolLookupByPath(conn, path);

    *why = NULL;
    if (!v) {
        refresh_all_pools(conn);
        v = virStorageVolLookupByPath(conn, path);
    }
    if (!v) {
        virResetLastError(); /* (not error_clear: an earlier disk's error stays) */
        *why = xasprintf("kept disk '%s': no libvirt pool holds it, so vmstamp does not remove it (remove it "
                         "yourself if it was the clone's)", path);
        return 0;
    }
    if (virStorageVolDelete(v, 0) < 0) {
        if (virGetLastErrorCode() == VIR_ERR_NO_STORAGE_VOL)
            return 1; /* gone meanwhile */
        return error("cannot delete disk '%s': %s", path, virt_error());
    }
    return 1;
}

int volume_pool_shared(virConnectPtr conn, const char *pool, const char *local_dir)
{
    CLEANUP_FREE char *uri = conn_uri(conn);
    CLEANUP_FREE char *marker = NULL;
    CLEANUP_FREE char *name = NULL;
    CLEANUP_POOL virStoragePoolPtr p = NULL;
    CLEANUP_VOL virStorageVolPtr v = NULL;
    unsigned char rnd[8];
    char rhex[17];
    struct stat st;
    int fd, r;

    if (stat(local_dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return 0;
    if (pool_lookup(conn, uri, pool, &p, 0) < 0)
        return -1;
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return error("cannot read random bytes: %s", strerror(errno));
    hex_encode(rnd, sizeof rnd, rhex);
    name = xasprintf("vmstamp-pool-probe-%s-%s", proc_run_id(), rhex);
    marker = xasprintf("%s/%s", local_dir, name);
    fd = open(marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return error("cannot create '%s' (to see whether pool '%s' on %s is this directory): %s", marker, pool, uri,
                     strerror(errno));
    close(fd);
    r = refresh(p, uri, pool);
    if (r == 0) {
        r = vol_lookup(p, uri, pool, name, &v);
        r = r < 0 ? -1 : r == 0 ? 1 : 0;
    }
    if (unlink(marker) < 0 && errno != ENOENT && r >= 0)
        r = error("cannot remove '%s': %s", marker, strerror(errno));
    if (r == 1) {
        /* A failure leaves only a stale entry for the marker in libvirt's
         * list, which the next refresh drops: not worth failing for. */
        int had_error = error_message() != NULL;
        if (refresh(p, uri, pool) < 0 && !had_error) {
            debug("%s", error_message());
            error_clear();
        }
    }
    return r;
}
