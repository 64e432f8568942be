/* keys.h: password, vault, master key, recovery phrase, password change,
 * delegate keys (vectors from gen-delegate-vectors.py, an independent
 * pure-Python implementation), session tokens. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sodium.h>
#include "core/util.h"
#include "keys/keys.h"
#include "keys/secure.h"

#define PW  "correct horse battery staple"
#define PW2 "new password"

#define ART_MNEMONIC                                                                               \
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "         \
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "         \
        "abandon abandon abandon art"
#define TITLE_MNEMONIC                                                                             \
        "legal winner thank year wave sausage worth useful legal winner thank year wave sausage "  \
        "worth useful legal winner thank year wave sausage worth title"
/* PBKDF2-HMAC-SHA512(ART_MNEMONIC, "mnemonic", 2048) (Python hashlib). */
#define ART_SEED                                                                                   \
        "408b285c123836004f4b8842c89324c1f01382450c0d439af345ba7fc49acf705489c6fc77dbd4e3dc1dd8cc" \
        "6"                                                                                        \
        "bc9f043db8ada1e243c4a0eafb290d399480840"

static const struct {
        const char *mnemonic, *master_pub, *parent;
        struct {
                uint32_t index;
                const char *key, *pub, *ext;
        } d[4];
} delegate_vectors[] = {
    {ART_MNEMONIC,
     "025660b70c8770245fb97ce9a811885e8045a1f333a799dcd3035788606cc55754",
     "dgpv56x2p95tiadmAwxuCHQuTeFZQt8eyrqcxK1ueKB4TYcqpURcs5eExZPRxPDeAVJphu7qLwposvTBbxpTLU7sc"
     "DnSTA9Mzrr8vwfqT5u1vff",
     {
         {1, "0c0befcfbb07d52e7a36f03433146d6fb9c6d39d3ede1e719550e42d9e5fabac",
          "02d2660928b23d825ededc4649db004de798477ab4f757e07f0f3558747c644c8f",
          "dgpv57ioRR3upjPiyjZV5DJfdys2tF5NtZPTJ6KZVTaWgAQB1QisoDSuoD4mJNWGometHYcyyL5cdQ96A"
          "TQyuD1B7ka3ew2yM8DiVn9kE3w6BZY"},
         {2, "4e6b5db26f03109c0cc5f5e643e635cb29212195a88e60580f19a6e0fce80e4c",
          "0336dee1dd7717dae0993401e9f3f44b978ed9443e44001bb490b9eb36f0bdbd6e",
          "dgpv57ioRR3upjPj27CJ7Gq1uZT3t1yRmLmF6vuYJCm2qb7u9cRDPoMQBsW6guwejKwVYawBhNEEviLwe"
          "2iQExinB46CrfgEo4mAufWkAboShKz"},
         {3, "2aabe9f6abfe1fe68ca8f3562440a85b4ef8b27d7a9ba17d942100448cf1a673",
          "0276b176675ec271c64dc64296b52be682554139d9853c55cd1c0e34822f56df5c",
          "dgpv57ioRR3upjPj46AhBhnY8ajiQLc23iG2jLFryoWcFi1jUzL19Te9Y4YjSXj2UdSZ9EkouF27KULxF"
          "FrWz9UCF7fyWxKcEjT84HH5NecKSwy"},
         {2147483647, "be9096f57915ddfa3381c1340cfe2622632491a82259feec532f77b7d20b6b5a",
          "02e6801a70dfbdccb24ec6f0aef35cf3465928378907a5b264bd8c1d343dc2fb46",
          "dgpv57ioRR44APvh3oUGydRcVRSMk4Wfg1tMuPzzhvA2C8ax6UcyeAiX2118Wd2r7pNoP1WLtsyKswEsQ"
          "bzcpLKWWAguLGrDgW6F67pfrp5Ls3i"},
     }},
    {TITLE_MNEMONIC,
     "029466171e75e35eabe7f7a3e4cc8aa5c035553fcd08b9990085878d40dc0af743",
     "dgpv56zgq7QaCw3CifHRWgwQgnJGEN4puKug9Znx7oPyzwAAF1oZ54K5ayHwbvPWoWrp2QR94Ks4mpZMejnXWg42J"
     "hhsnbLbCv1NKYLyHieqSMx",
     {
         {1, "216b4f25055e533938e6d504ea3e6022ad7ca1b312a94db30e434ac9669d24af",
          "02a3d0e1071c17b599a24d51fcac795e54cecb07f908eb24145f9f0c2661be7959",
          "dgpv58vQMeSJoM24Ny6TVBpEFNGJmKdyWRwyfrtaSyFJJjAnUZQwueQivKHYzKDjXXND33dvPsd25Fcvg"
          "pyfQh2TnwF7eizSG8QZCaZmeUDGZXL"},
         {2, "e751012c1ced414f7abdd47da3e0aca909ba851b96fa53926cd0186353644d1f",
          "030d3eb4633b44b4f04f2d6a877ea8fc55b683e25a7be9f4e84d7ad49cecec69d7",
          "dgpv58vQMeSJoM24QbaAsq9Ni2MaKRoUkaos5SiEFyBd59BioDP1utMCEaixhgFUo8sXbLtHxQirbYYJk"
          "g31JN2tFcWeDowgBA1rXigMs69Xbb9"},
         {3, "f4376fe76b39c603f851866e77e75d49ef8a1c4039db78807b6455c8e69dc849",
          "0298b6ccc14bb1142c0509bbd67bf64f786200330addf83e6477cf08bdee62a423",
          "dgpv58vQMeSJoM24UvT7KkE49pSmpv17pH2NxFDKPBp5FqWJazMFt5MarwdvN1AASZb7n5jFzEj4CTGKb"
          "c3tTcgFKHcTp9ao6ywp4ip1P5cTeYJ"},
         {2147483647, "6ea10d191e90119a43d8cb5a5464f2f22e1169a9a704b161f3f38e700fe6a482",
          "03df982688d5a7383bb2bab0525d1b7941ed57dfda651ce4eee10ca8eae6054437",
          "dgpv58vQMeST91Z2U4XKyEqcsw41uk6qYPCyvDWtvKNRLv2WCE46SFzGtaYoPopjHrvRM38i9Bhe22imT"
          "sWADqSA76qk5svrVBoTYSHRH83imXq"},
     }},
};

