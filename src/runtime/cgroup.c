/* Cgroups for sandboxes, on pure cgroup v2 (production) and on the v1+v2
 * hybrid some machines still run (v1 memory/pids/cpu/cpuacct hierarchies
 * plus a controller-less v2 hierarchy).
 *
 * Every sandbox gets one cgroup "pup-<id>" under a configurable parent, in
 * the v2 hierarchy (always: CLONE_INTO_CGROUP, cgroup.kill, cpu.stat) and,
 * on hybrid systems, in each v1 hierarchy that holds a controller we use.
 * docs/sandbox.md, "Cgroups". */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#include "core/fsutil.h"
#include "core/macro.h"
#include "runtime/internal.h"

#define CG_READ_MAX       (64u << 10) /* any cgroup file we parse */
#define CG_RMDIR_TRIES    200         /* x CG_RMDIR_WAIT_US: 200 ms for dying tasks */
#define CG_RMDIR_WAIT_US  1000
#define CG_KILL_ROUNDS    64         /* fallback kill loop without cgroup.kill */
#define CG_TREE_DEPTH_MAX 16         /* leftover trees deeper than this are not ours */
#define CG_MOUNTINFO_MAX  (4u << 20) /* hosts with thousands of mounts still fit */

static const char *const ctrl_name[CG__N] = {"memory", "pids", "cpu"};

/* --- small file helpers -------------------------------------------------- */

static int write_at(const char *dir, const char *file, const char *value)
{
        char path[CG_PATH_MAX + 64];
        size_t n = strlen(value);
        int fd, r = 0;

        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path))
                return -ENAMETOOLONG;
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (write(fd, value, n) != (ssize_t)n)
                r = errno ? -errno : -EIO;
        close(fd);
        return r;
}

static int read_at(const char *dir, const char *file, char *buf, size_t size)
{
        char path[CG_PATH_MAX + 64];
        ssize_t n;
        int fd;

        if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path))
                return -ENAMETOOLONG;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        n = read(fd, buf, size - 1);
        close(fd);
        if (n < 0)
                return -errno;
        buf[n] = 0;
        return (int)n;
}

uint64_t cg_parse_keyed(const char *text, const char *key, bool *found)
{
        size_t kl = strlen(key);
        for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
                if (strncmp(p, key, kl) == 0 && p[kl] == ' ') {
                        if (found)
                                *found = true;
                        return strtoull(p + kl + 1, NULL, 10);
                }
        }
        if (found)
                *found = false;
        return 0;
}

/* cgroup v1 cpu.shares from a v2-style weight, as systemd converts them:
 * weight 100 (the default) is 1024 shares. */
uint32_t cg_weight_to_shares(uint32_t weight)
{
        uint64_t s = (uint64_t)weight * 1024 / 100;
        return (uint32_t)(s < 2 ? 2 : s > 262144 ? 262144 : s);
}

/* --- layout -------------------------------------------------------------- */

/* word in a list separated by ',' (mount options) or ' ' (cgroup.controllers). */
static bool opt_has(const char *list, const char *word)
{
        size_t wl = strlen(word);
        for (const char *p = list; *p;) {
                size_t n = strcspn(p, ", \n");
                if (n == wl && strncmp(p, word, wl) == 0)
                        return true;
                p += n;
                if (*p == '\n' || !*p)
                        break;
                p++;
        }
        return false;
}

/* Our own cgroup in the hierarchy whose controller list contains ctrl, or
 * (ctrl NULL) the v2 "0::" entry. */
