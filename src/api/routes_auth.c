/* Authentication routes (reference/upstream-api.md §3, §4.1-4.2): login
 * (REST and the Connect-RPC call today's dpanel makes), logout, password
 * change, the master key and first-run setup, the per-request session
 * check, and answers for the routes that only exist for upstream's own OS.
 *
 * Anything that takes a password runs Argon2id (64 MiB, ~0.1-1 s): it runs
 * in the worker pool while the request is suspended, and its result is
 * applied and answered on the loop thread. The worker gets a private copy
 * of what it needs (in locked memory) and touches no daemon state. */
#include <ctype.h>
#include <sodium.h>
#include <strings.h>
#include "api/api.h"
#include "api/auth.h"
#include "core/json.h"
#include "core/log.h"
#include "core/macro.h"
#include "core/util.h"
#include "core/workpool.h"
#include "dbx-config.h"
#include "keys/secure.h"
#ifdef HAVE_ROUTES_SOURCES
#include "sources/sources.h"
#endif

#define CONNECT_AUTHENTICATE "/authenticate.v1.AuthenticateService/Authenticate"
/* Upstream's bootstrap job adds this source when none is given. */
#define DEFAULT_SOURCE      "https://github.com/Dogebox-WG/pups.git"
#define SSH_KEY_MAX         16384 /* an RSA-16384 public key is ~2.8 KB: room for comments */
#define SETUP_SOURCES_MAX   16    /* initial sources in POST /system/bootstrap */
#define SOURCE_LOCATION_MAX 2048
#define REFLECTOR_FIELD_MAX 256
#define SECRET_REPLY_MAX    1024 /* {"success":true,"seedPhrase":[24 words],"token":...} */

enum job_kind { JOB_LOGIN, JOB_CREATE, JOB_CHANGE };

/* One Argon2id operation in flight. Allocated in locked memory: it holds
 * passwords, a recovery phrase and, for create, the new mnemonic. */
struct auth_job {
        struct auth_job *next;
        struct auth *auth; /* NULL once auth is gone: done() only frees */
        struct api_ctx *ctx;
        struct api_req *req;
        enum job_kind kind;
        bool connect;   /* answer in the Connect protocol */
        bool via_admin; /* no session is handed back for password changes */
        char rl_key[AUTH_RL_KEY_MAX];
        char client[AUTH_CLIENT_MAX];
        uint64_t generation; /* of the credentials the work started from */
        bool want_parent;    /* re-derive a missing delegate parent at login */
        /* inputs */
        char password[KEYS_PASSWORD_MAX + 1];
        char new_password[KEYS_PASSWORD_MAX + 1];
        char seedphrase[BIP39_INPUT_MAX + 1];
        struct keys_credentials cred;
        char master_pub[KEYS_PUB_HEX_SIZE];
        /* outputs */
        int r, parent_r;
        bool rehashed; /* login: new_cred holds the same password with today's parameters */
        struct dbx_error err;
        struct keys_master *master;
        struct keys_credentials new_cred;
        char parent[BIP32_XKEY_STR_MAX];
};

/* --- Replies ------------------------------------------------------------- */

static void reply_json_headers(struct api_req *req, unsigned status, json_t *j,
                               const char *const *headers)
{
        _cleanup_free_ char *s = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        const char *h[8] = {"Cache-Control", "no-store"};
        size_t n = 2;
        for (size_t i = 0; headers && headers[i] && n + 2 < ARRAY_SIZE(h); i += 2) {
                h[n++] = headers[i];
                h[n++] = headers[i + 1];
        }
        h[n] = NULL;
        api_reply_bytes(req, status, "application/json", s, strlen(s), h);
}

static void reply_error_h(struct api_req *req, unsigned status, const char *const *headers,
                          const char *fmt, ...) _printf_(4, 5);
static void reply_error_h(struct api_req *req, unsigned status, const char *const *headers,
                          const char *fmt, ...)
{
        char msg[DBX_ERROR_MSG_MAX + 128];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        reply_json_headers(req, status,
                           json_pack("{s:{s:i,s:s}}", "error", "code", (int)status, "message", msg),
                           headers);
}

/* Connect error: {"code": "...", "message": "..."} with the HTTP status
 * the Connect protocol maps the code to. */
static void reply_connect_error(struct api_req *req, unsigned status, const char *code,
                                const char *const *headers, const char *msg)
{
        reply_json_headers(req, status, json_pack("{s:s,s:s}", "code", code, "message", msg),
                           headers);
}

static void reply_too_many(struct api_req *req, bool connect, uint64_t wait_ms)
{
        char secs[24], msg[160];
        snprintf(secs, sizeof(secs), "%llu", (unsigned long long)((wait_ms + 999) / 1000));
        const char *h[] = {"Retry-After", secs, NULL};
        snprintf(msg, sizeof(msg), "too many failed attempts from this address: try again in %s s",
                 secs);
        if (connect)
                reply_connect_error(req, 429, "resource_exhausted", h, msg);
        else
                reply_error_h(req, 429, h, "%s", msg);
}

/* Wipe a secret that went through jansson and the request buffer: the
 * string is ours (json_decref follows), and so is the body. */
static void wipe_json_string(json_t *s)
{
        if (json_is_string(s))
                sodium_memzero((char *)json_string_value(s), json_string_length(s));
}

static void wipe_body(struct api_req *req)
{
        if (req->body)
                sodium_memzero(req->body, req->body_len);
}

/* --- The per-request check ---------------------------------------------- */

/* The token a request carries: from "Authorization: Bearer <token>"
 * (scheme case-insensitive), or for WebSockets, which browsers cannot give
 * headers, from ?token=. *bad_scheme is set for another scheme. */
static const char *request_token(struct api_req *req, bool ws, bool *bad_scheme)
{
        const char *h = api_req_header(req, "Authorization");
        *bad_scheme = false;
        if (h) {
                if (strncasecmp(h, "Bearer ", 7) != 0) {
                        *bad_scheme = true;
                        return NULL;
                }
                h += 7;
                while (*h == ' ')
                        h++;
                return h;
        }
        return ws ? api_req_query(req, "token") : NULL;
}

