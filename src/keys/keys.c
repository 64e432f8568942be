#include <errno.h>
#include <sodium.h>
#include <string.h>
#include "core/util.h"
#include "keys/keys.h"
#include "keys/secure.h"

_Static_assert(KEYS_PWHASH_STR_SIZE == crypto_pwhash_STRBYTES, "pwhash string size");
_Static_assert(KEYS_VAULT_SIZE - KEYS_VAULT_HEADER_SIZE ==
                   BIP39_SEED_SIZE + crypto_aead_xchacha20poly1305_ietf_ABYTES,
               "vault size");

/* Vault header layout (docs/keys.md). */
#define VAULT_KDF_ARGON2ID13    1
#define VAULT_AEAD_XCHACHA20P   2
#define VAULT_PAYLOAD_BIP39SEED 1
#define VAULT_OFF_OPS           4
#define VAULT_OFF_MEM           8 /* KiB */
#define VAULT_OFF_SALT          12
#define VAULT_OFF_NONCE         (VAULT_OFF_SALT + crypto_pwhash_SALTBYTES)
_Static_assert(VAULT_OFF_NONCE + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES ==
                   KEYS_VAULT_HEADER_SIZE,
               "vault header");

/* Domain separation for session token hashes. */
#define TOKEN_HASH_KEY "dogeboxd session token v1"

/* --- Password ----------------------------------------------------------- */

int keys_password_check(const char *password, const char *path, struct dbx_error *err)
{
        size_t len;
        if (!password || !*password)
                return dbx_error_set(err, -EINVAL, path, "must not be empty");
        len = strnlen(password, KEYS_PASSWORD_MAX + 1);
        if (len > KEYS_PASSWORD_MAX)
                return dbx_error_set(err, -EINVAL, path, "longer than %d bytes", KEYS_PASSWORD_MAX);
        if (len < KEYS_PASSWORD_MIN)
                return dbx_error_set(err, -EINVAL, path, "shorter than %d characters",
                                     KEYS_PASSWORD_MIN);
        return 0;
}

int keys_password_hash(const char *password, char out[KEYS_PWHASH_STR_SIZE], struct dbx_error *err)
{
        int r = keys_password_check(password, "password", err);
        if (r < 0)
                return r;
        keys_sodium_ready();
        if (crypto_pwhash_str_alg(out, password, strlen(password), KEYS_PWHASH_OPSLIMIT,
                                  KEYS_PWHASH_MEMLIMIT, crypto_pwhash_ALG_ARGON2ID13) != 0)
                return dbx_error_set(err, -ENOMEM, "",
                                     "cannot hash the password: Argon2id needs %llu MiB of memory",
                                     KEYS_PWHASH_MEMLIMIT >> 20);
        return 0;
}

/* The parameters a stored hash asks for, bounded like the vault's, so a
 * damaged or tampered hash cannot make a login allocate gigabytes. */
static bool pwhash_params_ok(const char *hash)
{
        unsigned m = 0, t = 0, p = 0;
        int end = 0;
        if (sscanf(hash, "$argon2id$v=19$m=%u,t=%u,p=%u$%n", &m, &t, &p, &end) != 3 || end == 0)
                return false;
        return t >= 1 && t <= KEYS_VAULT_OPSLIMIT_MAX && m >= 8 &&
               (uint64_t)m << 10 <= KEYS_VAULT_MEMLIMIT_MAX && p == 1;
}

int keys_password_verify(const char *hash, const char *password)
{
        if (!hash ||
            strncmp(hash, crypto_pwhash_argon2id_STRPREFIX,
                    strlen(crypto_pwhash_argon2id_STRPREFIX)) != 0 ||
            strnlen(hash, KEYS_PWHASH_STR_SIZE) >= KEYS_PWHASH_STR_SIZE || !pwhash_params_ok(hash))
                return -EINVAL;
        if (!password || strnlen(password, KEYS_PASSWORD_MAX + 1) > KEYS_PASSWORD_MAX)
                return -EACCES;
        keys_sodium_ready();
        /* libsodium recomputes and compares in constant time. A hash string
         * that does not parse also fails here; a wrong password and a
         * malformed string cannot be told apart by libsodium, and the prefix
         * check above catches the common malformed cases. */
        if (crypto_pwhash_str_verify(hash, password, strlen(password)) != 0)
                return -EACCES;
        return 0;
}

