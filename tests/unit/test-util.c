/* Unit tests: util.c (sizes, names, MACs, patterns). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/error.h"
#include "base/cleanup.h"
#include "pure/util.h"

static void test_parse_size(void **state)
{
    (void)state;
    static const struct { const char *in; uint64_t out; } ok[] = {
        { "20G", 20ULL << 30 }, { "512M", 512ULL << 20 }, { "1.5T", 3ULL << 39 },
        { "1048576", 1048576 }, { "4k", 4096 }, { "2GiB", 2ULL << 30 }, { "10GB", 10ULL << 30 },
    };
    static const char *bad[] = { "", "G", "-1G", "12X", "1G2", "abc", "0", " 5G" };
    uint64_t v;

    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal(parse_size(ok[i].in, &v), 0);
        assert_int_equal(v, ok[i].out);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(parse_size(bad[i], &v), -1);
        assert_non_null(strstr(error_message(), "invalid size"));
        error_clear();
    }
}

/* --memory: a bare number is MiB, else a size. Signs, blanks and numbers
 * whose KiB would wrap were taken (fuzz-scalars: " 4", "-1",
 * "18014398509481984" gave 4 MiB, 2^64 - 1024 KiB and 0 KiB). */
static void test_parse_memory(void **state)
{
    (void)state;
    static const struct { const char *in; uint64_t kib; } ok[] = {
        { "2048", 2048 * 1024 }, { "007", 7 * 1024 }, { "2G", 2ULL << 20 }, { "1.5G", 3ULL << 19 },
        { "1M", 1024 }, { "953674316406", 953674316406ULL * 1024 },
    };
    static const char *bad[] = { "", "0", " 4", "+4", "-1", "-2048", "4 ", "18014398509481984",
                                 "953674316407", "99999999999999999999", "512K", "abc" };
    uint64_t v;

    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        assert_int_equal(parse_memory(ok[i].in, &v), 0);
        assert_int_equal(v, ok[i].kib);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = 0;
        if (parse_memory(bad[i], &v) != -1)
            fail_msg("parse_memory('%s') took it: %llu KiB", bad[i], (unsigned long long)v);
        assert_non_null(strstr(error_message(), "invalid --memory"));
        error_clear();
    }
}

