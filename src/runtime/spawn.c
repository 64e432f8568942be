/* Creating a sandbox process.
 *
 * The parent (the daemon's event-loop thread) prepares everything that needs
 * memory allocation: the mount plan, the /etc files, pup-init's
 * configuration, the pipes. It then clone3()s a child into new user, pid,
 * mount, network, uts and ipc namespaces, directly into the sandbox's v2
 * cgroup, maps the child's ids, attaches it to the v1 cgroups (hybrid
 * systems), runs the network hook and finally releases it.
 *
 * The child runs in a copy of a possibly multi-threaded process, so it only
 * makes system calls (no malloc, no stdio, no locks). It builds a tmpfs root,
 * pivots into it, drops every privilege, loads the seccomp filter and
 * executes pup-init from a file descriptor opened on the host, so pup-init
 * need not exist inside the sandbox. Any failure is reported on the report
 * pipe as a setup-error line (initproto.h) before the child exits. */
#include <fcntl.h>
#include <grp.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "core/macro.h"
#include "runtime/initproto.h"
#include "runtime/internal.h"

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/* Sizes of the tmpfs mounts. Pages written there are charged to the pup's
 * memory cgroup as well, so the memory limit bounds them too. */
#define ROOT_TMPFS_OPTS    "mode=0755,size=1m,nr_inodes=4096" /* read-only after setup */
#define TMP_TMPFS_OPTS     "mode=1777,size=256m"
#define RUN_TMPFS_OPTS     "mode=0755,size=16m,uid=420,gid=69"
#define DEV_TMPFS_OPTS     "mode=0755,size=64k,nr_inodes=64"
#define SHM_TMPFS_OPTS     "mode=1777,size=64m"
#define STORAGE_TMPFS_OPTS "mode=0750,size=256m,uid=420,gid=69" /* without a storage dir */
#define DEVPTS_OPTS        "newinstance,ptmxmode=0666,mode=0620"

/* Where the new root is assembled in the child's private mount namespace
 * before pivot_root. Any directory would do: bind sources were cloned by
 * the parent with open_tree(). */
#define STAGING_DIR "/tmp"

#define CHILD_PATH_MAX SANDBOX_STRING_MAX

static const char *const dev_nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
/* /proc entries made read-only: the sysctls and the sysrq trigger. (The
 * rest of /proc's writable knobs belong to host root, which is not mapped
 * into the sandbox, so permissions already refuse them.) */
static const char *const proc_ro[] = {"proc/sys", "proc/sysrq-trigger"};
static const char nsswitch_conf[] = "passwd: files\ngroup: files\nshadow: files\n"
                                    "hosts: files dns\nnetworks: files\nprotocols: files\n"
                                    "services: files\nethers: files\nrpc: files\n";

struct plan_bind {
        const char *src; /* host path */
        const char *dst; /* relative to the new root ("usr", "etc/ssl") */
        char *link;      /* symlink target when src is a symlink */
        bool dir;
        bool rw;
        int fd; /* open_tree() clone made by the parent */
};

struct etc_file {
        const char *name; /* relative: "etc/passwd" */
        const char *data;
        size_t len;
};

struct plan {
        struct plan_bind binds[SANDBOX_BINDS_MAX + 2]; /* + /pup and /storage */
        size_t n_binds;
        ssize_t storage; /* index in binds or -1 (tmpfs) */
        struct etc_file etc[6];
        size_t n_etc;
        char *owned[8]; /* generated strings to free */
        const char *hostname;
        bool inherit;
        size_t n_services;
        uint32_t uid_base;

        int sync_fd; /* child end of the sync socket */
        int report_fd;
        int keep[3 + 2 * SANDBOX_SERVICES_MAX]; /* -> 3, 4, 5, 6...: initproto.h */
        size_t n_keep;
        int pup_init_fd;
        const struct sock_fprog *seccomp;
        cap_t caps_empty;
};

/* --- the child ----------------------------------------------------------- */

static size_t put_str(char *b, size_t n, size_t cap, const char *s, bool escape)
{
        for (; *s && n + 2 < cap; s++) {
                if (escape && (*s == '"' || *s == '\\'))
                        b[n++] = '\\';
                b[n++] = *s;
        }
        return n;
}

