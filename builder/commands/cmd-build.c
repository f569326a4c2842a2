/* cmd-build.c: vmstamp build DEFINITION: the options as a build request,
 * the build pipeline (pipeline/build.c: install, template, install disk
 * removed, install record) as one run, the result printed. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/xalloc.h"
#include "commands/cmd.h"
#include "pipeline/build.h"
#include "pipeline/run.h"
#include "pure/util.h"

static int once(const char *opt, const void *cur)
{
    if (cur)
        return cmd_bad_usage("build", "--%s given twice", opt);
    return 0;
}

/* Options into *REQ; --var values go to *VARS (REQ points at it; caller
 * frees). 0, or the exit code of a usage error. */
static int parse_options(int argc, char **argv, struct build_request *req, char ***vars)
{
    enum { O_ISO = 256, O_NAME, O_NET, O_POOL, O_PW, O_KEEP, O_VAR, O_FIXPERM };
    static const struct option opts[] = {
        { "iso", required_argument, NULL, O_ISO },
        { "name", required_argument, NULL, O_NAME },
        { "network", required_argument, NULL, O_NET },
        { "pool", required_argument, NULL, O_POOL },
        { "root-password-file", required_argument, NULL, O_PW },
        { "keep-install", no_argument, NULL, O_KEEP },
        { "fix-permissions", no_argument, NULL, O_FIXPERM },
        { "var", required_argument, NULL, O_VAR },
        { NULL, 0, NULL, 0 },
    };
    int c, r;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        r = 0;
        switch (c) {
        case O_ISO: r = once("iso", req->iso); req->iso = optarg; break;
        case O_NAME:
            r = once("name", req->name);
            req->name = optarg;
            if (!r && !valid_domain_name(optarg))
                r = cmd_bad_usage("build", "invalid --name '%s': use 1-64 letters, digits, '.', '_' or '-'", optarg);
            break;
        case O_NET: r = once("network", req->network); req->network = optarg; break;
        case O_POOL: r = once("pool", req->pool); req->pool = optarg; break;
        case O_PW: r = once("root-password-file", req->password_file); req->password_file = optarg; break;
        case O_KEEP: req->keep_install = 1; break;
        case O_FIXPERM: req->fix_permissions = 1; break;
        case O_VAR:
            if (!strchr(optarg, '='))
                return cmd_bad_usage("build", "invalid --var '%s': use KEY=VALUE", optarg);
            strv_append(vars, xstrdup(optarg));
            req->vars = (const char *const *)*vars;
            req->nvars++;
            break;
        default:
            return cmd_bad_usage("build", "unknown option");
        }
        if (r)
            return r;
    }
    if (optind + 1 != argc)
        return cmd_bad_usage("build", "give one template definition (YAML)");
    req->definition = argv[optind];
    return 0;
}

int cmd_build(int argc, char **argv)
{
    struct build_request req = { 0 };
    struct build_result res = { 0 };
    CLEANUP_STRV char **vars = NULL;
    virConnectPtr conn = NULL;
    struct run *run;
    int r;

    r = parse_options(argc, argv, &req, &vars);
    if (r)
        return r;
    run = cmd_begin(&conn, "build %s", req.definition);
    r = cmd_end(conn, run, run && build_run(conn, &req, run, &res) == 0);
    if (r == EXIT_SUCCESS)
        printf("%s: built from %s with %s\n", res.name, res.iso, res.kickstart);
    build_result_release(&res);
    return r;
}
