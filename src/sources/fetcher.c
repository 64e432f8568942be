/* The daemon's side of the fetch helper (fetcher.h): find it once, then
 * per operation fork, confine, exec it, hand it the request, read its
 * answer under a size limit and a time limit, and reap it.
 *
 * Confinement, in the child between fork and exec (async-signal-safe
 * system calls only), when the daemon runs as root:
 *   - new mount and IPC namespaces; every mount read-only and nosuid;
 *     a private tmpfs on /tmp holding the only writable places: the
 *     source's cache and the payload folder (bind mounts of the daemon's
 *     directories, cloned before /tmp is covered), and a local git
 *     repository read-only;
 *   - every capability dropped from the bounding set, then uid/gid
 *     FETCHER_UID/GID with no supplementary groups (which clears the
 *     effective, permitted and ambient sets), no_new_privs;
 *   - parent-death signal, RLIMIT_CORE 0, a bounded RLIMIT_NOFILE;
 *   - the binary is exec'd from an fd opened at startup (execveat), so the
 *     helper uid needs no access to the path it was found at.
 * A daemon that is not root runs the helper as itself, with no_new_privs. */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <grp.h>
#include <linux/capability.h>
#include "core/fsutil.h"
#include "core/json.h"
#include "core/macro.h"
#include "core/util.h"
#include "sources/fetcher.h"

#define CAP_PROBE_MAX 64 /* capability numbers tried when emptying the bounding set */

static int helper_fd = -1;

extern char **environ;

static int open_exe(const char *path)
{
        int fd = open(path, O_PATH | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111)) {
                close(fd);
                return -EACCES;
        }
        return fd;
}

int fetcher_init(const char *installed, struct dbx_error *err)
{
        char self[PATH_MAX];
        const char *env = getenv(FETCHER_ENV);
        if (env && *env) {
                int fd = open_exe(env);
                if (fd < 0)
                        return dbx_error_set(err, fd, "", "cannot use $%s %s: %s", FETCHER_ENV, env,
                                             strerror(-fd));
                helper_fd = fd;
                return 0;
        }
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n > 0) {
                self[n] = '\0';
                _cleanup_free_ char *p = xasprintf("%s/%s", dirname(self), FETCHER_NAME);
                int fd = open_exe(p);
                if (fd >= 0) {
                        helper_fd = fd;
                        return 0;
                }
        }
        int fd = installed ? open_exe(installed) : -ENOENT;
        if (fd < 0)
                return dbx_error_set(err, -ENOENT, "",
                                     "cannot find %s (set $%s, or install it next to "
                                     "dogeboxd-daemon or at %s)",
                                     FETCHER_NAME, FETCHER_ENV, installed ? installed : "-");
        helper_fd = fd;
        return 0;
}

bool fetcher_ready(void)
{
        return helper_fd >= 0;
}

bool fetcher_drops_privileges(void)
{
        return geteuid() == 0;
}

void fetcher_call_clear(struct fetcher_call *c)
{
        json_decref(c->header);
        free(c->body);
        c->header = NULL;
        c->body = NULL;
        c->body_len = 0;
}

/* ---- the child ---- */

/* What the child reports through the status pipe when it cannot exec. */
struct child_failure {
        int step, err;
};

static const char *const step_names[] = {
    "fds",
    "namespaces",
    "mount propagation",
    "clone the cache",
    "clone the target",
    "clone the repository",
    "read-only mounts",
    "tmpfs",
    "mount points",
    "attach mounts",
    "chdir",
    "capabilities",
    "groups",
    "gid",
    "uid",
    "no_new_privs",
    "parent death signal",
    "limits",
    "exec",
};

