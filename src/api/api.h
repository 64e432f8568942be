/* The owner's API: route table, dispatch (routing, auth, errors) and the
 * context every handler gets. Handlers live in routes_*.c, one file per
 * area, each with a register function called from api_new(). */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>
#include "api/http.h"
#include "api/router.h"
#include "api/ws.h"
#include "store/store.h"

struct api_ctx;
typedef void (*api_handler)(struct api_ctx *ctx, struct api_req *req);

struct api_ctx {
        sd_event *event;
        struct store *store;
        struct ws_hub *hub;
        struct router *router;
        char *data_dir;
        uint64_t started_ms;   /* wall clock, for uptime in status */
        uint64_t started_mono; /* monotonic µs */
        /* Setup facts cached from the store (bootstrap is the hottest route). */
        char setup_session_id[33];
};

int api_new(sd_event *e, struct store *store, const char *data_dir, struct api_ctx **ret);
struct api_ctx *api_free(struct api_ctx *ctx);
/* The http_dispatch_fn given to the HTTP server; userdata is the ctx. */
void api_dispatch(struct api_req *req, void *userdata);
int api_route(struct api_ctx *ctx, const char *method, const char *pattern, api_handler h,
              unsigned flags);

/* Route registration, one per routes_*.c file. */
int routes_system_register(struct api_ctx *ctx);
