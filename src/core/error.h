/* Human-facing errors. Library-like modules return a negative errno and,
 * where the owner needs to know what went wrong, fill a struct dbx_error
 * (one problem) or append to a struct dbx_errors (every problem found, e.g.
 * manifest validation). Messages say what is wrong and what is expected. */
#pragma once

#include <stddef.h>
#include "core/macro.h"

#define DBX_ERROR_PATH_MAX 256 /* JSON paths deeper than this are truncated */
#define DBX_ERROR_MSG_MAX  512 /* one message line, never a dump */
#define DBX_ERRORS_MAX     200 /* collecting stops here; the last says so */

struct dbx_error {
        int code;                      /* negative errno, or 0 when unset */
        char path[DBX_ERROR_PATH_MAX]; /* "container.exposes[2].port" or "" */
        char message[DBX_ERROR_MSG_MAX];
};

/* Set err (which may be NULL) and return code, so callers can write
 * `return dbx_error_set(err, -EINVAL, "path", "...", ...);` */
int dbx_error_set(struct dbx_error *err, int code, const char *path, const char *fmt, ...)
    _printf_(4, 5);

/* "path: message", or "message" when path is empty. Static buffer owned by err. */
const char *dbx_error_text(const struct dbx_error *err, char *buf, size_t size);

struct dbx_errors {
        struct dbx_error *items;
        size_t n, cap;
        size_t dropped; /* how many were not stored because of DBX_ERRORS_MAX */
};

void dbx_errors_add(struct dbx_errors *e, int code, const char *path, const char *fmt, ...)
    _printf_(4, 5);
void dbx_errors_free(struct dbx_errors *e);
