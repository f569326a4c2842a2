/* cmd-template.c: vmstamp template create|ops|list|info|rm|verify. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "adapters/accel.h"
#include "adapters/bundle.h"
#include "base/cleanup.h"
#include "commands/cmd.h"
#include "adapters/command.h"
#include "pure/domxml.h"
#include "base/error.h"
#include "adapters/gfs.h"
#include "pure/meta.h"
#include "adapters/osinfo.h"
#include "adapters/publish.h"
#include "adapters/qemuimg.h"
#include "adapters/store.h"
#include "guest/sysprep.h"
#include "pure/util.h"
#include "adapters/virt.h"

static volatile int interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static int fail(void)
{
    error_report();
    return EXIT_FAILURE;
}

/* The disk of domain NAME, refusing a running domain; NULL if no such domain. */
static char *domain_disk(virConnectPtr conn, const char *name, int *is_domain)
{
    virDomainPtr dom = virDomainLookupByName(conn, name);
    CLEANUP_FREE char *xml = NULL;
    char *disk;

    *is_domain = dom != NULL;
    error_clear();
    if (!dom)
        return NULL;
    if (virDomainIsActive(dom) == 1) {
        error("domain '%s' is running: shut it down before making a template of it", name);
        virDomainFree(dom);
        return NULL;
    }
    xml = virt_domain_xml(dom);
    virDomainFree(dom);
    disk = xml ? xml_get(xml, "/domain/devices/disk[@device='disk'][1]/source/@file") : NULL;
    if (!disk && xml)
        error("domain '%s' has no file-backed disk to make a template of", name);
    return disk;
}

