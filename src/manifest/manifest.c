/* manifest.json v1: the schema walk. Every rule here is listed in
 * docs/pup-format.md; keep the two in step. */
#include <ctype.h>
#include <strings.h>
#include "core/json.h"
#include "manifest/internal.h"

#define NAMESET_INLINE 16 /* names of one scope held without a heap allocation */

/* Names already used in one scope (services, exposes, ...), with the path
 * of the entry that used them, for "already the name of <path>". */
struct nameset {
        size_t n, cap;
        struct nameset_entry {
                const char *name, *path;
        } * v, inline_v[NAMESET_INLINE];
};

static const char *nameset_add(struct walker *w, struct nameset *s, const char *name)
{
        for (size_t i = 0; i < s->n; i++)
                if (streq(s->v[i].name, name))
                        return s->v[i].path;
        if (!s->v) {
                s->v = s->inline_v;
                s->cap = NAMESET_INLINE;
        }
        if (s->n == s->cap) {
                s->cap *= 2;
                if (s->v == s->inline_v)
                        s->v = memcpy(xmalloc(s->cap * sizeof(*s->v)), s->inline_v,
                                      sizeof(s->inline_v));
                else
                        s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
        }
        s->v[s->n].name = name;
        s->v[s->n].path = arena_strndup(w->arena, w->path, w->plen);
        s->n++;
        return NULL;
}

static void nameset_done(struct nameset *s)
{
        if (s->v != s->inline_v)
                free(s->v);
        s->v = NULL;
        s->n = s->cap = 0;
}

/* Report a duplicate at <current path>.<key>. */
static void check_unique(struct walker *w, struct nameset *s, const char *key, const char *name,
                         const char *what)
{
        const char *prev = nameset_add(w, s, name);
        if (prev)
                walk_error_at(w, key, "\"%s\" is already the %s of %s", name, what, prev);
}

static const char *const field_type_names[] = {
    [MANIFEST_FIELD_TEXT] = "text",     [MANIFEST_FIELD_PASSWORD] = "password",
    [MANIFEST_FIELD_NUMBER] = "number", [MANIFEST_FIELD_TOGGLE] = "toggle",
    [MANIFEST_FIELD_EMAIL] = "email",   [MANIFEST_FIELD_TEXTAREA] = "textarea",
    [MANIFEST_FIELD_SELECT] = "select", [MANIFEST_FIELD_CHECKBOX] = "checkbox",
    [MANIFEST_FIELD_RADIO] = "radio",   [MANIFEST_FIELD_DATE] = "date",
    [MANIFEST_FIELD_RANGE] = "range",   [MANIFEST_FIELD_COLOR] = "color",
};

const char *manifest_field_type_name(enum manifest_field_type t)
{
        return (unsigned)t < ARRAY_SIZE(field_type_names) ? field_type_names[t] : "?";
}

const char *manifest_expose_type_name(enum manifest_expose_type t)
{
        return t == MANIFEST_EXPOSE_HTTP ? "http" : "tcp";
}

const char *manifest_metric_type_name(enum manifest_metric_type t)
{
        return t == MANIFEST_METRIC_STRING ? "string" : t == MANIFEST_METRIC_INT ? "int" : "float";
}

const char *manifest_build_type_name(enum manifest_build_type t)
{
        return t == MANIFEST_BUILD_NIX_FILE ? "nixFile"
               : t == MANIFEST_BUILD_FLAKE  ? "flake"
                                            : "native";
}

/* A name read with walk_string and checked against a pattern. */
static int walk_name(struct walker *w, const struct jval *obj, const char *key,
                     bool (*valid)(const char *), const char *pattern, const char **ret)
{
        const char *s = NULL;
        int r = walk_string(w, obj, key, STR_REQUIRED | STR_NONEMPTY, MANIFEST_NAME_MAX, &s);
        if (r <= 0)
                return r;
        if (!valid(s)) {
                walk_error_at(w, key, "\"%s\" is not a valid name (%s)", s, pattern);
                return -1;
        }
        *ret = s;
        return 1;
}

#define PATTERN_ENV       "letters, digits and _, not starting with a digit"
#define PATTERN_SERVICE   "letters, digits, _, . and -, starting with a letter or digit"
#define PATTERN_INTERFACE "lowercase letters, digits and -, like core-rpc"

/* A string list whose elements pass check (may be NULL). */
static int walk_string_list(struct walker *w, const struct jval *obj, const char *key, size_t max,
                            const char *noun, unsigned flags, size_t maxlen,
                            bool (*valid)(const char *), const char *pattern,
                            const char *const **ret, size_t *ret_n)
{
        const struct jval *arr = NULL;
        size_t saved, idx;
        const struct jval *v;

        if (walk_array(w, obj, key, false, max, noun, &arr) <= 0)
                return 0;
        const char **out = arena_array(w->arena, jv_len(arr), sizeof(char *));
        size_t n = 0;
        saved = walk_push_key(w, key);
        jv_array_foreach(arr, idx, v)
        {
                const char *s = NULL;
                size_t s2 = walk_push_index(w, idx);
                if (walk_string_value(w, v, flags | STR_REQUIRED, maxlen, &s) > 0) {
                        if (valid && !valid(s))
                                walk_error(w, "\"%s\" is not a valid name (%s)", s, pattern);
                        else
                                out[n++] = s;
                }
                walk_pop(w, s2);
        }
        walk_pop(w, saved);
        *ret = out;
        *ret_n = n;
        return 1;
}

/* An object of string values, e.g. env or upstreamVersions. */
static int walk_string_map(struct walker *w, const struct jval *obj, const char *key, size_t max,
                           const char *noun, bool (*valid_key)(const char *),
                           const char *key_pattern, size_t value_max,
                           const struct manifest_kv **ret, size_t *ret_n)
{
        const struct jval *map = NULL, *kn, *v;
        size_t i;
        char r[RENDER_MAX];

        if (walk_object(w, obj, key, false, &map) <= 0)
                return 0;
        size_t saved = walk_push_key(w, key);
        if (jv_len(map) > max) {
                walk_error(w, "%zu %s, at most %d are allowed", jv_len(map), noun, (int)max);
                walk_pop(w, saved);
                return -1;
        }
        struct manifest_kv *out = arena_array(w->arena, jv_len(map), sizeof(*out));
        size_t n = 0;
        jv_object_foreach(map, i, kn, v)
        {
                const char *k = jv_str(kn);
                size_t s2 = walk_push_key(w, k);
                const char *val = NULL;
                if (!*k)
                        walk_error(w, "an empty key is not allowed");
                else if (strlen(k) > MANIFEST_NAME_MAX)
                        walk_error(w, "the key is longer than %d characters", MANIFEST_NAME_MAX);
                else if (valid_key && !valid_key(k))
                        walk_error(w, "\"%s\" is not a valid name (%s)", k, key_pattern);
                else if (!jv_is_string(v) && !jv_is_null(v))
                        walk_error(w, "%s is not a string", walk_render_jv(v, r, sizeof(r)));
                else if (walk_string_value(w, v, 0, value_max, &val) >= 0) {
                        out[n].key = k; /* the document outlives the manifest */
                        out[n].value = val ? val : "";
                        n++;
                }
                walk_pop(w, s2);
        }
        walk_pop(w, saved);
        *ret = out;
        *ret_n = n;
        return 1;
}

