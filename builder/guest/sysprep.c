/* sysprep.c: see sysprep.h. The globs follow virt-sysprep's operations;
 * vmstamp adds what virt-sysprep misses (ANCHORS.md): machine-id left empty,
 * netplan/networkd/interfaces/udev unpinned from the template's MAC,
 * cloud-init state, /etc/hosts reset, SELinux relabel. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "pure/edit.h"
#include "base/error.h"
#include "guest/sysprep.h"
#include "adapters/gfs.h"
#include "base/xalloc.h"

#define GLOBS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static int gerr(guestfs_h *g, const char *what)
{
    CLEANUP_FREE char *w = xasprintf("sysprep: %s", what);

    return gfs_error(g, w);
}

/* A call about WHAT failed where a failure means "nothing there": 0, unless
 * the appliance died (then the failure is recorded and -1: a dead appliance
 * is no empty guest, and what it had not written is lost). */
static int tolerated(guestfs_h *g, const char *what)
{
    return gfs_alive(g) ? 0 : gerr(g, what);
}

/* 1 if PATH is a regular file, 0 if not; -1 if the appliance died. */
static int is_regular(guestfs_h *g, const char *path)
{
    int r = guestfs_is_file_opts(g, path, GUESTFS_IS_FILE_OPTS_FOLLOWSYMLINKS, 0, -1);

    return r < 0 ? tolerated(g, path) : r > 0;
}

/* *TEXT: the regular file PATH's contents (caller frees), NULL if it is
 * none or cannot be read; -1 if the appliance died. */
static int read_guest(guestfs_h *g, const char *path, char **text)
{
    size_t sz;
    int r = is_regular(g, path);

    *text = NULL;
    if (r <= 0)
        return r;
    *text = guestfs_read_file(g, path, &sz);
    return *text ? 0 : tolerated(g, path);
}

static int write_if_changed(struct sysprep_ctx *c, const char *path, char *text)
{
    int r = 0;

    if (!text)
        return 0;
    if (guestfs_write(c->g, path, text, strlen(text)) == -1)
        r = gerr(c->g, path);
    free(text);
    return r;
}

/* Apply EDIT to every regular file matching GLOB. */
static int edit_glob(struct sysprep_ctx *c, const char *glob, char *(*edit)(const char *))
{
    CLEANUP_STRV char **files = guestfs_glob_expand(c->g, glob);

    if (!files)
        return tolerated(c->g, glob);
    for (size_t i = 0; files[i]; i++) {
        CLEANUP_FREE char *text = NULL;
        if (read_guest(c->g, files[i], &text) < 0)
            return -1;
        if (text && write_if_changed(c, files[i], edit(text)) < 0)
            return -1;
    }
    return 0;
}

static char *drop_hostname_vars(const char *t)
{
    return edit_drop_lines(t, GLOBS("HOSTNAME=", "DHCP_HOSTNAME="));
}

static char *drop_hwaddr(const char *t)
{
    return edit_drop_lines(t, GLOBS("HWADDR="));
}

static char *drop_nm_mac(const char *t)
{
    return edit_drop_lines(t, GLOBS("mac-address=", "cloned-mac-address="));
}

static char *drop_hwaddress(const char *t)
{
    return edit_drop_lines(t, GLOBS("hwaddress "));
}

static int op_machine_id(struct sysprep_ctx *c)
{
    /* Empty, not removed: systemd makes a new one at first boot, and
     * vmstamp clone writes a fresh one into every clone. */
    int r = is_regular(c->g, "/etc/machine-id");

    if (r < 0)
        return -1;
    if (r && guestfs_truncate(c->g, "/etc/machine-id") == -1)
        return gerr(c->g, "/etc/machine-id");
    if ((r = is_regular(c->g, "/var/lib/dbus/machine-id")) < 0)
        return -1;
    if (r) {
        if (guestfs_rm(c->g, "/var/lib/dbus/machine-id") == -1)
            return gerr(c->g, "/var/lib/dbus/machine-id");
        c->removed++;
    }
    return 0;
}

static int op_net_hostname(struct sysprep_ctx *c)
{
    return edit_glob(c, "/etc/sysconfig/network-scripts/ifcfg-*", drop_hostname_vars);
}

