/* util.h: small pure helpers (unit-tested). */
#ifndef VMSTAMP_UTIL_H
#define VMSTAMP_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* read_file and mkdir_p moved to base/fileio.h; included for the callers
 * that still expect them from here (include "base/fileio.h" instead). */
#include "base/fileio.h"

/* "20G", "512M", "1.5T", "1048576" -> bytes (K/M/G/T are powers of 1024). */
int parse_size(const char *s, uint64_t *bytes);
/* RFC 1123 host name (labels of [A-Za-z0-9-], not starting/ending with '-',
 * each <= 63, total <= 253). A FQDN is accepted. */
int valid_hostname(const char *s);
/* A libvirt domain name vmstamp accepts: 1..64 of [A-Za-z0-9._-], not
 * starting with '.' or '-'. Names with '<', '&', '\'', '/' are refused. */
int valid_domain_name(const char *s);
/* What is wrong with S as a domain name / an RFC 1123 host name, as a short
 * phrase for `error("invalid clone name '%s': %s", s, problem)`: "is empty",
 * "starts with '-'", "has character '<'", "is 64 characters long: a host
 * name label has at most 63"...; NULL if nothing. The phrase may live in a
 * per-thread buffer that the next call overwrites. */
const char *domain_name_problem(const char *s);
const char *hostname_problem(const char *s);
/* "52:54:00:ab:cd:ef" (either case): 0 and lowercase copy in out[18]. */
int parse_mac(const char *s, char out[18]);
/* IPv4 dotted quad -> "52:54:" + hex octets. */
int mac_from_ipv4(const char *ip, char out[18]);
/* Random MAC in 52:54:00 (uses OpenSSL RAND_bytes). */
int random_mac(char out[18]);
/* 32 lowercase hex digits, systemd machine-id format. */
int random_machine_id(char out[33]);
/* The LastUsableLBA of the GPT header HDR (LEN bytes read at LBA 1 of the
 * disk, at least 92): what a partition may end at. Not the disk's size
 * minus 34: sfdisk writes first-lba 2048, and sgdisk -e then keeps the
 * last usable LBA as far from the end (disk size - 2048). -1 (recorded)
 * when HDR is not a GPT header. */
int gpt_last_usable_lba(const unsigned char *hdr, size_t len, uint64_t *lba);
/* Random v4 UUID, dashed (8-4-4-4-12): a domain's <uuid>. */
int random_uuid(char out[37]);
/* S as one shell word: itself when it needs no quoting, else in single
 * quotes (a ' inside as '\''), so a command vmstamp prints can be pasted.
 * Caller frees. */
char *shell_quote(const char *s);
/* Expand a --name-pattern with one printf integer conversion (%d, %02d, %03d...;
 * a width of at most 64). Returns NULL (and records an error) for a pattern
 * without exactly one. */
char *expand_name_pattern(const char *pattern, int n);

/* libguestfs's name for the INDEX-th drive added (from 0): "/dev/sda" ..
 * "/dev/sdz", "/dev/sdaa" .. (its documented naming; the daemon maps it to
 * the kernel's). OUT holds at least 16 bytes. */
void drive_device_name(size_t index, char out[16]);
/* "1.5 GiB"-style rendering into buf. */
const char *human_size(uint64_t bytes, char *buf, size_t len);

/* --memory: a bare number is MiB (as in virt-install), else a size; -> KiB. */
int parse_memory(const char *s, uint64_t *kib);
/* The first line of a secret file; refused if group/world-readable or empty.
 * Caller frees (and wipes). */
char *read_password_file(const char *path);
/* SHA-512 crypt hash ($6$, salt from crypt_gensalt) of PASSWORD; caller frees. */
char *hash_password(const char *password);

#endif
