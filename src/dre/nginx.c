/* The nginx process: a child of the daemon, watched through a pidfd on the
 * sd-event loop (no SIGCHLD handling needed, no waitpid(-1) stealing).
 *
 * nginx runs with `-p <run_dir>/ -c <run_dir>/nginx.conf -e
 * <run_dir>/logs/error.log -g "daemon off; master_process on;"` in its own
 * process group, so a dead master's orphaned workers (which still hold the
 * listening sockets) can be killed before the restart binds again. The
 * master's own messages in error.log ("start worker process", "[emerg]")
 * tell whether a start or a reload took effect: after SIGHUP a master that
 * cannot apply the new configuration logs why and keeps running the old
 * one, so the file on disk is put back too. */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include "core/fsutil.h"
#include "core/util.h"
#include "dre/dre.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define POLL_STEP_MS          1                 /* how often a blocking wait looks at the log */
#define GROUP_REAP_TIMEOUT_MS 1000              /* orphaned workers die at once after SIGKILL */
#define LOG_CHECK_USEC        (60ull * 1000000) /* how often log sizes are checked */
#define LOG_TAIL_READ_MAX     (1u << 20)        /* bytes of new log read per poll */

struct dre_nginx {
        sd_event *event;
        char *bin, *run_dir, *prefix, *conf_path, *new_path, *log_path, *access_path, *pid_path;
        dre_nginx_event_cb cb;
        void *userdata;

        pid_t pid; /* master, also its process group; 0 when not running */
        int pidfd;
        bool ready;         /* the master confirmed its start */
        off_t spawn_offset; /* error.log size when it was spawned */
        sd_event_source *child_src, *restart_src, *logs_src;

        bool want_running; /* false until the first apply, and after stop */
        unsigned restarts;
        uint64_t window_start_usec;
        unsigned window_count;
        unsigned backoff_ms;
        char *good_conf; /* the text of the configuration nginx runs */
};

static void closedirp(DIR **d)
{
        if (*d)
                closedir(*d);
}

static int pidfd_open_(pid_t pid)
{
        return (int)syscall(SYS_pidfd_open, pid, 0);
}

static void emit(struct dre_nginx *n, enum dre_nginx_event ev, pid_t pid, const char *detail)
{
        if (n->cb)
                n->cb(n, ev, pid, detail, n->userdata);
}

