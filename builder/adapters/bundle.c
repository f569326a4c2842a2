/* bundle.c: see bundle.h. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adapters/bundle.h"
#include "base/cleanup.h"
#include "base/digest.h"
#include "base/error.h"
#include "base/fileio.h"
#include "pure/meta.h"
#include "base/xalloc.h"

#define IO_BUF (1024 * 1024) /* image streaming buffer */
#define SIG_LEN 64           /* raw Ed25519 signature */

enum { M_META, M_SIG, M_IMAGE, M_COUNT };
static const char *const member_names[M_COUNT] = { BUNDLE_META, BUNDLE_SIG, BUNDLE_IMAGE };

static void cleanup_md_ctx(EVP_MD_CTX **c)
{
    EVP_MD_CTX_free(*c);
}
#define CLEANUP_MD_CTX __attribute__((cleanup(cleanup_md_ctx)))

/* The reason of the newest queued OpenSSL error (the queue is cleared by the caller). */
static const char *ssl_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;

    return r ? r : "unknown OpenSSL error";
}

static const char *arch_reason(struct archive *a)
{
    const char *s = archive_error_string(a);

    return s ? s : "unknown libarchive error";
}

/* Read up to LEN bytes; fewer only at end of file. -1 (errno set) on error. */
static ssize_t read_full(int fd, void *buf, size_t len)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = read(fd, (char *)buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

static int write_full(int fd, const void *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        buf = (const char *)buf + n;
        len -= (size_t)n;
    }
    return 0;
}

/* Never prompt on the terminal: an encrypted key simply fails to load. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

/* Load an Ed25519 key from a PEM file: private (for signing) or public (to verify). */
static EVP_PKEY *load_key(const char *path, int private)
{
    const char *what = private ? "signing key" : "trust key";
    size_t len = 0;
    /* A PEM file: regular, small (not /dev/zero or a FIFO, read for ever). */
    char *text = read_file_limited(path, READ_MAX_PUBKEY, 0, what, "give an Ed25519 PEM key file", &len);
    BIO *bio;
    EVP_PKEY *k;

    if (!text)
        return NULL;
    bio = BIO_new_mem_buf(text, (int)len);
    if (!bio)
        xalloc_die();
    k = private ? PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL)
                : PEM_read_bio_PUBKEY(bio, NULL, no_passphrase, NULL);
    BIO_free(bio);
    explicit_bzero(text, len);
    free(text);
    if (!k) {
        if (private)
            error("signing key '%s' is not an unencrypted PEM private key (%s)", path, ssl_reason());
        else
            error("trust key '%s' is not a PEM public key (%s): give the public half, "
                  "'openssl pkey -in KEY -pubout'", path, ssl_reason());
        ERR_clear_error();
        return NULL;
    }
    if (EVP_PKEY_id(k) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(k);
        error("%s '%s' is not an Ed25519 key: make one with 'openssl genpkey -algorithm ed25519'", what, path);
        return NULL;
    }
    return k;
}

static int sign_bytes(const char *key_path, const void *msg, size_t len, unsigned char sig[SIG_LEN])
{
    EVP_PKEY *k = load_key(key_path, 1);
    CLEANUP_MD_CTX EVP_MD_CTX *ctx = NULL;
    size_t siglen = SIG_LEN;
    int r = 0;

    if (!k)
        return -1;
    ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestSignInit(ctx, NULL, NULL, NULL, k) != 1 ||
        EVP_DigestSign(ctx, sig, &siglen, msg, len) != 1 || siglen != SIG_LEN)
        r = error("cannot sign with '%s': %s", key_path, ssl_reason());
    ERR_clear_error();
    EVP_PKEY_free(k);
    return r;
}

/* ---- export ---------------------------------------------------------------- */

static int add_member(struct archive *a, const char *name, int64_t size, time_t mtime)
{
    struct archive_entry *e = archive_entry_new();
    int r;

    if (!e)
        return -1;
    archive_entry_set_pathname(e, name);
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    archive_entry_set_size(e, size);
    archive_entry_set_mtime(e, mtime, 0);
    r = archive_write_header(a, e);
    archive_entry_free(e);
    return r == ARCHIVE_OK ? 0 : -1;
}

