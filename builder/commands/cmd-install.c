/* cmd-install.c: vmstamp install: the options as an install request, the
 * install pipeline (pipeline/install.c) as one run, the result printed. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters/virt.h"
#include "base/cleanup.h"
#include "base/error.h"
#include "base/xalloc.h"
#include "commands/cmd.h"
#include "pipeline/install.h"
#include "pipeline/run.h"
#include "pure/domxml.h"
#include "pure/installer.h"
#include "pure/util.h"

static int parse_seconds(const char *opt, const char *s, long *out)
{
    char *end;

    errno = 0;
    *out = strtol(s, &end, 10);
    if (errno || *end || end == s || *out < 1 || *out > 7 * 86400)
        return cmd_bad_usage("install", "invalid --%s '%s': give seconds (1 to 604800)", opt, s);
    return 0;
}

static int once(const char *opt, const void *cur)
{
    if (cur)
        return cmd_bad_usage("install", "--%s given twice", opt);
    return 0;
}

/* Options into *REQ; --var values go to *VARS (REQ points at it; caller
 * frees). 0, or the exit code of a usage error. */
static int parse_options(int argc, char **argv, struct install_request *req, char ***vars)
{
    enum { O_ISO = 256, O_KS, O_NAME, O_SIZE, O_MEM, O_VCPUS, O_POOL, O_NET, O_VAR, O_PW,
           O_KERNEL, O_INITRD, O_EXTRA, O_SHA, O_TIMEOUT, O_INACT, O_KEEP, O_OSV, O_FIXPERM };
    static const struct option opts[] = {
        { "iso", required_argument, NULL, O_ISO },
        { "kickstart", required_argument, NULL, O_KS },
        { "name", required_argument, NULL, O_NAME },
        { "size", required_argument, NULL, O_SIZE },
        { "memory", required_argument, NULL, O_MEM },
        { "vcpus", required_argument, NULL, O_VCPUS },
        { "pool", required_argument, NULL, O_POOL },
        { "network", required_argument, NULL, O_NET },
        { "var", required_argument, NULL, O_VAR },
        { "root-password-file", required_argument, NULL, O_PW },
        { "kernel", required_argument, NULL, O_KERNEL },
        { "initrd", required_argument, NULL, O_INITRD },
        { "extra-args", required_argument, NULL, O_EXTRA },
        { "iso-sha256", required_argument, NULL, O_SHA },
        { "timeout", required_argument, NULL, O_TIMEOUT },
        { "inactivity-timeout", required_argument, NULL, O_INACT },
        { "keep-failed", no_argument, NULL, O_KEEP },
        { "fix-permissions", no_argument, NULL, O_FIXPERM },
        { "os-variant", required_argument, NULL, O_OSV },
        { NULL, 0, NULL, 0 },
    };
    int c, r, have_size = 0, have_mem = 0, have_vcpus = 0, have_to = 0, have_inact = 0;
    char *end;

    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        r = 0;
        switch (c) {
        case O_ISO: r = once("iso", req->iso); req->iso = optarg; break;
        case O_KS: r = once("kickstart", req->kickstart); req->kickstart = optarg; break;
        case O_NAME: r = once("name", req->name); req->name = optarg; break;
        case O_SIZE:
            r = once("size", have_size ? "" : NULL);
            have_size = 1;
            if (!r && (parse_size(optarg, &req->size) < 0 || req->size < 64 * 1024 * 1024)) {
                error_clear();
                r = cmd_bad_usage("install", "invalid --size '%s': use e.g. 10G (at least 64M)", optarg);
            }
            break;
        case O_MEM:
            r = once("memory", have_mem ? "" : NULL);
            have_mem = 1;
            if (!r && parse_memory(optarg, &req->memory_kib) < 0) {
                error_report();
                r = 2;
            }
            break;
        case O_VCPUS:
            r = once("vcpus", have_vcpus ? "" : NULL);
            have_vcpus = 1;
            req->vcpus = (unsigned)strtoul(optarg, &end, 10);
            if (!r && (*end || req->vcpus == 0 || req->vcpus > 512))
                r = cmd_bad_usage("install", "invalid --vcpus '%s': give 1 to 512", optarg);
            break;
        case O_POOL: r = once("pool", req->pool); req->pool = optarg; break;
        case O_NET: r = once("network", req->network); req->network = optarg; break;
        case O_VAR:
            if (!strchr(optarg, '='))
                return cmd_bad_usage("install", "invalid --var '%s': use KEY=VALUE", optarg);
            strv_append(vars, xstrdup(optarg));
            req->vars = (const char *const *)*vars;
            req->nvars++;
            break;
        case O_PW: r = once("root-password-file", req->password_file); req->password_file = optarg; break;
        case O_KERNEL: r = once("kernel", req->kernel); req->kernel = optarg; break;
        case O_INITRD: r = once("initrd", req->initrd); req->initrd = optarg; break;
        case O_EXTRA: r = once("extra-args", req->extra_args); req->extra_args = optarg; break;
        case O_SHA:
            r = once("iso-sha256", req->iso_sha256);
            req->iso_sha256 = optarg;
            if (!r && !is_sha256_hex(optarg))
                r = cmd_bad_usage("install", "invalid --iso-sha256 '%s': give 64 hex digits", optarg);
            break;
        case O_TIMEOUT:
            r = once("timeout", have_to ? "" : NULL);
            have_to = 1;
            if (!r)
                r = parse_seconds("timeout", optarg, &req->timeout);
            break;
        case O_INACT:
            r = once("inactivity-timeout", have_inact ? "" : NULL);
            have_inact = 1;
            if (!r)
                r = parse_seconds("inactivity-timeout", optarg, &req->inactivity);
            break;
        case O_KEEP: req->keep_failed = 1; break;
        case O_FIXPERM: req->fix_permissions = 1; break;
        case O_OSV: r = once("os-variant", req->os_variant); req->os_variant = optarg; break;
        default:
            return cmd_bad_usage("install", "unknown option");
        }
        if (r)
            return r;
    }
    if (optind < argc)
        return cmd_bad_usage("install", "unexpected argument '%s': give the name with --name", argv[optind]);
    if (!req->iso)
        return cmd_bad_usage("install", "missing --iso ISO");
    if (!req->kickstart)
        return cmd_bad_usage("install", "missing --kickstart FILE");
    if (!req->name)
        return cmd_bad_usage("install", "missing --name NAME");
    if (!req->kernel != !req->initrd)
        return cmd_bad_usage("install", "--kernel and --initrd go together");
    if (req->extra_args && installer_args_name_kickstart(req->extra_args))
        return cmd_bad_usage("install", "--extra-args names a kickstart (ks= or inst.ks=): vmstamp injects "
                             "--kickstart itself; drop it from --extra-args");
    if (req->network) {
        struct netspec net;
        if (netspec_parse(req->network, &net) < 0) {
            error_report();
            return 2;
        }
        netspec_release(&net);
    }
    return 0;
}

int cmd_install(int argc, char **argv)
{
    struct install_request req = { 0 };
    struct install_result res = { 0 };
    CLEANUP_STRV char **vars = NULL;
    virConnectPtr conn = NULL;
    struct run *run;
    int r;

    r = parse_options(argc, argv, &req, &vars);
    if (r)
        return r;
    run = cmd_begin(&conn, "install %s", req.name);
    r = cmd_end(conn, run, run && install_run(conn, &req, run, &res) == 0);
    if (r == EXIT_SUCCESS)
        printf("%s: installed in %ld s, disk %s/%s\n", req.name, res.elapsed, res.pool, strrchr(res.disk, '/') + 1);
    install_result_release(&res);
    return r;
}
