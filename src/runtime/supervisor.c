/* The daemon side of sandboxes: spawning, pup-init's reports, service
 * output, stop/kill, stats, cleanup. Runs on the caller's sd-event loop;
 * nothing here blocks except sandbox_free() of a running sandbox and the
 * brief wait for a dying cgroup. */
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "core/fsutil.h"
#include "core/macro.h"
#include "core/util.h"
#include "dbx-config.h"
#include "runtime/initproto.h"
#include "runtime/internal.h"

#define STOP_MARGIN_MS   2000u       /* pup-init's own SIGKILL comes at grace; we follow */
#define READ_CHUNK       (16u << 10) /* one read from a service pipe */
#define READS_PER_WAKEUP 16          /* then yield to the loop: a chatty pup can't starve it */
#define REPORT_BUF       (2 * PUPINIT_REPORT_MAX)

#ifndef DBX_PUP_INIT_INSTALLED
#define DBX_PUP_INIT_INSTALLED "/usr/local/libexec/dogebox/pup-init"
#endif

struct sb_pipe {
        struct sandbox *sb;
        int fd;
        sd_event_source *src;
        struct runtime_log_stream st;
        const char *service;
        const char *stream;
};

struct sandbox_supervisor {
        sd_event *event;
        struct cg_layout cg;
        char cgroup_parent[SANDBOX_CGROUP_PARENT_MAX + 1];
        int pup_init_fd;
        struct runtime_log_limits log_limits;
        struct sandbox *list;
};

struct sandbox {
        struct sandbox_supervisor *sup;
        struct sandbox *next, *prev;
        struct sandbox_spec spec;
        char name[SANDBOX_NAME_MAX + 8]; /* "pup-<id>" */
        char cgroup_dir[CG_PATH_MAX];

        pid_t pid;
        int pidfd;
        int sync_fd;
        int report_fd;
        sd_event_source *pid_src, *report_src, *kill_timer;
        char rbuf[REPORT_BUF];
        size_t rlen;
        struct sb_pipe pipes[2 * SANDBOX_SERVICES_MAX];
        size_t n_pipes;
        struct cg_sandbox cg;
        struct runtime_log *log;

        bool running, ready, stop_pending, stopping, killed, exited_clean;
        int status;
        int setup_errno;
        char setup_msg[PUPINIT_REPORT_MAX];

        sandbox_event_fn cb;
        void *userdata;
};

/* --- pup-init ------------------------------------------------------------ */

int sandbox_pup_init_open(const char *explicit_path, struct dbx_error *err)
{
        const char *env = getenv(SANDBOX_PUP_INIT_ENV);
        const char *cands[] = {
            DBX_PUP_INIT_INSTALLED,
#ifdef DBX_PUP_INIT_BUILD
            DBX_PUP_INIT_BUILD,
#endif
        };
        const char *path = explicit_path ? explicit_path : env && *env ? env : NULL;
        struct stat st;
        int fd;

        if (!path) {
                for (size_t i = 0; i < ARRAY_SIZE(cands) && !path; i++)
                        if (access(cands[i], F_OK) == 0)
                                path = cands[i];
                if (!path)
                        return dbx_error_set(err, -ENOENT, "pup_init",
                                             "pup-init not found (looked at %s%s%s); set $%s",
                                             cands[0], ARRAY_SIZE(cands) > 1 ? " and " : "",
                                             ARRAY_SIZE(cands) > 1 ? cands[ARRAY_SIZE(cands) - 1]
                                                                   : "",
                                             SANDBOX_PUP_INIT_ENV);
        }
        fd = open(path, O_PATH | O_CLOEXEC);
        if (fd < 0)
                return dbx_error_set(err, -errno, "pup_init", "cannot open %s: %s", path,
                                     strerror(errno));
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                return dbx_error_set(err, -EINVAL, "pup_init", "%s is not a regular file", path);
        }
        /* it runs as the sandbox's unprivileged user: world-executable; and
         * nobody but its owner may change what every sandbox runs */
        if (!(st.st_mode & S_IXOTH) || (st.st_mode & (S_IWGRP | S_IWOTH)) ||
            (st.st_uid != 0 && st.st_uid != geteuid())) {
                close(fd);
                return dbx_error_set(err, -EPERM, "pup_init",
                                     "%s must be owned by root, executable by others and "
                                     "writable only by its owner",
                                     path);
        }
        return fd;
}

