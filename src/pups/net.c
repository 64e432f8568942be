/* The Dogebox Runtime Environment in the lifecycle (docs/networking.md):
 * the pups' bridge, addresses, firewall, veth wiring, the managed nginx,
 * web UI ports, and what each pup finds in its environment and
 * /etc/hosts. The net and dre modules do the work from plain data; this
 * file maps the daemon's pups onto that data.
 *
 * Every change of state that matters to the network (a pup adopted,
 * uninstalled or purged, a provider chosen) calls pup_net_refresh(), which
 * renders the whole world again: bridge addresses, one atomic firewall
 * transaction, one nginx configuration. Starting and stopping pups change
 * none of it: a pup's veth is added by the sandbox hook when it starts and
 * vanishes with its network namespace when it stops. */
#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include "core/fsutil.h"
#include "core/json.h"
#include "core/log.h"
#include "core/macro.h"
#include "core/util.h"
#include "dbx-config.h"
#include "dre/dre.h"
#include "net/net.h"
#include "pups/internal.h"
#include "runtime/sandbox.h"
#include "store/store.h"

#define NGINX_RUN_SUBDIR   "run/nginx"
#define TABLE_PREFIX       "dogeboxd_"   /* tables of non-default bridges: dogeboxd_<bridge> */
#define HOSTS_SKIP_LOCAL_1 "127.0.0.1\t" /* the sandbox writes its own localhost lines */
#define HOSTS_SKIP_LOCAL_2 "::1\t"
#define PORTS_BITMAP_BYTES (65536 / 8)

struct pups_net {
        bool enabled; /* not --no-network */
        bool up;      /* the bridge exists: pups can be wired */
        char error[DBX_ERROR_MSG_MAX];
        /* The last apply: the firewall or the proxy kept its previous
         * configuration ("" when both took the new one). */
        bool policy_failed;
        char problem[DBX_ERROR_MSG_MAX + 64];
        char bridge[NET_IFNAME_MAX];
        char table[NET_TABLE_NAME_MAX];
        struct net_cidr gw;
        struct net_layout layout;
        char gw_str[NET_IP4_STRLEN];
        uint16_t gateway_port;
        char **listen;
        size_t n_listen;
        char *run_dir;
        char stream_module[PATH_MAX];
        struct dre_nginx *nginx;
        bool forwarding_on;
        struct sandbox_hooks hooks;
        bool started;     /* net_bring_up() ran: nginx manager exists */
        char **listen_in; /* the API's --listen values, parsed at bring-up */
        size_t n_listen_in;
        char *nginx_bin;
        void (*on_up)(void *ud, const char *gateway_addr_port);
        void *on_up_ud;
        bool announced; /* on_up was called */
};

/* ---- small helpers ------------------------------------------------------ */

/* Test builds only: DBX_TEST_FAIL_AT=firewall|proxy makes that apply fail,
 * so tests can see the failure reach the owner. */
static bool test_fail(const char *what, struct dbx_error *e)
{
#if DBX_TEST_HOOKS
        const char *at = getenv("DBX_TEST_FAIL_AT");
        if (at && streq(at, what)) {
                dbx_error_set(e, -EIO, "", "injected failure (DBX_TEST_FAIL_AT=%s)", what);
                return true;
        }
#else
        (void)what;
        (void)e;
#endif
        return false;
}

static bool bit_test(const uint8_t *bm, uint16_t i)
{
        return bm[i / 8] & (1u << (i % 8));
}

static void bit_set(uint8_t *bm, uint16_t i)
{
        bm[i / 8] |= (uint8_t)(1u << (i % 8));
}

/* Pups that take part in the network: installed (in any state but
 * uninstalling, uninstalled or purging), with a manifest and an address. */
static bool in_net(const struct pup *pup)
{
        return pup->manifest && pup->ip[0] && !streq(pup->installation, "uninstalled") &&
               !streq(pup->installation, "uninstalling") && !streq(pup->installation, "purging");
}

static struct pup *find_id(struct pups *p, const char *id)
{
        for (struct pup *pup = p->list; pup; pup = pup->next)
                if (streq(pup->id, id))
                        return pup;
        return NULL;
}

struct pup *pups_find_by_ip(struct pups *p, const char *ip)
{
        if (!ip || !ip[0])
                return NULL;
        for (struct pup *pup = p->list; pup; pup = pup->next)
                if (in_net(pup) && streq(pup->ip, ip))
                        return pup;
        return NULL;
}

/* What a provider's exposes say about one of its interfaces. */
struct iface_info {
        const struct manifest_expose *first; /* the first expose listing it */
        uint16_t http_port;                  /* the first http expose listing it, 0 = none */
        uint16_t tcp[MANIFEST_EXPOSES_MAX];
        size_t n_tcp;
};

static bool expose_lists(const struct manifest_expose *e, const char *iface)
{
        for (size_t i = 0; i < e->n_interfaces; i++)
                if (streq(e->interfaces[i], iface))
                        return true;
        return false;
}

static void iface_info(const struct manifest *m, const char *iface, struct iface_info *ret)
{
        *ret = (struct iface_info){0};
        for (size_t i = 0; i < m->container.n_exposes; i++) {
                const struct manifest_expose *e = &m->container.exposes[i];
                if (!expose_lists(e, iface))
                        continue;
                if (!ret->first)
                        ret->first = e;
                if (e->type == MANIFEST_EXPOSE_HTTP && !ret->http_port)
                        ret->http_port = e->port;
                if (e->type == MANIFEST_EXPOSE_TCP) {
                        bool dup = false;
                        for (size_t k = 0; k < ret->n_tcp; k++)
                                dup |= ret->tcp[k] == e->port;
                        if (!dup)
                                ret->tcp[ret->n_tcp++] = e->port;
                }
        }
}