static int add_data(struct archive *a, const void *buf, size_t len)
{
    while (len > 0) {
        la_ssize_t n = archive_write_data(a, buf, len);
        if (n <= 0)
            return -1;
        buf = (const char *)buf + n;
        len -= (size_t)n;
    }
    return 0;
}

static int add_small(struct archive *a, const char *name, const void *buf, size_t len, time_t mtime)
{
    return add_member(a, name, (int64_t)len, mtime) < 0 || add_data(a, buf, len) < 0 ? -1 : 0;
}

int bundle_export(const char *out, const char *image, const char *meta_json, const char *sign_key)
{
    struct template_meta meta;
    CLEANUP_FREE char *want = NULL;
    CLEANUP_FREE char *tmp = NULL;
    CLEANUP_FREE unsigned char *buf = NULL;
    CLEANUP_DIGEST struct digest *md = NULL;
    CLEANUP_CLOSE int img = -1;
    size_t meta_len = strlen(meta_json);
    uint64_t want_size;
    unsigned char sig[SIG_LEN];
    struct archive *a = NULL;
    int fd = -1, r = -1;
    struct stat st;
    char got[65];

    /* Refuse what bundle_import would refuse before writing anything. */
    if (template_meta_from_json(meta_json, &meta) < 0)
        return error_replace("bundle '%s': invalid metadata: %s", out,
                             error_message() ? error_message() : "unparsable");
    want = xstrdup(meta.sha256);
    want_size = meta.stored_size;
    template_meta_release(&meta);
    if (meta_len > BUNDLE_SMALL_MAX)
        return error("bundle '%s': metadata is %zu bytes, more than the %d a bundle may hold", out, meta_len,
                     BUNDLE_SMALL_MAX);
    if (sign_bytes(sign_key, meta_json, meta_len, sig) < 0)
        return -1;
    if ((img = open(image, O_RDONLY | O_CLOEXEC)) < 0 || fstat(img, &st) < 0)
        return error("cannot open image '%s': %s", image, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return error("image '%s' is not a regular file", image);
    buf = xmalloc(IO_BUF);
    tmp = xasprintf("%s.tmp", out);
    if (!(md = digest_new(DIGEST_SHA256)))
        return -1;

    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return error("cannot create '%s': %s", tmp, strerror(errno));
    /* From here on, failure removes TMP. */
    if (!(a = archive_write_new()))
        xalloc_die();
    /* ARCHIVE_WARN here would mean libarchive runs an external zstd: refused. */
    if (archive_write_add_filter_zstd(a) != ARCHIVE_OK) {
        error("libarchive was built without zstd support: cannot write bundle '%s'", out);
        goto out;
    }
    if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
        archive_write_open_fd(a, fd) != ARCHIVE_OK) {
        error("cannot write bundle '%s': %s", out, arch_reason(a));
        goto out;
    }
    if (add_small(a, BUNDLE_META, meta_json, meta_len, st.st_mtime) < 0 ||
        add_small(a, BUNDLE_SIG, sig, SIG_LEN, st.st_mtime) < 0 ||
        add_member(a, BUNDLE_IMAGE, (int64_t)st.st_size, st.st_mtime) < 0) {
        error("cannot write bundle '%s': %s", out, arch_reason(a));
        goto out;
    }
    for (off_t left = st.st_size; left > 0;) {
        ssize_t n = read_full(img, buf, left < IO_BUF ? (size_t)left : IO_BUF);
        if (n < 0) {
            error("cannot read image '%s': %s", image, strerror(errno));
            goto out;
        }
        if (n == 0) {
            error("image '%s' shrank while being exported: is something writing to it?", image);
            goto out;
        }
        if (digest_update(md, buf, (size_t)n) < 0)
            goto out;
        if (add_data(a, buf, (size_t)n) < 0) {
            error("cannot write bundle '%s': %s", out, arch_reason(a));
            goto out;
        }
        left -= n;
    }
    if (archive_write_close(a) != ARCHIVE_OK) {
        error("cannot write bundle '%s': %s", out, arch_reason(a));
        goto out;
    }
    if (digest_finish_hex(md, got) < 0)
        goto out;
    if (strcasecmp(got, want) != 0) {
        error("bundle '%s': image '%s' has SHA-256 %s but its metadata says %s: "
              "regenerate the metadata for this image", out, image, got, want);
        goto out;
    }
    /* bundle_import bounds the image by this size: a bundle without it would never import. */
    if (want_size != (uint64_t)st.st_size) {
        error("bundle '%s': image '%s' is %jd bytes but its metadata's stored_size says %ju: "
              "regenerate the metadata for this image", out, image, (intmax_t)st.st_size, (uintmax_t)want_size);
        goto out;
    }
    if (fsync(fd) < 0 || close(fd) < 0) {
        fd = -1;
        error("cannot write bundle '%s': %s", out, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, out) < 0) {
        error("cannot rename '%s' to '%s': %s", tmp, out, strerror(errno));
        goto out;
    }
    r = fsync_parent(out);
out:
    if (a)
        archive_write_free(a);
    if (fd >= 0)
        close(fd);
    if (r < 0)
        unlink(tmp);
    return r;
}

