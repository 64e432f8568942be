/* Pup routes (reference/upstream-api.md §4.6, §4.9): install, actions,
 * config, metrics, logs. The lifecycle itself lives in src/pups. */
#include <sys/stat.h>
#include "api/api.h"
#include "api/auth.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/macro.h"
#include "core/json.h"
#include "jobs/jobs.h"
#include "pups/pups.h"
#include "runtime/sandbox.h"

static void emit(void *ud, const char *type, const char *id, json_t *update, const char *error)
{
        struct api_ctx *ctx = ud;
        ws_hub_broadcast(ctx->hub, WS_CHAN_STATE, id, type, update, error);
}

static void log_line(void *ud, const char *pup_id, const char *line, size_t len)
{
        struct api_ctx *ctx = ud;
        char key[48];
        snprintf(key, sizeof(key), "pup:%s", pup_id);
        ws_hub_send(ctx->hub, WS_CHAN_LOG, key, json_stringn(line, len));
}

#define PUPS_WS_BACKLOG_BYTES (256 * 1024) /* replayed on a log socket at most */

/* The HTTP status for a lifecycle errno (shared with routes_deps.c). */
int api_pup_status(int r)
{
        switch (r) {
        case -ENOENT:
                return 404;
        case -EEXIST:
        case -EBUSY:
        case -ELOOP:
                return 409;
        case -EAGAIN:
                return 429;
        case -E2BIG:
                return 413;
        case -ENOSPC:
        case -ENOMEM:
                return 507;
        default:
                return 400;
        }
}

/* The pup named by route parameter param (id, or unique name), or a 404. */
struct pup *api_pup_or_404(struct api_ctx *ctx, struct api_req *req, const char *param)
{
        const char *id = route_param(&req->match, param);
        struct pup *pup = id ? pups_find(ctx->pups, id) : NULL;
        if (!pup)
                api_reply_error(req, 404, "no pup '%s' (use its id, or its name when unique)",
                                id ? id : "");
        return pup;
}

static void put_pup(struct api_ctx *ctx, struct api_req *req)
{
        _cleanup_json_ json_t *body = api_req_json(req);
        struct dbx_error err = {0};
        struct pups_install_req ir = {0};
        char job[33];
        if (!body)
                return;
        if (json_iget_string(body, "sourceId", &ir.source_id, &err) < 0 ||
            json_iget_string(body, "pupName", &ir.pup_name, &err) < 0 ||
            json_iget_string(body, "pupVersion", &ir.pup_version, &err) < 0 ||
            json_iget_bool(body, "autoInstallDependencies", &ir.auto_install_dependencies, &err) <
                0) {
                api_reply_error(req, 400, "%s: %s", err.path, err.message);
                return;
        }
        /* DRE: autoInstallDependencies installs the plan's providers first
         * and answers with the plan (docs/api.md) */
        json_t *plan = NULL;
        int r = ir.auto_install_dependencies ? pups_install_auto(ctx->pups, &ir, job, &plan, &err)
                                             : pups_install(ctx->pups, &ir, job, &err);
        if (r < 0) {
                api_reply_error(req, api_pup_status(r), "%s", err.message);
                return;
        }
        api_reply_json(req, 200,
                       plan ? json_pack("{s:s,s:o}", "id", job, "plan", plan)
                            : json_pack("{s:s}", "id", job));
}

static void post_action(struct api_ctx *ctx, struct api_req *req)
{
        struct dbx_error err = {0};
        char job[33];
        int r = pups_action(ctx->pups, route_param(&req->match, "ID"),
                            route_param(&req->match, "action"), job, &err);
        if (r < 0) {
                api_reply_error(req, api_pup_status(r), "%s", err.message);
                return;
        }
        api_reply_json(req, 200, json_pack("{s:s}", "id", job));
}

static void get_pup(struct api_ctx *ctx, struct api_req *req)
{
        struct pup *pup = api_pup_or_404(ctx, req, "ID");
        if (pup)
                api_reply_json(req, 200, pups_state_json(ctx->pups, pup));
}

