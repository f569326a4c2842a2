/* clone.h: the clone pipeline as two calls.
 *
 * clone_plan() checks everything (names, host names, MACs, sizes, pool,
 * network, template, vCPUs) and claims the names, volumes and MACs across
 * processes; it makes nothing. clone_run() makes the disks, customizes
 * every clone in one appliance launch, defines (and starts) the domains,
 * journaling each step in the run, and returns what it made as data. The
 * caller commits the run (or ends it, which undoes everything). */
#ifndef VMSTAMP_PIPELINE_CLONE_H
#define VMSTAMP_PIPELINE_CLONE_H

#include <libvirt/libvirt.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline/run.h"
#include "pure/domxml.h"
#include "pure/forward.h"
#include "pure/netconf.h"

#define CLONE_MAX 250 /* one libguestfs handle takes up to 255 drives */
#define CLONE_KEY_TYPES 3

/* What a clone gets when the request leaves a setting 0/NULL. */
#define CLONE_DEFAULT_MEMORY_KIB (1024 * 1024)
#define CLONE_DEFAULT_VCPUS 1
#define CLONE_DEFAULT_POOL "default"
#define CLONE_DEFAULT_NETWORK "default"

/* One clone to make. */
struct clone_spec {
    const char *name;     /* domain name (and host name unless HOSTNAME) */
    const char *hostname; /* NULL: NAME, with the request's DOMAIN appended */
    const char *mac;      /* NULL: a random unused 52:54:00 MAC */
    const struct static_ipv4 *ipv4; /* NULL: the template's own (DHCP) */
    const struct fleet_owner *owner; /* a fleet's clone: recorded in its domain; NULL: none */
    /* Host ports forwarded to the clone (pure/forward.h; their addresses
     * are filled in from IPV4, else from OWNER's ip): recorded in its
     * domain, kept by vmstamp's libvirt hook. */
    const struct port_forward *forwards;
    size_t nforwards;
};

struct clone_request {
    const char *template;      /* store template name, disk image path or POOL/VOLUME */
    const char *template_pool; /* store to look TEMPLATE up in; NULL: the default */
    const struct clone_spec *clones;
    size_t n;
    const char *domain;        /* appended to host names; NULL: none */
    int full;                  /* independent copy, not an overlay */
    /* Linked clones into an LVM (logical) pool whose template LV gets a
     * thick snapshot: its copy-on-write size in bytes; 0: the template's
     * size (it can never fill up). An error for any other clone. */
    uint64_t snapshot_size;
    uint64_t size;             /* grow to this many bytes; 0: keep */
    const char *pool;          /* NULL: "default" */
    const char *network;       /* NULL: "default" */
    uint64_t memory_kib;       /* 0: 1 GiB */
    unsigned vcpus;            /* 0: 1 */
    const char *password_file; /* root password (first line, mode 0600); NULL: keep */
    const char *ssh_key_file;  /* authorized_keys line for root; NULL: none */
    int start, autostart;
    const char *description;   /* each domain's <description>; NULL: none */
    /* A directory above the template (or its backing files) or the pool
     * that qemu's user cannot search gets that user's search permission
     * (setfacl); 0: such a directory is an error (pipeline/qemuperm.h). */
    int fix_permissions;
    /* Appliances customizing at once, each with every N-th clone; 0: one
     * per core but one (left to SSH key generation), each with 8 clones
     * or more. At least one per CLONE_MAX clones either way. */
    unsigned parallel;
    /* The pool is on another host (CONN is remote): the disks are made and
     * customized here in STAGE_DIR (which must exist), then uploaded into
     * POOL there with a libvirt storage stream. NULL: the pool's directory
     * is this machine's. HOST_TEMPLATE: the path of the template's copy
     * that host sees (the same bytes, so the same format); linked clones
     * are made against TEMPLATE here and pointed at it before they go into
     * place. NULL: TEMPLATE itself. */
    const char *stage_dir;
    const char *host_template;
};

/* What was made, per clone. */
struct clone_result {
    char *name;
    char *hostname;
    char mac[18];
    char machine_id[33];
    char *disk;                 /* path */
    char *kind;                 /* "full", "linked", "linked (thin LVM snapshot)", ... */
    uint64_t disk_size;         /* virtual bytes */
    int started;
    char *key_fingerprints[CLONE_KEY_TYPES]; /* "3072 SHA256:... root@h (RSA)", NULL if none */
    char *key_lines[CLONE_KEY_TYPES];        /* "ssh-ed25519 AAAA..." for known_hosts */
};

struct clone_plan;

/* Check REQ against CONN and claim what it needs in RUN. NULL on error
 * (recorded, one line). */
struct clone_plan *clone_plan(virConnectPtr conn, const struct clone_request *req, struct run *run);
/* Make the clones. On success *RESULTS (N of them, in request order). */
int clone_run(struct clone_plan *plan, struct run *run, struct clone_result **results);
/* Make the clones of N plans of one template (with one root password and
 * one authorized key) in ONE appliance launch: RESULTS[i] for PLANS[i],
 * each as clone_run gives it. Plans may be for different hosts. With
 * HOST_ERRORS (N entries), a host that fails after the customization
 * (an upload, a define) only gives up its own plans: HOST_ERRORS[i] is
 * then its error, RESULTS[i] NULL, and what was made for it is still in
 * the run's journal (the caller undoes it by URI); 0 is returned if any
 * plan was made. Without, any failure is -1. */
int clone_run_many(struct clone_plan **plans, size_t n, struct run *run, struct clone_result **results,
                   char **host_errors);
/* How many clones PLAN makes. */
size_t clone_plan_count(const struct clone_plan *plan);
void clone_plan_free(struct clone_plan *plan);
void clone_results_free(struct clone_result *results, size_t n);

#endif
