/* manifest_to_json(): the upstream PupManifest shape (reference
 * upstream-api.md §6.7), key order as upstream's Go struct, so the
 * upstream web UI reads our responses unchanged. */
#include <math.h>
#include "manifest/internal.h"

static json_t *str(const char *s)
{
        return json_string(s ? s : "");
}

/* Go's float64 prints 1 as 1 and 0.5 as 0.5. */
static json_t *number(double d)
{
        if (d == floor(d) && fabs(d) < 9007199254740992.0) /* 2^53: exact as an integer */
                return json_integer((json_int_t)d);
        return json_real(d);
}

static json_t *str_list(const char *const *v, size_t n)
{
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(a, str(v[i]));
        return a;
}

static json_t *kv_map(const struct manifest_kv *v, size_t n)
{
        json_t *o = json_object();
        for (size_t i = 0; i < n; i++)
                json_object_set_new(o, v[i].key, str(v[i].value));
        return o;
}

static json_t *meta_json(const struct manifest_meta *m)
{
        return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "name", str(m->name), "version",
                         str(m->version), "logoPath", str(m->logo_path), "shortDescription",
                         str(m->short_description), "longDescription", str(m->long_description),
                         "upstreamVersions", kv_map(m->upstream_versions, m->n_upstream_versions));
}

static json_t *field_json(const struct manifest_field *f)
{
        json_t *o = json_pack("{s:o, s:o, s:s, s:b}", "label", str(f->label), "name", str(f->name),
                              "type", manifest_field_type_name(f->type), "required", f->required);
        if (f->placeholder)
                json_object_set_new(o, "placeholder", str(f->placeholder));
        if (f->help)
                json_object_set_new(o, "help", str(f->help));
        if (f->default_json)
                json_object_set_new(o, "default", json_deep_copy(f->default_json));
        if (f->has_min)
                json_object_set_new(o, "min", number(f->min));
        if (f->has_max)
                json_object_set_new(o, "max", number(f->max));
        if (f->has_step)
                json_object_set_new(o, "step", number(f->step));
        if (f->n_options) {
                json_t *opts = json_array();
                for (size_t i = 0; i < f->n_options; i++)
                        json_array_append_new(opts, json_pack("{s:o, s:o}", "label",
                                                              str(f->options[i].label), "value",
                                                              str(f->options[i].value)));
                json_object_set_new(o, "options", opts);
        }
        return o;
}

static json_t *config_json(const struct manifest_config *c)
{
        json_t *sections = json_array();
        for (size_t s = 0; s < c->n_sections; s++) {
                const struct manifest_section *sec = &c->sections[s];
                json_t *fields = json_array();
                for (size_t f = 0; f < sec->n_fields; f++)
                        json_array_append_new(fields, field_json(&sec->fields[f]));
                json_array_append_new(sections,
                                      json_pack("{s:o, s:o, s:o}", "name", str(sec->name), "label",
                                                str(sec->label), "fields", fields));
        }
        return json_pack("{s:b, s:o}", "showOnInstall", c->show_on_install, "sections", sections);
}

static json_t *build_json(const struct manifest_build *b)
{
        switch (b->type) {
        case MANIFEST_BUILD_NIX_FILE:
                return json_pack("{s:o, s:o}", "nixFile", str(b->nix_file), "nixFileSha256",
                                 str(b->nix_file_sha256));
        case MANIFEST_BUILD_FLAKE: {
                json_t *o = json_pack("{s:s}", "type", "flake");
                if (b->flake_path || b->flake_package) {
                        json_t *fl = json_object();
                        if (b->flake_path)
                                json_object_set_new(fl, "path", str(b->flake_path));
                        if (b->flake_package)
                                json_object_set_new(fl, "package", str(b->flake_package));
                        json_object_set_new(o, "flake", fl);
                }
                return o;
        }
        case MANIFEST_BUILD_NATIVE:
                break;
        }
        return json_pack("{s:s}", "type", "native");
}

