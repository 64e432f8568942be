/* The owner's panel: static files embedded at build time (web/embed.py,
 * web/web_assets.h), served on the API's own origin.
 *
 * One catch-all route ("/", any method, registered last) sees every request
 * that no API route took. It must never turn an API answer into HTML, so it
 * first re-asks the router what the API would have said:
 *   - another method would match (e.g. GET /pup/x/enable) → the API's 405;
 *   - the path is a prefix route without its slash (/ws/state) → the 301;
 *   - the first segment belongs to the API (every registered route's first
 *     segment plus upstream's reserved ones, so a module missing from this
 *     build still answers JSON) → the API's 404.
 * Everything else is the panel: GET/HEAD only; /assets/... are the hashed
 * files (immutable, a year), an unknown /assets/ name is a 404, and any
 * other path gets index.html (no-cache, ETag), which routes on the client.
 * The decision is by path, not by the Accept header, so curl and a browser
 * see the same thing. See docs/panel.md. */
#include <assert.h>
#include <stdlib.h>
#include <strings.h>
#include "api/api.h"
#include "core/macro.h"
#include "web/web_assets.h"

#pragma weak web_bundle_get

#define WEB_ASSETS_PREFIX     "/assets/"
#define WEB_IMMUTABLE_CACHE   "public, max-age=31536000, immutable" /* a year: names are hashed */
#define WEB_INDEX_CACHE       "no-cache"                            /* always revalidate */
#define WEB_FIRST_SEGMENT_MAX 64                                    /* longer: not an API segment */

/* First path segments the upstream API uses (reference/upstream-api.md §4),
 * reserved even when this build has not registered the routes yet. */
static const char *const reserved_segments[] = {
    "authenticate", "authenticate.v1.AuthenticateService",
    "logout",       "change-password",
    "keys",         "system",
    "pup",          "pups",
    "config",       "providers",
    "hooks",        "missing-deps",
    "sources",      "source",
    "log",          "jobs",
    "ws",           "test",
};

/* Methods tried to learn whether an API route owns a path under another
 * method (api_dispatch's 405 has to survive the catch-all). */
static const char *const api_methods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};

static void web_fallback(struct api_ctx *ctx, struct api_req *req);

static bool is_fallback(const struct route *r)
{
        return r && r->handler == (void *)web_fallback;
}

static size_t first_segment(const char *path, char *buf, size_t size)
{
        const char *p = path[0] == '/' ? path + 1 : path;
        size_t len = strcspn(p, "/");
        if (len >= size)
                return 0;
        memcpy(buf, p, len);
        buf[len] = 0;
        return len;
}

static bool is_api_path(struct api_ctx *ctx, const char *path)
{
        char seg[WEB_FIRST_SEGMENT_MAX], rseg[WEB_FIRST_SEGMENT_MAX];
        if (!first_segment(path, seg, sizeof(seg)))
                return false;
        for (size_t i = 0; i < ARRAY_SIZE(reserved_segments); i++)
                if (streq(seg, reserved_segments[i]))
                        return true;
        for (size_t i = 0; i < router_count(ctx->router); i++) {
                const struct route *r = router_get(ctx->router, i);
                if (is_fallback(r) || !first_segment(r->pattern, rseg, sizeof(rseg)))
                        continue;
                if (rseg[0] != '{' && streq(seg, rseg))
                        return true;
        }
        return false;
}

/* "GET, HEAD, POST" for the methods some API route accepts on path. */
static void api_allowed(struct api_ctx *ctx, const char *path, char *allow, size_t size)
{
        static struct route_match m; /* large; the loop thread is the only user */
        allow[0] = 0;
        for (size_t i = 0; i < ARRAY_SIZE(api_methods); i++) {
                if (router_match(ctx->router, api_methods[i], path, &m, NULL, 0) != ROUTER_FOUND ||
                    is_fallback(m.route))
                        continue;
                size_t len = strlen(allow);
                snprintf(allow + len, size - len, "%s%s%s", len ? ", " : "", api_methods[i],
                         streq(api_methods[i], "GET") ? ", HEAD" : "");
        }
}

/* The API's 301 for a prefix route asked for without its slash. */
static bool api_redirects(struct api_ctx *ctx, const char *method, const char *path)
{
        static struct route_match m;
        size_t len = strlen(path);
        if (len == 0 || path[len - 1] == '/' || len + 2 > ROUTER_PATH_MAX)
                return false;
        _cleanup_free_ char *slashed = xasprintf("%s/", path);
        if (router_match(ctx->router, method, slashed, &m, NULL, 0) != ROUTER_FOUND ||
            is_fallback(m.route))
                return false;
        /* only a prefix route with exactly the path's segments, as in router.c */
        size_t psegs = 0, rsegs = 0;
        for (const char *p = slashed; *p; p++)
                psegs += *p == '/';
        for (const char *p = m.route->pattern; *p; p++)
                rsegs += *p == '/';
        return rsegs == psegs;
}

static int asset_cmp(const void *key, const void *elem)
{
        return strcmp(key, ((const struct web_asset *)elem)->path);
}

