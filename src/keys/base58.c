#include <errno.h>
#include <sodium.h>
#include <string.h>
#include "keys/base58.h"

static const char alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabc"
                               "defghijkmnopqrstuvwxyz";

/* log(256)/log(58) = 1.3658: a payload of n bytes needs at most n*138/100+1
 * digits. */
#define B58_DIGITS_MAX (((BASE58_PAYLOAD_MAX + BASE58_CHECKSUM_LEN) * 138) / 100 + 1)
#define B58_STRING_MAX (B58_DIGITS_MAX + 1)

static void checksum(const uint8_t *data, size_t len, uint8_t out[BASE58_CHECKSUM_LEN])
{
        uint8_t h[crypto_hash_sha256_BYTES];
        crypto_hash_sha256(h, data, len);
        crypto_hash_sha256(h, h, sizeof(h));
        memcpy(out, h, BASE58_CHECKSUM_LEN);
        sodium_memzero(h, sizeof(h));
}

int base58check_encode(const uint8_t *data, size_t len, char *out, size_t out_size)
{
        uint8_t buf[BASE58_PAYLOAD_MAX + BASE58_CHECKSUM_LEN];
        uint8_t digits[B58_DIGITS_MAX]; /* base-58 digits, most significant first */
        size_t n = len + BASE58_CHECKSUM_LEN, zeros = 0, ndig = 0;

        if (len > BASE58_PAYLOAD_MAX)
                return -EINVAL;
        memcpy(buf, data, len);
        checksum(data, len, buf + len);

        while (zeros < n && buf[zeros] == 0)
                zeros++;
        /* Schoolbook base conversion: digits = digits*256 + byte. */
        for (size_t i = zeros; i < n; i++) {
                unsigned carry = buf[i];
                for (size_t j = 0; j < ndig; j++) {
                        size_t k = B58_DIGITS_MAX - 1 - j;
                        carry += (unsigned)digits[k] << 8;
                        digits[k] = (uint8_t)(carry % 58);
                        carry /= 58;
                }
                while (carry > 0) {
                        digits[B58_DIGITS_MAX - 1 - ndig] = (uint8_t)(carry % 58);
                        ndig++;
                        carry /= 58;
                }
        }
        if (zeros + ndig + 1 > out_size) {
                sodium_memzero(buf, sizeof(buf));
                sodium_memzero(digits, sizeof(digits));
                return -ENOBUFS;
        }
        size_t o = 0;
        for (size_t i = 0; i < zeros; i++)
                out[o++] = '1';
        for (size_t j = B58_DIGITS_MAX - ndig; j < B58_DIGITS_MAX; j++)
                out[o++] = alphabet[digits[j]];
        out[o] = 0;
        sodium_memzero(buf, sizeof(buf));
        sodium_memzero(digits, sizeof(digits));
        return 0;
}

static int digit_value(char c)
{
        const char *p = c ? strchr(alphabet, c) : NULL;
        return p ? (int)(p - alphabet) : -1;
}

int base58check_decode(const char *in, uint8_t *out, size_t out_size, size_t *ret_len)
{
        uint8_t bytes[BASE58_PAYLOAD_MAX + BASE58_CHECKSUM_LEN]; /* big-endian, right aligned */
        size_t inlen = strnlen(in, B58_STRING_MAX + 1), zeros = 0, nbytes = 0;
        int r = 0;

        if (inlen > B58_STRING_MAX)
                return -E2BIG;
        while (zeros < inlen && in[zeros] == '1')
                zeros++;
        for (size_t i = zeros; i < inlen; i++) {
                int v = digit_value(in[i]);
                if (v < 0) {
                        r = -EINVAL;
                        goto out;
                }
                unsigned carry = (unsigned)v;
                for (size_t j = 0; j < nbytes; j++) {
                        size_t k = sizeof(bytes) - 1 - j;
                        carry += (unsigned)bytes[k] * 58;
                        bytes[k] = (uint8_t)carry;
                        carry >>= 8;
                }
                while (carry > 0) {
                        if (nbytes + zeros >= sizeof(bytes)) {
                                r = -E2BIG;
                                goto out;
                        }
                        bytes[sizeof(bytes) - 1 - nbytes] = (uint8_t)carry;
                        nbytes++;
                        carry >>= 8;
                }
        }
        size_t total = zeros + nbytes;
        if (total < BASE58_CHECKSUM_LEN || total > sizeof(bytes)) {
                r = total < BASE58_CHECKSUM_LEN ? -EBADMSG : -E2BIG;
                goto out;
        }
        uint8_t *full = bytes + sizeof(bytes) - total;
        memset(full, 0, zeros);
        size_t plen = total - BASE58_CHECKSUM_LEN;
        uint8_t sum[BASE58_CHECKSUM_LEN];
        checksum(full, plen, sum);
        if (sodium_memcmp(sum, full + plen, BASE58_CHECKSUM_LEN) != 0) {
                r = -EBADMSG;
                goto out;
        }
        if (plen > out_size) {
                r = -ENOBUFS;
                goto out;
        }
        memcpy(out, full, plen);
        *ret_len = plen;
out:
        sodium_memzero(bytes, sizeof(bytes));
        return r;
}
