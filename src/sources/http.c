/* HTTP sources (libcurl): fetching the index with ETag/If-Modified-Since
 * caching in the source's cache dir, its detached signature, and archive
 * downloads for installs. Only http and https, also across redirects;
 * connect and total timeouts; every body has a size limit enforced while
 * it arrives (a lying or missing Content-Length changes nothing). */
#include <curl/curl.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <sys/stat.h>
#include "core/fsutil.h"
#include "core/json.h"
#include "core/macro.h"
#include "core/util.h"
#include "dbx-config.h"
#include "sources/index.h"
#include "sources/internal.h"

#define HTTP_HEADER_VALUE_MAX 512 /* longer ETag / Last-Modified values are not kept */
#define HTTP_META_MAX         (16 * 1024)

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
        curl_global_init(CURL_GLOBAL_DEFAULT);
}

void http_global_init(void)
{
        pthread_once(&curl_once, curl_init_once);
}

struct sink {
        char *buf;
        size_t len, cap, max;
        bool too_big;
        int fd; /* >= 0: stream to the file instead */
        uint64_t expected;
        crypto_hash_sha256_state sha;
        int write_errno;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
        struct sink *s = ud;
        size_t n = size * nmemb;
        if (s->len + n > s->max) {
                s->too_big = true;
                return 0; /* aborts the transfer */
        }
        if (s->fd >= 0) {
                crypto_hash_sha256_update(&s->sha, (const unsigned char *)ptr, n);
                for (size_t off = 0; off < n;) {
                        ssize_t w = write(s->fd, ptr + off, n - off);
                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w <= 0) {
                                s->write_errno = w < 0 ? errno : EIO;
                                return 0;
                        }
                        off += (size_t)w;
                }
                s->len += n;
                return n;
        }
        if (s->len + n + 1 > s->cap) {
                size_t cap = s->cap ? s->cap : 64 * 1024;
                while (cap < s->len + n + 1)
                        cap *= 2;
                s->buf = xrealloc(s->buf, cap);
                s->cap = cap;
        }
        memcpy(s->buf + s->len, ptr, n);
        s->len += n;
        s->buf[s->len] = '\0';
        return n;
}

struct hdrs {
        char *etag, *last_modified;
};

static void keep_header(char **dst, const char *v, size_t n)
{
        while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
                n--;
        while (n && *v == ' ') {
                v++;
                n--;
        }
        free(*dst);
        *dst = n && n <= HTTP_HEADER_VALUE_MAX ? xstrndup(v, n) : NULL;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
        struct hdrs *h = ud;
        size_t n = size * nmemb;
        /* A new response (redirect, 100-continue) starts: forget the old one. */
        if (n > 5 && strncmp(ptr, "HTTP/", 5) == 0) {
                free(h->etag);
                free(h->last_modified);
                h->etag = h->last_modified = NULL;
        } else if (n > 5 && strncasecmp(ptr, "ETag:", 5) == 0)
                keep_header(&h->etag, ptr + 5, n - 5);
        else if (n > 14 && strncasecmp(ptr, "Last-Modified:", 14) == 0)
                keep_header(&h->last_modified, ptr + 14, n - 14);
        return n;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
        const atomic_bool *cancel = ud;
        return atomic_load(cancel) ? 1 : 0; /* non-zero aborts the transfer */
}

static CURL *easy_new(const char *url, long connect_ms, long total_ms, char *errbuf)
{
        CURL *c = curl_easy_init();
        if (!c)
                return NULL;
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c, CURLOPT_MAXREDIRS, (long)SOURCES_HTTP_REDIRECTS_MAX);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, total_ms);
        curl_easy_setopt(c, CURLOPT_USERAGENT, "dogeboxd/" DBX_VERSION);
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
        curl_easy_setopt(c, CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
        errbuf[0] = '\0';
        return c;
}