static _Noreturn void child_fail(const struct plan *p, const char *step, const char *arg, int err)
{
        char b[PUPINIT_REPORT_MAX], num[16];
        size_t n = 0, i = sizeof(num);
        unsigned e = (unsigned)(err > 0 ? err : EIO);

        num[--i] = 0;
        do
                num[--i] = (char)('0' + e % 10);
        while ((e /= 10) > 0);
        n = put_str(b, n, sizeof(b) - 40, "{\"ev\":\"setup-error\",\"step\":\"", false);
        n = put_str(b, n, sizeof(b) - 40, step, true);
        if (arg) {
                n = put_str(b, n, sizeof(b) - 40, " ", false);
                n = put_str(b, n, sizeof(b) - 40, arg, true);
        }
        n = put_str(b, n, sizeof(b), "\",\"errno\":", false);
        n = put_str(b, n, sizeof(b), num + i, false);
        n = put_str(b, n, sizeof(b), "}\n", false);
        (void)!write(p->report_fd, b, n);
        _exit(PUPINIT_EXIT_SETUP);
}

#define CHECK(expr, step, arg)                                                                     \
        do {                                                                                       \
                if ((expr) < 0)                                                                    \
                        child_fail(p, step, arg, errno);                                           \
        } while (0)

/* mkdir -p relative to the current directory (the new root). */
static int mkdir_p(const char *rel, mode_t mode)
{
        char b[CHILD_PATH_MAX];
        size_t n = strlen(rel);

        if (n >= sizeof(b)) {
                errno = ENAMETOOLONG;
                return -1;
        }
        memcpy(b, rel, n + 1);
        for (char *s = b + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(b, mode) < 0 && errno != EEXIST)
                        return -1;
                *s = '/';
        }
        return mkdir(b, mode) < 0 && errno != EEXIST ? -1 : 0;
}

static int parent_dirs(const char *rel)
{
        char b[CHILD_PATH_MAX];
        const char *slash = strrchr(rel, '/');
        if (!slash)
                return 0;
        if ((size_t)(slash - rel) >= sizeof(b)) {
                errno = ENAMETOOLONG;
                return -1;
        }
        memcpy(b, rel, (size_t)(slash - rel));
        b[slash - rel] = 0;
        return mkdir_p(b, 0755);
}