static void sleep_ms(unsigned ms)
{
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static off_t file_size(const char *path)
{
        struct stat st;
        return stat(path, &st) == 0 ? st.st_size : 0;
}

/* Keep a log below DRE_NGINX_LOG_MAX: its last DRE_NGINX_LOG_MAX/2 bytes go
 * to <log>.1 and it is truncated in place (nginx writes with O_APPEND, so no
 * reopen signal is needed). */
static void log_cut(const char *path)
{
        off_t size = file_size(path);
        if (size <= (off_t)DRE_NGINX_LOG_MAX)
                return;
        size_t keep = DRE_NGINX_LOG_MAX / 2;
        _cleanup_close_ int fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return;
        _cleanup_free_ char *buf = xmalloc(keep);
        ssize_t k = pread(fd, buf, keep, size - (off_t)keep);
        if (k > 0) {
                _cleanup_free_ char *old = xasprintf("%s.1", path);
                (void)fs_write_atomic(old, buf, (size_t)k, 0640);
        }
        (void)ftruncate(fd, 0);
}

static void logs_cut(struct dre_nginx *n)
{
        log_cut(n->log_path);
        log_cut(n->access_path);
}

static int on_logs_timer(sd_event_source *s, uint64_t usec, void *ud)
{
        struct dre_nginx *n = ud;
        logs_cut(n);
        sd_event_source_set_time(s, usec + LOG_CHECK_USEC);
        return 0;
}

/* Does any process of group pgid still run? Zombies do not count: they
 * hold no sockets, and an init that reaps slowly must not delay a restart. */
static bool group_alive(pid_t pgid)
{
        _cleanup_(closedirp) DIR *d = opendir("/proc");
        struct dirent *de;

        if (!d)
                return kill(-pgid, 0) == 0;
        while ((de = readdir(d))) {
                char path[300], buf[512];
                if (de->d_name[0] < '1' || de->d_name[0] > '9')
                        continue;
                snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
                _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        continue;
                ssize_t k = read(fd, buf, sizeof(buf) - 1);
                if (k <= 0)
                        continue;
                buf[k] = 0;
                /* "pid (comm) S ppid pgrp ...": comm may contain anything,
                 * so parse from the last ')'. */
                const char *p = strrchr(buf, ')');
                char state;
                int ppid, pgrp;
                if (!p || sscanf(p + 1, " %c %d %d", &state, &ppid, &pgrp) != 3)
                        continue;
                if (pgrp == pgid && state != 'Z' && state != 'X')
                        return true;
        }
        return false;
}

/* Kill whatever is left of the process group and wait (bounded) until it
 * is gone, reaping what is ours to reap. */
static void group_kill(pid_t pgid)
{
        if (pgid <= 0)
                return;
        for (unsigned i = 0; i < GROUP_REAP_TIMEOUT_MS / POLL_STEP_MS; i++) {
                if (kill(-pgid, SIGKILL) < 0 && errno == ESRCH)
                        return;
                while (waitpid(-pgid, NULL, WNOHANG) > 0)
                        ;
                if (!group_alive(pgid))
                        return;
                sleep_ms(POLL_STEP_MS);
        }
}

static void describe_status(const siginfo_t *si, char *out, size_t size)
{
        if (si->si_code == CLD_EXITED)
                snprintf(out, size, "exited with status %d", si->si_status);
        else
                snprintf(out, size, "killed by signal %d (%s)", si->si_status,
                         strsignal(si->si_status));
}

/* Collect the master's exit if it happened. Returns true when it is gone;
 * then the pidfd and its event source are released. */
static bool master_reap(struct dre_nginx *n, char *detail, size_t size)
{
        siginfo_t si = {0};

        if (n->pidfd < 0)
                return true;
        if (waitid((idtype_t)P_PIDFD, (id_t)n->pidfd, &si, WEXITED | WNOHANG) < 0) {
                if (errno != ECHILD)
                        return false;
                snprintf(detail, size, "exited (status unknown)");
        } else if (si.si_pid == 0) {
                return false;
        } else {
                describe_status(&si, detail, size);
        }
        n->child_src = sd_event_source_disable_unref(n->child_src);
        close(n->pidfd);
        n->pidfd = -1;
        group_kill(n->pid);
        n->pid = 0;
        n->ready = false;
        return true;
}

static int spawn(struct dre_nginx *n, struct dbx_error *err);
static int restart_now(struct dre_nginx *n);
static int on_restart_timer(sd_event_source *s, uint64_t usec, void *ud);

static void schedule_restart(struct dre_nginx *n)
{
        uint64_t now = now_mono_usec();
        unsigned delay_ms = 0;

        if (now - n->window_start_usec > (uint64_t)DRE_NGINX_RESTART_WINDOW_MS * 1000) {
                n->window_start_usec = now;
                n->window_count = 0;
                n->backoff_ms = 0;
        }
        if (++n->window_count > DRE_NGINX_FAST_RESTARTS) {
                n->backoff_ms =
                    n->backoff_ms ? MIN(n->backoff_ms * 2, DRE_NGINX_BACKOFF_MAX_MS) : 1000;
                delay_ms = n->backoff_ms;
        }
        n->restart_src = sd_event_source_disable_unref(n->restart_src);
        if (delay_ms == 0) {
                restart_now(n);
                return;
        }
        int r = sd_event_add_time_relative(n->event, &n->restart_src, CLOCK_MONOTONIC,
                                           (uint64_t)delay_ms * 1000, 1000, on_restart_timer, n);
        if (r < 0)
                restart_now(n); /* no timer: better a fast loop than a dead proxy */
}

static int on_restart_timer(sd_event_source *s, uint64_t usec, void *ud)
{
        struct dre_nginx *n = ud;
        n->restart_src = sd_event_source_disable_unref(n->restart_src);
        restart_now(n);
        return 0;
}

static int restart_now(struct dre_nginx *n)
{
        struct dbx_error err = {0};

        if (!n->want_running || n->pid)
                return 0;
        int r = spawn(n, &err);
        if (r < 0) {
                emit(n, DRE_NGINX_START_FAILED, 0, err.message);
                schedule_restart(n);
                return r;
        }
        emit(n, DRE_NGINX_STARTED, n->pid, "restarted");
        return 0;
}

static int on_master_exit(sd_event_source *s, int fd, uint32_t revents, void *ud)
{
        struct dre_nginx *n = ud;
        char detail[128];
        pid_t pid = n->pid;

        if (!master_reap(n, detail, sizeof(detail)))
                return 0;
        if (!n->want_running)
                return 0;
        n->restarts++;
        emit(n, DRE_NGINX_EXITED, pid, detail);
        schedule_restart(n);
        return 0;
}

/* procfs files report size 0: read until EOF, at most max bytes. */
static int read_proc(const char *path, size_t max, char **ret, size_t *ret_len)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        _cleanup_free_ char *buf = xmalloc(max + 1);
        size_t len = 0;
        while (len < max) {
                ssize_t n = read(fd, buf + len, max - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        buf[len] = 0;
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

/* An nginx of a previous daemon on the same run_dir holds our ports. */
static void kill_stale(struct dre_nginx *n)
{
        _cleanup_free_ char *s = NULL, *cmd = NULL;
        char path[64];
        size_t len = 0;

        if (fs_read_file(n->pid_path, 64, &s, NULL) < 0)
                return;
        pid_t pid = (pid_t)atoi(s);
        if (pid <= 1 || pid == n->pid)
                return;
        snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
        if (read_proc(path, 8192, &cmd, &len) < 0)
                return;
        /* cmdline is NUL-separated: look for our conf path as an argument. */
        bool ours = false;
        for (size_t i = 0; i < len; i += strlen(cmd + i) + 1)
                if (streq(cmd + i, n->conf_path))
                        ours = true;
        if (!ours)
                return;
        (void)kill(pid, SIGKILL);
        group_kill(pid);
        for (unsigned i = 0; i < GROUP_REAP_TIMEOUT_MS / POLL_STEP_MS; i++) {
                if (kill(pid, 0) < 0 && errno == ESRCH)
                        break;
                sleep_ms(POLL_STEP_MS);
        }
}

static int make_dirs(struct dre_nginx *n)
{
        static const char *const subdirs[] = {"logs", "tmp"};
        int r = fs_mkdir_p(n->run_dir, 0755);
        for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(subdirs); i++) {
                _cleanup_free_ char *p = xasprintf("%s/%s", n->run_dir, subdirs[i]);
                r = fs_mkdir_p(p, 0755);
        }
        return r;
}

static int spawn(struct dre_nginx *n, struct dbx_error *err)
{
        int r = make_dirs(n);
        if (r < 0)
                return dbx_error_set(err, r, "", "cannot create %s: %s", n->run_dir, strerror(-r));
        kill_stale(n);
        logs_cut(n);
        (void)unlink(n->pid_path);
        n->spawn_offset = file_size(n->log_path);

        /* Everything the child needs is ready before fork(): after it, only
         * async-signal-safe calls (the daemon has threads). */
        char *argv[] = {"nginx",     "-p",         n->prefix,
                        "-c",        n->conf_path, "-e",
                        n->log_path, "-g",         "daemon off; master_process on;",
                        NULL};
        const char *bin = n->bin;
        const char *log = n->log_path;
        pid_t parent = getpid();
        sigset_t none;
        sigemptyset(&none);

        pid_t pid = fork();
        if (pid < 0)
                return dbx_error_set(err, -errno, "", "cannot fork nginx: %m");
        if (pid == 0) {
                (void)setpgid(0, 0);
                /* If the daemon dies, nginx shuts down with it (SIGTERM is a
                 * fast shutdown that takes the workers along). */
                (void)prctl(PR_SET_PDEATHSIG, SIGTERM);
                if (getppid() != parent)
                        _exit(1);
                sigprocmask(SIG_SETMASK, &none, NULL);
                signal(SIGPIPE, SIG_DFL);
                int nul = open("/dev/null", O_RDONLY);
                int out = open(log, O_WRONLY | O_APPEND | O_CREAT, 0640);
                if (nul < 0 || out < 0)
                        _exit(126);
                dup2(nul, STDIN_FILENO);
                dup2(out, STDOUT_FILENO);
                dup2(out, STDERR_FILENO);
                syscall(SYS_close_range, 3, ~0u, 0);
                execv(bin, argv);
                _exit(127);
        }
        (void)setpgid(pid, pid); /* also here: no window where kill(-pid) misses */
        n->pid = pid;
        n->ready = false;
        n->pidfd = pidfd_open_(pid);
        if (n->pidfd < 0) {
                r = -errno;
                group_kill(pid);
                while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                        ;
                n->pid = 0;
                return dbx_error_set(err, r, "", "pidfd_open: %s", strerror(-r));
        }
        r = sd_event_add_io(n->event, &n->child_src, n->pidfd, EPOLLIN, on_master_exit, n);
        if (r < 0) {
                char d[64];
                (void)kill(pid, SIGKILL);
                while (!master_reap(n, d, sizeof(d)))
                        sleep_ms(POLL_STEP_MS);
                return dbx_error_set(err, r, "", "cannot watch nginx: %s", strerror(-r));
        }
        return 0;
}

/* Scan new error.log lines of the master for the outcome of a start or a
 * reload: 1 = workers started, -1 = [emerg]/[alert] (msg set), 0 = not yet. */
static int scan_log(const char *text, pid_t master, char *msg, size_t msgsz)
{
        char tag[32];
        snprintf(tag, sizeof(tag), "] %d#", (int)master);
        for (const char *line = text; line && *line;) {
                const char *eol = strchr(line, '\n');
                if (!eol)
                        break; /* incomplete line: wait for the rest */
                size_t len = (size_t)(eol - line);
                const char *t = memmem(line, len, tag, strlen(tag));
                if (t) {
                        bool bad =
                            memmem(line, len, "[emerg]", 7) || memmem(line, len, "[alert]", 7);
                        if (bad) {
                                const char *m = memmem(t, len - (size_t)(t - line), ": ", 2);
                                m = m ? m + 2 : line;
                                snprintf(msg, msgsz, "%.*s", (int)(eol - m), m);
                                return -1;
                        }
                        if (memmem(line, len, "start worker process ", 21))
                                return 1;
                }
                line = eol + 1;
        }
        return 0;
}

/* The text of the first [emerg] line of any process, or "". */
static void first_emerg(const char *text, char *out, size_t size)
{
        const char *e = strstr(text, "[emerg]");
        out[0] = 0;
        if (!e)
                return;
        size_t len = strcspn(e, "\n");
        const char *m = memmem(e, len, ": ", 2);
        if (m)
                snprintf(out, size, "%.*s", (int)(len - (size_t)(m + 2 - e)), m + 2);
}

/* Wait until the master reports the outcome (see scan_log), it exits, or
 * timeout_ms passes. */
static int wait_master(struct dre_nginx *n, off_t from, unsigned timeout_ms, char *msg,
                       size_t msgsz)
{
        _cleanup_close_ int fd = open(n->log_path, O_RDONLY | O_CLOEXEC);
        _cleanup_free_ char *buf = xmalloc(LOG_TAIL_READ_MAX + 1);
        size_t have = 0;
        uint64_t deadline = now_mono_usec() + (uint64_t)timeout_ms * 1000;

        msg[0] = 0;
        for (;;) {
                if (fd < 0)
                        fd = open(n->log_path, O_RDONLY | O_CLOEXEC);
                if (fd >= 0 && have < LOG_TAIL_READ_MAX) {
                        ssize_t k =
                            pread(fd, buf + have, LOG_TAIL_READ_MAX - have, from + (off_t)have);
                        if (k > 0)
                                have += (size_t)k;
                }
                buf[have] = 0;
                int s = scan_log(buf, n->pid, msg, msgsz);
                if (s != 0)
                        return s > 0 ? 0 : -EINVAL;
                char detail[128];
                if (master_reap(n, detail, sizeof(detail))) {
                        /* Gone: its last words are in the log by now. */
                        if (fd >= 0) {
                                ssize_t k = pread(fd, buf + have, LOG_TAIL_READ_MAX - have,
                                                  from + (off_t)have);
                                if (k > 0)
                                        have += (size_t)k;
                                buf[have] = 0;
                        }
                        char tail[DRE_NGINX_MSG_MAX];
                        first_emerg(buf, tail, sizeof(tail));
                        snprintf(msg, msgsz, "nginx %s%s%s", detail, tail[0] ? ": " : "", tail);
                        return -ECHILD;
                }
                if (now_mono_usec() > deadline) {
                        snprintf(msg, msgsz, "nginx did not confirm within %u ms", timeout_ms);
                        return -ETIMEDOUT;
                }
                sleep_ms(POLL_STEP_MS);
        }
}

/* Run `nginx -t` on path; on failure msg holds nginx's complaint. */
static int run_test(struct dre_nginx *n, const char *path, char *msg, size_t msgsz)
{
        char *argv[] = {"nginx",
                        "-t",
                        "-q",
                        "-p",
                        n->prefix,
                        "-c",
                        (char *)path,
                        "-e",
                        "stderr",
                        "-g",
                        "daemon off; master_process on;",
                        NULL};
        char out[DRE_NGINX_MSG_MAX];
        size_t have = 0;
        int fds[2];
        sigset_t none;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        sigemptyset(&none);
        pid_t pid = fork();
        if (pid < 0) {
                int r = -errno;
                close(fds[0]);
                close(fds[1]);
                return r;
        }
        if (pid == 0) {
                sigprocmask(SIG_SETMASK, &none, NULL);
                int nul = open("/dev/null", O_RDONLY);
                if (nul < 0)
                        _exit(126);
                dup2(nul, STDIN_FILENO);
                dup2(fds[1], STDOUT_FILENO);
                dup2(fds[1], STDERR_FILENO);
                syscall(SYS_close_range, 3, ~0u, 0);
                execv(n->bin, argv);
                _exit(127);
        }
        close(fds[1]);
        uint64_t deadline = now_mono_usec() + (uint64_t)DRE_NGINX_TEST_TIMEOUT_MS * 1000;
        bool timed_out = false;
        for (;;) {
                struct pollfd p = {.fd = fds[0], .events = POLLIN};
                int left = (int)((deadline - MIN(deadline, now_mono_usec())) / 1000);
                if (left <= 0) {
                        timed_out = true;
                        break;
                }
                int k = poll(&p, 1, left);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0) {
                        timed_out = k == 0;
                        break;
                }
                char tmp[1024];
                ssize_t m = read(fds[0], tmp, sizeof(tmp));
                if (m < 0 && errno == EINTR)
                        continue;
                if (m <= 0)
                        break;
                size_t take = MIN((size_t)m, sizeof(out) - 1 - have);
                memcpy(out + have, tmp, take);
                have += take;
        }
        close(fds[0]);
        out[have] = 0;
        if (timed_out)
                (void)kill(pid, SIGKILL);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (timed_out) {
                snprintf(msg, msgsz, "nginx -t did not finish within %d ms",
                         DRE_NGINX_TEST_TIMEOUT_MS);
                return -ETIMEDOUT;
        }
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
                snprintf(msg, msgsz, "cannot execute %s", n->bin);
                return -ENOENT;
        }
        /* "nginx: [emerg] unknown directive "x" in /run/nginx.conf:3": keep
         * the first emerg line without the "nginx: " prefix. */
        const char *e = strstr(out, "[emerg]");
        const char *line = e ? e : out;
        if (e) {
                /* "[emerg] 123#123: text" (with -e stderr) or "[emerg] text" */
                line = e + strlen("[emerg]");
                line += strspn(line, " ");
                size_t digits = strspn(line, "0123456789#");
                if (digits && line[digits] == ':')
                        line += digits + 1;
                line += strspn(line, " ");
        }
        size_t len = strcspn(line, "\n");
        snprintf(msg, msgsz, "%.*s", (int)len, len ? line : "nginx -t failed without a message");
        return -EINVAL;
}

