/* struct auth: the key row, sessions and the delegate parent on disk, and
 * per-pup key files. Loop thread only; never runs Argon2id (routes_auth.c
 * does that in the worker pool). See auth.h and docs/api.md. */
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include "api/auth.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/macro.h"
#include "core/util.h"
#include "keys/secure.h"

#define PARENT_DIR  "keys"
#define PARENT_FILE "delegate-parent"
/* The stored parent is one dgpv string; anything larger is not ours. */
#define PARENT_FILE_MAX BIP32_XKEY_STR_MAX

/* --- Settings ------------------------------------------------------------ */

static int setting_u64(struct store *s, const char *key, uint64_t def, uint64_t min, uint64_t max,
                       uint64_t *ret, struct dbx_error *err)
{
        _cleanup_free_ char *v = NULL;
        int r = store_setting_get(s, key, &v);
        if (r == -ENOENT) {
                *ret = def;
                return 0;
        }
        if (r < 0)
                return dbx_error_set(err, r, key, "cannot read the setting: %s", strerror(-r));
        char *end;
        errno = 0;
        unsigned long long n = strtoull(v, &end, 10);
        if (!*v || *end || errno || v[0] == '-' || n < min || n > max)
                return dbx_error_set(err, -EINVAL, key,
                                     "setting '%.64s' is not a whole number from %llu to %llu", v,
                                     (unsigned long long)min, (unsigned long long)max);
        *ret = n;
        return 0;
}

static int load_config(struct store *s, struct auth_config *c, struct dbx_error *err)
{
        uint64_t idle, life, max;
        int r = setting_u64(s, "auth.sessionIdleSeconds", AUTH_IDLE_DEFAULT_S, AUTH_TIMEOUT_MIN_S,
                            AUTH_TIMEOUT_MAX_S, &idle, err);
        if (r >= 0)
                r = setting_u64(s, "auth.sessionLifetimeSeconds", AUTH_LIFETIME_DEFAULT_S,
                                AUTH_TIMEOUT_MIN_S, AUTH_TIMEOUT_MAX_S, &life, err);
        if (r >= 0)
                r = setting_u64(s, "auth.sessionsMax", AUTH_SESSIONS_DEFAULT, 1,
                                AUTH_SESSIONS_LIMIT, &max, err);
        if (r < 0)
                return r;
        c->idle_ms = idle * 1000;
        c->lifetime_ms = life * 1000;
        c->sessions_max = (size_t)max;
        return 0;
}

static uint64_t touch_granularity(const struct auth *a)
{
        return MIN((uint64_t)AUTH_TOUCH_GRANULARITY_MS, a->cfg.idle_ms / 4);
}

/* --- Session rows -------------------------------------------------------- */

static int db_session_insert(struct auth *a, const struct auth_session *s)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(a->store->db,
                                    "INSERT OR REPLACE INTO auth_sessions(hash, created_ms, "
                                    "last_used_ms, client) VALUES(?, ?, ?, ?)",
                                    -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_errno(rc);
        sqlite3_bind_blob(st, 1, s->hash, KEYS_TOKEN_HASH_SIZE, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)s->created_ms);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)s->last_used_ms);
        sqlite3_bind_text(st, 4, s->client, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        return rc == SQLITE_DONE ? 0 : store_errno(rc);
}

static int db_session_delete(struct auth *a, const uint8_t *hash)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(a->store->db, "DELETE FROM auth_sessions WHERE hash = ?", -1,
                                    &st, NULL);
        if (rc != SQLITE_OK)
                return store_errno(rc);
        sqlite3_bind_blob(st, 1, hash, KEYS_TOKEN_HASH_SIZE, SQLITE_STATIC);
        rc = sqlite3_step(st);
        return rc == SQLITE_DONE ? 0 : store_errno(rc);
}

static int db_session_touch(struct auth *a, const struct auth_session *s)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(a->store->db,
                                    "UPDATE auth_sessions SET last_used_ms = ? WHERE hash = ?", -1,
                                    &st, NULL);
        if (rc != SQLITE_OK)
                return store_errno(rc);
        sqlite3_bind_int64(st, 1, (sqlite3_int64)s->last_used_ms);
        sqlite3_bind_blob(st, 2, s->hash, KEYS_TOKEN_HASH_SIZE, SQLITE_STATIC);
        rc = sqlite3_step(st);
        return rc == SQLITE_DONE ? 0 : store_errno(rc);
}

