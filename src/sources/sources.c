/* The source registry: configured sources, their last good catalogs and
 * load status, on the loop thread. Loads, adds and fetches run on the
 * worker pool as jobs holding private copies; their results are applied
 * here, in the done callbacks, one at a time. */
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <sys/stat.h>
#include "core/fsutil.h"
#include "core/json.h"
#include "core/macro.h"
#include "core/util.h"
#include "core/workpool.h"
#include "sources/index.h"
#include "sources/internal.h"
#include "store/store_sources.h"

#define TIMEOUT_ENV_MAX_MS (24L * 60 * 60 * 1000) /* a day: anything longer is a typo */
#define CACHE_KEY_HEX      16                     /* of sha256(kind:location) */

static const char *const kind_names[] = {"disk", "git", "http"};

const char *source_kind_name(enum source_kind k)
{
        return k < _SOURCE_KIND_MAX ? kind_names[k] : "unknown";
}

int source_kind_from_name(const char *s, enum source_kind *ret)
{
        for (size_t i = 0; i < ARRAY_SIZE(kind_names); i++)
                if (streq(s, kind_names[i])) {
                        *ret = (enum source_kind)i;
                        return 0;
                }
        return -EINVAL;
}

static bool ends_with(const char *s, const char *suffix)
{
        size_t n = strlen(s), m = strlen(suffix);
        return n >= m && streq(s + n - m, suffix);
}

int source_kind_infer(const char *location, enum source_kind *ret, struct dbx_error *err)
{
        _cleanup_free_ char *l = xstrdup(location);
        size_t n = strlen(l);
        while (n > 1 && l[n - 1] == '/')
                l[--n] = '\0';
        if (strncmp(l, "git@", 4) == 0 || strncmp(l, "ssh://", 6) == 0 ||
            strncmp(l, "git://", 6) == 0 || ends_with(l, ".git")) {
                *ret = SOURCE_GIT;
                return 0;
        }
        if (strncmp(l, "https://", 8) == 0 || strncmp(l, "http://", 7) == 0) {
                *ret = SOURCE_HTTP;
                return 0;
        }
        if (l[0] == '/') {
                *ret = SOURCE_DISK;
                return 0;
        }
        return dbx_error_set(err, -EINVAL, "location",
                             "\"%.100s\" is not a source location: use an absolute folder path, "
                             "a git repository (https://....git or git@...) or the http(s):// URL "
                             "of an index",
                             location);
}

/* ---- state ---- */

struct group { /* callers waiting for a set of loads */
        sources_done_fn cb;
        void *ud;
        unsigned remaining;
        struct group *next;
};

struct entry {
        char *id;
        enum source_kind kind;
        char *location, *pubkey, *name, *description;
        int64_t added_ms, last_ok_ms, last_error_ms;
        char *last_error;
        struct catalog *catalog; /* last good; NULL: never loaded */
        struct job *loading;
};

enum job_type { JOB_LOAD, JOB_ADD, JOB_FETCH, JOB_RMDIR };

struct job {
        struct sources *s;
        enum job_type type;
        char *id;
        struct source_spec spec;
        struct load_result res;
        struct dbx_error err;
        int r;
        struct group **groups; /* LOAD */
        size_t n_groups;
        sources_done_fn cb; /* ADD, FETCH */
        void *ud;
        struct sources_pup *pup; /* FETCH */
        char *dest;              /* FETCH */
        char *path;              /* RMDIR */
        struct job *next;        /* in s->adds or s->fetches */
};

struct sources {
        struct store *store;
        struct workpool *pool;
        char *data_dir;
        struct entry **entries;
        size_t n;
        struct group *groups;
        struct job *adds, *fetches;
        unsigned refs; /* 1 + jobs on the pool */
        bool dead;
        atomic_bool cancel; /* read by workers: stop loading, the daemon is stopping */
        long connect_timeout_ms, timeout_ms, archive_timeout_ms;
};

static void entry_free(struct entry *e)
{
        if (!e)
                return;
        free(e->id);
        free(e->location);
        free(e->pubkey);
        free(e->name);
        free(e->description);
        free(e->last_error);
        catalog_free(e->catalog);
        free(e);
}

static struct entry *find(struct sources *s, const char *id)
{
        for (size_t i = 0; i < s->n; i++)
                if (streq(s->entries[i]->id, id))
                        return s->entries[i];
        return NULL;
}

static struct entry *find_location(struct sources *s, const char *location)
{
        for (size_t i = 0; i < s->n; i++)
                if (streq(s->entries[i]->location, location))
                        return s->entries[i];
        return NULL;
}

