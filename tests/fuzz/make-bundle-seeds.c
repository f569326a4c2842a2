/* make-bundle-seeds: writes fuzz-bundle's seed corpus into DIR (run by
 * hand; its output is committed in tests/fuzz/corpus/bundle/):
 *   make-bundle-seeds DIR
 * A bundle made by bundle_export (signed with bundle-key.h's key) as the
 * bundle file, its tar as the tar form (see fuzz-bundle.c), and tars
 * with one thing wrong each, as the unit tests make them: a symlink, a
 * hard link, a directory, an extra member, a member twice, no image, a
 * '..' path, an absolute path, a short signature, another image. */
#include <archive.h>
#include <archive_entry.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adapters/bundle.h"
#include "base/digest.h"
#include "base/error.h"
#include "bundle-key.h"
#include "pure/meta.h"

#define IMAGE_SIZE 2048

struct member {
    const char *name;
    unsigned type; /* AE_IFREG, AE_IFLNK, AE_IFDIR; 0: a hard link to LINK */
    const char *link;
    const void *data;
    size_t len;
};

static void die(const char *what)
{
    fprintf(stderr, "make-bundle-seeds: %s%s%s\n", what, error_message() ? ": " : "",
            error_message() ? error_message() : "");
    exit(1);
}

static void write_file(const char *path, const void *buf, size_t len)
{
    FILE *fp = fopen(path, "we");

    if (!fp || (len && fwrite(buf, 1, len, fp) != len) || fclose(fp) != 0)
        die(path);
}

static char *read_whole(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "re");
    char *buf = NULL;
    size_t cap = 0, n;

    *len = 0;
    if (!fp)
        die(path);
    do {
        if (*len + 4096 > cap && !(buf = realloc(buf, cap = cap * 2 + 4096)))
            die("out of memory");
        n = fread(buf + *len, 1, cap - *len, fp);
        *len += n;
    } while (n > 0);
    fclose(fp);
    return buf;
}

/* A seed file: the mode byte, then BUF. */
static void seed(const char *dir, const char *name, unsigned char mode, const void *buf, size_t len)
{
    char path[4096];
    unsigned char *s = malloc(len + 1);

    if (!s)
        die("out of memory");
    s[0] = mode;
    memcpy(s + 1, buf, len);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    write_file(path, s, len + 1);
    free(s);
}

/* The tar inside a .tar.zst file. */
static char *untar_zst(const char *path, size_t *len)
{
    struct archive *a = archive_read_new();
    struct archive_entry *e;
    char *buf = NULL;
    size_t cap = 0;
    la_ssize_t n;

    *len = 0;
    if (archive_read_support_filter_zstd(a) != ARCHIVE_OK || archive_read_support_format_raw(a) != ARCHIVE_OK ||
        archive_read_open_filename(a, path, 65536) != ARCHIVE_OK || archive_read_next_header(a, &e) != ARCHIVE_OK)
        die("cannot read the exported bundle");
    do {
        if (*len + 65536 > cap && !(buf = realloc(buf, cap = cap * 2 + 65536)))
            die("out of memory");
        n = archive_read_data(a, buf + *len, cap - *len);
        if (n < 0)
            die("cannot decompress the exported bundle");
        *len += (size_t)n;
    } while (n > 0);
    archive_read_free(a);
    return buf;
}