static int touch(const char *rel, mode_t mode)
{
        int fd = open(rel, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return -1;
        close(fd);
        return 0;
}

static int write_file(const char *rel, const char *data, size_t len)
{
        int fd = open(rel, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -1;
        if (write(fd, data, len) != (ssize_t)len) {
                close(fd);
                errno = errno ? errno : EIO;
                return -1;
        }
        return close(fd);
}

static int setattr(int dfd, const char *path, unsigned flags, uint64_t set)
{
        struct mount_attr a = {.attr_set = set};
        return mount_setattr(dfd, path, flags, &a, sizeof(a));
}

static void build_root(struct plan *p)
{
        CHECK(mount("tmpfs", STAGING_DIR, "tmpfs", MS_NOSUID | MS_NODEV, ROOT_TMPFS_OPTS),
              "mount root tmpfs", NULL);
        CHECK(chdir(STAGING_DIR), "chdir", STAGING_DIR);

        static const char *const skel[] = {"etc",     "dev", "proc", "pup",
                                           "storage", "tmp", "run",  "var"};
        for (size_t i = 0; i < ARRAY_SIZE(skel); i++)
                CHECK(mkdir(skel[i], 0755), "mkdir", skel[i]);
        CHECK(symlink("/tmp", "var/tmp"), "symlink", "var/tmp");
        for (size_t i = 0; i < p->n_etc; i++)
                CHECK(write_file(p->etc[i].name, p->etc[i].data, p->etc[i].len), "write",
                      p->etc[i].name);

        /* the trees the parent cloned (already read-only or nosuid/nodev,
         * and private) go onto their mount points */
        for (size_t i = 0; i < p->n_binds; i++) {
                struct plan_bind *b = &p->binds[i];
                CHECK(parent_dirs(b->dst), "mkdir", b->dst);
                if (b->link) {
                        CHECK(symlink(b->link, b->dst), "symlink", b->dst);
                        continue;
                }
                if (b->dir)
                        CHECK(mkdir_p(b->dst, 0755), "mkdir", b->dst);
                else
                        CHECK(touch(b->dst, 0644), "create", b->dst);
                CHECK(move_mount(b->fd, "", AT_FDCWD, b->dst, MOVE_MOUNT_F_EMPTY_PATH), "bind",
                      b->dst);
        }
        /* the root itself is read-only from now on */
        CHECK(setattr(AT_FDCWD, ".", 0, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV),
              "read-only root", NULL);

        if (p->storage < 0)
                CHECK(mount("tmpfs", "storage", "tmpfs", MS_NOSUID | MS_NODEV, STORAGE_TMPFS_OPTS),
                      "mount", "storage");
        CHECK(mount("tmpfs", "tmp", "tmpfs", MS_NOSUID | MS_NODEV, TMP_TMPFS_OPTS), "mount", "tmp");
        CHECK(mount("tmpfs", "run", "tmpfs", MS_NOSUID | MS_NODEV, RUN_TMPFS_OPTS), "mount", "run");

        /* a minimal /dev: host device nodes bound (no mknod in a user
         * namespace), a private devpts, shm */
        CHECK(mount("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_NOEXEC, DEV_TMPFS_OPTS), "mount",
              "dev");
        for (size_t i = 0; i < ARRAY_SIZE(dev_nodes); i++) {
                char host[32] = "/dev/", rel[32] = "dev/";
                strcat(host, dev_nodes[i]);
                strcat(rel, dev_nodes[i]);
                CHECK(touch(rel, 0666), "create", rel);
                CHECK(mount(host, rel, NULL, MS_BIND, NULL), "bind", host);
        }
        CHECK(mkdir("dev/pts", 0755), "mkdir", "dev/pts");
        CHECK(mkdir("dev/shm", 01777), "mkdir", "dev/shm");
        CHECK(mount("devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, DEVPTS_OPTS), "mount",
              "dev/pts");
        CHECK(mount("tmpfs", "dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, SHM_TMPFS_OPTS), "mount",
              "dev/shm");
        CHECK(symlink("pts/ptmx", "dev/ptmx"), "symlink", "dev/ptmx");
        CHECK(symlink("/proc/self/fd", "dev/fd"), "symlink", "dev/fd");
        CHECK(symlink("/proc/self/fd/0", "dev/stdin"), "symlink", "dev/stdin");
        CHECK(symlink("/proc/self/fd/1", "dev/stdout"), "symlink", "dev/stdout");
        CHECK(symlink("/proc/self/fd/2", "dev/stderr"), "symlink", "dev/stderr");
        CHECK(setattr(AT_FDCWD, "dev", 0, MOUNT_ATTR_RDONLY), "read-only", "dev");

        /* a fresh /proc for the new pid namespace */
        CHECK(mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL), "mount",
              "proc");
        for (size_t i = 0; i < ARRAY_SIZE(proc_ro); i++) {
                if (mount(proc_ro[i], proc_ro[i], NULL, MS_BIND | MS_REC, NULL) < 0) {
                        if (errno == ENOENT)
                                continue;
                        child_fail(p, "bind", proc_ro[i], errno);
                }
                CHECK(setattr(AT_FDCWD, proc_ro[i], AT_RECURSIVE, MOUNT_ATTR_RDONLY), "read-only",
                      proc_ro[i]);
        }

        /* enter it; the old root disappears from the namespace */
        CHECK(syscall(SYS_pivot_root, ".", "."), "pivot_root", NULL);
        CHECK(umount2(".", MNT_DETACH), "unmount old root", NULL);
        CHECK(chdir("/"), "chdir", "/");
}

static void loopback_up(const struct plan *p)
{
        struct ifreq ifr = {0};
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        CHECK(s, "socket", NULL);
        memcpy(ifr.ifr_name, "lo", 3);
        CHECK(ioctl(s, SIOCGIFFLAGS, &ifr), "loopback", NULL);
        ifr.ifr_flags |= IFF_UP;
        CHECK(ioctl(s, SIOCSIFFLAGS, &ifr), "loopback up", NULL);
        close(s);
}

/* Move the fds pup-init needs to 3, 4, 5, ... (initproto.h); everything
 * else is closed by exec. */
static void arrange_fds(struct plan *p)
{
        int hi = 3 + (int)p->n_keep + 1;
        int tmp[ARRAY_SIZE(p->keep)];

        /* first out of the way, so no source is clobbered by a target */
        for (size_t i = 0; i < p->n_keep; i++) {
                tmp[i] = fcntl(p->keep[i], F_DUPFD_CLOEXEC, hi);
                CHECK(tmp[i], "dup", NULL);
        }
        p->pup_init_fd = fcntl(p->pup_init_fd, F_DUPFD_CLOEXEC, hi);
        CHECK(p->pup_init_fd, "dup", NULL);
        p->sync_fd = fcntl(p->sync_fd, F_DUPFD_CLOEXEC, hi);
        CHECK(p->sync_fd, "dup", NULL);
        for (size_t i = 0; i < p->n_keep; i++) {
                CHECK(dup2(tmp[i], 3 + (int)i), "dup2", NULL);
                if (p->keep[i] == p->report_fd)
                        p->report_fd = 3 + (int)i;
        }
        CHECK(syscall(SYS_close_range, 3 + (unsigned)p->n_keep, ~0u, CLOSE_RANGE_CLOEXEC),
              "close_range", NULL);
        if (!p->inherit) {
                int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
                CHECK(fd, "open", "/dev/null");
                for (int i = 0; i < 3; i++)
                        CHECK(dup2(fd, i), "dup2", NULL);
                close(fd);
        }
}

static void drop_privileges(const struct plan *p)
{
        const gid_t gid = SANDBOX_GID_INSIDE;
        const struct rlimit no_core = {0, 0};
        int last = (int)cap_max_bits();

        /* core dumps would reach the host's core_pattern handler */
        CHECK(setrlimit(RLIMIT_CORE, &no_core), "setrlimit", NULL);
        for (int c = 0; c < last; c++)
                CHECK(cap_drop_bound((cap_value_t)c), "drop bounding capability", NULL);
        CHECK(setgroups(1, &gid), "setgroups", NULL);
        CHECK(setresgid(gid, gid, gid), "setresgid", NULL);
        /* leaving uid 0 clears the permitted and effective sets */
        CHECK(setresuid(SANDBOX_UID_INSIDE, SANDBOX_UID_INSIDE, SANDBOX_UID_INSIDE), "setresuid",
              NULL);
        /* one prctl; libcap's cap_reset_ambient() tests each capability */
        CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0),
              "clear ambient capabilities", NULL);
        CHECK(cap_set_proc(p->caps_empty), "clear capabilities", NULL);
}

static _Noreturn void child_main(struct plan *p)
{
        static char *const argv[] = {"pup-init", NULL};
        static char *const envp[] = {NULL};
        struct pollfd pfd;
        char go;

        /* die with the parent; if it is already gone the read sees EOF */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || read(p->sync_fd, &go, 1) != 1)
                _exit(PUPINIT_EXIT_SETUP);

        /* the id maps are written now: become root of the user namespace
         * (we still carry the host's unmapped ids) */
        CHECK(setresgid(0, 0, 0), "setresgid", "0");
        CHECK(setresuid(0, 0, 0), "setresuid", "0");
        /* the v1 cgroups are joined now: the cgroup namespace starts here */
        CHECK(unshare(CLONE_NEWCGROUP), "unshare cgroup namespace", NULL);
        CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), "make mounts private", NULL);
        build_root(p);
        CHECK(sethostname(p->hostname, strlen(p->hostname)), "sethostname", NULL);
        loopback_up(p);
        arrange_fds(p);
        drop_privileges(p);

        /* the uid change cleared the parent-death signal: set it again,
         * then make sure the parent did not die in between */
        CHECK(prctl(PR_SET_PDEATHSIG, SIGKILL), "prctl", NULL);
        pfd = (struct pollfd){.fd = p->sync_fd, .events = POLLIN};
        if (poll(&pfd, 1, 0) != 0)
                _exit(PUPINIT_EXIT_SETUP); /* readable means closed: parent gone */

        CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs", NULL);
        CHECK(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, p->seccomp), "seccomp", NULL);
        execveat(p->pup_init_fd, "", argv, envp, AT_EMPTY_PATH);
        child_fail(p, "exec pup-init", NULL, errno);
}

