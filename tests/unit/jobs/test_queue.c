/* The job queue on a real sd-event loop and a real SQLite store in a temp
 * dir: ordering per key, parallelism and its limit, the queue limit,
 * progress and its events, completion/failure/cancellation, logs and their
 * cap, orphans after a crash, pruning and clearing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sys/stat.h>
#include "core/fsutil.h"
#include "core/macro.h"
#include "core/util.h"
#include "jobs/jobs.h"

#define EVENTS_MAX 4096

struct event {
        char type[32];
        char id[40];
        json_t *update;
};

struct fixture {
        char dir[64];
        char *log_dir;
        sd_event *e;
        struct store *store;
        struct jobs *jobs;
        struct event ev[EVENTS_MAX];
        size_t nev;
        size_t log_lines; /* seen by the live sink */
};

static void on_emit(void *ud, const char *type, const char *id, json_t *update, const char *error)
{
        struct fixture *f = ud;
        assert_non_null(error);
        if (f->nev == EVENTS_MAX) {
                json_decref(update);
                return;
        }
        struct event *e = &f->ev[f->nev++];
        snprintf(e->type, sizeof(e->type), "%s", type);
        snprintf(e->id, sizeof(e->id), "%s", id);
        e->update = update;
}

static void on_log(void *ud, const char *job_id, const char *line, size_t len)
{
        struct fixture *f = ud;
        assert_true(len > 0);
        assert_int_equal(line[len - 1], '\n');
        f->log_lines++;
}

static void clear_events(struct fixture *f)
{
        for (size_t i = 0; i < f->nev; i++)
                json_decref(f->ev[i].update);
        f->nev = 0;
}

static int open_jobs(struct fixture *f)
{
        int r = jobs_new(f->e, f->store, f->log_dir, on_emit, f, &f->jobs);
        if (r >= 0)
                jobs_set_log_sink(f->jobs, on_log, f);
        return r;
}

static int setup(void **state)
{
        struct fixture *f = xcalloc(1, sizeof(*f));
        struct dbx_error err = {0};
        snprintf(f->dir, sizeof(f->dir), "/tmp/dbx-test-jobq-XXXXXX");
        if (!mkdtemp(f->dir))
                return -1;
        f->log_dir = xasprintf("%s/logs", f->dir);
        _cleanup_free_ char *db = xasprintf("%s/dogebox.db", f->dir);
        if (store_open(db, &f->store, &err) < 0)
                return -1;
        if (sd_event_new(&f->e) < 0)
                return -1;
        if (open_jobs(f) < 0)
                return -1;
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        jobs_free(f->jobs);
        clear_events(f);
        sd_event_unref(f->e);
        store_close(f->store);
        fs_rm_rf(f->dir);
        free(f->log_dir);
        free(f);
        return 0;
}

/* Run every pending event (deferred pumps, due timers) without blocking. */
static void drain(struct fixture *f)
{
        while (sd_event_run(f->e, 0) > 0)
                ;
}

/* Run the loop for about ms milliseconds (timers fire). */
static void run_for(struct fixture *f, unsigned ms)
{
        uint64_t end = now_mono_usec() + ms * 1000ULL;
        while (now_mono_usec() < end)
                sd_event_run(f->e, 10 * 1000);
        drain(f);
}

/* A runner that only records that it started; the test finishes it. */
struct manual {
        struct job *job;
        int started;
        int *freed;
        int sync_result; /* 1: call job_done(0) inside run */
};

static void manual_run(struct job *job, void *ud)
{
        struct manual *m = ud;
        m->job = job;
        m->started++;
        if (m->sync_result)
                job_done(job, 0, NULL);
}

static void manual_free(void *ud)
{
        struct manual *m = ud;
        if (m->freed)
                (*m->freed)++;
        /* the test owns m (static arrays) */
}

static char *submit(struct fixture *f, const char *key, struct manual *m, int *ret)
{
        struct job_desc d = {.action = "test", .key = key, .display_name = "Test job"};
        char id[33];
        int r = jobs_submit(f->jobs, &d, manual_run, m, manual_free, id);
        if (ret)
                *ret = r;
        else
                assert_int_equal(r, 0);
        return r == 0 ? xstrdup(id) : NULL;
}

