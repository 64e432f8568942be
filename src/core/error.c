#include <stdarg.h>
#include "core/error.h"

int dbx_error_set(struct dbx_error *err, int code, const char *path, const char *fmt, ...)
{
        if (!err)
                return code;
        va_list ap;
        err->code = code;
        snprintf(err->path, sizeof(err->path), "%s", path ? path : "");
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
        return code;
}

const char *dbx_error_text(const struct dbx_error *err, char *buf, size_t size)
{
        if (err->path[0])
                snprintf(buf, size, "%s: %s", err->path, err->message);
        else
                snprintf(buf, size, "%s", err->message);
        return buf;
}

void dbx_errors_add(struct dbx_errors *e, int code, const char *path, const char *fmt, ...)
{
        if (e->n >= DBX_ERRORS_MAX) {
                e->dropped++;
                return;
        }
        if (e->n == e->cap) {
                e->cap = e->cap ? e->cap * 2 : 8;
                e->items = xrealloc(e->items, e->cap * sizeof(*e->items));
        }
        struct dbx_error *it = &e->items[e->n++];
        va_list ap;
        it->code = code;
        snprintf(it->path, sizeof(it->path), "%s", path ? path : "");
        va_start(ap, fmt);
        vsnprintf(it->message, sizeof(it->message), fmt, ap);
        va_end(ap);
}

void dbx_errors_free(struct dbx_errors *e)
{
        free(e->items);
        *e = (struct dbx_errors){0};
}
