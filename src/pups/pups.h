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
struct auth;

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
        struct auth *auth;              /* may be NULL: no delegate keys */
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
