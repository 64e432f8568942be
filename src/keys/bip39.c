/* BIP39: https://github.com/bitcoin/bips/blob/master/bip-0039.mediawiki */
#include <errno.h>
#include <sodium.h>
#include <string.h>
#include "keys/bip39.h"
#include "keys/secure.h"

#define BITS_PER_WORD 11
#define SALT_PREFIX   "mnemonic"

int bip39_word_index(const char *word, size_t len)
{
        size_t lo = 0, hi = BIP39_WORDLIST_SIZE;
        if (len == 0 || len > BIP39_WORD_MAX)
                return -ENOENT;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                const char *w = bip39_english[mid];
                int c = strncmp(word, w, len);
                if (c == 0 && w[len] != 0)
                        c = -1; /* word is a proper prefix of w: sorts before it */
                if (c == 0)
                        return (int)mid;
                if (c < 0)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        return -ENOENT;
}

static bool entropy_len_ok(size_t len)
{
        return len >= BIP39_ENTROPY_MIN && len <= BIP39_ENTROPY_MAX && len % 4 == 0;
}

/* Bit i (MSB first) of buf. */
static unsigned bit_at(const uint8_t *buf, size_t i)
{
        return (buf[i / 8] >> (7 - i % 8)) & 1;
}

int bip39_mnemonic_from_entropy(const uint8_t *entropy, size_t len, char *out, size_t out_size)
{
        /* entropy || SHA256(entropy): the checksum is its first len*8/32 bits. */
        uint8_t buf[BIP39_ENTROPY_MAX + crypto_hash_sha256_BYTES];
        size_t nwords, o = 0;
        int r = 0;

        if (!entropy_len_ok(len))
                return -EINVAL;
        memcpy(buf, entropy, len);
        crypto_hash_sha256(buf + len, entropy, len);
        nwords = (len * 8 + len * 8 / 32) / BITS_PER_WORD;
        for (size_t w = 0; w < nwords; w++) {
                unsigned idx = 0;
                for (size_t b = 0; b < BITS_PER_WORD; b++)
                        idx = idx << 1 | bit_at(buf, w * BITS_PER_WORD + b);
                const char *word = bip39_english[idx];
                size_t wl = strlen(word);
                if (o + (w > 0) + wl + 1 > out_size) {
                        r = -ENOBUFS;
                        break;
                }
                if (w > 0)
                        out[o++] = ' ';
                memcpy(out + o, word, wl);
                o += wl;
        }
        if (r == 0)
                out[o] = 0;
        else if (out_size > 0)
                sodium_memzero(out, out_size);
        sodium_memzero(buf, sizeof(buf));
        return r;
}

int bip39_mnemonic_generate(size_t entropy_len, char *out, size_t out_size)
{
        uint8_t entropy[BIP39_ENTROPY_MAX];
        if (!entropy_len_ok(entropy_len))
                return -EINVAL;
        keys_sodium_ready();
        randombytes_buf(entropy, entropy_len);
        int r = bip39_mnemonic_from_entropy(entropy, entropy_len, out, out_size);
        sodium_memzero(entropy, sizeof(entropy));
        return r;
}

static bool is_separator(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == '\v' ||
               c == '\f';
}

/* Parse into word indexes. On success *ret_n words are in idx. */
static int parse_words(const char *in, uint16_t idx[BIP39_WORDS_MAX], size_t *ret_n,
                       struct dbx_error *err)
{
        size_t inlen = strnlen(in, BIP39_INPUT_MAX + 1), n = 0, unknown_at = 0;
        bool bad_char = false;