/* A running domain that uses PATH as a disk, or NULL. */
static char *running_user_of(virConnectPtr conn, const char *path)
{
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(conn, &doms, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
    char *who = NULL;
    CLEANUP_FREE char *needle = NULL;

    if (asprintf(&needle, "'%s'", path) < 0)
        abort();
    for (int i = 0; i < n; i++) {
        char *xml = virDomainGetXMLDesc(doms[i], 0);
        if (!who && xml && strstr(xml, needle))
            who = strdup(virDomainGetName(doms[i]));
        free(xml);
        virDomainFree(doms[i]);
    }
    free(doms);
    return who;
}

static int create_usage_error(const char *msg)
{
    return cmd_bad_usage("template", "%s", msg);
}

static int template_create(int argc, char **argv)
{
    enum { O_FROM = 256, O_POOL, O_OPS, O_INPLACE, O_NOINSPECT };
    static const struct option opts[] = {
        { "from", required_argument, NULL, O_FROM },
        { "pool", required_argument, NULL, O_POOL },
        { "operations", required_argument, NULL, O_OPS },
        { "in-place", no_argument, NULL, O_INPLACE },
        { "no-inspect", no_argument, NULL, O_NOINSPECT },
        { NULL, 0, NULL, 0 },
    };
    const char *from = NULL, *pool = NULL, *ops_spec = "defaults";
    int in_place = 0, inspect = 1, c, ret = EXIT_FAILURE;
    int selected[128];
    virConnectPtr conn = NULL;
    struct store st = { 0 };
    struct template_meta meta = { 0 };
    struct image_info src = { 0 };
    CLEANUP_FREE char *source = NULL;
    CLEANUP_FREE char *work_dir = NULL;
    CLEANUP_FREE char *work = NULL;
    CLEANUP_FREE char *tmp_image = NULL;
    CLEANUP_FREE char *image = NULL;
    CLEANUP_FREE char *key = NULL;
    struct gfs_session *gs = NULL;
    void *layout = NULL;
    struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term;
    int made_image = 0, made_meta = 0;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_FROM: from = optarg; break;
        case O_POOL: pool = optarg; break;
        case O_OPS: ops_spec = optarg; break;
        case O_INPLACE: in_place = 1; break;
        case O_NOINSPECT: inspect = 0; break;
        default: return create_usage_error("unknown option for 'template create'");
        }
    }
    if (optind + 1 != argc)
        return create_usage_error("'template create' takes one NAME");
    if (!from)
        return create_usage_error("'template create' needs --from DISK|DOMAIN");
    const char *name = argv[optind];
    if (!valid_domain_name(name))
        return error("invalid template name '%s': use 1-64 letters, digits, '.', '_' or '-'", name), fail();
    if (sysprep_select(ops_spec, selected) < 0)
        return fail();

    conn = cmd_connect();
    if (!conn)
        return fail();
    /* The source: a disk image path, or the disk of a shut-off domain. */
    {
        char real[PATH_MAX];
        int is_domain = 0;
        if (realpath(from, real)) {
            source = strdup(real);
        } else {
            source = domain_disk(conn, from, &is_domain);
            if (!source) {
                if (!is_domain)
                    error("source '%s' not found: give a disk image path or a shut-off libvirt domain", from);
                goto out;
            }
        }
    }
    if (qemuimg_info(source, &src) < 0) {
        error_replace("source '%s' is not a disk image: give a qcow2 or raw disk, or a domain", from);
        goto out;
    }
    {
        CLEANUP_FREE char *user = running_user_of(conn, source);
        if (user) {
            error("source '%s' is in use by running domain '%s': shut it down first", from, user);
            goto out;
        }
    }
    if (store_open(conn, pool, 1, &st) < 0)
        goto out;
    if (store_has(&st, name)) {
        error("template '%s' already exists in store '%s': remove it (vmstamp template rm %s) or pick another name",
              name, st.pool, name);
        goto out;
    }
    image = store_image_path(&st, name);
    if (asprintf(&tmp_image, "%s/.%s.qcow2.vmstamp-tmp", st.dir, name) < 0)
        abort();

    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    /* Work on a throw-away overlay: the source is never written (unless --in-place). */
    if (in_place) {
        work = strdup(source);
    } else {
        work_dir = strdup("/var/tmp/vmstamp-work.XXXXXX");
        if (!mkdtemp(work_dir)) {
            error("cannot create a work directory in /var/tmp: %s", strerror(errno));
            goto out;
        }
        if (asprintf(&work, "%s/overlay.qcow2", work_dir) < 0)
            abort();
        if (qemuimg_create_overlay(work, source, src.format, 0) < 0)
            goto out;
    }
    meta.name = strdup(name);
    meta.source = strdup(source);
    {
        CLEANUP_FREE char *why = NULL;
        enum accel accel = accel_decide(&why);
        gs = gfs_launch_template(work, in_place ? src.format : "qcow2", accel);
    }
    if (!gs || interrupted)
        goto out;
    if (gfs_prepare_template(gs, selected, inspect, &meta, &layout) < 0 || interrupted)
        goto out;
    gfs_close(gs);
    gs = NULL;
    if (meta.os) {
        /* Clones' domains name the OS as virt-install would (libosinfo). */
        struct os_variant v;
        if (os_variant_lookup(meta.os, &v) == 0)
            meta.os_id = steal_pointer(&v.id);
        else
            debug("osinfo-db does not know '%s': clones get no libosinfo metadata", meta.os);
        error_clear();
        os_variant_release(&v);
    }

    info("vmstamp: compressing into %s", image);
    made_image = 1;
    if (qemuimg_convert_compressed(work, in_place ? src.format : "qcow2", tmp_image) < 0 || interrupted)
        goto out;
    {
        struct image_info out_info;
        struct stat sb;
        char sum[65];
        if (qemuimg_info(tmp_image, &out_info) < 0 || sha256_file(tmp_image, sum) < 0 ||
            stat(tmp_image, &sb) < 0)
            goto out;
        meta.format = strdup("qcow2");
        meta.virtual_size = out_info.virtual_size;
        meta.stored_size = (uint64_t)sb.st_size;
        meta.sha256 = strdup(sum);
        image_info_release(&out_info);
    }
    {
        time_t now = time(NULL);
        char created[32];
        strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
        meta.created = strdup(created);
        size_t k = 0;
        meta.operations = calloc(sysprep_nops + 1, sizeof *meta.operations);
        for (size_t i = 0; i < sysprep_nops; i++)
            if (selected[i])
                meta.operations[k++] = strdup(sysprep_ops[i].name);
    }
    if (interrupted)
        goto out;
    /* Metadata first, then the image under its name: an interrupted run
     * leaves no template that looks complete. */
    if (store_save_meta(&st, &meta) < 0)
        goto out;
    made_meta = 1;
    if (chmod(tmp_image, 0444) < 0 || rename(tmp_image, image) < 0) {
        error("cannot move the template into place at %s: %s", image, strerror(errno));
        goto out;
    }
    made_image = 2;
    virt_pool_refresh(conn, st.pool);
    error_clear();
    key = layout_key(image);
    gfs_record_layout(key, layout, meta.product);
    layout = NULL;
    {
        char vs[32], ss[32];
        printf("%s: %s, %s virtual, %s stored, sha256 %s, in %s\n", meta.name,
               meta.os ? meta.os : meta.distro ? meta.distro : "linux",
               human_size(meta.virtual_size, vs, sizeof vs), human_size(meta.stored_size, ss, sizeof ss),
               meta.sha256, image);
    }
    ret = EXIT_SUCCESS;
