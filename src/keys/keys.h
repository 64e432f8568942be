/* The owner's keys: password hash, the master seed encrypted under the
 * password, the hardened parent m/1000'/2' from which every pup's delegate
 * key is derived without a login, per-pup delegate keys in upstream's file
 * formats, and session token helpers. See docs/keys.md.
 *
 * Everything here is pure computation (no files, no database, no logging):
 * callers store the strings these functions produce. Functions return 0 or
 * a negative errno and, where a person needs to know what went wrong, fill
 * err. Structures that carry secrets are allocated in locked memory
 * (sodium_malloc) and must be released with their _free function, which
 * wipes them.
 *
 * Cost: every function that takes a password runs Argon2id at
 * KEYS_PWHASH_OPSLIMIT/KEYS_PWHASH_MEMLIMIT (~0.1 s and 64 MiB on a laptop,
 * ~0.5-1 s on a Raspberry Pi 4): call them from a worker, never from the
 * event loop. Token functions take well under a microsecond. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/error.h"
#include "keys/bip32.h"
#include "keys/bip39.h"

/* --- Owner password ---------------------------------------------------- */

/* Argon2id (libsodium, version 1.3, one lane) cost, for the stored password
 * hash and for the key that encrypts the seed. t=3 passes over 64 MiB: the
 * memory a 1-2 GiB ARM board can spare for the rare login without swapping,
 * and the time cost RFC 9106 suggests for that memory (its second
 * recommended option is t=3, m=64 MiB). Upstream's DKM uses the same t and m
 * (with 4 lanes, which libsodium does not offer). */
#define KEYS_PWHASH_OPSLIMIT 3ULL
#define KEYS_PWHASH_MEMLIMIT (64ULL << 20)
#define KEYS_PASSWORD_MIN    1    /* upstream accepts any non-empty password */
#define KEYS_PASSWORD_MAX    1024 /* bytes; longer is a paste accident or an attack */
#define KEYS_PWHASH_STR_SIZE 128  /* crypto_pwhash_STRBYTES: "$argon2id$v=19$m=..." + NUL */

/* Non-empty, at most KEYS_PASSWORD_MAX bytes. -EINVAL with err otherwise.
 * path names the field in err ("password", "new_password"). */
int keys_password_check(const char *password, const char *path, struct dbx_error *err);

/* Argon2id hash string with a fresh random salt. */
int keys_password_hash(const char *password, char out[KEYS_PWHASH_STR_SIZE], struct dbx_error *err);

/* 0 if password matches hash, -EACCES if not, -EINVAL if hash is not an
 * Argon2id v1.3 string with one lane and costs within the vault's limits
 * (KEYS_VAULT_OPSLIMIT_MAX, KEYS_VAULT_MEMLIMIT_MAX). The comparison inside
 * libsodium is constant-time. */
int keys_password_verify(const char *hash, const char *password);

/* True if hash was made with other parameters than the current ones, so the
 * caller may re-hash after a successful login. */
bool keys_password_needs_rehash(const char *hash);

/* --- Encrypted seed ("vault") ------------------------------------------- */

/* Versioned blob, stored as lowercase hex (docs/keys.md has the layout):
 * version, algorithm ids, Argon2id parameters, 16-byte salt, 24-byte nonce,
 * then the BIP39 seed encrypted with XChaCha20-Poly1305 under
 * Argon2id(password, salt); the header is authenticated as associated data. */
#define KEYS_VAULT_VERSION     1
#define KEYS_VAULT_HEADER_SIZE 52
#define KEYS_VAULT_SIZE        (KEYS_VAULT_HEADER_SIZE + BIP39_SEED_SIZE + 16)
#define KEYS_VAULT_HEX_SIZE    (2 * KEYS_VAULT_SIZE + 1)
/* Limits on the Argon2id parameters a blob may ask for, so a tampered blob
 * cannot make the daemon allocate gigabytes or spin for minutes. */
#define KEYS_VAULT_OPSLIMIT_MAX 16
#define KEYS_VAULT_MEMLIMIT_MAX (512ULL << 20)

/* Encrypt a 64-byte seed under password. */
int keys_vault_seal(const uint8_t seed[BIP39_SEED_SIZE], const char *password,
                    char out[KEYS_VAULT_HEX_SIZE], struct dbx_error *err);

/* Decrypt: *ret_seed receives BIP39_SEED_SIZE bytes in locked memory, to be
 * released with secure_free() (keys/secure.h) as soon as possible.
 * -EACCES for a wrong password, -EBADMSG for a damaged or unknown blob. */
int keys_vault_open(const char *vault, const char *password, uint8_t **ret_seed,
                    struct dbx_error *err);

/* --- Master key --------------------------------------------------------- */

/* Delegate keys live under m/1000'/2'/N' (upstream DKM). */
#define KEYS_DELEGATE_PURPOSE     1000
#define KEYS_DELEGATE_ACCOUNT     2
#define KEYS_DELEGATE_PARENT_PATH "m/1000'/2'"
#define KEYS_DELEGATE_INDEX_MIN   1 /* upstream allocates max(keyid)+1 from 1 */
#define KEYS_DELEGATE_INDEX_MAX   0x7fffffffu
#define KEYS_PUB_HEX_SIZE         (2 * BIP32_PUBKEY_SIZE + 1)
#define KEYS_PRIV_HEX_SIZE        65

