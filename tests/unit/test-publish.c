/* Unit tests: publish.c, the virt-builder index text (compared with the
 * golden file tests/data/publish/index.golden), what it refuses, the
 * streaming sha512, and a small repository written for real (xz only). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/digest.h"
#include "base/error.h"
#include "base/fileio.h"
#include "pure/meta.h"
#include "adapters/publish.h"
#include "pure/util.h"

static const char *data_dir;

#define SUM_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
              "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SUM_B "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" \
              "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define SHA512_ABC "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a" \
                   "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"

static char *ops_rocky[] = { "machine-id", "ssh-hostkeys", "logfiles", NULL };

/* Two templates, deliberately not in name order: an LVM Rocky with every
 * field set, and a Debian with the optional ones left out. */
static void fake_metas(struct template_meta m[2])
{
    memset(m, 0, 2 * sizeof *m);
    m[0].name = "rocky9-web";
    m[0].os = "rocky9";
    m[0].distro = "rocky";
    m[0].product = "Rocky Linux 9.3 (Blue Onyx)";
    m[0].arch = "x86_64";
    m[0].expand = "/dev/sda2";
    m[0].expand_lv = "/dev/rl/root";
    m[0].format = "qcow2";
    m[0].virtual_size = 10737418240ULL;
    m[0].operations = ops_rocky;
    m[0].source = "/var/lib/libvirt/images/rocky9.qcow2";
    m[1].name = "debian12";
    m[1].os = "debian12";
    m[1].format = "qcow2";
    m[1].virtual_size = 1073741824ULL;
    m[1].source = "debian12-base";
}

static void test_index_golden(void **state)
{
    struct template_meta m[2];
    const uint64_t sizes[2] = { 512345678, 21474836 };
    const char *const sums[2] = { SUM_A, SUM_B };
    char path[4096], *text, *golden;

    (void)state;
    fake_metas(m);
    text = publish_index_text(m, sizes, sums, 2);
    assert_non_null(text);
    snprintf(path, sizeof path, "%s/publish/index.golden", data_dir);
    golden = read_file(path, NULL);
    assert_non_null(golden);
    assert_string_equal(text, golden);
    free(golden);
    free(text);

    /* No templates: an empty index. */
    text = publish_index_text(m, sizes, sums, 0);
    assert_string_equal(text, "");
    free(text);
}

/* A value that spans lines goes on as continuation lines, each starting
 * with one space (an empty line becomes a lone space). */
static void test_notes_continuation(void **state)
{
    struct template_meta m[2];
    const uint64_t size = 1;
    const char *const sums[1] = { SUM_B };
    char *text;

    (void)state;
    fake_metas(m);
    m[0].source = "line one\n\nline three";
    text = publish_index_text(m, &size, sums, 1);
    assert_non_null(text);
    assert_non_null(strstr(text, "\nnotes=Made by vmstamp from line one\n \n line three, "
                                 "sysprep: machine-id,ssh-hostkeys,logfiles\n"));
    assert_null(strstr(text, "\n\n"));
    free(text);
}

static void expect_refused(struct template_meta *m, size_t n, const char *const *sums,
                           const char *what)
{
    const uint64_t sizes[2] = { 1, 1 };

    assert_null(publish_index_text(m, sizes, sums, n));
    assert_non_null(error_message());
    assert_non_null(strstr(error_message(), what));
    error_clear();
}

static void test_refused(void **state)
{
    struct template_meta m[2];
    const char *const sums[2] = { SUM_A, SUM_B };
    const char *const bad_sums[2] = { SUM_A, "abc" };

    (void)state;
    fake_metas(m);
    m[1].name = "deb/12";
    expect_refused(m, 2, sums, "'deb/12'");
    m[1].name = "deb 12";
    expect_refused(m, 2, sums, "'deb 12'");
    m[1].name = "..";
    expect_refused(m, 2, sums, "'..'");
    m[1].name = "rocky9-web";
    expect_refused(m, 2, sums, "twice");
    fake_metas(m);
    m[0].product = "Rocky\nLinux";
    expect_refused(m, 2, sums, "product has a line break");
    fake_metas(m);
    m[1].expand = "/dev/sda1\r";
    expect_refused(m, 2, sums, "expand has a line break");
    fake_metas(m);
    m[1].virtual_size = 0;
    expect_refused(m, 2, sums, "virtual size");
    fake_metas(m);
    expect_refused(m, 2, bad_sums, "128 lowercase hex");
}

