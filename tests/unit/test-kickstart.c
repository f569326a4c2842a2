/* Unit tests: kickstart.c lint, substitution and rootpw, and the shipped
 * kickstarts (read from the source tree: argv[1] is tests/data). */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/error.h"
#include "base/fileio.h"
#include "pure/kickstart.h"
#include "pure/util.h"

static const char *data_dir;

/* ---- lint ---- */

struct lint_case {
    const char *name;
    const char *text;
    int line;           /* expected line of the only issue */
    const char *phrase; /* expected in its message */
};

static const struct lint_case defects[] = {
    { "unknown command", "text\nzerombr\nfrobnicate --now\nclearpart --all\npoweroff\n", 3,
      "unknown command 'frobnicate'" },
    { "typo suggests", "text\nzerombr\nrebot\npoweroff\n", 3, "did you mean 'reboot'?" },
    { "longer typo suggests", "text\nzerombr\nbootlaoder\npoweroff\n", 3, "did you mean 'bootloader'?" },
    { "indented unknown", "text\nzerombr\n   bogus\npoweroff\n", 3, "unknown command 'bogus'" },
    { "unknown section", "text\nzerombr\npoweroff\n%postinstall\n", 4, "unknown section '%postinstall'" },
    { "%packages without %end", "text\nzerombr\npoweroff\n%packages\n@core\nvim\n", 4, "%packages without %end" },
    { "%post runs into %packages", "text\nzerombr\npoweroff\n%post\necho hi\n%packages\n@core\n%end\n", 4,
      "%post without %end" },
    { "%pre with options, no %end", "text\nzerombr\npoweroff\n\n%pre --interpreter=/bin/sh\nexit 0\n", 5,
      "%pre without %end" },
    { "%end without a section", "text\nzerombr\npoweroff\n%packages\n@core\n%end\n%end\n", 7,
      "%end without a section" },
    { "no clearpart or zerombr", "text\npart / --grow\npoweroff\n# the end\n", 4,
      "no clearpart or zerombr: the install would stop to ask" },
    { "no poweroff", "text\nclearpart --all\n%packages\n@core\n%end\n", 5,
      "no poweroff, shutdown or reboot: the install would wait at the end" },
    { "poweroff only in %post", "text\nzerombr\n%post\npoweroff\n%end\n", 5, "no poweroff, shutdown or reboot" },
    { "halt waits", "text\nzerombr\nhalt\n", 3, "halt waits for a key press" },
    { "no trailing newline", "text\npoweroff", 2, "no clearpart or zerombr" },
    { "CRLF unknown", "text\r\nzerombr\r\nfoo\r\n%packages  \r\n@core\r\n%end \r\npoweroff\t\r\n", 3,
      "unknown command 'foo'" },
    { "CRLF no %end", "text\r\nzerombr\r\npoweroff\r\n%post\r\ntrue\r\n", 4, "%post without %end" },
    { "CRLF %end alone", "zerombr\r\npoweroff\r\n%end\r\n", 3, "%end without a section" },
};

static const char *const clean[] = {
    "text\nzerombr\nclearpart --all --initlabel\nautopart\npoweroff\n",
    /* comments, blank lines, indentation, trailing white space */
    "# comment\n\n  text  \n\tzerombr\t\n#poweroff\nreboot --eject   \n",
    /* section bodies are not commands */
    "text\nzerombr\nshutdown\n%post --log=/root/post.log\nfoo\nrebot\n%end\n%packages\n-bar\n%end\n",
    /* %end with a trailing comment, every known section */
    ("zerombr\npoweroff\n%pre\n%end # done\n%pre-install\n%end\n%onerror\n%end\n%traceback\n%end\n"
     "%addon com_redhat_kdump --disable\n%end\n%anaconda\npwpolicy root\n%end\n"),
    /* a %include may bring clearpart and poweroff */
    "text\n%include /tmp/part-include\n%pre\necho zerombr >/tmp/part-include\n%end\n",
    /* CRLF, BOM, no final newline */
    "\xef\xbb\xbftext\r\nzerombr\r\n%packages\r\n@core\r\n%end\r\npoweroff",
    /* old and new commands */
    "install\ncdrom\nauth --enableshadow\nkeyboard us\nzerombr\nreqpart\nbootloader\nhalt\nreboot\n",
};

