/* cmd-clone.c: vmstamp clone. Parses options into a clone request, runs
 * the clone pipeline (plan, then run) in one transaction, prints what was
 * made. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/xalloc.h"
#include "commands/cmd.h"
#include "pipeline/clone.h"
#include "pipeline/run.h"
#include "pure/fleetplan.h"
#include "pure/forward.h"
#include "pure/netconf.h"
#include "pure/util.h"

struct clone_opts {
    int full;
    uint64_t size;
    uint64_t snapshot_size;   /* --snapshot-size: thick LVM snapshots' COW size (0: the template's) */
    const char *pool;
    const char *network;
    uint64_t memory_kib;
    unsigned vcpus;
    const char *macs[CLONE_MAX];
    size_t nmacs;
    const char *hostname;
    const char *domain;
    int count;
    const char *pattern;
    int start_index;
    const char *password_file;
    const char *ssh_key_file;
    const char *known_hosts;
    const char *template_pool;
    int start, autostart;
    int fix_permissions;      /* --fix-permissions */
    const char *description;  /* --description TEXT */
    unsigned parallel;        /* --parallel N: appliances at once (0: auto) */
    struct port_forward forwards[FORWARD_MAX]; /* --forward, repeated */
    size_t nforwards;
    int allow_low_port, force_port; /* --allow-low-port, --force-port: recorded in each forward */
    /* --ip ADDRESS/PREFIX, --gateway, --dns: one clone's static IPv4 */
    const char *static_ip;    /* the --ip argument; NULL: none */
    const char *gateway;      /* the --gateway argument; NULL: none */
    const char *dns;          /* the first --dns argument; NULL: none */
    struct static_ipv4 ipv4;
    char static_mac[18];      /* 52:54:<address>, unless --mac says otherwise */
};

/* --dns A[,B...] (repeatable): into O->ipv4.dns. */
static int parse_dns(const char *arg, struct clone_opts *o)
{
    for (const char *p = arg;;) {
        size_t n = strcspn(p, ",");
        CLEANUP_FREE char *one = xstrndup(p, n);
        if (o->ipv4.ndns == NETCONF_MAX_DNS)
            return cmd_bad_usage("clone", "too many --dns servers: at most %d", NETCONF_MAX_DNS);
        if (ipv4_parse(one, &o->ipv4.dns[o->ipv4.ndns]) < 0) {
            error_clear();
            return cmd_bad_usage("clone", "invalid --dns '%s': '%s' is not a dotted quad like 192.168.10.1", arg, one);
        }
        o->ipv4.ndns++;
        if (!p[n])
            return 0;
        p += n + 1;
    }
}