/* One master for the tests that need any (each costs two Argon2id runs). */
static struct keys_master *art;

static int setup(void **state)
{
        struct dbx_error err = {0};
        if (sodium_init() < 0)
                return -1;
        return keys_master_import(ART_MNEMONIC, PW, &art, &err);
}

static int teardown(void **state)
{
        art = keys_master_free(art);
        return 0;
}

static void test_password_check(void **state)
{
        char big[KEYS_PASSWORD_MAX + 2];
        struct dbx_error err = {0};
        assert_int_equal(keys_password_check(NULL, "password", &err), -EINVAL);
        assert_int_equal(keys_password_check("", "new_password", &err), -EINVAL);
        assert_string_equal(err.path, "new_password");
        assert_string_equal(err.message, "must not be empty");
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        assert_int_equal(keys_password_check(big, "password", &err), -EINVAL);
        assert_string_equal(err.message, "longer than 1024 bytes");
        big[KEYS_PASSWORD_MAX] = 0;
        assert_int_equal(keys_password_check(big, "password", &err), 0);
        assert_int_equal(keys_password_check("x", "password", NULL), 0);
        assert_int_equal(keys_password_check("p\xc3\xa4ss w\xc3\xb6rd", "password", NULL), 0);
}

static void test_password_hash_verify(void **state)
{
        char h1[KEYS_PWHASH_STR_SIZE], h2[KEYS_PWHASH_STR_SIZE];
        struct dbx_error err = {0};
        assert_int_equal(keys_password_hash(PW, h1, &err), 0);
        assert_int_equal(keys_password_hash(PW, h2, &err), 0);
        assert_string_not_equal(h1, h2); /* fresh salt */
        assert_non_null(strstr(h1, "$argon2id$v=19$m=65536,t=3,p=1$"));
        assert_int_equal(keys_password_verify(h1, PW), 0);
        assert_int_equal(keys_password_verify(h2, PW), 0);
        assert_int_equal(keys_password_verify(h1, PW " "), -EACCES);
        assert_int_equal(keys_password_verify(h1, ""), -EACCES);
        assert_int_equal(keys_password_verify(h1, NULL), -EACCES);
        assert_false(keys_password_needs_rehash(h1));
        assert_int_equal(keys_password_hash("", h1, &err), -EINVAL);
}