out:
    if (ret != EXIT_SUCCESS) {
        if (interrupted)
            error_replace("interrupted: template '%s' not made", name);
        if (made_image == 1)
            unlink(tmp_image);
        if (made_image == 2) {
            chmod(image, 0644);
            unlink(image);
        }
        if (made_meta) {
            CLEANUP_FREE char *mp = store_meta_path(&st, name);
            unlink(mp);
        }
        error_report();
    }
    gfs_close(gs);
    gfs_record_layout(NULL, layout, NULL);
    if (work_dir) {
        unlink(work);
        rmdir(work_dir);
    }
    if (tmp_image && made_image == 0) {
        /* nothing */
    }
    template_meta_release(&meta);
    image_info_release(&src);
    store_close(&st);
    if (conn)
        virConnectClose(conn);
    return ret;
}

static int template_ops(int argc, char **argv)
{
    (void)argv;
    if (argc != 1)
        return cmd_bad_usage("template", "'template ops' takes no arguments");
    printf("%-26s %-8s %s\n", "OPERATION", "DEFAULT", "DESCRIPTION");
    for (size_t i = 0; i < sysprep_nops; i++)
        printf("%-26s %-8s %s\n", sysprep_ops[i].name, sysprep_ops[i].default_on ? "on" : "off",
               sysprep_ops[i].description);
    return EXIT_SUCCESS;
}

/* Parse [--pool P] and the rest of a subcommand's arguments. */
static int pool_opt(int argc, char **argv, const char **pool)
{
    static const struct option opts[] = { { "pool", required_argument, NULL, 'p' }, { NULL, 0, NULL, 0 } };
    int c;

    *pool = NULL;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c != 'p')
            return -1;
        *pool = optarg;
    }
    return 0;
}

static int template_list(int argc, char **argv)
{
    const char *pool;
    struct store st;
    virConnectPtr conn;

    if (pool_opt(argc, argv, &pool) < 0 || optind != argc)
        return cmd_bad_usage("template", "usage: vmstamp template list [--pool POOL]");
    conn = cmd_connect();
    if (!conn || store_open(conn, pool, 1, &st) < 0)
        return fail();
    CLEANUP_STRV char **names = store_names(&st);
    printf("%-24s %-14s %-10s %-10s %-21s %s\n", "NAME", "OS", "VIRTUAL", "STORED", "CREATED", "CLONES");
    for (size_t i = 0; names[i]; i++) {
        struct template_meta m;
        char vs[32], ss[32];
        if (store_load(&st, names[i], &m) < 0) {
            warning("%s", error_message());
            error_clear();
            continue;
        }
        CLEANUP_FREE char *img = store_image_path(&st, m.name);
        CLEANUP_STRV char **clones = store_clones_of(conn, img);
        size_t nc = 0;
        while (clones[nc])
            nc++;
        printf("%-24s %-14s %-10s %-10s %-21s %zu\n", m.name, m.os ? m.os : m.distro ? m.distro : "-",
               human_size(m.virtual_size, vs, sizeof vs), human_size(m.stored_size, ss, sizeof ss),
               m.created ? m.created : "-", nc);
        template_meta_release(&m);
    }
    store_close(&st);
    virConnectClose(conn);
    return EXIT_SUCCESS;
}

static int template_info(int argc, char **argv)
{
    const char *pool;
    struct store st;
    struct template_meta m;
    virConnectPtr conn;

    if (pool_opt(argc, argv, &pool) < 0 || optind + 1 != argc)
        return cmd_bad_usage("template", "usage: vmstamp template info [--pool POOL] NAME");
    conn = cmd_connect();
    if (!conn || store_open(conn, pool, 0, &st) < 0 || store_load(&st, argv[optind], &m) < 0)
        return fail();
    CLEANUP_FREE char *img = store_image_path(&st, m.name);
    CLEANUP_FREE char *json = template_meta_to_json(&m);
    CLEANUP_STRV char **clones = store_clones_of(conn, img);
    printf("image: %s\n%s\nclones:", img, json);
    for (size_t i = 0; clones[i]; i++)
        printf(" %s", clones[i]);
    printf("%s\n", clones[0] ? "" : " none");
    template_meta_release(&m);
    store_close(&st);
    virConnectClose(conn);
    return EXIT_SUCCESS;
}

