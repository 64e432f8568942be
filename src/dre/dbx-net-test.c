/* dbx-net-test: drives the net and dre modules for the integration tests
 * and bench/proxy. Not installed.
 *
 * Everything is described by one JSON "world" file (see load_world()):
 * the bridge, the pups, the interface bindings between them and the web
 * UIs. The way it turns that into a struct net_policy and a struct
 * dre_nginx_conf is the way the daemon is meant to (docs/networking.md).
 *
 *   dbx-net-test bridge-up WORLD          bridge + gateway + service addresses
 *   dbx-net-test bridge-down WORLD
 *   dbx-net-test attach WORLD PUP NETNS   NETNS: a path (/run/netns/x) or a pid
 *   dbx-net-test detach WORLD PUP
 *   dbx-net-test policy-render WORLD
 *   dbx-net-test policy-apply WORLD
 *   dbx-net-test policy-remove TABLE
 *   dbx-net-test port-check WORLD PUP PORT   exit 0 free, 3 conflict
 *   dbx-net-test nginx-render WORLD
 *   dbx-net-test nginx-run WORLD STATUSFILE  foreground; SIGUSR1 re-reads WORLD
 *   dbx-net-test env WORLD PUP
 *   dbx-net-test hosts WORLD PUP
 *   dbx-net-test route-match PATTERN PATH    exit 0 match, 1 no match, 2 invalid
 *   dbx-net-test bench-wire CIDR BRIDGE TABLE N
 *   dbx-net-test bench-reload WORLD ROUNDS
 */
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <signal.h>
#include <stdio.h>
#include <sys/signalfd.h>
#include "core/util.h"
#include "dre/dre.h"
#include "net/net.h"

#define WORLD_MAX (64u << 20)

struct wpup {
        const char *id;
        char ip[NET_IP4_STRLEN];
        uint32_t ip4;
        bool internet;
        struct net_forward fwd[NET_FORWARDS_MAX];
        size_t n_fwd;
};

struct wbinding {
        const char *interface, *provider, *service_addr, *expose_name;
        uint16_t http_port;
        uint16_t tcp_ports[DRE_TCP_PORTS_MAX];
        size_t n_tcp;
        struct dre_consumer *consumers;
        size_t n_consumers;
        uint32_t *consumer_ips;
};

struct world {
        json_t *root;
        const char *table, *bridge, *uplink, *run_dir, *stream_module_opt;
        char stream_module[4096];
        struct net_cidr gw;
        uint16_t gateway_ports[NET_GATEWAY_PORTS_MAX];
        size_t n_gateway_ports;
        struct wpup *pups;
        size_t n_pups;
        struct wbinding *bindings;
        size_t n_bindings;
        struct dre_webui *webuis;
        size_t n_webuis;
        const char **listen;
        size_t n_listen;
        unsigned workers;
        /* derived */
        struct net_policy_pup *ppups;
        struct net_service *svcs;
        struct dre_binding *dbind;
};

static _Noreturn void die(const char *fmt, ...) _printf_(1, 2);
static _Noreturn void die(const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        fputs("dbx-net-test: ", stderr);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
        exit(2);
}

static void die_err(const char *what, const struct dbx_error *e)
{
        char buf[1024];
        fprintf(stderr, "dbx-net-test: %s: %s\n", what, dbx_error_text(e, buf, sizeof(buf)));
        exit(1);
}

static const char *jstr(json_t *o, const char *k, const char *def)
{
        json_t *v = json_object_get(o, k);
        if (!v)
                return def;
        if (!json_is_string(v))
                die("%s must be a string", k);
        return json_string_value(v);
}

static long long jint(json_t *o, const char *k, long long def)
{
        json_t *v = json_object_get(o, k);
        if (!v)
                return def;
        if (!json_is_integer(v))
                die("%s must be an integer", k);
        return json_integer_value(v);
}

static uint16_t jport(json_t *v)
{
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 65535)
                die("a port must be an integer 1-65535");
        return (uint16_t)json_integer_value(v);
}

static struct wpup *find_pup(struct world *w, const char *id)
{
        for (size_t i = 0; i < w->n_pups; i++)
                if (streq(w->pups[i].id, id))
                        return &w->pups[i];
        die("no pup '%s' in the world", id);
}