int dre_nginx_new(sd_event *e, const struct dre_nginx_opts *o, struct dre_nginx **ret,
                  struct dbx_error *err)
{
        const char *rd = o->run_dir;
        size_t len = rd ? strlen(rd) : 0;

        if (len == 0 || rd[0] != '/' || len > DRE_RUN_DIR_MAX)
                return dbx_error_set(err, -EINVAL, "run_dir",
                                     "'%s' must be an absolute path of at most %d characters",
                                     rd ? rd : "", DRE_RUN_DIR_MAX);
        for (size_t i = 0; i < len; i++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._+-",
                            rd[i]))
                        return dbx_error_set(err, -EINVAL, "run_dir",
                                             "'%s' may only hold [A-Za-z0-9/._+-]", rd);
        const char *bin = o->nginx_bin ? o->nginx_bin : DRE_NGINX_BIN_DEFAULT;
        if (access(bin, X_OK) < 0)
                return dbx_error_set(err, -errno, "nginx_bin", "cannot execute %s: %m", bin);

        struct dre_nginx *n = xcalloc(1, sizeof(*n));
        n->event = sd_event_ref(e);
        n->bin = xstrdup(bin);
        n->run_dir = xstrndup(rd, len > 1 && rd[len - 1] == '/' ? len - 1 : len);
        n->prefix = xasprintf("%s/", n->run_dir);
        n->conf_path = xasprintf("%s/nginx.conf", n->run_dir);
        n->new_path = xasprintf("%s/nginx.conf.new", n->run_dir);
        n->log_path = xasprintf("%s/logs/error.log", n->run_dir);
        n->access_path = xasprintf("%s/logs/access.log", n->run_dir);
        n->pid_path = xasprintf("%s/nginx.pid", n->run_dir);
        n->cb = o->on_event;
        n->userdata = o->userdata;
        n->pidfd = -1;
        int r = make_dirs(n);
        if (r < 0) {
                dbx_error_set(err, r, "run_dir", "cannot create %s: %s", n->run_dir, strerror(-r));
                dre_nginx_free(n);
                return r;
        }
        *ret = n;
        return 0;
}

