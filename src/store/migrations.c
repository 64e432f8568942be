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
    /* Owner authentication (src/api/auth.c, docs/api.md). auth_master: the
     * one master key's stored parts (nothing usable without the password:
     * the seed is in the vault); the delegate parent m/1000'/2' is a 0600
     * file in DATA/keys, its public key here to check it. auth_sessions:
     * BLAKE2b hashes of live session tokens. auth_delegates: per-pup index N
     * of m/1000'/2'/N', allocated max+1 and never deleted or reused. */
    {"auth", "CREATE TABLE auth_master ("
             " id INTEGER PRIMARY KEY CHECK (id = 1),"
             " password_hash TEXT NOT NULL, vault TEXT NOT NULL,"
             " master_pub TEXT NOT NULL, parent_pub TEXT NOT NULL,"
             " created_ms INTEGER NOT NULL, changed_ms INTEGER NOT NULL) STRICT;"
             "CREATE TABLE auth_sessions ("
             " hash BLOB PRIMARY KEY NOT NULL,"
             " created_ms INTEGER NOT NULL, last_used_ms INTEGER NOT NULL,"
             " client TEXT NOT NULL) STRICT, WITHOUT ROWID;"
             "CREATE TABLE auth_delegates ("
             " pup_id TEXT PRIMARY KEY NOT NULL,"
             " key_index INTEGER NOT NULL UNIQUE"
             "  CHECK (key_index BETWEEN 1 AND 2147483647),"
             " pub TEXT, written_ms INTEGER) STRICT;"},
    /* One row per job (src/jobs): seq is the submission order, times are
     * Unix ms (NULL: not yet). Finished rows are pruned by the jobs module. */
    {"jobs", "CREATE TABLE jobs ("
             " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
             " id TEXT NOT NULL UNIQUE,"
             " action TEXT NOT NULL, key TEXT NOT NULL, display_name TEXT NOT NULL,"
             " pup_id TEXT NOT NULL, pup_name TEXT NOT NULL, pup_version TEXT NOT NULL,"
             " source_id TEXT NOT NULL,"
             " status TEXT NOT NULL CHECK (status IN ('queued','in_progress','completed',"
             "'failed','cancelled','orphaned')),"
             " progress INTEGER NOT NULL CHECK (progress BETWEEN 0 AND 100),"
             " step TEXT NOT NULL, summary TEXT NOT NULL, error TEXT NOT NULL,"
             " cancel_requested INTEGER NOT NULL,"
             " created_ms INTEGER NOT NULL, started_ms INTEGER, finished_ms INTEGER) STRICT;"
             "CREATE INDEX jobs_status ON jobs(status, seq);"
             "CREATE INDEX jobs_finished ON jobs(finished_ms);"},
    /* Pup sources (src/sources, docs/sources.md). Times are Unix ms.
     * last_error/last_error_ms: the latest failed load (NULL once a load
     * succeeds). source_catalogs: the last good catalog of each source as
     * a JSON blob (src/sources/catalog.c, CATALOG_FORMAT), so it survives
     * restarts and failed refreshes. */
    {"sources", "CREATE TABLE sources ("
                " id TEXT PRIMARY KEY NOT NULL,"
                " kind TEXT NOT NULL CHECK (kind IN ('disk','git','http')),"
                " location TEXT NOT NULL UNIQUE,"
                " name TEXT NOT NULL, description TEXT NOT NULL,"
                " pubkey TEXT,"
                " added_ms INTEGER NOT NULL, last_ok_ms INTEGER,"
                " last_error TEXT, last_error_ms INTEGER) STRICT;"
                "CREATE TABLE source_catalogs ("
                " source_id TEXT PRIMARY KEY NOT NULL"
                "  REFERENCES sources(id) ON DELETE CASCADE,"
                " format INTEGER NOT NULL, loaded_ms INTEGER NOT NULL,"
                " catalog TEXT NOT NULL) STRICT;"},
};

const size_t store_migrations_n = sizeof(store_migrations) / sizeof(store_migrations[0]);