static void load_world(const char *path, struct world *w)
{
        json_error_t je;
        struct dbx_error err = {0};

        memset(w, 0, sizeof(*w));
        w->root = json_load_file(path, 0, &je);
        if (!w->root)
                die("%s:%d: %s", path, je.line, je.text);
        json_t *r = w->root;
        w->table = jstr(r, "table", NET_DEFAULT_TABLE);
        w->bridge = jstr(r, "bridge", NET_DEFAULT_BRIDGE);
        w->uplink = jstr(r, "uplink", "");
        w->run_dir = jstr(r, "run_dir", NULL);
        w->stream_module_opt = jstr(r, "stream_module", NULL);
        w->workers = (unsigned)jint(r, "workers", 1);
        if (net_cidr_parse(jstr(r, "cidr", NET_DEFAULT_CIDR), &w->gw, &err) < 0)
                die_err("cidr", &err);

        json_t *a, *v;
        size_t i;
        json_array_foreach(json_object_get(r, "gateway_ports"), i, v)
        {
                if (w->n_gateway_ports < NET_GATEWAY_PORTS_MAX)
                        w->gateway_ports[w->n_gateway_ports++] = jport(v);
        }

        a = json_object_get(r, "pups");
        w->pups = xcalloc(json_array_size(a) + 1, sizeof(*w->pups));
        json_array_foreach(a, i, v)
        {
                struct wpup *p = &w->pups[w->n_pups++];
                p->id = jstr(v, "id", NULL);
                if (!p->id)
                        die("pups[%zu].id missing", i);
                const char *ip = jstr(v, "ip", NULL);
                if (!ip || net_ip4_parse(ip, &p->ip4) < 0)
                        die("pups[%zu].ip missing or bad", i);
                snprintf(p->ip, sizeof(p->ip), "%s", ip);
                p->internet = json_is_true(json_object_get(v, "internet"));
                json_t *f;
                size_t j;
                json_array_foreach(json_object_get(v, "forwards"), j, f)
                {
                        if (p->n_fwd == NET_FORWARDS_MAX)
                                break;
                        p->fwd[p->n_fwd].host_port = jport(json_array_get(f, 0));
                        p->fwd[p->n_fwd].pup_port = jport(json_array_get(f, 1));
                        p->n_fwd++;
                }
        }

        a = json_object_get(r, "bindings");
        w->bindings = xcalloc(json_array_size(a) + 1, sizeof(*w->bindings));
        json_array_foreach(a, i, v)
        {
                struct wbinding *b = &w->bindings[w->n_bindings++];
                b->interface = jstr(v, "interface", NULL);
                b->provider = jstr(v, "provider", NULL);
                b->service_addr = jstr(v, "service_addr", NULL);
                b->expose_name = jstr(v, "expose_name", b->interface);
                if (!b->interface || !b->provider || !b->service_addr)
                        die("bindings[%zu] needs interface, provider and service_addr", i);
                b->http_port = (uint16_t)jint(v, "http_port", 0);
                json_t *t;
                size_t j;
                json_array_foreach(json_object_get(v, "tcp_ports"), j, t)
                {
                        if (b->n_tcp < DRE_TCP_PORTS_MAX)
                                b->tcp_ports[b->n_tcp++] = jport(t);
                }
                json_t *cs = json_object_get(v, "consumers");
                b->consumers = xcalloc(json_array_size(cs) + 1, sizeof(*b->consumers));
                b->consumer_ips = xcalloc(json_array_size(cs) + 1, sizeof(uint32_t));
                json_array_foreach(cs, j, t)
                {
                        struct dre_consumer *c = &b->consumers[b->n_consumers];
                        struct wpup *p = find_pup(w, jstr(t, "pup", ""));
                        c->pup_id = p->id;
                        c->ip = p->ip;
                        b->consumer_ips[b->n_consumers] = p->ip4;
                        json_t *routes = json_object_get(t, "routes");
                        const char **rs = xcalloc(json_array_size(routes) + 1, sizeof(char *));
                        json_t *rv;
                        size_t k;
                        json_array_foreach(routes, k, rv) rs[k] = json_string_value(rv);
                        c->routes = rs;
                        c->n_routes = json_array_size(routes);
                        b->n_consumers++;
                }
        }

        a = json_object_get(r, "webuis");
        w->webuis = xcalloc(json_array_size(a) + 1, sizeof(*w->webuis));
        json_array_foreach(a, i, v)
        {
                struct dre_webui *u = &w->webuis[w->n_webuis++];
                struct wpup *p = find_pup(w, jstr(v, "pup", ""));
                u->pup_id = p->id;
                u->pup_ip = p->ip;
                u->name = jstr(v, "name", "ui");
                u->host_port = jport(json_object_get(v, "host_port"));
                u->pup_port = jport(json_object_get(v, "port"));
        }
        a = json_object_get(r, "listen");
        w->listen = xcalloc(json_array_size(a) + 1, sizeof(char *));
        json_array_foreach(a, i, v) w->listen[w->n_listen++] = json_string_value(v);

        /* The daemon's view → the modules' plain data. */
        w->ppups = xcalloc(w->n_pups + 1, sizeof(*w->ppups));
        for (i = 0; i < w->n_pups; i++)
                w->ppups[i] = (struct net_policy_pup){
                    .id = w->pups[i].id,
                    .ip = w->pups[i].ip4,
                    .requires_internet = w->pups[i].internet,
                    .forwards = w->pups[i].fwd,
                    .n_forwards = w->pups[i].n_fwd,
                };
        w->svcs = xcalloc(w->n_bindings + 1, sizeof(*w->svcs));
        w->dbind = xcalloc(w->n_bindings + 1, sizeof(*w->dbind));
        for (i = 0; i < w->n_bindings; i++) {
                struct wbinding *b = &w->bindings[i];
                uint32_t sa;
                if (net_ip4_parse(b->service_addr, &sa) < 0)
                        die("bindings[%zu].service_addr is not an address", i);
                w->svcs[i] = (struct net_service){
                    .addr = sa,
                    .http = b->http_port != 0,
                    .tcp_ports = b->tcp_ports,
                    .n_tcp_ports = b->n_tcp,
                    .consumers = b->consumer_ips,
                    .n_consumers = b->n_consumers,
                };
                w->dbind[i] = (struct dre_binding){
                    .interface = b->interface,
                    .provider_id = b->provider,
                    .provider_ip = find_pup(w, b->provider)->ip,
                    .service_addr = b->service_addr,
                    .http_port = b->http_port,
                    .tcp_ports = b->tcp_ports,
                    .n_tcp_ports = b->n_tcp,
                    .consumers = b->consumers,
                    .n_consumers = b->n_consumers,
                };
        }
        if (w->stream_module_opt)
                snprintf(w->stream_module, sizeof(w->stream_module), "%s", w->stream_module_opt);
        else if (dre_nginx_find_stream_module(NULL, w->stream_module, sizeof(w->stream_module)) < 0)
                w->stream_module[0] = 0;
}

