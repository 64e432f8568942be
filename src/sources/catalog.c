/* Catalog construction, ordering, copies, the SQLite cache blob, and the
 * store-listing JSON (written as text so stored manifest texts are
 * embedded as they are, without re-parsing thousands of them per request). */
#include <stdarg.h>
#include "core/jdoc.h"
#include "core/json.h"
#include "core/macro.h"
#include "manifest/manifest.h"
#include "sources/catalog.h"

/* ---- construction ---- */

struct catalog *catalog_new(void)
{
        struct catalog *c = xcalloc(1, sizeof(*c));
        c->id = xstrdup("");
        c->name = xstrdup("");
        c->description = xstrdup("");
        return c;
}

static void strv_free(char **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

static void version_clear(struct catalog_version *v)
{
        free(v->name);
        free(v->version);
        free(v->manifest_json);
        free(v->logo);
        strv_free(v->errors, v->n_errors);
        free(v->subpath);
        free(v->tag);
        free(v->archive_url);
}

struct catalog *catalog_free(struct catalog *c)
{
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n; i++)
                version_clear(&c->versions[i]);
        free(c->versions);
        strv_free(c->warnings, c->n_warnings);
        free(c->id);
        free(c->name);
        free(c->description);
        free(c);
        return NULL;
}

void catalog_set_info(struct catalog *c, const char *id, const char *name, const char *description)
{
        free(c->id);
        free(c->name);
        free(c->description);
        c->id = xstrdup(id ? id : "");
        c->name = xstrdup(name ? name : "");
        c->description = xstrdup(description ? description : "");
}

struct catalog_version *catalog_add(struct catalog *c, const char *name, const char *version)
{
        if (c->n >= CATALOG_VERSIONS_MAX)
                return NULL;
        if (c->n == c->cap) {
                c->cap = c->cap ? c->cap * 2 : 16;
                c->versions = xrealloc(c->versions, c->cap * sizeof(*c->versions));
        }
        struct catalog_version *v = &c->versions[c->n++];
        *v = (struct catalog_version){0};
        v->name = xstrdup(name);
        v->version = xstrdup(version);
        v->has_semver = semver_parse(version, 0, &v->semver, NULL) == 0;
        v->seq = c->next_seq++;
        return v;
}

static void add_line(char ***v, size_t *n, size_t max, size_t *dropped, char *line)
{
        if (*n >= max) {
                if (dropped)
                        (*dropped)++;
                free(line);
                return;
        }
        *v = xrealloc(*v, (*n + 1) * sizeof(char *));
        (*v)[(*n)++] = line;
}