        if (inlen > BIP39_INPUT_MAX)
                return dbx_error_set(err, -E2BIG, "",
                                     "the recovery phrase is longer than %d characters; expected "
                                     "12 to 24 words from the BIP39 English list",
                                     BIP39_INPUT_MAX);
        /* First pass: count words, so a wrong count is reported before a
         * single misspelling (the more useful message when words are
         * missing). */
        for (size_t i = 0; i < inlen;) {
                while (i < inlen && is_separator(in[i]))
                        i++;
                if (i == inlen)
                        break;
                n++;
                while (i < inlen && !is_separator(in[i]))
                        i++;
        }
        if (n != 12 && n != 15 && n != 18 && n != 21 && n != 24)
                return dbx_error_set(err, -EINVAL, "",
                                     "the recovery phrase has %zu word%s; expected 12, 15, 18, 21 "
                                     "or 24 (dogeboxd creates 24)",
                                     n, n == 1 ? "" : "s");
        n = 0;
        for (size_t i = 0; i < inlen;) {
                char word[BIP39_WORD_MAX + 1];
                size_t wl = 0;
                while (i < inlen && is_separator(in[i]))
                        i++;
                if (i == inlen)
                        break;
                bool too_long = false;
                for (; i < inlen && !is_separator(in[i]); i++) {
                        char c = in[i];
                        if (c >= 'A' && c <= 'Z')
                                c = (char)(c - 'A' + 'a');
                        if (c < 'a' || c > 'z')
                                bad_char = true;
                        if (wl < BIP39_WORD_MAX)
                                word[wl++] = c;
                        else
                                too_long = true;
                }
                int k = too_long ? -ENOENT : bip39_word_index(word, wl);
                sodium_memzero(word, sizeof(word));
                if (k < 0) {
                        unknown_at = n + 1;
                        break;
                }
                idx[n++] = (uint16_t)k;
        }
        if (unknown_at > 0) {
                sodium_memzero(idx, sizeof(uint16_t) * BIP39_WORDS_MAX);
                if (bad_char)
                        return dbx_error_set(err, -ENOENT, "",
                                             "word %zu of the recovery phrase contains a character "
                                             "that is not a letter; expected words from the BIP39 "
                                             "English list",
                                             unknown_at);
                return dbx_error_set(err, -ENOENT, "",
                                     "word %zu of the recovery phrase is not in the BIP39 English "
                                     "word list; check its spelling",
                                     unknown_at);
        }
        *ret_n = n;
        return 0;
}

/* Words -> entropy, checking the checksum. */
static int words_to_entropy(const uint16_t *idx, size_t n, uint8_t *entropy, size_t *ret_len,
                            struct dbx_error *err)
{
        uint8_t bits[(BIP39_WORDS_MAX * BITS_PER_WORD + 7) / 8] = {0};
        uint8_t hash[crypto_hash_sha256_BYTES];
        size_t total = n * BITS_PER_WORD, cs = total / 33, ent = total - cs;
        int r = 0;

        for (size_t w = 0; w < n; w++)
                for (size_t b = 0; b < BITS_PER_WORD; b++)
                        if ((idx[w] >> (BITS_PER_WORD - 1 - b)) & 1) {
                                size_t i = w * BITS_PER_WORD + b;
                                bits[i / 8] |= (uint8_t)(0x80 >> (i % 8));
                        }
        crypto_hash_sha256(hash, bits, ent / 8);
        unsigned diff = 0;
        for (size_t b = 0; b < cs; b++)
                diff |= bit_at(hash, b) ^ bit_at(bits, ent + b);
        if (diff)
                r = dbx_error_set(err, -EBADMSG, "",
                                  "the recovery phrase's checksum does not match: a word is wrong "
                                  "or the words are out of order");
        else {
                memcpy(entropy, bits, ent / 8);
                *ret_len = ent / 8;
        }
        sodium_memzero(bits, sizeof(bits));
        sodium_memzero(hash, sizeof(hash));
        return r;
}

/* The common front end: parse + checksum; fills canonical text and/or entropy. */
static int check(const char *in, char *canon, size_t canon_size, uint8_t *entropy, size_t *ret_len,
                 struct dbx_error *err)
{
        uint16_t idx[BIP39_WORDS_MAX];
        uint8_t ent[BIP39_ENTROPY_MAX];
        size_t n = 0, len = 0;
        int r;

        r = parse_words(in, idx, &n, err);
        if (r < 0)
                return r;
        r = words_to_entropy(idx, n, ent, &len, err);
        if (r == 0 && canon)
                r = bip39_mnemonic_from_entropy(ent, len, canon, canon_size);
        if (r == 0 && entropy)
                memcpy(entropy, ent, len);
        if (r == 0 && ret_len)
                *ret_len = len;
        if (r == -ENOBUFS)
                dbx_error_set(err, r, "", "output buffer too small for the recovery phrase");
        sodium_memzero(idx, sizeof(idx));
        sodium_memzero(ent, sizeof(ent));
        return r;
}

int bip39_mnemonic_normalize(const char *in, char *out, size_t out_size, size_t *ret_entropy_len,
                             struct dbx_error *err)
{
        return check(in, out, out_size, NULL, ret_entropy_len, err);
}

