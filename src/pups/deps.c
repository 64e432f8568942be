/* Dependencies in the lifecycle (docs/networking.md "Dependencies"):
 * provider reports and choices, automatic selection, grants of permission
 * groups, auto-install plans, the start order (a pup starts once its
 * providers run) and what removing a provider does to its consumers.
 * The rules themselves are the resolver's; this file feeds it the
 * daemon's pups and the sources' catalogs. */
#include "core/json.h"
#include "core/log.h"
#include "core/macro.h"
#include "jobs/jobs.h"
#include "pups/internal.h"
#include "resolver/resolver.h"
#include "runtime/sandbox.h"
#include "sources/sources.h"

#define EMPTY_IFACES "\"interfaces\":[]" /* catalog manifests are compact JSON */

/* ---- the resolver's world --------------------------------------------- */

struct dworld {
        struct resolver_world w;
        struct resolver_pup *pups;
        const char **logos; /* per pup: the catalog's logo (valid while on the loop) */
        json_t **docs_of;   /* per pup: its manifest document (candidates only) */
        size_t n, cap;
        struct pups_arena a;
        json_t *docs;      /* candidate manifests the entries point into */
        json_t *locations; /* GET /sources, for source locations */
};

static struct resolver_pup *dw_add(struct dworld *w)
{
        if (w->n == w->cap) {
                w->cap = w->cap ? 2 * w->cap : 64;
                w->pups = xrealloc(w->pups, w->cap * sizeof(*w->pups));
                w->logos = xrealloc(w->logos, w->cap * sizeof(*w->logos));
                w->docs_of = xrealloc(w->docs_of, w->cap * sizeof(*w->docs_of));
        }
        w->logos[w->n] = NULL;
        w->docs_of[w->n] = NULL;
        struct resolver_pup *r = &w->pups[w->n++];
        *r = (struct resolver_pup){0};
        return r;
}

static const char *source_location(struct dworld *w, const char *source_id)
{
        json_t *s;
        size_t i;
        json_array_foreach(
            w->locations, i,
            s) if (streq(json_string_value(json_object_get(s, "id")) ?: "",
                         source_id)) return json_string_value(json_object_get(s, "location"));
        return NULL;
}

static void add_installed(struct dworld *w, struct pup *pup)
{
        const struct manifest *m = pup->manifest;
        enum resolver_state st;
        if (!m)
                return;
        if (streq(pup->installation, "ready"))
                st = RESOLVER_READY;
        else if (streq(pup->installation, "installing") || streq(pup->installation, "upgrading"))
                st = RESOLVER_INSTALLING;
        else
                return;
        struct resolver_iface *ifs = pups_arena_calloc(&w->a, m->n_interfaces, sizeof(*ifs));
        struct resolver_dep *deps = pups_arena_calloc(&w->a, m->n_dependencies, sizeof(*deps));
        for (size_t i = 0; i < m->n_interfaces; i++)
                ifs[i] = (struct resolver_iface){m->interfaces[i].name, m->interfaces[i].semver};
        for (size_t i = 0; i < m->n_dependencies; i++) {
                const struct manifest_dependency *d = &m->dependencies[i];
                deps[i] = (struct resolver_dep){
                    .interface = d->interface_name,
                    .constraint = d->interface_version,
                    .optional = d->optional,
                    .hint_location = d->source.source_location,
                    .hint_name = d->source.pup_name,
                    .hint_version = d->source.pup_version,
                };
        }
        struct resolver_pup *r = dw_add(w);
        *r = (struct resolver_pup){
            .state = st,
            .id = pup->id,
            .source_id = pup->source_id,
            .source_location = json_string_value(json_object_get(pup->source, "location")),
            .name = pup->name,
            .version = pup->version,
            .semver = m->meta.semver,
            .ifaces = ifs,
            .n_ifaces = m->n_interfaces,
            .deps = deps,
            .n_deps = m->n_dependencies,
        };
}

/* A resolver entry from a manifest in upstream JSON shape (a catalog
 * version). Strings point into doc, which the world keeps. Returns false
 * for a manifest that provides nothing when need_ifaces. */
