/* JSON shapes of jobs (reference/upstream-api.md §6.5). Pure. */
#include "core/macro.h"
#include "core/util.h"
#include "jobs/jobs.h"

static json_t *time_or_null(int64_t ms)
{
        char buf[40];
        if (ms <= 0)
                return json_null();
        time_rfc3339((uint64_t)ms, buf);
        return json_string(buf);
}

static json_t *str(const char *s)
{
        json_t *j = json_string(s ? s : "");
        return j ? j : json_string(""); /* invalid UTF-8 never reaches here; be safe */
}

json_t *jobs_record_json(const struct store_job *r)
{
        json_t *o = json_object();
        json_object_set_new(o, "id", json_string(r->id));
        json_object_set_new(o, "started", time_or_null(r->created_ms));
        json_object_set_new(o, "finished", time_or_null(r->finished_ms));
        json_object_set_new(o, "displayName", str(r->display_name));
        json_object_set_new(o, "action", str(r->action));
        json_object_set_new(o, "progress", json_integer(r->progress));
        json_object_set_new(o, "status", json_string(store_job_status_str(r->status)));
        json_object_set_new(o, "summaryMessage", str(r->summary));
        json_object_set_new(o, "errorMessage", str(r->error));
        json_object_set_new(o, "pupID", str(r->pup_id));
        /* Our extensions (dpanel ignores unknown keys). */
        json_object_set_new(o, "step", str(r->step));
        json_object_set_new(o, "pupName", str(r->pup_name));
        json_object_set_new(o, "pupVersion", str(r->pup_version));
        json_object_set_new(o, "sourceId", str(r->source_id));
        json_object_set_new(o, "runStarted", time_or_null(r->started_ms));
        json_object_set_new(o, "cancelRequested", json_boolean(r->cancel_requested));
        return o;
}

json_t *jobs_progress_json(const char *job_id, const char *pup_id, int progress, const char *step,
                           const char *msg, bool error, int64_t step_taken_ns)
{
        json_t *o = json_object();
        json_object_set_new(o, "actionID", str(job_id));
        json_object_set_new(o, "pupID", str(pup_id));
        json_object_set_new(o, "progress", json_integer(progress));
        json_object_set_new(o, "step", str(step));
        json_object_set_new(o, "msg", str(msg));
        json_object_set_new(o, "error", json_boolean(error));
        json_object_set_new(o, "step_taken", json_integer(step_taken_ns < 0 ? 0 : step_taken_ns));
        return o;
}
