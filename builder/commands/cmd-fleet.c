/* cmd-fleet.c: vmstamp fleet apply|status|start|stop|destroy|wait PLAN. */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/xalloc.h"
#include "commands/cmd.h"
#include "pipeline/fleet.h"
#include "pipeline/run.h"
#include "pure/fleetplan.h"
#include "pure/inventory.h"

/* One line, rewritten in place, on a terminal only (base/error.h). */
static void show_progress(void *ctx, const char *line)
{
    (void)ctx;
    progress_line("%s", line);
}

static void print_table(const struct fleet_report *rep, int with_action)
{
    printf("%-20s %-10s %-10s %-17s %-15s %-15s %s\n", "NAME", "HOST", "STATE", "MAC", "IP", "IP SEEN",
           with_action ? "ACTION" : "DRIFT");
    for (size_t i = 0; i < rep->n; i++) {
        const struct fleet_row *r = &rep->rows[i];
        printf("%-20s %-10s %-10s %-17s %-15s %-15s %s%s%s\n", r->name, r->host, r->state ? r->state : "-",
               r->mac[0] ? r->mac : "-", r->ip[0] ? r->ip : "-", r->ip_seen ? r->ip_seen : "-",
               with_action ? fleet_action_name(r->action) : (r->drift ? r->drift : "-"),
               with_action && r->drift ? ": " : "", with_action && r->drift ? r->drift : "");
    }
}

static void print_json(const struct fleet_report *rep, const char *fleet)
{
    struct json_object *o = cmd_json_new(), *a = json_object_new_array();

    json_object_object_add(o, "fleet", json_object_new_string(fleet));
    for (size_t i = 0; i < rep->n; i++) {
        const struct fleet_row *r = &rep->rows[i];
        struct json_object *e = json_object_new_object();
        json_object_object_add(e, "name", json_object_new_string(r->name));
        json_object_object_add(e, "host", json_object_new_string(r->host));
        json_object_object_add(e, "state", json_object_new_string(r->state ? r->state : ""));
        json_object_object_add(e, "mac", r->mac[0] ? json_object_new_string(r->mac) : NULL);
        json_object_object_add(e, "ip", r->ip[0] ? json_object_new_string(r->ip) : NULL);
        json_object_object_add(e, "ip_seen", r->ip_seen ? json_object_new_string(r->ip_seen) : NULL);
        json_object_object_add(e, "template", json_object_new_string(r->template ? r->template : ""));
        json_object_object_add(e, "drift", r->drift ? json_object_new_string(r->drift) : NULL);
        json_object_object_add(e, "action", json_object_new_string(fleet_action_name(r->action)));
        json_object_array_add(a, e);
    }
    json_object_object_add(o, "clones", a);
    struct json_object *errs = json_object_new_array();
    for (size_t i = 0; rep->host_errors && rep->host_errors[i]; i++)
        json_object_array_add(errs, json_object_new_string(rep->host_errors[i]));
    json_object_object_add(o, "host_errors", errs);
    cmd_json_print(o);
}

static void print_host_errors(const struct fleet_report *rep)
{
    for (size_t i = 0; rep->host_errors && rep->host_errors[i]; i++)
        fprintf(stderr, "vmstamp: error: %s\n", rep->host_errors[i]);
}

static void print_summary(const struct fleet_report *rep, const char *fleet, int dry_run)
{
    const unsigned *n = rep->count;

    printf("fleet %s: %s %u, keep %u, drift %u, remove %u", fleet, dry_run ? "would create" : "created",
           n[FLEET_CREATE], n[FLEET_KEEP], n[FLEET_DRIFT], n[FLEET_REMOVE]);
    if (n[FLEET_STRAY])
        printf(", not in the plan %u (--prune removes them)", n[FLEET_STRAY]);
    if (n[FLEET_FAILED])
        printf(", failed %u", n[FLEET_FAILED]);
    if (rep->uploads)
        printf(", template uploaded to %u host(s)", rep->uploads);
    printf("\n");
    if (rep->known_hosts)
        printf("known_hosts: %s (ssh -o UserKnownHostsFile=%s NAME)\n", rep->known_hosts, rep->known_hosts);
}