static int load_sessions(struct auth *a, uint64_t now, struct dbx_error *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        /* Most recently used first, so that if the cap was lowered the
         * newest sessions are the ones kept. */
        int rc = sqlite3_prepare_v2(a->store->db,
                                    "SELECT hash, created_ms, last_used_ms, client FROM "
                                    "auth_sessions ORDER BY last_used_ms DESC",
                                    -1, &st, NULL);
        if (rc != SQLITE_OK)
                return dbx_error_set(err, store_errno(rc), "", "database: %s",
                                     sqlite3_errmsg(a->store->db));
        size_t dropped = 0;
        uint8_t(*drop)[KEYS_TOKEN_HASH_SIZE] = NULL;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                struct auth_session s = {0};
                const void *h = sqlite3_column_blob(st, 0);
                bool keep = h && sqlite3_column_bytes(st, 0) == KEYS_TOKEN_HASH_SIZE;
                if (keep) {
                        memcpy(s.hash, h, KEYS_TOKEN_HASH_SIZE);
                        s.created_ms = (uint64_t)sqlite3_column_int64(st, 1);
                        s.last_used_ms = s.persisted_ms = (uint64_t)sqlite3_column_int64(st, 2);
                        snprintf(s.client, sizeof(s.client), "%s",
                                 (const char *)sqlite3_column_text(st, 3));
                        keep = auth_session_state(&s, a->cfg.idle_ms, a->cfg.lifetime_ms, now) ==
                                   AUTH_SESSION_VALID &&
                               auth_sessions_count(a->sessions) < a->cfg.sessions_max;
                }
                if (keep && auth_sessions_add(a->sessions, &s, NULL, NULL) >= 0)
                        continue;
                if (h && sqlite3_column_bytes(st, 0) == KEYS_TOKEN_HASH_SIZE) {
                        drop = xrealloc(drop, (dropped + 1) * sizeof(*drop));
                        memcpy(drop[dropped++], h, KEYS_TOKEN_HASH_SIZE);
                }
        }
        sqlite3_finalize(TAKE_PTR(st));
        for (size_t i = 0; i < dropped; i++)
                db_session_delete(a, drop[i]);
        free(drop);
        if (rc != SQLITE_DONE)
                return dbx_error_set(err, store_errno(rc), "", "database: cannot read sessions");
        /* Rows with a malformed hash cannot be used by anyone. */
        return store_exec(a->store, "DELETE FROM auth_sessions WHERE length(hash) != 32", err);
}

/* --- Key row ------------------------------------------------------------- */

static int load_key(struct auth *a, struct dbx_error *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(a->store->db,
                                    "SELECT password_hash, vault, master_pub, parent_pub, "
                                    "created_ms FROM auth_master WHERE id = 1",
                                    -1, &st, NULL);
        if (rc != SQLITE_OK)
                return dbx_error_set(err, store_errno(rc), "", "database: %s",
                                     sqlite3_errmsg(a->store->db));
        rc = sqlite3_step(st);
        if (rc == SQLITE_DONE)
                return 0;
        if (rc != SQLITE_ROW)
                return dbx_error_set(err, store_errno(rc), "", "database: cannot read the key");
        const char *f[4];
        for (int i = 0; i < 4; i++)
                f[i] = (const char *)sqlite3_column_text(st, i);
        if (!f[0] || !f[1] || !f[2] || !f[3] || strlen(f[0]) >= sizeof(a->cred.password_hash) ||
            strlen(f[1]) != KEYS_VAULT_HEX_SIZE - 1 || strlen(f[2]) != KEYS_PUB_HEX_SIZE - 1 ||
            strlen(f[3]) != KEYS_PUB_HEX_SIZE - 1)
                return dbx_error_set(err, -EBADMSG, "auth_master",
                                     "the stored master key row is damaged (a field has the "
                                     "wrong length)");
        snprintf(a->cred.password_hash, sizeof(a->cred.password_hash), "%s", f[0]);
        snprintf(a->cred.vault, sizeof(a->cred.vault), "%s", f[1]);
        snprintf(a->master_pub, sizeof(a->master_pub), "%s", f[2]);
        snprintf(a->parent_pub, sizeof(a->parent_pub), "%s", f[3]);
        a->key_created_ms = (uint64_t)sqlite3_column_int64(st, 4);
        a->has_key = true;
        return 0;
}