int bip39_mnemonic_to_entropy(const char *mnemonic, uint8_t *out, size_t out_size, size_t *ret_len,
                              struct dbx_error *err)
{
        if (out_size < BIP39_ENTROPY_MAX) {
                /* Find the length first so a short buffer is only an error when
                 * it really is too small. */
                size_t len = 0;
                int r = check(mnemonic, NULL, 0, NULL, &len, err);
                if (r < 0)
                        return r;
                if (len > out_size)
                        return dbx_error_set(err, -ENOBUFS, "",
                                             "output buffer of %zu bytes is too small for %zu "
                                             "bytes of entropy",
                                             out_size, len);
        }
        return check(mnemonic, NULL, 0, out, ret_len, err);
}

void pbkdf2_hmac_sha512(const uint8_t *pass, size_t pass_len, const uint8_t *salt, size_t salt_len,
                        uint32_t rounds, uint8_t *out, size_t out_len)
{
        crypto_auth_hmacsha512_state keyed, st;
        uint8_t u[crypto_auth_hmacsha512_BYTES], t[crypto_auth_hmacsha512_BYTES];

        /* The keyed state (inner and outer pads absorbed) is computed once and
         * copied for every HMAC: 2 compressions per round instead of 4. */
        crypto_auth_hmacsha512_init(&keyed, pass, pass_len);
        for (uint32_t block = 1; out_len > 0; block++) {
                uint8_t be[4] = {(uint8_t)(block >> 24), (uint8_t)(block >> 16),
                                 (uint8_t)(block >> 8), (uint8_t)block};
                st = keyed;
                crypto_auth_hmacsha512_update(&st, salt, salt_len);
                crypto_auth_hmacsha512_update(&st, be, sizeof(be));
                crypto_auth_hmacsha512_final(&st, u);
                memcpy(t, u, sizeof(t));
                for (uint32_t i = 1; i < rounds; i++) {
                        st = keyed;
                        crypto_auth_hmacsha512_update(&st, u, sizeof(u));
                        crypto_auth_hmacsha512_final(&st, u);
                        for (size_t k = 0; k < sizeof(t); k++)
                                t[k] ^= u[k];
                }
                size_t take = out_len < sizeof(t) ? out_len : sizeof(t);
                memcpy(out, t, take);
                out += take;
                out_len -= take;
        }
        sodium_memzero(&keyed, sizeof(keyed));
        sodium_memzero(&st, sizeof(st));
        sodium_memzero(u, sizeof(u));
        sodium_memzero(t, sizeof(t));
}

int bip39_mnemonic_to_seed(const char *mnemonic, const char *passphrase,
                           uint8_t out[BIP39_SEED_SIZE], struct dbx_error *err)
{
        size_t plen = passphrase ? strnlen(passphrase, BIP39_PASSPHRASE_MAX + 1) : 0;
        int r;

        if (plen > BIP39_PASSPHRASE_MAX)
                return dbx_error_set(err, -EINVAL, "passphrase", "longer than %d characters",
                                     BIP39_PASSPHRASE_MAX);
        for (size_t i = 0; i < plen; i++)
                if ((unsigned char)passphrase[i] < 0x20 || (unsigned char)passphrase[i] > 0x7e)
                        return dbx_error_set(err, -EINVAL, "passphrase",
                                             "character %zu is not printable ASCII; only ASCII "
                                             "passphrases are supported (BIP39's NFKD Unicode "
                                             "normalization is not implemented)",
                                             i + 1);

        /* Canonical words and salt live in locked memory while in use. */
        struct {
                char words[BIP39_MNEMONIC_MAX];
                uint8_t salt[sizeof(SALT_PREFIX) - 1 + BIP39_PASSPHRASE_MAX];
        } *tmp = secure_alloc(sizeof(*tmp));
        r = check(mnemonic, tmp->words, sizeof(tmp->words), NULL, NULL, err);
        if (r == 0) {
                memcpy(tmp->salt, SALT_PREFIX, sizeof(SALT_PREFIX) - 1);
                if (plen)
                        memcpy(tmp->salt + sizeof(SALT_PREFIX) - 1, passphrase, plen);
                pbkdf2_hmac_sha512((const uint8_t *)tmp->words, strlen(tmp->words), tmp->salt,
                                   sizeof(SALT_PREFIX) - 1 + plen, BIP39_PBKDF2_ROUNDS, out,
                                   BIP39_SEED_SIZE);
        }
        secure_free(tmp);
        return r;
}
