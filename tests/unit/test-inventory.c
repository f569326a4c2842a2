/* Unit tests: inventory.c (fleet inventory and ssh-config). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <json-c/json.h>

#include "base/error.h"
#include "pure/inventory.h"

static const struct inventory_host fleet[] = {
    { "web-01", "web-%02d", "h2", "192.168.150.10" },
    { "web-02", "web-%02d", "h2", "192.168.150.11" },
    { "db", "db", "h1", NULL },
};
#define KH "/var/lib/vmstamp/fleet/lab.known_hosts"

static void test_group_names(void **state)
{
    static const char *cases[][3] = {
        { "web-%02d", "", "web" },      { "db%d.lab", "", "db_lab" }, { "h1", "host_", "host_h1" },
        { "%03d-x", "", "x" },          { "9lives", "", "g9lives" },  { "a..b--c", "", "a_b_c" },
        { "%d", "", "g" },              { "web-%%-%d", "", "web" },
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *g = inventory_group_name(cases[i][0], cases[i][1]);
        assert_string_equal(g, cases[i][2]);
        free(g);
    }
}

static void test_formats(void **state)
{
    enum inventory_format f;

    (void)state;
    assert_int_equal(inventory_format_parse("ini", &f), 0);
    assert_int_equal(f, INVENTORY_INI);
    assert_int_equal(inventory_format_parse("toml", &f), -1);
    assert_string_equal(error_message(), "invalid --format 'toml': give yaml, ini or json");
    error_clear();
}

static void test_yaml_ini(void **state)
{
    char *y = inventory_render(fleet, 3, INVENTORY_YAML, "root", KH);
    char *i = inventory_render(fleet, 3, INVENTORY_INI, "root", KH);

    (void)state;
    assert_string_equal(y, "all:\n"
                           "  vars:\n"
                           "    ansible_user: \"root\"\n"
                           "    ansible_ssh_common_args: \"-o UserKnownHostsFile=" KH " -o StrictHostKeyChecking=yes\"\n"
                           "  children:\n"
                           "    web:\n"
                           "      hosts:\n"
                           "        web-01:\n"
                           "          ansible_host: \"192.168.150.10\"\n"
                           "        web-02:\n"
                           "          ansible_host: \"192.168.150.11\"\n"
                           "    db:\n"
                           "      hosts:\n"
                           "        db:\n"
                           "    host_h2:\n"
                           "      hosts:\n"
                           "        web-01:\n"
                           "          ansible_host: \"192.168.150.10\"\n"
                           "        web-02:\n"
                           "          ansible_host: \"192.168.150.11\"\n"
                           "    host_h1:\n"
                           "      hosts:\n"
                           "        db:\n");
    assert_string_equal(i, "[web]\nweb-01 ansible_host=192.168.150.10\nweb-02 ansible_host=192.168.150.11\n\n"
                           "[db]\ndb\n\n"
                           "[host_h2]\nweb-01 ansible_host=192.168.150.10\nweb-02 ansible_host=192.168.150.11\n\n"
                           "[host_h1]\ndb\n\n"
                           "[all:vars]\nansible_user=root\n"
                           "ansible_ssh_common_args='-o UserKnownHostsFile=" KH " -o StrictHostKeyChecking=yes'\n");
    free(y);
    free(i);
}

static void test_json(void **state)
{
    char *j = inventory_render(fleet, 3, INVENTORY_JSON, "root", KH);
    struct json_object *o = json_tokener_parse(j), *v;

    (void)state;
    assert_non_null(o);
    assert_true(json_object_object_get_ex(o, "_meta", &v));
    assert_true(json_object_object_get_ex(v, "hostvars", &v));
    assert_true(json_object_object_get_ex(v, "web-02", &v));
    assert_true(json_object_object_get_ex(v, "ansible_host", &v));
    assert_string_equal(json_object_get_string(v), "192.168.150.11");
    assert_true(json_object_object_get_ex(o, "host_h1", &v));
    assert_true(json_object_object_get_ex(v, "hosts", &v));
    assert_string_equal(json_object_get_string(json_object_array_get_idx(v, 0)), "db");
    assert_true(json_object_object_get_ex(o, "all", &v));
    assert_int_equal(json_object_array_length(json_object_object_get(v, "children")), 4);
    json_object_put(o);
    free(j);
}

static void test_ssh_config(void **state)
{
    char *s = ssh_config_render(fleet, 3, "root", KH);

    (void)state;
    /* db has no address: no block */
    assert_string_equal(s, "Host web-01\n    HostName 192.168.150.10\n    User root\n    UserKnownHostsFile " KH
                           "\n    StrictHostKeyChecking yes\n\n"
                           "Host web-02\n    HostName 192.168.150.11\n    User root\n    UserKnownHostsFile " KH
                           "\n    StrictHostKeyChecking yes\n\n");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_group_names), cmocka_unit_test(test_formats), cmocka_unit_test(test_yaml_ini),
        cmocka_unit_test(test_json),        cmocka_unit_test(test_ssh_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
