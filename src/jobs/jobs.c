/* The job queue: submission, scheduling per key, progress, logs,
 * persistence, events, cancellation and orphans. Loop thread only. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include "core/fsutil.h"
#include "core/log.h"
#include "core/macro.h"
#include "core/util.h"
#include "jobs/internal.h"
#include "jobs/jobs.h"

#define JOB_LINE_BUF (JOB_LOG_LINE_MAX + 64) /* a line plus its timestamp */

struct job {
        struct job *prev, *next; /* live list, submission order */
        struct jobs *jobs;
        struct store_job rec; /* as persisted */
        job_run_fn run;
        void *userdata;
        void (*free_userdata)(void *);
        bool running, finished;
        int log_fd; /* open while running */
        uint64_t log_size;
        bool log_truncated;
        uint64_t run_started_usec, step_started_usec;
        uint64_t last_update_usec;
        sd_event_source *update_timer; /* trailing job:updated */
        atomic_bool cancel_flag;       /* mirrors rec.cancel_requested for worker threads */
};

struct jobs {
        sd_event *event;
        struct store *store;
        char *log_dir;
        job_emit_fn emit;
        void *emit_ud;
        job_log_fn log_fn;
        void *log_ud;
        struct job *head, *tail;
        size_t n_queued, n_running;
        sd_event_source *pump;
        struct job_orphan *orphans;
        size_t n_orphans;
        bool stopping;
};

/* --- small helpers -------------------------------------------------- */

static void set_str(char **dst, const char *v)
{
        free(*dst);
        *dst = xstrdup(v ? v : "");
}

static void persist(struct job *job)
{
        int r = store_job_update(job->jobs->store, &job->rec);
        if (r < 0)
                log_warn("jobs: cannot save job %s: %s", job->rec.id, strerror(-r));
}

static void emit(struct jobs *j, const char *type, const char *id, json_t *update)
{
        if (j->emit && !j->stopping)
                j->emit(j->emit_ud, type, id, update, "");
        else
                json_decref(update);
}

static void emit_record(struct jobs *j, const char *type, const struct store_job *r)
{
        emit(j, type, "internal", jobs_record_json(r));
}

static void pump_arm(struct jobs *j)
{
        if (j->pump)
                sd_event_source_set_enabled(j->pump, SD_EVENT_ONESHOT);
}

char *jobs_log_path(struct jobs *j, const char *id)
{
        if (!id_is_hex32(id))
                return NULL;
        return xasprintf("%s/job-%s.log", j->log_dir, id);
}

static void remove_log(struct jobs *j, const char *id)
{
        _cleanup_free_ char *p = jobs_log_path(j, id);
        if (p)
                (void)unlink(p);
}

/* --- log files ------------------------------------------------------ */

