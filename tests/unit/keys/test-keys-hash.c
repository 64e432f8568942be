/* RIPEMD-160 (the paper's vectors), HASH160, PBKDF2-HMAC-SHA512 (vectors
 * cross-checked with Python's hashlib), Base58Check. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sodium.h>
#include "core/util.h"
#include "keys/base58.h"
#include "keys/bip39.h"
#include "keys/ripemd160.h"

static void hex_of(const uint8_t *b, size_t n, char *out)
{
        hex_encode(b, n, out);
}

/* "RIPEMD-160: A Strengthened Version of RIPEMD", appendix B. */
static const struct {
        const char *msg;
        unsigned repeat;
        const char *digest;
} ripemd_vectors[] = {
    {"", 1, "9c1185a5c5e9fc54612808977ee8f548b2258d31"},
    {"a", 1, "0bdc9d2d256b3ee9daae347be6f4dc835a467ffe"},
    {"abc", 1, "8eb208f7e05d987a9b044a8e98c6b087f15a0bfc"},
    {"message digest", 1, "5d0689ef49d2fae572b881b123a85ffa21595f36"},
    {"abcdefghijklmnopqrstuvwxyz", 1, "f71c27109c692c1b56bbdceb5b9d2865b3708dbc"},
    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
     "12a053384a9c0c88e405a06c27dcf49ada62eb2b"},
    {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 1,
     "b0e20b6e3116640286ed3a87a5713079b21f5189"},
    {"1234567890", 8, "9b752e45573d4b39f4dbd3323cab82bf63326bfb"},
    {"a", 1000000, "52783243c1697bdbe16d37f97f68f08325dc1528"},
};

static void test_ripemd160_vectors(void **state)
{
        for (size_t i = 0; i < sizeof(ripemd_vectors) / sizeof(ripemd_vectors[0]); i++) {
                struct ripemd160_ctx ctx;
                uint8_t d[RIPEMD160_SIZE];
                char hex[2 * RIPEMD160_SIZE + 1];
                ripemd160_init(&ctx);
                for (unsigned k = 0; k < ripemd_vectors[i].repeat; k++)
                        ripemd160_update(&ctx, ripemd_vectors[i].msg,
                                         strlen(ripemd_vectors[i].msg));
                ripemd160_final(&ctx, d);
                hex_of(d, sizeof(d), hex);
                assert_string_equal(hex, ripemd_vectors[i].digest);
        }
}

/* Feeding the same 200 bytes in every split gives the one-shot digest:
 * catches buffering bugs at the 55/56/63/64-byte padding boundaries. */
static void test_ripemd160_splits(void **state)
{
        uint8_t msg[200], want[RIPEMD160_SIZE], got[RIPEMD160_SIZE];
        for (size_t i = 0; i < sizeof(msg); i++)
                msg[i] = (uint8_t)(i * 31 + 7);
        for (size_t len = 0; len <= sizeof(msg); len++) {
                ripemd160(msg, len, want);
                for (size_t cut = 0; cut <= len; cut += 1 + len / 16) {
                        struct ripemd160_ctx ctx;
                        ripemd160_init(&ctx);
                        ripemd160_update(&ctx, msg, cut);
                        ripemd160_update(&ctx, msg + cut, len - cut);
                        ripemd160_final(&ctx, got);
                        assert_memory_equal(got, want, sizeof(want));
                }
        }
}

static void test_hash160(void **state)
{
        /* BIP32 vector 1 master public key -> fingerprint 3442193e. */
        uint8_t pub[33], h[HASH160_SIZE];
        char hex[41];
        assert_int_equal(
            hex_decode("0339a36013301597daef41fbe593a02cc513d0b55527ec2df1050e2e8ff49c85c2", pub,
                       sizeof(pub)),
            0);
        hash160(pub, sizeof(pub), h);
        hex_of(h, sizeof(h), hex);
        assert_string_equal(hex, "3442193e1bb70916e914552172cd4e2dbc9df811");
}

static const struct {
        const char *pass, *salt;
        uint32_t rounds;
        size_t len;
        const char *dk;
} pbkdf2_vectors[] = {
    {"password", "salt", 1, 64,
     "867f70cf1ade02cff3752599a3a53dc4af34c7a669815ae5d513554e1c8cf252c02d470a285a0501bad999bfe9"
     "43c08f050235d7d68b1da55e63f73b60a57fce"},
    {"password", "salt", 2, 64,
     "e1d9c16aa681708a45f5c7c4e215ceb66e011a2e9f0040713f18aefdb866d53cf76cab2868a39b9f7840edce4f"
     "ef5a82be67335c77a6068e04112754f27ccf4e"},
    {"passwordPASSWORDpassword", "saltSALTsaltSALTsaltSALTsaltSALTsalt", 4096, 64,
     "8c0511f4c6e597c6ac6315d8f0362e225f3c501495ba23b868c005174dc4ee71115b59f9e60cd9532fa33e0f75"
     "aefe30225c583a186cd82bd4daea9724a3d3b8"},
    /* Three output blocks, the last one partial. */
    {"p", "s", 3, 150,
     "f03104b7e5cd219659352c9311245f41ff1101f5263fc6bd5f251eb185074aff5d10219513114ad16e2a5f2d6d"
     "33a1502200ff7d735c6af7a2557fbdc71838117c60ca442d5225f50c5e72158b53fb8c151773fa4f704919d5c1"
     "10c62cc74a362f2d98faf933dd9f392c82e045f77b28dddd8f6786d3067511239af75b48ae357f4518029fe255"
     "6b757046d65bb0b0a52c5afa1f0589"},
};

