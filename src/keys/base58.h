/* Base58 and Base58Check (Bitcoin alphabet; checksum = first four bytes of
 * SHA256(SHA256(payload))), as used by BIP32 extended keys and WIF. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define BASE58_PAYLOAD_MAX  128 /* largest payload we encode or decode (xkey is 78) */
#define BASE58_CHECKSUM_LEN 4

/* Encode len bytes (len <= BASE58_PAYLOAD_MAX) plus their 4-byte checksum into
 * out (NUL-terminated). -ENOBUFS if out_size is too small, -EINVAL if len is
 * too large. Not constant-time: encode secrets only where timing cannot be
 * observed (local file writes, not per-request paths). */
int base58check_encode(const uint8_t *data, size_t len, char *out, size_t out_size);

/* Decode a Base58Check string. Writes at most out_size bytes of payload and
 * the payload length to *ret_len. -EINVAL on a character outside the
 * alphabet, -EBADMSG on a checksum mismatch, -ENOBUFS if the payload would
 * not fit, -E2BIG if the string is longer than any payload we accept. */
int base58check_decode(const char *in, uint8_t *out, size_t out_size, size_t *ret_len);
