/* fuzz-bundle: a template bundle's archive, manifest and member checks
 * (adapters/bundle.c, bundle_import: members, their types, names, sizes,
 * the signature over metadata.json, the metadata, the image's checksum).
 * The first byte picks how the rest reaches bundle_import: even, as the
 * bundle file itself (.tar.zst); odd, as the tar inside it, which the
 * target compresses with zstd first, so the fuzzer works on tar headers
 * rather than on a compressed stream. The bundle is trusted with the test
 * key of bundle-key.h (the seeds are signed with it). Files live in a
 * temporary directory, removed at exit. */
#include <archive.h>
#include <archive_entry.h>
#include <ftw.h>
#include <unistd.h>

#include "adapters/bundle.h"
#include "bundle-key.h"
#include "fuzz.h"
#include "pure/meta.h"

static char dir[4096], bundle[4200], trust[4200], image[4200], image_tmp[4200];

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void cleanup(void)
{
    if (dir[0])
        nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static void write_file(const char *path, const void *buf, size_t len)
{
    FILE *fp = fopen(path, "we");

    if (!fp || (len && fwrite(buf, 1, len, fp) != len) || fclose(fp) != 0)
        abort();
}

/* BUF (a tar stream) compressed with zstd into PATH, through libarchive's
 * raw format (one nameless member, its data written as it is). */
static void write_zstd(const char *path, const void *buf, size_t len)
{
    struct archive *a = archive_write_new();
    struct archive_entry *e = archive_entry_new();

    if (!a || !e || archive_write_add_filter_zstd(a) != ARCHIVE_OK ||
        archive_write_set_filter_option(a, "zstd", "compression-level", "1") != ARCHIVE_OK ||
        archive_write_set_format_raw(a) != ARCHIVE_OK || archive_write_open_filename(a, path) != ARCHIVE_OK)
        abort();
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_pathname(e, "data");
    archive_entry_set_size(e, (la_int64_t)len);
    if (archive_write_header(a, e) != ARCHIVE_OK || (len && archive_write_data(a, buf, len) != (la_ssize_t)len) ||
        archive_write_close(a) != ARCHIVE_OK)
        abort();
    archive_entry_free(e);
    archive_write_free(a);
}

static void setup(void)
{
    const char *tmp = getenv("TMPDIR");

    snprintf(dir, sizeof dir, "%s/vmstamp-fuzz-bundle.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        abort();
    atexit(cleanup);
    snprintf(bundle, sizeof bundle, "%s/in.tar.zst", dir);
    snprintf(trust, sizeof trust, "%s/trust.pem", dir);
    snprintf(image, sizeof image, "%s/image.qcow2", dir);
    snprintf(image_tmp, sizeof image_tmp, "%s/image.qcow2.tmp", dir);
    write_file(trust, fuzz_bundle_public_pem, strlen(fuzz_bundle_public_pem));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *meta_json = NULL;

    if (!dir[0])
        setup();
    if (size == 0)
        return 0;
    if (data[0] & 1)
        write_zstd(bundle, data + 1, size - 1);
    else
        write_file(bundle, data + 1, size - 1);

    if (bundle_import(bundle, trust, image, &meta_json) == 0) {
        struct template_meta meta;
        FUZZ_CHECK(meta_json != NULL);
        FUZZ_CHECK(template_meta_from_json(meta_json, &meta) == 0);
        template_meta_release(&meta);
        FUZZ_CHECK(access(image, F_OK) == 0);
        unlink(image);
    } else {
        /* Refused: one message, nothing left behind. */
        FUZZ_CHECK(meta_json == NULL && error_message() != NULL);
        FUZZ_CHECK(access(image, F_OK) != 0 && access(image_tmp, F_OK) != 0);
    }
    FUZZ_CHECK(access(image_tmp, F_OK) != 0);
    free(meta_json);
    fuzz_done();
    return 0;
}
