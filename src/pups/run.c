/* Running pups: the sandbox spec from the manifest, start/stop, runtime
 * events, stats, and the config file a pup reads. */
#include <fcntl.h>
#include <sys/stat.h>
#include "core/fsutil.h"
#include "core/log.h"
#include "core/macro.h"
#include "core/util.h"
#include "core/workpool.h"
#include "jobs/jobs.h"
#include "pups/internal.h"
#include "runtime/sandbox.h"

#define PUPS_MEMORY_DEFAULT (1ULL << 30) /* a pup that asks for nothing gets 1 GiB */
#define PUPS_PIDS_DEFAULT   1024         /* tasks; enough for any sane service set */
#define CONFIG_DIR          ".dbx"       /* inside /storage, as upstream */
#define CONFIG_FILE         "config.env"

const char *pup_status_name(enum pup_status s)
{
        static const char *const names[] = {"stopped", "starting", "running", "stopping"};
        return names[s];
}

bool pup_can_start(struct pup *pup, struct dbx_error *err)
{
        if (!streq(pup->installation, "ready")) {
                dbx_error_set(err, -EBUSY, "", "%s is %s, not ready: it cannot start", pup->name,
                              pup->installation);
                return false;
        }
        if (pup_needs_conf(pup)) {
                dbx_error_set(err, -EAGAIN, "",
                              "%s needs configuration first: set its required fields", pup->name);
                return false;
        }
        if (pup_needs_deps(pup)) {
                dbx_error_set(err, -EAGAIN, "",
                              "%s needs its dependencies first: choose a provider for each",
                              pup->name);
                return false;
        }
        return true;
}

/* /storage/.dbx/config.env, written atomically, readable by the pup's
 * group only (config holds passwords), not writable by the pup. */
int pup_write_config_env(struct pups *p, struct pup *pup, struct dbx_error *err)
{
        _cleanup_free_ char *content = NULL;
        _cleanup_free_ char *storage = pup_path(p, "storage", pup->id);
        _cleanup_free_ char *dir = xasprintf("%s/%s", storage, CONFIG_DIR);
        _cleanup_free_ char *file = xasprintf("%s/%s", dir, CONFIG_FILE);
        int r = manifest_config_env(pup->manifest, pup->config, &content, err);
        if (r < 0)
                return r;
        struct stat st;
        /* a pup may have put a symlink or file here: replace it, never follow it */
        if (lstat(dir, &st) == 0 && !S_ISDIR(st.st_mode))
                unlink(dir);
        if (mkdir(dir, 0750) < 0 && errno != EEXIST)
                return dbx_error_set(err, -errno, "", "cannot create %s: %s", dir, strerror(errno));
        if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
                return dbx_error_set(err, -ENOTDIR, "", "%s is not a directory", dir);
        gid_t gid = sandbox_uidrange_host(pup->uid_base, SANDBOX_GID_INSIDE);
        if (chown(dir, 0, gid) < 0 || chmod(dir, 0750) < 0)
                return dbx_error_set(err, -errno, "", "cannot own %s: %s", dir, strerror(errno));
        r = fs_write_atomic(file, content, strlen(content), 0640);
        if (r < 0)
                return dbx_error_set(err, r, "", "cannot write %s: %s", file, strerror(-r));
        if (chown(file, 0, gid) < 0)
                return dbx_error_set(err, -errno, "", "cannot own %s: %s", file, strerror(errno));
        return 0;
}

static char **env_for(struct pup *pup, const struct manifest_service *svc)
{
        size_t n = 0, cap = 8 + svc->n_env + json_object_size(pup->config);
        char **env = xcalloc(cap + 1, sizeof(char *));
        const char *k;
        json_t *v;
        env[n++] = xasprintf("DBX_PUP_ID=%s", pup->id);
        env[n++] = xasprintf("DBX_PUP_NAME=%s", pup->name);
        if (pup->ip[0])
                env[n++] = xasprintf("DBX_PUP_IP=%s", pup->ip);
        /* config values, as upstream puts them in the service environment */
        json_object_foreach(pup->config, k, v)
        {
                if (json_is_string(v) && n < cap)
                        env[n++] = xasprintf("%s=%s", k, json_string_value(v));
        }
        for (size_t i = 0; i < svc->n_env && n < cap; i++)
                env[n++] = xasprintf("%s=%s", svc->env[i].key, svc->env[i].value);
        env[n] = NULL;
        return env;
}