static bool from_manifest_json(struct dworld *w, json_t *doc, struct resolver_pup *r,
                               bool need_ifaces)
{
        json_t *ifaces = json_object_get(doc, "interfaces"),
               *deps = json_object_get(doc, "dependencies"), *v;
        size_t i, n = 0;
        struct resolver_iface *ifs =
            pups_arena_calloc(&w->a, json_array_size(ifaces), sizeof(*ifs));
        json_array_foreach(ifaces, i, v)
        {
                const char *name = json_string_value(json_object_get(v, "name"));
                const char *ver = json_string_value(json_object_get(v, "version"));
                if (name && ver && semver_parse(ver, 0, &ifs[n].version, NULL) == 0)
                        ifs[n++].name = name;
        }
        if (need_ifaces && !n)
                return false;
        struct resolver_dep *ds = pups_arena_calloc(&w->a, json_array_size(deps), sizeof(*ds));
        size_t nd = 0;
        json_array_foreach(deps, i, v)
        {
                json_t *src = json_object_get(v, "source");
                const char *iface = json_string_value(json_object_get(v, "interfaceName"));
                if (!iface)
                        continue;
                ds[nd++] = (struct resolver_dep){
                    .interface = iface,
                    .constraint = json_string_value(json_object_get(v, "interfaceVersion")),
                    .optional = json_is_true(json_object_get(v, "optional")),
                    .hint_location = json_string_value(json_object_get(src, "sourceLocation")),
                    .hint_name = json_string_value(json_object_get(src, "pupName")),
                    .hint_version = json_string_value(json_object_get(src, "pupVersion")),
                };
        }
        r->ifaces = ifs;
        r->n_ifaces = n;
        r->deps = ds;
        r->n_deps = nd;
        return true;
}

static int add_candidate(void *ud, const char *source_id, const struct catalog_version *v)
{
        struct dworld *w = ud;
        if (!v->valid || !v->manifest_json || !v->has_semver ||
            strstr(v->manifest_json, EMPTY_IFACES))
                return 0;
        json_t *doc = json_loads(v->manifest_json, 0, NULL);
        if (!doc)
                return 0;
        json_array_append_new(w->docs, doc);
        struct resolver_pup tmp = {
            .state = RESOLVER_CANDIDATE,
            .source_id = pups_arena_strdup(&w->a, source_id),
            .source_location = source_location(w, source_id),
            .name = pups_arena_strdup(&w->a, v->name),
            .version = pups_arena_strdup(&w->a, v->version),
            .semver = v->semver,
        };
        if (!from_manifest_json(w, doc, &tmp, true))
                return 0;
        struct resolver_pup *r = dw_add(w);
        *r = tmp;
        w->logos[w->n - 1] = v->logo;
        w->docs_of[w->n - 1] = doc;
        return 0;
}

static void dw_build(struct pups *p, struct dworld *w, bool candidates)
{
        *w = (struct dworld){.docs = json_array()};
        for (struct pup *pup = p->list; pup; pup = pup->next)
                add_installed(w, pup);
        if (candidates && p->cfg.sources) {
                w->locations = sources_list_json(p->cfg.sources);
                sources_foreach_version(p->cfg.sources, add_candidate, w);
        }
        w->w = (struct resolver_world){.pups = w->pups, .n_pups = w->n};
}

static void dw_done(struct dworld *w)
{
        free(w->pups);
        free(w->logos);
        free(w->docs_of);
        pups_arena_free(&w->a);
        json_decref(w->docs);
        json_decref(w->locations);
}

static struct resolver_dep rdep(const struct manifest_dependency *d)
{
        return (struct resolver_dep){
            .interface = d->interface_name,
            .constraint = d->interface_version,
            .optional = d->optional,
            .hint_location = d->source.source_location,
            .hint_name = d->source.pup_name,
            .hint_version = d->source.pup_version,
        };
}

static struct pup *find_id(struct pups *p, const char *id)
{
        for (struct pup *pup = p->list; id && pup; pup = pup->next)
                if (streq(pup->id, id))
                        return pup;
        return NULL;
}

static const char *provider_of(const struct pup *pup, const char *iface)
{
        json_t *v = json_object_get(pup->providers, iface);
        return json_is_string(v) && json_string_value(v)[0] ? json_string_value(v) : NULL;
}

static bool removed(const struct pup *pup)
{
        return streq(pup->installation, "uninstalled") ||
               streq(pup->installation, "uninstalling") || streq(pup->installation, "purging");
}

/* ---- grants -------------------------------------------------------------- */

