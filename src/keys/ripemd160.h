/* RIPEMD-160 (Dobbertin, Bosselaers, Preneel 1996). libsodium has no
 * RIPEMD-160 and Debian's OpenSSL 3 moved it to the legacy provider, yet
 * BIP32 key fingerprints are HASH160 = RIPEMD160(SHA256(pubkey)); so this
 * small, table-tested implementation lives here. Not for new designs. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define RIPEMD160_SIZE 20 /* digest bytes */
#define HASH160_SIZE   RIPEMD160_SIZE

struct ripemd160_ctx {
        uint32_t h[5];
        uint64_t total; /* bytes hashed so far */
        uint8_t buf[64];
        size_t used; /* bytes pending in buf */
};

void ripemd160_init(struct ripemd160_ctx *ctx);
void ripemd160_update(struct ripemd160_ctx *ctx, const void *data, size_t len);
void ripemd160_final(struct ripemd160_ctx *ctx, uint8_t out[RIPEMD160_SIZE]);
void ripemd160(const void *data, size_t len, uint8_t out[RIPEMD160_SIZE]);

/* RIPEMD160(SHA256(data)): Bitcoin's HASH160, used for key fingerprints. */
void hash160(const void *data, size_t len, uint8_t out[HASH160_SIZE]);
