/* fuzz-scalars: the one-value parsers of command-line options and plan
 * values, each given the whole input: sizes and memory (pure/util.c), MAC
 * and IPv4 addresses, CIDR (pure/netconf.c), --network (pure/domxml.c),
 * --forward (pure/forward.c), --name-pattern, host and domain names, a
 * SHA-256, --extra-args, libvirt's DAC label and URIs (pure/dac.c), SELinux
 * contexts and `ls -Zd` lines (pure/selinux.c). Where a parser promises a
 * form, what it accepts is checked against it (an address written back is
 * the input; a memory size does not wrap). */
#include <ctype.h>
#include <limits.h>
#include <strings.h>

#include "fuzz.h"
#include "pure/dac.h"
#include "pure/domxml.h"
#include "pure/fleetplan.h"
#include "pure/forward.h"
#include "pure/installer.h"
#include "pure/netconf.h"
#include "pure/selinux.h"
#include "pure/util.h"

static void sizes(const char *s)
{
    uint64_t bytes = 0, kib = 0;

    if (parse_size(s, &bytes) == 0)
        FUZZ_CHECK(bytes <= 1000000000000000000ULL);
    error_clear();
    if (parse_memory(s, &kib) == 0) {
        /* At least 1 MiB, and no sign, blank or overflow let through. */
        FUZZ_CHECK(kib >= 1024);
        FUZZ_CHECK(isdigit((unsigned char)s[0]));
    }
    error_clear();
}

static void addresses(const char *s)
{
    char mac[18], mac2[18], text[16];
    uint32_t ip = 0, addr = 0;
    int prefix = 0;

    if (parse_mac(s, mac) == 0) {
        FUZZ_CHECK(strlen(mac) == 17 && strcasecmp(mac, s) == 0);
        FUZZ_CHECK(parse_mac(mac, mac2) == 0 && strcmp(mac, mac2) == 0);
    }
    if (ipv4_parse(s, &ip) == 0) {
        /* No leading zeros, nothing around it: written back, it is the input. */
        FUZZ_CHECK(strcmp(ipv4_format(ip, text), s) == 0);
        FUZZ_CHECK(mac_from_ipv4(s, mac) == 0);
        FUZZ_CHECK(parse_mac(mac, mac2) == 0);
    }
    error_clear();
    if (mac_from_ipv4(s, mac) == 0)
        FUZZ_CHECK(strlen(mac) == 17);
    error_clear();
    if (netconf_parse_cidr(s, "--ip", &addr, &prefix) == 0)
        FUZZ_CHECK(prefix >= 1 && prefix <= 32);
    error_clear();
}

static void options(const char *s)
{
    struct netspec ns;
    struct port_forward f, g;
    char buf[32];

    if (netspec_parse(s, &ns) == 0) {
        FUZZ_CHECK(ns.kind == NET_USER ? ns.source == NULL : ns.source && *ns.source);
        netspec_release(&ns);
    }
    error_clear();
    if (forward_parse(s, &f) == 0) {
        FUZZ_CHECK(f.host_port >= 1 && f.host_port <= 65535 && f.guest_port >= 1 && f.guest_port <= 65535);
        FUZZ_CHECK(forward_parse(forward_format(&f, buf, sizeof buf), &g) == 0);
        FUZZ_CHECK(f.host_port == g.host_port && f.guest_port == g.guest_port && f.udp == g.udp);
        FUZZ_CHECK(forward_same_host_port(&f, &g));
    }
    error_clear();
    for (int n = 1; n <= 1000; n += 999) {
        char *name = expand_name_pattern(s, n);
        free(name);
        error_clear();
    }
    (void)is_sha256_hex(s);
    (void)installer_args_name_kickstart(s);
}

static void names(const char *s)
{
    const char *p = hostname_problem(s);

    FUZZ_CHECK(valid_hostname(s) == (p == NULL));
    if (!p)
        FUZZ_CHECK(strlen(s) <= 253);
    p = domain_name_problem(s);
    FUZZ_CHECK(valid_domain_name(s) == (p == NULL));
    if (!p)
        FUZZ_CHECK(strlen(s) >= 1 && strlen(s) <= 64 && !strpbrk(s, "<&'/"));
}

static void host_facts(const char *s)
{
    uid_t uid;
    gid_t gid;
    char *context = NULL, *dir = NULL;
    char *type = selinux_context_type(s);
    char *advice = selinux_pool_advice("1", "fuzz", "/srv/fuzz pool", s);

    (void)dac_parse_label(s, &uid, &gid);
    error_clear();
    (void)dac_uri_is_local(s);
    if (selinux_parse_ls_z(s, &context, &dir) == 0)
        FUZZ_CHECK(context && *context && dir && *dir);
    else
        FUZZ_CHECK(!context && !dir);
    free(context);
    free(dir);
    free(type);
    free(advice);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_text(data, size);

    sizes(s);
    addresses(s);
    options(s);
    names(s);
    host_facts(s);
    free(s);
    fuzz_done();
    return 0;
}
