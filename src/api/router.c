#include "api/router.h"
#include "core/macro.h"

struct seg {
        const char *s;
        size_t len;
        bool wild;
};

struct entry {
        struct route route;
        struct seg segs[ROUTER_SEGMENTS_MAX];
        size_t nsegs;
        bool prefix; /* pattern ends in '/' */
};

struct router {
        struct entry *entries;
        size_t n;
};

struct router *router_new(void)
{
        return xcalloc(1, sizeof(struct router));
}

struct router *router_free(struct router *r)
{
        if (r) {
                free(r->entries);
                free(r);
        }
        return NULL;
}

size_t router_count(const struct router *r)
{
        return r->n;
}

const struct route *router_get(const struct router *r, size_t i)
{
        return i < r->n ? &r->entries[i].route : NULL;
}

/* Split "/a/b/c" into segments. A trailing '/' yields prefix=true. */
static int split(const char *path, struct seg *segs, size_t *n, bool *prefix)
{
        *n = 0;
        *prefix = false;
        if (path[0] != '/')
                return -EINVAL;
        const char *p = path + 1;
        if (*p == 0) { /* "/" */
                *prefix = true;
                return 0;
        }
        for (;;) {
                const char *e = strchr(p, '/');
                size_t len = e ? (size_t)(e - p) : strlen(p);
                if (len == 0)
                        return -EINVAL; /* "//" */
                if (*n >= ROUTER_SEGMENTS_MAX)
                        return -E2BIG;
                segs[*n].s = p;
                segs[*n].len = len;
                segs[*n].wild = false;
                (*n)++;
                if (!e)
                        return 0;
                p = e + 1;
                if (*p == 0) {
                        *prefix = true;
                        return 0;
                }
        }
}

int router_add(struct router *r, const char *method, const char *pattern, void *handler,
               unsigned flags)
{
        struct entry e = {0};
        if (r->n >= ROUTER_ROUTES_MAX)
                return -E2BIG;
        if (split(pattern, e.segs, &e.nsegs, &e.prefix) < 0)
                return -EINVAL;
        for (size_t i = 0; i < e.nsegs; i++) {
                struct seg *s = &e.segs[i];
                if (s->s[0] == '{') {
                        if (s->len < 3 || s->s[s->len - 1] != '}')
                                return -EINVAL;
                        s->wild = true;
                        s->s++;
                        s->len -= 2;
                } else if (memchr(s->s, '{', s->len) || memchr(s->s, '}', s->len))
                        return -EINVAL;
        }
        e.route = (struct route){method, pattern, handler, flags};
        r->entries = xrealloc(r->entries, (r->n + 1) * sizeof(*r->entries));
        r->entries[r->n++] = e;
        return 0;
}

static bool entry_matches(const struct entry *e, const struct seg *segs, size_t n)
{
        if (e->prefix ? n < e->nsegs : n != e->nsegs)
                return false;
        /* "/ws/state/" must not match "/ws/state" itself: handled by caller via
         * the request's own trailing slash. */
        for (size_t i = 0; i < e->nsegs; i++) {
                if (e->segs[i].wild)
                        continue;
                if (e->segs[i].len != segs[i].len || memcmp(e->segs[i].s, segs[i].s, segs[i].len))
                        return false;
        }
        return true;
}

/* >0 if a is more specific than b. */
static int specificity(const struct entry *a, const struct entry *b)
{
        size_t n = MIN(a->nsegs, b->nsegs);
        for (size_t i = 0; i < n; i++) {
                if (a->segs[i].wild != b->segs[i].wild)
                        return a->segs[i].wild ? -1 : 1;
        }
        if (a->prefix != b->prefix)
                return a->prefix ? -1 : 1;
        return (int)a->nsegs - (int)b->nsegs;
}

static bool method_ok(const char *route_method, const char *method)
{
        if (!route_method)
                return true;
        if (streq(route_method, method))
                return true;
        return streq(route_method, "GET") && streq(method, "HEAD");
}

static void allow_add(char *allow, size_t size, const char *m)
{
        size_t len = strlen(allow);
        /* already listed? */
        for (const char *p = allow; (p = strstr(p, m)); p += strlen(m)) {
                size_t ml = strlen(m);
                if ((p == allow || p[-1] == ' ') && (p[ml] == ',' || p[ml] == 0))
                        return;
        }
        snprintf(allow + len, size - len, "%s%s", len ? ", " : "", m);
}

enum router_result router_match(const struct router *r, const char *method, const char *path,
                                struct route_match *m, char *allow, size_t allow_size)
{
        struct seg segs[ROUTER_SEGMENTS_MAX];
        size_t n;
        bool trailing;
        const struct entry *best = NULL;
        bool path_exists = false;

        if (allow && allow_size)
                allow[0] = 0;
        if (strlen(path) > ROUTER_PATH_MAX || split(path, segs, &n, &trailing) < 0)
                return ROUTER_NOT_FOUND;

        for (size_t i = 0; i < r->n; i++) {
                const struct entry *e = &r->entries[i];
                /* an exact pattern never matches a path with a trailing '/', and a
                 * prefix pattern needs the slash when the path has no extra segment */
                if (!e->prefix && trailing)
                        continue;
                if (e->prefix && n == e->nsegs && !trailing)
                        continue;
                if (!entry_matches(e, segs, n))
                        continue;
                path_exists = true;
                if (!method_ok(e->route.method, method)) {
                        if (allow) {
                                allow_add(allow, allow_size, e->route.method);
                                if (streq(e->route.method, "GET"))
                                        allow_add(allow, allow_size, "HEAD");
                        }
                        continue;
                }
                if (!best || specificity(e, best) > 0)
                        best = e;
        }
        if (!best) {
                if (path_exists)
                        return ROUTER_METHOD_NOT_ALLOWED;
                if (!trailing) {
                        /* "/ws/state" → 301 "/ws/state/" when a prefix route has it */
                        for (size_t i = 0; i < r->n; i++) {
                                const struct entry *e = &r->entries[i];
                                if (e->prefix && e->nsegs == n && entry_matches(e, segs, n))
                                        return ROUTER_REDIRECT;
                        }
                }
                return ROUTER_NOT_FOUND;
        }
        m->route = &best->route;
        m->nparams = 0;
        for (size_t i = 0; i < best->nsegs; i++) {
                if (!best->segs[i].wild)
                        continue;
                size_t k = m->nparams++;
                m->params[k].name = best->segs[i].s;
                m->params[k].name_len = best->segs[i].len;
                snprintf(m->params[k].value, sizeof(m->params[k].value), "%.*s", (int)segs[i].len,
                         segs[i].s);
        }
        return ROUTER_FOUND;
}

const char *route_param(const struct route_match *m, const char *name)
{
        size_t len = strlen(name);
        for (size_t i = 0; i < m->nparams; i++)
                if (m->params[i].name_len == len && !memcmp(m->params[i].name, name, len))
                        return m->params[i].value;
        return NULL;
}
