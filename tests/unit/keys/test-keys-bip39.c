/* BIP39: the official vectors both ways, the seed, what people type, and
 * every error message. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sodium.h>
#include "core/util.h"
#include "keys/bip32.h"
#include "keys/bip39.h"
#include "bip39-vectors.h"

#define N_VECTORS (sizeof(bip39_vectors) / sizeof(bip39_vectors[0]))

static void test_wordlist(void **state)
{
        /* Sorted, unique, 3-8 lowercase letters, unique in 4 letters. */
        for (size_t i = 0; i < BIP39_WORDLIST_SIZE; i++) {
                const char *w = bip39_english[i];
                size_t len = strlen(w);
                assert_true(len >= 3 && len <= BIP39_WORD_MAX);
                for (size_t k = 0; k < len; k++)
                        assert_true(w[k] >= 'a' && w[k] <= 'z');
                if (i > 0) {
                        assert_true(strcmp(bip39_english[i - 1], w) < 0);
                        assert_true(strncmp(bip39_english[i - 1], w, 4) != 0);
                }
                assert_int_equal(bip39_word_index(w, len), (int)i);
        }
        assert_string_equal(bip39_english[0], "abandon");
        assert_string_equal(bip39_english[3], "about");
        assert_string_equal(bip39_english[2047], "zoo");
}

static void test_word_index_misses(void **state)
{
        static const char *misses[] = {"",     "a",  "aban",      "abandonx", "Abandon",
                                       "zoos", "zz", "aaaaaaaaa", "abandon "};
        for (size_t i = 0; i < sizeof(misses) / sizeof(misses[0]); i++)
                assert_int_equal(bip39_word_index(misses[i], strlen(misses[i])), -ENOENT);
        /* Length bounds the comparison: a prefix of a longer buffer. */
        assert_int_equal(bip39_word_index("ablex", 4), 2);
        assert_int_equal(bip39_word_index("zoo!", 3), 2047);
}

static void test_vectors_entropy_to_mnemonic(void **state)
{
        for (size_t i = 0; i < N_VECTORS; i++) {
                uint8_t e[BIP39_ENTROPY_MAX];
                size_t len = strlen(bip39_vectors[i].entropy) / 2;
                char out[BIP39_MNEMONIC_MAX];
                assert_int_equal(hex_decode(bip39_vectors[i].entropy, e, len), 0);
                assert_int_equal(bip39_mnemonic_from_entropy(e, len, out, sizeof(out)), 0);
                assert_string_equal(out, bip39_vectors[i].mnemonic);
        }
}

static void test_vectors_mnemonic_to_entropy(void **state)
{
        for (size_t i = 0; i < N_VECTORS; i++) {
                uint8_t e[BIP39_ENTROPY_MAX];
                char hex[2 * BIP39_ENTROPY_MAX + 1];
                size_t len = 0;
                struct dbx_error err = {0};
                assert_int_equal(
                    bip39_mnemonic_to_entropy(bip39_vectors[i].mnemonic, e, sizeof(e), &len, &err),
                    0);
                hex_encode(e, len, hex);
                assert_string_equal(hex, bip39_vectors[i].entropy);
        }
}

static void test_vectors_seed_and_master(void **state)
{
        for (size_t i = 0; i < N_VECTORS; i++) {
                uint8_t seed[BIP39_SEED_SIZE];
                char hex[2 * BIP39_SEED_SIZE + 1], x[BIP32_XKEY_STR_MAX];
                struct bip32_key m;
                struct dbx_error err = {0};
                assert_int_equal(
                    bip39_mnemonic_to_seed(bip39_vectors[i].mnemonic, "TREZOR", seed, &err), 0);
                hex_encode(seed, sizeof(seed), hex);
                assert_string_equal(hex, bip39_vectors[i].seed);
                assert_int_equal(bip32_master_from_seed(seed, sizeof(seed), &m), 0);
                assert_int_equal(bip32_serialize(&m, &bip32_bitcoin, true, x, sizeof(x)), 0);
                assert_string_equal(x, bip39_vectors[i].xprv);
        }
}

static void test_seed_empty_passphrase(void **state)
{
        /* Python's python-mnemonic: to_seed("abandon x11 about", ""). NULL and
         * "" are the same passphrase. */
        uint8_t a[BIP39_SEED_SIZE], b[BIP39_SEED_SIZE];
        char hex[2 * BIP39_SEED_SIZE + 1];
        assert_int_equal(bip39_mnemonic_to_seed(bip39_vectors[0].mnemonic, "", a, NULL), 0);
        assert_int_equal(bip39_mnemonic_to_seed(bip39_vectors[0].mnemonic, NULL, b, NULL), 0);
        assert_memory_equal(a, b, sizeof(a));
        hex_encode(a, sizeof(a), hex);
        assert_string_equal(hex,
                            "5eb00bbddcf069084889a8ab9155568165f5c453ccb85e70811aaed6f6da5fc1"
                            "9a5ac40b389cd370d086206dec8aa6c43daea6690f20ad3d8d48b2d2ce9e38e4");
}