void pup_deps_record_grants(struct pups *p, struct pup *pup)
{
        bool changed = false;
        if (!pup->manifest)
                return;
        if (!pup->grants)
                pup->grants = json_object();
        for (size_t i = 0; i < pup->manifest->n_dependencies; i++) {
                const struct manifest_dependency *d = &pup->manifest->dependencies[i];
                if (json_object_get(pup->grants, d->interface_name))
                        continue;
                json_t *g = json_array();
                for (size_t k = 0; k < d->n_permission_groups; k++)
                        json_array_append_new(g, json_string(d->permission_groups[k]));
                json_object_set_new(pup->grants, d->interface_name, g);
                changed = true;
        }
        if (changed)
                pup_dre_save(p, pup);
}

/* ---- reports --------------------------------------------------------------- */

static json_t *candidate_json(const struct dworld *w, const struct resolver_pup *c, bool logo)
{
        const char *l = logo ? w->logos[c - w->pups] : NULL;
        return json_pack("{s:s,s:s,s:s,s:s,s:s}", "sourceLocation", c->source_location ?: "",
                         "pupName", c->name, "pupVersion", c->version, "pupLogoBase64", l ?: "",
                         "sourceId", c->source_id);
}

/* Is the selected provider usable: installed, ready, matching? */
static bool current_ok(const struct dworld *w, const struct pup *pup,
                       const struct manifest_dependency *d)
{
        const char *cur = provider_of(pup, d->interface_name);
        struct resolver_dep rd = rdep(d);
        return cur && resolver_check_provider(&w->w, pup->id, &rd, cur, NULL, NULL) == 0;
}

json_t *pups_providers_json(struct pups *p, struct pup *pup, bool missing_only)
{
        struct dworld w;
        json_t *out = json_array();
        if (!pup->manifest)
                return out;
        dw_build(p, &w, true);
        for (size_t i = 0; i < pup->manifest->n_dependencies; i++) {
                const struct manifest_dependency *d = &pup->manifest->dependencies[i];
                struct resolver_dep rd = rdep(d);
                struct resolver_providers rp = {0};
                struct dbx_error e = {0};
                if (missing_only && (d->optional || current_ok(&w, pup, d)))
                        continue;
                json_t *installed = json_array(), *installable = json_array();
                if (resolver_providers(&w.w, pup->id, &rd, &rp, &e) == 0) {
                        for (size_t k = 0; k < rp.n_installed; k++)
                                json_array_append_new(installed, json_string(rp.installed[k]->id));
                        for (size_t k = 0; k < rp.n_installable; k++)
                                json_array_append_new(
                                    installable,
                                    candidate_json(&w, rp.installable[k], !missing_only));
                }
                json_t *requested = json_array();
                for (size_t k = 0; k < d->n_permission_groups; k++)
                        json_array_append_new(requested, json_string(d->permission_groups[k]));
                json_t *grants = json_object_get(pup->grants, d->interface_name);
                grants = json_is_array(grants) ? json_incref(grants) : json_array();
                json_array_append_new(
                    out,
                    json_pack("{s:s,s:s,s:b,s:s,s:o,s:o,s:{s:s,s:s,s:s,s:s},s:o,s:o,s:s,s:b}",
                              "interface", d->interface_name, "version", d->interface_version,
                              "optional", d->optional, "currentProvider",
                              provider_of(pup, d->interface_name) ?: "", "installedProviders",
                              installed, "InstallableProviders", installable, "DefaultProvider",
                              "sourceLocation", d->source.source_location, "pupName",
                              d->source.pup_name, "pupVersion", d->source.pup_version,
                              "pupLogoBase64", missing_only ? "" : d->source.pup_logo_base64,
                              "permissionGroups", requested, "grantedGroups", grants, "error",
                              e.message, "currentProviderOk", current_ok(&w, pup, d)));
                resolver_providers_done(&rp);
        }
        dw_done(&w);
        return out;
}

/* ---- automatic selection ------------------------------------------------- */

/* Select, for each dependency of pup without a usable provider, the only
 * ready provider if there is exactly one. Returns true when something was
 * chosen. */
