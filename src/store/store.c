#include "core/macro.h"
#include "store/migrations.h"
#include "store/store.h"

int store_errno(int rc)
{
        switch (rc & 0xff) {
        case SQLITE_OK:
        case SQLITE_DONE:
        case SQLITE_ROW:
                return 0;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_READONLY:
        case SQLITE_PERM:
        case SQLITE_AUTH:
                return -EACCES;
        case SQLITE_FULL:
                return -ENOSPC;
        case SQLITE_CANTOPEN:
                return -ENOENT;
        case SQLITE_CONSTRAINT:
                return -EEXIST;
        case SQLITE_TOOBIG:
                return -E2BIG;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
                return -EBADMSG;
        default:
                return -EIO;
        }
}

int store_row(struct store *s, const char *sql, const char *key, sqlite3_stmt **ret)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_errno(rc);
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return store_errno(rc);
        *ret = TAKE_PTR(st);
        return 0;
}

int store_exec(struct store *s, const char *sql, struct dbx_error *err)
{
        char *msg = NULL;
        int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);
        if (rc != SQLITE_OK) {
                int r = dbx_error_set(err, store_errno(rc), "", "database: %s",
                                      msg ? msg : sqlite3_errstr(rc));
                sqlite3_free(msg);
                return r;
        }
        return 0;
}

int store_begin(struct store *s)
{
        return store_errno(sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL));
}

int store_commit(struct store *s)
{
        return store_errno(sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL));
}

int store_rollback(struct store *s)
{
        return store_errno(sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL));
}

int store_schema_version(struct store *s)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
                return -EIO;
        if (sqlite3_step(st) != SQLITE_ROW)
                return -EIO;
        return sqlite3_column_int(st, 0);
}

size_t store_migrations_count(void)
{
        return store_migrations_n;
}

static int migrate(struct store *s, const struct store_migration *m, size_t n,
                   struct dbx_error *err)
{
        int v = store_schema_version(s);
        if (v < 0)
                return dbx_error_set(err, v, "", "database: cannot read schema version");
        if ((size_t)v > n)
                return dbx_error_set(err, -EPROTO, "",
                                     "database schema version %d is newer than this dogeboxd "
                                     "(knows %zu): refusing to touch it",
                                     v, n);
        for (size_t i = (size_t)v; i < n; i++) {
                char pragma[64];
                int r = store_begin(s);
                if (r < 0)
                        return dbx_error_set(err, r, "", "database: cannot begin migration");
                r = store_exec(s, m[i].sql, err);
                if (r >= 0) {
                        snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %zu", i + 1);
                        r = store_exec(s, pragma, err);
                }
                if (r < 0) {
                        store_rollback(s);
                        char buf[DBX_ERROR_MSG_MAX];
                        snprintf(buf, sizeof(buf), "%s", err ? err->message : "");
                        return dbx_error_set(err, r, "", "migration %zu (%s) failed: %s", i + 1,
                                             m[i].name, buf);
                }
                r = store_commit(s);
                if (r < 0)
                        return dbx_error_set(err, r, "", "database: commit failed");
        }
        return 0;
}

int store_open_with(const char *path, const struct store_migration *m, size_t n, struct store **ret,
                    struct dbx_error *err)
{
        sqlite3 *db = NULL;
        int rc = sqlite3_open_v2(path, &db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX |
                                     SQLITE_OPEN_EXRESCODE,
                                 NULL);
        if (rc != SQLITE_OK) {
                int r = dbx_error_set(err, store_errno(rc), "", "cannot open database %s: %s", path,
                                      db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
                sqlite3_close(db);
                return r;
        }
        struct store *s = xcalloc(1, sizeof(*s));
        s->db = db;
        s->path = xstrdup(path);
        sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
        int r = store_exec(s,
                           "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                           "PRAGMA foreign_keys=ON; PRAGMA trusted_schema=OFF;",
                           err);
        if (r >= 0)
                r = migrate(s, m, n, err);
        if (r < 0) {
                store_close(s);
                return r;
        }
        *ret = s;
        return 0;
}

int store_open(const char *path, struct store **ret, struct dbx_error *err)
{
        return store_open_with(path, store_migrations, store_migrations_n, ret, err);
}

static struct store_setting_cache *cache_find(struct store *s, const char *key)
{
        for (size_t i = 0; i < s->ncache; i++)
                if (streq(s->cache[i].key, key))
                        return &s->cache[i];
        return NULL;
}

/* Remember key → value (NULL = absent). A full cache simply stops caching. */
static void cache_put(struct store *s, const char *key, const char *value)
{
        struct store_setting_cache *c = cache_find(s, key);
        if (!c) {
                if (s->ncache == STORE_SETTINGS_CACHE_MAX)
                        return;
                c = &s->cache[s->ncache++];
                c->key = xstrdup(key);
                c->value = NULL;
        }
        free(c->value);
        c->value = value ? xstrdup(value) : NULL;
}

static void cache_forget(struct store *s, const char *key)
{
        struct store_setting_cache *c = cache_find(s, key);
        if (!c)
                return;
        free(c->key);
        free(c->value);
        *c = s->cache[--s->ncache];
}

struct store *store_close(struct store *s)
{
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->ncache; i++) {
                free(s->cache[i].key);
                free(s->cache[i].value);
        }
        sqlite3_close_v2(s->db);
        free(s->path);
        free(s);
        return NULL;
}

int store_setting_get(struct store *s, const char *key, char **ret)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct store_setting_cache *c = cache_find(s, key);
        if (c) {
                if (!c->value)
                        return -ENOENT;
                *ret = xstrdup(c->value);
                return 0;
        }
        int r = store_row(s, "SELECT value FROM settings WHERE key = ?", key, &st);
        if (r == -ENOENT)
                cache_put(s, key, NULL);
        if (r < 0)
                return r;
        const char *v = (const char *)sqlite3_column_text(st, 0);
        cache_put(s, key, v);
        *ret = xstrdup(v);
        return 0;
}

int store_setting_set(struct store *s, const char *key, const char *value)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        if (strlen(value) > STORE_SETTING_MAX)
                return -E2BIG;
        int rc = sqlite3_prepare_v2(s->db,
                                    "INSERT INTO settings(key, value) VALUES(?, ?) "
                                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                                    -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_errno(rc);
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
                return store_errno(rc);
        /* inside a transaction that is later rolled back the cache would lie:
         * forget the key instead, the next read goes to the database */
        if (sqlite3_get_autocommit(s->db))
                cache_put(s, key, value);
        else
                cache_forget(s, key);
        return 0;
}

int store_setting_get_bool(struct store *s, const char *key, bool *ret)
{
        _cleanup_free_ char *v = NULL;
        int r = store_setting_get(s, key, &v);
        if (r == -ENOENT) {
                *ret = false;
                return 0;
        }
        if (r < 0)
                return r;
        *ret = streq(v, "1") || streq(v, "true");
        return 0;
}

int store_setting_del(struct store *s, const char *key)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db, "DELETE FROM settings WHERE key = ?", -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_errno(rc);
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
                return store_errno(rc);
        if (sqlite3_get_autocommit(s->db))
                cache_put(s, key, NULL);
        else
                cache_forget(s, key);
        return 0;
}
