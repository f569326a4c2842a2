/* Unit tests: installer.c (kernel command line, --extra-args check, the
 * serial console read line by line, the console tail, elapsed times) and
 * the install command line a build records (pipeline/install.c, nothing
 * run), with 100 variables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pipeline/install.h"
#include "pure/installer.h"

static void test_cmdline(void **state)
{
    static const struct { const char *ks, *volid, *extra, *want; } cases[] = {
        { "inst.ks", "Rocky-9-7-x86_64-dvd", NULL,
          "inst.ks=file:/ks.cfg inst.stage2=hd:LABEL=Rocky-9-7-x86_64-dvd console=ttyS0,115200" },
        { "ks", "CentOS 7 x86_64", NULL,
          "ks=file:/ks.cfg inst.stage2=hd:LABEL=CentOS\\x207\\x20x86_64 console=ttyS0,115200" },
        { "inst.ks", "VMSTAMP-TESTDIST-1", "", /* empty extra: nothing added */
          "inst.ks=file:/ks.cfg inst.stage2=hd:LABEL=VMSTAMP-TESTDIST-1 console=ttyS0,115200" },
        { "inst.ks", "X", "quiet rd.live.check=0",
          "inst.ks=file:/ks.cfg inst.stage2=hd:LABEL=X console=ttyS0,115200 quiet rd.live.check=0" },
        { "ks", "  two  ", "a",
          "ks=file:/ks.cfg inst.stage2=hd:LABEL=\\x20\\x20two\\x20\\x20 console=ttyS0,115200 a" },
    };

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *s = installer_cmdline(cases[i].ks, cases[i].volid, cases[i].extra);
        assert_string_equal(s, cases[i].want);
        free(s);
    }
}

static void test_extra_args(void **state)
{
    static const char *const named[] = {
        "ks=http://x/ks.cfg", "quiet inst.ks=hd:sdb:/ks.cfg", "\tks=", "a  b\tinst.ks=x  c",
    };
    static const char *const fine[] = {
        "", "quiet", "inst.ksdevice=eth0", "noks=1", "xks=1", "inst.kss=1", "ks", "inst.ks", "a inst.k=1",
        "rd.ks=1",
    };

    (void)state;
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (!installer_args_name_kickstart(named[i]))
            fail_msg("'%s' names a kickstart", named[i]);
    for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++)
        if (installer_args_name_kickstart(fine[i]))
            fail_msg("'%s' does not name a kickstart", fine[i]);
}

static void test_sha256_hex(void **state)
{
    (void)state;
    assert_true(is_sha256_hex("23a1ac1175d8ccada7195863914ef1237f584ff25f73bd53da410d5fffd882b0"));
    assert_true(is_sha256_hex("23A1AC1175D8CCADA7195863914EF1237F584FF25F73BD53DA410D5FFFD882B0"));
    assert_false(is_sha256_hex("23a1ac1175d8ccada7195863914ef1237f584ff25f73bd53da410d5fffd882b"));
    assert_false(is_sha256_hex("23a1ac1175d8ccada7195863914ef1237f584ff25f73bd53da410d5fffd882b00"));
    assert_false(is_sha256_hex("g3a1ac1175d8ccada7195863914ef1237f584ff25f73bd53da410d5fffd882b0"));
    assert_false(is_sha256_hex(""));
    assert_false(is_sha256_hex(NULL));
}

static void feed(struct console_lines *c, const char *s)
{
    console_feed(c, s, strlen(s));
}

static void test_console_lines(void **state)
{
    struct console_lines c = { 0 };

    (void)state;
    /* Partial lines: nothing is complete until the newline. */
    feed(&c, "Linux version 5.");
    assert_string_equal(c.last, "");
    feed(&c, "14 (gcc)");
    assert_string_equal(c.last, "");
    feed(&c, "\nsecond\n");
    assert_string_equal(c.last, "second");
    /* Carriage returns, escape sequences' ESC, DEL: dropped; empty lines
     * leave the last line alone. */
    feed(&c, "\033[0;32m  OK  \033[0m Started\r\n\r\n\n");
    assert_string_equal(c.last, "[0;32m  OK  [0m Started");
    feed(&c, "a\x7f\x01" "b\tc\n");
    assert_string_equal(c.last, "abc");
    assert_string_equal(c.failed, "");
    /* The first failure line is kept; later ones do not replace it. */
    feed(&c, "INSTALLER: error: line 12: part /home: only /, /boot and swap are supported\r\n");
    feed(&c, "[    3.1] Kernel panic - not syncing: Attempted to kill init!\n");
    assert_string_equal(c.failed, "INSTALLER: error: line 12: part /home: only /, /boot and swap are supported");
    assert_string_equal(c.last, "[    3.1] Kernel panic - not syncing: Attempted to kill init!");

    /* A line longer than the buffer is cut, not overflowed. */
    struct console_lines l = { 0 };
    char big[3000];
    memset(big, 'x', sizeof big);
    console_feed(&l, big, sizeof big);
    console_feed(&l, "\n", 1);
    assert_int_equal(strlen(l.last), CONSOLE_LINE_MAX - 1);
    feed(&l, "next\n");
    assert_string_equal(l.last, "next");

    /* Feeding byte by byte gives the same as at once. */
    struct console_lines a = { 0 }, b = { 0 };
    const char *log = "x\r\nKernel panic - not syncing: VFS\r\n[ 9.0] reboot: Power down\r\n";
    feed(&a, log);
    for (const char *p = log; *p; p++)
        console_feed(&b, p, 1);
    assert_string_equal(a.last, b.last);
    assert_string_equal(a.failed, b.failed);
    assert_string_equal(a.failed, "Kernel panic - not syncing: VFS");
    assert_true(console_final(a.last));
}

