/* The arena owning parsed manifests and the schema walker helpers. */
#include <assert.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <strings.h>
#include "manifest/internal.h"

/* ---- arena ---- */

#define ARENA_CHUNK 8192 /* most manifests fit in one or two */

struct chunk {
        struct chunk *next;
        size_t used, size;
        max_align_t data[];
};

struct manifest_arena {
        struct chunk *chunks;
        json_t **json;
        size_t n_json;
        struct semver_constraint **cons;
        size_t n_cons;
        struct jdoc *doc; /* the document the manifest's strings point into, if owned */
};

struct manifest_arena *arena_new(void)
{
        return xcalloc(1, sizeof(struct manifest_arena));
}

void arena_free(struct manifest_arena *a)
{
        if (!a)
                return;
        for (struct chunk *c = a->chunks, *next; c; c = next) {
                next = c->next;
                free(c);
        }
        for (size_t i = 0; i < a->n_json; i++)
                json_decref(a->json[i]);
        free(a->json);
        for (size_t i = 0; i < a->n_cons; i++)
                semver_constraint_free(a->cons[i]);
        free(a->cons);
        jdoc_free(a->doc);
        free(a);
}

void *arena_alloc(struct manifest_arena *a, size_t n)
{
        const size_t align = sizeof(max_align_t);
        struct chunk *c = a->chunks;

        n = (n + align - 1) / align * align;
        if (!c || c->size - c->used < n) {
                size_t size = MAX(n, (size_t)ARENA_CHUNK);
                c = xcalloc(1, sizeof(*c) + size);
                c->size = size;
                c->next = a->chunks;
                a->chunks = c;
        }
        void *p = (char *)c->data + c->used;
        c->used += n;
        return p;
}

void *arena_array(struct manifest_arena *a, size_t n, size_t size)
{
        if (n == 0)
                return NULL;
        if (size && n > SIZE_MAX / size)
                abort();
        return arena_alloc(a, n * size);
}

char *arena_strndup(struct manifest_arena *a, const char *s, size_t n)
{
        char *p = arena_alloc(a, n + 1);
        memcpy(p, s, n);
        p[n] = '\0';
        return p;
}

char *arena_strdup(struct manifest_arena *a, const char *s)
{
        return arena_strndup(a, s, strlen(s));
}

json_t *arena_keep_json(struct manifest_arena *a, json_t *j)
{
        a->json = xrealloc(a->json, (a->n_json + 1) * sizeof(*a->json));
        a->json[a->n_json++] = j;
        return j;
}

void arena_keep_doc(struct manifest_arena *a, struct jdoc *d)
{
        assert(!a->doc);
        a->doc = d;
}

void arena_keep_constraint(struct manifest_arena *a, struct semver_constraint *c)
{
        a->cons = xrealloc(a->cons, (a->n_cons + 1) * sizeof(*a->cons));
        a->cons[a->n_cons++] = c;
}

void walker_init(struct walker *w, struct manifest_arena *a, struct dbx_errors *errs,
                 struct dbx_errors *warns)
{
        w->arena = a;
        w->errs = errs;
        w->warns = warns;
        w->n_errors = 0;
        w->path[0] = '\0';
        w->plen = 0;
        w->next_slots = 0;
}

/* ---- paths and messages ---- */

/* Append n bytes to the path, cut where the path is full (as snprintf). */
static void path_append(struct walker *w, const char *s, size_t n)
{
        size_t room = sizeof(w->path) - 1 - w->plen;
        n = MIN(n, room);
        memcpy(w->path + w->plen, s, n);
        w->plen += n;
        w->path[w->plen] = '\0';
}

size_t walk_push_key(struct walker *w, const char *key)
{
        size_t saved = w->plen;
        if (w->plen)
                path_append(w, ".", 1);
        path_append(w, key, strlen(key));
        return saved;
}

size_t walk_push_index(struct walker *w, size_t i)
{
        char tmp[24], *p = tmp + sizeof(tmp);
        size_t saved = w->plen;
        *--p = ']';
        do {
                *--p = (char)('0' + i % 10);
                i /= 10;
        } while (i);
        *--p = '[';
        path_append(w, p, (size_t)(tmp + sizeof(tmp) - p));
        return saved;
}

void walk_pop(struct walker *w, size_t saved)
{
        w->plen = saved;
        w->path[saved] = '\0';
}

