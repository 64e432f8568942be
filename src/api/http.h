/* The HTTP server: libmicrohttpd in external-epoll mode driven by the
 * sd-event loop, one MHD daemon per listening socket (TCP listeners and
 * the root-only admin Unix socket). It reads bodies up to a limit, answers
 * CORS preflights, and hands each complete request to a dispatch callback.
 * Handlers answer with the api_reply_* functions, at once or later (after
 * api_req_suspend) from the loop thread. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-event.h>
#include "api/router.h"
#include "core/error.h"

#define HTTP_BODY_MAX_DEFAULT (1024 * 1024) /* 1 MiB: no API body is larger */
#define HTTP_CONNECTIONS_MAX  512           /* per listener; beyond that MHD refuses */
#define HTTP_IDLE_TIMEOUT_S   120           /* idle keep-alive connections are closed */
#define HTTP_LISTENERS_MAX    8
#define HTTP_DRAIN_MAX        (16 * 1024 * 1024) /* a too-large body up to this is read and dropped */

struct MHD_Connection;
struct http_server;
struct http_listener;

struct api_req {
        struct MHD_Connection *conn;
        struct http_listener *listener;
        struct http_server *server;
        const char *method;
        char path[ROUTER_PATH_MAX + 1];
        char *body;
        size_t body_len;
        bool body_too_large;
        bool via_admin;  /* came over the admin socket from uid 0 */
        char remote[64]; /* client IP (TCP) or "unix" */
        struct route_match match;
        void *session; /* set by the auth layer */
        /* response state */
        bool dispatched, suspended, finished;
        void *pending; /* struct MHD_Response * queued on resume */
        unsigned pending_status;
        /* For WebSocket upgrades: what to do with the socket. */
        void (*upgrade_cb)(void *userdata, int fd, const char *extra, size_t extra_len, void *urh);
        void *upgrade_userdata;
        void *ctx; /* the dispatcher's context */
};

typedef void (*http_dispatch_fn)(struct api_req *req, void *userdata);

int http_server_new(sd_event *e, http_dispatch_fn fn, void *userdata, size_t body_max,
                    struct http_server **ret);
struct http_server *http_server_free(struct http_server *s);
/* The dispatch callback's userdata (set before the loop runs). */
void http_server_set_userdata(struct http_server *s, void *userdata);
/* "ADDR:PORT" or "[V6]:PORT". Binds now: -EADDRINUSE etc. with a message. */
int http_server_listen_tcp(struct http_server *s, const char *addr_port, struct dbx_error *err);
/* Admin socket: anyone may connect (mode 0666) so that a non-root client
 * gets a clear 403 instead of EACCES; only uid 0 (SO_PEERCRED) is served. */
int http_server_listen_unix(struct http_server *s, const char *path, struct dbx_error *err);
/* Actual bound port of the i-th TCP listener (for --listen ...:0). */
int http_server_port(struct http_server *s, size_t i);

/* Header and query access (NULL when absent). */
const char *api_req_header(struct api_req *r, const char *name);
const char *api_req_query(struct api_req *r, const char *name);

/* Replies. Each may be called once per request; json is stolen. */
void api_reply_json(struct api_req *r, unsigned status, json_t *json);
void api_reply_error(struct api_req *r, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void api_reply_bytes(struct api_req *r, unsigned status, const char *content_type, const void *data,
                     size_t len, const char *const *extra_headers);
/* Keep the connection open until a reply is sent later from the loop. */
void api_req_suspend(struct api_req *r);
/* Answer 101 and hand the socket to cb (WebSocket). extra_headers pairs. */
void api_reply_upgrade(struct api_req *r, const char *const *headers,
                       void (*cb)(void *userdata, int fd, const char *extra, size_t extra_len,
                                  void *urh),
                       void *userdata);
/* Close an upgraded socket handed out by api_reply_upgrade. */
void http_upgrade_close(void *urh);

/* Parse the body as a JSON object; on failure replies 400 itself and
 * returns NULL. */
json_t *api_req_json(struct api_req *r);