/* --- Delegate parent file ------------------------------------------------ */

/* Read the parent into locked memory and check it against the stored
 * public key. */
static int parent_read(struct auth *a, char **ret, struct dbx_error *err)
{
        _cleanup_close_ int fd = open(a->parent_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;
        if (fd < 0)
                return dbx_error_set(err, -errno, "delegate_parent",
                                     "cannot read %s: %s (it is re-derived at the next login)",
                                     a->parent_path, strerror(errno));
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
            st.st_size >= PARENT_FILE_MAX)
                return dbx_error_set(err, -EBADMSG, "delegate_parent",
                                     "%s is not a delegate parent key file (it is re-derived at "
                                     "the next login)",
                                     a->parent_path);
        _cleanup_secure_ char *buf = secure_alloc(PARENT_FILE_MAX);
        ssize_t n = read(fd, buf, PARENT_FILE_MAX - 1);
        if (n != st.st_size)
                return dbx_error_set(err, -EIO, "delegate_parent", "short read of %s",
                                     a->parent_path);
        _cleanup_secure_ struct bip32_key *k = secure_alloc(sizeof(*k));
        struct dbx_error perr = {0};
        char pub[KEYS_PUB_HEX_SIZE];
        if (bip32_parse(buf, NULL, k, NULL, &perr) < 0 || !k->has_private ||
            (bip32_public_hex(k, pub), !streq(pub, a->parent_pub)))
                return dbx_error_set(err, -EBADMSG, "delegate_parent",
                                     "%s does not hold this box's delegate parent key (it is "
                                     "re-derived at the next login)",
                                     a->parent_path);
        *ret = TAKE_PTR(buf);
        return 0;
}

static int parent_pub_of(const char *parent, char pub[KEYS_PUB_HEX_SIZE], struct dbx_error *err)
{
        _cleanup_secure_ struct bip32_key *k = secure_alloc(sizeof(*k));
        struct dbx_error perr = {0};
        if (bip32_parse(parent, NULL, k, NULL, &perr) < 0 || !k->has_private || k->depth != 2)
                return dbx_error_set(err, -EINVAL, "delegate_parent",
                                     "not a private key of m/1000'/2': %s", perr.message);
        bip32_public_hex(k, pub);
        return 0;
}

static int parent_write(struct auth *a, const char *parent, struct dbx_error *err)
{
        _cleanup_free_ char *dir = xasprintf("%s/" PARENT_DIR, a->data_dir);
        int r = fs_mkdir_p(dir, 0700);
        if (r >= 0 && chmod(dir, 0700) < 0)
                r = -errno;
        if (r >= 0)
                r = fs_write_atomic(a->parent_path, parent, strlen(parent), 0600);
        if (r < 0)
                return dbx_error_set(err, r, "delegate_parent", "cannot write %s: %s",
                                     a->parent_path, strerror(-r));
        return 0;
}

bool auth_parent_needs_repair(struct auth *a)
{
        _cleanup_secure_ char *p = NULL;
        if (!a->has_key)
                return false;
        return parent_read(a, &p, NULL) < 0;
}

int auth_parent_store(struct auth *a, const char *parent, struct dbx_error *err)
{
        char pub[KEYS_PUB_HEX_SIZE];
        int r = parent_pub_of(parent, pub, err);
        if (r < 0)
                return r;
        if (!streq(pub, a->parent_pub))
                return dbx_error_set(err, -EBADMSG, "delegate_parent",
                                     "the re-derived delegate parent does not match the stored "
                                     "public key; the key store is damaged");
        return parent_write(a, parent, err);
}

