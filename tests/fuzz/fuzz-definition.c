/* fuzz-definition: a template definition, templates/NAME.yaml
 * (pure/definition.c, definition_parse through libyaml): the keys, their
 * values (name, sha256, size, memory, vcpus, operations), and the
 * FILE:LINE: KEY: messages; then the paths resolved as the build does. */
#include "fuzz.h"
#include "pure/definition.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    struct definition d;

    if (definition_parse("templates/fuzz.yaml", text, &d) == 0) {
        FUZZ_CHECK(d.name && d.kickstart && d.line[DEF_NAME] > 0 && d.line[DEF_KICKSTART] > 0);
        FUZZ_CHECK(!d.iso_sha256 || strlen(d.iso_sha256) == 64);
        FUZZ_CHECK(!d.size || d.size >= 64 * 1024 * 1024);
        FUZZ_CHECK(d.vcpus <= 512);
        char *ks = definition_resolve(&d, d.kickstart);
        free(ks);
        if (d.iso) {
            char *iso = definition_resolve(&d, d.iso);
            free(iso);
        }
        for (int k = 0; k < DEF_NKEYS; k++)
            definition_error(&d, (enum definition_key)k, "fuzz %s", definition_key_name((enum definition_key)k));
        FUZZ_CHECK(strncmp(error_message(), "templates/fuzz.yaml", 19) == 0);
        definition_release(&d);
    } else {
        /* One line naming the file; *D released. */
        FUZZ_CHECK(error_message() && strncmp(error_message(), "templates/fuzz.yaml", 19) == 0);
        FUZZ_CHECK(!strchr(error_message(), '\n'));
        FUZZ_CHECK(d.path == NULL && d.name == NULL);
    }
    free(text);
    fuzz_done();
    return 0;
}
