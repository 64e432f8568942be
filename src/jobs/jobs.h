/* Jobs: every change the owner asks for (install, enable, uninstall, ...)
 * is a job with a 32-hex id, persisted in SQLite, with progress and a log
 * file, reported live through an emit callback (the API's WebSocket
 * broadcast).
 *
 * Threading: everything here runs on the sd-event loop thread (the
 * daemon's single state thread). A job's runner is called on the loop when
 * the job starts; it does blocking work itself through the worker pool and
 * calls job_progress/job_log/job_done from the loop.
 *
 * Ordering: jobs with the same key (a pup id, or "" for system jobs) run
 * strictly one after another in submission order; jobs with different keys
 * run in parallel, at most JOBS_RUNNING_MAX at once (the oldest eligible
 * job takes a free slot first); the rest wait as `queued`.
 *
 * States: queued -> in_progress -> completed | failed | cancelled;
 * queued -> cancelled (DELETE before it started); queued | in_progress ->
 * orphaned (the daemon died while the job was active; found at the next
 * start by jobs_new). See docs/api.md "Jobs". */
#pragma once

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>
#include "store/store.h"
#include "store/store_jobs.h"

#define JOBS_RUNNING_MAX                                                                           \
        16                      /* jobs in progress at once (different keys): bounds open          \
                                   files, memory and worker-pool pressure */
#define JOBS_QUEUED_MAX     256 /* waiting jobs; beyond, submit refuses (-EAGAIN) */
#define JOBS_RETAINED_MAX   500 /* finished records kept; the oldest are pruned with logs */
#define JOBS_RECENT_DEFAULT 50  /* GET /jobs/recent without ?limit (upstream) */
#define JOB_LOG_MAX_BYTES   (256 * 1024) /* per job log; later lines are dropped with a note */
#define JOB_LOG_RESERVE_BYTES                                                                      \
        4096                        /* kept free under the cap for the truncation note and the     \
                                       final status lines */
#define JOB_LOG_LINE_MAX       4096 /* one log line; longer messages are cut with "..." */
#define JOB_UPDATE_INTERVAL_MS 250  /* job:updated at most this often per job (coalesced) */
#define JOB_FIELD_MAX          256  /* action, key, names, ids in a job_desc */
#define JOB_MESSAGE_MAX        1024 /* progress messages and errors kept in the record */
#define LOG_TAIL_LIMIT_MAX     1000 /* lines per tail page (upstream clamps to 1000) */
#define LOG_TAIL_SCAN_MAX      (8 * 1024 * 1024) /* bytes read backwards for one tail page */

struct jobs;
struct job;

struct job_desc {
        const char *action;       /* "install", "enable", ... (JobRecord.action); [a-z0-9-]+ */
        const char *key;          /* serialization key: pup id, or "" for system jobs */
        const char *pup_id;       /* may be NULL (set later with job_set_pup) */
        const char *pup_name;     /* may be NULL */
        const char *pup_version;  /* may be NULL */
        const char *source_id;    /* may be NULL */
        const char *display_name; /* human summary, e.g. "Install Dogecoin Core"; required */
};

/* Called on the loop when the job starts. It must eventually call
 * job_done() exactly once (possibly from inside run itself). */
typedef void (*job_run_fn)(struct job *job, void *userdata);

/* The API's WebSocket broadcast. type is "job:created", "job:updated",
 * "job:completed", "job:failed", "job:cancelled", "job:orphaned",
 * "job:deleted" (id "internal", update = JobRecord) or "progress" (id = job
 * id, update = ActionProgress). update is stolen. error is "" or a message. */
typedef void (*job_emit_fn)(void *ud, const char *type, const char *id, json_t *update,
                            const char *error);

/* Live log lines: line is one complete line with its trailing '\n',
 * exactly as appended to the job's log file. */
typedef void (*job_log_fn)(void *ud, const char *job_id, const char *line, size_t len);

/* A job that was active when the daemon last stopped, as it was then. */
struct job_orphan {
        char id[33];
        char *key, *action, *pup_id;
        enum store_job_status was; /* STORE_JOB_QUEUED or STORE_JOB_IN_PROGRESS */
};

/* Open the job system. log_dir (created if needed) holds job-<id>.log.
 * Before anything else, jobs left queued/in_progress by a previous run
 * become `orphaned` (see jobs_mark_orphans), and finished records beyond
 * JOBS_RETAINED_MAX are pruned. */
int jobs_new(sd_event *e, struct store *store, const char *log_dir, job_emit_fn emit, void *emit_ud,
             struct jobs **ret);
/* Queued jobs become `cancelled` (dogeboxd is stopping); running jobs'
 * records stay as they are (they are `orphaned` at the next start). Every
 * job's free_userdata is called. The caller must make sure no runner
 * callback (e.g. a worker-pool completion) touches a job afterwards: drain
 * the worker pool first. */
struct jobs *jobs_free(struct jobs *j);
void jobs_set_log_sink(struct jobs *j, job_log_fn fn, void *ud);

/* Queue a job. run is called later from the loop (never from inside
 * jobs_submit), so the caller can answer its HTTP request first.
 * free_userdata (may be NULL) is called once the job is over (after
 * job_done, on a later loop iteration) or when it is cancelled before it
 * started. -EINVAL for a bad desc (missing action/display_name, a field
 * longer than JOB_FIELD_MAX, an action that is not [a-z0-9-]+), -EAGAIN
 * when JOBS_QUEUED_MAX jobs are already waiting, -ESHUTDOWN while
 * stopping, or a store error. On failure free_userdata is NOT called. */
