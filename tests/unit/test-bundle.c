/* Unit tests: bundle.c (signed template bundles) and sha256_file. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    unsigned type;        /* AE_IFREG, AE_IFLNK, AE_IFDIR, AE_IFCHR */
    const char *link;     /* symlink target, or hard link target if hardlink */
    int hardlink;
    const void *data;
    size_t len;
};

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

static void write_archive(const char *path, const struct member *m, size_t n, int zstd)
{
    struct archive *a = archive_write_new();

    if (zstd)
        assert_int_equal(archive_write_add_filter_zstd(a), ARCHIVE_OK);
    assert_int_equal(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
    assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
    for (size_t i = 0; i < n; i++) {
        struct archive_entry *e = archive_entry_new();
        archive_entry_set_pathname(e, m[i].name);
        archive_entry_set_filetype(e, m[i].type);
        archive_entry_set_perm(e, 0644);
        if (m[i].type == AE_IFLNK)
            archive_entry_set_symlink(e, m[i].link);
        if (m[i].hardlink)
            archive_entry_set_hardlink(e, m[i].link);
        if (m[i].type == AE_IFCHR)
            archive_entry_set_rdev(e, makedev(1, 3));
        archive_entry_set_size(e, m[i].type == AE_IFREG && !m[i].hardlink ? (int64_t)m[i].len : 0);
        assert_int_equal(archive_write_header(a, e), ARCHIVE_OK);
        if (m[i].type == AE_IFREG && !m[i].hardlink && m[i].len)
            assert_int_equal(archive_write_data(a, m[i].data, m[i].len), (la_ssize_t)m[i].len);
        archive_entry_free(e);
    }
    assert_int_equal(archive_write_close(a), ARCHIVE_OK);
    assert_int_equal(archive_write_free(a), ARCHIVE_OK);
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
        T(test_export_missing_key), T(test_export_refuses),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
