/* Pup sources: where installable pups come from, and the catalog of what
 * they offer (docs/sources.md).
 *
 * Three kinds behind one interface:
 *   disk  a local folder: dogebox.json, or one pup at its root, or (ours)
 *         a folder of pup folders; rescanned on every load;
 *   git   a repository whose semver tags are versions, read from each tag's
 *         tree in a bare mirror under DATA/cache/ (no checkout);
 *   http  a JSON index served over HTTP(S) (format in docs/sources.md),
 *         optionally Ed25519-signed, fetched with ETag/If-Modified-Since.
 *
 * Threading: a struct sources lives on the loop thread, like the rest of
 * the daemon's state. Loads and fetches run on the worker pool with a
 * private copy of what they need (struct source_spec, struct sources_pup)
 * and hand plain data back; the callbacks below always run on the loop
 * thread. Nothing here logs except through those callbacks' callers.
 *
 * Refresh is transactional: a source that fails to load keeps its last good
 * catalog (also across restarts: catalogs are cached in SQLite) and the
 * failure, with its reason and time, shows in the listings until a load
 * succeeds. A malformed manifest at one version marks only that version
 * invalid, with its errors. */
#pragma once

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/error.h"
#include "sources/catalog.h"

struct store;
struct workpool;

/* ---- limits and defaults (docs/sources.md, "Limits") ---- */
#define SOURCES_MAX                     64 /* configured sources */
#define SOURCES_LOCATION_MAX            2048
#define SOURCES_HTTP_CONNECT_TIMEOUT_MS 10000            /* TCP + TLS handshake */
#define SOURCES_HTTP_INDEX_TIMEOUT_MS   30000            /* a whole index fetch */
#define SOURCES_ARCHIVE_TIMEOUT_MS      (60 * 60 * 1000) /* a whole archive download */
#define SOURCES_LOW_SPEED_BYTES         1024             /* a download slower than this ... */
#define SOURCES_LOW_SPEED_SECONDS       60               /* ... for this long is abandoned */
#define SOURCES_HTTP_REDIRECTS_MAX      5
#define SOURCES_GIT_TAGS_MAX            256          /* highest tags read; older ones are ignored */
#define SOURCES_GIT_FETCH_MAX           (2ULL << 30) /* bytes one git fetch may receive */
#define SOURCES_GIT_TIMEOUT_MS          (10 * 60 * 1000) /* one git fetch */
#define SOURCES_FILE_MAX                (256 * 1024)     /* dogebox.json, manifest.json, logo */
#define SOURCES_PUP_ENTRIES_MAX         100000       /* files + dirs + links in one pup payload */
#define SOURCES_PUP_BYTES_MAX           (4ULL << 30) /* uncompressed payload of one pup */
#define SOURCES_PUP_PATH_MAX            1024         /* one path inside a payload */
/* Tests (and slow links) may shorten or lengthen the HTTP timeouts:
 * milliseconds, applied to both the connect and the total timeout. */
#define SOURCES_TIMEOUT_ENV "DBX_SOURCES_HTTP_TIMEOUT_MS"

enum source_kind {
        SOURCE_DISK,
        SOURCE_GIT,
        SOURCE_HTTP,
        _SOURCE_KIND_MAX,
};

const char *source_kind_name(enum source_kind k); /* "disk", "git", "http" */
int source_kind_from_name(const char *s, enum source_kind *ret);
/* Infer the kind from a location when the caller gave none: "git@..." or a
 * URL/path ending in ".git" is git; http(s):// is an http index; another
 * absolute path is a disk folder. -EINVAL with a message otherwise. */
int source_kind_infer(const char *location, enum source_kind *ret, struct dbx_error *err);

struct sources;

/* Create the registry: reads the configured sources and their cached
 * catalogs from SQLite (no other I/O). data_dir holds cache/. */
int sources_new(struct store *store, struct workpool *pool, const char *data_dir,
                struct sources **ret, struct dbx_error *err);
/* Pending callbacks are called with -ECANCELED before this returns; work
 * still running on the pool finishes later and is discarded. */
struct sources *sources_free(struct sources *s);

/* The daemon is stopping: loads and payload fetches in flight give up at
 * once (their fetch helper is killed) instead of running into their
 * timeouts, and no new load starts. Callbacks still come, with errors. */
void sources_cancel(struct sources *s);

/* Every asynchronous operation reports here, on the loop thread.
 * source_id: the source concerned (the new id for an add), or NULL. */
typedef void (*sources_done_fn)(void *userdata, int r, const char *source_id,
                                const struct dbx_error *err);

/* Start loading every source in the background (at startup). */
void sources_start(struct sources *s);

struct sources_add_args {
        const char *location;
        const char *kind;       /* "disk", "git", "http" or NULL to infer */
        const char *id;         /* only for sources that do not name themselves */
        const char *public_key; /* http: pin this Ed25519 key (hex); NULL: the
                                 * key the index declares, if any, is pinned */
};

/* Add a source: validate the arguments (errors at once: -EINVAL, -EEXIST,
 * -E2BIG, with err), then load it on a worker; cb reports whether it was
 * reachable and parseable and not a duplicate, and only then is it stored.
 * Returns 0 when cb will be called. */
