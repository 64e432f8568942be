/* The schema, as an append-only list of migrations. Never edit a migration
 * that has shipped: add a new one. user_version == number applied. */
#include "store/store.h"
#include "store/migrations.h"

const struct store_migration store_migrations[] = {
    {"settings",
     "CREATE TABLE settings (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL) STRICT;"},
};

const size_t store_migrations_n = sizeof(store_migrations) / sizeof(store_migrations[0]);