/* --- the parent ---------------------------------------------------------- */

struct clone_args_v2 {
        uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
            set_tid_size, cgroup;
};

static void plan_done(struct plan *p)
{
        for (size_t i = 0; i < p->n_binds; i++) {
                free(p->binds[i].link);
                if (p->binds[i].fd >= 0)
                        close(p->binds[i].fd);
        }
        for (size_t i = 0; i < ARRAY_SIZE(p->owned); i++)
                free(p->owned[i]);
        if (p->caps_empty)
                cap_free(p->caps_empty);
}

/* Clone the tree at src as the host's root sees it (the sandbox's ids
 * could not even traverse a 0700 data directory), detached, private (no
 * propagation to or from the host), with the sandbox's mount flags. */
static int clone_tree(const char *src, bool rw)
{
        struct mount_attr a = {
            .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (rw ? 0 : MOUNT_ATTR_RDONLY),
            .propagation = MS_PRIVATE,
        };
        int fd = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (fd < 0)
                return -errno;
        if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof(a)) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

static int plan_add_bind(struct plan *p, const char *src, const char *dst, bool rw, bool optional,
                         const char *what, struct dbx_error *err)
{
        struct plan_bind *b = &p->binds[p->n_binds];
        struct stat st;

        if (lstat(src, &st) < 0) {
                if (errno == ENOENT && optional)
                        return 0;
                return dbx_error_set(err, -errno, what, "%s: %s", src, strerror(errno));
        }
        *b = (struct plan_bind){.src = src, .dst = dst + 1, .rw = rw, .fd = -1};
        if (S_ISLNK(st.st_mode)) {
                char target[CHILD_PATH_MAX];
                ssize_t n = readlink(src, target, sizeof(target) - 1);
                if (n < 0)
                        return dbx_error_set(err, -errno, what, "%s: %s", src, strerror(errno));
                target[n] = 0;
                b->link = xstrdup(target);
        } else if (S_ISDIR(st.st_mode))
                b->dir = true;
        else if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
                return dbx_error_set(err, -EINVAL, what,
                                     "%s is neither a directory, a file nor a symlink", src);
        if (!b->link) {
                b->fd = clone_tree(src, rw);
                if (b->fd < 0)
                        return dbx_error_set(err, b->fd, what, "cannot bind %s: %s", src,
                                             strerror(-b->fd));
        }
        p->n_binds++;
        return 0;
}