/* --- supervisor ---------------------------------------------------------- */

int sandbox_supervisor_new(sd_event *event, const struct sandbox_supervisor_config *cfg,
                           struct dbx_error *err, struct sandbox_supervisor **ret)
{
        struct sandbox_supervisor *s;
        const char *parent =
            cfg && cfg->cgroup_parent ? cfg->cgroup_parent : SANDBOX_CGROUP_PARENT_DEFAULT;
        int r;

        if (!cg_parent_is_valid(parent))
                return dbx_error_set(err, -EINVAL, "cgroup_parent",
                                     "'%s' is not a cgroup path (components of [A-Za-z0-9._@-], "
                                     "at most %d bytes)",
                                     parent, SANDBOX_CGROUP_PARENT_MAX);
        s = xcalloc(1, sizeof(*s));
        s->pup_init_fd = -1;
        snprintf(s->cgroup_parent, sizeof(s->cgroup_parent), "%s", parent);
        if (cfg)
                s->log_limits = cfg->log_limits;

        r = cg_layout_detect(&s->cg);
        if (r < 0) {
                dbx_error_set(err, r, "", "no usable cgroup v2 hierarchy: %s", strerror(-r));
                goto fail;
        }
        r = cg_parent_prepare(&s->cg, s->cgroup_parent, err);
        if (r < 0)
                goto fail;
        r = sandbox_pup_init_open(cfg ? cfg->pup_init_path : NULL, err);
        if (r < 0)
                goto fail;
        s->pup_init_fd = r;
        s->event = sd_event_ref(event);
        *ret = s;
        return 0;
fail:
        if (s->pup_init_fd >= 0)
                close(s->pup_init_fd);
        free(s);
        return r;
}

struct sandbox_supervisor *sandbox_supervisor_free(struct sandbox_supervisor *s)
{
        if (!s)
                return NULL;
        while (s->list)
                sandbox_free(s->list);
        if (s->pup_init_fd >= 0)
                close(s->pup_init_fd);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}

int sandbox_cleanup_leftovers(const char *cgroup_parent, bool remove_parent)
{
        struct cg_layout l;
        int r = cg_layout_detect(&l);
        if (r < 0)
                return r;
        return cg_cleanup(&l, cgroup_parent ? cgroup_parent : SANDBOX_CGROUP_PARENT_DEFAULT,
                          remove_parent);
}

/* --- events -------------------------------------------------------------- */

static void emit(struct sandbox *sb, const struct sandbox_event *ev)
{
        if (sb->cb)
                sb->cb(sb, ev, sb->userdata);
}

static void logf_sb(struct sandbox *sb, const char *fmt, ...) _printf_(2, 3);
static void logf_sb(struct sandbox *sb, const char *fmt, ...)
{
        char line[512];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(line, sizeof(line), fmt, ap);
        va_end(ap);
        if (n > 0)
                runtime_log_append(sb->log, now_ms(), "pup-init", NULL, line,
                                   MIN((size_t)n, sizeof(line) - 1));
}

static int service_index(struct sandbox *sb, const char *name)
{
        for (size_t i = 0; name && i < sb->spec.n_services; i++)
                if (streq(sb->spec.services[i].name, name))
                        return (int)i;
        return -1;
}

static long long jint(json_t *o, const char *k, long long def)
{
        json_t *v = json_object_get(o, k);
        return json_is_integer(v) ? json_integer_value(v) : def;
}