static void get_pup_stats(struct api_ctx *ctx, struct api_req *req)
{
        struct pup *pup = api_pup_or_404(ctx, req, "ID");
        if (pup)
                api_reply_json(req, 200, pups_stats_json(ctx->pups, pup));
}

/* Every field error is returned: {"error":{code,message,fields:[{name,message}]}} */
static void post_config(struct api_ctx *ctx, struct api_req *req)
{
        _cleanup_json_ json_t *body = api_req_json(req);
        struct dbx_errors errs = {0};
        struct dbx_error err = {0};
        char job[33];
        if (!body)
                return;
        int r =
            pups_configure(ctx->pups, route_param(&req->match, "PupID"), body, job, &errs, &err);
        if (r < 0) {
                json_t *fields = json_array();
                for (size_t i = 0; i < errs.n; i++)
                        json_array_append_new(fields,
                                              json_pack("{s:s,s:s}", "name", errs.items[i].path,
                                                        "message", errs.items[i].message));
                api_reply_json(req, api_pup_status(r),
                               json_pack("{s:{s:i,s:s,s:o}}", "error", "code", api_pup_status(r),
                                         "message", err.message, "fields", fields));
                dbx_errors_free(&errs);
                return;
        }
        api_reply_json(req, 200, json_pack("{s:s}", "id", job));
}

static void get_metrics(struct api_ctx *ctx, struct api_req *req)
{
        struct pup *pup = pups_find(ctx->pups, route_param(&req->match, "ID"));
        /* unknown pup → {} as upstream */
        api_reply_json(req, 200, pup ? pups_metrics_json(ctx->pups, pup) : json_object());
}

static void get_log_tail(struct api_ctx *ctx, struct api_req *req)
{
        struct pup *pup = api_pup_or_404(ctx, req, "ID");
        if (!pup)
                return;
        const char *lim = api_req_query(req, "limit");
        long limit = lim ? atol(lim) : 200;
        if (limit < 1 || limit > LOG_TAIL_LIMIT_MAX) {
                api_reply_error(req, 400, "limit must be 1-%d", LOG_TAIL_LIMIT_MAX);
                return;
        }
        const char *path = pups_log_path(ctx->pups, pup);
        json_t *page = NULL;
        if (path && logfile_tail_json(path, limit, -1, &page) == 0) {
                api_reply_json(req, 200, page);
                return;
        }
        api_reply_json(req, 200,
                       json_pack("{s:o,s:b}", "lines", pups_log_tail(ctx->pups, pup, limit),
                                 "hasMoreOlder", 0));
}

static void get_log_download(struct api_ctx *ctx, struct api_req *req)
{
        struct pup *pup = api_pup_or_404(ctx, req, "ID");
        if (!pup)
                return;
        const char *path = pups_log_path(ctx->pups, pup);
        char *data = NULL;
        size_t len = 0;
        if (!path || fs_read_file(path, 64u << 20, &data, &len) < 0) {
                data = xstrdup("");
                len = 0;
        }
        _cleanup_free_ char *disp = xasprintf("attachment; filename=\"pup-%s.log\"", pup_id(pup));
        const char *h[] = {"Content-Disposition", disp, "Cache-Control", "no-store", NULL};
        api_reply_bytes(req, 200, "text/plain; charset=utf-8", data, len, h);
        free(data);
}

static void ws_log_pup(struct api_ctx *ctx, struct api_req *req)
{
        const char *id = route_param(&req->match, "PupID");
        struct pup *pup = id ? pups_find(ctx->pups, id) : NULL;
        if (!pup) {
                api_reply_error(req, 400, "no pup '%s'", id ? id : "");
                return;
        }
        char key[48];
        snprintf(key, sizeof(key), "pup:%s", pup_id(pup));
        /* ?resumeToken=<byte offset from the tail route>: replay from there,
         * so no line is lost or duplicated between tail and live (§5.4) */
        const char *tok = api_req_query(req, "resumeToken");
        const char *path = pups_log_path(ctx->pups, pup);
        json_t *lines = NULL;
        if (tok && *tok && path) {
                char *end;
                long long from = strtoll(tok, &end, 10);
                if (*end || from < 0) {
                        api_reply_error(req, 400,
                                        "resumeToken '%s' is not valid: a byte offset (the tail "
                                        "route's resumeToken) is expected",
                                        tok);
                        return;
                }
                if (logfile_lines_from(path, from, PUPS_WS_BACKLOG_BYTES, &lines) < 0)
                        lines = NULL;
        }
        ws_accept_backlog(ctx->hub, req, WS_CHAN_LOG, key, lines ? lines : json_array());
}

