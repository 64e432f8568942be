/* A catalog: what one source offers, as plain data (malloc'd strings and
 * arrays, no pointers into anything else) so a worker thread can build it
 * and hand it to the loop thread, and so it can be cached in SQLite and
 * read back after a restart.
 *
 * A catalog is a flat list of pup versions. catalog_finish() sorts it by
 * pup name, then by version (highest first), and removes duplicates of the
 * same (name, version): a valid entry beats an invalid one, then the entry
 * added first wins. Loaders add entries in a deterministic order (git: tags
 * from lowest to highest, so a version keeps the content of the first tag
 * that published it), which makes the result deterministic too. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "core/error.h"
#include "core/jbuf.h"
#include "semver/semver.h"

#define CATALOG_FORMAT         1     /* cache blob layout; another value is ignored */
#define CATALOG_VERSIONS_MAX   20000 /* pup versions in one source (bench uses 10,000) */
#define CATALOG_VERSION_ERRORS 20    /* errors kept per invalid version, the rest counted */
#define CATALOG_WARNINGS_MAX   50    /* source-level warnings kept */
#define CATALOG_CACHE_MAX      (512u * 1024 * 1024) /* a cache blob larger is refused */
#define CATALOG_CACHE_DEPTH    8 /* the blob nests 4 deep: root, versions, version, errors */
#define CATALOG_SHA256_HEX     64
#define CATALOG_COMMIT_HEX     40

struct catalog_version {
        char *name;    /* meta.name: the pup's display name and identity */
        char *version; /* meta.version as written */
        struct semver semver;
        bool has_semver; /* false only for invalid entries with a non-semver version */
        bool valid;
        char *manifest_json; /* valid: upstream PupManifest JSON, compact; else NULL */
        char *logo;          /* "data:image/png;base64,..." or NULL */
        char **errors;       /* invalid: "json.path: message" lines */
        size_t n_errors;
        size_t errors_dropped;
        /* Where the payload is. */
        char *subpath; /* disk, git: pup folder relative to the source root, "" = root */
        char *tag;     /* git: the tag it was read from */
        char commit[CATALOG_COMMIT_HEX + 1]; /* git: that tag's commit */
        char *archive_url;                   /* http: absolute URL of the archive */
        char archive_sha256[CATALOG_SHA256_HEX + 1];
        uint64_t archive_size;
        uint64_t seq; /* insertion order, for deterministic de-duplication */
};

struct catalog {
        char *id, *name, *description; /* as the source describes itself */
        struct catalog_version *versions;
        size_t n, cap;
        char **warnings; /* source-level problems that did not fail the load */
        size_t n_warnings;
        uint64_t next_seq;
};

struct catalog *catalog_new(void);
struct catalog *catalog_free(struct catalog *c);
static inline void catalog_freep(struct catalog **c)
{
        catalog_free(*c);
}
#define _cleanup_catalog_ _cleanup_(catalog_freep)

void catalog_set_info(struct catalog *c, const char *id, const char *name, const char *description);

/* Append a zeroed entry with name and version set (semver parsed when it
 * is one). Returns NULL past CATALOG_VERSIONS_MAX. The pointer is valid
 * until the next add. */
struct catalog_version *catalog_add(struct catalog *c, const char *name, const char *version);
void catalog_version_error(struct catalog_version *v, const char *path, const char *fmt, ...)
    _printf_(3, 4);
void catalog_version_errors(struct catalog_version *v, const struct dbx_errors *errs,
                            const char *prefix);
void catalog_warn(struct catalog *c, const char *fmt, ...) _printf_(2, 3);

/* Sort and de-duplicate (see above). Returns the number of removed duplicates. */
size_t catalog_finish(struct catalog *c);

/* Deep copy. */
struct catalog *catalog_copy(const struct catalog *c);

/* Lookups on a finished catalog. version NULL or "latest": the highest
 * valid version. */
const struct catalog_version *catalog_find(const struct catalog *c, const char *name,
                                           const char *version);
size_t catalog_count_valid(const struct catalog *c);
size_t catalog_count_pups(const struct catalog *c);

/* The cache blob (JSON text with CATALOG_FORMAT) and back. from_cache
 * returns -EINVAL for a damaged blob and -EPROTONOSUPPORT for another format. */
char *catalog_to_cache(const struct catalog *c, size_t *ret_len);
int catalog_from_cache(const char *text, size_t len, struct catalog **ret, struct dbx_error *err);

/* The store listing's "pups" object for one catalog, upstream shape:
 *   {"<name>": {"latestVersion", "logoBase64", "versions": {"<v>": PupManifest},
 *               "devModeAvailable": false}}
 * Only valid versions appear; a pup without one is left out. */
void catalog_store_pups_json(const struct catalog *c, struct jbuf *b);
/* Our extension: [{"pup", "version", "errors": [...], "location"}] for the
 * invalid versions. */
void catalog_invalid_json(const struct catalog *c, struct jbuf *b);
