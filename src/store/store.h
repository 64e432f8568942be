/* The daemon's SQLite database (DATA/dogebox.db): WAL mode, schema
 * migrations by PRAGMA user_version, a settings table. Typed queries for
 * each concern live in their own store_*.c file next to this one. The store
 * does not log; it returns negative errno values and fills dbx_error. */
#pragma once

#include <sqlite3.h>
#include <stdbool.h>
#include "core/error.h"

#define STORE_BUSY_TIMEOUT_MS                                                                      \
        5000 /* a second process (dbx via sqlite3?) may hold a lock briefly                        \
              */
#define STORE_SETTING_MAX (64 * 1024) /* settings are small facts, never blobs */

#define STORE_SETTINGS_CACHE_MAX                                                                   \
        256 /* distinct keys cached; the daemon reads a handful per request */

struct store_setting_cache {
        char *key;
        char *value; /* NULL: known to be absent */
};

/* Only this process writes the database, so settings are cached in memory
 * (bootstrap reads several on every request; SQLite would lock a file each
 * time). */
struct store {
        sqlite3 *db;
        char *path;
        struct store_setting_cache cache[STORE_SETTINGS_CACHE_MAX];
        size_t ncache;
};

/* A migration takes the schema from version (index) to index+1. */
struct store_migration {
        const char *name;
        const char *sql;
};

/* Open (creating if needed) and migrate to the newest schema. */
int store_open(const char *path, struct store **ret, struct dbx_error *err);
/* Same, with an explicit migration list (the migration test harness). */
int store_open_with(const char *path, const struct store_migration *m, size_t n, struct store **ret,
                    struct dbx_error *err);
struct store *store_close(struct store *s);
int store_schema_version(struct store *s);
size_t store_migrations_count(void);

/* Transactions: BEGIN IMMEDIATE / COMMIT / ROLLBACK. */
int store_begin(struct store *s);
int store_commit(struct store *s);
int store_rollback(struct store *s);
/* Run SQL without results (several statements allowed). */
int store_exec(struct store *s, const char *sql, struct dbx_error *err);

/* Settings: string key → string value. get returns -ENOENT when absent. */
int store_setting_get(struct store *s, const char *key, char **ret);
int store_setting_set(struct store *s, const char *key, const char *value);
int store_setting_get_bool(struct store *s, const char *key, bool *ret);
int store_setting_del(struct store *s, const char *key);

/* Map an SQLite result code to a negative errno. */
int store_errno(int sqlite_rc);
/* Prepare sql (one `?` parameter, bound to key) and step to its first
 * row: 0 with *ret on that row (the caller finalizes it, _cleanup_stmt_),
 * -ENOENT when there is none, or the error. */
int store_row(struct store *s, const char *sql, const char *key, sqlite3_stmt **ret);

static inline void sqlite3_finalizep(sqlite3_stmt **st)
{
        if (*st)
                sqlite3_finalize(*st);
}
#define _cleanup_stmt_ _cleanup_(sqlite3_finalizep)