static void test_password_malformed_hash(void **state)
{
        char h[KEYS_PWHASH_STR_SIZE], weak[crypto_pwhash_STRBYTES];
        assert_int_equal(keys_password_verify(NULL, PW), -EINVAL);
        assert_int_equal(keys_password_verify("", PW), -EINVAL);
        assert_int_equal(keys_password_verify("hunter2", PW), -EINVAL);
        assert_int_equal(keys_password_verify("$argon2i$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA", PW),
                         -EINVAL);
        /* Costs a damaged store could ask for: refused before any work. */
        static const char *costly[] = {
            "$argon2id$v=19$m=4194304,t=3,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaA",
            "$argon2id$v=19$m=65536,t=1000,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaA",
            "$argon2id$v=19$m=65536,t=3,p=64$c2FsdHNhbHRzYWx0c2FsdA$aGFzaA",
            "$argon2id$v=19$m=65536,t=3$c2FsdHNhbHRzYWx0c2FsdA$aGFzaA",
            "$argon2id$v=16$m=65536,t=3,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaA",
        };
        for (size_t i = 0; i < sizeof(costly) / sizeof(costly[0]); i++)
                assert_int_equal(keys_password_verify(costly[i], PW), -EINVAL);
        assert_true(keys_password_needs_rehash(NULL));
        /* A changed hash byte: the password no longer matches. */
        assert_int_equal(keys_password_hash(PW, h, NULL), 0);
        size_t last = strlen(h) - 2;
        h[last] = h[last] == 'A' ? 'B' : 'A';
        assert_int_equal(keys_password_verify(h, PW), -EACCES);
        /* A hash made with other parameters still verifies but wants a rehash. */
        assert_int_equal(
            crypto_pwhash_str_alg(weak, PW, strlen(PW), 2, 8 << 20, crypto_pwhash_ALG_ARGON2ID13),
            0);
        assert_int_equal(keys_password_verify(weak, PW), 0);
        assert_true(keys_password_needs_rehash(weak));
}

static void test_vault_roundtrip(void **state)
{
        uint8_t seed[BIP39_SEED_SIZE];
        char v1[KEYS_VAULT_HEX_SIZE], v2[KEYS_VAULT_HEX_SIZE];
        _cleanup_secure_ uint8_t *out = NULL;
        struct dbx_error err = {0};
        randombytes_buf(seed, sizeof(seed));
        assert_int_equal(keys_vault_seal(seed, PW, v1, &err), 0);
        assert_int_equal(strlen(v1), 2 * KEYS_VAULT_SIZE);
        assert_int_equal(keys_vault_seal(seed, PW, v2, &err), 0);
        assert_string_not_equal(v1, v2);                 /* fresh salt and nonce */
        assert_memory_equal(v1, "0101020100000003", 16); /* version, ids, t=3 */
        assert_memory_equal(v1 + 16, "00010000", 8);     /* m=65536 KiB */
        assert_int_equal(keys_vault_open(v1, PW, &out, &err), 0);
        assert_memory_equal(out, seed, sizeof(seed));
        out = secure_free(out);
        assert_int_equal(keys_vault_open(v1, "wrong", &out, &err), -EACCES);
        assert_null(out);
        assert_string_equal(err.message, "incorrect password");
        assert_int_equal(keys_vault_open(v1, "", &out, &err), -EINVAL);
        assert_int_equal(keys_vault_seal(seed, "", v1, &err), -EINVAL);
}