static void test_sha512_file(void **state)
{
    char dir[] = "/tmp/test-publish-XXXXXX", path[4096], sum[129];
    uint64_t size = 0;
    FILE *fp;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/abc", dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("abc", fp);
    fclose(fp);
    assert_int_equal(sha512_file(path, sum, &size), 0);
    assert_string_equal(sum, SHA512_ABC);
    assert_int_equal(size, 3);
    unlink(path);
    assert_int_equal(sha512_file(path, sum, NULL), -1);
    assert_non_null(strstr(error_message(), "cannot open"));
    error_clear();
    rmdir(dir);
}

/* Publish two small files (xz does not care that they are not images) into
 * a fresh directory, then again (an update), and check the result. */
static void test_repository(void **state)
{
    char tmp[] = "/tmp/test-publish-XXXXXX", repo[4096], img[2][4096], path[4096 + 64];
    struct template_meta m[2];
    const char *images[2];
    char *index, sum[129];
    uint64_t size;
    struct stat st;

    (void)state;
    quiet = 1;
    assert_non_null(mkdtemp(tmp));
    snprintf(repo, sizeof repo, "%s/repo", tmp);
    for (int i = 0; i < 2; i++) {
        FILE *fp;
        snprintf(img[i], sizeof img[i], "%s/img%d", tmp, i);
        fp = fopen(img[i], "w");
        assert_non_null(fp);
        for (int k = 0; k < 10000; k++)
            fprintf(fp, "image %d line %d\n", i, k);
        fclose(fp);
        chmod(img[i], 0600);
        images[i] = img[i];
    }
    fake_metas(m);

    for (int round = 0; round < 2; round++) {
        assert_int_equal(publish_repository(repo, m, images, 2), 0);
        assert_null(error_message());
        snprintf(path, sizeof path, "%s/index", repo);
        index = read_file(path, NULL);
        assert_non_null(index);
        assert_int_equal(strncmp(index, "[debian12]\n", 11), 0);
        snprintf(path, sizeof path, "%s/rocky9-web.qcow2.xz", repo);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0644);
        assert_int_equal(sha512_file(path, sum, &size), 0);
        assert_non_null(strstr(index, sum));
        snprintf(path, sizeof path, "compressed_size=%llu\n", (unsigned long long)size);
        assert_non_null(strstr(index, path));
        free(index);
        /* The sources are untouched; no temporary is left. */
        assert_int_equal(stat(img[0], &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        snprintf(path, sizeof path, "%s/index.tmp", repo);
        assert_int_equal(access(path, F_OK), -1);
    }

    /* A missing image fails with its name, and leaves nothing behind. */
    images[1] = "/nonexistent/image.qcow2";
    m[1].name = "broken";
    assert_int_equal(publish_repository(repo, m, images, 2), -1);
    assert_non_null(strstr(error_message(), "/nonexistent/image.qcow2"));
    error_clear();
    snprintf(path, sizeof path, "%s/broken.qcow2.xz", repo);
    assert_int_equal(access(path, F_OK), -1);

    /* Only what we expect is in the repository. */
    snprintf(path, sizeof path, "%s/index", repo);
    assert_int_equal(unlink(path), 0);
    snprintf(path, sizeof path, "%s/debian12.qcow2.xz", repo);
    assert_int_equal(unlink(path), 0);
    snprintf(path, sizeof path, "%s/rocky9-web.qcow2.xz", repo);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rmdir(repo), 0); /* fails if anything else is left */
    unlink(img[0]);
    unlink(img[1]);
    assert_int_equal(rmdir(tmp), 0);
    quiet = 0;
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_golden), cmocka_unit_test(test_notes_continuation),
        cmocka_unit_test(test_refused),      cmocka_unit_test(test_sha512_file),
        cmocka_unit_test(test_repository),
    };
    data_dir = argc > 1 ? argv[1] : "tests/data";
    return cmocka_run_group_tests(tests, NULL, NULL);
}
