/* System routes: bootstrap (the first call every client makes), our
 * status route, and the state WebSocket. */
#include "api/api.h"
#include "core/macro.h"
#include "core/util.h"
#include "dbx-config.h"
#include "pups/pups.h"

static json_t *setup_facts(struct api_ctx *ctx)
{
        bool key = false, net = false, done = false;
        store_setting_get_bool(ctx->store, "setup.hasGeneratedKey", &key);
        store_setting_get_bool(ctx->store, "setup.hasConfiguredNetwork", &net);
        store_setting_get_bool(ctx->store, "setup.hasCompletedInitialConfiguration", &done);
        return json_pack("{s:b,s:b,s:b,s:s}", "hasGeneratedKey", key, "hasConfiguredNetwork", net,
                         "hasCompletedInitialConfiguration", done, "setupSessionId",
                         ctx->setup_session_id);
}

/* BootstrapResponse, reference/upstream-api.md §6.1. */
static json_t *bootstrap(struct api_ctx *ctx)
{
        bool welcome = false;
        store_setting_get_bool(ctx->store, "flags.isFirstTimeWelcomeComplete", &welcome);
        json_t *assets = ctx->pups ? pups_assets_json(ctx->pups) : json_object();
        json_t *states = ctx->pups ? pups_states_json(ctx->pups) : json_object();
        json_t *stats = ctx->pups ? pups_all_stats_json(ctx->pups) : json_object();
        return json_pack("{s:I,s:{s:s,s:{},s:{s:s,s:b}},s:b,s:o,s:o,s:o,s:{s:b,s:b},s:o,s:{s:[]}}",
                         "ts", (json_int_t)now_ms(), "version", "release", "v" DBX_VERSION,
                         "packages", "git", "commit", DBX_GIT_COMMIT, "dirty", 0, "devMode", 0,
                         "assets", assets, "states", states, "stats", stats, "flags",
                         "isFirstTimeWelcomeComplete", welcome, "isDeveloperMode", 0, "setupFacts",
                         setup_facts(ctx), "sidebarPreferences", "sidebarPups");
}

static void get_bootstrap(struct api_ctx *ctx, struct api_req *req)
{
        api_reply_json(req, 200, bootstrap(ctx));
}

/* Our extension: what `dbx status` shows. */
static void get_status(struct api_ctx *ctx, struct api_req *req)
{
        const char *problem = ctx->pups ? pups_network_problem(ctx->pups) : NULL;
        api_reply_json(req, 200,
                       json_pack("{s:s,s:s,s:I,s:s,s:i,s:I,s:s?}", "version", DBX_VERSION, "commit",
                                 DBX_GIT_COMMIT, "uptimeSeconds",
                                 (json_int_t)((now_mono_usec() - ctx->started_mono) / 1000000),
                                 "dataDir", ctx->data_dir, "pups",
                                 ctx->pups ? (int)pups_count(ctx->pups) : 0, "wsClients",
                                 (json_int_t)ws_hub_clients(ctx->hub), "networkProblem", problem));
}

static void ws_state(struct api_ctx *ctx, struct api_req *req)
{
        json_t *first = json_pack("{s:s,s:i,s:i,s:s,s:s,s:o}", "id", "internal", "seq", 0, "ts", 0,
                                  "error", "", "type", "bootstrap", "update", bootstrap(ctx));
        ws_accept(ctx->hub, req, WS_CHAN_STATE, NULL, first);
}

#if DBX_TEST_HOOKS
/* Test builds only: broadcast n messages of size bytes to /ws/state/
 * clients, so tests can prove that a client that does not read is cut off. */
static void post_test_broadcast(struct api_ctx *ctx, struct api_req *req)
{
        const char *n_s = api_req_query(req, "n"), *size_s = api_req_query(req, "size");
        long n = n_s ? atol(n_s) : 1, size = size_s ? atol(size_s) : 16;
        if (n < 1 || n > 100000 || size < 1 || size > 1024 * 1024) {
                api_reply_error(req, 400, "n must be 1-100000 and size 1-1048576");
                return;
        }
        char *blob = xmalloc((size_t)size + 1);
        memset(blob, 'x', (size_t)size);
        blob[size] = 0;
        for (long i = 0; i < n; i++)
                ws_hub_broadcast(ctx->hub, WS_CHAN_STATE, "internal", "test", json_string(blob),
                                 NULL);
        free(blob);
        api_reply_json(req, 200,
                       json_pack("{s:I}", "clients", (json_int_t)ws_hub_clients(ctx->hub)));
}

/* Test builds only: parse the body as JSON and echo it (400/413 paths). */
static void post_test_echo(struct api_ctx *ctx, struct api_req *req)
{
        json_t *j = api_req_json(req);
        if (j)
                api_reply_json(req, 200, j);
}
#endif

int routes_system_register(struct api_ctx *ctx)
{
        int r = 0;
        r |= api_route(ctx, "GET", "/system/bootstrap", get_bootstrap, ROUTE_SETUP);
        r |= api_route(ctx, "GET", "/system/status", get_status, 0);
        r |= api_route(ctx, NULL, "/ws/state/", ws_state, ROUTE_WS | ROUTE_SETUP);
#if DBX_TEST_HOOKS
        r |= api_route(ctx, "POST", "/test/broadcast", post_test_broadcast, 0);
        r |= api_route(ctx, "POST", "/test/echo", post_test_echo, 0);
#endif
        return r < 0 ? -EINVAL : 0;
}
