/* bundle-key.h: the Ed25519 pair the bundle seeds (tests/fuzz/corpus/bundle/)
 * are signed with (make-bundle-seeds) and fuzz-bundle trusts, so a seed's
 * signature verifies and the fuzzer reaches the checks after it. A test
 * key, public on purpose: nothing else trusts it. */
#ifndef VMSTAMP_FUZZ_BUNDLE_KEY_H
#define VMSTAMP_FUZZ_BUNDLE_KEY_H

static const char fuzz_bundle_private_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIKQTnk0uzBukvSiszCmTO2zFVTGjXtE0PX0SyZ5wjcEp\n"
    "-----END PRIVATE KEY-----\n";

static const char fuzz_bundle_public_pem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEAbRFB/RVXZLMLaaxfXkWODhty8OFj0t8ljFTsL8arsoo=\n"
    "-----END PUBLIC KEY-----\n";

#endif