static int self_path(const char *self_cgroup, const char *ctrl, char *out, size_t size)
{
        for (const char *p = self_cgroup; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
                const char *c1 = strchr(p, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                const char *end;
                bool match;
                if (!c2)
                        continue;
                if (ctrl) {
                        char ctrls[256];
                        size_t n = (size_t)(c2 - c1 - 1);
                        if (n >= sizeof(ctrls))
                                continue;
                        memcpy(ctrls, c1 + 1, n);
                        ctrls[n] = 0;
                        match = opt_has(ctrls, ctrl);
                } else
                        match = strncmp(p, "0::", 3) == 0;
                if (!match)
                        continue;
                end = strchrnul(c2 + 1, '\n');
                if ((size_t)(end - c2 - 1) >= size)
                        return -ENAMETOOLONG;
                memcpy(out, c2 + 1, (size_t)(end - c2 - 1));
                out[end - c2 - 1] = 0;
                return 0;
        }
        return -ENOENT;
}

int cg_layout_parse(const char *mountinfo, const char *self_cgroup, struct cg_layout *ret)
{
        struct cg_layout l = {.mode = CG_UNIFIED};
        bool have_v2 = false;

        for (const char *p = mountinfo; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
                char root[CG_PATH_MAX], mnt[CG_PATH_MAX], fstype[32], opts[512];
                const char *dash = strstr(p, " - ");
                const char *eol = strchrnul(p, '\n');
                if (!dash || dash > eol)
                        continue;
                if (sscanf(p, "%*s %*s %*s %511s %511s", root, mnt) != 2 ||
                    sscanf(dash + 3, "%31s %*s %511s", fstype, opts) != 2)
                        continue;
                if (!streq(root, "/")) /* a bind of a subtree: not the hierarchy root */
                        continue;
                if (streq(fstype, "cgroup2") && !have_v2) {
                        snprintf(l.unified_root, sizeof(l.unified_root), "%s", mnt);
                        have_v2 = true;
                } else if (streq(fstype, "cgroup")) {
                        for (int c = 0; c < CG__N; c++)
                                if (!l.v1[c] && opt_has(opts, ctrl_name[c])) {
                                        l.v1[c] = true;
                                        snprintf(l.v1_root[c], sizeof(l.v1_root[c]), "%s", mnt);
                                }
                }
        }
        if (!have_v2)
                return -EOPNOTSUPP;
        if (self_path(self_cgroup, NULL, l.unified_self, sizeof(l.unified_self)) < 0)
                snprintf(l.unified_self, sizeof(l.unified_self), "/");
        for (int c = 0; c < CG__N; c++) {
                if (!l.v1[c])
                        continue;
                l.mode = CG_HYBRID;
                if (self_path(self_cgroup, ctrl_name[c], l.v1_self[c], sizeof(l.v1_self[c])) < 0)
                        snprintf(l.v1_self[c], sizeof(l.v1_self[c]), "/");
        }
        *ret = l;
        return 0;
}

/* /proc files report size 0: read until EOF, bounded. */
static int read_proc(const char *path, size_t max, char **ret)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        size_t len = 0, cap = 4096;
        char *buf;

        if (fd < 0)
                return -errno;
        buf = xmalloc(cap);
        for (;;) {
                ssize_t n;
                if (len + 1 == cap) {
                        if (cap >= max) {
                                free(buf);
                                return -EFBIG;
                        }
                        cap *= 2;
                        buf = xrealloc(buf, cap);
                }
                n = read(fd, buf + len, cap - len - 1);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int r = -errno;
                        free(buf);
                        return r;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        buf[len] = 0;
        *ret = buf;
        return 0;
}

int cg_layout_detect(struct cg_layout *ret)
{
        _cleanup_free_ char *mi = NULL, *self = NULL;
        int r;

        r = read_proc("/proc/self/mountinfo", CG_MOUNTINFO_MAX, &mi);
        if (r < 0)
                return r;
        r = read_proc("/proc/self/cgroup", CG_READ_MAX, &self);
        if (r < 0)
                return r;
        return cg_layout_parse(mi, self, ret);
}

/* --- paths --------------------------------------------------------------- */

bool cg_parent_is_valid(const char *parent)
{
        size_t n = parent ? strlen(parent) : 0;
        const char *p = parent;

        if (n == 0 || n > SANDBOX_CGROUP_PARENT_MAX)
                return false;
        if (*p == '/')
                p++;
        if (!*p)
                return false;
        while (*p) {
                const char *e = strchrnul(p, '/');
                size_t cl = (size_t)(e - p);
                if (cl == 0 || (cl == 1 && p[0] == '.') || (cl == 2 && p[0] == '.' && p[1] == '.'))
                        return false;
                for (const char *q = p; q < e; q++)
                        if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
                              (*q >= '0' && *q <= '9') || *q == '-' || *q == '_' || *q == '.' ||
                              *q == '@'))
                                return false;
                p = *e ? e + 1 : e;
                if (*e && !*p) /* trailing slash */
                        return false;
        }
        return true;
}