/* ---- meta ---- */

static void walk_meta(struct walker *w, const struct jval *root, struct manifest *m)
{
        static const char *const keys[] = {"name",
                                           "version",
                                           "logoPath",
                                           "shortDescription",
                                           "longDescription",
                                           "upstreamVersions"};
        struct manifest_meta *meta = &m->meta;
        const struct jval *obj = NULL;
        const char *s = NULL;

        meta->name = meta->version = "";
        meta->logo_path = meta->short_description = meta->long_description = "";
        if (walk_object(w, root, "meta", true, &obj) <= 0)
                return;
        size_t saved = walk_push_key(w, "meta");
        WALK_CHECK_KEYS(w, obj, keys);
        walk_string(w, obj, "name", STR_REQUIRED | STR_NONEMPTY | STR_TRIMMED, MANIFEST_NAME_MAX,
                    &meta->name);
        if (walk_string(w, obj, "version", STR_REQUIRED | STR_NONEMPTY, SEMVER_MAX_LEN, &s) > 0) {
                struct dbx_error err = {0};
                if (semver_parse(s, 0, &meta->semver, &err) < 0)
                        walk_error_at(w, "version", "%s", err.message);
                else
                        meta->version = s;
        }
        s = NULL;
        if (walk_string(w, obj, "logoPath", 0, MANIFEST_PATH_MAX, &s) > 0 && *s) {
                const char *why = path_check_relative(s);
                const char *dot = strrchr(s, '.');
                if (why)
                        walk_error_at(w, "logoPath", "\"%s\" is not usable: %s", s, why);
                else {
                        meta->logo_path = s;
                        if (!dot || (strcasecmp(dot, ".png") && strcasecmp(dot, ".jpg") &&
                                     strcasecmp(dot, ".jpeg")))
                                walk_warn_at(w, "logoPath",
                                             "\"%s\" will not be shown: logos are .png, .jpg or "
                                             ".jpeg files",
                                             s);
                }
        }
        walk_string(w, obj, "shortDescription", 0, MANIFEST_SHORT_TEXT_MAX,
                    &meta->short_description);
        walk_string(w, obj, "longDescription", STR_MULTILINE, MANIFEST_TEXT_MAX,
                    &meta->long_description);
        walk_string_map(w, obj, "upstreamVersions", MANIFEST_UPSTREAM_VERSIONS_MAX, "entries", NULL,
                        NULL, MANIFEST_NAME_MAX, &meta->upstream_versions,
                        &meta->n_upstream_versions);
        walk_pop(w, saved);
}

/* ---- config ---- */

static bool field_uses_range(enum manifest_field_type t)
{
        return t == MANIFEST_FIELD_NUMBER || t == MANIFEST_FIELD_RANGE;
}

static bool field_uses_options(enum manifest_field_type t)
{
        return t == MANIFEST_FIELD_SELECT || t == MANIFEST_FIELD_RADIO;
}

static void walk_options(struct walker *w, const struct jval *obj, struct manifest_field *f)
{
        const struct jval *arr = NULL;
        struct nameset values = {0};
        size_t idx;
        const struct jval *v;
        char r[RENDER_MAX];

        if (!field_uses_options(f->type)) {
                if (walk_get(w, obj, "options"))
                        walk_warn_at(w, "options",
                                     "only select and radio fields have options; ignored");
                return;
        }
        if (walk_array(w, obj, "options", false, MANIFEST_OPTIONS_MAX, "options", &arr) < 0)
                return;
        if (!arr || jv_len(arr) == 0) {
                walk_error_at(w, "options",
                              "%s (%s fields need a list of choices: {\"label\", \"value\"} or "
                              "strings)",
                              arr ? "[] is empty" : "missing", manifest_field_type_name(f->type));
                return;
        }
        struct manifest_option *out = arena_array(w->arena, jv_len(arr), sizeof(*out));
        size_t n = 0, saved = walk_push_key(w, "options");
        jv_array_foreach(arr, idx, v)
        {
                static const char *const keys[] = {"label", "value"};
                size_t s2 = walk_push_index(w, idx);
                const char *label = NULL, *value = NULL;
                if (jv_is_string(v)) {
                        if (walk_string_value(w, v, STR_NONEMPTY, MANIFEST_LABEL_MAX, &value) > 0)
                                label = value;
                } else if (jv_is_object(v)) {
                        WALK_CHECK_KEYS(w, v, keys);
                        walk_string(w, v, "label", STR_REQUIRED | STR_NONEMPTY, MANIFEST_LABEL_MAX,
                                    &label);
                        const struct jval *jv = walk_get(w, v, "value");
                        size_t s3 = walk_push_key(w, "value");
                        if (jv_is_integer(jv)) {
                                char txt[24];
                                snprintf(txt, sizeof(txt), "%lld", jv_int(jv));
                                value = arena_strdup(w->arena, txt);
                        } else if (jv_is_bool(jv))
                                value = jv_is_true(jv) ? "true" : "false";
                        else
                                walk_string_value(w, jv, STR_REQUIRED, MANIFEST_VALUE_MAX, &value);
                        walk_pop(w, s3);
                } else
                        walk_error(w, "%s is not an option ({\"label\", \"value\"} or a string)",
                                   walk_render_jv(v, r, sizeof(r)));
                if (label && value) {
                        const char *prev = nameset_add(w, &values, value);
                        if (prev)
                                walk_error(w, "\"%s\" is already the value of %s", value, prev);
                        else {
                                out[n].label = label;
                                out[n].value = value;
                                n++;
                        }
                }
                walk_pop(w, s2);
        }
        walk_pop(w, saved);
        nameset_done(&values);
        f->options = out;
        f->n_options = n;
}

