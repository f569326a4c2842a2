/* Unit tests: qemuimg.c JSON parsing and the argv it runs (dry run,
 * compared with golden files in tests/data/argv), command.c's error
 * messages and dry-run callback, qemu-img check, qcow2 backing names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "adapters/command.h"
#include "base/error.h"
#include "base/fileio.h"
#include "adapters/qemuimg.h"
#include "pure/util.h"

static const char *data_dir;

static void test_parse_info(void **state)
{
    struct image_info info;

    (void)state;
    assert_int_equal(qemuimg_parse_info("{\"virtual-size\": 1073741824, \"filename\": \"a.qcow2\","
                                        " \"format\": \"qcow2\", \"actual-size\": 200704,"
                                        " \"backing-filename\": \"/var/tmp/t.qcow2\"}", &info), 0);
    assert_string_equal(info.format, "qcow2");
    assert_int_equal(info.virtual_size, 1073741824);
    assert_int_equal(info.actual_size, 200704);
    assert_string_equal(info.backing, "/var/tmp/t.qcow2");
    image_info_release(&info);
    assert_int_equal(qemuimg_parse_info("not json", &info), -1);
    assert_int_equal(qemuimg_parse_info("{\"format\": \"raw\"}", &info), -1);
}

static void test_safe_path(void **state)
{
    char *s;

    (void)state;
    s = qemuimg_safe_path("json:{}");
    assert_string_equal(s, "./json:{}");
    free(s);
    s = qemuimg_safe_path("/abs/x.qcow2");
    assert_string_equal(s, "/abs/x.qcow2");
    free(s);
}

static void test_argv_golden(void **state)
{
    char *buf = NULL, *golden, path[4096];
    size_t len = 0;
    FILE *sink = open_memstream(&buf, &len);

    (void)state;
    command_set_dry_run(sink);
    assert_int_equal(qemuimg_create_overlay("/pool/web01.qcow2", "tpl,1.qcow2", "raw", 2ULL << 30), 0);
    assert_int_equal(qemuimg_create_overlay("/pool/web02.qcow2", "/var/tmp/tpl.qcow2", "qcow2", 0), 0);
    assert_int_equal(qemuimg_convert("/var/tmp/tpl.qcow2", "qcow2", "/pool/full 1.qcow2"), 0);
    assert_int_equal(qemuimg_resize("/pool/full 1.qcow2", "qcow2", 20ULL << 30), 0);
    /* a full clone into an LVM logical volume: raw over the existing device */
    assert_int_equal(qemuimg_write_raw("tpl.qcow2", "qcow2", "/dev/vg0/web01"), 0);
    /* compressed: probes qemu-img once for zstd (a dry run answers "no") */
    assert_int_equal(qemuimg_convert_compressed("/w/overlay.qcow2", "qcow2", "/store/.t.tmp"), 0);
    command_set_dry_run(NULL);
    fclose(sink);
    snprintf(path, sizeof path, "%s/argv/qemuimg.argv", data_dir);
    golden = read_file(path, NULL);
    assert_non_null(golden);
    assert_string_equal(buf, golden);
    free(golden);
    free(buf);
}

static void test_run_errors(void **state)
{
    struct command *cmd;
    char *out = NULL;

    (void)state;
    cmd = command_new("sh");
    command_add(cmd, "-c");
    command_add(cmd, "echo out; echo first >&2; echo 'the last line' >&2; exit 3");
    assert_int_equal(command_run(cmd, &out), -1);
    assert_string_equal(out, "out\n");
    assert_int_equal(command_exit_status(cmd), 3);
    assert_string_equal(error_message(), "sh failed (exit 3): first; the last line");
    error_clear();
    free(out);
    command_free(cmd);

    cmd = command_new("sleep");
    command_add(cmd, "5");
    command_set_timeout(cmd, 1);
    assert_int_equal(command_run(cmd, NULL), -1);
    assert_true(command_timed_out(cmd));
    error_clear();
    command_free(cmd);

    cmd = command_new("/nonexistent/program");
    assert_int_equal(command_run(cmd, NULL), -1);
    assert_non_null(strstr(error_message(), "cannot run"));
    error_clear();
    command_free(cmd);
}

