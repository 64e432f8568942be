#include <fcntl.h>
#include <nettle/base64.h>
#include <nettle/sha1.h>
#include <sys/socket.h>
#include <wslay/wslay.h>
#include "api/ws.h"
#include "core/macro.h"
#include "core/util.h"

#define WS_GUID        "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_PREREAD_MAX 4096 /* bytes MHD read past the handshake; a client can't send more */

struct ws_conn {
        struct ws_conn *prev, *next;
        struct ws_hub *hub;
        wslay_event_context_ptr ctx;
        int fd;
        void *urh;
        sd_event_source *io;
        unsigned channel;
        char key[WS_KEY_MAX];
        char preread[WS_PREREAD_MAX];
        size_t preread_len, preread_off;
        bool dead;
        json_t *pending; /* array: messages waiting for the socket to be handed over */
};

struct ws_hub {
        sd_event *event;
        struct ws_conn *conns;
        size_t n;
        uint64_t seq;
        sd_event_source *ping;
};

static void conn_update(struct ws_conn *c);

static void conn_free(struct ws_conn *c)
{
        struct ws_hub *h = c->hub;
        if (c->prev)
                c->prev->next = c->next;
        else if (h->conns == c)
                h->conns = c->next;
        if (c->next)
                c->next->prev = c->prev;
        h->n--;
        sd_event_source_disable_unref(c->io);
        if (c->ctx)
                wslay_event_context_free(c->ctx);
        if (c->urh)
                http_upgrade_close(c->urh);
        json_decref(c->pending);
        free(c);
}

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                       void *user_data)
{
        struct ws_conn *c = user_data;
        if (c->preread_off < c->preread_len) {
                size_t n = MIN(len, c->preread_len - c->preread_off);
                memcpy(buf, c->preread + c->preread_off, n);
                c->preread_off += n;
                return (ssize_t)n;
        }
        ssize_t r;
        do
                r = recv(c->fd, buf, len, 0);
        while (r < 0 && errno == EINTR);
        if (r < 0) {
                wslay_event_set_error(ctx, (errno == EAGAIN || errno == EWOULDBLOCK)
                                               ? WSLAY_ERR_WOULDBLOCK
                                               : WSLAY_ERR_CALLBACK_FAILURE);
                return -1;
        }
        if (r == 0) {
                wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
                return -1;
        }
        return r;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *user_data)
{
        struct ws_conn *c = user_data;
        ssize_t r;
        do
                r = send(c->fd, data, len, MSG_NOSIGNAL);
        while (r < 0 && errno == EINTR);
        if (r < 0) {
                wslay_event_set_error(ctx, (errno == EAGAIN || errno == EWOULDBLOCK)
                                               ? WSLAY_ERR_WOULDBLOCK
                                               : WSLAY_ERR_CALLBACK_FAILURE);
                return -1;
        }
        return r;
}

static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *user_data)
{
        /* Server → client only, as upstream: text from clients is ignored.
         * Pings are answered and close frames handled by wslay itself. */
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct ws_conn *c = userdata;
        if (revents & (EPOLLERR | EPOLLHUP))
                c->dead = true;
        if (!c->dead && (revents & EPOLLIN) && wslay_event_recv(c->ctx) != 0)
                c->dead = true;
        if (!c->dead && (revents & EPOLLOUT) && wslay_event_send(c->ctx) != 0)
                c->dead = true;
        conn_update(c);
        return 0;
}

/* Recompute the epoll mask, or free a connection that is finished. */
static void conn_update(struct ws_conn *c)
{
        if (!c->dead && !wslay_event_want_read(c->ctx) && !wslay_event_want_write(c->ctx))
                c->dead = true;
        if (c->dead) {
                conn_free(c);
                return;
        }
        uint32_t ev = 0;
        if (wslay_event_want_read(c->ctx))
                ev |= EPOLLIN;
        if (wslay_event_want_write(c->ctx))
                ev |= EPOLLOUT;
        sd_event_source_set_io_events(c->io, ev);
}

