/* main.c: global options, then the command table. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>

#include "adapters/accel.h"
#include "commands/cmd.h"
#include "base/error.h"
#include "adapters/virt.h"
#include "base/xalloc.h"
#include "pipeline/run.h"

#ifndef VMSTAMP_VERSION
#define VMSTAMP_VERSION "0.1.0"
#endif

const char *opt_uri;

const struct cmd commands[] = {
    { "clone", cmd_clone, CMD_NEEDS_ROOT, "stamp out clones of a template disk and define them in libvirt",
      "[OPTIONS] TEMPLATE NAME...\n"
      "       vmstamp clone [OPTIONS] --count N --name-pattern PATTERN TEMPLATE\n"
      "TEMPLATE is a template name in the store, a disk image path or a libvirt volume POOL/VOLUME.\n"
      "  --linked               qcow2 overlay backed by the template (default); into an LVM\n"
      "                         pool an LVM snapshot of the template LV (thin if it can be)\n"
      "  --full                 independent sparse qcow2 copy (a raw LV in an LVM pool)\n"
      "  --size SIZE            grow disk, last partition, PV/LV and filesystem (e.g. 20G)\n"
      "  --pool POOL            storage pool for the clone disks (default: default)\n"
      "  --snapshot-size SIZE   copy-on-write size of thick LVM snapshots (default: the\n"
      "                         template LV's size)\n"
      "  --network NET          NAME | network:NAME | bridge:BR | user (default: default)\n"
      "  --memory MIB           memory in MiB or with a suffix, e.g. 2G (default 1024)\n"
      "  --vcpus N              virtual CPUs (default 1)\n"
      "  --mac MAC              MAC for the next clone (repeat, in NAME order)\n"
      "  --ip A.B.C.D[/PREFIX]  MAC 52:54:<ip octets> for the next clone (repeat); with /PREFIX also\n"
      "                         the clone's static IPv4 address (one clone only)\n"
      "  --gateway ADDR         default gateway for --ip ADDR/PREFIX\n"
      "  --dns ADDR[,ADDR...]   DNS servers for --ip ADDR/PREFIX (up to 4)\n"
      "  --hostname FQDN        guest host name (one clone only; default: NAME)\n"
      "  --domain DOMAIN        append .DOMAIN to each clone's host name\n"
      "  --count N              make N clones named by --name-pattern\n"
      "  --name-pattern PAT     printf pattern with one %d, e.g. 'web-%02d'\n"
      "  --start-index N        first number for --name-pattern (default 1)\n"
      "  --root-password-file F set root's password from the first line of F\n"
      "  --ssh-key FILE         add a public key to root's authorized_keys\n"
      "  --known-hosts FILE     append the clones' new SSH host keys to FILE\n"
      "  --start                start each clone after defining it\n"
      "  --autostart            mark each clone autostart\n"
      "  --description TEXT     each clone's description (virsh desc, virt-manager)\n"
      "  --forward HOST:GUEST[/tcp|udp]\n"
      "                         forward this host's port HOST to the clone's port GUEST (repeat);\n"
      "                         needs the clone's address (--ip ADDRESS/PREFIX); rules added on\n"
      "                         start, removed on stop and rm (libvirt hook, nftables)\n"
      "  --allow-low-port       let --forward use host ports below 1024 (recorded in the clone)\n"
      "  --force-port           let --forward use host port 22 or a port this host listens on\n"
      "                         (recorded in the clone)\n"
      "  --parallel N           customize in up to N appliances at once (default: one per core\n"
      "                         but one, each with 8 clones or more)\n"
      "  --template-pool POOL   template store to find TEMPLATE in (default vmstamp-templates)\n"
      "  --fix-permissions      give qemu's user search permission (setfacl) on directories above the\n"
      "                         template, its backing files or the pool that it cannot search\n" },
    { "list", cmd_list, CMD_NEEDS_ROOT, "list the domains vmstamp made",
      "[--all] [--json]\n"
      "  --all                  also list domains vmstamp did not make\n"
      "  --json                 one JSON object (README.md, JSON output)\n" },
    { "rm", cmd_rm, CMD_NEEDS_ROOT, "undefine clones and delete their disks",
      "[--force] NAME...\n"
      "  --force                stop running clones; undefine domains vmstamp did not make (their disks are kept)\n" },
    { "build", cmd_build, CMD_NEEDS_ROOT, "run a template definition: install from its ISO, then make the template",
      "[OPTIONS] DEFINITION.yaml\n"
      "DEFINITION (templates/*.yaml): name, iso, iso_sha256, kickstart, os_variant, size, memory, vcpus,\n"
      "operations; paths relative to the file.\n"
      "  --iso ISO              use this ISO (its checksum is then not checked)\n"
      "  --name NAME            template name instead of the definition's\n"
      "  --network NET          network for the install (default: default; 'user' for user-mode)\n"
      "  --pool POOL            pool for the install disk (default: default; removed after)\n"
      "  --root-password-file F root password for the install (mode 0600)\n"
      "  --var KEY=VALUE        kickstart variable\n"
      "  --keep-install         keep the installed disk POOL/NAME-install.qcow2\n"
      "  --fix-permissions      as install --fix-permissions\n" },
    { "template", cmd_template, CMD_NEEDS_ROOT, "make, list, check and remove templates in the template store",
      "SUBCOMMAND [ARGS]\n"
      "  create NAME --from DISK|DOMAIN [--pool POOL] [--operations SPEC] [--in-place] [--no-inspect]\n"
      "                         sysprep and shrink into a compressed, checksummed template (one appliance launch)\n"
      "  ops                    list sysprep operations and whether they are on by default\n"
      "  list [--pool POOL] [--json]\n"
      "                         name, OS, virtual and stored size, created, clones using it\n"
      "  info [--pool POOL] [--json] NAME\n"
      "                         the recorded metadata\n"
      "  verify [--pool POOL] NAME re-hash the image against its metadata\n"
      "  rm [--pool POOL] NAME  remove (refused while linked clones use it)\n"
      "  export [--pool POOL] [--force] NAME FILE.tar.zst --sign-key KEY.pem\n"
      "                         bundle image + metadata + Ed25519 signature\n"
      "  import [--pool POOL] FILE.tar.zst --trust-key PUB.pem\n"
      "                         verify signature and checksum, add to the store\n"
      "  publish [--pool POOL] DIR [NAME...]\n"
      "                         write a virt-builder repository (index, xz images) of the store\n"
      "--operations: 'defaults', 'all', 'none' and names, '-name' off, '+name' on,\n"
      "  e.g. defaults,-tmp-files,+user-account. Default store: pool vmstamp-templates.\n" },
    { "kickstart", cmd_kickstart, 0, "check and render kickstart files for unattended installs",
      "SUBCOMMAND [ARGS]\n"
      "  lint FILE...           report problems as FILE:LINE: message (exit 1 if any)\n"
      "  render FILE [--var KEY=VALUE]...\n"
      "                         print FILE with each @@KEY@@ replaced by its VALUE\n" },
    { "install", cmd_install, CMD_NEEDS_ROOT, "install a guest unattended from an installer ISO and a kickstart",
      "--iso ISO --kickstart KS --name NAME [OPTIONS]\n"
      "Boots the ISO's kernel with KS injected into its initrd (the ISO is not modified),\n"
      "waits for the installer to power off and leaves the disk POOL/NAME.qcow2.\n"
      "  --iso ISO              installer ISO (.treeinfo or a known layout: RHEL, Debian, Ubuntu, SUSE)\n"
      "  --kickstart KS         kickstart file; @@HOSTNAME@@ becomes NAME; must pass 'vmstamp kickstart lint'\n"
      "  --name NAME            domain, host and volume name\n"
      "  --os-variant ID        osinfo id (osinfo-query os), e.g. rocky9, centos7.0, or generic: recorded\n"
      "                         in the domain's metadata; before RHEL 9 / Fedora 34 the kickstart is ks=\n"
      "  --size SIZE            disk size (default 10G)\n"
      "  --memory MIB           memory in MiB or with a suffix, e.g. 2G (default 1024)\n"
      "  --vcpus N              virtual CPUs (default 1)\n"
      "  --pool POOL            storage pool for the disk (default: default)\n"
      "  --network NET          NAME | network:NAME | bridge:BR | user (default: default)\n"
      "  --var KEY=VALUE        replace @@KEY@@ in the kickstart (repeat)\n"
      "  --root-password-file F set rootpw (crypted) from the first line of F (mode 0600)\n"
      "  --kernel PATH --initrd PATH\n"
      "                         kernel and initrd paths inside the ISO (default: discovered)\n"
      "  --extra-args ARGS      append ARGS to the installer's kernel command line\n"
      "  --iso-sha256 HEX       refuse an ISO whose SHA-256 differs\n"
      "  --timeout S            give up after S seconds in all (default 1800)\n"
      "  --inactivity-timeout S give up after S seconds without disk, CD-ROM or network I/O or console output\n"
      "                         (default 300)\n"
      "  --keep-failed          keep the disk of a failed install\n"
      "  --fix-permissions      give qemu's user search permission (setfacl) on directories above the\n"
      "                         ISO or the pool that it cannot search\n" },
    { "fleet", cmd_fleet, CMD_NEEDS_ROOT, "make and keep a lab fleet from a plan file, across libvirt hosts",
      "SUBCOMMAND [OPTIONS] PLAN.yaml\n"
      "  apply PLAN             make the clones that are missing, keep the others, report drift (idempotent)\n"
      "    --dry-run            print what would be done: create N, keep M, drift K, remove P\n"
      "    --prune              remove clones the fleet owns that the plan no longer names\n"
      "    --reconcile          set drifted memory and vCPUs to the plan's (next boot)\n"
      "    --start              start every clone afterwards\n"
      "    --wait               start them and wait for each one's address\n"
      "    --wait-lock          wait for another run on the same fleet instead of failing\n"
      "    --parallel N         customize in up to N appliances at once (as clone --parallel)\n"
      "    --fix-permissions    as clone --fix-permissions, on each host this machine can check\n"
      "  status [--json] PLAN   one row per clone: host, state, MAC, planned IP, IP seen, drift\n"
      "  start|stop PLAN        start, or shut down (destroyed after --timeout, default 60 s)\n"
      "  wait PLAN              start and wait until each clone has its address (--timeout, default 600 s)\n"
      "  destroy PLAN           remove what the fleet owns: domains, disks, DHCP/DNS entries, known_hosts lines\n"
      "  inventory PLAN         an Ansible inventory of the clones (groups per plan group and per host)\n"
      "    --format F           yaml (default), ini or json\n"
      "  ssh-config PLAN        ssh_config Host blocks of the clones, to Include from ~/.ssh/config\n"
      "Plan format: see README.md (fleet, template, hosts, placement, defaults, groups).\n" },
    { "gc", cmd_gc, CMD_NEEDS_ROOT, "undo what interrupted vmstamp runs left behind (every changing command does it first)",
      "\n"
      "Replays the journals of vmstamp runs that are no longer alive (killed, crashed, power lost):\n"
      "removes their half-made domains, disks, store entries, private key and work directories,\n"
      "and ends their libguestfs appliances. One line per thing removed.\n" },
    { "doctor", cmd_doctor, 0, "check this host: virtualization, KVM, libvirt, libguestfs, disk",
      "[--pool POOL] [--network NET] [--json]\n"
      "  --pool POOL            pool to check (default: default)\n"
      "  --network NET          network to check (default: default)\n"
      "  --json                 one JSON object (README.md, JSON output)\n" },
    { "hook", cmd_hook, 0, "libvirt's qemu hook: add and remove clones' port forwards (run by libvirt)",
      "qemu DOMAIN OP SUBOP EXTRA < DOMAIN.xml\n"
      "Run by /etc/libvirt/hooks/qemu.d/vmstamp, which vmstamp installs for clone --forward:\n"
      "on start and reconnect the forwards recorded in the domain's metadata are added, on\n"
      "stopped removed (nft table ip vmstamp, or iptables without nft). Other OPs: nothing.\n" },
    { NULL, NULL, 0, NULL, NULL },
};

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: vmstamp [-c URI] [-v] [-q] [--accel kvm|tcg|auto] COMMAND [ARGS]\n"
            "\n"
            "Template-and-clone image factory for KVM/libvirt.\n"
            "\n"
            "Global options:\n"
            "  -c, --connect URI      libvirt URI (default: $LIBVIRT_DEFAULT_URI, else qemu:///system)\n"
            "  --accel A              kvm, tcg or auto (default: auto, probed once per boot; $VMSTAMP_ACCEL)\n"
            "  -v, --verbose          print every command vmstamp runs (twice: libguestfs trace too)\n"
            "  -q, --quiet            print only results and errors\n"
            "  -h, --help             this help; 'vmstamp COMMAND -h' for a command's\n"
            "  -V, --version          print the version\n"
            "\n"
            "Commands:\n");
    for (const struct cmd *c = commands; c->name; c++)
        fprintf(fp, "  %-22s %s\n", c->name, c->summary);
}

static const struct cmd *find_command(const char *name)
{
    for (const struct cmd *c = commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

/* The one line for a command name that is not in commands[]. */
static int unknown_command(const char *name)
{
    fprintf(stderr, "vmstamp: unknown command '%s': 'vmstamp help' lists the commands\n", name);
    return 2;
}