static const struct manifest_interface *manifest_iface(const struct manifest *m, const char *name)
{
        for (size_t i = 0; m && i < m->n_interfaces; i++)
                if (streq(m->interfaces[i].name, name))
                        return &m->interfaces[i];
        return NULL;
}

static const struct manifest_dependency *manifest_dep(const struct manifest *m, const char *iface)
{
        for (size_t i = 0; m && i < m->n_dependencies; i++)
                if (streq(m->dependencies[i].interface_name, iface))
                        return &m->dependencies[i];
        return NULL;
}

static bool granted(const struct pup *consumer, const char *iface, const char *group)
{
        json_t *a = json_object_get(consumer->grants, iface), *v;
        size_t i;
        json_array_foreach(a, i, v) if (json_is_string(v) &&
                                        streq(json_string_value(v), group)) return true;
        return false;
}

/* The provider a consumer uses for iface, when it is in the network and
 * the consumer holds a grant for at least one of its groups of iface.
 * ret_routes (optional, arena) gets the routes of the granted groups. */
static struct pup *granted_provider(struct pups *p, const struct pup *consumer, const char *iface,
                                    struct pups_arena *a, const char ***ret_routes, size_t *ret_n)
{
        json_t *v = json_object_get(consumer->providers, iface);
        if (!json_is_string(v) || !manifest_dep(consumer->manifest, iface))
                return NULL;
        struct pup *prov = find_id(p, json_string_value(v));
        if (!prov || prov == consumer || !in_net(prov))
                return NULL;
        const struct manifest_interface *mi = manifest_iface(prov->manifest, iface);
        if (!mi)
                return NULL;
        size_t groups = 0, n = 0;
        const char **routes = a ? pups_arena_calloc(a, DRE_ROUTES_MAX, sizeof(char *)) : NULL;
        for (size_t g = 0; g < mi->n_permission_groups; g++) {
                const struct manifest_permission_group *pg = &mi->permission_groups[g];
                if (!granted(consumer, iface, pg->name))
                        continue;
                groups++;
                for (size_t r = 0; routes && r < pg->n_routes; r++) {
                        struct dbx_error e = {0};
                        bool dup = false;
                        if (dre_route_validate(pg->routes[r], &e) < 0) {
                                log_debug("pup %s: route %s of %s/%s is not used: %s", prov->id,
                                          pg->routes[r], iface, pg->name, e.message);
                                continue;
                        }
                        for (size_t k = 0; k < n; k++)
                                dup |= streq(routes[k], pg->routes[r]);
                        if (!dup && n < DRE_ROUTES_MAX)
                                routes[n++] = pg->routes[r];
                }
        }
        if (!groups)
                return NULL;
        if (ret_routes) {
                *ret_routes = routes;
                *ret_n = n;
        }
        return prov;
}

/* ---- persistence of what the pups row does not hold --------------------- */

/* settings "dre.pup.<id>": {"grants": {iface: [group]}, "services": {iface: addr}} */
static char *setting_key(const struct pup *pup)
{
        return xasprintf("%s%s", PUPS_DRE_SETTING_PREFIX, pup->id);
}

static void dre_init(struct pup *pup)
{
        if (!pup->grants)
                pup->grants = json_object();
        if (!pup->services)
                pup->services = json_object();
}

int pup_dre_save(struct pups *p, struct pup *pup)
{
        dre_init(pup);
        _cleanup_free_ char *key = setting_key(pup);
        _cleanup_json_ json_t *o =
            json_pack("{s:O,s:O}", "grants", pup->grants, "services", pup->services);
        _cleanup_free_ char *text = json_dump_compact(o);
        int r = store_setting_set(p->cfg.store, key, text);
        if (r < 0)
                log_error("pup %s: cannot save its grants and service addresses: %s", pup->id,
                          strerror(-r));
        return r;
}

void pup_dre_load(struct pups *p, struct pup *pup)
{
        _cleanup_free_ char *key = setting_key(pup), *text = NULL;
        dre_init(pup);
        if (store_setting_get(p->cfg.store, key, &text) < 0)
                return;
        _cleanup_json_ json_t *o = json_loads(text, 0, NULL);
        json_t *g = json_object_get(o, "grants"), *s = json_object_get(o, "services");
        if (json_is_object(g))
                json_object_update(pup->grants, g);
        if (json_is_object(s))
                json_object_update(pup->services, s);
}

void pup_dre_forget(struct pups *p, struct pup *pup)
{
        _cleanup_free_ char *key = setting_key(pup);
        store_setting_del(p->cfg.store, key);
}

void pup_dre_free(struct pup *pup)
{
        json_decref(pup->grants);
        json_decref(pup->services);
        pup->grants = pup->services = NULL;
        pup_metrics_free(pup);
}

static int net_bring_up(struct pups *p, struct dbx_error *err);

/* ---- allocation ----------------------------------------------------------- */

static size_t used_pup_addrs(struct pups *p, const struct pup *except, uint32_t *out)
{
        size_t n = 0;
        for (struct pup *q = p->list; q && n < PUPS_MAX; q = q->next) {
                uint32_t ip;
                if (q != except && q->ip[0] && net_ip4_parse(q->ip, &ip) == 0)
                        out[n++] = ip;
        }
        return n;
}

static uint32_t *used_svc_addrs(struct pups *p, size_t *ret_n)
{
        size_t cap = 16, n = 0;
        uint32_t *v = xcalloc(cap, sizeof(uint32_t));
        for (struct pup *q = p->list; q; q = q->next) {
                const char *k;
                json_t *a;
                json_object_foreach(q->services, k, a)
                {
                        uint32_t ip;
                        if (!json_is_string(a) || net_ip4_parse(json_string_value(a), &ip) < 0)
                                continue;
                        if (n == cap)
                                v = xrealloc(v, (cap *= 2) * sizeof(uint32_t));
                        v[n++] = ip;
                }
        }
        *ret_n = n;
        return v;
}