/* ---- import ---------------------------------------------------------------- */

struct import {
    const char *bundle;
    const char *trust_path;
    EVP_PKEY *trust;
    int bundle_fd;       /* open on BUNDLE: read again when the image comes first */
    struct archive *a;
    int seen[M_COUNT];
    char *meta;          /* metadata.json bytes, NUL-terminated */
    size_t meta_len;
    unsigned char *sig;
    size_t sig_len;
    int verified;        /* signature good and metadata parsed */
    char *want;          /* the metadata's sha256 */
    uint64_t want_size;  /* the metadata's stored_size: the image's bytes */
    int64_t image_size;  /* the image member's header size */
    int deferred;        /* the image came before the metadata was verified: not read yet */
    char got[65];        /* the image member's */
    char *tmp;           /* IMAGE_OUT.tmp */
    int fd;              /* open on tmp, or -1 */
    int created;         /* tmp is ours to remove */
};

/* NAME, safe for a one-line message: control and non-ASCII bytes become '?',
 * long names are cut. */
static const char *printable(const char *name, char buf[128])
{
    size_t i;

    for (i = 0; name[i] && i < 100; i++)
        buf[i] = (unsigned char)name[i] < 0x20 || (unsigned char)name[i] >= 0x7f ? '?' : name[i];
    if (name[i]) {
        memcpy(buf + i, "...", 3);
        i += 3;
    }
    buf[i] = '\0';
    return buf;
}

static int has_dotdot(const char *name)
{
    for (const char *p = name; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return 1;
        p += n;
        p += strspn(p, "/");
    }
    return 0;
}

/* A name that must never be extracted: empty, absolute or climbing out. */
static int check_path(const char *bundle, const char *name)
{
    char pb[128];

    if (!name || !*name)
        return error("bundle '%s': a member has no usable name", bundle);
    if (name[0] == '/')
        return error("bundle '%s': member '%s' has an absolute path", bundle, printable(name, pb));
    if (has_dotdot(name))
        return error("bundle '%s': member '%s' has a '..' path component", bundle, printable(name, pb));
    return 0;
}

/* Which member NAME is, or -1 (recorded) if it is none of them. */
static int member_index(const char *bundle, const char *name)
{
    char pb[128];

    for (int i = 0; i < M_COUNT; i++)
        if (strcmp(name, member_names[i]) == 0)
            return i;
    return error("bundle '%s': unexpected member '%s' (a bundle holds only %s, %s and %s)", bundle,
                 printable(name, pb), BUNDLE_META, BUNDLE_SIG, BUNDLE_IMAGE);
}

/* NULL for a regular file, else what E is. */
static const char *irregular(struct archive_entry *e)
{
    if (archive_entry_hardlink(e))
        return "hard link";
    switch (archive_entry_filetype(e)) {
    /* A sparse member's holes read as zeros: a small bundle could write gigabytes. */
    case AE_IFREG: return archive_entry_sparse_count(e) > 0 ? "sparse file" : NULL;
    case AE_IFLNK: return "symlink";
    case AE_IFDIR: return "directory";
    case AE_IFCHR: return "character device";
    case AE_IFBLK: return "block device";
    case AE_IFIFO: return "FIFO";
    case AE_IFSOCK: return "socket";
    default: return "special file";
    }
}