enum {
        STEP_FDS,
        STEP_UNSHARE,
        STEP_PROPAGATION,
        STEP_CLONE_CACHE,
        STEP_CLONE_TARGET,
        STEP_CLONE_REPO,
        STEP_RDONLY,
        STEP_TMPFS,
        STEP_MKDIR,
        STEP_ATTACH,
        STEP_CHDIR,
        STEP_CAPS,
        STEP_GROUPS,
        STEP_GID,
        STEP_UID,
        STEP_NNP,
        STEP_PDEATHSIG,
        STEP_LIMITS,
        STEP_EXEC,
};

struct child_args {
        int in_fd, out_fd, status_fd, exe_fd;
        pid_t parent;
        bool confine;
        const char *cache_dir, *target_dir, *local_repo;
        char **argv, **envp;
};

static _Noreturn void child_fail(const struct child_args *a, int step)
{
        struct child_failure f = {.step = step, .err = errno};
        ssize_t w = write(a->status_fd, &f, sizeof(f));
        (void)w;
        _exit(127);
}

/* Clone the mount at path into a detached tree (before /tmp is covered). */
static int clone_tree(const char *path, bool rdonly)
{
        int fd = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (fd < 0)
                return -1;
        struct mount_attr attr = {.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                                              (rdonly ? MOUNT_ATTR_RDONLY : 0)};
        if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
                return -1;
        return fd;
}

static void confine(const struct child_args *a)
{
        int cache = -1, target = -1, repo = -1;
        if (unshare(CLONE_NEWNS | CLONE_NEWIPC) < 0)
                child_fail(a, STEP_UNSHARE);
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                child_fail(a, STEP_PROPAGATION);
        if ((cache = clone_tree(a->cache_dir, false)) < 0)
                child_fail(a, STEP_CLONE_CACHE);
        if (a->target_dir && (target = clone_tree(a->target_dir, false)) < 0)
                child_fail(a, STEP_CLONE_TARGET);
        if (a->local_repo && (repo = clone_tree(a->local_repo, true)) < 0)
                child_fail(a, STEP_CLONE_REPO);
        struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID};
        if (mount_setattr(AT_FDCWD, "/", AT_RECURSIVE, &ro, sizeof(ro)) < 0)
                child_fail(a, STEP_RDONLY);
        if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  "mode=0755,size=1m,nr_inodes=64") < 0)
                child_fail(a, STEP_TMPFS);
        if (mkdir(FETCHER_MNT_CACHE, 0700) < 0 ||
            (target >= 0 && mkdir(FETCHER_MNT_TARGET, 0700) < 0) ||
            (repo >= 0 && mkdir(FETCHER_MNT_SOURCE, 0700) < 0))
                child_fail(a, STEP_MKDIR);
        if (move_mount(cache, "", AT_FDCWD, FETCHER_MNT_CACHE, MOVE_MOUNT_F_EMPTY_PATH) < 0 ||
            (target >= 0 &&
             move_mount(target, "", AT_FDCWD, FETCHER_MNT_TARGET, MOVE_MOUNT_F_EMPTY_PATH) < 0) ||
            (repo >= 0 &&
             move_mount(repo, "", AT_FDCWD, FETCHER_MNT_SOURCE, MOVE_MOUNT_F_EMPTY_PATH) < 0))
                child_fail(a, STEP_ATTACH);
        /* The tmpfs itself: read-only too, now that the mount points exist. */
        if (mount(NULL, "/tmp", NULL,
                  MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                child_fail(a, STEP_TMPFS);
        for (int cap = 0; cap < CAP_PROBE_MAX; cap++)
                if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
                        child_fail(a, STEP_CAPS);
        if (setgroups(0, NULL) < 0)
                child_fail(a, STEP_GROUPS);
        if (setresgid(FETCHER_GID, FETCHER_GID, FETCHER_GID) < 0)
                child_fail(a, STEP_GID);
        if (setresuid(FETCHER_UID, FETCHER_UID, FETCHER_UID) < 0)
                child_fail(a, STEP_UID);
}

static _Noreturn void child_main(const struct child_args *a)
{
        sigset_t all;
        sigemptyset(&all);
        sigprocmask(SIG_SETMASK, &all, NULL);
        struct sigaction dfl = {.sa_handler = SIG_DFL};
        sigaction(SIGPIPE, &dfl, NULL);

        /* stdin, stdout; stderr stays the daemon's. The others move above
         * them first so that no dup2 overwrites one still needed. */
        int in = fcntl(a->in_fd, F_DUPFD_CLOEXEC, 10), out = fcntl(a->out_fd, F_DUPFD_CLOEXEC, 10);
        if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0)
                child_fail(a, STEP_FDS);
        if (chdir("/") < 0)
                child_fail(a, STEP_CHDIR);
        if (a->confine)
                confine(a);
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                child_fail(a, STEP_NNP);
        /* After the uid change, which clears it. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
                child_fail(a, STEP_PDEATHSIG);
        if (getppid() != a->parent)
                _exit(127);
        struct rlimit core = {0, 0}, nofile = {FETCHER_NOFILE_MAX, FETCHER_NOFILE_MAX};
        if (setrlimit(RLIMIT_CORE, &core) < 0 || setrlimit(RLIMIT_NOFILE, &nofile) < 0)
                child_fail(a, STEP_LIMITS);
        /* Everything but 0-2, the status pipe (close-on-exec) and the binary. */
        int keep_lo = a->status_fd < a->exe_fd ? a->status_fd : a->exe_fd;
        int keep_hi = a->status_fd < a->exe_fd ? a->exe_fd : a->status_fd;
        if (keep_lo > 3)
                close_range(3, (unsigned)keep_lo - 1, 0);
        if (keep_hi > keep_lo + 1)
                close_range((unsigned)keep_lo + 1, (unsigned)keep_hi - 1, 0);
        close_range((unsigned)keep_hi + 1, ~0U, 0);
        syscall(SYS_execveat, a->exe_fd, "", a->argv, a->envp, AT_EMPTY_PATH);
        child_fail(a, STEP_EXEC);
}