/* Host ports handed out: web UIs, listenOnHost forwards, TCP interface
 * ports (nginx could not listen on one twice), the gateway API port. */
static uint16_t *used_host_ports(struct pups *p, size_t *ret_n)
{
        size_t cap = 16, n = 0;
        uint16_t *v = xcalloc(cap, sizeof(uint16_t));
#define PUSH(x)                                                                                    \
        do {                                                                                       \
                if (n == cap)                                                                      \
                        v = xrealloc(v, (cap *= 2) * sizeof(uint16_t));                            \
                v[n++] = (x);                                                                      \
        } while (0)
        PUSH(p->net->gateway_port);
        for (struct pup *q = p->list; q; q = q->next) {
                json_t *w;
                size_t i;
                json_array_foreach(q->web_uis, i, w)
                {
                        json_int_t port = json_integer_value(json_object_get(w, "port"));
                        if (port > 0 && port <= 65535)
                                PUSH((uint16_t)port);
                }
                for (size_t e = 0; q->manifest && e < q->manifest->container.n_exposes; e++) {
                        const struct manifest_expose *x = &q->manifest->container.exposes[e];
                        if (x->listen_on_host ||
                            (x->type == MANIFEST_EXPOSE_TCP && x->n_interfaces))
                                PUSH(x->port);
                }
        }
#undef PUSH
        *ret_n = n;
        return v;
}

/* Give pup what it lacks: an address, a service address per provided
 * interface, a host port per web UI. Existing ones are kept (checked).
 * recheck_ports (at bring-up, before our nginx runs): a web UI port that
 * something else now listens on is given up and replaced, or nginx could
 * not start at all. */
static int allocate(struct pups *p, struct pup *pup, bool recheck_ports, bool *ret_changed,
                    struct dbx_error *err)
{
        struct pups_net *net = p->net;
        uint32_t used[PUPS_MAX + 1], ip;
        bool changed = false, dre_changed = false;
        int r;

        dre_init(pup);
        size_t n = used_pup_addrs(p, pup, used);
        if (!pup->ip[0] || net_ip4_parse(pup->ip, &ip) < 0 ||
            net_addr_validate(&net->layout, NET_POOL_PUP, ip, used, n, NULL) < 0) {
                if (pup->ip[0])
                        log_warn("pup %s: address %s does not fit %s/%u any more: a new one is "
                                 "chosen",
                                 pup->id, pup->ip, net->gw_str, net->gw.prefix);
                r = net_addr_allocate(&net->layout, NET_POOL_PUP, pup->id, used, n, &ip, err);
                if (r < 0)
                        return r;
                net_ip4_format(ip, pup->ip);
                changed = true;
        }
        for (size_t i = 0; i < pup->manifest->n_interfaces; i++) {
                const char *iface = pup->manifest->interfaces[i].name;
                json_t *cur = json_object_get(pup->services, iface);
                size_t nsvc = 0;
                _cleanup_free_ uint32_t *svc = used_svc_addrs(p, &nsvc);
                uint32_t a;
                if (json_is_string(cur) && net_ip4_parse(json_string_value(cur), &a) == 0) {
                        /* valid unless it is outside the pool or used twice */
                        size_t same = 0;
                        for (size_t k = 0; k < nsvc; k++)
                                same += svc[k] == a;
                        if (same == 1 && net_addr_validate(&net->layout, NET_POOL_SERVICE, a, NULL,
                                                           0, NULL) == 0)
                                continue;
                        /* drop it from used (one occurrence) and choose again */
                        for (size_t k = 0; k < nsvc; k++)
                                if (svc[k] == a) {
                                        svc[k] = svc[--nsvc];
                                        break;
                                }
                }
                _cleanup_free_ char *key = xasprintf("%s/%s", pup->id, iface);
                r = net_addr_allocate(&net->layout, NET_POOL_SERVICE, key, svc, nsvc, &a, err);
                if (r < 0)
                        return r;
                char s[NET_IP4_STRLEN];
                json_object_set_new(pup->services, iface, json_string(net_ip4_format(a, s)));
                dre_changed = true;
        }
        for (size_t i = 0; i < pup->manifest->container.n_exposes; i++) {
                const struct manifest_expose *e = &pup->manifest->container.exposes[i];
                json_t *w;
                size_t k;
                bool have = false;
                if (!e->web_ui)
                        continue;
                json_array_foreach(pup->web_uis, k, w)
                {
                        json_int_t port = json_integer_value(json_object_get(w, "port"));
                        bool busy = false;
                        if (!streq(json_string_value(json_object_get(w, "name")) ?: "", e->name))
                                continue;
                        if (recheck_ports && port > 0 && port <= 65535 &&
                            net_host_port_listening((uint16_t)port, &busy) == 0 && busy) {
                                log_warn("pup %s: web UI port %lld is taken by another program: "
                                         "a new port is chosen",
                                         pup->id, (long long)port);
                                json_array_remove(pup->web_uis, k);
                                changed = true;
                                break;
                        }
                        have = true;
                }
                if (have)
                        continue;
                size_t nports = 0;
                _cleanup_free_ uint16_t *ports = used_host_ports(p, &nports);
                uint16_t port;
                r = dre_webui_port_allocate(ports, nports, net_host_port_listening, &port, err);
                if (r < 0)
                        return r;
                json_array_append_new(pup->web_uis,
                                      json_pack("{s:s,s:i}", "name", e->name, "port", (int)port));
                changed = true;
        }
        if (dre_changed)
                pup_dre_save(p, pup);
        *ret_changed = changed;
        return 0;
}

