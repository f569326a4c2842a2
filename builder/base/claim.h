/* claim.h: names and MACs reserved across processes before any work.
 *
 * A claim is a file /run/vmstamp/claims/<scope>/<kind>:<value> holding the
 * owner's run id ("<pid>-<start>"), made with an exclusive create (link of
 * a complete temporary file), so two runs can never both hold one. A claim
 * whose owner is dead is stale and is taken over. Scopes: a libvirt URI for
 * domain names and MACs, a pool directory for volumes, a store for
 * template names. */
#ifndef VMSTAMP_CLAIM_H
#define VMSTAMP_CLAIM_H

#include <sys/types.h>

#define CLAIM_ROOT "/run/vmstamp/claims"

struct claims; /* the claims one run holds */

struct claims *claims_new(void);
/* Claim KIND:VALUE in SCOPE. 0: now ours (or already ours); -1: held by a
 * live run (its pid in *HOLDER, nothing recorded, so the caller names the
 * thing) or an error (recorded, *HOLDER 0). */
int claim(struct claims *c, const char *scope, const char *kind, const char *value, pid_t *holder);
/* Give one claim back early (e.g. a random MAC that was taken). */
void claim_release(struct claims *c, const char *scope, const char *kind, const char *value);
/* Give every claim back and free C (NULL is fine). */
void claims_free(struct claims *c);
/* Remove claims whose owners are dead; returns how many. */
int claims_sweep_stale(void);

#endif
