/* dre: the Dogebox Runtime Environment seen from the host (docs/networking.md).
 *
 *  - the nginx configuration, rendered from plain data (pure): one service
 *    address per (provider, interface) where nginx serves the interface to
 *    the consumers granted it (HTTP with route enforcement, TCP through the
 *    stream module), and one host port per pup web UI;
 *  - the nginx process: a child of the daemon driven from its sd-event loop,
 *    checked with `nginx -t` before every change, reloaded with SIGHUP,
 *    restarted when it dies, never left on a configuration that failed;
 *  - what a pup sees: its environment (DBX_*) and its /etc/hosts (pure).
 *
 * Nothing here logs; events and errors go back to the caller. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>
#include "core/error.h"

/* ---- limits ---------------------------------------------------------------- */

#define DRE_IFACE_NAME_MAX    64  /* interface names become host names: one DNS label */
#define DRE_ID_MAX            128 /* pup ids (32 hex upstream) */
#define DRE_ROUTE_MAX         256 /* one route pattern, bytes */
#define DRE_ROUTES_MAX        256 /* routes granted to one consumer of one binding */
#define DRE_BINDINGS_MAX      4096
#define DRE_CONSUMERS_MAX     1024 /* per binding */
#define DRE_TCP_PORTS_MAX     64   /* per binding */
#define DRE_WEBUIS_MAX        1024
#define DRE_LISTEN_ADDRS_MAX  8
#define DRE_RUN_DIR_MAX       200         /* keeps every derived path far below PATH_MAX */
#define DRE_CONF_MAX          (32u << 20) /* a rendered configuration larger than this is a bug */
#define DRE_WEBUI_PORT_MIN    10000       /* upstream's first web UI port */
#define DRE_HTTP_PORT_DEFAULT 80

/* ---- route patterns ------------------------------------------------------ */

// A permission group's `routes` are path patterns, matched against the
// request path after nginx has normalised it (percent-decoding, "." and ".."
// segments resolved, repeated slashes merged; the query string never counts):
//
//   "/" or "/*"          every path
//   "/api/" or "/api/*"  every path that starts with "/api/" (not "/api",
//                        not "/apix")
//   "/nodes"             exactly "/nodes" (not "/nodes/", not "/nodes/1")
//
// Matching is case-sensitive. '*' is only allowed as the whole last segment.
// Patterns are made of letters, digits and - . _ ~ : @ ! , + = / ; they start
// with '/', and contain no "//", "." or ".." segments (which could never
// match a normalised path).
int dre_route_validate(const char *pattern, struct dbx_error *err);
/* The reference semantics: true when a normalised path matches. The nginx
 * configuration implements exactly this (tests check both agree). */
bool dre_route_match(const char *pattern, const char *path);

/* ---- nginx configuration (pure) ------------------------------------------ */

struct dre_consumer {
        const char *pup_id;
        const char *ip;            /* its (anti-spoofed) source address */
        const char *const *routes; /* routes of every permission group granted to it */
        size_t n_routes;
};

/* One provider interface served to its consumers at service_addr. */
struct dre_binding {
        const char *interface; /* "core-rpc": served as core-rpc.localhost */
        const char *provider_id;
        const char *provider_ip;
        const char *service_addr;  /* the gateway-side address nginx listens on */
        uint16_t http_port;        /* provider's HTTP port; 0 = no HTTP for this interface */
        const uint16_t *tcp_ports; /* provider's TCP ports, served on the same numbers */
        size_t n_tcp_ports;
        const struct dre_consumer *consumers;
        size_t n_consumers;
};

struct dre_webui {
        const char *pup_id;
        const char *name; /* the expose's name, for the comment */
        uint16_t host_port;
        const char *pup_ip;
        uint16_t pup_port;
};

struct dre_nginx_conf {
        const char *run_dir;       /* absolute; nginx writes only below it */
        const char *stream_module; /* ngx_stream_module.so; needed when a binding has TCP ports */
        const char *user;          /* worker user ("user nobody nogroup" when NULL) */
        unsigned workers;          /* 0 = one per CPU */
        uint16_t http_port;        /* HTTP port on service addresses; 0 = 80 */
        const char *const *listen_addrs; /* where web UIs listen (the daemon's addresses) */
        size_t n_listen_addrs;
        const struct dre_binding *bindings;
        size_t n_bindings;
        const struct dre_webui *webuis;
        size_t n_webuis;
};

/* Validate and render nginx.conf. *ret is NUL-terminated, caller frees. The
 * text is deterministic: inputs are sorted, so an unchanged state renders
 * byte for byte the same file. */
int dre_nginx_render(const struct dre_nginx_conf *c, char **ret, struct dbx_error *err);

/* Locate ngx_stream_module.so (Debian: libnginx-mod-stream). Looks in the
 * usual module directories, then asks `nginx_bin -V` for --modules-path. */
int dre_nginx_find_stream_module(const char *nginx_bin, char *out, size_t size);

/* Lowest free web UI port >= DRE_WEBUI_PORT_MIN: not in used (every port
 * already handed out: web UIs, listenOnHost forwards, the daemon's own) and,
 * when probe is given, not busy on the host right now. */
typedef int (*dre_port_probe_t)(uint16_t port, bool *ret_busy);
int dre_webui_port_allocate(const uint16_t *used, size_t n_used, dre_port_probe_t probe,
                            uint16_t *ret, struct dbx_error *err);

/* ---- the nginx process ------------------------------------------------------ */

