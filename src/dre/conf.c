/* nginx.conf from plain data, route patterns, the web UI port allocator.
 * Pure except dre_nginx_find_stream_module(). docs/networking.md shows a
 * rendered example. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "dre/dre.h"

/* ---- route patterns ---- */

static bool route_char_ok(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               strchr("-._~:@!,+=/", c) != NULL;
}

int dre_route_validate(const char *pattern, struct dbx_error *err)
{
        size_t n = pattern ? strlen(pattern) : 0;

        if (n == 0 || n > DRE_ROUTE_MAX)
                return dbx_error_set(err, -EINVAL, "", "route '%s' must be 1-%d characters",
                                     pattern ? pattern : "", DRE_ROUTE_MAX);
        if (pattern[0] != '/')
                return dbx_error_set(err, -EINVAL, "", "route '%s' must start with '/'", pattern);
        for (size_t i = 0; i < n; i++) {
                char c = pattern[i];
                if (c == '*') {
                        if (i != n - 1 || pattern[i - 1] != '/')
                                return dbx_error_set(err, -EINVAL, "",
                                                     "route '%s': '*' is only allowed as the "
                                                     "whole last segment ('/prefix/*')",
                                                     pattern);
                        continue;
                }
                if (!route_char_ok(c))
                        return dbx_error_set(err, -EINVAL, "",
                                             "route '%s': character '%c' is not allowed (letters, "
                                             "digits, - . _ ~ : @ ! , + = / and a final *)",
                                             pattern, c >= 0x20 && c < 0x7f ? c : '?');
        }
        /* Segments: no empty ones inside, no "." or "..". */
        const char *p = pattern + 1;
        while (*p) {
                const char *e = strchr(p, '/');
                size_t len = e ? (size_t)(e - p) : strlen(p);
                if (len == 0 && e)
                        return dbx_error_set(err, -EINVAL, "",
                                             "route '%s' contains '//', which never matches a "
                                             "normalised path",
                                             pattern);
                if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
                        return dbx_error_set(err, -EINVAL, "",
                                             "route '%s' contains a '.' or '..' segment, which "
                                             "never matches a normalised path",
                                             pattern);
                if (!e)
                        break;
                p = e + 1;
        }
        return 0;
}

/* The prefix a pattern stands for, or NULL/exact. */
static size_t route_prefix_len(const char *pattern, bool *is_prefix)
{
        size_t n = strlen(pattern);
        if (n >= 2 && pattern[n - 1] == '*') {
                *is_prefix = true;
                return n - 1; /* keep the '/' before '*' */
        }
        *is_prefix = pattern[n - 1] == '/';
        return n;
}

bool dre_route_match(const char *pattern, const char *path)
{
        bool prefix;

        if (dre_route_validate(pattern, NULL) < 0 || !path || path[0] != '/')
                return false;
        size_t len = route_prefix_len(pattern, &prefix);
        if (prefix)
                return strncmp(path, pattern, len) == 0;
        return streq(path, pattern);
}

/* ---- validation helpers ---- */

static bool ip4_ok(const char *s)
{
        struct in_addr a;
        return s && inet_pton(AF_INET, s, &a) == 1;
}

static bool id_ok(const char *s)
{
        size_t n = s ? strlen(s) : 0;
        if (n == 0 || n > DRE_ID_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.'))
                        return false;
        }
        return true;
}

/* Interface names become host names (<name>.localhost): one DNS label. */
static int iface_validate(const char *s, const char *path, struct dbx_error *err)
{
        size_t n = s ? strlen(s) : 0;
        if (n == 0 || n > DRE_IFACE_NAME_MAX - 1)
                return dbx_error_set(err, -EINVAL, path,
                                     "interface name '%s' must be 1-%d "
                                     "characters",
                                     s ? s : "", DRE_IFACE_NAME_MAX - 1);
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
                        return dbx_error_set(err, -EINVAL, path,
                                             "interface name '%s' may only hold lowercase "
                                             "letters, digits, '-' and '_' (it becomes "
                                             "<name>.localhost)",
                                             s);
        }
        if (s[0] == '-' || s[n - 1] == '-')
                return dbx_error_set(err, -EINVAL, path,
                                     "interface name '%s' cannot start or end with '-'", s);
        return 0;
}