static bool setup_open(const struct auth *a, const struct route *rt)
{
        if (!(rt->flags & ROUTE_SETUP) || a->setup_done)
                return false;
        /* Once the master key exists, whoever created it holds a session:
         * only the read-only status routes the setup UI polls stay open. */
        return !a->has_key || !rt->method || streq(rt->method, "GET");
}

bool auth_request_allowed(struct api_ctx *ctx, struct api_req *req)
{
        struct auth *a = ctx->auth;
        const struct route *rt = req->match.route;
        bool ws = rt->flags & ROUTE_WS, bad_scheme;
        const char *token = request_token(req, ws, &bad_scheme);
        struct auth_session *s = NULL;
        int r = -ENOENT;

        if (token && *token)
                r = auth_session_check(a, token, now_ms(), &s);
        if (r == 0)
                req->session = s;
        if (r == 0 || req->via_admin || (rt->flags & ROUTE_OPEN) || setup_open(a, rt))
                return true;

        const char *h[] = {"WWW-Authenticate", "Bearer realm=\"dogeboxd\"", NULL};
        if (bad_scheme)
                reply_error_h(req, 401, h,
                              "the Authorization header must be 'Bearer <token>' with a session "
                              "token");
        else if (!token || !*token)
                reply_error_h(req, 401, h,
                              "%s %s needs a session: log in with POST /authenticate and send "
                              "%s",
                              rt->method ? rt->method : "GET", rt->pattern,
                              ws ? "?token=<token> (or Authorization: Bearer <token>)"
                                 : "Authorization: Bearer <token>");
        else if (r == -ETIMEDOUT)
                reply_error_h(req, 401, h, "session expired after %llu s without use: log in again",
                              (unsigned long long)(a->cfg.idle_ms / 1000));
        else if (r == -ESTALE)
                reply_error_h(req, 401, h,
                              "session reached its maximum lifetime of %llu s: log in again",
                              (unsigned long long)(a->cfg.lifetime_ms / 1000));
        else
                reply_error_h(req, 401, h, "invalid or revoked session token: log in again");
        return false;
}

/* --- Worker jobs --------------------------------------------------------- */

static void job_free(struct auth_job *j)
{
        if (!j)
                return;
        keys_master_free(j->master);
        secure_free(j);
}

static void job_unlink(struct auth *a, struct auth_job *j)
{
        for (struct auth_job **p = &a->jobs; *p; p = &(*p)->next)
                if (*p == j) {
                        *p = j->next;
                        break;
                }
        a->hashing--;
        if (j->kind != JOB_LOGIN)
                a->key_busy = false;
}

static void work_login(void *data)
{
        struct auth_job *j = data;
        j->r = keys_password_verify(j->cred.password_hash, j->password);
        j->parent_r = -ENOENT;
        if (j->r == 0 && j->want_parent)
                j->parent_r = keys_delegate_parent_from_vault(j->cred.vault, j->password, j->parent,
                                                              sizeof(j->parent), &j->err);
        /* A hash made with weaker parameters than today's (an older
         * release) is redone now that the password is at hand. */
        if (j->r == 0 && keys_password_needs_rehash(j->cred.password_hash)) {
                struct dbx_error e = {0};
                j->rehashed = keys_rekey_with_password(&j->cred, j->password, j->password,
                                                       &j->new_cred, &e) == 0;
        }
}

static void work_create(void *data)
{
        struct auth_job *j = data;
        j->r = keys_master_create(j->password, &j->master, &j->err);
}

static void work_change(void *data)
{
        struct auth_job *j = data;
        if (j->password[0])
                j->r = keys_rekey_with_password(&j->cred, j->password, j->new_password,
                                                &j->new_cred, &j->err);
        else
                j->r = keys_rekey_with_mnemonic(j->master_pub, j->seedphrase, j->new_password,
                                                &j->new_cred, &j->err);
}

static void job_done(void *data);

static struct auth_job *job_new(struct api_ctx *ctx, struct api_req *req, enum job_kind kind)
{
        struct auth_job *j = secure_alloc(sizeof(*j));
        j->ctx = ctx;
        j->auth = ctx->auth;
        j->req = req;
        j->kind = kind;
        j->via_admin = req->via_admin;
        j->generation = ctx->auth->generation;
        auth_ratelimit_key(req->remote, j->rl_key);
        snprintf(j->client, sizeof(j->client), "%s", req->remote);
        return j;
}

/* Hand j to the pool and suspend the request; on failure answer 503 and
 * free j. */
static void job_submit(struct api_req *req, struct auth_job *j, workpool_fn work)
{
        struct auth *a = j->auth;
        const char *h[] = {"Retry-After", "1", NULL};
        if (a->hashing >= AUTH_HASH_CONCURRENCY ||
            workpool_submit(j->ctx->pool, work, job_done, j) < 0) {
                const char *msg = "the box is busy checking other passwords: try again in a "
                                  "second";
                if (j->connect)
                        reply_connect_error(req, 503, "unavailable", h, msg);
                else
                        reply_error_h(req, 503, h, "%s", msg);
                job_free(j);
                return;
        }
        j->next = a->jobs;
        a->jobs = j;
        a->hashing++;
        if (j->kind != JOB_LOGIN)
                a->key_busy = true;
        api_req_suspend(req);
}

static void pending_keys_catch_up(struct auth *a)
{
        struct dbx_errors errs = {0};
        if (!a->pup_enum)
                return;
        int n = auth_pending_keys_write(a, a->pup_enum, a->pup_enum_userdata, &errs);
        if (n > 0)
                log_info("auth: wrote delegate keys for %d pup(s) installed before setup", n);
        for (size_t i = 0; i < errs.n; i++)
                log_warn("auth: delegate key for pup %s: %s", errs.items[i].path,
                         errs.items[i].message);
        dbx_errors_free(&errs);
}