static void test_pbkdf2(void **state)
{
        for (size_t i = 0; i < sizeof(pbkdf2_vectors) / sizeof(pbkdf2_vectors[0]); i++) {
                uint8_t dk[150];
                char hex[301];
                pbkdf2_hmac_sha512(
                    (const uint8_t *)pbkdf2_vectors[i].pass, strlen(pbkdf2_vectors[i].pass),
                    (const uint8_t *)pbkdf2_vectors[i].salt, strlen(pbkdf2_vectors[i].salt),
                    pbkdf2_vectors[i].rounds, dk, pbkdf2_vectors[i].len);
                hex_of(dk, pbkdf2_vectors[i].len, hex);
                assert_string_equal(hex, pbkdf2_vectors[i].dk);
        }
}

static void test_base58check_known(void **state)
{
        /* Version 0x00 + HASH160 of the compressed public key of private key
         * 1 (the generator point): its well-known address. Then a payload
         * with leading zero bytes, which Base58 writes as '1's. */
        uint8_t p[21], back[64];
        size_t len = 0;
        char s[64];
        assert_int_equal(hex_decode("00751e76e8199196d454941c45d1b3a323f1433bd6", p, sizeof(p)), 0);
        assert_int_equal(base58check_encode(p, sizeof(p), s, sizeof(s)), 0);
        assert_string_equal(s, "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH");
        assert_int_equal(base58check_decode(s, back, sizeof(back), &len), 0);
        assert_int_equal(len, sizeof(p));
        assert_memory_equal(back, p, sizeof(p));

        uint8_t zeros[5] = {0, 0, 0, 1, 2};
        assert_int_equal(base58check_encode(zeros, sizeof(zeros), s, sizeof(s)), 0);
        assert_memory_equal(s, "111", 3);
        assert_true(s[3] != '1');
        assert_int_equal(base58check_decode(s, back, sizeof(back), &len), 0);
        assert_int_equal(len, sizeof(zeros));
        assert_memory_equal(back, zeros, sizeof(zeros));

        /* Empty payload: just the checksum of nothing. */
        assert_int_equal(base58check_encode(zeros, 0, s, sizeof(s)), 0);
        assert_int_equal(base58check_decode(s, back, sizeof(back), &len), 0);
        assert_int_equal(len, 0);
}

static void test_base58check_roundtrip(void **state)
{
        uint8_t p[BASE58_PAYLOAD_MAX], back[BASE58_PAYLOAD_MAX];
        char s[256];
        for (size_t len = 0; len <= BASE58_PAYLOAD_MAX; len += 7) {
                size_t got = 0;
                randombytes_buf(p, len);
                if (len > 2)
                        p[0] = p[1] = 0;
                assert_int_equal(base58check_encode(p, len, s, sizeof(s)), 0);
                assert_int_equal(base58check_decode(s, back, sizeof(back), &got), 0);
                assert_int_equal(got, len);
                assert_memory_equal(back, p, len);
        }
}

static void test_base58check_errors(void **state)
{
        const char *good = "1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH";
        uint8_t out[64], big[BASE58_PAYLOAD_MAX + 1] = {1};
        size_t len = 0;
        char s[300];

        /* Characters outside the alphabet (0 O I l look like 1 o 1 1). */
        const char *bad_chars[] = {"0", "O", "I", "l", " ", "+", "\xc3\xa9"};
        for (size_t i = 0; i < sizeof(bad_chars) / sizeof(bad_chars[0]); i++) {
                snprintf(s, sizeof(s), "1BgGZ9tcN4rm9KBz%s", bad_chars[i]);
                assert_int_equal(base58check_decode(s, out, sizeof(out), &len), -EINVAL);
        }
        /* One character changed, truncated, extended: checksum fails. */
        snprintf(s, sizeof(s), "%s", good);
        s[5] = s[5] == 'c' ? 'd' : 'c';
        assert_int_equal(base58check_decode(s, out, sizeof(out), &len), -EBADMSG);
        snprintf(s, sizeof(s), "%.*s", (int)strlen(good) - 1, good);
        assert_int_equal(base58check_decode(s, out, sizeof(out), &len), -EBADMSG);
        snprintf(s, sizeof(s), "%s2", good);
        assert_int_equal(base58check_decode(s, out, sizeof(out), &len), -EBADMSG);
        assert_int_equal(base58check_decode("", out, sizeof(out), &len), -EBADMSG);
        assert_int_equal(base58check_decode("111", out, sizeof(out), &len), -EBADMSG);
        /* Output too small, input too long, payload too large. */
        assert_int_equal(base58check_decode(good, out, 20, &len), -ENOBUFS);
        memset(s, 'z', sizeof(s) - 1);
        s[sizeof(s) - 1] = 0;
        assert_int_equal(base58check_decode(s, out, sizeof(out), &len), -E2BIG);
        assert_int_equal(base58check_encode(big, sizeof(big), s, sizeof(s)), -EINVAL);
        assert_int_equal(base58check_encode(big, 21, s, 10), -ENOBUFS);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_ripemd160_vectors),
            cmocka_unit_test(test_ripemd160_splits),
            cmocka_unit_test(test_hash160),
            cmocka_unit_test(test_pbkdf2),
            cmocka_unit_test(test_base58check_known),
            cmocka_unit_test(test_base58check_roundtrip),
            cmocka_unit_test(test_base58check_errors),
        };
        if (sodium_init() < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