/* Queue one text message; a client over its queue limit is cut off. */
static void conn_queue(struct ws_conn *c, const char *text, size_t len)
{
        if (c->dead)
                return;
        if (wslay_event_get_queued_msg_count(c->ctx) >= WS_QUEUE_MSGS_MAX ||
            wslay_event_get_queued_msg_length(c->ctx) + len > WS_QUEUE_BYTES_MAX) {
                c->dead = true; /* a slow reader: never buffer without bound */
                return;
        }
        struct wslay_event_msg m = {WSLAY_TEXT_FRAME, (const uint8_t *)text, len};
        if (wslay_event_queue_msg(c->ctx, &m) != 0)
                c->dead = true;
}

static void on_upgraded(void *userdata, int fd, const char *extra, size_t extra_len, void *urh)
{
        struct ws_conn *c = userdata;
        struct ws_hub *h = c->hub;
        static const struct wslay_event_callbacks cbs = {
            .recv_callback = recv_cb,
            .send_callback = send_cb,
            .on_msg_recv_callback = on_msg,
        };
        c->fd = fd;
        c->urh = urh;
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        if (extra_len > sizeof(c->preread)) {
                c->dead = true;
        } else {
                memcpy(c->preread, extra, extra_len);
                c->preread_len = extra_len;
        }
        if (wslay_event_context_server_init(&c->ctx, &cbs, c) != 0)
                abort();
        wslay_event_config_set_max_recv_msg_length(c->ctx, WS_RECV_MSG_MAX);
        if (sd_event_add_io(h->event, &c->io, fd, EPOLLIN, on_io, c) < 0)
                c->dead = true;
        for (size_t i = 0; i < json_array_size(c->pending); i++) {
                char *s = json_dumps(json_array_get(c->pending, i), JSON_COMPACT | JSON_ENCODE_ANY);
                conn_queue(c, s, strlen(s));
                free(s);
        }
        json_decref(c->pending);
        c->pending = NULL;
        if (extra_len && !c->dead && wslay_event_recv(c->ctx) != 0)
                c->dead = true;
        conn_update(c);
}

static void accept_key(const char *key, char out[BASE64_ENCODE_RAW_LENGTH(SHA1_DIGEST_SIZE) + 1])
{
        struct sha1_ctx sha;
        uint8_t digest[SHA1_DIGEST_SIZE];
        sha1_init(&sha);
        sha1_update(&sha, strlen(key), (const uint8_t *)key);
        sha1_update(&sha, strlen(WS_GUID), (const uint8_t *)WS_GUID);
        sha1_digest(&sha, sizeof(digest), digest);
        base64_encode_raw((char *)out, sizeof(digest), digest);
        out[BASE64_ENCODE_RAW_LENGTH(SHA1_DIGEST_SIZE)] = 0;
}

static bool header_has_token(const char *v, const char *token)
{
        /* comma separated, case-insensitive ("keep-alive, Upgrade") */
        size_t tl = strlen(token);
        for (const char *p = v; p && *p;) {
                while (*p == ' ' || *p == ',')
                        p++;
                if (!strncasecmp(p, token, tl) && (p[tl] == 0 || p[tl] == ',' || p[tl] == ' '))
                        return true;
                p = strchr(p, ',');
        }
        return false;
}

void ws_accept(struct ws_hub *h, struct api_req *req, unsigned channel, const char *key,
               json_t *first)
{
        json_t *msgs = json_array();
        if (first)
                json_array_append_new(msgs, first);
        ws_accept_backlog(h, req, channel, key, msgs);
}

