#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/client.h"
#include "core/macro.h"

struct buf {
        char *data;
        size_t len;
        bool overflow;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
        struct buf *b = userdata;
        size_t n = size * nmemb;
        if (b->len + n > CLIENT_RESPONSE_MAX) {
                b->overflow = true;
                return 0;
        }
        b->data = xrealloc(b->data, b->len + n + 1);
        memcpy(b->data + b->len, ptr, n);
        b->len += n;
        b->data[b->len] = 0;
        return n;
}

int client_request(const struct dbx_client *c, const char *method, const char *path, json_t *body,
                   long *ret_status, json_t **ret_json, char **ret_raw)
{
        CURL *h = curl_easy_init();
        struct curl_slist *hdrs = NULL;
        struct buf b = {0};
        _cleanup_free_ char *url = NULL, *auth = NULL, *payload = NULL;
        char errbuf[CURL_ERROR_SIZE] = "";

        if (!h)
                return -ENOMEM;
        if (c->url) {
                url = xasprintf("%s%s", c->url, path);
                if (c->token) {
                        auth = xasprintf("Authorization: Bearer %s", c->token);
                        hdrs = curl_slist_append(hdrs, auth);
                }
        } else {
                url = xasprintf("http://dogeboxd%s", path);
                curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->socket);
        }
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 5L);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        if (body) {
                payload = json_dumps(body, JSON_COMPACT);
                hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, payload);
        }
        if (hdrs)
                curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        CURLcode rc = curl_easy_perform(h);
        long status = 0;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(h);
        if (rc != CURLE_OK) {
                free(b.data);
                if (c->url)
                        fprintf(stderr, "dbx: cannot reach dogeboxd at %s: %s\n", c->url,
                                errbuf[0] ? errbuf : curl_easy_strerror(rc));
                else
                        fprintf(stderr,
                                "dbx: cannot reach dogeboxd at %s: %s (is the daemon running? "
                                "`systemctl start dogeboxd`, or give --socket / --url)\n",
                                c->socket,
                                access(c->socket, F_OK) < 0 ? "no such socket"
                                                            : "nobody answers on the socket");
                return -ECONNREFUSED;
        }
        *ret_status = status;
        if (ret_json)
                *ret_json = b.data ? json_loadb(b.data, b.len, JSON_DECODE_ANY, NULL) : NULL;
        if (ret_raw)
                *ret_raw = b.data ? b.data : xstrdup("");
        else
                free(b.data);
        return 0;
}

const char *client_error_message(json_t *j, long status, char *buf, size_t size)
{
        json_t *e = json_object_get(j, "error");
        const char *m = json_string_value(json_object_get(e, "message"));
        if (!m)
                m = json_string_value(json_object_get(j, "message"));
        if (m)
                snprintf(buf, size, "%s", m);
        else if (status == 401)
                snprintf(buf, size,
                         "not logged in: run `dbx login` or use the admin socket "
                         "as root");
        else
                snprintf(buf, size, "HTTP status %ld", status);
        return buf;
}

int client_call(const struct dbx_client *c, const char *method, const char *path, json_t *body,
                json_t **ret_json)
{
        long status;
        json_t *j = NULL;
        int r = client_request(c, method, path, body, &status, &j, NULL);
        if (r < 0)
                return r;
        if (status < 200 || status > 299) {
                char buf[1024];
                fprintf(stderr, "dbx: %s\n", client_error_message(j, status, buf, sizeof(buf)));
                json_decref(j);
                return -EIO;
        }
        if (ret_json)
                *ret_json = j;
        else
                json_decref(j);
        return 0;
}

void client_print_json(json_t *j)
{
        char *s = json_dumps(j, JSON_INDENT(2) | JSON_ENCODE_ANY);
        puts(s);
        free(s);
}

const char *client_str(json_t *o, const char *k)
{
        const char *s = json_string_value(json_object_get(o, k));
        return s ? s : "";
}

char *client_url_escape(const char *s)
{
        static const char hex[] = "0123456789ABCDEF";
        char *out = xmalloc(strlen(s) * 3 + 1), *p = out;
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == '~') {
                        *p++ = (char)c;
                } else {
                        *p++ = '%';
                        *p++ = hex[c >> 4];
                        *p++ = hex[c & 15];
                }
        }
        *p = '\0';
        return out;
}