/* The clones of PLAN that exist (REP's rows but the missing ones and the
 * strays the plan does not name), as an Ansible inventory (INVENTORY) in
 * FORMAT or as ssh_config Host blocks, on stdout. */
static void print_inventory(const struct fleet_plan *plan, const struct fleet_report *rep, int inventory,
                            enum inventory_format format)
{
    struct inventory_host *h = xcalloc(rep->n + 1, sizeof *h);
    CLEANUP_FREE char *kh = xasprintf("%s/%s.known_hosts", FLEET_STATE_DIR, plan->fleet);
    CLEANUP_FREE char *text = NULL;
    size_t n = 0;

    for (size_t i = 0; i < rep->n; i++) {
        const struct fleet_row *r = &rep->rows[i];
        const struct fleet_clone *c = NULL;
        for (size_t k = 0; k < plan->nclones && !c; k++)
            if (strcmp(plan->clones[k].name, r->name) == 0)
                c = &plan->clones[k];
        if (!c || strcmp(r->state, "missing") == 0)
            continue;
        h[n++] = (struct inventory_host){ .name = r->name, .group = plan->groups[c->group].name, .host = r->host,
                                          .address = r->ip_seen ? r->ip_seen : r->ip };
    }
    text = inventory ? inventory_render(h, n, format, "root", kh) : ssh_config_render(h, n, "root", kh);
    fputs(text, stdout);
    free(h);
}

