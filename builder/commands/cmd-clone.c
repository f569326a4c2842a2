/* cmd-clone.c: vmstamp clone. Checks everything before any work, makes the
 * disks under temporary names, customizes all clones in one appliance
 * launch, renames the disks into place and defines the domains. Any failure
 * or Ctrl-C rolls back: no domain without its disk, no disk without its
 * domain. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "adapters/accel.h"
#include "base/cleanup.h"
#include "commands/cmd.h"
#include "adapters/command.h"
#include "pure/domxml.h"
#include "base/error.h"
#include "adapters/gfs.h"
#include "adapters/qemuimg.h"
#include "adapters/store.h"
#include "pure/util.h"
#include "adapters/virt.h"

#define MAX_CLONES 250 /* one libguestfs handle takes up to 255 drives */

static volatile int interrupted; /* sig_atomic_t is int on Linux */

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

struct clone {
    char *name;
    char *hostname;
    char mac[18];
    char *disk;      /* final path */
    char *tmp_disk;  /* while being made */
    char *keys_dir;
    char *console_log;
    struct clone_job job;
    int disk_made, renamed;
    virDomainPtr dom;
};

struct clone_opts {
    int full;
    uint64_t size;
    const char *pool;
    const char *network;
    uint64_t memory_kib;
    unsigned vcpus;
    const char *macs[MAX_CLONES];
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

static int check_checkpoint(void)
{
    if (interrupted)
        return error_replace("interrupted: clones rolled back");
    return 0;
}

/* Generate SSH host keys for every clone in a child process, so it overlaps
 * the appliance launch. Returns the child's pid. */
static pid_t keygen_start(struct clone *clones, size_t n)
{
    pid_t pid = fork();

    if (pid != 0)
        return pid;
    for (size_t i = 0; i < n; i++) {
        for (int t = 0; t < SSH_KEY_TYPES; t++) {
            struct command *cmd = command_new("ssh-keygen");
            command_add(cmd, "-q");
            command_add(cmd, "-t");
            command_add(cmd, ssh_key_types[t]);
            if (strcmp(ssh_key_types[t], "rsa") == 0) {
                command_add(cmd, "-b");
                command_add(cmd, "3072");
            }
            command_add(cmd, "-N");
            command_add(cmd, "");
            command_add(cmd, "-C");
            command_addf(cmd, "root@%s", clones[i].hostname);
            command_add(cmd, "-f");
            command_addf(cmd, "%s/ssh_host_%s_key", clones[i].keys_dir, ssh_key_types[t]);
            if (command_run(cmd, NULL) < 0) {
                fprintf(stderr, "vmstamp: error: %s\n", error_message());
                _exit(1);
            }
            command_free(cmd);
        }
    }
    _exit(0);
}

static int keygen_wait(pid_t pid)
{
    int status;

    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return error("cannot wait for ssh-keygen: %s", strerror(errno));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return error("cannot generate SSH host keys with ssh-keygen (is openssh-client installed?)");
    return 0;
}

static void remove_tree(const char *dir)
{
    struct command *cmd = command_new("rm");

    command_add(cmd, "-rf");
    command_add(cmd, "--");
    command_add(cmd, dir);
    command_run(cmd, NULL);
    command_free(cmd);
    error_clear();
}

static char *read_ssh_key(const char *path)
{
    char *text = read_file(path, NULL);

    if (!text)
        return NULL;
    if (strncmp(text, "ssh-", 4) != 0 && strncmp(text, "ecdsa-", 6) != 0 &&
        strncmp(text, "sk-", 3) != 0) {
        free(text);
        error("'%s' is not an SSH public key: give the .pub file", path);
        return NULL;
    }
    return text;
}

static int mac_taken(char **taken, const char *mac)
{
    for (size_t i = 0; taken && taken[i]; i++)
        if (strcasecmp(taken[i], mac) == 0)
            return 1;
    return 0;
}

static void print_host_keys(const struct clone *c, FILE *known_hosts)
{
    for (int t = 0; t < SSH_KEY_TYPES; t++) {
        if (!c->job.keys_installed[t])
            continue;
        char pub[PATH_MAX];
        snprintf(pub, sizeof pub, "%s/ssh_host_%s_key.pub", c->keys_dir, ssh_key_types[t]);
        struct command *cmd = command_new("ssh-keygen");
        CLEANUP_FREE char *out = NULL;
        command_add(cmd, "-l");
        command_add(cmd, "-f");
        command_add(cmd, pub);
        if (command_run(cmd, &out) == 0) {
            out[strcspn(out, "\n")] = '\0';
            printf("  host key %s\n", out);
        }
        error_clear();
        command_free(cmd);
        if (known_hosts) {
            CLEANUP_FREE char *key = read_file(pub, NULL);
            if (key) {
                char type[64], b64[8192];
                if (sscanf(key, "%63s %8191s", type, b64) == 2)
                    fprintf(known_hosts, "%s %s %s\n", c->hostname, type, b64);
            }
            error_clear();
        }
    }
}

static void rollback(virConnectPtr conn, struct clone *clones, size_t n, const char *pool)
{
    for (size_t i = 0; i < n; i++) {
        struct clone *c = &clones[i];
        if (c->dom) {
            virDomainInfo di;
            if (virDomainGetInfo(c->dom, &di) == 0 && di.state != VIR_DOMAIN_SHUTOFF)
                virDomainDestroy(c->dom);
            virDomainUndefineFlags(c->dom, VIR_DOMAIN_UNDEFINE_MANAGED_SAVE |
                                           VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA);
            virDomainFree(c->dom);
            c->dom = NULL;
        }
        if (c->disk_made)
            unlink(c->renamed ? c->disk : c->tmp_disk);
        if (c->console_log)
            unlink(c->console_log);
        c->disk_made = 0;
    }
    if (conn && pool)
        virt_pool_refresh(conn, pool);
}

static void clones_free(struct clone *clones, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(clones[i].name);
        free(clones[i].hostname);
        free(clones[i].disk);
        free(clones[i].tmp_disk);
        free(clones[i].keys_dir);
        free(clones[i].console_log);
    }
    free(clones);
}

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
    static char mac_store[MAX_CLONES][18];
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
            if (o->nmacs >= MAX_CLONES)
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
            if (*end || o->count < 1 || o->count > MAX_CLONES)
                return cmd_bad_usage("clone", "invalid --count '%s': give 1 to %d", optarg, MAX_CLONES);
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

