/* Unit tests: domxml.c. The XML is also defined on libvirt's test driver
 * (test:///default), which validates it the way a real libvirtd parses it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <libvirt/libvirt.h>

#include "pure/domxml.h"
#include "base/error.h"
#include "adapters/virt.h"

static void spec_init(struct domain_spec *s, const struct netspec *net)
{
    memset(s, 0, sizeof *s);
    s->name = "web01";
    s->uuid = "0b5d2f6e-3c1a-4e8b-9f7d-2a6c4e8b1d3f";
    s->virt_type = "qemu";
    s->memory_kib = 1048576;
    s->vcpus = 2;
    s->disk_path = "/var/lib/libvirt/images/web01.qcow2";
    s->disk_format = "qcow2";
    s->net = net;
    s->mac = "52:54:00:aa:bb:cc";
    s->console_log = "/var/log/libvirt/qemu/web01-serial0.log";
    s->template_path = "/var/tmp/tpl & <friends>.qcow2";
    s->hostname = "web01";
    s->created = "2026-11-21T00:00:00Z";
}

static void test_build_and_parse(void **state)
{
    struct netspec net = { NET_NETWORK, (char *)"default" };
    struct domain_spec spec;
    struct clone_meta meta;
    char *xml;

    (void)state;
    spec_init(&spec, &net);
    xml = domxml_build(&spec);
    assert_non_null(xml);
    assert_non_null(strstr(xml, "<domain type=\"qemu\">"));
    assert_non_null(strstr(xml, "<source network=\"default\"/>"));
    assert_non_null(strstr(xml, "<mac address=\"52:54:00:aa:bb:cc\"/>"));
    assert_non_null(strstr(xml, "<log file=\"/var/log/libvirt/qemu/web01-serial0.log\" append=\"off\"/>"));
    /* a template path with & and < is escaped, not pasted */
    assert_non_null(strstr(xml, "tpl &amp; &lt;friends&gt;.qcow2"));
    assert_null(strstr(xml, "host-passthrough"));
    assert_null(strstr(xml, "libosinfo")); /* no os_id, no libosinfo element */
    assert_null(strstr(xml, "machine=")); /* clones: libvirt's default machine */
    assert_int_equal(domxml_parse(xml, &meta), 0);
    assert_true(meta.is_vmstamp);
    assert_string_equal(meta.template_path, "/var/tmp/tpl & <friends>.qcow2");
    assert_string_equal(meta.hostname, "web01");
    assert_string_equal(meta.disks[0], "/var/lib/libvirt/images/web01.qcow2");
    assert_null(meta.disks[1]);
    assert_string_equal(meta.macs[0], "52:54:00:aa:bb:cc");
    clone_meta_release(&meta);
    free(xml);
}

static void test_kvm_and_networks(void **state)
{
    struct netspec user = { NET_USER, NULL }, br = { NET_BRIDGE, (char *)"br0" };
    struct domain_spec spec;
    char *xml;

    (void)state;
    spec_init(&spec, &user);
    spec.virt_type = "kvm";
    xml = domxml_build(&spec);
    assert_non_null(strstr(xml, "<domain type=\"kvm\">"));
    assert_non_null(strstr(xml, "host-passthrough"));
    assert_non_null(strstr(xml, "<interface type=\"user\">"));
    free(xml);
    spec_init(&spec, &br);
    xml = domxml_build(&spec);
    assert_non_null(strstr(xml, "<source bridge=\"br0\"/>"));
    free(xml);
}

static void test_netspec(void **state)
{
    struct netspec n;

    (void)state;
    assert_int_equal(netspec_parse("default", &n), 0);
    assert_int_equal(n.kind, NET_NETWORK);
    assert_string_equal(n.source, "default");
    netspec_release(&n);
    assert_int_equal(netspec_parse("network:lab", &n), 0);
    assert_string_equal(n.source, "lab");
    netspec_release(&n);
    assert_int_equal(netspec_parse("bridge:br0", &n), 0);
    assert_int_equal(n.kind, NET_BRIDGE);
    netspec_release(&n);
    assert_int_equal(netspec_parse("user", &n), 0);
    assert_int_equal(n.kind, NET_USER);
    assert_int_equal(netspec_parse("bridge:", &n), -1);
    error_clear();
    assert_int_equal(netspec_parse("foo:bar", &n), -1);
    error_clear();
}