static void test_stderr_summary(void **state)
{
    char *s, big[3000];

    (void)state;
    s = command_stderr_summary("  first \n\n\tsecond\r\n   \nthird", COMMAND_STDERR_MAX);
    assert_string_equal(s, "first; second; third");
    free(s);
    s = command_stderr_summary(NULL, COMMAND_STDERR_MAX);
    assert_string_equal(s, "");
    free(s);
    s = command_stderr_summary("\n \n", COMMAND_STDERR_MAX);
    assert_string_equal(s, "");
    free(s);
    for (size_t i = 0; i < sizeof big - 1; i++)
        big[i] = i % 50 == 49 ? '\n' : 'x';
    big[sizeof big - 1] = '\0';
    s = command_stderr_summary(big, COMMAND_STDERR_MAX);
    assert_int_equal(strlen(s), COMMAND_STDERR_MAX);
    assert_string_equal(s + COMMAND_STDERR_MAX - 3, "...");
    assert_null(strchr(s, '\n'));
    free(s);
    /* Never cut inside a UTF-8 sequence. */
    s = command_stderr_summary("ab\xc3\xa9xyz", 6);
    assert_string_equal(s, "ab...");
    free(s);
}

/* Canned answers for the dry-run callback: the argv word after "qemu-img"
 * picks the answer. */
struct canned {
    const char *verb;   /* "info", "check" */
    int status;
    const char *out, *err;
    char seen[512];     /* the argv of the last call, space-separated */
    int calls;
};

static int answer(const char *const *argv, char **out, char **err, void *opaque)
{
    struct canned *c = opaque;
    size_t n = 0;

    c->calls++;
    c->seen[0] = '\0';
    for (size_t i = 0; argv[i]; i++)
        n += (size_t)snprintf(c->seen + n, sizeof c->seen - n, "%s%s", i ? " " : "", argv[i]);
    if (!argv[1] || strcmp(argv[1], c->verb) != 0)
        return 127;
    *out = c->out ? strdup(c->out) : NULL;
    *err = c->err ? strdup(c->err) : NULL;
    return c->status;
}

static void test_dry_run_info(void **state)
{
    struct canned c = { .verb = "info", .status = 0,
                        .out = "{\"virtual-size\": 21474836480, \"filename\": \"web.qcow2\", \"format\": \"qcow2\","
                               " \"actual-size\": 196608, \"cluster-size\": 65536}" };
    struct image_info info;

    (void)state;
    command_set_dry_run_callback(answer, &c);
    assert_int_equal(qemuimg_info("web.qcow2", &info), 0);
    assert_int_equal(c.calls, 1);
    assert_string_equal(c.seen, "qemu-img info --output=json ./web.qcow2");
    assert_string_equal(info.format, "qcow2");
    assert_int_equal(info.virtual_size, 20ULL << 30);
    assert_int_equal(info.actual_size, 196608);
    assert_null(info.backing);
    image_info_release(&info);

    /* Any small file is "raw" to qemu-img: not a disk image, for the caller to say so. */
    c.out = "{\"virtual-size\": 4096, \"filename\": \"/x/notes.txt\", \"format\": \"raw\"}";
    assert_int_equal(qemuimg_info("/x/notes.txt", &info), QEMUIMG_NOT_IMAGE);
    assert_string_equal(error_message(), "'/x/notes.txt' is not a disk image (raw and under 1 MiB): give a qcow2 or raw disk");
    error_clear();

    /* An overlay whose backing file is gone (qemu-img info does not open it). */
    c.out = "{\"virtual-size\": 1073741824, \"filename\": \"/pool/web.qcow2\", \"format\": \"qcow2\","
            " \"backing-filename\": \"tpl.qcow2\", \"full-backing-filename\": \"/nonexistent/tpl.qcow2\"}";
    assert_int_equal(qemuimg_info("/pool/web.qcow2", &info), QEMUIMG_NAMED);
    assert_string_equal(error_message(), "image '/pool/web.qcow2' needs its backing file '/nonexistent/tpl.qcow2', "
                                         "which is missing: restore it or give another template");
    error_clear();
    assert_null(info.format); /* released */

    /* A backing file given as a protocol is not a file to look for. */
    c.out = "{\"virtual-size\": 1073741824, \"format\": \"qcow2\", \"backing-filename\": \"nbd://host/export\"}";
    assert_int_equal(qemuimg_info("/pool/web.qcow2", &info), 0);
    assert_string_equal(info.backing, "nbd://host/export");
    image_info_release(&info);
    command_set_dry_run_callback(NULL, NULL);
}

