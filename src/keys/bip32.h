/* BIP32 hierarchical deterministic keys on secp256k1 (libsecp256k1):
 * master from seed, private and public child derivation, fingerprints and
 * the 78-byte Base58Check serialization (xprv/xpub, dgpv/dgub).
 *
 * struct bip32_key holds a private key when has_private is set: keep such
 * keys in secure_alloc'ed memory and bip32_key_wipe() them. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/error.h"

#define BIP32_HARDENED         0x80000000u
#define BIP32_SEED_MIN         16 /* BIP32: 128 to 512 bits of seed */
#define BIP32_SEED_MAX         64
#define BIP32_DEPTH_MAX        255 /* depth is one byte in the serialization */
#define BIP32_PATH_MAX         BIP32_DEPTH_MAX
#define BIP32_PATH_STR_MAX     4096 /* "m/0'/1/..." accepted by bip32_derive_path */
#define BIP32_SERIALIZED_SIZE  78
#define BIP32_XKEY_STR_MAX     113 /* Base58Check of 82 bytes is <= 112 chars, + NUL */
#define BIP32_PUBKEY_SIZE      33  /* compressed SEC1 */
#define BIP32_FINGERPRINT_SIZE 4

/* Version bytes of the serialization. Dogecoin mainnet is what upstream's
 * DKM writes into pups (delegated.extended.key starts with "dgpv"); Bitcoin
 * mainnet is there for the BIP32 test vectors. */
struct bip32_network {
        const char *name;
        uint32_t xprv_version;
        uint32_t xpub_version;
};
extern const struct bip32_network bip32_dogecoin; /* dgpv 0x02fac398, dgub 0x02facafd */
extern const struct bip32_network bip32_bitcoin;  /* xprv 0x0488ade4, xpub 0x0488b21e */

struct bip32_key {
        uint8_t depth;
        uint8_t parent_fingerprint[BIP32_FINGERPRINT_SIZE];
        uint32_t child_number;
        uint8_t chain_code[32];
        bool has_private;
        uint8_t private_key[32];               /* valid when has_private */
        uint8_t public_key[BIP32_PUBKEY_SIZE]; /* always valid */
};

/* Master key: HMAC-SHA512(key "Bitcoin seed", seed). Seed of 16..64 bytes
 * (-EINVAL otherwise); -ERANGE in the 2^-127 case that the result is not a
 * valid key (BIP32: use another seed). */
int bip32_master_from_seed(const uint8_t *seed, size_t len, struct bip32_key *ret);

/* CKDpriv when parent has a private key, CKDpub otherwise (-EINVAL for a
 * hardened index without a private key). -ERANGE if the child is invalid
 * (2^-127: BIP32 says to use the next index), -EOVERFLOW past depth 255. */
int bip32_derive_child(const struct bip32_key *parent, uint32_t index, struct bip32_key *ret);

/* Parse "m/1000'/2'/3" (hardened marks ' or h or H; "m" alone is the key
 * itself) and derive from key, which must be the master for a path that
 * starts at "m". err says which component is wrong. */
int bip32_derive_path(const struct bip32_key *key, const char *path, struct bip32_key *ret,
                      struct dbx_error *err);

/* Parse a path into indexes (at most max); returns the count or -errno. */
int bip32_path_parse(const char *path, uint32_t *indexes, size_t max, struct dbx_error *err);

/* The same key without its private part. */
void bip32_neuter(const struct bip32_key *key, struct bip32_key *ret);

/* First 4 bytes of HASH160(compressed public key). */
void bip32_fingerprint(const struct bip32_key *key, uint8_t out[BIP32_FINGERPRINT_SIZE]);

/* Base58Check serialization. private selects xprv/dgpv (-EINVAL if the key
 * has none) or xpub/dgub. out_size >= BIP32_XKEY_STR_MAX is enough. */
int bip32_serialize(const struct bip32_key *key, const struct bip32_network *net, bool private,
                    char *out, size_t out_size);

/* Parse an extended key string of one of the given networks (NULL-terminated
 * array; NULL means Dogecoin and Bitcoin). Checks everything BIP32's test
 * vector 5 lists: checksum, length, version, key prefix, key range, public
 * key on the curve, depth 0 with a non-zero parent fingerprint or index.
 * ret_net (optional) receives the network. */
int bip32_parse(const char *s, const struct bip32_network *const *nets, struct bip32_key *ret,
                const struct bip32_network **ret_net, struct dbx_error *err);

void bip32_key_wipe(struct bip32_key *key);

/* Hex of the compressed public key (66 chars + NUL). */
void bip32_public_hex(const struct bip32_key *key, char out[2 * BIP32_PUBKEY_SIZE + 1]);