static void strv_free(char **v)
{
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
}

static int build_spec(struct pups *p, struct pup *pup, struct sandbox_spec *spec,
                      struct dbx_error *err)
{
        const struct manifest *m = pup->manifest;
        sandbox_spec_init(spec);
        spec->pup_id = xstrdup(pup->id);
        spec->pup_dir = pup_path(p, "pups", pup->id);
        spec->storage_dir = pup_path(p, "storage", pup->id);
        spec->log_dir = xasprintf("%s/logs", p->data_dir);
        spec->uid_base = pup->uid_base;
        spec->memory_max =
            m->container.resources.memory ? m->container.resources.memory : PUPS_MEMORY_DEFAULT;
        spec->pids_max =
            m->container.resources.pids ? m->container.resources.pids : PUPS_PIDS_DEFAULT;
        if (m->container.resources.cpu_weight)
                spec->cpu_weight = m->container.resources.cpu_weight;
        spec->hostname = xstrdup("pup");
        for (size_t i = 0; i < m->container.n_services; i++) {
                const struct manifest_service *svc = &m->container.services[i];
                char exec[MANIFEST_PATH_MAX + 8], cwd[MANIFEST_PATH_MAX + 8];
                manifest_service_exec_path(svc, exec, sizeof(exec));
                manifest_service_cwd_path(svc, cwd, sizeof(cwd));
                char **args = xcalloc(svc->n_args + 1, sizeof(char *));
                for (size_t a = 0; a < svc->n_args; a++)
                        args[a] = (char *)svc->args[a];
                char **env = env_for(pup, svc);
                int r = sandbox_spec_add_service(spec, svc->name, exec, args, cwd, env,
                                                 SANDBOX_RESTART_ALWAYS);
                free(args);
                strv_free(env);
                if (r < 0)
                        return dbx_error_set(err, r, "", "service %s: %s", svc->name, strerror(-r));
        }
        /* DRE: DBX_* environment and /etc/hosts of the pup's network */
        int rn = pup_net_spec(p, pup, spec, err);
        if (rn < 0)
                return rn;
        return sandbox_spec_validate(spec, err);
}

static void job_finish_wait(struct pup *pup, int error, const char *msg)
{
        struct job *j = pup->wait_job;
        if (!j)
                return;
        pup->wait_job = NULL;
        job_done(j, error, msg);
}

static void on_sandbox_event(struct sandbox *sb, const struct sandbox_event *ev, void *ud)
{
        struct pup *pup = ud;
        struct pups *p = pup->pups;
        switch (ev->type) {
        case SANDBOX_EVENT_READY:
                break;
        case SANDBOX_EVENT_SERVICE_STARTED:
                if (pup->status == PUP_STARTING) {
                        pup->status = PUP_RUNNING;
                        if (pup->wait_job) {
                                job_progress(pup->wait_job, 100, "running", "%s is running",
                                             pup->name);
                                job_finish_wait(pup, 0, NULL);
                        }
                        pup_emit_state(p, pup);
                        pup_deps_status_changed(p, pup); /* DRE: consumers waiting for it */
                }
                break;
        case SANDBOX_EVENT_SERVICE_EXITED:
                pup->restarts += ev->restart_in_ms >= 0;
                if (ev->oom)
                        snprintf(pup->last_exit, sizeof(pup->last_exit),
                                 "%s was killed: out of memory (limit reached)", ev->service);
                else if (ev->signal)
                        snprintf(pup->last_exit, sizeof(pup->last_exit),
                                 "%s was killed by signal %d", ev->service, ev->signal);
                else
                        snprintf(pup->last_exit, sizeof(pup->last_exit), "%s exited with status %d",
                                 ev->service, ev->exit_code);
                break;
        case SANDBOX_EVENT_SERVICE_FAILING:
                snprintf(pup->last_exit, sizeof(pup->last_exit),
                         "%s keeps crashing (%u times in a row): restarts slowed down", ev->service,
                         ev->crashes);
                break;
        case SANDBOX_EVENT_SERVICE_EXEC_FAILED:
                snprintf(pup->last_exit, sizeof(pup->last_exit), "%s could not start: %s",
                         ev->service, strerror(-ev->error));
                break;
        case SANDBOX_EVENT_OOM:
                snprintf(pup->last_exit, sizeof(pup->last_exit),
                         "out of memory: the pup's memory limit killed a process");
                break;
        case SANDBOX_EVENT_STOPPING:
                pup->status = PUP_STOPPING;
                break;
        case SANDBOX_EVENT_STOPPED: {
                bool was_starting = pup->status == PUP_STARTING;
                pup->status = PUP_STOPPED;
                if (p->shutting_down) {
                        pups_shutdown_check(p);
                        return;
                }
                if (ev->reason == SANDBOX_STOPPED_SETUP_FAILED)
                        snprintf(pup->last_exit, sizeof(pup->last_exit),
                                 "the sandbox could not be set up: %s",
                                 ev->message ? ev->message : "?");
                else if (ev->reason == SANDBOX_STOPPED_INIT_DIED)
                        snprintf(pup->last_exit, sizeof(pup->last_exit),
                                 "the sandbox's init died unexpectedly");
                if (pup->wait_job)
                        job_finish_wait(pup, was_starting ? -EIO : 0,
                                        was_starting ? pup->last_exit : NULL);
                pup_emit_state(p, pup);
                /* keep the sandbox (its log tail) until the next start */
                if (pup->want_running) {
                        struct dbx_error e = {0};
                        pup->want_running = false;
                        if (pup_start(p, pup, &e) < 0)
                                log_error("pup %s: restart failed: %s", pup->name, e.message);
                }
                pup_deps_status_changed(p, pup); /* DRE: consumers waiting for it */
                /* last: a purge continuing here frees the pup */
                pup_stopped_continue(pup);
                return;
        }
        }
}

