/* pup-init: PID 1 of a pup sandbox.
 *
 * It starts the pup's services, reaps every zombie, forwards signals,
 * restarts services that exit (capped exponential backoff, "failing" after a
 * crash loop) and reports each start and exit to the daemon as one JSON line
 * on fd 4. SIGTERM (or SIGINT) stops the sandbox: SIGTERM to every process,
 * SIGKILL after the grace period, then exit.
 *
 * It runs already confined: uid 420, no capabilities, no_new_privs, seccomp.
 * The daemon did all setup; this program only supervises. It uses no stdio
 * and no malloc, so a static build stays small (docs/sandbox.md). The
 * protocol and fd layout are in initproto.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "runtime/backoff.h"
#include "runtime/initproto.h"

struct service {
        const char *name, *exec, *cwd;
        char **argv, **envp;
        int restart;         /* 0 always, 1 on-failure, 2 never */
        pid_t pid;           /* 0 when not running */
        uint64_t started_ms; /* monotonic */
        uint64_t restart_at; /* monotonic ms of the pending restart, 0 = none */
        uint32_t crashes;    /* consecutive quick exits */
        bool done;           /* will not run again */
};

static char cfg[PUPINIT_CONFIG_MAX];
static size_t cfg_len, cfg_pos;
static char *ptrs[PUPINIT_PTRS_MAX];
static size_t n_ptrs;
static struct service svcs[PUPINIT_SERVICES_MAX];
static size_t n_svcs;
static struct backoff_params bo;
static uint64_t grace_ms;
static bool inherit;
static bool stopping, killed_all, have_children;
static uint64_t stop_deadline;
static int last_status;
static uint64_t oom_seen;

static uint64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* --- reports ------------------------------------------------------------- */

struct line {
        char b[PUPINIT_REPORT_MAX];
        size_t n;
};

static void put(struct line *l, const char *s)
{
        while (*s && l->n < sizeof(l->b) - 2)
                l->b[l->n++] = *s++;
}

static void put_i(struct line *l, int64_t v)
{
        char tmp[24];
        size_t i = sizeof(tmp);
        uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;

        tmp[--i] = 0;
        do
                tmp[--i] = (char)('0' + u % 10);
        while ((u /= 10) > 0);
        if (v < 0)
                tmp[--i] = '-';
        put(l, tmp + i);
}

/* One report line; a broken pipe (daemon gone) is ignored: the parent-death
 * signal ends us shortly anyway. */
static void emit(struct line *l)
{
        l->b[l->n++] = '\n';
        while (write(PUPINIT_FD_REPORT, l->b, l->n) < 0 && errno == EINTR)
                ;
}

static void report_svc(const char *ev, const struct service *s)
{
        struct line l = {.n = 0};
        put(&l, "{\"ev\":\"");
        put(&l, ev);
        put(&l, "\",\"svc\":\"");
        put(&l, s->name);
        put(&l, "\"");
        if (s->pid > 0) {
                put(&l, ",\"pid\":");
                put_i(&l, s->pid);
        }
        put(&l, "}");
        emit(&l);
}

static void report_kv(const char *ev, const char *key, int64_t v, const struct service *s)
{
        struct line l = {.n = 0};
        put(&l, "{\"ev\":\"");
        put(&l, ev);
        if (s) {
                put(&l, "\",\"svc\":\"");
                put(&l, s->name);
        }
        put(&l, "\",\"");
        put(&l, key);
        put(&l, "\":");
        put_i(&l, v);
        put(&l, "}");
        emit(&l);
}

/* --- configuration ------------------------------------------------------- */

static _Noreturn void die(const char *why)
{
        struct line l = {.n = 0};
        put(&l, "{\"ev\":\"setup-error\",\"step\":\"pup-init: ");
        put(&l, why);
        put(&l, "\",\"errno\":22}");
        emit(&l);
        _exit(PUPINIT_EXIT_CONFIG);
}

static char *field(void)
{
        char *s = cfg + cfg_pos;
        size_t n = strnlen(s, cfg_len - cfg_pos);
        if (cfg_pos >= cfg_len || cfg_pos + n >= cfg_len)
                die("configuration truncated");
        cfg_pos += n + 1;
        return s;
}

static uint64_t number(uint64_t max)
{
        const char *s = field();
        uint64_t v = 0;
        if (!*s)
                die("empty number");
        for (; *s; s++) {
                if (*s < '0' || *s > '9' || v > (max - (uint64_t)(*s - '0')) / 10)
                        die("bad number");
                v = v * 10 + (uint64_t)(*s - '0');
        }
        return v;
}

static char **vector(size_t n)
{
        char **v = ptrs + n_ptrs;
        if (n >= PUPINIT_PTRS_MAX - n_ptrs)
                die("too many arguments");
        for (size_t i = 0; i < n; i++)
                v[i] = field();
        v[n] = NULL;
        n_ptrs += n + 1;
        return v;
}

