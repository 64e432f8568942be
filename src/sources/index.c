/* The HTTP source index: parsing, validation into a catalog, signatures.
 * The format is specified in docs/sources.md. */
#include <ctype.h>
#include <sodium.h>
#include <stdarg.h>
#include "core/json.h"
#include "core/macro.h"
#include "core/util.h"
#include "sources/index.h"

#define RENDER_MAX       64  /* how much of an offending string a message quotes */
#define INDEX_JSON_SLACK 256 /* bytes a manifest's JSON buffer gets beyond the previous one's */

struct ictx {
        struct dbx_errors *errs; /* fatal, index-level */
        size_t n_errors;
        struct catalog *cat;
        size_t n_warnings;
        size_t json_len_hint; /* the last manifest JSON's length */
        /* While the pups stream in (before the rest of the index is read),
         * warnings are held back: the root's own come first, and none are
         * shown if the index fails as a whole. */
        bool deferring;
        char **deferred;
        size_t n_deferred;
        struct name_table *pup_names; /* pup name -> first index */
};

static void fatal(struct ictx *x, const char *path, const char *fmt, ...) _printf_(3, 4);
static void fatal(struct ictx *x, const char *path, const char *fmt, ...)
{
        char msg[DBX_ERROR_MSG_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        x->n_errors++;
        if (x->errs)
                dbx_errors_add(x->errs, -EINVAL, path, "%s", msg);
}

static const char *type_name(const struct jval *v)
{
        switch (jv_type(v)) {
        case JT_OBJECT:
                return "an object";
        case JT_ARRAY:
                return "an array";
        case JT_STRING:
                return "a string";
        case JT_INT:
        case JT_REAL:
                return "a number";
        case JT_TRUE:
        case JT_FALSE:
                return "a boolean";
        default:
                return "null";
        }
}

/* "text" cut to RENDER_MAX characters, for messages. */
static const char *quote(const char *s, char *buf, size_t size)
{
        size_t n = strlen(s);
        if (n > RENDER_MAX)
                snprintf(buf, size, "\"%.*s...\"", RENDER_MAX, s);
        else
                snprintf(buf, size, "\"%s\"", s);
        for (char *p = buf; *p; p++)
                if ((unsigned char)*p < 0x20)
                        *p = '?';
        return buf;
}

static void check_keys(struct ictx *x, const struct jval *obj, const char *path,
                       const char *const *known, size_t n)
{
        const struct jval *kn, *v;
        size_t ki;
        jv_object_foreach(obj, ki, kn, v)
        {
                const char *k = jv_str(kn);
                bool ok = false;
                (void)v;
                for (size_t i = 0; i < n && !ok; i++)
                        ok = streq(k, known[i]);
                if (ok)
                        continue;
                char q[RENDER_MAX + 8];
                if (x->deferring) {
                        if (x->n_deferred < INDEX_WARNINGS_MAX) {
                                x->deferred = xrealloc(x->deferred,
                                                       (x->n_deferred + 1) * sizeof(*x->deferred));
                                x->deferred[x->n_deferred++] =
                                    xasprintf("%s%sunknown key %s is ignored", path,
                                              *path ? ": " : "", quote(k, q, sizeof(q)));
                        }
                } else if (x->n_warnings++ < INDEX_WARNINGS_MAX)
                        catalog_warn(x->cat, "%s%sunknown key %s is ignored", path,
                                     *path ? ": " : "", quote(k, q, sizeof(q)));
        }
}

bool index_source_id_valid(const char *id)
{
        size_t n = strlen(id);
        if (n == 0 || n > MANIFEST_SOURCE_ID_MAX || !isalnum((unsigned char)id[0]))
                return false;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)id[i];
                if (!isalnum(c) && c != '_' && c != '.' && c != '-')
                        return false;
        }
        return true;
}

