/* Unit tests: fleetplan.c, fleet plans (YAML) and their expansion into
 * clones, the IPv4 helpers and the check against a libvirt network's data.
 * Golden files in tests/data/fleetplans: each X.yaml is parsed as "X.yaml";
 * X.golden holds the plan and its clones, X.err the one-line error a bad
 * one gives. argv[1] is tests/data. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/error.h"
#include "pure/definition.h"
#include "pure/fleetplan.h"
#include "pure/util.h"

static const char *data_dir;

static char *slurp(const char *path)
{
    char *text = read_file(path, NULL);

    if (!text)
        fail_msg("cannot read %s: %s", path, error_message());
    return text;
}

static const char *ip_or_dash(uint32_t ip, char buf[16])
{
    return ip ? ipv4_format(ip, buf) : "-";
}

static void dump_dns(FILE *fp, const uint32_t *dns, size_t n)
{
    char a[16];

    for (size_t i = 0; i < n; i++)
        fprintf(fp, "%s%s", i ? "," : "", ipv4_format(dns[i], a));
    if (n == 0)
        fprintf(fp, "-");
}

static void dump_forwards(FILE *fp, const struct port_forward *f, size_t n)
{
    char a[32];

    for (size_t i = 0; i < n; i++)
        fprintf(fp, "%s%s%s%s", i ? "," : "", forward_format(&f[i], a, sizeof a), f[i].address[0] ? ">" : "",
                f[i].address);
}

/* A group's given keys, "key=value@line". */
static void dump_group(FILE *fp, const struct fleet_group *g)
{
    char a[16];

    for (int k = 0; k < FG_NKEYS; k++) {
        if (!g->line[k])
            continue;
        fprintf(fp, " %s=", fleet_group_key_name(k));
        switch (k) {
        case FG_NAME: fprintf(fp, "%s", g->name); break;
        case FG_COUNT: fprintf(fp, "%u", g->count); break;
        case FG_IP: fprintf(fp, "%s", ipv4_format(g->ip, a)); break;
        case FG_HOST: fprintf(fp, "%s(%d)", g->host, g->host_index); break;
        case FG_MEMORY: fprintf(fp, "%llu", (unsigned long long)g->memory_kib); break;
        case FG_VCPUS: fprintf(fp, "%u", g->vcpus); break;
        case FG_SIZE: fprintf(fp, "%llu", (unsigned long long)g->size); break;
        case FG_NETWORK: fprintf(fp, "%s", g->network); break;
        case FG_POOL: fprintf(fp, "%s", g->pool); break;
        case FG_DISK: fprintf(fp, "%s", g->full ? "full" : "linked"); break;
        case FG_DOMAIN: fprintf(fp, "%s", g->domain); break;
        case FG_SSH_KEY: fprintf(fp, "%s", g->ssh_key); break;
        case FG_PREFIX: fprintf(fp, "%d", g->prefix); break;
        case FG_GATEWAY: fprintf(fp, "%s", ipv4_format(g->gateway, a)); break;
        case FG_DNS: dump_dns(fp, g->dns, g->ndns); break;
        case FG_DESCRIPTION: fprintf(fp, "%s", g->description); break;
        case FG_FORWARDS: dump_forwards(fp, g->forwards, g->nforwards); break;
        }
        fprintf(fp, "@%d", g->line[k]);
    }
    fprintf(fp, "\n");
}

