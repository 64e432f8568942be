/* Jobs of the pup lifecycle: install, enable/disable/start/stop/restart,
 * uninstall, purge, retry, config; and reconciliation at start.
 *
 * Each step commits its transition before the next begins, so after a
 * crash at any point pups_reconcile() finds one of: a finished state, an
 * `installing` pup (the download/extraction never completed: it becomes
 * broken/install_interrupted and can be retried or purged), `uninstalling`
 * or `purging` (finished now: both are idempotent). */
#include <strings.h>
#include <sys/statvfs.h>
#include "core/fsutil.h"
#include "core/log.h"
#include "core/macro.h"
#include "core/util.h"
#include "core/workpool.h"
#include "dbx-config.h"
#include "jobs/jobs.h"
#include "pups/internal.h"
#include "pups/fetch.h"
#include "runtime/sandbox.h"
#include "store/store_pups.h"

/* Test builds only: DBX_TEST_PAUSE_AT=<action>:<step> freezes the daemon
 * at that step so a test can SIGKILL it there (crash-safety tests). */
static void test_pause(const char *action, const char *step)
{
#if DBX_TEST_HOOKS
        const char *at = getenv("DBX_TEST_PAUSE_AT");
        char want[128];
        snprintf(want, sizeof(want), "%s:%s", action, step);
        if (at && streq(at, want)) {
                log_info("test hook: paused at %s", want);
                for (;;)
                        pause();
        }
#else
        (void)action;
        (void)step;
#endif
}

struct op {
        struct pups *p;
        char pup_id[33];
        char action[16];
        struct job *job;
        /* install */
        char *source_id, *name, *version;
        struct pup_fetch *fetch;
        json_t *config_values; /* config: stored-form values to merge */
};

static void op_free(void *ud)
{
        struct op *o = ud;
        free(o->source_id);
        free(o->name);
        free(o->version);
        pup_fetch_free(o->fetch);
        json_decref(o->config_values);
        free(o);
}

static struct op *op_new(struct pups *p, const char *pup_id, const char *action)
{
        struct op *o = xcalloc(1, sizeof(*o));
        o->p = p;
        snprintf(o->pup_id, sizeof(o->pup_id), "%s", pup_id ? pup_id : "");
        snprintf(o->action, sizeof(o->action), "%s", action);
        return o;
}

static struct pup *op_pup(struct op *o)
{
        for (struct pup *pup = o->p->list; pup; pup = pup->next)
                if (streq(pup->id, o->pup_id))
                        return pup;
        return NULL;
}

static void fail(struct op *o, struct pup *pup, const char *broken, int r, const char *msg)
{
        if (pup && broken)
                pup_set_installation(o->p, pup, "broken", broken);
        job_done(o->job, r < 0 ? r : -EIO, msg);
}

/* Queue a job on one pup (key = its id, so its jobs run in order). On
 * failure op is freed and err says why. */
int pup_job_submit(struct pups *p, struct pup *pup, const char *action, const char *display,
                   job_run_fn run, void *op, void (*op_free_fn)(void *), char ret_job[33],
                   struct dbx_error *err)
{
        struct job_desc d = {
            .action = action,
            .key = pup->id,
            .pup_id = pup->id,
            .pup_name = pup->name,
            .pup_version = pup->version,
            .source_id = pup->source_id,
            .display_name = display,
        };
        int r = jobs_submit(p->cfg.jobs, &d, run, op, op_free_fn, ret_job);
        if (r < 0) {
                op_free_fn(op);
                return dbx_error_set(err, r, "", "cannot queue %s: %s", action,
                                     r == -EAGAIN ? "too many jobs waiting: try again shortly"
                                                  : strerror(-r));
        }
        return 0;
}

/* ---- install ----------------------------------------------------------- */

static void fetch_work(void *ud)
{
        struct op *o = ud;
        pup_fetch_run(o->fetch);
}

