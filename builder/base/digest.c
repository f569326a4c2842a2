/* digest.c: see digest.h. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/digest.h"
#include "base/error.h"
#include "base/xalloc.h"

#define IO_BUF (1024 * 1024) /* file streaming buffer */

struct digest {
    enum digest_alg alg;
    EVP_MD_CTX *ctx;
};

const char *digest_name(enum digest_alg alg)
{
    return alg == DIGEST_SHA512 ? "SHA-512" : "SHA-256";
}

size_t digest_hex_len(enum digest_alg alg)
{
    return alg == DIGEST_SHA512 ? SHA512_HEX_LEN : SHA256_HEX_LEN;
}

/* Record "WHAT: <newest OpenSSL reason>" and clear OpenSSL's queue. */
static int ssl_error(const char *what, enum digest_alg alg)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;

    error("cannot %s a %s digest: %s", what, digest_name(alg), r ? r : "unknown OpenSSL error");
    ERR_clear_error();
    return -1;
}

void hex_encode(const void *bytes, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *b = bytes;

    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * len] = '\0';
}

struct digest *digest_new(enum digest_alg alg)
{
    struct digest *d = xcalloc(1, sizeof *d);

    d->alg = alg;
    d->ctx = EVP_MD_CTX_new();
    if (!d->ctx ||
        EVP_DigestInit_ex(d->ctx, alg == DIGEST_SHA512 ? EVP_sha512() : EVP_sha256(), NULL) != 1) {
        ssl_error("start", alg);
        digest_free(d);
        return NULL;
    }
    return d; /* caller frees with digest_free */
}

int digest_update(struct digest *d, const void *buf, size_t len)
{
    if (EVP_DigestUpdate(d->ctx, buf, len) != 1)
        return ssl_error("compute", d->alg);
    return 0;
}

int digest_finish_hex(struct digest *d, char *out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;

    if (EVP_DigestFinal_ex(d->ctx, md, &mdlen) != 1 || 2 * (size_t)mdlen != digest_hex_len(d->alg))
        return ssl_error("finish", d->alg);
    hex_encode(md, mdlen, out);
    return 0;
}

void digest_free(struct digest *d)
{
    if (!d)
        return;
    EVP_MD_CTX_free(d->ctx);
    free(d);
}

int digest_buffer_hex(enum digest_alg alg, const void *buf, size_t len, char *out)
{
    CLEANUP_DIGEST struct digest *d = digest_new(alg);

    if (!d || digest_update(d, buf, len) < 0)
        return -1;
    return digest_finish_hex(d, out);
}

int digest_file_hex(enum digest_alg alg, const char *path, char *out, uint64_t *size)
{
    CLEANUP_CLOSE int fd = open(path, O_RDONLY | O_CLOEXEC);
    CLEANUP_FREE unsigned char *buf = NULL;
    CLEANUP_DIGEST struct digest *d = NULL;
    uint64_t total = 0;

    if (fd < 0)
        return error("cannot open '%s' to checksum it: %s", path, strerror(errno));
    buf = xmalloc(IO_BUF);
    if (!(d = digest_new(alg)))
        return -1;
    for (;;) {
        ssize_t n = read(fd, buf, IO_BUF);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return error("cannot read '%s': %s", path, strerror(errno));
        if (n == 0)
            break;
        if (digest_update(d, buf, (size_t)n) < 0)
            return -1;
        total += (uint64_t)n;
    }
    if (digest_finish_hex(d, out) < 0)
        return -1;
    if (size)
        *size = total;
    return 0;
}

int sha256_file(const char *path, char out[65])
{
    return digest_file_hex(DIGEST_SHA256, path, out, NULL);
}

int sha512_file(const char *path, char out[129], uint64_t *size)
{
    return digest_file_hex(DIGEST_SHA512, path, out, size);
}
