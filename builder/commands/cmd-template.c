/* cmd-template.c: vmstamp template create|ops|list|info|rm|verify. */
#include <errno.h>
#include <getopt.h>
#include <json-c/json.h>
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
#include "base/cleanup-virt.h"
#include "commands/cmd.h"
#include "adapters/command.h"
#include "pure/domxml.h"
#include "base/error.h"
#include "adapters/gfs.h"
#include "guest/layout.h"
#include "guest/prepare.h"
#include "pure/meta.h"
#include "adapters/osinfo.h"
#include "adapters/publish.h"
#include "adapters/qemuimg.h"
#include "adapters/store.h"
#include "guest/sysprep.h"
#include "pure/util.h"
#include "adapters/virt.h"
#include "pipeline/run.h"
#include "pipeline/template.h"

static void cleanup_store(struct store *st)
{
    store_close(st);
}

static void cleanup_meta(struct template_meta *m)
{
    template_meta_release(m);
}

#define CLEANUP_STORE __attribute__((cleanup(cleanup_store)))
#define CLEANUP_META __attribute__((cleanup(cleanup_meta)))

static int fail(void)
{
    error_report();
    return EXIT_FAILURE;
}

static int create_usage_error(const char *msg)
{
    return cmd_bad_usage("template", "%s", msg);
}

static int cmd_template_create(int argc, char **argv)
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
    struct template_request req = { .operations = "defaults" };
    struct template_result res = { 0 };
    struct run *run = NULL;
    virConnectPtr conn = NULL;
    int c, ret = EXIT_FAILURE;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_FROM: req.from = optarg; break;
        case O_POOL: req.pool = optarg; break;
        case O_OPS: req.operations = optarg; break;
        case O_INPLACE: req.in_place = 1; break;
        case O_NOINSPECT: req.no_inspect = 1; break;
        default: return create_usage_error("unknown option for 'template create'");
        }
    }
    if (optind + 1 != argc)
        return create_usage_error("'template create' takes one NAME");
    if (!req.from)
        return create_usage_error("'template create' needs --from DISK|DOMAIN");
    req.name = argv[optind];
    {
        const char *problem = domain_name_problem(req.name);
        int selected[128];
        if (problem)
            return error("invalid template name '%s': %s", req.name, problem), fail();
        if (sysprep_select(req.operations, selected) < 0)
            return fail();
    }
    run = cmd_begin(&conn, "template create %s", req.name);
    ret = cmd_end(conn, run, run && template_create(conn, &req, run, &res) == 0);
    if (ret == EXIT_SUCCESS) {
        const struct template_meta *m = &res.meta;
        char vs[32], ss[32];
        printf("%s: %s, %s virtual, %s stored, sha256 %s, in %s\n", m->name,
               m->os ? m->os : m->distro ? m->distro : "linux", human_size(m->virtual_size, vs, sizeof vs),
               human_size(m->stored_size, ss, sizeof ss), m->sha256, res.image);
    }
    template_result_release(&res);
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
/* --pool POOL, and --json where JSON is not NULL. */
static int pool_opt(int argc, char **argv, const char **pool, int *json)
{
    static const struct option opts[] = { { "pool", required_argument, NULL, 'p' },
                                          { "json", no_argument, NULL, 'j' },
                                          { NULL, 0, NULL, 0 } };
    int c;

    *pool = NULL;
    if (json)
        *json = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'p')
            *pool = optarg;
        else if (c == 'j' && json)
            *json = 1;
        else
            return -1;
    }
    return 0;
}

/* A template's clones as a JSON array of names. */
static struct json_object *json_names(char **names)
{
    struct json_object *a = json_object_new_array();

    for (size_t i = 0; names && names[i]; i++)
        json_object_array_add(a, json_object_new_string(names[i]));
    return a;
}