static int read_small(struct import *im, const char *name, int64_t size, char **out)
{
    CLEANUP_FREE char *buf = NULL;
    size_t got = 0, len;

    if (size > BUNDLE_SMALL_MAX)
        return error("bundle '%s': member '%s' is %jd bytes, more than the %d allowed", im->bundle, name,
                     (intmax_t)size, BUNDLE_SMALL_MAX);
    len = (size_t)size;
    buf = xmalloc(len + 1);
    while (got < len) {
        la_ssize_t n = archive_read_data(im->a, buf + got, len - got);
        if (n < 0)
            return error("bundle '%s': cannot read member '%s' (truncated or corrupt?): %s", im->bundle, name,
                         arch_reason(im->a));
        if (n == 0)
            return error("bundle '%s': member '%s' is truncated", im->bundle, name);
        got += (size_t)n;
    }
    buf[len] = '\0';
    *out = steal_pointer(&buf);
    return 0;
}

/* The image member's SIZE (from its header) against the signed metadata's,
 * before a byte of it is written. */
static int check_image_size(struct import *im, int64_t size)
{
    if ((uint64_t)size != im->want_size)
        return error("bundle '%s': member '%s' is %jd bytes but %s says %ju: "
                     "the image is not the one the metadata was signed for", im->bundle, BUNDLE_IMAGE,
                     (intmax_t)size, BUNDLE_META, (uintmax_t)im->want_size);
    return 0;
}

/* Stream the image member (SIZE bytes, checked by check_image_size) into
 * IM->tmp, checksumming it; refused as soon as it would hold more. */
static int read_image(struct import *im, int64_t size)
{
    CLEANUP_FREE unsigned char *buf = NULL;
    CLEANUP_DIGEST struct digest *md = NULL;
    int64_t total = 0;
    la_ssize_t n;

    buf = xmalloc(IO_BUF);
    if (!(md = digest_new(DIGEST_SHA256)))
        return -1;
    im->fd = open(im->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (im->fd < 0)
        return error("cannot create '%s': %s", im->tmp, strerror(errno));
    im->created = 1;
    while ((n = archive_read_data(im->a, buf, IO_BUF)) > 0) {
        if (n > size - total) /* libarchive stops at the header's size: never seen */
            return error("bundle '%s': member '%s' holds more than its %jd bytes", im->bundle, BUNDLE_IMAGE,
                         (intmax_t)size);
        if (digest_update(md, buf, (size_t)n) < 0)
            return -1;
        if (write_full(im->fd, buf, (size_t)n) < 0)
            return error("cannot write '%s': %s", im->tmp, strerror(errno));
        total += n;
    }
    if (n < 0)
        return error("bundle '%s': cannot read member '%s' (truncated or corrupt?): %s", im->bundle,
                     BUNDLE_IMAGE, arch_reason(im->a));
    if (total != size)
        return error("bundle '%s': member '%s' is truncated (%jd of %jd bytes)", im->bundle, BUNDLE_IMAGE,
                     (intmax_t)total, (intmax_t)size);
    return digest_finish_hex(md, im->got);
}

/* Check the signature over the metadata, then parse the metadata. */
static int verify(struct import *im)
{
    CLEANUP_MD_CTX EVP_MD_CTX *ctx = NULL;
    struct template_meta meta;
    int ok;

    if (im->sig_len != SIG_LEN)
        return error("bundle '%s': %s is %zu bytes, not a %d-byte Ed25519 signature", im->bundle, BUNDLE_SIG,
                     im->sig_len, SIG_LEN);
    ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, im->trust) != 1) {
        error("cannot verify bundle '%s': %s", im->bundle, ssl_reason());
        ERR_clear_error();
        return -1;
    }
    ok = EVP_DigestVerify(ctx, im->sig, SIG_LEN, (const unsigned char *)im->meta, im->meta_len) == 1;
    ERR_clear_error();
    if (!ok)
        return error("bundle '%s': signature does not verify against '%s': "
                     "it was signed with another key or has been altered", im->bundle, im->trust_path);
    if (strlen(im->meta) != im->meta_len)
        return error("bundle '%s': %s holds a NUL byte", im->bundle, BUNDLE_META);
    if (template_meta_from_json(im->meta, &meta) < 0)
        return error_replace("bundle '%s': invalid %s: %s", im->bundle, BUNDLE_META,
                             error_message() ? error_message() : "unparsable");
    im->want = xstrdup(meta.sha256);
    im->want_size = meta.stored_size;
    template_meta_release(&meta);
    if (!im->want_size)
        return error("bundle '%s': %s has no stored_size: the image's size must be signed with it", im->bundle,
                     BUNDLE_META);
    im->verified = 1;
    return 0;
}

