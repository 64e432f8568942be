/* Typed queries for the sources tables. */
#include "core/macro.h"
#include "store/store_sources.h"

static char *col_text(sqlite3_stmt *st, int i)
{
        const unsigned char *t = sqlite3_column_text(st, i);
        return t ? xstrdup((const char *)t) : NULL;
}

static void bind_opt(sqlite3_stmt *st, int i, const char *s)
{
        if (s)
                sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
        else
                sqlite3_bind_null(st, i);
}

void store_source_clear(struct store_source *s)
{
        free(s->id);
        free(s->kind);
        free(s->location);
        free(s->name);
        free(s->description);
        free(s->pubkey);
        free(s->last_error);
        *s = (struct store_source){0};
}

void store_sources_free(struct store_source *v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                store_source_clear(&v[i]);
        free(v);
}

int store_sources_list(struct store *s, struct store_source **ret, size_t *ret_n)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        struct store_source *v = NULL;
        size_t n = 0;
        int rc = sqlite3_prepare_v2(s->db,
                                    "SELECT id, kind, location, name, description, pubkey, "
                                    "added_ms, last_ok_ms, last_error, last_error_ms "
                                    "FROM sources ORDER BY added_ms, id",
                                    -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_errno(rc);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                v = xrealloc(v, (n + 1) * sizeof(*v));
                v[n++] = (struct store_source){
                    .id = col_text(st, 0),
                    .kind = col_text(st, 1),
                    .location = col_text(st, 2),
                    .name = col_text(st, 3),
                    .description = col_text(st, 4),
                    .pubkey = col_text(st, 5),
                    .added_ms = sqlite3_column_int64(st, 6),
                    .last_ok_ms = sqlite3_column_int64(st, 7),
                    .last_error = col_text(st, 8),
                    .last_error_ms = sqlite3_column_int64(st, 9),
                };
        }
        if (rc != SQLITE_DONE) {
                store_sources_free(v, n);
                return store_errno(rc);
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

static int put_catalog(struct store *s, const char *id, const char *catalog, int format,
                       int64_t loaded_ms)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db,
                                    "INSERT INTO source_catalogs(source_id, format, loaded_ms, "
                                    "catalog) VALUES(?, ?, ?, ?) ON CONFLICT(source_id) DO "
                                    "UPDATE SET format = excluded.format, loaded_ms = "
                                    "excluded.loaded_ms, catalog = excluded.catalog",
                                    -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_errno(rc);
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, format);
        sqlite3_bind_int64(st, 3, loaded_ms);
        sqlite3_bind_text(st, 4, catalog, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        return rc == SQLITE_DONE ? 0 : store_errno(rc);
}

static int finish(struct store *s, int r)
{
        if (r < 0) {
                store_rollback(s);
                return r;
        }
        return store_commit(s);
}

int store_source_insert(struct store *s, const struct store_source *src, const char *catalog,
                        int format, int64_t loaded_ms)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_begin(s);
        if (r < 0)
                return r;
        int rc = sqlite3_prepare_v2(s->db,
                                    "INSERT INTO sources(id, kind, location, name, description, "
                                    "pubkey, added_ms, last_ok_ms, last_error, last_error_ms) "
                                    "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                    -1, &st, NULL);
        if (rc != SQLITE_OK)
                return finish(s, store_errno(rc));
        sqlite3_bind_text(st, 1, src->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, src->kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, src->location, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, src->name ? src->name : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, src->description ? src->description : "", -1, SQLITE_STATIC);
        bind_opt(st, 6, src->pubkey);
        sqlite3_bind_int64(st, 7, src->added_ms);
        if (src->last_ok_ms)
                sqlite3_bind_int64(st, 8, src->last_ok_ms);
        else
                sqlite3_bind_null(st, 8);
        bind_opt(st, 9, src->last_error);
        if (src->last_error)
                sqlite3_bind_int64(st, 10, src->last_error_ms);
        else
                sqlite3_bind_null(st, 10);
        rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
                return finish(s, store_errno(rc));
        r = catalog ? put_catalog(s, src->id, catalog, format, loaded_ms) : 0;
        return finish(s, r);
}

/* Run one statement with a single text parameter. */
static int exec1(struct store *s, const char *sql, const char *arg)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_errno(rc);
        sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        return rc == SQLITE_DONE ? 0 : store_errno(rc);
}

static int changes_or_enoent(struct store *s, int rc)
{
        if (rc != SQLITE_DONE)
                return store_errno(rc);
        return sqlite3_changes(s->db) > 0 ? 0 : -ENOENT;
}

