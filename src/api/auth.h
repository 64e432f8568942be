/* Owner authentication (docs/api.md, "Authentication"): setup state, the
 * stored parts of the master key, sessions, failed-login rate limiting and
 * per-pup delegate keys.
 *
 * Three layers:
 *  - pure tables (auth_table.c): the session table and the rate limiter.
 *    No I/O, no clock: callers pass the time. Unit-tested.
 *  - struct auth (auth.c): owns the tables, the key and session rows in
 *    SQLite, the delegate parent file and the pup key files. Runs on the
 *    loop thread only (the store connection is single-threaded) and never
 *    runs Argon2id.
 *  - the HTTP layer (routes_auth.c): routes, the per-request check called
 *    by api_dispatch(), and the Argon2id work, which it runs in the worker
 *    pool (ctx->pool) while the request is suspended.
 *
 * Sessions live in memory (a check costs a BLAKE2b of the token and one
 * hash-table probe, well under a microsecond) and are mirrored to SQLite
 * only on change: login, logout, revocation, and last-used times at
 * AUTH_TOUCH_GRANULARITY_MS granularity. They survive a restart. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>
#include "core/error.h"
#include "keys/keys.h"
#include "store/store.h"

/* --- Limits and defaults ------------------------------------------------ */

/* Session lifetimes. Idle: a session unused this long is gone (a phone left
 * logged in overnight is still logged in the next morning, a forgotten
 * browser tab is not after a day). Absolute: even a session in constant use
 * needs the password again after a week, so a stolen token has a bounded
 * life. Both are settings (auth.sessionIdleSeconds,
 * auth.sessionLifetimeSeconds), read at start. */
#define AUTH_IDLE_DEFAULT_S     (24 * 3600)
#define AUTH_LIFETIME_DEFAULT_S (7 * 24 * 3600)
#define AUTH_TIMEOUT_MIN_S      1                 /* tests use seconds */
#define AUTH_TIMEOUT_MAX_S      (365 * 24 * 3600) /* a year: beyond is "never" */
/* Live sessions. One owner with a few browsers and a dbx or two; the cap
 * bounds memory and what a stolen password can mint. At the cap, a login
 * evicts the least recently used session (the owner can always log in).
 * Setting auth.sessionsMax. */
#define AUTH_SESSIONS_DEFAULT 32
#define AUTH_SESSIONS_LIMIT   1024
/* last-used times reach SQLite at most this often per session (or at a
 * quarter of the idle timeout if that is shorter), so a restart may expire
 * an idle session up to this much early; requests never wait for a write. */
#define AUTH_TOUCH_GRANULARITY_MS (60 * 1000)
/* Expired sessions are dropped from memory and SQLite by a timer this often
 * (or every half idle timeout if that is shorter, at most once a second),
 * and on lookup. */
#define AUTH_SWEEP_INTERVAL_MS (60 * 1000)
#define AUTH_CLIENT_MAX        64 /* client address kept with a session */

/* Failed-login rate limiting, per client address (IPv6: per /64, the
 * smallest block a host is usually given). The first AUTH_RL_FREE_FAILURES
 * failures cost nothing (typos); after failure k the address must wait
 * AUTH_RL_DELAY_BASE_MS * 2^(k - AUTH_RL_FREE_FAILURES), capped at
 * AUTH_RL_DELAY_MAX_MS, answered 429 with Retry-After. A success forgets the
 * address; so does AUTH_RL_FORGET_MS without a failure. */
#define AUTH_RL_FREE_FAILURES 3
#define AUTH_RL_DELAY_BASE_MS 1000
#define AUTH_RL_DELAY_MAX_MS  (15 * 60 * 1000)
#define AUTH_RL_FORGET_MS     (24 * 3600 * 1000ULL)
#define AUTH_RL_ENTRIES_MAX   1024 /* addresses tracked; the oldest is evicted */
#define AUTH_RL_KEY_MAX       64

/* Password work (Argon2id, 64 MiB each) running at once: one per core of
 * the small boards this runs on. More concurrent logins get 503, so a burst
 * cannot push the box into swap or the OOM killer. */
#define AUTH_HASH_CONCURRENCY 2

/* --- Session table (pure) ------------------------------------------------ */

struct auth_session {
        uint8_t hash[KEYS_TOKEN_HASH_SIZE]; /* keys_token_hash() of the token */
        uint64_t created_ms;                /* unix ms */
        uint64_t last_used_ms;
        uint64_t persisted_ms; /* last_used_ms as last written to SQLite */
        char client[AUTH_CLIENT_MAX];
};

struct auth_sessions;

/* A table for at most max sessions (1..AUTH_SESSIONS_LIMIT). */
struct auth_sessions *auth_sessions_new(size_t max);
struct auth_sessions *auth_sessions_free(struct auth_sessions *t);
size_t auth_sessions_count(const struct auth_sessions *t);
size_t auth_sessions_max(const struct auth_sessions *t);
/* Insert a copy of s. When the table is full, the least recently used
 * session is evicted first and copied to *ret_evicted (if not NULL); returns
 * 1 then, 0 otherwise, -EEXIST if the hash is already present. The returned
 * pointer in *ret (optional) stays valid until that session is removed. */