void ws_accept_backlog(struct ws_hub *h, struct api_req *req, unsigned channel, const char *key,
                       json_t *msgs)
{
        const char *upgrade = api_req_header(req, "Upgrade");
        const char *connection = api_req_header(req, "Connection");
        const char *version = api_req_header(req, "Sec-WebSocket-Version");
        const char *wskey = api_req_header(req, "Sec-WebSocket-Key");

        if (!streq(req->method, "GET") || !upgrade || strcasecmp(upgrade, "websocket") ||
            !connection || !header_has_token(connection, "upgrade") || !wskey ||
            strlen(wskey) > 64) {
                json_decref(msgs);
                api_reply_error(req, 400,
                                "a WebSocket upgrade (GET with Upgrade: websocket and "
                                "Sec-WebSocket-Key) is expected here");
                return;
        }
        if (!version || !streq(version, "13")) {
                json_decref(msgs);
                const char *hdr[] = {"Sec-WebSocket-Version", "13", NULL};
                api_reply_bytes(req, 426, "application/json",
                                "{\"error\":{\"code\":426,\"message\":\"WebSocket version 13 "
                                "is required\"}}",
                                strlen("{\"error\":{\"code\":426,\"message\":\"WebSocket version "
                                       "13 is required\"}}"),
                                hdr);
                return;
        }
        if (h->n >= WS_CLIENTS_MAX) {
                json_decref(msgs);
                api_reply_error(req, 503, "too many WebSocket clients (at most %d)",
                                WS_CLIENTS_MAX);
                return;
        }
        char accept[BASE64_ENCODE_RAW_LENGTH(SHA1_DIGEST_SIZE) + 1];
        accept_key(wskey, accept);
        struct ws_conn *c = xcalloc(1, sizeof(*c));
        c->hub = h;
        c->fd = -1;
        c->channel = channel;
        snprintf(c->key, sizeof(c->key), "%s", key ? key : "");
        c->pending = msgs;
        c->next = h->conns;
        if (h->conns)
                h->conns->prev = c;
        h->conns = c;
        h->n++;
        const char *hdrs[] = {
            "Upgrade", "websocket", "Connection", "Upgrade", "Sec-WebSocket-Accept", accept, NULL};
        api_reply_upgrade(req, hdrs, on_upgraded, c);
}

json_t *ws_envelope(struct ws_hub *h, const char *id, const char *type, json_t *update,
                    const char *error)
{
        return json_pack("{s:s,s:I,s:I,s:s,s:s,s:o}", "id", id, "seq", (json_int_t)++h->seq, "ts",
                         (json_int_t)now_ms(), "error", error ? error : "", "type", type, "update",
                         update ? update : json_null());
}

void ws_hub_send(struct ws_hub *h, unsigned channels, const char *key, json_t *msg)
{
        char *s = NULL;
        size_t len = 0;
        for (struct ws_conn *c = h->conns, *next; c; c = next) {
                next = c->next;
                if (!(c->channel & channels))
                        continue;
                if (key && !streq(c->key, key))
                        continue;
                if (!c->ctx) { /* upgrade not finished: keep order, bounded */
                        if (!c->dead && c->pending &&
                            json_array_size(c->pending) < WS_QUEUE_MSGS_MAX)
                                json_array_append(c->pending, msg);
                        continue;
                }
                if (!s) {
                        s = json_dumps(msg, JSON_COMPACT | JSON_ENCODE_ANY);
                        len = strlen(s);
                }
                conn_queue(c, s, len);
                conn_update(c);
        }
        free(s);
        json_decref(msg);
}

void ws_hub_broadcast(struct ws_hub *h, unsigned channels, const char *id, const char *type,
                      json_t *update, const char *error)
{
        ws_hub_send(h, channels, NULL, ws_envelope(h, id, type, update, error));
}

static int on_ping(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct ws_hub *h = userdata;
        for (struct ws_conn *c = h->conns, *next; c; c = next) {
                next = c->next;
                if (!c->ctx)
                        continue;
                struct wslay_event_msg m = {WSLAY_PING, (const uint8_t *)"", 0};
                if (wslay_event_queue_msg(c->ctx, &m) != 0)
                        c->dead = true;
                conn_update(c);
        }
        sd_event_source_set_time(s, usec + WS_PING_INTERVAL_S * 1000000ULL);
        return 0;
}

int ws_hub_new(sd_event *e, struct ws_hub **ret)
{
        struct ws_hub *h = xcalloc(1, sizeof(*h));
        uint64_t now;
        h->event = sd_event_ref(e);
        sd_event_now(e, CLOCK_MONOTONIC, &now);
        int r = sd_event_add_time(e, &h->ping, CLOCK_MONOTONIC,
                                  now + WS_PING_INTERVAL_S * 1000000ULL, 1000000, on_ping, h);
        if (r < 0) {
                sd_event_unref(h->event);
                free(h);
                return r;
        }
        sd_event_source_set_enabled(h->ping, SD_EVENT_ON);
        *ret = h;
        return 0;
}

size_t ws_hub_clients(struct ws_hub *h)
{
        return h->n;
}

struct ws_hub *ws_hub_free(struct ws_hub *h)
{
        if (!h)
                return NULL;
        while (h->conns)
                conn_free(h->conns);
        sd_event_source_disable_unref(h->ping);
        sd_event_unref(h->event);
        free(h);
        return NULL;
}