static json_t *container_json(const struct manifest_container *c)
{
        json_t *services = json_array(), *exposes = json_array(), *o;

        for (size_t i = 0; i < c->n_services; i++) {
                const struct manifest_service *s = &c->services[i];
                json_t *cmd = json_pack("{s:o, s:o, s:o}", "exec", str(s->exec), "cwd", str(s->cwd),
                                        "env", kv_map(s->env, s->n_env));
                if (s->n_args)
                        json_object_set_new(cmd, "args", str_list(s->args, s->n_args));
                json_array_append_new(
                    services, json_pack("{s:o, s:o}", "name", str(s->name), "command", cmd));
        }
        for (size_t i = 0; i < c->n_exposes; i++) {
                const struct manifest_expose *e = &c->exposes[i];
                json_array_append_new(
                    exposes,
                    json_pack("{s:o, s:s, s:i, s:o, s:b, s:b}", "name", str(e->name), "type",
                              manifest_expose_type_name(e->type), "port", (int)e->port,
                              "interfaces", str_list(e->interfaces, e->n_interfaces),
                              "listenOnHost", e->listen_on_host, "webUI", e->web_ui));
        }
        o = json_pack("{s:o, s:o, s:o, s:b}", "build", build_json(&c->build), "services", services,
                      "exposes", exposes, "requiresInternet", c->requires_internet);
        if (c->resources.memory || c->resources.pids || c->resources.cpu_weight) {
                json_t *r = json_object();
                if (c->resources.memory)
                        json_object_set_new(r, "memory",
                                            json_integer((json_int_t)c->resources.memory));
                if (c->resources.pids)
                        json_object_set_new(r, "pids", json_integer(c->resources.pids));
                if (c->resources.cpu_weight)
                        json_object_set_new(r, "cpuWeight", json_integer(c->resources.cpu_weight));
                json_object_set_new(o, "resources", r);
        }
        return o;
}

static json_t *interfaces_json(const struct manifest *m)
{
        json_t *a = json_array();
        for (size_t i = 0; i < m->n_interfaces; i++) {
                const struct manifest_interface *it = &m->interfaces[i];
                json_t *groups = json_array();
                for (size_t g = 0; g < it->n_permission_groups; g++) {
                        const struct manifest_permission_group *pg = &it->permission_groups[g];
                        json_array_append_new(groups, json_pack("{s:o, s:o, s:i, s:o, s:i}", "name",
                                                                str(pg->name), "description",
                                                                str(pg->description), "severity",
                                                                pg->severity, "routes",
                                                                str_list(pg->routes, pg->n_routes),
                                                                "port", (int)pg->port));
                }
                json_array_append_new(a,
                                      json_pack("{s:o, s:o, s:o}", "name", str(it->name), "version",
                                                str(it->version), "permissionGroups", groups));
        }
        return a;
}

static json_t *dependencies_json(const struct manifest *m)
{
        json_t *a = json_array();
        for (size_t i = 0; i < m->n_dependencies; i++) {
                const struct manifest_dependency *d = &m->dependencies[i];
                const struct manifest_dependency_source *s = &d->source;
                json_array_append_new(
                    a,
                    json_pack("{s:o, s:o, s:o, s:{s:o, s:o, s:o, s:o}, s:b}", "interfaceName",
                              str(d->interface_name), "interfaceVersion", str(d->interface_version),
                              "permissionGroups",
                              str_list(d->permission_groups, d->n_permission_groups), "source",
                              "sourceLocation", str(s->source_location), "pupName",
                              str(s->pup_name), "pupVersion", str(s->pup_version), "pupLogoBase64",
                              str(s->pup_logo_base64), "optional", d->optional));
        }
        return a;
}

static json_t *metrics_json(const struct manifest *m)
{
        json_t *a = json_array();
        for (size_t i = 0; i < m->n_metrics; i++) {
                const struct manifest_metric *mt = &m->metrics[i];
                json_t *o = json_pack("{s:o, s:o, s:s, s:i}", "name", str(mt->name), "label",
                                      str(mt->label), "type", manifest_metric_type_name(mt->type),
                                      "history", (int)mt->history);
                if (mt->description && *mt->description)
                        json_object_set_new(o, "description", str(mt->description));
                json_array_append_new(a, o);
        }
        return a;
}

json_t *manifest_to_json(const struct manifest *m)
{
        json_t *o =
            json_pack("{s:i, s:o, s:o, s:o, s:o, s:o, s:o}", "manifestVersion", m->manifest_version,
                      "meta", meta_json(&m->meta), "config", config_json(&m->config), "container",
                      container_json(&m->container), "interfaces", interfaces_json(m),
                      "dependencies", dependencies_json(m), "metrics", metrics_json(m));
        if (!o)
                abort(); /* only allocation failure makes json_pack fail here */
        return o;
}

/* ---- the same JSON written as text, without jansson objects ---- */

