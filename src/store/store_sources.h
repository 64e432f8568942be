/* Typed access to the sources and source_catalogs tables (migration
 * "sources"). Rows are plain data; the catalog blob is opaque text owned by
 * src/sources. Like the rest of the store: no logging, negative errno. */
#pragma once

#include <stdint.h>
#include "store/store.h"

struct store_source {
        char *id, *kind, *location, *name, *description;
        char *pubkey; /* NULL: unsigned */
        int64_t added_ms;
        int64_t last_ok_ms;    /* 0: never */
        char *last_error;      /* NULL: the latest load succeeded */
        int64_t last_error_ms; /* 0 with last_error NULL */
};

void store_source_clear(struct store_source *s);
void store_sources_free(struct store_source *v, size_t n);

/* Every source, ordered by added_ms then id. */
int store_sources_list(struct store *s, struct store_source **ret, size_t *ret_n);

/* Insert a new source with its first catalog, in one transaction.
 * -EEXIST when the id or the location is taken. */
int store_source_insert(struct store *s, const struct store_source *src, const char *catalog,
                        int format, int64_t loaded_ms);

/* A successful load: name/description as the source now describes itself,
 * last_ok_ms, the error cleared and the catalog replaced, in one
 * transaction. -ENOENT when the source is gone. */
int store_source_set_ok(struct store *s, const char *id, const char *name, const char *description,
                        const char *catalog, int format, int64_t loaded_ms);
/* A failed load: the error and its time; the catalog stays. */
int store_source_set_error(struct store *s, const char *id, const char *error, int64_t at_ms);
/* Point a source elsewhere (the demo source when the repository moved). */
int store_source_set_location(struct store *s, const char *id, const char *location);

/* The cached catalog: -ENOENT when there is none. */
int store_source_catalog(struct store *s, const char *id, int *ret_format, int64_t *ret_loaded_ms,
                         char **ret_catalog, size_t *ret_len);

/* Delete the source and its catalog. -ENOENT when unknown. */
int store_source_delete(struct store *s, const char *id);

/* Installed pups that came from the source: "id\tname" pairs as two
 * arrays of n strings each. Empty (n = 0) when the pups table does not
 * exist (yet). Caller frees with store_source_users_free. */
int store_source_users(struct store *s, const char *id, char ***ret_ids, char ***ret_names,
                       size_t *ret_n);
void store_source_users_free(char **ids, char **names, size_t n);
