/* jansson helpers: bounded parsing and the Go-like decoding semantics the
 * upstream API relies on (case-insensitive keys, reference/upstream-api.md
 * §2.4). */
#pragma once

#include <jansson.h>
#include "core/error.h"
#include "core/jdoc.h"

#define JSON_DEPTH_MAX 32 /* deeper documents are refused: no legit payload nests this far */

/* jansson >= 2.14 provides json_decrefp() for its own json_auto_t. */
#define _cleanup_json_ _cleanup_(json_decrefp)

/* Parse buf (len bytes, need not be NUL-terminated). Refuses empty input,
 * malformed JSON, documents nested deeper than max_depth and (when
 * want_object) non-objects, with a message for the owner. */
int json_parse_bounded(const char *buf, size_t len, int max_depth, bool want_object, json_t **ret,
                       struct dbx_error *err);

/* The same contract and messages, parsed by jdoc (core/jdoc.h) into *ret.
 * jansson is only run on a refused text, to word the message as
 * json_parse_bounded() always did. */
int json_parse_bounded_doc(const char *buf, size_t len, int max_depth, bool want_object,
                           struct jdoc **ret, struct dbx_error *err);
/* The same, streaming the elements of root[key] to fn (jdoc_parse_stream()). */
int json_parse_bounded_stream(const char *buf, size_t len, int max_depth, bool want_object,
                              const char *key, jdoc_element_fn fn, void *ctx, struct jdoc **ret,
                              struct dbx_error *err);

/* Nesting depth of a JSON text, counted without building it (so a hostile
 * 1 MiB of '[' cannot exhaust the stack). Strings are skipped correctly. */
int json_text_depth(const char *buf, size_t len);

/* Look up key in obj: an exact match wins, otherwise the first key equal
 * ignoring ASCII case (Go encoding/json semantics). NULL if absent. */
json_t *json_object_iget(const json_t *obj, const char *key);

/* Typed getters on top of json_object_iget. They return the default when
 * the key is absent or null, and -EINVAL (with err naming the key) when
 * present with the wrong type. */
int json_iget_string(const json_t *obj, const char *key, const char **ret, struct dbx_error *err);
int json_iget_bool(const json_t *obj, const char *key, bool *ret, struct dbx_error *err);
int json_iget_int(const json_t *obj, const char *key, long long *ret, struct dbx_error *err);

/* Serialize compactly; caller frees. */
char *json_dump_compact(const json_t *j);
