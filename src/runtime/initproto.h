/* The contract between the daemon and pup-init (docs/sandbox.md, "pup-init
 * protocol"). Shared by both sides; no dependencies.
 *
 * File descriptors pup-init starts with:
 *   0,1,2   /dev/null (or the caller's terminal with SANDBOX_STDIO_INHERIT)
 *   3       the configuration: a sealed memfd, read once
 *   4       the report pipe: pup-init -> daemon, one JSON object per line
 *   5       the cgroup's OOM counter file (memory.events or
 *           memory.oom_control), read-only; may be /dev/null
 *   6+2i    service i's stdout pipe (write end), log mode only
 *   7+2i    service i's stderr pipe
 *
 * Configuration: a sequence of NUL-terminated fields
 *   "pup-init/1" grace_ms backoff_initial_ms backoff_max_ms backoff_stable_ms
 *   backoff_failing_after inherit_stdio n_services
 * then per service
 *   name exec cwd restart(0 always|1 on-failure|2 never) argc argv[0..argc)
 *   envc env[0..envc)
 * Numbers are decimal. Everything is bounded by the limits below.
 *
 * Reports (pup-init -> daemon), each line < PIPE_BUF so writes are atomic:
 *   {"ev":"ready","services":N}
 *   {"ev":"start","svc":S,"pid":P}
 *   {"ev":"exit","svc":S,"pid":P,"code":C,"sig":G,"oom":B,"runtime_ms":R,
 *    "crashes":K,"restart_ms":D}              D = -1: not restarted
 *   {"ev":"failing","svc":S,"crashes":K}
 *   {"ev":"exec-error","svc":S,"errno":E}    chdir/exec failed (errno > 0)
 *   {"ev":"oom","kills":N}                   the cgroup's OOM kill counter grew
 *   {"ev":"stopping","grace_ms":G}
 *   {"ev":"stopped","status":X}              just before pup-init exits with X
 * and, from the sandbox setup before pup-init runs:
 *   {"ev":"setup-error","step":T,"errno":E}
 * Service names are [A-Za-z0-9._-] so no JSON escaping is ever needed. */
#pragma once

#define PUPINIT_MAGIC "pup-init/1"

#define PUPINIT_FD_CONFIG    3
#define PUPINIT_FD_REPORT    4
#define PUPINIT_FD_OOM       5
#define PUPINIT_FD_FIRST_LOG 6

#define PUPINIT_CONFIG_MAX   (512u << 10) /* whole configuration */
#define PUPINIT_SERVICES_MAX 32           /* = SANDBOX_SERVICES_MAX */
#define PUPINIT_PTRS_MAX     16448        /* 32 services x (256 args + 256 env + 2 NULLs) */
#define PUPINIT_REPORT_MAX   512          /* one report line, < PIPE_BUF */

/* Exit status pup-init uses when it cannot start at all. */
#define PUPINIT_EXIT_CONFIG 125
/* Exit status of the sandbox setup when a step failed (setup-error sent). */
#define PUPINIT_EXIT_SETUP 126
