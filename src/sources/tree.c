/* Reading a source tree (disk folder or git tree) into catalog entries:
 * dogebox.json, manifests, logos. Shared by the disk and git loaders. */
#include <ctype.h>
#include <sodium.h>
#include "core/json.h"
#include "core/macro.h"
#include "manifest/manifest.h"
#include "sources/index.h"
#include "sources/internal.h"

#define JOIN_ERRORS_SHOWN 3 /* one-line messages quote this many problems */

void errors_join(const struct dbx_errors *errs, char *buf, size_t size)
{
        size_t off = 0;
        buf[0] = '\0';
        for (size_t i = 0; i < errs->n && i < JOIN_ERRORS_SHOWN; i++) {
                char line[DBX_ERROR_PATH_MAX + DBX_ERROR_MSG_MAX + 4];
                int n = snprintf(buf + off, size - off, "%s%s", i ? "; " : "",
                                 dbx_error_text(&errs->items[i], line, sizeof(line)));
                if (n < 0 || (size_t)n >= size - off)
                        return;
                off += (size_t)n;
        }
        size_t more = errs->n + errs->dropped;
        if (more > JOIN_ERRORS_SHOWN)
                snprintf(buf + off, size - off, " (and %zu more)", more - JOIN_ERRORS_SHOWN);
}

void id_from_name(const char *name, char *out, size_t size)
{
        size_t n = 0;
        for (const char *p = name; *p && n + 1 < size && n < MANIFEST_SOURCE_ID_MAX; p++) {
                unsigned char c = (unsigned char)*p;
                if (isalnum(c) || c == '_' || c == '.' || c == '-')
                        out[n++] = (char)c;
                else if (n > 0 && out[n - 1] != '-')
                        out[n++] = '-';
        }
        while (n > 0 && !isalnum((unsigned char)out[0])) {
                memmove(out, out + 1, n - 1);
                n--;
        }
        while (n > 0 && !isalnum((unsigned char)out[n - 1]))
                n--;
        out[n] = '\0';
        if (n == 0)
                snprintf(out, size, "source");
}

static const char *logo_mime(const char *path)
{
        static const struct {
                const char *ext, *mime;
        } types[] = {
            {".png", "image/png"}, {".jpg", "image/jpeg"},  {".jpeg", "image/jpeg"},
            {".gif", "image/gif"}, {".webp", "image/webp"}, {".svg", "image/svg+xml"},
        };
        size_t n = strlen(path);
        for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
                size_t e = strlen(types[i].ext);
                if (n > e && strcasecmp(path + n - e, types[i].ext) == 0)
                        return types[i].mime;
        }
        return NULL;
}

static char *join_path(const char *dir, const char *name)
{
        return *dir ? xasprintf("%s/%s", dir, name) : xstrdup(name);
}

/* The name and version a broken manifest claims, when it says. */
static void lenient_identity(const char *buf, size_t len, char **name, char **version)
{
        _cleanup_json_ json_t *root = NULL;
        if (json_parse_bounded(buf, len, MANIFEST_DEPTH_MAX, true, &root, NULL) < 0)
                return;
        const json_t *meta = json_object_iget(root, "meta");
        const char *n = json_string_value(json_object_iget(meta, "name"));
        const char *v = json_string_value(json_object_iget(meta, "version"));
        if (n && *n && strlen(n) <= MANIFEST_LABEL_MAX)
                *name = xstrdup(n);
        if (v && *v && strlen(v) <= SEMVER_MAX_LEN)
                *version = xstrdup(v);
}

/* One logo warning per pup version, not one per git tag that repeats it. */
static bool warned_logo(const struct catalog *cat, const struct catalog_version *v)
{
        _cleanup_free_ char *prefix = xasprintf("%s %s: meta.logoPath", v->name, v->version);
        size_t n = strlen(prefix);
        for (size_t i = 0; i < cat->n_warnings; i++)
                if (strncmp(cat->warnings[i], prefix, n) == 0)
                        return true;
        return false;
}

static void add_logo(struct catalog *cat, struct catalog_version *v, const struct tree_reader *t,
                     const char *dir, const char *logo_path)
{
        _cleanup_free_ char *path = join_path(dir, logo_path), *buf = NULL;
        struct dbx_error err = {0};
        const char *mime = logo_mime(logo_path);
        size_t len;

        if (!mime) {
                if (!warned_logo(cat, v))
                        catalog_warn(cat,
                                     "%s %s: meta.logoPath \"%s\" is not a png, jpeg, gif, webp or "
                                     "svg file: no logo shown",
                                     v->name, v->version, logo_path);
                return;
        }
        if (t->read(t->ud, path, INDEX_LOGO_MAX, &buf, &len, &err) < 0) {
                if (!warned_logo(cat, v))
                        catalog_warn(cat, "%s %s: meta.logoPath: %s: no logo shown", v->name,
                                     v->version, err.message);
                return;
        }
        size_t b64 = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
        size_t pre = strlen("data:;base64,") + strlen(mime);
        v->logo = xmalloc(pre + b64);
        snprintf(v->logo, pre + 1, "data:%s;base64,", mime);
        sodium_bin2base64(v->logo + pre, b64, (const unsigned char *)buf, len,
                          sodium_base64_VARIANT_ORIGINAL);
}