static void handle_report(struct sandbox *sb, const char *line, size_t len)
{
        json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, NULL);
        struct sandbox_event ev = {.exit_code = -1, .restart_in_ms = -1};
        const char *type, *svc = NULL;
        int idx;

        if (!json_is_object(o)) {
                logf_sb(sb, "malformed report from pup-init ignored");
                json_decref(o);
                return;
        }
        type = json_string_value(json_object_get(o, "ev"));
        idx = service_index(sb, json_string_value(json_object_get(o, "svc")));
        if (idx >= 0)
                svc = sb->spec.services[idx].name;
        ev.service = svc;
        ev.pid = (int)jint(o, "pid", 0);
        if (!type) {
                /* ignored below */
        } else if (streq(type, "ready")) {
                sb->ready = true;
                ev.type = SANDBOX_EVENT_READY;
                logf_sb(sb, "sandbox ready, %zu service(s)", sb->spec.n_services);
                emit(sb, &ev);
                if (sb->stop_pending)
                        pidfd_send_signal(sb->pidfd, SIGTERM, NULL, 0);
        } else if (streq(type, "start") && svc) {
                ev.type = SANDBOX_EVENT_SERVICE_STARTED;
                logf_sb(sb, "%s started (pid %d)", svc, ev.pid);
                emit(sb, &ev);
        } else if (streq(type, "exit") && svc) {
                ev.type = SANDBOX_EVENT_SERVICE_EXITED;
                ev.exit_code = (int)jint(o, "code", -1);
                ev.signal = (int)jint(o, "sig", 0);
                ev.oom = json_is_true(json_object_get(o, "oom"));
                ev.runtime_ms = (uint64_t)MAX(jint(o, "runtime_ms", 0), 0);
                ev.crashes = (uint32_t)MAX(jint(o, "crashes", 0), 0);
                ev.restart_in_ms = jint(o, "restart_ms", -1);
                {
                        char why[64], again[64] = "";
                        if (ev.signal)
                                snprintf(why, sizeof(why), "was killed by signal %d%s", ev.signal,
                                         ev.oom ? " (out of memory)" : "");
                        else
                                snprintf(why, sizeof(why), "exited with code %d", ev.exit_code);
                        if (ev.restart_in_ms >= 0)
                                snprintf(again, sizeof(again),
                                         "; restart in %lld ms (quick exit %u in a row)",
                                         (long long)ev.restart_in_ms, ev.crashes);
                        logf_sb(sb, "%s %s after %llu ms%s", svc, why,
                                (unsigned long long)ev.runtime_ms, again);
                }
                emit(sb, &ev);
        } else if (streq(type, "failing") && svc) {
                ev.type = SANDBOX_EVENT_SERVICE_FAILING;
                ev.crashes = (uint32_t)MAX(jint(o, "crashes", 0), 0);
                logf_sb(sb, "%s is failing: %u quick exits in a row", svc, ev.crashes);
                emit(sb, &ev);
        } else if (streq(type, "exec-error") && svc) {
                ev.type = SANDBOX_EVENT_SERVICE_EXEC_FAILED;
                ev.error = -(int)jint(o, "errno", EIO);
                logf_sb(sb, "%s: cannot run %s: %s", svc, sb->spec.services[idx].exec,
                        strerror(-ev.error));
                emit(sb, &ev);
        } else if (streq(type, "oom")) {
                ev.type = SANDBOX_EVENT_OOM;
                ev.oom_kills = (uint64_t)MAX(jint(o, "kills", 0), 0);
                logf_sb(sb, "memory limit reached: a process was killed (%llu so far)",
                        (unsigned long long)ev.oom_kills);
                emit(sb, &ev);
        } else if (streq(type, "stopping")) {
                ev.type = SANDBOX_EVENT_STOPPING;
                logf_sb(sb, "stopping");
                emit(sb, &ev);
        } else if (streq(type, "stopped")) {
                sb->exited_clean = true;
                sb->status = (int)jint(o, "status", 0);
        } else if (streq(type, "setup-error")) {
                const char *step = json_string_value(json_object_get(o, "step"));
                int e = (int)jint(o, "errno", EIO);
                sb->setup_errno = -(e > 0 ? e : EIO);
                snprintf(sb->setup_msg, sizeof(sb->setup_msg), "sandbox setup failed at %s: %s",
                         step ? step : "?", strerror(e > 0 ? e : EIO));
                logf_sb(sb, "%s", sb->setup_msg);
        }
        json_decref(o);
}

