/* fuzz-kickstart: kickstart lint and render (pure/kickstart.c): ks_lint on
 * the text; the render vmstamp install does, ks_substitute with --var
 * values then ks_set_rootpw, and ks_lint on the result. The input may name
 * its own variables and hash in comment lines "#fuzz-var KEY=VALUE" and
 * "#fuzz-hash HASH" (checked as --var and a hash would be). */
#include "fuzz.h"
#include "pure/kickstart.h"

#define HASH "$6$fuzzsalt$Jq3lTn0Xa1m0W9yC8hC7m1nq1k8lB0e3lHkYhX7iQm0Jr7vZ2Jv3c1pD9uLx6o5P5nZ0x0s2kG1c4a6b8d0e2."

static void lint(const char *text)
{
    struct ks_issue *issues = NULL;
    size_t n = 0;

    if (ks_lint(text, &issues, &n) == 0) {
        for (size_t i = 0; i < n; i++) {
            FUZZ_CHECK(issues[i].message != NULL);
            FUZZ_CHECK(issues[i].line >= 1);
            FUZZ_CHECK(i == 0 || issues[i - 1].line <= issues[i].line);
        }
    }
    ks_issues_free(issues, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    char **given = fuzz_params(text, "var", 8);
    char *hash = fuzz_param(text, "hash");
    char *vars[16], *err_line = NULL, *out, *rendered;
    size_t n = 0;
    static char *const defaults[] = { "NAME=web01", "HOSTNAME=web01.example.com", "TIMEZONE=UTC",
                                      "LANG=en_US.UTF-8", NULL };

    lint(text);

    for (size_t i = 0; defaults[i]; i++)
        vars[n++] = defaults[i];
    for (size_t i = 0; given[i]; i++)
        vars[n++] = given[i];
    vars[n] = NULL;
    out = ks_substitute(text, vars, &err_line);
    if (!out)
        FUZZ_CHECK(error_message() != NULL);
    free(err_line);
    error_clear();

    rendered = ks_set_rootpw(out ? out : text, HASH);
    FUZZ_CHECK(rendered != NULL);
    FUZZ_CHECK(strstr(rendered, "rootpw --iscrypted " HASH) != NULL);
    lint(rendered);
    free(rendered);
    error_clear();

    if (hash) {
        rendered = ks_set_rootpw(text, hash);
        free(rendered);
    }

    free(out);
    free(hash);
    fuzz_strv_free(given);
    free(text);
    fuzz_done();
    return 0;
}