static void test_hostname(void **state)
{
    (void)state;
    static const char *ok[] = { "web01", "web-01.example.com", "a", "0abc", "x.y.z" };
    static const char *bad[] = { "", "-web", "web-", "we_b", "a..b", "a<b", "a&b", "a'b", "a/b", ".a",
                                 "a.", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        assert_true(valid_hostname(ok[i]));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(valid_hostname(bad[i]));
}

static void test_domain_name(void **state)
{
    (void)state;
    assert_true(valid_domain_name("web_01.lab-a"));
    assert_false(valid_domain_name(""));
    assert_false(valid_domain_name("a<b"));
    assert_false(valid_domain_name("a&b"));
    assert_false(valid_domain_name("a'b"));
    assert_false(valid_domain_name("a/b"));
    assert_false(valid_domain_name("-a"));
    assert_false(valid_domain_name(".a"));
}

static void assert_problem(const char *got, const char *want)
{
    if (want)
        assert_string_equal(got, want);
    else
        assert_null(got);
}

/* The phrase says what is wrong, in the words a user can act on. */
static void test_name_problems(void **state)
{
    char name64[65], name70[71], long_fqdn[300];
    static const struct { const char *in, *problem; } host[] = {
        { "web01", NULL },
        { "web-01.example.com", NULL },
        { "", "is empty" },
        { "-web", "starts with '-'" },
        { "web-", "ends with '-'" },
        { "a.-b", "has a label starting with '-'" },
        { "a.b-", "has a label ending with '-'" },
        { "we_b", "has character '_'" },
        { "a<b", "has character '<'" },
        { "a b", "has character ' '" },
        { "a\tb", "has character 0x09" },
        { "a..b", "has an empty label (a '.' at the start or end, or two in a row)" },
        { ".a", "has an empty label (a '.' at the start or end, or two in a row)" },
    };
    static const struct { const char *in, *problem; } dom[] = {
        { "web_01.lab-a", NULL },
        { "", "is empty" },
        { "-a", "starts with '-'" },
        { ".a", "starts with '.'" },
        { "a<b", "has character '<'" },
        { "a&b", "has character '&'" },
        { "a'b", "has character '''" },
        { "a/b", "has character '/'" },
    };

    (void)state;
    for (size_t i = 0; i < sizeof host / sizeof *host; i++)
        assert_problem(hostname_problem(host[i].in), host[i].problem);
    for (size_t i = 0; i < sizeof dom / sizeof *dom; i++)
        assert_problem(domain_name_problem(dom[i].in), dom[i].problem);
    /* 64 valid characters: a fine domain name, one too many for a host name label. */
    memset(name64, 'a', 64);
    name64[64] = '\0';
    assert_null(domain_name_problem(name64));
    assert_string_equal(hostname_problem(name64), "is 64 characters long: a host name label has at most 63");
    name64[63] = '\0';
    assert_null(hostname_problem(name64));
    memset(name70, 'b', 70);
    name70[70] = '\0';
    assert_string_equal(domain_name_problem(name70), "is 70 characters long: a name has at most 64");
    name70[3] = '.';
    assert_string_equal(hostname_problem(name70), "has a label of 66 characters: a host name label has at most 63");
    /* 5 labels of 59 and 4 dots: 299 characters. */
    for (size_t i = 0; i < 299; i++)
        long_fqdn[i] = i % 60 == 59 ? '.' : 'c';
    long_fqdn[299] = '\0';
    assert_string_equal(hostname_problem(long_fqdn), "is 299 characters long: a host name has at most 253");
    assert_false(valid_hostname(long_fqdn));
}

static void test_mac(void **state)
{
    char out[18];

    (void)state;
    assert_int_equal(parse_mac("52:54:00:AB:cd:EF", out), 0);
    assert_string_equal(out, "52:54:00:ab:cd:ef");
    assert_int_equal(parse_mac("52:54:00:ab:cd", out), -1);
    assert_int_equal(parse_mac("52-54-00-ab-cd-ef", out), -1);
    assert_int_equal(parse_mac("52:54:00:ab:cd:eg", out), -1);
    assert_int_equal(parse_mac("01:00:5e:00:00:01", out), -1); /* multicast */
    assert_int_equal(mac_from_ipv4("192.168.122.4", out), 0);
    assert_string_equal(out, "52:54:c0:a8:7a:04");
    assert_int_equal(mac_from_ipv4("10.0.0.256", out), -1);
    error_clear();
    assert_int_equal(mac_from_ipv4("10.0.0", out), -1);
    error_clear();
    char a[18], b[18];
    assert_int_equal(random_mac(a), 0);
    assert_int_equal(random_mac(b), 0);
    assert_memory_equal(a, "52:54:00:", 9);
    assert_int_equal(parse_mac(a, out), 0);
    assert_string_not_equal(a, b);
}

static void test_machine_id(void **state)
{
    char a[33], b[33];

    (void)state;
    assert_int_equal(random_machine_id(a), 0);
    assert_int_equal(random_machine_id(b), 0);
    assert_int_equal(strlen(a), 32);
    assert_int_equal(strspn(a, "0123456789abcdef"), 32);
    assert_string_not_equal(a, b);
}

static void test_name_pattern(void **state)
{
    char *s;

    (void)state;
    s = expand_name_pattern("web-%02d", 3);
    assert_string_equal(s, "web-03");
    free(s);
    s = expand_name_pattern("n%d-100%%", 12);
    assert_string_equal(s, "n12-100%");
    free(s);
    assert_null(expand_name_pattern("web", 1));
    error_clear();
    assert_null(expand_name_pattern("%d-%d", 1));
    error_clear();
    assert_null(expand_name_pattern("%s", 1));
    error_clear();
    /* A width is at most 64 (fuzz-scalars, corpus/scalars/crash-name-pattern-width:
     * "%09999999999d" made xasprintf fail and abort). */
    s = expand_name_pattern("n%064d", 7);
    assert_int_equal(strlen(s), 65);
    free(s);
    assert_null(expand_name_pattern("n%065d", 7));
    assert_string_equal(error_message(), "invalid --name-pattern 'n%065d': the width of %d is at most 64 "
                                         "(a name has at most 64 characters)");
    error_clear();
    assert_null(expand_name_pattern("web-%0999999999999999999999d", 1));
    error_clear();
    assert_null(expand_name_pattern("%2147483648d", 1));
    error_clear();
}

static void test_drive_names(void **state)
{
    (void)state;
    char b[16];
    static const struct { size_t i; const char *name; } cases[] = {
        { 0, "/dev/sda" },    { 1, "/dev/sdb" },    { 25, "/dev/sdz" },   { 26, "/dev/sdaa" },
        { 27, "/dev/sdab" },  { 51, "/dev/sdaz" },  { 52, "/dev/sdba" },  { 254, "/dev/sdiu" },
        { 701, "/dev/sdzz" }, { 702, "/dev/sdaaa" },
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        drive_device_name(cases[k].i, b);
        assert_string_equal(b, cases[k].name);
    }
}

static void test_error_first_wins(void **state)
{
    (void)state;
    assert_int_equal(error("first %d", 1), -1);
    error("second");
    assert_string_equal(error_message(), "first 1");
    error_replace("third");
    assert_string_equal(error_message(), "third");
    error_clear();
    assert_null(error_message());
}

static void test_shell_quote(void **state)
{
    static const char *const cases[][2] = {
        { "/var/lib/libvirt/images", "/var/lib/libvirt/images" },
        { "u:libvirt-qemu:x", "u:libvirt-qemu:x" },
        { "/var/vms with space", "'/var/vms with space'" },
        { "/srv/it's", "'/srv/it'\\''s'" },
        { "/srv(/.*)?", "'/srv(/.*)?'" },
        { "", "''" },
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CLEANUP_FREE char *q = shell_quote(cases[i][0]);
        assert_string_equal(q, cases[i][1]);
    }
}

/* The primary GPT header of a 200 MiB disk that sfdisk partitioned at
 * 100 MiB (first-lba 2048) and sgdisk -e moved the backup header of: the
 * last usable LBA is 409600 - 2048, not 409600 - 34. */
static void test_gpt_last_usable(void **state)
{
    static const unsigned char hdr[92] = {
        0x45, 0x46, 0x49, 0x20, 0x50, 0x41, 0x52, 0x54, 0x00, 0x00, 0x01, 0x00, 0x5c, 0x00, 0x00, 0x00,
        0x0d, 0x9c, 0x98, 0x9a, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0xff, 0x3f, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x38, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0xa1, 0x01, 0x61, 0x87, 0x9a, 0xe2, 0x48, 0x1e,
        0x8d, 0x18, 0x6b, 0x7d, 0x6c, 0xab, 0x56, 0xa9, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x80, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00, 0x8e, 0x74, 0xb6, 0xd2,
    };
    unsigned char bad[92];
    uint64_t lba = 0;

    (void)state;
    assert_int_equal(gpt_last_usable_lba(hdr, sizeof hdr, &lba), 0);
    assert_int_equal(lba, 409600 - 2048);
    assert_int_equal(gpt_last_usable_lba(hdr, 91, &lba), -1);
    error_clear();
    memcpy(bad, hdr, sizeof bad);
    bad[0] = 0; /* an MBR disk's LBA 1 */
    assert_int_equal(gpt_last_usable_lba(bad, sizeof bad, &lba), -1);
    error_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_size), cmocka_unit_test(test_parse_memory), cmocka_unit_test(test_gpt_last_usable),
        cmocka_unit_test(test_shell_quote), cmocka_unit_test(test_hostname),
        cmocka_unit_test(test_domain_name), cmocka_unit_test(test_name_problems), cmocka_unit_test(test_mac),
        cmocka_unit_test(test_machine_id), cmocka_unit_test(test_name_pattern),
        cmocka_unit_test(test_error_first_wins), cmocka_unit_test(test_drive_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