static uint32_t alloc_uid_base(struct pups *p, int *r)
{
        uint32_t used[PUPS_MAX + 1], base = 0;
        size_t n = 0;
        for (struct pup *pup = p->list; pup && n < PUPS_MAX; pup = pup->next)
                if (pup->uid_base)
                        used[n++] = pup->uid_base;
        *r = sandbox_uidrange_alloc(used, n, &base);
        return base;
}

static void install_finish(struct op *o, struct pup *pup)
{
        struct dbx_error e = {0};
        test_pause("install", "ready");
        pup->enabled = true;
        pup_set_installation(o->p, pup, "ready", NULL);
        pup_deps_installed(o->p, pup); /* DRE: grants, provider selection both ways */
        if (!pup_can_start(pup, &e)) {
                /* installed, but waits for config or dependencies: not an error */
                job_progress(o->job, 100, "ready", "%s is installed: %s", pup->name, e.message);
                job_done(o->job, 0, NULL);
                return;
        }
        job_progress(o->job, 90, "start", "starting %s", pup->name);
        int r = pup_start(o->p, pup, &e);
        if (r < 0) {
                job_done(o->job, r, e.message);
                return;
        }
        pup->wait_job = o->job; /* completes when a service runs */
}

static void install_fetched(void *ud)
{
        struct op *o = ud;
        struct pups *p = o->p;
        struct pup *pup = op_pup(o);
        struct dbx_error e = {0};
        if (!pup) { /* purged while downloading */
                job_done(o->job, -ECANCELED, "the pup was removed during the install");
                return;
        }
        int r = pup_fetch_result(o->fetch, &e);
        if (job_cancelled(o->job) && streq(o->action, "install")) {
                /* the owner cancelled the install: undo the adoption */
                _cleanup_free_ char *payload = pup_path(p, "pups", pup->id);
                _cleanup_free_ char *storage = pup_path(p, "storage", pup->id);
                fs_rm_rf(payload);
                fs_rm_rf(storage);
                store_pup_delete(p->cfg.store, pup->id);
                char id[33];
                snprintf(id, sizeof(id), "%s", pup->id);
                pup_unlink_free(p, pup);
                if (p->cfg.emit)
                        p->cfg.emit(p->cfg.ud, "pup_purged", "internal",
                                    json_pack("{s:s}", "pupId", id), NULL);
                job_done(o->job, -ECANCELED, "the install was cancelled; nothing is left");
                return;
        }
        if (r < 0) {
                job_log(o->job, "download failed: %s", e.message);
                fail(o, pup, "download_failed", r, e.message);
                return;
        }
        test_pause("install", "storage");
        job_progress(o->job, 60, "storage", "preparing storage");
        _cleanup_free_ char *storage = pup_path(p, "storage", pup->id);
        r = sandbox_storage_prepare(storage, pup->uid_base);
        if (r < 0) {
                _cleanup_free_ char *m =
                    xasprintf("cannot create storage %s: %s", storage, strerror(-r));
                fail(o, pup, "storage_creation_failed", r, m);
                return;
        }
        if (p->cfg.write_keys) {
                /* the delegate key m/1000'/2'/N' (docs/keys.md); no login needed */
                job_progress(o->job, 70, "keys", "writing the pup's delegate key");
                r = p->cfg.write_keys(p->cfg.ud, pup->id, storage,
                                      sandbox_uidrange_host(pup->uid_base, SANDBOX_UID_INSIDE),
                                      sandbox_uidrange_host(pup->uid_base, SANDBOX_GID_INSIDE), &e);
                if (r == -EAGAIN)
                        job_log(o->job, "%s", e.message); /* written when setup completes */
                else if (r < 0) {
                        fail(o, pup, "delegate_key_creation_failed", r, e.message);
                        return;
                }
        }
        test_pause("install", "config");
        job_progress(o->job, 75, "config", "writing configuration");
        r = pup_write_config_env(p, pup, &e);
        if (r < 0) {
                fail(o, pup, "config_write_failed", r, e.message);
                return;
        }
        install_finish(o, pup);
}

