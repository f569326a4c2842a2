/* Unit tests: bundle.c (signed template bundles) and sha256_file. */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <cmocka.h>

#include "adapters/bundle.h"
#include "base/error.h"
#include "pure/meta.h"

#define IMAGE_SIZE (300 * 1024 + 123)
#define IMAGE_MTIME 1700000000

struct fx {
    char dir[PATH_MAX];
    char key[PATH_MAX], pub[PATH_MAX];   /* the signing pair */
    char key2[PATH_MAX], pub2[PATH_MAX]; /* an unrelated pair */
    char image[PATH_MAX];
    char bundle[PATH_MAX], bundle_tmp[PATH_MAX];
    char out[PATH_MAX], out_tmp[PATH_MAX]; /* import's IMAGE_OUT */
    char sha[65];
    char *meta_json;
};

/* A member of a hand-made archive. */
struct member {
    const char *name;
    unsigned type;        /* AE_IFREG, AE_IFLNK, AE_IFDIR, AE_IFCHR, AE_IFBLK, AE_IFIFO */
    const char *link;     /* symlink target, or hard link target if hardlink */
    int hardlink;
    const void *data;
    size_t len;
    int64_t sparse_size;  /* if set: a sparse file of this size, DATA its only data, at offset 0 */
};

#define GIB (INT64_C(1) << 30)

/* ---- helpers -------------------------------------------------------------- */

static void join(char out[PATH_MAX], const char *dir, const char *name)
{
    assert_true(snprintf(out, PATH_MAX, "%s/%s", dir, name) < PATH_MAX);
}

static int exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

static void write_bytes(const char *path, const void *buf, size_t len)
{
    FILE *fp = fopen(path, "we");

    assert_non_null(fp);
    assert_int_equal(fwrite(buf, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "re");
    char *buf;
    long n;

    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    n = ftell(fp);
    assert_true(n >= 0);
    rewind(fp);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
    buf[n] = '\0';
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

static void make_keypair(const char *priv_path, const char *pub_path)
{
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
    EVP_PKEY *k = NULL;
    FILE *fp;

    assert_non_null(ctx);
    assert_int_equal(EVP_PKEY_keygen_init(ctx), 1);
    assert_int_equal(EVP_PKEY_keygen(ctx, &k), 1);
    EVP_PKEY_CTX_free(ctx);
    fp = fopen(priv_path, "we");
    assert_non_null(fp);
    assert_int_equal(PEM_write_PrivateKey(fp, k, NULL, NULL, 0, NULL, NULL), 1);
    fclose(fp);
    fp = fopen(pub_path, "we");
    assert_non_null(fp);
    assert_int_equal(PEM_write_PUBKEY(fp, k), 1);
    fclose(fp);
    EVP_PKEY_free(k);
}

static int setup(void **state)
{
    const char *tmpdir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    struct fx *fx = calloc(1, sizeof *fx);
    unsigned char *img = malloc(IMAGE_SIZE);
    uint32_t x = 2463534242u;
    struct template_meta m = { 0 };
    struct timespec times[2] = { { IMAGE_MTIME, 0 }, { IMAGE_MTIME, 0 } };

    if (!fx || !img)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "%s/vmstamp-test-bundle-XXXXXX", tmpdir);
    if (!mkdtemp(fx->dir))
        return -1;
    join(fx->key, fx->dir, "sign.pem");
    join(fx->pub, fx->dir, "sign.pub.pem");
    join(fx->key2, fx->dir, "other.pem");
    join(fx->pub2, fx->dir, "other.pub.pem");
    join(fx->image, fx->dir, "template.qcow2");
    join(fx->bundle, fx->dir, "template.tar.zst");
    join(fx->bundle_tmp, fx->dir, "template.tar.zst.tmp");
    join(fx->out, fx->dir, "imported.qcow2");
    join(fx->out_tmp, fx->dir, "imported.qcow2.tmp");
    make_keypair(fx->key, fx->pub);
    make_keypair(fx->key2, fx->pub2);

    for (size_t i = 0; i < IMAGE_SIZE; i++) { /* xorshift32 */
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        img[i] = (unsigned char)x;
    }
    write_bytes(fx->image, img, IMAGE_SIZE);
    free(img);
    if (utimensat(AT_FDCWD, fx->image, times, 0) < 0)
        return -1;
    if (sha256_file(fx->image, fx->sha) < 0)
        return -1;
    m.name = "rocky9-base";
    m.os = "rocky9";
    m.format = "qcow2";
    m.stored_size = IMAGE_SIZE;
    m.sha256 = fx->sha;
    fx->meta_json = template_meta_to_json(&m);
    if (!fx->meta_json)
        return -1;
    error_clear();
    *state = fx;
    return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    struct fx *fx = *state;

    error_clear();
    if (!fx)
        return 0;
    if (fx->dir[0] && nftw(fx->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
        return -1;
    free(fx->meta_json);
    free(fx);
    return 0;
}

static void export_ok(struct fx *fx)
{
    assert_int_equal(bundle_export(fx->bundle, fx->image, fx->meta_json, fx->key), 0);
    assert_null(error_message());
    assert_true(exists(fx->bundle));
    assert_false(exists(fx->bundle_tmp));
}

/* The members of an archive, read whole (test bundles are small). */
struct read_member {
    char *name;
    unsigned type;
    mode_t perm;
    int64_t uid, gid, mtime;
    char *data;
    size_t len;
};

static size_t read_members(const char *path, struct read_member *out, size_t max, int *filter)
{
    struct archive *a = archive_read_new();
    struct archive_entry *e;
    size_t n = 0;

    archive_read_support_format_tar(a);
    archive_read_support_filter_zstd(a);
    assert_int_equal(archive_read_open_filename(a, path, 65536), ARCHIVE_OK);
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
        struct read_member *m = &out[n++];
        int64_t size = archive_entry_size(e);

        assert_true(n <= max);
        m->name = strdup(archive_entry_pathname(e));
        m->type = archive_entry_filetype(e);
        m->perm = archive_entry_perm(e);
        m->uid = archive_entry_uid(e);
        m->gid = archive_entry_gid(e);
        m->mtime = archive_entry_mtime(e);
        m->len = (size_t)size;
        m->data = malloc(m->len + 1);
        assert_int_equal(archive_read_data(a, m->data, m->len + 1), (la_ssize_t)m->len);
        if (filter)
            *filter = archive_filter_code(a, 0);
    }
    assert_int_equal(archive_read_free(a), ARCHIVE_OK);
    return n;
}

static void free_members(struct read_member *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(m[i].name);
        free(m[i].data);
    }
}

static void add_entry(struct archive *a, const struct member *m)
{
    struct archive_entry *e = archive_entry_new();

    archive_entry_set_pathname(e, m->name);
    archive_entry_set_filetype(e, m->type);
    archive_entry_set_perm(e, 0644);
    if (m->type == AE_IFLNK)
        archive_entry_set_symlink(e, m->link);
    if (m->hardlink)
        archive_entry_set_hardlink(e, m->link);
    if (m->type == AE_IFCHR)
        archive_entry_set_rdev(e, makedev(1, 3));
    if (m->type == AE_IFBLK)
        archive_entry_set_rdev(e, makedev(8, 0));
    archive_entry_set_size(e, m->type == AE_IFREG && !m->hardlink ? (int64_t)m->len : 0);
    if (m->sparse_size) { /* the pax writer makes it a GNU 1.0 sparse file */
        archive_entry_set_size(e, m->sparse_size);
        archive_entry_sparse_add_entry(e, 0, (int64_t)m->len);
    }
    assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
    if (m->type == AE_IFREG && !m->hardlink && m->len)
        assert_int_equal(archive_write_data(a, m->data, m->len), (la_ssize_t)m->len);
    archive_entry_free(e);
}

static void write_archive(const char *path, const struct member *m, size_t n, int zstd)
{
    struct archive *a = archive_write_new();

    if (zstd)
        assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
    assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++)
        add_entry(a, &m[i]);
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    assert_int_equal(archive_write_free(a), ARCHIVE_OK);
}

