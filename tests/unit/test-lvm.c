/* Unit tests: lvm.c's reading of lvs output, its LV name rules and the
 * argv of the LVM tools it runs (dry run, golden file tests/data/argv/lvm.argv). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "adapters/command.h"
#include "adapters/lvm.h"
#include "base/error.h"
#include "base/fileio.h"

static const char *data_dir;

static void test_parse_lvs(void **state)
{
    struct lv *lvs;
    size_t n;

    (void)state;
    /* lvs --noheadings --nosuffix --units b --separator '|' -o lv_name,lv_attr,lv_size,pool_lv */
    assert_int_equal(lvm_parse_lvs("  tpl|-ri-a-----|1073741824|\n"
                                   "  thin|twi-aotz--|209715200|\n"
                                   "  ttpl|Vwi-a-tz--|1073741824|thin\n"
                                   "  web01|swi-a-s---|1077936128|\n"
                                   "\n", &lvs, &n), 0);
    assert_int_equal(n, 4);
    assert_string_equal(lvs[0].name, "tpl");
    assert_string_equal(lvs[0].attr, "-ri-a-----");
    assert_string_equal(lvs[0].pool_lv, "");
    assert_int_equal(lvs[0].size, 1073741824);
    assert_string_equal(lvs[2].pool_lv, "thin");
    assert_ptr_equal(lvm_find(lvs, n, "web01"), &lvs[3]);
    assert_null(lvm_find(lvs, n, "web"));
    assert_ptr_equal(lvm_thin_pool(lvs, n), &lvs[1]);
    lv_list_free(lvs, n);
    /* an empty volume group */
    assert_int_equal(lvm_parse_lvs("", &lvs, &n), 0);
    assert_int_equal(n, 0);
    assert_null(lvm_thin_pool(lvs, n));
    lv_list_free(lvs, n);
    /* not lvs output */
    assert_int_equal(lvm_parse_lvs("  Volume group \"x\" not found\n", &lvs, &n), -1);
    assert_non_null(strstr(error_message(), "cannot read the output of lvs"));
    error_clear();
    assert_int_equal(lvm_parse_lvs("a|-wi-a-----|12x|\n", &lvs, &n), -1);
    error_clear();
}

static void test_name_problem(void **state)
{
    (void)state;
    assert_null(lvm_name_problem("web01"));
    assert_null(lvm_name_problem("web_01.a+b-c"));
    assert_non_null(lvm_name_problem(""));
    assert_non_null(lvm_name_problem("-web"));
    assert_non_null(lvm_name_problem("."));
    assert_non_null(lvm_name_problem(".."));
    assert_non_null(lvm_name_problem("web:01"));
    assert_non_null(lvm_name_problem("snapshot1"));
    assert_non_null(lvm_name_problem("pvmove0"));
    assert_non_null(lvm_name_problem("web_tmeta"));
    assert_non_null(lvm_name_problem("a_mlog"));
}

static void test_argv_golden(void **state)
{
    char *buf = NULL, *golden, path[4096];
    size_t len = 0;
    FILE *sink = open_memstream(&buf, &len);

    (void)state;
    command_set_dry_run(sink);
    assert_int_equal(lvm_thin_snapshot("vg0", "ttpl", NULL, "web01"), 0);
    assert_int_equal(lvm_thin_snapshot("vg0", "tpl", "thin", "web02"), 0);
    assert_int_equal(lvm_extend("vg0", "web02", 20ULL << 30), 0);
    struct lv *lvs;
    size_t n;
    assert_int_equal(lvm_list("vg0", &lvs, &n), 0); /* a dry run answers nothing: no LVs */
    assert_int_equal(n, 0);
    lv_list_free(lvs, n);
    command_set_dry_run(NULL);
    fclose(sink);
    snprintf(path, sizeof path, "%s/argv/lvm.argv", data_dir);
    golden = read_file(path, NULL);
    assert_non_null(golden);
    assert_string_equal(buf, golden);
    free(golden);
    free(buf);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_lvs),
        cmocka_unit_test(test_name_problem),
        cmocka_unit_test(test_argv_golden),
    };

    data_dir = argc > 1 ? argv[1] : "tests/data";
    return cmocka_run_group_tests(tests, NULL, NULL);
}
