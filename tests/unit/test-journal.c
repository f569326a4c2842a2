/* Unit tests: the undo journal (write, read back, drop, replay of each
 * step kind against a fake, rollback, torn last line, libvirt volumes and
 * network reservations, journals from before those) and the claims. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/claim.h"
#include "base/error.h"
#include "base/fileio.h"
#include "base/journal.h"
#include "base/proc.h"

static char dir[] = "/tmp/vmstamp-test-journal.XXXXXX";

/* The fake records each undo call as one line. */
struct fake {
    char log[4096];
    int fail_file; /* make undo of a file fail */
    int fail_nethost; /* ... of a network reservation (a host that cannot be reached) */
};

static void logf_(struct fake *f, const char *fmt, const char *a, const char *b)
{
    char line[512];

    snprintf(line, sizeof line, fmt, a, b ? b : "");
    strncat(f->log, line, sizeof f->log - strlen(f->log) - 1);
}

static int fake_file(void *ctx, const char *path)
{
    struct fake *f = ctx;
    logf_(f, "file %s%s\n", path, NULL);
    return f->fail_file ? error("cannot remove '%s'", path) : 1;
}
static int fake_tree(void *ctx, const char *path)
{
    logf_(ctx, "tree %s%s\n", path, NULL);
    return 1;
}
static int fake_domain(void *ctx, const char *uri, const char *name)
{
    logf_(ctx, "domain %s %s\n", uri, name);
    return 1;
}
static int fake_process(void *ctx, pid_t pid, unsigned long long start)
{
    char p[32];
    snprintf(p, sizeof p, "%d", (int)pid);
    (void)start;
    logf_(ctx, "process %s%s\n", p, NULL);
    return 1;
}
static int fake_pool(void *ctx, const char *uri, const char *name)
{
    logf_(ctx, "pool %s %s\n", uri, name);
    return 0;
}

static int fake_volume(void *ctx, const char *uri, const char *pool, const char *name)
{
    char what[200];
    snprintf(what, sizeof what, "%s/%s", pool, name);
    logf_(ctx, "volume %s %s\n", uri, what);
    return 1;
}
static int fake_nethost(void *ctx, const char *uri, const char *network, const char *mac, const char *ip,
                        const char *name, const char *hostname)
{
    struct fake *f = ctx;
    char what[200];
    snprintf(what, sizeof what, "%s %s %s %s %s", network, mac, ip, name ? name : "-", hostname ? hostname : "-");
    logf_(f, "nethost %s %s\n", uri, what);
    return f->fail_nethost ? error("cannot connect to libvirt at '%s': unreachable", uri) : 1;
}

static int fake_knownhost(void *ctx, const char *path, const char *name)
{
    logf_(ctx, "knownhost %s %s\n", path, name);
    return 1;
}

static const struct journal_undo_ops fake_ops = {
    .file = fake_file, .tree = fake_tree, .domain = fake_domain, .process = fake_process, .pool = fake_pool,
    .volume = fake_volume, .nethost = fake_nethost, .knownhost = fake_knownhost,
};

static int setup(void **state)
{
    (void)state;
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return remove_tree(dir);
}

/* A run's steps as written, then read back as recovery would. */
static struct journal *write_sample(void)
{
    struct journal *j = journal_begin(dir, "clone a b");
    assert_non_null(j);
    assert_int_equal(journal_tree(j, "/run/vmstamp/keys.1-2"), 0);
    assert_int_equal(journal_pool(j, "qemu:///system", "default"), 1);
    assert_int_equal(journal_file(j, "/pool/.a.qcow2.vmstamp-tmp"), 2);
    int dropped = journal_file(j, "/pool/.b.qcow2.vmstamp-tmp");
    assert_int_equal(dropped, 3);
    assert_int_equal(journal_drop(j, dropped), 0); /* the exclusive create found it there: not ours */
    assert_int_equal(journal_process(j, getpid()), 4);
    assert_int_equal(journal_file(j, "/pool/a.qcow2"), 5);
    assert_int_equal(journal_domain(j, "qemu:///system", "a"), 6);
    assert_int_equal(journal_pool(j, "qemu:///system", "default"), 1); /* once is enough */
    return j;
}

