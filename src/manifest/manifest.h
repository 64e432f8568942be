/* Pup manifests (manifest.json, upstream format v1 plus our native-pup
 * extension) and source descriptors (dogebox.json): parsing, validation
 * into typed structs, the upstream JSON shape for API responses, and the
 * config-value rules used by POST /config. Pure: no I/O, no logging.
 *
 * docs/pup-format.md is the reference for every field and rule here.
 *
 * Errors and warnings are collected, never only the first: each names the
 * JSON path, what was found and what is expected, e.g.
 *   container.exposes[2].port: 70000 is not a port (1-65535)
 * Unknown keys never reach the structs; they become warnings. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/error.h"
#include "core/jdoc.h"
#include "core/jbuf.h"
#include "semver/semver.h"

/* ---- limits (docs/pup-format.md, "Limits") ---- */
#define MANIFEST_SIZE_MAX              (256 * 1024) /* real manifests are < 5 KiB */
#define MANIFEST_DEPTH_MAX             32           /* JSON nesting; the schema needs 6 */
#define MANIFEST_SERVICES_MAX          64           /* processes in one sandbox */
#define MANIFEST_EXPOSES_MAX           64           /* ports one pup may expose */
#define MANIFEST_INTERFACES_MAX        64           /* interfaces one pup provides */
#define MANIFEST_DEPENDENCIES_MAX      64           /* interfaces one pup consumes */
#define MANIFEST_CONFIG_FIELDS_MAX     256          /* all sections together */
#define MANIFEST_SECTIONS_MAX          64           /* config form sections */
#define MANIFEST_METRICS_MAX           64           /* custom metrics */
#define MANIFEST_METRIC_HISTORY_MIN    1    /* a ring buffer holds at least the last value */
#define MANIFEST_METRIC_HISTORY_MAX    1000 /* values kept per metric in memory */
#define MANIFEST_PERMISSION_GROUPS_MAX 32   /* per interface */
#define MANIFEST_ROUTES_MAX            64   /* per permission group */
#define MANIFEST_LIST_MAX              64 /* other string lists: expose interfaces, requested groups */
#define MANIFEST_OPTIONS_MAX           256   /* choices of one select/radio field */
#define MANIFEST_ENV_MAX               128   /* env entries of one service */
#define MANIFEST_ARGS_MAX              64    /* arguments of one service */
#define MANIFEST_UPSTREAM_VERSIONS_MAX 32    /* meta.upstreamVersions entries */
#define MANIFEST_NAME_MAX              64    /* names: services, fields, interfaces, metrics, ... */
#define MANIFEST_LABEL_MAX             128   /* one-line human text: labels, meta.name */
#define MANIFEST_SHORT_TEXT_MAX        256   /* shortDescription, placeholder */
#define MANIFEST_TEXT_MAX              16384 /* multi-line human text: longDescription, help */
#define MANIFEST_PATH_MAX              1024  /* exec, cwd, logoPath, nixFile */
#define MANIFEST_ROUTE_MAX             256   /* one HTTP route pattern */
#define MANIFEST_VALUE_MAX             4096  /* env values, args, one-line config values */
#define MANIFEST_PORT_MIN              1
#define MANIFEST_PORT_MAX              65535
#define MANIFEST_SEVERITY_MIN          1 /* 1 critical, 2 makes changes, 3 read-only */
#define MANIFEST_SEVERITY_MAX          3
#define MANIFEST_MEMORY_MIN            (16ULL << 20) /* below this nothing useful starts */
#define MANIFEST_MEMORY_MAX            (64ULL << 30) /* a Dogebox has far less RAM */
#define MANIFEST_PIDS_MIN              8             /* pup-init, a service and a shell */
#define MANIFEST_PIDS_MAX              32768         /* the kernel's default pid_max */
#define MANIFEST_CPU_WEIGHT_MIN        1             /* cgroup v2 cpu.weight range */
#define MANIFEST_CPU_WEIGHT_MAX        10000
#define MANIFEST_SOURCE_SIZE_MAX       (256 * 1024) /* dogebox.json */
#define MANIFEST_SOURCE_PUPS_MAX       1024         /* pups listed in one dogebox.json */
#define MANIFEST_SOURCE_ID_MAX         128

