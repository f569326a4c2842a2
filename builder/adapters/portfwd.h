/* portfwd.h: port forward rules on this host, and vmstamp's libvirt hook.
 *
 * The rules are written by pure/forward.c and run here with nft (or
 * iptables where nft is missing); see forward.h for what they are.
 *
 * The hook: /etc/libvirt/hooks/qemu.d/vmstamp, a small shell script that
 * runs `vmstamp hook qemu DOMAIN OP SUBOP EXTRA` (the domain XML on stdin)
 * for start, stopped and reconnect. libvirt (6.5 and later) runs every
 * executable in hooks/qemu.d after hooks/qemu, so a hook the host already
 * has is kept and still called: vmstamp never writes hooks/qemu. libvirt
 * looks for hook scripts when it starts and when it reloads (SIGHUP): a
 * hook made where none was is announced to the daemon with a SIGHUP. */
#ifndef VMSTAMP_PORTFWD_H
#define VMSTAMP_PORTFWD_H

#include <stddef.h>

#include "pure/forward.h"

#define PORTFWD_HOOK_DIR "/etc/libvirt/hooks/qemu.d"
#define PORTFWD_HOOK PORTFWD_HOOK_DIR "/vmstamp"

/* Add the rules of DOMAIN's forwards F[0..N) (each with its address).
 * Adding what is there already is a no-op. -1 (recorded, naming the host
 * port) when one cannot be added, e.g. a host port another guest has. */
int portfwd_add(const char *domain, const struct port_forward *f, size_t n);
/* Remove them; rules that are not there are fine. A forward whose host
 * port now goes to another guest is left to that guest. -1 (recorded)
 * when a command fails otherwise. */
int portfwd_remove(const char *domain, const struct port_forward *f, size_t n);

/* The hook script that runs VMSTAMP (an absolute path). Caller frees. */
char *portfwd_hook_script(const char *vmstamp);
/* Make PORTFWD_HOOK run this program (/proc/self/exe): written if missing
 * or different (atomically, mode 0755). *CREATED: 1 if there was none. */
int portfwd_hook_install(int *created);
/* Tell the libvirt daemon behind the local socket SOCKET (its pid from
 * SO_PEERCRED) to look for hooks again: SIGHUP, as `systemctl reload
 * libvirtd` does. */
int portfwd_daemon_reload(const char *socket_path);

#endif