int auth_sessions_add(struct auth_sessions *t, const struct auth_session *s,
                      struct auth_session **ret, struct auth_session *ret_evicted);
/* Constant-time comparison of the full hash (the probe uses its first bytes,
 * which reveal nothing: the hash is keyed). NULL if absent. */
struct auth_session *auth_sessions_find(const struct auth_sessions *t,
                                        const uint8_t hash[KEYS_TOKEN_HASH_SIZE]);
/* Remove (and free) a session found in this table. */
void auth_sessions_remove(struct auth_sessions *t, struct auth_session *s);
void auth_sessions_clear(struct auth_sessions *t);
/* Iterate: *cursor starts at 0; NULL at the end. The table must not be
 * changed during an iteration (collect, then remove). */
struct auth_session *auth_sessions_next(const struct auth_sessions *t, size_t *cursor);

enum auth_session_state {
        AUTH_SESSION_VALID = 0,
        AUTH_SESSION_IDLE,    /* unused for longer than the idle timeout */
        AUTH_SESSION_EXPIRED, /* older than the absolute lifetime */
};

enum auth_session_state auth_session_state(const struct auth_session *s, uint64_t idle_ms,
                                           uint64_t lifetime_ms, uint64_t now_ms);

/* --- Rate limiter (pure) ------------------------------------------------- */

struct auth_ratelimit;

struct auth_ratelimit *auth_ratelimit_new(size_t max_entries);
struct auth_ratelimit *auth_ratelimit_free(struct auth_ratelimit *rl);
size_t auth_ratelimit_count(const struct auth_ratelimit *rl);
/* 0 if a login attempt from key may run now, else how many ms to wait. */
uint64_t auth_ratelimit_wait(struct auth_ratelimit *rl, const char *key, uint64_t now_ms);
/* Record a failure; returns the wait now imposed (0 for free failures). */
uint64_t auth_ratelimit_fail(struct auth_ratelimit *rl, const char *key, uint64_t now_ms);
void auth_ratelimit_success(struct auth_ratelimit *rl, const char *key);
/* The key for a client address: IPv4 and other strings as they are, IPv6
 * reduced to its /64 ("2001:db8:1:2::/64"). */
void auth_ratelimit_key(const char *remote, char out[AUTH_RL_KEY_MAX]);

/* --- The auth state ------------------------------------------------------ */

struct auth_config {
        uint64_t idle_ms;
        uint64_t lifetime_ms;
        size_t sessions_max;
};

/* Pups, as the lifecycle knows them, for writing keys that are due (pups
 * installed before the master key existed). The enumerator calls emit once
 * per installed pup and returns 0 or a negative errno; emit's return value
 * is informational (the enumerator should continue regardless). */
struct auth_pup_ref {
        const char *id;          /* [a-z0-9][a-z0-9-]*, as the pups table has it */
        const char *storage_dir; /* absolute: DATA/storage/<id> */
        uid_t uid;               /* the pup's mapped root on the host */
        gid_t gid;
};
typedef int (*auth_pup_emit_fn)(void *emit_ctx, const struct auth_pup_ref *pup);
typedef int (*auth_pup_enum_fn)(void *userdata, auth_pup_emit_fn emit, void *emit_ctx);

struct auth_job;

struct auth {
        struct store *store;
        sd_event *event;
        char *data_dir;
        char *parent_path; /* DATA/keys/delegate-parent */
        struct auth_config cfg;
        struct auth_sessions *sessions;
        struct auth_ratelimit *ratelimit;
        sd_event_source *sweep;
        /* The key store row (nothing secret: the seed is in the vault). */
        bool has_key, setup_done;
        struct keys_credentials cred;
        char master_pub[KEYS_PUB_HEX_SIZE];
        char parent_pub[KEYS_PUB_HEX_SIZE]; /* public key of the stored parent */
        uint64_t key_created_ms;
        uint64_t generation; /* bumps whenever the credentials change */
        auth_pup_enum_fn pup_enum;
        void *pup_enum_userdata;
        /* HTTP layer (routes_auth.c). */
        struct auth_job *jobs; /* Argon2id work in flight */
        unsigned hashing;      /* jobs in flight */
        bool key_busy;         /* create-master or change-password running */
        void *test_pups;       /* test hooks: the pups POST /test/pups gave */
};

/* Load config (settings), the key row and live sessions. event may be NULL
 * (no sweep timer: unit tests). Fails with err on a bad setting or a store
 * error. Makes dogebox.db (and its -wal/-shm) owner-only: it holds the
 * password hash, an offline-guessing target. */
int auth_new(struct store *store, sd_event *event, const char *data_dir, struct auth **ret,
             struct dbx_error *err);
