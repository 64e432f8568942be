/* Typed access to the pups table. A row is plain data; JSON columns are
 * kept as text and parsed by the pups module. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include "store/store.h"

struct store_pup_row {
        const char *id, *name, *version, *source_id;
        const char *source;    /* JSON object */
        const char *manifest;  /* JSON text of the installed manifest */
        const char *config;    /* JSON object of strings */
        const char *providers; /* JSON object */
        const char *installation, *broken_reason, *ip;
        const char *web_uis; /* JSON array */
        bool config_saved, enabled;
        int64_t uid_base;
        int64_t key_index; /* -1: no delegate key yet */
        int64_t created_ms;
};

/* Insert or replace the whole row. */
int store_pup_put(struct store *s, const struct store_pup_row *row);
int store_pup_delete(struct store *s, const char *id);
/* Calls fn for every row, ordered by creation; fn returns <0 to stop. */
int store_pup_foreach(struct store *s, int (*fn)(const struct store_pup_row *row, void *ud),
                      void *ud);