/* The uncompressed tar stream of the members M, in memory (caller frees), its
 * length in *LEN, ending with the tar's two zero end blocks and nothing more.
 * With OPEN_SIZE >= 0, it ends instead with the header of an image.qcow2 of
 * OPEN_SIZE bytes: the caller supplies that member's data (and what follows).
 * The size is written into the header by hand, in the base-256 form GNU tar
 * uses past the octal field's 8 GiB (libarchive reads it): libarchive would
 * write a header for such a size, but then pad the member with as many zero
 * bytes or, stopped with archive_write_fail, leak its output state. */
static unsigned char *tar_bytes(const struct member *m, size_t n, int64_t open_size, size_t *len)
{
    struct archive *a = archive_write_new();
    size_t cap = 64 * 1024;
    unsigned char *buf, *h;
    unsigned sum = 0;

    for (size_t i = 0; i < n; i++)
        cap += m[i].len + 1024;
    buf = malloc(cap);
    assert_non_null(buf);
    assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
    assert_int_equal(archive_write_set_bytes_per_block(a, 0), ARCHIVE_OK); /* no padding to 10 KiB */
    assert_int_equal(archive_write_open_memory(a, buf, cap, len), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++)
        add_entry(a, &m[i]);
    if (open_size >= 0)
        add_entry(a, &(struct member){ .name = BUNDLE_IMAGE, .type = AE_IFREG }); /* one ustar header */
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    assert_int_equal(archive_write_free(a), ARCHIVE_OK);
    assert_int_equal(*len % 512, 0);
    if (open_size < 0)
        return buf;
    *len -= 1024; /* the end blocks */
    h = buf + *len - 512;
    assert_string_equal((char *)h, BUNDLE_IMAGE);
    h[124] = 0x80; /* size: base-256, big-endian in the 11 bytes after this one */
    for (int i = 135; i > 124; i--, open_size >>= 8)
        h[i] = (unsigned char)open_size;
    memset(h + 148, ' ', 8); /* checksum: the header's bytes, this field as spaces */
    for (int i = 0; i < 512; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum); /* six digits, NUL, the space left */
    return buf;
}

/* A piece of a hand-made zstd stream: LEN bytes of DATA, or LEN zero bytes if DATA is NULL. */
struct piece {
    const void *data;
    uint64_t len;
};

#define ZSTD_BLOCK (128 * 1024)

/* PATH: the pieces P, in order, as one zstd frame made by hand (RFC 8878):
 * data as raw blocks, zeros as RLE blocks of 128 KiB that cost 4 bytes each,
 * so 10 GiB of zeros is a 320 KiB file written in no time. */
static void write_zstd(const char *path, const struct piece *p, size_t n)
{
    /* Magic; frame header: no content size, no checksum, a 2^17-byte window. */
    static const unsigned char head[] = { 0x28, 0xb5, 0x2f, 0xfd, 0x00, (17 - 10) << 3 };
    FILE *fp = fopen(path, "we");

    assert_non_null(fp);
    assert_int_equal(fwrite(head, 1, sizeof head, fp), sizeof head);
    for (size_t i = 0; i < n; i++) {
        assert_true(p[i].len > 0);
        for (uint64_t off = 0; off < p[i].len;) {
            uint32_t len = p[i].len - off < ZSTD_BLOCK ? (uint32_t)(p[i].len - off) : ZSTD_BLOCK;
            uint32_t last = i == n - 1 && off + len == p[i].len;
            uint32_t h = last | (p[i].data ? 0u : 1u) << 1 | len << 3; /* type 0 raw, 1 RLE */
            unsigned char b[4] = { (unsigned char)h, (unsigned char)(h >> 8), (unsigned char)(h >> 16), 0 };

            assert_int_equal(fwrite(b, 1, 3, fp), 3);
            if (p[i].data)
                assert_int_equal(fwrite((const char *)p[i].data + off, 1, len, fp), len);
            else
                assert_int_equal(fwrite(&b[3], 1, 1, fp), 1); /* the byte an RLE block repeats */
            off += len;
        }
    }
    assert_int_equal(fclose(fp), 0);
}

