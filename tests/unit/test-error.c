/* Unit tests: base/error.c (the recorded message: one line, whatever the
 * values quoted into it hold) and the case-blind name check the fleet plan
 * and clone share (pure/fleetplan.c, names_case_clash). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "pure/fleetplan.h"

static void test_escape_table(void **state)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        { "", "" },
        { "web01", "web01" },
        { "a\nb", "a\\nb" },
        { "a\r\nb", "a\\r\\nb" },
        { "tab\there", "tab\there" },            /* a tab keeps the line */
        { "\x1b[31mred", "\\x1b[31mred" },
        { "\x01\x1f\x7f", "\\x01\\x1f\\x7f" },
        { "trailing\n", "trailing\\n" },
        { "back\\slash", "back\\slash" },         /* kept as is */
        { "caf\xc3\xa9 \xe2\x9c\x93", "caf\xc3\xa9 \xe2\x9c\x93" }, /* UTF-8 kept */
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CLEANUP_FREE char *got = error_escape(cases[i].in);
        assert_non_null(got);
        assert_string_equal(got, cases[i].out);
    }
}

/* error() and error_replace() record the message escaped: one line. */
static void test_recorded_one_line(void **state)
{
    (void)state;
    error_clear();
    assert_int_equal(error("invalid host name '%s' (RFC 1123)", "a\nb"), -1);
    assert_string_equal(error_message(), "invalid host name 'a\\nb' (RFC 1123)");
    /* the first cause wins; the escaped text is not escaped twice */
    error("template '%s' not found", "x\ny");
    assert_string_equal(error_message(), "invalid host name 'a\\nb' (RFC 1123)");
    error_replace("%s", error_message());
    assert_string_equal(error_message(), "invalid host name 'a\\nb' (RFC 1123)");
    error_replace("template '%s\t%s' not found", "t\r", "\x7f");
    assert_string_equal(error_message(), "template 't\\r\t\\x7f' not found");
    assert_null(strchr(error_message(), '\n'));
    error_clear();
    assert_null(error_message());
}

/* error_report: exactly one line on stderr. */
static void test_report_one_line(void **state)
{
    char buf[256] = "";
    int pipefd[2], saved;
    ssize_t n;

    (void)state;
    error_clear();
    assert_int_equal(pipe(pipefd), 0);
    saved = dup(2);
    dup2(pipefd[1], 2);
    error("template '%s' not found", "tpl\nvmstamp: error: forged");
    error_report();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(pipefd[1]);
    n = read(pipefd[0], buf, sizeof buf - 1);
    close(pipefd[0]);
    assert_true(n > 0);
    assert_string_equal(buf, "vmstamp: error: template 'tpl\\nvmstamp: error: forged' not found\n");
    assert_null(error_message());
}

static void test_names_case_clash(void **state)
{
    static const struct {
        const char *names[5];
        size_t n, want, earlier;
    } cases[] = {
        { { NULL }, 0, 0, 0 },
        { { "a" }, 1, 1, 0 },
        { { "a", "b", "c" }, 3, 3, 0 },
        { { "a", "A" }, 2, 1, 0 },
        { { "web", "db", "WEB" }, 3, 2, 0 },
        { { "x", "y", "y" }, 3, 2, 1 },
        /* the first in order that an earlier one has, not the first sorted */
        { { "b", "a", "c", "C", "A" }, 5, 3, 2 },
        { { "web.lab", "Web.Lab", "web.lab" }, 3, 1, 0 },
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t earlier = 99;
        size_t got = names_case_clash(cases[i].names, cases[i].n, &earlier);
        assert_int_equal(got, cases[i].want);
        if (got < cases[i].n)
            assert_int_equal(earlier, cases[i].earlier);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_table),
        cmocka_unit_test(test_recorded_one_line),
        cmocka_unit_test(test_report_one_line),
        cmocka_unit_test(test_names_case_clash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
