/* Unit tests: meta.c. A template's index entry survives a JSON round trip,
 * with and without the record of how it was installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/error.h"
#include "pure/meta.h"

#define SUM "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void meta_init(struct template_meta *m)
{
    static char *ops[] = { (char *)"machine-id", (char *)"ssh-hostkeys", NULL };

    memset(m, 0, sizeof *m);
    m->name = (char *)"rocky9";
    m->os = (char *)"rocky9";
    m->os_id = (char *)"http://rockylinux.org/rocky/9";
    m->format = (char *)"qcow2";
    m->virtual_size = 10737418240ULL;
    m->sha256 = (char *)SUM;
    m->operations = ops;
}

static void test_install_record(void **state)
{
    struct template_meta m, back;
    char *json, *again;

    (void)state;
    meta_init(&m);
    m.install.definition = (char *)"templates/rocky9.yaml";
    m.install.iso = (char *)"/isos/Rocky 9.iso";
    m.install.iso_sha256 = (char *)SUM;
    m.install.os_variant = (char *)"rocky9";
    m.install.kickstart = (char *)"kickstart/rocky9.ks";
    m.install.kickstart_sha256 = (char *)SUM;
    m.install.command = (char *)"vmstamp install --iso '/isos/Rocky 9.iso' --name rocky9-install";
    json = template_meta_to_json(&m);
    assert_non_null(strstr(json, "\"install\""));
    assert_int_equal(template_meta_from_json(json, &back), 0);
    assert_string_equal(back.os_id, "http://rockylinux.org/rocky/9");
    assert_string_equal(back.install.definition, "templates/rocky9.yaml");
    assert_string_equal(back.install.iso, "/isos/Rocky 9.iso");
    assert_string_equal(back.install.os_variant, "rocky9");
    assert_string_equal(back.install.kickstart_sha256, SUM);
    assert_string_equal(back.install.command, m.install.command);
    assert_int_equal(back.virtual_size, 10737418240ULL);
    assert_string_equal(back.operations[1], "ssh-hostkeys");
    again = template_meta_to_json(&back);
    assert_string_equal(again, json); /* stable */
    template_meta_release(&back);
    free(again);
    free(json);
}

static void test_no_install_record(void **state)
{
    struct template_meta m, back;
    char *json;

    (void)state;
    meta_init(&m);
    json = template_meta_to_json(&m);
    assert_null(strstr(json, "\"install\"")); /* templates made from a disk */
    assert_int_equal(template_meta_from_json(json, &back), 0);
    assert_null(back.install.command);
    assert_null(back.install.iso);
    template_meta_release(&back);
    free(json);
    /* an entry without a checksum is refused */
    assert_int_equal(template_meta_from_json("{\"name\":\"x\",\"format\":\"qcow2\"}", &back), -1);
    error_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_install_record),
        cmocka_unit_test(test_no_install_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
