/* Unit tests: definition.c, template definitions (YAML). Golden files in
 * tests/data/definitions: each X.yaml is parsed as "X.yaml"; X.golden holds
 * what a good one gives, X.err the one-line error a bad one gives. The
 * shipped templates/NAME.yaml must parse. argv[1] is tests/data. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/error.h"
#include "pure/definition.h"
#include "pure/util.h"

static const char *data_dir;

static char *slurp(const char *path)
{
    char *text = read_file(path, NULL);

    if (!text)
        fail_msg("cannot read %s: %s", path, error_message());
    return text;
}

/* The parsed definition, one "key=value (line N)" per given key. */
static char *dump(const struct definition *d)
{
    char *s = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&s, &len);

    assert_non_null(fp);
    for (int k = 0; k < DEF_NKEYS; k++) {
        if (!d->line[k])
            continue;
        fprintf(fp, "%s", definition_key_name(k));
        switch (k) {
        case DEF_NAME: fprintf(fp, "=%s", d->name); break;
        case DEF_ISO: fprintf(fp, "=%s", d->iso); break;
        case DEF_ISO_SHA256:
            if (d->iso_sha256_unset)
                fprintf(fp, " unset");
            else
                fprintf(fp, "=%s", d->iso_sha256);
            break;
        case DEF_KICKSTART: fprintf(fp, "=%s", d->kickstart); break;
        case DEF_OS_VARIANT: fprintf(fp, "=%s", d->os_variant); break;
        case DEF_SIZE: fprintf(fp, "=%llu", (unsigned long long)d->size); break;
        case DEF_MEMORY: fprintf(fp, "=%llu", (unsigned long long)d->memory_kib); break;
        case DEF_VCPUS: fprintf(fp, "=%u", d->vcpus); break;
        case DEF_OPERATIONS: fprintf(fp, "=%s", d->operations); break;
        }
        fprintf(fp, " (line %d)\n", d->line[k]);
    }
    fclose(fp);
    return s;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static void test_golden(void **state)
{
    char dir[4096];
    struct dirent **ents;
    int n, good = 0, bad = 0;

    (void)state;
    snprintf(dir, sizeof dir, "%s/definitions", data_dir);
    n = scandir(dir, &ents, NULL, by_name);
    assert_true(n > 0);
    for (int i = 0; i < n; i++) {
        const char *f = ents[i]->d_name;
        size_t len = strlen(f);
        char *path, *expect_path;
        struct definition d;

        if (len < 6 || strcmp(f + len - 5, ".yaml") != 0) {
            free(ents[i]);
            continue;
        }
        if (asprintf(&path, "%s/%s", dir, f) < 0)
            abort();
        char *text = slurp(path);
        int stem = (int)(len - 5);
        error_clear();
        int r = definition_parse(f, text, &d);
        if (asprintf(&expect_path, "%s/%.*s.err", dir, stem, f) < 0)
            abort();
        if (access(expect_path, F_OK) == 0) {
            char *want = slurp(expect_path);
            want[strcspn(want, "\n")] = '\0';
            if (r != -1)
                fail_msg("%s: parsed, expected: %s", f, want);
            if (!error_message() || strcmp(error_message(), want) != 0)
                fail_msg("%s:\n  got:  %s\n  want: %s", f, error_message(), want);
            assert_null(d.path); /* released */
            free(want);
            bad++;
        } else {
            free(expect_path);
            if (asprintf(&expect_path, "%s/%.*s.golden", dir, stem, f) < 0)
                abort();
            char *want = slurp(expect_path);
            if (r != 0)
                fail_msg("%s: %s", f, error_message());
            char *got = dump(&d);
            if (strcmp(got, want) != 0)
                fail_msg("%s:\n--- got\n%s--- want\n%s", f, got, want);
            assert_string_equal(d.path, f);
            free(got);
            free(want);
            definition_release(&d);
            good++;
        }
        free(text);
        free(path);
        free(expect_path);
        free(ents[i]);
    }
    free(ents);
    assert_true(good >= 3);
    assert_true(bad >= 20);
}