static void walk_field(struct walker *w, const struct jval *obj, struct manifest_field *f,
                       struct nameset *names)
{
        static const char *const keys[] = {"name",        "label", "type",    "required",
                                           "placeholder", "help",  "default", "min",
                                           "max",         "step",  "options"};
        const char *type = NULL;
        bool typed = false;
        const struct jval *def;

        WALK_CHECK_KEYS(w, obj, keys);
        f->name = f->label = "";
        if (walk_name(w, obj, "name", name_is_env, PATTERN_ENV, &f->name) > 0) {
                if (strncasecmp(f->name, "DBX_", 4) == 0) {
                        walk_error_at(w, "name",
                                      "\"%s\" starts with DBX_, which is reserved for the "
                                      "variables the Dogebox sets",
                                      f->name);
                } else
                        check_unique(w, names, "name", f->name, "name");
        }
        walk_string(w, obj, "label", STR_REQUIRED | STR_NONEMPTY, MANIFEST_LABEL_MAX, &f->label);
        if (walk_string(w, obj, "type", STR_REQUIRED | STR_NONEMPTY, MANIFEST_NAME_MAX, &type) >
            0) {
                for (size_t t = 0; t < ARRAY_SIZE(field_type_names); t++)
                        if (streq(type, field_type_names[t])) {
                                f->type = (enum manifest_field_type)t;
                                typed = true;
                        }
                if (!typed)
                        walk_error_at(w, "type",
                                      "\"%s\" is not a field type (text, password, number, "
                                      "toggle, email, textarea, select, checkbox, radio, date, "
                                      "range or color)",
                                      type);
        }
        walk_bool(w, obj, "required", &f->required);
        walk_string(w, obj, "placeholder", 0, MANIFEST_SHORT_TEXT_MAX, &f->placeholder);
        walk_string(w, obj, "help", STR_MULTILINE, MANIFEST_TEXT_MAX, &f->help);

        f->has_min = walk_number(w, obj, "min", &f->min) > 0;
        f->has_max = walk_number(w, obj, "max", &f->max) > 0;
        f->has_step = walk_number(w, obj, "step", &f->step) > 0;
        if (!typed)
                return; /* the rest depends on the type */
        if (!field_uses_range(f->type)) {
                static const char *const range_keys[] = {"min", "max", "step"};
                for (size_t k = 0; k < ARRAY_SIZE(range_keys); k++)
                        if (walk_get(w, obj, range_keys[k]))
                                walk_warn_at(w, range_keys[k],
                                             "only number and range fields use %s; ignored",
                                             range_keys[k]);
                f->has_min = f->has_max = f->has_step = false;
        } else {
                if (f->has_step && f->step <= 0) {
                        walk_error_at(w, "step", "%g is not a step (a number above 0)", f->step);
                        f->has_step = false;
                }
                if (f->has_min && f->has_max && f->min > f->max) {
                        walk_error_at(w, "max", "%g is below min (%g)", f->max, f->min);
                        f->has_max = false;
                }
        }
        walk_options(w, obj, f);

        def = walk_get(w, obj, "default");
        if (field_uses_options(f->type) && f->n_options == 0)
                def = NULL; /* the missing options are already reported */
        if (def && !jv_is_null(def)) {
                char why[DBX_ERROR_MSG_MAX / 2];
                char *s = NULL;
                json_t *dj = jv_to_json(def);
                if (field_coerce(f, dj, &s, why, sizeof(why)) < 0) {
                        walk_error_at(w, "default", "%s", why);
                        json_decref(dj);
                } else {
                        f->default_json = arena_keep_json(w->arena, dj);
                        f->default_value = arena_strdup(w->arena, s);
                }
                free(s);
        }
}

static void walk_config(struct walker *w, const struct jval *root, struct manifest *m)
{
        static const char *const keys[] = {"showOnInstall", "sections"};
        static const char *const section_keys[] = {"name", "label", "fields"};
        struct manifest_config *cfg = &m->config;
        const struct jval *obj = NULL, *sections = NULL;
        struct nameset section_names = {0}, field_names = {0};
        size_t idx;
        const struct jval *sec;

        if (walk_object(w, root, "config", false, &obj) <= 0)
                return;
        size_t saved = walk_push_key(w, "config");
        WALK_CHECK_KEYS(w, obj, keys);
        walk_bool(w, obj, "showOnInstall", &cfg->show_on_install);
        if (walk_array(w, obj, "sections", false, MANIFEST_SECTIONS_MAX, "sections", &sections) <=
            0)
                goto out;
        struct manifest_section *out = arena_array(w->arena, jv_len(sections), sizeof(*out));
        size_t s1 = walk_push_key(w, "sections");
        jv_array_foreach(sections, idx, sec)
        {
                struct manifest_section *s = &out[idx];
                const struct jval *fields = NULL;
                char r[RENDER_MAX];
                size_t s2 = walk_push_index(w, idx);

                s->name = s->label = "";
                if (!jv_is_object(sec)) {
                        walk_error(w, "%s is not a section object",
                                   walk_render_jv(sec, r, sizeof(r)));
                        walk_pop(w, s2);
                        continue;
                }
                WALK_CHECK_KEYS(w, sec, section_keys);
                if (walk_string(w, sec, "name", STR_REQUIRED | STR_NONEMPTY | STR_TRIMMED,
                                MANIFEST_NAME_MAX, &s->name) > 0)
                        check_unique(w, &section_names, "name", s->name, "name");
                walk_string(w, sec, "label", 0, MANIFEST_LABEL_MAX, &s->label);
                if (walk_array(w, sec, "fields", false, MANIFEST_CONFIG_FIELDS_MAX, "fields",
                               &fields) > 0) {
                        size_t nf = jv_len(fields), fi;
                        const struct jval *fv;
                        if (cfg->n_fields + nf > MANIFEST_CONFIG_FIELDS_MAX) {
                                walk_error_at(w, "fields",
                                              "%zu config fields in all, at most %d are allowed",
                                              cfg->n_fields + nf, MANIFEST_CONFIG_FIELDS_MAX);
                                walk_pop(w, s2);
                                continue;
                        }
                        struct manifest_field *fo = arena_array(w->arena, nf, sizeof(*fo));
                        size_t s3 = walk_push_key(w, "fields");
                        jv_array_foreach(fields, fi, fv)
                        {
                                size_t s4 = walk_push_index(w, fi);
                                if (!jv_is_object(fv))
                                        walk_error(w, "%s is not a field object",
                                                   walk_render_jv(fv, r, sizeof(r)));
                                else
                                        walk_field(w, fv, &fo[fi], &field_names);
                                if (!fo[fi].name)
                                        fo[fi].name = fo[fi].label = "";
                                walk_pop(w, s4);
                        }
                        walk_pop(w, s3);
                        s->fields = fo;
                        s->n_fields = nf;
                        cfg->n_fields += nf;
                }
                walk_pop(w, s2);
        }
        walk_pop(w, s1);
        cfg->sections = out;
        cfg->n_sections = jv_len(sections);
out:
        nameset_done(&section_names);
        nameset_done(&field_names);
        walk_pop(w, saved);
}

