#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <nettle/base64.h>
#include <nettle/sha1.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <wslay/wslay.h>
#include "cli/wsclient.h"
#include "core/macro.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

struct msg {
        struct msg *next;
        char *data;
        size_t len;
};

struct wsclient {
        int fd;
        wslay_event_context_ptr ctx;
        char *pre; /* bytes read past the handshake: the first frames */
        size_t pre_len, pre_off;
        struct msg *head, *tail;
        size_t nmsgs;
        bool overflow, closed;
};

static long long mono_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Remaining ms until deadline (deadline < 0: forever, returns -1). */
static int remaining(long long deadline)
{
        if (deadline < 0)
                return -1;
        long long r = deadline - mono_ms();
        return r < 0 ? 0 : (int)MIN(r, (long long)INT32_MAX);
}

static ssize_t recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                       void *user_data)
{
        struct wsclient *w = user_data;
        if (w->pre_off < w->pre_len) {
                size_t n = MIN(len, w->pre_len - w->pre_off);
                memcpy(buf, w->pre + w->pre_off, n);
                w->pre_off += n;
                return (ssize_t)n;
        }
        ssize_t r;
        do
                r = recv(w->fd, buf, len, MSG_DONTWAIT);
        while (r < 0 && errno == EINTR);
        if (r < 0) {
                wslay_event_set_error(ctx, (errno == EAGAIN || errno == EWOULDBLOCK)
                                               ? WSLAY_ERR_WOULDBLOCK
                                               : WSLAY_ERR_CALLBACK_FAILURE);
                return -1;
        }
        if (r == 0) {
                w->closed = true;
                wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
                return -1;
        }
        return r;
}

static ssize_t send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *user_data)
{
        struct wsclient *w = user_data;
        ssize_t r;
        do
                r = send(w->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        while (r < 0 && errno == EINTR);
        if (r < 0) {
                wslay_event_set_error(ctx, (errno == EAGAIN || errno == EWOULDBLOCK)
                                               ? WSLAY_ERR_WOULDBLOCK
                                               : WSLAY_ERR_CALLBACK_FAILURE);
                return -1;
        }
        return r;
}

static int genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *user_data)
{
        return getrandom(buf, len, 0) == (ssize_t)len ? 0 : -1;
}

static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *user_data)
{
        struct wsclient *w = user_data;
        if (arg->opcode != WSLAY_TEXT_FRAME)
                return; /* pings are answered by wslay; close is seen via the context */
        if (w->nmsgs >= WSCLIENT_QUEUE_MAX) {
                w->overflow = true;
                return;
        }
        struct msg *m = xcalloc(1, sizeof(*m));
        m->data = xstrndup((const char *)arg->msg, arg->msg_length);
        m->len = arg->msg_length;
        if (w->tail)
                w->tail->next = m;
        else
                w->head = m;
        w->tail = m;
        w->nmsgs++;
}

/* Parse "http://host[:port][/...]" into host and port. */
static int parse_url(const char *url, char *host, size_t host_size, char *port, size_t port_size,
                     char *err, size_t err_size)
{
        const char *p;
        if (!strncasecmp(url, "http://", 7))
                p = url + 7;
        else {
                snprintf(err, err_size,
                         "%s: only http:// URLs are supported (or the admin socket as root)", url);
                return -EINVAL;
        }
        const char *end = p + strcspn(p, "/?#");
        const char *colon = NULL;
        if (*p == '[') { /* [v6]:port */
                const char *rb = memchr(p, ']', (size_t)(end - p));
                if (!rb) {
                        snprintf(err, err_size, "%s: unterminated [IPv6] address", url);
                        return -EINVAL;
                }
                snprintf(host, host_size, "%.*s", (int)(rb - p - 1), p + 1);
                colon = rb[1] == ':' ? rb + 1 : NULL;
        } else {
                colon = memchr(p, ':', (size_t)(end - p));
                snprintf(host, host_size, "%.*s", (int)((colon ? colon : end) - p), p);
        }
        if (colon)
                snprintf(port, port_size, "%.*s", (int)(end - colon - 1), colon + 1);
        else
                snprintf(port, port_size, "80");
        if (!host[0] || !port[0]) {
                snprintf(err, err_size, "%s: expected http://HOST[:PORT]", url);
                return -EINVAL;
        }
        return 0;
}