static bool autoselect(struct dworld *w, struct pup *pup, const char *only_iface)
{
        bool changed = false;
        for (size_t i = 0; pup->manifest && i < pup->manifest->n_dependencies; i++) {
                const struct manifest_dependency *d = &pup->manifest->dependencies[i];
                struct resolver_dep rd = rdep(d);
                struct resolver_providers rp;
                if ((only_iface && !streq(only_iface, d->interface_name)) || current_ok(w, pup, d))
                        continue;
                if (resolver_providers(&w->w, pup->id, &rd, &rp, NULL) < 0)
                        continue;
                const struct resolver_pup *a = resolver_auto_select(&rp);
                if (a) {
                        json_object_set_new(pup->providers, d->interface_name, json_string(a->id));
                        log_info("pup %s (%s): %s is provided by %s (%s), the only installed "
                                 "provider",
                                 pup->id, pup->name, d->interface_name, a->name, a->id);
                        changed = true;
                }
                resolver_providers_done(&rp);
        }
        return changed;
}

static bool provides(const struct pup *prov, const char *iface)
{
        for (size_t i = 0; prov->manifest && i < prov->manifest->n_interfaces; i++)
                if (streq(prov->manifest->interfaces[i].name, iface))
                        return true;
        return false;
}

static bool is_running(const struct pup *pup)
{
        return pup->sb && sandbox_is_running(pup->sb);
}

void pup_deps_installed(struct pups *p, struct pup *pup)
{
        struct dworld w;
        struct pup *start[PUPS_MAX];
        size_t n_start = 0;
        bool net_changed = false;

        pup_deps_record_grants(p, pup);
        dw_build(p, &w, false);
        if (autoselect(&w, pup, NULL)) {
                pup_persist(p, pup);
                net_changed = true;
        }
        /* pups that were waiting for what this one provides */
        for (struct pup *c = p->list; c; c = c->next) {
                bool changed = false;
                if (c == pup || !c->manifest || removed(c))
                        continue;
                for (size_t i = 0; i < c->manifest->n_dependencies; i++) {
                        const char *iface = c->manifest->dependencies[i].interface_name;
                        if (provides(pup, iface))
                                changed |= autoselect(&w, c, iface);
                }
                if (!changed)
                        continue;
                pup_persist(p, c);
                pup_emit_state(p, c);
                net_changed = true;
                if (c->enabled && streq(c->installation, "ready") && !is_running(c) &&
                    !c->deps_wait && pup_can_start(c, NULL) && n_start < PUPS_MAX)
                        start[n_start++] = c;
        }
        dw_done(&w);
        if (net_changed)
                pup_net_refresh(p);
        for (size_t i = 0; i < n_start; i++) {
                struct dbx_error e = {0};
                if (pup_start(p, start[i], &e) < 0)
                        log_error("pup %s (%s): cannot start now that %s is installed: %s",
                                  start[i]->id, start[i]->name, pup->name, e.message);
        }
}

/* ---- start order ----------------------------------------------------------- */

static void fail_wait(struct pup *pup, int r, const char *msg)
{
        pup->deps_wait = false;
        snprintf(pup->last_exit, sizeof(pup->last_exit), "%s", msg);
        log_error("pup %s (%s): %s", pup->id, pup->name, msg);
        if (pup->wait_job) {
                struct job *j = pup->wait_job;
                pup->wait_job = NULL;
                job_done(j, r, msg);
        }
}

int pup_deps_before_start(struct pups *p, struct pup *pup, struct dbx_error *err)
{
        bool wait = false;
        int r = 0;
        if (pup->deps_visiting)
                return dbx_error_set(err, -ELOOP, "",
                                     "%s is in a dependency cycle: its providers wait for it",
                                     pup->name);
        pup->deps_visiting = true;
        for (size_t i = 0; pup->manifest && i < pup->manifest->n_dependencies && r == 0; i++) {
                const struct manifest_dependency *d = &pup->manifest->dependencies[i];
                const char *id = provider_of(pup, d->interface_name);
                struct pup *prov = find_id(p, id);
                if (d->optional || !id)
                        continue;
                if (!prov || removed(prov)) {
                        r = dbx_error_set(err, -EAGAIN, "",
                                          "%s needs %s, but its provider %s is not installed: "
                                          "choose another one",
                                          pup->name, d->interface_name, id);
                        break;
                }
                if (prov->status == PUP_RUNNING)
                        continue;
                if (prov->status == PUP_STARTING || prov->deps_wait) {
                        wait = true;
                        continue;
                }
                struct dbx_error e = {0};
                if (!prov->enabled) {
                        r = dbx_error_set(err, -EAGAIN, "",
                                          "%s needs %s from %s, which is disabled: enable it "
                                          "first",
                                          pup->name, d->interface_name, prov->name);
                        break;
                }
                if (!pup_can_start(prov, &e)) {
                        r = dbx_error_set(err, -EAGAIN, "", "%s needs %s from %s: %s", pup->name,
                                          d->interface_name, prov->name, e.message);
                        break;
                }
                /* a required provider that is stopped starts first */
                log_info("pup %s (%s): starting %s first, it provides %s", pup->id, pup->name,
                         prov->name, d->interface_name);
                if (pup_start(p, prov, &e) < 0) {
                        r = dbx_error_set(err, -EAGAIN, "", "%s needs %s from %s: %s", pup->name,
                                          d->interface_name, prov->name, e.message);
                        break;
                }
                wait = true;
        }
        pup->deps_visiting = false;
        if (r < 0)
                return r;
        if (wait) {
                if (!pup->deps_wait)
                        log_info("pup %s (%s) waits for its providers to run", pup->id, pup->name);
                pup->deps_wait = true;
                return 1;
        }
        pup->deps_wait = false;
        return 0;
}

