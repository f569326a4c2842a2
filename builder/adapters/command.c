/* command.c: see command.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "adapters/command.h"
#include "base/error.h"
#include "base/xalloc.h"
#include "pure/util.h"

struct command {
    char **argv;
    size_t argc, alloc;
    int timeout;
    int timed_out;
    int exit_status;
};

static FILE *dry_run_sink;
static command_dry_run_fn dry_run_fn;
static void *dry_run_opaque;

void command_set_dry_run(FILE *sink)
{
    dry_run_sink = sink;
}

void command_set_dry_run_callback(command_dry_run_fn fn, void *opaque)
{
    dry_run_fn = fn;
    dry_run_opaque = opaque;
}

struct command *command_new(const char *program)
{
    struct command *cmd = xcalloc(1, sizeof *cmd);

    cmd->exit_status = -1;
    command_add(cmd, program);
    return cmd;
}

void command_add(struct command *cmd, const char *arg)
{
    if (cmd->argc + 2 > cmd->alloc) {
        cmd->alloc = cmd->alloc ? cmd->alloc * 2 : 16;
        cmd->argv = xreallocarray(cmd->argv, cmd->alloc, sizeof *cmd->argv);
    }
    cmd->argv[cmd->argc] = xstrdup(arg);
    cmd->argv[++cmd->argc] = NULL;
}

void command_addf(struct command *cmd, const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        xalloc_die();
    va_end(ap);
    command_add(cmd, s);
    free(s);
}

void command_set_timeout(struct command *cmd, int seconds)
{
    cmd->timeout = seconds;
}

int command_timed_out(const struct command *cmd)
{
    return cmd->timed_out;
}

int command_exit_status(const struct command *cmd)
{
    return cmd->exit_status;
}

void command_free(struct command *cmd)
{
    if (!cmd)
        return;
    for (size_t i = 0; i < cmd->argc; i++)
        free(cmd->argv[i]);
    free(cmd->argv);
    free(cmd);
}

char *command_to_string(const struct command *cmd)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);

    if (!fp)
        xalloc_die();
    for (size_t i = 0; i < cmd->argc; i++) {
        CLEANUP_FREE char *word = shell_quote(cmd->argv[i]);
        if (i)
            fputc(' ', fp);
        fputs(word, fp);
    }
    fclose(fp);
    return buf; /* caller frees */
}

struct buffer {
    char *data;
    size_t len;
};

static void buffer_append(struct buffer *b, const char *p, size_t n)
{
    b->data = xrealloc(b->data, b->len + n + 1);
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

char *command_stderr_summary(const char *s, size_t max)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *fp;

    if (max < 4)
        max = 4;
    fp = open_memstream(&buf, &len);
    if (!fp)
        xalloc_die();
    while (s && *s) {
        size_t n = strcspn(s, "\n");
        const char *start = s, *end = s + n;

        s = *end ? end + 1 : end;
        while (start < end && (*start == ' ' || *start == '\t' || *start == '\r'))
            start++;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
            end--;
        if (start == end)
            continue;
        if (ftello(fp) > 0)
            fputs("; ", fp);
        fwrite(start, 1, (size_t)(end - start), fp);
    }
    if (fclose(fp) != 0)
        xalloc_die();
    if (len > max) {
        /* Cut at a character boundary (not inside a UTF-8 sequence). */
        size_t cut = max - 3;
        while (cut > 0 && ((unsigned char)buf[cut] & 0xc0) == 0x80)
            cut--;
        memcpy(buf + cut, "...", 4);
    }
    return buf; /* caller frees */
}