static int preflight(struct op *o, const struct manifest *m, uint64_t payload, struct dbx_error *e)
{
        struct statvfs vfs;
        if (statvfs(o->p->data_dir, &vfs) == 0) {
                uint64_t free_b = (uint64_t)vfs.f_bavail * vfs.f_frsize;
                /* the payload once downloaded and once extracted, plus a reserve */
                uint64_t need = 2 * payload + PUPS_DISK_RESERVE;
                if (free_b < need)
                        return dbx_error_set(
                            e, -ENOSPC, "",
                            "not enough disk space: %s needs %llu MiB free, %llu MiB left",
                            m->meta.name, (unsigned long long)(need >> 20),
                            (unsigned long long)(free_b >> 20));
        }
        if (m->container.resources.memory) {
                _cleanup_free_ char *mi = NULL;
                if (fs_read_file("/proc/meminfo", 65536, &mi, NULL) == 0) {
                        const char *a = strstr(mi, "MemAvailable:");
                        unsigned long long kb = a ? strtoull(a + 13, NULL, 10) : 0;
                        if (kb && kb * 1024 < m->container.resources.memory)
                                return dbx_error_set(
                                    e, -ENOMEM, "",
                                    "not enough memory: %s asks for %llu MiB, %llu MiB are "
                                    "available",
                                    m->meta.name,
                                    (unsigned long long)(m->container.resources.memory >> 20),
                                    kb >> 10);
                }
        }
        /* DRE: listenOnHost ports must be free (docs/networking.md) */
        int rn = pup_net_preflight(o->p, m, e);
        if (rn < 0)
                return rn;
        return manifest_check_runnable(m, false, e);
}

static void run_install(struct job *job, void *ud)
{
        struct op *o = ud;
        struct pups *p = o->p;
        struct dbx_error e = {0};
        struct pup_source_info info = {0};
        o->job = job;

        job_progress(job, 5, "preflight", "looking up %s %s in source %s", o->name, o->version,
                     o->source_id);
        int r = pup_lookup(p->cfg.sources, o->source_id, o->name, o->version, &info, &e);
        if (r < 0) {
                job_done(job, r, e.message);
                return;
        }
        _cleanup_manifest_ struct manifest *m = NULL;
        struct dbx_errors errs = {0};
        r = manifest_parse(info.manifest_json, strlen(info.manifest_json), &m, &errs, NULL);
        if (r < 0) {
                _cleanup_free_ char *msg =
                    xasprintf("the manifest of %s %s is invalid: %s%s%s", o->name, o->version,
                              errs.n ? errs.items[0].path : "", errs.n ? ": " : "",
                              errs.n ? errs.items[0].message : "");
                dbx_errors_free(&errs);
                pup_source_info_done(&info);
                job_done(job, r, msg);
                return;
        }
        r = preflight(o, m, info.payload_size, &e);
        if (r < 0) {
                pup_source_info_done(&info);
                job_done(job, r, e.message);
                return;
        }
        /* checked again here: two installs of one pup may have been queued
         * before either ran (they serialize on the pup name) */
        for (struct pup *other = p->list; other; other = other->next) {
                if (strcasecmp(other->name, m->meta.name) == 0 &&
                    streq(other->source_id, o->source_id) &&
                    !streq(other->installation, "uninstalled")) {
                        pup_source_info_done(&info);
                        _cleanup_free_ char *msg =
                            xasprintf("%s is already installed (pup %s, version %s)", other->name,
                                      other->id, other->version);
                        job_done(job, -EEXIST, msg);
                        return;
                }
        }
        if (p->n >= PUPS_MAX) {
                pup_source_info_done(&info);
                job_done(job, -ENOSPC, "too many pups installed (the limit is 256)");
                return;
        }
        uint32_t base = alloc_uid_base(p, &r);
        if (r < 0) {
                pup_source_info_done(&info);
                job_done(job, r, "no free user-id range for a new pup");
                return;
        }

        /* adopt: from here on the pup exists and is `installing` */
        test_pause("install", "adopt");
        struct pup *pup = pup_new(p);
        id_new32(pup->id);
        snprintf(o->pup_id, sizeof(o->pup_id), "%s", pup->id);
        pup->name = xstrdup(m->meta.name);
        pup->version = xstrdup(m->meta.version);
        pup->source_id = xstrdup(o->source_id);
        json_decref(pup->source);
        pup->source = json_incref(info.source);
        pup->manifest_text = xstrdup(info.manifest_json);
        pup->manifest = TAKE_PTR(m);
        json_decref(pup->config);
        pup->config = manifest_config_defaults(pup->manifest);
        pup->uid_base = base;
        pup->created_ms = (int64_t)now_ms();
        /* DRE: its addresses and web UI ports; the firewall lists it now */
        r = pup_net_adopt(p, pup, &e);
        if (r < 0) {
                pup_source_info_done(&info);
                pup_unlink_free(p, pup);
                job_done(job, r, e.message);
                return;
        }
        pup_set_installation(p, pup, "installing", NULL);
        job_set_pup(job, pup->id, pup->name, pup->version);
        job_log(job, "adopted %s %s as pup %s", pup->name, pup->version, pup->id);

        test_pause("install", "download");
        job_progress(job, 20, "download", "fetching %s %s", pup->name, pup->version);
        _cleanup_free_ char *dest = pup_path(p, "pups", pup->id);
        /* the owner's cancel stops the download at once (install_fetched undoes the rest) */
        const atomic_bool *abort = streq(o->action, "install") ? job_cancel_flag(job) : NULL;
        r = pup_fetch_start(p->cfg.sources, &info, dest, abort, &o->fetch, &e);
        pup_source_info_done(&info);
        if (r < 0) {
                fail(o, pup, "download_failed", r, e.message);
                return;
        }
        r = workpool_submit(p->cfg.pool, fetch_work, install_fetched, o);
        if (r < 0)
                fail(o, pup, "download_failed", r, "the worker pool is full: try again");
}