/* --- Life cycle ---------------------------------------------------------- */

/* Every AUTH_SWEEP_INTERVAL_MS, or half the idle timeout if shorter (but
 * not more than once a second). */
static uint64_t sweep_interval_us(const struct auth *a)
{
        return MAX(1000ULL, MIN((uint64_t)AUTH_SWEEP_INTERVAL_MS, a->cfg.idle_ms / 2)) * 1000ULL;
}

static int on_sweep(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct auth *a = userdata;
        /* Only what expired at least an interval ago: a client coming back
         * just after expiry still learns why (idle or lifetime) from the
         * lookup, which removes the session itself. */
        auth_sessions_sweep(a, now_ms() - sweep_interval_us(a) / 1000);
        sd_event_source_set_time(s, usec + sweep_interval_us(a));
        sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

/* The database holds the password hash (an offline-guessing target) and
 * session hashes: owner-only, whatever the umask was when it was made.
 * SQLite gives new -wal/-shm files the database file's mode. */
static int restrict_db(struct store *s, struct dbx_error *err)
{
        static const char *const suffix[] = {"", "-wal", "-shm"};
        for (size_t i = 0; i < ARRAY_SIZE(suffix); i++) {
                _cleanup_free_ char *p = xasprintf("%s%s", s->path, suffix[i]);
                if (chmod(p, 0600) < 0 && (errno != ENOENT || i == 0))
                        return dbx_error_set(err, -errno, "", "cannot make %s owner-only: %s", p,
                                             strerror(errno));
        }
        return 0;
}

int auth_new(struct store *store, sd_event *event, const char *data_dir, struct auth **ret,
             struct dbx_error *err)
{
        struct auth *a = xcalloc(1, sizeof(*a));
        uint64_t now = now_ms();
        int r;

        a->store = store;
        a->event = event ? sd_event_ref(event) : NULL;
        a->data_dir = xstrdup(data_dir);
        a->parent_path = xasprintf("%s/" PARENT_DIR "/" PARENT_FILE, data_dir);
        a->ratelimit = auth_ratelimit_new(AUTH_RL_ENTRIES_MAX);
        r = restrict_db(store, err);
        if (r >= 0)
                r = load_config(store, &a->cfg, err);
        if (r >= 0) {
                a->sessions = auth_sessions_new(a->cfg.sessions_max);
                r = load_key(a, err);
        }
        if (r >= 0)
                r = store_setting_get_bool(store, "setup.hasCompletedInitialConfiguration",
                                           &a->setup_done);
        if (r >= 0)
                r = load_sessions(a, now, err);
        /* The host OS owns the network here: the setup UI must not wait
         * for a network step (docs/api.md). */
        if (r >= 0)
                r = store_setting_set(store, "setup.hasConfiguredNetwork", "1");
        if (r >= 0 && event)
                r = sd_event_add_time_relative(event, &a->sweep, CLOCK_MONOTONIC,
                                               sweep_interval_us(a), 0, on_sweep, a);
        if (r < 0) {
                if (err && !err->code)
                        dbx_error_set(err, r, "", "cannot set up authentication: %s", strerror(-r));
                auth_free(a);
                return r;
        }
        *ret = a;
        return 0;
}

struct auth *auth_free(struct auth *a)
{
        if (!a)
                return NULL;
        sd_event_source_disable_unref(a->sweep);
        auth_sessions_free(a->sessions);
        auth_ratelimit_free(a->ratelimit);
        sodium_memzero(&a->cred, sizeof(a->cred));
        sd_event_unref(a->event);
        free(a->data_dir);
        free(a->parent_path);
        free(a);
        return NULL;
}

/* --- Sessions ------------------------------------------------------------ */

int auth_session_check(struct auth *a, const char *token, uint64_t now, struct auth_session **ret)
{
        uint8_t h[KEYS_TOKEN_HASH_SIZE];
        if (keys_token_hash(token, h) < 0)
                return -ENOENT;
        struct auth_session *s = auth_sessions_find(a->sessions, h);
        if (!s)
                return -ENOENT;
        switch (auth_session_state(s, a->cfg.idle_ms, a->cfg.lifetime_ms, now)) {
        case AUTH_SESSION_IDLE:
                auth_session_revoke(a, s);
                return -ETIMEDOUT;
        case AUTH_SESSION_EXPIRED:
                auth_session_revoke(a, s);
                return -ESTALE;
        case AUTH_SESSION_VALID:
                break;
        }
        if (now > s->last_used_ms)
                s->last_used_ms = now;
        if (s->last_used_ms - s->persisted_ms >= touch_granularity(a) &&
            db_session_touch(a, s) >= 0)
                s->persisted_ms = s->last_used_ms;
        *ret = s;
        return 0;
}

int auth_session_create(struct auth *a, const char *client, uint64_t now,
                        char token[KEYS_TOKEN_HEX_SIZE])
{
        struct auth_session s = {0}, evicted;
        struct auth_session *added;
        int r;

        for (;;) {
                keys_token_new(token);
                r = keys_token_hash(token, s.hash);
                if (r < 0)
                        return r;
                if (!auth_sessions_find(a->sessions, s.hash))
                        break; /* 2^-256: but never hand out a live token twice */
        }
        s.created_ms = s.last_used_ms = s.persisted_ms = now;
        snprintf(s.client, sizeof(s.client), "%s", client ? client : "");
        r = db_session_insert(a, &s);
        if (r < 0) {
                sodium_memzero(token, KEYS_TOKEN_HEX_SIZE);
                return r;
        }
        r = auth_sessions_add(a->sessions, &s, &added, &evicted);
        if (r == 1)
                db_session_delete(a, evicted.hash);
        return 0;
}

int auth_session_revoke(struct auth *a, struct auth_session *s)
{
        int r = db_session_delete(a, s->hash);
        auth_sessions_remove(a->sessions, s);
        return r;
}

int auth_sessions_revoke_all(struct auth *a)
{
        auth_sessions_clear(a->sessions);
        return store_exec(a->store, "DELETE FROM auth_sessions", NULL);
}

int auth_sessions_sweep(struct auth *a, uint64_t now)
{
        struct auth_session *s;
        struct auth_session **dead = NULL;
        size_t n = 0, cursor = 0;
        while ((s = auth_sessions_next(a->sessions, &cursor)))
                if (auth_session_state(s, a->cfg.idle_ms, a->cfg.lifetime_ms, now) !=
                    AUTH_SESSION_VALID) {
                        dead = xrealloc(dead, (n + 1) * sizeof(*dead));
                        dead[n++] = s;
                }
        for (size_t i = 0; i < n; i++)
                auth_session_revoke(a, dead[i]);
        free(dead);
        return (int)n;
}

/* --- Key store ----------------------------------------------------------- */

int auth_key_store(struct auth *a, const struct keys_master *m, uint64_t now, struct dbx_error *err)
{
        char pub[KEYS_PUB_HEX_SIZE];
        int r;

        if (a->has_key)
                return dbx_error_set(err, -EEXIST, "", "A master key already exists");
        r = parent_pub_of(m->delegate_parent, pub, err);
        if (r < 0)
                return r;
        /* The file first: a crash before the commit leaves a file that the
         * next create-master overwrites, never a key row without parent. */
        r = parent_write(a, m->delegate_parent, err);
        if (r < 0)
                return r;
        r = store_begin(a->store);
        if (r < 0)
                return dbx_error_set(err, r, "", "database: cannot begin: %s", strerror(-r));
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(a->store->db,
                                    "INSERT INTO auth_master(id, password_hash, vault, "
                                    "master_pub, parent_pub, created_ms, changed_ms) "
                                    "VALUES(1, ?, ?, ?, ?, ?, ?)",
                                    -1, &st, NULL);
        if (rc == SQLITE_OK) {
                sqlite3_bind_text(st, 1, m->cred.password_hash, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 2, m->cred.vault, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 3, m->master_pub, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 4, pub, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 5, (sqlite3_int64)now);
                sqlite3_bind_int64(st, 6, (sqlite3_int64)now);
                rc = sqlite3_step(st);
        }
        r = rc == SQLITE_DONE ? 0 : store_errno(rc);
        if (r >= 0)
                r = store_setting_set(a->store, "setup.hasGeneratedKey", "1");
        if (r >= 0)
                r = store_commit(a->store);
        if (r < 0) {
                store_rollback(a->store);
                return dbx_error_set(err, r, "", "database: cannot store the master key: %s",
                                     strerror(-r));
        }
        a->cred = m->cred;
        snprintf(a->master_pub, sizeof(a->master_pub), "%s", m->master_pub);
        snprintf(a->parent_pub, sizeof(a->parent_pub), "%s", pub);
        a->key_created_ms = now;
        a->has_key = true;
        a->generation++;
        return 0;
}

static int credentials_store(struct auth *a, const struct keys_credentials *c, uint64_t now,
                             bool revoke, struct dbx_error *err)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int r = store_begin(a->store);
        if (r < 0)
                return dbx_error_set(err, r, "", "database: cannot begin: %s", strerror(-r));
        int rc = sqlite3_prepare_v2(a->store->db,
                                    "UPDATE auth_master SET password_hash = ?, vault = ?, "
                                    "changed_ms = ? WHERE id = 1",
                                    -1, &st, NULL);
        if (rc == SQLITE_OK) {
                sqlite3_bind_text(st, 1, c->password_hash, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 2, c->vault, -1, SQLITE_STATIC);
                sqlite3_bind_int64(st, 3, (sqlite3_int64)now);
                rc = sqlite3_step(st);
        }
        r = rc == SQLITE_DONE ? 0 : store_errno(rc);
        if (r >= 0 && sqlite3_changes(a->store->db) != 1)
                r = -ENOENT;
        if (r >= 0 && revoke)
                r = store_exec(a->store, "DELETE FROM auth_sessions", NULL);
        if (r >= 0)
                r = store_commit(a->store);
        if (r < 0) {
                store_rollback(a->store);
                return dbx_error_set(err, r, "", "database: cannot store the new password: %s",
                                     strerror(-r));
        }
        a->cred = *c;
        if (revoke) {
                a->generation++;
                auth_sessions_clear(a->sessions);
        }
        return 0;
}

