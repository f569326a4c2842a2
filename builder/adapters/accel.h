/* accel.h: decide between KVM and TCG by booting a probe kernel.
 *
 * /dev/kvm existing is not enough: under broken nested virtualization a KVM
 * guest hangs. The probe boots the host's kernel under KVM with no root
 * device; a working KVM reaches the "Kernel panic" line in a second or two,
 * a broken one hangs and is killed after ACCEL_PROBE_TIMEOUT seconds. The
 * verdict is cached per host boot in ACCEL_CACHE. */
#ifndef VMSTAMP_ACCEL_H
#define VMSTAMP_ACCEL_H

enum accel { ACCEL_AUTO, ACCEL_KVM, ACCEL_TCG };

#define ACCEL_PROBE_TIMEOUT 20
#define ACCEL_CACHE "/run/vmstamp/accel"

int accel_parse(const char *s, enum accel *out);
const char *accel_name(enum accel a);          /* "kvm", "tcg" */
const char *accel_domain_type(enum accel a);   /* "kvm", "qemu" */

/* The global choice (--accel or $VMSTAMP_ACCEL), ACCEL_AUTO if none. */
extern enum accel accel_requested;

/* Resolve ACCEL_AUTO: cached verdict, else run the probe. Never fails: a
 * host where KVM cannot be shown to work gets TCG. WHY (optional) receives a
 * one-line reason; caller frees. */
enum accel accel_decide(char **why);
/* Run the probe now (doctor does), update the cache. */
enum accel accel_probe(char **why);

#endif