int dre_nginx_test(struct dre_nginx *n, const char *conf, struct dbx_error *err)
{
        char msg[DRE_NGINX_MSG_MAX];

        if (!conf || !*conf)
                return dbx_error_set(err, -EINVAL, "", "empty nginx configuration");
        int r = fs_write_atomic(n->new_path, conf, strlen(conf), 0644);
        if (r < 0)
                return dbx_error_set(err, r, "", "cannot write %s: %s", n->new_path, strerror(-r));
        r = run_test(n, n->new_path, msg, sizeof(msg));
        if (r < 0) {
                (void)unlink(n->new_path);
                return dbx_error_set(err, r, "", "nginx rejected the configuration: %s", msg);
        }
        return 0;
}

/* Put the last good configuration back on disk, for the next restart. */
static void restore_good(struct dre_nginx *n)
{
        if (n->good_conf)
                (void)fs_write_atomic(n->conf_path, n->good_conf, strlen(n->good_conf), 0644);
        else
                (void)unlink(n->conf_path);
}

int dre_nginx_apply(struct dre_nginx *n, const char *conf, struct dbx_error *err)
{
        char msg[DRE_NGINX_MSG_MAX];

        int r = dre_nginx_test(n, conf, err);
        if (r < 0)
                return r;
        if (rename(n->new_path, n->conf_path) < 0) {
                r = -errno;
                (void)unlink(n->new_path);
                return dbx_error_set(err, r, "", "cannot install %s: %s", n->conf_path,
                                     strerror(-r));
        }
        n->restart_src = sd_event_source_disable_unref(n->restart_src);
        n->want_running = true;

        if (n->pid && !n->ready) {
                /* A restart is in flight: SIGHUP before the master set up
                 * its handlers would kill it. Wait for it first. */
                r = wait_master(n, n->spawn_offset, DRE_NGINX_START_TIMEOUT_MS, msg, sizeof(msg));
                if (r == 0)
                        n->ready = true;
        }
        if (n->pid && n->ready) {
                logs_cut(n);
                off_t from = file_size(n->log_path);
                if (kill(n->pid, SIGHUP) < 0) {
                        r = -errno;
                        restore_good(n);
                        return dbx_error_set(err, r, "", "cannot signal nginx: %s", strerror(-r));
                }
                r = wait_master(n, from, DRE_NGINX_RELOAD_TIMEOUT_MS, msg, sizeof(msg));
                if (r < 0) {
                        restore_good(n);
                        emit(n, DRE_NGINX_RELOAD_FAILED, n->pid, msg);
                        if (r == -ECHILD) /* it died on the way: bring the old one back */
                                schedule_restart(n);
                        return dbx_error_set(err, r, "",
                                             "nginx kept its previous configuration: %s", msg);
                }
                free(n->good_conf);
                n->good_conf = xstrdup(conf);
                emit(n, DRE_NGINX_RELOADED, n->pid, NULL);
                return 0;
        }

        if (n->pid) { /* never confirmed its start: replace it */
                char d[64];
                (void)kill(n->pid, SIGKILL);
                while (!master_reap(n, d, sizeof(d)))
                        sleep_ms(POLL_STEP_MS);
        }
        r = spawn(n, err);
        if (r < 0) {
                restore_good(n);
                return r;
        }
        r = wait_master(n, n->spawn_offset, DRE_NGINX_START_TIMEOUT_MS, msg, sizeof(msg));
        if (r < 0) {
                char d[64];
                if (n->pid) {
                        (void)kill(n->pid, SIGKILL);
                        while (!master_reap(n, d, sizeof(d)))
                                sleep_ms(POLL_STEP_MS);
                }
                restore_good(n);
                if (n->good_conf)
                        restart_now(n); /* the previous configuration worked: run it */
                else
                        n->want_running = false;
                return dbx_error_set(err, r, "", "nginx did not start: %s", msg);
        }
        n->ready = true;
        free(n->good_conf);
        n->good_conf = xstrdup(conf);
        if (!n->logs_src)
                (void)sd_event_add_time_relative(n->event, &n->logs_src, CLOCK_MONOTONIC,
                                                 LOG_CHECK_USEC, 1000000, on_logs_timer, n);
        emit(n, DRE_NGINX_STARTED, n->pid, NULL);
        return 0;
}

