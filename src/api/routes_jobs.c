/* Jobs routes (reference/upstream-api.md §4.9, §4.10, §5): job records,
 * cancellation, clearing, the jobs WebSocket, and job logs (tail,
 * download, live socket). The job queue itself is src/jobs. */
#include <limits.h>
#include "api/api.h"
#include "core/fsutil.h"
#include "core/json.h"
#include "core/log.h"
#include "core/macro.h"
#include "core/util.h"
#include "dbx-config.h"
#include "jobs/jobs.h"

#define JOBS_WS_BACKLOG_LINES_MAX 500   /* /ws/log/job backlog sent at connect; fits a WS queue */
#define JOBS_CLEAR_DAYS_MAX       36500 /* olderThanDays beyond 100 years is a typo */
#define LOG_DOWNLOAD_MAX          (JOB_LOG_MAX_BYTES * 2) /* job logs are capped well below */

static void on_emit(void *ud, const char *type, const char *id, json_t *update, const char *error)
{
        struct api_ctx *ctx = ud;
        ws_hub_broadcast(ctx->hub, WS_CHAN_STATE | WS_CHAN_JOBS, id, type, update, error);
}

static void on_log_line(void *ud, const char *job_id, const char *line, size_t len)
{
        struct api_ctx *ctx = ud;
        char key[48];
        snprintf(key, sizeof(key), "job:%s", job_id);
        json_t *s = json_stringn(line, len);
        if (s)
                ws_hub_send(ctx->hub, WS_CHAN_LOG, key, s);
}

static void reply_store_error(struct api_req *req, int r)
{
        api_reply_error(req, 500, "cannot read the job records: %s", strerror(-r));
}

/* The {jobID} parameter, validated; replies 400 itself on a bad id. */
static const char *job_id_param(struct api_req *req)
{
        const char *id = route_param(&req->match, "id");
        if (!id || !id_is_hex32(id)) {
                api_reply_error(req, 400, "job id '%s' is not valid: 32 lowercase hex expected",
                                id ? id : "");
                return NULL;
        }
        return id;
}

/* Parse a decimal in [min, max]; false when it is not one. */
static bool parse_long(const char *s, long min, long max, long *ret)
{
        char *end;
        if (!s || !*s)
                return false;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno || *end || v < min || v > max)
                return false;
        *ret = (long)v;
        return true;
}

static void reply_list(struct api_ctx *ctx, struct api_req *req, enum store_job_query q,
                       size_t limit)
{
        json_t *j = NULL;
        int r = jobs_list_json(ctx->jobs, q, limit, &j);
        if (r < 0) {
                reply_store_error(req, r);
                return;
        }
        json_object_set_new(j, "success", json_true());
        api_reply_json(req, 200, j);
}

static void get_jobs(struct api_ctx *ctx, struct api_req *req)
{
        reply_list(ctx, req, STORE_JOBS_ALL, 0);
}

static void get_jobs_active(struct api_ctx *ctx, struct api_req *req)
{
        reply_list(ctx, req, STORE_JOBS_ACTIVE, 0);
}

static void get_jobs_recent(struct api_ctx *ctx, struct api_req *req)
{
        const char *s = api_req_query(req, "limit");
        long limit = JOBS_RECENT_DEFAULT;
        if (s && !parse_long(s, 1, JOBS_RETAINED_MAX, &limit)) {
                api_reply_error(req, 400, "limit '%s' is not valid: a number from 1 to %d", s,
                                JOBS_RETAINED_MAX);
                return;
        }
        reply_list(ctx, req, STORE_JOBS_RECENT, (size_t)limit);
}

static void get_jobs_stats(struct api_ctx *ctx, struct api_req *req)
{
        json_t *stats = NULL;
        int r = jobs_stats_json(ctx->jobs, &stats);
        if (r < 0) {
                reply_store_error(req, r);
                return;
        }
        api_reply_json(req, 200, json_pack("{s:b,s:o}", "success", 1, "stats", stats));
}