static int log_open(struct jobs *j, const char *id, uint64_t *ret_size)
{
        _cleanup_free_ char *p = jobs_log_path(j, id);
        int fd = open(p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
        if (fd < 0)
                return -errno;
        struct stat st;
        *ret_size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
        return fd;
}

static void log_write(struct job *job, const char *line, size_t len)
{
        struct jobs *j = job->jobs;
        int fd = job->log_fd;
        if (fd < 0) {
                fd = log_open(j, job->rec.id, &job->log_size);
                if (fd < 0) {
                        log_warn("jobs: cannot open the log of job %s: %s", job->rec.id,
                                 strerror(-fd));
                        return;
                }
        }
        ssize_t n;
        do
                n = write(fd, line, len);
        while (n < 0 && errno == EINTR);
        if (n > 0)
                job->log_size += (uint64_t)n;
        if (fd != job->log_fd)
                close(fd);
}

/* Append one sanitized message as a timestamped line. final lines (the
 * job's outcome) may use the reserve under the cap; others stop at the
 * soft cap with a single note. Every line also goes to the live sink. */
static void log_append(struct job *job, const char *msg, bool final)
{
        struct jobs *j = job->jobs;
        char line[JOB_LINE_BUF];
        size_t len = log_line_format(line, sizeof(line), time(NULL), msg);
        uint64_t soft = JOB_LOG_MAX_BYTES - JOB_LOG_RESERVE_BYTES;
        if (job->log_fd < 0 && job->log_size == 0) {
                /* not open yet: learn the current size first */
                uint64_t sz = 0;
                int fd = log_open(j, job->rec.id, &sz);
                if (fd >= 0) {
                        job->log_size = sz;
                        close(fd);
                }
        }
        if (job->log_size + len > (final ? (uint64_t)JOB_LOG_MAX_BYTES : soft)) {
                if (!final && !job->log_truncated) {
                        char note[256], nl[320];
                        snprintf(note, sizeof(note),
                                 "[log truncated: a job log keeps at most %d bytes; further "
                                 "lines are only shown live]",
                                 JOB_LOG_MAX_BYTES);
                        size_t nlen = log_line_format(nl, sizeof(nl), time(NULL), note);
                        log_write(job, nl, nlen);
                        if (j->log_fn)
                                j->log_fn(j->log_ud, job->rec.id, nl, nlen);
                        job->log_truncated = true;
                }
        } else
                log_write(job, line, len);
        if (j->log_fn)
                j->log_fn(j->log_ud, job->rec.id, line, len);
}

/* Split text at newlines; each piece becomes a sanitized line. */
static void log_text(struct job *job, const char *text, bool final)
{
        char clean[JOB_LOG_LINE_MAX + 1];
        const char *p = text;
        for (;;) {
                const char *nl = strchr(p, '\n');
                size_t n = nl ? (size_t)(nl - p) : strlen(p);
                if (n > 0 || !nl) {
                        text_sanitize_line(clean, sizeof(clean), p, n, JOB_LOG_LINE_MAX);
                        if (clean[0] || !nl)
                                log_append(job, clean, final);
                }
                if (!nl || !nl[1])
                        break;
                p = nl + 1;
        }
}

/* --- job:updated rate limit ----------------------------------------- */

static int on_update_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct job *job = userdata;
        job->last_update_usec = now_mono_usec();
        if (!job->finished)
                emit_record(job->jobs, "job:updated", &job->rec);
        return 0;
}

/* Emit job:updated now, or at most every JOB_UPDATE_INTERVAL_MS with the
 * latest state (coalescing everything in between). */
static void job_changed(struct job *job, bool immediate)
{
        uint64_t now = now_mono_usec(),
                 next = job->last_update_usec + JOB_UPDATE_INTERVAL_MS * 1000ULL;
        if (immediate || job->last_update_usec == 0 || now >= next) {
                if (job->update_timer)
                        sd_event_source_set_enabled(job->update_timer, SD_EVENT_OFF);
                job->last_update_usec = now;
                emit_record(job->jobs, "job:updated", &job->rec);
                return;
        }
        if (!job->update_timer) {
                int r = sd_event_add_time(job->jobs->event, &job->update_timer, CLOCK_MONOTONIC,
                                          next, 1000, on_update_timer, job);
                if (r < 0) { /* cannot defer: send now rather than lose it */
                        job->last_update_usec = now;
                        emit_record(job->jobs, "job:updated", &job->rec);
                        return;
                }
        } else {
                int enabled = SD_EVENT_OFF;
                sd_event_source_get_enabled(job->update_timer, &enabled);
                if (enabled != SD_EVENT_OFF)
                        return; /* already due: it sends the latest record */
                sd_event_source_set_time(job->update_timer, next);
        }
        sd_event_source_set_enabled(job->update_timer, SD_EVENT_ONESHOT);
}

/* --- lifecycle ------------------------------------------------------ */

static void job_unlink(struct jobs *j, struct job *job)
{
        if (job->prev)
                job->prev->next = job->next;
        else
                j->head = job->next;
        if (job->next)
                job->next->prev = job->prev;
        else
                j->tail = job->prev;
        job->prev = job->next = NULL;
}

