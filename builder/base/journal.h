/* journal.h: the undo journal of one run.
 *
 * Before each side effect (a disk, a domain, a store entry, a private
 * directory, a started process) the run appends a step to
 * /var/lib/vmstamp/journal/<pid>-<start>.json and fsyncs it, so the record
 * survives kill -9 and power loss. On success the run commits (the journal
 * goes, what it made stays); on failure it rolls back (steps undone newest
 * first). A journal whose run is dead is replayed by the next vmstamp
 * command that changes anything (pipeline/recover.c).
 *
 * The file is JSON lines: a header {"pid","start","command","time"}, then
 * one object per step; a torn last line (a crash mid-write) is ignored.
 * Steps carry only the keys their kind uses, so journals written before a
 * kind or a key existed read as they did. Steps (and drops) may be added
 * from several threads at once; commit, rollback and undo are the run's
 * own thread's, after the others ended. */
#ifndef VMSTAMP_JOURNAL_H
#define VMSTAMP_JOURNAL_H

#include <stddef.h>
#include <sys/types.h>

#define JOURNAL_DIR "/var/lib/vmstamp/journal"

enum step_kind {
    STEP_FILE,    /* path: unlink it (after killing any qemu that holds it) */
    STEP_TREE,    /* path: rm -rf (private key directories, work directories) */
    STEP_DOMAIN,  /* uri + name: destroy if running, undefine if persistent */
    STEP_PROCESS, /* pid + start: SIGKILL if still that process */
    STEP_POOL,    /* uri + name: refresh the pool (done after the files) */
    STEP_VOLUME,  /* uri + pool + name: delete the volume on that host (after the domains) */
    STEP_NETHOST, /* uri + network + mac + ip + name + hostname: remove the DHCP and DNS host entries */
    STEP_KNOWNHOST, /* path + name: remove NAME's lines from that known_hosts file */
    STEP_KINDS
};

struct journal_step {
    enum step_kind kind;
    char *path;     /* FILE, TREE, KNOWNHOST */
    char *uri;      /* DOMAIN, POOL, VOLUME, NETHOST */
    char *name;     /* DOMAIN, POOL, VOLUME (the volume's), NETHOST (the DHCP entry's; may be NULL), KNOWNHOST */
    char *pool;     /* VOLUME */
    char *network;  /* NETHOST */
    char *mac;      /* NETHOST */
    char *ip;       /* NETHOST (dotted quad) */
    char *hostname; /* NETHOST (the DNS entry's; NULL: none) */
    pid_t pid;      /* PROCESS */
    unsigned long long start;
    int dropped; /* the step did not happen after all */
};

struct journal_record {
    pid_t pid;
    unsigned long long start;
    char *command;
    char *time;
    struct journal_step *steps;
    size_t nsteps;
};

/* What undoing a step means; real ones in pipeline/recover.c, fakes in tests.
 * Each returns 1 if it removed something, 0 if there was nothing, -1 on an
 * error (recorded). */
struct journal_undo_ops {
    int (*file)(void *ctx, const char *path);
    int (*tree)(void *ctx, const char *path);
    int (*domain)(void *ctx, const char *uri, const char *name);
    int (*process)(void *ctx, pid_t pid, unsigned long long start);
    int (*pool)(void *ctx, const char *uri, const char *name);
    int (*volume)(void *ctx, const char *uri, const char *pool, const char *name);
    int (*nethost)(void *ctx, const char *uri, const char *network, const char *mac, const char *ip,
                   const char *name, const char *hostname);
    int (*knownhost)(void *ctx, const char *path, const char *name); /* NULL: left alone */
};

struct journal;

/* Start this run's journal under DIR (NULL: JOURNAL_DIR); COMMAND says what
 * the run is (shown by doctor and in recovery lines). */
struct journal *journal_begin(const char *dir, const char *command);
/* Record a step before doing it (appended and fsynced). Returns the step's
 * index, or -1 (recorded). */
int journal_file(struct journal *j, const char *path);
int journal_tree(struct journal *j, const char *path);
int journal_domain(struct journal *j, const char *uri, const char *name);
int journal_process(struct journal *j, pid_t pid);
int journal_pool(struct journal *j, const char *uri, const char *name);
/* A libvirt volume about to be made (volume_upload: drop the step if it
 * returns VOLUME_EXISTED). */
int journal_volume(struct journal *j, const char *uri, const char *pool, const char *name);
/* An address about to be reserved in a libvirt network (virtnet_reserve):
 * DHCP host MAC/IP/NAME (NAME may be NULL) and DNS host IP -> HOSTNAME
 * (HOSTNAME NULL: none). Undone by MAC+IP and IP+HOSTNAME; drop the step
 * when virtnet_reserve_added says nothing was added (it was there before). */
int journal_nethost(struct journal *j, const char *uri, const char *network, const char *mac, const char *ip,
                    const char *name, const char *hostname);
/* Lines for clone NAME about to be written into the known_hosts file PATH
 * (lines "NAME,HOST,IP TYPE KEY"): undone by removing NAME's lines. */
int journal_knownhost(struct journal *j, const char *path, const char *name);
/* The step did not happen (e.g. an exclusive create found the file there):
 * rollback and recovery leave its target alone. */
int journal_drop(struct journal *j, int step);
/* Success: what was made stays; the journal file is removed, unless a
 * journal_undo_uri failed: then only those steps stay in it, for the
 * recovery of the next run once this one has ended. */
int journal_commit(struct journal *j);
/* Undo now the steps made on the libvirt host URI (a host that failed while
 * the others went on); undone steps are dropped, steps whose undo failed
 * are kept by journal_commit. -1 if any failed (recorded). */
int journal_undo_uri(struct journal *j, const char *uri, const struct journal_undo_ops *ops, void *ctx);
/* Failure: undo every step, newest first, with OPS; then remove the file.
 * Returns -1 if an undo failed (the journal is then kept for recovery). */
int journal_rollback(struct journal *j, const struct journal_undo_ops *ops, void *ctx);
/* Free J (an uncommitted journal stays on disk: the next run recovers it). */
void journal_free(struct journal *j);
const char *journal_path(const struct journal *j);

/* Reading journals (recovery, doctor, tests). */
int journal_read(const char *path, struct journal_record *rec);
void journal_record_release(struct journal_record *rec);
/* Undo REC's steps: processes first, then newest first (files, trees,
 * domains, network hosts), then volumes (a domain may use one), pools last.
 * Returns -1 if any failed. */
int journal_replay(const struct journal_record *rec, const struct journal_undo_ops *ops, void *ctx);

#endif
