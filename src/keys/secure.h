/* Locked, guarded memory for secrets (libsodium's sodium_malloc: mlock'ed,
 * guard pages, canary) and the libsodium start-up every entry point needs.
 * Internal to the keys module, but usable by callers that hold secrets the
 * module hands out. */
#pragma once

#include <stddef.h>
#include "core/macro.h"

/* sodium_init() once; safe to call from any thread, cheap after the first
 * call. Aborts if libsodium cannot start (no usable randomness source):
 * there is nothing safe to do without it. */
void keys_sodium_ready(void);

/* n bytes of zeroed, locked memory (sodium_malloc). Aborts on failure, like
 * xmalloc: a daemon this size does not recover from out-of-memory. */
void *secure_alloc(size_t n);

/* sodium_free (wipes, unlocks, releases). Accepts NULL; returns NULL. */
void *secure_free(void *p);

static inline void secure_freep(void *p)
{
        secure_free(*(void **)p);
}
#define _cleanup_secure_ _cleanup_(secure_freep)