static void job_free(struct job *job)
{
        if (job->free_userdata)
                job->free_userdata(job->userdata);
        sd_event_source_disable_unref(job->update_timer);
        if (job->log_fd >= 0)
                close(job->log_fd);
        store_job_clear(&job->rec);
        free(job);
}

static void prune(struct jobs *j)
{
        struct store_job_list gone = {0};
        int r = store_job_prune(j->store, JOBS_RETAINED_MAX, &gone);
        if (r < 0) {
                log_warn("jobs: cannot prune old job records: %s", strerror(-r));
                return;
        }
        for (size_t i = 0; i < gone.n; i++) {
                remove_log(j, gone.items[i].id);
                emit_record(j, "job:deleted", &gone.items[i]);
        }
        store_job_list_free(&gone);
}

static void job_start(struct jobs *j, struct job *job)
{
        job->running = true;
        j->n_queued--;
        j->n_running++;
        job->rec.status = STORE_JOB_IN_PROGRESS;
        job->rec.started_ms = (int64_t)now_ms();
        set_str(&job->rec.summary, "Job started");
        job->run_started_usec = job->step_started_usec = now_mono_usec();
        uint64_t sz = 0;
        int fd = log_open(j, job->rec.id, &sz);
        if (fd >= 0) {
                job->log_fd = fd;
                job->log_size = sz;
        }
        persist(job);
        log_append(job, "Job started", false);
        job_changed(job, true);
        job->run(job, job->userdata);
}

static int on_pump(sd_event_source *s, void *userdata)
{
        struct jobs *j = userdata;
        bool reaped = false;
        for (struct job *job = j->head, *next; job; job = next) {
                next = job->next;
                if (job->finished) {
                        job_unlink(j, job);
                        job_free(job);
                        reaped = true;
                }
        }
        if (reaped)
                prune(j);
        for (;;) {
                size_t n = j->n_queued + j->n_running, i = 0;
                if (j->n_queued == 0 || j->n_running >= JOBS_RUNNING_MAX)
                        break;
                struct sched_item items[n ? n : 1];
                struct job *jobs_at[n ? n : 1];
                for (struct job *job = j->head; job && i < n; job = job->next) {
                        if (job->finished)
                                continue;
                        items[i].key = job->rec.key;
                        items[i].running = job->running;
                        jobs_at[i++] = job;
                }
                ssize_t k = sched_next(items, i, JOBS_RUNNING_MAX);
                if (k < 0)
                        break;
                job_start(j, jobs_at[k]);
        }
        return 0;
}

