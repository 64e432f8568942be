/* Dependency resolution over plain data (resolver.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core/macro.h"
#include "resolver/resolver.h"

#define CYCLE_MSG_MAX 400 /* the cycle's description inside one error message */

static const char *nz(const char *s)
{
        return s ? s : "";
}

static bool is_installed(const struct resolver_pup *p)
{
        return p->state == RESOLVER_READY || p->state == RESOLVER_INSTALLING;
}

/* The same pup: the same object, the same installed id, or the same name
 * from the same source (an installed pup and a version of it in its
 * source, or two versions). */
static bool same_pup(const struct resolver_pup *a, const struct resolver_pup *b)
{
        if (a == b)
                return true;
        if (a->id && b->id)
                return streq(a->id, b->id);
        return a->source_id && b->source_id && a->name && b->name &&
               streq(a->source_id, b->source_id) && streq(a->name, b->name);
}

static int parse_dep(const struct resolver_dep *d, const char *who, struct semver_constraint **ret,
                     struct dbx_error *err)
{
        struct dbx_error e = {0};
        if (!d->interface || !d->interface[0])
                return dbx_error_set(err, -EINVAL, "", "%s: a dependency names no interface",
                                     nz(who));
        int r = semver_constraint_parse(nz(d->constraint), ret, &e);
        if (r < 0)
                return dbx_error_set(err, -EINVAL, "",
                                     "%s: the version constraint \"%s\" of the dependency on %s is "
                                     "invalid: %s",
                                     nz(who), nz(d->constraint), d->interface, e.message);
        return 0;
}

static bool provides_c(const struct resolver_pup *p, const char *iface,
                       const struct semver_constraint *c)
{
        for (size_t i = 0; i < p->n_ifaces; i++)
                if (p->ifaces[i].name && streq(p->ifaces[i].name, iface) &&
                    semver_constraint_match(c, &p->ifaces[i].version))
                        return true;
        return false;
}

int resolver_provides(const struct resolver_pup *p, const struct resolver_dep *d,
                      struct dbx_error *err)
{
        struct semver_constraint *c = NULL;
        int r = parse_dep(d, p->name, &c, err);
        if (r < 0)
                return r;
        r = provides_c(p, d->interface, c);
        semver_constraint_free(c);
        return r;
}

/* ---- ordering ---- */

static int cmp_installed(const void *x, const void *y)
{
        const struct resolver_pup *a = *(const struct resolver_pup *const *)x;
        const struct resolver_pup *b = *(const struct resolver_pup *const *)y;
        int c = strcmp(nz(a->name), nz(b->name));
        if (c)
                return c;
        c = semver_cmp(&b->semver, &a->semver);
        if (c)
                return c;
        return strcmp(nz(a->id), nz(b->id));
}

/* Newest first; then source, name and the version as written. */
static int cmp_candidate(const struct resolver_pup *a, const struct resolver_pup *b)
{
        int c = semver_cmp(&b->semver, &a->semver);
        if (c)
                return c;
        c = strcmp(nz(a->source_id), nz(b->source_id));
        if (c)
                return c;
        c = strcmp(nz(a->name), nz(b->name));
        if (c)
                return c;
        return strcmp(nz(a->version), nz(b->version));
}

static int cmp_candidate_p(const void *x, const void *y)
{
        return cmp_candidate(*(const struct resolver_pup *const *)x,
                             *(const struct resolver_pup *const *)y);
}

static bool hint_matches(const struct resolver_dep *d, const struct resolver_pup *p)
{
        if (!d->hint_name || !d->hint_name[0] || !p->name || !streq(d->hint_name, p->name))
                return false;
        if (d->hint_location && d->hint_location[0] &&
            !streq(d->hint_location, nz(p->source_location)))
                return false;
        if (d->hint_version && d->hint_version[0] && !streq(d->hint_version, nz(p->version)))
                return false;
        return true;
}

/* Is a candidate a version of a pup that is already installed? */
static bool installed_already(const struct resolver_world *w, const struct resolver_pup *cand)
{
        for (size_t i = 0; i < w->n_pups; i++)
                if (is_installed(&w->pups[i]) && same_pup(&w->pups[i], cand))
                        return true;
        return false;
}

/* ---- providers ---- */

int resolver_providers(const struct resolver_world *w, const char *consumer_id,
                       const struct resolver_dep *d, struct resolver_providers *ret,
                       struct dbx_error *err)
{
        struct semver_constraint *c = NULL;
        struct resolver_providers p = {0};