int cmd_clone(int argc, char **argv)
{
    struct clone_opts o = { 0 };
    struct clone *clones = NULL;
    size_t n = 0;
    virConnectPtr conn = NULL;
    CLEANUP_FREE char *template = NULL;
    CLEANUP_FREE char *os_id = NULL; /* libosinfo id of a store template */
    CLEANUP_FREE char *pool_dir = NULL;
    CLEANUP_FREE char *password = NULL;
    CLEANUP_FREE char *ssh_key = NULL;
    CLEANUP_FREE char *keys_root = NULL;
    CLEANUP_FREE char *layout_key_str = NULL;
    CLEANUP_STRV char **taken = NULL;
    struct image_info tinfo = { 0 };
    struct netspec net = { 0 };
    struct guest_os os = { 0 };
    struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term, old_hup;
    pid_t keygen = -1;
    int ret = EXIT_FAILURE, r, signals_set = 0;
    char created[32];

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
        if (n > MAX_CLONES)
            return cmd_bad_usage("clone", "too many clones (%zu): at most %d per run", n, MAX_CLONES);
    }
    if (o.hostname && n != 1)
        return cmd_bad_usage("clone", "--hostname is for one clone; use --domain for many");
    if (o.nmacs > n)
        return cmd_bad_usage("clone", "%zu --mac/--ip given for %zu clone(s)", o.nmacs, n);
    if (netspec_parse(o.network, &net) < 0) {
        error_report();
        return 2;
    }

    /* Names, host names and MACs: all checked before any work. */
    clones = calloc(n, sizeof *clones);
    for (size_t i = 0; i < n; i++) {
        struct clone *c = &clones[i];
        c->name = o.count ? expand_name_pattern(o.pattern, o.start_index + (int)i) : strdup(argv[optind + 1 + i]);
        if (!c->name)
            goto fail;
        if (!valid_domain_name(c->name)) {
            error("invalid clone name '%s': use 1-64 letters, digits, '.', '_' or '-'", c->name);
            goto fail;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(clones[j].name, c->name) == 0) {
                error("clone name '%s' given twice", c->name);
                goto fail;
            }
        const char *h = o.hostname ? o.hostname : c->name;
        if (o.domain) {
            if (asprintf(&c->hostname, "%s.%s", h, o.domain) < 0)
                abort();
        } else {
            c->hostname = strdup(h);
        }
        if (!valid_hostname(c->hostname)) {
            error("invalid host name '%s' (RFC 1123): use letters, digits and '-', labels separated by '.'",
                  c->hostname);
            goto fail;
        }
        if (i < o.nmacs) {
            for (size_t j = 0; j < i; j++)
                if (strcmp(clones[j].mac, o.macs[i]) == 0) {
                    error("MAC %s given twice: each clone needs its own", o.macs[i]);
                    goto fail;
                }
            memcpy(c->mac, o.macs[i], 18);
        }
    }
    if (o.password_file && !(password = read_password_file(o.password_file)))
        goto fail;
    if (o.ssh_key_file && !(ssh_key = read_ssh_key(o.ssh_key_file)))
        goto fail;

    conn = cmd_connect();
    if (!conn)
        goto fail;

    /* The template: a name in the template store, a pool volume or a path;
     * it must be a disk image. A store template is verified against its
     * recorded SHA-256 first (cached while its size and mtime hold). */
    if (!strchr(template_arg, '/') && access(template_arg, F_OK) != 0) {
        struct store st;
        struct template_meta tm;
        if (store_open(conn, o.template_pool, 0, &st) == 0 && store_load(&st, template_arg, &tm) == 0) {
            int v = store_verify(&st, &tm, 1);
            if (v == 0) {
                template = store_image_path(&st, template_arg);
                os_id = steal_pointer(&tm.os_id);
            }
            template_meta_release(&tm);
            store_close(&st);
            if (v < 0)
                goto fail;
        } else {
            store_close(&st);
            if (o.template_pool)
                goto fail;
            error_clear();
        }
    }
    if (!template)
        template = virt_volume_path(conn, template_arg);
    error_clear();
    if (!template) {
        char real[PATH_MAX];
        if (!realpath(template_arg, real)) {
            error("template '%s' not found: give a disk image path or POOL/VOLUME", template_arg);
            goto fail;
        }
        template = strdup(real);
    }
    /* The template's identity: its recorded layout is reused while it is unchanged. */
    layout_key_str = layout_key(template);
    if (qemuimg_info(template, &tinfo) < 0) {
        error_replace("template '%s' is not a disk image: give a qcow2 or raw disk image", template_arg);
        goto fail;
    }
    if (o.size && o.size < tinfo.virtual_size) {
        char a[32], b[32];
        error("--size %s is smaller than template '%s' (%s): clones can only grow",
              human_size(o.size, a, sizeof a), template_arg, human_size(tinfo.virtual_size, b, sizeof b));
        goto fail;
    }
    if (virt_pool_dir(conn, o.pool, &pool_dir) < 0 || virt_network_check(conn, &net) < 0)
        goto fail;

    taken = virt_all_macs(conn);
    if (!taken)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        struct clone *c = &clones[i];
        int exists = virt_domain_exists(conn, c->name);
        if (exists < 0)
            goto fail;
        if (exists) {
            error("domain '%s' already exists: pick another name or remove it (vmstamp rm %s)", c->name, c->name);
            goto fail;
        }
        if (asprintf(&c->disk, "%s/%s.qcow2", pool_dir, c->name) < 0 ||
            asprintf(&c->tmp_disk, "%s/.%s.qcow2.vmstamp-tmp", pool_dir, c->name) < 0 ||
            asprintf(&c->console_log, "/var/log/libvirt/qemu/%s-serial0.log", c->name) < 0)
            abort();
        if (access(c->disk, F_OK) == 0) {
            error("volume '%s.qcow2' already exists in pool '%s': remove it or pick another name", c->name, o.pool);
            goto fail;
        }
        if (c->mac[0]) {
            if (mac_taken(taken, c->mac)) {
                error("MAC %s is already used by another domain: pick another --mac/--ip", c->mac);
                goto fail;
            }
        } else {
            int tries = 0;
            do {
                if (random_mac(c->mac) < 0)
                    goto fail;
                int dup = mac_taken(taken, c->mac);
                for (size_t j = 0; j < i; j++)
                    dup |= strcmp(clones[j].mac, c->mac) == 0;
                if (!dup)
                    break;
            } while (++tries < 100);
        }
    }

    enum accel accel;
    {
        CLEANUP_FREE char *why = NULL;
        accel = accel_decide(&why);
        debug("accelerator: %s (%s)", accel_name(accel), why);
    }

    /* From here on, work is undone on failure or Ctrl-C. */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGHUP, &sa, &old_hup);
    signals_set = 1;

    mkdir("/run/vmstamp", 0755);
    keys_root = strdup("/run/vmstamp/keys.XXXXXX");
    if (!mkdtemp(keys_root)) {
        free(keys_root);
        keys_root = strdup("/tmp/vmstamp-keys.XXXXXX");
        if (!mkdtemp(keys_root)) {
            error("cannot create a private directory for SSH host keys: %s", strerror(errno));
            free(keys_root);
            keys_root = NULL;
            goto fail;
        }
    }
    chmod(keys_root, 0700);
    for (size_t i = 0; i < n; i++) {
        if (asprintf(&clones[i].keys_dir, "%s/%zu", keys_root, i) < 0)
            abort();
        mkdir(clones[i].keys_dir, 0700);
    }
    keygen = keygen_start(clones, n);
    if (keygen < 0) {
        error("cannot fork: %s", strerror(errno));
        goto fail;
    }

    for (size_t i = 0; i < n; i++) {
        struct clone *c = &clones[i];
        if (check_checkpoint() < 0)
            goto fail;
        if (o.full) {
            r = qemuimg_convert(template, tinfo.format, c->tmp_disk);
            c->disk_made = 1; /* even a failed convert may leave a file */
            if (r == 0 && o.size > tinfo.virtual_size)
                r = qemuimg_resize(c->tmp_disk, "qcow2", o.size);
        } else {
            r = qemuimg_create_overlay(c->tmp_disk, template, tinfo.format,
                                       o.size > tinfo.virtual_size ? o.size : 0);
            c->disk_made = 1;
        }
        if (r < 0)
            goto fail;
        /* The disk will hold private host keys and the password hash:
         * owner only (libvirt hands it to qemu when the domain starts). */
        if (chmod(c->tmp_disk, 0600) < 0) {
            error("cannot chmod '%s': %s", c->tmp_disk, strerror(errno));
            goto fail;
        }
        c->job.name = c->name;
        c->job.disk_path = c->tmp_disk;
        c->job.hostname = c->hostname;
        c->job.mac = c->mac;
        c->job.grow = o.size > tinfo.virtual_size;
        c->job.keys_dir = c->keys_dir;
    }
    {
        /* The SSH host keys are made while the appliance boots. */
        struct clone_job *jobs = calloc(n, sizeof *jobs);
        struct customize_opts copts = { .root_password = password, .ssh_pubkey = ssh_key,
                                        .template_name = template_arg, .layout_key = layout_key_str,
                                        .cancel = &interrupted };
        for (size_t i = 0; i < n; i++)
            jobs[i] = clones[i].job;
        struct gfs_session *gs = gfs_launch(jobs, n, accel);
        r = keygen_wait(keygen);
        keygen = -1;
        if (gs && r == 0 && check_checkpoint() == 0)
            r = gfs_customize(gs, jobs, n, &copts, &os);
        else
            r = -1;
        gfs_close(gs);
        for (size_t i = 0; i < n; i++)
            clones[i].job = jobs[i];
        free(jobs);
        if (r < 0 || check_checkpoint() < 0)
            goto fail;
    }

    for (size_t i = 0; i < n; i++) {
        struct clone *c = &clones[i];
        if (rename(c->tmp_disk, c->disk) < 0) {
            error("cannot rename '%s' to '%s': %s", c->tmp_disk, c->disk, strerror(errno));
            goto fail;
        }
        c->renamed = 1;
    }
    if (virt_pool_refresh(conn, o.pool) < 0)
        goto fail;

    {
        time_t now = time(NULL);
        strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    }
    for (size_t i = 0; i < n; i++) {
        struct clone *c = &clones[i];
        struct domain_spec spec = {
            .name = c->name, .virt_type = accel_domain_type(accel), .memory_kib = o.memory_kib,
            .vcpus = o.vcpus, .disk_path = c->disk, .disk_format = "qcow2", .net = &net,
            .mac = c->mac, .console_log = c->console_log, .template_path = template,
            .hostname = c->hostname, .created = created, .os_id = os_id,
        };
        CLEANUP_FREE char *xml = domxml_build(&spec);
        if (!xml || check_checkpoint() < 0)
            goto fail;
        debug("domain XML of %s:\n%s", c->name, xml);
        c->dom = virDomainDefineXML(conn, xml);
        if (!c->dom) {
            error("cannot define domain '%s': %s", c->name, virt_error());
            goto fail;
        }
        if (o.autostart && virDomainSetAutostart(c->dom, 1) < 0) {
            error("cannot set autostart on '%s': %s", c->name, virt_error());
            goto fail;
        }
    }
    for (size_t i = 0; o.start && i < n; i++) {
        if (check_checkpoint() < 0)
            goto fail;
        if (virDomainCreate(clones[i].dom) < 0) {
            error("cannot start domain '%s': %s", clones[i].name, virt_error());
            goto fail;
        }
    }

    /* Done: report. */
    {
        CLEANUP_FCLOSE FILE *kh = NULL;
        if (o.known_hosts) {
            kh = fopen(o.known_hosts, "ae");
            if (!kh)
                warning("cannot append to known_hosts file '%s': %s", o.known_hosts, strerror(errno));
        }
        for (size_t i = 0; i < n; i++) {
            struct clone *c = &clones[i];
            char sz[32];
            printf("%s: mac %s, hostname %s, machine-id %s, disk %s (%s, %s)%s\n", c->name, c->mac,
                   c->hostname, c->job.machine_id, c->disk, o.full ? "full" : "linked",
                   human_size(o.size > tinfo.virtual_size ? o.size : tinfo.virtual_size, sz, sizeof sz),
                   o.start ? ", started" : "");
            print_host_keys(c, kh);
        }
    }
    ret = EXIT_SUCCESS;
    goto out;

fail:
    if (keygen > 0) {
        kill(keygen, SIGKILL);
        waitpid(keygen, NULL, 0);
    }
    if (clones)
        rollback(conn, clones, n, pool_dir ? o.pool : NULL);
    error_report();
out:
    if (keys_root)
        remove_tree(keys_root);
    if (password)
        explicit_bzero(password, strlen(password));
    if (clones) {
        for (size_t i = 0; i < n; i++)
            if (clones[i].dom)
                virDomainFree(clones[i].dom);
        clones_free(clones, n);
    }
    if (signals_set) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        sigaction(SIGHUP, &old_hup, NULL);
    }
    guest_os_release(&os);
    image_info_release(&tinfo);
    netspec_release(&net);
    if (conn)
        virConnectClose(conn);
    return ret;
}
