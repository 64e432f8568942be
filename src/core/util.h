/* Odds and ends that have no better home: ids, hex, time. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Fill buf with n random bytes from the kernel (getrandom). */
void random_bytes(void *buf, size_t n);

/* Lowercase hex of n bytes into out (2n+1 bytes). */
void hex_encode(const void *in, size_t n, char *out);
int hex_decode(const char *in, void *out, size_t n); /* exactly 2n hex chars */

/* A new 32-hex id (16 random bytes), as upstream job and pup ids. */
void id_new32(char out[33]);
bool id_is_hex32(const char *s);

uint64_t now_ms(void);        /* CLOCK_REALTIME in ms */
uint64_t now_mono_usec(void); /* CLOCK_MONOTONIC in µs */

/* RFC 3339 UTC with milliseconds ("2026-06-15T10:03:37.123Z"); Go parses it. */
void time_rfc3339(uint64_t unix_ms, char out[40]);

/* ^[a-z0-9][a-z0-9-]*$ with length limit: names that become paths/ids. */
bool name_is_safe(const char *s, size_t max);