static void test_dry_run_failure(void **state)
{
    struct canned c = { .verb = "info", .status = 1,
                        .err = "qemu-img: Could not open 'x.qcow2': Could not open 'x.qcow2': Permission denied\n"
                               "extra detail\n" };
    struct image_info info;
    struct command *cmd;
    char *out = NULL;

    (void)state;
    command_set_dry_run_callback(answer, &c);
    /* The runner: exit status and all of stderr, on one line. */
    cmd = command_new("qemu-img");
    command_add(cmd, "info");
    assert_int_equal(command_run(cmd, &out), -1);
    assert_string_equal(out, "");
    assert_int_equal(command_exit_status(cmd), 1);
    assert_string_equal(error_message(), "qemu-img failed (exit 1): qemu-img: Could not open 'x.qcow2': "
                                         "Could not open 'x.qcow2': Permission denied; extra detail");
    error_clear();
    free(out);
    command_free(cmd);

    /* qemuimg_info keeps qemu-img's reason. */
    assert_int_equal(qemuimg_info("/nonexistent/x.qcow2", &info), QEMUIMG_NAMED);
    assert_non_null(strstr(error_message(), "cannot read disk image '/nonexistent/x.qcow2' (qemu-img: Could not open"));
    assert_non_null(strstr(error_message(), "Permission denied; extra detail"));
    error_clear();
    command_set_dry_run_callback(NULL, NULL);
}

/* A convert that runs out of space is told apart (callers name the pool);
 * other failures are not. */
static void test_dry_run_out_of_space(void **state)
{
    struct canned c = { .verb = "convert", .status = 1,
                        .err = "qemu-img: error while writing at byte 179306496: No space left on device\n" };

    (void)state;
    command_set_dry_run_callback(answer, &c);
    assert_int_equal(qemuimg_convert("/t/tpl.qcow2", "qcow2", "/p/.c1.qcow2.vmstamp-tmp"), -1);
    assert_int_equal(qemuimg_out_of_space(), 1);
    error_clear();
    assert_int_equal(qemuimg_out_of_space(), 0);
    c.err = "qemu-img: Could not open '/t/tpl.qcow2': Permission denied\n";
    assert_int_equal(qemuimg_convert("/t/tpl.qcow2", "qcow2", "/s/.t.qcow2.vmstamp-tmp"), -1);
    assert_int_equal(qemuimg_out_of_space(), 0);
    error_clear();
    /* Not qemu-img's words: another step's error is not its to name. */
    error("cannot write '/x': No space left on device");
    assert_int_equal(qemuimg_out_of_space(), 0);
    error_clear();
    command_set_dry_run_callback(NULL, NULL);
}

static void test_dry_run_check(void **state)
{
    struct canned c = { .verb = "check", .status = 2,
                        .out = "{\"image-end-offset\": 10485760, \"total-clusters\": 16384, \"corruptions\": 581,"
                               " \"leaks\": 7, \"check-errors\": 0, \"format\": \"qcow2\"}",
                        .err = "ERROR cluster 5 refcount=0 reference=1\n" };

    (void)state;
    command_set_dry_run_callback(answer, &c);
    assert_int_equal(qemuimg_check("/var/tmp/t.qcow2", "qcow2"), -1);
    assert_string_equal(c.seen, "qemu-img check -U -f qcow2 --output=json /var/tmp/t.qcow2");
    assert_string_equal(error_message(), "template '/var/tmp/t.qcow2' is damaged: qemu-img check found 588 errors "
                                         "(581 corruptions, 7 leaked clusters): re-create or re-import it");
    error_clear();

    /* Leaked clusters only (exit 3): harmless. */
    c.status = 3;
    c.out = "{\"corruptions\": 0, \"leaks\": 12, \"check-errors\": 0}";
    assert_int_equal(qemuimg_check("/var/tmp/t.qcow2", "qcow2"), 0);
    assert_null(error_message());

    /* The check could not run at all (exit 1, no result). */
    c.status = 1;
    c.out = NULL;
    c.err = "qemu-img: Could not open '/var/tmp/t.qcow2': Image is not in qcow2 format\n";
    assert_int_equal(qemuimg_check("/var/tmp/t.qcow2", "qcow2"), -1);
    assert_string_equal(error_message(), "template '/var/tmp/t.qcow2' cannot be checked: qemu-img: Could not open "
                                         "'/var/tmp/t.qcow2': Image is not in qcow2 format");
    error_clear();

    /* raw: nothing to run. */
    c.calls = 0;
    assert_int_equal(qemuimg_check("/var/tmp/t.img", "raw"), 0);
    assert_int_equal(c.calls, 0);
    command_set_dry_run_callback(NULL, NULL);

    /* The pure part. */
    assert_null(qemuimg_check_problem("{\"corruptions\": 0, \"leaks\": 3}"));
    assert_null(qemuimg_check_problem("not json"));
    assert_null(qemuimg_check_problem(NULL));
    char *p = qemuimg_check_problem("{\"corruptions\": 1, \"check-errors\": 2}");
    assert_string_equal(p, "qemu-img check found 3 errors (1 corruption, 2 check errors)");
    free(p);
}