/* number() above, written: integers below 2^53 as integers, else a real. */
static void put_number(struct jbuf *b, double d)
{
        if (d == floor(d) && fabs(d) < 9007199254740992.0)
                jbuf_int(b, (long long)d);
        else
                jbuf_real(b, d);
}

static void put_bool(struct jbuf *b, bool v)
{
        if (v)
                JBUF_LIT(b, "true");
        else
                JBUF_LIT(b, "false");
}

static void put_str_list(struct jbuf *b, const char *const *v, size_t n)
{
        JBUF_LIT(b, "[");
        for (size_t i = 0; i < n; i++) {
                if (i)
                        JBUF_LIT(b, ",");
                jbuf_str(b, v[i]);
        }
        JBUF_LIT(b, "]");
}

static void put_kv_map(struct jbuf *b, const struct manifest_kv *v, size_t n)
{
        JBUF_LIT(b, "{");
        for (size_t i = 0; i < n; i++) {
                if (i)
                        JBUF_LIT(b, ",");
                jbuf_str(b, v[i].key);
                JBUF_LIT(b, ":");
                jbuf_str(b, v[i].value);
        }
        JBUF_LIT(b, "}");
}

static void put_meta(struct jbuf *b, const struct manifest_meta *m)
{
        JBUF_LIT(b, "{\"name\":");
        jbuf_str(b, m->name);
        JBUF_LIT(b, ",\"version\":");
        jbuf_str(b, m->version);
        JBUF_LIT(b, ",\"logoPath\":");
        jbuf_str(b, m->logo_path);
        JBUF_LIT(b, ",\"shortDescription\":");
        jbuf_str(b, m->short_description);
        JBUF_LIT(b, ",\"longDescription\":");
        jbuf_str(b, m->long_description);
        JBUF_LIT(b, ",\"upstreamVersions\":");
        put_kv_map(b, m->upstream_versions, m->n_upstream_versions);
        JBUF_LIT(b, "}");
}

static void put_field(struct jbuf *b, const struct manifest_field *f)
{
        JBUF_LIT(b, "{\"label\":");
        jbuf_str(b, f->label);
        JBUF_LIT(b, ",\"name\":");
        jbuf_str(b, f->name);
        JBUF_LIT(b, ",\"type\":");
        jbuf_str(b, manifest_field_type_name(f->type));
        JBUF_LIT(b, ",\"required\":");
        put_bool(b, f->required);
        if (f->placeholder) {
                JBUF_LIT(b, ",\"placeholder\":");
                jbuf_str(b, f->placeholder);
        }
        if (f->help) {
                JBUF_LIT(b, ",\"help\":");
                jbuf_str(b, f->help);
        }
        if (f->default_json) {
                JBUF_LIT(b, ",\"default\":");
                jbuf_json(b, f->default_json);
        }
        if (f->has_min) {
                JBUF_LIT(b, ",\"min\":");
                put_number(b, f->min);
        }
        if (f->has_max) {
                JBUF_LIT(b, ",\"max\":");
                put_number(b, f->max);
        }
        if (f->has_step) {
                JBUF_LIT(b, ",\"step\":");
                put_number(b, f->step);
        }
        if (f->n_options) {
                JBUF_LIT(b, ",\"options\":[");
                for (size_t i = 0; i < f->n_options; i++) {
                        if (i)
                                JBUF_LIT(b, ",");
                        JBUF_LIT(b, "{\"label\":");
                        jbuf_str(b, f->options[i].label);
                        JBUF_LIT(b, ",\"value\":");
                        jbuf_str(b, f->options[i].value);
                        JBUF_LIT(b, "}");
                }
                JBUF_LIT(b, "]");
        }
        JBUF_LIT(b, "}");
}

static void put_config(struct jbuf *b, const struct manifest_config *c)
{
        JBUF_LIT(b, "{\"showOnInstall\":");
        put_bool(b, c->show_on_install);
        JBUF_LIT(b, ",\"sections\":[");
        for (size_t s = 0; s < c->n_sections; s++) {
                const struct manifest_section *sec = &c->sections[s];
                if (s)
                        JBUF_LIT(b, ",");
                JBUF_LIT(b, "{\"name\":");
                jbuf_str(b, sec->name);
                JBUF_LIT(b, ",\"label\":");
                jbuf_str(b, sec->label);
                JBUF_LIT(b, ",\"fields\":[");
                for (size_t f = 0; f < sec->n_fields; f++) {
                        if (f)
                                JBUF_LIT(b, ",");
                        put_field(b, &sec->fields[f]);
                }
                JBUF_LIT(b, "]}");
        }
        JBUF_LIT(b, "]}");
}

