/* resolver: who provides the interfaces a pup depends on, which provider
 * is picked without asking the owner, and what an auto-install has to add
 * so that a pup's dependencies are met (docs/networking.md,
 * "Dependencies").
 *
 * Pure: the caller describes the world as plain data (installed pups and
 * the installable pup versions of every source) and gets pointers into
 * that same data back. No I/O, no logging, no allocation that outlives a
 * *_done() call. Every result is deterministic: ties are broken by
 * version, then source id, then name, then pup id. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include "core/error.h"
#include "semver/semver.h"

#define RESOLVER_PUPS_MAX                                                                          \
        200000                /* entries in one world: 256 installed + every source's versions     \
                               */
#define RESOLVER_PLAN_MAX  64 /* pups one auto-install may add; real trees are < 5 */
#define RESOLVER_DEPTH_MAX 16 /* longest dependency chain followed */

/* An interface a pup provides. */
struct resolver_iface {
        const char *name;
        struct semver version;
};

/* An interface a pup consumes. */
struct resolver_dep {
        const char *interface;
        const char *constraint; /* "^1.0.0", ">=1.2, <2", "1.0.0" (exactly), ... */
        bool optional;
        /* The manifest's default-provider hint (dependency.source); NULL or
         * "" fields match anything. */
        const char *hint_location, *hint_name, *hint_version;
};

enum resolver_state {
        RESOLVER_READY,      /* installed and ready: can be selected as a provider */
        RESOLVER_INSTALLING, /* being installed: satisfies plans, not selectable yet */
        RESOLVER_CANDIDATE,  /* an installable version in a source */
};

struct resolver_pup {
        enum resolver_state state;
        const char *id;              /* installed pups: the pup id; candidates: NULL */
        const char *source_id;       /* where it comes (or came) from */
        const char *source_location; /* for reports; may be NULL */
        const char *name;            /* meta.name: with source_id, the pup's identity */
        const char *version;         /* meta.version as written */
        struct semver semver;        /* its parsed form */
        const struct resolver_iface *ifaces;
        size_t n_ifaces;
        const struct resolver_dep *deps;
        size_t n_deps;
};

struct resolver_world {
        const struct resolver_pup *pups; /* installed and installable, in any order */
        size_t n_pups;
};

/* Does p provide d's interface at a version d's constraint accepts? 1 yes,
 * 0 no, -EINVAL (err says why) when the constraint does not parse. */
int resolver_provides(const struct resolver_pup *p, const struct resolver_dep *d,
                      struct dbx_error *err);

/* ---- providers of one dependency ---- */

struct resolver_providers {
        /* READY pups (never the consumer itself) providing the interface at
         * an accepted version: by name, newest version first, then id. */
        const struct resolver_pup **installed;
        size_t n_installed;
        /* CANDIDATEs providing it, newest pup version first, without the
         * versions of pups already installed from the same source (that
         * would be an upgrade, not an install) and without duplicates. */
        const struct resolver_pup **installable;
        size_t n_installable;
        /* The candidate an auto-install takes: the one the hint names, else
         * the newest; NULL when there is none. */
        const struct resolver_pup *preferred;
};

/* consumer_id: the consuming pup's id (it never provides to itself), or
 * NULL for a pup not installed yet. -EINVAL when the constraint does not
 * parse, -E2BIG past RESOLVER_PUPS_MAX. Free with resolver_providers_done(). */
int resolver_providers(const struct resolver_world *w, const char *consumer_id,
                       const struct resolver_dep *d, struct resolver_providers *ret,
                       struct dbx_error *err);
void resolver_providers_done(struct resolver_providers *p);

/* The provider chosen without asking the owner: the only installed one.
 * NULL when there are none (the dependency is missing) or several (the
 * owner chooses). */
const struct resolver_pup *resolver_auto_select(const struct resolver_providers *p);

/* Check the owner's choice of provider_id for d: -ENOENT when no installed
 * pup has that id, -EINVAL when it is the consumer itself, is not ready,
 * does not provide the interface or only at a version the constraint
 * refuses (err says which). *ret (may be NULL) is the provider. */
int resolver_check_provider(const struct resolver_world *w, const char *consumer_id,
                            const struct resolver_dep *d, const char *provider_id,
                            const struct resolver_pup **ret, struct dbx_error *err);

/* ---- auto-install plans ---- */

struct resolver_step {
        const struct resolver_pup *pup;     /* the CANDIDATE to install */
        const char *interface;              /* the dependency it satisfies */
        const struct resolver_pup *for_pup; /* the pup that needs it */
};

struct resolver_missing {
        const char *interface, *constraint;
        const struct resolver_pup *for_pup;
};

struct resolver_plan {
        /* In install order: every provider comes before the pups that need it. */
        struct resolver_step *steps;
        size_t n_steps;
        /* Required dependencies that nothing installed, planned or
         * installable satisfies: the pup will wait for its owner. */
        struct resolver_missing *missing;
        size_t n_missing;
};

/* What must be installed for root's required dependencies (optional ones
 * are never auto-installed), transitively. A dependency an installed pup
 * (ready or installing) or an earlier step satisfies adds nothing. Each
 * step is a candidate from its own source. root may be a candidate (an
 * install) or an installed pup. -ELOOP when the only way to satisfy a
 * dependency is a pup further up the chain (they could never start; err
 * shows the cycle), -E2BIG past RESOLVER_PLAN_MAX steps or
 * RESOLVER_DEPTH_MAX levels, -EINVAL for a constraint that does not parse. */
int resolver_plan(const struct resolver_world *w, const struct resolver_pup *root,
                  struct resolver_plan *ret, struct dbx_error *err);
void resolver_plan_done(struct resolver_plan *p);