/* Syntax errors come from libyaml: the file and the line of the problem. */
static void test_syntax_errors(void **state)
{
    static const struct { const char *text; const char *prefix; } cases[] = {
        { "name: x\noperations: [a\n", "x.yaml:2: invalid YAML: " },
        { "name: x\nkickstart: k.ks\n  size: 2G\n", "x.yaml:3: invalid YAML: " },
        { "name: \"x\nkickstart: k\n", "x.yaml:2: invalid YAML: found unexpected end of stream (" },
        { "name: x\n\tkickstart: k\n", "x.yaml:2: invalid YAML: " },
    };
    struct definition d;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        error_clear();
        assert_int_equal(definition_parse("x.yaml", cases[i].text, &d), -1);
        if (strncmp(error_message(), cases[i].prefix, strlen(cases[i].prefix)) != 0)
            fail_msg("case %zu: '%s' does not start with '%s'", i, error_message(), cases[i].prefix);
        assert_null(strchr(error_message(), '\n'));
    }
}

/* A value quoted in a message keeps the message one line: a plain scalar
 * folded over a blank line holds a newline (fuzz-definition,
 * corpus/definition/crash-newline-in-message). */
static void test_one_line(void **state)
{
    struct definition d;

    (void)state;
    error_clear();
    assert_int_equal(definition_parse("x.yaml", "name: ks\n\n ame: ;\n", &d), -1);
    assert_string_equal(error_message(), "x.yaml:1: name: 'ks\\name' is not a valid name: use 1-64 letters, "
                                         "digits, '.', '_' or '-'");
    error_clear();
    assert_int_equal(definition_parse("x.yaml", "name: x\nkickstart: k\nvcpus: \"1\\r\\x1b[2J\\t\"\n", &d), -1);
    assert_string_equal(error_message(), "x.yaml:3: vcpus: '1\\r\\x1b[2J\t' is not a number of CPUs: give 1 to 512");
    error_clear();
}

/* Empty and comment-only files name the first key missing. */
static void test_empty(void **state)
{
    static const char *const texts[] = { "", "# nothing\n", "---\n", "---\n...\n" };
    struct definition d;

    (void)state;
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        error_clear();
        assert_int_equal(definition_parse("e.yaml", texts[i], &d), -1);
        assert_string_equal(error_message(),
                            "e.yaml: missing key 'name': a definition needs at least 'name' and 'kickstart'");
    }
    error_clear();
    assert_int_equal(definition_parse("s.yaml", "just words\n", &d), -1);
    assert_string_equal(error_message(),
                        "s.yaml:1: a single value: a definition is a mapping (name: ..., kickstart: ...)");
}

static void test_placeholders(void **state)
{
    static const char *const unset[] = { "SET-ME", "TODO", "CHANGEME", "'SET ME '", "\"\"", "~", "" };
    static const char *const malformed[] = { "abc", "ABC", "sha256:0a4d", "0", "'0a4d SET-ME'" };
    struct definition d;
    char text[256];

    (void)state;
    for (size_t i = 0; i < sizeof unset / sizeof unset[0]; i++) {
        snprintf(text, sizeof text, "name: x\nkickstart: k\niso_sha256: %s\n", unset[i]);
        error_clear();
        if (definition_parse("p.yaml", text, &d) < 0)
            fail_msg("'%s': %s", unset[i], error_message());
        assert_true(d.iso_sha256_unset);
        assert_null(d.iso_sha256);
        assert_int_equal(d.line[DEF_ISO_SHA256], 3);
        definition_release(&d);
    }
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        snprintf(text, sizeof text, "name: x\nkickstart: k\niso_sha256: %s\n", malformed[i]);
        error_clear();
        assert_int_equal(definition_parse("p.yaml", text, &d), -1);
        if (!strstr(error_message(), "p.yaml:3: iso_sha256: '") ||
            !strstr(error_message(), "' is not 64 hex digits: copy it from the distribution's CHECKSUM file"))
            fail_msg("'%s': %s", malformed[i], error_message());
    }
}