static int op_net_hwaddr(struct sysprep_ctx *c)
{
    if (edit_glob(c, "/etc/sysconfig/network-scripts/ifcfg-*", drop_hwaddr) < 0 ||
        edit_glob(c, "/etc/NetworkManager/system-connections/*", drop_nm_mac) < 0 ||
        edit_glob(c, "/etc/network/interfaces", drop_hwaddress) < 0 ||
        edit_glob(c, "/etc/network/interfaces.d/*", drop_hwaddress) < 0 ||
        edit_glob(c, "/etc/netplan/*.yaml", edit_netplan_unpin) < 0)
        return -1;
    /* A networkd .link file that matches a MAC only names that NIC: remove it. */
    CLEANUP_STRV char **links = guestfs_glob_expand(c->g, "/etc/systemd/network/*.link");
    if (!links)
        return tolerated(c->g, "/etc/systemd/network/*.link");
    for (size_t i = 0; links[i]; i++) {
        CLEANUP_FREE char *text = NULL;
        char mac[18];
        if (read_guest(c->g, links[i], &text) < 0)
            return -1;
        if (text && edit_find_pinned_mac(text, mac) == 0) {
            if (guestfs_rm(c->g, links[i]) == -1)
                return gerr(c->g, links[i]);
            c->removed++;
        }
    }
    return 0;
}

static int op_hosts(struct sysprep_ctx *c)
{
    static const char hosts[] = "127.0.0.1   localhost localhost.localdomain localhost4 localhost4.localdomain4\n"
                                "::1         localhost localhost.localdomain localhost6 localhost6.localdomain6\n";

    int r = is_regular(c->g, "/etc/hosts");

    if (r <= 0)
        return r;
    if (guestfs_write(c->g, "/etc/hosts", hosts, strlen(hosts)) == -1)
        return gerr(c->g, "/etc/hosts");
    return 0;
}

static int op_selinux_relabel(struct sysprep_ctx *c)
{
    CLEANUP_FREE char *cfg = NULL;
    CLEANUP_FREE char *mode = NULL;

    if (read_guest(c->g, "/etc/selinux/config", &cfg) < 0)
        return -1;
    mode = cfg ? edit_os_release_get(cfg, "SELINUX") : NULL;
    if (!mode || strcmp(mode, "disabled") == 0)
        return 0;
    if (guestfs_touch(c->g, "/.autorelabel") == -1)
        return gerr(c->g, "/.autorelabel");
    return 0;
}

static int op_flag_reconfiguration(struct sysprep_ctx *c)
{
    if (guestfs_touch(c->g, "/.unconfigured") == -1)
        return gerr(c->g, "/.unconfigured");
    return 0;
}

/* New PV and VG UUIDs: clones of different templates made from one
 * install must not share them. The VGs must be inactive. */
static int op_lvm_uuids(struct sysprep_ctx *c)
{
    CLEANUP_STRV char **pvs = guestfs_pvs(c->g);

    if (!pvs || !pvs[0])
        return pvs ? 0 : tolerated(c->g, "pvs");
    if (guestfs_vg_activate_all(c->g, 0) == -1 || guestfs_pvchange_uuid_all(c->g) == -1 ||
        guestfs_vgchange_uuid_all(c->g) == -1)
        return gerr(c->g, "lvm-uuids");
    if (guestfs_vg_activate_all(c->g, 1) == -1)
        return gerr(c->g, "vg_activate_all");
    return 0;
}

static int op_user_account(struct sysprep_ctx *c)
{
    CLEANUP_FREE char *passwd = NULL;
    CLEANUP_STRV char **users = NULL;

    if (read_guest(c->g, "/etc/passwd", &passwd) < 0)
        return -1;
    if (!passwd)
        return 0;
    users = edit_normal_users(passwd);
    if (!users[0])
        return 0;
    static const char *const files[] = { "/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow", NULL };
    for (int f = 0; files[f]; f++) {
        CLEANUP_FREE char *text = NULL;
        if (read_guest(c->g, files[f], &text) < 0)
            return -1;
        if (text && write_if_changed(c, files[f], edit_remove_users(text, users)) < 0)
            return -1;
    }
    for (size_t i = 0; users[i]; i++) {
        char home[512];
        snprintf(home, sizeof home, "/home/%s", users[i]);
        int r = guestfs_is_dir(c->g, home);
        if (r < 0 && tolerated(c->g, home) < 0)
            return -1;
        if (r > 0) {
            if (guestfs_rm_rf(c->g, home) == -1)
                return gerr(c->g, home);
            c->removed++;
        }
        snprintf(home, sizeof home, "/var/spool/mail/%s", users[i]);
        if ((r = is_regular(c->g, home)) < 0)
            return -1;
        if (r && guestfs_rm(c->g, home) == -1)
            return gerr(c->g, home);
    }
    return 0;
}