static void done_login(struct auth *a, struct auth_job *j)
{
        struct api_req *req = j->req;
        char token[KEYS_TOKEN_HEX_SIZE];

        if (j->generation != a->generation) {
                const char *msg = "the password changed while this login was checked: try again";
                if (j->connect)
                        reply_connect_error(req, 409, "aborted", NULL, msg);
                else
                        reply_error_h(req, 409, NULL, "%s", msg);
                return;
        }
        if (j->r == -EINVAL) {
                log_error("auth: the stored password hash is damaged");
                if (j->connect)
                        reply_connect_error(req, 500, "internal", NULL,
                                            "the stored password hash is damaged");
                else
                        reply_error_h(req, 500, NULL, "the stored password hash is damaged");
                return;
        }
        if (j->r < 0) {
                uint64_t wait = auth_ratelimit_fail(a->ratelimit, j->rl_key, now_ms());
                log_warn("auth: failed login from %s%s", j->client,
                         wait ? " (now rate-limited)" : "");
                if (j->connect)
                        reply_connect_error(req, 400, "invalid_argument", NULL,
                                            "incorrect password");
                else
                        reply_error_h(req, 403, NULL, "incorrect password");
                return;
        }
        auth_ratelimit_success(a->ratelimit, j->rl_key);
        if (j->rehashed) {
                struct dbx_error err = {0};
                if (auth_credentials_upgrade(a, &j->new_cred, now_ms(), &err) < 0)
                        log_error("auth: cannot store the upgraded password hash: %s", err.message);
                else
                        log_info("auth: the password hash was upgraded to the current "
                                 "parameters");
        }
        if (j->want_parent) {
                struct dbx_error err = {0};
                if (j->parent_r < 0 || auth_parent_store(a, j->parent, &err) < 0)
                        log_error("auth: cannot restore the delegate parent key: %s",
                                  j->parent_r < 0 ? j->err.message : err.message);
                else
                        log_info("auth: restored the delegate parent key from the vault");
                if (j->parent_r >= 0)
                        pending_keys_catch_up(a);
        }
        int r = auth_session_create(a, j->client, now_ms(), token);
        if (r < 0) {
                if (j->connect)
                        reply_connect_error(req, 500, "internal", NULL, "cannot store the session");
                else
                        reply_error_h(req, 500, NULL, "cannot store the session: %s", strerror(-r));
                return;
        }
        log_info("auth: login from %s", j->client);
        if (j->connect)
                reply_json_headers(req, 200, json_pack("{s:s}", "token", token), NULL);
        else
                reply_json_headers(req, 200, json_pack("{s:b,s:s}", "success", 1, "token", token),
                                   NULL);
        sodium_memzero(token, sizeof(token));
}

static void done_create(struct auth *a, struct auth_job *j)
{
        struct api_req *req = j->req;
        struct dbx_error err = {0};
        char token[KEYS_TOKEN_HEX_SIZE];

        if (j->r < 0) {
                reply_error_h(req, j->r == -EINVAL ? 400 : 500, NULL, "%s", j->err.message);
                return;
        }
        int r = auth_key_store(a, j->master, now_ms(), &err);
        if (r < 0) {
                reply_error_h(req, r == -EEXIST ? 403 : 500, NULL, "%s", err.message);
                return;
        }
        log_info("auth: master key created");
        pending_keys_catch_up(a);
        r = auth_session_create(a, j->client, now_ms(), token);
        if (r < 0) {
                reply_error_h(req, 500, NULL,
                              "the master key was created but no session could be stored (%s): "
                              "log in with the password",
                              strerror(-r));
                return;
        }
        /* Built by hand in locked memory, so the phrase is not left in
         * jansson's heap; MHD keeps one copy until the reply is sent. */
        _cleanup_secure_ char *body = secure_alloc(SECRET_REPLY_MAX);
        size_t n = (size_t)snprintf(body, SECRET_REPLY_MAX, "{\"success\":true,\"seedPhrase\":[");
        const char *w = j->master->mnemonic;
        for (bool first = true; *w; first = false) {
                size_t len = strcspn(w, " ");
                n += (size_t)snprintf(body + n, SECRET_REPLY_MAX - n, "%s\"%.*s\"",
                                      first ? "" : ",", (int)len, w);
                w += len;
                w += *w == ' ';
        }
        n += (size_t)snprintf(body + n, SECRET_REPLY_MAX - n, "],\"token\":\"%s\"}", token);
        sodium_memzero(token, sizeof(token));
        const char *h[] = {"Cache-Control", "no-store", NULL};
        api_reply_bytes(req, 200, "application/json", body, MIN(n, (size_t)SECRET_REPLY_MAX - 1),
                        h);
}

static void done_change(struct auth *a, struct auth_job *j)
{
        struct api_req *req = j->req;
        struct dbx_error err = {0};
        char token[KEYS_TOKEN_HEX_SIZE];

        if (j->generation != a->generation) {
                reply_error_h(req, 409, NULL,
                              "the password was changed meanwhile by another request: check "
                              "and try again");
                return;
        }
        if (j->r < 0) {
                const char *p = j->err.path;
                if (streq(p, "vault") || streq(p, "password_hash") || streq(p, "master_pub") ||
                    j->r == -ENOMEM) {
                        log_error("auth: password change failed: %s", j->err.message);
                        reply_error_h(req, 500, NULL, "Failed to change password: %s",
                                      j->err.message);
                } else if (streq(p, "new_password")) {
                        reply_error_h(req, 400, NULL, "new_password: %s", j->err.message);
                } else {
                        auth_ratelimit_fail(a->ratelimit, j->rl_key, now_ms());
                        log_warn("auth: failed password change from %s", j->client);
                        if (j->password[0])
                                reply_error_h(req, 403, NULL,
                                              "Invalid credentials: current_password is "
                                              "incorrect");
                        else
                                reply_error_h(req, 403, NULL, "Invalid recovery phrase: %s",
                                              j->err.message);
                }
                return;
        }
        int r = auth_credentials_replace(a, &j->new_cred, now_ms(), &err);
        if (r < 0) {
                reply_error_h(req, 500, NULL, "Failed to change password: %s", err.message);
                return;
        }
        auth_ratelimit_success(a->ratelimit, j->rl_key);
        log_info("auth: password changed (%s); every session revoked",
                 j->password[0] ? "with the current password" : "with the recovery phrase");
        /* Every session is gone, the caller's too; over TCP the caller
         * proved the password (or phrase) and gets a fresh one, which
         * dpanel takes from the reply. */
        if (j->via_admin || auth_session_create(a, j->client, now_ms(), token) < 0) {
                reply_json_headers(req, 200, json_pack("{s:b}", "success", 1), NULL);
                return;
        }
        reply_json_headers(req, 200, json_pack("{s:b,s:s}", "success", 1, "token", token), NULL);
        sodium_memzero(token, sizeof(token));
}