static void free_world(struct world *w)
{
        for (size_t i = 0; i < w->n_bindings; i++) {
                for (size_t j = 0; j < w->bindings[i].n_consumers; j++)
                        free((void *)w->bindings[i].consumers[j].routes);
                free(w->bindings[i].consumers);
                free(w->bindings[i].consumer_ips);
        }
        free(w->bindings);
        free(w->pups);
        free(w->webuis);
        free(w->listen);
        free(w->ppups);
        free(w->svcs);
        free(w->dbind);
        json_decref(w->root);
}

static struct net_policy world_policy(struct world *w)
{
        return (struct net_policy){
            .table = w->table,
            .bridge = w->bridge,
            .gateway = w->gw,
            .uplink = w->uplink,
            .gateway_ports = w->gateway_ports,
            .n_gateway_ports = w->n_gateway_ports,
            .pups = w->ppups,
            .n_pups = w->n_pups,
            .services = w->svcs,
            .n_services = w->n_bindings,
        };
}

static struct dre_nginx_conf world_nginx(struct world *w)
{
        if (!w->run_dir)
                die("the world has no run_dir");
        return (struct dre_nginx_conf){
            .run_dir = w->run_dir,
            .stream_module = w->stream_module,
            .workers = w->workers,
            .listen_addrs = w->listen,
            .n_listen_addrs = w->n_listen,
            .bindings = w->dbind,
            .n_bindings = w->n_bindings,
            .webuis = w->webuis,
            .n_webuis = w->n_webuis,
        };
}

