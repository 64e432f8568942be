/* BIP39 mnemonics with the official English word list: entropy <-> words
 * with checksum, validation of what a person typed, and the 64-byte seed
 * (PBKDF2-HMAC-SHA512, 2048 rounds, salt "mnemonic" + passphrase).
 *
 * Mnemonics, entropy and seeds are secrets: callers keep them in
 * sodium_malloc'ed memory and wipe them; these functions wipe every
 * temporary copy they make. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/error.h"

#define BIP39_WORDLIST_SIZE 2048 /* 11 bits per word */
#define BIP39_WORD_MAX      8    /* longest English word ("abstract", ...) */
#define BIP39_ENTROPY_MIN   16   /* 128 bits: 12 words */
#define BIP39_ENTROPY_MAX   32   /* 256 bits: 24 words, what dogeboxd creates */
#define BIP39_WORDS_MIN     12
#define BIP39_WORDS_MAX     24
/* 24 words of at most 8 letters, 23 single spaces, NUL. */
#define BIP39_MNEMONIC_MAX   (BIP39_WORDS_MAX * (BIP39_WORD_MAX + 1))
#define BIP39_INPUT_MAX      2048 /* typed/pasted phrase incl. odd spacing; longer is junk */
#define BIP39_PASSPHRASE_MAX 256  /* optional BIP39 passphrase (dogeboxd uses none) */
#define BIP39_SEED_SIZE      64
#define BIP39_PBKDF2_ROUNDS  2048 /* fixed by BIP39 */

/* The official list, sorted (gen-bip39-english.py writes bip39_english.c). */
extern const char *const bip39_english[BIP39_WORDLIST_SIZE];

/* Index of word[0..len) in the list (exact, lowercase), or -ENOENT. */
int bip39_word_index(const char *word, size_t len);

/* Words for entropy of 16, 20, 24, 28 or 32 bytes, single spaces, into out
 * (BIP39_MNEMONIC_MAX is always enough). -EINVAL on another length,
 * -ENOBUFS if out is too small. */
int bip39_mnemonic_from_entropy(const uint8_t *entropy, size_t len, char *out, size_t out_size);

/* A new mnemonic from entropy_len bytes of libsodium randombytes. */
int bip39_mnemonic_generate(size_t entropy_len, char *out, size_t out_size);

/* Check what a person typed and write its canonical form (lowercase words
 * joined by single spaces) into out. Words may be separated by any mix of
 * spaces, tabs, newlines and commas (upstream accepts "w1,w2"), and may use
 * upper case. Errors, in the order they are checked (err->message says which
 * word and what is expected; the phrase itself is never echoed, since it is
 * a secret and messages may end up in logs):
 *   -E2BIG   input longer than BIP39_INPUT_MAX;
 *   -EINVAL  wrong number of words (12, 15, 18, 21 or 24 expected);
 *   -ENOENT  a word is not in the English list;
 *   -EBADMSG the checksum does not match (a word wrong or out of order).
 * ret_len (optional) receives the entropy length in bytes. */
int bip39_mnemonic_normalize(const char *in, char *out, size_t out_size, size_t *ret_entropy_len,
                             struct dbx_error *err);

/* Validate (as above) and recover the entropy. out_size >= BIP39_ENTROPY_MAX
 * is always enough. */
int bip39_mnemonic_to_entropy(const char *mnemonic, uint8_t *out, size_t out_size, size_t *ret_len,
                              struct dbx_error *err);

/* Validate (as above) and derive the 64-byte seed from the canonical form of
 * the words. passphrase may be NULL or "" (dogeboxd's case); it must be
 * printable ASCII, because BIP39 requires NFKD Unicode normalization, which
 * is the identity on ASCII and is not implemented here (-EINVAL otherwise). */
int bip39_mnemonic_to_seed(const char *mnemonic, const char *passphrase,
                           uint8_t out[BIP39_SEED_SIZE], struct dbx_error *err);

/* PBKDF2 (RFC 8018) with HMAC-SHA512 on libsodium's crypto_auth_hmacsha512,
 * which has no PBKDF2 of its own. rounds >= 1, out_len >= 1. */
void pbkdf2_hmac_sha512(const uint8_t *pass, size_t pass_len, const uint8_t *salt, size_t salt_len,
                        uint32_t rounds, uint8_t *out, size_t out_len);