static void test_foreign_domain(void **state)
{
    struct clone_meta meta;

    (void)state;
    assert_int_equal(domxml_parse("<domain type='kvm'><name>x</name><devices>"
                                  "<interface type='network'><mac address='52:54:00:01:02:03'/></interface>"
                                  "<interface type='network'><mac address='52:54:00:01:02:04'/></interface>"
                                  "</devices></domain>", &meta), 0);
    assert_false(meta.is_vmstamp);
    assert_null(meta.disks[0]);
    assert_string_equal(meta.macs[1], "52:54:00:01:02:04");
    clone_meta_release(&meta);
    assert_int_equal(domxml_parse("<domain", &meta), -1);
    error_clear();
}

/* XML of a domain a libvirt-group user could define: UUID U, vmstamp
 * metadata bound to B (NULL: no <vmstamp:uuid>) naming disk MDISK, and a
 * device disk DDISK. Caller frees. */
static char *hand_written(const char *u, const char *b, const char *mdisk, const char *ddisk)
{
    char *xml;
    assert_true(asprintf(&xml,
                         "<domain type='qemu'><name>evil</name><uuid>%s</uuid><metadata>"
                         "<vmstamp:clone xmlns:vmstamp='" VMSTAMP_XMLNS "'>"
                         "<vmstamp:template>/var/tmp/t.qcow2</vmstamp:template>%s%s%s"
                         "<vmstamp:disk>%s</vmstamp:disk><vmstamp:fleet name='lab' group='w' plan='/p' hash='h'/>"
                         "</vmstamp:clone></metadata><devices><disk type='file' device='disk'>"
                         "<source file='%s'/><target dev='vda'/></disk>"
                         "<disk type='file' device='cdrom'><source file='%s'/><target dev='sda'/></disk>"
                         "</devices></domain>",
                         u, b ? "<vmstamp:uuid>" : "", b ? b : "", b ? "</vmstamp:uuid>" : "", mdisk, ddisk,
                         mdisk) > 0);
    return xml;
}

/* The metadata counts only when it names the domain's own UUID, and a
 * disk only when the domain's devices use it (issue 20: a copied or
 * hand-written block must not steer what root deletes). */
static void test_bound_metadata(void **state)
{
    struct netspec net = { NET_NETWORK, (char *)"default" };
    struct domain_spec spec;
    struct clone_meta meta;
    const char *u = "0b5d2f6e-3c1a-4e8b-9f7d-2a6c4e8b1d3f";
    char *xml, *copy, *p;

    (void)state;
    spec_init(&spec, &net);
    xml = domxml_build(&spec);
    assert_non_null(strstr(xml, "<uuid>0b5d2f6e-3c1a-4e8b-9f7d-2a6c4e8b1d3f</uuid>"));
    assert_non_null(strstr(xml, "<vmstamp:uuid>0b5d2f6e-3c1a-4e8b-9f7d-2a6c4e8b1d3f</vmstamp:uuid>"));
    assert_int_equal(domxml_parse(xml, &meta), 0);
    assert_true(meta.is_vmstamp);
    assert_false(meta.unbound);
    assert_string_equal(meta.uuid, u);
    clone_meta_release(&meta);

    /* virt-clone: a new <uuid>, the metadata copied as it was. */
    copy = strdup(xml);
    p = strstr(copy, "<uuid>") + 6;
    memcpy(p, "11111111", 8);
    assert_int_equal(domxml_parse(copy, &meta), 0);
    assert_false(meta.is_vmstamp);
    assert_true(meta.unbound);
    assert_null(meta.disks[0]);
    assert_string_equal(meta.stray_disks[0], "/var/lib/libvirt/images/web01.qcow2");
    clone_meta_release(&meta);
    free(copy);
    free(xml);

    /* Bound, but naming a host file the domain does not use. */
    xml = hand_written(u, u, "/root/decoy/passwd", "/var/lib/libvirt/images/evil.qcow2");
    assert_int_equal(domxml_parse(xml, &meta), 0);
    assert_true(meta.is_vmstamp);
    assert_null(meta.disks[0]);
    assert_string_equal(meta.stray_disks[0], "/root/decoy/passwd");
    assert_null(meta.stray_disks[1]);
    clone_meta_release(&meta);
    free(xml);

    /* Bound and used: a disk of the clone (whether a pool holds it is
     * decided when it is removed). Case of the UUID does not matter. */
    xml = hand_written(u, "0B5D2F6E-3C1A-4E8B-9F7D-2A6C4E8B1D3F", "/var/lib/libvirt/images/evil.qcow2",
                       "/var/lib/libvirt/images/evil.qcow2");
    assert_int_equal(domxml_parse(xml, &meta), 0);
    assert_true(meta.is_vmstamp);
    assert_string_equal(meta.disks[0], "/var/lib/libvirt/images/evil.qcow2");
    assert_null(meta.disks[1]);
    assert_null(meta.stray_disks[0]);
    clone_meta_release(&meta);
    free(xml);

    /* No <vmstamp:uuid> (hand-written, or written before vmstamp bound its
     * metadata): not vmstamp's. */
    xml = hand_written(u, NULL, "/var/lib/libvirt/images/evil.qcow2", "/var/lib/libvirt/images/evil.qcow2");
    assert_int_equal(domxml_parse(xml, &meta), 0);
    assert_false(meta.is_vmstamp);
    assert_true(meta.unbound);
    assert_null(meta.disks[0]);
    clone_meta_release(&meta);
    free(xml);
}