static bool is_hex_lower(const char *s, size_t n)
{
        if (strlen(s) != n)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

static unsigned base64_value(unsigned char c)
{
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        if (c == '+')
                return 62;
        if (c == '/')
                return 63;
        return 64;
}

/* Canonical padded base64, exactly what sodium_base642bin() with
 * sodium_base64_VARIANT_ORIGINAL accepts (tests/unit/sources compare the
 * two): groups of four, "=" only to pad the last one, unused bits zero.
 * Checked without decoding: the logo's bytes are not kept. */
static bool base64_check(const char *s, size_t len, size_t *ret_bytes)
{
        const unsigned char *u = (const unsigned char *)s;
        size_t pad = 0, data;

        if (len % 4)
                return false;
        if (len && u[len - 1] == '=')
                pad = len >= 2 && u[len - 2] == '=' ? 2 : 1;
        data = len - pad;
        for (size_t i = 0; i < data; i++)
                if (base64_value(u[i]) == 64)
                        return false;
        /* The bits of the last character that no byte uses must be zero. */
        if (pad == 2 && (base64_value(u[data - 1]) & 0x0f))
                return false;
        if (pad == 1 && (base64_value(u[data - 1]) & 0x03))
                return false;
        *ret_bytes = len / 4 * 3 - pad;
        return true;
}

const char *index_logo_check(const char *logo)
{
        static const char *const types[] = {"image/png", "image/jpeg", "image/gif", "image/webp",
                                            "image/svg+xml"};
        if (strncmp(logo, "data:", 5) != 0)
                return "is not a data: URL (data:image/png;base64,...)";
        const char *p = logo + 5;
        size_t i;
        for (i = 0; i < ARRAY_SIZE(types); i++) {
                size_t n = strlen(types[i]);
                if (strncmp(p, types[i], n) == 0 && strncmp(p + n, ";base64,", 8) == 0) {
                        p += n + 8;
                        break;
                }
        }
        if (i == ARRAY_SIZE(types))
                return "must be data:image/{png,jpeg,gif,webp,svg+xml};base64,...";
        size_t len = strlen(p);
        if (len / 4 * 3 > INDEX_LOGO_MAX + 3)
                return "is larger than 256 KiB";
        if (len == 0)
                return "is empty";
        size_t bin_len;
        if (!base64_check(p, len, &bin_len))
                return "is not valid base64";
        if (bin_len > INDEX_LOGO_MAX)
                return "is larger than 256 KiB";
        return NULL;
}

/* An archive URL: absolute http(s) or relative to the index. */
static const char *url_check(const char *u)
{
        size_t n = strlen(u);
        if (n == 0)
                return "is empty";
        if (n > INDEX_URL_MAX)
                return "is longer than 2048 characters";
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)u[i] <= 0x20 || u[i] == 0x7f || u[i] == '\\')
                        return "contains spaces, control characters or backslashes";
        const char *colon = strchr(u, ':'), *slash = strchr(u, '/');
        if (colon && (!slash || colon < slash)) {
                if (strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0)
                        return "must be an http(s):// URL or a path relative to the index";
                if (u[strlen(strncmp(u, "https", 5) == 0 ? "https://" : "http://")] == '\0')
                        return "has no host";
        } else if (u[0] == '/' && u[1] == '/')
                return "must not be scheme-relative (//host/...)";
        return NULL;
}

/* Pup names seen so far while the index streams in (their text is gone
 * once each pup is processed, so they are copied). Open addressing. */
#define NAME_TABLE_MIN 64

struct name_table {
        struct name_slot {
                char *name;
                size_t idx;
        } * v;
        size_t n, cap;
};

static size_t name_hash(const char *s)
{
        size_t h = 14695981039346656037ULL; /* FNV-1a */
        for (; *s; s++)
                h = (h ^ (unsigned char)*s) * 1099511628211ULL;
        return h;
}

static struct name_slot *name_slot(struct name_slot *v, size_t cap, const char *name)
{
        size_t i = name_hash(name) & (cap - 1);
        while (v[i].name && !streq(v[i].name, name))
                i = (i + 1) & (cap - 1);
        return &v[i];
}

/* Whether name was seen before (*ret_first: where); otherwise remember it at idx. */
static bool name_table_seen(struct name_table *t, const char *name, size_t idx, size_t *ret_first)
{
        if ((t->n + 1) * 2 > t->cap) {
                size_t cap = t->cap ? t->cap * 2 : NAME_TABLE_MIN;
                struct name_slot *v = xcalloc(cap, sizeof(*v));
                for (size_t i = 0; i < t->cap; i++)
                        if (t->v[i].name)
                                *name_slot(v, cap, t->v[i].name) = t->v[i];
                free(t->v);
                t->v = v;
                t->cap = cap;
        }
        struct name_slot *sl = name_slot(t->v, t->cap, name);
        if (sl->name) {
                *ret_first = sl->idx;
                return true;
        }
        sl->name = xstrdup(name);
        sl->idx = idx;
        t->n++;
        return false;
}