static int plan_build(const struct sandbox_spec *spec, struct plan *p, struct dbx_error *err)
{
        struct stat st;
        size_t o = 0;
        int r;

        p->storage = -1;
        for (size_t i = 0; i < spec->n_binds; i++) {
                char what[32];
                snprintf(what, sizeof(what), "binds[%zu].src", i);
                r = plan_add_bind(p, spec->binds[i].src, spec->binds[i].dst, spec->binds[i].rw,
                                  spec->binds[i].optional, what, err);
                if (r < 0)
                        return r;
        }
        if (spec->pup_dir) {
                if (stat(spec->pup_dir, &st) < 0 || !S_ISDIR(st.st_mode))
                        return dbx_error_set(err, -ENOTDIR, "pup_dir", "%s is not a directory",
                                             spec->pup_dir);
                r = plan_add_bind(p, spec->pup_dir, "/pup", false, false, "pup_dir", err);
                if (r < 0)
                        return r;
        }
        if (spec->storage_dir) {
                if (stat(spec->storage_dir, &st) < 0 || !S_ISDIR(st.st_mode))
                        return dbx_error_set(err, -ENOTDIR, "storage_dir", "%s is not a directory",
                                             spec->storage_dir);
                p->storage = (ssize_t)p->n_binds;
                r = plan_add_bind(p, spec->storage_dir, "/storage", true, false, "storage_dir",
                                  err);
                if (r < 0)
                        return r;
                if (p->binds[p->storage].link)
                        return dbx_error_set(err, -EINVAL, "storage_dir",
                                             "%s is a symlink; give the real directory",
                                             spec->storage_dir);
        }

        p->owned[o++] = sandbox_etc_passwd();
        p->etc[p->n_etc++] = (struct etc_file){"etc/passwd", p->owned[o - 1], 0};
        p->owned[o++] = sandbox_etc_group();
        p->etc[p->n_etc++] = (struct etc_file){"etc/group", p->owned[o - 1], 0};
        p->owned[o++] = sandbox_etc_hosts(spec);
        p->etc[p->n_etc++] = (struct etc_file){"etc/hosts", p->owned[o - 1], 0};
        p->hostname = spec->hostname ? spec->hostname : "pup";
        p->owned[o++] = xasprintf("%s\n", p->hostname);
        p->etc[p->n_etc++] = (struct etc_file){"etc/hostname", p->owned[o - 1], 0};
        p->etc[p->n_etc++] =
            (struct etc_file){"etc/resolv.conf", spec->resolv_conf ? spec->resolv_conf : "", 0};
        p->etc[p->n_etc++] = (struct etc_file){"etc/nsswitch.conf", nsswitch_conf, 0};
        for (size_t i = 0; i < p->n_etc; i++)
                p->etc[i].len = strlen(p->etc[i].data);

        p->inherit = spec->stdio == SANDBOX_STDIO_INHERIT;
        p->n_services = spec->n_services;
        p->uid_base = spec->uid_base;
        p->caps_empty = cap_init();
        if (!p->caps_empty)
                return dbx_error_set(err, -ENOMEM, "", "cap_init failed");
        return 0;
}