/* The plan, then one line per clone. */
static char *dump(const struct fleet_plan *p)
{
    char *s = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&s, &len);
    char a[16];

    assert_non_null(fp);
    fprintf(fp, "fleet=%s@%d template=%s@%d placement=%s@%d\n", p->fleet, p->line[FLEET_FLEET], p->template,
            p->line[FLEET_TEMPLATE], p->placement == FLEET_FILL ? "fill" : "spread", p->line[FLEET_PLACEMENT]);
    for (size_t i = 0; i < p->nhosts; i++)
        fprintf(fp, "host %s uri=%s @%d (name@%d uri@%d)\n", p->hosts[i].name, p->hosts[i].uri, p->hosts[i].line,
                p->hosts[i].name_line, p->hosts[i].uri_line);
    fprintf(fp, "defaults@%d:", p->line[FLEET_DEFAULTS]);
    dump_group(fp, &p->defaults);
    for (size_t i = 0; i < p->ngroups; i++) {
        fprintf(fp, "group %zu @%d:", i, p->groups[i].at);
        dump_group(fp, &p->groups[i]);
    }
    for (size_t i = 0; i < p->nclones; i++) {
        const struct fleet_clone *c = &p->clones[i];
        fprintf(fp, "%s %s g%zu#%d host=%s mem=%llu vcpus=%u size=%llu net=%s pool=%s disk=%s ip=%s mac=%s",
                c->name, c->hostname, c->group, c->index, c->host >= 0 ? p->hosts[c->host].name : "-c",
                (unsigned long long)c->memory_kib, c->vcpus, (unsigned long long)c->size,
                c->network ? c->network : "-", c->pool ? c->pool : "-", c->full ? "full" : "linked",
                c->ip ? c->ip_text : "-", c->ip ? c->mac : "-");
        fprintf(fp, " prefix=%d gw=%s dns=", c->prefix, ip_or_dash(c->gateway, a));
        dump_dns(fp, c->dns, c->ndns);
        fprintf(fp, " key=%s", c->ssh_key ? c->ssh_key : "-");
        if (c->description) /* only then: the older golden files have none */
            fprintf(fp, " desc=%s", c->description);
        if (c->nforwards) { /* likewise */
            fprintf(fp, " fwd=");
            dump_forwards(fp, c->forwards, c->nforwards);
        }
        fprintf(fp, "\n");
    }
    fclose(fp);
    return s;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static void test_golden(void **state)
{
    char dir[4096];
    struct dirent **ents;
    int n, good = 0, bad = 0;
    const char *regen = getenv("FLEETPLAN_REGEN"); /* write the .golden files (then review them) */

    (void)state;
    snprintf(dir, sizeof dir, "%s/fleetplans", data_dir);
    n = scandir(dir, &ents, NULL, by_name);
    assert_true(n > 0);
    for (int i = 0; i < n; i++) {
        const char *f = ents[i]->d_name;
        size_t len = strlen(f);
        char *path, *expect_path;
        struct fleet_plan p;

        if (len < 6 || strcmp(f + len - 5, ".yaml") != 0) {
            free(ents[i]);
            continue;
        }
        if (asprintf(&path, "%s/%s", dir, f) < 0)
            abort();
        char *text = slurp(path);
        int stem = (int)(len - 5);
        error_clear();
        int r = fleet_plan_parse(f, text, &p);
        if (asprintf(&expect_path, "%s/%.*s.err", dir, stem, f) < 0)
            abort();
        if (access(expect_path, F_OK) == 0) {
            char *want = slurp(expect_path);
            want[strcspn(want, "\n")] = '\0';
            if (r != -1)
                fail_msg("%s: parsed, expected: %s", f, want);
            if (!error_message() || strcmp(error_message(), want) != 0)
                fail_msg("%s:\n  got:  %s\n  want: %s", f, error_message(), want);
            assert_null(strchr(error_message(), '\n'));
            assert_null(p.path); /* released */
            free(want);
            bad++;
        } else {
            free(expect_path);
            if (asprintf(&expect_path, "%s/%.*s.golden", dir, stem, f) < 0)
                abort();
            if (r != 0)
                fail_msg("%s: %s", f, error_message());
            char *got = dump(&p);
            if (regen) {
                FILE *out = fopen(expect_path, "w");
                assert_non_null(out);
                fputs(got, out);
                fclose(out);
            }
            char *want = slurp(expect_path);
            if (strcmp(got, want) != 0)
                fail_msg("%s:\n--- got\n%s--- want\n%s", f, got, want);
            assert_string_equal(p.path, f);
            free(got);
            free(want);
            fleet_plan_release(&p);
            good++;
        }
        free(text);
        free(path);
        free(expect_path);
        free(ents[i]);
    }
    free(ents);
    assert_true(good >= 4);
    assert_true(bad >= 25);
}

