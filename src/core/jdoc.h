/* jdoc: a small, strict JSON parser for the catalog hot path (HTTP source
 * indexes of thousands of manifests, docs/architecture.md "jdoc").
 *
 * One pass over the text builds a flat array of nodes ("tape") in document
 * order: a container is followed by its members (an object by key, value,
 * key, value, ...) and knows the size of its subtree, so the next sibling
 * is one addition away. Strings are unescaped into one buffer and NUL-
 * terminated. A document is two allocations, whatever its size.
 *
 * It accepts exactly what jansson's json_loadb(JSON_DECODE_ANY |
 * JSON_REJECT_DUPLICATES) accepts (RFC 8259 with UTF-8 validated, no
 * \u0000 in strings unless JDOC_ALLOW_NUL, integers that fit in a long
 * long, finite reals, no duplicate keys in one object), with the values
 * jansson would produce; the fuzz target tests/fuzz/fuzz_jdoc.c checks
 * that against jansson. jansson stays the JSON library for everything
 * else. Pure: no I/O, no logging. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Lengths are stored in 29 bits; this is 8 times our largest document limit. */
#define JDOC_SIZE_MAX  (256u * 1024 * 1024)
#define JDOC_DEPTH_MAX 2048 /* jansson's own parser limit */
#define JDOC_ERROR_MAX 160  /* one message: what and where */

enum jtype {
        JT_NULL,
        JT_FALSE,
        JT_TRUE,
        JT_INT,
        JT_REAL,
        JT_STRING,
        JT_ARRAY,
        JT_OBJECT,
};

/* One node, 16 bytes. */
struct jval {
        uint32_t tn;   /* type in the low 3 bits; above: string bytes, array elements,
                          object members */
        uint32_t skip; /* nodes in this value's subtree, itself included */
        union {
                long long i;
                double d;
                const char *s; /* NUL-terminated; may hold \u0000 only with JDOC_ALLOW_NUL */
        } u;
};

struct jdoc;

/* Flags for jdoc_parse(). */
#define JDOC_ALLOW_NUL (1u << 0) /* accept \u0000 in strings (text dumped from a json_t) */

struct jdoc_error {
        size_t offset;    /* byte offset where the problem was found */
        int line, column; /* 1-based; column counts bytes */
        char text[JDOC_ERROR_MAX];
};

/* Parse len bytes of JSON text (need not be NUL-terminated), at most
 * max_depth levels of nesting (<= JDOC_DEPTH_MAX). Returns 0 and *ret, or
 * -EINVAL (malformed), -E2BIG (nested too deep or larger than
 * JDOC_SIZE_MAX) with err (may be NULL) saying what and where. */
int jdoc_parse(const char *buf, size_t len, unsigned flags, int max_depth, struct jdoc **ret,
               struct jdoc_error *err);
/* Streaming, for documents too large to keep whole in cache (an HTTP
 * source index): each element of the array that is the root object's
 * member named key is handed to fn as soon as it is complete, with its
 * index; afterwards its nodes and strings are dropped (fn copies what it
 * keeps). In the finished document that array is hollow: jv_len() counts
 * its elements, but it has none. fn runs before the rest of the text is
 * checked, so a caller must discard what fn built when parsing fails. A
 * negative return from fn stops the parse with that error. */
typedef int (*jdoc_element_fn)(void *ctx, const struct jval *element, size_t index);
int jdoc_parse_stream(const char *buf, size_t len, unsigned flags, int max_depth, const char *key,
                      jdoc_element_fn fn, void *ctx, struct jdoc **ret, struct jdoc_error *err);
struct jdoc *jdoc_free(struct jdoc *d);
static inline void jdoc_freep(struct jdoc **d)
{
        jdoc_free(*d);
}
#define _cleanup_jdoc_ __attribute__((cleanup(jdoc_freep)))

const struct jval *jdoc_root(const struct jdoc *d);
/* Deepest nesting found (0 for a scalar, 1 for [] or {}). */
int jdoc_depth(const struct jdoc *d);
/* Nodes in the document (streamed elements not counted). */
size_t jdoc_nodes(const struct jdoc *d);

static inline enum jtype jv_type(const struct jval *v)
{
        return (enum jtype)(v->tn & 7u);
}
/* Bytes of a string, elements of an array, members of an object. */
static inline size_t jv_len(const struct jval *v)
{
        return v->tn >> 3;
}
static inline bool jv_is_null(const struct jval *v)
{
        return v && jv_type(v) == JT_NULL;
}
static inline bool jv_is_object(const struct jval *v)
{
        return v && jv_type(v) == JT_OBJECT;
}
static inline bool jv_is_array(const struct jval *v)
{
        return v && jv_type(v) == JT_ARRAY;
}
static inline bool jv_is_string(const struct jval *v)
{
        return v && jv_type(v) == JT_STRING;
}
static inline bool jv_is_integer(const struct jval *v)
{
        return v && jv_type(v) == JT_INT;
}
static inline bool jv_is_real(const struct jval *v)
{
        return v && jv_type(v) == JT_REAL;
}
static inline bool jv_is_number(const struct jval *v)
{
        return v && (jv_type(v) == JT_INT || jv_type(v) == JT_REAL);
}
static inline bool jv_is_bool(const struct jval *v)
{
        return v && (jv_type(v) == JT_TRUE || jv_type(v) == JT_FALSE);
}
static inline bool jv_is_true(const struct jval *v)
{
        return v && jv_type(v) == JT_TRUE;
}
/* NULL for a non-string. */
static inline const char *jv_str(const struct jval *v)
{
        return jv_is_string(v) ? v->u.s : NULL;
}
static inline long long jv_int(const struct jval *v)
{
        return jv_is_integer(v) ? v->u.i : 0;
}
static inline double jv_number(const struct jval *v)
{
        return jv_is_integer(v) ? (double)v->u.i : jv_is_real(v) ? v->u.d : 0.0;
}
/* The value after v in its container (v's subtree skipped). */
static inline const struct jval *jv_next(const struct jval *v)
{
        return v + v->skip;
}

/* for (i, v) in arr */
#define jv_array_foreach(arr, i, v)                                                                \
        for ((i) = 0, (v) = (arr) + 1; (i) < jv_len(arr); (i)++, (v) = jv_next(v))
/* for (key node k, value v) in obj, in document order */
#define jv_object_foreach(obj, i, k, v)                                                            \
        for ((i) = 0, (k) = (obj) + 1; (i) < jv_len(obj) && ((v) = (k) + 1, true);                 \
             (i)++, (k) = jv_next((k) + 1))

/* obj's member named key (exact bytes); NULL if absent or obj is not an object. */
const struct jval *jv_get(const struct jval *obj, const char *key);
/* An exact match, otherwise the first key equal ignoring ASCII case (Go's
 * encoding/json, as json_object_iget()). */
const struct jval *jv_iget(const struct jval *obj, const char *key);

/* A jansson copy of v (for code that works on json_t: config values,
 * messages that render numbers as jansson does). Aborts on allocation
 * failure. */
json_t *jv_to_json(const struct jval *v);