static struct store_job get(struct fixture *f, const char *id)
{
        struct store_job r = {0};
        assert_int_equal(store_job_get(f->store, id, &r), 0);
        return r;
}

static size_t count_events(struct fixture *f, const char *type, const char *job_id)
{
        size_t n = 0;
        for (size_t i = 0; i < f->nev; i++) {
                if (!streq(f->ev[i].type, type))
                        continue;
                const char *id = json_string_value(json_object_get(f->ev[i].update, "id"));
                if (!id)
                        id = json_string_value(json_object_get(f->ev[i].update, "actionID"));
                if (!job_id || (id && streq(id, job_id)))
                        n++;
        }
        return n;
}

static json_t *last_event(struct fixture *f, const char *type, const char *job_id)
{
        for (size_t i = f->nev; i-- > 0;) {
                if (!streq(f->ev[i].type, type))
                        continue;
                const char *id = json_string_value(json_object_get(f->ev[i].update, "id"));
                if (!id)
                        id = json_string_value(json_object_get(f->ev[i].update, "actionID"));
                if (id && streq(id, job_id))
                        return f->ev[i].update;
        }
        return NULL;
}

static char *read_log(struct fixture *f, const char *id)
{
        _cleanup_free_ char *p = jobs_log_path(f->jobs, id);
        char *data = NULL;
        size_t len;
        if (fs_read_file(p, 4 * JOB_LOG_MAX_BYTES, &data, &len) < 0)
                return NULL;
        return data;
}

/* --- ordering and limits -------------------------------------------- */

static void test_same_key_in_order(void **state)
{
        struct fixture *f = *state;
        static struct manual m[3];
        int freed = 0;
        memset(m, 0, sizeof(m));
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;
        for (int i = 0; i < 3; i++)
                m[i].freed = &freed;
        a = submit(f, "pup-1", &m[0], NULL);
        b = submit(f, "pup-1", &m[1], NULL);
        c = submit(f, "pup-1", &m[2], NULL);
        /* nothing runs inside submit */
        assert_int_equal(m[0].started, 0);
        assert_int_equal(count_events(f, "job:created", NULL), 3);
        drain(f);
        assert_int_equal(m[0].started, 1);
        assert_int_equal(m[1].started, 0);
        struct store_job r = get(f, a);
        assert_int_equal(r.status, STORE_JOB_IN_PROGRESS);
        assert_true(r.started_ms > 0);
        store_job_clear(&r);
        r = get(f, b);
        assert_int_equal(r.status, STORE_JOB_QUEUED);
        store_job_clear(&r);
        assert_int_equal(jobs_count_active(f->jobs, "pup-1"), 3);
        job_done(m[0].job, 0, NULL);
        assert_int_equal(freed, 0); /* not inside job_done: later */
        drain(f);
        assert_int_equal(freed, 1);
        assert_int_equal(m[1].started, 1);
        assert_int_equal(m[2].started, 0);
        job_done(m[1].job, 0, NULL);
        drain(f);
        assert_int_equal(m[2].started, 1);
        job_done(m[2].job, 0, NULL);
        drain(f);
        assert_int_equal(freed, 3);
        assert_int_equal(jobs_count_active(f->jobs, NULL), 0);
        r = get(f, c);
        assert_int_equal(r.status, STORE_JOB_COMPLETED);
        assert_int_equal(r.progress, 100);
        assert_true(r.finished_ms >= r.started_ms && r.started_ms >= r.created_ms);
        assert_string_equal(r.summary, "Job completed successfully");
        store_job_clear(&r);
        assert_int_equal(count_events(f, "job:completed", NULL), 3);
        assert_int_equal(count_events(f, "job:completed", a), 1);
}