static void put_build(struct jbuf *b, const struct manifest_build *bd)
{
        switch (bd->type) {
        case MANIFEST_BUILD_NIX_FILE:
                JBUF_LIT(b, "{\"nixFile\":");
                jbuf_str(b, bd->nix_file);
                JBUF_LIT(b, ",\"nixFileSha256\":");
                jbuf_str(b, bd->nix_file_sha256);
                JBUF_LIT(b, "}");
                return;
        case MANIFEST_BUILD_FLAKE:
                JBUF_LIT(b, "{\"type\":\"flake\"");
                if (bd->flake_path || bd->flake_package) {
                        JBUF_LIT(b, ",\"flake\":{");
                        if (bd->flake_path) {
                                JBUF_LIT(b, "\"path\":");
                                jbuf_str(b, bd->flake_path);
                        }
                        if (bd->flake_package) {
                                if (bd->flake_path)
                                        JBUF_LIT(b, ",");
                                JBUF_LIT(b, "\"package\":");
                                jbuf_str(b, bd->flake_package);
                        }
                        JBUF_LIT(b, "}");
                }
                JBUF_LIT(b, "}");
                return;
        case MANIFEST_BUILD_NATIVE:
                break;
        }
        JBUF_LIT(b, "{\"type\":\"native\"}");
}

static void put_container(struct jbuf *b, const struct manifest_container *c)
{
        JBUF_LIT(b, "{\"build\":");
        put_build(b, &c->build);
        JBUF_LIT(b, ",\"services\":[");
        for (size_t i = 0; i < c->n_services; i++) {
                const struct manifest_service *s = &c->services[i];
                if (i)
                        JBUF_LIT(b, ",");
                JBUF_LIT(b, "{\"name\":");
                jbuf_str(b, s->name);
                JBUF_LIT(b, ",\"command\":{\"exec\":");
                jbuf_str(b, s->exec);
                JBUF_LIT(b, ",\"cwd\":");
                jbuf_str(b, s->cwd);
                JBUF_LIT(b, ",\"env\":");
                put_kv_map(b, s->env, s->n_env);
                if (s->n_args) {
                        JBUF_LIT(b, ",\"args\":");
                        put_str_list(b, s->args, s->n_args);
                }
                JBUF_LIT(b, "}}");
        }
        JBUF_LIT(b, "],\"exposes\":[");
        for (size_t i = 0; i < c->n_exposes; i++) {
                const struct manifest_expose *e = &c->exposes[i];
                if (i)
                        JBUF_LIT(b, ",");
                JBUF_LIT(b, "{\"name\":");
                jbuf_str(b, e->name);
                JBUF_LIT(b, ",\"type\":");
                jbuf_str(b, manifest_expose_type_name(e->type));
                JBUF_LIT(b, ",\"port\":");
                jbuf_int(b, e->port);
                JBUF_LIT(b, ",\"interfaces\":");
                put_str_list(b, e->interfaces, e->n_interfaces);
                JBUF_LIT(b, ",\"listenOnHost\":");
                put_bool(b, e->listen_on_host);
                JBUF_LIT(b, ",\"webUI\":");
                put_bool(b, e->web_ui);
                JBUF_LIT(b, "}");
        }
        JBUF_LIT(b, "],\"requiresInternet\":");
        put_bool(b, c->requires_internet);
        if (c->resources.memory || c->resources.pids || c->resources.cpu_weight) {
                const char *sep = "";
                JBUF_LIT(b, ",\"resources\":{");
                if (c->resources.memory) {
                        JBUF_LIT(b, "\"memory\":");
                        jbuf_int(b, (long long)c->resources.memory);
                        sep = ",";
                }
                if (c->resources.pids) {
                        jbuf_puts(b, sep);
                        JBUF_LIT(b, "\"pids\":");
                        jbuf_int(b, c->resources.pids);
                        sep = ",";
                }
                if (c->resources.cpu_weight) {
                        jbuf_puts(b, sep);
                        JBUF_LIT(b, "\"cpuWeight\":");
                        jbuf_int(b, c->resources.cpu_weight);
                }
                JBUF_LIT(b, "}");
        }
        JBUF_LIT(b, "}");
}