static char *cache_dir_for(struct sources *s, enum source_kind kind, const char *location)
{
        unsigned char d[crypto_hash_sha256_BYTES];
        char hex[2 * sizeof(d) + 1];
        _cleanup_free_ char *key = xasprintf("%s:%s", source_kind_name(kind), location);
        crypto_hash_sha256(d, (const unsigned char *)key, strlen(key));
        hex_encode(d, sizeof(d), hex);
        return xasprintf("%s/cache/sources/%s-%.*s", s->data_dir, source_kind_name(kind),
                         CACHE_KEY_HEX, hex);
}

void source_spec_clear(struct source_spec *sp)
{
        free(sp->location);
        free(sp->pubkey);
        free(sp->cache_dir);
        *sp = (struct source_spec){0};
}

void load_result_clear(struct load_result *r)
{
        catalog_free(r->catalog);
        free(r->location);
        free(r->pinned_key);
        *r = (struct load_result){0};
}

static void spec_init(struct sources *s, struct source_spec *sp, enum source_kind kind,
                      const char *location, const char *pubkey, bool adding)
{
        sp->kind = kind;
        sp->location = xstrdup(location);
        sp->pubkey = pubkey ? xstrdup(pubkey) : NULL;
        sp->cache_dir = cache_dir_for(s, kind, location);
        sp->adding = adding;
        sp->connect_timeout_ms = s->connect_timeout_ms;
        sp->timeout_ms = s->timeout_ms;
        sp->cancel = &s->cancel;
}

static void job_free(struct job *j)
{
        free(j->id);
        source_spec_clear(&j->spec);
        load_result_clear(&j->res);
        free(j->groups);
        sources_pup_free(j->pup);
        free(j->dest);
        free(j->path);
        free(j);
}

static void sources_unref(struct sources *s)
{
        if (--s->refs > 0)
                return;
        free(s->data_dir);
        free(s);
}

static int load_any(const struct source_spec *spec, struct load_result *res, struct dbx_error *err)
{
        switch (spec->kind) {
        case SOURCE_DISK:
                return disk_load(spec, res, err);
        case SOURCE_GIT:
        case SOURCE_HTTP:
                return remote_load(spec, res, err);
        default:
                return dbx_error_set(err, -EINVAL, "", "unknown source kind");
        }
}

static void job_work(void *data)
{
        struct job *j = data;
        switch (j->type) {
        case JOB_LOAD:
        case JOB_ADD:
                if (j->spec.cancel && atomic_load(j->spec.cancel)) {
                        j->r = dbx_error_set(&j->err, -ECANCELED, "", "dogeboxd is stopping");
                        break;
                }
                j->r = load_any(&j->spec, &j->res, &j->err);
                if (j->r >= 0 && !j->res.catalog)
                        j->r = dbx_error_set(&j->err, -EIO, "", "the load returned no catalog");
                break;
        case JOB_FETCH:
                j->r = sources_fetch_pup(j->pup, j->dest, &j->err);
                break;
        case JOB_RMDIR:
                j->r = fs_rm_rf(j->path);
                break;
        }
}

static void load_done(struct sources *s, struct job *j);
static void add_done(struct sources *s, struct job *j);

static void unlink_job(struct job **head, struct job *j)
{
        for (struct job **p = head; *p; p = &(*p)->next)
                if (*p == j) {
                        *p = j->next;
                        return;
                }
}

static void job_done(void *data)
{
        struct job *j = data;
        struct sources *s = j->s;
        if (!s->dead) {
                switch (j->type) {
                case JOB_LOAD:
                        load_done(s, j);
                        break;
                case JOB_ADD:
                        unlink_job(&s->adds, j);
                        add_done(s, j);
                        break;
                case JOB_FETCH:
                        unlink_job(&s->fetches, j);
                        if (j->cb)
                                j->cb(j->ud, j->r, j->pup->source_id, j->r < 0 ? &j->err : NULL);
                        break;
                case JOB_RMDIR:
                        break;
                }
        }
        job_free(j);
        sources_unref(s);
}

static int submit(struct sources *s, struct job *j)
{
        j->s = s;
        int r = workpool_submit(s->pool, job_work, job_done, j);
        if (r < 0)
                return r;
        s->refs++;
        return 0;
}

/* ---- loading ---- */

static int start_load(struct sources *s, struct entry *e)
{
        if (atomic_load(&s->cancel))
                return -ECANCELED;
        struct job *j = xcalloc(1, sizeof(*j));
        j->type = JOB_LOAD;
        j->id = xstrdup(e->id);
        spec_init(s, &j->spec, e->kind, e->location, e->pubkey, false);
        int r = submit(s, j);
        if (r < 0) {
                job_free(j);
                return r;
        }
        e->loading = j;
        return 0;
}

static void set_str(char **dst, const char *v)
{
        free(*dst);
        *dst = v ? xstrdup(v) : NULL;
}