static int template_verify(int argc, char **argv)
{
    const char *pool;
    struct store st;
    struct template_meta m;
    virConnectPtr conn;

    if (pool_opt(argc, argv, &pool) < 0 || optind + 1 != argc)
        return cmd_bad_usage("template", "usage: vmstamp template verify [--pool POOL] NAME");
    conn = cmd_connect();
    if (!conn || store_open(conn, pool, 0, &st) < 0 || store_load(&st, argv[optind], &m) < 0 ||
        store_verify(&st, &m, 0) < 0)
        return fail();
    printf("%s: ok, sha256 %s\n", m.name, m.sha256);
    template_meta_release(&m);
    store_close(&st);
    virConnectClose(conn);
    return EXIT_SUCCESS;
}

static int template_rm(int argc, char **argv)
{
    const char *pool;
    struct store st;
    struct template_meta m;
    virConnectPtr conn;

    if (pool_opt(argc, argv, &pool) < 0 || optind + 1 != argc)
        return cmd_bad_usage("template", "usage: vmstamp template rm [--pool POOL] NAME");
    conn = cmd_connect();
    if (!conn || store_open(conn, pool, 0, &st) < 0 || store_load(&st, argv[optind], &m) < 0)
        return fail();
    CLEANUP_FREE char *img = store_image_path(&st, m.name);
    CLEANUP_FREE char *mp = store_meta_path(&st, m.name);
    CLEANUP_FREE char *ver = NULL;
    CLEANUP_STRV char **clones = store_clones_of(conn, img);
    if (clones[0]) {
        error("template '%s' is used by %s%s: remove its clones first (vmstamp rm ...)", m.name, clones[0],
              clones[1] ? " and others" : "");
        template_meta_release(&m);
        return fail();
    }
    if (asprintf(&ver, "%s/.%s.verified", st.index, m.name) < 0)
        abort();
    chmod(img, 0644);
    if (unlink(img) < 0 && errno != ENOENT) {
        chmod(img, 0444);
        error("cannot remove %s: %s", img, strerror(errno));
        template_meta_release(&m);
        return fail();
    }
    unlink(mp);
    unlink(ver);
    virt_pool_refresh(conn, st.pool);
    error_clear();
    info("vmstamp: removed template %s", m.name);
    template_meta_release(&m);
    store_close(&st);
    virConnectClose(conn);
    return EXIT_SUCCESS;
}

/* --pool, --sign-key/--trust-key, then positional arguments. */
static int key_opts(int argc, char **argv, const char *keyopt, const char **pool, const char **key)
{
    const struct option opts[] = {
        { "pool", required_argument, NULL, 'p' },
        { keyopt, required_argument, NULL, 'k' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    *pool = *key = NULL;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'p')
            *pool = optarg;
        else if (c == 'k')
            *key = optarg;
        else
            return -1;
    }
    return 0;
}

static int template_export(int argc, char **argv)
{
    const char *pool, *key;
    struct store st = { 0 };
    struct template_meta m = { 0 };
    virConnectPtr conn;
    int ret = EXIT_FAILURE;

    if (key_opts(argc, argv, "sign-key", &pool, &key) < 0 || optind + 2 != argc || !key)
        return cmd_bad_usage("template", "usage: vmstamp template export [--pool POOL] NAME FILE.tar.zst --sign-key KEY.pem");
    conn = cmd_connect();
    if (!conn)
        return fail();
    if (store_open(conn, pool, 0, &st) == 0 && store_load(&st, argv[optind], &m) == 0 &&
        store_verify(&st, &m, 1) == 0) {
        CLEANUP_FREE char *img = store_image_path(&st, m.name);
        CLEANUP_FREE char *json = template_meta_to_json(&m);
        if (bundle_export(argv[optind + 1], img, json, key) == 0) {
            printf("%s: exported to %s (signed with %s)\n", m.name, argv[optind + 1], key);
            ret = EXIT_SUCCESS;
        }
    }
    if (ret != EXIT_SUCCESS)
        error_report();
    template_meta_release(&m);
    store_close(&st);
    virConnectClose(conn);
    return ret;
}

