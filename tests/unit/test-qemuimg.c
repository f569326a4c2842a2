/* Unit tests: qemuimg.c JSON parsing and the argv it runs (dry run,
 * compared with golden files in tests/data/argv). */
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
    assert_string_equal(error_message(), "sh failed (exit 3): the last line");
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

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_info), cmocka_unit_test(test_safe_path),
        cmocka_unit_test(test_argv_golden), cmocka_unit_test(test_run_errors),
    };
    data_dir = argc > 1 ? argv[1] : "tests/data";
    return cmocka_run_group_tests(tests, NULL, NULL);
}
