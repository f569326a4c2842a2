/* perms.c: see perms.h. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "adapters/command.h"
#include "adapters/perms.h"
#include "base/cleanup.h"
#include "base/error.h"
#include "base/xalloc.h"
#include "pure/dac.h"

/* The child's exit status: 0 nothing blocks, 1 + I directory I of the
 * path's search list, FILE_BLOCKED the file, SETUP_FAILED it could not
 * take on the user. */
#define MAX_DIRS 200
#define FILE_BLOCKED 254
#define SETUP_FAILED 255

void perms_user_init(struct perms_user *u, uid_t uid, gid_t gid)
{
    struct passwd *pw = getpwuid(uid);

    memset(u, 0, sizeof *u);
    u->uid = uid;
    u->gid = gid;
    u->name = pw ? xstrdup(pw->pw_name) : xasprintf("%lu", (unsigned long)uid);
    if (pw) {
        int n = 0;
        getgrouplist(pw->pw_name, gid, NULL, &n);
        if (n > 0) {
            u->groups = xcalloc((size_t)n, sizeof *u->groups);
            if (getgrouplist(pw->pw_name, gid, u->groups, &n) < 0)
                n = 0;
        }
        u->ngroups = n;
    }
    if (!u->ngroups) { /* just its group */
        free(u->groups);
        u->groups = xcalloc(1, sizeof *u->groups);
        u->groups[0] = gid;
        u->ngroups = 1;
    }
}

void perms_user_release(struct perms_user *u)
{
    free(u->name);
    free(u->groups);
    memset(u, 0, sizeof *u);
}

int perms_blocker(const struct perms_user *u, const char *path, int read, char **blocker)
{
    CLEANUP_STRV char **dirs = dac_search_dirs(path);
    size_t n = 0;
    pid_t pid;
    int status;

    *blocker = NULL;
    if (!dirs)
        return error("cannot check '%s': not an absolute path", path);
    if (geteuid() != 0)
        return error("cannot check what user %s can open: not root", u->name);
    while (dirs[n])
        n++;
    if (n > MAX_DIRS)
        n = MAX_DIRS;
    /* Everything the child needs is ready: it only makes system calls. */
    pid = fork();
    if (pid < 0)
        return error("cannot fork: %s", strerror(errno));
    if (pid == 0) {
        if (setgroups((size_t)u->ngroups, u->groups) < 0 || setgid(u->gid) < 0 || setuid(u->uid) < 0)
            _exit(SETUP_FAILED);
        for (size_t i = 0; i < n; i++)
            if (access(dirs[i], X_OK) < 0)
                _exit(errno == EACCES ? (int)(1 + i) : 0);
        if (read && access(path, R_OK) < 0 && errno == EACCES)
            _exit(FILE_BLOCKED);
        _exit(0);
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return error("cannot wait for the permission check: %s", strerror(errno));
    if (!WIFEXITED(status) || WEXITSTATUS(status) == SETUP_FAILED)
        return error("cannot take on user %s to check what it can open", u->name);
    int code = WEXITSTATUS(status);
    if (code == 0)
        return 0;
    if (code == FILE_BLOCKED) {
        *blocker = xstrdup(path); /* caller frees */
        return 2;
    }
    /* Any other status is not the check's own (a tool wrapping this
     * process, such as valgrind, can set it): no directory to name. */
    if ((size_t)code > n)
        return error("the check of what user %s can open ended unexpectedly (exit %d)", u->name, code);
    *blocker = xstrdup(dirs[code - 1]); /* caller frees */
    return 1;
}

int perms_grant_search(const struct perms_user *u, const char *dir)
{
    struct command *cmd = command_new("setfacl");
    int r;

    command_add(cmd, "-m");
    command_addf(cmd, "u:%s:x", u->name);
    command_add(cmd, "--");
    command_add(cmd, dir);
    r = command_run(cmd, NULL);
    command_free(cmd);
    return r;
}