/* The three members of a correctly exported bundle: [0] metadata, [1] sig, [2] image. */
struct parts {
    struct read_member r[3];
};

static void get_parts(struct fx *fx, struct parts *p)
{
    export_ok(fx);
    assert_int_equal(read_members(fx->bundle, p->r, 3, NULL), 3);
    assert_string_equal(p->r[0].name, BUNDLE_META);
    assert_string_equal(p->r[1].name, BUNDLE_SIG);
    assert_string_equal(p->r[2].name, BUNDLE_IMAGE);
    assert_int_equal(unlink(fx->bundle), 0);
}

static struct member reg(const char *name, const struct read_member *r)
{
    return (struct member){ .name = name, .type = AE_IFREG, .data = r->data, .len = r->len };
}

/* Import must fail with a message naming the bundle and holding EXPECT, and leave nothing. */
static void assert_refused(struct fx *fx, const char *trust, const char *expect)
{
    char *meta = (char *)"untouched";

    assert_int_equal(bundle_import(fx->bundle, trust, fx->out, &meta), -1);
    assert_null(meta);
    assert_non_null(error_message());
    if (!strstr(error_message(), expect) || !strstr(error_message(), fx->bundle))
        fail_msg("error '%s' does not name the bundle or lacks '%s'", error_message(), expect);
    assert_null(strchr(error_message(), '\n'));
    assert_false(exists(fx->out));
    assert_false(exists(fx->out_tmp));
    error_clear();
}

/* Write a bundle of the members M and check import refuses it. */
static void refuse_members(struct fx *fx, const struct member *m, size_t n, const char *expect)
{
    write_archive(fx->bundle, m, n, 1);
    assert_refused(fx, fx->pub, expect);
}

/* The names in DIR, sorted, as one string "a/b/c/" (caller frees). */
static char *listing(const char *dir)
{
    struct dirent **ents;
    int n = scandir(dir, &ents, NULL, alphasort);
    size_t cap = 1, len = 0;
    char *s;

    assert_true(n >= 0);
    for (int i = 0; i < n; i++)
        cap += strlen(ents[i]->d_name) + 1;
    s = malloc(cap);
    assert_non_null(s);
    s[0] = '\0';
    for (int i = 0; i < n; i++) {
        len += (size_t)sprintf(s + len, "%s/", ents[i]->d_name);
        free(ents[i]);
    }
    free(ents);
    return s;
}

/* assert_refused, and the directory of the output holds what it held before
 * (no temporary file), with the process unable to write a file over 4 MiB
 * (RLIMIT_FSIZE; SIGXFSZ ignored, so such a write fails with EFBIG and the
 * error would say so): an import that wrote a bomb's bytes out, even to
 * remove them after, fails the test. */
static void refuse_clean(struct fx *fx, const char *expect)
{
    char *before = listing(fx->dir), *after;
    struct rlimit old, low;
    void (*sig)(int) = signal(SIGXFSZ, SIG_IGN);

    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    low = old;
    low.rlim_cur = 4 * 1024 * 1024;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &low), 0);
    assert_refused(fx, fx->pub, expect);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, sig);
    after = listing(fx->dir);
    assert_string_equal(after, before);
    free(before);
    free(after);
}

/* An image of SIZE bytes at PATH, from the xorshift32 SEED, and its metadata
 * (SHA-256 and stored_size filled in; caller frees). */
static char *make_image(const char *path, size_t size, uint32_t seed)
{
    unsigned char *img = malloc(size);
    struct template_meta m = { .name = "other", .os = "rocky9", .format = "qcow2", .stored_size = size };
    char sha[65];

    assert_non_null(img);
    for (size_t i = 0; i < size; i++) {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        img[i] = (unsigned char)seed;
    }
    write_bytes(path, img, size);
    free(img);
    assert_int_equal(sha256_file(path, sha), 0);
    m.sha256 = sha;
    return template_meta_to_json(&m);
}

/* The three members of a valid bundle of the image IMAGE with metadata META,
 * exported (signed with fx->key) to a scratch path. */
static void other_parts(struct fx *fx, const char *image, const char *meta, struct parts *p)
{
    char path[PATH_MAX];

    join(path, fx->dir, "other.tar.zst");
    assert_int_equal(bundle_export(path, image, meta, fx->key), 0);
    assert_int_equal(read_members(path, p->r, 3, NULL), 3);
    assert_string_equal(p->r[2].name, BUNDLE_IMAGE);
    assert_int_equal(unlink(path), 0);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_sha256_known_answer(void **state)
{
    struct fx *fx = *state;
    char path[PATH_MAX], out[65];

    join(path, fx->dir, "abc");
    write_bytes(path, "abc", 3);
    assert_int_equal(sha256_file(path, out), 0);
    assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    write_bytes(path, "", 0);
    assert_int_equal(sha256_file(path, out), 0);
    assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    join(path, fx->dir, "missing");
    assert_int_equal(sha256_file(path, out), -1);
    assert_non_null(strstr(error_message(), path));
    error_clear();
}

static void test_round_trip(void **state)
{
    struct fx *fx = *state;
    struct read_member r[4];
    char *meta = NULL, *a, *b;
    size_t alen, blen, n;
    int filter = -1;

    export_ok(fx);
    /* The archive: exactly three regular 0644 root-owned members stamped with the image's mtime. */
    n = read_members(fx->bundle, r, 4, &filter);
    assert_int_equal(n, 3);
    assert_int_equal(filter, ARCHIVE_FILTER_ZSTD);
    assert_string_equal(r[0].name, BUNDLE_META);
    assert_string_equal(r[1].name, BUNDLE_SIG);
    assert_string_equal(r[2].name, BUNDLE_IMAGE);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(r[i].type, AE_IFREG);
        assert_int_equal(r[i].perm, 0644);
        assert_int_equal(r[i].uid, 0);
        assert_int_equal(r[i].gid, 0);
        assert_int_equal(r[i].mtime, IMAGE_MTIME);
    }
    assert_int_equal(r[0].len, strlen(fx->meta_json));
    assert_memory_equal(r[0].data, fx->meta_json, r[0].len);
    assert_int_equal(r[1].len, 64);
    assert_int_equal(r[2].len, IMAGE_SIZE);
    free_members(r, n);

    assert_int_equal(bundle_import(fx->bundle, fx->pub, fx->out, &meta), 0);
    assert_null(error_message());
    assert_non_null(meta);
    assert_string_equal(meta, fx->meta_json);
    free(meta);
    assert_false(exists(fx->out_tmp));
    a = slurp(fx->image, &alen);
    b = slurp(fx->out, &blen);
    assert_int_equal(alen, blen);
    assert_memory_equal(a, b, alen);
    free(a);
    free(b);

    /* META_JSON_OUT may be NULL (an existing IMAGE_OUT is refused: test_import_never_replaces). */
    assert_int_equal(unlink(fx->out), 0);
    assert_int_equal(bundle_import(fx->bundle, fx->pub, fx->out, NULL), 0);
    assert_false(exists(fx->out_tmp));
}

