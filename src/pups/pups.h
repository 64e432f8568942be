/* The pup lifecycle: the only module that knows the whole of it. It owns
 * the in-memory pup states (persisted through store_pups), turns owner
 * requests into jobs, and runs each job's steps: fetch from a source,
 * prepare storage, write config, start and stop sandboxes, uninstall and
 * purge. Every transition is committed to SQLite before the next step, so
 * a crash at any point is reconciled at the next start (pups_reconcile).
 *
 * Runs on the loop thread only; blocking steps go to the worker pool. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <systemd/sd-event.h>
#include "core/error.h"

#define PUPS_MAX              256  /* installed pups; the uid ranges and addresses allow more */
#define PUPS_STATS_HISTORY    30   /* samples kept per system metric, as upstream */
#define PUPS_STATS_INTERVAL_S 5    /* stats sample + `stats` broadcast period */
#define PUPS_DISK_INTERVAL_S  60   /* storage disk usage is walked at most this often */
#define PUPS_LOG_TAIL_MAX     1000 /* lines returned by the tail route */
#define PUPS_DISK_RESERVE     (64ULL << 20) /* refuse installs that leave less free */

struct store;
struct workpool;
struct jobs;
struct sources;
struct sandbox_supervisor;

/* The API's broadcast: type/id/update as in upstream's Change envelope. */
typedef void (*pups_emit_fn)(void *ud, const char *type, const char *id, json_t *update,
                             const char *error);
/* Live log lines for /ws/log/pup/{id}. */
typedef void (*pups_log_fn)(void *ud, const char *pup_id, const char *line, size_t len);

struct pups_config {
        sd_event *event;
        struct store *store;
        struct workpool *pool;
        struct jobs *jobs;
        struct sources *sources;
        /* Write the pup's delegate keys into its storage (the auth module's
         * job); -EAGAIN: not yet, the owner has no master key (they are
         * written when setup completes). NULL: pups get no keys. */
        int (*write_keys)(void *ud, const char *pup_id, const char *storage_dir, uid_t uid,
                          gid_t gid, struct dbx_error *err);
        struct sandbox_supervisor *sup; /* may be NULL: pups cannot start */
        const char *data_dir;
        pups_emit_fn emit;
        pups_log_fn log_line;
        void *ud;
};

struct pups;
struct pup;

int pups_new(const struct pups_config *cfg, struct pups **ret, struct dbx_error *err);
struct pups *pups_free(struct pups *p);

/* At daemon start: finish or roll back interrupted transitions and start
 * the pups that should run. */
int pups_reconcile(struct pups *p);

#define PUPS_SHUTDOWN_GRACE_MS 3000 /* SIGTERM → SIGKILL when the daemon stops */
/* The daemon is stopping: stop every sandbox (SIGTERM, then SIGKILL after
 * PUPS_SHUTDOWN_GRACE_MS) without changing what should run at the next
 * start; done(ud) is called once, on the loop, when all are down. */
void pups_shutdown(struct pups *p, void (*done)(void *ud), void *ud);

size_t pups_count(struct pups *p);
/* What keeps pup networking from being as configured (the bridge is
 * missing, the firewall or the proxy kept an older configuration), for
 * the owner; NULL when all is well or networking is off. */
const char *pups_network_problem(struct pups *p);
/* Every installed pup, in creation order: id, its storage dir and the
 * host uid/gid of its service user. Stops at fn's first negative return. */
int pups_foreach(struct pups *p,
                 int (*fn)(void *ud, const char *id, const char *storage, uid_t uid, gid_t gid),
                 void *ud);
struct pup *pups_find(struct pups *p, const char *id_or_name);

/* JSON for the API (upstream shapes, reference/upstream-api.md §6). */
json_t *pups_state_json(struct pups *p, struct pup *pup); /* PupState */
json_t *pups_states_json(struct pups *p);                 /* {id: PupState} */
json_t *pups_stats_json(struct pups *p, struct pup *pup); /* PupStats */
json_t *pups_all_stats_json(struct pups *p);              /* {id: PupStats} */
json_t *pups_assets_json(struct pups *p);                 /* {id: {logos: {...}}} */
json_t *pups_metrics_json(struct pups *p, struct pup *pup);

/* Requests. Each returns 0 and the job id, or a negative errno with err
 * saying what is wrong (-ENOENT unknown pup or pup version, -EINVAL bad
 * request, -EEXIST already installed, -EAGAIN too many jobs). */
struct pups_install_req {
        const char *source_id, *pup_name, *pup_version;
        bool auto_install_dependencies;
};
int pups_install(struct pups *p, const struct pups_install_req *req, char ret_job[33],
                 struct dbx_error *err);