/* Paths end up unquoted in nginx.conf: keep them to a safe alphabet. */
static bool path_ok(const char *s, size_t max)
{
        size_t n = s ? strlen(s) : 0;
        if (n == 0 || n > max || s[0] != '/')
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '/' || c == '.' || c == '_' || c == '-' || c == '+'))
                        return false;
        }
        return !strstr(s, "/../") && !(n >= 3 && streq(s + n - 3, "/.."));
}

static bool user_ok(const char *s)
{
        /* "user" or "user group" */
        size_t n = strlen(s), spaces = 0;
        if (n == 0 || n > 64)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (c == ' ') {
                        if (++spaces > 1 || i == 0 || i == n - 1)
                                return false;
                        continue;
                }
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
                        return false;
        }
        return true;
}

/* ---- rendering ---- */

struct sorted {
        const struct dre_binding **b;
        const struct dre_webui **w;
};

static int cmp_ip_str(const char *a, const char *b)
{
        struct in_addr x, y;
        inet_pton(AF_INET, a, &x);
        inet_pton(AF_INET, b, &y);
        uint32_t hx = ntohl(x.s_addr), hy = ntohl(y.s_addr);
        return hx < hy ? -1 : hx > hy;
}

static int cmp_binding(const void *a, const void *b)
{
        const struct dre_binding *x = *(const struct dre_binding *const *)a;
        const struct dre_binding *y = *(const struct dre_binding *const *)b;
        return cmp_ip_str(x->service_addr, y->service_addr);
}

static int cmp_webui(const void *a, const void *b)
{
        const struct dre_webui *x = *(const struct dre_webui *const *)a;
        const struct dre_webui *y = *(const struct dre_webui *const *)b;
        return (int)x->host_port - (int)y->host_port;
}

static int cmp_consumer(const void *a, const void *b)
{
        const struct dre_consumer *x = *(const struct dre_consumer *const *)a;
        const struct dre_consumer *y = *(const struct dre_consumer *const *)b;
        return cmp_ip_str(x->ip, y->ip);
}

