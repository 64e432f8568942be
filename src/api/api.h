/* The owner's API: route table, dispatch (routing, auth, errors) and the
 * context every handler gets. Handlers live in routes_*.c, one file per
 * area, each with a register function called from api_new(). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>
#include "api/http.h"
#include "api/router.h"
#include "api/ws.h"
#include "store/store.h"

struct api_ctx;
typedef void (*api_handler)(struct api_ctx *ctx, struct api_req *req);

struct workpool;
struct sources;
struct auth;
struct jobs;
struct pups;
struct sandbox_supervisor;

struct api_ctx {
        sd_event *event;
        struct store *store;
        struct workpool *pool; /* blocking work: downloads, git, argon2id */
        struct ws_hub *hub;
        struct router *router;
        char *data_dir;
        uint64_t started_ms;   /* wall clock, for uptime in status */
        uint64_t started_mono; /* monotonic µs */
        /* Setup facts cached from the store (bootstrap is the hottest route). */
        char setup_session_id[33];
        /* Module state, created by each routes_*_register() that needs it and
         * freed by api_free() through the matching *_free(). */
        struct sources *sources;
        struct auth *auth;
        struct jobs *jobs;
        struct pups *pups;
        struct sandbox_supervisor *supervisor;
        char *cgroup_parent; /* where pup sandboxes' cgroups live */
        char *demo_dir;
        /* DRE (routes_deps.c): pup networking options and the pup gateway */
        char *bridge, *bridge_cidr;
        bool no_network;
        char **listen; /* the API's --listen values */
        size_t n_listen;
        struct http_server *gateway;
};

struct api_options {
        struct workpool *pool;
        const char *data_dir;
        const char *cgroup_parent; /* NULL: the runtime's default */
        const char *demo_dir;      /* --demo: examples served as source "demo" */
        /* DRE (routes_deps.c) */
        const char *bridge;        /* --bridge: NULL = dbx0 */
        const char *bridge_cidr;   /* --bridge-cidr: NULL = 10.69.0.1/16 */
        bool no_network;           /* --no-network: pups get loopback only */
        const char *const *listen; /* --listen values: web UIs are served there too */
        size_t n_listen;
};
int api_new(sd_event *e, struct store *store, const struct api_options *opts, struct api_ctx **ret);
struct api_ctx *api_free(struct api_ctx *ctx);
/* Once the daemon listens: reconcile pups and start those that should run. */
void api_start(struct api_ctx *ctx);
/* Begin stopping (pups get a short grace); done(ud) runs once, on the loop. */
void api_shutdown(struct api_ctx *ctx, void (*done)(void *ud), void *ud);
/* The http_dispatch_fn given to the HTTP server; userdata is the ctx. */
void api_dispatch(struct api_req *req, void *userdata);
int api_route(struct api_ctx *ctx, const char *method, const char *pattern, api_handler h,
              unsigned flags);

/* Route registration, one per routes_*.c file (each optional at build
 * time while the module is being written: meson defines HAVE_ROUTES_X). */
int routes_system_register(struct api_ctx *ctx);
int routes_auth_register(struct api_ctx *ctx);
int routes_sources_register(struct api_ctx *ctx);
int routes_jobs_register(struct api_ctx *ctx);
int routes_pups_register(struct api_ctx *ctx);
int routes_deps_register(struct api_ctx *ctx); /* after pups: providers, gateway */
void routes_deps_start(struct api_ctx *ctx);   /* api_start: the pups' network */
int routes_web_register(struct api_ctx *ctx);  /* last: the SPA fallback */
/* Shared by the pup route files (routes_pups.c). */
struct pup;
int api_pup_status(int r); /* HTTP status for a lifecycle errno */
struct pup *api_pup_or_404(struct api_ctx *ctx, struct api_req *req, const char *param);

/* Teardown counterparts (module state in ctx). */
void routes_auth_free(struct api_ctx *ctx);
void routes_sources_free(struct api_ctx *ctx);
void routes_jobs_free(struct api_ctx *ctx);
void routes_pups_free(struct api_ctx *ctx);
void routes_deps_free(struct api_ctx *ctx);