int pup_net_adopt(struct pups *p, struct pup *pup, struct dbx_error *err)
{
        bool changed;
        if (!p->net || !p->net->enabled)
                return 0;
        int r = net_bring_up(p, err);
        if (r < 0)
                return dbx_error_set(err, r, "", "pup networking is not available: %s",
                                     err ? err->message : strerror(-r));
        if (!p->net->up)
                return dbx_error_set(err, -ENETDOWN, "", "pup networking is not available: %s",
                                     p->net->error);
        r = allocate(p, pup, false, &changed, err);
        if (r < 0)
                return dbx_error_set(err, r, "", "cannot give %s its network resources: %s",
                                     pup->name, err ? err->message : strerror(-r));
        pup_net_refresh(p);
        return 0;
}

/* ---- rendering the world ------------------------------------------------ */

struct world {
        struct pups_arena a;
        struct net_policy_pup *ppups;
        size_t n_ppups;
        struct net_service *svcs;
        uint32_t *svc_addrs;
        struct dre_binding *binds;
        size_t n_binds;
        struct dre_webui *webuis;
        size_t n_webuis;
        bool internet;
};

static size_t count_ifaces(struct pups *p)
{
        size_t n = 0;
        for (struct pup *q = p->list; q; q = q->next)
                if (in_net(q))
                        n += q->manifest->n_interfaces;
        return n;
}

static void build_world(struct pups *p, struct world *w)
{
        struct pups_net *net = p->net;
        struct pups_arena *a = &w->a;
        uint8_t *fwd_ports = pups_arena_calloc(a, PORTS_BITMAP_BYTES, 1);
        uint8_t *ui_ports = pups_arena_calloc(a, PORTS_BITMAP_BYTES, 1);
        size_t n_ifaces = count_ifaces(p);

        w->ppups = pups_arena_calloc(a, p->n, sizeof(*w->ppups));
        w->svcs = pups_arena_calloc(a, n_ifaces, sizeof(*w->svcs));
        w->svc_addrs = pups_arena_calloc(a, n_ifaces, sizeof(uint32_t));
        w->binds = pups_arena_calloc(a, n_ifaces, sizeof(*w->binds));
        w->webuis = pups_arena_calloc(a, DRE_WEBUIS_MAX, sizeof(*w->webuis));

        /* pups, their listenOnHost forwards (first claim wins) and web UIs */
        for (struct pup *q = p->list; q; q = q->next) {
                if (!in_net(q))
                        continue;
                const struct manifest *m = q->manifest;
                struct net_forward *fw = pups_arena_calloc(a, m->container.n_exposes, sizeof(*fw));
                size_t nf = 0;
                for (size_t i = 0; i < m->container.n_exposes; i++) {
                        const struct manifest_expose *e = &m->container.exposes[i];
                        if (!e->listen_on_host)
                                continue;
                        if (bit_test(fwd_ports, e->port)) {
                                bool own = false;
                                for (size_t k = 0; k < nf; k++)
                                        own |= fw[k].host_port == e->port;
                                if (!own)
                                        log_error("pup %s: host port %u is forwarded to another "
                                                  "pup already; not forwarded",
                                                  q->id, e->port);
                                continue;
                        }
                        bit_set(fwd_ports, e->port);
                        fw[nf++] = (struct net_forward){e->port, e->port};
                        if (nf == NET_FORWARDS_MAX)
                                break;
                }
                uint32_t ip = 0;
                net_ip4_parse(q->ip, &ip);
                w->ppups[w->n_ppups++] = (struct net_policy_pup){
                    .id = q->id,
                    .ip = ip,
                    .requires_internet = m->container.requires_internet,
                    .forwards = fw,
                    .n_forwards = nf,
                };
                w->internet |= m->container.requires_internet;
                json_t *ui;
                size_t k;
                json_array_foreach(q->web_uis, k, ui)
                {
                        const char *name = json_string_value(json_object_get(ui, "name"));
                        json_int_t port = json_integer_value(json_object_get(ui, "port"));
                        const struct manifest_expose *e = NULL;
                        for (size_t i = 0; name && i < m->container.n_exposes; i++)
                                if (m->container.exposes[i].web_ui &&
                                    streq(m->container.exposes[i].name, name))
                                        e = &m->container.exposes[i];
                        if (!e || port < 1 || port > 65535 || bit_test(ui_ports, (uint16_t)port) ||
                            w->n_webuis == DRE_WEBUIS_MAX)
                                continue;
                        bit_set(ui_ports, (uint16_t)port);
                        w->webuis[w->n_webuis++] = (struct dre_webui){
                            .pup_id = q->id,
                            .name = name,
                            .host_port = (uint16_t)port,
                            .pup_ip = q->ip,
                            .pup_port = e->port,
                        };
                }
        }

        /* one binding per (provider, interface), with its granted consumers */
        for (struct pup *prov = p->list; prov; prov = prov->next) {
                if (!in_net(prov))
                        continue;
                for (size_t i = 0; i < prov->manifest->n_interfaces; i++) {
                        const char *iface = prov->manifest->interfaces[i].name;
                        const char *svc = json_string_value(json_object_get(prov->services, iface));
                        struct iface_info info;
                        uint32_t sa;
                        if (!svc || net_ip4_parse(svc, &sa) < 0)
                                continue;
                        iface_info(prov->manifest, iface, &info);
                        uint16_t *tcp = pups_arena_calloc(a, info.n_tcp, sizeof(uint16_t));
                        size_t n_tcp = 0;
                        for (size_t k = 0; k < info.n_tcp; k++) {
                                const char *why = NULL;
                                if (info.http_port && info.tcp[k] == DRE_HTTP_PORT_DEFAULT)
                                        why = "it is the HTTP proxy port";
                                else if (bit_test(ui_ports, info.tcp[k]))
                                        why = "it is a web UI port";
                                else if (!net->stream_module[0])
                                        why = "nginx has no stream module";
                                if (why) {
                                        log_error("pup %s: tcp port %u of %s is not proxied: %s",
                                                  prov->id, info.tcp[k], iface, why);
                                        continue;
                                }
                                tcp[n_tcp++] = info.tcp[k];
                        }
                        struct dre_consumer *cons = pups_arena_calloc(a, p->n, sizeof(*cons));
                        uint32_t *cons_ips = pups_arena_calloc(a, p->n, sizeof(uint32_t));
                        size_t nc = 0;
                        for (struct pup *c = p->list; c; c = c->next) {
                                const char **routes = NULL;
                                size_t n_routes = 0;
                                if (!in_net(c) || c == prov ||
                                    granted_provider(p, c, iface, a, &routes, &n_routes) != prov)
                                        continue;
                                cons[nc] = (struct dre_consumer){.pup_id = c->id,
                                                                 .ip = c->ip,
                                                                 .routes = routes,
                                                                 .n_routes = n_routes};
                                net_ip4_parse(c->ip, &cons_ips[nc]);
                                nc++;
                        }
                        w->svc_addrs[w->n_binds] = sa;
                        w->svcs[w->n_binds] = (struct net_service){
                            .addr = sa,
                            .http = info.http_port != 0,
                            .tcp_ports = tcp,
                            .n_tcp_ports = n_tcp,
                            .consumers = cons_ips,
                            .n_consumers = nc,
                        };
                        w->binds[w->n_binds] = (struct dre_binding){
                            .interface = iface,
                            .provider_id = prov->id,
                            .provider_ip = prov->ip,
                            .service_addr = svc,
                            .http_port = info.http_port,
                            .tcp_ports = tcp,
                            .n_tcp_ports = n_tcp,
                            .consumers = cons,
                            .n_consumers = nc,
                        };
                        w->n_binds++;
                }
        }
}

