/* Unit tests: base/digest.c (SHA-256/SHA-512 known answers, FIPS 180-2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/cleanup.h"
#include "base/digest.h"
#include "base/error.h"
#include "base/fileio.h"

static const struct {
    enum digest_alg alg;
    const char *in;
    const char *hex;
} vectors[] = {
    { DIGEST_SHA256, "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
    { DIGEST_SHA256, "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
    { DIGEST_SHA256, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
    { DIGEST_SHA512, "", "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
                         "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e" },
    { DIGEST_SHA512, "abc", "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                            "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f" },
};

/* One million 'a': long enough to stream in several reads of a file. */
#define MILLION_A_SHA256 "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
#define MILLION_A_SHA512 "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb" \
                         "de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b"

static void test_buffer_vectors(void **state)
{
    char out[DIGEST_HEX_MAX];

    (void)state;
    for (size_t i = 0; i < sizeof vectors / sizeof *vectors; i++) {
        memset(out, 'x', sizeof out);
        assert_int_equal(digest_buffer_hex(vectors[i].alg, vectors[i].in, strlen(vectors[i].in), out), 0);
        assert_string_equal(out, vectors[i].hex);
        assert_int_equal(strlen(out), digest_hex_len(vectors[i].alg));
    }
}

static void test_streaming(void **state)
{
    CLEANUP_DIGEST struct digest *d = digest_new(DIGEST_SHA256);
    char out[SHA256_HEX_LEN + 1];

    (void)state;
    assert_non_null(d);
    /* "abc" in three updates is the digest of "abc". */
    assert_int_equal(digest_update(d, "a", 1), 0);
    assert_int_equal(digest_update(d, "", 0), 0);
    assert_int_equal(digest_update(d, "bc", 2), 0);
    assert_int_equal(digest_finish_hex(d, out), 0);
    assert_string_equal(out, vectors[1].hex);
}

static void test_file(void **state)
{
    char dir[] = "/tmp/test-digest-XXXXXX", path[4200];
    char out[DIGEST_HEX_MAX];
    CLEANUP_FREE char *big = malloc(1000000);
    uint64_t size = 0;

    (void)state;
    assert_non_null(big);
    memset(big, 'a', 1000000);
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/a", dir);
    assert_int_equal(write_file_atomic(path, big, 1000000, 0644), 0);
    assert_int_equal(sha256_file(path, out), 0);
    assert_string_equal(out, MILLION_A_SHA256);
    assert_int_equal(sha512_file(path, out, &size), 0);
    assert_string_equal(out, MILLION_A_SHA512);
    assert_int_equal(size, 1000000);
    assert_int_equal(digest_buffer_hex(DIGEST_SHA512, big, 1000000, out), 0);
    assert_string_equal(out, MILLION_A_SHA512);

    assert_int_equal(write_file_atomic(path, "", 0, 0644), 0);
    assert_int_equal(sha512_file(path, out, &size), 0);
    assert_string_equal(out, vectors[3].hex);
    assert_int_equal(size, 0);

    unlink(path);
    assert_int_equal(sha256_file(path, out), -1);
    assert_non_null(strstr(error_message(), path));
    assert_non_null(strstr(error_message(), "cannot open"));
    error_clear();
    assert_int_equal(sha256_file(dir, out), -1); /* a directory does not read */
    assert_non_null(strstr(error_message(), "cannot read"));
    error_clear();
    rmdir(dir);
}

static void test_hex(void **state)
{
    const unsigned char bytes[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
    char out[2 * sizeof bytes + 1];

    (void)state;
    hex_encode(bytes, sizeof bytes, out);
    assert_string_equal(out, "00017f80abff");
    hex_encode(bytes, 0, out);
    assert_string_equal(out, "");
    assert_string_equal(digest_name(DIGEST_SHA256), "SHA-256");
    assert_string_equal(digest_name(DIGEST_SHA512), "SHA-512");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buffer_vectors),
        cmocka_unit_test(test_streaming),
        cmocka_unit_test(test_file),
        cmocka_unit_test(test_hex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