int jobs_submit(struct jobs *j, const struct job_desc *d, job_run_fn run, void *userdata,
                void (*free_userdata)(void *), char ret_id[33]);

/* Report progress: percent (clamped to 0-100; -1 keeps the current one),
 * step (NULL keeps the current one), and a message (printf format; NULL for
 * none) that becomes the summaryMessage and a log line. Persists the
 * record, emits `progress` now and `job:updated` at most every
 * JOB_UPDATE_INTERVAL_MS (the last change is always sent). */
void job_progress(struct job *job, int percent, const char *step, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* One line (or several, split at '\n') to the job log and the live log
 * socket. No event on the state relay. */
void job_log(struct job *job, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Finish: error 0 -> completed (progress 100); -ECANCELED -> cancelled;
 * any other negative errno -> failed with errmsg (or strerror) as the
 * errorMessage. Emits job:completed / job:failed / job:cancelled exactly
 * once. The job and its userdata stay valid until the current loop callback
 * returns; afterwards the job pointer must not be used. Calling it twice is
 * a programming error (the second call is ignored). */
void job_done(struct job *job, int error, const char *errmsg);
/* The owner asked to cancel this running job: the runner should stop at
 * its next safe point and call job_done(job, -ECANCELED, NULL). */
bool job_cancelled(struct job *job);
/* The same as a flag a worker thread may poll while the job runs (a
 * download to abort); valid until job_done. */
const atomic_bool *job_cancel_flag(struct job *job);
/* An install learns its pup id only after adopting the pup: set it (and
 * optionally name/version; NULL keeps the current value). */
void job_set_pup(struct job *job, const char *pup_id, const char *pup_name,
                 const char *pup_version);
const char *job_get_id(const struct job *job);
const char *job_get_key(const struct job *job);
const char *job_get_action(const struct job *job);
const char *job_get_pup_id(const struct job *job); /* "" when not set */

/* Jobs not yet finished (queued or running) with this key. */
size_t jobs_count_active(struct jobs *j, const char *key);

/* The jobs found active when jobs_new opened the store (they are now
 * `orphaned`, with a line in their logs), oldest first, so the lifecycle
 * can reconcile their pups. Idempotent: always returns the same list. */
int jobs_mark_orphans(struct jobs *j, const struct job_orphan **ret, size_t *ret_n);

/* --- queries for the API ------------------------------------------- */

/* JobRecord (reference/upstream-api.md §6.5) plus our extensions: "step",
 * "pupName", "pupVersion", "sourceId", "runStarted", "cancelRequested". */
json_t *jobs_record_json(const struct store_job *r);
/* ActionProgress (§6.5). step_taken_ns: time since the step started. */
json_t *jobs_progress_json(const char *job_id, const char *pup_id, int progress, const char *step,
                           const char *msg, bool error, int64_t step_taken_ns);
/* {"jobs": [JobRecord...]} rows of the query ([] when none, never null). */
int jobs_list_json(struct jobs *j, enum store_job_query q, size_t limit, json_t **ret);
int jobs_get_json(struct jobs *j, const char *id, json_t **ret); /* -ENOENT */
/* {"total","queued","inProgress","completed","failed","cancelled",
 * "orphaned"} plus "running" (in memory) and "limits". */
int jobs_stats_json(struct jobs *j, json_t **ret);

enum jobs_delete_outcome {
        JOBS_DELETE_CANCELLED,        /* was queued: now `cancelled`, never ran */
        JOBS_DELETE_CANCEL_REQUESTED, /* is running: the runner was asked to stop */
        JOBS_DELETE_DELETED,          /* was finished: record and log removed */
};
/* DELETE /jobs/{id}. -ENOENT when unknown; -EALREADY when a cancel was
 * already requested of this running job. Emits job:cancelled,
 * job:updated or job:deleted respectively. */
int jobs_delete(struct jobs *j, const char *id, enum jobs_delete_outcome *ret);
/* Delete finished records (and their logs) that finished more than
 * older_than_ms ago (all finished when <= 0); emits job:deleted for each. */
int jobs_clear_finished(struct jobs *j, int64_t older_than_ms, size_t *ret_n);
/* DATA/logs/job-<id>.log for a syntactically valid id (caller frees),
 * NULL for anything else. */
char *jobs_log_path(struct jobs *j, const char *id);

/* --- log files (shared with pup logs) ------------------------------ */

/* One page of a line-oriented log file, upstream's LogPage:
 * {"lines": [...], "resumeToken"?: "<size>", "olderCursor"?: "<offset>",
 * "hasMoreOlder": bool}. before < 0: the newest lines (and resumeToken =
 * file size); otherwise lines that start before byte offset `before`.
 * limit 1..LOG_TAIL_LIMIT_MAX. A missing file is an empty page. */
int logfile_tail_json(const char *path, long limit, int64_t before, json_t **ret);
/* Bytes [from, size) of a log file split into complete lines (each with
 * its '\n'), as JSON strings in an array; from beyond the end (or < 0)
 * means the end (empty array). At most JOB_LOG_MAX_BYTES + reserve are
 * read: a longer tail starts at the first line break within the last ones. */
int logfile_lines_from(const char *path, int64_t from, size_t max_bytes, json_t **ret);
