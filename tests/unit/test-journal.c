/* Unit tests: the undo journal (write, read back, drop, replay of each
 * step kind against a fake, rollback, torn last line) and the claims. */
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

static const struct journal_undo_ops fake_ops = {
    .file = fake_file, .tree = fake_tree, .domain = fake_domain, .process = fake_process, .pool = fake_pool,
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_read_replay),
        cmocka_unit_test(test_commit_and_rollback),
        cmocka_unit_test(test_torn_line),
        cmocka_unit_test(test_proc),
        cmocka_unit_test(test_claims),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