static void job_done(void *data)
{
        struct auth_job *j = data;
        struct auth *a = j->auth;
        if (a) {
                job_unlink(a, j);
                switch (j->kind) {
                case JOB_LOGIN:
                        done_login(a, j);
                        break;
                case JOB_CREATE:
                        done_create(a, j);
                        break;
                case JOB_CHANGE:
                        done_change(a, j);
                        break;
                }
        }
        job_free(j);
}

/* --- Login --------------------------------------------------------------- */

/* Copy a password out of the request into the job; false (and a reply)
 * if it is absent, not a string or too long. */
static bool take_password(struct api_req *req, json_t *body, const char *key, char *out,
                          bool connect, bool required)
{
        json_t *v = json_object_iget(body, key);
        const char *msg = NULL;
        if ((!v || json_is_null(v)) && !required)
                return true;
        if (v && !json_is_string(v) && !json_is_null(v))
                msg = "must be a string";
        else if (!v || json_is_null(v) || json_string_length(v) == 0)
                msg = "must not be empty";
        else if (json_string_length(v) > KEYS_PASSWORD_MAX ||
                 memchr(json_string_value(v), 0, json_string_length(v)))
                msg = "is longer than the accepted maximum or contains NUL";
        if (msg) {
                if (connect)
                        reply_connect_error(req, 400, "invalid_argument", NULL,
                                            streq(msg, "must not be empty")
                                                ? "password must not be empty"
                                                : "password is not a valid string");
                else
                        reply_error_h(req, streq(msg, "must be a string") ? 400 : 403, NULL,
                                      "%s %s", key, msg);
                return false;
        }
        memcpy(out, json_string_value(v), json_string_length(v) + 1);
        wipe_json_string(v);
        return true;
}

static void login_start(struct api_ctx *ctx, struct api_req *req, bool connect)
{
        struct auth *a = ctx->auth;
        _cleanup_json_ json_t *body = NULL;
        struct dbx_error err = {0};
        char key[AUTH_RL_KEY_MAX];

        if (connect) {
                const char *ct = api_req_header(req, "Content-Type");
                if (ct && strncasecmp(ct, "application/json", 16) != 0) {
                        reply_connect_error(req, 415, "unimplemented", NULL,
                                            "only the Connect JSON codec is supported: send "
                                            "Content-Type: application/json");
                        return;
                }
                if (json_parse_bounded(req->body ? req->body : "", req->body_len, JSON_DEPTH_MAX,
                                       true, &body, &err) < 0) {
                        reply_connect_error(req, 400, "invalid_argument", NULL, err.message);
                        return;
                }
        } else {
                body = api_req_json(req);
                if (!body)
                        return;
        }
        auth_ratelimit_key(req->remote, key);
        uint64_t wait = auth_ratelimit_wait(a->ratelimit, key, now_ms());
        if (wait) {
                wipe_body(req);
                reply_too_many(req, connect, wait);
                return;
        }
        if (!a->has_key) {
                const char *msg =
                    "no master key yet: finish setup first (POST /keys/create-master)";
                if (connect)
                        reply_connect_error(req, 400, "failed_precondition", NULL, msg);
                else
                        reply_error_h(req, 409, NULL, "%s", msg);
                return;
        }
        struct auth_job *j = job_new(ctx, req, JOB_LOGIN);
        j->connect = connect;
        if (!take_password(req, body, "password", j->password, connect, true)) {
                wipe_body(req);
                job_free(j);
                return;
        }
        wipe_body(req);
        j->cred = a->cred;
        j->want_parent = auth_parent_needs_repair(a);
        job_submit(req, j, work_login);
}

static void post_authenticate(struct api_ctx *ctx, struct api_req *req)
{
        login_start(ctx, req, false);
}

static void post_connect_authenticate(struct api_ctx *ctx, struct api_req *req)
{
        login_start(ctx, req, true);
}

/* POST /logout [{"all": true}]: this session, or every session ("sign out
 * everywhere", ours). An empty body is fine, as dpanel strips `{}`. */
static void post_logout(struct api_ctx *ctx, struct api_req *req)
{
        _cleanup_json_ json_t *body = NULL;
        size_t ws = req->body ? strspn(req->body, " \t\r\n") : 0;
        bool all = false;
        if (req->body && ws < req->body_len) {
                if (!(body = api_req_json(req)))
                        return;
                json_t *v = json_object_iget(body, "all");
                if (v && !json_is_boolean(v)) {
                        reply_error_h(req, 400, NULL, "all must be true or false");
                        return;
                }
                all = json_is_true(v);
        }
        if (!req->session && !(all && req->via_admin)) {
                reply_error_h(req, 400, NULL,
                              "no session to log out: send its token in Authorization: Bearer");
                return;
        }
        if (all) {
                int r = auth_sessions_revoke_all(ctx->auth);
                req->session = NULL;
                if (r < 0) {
                        reply_error_h(req, 500, NULL, "cannot revoke the sessions: %s",
                                      strerror(-r));
                        return;
                }
                api_reply_json(req, 200, json_pack("{s:b}", "success", 1));
                return;
        }
        auth_session_revoke(ctx->auth, req->session);
        req->session = NULL;
        api_reply_json(req, 200, json_pack("{s:b}", "success", 1));
}