/* One more thing keeping networking from its configuration: logged, and
 * appended to what pups_network_problem() shows the owner. */
static void add_problem(struct pups_net *net, const char *fmt, ...) _printf_(2, 3);
static void add_problem(struct pups_net *net, const char *fmt, ...)
{
        char msg[DBX_ERROR_MSG_MAX + 64];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        log_error("pup networking: %s", msg);
        size_t n = strlen(net->problem);
        snprintf(net->problem + n, sizeof(net->problem) - n, "%s%s", n ? "; " : "", msg);
}

static struct net_policy world_policy(struct pups *p, struct world *w)
{
        struct pups_net *net = p->net;
        return (struct net_policy){
            .table = net->table,
            .bridge = net->bridge,
            .gateway = net->gw,
            .gateway_ports = &net->gateway_port,
            .n_gateway_ports = 1,
            .pups = w->ppups,
            .n_pups = w->n_ppups,
            .services = w->svcs,
            .n_services = w->n_binds,
        };
}

void pup_net_refresh(struct pups *p)
{
        struct pups_net *net = p->net;
        struct world w = {0};
        struct dbx_error e = {0};
        char buf[DBX_ERROR_PATH_MAX + DBX_ERROR_MSG_MAX];
        uint64_t t0 = now_mono_usec();

        if (!net || !net->enabled || !net->started)
                return;
        build_world(p, &w);
        if (net_bridge_ensure(net->bridge, &net->gw, w.svc_addrs, w.n_binds, &e) < 0) {
                snprintf(net->error, sizeof(net->error), "bridge %s: %s", net->bridge,
                         dbx_error_text(&e, buf, sizeof(buf)));
                log_error("pup networking: %s", net->error);
                net->up = false;
                pups_arena_free(&w.a);
                return;
        }
        if (!net->up)
                log_info("pup networking: bridge %s with %s/%u, firewall tables %s", net->bridge,
                         net->gw_str, net->gw.prefix, net->table);
        net->up = true;
        net->error[0] = 0;
        if (!net->announced && net->on_up) {
                char gw[NET_IP4_STRLEN + 8];
                snprintf(gw, sizeof(gw), "%s:%u", net->gw_str, net->gateway_port);
                net->announced = true;
                net->on_up(net->on_up_ud, gw); /* the gateway API can listen now */
        }
        struct net_policy pol = world_policy(p, &w);
        int rp = test_fail("firewall", &e) ? -EIO : net_policy_apply(&pol, &e);
        net->policy_failed = rp < 0;
        net->problem[0] = 0;
        if (rp < 0)
                add_problem(net, "the firewall was not changed: %s",
                            dbx_error_text(&e, buf, sizeof(buf)));
        if (w.internet && !net->forwarding_on) {
                /* host-wide: needed by pups with requiresInternet, never turned off */
                if (net_ipv4_forwarding_set(true) == 0)
                        net->forwarding_on = true;
                else
                        add_problem(net, "cannot enable IPv4 forwarding: pups that require the "
                                         "internet cannot reach it");
        }
        struct dre_nginx_conf conf = {
            .run_dir = net->run_dir,
            .stream_module = net->stream_module[0] ? net->stream_module : NULL,
            .listen_addrs = (const char *const *)net->listen,
            .n_listen_addrs = net->n_listen,
            .bindings = w.binds,
            .n_bindings = w.n_binds,
            .webuis = w.webuis,
            .n_webuis = net->n_listen ? w.n_webuis : 0,
        };
        _cleanup_free_ char *text = NULL;
        e = (struct dbx_error){0};
        if (test_fail("proxy", &e) || dre_nginx_render(&conf, &text, &e) < 0 ||
            dre_nginx_apply(net->nginx, text, &e) < 0)
                add_problem(net, "the proxy (nginx) was not changed: %s",
                            dbx_error_text(&e, buf, sizeof(buf)));
        log_debug("pup networking: %zu pups, %zu interfaces, %zu web UIs applied in %.1f ms",
                  w.n_ppups, w.n_binds, w.n_webuis, (double)(now_mono_usec() - t0) / 1000.0);
        pups_arena_free(&w.a);
}

