/* proc.c: processes by pid and start time. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/proc.h"

unsigned long long proc_start_time(pid_t pid)
{
    char path[64], buf[1024];
    FILE *fp;
    size_t n;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    fp = fopen(path, "re");
    if (!fp)
        return 0;
    n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    /* The command name (field 2) may hold spaces and ')': skip past the last ')'. */
    char *p = strrchr(buf, ')');
    if (!p)
        return 0;
    p++;
    /* Field 3 is the state: a zombie has ended (it only waits to be reaped). */
    if (p[0] == ' ' && p[1] == 'Z')
        return 0;
    /* Fields 3.. follow; the start time is field 22. */
    for (int field = 3; field < 22; field++) {
        p = strchr(p + 1, ' ');
        if (!p)
            return 0;
    }
    return strtoull(p + 1, NULL, 10);
}

int proc_alive(pid_t pid, unsigned long long start)
{
    if (pid <= 0)
        return 0;
    unsigned long long s = proc_start_time(pid);
    return s != 0 && s == start;
}

const char *proc_run_id(void)
{
    static char id[64];
    static pid_t for_pid;

    if (for_pid != getpid()) { /* a forked child is another run */
        for_pid = getpid();
        snprintf(id, sizeof id, "%d-%llu", (int)for_pid, proc_start_time(for_pid));
    }
    return id;
}

/* 1 if PID has PATH open (or mapped as its cwd/root: not counted). */
static int holds(const char *pid, const char *path)
{
    char dir[64], link[PATH_MAX], target[PATH_MAX];
    DIR *d;
    struct dirent *e;
    int found = 0;

    snprintf(dir, sizeof dir, "/proc/%.40s/fd", pid);
    d = opendir(dir);
    if (!d)
        return 0;
    while (!found && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(link, sizeof link, "%.63s/%.255s", dir, e->d_name);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n <= 0)
            continue;
        target[n] = '\0';
        /* A deleted file reads back as "PATH (deleted)"; a PATH ending in
         * '/' is a directory: any file below it counts. */
        size_t len = strlen(path);
        if (strncmp(target, path, len) == 0 &&
            (path[len - 1] == '/' || target[len] == '\0' || strcmp(target + len, " (deleted)") == 0))
            found = 1;
    }
    closedir(d);
    return found;
}

static int comm_starts(const char *pid, const char *prefix)
{
    char path[64], comm[64] = "";
    FILE *fp;

    snprintf(path, sizeof path, "/proc/%.40s/comm", pid);
    fp = fopen(path, "re");
    if (!fp)
        return 0;
    if (!fgets(comm, sizeof comm, fp))
        comm[0] = '\0';
    fclose(fp);
    return strncmp(comm, prefix, strlen(prefix)) == 0;
}

int proc_kill_holders(const char *path, const char *prefix)
{
    pid_t victims[64];
    int n = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;

    if (!d)
        return 0;
    while ((e = readdir(d)) && n < 64) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        if (atoi(e->d_name) == getpid())
            continue;
        if (comm_starts(e->d_name, prefix) && holds(e->d_name, path))
            victims[n++] = (pid_t)atoi(e->d_name);
    }
    closedir(d);
    for (int i = 0; i < n; i++)
        kill(victims[i], SIGKILL);
    /* Wait until they are gone (qemu releases its image locks on exit). */
    for (int tries = 0; tries < 200; tries++) {
        int left = 0;
        for (int i = 0; i < n; i++)
            if (kill(victims[i], 0) == 0) {
                /* A zombie still "exists": ours to reap only if it is our child. */
                char st[64], buf[512] = "";
                snprintf(st, sizeof st, "/proc/%d/stat", (int)victims[i]);
                FILE *fp = fopen(st, "re");
                if (fp) {
                    if (!fgets(buf, sizeof buf, fp))
                        buf[0] = '\0';
                    fclose(fp);
                }
                char *p = strrchr(buf, ')');
                if (!p || p[2] != 'Z')
                    left++;
            }
        if (!left)
            break;
        struct timespec ts = { 0, 50 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    return n;
}