int pups_install(struct pups *p, const struct pups_install_req *req, char ret_job[33],
                 struct dbx_error *err)
{
        if (!req->source_id || !req->source_id[0] || !req->pup_name || !req->pup_name[0])
                return dbx_error_set(err, -EINVAL, "",
                                     "sourceId and pupName are required (pupVersion defaults "
                                     "to the latest version)");
        const char *version = req->pup_version && req->pup_version[0] ? req->pup_version : "latest";
        for (struct pup *pup = p->list; pup; pup = pup->next)
                if (streq(pup->name, req->pup_name) && streq(pup->source_id, req->source_id) &&
                    !streq(pup->installation, "uninstalled"))
                        return dbx_error_set(err, -EEXIST, "",
                                             "%s is already installed (pup %s, version %s)",
                                             pup->name, pup->id, pup->version);
        struct op *o = op_new(p, NULL, "install");
        o->source_id = xstrdup(req->source_id);
        o->name = xstrdup(req->pup_name);
        o->version = xstrdup(version);
        _cleanup_free_ char *display = xasprintf("Install %s", req->pup_name);
        struct job_desc d = {
            .action = "install",
            /* installs of the same name serialize: no double install race */
            .key = req->pup_name,
            .pup_name = req->pup_name,
            .pup_version = req->pup_version,
            .source_id = req->source_id,
            .display_name = display,
        };
        int r = jobs_submit(p->cfg.jobs, &d, run_install, o, op_free, ret_job);
        if (r < 0) {
                op_free(o);
                return dbx_error_set(err, r, "", "cannot queue the install: %s",
                                     r == -EAGAIN ? "too many jobs waiting" : strerror(-r));
        }
        return 0;
}

/* ---- actions ----------------------------------------------------------- */

/* Stop the pup's sandbox, then call next (on the loop) once it is down. */
static void run_action(struct job *job, void *ud);