static void test_parallel_keys_and_limit(void **state)
{
        struct fixture *f = *state;
        enum { N = JOBS_RUNNING_MAX + 3 };
        static struct manual m[N];
        memset(m, 0, sizeof(m));
        char *ids[N];
        for (int i = 0; i < N; i++) {
                char key[16];
                snprintf(key, sizeof(key), "k%d", i);
                ids[i] = submit(f, key, &m[i], NULL);
        }
        drain(f);
        int started = 0;
        for (int i = 0; i < N; i++)
                started += m[i].started;
        assert_int_equal(started, JOBS_RUNNING_MAX);
        for (int i = JOBS_RUNNING_MAX; i < N; i++)
                assert_int_equal(m[i].started, 0); /* the oldest got the slots */
        /* a finished one frees exactly one slot, for the oldest waiting */
        job_done(m[3].job, 0, NULL);
        drain(f);
        assert_int_equal(m[JOBS_RUNNING_MAX].started, 1);
        assert_int_equal(m[JOBS_RUNNING_MAX + 1].started, 0);
        json_t *stats = NULL;
        assert_int_equal(jobs_stats_json(f->jobs, &stats), 0);
        assert_int_equal(json_integer_value(json_object_get(stats, "running")), JOBS_RUNNING_MAX);
        assert_int_equal(json_integer_value(json_object_get(stats, "inProgress")),
                         JOBS_RUNNING_MAX);
        assert_int_equal(json_integer_value(json_object_get(stats, "queued")), 2);
        assert_int_equal(json_integer_value(json_object_get(stats, "completed")), 1);
        assert_int_equal(json_integer_value(json_object_get(stats, "total")), N);
        assert_int_equal(
            json_integer_value(json_object_get(json_object_get(stats, "limits"), "runningMax")),
            JOBS_RUNNING_MAX);
        json_decref(stats);
        for (int i = 0; i < N; i++)
                free(ids[i]);
        /* teardown frees the rest: running ones stay in_progress */
}

static void test_queue_limit_and_bad_desc(void **state)
{
        struct fixture *f = *state;
        static struct manual m[JOBS_QUEUED_MAX + 1];
        memset(m, 0, sizeof(m));
        int r;
        for (int i = 0; i < JOBS_QUEUED_MAX; i++)
                free(submit(f, "same", &m[i], NULL));
        assert_null(submit(f, "same", &m[JOBS_QUEUED_MAX], &r));
        assert_int_equal(r, -EAGAIN);
        /* once one starts, there is room again */
        drain(f);
        free(submit(f, "same", &m[JOBS_QUEUED_MAX], NULL));

        char id[33];
        char longs[JOB_FIELD_MAX + 2];
        memset(longs, 'x', sizeof(longs) - 1);
        longs[sizeof(longs) - 1] = 0;
        const struct job_desc bad[] = {
            {.action = NULL, .key = "", .display_name = "x"},
            {.action = "", .key = "", .display_name = "x"},
            {.action = "Bad Action", .key = "", .display_name = "x"},
            {.action = "ok", .key = NULL, .display_name = "x"},
            {.action = "ok", .key = "", .display_name = NULL},
            {.action = "ok", .key = "", .display_name = ""},
            {.action = "ok", .key = longs, .display_name = "x"},
            {.action = "ok", .key = "", .display_name = "x", .pup_name = longs},
        };
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
                if (jobs_submit(f->jobs, &bad[i], manual_run, NULL, NULL, id) != -EINVAL)
                        fail_msg("bad desc %zu accepted", i);
        struct job_desc ok = {.action = "ok", .key = "", .display_name = "x"};
        assert_int_equal(jobs_submit(f->jobs, &ok, NULL, NULL, NULL, id), -EINVAL);
}

/* --- progress, events, outcomes ------------------------------------- */