/* ---- container ---- */

static bool is_sha256_hex(const char *s)
{
        size_t n = 0;
        for (; s[n]; n++)
                if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
                        return false;
        return n == 64;
}

static void walk_build(struct walker *w, const struct jval *container, struct manifest *m)
{
        static const char *const keys[] = {"type", "nixFile", "nixFileSha256", "flake"};
        static const char *const flake_keys[] = {"path", "package"};
        struct manifest_build *b = &m->container.build;
        const struct jval *obj = NULL, *flake = NULL;
        const char *type = NULL, *s = NULL;

        if (walk_object(w, container, "build", true, &obj) <= 0)
                return;
        size_t saved = walk_push_key(w, "build");
        WALK_CHECK_KEYS(w, obj, keys);
        if (walk_string(w, obj, "type", STR_NONEMPTY, MANIFEST_NAME_MAX, &type) > 0) {
                if (streq(type, "nixFile"))
                        b->type = MANIFEST_BUILD_NIX_FILE;
                else if (streq(type, "flake"))
                        b->type = MANIFEST_BUILD_FLAKE;
                else if (streq(type, "native"))
                        b->type = MANIFEST_BUILD_NATIVE;
                else {
                        walk_error_at(w, "type",
                                      "\"%s\" is not a build type (nixFile, flake or native)",
                                      type);
                        goto out;
                }
        }
        m->is_native = b->type == MANIFEST_BUILD_NATIVE;
        m->needs_nix = !m->is_native;

        if (b->type == MANIFEST_BUILD_NIX_FILE) {
                if (walk_string(w, obj, "nixFile", STR_REQUIRED | STR_NONEMPTY, MANIFEST_PATH_MAX,
                                &s) > 0) {
                        const char *why = path_check_relative(s);
                        if (why)
                                walk_error_at(w, "nixFile", "\"%s\" is not usable: %s", s, why);
                        else
                                b->nix_file = s;
                }
                s = NULL;
                if (walk_string(w, obj, "nixFileSha256", STR_REQUIRED | STR_NONEMPTY, 128, &s) >
                    0) {
                        if (!is_sha256_hex(s))
                                walk_error_at(w, "nixFileSha256",
                                              "\"%s\" is not a SHA-256 (64 lowercase hex digits)",
                                              s);
                        else
                                b->nix_file_sha256 = s;
                }
                if (walk_get(w, obj, "flake"))
                        walk_warn_at(w, "flake", "only flake builds use flake; ignored");
        } else {
                static const char *const nix_keys[] = {"nixFile", "nixFileSha256"};
                for (size_t k = 0; k < ARRAY_SIZE(nix_keys); k++)
                        if (walk_get(w, obj, nix_keys[k]))
                                walk_warn_at(w, nix_keys[k], "only nixFile builds use %s; ignored",
                                             nix_keys[k]);
        }
        if (b->type == MANIFEST_BUILD_FLAKE) {
                if (walk_object(w, obj, "flake", false, &flake) > 0) {
                        size_t s2 = walk_push_key(w, "flake");
                        WALK_CHECK_KEYS(w, flake, flake_keys);
                        s = NULL;
                        if (walk_string(w, flake, "path", 0, MANIFEST_PATH_MAX, &s) > 0 && *s) {
                                const char *why = path_check_no_dotdot(s);
                                if (why || s[0] == '/')
                                        walk_error_at(w, "path", "\"%s\" is not usable: %s", s,
                                                      why ? why
                                                          : "it is absolute (a path inside the "
                                                            "pup folder is expected)");
                                else
                                        b->flake_path = s;
                        }
                        walk_string(w, flake, "package", STR_NONEMPTY | STR_TRIMMED,
                                    MANIFEST_NAME_MAX, &b->flake_package);
                        walk_pop(w, s2);
                }
        } else if (b->type == MANIFEST_BUILD_NATIVE && walk_get(w, obj, "flake"))
                walk_warn_at(w, "flake", "only flake builds use flake; ignored");
out:
        walk_pop(w, saved);
}

/* exec/cwd: paths without "..". For a native pup a relative path is inside
 * /pup and an absolute one is on the host base; for Nix pups both are
 * inside the service's derivation. */
static int walk_exec_path(struct walker *w, const struct jval *obj, const char *key, bool required,
                          const char **ret)
{
        const char *s = NULL;
        int r = walk_string(w, obj, key, required ? STR_REQUIRED | STR_NONEMPTY : 0,
                            MANIFEST_PATH_MAX, &s);
        if (r <= 0)
                return r;
        const char *why = path_check_no_dotdot(s);
        if (!why && required && s[strlen(s) - 1] == '/')
                why = "it ends with \"/\" (a program is expected, not a folder)";
        if (why) {
                walk_error_at(w, key, "\"%s\" is not usable: %s", s, why);
                return -1;
        }
        *ret = s;
        return 1;
}

static void walk_service(struct walker *w, const struct jval *obj, struct manifest_service *svc,
                         struct nameset *names)
{
        static const char *const keys[] = {"name", "command"};
        static const char *const cmd_keys[] = {"exec", "cwd", "env", "args"};
        const struct jval *cmd = NULL;

