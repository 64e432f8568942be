/* The sandbox runtime: pups as namespaced processes supervised by the daemon.
 *
 * A sandbox is created from a plain-data struct sandbox_spec (owned strings,
 * no pointers into daemon state) so the API can later move behind a
 * privilege-separation boundary unchanged. Inside, pup-init (PID 1) runs the
 * services as uid 420 / gid 69 of a user namespace mapped onto a host uid
 * range of the pup's own, without capabilities, under seccomp, with cgroup
 * limits. docs/sandbox.md describes the security model as built.
 *
 * Everything here returns 0 (or a count) on success and a negative errno on
 * failure; nothing logs. Functions that take a struct dbx_error fill it with
 * a message for the owner when they fail. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "core/error.h"
#include "runtime/log.h"

/* --- identities ---------------------------------------------------------- */

#define SANDBOX_UID_INSIDE 420 /* the "pup" user, as upstream */
#define SANDBOX_GID_INSIDE 69  /* the "pup" group, as upstream */

/* Host uid/gid ranges. Range n maps ids 0..65535 inside onto
 * SANDBOX_UIDRANGE_BASE + n * SANDBOX_UIDRANGE_SIZE on the host. The base is
 * the start of the block systemd reserves for container ranges (UIDS-GIDS.md,
 * 0x00080000..0x6FFFFFFF), far from /etc/subuid and dynamic users. */
#define SANDBOX_UIDRANGE_BASE  0x80000u
#define SANDBOX_UIDRANGE_SIZE  0x10000u /* 65536 ids: a full 16-bit userland */
#define SANDBOX_UIDRANGE_SLOTS 4096u    /* ranges 0..4095, ends at 0x10080000 */
/* Range 0 belongs to `dogeboxd sandbox` (pup developers); the allocator
 * never hands it to a pup. */
#define SANDBOX_UIDRANGE_DEV_SLOT 0u

/* Pick the lowest free range for a new pup, given the bases already in use
 * (in any order; entries that are not valid bases are ignored). -ENOSPC when
 * every slot is taken. Pure: persistence belongs to the caller. */
int sandbox_uidrange_alloc(const uint32_t *used, size_t n_used, uint32_t *ret_base);
/* True if base is the start of a range a pup may own (never the dev slot). */
bool sandbox_uidrange_is_valid(uint32_t base);
/* The host uid a given inside uid maps to. */
static inline uint32_t sandbox_uidrange_host(uint32_t base, uint32_t inside)
{
        return base + inside;
}

/* --- the spec ------------------------------------------------------------ */

#define SANDBOX_SERVICES_MAX          32           /* services per pup; upstream pups have <= 4 */
#define SANDBOX_ARGS_MAX              256          /* argv entries per service */
#define SANDBOX_ENV_MAX               256          /* environment entries per service */
#define SANDBOX_STRING_MAX            4096         /* any single string (path, arg, env entry) */
#define SANDBOX_NAME_MAX              64           /* service names, pup ids */
#define SANDBOX_BINDS_MAX             64           /* base bind mounts */
#define SANDBOX_HOSTS_LINES_MAX       64           /* extra /etc/hosts lines */
#define SANDBOX_HOSTS_LINE_MAX        255          /* one /etc/hosts line */
#define SANDBOX_RESOLV_MAX            4096         /* resolv.conf content */
#define SANDBOX_HOSTNAME_MAX          63           /* one DNS label */
#define SANDBOX_MEMORY_MIN            (8ull << 20) /* below this nothing useful starts */
#define SANDBOX_PIDS_MAX_LIMIT        4194304u     /* kernel's PID_MAX_LIMIT */
#define SANDBOX_CPU_WEIGHT_MIN        1
#define SANDBOX_CPU_WEIGHT_MAX        10000
#define SANDBOX_CPU_WEIGHT_DEFAULT    100
#define SANDBOX_GRACE_DEFAULT_MS      10000u  /* SIGTERM -> SIGKILL */
#define SANDBOX_GRACE_MAX_MS          600000u /* nobody needs ten minutes to exit */
#define SANDBOX_BACKOFF_INITIAL_MS    500u    /* first restart delay */
#define SANDBOX_BACKOFF_MAX_MS        60000u  /* restart delays never exceed this */
#define SANDBOX_BACKOFF_STABLE_MS     30000u  /* a run this long resets the crash count */
#define SANDBOX_BACKOFF_FAILING_AFTER 5u      /* consecutive quick exits -> "failing" */

