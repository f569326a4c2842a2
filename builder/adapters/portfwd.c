/* portfwd.c: see portfwd.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <strings.h>
#include <sys/file.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <dirent.h>
#include <unistd.h>

#include "adapters/command.h"
#include "adapters/portfwd.h"
#include "base/cleanup.h"
#include "base/error.h"
#include "base/fileio.h"
#include "base/xalloc.h"
#include "pure/fleetplan.h"
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

/* One record of PORTFWD_RECORD_DIR: who added a host port, and where to. */
struct record {
    char uuid[64];
    char domain[256];
    struct port_forward f; /* as added (proto and host port from the file's name) */
};

static char *record_path(const struct port_forward *f)
{
    return xasprintf("%s/%s-%u", PORTFWD_RECORD_DIR, forward_proto(f), f->host_port); /* caller frees */
}

/* The record at PATH for F's host port into *R: 1, 0 if there is none, -1 recorded. */
static int record_read(const char *path, const struct port_forward *f, struct record *r)
{
    char address[64];

    memset(r, 0, sizeof *r);
    if (access(path, F_OK) < 0 && errno == ENOENT)
        return 0;
    CLEANUP_FREE char *text = read_file(path, NULL);
    if (!text)
        return -1;
    r->f = *f;
    if (sscanf(text, "%63s %63s %u %255[^\n]", r->uuid, address, &r->f.guest_port, r->domain) != 4 ||
        snprintf(r->f.address, sizeof r->f.address, "%s", address) >= (int)sizeof r->f.address)
        return error("cannot read the port forward record %s: remove it, and the rules with the port it names "
                     "(nft list map ip %s %s)", path, FORWARD_NFT_TABLE, FORWARD_NFT_MAP);
    return 1;
}

static int record_write(const char *path, const char *uuid, const char *domain, const struct port_forward *f)
{
    CLEANUP_FREE char *text = xasprintf("%s %s %u %.255s\n", uuid, f->address, f->guest_port, domain);
    return write_file_atomic(path, text, strlen(text), 0600);
}

/* The record directory, made root-only, locked against the hooks of other
 * domains starting or stopping at the same time: the lock's fd, or -1. */