static void vreport(struct walker *w, bool error, const char *key, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
static void vreport(struct walker *w, bool error, const char *key, const char *fmt, va_list ap)
{
        struct dbx_errors *list = error ? w->errs : w->warns;
        char msg[DBX_ERROR_MSG_MAX];
        size_t saved = w->plen;

        if (error)
                w->n_errors++;
        if (!list)
                return;
        if (key)
                walk_push_key(w, key);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        dbx_errors_add(list, error ? -EINVAL : 0, w->path, "%s", msg);
        walk_pop(w, saved);
}

void walk_error(struct walker *w, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vreport(w, true, NULL, fmt, ap);
        va_end(ap);
}

void walk_warn(struct walker *w, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vreport(w, false, NULL, fmt, ap);
        va_end(ap);
}

void walk_error_at(struct walker *w, const char *key, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vreport(w, true, key, fmt, ap);
        va_end(ap);
}

void walk_warn_at(struct walker *w, const char *key, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vreport(w, false, key, fmt, ap);
        va_end(ap);
}

#define RENDER_STRING_MAX 40 /* characters of a found string repeated in a message */

static void render_string(const unsigned char *s, size_t len, char *buf, size_t size)
{
        size_t o = 0, chars = 0;
        buf[o++] = '"';
        for (size_t i = 0; i < len && o + 8 < size; i++) {
                unsigned char c = s[i];
                if ((c & 0xc0) != 0x80 && chars++ == RENDER_STRING_MAX) {
                        o += (size_t)snprintf(buf + o, size - o, "...");
                        break;
                }
                if (c == '"' || c == '\\') {
                        buf[o++] = '\\';
                        buf[o++] = (char)c;
                } else if (c == '\n')
                        o += (size_t)snprintf(buf + o, size - o, "\\n");
                else if (c == '\t')
                        o += (size_t)snprintf(buf + o, size - o, "\\t");
                else if (c < 0x20 || c == 0x7f)
                        o += (size_t)snprintf(buf + o, size - o, "\\u%04x", c);
                else
                        buf[o++] = (char)c;
        }
        buf[o++] = '"';
        buf[o] = '\0';
}

const char *walk_render(const json_t *v, char *buf, size_t size)
{
        switch (json_typeof(v)) {
        case JSON_OBJECT:
                snprintf(buf, size, json_object_size(v) ? "{...}" : "{}");
                break;
        case JSON_ARRAY:
                snprintf(buf, size, json_array_size(v) ? "[...]" : "[]");
                break;
        case JSON_STRING:
                render_string((const unsigned char *)json_string_value(v), json_string_length(v),
                              buf, size);
                break;
        default: {
                char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(17));
                snprintf(buf, size, "%s", s ? s : "?");
                free(s);
                break;
        }
        }
        return buf;
}

const char *walk_render_jv(const struct jval *v, char *buf, size_t size)
{
        switch (jv_type(v)) {
        case JT_OBJECT:
                snprintf(buf, size, jv_len(v) ? "{...}" : "{}");
                break;
        case JT_ARRAY:
                snprintf(buf, size, jv_len(v) ? "[...]" : "[]");
                break;
        case JT_STRING:
                render_string((const unsigned char *)jv_str(v), jv_len(v), buf, size);
                break;
        default: {
                json_t *j = jv_to_json(v); /* numbers exactly as jansson writes them */
                walk_render(j, buf, size);
                json_decref(j);
                break;
        }
        }
        return buf;
}

/* ---- keys ---- */

/* a and b equal as C strings: strlen(a) + 1; otherwise 0. Inline, as
 * schema keys are short and most comparisons end at the first byte. */
static inline size_t cstr_eq(const char *a, const char *b)
{
        size_t i = 0;
        while (a[i] && a[i] == b[i])
                i++;
        return a[i] == b[i] ? i + 1 : 0;
}

void walk_check_keys(struct walker *w, const struct jval *obj, const char *const *known, size_t n)
{
        const char *seen[WALK_KNOWN_MAX]; /* the key that set known[i] */
        const struct jval *exact[WALK_KNOWN_MAX], *folded[WALK_KNOWN_MAX];
        const struct jval *kn, *v;
        size_t ki;

        assert(n <= WALK_KNOWN_MAX);
        for (size_t i = 0; i < n; i++)
                seen[i] = NULL, exact[i] = folded[i] = NULL;
        jv_object_foreach(obj, ki, kn, v)
        {
                const char *k = jv_str(kn);
                size_t i, eq = 0;
                /* Keys are nearly always spelled as the schema spells them. */
                for (i = 0; i < n; i++)
                        if ((eq = cstr_eq(k, known[i])))
                                break;
                if (i == n)
                        for (i = 0; i < n; i++)
                                if (strcasecmp(k, known[i]) == 0)
                                        break;
                if (i == n) {
                        walk_warn_at(w, k, "unknown key, ignored");
                        continue;
                }
                /* What jv_iget(obj, known[i]) finds: the exact key (all of
                 * its bytes), else the first that matches ignoring case. */
                if (eq && eq - 1 == jv_len(kn)) {
                        if (!exact[i])
                                exact[i] = v;
                } else if (!folded[i])
                        folded[i] = v;
                if (seen[i])
                        walk_error(w, "\"%s\" and \"%s\" both set %s (keys match ignoring case)",
                                   seen[i], k, known[i]);
                else
                        seen[i] = k;
        }
        struct walk_slots *c = &w->slots[w->next_slots++ % WALK_SLOTS];
        c->obj = obj;
        c->known = known;
        c->n = n;
        for (size_t i = 0; i < n; i++)
                c->slot[i] = exact[i] ? exact[i] : folded[i];
}