/* ---- the parent ---- */

/* The helper's environment: what the network code and the sanitizers
 * honour, nothing of the daemon's home. */
static bool env_passes(const char *e)
{
        static const char *const prefixes[] = {
            "ASAN_OPTIONS=", "UBSAN_OPTIONS=",
            "LSAN_OPTIONS=", "SSL_CERT_FILE=",
            "SSL_CERT_DIR=", "http_proxy=",
            "https_proxy=",  "no_proxy=",
            "HTTP_PROXY=",   "HTTPS_PROXY=",
            "NO_PROXY=",     "ALL_PROXY=",
            "all_proxy=",    "TZ=",
            "LANG=",         "LC_ALL=",
        };
        for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
                if (strncmp(e, prefixes[i], strlen(prefixes[i])) == 0)
                        return true;
        return false;
}

static char **make_env(void)
{
        size_t n = 0, k = 0;
        for (char **e = environ; e && *e; e++)
                n++;
        char **v = xcalloc(n + 3, sizeof(char *));
        for (char **e = environ; e && *e; e++)
                if (env_passes(*e))
                        v[k++] = xstrdup(*e);
        v[k++] = xstrdup("PATH=/usr/bin:/bin");
        v[k++] = xstrdup("HOME=/nonexistent");
        return v;
}

static void strv_free(char **v)
{
        for (char **p = v; p && *p; p++)
                free(*p);
        free(v);
}

static void close_fd(int *fd)
{
        if (*fd >= 0)
                close(*fd);
        *fd = -1;
}

static int reap(pid_t pid, int *ret_status)
{
        int status;
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        *ret_status = status;
        return 0;
}

/* Read the answer: until EOF, the limit, the deadline or a cancel. */
static int read_answer(struct fetcher_call *c, int fd, char **ret, size_t *ret_len,
                       struct dbx_error *err)
{
        size_t max = FETCHER_HEADER_MAX + 1 + c->body_max, len = 0, cap = 0;
        _cleanup_free_ char *buf = NULL;
        uint64_t deadline = now_mono_usec() + (uint64_t)c->limit_ms * 1000;