static int curl_failure(CURLcode rc, const char *errbuf, const char *url, const struct sink *s,
                        struct dbx_error *err)
{
        if (s->too_big)
                return dbx_error_set(err, -EFBIG, "", "%s is larger than %zu bytes (the limit)",
                                     url, s->max);
        if (rc == CURLE_FILESIZE_EXCEEDED)
                return dbx_error_set(err, -EFBIG, "",
                                     "%s is larger than %zu bytes (the limit), says its "
                                     "Content-Length",
                                     url, s->max);
        if (s->write_errno)
                return dbx_error_set(err, -s->write_errno, "", "saving %s failed: %s", url,
                                     strerror(s->write_errno));
        const char *why = errbuf[0] ? errbuf : curl_easy_strerror(rc);
        int code = rc == CURLE_OPERATION_TIMEDOUT                                    ? -ETIMEDOUT
                   : rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ? -EHOSTUNREACH
                                                                                     : -EIO;
        return dbx_error_set(err, code, "", "cannot fetch %s: %s", url, why);
}

int http_fetch(struct http_get *g, struct dbx_error *err)
{
        char errbuf[CURL_ERROR_SIZE];
        struct sink s = {.max = g->max, .fd = -1};
        struct hdrs h = {0};
        struct curl_slist *headers = NULL;
        CURLcode rc;

        http_global_init();
        CURL *c = easy_new(g->url, g->connect_timeout_ms, g->timeout_ms, errbuf);
        if (!c)
                return dbx_error_set(err, -ENOMEM, "", "cannot create an HTTP request");
        curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)g->max);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
        if (g->etag) {
                _cleanup_free_ char *v = xasprintf("If-None-Match: %s", g->etag);
                headers = curl_slist_append(headers, v);
        }
        if (g->last_modified) {
                _cleanup_free_ char *v = xasprintf("If-Modified-Since: %s", g->last_modified);
                headers = curl_slist_append(headers, v);
        }
        if (headers)
                curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
        if (g->cancel) {
                curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
                curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)g->cancel);
                curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        }
        rc = curl_easy_perform(c);
        int r = 0;
        if (rc == CURLE_ABORTED_BY_CALLBACK && g->cancel && atomic_load(g->cancel)) {
                r = dbx_error_set(err, -ECANCELED, "",
                                  "fetching %s was cancelled: dogeboxd is "
                                  "stopping",
                                  g->url);
                free(s.buf);
                free(h.etag);
                free(h.last_modified);
        } else if (rc != CURLE_OK) {
                r = curl_failure(rc, errbuf, g->url, &s, err);
                free(s.buf);
                free(h.etag);
                free(h.last_modified);
        } else {
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &g->status);
                g->body = s.buf ? s.buf : xstrdup("");
                g->len = s.len;
                g->new_etag = h.etag;
                g->new_last_modified = h.last_modified;
        }
        curl_slist_free_all(headers);
        curl_easy_cleanup(c);
        return r;
}

void http_get_clear(struct http_get *g)
{
        free(g->body);
        free(g->new_etag);
        free(g->new_last_modified);
        g->body = g->new_etag = g->new_last_modified = NULL;
}

char *http_resolve(const char *base, const char *ref)
{
        char *out = NULL;
        CURLU *u = curl_url();
        if (!u)
                return NULL;
        if (curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
            curl_url_set(u, CURLUPART_URL, ref, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_URL, &out, 0) == CURLUE_OK) {
                char *r = xstrdup(out);
                curl_free(out);
                curl_url_cleanup(u);
                return r;
        }
        curl_url_cleanup(u);
        return NULL;
}

/* "<url>.sig", with the suffix on the path (before any query). */
static char *sig_url(const char *url)
{
        char *path = NULL, *out = NULL, *r = NULL;
        CURLU *u = curl_url();
        if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
            curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK) {
                _cleanup_free_ char *p = xasprintf("%s.sig", path);
                if (curl_url_set(u, CURLUPART_PATH, p, 0) == CURLUE_OK &&
                    curl_url_get(u, CURLUPART_URL, &out, 0) == CURLUE_OK)
                        r = xstrdup(out);
        }
        curl_free(path);
        curl_free(out);
        curl_url_cleanup(u);
        return r;
}