/* libvirt's test driver parses and stores the XML like libvirtd does. */
static void test_libvirt_accepts(void **state)
{
    struct netspec net = { NET_NETWORK, (char *)"default" };
    struct domain_spec spec;
    virConnectPtr conn;
    virDomainPtr dom;
    struct clone_meta meta;
    char *xml, *back;

    (void)state;
    virt_init();
    conn = virConnectOpen("test:///default");
    assert_non_null(conn);
    spec_init(&spec, &net);
    spec.name = "vmstamp-unit";
    spec.os_id = "http://rockylinux.org/rocky/9";
    struct fleet_owner owner = { .name = "lab", .group = "web-%02d", .plan = "/srv/lab & co.yaml",
                                 .hash = "ab12", .ip = "192.168.122.10" };
    spec.fleet = &owner;
    spec.description = "lab web <tier> & \"friends\"";
    xml = domxml_build(&spec);
    dom = virDomainDefineXML(conn, xml);
    assert_non_null(dom);
    /* What virsh desc (and virt-manager) show. */
    char *desc = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_DESCRIPTION, NULL, 0);
    assert_non_null(desc);
    assert_string_equal(desc, spec.description);
    free(desc);
    back = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
    assert_int_equal(domxml_parse(back, &meta), 0);
    assert_true(meta.is_vmstamp);
    assert_string_equal(meta.template_path, spec.template_path);
    assert_string_equal(meta.os_id, "http://rockylinux.org/rocky/9");
    assert_string_equal(meta.macs[0], "52:54:00:aa:bb:cc");
    /* Ownership and what drift is judged on, as libvirt stores them. */
    assert_string_equal(meta.fleet, "lab");
    assert_string_equal(meta.fleet_group, "web-%02d");
    assert_string_equal(meta.fleet_plan, "/srv/lab & co.yaml");
    assert_string_equal(meta.fleet_hash, "ab12");
    assert_string_equal(meta.fleet_ip, "192.168.122.10");
    assert_int_equal(meta.memory_kib, spec.memory_kib);
    assert_int_equal(meta.vcpus, spec.vcpus);
    assert_string_equal(meta.net_type, "network");
    assert_string_equal(meta.net_source, "default");
    clone_meta_release(&meta);
    free(back);
    free(xml);
    assert_int_equal(virDomainUndefine(dom), 0);
    virDomainFree(dom);
    virConnectClose(conn);
}

/* A clone on an LVM logical volume: a raw block disk, accepted by libvirt,
 * its /dev path recorded so rm finds it. */
static void test_block_disk(void **state)
{
    struct netspec net = { NET_NETWORK, (char *)"default" };
    struct domain_spec spec;
    struct clone_meta meta;
    virConnectPtr conn;
    virDomainPtr dom;
    char *xml;

    (void)state;
    spec_init(&spec, &net);
    spec.name = "vmstamp-unit-lv";
    spec.disk_path = "/dev/vg0/web01";
    spec.disk_format = "raw";
    spec.disk_block = 1;
    xml = domxml_build(&spec);
    assert_non_null(xml);
    assert_non_null(strstr(xml, "<disk type=\"block\" device=\"disk\">"));
    assert_non_null(strstr(xml, "<driver name=\"qemu\" type=\"raw\""));
    assert_non_null(strstr(xml, "<source dev=\"/dev/vg0/web01\"/>"));
    assert_null(strstr(xml, "<source file=\"/dev/vg0/web01\"/>"));
    assert_int_equal(domxml_parse(xml, &meta), 0);
    assert_string_equal(meta.disks[0], "/dev/vg0/web01");
    clone_meta_release(&meta);
    virt_init();
    conn = virConnectOpen("test:///default");
    assert_non_null(conn);
    dom = virDomainDefineXML(conn, xml);
    assert_non_null(dom);
    char *back = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
    char *dev = xml_get(back, "/domain/devices/disk[@type='block']/source/@dev");
    assert_non_null(dev);
    assert_string_equal(dev, "/dev/vg0/web01");
    free(dev);
    free(back);
    assert_int_equal(virDomainUndefine(dom), 0);
    virDomainFree(dom);
    virConnectClose(conn);
    free(xml);
}

