/* fuzz-guestfiles: text files read from a template's guest and the host,
 * as clone and sysprep edit them (pure/edit.c): the files a clone's new
 * host name and MAC go into (hostname, hosts, sysconfig, ifcfg, netplan,
 * udev rules), pinned MACs, shell and INI key=value files, os-release,
 * passwd/shadow users, known_hosts; qemu.conf's dynamic_ownership
 * (pure/dac.c); and the installer's serial console (pure/installer.c). */
#include "fuzz.h"
#include "pure/dac.h"
#include "pure/edit.h"
#include "pure/installer.h"

static const char *const guest_paths[] = {
    "/etc/hostname", "/etc/sysconfig/network", "/etc/hosts", "/etc/sysconfig/network-scripts/ifcfg-eth0",
    "/etc/netplan/50-cloud-init.yaml", "/etc/udev/rules.d/70-persistent-net.rules",
    "/etc/NetworkManager/system-connections/eth0.nmconnection",
};

static void clone_edits(const char *text)
{
    char mac[18];
    const struct clone_edit edits[] = {
        { "tpl.example.com", "web01.example.com", "52:54:00:aa:bb:cc", "52:54:00:12:34:56", 1 },
        { NULL, "web01", "", "52:54:00:12:34:56", 0 },
    };

    if (edit_find_pinned_mac(text, mac) == 0)
        FUZZ_CHECK(strlen(mac) == 17);
    for (size_t e = 0; e < sizeof edits / sizeof *edits; e++)
        for (size_t i = 0; i < sizeof guest_paths / sizeof *guest_paths; i++) {
            char *out = edit_guest_file(guest_paths[i], text, &edits[e]);
            if (out)
                FUZZ_CHECK(strcmp(out, text) != 0);
            free(out);
        }
    free(edit_replace_mac(text, "52:54:00:AA:BB:CC", "52:54:00:12:34:56"));
    free(edit_shell_var(text, "HOSTNAME", "web01"));
    free(edit_hosts(text, "tpl.example.com", "web01.example.com", 1));
    free(edit_netplan_unpin(text));
}

static void key_values(const char *text)
{
    static const char *const drop[] = { "BOOTPROTO", "IPADDR#", "DNS#", NULL };
    static const char *const prefixes[] = { "HWADDR", "UUID", NULL };

    free(edit_os_release_get(text, "ID"));
    free(edit_kv_get(text, NULL, "DEVICE"));
    free(edit_kv_get(text, "ipv4", "method"));
    free(edit_kv_replace(text, NULL, drop, "BOOTPROTO=none\nIPADDR=192.168.10.5\n"));
    free(edit_kv_replace(text, "ipv4", drop, "method=manual\n"));
    free(edit_kv_replace(text, "Network", NULL, ""));
    free(edit_drop_lines(text, prefixes));
}

static void accounts(const char *text)
{
    char **users = edit_normal_users(text);
    char *const names[] = { "web01", "db-01", NULL };

    free(edit_remove_users(text, users));
    for (size_t i = 0; users && users[i]; i++)
        free(users[i]);
    free(users);
    free(edit_shadow(text, "root", "$6$salt$hash"));
    free(edit_known_hosts_drop(text, names, 2));
}

static void host_files(const char *text, size_t size)
{
    struct console_lines c = { 0 };
    const char *tail[8];
    char *copy = strdup(text);
    int d = dac_dynamic_ownership(text);

    FUZZ_CHECK(d == 0 || d == 1);
    if (!copy)
        abort();
    /* Fed as it arrives, in two pieces; then the whole log's tail. */
    console_feed(&c, text, size / 2);
    console_feed(&c, text + size / 2, strlen(text + size / 2));
    FUZZ_CHECK(c.len < CONSOLE_LINE_MAX && memchr(c.last, '\0', sizeof c.last));
    (void)console_failure(c.last);
    (void)console_final(c.last);
    size_t n = console_tail(copy, tail, 8);
    FUZZ_CHECK(n <= 8);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);

    clone_edits(text);
    key_values(text);
    accounts(text);
    host_files(text, strlen(text));
    free(text);
    fuzz_done();
    return 0;
}
