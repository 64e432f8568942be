/* Dependency routes (reference/upstream-api.md §4.6, docs/api.md
 * "Dependencies"): provider reports and choices, missing dependencies, the
 * auto-install plan, uninstall/purge with force; and the pup gateway API,
 * a second HTTP server on the pups' gateway address (docs/api.md "Pup
 * gateway API"). The lifecycle side lives in src/pups (deps.c, net.c,
 * metrics.c). */
#include "api/api.h"
#include "core/json.h"
#include "core/log.h"
#include "core/macro.h"
#include "pups/pups.h"

#define GATEWAY_BODY_MAX (64 * 1024) /* a metrics push is a few hundred bytes */

/* GET /providers/{ID}: one PupDependencyReport per dependency. */
static void get_providers(struct api_ctx *ctx, struct api_req *req)
{
        struct pup *pup = api_pup_or_404(ctx, req, "ID");
        if (pup)
                api_reply_json(req, 200, pups_providers_json(ctx->pups, pup, false));
}

/* GET /missing-deps/{ID}: required dependencies without a usable provider. */
static void get_missing_deps(struct api_ctx *ctx, struct api_req *req)
{
        struct pup *pup = api_pup_or_404(ctx, req, "ID");
        if (pup)
                api_reply_json(req, 200, pups_providers_json(ctx->pups, pup, true));
}

/* POST /providers/{ID} {"<interface>": "<provider pup id>"} → job. */
static void post_providers(struct api_ctx *ctx, struct api_req *req)
{
        _cleanup_json_ json_t *body = api_req_json(req);
        struct dbx_error err = {0};
        char job[33];
        if (!body)
                return;
        int r = pups_set_providers(ctx->pups, route_param(&req->match, "ID"), body, job, &err);
        if (r < 0) {
                api_reply_error(req, api_pup_status(r), "%s", err.message);
                return;
        }
        api_reply_json(req, 200, json_pack("{s:s}", "id", job));
}

static int install_req(struct api_req *req, json_t *body, struct pups_install_req *ir)
{
        struct dbx_error err = {0};
        if (json_iget_string(body, "sourceId", &ir->source_id, &err) < 0 ||
            json_iget_string(body, "pupName", &ir->pup_name, &err) < 0 ||
            json_iget_string(body, "pupVersion", &ir->pup_version, &err) < 0) {
                api_reply_error(req, 400, "%s: %s", err.path, err.message);
                return -EINVAL;
        }
        return 0;
}

/* POST /pup/plan: what PUT /pup with autoInstallDependencies would install,
 * without installing anything (ours). */
static void post_plan(struct api_ctx *ctx, struct api_req *req)
{
        _cleanup_json_ json_t *body = api_req_json(req);
        struct pups_install_req ir = {0};
        struct dbx_error err = {0};
        json_t *plan = NULL;
        if (!body || install_req(req, body, &ir) < 0)
                return;
        int r = pups_install_plan(ctx->pups, &ir, &plan, &err);
        if (r < 0) {
                api_reply_error(req, api_pup_status(r), "%s", err.message);
                return;
        }
        api_reply_json(req, 200, plan);
}

/* POST /pup/{ID}/uninstall and /purge: as the generic action route, plus
 * `force` (?force=true or {"force": true}) to remove a provider that other
 * pups use. More specific than /pup/{ID}/{action}, so the router picks
 * these. */
static void post_remove(struct api_ctx *ctx, struct api_req *req, const char *action)
{
        struct dbx_error err = {0};
        const char *q = api_req_query(req, "force");
        bool force = q && (streq(q, "true") || streq(q, "1") || streq(q, ""));
        char job[33];
        if (req->body_len) {
                _cleanup_json_ json_t *body = api_req_json(req);
                bool b = false;
                if (!body)
                        return;
                if (json_iget_bool(body, "force", &b, &err) < 0) {
                        api_reply_error(req, 400, "%s: %s", err.path, err.message);
                        return;
                }
                force |= b;
        }
        int r = pups_action_flags(ctx->pups, route_param(&req->match, "ID"), action,
                                  force ? PUPS_ACTION_FORCE : 0, job, &err);
        if (r < 0) {
                api_reply_error(req, api_pup_status(r), "%s", err.message);
                return;
        }
        api_reply_json(req, 200, json_pack("{s:s}", "id", job));
}

static void post_uninstall(struct api_ctx *ctx, struct api_req *req)
{
        post_remove(ctx, req, "uninstall");
}

static void post_purge(struct api_ctx *ctx, struct api_req *req)
{
        post_remove(ctx, req, "purge");
}

/* ---- the pup gateway API ---------------------------------------------------- */