        if (w->n_pups > RESOLVER_PUPS_MAX)
                return dbx_error_set(err, -E2BIG, "", "%zu pups to consider (at most %d)",
                                     w->n_pups, RESOLVER_PUPS_MAX);
        int r = parse_dep(d, consumer_id, &c, err);
        if (r < 0)
                return r;
        p.installed = xcalloc(w->n_pups + 1, sizeof(*p.installed));
        p.installable = xcalloc(w->n_pups + 1, sizeof(*p.installable));
        for (size_t i = 0; i < w->n_pups; i++) {
                const struct resolver_pup *q = &w->pups[i];
                if (!provides_c(q, d->interface, c))
                        continue;
                if (q->state == RESOLVER_READY) {
                        if (!(consumer_id && q->id && streq(q->id, consumer_id)))
                                p.installed[p.n_installed++] = q;
                } else if (q->state == RESOLVER_CANDIDATE && !installed_already(w, q)) {
                        p.installable[p.n_installable++] = q;
                }
        }
        semver_constraint_free(c);
        qsort(p.installed, p.n_installed, sizeof(*p.installed), cmp_installed);
        qsort(p.installable, p.n_installable, sizeof(*p.installable), cmp_candidate_p);
        /* drop exact duplicates (the same version listed twice in a source) */
        size_t n = 0;
        for (size_t i = 0; i < p.n_installable; i++)
                if (!n || cmp_candidate(p.installable[n - 1], p.installable[i]) != 0)
                        p.installable[n++] = p.installable[i];
        p.n_installable = n;
        for (size_t i = 0; i < p.n_installable && !p.preferred; i++)
                if (hint_matches(d, p.installable[i]))
                        p.preferred = p.installable[i];
        if (!p.preferred && p.n_installable)
                p.preferred = p.installable[0];
        *ret = p;
        return 0;
}

void resolver_providers_done(struct resolver_providers *p)
{
        free(p->installed);
        free(p->installable);
        *p = (struct resolver_providers){0};
}

const struct resolver_pup *resolver_auto_select(const struct resolver_providers *p)
{
        return p->n_installed == 1 ? p->installed[0] : NULL;
}

int resolver_check_provider(const struct resolver_world *w, const char *consumer_id,
                            const struct resolver_dep *d, const char *provider_id,
                            const struct resolver_pup **ret, struct dbx_error *err)
{
        struct semver_constraint *c = NULL;
        const struct resolver_pup *q = NULL;

        for (size_t i = 0; i < w->n_pups && !q; i++)
                if (is_installed(&w->pups[i]) && w->pups[i].id &&
                    streq(w->pups[i].id, nz(provider_id)))
                        q = &w->pups[i];
        if (!q)
                return dbx_error_set(err, -ENOENT, d->interface,
                                     "no installed pup '%s' to provide %s", nz(provider_id),
                                     d->interface);
        if (consumer_id && streq(q->id, consumer_id))
                return dbx_error_set(err, -EINVAL, d->interface, "%s cannot provide %s to itself",
                                     nz(q->name), d->interface);
        if (q->state != RESOLVER_READY)
                return dbx_error_set(err, -EINVAL, d->interface,
                                     "%s (%s) is still being installed: choose it once it is "
                                     "ready",
                                     nz(q->name), q->id);
        int r = parse_dep(d, consumer_id, &c, err);
        if (r < 0)
                return r;
        bool ok = provides_c(q, d->interface, c);
        semver_constraint_free(c);
        if (ok) {
                if (ret)
                        *ret = q;
                return 0;
        }
        for (size_t i = 0; i < q->n_ifaces; i++)
                if (q->ifaces[i].name && streq(q->ifaces[i].name, d->interface)) {
                        char v[SEMVER_MAX_LEN * 3];
                        semver_format(&q->ifaces[i].version, v, sizeof(v));
                        return dbx_error_set(err, -EINVAL, d->interface,
                                             "%s (%s) provides %s %s, which does not satisfy "
                                             "\"%s\"",
                                             nz(q->name), q->id, d->interface, v,
                                             nz(d->constraint));
                }
        return dbx_error_set(err, -EINVAL, d->interface, "%s (%s) does not provide %s", nz(q->name),
                             q->id, d->interface);
}

/* ---- plans ---- */

struct plan_ctx {
        const struct resolver_world *w;
        /* the chain being followed: stack[0] is the root, stack[k] was chosen
         * to provide via[k] to stack[k-1] */
        const struct resolver_pup *stack[RESOLVER_DEPTH_MAX + 1];
        const char *via[RESOLVER_DEPTH_MAX + 1];
        size_t depth;
        struct resolver_plan *plan;
        struct dbx_error *err;
};

static bool on_stack(const struct plan_ctx *x, const struct resolver_pup *q)
{
        for (size_t i = 0; i < x->depth; i++)
                if (same_pup(x->stack[i], q))
                        return true;
        return false;
}

static bool planned(const struct plan_ctx *x, const struct resolver_pup *q)
{
        for (size_t i = 0; i < x->plan->n_steps; i++)
                if (same_pup(x->plan->steps[i].pup, q))
                        return true;
        return false;
}

static int cycle_error(struct plan_ctx *x, size_t from, const char *iface)
{
        char msg[CYCLE_MSG_MAX];
        size_t len = 0;
        const struct resolver_pup *top = x->stack[x->depth - 1];
        for (size_t j = from; j + 1 < x->depth && len < sizeof(msg); j++)
                len += (size_t)snprintf(msg + len, sizeof(msg) - len, "%s needs %s from %s, ",
                                        nz(x->stack[j]->name), x->via[j + 1],
                                        nz(x->stack[j + 1]->name));
        if (len < sizeof(msg))
                snprintf(msg + len, sizeof(msg) - len, "%s needs %s from %s", nz(top->name), iface,
                         nz(x->stack[from]->name));
        return dbx_error_set(x->err, -ELOOP, "",
                             "dependency cycle: %s; pups in a cycle could never start (each "
                             "waits for the other)",
                             msg);
}