int http_download(const char *url, int fd, uint64_t size, const char *sha256_hex,
                  long connect_timeout_ms, long timeout_ms, struct dbx_error *err)
{
        char errbuf[CURL_ERROR_SIZE], got[CATALOG_SHA256_HEX + 1];
        unsigned char digest[crypto_hash_sha256_BYTES];
        struct sink s = {.max = (size_t)size, .fd = fd};
        long status = 0;

        http_global_init();
        crypto_hash_sha256_init(&s.sha);
        CURL *c = easy_new(url, connect_timeout_ms, timeout_ms, errbuf);
        if (!c)
                return dbx_error_set(err, -ENOMEM, "", "cannot create an HTTP request");
        curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)size);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, (long)SOURCES_LOW_SPEED_BYTES);
        curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)SOURCES_LOW_SPEED_SECONDS);
        curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
        CURLcode rc = curl_easy_perform(c);
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(c);
        if (rc == CURLE_HTTP_RETURNED_ERROR)
                return dbx_error_set(err, status == 404 ? -ENOENT : -EIO, "",
                                     "the archive %s answered HTTP %ld", url, status);
        if (rc != CURLE_OK) {
                if (s.too_big || rc == CURLE_FILESIZE_EXCEEDED)
                        return dbx_error_set(err, -EBADMSG, "",
                                             "the archive %s is larger than the %llu bytes the "
                                             "index says",
                                             url, (unsigned long long)size);
                return curl_failure(rc, errbuf, url, &s, err);
        }
        if (s.len != size)
                return dbx_error_set(err, -EBADMSG, "",
                                     "the archive %s is %zu bytes, the index says %llu", url, s.len,
                                     (unsigned long long)size);
        crypto_hash_sha256_final(&s.sha, digest);
        hex_encode(digest, sizeof(digest), got);
        if (!streq(got, sha256_hex))
                return dbx_error_set(err, -EBADMSG, "",
                                     "the archive %s has SHA-256 %s, the index says %s: it was "
                                     "changed or damaged",
                                     url, got, sha256_hex);
        return 0;
}

/* ---- the index, with its cache ---- */

struct cache_meta {
        char *url, *etag, *last_modified, *sha256;
};

static void cache_meta_clear(struct cache_meta *m)
{
        free(m->url);
        free(m->etag);
        free(m->last_modified);
        free(m->sha256);
        *m = (struct cache_meta){0};
}

static void sha256_hex(const char *buf, size_t len, char out[CATALOG_SHA256_HEX + 1])
{
        unsigned char d[crypto_hash_sha256_BYTES];
        crypto_hash_sha256(d, (const unsigned char *)buf, len);
        hex_encode(d, sizeof(d), out);
}

/* The cached index, when it is intact and for this URL. */
static bool cache_read(const char *dir, const char *url, struct cache_meta *m, char **body,
                       size_t *len)
{
        _cleanup_free_ char *mp = xasprintf("%s/http.json", dir),
                            *ip = xasprintf("%s/index.json", dir), *mt = NULL;
        _cleanup_json_ json_t *j = NULL;
        size_t mlen;
        char sum[CATALOG_SHA256_HEX + 1];

        if (fs_read_file(mp, HTTP_META_MAX, &mt, &mlen) < 0 ||
            json_parse_bounded(mt, mlen, 4, true, &j, NULL) < 0)
                return false;
        const char *u = json_string_value(json_object_get(j, "url"));
        const char *sha = json_string_value(json_object_get(j, "sha256"));
        if (!u || !sha || !streq(u, url))
                return false;
        if (fs_read_file(ip, INDEX_SIZE_MAX, body, len) < 0)
                return false;
        sha256_hex(*body, *len, sum);
        if (!streq(sum, sha)) {
                free(*body);
                *body = NULL;
                return false;
        }
        const char *e = json_string_value(json_object_get(j, "etag"));
        const char *lm = json_string_value(json_object_get(j, "lastModified"));
        m->url = xstrdup(u);
        m->sha256 = xstrdup(sha);
        m->etag = e ? xstrdup(e) : NULL;
        m->last_modified = lm ? xstrdup(lm) : NULL;
        return true;
}

static int cache_write(const char *dir, const char *url, const char *body, size_t len,
                       const char *etag, const char *last_modified)
{
        _cleanup_free_ char *mp = xasprintf("%s/http.json", dir),
                            *ip = xasprintf("%s/index.json", dir), *text = NULL;
        char sum[CATALOG_SHA256_HEX + 1];
        int r = fs_mkdir_p(dir, 0700);
        if (r < 0)
                return r;
        sha256_hex(body, len, sum);
        r = fs_write_atomic(ip, body, len, 0600);
        if (r < 0)
                return r;
        json_t *j = json_pack("{s:s,s:s,s:s?,s:s?}", "url", url, "sha256", sum, "etag", etag,
                              "lastModified", last_modified);
        text = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        return fs_write_atomic(mp, text, strlen(text), 0600);
}