        WALK_CHECK_KEYS(w, obj, keys);
        if (walk_name(w, obj, "name", name_is_service, PATTERN_SERVICE, &svc->name) > 0)
                check_unique(w, names, "name", svc->name, "name");
        if (walk_object(w, obj, "command", true, &cmd) <= 0)
                return;
        size_t saved = walk_push_key(w, "command");
        WALK_CHECK_KEYS(w, cmd, cmd_keys);
        walk_exec_path(w, cmd, "exec", true, &svc->exec);
        walk_exec_path(w, cmd, "cwd", false, &svc->cwd);
        walk_string_map(w, cmd, "env", MANIFEST_ENV_MAX, "variables", name_is_env, PATTERN_ENV,
                        MANIFEST_VALUE_MAX, &svc->env, &svc->n_env);
        walk_string_list(w, cmd, "args", MANIFEST_ARGS_MAX, "arguments", STR_MULTILINE,
                         MANIFEST_VALUE_MAX, NULL, NULL, &svc->args, &svc->n_args);
        walk_pop(w, saved);
}

static void walk_expose(struct walker *w, const struct jval *obj, struct manifest_expose *e,
                        struct nameset *names, struct nameset *ports)
{
        static const char *const keys[] = {"name",       "type",         "port",
                                           "interfaces", "listenOnHost", "webUI"};
        const char *type = NULL;
        bool typed = false;
        long long port = 0;

        WALK_CHECK_KEYS(w, obj, keys);
        if (walk_string(w, obj, "name", STR_REQUIRED | STR_NONEMPTY | STR_TRIMMED,
                        MANIFEST_NAME_MAX, &e->name) > 0)
                check_unique(w, names, "name", e->name, "name");
        if (walk_string(w, obj, "type", STR_REQUIRED | STR_NONEMPTY, MANIFEST_NAME_MAX, &type) >
            0) {
                if (streq(type, "http") || streq(type, "tcp")) {
                        e->type = streq(type, "http") ? MANIFEST_EXPOSE_HTTP : MANIFEST_EXPOSE_TCP;
                        typed = true;
                } else
                        walk_error_at(w, "type", "\"%s\" is not an expose type (http or tcp)",
                                      type);
        }
        if (walk_int(w, obj, "port", true, MANIFEST_PORT_MIN, MANIFEST_PORT_MAX, "a port", &port) >
            0) {
                e->port = (uint16_t)port;
                if (typed) {
                        char key[32];
                        snprintf(key, sizeof(key), "%u/%s", e->port,
                                 manifest_expose_type_name(e->type));
                        const char *prev = nameset_add(w, ports, arena_strdup(w->arena, key));
                        if (prev)
                                walk_error_at(w, "port", "%s is already exposed by %s", key, prev);
                }
        }
        walk_string_list(w, obj, "interfaces", MANIFEST_LIST_MAX, "interfaces", STR_NONEMPTY,
                         MANIFEST_NAME_MAX, name_is_interface, PATTERN_INTERFACE, &e->interfaces,
                         &e->n_interfaces);
        walk_bool(w, obj, "listenOnHost", &e->listen_on_host);
        walk_bool(w, obj, "webUI", &e->web_ui);
        if (typed && e->web_ui && e->type != MANIFEST_EXPOSE_HTTP)
                walk_error_at(w, "webUI",
                              "true needs an http expose (the web UI is proxied as HTTP)");
}

static void walk_resources(struct walker *w, const struct jval *container, struct manifest *m)
{
        static const char *const keys[] = {"memory", "pids", "cpuWeight"};
        struct manifest_resources *res = &m->container.resources;
        const struct jval *obj = NULL;
        long long x;

        if (walk_object(w, container, "resources", false, &obj) <= 0)
                return;
        size_t saved = walk_push_key(w, "resources");
        WALK_CHECK_KEYS(w, obj, keys);
        if (walk_int(w, obj, "memory", false, (long long)MANIFEST_MEMORY_MIN,
                     (long long)MANIFEST_MEMORY_MAX, "a memory limit in bytes", &x) > 0)
                res->memory = (uint64_t)x;
        if (walk_int(w, obj, "pids", false, MANIFEST_PIDS_MIN, MANIFEST_PIDS_MAX, "a process limit",
                     &x) > 0)
                res->pids = (uint32_t)x;
        if (walk_int(w, obj, "cpuWeight", false, MANIFEST_CPU_WEIGHT_MIN, MANIFEST_CPU_WEIGHT_MAX,
                     "a CPU weight", &x) > 0)
                res->cpu_weight = (uint32_t)x;
        walk_pop(w, saved);
}

static void walk_container(struct walker *w, const struct jval *root, struct manifest *m)
{
        static const char *const keys[] = {"build", "services", "exposes", "requiresInternet",
                                           "resources"};
        struct manifest_container *c = &m->container;
        const struct jval *obj = NULL, *arr = NULL;
        struct nameset names = {0}, ports = {0};
        size_t idx;
        const struct jval *v;
        char r[RENDER_MAX];

        m->needs_nix = true; /* until a build says otherwise */
        if (walk_object(w, root, "container", true, &obj) <= 0)
                return;
        size_t saved = walk_push_key(w, "container");
        WALK_CHECK_KEYS(w, obj, keys);
        walk_build(w, obj, m);

        if (walk_array(w, obj, "services", false, MANIFEST_SERVICES_MAX, "services", &arr) > 0) {
                struct manifest_service *out = arena_array(w->arena, jv_len(arr), sizeof(*out));
                size_t s1 = walk_push_key(w, "services");
                jv_array_foreach(arr, idx, v)
                {
                        size_t s2 = walk_push_index(w, idx);
                        out[idx].name = out[idx].exec = "";
                        out[idx].cwd = "";
                        if (!jv_is_object(v))
                                walk_error(w, "%s is not a service object",
                                           walk_render_jv(v, r, sizeof(r)));
                        else
                                walk_service(w, v, &out[idx], &names);
                        walk_pop(w, s2);
                }
                walk_pop(w, s1);
                c->services = out;
                c->n_services = jv_len(arr);
        }
        nameset_done(&names);

        arr = NULL;
        if (walk_array(w, obj, "exposes", false, MANIFEST_EXPOSES_MAX, "exposes", &arr) > 0) {
                struct manifest_expose *out = arena_array(w->arena, jv_len(arr), sizeof(*out));
                size_t s1 = walk_push_key(w, "exposes");
                jv_array_foreach(arr, idx, v)
                {
                        size_t s2 = walk_push_index(w, idx);
                        out[idx].name = "";
                        if (!jv_is_object(v))
                                walk_error(w, "%s is not an expose object",
                                           walk_render_jv(v, r, sizeof(r)));
                        else
                                walk_expose(w, v, &out[idx], &names, &ports);
                        walk_pop(w, s2);
                }
                walk_pop(w, s1);
                c->exposes = out;
                c->n_exposes = jv_len(arr);
        }
        nameset_done(&names);
        nameset_done(&ports);
        walk_bool(w, obj, "requiresInternet", &c->requires_internet);
        walk_resources(w, obj, m);
        walk_pop(w, saved);
}