static bool name_ok(const char *s)
{
        if (!*s)
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
                        return false;
        return true;
}

static void read_config(void)
{
        ssize_t r;
        while ((r = read(PUPINIT_FD_CONFIG, cfg + cfg_len, sizeof(cfg) - cfg_len)) != 0) {
                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0 || (cfg_len += (size_t)r) == sizeof(cfg))
                        die("configuration unreadable or too large");
        }
        close(PUPINIT_FD_CONFIG);

        if (strcmp(field(), PUPINIT_MAGIC) != 0)
                die("configuration version");
        grace_ms = number(UINT32_MAX);
        bo.initial_ms = (uint32_t)number(UINT32_MAX);
        bo.max_ms = (uint32_t)number(UINT32_MAX);
        bo.stable_ms = (uint32_t)number(UINT32_MAX);
        bo.failing_after = (uint32_t)number(UINT32_MAX);
        inherit = number(1);
        n_svcs = number(PUPINIT_SERVICES_MAX);
        if (n_svcs == 0)
                die("no services");
        for (size_t i = 0; i < n_svcs; i++) {
                struct service *s = &svcs[i];
                s->name = field();
                s->exec = field();
                s->cwd = field();
                s->restart = (int)number(2);
                s->argv = vector(number(PUPINIT_PTRS_MAX));
                s->envp = vector(number(PUPINIT_PTRS_MAX));
                if (!name_ok(s->name) || s->exec[0] != '/' || s->cwd[0] != '/' || !s->argv[0])
                        die("bad service");
                if (!inherit && (fcntl(PUPINIT_FD_FIRST_LOG + 2 * (int)i, F_GETFD) < 0 ||
                                 fcntl(PUPINIT_FD_FIRST_LOG + 2 * (int)i + 1, F_GETFD) < 0))
                        die("missing log pipe");
        }
}

/* --- services ------------------------------------------------------------ */

/* "oom_kill N" appears in both cgroup v2 memory.events and v1
 * memory.oom_control. 0 when the file is absent (/dev/null). */
static uint64_t oom_kills(void)
{
        char b[512];
        ssize_t n = pread(PUPINIT_FD_OOM, b, sizeof(b) - 1, 0);
        uint64_t v = 0;
        if (n <= 0)
                return 0;
        b[n] = 0;
        for (char *p = b; (p = strstr(p, "oom_kill ")); p++) {
                if (p != b && p[-1] != '\n')
                        continue;
                for (p += 9; *p >= '0' && *p <= '9'; p++)
                        v = v * 10 + (uint64_t)(*p - '0');
                break;
        }
        return v;
}

static _Noreturn void child(const struct service *s, int idx)
{
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (!inherit) {
                int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                setsid();
                if (fd < 0 || dup2(fd, 0) < 0 || dup2(PUPINIT_FD_FIRST_LOG + 2 * idx, 1) < 0 ||
                    dup2(PUPINIT_FD_FIRST_LOG + 2 * idx + 1, 2) < 0)
                        _exit(127);
        }
        int e;
        if (chdir(s->cwd) == 0)
                execve(s->exec, s->argv, s->envp);
        e = errno;
        report_kv("exec-error", "errno", e, s);
        _exit(e == ENOENT ? 127 : 126); /* as shells do */
}

static void schedule(struct service *s, uint64_t now, uint64_t runtime)
{
        s->crashes = backoff_next_crashes(&bo, s->crashes, runtime);
        s->restart_at = now + backoff_delay_ms(&bo, s->crashes);
        if (s->restart_at == 0)
                s->restart_at = 1;
}

static void start(struct service *s)
{
        pid_t pid = fork();
        if (pid == 0)
                child(s, (int)(s - svcs));
        if (pid < 0) { /* e.g. the pids limit: retry with backoff */
                report_kv("exec-error", "errno", errno, s);
                schedule(s, now_ms(), 0);
                return;
        }
        s->pid = pid;
        s->started_ms = now_ms();
        s->restart_at = 0;
        have_children = true;
        report_svc("start", s);
}

static void exited(struct service *s, int status, bool oom)
{
        uint64_t now = now_ms(), runtime = now - s->started_ms;
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        bool again = !stopping && (s->restart == 0 || (s->restart == 1 && code != 0));
        struct line l = {.n = 0};

        last_status = code >= 0 ? code : 128 + sig;
        put(&l, "{\"ev\":\"exit\",\"svc\":\"");
        put(&l, s->name);
        put(&l, "\",\"pid\":");
        put_i(&l, s->pid);
        s->pid = 0;
        if (again)
                schedule(s, now, runtime);
        else
                s->done = true;
        put(&l, ",\"code\":");
        put_i(&l, code);
        put(&l, ",\"sig\":");
        put_i(&l, sig);
        put(&l, oom ? ",\"oom\":true" : ",\"oom\":false");
        put(&l, ",\"runtime_ms\":");
        put_i(&l, (int64_t)runtime);
        put(&l, ",\"crashes\":");
        put_i(&l, s->crashes);
        put(&l, ",\"restart_ms\":");
        put_i(&l, again ? (int64_t)(s->restart_at - now) : -1);
        put(&l, "}");
        emit(&l);
        if (again && backoff_just_failing(&bo, s->crashes))
                report_kv("failing", "crashes", s->crashes, s);
}