static int records_lock(void)
{
    struct stat st;

    if (mkdir_p(PORTFWD_RECORD_DIR, 0700) < 0)
        return error_replace("cannot make %s for the port forward records: %s", PORTFWD_RECORD_DIR,
                             error_message());
    if (lstat(PORTFWD_RECORD_DIR, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
        return error("%s is not a directory of vmstamp's (root's): remove it", PORTFWD_RECORD_DIR);
    if ((st.st_mode & 077) && chmod(PORTFWD_RECORD_DIR, 0700) < 0)
        return error("cannot make %s root-only: %s", PORTFWD_RECORD_DIR, strerror(errno));
    int fd = open(PORTFWD_RECORD_DIR "/.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 || flock(fd, LOCK_EX) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return error("cannot lock %s/.lock: %s", PORTFWD_RECORD_DIR, strerror(e));
    }
    return fd;
}

/* Whether the DNAT of record R is still in place. */
static int rules_present(const struct record *r, int nft)
{
    if (nft) {
        char key[32];
        snprintf(key, sizeof key, "{ %s . %u }", forward_proto(&r->f), r->f.host_port);
        CLEANUP_STRV char **argv = NULL;
        strv_append(&argv, xstrdup("nft"));
        strv_append(&argv, xstrdup("get"));
        strv_append(&argv, xstrdup("element"));
        strv_append(&argv, xstrdup("ip"));
        strv_append(&argv, xstrdup(FORWARD_NFT_TABLE));
        strv_append(&argv, xstrdup(FORWARD_NFT_MAP));
        strv_append(&argv, xstrdup(key));
        int there = run_argv(argv) == 0;
        error_clear();
        return there;
    }
    CLEANUP_STRV char **check = forward_iptables_argv(&r->f, r->domain, FORWARD_RULE_PREROUTING, "-C");
    int there = run_argv(check) == 0;
    error_clear();
    return there;
}

/* Remove the rules of record R (those still mapping to its guest). */
static int rules_remove(const struct record *r, int nft, int ipt)
{
    int ret = 0;

    if (nft) {
        CLEANUP_FREE char *script = forward_nft_remove(&r->f);
        if (nft_run(script) < 0)
            debug("host port %u/%s of %s left as it is: %s", r->f.host_port, forward_proto(&r->f), r->domain,
                  error_message());
        error_clear();
    }
    if (ipt) {
        if (!nft && (iptables_rule(r->domain, &r->f, FORWARD_RULE_PREROUTING, 0) < 0 ||
                     iptables_rule(r->domain, &r->f, FORWARD_RULE_OUTPUT, 0) < 0))
            ret = -1;
        if (iptables_rule(r->domain, &r->f, FORWARD_RULE_ACCEPT, 0) < 0)
            ret = -1;
    }
    return ret;
}

static int rules_add(const char *domain, const struct port_forward *f, int nft, int ipt)
{
    char what[32];

    forward_format(f, what, sizeof what);
    if (nft) {
        CLEANUP_FREE char *script = forward_nft_add(f);
        if (nft_run(script) < 0) {
            CLEANUP_FREE char *why = xstrdup(error_message() ? error_message() : "");
            if (strstr(why, "File exists"))
                return error_replace("cannot forward host port %u/%s to '%s': it is forwarded to another "
                                     "guest (nft list map ip %s %s)", f->host_port, forward_proto(f),
                                     domain, FORWARD_NFT_TABLE, FORWARD_NFT_MAP);
            return error_replace("cannot forward %s to '%s' with nft: %s", what, domain, why);
        }
    } else if (iptables_rule(domain, f, FORWARD_RULE_PREROUTING, 1) < 0 ||
               iptables_rule(domain, f, FORWARD_RULE_OUTPUT, 1) < 0) {
        return -1;
    }
    /* libvirt's own FORWARD chains reject new connections into its networks. */
    if (ipt && iptables_rule(domain, f, FORWARD_RULE_ACCEPT, 1) < 0)
        return -1;
    debug("forward %s to %s:%u added for %s", what, f->address, f->guest_port, domain);
    return 0;
}

int portfwd_add(const char *domain, const char *uuid, const struct port_forward *f, size_t n)
{
    int nft = in_path("nft"), ipt = in_path("iptables");

    if (n == 0)
        return 0;
    if (!nft && !ipt)
        return error("cannot forward host port %u of '%s': neither nft nor iptables is installed (apt-get install "
                     "nftables)", f[0].host_port, domain);
    if (!uuid || !*uuid)
        return error("cannot forward host port %u of '%s': the domain has no UUID", f[0].host_port, domain);
    CLEANUP_CLOSE int lock = records_lock();
    if (lock < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        CLEANUP_FREE char *path = record_path(&f[i]);
        struct record r;
        int have = record_read(path, &f[i], &r);
        if (have < 0)
            return -1;
        if (have && strcasecmp(r.uuid, uuid) != 0) {
            if (rules_present(&r, nft))
                return error("cannot forward host port %u/%s to '%s': it is forwarded to domain '%s' (UUID %s), "
                             "which added it", f[i].host_port, forward_proto(&f[i]), domain, r.domain, r.uuid);
            debug("%s: its rules are gone; taken over by %s", path, domain);
            rules_remove(&r, nft, ipt);
            error_clear();
        } else if (have && (strcmp(r.f.address, f[i].address) != 0 || r.f.guest_port != f[i].guest_port ||
                            strcmp(r.domain, domain) != 0)) {
            if (rules_remove(&r, nft, ipt) < 0) /* its own, to somewhere else now */
                return -1;
        }
        if (rules_add(domain, &f[i], nft, ipt) < 0 || record_write(path, uuid, domain, &f[i]) < 0)
            return -1;
    }
    return 0;
}

/* Remove the forward of record PATH if UUID added it. */
static int remove_if_owned(const char *path, const struct port_forward *key, const char *uuid, int nft, int ipt)
{
    struct record r;
    int have = record_read(path, key, &r);

    if (have <= 0)
        return have;
    if (strcasecmp(r.uuid, uuid) != 0) {
        debug("host port %u/%s left to domain '%s' (UUID %s), which added it", key->host_port, forward_proto(key),
              r.domain, r.uuid);
        return 0;
    }
    int ret = rules_remove(&r, nft, ipt);
    if (unlink(path) < 0 && errno != ENOENT)
        ret = error("cannot remove %s: %s", path, strerror(errno));
    return ret;
}

int portfwd_remove(const char *domain, const char *uuid, const struct port_forward *f, size_t n)
{
    int nft = in_path("nft"), ipt = in_path("iptables"), ret = 0;

    (void)domain;
    if (n == 0 || !uuid || !*uuid)
        return 0;
    CLEANUP_FREE char *grant = portfwd_grant_path(uuid);
    if (!grant)
        return -1;
    if (unlink(grant) < 0 && errno != ENOENT)
        ret = error("cannot remove %s: %s", grant, strerror(errno));
    CLEANUP_CLOSE int lock = records_lock();
    if (lock < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        CLEANUP_FREE char *path = record_path(&f[i]);
        if (remove_if_owned(path, &f[i], uuid, nft, ipt) < 0)
            ret = -1;
    }
    return ret;
}

int portfwd_forget(const char *domain, const char *uuid)
{
    int ret = portfwd_remove_owned(domain, uuid);

    if (!uuid || !*uuid)
        return ret;
    CLEANUP_FREE char *grant = portfwd_grant_path(uuid);
    if (!grant)
        return -1;
    if (unlink(grant) < 0 && errno != ENOENT)
        ret = error("cannot remove %s: %s", grant, strerror(errno));
    return ret;
}

int portfwd_remove_owned(const char *domain, const char *uuid)
{
    int nft = in_path("nft"), ipt = in_path("iptables"), ret = 0;
    struct dirent *e;

    (void)domain;
    if (!uuid || !*uuid || (access(PORTFWD_RECORD_DIR, F_OK) < 0 && errno == ENOENT))
        return 0;
    CLEANUP_CLOSE int lock = records_lock();
    if (lock < 0)
        return -1;
    DIR *d = opendir(PORTFWD_RECORD_DIR);
    if (!d)
        return error("cannot read %s: %s", PORTFWD_RECORD_DIR, strerror(errno));
    while ((e = readdir(d))) {
        struct port_forward key = { 0 };
        char proto[4], end;
        if (sscanf(e->d_name, "%3[a-z]-%u%c", proto, &key.host_port, &end) != 2 ||
            (strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0) || key.host_port < 1 || key.host_port > 65535)
            continue;
        key.udp = strcmp(proto, "udp") == 0;
        CLEANUP_FREE char *path = record_path(&key);
        if (strcmp(path + strlen(PORTFWD_RECORD_DIR) + 1, e->d_name) != 0)
            continue; /* "tcp-080": not one of ours */
        if (remove_if_owned(path, &key, uuid, nft, ipt) < 0)
            ret = -1;
    }
    closedir(d);
    return ret;
}

char *portfwd_grant_path(const char *uuid)
{
    char lower[37];
    size_t i = 0;

    for (; uuid && uuid[i] && i < 36; i++) {
        char c = uuid[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '-'))
            break;
        lower[i] = (char)(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c);
    }
    if (i != 36 || uuid[i]) {
        error("invalid domain UUID '%.40s'", uuid ? uuid : "");
        return NULL;
    }
    lower[36] = '\0';
    return xasprintf("%s/%s", PORTFWD_GRANT_DIR, lower); /* caller frees */
}

int portfwd_grant(const char *uuid, const struct port_forward *f, size_t n)
{
    if (!forward_flagged(f, n))
        return 0;
    CLEANUP_FREE char *path = portfwd_grant_path(uuid);
    CLEANUP_FREE char *text = forward_grant_format(f, n);
    if (!path)
        return -1;
    if (mkdir_p(PORTFWD_GRANT_DIR, 0700) < 0)
        return error_replace("cannot make %s: %s", PORTFWD_GRANT_DIR, error_message());
    return write_file_atomic(path, text, strlen(text), 0600);
}

int portfwd_granted(const char *uuid, struct port_forward *f, size_t n)
{
    struct stat st;

    if (!forward_flagged(f, n))
        return 0;
    CLEANUP_FREE char *path = portfwd_grant_path(uuid);
    if (!path)
        return -1;
    if (lstat(path, &st) < 0) {
        if (errno != ENOENT)
            return error("cannot read %s: %s", path, strerror(errno));
        forward_grant_apply(NULL, f, n);
        return 0;
    }
    /* Only root's own file counts: another owner, a link or a file others may write grants nothing. */
    if (!S_ISREG(st.st_mode) || st.st_uid != 0 || (st.st_mode & 022))
        return error("the port grant %s is not root's own file (or others may write it): remove it and make "
                     "the clone again", path);
    CLEANUP_FREE char *text = read_file(path, NULL);
    if (!text)
        return -1;
    forward_grant_apply(text, f, n);
    return 0;
}

/* One /proc/net table PATH into L, in chunks of lines: the table has a
 * line per socket, TIME_WAIT ones too, so any user can make it as large as
 * they like; no whole-file read (and no limit to hit) here. */
static int listening_table(const char *path, int udp, struct forward_listening *l)
{
    FILE *f = fopen(path, "re");
    char *line = NULL, *header = NULL;
    size_t cap = 0, used = 0, hlen;
    char *chunk = NULL;
    ssize_t n;
    int ret = 0;

    if (!f)
        return error("cannot open %s: %s", path, strerror(errno));
    if ((n = getline(&line, &cap, f)) <= 0) {
        ret = error("%s is empty", path);
        goto out;
    }
    header = xstrdup(line);
    hlen = strlen(header);
    chunk = xmalloc(hlen + 65536 + 1);
    memcpy(chunk, header, hlen);
    used = hlen;
    for (;;) {
        n = getline(&line, &cap, f);
        if (n > 0 && (size_t)n <= 65536 && used + (size_t)n <= hlen + 65536) {
            memcpy(chunk + used, line, (size_t)n);
            used += (size_t)n;
            continue;
        }
        chunk[used] = '\0';
        if (used > hlen && forward_listening_parse(chunk, udp, l) < 0) {
            ret = -1;
            break;
        }
        used = hlen;
        if (n <= 0)
            break;
        if ((size_t)n <= 65536) { /* the line that did not fit starts the next chunk */
            memcpy(chunk + used, line, (size_t)n);
            used += (size_t)n;
        }
    }
out:
    free(chunk);
    free(header);
    free(line);
    fclose(f);
    return ret;
}

int portfwd_listening(struct forward_listening *l)
{
    static const struct {
        const char *path;
        int udp;
    } tables[] = {
        { "/proc/net/tcp", 0 }, { "/proc/net/tcp6", 0 }, { "/proc/net/udp", 1 }, { "/proc/net/udp6", 1 },
    };

    memset(l, 0, sizeof *l);
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        if (access(tables[i].path, F_OK) < 0 && i % 2 == 1)
            continue; /* no IPv6 */
        if (listening_table(tables[i].path, tables[i].udp, l) < 0)
            return error_replace("cannot read this host's listening sockets (%s): %s", tables[i].path,
                                 error_message());
    }
    return 0;
}