/* root + [self] + parent [+ "/" + name], without doubled slashes. */
static int build(char *out, const char *root, const char *self, const char *parent,
                 const char *name)
{
        const char *rel = parent[0] == '/' ? parent + 1 : parent;
        const char *mid = parent[0] == '/' ? "" : self;
        int n;

        while (*mid == '/')
                mid++;
        n = snprintf(out, CG_PATH_MAX, "%s%s%s/%s%s%s", root, *mid ? "/" : "", mid, rel,
                     name ? "/" : "", name ? name : "");
        return n < 0 || n >= CG_PATH_MAX ? -ENAMETOOLONG : 0;
}

int cg_dirs_resolve(const struct cg_layout *l, const char *parent, const char *name, unsigned want,
                    struct cg_dirs *ret)
{
        struct cg_dirs d = {.n = 1};
        int r;

        if (!cg_parent_is_valid(parent))
                return -EINVAL;
        r = build(d.path[0], l->unified_root, l->unified_self, parent, name);
        if (r < 0)
                return r;
        for (int c = 0; c < CG__N; c++) {
                char p[CG_PATH_MAX];
                size_t i;
                d.ctrl_dir[c] = 0;
                if (!l->v1[c])
                        continue;
                d.ctrl_dir[c] = -1;
                if (!(want & (1u << c)))
                        continue;
                r = build(p, l->v1_root[c], l->v1_self[c], parent, name);
                if (r < 0)
                        return r;
                for (i = 1; i < d.n; i++)
                        if (streq(d.path[i], p))
                                break;
                if (i == d.n)
                        memcpy(d.path[d.n++], p, sizeof(p));
                d.ctrl_dir[c] = (int)i;
        }
        *ret = d;
        return 0;
}

/* --- parent -------------------------------------------------------------- */

static int enable_v2(const struct cg_layout *l, const char *dir, struct dbx_error *err)
{
        char avail[1024];
        int r = read_at(dir, "cgroup.controllers", avail, sizeof(avail));
        if (r < 0)
                return dbx_error_set(err, r, "", "cannot read %s/cgroup.controllers: %s", dir,
                                     strerror(-r));
        for (int c = 0; c < CG__N; c++) {
                char what[32];
                if (l->v1[c] || !opt_has(avail, ctrl_name[c]))
                        continue;
                snprintf(what, sizeof(what), "+%s", ctrl_name[c]);
                r = write_at(dir, "cgroup.subtree_control", what);
                if (r == -EBUSY)
                        return dbx_error_set(
                            err, r, "",
                            "cannot enable the %s controller below %s: the cgroup has "
                            "processes of its own (cgroup v2 allows controllers only on "
                            "inner nodes); give the daemon a delegated cgroup and move it "
                            "into a leaf, or use an absolute cgroup parent",
                            ctrl_name[c], dir);
                if (r < 0)
                        return dbx_error_set(err, r, "",
                                             "cannot enable the %s controller in %s: %s",
                                             ctrl_name[c], dir, strerror(-r));
        }
        return 0;
}