static void reap(void)
{
        uint64_t kills = oom_kills();
        bool oom = kills > oom_seen;
        int status;
        pid_t pid;

        if (oom) {
                oom_seen = kills;
                report_kv("oom", "kills", (int64_t)kills, NULL);
        }
        while ((pid = waitpid(-1, &status, WNOHANG)) != 0) {
                if (pid < 0) {
                        if (errno == ECHILD)
                                have_children = false;
                        if (errno != EINTR)
                                break;
                        continue;
                }
                for (size_t i = 0; i < n_svcs; i++)
                        if (svcs[i].pid == pid)
                                exited(&svcs[i], status,
                                       oom && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        }
}

static void signal_services(int sig)
{
        for (size_t i = 0; i < n_svcs; i++)
                if (svcs[i].pid > 0)
                        kill(inherit ? svcs[i].pid : -svcs[i].pid, sig);
}

static void begin_stop(void)
{
        if (stopping)
                return;
        stopping = true;
        stop_deadline = now_ms() + grace_ms;
        report_kv("stopping", "grace_ms", (int64_t)grace_ms, NULL);
        for (size_t i = 0; i < n_svcs; i++) {
                svcs[i].restart_at = 0;
                svcs[i].done = true;
        }
        kill(-1, SIGTERM); /* every process of the sandbox but us */
}

static _Noreturn void finish(void)
{
        kill(-1, SIGKILL); /* orphans left by services die with us anyway */
        report_kv("stopped", "status", last_status, NULL);
        _exit(last_status);
}

static bool idle(void)
{
        for (size_t i = 0; i < n_svcs; i++)
                if (svcs[i].pid > 0 || !svcs[i].done)
                        return false;
        return true;
}

int main(int argc, char **argv)
{
        sigset_t all;

        prctl(PR_SET_NAME, "pup-init");
        prctl(PR_SET_DUMPABLE, 0); /* services may not read or write our memory */
        umask(022);
        /* ignored signals survive exec: give services the defaults */
        for (int sig = 1; sig < _NSIG; sig++)
                signal(sig, SIG_DFL);
        sigfillset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        read_config();
        for (int fd = 3; fd < PUPINIT_FD_FIRST_LOG + 2 * (int)n_svcs; fd++)
                fcntl(fd, F_SETFD, FD_CLOEXEC);
        syscall(SYS_close_range, PUPINIT_FD_FIRST_LOG + 2 * (unsigned)n_svcs, ~0u, 0);

        report_kv("ready", "services", (int64_t)n_svcs, NULL);
        for (size_t i = 0; i < n_svcs; i++)
                start(&svcs[i]);

        for (;;) {
                struct timespec ts, *tp = NULL;
                uint64_t now = now_ms(), wake = UINT64_MAX;
                siginfo_t si;
                int sig;

                if (stopping ? !have_children : idle())
                        finish();
                for (size_t i = 0; i < n_svcs; i++)
                        if (svcs[i].restart_at && svcs[i].restart_at < wake)
                                wake = svcs[i].restart_at;
                if (stopping && !killed_all && stop_deadline < wake)
                        wake = stop_deadline;
                if (wake != UINT64_MAX) {
                        uint64_t d = wake > now ? wake - now : 0;
                        ts.tv_sec = (time_t)(d / 1000);
                        ts.tv_nsec = (long)(d % 1000) * 1000000;
                        tp = &ts;
                }

                sig = sigtimedwait(&all, &si, tp);
                if (sig == SIGCHLD)
                        reap();
                else if (sig == SIGTERM || (sig == SIGINT && !inherit))
                        begin_stop();
                else if (sig == SIGHUP || sig == SIGUSR1 || sig == SIGUSR2 || sig == SIGWINCH ||
                         (sig == SIGQUIT && !inherit))
                        signal_services(sig);
                /* anything else (SIGINT/SIGQUIT from a terminal already
                 * reached the services; SIGPIPE, SIGTSTP...) is dropped */

                now = now_ms();
                for (size_t i = 0; i < n_svcs && !stopping; i++)
                        if (svcs[i].restart_at && svcs[i].restart_at <= now)
                                start(&svcs[i]);
                if (stopping && !killed_all && now >= stop_deadline) {
                        kill(-1, SIGKILL);
                        killed_all = true;
                }
        }
        (void)argc;
        (void)argv;
}