/* --- Password change ----------------------------------------------------- */

/* The recovery phrase as a string ("w1 w2 ..." or "w1,w2,...") or an array
 * of words, into out (BIP39_INPUT_MAX). false and a reply if malformed. */
static bool take_seedphrase(struct api_req *req, json_t *body, char *out)
{
        json_t *v = json_object_iget(body, "seedphrase");
        size_t n = 0;
        if (!v || json_is_null(v))
                return true;
        if (json_is_string(v)) {
                if (json_string_length(v) > BIP39_INPUT_MAX) {
                        reply_error_h(req, 400, NULL, "seedphrase is longer than %d characters",
                                      BIP39_INPUT_MAX);
                        return false;
                }
                memcpy(out, json_string_value(v), json_string_length(v) + 1);
                wipe_json_string(v);
                return true;
        }
        if (!json_is_array(v)) {
                reply_error_h(req, 400, NULL,
                              "seedphrase must be a string of words or an array of words");
                return false;
        }
        size_t i;
        json_t *w;
        json_array_foreach(v, i, w)
        {
                if (!json_is_string(w)) {
                        reply_error_h(req, 400, NULL, "seedphrase[%zu] must be a string", i);
                        return false;
                }
                size_t len = json_string_length(w);
                if (n + len + 2 > BIP39_INPUT_MAX) {
                        reply_error_h(req, 400, NULL, "seedphrase is longer than %d characters",
                                      BIP39_INPUT_MAX);
                        return false;
                }
                if (n)
                        out[n++] = ' ';
                memcpy(out + n, json_string_value(w), len);
                n += len;
                out[n] = 0;
                wipe_json_string(w);
        }
        return true;
}

static void post_change_password(struct api_ctx *ctx, struct api_req *req)
{
        struct auth *a = ctx->auth;
        struct dbx_error err = {0};
        char key[AUTH_RL_KEY_MAX];
        _cleanup_json_ json_t *body = api_req_json(req);
        if (!body)
                return;
        if (!a->has_key) {
                wipe_body(req);
                reply_error_h(req, 400, NULL, "Master key not created");
                return;
        }
        if (a->key_busy) {
                wipe_body(req);
                reply_error_h(req, 409, NULL, "another password change is in progress");
                return;
        }
        auth_ratelimit_key(req->remote, key);
        uint64_t wait = auth_ratelimit_wait(a->ratelimit, key, now_ms());
        if (wait) {
                wipe_body(req);
                reply_too_many(req, false, wait);
                return;
        }
        struct auth_job *j = job_new(ctx, req, JOB_CHANGE);
        json_t *np = json_object_iget(body, "new_password");
        if (np && !json_is_string(np) && !json_is_null(np)) {
                reply_error_h(req, 400, NULL, "new_password must be a string");
                goto fail;
        }
        if (keys_password_check(np ? json_string_value(np) : NULL, "new_password", &err) < 0) {
                reply_error_h(req, 400, NULL,
                              "New password cannot be empty or longer than %d "
                              "bytes (%s)",
                              KEYS_PASSWORD_MAX, err.message);
                goto fail;
        }
        memcpy(j->new_password, json_string_value(np), json_string_length(np) + 1);
        wipe_json_string(np);
        json_t *cp = json_object_iget(body, "current_password");
        if (cp && !json_is_string(cp) && !json_is_null(cp)) {
                reply_error_h(req, 400, NULL, "current_password must be a string");
                goto fail;
        }
        if (json_is_string(cp) && json_string_length(cp) > 0 &&
            !take_password(req, body, "current_password", j->password, false, true))
                goto fail;
        if (!j->password[0] && !take_seedphrase(req, body, j->seedphrase))
                goto fail;
        if (!j->password[0] && !j->seedphrase[0]) {
                reply_error_h(req, 400, NULL,
                              "Either current_password or seedphrase must be provided");
                goto fail;
        }
        wipe_body(req);
        j->cred = a->cred;
        snprintf(j->master_pub, sizeof(j->master_pub), "%s", a->master_pub);
        job_submit(req, j, work_change);
        return;
fail:
        wipe_body(req);
        job_free(j);
}

/* --- Keys and setup ------------------------------------------------------ */

static void get_keys(struct api_ctx *ctx, struct api_req *req)
{
        struct auth *a = ctx->auth;
        json_t *keys = json_array();
        if (a->has_key) {
                char ts[40];
                time_rfc3339(a->key_created_ms, ts);
                json_array_append_new(keys,
                                      json_pack("{s:s,s:s}", "type", "master", "created", ts));
        }
        api_reply_json(req, 200, json_pack("{s:o}", "keys", keys));
}

static void post_create_master(struct api_ctx *ctx, struct api_req *req)
{
        struct auth *a = ctx->auth;
        _cleanup_json_ json_t *body = api_req_json(req);
        if (!body)
                return;
        if (a->has_key) {
                wipe_body(req);
                reply_error_h(req, 403, NULL, "A master key already exists");
                return;
        }
        if (a->key_busy) {
                wipe_body(req);
                reply_error_h(req, 409, NULL, "the master key is being created by another request");
                return;
        }
        json_t *pw = json_object_iget(body, "password");
        if (pw && !json_is_string(pw) && !json_is_null(pw)) {
                wipe_body(req);
                reply_error_h(req, 400, NULL, "password must be a string");
                return;
        }
        if (!pw || json_is_null(pw) || json_string_length(pw) == 0) {
                wipe_body(req);
                reply_error_h(req, 400, NULL, "Password cannot be empty");
                return;
        }
        if (json_string_length(pw) > KEYS_PASSWORD_MAX ||
            memchr(json_string_value(pw), 0, json_string_length(pw))) {
                wipe_body(req);
                reply_error_h(req, 400, NULL,
                              "password must be at most %d bytes and contain no NUL",
                              KEYS_PASSWORD_MAX);
                return;
        }
        struct auth_job *j = job_new(ctx, req, JOB_CREATE);
        memcpy(j->password, json_string_value(pw), json_string_length(pw) + 1);
        wipe_json_string(pw);
        wipe_body(req);
        job_submit(req, j, work_create);
}