/* What people type: case, commas (upstream accepts "w1,w2"), odd spacing. */
static const struct {
        const char *typed;
        size_t vector;
} typed_cases[] = {
    {"  abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
     "abandon about  ",
     0},
    {"ABANDON Abandon abandon abandon abandon abandon abandon abandon abandon abandon "
     "abandon ABOUT",
     0},
    {"abandon,abandon,abandon,abandon,abandon,abandon,abandon,abandon,abandon,abandon,"
     "abandon,about",
     0},
    {"abandon, abandon,\tabandon\nabandon\r\nabandon abandon abandon abandon abandon abandon "
     "abandon about\n",
     0},
    {"zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo "
     "zoo zoo VOTE",
     11},
};

static void test_typed_forms(void **state)
{
        for (size_t i = 0; i < sizeof(typed_cases) / sizeof(typed_cases[0]); i++) {
                char canon[BIP39_MNEMONIC_MAX];
                uint8_t seed[BIP39_SEED_SIZE];
                char hex[2 * BIP39_SEED_SIZE + 1];
                size_t elen = 0;
                struct dbx_error err = {0};
                const char *want = bip39_vectors[typed_cases[i].vector].mnemonic;
                assert_int_equal(bip39_mnemonic_normalize(typed_cases[i].typed, canon,
                                                          sizeof(canon), &elen, &err),
                                 0);
                assert_string_equal(canon, want);
                assert_int_equal(elen, strlen(bip39_vectors[typed_cases[i].vector].entropy) / 2);
                /* The seed is computed from the canonical words. */
                assert_int_equal(bip39_mnemonic_to_seed(typed_cases[i].typed, "TREZOR", seed, &err),
                                 0);
                hex_encode(seed, sizeof(seed), hex);
                assert_string_equal(hex, bip39_vectors[typed_cases[i].vector].seed);
        }
}

static const struct {
        const char *typed;
        int code;
        const char *message; /* substring */
} error_cases[] = {
    {"", -EINVAL, "has 0 words; expected 12, 15, 18, 21 or 24"},
    {" , \n", -EINVAL, "has 0 words"},
    {"abandon", -EINVAL, "has 1 word;"},
    {"abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
     "abandon",
     -EINVAL, "has 11 words"},
    {"abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
     "abandon about about",
     -EINVAL, "has 13 words"},
    {"abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
     "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
     "abandon abandon abandon abandon art",
     -EINVAL, "has 25 words"},
    {"abandon abandon abandon abandon abandn abandon abandon abandon abandon abandon "
     "abandon about",
     -ENOENT, "word 5 of the recovery phrase is not in the BIP39 English word list"},
    {"abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
     "abandon abandonment",
     -ENOENT, "word 12 "},
    {"aban abandon abandon abandon abandon abandon abandon abandon abandon abandon "
     "abandon about",
     -ENOENT, "word 1 of"},
    {"abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
     "abandon ab0ut",
     -ENOENT, "word 12 of the recovery phrase contains a character that is not a letter"},
    {"abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
     "abandon \xc3\xa1"
     "bout",
     -ENOENT, "not a letter"},
    {"abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
     "abandon;about abandon",
     -ENOENT, "word 11"},
    /* Valid words, wrong checksum: last word changed, two words swapped. */
    {"abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
     "abandon abandon",
     -EBADMSG, "checksum does not match: a word is wrong or the words are out of order"},
    {"legal winner thank year wave sausage worth useful legal winner yellow thank", -EBADMSG,
     "checksum"},
    {"zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo "
     "zoo zoo zoo",
     -EBADMSG, "checksum"},
};

static void test_errors(void **state)
{
        for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
                char canon[BIP39_MNEMONIC_MAX];
                uint8_t e[BIP39_ENTROPY_MAX], seed[BIP39_SEED_SIZE];
                size_t len = 0;
                struct dbx_error err = {0};
                int r = bip39_mnemonic_normalize(error_cases[i].typed, canon, sizeof(canon), NULL,
                                                 &err);
                if (r != error_cases[i].code || !strstr(err.message, error_cases[i].message))
                        fail_msg("case %zu: got %d \"%s\", want %d \"%s\"", i, r, err.message,
                                 error_cases[i].code, error_cases[i].message);
                /* The phrase is a secret: never echoed in the message. */
                assert_null(strstr(err.message, "abandn"));
                assert_null(strstr(err.message, "ab0ut"));
                memset(&err, 0, sizeof(err));
                assert_int_equal(
                    bip39_mnemonic_to_entropy(error_cases[i].typed, e, sizeof(e), &len, &err),
                    error_cases[i].code);
                assert_int_equal(err.code, error_cases[i].code);
                assert_int_equal(bip39_mnemonic_to_seed(error_cases[i].typed, "", seed, NULL),
                                 error_cases[i].code);
        }
}