static void test_progress_and_events(void **state)
{
        struct fixture *f = *state;
        static struct manual m;
        memset(&m, 0, sizeof(m));
        _cleanup_free_ char *id = submit(f, "p", &m, NULL);
        drain(f);
        clear_events(f);
        for (int i = 1; i <= 100; i++)
                job_progress(m.job, i / 2, i <= 50 ? "download" : "extract", "Working %d", i);
        assert_int_equal(count_events(f, "progress", id), 100);
        size_t updates = count_events(f, "job:updated", id);
        assert_true(updates < 50); /* coalesced, not one per progress line */
        struct store_job r = get(f, id);
        assert_int_equal(r.progress, 50);
        assert_string_equal(r.step, "extract");
        assert_string_equal(r.summary, "Working 100");
        store_job_clear(&r);
        /* the trailing update carries the latest state */
        run_for(f, JOB_UPDATE_INTERVAL_MS * 2);
        json_t *u = last_event(f, "job:updated", id);
        assert_non_null(u);
        assert_int_equal(json_integer_value(json_object_get(u, "progress")), 50);
        assert_string_equal(json_string_value(json_object_get(u, "summaryMessage")), "Working 100");
        /* the progress event: ActionProgress, with the job id as Change id */
        json_t *p = last_event(f, "progress", id);
        assert_string_equal(json_string_value(json_object_get(p, "msg")), "Working 100");
        assert_string_equal(json_string_value(json_object_get(p, "step")), "extract");
        for (size_t i = 0; i < f->nev; i++)
                if (streq(f->ev[i].type, "progress"))
                        assert_string_equal(f->ev[i].id, id);
                else
                        assert_string_equal(f->ev[i].id, "internal");
        /* percent clamps; -1 and NULL keep */
        job_progress(m.job, 250, NULL, NULL);
        r = get(f, id);
        assert_int_equal(r.progress, 100);
        assert_string_equal(r.step, "extract");
        assert_string_equal(r.summary, "Working 100");
        store_job_clear(&r);
        job_set_pup(m.job, "0123456789abcdef0123456789abcdef", "hello", NULL);
        assert_string_equal(job_get_pup_id(m.job), "0123456789abcdef0123456789abcdef");
        r = get(f, id);
        assert_string_equal(r.pup_name, "hello");
        store_job_clear(&r);
        clear_events(f);
        job_done(m.job, 0, NULL);
        drain(f);
        assert_int_equal(count_events(f, "job:completed", id), 1);
        assert_int_equal(count_events(f, "job:failed", id), 0);
        assert_int_equal(count_events(f, "job:updated", id), 0); /* no stale trailing update */
        run_for(f, JOB_UPDATE_INTERVAL_MS * 2);
        assert_int_equal(count_events(f, "job:updated", id), 0);
}

static void test_failure_and_double_done(void **state)
{
        struct fixture *f = *state;
        static struct manual m[2];
        memset(m, 0, sizeof(m));
        _cleanup_free_ char *a = submit(f, "p", &m[0], NULL);
        _cleanup_free_ char *b = submit(f, "q", &m[1], NULL);
        drain(f);
        struct job *ja = m[0].job;
        job_done(ja, -EIO, "download failed: checksum mismatch");
        job_done(ja, 0, NULL);   /* ignored: still valid until the callback returns */
        job_log(ja, "too late"); /* ignored too: the outcome was the last line */
        job_progress(ja, 99, "late", "too late");
        job_done(m[1].job, -ENOSPC, NULL);
        drain(f);
        struct store_job r = get(f, a);
        assert_int_equal(r.status, STORE_JOB_FAILED);
        assert_string_equal(r.error, "download failed: checksum mismatch");
        assert_string_equal(r.summary, "download failed: checksum mismatch");
        assert_true(r.finished_ms > 0);
        assert_int_not_equal(r.progress, 100);
        store_job_clear(&r);
        r = get(f, b);
        assert_string_equal(r.error, strerror(ENOSPC));
        store_job_clear(&r);
        assert_int_equal(count_events(f, "job:failed", a), 1);
        assert_int_equal(count_events(f, "job:completed", a), 0);
        json_t *p = last_event(f, "progress", a);
        assert_true(json_is_true(json_object_get(p, "error")));
        _cleanup_free_ char *log = read_log(f, a);
        assert_non_null(strstr(log, "Job failed after "));
        assert_non_null(strstr(log, ": download failed: checksum mismatch\n"));
        assert_null(strstr(log, "too late"));
}