/* ---- interfaces, dependencies, metrics ---- */

static void walk_permission_group(struct walker *w, const struct jval *obj,
                                  struct manifest_permission_group *g, struct nameset *names)
{
        static const char *const keys[] = {"name", "description", "severity", "routes", "port"};
        long long x = 0;
        size_t idx;

        WALK_CHECK_KEYS(w, obj, keys);
        if (walk_string(w, obj, "name", STR_REQUIRED | STR_NONEMPTY | STR_TRIMMED,
                        MANIFEST_NAME_MAX, &g->name) > 0)
                check_unique(w, names, "name", g->name, "name");
        walk_string(w, obj, "description", STR_MULTILINE, MANIFEST_TEXT_MAX, &g->description);
        if (walk_int(w, obj, "severity", true, MANIFEST_SEVERITY_MIN, MANIFEST_SEVERITY_MAX,
                     "a severity", &x) > 0)
                g->severity = (int)x;
        if (walk_string_list(w, obj, "routes", MANIFEST_ROUTES_MAX, "routes", STR_NONEMPTY,
                             MANIFEST_ROUTE_MAX, NULL, NULL, &g->routes, &g->n_routes) > 0) {
                size_t saved = walk_push_key(w, "routes");
                for (idx = 0; idx < g->n_routes; idx++) {
                        const char *rt = g->routes[idx];
                        if (rt[0] != '/' || strpbrk(rt, " \t?#")) {
                                size_t s2 = walk_push_index(w, idx);
                                walk_error(w,
                                           "\"%s\" is not a route (a path starting with \"/\", "
                                           "no spaces, ? or #; * matches one segment)",
                                           rt);
                                walk_pop(w, s2);
                        }
                }
                walk_pop(w, saved);
        }
        x = 0;
        if (walk_int(w, obj, "port", false, 0, MANIFEST_PORT_MAX, "a port or 0", &x) > 0)
                g->port = (uint16_t)x;
}

static void walk_interfaces(struct walker *w, const struct jval *root, struct manifest *m)
{
        static const char *const keys[] = {"name", "version", "permissionGroups"};
        const struct jval *arr = NULL;
        struct nameset names = {0};
        size_t idx;
        const struct jval *v;
        char r[RENDER_MAX];

        if (walk_array(w, root, "interfaces", false, MANIFEST_INTERFACES_MAX, "interfaces", &arr) <=
            0)
                return;
        struct manifest_interface *out = arena_array(w->arena, jv_len(arr), sizeof(*out));
        size_t saved = walk_push_key(w, "interfaces");
        jv_array_foreach(arr, idx, v)
        {
                struct manifest_interface *it = &out[idx];
                const struct jval *groups = NULL;
                const char *ver = NULL;
                size_t s2 = walk_push_index(w, idx);

                it->name = it->version = "";
                if (!jv_is_object(v)) {
                        walk_error(w, "%s is not an interface object",
                                   walk_render_jv(v, r, sizeof(r)));
                        walk_pop(w, s2);
                        continue;
                }
                WALK_CHECK_KEYS(w, v, keys);
                if (walk_name(w, v, "name", name_is_interface, PATTERN_INTERFACE, &it->name) > 0)
                        check_unique(w, &names, "name", it->name, "name");
                if (walk_string(w, v, "version", STR_REQUIRED | STR_NONEMPTY, SEMVER_MAX_LEN,
                                &ver) > 0) {
                        struct dbx_error err = {0};
                        if (semver_parse(ver, 0, &it->semver, &err) < 0)
                                walk_error_at(w, "version", "%s", err.message);
                        else
                                it->version = ver;
                }
                if (walk_array(w, v, "permissionGroups", false, MANIFEST_PERMISSION_GROUPS_MAX,
                               "permission groups", &groups) > 0) {
                        struct nameset gnames = {0};
                        size_t gi;
                        const struct jval *gv;
                        struct manifest_permission_group *go =
                            arena_array(w->arena, jv_len(groups), sizeof(*go));
                        size_t s3 = walk_push_key(w, "permissionGroups");
                        jv_array_foreach(groups, gi, gv)
                        {
                                size_t s4 = walk_push_index(w, gi);
                                go[gi].name = go[gi].description = "";
                                if (!jv_is_object(gv))
                                        walk_error(w, "%s is not a permission group object",
                                                   walk_render_jv(gv, r, sizeof(r)));
                                else
                                        walk_permission_group(w, gv, &go[gi], &gnames);
                                walk_pop(w, s4);
                        }
                        walk_pop(w, s3);
                        nameset_done(&gnames);
                        it->permission_groups = go;
                        it->n_permission_groups = jv_len(groups);
                }
                walk_pop(w, s2);
        }
        walk_pop(w, saved);
        nameset_done(&names);
        m->interfaces = out;
        m->n_interfaces = jv_len(arr);
}

static void walk_dependency(struct walker *w, const struct jval *obj, struct manifest_dependency *d,
                            struct nameset *names)
{
        static const char *const keys[] = {"interfaceName", "interfaceVersion", "permissionGroups",
                                           "source", "optional"};
        static const char *const source_keys[] = {"sourceLocation", "pupName", "pupVersion",
                                                  "pupLogoBase64"};
        const struct jval *src = NULL;
        const char *ver = NULL;