/* Does Accept-Encoding allow gzip? ("gzip;q=0" says no.) */
static bool accepts_gzip(struct api_req *req)
{
        const char *ae = api_req_header(req, "Accept-Encoding");
        while (ae && *ae) {
                ae += strspn(ae, " \t,");
                size_t len = strcspn(ae, ",");
                if (len >= 4 && strncasecmp(ae, "gzip", 4) == 0 &&
                    (len == 4 || ae[4] == ';' || ae[4] == ' ')) {
                        const char *q = memmem(ae, len, "q=", 2);
                        return !q || strtod(q + 2, NULL) > 0;
                }
                ae += len;
        }
        return false;
}

/* If-None-Match carries our ETag (or "*"): the client's copy is current. */
static bool not_modified(struct api_req *req, const char *etag)
{
        const char *inm = api_req_header(req, "If-None-Match");
        if (!inm)
                return false;
        if (streq(inm, "*"))
                return true;
        size_t elen = strlen(etag);
        for (const char *p = inm; (p = strstr(p, etag)); p += elen) {
                const char *end = p + elen;
                /* whole list item, optionally weak (W/"...") */
                bool start_ok = p == inm || p[-1] == ' ' || p[-1] == ',' || p[-1] == '/';
                if (start_ok && (*end == 0 || *end == ',' || *end == ' '))
                        return true;
        }
        return false;
}

static void send_asset(struct api_req *req, const struct web_bundle *b, const struct web_asset *a)
{
        bool gz = a->gz && accepts_gzip(req);
        const char *etag = gz ? a->etag_gz : a->etag;
        const char *h[24];
        size_t n = 0;
        h[n++] = "Cache-Control";
        h[n++] = a->immutable ? WEB_IMMUTABLE_CACHE : WEB_INDEX_CACHE;
        h[n++] = "ETag";
        h[n++] = etag;
        h[n++] = "X-Content-Type-Options";
        h[n++] = "nosniff";
        if (a->gz) {
                h[n++] = "Vary";
                h[n++] = "Accept-Encoding";
        }
        if (a == b->index) {
                h[n++] = "Content-Security-Policy";
                h[n++] = b->csp;
                h[n++] = "Referrer-Policy";
                h[n++] = "no-referrer";
                h[n++] = "X-Frame-Options";
                h[n++] = "DENY";
        }
        if (not_modified(req, etag)) {
                h[n] = NULL;
                api_reply_bytes(req, 304, NULL, "", 0, h);
                return;
        }
        if (gz) {
                h[n++] = "Content-Encoding";
                h[n++] = "gzip";
        }
        h[n] = NULL;
        assert(n < ARRAY_SIZE(h));
        if (gz)
                api_reply_bytes(req, 200, a->content_type, a->gz, a->gz_len, h);
        else
                api_reply_bytes(req, 200, a->content_type, a->data, a->len, h);
}

static void web_fallback(struct api_ctx *ctx, struct api_req *req)
{
        char allow[128];
        const char *path = req->path;

        api_allowed(ctx, path, allow, sizeof(allow));
        if (allow[0]) {
                const char *h[] = {"Allow", allow, NULL};
                _cleanup_free_ char *body = xasprintf(
                    "{\"error\":{\"code\":405,\"message\":\"method %s is not allowed on %s: "
                    "use %s\"}}",
                    req->method, path, allow);
                api_reply_bytes(req, 405, "application/json", body, strlen(body), h);
                return;
        }
        if (api_redirects(ctx, req->method, path)) {
                _cleanup_free_ char *loc = xasprintf("%s/", path);
                const char *h[] = {"Location", loc, NULL};
                api_reply_bytes(req, 301, "text/plain", "", 0, h);
                return;
        }
        if (is_api_path(ctx, path)) {
                api_reply_error(req, 404, "no such route: %s %s", req->method, path);
                return;
        }
        if (!streq(req->method, "GET") && !streq(req->method, "HEAD")) {
                const char *h[] = {"Allow", "GET, HEAD", NULL};
                _cleanup_free_ char *body = xasprintf(
                    "{\"error\":{\"code\":405,\"message\":\"method %s is not allowed on %s: "
                    "the panel's pages are read with GET\"}}",
                    req->method, path);
                api_reply_bytes(req, 405, "application/json", body, strlen(body), h);
                return;
        }
        const struct web_bundle *b = web_bundle_get ? web_bundle_get() : NULL;
        if (!b) {
                api_reply_error(req, 404,
                                "no such route: %s %s (this dogeboxd was built without the web "
                                "panel)",
                                req->method, path);
                return;
        }
        if (strncmp(path, WEB_ASSETS_PREFIX, strlen(WEB_ASSETS_PREFIX)) == 0) {
                const struct web_asset *a =
                    bsearch(path, b->assets, b->count, sizeof(b->assets[0]), asset_cmp);
                if (!a) {
                        api_reply_error(req, 404,
                                        "no such panel file: %s (asset names change with "
                                        "their content: reload the page)",
                                        path);
                        return;
                }
                send_asset(req, b, a);
                return;
        }
        send_asset(req, b, b->index);
}

int routes_web_register(struct api_ctx *ctx)
{
        /* any method, so that the checks above can answer like the API */
        return api_route(ctx, NULL, "/", web_fallback, ROUTE_OPEN) < 0 ? -EINVAL : 0;
}