static void name_table_free(struct name_table *t)
{
        for (size_t i = 0; i < t->cap; i++)
                free(t->v[i].name);
        free(t->v);
        *t = (struct name_table){0};
}

struct named {
        const char *s;
        size_t i;
};

static int named_cmp(const void *pa, const void *pb)
{
        const struct named *a = pa, *b = pb;
        int r = strcmp(a->s, b->s);
        if (r)
                return r;
        return a->i < b->i ? -1 : a->i > b->i;
}

/* For each of n names (NULL: not identifiable), the index of the first
 * earlier entry with the same name, or SIZE_MAX. Caller frees. Sorting
 * keeps a hostile index of thousands of entries from costing n^2. */
static size_t *first_same(const char *const *names, size_t n)
{
        size_t *first = xmalloc(MAX(n, (size_t)1) * sizeof(*first));
        _cleanup_free_ struct named *v = xmalloc(MAX(n, (size_t)1) * sizeof(*v));
        size_t m = 0;

        for (size_t i = 0; i < n; i++) {
                first[i] = SIZE_MAX;
                if (names[i])
                        v[m++] = (struct named){names[i], i};
        }
        qsort(v, m, sizeof(*v), named_cmp);
        for (size_t k = 1, head = 0; k < m; k++) {
                if (strcmp(v[k].s, v[head].s) == 0)
                        first[v[k].i] = v[head].i;
                else
                        head = k;
        }
        return first;
}

static void parse_archive(struct ictx *x, struct catalog_version *v, const struct jval *a)
{
        static const char *const keys[] = {"url", "sha256", "size"};
        char q[RENDER_MAX + 8];
        if (!jv_is_object(a)) {
                catalog_version_error(v, "archive",
                                      "%s is not an archive ({\"url\", \"sha256\", "
                                      "\"size\"})",
                                      a ? type_name(a) : "nothing");
                return;
        }
        check_keys(x, a, "archive", keys, ARRAY_SIZE(keys));
        const struct jval *url = jv_get(a, "url"), *sha = jv_get(a, "sha256"),
                          *size = jv_get(a, "size");
        const char *why;
        if (!jv_is_string(url))
                catalog_version_error(v, "archive.url", "%s where a URL is expected",
                                      url ? type_name(url) : "nothing");
        else if ((why = url_check(jv_str(url))))
                catalog_version_error(v, "archive.url", "%s %s", quote(jv_str(url), q, sizeof(q)),
                                      why);
        else
                v->archive_url = xstrdup(jv_str(url));
        if (!jv_is_string(sha))
                catalog_version_error(v, "archive.sha256",
                                      "%s where 64 lowercase hex characters are expected",
                                      sha ? type_name(sha) : "nothing");
        else if (!is_hex_lower(jv_str(sha), CATALOG_SHA256_HEX))
                catalog_version_error(v, "archive.sha256",
                                      "%s is not a SHA-256 (64 lowercase hex characters)",
                                      quote(jv_str(sha), q, sizeof(q)));
        else
                memcpy(v->archive_sha256, jv_str(sha), CATALOG_SHA256_HEX + 1);
        if (!jv_is_integer(size))
                catalog_version_error(v, "archive.size", "%s where a byte count is expected",
                                      size ? type_name(size) : "nothing");
        else if (jv_int(size) < 1 || (unsigned long long)jv_int(size) > INDEX_ARCHIVE_SIZE_MAX)
                catalog_version_error(
                    v, "archive.size", "%lld is not a usable size (1 to %llu bytes)",
                    (long long)jv_int(size), (unsigned long long)INDEX_ARCHIVE_SIZE_MAX);
        else
                v->archive_size = (uint64_t)jv_int(size);
}