int portfwd_gateway_on_host(const char *network, const char *bridge, uint32_t address)
{
    struct ifaddrs *all = NULL;
    int found = 0;
    char a[16];

    if (getifaddrs(&all) < 0)
        return error("cannot list this host's addresses: %s", strerror(errno));
    for (struct ifaddrs *i = all; i && !found; i = i->ifa_next)
        found = i->ifa_addr && i->ifa_addr->sa_family == AF_INET && i->ifa_name && bridge &&
                strcmp(i->ifa_name, bridge) == 0 &&
                ntohl(((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr.s_addr) == address;
    freeifaddrs(all);
    if (!found)
        return error("network '%s' is not running on this host (no bridge '%s' with its address %s): port "
                     "forwards go only into a libvirt network of this host (virsh net-start %s)", network,
                     bridge ? bridge : "?", ipv4_format(address, a), network);
    return 0;
}

int portfwd_network(const char *name, struct forward_net *net)
{
    if (!*name || name[0] == '.' || strchr(name, '/') || strlen(name) > 200)
        return error("invalid network name '%.64s'", name);
    CLEANUP_FREE char *path = xasprintf("/run/libvirt/network/%s.xml", name);
    CLEANUP_FREE char *xml = read_file(path, NULL);
    if (!xml)
        return error_replace("network '%s' is not running on this host (no %s): port forwards go only into a "
                             "running libvirt network (virsh net-start %s)", name, path, name);
    CLEANUP_FREE char *bridge = NULL;
    net->name = name;
    if (forward_net_parse(xml, name, net, &bridge) < 0)
        return -1;
    return portfwd_gateway_on_host(name, bridge, net->gateway);
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
