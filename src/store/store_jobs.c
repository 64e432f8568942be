#include "core/macro.h"
#include "store/store_jobs.h"

static const char *const status_names[_STORE_JOB_STATUS_MAX] = {
    [STORE_JOB_QUEUED] = "queued",       [STORE_JOB_IN_PROGRESS] = "in_progress",
    [STORE_JOB_COMPLETED] = "completed", [STORE_JOB_FAILED] = "failed",
    [STORE_JOB_CANCELLED] = "cancelled", [STORE_JOB_ORPHANED] = "orphaned",
};

const char *store_job_status_str(enum store_job_status s)
{
        return (unsigned)s < _STORE_JOB_STATUS_MAX ? status_names[s] : "unknown";
}

int store_job_status_from_str(const char *s)
{
        for (int i = 0; i < _STORE_JOB_STATUS_MAX; i++)
                if (s && streq(s, status_names[i]))
                        return i;
        return -EINVAL;
}

void store_job_clear(struct store_job *j)
{
        if (!j)
                return;
        free(j->action);
        free(j->key);
        free(j->display_name);
        free(j->pup_id);
        free(j->pup_name);
        free(j->pup_version);
        free(j->source_id);
        free(j->step);
        free(j->summary);
        free(j->error);
        memset(j, 0, sizeof(*j));
}

void store_job_list_free(struct store_job_list *l)
{
        if (!l)
                return;
        for (size_t i = 0; i < l->n; i++)
                store_job_clear(&l->items[i]);
        free(l->items);
        l->items = NULL;
        l->n = 0;
}

#define COLUMNS                                                                                    \
        "seq, id, action, key, display_name, pup_id, pup_name, pup_version, source_id, status, "   \
        "progress, step, summary, error, cancel_requested, created_ms, started_ms, finished_ms"

static char *col_str(sqlite3_stmt *st, int i)
{
        const unsigned char *t = sqlite3_column_text(st, i);
        return xstrdup(t ? (const char *)t : "");
}

static void read_row(sqlite3_stmt *st, struct store_job *j)
{
        memset(j, 0, sizeof(*j));
        j->seq = sqlite3_column_int64(st, 0);
        snprintf(j->id, sizeof(j->id), "%s", (const char *)sqlite3_column_text(st, 1));
        j->action = col_str(st, 2);
        j->key = col_str(st, 3);
        j->display_name = col_str(st, 4);
        j->pup_id = col_str(st, 5);
        j->pup_name = col_str(st, 6);
        j->pup_version = col_str(st, 7);
        j->source_id = col_str(st, 8);
        int s = store_job_status_from_str((const char *)sqlite3_column_text(st, 9));
        j->status = s < 0 ? STORE_JOB_FAILED : (enum store_job_status)s; /* CHECK forbids it */
        j->progress = sqlite3_column_int(st, 10);
        j->step = col_str(st, 11);
        j->summary = col_str(st, 12);
        j->error = col_str(st, 13);
        j->cancel_requested = sqlite3_column_int(st, 14) != 0;
        j->created_ms = sqlite3_column_int64(st, 15);
        j->started_ms = sqlite3_column_int64(st, 16); /* NULL reads as 0 */
        j->finished_ms = sqlite3_column_int64(st, 17);
}

static void bind_str(sqlite3_stmt *st, const char *name, const char *v)
{
        int i = sqlite3_bind_parameter_index(st, name);
        if (i > 0)
                sqlite3_bind_text(st, i, v ? v : "", -1, SQLITE_STATIC);
}

static void bind_int(sqlite3_stmt *st, const char *name, int64_t v)
{
        int i = sqlite3_bind_parameter_index(st, name);
        if (i > 0)
                sqlite3_bind_int64(st, i, v);
}

static void bind_time(sqlite3_stmt *st, const char *name, int64_t ms)
{
        int i = sqlite3_bind_parameter_index(st, name);
        if (i > 0 && ms > 0)
                sqlite3_bind_int64(st, i, ms);
        else if (i > 0)
                sqlite3_bind_null(st, i);
}

