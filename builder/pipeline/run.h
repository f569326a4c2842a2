/* run.h: one run of a pipeline that changes things, as one transaction.
 *
 * run_begin() first recovers what dead runs left (their journals), then
 * opens this run's journal and claims, and catches Ctrl-C/SIGTERM/SIGHUP.
 * Every side effect is journaled before it happens (run->journal); names and
 * MACs are claimed before they are checked (run->claims). run_commit()
 * keeps what was made; run_end() without a commit undoes it. */
#ifndef VMSTAMP_RUN_H
#define VMSTAMP_RUN_H

#include "base/claim.h"
#include "base/journal.h"

struct run {
    struct journal *journal;
    struct claims *claims;
    int committed;
};

/* COMMAND: what the run is, for the journal ("clone web01 web02"). */
struct run *run_begin(const char *command);
/* Keep what was made: the journal goes. */
int run_commit(struct run *r);
/* Undo what was made (unless committed), give claims back, restore the
 * signal handlers, free R. NULL is fine. */
void run_end(struct run *r);
/* Claim a domain name / MAC on CONN's host, naming the holder in the error:
 * "WHAT 'VALUE' is being made by another vmstamp run (pid N): ..." */
struct _virConnect;
int run_claim_domain(struct run *r, struct _virConnect *conn, const char *name);
int run_claim_mac(struct run *r, struct _virConnect *conn, const char *mac);
/* Claim a path (a volume, a store entry) on this machine. */
int run_claim_path(struct run *r, const char *what, const char *path);

/* Where runs make their private work directories: root's alone (0700). */
#define RUN_WORK_ROOT "/var/tmp/vmstamp"
/* A new private work directory RUN_WORK_ROOT/PREFIX<run id>.XXXXXX
 * (mkdtemp, mode 0700), journaled in R so rollback and recovery remove it;
 * RUN_WORK_ROOT is made if missing and refused unless it is a directory
 * of root's that no one else can write or search. Caller frees; NULL on
 * error (recorded). */
char *run_work_dir(struct run *r, const char *prefix);

/* Undo now what R made on libvirt host URI (its domains, volumes, network
 * entries), e.g. a host that failed while others went on; what cannot be
 * undone now stays in the journal for the next run. */
int run_undo_uri(struct run *r, const char *uri);

/* The undo operations recovery and rollback use (real libvirt, files). */
extern const struct journal_undo_ops run_undo_ops;

/* Replay the journals of dead runs (one line per thing removed, to stderr
 * unless -q) and sweep stale claims. Returns the number of journals
 * recovered, -1 on error. QUIET_NONE: print nothing if nothing was there. */
int recover_dead_runs(void);
/* Journals of dead runs (NULL-terminated paths), for doctor. */
char **stale_journals(void);

#endif