int sources_add(struct sources *s, const struct sources_add_args *args, sources_done_fn cb,
                void *userdata, struct dbx_error *err);

/* Remove a source. -ENOENT if unknown; -EBUSY when installed pups came
 * from it: err names them and *ret_pups (if given) is a JSON array of
 * {"id", "name"}. Its caches are deleted in the background. */
int sources_remove(struct sources *s, const char *id, json_t **ret_pups, struct dbx_error *err);

#define SOURCES_REFRESH_FORCE (1u << 0) /* reload even sources that have a catalog */

/* Load sources (id, or all when NULL). Without FORCE only sources that
 * never loaded are loaded (or waited for, when a load is running). A load
 * already running is joined, not repeated. Returns 1 when there is nothing
 * to wait for (cb is not called), 0 when cb will be called once every load
 * has finished (r = 0: individual failures are recorded on the sources),
 * -ENOENT for an unknown id. */
int sources_refresh(struct sources *s, const char *id, unsigned flags, sources_done_fn cb,
                    void *userdata);

/* GET /sources: [{"id","name","description","location","type", and ours:
 * "pups","versions","invalidVersions","signed","addedAt","lastOkAt",
 * "lastError","lastErrorAt","loading"}] */
json_t *sources_list_json(struct sources *s);
/* GET /sources/store body (upstream shape, see catalog.h, plus ours:
 * "lastOkAt", "lastErrorAt", "invalid", "warnings"). only_id NULL: all. */
char *sources_store_json(struct sources *s, const char *only_id, size_t *ret_len);
size_t sources_count(struct sources *s);
bool sources_exists(struct sources *s, const char *id);

/* ---- for the pup lifecycle ---- */

/* One installable pup version, copied out of the catalog: plain data that
 * a worker may use while the catalog changes. */
struct sources_pup {
        char *source_id;
        enum source_kind kind;
        char *location; /* the source's location */
        char *name, *version;
        char *manifest_json; /* upstream PupManifest JSON (manifest_parse accepts it) */
        char *logo;          /* data: URL or NULL */
        char *subpath;       /* disk, git: pup folder relative to the source root */
        char *tag;           /* git */
        char commit[CATALOG_COMMIT_HEX + 1]; /* git: what was listed */
        char *archive_url;                   /* http */
        char archive_sha256[CATALOG_SHA256_HEX + 1];
        uint64_t archive_size;
        char *cache_dir; /* private: the source's cache (git mirror, downloads) */
        long timeout_ms; /* private: total download timeout */
        long connect_timeout_ms;
        /* private: set when the daemon stops (sources_cancel); the registry
         * outlives every worker (the pool is drained before modules go) */
        const atomic_bool *cancel;
        /* private: may be NULL; set when the owner cancels the job that
         * fetches this payload (job_cancel_flag); outlives the fetch */
        const atomic_bool *abort;
};

/* Look up name at version (NULL or "latest": the highest valid version)
 * in source_id's catalog. -ENOENT (unknown source, pup or version: err
 * says which and what exists) or -EINVAL (that version is invalid: err
 * carries its first error). */
int sources_lookup(struct sources *s, const char *source_id, const char *name, const char *version,
                   struct sources_pup **ret, struct dbx_error *err);
struct sources_pup *sources_pup_free(struct sources_pup *p);
static inline void sources_pup_freep(struct sources_pup **p)
{
        sources_pup_free(*p);
}
#define _cleanup_sources_pup_ _cleanup_(sources_pup_freep)

/* Every version of every catalog (valid or not), for resolvers and
 * update checks. Stops when fn returns non-zero, which is returned. */
int sources_foreach_version(struct sources *s,
                            int (*fn)(void *userdata, const char *source_id,
                                      const struct catalog_version *v),
                            void *userdata);

/* Materialize p's payload in dest_dir (which must not exist; its parent
 * must): disk copies the pup folder, git extracts the tag's subtree from
 * the mirror, http downloads the archive (size and SHA-256 checked) and
 * extracts it safely. The payload is built beside dest_dir and renamed
 * into place, so dest_dir appears complete or not at all. The payload's
 * manifest.json must be valid and name the same pup and version.
 * BLOCKS: call it on a worker thread. */
int sources_fetch_pup(const struct sources_pup *p, const char *dest_dir, struct dbx_error *err);

/* The same as an asynchronous operation from the loop thread: lookup,
 * then fetch on a worker, then cb. */
int sources_fetch_pup_async(struct sources *s, const char *source_id, const char *name,
                            const char *version, const char *dest_dir, sources_done_fn cb,
                            void *userdata, struct dbx_error *err);

/* ---- demo ---- */

#define SOURCES_DEMO_ID "demo"
/* dogeboxd --demo: make sure a disk source "demo" serves examples_dir (the
 * repository's examples/). Adds it when absent (and loads it in the
 * background), points it at examples_dir when it moved. */
int sources_ensure_demo(struct sources *s, const char *examples_dir, struct dbx_error *err);