/* ---- install-time checks -------------------------------------------------- */

int pup_net_preflight(struct pups *p, const struct manifest *m, struct dbx_error *err)
{
        struct pups_net *net = p->net;
        if (!net || !net->enabled)
                return 0;
        struct world w = {0};
        size_t n_ui = 0;
        uint16_t *ui = NULL;
        int r = 0;
        for (size_t i = 0; i < m->container.n_exposes && r == 0; i++) {
                const struct manifest_expose *e = &m->container.exposes[i];
                if (!e->listen_on_host)
                        continue;
                if (!ui) {
                        build_world(p, &w);
                        ui = pups_arena_calloc(&w.a, w.n_webuis + 1, sizeof(uint16_t));
                        for (size_t k = 0; k < w.n_webuis; k++)
                                ui[n_ui++] = w.webuis[k].host_port;
                        ui[n_ui++] = net->gateway_port;
                }
                struct net_policy pol = world_policy(p, &w);
                struct dbx_error e2 = {0};
                r = net_port_conflict(&pol, "", e->port, ui, n_ui, net_host_port_listening, &e2);
                if (r == -EADDRINUSE)
                        dbx_error_set(err, r, "",
                                      "%s cannot be installed: its expose '%s' wants "
                                      "host port %u (listenOnHost): %s",
                                      m->meta.name, e->name, e->port, e2.message);
                else if (r < 0)
                        dbx_error_set(err, r, "", "%s", e2.message);
        }
        pups_arena_free(&w.a);
        return r;
}

/* ---- what a pup sees ------------------------------------------------------ */

static char **strv_merge(char **env, char **add)
{
        size_t n = 0, m = 0, k = 0;
        while (env && env[n])
                n++;
        while (add[m])
                m++;
        char **out = xcalloc(n + m + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++) {
                size_t kl = strcspn(env[i], "=");
                bool replaced = false;
                for (size_t j = 0; j < m && !replaced; j++)
                        replaced = !strncmp(add[j], env[i], kl) && add[j][kl] == '=';
                if (replaced)
                        free(env[i]);
                else
                        out[k++] = env[i];
        }
        for (size_t j = 0; j < m; j++)
                out[k++] = xstrdup(add[j]);
        free(env);
        return out;
}

int pup_net_spec(struct pups *p, struct pup *pup, struct sandbox_spec *spec, struct dbx_error *err)
{
        struct pups_net *net = p->net;
        struct dbx_error e = {0};
        if (!net || !net->enabled)
                return 0;
        if (!net->up || !pup->ip[0])
                return dbx_error_set(err, -ENETDOWN, "", "pup networking is not available: %s",
                                     net->error[0] ? net->error : "the pup has no address");
        /* Its rules may be missing: it would start cut off (never open).
         * One more try first: the cause may have gone. */
        if (net->policy_failed)
                pup_net_refresh(p);
        if (net->policy_failed)
                return dbx_error_set(err, -ENETDOWN, "", "pup networking is not available: %s",
                                     net->problem);
        const struct manifest *m = pup->manifest;
        _cleanup_free_ struct dre_env_iface *ifs = xcalloc(m->n_dependencies + 1, sizeof(*ifs));
        _cleanup_free_ struct dre_hosts_entry *hs = xcalloc(m->n_dependencies + 1, sizeof(*hs));
        size_t n = 0;
        for (size_t i = 0; i < m->n_dependencies; i++) {
                const char *iface = m->dependencies[i].interface_name;
                struct pup *prov = granted_provider(p, pup, iface, NULL, NULL, NULL);
                const char *svc =
                    prov ? json_string_value(json_object_get(prov->services, iface)) : NULL;
                struct iface_info info;
                if (!svc)
                        continue;
                iface_info(prov->manifest, iface, &info);
                if (!info.first)
                        continue; /* provided on no port: nothing to reach */
                ifs[n] = (struct dre_env_iface){
                    .interface = iface,
                    .name = info.first->name,
                    .host = svc,
                    .port = info.first->type == MANIFEST_EXPOSE_HTTP ? DRE_HTTP_PORT_DEFAULT
                                                                     : info.first->port,
                };
                hs[n] = (struct dre_hosts_entry){.interface = iface, .addr = svc};
                n++;
        }
        struct dre_env_spec es = {
            .pup_id = pup->id,
            .pup_ip = pup->ip,
            .dbx_host = net->gw_str,
            .dbx_port = net->gateway_port,
            .ifaces = ifs,
            .n_ifaces = n,
        };
        char **env = NULL;
        int r = dre_env_build(&es, &env, NULL, &e);
        if (r < 0)
                return dbx_error_set(err, r, "", "the environment of %s: %s", pup->name, e.message);
        for (size_t i = 0; i < spec->n_services; i++)
                spec->services[i].env = strv_merge(spec->services[i].env, env);
        dre_env_free(env);

        _cleanup_free_ char *hosts = NULL;
        r = dre_hosts_render(net->gw_str, hs, n, &hosts, &e);
        if (r < 0)
                return dbx_error_set(err, r, "", "the /etc/hosts of %s: %s", pup->name, e.message);
        size_t lines = 0, k = 0;
        for (const char *c = hosts; *c; c++)
                lines += *c == '\n';
        char **extra = xcalloc(lines + 1, sizeof(char *));
        for (char *save = NULL, *l = strtok_r(hosts, "\n", &save); l;
             l = strtok_r(NULL, "\n", &save)) {
                if (l[0] == '#' || !strncmp(l, HOSTS_SKIP_LOCAL_1, strlen(HOSTS_SKIP_LOCAL_1)) ||
                    !strncmp(l, HOSTS_SKIP_LOCAL_2, strlen(HOSTS_SKIP_LOCAL_2)))
                        continue;
                for (char *t = l; *t; t++)
                        if (*t == '\t') /* the sandbox takes no control characters */
                                *t = ' ';
                extra[k++] = xstrdup(l);
        }
        for (size_t i = 0; spec->hosts_extra && spec->hosts_extra[i]; i++)
                free(spec->hosts_extra[i]);
        free(spec->hosts_extra);
        spec->hosts_extra = extra;
        return 0;
}