static void record_error(struct sources *s, struct entry *e, const char *msg)
{
        set_str(&e->last_error, msg);
        e->last_error_ms = (int64_t)now_ms();
        /* A database failure here loses only the error's persistence. */
        (void)store_source_set_error(s->store, e->id, msg, e->last_error_ms);
}

static void load_done(struct sources *s, struct job *j)
{
        struct entry *e = find(s, j->id);
        struct group **finished = NULL;
        size_t n_finished = 0;

        if (e && e->loading == j) {
                e->loading = NULL;
                if (j->r == -ECANCELED) {
                        /* stopped by the shutdown: nothing was learned about the source */
                } else if (j->r < 0) {
                        record_error(s, e, j->err.message);
                } else {
                        size_t len;
                        int64_t now = (int64_t)now_ms();
                        struct catalog *c = j->res.catalog;
                        /* A source that does not describe itself keeps its name. */
                        bool named = *c->name != '\0';
                        const char *name = named ? c->name : e->name;
                        const char *desc = named ? c->description : e->description;
                        _cleanup_free_ char *blob = catalog_to_cache(c, &len);
                        int r = store_source_set_ok(s->store, e->id, name, desc, blob,
                                                    CATALOG_FORMAT, now);
                        if (r < 0) {
                                char msg[DBX_ERROR_MSG_MAX];
                                snprintf(msg, sizeof(msg),
                                         "the new catalog could not be saved in the database "
                                         "(%s): the previous one is kept",
                                         strerror(-r));
                                record_error(s, e, msg);
                        } else {
                                _cleanup_free_ char *n2 = xstrdup(name), *d2 = xstrdup(desc);
                                set_str(&e->name, n2);
                                set_str(&e->description, d2);
                                catalog_free(e->catalog);
                                e->catalog = TAKE_PTR(j->res.catalog);
                                e->last_ok_ms = now;
                                set_str(&e->last_error, NULL);
                                e->last_error_ms = 0;
                        }
                }
        }
        /* Callbacks last: they may call back into the registry. */
        for (size_t i = 0; i < j->n_groups; i++) {
                struct group *g = j->groups[i];
                if (--g->remaining > 0)
                        continue;
                for (struct group **p = &s->groups; *p; p = &(*p)->next)
                        if (*p == g) {
                                *p = g->next;
                                break;
                        }
                finished = xrealloc(finished, (n_finished + 1) * sizeof(*finished));
                finished[n_finished++] = g;
        }
        for (size_t i = 0; i < n_finished; i++) {
                if (!s->dead)
                        finished[i]->cb(finished[i]->ud, 0, NULL, NULL);
                free(finished[i]);
        }
        free(finished);
}

static void join(struct job *j, struct group *g)
{
        j->groups = xrealloc(j->groups, (j->n_groups + 1) * sizeof(*j->groups));
        j->groups[j->n_groups++] = g;
        g->remaining++;
}

int sources_refresh(struct sources *s, const char *id, unsigned flags, sources_done_fn cb,
                    void *userdata)
{
        struct group *g = NULL;
        if (id && !find(s, id))
                return -ENOENT;
        if (cb) {
                g = xcalloc(1, sizeof(*g));
                g->cb = cb;
                g->ud = userdata;
        }
        for (size_t i = 0; i < s->n; i++) {
                struct entry *e = s->entries[i];
                if (id && !streq(e->id, id))
                        continue;
                if (!e->loading && ((flags & SOURCES_REFRESH_FORCE) || !e->catalog)) {
                        int r = start_load(s, e);
                        if (r < 0) {
                                char msg[128];
                                snprintf(msg, sizeof(msg),
                                         "the load could not be started: %s (too much work "
                                         "queued?)",
                                         strerror(-r));
                                record_error(s, e, msg);
                        }
                }
                if (e->loading && g)
                        join(e->loading, g);
        }
        if (!g)
                return 1;
        if (g->remaining == 0) {
                free(g);
                return 1;
        }
        g->next = s->groups;
        s->groups = g;
        return 0;
}

void sources_cancel(struct sources *s)
{
        atomic_store(&s->cancel, true);
}

void sources_start(struct sources *s)
{
        sources_refresh(s, NULL, SOURCES_REFRESH_FORCE, NULL, NULL);
}

/* ---- creation ---- */

static long env_timeout(long def)
{
        const char *v = getenv(SOURCES_TIMEOUT_ENV);
        char *end;
        if (!v || !*v)
                return def;
        errno = 0;
        long ms = strtol(v, &end, 10);
        if (errno || *end || ms < 1 || ms > TIMEOUT_ENV_MAX_MS)
                return def;
        return ms;
}

int sources_new(struct store *store, struct workpool *pool, const char *data_dir,
                struct sources **ret, struct dbx_error *err)
{
        struct store_source *rows = NULL;
        size_t n = 0;
        int r;