static void get_recovery_bootstrap(struct api_ctx *ctx, struct api_req *req)
{
        /* Not an installer: the system is on its disk ("rw") and installed;
         * "unconfigured" sends the setup UI straight to configuration. */
        api_reply_json(req, 200,
                       json_pack("{s:{s:s,s:s}}", "recoveryFacts", "installationBootMedia", "rw",
                                 "installationState",
                                 ctx->auth->setup_done ? "configured" : "unconfigured"));
}

static bool ssh_key_ok(const char *k)
{
        static const char *const types[] = {
            "ssh-ed25519 ",
            "ssh-rsa ",
            "ecdsa-sha2-nistp256 ",
            "ecdsa-sha2-nistp384 ",
            "ecdsa-sha2-nistp521 ",
            "sk-ssh-ed25519@openssh.com ",
            "sk-ecdsa-sha2-nistp256@openssh.com ",
        };
        const char *p = NULL;
        for (size_t i = 0; i < ARRAY_SIZE(types) && !p; i++)
                if (strncmp(k, types[i], strlen(types[i])) == 0)
                        p = k + strlen(types[i]);
        if (!p)
                return false;
        size_t b64 = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=");
        if (b64 < 16 || (p[b64] && p[b64] != ' '))
                return false;
        for (const char *c = p + b64; *c; c++)
                if ((unsigned char)*c < 0x20 || *c == 0x7f)
                        return false;
        return true;
}

static bool printable(const char *s)
{
        for (; *s; s++)
                if ((unsigned char)*s < 0x20 || *s == 0x7f)
                        return false;
        return true;
}

#ifdef HAVE_ROUTES_SOURCES
static void initial_source_added(void *userdata, int r, const char *source_id,
                                 const struct dbx_error *err)
{
        _cleanup_free_ char *location = userdata;
        if (r < 0)
                log_warn("auth: initial source %s not added: %s", location,
                         err && err->code ? err->message : strerror(-r));
        else
                log_info("auth: initial source %s added as %s", location, source_id);
}
#endif

/* Hand the initial sources to the sources module (loaded in the
 * background; a failure is logged, setup stays complete). They are also
 * kept in the setting setup.initialSources. */
static void add_initial_sources(struct api_ctx *ctx, json_t *sources)
{
#ifdef HAVE_ROUTES_SOURCES
        size_t i;
        json_t *v;
        if (!ctx->sources)
                return;
        json_array_foreach(sources, i, v)
        {
                struct dbx_error err = {0};
                struct sources_add_args args = {.location = json_string_value(v)};
                char *loc = xstrdup(args.location);
                int r = sources_add(ctx->sources, &args, initial_source_added, loc, &err);
                if (r < 0) {
                        if (r != -EEXIST)
                                log_warn("auth: initial source %s not added: %s", loc, err.message);
                        free(loc);
                }
        }
#else
        (void)ctx;
        (void)sources;
#endif
}

/* POST /system/bootstrap: finish setup. Synchronous here (no OS to
 * rebuild, no reboot), so there is no job: jobId is null. */
