#pragma once
#include <stddef.h>
#include "store/store.h"

extern const struct store_migration store_migrations[];
extern const size_t store_migrations_n;