static void parse_version(struct ictx *x, const char *pup, const struct jval *e, const char *path)
{
        static const char *const keys[] = {"version", "manifest", "logo", "archive"};
        char q[RENDER_MAX + 8], q2[RENDER_MAX + 8];
        const char *ver = jv_str(jv_get(e, "version"));
        struct catalog_version *v = catalog_add(x->cat, pup, ver);
        if (!v) {
                fatal(x, path, "more than %d versions in one index", CATALOG_VERSIONS_MAX);
                return;
        }
        v->valid = true;
        check_keys(x, e, path, keys, ARRAY_SIZE(keys));
        if (!v->has_semver) {
                struct dbx_error err = {0};
                semver_parse(ver, 0, &v->semver, &err);
                catalog_version_error(v, "version", "%s", err.message);
        }

        const struct jval *mj = jv_get(e, "manifest");
        if (!jv_is_object(mj)) {
                catalog_version_error(v, "manifest", "%s where the pup's manifest is expected",
                                      mj ? type_name(mj) : "nothing");
        } else {
                struct dbx_errors errs = {0};
                struct manifest *m = NULL;
                if (manifest_parse_jdoc(mj, &m, &errs, NULL) < 0) {
                        catalog_version_errors(v, &errs, "manifest");
                } else {
                        if (!streq(m->meta.name, pup))
                                catalog_version_error(v, "manifest.meta.name",
                                                      "%s does not match the pup it is listed "
                                                      "under (%s)",
                                                      quote(m->meta.name, q, sizeof(q)),
                                                      quote(pup, q2, sizeof(q2)));
                        if (!streq(m->meta.version, ver))
                                catalog_version_error(v, "manifest.meta.version",
                                                      "%s does not match the version it is "
                                                      "listed as (%s)",
                                                      quote(m->meta.version, q, sizeof(q)),
                                                      quote(ver, q2, sizeof(q2)));
                        if (v->valid) {
                                /* Sized like the previous one: no regrowth, no copy. */
                                struct jbuf b = {0};
                                jbuf_grow(&b, x->json_len_hint + INDEX_JSON_SLACK);
                                manifest_write_json(m, &b);
                                x->json_len_hint = b.len;
                                v->manifest_json = jbuf_steal(&b, NULL);
                        }
                }
                manifest_free(m);
                dbx_errors_free(&errs);
        }

        const struct jval *logo = jv_get(e, "logo");
        if (logo && !jv_is_null(logo)) {
                const char *why;
                if (!jv_is_string(logo))
                        catalog_version_error(v, "logo", "%s where a data: URL is expected",
                                              type_name(logo));
                else if (jv_len(logo) > 0) {
                        if ((why = index_logo_check(jv_str(logo))))
                                catalog_version_error(v, "logo", "%s", why);
                        else
                                v->logo = xstrdup(jv_str(logo));
                }
        }
        parse_archive(x, v, jv_get(e, "archive"));
        if (!v->valid) {
                free(v->manifest_json);
                v->manifest_json = NULL;
        }
}

/* buf = prefix name "[" i "]", cut to size as snprintf would: the path of
 * every pup and version, built without printf (which would cost more than
 * the other checks of a small version). */
static void index_path(char *buf, size_t size, const char *prefix, const char *name, size_t i)
{
        char num[24], *p = num + sizeof(num);
        size_t o = 0;
        *--p = '\0';
        *--p = ']';
        do {
                *--p = (char)('0' + i % 10);
                i /= 10;
        } while (i);
        *--p = '[';
        for (const char *parts[] = {prefix, name, p}, **q = parts; q < parts + 3; q++)
                for (const char *c = *q; *c && o + 1 < size; c++)
                        buf[o++] = *c;
        buf[o] = '\0';
}