static void test_ipv4(void **state)
{
    static const char *const bad[] = { "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4", "01.2.3.4",
                                       "1..2.3", "a.b.c.d", "1.2.3.-4", "1.2.3.1000", "1.2.3.4/24" };
    uint32_t ip;
    char buf[16];

    (void)state;
    assert_int_equal(ipv4_parse("192.168.122.10", &ip), 0);
    assert_int_equal(ip, 0xc0a87a0a);
    assert_string_equal(ipv4_format(ip, buf), "192.168.122.10");
    assert_int_equal(ipv4_parse("0.0.0.0", &ip), 0);
    assert_int_equal(ip, 0);
    assert_int_equal(ipv4_parse("255.255.255.255", &ip), 0);
    assert_int_equal(ip, 0xffffffff);
    assert_string_equal(ipv4_format(ip, buf), "255.255.255.255");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        error_clear();
        if (ipv4_parse(bad[i], &ip) != -1)
            fail_msg("'%s' parsed", bad[i]);
        assert_non_null(strstr(error_message(), "invalid IPv4 address '"));
    }
    error_clear();

    assert_true(ipv4_in_subnet(0xc0a87a0a, 0xc0a87a00, 24));
    assert_true(ipv4_in_subnet(0xc0a87a0a, 0xc0a87a01, 24)); /* host bits of NET ignored */
    assert_false(ipv4_in_subnet(0xc0a87b0a, 0xc0a87a00, 24));
    assert_true(ipv4_in_subnet(0xc0a87b0a, 0xc0a87a00, 23));
    assert_true(ipv4_in_subnet(0x0a000001, 0xc0a87a00, 0));
    assert_true(ipv4_in_subnet(0x0a000001, 0x0a000001, 32));
    assert_false(ipv4_in_subnet(0x0a000002, 0x0a000001, 32));
    assert_false(ipv4_in_subnet(0x0a000001, 0x8a000001, 1));
}

static void parse_ok(const char *text, struct fleet_plan *p)
{
    error_clear();
    if (fleet_plan_parse("p.yaml", text, p) < 0)
        fail_msg("%s", error_message());
}

/* fill: up to ceil(clones / hosts) per host, in order; pins count first. */
static void test_placement(void **state)
{
    struct fleet_plan p;
    static const char three[] = "fleet: f\ntemplate: t\nplacement: fill\n"
                                "hosts: [{name: a, uri: 'test:///a'}, {name: b, uri: 'test:///b'}, "
                                "{name: c, uri: 'test:///c'}]\n";
    char text[1024];

    (void)state;
    /* 7 clones on 3 hosts: 3, 3, 1. */
    snprintf(text, sizeof text, "%sgroups: [{name: w%%d, count: 7}]\n", three);
    parse_ok(text, &p);
    static const int want7[] = { 0, 0, 0, 1, 1, 1, 2 };
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(p.clones[i].host, want7[i]);
    fleet_plan_release(&p);

    /* 4 pinned to a, 2 free: a is full (cap 2), so b, b. */
    snprintf(text, sizeof text, "%sgroups: [{name: w%%d, count: 2}, {name: x%%d, count: 4, host: a}]\n", three);
    parse_ok(text, &p);
    static const int want_pin[] = { 1, 1, 0, 0, 0, 0 };
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(p.clones[i].host, want_pin[i]);
    fleet_plan_release(&p);

    /* c is overfilled by its pins (5 > cap 3): the others fill a, then b. */
    snprintf(text, sizeof text, "%sgroups: [{name: x%%d, count: 5, host: c}, {name: w%%d, count: 4}]\n", three);
    parse_ok(text, &p); /* cap 3: a 3, b 1 */
    static const int want_over[] = { 2, 2, 2, 2, 2, 0, 0, 0, 1 };
    for (size_t i = 0; i < 9; i++)
        assert_int_equal(p.clones[i].host, want_over[i]);
    fleet_plan_release(&p);

    /* spread: the turn goes on across groups; pins do not take a turn. */
    snprintf(text, sizeof text, "fleet: f\ntemplate: t\nhosts: [{name: a, uri: 'test:///a'}, "
             "{name: b, uri: 'test:///b'}]\ngroups: [{name: w%%d, count: 3}, {name: p, host: a}, "
             "{name: x%%d, count: 2}]\n");
    parse_ok(text, &p);
    static const int want_spread[] = { 0, 1, 0, 0, 1, 0 };
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(p.clones[i].host, want_spread[i]);
    fleet_plan_release(&p);
}

static void check_net_err(const struct fleet_plan *p, int host, const struct fleet_network *net, const char *want)
{
    error_clear();
    assert_int_equal(fleet_check_network(p, host, net), -1);
    if (strcmp(error_message(), want) != 0)
        fail_msg("\n  got:  %s\n  want: %s", error_message(), want);
}