bool keys_password_needs_rehash(const char *hash)
{
        if (!hash)
                return true;
        keys_sodium_ready();
        return crypto_pwhash_str_needs_rehash(hash, KEYS_PWHASH_OPSLIMIT, KEYS_PWHASH_MEMLIMIT) !=
               0;
}

/* --- Vault -------------------------------------------------------------- */

static void put_be32(uint8_t *p, uint32_t v)
{
        p[0] = (uint8_t)(v >> 24);
        p[1] = (uint8_t)(v >> 16);
        p[2] = (uint8_t)(v >> 8);
        p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
        return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Argon2id(password, salt) -> 32-byte AEAD key in locked memory. */
static int derive_key(const char *password, const uint8_t *salt, unsigned long long ops, size_t mem,
                      uint8_t **ret_key, struct dbx_error *err)
{
        uint8_t *key = secure_alloc(crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
        if (crypto_pwhash(key, crypto_aead_xchacha20poly1305_ietf_KEYBYTES, password,
                          strlen(password), salt, ops, mem, crypto_pwhash_ALG_ARGON2ID13) != 0) {
                secure_free(key);
                return dbx_error_set(err, -ENOMEM, "",
                                     "cannot derive the key: Argon2id needs %zu MiB of memory",
                                     mem >> 20);
        }
        *ret_key = key;
        return 0;
}

int keys_vault_seal(const uint8_t seed[BIP39_SEED_SIZE], const char *password,
                    char out[KEYS_VAULT_HEX_SIZE], struct dbx_error *err)
{
        uint8_t blob[KEYS_VAULT_SIZE];
        _cleanup_secure_ uint8_t *key = NULL;
        int r;

        r = keys_password_check(password, "password", err);
        if (r < 0)
                return r;
        keys_sodium_ready();
        blob[0] = KEYS_VAULT_VERSION;
        blob[1] = VAULT_KDF_ARGON2ID13;
        blob[2] = VAULT_AEAD_XCHACHA20P;
        blob[3] = VAULT_PAYLOAD_BIP39SEED;
        put_be32(blob + VAULT_OFF_OPS, (uint32_t)KEYS_PWHASH_OPSLIMIT);
        put_be32(blob + VAULT_OFF_MEM, (uint32_t)(KEYS_PWHASH_MEMLIMIT >> 10));
        randombytes_buf(blob + VAULT_OFF_SALT, crypto_pwhash_SALTBYTES);
        randombytes_buf(blob + VAULT_OFF_NONCE, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);

        r = derive_key(password, blob + VAULT_OFF_SALT, KEYS_PWHASH_OPSLIMIT, KEYS_PWHASH_MEMLIMIT,
                       &key, err);
        if (r < 0)
                return r;
        crypto_aead_xchacha20poly1305_ietf_encrypt(blob + KEYS_VAULT_HEADER_SIZE, NULL, seed,
                                                   BIP39_SEED_SIZE, blob, KEYS_VAULT_HEADER_SIZE,
                                                   NULL, blob + VAULT_OFF_NONCE, key);
        hex_encode(blob, sizeof(blob), out);
        return 0;
}

int keys_vault_open(const char *vault, const char *password, uint8_t **ret_seed,
                    struct dbx_error *err)
{
        uint8_t blob[KEYS_VAULT_SIZE];
        _cleanup_secure_ uint8_t *key = NULL, *seed = NULL;
        uint32_t ops, mem_kib;
        int r;

        if (!vault || hex_decode(vault, blob, sizeof(blob)) < 0)
                return dbx_error_set(err, -EBADMSG, "vault",
                                     "stored key is not a %d-character hex string; the key store "
                                     "is damaged",
                                     2 * KEYS_VAULT_SIZE);
        if (blob[0] != KEYS_VAULT_VERSION)
                return dbx_error_set(err, -EBADMSG, "vault",
                                     "stored key has format version %u; this dogeboxd reads "
                                     "version %d",
                                     blob[0], KEYS_VAULT_VERSION);
        if (blob[1] != VAULT_KDF_ARGON2ID13 || blob[2] != VAULT_AEAD_XCHACHA20P ||
            blob[3] != VAULT_PAYLOAD_BIP39SEED)
                return dbx_error_set(err, -EBADMSG, "vault",
                                     "stored key uses unknown algorithms (%u/%u/%u)", blob[1],
                                     blob[2], blob[3]);
        ops = get_be32(blob + VAULT_OFF_OPS);
        mem_kib = get_be32(blob + VAULT_OFF_MEM);
        if (ops < crypto_pwhash_argon2id_OPSLIMIT_MIN || ops > KEYS_VAULT_OPSLIMIT_MAX ||
            (uint64_t)mem_kib << 10 < crypto_pwhash_argon2id_MEMLIMIT_MIN ||
            (uint64_t)mem_kib << 10 > KEYS_VAULT_MEMLIMIT_MAX)
                return dbx_error_set(err, -EBADMSG, "vault",
                                     "stored key asks for Argon2id t=%u m=%u KiB; accepted: t "
                                     "up to %d, m up to %llu MiB",
                                     ops, mem_kib, KEYS_VAULT_OPSLIMIT_MAX,
                                     KEYS_VAULT_MEMLIMIT_MAX >> 20);
        r = keys_password_check(password, "password", err);
        if (r < 0)
                return r;
        keys_sodium_ready();
        r = derive_key(password, blob + VAULT_OFF_SALT, ops, (size_t)mem_kib << 10, &key, err);
        if (r < 0)
                return r;
        seed = secure_alloc(BIP39_SEED_SIZE);
        if (crypto_aead_xchacha20poly1305_ietf_decrypt(
                seed, NULL, NULL, blob + KEYS_VAULT_HEADER_SIZE,
                KEYS_VAULT_SIZE - KEYS_VAULT_HEADER_SIZE, blob, KEYS_VAULT_HEADER_SIZE,
                blob + VAULT_OFF_NONCE, key) != 0)
                return dbx_error_set(err, -EACCES, "password", "incorrect password");
        *ret_seed = TAKE_PTR(seed);
        return 0;
}

/* --- Master ------------------------------------------------------------- */

/* Master key and delegate parent from a seed. */
static int master_from_seed(const uint8_t *seed, char pub_hex[KEYS_PUB_HEX_SIZE], char *parent,
                            size_t parent_size, struct dbx_error *err)
{
        _cleanup_secure_ struct bip32_key *m = secure_alloc(sizeof(*m));
        _cleanup_secure_ struct bip32_key *p = secure_alloc(sizeof(*p));
        int r;

        r = bip32_master_from_seed(seed, BIP39_SEED_SIZE, m);
        if (r < 0)
                return dbx_error_set(err, r, "",
                                     "this seed gives an invalid BIP32 master key (probability "
                                     "2^-127); create a new key");
        if (pub_hex)
                bip32_public_hex(m, pub_hex);
        if (parent) {
                r = bip32_derive_path(m, KEYS_DELEGATE_PARENT_PATH, p, err);
                if (r < 0)
                        return r;
                r = bip32_serialize(p, &bip32_dogecoin, true, parent, parent_size);
                if (r < 0)
                        return dbx_error_set(err, r, "", "delegate parent buffer too small");
        }
        return 0;
}

struct keys_master *keys_master_free(struct keys_master *m)
{
        return secure_free(m);
}

int keys_master_import(const char *mnemonic, const char *password, struct keys_master **ret,
                       struct dbx_error *err)
{
        struct keys_master *m = NULL;
        _cleanup_secure_ uint8_t *seed = NULL;
        int r;

        r = keys_password_check(password, "password", err);
        if (r < 0)
                return r;
        m = secure_alloc(sizeof(*m));
        seed = secure_alloc(BIP39_SEED_SIZE);
        r = bip39_mnemonic_normalize(mnemonic, m->mnemonic, sizeof(m->mnemonic), NULL, err);
        if (r < 0)
                goto fail;
        r = bip39_mnemonic_to_seed(m->mnemonic, "", seed, err);
        if (r < 0)
                goto fail;
        r = master_from_seed(seed, m->master_pub, m->delegate_parent, sizeof(m->delegate_parent),
                             err);
        if (r < 0)
                goto fail;
        r = keys_vault_seal(seed, password, m->cred.vault, err);
        if (r < 0)
                goto fail;
        r = keys_password_hash(password, m->cred.password_hash, err);
        if (r < 0)
                goto fail;
        *ret = m;
        return 0;
fail:
        keys_master_free(m);
        return r;
}

int keys_master_create(const char *password, struct keys_master **ret, struct dbx_error *err)
{
        _cleanup_secure_ char *words = NULL;
        int r;

        r = keys_password_check(password, "password", err);
        if (r < 0)
                return r;
        words = secure_alloc(BIP39_MNEMONIC_MAX);
        r = bip39_mnemonic_generate(BIP39_ENTROPY_MAX, words, BIP39_MNEMONIC_MAX);
        if (r < 0)
                return dbx_error_set(err, r, "", "cannot generate a mnemonic");
        return keys_master_import(words, password, ret, err);
}

static int check_pub_hex(const char *master_pub, struct dbx_error *err)
{
        uint8_t b[BIP32_PUBKEY_SIZE];
        if (!master_pub || hex_decode(master_pub, b, sizeof(b)) < 0 ||
            (b[0] != 0x02 && b[0] != 0x03))
                return dbx_error_set(err, -EBADMSG, "master_pub",
                                     "stored master public key is not 66 hex digits of a "
                                     "compressed key; the key store is damaged");
        return 0;
}

/* Seed of a mnemonic known to belong to master_pub. */
static int seed_for_mnemonic(const char *master_pub, const char *mnemonic, uint8_t **ret_seed,
                             struct dbx_error *err)
{
        _cleanup_secure_ uint8_t *seed = secure_alloc(BIP39_SEED_SIZE);
        char pub[KEYS_PUB_HEX_SIZE];
        int r;

        r = check_pub_hex(master_pub, err);
        if (r < 0)
                return r;
        r = bip39_mnemonic_to_seed(mnemonic, "", seed, err);
        if (r < 0)
                return r;
        r = master_from_seed(seed, pub, NULL, 0, err);
        if (r < 0)
                return r;
        /* Both are public values; constant-time anyway, it costs nothing. The
         * stored hex may be upper case if written by another tool. */
        char want[KEYS_PUB_HEX_SIZE];
        for (size_t i = 0; i < sizeof(want); i++)
                want[i] =
                    (char)(master_pub[i] >= 'A' && master_pub[i] <= 'F' ? master_pub[i] - 'A' + 'a'
                                                                        : master_pub[i]);
        if (sodium_memcmp(pub, want, sizeof(pub)) != 0)
                return dbx_error_set(err, -EACCES, "seedphrase",
                                     "this recovery phrase is valid but does not belong to this "
                                     "box's master key");
        if (ret_seed)
                *ret_seed = TAKE_PTR(seed);
        return 0;
}

int keys_mnemonic_check(const char *master_pub, const char *mnemonic, struct dbx_error *err)
{
        return seed_for_mnemonic(master_pub, mnemonic, NULL, err);
}

int keys_rekey_with_password(const struct keys_credentials *cur, const char *old_password,
                             const char *new_password, struct keys_credentials *ret,
                             struct dbx_error *err)
{
        _cleanup_secure_ uint8_t *seed = NULL;
        struct keys_credentials next;
        int r;

        r = keys_password_check(new_password, "new_password", err);
        if (r < 0)
                return r;
        r = keys_password_verify(cur->password_hash, old_password);
        if (r == -EINVAL)
                return dbx_error_set(err, -EBADMSG, "password_hash",
                                     "stored password hash is not an Argon2id string; the key "
                                     "store is damaged");
        if (r < 0)
                return dbx_error_set(err, -EACCES, "current_password", "incorrect password");
        r = keys_vault_open(cur->vault, old_password, &seed, err);
        if (r == -EACCES)
                /* The hash matched but the vault did not open: they disagree. */
                return dbx_error_set(err, -EBADMSG, "vault",
                                     "stored key does not open with the password that matches "
                                     "the stored hash; the key store is damaged");
        if (r < 0)
                return r;
        r = keys_vault_seal(seed, new_password, next.vault, err);
        if (r < 0)
                return r;
        r = keys_password_hash(new_password, next.password_hash, err);
        if (r < 0)
                return r;
        *ret = next;
        return 0;
}

int keys_rekey_with_mnemonic(const char *master_pub, const char *mnemonic, const char *new_password,
                             struct keys_credentials *ret, struct dbx_error *err)
{
        _cleanup_secure_ uint8_t *seed = NULL;
        struct keys_credentials next;
        int r;

        r = keys_password_check(new_password, "new_password", err);
        if (r < 0)
                return r;
        r = seed_for_mnemonic(master_pub, mnemonic, &seed, err);
        if (r < 0)
                return r;
        r = keys_vault_seal(seed, new_password, next.vault, err);
        if (r < 0)
                return r;
        r = keys_password_hash(new_password, next.password_hash, err);
        if (r < 0)
                return r;
        *ret = next;
        return 0;
}

int keys_delegate_parent_from_vault(const char *vault, const char *password, char *out,
                                    size_t out_size, struct dbx_error *err)
{
        _cleanup_secure_ uint8_t *seed = NULL;
        int r = keys_vault_open(vault, password, &seed, err);
        if (r < 0)
                return r;
        return master_from_seed(seed, NULL, out, out_size, err);
}

/* --- Delegates ---------------------------------------------------------- */

struct keys_delegate *keys_delegate_free(struct keys_delegate *d)
{
        return secure_free(d);
}

int keys_delegate_derive(const char *parent, uint32_t index, struct keys_delegate **ret,
                         struct dbx_error *err)
{
        _cleanup_secure_ struct bip32_key *p = secure_alloc(sizeof(*p));
        _cleanup_secure_ struct bip32_key *c = secure_alloc(sizeof(*c));
        struct keys_delegate *d;
        struct dbx_error perr = {0};
        int r;

        if (index < KEYS_DELEGATE_INDEX_MIN || index > KEYS_DELEGATE_INDEX_MAX)
                return dbx_error_set(err, -ERANGE, "index",
                                     "delegate key index %u is out of range (%d to %u)", index,
                                     KEYS_DELEGATE_INDEX_MIN, KEYS_DELEGATE_INDEX_MAX);
        r = bip32_parse(parent ? parent : "", NULL, p, NULL, &perr);
        if (r < 0)
                return dbx_error_set(err, r, "delegate_parent", "stored delegate parent: %s",
                                     perr.message);
        if (!p->has_private || p->depth != 2 ||
            p->child_number != (BIP32_HARDENED | KEYS_DELEGATE_ACCOUNT))
                return dbx_error_set(err, -EINVAL, "delegate_parent",
                                     "stored delegate parent is not the private key of %s "
                                     "(found a %s key at depth %u)",
                                     KEYS_DELEGATE_PARENT_PATH,
                                     p->has_private ? "private" : "public", p->depth);
        r = bip32_derive_child(p, BIP32_HARDENED | index, c);
        if (r < 0)
                return dbx_error_set(err, r, "index",
                                     "delegate key index %u gives an invalid key (probability "
                                     "2^-127); allocate the next index",
                                     index);
        d = secure_alloc(sizeof(*d));
        hex_encode(c->private_key, sizeof(c->private_key), d->key);
        bip32_public_hex(c, d->pub);
        r = bip32_serialize(c, &bip32_dogecoin, true, d->extended_key, sizeof(d->extended_key));
        if (r < 0) {
                keys_delegate_free(d);
                return dbx_error_set(err, r, "", "cannot serialize the delegate key");
        }
        *ret = d;
        return 0;
}

/* --- Tokens ------------------------------------------------------------- */

void keys_token_new(char out[KEYS_TOKEN_HEX_SIZE])
{
        uint8_t b[KEYS_TOKEN_BYTES];
        keys_sodium_ready();
        randombytes_buf(b, sizeof(b));
        sodium_bin2hex(out, KEYS_TOKEN_HEX_SIZE, b, sizeof(b));
        sodium_memzero(b, sizeof(b));
}

int keys_token_hash(const char *token, uint8_t out[KEYS_TOKEN_HASH_SIZE])
{
        uint8_t b[KEYS_TOKEN_BYTES];
        size_t len = 0;
        const char *end = NULL;

        if (!token || strnlen(token, KEYS_TOKEN_HEX_SIZE) != KEYS_TOKEN_HEX_SIZE - 1)
                return -EINVAL;
        if (sodium_hex2bin(b, sizeof(b), token, KEYS_TOKEN_HEX_SIZE - 1, NULL, &len, &end) != 0 ||
            len != sizeof(b) || *end != 0) {
                sodium_memzero(b, sizeof(b));
                return -EINVAL;
        }
        crypto_generichash(out, KEYS_TOKEN_HASH_SIZE, b, sizeof(b), (const uint8_t *)TOKEN_HASH_KEY,
                           sizeof(TOKEN_HASH_KEY) - 1);
        sodium_memzero(b, sizeof(b));
        return 0;
}

bool keys_token_hash_equal(const uint8_t a[KEYS_TOKEN_HASH_SIZE],
                           const uint8_t b[KEYS_TOKEN_HASH_SIZE])
{
        return sodium_memcmp(a, b, KEYS_TOKEN_HASH_SIZE) == 0;
}