static bool waits_for(const struct pup *c, const struct pup *prov)
{
        for (size_t i = 0; c->deps_wait && c->manifest && i < c->manifest->n_dependencies; i++) {
                const char *id = provider_of(c, c->manifest->dependencies[i].interface_name);
                if (!c->manifest->dependencies[i].optional && id && streq(id, prov->id))
                        return true;
        }
        return false;
}

void pup_deps_status_changed(struct pups *p, struct pup *pup)
{
        for (struct pup *c = p->list; c; c = c->next) {
                if (c == pup || !waits_for(c, pup))
                        continue;
                if (pup->status == PUP_RUNNING) {
                        struct dbx_error e = {0};
                        c->deps_wait = false;
                        int r = pup_start(p, c, &e);
                        if (r < 0)
                                fail_wait(c, r, e.message);
                } else if (pup->status == PUP_STOPPED && !pup->want_running) {
                        _cleanup_free_ char *msg = xasprintf(
                            "%s stopped before it was running (%.400s): %s cannot start without "
                            "it",
                            pup->name, pup->last_exit[0] ? pup->last_exit : "stopped", c->name);
                        fail_wait(c, -EIO, msg);
                }
        }
}

void pup_deps_cancel_wait(struct pup *pup)
{
        if (pup->deps_wait)
                fail_wait(pup, -ECANCELED, "the start was cancelled");
}

json_t *pup_deps_not_running_json(struct pups *p, struct pup *pup)
{
        json_t *a = NULL;
        for (size_t i = 0; pup->manifest && i < pup->manifest->n_dependencies; i++) {
                const char *iface = pup->manifest->dependencies[i].interface_name;
                const char *id = provider_of(pup, iface);
                struct pup *prov = find_id(p, id);
                if (!id || (prov && prov->status == PUP_RUNNING))
                        continue;
                if (!a)
                        a = json_array();
                json_array_append_new(a, json_string(iface));
        }
        return a ? a : json_null(); /* upstream: null when all run */
}

/* ---- removing a provider ------------------------------------------------------ */

static size_t consumers_of(struct pups *p, const struct pup *prov, struct pup **out, size_t max)
{
        size_t n = 0;
        for (struct pup *c = p->list; c; c = c->next) {
                const char *k;
                json_t *v;
                bool uses = false;
                if (c == prov || removed(c))
                        continue;
                json_object_foreach(c->providers, k, v) uses |=
                    json_is_string(v) && streq(json_string_value(v), prov->id);
                if (uses && n < max)
                        out[n++] = c;
        }
        return n;
}

int pup_deps_check_remove(struct pups *p, struct pup *pup, const char *action,
                          struct dbx_error *err)
{
        struct pup *cons[PUPS_MAX];
        size_t n = consumers_of(p, pup, cons, PUPS_MAX);
        char names[DBX_ERROR_MSG_MAX / 2];
        size_t len = 0;
        if (!n)
                return 0;
        names[0] = 0;
        for (size_t i = 0; i < n && len < sizeof(names); i++)
                len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s", i ? ", " : "",
                                        cons[i]->name);
        return dbx_error_set(err, -EBUSY, "",
                             "%s provides interfaces to %s: %s it anyway with force "
                             "(POST /pup/%s/%s?force=true); %s then need%s another provider",
                             pup->name, names, action, pup->id, action, n == 1 ? "it" : "they",
                             n == 1 ? "s" : "");
}