static const struct {
        size_t hex_offset; /* which hex digit pair to replace */
        const char *with;
        int code;
        const char *message;
} tamper[] = {
    {0, "02", -EBADMSG, "format version 2; this dogeboxd reads version 1"},
    {2, "07", -EBADMSG, "unknown algorithms (7/2/1)"},
    {4, "01", -EBADMSG, "unknown algorithms"},
    {6, "02", -EBADMSG, "unknown algorithms"},
    {14, "11", -EBADMSG, "t=17"},                          /* opslimit past the limit */
    {14, "00", -EBADMSG, "t=0"},                           /* below Argon2id's minimum */
    {16, "01", -EBADMSG, "m=16842752"},                    /* 16 GiB */
    {14, "04", -EACCES, "incorrect"},                      /* valid t=4, but authenticated: fails */
    {24, "ff", -EACCES, "incorrect"},                      /* salt */
    {56, "ff", -EACCES, "incorrect"},                      /* nonce */
    {104, "ff", -EACCES, "incorrect"},                     /* ciphertext */
    {2 * KEYS_VAULT_SIZE - 2, "ff", -EACCES, "incorrect"}, /* tag */
};

static void test_vault_tampered(void **state)
{
        uint8_t seed[BIP39_SEED_SIZE] = {1, 2, 3};
        char v[KEYS_VAULT_HEX_SIZE], t[KEYS_VAULT_HEX_SIZE];
        struct dbx_error err = {0};
        assert_int_equal(keys_vault_seal(seed, PW, v, &err), 0);
        for (size_t i = 0; i < sizeof(tamper) / sizeof(tamper[0]); i++) {
                _cleanup_secure_ uint8_t *out = NULL;
                memcpy(t, v, sizeof(t));
                if (memcmp(t + tamper[i].hex_offset, tamper[i].with, 2) == 0)
                        memcpy(t + tamper[i].hex_offset, "5a", 2);
                else
                        memcpy(t + tamper[i].hex_offset, tamper[i].with, 2);
                memset(&err, 0, sizeof(err));
                int r = keys_vault_open(t, PW, &out, &err);
                if (r != tamper[i].code || !strstr(err.message, tamper[i].message))
                        fail_msg("case %zu: got %d \"%s\"", i, r, err.message);
                assert_null(out);
        }
        /* Not hex, wrong length, missing. */
        _cleanup_secure_ uint8_t *out = NULL;
        memcpy(t, v, sizeof(t));
        t[10] = 'g';
        assert_int_equal(keys_vault_open(t, PW, &out, &err), -EBADMSG);
        assert_non_null(strstr(err.message, "not a 264-character hex string"));
        t[10] = 0;
        assert_int_equal(keys_vault_open(t, PW, &out, &err), -EBADMSG);
        assert_int_equal(keys_vault_open(NULL, PW, &out, &err), -EBADMSG);
        assert_int_equal(keys_vault_open("", PW, &out, &err), -EBADMSG);
}

static void test_master_import(void **state)
{
        _cleanup_secure_ uint8_t *seed = NULL;
        char hex[2 * BIP39_SEED_SIZE + 1];
        struct dbx_error err = {0};
        assert_string_equal(art->mnemonic, ART_MNEMONIC);
        assert_string_equal(art->master_pub, delegate_vectors[0].master_pub);
        assert_string_equal(art->delegate_parent, delegate_vectors[0].parent);
        assert_int_equal(keys_password_verify(art->cred.password_hash, PW), 0);
        assert_int_equal(keys_vault_open(art->cred.vault, PW, &seed, &err), 0);
        hex_encode(seed, BIP39_SEED_SIZE, hex);
        assert_string_equal(hex, ART_SEED);
}

