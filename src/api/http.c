#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "api/http.h"
#include "core/json.h"
#include "core/log.h"
#include "core/macro.h"

#define HTTP_LISTEN_BACKLOG 256

struct http_listener {
        struct http_server *server;
        struct MHD_Daemon *mhd;
        int fd;
        bool is_unix;
        int port;
        char *unix_path;
        sd_event_source *io, *timer;
};

struct http_server {
        sd_event *event;
        http_dispatch_fn dispatch;
        void *userdata;
        size_t body_max;
        struct http_listener *listeners[HTTP_LISTENERS_MAX];
        size_t n;
};

struct upgrade_ctx {
        void (*cb)(void *userdata, int fd, const char *extra, size_t extra_len, void *urh);
        void *userdata;
};

static void listener_schedule(struct http_listener *l);

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct http_listener *l = userdata;
        MHD_run(l->mhd);
        listener_schedule(l);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct http_listener *l = userdata;
        MHD_run(l->mhd);
        listener_schedule(l);
        return 0;
}

/* Arm the timer with MHD's own timeout (0 when it has buffered work). */
static void listener_schedule(struct http_listener *l)
{
        MHD_UNSIGNED_LONG_LONG ms;
        if (MHD_get_timeout(l->mhd, &ms) != MHD_YES) {
                sd_event_source_set_enabled(l->timer, SD_EVENT_OFF);
                return;
        }
        uint64_t now;
        sd_event_now(l->server->event, CLOCK_MONOTONIC, &now);
        sd_event_source_set_time(l->timer, now + ms * 1000ULL);
        sd_event_source_set_enabled(l->timer, SD_EVENT_ONESHOT);
}

static void add_common_headers(struct api_req *r, struct MHD_Response *resp)
{
        if (r->listener->is_unix)
                return;
        /* rs/cors "AllowAll": any origin, no credentials. */
        MHD_add_response_header(resp, "Vary", "Origin");
        if (api_req_header(r, "Origin"))
                MHD_add_response_header(resp, "Access-Control-Allow-Origin", "*");
}

static void queue(struct api_req *r, unsigned status, struct MHD_Response *resp)
{
        if (r->finished) {
                MHD_destroy_response(resp);
                return;
        }
        r->finished = true;
        add_common_headers(r, resp);
        if (r->suspended) {
                r->pending = resp;
                r->pending_status = status;
                r->suspended = false;
                MHD_resume_connection(r->conn);
                /* MHD must run to notice the resumed connection: at once */
                sd_event_source_set_time(r->listener->timer, 0);
                sd_event_source_set_enabled(r->listener->timer, SD_EVENT_ONESHOT);
                return;
        }
        MHD_queue_response(r->conn, status, resp);
        MHD_destroy_response(resp);
}

void api_reply_bytes(struct api_req *r, unsigned status, const char *content_type, const void *data,
                     size_t len, const char *const *extra_headers)
{
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_MUST_COPY);
        if (content_type)
                MHD_add_response_header(resp, "Content-Type", content_type);
        for (size_t i = 0; extra_headers && extra_headers[i]; i += 2)
                MHD_add_response_header(resp, extra_headers[i], extra_headers[i + 1]);
        queue(r, status, resp);
}

void api_reply_json(struct api_req *r, unsigned status, json_t *json)
{
        char *s = json_dumps(json, JSON_COMPACT | JSON_ENCODE_ANY);
        json_decref(json);
        if (!s)
                abort();
        struct MHD_Response *resp =
            MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
        MHD_add_response_header(resp, "Content-Type", "application/json");
        MHD_add_response_header(resp, "Cache-Control", "no-store");
        queue(r, status, resp);
}