static int cmd_bridge_up(struct world *w)
{
        struct dbx_error err = {0};
        _cleanup_free_ uint32_t *svc = xcalloc(w->n_bindings + 1, sizeof(uint32_t));
        for (size_t i = 0; i < w->n_bindings; i++)
                svc[i] = w->svcs[i].addr;
        if (net_bridge_ensure(w->bridge, &w->gw, svc, w->n_bindings, &err) < 0)
                die_err("bridge-up", &err);
        return 0;
}

static int cmd_attach(struct world *w, const char *pup, const char *ns)
{
        struct dbx_error err = {0};
        struct wpup *p = find_pup(w, pup);
        struct net_veth_spec s = {
            .netns_fd = -1,
            .ip = p->ip4,
            .prefix = w->gw.prefix,
            .gateway = w->gw.addr,
        };
        snprintf(s.bridge, sizeof(s.bridge), "%s", w->bridge);
        if (ns[0] == '/') {
                s.netns_fd = open(ns, O_RDONLY | O_CLOEXEC);
                if (s.netns_fd < 0)
                        die("cannot open %s: %m", ns);
        } else {
                s.netns_pid = atoi(ns);
        }
        int r = net_veth_attach(&s, &err);
        if (s.netns_fd >= 0)
                close(s.netns_fd);
        if (r < 0)
                die_err("attach", &err);
        return 0;
}

static int cmd_detach(struct world *w, const char *pup)
{
        struct dbx_error err = {0};
        char name[NET_IFNAME_MAX];
        net_veth_name(find_pup(w, pup)->ip4, name);
        if (net_veth_detach(name, &err) < 0)
                die_err("detach", &err);
        return 0;
}

static int cmd_policy(struct world *w, bool apply)
{
        struct dbx_error err = {0};
        struct net_policy p = world_policy(w);
        if (apply) {
                if (net_policy_apply(&p, &err) < 0)
                        die_err("policy-apply", &err);
                return 0;
        }
        _cleanup_free_ char *text = NULL;
        if (net_policy_render(&p, &text, &err) < 0)
                die_err("policy-render", &err);
        fputs(text, stdout);
        return 0;
}

static int cmd_port_check(struct world *w, const char *pup, const char *port)
{
        struct dbx_error err = {0};
        struct net_policy p = world_policy(w);
        _cleanup_free_ uint16_t *reserved = xcalloc(w->n_webuis + 1, sizeof(uint16_t));
        for (size_t i = 0; i < w->n_webuis; i++)
                reserved[i] = w->webuis[i].host_port;
        int r = net_port_conflict(&p, pup, (uint16_t)atoi(port), reserved, w->n_webuis,
                                  net_host_port_listening, &err);
        if (r == -EADDRINUSE) {
                printf("%s\n", err.message);
                return 3;
        }
        if (r < 0)
                die_err("port-check", &err);
        printf("free\n");
        return 0;
}

static int cmd_nginx_render(struct world *w)
{
        struct dbx_error err = {0};
        struct dre_nginx_conf c = world_nginx(w);
        _cleanup_free_ char *text = NULL;
        if (dre_nginx_render(&c, &text, &err) < 0)
                die_err("nginx-render", &err);
        fputs(text, stdout);
        return 0;
}

/* The consumer's view: which bindings it was granted. */
static int cmd_env_hosts(struct world *w, const char *pup, bool env)
{
        struct dbx_error err = {0};
        struct wpup *p = find_pup(w, pup);
        _cleanup_free_ struct dre_env_iface *ifs = xcalloc(w->n_bindings + 1, sizeof(*ifs));
        _cleanup_free_ struct dre_hosts_entry *hs = xcalloc(w->n_bindings + 1, sizeof(*hs));
        size_t n = 0;
        char gw[NET_IP4_STRLEN];
        net_ip4_format(w->gw.addr, gw);
        for (size_t i = 0; i < w->n_bindings; i++) {
                struct wbinding *b = &w->bindings[i];
                for (size_t j = 0; j < b->n_consumers; j++) {
                        if (!streq(b->consumers[j].pup_id, p->id))
                                continue;
                        ifs[n] = (struct dre_env_iface){
                            .interface = b->interface,
                            .name = b->expose_name,
                            .host = b->service_addr,
                            .port = b->http_port ? DRE_HTTP_PORT_DEFAULT : b->tcp_ports[0],
                        };
                        hs[n] = (struct dre_hosts_entry){b->interface, b->service_addr};
                        n++;
                }
        }
        if (env) {
                struct dre_env_spec s = {
                    .pup_id = p->id,
                    .pup_ip = p->ip,
                    .dbx_host = gw,
                    .dbx_port = w->n_gateway_ports ? w->gateway_ports[0] : 80,
                    .ifaces = ifs,
                    .n_ifaces = n,
                };
                char **e = NULL;
                if (dre_env_build(&s, &e, NULL, &err) < 0)
                        die_err("env", &err);
                for (char **x = e; *x; x++)
                        puts(*x);
                dre_env_free(e);
        } else {
                _cleanup_free_ char *text = NULL;
                if (dre_hosts_render(gw, hs, n, &text, &err) < 0)
                        die_err("hosts", &err);
                fputs(text, stdout);
        }
        return 0;
}

