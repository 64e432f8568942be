#include "api/api.h"
#ifdef HAVE_ROUTES_AUTH
#include "api/auth.h"
#endif
#include "core/log.h"
#include "core/macro.h"
#include "core/util.h"
#include "pups/pups.h"
#include "sources/sources.h"

int api_route(struct api_ctx *ctx, const char *method, const char *pattern, api_handler h,
              unsigned flags)
{
        int r = router_add(ctx->router, method, pattern, (void *)h, flags);
        if (r < 0)
                log_error("api: cannot register %s %s: %s", method ? method : "*", pattern,
                          strerror(-r));
        return r;
}

void api_dispatch(struct api_req *req, void *userdata)
{
        struct api_ctx *ctx = userdata;
        char allow[128];

        req->ctx = ctx;
        switch (
            router_match(ctx->router, req->method, req->path, &req->match, allow, sizeof(allow))) {
        case ROUTER_FOUND:
                break;
        case ROUTER_METHOD_NOT_ALLOWED: {
                const char *h[] = {"Allow", allow, NULL};
                _cleanup_free_ char *msg = xasprintf("method %s is not allowed on %s: use %s",
                                                     req->method, req->path, allow);
                /* json_dumps escapes the path: it is the client's text */
                json_t *j = json_pack("{s:{s:i,s:s}}", "error", "code", 405, "message", msg);
                _cleanup_free_ char *body = json_dumps(j, JSON_COMPACT);
                json_decref(j);
                api_reply_bytes(req, 405, "application/json", body, strlen(body), h);
                return;
        }
        case ROUTER_REDIRECT: {
                _cleanup_free_ char *loc = xasprintf("%s/", req->path);
                const char *h[] = {"Location", loc, NULL};
                api_reply_bytes(req, 301, "text/plain", "", 0, h);
                return;
        }
        default:
                api_reply_error(req, 404, "no such route: %s %s", req->method, req->path);
                return;
        }
        api_handler h = (api_handler)req->match.route->handler;
#ifdef HAVE_ROUTES_AUTH
        /* Sessions (docs/api.md): replies 401 itself when refused. */
        if (!auth_request_allowed(ctx, req))
                return;
#endif
        h(ctx, req);
}

static int load_setup_facts(struct api_ctx *ctx)
{
        _cleanup_free_ char *sid = NULL;
        int r = store_setting_get(ctx->store, "setup.sessionId", &sid);
        if (r == -ENOENT) {
                id_new32(ctx->setup_session_id);
                return store_setting_set(ctx->store, "setup.sessionId", ctx->setup_session_id);
        }
        if (r < 0)
                return r;
        snprintf(ctx->setup_session_id, sizeof(ctx->setup_session_id), "%s", sid);
        return 0;
}

int api_new(sd_event *e, struct store *store, const struct api_options *opts, struct api_ctx **ret)
{
        struct api_ctx *ctx = xcalloc(1, sizeof(*ctx));
        int r;

        ctx->event = sd_event_ref(e);
        ctx->store = store;
        ctx->pool = opts->pool;
        ctx->data_dir = xstrdup(opts->data_dir);
        ctx->cgroup_parent = opts->cgroup_parent ? xstrdup(opts->cgroup_parent) : NULL;
        ctx->demo_dir = opts->demo_dir ? realpath(opts->demo_dir, NULL) : NULL;
        ctx->bridge = opts->bridge ? xstrdup(opts->bridge) : NULL; /* DRE */
        ctx->bridge_cidr = opts->bridge_cidr ? xstrdup(opts->bridge_cidr) : NULL;
        ctx->no_network = opts->no_network;
        ctx->listen = xcalloc(opts->n_listen + 1, sizeof(char *));
        for (size_t i = 0; i < opts->n_listen; i++)
                ctx->listen[ctx->n_listen++] = xstrdup(opts->listen[i]);
        ctx->router = router_new();
        ctx->started_ms = now_ms();
        ctx->started_mono = now_mono_usec();
        r = ws_hub_new(e, &ctx->hub);
        if (r >= 0)
                r = load_setup_facts(ctx);
        if (r >= 0)
                r = routes_system_register(ctx);
#ifdef HAVE_ROUTES_AUTH
        if (r >= 0)
                r = routes_auth_register(ctx);
#endif
#ifdef HAVE_ROUTES_SOURCES
        if (r >= 0)
                r = routes_sources_register(ctx);
#endif
#ifdef HAVE_ROUTES_JOBS
        if (r >= 0)
                r = routes_jobs_register(ctx);
#endif
#ifdef HAVE_ROUTES_PUPS
        if (r >= 0)
                r = routes_pups_register(ctx);
#endif
#ifdef HAVE_ROUTES_DEPS
        if (r >= 0)
                r = routes_deps_register(ctx);
#endif
#ifdef HAVE_ROUTES_WEB
        if (r >= 0)
                r = routes_web_register(ctx);
#endif
        if (r < 0) {
                api_free(ctx);
                return r;
        }
        *ret = ctx;
        return 0;
}

void api_start(struct api_ctx *ctx)
{
#ifdef HAVE_ROUTES_SOURCES
        if (ctx->demo_dir && ctx->sources) {
                struct dbx_error err = {0};
                if (sources_ensure_demo(ctx->sources, ctx->demo_dir, &err) < 0)
                        log_error("--demo %s: %s", ctx->demo_dir, err.message);
                else
                        log_info("demo: the example pups in %s are source '%s'", ctx->demo_dir,
                                 SOURCES_DEMO_ID);
        }
#endif
#ifdef HAVE_ROUTES_DEPS
        routes_deps_start(ctx); /* the pups' network, before they start */
#endif
#ifdef HAVE_ROUTES_PUPS
        if (ctx->pups)
                pups_reconcile(ctx->pups);
#endif
}

void api_shutdown(struct api_ctx *ctx, void (*done)(void *ud), void *ud)
{
#ifdef HAVE_ROUTES_PUPS
        if (ctx->pups) {
                pups_shutdown(ctx->pups, done, ud);
                return;
        }
#endif
        done(ud);
}

struct api_ctx *api_free(struct api_ctx *ctx)
{
        if (!ctx)
                return NULL;
#ifdef HAVE_ROUTES_DEPS
        routes_deps_free(ctx); /* the gateway calls into pups: first */
#endif
#ifdef HAVE_ROUTES_PUPS
        routes_pups_free(ctx);
#endif
#ifdef HAVE_ROUTES_JOBS
        routes_jobs_free(ctx);
#endif
#ifdef HAVE_ROUTES_SOURCES
        routes_sources_free(ctx);
#endif
#ifdef HAVE_ROUTES_AUTH
        routes_auth_free(ctx);
#endif
        ws_hub_free(ctx->hub);
        router_free(ctx->router);
        sd_event_unref(ctx->event);
        free(ctx->data_dir);
        free(ctx->cgroup_parent);
        free(ctx->demo_dir);
        free(ctx->bridge);
        free(ctx->bridge_cidr);
        for (size_t i = 0; i < ctx->n_listen; i++)
                free(ctx->listen[i]);
        free(ctx->listen);
        free(ctx);
        return NULL;
}
