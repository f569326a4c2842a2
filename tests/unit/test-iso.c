/* Unit tests: iso.c (.treeinfo parsing, a tiny ISO made with xorriso when
 * it is installed) and inject.c (the appended cpio, read back). */
#include <archive.h>
#include <archive_entry.h>
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

#include "base/cleanup.h"
#include "adapters/command.h"
#include "base/error.h"
#include "base/fileio.h"
#include "adapters/inject.h"
#include "adapters/iso.h"
#include "pure/util.h"

/* ---- .treeinfo ---- */

struct treeinfo_case {
    const char *name;
    const char *text;
    const char *kernel, *initrd; /* NULL: none found */
};

static const struct treeinfo_case treeinfo_cases[] = {
    { "RHEL 9",
      "[header]\ntype = productmd.treeinfo\nversion = 1.2\n\n[general]\narch = x86_64\n\n"
      "[images-x86_64]\nefiboot.img = images/efiboot.img\ninitrd = images/pxeboot/initrd.img\n"
      "kernel = images/pxeboot/vmlinuz\n\n[stage2]\nmainimage = images/install.img\n",
      "images/pxeboot/vmlinuz", "images/pxeboot/initrd.img" },
    { "arch after images, aarch64 wins",
      "[images-x86_64]\nkernel=x/vmlinuz\ninitrd=x/initrd\n[images-aarch64]\nkernel=a/vmlinuz\ninitrd=a/initrd\n"
      "[general]\narch=aarch64\n",
      "a/vmlinuz", "a/initrd" },
    { "unknown arch falls back to x86_64",
      "[general]\narch = ppc64le\n[images-x86_64]\nkernel = k\ninitrd = i\n", "k", "i" },
    { "no arch: x86_64", "[images-x86_64]\r\nkernel = /images/k  \r\ninitrd=./images/i\r\n", "images/k", "images/i" },
    { "comments and blanks", "# c\n; c\n\n[images-x86_64]\n# kernel = no\nkernel = k\n\ninitrd = i\n", "k", "i" },
    { "kernel only", "[images-x86_64]\nkernel = k\n", NULL, NULL },
    { "keys outside a section", "kernel = k\ninitrd = i\n", NULL, NULL },
    { "other section", "[stage2]\nkernel = k\ninitrd = i\n", NULL, NULL },
    { "empty values", "[images-x86_64]\nkernel =\ninitrd =\n", NULL, NULL },
    { "empty file", "", NULL, NULL },
    { "unterminated section header", "[images-x86_64\nkernel = k\ninitrd = i\n", NULL, NULL },
};

static void test_treeinfo(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof treeinfo_cases / sizeof *treeinfo_cases; i++) {
        const struct treeinfo_case *c = &treeinfo_cases[i];
        char *k = NULL, *in = NULL;
        int r = iso_treeinfo_parse(c->text, &k, &in);
        if (c->kernel) {
            if (r != 0)
                fail_msg("%s: not parsed", c->name);
            assert_string_equal(k, c->kernel);
            assert_string_equal(in, c->initrd);
        } else {
            if (r != -1)
                fail_msg("%s: found %s %s", c->name, k, in);
            assert_null(k);
            assert_null(in);
        }
        free(k);
        free(in);
    }
}

/* ---- kernel and initrd from a listing ---- */

static void test_find_boot(void **state)
{
    static char *const rocky[] = { ".treeinfo", "EFI/BOOT/grub.cfg", "images/install.img",
                                   "images/pxeboot/initrd.img", "images/pxeboot/vmlinuz", "isolinux/initrd.img",
                                   "isolinux/vmlinuz", NULL };
    static char *const centos7[] = { "isolinux/vmlinuz", "isolinux/initrd.img", "LiveOS/squashfs.img", NULL };
    static char *const debian[] = { "install.amd/gtk/vmlinuz", "install.amd/gtk/initrd.gz", "install.amd/initrd.gz",
                                    "install.amd/vmlinuz", NULL };
    static char *const upper[] = { "ISOLINUX/VMLINUZ", "ISOLINUX/INITRD.IMG", NULL };
    static char *const none[] = { "README", NULL };
    const char *treeinfo = "[general]\narch = x86_64\n[images-x86_64]\nkernel = images/pxeboot/vmlinuz\n"
                           "initrd = images/pxeboot/initrd.img\n";
    const char *k, *i;

    (void)state;
    /* .treeinfo first, then the known layouts in order. */
    assert_int_equal(iso_find_boot("r.iso", rocky, treeinfo, NULL, NULL, &k, &i), 0);
    assert_ptr_equal(k, rocky[4]);
    assert_ptr_equal(i, rocky[3]);
    assert_int_equal(iso_find_boot("r.iso", rocky, NULL, NULL, NULL, &k, &i), 0);
    assert_string_equal(k, "images/pxeboot/vmlinuz");
    assert_int_equal(iso_find_boot("c.iso", centos7, "[general]\n", NULL, NULL, &k, &i), 0);
    assert_string_equal(k, "isolinux/vmlinuz");
    assert_string_equal(i, "isolinux/initrd.img");
    assert_int_equal(iso_find_boot("d.iso", debian, NULL, NULL, NULL, &k, &i), 0);
    assert_string_equal(k, "install.amd/vmlinuz");
    assert_string_equal(i, "install.amd/initrd.gz");
    /* A .treeinfo pair that is not there: the layouts; names without case. */
    assert_int_equal(iso_find_boot("u.iso", upper, treeinfo, NULL, NULL, &k, &i), 0);
    assert_string_equal(k, "ISOLINUX/VMLINUZ");
    /* Given paths, relative or not. */
    assert_int_equal(iso_find_boot("d.iso", debian, NULL, "/install.amd/gtk/vmlinuz", "./install.amd/gtk/initrd.gz",
                                   &k, &i), 0);
    assert_ptr_equal(k, debian[0]);
    assert_ptr_equal(i, debian[1]);
    error_clear();
    assert_int_equal(iso_find_boot("d.iso", debian, NULL, "install.amd/vmlinuz", "install.amd/nope", &k, &i), -1);
    assert_string_equal(error_message(), "ISO 'd.iso' has no initrd 'install.amd/nope': list it with "
                                         "'xorriso -indev d.iso -find / -type f'");
    error_clear();
    assert_int_equal(iso_find_boot("n.iso", none, NULL, NULL, NULL, &k, &i), -1);
    assert_non_null(strstr(error_message(), "no kernel and initrd found in ISO 'n.iso' (tried .treeinfo (absent), "
                                            "images/pxeboot/vmlinuz + images/pxeboot/initrd.img, "));
    assert_null(k);
    assert_null(i);
    error_clear();
}