/* ---- nginx-run: the manager on a real sd-event loop ---- */

struct run {
        const char *world_path, *status_path;
        struct dre_nginx *n;
};

static void status_line(struct run *r, const char *fmt, ...) _printf_(2, 3);
static void status_line(struct run *r, const char *fmt, ...)
{
        va_list ap;
        FILE *f = fopen(r->status_path, "ae");
        if (!f)
                return;
        va_start(ap, fmt);
        vfprintf(f, fmt, ap);
        va_end(ap);
        fputc('\n', f);
        fclose(f);
}

static void on_nginx_event(struct dre_nginx *n, enum dre_nginx_event ev, pid_t pid,
                           const char *detail, void *ud)
{
        static const char *const names[] = {
            [DRE_NGINX_STARTED] = "started",           [DRE_NGINX_EXITED] = "exited",
            [DRE_NGINX_RELOADED] = "reloaded",         [DRE_NGINX_RELOAD_FAILED] = "reload-failed",
            [DRE_NGINX_START_FAILED] = "start-failed",
        };
        status_line(ud, "event %s pid=%d %s", names[ev], (int)pid, detail ? detail : "");
}

static void run_apply(struct run *r)
{
        struct world w;
        struct dbx_error err = {0};
        _cleanup_free_ char *text = NULL;

        load_world(r->world_path, &w);
        struct dre_nginx_conf c = world_nginx(&w);
        uint64_t t0 = now_mono_usec();
        int k = dre_nginx_render(&c, &text, &err);
        if (k >= 0)
                k = dre_nginx_apply(r->n, text, &err);
        uint64_t t1 = now_mono_usec();
        if (k < 0)
                status_line(r, "apply-failed %s", err.message);
        else
                status_line(r, "apply-ok pid=%d ms=%.1f", (int)dre_nginx_pid(r->n),
                            (double)(t1 - t0) / 1000.0);
        free_world(&w);
}

static int on_usr1(sd_event_source *s, const struct signalfd_siginfo *si, void *ud)
{
        run_apply(ud);
        return 0;
}

