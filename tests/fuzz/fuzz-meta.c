/* fuzz-meta: a template's metadata JSON (pure/meta.c), as the store's
 * index and bundles hold it: template_meta_from_json; what parses is
 * written back with template_meta_to_json and must read back the same. */
#include "fuzz.h"
#include "pure/meta.h"

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int same_strv(char **a, char **b)
{
    size_t i;

    for (i = 0; a && b && a[i] && b[i]; i++)
        if (strcmp(a[i], b[i]) != 0)
            return 0;
    return (!a || !a[i]) && (!b || !b[i]);
}

static void check_same(const struct template_meta *a, const struct template_meta *b)
{
    FUZZ_CHECK(same_str(a->name, b->name));
    FUZZ_CHECK(same_str(a->os, b->os));
    FUZZ_CHECK(same_str(a->os_id, b->os_id));
    FUZZ_CHECK(same_str(a->distro, b->distro));
    FUZZ_CHECK(a->major == b->major && a->minor == b->minor);
    FUZZ_CHECK(same_str(a->product, b->product));
    FUZZ_CHECK(same_str(a->arch, b->arch));
    FUZZ_CHECK(same_str(a->root, b->root));
    FUZZ_CHECK(same_str(a->expand, b->expand));
    FUZZ_CHECK(same_str(a->expand_lv, b->expand_lv));
    FUZZ_CHECK(same_strv(a->filesystems, b->filesystems));
    FUZZ_CHECK(same_str(a->format, b->format));
    FUZZ_CHECK(a->virtual_size == b->virtual_size);
    FUZZ_CHECK(a->stored_size == b->stored_size);
    FUZZ_CHECK(a->min_size == b->min_size);
    FUZZ_CHECK(same_str(a->created, b->created));
    FUZZ_CHECK(same_strv(a->operations, b->operations));
    FUZZ_CHECK(same_str(a->sha256, b->sha256));
    FUZZ_CHECK(same_str(a->source, b->source));
    /* The install record is written when it has a command. */
    if (a->install.command) {
        FUZZ_CHECK(same_str(a->install.definition, b->install.definition));
        FUZZ_CHECK(same_str(a->install.iso, b->install.iso));
        FUZZ_CHECK(same_str(a->install.iso_sha256, b->install.iso_sha256));
        FUZZ_CHECK(same_str(a->install.os_variant, b->install.os_variant));
        FUZZ_CHECK(same_str(a->install.kickstart, b->install.kickstart));
        FUZZ_CHECK(same_str(a->install.kickstart_sha256, b->install.kickstart_sha256));
        FUZZ_CHECK(same_str(a->install.command, b->install.command));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    struct template_meta meta, again;

    if (template_meta_from_json(text, &meta) == 0) {
        char *json = template_meta_to_json(&meta);
        FUZZ_CHECK(template_meta_from_json(json, &again) == 0);
        check_same(&meta, &again);
        template_meta_release(&again);
        template_meta_release(&meta);
        free(json);
    } else {
        FUZZ_CHECK(error_message() != NULL && meta.name == NULL);
    }
    free(text);
    fuzz_done();
    return 0;
}
