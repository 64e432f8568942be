/* Git and HTTP sources as the daemon sees them: every load and payload
 * fetch is one run of the fetch helper (fetcher.h), which does the
 * network, git and archive work unprivileged. This side prepares the
 * directories the helper may write (the source's cache, owned by the
 * helper's uid; the payload folder, handed over and taken back), builds
 * the request and turns the answer back into a load_result. Runs on a
 * worker thread. */
#include <fcntl.h>
#include <sys/stat.h>
#include "core/fsutil.h"
#include "core/json.h"
#include "core/macro.h"
#include "core/util.h"
#include "sources/fetcher.h"
#include "sources/internal.h"

/* The cache folder, created if needed and owned by the helper's uid.
 * A cache written by an older daemon (as root) is handed over once. */
static int cache_prepare(const char *dir, struct dbx_error *err)
{
        int r = fs_mkdir_p(dir, 0700);
        if (r < 0)
                return dbx_error_set(err, r, "", "cannot create %s: %s", dir, strerror(-r));
        if (!fetcher_drops_privileges())
                return 0;
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0)
                return dbx_error_set(err, -errno, "", "%s: %s", dir, strerror(errno));
        if (st.st_uid == FETCHER_UID && st.st_gid == FETCHER_GID)
                return 0;
        r = fs_chown_tree(fd, FETCHER_UID, FETCHER_GID, (uid_t)-1);
        if (r < 0)
                return dbx_error_set(err, r, "", "cannot hand %s to the fetch helper: %s", dir,
                                     strerror(-r));
        return 0;
}

/* A git location that is a folder on this machine: the helper sees it
 * read-only in its own mount namespace (it could not reach it by path:
 * the folders above it may be private to root). */
static bool local_repo(const char *location)
{
        struct stat st;
        return location[0] == '/' && stat(location, &st) == 0 && S_ISDIR(st.st_mode);
}

int remote_load(const struct source_spec *spec, struct load_result *res, struct dbx_error *err)
{
        bool git = spec->kind == SOURCE_GIT;
        _cleanup_free_ char *what = xasprintf("loading %s", spec->location);
        _cleanup_free_ char *cancelled =
            git ? xasprintf("git fetch from %s was cancelled: dogeboxd is stopping", spec->location)
                : xasprintf("fetching %s was cancelled: dogeboxd is stopping", spec->location);
        _cleanup_json_ json_t *req =
            json_pack("{s:s,s:s,s:s,s:s?,s:b,s:I,s:I}", "op", "load", "kind", git ? "git" : "http",
                      "location", spec->location, "pubkey", spec->pubkey, "adding", spec->adding,
                      "connectTimeoutMs", (json_int_t)spec->connect_timeout_ms, "timeoutMs",
                      (json_int_t)spec->timeout_ms);
        /* git: one fetch, then the tags' trees; http: the index, then its
         * signature, each with its own timeout. */
        long limit = git ? SOURCES_GIT_TIMEOUT_MS + FETCHER_GIT_SCAN_MS + FETCHER_GRACE_MS
                         : 2 * spec->timeout_ms + FETCHER_GRACE_MS;
        struct fetcher_call c = {
            .request = req,
            .cache_dir = spec->cache_dir,
            .local_repo = git && local_repo(spec->location) ? spec->location : NULL,
            .limit_ms = limit,
            .body_max = CATALOG_CACHE_MAX,
            .cancel = spec->cancel,
            .cancel_message = cancelled,
            .what = what,
        };
        struct catalog *cat = NULL;
        int r = cache_prepare(spec->cache_dir, err);
        if (r < 0)
                return r;
        r = fetcher_run(&c, err);
        if (r < 0)
                return r;
        r = catalog_from_cache(c.body, c.body_len, &cat, err);
        if (r < 0) {
                fetcher_call_clear(&c);
                return dbx_error_set(err, -EIO, "", "%s failed: the fetch helper's catalog: %s",
                                     what, err->message);
        }
        const char *loc = json_string_value(json_object_get(c.header, "location"));
        const char *key = json_string_value(json_object_get(c.header, "pinnedKey"));
        res->catalog = cat;
        res->location = xstrdup(loc ? loc : spec->location);
        res->pinned_key = key ? xstrdup(key) : NULL;
        res->pinned_by_index = json_is_true(json_object_get(c.header, "pinnedByIndex"));
        fetcher_call_clear(&c);
        return 0;
}

int remote_fetch(const struct sources_pup *p, const char *tmp, struct dbx_error *err)
{
        bool git = p->kind == SOURCE_GIT;
        bool drop = fetcher_drops_privileges();
        _cleanup_free_ char *what = xasprintf("fetching %s %s", p->name, p->version);
        _cleanup_free_ char *cancelled =
            xasprintf("fetching %s %s was cancelled: dogeboxd is stopping", p->name, p->version);
        _cleanup_free_ char *aborted =
            xasprintf("fetching %s %s was cancelled by the owner", p->name, p->version);
        _cleanup_json_ json_t *req =
            git ? json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "op", "fetch", "kind", "git", "name",
                            p->name, "version", p->version, "commit", p->commit, "subpath",
                            p->subpath ? p->subpath : "")
                : json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I}", "op", "fetch", "kind", "http",
                            "name", p->name, "version", p->version, "archiveUrl",
                            p->archive_url ? p->archive_url : "", "archiveSha256",
                            p->archive_sha256, "archiveSize", (json_int_t)p->archive_size,
                            "connectTimeoutMs", (json_int_t)p->connect_timeout_ms, "timeoutMs",
                            (json_int_t)p->timeout_ms);
        struct fetcher_call c = {
            .request = req,
            .cache_dir = p->cache_dir,
            .target_dir = tmp,
            .limit_ms = (git ? 0 : p->timeout_ms) + FETCHER_EXTRACT_MS + FETCHER_GRACE_MS,
            .body_max = 0,
            .cancel = p->cancel,
            .cancel_message = cancelled,
            .abort = p->abort,
            .abort_message = aborted,
            .what = what,
        };
        int r = cache_prepare(p->cache_dir, err);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = open(tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return dbx_error_set(err, -errno, "", "%s: %s", tmp, strerror(errno));
        if (drop && fchown(fd, FETCHER_UID, FETCHER_GID) < 0)
                return dbx_error_set(err, -errno, "", "cannot hand %s to the fetch helper: %s", tmp,
                                     strerror(errno));
        r = fetcher_run(&c, err);
        fetcher_call_clear(&c);
        if (r < 0 || !drop)
                return r;
        /* Take the payload back: root-owned, like a disk pup's copy. */
        r = fs_chown_tree(fd, 0, 0, FETCHER_UID);
        if (r < 0)
                return dbx_error_set(err, r, "",
                                     "%s failed: the payload cannot be taken over from the fetch "
                                     "helper (%s): it holds files the helper did not create",
                                     what, strerror(-r));
        return 0;
}