static void read_reports(struct sandbox *sb)
{
        for (;;) {
                ssize_t n = read(sb->report_fd, sb->rbuf + sb->rlen, sizeof(sb->rbuf) - sb->rlen);
                char *nl;
                if (n <= 0) {
                        if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
                                sd_event_source_set_enabled(sb->report_src, SD_EVENT_OFF);
                                return;
                        }
                        if (errno == EAGAIN)
                                return;
                        continue;
                }
                sb->rlen += (size_t)n;
                while (sb->running && (nl = memchr(sb->rbuf, '\n', sb->rlen))) {
                        size_t l = (size_t)(nl - sb->rbuf);
                        handle_report(sb, sb->rbuf, l);
                        memmove(sb->rbuf, nl + 1, sb->rlen - l - 1);
                        sb->rlen -= l + 1;
                }
                if (sb->rlen == sizeof(sb->rbuf)) /* no line fits: not pup-init talking */
                        sb->rlen = 0;
        }
}

static int on_report(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        read_reports(userdata);
        return 0;
}

/* Returns false at EOF. */
static bool read_pipe(struct sb_pipe *p, int max_reads)
{
        char buf[READ_CHUNK];
        for (int i = 0; max_reads < 0 || i < max_reads; i++) {
                ssize_t n = read(p->fd, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        return true;
                if (n <= 0) {
                        runtime_log_feed(p->sb->log, &p->st, now_ms(), p->service, p->stream, NULL,
                                         0, true);
                        sd_event_source_set_enabled(p->src, SD_EVENT_OFF);
                        return false;
                }
                runtime_log_feed(p->sb->log, &p->st, now_ms(), p->service, p->stream, buf,
                                 (size_t)n, false);
        }
        return true;
}

static int on_pipe(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        read_pipe(userdata, READS_PER_WAKEUP);
        return 0;
}

static void release(struct sandbox *sb)
{
        sb->pid_src = sd_event_source_disable_unref(sb->pid_src);
        sb->report_src = sd_event_source_disable_unref(sb->report_src);
        sb->kill_timer = sd_event_source_disable_unref(sb->kill_timer);
        for (size_t i = 0; i < sb->n_pipes; i++) {
                sb->pipes[i].src = sd_event_source_disable_unref(sb->pipes[i].src);
                if (sb->pipes[i].fd >= 0)
                        close(sb->pipes[i].fd);
                sb->pipes[i].fd = -1;
                runtime_log_stream_done(&sb->pipes[i].st);
        }
        if (sb->report_fd >= 0)
                close(sb->report_fd);
        if (sb->sync_fd >= 0)
                close(sb->sync_fd);
        if (sb->pidfd >= 0)
                close(sb->pidfd);
        sb->report_fd = sb->sync_fd = sb->pidfd = -1;
}

/* pup-init is gone, and with it the pid namespace: collect what is left
 * to read, remove the cgroup, tell the owner. */
static void finalize(struct sandbox *sb, const siginfo_t *si, bool notify)
{
        struct sandbox_event ev = {
            .type = SANDBOX_EVENT_STOPPED, .exit_code = -1, .restart_in_ms = -1};
        char msg[PUPINIT_REPORT_MAX + 64] = "";

        read_reports(sb);
        for (size_t i = 0; i < sb->n_pipes; i++)
                if (sb->pipes[i].fd >= 0)
                        read_pipe(&sb->pipes[i], -1);
        cg_sandbox_destroy(&sb->cg);
        release(sb);
        sb->running = false;
        sb->pid = 0;

        if (sb->setup_errno) {
                ev.reason = SANDBOX_STOPPED_SETUP_FAILED;
                ev.error = sb->setup_errno;
                snprintf(msg, sizeof(msg), "%s", sb->setup_msg);
        } else if (sb->killed) {
                ev.reason = SANDBOX_STOPPED_KILLED;
        } else if (sb->stopping) {
                ev.reason = SANDBOX_STOPPED_REQUESTED;
        } else if (sb->exited_clean) {
                ev.reason = SANDBOX_STOPPED_EXITED;
        } else {
                ev.reason = SANDBOX_STOPPED_INIT_DIED;
                if (si && si->si_code == CLD_EXITED)
                        snprintf(msg, sizeof(msg), "pup-init exited with status %d", si->si_status);
                else if (si)
                        snprintf(msg, sizeof(msg), "pup-init was killed by signal %d",
                                 si->si_status);
        }
        ev.status = sb->exited_clean                  ? sb->status
                    : si && si->si_code == CLD_EXITED ? si->si_status
                    : si                              ? 128 + si->si_status
                                                      : 128 + SIGKILL;
        ev.message = msg[0] ? msg : NULL;
        logf_sb(sb, "sandbox stopped (%s)%s%s",
                (const char *[]){"requested", "killed", "all services ended", "setup failed",
                                 "pup-init died"}[ev.reason],
                msg[0] ? ": " : "", msg);
        if (notify)
                emit(sb, &ev);
}

static int on_exit_pidfd(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct sandbox *sb = userdata;
        siginfo_t si = {0};

        if (waitid(P_PIDFD, (id_t)sb->pidfd, &si, WEXITED | WNOHANG) < 0) {
                /* someone else reaped it (a waitpid(-1) elsewhere in the
                 * process): it is gone all the same */
                finalize(sb, NULL, true);
                return 0;
        }
        if (si.si_pid == 0)
                return 0; /* not a zombie yet */
        finalize(sb, &si, true);
        return 0;
}

/* --- spawn --------------------------------------------------------------- */

int sandbox_spawn(struct sandbox_supervisor *s, const struct sandbox_spec *spec,
                  const struct sandbox_hooks *hooks, sandbox_event_fn on_event, void *userdata,
                  struct dbx_error *err, struct sandbox **ret)
{
        struct sandbox *sb;
        struct spawn_result res;
        struct cg_limits lim;
        int r;

        r = sandbox_spec_validate(spec, err);
        if (r < 0)
                return r;
        for (struct sandbox *o = s->list; o; o = o->next)
                if (o->running && streq(o->spec.pup_id, spec->pup_id))
                        return dbx_error_set(err, -EBUSY, "pup_id",
                                             "a sandbox for %s is already running", spec->pup_id);

        sb = xcalloc(1, sizeof(*sb));
        sb->sup = s;
        sb->pidfd = sb->sync_fd = sb->report_fd = -1;
        sb->cg.unified_fd = sb->cg.oom_fd = -1;
        sb->cb = on_event;
        sb->userdata = userdata;
        sandbox_spec_copy(spec, &sb->spec);
        snprintf(sb->name, sizeof(sb->name), "pup-%s", spec->pup_id);

        if (spec->log_dir) {
                r = fs_mkdir_p(spec->log_dir, 0750);
                if (r < 0) {
                        dbx_error_set(err, r, "log_dir", "cannot create %s: %s", spec->log_dir,
                                      strerror(-r));
                        goto fail;
                }
        }
        r = runtime_log_open(spec->log_dir, spec->pup_id, &s->log_limits, &sb->log);
        if (r < 0) {
                dbx_error_set(err, r, "log_dir", "cannot open the log in %s: %s",
                              spec->log_dir ? spec->log_dir : "(memory)", strerror(-r));
                goto fail;
        }

        lim = (struct cg_limits){spec->memory_max, spec->pids_max, spec->cpu_weight};
        r = cg_sandbox_create(&s->cg, s->cgroup_parent, sb->name, &lim, &sb->cg, err);
        if (r < 0)
                goto fail;
        snprintf(sb->cgroup_dir, sizeof(sb->cgroup_dir), "%s", sb->cg.dirs.path[0]);

        r = sandbox_spawn_process(&sb->spec,
                                  &(struct spawn_env){.pup_init_fd = s->pup_init_fd,
                                                      .seccomp = sandbox_seccomp_filter(),
                                                      .cg = &sb->cg,
                                                      .hooks = hooks},
                                  &res, err);
        if (r < 0)
                goto fail;
        sb->pid = res.pid;
        sb->pidfd = res.pidfd;
        sb->sync_fd = res.sync_fd;
        sb->report_fd = res.report_fd;
        sb->running = true;
        for (size_t i = 0; i < res.n_log_fds; i++) {
                struct sb_pipe *p = &sb->pipes[sb->n_pipes++];
                *p = (struct sb_pipe){.sb = sb,
                                      .fd = res.log_fds[i],
                                      .service = sb->spec.services[i / 2].name,
                                      .stream = i % 2 ? "stderr" : "stdout"};
        }

        /* from here on, failures are reported through the loop */
        r = sd_event_add_io(s->event, &sb->pid_src, sb->pidfd, EPOLLIN, on_exit_pidfd, sb);
        if (r >= 0)
                r = sd_event_add_io(s->event, &sb->report_src, sb->report_fd, EPOLLIN, on_report,
                                    sb);
        for (size_t i = 0; r >= 0 && i < sb->n_pipes; i++)
                r = sd_event_add_io(s->event, &sb->pipes[i].src, sb->pipes[i].fd, EPOLLIN, on_pipe,
                                    &sb->pipes[i]);
        if (r < 0) {
                dbx_error_set(err, r, "", "event loop: %s", strerror(-r));
                sb->next = s->list; /* so sandbox_free() unlinks it cleanly */
                if (s->list)
                        s->list->prev = sb;
                s->list = sb;
                sandbox_free(sb);
                return r;
        }
        /* the pid exit must be seen after the last report and output */
        sd_event_source_set_priority(sb->pid_src, SD_EVENT_PRIORITY_NORMAL + 10);
        logf_sb(sb, "sandbox starting (host pid %d, uids %u-%u)", (int)sb->pid, spec->uid_base,
                spec->uid_base + SANDBOX_UIDRANGE_SIZE - 1);

        sb->next = s->list;
        if (s->list)
                s->list->prev = sb;
        s->list = sb;
        if (ret)
                *ret = sb;
        return 0;
fail:
        cg_sandbox_destroy(&sb->cg);
        runtime_log_free(sb->log);
        sandbox_spec_done(&sb->spec);
        free(sb);
        return r;
}

/* --- control ------------------------------------------------------------- */

static int on_kill_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct sandbox *sb = userdata;
        logf_sb(sb, "grace period over: killing what is left");
        sandbox_kill(sb);
        return 0;
}

