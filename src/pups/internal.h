/* Private to the pups module. */
#pragma once

#include <stdint.h>
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
void pup_stopped_continue(struct pup *pup);
