/* Sources and store routes (reference/upstream-api.md §4.8): list, add and
 * remove sources, and the store listing of every source's catalog. Loads
 * run on the worker pool (src/sources); a request that has to wait for one
 * is suspended and answered from the loop when it is done. */
#include "api/api.h"
#include "core/json.h"
#include "core/log.h"
#include "core/macro.h"
#include "dbx-config.h"
#include "sources/sources.h"

struct waiting {
        struct api_ctx *ctx;
        struct api_req *req;
        char *only_id;
};

static struct waiting *waiting_new(struct api_ctx *ctx, struct api_req *req, const char *only_id)
{
        struct waiting *w = xcalloc(1, sizeof(*w));
        w->ctx = ctx;
        w->req = req;
        w->only_id = only_id ? xstrdup(only_id) : NULL;
        return w;
}

static void waiting_free(struct waiting *w)
{
        free(w->only_id);
        free(w);
}

static unsigned status_for(int r)
{
        switch (r) {
        case -EEXIST:
        case -EBUSY:
                return 409;
        case -ECANCELED:
                return 503;
        case -ENOENT:
                return 404;
        default:
                return 400;
        }
}

static void reply_err(struct api_req *req, unsigned status, const struct dbx_error *err)
{
        char buf[DBX_ERROR_PATH_MAX + DBX_ERROR_MSG_MAX + 4];
        api_reply_error(req, status, "%s", dbx_error_text(err, buf, sizeof(buf)));
}

static void reply_store(struct api_ctx *ctx, struct api_req *req, const char *only_id)
{
        static const char *const headers[] = {"Cache-Control", "no-store", NULL};
        size_t len;
        char *body = sources_store_json(ctx->sources, only_id, &len);
        api_reply_bytes(req, 200, "application/json", body, len, headers);
        free(body);
}

static json_t *source_json(struct api_ctx *ctx, const char *id)
{
        json_t *list = sources_list_json(ctx->sources), *found = NULL, *v;
        size_t i;
        json_array_foreach(list, i, v)
        {
                if (streq(json_string_value(json_object_get(v, "id")), id)) {
                        found = json_incref(v);
                        break;
                }
        }
        json_decref(list);
        return found ? found : json_null();
}

/* GET /sources */
static void get_sources(struct api_ctx *ctx, struct api_req *req)
{
        api_reply_json(
            req, 200,
            json_pack("{s:b,s:o}", "success", 1, "sources", sources_list_json(ctx->sources)));
}

static void on_added(void *ud, int r, const char *id, const struct dbx_error *err)
{
        struct waiting *w = ud;
        if (r == -ECANCELED)
                api_reply_error(w->req, 503, "dogeboxd is shutting down: the source was not added");
        else if (r < 0)
                reply_err(w->req, r == -EEXIST ? 409 : 400, err);
        else {
                log_info("sources: added source %s", id);
                api_reply_json(w->req, 200,
                               json_pack("{s:b,s:s,s:o}", "success", 1, "id", id, "source",
                                         source_json(w->ctx, id)));
        }
        waiting_free(w);
}

/* PUT /source {"location", "type"?, "id"?, "publicKey"?} */
static void put_source(struct api_ctx *ctx, struct api_req *req)
{
        _cleanup_json_ json_t *body = api_req_json(req);
        struct dbx_error err = {0};
        struct sources_add_args a = {0};
        if (!body)
                return;
        if (json_iget_string(body, "location", &a.location, &err) < 0 ||
            json_iget_string(body, "type", &a.kind, &err) < 0 ||
            json_iget_string(body, "id", &a.id, &err) < 0 ||
            json_iget_string(body, "publicKey", &a.public_key, &err) < 0) {
                reply_err(req, 400, &err);
                return;
        }
        struct waiting *w = waiting_new(ctx, req, NULL);
        int r = sources_add(ctx->sources, &a, on_added, w, &err);
        if (r < 0) {
                waiting_free(w);
                reply_err(req, status_for(r), &err);
                return;
        }
        api_req_suspend(req);
}

/* DELETE /source/{id} */
static void delete_source(struct api_ctx *ctx, struct api_req *req)
{
        const char *id = route_param(&req->match, "id");
        struct dbx_error err = {0};
        json_t *pups = NULL;
        int r = sources_remove(ctx->sources, id ? id : "", &pups, &err);
        if (r == -EBUSY) {
                api_reply_json(req, 409,
                               json_pack("{s:{s:i,s:s,s:o}}", "error", "code", 409, "message",
                                         err.message, "pups", pups ? pups : json_array()));
                return;
        }
        json_decref(pups);
        if (r < 0) {
                reply_err(req, r == -ENOENT ? 404 : 500, &err);
                return;
        }
        log_info("sources: removed source %s", id);
        api_reply_json(req, 200, json_pack("{s:b}", "success", 1));
}