enum sandbox_restart {
        SANDBOX_RESTART_ALWAYS = 0, /* upstream's Restart=always */
        SANDBOX_RESTART_ON_FAILURE,
        SANDBOX_RESTART_NEVER,
};

enum sandbox_stdio {
        SANDBOX_STDIO_LOG = 0, /* stdout/stderr -> daemon log, stdin /dev/null */
        SANDBOX_STDIO_INHERIT, /* the caller's 0/1/2 (dogeboxd sandbox only) */
};

struct sandbox_service {
        char *name;  /* [A-Za-z0-9._-], at most SANDBOX_NAME_MAX */
        char *exec;  /* absolute path inside the sandbox */
        char **args; /* argv[1...], NULL-terminated; NULL = none */
        char *cwd;   /* absolute path inside; NULL = "/" */
        char **env;  /* "KEY=VALUE", NULL-terminated; PATH, HOME, USER added if absent */
        enum sandbox_restart restart;
};

/* One host path made visible inside. A host symlink is recreated as the same
 * symlink (Debian's /bin -> usr/bin) instead of being bound. */
struct sandbox_bind {
        char *src;     /* absolute host path */
        char *dst;     /* absolute path inside */
        bool rw;       /* default read-only */
        bool optional; /* skip when src does not exist */
};

struct sandbox_backoff {
        uint32_t initial_ms;    /* delay after the first quick exit */
        uint32_t max_ms;        /* cap of the doubling delay */
        uint32_t stable_ms;     /* a run at least this long resets the count */
        uint32_t failing_after; /* consecutive quick exits before "failing" */
};

struct sandbox_spec {
        char *pup_id;      /* [a-z0-9-]; names the cgroup "pup-<id>" */
        char *pup_dir;     /* host dir -> /pup (ro); NULL = empty /pup */
        char *storage_dir; /* host dir -> /storage (rw); NULL = tmpfs, lost at stop */
        char *log_dir;     /* host dir for <pup_id>.log*; NULL = in-memory tail only */
        uint32_t uid_base; /* start of the host range (sandbox_uidrange_alloc) */

        struct sandbox_service *services;
        size_t n_services;

        uint64_t memory_max; /* bytes; 0 = no limit */
        uint32_t pids_max;   /* 0 = no limit */
        uint32_t cpu_weight; /* 1..10000 like cgroup v2 cpu.weight */

        struct sandbox_bind *binds; /* the read-only base system */
        size_t n_binds;

        char *hostname;     /* NULL = "pup" */
        char **hosts_extra; /* extra /etc/hosts lines, NULL-terminated */
        char *resolv_conf;  /* /etc/resolv.conf content; NULL = empty file */

        uint32_t stop_grace_ms;
        struct sandbox_backoff backoff;
        enum sandbox_stdio stdio;
};

/* Fill spec with defaults (grace, backoff, cpu weight, the Debian base
 * binds). Everything else is zero/NULL. */
void sandbox_spec_init(struct sandbox_spec *spec);
/* Free every owned member and zero the struct. Accepts a zeroed spec. */
void sandbox_spec_done(struct sandbox_spec *spec);
/* Deep copy. */
void sandbox_spec_copy(const struct sandbox_spec *src, struct sandbox_spec *ret);
/* Add a service (deep copies; args/env may be NULL). Returns the index or
 * -E2BIG past SANDBOX_SERVICES_MAX. */
int sandbox_spec_add_service(struct sandbox_spec *spec, const char *name, const char *exec,
                             char *const *args, const char *cwd, char *const *env,
                             enum sandbox_restart restart);