static void test_load_and_resolve(void **state)
{
    char path[4200];
    struct definition d;
    char *p;

    (void)state;
    error_clear();
    assert_int_equal(definition_load("/nonexistent/x.yaml", &d), -1);
    assert_string_equal(error_message(),
                        "template definition '/nonexistent/x.yaml' not found: give a YAML file (see templates/)");
    error_clear();
    assert_int_equal(definition_load(data_dir, &d), -1); /* a directory: not a regular file */
    assert_non_null(strstr(error_message(), "is not a regular file: give a YAML file"));

    snprintf(path, sizeof path, "%s/definitions/good-full.yaml", data_dir);
    error_clear();
    assert_int_equal(definition_load(path, &d), 0);
    p = definition_resolve(&d, d.kickstart);
    char want[4300];
    snprintf(want, sizeof want, "%s/definitions/../kickstart/rocky9.ks", data_dir);
    assert_string_equal(p, want);
    free(p);
    p = definition_resolve(&d, d.iso);
    assert_string_equal(p, d.iso);
    free(p);

    /* Later problems name the key's line too. */
    error_clear();
    assert_int_equal(definition_error(&d, DEF_OS_VARIANT, "unknown os variant '%s'", d.os_variant), -1);
    snprintf(want, sizeof want, "%s:6: os_variant: unknown os variant 'rocky9'", path);
    assert_string_equal(error_message(), want);
    error_clear();
    assert_int_equal(definition_error(&d, DEF_ISO, "not here"), -1);
    snprintf(want, sizeof want, "%s:3: iso: not here", path);
    assert_string_equal(error_message(), want);
    definition_release(&d);

    /* A relative definition path resolves against its own directory. */
    assert_int_equal(definition_parse("templates/x.yaml", "name: x\nkickstart: ../k/x.ks\n", &d), 0);
    p = definition_resolve(&d, d.kickstart);
    assert_string_equal(p, "templates/../k/x.ks");
    free(p);
    definition_release(&d);
    assert_int_equal(definition_parse("x.yaml", "name: x\nkickstart: k.ks\n", &d), 0);
    p = definition_resolve(&d, d.kickstart);
    assert_string_equal(p, "./k.ks");
    free(p);
    /* An absent key: no line. */
    error_clear();
    assert_int_equal(definition_error(&d, DEF_ISO, "names no ISO: add 'iso:' or pass --iso"), -1);
    assert_string_equal(error_message(), "x.yaml: iso: names no ISO: add 'iso:' or pass --iso");
    definition_release(&d);
    definition_release(NULL);
    error_clear();
}

/* The definitions the project ships parse, with a checksum and os_variant
 * where they name an ISO. */
static void test_shipped(void **state)
{
    char dir[4096];
    struct dirent **ents;
    int n, seen = 0;

    (void)state;
    snprintf(dir, sizeof dir, "%s/../../templates", data_dir);
    n = scandir(dir, &ents, NULL, by_name);
    assert_true(n > 0);
    for (int i = 0; i < n; i++) {
        const char *f = ents[i]->d_name;
        size_t len = strlen(f);
        if (len > 5 && strcmp(f + len - 5, ".yaml") == 0) {
            char *path;
            struct definition d;

            if (asprintf(&path, "%s/%s", dir, f) < 0)
                abort();
            error_clear();
            if (definition_load(path, &d) < 0)
                fail_msg("%s", error_message());
            assert_non_null(d.os_variant);
            assert_non_null(d.operations);
            assert_true(d.size > 0 && d.memory_kib > 0 && d.vcpus > 0);
            if (d.iso) {
                assert_non_null(d.iso_sha256);
                assert_int_equal(strlen(d.iso_sha256), 64);
            }
            definition_release(&d);
            free(path);
            seen++;
        }
        free(ents[i]);
    }
    free(ents);
    assert_true(seen >= 5);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_one_line),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_placeholders),
        cmocka_unit_test(test_load_and_resolve),
        cmocka_unit_test(test_shipped),
    };

    data_dir = argc > 1 ? argv[1] : "tests/data";
    return cmocka_run_group_tests(tests, NULL, NULL);
}