/* The one manifest version that exists. */
#define MANIFEST_VERSION 1

/* ---- the typed manifest; every string and array is owned by it ---- */

struct manifest_kv {
        const char *key, *value;
};

struct manifest_meta {
        const char *name;    /* display name and identity key with version */
        const char *version; /* as written; always strict semver */
        struct semver semver;
        const char *logo_path;         /* "" when absent */
        const char *short_description; /* "" when absent */
        const char *long_description;  /* "" when absent */
        const struct manifest_kv *upstream_versions;
        size_t n_upstream_versions;
};

enum manifest_field_type {
        MANIFEST_FIELD_TEXT,
        MANIFEST_FIELD_PASSWORD,
        MANIFEST_FIELD_NUMBER,
        MANIFEST_FIELD_TOGGLE,
        MANIFEST_FIELD_EMAIL,
        MANIFEST_FIELD_TEXTAREA,
        MANIFEST_FIELD_SELECT,
        MANIFEST_FIELD_CHECKBOX,
        MANIFEST_FIELD_RADIO,
        MANIFEST_FIELD_DATE,
        MANIFEST_FIELD_RANGE,
        MANIFEST_FIELD_COLOR,
        _MANIFEST_FIELD_TYPE_MAX,
};

struct manifest_option {
        const char *label, *value;
};

struct manifest_field {
        const char *name; /* also the environment variable name */
        const char *label;
        enum manifest_field_type type;
        bool required;
        const char *placeholder;   /* NULL when absent */
        const char *help;          /* NULL when absent */
        json_t *default_json;      /* the default as written, NULL when absent */
        const char *default_value; /* the default in stored (string) form, NULL when absent */
        bool has_min, has_max, has_step;
        double min, max, step;
        const struct manifest_option *options; /* select and radio only */
        size_t n_options;
};

struct manifest_section {
        const char *name, *label; /* label "" when absent */
        const struct manifest_field *fields;
        size_t n_fields;
};

struct manifest_config {
        bool show_on_install;
        const struct manifest_section *sections;
        size_t n_sections;
        size_t n_fields; /* all sections together */
};

enum manifest_build_type {
        MANIFEST_BUILD_NIX_FILE, /* upstream: pup.nix built by Nix (the default) */
        MANIFEST_BUILD_FLAKE,    /* upstream branch feature/pup-flakes: built by Nix */
        MANIFEST_BUILD_NATIVE,   /* ours: the pup folder is its own build output */
};

struct manifest_build {
        enum manifest_build_type type;
        const char *nix_file;        /* nixFile builds; NULL otherwise */
        const char *nix_file_sha256; /* nixFile builds; NULL otherwise */
        const char *flake_path;      /* flake builds; NULL when absent */
        const char *flake_package;   /* flake builds; NULL when absent */
};

struct manifest_service {
        const char *name;
        const char *exec; /* see manifest_service_exec_path() */
        const char *cwd;  /* "" when absent */
        const struct manifest_kv *env;
        size_t n_env;
        const char *const *args; /* our extension; upstream runs exec without arguments */
        size_t n_args;
};

enum manifest_expose_type {
        MANIFEST_EXPOSE_HTTP,
        MANIFEST_EXPOSE_TCP,
};

struct manifest_expose {
        const char *name;
        enum manifest_expose_type type;
        uint16_t port;
        const char *const *interfaces;
        size_t n_interfaces;
        bool listen_on_host;
        bool web_ui;
};

/* Optional resource requests (our extension). 0 means "the daemon's default". */
struct manifest_resources {
        uint64_t memory;     /* bytes */
        uint32_t pids;       /* processes and threads */
        uint32_t cpu_weight; /* cgroup v2 cpu.weight, 100 = normal share */
};