/* ---- inject ---- */

static char tmpdir[] = "/tmp/vmstamp-test-iso.XXXXXX";

static void write_file(const char *path, const char *data, size_t len)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    fclose(fp);
}

static void test_inject(void **state)
{
    (void)state;
    char src[256], dst[256];
    const char orig[] = "original initrd bytes \x1f\x8b not really gzip";
    const char *ks = "text\nzerombr\nclearpart --all\npoweroff\n";
    size_t len;
    struct stat st;

    snprintf(src, sizeof src, "%s/initrd", tmpdir);
    snprintf(dst, sizeof dst, "%s/initrd.ks", tmpdir);
    write_file(src, orig, sizeof orig);
    write_file(dst, "stale", 5); /* replaced */
    assert_int_equal(inject_file(src, dst, 0600, "ks.cfg", ks, strlen(ks)), 0);
    assert_int_equal(stat(dst, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);

    CLEANUP_FREE char *out = read_file(dst, &len);
    assert_non_null(out);
    assert_true(len > sizeof orig);
    assert_memory_equal(out, orig, sizeof orig); /* the original, unchanged */
    assert_int_equal((unsigned char)out[sizeof orig], 0x1f); /* then gzip */
    assert_int_equal((unsigned char)out[sizeof orig + 1], 0x8b);

    struct archive *a = archive_read_new();
    struct archive_entry *e;
    archive_read_support_filter_gzip(a);
    archive_read_support_format_cpio(a);
    assert_int_equal(archive_read_open_memory(a, out + sizeof orig, len - sizeof orig), ARCHIVE_OK);
    assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_OK);
    assert_int_equal(archive_format(a), ARCHIVE_FORMAT_CPIO_SVR4_NOCRC); /* newc */
    assert_string_equal(archive_entry_pathname(e), "ks.cfg");
    assert_int_equal(archive_entry_uid(e), 0);
    assert_int_equal(archive_entry_gid(e), 0);
    assert_int_equal(archive_entry_mode(e), 0100644);
    assert_int_equal(archive_entry_size(e), strlen(ks));
    char buf[256] = { 0 };
    assert_int_equal(archive_read_data(a, buf, sizeof buf), strlen(ks));
    assert_string_equal(buf, ks);
    assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_EOF);
    archive_read_free(a);
    unlink(src);
    unlink(dst);
}

static void test_inject_missing_src(void **state)
{
    (void)state;
    char dst[256];
    snprintf(dst, sizeof dst, "%s/x.ks", tmpdir);
    error_clear();
    assert_int_equal(inject_file("/nonexistent/initrd", dst, 0600, "ks.cfg", "x", 1), -1);
    assert_non_null(strstr(error_message(), "cannot open '/nonexistent/initrd'"));
    assert_int_not_equal(access(dst, F_OK), 0);
    error_clear();
}

/* ---- a tiny ISO (needs xorriso) ---- */

static int make_iso(const char *dir, const char *iso, const char *volid)
{
    struct command *cmd = command_new("xorriso");
    command_add(cmd, "-as");
    command_add(cmd, "mkisofs");
    command_add(cmd, "-quiet");
    command_add(cmd, "-R");
    command_add(cmd, "-J");
    command_add(cmd, "-V");
    command_add(cmd, volid);
    command_add(cmd, "-o");
    command_add(cmd, iso);
    command_add(cmd, dir);
    int r = command_run(cmd, NULL);
    command_free(cmd);
    return r;
}

static int have_xorriso(void)
{
    return access("/usr/bin/xorriso", X_OK) == 0 || access("/bin/xorriso", X_OK) == 0;
}

