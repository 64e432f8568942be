/* Typed queries for the jobs table (migration "jobs"). One row per job,
 * keyed by its 32-hex id; seq is the submission order. Times are Unix ms,
 * 0 meaning "not yet" (stored as NULL). The store does not log. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "store/store.h"

enum store_job_status {
        STORE_JOB_QUEUED,
        STORE_JOB_IN_PROGRESS,
        STORE_JOB_COMPLETED,
        STORE_JOB_FAILED,
        STORE_JOB_CANCELLED,
        STORE_JOB_ORPHANED,
        _STORE_JOB_STATUS_MAX,
};

/* "queued", "in_progress", ... as upstream's JobRecord.status. */
const char *store_job_status_str(enum store_job_status s);
int store_job_status_from_str(const char *s); /* -EINVAL when unknown */
static inline bool store_job_status_is_final(enum store_job_status s)
{
        return s != STORE_JOB_QUEUED && s != STORE_JOB_IN_PROGRESS;
}

struct store_job {
        int64_t seq; /* set by store_job_insert */
        char id[33];
        char *action, *key, *display_name; /* never NULL in a row read back */
        char *pup_id, *pup_name, *pup_version, *source_id;
        enum store_job_status status;
        int progress; /* 0-100 */
        char *step, *summary, *error;
        bool cancel_requested;
        int64_t created_ms, started_ms, finished_ms;
};

/* Free the strings of j (not j itself) and zero it. */
void store_job_clear(struct store_job *j);

struct store_job_list {
        struct store_job *items;
        size_t n;
};
void store_job_list_free(struct store_job_list *l);

enum store_job_query {
        STORE_JOBS_ALL,    /* every row, newest submission first */
        STORE_JOBS_ACTIVE, /* queued + in_progress, oldest submission first */
        STORE_JOBS_RECENT, /* finished rows, newest finished first */
};

/* NULL strings are stored as "". Sets j->seq. -EEXIST on a duplicate id. */
int store_job_insert(struct store *s, struct store_job *j);
/* Write every mutable column of the row with j->id. -ENOENT if absent. */
int store_job_update(struct store *s, const struct store_job *j);
/* -ENOENT if absent. ret is filled (caller clears it). */
int store_job_get(struct store *s, const char *id, struct store_job *ret);
/* limit 0 = no limit. */
int store_job_list(struct store *s, enum store_job_query q, size_t limit,
                   struct store_job_list *ret);
int store_job_delete(struct store *s, const char *id);
/* Delete finished rows whose finished time is before before_ms (every
 * finished row when before_ms <= 0); the deleted rows are returned so the
 * caller can remove their logs and tell clients. One transaction. */
int store_job_delete_finished(struct store *s, int64_t before_ms, struct store_job_list *ret);
/* Keep the newest `keep` finished rows (by finished time), delete the
 * rest and return them. One transaction. */
int store_job_prune(struct store *s, size_t keep, struct store_job_list *ret);
/* Rows per status. */
int store_job_counts(struct store *s, size_t counts[_STORE_JOB_STATUS_MAX]);