static void test_master_import_typed_and_errors(void **state)
{
        struct keys_master *m = NULL;
        struct dbx_error err = {0};
        /* Typed with capitals and commas: stored canonical, same keys. */
        assert_int_equal(keys_master_import("LEGAL,winner,thank,year,wave,sausage,worth,useful,"
                                            "legal,winner,thank,year,wave,sausage,worth,useful,"
                                            "legal,winner,thank,year,wave,sausage,worth,Title",
                                            PW, &m, &err),
                         0);
        assert_string_equal(m->mnemonic, TITLE_MNEMONIC);
        assert_string_equal(m->master_pub, delegate_vectors[1].master_pub);
        assert_string_equal(m->delegate_parent, delegate_vectors[1].parent);
        m = keys_master_free(m);
        assert_int_equal(keys_master_import(ART_MNEMONIC, "", &m, &err), -EINVAL);
        assert_string_equal(err.path, "password");
        assert_int_equal(keys_master_import("abandon abandon", PW, &m, &err), -EINVAL);
        assert_non_null(strstr(err.message, "has 2 words"));
        assert_null(m);
}

static void test_master_create(void **state)
{
        struct keys_master *a = NULL, *b = NULL;
        struct bip32_key p;
        struct dbx_error err = {0};
        size_t words = 1, elen = 0;
        char canon[BIP39_MNEMONIC_MAX];
        assert_int_equal(keys_master_create(PW, &a, &err), 0);
        assert_int_equal(keys_master_create(PW, &b, &err), 0);
        assert_string_not_equal(a->mnemonic, b->mnemonic);
        assert_string_not_equal(a->master_pub, b->master_pub);
        for (const char *c = a->mnemonic; *c; c++)
                words += *c == ' ';
        assert_int_equal(words, 24);
        assert_int_equal(bip39_mnemonic_normalize(a->mnemonic, canon, sizeof(canon), &elen, &err),
                         0);
        assert_int_equal(elen, 32);
        assert_int_equal(keys_mnemonic_check(a->master_pub, a->mnemonic, &err), 0);
        assert_int_equal(keys_mnemonic_check(a->master_pub, b->mnemonic, &err), -EACCES);
        assert_int_equal(bip32_parse(a->delegate_parent, NULL, &p, NULL, &err), 0);
        assert_int_equal(p.depth, 2);
        assert_int_equal(p.child_number, BIP32_HARDENED | 2);
        assert_true(p.has_private);
        assert_int_equal(keys_password_verify(a->cred.password_hash, PW), 0);
        keys_master_free(a);
        keys_master_free(b);
        assert_int_equal(keys_master_create("", &a, &err), -EINVAL);
}

static void test_mnemonic_check(void **state)
{
        struct dbx_error err = {0};
        char upper[KEYS_PUB_HEX_SIZE];
        assert_int_equal(keys_mnemonic_check(art->master_pub, ART_MNEMONIC, &err), 0);
        char typed[BIP39_INPUT_MAX];
        snprintf(typed, sizeof(typed), "  ABANDON,%s\n", ART_MNEMONIC + strlen("abandon "));
        assert_int_equal(keys_mnemonic_check(art->master_pub, typed, &err), 0);
        for (size_t i = 0; i < sizeof(upper); i++)
                upper[i] = (char)(art->master_pub[i] >= 'a' && art->master_pub[i] <= 'f'
                                      ? art->master_pub[i] - 'a' + 'A'
                                      : art->master_pub[i]);
        assert_int_equal(keys_mnemonic_check(upper, ART_MNEMONIC, &err), 0);
        assert_int_equal(keys_mnemonic_check(art->master_pub, TITLE_MNEMONIC, &err), -EACCES);
        assert_string_equal(err.path, "seedphrase");
        assert_non_null(strstr(err.message, "does not belong to this box"));
        assert_int_equal(keys_mnemonic_check(art->master_pub,
                                             "abandon abandon abandon abandon abandon abandon "
                                             "abandon abandon abandon abandon abandon abandon",
                                             &err),
                         -EBADMSG);
        assert_int_equal(keys_mnemonic_check(art->master_pub, "zoo", &err), -EINVAL);
        assert_int_equal(keys_mnemonic_check("", ART_MNEMONIC, &err), -EBADMSG);
        assert_int_equal(keys_mnemonic_check(NULL, ART_MNEMONIC, &err), -EBADMSG);
        /* 66 hex digits but not a compressed-key prefix. */
        char bad[KEYS_PUB_HEX_SIZE];
        memcpy(bad, art->master_pub, sizeof(bad));
        bad[1] = '4';
        assert_int_equal(keys_mnemonic_check(bad, ART_MNEMONIC, &err), -EBADMSG);
        assert_string_equal(err.path, "master_pub");
}