static int template_list(int argc, char **argv)
{
    const char *pool;
    CLEANUP_STORE struct store st = { 0 };
    CLEANUP_CONN virConnectPtr conn = NULL;

    int json;
    struct json_object *out = NULL, *arr = NULL;

    if (pool_opt(argc, argv, &pool, &json) < 0 || optind != argc)
        return cmd_bad_usage("template", "usage: vmstamp template list [--pool POOL] [--json]");
    conn = cmd_connect();
    if (!conn || store_open(conn, pool, 1, &st) < 0)
        return fail();
    CLEANUP_STRV char **names = store_names(&st);
    if (json) {
        out = cmd_json_new();
        arr = json_object_new_array();
        json_object_object_add(out, "templates", arr);
    } else {
        printf("%-24s %-14s %-10s %-10s %-21s %s\n", "NAME", "OS", "VIRTUAL", "STORED", "CREATED", "CLONES");
    }
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
        if (json) {
            struct json_object *e = json_object_new_object();
            json_object_object_add(e, "name", json_object_new_string(m.name));
            json_object_object_add(e, "os", cmd_json_string(m.os));
            json_object_object_add(e, "distro", cmd_json_string(m.distro));
            json_object_object_add(e, "product", cmd_json_string(m.product));
            json_object_object_add(e, "format", cmd_json_string(m.format));
            json_object_object_add(e, "virtual_size", json_object_new_int64((int64_t)m.virtual_size));
            json_object_object_add(e, "stored_size", json_object_new_int64((int64_t)m.stored_size));
            json_object_object_add(e, "created", cmd_json_string(m.created));
            json_object_object_add(e, "sha256", cmd_json_string(m.sha256));
            json_object_object_add(e, "image", json_object_new_string(img));
            json_object_object_add(e, "clones", json_names(clones));
            json_object_array_add(arr, e);
        } else {
            printf("%-24s %-14s %-10s %-10s %-21s %zu\n", m.name, m.os ? m.os : m.distro ? m.distro : "-",
                   human_size(m.virtual_size, vs, sizeof vs), human_size(m.stored_size, ss, sizeof ss),
                   m.created ? m.created : "-", nc);
        }
        template_meta_release(&m);
    }
    if (out)
        cmd_json_print(out);
    return EXIT_SUCCESS;
}

static int template_info(int argc, char **argv)
{
    const char *pool;
    CLEANUP_STORE struct store st = { 0 };
    CLEANUP_META struct template_meta m = { 0 };
    CLEANUP_CONN virConnectPtr conn = NULL;

    int as_json;

    if (pool_opt(argc, argv, &pool, &as_json) < 0 || optind + 1 != argc)
        return cmd_bad_usage("template", "usage: vmstamp template info [--pool POOL] [--json] NAME");
    conn = cmd_connect();
    if (!conn || store_open(conn, pool, 0, &st) < 0 || store_load(&st, argv[optind], &m) < 0)
        return fail();
    CLEANUP_FREE char *img = store_image_path(&st, m.name);
    CLEANUP_FREE char *json = template_meta_to_json(&m);
    CLEANUP_STRV char **clones = store_clones_of(conn, img);
    if (as_json) {
        /* The recorded metadata as it is stored, with the image and its clones. */
        struct json_object *out = cmd_json_new();
        json_object_object_add(out, "template", json_tokener_parse(json));
        json_object_object_add(out, "image", json_object_new_string(img));
        json_object_object_add(out, "clones", json_names(clones));
        cmd_json_print(out);
        return EXIT_SUCCESS;
    }
    printf("image: %s\n%s\nclones:", img, json);
    for (size_t i = 0; clones[i]; i++)
        printf(" %s", clones[i]);
    printf("%s\n", clones[0] ? "" : " none");
    return EXIT_SUCCESS;
}

static int template_verify(int argc, char **argv)
{
    const char *pool;
    CLEANUP_STORE struct store st = { 0 };
    CLEANUP_META struct template_meta m = { 0 };
    CLEANUP_CONN virConnectPtr conn = NULL;

    if (pool_opt(argc, argv, &pool, NULL) < 0 || optind + 1 != argc)
        return cmd_bad_usage("template", "usage: vmstamp template verify [--pool POOL] NAME");
    conn = cmd_connect();
    if (!conn || store_open(conn, pool, 0, &st) < 0 || store_load(&st, argv[optind], &m) < 0 ||
        store_verify(&st, &m, 0) < 0)
        return fail();
    printf("%s: ok, sha256 %s\n", m.name, m.sha256);
    return EXIT_SUCCESS;
}