static void test_any_member_order(void **state)
{
    struct fx *fx = *state;
    struct parts p;
    char *meta = NULL;
    char sha[65];

    get_parts(fx, &p);
    struct member m[] = { reg(BUNDLE_IMAGE, &p.r[2]), reg(BUNDLE_SIG, &p.r[1]), reg(BUNDLE_META, &p.r[0]) };
    write_archive(fx->bundle, m, 3, 1);
    assert_int_equal(bundle_import(fx->bundle, fx->pub, fx->out, &meta), 0);
    assert_string_equal(meta, fx->meta_json);
    free(meta);
    assert_int_equal(sha256_file(fx->out, sha), 0);
    assert_string_equal(sha, fx->sha);
    free_members(p.r, 3);
}

/* An image that appears at IMAGE_OUT meanwhile is never replaced. */
static void test_import_never_replaces(void **state)
{
    struct fx *fx = *state;
    size_t len;
    char *kept;

    export_ok(fx);
    write_bytes(fx->out, "someone else's", 14);
    assert_int_equal(bundle_import(fx->bundle, fx->pub, fx->out, NULL), -1);
    assert_non_null(strstr(error_message(), "already exists"));
    assert_non_null(strstr(error_message(), fx->out));
    error_clear();
    kept = slurp(fx->out, &len);
    assert_int_equal(len, 14);
    assert_memory_equal(kept, "someone else's", 14);
    free(kept);
    assert_false(exists(fx->out_tmp));
}

static void test_wrong_trust_key(void **state)
{
    struct fx *fx = *state;

    export_ok(fx);
    assert_refused(fx, fx->pub2, "signature does not verify");
    assert_true(exists(fx->bundle));
}

static void test_bad_keys(void **state)
{
    struct fx *fx = *state;

    export_ok(fx);
    /* A private key where a public one belongs, and the reverse. */
    assert_int_equal(bundle_import(fx->bundle, fx->key, fx->out, NULL), -1);
    assert_non_null(strstr(error_message(), "public"));
    error_clear();
    assert_false(exists(fx->out) || exists(fx->out_tmp));
    assert_int_equal(unlink(fx->bundle), 0);
    assert_int_equal(bundle_export(fx->bundle, fx->image, fx->meta_json, fx->pub), -1);
    assert_non_null(strstr(error_message(), fx->pub));
    error_clear();
    assert_false(exists(fx->bundle) || exists(fx->bundle_tmp));
}

static void test_tampered_image(void **state)
{
    struct fx *fx = *state;
    struct parts p;

    get_parts(fx, &p);
    p.r[2].data[IMAGE_SIZE / 2] ^= 0x01;
    struct member m[] = { reg(BUNDLE_META, &p.r[0]), reg(BUNDLE_SIG, &p.r[1]), reg(BUNDLE_IMAGE, &p.r[2]) };
    refuse_members(fx, m, 3, "checksum");
    free_members(p.r, 3);
}

static void test_tampered_metadata(void **state)
{
    struct fx *fx = *state;
    struct parts p;

    get_parts(fx, &p);
    char *v = strstr(p.r[0].data, "\"version\":");
    assert_non_null(v);
    v += strlen("\"version\":");
    v += strspn(v, " ");
    assert_int_equal(*v, '1');
    *v = '2'; /* a signed byte changed */
    struct member m[] = { reg(BUNDLE_META, &p.r[0]), reg(BUNDLE_SIG, &p.r[1]), reg(BUNDLE_IMAGE, &p.r[2]) };
    refuse_members(fx, m, 3, "signature does not verify");
    free_members(p.r, 3);
}

static void test_dotdot_member(void **state)
{
    struct fx *fx = *state;
    struct parts p;

    get_parts(fx, &p);
    struct member m[] = { reg(BUNDLE_META, &p.r[0]), reg(BUNDLE_SIG, &p.r[1]), reg("../image.qcow2", &p.r[2]) };
    refuse_members(fx, m, 3, "'..'");
    free_members(p.r, 3);
}

static void test_absolute_member(void **state)
{
    struct fx *fx = *state;
    struct parts p;
    char abs[PATH_MAX];

    get_parts(fx, &p);
    join(abs, fx->dir, "image.qcow2");
    struct member m[] = { reg(BUNDLE_META, &p.r[0]), reg(BUNDLE_SIG, &p.r[1]), reg(abs, &p.r[2]) };
    refuse_members(fx, m, 3, "absolute path");
    assert_false(exists(abs));
    free_members(p.r, 3);
}