void pup_deps_removed(struct pups *p, struct pup *pup)
{
        struct pup *cons[PUPS_MAX];
        size_t n = consumers_of(p, pup, cons, PUPS_MAX);
        struct dworld w;
        if (!n)
                return;
        dw_build(p, &w, false);
        for (size_t i = 0; i < n; i++) {
                struct pup *c = cons[i];
                const char *k;
                json_t *v;
                void *tmp;
                bool was_running = is_running(c);
                json_object_foreach_safe(c->providers, tmp, k, v)
                {
                        if (!json_is_string(v) || !streq(json_string_value(v), pup->id))
                                continue;
                        log_warn("pup %s (%s) lost its provider of %s: %s was removed", c->id,
                                 c->name, k, pup->name);
                        json_object_del(c->providers, k);
                }
                if (c->deps_wait && waits_for(c, pup))
                        fail_wait(c, -EIO, "its provider was removed");
                bool again = autoselect(&w, c, NULL);
                pup_persist(p, c);
                pup_emit_state(p, c);
                if (again && was_running) {
                        char job[33];
                        struct dbx_error e = {0};
                        if (pups_action(p, c->id, "restart", job, &e) < 0)
                                log_error("pup %s: cannot restart it on its new provider: %s",
                                          c->id, e.message);
                }
        }
        dw_done(&w);
}

/* ---- POST /providers/{id} ------------------------------------------------ */

struct providers_op {
        struct pups *p;
        char pup_id[33];
        json_t *sel; /* {interface: provider id or ""} */
};

static void providers_op_free(void *ud)
{
        struct providers_op *o = ud;
        json_decref(o->sel);
        free(o);
}

static void run_providers(struct job *job, void *ud)
{
        struct providers_op *o = ud;
        struct pups *p = o->p;
        struct pup *pup = find_id(p, o->pup_id);
        struct dbx_error e = {0};
        const char *k;
        json_t *v;
        if (!pup || removed(pup)) {
                job_done(job, -ENOENT, "the pup was removed");
                return;
        }
        json_object_foreach(o->sel, k, v)
        {
                const char *id = json_string_value(v);
                if (id[0])
                        json_object_set(pup->providers, k, v);
                else
                        json_object_del(pup->providers, k);
                job_log(job, "%s: %s", k, id[0] ? id : "(no provider)");
        }
        pup_deps_record_grants(p, pup);
        int r = pup_persist(p, pup);
        if (r < 0) {
                job_done(job, r, "cannot save the providers");
                return;
        }
        pup_net_refresh(p);
        pup_emit_state(p, pup);
        if (p->cfg.emit)
                p->cfg.emit(p->cfg.ud, "action", job_get_id(job), pups_state_json(p, pup), NULL);
        if (is_running(pup)) {
                char rj[33];
                r = pups_action(p, pup->id, "restart", rj, &e);
                job_progress(job, 100, "providers", "providers of %s saved; %s", pup->name,
                             r < 0 ? e.message : "it restarts to use them");
                job_done(job, 0, NULL);
                return;
        }
        if (pup->enabled && streq(pup->installation, "ready") && pup_can_start(pup, NULL)) {
                job_progress(job, 60, "start", "starting %s", pup->name);
                r = pup_start(p, pup, &e);
                if (r < 0) {
                        job_done(job, r, e.message);
                        return;
                }
                pup->wait_job = job;
                return;
        }
        job_progress(job, 100, "providers", "providers of %s saved", pup->name);
        job_done(job, 0, NULL);
}

