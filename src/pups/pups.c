/* Pup states: loading, persisting and the upstream JSON shapes. */
#include <sodium.h>
#include "core/fsutil.h"
#include "core/log.h"
#include "core/macro.h"
#include "core/util.h"
#include "pups/internal.h"
#include "runtime/sandbox.h"
#include "store/store_pups.h"

#define LOGO_MAX (512 * 1024) /* bigger logos are not inlined into bootstrap */

char *pup_path(struct pups *p, const char *kind, const char *id)
{
        return xasprintf("%s/%s/%s", p->data_dir, kind, id);
}

static char *dump(const json_t *j)
{
        return json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

int pup_persist(struct pups *p, struct pup *pup)
{
        _cleanup_free_ char *source = dump(pup->source), *config = dump(pup->config),
                            *providers = dump(pup->providers), *webuis = dump(pup->web_uis);
        struct store_pup_row row = {
            .id = pup->id,
            .name = pup->name,
            .version = pup->version,
            .source_id = pup->source_id,
            .source = source,
            .manifest = pup->manifest_text,
            .config = config,
            .providers = providers,
            .installation = pup->installation,
            .broken_reason = pup->broken_reason ? pup->broken_reason : "",
            .ip = pup->ip,
            .web_uis = webuis,
            .config_saved = pup->config_saved,
            .enabled = pup->enabled,
            .uid_base = pup->uid_base,
            .key_index = pup->key_index,
            .created_ms = pup->created_ms,
        };
        return store_pup_put(p->cfg.store, &row);
}

bool pup_needs_conf(struct pup *pup)
{
        return pup->manifest &&
               manifest_config_needed(pup->manifest, pup->config, pup->config_saved);
}

/* A non-optional dependency without a provider. Providers are chosen in the
 * DRE (dependencies) work; until one is set, a pup with required
 * dependencies cannot start. */
bool pup_needs_deps(struct pup *pup)
{
        if (!pup->manifest)
                return false;
        for (size_t i = 0; i < pup->manifest->n_dependencies; i++) {
                const struct manifest_dependency *d = &pup->manifest->dependencies[i];
                if (d->optional)
                        continue;
                json_t *prov = json_object_get(pup->providers, d->interface_name);
                if (!json_is_string(prov) || !json_string_value(prov)[0])
                        return true;
        }
        return false;
}

json_t *pups_state_json(struct pups *p, struct pup *pup)
{
        json_t *manifest = pup->manifest ? manifest_to_json(pup->manifest) : json_object();
        return json_pack("{s:s,s:s,s:O,s:o,s:O,s:b,s:O,s:[],s:s,s:s,s:b,s:b,s:b,s:s,s:s,s:O,"
                         "s:b,s:[]}",
                         "id", pup->id, "logoBase64", "", "source", pup->source, "manifest",
                         manifest, "config", pup->config, "configSaved", pup->config_saved,
                         "providers", pup->providers, "hooks", "installation", pup->installation,
                         "brokenReason", pup->broken_reason ? pup->broken_reason : "", "enabled",
                         pup->enabled, "needsConf", pup_needs_conf(pup), "needsDeps",
                         pup_needs_deps(pup), "ip", pup->ip, "version", pup->version, "webUIs",
                         pup->web_uis, "isDevModeEnabled", 0, "devModeServices");
}

json_t *pups_states_json(struct pups *p)
{
        json_t *o = json_object();
        for (struct pup *pup = p->list; pup; pup = pup->next)
                json_object_set_new(o, pup->id, pups_state_json(p, pup));
        return o;
}

void pup_emit_state(struct pups *p, struct pup *pup)
{
        if (p->cfg.emit)
                p->cfg.emit(p->cfg.ud, "pup", "internal", pups_state_json(p, pup), NULL);
}

/* Commit an installation change and tell the clients. */
void pup_set_installation(struct pups *p, struct pup *pup, const char *state, const char *broken)
{
        snprintf(pup->installation, sizeof(pup->installation), "%s", state);
        if (broken) {
                free(pup->broken_reason);
                pup->broken_reason = xstrdup(broken);
        } else if (!streq(state, "broken")) {
                free(pup->broken_reason);
                pup->broken_reason = NULL; /* upstream never clears it: a bug */
        }
        int r = pup_persist(p, pup);
        if (r < 0)
                log_error("pup %s: cannot save state %s: %s", pup->id, state, strerror(-r));
        pup_emit_state(p, pup);
}

static json_t *ring_json(const struct ring *r)
{
        json_t *a = json_array();
        /* oldest first, null for slots never written, fixed size as upstream */
        for (unsigned i = 0; i < PUPS_STATS_HISTORY - r->n; i++)
                json_array_append_new(a, json_null());
        for (unsigned i = 0; i < r->n; i++) {
                unsigned idx = (r->head + PUPS_STATS_HISTORY - r->n + i) % PUPS_STATS_HISTORY;
                json_array_append_new(a, json_real(r->v[idx]));
        }
        return a;
}

json_t *pups_metrics_json(struct pups *p, struct pup *pup)
{
        /* DRE: custom metrics pushed through the pup gateway (metrics.c),
         * each a ring buffer of its history, oldest first, null-padded */
        json_t *o = json_object();
        for (size_t i = 0; pup->manifest && i < pup->manifest->n_metrics; i++)
                json_object_set_new(o, pup->manifest->metrics[i].name,
                                    pup_metric_values_json(pup, i));
        return o;
}

json_t *pups_stats_json(struct pups *p, struct pup *pup)
{
        json_t *metrics = json_array();
        json_t *custom = pups_metrics_json(p, pup);
        for (size_t i = 0; pup->manifest && i < pup->manifest->n_metrics; i++) {
                const struct manifest_metric *m = &pup->manifest->metrics[i];
                json_array_append_new(metrics,
                                      json_pack("{s:s,s:s,s:s,s:O}", "name", m->name, "label",
                                                m->label[0] ? m->label : m->name, "type",
                                                manifest_metric_type_name(m->type), "values",
                                                json_object_get(custom, m->name)));
        }
        json_decref(custom);
        struct ring disk = {0};
        disk.v[0] = (double)pup->disk_bytes / (1024.0 * 1024.0);
        disk.n = pup->disk_sampled_usec ? 1 : 0;
        disk.head = disk.n;
        return json_pack("{s:s,s:s,s:[{s:s,s:s,s:s,s:o},{s:s,s:s,s:s,s:o},{s:s,s:s,s:s,s:o}],s:o,"
                         "s:{s:o,s:n,s:b},s:i,s:s,s:I}",
                         "id", pup->id, "status", pup_status_name(pup->status), "systemMetrics",
                         "name", "CPU", "label", "CPU", "type", "float", "values",
                         ring_json(&pup->cpu), "name", "Memory", "label", "Memory", "type", "float",
                         "values", ring_json(&pup->mem), "name", "Disk Usage", "label",
                         "Disk Usage", "type", "float", "values", ring_json(&disk), "metrics",
                         metrics, "issues", "depsNotRunning",
                         pup_deps_not_running_json(p, pup) /* DRE: [iface] or null */,
                         "healthWarnings", "upgradeAvailable", 0, "restarts", pup->restarts,
                         "lastExit", pup->last_exit, "diskBytes", (json_int_t)pup->disk_bytes);
}

json_t *pups_all_stats_json(struct pups *p)
{
        json_t *o = json_object();
        for (struct pup *pup = p->list; pup; pup = pup->next)
                json_object_set_new(o, pup->id, pups_stats_json(p, pup));
        return o;
}

/* data:image/png;base64,... of the pup's logo, read once and cached. */
static const char *pup_logo(struct pups *p, struct pup *pup)
{
        if (pup->logo_data_url)
                return pup->logo_data_url;
        const char *lp = pup->manifest ? pup->manifest->meta.logo_path : "";
        const char *mime = NULL;
        if (lp[0] && !strstr(lp, "..") && lp[0] != '/') {
                const char *dot = strrchr(lp, '.');
                if (dot && !strcasecmp(dot, ".png"))
                        mime = "image/png";
                else if (dot && (!strcasecmp(dot, ".jpg") || !strcasecmp(dot, ".jpeg")))
                        mime = "image/jpeg";
        }
        _cleanup_free_ char *data = NULL;
        size_t len = 0;
        if (mime) {
                _cleanup_free_ char *path = xasprintf("%s/pups/%s/%s", p->data_dir, pup->id, lp);
                if (fs_read_file(path, LOGO_MAX, &data, &len) < 0)
                        mime = NULL;
        }
        if (!mime) {
                pup->logo_data_url = xstrdup("");
                return pup->logo_data_url;
        }
        size_t b64 = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
        size_t prefix = strlen("data:;base64,") + strlen(mime);
        pup->logo_data_url = xmalloc(prefix + b64);
        snprintf(pup->logo_data_url, prefix + 1, "data:%s;base64,", mime);
        sodium_bin2base64(pup->logo_data_url + prefix, b64, (const unsigned char *)data, len,
                          sodium_base64_VARIANT_ORIGINAL);
        return pup->logo_data_url;
}

json_t *pups_assets_json(struct pups *p)
{
        json_t *o = json_object();
        for (struct pup *pup = p->list; pup; pup = pup->next)
                json_object_set_new(
                    o, pup->id,
                    json_pack("{s:{s:s}}", "logos", "mainLogoBase64", pup_logo(p, pup)));
        return o;
}

struct pup *pup_new(struct pups *p)
{
        struct pup *pup = xcalloc(1, sizeof(*pup));
        pup->pups = p;
        pup->key_index = -1;
        pup->config = json_object();
        pup->providers = json_object();
        pup->web_uis = json_array();
        pup->source = json_object();
        /* append: the list stays in creation order */
        struct pup **tail = &p->list;
        while (*tail)
                tail = &(*tail)->next;
        *tail = pup;
        p->n++;
        return pup;
}

void pup_unlink_free(struct pups *p, struct pup *pup)
{
        for (struct pup **it = &p->list; *it; it = &(*it)->next) {
                if (*it == pup) {
                        *it = pup->next;
                        p->n--;
                        break;
                }
        }
        sandbox_free(pup->sb);
        pup_dre_free(pup); /* DRE: grants, service addresses, metrics */
        free(pup->name);
        free(pup->version);
        free(pup->source_id);
        json_decref(pup->source);
        free(pup->manifest_text);
        manifest_free(pup->manifest);
        json_decref(pup->config);
        json_decref(pup->providers);
        json_decref(pup->web_uis);
        free(pup->broken_reason);
        free(pup->logo_data_url);
        free(pup->log_path);
        free(pup);
}

static json_t *load_json(const char *text, json_t *fallback)
{
        json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
        if (!j)
                return fallback;
        json_decref(fallback);
        return j;
}

static int load_row(const struct store_pup_row *row, void *ud)
{
        struct pups *p = ud;
        struct pup *pup = pup_new(p);
        snprintf(pup->id, sizeof(pup->id), "%s", row->id);
        pup->name = xstrdup(row->name);
        pup->version = xstrdup(row->version);
        pup->source_id = xstrdup(row->source_id);
        pup->source = load_json(row->source, pup->source);
        pup->manifest_text = xstrdup(row->manifest);
        pup->config = load_json(row->config, pup->config);
        pup->providers = load_json(row->providers, pup->providers);
        pup->web_uis = load_json(row->web_uis, pup->web_uis);
        pup->config_saved = row->config_saved;
        pup->enabled = row->enabled;
        snprintf(pup->installation, sizeof(pup->installation), "%s", row->installation);
        pup->broken_reason = row->broken_reason[0] ? xstrdup(row->broken_reason) : NULL;
        snprintf(pup->ip, sizeof(pup->ip), "%s", row->ip);
        pup->uid_base = (uint32_t)row->uid_base;
        pup->key_index = row->key_index;
        pup->created_ms = row->created_ms;
        struct dbx_errors errs = {0};
        if (manifest_parse(pup->manifest_text, strlen(pup->manifest_text), &pup->manifest, &errs,
                           NULL) < 0) {
                /* a manifest we accepted at install no longer parses (a newer,
                 * stricter daemon): the pup cannot run until reinstalled */
                log_error("pup %s (%s): stored manifest no longer valid: %s", pup->id, pup->name,
                          errs.n ? errs.items[0].message : "?");
                snprintf(pup->installation, sizeof(pup->installation), "broken");
                free(pup->broken_reason);
                pup->broken_reason = xstrdup("manifest_invalid");
        }
        dbx_errors_free(&errs);
        return 0;
}

static int on_stats_timer(sd_event_source *s, uint64_t usec, void *ud)
{
        struct pups *p = ud;
        pups_stats_sample(p);
        if (p->cfg.emit && p->n) {
                json_t *arr = json_array();
                for (struct pup *pup = p->list; pup; pup = pup->next)
                        json_array_append_new(arr, pups_stats_json(p, pup));
                p->cfg.emit(p->cfg.ud, "stats", "internal", arr, NULL);
        }
        sd_event_source_set_time(s, usec + PUPS_STATS_INTERVAL_S * 1000000ULL);
        return 0;
}

int pups_new(const struct pups_config *cfg, struct pups **ret, struct dbx_error *err)
{
        struct pups *p = xcalloc(1, sizeof(*p));
        p->cfg = *cfg;
        p->data_dir = xstrdup(cfg->data_dir);
        int r = store_pup_foreach(cfg->store, load_row, p);
        if (r < 0) {
                pups_free(p);
                return dbx_error_set(err, r, "", "cannot load pups from the database: %s",
                                     strerror(-r));
        }
        uint64_t now;
        sd_event_now(cfg->event, CLOCK_MONOTONIC, &now);
        r = sd_event_add_time(cfg->event, &p->stats_timer, CLOCK_MONOTONIC,
                              now + PUPS_STATS_INTERVAL_S * 1000000ULL, 100000, on_stats_timer, p);
        if (r < 0) {
                pups_free(p);
                return dbx_error_set(err, r, "", "cannot start the stats timer");
        }
        sd_event_source_set_enabled(p->stats_timer, SD_EVENT_ON);
        *ret = p;
        return 0;
}

struct pups *pups_free(struct pups *p)
{
        if (!p)
                return NULL;
        pups_dre_free(p); /* DRE: stops nginx */
        sd_event_source_disable_unref(p->stats_timer);
        sd_event_source_disable_unref(p->shutdown_timer);
        while (p->list)
                pup_unlink_free(p, p->list);
        free(p->data_dir);
        free(p);
        return NULL;
}

size_t pups_count(struct pups *p)
{
        return p->n;
}

int pups_foreach(struct pups *p,
                 int (*fn)(void *ud, const char *id, const char *storage, uid_t uid, gid_t gid),
                 void *ud)
{
        for (struct pup *pup = p->list; pup; pup = pup->next) {
                _cleanup_free_ char *storage = pup_path(p, "storage", pup->id);
                int r = fn(ud, pup->id, storage,
                           sandbox_uidrange_host(pup->uid_base, SANDBOX_UID_INSIDE),
                           sandbox_uidrange_host(pup->uid_base, SANDBOX_GID_INSIDE));
                if (r < 0)
                        return r;
        }
        return 0;
}

const char *pup_id(const struct pup *pup)
{
        return pup->id;
}

struct pup *pups_find(struct pups *p, const char *id_or_name)
{
        struct pup *by_name = NULL;
        int named = 0;
        for (struct pup *pup = p->list; pup; pup = pup->next) {
                if (streq(pup->id, id_or_name))
                        return pup;
                if (pup->name && !strcasecmp(pup->name, id_or_name)) {
                        by_name = pup;
                        named++;
                }
        }
        return named == 1 ? by_name : NULL; /* a name must be unambiguous */
}
