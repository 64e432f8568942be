#include "store/store_pups.h"

int store_pup_put(struct store *s, const struct store_pup_row *p)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(
            s->db,
            "INSERT OR REPLACE INTO pups (id, name, version, source_id, source, manifest, "
            "config, config_saved, providers, installation, broken_reason, enabled, ip, "
            "uid_base, key_index, web_uis, created_ms) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_errno(rc);
        int i = 1;
        sqlite3_bind_text(st, i++, p->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, i++, p->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, i++, p->version, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, i++, p->source_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, i++, p->source, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, i++, p->manifest, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, i++, p->config, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, i++, p->config_saved);
        sqlite3_bind_text(st, i++, p->providers, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, i++, p->installation, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, i++, p->broken_reason, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, i++, p->enabled);
        sqlite3_bind_text(st, i++, p->ip, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, i++, p->uid_base);
        if (p->key_index >= 0)
                sqlite3_bind_int64(st, i++, p->key_index);
        else
                sqlite3_bind_null(st, i++);
        sqlite3_bind_text(st, i++, p->web_uis, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, i++, p->created_ms);
        rc = sqlite3_step(st);
        return rc == SQLITE_DONE ? 0 : store_errno(rc);
}

int store_pup_delete(struct store *s, const char *id)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(s->db, "DELETE FROM pups WHERE id = ?", -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_errno(rc);
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        return rc == SQLITE_DONE ? 0 : store_errno(rc);
}

static const char *col(sqlite3_stmt *st, int i)
{
        const char *v = (const char *)sqlite3_column_text(st, i);
        return v ? v : "";
}

int store_pup_foreach(struct store *s, int (*fn)(const struct store_pup_row *row, void *ud),
                      void *ud)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(
            s->db,
            "SELECT id, name, version, source_id, source, manifest, config, config_saved, "
            "providers, installation, broken_reason, enabled, ip, uid_base, key_index, "
            "web_uis, created_ms FROM pups ORDER BY created_ms, id",
            -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_errno(rc);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                struct store_pup_row row = {
                    .id = col(st, 0),
                    .name = col(st, 1),
                    .version = col(st, 2),
                    .source_id = col(st, 3),
                    .source = col(st, 4),
                    .manifest = col(st, 5),
                    .config = col(st, 6),
                    .config_saved = sqlite3_column_int(st, 7),
                    .providers = col(st, 8),
                    .installation = col(st, 9),
                    .broken_reason = col(st, 10),
                    .enabled = sqlite3_column_int(st, 11),
                    .ip = col(st, 12),
                    .uid_base = sqlite3_column_int64(st, 13),
                    .key_index = sqlite3_column_type(st, 14) == SQLITE_NULL
                                     ? -1
                                     : sqlite3_column_int64(st, 14),
                    .web_uis = col(st, 15),
                    .created_ms = sqlite3_column_int64(st, 16),
                };
                int r = fn(&row, ud);
                if (r < 0)
                        return r;
        }
        return rc == SQLITE_DONE ? 0 : store_errno(rc);
}