/* A tar of MEMBERS (pax, as bundle_export writes), into a seed of mode 1. */
static void tar_seed(const char *dir, const char *name, const struct member *m, size_t n)
{
    struct archive *a = archive_write_new();
    char *buf = NULL;
    size_t len = 0, cap = 64 * 1024;
    size_t used = 0;

    if (!(buf = malloc(cap)))
        die("out of memory");
    if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
        archive_write_open_memory(a, buf, cap, &used) != ARCHIVE_OK)
        die("cannot write a tar");
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, m[i].name);
        archive_entry_set_perm(e, 0644);
        archive_entry_set_mtime(e, 1700000000, 0);
        if (m[i].type == 0) {
            archive_entry_set_filetype(e, AE_IFREG);
            archive_entry_set_hardlink(e, m[i].link);
            archive_entry_set_size(e, 0);
        } else {
            archive_entry_set_filetype(e, m[i].type);
            if (m[i].type == AE_IFLNK)
                archive_entry_set_symlink(e, m[i].link);
            archive_entry_set_size(e, m[i].type == AE_IFREG ? (la_int64_t)m[i].len : 0);
        }
        if (archive_write_header(a, e) != ARCHIVE_OK)
            die("cannot write a tar header");
        if (m[i].type == AE_IFREG && m[i].len &&
            archive_write_data(a, m[i].data, m[i].len) != (la_ssize_t)m[i].len)
            die("cannot write tar data");
        archive_entry_free(e);
    }
    if (archive_write_close(a) != ARCHIVE_OK)
        die("cannot finish a tar");
    archive_write_free(a);
    len = used;
    seed(dir, name, 1, buf, len);
    free(buf);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int main(int argc, char **argv)
{
    char tmp[] = "/tmp/vmstamp-bundle-seeds.XXXXXX";
    char key[4200], image[4200], out[4200], sha[65];
    unsigned char img[IMAGE_SIZE], other[IMAGE_SIZE];
    struct template_meta m = { 0 };
    char *meta_json, *bundle, *tar;
    size_t blen, tlen;
    unsigned char sig[64];

    if (argc != 2) {
        fprintf(stderr, "usage: make-bundle-seeds DIR\n");
        return 2;
    }
    if (!mkdtemp(tmp))
        die("mkdtemp");
    snprintf(key, sizeof key, "%s/sign.pem", tmp);
    snprintf(image, sizeof image, "%s/image.qcow2", tmp);
    snprintf(out, sizeof out, "%s/b.tar.zst", tmp);
    write_file(key, fuzz_bundle_private_pem, strlen(fuzz_bundle_private_pem));

    /* A small image: a qcow2 magic, then a pattern (its bytes are not read as qcow2). */
    for (size_t i = 0; i < IMAGE_SIZE; i++) {
        img[i] = (unsigned char)(i * 7 + 3);
        other[i] = (unsigned char)(i * 5 + 1);
    }
    memcpy(img, "QFI\xfb", 4);
    write_file(image, img, sizeof img);
    if (sha256_file(image, sha) < 0)
        die("sha256");
    m.name = "rocky9-base";
    m.os = "rocky9";
    m.distro = "rocky";
    m.major = 9;
    m.minor = 3;
    m.arch = "x86_64";
    m.format = "qcow2";
    m.virtual_size = 10737418240ULL;
    m.stored_size = IMAGE_SIZE;
    m.sha256 = sha;
    m.created = "2026-11-20T10:00:00Z";
    m.source = "install";
    meta_json = template_meta_to_json(&m);
    if (bundle_export(out, image, meta_json, key) < 0)
        die("bundle_export");

    bundle = read_whole(out, &blen);
    seed(argv[1], "export.tar.zst", 0, bundle, blen);
    tar = untar_zst(out, &tlen);
    seed(argv[1], "export.tar", 1, tar, tlen);

    /* The signature, as bundle_export wrote it: the second member's data
     * (pax: each member is an extended header, a header, then its data). */
    {
        struct archive *a = archive_read_new();
        struct archive_entry *e;
        archive_read_support_format_tar(a);
        if (archive_read_open_memory(a, tar, tlen) != ARCHIVE_OK)
            die("cannot read the tar");
        while (archive_read_next_header(a, &e) == ARCHIVE_OK)
            if (strcmp(archive_entry_pathname(e), BUNDLE_SIG) == 0 &&
                archive_read_data(a, sig, sizeof sig) != (la_ssize_t)sizeof sig)
                die("cannot read the signature");
        archive_read_free(a);
    }

    size_t mlen = strlen(meta_json);
    struct member good[] = {
        { BUNDLE_META, AE_IFREG, NULL, meta_json, mlen },
        { BUNDLE_SIG, AE_IFREG, NULL, sig, sizeof sig },
        { BUNDLE_IMAGE, AE_IFREG, NULL, img, sizeof img },
    };
    tar_seed(argv[1], "rebuilt.tar", good, 3);
    struct member reordered[] = { good[2], good[1], good[0] };
    tar_seed(argv[1], "image-first.tar", reordered, 3);
    struct member symlink[] = { good[0], good[1], { BUNDLE_IMAGE, AE_IFLNK, "/etc/shadow", NULL, 0 } };
    tar_seed(argv[1], "symlink.tar", symlink, 3);
    struct member hardlink[] = { good[0], good[1], { BUNDLE_IMAGE, 0, BUNDLE_META, NULL, 0 } };
    tar_seed(argv[1], "hardlink.tar", hardlink, 3);
    struct member directory[] = { good[0], good[1], { BUNDLE_IMAGE, AE_IFDIR, NULL, NULL, 0 } };
    tar_seed(argv[1], "directory.tar", directory, 3);
    struct member extra[] = { good[0], good[1], good[2], { "README", AE_IFREG, NULL, "hi\n", 3 } };
    tar_seed(argv[1], "extra.tar", extra, 4);
    struct member twice[] = { good[0], good[1], good[0], good[2] };
    tar_seed(argv[1], "twice.tar", twice, 4);
    tar_seed(argv[1], "no-image.tar", good, 2);
    struct member dotdot[] = { good[0], good[1], { "../image.qcow2", AE_IFREG, NULL, img, sizeof img } };
    tar_seed(argv[1], "dotdot.tar", dotdot, 3);
    struct member absolute[] = { good[0], good[1], { "/image.qcow2", AE_IFREG, NULL, img, sizeof img } };
    tar_seed(argv[1], "absolute.tar", absolute, 3);
    struct member shortsig[] = { good[0], { BUNDLE_SIG, AE_IFREG, NULL, sig, 63 }, good[2] };
    tar_seed(argv[1], "short-sig.tar", shortsig, 3);
    struct member altered[] = { good[0], good[1], { BUNDLE_IMAGE, AE_IFREG, NULL, other, sizeof other } };
    tar_seed(argv[1], "other-image.tar", altered, 3);

    free(meta_json);
    free(bundle);
    free(tar);
    nftw(tmp, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    error_clear();
    return 0;
}