static void on_loaded(void *ud, int r, const char *id, const struct dbx_error *err)
{
        struct waiting *w = ud;
        if (r == -ECANCELED)
                api_reply_error(w->req, 503, "dogeboxd is shutting down");
        else
                reply_store(w->ctx, w->req, w->only_id);
        waiting_free(w);
}

/* GET /sources/store[?refresh=true][&source=ID] */
static void get_store(struct api_ctx *ctx, struct api_req *req)
{
        const char *refresh = api_req_query(req, "refresh");
        const char *only = api_req_query(req, "source");
        bool force = refresh && (streq(refresh, "true") || streq(refresh, "1"));
        if (only && !*only)
                only = NULL;
        if (only && !sources_exists(ctx->sources, only)) {
                api_reply_error(req, 404, "there is no source with id \"%.128s\"", only);
                return;
        }
        struct waiting *w = waiting_new(ctx, req, only);
        int r =
            sources_refresh(ctx->sources, only, force ? SOURCES_REFRESH_FORCE : 0, on_loaded, w);
        if (r != 0) {
                waiting_free(w);
                reply_store(ctx, req, only);
                return;
        }
        api_req_suspend(req);
}

#if DBX_TEST_HOOKS
static void on_fetched(void *ud, int r, const char *id, const struct dbx_error *err)
{
        struct waiting *w = ud;
        if (r == -ECANCELED)
                api_reply_error(w->req, 503, "dogeboxd is shutting down");
        else if (r < 0)
                reply_err(w->req, 400, err);
        else
                api_reply_json(w->req, 200, json_pack("{s:b}", "success", 1));
        waiting_free(w);
}

/* Test builds only: materialize a pup as the lifecycle will, so tests can
 * drive every fetch path before installs exist.
 * {"sourceId", "name", "version", "dest"} */
static void post_test_fetch(struct api_ctx *ctx, struct api_req *req)
{
        _cleanup_json_ json_t *body = api_req_json(req);
        const char *src = NULL, *name = NULL, *version = NULL, *dest = NULL;
        struct dbx_error err = {0};
        if (!body)
                return;
        if (json_iget_string(body, "sourceId", &src, &err) < 0 ||
            json_iget_string(body, "name", &name, &err) < 0 ||
            json_iget_string(body, "version", &version, &err) < 0 ||
            json_iget_string(body, "dest", &dest, &err) < 0 || !src || !name || !dest) {
                api_reply_error(req, 400, "sourceId, name and dest are required strings");
                return;
        }
        struct waiting *w = waiting_new(ctx, req, NULL);
        int r =
            sources_fetch_pup_async(ctx->sources, src, name, version, dest, on_fetched, w, &err);
        if (r < 0) {
                waiting_free(w);
                reply_err(req, status_for(r), &err);
                return;
        }
        api_req_suspend(req);
}
#endif

/* When the loop is asked to exit (SIGTERM), before the worker pool is
 * drained: a load stuck on a silent server must not hold the shutdown. */
static int on_loop_exit(sd_event_source *src, void *userdata)
{
        struct api_ctx *ctx = userdata;
        if (ctx->sources)
                sources_cancel(ctx->sources);
        return 0;
}

int routes_sources_register(struct api_ctx *ctx)
{
        struct dbx_error err = {0};
        int r = sources_new(ctx->store, ctx->pool, ctx->data_dir, &ctx->sources, &err);
        if (r < 0) {
                log_error("sources: %s", err.message);
                return r;
        }
        r = sd_event_add_exit(ctx->event, NULL, on_loop_exit, ctx); /* floating: the loop owns it */
        if (r < 0) {
                log_error("sources: cannot watch for shutdown: %s", strerror(-r));
                return r;
        }
        sources_start(ctx->sources);
        r = 0;
        r |= api_route(ctx, "GET", "/sources", get_sources, 0);
        r |= api_route(ctx, "PUT", "/source", put_source, 0);
        r |= api_route(ctx, "DELETE", "/source/{id}", delete_source, 0);
        r |= api_route(ctx, "GET", "/sources/store", get_store, 0);
#if DBX_TEST_HOOKS
        r |= api_route(ctx, "POST", "/test/sources/fetch", post_test_fetch, 0);
#endif
        return r < 0 ? -EINVAL : 0;
}

void routes_sources_free(struct api_ctx *ctx)
{
        ctx->sources = sources_free(ctx->sources);
}