static int write_proc(pid_t pid, const char *file, const char *value)
{
        char path[64];
        size_t n = strlen(value);
        int fd, r = 0;

        snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (write(fd, value, n) != (ssize_t)n)
                r = -errno;
        close(fd);
        return r;
}

static int make_config_fd(const struct sandbox_spec *spec, struct dbx_error *err)
{
        _cleanup_free_ char *blob = NULL;
        size_t len;
        int fd, r;

        r = sandbox_initconfig_build(spec, &blob, &len);
        if (r < 0)
                return dbx_error_set(err, r, "services",
                                     "the services' commands and environments exceed %u bytes "
                                     "in total",
                                     PUPINIT_CONFIG_MAX);
        fd = memfd_create("pup-init.conf", MFD_CLOEXEC | MFD_ALLOW_SEALING);
        if (fd < 0)
                return dbx_error_set(err, -errno, "", "memfd_create: %s", strerror(errno));
        if (write(fd, blob, len) != (ssize_t)len || lseek(fd, 0, SEEK_SET) != 0 ||
            fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) {
                r = -errno;
                close(fd);
                return dbx_error_set(err, r, "", "writing pup-init's configuration: %s",
                                     strerror(-r));
        }
        return fd;
}

static void close_fds(int *fds, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (fds[i] >= 0) {
                        close(fds[i]);
                        fds[i] = -1;
                }
}

int sandbox_spawn_process(const struct sandbox_spec *spec, const struct spawn_env *env,
                          struct spawn_result *ret, struct dbx_error *err)
{
        struct plan p = {.sync_fd = -1, .report_fd = -1};
        struct spawn_result res = {.pidfd = -1, .sync_fd = -1, .report_fd = -1};
        int sync_pair[2] = {-1, -1}, report[2] = {-1, -1}, config_fd = -1, oom_fd = -1;
        int log_w[2 * SANDBOX_SERVICES_MAX];
        struct clone_args_v2 ca = {0};
        char map[64];
        int pidfd = -1, r;
        long pid;