static void test_check_network(void **state)
{
    struct fleet_plan p;
    uint32_t gw;
    struct fleet_reservation res[3];
    struct fleet_network net = {
        .name = "default", .prefix = 24, .dhcp_start = 0xc0a87a02, .dhcp_end = 0xc0a87afe,
    };

    (void)state;
    assert_int_equal(ipv4_parse("192.168.122.1", &net.address), 0);
    parse_ok("fleet: f\ntemplate: t\n"
             "hosts: [{name: a, uri: 'test:///a'}, {name: b, uri: 'test:///b'}]\n"
             "defaults: {domain: lab.test}\n"
             "groups:\n"
             "  - {name: web-%02d, count: 3, ip: 192.168.122.10}\n"
             "  - {name: db, ip: 10.0.0.5, host: b}\n"
             "  - {name: nodhcp, network: other}\n",
             &p);
    /* db (10.0.0.5) is outside: on host a only web-01 and web-03. */
    error_clear();
    assert_int_equal(fleet_check_network(&p, 0, &net), 0);
    check_net_err(&p, -1, &net, "p.yaml:7: ip: 10.0.0.5 (db) is outside network 'default' (192.168.122.0/24)");
    check_net_err(&p, 1, &net, "p.yaml:7: ip: 10.0.0.5 (db) is outside network 'default' (192.168.122.0/24)");

    /* The gateway, host, network and broadcast addresses. */
    net.address = 0xc0a87a0b; /* web-02 */
    check_net_err(&p, 1, &net,
                  "p.yaml:6: ip: 192.168.122.11 (web-02) is the host's own address of network 'default' "
                  "(192.168.122.0/24)");
    error_clear();
    assert_int_equal(fleet_check_network(&p, 0, &net), 0); /* web-02 is on b */
    net.address = 0xc0a87a01;
    assert_int_equal(ipv4_parse("192.168.122.12", &gw), 0);
    net.gateway = gw;
    check_net_err(&p, 0, &net,
                  "p.yaml:6: ip: 192.168.122.12 (web-03) is the gateway of network 'default' (192.168.122.0/24)");
    net.gateway = 0;
    net.address = 0xc0a87a11;
    net.prefix = 28; /* 192.168.122.16/28: .10 is outside */
    check_net_err(&p, 0, &net, "p.yaml:6: ip: 192.168.122.10 (web-01) is outside network 'default' "
                  "(192.168.122.16/28)");
    net.address = 0xc0a87a09;
    net.prefix = 29; /* 192.168.122.8/29: .10 and .12 inside */
    error_clear();
    assert_int_equal(fleet_check_network(&p, 0, &net), 0);
    net.prefix = 30; /* 192.168.122.8/30: .12 outside, .11 the broadcast */
    check_net_err(&p, 0, &net, "p.yaml:6: ip: 192.168.122.12 (web-03) is outside network 'default' "
                  "(192.168.122.8/30)");
    check_net_err(&p, 1, &net, "p.yaml:6: ip: 192.168.122.11 (web-02) is the broadcast address of network "
                  "'default' (192.168.122.8/30)");
    net.prefix = 24;
    net.address = 0xc0a87a01;

    /* Reservations: the clone's own passes; another MAC, name or IP fails. */
    net.reserved = res;
    net.nreserved = 1;
    res[0] = (struct fleet_reservation){ .mac = "52:54:C0:A8:7A:0A", .ip = 0xc0a87a0a, .name = "web-01" };
    error_clear();
    assert_int_equal(fleet_check_network(&p, 0, &net), 0);
    res[0].name = "web-01.lab.test";
    assert_int_equal(fleet_check_network(&p, 0, &net), 0);
    res[0].name = NULL;
    assert_int_equal(fleet_check_network(&p, 0, &net), 0);
    res[0].name = "other-01"; /* another fleet's, at the same address */
    check_net_err(&p, 0, &net, "p.yaml:6: ip: 192.168.122.10 (web-01) is already reserved in network 'default' "
                  "for 52:54:C0:A8:7A:0A 192.168.122.10 'other-01'");
    res[0] = (struct fleet_reservation){ .mac = "52:54:00:11:22:33", .ip = 0xc0a87a0c };
    check_net_err(&p, -1, &net, "p.yaml:6: ip: 192.168.122.12 (web-03) is already reserved in network 'default' "
                  "for 52:54:00:11:22:33 192.168.122.12");
    res[0] = (struct fleet_reservation){ .mac = "52:54:c0:a8:7a:0b", .ip = 0xc0a87a63 };
    check_net_err(&p, -1, &net, "p.yaml:6: ip: web-02's MAC 52:54:c0:a8:7a:0b (from 192.168.122.11) is already "
                  "reserved in network 'default' for 52:54:c0:a8:7a:0b 192.168.122.99");
    res[0] = (struct fleet_reservation){ .name = "WEB-03", .ip = 0xc0a87a63 };
    check_net_err(&p, -1, &net, "p.yaml:6: ip: the name 'WEB-03' is already reserved in network 'default' for "
                  "192.168.122.99 'WEB-03', not 192.168.122.12");
    res[0] = (struct fleet_reservation){ .mac = "52:54:00:aa:bb:cc", .ip = 0xc0a87a63, .name = "x" };
    error_clear();
    assert_int_equal(fleet_check_network(&p, 0, &net), 0);
    net.nreserved = 0;

    /* A network without DHCP needs a prefix for static addresses. */
    net.dhcp_start = net.dhcp_end = 0;
    check_net_err(&p, 0, &net, "p.yaml:6: ip: network 'default' has no DHCP, so web-01 cannot be given "
                  "192.168.122.10: give 'prefix' (and 'gateway') for a static address");
    /* Only clones of that network: 'other' has no clone with an ip. */
    net.name = "other";
    error_clear();
    assert_int_equal(fleet_check_network(&p, -1, &net), 0);
    fleet_plan_release(&p);

    /* A prefix other than the network's; the default's line is named. */
    parse_ok("fleet: f\ntemplate: t\ndefaults: {network: br, prefix: 16}\n"
             "groups: [{name: s, ip: 192.168.122.10}]\n", &p);
    net.name = "br";
    check_net_err(&p, -1, &net, "p.yaml:3: prefix: /16 for s, but network 'br' is 192.168.122.0/24");
    net.prefix = 16;
    net.address = 0xc0a80001;
    error_clear();
    assert_int_equal(fleet_check_network(&p, -1, &net), 0);
    fleet_plan_release(&p);

    /* The network address (the plan's /23 allows it). */
    parse_ok("fleet: f\ntemplate: t\ngroups: [{name: z, ip: 192.168.123.0, prefix: 23}]\n", &p);
    net = (struct fleet_network){ .name = "default", .address = 0xc0a87b01, .prefix = 24, .dhcp_start = 1 };
    check_net_err(&p, -1, &net, "p.yaml:3: ip: 192.168.123.0 (z) is the network address of network 'default' "
                  "(192.168.123.0/24)");
    fleet_plan_release(&p);
    error_clear();
}