        WALK_CHECK_KEYS(w, obj, keys);
        if (walk_name(w, obj, "interfaceName", name_is_interface, PATTERN_INTERFACE,
                      &d->interface_name) > 0)
                check_unique(w, names, "interfaceName", d->interface_name, "interfaceName");
        if (walk_string(w, obj, "interfaceVersion", STR_REQUIRED | STR_NONEMPTY,
                        SEMVER_CONSTRAINT_MAX_LEN, &ver) > 0) {
                struct semver_constraint *c = NULL;
                struct dbx_error err = {0};
                if (semver_constraint_parse(ver, &c, &err) < 0)
                        walk_error_at(w, "interfaceVersion", "%s", err.message);
                else {
                        arena_keep_constraint(w->arena, c);
                        d->constraint = c;
                        d->interface_version = ver;
                }
        }
        walk_string_list(w, obj, "permissionGroups", MANIFEST_LIST_MAX, "permission groups",
                         STR_NONEMPTY | STR_TRIMMED, MANIFEST_NAME_MAX, NULL, NULL,
                         &d->permission_groups, &d->n_permission_groups);
        walk_bool(w, obj, "optional", &d->optional);
        if (walk_object(w, obj, "source", false, &src) > 0) {
                struct manifest_dependency_source *s = &d->source;
                size_t saved = walk_push_key(w, "source");
                WALK_CHECK_KEYS(w, src, source_keys);
                walk_string(w, src, "sourceLocation", 0, MANIFEST_PATH_MAX, &s->source_location);
                walk_string(w, src, "pupName", 0, MANIFEST_NAME_MAX, &s->pup_name);
                walk_string(w, src, "pupVersion", 0, SEMVER_MAX_LEN, &s->pup_version);
                walk_string(w, src, "pupLogoBase64", 0, MANIFEST_SIZE_MAX, &s->pup_logo_base64);
                if (*s->pup_version && !semver_valid(s->pup_version, 0))
                        walk_warn_at(w, "pupVersion",
                                     "\"%s\" is not a semantic version; the hint may not be "
                                     "usable",
                                     s->pup_version);
                d->has_source = *s->source_location || *s->pup_name || *s->pup_version;
                walk_pop(w, saved);
        }
}

static void walk_dependencies(struct walker *w, const struct jval *root, struct manifest *m)
{
        const struct jval *arr = NULL;
        struct nameset names = {0};
        size_t idx;
        const struct jval *v;
        char r[RENDER_MAX];

        if (walk_array(w, root, "dependencies", false, MANIFEST_DEPENDENCIES_MAX, "dependencies",
                       &arr) <= 0)
                return;
        struct manifest_dependency *out = arena_array(w->arena, jv_len(arr), sizeof(*out));
        size_t saved = walk_push_key(w, "dependencies");
        jv_array_foreach(arr, idx, v)
        {
                struct manifest_dependency *d = &out[idx];
                size_t s2 = walk_push_index(w, idx);
                d->interface_name = d->interface_version = "";
                d->source.source_location = d->source.pup_name = "";
                d->source.pup_version = d->source.pup_logo_base64 = "";
                if (!jv_is_object(v))
                        walk_error(w, "%s is not a dependency object",
                                   walk_render_jv(v, r, sizeof(r)));
                else
                        walk_dependency(w, v, d, &names);
                walk_pop(w, s2);
        }
        walk_pop(w, saved);
        nameset_done(&names);
        m->dependencies = out;
        m->n_dependencies = jv_len(arr);
}

static bool name_is_metric(const char *s)
{
        return name_is_service(s);
}

static void walk_metrics(struct walker *w, const struct jval *root, struct manifest *m)
{
        static const char *const keys[] = {"name", "label", "type", "history", "description"};
        const struct jval *arr = NULL;
        struct nameset names = {0};
        size_t idx;
        const struct jval *v;
        char r[RENDER_MAX];

        if (walk_array(w, root, "metrics", false, MANIFEST_METRICS_MAX, "metrics", &arr) <= 0)
                return;
        struct manifest_metric *out = arena_array(w->arena, jv_len(arr), sizeof(*out));
        size_t saved = walk_push_key(w, "metrics");
        jv_array_foreach(arr, idx, v)
        {
                struct manifest_metric *mt = &out[idx];
                const char *type = NULL;
                long long h = 0;
                size_t s2 = walk_push_index(w, idx);

                mt->name = mt->label = mt->description = "";
                if (!jv_is_object(v)) {
                        walk_error(w, "%s is not a metric object", walk_render_jv(v, r, sizeof(r)));
                        walk_pop(w, s2);
                        continue;
                }
                WALK_CHECK_KEYS(w, v, keys);
                if (walk_name(w, v, "name", name_is_metric, PATTERN_SERVICE, &mt->name) > 0)
                        check_unique(w, &names, "name", mt->name, "name");
                if (walk_string(w, v, "label", 0, MANIFEST_LABEL_MAX, &mt->label) == 0 ||
                    !*mt->label)
                        walk_warn_at(w, "label", "missing; the metric's name is shown instead");
                walk_string(w, v, "description", STR_MULTILINE, MANIFEST_TEXT_MAX,
                            &mt->description);
                if (walk_string(w, v, "type", STR_REQUIRED | STR_NONEMPTY, MANIFEST_NAME_MAX,
                                &type) > 0) {
                        if (streq(type, "string"))
                                mt->type = MANIFEST_METRIC_STRING;
                        else if (streq(type, "int"))
                                mt->type = MANIFEST_METRIC_INT;
                        else if (streq(type, "float"))
                                mt->type = MANIFEST_METRIC_FLOAT;
                        else
                                walk_error_at(w, "type",
                                              "\"%s\" is not a metric type (string, int or float)",
                                              type);
                }
                if (walk_int(w, v, "history", true, MANIFEST_METRIC_HISTORY_MIN,
                             MANIFEST_METRIC_HISTORY_MAX, "a history length", &h) > 0)
                        mt->history = (unsigned)h;
                walk_pop(w, s2);
        }
        walk_pop(w, saved);
        nameset_done(&names);
        m->metrics = out;
        m->n_metrics = jv_len(arr);
}

/* Exposes may name interfaces the pup does not declare (upstream's
 * core-gateway does): a warning, since nothing can depend on them. */
static void check_expose_interfaces(struct walker *w, const struct manifest *m)
{
        for (size_t e = 0; e < m->container.n_exposes; e++) {
                const struct manifest_expose *ex = &m->container.exposes[e];
                for (size_t i = 0; i < ex->n_interfaces; i++) {
                        bool found = false;
                        for (size_t k = 0; k < m->n_interfaces && !found; k++)
                                found = streq(m->interfaces[k].name, ex->interfaces[i]);
                        if (found)
                                continue;
                        size_t saved = walk_push_key(w, "container");
                        walk_push_key(w, "exposes");
                        walk_push_index(w, e);
                        walk_push_key(w, "interfaces");
                        walk_push_index(w, i);
                        walk_warn(w,
                                  "\"%s\" is not declared in interfaces; no pup can depend on it",
                                  ex->interfaces[i]);
                        walk_pop(w, saved);
                }
        }
}

/* The walk over a parsed document. doc, when not NULL, is taken over: kept
 * by the manifest (its strings point into it) or freed on failure. */