static void test_symlink_member(void **state)
{
    struct fx *fx = *state;
    struct parts p;

    get_parts(fx, &p);
    struct member m[] = { reg(BUNDLE_META, &p.r[0]), reg(BUNDLE_SIG, &p.r[1]),
                          { .name = BUNDLE_IMAGE, .type = AE_IFLNK, .link = "/etc/passwd" } };
    refuse_members(fx, m, 3, "symlink");
    free_members(p.r, 3);
}

static void test_hardlink_member(void **state)
{
    struct fx *fx = *state;
    struct parts p;

    get_parts(fx, &p);
    struct member m[] = { reg(BUNDLE_META, &p.r[0]), reg(BUNDLE_SIG, &p.r[1]),
                          { .name = BUNDLE_IMAGE, .type = AE_IFREG, .hardlink = 1, .link = BUNDLE_META } };
    refuse_members(fx, m, 3, "hard link");
    free_members(p.r, 3);
}

static void test_dir_and_device_members(void **state)
{
    struct fx *fx = *state;
    struct parts p;

    get_parts(fx, &p);
    struct member d[] = { reg(BUNDLE_META, &p.r[0]), reg(BUNDLE_SIG, &p.r[1]),
                          { .name = BUNDLE_IMAGE, .type = AE_IFDIR } };
    refuse_members(fx, d, 3, "directory");
    struct member c[] = { { .name = BUNDLE_META, .type = AE_IFCHR }, reg(BUNDLE_SIG, &p.r[1]),
                          reg(BUNDLE_IMAGE, &p.r[2]) };
    refuse_members(fx, c, 3, "character device");
    free_members(p.r, 3);
}

static void test_extra_member(void **state)
{
    struct fx *fx = *state;
    struct parts p;

    get_parts(fx, &p);
    /* After the image, so the half-written output must be removed. */
    struct member m[] = { reg(BUNDLE_META, &p.r[0]), reg(BUNDLE_SIG, &p.r[1]), reg(BUNDLE_IMAGE, &p.r[2]),
                          { .name = "notes.txt", .type = AE_IFREG, .data = "hi\n", .len = 3 } };
    refuse_members(fx, m, 4, "unexpected member 'notes.txt'");
    struct member dot[] = { reg("./metadata.json", &p.r[0]), reg(BUNDLE_SIG, &p.r[1]), reg(BUNDLE_IMAGE, &p.r[2]) };
    refuse_members(fx, dot, 3, "unexpected member './metadata.json'");
    free_members(p.r, 3);
}

static void test_duplicate_member(void **state)
{
    struct fx *fx = *state;
    struct parts p;

    get_parts(fx, &p);
    struct member m[] = { reg(BUNDLE_META, &p.r[0]), reg(BUNDLE_SIG, &p.r[1]), reg(BUNDLE_IMAGE, &p.r[2]),
                          reg(BUNDLE_IMAGE, &p.r[2]) };
    refuse_members(fx, m, 4, "more than once");
    struct member s[] = { reg(BUNDLE_META, &p.r[0]), reg(BUNDLE_SIG, &p.r[1]), reg(BUNDLE_SIG, &p.r[1]),
                          reg(BUNDLE_IMAGE, &p.r[2]) };
    refuse_members(fx, s, 4, "more than once");
    free_members(p.r, 3);
}

static void test_missing_members(void **state)
{
    struct fx *fx = *state;
    struct parts p;

    get_parts(fx, &p);
    struct member nosig[] = { reg(BUNDLE_META, &p.r[0]), reg(BUNDLE_IMAGE, &p.r[2]) };
    refuse_members(fx, nosig, 2, "no metadata.json.sig member");
    struct member nometa[] = { reg(BUNDLE_SIG, &p.r[1]), reg(BUNDLE_IMAGE, &p.r[2]) };
    refuse_members(fx, nometa, 2, "no metadata.json member");
    struct member noimage[] = { reg(BUNDLE_META, &p.r[0]), reg(BUNDLE_SIG, &p.r[1]) };
    refuse_members(fx, noimage, 2, "no image.qcow2 member");
    refuse_members(fx, NULL, 0, "no metadata.json member");
    free_members(p.r, 3);
}

static void test_size_limits(void **state)
{
    struct fx *fx = *state;
    struct parts p;
    char *big = malloc(BUNDLE_SMALL_MAX + 1);

    assert_non_null(big);
    memset(big, ' ', BUNDLE_SMALL_MAX + 1);
    get_parts(fx, &p);
    struct member m[] = { { .name = BUNDLE_META, .type = AE_IFREG, .data = big, .len = BUNDLE_SMALL_MAX + 1 },
                          reg(BUNDLE_SIG, &p.r[1]), reg(BUNDLE_IMAGE, &p.r[2]) };
    refuse_members(fx, m, 3, "more than");
    struct member s[] = { reg(BUNDLE_META, &p.r[0]),
                          { .name = BUNDLE_SIG, .type = AE_IFREG, .data = big, .len = BUNDLE_SMALL_MAX + 1 },
                          reg(BUNDLE_IMAGE, &p.r[2]) };
    refuse_members(fx, s, 3, "more than");
    p.r[1].len = 63;
    struct member shortsig[] = { reg(BUNDLE_META, &p.r[0]), reg(BUNDLE_SIG, &p.r[1]), reg(BUNDLE_IMAGE, &p.r[2]) };
    refuse_members(fx, shortsig, 3, "64-byte");
    free(big);
    free_members(p.r, 3);
}

static void test_truncated(void **state)
{
    struct fx *fx = *state;
    struct stat st;

    export_ok(fx);
    assert_int_equal(stat(fx->bundle, &st), 0);
    assert_int_equal(truncate(fx->bundle, st.st_size / 2), 0);
    assert_refused(fx, fx->pub, "truncated or corrupt");

    /* Only the very end missing. */
    assert_int_equal(unlink(fx->bundle), 0);
    export_ok(fx);
    assert_int_equal(truncate(fx->bundle, st.st_size - 1), 0);
    assert_refused(fx, fx->pub, "truncated or corrupt");
}