        for (;;) {
                if (c->cancel && atomic_load(c->cancel))
                        return dbx_error_set(err, -ECANCELED, "", "%s", c->cancel_message);
                if (c->abort && atomic_load(c->abort))
                        return dbx_error_set(err, -ECANCELED, "", "%s", c->abort_message);
                uint64_t now = now_mono_usec();
                if (now >= deadline)
                        return dbx_error_set(err, -ETIMEDOUT, "",
                                             "%s failed: the fetch helper took longer than %ld s",
                                             c->what, c->limit_ms / 1000);
                uint64_t left_ms = (deadline - now) / 1000 + 1;
                struct pollfd p = {.fd = fd, .events = POLLIN};
                int n = poll(&p, 1, (int)MIN(left_ms, (uint64_t)FETCHER_POLL_MS));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return dbx_error_set(err, -errno, "", "%s failed: %s", c->what,
                                             strerror(errno));
                if (n == 0)
                        continue;
                if (cap - len < 64 * 1024) {
                        cap = cap ? cap * 2 : 128 * 1024;
                        buf = xrealloc(buf, cap + 1);
                }
                ssize_t r = read(fd, buf + len, cap - len);
                if (r < 0 && (errno == EINTR || errno == EAGAIN))
                        continue;
                if (r < 0)
                        return dbx_error_set(err, -errno, "", "%s failed: %s", c->what,
                                             strerror(errno));
                if (r == 0)
                        break;
                len += (size_t)r;
                if (len > max)
                        return dbx_error_set(err, -EFBIG, "",
                                             "%s failed: the fetch helper's answer is larger "
                                             "than %zu bytes",
                                             c->what, max);
        }
        if (!buf)
                buf = xmalloc(1);
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

static int parse_answer(struct fetcher_call *c, char *buf, size_t len, struct dbx_error *err)
{
        char *nl = memchr(buf, '\n', MIN(len, (size_t)FETCHER_HEADER_MAX + 1));
        if (!nl)
                return dbx_error_set(err, -EIO, "", "%s failed: the fetch helper gave no answer",
                                     c->what);
        json_t *h = NULL;
        if (json_parse_bounded(buf, (size_t)(nl - buf), FETCHER_HEADER_DEPTH, true, &h, NULL) < 0)
                return dbx_error_set(err, -EIO, "",
                                     "%s failed: the fetch helper's answer is not valid", c->what);
        json_t *r = json_object_get(h, "r");
        if (!json_is_integer(r) || json_integer_value(r) > 0 || json_integer_value(r) < -4095) {
                json_decref(h);
                return dbx_error_set(err, -EIO, "",
                                     "%s failed: the fetch helper's answer is not valid", c->what);
        }
        int rv = (int)json_integer_value(r);
        if (rv < 0) {
                const char *m = json_string_value(json_object_get(h, "message"));
                dbx_error_set(err, rv, "", "%s", m && *m ? m : strerror(-rv));
                json_decref(h);
                return rv;
        }
        c->header = h;
        c->body_len = len - (size_t)(nl + 1 - buf);
        c->body = xmalloc(c->body_len + 1);
        memcpy(c->body, nl + 1, c->body_len);
        c->body[c->body_len] = '\0';
        return 0;
}

static void status_text(int status, char *buf, size_t size)
{
        if (WIFSIGNALED(status))
                snprintf(buf, size, "the fetch helper was killed by signal %d (%s)",
                         WTERMSIG(status), strsignal(WTERMSIG(status)));
        else
                snprintf(buf, size, "the fetch helper exited with status %d", WEXITSTATUS(status));
}

int fetcher_run(struct fetcher_call *c, struct dbx_error *err)
{
        int in[2] = {-1, -1}, out[2] = {-1, -1}, st[2] = {-1, -1};
        bool drop = fetcher_drops_privileges();
        char *argv[] = {(char *)FETCHER_NAME, NULL};
        int r;

        if (helper_fd < 0)
                return dbx_error_set(err, -ENOENT, "", "%s failed: %s is not available", c->what,
                                     FETCHER_NAME);
        json_object_set_new(c->request, "cacheDir",
                            json_string(drop ? FETCHER_MNT_CACHE : c->cache_dir));
        if (c->target_dir)
                json_object_set_new(c->request, "targetDir",
                                    json_string(drop ? FETCHER_MNT_TARGET : c->target_dir));
        if (c->local_repo && drop)
                json_object_set_new(c->request, "remote", json_string(FETCHER_MNT_SOURCE));
        _cleanup_free_ char *req = json_dumps(c->request, JSON_COMPACT);
        if (!req || strlen(req) > FETCHER_REQUEST_MAX)
                return dbx_error_set(err, -E2BIG, "", "%s failed: the request is too large",
                                     c->what);

        if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(st, O_CLOEXEC) < 0) {
                r = -errno;
                goto fail_fds;
        }
        (void)fcntl(in[1], F_SETPIPE_SZ, FETCHER_REQUEST_MAX); /* already so, unless limited */
        char **envp = make_env();
        struct child_args a = {
            .in_fd = in[0],
            .out_fd = out[1],
            .status_fd = st[1],
            .exe_fd = helper_fd,
            .parent = getpid(),
            .confine = drop,
            .cache_dir = c->cache_dir,
            .target_dir = c->target_dir,
            .local_repo = c->local_repo,
            .argv = argv,
            .envp = envp,
        };
        pid_t pid = fork();
        if (pid == 0)
                child_main(&a);
        r = pid < 0 ? -errno : 0;
        strv_free(envp);
        close_fd(&in[0]);
        close_fd(&out[1]);
        close_fd(&st[1]);
        if (r < 0)
                goto fail_fds;