int cg_parent_prepare(const struct cg_layout *l, const char *parent, struct dbx_error *err)
{
        struct cg_dirs d;
        char walk[CG_PATH_MAX];
        int r = cg_dirs_resolve(l, parent, NULL, CG_WANT_ALL, &d);

        if (r < 0)
                return dbx_error_set(err, r, "cgroup_parent",
                                     "'%s' is not a cgroup path (components of [A-Za-z0-9._@-], "
                                     "at most %d bytes)",
                                     parent ? parent : "", SANDBOX_CGROUP_PARENT_MAX);
        for (size_t i = 0; i < d.n; i++) {
                r = mkdir(d.path[i], 0755) == 0 || errno == EEXIST ? 0
                                                                   : fs_mkdir_p(d.path[i], 0755);
                if (r < 0)
                        return dbx_error_set(err, r, "cgroup_parent", "cannot create %s: %s",
                                             d.path[i], strerror(-r));
        }
        /* v2: enable our controllers on every level from where we start
         * (the root, or our own cgroup for a relative parent) down to the
         * parent itself, so that sandbox cgroups get them. */
        r = snprintf(walk, sizeof(walk), "%s%s", l->unified_root,
                     parent[0] == '/' || streq(l->unified_self, "/") ? "" : l->unified_self);
        if (r < 0 || (size_t)r >= sizeof(walk))
                return dbx_error_set(err, -ENAMETOOLONG, "cgroup_parent", "path too long");
        for (;;) {
                const char *next;
                size_t wl = strlen(walk);
                r = enable_v2(l, walk, err);
                if (r < 0)
                        return r;
                if (wl >= strlen(d.path[0]))
                        break;
                next = strchrnul(d.path[0] + wl + 1, '/');
                memcpy(walk, d.path[0], (size_t)(next - d.path[0]));
                walk[next - d.path[0]] = 0;
        }
        return 0;
}

/* --- removal ------------------------------------------------------------- */

int cg_kill_dir(const char *dir)
{
        char buf[CG_READ_MAX];
        int r = write_at(dir, "cgroup.kill", "1");

        if (r != -ENOENT)
                return r;
        /* kernels before 5.14, and v1 hierarchies */
        for (int round = 0; round < CG_KILL_ROUNDS; round++) {
                bool any = false;
                r = read_at(dir, "cgroup.procs", buf, sizeof(buf));
                if (r < 0)
                        return r == -ENOENT ? 0 : r;
                for (char *p = buf; *p; p = strchrnul(p, '\n'), p += !!*p) {
                        long pid = strtol(p, NULL, 10);
                        if (pid > 1) {
                                kill((pid_t)pid, SIGKILL);
                                any = true;
                        }
                }
                if (!any)
                        return 0;
                usleep(CG_RMDIR_WAIT_US);
        }
        return -EBUSY;
}

static int rmdir_wait(const char *dir, bool unified)
{
        for (int i = 0; i < CG_RMDIR_TRIES; i++) {
                if (rmdir(dir) == 0 || errno == ENOENT)
                        return 0;
                if (errno != EBUSY)
                        return -errno;
                cg_kill_dir(dir);
                (void)unified;
                usleep(CG_RMDIR_WAIT_US);
        }
        return -EBUSY;
}

/* Depth-first removal of dir and everything below it. */
static int remove_tree(const char *dir, bool unified, int depth)
{
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (depth > CG_TREE_DEPTH_MAX)
                return -ELOOP;
        if (unified && depth == 0)
                cg_kill_dir(dir);
        d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        while ((de = readdir(d))) {
                char sub[CG_PATH_MAX];
                if (de->d_type != DT_DIR || streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name) >= sizeof(sub))
                        continue;
                int q = remove_tree(sub, unified, depth + 1);
                if (q < 0 && r == 0)
                        r = q;
        }
        closedir(d);
        int q = rmdir_wait(dir, unified);
        return r < 0 ? r : q;
}

int cg_cleanup(const struct cg_layout *l, const char *parent, bool remove_parent)
{
        struct cg_dirs d;
        int r = cg_dirs_resolve(l, parent, NULL, CG_WANT_ALL, &d), removed = 0, first_err = 0;

        if (r < 0)
                return r;
        for (size_t i = 0; i < d.n; i++) {
                DIR *dir = opendir(d.path[i]);
                struct dirent *de;
                if (!dir) {
                        if (errno != ENOENT && !first_err)
                                first_err = -errno;
                        continue;
                }
                while ((de = readdir(dir))) {
                        char sub[CG_PATH_MAX];
                        if (de->d_type != DT_DIR || streq(de->d_name, ".") ||
                            streq(de->d_name, ".."))
                                continue;
                        if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", d.path[i], de->d_name) >=
                            sizeof(sub))
                                continue;
                        r = remove_tree(sub, i == 0, 0);
                        if (r < 0 && !first_err)
                                first_err = r;
                        else if (r == 0 && i == 0)
                                removed++;
                }
                closedir(dir);
                if (remove_parent) {
                        r = rmdir_wait(d.path[i], i == 0);
                        if (r < 0 && !first_err)
                                first_err = r;
                }
        }
        return first_err < 0 ? first_err : removed;
}