int pups_set_providers(struct pups *p, const char *id, const json_t *body, char ret_job[33],
                       struct dbx_error *err)
{
        struct pup *pup = pups_find(p, id);
        struct dworld w;
        const char *k;
        json_t *v;
        int r = 0;
        if (!pup)
                return dbx_error_set(err, -ENOENT, "", "no pup '%s'", id);
        if (removed(pup) || !pup->manifest)
                return dbx_error_set(err, -EINVAL, "", "%s is %s: it has no providers to choose",
                                     pup->name, pup->installation);
        if (!json_is_object(body) || !json_object_size(body))
                return dbx_error_set(err, -EINVAL, "",
                                     "a JSON object {\"<interface>\": \"<provider pup id>\", ...} "
                                     "is expected (\"\" removes a choice)");
        json_t *sel = json_object();
        dw_build(p, &w, false);
        json_object_foreach((json_t *)body, k, v)
        {
                const struct manifest_dependency *d = NULL;
                for (size_t i = 0; i < pup->manifest->n_dependencies; i++)
                        if (streq(pup->manifest->dependencies[i].interface_name, k))
                                d = &pup->manifest->dependencies[i];
                if (!d) {
                        r = dbx_error_set(err, -EINVAL, k, "%s does not depend on interface '%s'",
                                          pup->name, k);
                        break;
                }
                if (!json_is_string(v)) {
                        r = dbx_error_set(err, -EINVAL, k,
                                          "%s: a provider is a pup id (a string; \"\" removes the "
                                          "choice)",
                                          k);
                        break;
                }
                const char *pid = json_string_value(v);
                if (pid[0]) {
                        struct pup *q = pups_find(p, pid); /* an id, or a unique name */
                        struct resolver_dep rd = rdep(d);
                        const struct resolver_pup *rp = NULL;
                        r = resolver_check_provider(&w.w, pup->id, &rd, q ? q->id : pid, &rp, err);
                        if (r < 0) {
                                r = -EINVAL;
                                break;
                        }
                        pid = rp->id;
                }
                json_object_set_new(sel, k, json_string(pid));
        }
        dw_done(&w);
        if (r < 0) {
                json_decref(sel);
                return r;
        }
        struct providers_op *o = xcalloc(1, sizeof(*o));
        o->p = p;
        snprintf(o->pup_id, sizeof(o->pup_id), "%s", pup->id);
        o->sel = sel;
        char display[160];
        snprintf(display, sizeof(display), "Choose providers for %s", pup->name);
        return pup_job_submit(p, pup, "providers", display, run_providers, o, providers_op_free,
                              ret_job, err);
}

/* ---- auto-install plans ------------------------------------------------------ */

/* A dependency's requested groups as written in a manifest document. */
static json_t *doc_groups(json_t *doc, const char *iface)
{
        json_t *d;
        size_t i;
        json_array_foreach(json_object_get(doc, "dependencies"), i, d)
        {
                json_t *g = json_object_get(d, "permissionGroups");
                if (streq(json_string_value(json_object_get(d, "interfaceName")) ?: "", iface) &&
                    json_is_array(g))
                        return json_deep_copy(g);
        }
        return json_array();
}

struct plan_root {
        struct resolver_pup r;
        json_t *doc;
        struct sources_pup *sp;
};

static json_t *doc_of(struct dworld *w, const struct plan_root *root, const struct resolver_pup *x)
{
        if (x == &root->r)
                return root->doc;
        if (x >= w->pups && x < w->pups + w->n)
                return w->docs_of[x - w->pups];
        return NULL;
}

static json_t *plan_json(struct dworld *w, const struct plan_root *root,
                         const struct resolver_plan *plan)
{
        json_t *install = json_array(), *missing = json_array(), *grants = json_array();
        for (size_t i = 0; i < plan->n_steps; i++) {
                const struct resolver_step *s = &plan->steps[i];
                json_array_append_new(
                    install, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "sourceId", s->pup->source_id,
                                       "sourceLocation", s->pup->source_location ?: "", "pupName",
                                       s->pup->name, "pupVersion", s->pup->version, "interface",
                                       s->interface, "for", s->for_pup->name));
        }
        for (size_t i = 0; i < plan->n_missing; i++) {
                const struct resolver_missing *m = &plan->missing[i];
                json_array_append_new(missing, json_pack("{s:s,s:s,s:s}", "interface", m->interface,
                                                         "version", m->constraint ?: "", "for",
                                                         m->for_pup->name));
        }
        /* the permission groups each pup of the plan asks for: granted at install */
        const struct resolver_pup *all[RESOLVER_PLAN_MAX + 1];
        size_t n_all = 0;
        all[n_all++] = &root->r;
        for (size_t i = 0; i < plan->n_steps; i++)
                all[n_all++] = plan->steps[i].pup;
        for (size_t i = 0; i < n_all; i++) {
                json_t *doc = doc_of(w, root, all[i]);
                for (size_t k = 0; k < all[i]->n_deps; k++)
                        json_array_append_new(
                            grants, json_pack("{s:s,s:s,s:s,s:b,s:o}", "pup", all[i]->name,
                                              "interface", all[i]->deps[k].interface, "version",
                                              all[i]->deps[k].constraint ?: "", "optional",
                                              all[i]->deps[k].optional, "permissionGroups",
                                              doc ? doc_groups(doc, all[i]->deps[k].interface)
                                                  : json_array()));
        }
        return json_pack("{s:{s:s,s:s,s:s},s:o,s:o,s:o}", "pup", "sourceId", root->r.source_id,
                         "pupName", root->r.name, "pupVersion", root->r.version, "install", install,
                         "missing", missing, "grants", grants);
}