static int fetch_signature(const struct source_spec *spec, const char *index, size_t len,
                           const char *key_hex, struct dbx_error *err)
{
        uint8_t key[INDEX_PUBKEY_BYTES];
        _cleanup_free_ char *url = sig_url(spec->location);
        struct http_get g = {.url = url,
                             .max = INDEX_SIG_TEXT_MAX,
                             .connect_timeout_ms = spec->connect_timeout_ms,
                             .timeout_ms = spec->timeout_ms,
                             .cancel = spec->cancel};
        if (!url)
                return dbx_error_set(err, -EINVAL, "", "no signature URL for %s", spec->location);
        if (index_pubkey_parse(key_hex, key, err) < 0)
                return -EINVAL;
        int r = http_fetch(&g, err);
        if (r < 0)
                return r;
        if (g.status != 200) {
                r = dbx_error_set(err, -EBADMSG, "",
                                  "the source is signed but its signature %s answered HTTP %ld",
                                  url, g.status);
        } else
                r = index_verify(index, len, g.body, g.len, key, err);
        http_get_clear(&g);
        return r;
}

int http_load(const struct source_spec *spec, struct load_result *res, struct dbx_error *err)
{
        struct cache_meta meta = {0};
        _cleanup_free_ char *cached = NULL, *declared = NULL;
        _cleanup_catalog_ struct catalog *cat = NULL;
        size_t cached_len = 0;
        struct dbx_errors errs = {0};
        int r;

        bool have_cache = cache_read(spec->cache_dir, spec->location, &meta, &cached, &cached_len);
        struct http_get g = {
            .url = spec->location,
            .etag = have_cache ? meta.etag : NULL,
            .last_modified = have_cache ? meta.last_modified : NULL,
            .max = INDEX_SIZE_MAX,
            .connect_timeout_ms = spec->connect_timeout_ms,
            .timeout_ms = spec->timeout_ms,
            .cancel = spec->cancel,
        };
        r = http_fetch(&g, err);
        if (r < 0)
                goto out;

        const char *body;
        size_t len;
        bool fresh = g.status == 200;
        if (g.status == 304 && have_cache) {
                body = cached;
                len = cached_len;
        } else if (fresh) {
                body = g.body;
                len = g.len;
        } else {
                r = dbx_error_set(err, g.status == 404 ? -ENOENT : -EIO, "",
                                  "%s answered HTTP %ld%s", spec->location, g.status,
                                  g.status == 404 ? " (not found)" : "");
                goto out;
        }

        r = index_parse(body, len, &cat, &declared, &errs);
        if (r < 0) {
                char joined[DBX_ERROR_MSG_MAX];
                errors_join(&errs, joined, sizeof(joined));
                r = dbx_error_set(err, r, "", "the index at %s is not valid: %s", spec->location,
                                  joined);
                goto out;
        }
        const char *key = spec->pubkey;
        if (!key && spec->adding && declared) {
                key = declared;
                res->pinned_by_index = true;
        }
        if (key) {
                r = fetch_signature(spec, body, len, key, err);
                if (r < 0)
                        goto out;
                res->pinned_key = xstrdup(key);
        }
        /* Relative archive URLs are relative to the index's URL. */
        for (size_t i = 0; i < cat->n; i++) {
                struct catalog_version *v = &cat->versions[i];
                if (!v->archive_url)
                        continue;
                char *abs = http_resolve(spec->location, v->archive_url);
                if (!abs) {
                        catalog_version_error(v, "archive.url",
                                              "\"%s\" cannot be resolved against the index URL",
                                              v->archive_url);
                        free(v->manifest_json);
                        v->manifest_json = NULL;
                        continue;
                }
                free(v->archive_url);
                v->archive_url = abs;
        }
        if (fresh) {
                int w = cache_write(spec->cache_dir, spec->location, body, len, g.new_etag,
                                    g.new_last_modified);
                if (w < 0)
                        catalog_warn(cat, "the index could not be cached in %s: %s",
                                     spec->cache_dir, strerror(-w));
        }
        res->catalog = TAKE_PTR(cat);
        res->location = xstrdup(spec->location);
        r = 0;
out:
        dbx_errors_free(&errs);
        http_get_clear(&g);
        cache_meta_clear(&meta);
        return r;
}