struct manifest_container {
        struct manifest_build build;
        const struct manifest_service *services;
        size_t n_services;
        const struct manifest_expose *exposes;
        size_t n_exposes;
        bool requires_internet;
        struct manifest_resources resources;
};

struct manifest_permission_group {
        const char *name;
        const char *description; /* "" when absent */
        int severity;            /* 1..3 */
        const char *const *routes;
        size_t n_routes;
        uint16_t port; /* informational; 0 = none */
};

struct manifest_interface {
        const char *name;
        const char *version; /* strict semver */
        struct semver semver;
        const struct manifest_permission_group *permission_groups;
        size_t n_permission_groups;
};

struct manifest_dependency_source {
        const char *source_location, *pup_name, *pup_version, *pup_logo_base64; /* "" when absent */
};

struct manifest_dependency {
        const char *interface_name;
        const char *interface_version; /* the constraint as written */
        const struct semver_constraint *constraint;
        const char *const *permission_groups;
        size_t n_permission_groups;
        bool optional;
        bool has_source; /* a default-provider hint with some field set */
        struct manifest_dependency_source source;
};

enum manifest_metric_type {
        MANIFEST_METRIC_STRING,
        MANIFEST_METRIC_INT,
        MANIFEST_METRIC_FLOAT,
};

struct manifest_metric {
        const char *name;
        const char *label;       /* "" when absent */
        const char *description; /* "" when absent */
        enum manifest_metric_type type;
        unsigned history;
};

struct manifest_arena;

struct manifest {
        int manifest_version;
        struct manifest_meta meta;
        struct manifest_config config;
        struct manifest_container container;
        const struct manifest_interface *interfaces;
        size_t n_interfaces;
        const struct manifest_dependency *dependencies;
        size_t n_dependencies;
        const struct manifest_metric *metrics;
        size_t n_metrics;

        bool is_native; /* container.build.type is "native": runs from its folder */
        bool needs_nix; /* must be built by Nix before it can run */

        struct manifest_arena *arena; /* private: owns everything above */
};

/* ---- parsing ---- */

/* Parse and validate a manifest.json of len bytes (need not be NUL-
 * terminated). On success returns 0 and *ret (free with manifest_free).
 * Otherwise returns -EINVAL (invalid; every problem appended to errs) or
 * -E2BIG (larger than MANIFEST_SIZE_MAX), and *ret is untouched. Warnings
 * (unknown keys, ignored attributes) go to warnings whatever the outcome.
 * errs and warnings may be NULL. */
int manifest_parse(const char *buf, size_t len, struct manifest **ret, struct dbx_errors *errs,
                   struct dbx_errors *warnings);

/* The same for an already parsed JSON value (e.g. a manifest inline in an
 * HTTP source index). root is not modified and need not outlive *ret. */
int manifest_parse_json(const json_t *root, struct manifest **ret, struct dbx_errors *errs,
                        struct dbx_errors *warnings);

/* The same for a value of a jdoc document (core/jdoc.h), the fast path of
 * the HTTP source index: nothing is converted or copied, so the strings of
 * *ret point into root's document, which must outlive *ret. */
int manifest_parse_jdoc(const struct jval *root, struct manifest **ret, struct dbx_errors *errs,
                        struct dbx_errors *warnings);

struct manifest *manifest_free(struct manifest *m);
static inline void manifest_freep(struct manifest **m)
{
        manifest_free(*m);
}
#define _cleanup_manifest_ _cleanup_(manifest_freep)

/* The upstream PupManifest JSON shape (reference/upstream-api.md §6.7) for
 * API responses, plus our extensions where used (build.type, args,
 * resources, options). Arrays are [] rather than null. Caller owns it. */
json_t *manifest_to_json(const struct manifest *m);
/* The same JSON, compact, appended to b as text (what jbuf_json() of
 * manifest_to_json() writes, without building jansson objects). */
void manifest_write_json(const struct manifest *m, struct jbuf *b);