static void get_job(struct api_ctx *ctx, struct api_req *req)
{
        const char *id = job_id_param(req);
        json_t *rec = NULL;
        if (!id)
                return;
        int r = jobs_get_json(ctx->jobs, id, &rec);
        if (r == -ENOENT) {
                api_reply_error(req, 404, "Job not found");
                return;
        }
        if (r < 0) {
                reply_store_error(req, r);
                return;
        }
        api_reply_json(req, 200, json_pack("{s:b,s:o}", "success", 1, "job", rec));
}

/* DELETE /jobs/{id}: a queued job is cancelled (it never runs), a running
 * job is asked to stop (202; it ends `cancelled` at its next safe point),
 * a finished record is deleted with its log. */
static void delete_job(struct api_ctx *ctx, struct api_req *req)
{
        const char *id = job_id_param(req);
        enum jobs_delete_outcome out;
        if (!id)
                return;
        int r = jobs_delete(ctx->jobs, id, &out);
        if (r == -ENOENT) {
                api_reply_error(req, 404, "Job not found");
                return;
        }
        if (r == -EALREADY) {
                api_reply_error(req, 409,
                                "cancellation of job %s was already requested: it stops at its "
                                "next safe point",
                                id);
                return;
        }
        if (r < 0) {
                api_reply_error(req, 500, "cannot delete job %s: %s", id, strerror(-r));
                return;
        }
        switch (out) {
        case JOBS_DELETE_CANCELLED:
                api_reply_json(
                    req, 200,
                    json_pack("{s:b,s:s,s:s}", "success", 1, "id", id, "outcome", "cancelled"));
                break;
        case JOBS_DELETE_CANCEL_REQUESTED:
                api_reply_json(
                    req, 202,
                    json_pack("{s:b,s:s,s:s}", "success", 1, "id", id, "outcome", "cancelling"));
                break;
        case JOBS_DELETE_DELETED:
                api_reply_json(req, 200,
                               json_pack("{s:b,s:s,s:s,s:s}", "success", 1, "id", id, "outcome",
                                         "deleted", "deleted", id));
                break;
        }
}

/* POST /jobs/clear-completed, optional body {"olderThanDays": int}; absent,
 * empty body or <= 0 clears every finished record. */
static void post_clear_completed(struct api_ctx *ctx, struct api_req *req)
{
        long long days = 0;
        if (req->body_len > 0) {
                struct dbx_error err = {0};
                _cleanup_json_ json_t *body = NULL;
                bool blank = true;
                for (size_t i = 0; i < req->body_len && blank; i++)
                        blank = req->body[i] == ' ' || req->body[i] == '\n' ||
                                req->body[i] == '\r' || req->body[i] == '\t';
                if (!blank) {
                        body = api_req_json(req);
                        if (!body)
                                return;
                        if (json_iget_int(body, "olderThanDays", &days, &err) < 0) {
                                char buf[DBX_ERROR_MSG_MAX + DBX_ERROR_PATH_MAX];
                                api_reply_error(req, 400, "%s (a whole number of days)",
                                                dbx_error_text(&err, buf, sizeof(buf)));
                                return;
                        }
                }
        }
        if (days > JOBS_CLEAR_DAYS_MAX) {
                api_reply_error(req, 400, "olderThanDays %lld is too large (at most %d)", days,
                                JOBS_CLEAR_DAYS_MAX);
                return;
        }
        size_t n = 0;
        int r = jobs_clear_finished(ctx->jobs, days > 0 ? days * 86400000LL : 0, &n);
        if (r < 0) {
                api_reply_error(req, 500, "cannot clear job records: %s", strerror(-r));
                return;
        }
        api_reply_json(req, 200, json_pack("{s:b,s:I}", "success", 1, "cleared", (json_int_t)n));
}