/* Pups call http://$DBX_HOST:$DBX_PORT/dbx/metrics. The caller is the pup
 * whose address the connection comes from: the bridge's anti-spoofing
 * rules make it trustworthy; no header (X-Forwarded-For, ...) counts. */
static void gateway_dispatch(struct api_req *req, void *userdata)
{
        struct api_ctx *ctx = userdata;
        struct dbx_errors errs = {0};
        json_t *ret = NULL;

        if (!streq(req->path, "/dbx/metrics")) {
                api_reply_error(req, 404,
                                "no such route: %s %s (the pup gateway serves POST "
                                "/dbx/metrics)",
                                req->method, req->path);
                return;
        }
        if (!streq(req->method, "POST")) {
                const char *h[] = {"Allow", "POST", NULL};
                const char *body = "{\"error\":{\"code\":405,\"message\":\"use POST\"}}";
                api_reply_bytes(req, 405, "application/json", body, strlen(body), h);
                return;
        }
        struct pup *pup = pups_find_by_ip(ctx->pups, req->remote);
        if (!pup) {
                api_reply_error(req, 403,
                                "%s is not a pup of this Dogebox (callers are identified by "
                                "their source address)",
                                req->remote);
                return;
        }
        _cleanup_json_ json_t *body = api_req_json(req);
        if (!body)
                return;
        int r = pups_metrics_push(ctx->pups, pup, body, &ret, &errs);
        if (r < 0) {
                json_t *fields = json_array();
                for (size_t i = 0; i < errs.n; i++)
                        json_array_append_new(fields,
                                              json_pack("{s:s,s:s}", "name", errs.items[i].path,
                                                        "message", errs.items[i].message));
                int st = api_pup_status(r);
                api_reply_json(req, st,
                               json_pack("{s:{s:i,s:s,s:o}}", "error", "code", st, "message",
                                         errs.n ? errs.items[0].message : "invalid metrics",
                                         "fields", fields));
                dbx_errors_free(&errs);
                return;
        }
        api_reply_json(req, 200, ret);
}

/* The pups' network is up (the first pup, or start-up with pups): the
 * gateway address exists now, so the gateway API can listen on it. */
static void gateway_start(void *userdata, const char *addr)
{
        struct api_ctx *ctx = userdata;
        struct dbx_error err = {0};
        if (ctx->gateway)
                return;
        int r = http_server_new(ctx->event, gateway_dispatch, ctx, GATEWAY_BODY_MAX, &ctx->gateway);
        if (r >= 0)
                r = http_server_listen_tcp(ctx->gateway, addr, &err);
        if (r < 0) {
                log_error("the pup gateway API cannot listen on %s: %s", addr,
                          err.message[0] ? err.message : strerror(-r));
                ctx->gateway = http_server_free(ctx->gateway);
                return;
        }
        log_info("pup gateway API on http://%s/", addr);
}

int routes_deps_register(struct api_ctx *ctx)
{
        struct dbx_error err = {0};
        if (!ctx->pups)
                return 0; /* pups are not available: nothing depends on anything */
        struct pups_dre_config c = {
            .network = !ctx->no_network,
            .bridge = ctx->bridge,
            .bridge_cidr = ctx->bridge_cidr,
            .listen_addrs = (const char *const *)ctx->listen,
            .n_listen_addrs = ctx->n_listen,
            .on_up = gateway_start,
            .userdata = ctx,
        };
        int r = pups_dre_setup(ctx->pups, &c, &err);
        if (r < 0) {
                char buf[DBX_ERROR_PATH_MAX + DBX_ERROR_MSG_MAX];
                log_error("pup networking: %s", dbx_error_text(&err, buf, sizeof(buf)));
                return r;
        }
        r = 0;
        r |= api_route(ctx, "GET", "/providers/{ID}", get_providers, 0);
        r |= api_route(ctx, "POST", "/providers/{ID}", post_providers, 0);
        r |= api_route(ctx, "GET", "/missing-deps/{ID}", get_missing_deps, 0);
        r |= api_route(ctx, "POST", "/pup/plan", post_plan, 0);
        r |= api_route(ctx, "POST", "/pup/{ID}/uninstall", post_uninstall, 0);
        r |= api_route(ctx, "POST", "/pup/{ID}/purge", post_purge, 0);
        return r < 0 ? -EINVAL : 0;
}

void routes_deps_start(struct api_ctx *ctx)
{
        if (ctx->pups)
                pups_dre_start(ctx->pups);
}

void routes_deps_free(struct api_ctx *ctx)
{
        ctx->gateway = http_server_free(ctx->gateway);
}