int cmd_fleet(int argc, char **argv)
{
    static const struct option opts[] = {
        { "dry-run", no_argument, NULL, 'n' },   { "prune", no_argument, NULL, 'p' },
        { "reconcile", no_argument, NULL, 'r' }, { "start", no_argument, NULL, 's' },
        { "wait", no_argument, NULL, 'w' },      { "wait-lock", no_argument, NULL, 'L' },
        { "timeout", required_argument, NULL, 't' }, { "json", no_argument, NULL, 'j' },
        { "parallel", required_argument, NULL, 'P' }, { "fix-permissions", no_argument, NULL, 'F' },
        { "format", required_argument, NULL, 'f' },
        { NULL, 0, NULL, 0 },
    };
    struct fleet_opts fo = { .uri = opt_uri, .progress = show_progress };
    struct fleet_plan plan;
    struct fleet_report rep;
    int c, json = 0, ok;
    const char *sub, *format = NULL;

    if (argc < 2)
        return cmd_bad_usage("fleet", "missing SUBCOMMAND");
    sub = argv[1];
    if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0)
        return cmd_usage("fleet", 0);
    argc--;
    argv++;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            fo.dry_run = 1;
            break;
        case 'p':
            fo.prune = 1;
            break;
        case 'r':
            fo.reconcile = 1;
            break;
        case 's':
            fo.start = 1;
            break;
        case 'w':
            fo.wait = 1;
            break;
        case 'L':
            fo.wait_lock = 1;
            break;
        case 'F':
            fo.fix_permissions = 1;
            break;
        case 'j':
            json = 1;
            break;
        case 'f':
            format = optarg;
            break;
        case 't': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v <= 0 || v > 86400)
                return cmd_bad_usage("fleet", "--timeout wants seconds (1-86400), not '%s'", optarg);
            fo.timeout = (unsigned)v;
            break;
        }
        case 'P': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || v < 1 || v > 64)
                return cmd_bad_usage("fleet", "invalid --parallel '%s': give 1 to 64 appliances", optarg);
            fo.parallel = (unsigned)v;
            break;
        }
        default:
            return cmd_bad_usage("fleet", "unknown option");
        }
    }
    if (argc - optind != 1)
        return cmd_bad_usage("fleet", "give one PLAN file");
    int is_apply = strcmp(sub, "apply") == 0, is_status = strcmp(sub, "status") == 0;
    if (!is_apply && (fo.dry_run || fo.prune || fo.reconcile || fo.start || fo.parallel || fo.fix_permissions))
        return cmd_bad_usage("fleet",
                             "--dry-run, --prune, --reconcile, --start, --parallel and --fix-permissions are for 'fleet apply'");
    if (json && !is_status)
        return cmd_bad_usage("fleet", "--json is for 'fleet status'");
    int is_inventory = strcmp(sub, "inventory") == 0, is_ssh_config = strcmp(sub, "ssh-config") == 0;
    enum inventory_format inv_format = INVENTORY_YAML;
    if (format && !is_inventory)
        return cmd_bad_usage("fleet", "--format is for 'fleet inventory'");
    if (format && inventory_format_parse(format, &inv_format) < 0)
        return cmd_bad_usage("fleet", "%s", error_message());
    if (fleet_plan_load(argv[optind], &plan) < 0) {
        error_report();
        return EXIT_FAILURE;
    }

    if (is_inventory || is_ssh_config) {
        ok = fleet_status(&plan, &fo, &rep) == 0;
        progress_clear();
        if (ok)
            print_inventory(&plan, &rep, is_inventory, inv_format);
        else
            error_report();
        fleet_report_release(&rep);
        fleet_plan_release(&plan);
        return ok ? EXIT_SUCCESS : EXIT_FAILURE;
    }
    if (is_status || strcmp(sub, "wait") == 0 || strcmp(sub, "start") == 0 || strcmp(sub, "stop") == 0) {
        if (is_status)
            ok = fleet_status(&plan, &fo, &rep) == 0;
        else if (strcmp(sub, "wait") == 0)
            ok = fleet_wait(&plan, &fo, &rep) == 0;
        else
            ok = fleet_power(&plan, &fo, strcmp(sub, "start") == 0 ? FLEET_START : FLEET_STOP, NULL, &rep) == 0;
        progress_clear();
        if (json)
            print_json(&rep, plan.fleet);
        else if (rep.n)
            print_table(&rep, 0);
        print_host_errors(&rep);
        if (!ok)
            error_report();
        fleet_report_release(&rep);
        fleet_plan_release(&plan);
        return ok ? EXIT_SUCCESS : EXIT_FAILURE;
    }
    if (!is_apply && strcmp(sub, "destroy") != 0) {
        fleet_plan_release(&plan);
        return cmd_bad_usage("fleet", "unknown subcommand '%s'", sub);
    }

    struct run *run = NULL;
    if (!fo.dry_run) {
        run = run_begin(is_apply ? "fleet apply" : "fleet destroy");
        if (!run) {
            error_report();
            fleet_plan_release(&plan);
            return EXIT_FAILURE;
        }
    }
    if (is_apply)
        ok = fleet_apply(&plan, &fo, run, &rep) == 0;
    else
        ok = fleet_power(&plan, &fo, FLEET_DESTROY, run, &rep) == 0;
    progress_clear();
    print_host_errors(&rep);
    int status = run ? cmd_end(NULL, run, ok) : (ok ? EXIT_SUCCESS : (error_report(), EXIT_FAILURE));
    if (is_apply && (ok || rep.n)) {
        /* After an error, rows only when some of the run stays (hosts that
         * failed while others worked): otherwise the one error line. */
        if (fo.dry_run || rep.count[FLEET_CREATE] || rep.count[FLEET_DRIFT] || rep.count[FLEET_REMOVE] ||
            rep.count[FLEET_FAILED] || fo.wait)
            print_table(&rep, 1);
        print_summary(&rep, plan.fleet, fo.dry_run);
    } else if (ok) {
        printf("fleet %s: destroyed %zu clone(s)\n", plan.fleet, rep.n - rep.count[FLEET_CREATE]);
    }
    fleet_report_release(&rep);
    fleet_plan_release(&plan);
    return status;
}