/* The sandbox calls this once the pup's namespaces exist, before anything
 * runs in them: the veth pair goes in (the firewall already lists the
 * pup, so there is no unfiltered moment). */
static int net_setup_hook(pid_t pid, int pidfd, void *userdata)
{
        struct pup *pup = userdata;
        struct pups_net *net = pup->pups->net;
        struct dbx_error e = {0};
        char host[NET_IFNAME_MAX];
        uint32_t ip;

        if (net_ip4_parse(pup->ip, &ip) < 0)
                return -EINVAL;
        net_veth_name(ip, host);
        /* a previous sandbox's pair may outlive it briefly (netns teardown is lazy) */
        (void)net_veth_detach(host, NULL);
        struct net_veth_spec s = {
            .netns_fd = -1,
            .netns_pid = pid,
            .ip = ip,
            .prefix = net->gw.prefix,
            .gateway = net->gw.addr,
        };
        snprintf(s.bridge, sizeof(s.bridge), "%s", net->bridge);
        snprintf(s.host_ifname, sizeof(s.host_ifname), "%s", host);
        int r = net_veth_attach(&s, &e);
        if (r < 0)
                log_error("pup %s: cannot wire its network namespace: %s", pup->id, e.message);
        return r;
}

const struct sandbox_hooks *pup_net_hooks(struct pups *p, struct pup *pup)
{
        struct pups_net *net = p->net;
        if (!net || !net->enabled || !net->up || !pup->ip[0])
                return NULL;
        /* sandbox_spawn() calls the hook before it returns */
        net->hooks = (struct sandbox_hooks){.net_setup = net_setup_hook, .userdata = pup};
        return &net->hooks;
}

void pup_net_release(struct pups *p, struct pup *pup)
{
        uint32_t ip;
        char host[NET_IFNAME_MAX];
        if (p->net && p->net->enabled && pup->ip[0] && net_ip4_parse(pup->ip, &ip) == 0) {
                net_veth_name(ip, host);
                (void)net_veth_detach(host, NULL);
        }
        pup_dre_forget(p, pup);
}

/* ---- setup ---------------------------------------------------------------- */

static void on_nginx_event(struct dre_nginx *n, enum dre_nginx_event ev, pid_t pid,
                           const char *detail, void *userdata)
{
        switch (ev) {
        case DRE_NGINX_STARTED:
                log_info("proxy: nginx running (pid %d%s%s)", (int)pid, detail ? ", " : "",
                         detail ? detail : "");
                break;
        case DRE_NGINX_EXITED:
                log_warn("proxy: nginx (pid %d) exited: %s; restarting it", (int)pid,
                         detail ? detail : "?");
                break;
        case DRE_NGINX_RELOADED:
                log_debug("proxy: nginx reloaded");
                break;
        case DRE_NGINX_RELOAD_FAILED:
                log_error("proxy: nginx kept its previous configuration: %s",
                          detail ? detail : "?");
                break;
        case DRE_NGINX_START_FAILED:
                log_error("proxy: nginx could not start: %s (retrying)", detail ? detail : "?");
                break;
        }
}

/* "127.0.0.1:3000" → "127.0.0.1", "[::1]:3000" → "::1"; NULL for host names. */
static char *listen_host(const char *addr_port)
{
        struct in6_addr a6;
        struct in_addr a4;
        char *s = NULL;
        if (addr_port[0] == '[') {
                const char *end = strchr(addr_port, ']');
                if (end)
                        s = strndup(addr_port + 1, (size_t)(end - addr_port - 1));
        } else {
                const char *colon = strrchr(addr_port, ':');
                s = colon ? strndup(addr_port, (size_t)(colon - addr_port)) : xstrdup(addr_port);
        }
        if (s && (inet_pton(AF_INET, s, &a4) == 1 || inet_pton(AF_INET6, s, &a6) == 1))
                return s;
        if (s && streq(s, "localhost")) {
                free(s);
                return xstrdup("127.0.0.1");
        }
        free(s);
        return NULL;
}

static void table_for_bridge(const char *bridge, char out[NET_TABLE_NAME_MAX])
{
        if (streq(bridge, NET_DEFAULT_BRIDGE)) {
                snprintf(out, NET_TABLE_NAME_MAX, "%s", NET_DEFAULT_TABLE);
                return;
        }
        int n = snprintf(out, NET_TABLE_NAME_MAX, "%s%s", TABLE_PREFIX, bridge);
        for (int i = (int)strlen(TABLE_PREFIX); i < n && out[i]; i++)
                if (!isalnum((unsigned char)out[i]) && out[i] != '_')
                        out[i] = '_';
}

/* Check the configuration; touch nothing on the host. The bridge, the
 * firewall and nginx come up with the first pup (net_bring_up). */
