/* BIP32: https://github.com/bitcoin/bips/blob/master/bip-0032.mediawiki */
#include <errno.h>
#include <pthread.h>
#include <secp256k1.h>
#include <sodium.h>
#include <string.h>
#include "core/util.h"
#include "keys/base58.h"
#include "keys/bip32.h"
#include "keys/ripemd160.h"
#include "keys/secure.h"

const struct bip32_network bip32_dogecoin = {"dogecoin", 0x02fac398, 0x02facafd};
const struct bip32_network bip32_bitcoin = {"bitcoin", 0x0488ade4, 0x0488b21e};

static const struct bip32_network *const default_networks[] = {&bip32_dogecoin, &bip32_bitcoin,
                                                               NULL};

#define MASTER_HMAC_KEY "Bitcoin seed" /* BIP32; Dogecoin uses the same */

/* One context for the process, randomized once against side channels, then
 * only read: safe to share between threads. */
static secp256k1_context *secp;
static pthread_once_t secp_once = PTHREAD_ONCE_INIT;

static void secp_init(void)
{
        uint8_t seed[32];
        keys_sodium_ready();
        secp = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
        if (!secp)
                abort();
        randombytes_buf(seed, sizeof(seed));
        if (!secp256k1_context_randomize(secp, seed))
                abort();
        sodium_memzero(seed, sizeof(seed));
}

static const secp256k1_context *ctx(void)
{
        pthread_once(&secp_once, secp_init);
        return secp;
}

static int pubkey_from_private(const uint8_t priv[32], uint8_t out[BIP32_PUBKEY_SIZE])
{
        secp256k1_pubkey pk;
        size_t len = BIP32_PUBKEY_SIZE;
        if (!secp256k1_ec_pubkey_create(ctx(), &pk, priv))
                return -ERANGE;
        secp256k1_ec_pubkey_serialize(ctx(), out, &len, &pk, SECP256K1_EC_COMPRESSED);
        return 0;
}

void bip32_key_wipe(struct bip32_key *key)
{
        sodium_memzero(key, sizeof(*key));
}

int bip32_master_from_seed(const uint8_t *seed, size_t len, struct bip32_key *ret)
{
        uint8_t I[crypto_auth_hmacsha512_BYTES];
        crypto_auth_hmacsha512_state st;
        int r = 0;

        if (len < BIP32_SEED_MIN || len > BIP32_SEED_MAX)
                return -EINVAL;
        crypto_auth_hmacsha512_init(&st, (const uint8_t *)MASTER_HMAC_KEY,
                                    sizeof(MASTER_HMAC_KEY) - 1);
        crypto_auth_hmacsha512_update(&st, seed, len);
        crypto_auth_hmacsha512_final(&st, I);
        if (!secp256k1_ec_seckey_verify(ctx(), I)) {
                r = -ERANGE;
                goto out;
        }
        memset(ret, 0, sizeof(*ret));
        memcpy(ret->private_key, I, 32);
        memcpy(ret->chain_code, I + 32, 32);
        ret->has_private = true;
        r = pubkey_from_private(ret->private_key, ret->public_key);
out:
        sodium_memzero(I, sizeof(I));
        sodium_memzero(&st, sizeof(st));
        return r;
}

void bip32_fingerprint(const struct bip32_key *key, uint8_t out[BIP32_FINGERPRINT_SIZE])
{
        uint8_t h[HASH160_SIZE];
        hash160(key->public_key, BIP32_PUBKEY_SIZE, h);
        memcpy(out, h, BIP32_FINGERPRINT_SIZE);
}

int bip32_derive_child(const struct bip32_key *parent, uint32_t index, struct bip32_key *ret)
{
        uint8_t data[1 + 32 + 4], I[crypto_auth_hmacsha512_BYTES];
        crypto_auth_hmacsha512_state st;
        struct bip32_key child;
        int r = 0;

        if (parent->depth == BIP32_DEPTH_MAX)
                return -EOVERFLOW;
        if ((index & BIP32_HARDENED) && !parent->has_private)
                return -EINVAL;

        if (index & BIP32_HARDENED) {
                data[0] = 0;
                memcpy(data + 1, parent->private_key, 32);
        } else
                memcpy(data, parent->public_key, BIP32_PUBKEY_SIZE);
        data[33] = (uint8_t)(index >> 24);
        data[34] = (uint8_t)(index >> 16);
        data[35] = (uint8_t)(index >> 8);
        data[36] = (uint8_t)index;
        crypto_auth_hmacsha512_init(&st, parent->chain_code, 32);
        crypto_auth_hmacsha512_update(&st, data, sizeof(data));
        crypto_auth_hmacsha512_final(&st, I);

        memset(&child, 0, sizeof(child));
        child.depth = (uint8_t)(parent->depth + 1);
        bip32_fingerprint(parent, child.parent_fingerprint);
        child.child_number = index;
        memcpy(child.chain_code, I + 32, 32);
        if (parent->has_private) {
                /* k_i = parse256(IL) + k_par (mod n); invalid if IL >= n or k_i = 0 */
                memcpy(child.private_key, parent->private_key, 32);
                if (!secp256k1_ec_seckey_tweak_add(ctx(), child.private_key, I)) {
                        r = -ERANGE;
                        goto out;
                }
                child.has_private = true;
                r = pubkey_from_private(child.private_key, child.public_key);
        } else {
                /* K_i = point(IL) + K_par; invalid if IL >= n or K_i is infinity */
                secp256k1_pubkey pk;
                size_t len = BIP32_PUBKEY_SIZE;
                if (!secp256k1_ec_pubkey_parse(ctx(), &pk, parent->public_key, BIP32_PUBKEY_SIZE) ||
                    !secp256k1_ec_pubkey_tweak_add(ctx(), &pk, I)) {
                        r = -ERANGE;
                        goto out;
                }
                secp256k1_ec_pubkey_serialize(ctx(), child.public_key, &len, &pk,
                                              SECP256K1_EC_COMPRESSED);
        }
        if (r == 0)
                *ret = child;
out:
        sodium_memzero(data, sizeof(data));
        sodium_memzero(I, sizeof(I));
        sodium_memzero(&st, sizeof(st));
        bip32_key_wipe(&child);
        return r;
}

