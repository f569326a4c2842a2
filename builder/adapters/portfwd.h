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

/* Who added each forward: a root-only record per host port,
 * PORTFWD_RECORD_DIR/PROTO-PORT ("UUID ADDRESS GUESTPORT DOMAIN"), written
 * with the rules and removed with them; /run outlives a libvirt daemon's
 * restart and goes with the rules at a reboot. A forward is owned by the
 * domain UUID that added it, and only that UUID's removal takes it away:
 * a copy of a clone (virt-clone, virsh dumpxml | define: another UUID, the
 * same metadata) never removes the original's. */
#define PORTFWD_RECORD_DIR "/run/vmstamp/forward"

/* Add the rules of DOMAIN's forwards F[0..N) (each with its address), as
 * owned by UUID. Adding what UUID has already is a no-op. -1 (recorded,
 * naming the host port) when one cannot be added, e.g. a host port another
 * domain has. */
int portfwd_add(const char *domain, const char *uuid, const struct port_forward *f, size_t n);
/* Remove those of F[0..N) that UUID added (what the records say it added,
 * whatever F says of addresses); the others are left to their owners.
 * -1 (recorded) when a command fails. */
int portfwd_remove(const char *domain, const char *uuid, const struct port_forward *f, size_t n);
/* Remove every forward UUID added (the hook's stopped: the metadata of a
 * running domain may have been changed since its start). */
int portfwd_remove_owned(const char *domain, const char *uuid);
/* The clone with UUID is gone (rm, fleet destroy): every forward it added
 * and root's grant for it, whatever its metadata lists now, so no later
 * domain defined with that UUID finds them. */
int portfwd_forget(const char *domain, const char *uuid);

/* Root's grant of the low and forced ports of the clone with UUID:
 * PORTFWD_GRANT_DIR/UUID (root-only, forward_grant_format), written by
 * vmstamp when it defines the clone, removed with its rules by
 * portfwd_remove (rm, fleet destroy, a rolled-back clone run). */
#define PORTFWD_GRANT_DIR "/var/lib/vmstamp/forwards"
/* Its path for UUID (36 characters of hex digits and dashes), or NULL
 * (recorded) for anything else. Caller frees. */
char *portfwd_grant_path(const char *uuid);
/* Write the grant of F[0..N) for UUID (nothing when no forward is flagged). */
int portfwd_grant(const char *uuid, const struct port_forward *f, size_t n);
/* Clear in F[0..N) the flags UUID's grant does not give (all of them
 * without a grant): what the hook may honour. */
int portfwd_granted(const char *uuid, struct port_forward *f, size_t n);

/* The ports this host listens on (/proc/net/tcp, tcp6, udp, udp6 of this
 * network namespace). */
int portfwd_listening(struct forward_listening *l);
/* Whether BRIDGE is an interface of this host with the IPv4 address
 * ADDRESS (host byte order): -1 (recorded, naming NETWORK) if not. */
int portfwd_gateway_on_host(const char *network, const char *bridge, uint32_t address);
/* The running libvirt network NAME as the local daemon keeps it
 * (/run/libvirt/network/NAME.xml, written by libvirt as root), its gateway
 * checked to be on this host: for the hook, which must not call libvirt. */
int portfwd_network(const char *name, struct forward_net *net);

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
