/* Private to the pups module. */
#pragma once

#include <stdint.h>
#include <string.h>
#include "core/macro.h"
#include "manifest/manifest.h"
#include "pups/pups.h"

struct sandbox;
struct job;
struct op;

enum pup_status {
        PUP_STOPPED = 0,
        PUP_STARTING,
        PUP_RUNNING,
        PUP_STOPPING,
};

struct ring {
        double v[PUPS_STATS_HISTORY];
        unsigned n, head; /* head: next write position */
};

struct pup {
        struct pup *next;
        struct pups *pups;
        char id[33];
        char *name, *version, *source_id;
        json_t *source;      /* {"id","name","description","location","type"} */
        char *manifest_text; /* as installed; the truth for restarts */
        struct manifest *manifest;
        json_t *config;    /* {field: string} */
        json_t *providers; /* {interface: pupId} */
        json_t *web_uis;   /* [{"name","port"}] */
        bool config_saved, enabled;
        char installation[16];
        char *broken_reason;
        char ip[16];
        uint32_t uid_base;
        int64_t key_index;
        int64_t created_ms;

        /* runtime, not persisted */
        struct sandbox *sb;
        enum pup_status status;
        bool want_running; /* the current sandbox should be restarted when it stops */
        unsigned restarts;
        char last_exit[640];  /* fits a dbx_error message */
        struct job *wait_job; /* a job waiting for this pup to run or stop */
        struct op *stop_cont; /* an action to continue once the sandbox is down */
        int busy;             /* jobs queued or running on this pup */
        uint64_t last_cpu_usec, last_sample_usec;
        struct ring cpu, mem;
        unsigned long long disk_bytes;
        uint64_t disk_sampled_usec;
        char *logo_data_url; /* cached assets entry */
        char *log_path;      /* DATA/logs/<id>.log, computed on first use */

        /* DRE (net.c, deps.c, metrics.c) */
        json_t *grants;   /* {interface: [group]} granted at install (settings dre.pup.<id>) */
        json_t *services; /* {interface: service address} of what it provides (same key) */
        struct pup_metric_ring *metrics; /* one per manifest metric, on first push */
        size_t n_metrics, metrics_bytes;
        bool deps_wait;     /* a start waits for its providers to run */
        bool deps_visiting; /* cycle guard while starting providers first */
};

struct pups {
        struct pups_config cfg;
        char *data_dir;
        struct pup *list;
        size_t n;
        sd_event_source *stats_timer;
        /* daemon shutdown */
        bool shutting_down;
        void (*shutdown_done)(void *ud);
        void *shutdown_ud;
        sd_event_source *shutdown_timer;
        struct pups_net *net; /* DRE networking (net.c) */
};

/* run.c: the shutdown completes when this finds nothing running */
void pups_shutdown_check(struct pups *p);

/* pups.c */
int pup_persist(struct pups *p, struct pup *pup);
void pup_emit_state(struct pups *p, struct pup *pup);
void pup_set_installation(struct pups *p, struct pup *pup, const char *state, const char *broken);
struct pup *pup_new(struct pups *p);
void pup_unlink_free(struct pups *p, struct pup *pup);
char *pup_path(struct pups *p, const char *kind, const char *id); /* DATA/<kind>/<id> */
bool pup_needs_conf(struct pup *pup);
bool pup_needs_deps(struct pup *pup);

/* run.c */
int pup_start(struct pups *p, struct pup *pup, struct dbx_error *err);
int pup_stop(struct pups *p, struct pup *pup);
bool pup_can_start(struct pup *pup, struct dbx_error *err);
const char *pup_status_name(enum pup_status s);
void pups_stats_sample(struct pups *p);
int pup_write_config_env(struct pups *p, struct pup *pup, struct dbx_error *err);

/* lifecycle.c */
#include "jobs/jobs.h"
int pup_job_submit(struct pups *p, struct pup *pup, const char *action, const char *display,
                   job_run_fn run, void *op, void (*op_free_fn)(void *), char ret_job[33],
                   struct dbx_error *err);
void pup_stopped_continue(struct pup *pup);

/* ---- DRE (net.c, deps.c, metrics.c) ---- */

/* Allocations freed together (one world rendering). */
struct pups_arena {
        void **p;
        size_t n, cap;
};
static inline void *pups_arena_calloc(struct pups_arena *a, size_t n, size_t size)
{
        if (a->n == a->cap) {
                a->cap = a->cap ? 2 * a->cap : 64;
                a->p = xrealloc(a->p, a->cap * sizeof(void *));
        }
        return a->p[a->n++] = xcalloc(n + 1, size);
}
static inline char *pups_arena_strdup(struct pups_arena *a, const char *s)
{
        char *d = pups_arena_calloc(a, strlen(s), 1);
        memcpy(d, s, strlen(s));
        return d;
}
static inline void pups_arena_free(struct pups_arena *a)
{
        for (size_t i = 0; i < a->n; i++)
                free(a->p[i]);
        free(a->p);
        *a = (struct pups_arena){0};
}

/* net.c */
int pup_net_adopt(struct pups *p, struct pup *pup, struct dbx_error *err);
int pup_net_preflight(struct pups *p, const struct manifest *m, struct dbx_error *err);
struct sandbox_spec;
int pup_net_spec(struct pups *p, struct pup *pup, struct sandbox_spec *spec, struct dbx_error *err);
const struct sandbox_hooks *pup_net_hooks(struct pups *p, struct pup *pup);
void pup_net_refresh(struct pups *p);
void pup_net_release(struct pups *p, struct pup *pup);
int pup_dre_save(struct pups *p, struct pup *pup);
void pup_dre_load(struct pups *p, struct pup *pup);
void pup_dre_forget(struct pups *p, struct pup *pup);
void pup_dre_free(struct pup *pup);

/* deps.c */
void pup_deps_record_grants(struct pups *p, struct pup *pup);
void pup_deps_installed(struct pups *p, struct pup *pup);
/* 0: start now; 1: deferred until the providers run; <0: cannot start */
int pup_deps_before_start(struct pups *p, struct pup *pup, struct dbx_error *err);
void pup_deps_status_changed(struct pups *p, struct pup *pup);
void pup_deps_cancel_wait(struct pup *pup);
int pup_deps_check_remove(struct pups *p, struct pup *pup, const char *action,
                          struct dbx_error *err);
void pup_deps_removed(struct pups *p, struct pup *pup);
/* PupStats issues.depsNotRunning: interfaces whose chosen provider does not run, or null */
json_t *pup_deps_not_running_json(struct pups *p, struct pup *pup);

/* metrics.c */
json_t *pup_metric_values_json(struct pup *pup, size_t i);
void pup_metrics_free(struct pup *pup);