int jobs_submit(struct jobs *j, const struct job_desc *d, job_run_fn run, void *userdata,
                void (*free_userdata)(void *), char ret_id[33])
{
        if (j->stopping)
                return -ESHUTDOWN;
        if (!d || !run || !desc_action_ok(d->action, JOB_FIELD_MAX) || !d->key ||
            !desc_field_ok(d->key, false, JOB_FIELD_MAX) ||
            !desc_field_ok(d->display_name, true, JOB_FIELD_MAX) ||
            !desc_field_ok(d->pup_id, false, JOB_FIELD_MAX) ||
            !desc_field_ok(d->pup_name, false, JOB_FIELD_MAX) ||
            !desc_field_ok(d->pup_version, false, JOB_FIELD_MAX) ||
            !desc_field_ok(d->source_id, false, JOB_FIELD_MAX))
                return -EINVAL;
        if (j->n_queued >= JOBS_QUEUED_MAX)
                return -EAGAIN;

        struct job *job = xcalloc(1, sizeof(*job));
        job->jobs = j;
        job->log_fd = -1;
        job->run = run;
        id_new32(job->rec.id);
        job->rec.action = xstrdup(d->action);
        job->rec.key = xstrdup(d->key);
        char clean[JOB_FIELD_MAX + 1];
        text_sanitize_line(clean, sizeof(clean), d->display_name, strlen(d->display_name),
                           JOB_FIELD_MAX);
        job->rec.display_name = xstrdup(clean);
        job->rec.pup_id = xstrdup(d->pup_id ? d->pup_id : "");
        job->rec.pup_name = xstrdup(d->pup_name ? d->pup_name : "");
        job->rec.pup_version = xstrdup(d->pup_version ? d->pup_version : "");
        job->rec.source_id = xstrdup(d->source_id ? d->source_id : "");
        job->rec.status = STORE_JOB_QUEUED;
        job->rec.step = xstrdup("");
        job->rec.summary = xstrdup("Job queued");
        job->rec.error = xstrdup("");
        job->rec.created_ms = (int64_t)now_ms();
        int r = store_job_insert(j->store, &job->rec);
        if (r < 0) {
                store_job_clear(&job->rec);
                free(job);
                return r;
        }
        /* Only now does the job own userdata. */
        job->userdata = userdata;
        job->free_userdata = free_userdata;
        job->prev = j->tail;
        if (j->tail)
                j->tail->next = job;
        else
                j->head = job;
        j->tail = job;
        j->n_queued++;

        size_t ahead_same = 0;
        for (struct job *o = j->head; o != job; o = o->next)
                if (!o->finished && streq(o->rec.key, job->rec.key))
                        ahead_same++;
        _cleanup_free_ char *msg =
            ahead_same ? xasprintf("Job queued: %s (after %zu earlier job%s on the same %s)",
                                   job->rec.display_name, ahead_same, ahead_same == 1 ? "" : "s",
                                   job->rec.key[0] ? "pup" : "system")
                       : xasprintf("Job queued: %s", job->rec.display_name);
        log_append(job, msg, false);
        emit_record(j, "job:created", &job->rec);
        pump_arm(j);
        memcpy(ret_id, job->rec.id, 33);
        return 0;
}

void job_progress(struct job *job, int percent, const char *step, const char *fmt, ...)
{
        if (!job || job->finished)
                return;
        char raw[JOB_MESSAGE_MAX + 1] = "", msg[JOB_MESSAGE_MAX + 1] = "";
        if (fmt) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(raw, sizeof(raw), fmt, ap);
                va_end(ap);
                text_sanitize_line(msg, sizeof(msg), raw, strlen(raw), JOB_MESSAGE_MAX);
        }
        if (percent >= 0)
                job->rec.progress = MIN(percent, 100);
        if (step && !streq(step, job->rec.step)) {
                char s[JOB_FIELD_MAX + 1];
                text_sanitize_line(s, sizeof(s), step, strlen(step), JOB_FIELD_MAX);
                set_str(&job->rec.step, s);
                job->step_started_usec = now_mono_usec();
        }
        if (msg[0]) {
                set_str(&job->rec.summary, msg);
                log_append(job, msg, false);
        }
        persist(job);
        emit(job->jobs, "progress", job->rec.id,
             jobs_progress_json(job->rec.id, job->rec.pup_id, job->rec.progress, job->rec.step, msg,
                                false, (int64_t)(now_mono_usec() - job->step_started_usec) * 1000));
        job_changed(job, false);
}

void job_log(struct job *job, const char *fmt, ...)
{
        if (!job || job->finished)
                return; /* after the outcome line nothing more is written */
        va_list ap;
        va_start(ap, fmt);
        char *text = NULL;
        int n = vasprintf(&text, fmt, ap);
        va_end(ap);
        if (n < 0)
                abort(); /* allocation failure: as xmalloc */
        log_text(job, text, false);
        free(text);
}

static void fmt_duration(uint64_t usec, char *buf, size_t size)
{
        if (usec < 60 * 1000000ULL)
                snprintf(buf, size, "%.1fs", (double)usec / 1e6);
        else
                snprintf(buf, size, "%llum %llus", (unsigned long long)(usec / 60000000ULL),
                         (unsigned long long)(usec / 1000000ULL % 60));
}