static void dump(const char *name, struct ks_issue *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        print_message("  %s: line %d: %s\n", name, v[i].line, v[i].message);
}

static void test_lint_defects(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof defects / sizeof defects[0]; i++) {
        struct ks_issue *v;
        size_t n;

        print_message("case: %s\n", defects[i].name);
        assert_int_equal(ks_lint(defects[i].text, &v, &n), 0);
        dump(defects[i].name, v, n);
        assert_int_equal(n, 1);
        assert_int_equal(v[0].line, defects[i].line);
        assert_non_null(strstr(v[0].message, defects[i].phrase));
        ks_issues_free(v, n);
    }
}

static void test_lint_clean(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof clean / sizeof clean[0]; i++) {
        struct ks_issue *v;
        size_t n;

        assert_int_equal(ks_lint(clean[i], &v, &n), 0);
        dump("clean", v, n);
        assert_int_equal(n, 0);
        ks_issues_free(v, n);
    }
}

static void test_lint_many(void **state)
{
    struct ks_issue *v;
    size_t n;

    (void)state;
    /* sorted by line, the unclosed %post reported where it starts */
    assert_int_equal(ks_lint("%end\nbogus\n%post\nx\n%packages\n%end\nrebootx\n", &v, &n), 0);
    dump("many", v, n);
    assert_int_equal(n, 6);
    assert_int_equal(v[0].line, 1);
    assert_non_null(strstr(v[0].message, "%end without a section"));
    assert_int_equal(v[1].line, 2);
    assert_non_null(strstr(v[1].message, "unknown command 'bogus'"));
    assert_int_equal(v[2].line, 3);
    assert_non_null(strstr(v[2].message, "%post without %end"));
    assert_int_equal(v[3].line, 7);
    assert_non_null(strstr(v[3].message, "did you mean 'reboot'"));
    assert_int_equal(v[4].line, 7);
    assert_non_null(strstr(v[4].message, "no clearpart or zerombr"));
    assert_int_equal(v[5].line, 7);
    assert_non_null(strstr(v[5].message, "no poweroff"));
    ks_issues_free(v, n);

    /* no far-fetched suggestion for a short word */
    assert_int_equal(ks_lint("zerombr\npoweroff\nfoo\n", &v, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(v[0].message, "unknown command 'foo'");
    ks_issues_free(v, n);

    /* empty file: both missing commands, on line 1 */
    assert_int_equal(ks_lint("", &v, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(v[0].line, 1);
    assert_int_equal(v[1].line, 1);
    ks_issues_free(v, n);

    assert_int_equal(ks_lint(NULL, &v, &n), -1);
    assert_null(v);
    assert_int_equal(n, 0);
    error_clear();

    assert_true(ks_known_command("clearpart"));
    assert_true(ks_known_command("%include"));
    assert_false(ks_known_command("%post"));
    assert_false(ks_known_command("clear"));
}

/* ---- substitution ---- */

static void test_substitute(void **state)
{
    char *vars[] = { "HOSTNAME=web01.example.com", "EMPTY=", "X=@@HOSTNAME@@", "HOSTNAME=web02", NULL };
    char *out, *line = (char *)"junk";

    (void)state;
    out = ks_substitute("network --hostname=@@HOSTNAME@@\n# @@HOSTNAME@@/@@EMPTY@@/@@X@@\n", vars, &line);
    assert_non_null(out);
    assert_null(line);
    /* the last HOSTNAME wins; values are not scanned again */
    assert_string_equal(out, "network --hostname=web02\n# web02//@@HOSTNAME@@\n");
    free(out);

    /* '@@' that is not @@KEY@@ stays */
    out = ks_substitute("a@@b c@@ @@ @@@@ @@1X@@ @@@HOSTNAME@@@\n", vars, NULL);
    assert_string_equal(out, "a@@b c@@ @@ @@@@ @@1X@@ @web02@\n");
    free(out);

    out = ks_substitute("no variables\r\n", NULL, NULL);
    assert_string_equal(out, "no variables\r\n");
    free(out);
    assert_null(error_message());
}

static void test_substitute_unknown(void **state)
{
    char *vars[] = { "HOSTNAME=web01", NULL };
    char *line = NULL;

    (void)state;
    assert_null(ks_substitute("text\n\nnetwork --hostname=@@HOSTNAME@@ --device=@@NIC@@\npoweroff\n", vars, &line));
    assert_string_equal(error_message(), "kickstart line 3: unknown variable @@NIC@@: pass --var NIC=VALUE");
    assert_string_equal(line, "network --hostname=@@HOSTNAME@@ --device=@@NIC@@");
    free(line);
    error_clear();

    /* CRLF: same line numbers, no '\r' in the line */
    assert_null(ks_substitute("text\r\nrootpw @@PW@@\r\n", NULL, &line));
    assert_string_equal(error_message(), "kickstart line 2: unknown variable @@PW@@: pass --var PW=VALUE");
    assert_string_equal(line, "rootpw @@PW@@");
    free(line);
    error_clear();

    /* bad variables */
    char *noeq[] = { "HOSTNAME", NULL };
    assert_null(ks_substitute("x\n", noeq, NULL));
    assert_non_null(strstr(error_message(), "expected KEY=VALUE"));
    error_clear();
    char *badkey[] = { "HOST-NAME=x", NULL };
    assert_null(ks_substitute("x\n", badkey, NULL));
    error_clear();
    char *newline[] = { "HOSTNAME=web01\nreboot", NULL };
    assert_null(ks_substitute("network --hostname=@@HOSTNAME@@\n", newline, &line));
    assert_non_null(strstr(error_message(), "line break"));
    assert_null(line);
    error_clear();
}

/* ---- rootpw ---- */

#define HASH "$6$saltsalt$Qy3yqKJ.gp/Fh7EJQbYd4r2ySmT1HbXJ0BX1yrR6mC3v8Y1dcY0hkYxJ6yZ8MTvT0nSbi1f2v1R0m2L8Jq3lE0"

static void check_rootpw(const char *in, const char *expect)
{
    char *out = ks_set_rootpw(in, HASH);

    assert_non_null(out);
    assert_string_equal(out, expect);
    free(out);
}

static void test_set_rootpw(void **state)
{
    char *out;

    (void)state;
    /* replaces, whatever the old line held */
    check_rootpw("text\nrootpw --plaintext s3cret\npoweroff\n", "text\nrootpw --iscrypted " HASH "\npoweroff\n");
    check_rootpw("rootpw --lock\n", "rootpw --iscrypted " HASH "\n");
    check_rootpw("  rootpw   --iscrypted $6$old$oldhash  \n", "rootpw --iscrypted " HASH "\n");
    /* several: the first replaced, the rest dropped, no old hash left */
    out = ks_set_rootpw("text\nrootpw --iscrypted $6$a$OLDONE\nlang C\nrootpw OLDTWO\n", HASH);
    assert_string_equal(out, "text\nrootpw --iscrypted " HASH "\nlang C\n");
    assert_null(strstr(out, "OLDONE"));
    assert_null(strstr(out, "OLDTWO"));
    free(out);
    /* script lines and comments are not commands */
    check_rootpw("rootpw x\n%post\nrootpw y\n%end\n# rootpw z\n",
                 "rootpw --iscrypted " HASH "\n%post\nrootpw y\n%end\n# rootpw z\n");
    /* "rootpwx" is another word */
    check_rootpw("#version=RHEL7\nrootpwx\n", "#version=RHEL7\nrootpw --iscrypted " HASH "\nrootpwx\n");
    /* CRLF stays CRLF; last line without newline */
    check_rootpw("text\r\nrootpw old\r\n", "text\r\nrootpw --iscrypted " HASH "\r\n");
    check_rootpw("text\nrootpw old", "text\nrootpw --iscrypted " HASH);

    /* adds one after the first line */
    check_rootpw("#version=RHEL9\ntext\npoweroff\n", "#version=RHEL9\nrootpw --iscrypted " HASH "\ntext\npoweroff\n");
    check_rootpw("text\r\npoweroff\r\n", "text\r\nrootpw --iscrypted " HASH "\r\npoweroff\r\n");
    check_rootpw("text", "text\nrootpw --iscrypted " HASH "\n");
    check_rootpw("", "rootpw --iscrypted " HASH "\n");
    /* ... or first, if the first line opens a section */
    check_rootpw("%packages\n@core\n%end\n", "rootpw --iscrypted " HASH "\n%packages\n@core\n%end\n");
    /* only in a section: added */
    check_rootpw("text\n%post\nrootpw y\n%end\n", "text\nrootpw --iscrypted " HASH "\n%post\nrootpw y\n%end\n");

    /* never plaintext */
    static const char *const bad[] = { "s3cret", "", "$6$a b$c", "$6$a$b\nreboot", "$6$", "#$6$x$y", NULL };
    for (size_t i = 0; bad[i]; i++) {
        assert_null(ks_set_rootpw("rootpw --lock\n", bad[i]));
        assert_non_null(strstr(error_message(), "not a crypt(3) hash"));
        error_clear();
    }
    assert_null(ks_set_rootpw("rootpw --lock\n", NULL));
    error_clear();
    assert_null(ks_set_rootpw(NULL, HASH));
    error_clear();
}

/* ---- the shipped kickstarts ---- */

static void test_shipped(void **state)
{
    static const char *const expected[] = { "centos7.ks", "rocky9.ks", "alma9.ks", "fedora.ks", "testdist.ks" };
    char dir[4096];
    char *vars[] = { "HOSTNAME=web01.example.com", NULL };
    unsigned found = 0, total = 0;
    struct dirent *d;
    DIR *dp;

    (void)state;
    snprintf(dir, sizeof dir, "%s/../../kickstart", data_dir);
    dp = opendir(dir);
    assert_non_null(dp);
    while ((d = readdir(dp))) {
        size_t len = strlen(d->d_name);
        struct ks_issue *v;
        size_t n;

        if (len < 4 || strcmp(d->d_name + len - 3, ".ks") != 0)
            continue;
        total++;
        for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++)
            if (strcmp(d->d_name, expected[i]) == 0)
                found |= 1u << i;
        char *file = NULL;
        assert_true(asprintf(&file, "%s/%s", dir, d->d_name) > 0);
        print_message("shipped: %s\n", d->d_name);
        char *text = read_file(file, NULL);
        free(file);
        assert_non_null(text);

        /* the file as shipped lints clean */
        assert_int_equal(ks_lint(text, &v, &n), 0);
        dump(d->d_name, v, n);
        assert_int_equal(n, 0);
        ks_issues_free(v, n);

        /* what every kickstart needs */
        assert_non_null(strstr(text, "--hostname=@@HOSTNAME@@"));
        assert_non_null(strstr(text, "qemu-guest-agent"));
        assert_non_null(strstr(text, "--append=\"console=ttyS0,115200\""));
        assert_non_null(strstr(text, "\npoweroff\n"));
        assert_non_null(strstr(text, "\nzerombr\n"));
        assert_non_null(strstr(text, "\nclearpart --all --initlabel\n"));
        assert_non_null(strstr(text, "\nrootpw --lock\n"));

        /* HOSTNAME is the only variable; rendered and with a password it still lints clean */
        char *out = ks_substitute(text, vars, NULL);
        assert_non_null(out);
        assert_null(strstr(out, "@@"));
        assert_non_null(strstr(out, "--hostname=web01.example.com"));
        char *pw = ks_set_rootpw(out, HASH);
        assert_non_null(pw);
        assert_non_null(strstr(pw, "\nrootpw --iscrypted " HASH "\n"));
        assert_null(strstr(pw, "rootpw --lock"));
        assert_int_equal(ks_lint(pw, &v, &n), 0);
        assert_int_equal(n, 0);
        ks_issues_free(v, n);
        free(pw);
        free(out);
        free(text);
    }
    closedir(dp);
    assert_int_equal(found, (1u << (sizeof expected / sizeof expected[0])) - 1);
    assert_true(total >= sizeof expected / sizeof expected[0]); /* and every other *.ks there */
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lint_defects), cmocka_unit_test(test_lint_clean),
        cmocka_unit_test(test_lint_many),    cmocka_unit_test(test_substitute),
        cmocka_unit_test(test_substitute_unknown), cmocka_unit_test(test_set_rootpw),
        cmocka_unit_test(test_shipped),
    };
    data_dir = argc > 1 ? argv[1] : "tests/data";
    return cmocka_run_group_tests(tests, NULL, NULL);
}
