/* RIPEMD-160, written from the specification ("RIPEMD-160: A Strengthened
 * Version of RIPEMD", 1996): two parallel lines of five rounds of 16 steps
 * over little-endian 32-bit words. */
#include <sodium.h>
#include <string.h>
#include "keys/ripemd160.h"

#define ROL(x, n) (((x) << (n)) | ((x) >> (32 - (n))))

/* Message word order of the left (r) and right (rr) lines. */
static const uint8_t r[80] = {0, 1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15,
                              7, 4,  13, 1,  10, 6,  15, 3,  12, 0, 9,  5,  2,  14, 11, 8,
                              3, 10, 14, 4,  9,  15, 8,  1,  2,  7, 0,  6,  13, 11, 5,  12,
                              1, 9,  11, 10, 0,  8,  12, 4,  13, 3, 7,  15, 14, 5,  6,  2,
                              4, 0,  5,  9,  7,  12, 2,  10, 14, 1, 3,  8,  11, 6,  15, 13};
static const uint8_t rr[80] = {5,  14, 7,  0, 9, 2,  11, 4,  13, 6,  15, 8,  1,  10, 3,  12,
                               6,  11, 3,  7, 0, 13, 5,  10, 14, 15, 8,  12, 4,  9,  1,  2,
                               15, 5,  1,  3, 7, 14, 6,  9,  11, 8,  12, 2,  10, 0,  4,  13,
                               8,  6,  4,  1, 3, 11, 15, 0,  5,  12, 2,  13, 9,  7,  10, 14,
                               12, 15, 10, 4, 1, 5,  8,  7,  6,  2,  13, 14, 0,  3,  9,  11};
/* Rotation amounts of the left (s) and right (ss) lines. */
static const uint8_t s[80] = {11, 14, 15, 12, 5,  8,  7,  9,  11, 13, 14, 15, 6,  7,  9,  8,
                              7,  6,  8,  13, 11, 9,  7,  15, 7,  12, 15, 9,  11, 7,  13, 12,
                              11, 13, 6,  7,  14, 9,  13, 15, 14, 8,  13, 6,  5,  12, 7,  5,
                              11, 12, 14, 15, 14, 15, 9,  8,  9,  14, 5,  6,  8,  6,  5,  12,
                              9,  15, 5,  11, 6,  8,  13, 12, 5,  12, 13, 14, 11, 8,  5,  6};
static const uint8_t ss[80] = {8,  9,  9,  11, 13, 15, 15, 5,  7,  7,  8,  11, 14, 14, 12, 6,
                               9,  13, 15, 7,  12, 8,  9,  11, 7,  7,  12, 7,  6,  15, 13, 11,
                               9,  7,  15, 11, 8,  6,  6,  14, 12, 13, 5,  14, 13, 13, 7,  5,
                               15, 5,  8,  11, 14, 14, 6,  14, 6,  9,  12, 9,  12, 5,  15, 8,
                               8,  5,  12, 9,  12, 5,  14, 6,  8,  13, 6,  5,  15, 13, 11, 11};

static const uint32_t KL[5] = {0x00000000, 0x5a827999, 0x6ed9eba1, 0x8f1bbcdc, 0xa953fd4e};
static const uint32_t KR[5] = {0x50a28be6, 0x5c4dd124, 0x6d703ef3, 0x7a6d76e9, 0x00000000};

static uint32_t f(int j, uint32_t x, uint32_t y, uint32_t z)
{
        switch (j / 16) {
        case 0:
                return x ^ y ^ z;
        case 1:
                return (x & y) | (~x & z);
        case 2:
                return (x | ~y) ^ z;
        case 3:
                return (x & z) | (y & ~z);
        default:
                return x ^ (y | ~z);
        }
}

static void compress(uint32_t h[5], const uint8_t block[64])
{
        uint32_t X[16];
        for (int i = 0; i < 16; i++)
                X[i] = (uint32_t)block[4 * i] | (uint32_t)block[4 * i + 1] << 8 |
                       (uint32_t)block[4 * i + 2] << 16 | (uint32_t)block[4 * i + 3] << 24;

        uint32_t al = h[0], bl = h[1], cl = h[2], dl = h[3], el = h[4];
        uint32_t ar = h[0], br = h[1], cr = h[2], dr = h[3], er = h[4];
        for (int j = 0; j < 80; j++) {
                uint32_t t = ROL(al + f(j, bl, cl, dl) + X[r[j]] + KL[j / 16], s[j]) + el;
                al = el;
                el = dl;
                dl = ROL(cl, 10);
                cl = bl;
                bl = t;
                t = ROL(ar + f(79 - j, br, cr, dr) + X[rr[j]] + KR[j / 16], ss[j]) + er;
                ar = er;
                er = dr;
                dr = ROL(cr, 10);
                cr = br;
                br = t;
        }
        uint32_t t = h[1] + cl + dr;
        h[1] = h[2] + dl + er;
        h[2] = h[3] + el + ar;
        h[3] = h[4] + al + br;
        h[4] = h[0] + bl + cr;
        h[0] = t;
}

void ripemd160_init(struct ripemd160_ctx *ctx)
{
        static const uint32_t iv[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};
        memcpy(ctx->h, iv, sizeof(iv));
        ctx->total = 0;
        ctx->used = 0;
}

void ripemd160_update(struct ripemd160_ctx *ctx, const void *data, size_t len)
{
        const uint8_t *p = data;
        ctx->total += len;
        if (ctx->used > 0) {
                size_t take = 64 - ctx->used < len ? 64 - ctx->used : len;
                memcpy(ctx->buf + ctx->used, p, take);
                ctx->used += take;
                p += take;
                len -= take;
                if (ctx->used < 64)
                        return;
                compress(ctx->h, ctx->buf);
                ctx->used = 0;
        }
        for (; len >= 64; p += 64, len -= 64)
                compress(ctx->h, p);
        memcpy(ctx->buf, p, len);
        ctx->used = len;
}

void ripemd160_final(struct ripemd160_ctx *ctx, uint8_t out[RIPEMD160_SIZE])
{
        uint64_t bits = ctx->total * 8;
        uint8_t pad[72] = {0x80};
        size_t padlen = ctx->used < 56 ? 56 - ctx->used : 120 - ctx->used;
        uint8_t len_le[8];
        for (int i = 0; i < 8; i++)
                len_le[i] = (uint8_t)(bits >> (8 * i));
        ripemd160_update(ctx, pad, padlen);
        ripemd160_update(ctx, len_le, 8);
        for (int i = 0; i < 5; i++)
                for (int b = 0; b < 4; b++)
                        out[4 * i + b] = (uint8_t)(ctx->h[i] >> (8 * b));
        sodium_memzero(ctx, sizeof(*ctx));
}

void ripemd160(const void *data, size_t len, uint8_t out[RIPEMD160_SIZE])
{
        struct ripemd160_ctx ctx;
        ripemd160_init(&ctx);
        ripemd160_update(&ctx, data, len);
        ripemd160_final(&ctx, out);
}

void hash160(const void *data, size_t len, uint8_t out[HASH160_SIZE])
{
        uint8_t sha[crypto_hash_sha256_BYTES];
        crypto_hash_sha256(sha, data, len);
        ripemd160(sha, sizeof(sha), out);
        sodium_memzero(sha, sizeof(sha));
}