        if (sodium_init() < 0)
                return dbx_error_set(err, -EIO, "", "libsodium cannot be initialized");
        r = store_sources_list(store, &rows, &n);
        if (r < 0)
                return dbx_error_set(err, r, "", "cannot read the sources from the database: %s",
                                     strerror(-r));
        struct sources *s = xcalloc(1, sizeof(*s));
        s->store = store;
        s->pool = pool;
        s->data_dir = xstrdup(data_dir);
        s->refs = 1;
        s->connect_timeout_ms = env_timeout(SOURCES_HTTP_CONNECT_TIMEOUT_MS);
        s->timeout_ms = env_timeout(SOURCES_HTTP_INDEX_TIMEOUT_MS);
        s->archive_timeout_ms = env_timeout(SOURCES_ARCHIVE_TIMEOUT_MS);
        s->entries = n ? xcalloc(n, sizeof(*s->entries)) : NULL;
        for (size_t i = 0; i < n; i++) {
                struct store_source *row = &rows[i];
                struct entry *e = xcalloc(1, sizeof(*e));
                if (source_kind_from_name(row->kind, &e->kind) < 0) {
                        free(e);
                        continue;
                }
                e->id = TAKE_PTR(row->id);
                e->location = TAKE_PTR(row->location);
                e->pubkey = TAKE_PTR(row->pubkey);
                e->name = TAKE_PTR(row->name);
                e->description = TAKE_PTR(row->description);
                e->last_error = TAKE_PTR(row->last_error);
                e->added_ms = row->added_ms;
                e->last_ok_ms = row->last_ok_ms;
                e->last_error_ms = row->last_error_ms;
                _cleanup_free_ char *blob = NULL;
                size_t len;
                int format;
                int64_t loaded;
                if (store_source_catalog(store, e->id, &format, &loaded, &blob, &len) == 0 &&
                    format == CATALOG_FORMAT)
                        (void)catalog_from_cache(blob, len, &e->catalog, NULL);
                s->entries[s->n++] = e;
        }
        store_sources_free(rows, n);
        *ret = s;
        return 0;
}

struct sources *sources_free(struct sources *s)
{
        if (!s)
                return NULL;
        atomic_store(&s->cancel, true);
        s->dead = true;
        while (s->groups) {
                struct group *g = s->groups;
                s->groups = g->next;
                g->cb(g->ud, -ECANCELED, NULL, NULL);
                free(g);
        }
        for (struct job *j = s->adds; j; j = j->next)
                if (j->cb)
                        j->cb(j->ud, -ECANCELED, NULL, NULL);
        for (struct job *j = s->fetches; j; j = j->next)
                if (j->cb)
                        j->cb(j->ud, -ECANCELED, j->pup->source_id, NULL);
        s->adds = s->fetches = NULL;
        for (size_t i = 0; i < s->n; i++) {
                if (s->entries[i]->loading)
                        s->entries[i]->loading->n_groups = 0; /* groups are gone */
                entry_free(s->entries[i]);
        }
        free(s->entries);
        s->entries = NULL;
        s->n = 0;
        sources_unref(s);
        return NULL;
}

/* ---- add ---- */

static bool location_busy(struct sources *s, const char *location, const char **ret_id)
{
        struct entry *e = find_location(s, location);
        if (e) {
                *ret_id = e->id;
                return true;
        }
        for (struct job *j = s->adds; j; j = j->next)
                if (streq(j->spec.location, location)) {
                        *ret_id = NULL;
                        return true;
                }
        return false;
}