int pups_dre_setup(struct pups *p, const struct pups_dre_config *c, struct dbx_error *err)
{
        struct pups_net *net = xcalloc(1, sizeof(*net));
        int r;

        p->net = net;
        for (struct pup *pup = p->list; pup; pup = pup->next) {
                pup_dre_load(p, pup);
                pup_deps_record_grants(p, pup); /* pups installed before grants existed */
        }
        if (!c->network) {
                log_debug("pup networking is off (--no-network): pups get loopback only");
                return 0;
        }
        net->enabled = true;
        net->gateway_port = c->gateway_port ? c->gateway_port : PUPS_GATEWAY_PORT_DEFAULT;
        net->on_up = c->on_up;
        net->on_up_ud = c->userdata;
        const char *bridge = c->bridge && c->bridge[0] ? c->bridge : NET_DEFAULT_BRIDGE;
        r = net_ifname_validate(bridge, "--bridge", err);
        if (r < 0)
                return r;
        snprintf(net->bridge, sizeof(net->bridge), "%s", bridge);
        table_for_bridge(bridge, net->table);
        r = net_cidr_parse(c->bridge_cidr && c->bridge_cidr[0] ? c->bridge_cidr : NET_DEFAULT_CIDR,
                           &net->gw, err);
        if (r >= 0)
                r = net_layout_from_cidr(&net->gw, &net->layout, err);
        if (r < 0)
                return dbx_error_set(err, r, "--bridge-cidr", "%s", err ? err->message : "invalid");
        net_ip4_format(net->gw.addr, net->gw_str);
        net->listen_in = xcalloc(c->n_listen_addrs + 1, sizeof(char *));
        for (size_t i = 0; i < c->n_listen_addrs; i++)
                net->listen_in[net->n_listen_in++] = xstrdup(c->listen_addrs[i]);
        net->nginx_bin = c->nginx_bin ? xstrdup(c->nginx_bin) : NULL;
        net->run_dir = xasprintf("%s/%s", p->data_dir, NGINX_RUN_SUBDIR);
        snprintf(net->error, sizeof(net->error), "the bridge %s is not set up yet", net->bridge);
        return 0;
}

/* An nginx of a previous daemon still running on our run dir (it holds
 * our web UI ports until dre_nginx kills it at the first apply). */
static bool leftover_nginx(const struct pups_net *net)
{
        _cleanup_free_ char *path = xasprintf("%s/nginx.pid", net->run_dir), *text = NULL;
        if (fs_read_file(path, 64, &text, NULL) < 0)
                return false;
        long pid = strtol(text, NULL, 10);
        return pid > 1 && kill((pid_t)pid, 0) == 0;
}

/* Once, when the first pup needs the network: the nginx manager, what
 * every pup lacks, then the first rendering (bridge, firewall, nginx). */
static int net_bring_up(struct pups *p, struct dbx_error *err)
{
        struct pups_net *net = p->net;
        int r;

        if (net->started)
                return 0;
        net->listen = xcalloc(net->n_listen_in + 1, sizeof(char *));
        for (size_t i = 0; i < net->n_listen_in && net->n_listen < DRE_LISTEN_ADDRS_MAX; i++) {
                char *h = listen_host(net->listen_in[i]);
                bool dup = false;
                for (size_t k = 0; h && k < net->n_listen; k++)
                        dup |= streq(net->listen[k], h);
                if (!h || dup) {
                        if (!h)
                                log_warn("web UIs are not served on %s: not an IP address",
                                         net->listen_in[i]);
                        free(h);
                        continue;
                }
                net->listen[net->n_listen++] = h;
        }
        /* nginx workers run as nobody: every directory down to run_dir must
         * be traversable (the data dir is 0755) */
        r = fs_mkdir_p(net->run_dir, 0755);
        if (r >= 0 && chmod(net->run_dir, 0755) < 0)
                r = -errno;
        if (r < 0)
                return dbx_error_set(err, r, "", "cannot create %s: %s", net->run_dir,
                                     strerror(-r));
        if (dre_nginx_find_stream_module(net->nginx_bin, net->stream_module,
                                         sizeof(net->stream_module)) < 0) {
                net->stream_module[0] = 0;
                log_warn("proxy: nginx's stream module (libnginx-mod-stream) was not found: TCP "
                         "interfaces cannot be proxied");
        }
        struct dre_nginx_opts o = {
            .nginx_bin = net->nginx_bin,
            .run_dir = net->run_dir,
            .on_event = on_nginx_event,
            .userdata = p,
        };
        r = dre_nginx_new(p->cfg.event, &o, &net->nginx, err);
        if (r < 0)
                return r;
        net->started = true;
        bool recheck = !leftover_nginx(net);
        /* every pup gets what it lacks (pups installed before networking) */
        for (struct pup *pup = p->list; pup; pup = pup->next) {
                struct dbx_error e = {0};
                bool changed = false;
                if (!pup->manifest || streq(pup->installation, "purging"))
                        continue;
                if (allocate(p, pup, recheck, &changed, &e) < 0)
                        log_error("pup %s: %s", pup->id, e.message);
                else if (changed)
                        pup_persist(p, pup);
        }
        pup_net_refresh(p);
        return 0;
}

void pups_dre_start(struct pups *p)
{
        struct dbx_error e = {0};
        if (!p->net || !p->net->enabled || !p->n)
                return; /* no pups: nothing on the host changes yet */
        if (net_bring_up(p, &e) < 0)
                log_error("pup networking: %s", e.message);
}

void pups_dre_free(struct pups *p)
{
        struct pups_net *net = p->net;
        if (!net)
                return;
        dre_nginx_free(net->nginx);
        for (size_t i = 0; i < net->n_listen; i++)
                free(net->listen[i]);
        free(net->listen);
        for (size_t i = 0; i < net->n_listen_in; i++)
                free(net->listen_in[i]);
        free(net->listen_in);
        free(net->nginx_bin);
        free(net->run_dir);
        free(net);
        p->net = NULL;
}

const char *pups_network_problem(struct pups *p)
{
        struct pups_net *net = p->net;
        if (!net || !net->enabled || !net->started)
                return NULL;
        if (!net->up)
                return net->error[0] ? net->error : "the pups' bridge is not set up";
        return net->problem[0] ? net->problem : NULL;
}