static int on_term(sd_event_source *s, const struct signalfd_siginfo *si, void *ud)
{
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

static int cmd_nginx_run(const char *world_path, const char *status_path)
{
        struct run r = {.world_path = world_path, .status_path = status_path};
        struct dbx_error err = {0};
        struct world w;
        sd_event *e = NULL;
        sigset_t mask;

        sigemptyset(&mask);
        sigaddset(&mask, SIGUSR1);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        if (sd_event_default(&e) < 0)
                die("sd_event_default failed");
        load_world(world_path, &w);
        struct dre_nginx_opts o = {
            .run_dir = w.run_dir, .on_event = on_nginx_event, .userdata = &r};
        if (dre_nginx_new(e, &o, &r.n, &err) < 0)
                die_err("nginx", &err);
        free_world(&w);
        sd_event_add_signal(e, NULL, SIGUSR1, on_usr1, &r);
        sd_event_add_signal(e, NULL, SIGTERM, on_term, &r);
        sd_event_add_signal(e, NULL, SIGINT, on_term, &r);
        run_apply(&r);
        status_line(&r, "ready");
        sd_event_loop(e);
        r.n = dre_nginx_free(r.n);
        status_line(&r, "stopped");
        sd_event_unref(e);
        return 0;
}

/* ---- benchmarks ---- */

struct ns_thread {
        int fd;
};

static void *new_netns_thread(void *p)
{
        struct ns_thread *t = p;
        t->fd = -1;
        if (unshare(CLONE_NEWNET) == 0)
                t->fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        return NULL;
}

static int new_netns(void)
{
        struct ns_thread t;
        pthread_t th;
        if (pthread_create(&th, NULL, new_netns_thread, &t) != 0)
                return -1;
        pthread_join(th, NULL);
        return t.fd;
}

/* N namespaces from nothing to wired and firewalled: namespace creation
 * (the runtime's job, included to be honest about "from cold"), bridge,
 * N veth pairs configured inside, one policy apply. */
static int cmd_bench_wire(const char *cidr, const char *bridge, const char *table, int n)
{
        struct dbx_error err = {0};
        struct net_cidr gw;
        struct net_layout l;

        if (net_cidr_parse(cidr, &gw, &err) < 0 || net_layout_from_cidr(&gw, &l, &err) < 0)
                die_err("cidr", &err);
        if (n < 1 || n > 1000)
                die("N must be 1-1000");
        _cleanup_free_ int *fds = xcalloc((size_t)n, sizeof(int));
        _cleanup_free_ uint32_t *ips = xcalloc((size_t)n, sizeof(uint32_t));
        _cleanup_free_ struct net_policy_pup *pups = xcalloc((size_t)n, sizeof(*pups));
        _cleanup_free_ char(*ids)[32] = xcalloc((size_t)n, 32);

        uint64_t t0 = now_mono_usec();
        for (int i = 0; i < n; i++) {
                fds[i] = new_netns();
                if (fds[i] < 0)
                        die("cannot create a network namespace");
        }
        uint64_t t1 = now_mono_usec();
        if (net_bridge_ensure(bridge, &gw, NULL, 0, &err) < 0)
                die_err("bridge", &err);
        for (int i = 0; i < n; i++) {
                snprintf(ids[i], 32, "bench-%d", i);
                if (net_addr_allocate(&l, NET_POOL_PUP, ids[i], ips, (size_t)i, &ips[i], &err) < 0)
                        die_err("allocate", &err);
                pups[i] = (struct net_policy_pup){.id = ids[i], .ip = ips[i]};
        }
        struct net_policy p = {
            .table = table, .bridge = bridge, .gateway = gw, .pups = pups, .n_pups = (size_t)n};
        if (net_policy_apply(&p, &err) < 0)
                die_err("policy", &err);
        for (int i = 0; i < n; i++) {
                struct net_veth_spec s = {
                    .netns_fd = fds[i], .ip = ips[i], .prefix = gw.prefix, .gateway = gw.addr};
                snprintf(s.bridge, sizeof(s.bridge), "%s", bridge);
                if (net_veth_attach(&s, &err) < 0)
                        die_err("attach", &err);
        }
        uint64_t t2 = now_mono_usec();
        printf("netns_ms=%.1f wire_ms=%.1f total_ms=%.1f n=%d\n", (double)(t1 - t0) / 1000.0,
               (double)(t2 - t1) / 1000.0, (double)(t2 - t0) / 1000.0, n);
        for (int i = 0; i < n; i++)
                close(fds[i]); /* the namespaces and their veths go away */
        (void)net_policy_remove(table, &err);
        (void)net_link_delete(bridge, &err);
        return 0;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;
        return x < y ? -1 : x > y;
}

/* Reload time of a running nginx: render + nginx -t + SIGHUP + the master's
 * confirmation, as dre_nginx_apply does it. */
static int cmd_bench_reload(const char *world_path, int rounds)
{
        struct dbx_error err = {0};
        struct world w;
        sd_event *e = NULL;
        struct dre_nginx *n = NULL;
        sigset_t mask;

        if (rounds < 1 || rounds > 1000)
                die("ROUNDS must be 1-1000");
        sigemptyset(&mask);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        if (sd_event_default(&e) < 0)
                die("sd_event_default failed");
        load_world(world_path, &w);
        struct dre_nginx_opts o = {.run_dir = w.run_dir};
        if (dre_nginx_new(e, &o, &n, &err) < 0)
                die_err("nginx", &err);
        struct dre_nginx_conf c = world_nginx(&w);
        _cleanup_free_ double *ms = xcalloc((size_t)rounds, sizeof(double));
        _cleanup_free_ double *test_ms = xcalloc((size_t)rounds, sizeof(double));
        for (int i = -1; i < rounds; i++) {
                _cleanup_free_ char *text = NULL, *changed = NULL, *probe = NULL;
                if (i >= 0) { /* nginx -t alone, for the breakdown */
                        if (dre_nginx_render(&c, &probe, &err) < 0)
                                die_err("render", &err);
                        uint64_t t = now_mono_usec();
                        if (dre_nginx_test(n, probe, &err) < 0)
                                die_err("test", &err);
                        test_ms[i] = (double)(now_mono_usec() - t) / 1000.0;
                }
                uint64_t t0 = now_mono_usec();
                if (dre_nginx_render(&c, &text, &err) < 0)
                        die_err("render", &err);
                /* nginx reloads whatever the change; make every round one */
                changed = xasprintf("%s# round %d\n", text, i);
                if (dre_nginx_apply(n, changed, &err) < 0)
                        die_err("apply", &err);
                if (i >= 0)
                        ms[i] = (double)(now_mono_usec() - t0) / 1000.0;
                /* reloads do not come back to back: let the old workers go */
                struct timespec pause = {.tv_nsec = 300 * 1000000L};
                nanosleep(&pause, NULL);
        }
        qsort(ms, (size_t)rounds, sizeof(double), cmp_double);
        qsort(test_ms, (size_t)rounds, sizeof(double), cmp_double);
        printf("reload_median_ms=%.1f reload_max_ms=%.1f test_median_ms=%.1f bindings=%zu "
               "rounds=%d\n",
               ms[rounds / 2], ms[rounds - 1], test_ms[rounds / 2], w.n_bindings, rounds);
        dre_nginx_free(n);
        free_world(&w);
        sd_event_unref(e);
        return 0;
}

int main(int argc, char **argv)
{
        struct world w;
        struct dbx_error err = {0};
        int r = 0;

        if (argc < 2)
                die("usage: see the comment at the top of src/dre/dbx-net-test.c");
        const char *cmd = argv[1];
#define NEED(k)                                                                                    \
        do {                                                                                       \
                if (argc < (k) + 2)                                                                \
                        die("%s needs %d arguments", cmd, (k));                                    \
        } while (0)

        if (streq(cmd, "policy-remove")) {
                NEED(1);
                if (net_policy_remove(argv[2], &err) < 0)
                        die_err("policy-remove", &err);
                return 0;
        }
        if (streq(cmd, "route-match")) {
                NEED(2);
                if (dre_route_validate(argv[2], &err) < 0) {
                        printf("%s\n", err.message);
                        return 2;
                }
                return dre_route_match(argv[2], argv[3]) ? 0 : 1;
        }
        if (streq(cmd, "nginx-run")) {
                NEED(2);
                return cmd_nginx_run(argv[2], argv[3]);
        }
        if (streq(cmd, "bench-wire")) {
                NEED(4);
                return cmd_bench_wire(argv[2], argv[3], argv[4], atoi(argv[5]));
        }
        if (streq(cmd, "bench-reload")) {
                NEED(2);
                return cmd_bench_reload(argv[2], atoi(argv[3]));
        }

        NEED(1);
        load_world(argv[2], &w);
        if (streq(cmd, "bridge-up")) {
                r = cmd_bridge_up(&w);
        } else if (streq(cmd, "bridge-down")) {
                if (net_link_delete(w.bridge, &err) < 0)
                        die_err("bridge-down", &err);
        } else if (streq(cmd, "attach")) {
                NEED(3);
                r = cmd_attach(&w, argv[3], argv[4]);
        } else if (streq(cmd, "detach")) {
                NEED(2);
                r = cmd_detach(&w, argv[3]);
        } else if (streq(cmd, "policy-render")) {
                r = cmd_policy(&w, false);
        } else if (streq(cmd, "policy-apply")) {
                r = cmd_policy(&w, true);
        } else if (streq(cmd, "port-check")) {
                NEED(3);
                r = cmd_port_check(&w, argv[3], argv[4]);
        } else if (streq(cmd, "nginx-render")) {
                r = cmd_nginx_render(&w);
        } else if (streq(cmd, "env")) {
                NEED(2);
                r = cmd_env_hosts(&w, argv[3], true);
        } else if (streq(cmd, "hosts")) {
                NEED(2);
                r = cmd_env_hosts(&w, argv[3], false);
        } else {
                die("unknown command %s", cmd);
        }
        free_world(&w);
        return r;
}