static int parse_options(int argc, char **argv, struct clone_opts *o)
{
    enum { O_LINKED = 256, O_FULL, O_SIZE, O_POOL, O_NET, O_MEM, O_VCPUS, O_MAC, O_IP, O_HOST,
           O_DOMAIN, O_COUNT, O_PATTERN, O_START_INDEX, O_PW, O_SSHKEY, O_KNOWN, O_START, O_AUTO,
           O_TPOOL, O_GATEWAY, O_DNS, O_PARALLEL, O_FIXPERM, O_DESC, O_FORWARD, O_SNAPSIZE,
           O_ALLOWLOW, O_FORCEPORT };
    static const struct option opts[] = {
        { "linked", no_argument, NULL, O_LINKED },
        { "full", no_argument, NULL, O_FULL },
        { "size", required_argument, NULL, O_SIZE },
        { "snapshot-size", required_argument, NULL, O_SNAPSIZE },
        { "pool", required_argument, NULL, O_POOL },
        { "network", required_argument, NULL, O_NET },
        { "memory", required_argument, NULL, O_MEM },
        { "vcpus", required_argument, NULL, O_VCPUS },
        { "mac", required_argument, NULL, O_MAC },
        { "ip", required_argument, NULL, O_IP },
        { "hostname", required_argument, NULL, O_HOST },
        { "domain", required_argument, NULL, O_DOMAIN },
        { "count", required_argument, NULL, O_COUNT },
        { "name-pattern", required_argument, NULL, O_PATTERN },
        { "start-index", required_argument, NULL, O_START_INDEX },
        { "root-password-file", required_argument, NULL, O_PW },
        { "ssh-key", required_argument, NULL, O_SSHKEY },
        { "known-hosts", required_argument, NULL, O_KNOWN },
        { "start", no_argument, NULL, O_START },
        { "autostart", no_argument, NULL, O_AUTO },
        { "template-pool", required_argument, NULL, O_TPOOL },
        { "gateway", required_argument, NULL, O_GATEWAY },
        { "dns", required_argument, NULL, O_DNS },
        { "parallel", required_argument, NULL, O_PARALLEL },
        { "fix-permissions", no_argument, NULL, O_FIXPERM },
        { "description", required_argument, NULL, O_DESC },
        { "forward", required_argument, NULL, O_FORWARD },
        { "allow-low-port", no_argument, NULL, O_ALLOWLOW },
        { "force-port", no_argument, NULL, O_FORCEPORT },
        { NULL, 0, NULL, 0 },
    };
    static char mac_store[CLONE_MAX][18];
    int c, linked = 0;
    char *end;

    o->pool = "default";
    o->network = "default";
    o->memory_kib = 1024 * 1024;
    o->vcpus = 1;
    o->start_index = 1;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case O_LINKED: linked = 1; break;
        case O_FULL: o->full = 1; break;
        case O_SIZE:
            if (parse_size(optarg, &o->size) < 0) {
                error_clear();
                return cmd_bad_usage("clone", "invalid --size '%s': use e.g. 20G", optarg);
            }
            break;
        case O_SNAPSIZE:
            if (parse_size(optarg, &o->snapshot_size) < 0 || o->snapshot_size == 0) {
                error_clear();
                return cmd_bad_usage("clone", "invalid --snapshot-size '%s': use e.g. 2G", optarg);
            }
            break;
        case O_POOL: o->pool = optarg; break;
        case O_NET: o->network = optarg; break;
        case O_MEM:
            if (parse_memory(optarg, &o->memory_kib) < 0) {
                error_report();
                return 2;
            }
            break;
        case O_VCPUS:
            o->vcpus = (unsigned)strtoul(optarg, &end, 10);
            if (*end || o->vcpus == 0 || o->vcpus > 512)
                return cmd_bad_usage("clone", "invalid --vcpus '%s': give 1 to 512", optarg);
            break;
        case O_IP:
            if (strchr(optarg, '/')) {
                /* A static address (which also gives the MAC, as --ip A.B.C.D does). */
                if (o->static_ip)
                    return cmd_bad_usage("clone", "--ip ADDRESS/PREFIX given twice: it is one clone's static address");
                if (netconf_parse_cidr(optarg, "--ip", &o->ipv4.address, &o->ipv4.prefix) < 0) {
                    int r = cmd_bad_usage("clone", "%s", error_message());
                    error_clear();
                    return r;
                }
                o->static_ip = optarg;
                CLEANUP_FREE char *dotted = xstrndup(optarg, strcspn(optarg, "/"));
                if (mac_from_ipv4(dotted, o->static_mac) < 0) {
                    error_clear();
                    return cmd_bad_usage("clone", "invalid --ip '%s'", optarg);
                }
                break;
            }
            /* fall through */
        case O_MAC:
            if (o->nmacs >= CLONE_MAX)
                return cmd_bad_usage("clone", "too many --mac/--ip options");
            if (c == O_MAC && parse_mac(optarg, mac_store[o->nmacs]) < 0)
                return cmd_bad_usage("clone", "invalid MAC address '%s': use six hex pairs like 52:54:00:12:34:56 (unicast)", optarg);
            if (c == O_IP && mac_from_ipv4(optarg, mac_store[o->nmacs]) < 0) {
                error_clear();
                return cmd_bad_usage("clone", "invalid --ip '%s': use a dotted quad like 192.168.122.4", optarg);
            }
            o->macs[o->nmacs] = mac_store[o->nmacs];
            o->nmacs++;
            break;
        case O_HOST: o->hostname = optarg; break;
        case O_DOMAIN: o->domain = optarg; break;
        case O_COUNT:
            o->count = (int)strtol(optarg, &end, 10);
            if (*end || o->count < 1 || o->count > CLONE_MAX)
                return cmd_bad_usage("clone", "invalid --count '%s': give 1 to %d", optarg, CLONE_MAX);
            break;
        case O_PATTERN: o->pattern = optarg; break;
        case O_PARALLEL:
            o->parallel = (unsigned)strtoul(optarg, &end, 10);
            if (*end || o->parallel < 1 || o->parallel > 64)
                return cmd_bad_usage("clone", "invalid --parallel '%s': give 1 to 64 appliances", optarg);
            break;
        case O_START_INDEX:
            o->start_index = (int)strtol(optarg, &end, 10);
            if (*end || o->start_index < 0)
                return cmd_bad_usage("clone", "invalid --start-index '%s'", optarg);
            break;
        case O_PW: o->password_file = optarg; break;
        case O_SSHKEY: o->ssh_key_file = optarg; break;
        case O_KNOWN: o->known_hosts = optarg; break;
        case O_START: o->start = 1; break;
        case O_AUTO: o->autostart = 1; break;
        case O_FIXPERM: o->fix_permissions = 1; break;
        case O_DESC:
            if (o->description)
                return cmd_bad_usage("clone", "--description given twice");
            o->description = optarg;
            break;
        case O_FORWARD:
            if (o->nforwards == FORWARD_MAX)
                return cmd_bad_usage("clone", "too many --forward: at most %d", FORWARD_MAX);
            if (forward_parse(optarg, &o->forwards[o->nforwards]) < 0) {
                int r = cmd_bad_usage("clone", "%s", error_message());
                error_clear();
                return r;
            }
            o->nforwards++;
            break;
        case O_ALLOWLOW: o->allow_low_port = 1; break;
        case O_FORCEPORT: o->force_port = 1; break;
        case O_TPOOL: o->template_pool = optarg; break;
        case O_GATEWAY:
            if (o->gateway)
                return cmd_bad_usage("clone", "--gateway given twice");
            if (ipv4_parse(optarg, &o->ipv4.gateway) < 0) {
                error_clear();
                return cmd_bad_usage("clone", "invalid --gateway '%s': use a dotted quad like 192.168.10.1", optarg);
            }
            o->gateway = optarg;
            break;
        case O_DNS:
            if (parse_dns(optarg, o))
                return 2;
            o->dns = o->dns ? o->dns : optarg;
            break;
        default:
            return cmd_bad_usage("clone", "unknown option");
        }
    }
    if (linked && o->full)
        return cmd_bad_usage("clone", "--linked and --full conflict: choose one");
    if ((o->allow_low_port || o->force_port) && o->nforwards == 0)
        return cmd_bad_usage("clone", "%s is for --forward: give the forwards it allows",
                             o->allow_low_port ? "--allow-low-port" : "--force-port");
    for (size_t k = 0; k < o->nforwards; k++) {
        o->forwards[k].allow_low = o->allow_low_port && o->forwards[k].host_port < FORWARD_LOW_PORT;
        o->forwards[k].force = o->force_port;
    }
    if (o->snapshot_size && o->full)
        return cmd_bad_usage("clone", "--snapshot-size is for linked clones (LVM snapshots), not --full");
    if ((o->count > 0) != (o->pattern != NULL))
        return cmd_bad_usage("clone", "--count and --name-pattern go together");
    if (!o->static_ip && (o->gateway || o->dns))
        return cmd_bad_usage("clone", "%s needs --ip ADDRESS/PREFIX, the clone's static address (e.g. --ip 192.168.10.5/24)",
                             o->gateway ? "--gateway" : "--dns");
    if (o->static_ip) {
        if (netconf_check(&o->ipv4) < 0) {
            int r = cmd_bad_usage("clone", "%s", error_message());
            error_clear();
            return r;
        }
        /* Its MAC, unless --mac (or --ip A.B.C.D) gives one. */
        if (o->nmacs == 0)
            o->macs[o->nmacs++] = o->static_mac;
    }
    return 0;
}

