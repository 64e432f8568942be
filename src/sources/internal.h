/* Private to src/sources: the loaders (one per kind), the payload
 * materializers and their shared helpers. Everything here runs on worker
 * threads and touches only the plain data it is given. */
#pragma once

#include <stdatomic.h>
#include "manifest/manifest.h"
#include "sources/catalog.h"
#include "sources/sources.h"

/* What a load needs; copied for the worker. */
struct source_spec {
        enum source_kind kind;
        char *location;
        char *pubkey;    /* http: pinned key (hex) or NULL */
        char *cache_dir; /* DATA/cache/sources/<key> */
        char *remote;    /* git, in the fetch helper: what to fetch when not location */
        bool adding;     /* first load: may pin the key the index declares */
        long connect_timeout_ms, timeout_ms;
        const atomic_bool *cancel; /* set when the daemon stops: give up at once */
};

struct load_result {
        struct catalog *catalog;
        char *location;       /* normalized (disk: the real path) */
        char *pinned_key;     /* http: the key to pin from now on, or NULL */
        bool pinned_by_index; /* that key came from the index (trust on first use) */
};

void source_spec_clear(struct source_spec *s);
void load_result_clear(struct load_result *r);

int disk_load(const struct source_spec *spec, struct load_result *res, struct dbx_error *err);
int git_load(const struct source_spec *spec, struct load_result *res, struct dbx_error *err);
int http_load(const struct source_spec *spec, struct load_result *res, struct dbx_error *err);

/* The daemon's side of git and http: the same, done by the fetch helper
 * (remote.c). remote_fetch materializes p's payload in the empty folder
 * tmp, which ends up owned by root. */
int remote_load(const struct source_spec *spec, struct load_result *res, struct dbx_error *err);
struct sources_pup;
int remote_fetch(const struct sources_pup *p, const char *tmp, struct dbx_error *err);

/* openat2(RESOLVE_BENEATH): -EXDEV when path leaves dirfd. */
int openat_beneath(int dirfd, const char *path, int flags);

/* ---- reading a source tree (a folder, or a git tree) ---- */

struct tree_reader {
        /* Read path (relative to the source root) of at most max bytes.
         * -ENOENT when absent, -EFBIG when larger; err says so. */
        int (*read)(void *ud, const char *path, size_t max, char **ret, size_t *ret_len,
                    struct dbx_error *err);
        /* Top-level directories holding a manifest.json, sorted. */
        int (*pup_dirs)(void *ud, char ***ret, size_t *ret_n, struct dbx_error *err);
        void *ud;
};

/* Fill cat from a source tree: dogebox.json lists the pups; without it a
 * manifest.json at the root is the only pup; without that every top-level
 * folder with a manifest.json is a pup. fallback_id/name name a source
 * that does not name itself; fallback_version keys a pup whose manifest
 * does not say its version (git: the tag). Each added version gets tag
 * (may be NULL). Returns -EINVAL when dogebox.json is invalid or nothing
 * is there (err says what), 0 otherwise. */
int tree_scan(struct catalog *cat, const struct tree_reader *t, const char *fallback_id,
              const char *fallback_version, const char *tag, struct dbx_error *err);

/* "a; b; c (and 4 more)" from an error list, for one-line messages. */
void errors_join(const struct dbx_errors *errs, char *buf, size_t size);
/* A source id derived from a folder or repository name. */
void id_from_name(const char *name, char *out, size_t size);

/* ---- in the fetch helper only: HTTP (libcurl), git (libgit2) and
 * archives (libarchive); the daemon does not link these libraries ---- */

struct http_get {
        const char *url;
        const char *etag, *last_modified; /* conditional request when set */
        size_t max;
        long connect_timeout_ms, timeout_ms;
        const atomic_bool *cancel; /* may be NULL */
        /* results */
        long status;
        char *body; /* NUL-terminated */
        size_t len;
        char *new_etag, *new_last_modified;
};
/* GET into memory. A transport failure or a body past max is an error
 * (with a message naming the URL); any HTTP status is returned in status. */
int http_fetch(struct http_get *g, struct dbx_error *err);
void http_get_clear(struct http_get *g);
/* Resolve ref against base (RFC 3986). NULL when it cannot be. */
char *http_resolve(const char *base, const char *ref);
/* GET url into fd; exactly size bytes with that SHA-256 (hex) or an error. */
int http_download(const char *url, int fd, uint64_t size, const char *sha256_hex,
                  long connect_timeout_ms, long timeout_ms, struct dbx_error *err);
void http_global_init(void);

/* ---- payloads ---- */

struct payload_limits {
        uint64_t entries, bytes;
};
/* Every symlink under root must resolve inside root (or nowhere). */
int payload_check_links(const char *root, struct dbx_error *err);
/* Copy a pup folder: regular files, directories, symlinks (as symlinks);
 * ".git" is skipped; anything else is refused. */
int payload_copy_dir(const char *from, const char *to, struct payload_limits *lim,
                     struct dbx_error *err);
/* Extract a tar archive (any compression libarchive knows) safely into the
 * existing empty directory to. */
int payload_extract(const char *archive, const char *to, struct payload_limits *lim,
                    struct dbx_error *err);
int git_extract(const char *mirror, const char *commit, const char *subpath, const char *to,
                struct payload_limits *lim, struct dbx_error *err);
void git_global_init(void);
/* The git mirror of a source inside its cache dir. */
char *git_mirror_path(const char *cache_dir);
