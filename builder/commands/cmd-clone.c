/* cmd-clone.c: vmstamp clone. Parses options into a clone request, runs
 * the clone pipeline (plan, then run) in one transaction, prints what was
 * made. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/xalloc.h"
#include "commands/cmd.h"
#include "pipeline/clone.h"
#include "pipeline/run.h"
#include "pure/util.h"

struct clone_opts {
    int full;
    uint64_t size;
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
};

static int parse_options(int argc, char **argv, struct clone_opts *o)
{
    enum { O_LINKED = 256, O_FULL, O_SIZE, O_POOL, O_NET, O_MEM, O_VCPUS, O_MAC, O_IP, O_HOST,
           O_DOMAIN, O_COUNT, O_PATTERN, O_START_INDEX, O_PW, O_SSHKEY, O_KNOWN, O_START, O_AUTO,
           O_TPOOL };
    static const struct option opts[] = {
        { "linked", no_argument, NULL, O_LINKED },
        { "full", no_argument, NULL, O_FULL },
        { "size", required_argument, NULL, O_SIZE },
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
        case O_MAC:
        case O_IP:
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
        case O_TPOOL: o->template_pool = optarg; break;
        default:
            return cmd_bad_usage("clone", "unknown option");
        }
    }
    if (linked && o->full)
        return cmd_bad_usage("clone", "--linked and --full conflict: choose one");
    if ((o->count > 0) != (o->pattern != NULL))
        return cmd_bad_usage("clone", "--count and --name-pattern go together");
    return 0;
}

static void print_results(const struct clone_result *res, size_t n, int full, FILE *known_hosts)
{
    for (size_t i = 0; i < n; i++) {
        const struct clone_result *r = &res[i];
        char sz[32];
        printf("%s: mac %s, hostname %s, machine-id %s, disk %s (%s, %s)%s\n", r->name, r->mac, r->hostname,
               r->machine_id, r->disk, full ? "full" : "linked", human_size(r->disk_size, sz, sizeof sz),
               r->started ? ", started" : "");
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
    if (o.nmacs > n)
        return cmd_bad_usage("clone", "%zu --mac/--ip given for %zu clone(s)", o.nmacs, n);
    specs = xcalloc(n, sizeof *specs);
    for (size_t i = 0; i < n; i++) {
        char *name = o.count ? expand_name_pattern(o.pattern, o.start_index + (int)i) : xstrdup(argv[optind + 1 + i]);
        if (!name) {
            error_report();
            goto out;
        }
        strv_append(&names, name);
        specs[i] = (struct clone_spec){ .name = name, .hostname = o.hostname, .mac = i < o.nmacs ? o.macs[i] : NULL };
    }
    struct clone_request req = {
        .template = template_arg, .template_pool = o.template_pool, .clones = specs, .n = n,
        .domain = o.domain, .full = o.full, .size = o.size, .pool = o.pool, .network = o.network,
        .memory_kib = o.memory_kib, .vcpus = o.vcpus, .password_file = o.password_file,
        .ssh_key_file = o.ssh_key_file, .start = o.start, .autostart = o.autostart,
    };

    run = cmd_begin(&conn, "clone %s%s", names[0], n > 1 ? " ..." : "");
    if (run)
        plan = clone_plan(conn, &req, run);
    ret = cmd_end(conn, run, plan && clone_run(plan, run, &res) == 0);
    if (ret == EXIT_SUCCESS) {
        CLEANUP_FCLOSE FILE *kh = NULL;
        if (o.known_hosts) {
            kh = fopen(o.known_hosts, "ae");
            if (!kh)
                warning("cannot append to known_hosts file '%s': %s", o.known_hosts, strerror(errno));
        }
        print_results(res, n, o.full, kh);
    }
out:
    clone_results_free(res, res ? n : 0);
    clone_plan_free(plan);
    free(specs);
    return ret;
}