/* One member: its path, type, name and size, then its contents. */
static int import_member(struct import *im, struct archive_entry *e)
{
    const char *name = archive_entry_pathname(e);
    const char *what;
    char pb[128];
    int64_t size;
    int i;

    if (check_path(im->bundle, name) < 0)
        return -1;
    if ((what = irregular(e)))
        return error("bundle '%s': member '%s' is a %s, not a regular file", im->bundle, printable(name, pb),
                     what);
    if ((i = member_index(im->bundle, name)) < 0)
        return -1;
    if (im->seen[i])
        return error("bundle '%s': member '%s' appears more than once", im->bundle, member_names[i]);
    im->seen[i] = 1;
    if (!archive_entry_size_is_set(e) || (size = archive_entry_size(e)) < 0)
        return error("bundle '%s': member '%s' has no size", im->bundle, member_names[i]);
    switch (i) {
    case M_META:
        if (read_small(im, BUNDLE_META, size, &im->meta) < 0)
            return -1;
        im->meta_len = (size_t)size;
        break;
    case M_SIG: {
        char *sig;
        if (read_small(im, BUNDLE_SIG, size, &sig) < 0)
            return -1;
        im->sig = (unsigned char *)sig;
        im->sig_len = (size_t)size;
        break;
    }
    default:
        im->image_size = size;
        /* Before the metadata is verified, its size is unknown: nothing is written
         * now (libarchive skips the data) and the image is read again after. */
        if (!im->verified) {
            im->deferred = 1;
            break;
        }
        if (check_image_size(im, size) < 0 || read_image(im, size) < 0)
            return -1;
    }
    /* As soon as both are in (before the image, in bundles we write). */
    if (!im->verified && im->seen[M_META] && im->seen[M_SIG])
        return verify(im);
    return 0;
}

/* (Re)open IM->a on the bundle, from where IM->bundle_fd is. */
static int open_archive(struct import *im)
{
    if (im->a)
        archive_read_free(im->a);
    if (!(im->a = archive_read_new()))
        xalloc_die();
    /* ARCHIVE_WARN from the zstd filter would mean an external program: refused. */
    if (archive_read_support_format_tar(im->a) != ARCHIVE_OK ||
        archive_read_support_filter_zstd(im->a) != ARCHIVE_OK)
        return error("libarchive was built without tar or zstd support: cannot read bundle '%s'", im->bundle);
    if (archive_read_open_fd(im->a, im->bundle_fd, 64 * 1024) != ARCHIVE_OK)
        return error("bundle '%s': cannot open: %s", im->bundle,
                     archive_errno(im->a) > 0 ? strerror(archive_errno(im->a)) : arch_reason(im->a));
    return 0;
}

/* The second reading, for an image that came before the metadata: now that
 * the metadata is verified, only the image member is read, bounded by its
 * signed size (and checked against its signed SHA-256 by the caller). */
static int read_image_again(struct import *im)
{
    struct archive_entry *e;
    const char *what;
    int rc;

    if (check_image_size(im, im->image_size) < 0)
        return -1;
    if (lseek(im->bundle_fd, 0, SEEK_SET) < 0)
        return error("bundle '%s': %s comes before the signed metadata, so the bundle is read twice, "
                     "and it cannot be (%s): save it to a file first", im->bundle, BUNDLE_IMAGE, strerror(errno));
    if (open_archive(im) < 0)
        return -1;
    while ((rc = archive_read_next_header(im->a, &e)) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(e);

        if (!name || strcmp(name, BUNDLE_IMAGE) != 0)
            continue;
        if ((what = irregular(e)))
            return error("bundle '%s': member '%s' is a %s, not a regular file", im->bundle, BUNDLE_IMAGE, what);
        if (!archive_entry_size_is_set(e))
            return error("bundle '%s': changed while being read", im->bundle);
        if (check_image_size(im, archive_entry_size(e)) < 0)
            return -1;
        return read_image(im, archive_entry_size(e));
    }
    if (rc != ARCHIVE_EOF)
        return error("bundle '%s': cannot read the archive (truncated or corrupt?): %s", im->bundle,
                     arch_reason(im->a));
    return error("bundle '%s': changed while being read", im->bundle);
}