static int wait_fd(int fd, short events, long long deadline)
{
        struct pollfd p = {.fd = fd, .events = events};
        for (;;) {
                int r = poll(&p, 1, remaining(deadline));
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return -errno;
                if (r == 0)
                        return -ETIMEDOUT;
                return 0;
        }
}

static int connect_fd(const struct dbx_client *c, char *host_hdr, size_t host_size,
                      long long deadline, char *err, size_t err_size)
{
        if (!c->url) {
                struct sockaddr_un sa = {.sun_family = AF_UNIX};
                if (strlen(c->socket) >= sizeof(sa.sun_path)) {
                        snprintf(err, err_size, "admin socket path %s is too long", c->socket);
                        return -ENAMETOOLONG;
                }
                strcpy(sa.sun_path, c->socket);
                int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd < 0)
                        return -errno;
                if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
                        int e = errno;
                        close(fd);
                        snprintf(err, err_size,
                                 "cannot reach dogeboxd at %s: %s (is the daemon running?)",
                                 c->socket, strerror(e));
                        return -e;
                }
                snprintf(host_hdr, host_size, "dogeboxd");
                return fd;
        }
        char host[256], port[16];
        int r = parse_url(c->url, host, sizeof(host), port, sizeof(port), err, err_size);
        if (r < 0)
                return r;
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
        r = getaddrinfo(host, port, &hints, &ai);
        if (r != 0) {
                snprintf(err, err_size, "cannot resolve %s: %s", host, gai_strerror(r));
                return -EHOSTUNREACH;
        }
        int fd = -1, e = ECONNREFUSED;
        for (struct addrinfo *a = ai; a && fd < 0; a = a->ai_next) {
                fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
                if (fd < 0) {
                        e = errno;
                        continue;
                }
                if (connect(fd, a->ai_addr, a->ai_addrlen) < 0 && errno != EINPROGRESS) {
                        e = errno;
                        close(fd);
                        fd = -1;
                        continue;
                }
                int so = 0;
                socklen_t sl = sizeof(so);
                r = wait_fd(fd, POLLOUT, deadline);
                if (r == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl) == 0 && so == 0)
                        break;
                e = r < 0 ? -r : so;
                close(fd);
                fd = -1;
        }
        freeaddrinfo(ai);
        if (fd < 0) {
                snprintf(err, err_size, "cannot reach dogeboxd at %s: %s", c->url, strerror(e));
                return -e;
        }
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        snprintf(host_hdr, host_size, "%s:%s", host, port);
        return fd;
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

