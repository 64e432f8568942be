/* The sandbox's seccomp filter, in the spirit of Docker's default profile
 * but as a denylist: everything is allowed except what a pup never needs and
 * what widens the kernel attack surface. Denied calls fail with EPERM (so
 * programs see an ordinary permission error); clone3 fails with ENOSYS so
 * libc falls back to clone(), whose flags we can inspect. The list and the
 * reasons are in docs/sandbox.md, "Seccomp".
 *
 * libseccomp compiles the rules at build time (dbx-seccomp-gen writes the
 * BPF into seccomp-filter.h): loading the filter in a sandbox is then one
 * system call with no compilation at run time. */
#include <sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "core/macro.h"
#include "runtime/internal.h"

#define SECCOMP_BPF_MAX (64u << 10) /* exported program; ours is a few KiB */

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* Denied outright (EPERM). Names unknown to an architecture are skipped. */
const char *const sandbox_seccomp_denied[] = {
    /* file systems and mounts */
    "mount",
    "umount",
    "umount2",
    "pivot_root",
    "chroot",
    "move_mount",
    "open_tree",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    /* kernel code and state */
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "create_module",
    "get_kernel_syms",
    "query_module",
    "bpf",
    "perf_event_open",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "quotactl",
    "quotactl_fd",
    "syslog",
    "lookup_dcookie",
    "nfsservctl",
    "uselib",
    "ustat",
    "sysfs",
    "_sysctl",
    "vhangup",
    "iopl",
    "ioperm",
    "open_by_handle_at",
    /* keys */
    "keyctl",
    "add_key",
    "request_key",
    /* clocks */
    "clock_settime",
    "clock_settime64",
    "settimeofday",
    "stime",
    "adjtimex",
    "clock_adjtime",
    "clock_adjtime64",
    /* namespaces (clone/unshare are filtered by flags below) */
    "setns",
    /* other processes */
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
    "kcmp",
    /* large attack surfaces no pup needs */
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "sethostname",
    "setdomainname",
    NULL,
};

/* Namespace-creating flags refused in clone() and unshare(). */
static const uint64_t ns_flags[] = {
    CLONE_NEWNS,  CLONE_NEWUTS, CLONE_NEWIPC,    CLONE_NEWUSER,
    CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP, CLONE_NEWTIME,
};

static int deny(scmp_filter_ctx ctx, const char *name)
{
        int nr = seccomp_syscall_resolve_name(name);
        if (nr == __NR_SCMP_ERROR)
                return 0; /* not on this architecture */
        return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
}

static int build_ctx(scmp_filter_ctx ctx)
{
        int r;

        for (size_t i = 0; sandbox_seccomp_denied[i]; i++) {
                r = deny(ctx, sandbox_seccomp_denied[i]);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < ARRAY_SIZE(ns_flags); i++) {
                uint64_t f = ns_flags[i];
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 1,
                                     SCMP_A0(SCMP_CMP_MASKED_EQ, f, f));
                if (r < 0)
                        return r;
                /* clone's flags are argument 0 on x86-64 and arm64 */
                r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
                                     SCMP_A0(SCMP_CMP_MASKED_EQ, f, f));
                if (r < 0)
                        return r;
        }
        /* clone3 passes its flags in memory, out of the filter's reach */
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
        if (r < 0)
                return r;
        /* faking terminal input into a terminal the sandbox shares
         * (`dogeboxd sandbox` in a shell) */
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
                             SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI));
        if (r < 0)
                return r;
        return 0;
}

int sandbox_seccomp_compile(struct sock_fprog *ret)
{
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        _cleanup_close_ int fd = -1;
        struct sock_filter *prog = NULL;
        off_t size;
        int r;

        if (!ctx)
                return -ENOMEM;
        /* Only the native ABI: a system call through another one (i386's
         * int 0x80, x32) kills the process. Pups ship 64-bit binaries, and
         * one ABI keeps the filter short. */
        r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
        if (r < 0)
                goto out;
        r = build_ctx(ctx);
        if (r < 0)
                goto out;

        fd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
        if (fd < 0) {
                r = -errno;
                goto out;
        }
        r = seccomp_export_bpf(ctx, fd);
        if (r < 0)
                goto out;
        size = lseek(fd, 0, SEEK_END);
        if (size <= 0 || size > (off_t)SECCOMP_BPF_MAX || size % sizeof(struct sock_filter)) {
                r = -EINVAL;
                goto out;
        }
        prog = xmalloc((size_t)size);
        if (pread(fd, prog, (size_t)size, 0) != size) {
                free(prog);
                r = -EIO;
                goto out;
        }
        ret->filter = prog;
        ret->len = (unsigned short)(size / sizeof(struct sock_filter));
        r = 0;
out:
        seccomp_release(ctx);
        return r;
}

void sandbox_seccomp_free(struct sock_fprog *prog)
{
        free(prog->filter);
        prog->filter = NULL;
        prog->len = 0;
}
