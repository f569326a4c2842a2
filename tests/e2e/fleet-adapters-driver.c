/* fleet-adapters-driver: a test-only front end to adapters/virtnet.c and
 * adapters/volume.c (and their journal steps), for tests/e2e/fleet-adapters.sh.
 * Not installed. One subcommand per call; results on stdout, one
 * "vmstamp: error: ..." line on stderr and exit 1 on an error.
 *
 *   reserve URI NETWORK MAC IP NAME HOSTNAME      -> "reserved" or "reserved already"
 *   unreserve URI NETWORK MAC IP NAME HOSTNAME    -> "removed 1" or "removed 0"
 *   leases URI NETWORK                            -> "MAC IP HOSTNAME EXPIRY" per lease
 *   upload URI POOL NAME LOCAL FORMAT CAPACITY MODE
 *        -> "path P", "sent N" (data bytes the source callback handed to
 *           the stream), "wchar N" (bytes this process wrote, the libvirt
 *           socket included, during the upload: /proc/self/io)
 *   exists URI POOL NAME                          -> "1 PATH" or "0"
 *   sha256 URI POOL NAME                          -> hex
 *   delete URI POOL NAME                          -> "deleted 1" or "deleted 0"
 *   shared URI POOL LOCAL_DIR                     -> "shared 1" or "shared 0"
 *   hold URI POOL NAME LOCAL FORMAT CAPACITY MODE NETWORK MAC IP NAME HOSTNAME
 *        a run (pipeline/run.c) that journals and uploads the volume, journals
 *        and makes the reservation, prints "ready", then waits for kill -9
 *   rollback (the same arguments)
 *        the same, then ends the run without committing: rolled back
 *   "-" for NAME or HOSTNAME is none. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapters/virt.h"
#include "adapters/virtnet.h"
#include "adapters/volume.h"
#include "base/error.h"
#include "base/journal.h"
#include "pipeline/run.h"
#include "pure/fleetplan.h"

static int fail(void)
{
    error_report();
    return 1;
}

static const char *opt(const char *s)
{
    return strcmp(s, "-") == 0 ? NULL : s;
}

static unsigned long long wchar(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    char line[128];
    unsigned long long v = 0;

    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "wchar: %llu", &v) == 1)
            break;
    if (f)
        fclose(f);
    return v;
}

static int upload(virConnectPtr c, char **a)
{
    char *path = NULL;
    uint64_t sent = 0;
    unsigned long long w0, w1;
    int r;

    w0 = wchar();
    r = volume_upload_sent(c, a[0], a[1], a[2], a[3], strtoull(a[4], NULL, 10), (unsigned)strtoul(a[5], NULL, 8),
                           &path, &sent);
    w1 = wchar();
    if (r < 0) {
        if (r == VOLUME_EXISTED)
            printf("VOLUME_EXISTED\n");
        return fail();
    }
    printf("path %s\nsent %llu\nwchar %llu\n", path, (unsigned long long)sent, w1 - w0);
    free(path);
    return 0;
}

/* hold / rollback: a run that makes a volume and a reservation. */
static int run_with(virConnectPtr c, const char *uri, char **a, int hold)
{
    struct run *r = run_begin(hold ? "fleet-adapters-driver hold" : "fleet-adapters-driver rollback");
    char journal[4096];
    uint32_t ip;
    int step, added = 0;

    if (!r)
        return fail();
    if (ipv4_parse(a[8], &ip) < 0)
        goto out;
    step = journal_volume(r->journal, uri, a[0], a[1]);
    if (step < 0)
        goto out;
    int u = volume_upload(c, a[0], a[1], a[2], a[3], strtoull(a[4], NULL, 10), (unsigned)strtoul(a[5], NULL, 8),
                          NULL);
    if (u == VOLUME_EXISTED)
        journal_drop(r->journal, step);
    if (u < 0)
        goto out;
    step = journal_nethost(r->journal, uri, a[6], a[7], a[8], opt(a[9]), opt(a[10]));
    if (step < 0 || virtnet_reserve_added(c, a[6], a[7], ip, opt(a[9]), opt(a[10]), &added) < 0)
        goto out;
    if (!added) /* there before: not ours to remove */
        journal_drop(r->journal, step);
    printf("ready %s\n", journal_path(r->journal));
    fflush(stdout);
    if (hold)
        for (;;)
            pause();
out:
    snprintf(journal, sizeof journal, "%s", journal_path(r->journal));
    run_end(r); /* not committed: rolled back */
    if (error_message())
        return fail();
    printf(access(journal, F_OK) == 0 ? "journal kept\n" : "rolled back\n");
    return 0;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 2 ? argv[1] : "";
    const char *uri = argc > 2 ? argv[2] : "";
    char **a = argv + 3;
    int n = argc - 3;
    virConnectPtr c;
    uint32_t ip;
    int r;

    virt_init();
    if (argc < 3) {
        fprintf(stderr, "usage: fleet-adapters-driver COMMAND URI ARGS...\n");
        return 2;
    }
    c = virt_connect(uri);
    if (!c)
        return fail();
    if ((strcmp(cmd, "reserve") == 0 || strcmp(cmd, "unreserve") == 0) && n == 5) {
        if (ipv4_parse(a[2], &ip) < 0)
            return fail();
        if (cmd[0] == 'r') {
            int added = 0;
            if (virtnet_reserve_added(c, a[0], a[1], ip, opt(a[3]), opt(a[4]), &added) < 0)
                return fail();
            printf(added ? "reserved\n" : "reserved already\n");
        } else {
            r = virtnet_unreserve(c, a[0], a[1], ip, opt(a[3]), opt(a[4]));
            if (r < 0)
                return fail();
            printf("removed %d\n", r);
        }
    } else if (strcmp(cmd, "leases") == 0 && n == 1) {
        struct virtnet_lease *l;
        size_t k;
        char addr[16];
        if (virtnet_leases(c, a[0], &l, &k) < 0)
            return fail();
        for (size_t i = 0; i < k; i++)
            printf("%s %s %s %lld\n", l[i].mac, ipv4_format(l[i].ip, addr), l[i].hostname ? l[i].hostname : "-",
                   l[i].expiry);
        virtnet_leases_free(l, k);
    } else if (strcmp(cmd, "upload") == 0 && n == 6) {
        r = upload(c, a);
        virConnectClose(c);
        return r;
    } else if (strcmp(cmd, "exists") == 0 && n == 2) {
        char *path = NULL;
        r = volume_exists(c, a[0], a[1], &path);
        if (r < 0)
            return fail();
        printf(r ? "1 %s\n" : "0\n", path);
        free(path);
    } else if (strcmp(cmd, "sha256") == 0 && n == 2) {
        char hex[65];
        if (volume_sha256(c, a[0], a[1], hex) < 0)
            return fail();
        printf("%s\n", hex);
    } else if (strcmp(cmd, "delete") == 0 && n == 2) {
        r = volume_delete(c, a[0], a[1]);
        if (r < 0)
            return fail();
        printf("deleted %d\n", r);
    } else if (strcmp(cmd, "shared") == 0 && n == 2) {
        r = volume_pool_shared(c, a[0], a[1]);
        if (r < 0)
            return fail();
        printf("shared %d\n", r);
    } else if ((strcmp(cmd, "hold") == 0 || strcmp(cmd, "rollback") == 0) && n == 11) {
        r = run_with(c, uri, a, cmd[0] == 'h');
        virConnectClose(c);
        return r;
    } else {
        fprintf(stderr, "fleet-adapters-driver: bad command or arguments (see the source)\n");
        return 2;
    }
    virConnectClose(c);
    if (fflush(stdout) != 0)
        return 1;
    return 0;
}