static void parse_pup(struct ictx *x, const struct jval *p, size_t idx)
{
        static const char *const keys[] = {"name", "versions"};
        char path[64], vpath[96], q[RENDER_MAX + 8];
        index_path(path, sizeof(path), "", "pups", idx);
        if (!jv_is_object(p)) {
                fatal(x, path, "%s where a pup ({\"name\", \"versions\"}) is expected",
                      type_name(p));
                return;
        }
        check_keys(x, p, path, keys, ARRAY_SIZE(keys));
        const struct jval *name = jv_get(p, "name"), *vs = jv_get(p, "versions");
        const char *n = jv_str(name);
        if (!n) {
                snprintf(vpath, sizeof(vpath), "%s.name", path);
                fatal(x, vpath, "%s where the pup's name is expected",
                      name ? type_name(name) : "nothing");
        } else if (!*n || strlen(n) > MANIFEST_LABEL_MAX) {
                snprintf(vpath, sizeof(vpath), "%s.name", path);
                fatal(x, vpath, "%s is not a pup name (1-%d characters)", quote(n, q, sizeof(q)),
                      MANIFEST_LABEL_MAX);
                n = NULL;
        }
        if (!jv_is_array(vs)) {
                snprintf(vpath, sizeof(vpath), "%s.versions", path);
                fatal(x, vpath, "%s where an array of versions is expected",
                      vs ? type_name(vs) : "nothing");
                return;
        }
        if (jv_len(vs) > INDEX_VERSIONS_MAX) {
                snprintf(vpath, sizeof(vpath), "%s.versions", path);
                fatal(x, vpath, "%zu versions: at most %d are allowed per pup", jv_len(vs),
                      INDEX_VERSIONS_MAX);
                return;
        }
        /* The versions that can be identified, for duplicates. */
        _cleanup_free_ const char **names = xmalloc(MAX(jv_len(vs), (size_t)1) * sizeof(*names));
        size_t i;
        const struct jval *e;
        jv_array_foreach(vs, i, e)
        {
                const struct jval *ver = jv_get(e, "version");
                names[i] = jv_is_string(ver) && jv_len(ver) > 0 && jv_len(ver) <= SEMVER_MAX_LEN
                               ? jv_str(ver)
                               : NULL;
        }
        _cleanup_free_ size_t *first = first_same(names, jv_len(vs));
        jv_array_foreach(vs, i, e)
        {
                index_path(vpath, sizeof(vpath), path, ".versions", i);
                const struct jval *ver = jv_get(e, "version");
                if (!jv_is_object(e)) {
                        fatal(x, vpath,
                              "%s where a version ({\"version\", \"manifest\", ...}) is "
                              "expected",
                              type_name(e));
                        continue;
                }
                if (!jv_is_string(ver) || jv_len(ver) == 0 || jv_len(ver) > SEMVER_MAX_LEN) {
                        char vp[128];
                        snprintf(vp, sizeof(vp), "%s.version", vpath);
                        fatal(x, vp, "%s where a version string (1-%d characters) is expected",
                              ver ? type_name(ver) : "nothing", SEMVER_MAX_LEN);
                        continue;
                }
                if (first[i] != SIZE_MAX) {
                        char vp[128];
                        snprintf(vp, sizeof(vp), "%s.version", vpath);
                        fatal(x, vp, "%s is listed twice (also at versions[%zu])",
                              quote(jv_str(ver), q, sizeof(q)), first[i]);
                        continue;
                }
                if (n)
                        parse_version(x, n, e, vpath);
        }
}

/* One element of "pups", handed over by the parser as soon as it is read
 * (so each pup is validated while its text is in cache). What it reports
 * goes to the deferred lists; index_parse() keeps them only if the index
 * as a whole is fine, as if the pups had been read after the rest. */
static int stream_pup(void *ctx, const struct jval *p, size_t i)
{
        struct ictx *x = ctx;
        char q[RENDER_MAX + 8];
        size_t first;

        if (i >= INDEX_PUPS_MAX)
                return 0; /* the index is refused as a whole */
        const char *n = jv_str(jv_get(p, "name"));
        if (n && name_table_seen(x->pup_names, n, i, &first)) {
                char path[64];
                snprintf(path, sizeof(path), "pups[%zu].name", i);
                fatal(x, path, "%s is listed twice (also at pups[%zu])", quote(n, q, sizeof(q)),
                      first);
                return 0;
        }
        parse_pup(x, p, i);
        return 0;
}