static void test_rekey_with_password(void **state)
{
        struct keys_credentials next, bad;
        _cleanup_secure_ uint8_t *a = NULL, *b = NULL;
        struct dbx_error err = {0};
        assert_int_equal(keys_rekey_with_password(&art->cred, "wrong", PW2, &next, &err), -EACCES);
        assert_string_equal(err.path, "current_password");
        assert_int_equal(keys_rekey_with_password(&art->cred, PW, "", &next, &err), -EINVAL);
        assert_string_equal(err.path, "new_password");
        assert_int_equal(keys_rekey_with_password(&art->cred, PW, PW2, &next, &err), 0);
        assert_int_equal(keys_password_verify(next.password_hash, PW2), 0);
        assert_int_equal(keys_password_verify(next.password_hash, PW), -EACCES);
        assert_int_equal(keys_vault_open(next.vault, PW2, &b, &err), 0);
        assert_int_equal(keys_vault_open(next.vault, PW, &a, &err), -EACCES);
        assert_int_equal(keys_vault_open(art->cred.vault, PW, &a, &err), 0);
        assert_memory_equal(a, b, BIP39_SEED_SIZE);
        /* Damaged store: hash string broken, or hash and vault disagree. */
        bad = art->cred;
        strcpy(bad.password_hash, "garbage");
        assert_int_equal(keys_rekey_with_password(&bad, PW, PW2, &next, &err), -EBADMSG);
        assert_string_equal(err.path, "password_hash");
        bad = art->cred;
        memcpy(bad.vault, next.vault, sizeof(bad.vault));
        assert_int_equal(keys_rekey_with_password(&bad, PW, PW2, &next, &err), -EBADMSG);
        assert_non_null(strstr(err.message, "damaged"));
}

static void test_rekey_with_mnemonic(void **state)
{
        struct keys_credentials next;
        _cleanup_secure_ uint8_t *seed = NULL;
        char hex[2 * BIP39_SEED_SIZE + 1], parent[BIP32_XKEY_STR_MAX];
        struct dbx_error err = {0};
        assert_int_equal(
            keys_rekey_with_mnemonic(art->master_pub, TITLE_MNEMONIC, PW2, &next, &err), -EACCES);
        assert_int_equal(keys_rekey_with_mnemonic(art->master_pub, "abandon", PW2, &next, &err),
                         -EINVAL);
        assert_int_equal(keys_rekey_with_mnemonic(art->master_pub, ART_MNEMONIC, "", &next, &err),
                         -EINVAL);
        assert_int_equal(keys_rekey_with_mnemonic(art->master_pub, ART_MNEMONIC, PW2, &next, &err),
                         0);
        assert_int_equal(keys_password_verify(next.password_hash, PW2), 0);
        assert_int_equal(keys_vault_open(next.vault, PW2, &seed, &err), 0);
        hex_encode(seed, BIP39_SEED_SIZE, hex);
        assert_string_equal(hex, ART_SEED);
        /* And the delegate parent comes back from the new vault. */
        assert_int_equal(
            keys_delegate_parent_from_vault(next.vault, PW2, parent, sizeof(parent), &err), 0);
        assert_string_equal(parent, delegate_vectors[0].parent);
        assert_int_equal(
            keys_delegate_parent_from_vault(next.vault, PW, parent, sizeof(parent), &err), -EACCES);
}