const struct sysprep_op sysprep_ops[] = {
    { "abrt-data", 1, "Remove the crash data generated by ABRT",
      GLOBS("/var/spool/abrt/*", "/var/tmp/abrt/*"), NULL, NULL, 0 },
    { "backup-files", 1, "Remove editor and package backup files from /etc and /root",
      GLOBS("/etc/*~", "/etc/*/*~", "/etc/*.bak", "/etc/*/*.bak", "/etc/*.rpmsave", "/etc/*/*.rpmsave",
            "/etc/*.rpmnew", "/etc/*/*.rpmnew", "/etc/*.dpkg-old", "/etc/*/*.dpkg-old", "/etc/*.orig",
            "/etc/*/*.orig", "/etc/*.rej", "/etc/*/*.rej", "/root/*~", "/root/*.bak"), NULL, NULL, 0 },
    { "bash-history", 1, "Remove the bash history of root and users",
      GLOBS("/root/.bash_history", "/home/*/.bash_history"), NULL, NULL, 0 },
    { "blkid-tab", 1, "Remove the blkid tabs",
      GLOBS("/var/run/blkid.tab", "/var/run/blkid.tab.old", "/etc/blkid/blkid.tab", "/etc/blkid/blkid.tab.old",
            "/etc/blkid.tab", "/etc/blkid.tab.old", "/dev/.blkid.tab", "/dev/.blkid.tab.old"), NULL, NULL, 0 },
    { "ca-certificates", 0, "Remove locally added CA certificates",
      GLOBS("/etc/pki/ca-trust/source/anchors/*", "/usr/local/share/ca-certificates/*"), NULL, NULL, 0 },
    { "cloud-init-state", 1, "Remove cloud-init's instance state and logs, so it runs again on a clone",
      GLOBS("/var/lib/cloud/*", "/var/log/cloud-init*.log"), NULL, NULL, 0 },
    { "crash-data", 1, "Remove the crash data generated by kexec-tools",
      GLOBS("/var/crash/*", "/var/log/dump/*"), NULL, NULL, 0 },
    { "cron-spool", 1, "Remove user at-jobs and cron-jobs",
      GLOBS("/var/spool/cron/*", "/var/spool/atjobs/*", "/var/spool/atspool/*", "/var/spool/at/*"), NULL, NULL, 0 },
    { "dhcp-client-state", 1, "Remove DHCP client leases",
      GLOBS("/var/lib/dhclient/*", "/var/lib/dhcp/dhclient*", "/var/lib/NetworkManager/dhclient-*",
            "/var/lib/NetworkManager/internal-*", "/var/lib/NetworkManager/*.lease",
            "/var/lib/systemd/netif/leases/*"), NULL, NULL, 0 },
    { "dhcp-server-state", 1, "Remove DHCP server leases",
      GLOBS("/var/lib/dhcpd/*", "/var/lib/dhcp/dhcpd.leases*"), NULL, NULL, 0 },
    { "dovecot-data", 1, "Remove Dovecot (mail server) data",
      GLOBS("/var/lib/dovecot/*"), NULL, NULL, 0 },
    { "firewall-rules", 0, "Remove the firewall rules",
      GLOBS("/etc/sysconfig/iptables", "/etc/sysconfig/ip6tables", "/etc/firewalld/services/*",
            "/etc/firewalld/zones/*", "/etc/iptables/rules.v4", "/etc/iptables/rules.v6"), NULL, NULL, 0 },
    { "flag-reconfiguration", 0, "Flag the system for reconfiguration at first boot",
      NULL, NULL, op_flag_reconfiguration, 0 },
    { "hosts", 1, "Reset /etc/hosts to the localhost lines (the template's name goes)",
      NULL, NULL, op_hosts, 0 },
    { "ipa-client", 1, "Remove the IPA client files",
      GLOBS("/etc/ipa/ca.crt", "/etc/ipa/default.conf", "/var/lib/ipa-client/sysrestore/*",
            "/var/lib/ipa-client/pki/*"), NULL, NULL, 0 },
    { "kerberos-data", 0, "Remove Kerberos data",
      GLOBS("/var/kerberos/krb5kdc/*", "/etc/krb5.conf.d/*"), NULL, NULL, 0 },
    { "kerberos-hostkeytab", 1, "Remove the Kerberos host keytab",
      GLOBS("/etc/krb5.keytab"), NULL, NULL, 0 },
    { "logfiles", 1, "Remove log files, and the installer's kickstarts (they hold the password hash)",
      GLOBS("/var/log/*.log", "/var/log/*.log.*", "/var/log/*.gz", "/var/log/*.[0-9]", "/var/log/messages*",
            "/var/log/secure*", "/var/log/maillog*", "/var/log/spooler*", "/var/log/cron*", "/var/log/syslog*",
            "/var/log/auth.log*", "/var/log/kern.log*", "/var/log/daemon.log*", "/var/log/debug*",
            "/var/log/dmesg*", "/var/log/audit/*", "/var/log/anaconda/*", "/var/log/installer/*",
            "/var/log/apt/*", "/var/log/journal/*", "/var/log/sa/*", "/var/log/setroubleshoot/*",
            "/var/log/ntpstats/*", "/var/log/dnf*", "/var/log/yum.log*", "/var/log/hawkey.log*",
            "/var/log/Xorg.*", "/var/log/mail/*", "/var/log/samba/*",
            "/root/anaconda-ks.cfg", "/root/original-ks.cfg", "/root/anaconda-post.log",
            "/root/initial-setup-ks.cfg", "/root/install.log", "/root/install.log.syslog"),
      GLOBS("/var/log/wtmp", "/var/log/btmp", "/var/log/lastlog", "/var/log/tallylog"), NULL, 0 },
    { "lvm-system-devices", 1, "Remove the LVM devices file (it names the template's disks)",
      GLOBS("/etc/lvm/devices/system.devices"), NULL, NULL, 0 },
    { "lvm-uuids", 1, "Change the LVM PV and VG UUIDs",
      NULL, NULL, op_lvm_uuids, 1 },
    { "machine-id", 1, "Empty /etc/machine-id (never a fixed id baked into the template)",
      NULL, NULL, op_machine_id, 0 },
    { "mail-spool", 1, "Remove email from the local mail spool directory",
      GLOBS("/var/spool/mail/*", "/var/mail/*"), NULL, NULL, 0 },
    { "net-hostname", 1, "Remove HOSTNAME and DHCP_HOSTNAME from ifcfg files",
      NULL, NULL, op_net_hostname, 0 },
    { "net-hwaddr", 1, "Unpin NIC configuration from the template's MAC (ifcfg, NetworkManager, netplan, networkd, interfaces)",
      NULL, NULL, op_net_hwaddr, 0 },
    { "net-nmconn", 1, "Remove NetworkManager connection profiles",
      GLOBS("/etc/NetworkManager/system-connections/*.nmconnection"), NULL, NULL, 0 },
    { "pacct-log", 1, "Remove the process accounting log files",
      GLOBS("/var/account/pacct*", "/var/log/pacct*", "/var/log/account/pacct*"), NULL, NULL, 0 },
    { "package-manager-cache", 1, "Remove package manager caches",
      GLOBS("/var/cache/yum/*", "/var/cache/dnf/*", "/var/cache/apt/archives/*.deb",
            "/var/cache/apt/*.bin", "/var/cache/zypp/*", "/var/cache/pacman/pkg/*"), NULL, NULL, 0 },
    { "pam-data", 1, "Remove the PAM data",
      GLOBS("/var/run/console/*", "/var/run/faillock/*", "/var/run/sepermit/*"), NULL, NULL, 0 },
    { "passwd-backups", 1, "Remove /etc/passwd- and similar backup files",
      GLOBS("/etc/group-", "/etc/gshadow-", "/etc/passwd-", "/etc/shadow-", "/etc/subuid-", "/etc/subgid-"),
      NULL, NULL, 0 },
    { "puppet-data-log", 1, "Remove the data and log files of Puppet",
      GLOBS("/var/log/puppet/*", "/var/lib/puppet/*/*", "/var/lib/puppet/*"), NULL, NULL, 0 },
    { "rh-subscription-manager", 1, "Remove the RH subscription manager files",
      GLOBS("/etc/pki/consumer/*", "/etc/pki/entitlement/*"), NULL, NULL, 0 },
    { "rhn-systemid", 1, "Remove the RHN system ID",
      GLOBS("/etc/sysconfig/rhn/systemid", "/etc/sysconfig/rhn/osad-auth.conf"), NULL, NULL, 0 },
    { "rpm-db", 1, "Remove host-specific RPM database files (rebuilt by rpm)",
      GLOBS("/var/lib/rpm/__db.*"), NULL, NULL, 0 },
    { "samba-db-log", 1, "Remove the database and log files of Samba",
      GLOBS("/var/log/samba/old/*", "/var/lib/samba/*/*.tdb", "/var/lib/samba/*.tdb"), NULL, NULL, 0 },
    { "selinux-relabel", 1, "Relabel files at first boot on SELinux guests (/.autorelabel)",
      NULL, NULL, op_selinux_relabel, 0 },
    { "smolt-uuid", 1, "Remove the Smolt hardware UUID",
      GLOBS("/etc/sysconfig/hw-uuid", "/etc/smolt/uuid", "/etc/smolt/hw-uuid"), NULL, NULL, 0 },
    { "ssh-hostkeys", 1, "Remove the SSH host keys (vmstamp clone writes new ones per clone)",
      GLOBS("/etc/ssh/*_host_*"), NULL, NULL, 0 },
    { "ssh-userdir", 1, "Remove .ssh directories of root and users",
      GLOBS("/root/.ssh", "/home/*/.ssh"), NULL, NULL, 0 },
    { "sssd-db-log", 1, "Remove the database and log files of sssd",
      GLOBS("/var/log/sssd/*", "/var/lib/sss/db/*"), NULL, NULL, 0 },
    { "tmp-files", 1, "Remove temporary files",
      GLOBS("/tmp/*", "/tmp/.[!.]*", "/var/tmp/*", "/var/tmp/.[!.]*"), NULL, NULL, 0 },
    { "udev-persistent-net", 1, "Remove udev persistent net rules (they pin NIC names to MACs)",
      GLOBS("/etc/udev/rules.d/70-persistent-net.rules"), NULL, NULL, 0 },
    { "user-account", 0, "Remove user accounts (uid >= 1000, not nobody) and their homes",
      NULL, NULL, op_user_account, 0 },
    { "utmp", 1, "Remove the utmp file",
      GLOBS("/var/run/utmp", "/run/utmp"), NULL, NULL, 0 },
    { "yum-uuid", 1, "Remove the yum UUID",
      GLOBS("/var/lib/yum/uuid"), NULL, NULL, 0 },
    { "zsh-history", 1, "Remove the zsh history of root and users",
      GLOBS("/root/.zsh_history", "/home/*/.zsh_history"), NULL, NULL, 0 },
};
const size_t sysprep_nops = sizeof sysprep_ops / sizeof sysprep_ops[0];

