/* The fetch helper (dogeboxd-fetch): the only process that runs libcurl,
 * libgit2 and libarchive. The daemon starts one per operation, from the
 * worker thread that needs it, unprivileged and in its own mount and IPC
 * namespaces (docs/architecture.md, "The fetch helper").
 *
 * Protocol, one exchange per process:
 *   stdin   the request: one JSON object (at most FETCHER_REQUEST_MAX),
 *           then EOF;
 *   stdout  the answer: one line of JSON (the header, at most
 *           FETCHER_HEADER_MAX), "\n", then the body (a load: the catalog
 *           as catalog_to_cache() writes it; a fetch: nothing);
 *   stderr  the daemon's stderr (sanitizer reports, a helper that cannot
 *           start); nothing on success.
 * The header is {"r": 0 or -errno, "message": "..." when r < 0, ...}; the
 * message is the one the daemon shows, unchanged. The helper exits 0
 * after a complete answer, also when r < 0; any other exit is a crash.
 *
 * Request fields: "op" ("load" or "fetch"), "kind" ("git" or "http"),
 * "cacheDir" (the source's cache, writable), and
 *   load:  "location", "remote" (git: what to fetch from, when not the
 *          location), "pubkey", "adding", "connectTimeoutMs", "timeoutMs";
 *   fetch: "targetDir" (empty, writable), "name", "version";
 *          git: "commit", "subpath"; http: "archiveUrl", "archiveSha256",
 *          "archiveSize", "connectTimeoutMs", "timeoutMs".
 * A load's header adds "location", "pinnedKey", "pinnedByIndex". */
#pragma once

#include <stdatomic.h>
#include <stddef.h>
#include <jansson.h>
#include "core/error.h"

#define FETCHER_NAME         "dogeboxd-fetch"
#define FETCHER_ENV          "DBX_FETCH" /* the helper's path, overriding the search */
#define FETCHER_REQUEST_MAX  (64 * 1024)
#define FETCHER_HEADER_MAX   (64 * 1024)
#define FETCHER_HEADER_DEPTH 4

/* The helper's uid and gid when the daemon runs as root: a dedicated id
 * just below the pups' ranges (0x80000 + n * 65536, docs/sandbox.md), so
 * no other process on the box owns what the helper writes. */
#define FETCHER_UID 0x7ffff
#define FETCHER_GID 0x7ffff

/* Where the helper sees its directories when it runs in its own mount
 * namespace (the daemon runs as root): a private tmpfs on /tmp. */
#define FETCHER_MNT_CACHE  "/tmp/cache"
#define FETCHER_MNT_TARGET "/tmp/target"
#define FETCHER_MNT_SOURCE "/tmp/source"

/* Hard limits the daemon enforces on top of the helper's own timeouts
 * (which produce the messages users see): a helper past its limit is
 * killed. */
#define FETCHER_GRACE_MS    (30 * 1000)      /* beyond the helper's own network timeouts */
#define FETCHER_GIT_SCAN_MS (5 * 60 * 1000)  /* reading up to 256 tags' trees */
#define FETCHER_EXTRACT_MS  (60 * 60 * 1000) /* writing a payload of up to 4 GiB */
#define FETCHER_POLL_MS     100              /* how often a cancel request is noticed */
#define FETCHER_NOFILE_MAX  1024             /* RLIMIT_NOFILE of the helper */

/* Find the helper ($DBX_FETCH, next to the running executable, then
 * installed) and keep it open for the process's lifetime. Call once at
 * startup, before any load. -ENOENT with a message naming where it looked. */
int fetcher_init(const char *installed, struct dbx_error *err);
/* Has fetcher_init succeeded? */
bool fetcher_ready(void);

struct fetcher_call {
        json_t *request;            /* borrowed; fetcher_run adds the directory fields */
        const char *cache_dir;      /* the source's cache: created if needed, given to the helper */
        const char *target_dir;     /* fetch: the empty payload folder, or NULL */
        const char *local_repo;     /* git: a local repository path to show read-only, or NULL */
        long limit_ms;              /* the helper is killed after this long */
        size_t body_max;            /* a longer body kills the helper */
        const atomic_bool *cancel;  /* may be NULL; set: kill the helper, -ECANCELED */
        const char *cancel_message; /* err's message on cancel */
        const atomic_bool *abort;   /* the same for a second reason (the owner cancels a job) */
        const char *abort_message;
        const char *what; /* "loading <location>": names the operation in errors */
        /* results, when fetcher_run returns 0 */
        json_t *header;
        char *body;
        size_t body_len;
};

/* Run one helper operation; blocks (call it on a worker thread). Returns
 * the helper's r (its message in err) or this side's failure: the helper
 * could not start, crashed, overran limit_ms or body_max, or the call was
 * cancelled. On r >= 0 header/body are set; fetcher_call_clear frees them. */
int fetcher_run(struct fetcher_call *c, struct dbx_error *err);
void fetcher_call_clear(struct fetcher_call *c);

/* The helper's uid/gid for this daemon: FETCHER_UID/GID as root, our own
 * ids otherwise (then no namespaces and no id change). */
bool fetcher_drops_privileges(void);