/* Refuse what this host cannot run: returns 0, or -EOPNOTSUPP with a
 * message such as `"Dogecoin Core" 0.0.9 needs the Nix builder, which this
 * Dogebox does not have (container.build is a nixFile build)`. */
int manifest_check_runnable(const struct manifest *m, bool have_nix, struct dbx_error *err);

/* Where a native pup's service program lives inside the sandbox: a
 * relative exec resolves against the pup folder mounted at /pup
 * ("bin/run.sh" -> "/pup/bin/run.sh"); an absolute one is a path of the
 * read-only host base ("/usr/bin/python3"). The same rule for cwd, with ""
 * meaning /pup. Returns the needed length, snprintf-like. */
#define MANIFEST_PUP_MOUNT "/pup"
int manifest_service_exec_path(const struct manifest_service *s, char *buf, size_t size);
int manifest_service_cwd_path(const struct manifest_service *s, char *buf, size_t size);

const char *manifest_field_type_name(enum manifest_field_type t);
const char *manifest_expose_type_name(enum manifest_expose_type t);
const char *manifest_metric_type_name(enum manifest_metric_type t);
const char *manifest_build_type_name(enum manifest_build_type t);
const struct manifest_field *manifest_field_find(const struct manifest *m, const char *name);

/* ---- config values (POST /config/{id}, install defaults, config.env) ---- */

/* Check a complete set of config values: every key must be a declared
 * field, every value valid for its field (type, options, min/max/step,
 * format of email, date, color), and every required field present and not
 * blank. values is an object {fieldName: value}; it is not modified.
 * Returns 0 or -EINVAL with every problem in errs (path = field name). */
int manifest_config_validate(const struct manifest *m, const json_t *values,
                             struct dbx_errors *errs);

/* Convert submitted values to the stored form: an object of strings, as
 * upstream stores config (numbers in shortest decimal form, toggles as
 * "true"/"false", null as ""). Checks each value as above but not that
 * required fields are present (a submission may be partial). Returns 0 and
 * *ret, or -EINVAL with errs. */
int manifest_config_coerce(const struct manifest *m, const json_t *values, json_t **ret,
                           struct dbx_errors *errs);

/* The defaults, in stored form: {fieldName: default} for fields that have one. */
json_t *manifest_config_defaults(const struct manifest *m);

/* Upstream's "needs config": a required field missing or blank in config,
 * or showOnInstall set and config never saved. */
bool manifest_config_needed(const struct manifest *m, const json_t *config, bool config_saved);

/* The content of /storage/.dbx/config.env for config (stored form): one
 * KEY=VALUE line per declared field that has a value, keys sorted; values
 * with anything but [A-Za-z0-9_@%+=:,./-] double-quoted with \ " $ and `
 * backslash-escaped, so systemd and POSIX sh read the same value. Returns 0
 * and *ret (caller frees) or -EINVAL if a value is invalid for its field. */
int manifest_config_env(const struct manifest *m, const json_t *config, char **ret,
                        struct dbx_error *err);

/* ---- dogebox.json: a source's descriptor ---- */

struct manifest_source {
        const char *id;               /* e.g. "dogeorg.pups" */
        const char *name;             /* e.g. "Dogecoin Foundation" */
        const char *description;      /* "" when absent */
        const char *const *locations; /* pup folders, relative to the source root */
        size_t n_locations;
        struct manifest_arena *arena; /* private */
};

/* Parse and validate a dogebox.json. Same conventions as manifest_parse;
 * -E2BIG beyond MANIFEST_SOURCE_SIZE_MAX. */
int manifest_source_parse(const char *buf, size_t len, struct manifest_source **ret,
                          struct dbx_errors *errs, struct dbx_errors *warnings);
int manifest_source_parse_json(const json_t *root, struct manifest_source **ret,
                               struct dbx_errors *errs, struct dbx_errors *warnings);
struct manifest_source *manifest_source_free(struct manifest_source *s);
static inline void manifest_source_freep(struct manifest_source **s)
{
        manifest_source_free(*s);
}
#define _cleanup_manifest_source_ _cleanup_(manifest_source_freep)