static const struct resolver_pup *pick_candidate(struct plan_ctx *x, const struct resolver_dep *d,
                                                 const struct semver_constraint *c)
{
        const struct resolver_pup *best = NULL;
        bool best_hint = false;
        for (size_t i = 0; i < x->w->n_pups; i++) {
                const struct resolver_pup *q = &x->w->pups[i];
                if (q->state != RESOLVER_CANDIDATE || !provides_c(q, d->interface, c) ||
                    installed_already(x->w, q) || on_stack(x, q) || planned(x, q))
                        continue;
                bool hint = hint_matches(d, q);
                if (!best || (hint && !best_hint) ||
                    (hint == best_hint && cmp_candidate(q, best) < 0)) {
                        best = q;
                        best_hint = hint;
                }
        }
        return best;
}

static void add_missing(struct resolver_plan *p, const struct resolver_dep *d,
                        const struct resolver_pup *for_pup)
{
        p->missing = xrealloc(p->missing, (p->n_missing + 1) * sizeof(*p->missing));
        p->missing[p->n_missing++] = (struct resolver_missing){
            .interface = d->interface, .constraint = d->constraint, .for_pup = for_pup};
}

static int visit(struct plan_ctx *x, const struct resolver_pup *pup)
{
        for (size_t i = 0; i < pup->n_deps; i++) {
                const struct resolver_dep *d = &pup->deps[i];
                struct semver_constraint *c = NULL;
                bool done = false;
                int r;

                if (d->optional)
                        continue;
                r = parse_dep(d, pup->name, &c, x->err);
                if (r < 0)
                        return r;
                /* 1. an installed pup outside the chain */
                for (size_t k = 0; k < x->w->n_pups && !done; k++) {
                        const struct resolver_pup *q = &x->w->pups[k];
                        done = is_installed(q) && !same_pup(q, pup) && !on_stack(x, q) &&
                               provides_c(q, d->interface, c);
                }
                /* 2. a pup already in the plan */
                for (size_t k = 0; k < x->plan->n_steps && !done; k++)
                        done = provides_c(x->plan->steps[k].pup, d->interface, c);
                /* 3. only a pup up the chain: a cycle */
                for (size_t k = 0; k + 1 < x->depth && !done; k++)
                        if (provides_c(x->stack[k], d->interface, c)) {
                                semver_constraint_free(c);
                                return cycle_error(x, k, d->interface);
                        }
                if (done) {
                        semver_constraint_free(c);
                        continue;
                }
                /* 4. install a candidate */
                const struct resolver_pup *cand = pick_candidate(x, d, c);
                semver_constraint_free(c);
                if (!cand) {
                        add_missing(x->plan, d, pup);
                        continue;
                }
                if (x->depth > RESOLVER_DEPTH_MAX - 1)
                        return dbx_error_set(x->err, -E2BIG, "",
                                             "the dependency chain of %s is deeper than %d pups",
                                             nz(x->stack[0]->name), RESOLVER_DEPTH_MAX);
                x->stack[x->depth] = cand;
                x->via[x->depth] = d->interface;
                x->depth++;
                r = visit(x, cand);
                x->depth--;
                if (r < 0)
                        return r;
                if (x->plan->n_steps >= RESOLVER_PLAN_MAX)
                        return dbx_error_set(x->err, -E2BIG, "",
                                             "installing %s would add more than %d pups",
                                             nz(x->stack[0]->name), RESOLVER_PLAN_MAX);
                x->plan->steps[x->plan->n_steps++] =
                    (struct resolver_step){.pup = cand, .interface = d->interface, .for_pup = pup};
        }
        return 0;
}

int resolver_plan(const struct resolver_world *w, const struct resolver_pup *root,
                  struct resolver_plan *ret, struct dbx_error *err)
{
        struct resolver_plan plan = {0};
        struct plan_ctx x = {.w = w, .plan = &plan, .err = err};

        if (w->n_pups > RESOLVER_PUPS_MAX)
                return dbx_error_set(err, -E2BIG, "", "%zu pups to consider (at most %d)",
                                     w->n_pups, RESOLVER_PUPS_MAX);
        plan.steps = xcalloc(RESOLVER_PLAN_MAX, sizeof(*plan.steps));
        x.stack[0] = root;
        x.via[0] = NULL;
        x.depth = 1;
        int r = visit(&x, root);
        if (r < 0) {
                resolver_plan_done(&plan);
                return r;
        }
        *ret = plan;
        return 0;
}

void resolver_plan_done(struct resolver_plan *p)
{
        free(p->steps);
        free(p->missing);
        *p = (struct resolver_plan){0};
}
