/* The seccomp filter compiled at build time (see seccomp.c). */
#include "runtime/internal.h"
#include "seccomp-filter.h"

const struct sock_fprog *sandbox_seccomp_filter(void)
{
        static const struct sock_fprog prog = {
            .len = SANDBOX_SECCOMP_BPF_LEN,
            .filter = (struct sock_filter *)sandbox_seccomp_bpf,
        };
        return &prog;
}