static void test_iso(void **state)
{
    (void)state;
    char root[256], path[512], iso[256], out[256];
    struct iso_boot b;

    if (!have_xorriso())
        skip();
    snprintf(root, sizeof root, "%s/tree", tmpdir);
    snprintf(iso, sizeof iso, "%s/t.iso", tmpdir);
    snprintf(out, sizeof out, "%s/out", tmpdir);
    assert_int_equal(mkdir_p(root, 0755), 0);
    assert_int_equal(mkdir_p(out, 0755), 0);

    /* Debian layout, no .treeinfo. */
    snprintf(path, sizeof path, "%s/install.amd", root);
    assert_int_equal(mkdir_p(path, 0755), 0);
    snprintf(path, sizeof path, "%s/install.amd/vmlinuz", root);
    write_file(path, "KERNEL", 6);
    snprintf(path, sizeof path, "%s/install.amd/initrd.gz", root);
    write_file(path, "INITRD!", 7);
    assert_int_equal(make_iso(root, iso, "Debian 12 amd64"), 0);

    assert_int_equal(iso_extract_boot(iso, NULL, NULL, out, &b), 0);
    assert_string_equal(b.volume_id, "Debian 12 amd64");
    assert_string_equal(b.kernel_path, "install.amd/vmlinuz");
    assert_string_equal(b.initrd_path, "install.amd/initrd.gz");
    assert_true(b.bytes_read > 0);
    {
        CLEANUP_FREE char *k = read_file(b.kernel, NULL);
        CLEANUP_FREE char *i = read_file(b.initrd, NULL);
        assert_string_equal(k, "KERNEL");
        assert_string_equal(i, "INITRD!");
    }
    iso_boot_release(&b);

    /* Explicit paths; one that is absent. */
    assert_int_equal(iso_extract_boot(iso, "/install.amd/initrd.gz", "install.amd/vmlinuz", out, &b), 0);
    assert_string_equal(b.kernel_path, "install.amd/initrd.gz");
    iso_boot_release(&b);
    error_clear();
    assert_int_equal(iso_extract_boot(iso, "boot/vmlinuz", "install.amd/initrd.gz", out, &b), -1);
    assert_non_null(strstr(error_message(), "has no kernel 'boot/vmlinuz'"));
    iso_boot_release(&b);
    error_clear();

    /* A .treeinfo pointing elsewhere wins over the known layout. */
    snprintf(path, sizeof path, "%s/.treeinfo", root);
    write_file(path, "[general]\narch = x86_64\n[images-x86_64]\nkernel = k/linux\ninitrd = k/initrd\n", 74);
    snprintf(path, sizeof path, "%s/k", root);
    assert_int_equal(mkdir_p(path, 0755), 0);
    snprintf(path, sizeof path, "%s/k/linux", root);
    write_file(path, "K2", 2);
    snprintf(path, sizeof path, "%s/k/initrd", root);
    write_file(path, "I2", 2);
    unlink(iso);
    assert_int_equal(make_iso(root, iso, "TREE"), 0);
    assert_int_equal(iso_extract_boot(iso, NULL, NULL, out, &b), 0);
    assert_string_equal(b.kernel_path, "k/linux");
    assert_string_equal(b.initrd_path, "k/initrd");
    iso_boot_release(&b);

    /* Nothing bootable: one line naming what was tried. */
    struct command *rm = command_new("rm");
    command_add(rm, "-rf");
    command_add(rm, root);
    assert_int_equal(command_run(rm, NULL), 0);
    command_free(rm);
    assert_int_equal(mkdir_p(root, 0755), 0);
    snprintf(path, sizeof path, "%s/README", root);
    write_file(path, "hello\n", 6);
    unlink(iso);
    assert_int_equal(make_iso(root, iso, "EMPTY"), 0);
    assert_int_equal(iso_extract_boot(iso, NULL, NULL, out, &b), -1);
    const char *m = error_message();
    assert_non_null(strstr(m, "no kernel and initrd found in ISO"));
    assert_non_null(strstr(m, "images/pxeboot/vmlinuz"));
    assert_non_null(strstr(m, "casper/vmlinuz"));
    assert_null(strchr(m, '\n'));
    iso_boot_release(&b);
    error_clear();

    /* Not an ISO at all. */
    assert_int_equal(iso_extract_boot(path, NULL, NULL, out, &b), -1);
    assert_non_null(strstr(error_message(), "is not an ISO 9660 image"));
    iso_boot_release(&b);
    error_clear();
}

static int teardown(void **state)
{
    (void)state;
    struct command *rm = command_new("rm");
    command_add(rm, "-rf");
    command_add(rm, tmpdir);
    command_run(rm, NULL);
    command_free(rm);
    return 0;
}

int main(void)
{
    if (!mkdtemp(tmpdir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_treeinfo),
        cmocka_unit_test(test_find_boot),
        cmocka_unit_test(test_inject),
        cmocka_unit_test(test_inject_missing_src),
        cmocka_unit_test(test_iso),
    };
    int r = cmocka_run_group_tests(tests, NULL, teardown);
    return r;
}