static void post_bootstrap(struct api_ctx *ctx, struct api_req *req)
{
        struct auth *a = ctx->auth;
        struct dbx_error err = {0};
        _cleanup_json_ json_t *body = NULL;
        const char *rtoken = NULL, *rhost = NULL, *ssh_in = NULL;
        bool os_cache = false, pup_cache = false;
        _cleanup_free_ char *ssh = NULL;

        if (a->setup_done) {
                reply_error_h(req, 403, NULL, "System has already been initialised");
                return;
        }
        if (!a->has_key) {
                reply_error_h(req, 403, NULL,
                              "System not ready to initialise: create the master key first "
                              "(POST /keys/create-master)");
                return;
        }
        /* dpanel strips {} bodies: an empty body is an empty object. */
        size_t ws = req->body ? strspn(req->body, " \t\r\n") : 0;
        if (!req->body || ws == req->body_len)
                body = json_object();
        else if (!(body = api_req_json(req)))
                return;
        if (json_iget_string(body, "reflectorToken", &rtoken, &err) < 0 ||
            json_iget_string(body, "reflectorHost", &rhost, &err) < 0 ||
            json_iget_string(body, "initialSSHKey", &ssh_in, &err) < 0 ||
            json_iget_bool(body, "useFoundationOSBinaryCache", &os_cache, &err) < 0 ||
            json_iget_bool(body, "useFoundationPupBinaryCache", &pup_cache, &err) < 0) {
                reply_error_h(req, 400, NULL, "%s: %s", err.path, err.message);
                return;
        }
        if ((rtoken && (strlen(rtoken) > REFLECTOR_FIELD_MAX || !printable(rtoken))) ||
            (rhost && (strlen(rhost) > REFLECTOR_FIELD_MAX || !printable(rhost)))) {
                reply_error_h(req, 400, NULL,
                              "reflectorToken and reflectorHost must be printable and at most "
                              "%d characters",
                              REFLECTOR_FIELD_MAX);
                return;
        }
        if (ssh_in && *ssh_in) {
                if (strlen(ssh_in) > SSH_KEY_MAX) {
                        reply_error_h(req, 400, NULL, "initialSSHKey is longer than %d characters",
                                      SSH_KEY_MAX);
                        return;
                }
                /* As upstream: CR and LF are stripped; then one OpenSSH line. */
                ssh = xstrdup(ssh_in);
                char *o = ssh;
                for (const char *c = ssh_in; *c; c++)
                        if (*c != '\r' && *c != '\n')
                                *o++ = *c;
                *o = 0;
                while (o > ssh && o[-1] == ' ')
                        *--o = 0;
                if (!ssh_key_ok(ssh)) {
                        reply_error_h(req, 400, NULL,
                                      "initialSSHKey is not an OpenSSH public key line "
                                      "('ssh-ed25519 AAAA... comment', or ssh-rsa, ecdsa-sha2-*, "
                                      "sk-*)");
                        return;
                }
        }
        json_t *src = json_object_iget(body, "sources");
        _cleanup_json_ json_t *sources = json_array();
        if (!src || json_is_null(src)) {
                json_array_append_new(sources, json_string(DEFAULT_SOURCE));
        } else if (!json_is_array(src) || json_array_size(src) > SETUP_SOURCES_MAX) {
                reply_error_h(req, 400, NULL,
                              "sources must be an array of at most %d source locations",
                              SETUP_SOURCES_MAX);
                return;
        } else {
                size_t i;
                json_t *v;
                json_array_foreach(src, i, v)
                {
                        const char *s = json_string_value(v);
                        if (!s || !*s || strlen(s) > SOURCE_LOCATION_MAX || !printable(s)) {
                                reply_error_h(req, 400, NULL,
                                              "sources[%zu] must be a non-empty location (URL, "
                                              "git repository or local path) of at most %d "
                                              "printable characters",
                                              i, SOURCE_LOCATION_MAX);
                                return;
                        }
                        json_array_append(sources, v);
                }
        }

        /* One transaction: the facts other modules pick up, then the flag. */
        int r = store_begin(ctx->store);
        _cleanup_free_ char *src_s = json_dump_compact(sources);
        if (r >= 0)
                r = store_setting_set(ctx->store, "setup.initialSources", src_s);
        if (r >= 0 && ((rhost && *rhost) || (rtoken && *rtoken))) {
                _cleanup_json_ json_t *rf = json_pack("{s:s,s:s}", "host", rhost ? rhost : "",
                                                      "token", rtoken ? rtoken : "");
                _cleanup_free_ char *s = json_dump_compact(rf);
                r = store_setting_set(ctx->store, "setup.reflector", s);
        }
        if (r >= 0 && ssh) {
                char id[17], ts[40];
                uint8_t b[8];
                random_bytes(b, sizeof(b));
                hex_encode(b, sizeof(b), id);
                time_rfc3339(now_ms(), ts);
                _cleanup_json_ json_t *keys =
                    json_pack("[{s:s,s:s,s:s}]", "id", id, "dateAdded", ts, "key", ssh);
                _cleanup_free_ char *s = json_dump_compact(keys);
                r = store_setting_set(ctx->store, "ssh.keys", s);
        }
        if (r >= 0)
                r = store_setting_set(ctx->store, "setup.hasCompletedInitialConfiguration", "1");
        if (r >= 0)
                r = store_commit(ctx->store);
        if (r < 0) {
                store_rollback(ctx->store);
                reply_error_h(req, 500, NULL, "database: cannot record setup: %s", strerror(-r));
                return;
        }
        a->setup_done = true;
        log_info("auth: initial setup complete");
        add_initial_sources(ctx, sources);
        pending_keys_catch_up(a);
        api_reply_json(req, 200, json_pack("{s:b,s:n}", "success", 1, "jobId"));
}

/* --- Routes for upstream's own OS ---------------------------------------- */

/* Upstream's daemon also configures the NixOS it ships with. This one runs
 * on a general-purpose Linux whose own tools own these: 501 with where to
 * look instead. */
static const struct unmanaged {
        const char *method, *pattern;
        unsigned flags;
        const char *what, *instead;
} unmanaged[] = {
    {"GET", "/system/disks", ROUTE_SETUP, "disks", "the host OS manages disks"},
    {"GET", "/system/install-disks", ROUTE_SETUP, "installing to disk",
     "install the host OS with its own installer"},
    {"POST", "/system/install", ROUTE_SETUP, "installing to disk",
     "install the host OS with its own installer"},
    {"POST", "/system/storage", ROUTE_SETUP, "the storage device",
     "pup data lives in the daemon's data directory (--data-dir)"},
    {"GET", "/system/keymaps", ROUTE_SETUP, "the keyboard layout", "use localectl on the host"},
    {"GET", "/system/keymap", 0, "the keyboard layout", "use localectl on the host"},
    {"POST", "/system/keymap", ROUTE_SETUP, "the keyboard layout", "use localectl on the host"},
    {"GET", "/system/timezones", ROUTE_SETUP, "the time zone", "use timedatectl on the host"},
    {"GET", "/system/timezone", 0, "the time zone", "use timedatectl on the host"},
    {"POST", "/system/timezone", ROUTE_SETUP, "the time zone", "use timedatectl on the host"},
    {"POST", "/system/hostname", ROUTE_SETUP, "the host name", "use hostnamectl on the host"},
    {"GET", "/system/network/list", ROUTE_SETUP, "networking (Wi-Fi, Ethernet)",
     "the host OS manages networks (e.g. nmcli)"},
    {"PUT", "/system/network/set-pending", ROUTE_SETUP, "networking (Wi-Fi, Ethernet)",
     "the host OS manages networks (e.g. nmcli)"},
    {"POST", "/system/network/test", 0, "networking (Wi-Fi, Ethernet)",
     "the host OS manages networks (e.g. nmcli)"},
    {"PUT", "/system/network/test", 0, "networking (Wi-Fi, Ethernet)",
     "the host OS manages networks (e.g. nmcli)"},
    {"POST", "/system/network/connect", 0, "networking (Wi-Fi, Ethernet)",
     "the host OS manages networks (e.g. nmcli)"},
};

static void not_managed(struct api_ctx *ctx, struct api_req *req)
{
        const struct route *rt = req->match.route;
        for (size_t i = 0; i < ARRAY_SIZE(unmanaged); i++)
                if (streq(unmanaged[i].pattern, rt->pattern) &&
                    streq(unmanaged[i].method, rt->method)) {
                        reply_error_h(req, 501, NULL,
                                      "%s is not managed by this daemon: dogeboxd runs on a "
                                      "general-purpose Linux system, and %s",
                                      unmanaged[i].what, unmanaged[i].instead);
                        return;
                }
        reply_error_h(req, 501, NULL, "%s %s is not managed by this daemon", req->method,
                      rt->pattern);
}