static int plan_for(struct pups *p, const struct pups_install_req *req, struct dworld *w,
                    struct plan_root *root, struct resolver_plan *plan, struct dbx_error *err)
{
        const char *version = req->pup_version && req->pup_version[0] ? req->pup_version : "latest";
        if (!req->source_id || !req->source_id[0] || !req->pup_name || !req->pup_name[0])
                return dbx_error_set(err, -EINVAL, "",
                                     "sourceId and pupName are required (pupVersion defaults "
                                     "to the latest version)");
        if (!p->cfg.sources)
                return dbx_error_set(err, -ENOENT, "", "there are no sources");
        int r =
            sources_lookup(p->cfg.sources, req->source_id, req->pup_name, version, &root->sp, err);
        if (r < 0)
                return r;
        root->doc = json_loads(root->sp->manifest_json, 0, NULL);
        if (!root->doc)
                return dbx_error_set(err, -EINVAL, "", "the manifest of %s %s cannot be read",
                                     req->pup_name, version);
        dw_build(p, w, true);
        root->r = (struct resolver_pup){
            .state = RESOLVER_CANDIDATE,
            .source_id = root->sp->source_id,
            .source_location = root->sp->location,
            .name = root->sp->name,
            .version = root->sp->version,
        };
        semver_parse(root->sp->version, 0, &root->r.semver, NULL);
        from_manifest_json(w, root->doc, &root->r, false);
        return resolver_plan(&w->w, &root->r, plan, err);
}

int pups_install_plan(struct pups *p, const struct pups_install_req *req, json_t **ret,
                      struct dbx_error *err)
{
        struct dworld w = {0};
        struct plan_root root = {0};
        struct resolver_plan plan = {0};
        int r = plan_for(p, req, &w, &root, &plan, err);
        if (r >= 0)
                *ret = plan_json(&w, &root, &plan);
        resolver_plan_done(&plan);
        dw_done(&w);
        json_decref(root.doc);
        sources_pup_free(root.sp);
        return r;
}

int pups_install_auto(struct pups *p, const struct pups_install_req *req, char ret_job[33],
                      json_t **ret_plan, struct dbx_error *err)
{
        struct dworld w = {0};
        struct plan_root root = {0};
        struct resolver_plan plan = {0};
        json_t *pj = NULL;
        int r = plan_for(p, req, &w, &root, &plan, err);
        if (r < 0)
                goto out;
        /* refuse before queueing anything (duplicates, bad input) */
        for (struct pup *q = p->list; q; q = q->next)
                if (streq(q->name, req->pup_name) && streq(q->source_id, req->source_id) &&
                    !streq(q->installation, "uninstalled")) {
                        r = dbx_error_set(err, -EEXIST, "",
                                          "%s is already installed (pup %s, version %s)", q->name,
                                          q->id, q->version);
                        goto out;
                }
        pj = plan_json(&w, &root, &plan);
        /* providers first, in plan order (each from its own source) */
        json_t *install = json_object_get(pj, "install");
        for (size_t i = 0; i < plan.n_steps; i++) {
                const struct resolver_step *s = &plan.steps[i];
                struct pups_install_req sr = {.source_id = s->pup->source_id,
                                              .pup_name = s->pup->name,
                                              .pup_version = s->pup->version};
                char job[33];
                struct dbx_error e = {0};
                json_t *step = json_array_get(install, i);
                if (pups_install(p, &sr, job, &e) < 0) {
                        log_error("auto-install of %s %s for %s: %s", s->pup->name, s->pup->version,
                                  req->pup_name, e.message);
                        json_object_set_new(step, "error", json_string(e.message));
                } else {
                        json_object_set_new(step, "jobId", json_string(job));
                }
        }
        struct pups_install_req main_req = *req;
        main_req.auto_install_dependencies = false;
        main_req.pup_version = root.r.version;
        r = pups_install(p, &main_req, ret_job, err);
out:
        if (r >= 0)
                *ret_plan = pj;
        else
                json_decref(pj);
        resolver_plan_done(&plan);
        dw_done(&w);
        json_decref(root.doc);
        sources_pup_free(root.sp);
        return r;
}