static void test_errors_and_load(void **state)
{
    struct fleet_plan p;
    char path[4200], want[4400];

    (void)state;
    parse_ok("fleet: f\ntemplate: t\ndefaults:\n  network: n\ngroups:\n  - name: a\n  - name: b\n    network: m\n", &p);
    error_clear();
    assert_int_equal(fleet_plan_error(&p, FLEET_TEMPLATE, "template '%s' not found", p.template), -1);
    assert_string_equal(error_message(), "p.yaml:2: template: template 't' not found");
    error_clear();
    assert_int_equal(fleet_plan_error(&p, FLEET_HOSTS, "absent"), -1);
    assert_string_equal(error_message(), "p.yaml: hosts: absent");
    error_clear();
    assert_int_equal(fleet_group_error(&p, 0, FG_NETWORK, "unknown network '%s'", p.clones[0].network), -1);
    assert_string_equal(error_message(), "p.yaml:4: network: unknown network 'n'");
    error_clear();
    assert_int_equal(fleet_group_error(&p, 1, FG_NETWORK, "unknown network '%s'", p.clones[1].network), -1);
    assert_string_equal(error_message(), "p.yaml:8: network: unknown network 'm'");
    error_clear();
    assert_int_equal(fleet_group_error(&p, 1, FG_POOL, "pool 'default' missing on host 'x'"), -1);
    assert_string_equal(error_message(), "p.yaml:7: pool: pool 'default' missing on host 'x'");
    assert_int_equal(fleet_group_line(&p, 0, FG_NAME), 6);
    assert_int_equal(p.clones[0].host, -1);
    fleet_plan_release(&p);
    fleet_plan_release(NULL);

    error_clear();
    assert_int_equal(fleet_plan_load("/nonexistent/lab.yaml", &p), -1);
    assert_string_equal(error_message(), "fleet plan '/nonexistent/lab.yaml' not found: give a YAML file "
                        "(fleet: ..., template: ..., groups: ...)");
    error_clear();
    assert_int_equal(fleet_plan_load(data_dir, &p), -1);
    assert_non_null(strstr(error_message(), "is not a regular file: give a YAML file"));
    snprintf(path, sizeof path, "%s/fleetplans/good-issue.yaml", data_dir);
    error_clear();
    assert_int_equal(fleet_plan_load(path, &p), 0);
    assert_int_equal(p.nclones, 12);
    error_clear();
    assert_int_equal(fleet_group_error(&p, 1, FG_MEMORY, "too much"), -1);
    snprintf(want, sizeof want, "%s:12: memory: too much", path);
    assert_string_equal(error_message(), want);
    fleet_plan_release(&p);
    error_clear();

    /* The definitions' reading, moved into yamlutil, says the same. */
    struct definition d;
    assert_int_equal(definition_load("/nonexistent/x.yaml", &d), -1);
    assert_string_equal(error_message(),
                        "template definition '/nonexistent/x.yaml' not found: give a YAML file (see templates/)");
    error_clear();
}

