/* digest.h: SHA-256 and SHA-512 of files and buffers (OpenSSL EVP), as
 * lowercase hex. The one place vmstamp computes a checksum. */
#ifndef VMSTAMP_DIGEST_H
#define VMSTAMP_DIGEST_H

#include <stddef.h>
#include <stdint.h>

enum digest_alg { DIGEST_SHA256, DIGEST_SHA512 };

/* Hex digits of each (the buffer needs one more for the NUL). */
#define SHA256_HEX_LEN 64
#define SHA512_HEX_LEN 128
#define DIGEST_HEX_MAX (SHA512_HEX_LEN + 1) /* a buffer any of them fits */

/* "SHA-256" or "SHA-512", for messages. */
const char *digest_name(enum digest_alg alg);
/* Hex digits ALG produces (64 or 128). */
size_t digest_hex_len(enum digest_alg alg);

/* A streaming digest: new, update any number of times, finish once.
 * Each returns -1/NULL with an error recorded on failure. */
struct digest;
struct digest *digest_new(enum digest_alg alg);
int digest_update(struct digest *d, const void *buf, size_t len);
/* The digest as lowercase hex in OUT (digest_hex_len + 1 bytes). */
int digest_finish_hex(struct digest *d, char *out);
void digest_free(struct digest *d); /* accepts NULL */

static inline void cleanup_digest(struct digest **d)
{
    digest_free(*d);
}
#define CLEANUP_DIGEST __attribute__((cleanup(cleanup_digest)))

/* The digest of LEN bytes at BUF, as hex in OUT. */
int digest_buffer_hex(enum digest_alg alg, const void *buf, size_t len, char *out);
/* The digest of the file PATH (streamed), as hex in OUT; its size in *SIZE
 * when SIZE is not NULL. Errors name PATH. */
int digest_file_hex(enum digest_alg alg, const char *path, char *out, uint64_t *size);

/* The two used everywhere: */
int sha256_file(const char *path, char out[65]);
int sha512_file(const char *path, char out[129], uint64_t *size);

/* LEN bytes as 2*LEN lowercase hex digits and a NUL in OUT. */
void hex_encode(const void *bytes, size_t len, char *out);

#endif