static void test_not_a_bundle(void **state)
{
    struct fx *fx = *state;
    struct parts p;

    /* An uncompressed tar with the right members. */
    get_parts(fx, &p);
    struct member m[] = { reg(BUNDLE_META, &p.r[0]), reg(BUNDLE_SIG, &p.r[1]), reg(BUNDLE_IMAGE, &p.r[2]) };
    write_archive(fx->bundle, m, 3, 0);
    assert_refused(fx, fx->pub, "zstd");
    free_members(p.r, 3);
    /* Not an archive at all; an empty file; no file. */
    write_bytes(fx->bundle, fx->meta_json, strlen(fx->meta_json));
    assert_refused(fx, fx->pub, "bundle");
    write_bytes(fx->bundle, "", 0);
    assert_refused(fx, fx->pub, "bundle");
    assert_int_equal(unlink(fx->bundle), 0);
    assert_refused(fx, fx->pub, "bundle");
}

/* ---- hostile bundles (issue 11): each refused in one line, nothing kept --- */

/* A metadata file and signature from another bundle the same key signed, with
 * this bundle's image: the signature verifies, the image is not the signed one. */
static void test_metadata_from_other_bundle(void **state)
{
    struct fx *fx = *state;
    struct parts p, o;
    char other[PATH_MAX];
    char *meta;

    get_parts(fx, &p);
    join(other, fx->dir, "other.qcow2");
    /* Another size: refused at the image's header, before a byte is written, in either order. */
    meta = make_image(other, IMAGE_SIZE / 2 + 7, 12345);
    other_parts(fx, other, meta, &o);
    free(meta);
    struct member m[] = { reg(BUNDLE_META, &o.r[0]), reg(BUNDLE_SIG, &o.r[1]), reg(BUNDLE_IMAGE, &p.r[2]) };
    write_archive(fx->bundle, m, 3, 1);
    refuse_clean(fx, "member 'image.qcow2' is 307323 bytes but metadata.json says 153668");
    struct member first[] = { reg(BUNDLE_IMAGE, &p.r[2]), reg(BUNDLE_META, &o.r[0]), reg(BUNDLE_SIG, &o.r[1]) };
    write_archive(fx->bundle, first, 3, 1);
    refuse_clean(fx, "member 'image.qcow2' is 307323 bytes but metadata.json says 153668");
    free_members(o.r, 3);
    /* The same size: refused by the checksum, the written image removed. */
    meta = make_image(other, IMAGE_SIZE, 54321);
    other_parts(fx, other, meta, &o);
    free(meta);
    struct member same[] = { reg(BUNDLE_META, &o.r[0]), reg(BUNDLE_SIG, &o.r[1]), reg(BUNDLE_IMAGE, &p.r[2]) };
    write_archive(fx->bundle, same, 3, 1);
    refuse_clean(fx, "checksum mismatch");
    free_members(o.r, 3);
    free_members(p.r, 3);
}

/* This bundle's metadata and signature with another image of exactly the same
 * size (not one flipped bit, as test_tampered_image: a whole other image). */
static void test_image_swapped_same_size(void **state)
{
    struct fx *fx = *state;
    struct parts p;
    struct read_member swapped;
    char other[PATH_MAX];

    get_parts(fx, &p);
    join(other, fx->dir, "other.qcow2");
    free(make_image(other, IMAGE_SIZE, 777));
    swapped.data = slurp(other, &swapped.len);
    assert_int_equal(swapped.len, IMAGE_SIZE);
    struct member m[] = { reg(BUNDLE_META, &p.r[0]), reg(BUNDLE_SIG, &p.r[1]), reg(BUNDLE_IMAGE, &swapped) };
    write_archive(fx->bundle, m, 3, 1);
    refuse_clean(fx, "checksum mismatch");
    /* The image first: read in the second pass, refused the same way. */
    struct member first[] = { reg(BUNDLE_IMAGE, &swapped), reg(BUNDLE_META, &p.r[0]), reg(BUNDLE_SIG, &p.r[1]) };
    write_archive(fx->bundle, first, 3, 1);
    refuse_clean(fx, "checksum mismatch");
    free(swapped.data);
    free_members(p.r, 3);
}

/* Block devices and FIFOs (character devices: test_dir_and_device_members). */
static void test_block_device_and_fifo_members(void **state)
{
    struct fx *fx = *state;
    struct parts p;

    get_parts(fx, &p);
    struct member b[] = { reg(BUNDLE_META, &p.r[0]), reg(BUNDLE_SIG, &p.r[1]),
                          { .name = BUNDLE_IMAGE, .type = AE_IFBLK } };
    write_archive(fx->bundle, b, 3, 1);
    refuse_clean(fx, "member 'image.qcow2' is a block device, not a regular file");
    struct member f[] = { reg(BUNDLE_META, &p.r[0]), { .name = BUNDLE_SIG, .type = AE_IFIFO },
                          reg(BUNDLE_IMAGE, &p.r[2]) };
    write_archive(fx->bundle, f, 3, 1);
    refuse_clean(fx, "member 'metadata.json.sig' is a FIFO, not a regular file");
    free_members(p.r, 3);
}

/* An image member whose header declares another size than the signed
 * metadata's stored_size: more (the real image and 4 KiB more) or one byte less. */