static int template_rm(int argc, char **argv)
{
    const char *pool;
    struct run *run = NULL;
    virConnectPtr conn;
    int ret = EXIT_FAILURE;

    if (pool_opt(argc, argv, &pool, NULL) < 0 || optind + 1 != argc)
        return cmd_bad_usage("template", "usage: vmstamp template rm [--pool POOL] NAME");
    run = cmd_begin(&conn, "template rm %s", argv[optind]);
    ret = cmd_end(conn, run, run && template_remove(conn, pool, argv[optind], run) == 0);
    if (ret == EXIT_SUCCESS)
        info("vmstamp: removed template %s", argv[optind]);
    return ret;
}

/* --pool, --sign-key/--trust-key, --force when FORCE is given, then
 * positional arguments. */
static int key_opts(int argc, char **argv, const char *keyopt, const char **pool, const char **key, int *force)
{
    const struct option opts[] = {
        { "pool", required_argument, NULL, 'p' },
        { keyopt, required_argument, NULL, 'k' },
        { force ? "force" : NULL, no_argument, NULL, 'f' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    *pool = *key = NULL;
    if (force)
        *force = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'p')
            *pool = optarg;
        else if (c == 'k')
            *key = optarg;
        else if (c == 'f' && force)
            *force = 1;
        else
            return -1;
    }
    return 0;
}

static int template_export(int argc, char **argv)
{
    const char *pool, *key;
    CLEANUP_STORE struct store st = { 0 };
    CLEANUP_META struct template_meta m = { 0 };
    CLEANUP_CONN virConnectPtr conn = NULL;
    struct stat sb;
    int force;

    if (key_opts(argc, argv, "sign-key", &pool, &key, &force) < 0 || optind + 2 != argc || !key)
        return cmd_bad_usage("template", "usage: vmstamp template export [--pool POOL] [--force] NAME FILE.tar.zst "
                                         "--sign-key KEY.pem");
    /* An existing file is replaced only when asked (the new one is renamed
     * over it, never written through a link). */
    if (!force && lstat(argv[optind + 1], &sb) == 0)
        return error("'%s' already exists: give --force to replace it, or another file name", argv[optind + 1]),
               fail();
    conn = cmd_connect();
    if (!conn || store_open(conn, pool, 0, &st) < 0 || store_load(&st, argv[optind], &m) < 0 ||
        store_verify(&st, &m, 1) < 0)
        return fail();
    CLEANUP_FREE char *img = store_image_path(&st, m.name);
    CLEANUP_FREE char *json = template_meta_to_json(&m);
    if (bundle_export(argv[optind + 1], img, json, key) < 0)
        return fail();
    printf("%s: exported to %s (signed with %s)\n", m.name, argv[optind + 1], key);
    return EXIT_SUCCESS;
}

static int cmd_template_import(int argc, char **argv)
{
    struct import_request req = { 0 };
    struct template_result res = { 0 };
    struct run *run = NULL;
    virConnectPtr conn;
    int ret = EXIT_FAILURE;

    if (key_opts(argc, argv, "trust-key", &req.pool, &req.trust_key, NULL) < 0 || optind + 1 != argc || !req.trust_key)
        return cmd_bad_usage("template", "usage: vmstamp template import [--pool POOL] FILE.tar.zst --trust-key KEY.pub.pem");
    req.bundle = argv[optind];
    run = cmd_begin(&conn, "template import %s", req.bundle);
    ret = cmd_end(conn, run, run && template_import(conn, &req, run, &res) == 0);
    if (ret == EXIT_SUCCESS)
        printf("%s: imported from %s (signature and SHA-256 verified), in %s\n", res.meta.name, req.bundle,
               res.image);
    template_result_release(&res);
    return ret;
}

static int template_publish(int argc, char **argv)
{
    const char *pool;
    struct store st = { 0 };
    virConnectPtr conn;
    int ret = EXIT_FAILURE;

    if (pool_opt(argc, argv, &pool, NULL) < 0 || optind + 1 > argc)
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
        { "create", cmd_template_create }, { "ops", template_ops }, { "list", template_list },
        { "info", template_info },     { "rm", template_rm },   { "verify", template_verify },
        { "export", template_export }, { "import", cmd_template_import }, { "publish", template_publish },
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