/* --- a sandbox's cgroup -------------------------------------------------- */

static int limit_err(struct dbx_error *err, int r, const char *ctrl, const char *dir,
                     const char *file)
{
        if (r == -ENOENT)
                return dbx_error_set(err, -EOPNOTSUPP, "",
                                     "the %s cgroup controller is not "
                                     "available in %s (no %s); cannot apply the limit",
                                     ctrl, dir, file);
        return dbx_error_set(err, r, "", "cannot write %s/%s: %s", dir, file, strerror(-r));
}

static int apply_limits(const struct cg_layout *l, const struct cg_dirs *d,
                        const struct cg_limits *lim, struct dbx_error *err)
{
        char v[32];
        int r;

        if (lim->memory_max) {
                const char *dir = d->path[d->ctrl_dir[CG_MEMORY]];
                const char *file = l->v1[CG_MEMORY] ? "memory.limit_in_bytes" : "memory.max";
                snprintf(v, sizeof(v), "%" PRIu64, lim->memory_max);
                r = write_at(dir, file, v);
                if (r < 0)
                        return limit_err(err, r, "memory", dir, file);
                /* a hard limit: no swapping past it (ENOENT: no swap accounting) */
                if (l->v1[CG_MEMORY])
                        r = write_at(dir, "memory.memsw.limit_in_bytes", v);
                else
                        r = write_at(dir, "memory.swap.max", "0");
                if (r < 0 && r != -ENOENT)
                        return limit_err(err, r, "memory", dir, "swap limit");
        }
        if (lim->pids_max) {
                const char *dir = d->path[d->ctrl_dir[CG_PIDS]];
                snprintf(v, sizeof(v), "%" PRIu32, lim->pids_max);
                r = write_at(dir, "pids.max", v);
                if (r < 0)
                        return limit_err(err, r, "pids", dir, "pids.max");
        }
        if (lim->cpu_weight && lim->cpu_weight != SANDBOX_CPU_WEIGHT_DEFAULT) {
                const char *dir = d->path[d->ctrl_dir[CG_CPU]];
                const char *file = l->v1[CG_CPU] ? "cpu.shares" : "cpu.weight";
                snprintf(v, sizeof(v), "%" PRIu32,
                         l->v1[CG_CPU] ? cg_weight_to_shares(lim->cpu_weight) : lim->cpu_weight);
                r = write_at(dir, file, v);
                if (r < 0)
                        return limit_err(err, r, "cpu", dir, file);
        }
        return 0;
}

void cg_sandbox_close(struct cg_sandbox *cg)
{
        if (cg->unified_fd >= 0)
                close(cg->unified_fd);
        if (cg->oom_fd >= 0)
                close(cg->oom_fd);
        cg->unified_fd = cg->oom_fd = -1;
}