static void test_image_size_not_signed(void **state)
{
    struct fx *fx = *state;
    struct parts p;
    struct read_member more = { 0 };

    get_parts(fx, &p);
    more.len = IMAGE_SIZE + 4096;
    more.data = calloc(1, more.len);
    assert_non_null(more.data);
    memcpy(more.data, p.r[2].data, IMAGE_SIZE);
    struct member m[] = { reg(BUNDLE_META, &p.r[0]), reg(BUNDLE_SIG, &p.r[1]), reg(BUNDLE_IMAGE, &more) };
    write_archive(fx->bundle, m, 3, 1);
    refuse_clean(fx, "member 'image.qcow2' is 311419 bytes but metadata.json says 307323");
    struct member first[] = { reg(BUNDLE_IMAGE, &more), reg(BUNDLE_SIG, &p.r[1]), reg(BUNDLE_META, &p.r[0]) };
    write_archive(fx->bundle, first, 3, 1);
    refuse_clean(fx, "member 'image.qcow2' is 311419 bytes but metadata.json says 307323");
    p.r[2].len = IMAGE_SIZE - 1;
    struct member less[] = { reg(BUNDLE_META, &p.r[0]), reg(BUNDLE_SIG, &p.r[1]), reg(BUNDLE_IMAGE, &p.r[2]) };
    write_archive(fx->bundle, less, 3, 1);
    refuse_clean(fx, "member 'image.qcow2' is 307322 bytes but metadata.json says 307323");
    free(more.data);
    free_members(p.r, 3);
}

/* Signed metadata with no stored_size bounds nothing: refused at import, and
 * export refuses metadata whose stored_size is not the image's. */
static void test_stored_size_required(void **state)
{
    struct fx *fx = *state;
    struct template_meta m = { .name = "rocky9-base", .os = "rocky9", .format = "qcow2", .sha256 = fx->sha };
    char *meta = template_meta_to_json(&m);
    struct read_member r[3];
    EVP_PKEY *k;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char sig[64];
    size_t siglen = sizeof sig;
    FILE *fp;

    /* export */
    assert_int_equal(bundle_export(fx->bundle, fx->image, meta, fx->key), -1);
    assert_non_null(strstr(error_message(), "is 307323 bytes but its metadata's stored_size says 0"));
    error_clear();
    assert_false(exists(fx->bundle) || exists(fx->bundle_tmp));
    /* import: the metadata signed here, as a signer without vmstamp would */
    fp = fopen(fx->key, "re");
    assert_non_null(fp);
    k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
    fclose(fp);
    assert_non_null(k);
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, k), 1);
    assert_int_equal(EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)meta, strlen(meta)), 1);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(k);
    export_ok(fx);
    assert_int_equal(read_members(fx->bundle, r, 3, NULL), 3);
    struct member b[] = { { .name = BUNDLE_META, .type = AE_IFREG, .data = meta, .len = strlen(meta) },
                          { .name = BUNDLE_SIG, .type = AE_IFREG, .data = sig, .len = siglen },
                          reg(BUNDLE_IMAGE, &r[2]) };
    write_archive(fx->bundle, b, 3, 1);
    refuse_clean(fx, "metadata.json has no stored_size");
    free_members(r, 3);
    free(meta);
}

/* A member whose data ends before its header's size, in a well-formed zstd
 * stream (test_truncated cuts the compressed file: the zstd frame is cut too). */
static void test_member_shorter_than_header(void **state)
{
    struct fx *fx = *state;
    struct parts p;
    unsigned char *tar;
    size_t len, image_at;

    get_parts(fx, &p);
    struct member m[] = { reg(BUNDLE_META, &p.r[0]), reg(BUNDLE_SIG, &p.r[1]), reg(BUNDLE_IMAGE, &p.r[2]) };
    tar = tar_bytes(m, 3, -1, &len);
    image_at = len - 1024 - (IMAGE_SIZE + 511) / 512 * 512; /* the image's data: last, before the end blocks */
    write_zstd(fx->bundle, (struct piece[]){ { tar, image_at + IMAGE_SIZE / 2 } }, 1);
    refuse_clean(fx, "cannot read member 'image.qcow2' (truncated or corrupt?)");
    write_zstd(fx->bundle, (struct piece[]){ { tar, 512 + 100 } }, 1); /* in metadata.json */
    refuse_clean(fx, "metadata.json");
    free(tar);
    free_members(p.r, 3);
}

/* An image member with more data than its header says: whatever follows the
 * declared bytes is read as the next header, and refused. The metadata is
 * signed for exactly the declared bytes, so only the excess is wrong. */
static void test_member_longer_than_header(void **state)
{
    struct fx *fx = *state;
    struct parts o;
    struct read_member img;
    char prefix[PATH_MAX];
    unsigned char *tar;
    char *meta, sha[65];
    size_t len, declared = IMAGE_SIZE / 512 * 512 - 1024;

    struct template_meta pm = { .name = "rocky9-base", .format = "qcow2", .stored_size = declared, .sha256 = sha };

    /* A bundle of the image's first DECLARED bytes, signed. */
    join(prefix, fx->dir, "prefix.qcow2");
    img.data = slurp(fx->image, &img.len);
    write_bytes(prefix, img.data, declared);
    assert_int_equal(sha256_file(prefix, sha), 0);
    meta = template_meta_to_json(&pm);
    other_parts(fx, prefix, meta, &o);
    free(meta);
    struct member m[] = { reg(BUNDLE_META, &o.r[0]), reg(BUNDLE_SIG, &o.r[1]), reg(BUNDLE_IMAGE, &o.r[2]) };
    tar = tar_bytes(m, 3, -1, &len);
    /* The rest of the image between the declared bytes and the end blocks. */
    write_zstd(fx->bundle,
               (struct piece[]){ { tar, len - 1024 }, { img.data + declared, IMAGE_SIZE - declared },
                                 { NULL, 1024 } }, 3);
    refuse_clean(fx, "cannot read the archive (truncated or corrupt?)");
    free(tar);
    free(img.data);
    free_members(o.r, 3);
}

/* The 10 GiB sparse member: a 200-byte bundle whose image reads as 10 GiB of
 * zeros. Refused at its header, in either order. */