int bundle_import(const char *bundle, const char *trust_key, const char *image_out, char **meta_json_out)
{
    struct import im = { .bundle = bundle, .trust_path = trust_key, .bundle_fd = -1, .fd = -1 };
    int r = -1, first = 1;

    if (meta_json_out)
        *meta_json_out = NULL;
    if (!(im.trust = load_key(trust_key, 0)))
        return -1;
    im.tmp = xasprintf("%s.tmp", image_out);
    if ((im.bundle_fd = open(bundle, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)) < 0) {
        error("bundle '%s': cannot open: %s", bundle, strerror(errno));
        goto out;
    }
    {
        struct stat bst; /* a FIFO or a device is never read: checked before a byte */
        if (fstat(im.bundle_fd, &bst) < 0 || !S_ISREG(bst.st_mode)) {
            error("bundle '%s' is not a regular file: give a FILE.tar.zst made by 'vmstamp template export'", bundle);
            goto out;
        }
    }
    if (open_archive(&im) < 0)
        goto out;
    for (;;) {
        struct archive_entry *e;
        int rc = archive_read_next_header(im.a, &e);

        if (rc == ARCHIVE_EOF)
            break;
        if (rc != ARCHIVE_OK) {
            error("bundle '%s': cannot read the archive (truncated or corrupt?): %s", bundle, arch_reason(im.a));
            goto out;
        }
        if (first && (archive_filter_count(im.a) != 2 || archive_filter_code(im.a, 0) != ARCHIVE_FILTER_ZSTD)) {
            error("bundle '%s' is not a zstd-compressed tar archive", bundle);
            goto out;
        }
        first = 0;
        if (import_member(&im, e) < 0)
            goto out;
    }
    for (int i = 0; i < M_COUNT; i++)
        if (!im.seen[i]) {
            error("bundle '%s': no %s member: is it a vmstamp bundle?", bundle, member_names[i]);
            goto out;
        }
    if (!im.verified) { /* not reached: verify() ran once both were seen */
        error("bundle '%s': metadata was not verified", bundle);
        goto out;
    }
    if (im.deferred && read_image_again(&im) < 0)
        goto out;
    if (strcasecmp(im.got, im.want) != 0) {
        error("bundle '%s': %s checksum mismatch: its SHA-256 is %s but %s says %s: "
              "the bundle is corrupt or was altered", bundle, BUNDLE_IMAGE, im.got, BUNDLE_META, im.want);
        goto out;
    }
    if (fsync(im.fd) < 0 || close(im.fd) < 0) {
        im.fd = -1;
        error("cannot write '%s': %s", im.tmp, strerror(errno));
        goto out;
    }
    im.fd = -1;
    /* Never over an image that appeared meanwhile (another import, a template). */
    switch (rename_noreplace(im.tmp, image_out)) {
    case 0:
        break;
    case 1:
        error("bundle '%s': '%s' already exists: remove it first or import elsewhere", bundle, image_out);
        goto out;
    default:
        goto out;
    }
    im.created = 0;
    if (fsync_parent(image_out) < 0)
        goto out;
    if (meta_json_out)
        *meta_json_out = steal_pointer(&im.meta);
    r = 0;
out:
    if (im.a)
        archive_read_free(im.a);
    if (im.fd >= 0)
        close(im.fd);
    if (im.bundle_fd >= 0)
        close(im.bundle_fd);
    if (im.created)
        unlink(im.tmp);
    EVP_PKEY_free(im.trust);
    free(im.tmp);
    free(im.meta);
    free(im.sig);
    free(im.want);
    return r;
}