static void test_qcow2_header(void **state)
{
    unsigned char h[QCOW2_HEADER_MIN] = { 'Q', 'F', 'I', 0xfb, 0, 0, 0, 3,
                                          0, 0, 0, 0, 0, 0, 0x01, 0x20, /* offset 0x120 */
                                          0, 0, 0, 42 };                 /* 42 bytes */
    uint64_t off = 1;
    uint32_t sz = 1;

    (void)state;
    assert_int_equal(qcow2_backing_location(h, sizeof h, &off, &sz), 0);
    assert_int_equal(off, 0x120);
    assert_int_equal(sz, 42);
    assert_int_equal(qcow2_backing_location(h, sizeof h - 1, &off, &sz), -1); /* short */
    h[17] = 0x04; /* 1024 + 42 bytes: over the specification's limit */
    assert_int_equal(qcow2_backing_location(h, sizeof h, &off, &sz), -1);
    memset(h + 8, 0, 12); /* no backing file */
    assert_int_equal(qcow2_backing_location(h, sizeof h, &off, &sz), 0);
    assert_int_equal(off, 0);
    assert_int_equal(sz, 0);
    h[0] = 'X';
    assert_int_equal(qcow2_backing_location(h, sizeof h, &off, &sz), -1);
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

/* Real images made by qemu-img in a temporary directory. */
static void test_real_images(void **state)
{
    char dir[] = "/tmp/test-qemuimg-XXXXXX", base[4200], ovl[4200], moved[4200], bad[4200];
    struct image_info info;
    char *name = NULL;

    (void)state;
    if (sh("qemu-img --version >/dev/null 2>&1") != 0)
        skip();
    assert_non_null(mkdtemp(dir));
    snprintf(base, sizeof base, "%s/base.qcow2", dir);
    snprintf(ovl, sizeof ovl, "%s/web01.qcow2", dir);
    snprintf(moved, sizeof moved, "%s/base.moved", dir);
    snprintf(bad, sizeof bad, "%s/truncated.qcow2", dir);
    assert_int_equal(sh("qemu-img create -q -f qcow2 '%s' 64M", base), 0);
    /* A relative backing name, as linked clones in one directory may have. */
    assert_int_equal(sh("cd '%s' && qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 web01.qcow2", dir), 0);

    assert_int_equal(qcow2_read_backing(ovl, &name), 0);
    assert_string_equal(name, "base.qcow2");
    free(name);
    assert_int_equal(qcow2_read_backing(base, &name), 0);
    assert_null(name);
    assert_int_equal(qemuimg_info(ovl, &info), 0);
    assert_string_equal(info.backing, "base.qcow2");
    image_info_release(&info);
    assert_int_equal(qemuimg_check(ovl, "qcow2"), 0);
    assert_int_equal(qemuimg_check(base, "qcow2"), 0);

    /* The backing file gone: named, with its full path. */
    assert_int_equal(rename(base, moved), 0);
    assert_int_equal(qemuimg_info(ovl, &info), QEMUIMG_NAMED);
    assert_non_null(strstr(error_message(), "needs its backing file '"));
    assert_non_null(strstr(error_message(), "/base.qcow2', which is missing"));
    assert_non_null(strstr(error_message(), ovl));
    error_clear();
    assert_int_equal(rename(moved, base), 0);

    /* A truncated copy: its metadata points past its end. */
    assert_int_equal(sh("qemu-img create -q -f qcow2 -o preallocation=metadata '%s' 64M && truncate -s 256K '%s'",
                        bad, bad), 0);
    assert_int_equal(qemuimg_info(bad, &info), 0);
    image_info_release(&info);
    assert_int_equal(qemuimg_check(bad, "qcow2"), -1);
    assert_non_null(strstr(error_message(), "is damaged: qemu-img check found 1 error (1 corruption)"));
    assert_non_null(strstr(error_message(), bad));
    error_clear();

    /* Not a qcow2 at all. */
    assert_int_equal(qcow2_read_backing("/etc/hostname", &name), -1);
    assert_non_null(strstr(error_message(), "no valid qcow2 header"));
    error_clear();
    assert_int_equal(sh("rm -rf '%s'", dir), 0);
}

/* The ranges an overlay holds itself: depth 0 only, near ones joined. */
static void test_map_own(void **state)
{
    (void)state;
    struct extent *e;
    size_t n;
    const char *json = "[{\"start\": 0, \"length\": 65536, \"depth\": 0, \"present\": true, \"zero\": false, \"data\": true},"
                       " {\"start\": 65536, \"length\": 131072, \"depth\": 1, \"present\": true, \"zero\": false, \"data\": true},"
                       " {\"start\": 196608, \"length\": 65536, \"depth\": 0, \"present\": true, \"zero\": true, \"data\": false},"
                       " {\"start\": 1048576, \"length\": 65536, \"depth\": 0, \"present\": true, \"zero\": false, \"data\": true},"
                       " {\"start\": 2097152, \"length\": 65536, \"depth\": 1, \"present\": false, \"zero\": true, \"data\": false}]";

    assert_int_equal(qemuimg_parse_map_own(json, 0, &e, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(e[0].start, 0);
    assert_int_equal(e[0].length, 65536);
    assert_int_equal(e[1].start, 196608); /* a zero cluster of its own counts */
    assert_int_equal(e[2].start, 1048576);
    free(e);
    /* A gap of 128 KiB joined, one of 832 KiB not. */
    assert_int_equal(qemuimg_parse_map_own(json, 131072, &e, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(e[0].start, 0);
    assert_int_equal(e[0].length, 262144);
    free(e);
    assert_int_equal(qemuimg_parse_map_own("{}", 0, &e, &n), -1);
    assert_int_equal(qemuimg_parse_map_own("[]", 0, &e, &n), 0);
    assert_int_equal(n, 0);
    free(e);

    /* A real overlay written at 64 KiB and 3 MiB. */
    char dir[] = "/tmp/vmstamp-map-XXXXXX", base[256], top[256];
    assert_non_null(mkdtemp(dir));
    snprintf(base, sizeof base, "%s/base.qcow2", dir);
    snprintf(top, sizeof top, "%s/top.qcow2", dir);
    assert_int_equal(sh("qemu-img create -q -f qcow2 '%s' 4M && qemu-io -f qcow2 -c 'write -P 1 0 4M' '%s' >/dev/null"
                        " && qemu-img create -q -f qcow2 -b '%s' -F qcow2 '%s'"
                        " && qemu-io -f qcow2 -c 'write -P 2 64k 4k' -c 'write -P 3 3M 64k' '%s' >/dev/null",
                        base, base, base, top, top), 0);
    assert_int_equal(qemuimg_map_own(top, 0, &e, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(e[0].start, 65536);
    assert_int_equal(e[0].length, 65536);
    assert_int_equal(e[1].start, 3 * 1048576);
    free(e);
    assert_int_equal(qemuimg_map_own(base, 0, &e, &n), 0);
    assert_int_equal(n, 1); /* no backing file: all of it is its own */
    assert_int_equal(e[0].length, 4 * 1048576);
    free(e);
    assert_int_equal(sh("rm -rf '%s'", dir), 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_info), cmocka_unit_test(test_safe_path),
        cmocka_unit_test(test_argv_golden), cmocka_unit_test(test_run_errors),
        cmocka_unit_test(test_stderr_summary), cmocka_unit_test(test_dry_run_info),
        cmocka_unit_test(test_dry_run_failure), cmocka_unit_test(test_dry_run_out_of_space),
        cmocka_unit_test(test_dry_run_check),
        cmocka_unit_test(test_qcow2_header), cmocka_unit_test(test_real_images),
        cmocka_unit_test(test_map_own),
    };
    data_dir = argc > 1 ? argv[1] : "tests/data";
    return cmocka_run_group_tests(tests, NULL, NULL);
}