const struct jval *walk_get(const struct walker *w, const struct jval *obj, const char *key)
{
        for (size_t c = 0; c < MIN(w->next_slots, (size_t)WALK_SLOTS); c++) {
                const struct walk_slots *sl = &w->slots[c];
                if (sl->obj != obj)
                        continue;
                for (size_t i = 0; i < sl->n; i++)
                        if (sl->known[i] == key)
                                return sl->slot[i];
                for (size_t i = 0; i < sl->n; i++)
                        if (cstr_eq(sl->known[i], key))
                                return sl->slot[i];
                break;
        }
        return jv_iget(obj, key);
}

/* ---- typed getters ---- */

/* One pass over a string: its characters (UTF-8 lead bytes), whether it
 * holds a NUL, and whether a control character other than the allowed
 * line breaks and tabs. */
struct str_scan {
        size_t chars;
        bool nul, control;
};

static void scan_string(const char *s, size_t len, bool multiline, struct str_scan *ret)
{
        size_t chars = 0;
        bool nul = false, control = false;

        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                chars += (c & 0xc0) != 0x80;
                if (c >= 0x20 && c != 0x7f)
                        continue;
                if (c == 0)
                        nul = true;
                else if (!multiline || !(c == '\n' || c == '\t' || c == '\r'))
                        control = true;
        }
        *ret = (struct str_scan){chars, nul, control};
}

int walk_string_value(struct walker *w, const struct jval *v, unsigned flags, size_t max,
                      const char **ret)
{
        char r[RENDER_MAX];

        if (!v || jv_is_null(v)) {
                if (flags & STR_REQUIRED) {
                        walk_error(w, "missing (a%s string is expected)",
                                   flags & STR_NONEMPTY ? " non-empty" : "");
                        return -1;
                }
                return 0;
        }
        if (!jv_is_string(v)) {
                walk_error(w, "%s is not a string", walk_render_jv(v, r, sizeof(r)));
                return -1;
        }
        const char *s = jv_str(v);
        size_t len = jv_len(v);
        if (len == 0 && (flags & STR_NONEMPTY)) {
                walk_error(w, "\"\" is empty (a non-empty string is expected)");
                return -1;
        }
        struct str_scan sc;
        scan_string(s, len, flags & STR_MULTILINE, &sc);
        if (sc.nul) {
                walk_error(w, "%s contains a NUL character", walk_render_jv(v, r, sizeof(r)));
                return -1;
        }
        if (sc.chars > max) {
                walk_error(w, "%s is too long: %zu characters, at most %zu",
                           walk_render_jv(v, r, sizeof(r)), sc.chars, max);
                return -1;
        }
        if (sc.control) {
                walk_error(w, "%s contains a %s", walk_render_jv(v, r, sizeof(r)),
                           flags & STR_MULTILINE ? "control character"
                                                 : "line break or control character");
                return -1;
        }
        if ((flags & STR_TRIMMED) && len &&
            (isspace((unsigned char)s[0]) || isspace((unsigned char)s[len - 1]))) {
                walk_error(w, "%s starts or ends with a space", walk_render_jv(v, r, sizeof(r)));
                return -1;
        }
        *ret = s; /* the document outlives the manifest */
        return 1;
}

int walk_string(struct walker *w, const struct jval *obj, const char *key, unsigned flags,
                size_t max, const char **ret)
{
        size_t saved = walk_push_key(w, key);
        int r = walk_string_value(w, walk_get(w, obj, key), flags, max, ret);
        walk_pop(w, saved);
        return r;
}

int walk_int(struct walker *w, const struct jval *obj, const char *key, bool required,
             long long min, long long max, const char *what, long long *ret)
{
        const struct jval *v = walk_get(w, obj, key);
        char r[RENDER_MAX];

        if (!v || jv_is_null(v)) {
                if (required) {
                        if (min == max)
                                walk_error_at(w, key, "missing (%lld is expected)", min);
                        else
                                walk_error_at(w, key, "missing (%s, %lld-%lld, is expected)", what,
                                              min, max);
                        return -1;
                }
                return 0;
        }
        if (!jv_is_integer(v)) {
                walk_error_at(w, key, "%s is not an integer", walk_render_jv(v, r, sizeof(r)));
                return -1;
        }
        long long x = jv_int(v);
        if (x < min || x > max) {
                if (min == max)
                        walk_error_at(w, key, "%lld is not %s (%lld)", x, what, min);
                else
                        walk_error_at(w, key, "%lld is not %s (%lld-%lld)", x, what, min, max);
                return -1;
        }
        *ret = x;
        return 1;
}