/* enable, disable, start, stop, restart, uninstall, purge, retry */
int pups_action(struct pups *p, const char *id, const char *action, char ret_job[33],
                struct dbx_error *err);
/* Validate (every field error in errs, nothing changed) then save and
 * apply as a job. */
int pups_configure(struct pups *p, const char *id, const json_t *values, char ret_job[33],
                   struct dbx_errors *errs, struct dbx_error *err);

/* Logs of a pup: the last lines (oldest first) as a JSON array of strings,
 * and the log file path for downloads (NULL when none). */
json_t *pups_log_tail(struct pups *p, struct pup *pup, size_t max);
const char *pups_log_path(struct pups *p, struct pup *pup);
const char *pup_id(const struct pup *pup);

/* ---- DRE: networking, dependencies, pup gateway (net.c, deps.c,
 * metrics.c; docs/networking.md, docs/api.md) ---- */

#define PUPS_GATEWAY_PORT_DEFAULT 80         /* DBX_PORT on the gateway address, as upstream */
#define PUPS_DRE_SETTING_PREFIX   "dre.pup." /* settings key per pup: grants, service addresses */
#define PUPS_METRIC_STRING_MAX    256        /* bytes of one string metric value */
#define PUPS_METRICS_PUSH_MAX     256        /* metrics named in one push */
#define PUPS_METRICS_BYTES_MAX    (1 << 20)  /* string bytes one pup's rings may hold */

struct pups_dre_config {
        bool network;            /* false (--no-network): pups get loopback only */
        const char *bridge;      /* NULL: NET_DEFAULT_BRIDGE; the nft table derives from it */
        const char *bridge_cidr; /* NULL: NET_DEFAULT_CIDR (gateway address/prefix) */
        const char *const *listen_addrs; /* the API's ADDR:PORT values: web UIs listen there */
        size_t n_listen_addrs;
        uint16_t gateway_port; /* 0: PUPS_GATEWAY_PORT_DEFAULT */
        const char *nginx_bin; /* NULL: DRE_NGINX_BIN_DEFAULT */
        /* Called once, when the bridge first exists: "10.69.0.1:80", where
         * the pup gateway API can listen now. */
        void (*on_up)(void *userdata, const char *gateway_addr_port);
        void *userdata;
};

/* Once, after pups_new(): load grants and check the configuration (a bad
 * bridge name or CIDR is an error). Nothing on the host changes here. */
int pups_dre_setup(struct pups *p, const struct pups_dre_config *c, struct dbx_error *err);
/* Before pups_reconcile(), once the daemon listens: when pups are
 * installed, bring up the bridge, addresses, firewall and nginx (otherwise
 * the first install does). A bridge that cannot be created is logged and
 * retried at the next change; pups cannot start until then. */
void pups_dre_start(struct pups *p);
void pups_dre_free(struct pups *p);
/* The installed pup with this address (the gateway's caller). */
struct pup *pups_find_by_ip(struct pups *p, const char *ip);
/* POST /dbx/metrics from pup: every named metric checked against the
 * manifest (type, size) and stored in its ring, all or nothing. *ret:
 * {"stored": n, "ignored": [undeclared names]}. errs: every problem. */
int pups_metrics_push(struct pups *p, struct pup *pup, const json_t *body, json_t **ret,
                      struct dbx_errors *errs);

/* GET /providers/{id} and GET /missing-deps/{id}: PupDependencyReport[]. */
json_t *pups_providers_json(struct pups *p, struct pup *pup, bool missing_only);
/* POST /providers/{id}: {interface: providerId or ""}; each checked (the
 * provider is installed, ready, provides the interface at an accepted
 * version) before anything changes, then applied as a job. */
int pups_set_providers(struct pups *p, const char *id, const json_t *body, char ret_job[33],
                       struct dbx_error *err);
/* The auto-install plan for req (nothing is installed): docs/api.md. */
int pups_install_plan(struct pups *p, const struct pups_install_req *req, json_t **ret,
                      struct dbx_error *err);
/* PUT /pup with autoInstallDependencies: queue the plan's providers, then
 * the pup; *ret_plan is the plan with each step's jobId. */
int pups_install_auto(struct pups *p, const struct pups_install_req *req, char ret_job[33],
                      json_t **ret_plan, struct dbx_error *err);
/* pups_action with flags: PUPS_ACTION_FORCE lets uninstall/purge remove a
 * provider other pups use (they then need another provider). */
#define PUPS_ACTION_FORCE (1u << 0)
int pups_action_flags(struct pups *p, const char *id, const char *action, unsigned flags,
                      char ret_job[33], struct dbx_error *err);
