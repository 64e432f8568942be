/* The owner's panel, embedded into the daemon at build time.
 *
 * web/embed.py turns the files under web/ into one generated C file that
 * defines web_bundle_get(); src/api/routes_web.c serves it. Every file but
 * index.html is served under a content-hashed name (/assets/<dir>/<stem>.<hash>.<ext>)
 * so it can be cached for a year; index.html (served at / and as the
 * single-page-app fallback) names them and is always revalidated. See
 * docs/panel.md. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct web_asset {
        const char *path;         /* request path, e.g. "/assets/js/app.3f2a9c0b1d4e.js" */
        const char *content_type; /* with charset for text */
        const char *etag;         /* quoted strong ETag of the identity body */
        const char *etag_gz;      /* quoted strong ETag of the gzip body (NULL: none) */
        const unsigned char *data;
        size_t len;
        const unsigned char *gz; /* gzip-compressed body, NULL when it would not be smaller */
        size_t gz_len;
        bool immutable; /* hashed name: cache for a year */
};

struct web_bundle {
        const struct web_asset *assets; /* sorted by path (strcmp), for bsearch */
        size_t count;
        const struct web_asset *index; /* index.html */
        const char *csp;               /* Content-Security-Policy for index.html */
};

/* Defined by the generated file; declared weak by its users so that a
 * binary built without the panel still links (and answers 404). */
const struct web_bundle *web_bundle_get(void);
