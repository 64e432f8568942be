/* dogeboxd-fetch: the fetch helper. The daemon runs one per operation,
 * already confined (src/sources/fetcher.c): an unprivileged uid, no
 * capabilities, no_new_privs, its own mount namespace where only the
 * source's cache and the payload folder are writable. It reads one
 * request on stdin, does the network, git and archive work with the same
 * code and the same messages the daemon used to run in-process, answers
 * on stdout and exits (protocol: src/sources/fetcher.h).
 *
 * It refuses to run as root: the daemon never starts it that way. */
#include <fcntl.h>
#include <git2.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include "core/json.h"
#include "core/fsutil.h"
#include "core/macro.h"
#include "core/util.h"
#include "sources/fetcher.h"
#include "sources/index.h"
#include "sources/internal.h"

#define EXIT_PROTOCOL 2 /* a bad request or invocation: nothing was done */

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1 /* LeakSanitizer needs to ptrace the process at exit */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif

static int read_request(json_t **ret)
{
        _cleanup_free_ char *buf = xmalloc(FETCHER_REQUEST_MAX + 1);
        size_t len = 0;
        for (;;) {
                ssize_t n = read(STDIN_FILENO, buf + len, FETCHER_REQUEST_MAX + 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len > FETCHER_REQUEST_MAX)
                        return -E2BIG;
        }
        return json_parse_bounded(buf, len, FETCHER_HEADER_DEPTH, true, ret, NULL) < 0 ? -EINVAL
                                                                                       : 0;
}

/* The header line (r, message, extra's fields), then body. */
static int answer(int r, const struct dbx_error *err, json_t *extra, const char *body, size_t len)
{
        json_t *h = extra ? json_incref(extra) : json_object();
        json_object_set_new(h, "r", json_integer(r < 0 ? r : 0));
        if (r < 0)
                json_object_set_new(h, "message",
                                    json_string(err->message[0] ? err->message : strerror(-r)));
        _cleanup_free_ char *text = json_dumps(h, JSON_COMPACT | JSON_ENSURE_ASCII);
        json_decref(h);
        if (!text || strlen(text) > FETCHER_HEADER_MAX)
                return -E2BIG;
        int w = fd_write_all(STDOUT_FILENO, text, strlen(text));
        if (w == 0)
                w = fd_write_all(STDOUT_FILENO, "\n", 1);
        if (w == 0 && body)
                w = fd_write_all(STDOUT_FILENO, body, len);
        return w;
}

static const char *str(const json_t *req, const char *key)
{
        return json_string_value(json_object_get(req, key));
}

static long num(const json_t *req, const char *key, long min, long max)
{
        json_t *v = json_object_get(req, key);
        if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
                return -1;
        return (long)json_integer_value(v);
}

static bool is_hex(const char *s, size_t n)
{
        if (!s || strlen(s) != n)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!strchr("0123456789abcdef", s[i]))
                        return false;
        return true;
}

/* libgit2's messages name the path it opened: a local repository shown at
 * remote is called by its real location again, as before the helper. */
static void unmask_remote(struct dbx_error *err, const char *remote, const char *location)
{
        char out[DBX_ERROR_MSG_MAX];
        size_t n = 0, rl = strlen(remote);
        const char *s = err->message;
        if (!*remote)
                return;
        while (*s && n + 1 < sizeof(out)) {
                if (strncmp(s, remote, rl) == 0) {
                        n += (size_t)snprintf(out + n, sizeof(out) - n, "%s", location);
                        n = MIN(n, sizeof(out) - 1);
                        s += rl;
                } else
                        out[n++] = *s++;
        }
        out[n] = '\0';
        memcpy(err->message, out, n + 1);
}