static void on_log_line(void *ud, const char *line, size_t len)
{
        struct pup *pup = ud;
        pup->pups->cfg.log_line(pup->pups->cfg.ud, pup->id, line, len);
}

int pup_start(struct pups *p, struct pup *pup, struct dbx_error *err)
{
        struct sandbox_spec spec;
        if (!p->cfg.sup)
                return dbx_error_set(err, -EOPNOTSUPP, "",
                                     "sandboxes are not available on this host");
        if (pup->sb && sandbox_is_running(pup->sb))
                return 0;
        if (!pup_can_start(pup, err))
                return err ? err->code : -EAGAIN;
        /* DRE: providers run first; 1 = deferred until they do (deps.c) */
        int rd = pup_deps_before_start(p, pup, err);
        if (rd != 0)
                return rd < 0 ? rd : 0;
        int r = build_spec(p, pup, &spec, err);
        if (r < 0) {
                sandbox_spec_done(&spec);
                return r;
        }
        r = pup_write_config_env(p, pup, err);
        if (r < 0) {
                sandbox_spec_done(&spec);
                return r;
        }
        pup->sb = sandbox_free(pup->sb);
        pup->status = PUP_STARTING;
        pup->last_cpu_usec = 0;
        r = sandbox_spawn(p->cfg.sup, &spec, pup_net_hooks(p, pup) /* DRE: veth */,
                          on_sandbox_event, pup, err, &pup->sb);
        sandbox_spec_done(&spec);
        if (r < 0) {
                pup->status = PUP_STOPPED;
                snprintf(pup->last_exit, sizeof(pup->last_exit), "could not start: %s",
                         err ? err->message : strerror(-r));
                return r;
        }
        if (p->cfg.log_line && sandbox_log(pup->sb))
                runtime_log_set_listener(sandbox_log(pup->sb), on_log_line, pup);
        pup_emit_state(p, pup);
        return 0;
}

int pup_stop(struct pups *p, struct pup *pup)
{
        pup->want_running = false;
        if (!pup->sb || !sandbox_is_running(pup->sb))
                return -EALREADY;
        pup->status = PUP_STOPPING;
        pup_emit_state(p, pup);
        return sandbox_stop(pup->sb);
}

static void ring_push(struct ring *r, double v)
{
        r->v[r->head] = v;
        r->head = (r->head + 1) % PUPS_STATS_HISTORY;
        if (r->n < PUPS_STATS_HISTORY)
                r->n++;
}

struct disk_work {
        char *path;
        char id[33];
        unsigned long long bytes;
        int r;
        struct pups *p;
};

static void disk_work(void *ud)
{
        struct disk_work *w = ud;
        w->r = fs_disk_usage(w->path, &w->bytes);
}

static void disk_done(void *ud)
{
        struct disk_work *w = ud;
        struct pup *pup = pups_find(w->p, w->id);
        if (pup && w->r == 0)
                pup->disk_bytes = w->bytes;
        free(w->path);
        free(w);
}