void api_reply_error(struct api_req *r, unsigned status, const char *fmt, ...)
{
        char msg[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        api_reply_json(r, status,
                       json_pack("{s:{s:i,s:s}}", "error", "code", (int)status, "message", msg));
}

void api_req_suspend(struct api_req *r)
{
        if (r->suspended || r->finished)
                return;
        r->suspended = true;
        MHD_suspend_connection(r->conn);
}

static void upgrade_handler(void *cls, struct MHD_Connection *connection, void *req_cls,
                            const char *extra_in, size_t extra_in_size, MHD_socket sock,
                            struct MHD_UpgradeResponseHandle *urh)
{
        struct upgrade_ctx *u = cls;
        u->cb(u->userdata, sock, extra_in, extra_in_size, urh);
        free(u);
}

void api_reply_upgrade(struct api_req *r, const char *const *headers,
                       void (*cb)(void *userdata, int fd, const char *extra, size_t extra_len,
                                  void *urh),
                       void *userdata)
{
        struct upgrade_ctx *u = xcalloc(1, sizeof(*u));
        u->cb = cb;
        u->userdata = userdata;
        struct MHD_Response *resp = MHD_create_response_for_upgrade(upgrade_handler, u);
        for (size_t i = 0; headers && headers[i]; i += 2)
                MHD_add_response_header(resp, headers[i], headers[i + 1]);
        queue(r, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
}

void http_upgrade_close(void *urh)
{
        MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
}

const char *api_req_header(struct api_req *r, const char *name)
{
        return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *api_req_query(struct api_req *r, const char *name)
{
        return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

json_t *api_req_json(struct api_req *r)
{
        struct dbx_error err = {0};
        json_t *j = NULL;
        if (json_parse_bounded(r->body ? r->body : "", r->body_len, JSON_DEPTH_MAX, true, &j,
                               &err) < 0) {
                api_reply_error(r, 400, "invalid request body: %s", err.message);
                return NULL;
        }
        return j;
}

static bool peer_is_root(struct MHD_Connection *c)
{
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        struct ucred cred;
        socklen_t len = sizeof(cred);
        if (!ci || getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return false;
        return cred.uid == 0;
}

static void fill_remote(struct api_req *r)
{
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        snprintf(r->remote, sizeof(r->remote), "unknown");
        if (r->listener->is_unix) {
                snprintf(r->remote, sizeof(r->remote), "unix");
                return;
        }
        if (!ci || !ci->client_addr)
                return;
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
                inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, r->remote,
                          sizeof(r->remote));
        else if (sa->sa_family == AF_INET6)
                inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, r->remote,
                          sizeof(r->remote));
}

static bool is_preflight(struct api_req *r)
{
        return streq(r->method, "OPTIONS") && api_req_header(r, "Origin") &&
               api_req_header(r, "Access-Control-Request-Method");
}

static void reply_preflight(struct api_req *r)
{
        const char *req_headers = api_req_header(r, "Access-Control-Request-Headers");
        const char *h[] = {"Access-Control-Allow-Methods",
                           "HEAD, GET, POST, PUT, PATCH, DELETE",
                           "Access-Control-Allow-Headers",
                           req_headers ? req_headers : "",
                           "Vary",
                           "Access-Control-Request-Method, Access-Control-Request-Headers",
                           NULL};
        if (!req_headers)
                h[2] = NULL;
        api_reply_bytes(r, 204, NULL, "", 0, h);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **req_cls)
{
        struct http_listener *l = cls;
        struct http_server *s = l->server;
        struct api_req *r = *req_cls;

        if (!r) {
                r = xcalloc(1, sizeof(*r));
                r->conn = conn;
                r->listener = l;
                r->server = s;
                r->method = method;
                *req_cls = r;
                fill_remote(r);
                if (l->is_unix && !peer_is_root(conn)) {
                        api_reply_error(r, 403,
                                        "the admin socket is for root only: use the HTTP API "
                                        "with a session token");
                        return MHD_YES;
                }
                r->via_admin = l->is_unix;
                if (strlen(url) > ROUTER_PATH_MAX) {
                        api_reply_error(r, 414, "request path longer than %d bytes",
                                        ROUTER_PATH_MAX);
                        return MHD_YES;
                }
                snprintf(r->path, sizeof(r->path), "%s", url);
                const char *cl =
                    MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
                unsigned long long len = cl ? strtoull(cl, NULL, 10) : 0;
                if (len > HTTP_DRAIN_MAX) {
                        /* far too large to read: answer now and close */
                        api_reply_error(r, 413,
                                        "request body of %s bytes is too large: at most "
                                        "%zu bytes are accepted",
                                        cl, s->body_max);
                        return MHD_YES;
                }
                /* slightly too large: read and discard it, then answer 413, so
                 * the client (still sending) is not reset before it reads why */
                if (len > s->body_max)
                        r->body_too_large = true;
                return MHD_YES;
        }

        if (*upload_data_size > 0) {
                size_t n = *upload_data_size;
                *upload_data_size = 0;
                if (r->finished || r->body_too_large)
                        return MHD_YES; /* already refused: discard */
                if (r->body_len + n > s->body_max) {
                        /* MHD answers only once the upload has ended: keep reading
                         * and discarding (memory stays bounded), then reply 413. */
                        free(r->body);
                        r->body = NULL;
                        r->body_len = 0;
                        r->body_too_large = true;
                        return MHD_YES;
                }
                r->body = xrealloc(r->body, r->body_len + n + 1);
                memcpy(r->body + r->body_len, upload_data, n);
                r->body_len += n;
                r->body[r->body_len] = 0;
                return MHD_YES;
        }

        if (r->pending) { /* resumed after an asynchronous reply */
                struct MHD_Response *resp = r->pending;
                r->pending = NULL;
                enum MHD_Result res = MHD_queue_response(conn, r->pending_status, resp);
                MHD_destroy_response(resp);
                return res;
        }
        if (r->dispatched || r->finished)
                return MHD_YES;
        r->dispatched = true;
        if (r->body_too_large) {
                api_reply_error(r, 413, "request body is too large: at most %zu bytes are accepted",
                                s->body_max);
                return MHD_YES;
        }
        if (!l->is_unix && is_preflight(r))
                reply_preflight(r);
        else
                s->dispatch(r, s->userdata);
        if (!r->finished && !r->suspended)
                api_reply_error(r, 500, "internal error: the handler gave no answer");
        return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
        struct api_req *r = *req_cls;
        if (!r)
                return;
        if (r->pending)
                MHD_destroy_response(r->pending);
        free(r->body);
        free(r);
        *req_cls = NULL;
}

static int listener_start(struct http_server *s, int fd, bool is_unix, const char *unix_path,
                          struct dbx_error *err)
{
        if (s->n >= HTTP_LISTENERS_MAX) {
                close(fd);
                return dbx_error_set(err, -E2BIG, "", "at most %d listeners are supported",
                                     HTTP_LISTENERS_MAX);
        }
        struct http_listener *l = xcalloc(1, sizeof(*l));
        l->server = s;
        l->fd = fd;
        l->is_unix = is_unix;
        l->unix_path = unix_path ? xstrdup(unix_path) : NULL;
        l->mhd = MHD_start_daemon(
            MHD_USE_EPOLL | MHD_ALLOW_UPGRADE | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO, 0, NULL,
            NULL, on_access, l, MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED,
            on_completed, l, MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONNECTIONS_MAX,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)HTTP_IDLE_TIMEOUT_S, MHD_OPTION_END);
        if (!l->mhd) {
                close(fd);
                free(l->unix_path);
                free(l);
                return dbx_error_set(err, -EIO, "", "cannot start the HTTP server");
        }
        const union MHD_DaemonInfo *di = MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_EPOLL_FD);
        int r = sd_event_add_io(s->event, &l->io, di->epoll_fd, EPOLLIN, on_io, l);
        if (r >= 0)
                r = sd_event_add_time(s->event, &l->timer, CLOCK_MONOTONIC, 0, 1000, on_timer, l);
        if (r < 0)
                return dbx_error_set(err, r, "", "cannot watch the HTTP server: %s", strerror(-r));
        sd_event_source_set_enabled(l->timer, SD_EVENT_OFF);
        s->listeners[s->n++] = l;
        listener_schedule(l);
        return 0;
}

int http_server_new(sd_event *e, http_dispatch_fn fn, void *userdata, size_t body_max,
                    struct http_server **ret)
{
        struct http_server *s = xcalloc(1, sizeof(*s));
        s->event = sd_event_ref(e);
        s->dispatch = fn;
        s->userdata = userdata;
        s->body_max = body_max ? body_max : HTTP_BODY_MAX_DEFAULT;
        *ret = s;
        return 0;
}

void http_server_set_userdata(struct http_server *s, void *userdata)
{
        s->userdata = userdata;
}

struct http_server *http_server_free(struct http_server *s)
{
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n; i++) {
                struct http_listener *l = s->listeners[i];
                sd_event_source_disable_unref(l->io);
                sd_event_source_disable_unref(l->timer);
                MHD_stop_daemon(l->mhd);
                close(l->fd);
                if (l->unix_path)
                        unlink(l->unix_path);
                free(l->unix_path);
                free(l);
        }
        sd_event_unref(s->event);
        free(s);
        return NULL;
}