void job_done(struct job *job, int error, const char *errmsg)
{
        if (!job)
                return;
        struct jobs *j = job->jobs;
        if (job->finished || !job->running) {
                log_warn("jobs: job_done called twice (or before start) for job %s: ignored",
                         job->rec.id);
                return;
        }
        char dur[32], msg[JOB_MESSAGE_MAX + 1] = "", line[JOB_MESSAGE_MAX + 64];
        fmt_duration(now_mono_usec() - job->run_started_usec, dur, sizeof(dur));
        if (errmsg)
                text_sanitize_line(msg, sizeof(msg), errmsg, strlen(errmsg), JOB_MESSAGE_MAX);
        const char *type;
        if (error == 0) {
                job->rec.status = STORE_JOB_COMPLETED;
                job->rec.progress = 100;
                set_str(&job->rec.summary, "Job completed successfully");
                snprintf(line, sizeof(line), "Job completed successfully in %s", dur);
                type = "job:completed";
        } else if (error == -ECANCELED) {
                job->rec.status = STORE_JOB_CANCELLED;
                set_str(&job->rec.summary, msg[0] ? msg : "Job cancelled");
                snprintf(line, sizeof(line), "Job cancelled after %s%s%s", dur, msg[0] ? ": " : "",
                         msg);
                type = "job:cancelled";
        } else {
                if (!msg[0])
                        snprintf(msg, sizeof(msg), "%s", strerror(error < 0 ? -error : error));
                job->rec.status = STORE_JOB_FAILED;
                set_str(&job->rec.summary, msg);
                set_str(&job->rec.error, msg);
                snprintf(line, sizeof(line), "Job failed after %s: %s", dur, msg);
                type = "job:failed";
        }
        job->rec.finished_ms = (int64_t)now_ms();
        log_append(job, line, true);
        persist(job);
        job->running = false;
        job->finished = true;
        j->n_running--;
        if (job->log_fd >= 0) {
                close(job->log_fd);
                job->log_fd = -1;
        }
        if (job->update_timer)
                sd_event_source_set_enabled(job->update_timer, SD_EVENT_OFF);
        emit(j, "progress", job->rec.id,
             jobs_progress_json(job->rec.id, job->rec.pup_id, job->rec.progress, job->rec.step,
                                line, job->rec.status == STORE_JOB_FAILED,
                                (int64_t)(now_mono_usec() - job->step_started_usec) * 1000));
        emit_record(j, type, &job->rec);
        pump_arm(j);
}

bool job_cancelled(struct job *job)
{
        return job && job->rec.cancel_requested;
}

const atomic_bool *job_cancel_flag(struct job *job)
{
        return &job->cancel_flag;
}

void job_set_pup(struct job *job, const char *pup_id, const char *pup_name, const char *pup_version)
{
        if (!job || job->finished)
                return;
        if (pup_id && desc_field_ok(pup_id, false, JOB_FIELD_MAX))
                set_str(&job->rec.pup_id, pup_id);
        if (pup_name && desc_field_ok(pup_name, false, JOB_FIELD_MAX))
                set_str(&job->rec.pup_name, pup_name);
        if (pup_version && desc_field_ok(pup_version, false, JOB_FIELD_MAX))
                set_str(&job->rec.pup_version, pup_version);
        persist(job);
        job_changed(job, false);
}

const char *job_get_id(const struct job *job)
{
        return job->rec.id;
}

const char *job_get_key(const struct job *job)
{
        return job->rec.key;
}

const char *job_get_action(const struct job *job)
{
        return job->rec.action;
}

const char *job_get_pup_id(const struct job *job)
{
        return job->rec.pup_id;
}

size_t jobs_count_active(struct jobs *j, const char *key)
{
        size_t n = 0;
        for (struct job *job = j->head; job; job = job->next)
                if (!job->finished && (!key || streq(job->rec.key, key)))
                        n++;
        return n;
}

/* --- startup: orphans ----------------------------------------------- */