int sources_add(struct sources *s, const struct sources_add_args *args, sources_done_fn cb,
                void *userdata, struct dbx_error *err)
{
        enum source_kind kind;
        const char *loc = args->location, *other;
        _cleanup_free_ char *key = NULL, *location = NULL;
        size_t n_adds = 0;

        if (!loc || !*loc)
                return dbx_error_set(err, -EINVAL, "location",
                                     "missing: give the folder, git repository or index URL to "
                                     "add");
        if (strlen(loc) > SOURCES_LOCATION_MAX)
                return dbx_error_set(err, -E2BIG, "location", "longer than %d characters",
                                     SOURCES_LOCATION_MAX);
        for (const char *p = loc; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        return dbx_error_set(err, -EINVAL, "location",
                                             "contains control characters");
        location = xstrdup(loc);
        for (size_t n = strlen(location); n > 1 && location[n - 1] == '/'; n--)
                location[n - 1] = '\0';
        if (args->kind && *args->kind) {
                if (source_kind_from_name(args->kind, &kind) < 0)
                        return dbx_error_set(err, -EINVAL, "type",
                                             "\"%.32s\" is not a source type (disk, git or http)",
                                             args->kind);
        } else if (source_kind_infer(location, &kind, err) < 0)
                return -EINVAL;
        if (kind == SOURCE_DISK && location[0] != '/')
                return dbx_error_set(err, -EINVAL, "location",
                                     "a disk source is an absolute folder path, not \"%.100s\"",
                                     location);
        if (kind == SOURCE_HTTP && strncmp(location, "https://", 8) != 0 &&
            strncmp(location, "http://", 7) != 0)
                return dbx_error_set(err, -EINVAL, "location",
                                     "an http source is an http:// or https:// URL, not "
                                     "\"%.100s\"",
                                     location);
        if (args->id && *args->id && !index_source_id_valid(args->id))
                return dbx_error_set(err, -EINVAL, "id",
                                     "\"%.64s\" is not a valid source id (letters, digits, _, . "
                                     "and -, starting with a letter or digit, at most %d)",
                                     args->id, MANIFEST_SOURCE_ID_MAX);
        if (args->public_key && *args->public_key) {
                uint8_t raw[INDEX_PUBKEY_BYTES];
                if (kind != SOURCE_HTTP)
                        return dbx_error_set(err, -EINVAL, "publicKey",
                                             "only http sources are signed");
                if (index_pubkey_parse(args->public_key, raw, err) < 0) {
                        snprintf(err->path, sizeof(err->path), "publicKey");
                        return -EINVAL;
                }
                key = xmalloc(INDEX_PUBKEY_HEX + 1);
                hex_encode(raw, sizeof(raw), key);
        }
        if (args->id && *args->id && find(s, args->id))
                return dbx_error_set(err, -EEXIST, "id", "a source with id \"%s\" already exists",
                                     args->id);
        if (location_busy(s, location, &other))
                return other ? dbx_error_set(err, -EEXIST, "location",
                                             "%s is already a source (id \"%s\")", location, other)
                             : dbx_error_set(err, -EEXIST, "location", "%s is being added already",
                                             location);
        for (struct job *j = s->adds; j; j = j->next)
                n_adds++;
        if (s->n + n_adds >= SOURCES_MAX)
                return dbx_error_set(err, -E2BIG, "", "at most %d sources can be configured",
                                     SOURCES_MAX);

        struct job *j = xcalloc(1, sizeof(*j));
        j->type = JOB_ADD;
        j->id = args->id && *args->id ? xstrdup(args->id) : NULL;
        j->cb = cb;
        j->ud = userdata;
        spec_init(s, &j->spec, kind, location, key, true);
        int r = submit(s, j);
        if (r < 0) {
                job_free(j);
                return dbx_error_set(err, r, "", "the daemon is too busy to add a source now: %s",
                                     strerror(-r));
        }
        j->next = s->adds;
        s->adds = j;
        return 0;
}

static void add_done(struct sources *s, struct job *j)
{
        _cleanup_free_ char *blob = NULL;
        struct dbx_error err = {0};
        const char *id = NULL;
        int r = j->r;

        if (r < 0) {
                dbx_error_set(&err, r, "", "%s cannot be added: %s", j->spec.location,
                              j->err.message);
                goto fail;
        }
        struct catalog *c = j->res.catalog;
        id = j->id ? j->id : c->id;
        if (!*id || !index_source_id_valid(id)) {
                r = dbx_error_set(&err, -EINVAL, "id",
                                  "%s does not name itself with a valid id: give one (\"id\")",
                                  j->spec.location);
                goto fail;
        }
        struct entry *other = find(s, id);
        if (other) {
                r = dbx_error_set(&err, -EEXIST, "id",
                                  "a source with id \"%s\" already exists (at %s): remove it "
                                  "first or give this one another id",
                                  id, other->location);
                goto fail;
        }
        const char *location = j->res.location ? j->res.location : j->spec.location;
        other = find_location(s, location);
        if (other) {
                r = dbx_error_set(&err, -EEXIST, "location", "%s is already a source (id \"%s\")",
                                  location, other->id);
                goto fail;
        }
        int64_t now = (int64_t)now_ms();
        size_t len;
        blob = catalog_to_cache(c, &len);
        struct store_source row = {
            .id = (char *)id,
            .kind = (char *)source_kind_name(j->spec.kind),
            .location = (char *)location,
            .name = *c->name ? c->name : (char *)id,
            .description = c->description,
            .pubkey = j->res.pinned_key,
            .added_ms = now,
            .last_ok_ms = now,
        };
        r = store_source_insert(s->store, &row, blob, CATALOG_FORMAT, now);
        if (r < 0) {
                dbx_error_set(&err, r, "",
                              r == -EEXIST ? "the id or the location is already taken"
                                           : "the source cannot be saved in the database: %s",
                              strerror(-r));
                goto fail;
        }
        struct entry *e = xcalloc(1, sizeof(*e));
        e->id = xstrdup(id);
        e->kind = j->spec.kind;
        e->location = xstrdup(location);
        e->pubkey = j->res.pinned_key ? xstrdup(j->res.pinned_key) : NULL;
        e->name = xstrdup(row.name);
        e->description = xstrdup(c->description);
        e->added_ms = e->last_ok_ms = now;
        e->catalog = TAKE_PTR(j->res.catalog);
        s->entries = xrealloc(s->entries, (s->n + 1) * sizeof(*s->entries));
        s->entries[s->n++] = e;
        if (j->cb)
                j->cb(j->ud, 0, e->id, NULL);
        return;
fail:
        if (j->cb)
                j->cb(j->ud, r, NULL, &err);
}

/* ---- remove ---- */

int sources_remove(struct sources *s, const char *id, json_t **ret_pups, struct dbx_error *err)
{
        struct entry *e = find(s, id);
        char **ids = NULL, **names = NULL;
        size_t n = 0, idx;
        int r;

        if (!e)
                return dbx_error_set(err, -ENOENT, "", "there is no source with id \"%.128s\"", id);
        r = store_source_users(s->store, id, &ids, &names, &n);
        if (r < 0)
                return dbx_error_set(err, r, "", "cannot check which pups use the source: %s",
                                     strerror(-r));
        if (n > 0) {
                char list[DBX_ERROR_MSG_MAX / 2];
                size_t off = 0;
                json_t *a = json_array();
                list[0] = '\0';
                for (size_t i = 0; i < n; i++) {
                        json_array_append_new(
                            a, json_pack("{s:s,s:s}", "id", ids[i], "name", names[i]));
                        if (off < sizeof(list)) {
                                int k = snprintf(list + off, sizeof(list) - off, "%s%s (%s)",
                                                 i ? ", " : "", names[i], ids[i]);
                                off += k > 0 ? (size_t)k : 0;
                        }
                }
                store_source_users_free(ids, names, n);
                if (ret_pups)
                        *ret_pups = a;
                else
                        json_decref(a);
                return dbx_error_set(err, -EBUSY, "",
                                     "source \"%s\" cannot be removed: installed pups came from "
                                     "it: %s; uninstall them first",
                                     id, list);
        }
        r = store_source_delete(s->store, id);
        if (r < 0 && r != -ENOENT)
                return dbx_error_set(err, r, "", "cannot remove the source from the database: %s",
                                     strerror(-r));

        /* Move the cache out of the way now (a re-add gets a fresh one) and
         * delete it in the background. */
        _cleanup_free_ char *cache = cache_dir_for(s, e->kind, e->location);
        char rnd[33];
        id_new32(rnd);
        _cleanup_free_ char *trash = xasprintf("%s/cache/sources/.trash-%s", s->data_dir, rnd);
        if (rename(cache, trash) == 0) {
                struct job *j = xcalloc(1, sizeof(*j));
                j->type = JOB_RMDIR;
                j->path = TAKE_PTR(trash);
                if (submit(s, j) < 0)
                        job_free(j); /* the trash stays; harmless, cache/ is safe to delete */
        }
        for (idx = 0; idx < s->n && s->entries[idx] != e; idx++)
                ;
        memmove(&s->entries[idx], &s->entries[idx + 1], (s->n - idx - 1) * sizeof(*s->entries));
        s->n--;
        entry_free(e); /* a load still running is discarded when it ends */
        return 0;
}

/* ---- listings ---- */

static json_t *time_json(int64_t ms)
{
        char buf[40];
        if (ms <= 0)
                return json_null();
        time_rfc3339((uint64_t)ms, buf);
        return json_string(buf);
}

json_t *sources_list_json(struct sources *s)
{
        json_t *a = json_array();
        for (size_t i = 0; i < s->n; i++) {
                struct entry *e = s->entries[i];
                size_t valid = e->catalog ? catalog_count_valid(e->catalog) : 0;
                size_t all = e->catalog ? e->catalog->n : 0;
                json_array_append_new(
                    a, json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:I,s:I,s:b,s:o,s:o,s:s?,s:o,s:b}", "id",
                                 e->id, "name", e->name, "description", e->description, "location",
                                 e->location, "type", source_kind_name(e->kind), "pups",
                                 (json_int_t)(e->catalog ? catalog_count_pups(e->catalog) : 0),
                                 "versions", (json_int_t)valid, "invalidVersions",
                                 (json_int_t)(all - valid), "signed", e->pubkey != NULL, "addedAt",
                                 time_json(e->added_ms), "lastOkAt", time_json(e->last_ok_ms),
                                 "lastError", e->last_error, "lastErrorAt",
                                 time_json(e->last_error_ms), "loading", e->loading != NULL));
        }
        return a;
}

