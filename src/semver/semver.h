/* Semantic versions (semver 2.0.0) and version constraints with the
 * semantics of Masterminds/semver v3, which upstream dogeboxd uses for
 * dependency `interfaceVersion`s. Pure: no I/O, no logging. The exact
 * rules, and where we knowingly differ, are in docs/versions.md. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/error.h"

#define SEMVER_MAX_LEN               128 /* longest version string accepted; real ones are < 40 */
#define SEMVER_CONSTRAINT_MAX_LEN    512 /* as Masterminds' MaxConstraintLen */
#define SEMVER_CONSTRAINT_MAX_GROUPS 32  /* `||` alternatives, as Masterminds */
#define SEMVER_CONSTRAINT_MAX_TERMS  64  /* comparisons in one constraint, all groups together */

/* Parse flags. The default is strict semver 2.0.0: "1.2.3-rc.1+build.5". */
#define SEMVER_ALLOW_V     (1u << 0) /* accept a leading "v", as in git tags ("v1.2.3") */
#define SEMVER_ALLOW_SHORT (1u << 1) /* accept "1" and "1.2" (missing parts are 0) */

struct semver {
        uint64_t major, minor, patch;
        char pre[SEMVER_MAX_LEN];   /* prerelease without the '-', "" if none */
        char build[SEMVER_MAX_LEN]; /* build metadata without the '+', "" if none */
};

/* Parse s into *ret (written only on success). Returns 0, or -EINVAL with
 * err->message saying what is wrong, e.g.
 * `"1.2" is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.2.0): it has no patch number`. */
int semver_parse(const char *s, unsigned flags, struct semver *ret, struct dbx_error *err);

/* True if s parses with the given flags. */
bool semver_valid(const char *s, unsigned flags);

/* Precedence as semver 2.0.0 §11: -1, 0 or 1. Build metadata is ignored,
 * so 1.0.0+a and 1.0.0+b compare equal. */
int semver_cmp(const struct semver *a, const struct semver *b);

/* Canonical text ("1.2.3-rc.1+b5") into buf. Returns the length it needs
 * (snprintf-like); the output is truncated when size is too small. */
int semver_format(const struct semver *v, char *buf, size_t size);

/* A parsed constraint such as "^1.2", ">= 1.0, < 2 || 3.x" or "1.2 - 1.4.5". */
struct semver_constraint;

/* Parse text into a new constraint. Returns 0, or -EINVAL / -E2BIG with
 * err->message naming the offending part, e.g.
 * `">= 1.2 <": "<" has no version after it`. */
int semver_constraint_parse(const char *text, struct semver_constraint **ret,
                            struct dbx_error *err);

/* Whether v satisfies c. A prerelease version only matches an `||` group
 * that itself mentions a prerelease (Masterminds rule). */
bool semver_constraint_match(const struct semver_constraint *c, const struct semver *v);

/* The text the constraint was parsed from. */
const char *semver_constraint_text(const struct semver_constraint *c);

/* Frees c (NULL is fine); returns NULL. */
struct semver_constraint *semver_constraint_free(struct semver_constraint *c);

static inline void semver_constraint_freep(struct semver_constraint **c)
{
        semver_constraint_free(*c);
}
#define _cleanup_semver_constraint_ _cleanup_(semver_constraint_freep)