static void test_sparse_bomb(void **state)
{
    struct fx *fx = *state;
    struct parts p;
    struct stat st;

    get_parts(fx, &p);
    struct member sparse = { .name = BUNDLE_IMAGE, .type = AE_IFREG, .data = p.r[2].data, .len = 4096,
                             .sparse_size = 10 * GIB };
    struct member m[] = { reg(BUNDLE_META, &p.r[0]), reg(BUNDLE_SIG, &p.r[1]), sparse };
    write_archive(fx->bundle, m, 3, 1);
    assert_int_equal(stat(fx->bundle, &st), 0);
    assert_true(st.st_size < 8192);
    refuse_clean(fx, "member 'image.qcow2' is a sparse file, not a regular file");
    struct member first[] = { sparse, reg(BUNDLE_META, &p.r[0]), reg(BUNDLE_SIG, &p.r[1]) };
    write_archive(fx->bundle, first, 3, 1);
    refuse_clean(fx, "member 'image.qcow2' is a sparse file, not a regular file");
    free_members(p.r, 3);
}

/* The decompression bomb: a ~330 KB bundle whose image member is 10 GiB of
 * zeros (a real tar member, header and all, in a valid zstd stream, built by
 * hand so the test costs nothing), with this bundle's signed metadata. The
 * import must write none of it: refuse_clean caps files at 4 MiB, so an
 * import that streamed the member out before comparing checksums would fail
 * with "File too large" instead. With the metadata first (as export writes
 * it) the image's header is refused at once; with the image first it is
 * skipped (decompressed, not written) until the metadata is verified. */
static void test_zero_bomb(void **state)
{
    struct fx *fx = *state;
    struct parts p;
    unsigned char *head, *tail;
    size_t head_len, tail_len;
    struct archive *a;
    struct archive_entry *e;
    struct stat st;

    get_parts(fx, &p);
    struct member meta[] = { reg(BUNDLE_META, &p.r[0]), reg(BUNDLE_SIG, &p.r[1]) };
    head = tar_bytes(meta, 2, 10 * GIB, &head_len); /* metadata, signature, the image's header */
    write_zstd(fx->bundle, (struct piece[]){ { head, head_len }, { NULL, 10 * GIB + 1024 } }, 2);
    assert_int_equal(stat(fx->bundle, &st), 0);
    assert_true(st.st_size < 400 * 1024);
    /* It is what it says: libarchive reads a 10 GiB image.qcow2 to the end (0.2 s, nothing written). */
    a = archive_read_new();
    archive_read_support_format_tar(a);
    archive_read_support_filter_zstd(a);
    assert_int_equal(archive_read_open_filename(a, fx->bundle, 65536), ARCHIVE_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_OK);
    assert_string_equal(archive_entry_pathname(e), BUNDLE_IMAGE);
    assert_int_equal(archive_entry_size(e), 10 * GIB);
    assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_EOF);
    assert_int_equal(archive_read_free(a), ARCHIVE_OK);
    refuse_clean(fx, "member 'image.qcow2' is 10737418240 bytes but metadata.json says 307323");
    free(head);

    /* The image first, the signed metadata after its 10 GiB. */
    head = tar_bytes(NULL, 0, 10 * GIB, &head_len);
    tail = tar_bytes(meta, 2, -1, &tail_len);
    write_zstd(fx->bundle, (struct piece[]){ { head, head_len }, { NULL, 10 * GIB }, { tail, tail_len } }, 3);
    refuse_clean(fx, "member 'image.qcow2' is 10737418240 bytes but metadata.json says 307323");
    free(head);
    free(tail);
    free_members(p.r, 3);
}

static void test_export_missing_key(void **state)
{
    struct fx *fx = *state;
    char key[PATH_MAX];

    join(key, fx->dir, "no-such-key.pem");
    assert_int_equal(bundle_export(fx->bundle, fx->image, fx->meta_json, key), -1);
    assert_non_null(strstr(error_message(), key));
    error_clear();
    assert_false(exists(fx->bundle));
    assert_false(exists(fx->bundle_tmp));
}

static void test_export_refuses(void **state)
{
    struct fx *fx = *state;
    struct template_meta m = { .name = "x", .format = "qcow2",
                               .sha256 = "0000000000000000000000000000000000000000000000000000000000000000" };
    char *wrong = template_meta_to_json(&m);
    char missing[PATH_MAX];

    /* Metadata whose sha256 is not the image's: the bundle would never import. */
    assert_int_equal(bundle_export(fx->bundle, fx->image, wrong, fx->key), -1);
    assert_non_null(strstr(error_message(), "SHA-256"));
    error_clear();
    free(wrong);
    assert_false(exists(fx->bundle) || exists(fx->bundle_tmp));
    /* Metadata that does not parse. */
    assert_int_equal(bundle_export(fx->bundle, fx->image, "{\"name\": \"x\"}", fx->key), -1);
    assert_non_null(strstr(error_message(), "metadata"));
    error_clear();
    assert_false(exists(fx->bundle) || exists(fx->bundle_tmp));
    /* No image. */
    join(missing, fx->dir, "missing.qcow2");
    assert_int_equal(bundle_export(fx->bundle, missing, fx->meta_json, fx->key), -1);
    assert_non_null(strstr(error_message(), missing));
    error_clear();
    assert_false(exists(fx->bundle) || exists(fx->bundle_tmp));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_sha256_known_answer), T(test_round_trip), T(test_any_member_order),
        T(test_import_never_replaces), T(test_wrong_trust_key), T(test_bad_keys), T(test_tampered_image),
        T(test_tampered_metadata), T(test_dotdot_member), T(test_absolute_member),
        T(test_symlink_member), T(test_hardlink_member), T(test_dir_and_device_members),
        T(test_extra_member), T(test_duplicate_member), T(test_missing_members),
        T(test_size_limits), T(test_truncated), T(test_not_a_bundle),
        T(test_export_missing_key), T(test_export_refuses), T(test_metadata_from_other_bundle),
        T(test_image_swapped_same_size), T(test_block_device_and_fifo_members), T(test_image_size_not_signed),
        T(test_stored_size_required), T(test_member_shorter_than_header), T(test_member_longer_than_header),
        T(test_sparse_bomb), T(test_zero_bomb),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
