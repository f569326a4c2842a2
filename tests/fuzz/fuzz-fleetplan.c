/* fuzz-fleetplan: a fleet plan (pure/fleetplan.c, fleet_plan_parse: the
 * YAML tree of pure/yamlutil.c, every key's checks, the expansion into
 * clones and their placement); what parses is then checked against a NAT
 * network with DHCP and reservations, as `fleet apply` does, and its
 * forwards searched for a host port used twice. */
#include "fuzz.h"
#include "pure/fleetplan.h"
#include "pure/forward.h"

#define PATH "plans/fuzz.yaml"

static void check_network(const struct fleet_plan *p)
{
    static const struct fleet_reservation reserved[] = {
        { "52:54:c0:a8:7a:0a", 0xc0a87a0a, "web-01" }, /* 192.168.122.10 */
        { "52:54:00:11:22:33", 0xc0a87a14, NULL },     /* 192.168.122.20, another MAC */
        { NULL, 0xc0a87a1e, "db-01" },                 /* 192.168.122.30 */
    };
    struct fleet_network net = {
        .name = "default",
        .address = 0xc0a87a01, /* 192.168.122.1/24 */
        .prefix = 24,
        .dhcp_start = 0xc0a87a02,
        .dhcp_end = 0xc0a87afe,
        .reserved = reserved,
        .nreserved = sizeof reserved / sizeof *reserved,
    };

    if (fleet_check_network(p, -1, &net) < 0)
        FUZZ_CHECK(error_message() && strncmp(error_message(), PATH, strlen(PATH)) == 0);
    error_clear();
    for (size_t h = 0; h < p->nhosts; h++) {
        fleet_check_network(p, (int)h, &net);
        error_clear();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    struct fleet_plan p;

    if (fleet_plan_parse(PATH, text, &p) == 0) {
        struct forward_set *sets = calloc(p.nclones + 1, sizeof *sets);
        size_t i, a, j, b;

        FUZZ_CHECK(sets && p.fleet && p.template && p.ngroups > 0 && p.nclones > 0);
        for (size_t c = 0; c < p.nclones; c++) {
            const struct fleet_clone *cl = &p.clones[c];
            FUZZ_CHECK(cl->name && cl->hostname && cl->group < p.ngroups);
            FUZZ_CHECK(cl->host < (int)p.nhosts && (p.nhosts == 0 ? cl->host == -1 : cl->host >= 0));
            sets[c] = (struct forward_set){ cl->name, cl->forwards, cl->nforwards, NULL };
        }
        /* The parser refuses a host port used twice. */
        FUZZ_CHECK(!forward_find_twice(sets, p.nclones, &i, &a, &j, &b));
        free(sets);
        check_network(&p);
        for (size_t g = 0; g < p.ngroups; g++)
            for (int k = 0; k < FG_NKEYS; k++)
                FUZZ_CHECK(fleet_group_line(&p, g, (enum fleet_group_key)k) > 0);
        fleet_group_error(&p, 0, FG_IP, "fuzz");
        fleet_plan_release(&p);
    } else {
        FUZZ_CHECK(error_message() && strncmp(error_message(), PATH, strlen(PATH)) == 0);
        FUZZ_CHECK(!strchr(error_message(), '\n'));
    }
    free(text);
    fuzz_done();
    return 0;
}