static void strv_free(char **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

int index_parse(const char *buf, size_t len, struct catalog **ret, char **ret_pubkey,
                struct dbx_errors *errs)
{
        static const char *const keys[] = {"dogeboxIndex", "id",        "name",
                                           "description",  "publicKey", "pups"};
        _cleanup_jdoc_ struct jdoc *doc = NULL;
        const struct jval *root;
        _cleanup_catalog_ struct catalog *cat = catalog_new();
        struct dbx_error err = {0};
        struct dbx_errors pup_errs = {0};
        struct name_table pup_names = {0};
        struct ictx x = {.errs = &pup_errs, .cat = cat, .deferring = true, .pup_names = &pup_names};
        char q[RENDER_MAX + 8];
        int r;

        if (len > INDEX_SIZE_MAX) {
                if (errs)
                        dbx_errors_add(errs, -E2BIG, "",
                                       "the index is %zu bytes, at most %u are allowed", len,
                                       INDEX_SIZE_MAX);
                return -E2BIG;
        }
        r = json_parse_bounded_stream(buf, len, INDEX_DEPTH_MAX, false, "pups", stream_pup, &x,
                                      &doc, &err);
        name_table_free(&pup_names);
        /* The pups' outcome, kept aside until the rest of the index is checked. */
        size_t pup_n_errors = x.n_errors;
        char **deferred = x.deferred;
        size_t n_deferred = x.n_deferred;
        x = (struct ictx){.errs = errs, .cat = cat};
        if (r < 0) {
                strv_free(deferred, n_deferred);
                dbx_errors_free(&pup_errs);
                if (errs)
                        dbx_errors_add(errs, r, "", "the index is not usable JSON: %s",
                                       err.message);
                return r == -E2BIG ? -E2BIG : -EINVAL;
        }
        root = jdoc_root(doc);
        if (!jv_is_object(root)) { /* then nothing streamed */
                strv_free(deferred, n_deferred);
                dbx_errors_free(&pup_errs);
                fatal(&x, "", "the index is %s, a JSON object is expected", type_name(root));
                return -EINVAL;
        }
        check_keys(&x, root, "", keys, ARRAY_SIZE(keys));

        const struct jval *fmt = jv_get(root, "dogeboxIndex");
        if (!fmt)
                fatal(&x, "dogeboxIndex",
                      "missing: an index says which format it uses (\"dogeboxIndex\": %d)",
                      INDEX_FORMAT);
        else if (!jv_is_integer(fmt))
                fatal(&x, "dogeboxIndex", "%s where the format number (%d) is expected",
                      type_name(fmt), INDEX_FORMAT);
        else if (jv_int(fmt) != INDEX_FORMAT)
                fatal(&x, "dogeboxIndex", "format %lld is not supported (this dogeboxd reads %d)",
                      (long long)jv_int(fmt), INDEX_FORMAT);

        const struct jval *id = jv_get(root, "id"), *name = jv_get(root, "name"),
                          *desc = jv_get(root, "description"), *pk = jv_get(root, "publicKey");
        if (!jv_is_string(id))
                fatal(&x, "id", "%s where the source id is expected",
                      id ? type_name(id) : "nothing");
        else if (!index_source_id_valid(jv_str(id)))
                fatal(&x, "id",
                      "%s is not a valid source id (letters, digits, _, . and -, starting with a "
                      "letter or digit, at most %d characters)",
                      quote(jv_str(id), q, sizeof(q)), MANIFEST_SOURCE_ID_MAX);
        if (!jv_is_string(name))
                fatal(&x, "name", "%s where the source's name is expected",
                      name ? type_name(name) : "nothing");
        else if (jv_len(name) == 0 || jv_len(name) > MANIFEST_LABEL_MAX)
                fatal(&x, "name", "the source's name must be 1-%d characters", MANIFEST_LABEL_MAX);
        if (desc && !jv_is_null(desc) && (!jv_is_string(desc) || jv_len(desc) > MANIFEST_TEXT_MAX))
                fatal(&x, "description", "must be a string of at most %d characters",
                      MANIFEST_TEXT_MAX);
        _cleanup_free_ char *pubkey = NULL;
        if (pk && !jv_is_null(pk)) {
                uint8_t raw[INDEX_PUBKEY_BYTES];
                if (!jv_is_string(pk) || index_pubkey_parse(jv_str(pk), raw, &err) < 0)
                        fatal(&x, "publicKey", "%s",
                              jv_is_string(pk) ? err.message
                                               : "must be an Ed25519 public key in hex");
                else {
                        pubkey = xmalloc(INDEX_PUBKEY_HEX + 1);
                        hex_encode(raw, sizeof(raw), pubkey);
                }
        }

        const struct jval *pups = jv_get(root, "pups");
        if (!jv_is_array(pups)) {
                fatal(&x, "pups", "%s where an array of pups is expected",
                      pups ? type_name(pups) : "nothing");
        } else if (jv_len(pups) > INDEX_PUPS_MAX) {
                fatal(&x, "pups", "%zu pups: at most %d are allowed", jv_len(pups), INDEX_PUPS_MAX);
        } else if (x.n_errors == 0) {
                /* The pups were read as they streamed in: their findings now. */
                for (size_t i = 0; i < n_deferred; i++)
                        if (x.n_warnings++ < INDEX_WARNINGS_MAX)
                                catalog_warn(cat, "%s", deferred[i]);
                for (size_t i = 0; errs && i < pup_errs.n; i++)
                        dbx_errors_add(errs, pup_errs.items[i].code, pup_errs.items[i].path, "%s",
                                       pup_errs.items[i].message);
                if (errs)
                        errs->dropped += pup_errs.dropped;
                x.n_errors += pup_n_errors;
        }
        strv_free(deferred, n_deferred);
        dbx_errors_free(&pup_errs);
        if (x.n_errors)
                return -EINVAL;
        catalog_set_info(cat, jv_str(id), jv_str(name), jv_str(desc));
        catalog_finish(cat);
        *ret = TAKE_PTR(cat);
        if (ret_pubkey)
                *ret_pubkey = TAKE_PTR(pubkey);
        return 0;
}

/* Trim ASCII whitespace on both sides into [*start, *start + *len). */
static void trim(const char **s, size_t *len)
{
        while (*len && isspace((unsigned char)**s)) {
                (*s)++;
                (*len)--;
        }
        while (*len && isspace((unsigned char)(*s)[*len - 1]))
                (*len)--;
}

static int hex_decode_any(const char *s, size_t len, uint8_t *out, size_t n)
{
        if (len != 2 * n)
                return -EINVAL;
        for (size_t i = 0; i < len; i++)
                if (!isxdigit((unsigned char)s[i]))
                        return -EINVAL;
        size_t bin_len;
        if (sodium_hex2bin(out, n, s, len, NULL, &bin_len, NULL) != 0 || bin_len != n)
                return -EINVAL;
        return 0;
}

int index_pubkey_parse(const char *text, uint8_t out[INDEX_PUBKEY_BYTES], struct dbx_error *err)
{
        size_t len = strlen(text);
        trim(&text, &len);
        if (hex_decode_any(text, len, out, INDEX_PUBKEY_BYTES) < 0)
                return dbx_error_set(err, -EINVAL, "",
                                     "an Ed25519 public key is 64 hex characters; got %zu "
                                     "characters%s",
                                     len, len == INDEX_PUBKEY_HEX ? " that are not all hex" : "");
        return 0;
}

int index_verify(const char *index, size_t len, const char *sig, size_t sig_len,
                 const uint8_t pubkey[INDEX_PUBKEY_BYTES], struct dbx_error *err)
{
        uint8_t raw[INDEX_SIG_BYTES];
        if (sig_len > INDEX_SIG_TEXT_MAX)
                return dbx_error_set(err, -EBADMSG, "",
                                     "the signature file is %zu bytes: it should hold 128 hex "
                                     "characters",
                                     sig_len);
        trim(&sig, &sig_len);
        if (hex_decode_any(sig, sig_len, raw, sizeof(raw)) < 0)
                return dbx_error_set(err, -EBADMSG, "",
                                     "the signature file does not hold a signature (128 hex "
                                     "characters expected, got %zu characters)",
                                     sig_len);
        if (sodium_init() < 0)
                return dbx_error_set(err, -EIO, "", "libsodium cannot be initialized");
        if (crypto_sign_verify_detached(raw, (const unsigned char *)index, len, pubkey) != 0)
                return dbx_error_set(err, -EBADMSG, "",
                                     "the index signature does not verify with the source's "
                                     "pinned public key: the index was changed or signed with "
                                     "another key");
        return 0;
}