static void finish_stop(struct op *o, struct pup *pup)
{
        job_progress(o->job, 100, "stopped", "%s is stopped", pup->name);
        job_done(o->job, 0, NULL);
}

static void do_uninstall(struct op *o, struct pup *pup, bool purge)
{
        struct pups *p = o->p;
        test_pause(o->action, "remove");
        job_progress(o->job, 40, "remove", "removing the files of %s", pup->name);
        _cleanup_free_ char *payload = pup_path(p, "pups", pup->id);
        int r = fs_rm_rf(payload);
        if (r < 0) {
                _cleanup_free_ char *m = xasprintf("cannot remove %s: %s", payload, strerror(-r));
                fail(o, pup, "uninstall_failed", r, m);
                return;
        }
        if (!purge) {
                pup_set_installation(p, pup, "uninstalled", NULL);
                pup_deps_removed(p, pup); /* DRE: consumers lose it as provider */
                pup_net_refresh(p);
                job_progress(o->job, 100, "uninstalled",
                             "%s is uninstalled; its data in /storage is kept", pup->name);
                job_done(o->job, 0, NULL);
                return;
        }
        test_pause("purge", "storage");
        job_progress(o->job, 70, "purge", "deleting the data of %s", pup->name);
        _cleanup_free_ char *storage = pup_path(p, "storage", pup->id);
        r = fs_rm_rf(storage);
        if (r < 0) {
                _cleanup_free_ char *m = xasprintf("cannot remove %s: %s", storage, strerror(-r));
                fail(o, pup, "purge_failed", r, m);
                return;
        }
        _cleanup_free_ char *log = xasprintf("%s/logs/%s.log", p->data_dir, pup->id);
        unlink(log);
        test_pause("purge", "forget");
        r = store_pup_delete(p->cfg.store, pup->id);
        if (r < 0) {
                fail(o, pup, "purge_failed", r, "cannot remove the pup from the database");
                return;
        }
        char id[33];
        snprintf(id, sizeof(id), "%s", pup->id);
        _cleanup_free_ char *name = xstrdup(pup->name);
        pup_deps_removed(p, pup); /* DRE: consumers, addresses, grants */
        pup_net_release(p, pup);
        pup_unlink_free(p, pup);
        pup_net_refresh(p);
        if (p->cfg.emit)
                p->cfg.emit(p->cfg.ud, "pup_purged", "internal", json_pack("{s:s}", "pupId", id),
                            NULL);
        job_progress(o->job, 100, "purged", "%s and its data are gone", name);
        job_done(o->job, 0, NULL);
}

/* Called when the pup's sandbox is down (or was never up). */
static void after_stop(struct op *o, struct pup *pup)
{
        struct dbx_error e = {0};
        if (streq(o->action, "stop") || streq(o->action, "disable")) {
                finish_stop(o, pup);
        } else if (streq(o->action, "restart")) {
                job_progress(o->job, 60, "start", "starting %s", pup->name);
                int r = pup_start(o->p, pup, &e);
                if (r < 0) {
                        job_done(o->job, r, e.message);
                        return;
                }
                pup->wait_job = o->job;
        } else if (streq(o->action, "uninstall")) {
                do_uninstall(o, pup, false);
        } else if (streq(o->action, "purge")) {
                do_uninstall(o, pup, true);
        } else {
                job_done(o->job, -EINVAL, "unknown action");
        }
}

/* Stop if running; continue in after_stop. */
static void stop_then(struct op *o, struct pup *pup)
{
        pup_deps_cancel_wait(pup); /* DRE: a start deferred for its providers */
        if (pup->sb && sandbox_is_running(pup->sb)) {
                job_progress(o->job, 20, "stop", "stopping %s", pup->name);
                pup->want_running = false;
                pup->status = PUP_STOPPING;
                int r = sandbox_stop(pup->sb);
                if (r < 0) {
                        job_done(o->job, r, "cannot stop the sandbox");
                        return;
                }
                /* the STOPPED event completes wait_job; we need to continue
                 * the action instead: use a continuation job marker */
                pup->wait_job = NULL;
                pup->stop_cont = o;
                return;
        }
        after_stop(o, pup);
}

