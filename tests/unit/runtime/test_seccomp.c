#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "runtime/internal.h"

/* The BPF embedded at build time is what libseccomp makes of seccomp.c now. */
static void test_embedded_is_current(void **state)
{
        struct sock_fprog fresh;
        const struct sock_fprog *emb = sandbox_seccomp_filter();

        assert_int_equal(sandbox_seccomp_compile(&fresh), 0);
        assert_int_equal(fresh.len, emb->len);
        assert_memory_equal(fresh.filter, emb->filter, fresh.len * sizeof(struct sock_filter));
        sandbox_seccomp_free(&fresh);
}

static void test_list_covers_the_issue(void **state)
{
        static const char *const must[] = {
            "mount",         "umount2",      "kexec_load",      "init_module",    "finit_module",
            "delete_module", "bpf",          "perf_event_open", "keyctl",         "add_key",
            "userfaultfd",   "setns",        "reboot",          "swapon",         "swapoff",
            "clock_settime", "settimeofday", "adjtimex",        "ptrace",         "pivot_root",
            "open_tree",     "move_mount",   "fsopen",          "io_uring_setup",
        };
        for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++) {
                bool found = false;
                for (size_t j = 0; sandbox_seccomp_denied[j]; j++)
                        found |= strcmp(must[i], sandbox_seccomp_denied[j]) == 0;
                if (!found)
                        fail_msg("%s is not denied", must[i]);
        }
}

/* Load the embedded filter in a child and watch it work. */
static void test_filter_behaves(void **state)
{
        pid_t pid = fork();
        int status;

        assert_true(pid >= 0);
        if (pid == 0) {
                int fails = 0;
                if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
                    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, sandbox_seccomp_filter()) < 0)
                        _exit(100);
#define EXPECT(call, e) fails += ((call) != -1 || errno != (e))
                EXPECT(mount("none", "/mnt", "tmpfs", 0, NULL), EPERM);
                EXPECT(unshare(CLONE_NEWUSER), EPERM);
                EXPECT(unshare(CLONE_NEWNET), EPERM);
                EXPECT(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0), EPERM);
                EXPECT(syscall(SYS_clone3, NULL, 0), ENOSYS);
                EXPECT(ptrace(PTRACE_TRACEME, 0, 0, 0), EPERM);
                EXPECT(syscall(SYS_bpf, 0, NULL, 0), EPERM);
                EXPECT(syscall(SYS_setns, 0, 0), EPERM);
                EXPECT(syscall(SYS_userfaultfd, 0), EPERM);
                EXPECT(syscall(SYS_keyctl, 0, 0, 0, 0, 0), EPERM);
                /* allowed: unshare of non-namespace flags, plain fork */
                fails += unshare(CLONE_FILES) != 0;
                pid_t c = fork();
                if (c == 0)
                        _exit(7);
                int st;
                fails += c < 0 || waitpid(c, &st, 0) != c || WEXITSTATUS(st) != 7;
                _exit(fails);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_embedded_is_current),
            cmocka_unit_test(test_list_covers_the_issue),
            cmocka_unit_test(test_filter_behaves),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
