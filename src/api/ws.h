/* WebSocket connections (RFC 6455 framing by wslay) and the broadcast hub.
 * Every message is one text frame holding one JSON value; the envelope is
 * upstream's Change {id, seq, ts, error, type, update} (§5.2). Each client
 * has a bounded send queue: a client that does not read is disconnected,
 * never allowed to grow the daemon's memory. */
#pragma once

#include <jansson.h>
#include <systemd/sd-event.h>
#include "api/http.h"

#define WS_QUEUE_BYTES_MAX (4 * 1024 * 1024) /* per client; beyond: disconnect */
#define WS_QUEUE_MSGS_MAX  1024              /* per client; beyond: disconnect */
#define WS_RECV_MSG_MAX    (64 * 1024)       /* clients only send pings/small text */
#define WS_PING_INTERVAL_S 30                /* keep-alive for proxies and dead peers */
#define WS_CLIENTS_MAX     256               /* all sockets together */
#define WS_KEY_MAX         96

enum ws_channel {
        WS_CHAN_STATE = 1 << 0, /* /ws/state/ */
        WS_CHAN_JOBS = 1 << 1,  /* /ws/jobs */
        WS_CHAN_LOG = 1 << 2,   /* /ws/log/...: key = "pup:<id>" or "job:<id>" */
};

struct ws_hub;

int ws_hub_new(sd_event *e, struct ws_hub **ret);
struct ws_hub *ws_hub_free(struct ws_hub *h);
size_t ws_hub_clients(struct ws_hub *h);

/* Validate the upgrade request and answer 101 (or 400/503 itself). first
 * (stolen, may be NULL) is sent as the first message. */
void ws_accept(struct ws_hub *h, struct api_req *req, unsigned channel, const char *key,
               json_t *first);
/* Same, with a backlog: each element of msgs (a JSON array, stolen) is sent
 * as its own message first. Messages sent to the connection while the
 * upgrade is still in flight are kept and follow the backlog, so nothing
 * between the backlog and live messages is lost. */
void ws_accept_backlog(struct ws_hub *h, struct api_req *req, unsigned channel, const char *key,
                       json_t *msgs);

/* Build a Change envelope: seq is assigned by the hub. Steals update. */
json_t *ws_envelope(struct ws_hub *h, const char *id, const char *type, json_t *update,
                    const char *error);
/* Send one JSON value to every client on one of channels (and key, if
 * given). Steals msg. */
void ws_hub_send(struct ws_hub *h, unsigned channels, const char *key, json_t *msg);
/* Envelope + send in one. */
void ws_hub_broadcast(struct ws_hub *h, unsigned channels, const char *id, const char *type,
                      json_t *update, const char *error);