static void test_write_read_replay(void **state)
{
    struct journal *j = write_sample();
    struct journal_record rec;
    struct fake f = { 0 };
    struct stat st;
    (void)state;

    assert_int_equal(stat(journal_path(j), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(journal_read(journal_path(j), &rec), 0);
    assert_int_equal(rec.pid, getpid());
    assert_true(rec.start == proc_start_time(getpid()));
    assert_string_equal(rec.command, "clone a b");
    assert_int_equal(rec.nsteps, 7);
    assert_int_equal(rec.steps[3].dropped, 1);
    assert_int_equal(rec.steps[4].kind, STEP_PROCESS);
    assert_int_equal(journal_replay(&rec, &fake_ops, &f), 0);
    /* Processes first, then newest first (the domain before its disk), the
     * dropped step left alone, pools last. */
    char want[1024];
    snprintf(want, sizeof want,
             "process %d\n"
             "domain qemu:///system a\n"
             "file /pool/a.qcow2\n"
             "file /pool/.a.qcow2.vmstamp-tmp\n"
             "tree /run/vmstamp/keys.1-2\n"
             "pool qemu:///system default\n",
             (int)getpid());
    assert_string_equal(f.log, want);
    journal_record_release(&rec);
    char path[4096];
    snprintf(path, sizeof path, "%s", journal_path(j));
    journal_free(j); /* uncommitted: the file stays for recovery */
    assert_int_equal(access(path, F_OK), 0);
    unlink(path);
}

static void test_commit_and_rollback(void **state)
{
    struct journal *j = write_sample();
    struct fake f = { 0 };
    char path[4096];
    (void)state;

    snprintf(path, sizeof path, "%s", journal_path(j));
    assert_int_equal(journal_commit(j), 0);
    assert_int_not_equal(access(path, F_OK), 0);
    journal_free(j);

    j = write_sample();
    assert_int_equal(journal_rollback(j, &fake_ops, &f), 0);
    assert_non_null(strstr(f.log, "domain qemu:///system a\n"));
    assert_int_not_equal(access(path, F_OK), 0);
    journal_free(j);

    /* An undo that fails keeps the journal: the next run tries again. */
    j = write_sample();
    f = (struct fake){ .fail_file = 1 };
    assert_int_equal(journal_rollback(j, &fake_ops, &f), -1);
    error_clear();
    assert_int_equal(access(path, F_OK), 0);
    journal_free(j);
    unlink(path);
}

/* A crash in the middle of a write leaves a torn last line: ignored. */
static void test_torn_line(void **state)
{
    char path[4096];
    struct journal_record rec;
    struct fake f = { 0 };
    (void)state;

    snprintf(path, sizeof path, "%s/torn.json", dir);
    const char *text = "{\"pid\":1,\"start\":2,\"command\":\"install x\",\"time\":\"t\"}\n"
                       "{\"step\":\"file\",\"path\":\"/p/x.qcow2\"}\n"
                       "{\"step\":\"domain\",\"uri\":\"qemu:///sys";
    assert_int_equal(write_file_atomic(path, text, strlen(text), 0600), 0);
    assert_int_equal(journal_read(path, &rec), 0);
    assert_int_equal(rec.nsteps, 1);
    assert_int_equal(journal_replay(&rec, &fake_ops, &f), 0);
    assert_string_equal(f.log, "file /p/x.qcow2\n");
    journal_record_release(&rec);

    const char *bad = "{\"pid\":1}\nnot json\n";
    assert_int_equal(write_file_atomic(path, bad, strlen(bad), 0600), 0);
    assert_int_equal(journal_read(path, &rec), -1);
    assert_non_null(strstr(error_message(), "line 2"));
    error_clear();
}

/* Volumes and network reservations on other hosts: written with their
 * keys, read back, replayed with the volumes after the domains (a domain
 * may use one), a dropped volume (it was there before: not ours) left
 * alone; an undo that fails keeps the journal. */
static void test_volume_nethost(void **state)
{
    const char *h2 = "qemu+ssh://root@kvm2/system";
    struct journal *j = journal_begin(dir, "fleet up lab.yaml");
    struct journal_record rec;
    struct fake f = { 0 };
    char path[4096];
    (void)state;

    assert_non_null(j);
    snprintf(path, sizeof path, "%s", journal_path(j));
    assert_int_equal(journal_pool(j, h2, "default"), 0);
    assert_int_equal(journal_volume(j, h2, "default", "rocky9.qcow2"), 1);
    assert_int_equal(journal_nethost(j, h2, "default", "52:54:c0:a8:7a:0a", "192.168.122.10", "web-1",
                                     "web-1.lab.example.com"),
                     2);
    assert_int_equal(journal_volume(j, h2, "default", "old.qcow2"), 3);
    assert_int_equal(journal_drop(j, 3), 0); /* volume_upload said VOLUME_EXISTED */
    assert_int_equal(journal_file(j, "/pool/web-1.qcow2"), 4);
    assert_int_equal(journal_domain(j, h2, "web-1"), 5);
    assert_int_equal(journal_nethost(j, "qemu:///system", "lab", "52:54:0a:00:00:05", "10.0.0.5", NULL, NULL), 6);

    /* On disk: the keys each kind uses, nothing else. */
    char *text = read_file(path, NULL);
    assert_non_null(text);
    assert_non_null(strstr(text, "{\"step\":\"volume\",\"uri\":\"qemu+ssh:\\/\\/root@kvm2\\/system\","
                                 "\"name\":\"rocky9.qcow2\",\"pool\":\"default\"}\n"));
    assert_non_null(strstr(text, "{\"step\":\"nethost\",\"uri\":\"qemu+ssh:\\/\\/root@kvm2\\/system\","
                                 "\"name\":\"web-1\",\"network\":\"default\",\"mac\":\"52:54:c0:a8:7a:0a\","
                                 "\"ip\":\"192.168.122.10\",\"hostname\":\"web-1.lab.example.com\"}\n"));
    assert_non_null(strstr(text, "{\"step\":\"nethost\",\"uri\":\"qemu:\\/\\/\\/system\",\"network\":\"lab\","
                                 "\"mac\":\"52:54:0a:00:00:05\",\"ip\":\"10.0.0.5\"}\n"));
    free(text);

    assert_int_equal(journal_read(path, &rec), 0);
    assert_int_equal(rec.nsteps, 7);
    assert_int_equal(rec.steps[1].kind, STEP_VOLUME);
    assert_string_equal(rec.steps[1].pool, "default");
    assert_string_equal(rec.steps[1].name, "rocky9.qcow2");
    assert_null(rec.steps[1].network);
    assert_int_equal(rec.steps[2].kind, STEP_NETHOST);
    assert_string_equal(rec.steps[2].network, "default");
    assert_string_equal(rec.steps[2].mac, "52:54:c0:a8:7a:0a");
    assert_string_equal(rec.steps[2].ip, "192.168.122.10");
    assert_string_equal(rec.steps[2].name, "web-1");
    assert_string_equal(rec.steps[2].hostname, "web-1.lab.example.com");
    assert_null(rec.steps[2].pool);
    assert_int_equal(rec.steps[3].dropped, 1);
    assert_null(rec.steps[6].name);
    assert_null(rec.steps[6].hostname);
    assert_int_equal(journal_replay(&rec, &fake_ops, &f), 0);
    assert_string_equal(f.log, "nethost qemu:///system lab 52:54:0a:00:00:05 10.0.0.5 - -\n"
                               "domain qemu+ssh://root@kvm2/system web-1\n"
                               "file /pool/web-1.qcow2\n"
                               "nethost qemu+ssh://root@kvm2/system default 52:54:c0:a8:7a:0a 192.168.122.10 web-1 "
                               "web-1.lab.example.com\n"
                               "volume qemu+ssh://root@kvm2/system default/rocky9.qcow2\n"
                               "pool qemu+ssh://root@kvm2/system default\n");
    journal_record_release(&rec);

    /* A host that cannot be reached: the rollback fails, the rest is still
     * undone, and the journal stays for the next run. */
    f = (struct fake){ .fail_nethost = 1 };
    assert_int_equal(journal_rollback(j, &fake_ops, &f), -1);
    assert_non_null(strstr(error_message(), "cannot connect to libvirt at 'qemu:///system'"));
    error_clear();
    assert_non_null(strstr(f.log, "volume qemu+ssh://root@kvm2/system default/rocky9.qcow2\n"));
    assert_int_equal(access(path, F_OK), 0);
    f = (struct fake){ 0 };
    assert_int_equal(journal_rollback(j, &fake_ops, &f), 0);
    assert_int_not_equal(access(path, F_OK), 0);
    journal_free(j);
}

/* A journal written before volumes and reservations existed reads as it
 * did; a volume or nethost step without its keys is refused. */
static void test_old_journal(void **state)
{
    char path[4096];
    struct journal_record rec;
    struct fake f = { 0 };
    (void)state;

    snprintf(path, sizeof path, "%s/old.json", dir);
    const char *old = "{\"pid\":1,\"start\":2,\"command\":\"clone a\",\"time\":\"t\"}\n"
                      "{\"step\":\"pool\",\"uri\":\"qemu:\\/\\/\\/system\",\"name\":\"default\"}\n"
                      "{\"step\":\"file\",\"path\":\"\\/pool\\/a.qcow2\"}\n"
                      "{\"step\":\"process\",\"pid\":77,\"start\":5}\n"
                      "{\"step\":\"domain\",\"uri\":\"qemu:\\/\\/\\/system\",\"name\":\"a\"}\n"
                      "{\"drop\":1}\n";
    assert_int_equal(write_file_atomic(path, old, strlen(old), 0600), 0);
    assert_int_equal(journal_read(path, &rec), 0);
    assert_int_equal(rec.nsteps, 4);
    assert_null(rec.steps[0].pool);
    assert_null(rec.steps[3].mac);
    assert_int_equal(journal_replay(&rec, &fake_ops, &f), 0);
    assert_string_equal(f.log, "process 77\n"
                               "domain qemu:///system a\n"
                               "pool qemu:///system default\n");
    journal_record_release(&rec);

    const char *bad = "{\"pid\":1,\"start\":2,\"command\":\"fleet\",\"time\":\"t\"}\n"
                      "{\"step\":\"nethost\",\"uri\":\"qemu:\\/\\/\\/system\",\"network\":\"default\"}\n";
    assert_int_equal(write_file_atomic(path, bad, strlen(bad), 0600), 0);
    assert_int_equal(journal_read(path, &rec), -1);
    assert_non_null(strstr(error_message(), "line 2: nethost step without its keys"));
    error_clear();
    unlink(path);
}

static void test_proc(void **state)
{
    (void)state;
    unsigned long long me = proc_start_time(getpid());
    assert_true(me > 0);
    assert_true(proc_alive(getpid(), me));
    assert_false(proc_alive(getpid(), me + 1)); /* a reused pid is another process */
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    waitpid(child, NULL, 0);
    assert_int_equal(proc_start_time(child), 0);
    char want[64];
    snprintf(want, sizeof want, "%d-%llu", (int)getpid(), me);
    assert_string_equal(proc_run_id(), want);
}

/* Claims: exclusive across processes, stale when the owner dies. */
static void test_claims(void **state)
{
    struct claims *c = claims_new();
    pid_t holder;
    int pipefd[2];
    (void)state;

    assert_int_equal(claim(c, "test:///unit", "domain", "web-1", &holder), 0);
    assert_int_equal(claim(c, "test:///unit", "domain", "web-1", &holder), 0); /* already ours */
    /* Another process cannot take it while we live. */
    assert_int_equal(pipe(pipefd), 0);
    pid_t child = fork();
    if (child == 0) {
        struct claims *o = claims_new();
        pid_t h = 0;
        int r = claim(o, "test:///unit", "domain", "web-1", &h);
        char ok = r == -1 && h == getppid() ? 'y' : 'n';
        /* ... but can take another name, and dies holding it (kill -9 alike). */
        if (claim(o, "test:///unit", "domain", "web-2", &h) != 0)
            ok = 'n';
        if (write(pipefd[1], &ok, 1) != 1)
            _exit(2);
        pause();
        _exit(0);
    }
    char ok = 0;
    assert_int_equal(read(pipefd[0], &ok, 1), 1);
    assert_int_equal(ok, 'y');
    assert_int_equal(claim(c, "test:///unit", "domain", "web-2", &holder), -1);
    assert_int_equal(holder, child);
    assert_null(error_message()); /* the caller names the thing */
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    /* The owner is dead: its claim is stale and is taken over. */
    assert_int_equal(claim(c, "test:///unit", "domain", "web-2", &holder), 0);
    claim_release(c, "test:///unit", "domain", "web-2");
    claims_free(c);
    /* Released claims are gone; nothing stale is left to sweep. */
    c = claims_new();
    assert_int_equal(claim(c, "test:///unit", "domain", "web-1", &holder), 0);
    claims_free(c);
    assert_int_equal(claims_sweep_stale() >= 0, 1);
    close(pipefd[0]);
    close(pipefd[1]);
}

/* A fleet clone's known_hosts lines: journaled with the file and the name,
 * read back, undone by name; a step without them is refused. */
static void test_knownhost(void **state)
{
    (void)state;
    struct journal *j = journal_begin(dir, "fleet apply");
    struct journal_record rec = { 0 };
    struct fake f = { 0 };
    char path[4096];

    assert_non_null(j);
    assert_int_equal(journal_knownhost(j, "/var/lib/vmstamp/fleet/lab.known_hosts", "web-01"), 0);
    assert_int_equal(journal_file(j, "/var/lib/vmstamp/fleet/lab.known_hosts.1-2.tmp"), 1);
    snprintf(path, sizeof path, "%s", journal_path(j));
    assert_int_equal(journal_read(path, &rec), 0);
    assert_int_equal(rec.nsteps, 2);
    assert_int_equal(rec.steps[0].kind, STEP_KNOWNHOST);
    assert_string_equal(rec.steps[0].path, "/var/lib/vmstamp/fleet/lab.known_hosts");
    assert_string_equal(rec.steps[0].name, "web-01");
    assert_int_equal(journal_replay(&rec, &fake_ops, &f), 0);
    assert_string_equal(f.log, "file /var/lib/vmstamp/fleet/lab.known_hosts.1-2.tmp\n"
                               "knownhost /var/lib/vmstamp/fleet/lab.known_hosts web-01\n");
    journal_record_release(&rec);
    f = (struct fake){ 0 };
    assert_int_equal(journal_rollback(j, &fake_ops, &f), 0);
    journal_free(j);

    snprintf(path, sizeof path, "%s/bad.json", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("{\"pid\":1,\"start\":2,\"command\":\"fleet apply\",\"time\":\"x\"}\n"
          "{\"step\":\"knownhost\",\"path\":\"\\/x\"}\n", fp);
    fclose(fp);
    assert_int_equal(journal_read(path, &rec), -1);
    assert_non_null(strstr(error_message(), "line 2: knownhost step without its keys"));
    error_clear();
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_read_replay),
        cmocka_unit_test(test_commit_and_rollback),
        cmocka_unit_test(test_torn_line),
        cmocka_unit_test(test_volume_nethost), cmocka_unit_test(test_knownhost),
        cmocka_unit_test(test_old_journal),
        cmocka_unit_test(test_proc),
        cmocka_unit_test(test_claims),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