static void time_text(struct jbuf *b, int64_t ms)
{
        char buf[40];
        if (ms <= 0) {
                jbuf_puts(b, "null");
                return;
        }
        time_rfc3339((uint64_t)ms, buf);
        jbuf_str(b, buf);
}

char *sources_store_json(struct sources *s, const char *only_id, size_t *ret_len)
{
        struct jbuf b = {0};
        bool first = true;
        jbuf_puts(&b, "{");
        for (size_t i = 0; i < s->n; i++) {
                struct entry *e = s->entries[i];
                if (only_id && !streq(only_id, e->id))
                        continue;
                if (!first)
                        jbuf_puts(&b, ",");
                first = false;
                jbuf_str(&b, e->id);
                jbuf_puts(&b, ":{\"name\":");
                jbuf_str(&b, e->name);
                jbuf_puts(&b, ",\"description\":");
                jbuf_str(&b, e->description);
                jbuf_puts(&b, ",\"location\":");
                jbuf_str(&b, e->location);
                jbuf_puts(&b, ",\"type\":");
                jbuf_str(&b, source_kind_name(e->kind));
                jbuf_puts(&b, ",\"lastChecked\":");
                int64_t checked = MAX(e->last_ok_ms, e->last_error_ms);
                if (checked > 0)
                        time_text(&b, checked);
                else
                        jbuf_str(&b, "0001-01-01T00:00:00Z"); /* Go's zero time */
                jbuf_puts(&b, ",\"pups\":");
                if (e->catalog)
                        catalog_store_pups_json(e->catalog, &b);
                else
                        jbuf_puts(&b, "{}");
                if (e->last_error) {
                        jbuf_puts(&b, ",\"error\":");
                        jbuf_str(&b, e->last_error);
                } else if (!e->catalog) {
                        jbuf_puts(&b, ",\"error\":");
                        jbuf_str(&b, e->loading ? "the source is still loading"
                                                : "the source has not been loaded yet");
                }
                jbuf_puts(&b, ",\"lastOkAt\":");
                time_text(&b, e->last_ok_ms);
                jbuf_puts(&b, ",\"lastErrorAt\":");
                time_text(&b, e->last_error_ms);
                jbuf_printf(&b, ",\"signed\":%s,\"loading\":%s,\"invalid\":",
                            e->pubkey ? "true" : "false", e->loading ? "true" : "false");
                if (e->catalog)
                        catalog_invalid_json(e->catalog, &b);
                else
                        jbuf_puts(&b, "[]");
                jbuf_puts(&b, ",\"warnings\":[");
                for (size_t k = 0; e->catalog && k < e->catalog->n_warnings; k++) {
                        if (k)
                                jbuf_puts(&b, ",");
                        jbuf_str(&b, e->catalog->warnings[k]);
                }
                jbuf_puts(&b, "]}");
        }
        jbuf_puts(&b, "}");
        return jbuf_steal(&b, ret_len);
}