int sandbox_stop(struct sandbox *sb)
{
        int r;

        if (!sb->running)
                return -ESRCH;
        if (sb->stopping || sb->killed)
                return 0;
        sb->stopping = true;
        if (sb->ready)
                pidfd_send_signal(sb->pidfd, SIGTERM, NULL, 0);
        else
                sb->stop_pending = true; /* pup-init cannot take signals before it runs */
        r = sd_event_add_time_relative(sb->sup->event, &sb->kill_timer, CLOCK_MONOTONIC,
                                       (uint64_t)(sb->spec.stop_grace_ms + STOP_MARGIN_MS) * 1000,
                                       0, on_kill_timer, sb);
        return r < 0 ? r : 0;
}

int sandbox_kill(struct sandbox *sb)
{
        if (!sb->running)
                return -ESRCH;
        sb->killed = true;
        if (pidfd_send_signal(sb->pidfd, SIGKILL, NULL, 0) < 0 && errno != ESRCH)
                return -errno;
        cg_kill_dir(sb->cgroup_dir);
        return 0;
}

int sandbox_stats(struct sandbox *sb, struct sandbox_stats *ret)
{
        if (!sb->running)
                return -ESRCH;
        return cg_sandbox_stats(&sb->cg, ret);
}

bool sandbox_is_running(const struct sandbox *sb)
{
        return sb->running;
}

pid_t sandbox_pid(const struct sandbox *sb)
{
        return sb->pid;
}

const char *sandbox_id(const struct sandbox *sb)
{
        return sb->spec.pup_id;
}

const char *sandbox_cgroup_dir(const struct sandbox *sb)
{
        return sb->cgroup_dir;
}

struct runtime_log *sandbox_log(struct sandbox *sb)
{
        return sb->log;
}

struct sandbox *sandbox_free(struct sandbox *sb)
{
        if (!sb)
                return NULL;
        if (sb->running) {
                siginfo_t si = {0};
                sandbox_kill(sb);
                while (waitid(P_PIDFD, (id_t)sb->pidfd, &si, WEXITED) < 0 && errno == EINTR)
                        ;
                finalize(sb, &si, false);
        }
        release(sb);
        cg_sandbox_close(&sb->cg);
        if (sb->prev)
                sb->prev->next = sb->next;
        else if (sb->sup->list == sb)
                sb->sup->list = sb->next;
        if (sb->next)
                sb->next->prev = sb->prev;
        runtime_log_free(sb->log);
        sandbox_spec_done(&sb->spec);
        free(sb);
        return NULL;
}