static void test_sync_done_in_run(void **state)
{
        struct fixture *f = *state;
        static struct manual m[2];
        memset(m, 0, sizeof(m));
        m[0].sync_result = 1;
        _cleanup_free_ char *a = submit(f, "s", &m[0], NULL);
        _cleanup_free_ char *b = submit(f, "s", &m[1], NULL);
        drain(f);
        assert_int_equal(m[0].started, 1);
        assert_int_equal(m[1].started, 1);
        struct store_job r = get(f, a);
        assert_int_equal(r.status, STORE_JOB_COMPLETED);
        store_job_clear(&r);
}

static void test_cancel_queued(void **state)
{
        struct fixture *f = *state;
        static struct manual m[3];
        int freed = 0;
        memset(m, 0, sizeof(m));
        for (int i = 0; i < 3; i++)
                m[i].freed = &freed;
        _cleanup_free_ char *a = submit(f, "c", &m[0], NULL);
        _cleanup_free_ char *b = submit(f, "c", &m[1], NULL);
        _cleanup_free_ char *c = submit(f, "c", &m[2], NULL);
        drain(f);
        enum jobs_delete_outcome out;
        assert_int_equal(jobs_delete(f->jobs, b, &out), 0);
        assert_int_equal(out, JOBS_DELETE_CANCELLED);
        assert_int_equal(count_events(f, "job:cancelled", b), 1);
        drain(f);
        assert_int_equal(freed, 1); /* its userdata is released */
        struct store_job r = get(f, b);
        assert_int_equal(r.status, STORE_JOB_CANCELLED);
        assert_true(r.finished_ms > 0);
        assert_int_equal(r.started_ms, 0);
        store_job_clear(&r);
        job_done(m[0].job, 0, NULL);
        drain(f);
        assert_int_equal(m[1].started, 0); /* never ran */
        assert_int_equal(m[2].started, 1);
        /* cancelling a cancelled (finished) job deletes its record */
        assert_int_equal(jobs_delete(f->jobs, b, &out), 0);
        assert_int_equal(out, JOBS_DELETE_DELETED);
        assert_int_equal(store_job_get(f->store, b, &r), -ENOENT);
        _cleanup_free_ char *p = jobs_log_path(f->jobs, b);
        assert_int_equal(access(p, F_OK), -1);
        assert_int_equal(count_events(f, "job:deleted", b), 1);
        assert_int_equal(jobs_delete(f->jobs, b, &out), -ENOENT);
        assert_int_equal(jobs_delete(f->jobs, "0123456789abcdef0123456789abcdef", &out), -ENOENT);
}

static void test_cancel_running(void **state)
{
        struct fixture *f = *state;
        static struct manual m;
        memset(&m, 0, sizeof(m));
        _cleanup_free_ char *a = submit(f, "r", &m, NULL);
        drain(f);
        assert_false(job_cancelled(m.job));
        enum jobs_delete_outcome out;
        assert_int_equal(jobs_delete(f->jobs, a, &out), 0);
        assert_int_equal(out, JOBS_DELETE_CANCEL_REQUESTED);
        assert_true(job_cancelled(m.job));
        assert_int_equal(jobs_delete(f->jobs, a, &out), -EALREADY);
        struct store_job r = get(f, a);
        assert_true(r.cancel_requested);
        assert_int_equal(r.status, STORE_JOB_IN_PROGRESS);
        store_job_clear(&r);
        json_t *u = last_event(f, "job:updated", a);
        assert_true(json_is_true(json_object_get(u, "cancelRequested")));
        job_done(m.job, -ECANCELED, NULL);
        drain(f);
        r = get(f, a);
        assert_int_equal(r.status, STORE_JOB_CANCELLED);
        assert_string_equal(r.summary, "Job cancelled");
        assert_string_equal(r.error, "");
        store_job_clear(&r);
        assert_int_equal(count_events(f, "job:cancelled", a), 1);
        _cleanup_free_ char *log = read_log(f, a);
        assert_non_null(strstr(log, "Cancellation requested by the owner\n"));
        assert_non_null(strstr(log, "Job cancelled after "));
}