static void test_console_predicates(void **state)
{
    (void)state;
    assert_true(console_failure("INSTALLER: error: no disk"));
    assert_true(console_failure("[    1.0] Kernel panic - not syncing: No working init found."));
    assert_false(console_failure("INSTALLER: installation complete"));
    assert_false(console_failure("error: something else"));
    assert_true(console_final("[   12.3] reboot: Power down"));
    assert_true(console_final("reboot: System halted"));
    assert_true(console_final("[ 5.0] reboot: Restarting system"));
    assert_false(console_final("Rebooting."));
    assert_false(console_final("INSTALLER: installation complete"));
}

static void test_console_tail(void **state)
{
    char text[] = "one\r\n\n  \ntwo\x1b[0m  \nthree\tx\nfour";
    char many[4096] = "";
    const char *lines[20];
    size_t n;

    (void)state;
    n = console_tail(text, lines, 3);
    assert_int_equal(n, 3);
    assert_string_equal(lines[0], "two [0m"); /* ESC is a blank, trailing blanks go */
    assert_string_equal(lines[1], "three\tx");
    assert_string_equal(lines[2], "four"); /* no final newline */

    for (int i = 1; i <= 30; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "line %d\n\n", i);
    n = console_tail(many, lines, 20);
    assert_int_equal(n, 20);
    assert_string_equal(lines[0], "line 11");
    assert_string_equal(lines[19], "line 30");

    char empty[] = "\n\r\n";
    assert_int_equal(console_tail(empty, lines, 20), 0);
    char one[] = "x";
    assert_int_equal(console_tail(one, lines, 0), 0);
}

static void test_elapsed(void **state)
{
    static const struct { long s; const char *want; } cases[] = {
        { 0, "0s" }, { 59, "59s" }, { 60, "1m00s" }, { 187, "3m07s" }, { 3599, "59m59s" },
        { 3600, "1h00m00s" }, { 3723, "1h02m03s" }, { 90061, "25h01m01s" },
    };
    char buf[32];

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        installer_elapsed(cases[i].s, buf, sizeof buf);
        assert_string_equal(buf, cases[i].want);
    }
}

/* The command line a build records: one --var per variable, however many
 * (the old build put them in a fixed argv and overflowed it past 53). */
static void test_install_command(void **state)
{
    const char *vars[101];
    char name[101][16];
    struct install_request req = {
        .iso = "/isos/Rocky 9.iso", .kickstart = "/src/kickstart/rocky9.ks", .name = "rocky9-install",
        .pool = "default", .network = "user", .size = 10ULL << 30, .memory_kib = 2048 * 1024, .vcpus = 2,
        .os_variant = "rocky9", .password_file = "/root/pw",
        .iso_sha256 = "23a1ac1175d8ccada7195863914ef1237f584ff25f73bd53da410d5fffd882b0",
    };

    (void)state;
    vars[0] = "HOSTNAME=localhost.localdomain";
    for (int i = 1; i <= 100; i++) {
        snprintf(name[i], sizeof name[i], "K%d=v %d", i, i);
        vars[i] = name[i];
    }
    req.vars = vars;
    req.nvars = 101;
    char *s = install_command_line(&req);
    assert_non_null(s);
    assert_true(strncmp(s, "vmstamp install --iso '/isos/Rocky 9.iso' --kickstart /src/kickstart/rocky9.ks "
                           "--name rocky9-install --os-variant rocky9 --size 10G --memory 2048 --vcpus 2 "
                           "--pool default --network user --root-password-file /root/pw --iso-sha256 "
                           "23a1ac1175d8ccada7195863914ef1237f584ff25f73bd53da410d5fffd882b0 "
                           "--var HOSTNAME=localhost.localdomain --var 'K1=v 1' --var 'K2=v 2' ",
                     strlen("vmstamp install --iso '/isos/Rocky 9.iso' --kickstart /src/kickstart/rocky9.ks "
                            "--name rocky9-install --os-variant rocky9 --size 10G --memory 2048 --vcpus 2 "
                            "--pool default --network user --root-password-file /root/pw --iso-sha256 "
                            "23a1ac1175d8ccada7195863914ef1237f584ff25f73bd53da410d5fffd882b0 "
                            "--var HOSTNAME=localhost.localdomain --var 'K1=v 1' --var 'K2=v 2' ")) == 0);
    const char *end = " --var 'K100=v 100'";
    assert_string_equal(s + strlen(s) - strlen(end), end);
    size_t count = 0;
    for (const char *p = s; (p = strstr(p, " --var ")); p++)
        count++;
    assert_int_equal(count, 101);
    free(s);

    /* Defaults are left out; sizes that are not whole units stay in bytes. */
    struct install_request min = { .iso = "a.iso", .kickstart = "k.ks", .name = "n", .size = 1536ULL << 20 };
    s = install_command_line(&min);
    assert_string_equal(s, "vmstamp install --iso a.iso --kickstart k.ks --name n --size 1536M");
    free(s);
    min.size = (1ULL << 30) + 1;
    min.memory_kib = 1536;
    s = install_command_line(&min);
    assert_string_equal(s, "vmstamp install --iso a.iso --kickstart k.ks --name n --size 1073741825 --memory 1536K");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cmdline),
        cmocka_unit_test(test_extra_args),
        cmocka_unit_test(test_sha256_hex),
        cmocka_unit_test(test_console_lines),
        cmocka_unit_test(test_console_predicates),
        cmocka_unit_test(test_console_tail),
        cmocka_unit_test(test_elapsed),
        cmocka_unit_test(test_install_command),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