/* Runtime calls this (through run.c) when a sandbox we stopped is down. */
void pup_stopped_continue(struct pup *pup)
{
        struct op *o = pup->stop_cont;
        if (!o)
                return;
        pup->stop_cont = NULL;
        after_stop(o, pup);
}

static void run_action(struct job *job, void *ud)
{
        struct op *o = ud;
        struct pups *p = o->p;
        struct pup *pup = op_pup(o);
        struct dbx_error e = {0};
        o->job = job;
        if (!pup) {
                /* idempotent: purging what is gone is done */
                if (streq(o->action, "purge")) {
                        job_done(job, 0, NULL);
                        return;
                }
                job_done(job, -ENOENT, "no such pup (it was purged)");
                return;
        }
        if (streq(o->action, "enable") || streq(o->action, "start")) {
                if (streq(o->action, "enable") && !pup->enabled) {
                        pup->enabled = true;
                        pup_persist(p, pup);
                        pup_emit_state(p, pup);
                }
                if (pup->sb && sandbox_is_running(pup->sb)) {
                        job_progress(job, 100, "running", "%s is already running", pup->name);
                        job_done(job, 0, NULL);
                        return;
                }
                if (!pup_can_start(pup, &e)) {
                        /* enabled: it starts by itself once config/deps are set */
                        job_done(job, streq(o->action, "enable") ? 0 : e.code, e.message);
                        return;
                }
                job_progress(job, 30, "start", "starting %s", pup->name);
                int r = pup_start(p, pup, &e);
                if (r < 0) {
                        job_done(job, r, e.message);
                        return;
                }
                pup->wait_job = job;
                return;
        }
        if (streq(o->action, "disable") && pup->enabled) {
                pup->enabled = false;
                pup_persist(p, pup);
                pup_emit_state(p, pup);
        }
        if (streq(o->action, "uninstall")) {
                if (streq(pup->installation, "uninstalled")) {
                        job_done(job, 0, NULL); /* idempotent */
                        return;
                }
                pup->enabled = false;
                pup_set_installation(p, pup, "uninstalling", NULL);
        } else if (streq(o->action, "purge")) {
                pup->enabled = false;
                pup_set_installation(p, pup, "purging", NULL);
        } else if (streq(o->action, "restart") && !pup_can_start(pup, &e)) {
                job_done(job, e.code, e.message);
                return;
        }
        stop_then(o, pup);
}

static void run_retry(struct job *job, void *ud);

int pups_action(struct pups *p, const char *id, const char *action, char ret_job[33],
                struct dbx_error *err)
{
        return pups_action_flags(p, id, action, 0, ret_job, err);
}

