/* edit.h: pure text edits of guest configuration files (unit-tested).
 * Each returns a new string (caller frees), or NULL when nothing changed. */
#ifndef VMSTAMP_EDIT_H
#define VMSTAMP_EDIT_H

/* Replace every occurrence of MAC OLD (any case) by NEW, keeping the case
 * style of each occurrence (ifcfg files often use upper case). */
char *edit_replace_mac(const char *text, const char *old_mac, const char *new_mac);
/* The first MAC address on a line that pins a NIC (HWADDR=, mac-address=,
 * macaddress:, MACAddress=, ATTR{address}==, hwaddress ether); lowercase into
 * out[18]. Returns 0 if found, -1 if not. */
int edit_find_pinned_mac(const char *text, char out[18]);
/* Set VAR=value in a shell-style file (sysconfig), keeping quoting; only
 * lines that set VAR are changed. */
char *edit_shell_var(const char *text, const char *var, const char *value);
/* /etc/hosts: replace whole-word OLD_FQDN and its short name by the new
 * ones; if neither occurs and APPEND_LOOPBACK, append "127.0.1.1 fqdn short". */
char *edit_hosts(const char *text, const char *old_fqdn, const char *new_fqdn, int append_loopback);
/* /etc/shadow: set USER's password field to HASH. */
char *edit_shadow(const char *text, const char *user, const char *hash);
/* The value of KEY= in an os-release style file (quotes removed); caller frees. */
char *edit_os_release_get(const char *text, const char *key);

/* KEY=value files, plain (sysconfig, ifcfg: SECTION NULL) or INI with
 * [sections] (NetworkManager keyfiles, systemd units; blanks around '='
 * allowed). The value of KEY in SECTION, quotes removed; the last line
 * setting it counts. NULL if none. Caller frees. */
char *edit_kv_get(const char *text, const char *section, const char *key);
/* In SECTION (NULL: the whole file), the lines setting a key named in DROP
 * go ("KEY" exactly; "KEY#": KEY then digits, as DNS1, DNS2), and the lines
 * SET ("KEY=value\n"..., may be "") are put where the first of them was,
 * else at the end of the section (before its trailing blank and comment
 * lines); a missing SECTION is appended with SET. */
char *edit_kv_replace(const char *text, const char *section, const char *const *drop, const char *set);

/* A known_hosts text without the lines of the NAMES (N of them): lines
 * "NAME,HOST,IP TYPE KEY" or "NAME TYPE KEY" (a fleet's). Empty lines go
 * too. Caller frees. */
char *edit_known_hosts_drop(const char *text, char *const *names, size_t n);

#endif

/* What changes from the template to one clone. */
struct clone_edit {
    const char *old_hostname; /* template's, may be NULL */
    const char *new_hostname;
    const char *old_mac;      /* template's pinned MAC, "" if none */
    const char *new_mac;
    int debian_like;          /* add 127.0.1.1 to /etc/hosts if the old name is absent */
};

/* The new contents of guest file PATH (current TEXT) for a clone, or NULL if
 * unchanged. Knows /etc/hostname, /etc/HOSTNAME, /etc/mailname,
 * /etc/sysconfig/network, /etc/hosts, ifcfg-* and every file that pins a MAC. */
char *edit_guest_file(const char *path, const char *text, const struct clone_edit *e);

/* NetworkManager keyfiles: the connection's uuid= (its [connection]
 * section), into OUT; -1 when it has none. Every clone gets new ones, each
 * reference to an old one (master=, controller=, a port's own uuid=)
 * following it: edit_replace_uuids. */
int edit_keyfile_uuid(const char *text, char out[37]);
/* TEXT with each of OLDS[0..N) (a UUID, whole, any case) replaced by
 * NEWS[i]; NULL if none was there. Caller frees. */
char *edit_replace_uuids(const char *text, char (*olds)[37], char (*news)[37], size_t n);

/* Drop lines whose first non-blank text starts with one of PREFIXES. */
char *edit_drop_lines(const char *text, const char *const *prefixes);
/* netplan: a NIC matched by `macaddress:` is matched by the name it is
 * given (`set-name:`) instead; the set-name line goes. */
char *edit_netplan_unpin(const char *text);
/* Users of a passwd file with uid >= 1000 other than nobody (65534); NULL-terminated. */
char **edit_normal_users(const char *passwd);
/* passwd/shadow/group/gshadow: drop the USERS' lines and their group memberships. */
char *edit_remove_users(const char *text, char *const *users);
