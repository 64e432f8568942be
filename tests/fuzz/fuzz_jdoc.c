/* Differential fuzzing of the jdoc parser against jansson: for any input,
 * jdoc_parse() must accept exactly what json_loadb(JSON_DECODE_ANY |
 * JSON_REJECT_DUPLICATES) accepts, and produce the same values in the same
 * order (docs/architecture.md, "jdoc"). A difference aborts. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/jdoc.h"
#include "core/json.h"

/* Deeper texts are skipped: jansson counts scalars as a level and stops at
 * 2048, jdoc counts containers only. */
#define FUZZ_DEPTH 1000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const struct jval *v, const json_t *j)
{
        const struct jval *k, *e;
        size_t i;

        switch (jv_type(v)) {
        case JT_NULL:
                if (!json_is_null(j))
                        abort();
                break;
        case JT_FALSE:
                if (!json_is_false(j))
                        abort();
                break;
        case JT_TRUE:
                if (!json_is_true(j))
                        abort();
                break;
        case JT_INT:
                if (!json_is_integer(j) || json_integer_value(j) != jv_int(v))
                        abort();
                break;
        case JT_REAL:
                if (!json_is_real(j) || memcmp(&v->u.d, &(double){json_real_value(j)}, 8) != 0)
                        abort();
                break;
        case JT_STRING:
                if (!json_is_string(j) || json_string_length(j) != jv_len(v) ||
                    memcmp(json_string_value(j), jv_str(v), jv_len(v)) != 0 ||
                    jv_str(v)[jv_len(v)] != '\0')
                        abort();
                break;
        case JT_ARRAY:
                if (!json_is_array(j) || json_array_size(j) != jv_len(v))
                        abort();
                jv_array_foreach(v, i, e) same(e, json_array_get(j, i));
                break;
        case JT_OBJECT: {
                if (!json_is_object(j) || json_object_size(j) != jv_len(v))
                        abort();
                void *it = json_object_iter((json_t *)j);
                jv_object_foreach(v, i, k, e)
                {
                        if (!it || json_object_iter_key_len(it) != jv_len(k) ||
                            memcmp(json_object_iter_key(it), jv_str(k), jv_len(k)) != 0)
                                abort();
                        same(e, json_object_iter_value(it));
                        if (jv_get(v, jv_str(k)) != e && !memchr(jv_str(k), 0, jv_len(k)))
                                abort();
                        it = json_object_iter_next((json_t *)j, it);
                }
                break;
        }
        }
}

/* Streaming: each element handed over equals jansson's root.pups[index]. */
static int stream_same(void *ctx, const struct jval *e, size_t index)
{
        const json_t *pups = json_object_get(ctx, "pups");
        if (!json_is_array(pups) || index >= json_array_size(pups))
                abort();
        same(e, json_array_get(pups, index));
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct jdoc *d = NULL;
        struct jdoc_error err;
        json_error_t jerr;

        if (json_text_depth((const char *)data, size) > FUZZ_DEPTH)
                return 0;
        int r = jdoc_parse((const char *)data, size, 0, FUZZ_DEPTH, &d, &err);
        json_t *j =
            json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &jerr);
        /* The one known difference: jansson skips a NUL byte that follows a
         * number or a literal ("[1\0]"); jdoc refuses it, as RFC 8259 does. */
        if (r == 0 && !j)
                abort();
        if (r < 0 && j && !memchr(data, '\0', size))
                abort();
        if (r < 0 && j) {
                json_decref(j);
                return 0;
        }
        if (r == 0) {
                same(jdoc_root(d), j);
                json_t *copy = jv_to_json(jdoc_root(d));
                if (!json_equal(copy, j))
                        abort();
                json_decref(copy);
                struct jdoc *ds = NULL;
                if (jdoc_parse_stream((const char *)data, size, 0, FUZZ_DEPTH, "pups", stream_same,
                                      j, &ds, NULL) != 0)
                        abort();
                const json_t *pups = json_object_get(j, "pups");
                if (json_is_array(pups) &&
                    jv_len(jv_get(jdoc_root(ds), "pups")) != json_array_size(pups))
                        abort();
                jdoc_free(ds);
        } else if (err.line < 1 || err.column < 1 || err.offset > size || !err.text[0])
                abort();
        jdoc_free(d);
        json_decref(j);
        return 0;
}