static void ws_jobs(struct api_ctx *ctx, struct api_req *req)
{
        json_t *list = NULL;
        int r = jobs_list_json(ctx->jobs, STORE_JOBS_ALL, 0, &list);
        if (r < 0) {
                reply_store_error(req, r);
                return;
        }
        json_t *first = json_pack("{s:s,s:i,s:i,s:s,s:s,s:o}", "id", "internal", "seq", 0, "ts", 0,
                                  "error", "", "type", "bootstrap", "update", list);
        ws_accept(ctx->hub, req, WS_CHAN_JOBS, NULL, first);
}

/* The job must exist for its log routes: 400 "Cannot find job" as upstream. */
static char *job_log_path_checked(struct api_ctx *ctx, struct api_req *req, const char **ret_id)
{
        const char *id = job_id_param(req);
        json_t *rec = NULL;
        if (!id)
                return NULL;
        int r = jobs_get_json(ctx->jobs, id, &rec);
        if (r == -ENOENT) {
                api_reply_error(req, 400, "Cannot find job %s", id);
                return NULL;
        }
        if (r < 0) {
                reply_store_error(req, r);
                return NULL;
        }
        json_decref(rec);
        *ret_id = id;
        return jobs_log_path(ctx->jobs, id);
}

static void ws_job_log(struct api_ctx *ctx, struct api_req *req)
{
        const char *id = NULL;
        _cleanup_free_ char *path = job_log_path_checked(ctx, req, &id);
        if (!path)
                return;
        const char *tok = api_req_query(req, "resumeToken");
        long from = -1;
        if (tok && *tok && !parse_long(tok, 0, LONG_MAX, &from)) {
                api_reply_error(req, 400,
                                "resumeToken '%s' is not valid: a byte offset (the tail route's "
                                "resumeToken) expected",
                                tok);
                return;
        }
        json_t *lines = NULL;
        int r = logfile_lines_from(path, from, JOB_LOG_MAX_BYTES, &lines);
        if (r < 0) {
                api_reply_error(req, 500, "cannot read the log of job %s: %s", id, strerror(-r));
                return;
        }
        size_t n = json_array_size(lines);
        if (n > JOBS_WS_BACKLOG_LINES_MAX) { /* keep the newest */
                json_t *tail = json_array();
                for (size_t i = n - JOBS_WS_BACKLOG_LINES_MAX; i < n; i++)
                        json_array_append(tail, json_array_get(lines, i));
                json_decref(lines);
                lines = tail;
        }
        char key[48];
        snprintf(key, sizeof(key), "job:%s", id);
        ws_accept_backlog(ctx->hub, req, WS_CHAN_LOG, key, lines);
}

static void get_job_log_tail(struct api_ctx *ctx, struct api_req *req)
{
        const char *id = NULL;
        _cleanup_free_ char *path = job_log_path_checked(ctx, req, &id);
        if (!path)
                return;
        const char *ls = api_req_query(req, "limit"), *bs = api_req_query(req, "before");
        long limit = LOG_TAIL_LIMIT_MAX, before = -1;
        if (ls) {
                if (!parse_long(ls, LONG_MIN, LONG_MAX, &limit)) {
                        api_reply_error(req, 400, "Invalid log tail limit '%s': a number expected",
                                        ls);
                        return;
                }
                if (limit <= 0) {
                        api_reply_error(req, 400, "Log tail limit must be greater than zero");
                        return;
                }
                limit = MIN(limit, LOG_TAIL_LIMIT_MAX);
        }
        if (bs && !parse_long(bs, 0, LONG_MAX, &before)) {
                api_reply_error(req, 400,
                                "Invalid log cursor '%s': before must be a byte offset (the "
                                "olderCursor of the previous page)",
                                bs);
                return;
        }
        json_t *page = NULL;
        int r = logfile_tail_json(path, limit, before, &page);
        if (r < 0) {
                api_reply_error(req, 500, "cannot read the log of job %s: %s", id, strerror(-r));
                return;
        }
        api_reply_json(req, 200, page);
}