size_t sources_count(struct sources *s)
{
        return s->n;
}

bool sources_exists(struct sources *s, const char *id)
{
        return find(s, id) != NULL;
}

/* ---- lookups for the lifecycle ---- */

struct sources_pup *sources_pup_free(struct sources_pup *p)
{
        if (!p)
                return NULL;
        free(p->source_id);
        free(p->location);
        free(p->name);
        free(p->version);
        free(p->manifest_json);
        free(p->logo);
        free(p->subpath);
        free(p->tag);
        free(p->archive_url);
        free(p->cache_dir);
        free(p);
        return NULL;
}

static void list_versions(const struct catalog *c, const char *name, char *buf, size_t size)
{
        size_t off = 0;
        buf[0] = '\0';
        for (size_t i = 0; i < c->n && off < size; i++) {
                const struct catalog_version *v = &c->versions[i];
                if (!streq(v->name, name) || !v->valid)
                        continue;
                int k = snprintf(buf + off, size - off, "%s%s", off ? ", " : "", v->version);
                off += k > 0 ? (size_t)k : 0;
        }
        if (!buf[0])
                snprintf(buf, size, "none is valid");
}

int sources_lookup(struct sources *s, const char *source_id, const char *name, const char *version,
                   struct sources_pup **ret, struct dbx_error *err)
{
        struct entry *e = find(s, source_id);
        char list[256];
        if (!e)
                return dbx_error_set(err, -ENOENT, "", "there is no source with id \"%.128s\"",
                                     source_id);
        if (!e->catalog)
                return dbx_error_set(err, -ENOENT, "", "source \"%s\" has not loaded yet%s%s",
                                     source_id, e->last_error ? ": " : "",
                                     e->last_error ? e->last_error : "");
        const struct catalog_version *v = catalog_find(e->catalog, name, version);
        if (!v) {
                bool any = false;
                for (size_t i = 0; i < e->catalog->n && !any; i++)
                        any = streq(e->catalog->versions[i].name, name);
                if (!any)
                        return dbx_error_set(err, -ENOENT, "",
                                             "source \"%s\" has no pup named \"%.128s\"", source_id,
                                             name);
                list_versions(e->catalog, name, list, sizeof(list));
                return dbx_error_set(err, -ENOENT, "",
                                     "source \"%s\" has no version %s of \"%.128s\" (versions: "
                                     "%s)",
                                     source_id, version ? version : "latest", name, list);
        }
        if (!v->valid)
                return dbx_error_set(err, -EINVAL, "", "\"%s\" %s in source \"%s\" is invalid: %s",
                                     name, v->version, source_id,
                                     v->n_errors ? v->errors[0] : "no details");
        struct sources_pup *p = xcalloc(1, sizeof(*p));
        p->source_id = xstrdup(e->id);
        p->kind = e->kind;
        p->location = xstrdup(e->location);
        p->name = xstrdup(v->name);
        p->version = xstrdup(v->version);
        p->manifest_json = xstrdup(v->manifest_json);
        p->logo = v->logo ? xstrdup(v->logo) : NULL;
        p->subpath = xstrdup(v->subpath ? v->subpath : "");
        p->tag = v->tag ? xstrdup(v->tag) : NULL;
        memcpy(p->commit, v->commit, sizeof(p->commit));
        p->archive_url = v->archive_url ? xstrdup(v->archive_url) : NULL;
        memcpy(p->archive_sha256, v->archive_sha256, sizeof(p->archive_sha256));
        p->archive_size = v->archive_size;
        p->cache_dir = cache_dir_for(s, e->kind, e->location);
        p->timeout_ms = s->archive_timeout_ms;
        p->connect_timeout_ms = s->connect_timeout_ms;
        p->cancel = &s->cancel;
        *ret = p;
        return 0;
}