const struct sysprep_op *sysprep_find(const char *name)
{
    for (size_t i = 0; i < sysprep_nops; i++)
        if (strcmp(sysprep_ops[i].name, name) == 0)
            return &sysprep_ops[i];
    return NULL;
}

int sysprep_select(const char *spec, int *selected)
{
    CLEANUP_FREE char *copy = strdup(spec);
    char *save = NULL;

    for (size_t i = 0; i < sysprep_nops; i++)
        selected[i] = 0;
    for (char *w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        int on = 1;
        if (*w == '-' || *w == '+') {
            on = *w == '+';
            w++;
        }
        if (strcmp(w, "defaults") == 0 || strcmp(w, "all") == 0 || strcmp(w, "none") == 0) {
            for (size_t i = 0; i < sysprep_nops; i++) {
                if (strcmp(w, "none") == 0)
                    selected[i] = 0;
                else if (strcmp(w, "all") == 0 || sysprep_ops[i].default_on)
                    selected[i] = on;
            }
            continue;
        }
        const struct sysprep_op *op = sysprep_find(w);
        if (!op)
            return error("unknown sysprep operation '%s': 'vmstamp template ops' lists them", w);
        selected[op - sysprep_ops] = on;
    }
    return 0;
}

static int remove_glob(struct sysprep_ctx *c, const char *glob, int truncate_only)
{
    CLEANUP_STRV char **paths = guestfs_glob_expand(c->g, glob);

    if (!paths)
        return gerr(c->g, glob);
    for (size_t i = 0; paths[i]; i++) {
        const char *p = paths[i];
        if (truncate_only) {
            int r = is_regular(c->g, p);
            if (r < 0)
                return -1;
            if (r && guestfs_truncate(c->g, p) == -1)
                return gerr(c->g, p);
        } else if (guestfs_rm_rf(c->g, p) == -1) {
            return gerr(c->g, p);
        }
        debug("sysprep: %s %s", truncate_only ? "emptied" : "removed", p);
        c->removed++;
    }
    return 0;
}

int sysprep_run(struct sysprep_ctx *c, const int *selected, int unmounted)
{
    for (size_t i = 0; i < sysprep_nops; i++) {
        const struct sysprep_op *op = &sysprep_ops[i];
        if (!selected[i] || op->unmounted != unmounted)
            continue;
        debug("sysprep: %s", op->name);
        for (size_t k = 0; op->remove && op->remove[k]; k++)
            if (remove_glob(c, op->remove[k], 0) < 0)
                return -1;
        for (size_t k = 0; op->truncate && op->truncate[k]; k++)
            if (remove_glob(c, op->truncate[k], 1) < 0)
                return -1;
        if (op->perform && op->perform(c) < 0)
            return error_replace("sysprep operation '%s' failed: %s", op->name,
                                 error_message() ? error_message() : "unknown error");
    }
    return 0;
}
