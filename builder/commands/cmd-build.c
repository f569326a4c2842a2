/* cmd-build.c: vmstamp build DEFINITION: a template definition (YAML, in
 * templates/) run end to end: install from the ISO with the kickstart,
 * then template create from the installed disk, which is then removed. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "adapters/bundle.h"
#include "base/cleanup.h"
#include "commands/cmd.h"
#include "adapters/command.h"
#include "base/error.h"
#include "pure/meta.h"
#include "adapters/osinfo.h"
#include "adapters/store.h"
#include "pure/util.h"
#include "adapters/virt.h"

struct definition {
    char *name, *iso, *iso_sha256, *kickstart, *os_variant, *size, *memory, *vcpus, *operations;
};

static void definition_release(struct definition *d)
{
    free(d->name);
    free(d->iso);
    free(d->iso_sha256);
    free(d->kickstart);
    free(d->os_variant);
    free(d->size);
    free(d->memory);
    free(d->vcpus);
    free(d->operations);
}

static char **field(struct definition *d, const char *key)
{
    static const struct { const char *key; size_t off; } map[] = {
        { "name", offsetof(struct definition, name) },
        { "iso", offsetof(struct definition, iso) },
        { "iso_sha256", offsetof(struct definition, iso_sha256) },
        { "kickstart", offsetof(struct definition, kickstart) },
        { "os_variant", offsetof(struct definition, os_variant) },
        { "size", offsetof(struct definition, size) },
        { "memory", offsetof(struct definition, memory) },
        { "vcpus", offsetof(struct definition, vcpus) },
        { "operations", offsetof(struct definition, operations) },
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i].key, key) == 0)
            return (char **)((char *)d + map[i].off);
    return NULL;
}

/* A flat mapping of scalars; `operations` may also be a sequence (joined with ','). */
static int parse_definition(const char *path, struct definition *d)
{
    CLEANUP_FCLOSE FILE *fp = fopen(path, "re");
    yaml_parser_t parser;
    yaml_event_t ev;
    char *key = NULL;
    int depth = 0, in_seq = 0, done = 0, ret = -1;

    memset(d, 0, sizeof *d);
    if (!fp)
        return error("template definition '%s' not found: give a YAML file (see templates/)", path);
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_file(&parser, fp);
    while (!done) {
        if (!yaml_parser_parse(&parser, &ev)) {
            error("template definition '%s' line %zu: %s", path, parser.problem_mark.line + 1,
                  parser.problem ? parser.problem : "invalid YAML");
            goto out;
        }
        switch (ev.type) {
        case YAML_MAPPING_START_EVENT:
            if (++depth > 1) {
                error("template definition '%s' line %zu: nested mappings are not part of the format", path,
                      ev.start_mark.line + 1);
                yaml_event_delete(&ev);
                goto out;
            }
            break;
        case YAML_SEQUENCE_START_EVENT:
            if (!key || strcmp(key, "operations") != 0) {
                error("template definition '%s' line %zu: only 'operations' may be a list", path,
                      ev.start_mark.line + 1);
                yaml_event_delete(&ev);
                goto out;
            }
            in_seq = 1;
            break;
        case YAML_SEQUENCE_END_EVENT:
            in_seq = 0;
            free(key);
            key = NULL;
            break;
        case YAML_SCALAR_EVENT: {
            const char *v = (const char *)ev.data.scalar.value;
            if (in_seq) {
                char *joined;
                if (asprintf(&joined, "%s%s%s", d->operations ? d->operations : "", d->operations ? "," : "", v) < 0)
                    abort();
                free(d->operations);
                d->operations = joined;
            } else if (!key) {
                key = strdup(v);
                if (!field(d, key)) {
                    error("template definition '%s' line %zu: unknown key '%s'", path, ev.start_mark.line + 1, key);
                    yaml_event_delete(&ev);
                    goto out;
                }
            } else {
                char **f = field(d, key);
                free(*f);
                *f = strdup(v);
                free(key);
                key = NULL;
            }
            break;
        }
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    if (!d->name || !d->kickstart) {
        error("template definition '%s' needs at least 'name' and 'kickstart'", path);
        goto out;
    }
    ret = 0;
out:
    free(key);
    yaml_parser_delete(&parser);
    if (ret < 0)
        definition_release(d);
    return ret;
}

/* A path in the definition is relative to the definition's directory. */
static char *resolve(const char *def_path, const char *p)
{
    CLEANUP_FREE char *copy = strdup(def_path);
    char *s;

    if (p[0] == '/')
        return strdup(p);
    if (asprintf(&s, "%s/%s", dirname(copy), p) < 0)
        abort();
    return s;
}

static int record_install(virConnectPtr conn, const char *name, const char *def_path, const char *iso,
                          const char *iso_sha256, const char *os_variant, const char *ks, const char *const *av)
{
    struct store st;
    struct template_meta m;
    char sum[65];
    int r = -1;

    if (sha256_file(ks, sum) < 0)
        return -1;
    if (store_open(conn, NULL, 0, &st) < 0)
        return -1;
    if (store_load(&st, name, &m) == 0) {
        struct command *cmd = command_new("vmstamp");
        for (size_t i = 0; av[i]; i++)
            command_add(cmd, av[i]);
        m.install.command = command_to_string(cmd);
        command_free(cmd);
        m.install.definition = realpath(def_path, NULL);
        m.install.iso = realpath(iso, NULL);
        m.install.iso_sha256 = iso_sha256 ? strdup(iso_sha256) : NULL;
        m.install.os_variant = os_variant ? strdup(os_variant) : NULL;
        m.install.kickstart = realpath(ks, NULL);
        m.install.kickstart_sha256 = strdup(sum);
        r = store_save_meta(&st, &m);
        template_meta_release(&m);
    }
    store_close(&st);
    return r;
}

int cmd_build(int argc, char **argv)
{
    enum { O_ISO = 256, O_NAME, O_NET, O_POOL, O_PW, O_KEEP, O_VAR };
    static const struct option opts[] = {
        { "iso", required_argument, NULL, O_ISO },
        { "name", required_argument, NULL, O_NAME },
        { "network", required_argument, NULL, O_NET },
        { "pool", required_argument, NULL, O_POOL },
        { "root-password-file", required_argument, NULL, O_PW },
        { "keep-install", no_argument, NULL, O_KEEP },
        { "var", required_argument, NULL, O_VAR },
        { NULL, 0, NULL, 0 },
    };
    const char *iso_opt = NULL, *name_opt = NULL, *network = "default", *pool = "default", *pw = NULL;
    const char *vars[64];
    size_t nvars = 0;
    int keep = 0, c, ret = EXIT_FAILURE;
    struct definition d;
    virConnectPtr conn = NULL;
    CLEANUP_FREE char *ks = NULL;
    CLEANUP_FREE char *iso = NULL;
    CLEANUP_FREE char *install_name = NULL;
    CLEANUP_FREE char *pool_dir = NULL;
    CLEANUP_FREE char *disk = NULL;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_ISO: iso_opt = optarg; break;
        case O_NAME: name_opt = optarg; break;
        case O_NET: network = optarg; break;
        case O_POOL: pool = optarg; break;
        case O_PW: pw = optarg; break;
        case O_KEEP: keep = 1; break;
        case O_VAR:
            if (nvars + 1 >= sizeof vars / sizeof vars[0])
                return cmd_bad_usage("build", "too many --var options");
            vars[nvars++] = optarg;
            break;
        default: return cmd_bad_usage("build", "unknown option");
        }
    }
    if (optind + 1 != argc)
        return cmd_bad_usage("build", "give one template definition (YAML)");
    const char *def_path = argv[optind];
    if (parse_definition(def_path, &d) < 0) {
        error_report();
        return EXIT_FAILURE;
    }
    const char *name = name_opt ? name_opt : d.name;
    if (!valid_domain_name(name)) {
        error("template definition '%s': invalid name '%s'", def_path, name);
        goto out;
    }
    ks = resolve(def_path, d.kickstart);
    if (!iso_opt && !d.iso) {
        error("template definition '%s' names no ISO: add 'iso:' or pass --iso", def_path);
        goto out;
    }
    iso = iso_opt ? strdup(iso_opt) : resolve(def_path, d.iso);
    if (!iso_opt && d.iso_sha256 && strspn(d.iso_sha256, "0123456789abcdefABCDEF") != 64) {
        error("template definition '%s': iso_sha256 is not set: copy it from the distribution's CHECKSUM file",
              def_path);
        goto out;
    }
    if (d.os_variant) {
        struct os_variant v;
        if (os_variant_lookup(d.os_variant, &v) < 0) {
            CLEANUP_FREE char *msg = strdup(error_message());
            error_replace("template definition '%s': %s", def_path, msg);
            goto out;
        }
        os_variant_release(&v);
    }
    if (asprintf(&install_name, "%s-install", name) < 0)
        abort();
    conn = cmd_connect();
    if (!conn || virt_pool_dir(conn, pool, &pool_dir) < 0)
        goto out;
    if (asprintf(&disk, "%s/%s.qcow2", pool_dir, install_name) < 0)
        abort();

    /* 1. install */
    const char *av[64 + 64];
    {
        int n = 0;
        av[n++] = "install";
        av[n++] = "--iso"; av[n++] = iso;
        av[n++] = "--kickstart"; av[n++] = ks;
        av[n++] = "--name"; av[n++] = install_name;
        av[n++] = "--network"; av[n++] = network;
        av[n++] = "--pool"; av[n++] = pool;
        av[n++] = "--var"; av[n++] = "HOSTNAME=localhost.localdomain";
        if (d.size) { av[n++] = "--size"; av[n++] = d.size; }
        if (d.memory) { av[n++] = "--memory"; av[n++] = d.memory; }
        if (d.vcpus) { av[n++] = "--vcpus"; av[n++] = d.vcpus; }
        if (d.os_variant) { av[n++] = "--os-variant"; av[n++] = d.os_variant; }
        if (!iso_opt && d.iso_sha256) { av[n++] = "--iso-sha256"; av[n++] = d.iso_sha256; }
        if (pw) { av[n++] = "--root-password-file"; av[n++] = pw; }
        for (size_t i = 0; i < nvars; i++) { av[n++] = "--var"; av[n++] = vars[i]; }
        av[n] = NULL;
        info("vmstamp: build %s: installing from %s", name, iso);
        optind = 0;
        if (cmd_install(n, (char **)av) != EXIT_SUCCESS)
            goto out_quiet;
    }
    /* 2. template create from the installed disk */
    {
        const char *av[] = { "template", "create", name, "--from", disk, "--operations",
                             d.operations ? d.operations : "defaults", NULL };
        info("vmstamp: build %s: making the template", name);
        optind = 0;
        int r = cmd_template(7, (char **)av);
        if (!keep) {
            unlink(disk);
            virt_pool_refresh(conn, pool);
            error_clear();
        }
        if (r != EXIT_SUCCESS)
            goto out_quiet;
    }
    /* 3. how it was installed, in the template's index entry */
    if (record_install(conn, name, def_path, iso, !iso_opt ? d.iso_sha256 : NULL, d.os_variant, ks, av) < 0) {
        warning("template '%s' was built, but its install record was not saved: %s", name, error_message());
        error_clear();
    }
    printf("%s: built from %s with %s\n", name, iso, ks);
    ret = EXIT_SUCCESS;
    goto out_quiet;
out:
    error_report();
out_quiet:
    definition_release(&d);
    if (conn)
        virConnectClose(conn);
    return ret;
}
