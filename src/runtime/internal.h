/* Internal interfaces of the runtime module (not for other modules). */
#pragma once

#include <linux/filter.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"
#include "runtime/sandbox.h"

/* --- cgroups (cgroup.c) -------------------------------------------------- */

enum cg_mode {
        CG_UNIFIED = 0, /* pure cgroup v2 (production) */
        CG_HYBRID,      /* v1 controllers + a controller-less v2 hierarchy */
};

enum cg_ctrl { CG_MEMORY = 0, CG_PIDS, CG_CPU, CG__N };
#define CG_WANT_ALL ((1u << CG__N) - 1)

#define CG_PATH_MAX 512 /* mount point + own cgroup + parent + name */

struct cg_layout {
        enum cg_mode mode;
        char unified_root[CG_PATH_MAX]; /* cgroup2 mount point */
        char unified_self[CG_PATH_MAX]; /* our own cgroup there ("0::" line) */
        /* each controller lives either in a v1 hierarchy (v1_root/v1_self:
         * its mount point and our cgroup in it) or in v2 */
        bool v1[CG__N];
        char v1_root[CG__N][CG_PATH_MAX];
        char v1_self[CG__N][CG_PATH_MAX];
};

/* Parse /proc/self/mountinfo and /proc/self/cgroup texts (pure; tested). */
int cg_layout_parse(const char *mountinfo, const char *self_cgroup, struct cg_layout *ret);
int cg_layout_detect(struct cg_layout *ret);

/* Directories of one cgroup (a parent or a sandbox) in every hierarchy:
 * [0] is the unified one, the rest v1 (deduplicated). */
#define CG_DIRS_MAX (1 + CG__N)
struct cg_dirs {
        size_t n;
        char path[CG_DIRS_MAX][CG_PATH_MAX];
        int ctrl_dir[CG__N]; /* index into path[] for each controller, -1 = none */
};

/* Resolve parent (absolute or relative to our own cgroup) plus an optional
 * child name into directories: the v2 one and the v1 ones of the
 * controllers in want (a mask of 1 << enum cg_ctrl). -ENAMETOOLONG, -EINVAL
 * for a bad parent. */
int cg_dirs_resolve(const struct cg_layout *l, const char *parent, const char *name, unsigned want,
                    struct cg_dirs *ret);
bool cg_parent_is_valid(const char *parent);

/* mkdir -p the parent everywhere and, on v2, enable memory/pids/cpu for its
 * children along the path. */
int cg_parent_prepare(const struct cg_layout *l, const char *parent, struct dbx_error *err);

struct cg_limits {
        uint64_t memory_max; /* 0 = none */
        uint32_t pids_max;   /* 0 = none */
        uint32_t cpu_weight; /* 1..10000 */
};

struct cg_sandbox {
        struct cg_dirs dirs;
        enum cg_mode mode;
        int unified_fd; /* for CLONE_INTO_CGROUP */
        int oom_fd;     /* memory.events / memory.oom_control, -1 if none */
};

/* Create the sandbox cgroup (removing a leftover of the same name first)
 * and apply the limits. It always exists in v2; on hybrid systems also in
 * the v1 hierarchy of each controller that has a limit to enforce (joining a
 * v1 cgroup costs an RCU grace period, several ms, so it is only paid when
 * it buys something). */
int cg_sandbox_create(const struct cg_layout *l, const char *parent, const char *name,
                      const struct cg_limits *lim, struct cg_sandbox *ret, struct dbx_error *err);
/* Hybrid: move pid into the v1 cgroups (v2 placement is CLONE_INTO_CGROUP). */
int cg_sandbox_attach_v1(const struct cg_sandbox *cg, pid_t pid);
/* SIGKILL every process in the cgroup (cgroup.kill, or one by one). */
int cg_kill_dir(const char *unified_dir);
/* Remove the cgroup everywhere; waits briefly for dying tasks. */
int cg_sandbox_destroy(struct cg_sandbox *cg);
void cg_sandbox_close(struct cg_sandbox *cg);
int cg_sandbox_stats(const struct cg_sandbox *cg, struct sandbox_stats *ret);
/* Kill and remove every child cgroup of parent (and parent itself). */
int cg_cleanup(const struct cg_layout *l, const char *parent, bool remove_parent);

/* Pure helpers (tested). */
uint64_t cg_parse_keyed(const char *text, const char *key, bool *found);
uint32_t cg_weight_to_shares(uint32_t weight);

/* --- seccomp (seccomp.c) ------------------------------------------------- */

/* Compile the filter with libseccomp and export it as BPF (build time, and
 * the unit test that checks the embedded copy). */
int sandbox_seccomp_compile(struct sock_fprog *ret);
void sandbox_seccomp_free(struct sock_fprog *prog);
/* The filter compiled at build time (seccomp-filter.h). */
const struct sock_fprog *sandbox_seccomp_filter(void);
/* The denied syscalls, for docs and tests. */
extern const char *const sandbox_seccomp_denied[];

/* --- spawning (spawn.c) -------------------------------------------------- */

struct spawn_result {
        pid_t pid;
        int pidfd;
        int sync_fd;                           /* lifeline: the sandbox dies if this closes early */
        int report_fd;                         /* read end of the report pipe */
        int log_fds[2 * SANDBOX_SERVICES_MAX]; /* read ends, log mode */
        size_t n_log_fds;
};

struct spawn_env {
        int pup_init_fd;
        const struct sock_fprog *seccomp;
        const struct cg_sandbox *cg;
        const struct sandbox_hooks *hooks;
};

int sandbox_spawn_process(const struct sandbox_spec *spec, const struct spawn_env *env,
                          struct spawn_result *ret, struct dbx_error *err);

/* The generated /etc files (pure; tested). Caller frees. */
char *sandbox_etc_passwd(void);
char *sandbox_etc_group(void);
char *sandbox_etc_hosts(const struct sandbox_spec *spec);

/* pup-init configuration blob (pure; tested). Caller frees. */
int sandbox_initconfig_build(const struct sandbox_spec *spec, char **ret, size_t *ret_len);

/* Locate and open pup-init (O_PATH). */
int sandbox_pup_init_open(const char *explicit_path, struct dbx_error *err);
