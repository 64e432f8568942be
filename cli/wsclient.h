/* A small blocking WebSocket client for dbx: connects to dogeboxd over the
 * admin socket (no token) or an http:// URL (?token= from the client's
 * session token), performs the RFC 6455 handshake and reads JSON text
 * messages with a timeout. Framing (masking, pings, close) is wslay's. */
#pragma once

#include <jansson.h>
#include <stddef.h>
#include "cli/client.h"

#define WSCLIENT_MSG_MAX    (16 * 1024 * 1024) /* one message (a big bootstrap) */
#define WSCLIENT_QUEUE_MAX  4096               /* received, not yet read messages */
#define WSCLIENT_HEADER_MAX (16 * 1024)        /* the HTTP handshake response */
#define WSCLIENT_CONNECT_MS 5000               /* connect + handshake */

struct wsclient;

/* Connect and upgrade. path is e.g. "/ws/jobs". On failure returns a
 * negative errno and writes a message for the user into err (the API's
 * error message when the server refused the upgrade, e.g. 400/401). */
int wsclient_connect(const struct dbx_client *c, const char *path, struct wsclient **ret, char *err,
                     size_t err_size);

/* The next text message, parsed as JSON (any value). timeout_ms < 0 waits
 * forever. -ETIMEDOUT when nothing came in time, -ECONNRESET when the
 * server closed the connection, -EBADMSG for a message that is not JSON. */
int wsclient_recv_json(struct wsclient *w, int timeout_ms, json_t **ret);

/* Send a close frame (best effort) and free. Accepts NULL. */
struct wsclient *wsclient_free(struct wsclient *w);