static void get_job_log_download(struct api_ctx *ctx, struct api_req *req)
{
        const char *id = NULL;
        _cleanup_free_ char *path = job_log_path_checked(ctx, req, &id);
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        if (!path)
                return;
        int r = fs_read_file(path, LOG_DOWNLOAD_MAX, &data, &len);
        if (r == -ENOENT) {
                api_reply_error(req, 404, "Log file not found");
                return;
        }
        if (r < 0) {
                api_reply_error(req, 500, "cannot read the log of job %s: %s", id, strerror(-r));
                return;
        }
        _cleanup_free_ char *disp = xasprintf("attachment; filename=\"job-%s.log\"", id);
        const char *h[] = {"Content-Disposition", disp, "Cache-Control", "no-store", NULL};
        api_reply_bytes(req, 200, "text/plain; charset=utf-8", data, len, h);
}

#if DBX_TEST_HOOKS
/* Test builds only: POST /test/job {key, steps, stepMs, fail, logLines,
 * action, displayName} submits a synthetic job whose steps are timer
 * ticks, so integration tests can exercise ordering, parallelism,
 * progress, failure, cancellation, logs, limits and orphans. */
#define TEST_JOB_STEPS_MAX     1000
#define TEST_JOB_STEP_MS_MAX   60000
#define TEST_JOB_LOG_LINES_MAX 10000

struct synth {
        struct api_ctx *ctx;
        struct job *job;
        sd_event_source *timer;
        long long step, steps, step_ms, log_lines;
        bool fail;
};

static int synth_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct synth *y = userdata;
        if (job_cancelled(y->job)) {
                job_done(y->job, -ECANCELED, NULL);
                return 0;
        }
        if (y->step == y->steps) {
                if (y->fail)
                        job_done(y->job, -EIO, "synthetic failure after the last step");
                else
                        job_done(y->job, 0, NULL);
                return 0;
        }
        y->step++;
        for (long long i = 0; i < y->log_lines; i++)
                job_log(y->job, "step %lld output line %lld", y->step, i + 1);
        char step[32];
        snprintf(step, sizeof(step), "step-%lld", y->step);
        job_progress(y->job, (int)(y->step * 100 / (y->steps + 1)), step, "Step %lld of %lld",
                     y->step, y->steps);
        sd_event_source_set_time(s, usec + (uint64_t)y->step_ms * 1000ULL);
        sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

static void synth_run(struct job *job, void *userdata)
{
        struct synth *y = userdata;
        uint64_t now;
        y->job = job;
        sd_event_now(y->ctx->event, CLOCK_MONOTONIC, &now);
        int r = sd_event_add_time(y->ctx->event, &y->timer, CLOCK_MONOTONIC,
                                  now + (uint64_t)y->step_ms * 1000ULL, 0, synth_tick, y);
        if (r < 0)
                job_done(job, r, "cannot arm the test job's timer");
}

static void synth_free(void *userdata)
{
        struct synth *y = userdata;
        sd_event_source_disable_unref(y->timer);
        free(y);
}