static void put_interfaces(struct jbuf *b, const struct manifest *m)
{
        JBUF_LIT(b, "[");
        for (size_t i = 0; i < m->n_interfaces; i++) {
                const struct manifest_interface *it = &m->interfaces[i];
                if (i)
                        JBUF_LIT(b, ",");
                JBUF_LIT(b, "{\"name\":");
                jbuf_str(b, it->name);
                JBUF_LIT(b, ",\"version\":");
                jbuf_str(b, it->version);
                JBUF_LIT(b, ",\"permissionGroups\":[");
                for (size_t g = 0; g < it->n_permission_groups; g++) {
                        const struct manifest_permission_group *pg = &it->permission_groups[g];
                        if (g)
                                JBUF_LIT(b, ",");
                        JBUF_LIT(b, "{\"name\":");
                        jbuf_str(b, pg->name);
                        JBUF_LIT(b, ",\"description\":");
                        jbuf_str(b, pg->description);
                        JBUF_LIT(b, ",\"severity\":");
                        jbuf_int(b, pg->severity);
                        JBUF_LIT(b, ",\"routes\":");
                        put_str_list(b, pg->routes, pg->n_routes);
                        JBUF_LIT(b, ",\"port\":");
                        jbuf_int(b, pg->port);
                        JBUF_LIT(b, "}");
                }
                JBUF_LIT(b, "]}");
        }
        JBUF_LIT(b, "]");
}

static void put_dependencies(struct jbuf *b, const struct manifest *m)
{
        JBUF_LIT(b, "[");
        for (size_t i = 0; i < m->n_dependencies; i++) {
                const struct manifest_dependency *d = &m->dependencies[i];
                const struct manifest_dependency_source *s = &d->source;
                if (i)
                        JBUF_LIT(b, ",");
                JBUF_LIT(b, "{\"interfaceName\":");
                jbuf_str(b, d->interface_name);
                JBUF_LIT(b, ",\"interfaceVersion\":");
                jbuf_str(b, d->interface_version);
                JBUF_LIT(b, ",\"permissionGroups\":");
                put_str_list(b, d->permission_groups, d->n_permission_groups);
                JBUF_LIT(b, ",\"source\":{\"sourceLocation\":");
                jbuf_str(b, s->source_location);
                JBUF_LIT(b, ",\"pupName\":");
                jbuf_str(b, s->pup_name);
                JBUF_LIT(b, ",\"pupVersion\":");
                jbuf_str(b, s->pup_version);
                JBUF_LIT(b, ",\"pupLogoBase64\":");
                jbuf_str(b, s->pup_logo_base64);
                JBUF_LIT(b, "},\"optional\":");
                put_bool(b, d->optional);
                JBUF_LIT(b, "}");
        }
        JBUF_LIT(b, "]");
}

static void put_metrics(struct jbuf *b, const struct manifest *m)
{
        JBUF_LIT(b, "[");
        for (size_t i = 0; i < m->n_metrics; i++) {
                const struct manifest_metric *mt = &m->metrics[i];
                if (i)
                        JBUF_LIT(b, ",");
                JBUF_LIT(b, "{\"name\":");
                jbuf_str(b, mt->name);
                JBUF_LIT(b, ",\"label\":");
                jbuf_str(b, mt->label);
                JBUF_LIT(b, ",\"type\":");
                jbuf_str(b, manifest_metric_type_name(mt->type));
                JBUF_LIT(b, ",\"history\":");
                jbuf_int(b, (int)mt->history);
                if (mt->description && *mt->description) {
                        JBUF_LIT(b, ",\"description\":");
                        jbuf_str(b, mt->description);
                }
                JBUF_LIT(b, "}");
        }
        JBUF_LIT(b, "]");
}

void manifest_write_json(const struct manifest *m, struct jbuf *b)
{
        JBUF_LIT(b, "{\"manifestVersion\":");
        jbuf_int(b, m->manifest_version);
        JBUF_LIT(b, ",\"meta\":");
        put_meta(b, &m->meta);
        JBUF_LIT(b, ",\"config\":");
        put_config(b, &m->config);
        JBUF_LIT(b, ",\"container\":");
        put_container(b, &m->container);
        JBUF_LIT(b, ",\"interfaces\":");
        put_interfaces(b, m);
        JBUF_LIT(b, ",\"dependencies\":");
        put_dependencies(b, m);
        JBUF_LIT(b, ",\"metrics\":");
        put_metrics(b, m);
        JBUF_LIT(b, "}");
}