static int template_import(int argc, char **argv)
{
    const char *pool, *key;
    struct store st = { 0 };
    struct template_meta m = { 0 };
    struct image_info ii = { 0 };
    virConnectPtr conn;
    CLEANUP_FREE char *tmp = NULL;
    CLEANUP_FREE char *json = NULL;
    CLEANUP_FREE char *image = NULL;
    int ret = EXIT_FAILURE, saved = 0;

    if (key_opts(argc, argv, "trust-key", &pool, &key) < 0 || optind + 1 != argc || !key)
        return cmd_bad_usage("template", "usage: vmstamp template import [--pool POOL] FILE.tar.zst --trust-key KEY.pub.pem");
    const char *bundle = argv[optind];
    conn = cmd_connect();
    if (!conn)
        return fail();
    if (store_open(conn, pool, 1, &st) < 0)
        goto out;
    if (asprintf(&tmp, "%s/.import-%d.qcow2.vmstamp-tmp", st.dir, (int)getpid()) < 0)
        abort();
    if (bundle_import(bundle, key, tmp, &json) < 0)
        goto out;
    if (template_meta_from_json(json, &m) < 0) {
        error_replace("bundle '%s': its metadata is not a vmstamp template's", bundle);
        goto out;
    }
    /* The metadata is signed, but its name becomes a path: check it again. */
    if (!valid_domain_name(m.name)) {
        error("bundle '%s': template name '%s' is not a valid name", bundle, m.name);
        goto out;
    }
    if (store_has(&st, m.name)) {
        error("template '%s' already exists in store '%s': remove it first (vmstamp template rm %s)", m.name,
              st.pool, m.name);
        goto out;
    }
    /* A qcow2 with a backing file would make clones read a host file. */
    if (qemuimg_info(tmp, &ii) < 0 || strcmp(ii.format, "qcow2") != 0 || ii.backing) {
        error_replace("bundle '%s': the image is not a standalone qcow2", bundle);
        goto out;
    }
    image = store_image_path(&st, m.name);
    if (store_save_meta(&st, &m) < 0)
        goto out;
    saved = 1;
    if (chmod(tmp, 0444) < 0 || rename(tmp, image) < 0) {
        error("cannot move the template into place at %s: %s", image, strerror(errno));
        goto out;
    }
    virt_pool_refresh(conn, st.pool);
    error_clear();
    printf("%s: imported from %s (signature and SHA-256 verified), in %s\n", m.name, bundle, image);
    ret = EXIT_SUCCESS;
out:
    if (ret != EXIT_SUCCESS) {
        if (tmp)
            unlink(tmp);
        if (saved) {
            CLEANUP_FREE char *mp = store_meta_path(&st, m.name);
            unlink(mp);
        }
        error_report();
    }
    image_info_release(&ii);
    template_meta_release(&m);
    store_close(&st);
    virConnectClose(conn);
    return ret;
}

static int template_publish(int argc, char **argv)
{
    const char *pool;
    struct store st = { 0 };
    virConnectPtr conn;
    int ret = EXIT_FAILURE;

    if (pool_opt(argc, argv, &pool) < 0 || optind + 1 > argc)
        return cmd_bad_usage("template", "usage: vmstamp template publish [--pool POOL] DIR [NAME...]");
    const char *dir = argv[optind];
    conn = cmd_connect();
    if (!conn)
        return fail();
    if (store_open(conn, pool, 0, &st) < 0) {
        virConnectClose(conn);
        return fail();
    }
    CLEANUP_STRV char **all = store_names(&st);
    char **names = optind + 1 < argc ? argv + optind + 1 : all;
    size_t n = 0;
    while (names[n])
        n++;
    struct template_meta *metas = calloc(n + 1, sizeof *metas);
    char **images = calloc(n + 1, sizeof *images);
    size_t loaded = 0;
    for (; loaded < n; loaded++) {
        /* Only verified images go out. */
        if (store_load(&st, names[loaded], &metas[loaded]) < 0)
            break;
        images[loaded] = store_image_path(&st, names[loaded]);
        if (store_verify(&st, &metas[loaded], 1) < 0) {
            loaded++;
            break;
        }
    }
    if (n == 0)
        error("store '%s' has no templates to publish", st.pool);
    else if (!error_message() && publish_repository(dir, metas, (const char *const *)images, n) == 0) {
        printf("published %zu template(s) to %s/index\n", n, dir);
        ret = EXIT_SUCCESS;
    }
    if (ret != EXIT_SUCCESS)
        error_report();
    for (size_t i = 0; i < loaded; i++) {
        template_meta_release(&metas[i]);
        free(images[i]);
    }
    free(metas);
    free(images);
    store_close(&st);
    virConnectClose(conn);
    return ret;
}

int cmd_template(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } subs[] = {
        { "create", template_create }, { "ops", template_ops }, { "list", template_list },
        { "info", template_info },     { "rm", template_rm },   { "verify", template_verify },
        { "export", template_export }, { "import", template_import }, { "publish", template_publish },
    };

    if (argc < 2)
        return cmd_bad_usage("template", "missing subcommand (create, ops, list, info, rm, verify, export, import, publish)");
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (strcmp(argv[1], subs[i].name) == 0) {
            optind = 0;
            return subs[i].fn(argc - 1, argv + 1);
        }
    return cmd_bad_usage("template", "unknown subcommand '%s'", argv[1]);
}