/* The --known-hosts FILE to append to: a regular file (made 0644 when
 * missing), never through a symbolic link, a FIFO or a device. NULL with
 * an error recorded. */
static FILE *open_known_hosts(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0644);
    struct stat st;
    FILE *f;

    if (fd < 0) {
        if (errno == ELOOP)
            error("known_hosts file '%s' is a symbolic link: not followed; give the file itself", path);
        else
            error("cannot append to known_hosts file '%s': %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        error("known_hosts file '%s' is not a regular file: give a file", path);
        return NULL;
    }
    f = fdopen(fd, "a");
    if (!f)
        xalloc_die();
    return f; /* caller closes */
}

/* Before anything is made: an existing --known-hosts FILE that is not a
 * regular file (a link, a FIFO, a device) is refused. */
static int check_known_hosts(const char *path)
{
    struct stat st;

    if (lstat(path, &st) < 0)
        return 0; /* made when the keys are known */
    if (S_ISLNK(st.st_mode))
        return error("known_hosts file '%s' is a symbolic link: not followed; give the file itself", path);
    if (!S_ISREG(st.st_mode))
        return error("known_hosts file '%s' is not a regular file: give a file", path);
    return 0;
}

static void print_results(const struct clone_result *res, size_t n, FILE *known_hosts,
                          const struct clone_opts *o)
{
    for (size_t i = 0; i < n; i++) {
        const struct clone_result *r = &res[i];
        char sz[32];
        printf("%s: mac %s, hostname %s, machine-id %s, disk %s (%s, %s)%s\n", r->name, r->mac, r->hostname,
               r->machine_id, r->disk, r->kind, human_size(r->disk_size, sz, sizeof sz),
               r->started ? ", started" : "");
        for (size_t k = 0; k < o->nforwards; k++) {
            char addr[16];
            printf("  forward host port %u/%s to %s:%u\n", o->forwards[k].host_port, forward_proto(&o->forwards[k]),
                   ipv4_format(o->ipv4.address, addr), o->forwards[k].guest_port);
        }
        for (int t = 0; t < CLONE_KEY_TYPES; t++) {
            if (r->key_fingerprints[t])
                printf("  host key %s\n", r->key_fingerprints[t]);
            if (known_hosts && r->key_lines[t])
                fprintf(known_hosts, "%s %s\n", r->hostname, r->key_lines[t]);
        }
    }
}