static int cmp_u16(const void *a, const void *b)
{
        return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

static int check_binding(const struct dre_nginx_conf *c, const struct dre_binding *b, size_t i,
                         uint16_t http_port, struct dbx_error *err)
{
        char path[64];
        int r;

        snprintf(path, sizeof(path), "bindings[%zu]", i);
        r = iface_validate(b->interface, path, err);
        if (r < 0)
                return r;
        if (!id_ok(b->provider_id))
                return dbx_error_set(err, -EINVAL, path,
                                     "provider id '%s' must be 1-%d letters, digits, '-', '_', "
                                     "'.'",
                                     b->provider_id ? b->provider_id : "", DRE_ID_MAX);
        if (!ip4_ok(b->provider_ip))
                return dbx_error_set(err, -EINVAL, path, "provider_ip '%s' is not an IPv4 address",
                                     b->provider_ip ? b->provider_ip : "");
        if (!ip4_ok(b->service_addr))
                return dbx_error_set(err, -EINVAL, path, "service_addr '%s' is not an IPv4 address",
                                     b->service_addr ? b->service_addr : "");
        if (!b->http_port && !b->n_tcp_ports)
                return dbx_error_set(err, -EINVAL, path,
                                     "interface %s of %s has neither an HTTP nor a TCP port",
                                     b->interface, b->provider_id);
        if (b->n_tcp_ports > DRE_TCP_PORTS_MAX)
                return dbx_error_set(err, -E2BIG, path, "%zu tcp ports (at most %d)",
                                     b->n_tcp_ports, DRE_TCP_PORTS_MAX);
        for (size_t j = 0; j < b->n_tcp_ports; j++) {
                if (!b->tcp_ports[j])
                        return dbx_error_set(err, -EINVAL, path, "0 is not a port (1-65535)");
                if (b->http_port && b->tcp_ports[j] == http_port)
                        return dbx_error_set(err, -EINVAL, path,
                                             "interface %s: tcp port %u collides with the HTTP "
                                             "proxy port on its service address",
                                             b->interface, http_port);
                for (size_t k = 0; k < j; k++)
                        if (b->tcp_ports[k] == b->tcp_ports[j])
                                return dbx_error_set(err, -EINVAL, path, "tcp port %u listed twice",
                                                     b->tcp_ports[j]);
        }
        if (b->n_tcp_ports && !(c->stream_module && *c->stream_module))
                return dbx_error_set(err, -EINVAL, path,
                                     "interface %s has TCP ports but no stream module is "
                                     "configured",
                                     b->interface);
        if (b->n_consumers > DRE_CONSUMERS_MAX)
                return dbx_error_set(err, -E2BIG, path, "%zu consumers (at most %d)",
                                     b->n_consumers, DRE_CONSUMERS_MAX);
        for (size_t j = 0; j < b->n_consumers; j++) {
                const struct dre_consumer *k = &b->consumers[j];
                snprintf(path, sizeof(path), "bindings[%zu].consumers[%zu]", i, j);
                if (!id_ok(k->pup_id))
                        return dbx_error_set(err, -EINVAL, path, "pup id '%s' is not valid",
                                             k->pup_id ? k->pup_id : "");
                if (!ip4_ok(k->ip))
                        return dbx_error_set(err, -EINVAL, path, "ip '%s' is not an IPv4 address",
                                             k->ip ? k->ip : "");
                if (streq(k->ip, b->provider_ip))
                        return dbx_error_set(err, -EINVAL, path,
                                             "pup %s cannot consume its own interface %s",
                                             k->pup_id, b->interface);
                for (size_t l = 0; l < j; l++)
                        if (streq(b->consumers[l].ip, k->ip))
                                return dbx_error_set(err, -EINVAL, path, "consumer %s listed twice",
                                                     k->ip);
                if (k->n_routes > DRE_ROUTES_MAX)
                        return dbx_error_set(err, -E2BIG, path, "%zu routes (at most %d)",
                                             k->n_routes, DRE_ROUTES_MAX);
                for (size_t l = 0; l < k->n_routes; l++) {
                        struct dbx_error e = {0};
                        r = dre_route_validate(k->routes[l], &e);
                        if (r < 0)
                                return dbx_error_set(err, r, path, "%s", e.message);
                }
        }
        return 0;
}

static int check_conf(const struct dre_nginx_conf *c, uint16_t http_port, struct sorted *s,
                      struct dbx_error *err)
{
        char path[64];
        int r;

        if (!path_ok(c->run_dir, DRE_RUN_DIR_MAX))
                return dbx_error_set(err, -EINVAL, "run_dir",
                                     "'%s' must be an absolute path of at most %d characters "
                                     "from [A-Za-z0-9/._+-]",
                                     c->run_dir ? c->run_dir : "", DRE_RUN_DIR_MAX);
        if (c->stream_module && *c->stream_module && !path_ok(c->stream_module, 4096))
                return dbx_error_set(err, -EINVAL, "stream_module",
                                     "'%s' must be an absolute path from [A-Za-z0-9/._+-]",
                                     c->stream_module);
        if (c->user && !user_ok(c->user))
                return dbx_error_set(err, -EINVAL, "user",
                                     "'%s' is not 'user' or 'user group' (lowercase names)",
                                     c->user);
        if (c->workers > 64)
                return dbx_error_set(err, -EINVAL, "workers", "%u workers (at most 64)",
                                     c->workers);
        if (c->n_listen_addrs > DRE_LISTEN_ADDRS_MAX)
                return dbx_error_set(err, -E2BIG, "listen_addrs", "%zu addresses (at most %d)",
                                     c->n_listen_addrs, DRE_LISTEN_ADDRS_MAX);
        for (size_t i = 0; i < c->n_listen_addrs; i++) {
                struct in6_addr a6;
                const char *a = c->listen_addrs[i];
                if (!ip4_ok(a) && !(a && inet_pton(AF_INET6, a, &a6) == 1))
                        return dbx_error_set(err, -EINVAL, "listen_addrs",
                                             "'%s' is not an IPv4 or IPv6 address", a ? a : "");
                for (size_t j = 0; j < i; j++)
                        if (streq(c->listen_addrs[j], a))
                                return dbx_error_set(err, -EINVAL, "listen_addrs",
                                                     "'%s' listed twice", a);
        }
        if (c->n_bindings > DRE_BINDINGS_MAX)
                return dbx_error_set(err, -E2BIG, "bindings", "%zu bindings (at most %d)",
                                     c->n_bindings, DRE_BINDINGS_MAX);
        if (c->n_webuis > DRE_WEBUIS_MAX)
                return dbx_error_set(err, -E2BIG, "webuis", "%zu web UIs (at most %d)", c->n_webuis,
                                     DRE_WEBUIS_MAX);
        if (c->n_webuis && !c->n_listen_addrs)
                return dbx_error_set(err, -EINVAL, "listen_addrs",
                                     "web UIs need at least one listen address");

        s->b = xcalloc(c->n_bindings + 1, sizeof(*s->b));
        for (size_t i = 0; i < c->n_bindings; i++) {
                r = check_binding(c, &c->bindings[i], i, http_port, err);
                if (r < 0)
                        return r;
                s->b[i] = &c->bindings[i];
        }
        qsort(s->b, c->n_bindings, sizeof(*s->b), cmp_binding);
        for (size_t i = 1; i < c->n_bindings; i++)
                if (streq(s->b[i]->service_addr, s->b[i - 1]->service_addr))
                        return dbx_error_set(err, -EINVAL, "bindings",
                                             "service address %s is used by %s of %s and %s of "
                                             "%s",
                                             s->b[i]->service_addr, s->b[i - 1]->interface,
                                             s->b[i - 1]->provider_id, s->b[i]->interface,
                                             s->b[i]->provider_id);

        s->w = xcalloc(c->n_webuis + 1, sizeof(*s->w));
        for (size_t i = 0; i < c->n_webuis; i++) {
                const struct dre_webui *w = &c->webuis[i];
                snprintf(path, sizeof(path), "webuis[%zu]", i);
                if (!id_ok(w->pup_id))
                        return dbx_error_set(err, -EINVAL, path, "pup id '%s' is not valid",
                                             w->pup_id ? w->pup_id : "");
                if (!ip4_ok(w->pup_ip))
                        return dbx_error_set(err, -EINVAL, path,
                                             "pup_ip '%s' is not an IPv4 address",
                                             w->pup_ip ? w->pup_ip : "");
                if (!w->host_port || !w->pup_port)
                        return dbx_error_set(err, -EINVAL, path, "0 is not a port (1-65535)");
                for (size_t j = 0; j < c->n_bindings; j++)
                        for (size_t k = 0; k < c->bindings[j].n_tcp_ports; k++)
                                if (c->bindings[j].tcp_ports[k] == w->host_port)
                                        return dbx_error_set(
                                            err, -EADDRINUSE, path,
                                            "web UI port %u of %s is also a TCP port of "
                                            "interface %s",
                                            w->host_port, w->pup_id, c->bindings[j].interface);
                s->w[i] = w;
        }
        qsort(s->w, c->n_webuis, sizeof(*s->w), cmp_webui);
        for (size_t i = 1; i < c->n_webuis; i++)
                if (s->w[i]->host_port == s->w[i - 1]->host_port)
                        return dbx_error_set(err, -EADDRINUSE, "webuis",
                                             "host port %u is given to two web UIs (%s and %s)",
                                             s->w[i]->host_port, s->w[i - 1]->pup_id,
                                             s->w[i]->pup_id);
        return 0;
}

static void put_listen(FILE *f, const char *addr, uint16_t port)
{
        if (strchr(addr, ':'))
                fprintf(f, "\t\tlisten [%s]:%u;\n", addr, port);
        else
                fprintf(f, "\t\tlisten %s:%u;\n", addr, port);
}

/* Route enforcement with plain nginx locations, no regexes or maps (which
 * made `nginx -t` and every reload slow, and cost per request):
 *
 *  - every prefix pattern "/p/" (or "/p/ *") becomes `location /p/`, every
 *    exact pattern "/x" becomes `location = /x`;
 *  - nginx picks the exact location, else the longest prefix. So the
 *    consumers allowed in `location /p/` are those holding a prefix pattern
 *    that is a prefix of "/p/" (any longer one has its own location), and
 *    in `location = /x` those holding "/x" or a prefix of it;
 *  - `location /` always exists (403 for everyone unless granted), and so
 *    does `location = /p` next to every `location /p/`: otherwise nginx
 *    would answer a bare "/p" with a redirect to "/p/" before any access
 *    check;
 *  - proxy_pass carries the location's own path, so nginx forwards the
 *    normalised URI it matched, never the raw one.
 *
 * The result matches dre_route_match() exactly (the integration tests
 * compare the two). */
struct loc {
        char path[DRE_ROUTE_MAX + 1];
        bool exact;
};

static bool loc_has(const struct loc *l, size_t n, const char *path, bool exact)
{
        for (size_t i = 0; i < n; i++)
                if (l[i].exact == exact && streq(l[i].path, path))
                        return true;
        return false;
}

static void loc_add(struct loc *l, size_t *n, const char *path, size_t len, bool exact)
{
        char buf[DRE_ROUTE_MAX + 1];
        snprintf(buf, sizeof(buf), "%.*s", (int)len, path);
        if (loc_has(l, *n, buf, exact))
                return;
        memcpy(l[*n].path, buf, sizeof(buf));
        l[*n].exact = exact;
        (*n)++;
}

static int cmp_loc(const void *a, const void *b)
{
        const struct loc *x = a, *y = b;
        int c = strcmp(x->path, y->path);
        return c ? c : (int)y->exact - (int)x->exact;
}

/* May consumer k see the paths location l receives? */
static bool loc_allows(const struct loc *l, const struct dre_consumer *k)
{
        for (size_t i = 0; i < k->n_routes; i++) {
                bool prefix;
                size_t len = route_prefix_len(k->routes[i], &prefix);
                if (l->exact) {
                        if (dre_route_match(k->routes[i], l->path))
                                return true;
                } else if (prefix && strncmp(l->path, k->routes[i], len) == 0) {
                        return true;
                }
        }
        return false;
}

static void render_http_binding(FILE *f, const struct dre_binding *b, size_t idx,
                                uint16_t http_port)
{
        _cleanup_free_ const struct dre_consumer **cons =
            xcalloc(b->n_consumers + 1, sizeof(*cons));
        size_t n_routes = 0;
        for (size_t i = 0; i < b->n_consumers; i++) {
                cons[i] = &b->consumers[i];
                n_routes += b->consumers[i].n_routes;
        }
        qsort(cons, b->n_consumers, sizeof(*cons), cmp_consumer);

        /* each route gives at most two locations, plus "/" */
        _cleanup_free_ struct loc *locs = xcalloc(2 * n_routes + 1, sizeof(*locs));
        size_t n = 0;
        loc_add(locs, &n, "/", 1, false);
        for (size_t i = 0; i < b->n_consumers; i++) {
                for (size_t j = 0; j < b->consumers[i].n_routes; j++) {
                        const char *r = b->consumers[i].routes[j];
                        bool prefix;
                        size_t len = route_prefix_len(r, &prefix);
                        loc_add(locs, &n, r, len, !prefix);
                        if (prefix && len > 1) /* the bare "/p" of "/p/" */
                                loc_add(locs, &n, r, len - 1, true);
                }
        }
        qsort(locs, n, sizeof(*locs), cmp_loc);

        fprintf(f,
                "\tupstream dbx_up_%zu {\n"
                "\t\tserver %s:%u;\n"
                "\t\tkeepalive 32;\n"
                "\t}\n",
                idx, b->provider_ip, b->http_port);
        fprintf(f, "\t# interface %s, provider %s\n\tserver {\n", b->interface, b->provider_id);
        put_listen(f, b->service_addr, http_port);
        fprintf(f, "\t\tserver_name %s.localhost %s;\n", b->interface, b->service_addr);
        for (size_t i = 0; i < n; i++) {
                fprintf(f, "\t\tlocation %s%s {\n", locs[i].exact ? "= " : "", locs[i].path);
                bool any = false;
                for (size_t k = 0; k < b->n_consumers; k++) {
                        if (!loc_allows(&locs[i], cons[k]))
                                continue;
                        fprintf(f, "\t\t\tallow %s; # %s\n", cons[k]->ip, cons[k]->pup_id);
                        any = true;
                }
                if (any)
                        fprintf(f, "\t\t\tdeny all;\n\t\t\tproxy_pass http://dbx_up_%zu%s;\n", idx,
                                locs[i].path);
                else
                        fputs("\t\t\treturn 403;\n", f);
                fputs("\t\t}\n", f);
        }
        fputs("\t}\n", f);
}

static void render_stream_binding(FILE *f, const struct dre_binding *b)
{
        _cleanup_free_ const struct dre_consumer **cons =
            xcalloc(b->n_consumers + 1, sizeof(*cons));
        _cleanup_free_ uint16_t *ports = xcalloc(b->n_tcp_ports + 1, sizeof(uint16_t));
        for (size_t i = 0; i < b->n_consumers; i++)
                cons[i] = &b->consumers[i];
        qsort(cons, b->n_consumers, sizeof(*cons), cmp_consumer);
        memcpy(ports, b->tcp_ports, b->n_tcp_ports * sizeof(uint16_t));
        qsort(ports, b->n_tcp_ports, sizeof(uint16_t), cmp_u16);

        for (size_t p = 0; p < b->n_tcp_ports; p++) {
                fprintf(f, "\t# interface %s, provider %s\n\tserver {\n", b->interface,
                        b->provider_id);
                put_listen(f, b->service_addr, ports[p]);
                for (size_t i = 0; i < b->n_consumers; i++)
                        fprintf(f, "\t\tallow %s; # %s\n", cons[i]->ip, cons[i]->pup_id);
                fprintf(f,
                        "\t\tdeny all;\n"
                        "\t\tproxy_pass %s:%u;\n"
                        "\t}\n",
                        b->provider_ip, ports[p]);
        }
}

static void render_webui(FILE *f, const struct dre_nginx_conf *c, const struct dre_webui *w)
{
        fprintf(f, "\t# web UI '%s' of %s\n\tserver {\n", w->name && id_ok(w->name) ? w->name : "",
                w->pup_id);
        for (size_t i = 0; i < c->n_listen_addrs; i++)
                put_listen(f, c->listen_addrs[i], w->host_port);
        fprintf(f,
                "\t\tlocation / {\n"
                "\t\t\tproxy_pass http://%s:%u;\n"
                "\t\t}\n"
                "\t}\n",
                w->pup_ip, w->pup_port);
}

int dre_nginx_render(const struct dre_nginx_conf *c, char **ret, struct dbx_error *err)
{
        uint16_t http_port = c->http_port ? c->http_port : DRE_HTTP_PORT_DEFAULT;
        struct sorted s = {0};
        char *text = NULL;
        size_t len = 0;
        bool any_tcp = false;

        int r = check_conf(c, http_port, &s, err);
        if (r < 0)
                goto out;
        for (size_t i = 0; i < c->n_bindings; i++)
                any_tcp |= c->bindings[i].n_tcp_ports > 0;

        FILE *f = open_memstream(&text, &len);
        if (!f) {
                r = dbx_error_set(err, -ENOMEM, "", "out of memory");
                goto out;
        }
        const char *rd = c->run_dir;
        fputs("# dogeboxd: generated, do not edit. docs/networking.md explains it.\n", f);
        if (any_tcp)
                fprintf(f, "load_module %s;\n", c->stream_module);
        if (c->workers)
                fprintf(f, "worker_processes %u;\n", c->workers);
        else
                fputs("worker_processes auto;\n", f);
        fprintf(f,
                "user %s;\n"
                "pid %s/nginx.pid;\n"
                "lock_file %s/nginx.lock;\n"
                "error_log %s/logs/error.log notice;\n"
                "worker_rlimit_nofile 16384;\n"
                "worker_shutdown_timeout 10s;\n"
                "pcre_jit on;\n"
                "events {\n"
                "\tworker_connections 4096;\n"
                "}\n",
                c->user ? c->user : "nobody nogroup", rd, rd, rd);
        fprintf(f,
                "http {\n"
                "\taccess_log %s/logs/access.log combined buffer=64k flush=5s;\n"
                "\tclient_body_temp_path %s/tmp/client_body;\n"
                "\tproxy_temp_path %s/tmp/proxy;\n"
                "\tfastcgi_temp_path %s/tmp/fastcgi;\n"
                "\tuwsgi_temp_path %s/tmp/uwsgi;\n"
                "\tscgi_temp_path %s/tmp/scgi;\n"
                "\tserver_tokens off;\n"
                "\tsendfile on;\n"
                "\ttcp_nodelay on;\n"
                "\tkeepalive_timeout 65s;\n"
                "\tclient_max_body_size 32m;\n"
                "\tmap_hash_bucket_size 128;\n"
                "\tserver_names_hash_bucket_size 128;\n"
                "\tproxy_http_version 1.1;\n"
                "\tproxy_connect_timeout 5s;\n"
                "\tproxy_read_timeout 300s;\n"
                "\tproxy_send_timeout 300s;\n"
                "\tmap $http_upgrade $dbx_connection {\n"
                "\t\tdefault upgrade;\n"
                "\t\t\"\" \"\";\n"
                "\t}\n"
                "\tproxy_set_header Host $http_host;\n"
                "\tproxy_set_header Upgrade $http_upgrade;\n"
                "\tproxy_set_header Connection $dbx_connection;\n"
                "\tproxy_set_header X-Real-IP $remote_addr;\n"
                "\tproxy_set_header X-Forwarded-For $remote_addr;\n"
                "\tproxy_set_header X-Forwarded-Proto $scheme;\n",
                rd, rd, rd, rd, rd, rd);
        for (size_t i = 0; i < c->n_bindings; i++) {
                if (!s.b[i]->http_port)
                        continue;
                render_http_binding(f, s.b[i], i, http_port);
        }
        for (size_t i = 0; i < c->n_webuis; i++)
                render_webui(f, c, s.w[i]);
        fputs("}\n", f);
        if (any_tcp) {
                fputs("stream {\n"
                      "\tproxy_connect_timeout 5s;\n"
                      "\tproxy_timeout 1h;\n",
                      f);
                for (size_t i = 0; i < c->n_bindings; i++)
                        if (s.b[i]->n_tcp_ports)
                                render_stream_binding(f, s.b[i]);
                fputs("}\n", f);
        }
        fclose(f);
        if (len > DRE_CONF_MAX) {
                free(text);
                r = dbx_error_set(err, -E2BIG, "", "rendered configuration is %zu bytes (limit %u)",
                                  len, DRE_CONF_MAX);
                goto out;
        }
        *ret = text;
        r = 0;
out:
        free(s.b);
        free(s.w);
        return r;
}

/* ---- stream module ---- */

static const char *const stream_module_dirs[] = {
    "/usr/lib/nginx/modules",   "/usr/share/nginx/modules", "/usr/lib64/nginx/modules",
    "/usr/local/nginx/modules", "/etc/nginx/modules",
};

#define STREAM_MODULE_FILE "ngx_stream_module.so"
#define NGINX_V_MAX        16384 /* `nginx -V` prints about 2 KiB */

static bool file_exists(const char *path)
{
        struct stat st;
        return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int dre_nginx_find_stream_module(const char *nginx_bin, char *out, size_t size)
{
        char buf[NGINX_V_MAX + 1], path[4096];

        for (size_t i = 0; i < ARRAY_SIZE(stream_module_dirs); i++) {
                snprintf(path, sizeof(path), "%s/%s", stream_module_dirs[i], STREAM_MODULE_FILE);
                if (file_exists(path)) {
                        if (strlen(path) >= size)
                                return -ENAMETOOLONG;
                        memcpy(out, path, strlen(path) + 1);
                        return 0;
                }
        }
        /* Ask nginx where its modules live. */
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        pid_t pid = fork();
        if (pid < 0) {
                int r = -errno;
                close(fds[0]);
                close(fds[1]);
                return r;
        }
        if (pid == 0) {
                dup2(fds[1], STDERR_FILENO);
                dup2(fds[1], STDOUT_FILENO);
                execl(nginx_bin ? nginx_bin : DRE_NGINX_BIN_DEFAULT, "nginx", "-V", (char *)NULL);
                _exit(127);
        }
        close(fds[1]);
        size_t n = 0;
        for (;;) {
                ssize_t k = read(fds[0], buf + n, NGINX_V_MAX - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        break;
                n += (size_t)k;
                if (n == NGINX_V_MAX)
                        break;
        }
        buf[n] = 0;
        close(fds[0]);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        const char *m = strstr(buf, "--modules-path=");
        if (!m)
                return -ENOENT;
        m += strlen("--modules-path=");
        size_t len = strcspn(m, " \n");
        snprintf(path, sizeof(path), "%.*s/%s", (int)len, m, STREAM_MODULE_FILE);
        if (!file_exists(path))
                return -ENOENT;
        if (strlen(path) >= size)
                return -ENAMETOOLONG;
        memcpy(out, path, strlen(path) + 1);
        return 0;
}

/* ---- web UI ports ---- */

int dre_webui_port_allocate(const uint16_t *used, size_t n_used, dre_port_probe_t probe,
                            uint16_t *ret, struct dbx_error *err)
{
        for (uint32_t port = DRE_WEBUI_PORT_MIN; port <= 65535; port++) {
                bool taken = false;
                for (size_t i = 0; i < n_used && !taken; i++)
                        taken = used[i] == port;
                if (taken)
                        continue;
                if (probe) {
                        bool busy = false;
                        int r = probe((uint16_t)port, &busy);
                        if (r < 0)
                                return dbx_error_set(err, r, "", "cannot check port %u: %s", port,
                                                     strerror(-r));
                        if (busy)
                                continue;
                }
                *ret = (uint16_t)port;
                return 0;
        }
        return dbx_error_set(err, -ENOSPC, "", "no free web UI port left in %d-65535",
                             DRE_WEBUI_PORT_MIN);
}