        /* exec succeeded when the status pipe closes without a word. */
        struct child_failure f;
        ssize_t got;
        while ((got = read(st[0], &f, sizeof(f))) < 0 && errno == EINTR)
                ;
        close_fd(&st[0]);
        if (got == (ssize_t)sizeof(f)) {
                int status;
                close_fd(&in[1]);
                close_fd(&out[0]);
                reap(pid, &status);
                const char *step = f.step >= 0 && (size_t)f.step < ARRAY_SIZE(step_names)
                                       ? step_names[f.step]
                                       : "?";
                return dbx_error_set(err, f.err ? -f.err : -EIO, "",
                                     "%s failed: cannot start %s (%s: %s)", c->what, FETCHER_NAME,
                                     step, strerror(f.err));
        }

        /* At most FETCHER_REQUEST_MAX, a pipe's default capacity: this never
         * blocks. A helper that died early closes its end: EPIPE (ignored),
         * then its exit status tells. */
        (void)fd_write_all(in[1], req, strlen(req));
        close_fd(&in[1]);

        char *buf = NULL;
        size_t len = 0;
        r = read_answer(c, out[0], &buf, &len, err);
        close_fd(&out[0]);
        if (r < 0)
                kill(pid, SIGKILL);
        int status = 0;
        int w = reap(pid, &status);
        if (r >= 0 && w < 0)
                r = dbx_error_set(err, w, "", "%s failed: %s", c->what, strerror(-w));
        if (r >= 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
                char why[128];
                status_text(status, why, sizeof(why));
                r = dbx_error_set(err, -EIO, "", "%s failed: %s", c->what, why);
        }
        if (r >= 0)
                r = parse_answer(c, buf, len, err);
        free(buf);
        return r;

fail_fds:
        close_fd(&in[0]);
        close_fd(&in[1]);
        close_fd(&out[0]);
        close_fd(&out[1]);
        close_fd(&st[0]);
        close_fd(&st[1]);
        return dbx_error_set(err, r, "", "%s failed: cannot start %s: %s", c->what, FETCHER_NAME,
                             strerror(-r));
}