/* Value of header name in the raw response head, or NULL (static copy). */
static const char *find_header(const char *head, const char *name, char *buf, size_t size)
{
        size_t nl = strlen(name);
        for (const char *p = strstr(head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
                const char *line = p + 2;
                if (!strncasecmp(line, name, nl) && line[nl] == ':') {
                        const char *v = line + nl + 1;
                        while (*v == ' ' || *v == '\t')
                                v++;
                        size_t vl = strcspn(v, "\r\n");
                        snprintf(buf, size, "%.*s", (int)vl, v);
                        return buf;
                }
        }
        return NULL;
}

static int send_all(int fd, const char *s, size_t len, long long deadline)
{
        while (len > 0) {
                ssize_t n = send(fd, s, len, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                        int r = wait_fd(fd, POLLOUT, deadline);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                s += n;
                len -= (size_t)n;
        }
        return 0;
}

static char *url_token(const char *token)
{
        static const char hex[] = "0123456789ABCDEF";
        char *out = xmalloc(strlen(token) * 3 + 1), *o = out;
        for (const unsigned char *p = (const unsigned char *)token; *p; p++) {
                if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' || *p == '~')
                        *o++ = (char)*p;
                else {
                        *o++ = '%';
                        *o++ = hex[*p >> 4];
                        *o++ = hex[*p & 15];
                }
        }
        *o = 0;
        return out;
}

int wsclient_connect(const struct dbx_client *c, const char *path, struct wsclient **ret, char *err,
                     size_t err_size)
{
        long long deadline = mono_ms() + WSCLIENT_CONNECT_MS;
        char host[300];
        _cleanup_close_ int fd = connect_fd(c, host, sizeof(host), deadline, err, err_size);
        if (fd < 0)
                return fd;

        uint8_t raw[16];
        char key[BASE64_ENCODE_RAW_LENGTH(16) + 1], want[BASE64_ENCODE_RAW_LENGTH(20) + 1];
        if (getrandom(raw, sizeof(raw), 0) != sizeof(raw))
                return -EIO;
        base64_encode_raw(key, sizeof(raw), raw);
        key[BASE64_ENCODE_RAW_LENGTH(16)] = 0;
        accept_key(key, want);

        _cleanup_free_ char *target = NULL;
        if (c->url && c->token) {
                _cleanup_free_ char *t = url_token(c->token);
                target = xasprintf("%s%stoken=%s", path, strchr(path, '?') ? "&" : "?", t);
        } else
                target = xstrdup(path);
        _cleanup_free_ char *req = xasprintf("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                                             "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                                             "Sec-WebSocket-Version: 13\r\n\r\n",
                                             target, host, key);
        int r = send_all(fd, req, strlen(req), deadline);
        if (r < 0) {
                snprintf(err, err_size, "cannot send the WebSocket request: %s", strerror(-r));
                return r;
        }

        /* Read the response head (and maybe some frames past it). */
        _cleanup_free_ char *buf = xmalloc(WSCLIENT_HEADER_MAX + 1);
        size_t len = 0;
        char *end = NULL;
        while (!end) {
                if (len == WSCLIENT_HEADER_MAX) {
                        snprintf(err, err_size, "the WebSocket handshake response is too long");
                        return -EBADMSG;
                }
                r = wait_fd(fd, POLLIN, deadline);
                if (r < 0) {
                        snprintf(err, err_size, "no WebSocket handshake answer from dogeboxd: %s",
                                 strerror(-r));
                        return r;
                }
                ssize_t n = recv(fd, buf + len, WSCLIENT_HEADER_MAX - len, MSG_DONTWAIT);
                if (n < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (n <= 0) {
                        snprintf(err, err_size,
                                 "dogeboxd closed the connection during the "
                                 "WebSocket handshake");
                        return -ECONNRESET;
                }
                len += (size_t)n;
                buf[len] = 0;
                end = strstr(buf, "\r\n\r\n");
        }
        size_t head_len = (size_t)(end - buf) + 4;
        int status = 0;
        if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) {
                snprintf(err, err_size, "not an HTTP answer to the WebSocket request");
                return -EBADMSG;
        }
        if (status != 101) {
                /* The API's error body, if any: {"error":{"message":...}}. */
                char cl[32];
                size_t body_len = find_header(buf, "Content-Length", cl, sizeof(cl))
                                      ? (size_t)strtoul(cl, NULL, 10)
                                      : 0;
                body_len = MIN(body_len, (size_t)WSCLIENT_HEADER_MAX - head_len);
                while (len < head_len + body_len && wait_fd(fd, POLLIN, deadline) == 0) {
                        ssize_t n = recv(fd, buf + len, head_len + body_len - len, MSG_DONTWAIT);
                        if (n <= 0)
                                break;
                        len += (size_t)n;
                }
                buf[MIN(len, head_len + body_len)] = 0;
                json_t *j = json_loads(buf + head_len, 0, NULL);
                char msg[512];
                client_error_message(j, status, msg, sizeof(msg));
                json_decref(j);
                snprintf(err, err_size, "%s", msg);
                return status == 401 || status == 403 ? -EACCES : status == 404 ? -ENOENT : -EPROTO;
        }
        char got[128];
        if (!find_header(buf, "Sec-WebSocket-Accept", got, sizeof(got)) || !streq(got, want)) {
                snprintf(err, err_size,
                         "dogeboxd answered the WebSocket handshake wrongly "
                         "(Sec-WebSocket-Accept)");
                return -EPROTO;
        }

        struct wsclient *w = xcalloc(1, sizeof(*w));
        static const struct wslay_event_callbacks cbs = {
            .recv_callback = recv_cb,
            .send_callback = send_cb,
            .genmask_callback = genmask_cb,
            .on_msg_recv_callback = on_msg,
        };
        if (wslay_event_context_client_init(&w->ctx, &cbs, w) != 0) {
                free(w);
                return -ENOMEM;
        }
        wslay_event_config_set_max_recv_msg_length(w->ctx, WSCLIENT_MSG_MAX);
        w->pre_len = len - head_len;
        w->pre = xmalloc(w->pre_len + 1);
        memcpy(w->pre, buf + head_len, w->pre_len);
        w->fd = TAKE_FD(fd);
        *ret = w;
        return 0;
}

static int pop_json(struct wsclient *w, json_t **ret)
{
        struct msg *m = w->head;
        w->head = m->next;
        if (!w->head)
                w->tail = NULL;
        w->nmsgs--;
        json_t *j = json_loadb(m->data, m->len, JSON_DECODE_ANY, NULL);
        free(m->data);
        free(m);
        if (!j)
                return -EBADMSG;
        *ret = j;
        return 0;
}

int wsclient_recv_json(struct wsclient *w, int timeout_ms, json_t **ret)
{
        long long deadline = timeout_ms < 0 ? -1 : mono_ms() + timeout_ms;
        for (;;) {
                if (w->head)
                        return pop_json(w, ret);
                if (w->overflow)
                        return -ENOBUFS;
                if (w->closed || wslay_event_get_close_received(w->ctx))
                        return -ECONNRESET;
                /* frames already read past the handshake come first */
                if (w->pre_off < w->pre_len) {
                        if (wslay_event_recv(w->ctx) != 0)
                                w->closed = true;
                        continue;
                }
                short ev = POLLIN;
                if (wslay_event_want_write(w->ctx))
                        ev |= POLLOUT;
                struct pollfd p = {.fd = w->fd, .events = ev};
                int r = poll(&p, 1, remaining(deadline));
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return -errno;
                if (r == 0)
                        return -ETIMEDOUT;
                if ((p.revents & POLLOUT) && wslay_event_send(w->ctx) != 0)
                        w->closed = true;
                if ((p.revents & (POLLIN | POLLHUP | POLLERR)) && wslay_event_recv(w->ctx) != 0)
                        w->closed = true;
                /* answer pings promptly */
                if (!w->closed && wslay_event_want_write(w->ctx) && wslay_event_send(w->ctx) != 0)
                        w->closed = true;
        }
}

struct wsclient *wsclient_free(struct wsclient *w)
{
        if (!w)
                return NULL;
        if (w->ctx) {
                if (!w->closed) {
                        wslay_event_queue_close(w->ctx, WSLAY_CODE_NORMAL_CLOSURE, NULL, 0);
                        (void)wslay_event_send(w->ctx);
                }
                wslay_event_context_free(w->ctx);
        }
        while (w->head) {
                struct msg *m = w->head;
                w->head = m->next;
                free(m->data);
                free(m);
        }
        if (w->fd >= 0)
                close(w->fd);
        free(w->pre);
        free(w);
        return NULL;
}
