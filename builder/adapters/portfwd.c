/* portfwd.c: see portfwd.h. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "adapters/command.h"
#include "adapters/portfwd.h"
#include "base/cleanup.h"
#include "base/error.h"
#include "base/fileio.h"
#include "base/xalloc.h"
#include "pure/util.h"

/* Whether PROGRAM is an executable in $PATH. */
static int in_path(const char *program)
{
    const char *path = getenv("PATH");

    if (!path || !*path)
        path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (const char *p = path;;) {
        size_t n = strcspn(p, ":");
        char full[PATH_MAX];
        if (n > 0 && snprintf(full, sizeof full, "%.*s/%s", (int)n, p, program) < (int)sizeof full &&
            access(full, X_OK) == 0)
            return 1;
        if (!p[n])
            return 0;
        p += n + 1;
    }
}

static int run_argv(char **argv)
{
    struct command *cmd = command_new(argv[0]);

    for (size_t i = 1; argv[i]; i++)
        command_add(cmd, argv[i]);
    int r = command_run(cmd, NULL);
    command_free(cmd);
    return r;
}

/* iptables RULE of F: ADD inserts it unless there (-C), else deletes every copy. */
static int iptables_rule(const char *domain, const struct port_forward *f, enum forward_rule rule, int add)
{
    for (int guard = 0; guard < 16; guard++) {
        CLEANUP_STRV char **check = forward_iptables_argv(f, domain, rule, "-C");
        int there = run_argv(check) == 0;
        error_clear();
        if (there == add)
            return 0;
        CLEANUP_STRV char **change = forward_iptables_argv(f, domain, rule, add ? "-I" : "-D");
        if (run_argv(change) < 0)
            return -1;
    }
    return 0;
}

static int nft_run(const char *script)
{
    struct command *cmd = command_new("nft");

    command_add(cmd, script);
    int r = command_run(cmd, NULL);
    command_free(cmd);
    return r;
}

int portfwd_add(const char *domain, const struct port_forward *f, size_t n)
{
    int nft = in_path("nft"), ipt = in_path("iptables");
    char what[32];

    if (n && !nft && !ipt)
        return error("cannot forward host port %u of '%s': neither nft nor iptables is installed (apt-get install "
                     "nftables)", f[0].host_port, domain);
    for (size_t i = 0; i < n; i++) {
        forward_format(&f[i], what, sizeof what);
        if (nft) {
            CLEANUP_FREE char *script = forward_nft_add(&f[i]);
            if (nft_run(script) < 0) {
                CLEANUP_FREE char *why = xstrdup(error_message() ? error_message() : "");
                if (strstr(why, "File exists"))
                    return error_replace("cannot forward host port %u/%s to '%s': it is forwarded to another "
                                         "guest (nft list map ip %s %s)", f[i].host_port, forward_proto(&f[i]),
                                         domain, FORWARD_NFT_TABLE, FORWARD_NFT_MAP);
                return error_replace("cannot forward %s to '%s' with nft: %s", what, domain, why);
            }
        } else if (iptables_rule(domain, &f[i], FORWARD_RULE_PREROUTING, 1) < 0 ||
                   iptables_rule(domain, &f[i], FORWARD_RULE_OUTPUT, 1) < 0) {
            return -1;
        }
        /* libvirt's own FORWARD chains reject new connections into its networks. */
        if (ipt && iptables_rule(domain, &f[i], FORWARD_RULE_ACCEPT, 1) < 0)
            return -1;
        debug("forward %s to %s:%u added for %s", what, f[i].address, f[i].guest_port, domain);
    }
    return 0;
}

int portfwd_remove(const char *domain, const struct port_forward *f, size_t n)
{
    int nft = in_path("nft"), ipt = in_path("iptables"), ret = 0;

    for (size_t i = 0; i < n; i++) {
        if (nft) {
            CLEANUP_FREE char *script = forward_nft_remove(&f[i]);
            if (nft_run(script) < 0)
                debug("host port %u/%s of %s left as it is: %s", f[i].host_port, forward_proto(&f[i]), domain,
                      error_message());
            error_clear();
        }
        if (ipt) {
            if (!nft && (iptables_rule(domain, &f[i], FORWARD_RULE_PREROUTING, 0) < 0 ||
                         iptables_rule(domain, &f[i], FORWARD_RULE_OUTPUT, 0) < 0))
                ret = -1;
            if (iptables_rule(domain, &f[i], FORWARD_RULE_ACCEPT, 0) < 0)
                ret = -1;
        }
    }
    return ret;
}

char *portfwd_hook_script(const char *vmstamp)
{
    CLEANUP_FREE char *quoted = shell_quote(vmstamp);
    char *script = xasprintf(
        "#!/bin/sh\n"
        "# vmstamp's libvirt qemu hook: the port forwards of vmstamp's clones\n"
        "# (vmstamp(1), PORT FORWARDS). Written by vmstamp, which rewrites it when\n"
        "# its own path changes; hooks/qemu and the other scripts here are libvirt's\n"
        "# to run, as before. The domain XML comes on stdin.\n"
        "case \"$2\" in\n"
        "start|stopped|reconnect) ;;\n"
        "*) exit 0 ;;\n"
        "esac\n"
        "VMSTAMP=%s\n"
        "if [ ! -x \"$VMSTAMP\" ]; then\n"
        "  echo \"vmstamp hook: $VMSTAMP is gone: reinstall vmstamp, or remove $0\" >&2\n"
        "  exit 0\n"
        "fi\n"
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
        "export PATH\n"
        "exec \"$VMSTAMP\" hook qemu \"$@\"\n",
        quoted);
    return script; /* caller frees */
}

int portfwd_hook_install(int *created)
{
    char self[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);

    *created = 0;
    if (len <= 0)
        return error("cannot find vmstamp's own path (/proc/self/exe): %s", strerror(errno));
    self[len] = '\0';
    CLEANUP_FREE char *script = portfwd_hook_script(self);
    CLEANUP_FREE char *old = read_file(PORTFWD_HOOK, NULL);
    error_clear();
    struct stat st;
    if (old && strcmp(old, script) == 0 && stat(PORTFWD_HOOK, &st) == 0 && (st.st_mode & 0111))
        return 0;
    if (mkdir_p(PORTFWD_HOOK_DIR, 0755) < 0)
        return error_replace("cannot create libvirt's hook directory %s: %s", PORTFWD_HOOK_DIR,
                             error_message());
    if (write_file_atomic(PORTFWD_HOOK, script, strlen(script), 0755) < 0)
        return -1;
    *created = old == NULL;
    info("vmstamp: %s libvirt's qemu hook %s (port forwards)", old ? "updated" : "installed", PORTFWD_HOOK);
    return 0;
}

int portfwd_daemon_reload(const char *socket_path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct ucred cred;
    socklen_t clen = sizeof cred;
    int fd;

    if (strlen(socket_path) >= sizeof sa.sun_path)
        return error("socket path '%s' is too long", socket_path);
    strcpy(sa.sun_path, socket_path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return error("cannot create a socket: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
        int e = errno;
        close(fd);
        return error("cannot reach the libvirt daemon at %s: %s", socket_path, strerror(e));
    }
    close(fd);
    if (cred.pid <= 1 || kill(cred.pid, SIGHUP) < 0)
        return error("cannot tell the libvirt daemon (pid %d) to reload its hooks: %s", (int)cred.pid,
                     strerror(errno));
    info("vmstamp: told the libvirt daemon (pid %d) to load the new hook (SIGHUP, as systemctl reload does)",
         (int)cred.pid);
    return 0;
}