static void child_exec(struct command *cmd, int out_fd, int err_fd)
{
    int null_fd = open("/dev/null", O_RDONLY);

    if (null_fd < 0 || dup2(null_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
        _exit(127);
    closefrom(3);
    setenv("LC_ALL", "C", 1);
    signal(SIGPIPE, SIG_DFL);
    setpgid(0, 0); /* own group, so a timeout kills its children too */
    execvp(cmd->argv[0], cmd->argv);
    fprintf(stderr, "cannot run %s: %s\n", cmd->argv[0], strerror(errno));
    _exit(127);
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Set CMD's outcome from its exit status (or signal/timeout) and stderr;
 * the one-line error if it failed. */
static int finish(struct command *cmd, int signaled, int sig, const char *err)
{
    int ret = 0;

    if (cmd->timed_out) {
        ret = error("%s timed out after %d s", cmd->argv[0], cmd->timeout);
    } else if (signaled) {
        ret = error("%s was killed by signal %d", cmd->argv[0], sig);
    } else if (cmd->exit_status != 0) {
        CLEANUP_FREE char *msg = command_stderr_summary(err, COMMAND_STDERR_MAX);
        ret = error("%s failed (exit %d)%s%s", cmd->argv[0], cmd->exit_status, *msg ? ": " : "", msg);
    }
    if (err && *err && verbose)
        fputs(err, stderr);
    return ret;
}

/* The test hook: the callback's stdout, stderr and exit status stand in for a run. */
static int run_dry(struct command *cmd, char **out)
{
    CLEANUP_FREE char *o = NULL;
    CLEANUP_FREE char *e = NULL;
    int status = dry_run_fn((const char *const *)cmd->argv, &o, &e, dry_run_opaque);

    if (status < 0 || status > 255)
        return error("%s: the dry-run callback answered exit status %d", cmd->argv[0], status);
    cmd->exit_status = status;
    if (out)
        *out = o ? steal_pointer(&o) : xstrdup("");
    return finish(cmd, 0, 0, e);
}

int command_run(struct command *cmd, char **out)
{
    int outp[2], errp[2], status = 0;
    struct buffer obuf = { 0 }, ebuf = { 0 };
    CLEANUP_FREE char *line = command_to_string(cmd);
    double deadline = cmd->timeout > 0 ? now() + cmd->timeout : 0;
    pid_t pid;
    int ret;

    if (out)
        *out = NULL;
    cmd->timed_out = 0;
    cmd->exit_status = -1;
    debug("run: %s", line);
    if (dry_run_sink)
        fprintf(dry_run_sink, "%s\n", line);
    if (dry_run_fn)
        return run_dry(cmd, out);
    if (dry_run_sink) {
        cmd->exit_status = 0;
        if (out)
            *out = xstrdup("");
        return 0;
    }
    if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0)
        return error("cannot create a pipe: %s", strerror(errno));
    pid = fork();
    if (pid < 0)
        return error("cannot fork: %s", strerror(errno));
    if (pid == 0)
        child_exec(cmd, outp[1], errp[1]);
    setpgid(pid, pid);
    close(outp[1]);
    close(errp[1]);

    struct pollfd fds[2] = { { outp[0], POLLIN, 0 }, { errp[0], POLLIN, 0 } };
    int open_fds = 2;
    while (open_fds > 0) {
        int wait_ms = -1;
        if (deadline) {
            double left = deadline - now();
            if (left <= 0) {
                kill(-pid, SIGKILL);
                cmd->timed_out = 1;
                break;
            }
            wait_ms = (int)(left * 1000) + 1;
        }
        int r = poll(fds, 2, wait_ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            break;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !fds[i].revents)
                continue;
            char chunk[8192];
            ssize_t n = read(fds[i].fd, chunk, sizeof chunk);
            if (n > 0) {
                buffer_append(i == 0 ? &obuf : &ebuf, chunk, n);
            } else if (n == 0 || errno != EINTR) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0)
            close(fds[i].fd);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(status))
        cmd->exit_status = WEXITSTATUS(status);

    if (out)
        *out = obuf.data ? obuf.data : xstrdup("");
    else
        free(obuf.data);
    ret = finish(cmd, WIFSIGNALED(status), WIFSIGNALED(status) ? WTERMSIG(status) : 0, ebuf.data);
    free(ebuf.data);
    return ret;
}
