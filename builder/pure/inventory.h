/* inventory.h: a fleet as Ansible and ssh see it (pure, unit-tested).
 *
 * `vmstamp fleet inventory PLAN` writes an Ansible inventory: one group per
 * plan group (named after its name pattern: "web-%02d" -> web), one per
 * libvirt host the clones are on (host_NAME), each clone with ansible_host
 * (its address: seen, else planned; none without one), and in all's vars
 * ansible_user and ansible_ssh_common_args pointing ssh at the fleet's
 * known_hosts file with strict host key checking, so ssh trusts exactly
 * the host keys vmstamp made. `fleet ssh-config PLAN` writes the same as
 * ssh_config Host blocks, to Include from ~/.ssh/config. */
#ifndef VMSTAMP_INVENTORY_H
#define VMSTAMP_INVENTORY_H

#include <stddef.h>

struct inventory_host {
    const char *name;    /* the clone (domain name) */
    const char *group;   /* its plan group's name pattern */
    const char *host;    /* the libvirt host it is on (the plan's name) */
    const char *address; /* NULL or "": none known */
};

enum inventory_format { INVENTORY_YAML, INVENTORY_INI, INVENTORY_JSON };

/* "yaml", "ini" or "json" -> *F; -1 (recorded) otherwise. */
int inventory_format_parse(const char *s, enum inventory_format *f);
/* An Ansible group name from a plan group's name pattern or a host name:
 * letters, digits and _ (others become _), the printf conversion and what
 * joins it dropped ("web-%02d" -> web, "db%d.lab" -> db_lab), never
 * starting with a digit. Caller frees. */
char *inventory_group_name(const char *pattern, const char *prefix);
/* The inventory of H[0..N) in FORMAT; USER: ansible_user; KNOWN_HOSTS: the
 * fleet's file. Caller frees. */
char *inventory_render(const struct inventory_host *h, size_t n, enum inventory_format format, const char *user,
                       const char *known_hosts);
/* ssh_config Host blocks of H[0..N) (those without an address are left
 * out). Caller frees. */
char *ssh_config_render(const struct inventory_host *h, size_t n, const char *user, const char *known_hosts);

#endif
