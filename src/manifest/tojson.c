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