/* Syntax errors and tree-level refusals: one line with the file and line. */
static void test_syntax(void **state)
{
    static const struct { const char *text; const char *want; } cases[] = {
        { "fleet: f\ngroups: [{name: a\n", "x.yaml:2: invalid YAML: " },
        { "fleet: f\n\ttemplate: t\n", "x.yaml:2: invalid YAML: " },
        { "", "x.yaml: missing key 'fleet': a plan needs at least 'fleet', 'template' and 'groups'" },
        { "# nothing\n", "x.yaml: missing key 'fleet': a plan needs at least 'fleet', 'template' and 'groups'" },
        { "---\n...\n", "x.yaml: missing key 'fleet': a plan needs at least 'fleet', 'template' and 'groups'" },
        { "fleet: f\ntemplate: t\n", "x.yaml: missing key 'groups': a plan needs at least 'fleet', 'template' and "
                                     "'groups'" },
        { "words\n", "x.yaml:1: a single value: a plan is a mapping (fleet: ..., template: ..., groups: ...)" },
        { "- a\n", "x.yaml:1: a list: a plan is a mapping (fleet: ..., template: ..., groups: ...)" },
        { "fleet: f\n---\nfleet: g\n", "x.yaml:2: a second YAML document: a plan is one mapping" },
        { "fleet: &x f\ntemplate: *x\n", "x.yaml:2: YAML aliases are not part of the format: write the value" },
        { "fleet: f\n? [a]\n: b\n", "x.yaml:2: a list as a key is not part of the format" },
        { "fleet: f\n{a: b}: c\n", "x.yaml:2: a mapping as a key is not part of the format" },
        { "groups: [{name: a, name: b}]\n", "x.yaml:1: name: given twice (first on line 1)" },
        { "fleet: f\ntemplate: t\ngroups: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[a]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n",
          "x.yaml:3: nested too deeply: the format has at most 32 levels" },
    };
    struct fleet_plan p;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        error_clear();
        assert_int_equal(fleet_plan_parse("x.yaml", cases[i].text, &p), -1);
        if (strncmp(error_message(), cases[i].want, strlen(cases[i].want)) != 0)
            fail_msg("case %zu: '%s' does not start with '%s'", i, error_message(), cases[i].want);
        assert_null(strchr(error_message(), '\n'));
        assert_null(p.path);
    }
    error_clear();
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_ipv4),
        cmocka_unit_test(test_placement),
        cmocka_unit_test(test_check_network),
        cmocka_unit_test(test_errors_and_load),
        cmocka_unit_test(test_syntax),
    };

    data_dir = argc > 1 ? argv[1] : "tests/data";
    return cmocka_run_group_tests(tests, NULL, NULL);
}