int pups_action_flags(struct pups *p, const char *id, const char *action, unsigned flags,
                      char ret_job[33], struct dbx_error *err)
{
        static const char *const actions[] = {"enable",  "disable",   "start", "stop",
                                              "restart", "uninstall", "purge", "retry"};
        bool known = false;
        for (size_t i = 0; i < ARRAY_SIZE(actions); i++)
                known |= streq(actions[i], action);
        if (streq(action, "install"))
                return dbx_error_set(err, -EINVAL, "", "use PUT /pup to install a pup");
        if (!known)
                return dbx_error_set(err, -ENOENT, "",
                                     "no pup action '%s': use enable, disable, start, stop, "
                                     "restart, uninstall, purge or retry",
                                     action);
        struct pup *pup = pups_find(p, id);
        if (!pup)
                return dbx_error_set(err, -ENOENT, "", "no pup '%s'", id);
        if (streq(pup->installation, "installing") && !streq(action, "disable"))
                return dbx_error_set(err, -EBUSY, "",
                                     "%s is being installed: wait for the install to finish",
                                     pup->name);
        /* DRE: removing a provider other pups use needs force */
        if ((streq(action, "uninstall") || streq(action, "purge")) &&
            !(flags & PUPS_ACTION_FORCE)) {
                int rd = pup_deps_check_remove(p, pup, action, err);
                if (rd < 0)
                        return rd;
        }
        if (streq(action, "retry") && !streq(pup->installation, "broken"))
                return dbx_error_set(err, -EINVAL, "", "only a broken pup can be retried; %s is %s",
                                     pup->name, pup->installation);
        if ((streq(action, "enable") || streq(action, "start") || streq(action, "restart")) &&
            !streq(pup->installation, "ready"))
                return dbx_error_set(err, -EINVAL, "", "%s is %s: only a ready pup can %s",
                                     pup->name, pup->installation, action);
        struct op *o = op_new(p, pup->id, action);
        char display[160];
        snprintf(display, sizeof(display), "%c%s %s", action[0] - 32, action + 1, pup->name);
        return pup_job_submit(p, pup, action, display,
                              streq(action, "retry") ? run_retry : run_action, o, op_free, ret_job,
                              err);
}

/* Retry a broken install: fetch again into a clean payload dir, keep the
 * pup's id, storage and config. */
static void run_retry(struct job *job, void *ud)
{
        struct op *o = ud;
        struct pups *p = o->p;
        struct pup *pup = op_pup(o);
        struct dbx_error e = {0};
        struct pup_source_info info = {0};
        o->job = job;
        if (!pup) {
                job_done(job, -ENOENT, "no such pup");
                return;
        }
        int r = pup_lookup(p->cfg.sources, pup->source_id, pup->name, pup->version, &info, &e);
        if (r < 0) {
                job_done(job, r, e.message);
                return;
        }
        pup_set_installation(p, pup, "installing", NULL);
        job_progress(job, 20, "download", "fetching %s %s again", pup->name, pup->version);
        _cleanup_free_ char *dest = pup_path(p, "pups", pup->id);
        fs_rm_rf(dest);
        r = pup_fetch_start(p->cfg.sources, &info, dest, NULL, &o->fetch, &e);
        pup_source_info_done(&info);
        if (r >= 0)
                r = workpool_submit(p->cfg.pool, fetch_work, install_fetched, o);
        if (r < 0)
                fail(o, pup, "download_failed", r, e.message[0] ? e.message : strerror(-r));
}

/* ---- config ------------------------------------------------------------ */

static void run_config(struct job *job, void *ud)
{
        struct op *o = ud;
        struct pups *p = o->p;
        struct pup *pup = op_pup(o);
        struct dbx_error e = {0};
        o->job = job;
        if (!pup) {
                job_done(job, -ENOENT, "no such pup");
                return;
        }
        json_t *merged = json_deep_copy(pup->config);
        json_object_update(merged, o->config_values);
        json_t *old = pup->config;
        bool old_saved = pup->config_saved;
        pup->config = merged;
        pup->config_saved = true;
        test_pause("config", "save");
        int r = pup_persist(p, pup);
        if (r < 0) {
                pup->config = old;
                pup->config_saved = old_saved;
                json_decref(merged);
                job_done(job, r, "cannot save the configuration");
                return;
        }
        json_decref(old);
        test_pause("config", "write");
        r = pup_write_config_env(p, pup, &e);
        if (r < 0 && r != -ENOENT) {
                job_done(job, r, e.message);
                return;
        }
        pup_emit_state(p, pup);
        if (p->cfg.emit)
                p->cfg.emit(p->cfg.ud, "action", job_get_id(job), pups_state_json(p, pup), NULL);
        job_progress(job, 60, "config", "configuration of %s saved", pup->name);
        if (pup->sb && sandbox_is_running(pup->sb)) {
                snprintf(o->action, sizeof(o->action), "restart");
                stop_then(o, pup);
                return;
        }
        if (pup->enabled && pup_can_start(pup, NULL)) {
                r = pup_start(p, pup, &e);
                if (r < 0) {
                        job_done(job, r, e.message);
                        return;
                }
                pup->wait_job = job;
                return;
        }
        job_done(job, 0, NULL);
}