static void test_input_limit(void **state)
{
        /* BIP39_INPUT_MAX characters of spaces around 12 valid words pass;
         * one more character fails with -E2BIG before anything else. */
        size_t n = BIP39_INPUT_MAX;
        char *s = malloc(n + 2), canon[BIP39_MNEMONIC_MAX];
        const char *m = bip39_vectors[0].mnemonic;
        struct dbx_error err = {0};
        memset(s, ' ', n);
        memcpy(s, m, strlen(m));
        s[n] = 0;
        assert_int_equal(bip39_mnemonic_normalize(s, canon, sizeof(canon), NULL, &err), 0);
        s[n] = ' ';
        s[n + 1] = 0;
        assert_int_equal(bip39_mnemonic_normalize(s, canon, sizeof(canon), NULL, &err), -E2BIG);
        assert_non_null(strstr(err.message, "longer than 2048 characters"));
        free(s);
}

static void test_bad_lengths_and_buffers(void **state)
{
        uint8_t e[40] = {0};
        char out[BIP39_MNEMONIC_MAX];
        size_t bad[] = {0, 1, 12, 15, 17, 33, 36, 40};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                assert_int_equal(bip39_mnemonic_from_entropy(e, bad[i], out, sizeof(out)), -EINVAL);
                assert_int_equal(bip39_mnemonic_generate(bad[i], out, sizeof(out)), -EINVAL);
        }
        /* "abandon x23 art" is 7*23+23+3+1 = 188 bytes with the NUL. */
        assert_int_equal(bip39_mnemonic_from_entropy(e, 32, out, 187), -ENOBUFS);
        assert_int_equal(bip39_mnemonic_from_entropy(e, 32, out, 188), 0);
        assert_int_equal(strlen(out), 187);
        /* Longest possible phrase fits BIP39_MNEMONIC_MAX. */
        size_t longest = 0;
        for (size_t i = 0; i < BIP39_WORDLIST_SIZE; i++)
                longest = MAX(longest, strlen(bip39_english[i]));
        assert_int_equal(longest, BIP39_WORD_MAX);
        /* Entropy output buffer too small for a 24-word phrase. */
        size_t len = 0;
        struct dbx_error err = {0};
        assert_int_equal(bip39_mnemonic_to_entropy(bip39_vectors[8].mnemonic, e, 16, &len, &err),
                         -ENOBUFS);
        assert_int_equal(bip39_mnemonic_to_entropy(bip39_vectors[0].mnemonic, e, 16, &len, &err),
                         0);
        assert_int_equal(len, 16);
}

static void test_passphrase_rules(void **state)
{
        uint8_t seed[BIP39_SEED_SIZE];
        struct dbx_error err = {0};
        char longp[BIP39_PASSPHRASE_MAX + 2];
        assert_int_equal(
            bip39_mnemonic_to_seed(bip39_vectors[0].mnemonic, "p\xc3\xa4ss", seed, &err), -EINVAL);
        assert_string_equal(err.path, "passphrase");
        assert_non_null(strstr(err.message, "character 2 is not printable ASCII"));
        assert_int_equal(bip39_mnemonic_to_seed(bip39_vectors[0].mnemonic, "a\tb", seed, &err),
                         -EINVAL);
        memset(longp, 'x', sizeof(longp) - 1);
        longp[sizeof(longp) - 1] = 0;
        assert_int_equal(bip39_mnemonic_to_seed(bip39_vectors[0].mnemonic, longp, seed, &err),
                         -EINVAL);
        longp[BIP39_PASSPHRASE_MAX] = 0;
        assert_int_equal(bip39_mnemonic_to_seed(bip39_vectors[0].mnemonic, longp, seed, &err), 0);
}

static void test_generate(void **state)
{
        char a[BIP39_MNEMONIC_MAX], b[BIP39_MNEMONIC_MAX], canon[BIP39_MNEMONIC_MAX];
        size_t elen = 0;
        assert_int_equal(bip39_mnemonic_generate(BIP39_ENTROPY_MAX, a, sizeof(a)), 0);
        assert_int_equal(bip39_mnemonic_generate(BIP39_ENTROPY_MAX, b, sizeof(b)), 0);
        assert_string_not_equal(a, b);
        assert_int_equal(bip39_mnemonic_normalize(a, canon, sizeof(canon), &elen, NULL), 0);
        assert_string_equal(canon, a);
        assert_int_equal(elen, 32);
        size_t words = 1;
        for (const char *p = a; *p; p++)
                words += *p == ' ';
        assert_int_equal(words, 24);
        assert_int_equal(bip39_mnemonic_generate(16, a, sizeof(a)), 0);
        assert_int_equal(bip39_mnemonic_normalize(a, canon, sizeof(canon), &elen, NULL), 0);
        assert_int_equal(elen, 16);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_wordlist),
            cmocka_unit_test(test_word_index_misses),
            cmocka_unit_test(test_vectors_entropy_to_mnemonic),
            cmocka_unit_test(test_vectors_mnemonic_to_entropy),
            cmocka_unit_test(test_vectors_seed_and_master),
            cmocka_unit_test(test_seed_empty_passphrase),
            cmocka_unit_test(test_typed_forms),
            cmocka_unit_test(test_errors),
            cmocka_unit_test(test_input_limit),
            cmocka_unit_test(test_bad_lengths_and_buffers),
            cmocka_unit_test(test_passphrase_rules),
            cmocka_unit_test(test_generate),
        };
        if (sodium_init() < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