/* What the store keeps; nothing here is secret. */
struct keys_credentials {
        char password_hash[KEYS_PWHASH_STR_SIZE];
        char vault[KEYS_VAULT_HEX_SIZE];
};

/* Result of creating the master key. Secret: allocated in locked memory,
 * release with keys_master_free(). */
struct keys_master {
        char mnemonic[BIP39_MNEMONIC_MAX]; /* 24 words: show once, never store */
        struct keys_credentials cred;      /* store */
        /* Compressed master public key (hex, as upstream DKM's "pub"): lets a
         * recovery phrase be checked without the password. Store. */
        char master_pub[KEYS_PUB_HEX_SIZE];
        /* dgpv serialization of m/1000'/2': store readable only by the
         * daemon; installs derive pup keys from it with no login. */
        char delegate_parent[BIP32_XKEY_STR_MAX];
};

/* A new 24-word mnemonic from 32 bytes of randombytes, then as
 * keys_master_import. */
int keys_master_create(const char *password, struct keys_master **ret, struct dbx_error *err);

/* Everything from a given mnemonic (canonicalized; BIP39 passphrase empty,
 * as upstream). For restore and tests. */
int keys_master_import(const char *mnemonic, const char *password, struct keys_master **ret,
                       struct dbx_error *err);

struct keys_master *keys_master_free(struct keys_master *m);

/* 0 if the mnemonic is valid and belongs to the master whose public key is
 * master_pub; -EACCES (err: "does not belong to this box") if it is a valid
 * phrase for another key; BIP39 errors (-EINVAL, -ENOENT, -EBADMSG) as
 * bip39_mnemonic_normalize. No password needed. */
int keys_mnemonic_check(const char *master_pub, const char *mnemonic, struct dbx_error *err);

/* Change the password knowing the current one: verifies it against
 * cur->password_hash (-EACCES), decrypts the vault, re-encrypts it under a
 * new salt and nonce, hashes the new password. */
int keys_rekey_with_password(const struct keys_credentials *cur, const char *old_password,
                             const char *new_password, struct keys_credentials *ret,
                             struct dbx_error *err);

/* Change the password with the recovery phrase instead: checks it against
 * master_pub, re-derives the seed from it and seals that under the new
 * password. The old vault is not needed. */
int keys_rekey_with_mnemonic(const char *master_pub, const char *mnemonic, const char *new_password,
                             struct keys_credentials *ret, struct dbx_error *err);

/* The delegate parent m/1000'/2' (dgpv) re-derived from the vault, should
 * the stored copy be lost. out must hold BIP32_XKEY_STR_MAX bytes and is a
 * secret: wipe it (sodium_memzero) after use. */
int keys_delegate_parent_from_vault(const char *vault, const char *password, char *out,
                                    size_t out_size, struct dbx_error *err);

/* --- Per-pup delegate keys ---------------------------------------------- */

/* The exact contents of the two files written into a pup's /storage
 * (upstream writes them without a trailing newline). Secret. */
struct keys_delegate {
        char key[KEYS_PRIV_HEX_SIZE];          /* delegated.key: hex of the 32-byte key */
        char extended_key[BIP32_XKEY_STR_MAX]; /* delegated.extended.key: dgpv... */
        char pub[KEYS_PUB_HEX_SIZE];           /* compressed public key (not written) */
};

/* Derive m/1000'/2'/index' from the stored parent (dgpv or xprv string of
 * m/1000'/2'; checked to be a private key at depth 2, index 2'). index in
 * KEYS_DELEGATE_INDEX_MIN..KEYS_DELEGATE_INDEX_MAX. */
int keys_delegate_derive(const char *parent, uint32_t index, struct keys_delegate **ret,
                         struct dbx_error *err);

struct keys_delegate *keys_delegate_free(struct keys_delegate *d);

/* --- Session tokens ----------------------------------------------------- */

#define KEYS_TOKEN_BYTES     32 /* 256 random bits */
#define KEYS_TOKEN_HEX_SIZE  (2 * KEYS_TOKEN_BYTES + 1)
#define KEYS_TOKEN_HASH_SIZE 32 /* BLAKE2b-256 */

/* A new token: 64 lowercase hex characters (upstream's format). */
void keys_token_new(char out[KEYS_TOKEN_HEX_SIZE]);

/* Hash for storage: BLAKE2b-256 of the 32 decoded bytes, keyed with a fixed
 * domain-separation string. -EINVAL unless token is exactly 64 hex digits
 * (either case). Decoding is constant-time (sodium_hex2bin). */
int keys_token_hash(const char *token, uint8_t out[KEYS_TOKEN_HASH_SIZE]);

/* Constant-time equality of two token hashes (sodium_memcmp). */
bool keys_token_hash_equal(const uint8_t a[KEYS_TOKEN_HASH_SIZE],
                           const uint8_t b[KEYS_TOKEN_HASH_SIZE]);