int pups_configure(struct pups *p, const char *id, const json_t *values, char ret_job[33],
                   struct dbx_errors *errs, struct dbx_error *err)
{
        struct pup *pup = pups_find(p, id);
        if (!pup)
                return dbx_error_set(err, -ENOENT, "", "no pup '%s'", id);
        if (!pup->manifest)
                return dbx_error_set(err, -EINVAL, "", "%s has no valid manifest", pup->name);
        if (!json_is_object(values) || json_object_size(values) == 0)
                return dbx_error_set(err, -EINVAL, "",
                                     "a JSON object {\"field\": value, ...} is expected");
        /* Validate the complete result (current config with the submission
         * on top): unknown keys, bad values and required fields left blank
         * are all reported at once, and nothing changes. */
        json_t *merged = json_deep_copy(pup->config);
        json_object_update(merged, (json_t *)values);
        int r = manifest_config_validate(pup->manifest, merged, errs);
        json_decref(merged);
        json_t *stored = NULL;
        if (r >= 0)
                r = manifest_config_coerce(pup->manifest, values, &stored, errs);
        if (r < 0)
                return dbx_error_set(err, -EINVAL, "", "%zu configuration value%s invalid", errs->n,
                                     errs->n == 1 ? " is" : "s are");
        struct op *o = op_new(p, pup->id, "config");
        o->config_values = stored;
        char display[160];
        snprintf(display, sizeof(display), "Configure %s", pup->name);
        return pup_job_submit(p, pup, "config", display, run_config, o, op_free, ret_job, err);
}

/* ---- reconcile --------------------------------------------------------- */

int pups_reconcile(struct pups *p)
{
        for (struct pup *pup = p->list, *next; pup; pup = next) {
                next = pup->next;
                _cleanup_free_ char *payload = pup_path(p, "pups", pup->id);
                _cleanup_free_ char *storage = pup_path(p, "storage", pup->id);
                if (streq(pup->installation, "installing") ||
                    streq(pup->installation, "upgrading")) {
                        /* the fetch never finished: the payload may be partial */
                        fs_rm_rf(payload);
                        log_warn("pup %s (%s): install was interrupted; it is broken and can be "
                                 "retried or purged",
                                 pup->id, pup->name);
                        pup_set_installation(p, pup, "broken", "install_interrupted");
                } else if (streq(pup->installation, "uninstalling")) {
                        fs_rm_rf(payload);
                        pup_set_installation(p, pup, "uninstalled", NULL);
                } else if (streq(pup->installation, "purging")) {
                        fs_rm_rf(payload);
                        fs_rm_rf(storage);
                        store_pup_delete(p->cfg.store, pup->id);
                        log_info("pup %s (%s): finished an interrupted purge", pup->id, pup->name);
                        pup_net_release(p, pup); /* DRE */
                        pup_unlink_free(p, pup);
                        continue;
                }
        }
        /* then start what should run; config.env is rewritten from the
         * database (the truth) in case a crash came between the two */
        for (struct pup *pup = p->list; pup; pup = pup->next) {
                struct dbx_error e = {0};
                if (streq(pup->installation, "ready") && pup->manifest &&
                    pup_write_config_env(p, pup, &e) < 0)
                        log_warn("pup %s (%s): %s", pup->id, pup->name, e.message);
                if (!pup->enabled || !streq(pup->installation, "ready"))
                        continue;
                if (!pup_can_start(pup, &e)) {
                        log_info("pup %s (%s) waits: %s", pup->id, pup->name, e.message);
                        continue;
                }
                if (pup_start(p, pup, &e) < 0)
                        log_error("pup %s (%s): cannot start: %s", pup->id, pup->name, e.message);
        }
        return 0;
}