#define DRE_NGINX_BIN_DEFAULT       "/usr/sbin/nginx"
#define DRE_NGINX_START_TIMEOUT_MS  6000 /* nginx retries a busy bind() for 2.5 s itself */
#define DRE_NGINX_RELOAD_TIMEOUT_MS 5000
#define DRE_NGINX_STOP_TIMEOUT_MS   3000
#define DRE_NGINX_TEST_TIMEOUT_MS   10000 /* `nginx -t` of a huge config still takes < 1 s */
#define DRE_NGINX_FAST_RESTARTS     5     /* immediate restarts allowed per window */
#define DRE_NGINX_RESTART_WINDOW_MS 30000
#define DRE_NGINX_BACKOFF_MAX_MS    30000      /* crash loops back off up to this */
#define DRE_NGINX_LOG_MAX           (4u << 20) /* error/access logs are cut beyond this */
#define DRE_NGINX_MSG_MAX           4096       /* nginx output kept for an error message */

enum dre_nginx_event {
        DRE_NGINX_STARTED, /* pid is the new master */
        DRE_NGINX_EXITED,  /* unexpected exit; detail says how; a restart follows */
        DRE_NGINX_RELOADED,
        DRE_NGINX_RELOAD_FAILED, /* detail: nginx's message; the old configuration stays */
        DRE_NGINX_START_FAILED,  /* a restart failed; detail says why; retried with backoff */
};

struct dre_nginx;
typedef void (*dre_nginx_event_cb)(struct dre_nginx *n, enum dre_nginx_event ev, pid_t pid,
                                   const char *detail, void *userdata);

struct dre_nginx_opts {
        const char *nginx_bin; /* NULL = DRE_NGINX_BIN_DEFAULT */
        const char *run_dir;   /* absolute; created if missing; conf is run_dir/nginx.conf */
        dre_nginx_event_cb on_event;
        void *userdata;
};

/* Nothing runs until the first dre_nginx_apply(). An nginx left over from a
 * previous daemon (same run_dir) is killed when the first one starts. */
int dre_nginx_new(sd_event *e, const struct dre_nginx_opts *o, struct dre_nginx **ret,
                  struct dbx_error *err);

/* Check conf with `nginx -t`; then start nginx with it, or reload the
 * running one (SIGHUP) and wait until its master confirms. Blocks the loop
 * for the test and the confirmation: tens of milliseconds normally, bounded
 * by the timeouts above. On any failure the previous configuration stays
 * (on disk and in the running nginx) and err carries nginx's message. */
int dre_nginx_apply(struct dre_nginx *n, const char *conf, struct dbx_error *err);

/* `nginx -t` only. */
int dre_nginx_test(struct dre_nginx *n, const char *conf, struct dbx_error *err);

/* Stop nginx (SIGTERM, then SIGKILL to its process group after
 * DRE_NGINX_STOP_TIMEOUT_MS); no restart follows. Blocks. */
int dre_nginx_stop(struct dre_nginx *n);

struct dre_nginx *dre_nginx_free(struct dre_nginx *n); /* stops it; NULL-safe */
static inline void dre_nginx_freep(struct dre_nginx **n)
{
        dre_nginx_free(*n);
}

pid_t dre_nginx_pid(const struct dre_nginx *n);         /* master pid, 0 when not running */
unsigned dre_nginx_restarts(const struct dre_nginx *n); /* unexpected exits so far */
const char *dre_nginx_conf_path(const struct dre_nginx *n);

/* ---- what a pup sees --------------------------------------------------------- */

#define DRE_ENV_IFACES_MAX 256
#define DRE_ENV_VALUE_MAX  256

struct dre_env_iface {
        const char *interface; /* "core-rpc" */
        const char *name;      /* the provider expose's name (DBX_IFACE_*_NAME) */
        const char *host;      /* where to connect: the binding's service address */
        uint16_t port;         /* the HTTP port (80) when the first expose listing the
                                * interface is http, else its tcp port */
};

struct dre_env_spec {
        const char *pup_id;
        const char *pup_ip;
        const char *dbx_host; /* the gateway address */
        uint16_t dbx_port;    /* the pup gateway API port (not hard-coded 80: upstream defect 25) */
        const struct dre_env_iface *ifaces;
        size_t n_ifaces;
};

/* "DBX_IFACE_<IF>": <IF> is the interface name upper-cased, '-' and ' '
 * turned into '_', every other non-alphanumeric dropped (upstream). -EINVAL
 * when nothing is left. out needs DRE_IFACE_NAME_MAX + 1 bytes. */
int dre_env_iface_key(const char *interface, char *out, size_t size);

/* NULL-terminated, sorted array of "KEY=value" strings (stable across
 * calls, so a pup is never restarted for a reordered environment). Two
 * interfaces mapping to the same key are an error. Free with
 * dre_env_free(). */
int dre_env_build(const struct dre_env_spec *s, char ***ret, size_t *ret_n, struct dbx_error *err);
char **dre_env_free(char **env);

struct dre_hosts_entry {
        const char *interface; /* <interface>.localhost */
        const char *addr;      /* its service address */
};

/* A whole /etc/hosts for a pup: localhost, the gateway as "dogeboxd
 * dogeboxd.local dogebox dogebox.local" (upstream), and one line per
 * interface the pup consumes. */
int dre_hosts_render(const char *gateway, const struct dre_hosts_entry *e, size_t n, char **ret,
                     struct dbx_error *err);
