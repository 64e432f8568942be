/* A small JSON text builder: API responses that embed stored manifest
 * texts, and the upstream manifest JSON written without jansson objects. */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include <string.h>
#include "core/macro.h"

struct jbuf {
        char *p;
        size_t len, cap;
};

/* Make room for more bytes (and the NUL that always follows the text). */
void jbuf_grow(struct jbuf *b, size_t more);
static inline void jbuf_raw(struct jbuf *b, const char *s, size_t n)
{
        if (b->len + n + 1 > b->cap)
                jbuf_grow(b, n);
        memcpy(b->p + b->len, s, n);
        b->len += n;
        b->p[b->len] = '\0';
}
void jbuf_puts(struct jbuf *b, const char *s);
void jbuf_printf(struct jbuf *b, const char *fmt, ...) _printf_(2, 3);
/* v in decimal. */
void jbuf_int(struct jbuf *b, long long v);
/* A real as jansson writes it (%.17g, always with "." or "e"). */
void jbuf_real(struct jbuf *b, double d);
/* A string literal known to need no escaping (keys, punctuation). */
#define JBUF_LIT(b, s) jbuf_raw(b, "" s, sizeof(s) - 1)
/* s as a JSON string literal (quoted and escaped; NULL becomes ""). */
void jbuf_str(struct jbuf *b, const char *s);
/* A JSON value, compact, keys in insertion order: what json_dumps(j,
 * JSON_COMPACT) writes, about 2.5 times faster (no per-value callbacks). */
void jbuf_json(struct jbuf *b, const json_t *j);
/* Take the NUL-terminated text; the builder is empty afterwards. */
char *jbuf_steal(struct jbuf *b, size_t *ret_len);
void jbuf_free(struct jbuf *b);