int auth_credentials_replace(struct auth *a, const struct keys_credentials *c, uint64_t now,
                             struct dbx_error *err)
{
        return credentials_store(a, c, now, true, err);
}

int auth_credentials_upgrade(struct auth *a, const struct keys_credentials *c, uint64_t now,
                             struct dbx_error *err)
{
        return credentials_store(a, c, now, false, err);
}

int auth_setup_complete(struct auth *a, struct dbx_error *err)
{
        int r = store_setting_set(a->store, "setup.hasCompletedInitialConfiguration", "1");
        if (r < 0)
                return dbx_error_set(err, r, "", "database: cannot record setup: %s", strerror(-r));
        a->setup_done = true;
        return 0;
}

/* --- Per-pup delegate keys ---------------------------------------------- */

/* N for a pup: the existing one, or max+1 (never reused: rows are never
 * deleted, as upstream's DKM). */
static int delegate_index(struct auth *a, const char *pup_id, uint32_t *ret, bool *ret_written)
{
        _cleanup_stmt_ sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(a->store->db,
                                    "SELECT key_index, written_ms IS NOT NULL FROM auth_delegates "
                                    "WHERE pup_id = ?",
                                    -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_errno(rc);
        sqlite3_bind_text(st, 1, pup_id, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                *ret = (uint32_t)sqlite3_column_int64(st, 0);
                if (ret_written)
                        *ret_written = sqlite3_column_int(st, 1) != 0;
                return 0;
        }
        if (rc != SQLITE_DONE)
                return store_errno(rc);
        sqlite3_finalize(TAKE_PTR(st));
        rc = sqlite3_prepare_v2(a->store->db,
                                "INSERT INTO auth_delegates(pup_id, key_index) SELECT ?, "
                                "COALESCE(MAX(key_index), 0) + 1 FROM auth_delegates "
                                "RETURNING key_index",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return store_errno(rc);
        sqlite3_bind_text(st, 1, pup_id, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
                return store_errno(rc);
        sqlite3_int64 n = sqlite3_column_int64(st, 0);
        if (n < KEYS_DELEGATE_INDEX_MIN || n > KEYS_DELEGATE_INDEX_MAX)
                return -ERANGE;
        while (sqlite3_step(st) == SQLITE_ROW)
                ;
        *ret = (uint32_t)n;
        if (ret_written)
                *ret_written = false;
        return 0;
}

/* Open an absolute directory path one component at a time, refusing
 * symlinks anywhere (what openat2's RESOLVE_NO_SYMLINKS does, without
 * depending on it). */
static int open_dir_nofollow(const char *path, struct dbx_error *err)
{
        _cleanup_free_ char *copy = xstrdup(path);
        _cleanup_close_ int fd = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        char *save = NULL;
        if (fd < 0)
                return dbx_error_set(err, -errno, "storage_dir", "cannot open /: %s",
                                     strerror(errno));
        for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                if (streq(c, ".") || streq(c, ".."))
                        return dbx_error_set(err, -EINVAL, "storage_dir",
                                             "%s: '.' and '..' are not allowed in the path", path);
                int next = openat(fd, c, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                if (next < 0) {
                        int e = errno;
                        return dbx_error_set(err, e == ENOTDIR ? -ELOOP : -e, "storage_dir",
                                             "cannot open %s at '%s': %s", path, c,
                                             e == ENOTDIR || e == ELOOP
                                                 ? "a symlink or not a directory"
                                                 : strerror(e));
                }
                close(fd);
                fd = next;
        }
        return TAKE_FD(fd);
}

/* Write one key file into dirfd: a fresh temporary name (O_EXCL|O_NOFOLLOW,
 * so nothing the pup planted is opened), owner and mode set on the open
 * file, fsync, rename over the final name (replacing a symlink or link,
 * never writing through it). */
static int write_key_file(int dirfd, const char *name, const char *data, uid_t uid, gid_t gid,
                          struct dbx_error *err)
{
        char tmp[96], rnd[17];
        uint8_t b[8];
        random_bytes(b, sizeof(b));
        hex_encode(b, sizeof(b), rnd);
        snprintf(tmp, sizeof(tmp), ".%s.tmp-%s", name, rnd);
        _cleanup_close_ int fd =
            openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return dbx_error_set(err, -errno, name, "cannot create %s: %s", tmp,
                                     strerror(errno));
        int r = 0;
        size_t len = strlen(data), off = 0;
        if (fchown(fd, uid, gid) < 0 || fchmod(fd, 0600) < 0)
                r = -errno;
        while (r == 0 && off < len) {
                ssize_t n = write(fd, data + off, len - off);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        r = -errno;
                else
                        off += (size_t)n;
        }
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
                r = -errno;
        if (r < 0) {
                unlinkat(dirfd, tmp, 0);
                return dbx_error_set(err, r, name, "cannot write %s: %s", name, strerror(-r));
        }
        return 0;
}

int auth_pup_keys_write(struct auth *a, const char *pup_id, const char *storage_dir, uid_t uid,
                        gid_t gid, struct dbx_error *err)
{
        uint32_t index;
        int r;

        if (!pup_id || !name_is_safe(pup_id, AUTH_PUP_ID_MAX))
                return dbx_error_set(err, -EINVAL, "pupId",
                                     "pup id must match [a-z0-9][a-z0-9-]* (at most %d "
                                     "characters)",
                                     AUTH_PUP_ID_MAX);
        if (!storage_dir || storage_dir[0] != '/' || strlen(storage_dir) >= PATH_MAX)
                return dbx_error_set(err, -EINVAL, "storage_dir",
                                     "the pup's storage directory must be an absolute path");
        r = delegate_index(a, pup_id, &index, NULL);
        if (r < 0)
                return dbx_error_set(err, r, "", "database: cannot allocate a key index: %s",
                                     strerror(-r));
        if (!a->has_key)
                return dbx_error_set(err, -EAGAIN, "",
                                     "no master key yet: pup %s gets its delegate key (index "
                                     "%u) when the owner creates the master key",
                                     pup_id, index);

        _cleanup_secure_ char *parent = NULL;
        r = parent_read(a, &parent, err);
        if (r < 0)
                return r;
        struct keys_delegate *d = NULL;
        r = keys_delegate_derive(parent, index, &d, err);
        if (r < 0)
                return r;
        _cleanup_close_ int dirfd = open_dir_nofollow(storage_dir, err);
        if (dirfd < 0) {
                keys_delegate_free(d);
                return dirfd;
        }
        r = write_key_file(dirfd, AUTH_PUP_KEY_FILE, d->key, uid, gid, err);
        if (r >= 0)
                r = write_key_file(dirfd, AUTH_PUP_EXTENDED_KEY_FILE, d->extended_key, uid, gid,
                                   err);
        if (r >= 0 && fsync(dirfd) < 0)
                r = dbx_error_set(err, -errno, "storage_dir", "fsync %s: %s", storage_dir,
                                  strerror(errno));
        if (r >= 0) {
                _cleanup_stmt_ sqlite3_stmt *st = NULL;
                int rc = sqlite3_prepare_v2(a->store->db,
                                            "UPDATE auth_delegates SET pub = ?, written_ms = ? "
                                            "WHERE pup_id = ?",
                                            -1, &st, NULL);
                if (rc == SQLITE_OK) {
                        sqlite3_bind_text(st, 1, d->pub, -1, SQLITE_STATIC);
                        sqlite3_bind_int64(st, 2, (sqlite3_int64)now_ms());
                        sqlite3_bind_text(st, 3, pup_id, -1, SQLITE_STATIC);
                        rc = sqlite3_step(st);
                }
                if (rc != SQLITE_DONE)
                        r = dbx_error_set(err, store_errno(rc), "",
                                          "database: cannot record the pup key: %s",
                                          sqlite3_errstr(rc));
        }
        keys_delegate_free(d);
        return r;
}

struct pending_ctx {
        struct auth *a;
        struct dbx_errors *errs;
        int written;
};

static int pending_emit(void *userdata, const struct auth_pup_ref *pup)
{
        struct pending_ctx *p = userdata;
        struct dbx_error err = {0};
        uint32_t index;
        bool written = false;

        if (!pup || !pup->id || !name_is_safe(pup->id, AUTH_PUP_ID_MAX)) {
                if (p->errs)
                        dbx_errors_add(p->errs, -EINVAL, "pupId",
                                       "invalid pup id from the pup list");
                return -EINVAL;
        }
        int r = delegate_index(p->a, pup->id, &index, &written);
        if (r >= 0 && written)
                return 0;
        if (r >= 0)
                r = auth_pup_keys_write(p->a, pup->id, pup->storage_dir, pup->uid, pup->gid, &err);
        if (r < 0) {
                if (p->errs)
                        dbx_errors_add(p->errs, r, pup->id, "%s",
                                       err.code ? err.message : strerror(-r));
                return r;
        }
        p->written++;
        return 0;
}

int auth_pending_keys_write(struct auth *a, auth_pup_enum_fn fn, void *userdata,
                            struct dbx_errors *errs)
{
        struct pending_ctx p = {a, errs, 0};
        if (!a->has_key)
                return -EAGAIN;
        if (!fn)
                return 0;
        int r = fn(userdata, pending_emit, &p);
        if (r < 0 && errs)
                dbx_errors_add(errs, r, "", "listing installed pups failed: %s", strerror(-r));
        return p.written;
}

void auth_set_pup_enumerator(struct auth *a, auth_pup_enum_fn fn, void *userdata)
{
        struct dbx_errors errs = {0};
        a->pup_enum = fn;
        a->pup_enum_userdata = userdata;
        if (!a->has_key || !fn)
                return;
        int n = auth_pending_keys_write(a, fn, userdata, &errs);
        if (n > 0)
                log_info("auth: wrote delegate keys for %d pup(s) installed before setup", n);
        for (size_t i = 0; i < errs.n; i++)
                log_warn("auth: delegate key for pup %s: %s", errs.items[i].path,
                         errs.items[i].message);
        dbx_errors_free(&errs);
}