/* The install variant: direct kernel boot, a read-only CD-ROM that libvirt
 * must not chown, on_reboot=destroy, no clone metadata, no fixed MAC. */
static void test_install_domain(void **state)
{
    struct netspec net = { NET_USER, NULL };
    struct domain_spec spec;
    struct clone_meta meta;
    virConnectPtr conn;
    virDomainPtr dom;
    char *xml;

    (void)state;
    memset(&spec, 0, sizeof spec);
    spec.name = "inst";
    spec.virt_type = "qemu";
    spec.memory_kib = 1048576;
    spec.vcpus = 1;
    spec.disk_path = "/pool/inst.qcow2";
    spec.disk_format = "qcow2";
    spec.net = &net;
    spec.console_log = "/var/log/libvirt/qemu/inst-install.log";
    spec.kernel = "/var/tmp/k/vmlinuz";
    spec.initrd = "/var/tmp/k/initrd.ks";
    spec.cmdline = "inst.ks=file:/ks.cfg inst.stage2=hd:LABEL=A&B console=ttyS0,115200";
    spec.cdrom = "/isos/dvd.iso";
    spec.cdrom_no_relabel = 1;
    spec.on_reboot_destroy = 1;
    spec.os_id = "http://centos.org/centos/7.0";
    spec.machine = "q35";
    xml = domxml_build(&spec);
    assert_non_null(strstr(xml, "<type arch=\"x86_64\" machine=\"q35\">hvm</type>"));
    assert_non_null(xml);
    assert_non_null(strstr(xml, "<kernel>/var/tmp/k/vmlinuz</kernel>"));
    assert_non_null(strstr(xml, "<cmdline>inst.ks=file:/ks.cfg inst.stage2=hd:LABEL=A&amp;B console=ttyS0,115200</cmdline>"));
    assert_null(strstr(xml, "<boot "));
    assert_non_null(strstr(xml, "<on_reboot>destroy</on_reboot>"));
    assert_non_null(strstr(xml, "device=\"cdrom\""));
    assert_non_null(strstr(xml, "<seclabel model=\"dac\" relabel=\"no\"/>"));
    assert_non_null(strstr(xml, "<readonly/>"));
    assert_null(strstr(xml, "<mac "));
    assert_non_null(strstr(xml, "<libosinfo:libosinfo xmlns:libosinfo=\"http://libosinfo.org/xmlns/libvirt/domain/1.0\">\n"
                                "      <libosinfo:os id=\"http://centos.org/centos/7.0\"/>\n"
                                "    </libosinfo:libosinfo>"));
    assert_int_equal(domxml_parse(xml, &meta), 0);
    assert_false(meta.is_vmstamp);
    assert_string_equal(meta.os_id, "http://centos.org/centos/7.0");
    clone_meta_release(&meta);
    virt_init();
    conn = virConnectOpen("test:///default");
    assert_non_null(conn);
    dom = virDomainDefineXML(conn, xml);
    assert_non_null(dom);
    {
        char *back = virDomainGetXMLDesc(dom, VIR_DOMAIN_XML_INACTIVE);
        assert_int_equal(domxml_parse(back, &meta), 0);
        assert_string_equal(meta.os_id, "http://centos.org/centos/7.0");
        clone_meta_release(&meta);
        free(back);
    }
    assert_int_equal(virDomainUndefine(dom), 0);
    virDomainFree(dom);
    virConnectClose(conn);
    free(xml);
}

static void test_xml_get(void **state)
{
    char *s;

    (void)state;
    s = xml_get("<pool type='dir'><target><path>/var/lib/libvirt/images</path></target></pool>",
                "/pool/target/path");
    assert_string_equal(s, "/var/lib/libvirt/images");
    free(s);
    s = xml_get("<pool type='logical'/>", "/pool/@type");
    assert_string_equal(s, "logical");
    free(s);
    assert_null(xml_get("<pool/>", "/pool/@type"));
    assert_null(xml_get("<pool", "/pool"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_and_parse), cmocka_unit_test(test_kvm_and_networks),
        cmocka_unit_test(test_netspec), cmocka_unit_test(test_foreign_domain), cmocka_unit_test(test_bound_metadata),
        cmocka_unit_test(test_libvirt_accepts), cmocka_unit_test(test_xml_get),
        cmocka_unit_test(test_install_domain), cmocka_unit_test(test_block_disk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