int dre_nginx_stop(struct dre_nginx *n)
{
        char detail[128];

        n->want_running = false;
        n->restart_src = sd_event_source_disable_unref(n->restart_src);
        n->logs_src = sd_event_source_disable_unref(n->logs_src);
        if (!n->pid)
                return 0;
        (void)kill(n->pid, SIGTERM);
        uint64_t deadline = now_mono_usec() + (uint64_t)DRE_NGINX_STOP_TIMEOUT_MS * 1000;
        while (!master_reap(n, detail, sizeof(detail))) {
                if (now_mono_usec() > deadline)
                        (void)kill(-n->pid, SIGKILL);
                struct pollfd p = {.fd = n->pidfd, .events = POLLIN};
                (void)poll(&p, 1, 10);
        }
        return 0;
}

struct dre_nginx *dre_nginx_free(struct dre_nginx *n)
{
        if (!n)
                return NULL;
        dre_nginx_stop(n);
        sd_event_unref(n->event);
        free(n->bin);
        free(n->run_dir);
        free(n->prefix);
        free(n->conf_path);
        free(n->new_path);
        free(n->log_path);
        free(n->access_path);
        free(n->pid_path);
        free(n->good_conf);
        free(n);
        return NULL;
}

pid_t dre_nginx_pid(const struct dre_nginx *n)
{
        return n->pid;
}

unsigned dre_nginx_restarts(const struct dre_nginx *n)
{
        return n->restarts;
}

const char *dre_nginx_conf_path(const struct dre_nginx *n)
{
        return n->conf_path;
}