static int op_load(const json_t *req, enum source_kind kind)
{
        struct dbx_error err = {0};
        struct load_result res = {0};
        const long day_ms = 24L * 3600 * 1000;
        struct source_spec spec = {
            .kind = kind,
            .location = (char *)str(req, "location"),
            .remote = (char *)str(req, "remote"),
            .pubkey = (char *)str(req, "pubkey"),
            .cache_dir = (char *)str(req, "cacheDir"),
            .adding = json_is_true(json_object_get(req, "adding")),
            .connect_timeout_ms = num(req, "connectTimeoutMs", 1, day_ms),
            .timeout_ms = num(req, "timeoutMs", 1, day_ms),
        };
        if (!spec.location || !spec.cache_dir || spec.connect_timeout_ms < 0 ||
            spec.timeout_ms < 0) {
                fprintf(stderr, "%s: a load needs location, cacheDir and timeouts\n", FETCHER_NAME);
                return EXIT_PROTOCOL;
        }
        int r = kind == SOURCE_GIT ? git_load(&spec, &res, &err) : http_load(&spec, &res, &err);
        if (r < 0 && spec.remote)
                unmask_remote(&err, spec.remote, spec.location);
        _cleanup_free_ char *body = NULL;
        size_t len = 0;
        _cleanup_json_ json_t *extra = json_object();
        if (r >= 0) {
                body = catalog_to_cache(res.catalog, &len);
                json_object_set_new(extra, "location", json_string(res.location));
                if (res.pinned_key)
                        json_object_set_new(extra, "pinnedKey", json_string(res.pinned_key));
                json_object_set_new(extra, "pinnedByIndex", json_boolean(res.pinned_by_index));
        }
        catalog_free(res.catalog);
        free(res.location);
        free(res.pinned_key);
        return answer(r, &err, extra, body, len) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

static int fetch_http(const json_t *req, const char *cache, const char *target,
                      struct payload_limits *lim, struct dbx_error *err)
{
        const char *url = str(req, "archiveUrl"), *sha = str(req, "archiveSha256");
        const long day_ms = 24L * 3600 * 1000;
        long connect_ms = num(req, "connectTimeoutMs", 1, day_ms);
        long timeout_ms = num(req, "timeoutMs", 1, day_ms);
        json_t *size = json_object_get(req, "archiveSize");
        if (!url || !*url || !is_hex(sha, CATALOG_SHA256_HEX) || !json_is_integer(size) ||
            json_integer_value(size) < 0 ||
            (uint64_t)json_integer_value(size) > INDEX_ARCHIVE_SIZE_MAX || connect_ms < 0 ||
            timeout_ms < 0)
                return -EPROTO;
        _cleanup_free_ char *dir = xasprintf("%s/downloads", cache);
        char rnd[33];
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return dbx_error_set(err, -errno, "", "cannot create %s: %s", dir, strerror(errno));
        id_new32(rnd);
        _cleanup_free_ char *file = xasprintf("%s/%s.part", dir, rnd);
        _cleanup_close_ int fd =
            open(file, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return dbx_error_set(err, -errno, "", "cannot create %s: %s", file,
                                     strerror(errno));
        int r = http_download(url, fd, (uint64_t)json_integer_value(size), sha, connect_ms,
                              timeout_ms, err);
        if (r >= 0)
                r = payload_extract(file, target, lim, err);
        unlink(file);
        return r;
}

static int op_fetch(const json_t *req, enum source_kind kind)
{
        struct dbx_error err = {0};
        struct payload_limits lim = {.entries = SOURCES_PUP_ENTRIES_MAX,
                                     .bytes = SOURCES_PUP_BYTES_MAX};
        const char *cache = str(req, "cacheDir"), *target = str(req, "targetDir");
        int r;
        if (!cache || !target) {
                fprintf(stderr, "%s: a fetch needs cacheDir and targetDir\n", FETCHER_NAME);
                return EXIT_PROTOCOL;
        }
        if (kind == SOURCE_GIT) {
                const char *commit = str(req, "commit"), *subpath = str(req, "subpath");
                _cleanup_free_ char *mirror = git_mirror_path(cache);
                if (!commit || !subpath)
                        r = -EPROTO;
                else
                        r = git_extract(mirror, commit, subpath, target, &lim, &err);
        } else
                r = fetch_http(req, cache, target, &lim, &err);
        if (r == -EPROTO) {
                fprintf(stderr, "%s: the fetch request is incomplete\n", FETCHER_NAME);
                return EXIT_PROTOCOL;
        }
        return answer(r, &err, NULL, NULL, 0) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* Neither git's system, global nor XDG configuration applies (and the
 * helper has no home). */
static void git_setup(void)
{
        static const int levels[] = {GIT_CONFIG_LEVEL_SYSTEM, GIT_CONFIG_LEVEL_XDG,
                                     GIT_CONFIG_LEVEL_GLOBAL, GIT_CONFIG_LEVEL_PROGRAMDATA};
        git_global_init();
        for (size_t i = 0; i < ARRAY_SIZE(levels); i++)
                git_libgit2_opts(GIT_OPT_SET_SEARCH_PATH, levels[i], "");
        /* The mirror is ours; a local repository shown read-only belongs to
         * whoever made it, and is only read. */
        git_libgit2_opts(GIT_OPT_SET_OWNER_VALIDATION, 0);
}

int main(int argc, char **argv)
{
        _cleanup_json_ json_t *req = NULL;
        enum source_kind kind;

        if (argc != 1) {
                fprintf(stderr,
                        "usage: %s < request.json\n"
                        "The fetch helper of dogeboxd; the daemon runs it (see "
                        "docs/architecture.md).\n",
                        FETCHER_NAME);
                return EXIT_PROTOCOL;
        }
        if (getuid() == 0 || geteuid() == 0) {
                fprintf(stderr, "%s: refusing to run as root: dogeboxd starts it unprivileged\n",
                        FETCHER_NAME);
                return EXIT_PROTOCOL;
        }
#ifndef SANITIZED
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); /* no ptrace by the other helpers (same uid) */
#endif
        int r = read_request(&req);
        if (r < 0) {
                fprintf(stderr, "%s: cannot read the request: %s\n", FETCHER_NAME,
                        r == -E2BIG ? "larger than 64 KiB" : "not a JSON object");
                return EXIT_PROTOCOL;
        }
        const char *op = str(req, "op"), *k = str(req, "kind");
        if (!op || !k || (!streq(k, "git") && !streq(k, "http")) ||
            (!streq(op, "load") && !streq(op, "fetch"))) {
                fprintf(stderr,
                        "%s: the request needs op \"load\" or \"fetch\" and kind \"git\" "
                        "or \"http\"\n",
                        FETCHER_NAME);
                return EXIT_PROTOCOL;
        }
        kind = streq(k, "git") ? SOURCE_GIT : SOURCE_HTTP;
        if (kind == SOURCE_GIT)
                git_setup();
        else
                http_global_init();
        r = streq(op, "load") ? op_load(req, kind) : op_fetch(req, kind);
        if (kind == SOURCE_GIT)
                git_libgit2_shutdown();
        return r;
}