void pups_stats_sample(struct pups *p)
{
        uint64_t now = now_mono_usec();
        for (struct pup *pup = p->list; pup; pup = pup->next) {
                struct sandbox_stats st;
                if (pup->sb && sandbox_is_running(pup->sb) && sandbox_stats(pup->sb, &st) == 0) {
                        if (pup->last_cpu_usec && now > pup->last_sample_usec) {
                                double pct = 100.0 * (double)(st.cpu_usec - pup->last_cpu_usec) /
                                             (double)(now - pup->last_sample_usec);
                                ring_push(&pup->cpu, pct);
                        }
                        pup->last_cpu_usec = st.cpu_usec;
                        pup->last_sample_usec = now;
                        ring_push(&pup->mem, (double)st.memory_bytes / (1024.0 * 1024.0));
                } else if (pup->sb) {
                        ring_push(&pup->cpu, 0);
                        ring_push(&pup->mem, 0);
                }
                /* storage size: walked on a worker, at most once a minute */
                if (p->cfg.pool &&
                    now - pup->disk_sampled_usec >= PUPS_DISK_INTERVAL_S * 1000000ULL) {
                        struct disk_work *w = xcalloc(1, sizeof(*w));
                        w->path = pup_path(p, "storage", pup->id);
                        snprintf(w->id, sizeof(w->id), "%s", pup->id);
                        w->p = p;
                        pup->disk_sampled_usec = now;
                        if (workpool_submit(p->cfg.pool, disk_work, disk_done, w) < 0) {
                                free(w->path);
                                free(w);
                        }
                }
        }
}

/* The log file outlives sandboxes: it is DATA/logs/<id>.log (runtime). */
const char *pups_log_path(struct pups *p, struct pup *pup)
{
        struct runtime_log *l = pup->sb ? sandbox_log(pup->sb) : NULL;
        if (l && runtime_log_path(l))
                return runtime_log_path(l);
        if (!pup->log_path)
                pup->log_path = xasprintf("%s/logs/%s.log", p->data_dir, pup->id);
        return access(pup->log_path, F_OK) == 0 ? pup->log_path : NULL;
}

static void tail_line(const char *line, size_t len, void *ud)
{
        json_array_append_new(ud, json_stringn(line, len));
}

json_t *pups_log_tail(struct pups *p, struct pup *pup, size_t max)
{
        json_t *a = json_array();
        struct runtime_log *l = pup->sb ? sandbox_log(pup->sb) : NULL;
        if (l)
                runtime_log_tail(l, MIN(max, (size_t)PUPS_LOG_TAIL_MAX), tail_line, a);
        return a;
}

static size_t running_count(struct pups *p)
{
        size_t n = 0;
        for (struct pup *pup = p->list; pup; pup = pup->next)
                n += pup->sb && sandbox_is_running(pup->sb);
        return n;
}

void pups_shutdown_check(struct pups *p)
{
        if (!p->shutting_down || !p->shutdown_done || running_count(p) > 0)
                return;
        void (*done)(void *) = p->shutdown_done;
        p->shutdown_done = NULL;
        p->shutdown_timer = sd_event_source_disable_unref(p->shutdown_timer);
        done(p->shutdown_ud);
}

static int on_shutdown_timer(sd_event_source *s, uint64_t usec, void *ud)
{
        struct pups *p = ud;
        for (struct pup *pup = p->list; pup; pup = pup->next)
                if (pup->sb && sandbox_is_running(pup->sb))
                        sandbox_kill(pup->sb);
        return 0;
}

void pups_shutdown(struct pups *p, void (*done)(void *ud), void *ud)
{
        p->shutting_down = true;
        p->shutdown_done = done;
        p->shutdown_ud = ud;
        for (struct pup *pup = p->list; pup; pup = pup->next) {
                pup->want_running = false;
                if (pup->sb && sandbox_is_running(pup->sb))
                        sandbox_stop(pup->sb);
        }
        uint64_t now;
        sd_event_now(p->cfg.event, CLOCK_MONOTONIC, &now);
        sd_event_add_time(p->cfg.event, &p->shutdown_timer, CLOCK_MONOTONIC,
                          now + PUPS_SHUTDOWN_GRACE_MS * 1000ULL, 10000, on_shutdown_timer, p);
        pups_shutdown_check(p);
}
