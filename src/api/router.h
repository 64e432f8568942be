/* Request routing with Go 1.22 ServeMux semantics (reference/upstream-api.md
 * §2.1): `{name}` matches one segment, a pattern ending in '/' is a prefix,
 * the most specific pattern wins (literal segments beat wildcards, left to
 * right), GET also answers HEAD, a path that exists with another method is
 * a 405 with the allowed methods, nothing is a 404. Pure: no I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define ROUTER_SEGMENTS_MAX 16   /* no route is deeper; longer paths are 404 */
#define ROUTER_PATH_MAX     2048 /* longer request paths are refused (414) */
#define ROUTER_ROUTES_MAX   256

enum route_flags {
        ROUTE_OPEN = 1 << 0,  /* no session needed */
        ROUTE_SETUP = 1 << 1, /* open while the box is in setup mode */
        ROUTE_WS = 1 << 2,    /* WebSocket upgrade; registered without method */
};

struct route {
        const char *method; /* NULL: any method (WebSockets, as upstream) */
        const char *pattern;
        void *handler; /* opaque to the router */
        unsigned flags;
};

struct router;

struct route_match {
        const struct route *route;
        size_t nparams;
        struct {
                const char *name; /* points into the pattern (not NUL-terminated) */
                size_t name_len;
                char value[256];
        } params[ROUTER_SEGMENTS_MAX];
};

enum router_result {
        ROUTER_FOUND = 0,
        ROUTER_NOT_FOUND = -1,
        ROUTER_METHOD_NOT_ALLOWED = -2,
        ROUTER_REDIRECT = -3, /* add a trailing '/' (prefix route), upstream's 301 */
};

struct router *router_new(void);
struct router *router_free(struct router *r);
/* Returns -EINVAL for a malformed pattern, -E2BIG past ROUTER_ROUTES_MAX. */
int router_add(struct router *r, const char *method, const char *pattern, void *handler,
               unsigned flags);
/* allow receives "GET, HEAD, POST" for ROUTER_METHOD_NOT_ALLOWED. */
enum router_result router_match(const struct router *r, const char *method, const char *path,
                                struct route_match *m, char *allow, size_t allow_size);
const char *route_param(const struct route_match *m, const char *name);
size_t router_count(const struct router *r);
const struct route *router_get(const struct router *r, size_t i);