/* Bind every column of a job to the statement's parameters of the same
 * name (":id", ":status", ...); those the statement does not use are
 * skipped, so INSERT and UPDATE share this. */
static void bind_job(sqlite3_stmt *st, const struct store_job *j)
{
        bind_str(st, ":id", j->id);
        bind_str(st, ":action", j->action);
        bind_str(st, ":key", j->key);
        bind_str(st, ":display_name", j->display_name);
        bind_str(st, ":pup_id", j->pup_id);
        bind_str(st, ":pup_name", j->pup_name);
        bind_str(st, ":pup_version", j->pup_version);
        bind_str(st, ":source_id", j->source_id);
        bind_str(st, ":status", store_job_status_str(j->status));
        bind_int(st, ":progress", j->progress);
        bind_str(st, ":step", j->step);
        bind_str(st, ":summary", j->summary);
        bind_str(st, ":error", j->error);
        bind_int(st, ":cancel_requested", j->cancel_requested);
        bind_int(st, ":created_ms", j->created_ms);
        bind_time(st, ":started_ms", j->started_ms);
        bind_time(st, ":finished_ms", j->finished_ms);
}

int store_job_insert(struct store *s, struct store_job *j)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(
            s->db,
            "INSERT INTO jobs (id, action, key, display_name, pup_id, pup_name, pup_version, "
            "source_id, status, progress, step, summary, error, cancel_requested, created_ms, "
            "started_ms, finished_ms) VALUES (:id, :action, :key, :display_name, :pup_id, "
            ":pup_name, :pup_version, :source_id, :status, :progress, :step, :summary, :error, "
            ":cancel_requested, :created_ms, :started_ms, :finished_ms)",
            -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_errno(rc);
        bind_job(st, j);
        rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
                return store_errno(rc);
        j->seq = sqlite3_last_insert_rowid(s->db);
        return 0;
}

int store_job_update(struct store *s, const struct store_job *j)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(
            s->db,
            "UPDATE jobs SET pup_id=:pup_id, pup_name=:pup_name, pup_version=:pup_version, "
            "source_id=:source_id, status=:status, progress=:progress, step=:step, "
            "summary=:summary, error=:error, cancel_requested=:cancel_requested, "
            "started_ms=:started_ms, finished_ms=:finished_ms WHERE id=:id",
            -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_errno(rc);
        bind_job(st, j);
        rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
                return store_errno(rc);
        return sqlite3_changes(s->db) == 1 ? 0 : -ENOENT;
}

int store_job_get(struct store *s, const char *id, struct store_job *ret)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_row(s, "SELECT " COLUMNS " FROM jobs WHERE id = ?", id, &st);
        if (r < 0)
                return r;
        read_row(st, ret);
        return 0;
}

/* Run a prepared SELECT of COLUMNS and collect every row. */
static int collect(sqlite3_stmt *st, struct store_job_list *ret)
{
        struct store_job_list l = {0};
        size_t cap = 0;
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                if (l.n == cap) {
                        cap = cap ? cap * 2 : 16;
                        l.items = xrealloc(l.items, cap * sizeof(*l.items));
                }
                read_row(st, &l.items[l.n++]);
        }
        if (rc != SQLITE_DONE) {
                store_job_list_free(&l);
                return store_errno(rc);
        }
        *ret = l;
        return 0;
}