int cmd_clone(int argc, char **argv)
{
    struct clone_opts o = { 0 };
    struct clone_spec *specs = NULL;
    CLEANUP_STRV char **names = NULL;
    struct clone_result *res = NULL;
    struct clone_plan *plan = NULL;
    struct run *run = NULL;
    virConnectPtr conn = NULL;
    size_t n;
    int ret = EXIT_FAILURE, r;

    r = parse_options(argc, argv, &o);
    if (r)
        return r;
    int nargs = argc - optind;
    if (nargs < 1)
        return cmd_bad_usage("clone", "missing TEMPLATE");
    const char *template_arg = argv[optind];
    if (o.count) {
        if (nargs != 1)
            return cmd_bad_usage("clone", "give either NAME... or --count with --name-pattern, not both");
        n = (size_t)o.count;
    } else {
        n = (size_t)(nargs - 1);
        if (n == 0)
            return cmd_bad_usage("clone", "missing NAME: give at least one clone name");
        if (n > CLONE_MAX)
            return cmd_bad_usage("clone", "too many clones (%zu): at most %d per run", n, CLONE_MAX);
    }
    if (o.hostname && n != 1)
        return cmd_bad_usage("clone", "--hostname is for one clone; use --domain for many");
    if (o.static_ip && n != 1)
        return cmd_bad_usage("clone", "--ip %s is one clone's static address, and this run makes %zu: give one NAME (or --count 1)",
                             o.static_ip, n);
    if (o.nmacs > n)
        return cmd_bad_usage("clone", "%zu --mac/--ip given for %zu clone(s)", o.nmacs, n);
    if (o.known_hosts && check_known_hosts(o.known_hosts) < 0) {
        error_report();
        return EXIT_FAILURE;
    }
    specs = xcalloc(n, sizeof *specs);
    for (size_t i = 0; i < n; i++) {
        char *name = o.count ? expand_name_pattern(o.pattern, o.start_index + (int)i) : xstrdup(argv[optind + 1 + i]);
        if (!name) {
            error_report();
            goto out;
        }
        strv_append(&names, name);
        specs[i] = (struct clone_spec){ .name = name, .hostname = o.hostname, .mac = i < o.nmacs ? o.macs[i] : NULL,
                                        .ipv4 = o.static_ip ? &o.ipv4 : NULL,
                                        .forwards = o.forwards, .nforwards = o.nforwards };
    }
    struct clone_request req = {
        .template = template_arg, .template_pool = o.template_pool, .clones = specs, .n = n,
        .domain = o.domain, .full = o.full, .size = o.size, .snapshot_size = o.snapshot_size, .pool = o.pool, .network = o.network,
        .memory_kib = o.memory_kib, .vcpus = o.vcpus, .password_file = o.password_file,
        .ssh_key_file = o.ssh_key_file, .start = o.start, .autostart = o.autostart,
        .parallel = o.parallel, .fix_permissions = o.fix_permissions, .description = o.description,
    };

    run = cmd_begin(&conn, "clone %s%s", names[0], n > 1 ? " ..." : "");
    if (run)
        plan = clone_plan(conn, &req, run);
    ret = cmd_end(conn, run, plan && clone_run(plan, run, &res) == 0);
    if (ret == EXIT_SUCCESS) {
        CLEANUP_FCLOSE FILE *kh = NULL;
        if (o.known_hosts) {
            kh = open_known_hosts(o.known_hosts);
            if (!kh) {
                warning("%s", error_message());
                error_clear();
            }
        }
        print_results(res, n, kh, &o);
    }
out:
    clone_results_free(res, res ? n : 0);
    clone_plan_free(plan);
    free(specs);
    return ret;
}
