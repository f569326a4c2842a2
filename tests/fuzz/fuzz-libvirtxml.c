/* fuzz-libvirtxml: XML vmstamp reads back from libvirt (which may be a
 * remote host's): a domain's (pure/domxml.c, domxml_parse: its vmstamp
 * and fleet metadata, forwards, disks, MACs, memory), a network's
 * (pure/netxml.c, netxml_parse: subnet, DHCP range, DHCP and DNS hosts,
 * looked up as fleet apply does) and the host capabilities' DAC label
 * (pure/dac.c). Each gets every input. */
#include "fuzz.h"
#include "pure/dac.h"
#include "pure/domxml.h"
#include "pure/netxml.h"

static void domain(const char *xml)
{
    struct clone_meta m;

    if (domxml_parse(xml, &m) == 0) {
        FUZZ_CHECK(m.disks && m.macs);
        for (size_t i = 0; i < m.nforwards; i++)
            FUZZ_CHECK(m.forwards[i].host_port >= 1 && m.forwards[i].host_port <= 65535 && m.forwards[i].address[0]);
    }
    clone_meta_release(&m);
    error_clear();
}

static void network(const char *xml)
{
    struct netxml n;

    if (netxml_parse(xml, &n) == 0) {
        FUZZ_CHECK(n.prefix >= 0 && n.prefix <= 32);
        for (size_t i = 0; i < n.nhosts; i++) {
            const struct netxml_host *h = &n.hosts[i];
            FUZZ_CHECK(netxml_find_dhcp_host(&n, h->mac, h->ip, h->name) >= 0);
            char *el = netxml_dhcp_host(h->mac, h->ip, h->name);
            free(el);
        }
        for (size_t i = 0; i < n.ndns; i++) {
            FUZZ_CHECK(netxml_find_dns_ip(&n, n.dns[i].ip) >= 0);
            for (size_t j = 0; n.dns[i].names && n.dns[i].names[j]; j++)
                FUZZ_CHECK(netxml_find_dns_name(&n, n.dns[i].names[j]) >= 0);
            char *el = netxml_dns_host_names(n.dns[i].ip, n.dns[i].names);
            free(el);
        }
    }
    netxml_release(&n);
    error_clear();
}

static void capabilities(const char *xml)
{
    uid_t uid;
    gid_t gid;

    (void)dac_label_from_caps(xml, "kvm", &uid, &gid);
    error_clear();
    (void)dac_label_from_caps(xml, "qemu", &uid, &gid);
    error_clear();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *xml = fuzz_text(data, size);

    domain(xml);
    network(xml);
    capabilities(xml);
    free(xml);
    fuzz_done();
    return 0;
}