static int mark_orphans(struct jobs *j)
{
        struct store_job_list l = {0};
        int r = store_job_list(j->store, STORE_JOBS_ACTIVE, 0, &l);
        if (r < 0)
                return r;
        if (l.n == 0)
                return 0;
        j->orphans = xcalloc(l.n, sizeof(*j->orphans));
        r = store_begin(j->store);
        if (r < 0)
                goto out;
        int64_t now = (int64_t)now_ms();
        for (size_t i = 0; i < l.n; i++) {
                struct store_job *rec = &l.items[i];
                struct job_orphan *o = &j->orphans[j->n_orphans++];
                memcpy(o->id, rec->id, sizeof(o->id));
                o->key = xstrdup(rec->key);
                o->action = xstrdup(rec->action);
                o->pup_id = xstrdup(rec->pup_id);
                o->was = rec->status;
                bool ran = rec->status == STORE_JOB_IN_PROGRESS;
                rec->status = STORE_JOB_ORPHANED;
                rec->finished_ms = now;
                set_str(&rec->summary, "Job marked as orphaned");
                set_str(&rec->error, ran ? "dogeboxd stopped while the job was running; the "
                                           "pup was reconciled at the next start"
                                         : "dogeboxd stopped before the job started");
                r = store_job_update(j->store, rec);
                if (r < 0) {
                        store_rollback(j->store);
                        goto out;
                }
        }
        r = store_commit(j->store);
        if (r < 0) {
                store_rollback(j->store);
                goto out;
        }
        for (size_t i = 0; i < l.n; i++) {
                struct job tmp = {.jobs = j, .log_fd = -1, .rec = l.items[i]};
                log_append(&tmp, "Job orphaned: dogeboxd stopped while the job was active", true);
                emit_record(j, "job:orphaned", &l.items[i]);
        }
out:
        store_job_list_free(&l);
        return r;
}

int jobs_mark_orphans(struct jobs *j, const struct job_orphan **ret, size_t *ret_n)
{
        *ret = j->orphans;
        *ret_n = j->n_orphans;
        return 0;
}

int jobs_new(sd_event *e, struct store *store, const char *log_dir, job_emit_fn emitfn,
             void *emit_ud, struct jobs **ret)
{
        int r = fs_mkdir_p(log_dir, 0750);
        if (r < 0)
                return r;
        struct jobs *j = xcalloc(1, sizeof(*j));
        j->event = sd_event_ref(e);
        j->store = store;
        j->log_dir = xstrdup(log_dir);
        j->emit = emitfn;
        j->emit_ud = emit_ud;
        r = mark_orphans(j);
        if (r >= 0)
                r = sd_event_add_defer(e, &j->pump, on_pump, j);
        if (r < 0) {
                jobs_free(j);
                return r;
        }
        sd_event_source_set_enabled(j->pump, SD_EVENT_OFF);
        prune(j);
        *ret = j;
        return 0;
}

void jobs_set_log_sink(struct jobs *j, job_log_fn fn, void *ud)
{
        j->log_fn = fn;
        j->log_ud = ud;
}

struct jobs *jobs_free(struct jobs *j)
{
        if (!j)
                return NULL;
        j->stopping = true;
        j->log_fn = NULL;
        while (j->head) {
                struct job *job = j->head;
                if (!job->running && !job->finished) {
                        job->rec.status = STORE_JOB_CANCELLED;
                        job->rec.finished_ms = (int64_t)now_ms();
                        set_str(&job->rec.summary, "Not started: dogeboxd stopped first");
                        persist(job);
                        log_append(job, "Job cancelled: dogeboxd stopped before it started", true);
                }
                job_unlink(j, job);
                job_free(job);
        }
        for (size_t i = 0; i < j->n_orphans; i++) {
                free(j->orphans[i].key);
                free(j->orphans[i].action);
                free(j->orphans[i].pup_id);
        }
        free(j->orphans);
        sd_event_source_disable_unref(j->pump);
        sd_event_unref(j->event);
        free(j->log_dir);
        free(j);
        return NULL;
}

/* --- API operations ------------------------------------------------- */

static struct job *find_live(struct jobs *j, const char *id)
{
        for (struct job *job = j->head; job; job = job->next)
                if (!job->finished && streq(job->rec.id, id))
                        return job;
        return NULL;
}