/* Check every field; fills err with "services[1].exec: ..." on the first
 * problem. sandbox_spawn() validates again. */
int sandbox_spec_validate(const struct sandbox_spec *spec, struct dbx_error *err);

/* The default read-only base for a Debian userland. */
extern const struct sandbox_bind sandbox_default_binds[];
extern const size_t sandbox_default_binds_count;

/* Create dir (mode 0750) if missing and give it to the sandbox's pup user
 * (host uid_base+420, gid uid_base+69). Only the directory itself is
 * chowned, never its contents. */
int sandbox_storage_prepare(const char *dir, uint32_t uid_base);

/* --- supervision --------------------------------------------------------- */

/* The cgroup every sandbox lives under: "pup-<id>" below it. An absolute
 * value ("/dogeboxd-pups") is relative to each hierarchy's root; a relative
 * one ("pups") is relative to the calling process's own cgroup (a delegated
 * subtree). docs/sandbox.md has the details. */
#define SANDBOX_CGROUP_PARENT_DEFAULT "/dogeboxd-pups"
#define SANDBOX_CGROUP_PARENT_MAX     256

/* Where pup-init is looked for when neither the config nor $DBX_PUP_INIT
 * names it: the installed path, then the build tree. */
#define SANDBOX_PUP_INIT_ENV "DBX_PUP_INIT"

struct sandbox_supervisor_config {
        const char *cgroup_parent;            /* NULL = SANDBOX_CGROUP_PARENT_DEFAULT */
        const char *pup_init_path;            /* NULL = $DBX_PUP_INIT, then built-in */
        struct runtime_log_limits log_limits; /* zeros = defaults */
};

struct sandbox_supervisor;
struct sandbox;

/* One per daemon. Opens pup-init, compiles the seccomp filter, detects the
 * cgroup layout (v2, or v1+v2 hybrid) and creates the cgroup parent. The
 * loop must be driven by the thread that calls sandbox_spawn(): sandboxes
 * receive SIGKILL when that thread exits (parent-death signal). */
int sandbox_supervisor_new(sd_event *event, const struct sandbox_supervisor_config *cfg,
                           struct dbx_error *err, struct sandbox_supervisor **ret);
/* SIGKILL every sandbox still running, wait for it, remove its cgroup and
 * free. Sandbox objects must have been freed already or are freed here. */
struct sandbox_supervisor *sandbox_supervisor_free(struct sandbox_supervisor *s);

enum sandbox_event_type {
        SANDBOX_EVENT_READY = 0,           /* pup-init runs; the sandbox is set up */
        SANDBOX_EVENT_SERVICE_STARTED,     /* service, pid */
        SANDBOX_EVENT_SERVICE_EXITED,      /* service, pid, exit_code|signal, oom, restart_in_ms */
        SANDBOX_EVENT_SERVICE_FAILING,     /* service, crashes: crash loop detected */
        SANDBOX_EVENT_SERVICE_EXEC_FAILED, /* service, error: could not exec/chdir */
        SANDBOX_EVENT_OOM,                 /* oom_kills: the memory limit killed something */
        SANDBOX_EVENT_STOPPING,            /* stop requested; services got SIGTERM */
        SANDBOX_EVENT_STOPPED,             /* final: nothing of the sandbox remains */
};

enum sandbox_stop_reason {
        SANDBOX_STOPPED_REQUESTED = 0, /* sandbox_stop() */
        SANDBOX_STOPPED_KILLED,        /* sandbox_kill(), or the grace period ran out */
        SANDBOX_STOPPED_EXITED,        /* every service ended and none restarts */
        SANDBOX_STOPPED_SETUP_FAILED,  /* message says which step */
        SANDBOX_STOPPED_INIT_DIED,     /* pup-init died unexpectedly */
};