void catalog_version_error(struct catalog_version *v, const char *path, const char *fmt, ...)
{
        char msg[DBX_ERROR_MSG_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        v->valid = false;
        add_line(&v->errors, &v->n_errors, CATALOG_VERSION_ERRORS, &v->errors_dropped,
                 path && *path ? xasprintf("%s: %s", path, msg) : xstrdup(msg));
}

void catalog_version_errors(struct catalog_version *v, const struct dbx_errors *errs,
                            const char *prefix)
{
        for (size_t i = 0; i < errs->n; i++) {
                const struct dbx_error *e = &errs->items[i];
                if (!e->path[0])
                        catalog_version_error(v, prefix, "%s", e->message);
                else if (prefix && *prefix) {
                        _cleanup_free_ char *p = xasprintf("%s.%s", prefix, e->path);
                        catalog_version_error(v, p, "%s", e->message);
                } else
                        catalog_version_error(v, e->path, "%s", e->message);
        }
        v->errors_dropped += errs->dropped;
        v->valid = false;
}

void catalog_warn(struct catalog *c, const char *fmt, ...)
{
        va_list ap;
        char msg[DBX_ERROR_MSG_MAX];
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        add_line(&c->warnings, &c->n_warnings, CATALOG_WARNINGS_MAX, NULL, xstrdup(msg));
}

/* Name, then highest version first (non-semver last), then valid first,
 * then insertion order. Equal (name, version) strings end up adjacent. */
static int version_cmp(const void *pa, const void *pb)
{
        const struct catalog_version *a = pa, *b = pb;
        int r = strcmp(a->name, b->name);
        if (r)
                return r;
        if (a->has_semver != b->has_semver)
                return a->has_semver ? -1 : 1;
        if (a->has_semver) {
                r = semver_cmp(&a->semver, &b->semver);
                if (r)
                        return -r;
        }
        r = strcmp(a->version, b->version);
        if (r)
                return r;
        if (a->valid != b->valid)
                return a->valid ? -1 : 1;
        return a->seq < b->seq ? -1 : a->seq > b->seq;
}

size_t catalog_finish(struct catalog *c)
{
        size_t out = 0, removed = 0;
        if (c->n > 1)
                qsort(c->versions, c->n, sizeof(*c->versions), version_cmp);
        for (size_t i = 0; i < c->n; i++) {
                struct catalog_version *v = &c->versions[i];
                if (out > 0 && streq(c->versions[out - 1].name, v->name) &&
                    streq(c->versions[out - 1].version, v->version)) {
                        version_clear(v);
                        removed++;
                        continue;
                }
                if (out != i)
                        c->versions[out] = *v;
                out++;
        }
        c->n = out;
        return removed;
}

static char *dup_or_null(const char *s)
{
        return s ? xstrdup(s) : NULL;
}

static char **strv_copy(char *const *v, size_t n)
{
        if (!n)
                return NULL;
        char **r = xcalloc(n, sizeof(char *));
        for (size_t i = 0; i < n; i++)
                r[i] = xstrdup(v[i]);
        return r;
}

struct catalog *catalog_copy(const struct catalog *c)
{
        struct catalog *d = xcalloc(1, sizeof(*d));
        d->id = xstrdup(c->id);
        d->name = xstrdup(c->name);
        d->description = xstrdup(c->description);
        d->warnings = strv_copy(c->warnings, c->n_warnings);
        d->n_warnings = c->n_warnings;
        d->next_seq = c->next_seq;
        d->n = d->cap = c->n;
        d->versions = c->n ? xcalloc(c->n, sizeof(*d->versions)) : NULL;
        for (size_t i = 0; i < c->n; i++) {
                const struct catalog_version *s = &c->versions[i];
                struct catalog_version *v = &d->versions[i];
                *v = *s;
                v->name = xstrdup(s->name);
                v->version = xstrdup(s->version);
                v->manifest_json = dup_or_null(s->manifest_json);
                v->logo = dup_or_null(s->logo);
                v->errors = strv_copy(s->errors, s->n_errors);
                v->subpath = dup_or_null(s->subpath);
                v->tag = dup_or_null(s->tag);
                v->archive_url = dup_or_null(s->archive_url);
        }
        return d;
}

/* ---- lookups ---- */

const struct catalog_version *catalog_find(const struct catalog *c, const char *name,
                                           const char *version)
{
        bool latest = !version || streq(version, "latest");
        struct semver want;
        bool want_semver = !latest && semver_parse(version, SEMVER_ALLOW_V, &want, NULL) == 0;
        const struct catalog_version *by_semver = NULL;

        for (size_t i = 0; i < c->n; i++) {
                const struct catalog_version *v = &c->versions[i];
                if (!streq(v->name, name))
                        continue;
                if (latest) {
                        if (v->valid)
                                return v; /* sorted: the first valid one is the highest */
                        continue;
                }
                if (streq(v->version, version))
                        return v;
                if (want_semver && !by_semver && v->has_semver &&
                    semver_cmp(&v->semver, &want) == 0 && streq(v->semver.build, want.build))
                        by_semver = v;
        }
        return by_semver;
}

size_t catalog_count_valid(const struct catalog *c)
{
        size_t n = 0;
        for (size_t i = 0; i < c->n; i++)
                n += c->versions[i].valid;
        return n;
}

size_t catalog_count_pups(const struct catalog *c)
{
        size_t n = 0;
        for (size_t i = 0; i < c->n; i++)
                if (i == 0 || !streq(c->versions[i - 1].name, c->versions[i].name))
                        n++;
        return n;
}

/* ---- cache blob ---- */

static void str_or_null(struct jbuf *b, const char *s)
{
        if (s)
                jbuf_str(b, s);
        else
                jbuf_puts(b, "null");
}

static void strv_json(struct jbuf *b, char *const *v, size_t n)
{
        jbuf_puts(b, "[");
        for (size_t i = 0; i < n; i++) {
                if (i)
                        jbuf_puts(b, ",");
                jbuf_str(b, v[i]);
        }
        jbuf_puts(b, "]");
}

char *catalog_to_cache(const struct catalog *c, size_t *ret_len)
{
        struct jbuf b = {0};
        jbuf_printf(&b, "{\"format\":%d,\"id\":", CATALOG_FORMAT);
        jbuf_str(&b, c->id);
        jbuf_puts(&b, ",\"name\":");
        jbuf_str(&b, c->name);
        jbuf_puts(&b, ",\"description\":");
        jbuf_str(&b, c->description);
        jbuf_puts(&b, ",\"warnings\":");
        strv_json(&b, c->warnings, c->n_warnings);
        jbuf_puts(&b, ",\"versions\":[");
        for (size_t i = 0; i < c->n; i++) {
                const struct catalog_version *v = &c->versions[i];
                jbuf_puts(&b, i ? ",{\"name\":" : "{\"name\":");
                jbuf_str(&b, v->name);
                jbuf_puts(&b, ",\"version\":");
                jbuf_str(&b, v->version);
                jbuf_printf(&b, ",\"valid\":%s,\"manifest\":", v->valid ? "true" : "false");
                str_or_null(&b, v->manifest_json);
                jbuf_puts(&b, ",\"logo\":");
                str_or_null(&b, v->logo);
                jbuf_puts(&b, ",\"errors\":");
                strv_json(&b, v->errors, v->n_errors);
                jbuf_printf(&b, ",\"errorsDropped\":%zu,\"subpath\":", v->errors_dropped);
                str_or_null(&b, v->subpath);
                jbuf_puts(&b, ",\"tag\":");
                str_or_null(&b, v->tag);
                jbuf_puts(&b, ",\"commit\":");
                jbuf_str(&b, v->commit);
                jbuf_puts(&b, ",\"archiveUrl\":");
                str_or_null(&b, v->archive_url);
                jbuf_puts(&b, ",\"archiveSha256\":");
                jbuf_str(&b, v->archive_sha256);
                jbuf_printf(&b, ",\"archiveSize\":%llu}", (unsigned long long)v->archive_size);
        }
        jbuf_puts(&b, "]}");
        return jbuf_steal(&b, ret_len);
}

static char *get_str(const struct jval *o, const char *k, size_t *ret_len)
{
        const struct jval *v = jv_get(o, k);
        if (!jv_is_string(v))
                return NULL;
        if (ret_len)
                *ret_len = jv_len(v);
        char *p = xmalloc(jv_len(v) + 1);
        memcpy(p, v->u.s, jv_len(v) + 1); /* with its NUL */
        return p;
}

static int get_strv(const struct jval *o, const char *k, char ***ret, size_t *ret_n)
{
        const struct jval *a = jv_get(o, k), *e;
        size_t i;
        if (!jv_is_array(a))
                return -EINVAL;
        jv_array_foreach(a, i, e)
        {
                if (!jv_is_string(e))
                        return -EINVAL;
                add_line(ret, ret_n, SIZE_MAX, NULL, xstrdup(jv_str(e)));
        }
        return 0;
}

/* The store listing embeds a valid version's manifest text as it is, so
 * it must be one well-formed JSON object: the blob may come from the
 * unprivileged fetch helper, which the daemon does not trust. */
static bool manifest_text_ok(const char *s, size_t len)
{
        _cleanup_jdoc_ struct jdoc *d = NULL;
        return s && jdoc_parse(s, len, 0, MANIFEST_DEPTH_MAX, &d, NULL) == 0 &&
               jv_is_object(jdoc_root(d));
}

int catalog_from_cache(const char *text, size_t len, struct catalog **ret, struct dbx_error *err)
{
        _cleanup_jdoc_ struct jdoc *doc = NULL;
        _cleanup_catalog_ struct catalog *c = NULL;
        struct jdoc_error jerr;
        const struct jval *root, *vs, *e;
        size_t i;

        if (len > CATALOG_CACHE_MAX)
                return dbx_error_set(err, -E2BIG, "", "cached catalog is too large");
        if (jdoc_parse(text, len, 0, CATALOG_CACHE_DEPTH, &doc, &jerr) < 0)
                return dbx_error_set(err, -EINVAL, "", "cached catalog is damaged: %s", jerr.text);
        root = jdoc_root(doc);
        if (!jv_is_object(root))
                return dbx_error_set(err, -EINVAL, "", "cached catalog is damaged: %s",
                                     "not an object");
        if (jv_int(jv_get(root, "format")) != CATALOG_FORMAT)
                return dbx_error_set(err, -EPROTONOSUPPORT, "",
                                     "cached catalog has another format");
        c = catalog_new();
        const char *id = jv_str(jv_get(root, "id"));
        const char *name = jv_str(jv_get(root, "name"));
        const char *desc = jv_str(jv_get(root, "description"));
        vs = jv_get(root, "versions");
        if (!id || !name || !desc || !jv_is_array(vs) ||
            get_strv(root, "warnings", &c->warnings, &c->n_warnings) < 0)
                return dbx_error_set(err, -EINVAL, "", "cached catalog is damaged");
        catalog_set_info(c, id, name, desc);
        jv_array_foreach(vs, i, e)
        {
                const char *vn = jv_str(jv_get(e, "name"));
                const char *vv = jv_str(jv_get(e, "version"));
                const char *commit = jv_str(jv_get(e, "commit"));
                const char *sha = jv_str(jv_get(e, "archiveSha256"));
                long long size = jv_int(jv_get(e, "archiveSize"));
                long long dropped = jv_int(jv_get(e, "errorsDropped"));
                struct catalog_version *v;
                if (!vn || !vv || !commit || strlen(commit) > CATALOG_COMMIT_HEX || !sha ||
                    strlen(sha) > CATALOG_SHA256_HEX || size < 0 || dropped < 0 ||
                    !(v = catalog_add(c, vn, vv)))
                        return dbx_error_set(err, -EINVAL, "", "cached catalog is damaged");
                v->valid = jv_is_true(jv_get(e, "valid"));
                size_t mlen = 0;
                v->manifest_json = get_str(e, "manifest", &mlen);
                v->logo = get_str(e, "logo", NULL);
                v->subpath = get_str(e, "subpath", NULL);
                v->tag = get_str(e, "tag", NULL);
                v->archive_url = get_str(e, "archiveUrl", NULL);
                snprintf(v->commit, sizeof(v->commit), "%s", commit);
                snprintf(v->archive_sha256, sizeof(v->archive_sha256), "%s", sha);
                v->archive_size = (uint64_t)size;
                v->errors_dropped = (size_t)dropped;
                if (get_strv(e, "errors", &v->errors, &v->n_errors) < 0 ||
                    (v->valid && !manifest_text_ok(v->manifest_json, mlen)))
                        return dbx_error_set(err, -EINVAL, "", "cached catalog is damaged");
        }
        catalog_finish(c);
        *ret = TAKE_PTR(c);
        return 0;
}

/* ---- store listing ---- */

void catalog_store_pups_json(const struct catalog *c, struct jbuf *b)
{
        bool first_pup = true;
        jbuf_puts(b, "{");
        for (size_t i = 0; i < c->n;) {
                size_t end = i;
                const struct catalog_version *latest = NULL;
                while (end < c->n && streq(c->versions[end].name, c->versions[i].name)) {
                        if (!latest && c->versions[end].valid)
                                latest = &c->versions[end];
                        end++;
                }
                if (latest) {
                        if (!first_pup)
                                jbuf_puts(b, ",");
                        first_pup = false;
                        jbuf_str(b, latest->name);
                        jbuf_puts(b, ":{\"latestVersion\":");
                        jbuf_str(b, latest->version);
                        jbuf_puts(b, ",\"logoBase64\":");
                        jbuf_str(b, latest->logo);
                        jbuf_puts(b, ",\"versions\":{");
                        bool first = true;
                        for (size_t k = i; k < end; k++) {
                                const struct catalog_version *v = &c->versions[k];
                                if (!v->valid)
                                        continue;
                                if (!first)
                                        jbuf_puts(b, ",");
                                first = false;
                                jbuf_str(b, v->version);
                                jbuf_puts(b, ":");
                                jbuf_puts(b, v->manifest_json);
                        }
                        jbuf_puts(b, "},\"devModeAvailable\":false}");
                }
                i = end;
        }
        jbuf_puts(b, "}");
}

void catalog_invalid_json(const struct catalog *c, struct jbuf *b)
{
        bool first = true;
        jbuf_puts(b, "[");
        for (size_t i = 0; i < c->n; i++) {
                const struct catalog_version *v = &c->versions[i];
                if (v->valid)
                        continue;
                if (!first)
                        jbuf_puts(b, ",");
                first = false;
                jbuf_puts(b, "{\"pup\":");
                jbuf_str(b, v->name);
                jbuf_puts(b, ",\"version\":");
                jbuf_str(b, v->version);
                jbuf_puts(b, ",\"errors\":");
                strv_json(b, v->errors, v->n_errors);
                if (v->errors_dropped)
                        jbuf_printf(b, ",\"moreErrors\":%zu", v->errors_dropped);
                if (v->tag) {
                        jbuf_puts(b, ",\"tag\":");
                        jbuf_str(b, v->tag);
                }
                if (v->subpath) {
                        jbuf_puts(b, ",\"location\":");
                        jbuf_str(b, v->subpath);
                }
                jbuf_puts(b, "}");
        }
        jbuf_puts(b, "]");
}