/* --- logs ----------------------------------------------------------- */

static void test_log_lines_and_cap(void **state)
{
        struct fixture *f = *state;
        static struct manual m;
        memset(&m, 0, sizeof(m));
        _cleanup_free_ char *a = submit(f, "l", &m, NULL);
        drain(f);
        f->log_lines = 0;
        job_log(m.job, "first\nsecond\r\n\nthird \xff");
        assert_int_equal(f->log_lines, 3);
        _cleanup_free_ char *log = read_log(f, a);
        assert_non_null(strstr(log, "] Job queued: Test job\n"));
        assert_non_null(strstr(log, "] Job started\n"));
        assert_non_null(strstr(log, "] first\n"));
        assert_non_null(strstr(log, "] second\n"));
        assert_non_null(strstr(log, "] third ?\n"));
        assert_null(strstr(log, "\n\n"));
        /* every line is "[YYYY-MM-DD HH:MM:SS] ...\n" */
        for (char *p = log; *p; p = strchr(p, '\n') + 1) {
                assert_int_equal(p[0], '[');
                assert_int_equal(p[20], ']');
                assert_int_equal(p[21], ' ');
        }
        /* a very long line is cut */
        char *big = xmalloc(3 * JOB_LOG_LINE_MAX);
        memset(big, 'y', 3 * JOB_LOG_LINE_MAX - 1);
        big[3 * JOB_LOG_LINE_MAX - 1] = 0;
        job_log(m.job, "%s", big);
        free(big);
        /* fill beyond the cap */
        for (int i = 0; i < JOB_LOG_MAX_BYTES / 40 + 100; i++)
                job_log(m.job, "filler line %06d with some padding text", i);
        job_done(m.job, 0, NULL);
        drain(f);
        _cleanup_free_ char *p = jobs_log_path(f->jobs, a);
        struct stat st;
        assert_int_equal(stat(p, &st), 0);
        assert_true(st.st_size <= JOB_LOG_MAX_BYTES);
        assert_true(st.st_size > JOB_LOG_MAX_BYTES - 2 * JOB_LOG_RESERVE_BYTES);
        free(log);
        log = read_log(f, a);
        assert_non_null(strstr(log, "[log truncated: a job log keeps at most"));
        assert_null(strstr(strstr(log, "[log truncated") + 1, "[log truncated"));
        assert_non_null(strstr(log, "Job completed successfully in "));
        char *cut = strstr(log, "yyy...\n");
        assert_non_null(cut);
        /* live lines were still delivered past the cap */
        assert_true(f->log_lines > (size_t)(JOB_LOG_MAX_BYTES / 40));
}

/* --- restart: orphans, pruning, shutdown ---------------------------- */

static void insert_row(struct fixture *f, const char *id, enum store_job_status st,
                       int64_t finished)
{
        struct store_job r = {.action = "install",
                              .key = "k",
                              .display_name = "x",
                              .pup_id = "p1",
                              .status = st,
                              .created_ms = 1000,
                              .finished_ms = finished};
        snprintf(r.id, sizeof(r.id), "%s", id);
        assert_int_equal(store_job_insert(f->store, &r), 0);
}

static void reopen(struct fixture *f)
{
        jobs_free(f->jobs);
        f->jobs = NULL;
        clear_events(f);
        assert_int_equal(open_jobs(f), 0);
}