int http_server_listen_tcp(struct http_server *s, const char *addr_port, struct dbx_error *err)
{
        char host[128];
        const char *colon = strrchr(addr_port, ':');
        union {
                struct sockaddr sa;
                struct sockaddr_in in4;
                struct sockaddr_in6 in6;
        } sa = {0};
        socklen_t salen;

        if (!colon || colon == addr_port || (size_t)(colon - addr_port) >= sizeof(host))
                return dbx_error_set(err, -EINVAL, "", "--listen %s: expected ADDR:PORT",
                                     addr_port);
        char *end;
        unsigned long port = strtoul(colon + 1, &end, 10);
        if (!colon[1] || *end || port > 65535)
                return dbx_error_set(err, -EINVAL, "", "--listen %s: port must be a number 0-65535",
                                     addr_port);
        snprintf(host, sizeof(host), "%.*s", (int)(colon - addr_port), addr_port);
        if (host[0] == '[' && host[strlen(host) - 1] == ']') {
                memmove(host, host + 1, strlen(host));
                host[strlen(host) - 1] = 0;
        }
        if (inet_pton(AF_INET, host, &sa.in4.sin_addr) == 1) {
                sa.in4.sin_family = AF_INET;
                sa.in4.sin_port = htons((uint16_t)port);
                salen = sizeof(sa.in4);
        } else if (inet_pton(AF_INET6, host, &sa.in6.sin6_addr) == 1) {
                sa.in6.sin6_family = AF_INET6;
                sa.in6.sin6_port = htons((uint16_t)port);
                salen = sizeof(sa.in6);
        } else
                return dbx_error_set(err, -EINVAL, "",
                                     "--listen %s: '%s' is not an IPv4 or IPv6 address", addr_port,
                                     host);

        int fd = socket(sa.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return dbx_error_set(err, -errno, "", "socket: %s", strerror(errno));
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (sa.sa.sa_family == AF_INET6)
                setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        if (bind(fd, &sa.sa, salen) < 0 || listen(fd, HTTP_LISTEN_BACKLOG) < 0) {
                int e = errno;
                close(fd);
                return dbx_error_set(err, -e, "", "cannot listen on %s: %s%s", addr_port,
                                     strerror(e),
                                     e == EADDRINUSE ? " (is another dogeboxd running?)" : "");
        }
        struct sockaddr_storage bound;
        socklen_t blen = sizeof(bound);
        getsockname(fd, (struct sockaddr *)&bound, &blen);
        int r = listener_start(s, fd, false, NULL, err);
        if (r < 0)
                return r;
        s->listeners[s->n - 1]->port =
            ntohs(bound.ss_family == AF_INET ? ((struct sockaddr_in *)&bound)->sin_port
                                             : ((struct sockaddr_in6 *)&bound)->sin6_port);
        return 0;
}

int http_server_listen_unix(struct http_server *s, const char *path, struct dbx_error *err)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(path) >= sizeof(sa.sun_path))
                return dbx_error_set(err, -ENAMETOOLONG, "",
                                     "admin socket path %s is longer than %zu bytes", path,
                                     sizeof(sa.sun_path) - 1);
        strcpy(sa.sun_path, path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return dbx_error_set(err, -errno, "", "socket: %s", strerror(errno));
        /* A stale socket from a crashed daemon: only remove it if nobody answers. */
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
                close(probe);
                close(fd);
                return dbx_error_set(err, -EADDRINUSE, "",
                                     "admin socket %s is in use (is another dogeboxd running?)",
                                     path);
        }
        if (probe >= 0)
                close(probe);
        unlink(path);
        int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
        if (r < 0 || chmod(path, 0666) < 0 || listen(fd, HTTP_LISTEN_BACKLOG) < 0) {
                int e = errno;
                close(fd);
                return dbx_error_set(err, -e, "", "cannot create admin socket %s: %s", path,
                                     strerror(e));
        }
        return listener_start(s, fd, true, path, err);
}

int http_server_port(struct http_server *s, size_t i)
{
        size_t k = 0;
        for (size_t j = 0; j < s->n; j++) {
                if (s->listeners[j]->is_unix)
                        continue;
                if (k++ == i)
                        return s->listeners[j]->port;
        }
        return -ENOENT;
}
