/* journal.c: the undo journal (see journal.h). */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/error.h"
#include "base/xalloc.h"
#include "base/fileio.h"
#include "base/journal.h"
#include "base/proc.h"

struct journal {
    char *path;
    int fd;
    struct journal_record rec; /* what was written, for rollback */
    unsigned char *pending;    /* steps whose undo failed: kept at commit */
};

static const char *const kind_names[STEP_KINDS] = { "file", "tree", "domain", "process", "pool", "volume", "nethost",
                                                                 "knownhost" };

/* The string fields of a step and their keys in the file. */
#define STEP_STRINGS(X) X(path) X(uri) X(name) X(pool) X(network) X(mac) X(ip) X(hostname)

static void step_strings_release(struct journal_step *s)
{
#define FREE_FIELD(f) free(s->f);
    STEP_STRINGS(FREE_FIELD)
#undef FREE_FIELD
}

/* Append one JSON line and make it durable. */
static int append(struct journal *j, struct json_object *o)
{
    const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    size_t len = strlen(text);
    char *line = xmalloc(len + 2);
    int r = 0;
    memcpy(line, text, len);
    line[len] = '\n';
    if (write(j->fd, line, len + 1) != (ssize_t)(len + 1) || fdatasync(j->fd) < 0)
        r = error("cannot write journal '%s': %s", j->path, strerror(errno));
    free(line);
    json_object_put(o);
    return r;
}