int jobs_list_json(struct jobs *j, enum store_job_query q, size_t limit, json_t **ret)
{
        struct store_job_list l = {0};
        int r = store_job_list(j->store, q, limit, &l);
        if (r < 0)
                return r;
        json_t *arr = json_array();
        for (size_t i = 0; i < l.n; i++)
                json_array_append_new(arr, jobs_record_json(&l.items[i]));
        store_job_list_free(&l);
        *ret = json_pack("{s:o}", "jobs", arr);
        return 0;
}

int jobs_get_json(struct jobs *j, const char *id, json_t **ret)
{
        struct store_job rec = {0};
        int r = store_job_get(j->store, id, &rec);
        if (r < 0)
                return r;
        *ret = jobs_record_json(&rec);
        store_job_clear(&rec);
        return 0;
}

int jobs_stats_json(struct jobs *j, json_t **ret)
{
        size_t c[_STORE_JOB_STATUS_MAX];
        int r = store_job_counts(j->store, c);
        if (r < 0)
                return r;
        size_t total = 0;
        for (int i = 0; i < _STORE_JOB_STATUS_MAX; i++)
                total += c[i];
        *ret =
            json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:{s:i,s:i,s:i,s:i}}", "total",
                      (json_int_t)total, "queued", (json_int_t)c[STORE_JOB_QUEUED], "inProgress",
                      (json_int_t)c[STORE_JOB_IN_PROGRESS], "completed",
                      (json_int_t)c[STORE_JOB_COMPLETED], "failed", (json_int_t)c[STORE_JOB_FAILED],
                      "cancelled", (json_int_t)c[STORE_JOB_CANCELLED], "orphaned",
                      (json_int_t)c[STORE_JOB_ORPHANED], "running", (json_int_t)j->n_running,
                      "limits", "runningMax", JOBS_RUNNING_MAX, "queuedMax", JOBS_QUEUED_MAX,
                      "retainedMax", JOBS_RETAINED_MAX, "logMaxBytes", JOB_LOG_MAX_BYTES);
        return 0;
}

int jobs_delete(struct jobs *j, const char *id, enum jobs_delete_outcome *ret)
{
        struct job *job = find_live(j, id);
        if (job && !job->running) {
                job->rec.status = STORE_JOB_CANCELLED;
                job->rec.finished_ms = (int64_t)now_ms();
                set_str(&job->rec.summary, "Cancelled before it started");
                persist(job);
                log_append(job, "Job cancelled by the owner before it started", true);
                job->finished = true;
                j->n_queued--;
                emit_record(j, "job:cancelled", &job->rec);
                pump_arm(j); /* frees it, and a same-key successor may start */
                *ret = JOBS_DELETE_CANCELLED;
                return 0;
        }
        if (job) {
                if (job->rec.cancel_requested)
                        return -EALREADY;
                job->rec.cancel_requested = true;
                atomic_store(&job->cancel_flag, true);
                persist(job);
                log_append(job, "Cancellation requested by the owner", false);
                job_changed(job, true);
                *ret = JOBS_DELETE_CANCEL_REQUESTED;
                return 0;
        }
        struct store_job rec = {0};
        int r = store_job_get(j->store, id, &rec);
        if (r < 0)
                return r;
        r = store_job_delete(j->store, id);
        if (r >= 0) {
                remove_log(j, id);
                emit_record(j, "job:deleted", &rec);
                *ret = JOBS_DELETE_DELETED;
        }
        store_job_clear(&rec);
        return r;
}

int jobs_clear_finished(struct jobs *j, int64_t older_than_ms, size_t *ret_n)
{
        struct store_job_list gone = {0};
        int64_t before = older_than_ms > 0 ? (int64_t)now_ms() - older_than_ms : 0;
        int r = store_job_delete_finished(j->store, before, &gone);
        if (r < 0)
                return r;
        for (size_t i = 0; i < gone.n; i++) {
                remove_log(j, gone.items[i].id);
                emit_record(j, "job:deleted", &gone.items[i]);
        }
        *ret_n = gone.n;
        store_job_list_free(&gone);
        return 0;
}