/* --- Test hooks ---------------------------------------------------------- */

#if DBX_TEST_HOOKS
/* Every route the daemon registered, so a test can prove each one is
 * guarded. */
static void get_test_routes(struct api_ctx *ctx, struct api_req *req)
{
        json_t *list = json_array();
        for (size_t i = 0; i < router_count(ctx->router); i++) {
                const struct route *rt = router_get(ctx->router, i);
                json_array_append_new(
                    list, json_pack("{s:s?,s:s,s:b,s:b,s:b}", "method", rt->method, "pattern",
                                    rt->pattern, "open", !!(rt->flags & ROUTE_OPEN), "setup",
                                    !!(rt->flags & ROUTE_SETUP), "ws", !!(rt->flags & ROUTE_WS)));
        }
        api_reply_json(req, 200, json_pack("{s:o}", "routes", list));
}

static int pup_from_json(json_t *o, struct auth_pup_ref *p, struct dbx_error *err)
{
        long long uid = -1, gid = -1;
        if (json_iget_string(o, "pupId", &p->id, err) < 0 ||
            json_iget_string(o, "storageDir", &p->storage_dir, err) < 0 ||
            json_iget_int(o, "uid", &uid, err) < 0 || json_iget_int(o, "gid", &gid, err) < 0)
                return -EINVAL;
        p->uid = (uid_t)uid;
        p->gid = (gid_t)gid;
        return 0;
}

/* Test builds only: what the lifecycle does at install. */
static void post_test_pup_keys(struct api_ctx *ctx, struct api_req *req)
{
        struct dbx_error err = {0};
        struct auth_pup_ref p = {0};
        _cleanup_json_ json_t *body = api_req_json(req);
        if (!body)
                return;
        if (pup_from_json(body, &p, &err) < 0) {
                reply_error_h(req, 400, NULL, "%s: %s", err.path, err.message);
                return;
        }
        int r = auth_pup_keys_write(ctx->auth, p.id, p.storage_dir, p.uid, p.gid, &err);
        if (r < 0) {
                reply_error_h(req, r == -EAGAIN ? 409 : 400, NULL, "%s", err.message);
                return;
        }
        api_reply_json(req, 200, json_pack("{s:b}", "written", 1));
}

static int test_pups_enum(void *userdata, auth_pup_emit_fn emit, void *emit_ctx)
{
        json_t *list = userdata;
        size_t i;
        json_t *o;
        json_array_foreach(list, i, o)
        {
                struct auth_pup_ref p = {0};
                if (pup_from_json(o, &p, NULL) == 0)
                        emit(emit_ctx, &p);
        }
        return 0;
}

/* Test builds only: stand in for the pups table's enumerator. */
static void post_test_pups(struct api_ctx *ctx, struct api_req *req)
{
        _cleanup_json_ json_t *body = api_req_json(req);
        if (!body)
                return;
        json_t *pups = json_object_iget(body, "pups");
        if (!json_is_array(pups)) {
                reply_error_h(req, 400, NULL, "pups must be an array");
                return;
        }
        json_decref(ctx->auth->test_pups);
        ctx->auth->test_pups = json_incref(pups);
        auth_set_pup_enumerator(ctx->auth, test_pups_enum, ctx->auth->test_pups);
        api_reply_json(req, 200, json_pack("{s:I}", "pups", (json_int_t)json_array_size(pups)));
}
#endif

/* --- Registration -------------------------------------------------------- */

int routes_auth_register(struct api_ctx *ctx)
{
        struct dbx_error err = {0};
        int r = auth_new(ctx->store, ctx->event, ctx->data_dir, &ctx->auth, &err);
        if (r < 0) {
                log_error("auth: %s%s%s", err.path, err.path[0] ? ": " : "", err.message);
                return r;
        }
        r |= api_route(ctx, "POST", "/authenticate", post_authenticate, ROUTE_OPEN);
        r |= api_route(ctx, "POST", CONNECT_AUTHENTICATE, post_connect_authenticate, ROUTE_OPEN);
        r |= api_route(ctx, "POST", "/logout", post_logout, 0);
        r |= api_route(ctx, "POST", "/change-password", post_change_password, 0);
        r |= api_route(ctx, "GET", "/keys", get_keys, ROUTE_SETUP);
        r |= api_route(ctx, "POST", "/keys/create-master", post_create_master, ROUTE_SETUP);
        r |= api_route(ctx, "POST", "/system/bootstrap", post_bootstrap, ROUTE_SETUP);
        r |= api_route(ctx, "GET", "/system/recovery-bootstrap", get_recovery_bootstrap,
                       ROUTE_SETUP);
        for (size_t i = 0; i < ARRAY_SIZE(unmanaged); i++)
                r |= api_route(ctx, unmanaged[i].method, unmanaged[i].pattern, not_managed,
                               unmanaged[i].flags);
#if DBX_TEST_HOOKS
        r |= api_route(ctx, "GET", "/test/routes", get_test_routes, 0);
        r |= api_route(ctx, "POST", "/test/pup-keys", post_test_pup_keys, 0);
        r |= api_route(ctx, "POST", "/test/pups", post_test_pups, 0);
#endif
        return r < 0 ? -EINVAL : 0;
}

void routes_auth_free(struct api_ctx *ctx)
{
        struct auth *a = ctx->auth;
        if (!a)
                return;
        /* Work still in the pool finishes after us (workpool_free runs its
         * done callbacks): detach it, and answer its request now. */
        for (struct auth_job *j = a->jobs; j; j = j->next) {
                j->auth = NULL;
                if (j->connect)
                        reply_connect_error(j->req, 503, "unavailable", NULL,
                                            "dogeboxd is stopping");
                else
                        reply_error_h(j->req, 503, NULL, "dogeboxd is stopping");
                j->req = NULL;
        }
        a->jobs = NULL;
#if DBX_TEST_HOOKS
        json_decref(a->test_pups);
#endif
        ctx->auth = auth_free(a);
}