/* One pup folder (dir relative to the root, "" for the root) into one
 * catalog entry, valid or not. */
static void scan_pup(struct catalog *cat, const struct tree_reader *t, const char *dir,
                     const char *fallback_name, const char *fallback_version, const char *tag)
{
        _cleanup_free_ char *path = join_path(dir, "manifest.json"), *buf = NULL;
        _cleanup_free_ char *name = NULL, *version = NULL;
        _cleanup_manifest_ struct manifest *m = NULL;
        struct dbx_errors errs = {0};
        struct dbx_error err = {0};
        struct catalog_version *v;
        size_t len = 0;

        int r = t->read(t->ud, path, SOURCES_FILE_MAX, &buf, &len, &err);
        if (r >= 0 && manifest_parse(buf, len, &m, &errs, NULL) >= 0) {
                v = catalog_add(cat, m->meta.name, m->meta.version);
                if (!v)
                        goto full;
                struct jbuf b = {0};
                manifest_write_json(m, &b);
                v->manifest_json = jbuf_steal(&b, NULL);
                v->valid = true;
                if (*m->meta.logo_path)
                        add_logo(cat, v, t, dir, m->meta.logo_path);
        } else {
                if (r >= 0)
                        lenient_identity(buf, len, &name, &version);
                v = catalog_add(cat, name ? name : fallback_name,
                                version ? version : fallback_version);
                if (!v)
                        goto full;
                if (r < 0)
                        catalog_version_error(v, path, "%s", err.message);
                else
                        catalog_version_errors(v, &errs, NULL);
        }
        v->subpath = xstrdup(dir);
        v->tag = tag ? xstrdup(tag) : NULL;
        dbx_errors_free(&errs);
        return;
full:
        catalog_warn(cat, "more than %d pup versions: the rest is ignored", CATALOG_VERSIONS_MAX);
        dbx_errors_free(&errs);
}

static const char *base_name(const char *p)
{
        const char *s = strrchr(p, '/');
        return s ? s + 1 : p;
}

int tree_scan(struct catalog *cat, const struct tree_reader *t, const char *fallback_id,
              const char *fallback_version, const char *tag, struct dbx_error *err)
{
        _cleanup_free_ char *buf = NULL;
        _cleanup_manifest_source_ struct manifest_source *src = NULL;
        struct dbx_errors errs = {0};
        struct dbx_error rerr = {0};
        size_t len;
        char joined[DBX_ERROR_MSG_MAX];

        int r = t->read(t->ud, "dogebox.json", MANIFEST_SOURCE_SIZE_MAX, &buf, &len, &rerr);
        if (r >= 0) {
                if (manifest_source_parse(buf, len, &src, &errs, NULL) < 0) {
                        errors_join(&errs, joined, sizeof(joined));
                        dbx_errors_free(&errs);
                        return dbx_error_set(err, -EINVAL, "", "dogebox.json is not valid: %s",
                                             joined);
                }
                catalog_set_info(cat, src->id, src->name, src->description);
                for (size_t i = 0; i < src->n_locations; i++)
                        scan_pup(cat, t, src->locations[i], base_name(src->locations[i]),
                                 fallback_version, tag);
                return 0;
        }
        if (r != -ENOENT)
                return dbx_error_set(err, r, "", "dogebox.json: %s", rerr.message);

        /* Not described by a dogebox.json: the id is derived, the name left
         * empty so the registry keeps the one it has. */
        catalog_set_info(cat, fallback_id, "", "");
        free(buf);
        buf = NULL;
        r = t->read(t->ud, "manifest.json", SOURCES_FILE_MAX, &buf, &len, &rerr);
        if (r != -ENOENT) {
                scan_pup(cat, t, "", fallback_id, fallback_version, tag);
                return 0;
        }
        char **dirs = NULL;
        size_t n = 0;
        r = t->pup_dirs(t->ud, &dirs, &n, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                if (i < MANIFEST_SOURCE_PUPS_MAX)
                        scan_pup(cat, t, dirs[i], dirs[i], fallback_version, tag);
                free(dirs[i]);
        }
        free(dirs);
        if (n > MANIFEST_SOURCE_PUPS_MAX)
                catalog_warn(cat, "%zu pup folders: only the first %d are read", n,
                             MANIFEST_SOURCE_PUPS_MAX);
        if (n == 0)
                return dbx_error_set(err, -ENOENT, "",
                                     "no pups here: a source needs a dogebox.json, a manifest.json "
                                     "at its root, or folders that each hold a manifest.json");
        return 0;
}