int cmd_usage(const char *name, int to_stderr)
{
    FILE *fp = to_stderr ? stderr : stdout;
    const struct cmd *c = find_command(name);

    if (!c)
        return unknown_command(name);
    fprintf(fp, "usage: vmstamp %s %s", c->name, c->usage);
    fprintf(fp, "\n%s.\n", c->summary);
    return EXIT_SUCCESS;
}

int cmd_bad_usage(const char *name, const char *fmt, ...)
{
    va_list ap;
    char *msg = NULL, *line;

    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        xalloc_die();
    va_end(ap);
    line = error_escape(msg); /* one line, whatever the values hold */
    if (!line)
        xalloc_die();
    fprintf(stderr, "vmstamp %s: %s (see 'vmstamp %s -h')\n", name, line, name);
    free(line);
    free(msg);
    return 2;
}

virConnectPtr cmd_connect(void)
{
    return virt_connect(opt_uri);
}

struct json_object *cmd_json_new(void)
{
    struct json_object *o = json_object_new_object();

    json_object_object_add(o, "version", json_object_new_int(CMD_JSON_VERSION));
    return o;
}

void cmd_json_print(struct json_object *o)
{
    puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
}

struct json_object *cmd_json_string(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

struct run *cmd_begin(virConnectPtr *conn, const char *fmt, ...)
{
    va_list ap;
    char *what = NULL;
    struct run *run;

    *conn = cmd_connect();
    if (!*conn)
        return NULL;
    va_start(ap, fmt);
    if (vasprintf(&what, fmt, ap) < 0)
        xalloc_die();
    va_end(ap);
    run = run_begin(what);
    free(what);
    return run;
}

int cmd_end(virConnectPtr conn, struct run *run, int ok)
{
    if (ok && run_commit(run) < 0)
        ok = 0;
    run_end(run); /* undoes what was made, unless committed */
    if (!ok)
        error_report();
    if (conn)
        virConnectClose(conn);
    return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* fds 0-2 must be open so a file we open never becomes "stdout". */
static void sanitize_fds(void)
{
    for (int fd = 0; fd < 3; fd++)
        if (fcntl(fd, F_GETFD) < 0 && errno == EBADF)
            if (open("/dev/null", O_RDWR) != fd)
                abort();
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "connect", required_argument, NULL, 'c' },
        { "accel", required_argument, NULL, 'A' },
        { "verbose", no_argument, NULL, 'v' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    const char *env_accel = getenv("VMSTAMP_ACCEL");
    int c, ret;

    sanitize_fds();
    signal(SIGPIPE, SIG_IGN);
    virt_init();
    if (env_accel && *env_accel && accel_parse(env_accel, &accel_requested) < 0) {
        error_report();
        return 2;
    }
    while ((c = getopt_long(argc, argv, "+c:vqhV", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            if (opt_uri) {
                fprintf(stderr, "vmstamp: -c given twice\n");
                return 2;
            }
            opt_uri = optarg;
            break;
        case 'A':
            if (accel_parse(optarg, &accel_requested) < 0) {
                error_report();
                return 2;
            }
            break;
        case 'v':
            verbose++;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            usage(stdout);
            return EXIT_SUCCESS;
        case 'V':
            printf("vmstamp %s\n", VMSTAMP_VERSION);
            return EXIT_SUCCESS;
        default:
            fprintf(stderr, "vmstamp: unknown option (see 'vmstamp -h')\n");
            return 2;
        }
    }
    if (verbose && quiet) {
        fprintf(stderr, "vmstamp: -v and -q conflict: choose one\n");
        return 2;
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[optind];
    if (strcmp(name, "help") == 0) {
        if (optind + 2 < argc) {
            fprintf(stderr, "vmstamp help: give one command, not %d (see 'vmstamp help')\n", argc - optind - 1);
            return 2;
        }
        if (optind + 1 < argc && strcmp(argv[optind + 1], "-h") != 0 && strcmp(argv[optind + 1], "--help") != 0)
            return cmd_usage(argv[optind + 1], 0);
        usage(stdout);
        return EXIT_SUCCESS;
    }
    {
        const struct cmd *cmd = find_command(name);
        if (!cmd)
            return unknown_command(name);
        /* -h works with nothing running and as any user. */
        for (int i = optind + 1; i < argc; i++)
            if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
                return cmd_usage(cmd->name, 0);
            else if (strcmp(argv[i], "--") == 0)
                break;
        if ((cmd->flags & CMD_NEEDS_ROOT) && geteuid() != 0 && !getenv("VMSTAMP_ALLOW_NONROOT") &&
            !(opt_uri && strncmp(opt_uri, "test:", 5) == 0)) {
            fprintf(stderr, "vmstamp: error: '%s' needs root (qemu:///system and libguestfs on system disks): run it with sudo\n",
                    cmd->name);
            return EXIT_FAILURE;
        }
        int sub_argc = argc - optind;
        char **sub_argv = argv + optind;
        optind = 0; /* each command parses its own options */
        ret = cmd->fn(sub_argc, sub_argv);
        if (fflush(stdout) != 0 || ferror(stdout)) {
            fprintf(stderr, "vmstamp: error: cannot write to standard output\n");
            return EXIT_FAILURE;
        }
        return ret;
    }
}
