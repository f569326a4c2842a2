/* fleet.h: declarative lab fleets across libvirt hosts (`vmstamp fleet`).
 *
 * A plan (pure/fleetplan.h) names every clone, its host, settings and
 * address. Ownership lives in each domain's metadata (<vmstamp:fleet>), so
 * status, prune and destroy read it from libvirt on every host, never from
 * a local state file. apply is idempotent: it makes what is missing (every
 * new clone of every host customized in one appliance launch, through the
 * clone pipeline's plan and run steps), keeps what exists, reports drift,
 * and reserves each address (DHCP host + DNS host) before any clone boots.
 * Results come back as data (struct fleet_report); nothing here prints. */
#ifndef VMSTAMP_PIPELINE_FLEET_H
#define VMSTAMP_PIPELINE_FLEET_H

#include <stddef.h>

#include "pipeline/run.h"
#include "pure/fleetplan.h"

#define FLEET_STATE_DIR "/var/lib/vmstamp/fleet" /* NAME.known_hosts */

struct fleet_opts {
    const char *uri;        /* the host when the plan lists none (-c); NULL: the default */
    int dry_run;            /* apply: say what would be done, do nothing */
    int prune;              /* apply: remove owned clones the plan no longer names */
    int reconcile;          /* apply: set drifted memory/vCPUs to the plan's */
    int start;              /* apply: start every clone afterwards */
    int wait;               /* apply/start: wait for every clone's address */
    int wait_lock;          /* wait for another run on the same fleet instead of failing */
    unsigned timeout;       /* wait: seconds (0: 600) */
    unsigned parallel;      /* apply: appliances at once (clone_request.parallel) */
    int fix_permissions;    /* apply: clone_request.fix_permissions */
    /* Progress (a line without newline, repeated); NULL: none. */
    void (*progress)(void *ctx, const char *line);
    void *progress_ctx;
};

enum fleet_action {
    FLEET_KEEP,     /* exists as planned */
    FLEET_CREATE,   /* made by this apply (or would be, with --dry-run) */
    FLEET_DRIFT,    /* exists, differs from the plan */
    FLEET_REMOVE,   /* owned, not in the plan: removed with --prune */
    FLEET_STRAY,    /* owned, not in the plan, left (no --prune) */
    FLEET_FAILED,   /* its host failed or could not be reached */
};

struct fleet_row {
    char *name;
    char *host;        /* the plan's host name ("default" without hosts) */
    char *state;       /* "running", "shut off", "missing", "unreachable", ... */
    char mac[18];
    char ip[16];       /* planned; "" without one */
    char *ip_seen;     /* from the DHCP lease, else the guest agent; NULL: none */
    char *template;
    char *drift;       /* "memory 1024 MiB, plan 2048 MiB; vcpus 1, plan 2"; NULL: none */
    enum fleet_action action;
};

struct fleet_report {
    struct fleet_row *rows;
    size_t n;
    unsigned count[FLEET_FAILED + 1];
    char **host_errors;    /* one line per host that failed (NULL-terminated) */
    char *known_hosts;     /* the fleet's known_hosts file, when written */
    unsigned uploads;      /* template copies sent to other hosts */
    unsigned missing_ip;   /* wait: clones without their address at the end */
};

enum fleet_power { FLEET_START, FLEET_STOP, FLEET_DESTROY };

const char *fleet_action_name(enum fleet_action a);

/* Make the fleet match PLAN (see above). RUN is the transaction: what one
 * host made stays even if another fails (that host's part is undone; its
 * error is in REP->host_errors and the return is -1 with "N host(s)
 * failed" recorded). A bad plan fails before anything is made. */
int fleet_apply(const struct fleet_plan *plan, const struct fleet_opts *o, struct run *run,
                struct fleet_report *rep);
/* One row per planned clone plus owned strays, with state and addresses. */
int fleet_status(const struct fleet_plan *plan, const struct fleet_opts *o, struct fleet_report *rep);
/* Start, stop (ACPI shutdown, then destroy after the timeout) or destroy
 * (remove domains, disks, DHCP/DNS entries, known_hosts lines: exactly what
 * the fleet owns) every owned clone. */
int fleet_power(const struct fleet_plan *plan, const struct fleet_opts *o, enum fleet_power what,
                struct run *run, struct fleet_report *rep);
/* Start the fleet's clones and wait for each one's address (lease, else
 * agent); rows say what each got. -1 if one never got it (named). */
int fleet_wait(const struct fleet_plan *plan, const struct fleet_opts *o, struct fleet_report *rep);
void fleet_report_release(struct fleet_report *rep);

#endif