int walk_bool(struct walker *w, const struct jval *obj, const char *key, bool *ret)
{
        const struct jval *v = walk_get(w, obj, key);
        char r[RENDER_MAX];

        if (!v || jv_is_null(v))
                return 0;
        if (!jv_is_bool(v)) {
                walk_error_at(w, key, "%s is not true or false", walk_render_jv(v, r, sizeof(r)));
                return -1;
        }
        *ret = jv_is_true(v);
        return 1;
}

int walk_number(struct walker *w, const struct jval *obj, const char *key, double *ret)
{
        const struct jval *v = walk_get(w, obj, key);
        char r[RENDER_MAX];

        if (!v || jv_is_null(v))
                return 0;
        if (!jv_is_number(v)) {
                walk_error_at(w, key, "%s is not a number", walk_render_jv(v, r, sizeof(r)));
                return -1;
        }
        double d = jv_number(v);
        if (!isfinite(d)) {
                walk_error_at(w, key, "%s is not a finite number", walk_render_jv(v, r, sizeof(r)));
                return -1;
        }
        *ret = d;
        return 1;
}

int walk_object(struct walker *w, const struct jval *obj, const char *key, bool required,
                const struct jval **ret)
{
        const struct jval *v = walk_get(w, obj, key);
        char r[RENDER_MAX];

        if (!v || jv_is_null(v)) {
                if (required) {
                        walk_error_at(w, key, "missing (an object is expected)");
                        return -1;
                }
                return 0;
        }
        if (!jv_is_object(v)) {
                walk_error_at(w, key, "%s is not an object", walk_render_jv(v, r, sizeof(r)));
                return -1;
        }
        *ret = v;
        return 1;
}

int walk_array(struct walker *w, const struct jval *obj, const char *key, bool required, size_t max,
               const char *noun, const struct jval **ret)
{
        const struct jval *v = walk_get(w, obj, key);
        char r[RENDER_MAX];

        if (!v || jv_is_null(v)) {
                if (required) {
                        walk_error_at(w, key, "missing (a list of %s is expected)", noun);
                        return -1;
                }
                return 0;
        }
        if (!jv_is_array(v)) {
                walk_error_at(w, key, "%s is not a list", walk_render_jv(v, r, sizeof(r)));
                return -1;
        }
        if (jv_len(v) > max) {
                walk_error_at(w, key, "%zu %s, at most %zu are allowed", jv_len(v), noun, max);
                return -1;
        }
        *ret = v;
        return 1;
}

/* ---- names and paths ---- */

bool name_is_env(const char *s)
{
        if (!*s || !(isalpha((unsigned char)*s) || *s == '_'))
                return false;
        for (; *s; s++)
                if (!isascii((unsigned char)*s) || !(isalnum((unsigned char)*s) || *s == '_'))
                        return false;
        return true;
}

bool name_is_service(const char *s)
{
        if (!*s || !isascii((unsigned char)*s) || !isalnum((unsigned char)*s))
                return false;
        for (; *s; s++)
                if (!isascii((unsigned char)*s) ||
                    !(isalnum((unsigned char)*s) || strchr("_.-", *s)))
                        return false;
        return true;
}

bool name_is_source_id(const char *s)
{
        return name_is_service(s);
}

bool name_is_interface(const char *s)
{
        size_t n = strlen(s);
        if (n == 0 || s[0] == '-' || s[n - 1] == '-')
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
                        return false;
        return true;
}

static const char *check_components(const char *p)
{
        for (const char *c = p; *c;) {
                size_t n = strcspn(c, "/");
                if (n == 2 && c[0] == '.' && c[1] == '.')
                        return "it contains a \"..\" component";
                c += n;
                if (*c == '/')
                        c++;
        }
        return NULL;
}

const char *path_check_no_dotdot(const char *p)
{
        return check_components(p);
}

const char *path_check_relative(const char *p)
{
        if (p[0] == '/')
                return "it is absolute (a path inside the pup folder is expected)";
        const char *why = check_components(p);
        if (why)
                return why;
        for (const char *c = p; *c;) {
                size_t n = strcspn(c, "/");
                if (n == 0)
                        return "it has an empty component (\"//\" or a trailing \"/\")";
                if (n == 1 && c[0] == '.')
                        return "it contains a \".\" component";
                c += n;
                if (*c == '/') {
                        c++;
                        if (!*c)
                                return "it has an empty component (\"//\" or a trailing \"/\")";
                }
        }
        return NULL;
}