static void post_test_job(struct api_ctx *ctx, struct api_req *req)
{
        _cleanup_json_ json_t *body = api_req_json(req);
        struct dbx_error err = {0};
        const char *key = "", *action = "test", *name = "Test job";
        long long steps = 3, step_ms = 10, log_lines = 0;
        bool fail = false;
        if (!body)
                return;
        if (json_iget_string(body, "key", &key, &err) < 0 ||
            json_iget_string(body, "action", &action, &err) < 0 ||
            json_iget_string(body, "displayName", &name, &err) < 0 ||
            json_iget_int(body, "steps", &steps, &err) < 0 ||
            json_iget_int(body, "stepMs", &step_ms, &err) < 0 ||
            json_iget_int(body, "logLines", &log_lines, &err) < 0 ||
            json_iget_bool(body, "fail", &fail, &err) < 0) {
                char buf[DBX_ERROR_MSG_MAX + DBX_ERROR_PATH_MAX];
                api_reply_error(req, 400, "%s", dbx_error_text(&err, buf, sizeof(buf)));
                return;
        }
        if (steps < 0 || steps > TEST_JOB_STEPS_MAX || step_ms < 0 ||
            step_ms > TEST_JOB_STEP_MS_MAX || log_lines < 0 || log_lines > TEST_JOB_LOG_LINES_MAX) {
                api_reply_error(req, 400, "steps must be 0-%d, stepMs 0-%d, logLines 0-%d",
                                TEST_JOB_STEPS_MAX, TEST_JOB_STEP_MS_MAX, TEST_JOB_LOG_LINES_MAX);
                return;
        }
        struct synth *y = xcalloc(1, sizeof(*y));
        y->ctx = ctx;
        y->steps = steps;
        y->step_ms = step_ms;
        y->log_lines = log_lines;
        y->fail = fail;
        struct job_desc d = {.action = action, .key = key, .display_name = name};
        if (id_is_hex32(key))
                d.pup_id = key;
        char id[33];
        int r = jobs_submit(ctx->jobs, &d, synth_run, y, synth_free, id);
        if (r < 0) {
                free(y);
                if (r == -EAGAIN)
                        api_reply_error(req, 429,
                                        "too many jobs are waiting (at most %d may be queued): "
                                        "wait for some to finish, or cancel some with DELETE "
                                        "/jobs/{id}",
                                        JOBS_QUEUED_MAX);
                else if (r == -EINVAL)
                        api_reply_error(req, 400,
                                        "invalid job: action must be [a-z0-9-]+, displayName "
                                        "non-empty, and every field at most %d bytes",
                                        JOB_FIELD_MAX);
                else
                        api_reply_error(req, 500, "cannot queue the job: %s", strerror(-r));
                return;
        }
        api_reply_json(req, 200, json_pack("{s:s}", "id", id));
}
#endif

int routes_jobs_register(struct api_ctx *ctx)
{
        _cleanup_free_ char *log_dir = xasprintf("%s/logs", ctx->data_dir);
        int r = jobs_new(ctx->event, ctx->store, log_dir, on_emit, ctx, &ctx->jobs);
        if (r < 0) {
                log_error("jobs: cannot start the job queue (logs in %s): %s", log_dir,
                          strerror(-r));
                return r;
        }
        jobs_set_log_sink(ctx->jobs, on_log_line, ctx);
        const struct job_orphan *orphans;
        size_t n = 0;
        jobs_mark_orphans(ctx->jobs, &orphans, &n);
        for (size_t i = 0; i < n; i++)
                log_warn("jobs: job %s (%s%s%s) was %s when dogeboxd stopped: now orphaned",
                         orphans[i].id, orphans[i].action, orphans[i].pup_id[0] ? " of pup " : "",
                         orphans[i].pup_id, store_job_status_str(orphans[i].was));

        r = 0;
        r |= api_route(ctx, "GET", "/jobs", get_jobs, 0);
        r |= api_route(ctx, "GET", "/jobs/active", get_jobs_active, 0);
        r |= api_route(ctx, "GET", "/jobs/recent", get_jobs_recent, 0);
        r |= api_route(ctx, "GET", "/jobs/stats", get_jobs_stats, 0);
        r |= api_route(ctx, "GET", "/jobs/{id}", get_job, 0);
        r |= api_route(ctx, "DELETE", "/jobs/{id}", delete_job, 0);
        r |= api_route(ctx, "POST", "/jobs/clear-completed", post_clear_completed, 0);
        r |= api_route(ctx, NULL, "/ws/jobs", ws_jobs, ROUTE_WS);
        r |= api_route(ctx, NULL, "/ws/log/job/{id}", ws_job_log, ROUTE_WS);
        r |= api_route(ctx, "GET", "/log/job/{id}/tail", get_job_log_tail, 0);
        r |= api_route(ctx, "GET", "/log/job/{id}/download", get_job_log_download, 0);
#if DBX_TEST_HOOKS
        r |= api_route(ctx, "POST", "/test/job", post_test_job, 0);
#endif
        return r < 0 ? -EINVAL : 0;
}

void routes_jobs_free(struct api_ctx *ctx)
{
        ctx->jobs = jobs_free(ctx->jobs);
}
