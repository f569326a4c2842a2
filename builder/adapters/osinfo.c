/* osinfo.c: see osinfo.h. The database is loaded once per process (about
 * 0.2 s) and kept. */
#include <osinfo/osinfo.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/xalloc.h"
#include "adapters/osinfo.h"

static OsinfoDb *db;

static OsinfoDb *load_db(void)
{
    OsinfoLoader *loader;
    GError *err = NULL;

    if (db)
        return db;
    loader = osinfo_loader_new();
    osinfo_loader_process_default_path(loader, &err);
    if (err) {
        /* A broken file in a local db dir: libosinfo still loads the rest. */
        debug("osinfo: %s", err->message);
        g_error_free(err);
    }
    db = g_object_ref(osinfo_loader_get_db(loader));
    g_object_unref(loader);
    return db;
}

static int major_of(const char *version)
{
    if (!version || *version < '0' || *version > '9')
        return -1; /* "unknown", "rawhide": the newest */
    return atoi(version);
}

/* Distributions that rebuild RHEL: their anaconda changed when RHEL's did. */
static int rhel_like(const char *distro)
{
    static const char *const names[] = { "rhel", "centos", "rocky", "almalinux", "ol", "scientificlinux",
                                         "circle", "eurolinux", "navy", "miraclelinux", NULL };

    for (size_t i = 0; names[i]; i++)
        if (strcmp(distro, names[i]) == 0)
            return 1;
    return 0;
}

/* ks= for anaconda before Fedora 34 and RHEL 9 (ANCHORS.md); other
 * distributions: follow what they clone or derive from, if anything. */
static int legacy_ks(OsinfoOs *os, int depth)
{
    const char *distro = osinfo_os_get_distro(os);
    int major = major_of(osinfo_product_get_version(OSINFO_PRODUCT(os)));
    static const OsinfoProductRelationship rels[] = { OSINFO_PRODUCT_RELATIONSHIP_CLONES,
                                                      OSINFO_PRODUCT_RELATIONSHIP_DERIVES_FROM };

    if (distro && rhel_like(distro))
        return major >= 0 && major < 9;
    if (distro && strcmp(distro, "fedora") == 0)
        return major >= 0 && major < 34;
    if (depth >= 8)
        return 0;
    for (size_t i = 0; i < sizeof rels / sizeof rels[0]; i++) {
        OsinfoProductList *l = osinfo_product_get_related(OSINFO_PRODUCT(os), rels[i]);
        int r = -1;
        if (osinfo_list_get_length(OSINFO_LIST(l)) > 0)
            r = legacy_ks(OSINFO_OS(osinfo_list_get_nth(OSINFO_LIST(l), 0)), depth + 1);
        g_object_unref(l);
        if (r >= 0)
            return r;
    }
    return 0;
}

static OsinfoOs *find_short_id(OsinfoOsList *all, const char *short_id)
{
    OsinfoFilter *f = osinfo_filter_new();
    OsinfoList *hits;
    OsinfoOs *os = NULL;

    osinfo_filter_add_constraint(f, OSINFO_PRODUCT_PROP_SHORT_ID, short_id);
    hits = osinfo_list_new_filtered(OSINFO_LIST(all), f);
    if (osinfo_list_get_length(hits) > 0)
        os = OSINFO_OS(osinfo_list_get_nth(hits, 0)); /* owned by the db */
    g_object_unref(hits);
    g_object_unref(f);
    return os;
}

int os_variant_lookup(const char *spec, struct os_variant *out)
{
    OsinfoDb *d;
    OsinfoOs *os;
    const char *s = spec;

    memset(out, 0, sizeof *out);
    if (strcmp(spec, "generic") == 0) {
        out->name = xstrdup("generic");
        return 0;
    }
    if (!*spec)
        return error("empty --os-variant: give an osinfo id such as rocky9 ('osinfo-query os' lists them)");
    d = load_db();
    OsinfoOsList *all = osinfo_db_get_os_list(d); /* a copy: one per lookup */
    if (osinfo_list_get_length(OSINFO_LIST(all)) == 0) {
        g_object_unref(all);
        return error("cannot check os variant '%s': the osinfo database is empty (install osinfo-db)", spec);
    }
    if (strncmp(s, "id=", 3) == 0)
        os = osinfo_db_get_os(d, s + 3);
    else if (strstr(s, "://"))
        os = osinfo_db_get_os(d, s);
    else {
        if (strncmp(s, "short-id=", 9) == 0)
            s += 9;
        else if (strncmp(s, "name=", 5) == 0)
            s += 5;
        os = find_short_id(all, s);
    }
    g_object_unref(all);
    if (!os)
        return error("unknown os variant '%s': 'osinfo-query os' lists the known ids (or use generic)", spec);
    out->short_id = xstrdup_or_null(osinfo_product_get_short_id(OSINFO_PRODUCT(os)));
    out->id = xstrdup_or_null(osinfo_entity_get_id(OSINFO_ENTITY(os)));
    out->name = xstrdup_or_null(osinfo_product_get_name(OSINFO_PRODUCT(os)) ? osinfo_product_get_name(OSINFO_PRODUCT(os))
                                                                           : out->short_id);
    out->legacy_ks = legacy_ks(os, 0);
    return 0;
}

void os_variant_release(struct os_variant *v)
{
    free(v->short_id);
    free(v->id);
    free(v->name);
    memset(v, 0, sizeof *v);
}

const char *os_variant_ks_arg(const struct os_variant *v)
{
    return v && v->legacy_ks ? "ks" : "inst.ks";
}
