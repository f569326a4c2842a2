/* dac.h: what decides whether qemu, run by libvirt as its own user, can
 * open a path (pure, unit-tested; the check itself is adapters/perms.c).
 *
 * libvirt's qemu driver runs each emulator as the user and group of the
 * host capabilities' DAC security model (<secmodel><model>dac</model>
 * <baselabel type='kvm'>+64055:+64055</baselabel>), as virt-install reads
 * them. With dynamic ownership (qemu.conf's default) libvirt hands the
 * files a domain opens (disks and their backing chains, the CD-ROM, the
 * kernel and initrd) to that user when it starts, but not the directories
 * above them: a home directory or a mktemp -d directory (mode 0700) stops
 * qemu with "Permission denied" only once the domain starts. */
#ifndef VMSTAMP_DAC_H
#define VMSTAMP_DAC_H

#include <sys/types.h>

/* The DAC base label for VIRT_TYPE ("kvm", "qemu") in the host
 * capabilities XML CAPS: 0 with *UID and *GID set; 1 when there is none
 * (no DAC model, as for a session daemon, or no label for that type);
 * -1 when it does not parse (error recorded). */
int dac_label_from_caps(const char *caps, const char *virt_type, uid_t *uid, gid_t *gid);

/* "+64055:+64055" -> 64055, 64055 (libvirt's numeric form). 0, or -1 with
 * an error recorded. */
int dac_parse_label(const char *label, uid_t *uid, gid_t *gid);

/* The directories a process searches to open the absolute PATH, from the
 * top: "/", "/a", "/a/b" for "/a/b/f" (repeated and trailing slashes,
 * "." and ".." are taken as they come: give a real path). NULL-terminated,
 * caller frees (strv); NULL for a relative path. */
char **dac_search_dirs(const char *path);

/* Whether qemu.conf text CONF leaves dynamic_ownership on (its default):
 * 1, or 0 for "dynamic_ownership = 0". NULL (no file): 1. */
int dac_dynamic_ownership(const char *conf);

/* Whether a connection URI's files are this machine's, so the check can
 * be made here: no host, no remote transport, no socket of another
 * daemon (which may live in another mount namespace). */
int dac_uri_is_local(const char *uri);

#endif