struct sandbox_event {
        enum sandbox_event_type type;
        const char *service;             /* SERVICE_* events */
        int pid;                         /* pid inside the sandbox */
        int exit_code;                   /* SERVICE_EXITED: -1 when killed by a signal */
        int signal;                      /* SERVICE_EXITED: 0 when it exited */
        bool oom;                        /* SERVICE_EXITED: killed by the memory limit */
        int64_t restart_in_ms;           /* SERVICE_EXITED: -1 = will not be restarted */
        uint32_t crashes;                /* consecutive quick exits so far */
        uint64_t runtime_ms;             /* SERVICE_EXITED: how long it ran */
        uint64_t oom_kills;              /* OOM: total kills in this sandbox */
        int error;                       /* EXEC_FAILED / STOPPED(setup): negative errno */
        enum sandbox_stop_reason reason; /* STOPPED */
        int status;                      /* STOPPED: pup-init's exit status (last service's) */
        const char *message;             /* STOPPED(setup failed): what failed */
};

/* Called from the event loop. Freeing the sandbox is allowed only from the
 * STOPPED event (the last one) or later. */
typedef void (*sandbox_event_fn)(struct sandbox *sb, const struct sandbox_event *ev,
                                 void *userdata);

/* Called after the namespaces exist and before anything runs in them, so the
 * net module can move a veth into the network namespace (setns(pidfd,
 * CLONE_NEWNET) or /proc/<pid>/ns/net). Until then the netns has only lo. */
struct sandbox_hooks {
        int (*net_setup)(pid_t pid, int pidfd, void *userdata);
        void *userdata;
};

/* Validate spec, create the cgroups, clone into new namespaces, map ids, run
 * the hook and let the sandbox build its root and exec pup-init. Returns once
 * the sandbox process exists; READY (or STOPPED with a setup error) follows
 * on the loop. spec is copied; hooks may be NULL. */
int sandbox_spawn(struct sandbox_supervisor *s, const struct sandbox_spec *spec,
                  const struct sandbox_hooks *hooks, sandbox_event_fn on_event, void *userdata,
                  struct dbx_error *err, struct sandbox **ret);

/* SIGTERM to every service, SIGKILL after the spec's grace period, then
 * whatever remains in the cgroup. Asynchronous: STOPPED follows. */
int sandbox_stop(struct sandbox *sb);
/* SIGKILL now. Asynchronous: STOPPED follows. */
int sandbox_kill(struct sandbox *sb);

struct sandbox_stats {
        uint64_t cpu_usec;     /* CPU time used by the whole sandbox */
        uint64_t memory_bytes; /* current memory use, page cache included */
        uint64_t pids;         /* tasks in the sandbox */
        uint64_t oom_kills;
};
int sandbox_stats(struct sandbox *sb, struct sandbox_stats *ret);

bool sandbox_is_running(const struct sandbox *sb);
pid_t sandbox_pid(const struct sandbox *sb); /* host pid of pup-init, 0 after stop */
const char *sandbox_id(const struct sandbox *sb);
/* The cgroup v2 (unified) directory of the sandbox, for diagnostics. */
const char *sandbox_cgroup_dir(const struct sandbox *sb);
/* The pup's log: captured service output and supervisor events. Valid until
 * sandbox_free(). */
struct runtime_log *sandbox_log(struct sandbox *sb);

/* Free a sandbox; a running one is SIGKILLed and reaped first (blocking
 * briefly). Returns NULL. */
struct sandbox *sandbox_free(struct sandbox *sb);

/* Remove what a previous daemon run left under cgroup_parent (NULL =
 * default): kill every process in each "pup-*" or other child cgroup, then
 * remove the cgroups in every hierarchy. Mounts and namespaces need no
 * cleanup: they never exist outside a sandbox's own namespaces. Returns the
 * number of cgroups removed. With remove_parent the parent goes too. */
int sandbox_cleanup_leftovers(const char *cgroup_parent, bool remove_parent);

/* --- standalone ---------------------------------------------------------- */

/* `dogeboxd sandbox [--pup DIR] [--storage DIR] [--memory BYTES] [--pids N]
 *  [--cpu-weight N] [--cgroup-parent P] -- COMMAND [ARGS...]`
 * argv[0] is "sandbox" (or the program name). Returns the exit status. */
int sandbox_cli_main(int argc, char **argv);
