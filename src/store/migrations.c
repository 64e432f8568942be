/* The schema, as an append-only list of migrations. Never edit a migration
 * that has shipped: add a new one. user_version == number applied. */
#include "store/store.h"
#include "store/migrations.h"

const struct store_migration store_migrations[] = {
    {"settings",
     "CREATE TABLE settings (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) STRICT;"},
    /* One row per installed pup. JSON columns hold what the API returns
     * as-is (manifest, config, providers, source); the rest is typed. */
    {"pups", "CREATE TABLE pups ("
             " id TEXT PRIMARY KEY NOT NULL,"
             " name TEXT NOT NULL, version TEXT NOT NULL, source_id TEXT NOT NULL,"
             " source TEXT NOT NULL, manifest TEXT NOT NULL,"
             " config TEXT NOT NULL, config_saved INTEGER NOT NULL,"
             " providers TEXT NOT NULL,"
             " installation TEXT NOT NULL, broken_reason TEXT NOT NULL,"
             " enabled INTEGER NOT NULL, ip TEXT NOT NULL,"
             " uid_base INTEGER NOT NULL UNIQUE, key_index INTEGER,"
             " web_uis TEXT NOT NULL, created_ms INTEGER NOT NULL) STRICT;"
             "CREATE INDEX pups_source ON pups(source_id);"},
};

const size_t store_migrations_n = sizeof(store_migrations) / sizeof(store_migrations[0]);