static int manifest_walk(const struct jval *root, struct jdoc *doc, struct manifest **ret,
                         struct dbx_errors *errs, struct dbx_errors *warnings)
{
        static const char *const keys[] = {"manifestVersion", "meta",         "config", "container",
                                           "interfaces",      "dependencies", "metrics"};
        struct walker w;
        struct manifest *m;
        long long version = 0;
        char r[RENDER_MAX];

        if (!jv_is_object(root)) {
                if (errs)
                        dbx_errors_add(errs, -EINVAL, "",
                                       "%s is not a manifest (a JSON object is expected)",
                                       walk_render_jv(root, r, sizeof(r)));
                jdoc_free(doc);
                return -EINVAL;
        }
        walker_init(&w, arena_new(), errs, warnings);
        m = arena_alloc(w.arena, sizeof(*m));
        m->arena = w.arena;
        if (doc)
                arena_keep_doc(w.arena, doc);

        WALK_CHECK_KEYS(&w, root, keys);
        if (walk_int(&w, root, "manifestVersion", true, MANIFEST_VERSION, MANIFEST_VERSION,
                     "a supported manifest version", &version) > 0)
                m->manifest_version = (int)version;
        walk_meta(&w, root, m);
        walk_config(&w, root, m);
        walk_container(&w, root, m);
        walk_interfaces(&w, root, m);
        walk_dependencies(&w, root, m);
        walk_metrics(&w, root, m);
        check_expose_interfaces(&w, m);

        if (w.n_errors > 0) {
                arena_free(w.arena);
                return -EINVAL;
        }
        *ret = m;
        return 0;
}

int manifest_parse_jdoc(const struct jval *root, struct manifest **ret, struct dbx_errors *errs,
                        struct dbx_errors *warnings)
{
        return manifest_walk(root, NULL, ret, errs, warnings);
}

int manifest_json_to_doc(const char *what, const json_t *root, struct jdoc **ret,
                         struct dbx_errors *errs)
{
        struct jdoc_error jerr;
        char *text = json_dumps(root, JSON_COMPACT | JSON_ENCODE_ANY);
        int r;

        if (!text) {
                if (errs)
                        dbx_errors_add(errs, -EINVAL, "",
                                       "%s cannot be read (a string is not valid UTF-8)", what);
                return -EINVAL;
        }
        r = jdoc_parse(text, strlen(text), JDOC_ALLOW_NUL, JDOC_DEPTH_MAX, ret, &jerr);
        free(text);
        if (r < 0) {
                if (errs)
                        dbx_errors_add(errs, -EINVAL, "", "%s cannot be read: %s", what, jerr.text);
                return -EINVAL;
        }
        return 0;
}

int manifest_parse_json(const json_t *root, struct manifest **ret, struct dbx_errors *errs,
                        struct dbx_errors *warnings)
{
        char r[RENDER_MAX];
        struct jdoc *doc = NULL;

        if (!json_is_object(root)) {
                if (errs)
                        dbx_errors_add(errs, -EINVAL, "",
                                       "%s is not a manifest (a JSON object is expected)",
                                       root ? walk_render(root, r, sizeof(r)) : "nothing");
                return -EINVAL;
        }
        if (manifest_json_to_doc("the manifest", root, &doc, errs) < 0)
                return -EINVAL;
        return manifest_walk(jdoc_root(doc), doc, ret, errs, warnings);
}

/* Size limit, emptiness and bounded JSON parsing shared by manifest.json
 * and dogebox.json; what names the document in messages. */
int manifest_text_load(const char *what, const char *buf, size_t len, size_t max, struct jdoc **ret,
                       struct dbx_errors *errs)
{
        struct dbx_error err = {0};
        if (len > max) {
                if (errs)
                        dbx_errors_add(errs, -E2BIG, "", "%s is %zu bytes, at most %zu are allowed",
                                       what, len, max);
                return -E2BIG;
        }
        size_t i = 0;
        while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n'))
                i++;
        if (i == len) {
                if (errs)
                        dbx_errors_add(errs, -EINVAL, "", "%s is empty (a JSON object is expected)",
                                       what);
                return -EINVAL;
        }
        int r = json_parse_bounded_doc(buf, len, MANIFEST_DEPTH_MAX, false, ret, &err);
        if (r < 0) {
                if (errs)
                        dbx_errors_add(errs, r, "", "%s", err.message);
                return -EINVAL;
        }
        return 0;
}

int manifest_parse(const char *buf, size_t len, struct manifest **ret, struct dbx_errors *errs,
                   struct dbx_errors *warnings)
{
        struct jdoc *doc = NULL;
        int r = manifest_text_load("the manifest", buf, len, MANIFEST_SIZE_MAX, &doc, errs);
        if (r < 0)
                return r;
        return manifest_walk(jdoc_root(doc), doc, ret, errs, warnings);
}

struct manifest *manifest_free(struct manifest *m)
{
        if (m)
                arena_free(m->arena); /* m itself lives in the arena */
        return NULL;
}

const struct manifest_field *manifest_field_find(const struct manifest *m, const char *name)
{
        for (size_t s = 0; s < m->config.n_sections; s++)
                for (size_t f = 0; f < m->config.sections[s].n_fields; f++)
                        if (streq(m->config.sections[s].fields[f].name, name))
                                return &m->config.sections[s].fields[f];
        return NULL;
}

int manifest_check_runnable(const struct manifest *m, bool have_nix, struct dbx_error *err)
{
        if (m->needs_nix && !have_nix)
                return dbx_error_set(err, -EOPNOTSUPP, "container.build",
                                     "\"%s\" %s needs the Nix builder, which this Dogebox does "
                                     "not have (container.build is a %s build; native pups run "
                                     "without it)",
                                     m->meta.name, m->meta.version,
                                     manifest_build_type_name(m->container.build.type));
        return 0;
}

static int pup_path(const char *p, char *buf, size_t size)
{
        if (p[0] == '/')
                return snprintf(buf, size, "%s", p);
        while (p[0] == '.' && p[1] == '/')
                p += 2;
        if (!*p || streq(p, "."))
                return snprintf(buf, size, "%s", MANIFEST_PUP_MOUNT);
        return snprintf(buf, size, "%s/%s", MANIFEST_PUP_MOUNT, p);
}

int manifest_service_exec_path(const struct manifest_service *s, char *buf, size_t size)
{
        return pup_path(s->exec, buf, size);
}

int manifest_service_cwd_path(const struct manifest_service *s, char *buf, size_t size)
{
        return pup_path(s->cwd ? s->cwd : "", buf, size);
}