static void test_orphans(void **state)
{
        struct fixture *f = *state;
        insert_row(f, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", STORE_JOB_IN_PROGRESS, 0);
        insert_row(f, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", STORE_JOB_QUEUED, 0);
        insert_row(f, "cccccccccccccccccccccccccccccccc", STORE_JOB_COMPLETED, 5000);
        reopen(f); /* a "restart" after a crash */
        const struct job_orphan *o;
        size_t n;
        assert_int_equal(jobs_mark_orphans(f->jobs, &o, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(o[0].id, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        assert_int_equal(o[0].was, STORE_JOB_IN_PROGRESS);
        assert_string_equal(o[0].pup_id, "p1");
        assert_string_equal(o[0].action, "install");
        assert_string_equal(o[0].key, "k");
        assert_int_equal(o[1].was, STORE_JOB_QUEUED);
        struct store_job r = get(f, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        assert_int_equal(r.status, STORE_JOB_ORPHANED);
        assert_true(r.finished_ms > 0);
        assert_string_equal(r.summary, "Job marked as orphaned");
        assert_non_null(strstr(r.error, "while the job was running"));
        store_job_clear(&r);
        r = get(f, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
        assert_non_null(strstr(r.error, "before the job started"));
        store_job_clear(&r);
        r = get(f, "cccccccccccccccccccccccccccccccc");
        assert_int_equal(r.status, STORE_JOB_COMPLETED);
        store_job_clear(&r);
        assert_int_equal(count_events(f, "job:orphaned", NULL), 2);
        _cleanup_free_ char *log = read_log(f, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        assert_non_null(strstr(log, "Job orphaned: dogeboxd stopped while the job was active"));
        /* idempotent, and a second start finds nothing new */
        assert_int_equal(jobs_mark_orphans(f->jobs, &o, &n), 0);
        assert_int_equal(n, 2);
        reopen(f);
        assert_int_equal(jobs_mark_orphans(f->jobs, &o, &n), 0);
        assert_int_equal(n, 0);
}

static void test_shutdown_semantics(void **state)
{
        struct fixture *f = *state;
        static struct manual m[2];
        int freed = 0;
        memset(m, 0, sizeof(m));
        m[0].freed = m[1].freed = &freed;
        _cleanup_free_ char *a = submit(f, "z", &m[0], NULL);
        _cleanup_free_ char *b = submit(f, "z", &m[1], NULL);
        drain(f);
        jobs_free(f->jobs);
        f->jobs = NULL;
        assert_int_equal(freed, 2);
        struct store_job r = get(f, a);
        assert_int_equal(r.status, STORE_JOB_IN_PROGRESS); /* left as is */
        store_job_clear(&r);
        r = get(f, b);
        assert_int_equal(r.status, STORE_JOB_CANCELLED);
        store_job_clear(&r);
        assert_int_equal(open_jobs(f), 0);
        const struct job_orphan *o;
        size_t n;
        jobs_mark_orphans(f->jobs, &o, &n);
        assert_int_equal(n, 1);
        assert_string_equal(o[0].id, a);
}

static void test_prune_and_clear(void **state)
{
        struct fixture *f = *state;
        char id[33];
        for (int i = 0; i < JOBS_RETAINED_MAX + 5; i++) {
                snprintf(id, sizeof(id), "%032x", i + 1);
                insert_row(f, id, STORE_JOB_COMPLETED, 10000 + i);
        }
        insert_row(f, "ffffffffffffffffffffffffffffffff", STORE_JOB_FAILED, 20000 + 1000);
        /* a log file for the oldest, to see it go */
        _cleanup_free_ char *p = jobs_log_path(f->jobs, "00000000000000000000000000000001");
        assert_int_equal(fs_write_atomic(p, "x\n", 2, 0640), 0);
        reopen(f);
        size_t counts[_STORE_JOB_STATUS_MAX];
        assert_int_equal(store_job_counts(f->store, counts), 0);
        assert_int_equal(counts[STORE_JOB_COMPLETED] + counts[STORE_JOB_FAILED], JOBS_RETAINED_MAX);
        struct store_job r;
        assert_int_equal(store_job_get(f->store, "00000000000000000000000000000001", &r), -ENOENT);
        assert_int_equal(access(p, F_OK), -1);
        assert_int_equal(count_events(f, "job:deleted", NULL), 6);
        /* recent: newest finished first, limited */
        json_t *l = NULL;
        assert_int_equal(jobs_list_json(f->jobs, STORE_JOBS_RECENT, 3, &l), 0);
        json_t *arr = json_object_get(l, "jobs");
        assert_int_equal(json_array_size(arr), 3);
        assert_string_equal(json_string_value(json_object_get(json_array_get(arr, 0), "id")),
                            "ffffffffffffffffffffffffffffffff");
        json_decref(l);
        /* clear older than: only rows that finished long ago (all of them:
         * they finished in 1970) */
        size_t n = 0;
        assert_int_equal(jobs_clear_finished(f->jobs, 86400000LL, &n), 0);
        assert_int_equal(n, JOBS_RETAINED_MAX);
        assert_int_equal(jobs_list_json(f->jobs, STORE_JOBS_ALL, 0, &l), 0);
        assert_int_equal(json_array_size(json_object_get(l, "jobs")), 0); /* [] not null */
        json_decref(l);
}

static void test_clear_keeps_active_and_new(void **state)
{
        struct fixture *f = *state;
        static struct manual m[2];
        memset(m, 0, sizeof(m));
        _cleanup_free_ char *a = submit(f, "x", &m[0], NULL);
        _cleanup_free_ char *b = submit(f, "y", &m[1], NULL);
        drain(f);
        job_done(m[0].job, 0, NULL);
        drain(f);
        size_t n = 0;
        /* finished just now: not older than a day */
        assert_int_equal(jobs_clear_finished(f->jobs, 86400000LL, &n), 0);
        assert_int_equal(n, 0);
        assert_int_equal(jobs_clear_finished(f->jobs, 0, &n), 0);
        assert_int_equal(n, 1);
        struct store_job r = get(f, b); /* the running one stays */
        assert_int_equal(r.status, STORE_JOB_IN_PROGRESS);
        store_job_clear(&r);
        /* lists: ALL newest first, ACTIVE oldest first */
        static struct manual m2;
        memset(&m2, 0, sizeof(m2));
        _cleanup_free_ char *c = submit(f, "y", &m2, NULL);
        json_t *l = NULL;
        assert_int_equal(jobs_list_json(f->jobs, STORE_JOBS_ALL, 0, &l), 0);
        assert_string_equal(
            json_string_value(json_object_get(json_array_get(json_object_get(l, "jobs"), 0), "id")),
            c);
        json_decref(l);
        assert_int_equal(jobs_list_json(f->jobs, STORE_JOBS_ACTIVE, 0, &l), 0);
        assert_string_equal(
            json_string_value(json_object_get(json_array_get(json_object_get(l, "jobs"), 0), "id")),
            b);
        json_decref(l);
        json_t *one = NULL;
        assert_int_equal(jobs_get_json(f->jobs, c, &one), 0);
        assert_string_equal(json_string_value(json_object_get(one, "status")), "queued");
        json_decref(one);
        assert_int_equal(jobs_get_json(f->jobs, a, &one), -ENOENT);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_same_key_in_order, setup, teardown),
            cmocka_unit_test_setup_teardown(test_parallel_keys_and_limit, setup, teardown),
            cmocka_unit_test_setup_teardown(test_queue_limit_and_bad_desc, setup, teardown),
            cmocka_unit_test_setup_teardown(test_progress_and_events, setup, teardown),
            cmocka_unit_test_setup_teardown(test_failure_and_double_done, setup, teardown),
            cmocka_unit_test_setup_teardown(test_sync_done_in_run, setup, teardown),
            cmocka_unit_test_setup_teardown(test_cancel_queued, setup, teardown),
            cmocka_unit_test_setup_teardown(test_cancel_running, setup, teardown),
            cmocka_unit_test_setup_teardown(test_log_lines_and_cap, setup, teardown),
            cmocka_unit_test_setup_teardown(test_orphans, setup, teardown),
            cmocka_unit_test_setup_teardown(test_shutdown_semantics, setup, teardown),
            cmocka_unit_test_setup_teardown(test_prune_and_clear, setup, teardown),
            cmocka_unit_test_setup_teardown(test_clear_keeps_active_and_new, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