int store_job_list(struct store *s, enum store_job_query q, size_t limit,
                   struct store_job_list *ret)
{
        static const char *const sql[] = {
            [STORE_JOBS_ALL] = "SELECT " COLUMNS " FROM jobs ORDER BY seq DESC LIMIT ?",
            [STORE_JOBS_ACTIVE] = "SELECT " COLUMNS " FROM jobs WHERE status IN "
                                  "('queued','in_progress') ORDER BY seq ASC LIMIT ?",
            [STORE_JOBS_RECENT] = "SELECT " COLUMNS " FROM jobs WHERE status NOT IN "
                                  "('queued','in_progress') ORDER BY finished_ms DESC, seq DESC "
                                  "LIMIT ?",
        };
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        if ((unsigned)q >= ARRAY_SIZE(sql))
                return -EINVAL;
        int rc = sqlite3_prepare_v2(s->db, sql[q], -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_errno(rc);
        sqlite3_bind_int64(st, 1, limit ? (int64_t)limit : -1);
        return collect(st, ret);
}

int store_job_delete(struct store *s, const char *id)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db, "DELETE FROM jobs WHERE id = ?", -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_errno(rc);
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
                return store_errno(rc);
        return sqlite3_changes(s->db) == 1 ? 0 : -ENOENT;
}

/* SELECT the victims, then DELETE them, in one transaction. where_sql is
 * a condition on the jobs table with one parameter, ?1 = arg. */
static int select_and_delete(struct store *s, const char *where_sql, int64_t arg,
                             struct store_job_list *ret)
{
        _cleanup_free_ char *q = xasprintf("SELECT " COLUMNS " FROM jobs WHERE %s", where_sql);
        _cleanup_free_ char *d = xasprintf("DELETE FROM jobs WHERE %s", where_sql);
        struct store_job_list l = {0};
        int r = store_begin(s);
        if (r < 0)
                return r;
        {
                _cleanup_stmt_ sqlite3_stmt *st = NULL;
                int rc = sqlite3_prepare_v2(s->db, q, -1, &st, NULL);
                if (rc != SQLITE_OK) {
                        r = store_errno(rc);
                        goto fail;
                }
                sqlite3_bind_int64(st, 1, arg);
                r = collect(st, &l);
                if (r < 0)
                        goto fail;
        }
        {
                _cleanup_stmt_ sqlite3_stmt *st = NULL;
                int rc = sqlite3_prepare_v2(s->db, d, -1, &st, NULL);
                if (rc != SQLITE_OK) {
                        r = store_errno(rc);
                        goto fail;
                }
                sqlite3_bind_int64(st, 1, arg);
                rc = sqlite3_step(st);
                if (rc != SQLITE_DONE) {
                        r = store_errno(rc);
                        goto fail;
                }
        }
        r = store_commit(s);
        if (r < 0)
                goto fail;
        *ret = l;
        return 0;
fail:
        store_rollback(s);
        store_job_list_free(&l);
        return r;
}

int store_job_delete_finished(struct store *s, int64_t before_ms, struct store_job_list *ret)
{
        if (before_ms <= 0)
                before_ms = INT64_MAX;
        return select_and_delete(s,
                                 "status NOT IN ('queued','in_progress') AND "
                                 "COALESCE(finished_ms, 0) < ?1",
                                 before_ms, ret);
}

int store_job_prune(struct store *s, size_t keep, struct store_job_list *ret)
{
        return select_and_delete(s,
                                 "status NOT IN ('queued','in_progress') AND seq NOT IN "
                                 "(SELECT seq FROM jobs WHERE status NOT IN "
                                 "('queued','in_progress') ORDER BY finished_ms DESC, seq DESC "
                                 "LIMIT ?1)",
                                 (int64_t)keep, ret);
}

int store_job_counts(struct store *s, size_t counts[_STORE_JOB_STATUS_MAX])
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db, "SELECT status, COUNT(*) FROM jobs GROUP BY status", -1,
                                    &st, NULL);
        if (rc != SQLITE_OK)
                return store_errno(rc);
        for (int i = 0; i < _STORE_JOB_STATUS_MAX; i++)
                counts[i] = 0;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                int i = store_job_status_from_str((const char *)sqlite3_column_text(st, 0));
                if (i >= 0)
                        counts[i] = (size_t)sqlite3_column_int64(st, 1);
        }
        return rc == SQLITE_DONE ? 0 : store_errno(rc);
}