struct journal *journal_begin(const char *dir, const char *command)
{
    struct journal *j = xcalloc(1, sizeof *j);
    struct json_object *o;
    char created[32];
    time_t now = time(NULL);
    if (!dir)
        dir = JOURNAL_DIR;
    /* Parents as other tools expect them (qemu reads the template store
     * under /var/lib/vmstamp); the journals themselves owner-only. */
    if (mkdir_p(dir, 0755) < 0 || chmod(dir, 0700) < 0) {
        if (!error_message())
            error("cannot make '%s' private: %s", dir, strerror(errno));
        free(j);
        return NULL;
    }
    j->path = xasprintf("%s/%s.json", dir, proc_run_id());
    j->fd = open(j->path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (j->fd < 0) {
        error("cannot create journal '%s': %s", j->path, strerror(errno));
        free(j->path);
        free(j);
        return NULL;
    }
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    j->rec.pid = getpid();
    j->rec.start = proc_start_time(getpid());
    j->rec.command = xstrdup_or_null(command ? command : "");
    j->rec.time = xstrdup_or_null(created);
    o = json_object_new_object();
    json_object_object_add(o, "pid", json_object_new_int64(j->rec.pid));
    json_object_object_add(o, "start", json_object_new_uint64(j->rec.start));
    json_object_object_add(o, "command", json_object_new_string(j->rec.command));
    json_object_object_add(o, "time", json_object_new_string(created));
    if (append(j, o) < 0 || fsync_parent(j->path) < 0) {
        journal_free(j);
        return NULL;
    }
    return j;
}

const char *journal_path(const struct journal *j)
{
    return j->path;
}

/* Steps may be added from several threads of a run (batches of clones,
 * address reservations beside them): one at a time. */
static pthread_mutex_t steps_lock = PTHREAD_MUTEX_INITIALIZER;

static int add_step_locked(struct journal *j, const struct journal_step *s);

static int add_step(struct journal *j, const struct journal_step *s)
{
    pthread_mutex_lock(&steps_lock);
    int r = add_step_locked(j, s);
    pthread_mutex_unlock(&steps_lock);
    return r;
}

static int add_step_locked(struct journal *j, const struct journal_step *s)
{
    struct json_object *o = json_object_new_object();

    json_object_object_add(o, "step", json_object_new_string(kind_names[s->kind]));
#define ADD_FIELD(f) \
    if (s->f)         \
        json_object_object_add(o, #f, json_object_new_string(s->f));
    STEP_STRINGS(ADD_FIELD)
#undef ADD_FIELD
    if (s->kind == STEP_PROCESS) {
        json_object_object_add(o, "pid", json_object_new_int64(s->pid));
        json_object_object_add(o, "start", json_object_new_uint64(s->start));
    }
    if (append(j, o) < 0)
        return -1;
    struct journal_record *r = &j->rec;
    r->steps = xrealloc(r->steps, (r->nsteps + 1) * sizeof *r->steps);
    r->steps[r->nsteps] = (struct journal_step){ .kind = s->kind, .pid = s->pid, .start = s->start };
#define COPY_FIELD(f) r->steps[r->nsteps].f = xstrdup_or_null(s->f);
    STEP_STRINGS(COPY_FIELD)
#undef COPY_FIELD
    return (int)r->nsteps++;
}

int journal_file(struct journal *j, const char *path)
{
    return add_step(j, &(struct journal_step){ .kind = STEP_FILE, .path = (char *)path });
}

int journal_tree(struct journal *j, const char *path)
{
    return add_step(j, &(struct journal_step){ .kind = STEP_TREE, .path = (char *)path });
}

int journal_domain(struct journal *j, const char *uri, const char *name)
{
    return add_step(j, &(struct journal_step){ .kind = STEP_DOMAIN, .uri = (char *)uri, .name = (char *)name });
}

int journal_process(struct journal *j, pid_t pid)
{
    return add_step(j, &(struct journal_step){ .kind = STEP_PROCESS, .pid = pid, .start = proc_start_time(pid) });
}

int journal_pool(struct journal *j, const char *uri, const char *name)
{
    for (size_t i = 0; i < j->rec.nsteps; i++) { /* once is enough */
        const struct journal_step *s = &j->rec.steps[i];
        if (s->kind == STEP_POOL && !s->dropped && strcmp(s->uri, uri) == 0 && strcmp(s->name, name) == 0)
            return (int)i;
    }
    return add_step(j, &(struct journal_step){ .kind = STEP_POOL, .uri = (char *)uri, .name = (char *)name });
}

int journal_volume(struct journal *j, const char *uri, const char *pool, const char *name)
{
    return add_step(j, &(struct journal_step){
                           .kind = STEP_VOLUME, .uri = (char *)uri, .pool = (char *)pool, .name = (char *)name });
}

int journal_nethost(struct journal *j, const char *uri, const char *network, const char *mac, const char *ip,
                    const char *name, const char *hostname)
{
    return add_step(j, &(struct journal_step){ .kind = STEP_NETHOST, .uri = (char *)uri,
                                               .network = (char *)network, .mac = (char *)mac, .ip = (char *)ip,
                                               .name = (char *)name, .hostname = (char *)hostname });
}

int journal_knownhost(struct journal *j, const char *path, const char *name)
{
    return add_step(j, &(struct journal_step){ .kind = STEP_KNOWNHOST, .path = (char *)path, .name = (char *)name });
}

int journal_drop(struct journal *j, int step)
{
    struct json_object *o;
    int r = 0;

    pthread_mutex_lock(&steps_lock);
    if (step >= 0 && (size_t)step < j->rec.nsteps) {
        o = json_object_new_object();
        json_object_object_add(o, "drop", json_object_new_int(step));
        j->rec.steps[step].dropped = 1;
        r = append(j, o);
    }
    pthread_mutex_unlock(&steps_lock);
    return r;
}

static int remove_journal(struct journal *j)
{
    if (unlink(j->path) < 0 && errno != ENOENT)
        return error("cannot remove journal '%s': %s", j->path, strerror(errno));
    return fsync_parent(j->path);
}

int journal_commit(struct journal *j)
{
    int kept = 0;

    for (size_t i = 0; j->pending && i < j->rec.nsteps; i++)
        kept |= j->pending[i] && !j->rec.steps[i].dropped;
    if (!kept)
        return remove_journal(j);
    /* Steps undone in part failed (a host that could not be reached): the
     * rest is dropped, they stay for the next run's recovery. */
    for (size_t i = 0; i < j->rec.nsteps; i++)
        if (!j->pending[i] && !j->rec.steps[i].dropped && journal_drop(j, (int)i) < 0)
            return -1;
    return 0;
}

int journal_undo_uri(struct journal *j, const char *uri, const struct journal_undo_ops *ops, void *ctx)
{
    struct journal_record view = j->rec;
    size_t n = 0;
    int r;

    view.steps = xcalloc(j->rec.nsteps + 1, sizeof *view.steps);
    for (size_t i = 0; i < j->rec.nsteps; i++) {
        const struct journal_step *s = &j->rec.steps[i];
        if (!s->dropped && s->uri && strcmp(s->uri, uri) == 0)
            view.steps[n++] = *s;
    }
    view.nsteps = n;
    r = journal_replay(&view, ops, ctx);
    free(view.steps);
    if (!j->pending)
        j->pending = xcalloc(j->rec.nsteps + 1, 1);
    else
        j->pending = xrealloc(j->pending, j->rec.nsteps + 1);
    for (size_t i = 0; i < j->rec.nsteps; i++) {
        struct journal_step *s = &j->rec.steps[i];
        if (s->dropped || !s->uri || strcmp(s->uri, uri) != 0)
            continue;
        if (r == 0) {
            if (journal_drop(j, (int)i) < 0)
                return -1;
        } else {
            j->pending[i] = 1;
        }
    }
    return r;
}

int journal_rollback(struct journal *j, const struct journal_undo_ops *ops, void *ctx)
{
    if (journal_replay(&j->rec, ops, ctx) < 0)
        return -1; /* kept: the next run tries again */
    return remove_journal(j);
}

void journal_free(struct journal *j)
{
    if (!j)
        return;
    if (j->fd >= 0)
        close(j->fd);
    free(j->path);
    free(j->pending);
    journal_record_release(&j->rec);
    free(j);
}

void journal_record_release(struct journal_record *rec)
{
    for (size_t i = 0; i < rec->nsteps; i++)
        step_strings_release(&rec->steps[i]);
    free(rec->steps);
    free(rec->command);
    free(rec->time);
    memset(rec, 0, sizeof *rec);
}

static const char *get_str(struct json_object *o, const char *k)
{
    struct json_object *v;

    return json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_string)
               ? json_object_get_string(v) : NULL;
}

/* A step without what undoing it needs (a hand-edited or foreign file).
 * The older kinds are read as they always were. */
static int missing_keys(const struct journal_step *s)
{
    switch (s->kind) {
    case STEP_VOLUME: return !s->uri || !s->pool || !s->name;
    case STEP_NETHOST: return !s->uri || !s->network || !s->mac || !s->ip;
    case STEP_KNOWNHOST: return !s->path || !s->name;
    default: return 0;
    }
}

int journal_read(const char *path, struct journal_record *rec)
{
    CLEANUP_FREE char *text = read_file(path, NULL);
    int line = 0;

    memset(rec, 0, sizeof *rec);
    if (!text)
        return -1;
    for (char *p = text, *nl; *p; p = nl + 1) {
        nl = strchr(p, '\n');
        if (!nl)
            break; /* a torn last line: the step was never complete */
        *nl = '\0';
        struct json_object *o = json_tokener_parse(p), *v;
        line++;
        if (!o) {
            journal_record_release(rec);
            return error("journal '%s' line %d is not JSON", path, line);
        }
        if (line == 1) {
            rec->pid = json_object_object_get_ex(o, "pid", &v) ? (pid_t)json_object_get_int64(v) : 0;
            rec->start = json_object_object_get_ex(o, "start", &v) ? json_object_get_uint64(v) : 0;
            rec->command = xstrdup_or_null(get_str(o, "command"));
            rec->time = xstrdup_or_null(get_str(o, "time"));
        } else if (json_object_object_get_ex(o, "drop", &v)) {
            int k = json_object_get_int(v);
            if (k >= 0 && (size_t)k < rec->nsteps)
                rec->steps[k].dropped = 1;
        } else {
            const char *kind = get_str(o, "step");
            int kk = -1;
            for (int i = 0; kind && i < STEP_KINDS; i++)
                if (strcmp(kind, kind_names[i]) == 0)
                    kk = i;
            if (kk < 0) {
                json_object_put(o);
                journal_record_release(rec);
                return error("journal '%s' line %d: unknown step", path, line);
            }
            rec->steps = xrealloc(rec->steps, (rec->nsteps + 1) * sizeof *rec->steps);
            struct journal_step *s = &rec->steps[rec->nsteps++];
            *s = (struct journal_step){
                .kind = (enum step_kind)kk,
                .pid = json_object_object_get_ex(o, "pid", &v) ? (pid_t)json_object_get_int64(v) : 0,
                .start = json_object_object_get_ex(o, "start", &v) ? json_object_get_uint64(v) : 0,
            };
#define READ_FIELD(f) s->f = xstrdup_or_null(get_str(o, #f));
            STEP_STRINGS(READ_FIELD)
#undef READ_FIELD
            if (missing_keys(s)) {
                json_object_put(o);
                journal_record_release(rec);
                return error("journal '%s' line %d: %s step without its keys", path, line, kind_names[kk]);
            }
        }
        json_object_put(o);
    }
    if (line == 0)
        return error("journal '%s' is empty", path);
    return 0;
}

int journal_replay(const struct journal_record *rec, const struct journal_undo_ops *ops, void *ctx)
{
    int ret = 0;

    /* Processes first (a dead run's appliance holds its disks), then the
     * rest newest first, volumes after that (a domain may use one: it goes
     * first), pools last (they list what is left). */
    for (size_t i = rec->nsteps; i-- > 0;) {
        const struct journal_step *s = &rec->steps[i];
        if (!s->dropped && s->kind == STEP_PROCESS && ops->process(ctx, s->pid, s->start) < 0)
            ret = -1;
    }
    for (size_t i = rec->nsteps; i-- > 0;) {
        const struct journal_step *s = &rec->steps[i];
        int r = 0;
        if (s->dropped)
            continue;
        switch (s->kind) {
        case STEP_FILE: r = ops->file(ctx, s->path); break;
        case STEP_TREE: r = ops->tree(ctx, s->path); break;
        case STEP_DOMAIN: r = ops->domain(ctx, s->uri, s->name); break;
        case STEP_NETHOST:
            r = ops->nethost(ctx, s->uri, s->network, s->mac, s->ip, s->name, s->hostname);
            break;
        case STEP_KNOWNHOST: r = ops->knownhost ? ops->knownhost(ctx, s->path, s->name) : 0; break;
        default: break;
        }
        if (r < 0)
            ret = -1;
    }
    for (size_t i = rec->nsteps; i-- > 0;) {
        const struct journal_step *s = &rec->steps[i];
        if (!s->dropped && s->kind == STEP_VOLUME && ops->volume(ctx, s->uri, s->pool, s->name) < 0)
            ret = -1;
    }
    for (size_t i = 0; i < rec->nsteps; i++) {
        const struct journal_step *s = &rec->steps[i];
        if (!s->dropped && s->kind == STEP_POOL && ops->pool(ctx, s->uri, s->name) < 0)
            ret = -1;
    }
    return ret;
}