static void test_delegate_vectors(void **state)
{
        for (size_t v = 0; v < sizeof(delegate_vectors) / sizeof(delegate_vectors[0]); v++)
                for (size_t i = 0; i < 4; i++) {
                        struct keys_delegate *d = NULL;
                        struct dbx_error err = {0};
                        assert_int_equal(keys_delegate_derive(delegate_vectors[v].parent,
                                                              delegate_vectors[v].d[i].index, &d,
                                                              &err),
                                         0);
                        assert_string_equal(d->key, delegate_vectors[v].d[i].key);
                        assert_string_equal(d->pub, delegate_vectors[v].d[i].pub);
                        assert_string_equal(d->extended_key, delegate_vectors[v].d[i].ext);
                        /* File contents: no newline, the exact lengths. */
                        assert_int_equal(strlen(d->key), 64);
                        assert_null(strchr(d->extended_key, '\n'));
                        keys_delegate_free(d);
                }
}

static void test_delegate_from_xprv_parent(void **state)
{
        /* The parent may also be stored as a Bitcoin xprv: the pup still
         * gets a dgpv. */
        struct bip32_key p;
        char x[BIP32_XKEY_STR_MAX];
        struct keys_delegate *d = NULL;
        struct dbx_error err = {0};
        assert_int_equal(bip32_parse(delegate_vectors[0].parent, NULL, &p, NULL, &err), 0);
        assert_int_equal(bip32_serialize(&p, &bip32_bitcoin, true, x, sizeof(x)), 0);
        assert_memory_equal(x, "xprv", 4);
        assert_int_equal(keys_delegate_derive(x, 1, &d, &err), 0);
        assert_string_equal(d->extended_key, delegate_vectors[0].d[0].ext);
        keys_delegate_free(d);
}

static void test_delegate_errors(void **state)
{
        struct keys_delegate *d = NULL;
        struct bip32_key p, c;
        char x[BIP32_XKEY_STR_MAX];
        struct dbx_error err = {0};
        const char *parent = delegate_vectors[0].parent;

        assert_int_equal(keys_delegate_derive(parent, 0, &d, &err), -ERANGE);
        assert_string_equal(err.path, "index");
        assert_non_null(strstr(err.message, "out of range (1 to 2147483647)"));
        assert_int_equal(keys_delegate_derive(parent, 0x80000000u, &d, &err), -ERANGE);
        assert_int_equal(keys_delegate_derive("", 1, &d, &err), -EINVAL);
        assert_string_equal(err.path, "delegate_parent");
        assert_non_null(strstr(err.message, "stored delegate parent: extended key is empty"));
        assert_int_equal(keys_delegate_derive(NULL, 1, &d, &err), -EINVAL);
        /* The public half of the parent. */
        assert_int_equal(bip32_parse(parent, NULL, &p, NULL, &err), 0);
        assert_int_equal(bip32_serialize(&p, &bip32_dogecoin, false, x, sizeof(x)), 0);
        assert_int_equal(keys_delegate_derive(x, 1, &d, &err), -EINVAL);
        assert_non_null(strstr(err.message, "not the private key of m/1000'/2' (found a public "
                                            "key at depth 2)"));
        /* The master (depth 0) and a child (depth 3) are not the parent. */
        struct bip32_key m;
        uint8_t seed[BIP39_SEED_SIZE];
        assert_int_equal(hex_decode(ART_SEED, seed, sizeof(seed)), 0);
        assert_int_equal(bip32_master_from_seed(seed, sizeof(seed), &m), 0);
        assert_int_equal(bip32_serialize(&m, &bip32_dogecoin, true, x, sizeof(x)), 0);
        assert_int_equal(keys_delegate_derive(x, 1, &d, &err), -EINVAL);
        assert_non_null(strstr(err.message, "(found a private key at depth 0)"));
        assert_int_equal(bip32_derive_child(&p, BIP32_HARDENED | 1, &c), 0);
        assert_int_equal(bip32_serialize(&c, &bip32_dogecoin, true, x, sizeof(x)), 0);
        assert_int_equal(keys_delegate_derive(x, 1, &d, &err), -EINVAL);
        assert_non_null(strstr(err.message, "depth 3"));
        /* Depth 2 but m/1000'/3'. */
        c = p;
        c.child_number = BIP32_HARDENED | 3;
        assert_int_equal(bip32_serialize(&c, &bip32_dogecoin, true, x, sizeof(x)), 0);
        assert_int_equal(keys_delegate_derive(x, 1, &d, &err), -EINVAL);
        assert_null(d);
}