int sources_foreach_version(struct sources *s,
                            int (*fn)(void *userdata, const char *source_id,
                                      const struct catalog_version *v),
                            void *userdata)
{
        for (size_t i = 0; i < s->n; i++) {
                struct entry *e = s->entries[i];
                for (size_t k = 0; e->catalog && k < e->catalog->n; k++) {
                        int r = fn(userdata, e->id, &e->catalog->versions[k]);
                        if (r)
                                return r;
                }
        }
        return 0;
}

int sources_fetch_pup_async(struct sources *s, const char *source_id, const char *name,
                            const char *version, const char *dest_dir, sources_done_fn cb,
                            void *userdata, struct dbx_error *err)
{
        struct sources_pup *p = NULL;
        int r = sources_lookup(s, source_id, name, version, &p, err);
        if (r < 0)
                return r;
        struct job *j = xcalloc(1, sizeof(*j));
        j->type = JOB_FETCH;
        j->pup = p;
        j->dest = xstrdup(dest_dir);
        j->cb = cb;
        j->ud = userdata;
        r = submit(s, j);
        if (r < 0) {
                job_free(j);
                return dbx_error_set(err, r, "", "the daemon is too busy to fetch a pup now: %s",
                                     strerror(-r));
        }
        j->next = s->fetches;
        s->fetches = j;
        return 0;
}

/* ---- demo ---- */

int sources_ensure_demo(struct sources *s, const char *examples_dir, struct dbx_error *err)
{
        char real[PATH_MAX];
        struct stat st;
        if (!realpath(examples_dir, real) || stat(real, &st) < 0 || !S_ISDIR(st.st_mode))
                return dbx_error_set(err, -ENOENT, "", "the demo pups folder %s does not exist",
                                     examples_dir);
        struct entry *e = find(s, SOURCES_DEMO_ID);
        if (e) {
                if (streq(e->location, real))
                        return 0;
                if (find_location(s, real))
                        return 0; /* another source serves it already */
                int r = store_source_set_location(s->store, e->id, real);
                if (r < 0)
                        return dbx_error_set(err, r, "", "cannot update the demo source: %s",
                                             strerror(-r));
                set_str(&e->location, real);
                if (!e->loading)
                        start_load(s, e);
                return 0;
        }
        if (find_location(s, real))
                return 0;
        struct store_source row = {
            .id = (char *)SOURCES_DEMO_ID,
            .kind = (char *)"disk",
            .location = real,
            .name = (char *)"Demo pups",
            .description = (char *)"The example pups of the dogeboxd repository",
            .added_ms = (int64_t)now_ms(),
        };
        int r = store_source_insert(s->store, &row, NULL, 0, 0);
        if (r < 0)
                return dbx_error_set(err, r, "", "cannot add the demo source: %s", strerror(-r));
        e = xcalloc(1, sizeof(*e));
        e->id = xstrdup(row.id);
        e->kind = SOURCE_DISK;
        e->location = xstrdup(real);
        e->name = xstrdup(row.name);
        e->description = xstrdup(row.description);
        e->added_ms = row.added_ms;
        s->entries = xrealloc(s->entries, (s->n + 1) * sizeof(*s->entries));
        s->entries[s->n++] = e;
        start_load(s, e);
        return 0;
}