int store_source_set_ok(struct store *s, const char *id, const char *name, const char *description,
                        const char *catalog, int format, int64_t loaded_ms)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_begin(s);
        if (r < 0)
                return r;
        int rc = sqlite3_prepare_v2(s->db,
                                    "UPDATE sources SET name = ?, description = ?, last_ok_ms = "
                                    "?, last_error = NULL, last_error_ms = NULL WHERE id = ?",
                                    -1, &st, NULL);
        if (rc != SQLITE_OK)
                return finish(s, store_errno(rc));
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, description, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, loaded_ms);
        sqlite3_bind_text(st, 4, id, -1, SQLITE_STATIC);
        r = changes_or_enoent(s, sqlite3_step(st));
        if (r >= 0)
                r = put_catalog(s, id, catalog, format, loaded_ms);
        return finish(s, r);
}

int store_source_set_error(struct store *s, const char *id, const char *error, int64_t at_ms)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(
            s->db, "UPDATE sources SET last_error = ?, last_error_ms = ? WHERE id = ?", -1, &st,
            NULL);
        if (rc != SQLITE_OK)
                return store_errno(rc);
        sqlite3_bind_text(st, 1, error, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, at_ms);
        sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
        return changes_or_enoent(s, sqlite3_step(st));
}

int store_source_set_location(struct store *s, const char *id, const char *location)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db, "UPDATE sources SET location = ? WHERE id = ?", -1, &st,
                                    NULL);
        if (rc != SQLITE_OK)
                return store_errno(rc);
        sqlite3_bind_text(st, 1, location, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
        return changes_or_enoent(s, sqlite3_step(st));
}

int store_source_catalog(struct store *s, const char *id, int *ret_format, int64_t *ret_loaded_ms,
                         char **ret_catalog, size_t *ret_len)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_row(s,
                          "SELECT format, loaded_ms, catalog FROM source_catalogs "
                          "WHERE source_id = ?",
                          id, &st);
        if (r < 0)
                return r;
        size_t len = (size_t)sqlite3_column_bytes(st, 2);
        char *text = xmalloc(len + 1);
        memcpy(text, sqlite3_column_text(st, 2), len);
        text[len] = '\0';
        *ret_format = sqlite3_column_int(st, 0);
        *ret_loaded_ms = sqlite3_column_int64(st, 1);
        *ret_catalog = text;
        *ret_len = len;
        return 0;
}

int store_source_delete(struct store *s, const char *id)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_begin(s);
        if (r < 0)
                return r;
        /* The catalog goes by ON DELETE CASCADE; deleted explicitly too, so a
         * connection without foreign_keys=ON leaves nothing behind. */
        r = exec1(s, "DELETE FROM source_catalogs WHERE source_id = ?", id);
        if (r < 0)
                return finish(s, r);
        int rc = sqlite3_prepare_v2(s->db, "DELETE FROM sources WHERE id = ?", -1, &st, NULL);
        if (rc != SQLITE_OK)
                return finish(s, store_errno(rc));
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        return finish(s, changes_or_enoent(s, sqlite3_step(st)));
}

static bool table_exists(struct store *s, const char *name)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(s->db,
                               "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", -1,
                               &st, NULL) != SQLITE_OK)
                return false;
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        return sqlite3_step(st) == SQLITE_ROW;
}

int store_source_users(struct store *s, const char *id, char ***ret_ids, char ***ret_names,
                       size_t *ret_n)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        char **ids = NULL, **names = NULL;
        size_t n = 0;
        int rc;

        if (!table_exists(s, "pups")) {
                *ret_ids = *ret_names = NULL;
                *ret_n = 0;
                return 0;
        }
        rc = sqlite3_prepare_v2(
            s->db, "SELECT id, name FROM pups WHERE source_id = ? ORDER BY name", -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_errno(rc);
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                ids = xrealloc(ids, (n + 1) * sizeof(char *));
                names = xrealloc(names, (n + 1) * sizeof(char *));
                ids[n] = col_text(st, 0);
                names[n] = col_text(st, 1);
                if (!ids[n])
                        ids[n] = xstrdup("");
                if (!names[n])
                        names[n] = xstrdup("");
                n++;
        }
        if (rc != SQLITE_DONE) {
                store_source_users_free(ids, names, n);
                return store_errno(rc);
        }
        *ret_ids = ids;
        *ret_names = names;
        *ret_n = n;
        return 0;
}

void store_source_users_free(char **ids, char **names, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(ids[i]);
                free(names[i]);
        }
        free(ids);
        free(names);
}