#ifdef HAVE_ROUTES_AUTH
static int write_keys(void *ud, const char *pup_id, const char *storage_dir, uid_t uid, gid_t gid,
                      struct dbx_error *err)
{
        struct api_ctx *ctx = ud;
        return auth_pup_keys_write(ctx->auth, pup_id, storage_dir, uid, gid, err);
}

struct enum_ctx {
        auth_pup_emit_fn emit;
        void *emit_ctx;
};

static int enum_one(void *ud, const char *id, const char *storage, uid_t uid, gid_t gid)
{
        struct enum_ctx *e = ud;
        struct auth_pup_ref ref = {id, storage, uid, gid};
        e->emit(e->emit_ctx, &ref);
        return 0;
}

/* For auth: pups installed before the master key get their keys at setup. */
static int enum_pups(void *ud, auth_pup_emit_fn emit_fn, void *emit_ctx)
{
        struct api_ctx *ctx = ud;
        struct enum_ctx e = {emit_fn, emit_ctx};
        return ctx->pups ? pups_foreach(ctx->pups, enum_one, &e) : 0;
}
#endif

int routes_pups_register(struct api_ctx *ctx)
{
        struct dbx_error err = {0};
        struct sandbox_supervisor *sup = NULL;
        struct sandbox_supervisor_config scfg = {.cgroup_parent = ctx->cgroup_parent};
        sandbox_cleanup_leftovers(ctx->cgroup_parent, false);
        int r = sandbox_supervisor_new(ctx->event, &scfg, &err, &sup);
        if (r < 0)
                log_error("pups cannot run on this host: %s", err.message);
        ctx->supervisor = sup;
        struct pups_config cfg = {
            .event = ctx->event,
            .store = ctx->store,
            .pool = ctx->pool,
            .jobs = ctx->jobs,
            .sources = ctx->sources,
#ifdef HAVE_ROUTES_AUTH
            .write_keys = ctx->auth ? write_keys : NULL,
#endif
            .sup = sup,
            .data_dir = ctx->data_dir,
            .emit = emit,
            .log_line = log_line,
            .ud = ctx,
        };
        r = pups_new(&cfg, &ctx->pups, &err);
        if (r < 0) {
                log_error("%s", err.message);
                return r;
        }
#ifdef HAVE_ROUTES_AUTH
        if (ctx->auth)
                auth_set_pup_enumerator(ctx->auth, enum_pups, ctx);
#endif
        r = 0;
        r |= api_route(ctx, "PUT", "/pup", put_pup, 0);
        r |= api_route(ctx, "POST", "/pup/{ID}/{action}", post_action, 0);
        r |= api_route(ctx, "GET", "/pup/{ID}", get_pup, 0);
        r |= api_route(ctx, "GET", "/pup/{ID}/stats", get_pup_stats, 0);
        r |= api_route(ctx, "GET", "/pup/{ID}/metrics", get_metrics, 0);
        r |= api_route(ctx, "POST", "/config/{PupID}", post_config, 0);
        r |= api_route(ctx, "GET", "/log/pup/{ID}/tail", get_log_tail, 0);
        r |= api_route(ctx, "GET", "/log/pup/{ID}/download", get_log_download, 0);
        r |= api_route(ctx, NULL, "/ws/log/pup/{PupID}", ws_log_pup, ROUTE_WS);
        return r < 0 ? -EINVAL : 0;
}

void routes_pups_free(struct api_ctx *ctx)
{
        ctx->pups = pups_free(ctx->pups);
        ctx->supervisor = sandbox_supervisor_free(ctx->supervisor);
}