int bip32_path_parse(const char *path, uint32_t *indexes, size_t max, struct dbx_error *err)
{
        size_t len = strnlen(path, BIP32_PATH_STR_MAX + 1), n = 0, comp = 0;
        const char *p = path, *end;

        if (len > BIP32_PATH_STR_MAX)
                return dbx_error_set(err, -E2BIG, "path", "longer than %d characters",
                                     BIP32_PATH_STR_MAX);
        if (len == 0)
                return dbx_error_set(err, -EINVAL, "path",
                                     "empty; expected e.g. \"m/1000'/2'/1'\"");
        end = path + len;
        if (*p == 'm' || *p == 'M') {
                p++;
                if (p == end)
                        return 0;
                if (*p != '/')
                        return dbx_error_set(err, -EINVAL, "path",
                                             "\"%s\": expected \"/\" after \"m\"", path);
                p++;
        }
        for (;;) {
                uint64_t v = 0;
                const char *start = p;
                comp++;
                while (p < end && *p >= '0' && *p <= '9') {
                        v = v * 10 + (uint64_t)(*p - '0');
                        if (v >= BIP32_HARDENED)
                                return dbx_error_set(err, -ERANGE, "path",
                                                     "\"%s\": component %zu is out of range; "
                                                     "expected 0 to 2147483647",
                                                     path, comp);
                        p++;
                }
                if (p == start)
                        return dbx_error_set(err, -EINVAL, "path",
                                             "\"%s\": component %zu is not a number; expected "
                                             "e.g. \"m/1000'/2'/1'\"",
                                             path, comp);
                if (p < end && (*p == '\'' || *p == 'h' || *p == 'H')) {
                        v |= BIP32_HARDENED;
                        p++;
                }
                if (n == max)
                        return dbx_error_set(err, -E2BIG, "path",
                                             "\"%s\": more than %zu components", path, max);
                indexes[n++] = (uint32_t)v;
                if (p == end)
                        break;
                if (*p != '/')
                        return dbx_error_set(err, -EINVAL, "path",
                                             "\"%s\": unexpected character '%c' in component %zu",
                                             path, *p, comp);
                p++;
        }
        return (int)n;
}

int bip32_derive_path(const struct bip32_key *key, const char *path, struct bip32_key *ret,
                      struct dbx_error *err)
{
        uint32_t idx[BIP32_PATH_MAX];
        struct bip32_key *cur;
        int n, r = 0;

        n = bip32_path_parse(path, idx, BIP32_PATH_MAX, err);
        if (n < 0)
                return n;
        if ((path[0] == 'm' || path[0] == 'M') && key->depth != 0)
                return dbx_error_set(err, -EINVAL, "path",
                                     "\"%s\" starts at the master key, but the key given is at "
                                     "depth %u",
                                     path, key->depth);
        if (key->depth + n > BIP32_DEPTH_MAX)
                return dbx_error_set(err, -EOVERFLOW, "path",
                                     "\"%s\" would go deeper than %d levels", path,
                                     BIP32_DEPTH_MAX);
        cur = secure_alloc(sizeof(*cur));
        *cur = *key;
        for (int i = 0; i < n; i++) {
                r = bip32_derive_child(cur, idx[i], cur);
                if (r == -EINVAL) {
                        dbx_error_set(err, r, "path",
                                      "\"%s\": component %d is hardened, which needs a private key",
                                      path, i + 1);
                        break;
                }
                if (r < 0) {
                        dbx_error_set(err, r, "path",
                                      "\"%s\": component %d gives an invalid key (probability "
                                      "2^-127); use the next index",
                                      path, i + 1);
                        break;
                }
        }
        if (r == 0)
                *ret = *cur;
        secure_free(cur);
        return r;
}

void bip32_neuter(const struct bip32_key *key, struct bip32_key *ret)
{
        struct bip32_key k = *key;
        k.has_private = false;
        sodium_memzero(k.private_key, sizeof(k.private_key));
        *ret = k;
        bip32_key_wipe(&k);
}

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

