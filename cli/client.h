/* How dbx talks to dogeboxd: HTTP over the root-only admin socket (no
 * token needed), or over TCP to --url with a session token. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#define DBX_DEFAULT_SOCKET  "/var/lib/dogebox/run/dogeboxd.sock"
#define CLIENT_RESPONSE_MAX (64 * 1024 * 1024) /* log downloads can be large */

struct dbx_client {
        const char *socket; /* admin socket path, used when url is NULL */
        const char *url;    /* http://host:port */
        const char *token;  /* session token for url */
        bool json;          /* --json: machine output */
};

/* Perform a request. body may be NULL. On a transport failure prints a
 * clear message to stderr and returns -errno. Otherwise returns 0 and sets
 * the HTTP status and the parsed JSON (or NULL for non-JSON bodies; raw
 * body in ret_raw if asked). */
int client_request(const struct dbx_client *c, const char *method, const char *path, json_t *body,
                   long *ret_status, json_t **ret_json, char **ret_raw);

/* The error message from an API error body, or a generic one. */
const char *client_error_message(json_t *j, long status, char *buf, size_t size);

/* Convenience: request, expect 2xx, print the API's error and return -EIO
 * otherwise. */
int client_call(const struct dbx_client *c, const char *method, const char *path, json_t *body,
                json_t **ret_json);

/* Small helpers shared by the commands. */
void client_print_json(json_t *j); /* indented, to stdout */
/* o.k as a string, "" when absent or not a string. */
const char *client_str(json_t *o, const char *k);
/* Percent-encode for a path segment or query value (malloc'd). */
char *client_url_escape(const char *s);