static void test_tokens(void **state)
{
        char a[KEYS_TOKEN_HEX_SIZE], b[KEYS_TOKEN_HEX_SIZE], up[KEYS_TOKEN_HEX_SIZE];
        uint8_t ha[KEYS_TOKEN_HASH_SIZE], hb[KEYS_TOKEN_HASH_SIZE], hu[KEYS_TOKEN_HASH_SIZE];
        char hex[2 * KEYS_TOKEN_HASH_SIZE + 1];
        keys_token_new(a);
        keys_token_new(b);
        assert_int_equal(strlen(a), 64);
        assert_string_not_equal(a, b);
        for (size_t i = 0; i < 64; i++)
                assert_true((a[i] >= '0' && a[i] <= '9') || (a[i] >= 'a' && a[i] <= 'f'));
        assert_int_equal(keys_token_hash(a, ha), 0);
        assert_int_equal(keys_token_hash(b, hb), 0);
        assert_true(keys_token_hash_equal(ha, ha));
        assert_false(keys_token_hash_equal(ha, hb));
        for (size_t i = 0; i < sizeof(up); i++)
                up[i] = (char)(a[i] >= 'a' && a[i] <= 'f' ? a[i] - 'a' + 'A' : a[i]);
        assert_int_equal(keys_token_hash(up, hu), 0);
        assert_true(keys_token_hash_equal(ha, hu));
        /* Known answers (Python: blake2b(key=b"dogeboxd session token v1",
         * digest_size=32)). */
        assert_int_equal(keys_token_hash("00000000000000000000000000000000000000000000000000000000"
                                         "00000000",
                                         ha),
                         0);
        hex_encode(ha, sizeof(ha), hex);
        assert_string_equal(hex,
                            "73d87d612d84e59fe91cd4a715b86cc039419ee5c98f212ed347c9d7865f1573");
        assert_int_equal(keys_token_hash("000102030405060708090a0b0c0d0e0f101112131415161718191a1b"
                                         "1c1d1e1f",
                                         ha),
                         0);
        hex_encode(ha, sizeof(ha), hex);
        assert_string_equal(hex,
                            "69242e85497d4f8d3d09037d5e748d9724448a56407851cd71364c1ea8ad36ce");
        /* Bad tokens. */
        const char *bad[] = {
            NULL,
            "",
            "abc",
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1",
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f0",
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g",
            " 00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
            "00:102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_int_equal(keys_token_hash(bad[i], ha), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_password_check),
            cmocka_unit_test(test_password_hash_verify),
            cmocka_unit_test(test_password_malformed_hash),
            cmocka_unit_test(test_vault_roundtrip),
            cmocka_unit_test(test_vault_tampered),
            cmocka_unit_test(test_master_import),
            cmocka_unit_test(test_master_import_typed_and_errors),
            cmocka_unit_test(test_master_create),
            cmocka_unit_test(test_mnemonic_check),
            cmocka_unit_test(test_rekey_with_password),
            cmocka_unit_test(test_rekey_with_mnemonic),
            cmocka_unit_test(test_delegate_vectors),
            cmocka_unit_test(test_delegate_from_xprv_parent),
            cmocka_unit_test(test_delegate_errors),
            cmocka_unit_test(test_tokens),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