int cg_sandbox_create(const struct cg_layout *l, const char *parent, const char *name,
                      const struct cg_limits *lim, struct cg_sandbox *ret, struct dbx_error *err)
{
        struct cg_sandbox cg = {.mode = l->mode, .unified_fd = -1, .oom_fd = -1};
        unsigned want =
            (lim->memory_max ? 1u << CG_MEMORY : 0) | (lim->pids_max ? 1u << CG_PIDS : 0) |
            (lim->cpu_weight && lim->cpu_weight != SANDBOX_CPU_WEIGHT_DEFAULT ? 1u << CG_CPU : 0);
        int r = cg_dirs_resolve(l, parent, name, want, &cg.dirs);

        if (r < 0)
                return dbx_error_set(err, r, "", "bad cgroup path for %s", name);
        for (size_t i = 0; i < cg.dirs.n; i++) {
                if (mkdir(cg.dirs.path[i], 0755) == 0)
                        continue;
                if (errno != EEXIST) {
                        r = -errno;
                        goto fail;
                }
                /* a leftover of a sandbox of the same name: not running any more
                 * (the caller guarantees that), so clear it out */
                r = remove_tree(cg.dirs.path[i], i == 0, 0);
                if (r < 0 || mkdir(cg.dirs.path[i], 0755) < 0) {
                        r = r < 0 ? r : -errno;
                        goto fail;
                }
        }
        r = apply_limits(l, &cg.dirs, lim, err);
        if (r < 0) {
                cg_sandbox_destroy(&cg);
                return r;
        }
        cg.unified_fd = open(cg.dirs.path[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cg.unified_fd < 0) {
                r = -errno;
                goto fail;
        }
        if (cg.dirs.ctrl_dir[CG_MEMORY] >= 0) {
                char p[CG_PATH_MAX + 32];
                snprintf(p, sizeof(p), "%s/%s", cg.dirs.path[cg.dirs.ctrl_dir[CG_MEMORY]],
                         l->v1[CG_MEMORY] ? "memory.oom_control" : "memory.events");
                cg.oom_fd = open(p, O_RDONLY | O_CLOEXEC); /* absent without the controller */
        }
        *ret = cg;
        return 0;
fail:
        dbx_error_set(err, r, "", "cannot create cgroup %s: %s", name, strerror(-r));
        cg_sandbox_destroy(&cg);
        return r;
}

int cg_sandbox_attach_v1(const struct cg_sandbox *cg, pid_t pid)
{
        char v[16];
        snprintf(v, sizeof(v), "%d", (int)pid);
        for (size_t i = 1; i < cg->dirs.n; i++) {
                int r = write_at(cg->dirs.path[i], "cgroup.procs", v);
                if (r < 0)
                        return r;
        }
        return 0;
}

int cg_sandbox_destroy(struct cg_sandbox *cg)
{
        int r = 0;
        cg_sandbox_close(cg);
        if (cg->dirs.n > 0)
                cg_kill_dir(cg->dirs.path[0]);
        for (size_t i = 0; i < cg->dirs.n; i++) {
                int q = rmdir_wait(cg->dirs.path[i], i == 0);
                if (q < 0 && r == 0)
                        r = q;
        }
        cg->dirs.n = 0;
        return r;
}

static uint64_t count_lines(const char *dir, const char *file)
{
        char buf[CG_READ_MAX];
        uint64_t n = 0;
        if (read_at(dir, file, buf, sizeof(buf)) <= 0)
                return 0;
        for (const char *p = buf; (p = strchr(p, '\n')); p++)
                n++;
        return n;
}

int cg_sandbox_stats(const struct cg_sandbox *cg, struct sandbox_stats *ret)
{
        struct sandbox_stats st = {0};
        char buf[4096];
        int mem = cg->dirs.ctrl_dir[CG_MEMORY], pids = cg->dirs.ctrl_dir[CG_PIDS];

        if (cg->dirs.n == 0)
                return -ESRCH;
        /* cpu.stat is a core v2 file: present with or without the cpu
         * controller, on hybrid systems too */
        if (read_at(cg->dirs.path[0], "cpu.stat", buf, sizeof(buf)) > 0)
                st.cpu_usec = cg_parse_keyed(buf, "usage_usec", NULL);
        if (mem >= 0 &&
            read_at(cg->dirs.path[mem], mem > 0 ? "memory.usage_in_bytes" : "memory.current", buf,
                    sizeof(buf)) > 0)
                st.memory_bytes = strtoull(buf, NULL, 10);
        if (pids >= 0 && read_at(cg->dirs.path[pids], "pids.current", buf, sizeof(buf)) > 0)
                st.pids = strtoull(buf, NULL, 10);
        else
                st.pids = count_lines(cg->dirs.path[0], "cgroup.threads");
        if (cg->oom_fd >= 0) {
                ssize_t n = pread(cg->oom_fd, buf, sizeof(buf) - 1, 0);
                if (n > 0) {
                        buf[n] = 0;
                        st.oom_kills = cg_parse_keyed(buf, "oom_kill", NULL);
                }
        }
        *ret = st;
        return 0;
}