        for (size_t i = 0; i < ARRAY_SIZE(log_w); i++)
                log_w[i] = res.log_fds[i] = -1;
        r = plan_build(spec, &p, err);
        if (r < 0)
                goto fail;
        config_fd = r = make_config_fd(spec, err);
        if (r < 0)
                goto fail;
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync_pair) < 0 ||
            pipe2(report, O_CLOEXEC) < 0) {
                r = dbx_error_set(err, -errno, "", "socketpair/pipe: %s", strerror(errno));
                goto fail;
        }
        oom_fd = env->cg->oom_fd >= 0 ? dup(env->cg->oom_fd) : open("/dev/null", O_RDONLY);
        if (oom_fd < 0) {
                r = dbx_error_set(err, -errno, "", "dup: %s", strerror(errno));
                goto fail;
        }
        p.keep[p.n_keep++] = config_fd;
        p.keep[p.n_keep++] = report[1];
        p.keep[p.n_keep++] = oom_fd;
        if (!p.inherit)
                for (size_t i = 0; i < 2 * spec->n_services; i++) {
                        int pp[2];
                        if (pipe2(pp, O_CLOEXEC) < 0) {
                                r = dbx_error_set(err, -errno, "", "pipe: %s", strerror(errno));
                                goto fail;
                        }
                        res.log_fds[res.n_log_fds++] = pp[0];
                        log_w[i] = pp[1];
                        p.keep[p.n_keep++] = pp[1];
                        (void)fcntl(pp[0], F_SETFL, O_NONBLOCK);
                }
        (void)fcntl(report[0], F_SETFL, O_NONBLOCK);
        p.sync_fd = sync_pair[1];
        p.report_fd = report[1];
        p.pup_init_fd = env->pup_init_fd;
        p.seccomp = env->seccomp;

        ca.flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS |
                   CLONE_NEWIPC | CLONE_PIDFD | CLONE_INTO_CGROUP;
        ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
        ca.exit_signal = SIGCHLD;
        ca.cgroup = (uint64_t)env->cg->unified_fd;
        pid = syscall(SYS_clone3, &ca, sizeof(ca));
        if (pid == 0)
                child_main(&p);
        if (pid < 0) {
                r = dbx_error_set(err, -errno, "", "clone3 into new namespaces: %s",
                                  strerror(errno));
                goto fail;
        }

        /* the child's ends stay with the child */
        close(sync_pair[1]);
        sync_pair[1] = -1;
        close(report[1]);
        report[1] = -1;
        close(config_fd);
        config_fd = -1;
        close(oom_fd);
        oom_fd = -1;
        close_fds(log_w, ARRAY_SIZE(log_w));

        snprintf(map, sizeof(map), "0 %u %u\n", spec->uid_base, SANDBOX_UIDRANGE_SIZE);
        r = write_proc((pid_t)pid, "uid_map", map);
        if (r == 0)
                r = write_proc((pid_t)pid, "gid_map", map);
        if (r < 0) {
                dbx_error_set(err, r, "", "writing the uid/gid map: %s", strerror(-r));
                goto kill;
        }
        r = cg_sandbox_attach_v1(env->cg, (pid_t)pid);
        if (r < 0) {
                dbx_error_set(err, r, "", "joining the v1 cgroups: %s", strerror(-r));
                goto kill;
        }
        if (env->hooks && env->hooks->net_setup) {
                r = env->hooks->net_setup((pid_t)pid, pidfd, env->hooks->userdata);
                if (r < 0) {
                        dbx_error_set(err, r, "", "network setup hook failed: %s", strerror(-r));
                        goto kill;
                }
        }
        if (send(sync_pair[0], "g", 1, MSG_NOSIGNAL) != 1) {
                r = dbx_error_set(err, -errno, "", "releasing the sandbox: %s", strerror(errno));
                goto kill;
        }

        res.pid = (pid_t)pid;
        res.pidfd = pidfd;
        res.sync_fd = sync_pair[0];
        res.report_fd = report[0];
        plan_done(&p);
        *ret = res;
        return 0;

kill:
        pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
        {
                siginfo_t si;
                while (waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0 && errno == EINTR)
                        ;
        }
        close(pidfd);
fail:
        close_fds(sync_pair, 2);
        close_fds(report, 2);
        close_fds(&config_fd, 1);
        close_fds(&oom_fd, 1);
        close_fds(log_w, ARRAY_SIZE(log_w));
        close_fds(res.log_fds, res.n_log_fds);
        plan_done(&p);
        return r;
}