int bip32_serialize(const struct bip32_key *key, const struct bip32_network *net, bool private,
                    char *out, size_t out_size)
{
        uint8_t b[BIP32_SERIALIZED_SIZE];
        int r;

        if (private && !key->has_private)
                return -EINVAL;
        put_be32(b, private ? net->xprv_version : net->xpub_version);
        b[4] = key->depth;
        memcpy(b + 5, key->parent_fingerprint, 4);
        put_be32(b + 9, key->child_number);
        memcpy(b + 13, key->chain_code, 32);
        if (private) {
                b[45] = 0;
                memcpy(b + 46, key->private_key, 32);
        } else
                memcpy(b + 45, key->public_key, BIP32_PUBKEY_SIZE);
        r = base58check_encode(b, sizeof(b), out, out_size);
        sodium_memzero(b, sizeof(b));
        return r;
}

int bip32_parse(const char *s, const struct bip32_network *const *nets, struct bip32_key *ret,
                const struct bip32_network **ret_net, struct dbx_error *err)
{
        uint8_t b[BIP32_SERIALIZED_SIZE + 1];
        const struct bip32_network *net = NULL;
        struct bip32_key k;
        bool private = false;
        size_t len = 0;
        uint32_t version;
        int r;

        if (!nets)
                nets = default_networks;
        memset(&k, 0, sizeof(k));
        if (!s || !*s)
                return dbx_error_set(err, -EINVAL, "",
                                     "extended key is empty; expected a dgpv/dgub or xprv/xpub "
                                     "string");
        r = base58check_decode(s, b, sizeof(b), &len);
        if (r == -EINVAL) {
                r = dbx_error_set(err, r, "",
                                  "extended key contains a character outside the "
                                  "Base58 alphabet");
                goto out;
        }
        if (r == -EBADMSG) {
                r = dbx_error_set(err, r, "",
                                  "extended key checksum does not match (mistyped "
                                  "or truncated)");
                goto out;
        }
        if (r < 0 || len != BIP32_SERIALIZED_SIZE) {
                r = dbx_error_set(err, -EINVAL, "",
                                  "extended key has the wrong length; expected %d bytes "
                                  "(xprv/xpub, dgpv/dgub)",
                                  BIP32_SERIALIZED_SIZE);
                goto out;
        }
        version = get_be32(b);
        for (size_t i = 0; nets[i]; i++) {
                if (version == nets[i]->xprv_version || version == nets[i]->xpub_version) {
                        net = nets[i];
                        private = version == nets[i]->xprv_version;
                        break;
                }
        }
        if (!net) {
                r = dbx_error_set(err, -EPROTONOSUPPORT, "",
                                  "unknown extended key version 0x%08x; expected Dogecoin "
                                  "(dgpv/dgub) or Bitcoin (xprv/xpub) mainnet",
                                  version);
                goto out;
        }
        k.depth = b[4];
        memcpy(k.parent_fingerprint, b + 5, 4);
        k.child_number = get_be32(b + 9);
        memcpy(k.chain_code, b + 13, 32);
        if (k.depth == 0 && (get_be32(k.parent_fingerprint) != 0 || k.child_number != 0)) {
                r = dbx_error_set(err, -EINVAL, "",
                                  "extended key at depth 0 (a master key) has a non-zero %s",
                                  k.child_number != 0 ? "child index" : "parent fingerprint");
                goto out;
        }
        if (private) {
                if (b[45] != 0) {
                        r = dbx_error_set(err, -EINVAL, "",
                                          "private extended key: key data must start with 0x00, "
                                          "found 0x%02x",
                                          b[45]);
                        goto out;
                }
                memcpy(k.private_key, b + 46, 32);
                if (!secp256k1_ec_seckey_verify(ctx(), k.private_key)) {
                        r = dbx_error_set(err, -EINVAL, "",
                                          "private extended key: the key is not in 1..n-1");
                        goto out;
                }
                k.has_private = true;
                r = pubkey_from_private(k.private_key, k.public_key);
                if (r < 0)
                        goto out;
        } else {
                secp256k1_pubkey pk;
                if (b[45] != 0x02 && b[45] != 0x03) {
                        r = dbx_error_set(err, -EINVAL, "",
                                          "public extended key: key data must start with 0x02 "
                                          "or 0x03 (compressed point), found 0x%02x",
                                          b[45]);
                        goto out;
                }
                if (!secp256k1_ec_pubkey_parse(ctx(), &pk, b + 45, BIP32_PUBKEY_SIZE)) {
                        r = dbx_error_set(err, -EINVAL, "",
                                          "public extended key: the point is not on the curve");
                        goto out;
                }
                memcpy(k.public_key, b + 45, BIP32_PUBKEY_SIZE);
        }
        *ret = k;
        if (ret_net)
                *ret_net = net;
        r = 0;
out:
        sodium_memzero(b, sizeof(b));
        bip32_key_wipe(&k);
        return r;
}

void bip32_public_hex(const struct bip32_key *key, char out[2 * BIP32_PUBKEY_SIZE + 1])
{
        hex_encode(key->public_key, BIP32_PUBKEY_SIZE, out);
}