struct auth *auth_free(struct auth *a);

/* Sessions. check: token as sent (64 hex); 0 and *ret, -ENOENT for an
 * unknown or malformed token, -ETIMEDOUT (idle) or -ESTALE (lifetime) for
 * a session that has just expired (it is removed). A valid check updates
 * last-used and writes it to SQLite when it is older than the granularity. */
int auth_session_check(struct auth *a, const char *token, uint64_t now_ms,
                       struct auth_session **ret);
int auth_session_create(struct auth *a, const char *client, uint64_t now_ms,
                        char token[KEYS_TOKEN_HEX_SIZE]);
int auth_session_revoke(struct auth *a, struct auth_session *s);
int auth_sessions_revoke_all(struct auth *a);
/* Drop expired sessions; returns how many. */
int auth_sessions_sweep(struct auth *a, uint64_t now_ms);

/* Store a new master key (after keys_master_create in a worker): the
 * delegate parent file first, then the key row and setup.hasGeneratedKey in
 * one transaction. -EEXIST if a key exists. */
int auth_key_store(struct auth *a, const struct keys_master *m, uint64_t now_ms,
                   struct dbx_error *err);
/* Replace the credentials after a password change and revoke every
 * session, in one transaction. */
int auth_credentials_replace(struct auth *a, const struct keys_credentials *c, uint64_t now_ms,
                             struct dbx_error *err);
/* The same password with the current hashing parameters (a login found
 * the stored hash weaker than KEYS_PWHASH_*): the credentials are
 * replaced, sessions stay. */
int auth_credentials_upgrade(struct auth *a, const struct keys_credentials *c, uint64_t now_ms,
                             struct dbx_error *err);
/* Whether the delegate parent file is missing or does not match the key
 * row (then the next login re-derives it from the vault). */
bool auth_parent_needs_repair(struct auth *a);
/* Write the delegate parent (re-derived from the vault); checked against
 * the stored public key. */
int auth_parent_store(struct auth *a, const char *parent, struct dbx_error *err);
/* Mark setup complete (POST /system/bootstrap). */
int auth_setup_complete(struct auth *a, struct dbx_error *err);

/* --- Per-pup delegate keys ---------------------------------------------- */

#define AUTH_PUP_KEY_FILE          "delegated.key"
#define AUTH_PUP_EXTENDED_KEY_FILE "delegated.extended.key"
#define AUTH_PUP_ID_MAX            64

/* Give a pup its delegate key m/1000'/2'/N': allocate N for pup_id (stable:
 * the same pup always gets the same N; N is never reused), derive it from
 * the delegate parent and write delegated.key and delegated.extended.key
 * into storage_dir, mode 0600, owned by uid:gid.
 *
 * storage_dir must be absolute and free of symlinks (it is opened with
 * RESOLVE_NO_SYMLINKS); the files are created under a temporary name with
 * O_EXCL|O_NOFOLLOW relative to that directory and renamed into place, so
 * a symlink or hard link the pup planted in its storage cannot redirect
 * the write.
 *
 * Returns 0, or -EAGAIN (err says so) when no master key exists yet: N is
 * then reserved and the keys are written when the owner creates the key,
 * for every pup the enumerator (auth_set_pup_enumerator) lists. Other
 * errors: -EINVAL (bad id or path), -ENOENT/-ENOTDIR (no storage dir),
 * -ELOOP (a symlink in the path), -EBADMSG (damaged parent). Loop thread
 * only (uses the store); costs ~0.2 ms of CPU plus two fsyncs. */
int auth_pup_keys_write(struct auth *a, const char *pup_id, const char *storage_dir, uid_t uid,
                        gid_t gid, struct dbx_error *err);

/* The lifecycle registers how to list installed pups. If a master key
 * exists, keys that are due are written at once (e.g. after a crash between
 * key creation and the catch-up); they are also written right after the
 * master key is created. */
void auth_set_pup_enumerator(struct auth *a, auth_pup_enum_fn fn, void *userdata);

/* Write keys for every listed pup that has none written yet. Returns the
 * number written; failures are added to errs (may be NULL) and do not stop
 * the others. -EAGAIN without a master key. */
int auth_pending_keys_write(struct auth *a, auth_pup_enum_fn fn, void *userdata,
                            struct dbx_errors *errs);

/* --- HTTP layer (routes_auth.c) ------------------------------------------ */

struct api_ctx;
struct api_req;

/* Called by api_dispatch() once a route matched: resolves the session token
 * (sets req->session to a struct auth_session valid for the synchronous
 * part of the handler only) and decides. Returns true to run the handler;
 * false after replying 401 itself. Policy (docs/api.md): the admin socket
 * and ROUTE_OPEN routes need nothing; ROUTE_SETUP routes are open until a
 * master key exists, and their GET/WebSocket routes until setup completes;
 * everything else needs a valid session. */
bool auth_request_allowed(struct api_ctx *ctx, struct api_req *req);
