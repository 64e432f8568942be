/* Owner authentication: the pure session table and rate limiter, and
 * struct auth against a real SQLite store in a temp dir (sessions across a
 * reopen, expiry, the cap, settings, key store, per-pup key files and the
 * ways a pup could try to redirect their write). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <ctype.h>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include "api/auth.h"
#include "core/fsutil.h"
#include "core/macro.h"
#include "core/util.h"
#include "keys/secure.h"

/* BIP39 test vector (24 words, entropy 0x00..): a key whose delegate keys
 * are known, so the files can be compared with an independent derivation. */
#define MNEMONIC                                                                                   \
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "         \
        "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "         \
        "abandon abandon abandon art"

static void random_hash(uint8_t h[KEYS_TOKEN_HASH_SIZE])
{
        randombytes_buf(h, KEYS_TOKEN_HASH_SIZE);
}

/* --- Session table ------------------------------------------------------- */

static void test_table_add_find_remove(void **state)
{
        enum { N = 1000 };
        struct auth_sessions *t = auth_sessions_new(N);
        static uint8_t h[N][KEYS_TOKEN_HASH_SIZE];
        for (size_t i = 0; i < N; i++) {
                struct auth_session s = {.created_ms = i, .last_used_ms = i};
                random_hash(h[i]);
                /* Force clusters: many hashes with the same home slot. */
                if (i % 3 == 0)
                        memset(h[i], 0, 8);
                memcpy(s.hash, h[i], sizeof(s.hash));
                assert_int_equal(auth_sessions_add(t, &s, NULL, NULL), 0);
        }
        assert_int_equal(auth_sessions_count(t), N);
        struct auth_session dup = {0};
        memcpy(dup.hash, h[5], sizeof(dup.hash));
        assert_int_equal(auth_sessions_add(t, &dup, NULL, NULL), -EEXIST);
        /* Remove every other one; the rest must still be found (backward
         * shift keeps probe chains intact). */
        for (size_t i = 0; i < N; i += 2) {
                struct auth_session *s = auth_sessions_find(t, h[i]);
                assert_non_null(s);
                assert_int_equal(s->created_ms, i);
                auth_sessions_remove(t, s);
        }
        assert_int_equal(auth_sessions_count(t), N / 2);
        for (size_t i = 0; i < N; i++) {
                struct auth_session *s = auth_sessions_find(t, h[i]);
                if (i % 2 == 0)
                        assert_null(s);
                else {
                        assert_non_null(s);
                        assert_int_equal(s->created_ms, i);
                }
        }
        /* Iteration sees each remaining session exactly once. */
        size_t cursor = 0, seen = 0;
        uint64_t sum = 0;
        struct auth_session *s;
        while ((s = auth_sessions_next(t, &cursor))) {
                seen++;
                sum += s->created_ms;
        }
        assert_int_equal(seen, N / 2);
        assert_int_equal(sum, (uint64_t)(N / 2) * (N / 2)); /* 1+3+...+(N-1) */
        auth_sessions_clear(t);
        assert_int_equal(auth_sessions_count(t), 0);
        assert_null(auth_sessions_find(t, h[1]));
        auth_sessions_free(t);
}

static void test_table_cap_evicts_lru(void **state)
{
        struct auth_sessions *t = auth_sessions_new(3);
        struct auth_session s[4] = {0}, evicted = {0};
        uint64_t used[4] = {500, 100, 300, 900};
        for (int i = 0; i < 4; i++) {
                random_hash(s[i].hash);
                s[i].last_used_ms = used[i];
        }
        for (int i = 0; i < 3; i++)
                assert_int_equal(auth_sessions_add(t, &s[i], NULL, &evicted), 0);
        struct auth_session *added = NULL;
        assert_int_equal(auth_sessions_add(t, &s[3], &added, &evicted), 1);
        assert_memory_equal(evicted.hash, s[1].hash, KEYS_TOKEN_HASH_SIZE); /* used at 100 */
        assert_non_null(added);
        assert_ptr_equal(auth_sessions_find(t, s[3].hash), added);
        assert_null(auth_sessions_find(t, s[1].hash));
        assert_int_equal(auth_sessions_count(t), 3);
        assert_int_equal(auth_sessions_max(t), 3);
        auth_sessions_free(t);
        /* Limits are clamped. */
        t = auth_sessions_new(0);
        assert_int_equal(auth_sessions_max(t), 1);
        auth_sessions_free(t);
        t = auth_sessions_new(AUTH_SESSIONS_LIMIT + 5);
        assert_int_equal(auth_sessions_max(t), AUTH_SESSIONS_LIMIT);
        auth_sessions_free(t);
}

static void test_session_state(void **state)
{
        static const struct {
                uint64_t created, used, now, idle, life;
                enum auth_session_state want;
        } t[] = {
            {1000, 1000, 1000, 10, 100, AUTH_SESSION_VALID},
            {1000, 1000, 1009, 10, 100, AUTH_SESSION_VALID},
            {1000, 1000, 1010, 10, 100, AUTH_SESSION_IDLE},    /* exactly idle */
            {1000, 1095, 1099, 10, 100, AUTH_SESSION_VALID},   /* in use, young */
            {1000, 1095, 1100, 10, 100, AUTH_SESSION_EXPIRED}, /* exactly the lifetime */
            {1000, 1000, 5000, 10, 100, AUTH_SESSION_EXPIRED}, /* lifetime wins */
            {1000, 1000, 500, 10, 100, AUTH_SESSION_VALID},    /* clock went backwards */
            {1000, 2000, 1500, 10, 100000, AUTH_SESSION_VALID},
        };
        for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
                struct auth_session s = {.created_ms = t[i].created, .last_used_ms = t[i].used};
                assert_int_equal(auth_session_state(&s, t[i].idle, t[i].life, t[i].now), t[i].want);
        }
}

/* --- Rate limiter -------------------------------------------------------- */

static void test_ratelimit_delays(void **state)
{
        struct auth_ratelimit *rl = auth_ratelimit_new(8);
        uint64_t now = 1000000;
        for (int i = 1; i < AUTH_RL_FREE_FAILURES; i++) {
                assert_int_equal(auth_ratelimit_fail(rl, "10.0.0.1", now), 0);
                assert_int_equal(auth_ratelimit_wait(rl, "10.0.0.1", now), 0);
        }
        /* From the free limit on: 1 s, 2 s, 4 s, ... capped. */
        uint64_t want = AUTH_RL_DELAY_BASE_MS;
        for (int i = 0; i < 20; i++) {
                uint64_t d = auth_ratelimit_fail(rl, "10.0.0.1", now);
                assert_int_equal(d, MIN(want, (uint64_t)AUTH_RL_DELAY_MAX_MS));
                assert_int_equal(auth_ratelimit_wait(rl, "10.0.0.1", now), d);
                assert_int_equal(auth_ratelimit_wait(rl, "10.0.0.1", now + d - 1), 1);
                assert_int_equal(auth_ratelimit_wait(rl, "10.0.0.1", now + d), 0);
                want *= 2;
        }
        /* Another address is not affected. */
        assert_int_equal(auth_ratelimit_wait(rl, "10.0.0.2", now), 0);
        /* Success forgets. */
        auth_ratelimit_success(rl, "10.0.0.1");
        assert_int_equal(auth_ratelimit_wait(rl, "10.0.0.1", now), 0);
        assert_int_equal(auth_ratelimit_fail(rl, "10.0.0.1", now), 0);
        assert_int_equal(auth_ratelimit_count(rl), 1);
        /* A day without failures forgets too. */
        for (int i = 0; i < 5; i++)
                auth_ratelimit_fail(rl, "10.0.0.3", now);
        assert_true(auth_ratelimit_wait(rl, "10.0.0.3", now) > 0);
        assert_int_equal(auth_ratelimit_wait(rl, "10.0.0.3", now + AUTH_RL_FORGET_MS), 0);
        assert_int_equal(auth_ratelimit_fail(rl, "10.0.0.3", now + AUTH_RL_FORGET_MS), 0);
        auth_ratelimit_free(rl);
}

static void test_ratelimit_bounded(void **state)
{
        struct auth_ratelimit *rl = auth_ratelimit_new(4);
        char key[32];
        /* Address 0 fails first (oldest), then 1..4: 0 is evicted. */
        for (int i = 0; i < 5; i++) {
                snprintf(key, sizeof(key), "10.0.0.%d", i);
                for (int k = 0; k < AUTH_RL_FREE_FAILURES; k++)
                        auth_ratelimit_fail(rl, key, 1000 + (uint64_t)i);
                assert_true(auth_ratelimit_count(rl) <= 4);
        }
        assert_int_equal(auth_ratelimit_count(rl), 4);
        assert_int_equal(auth_ratelimit_wait(rl, "10.0.0.0", 1005), 0);
        assert_true(auth_ratelimit_wait(rl, "10.0.0.4", 1005) > 0);
        auth_ratelimit_free(rl);
}

static void test_ratelimit_key(void **state)
{
        static const struct {
                const char *in, *want;
        } t[] = {
            {"192.0.2.7", "192.0.2.7"},
            {"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
            {"2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"},
            {"::ffff:192.0.2.9", "192.0.2.9"},
            {"::1", "::/64"},
            {"unix", "unix"},
            {"", ""},
        };
        char out[AUTH_RL_KEY_MAX];
        for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
                auth_ratelimit_key(t[i].in, out);
                assert_string_equal(out, t[i].want);
        }
        auth_ratelimit_key(NULL, out);
        assert_string_equal(out, "");
}

/* --- struct auth against a real store ------------------------------------ */

struct fixture {
        char dir[64];
        char *db;
        struct store *store;
        struct auth *auth;
};

static void open_auth(struct fixture *f)
{
        struct dbx_error err = {0};
        assert_int_equal(store_open(f->db, &f->store, &err), 0);
        assert_int_equal(auth_new(f->store, NULL, f->dir, &f->auth, &err), 0);
}

static void close_auth(struct fixture *f)
{
        f->auth = auth_free(f->auth);
        f->store = store_close(f->store);
}

static int setup(void **state)
{
        struct fixture *f = xcalloc(1, sizeof(*f));
        snprintf(f->dir, sizeof(f->dir), "/tmp/dbx-auth-test-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        f->db = xasprintf("%s/dogebox.db", f->dir);
        open_auth(f);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        close_auth(f);
        fs_rm_rf(f->dir);
        free(f->db);
        free(f);
        return 0;
}

static void set_setting(struct fixture *f, const char *k, const char *v)
{
        assert_int_equal(store_setting_set(f->store, k, v), 0);
}

static void test_auth_fresh(void **state)
{
        struct fixture *f = *state;
        struct stat st;
        assert_false(f->auth->has_key);
        assert_false(f->auth->setup_done);
        assert_int_equal(f->auth->cfg.idle_ms, AUTH_IDLE_DEFAULT_S * 1000ULL);
        assert_int_equal(f->auth->cfg.lifetime_ms, AUTH_LIFETIME_DEFAULT_S * 1000ULL);
        assert_int_equal(f->auth->cfg.sessions_max, AUTH_SESSIONS_DEFAULT);
        /* the database is owner-only */
        assert_int_equal(stat(f->db, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        bool net = false;
        assert_int_equal(store_setting_get_bool(f->store, "setup.hasConfiguredNetwork", &net), 0);
        assert_true(net);
}

static void test_auth_sessions_persist_and_expire(void **state)
{
        struct fixture *f = *state;
        char tok[KEYS_TOKEN_HEX_SIZE], tok2[KEYS_TOKEN_HEX_SIZE];
        struct auth_session *s = NULL;
        uint64_t t0 = now_ms();

        assert_int_equal(auth_session_create(f->auth, "192.0.2.1", t0, tok), 0);
        assert_int_equal(strlen(tok), 64);
        assert_int_equal(auth_session_create(f->auth, "192.0.2.2", t0, tok2), 0);
        assert_int_equal(auth_session_check(f->auth, tok, t0 + 1, &s), 0);
        assert_string_equal(s->client, "192.0.2.1");
        /* malformed and unknown tokens */
        assert_int_equal(auth_session_check(f->auth, "abc", t0, &s), -ENOENT);
        assert_int_equal(auth_session_check(f->auth, "", t0, &s), -ENOENT);
        char other[KEYS_TOKEN_HEX_SIZE];
        keys_token_new(other);
        assert_int_equal(auth_session_check(f->auth, other, t0, &s), -ENOENT);
        /* upper-case hex is the same token */
        char upper[KEYS_TOKEN_HEX_SIZE];
        for (size_t i = 0; i < sizeof(upper); i++)
                upper[i] = (char)toupper((unsigned char)tok[i]);
        assert_int_equal(auth_session_check(f->auth, upper, t0 + 2, &s), 0);

        /* Survives a reopen (only the hash is stored). */
        close_auth(f);
        open_auth(f);
        assert_int_equal(auth_sessions_count(f->auth->sessions), 2);
        assert_int_equal(auth_session_check(f->auth, tok, t0 + 3, &s), 0);
        /* Revoke one: gone from memory and from SQLite. */
        assert_int_equal(auth_session_revoke(f->auth, s), 0);
        assert_int_equal(auth_session_check(f->auth, tok, t0 + 4, &s), -ENOENT);
        close_auth(f);
        open_auth(f);
        assert_int_equal(auth_sessions_count(f->auth->sessions), 1);
        assert_int_equal(auth_session_check(f->auth, tok, t0 + 4, &s), -ENOENT);

        /* Idle expiry: 10 s idle, checked with a clock we control. */
        set_setting(f, "auth.sessionIdleSeconds", "10");
        set_setting(f, "auth.sessionLifetimeSeconds", "100");
        close_auth(f);
        open_auth(f);
        assert_int_equal(f->auth->cfg.idle_ms, 10000);
        assert_int_equal(auth_session_check(f->auth, tok2, t0 + 9000, &s), 0);
        /* used at t0+9 s: still valid at t0+18 s, then idle */
        assert_int_equal(auth_session_check(f->auth, tok2, t0 + 18000, &s), 0);
        assert_int_equal(auth_session_check(f->auth, tok2, t0 + 28000, &s), -ETIMEDOUT);
        assert_int_equal(auth_session_check(f->auth, tok2, t0 + 28001, &s), -ENOENT);

        /* Lifetime: in constant use, still gone after 100 s. */
        uint64_t t1 = now_ms();
        assert_int_equal(auth_session_create(f->auth, "x", t1, tok), 0);
        uint64_t t;
        for (t = t1 + 5000; t < t1 + 100000; t += 5000)
                assert_int_equal(auth_session_check(f->auth, tok, t, &s), 0);
        assert_int_equal(auth_session_check(f->auth, tok, t1 + 100000, &s), -ESTALE);
}

static void test_auth_last_used_written_coarsely(void **state)
{
        struct fixture *f = *state;
        char tok[KEYS_TOKEN_HEX_SIZE];
        struct auth_session *s;
        uint64_t t0 = now_ms();
        assert_int_equal(auth_session_create(f->auth, "c", t0, tok), 0);
        assert_int_equal(auth_session_check(f->auth, tok, t0 + 1000, &s), 0);
        assert_int_equal(s->persisted_ms, t0); /* not written: too soon */
        assert_int_equal(auth_session_check(f->auth, tok, t0 + AUTH_TOUCH_GRANULARITY_MS, &s), 0);
        assert_int_equal(s->persisted_ms, t0 + AUTH_TOUCH_GRANULARITY_MS);
        close_auth(f);
        open_auth(f);
        uint8_t h[KEYS_TOKEN_HASH_SIZE];
        keys_token_hash(tok, h);
        s = auth_sessions_find(f->auth->sessions, h);
        assert_non_null(s);
        assert_int_equal(s->last_used_ms, t0 + AUTH_TOUCH_GRANULARITY_MS);
}

static void test_auth_cap_and_sweep(void **state)
{
        struct fixture *f = *state;
        char tok[5][KEYS_TOKEN_HEX_SIZE];
        struct auth_session *s;
        uint64_t t0 = now_ms();
        set_setting(f, "auth.sessionsMax", "3");
        close_auth(f);
        open_auth(f);
        for (int i = 0; i < 5; i++)
                assert_int_equal(auth_session_create(f->auth, "c", t0 + (uint64_t)i, tok[i]), 0);
        assert_int_equal(auth_sessions_count(f->auth->sessions), 3);
        assert_int_equal(auth_session_check(f->auth, tok[0], t0 + 10, &s), -ENOENT);
        assert_int_equal(auth_session_check(f->auth, tok[1], t0 + 10, &s), -ENOENT);
        assert_int_equal(auth_session_check(f->auth, tok[4], t0 + 10, &s), 0);
        /* The evicted rows are gone from SQLite too. */
        close_auth(f);
        open_auth(f);
        assert_int_equal(auth_sessions_count(f->auth->sessions), 3);
        /* Sweep drops what expired. */
        assert_int_equal(auth_sessions_sweep(f->auth, t0 + 100), 0);
        assert_int_equal(auth_sessions_sweep(f->auth, t0 + AUTH_IDLE_DEFAULT_S * 1000ULL + 100), 3);
        assert_int_equal(auth_sessions_count(f->auth->sessions), 0);
        assert_int_equal(auth_sessions_revoke_all(f->auth), 0);
}

static void test_auth_bad_settings(void **state)
{
        struct fixture *f = *state;
        static const struct {
                const char *key, *value;
        } bad[] = {
            {"auth.sessionIdleSeconds", "0"},
            {"auth.sessionIdleSeconds", "abc"},
            {"auth.sessionIdleSeconds", "-5"},
            {"auth.sessionIdleSeconds", ""},
            {"auth.sessionIdleSeconds", "10x"},
            {"auth.sessionLifetimeSeconds", "31536001"},
            {"auth.sessionsMax", "0"},
            {"auth.sessionsMax", "1025"},
            {"auth.sessionsMax", "99999999999999999999999"},
        };
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                struct dbx_error err = {0};
                struct auth *a = NULL;
                set_setting(f, bad[i].key, bad[i].value);
                assert_int_equal(auth_new(f->store, NULL, f->dir, &a, &err), -EINVAL);
                assert_string_equal(err.path, bad[i].key);
                assert_non_null(strstr(err.message, "is not a whole number from"));
                assert_int_equal(store_setting_del(f->store, bad[i].key), 0);
        }
}

/* --- Keys ---------------------------------------------------------------- */

static struct keys_master *import_master(void)
{
        struct keys_master *m = NULL;
        struct dbx_error err = {0};
        assert_int_equal(keys_master_import(MNEMONIC, "pw", &m, &err), 0);
        return m;
}

static char *read_file(const char *dir, const char *name)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, name);
        char *s = NULL;
        assert_int_equal(fs_read_file(p, 4096, &s, NULL), 0);
        return s;
}

static void check_pup_files(const char *dir, const char *parent, uint32_t index)
{
        struct keys_delegate *d = NULL;
        struct stat st;
        assert_int_equal(keys_delegate_derive(parent, index, &d, NULL), 0);
        _cleanup_free_ char *k = read_file(dir, AUTH_PUP_KEY_FILE);
        _cleanup_free_ char *x = read_file(dir, AUTH_PUP_EXTENDED_KEY_FILE);
        assert_string_equal(k, d->key);
        assert_string_equal(x, d->extended_key);
        assert_int_equal(strncmp(x, "dgpv", 4), 0);
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, AUTH_PUP_KEY_FILE);
        assert_int_equal(lstat(p, &st), 0);
        assert_true(S_ISREG(st.st_mode));
        assert_int_equal(st.st_mode & 0777, 0600);
        keys_delegate_free(d);
}

static char *mkstorage(struct fixture *f, const char *id)
{
        char *p = xasprintf("%s/storage/%s", f->dir, id);
        assert_int_equal(fs_mkdir_p(p, 0755), 0);
        return p;
}

struct enum_list {
        struct auth_pup_ref pups[4];
        size_t n;
};

static int enum_list(void *userdata, auth_pup_emit_fn emit, void *emit_ctx)
{
        struct enum_list *l = userdata;
        for (size_t i = 0; i < l->n; i++)
                emit(emit_ctx, &l->pups[i]);
        return 0;
}

static void test_pup_keys(void **state)
{
        struct fixture *f = *state;
        struct dbx_error err = {0};
        _cleanup_free_ char *a = mkstorage(f, "pup-a"), *b = mkstorage(f, "pup-b"),
                            *c = mkstorage(f, "pup-c");
        struct stat st;

        /* Before the master key: N is reserved, -EAGAIN. */
        assert_int_equal(auth_pup_keys_write(f->auth, "pup-a", a, 0, 0, &err), -EAGAIN);
        assert_non_null(strstr(err.message, "index 1"));
        _cleanup_free_ char *ka = xasprintf("%s/%s", a, AUTH_PUP_KEY_FILE);
        assert_int_equal(stat(ka, &st), -1);
        assert_int_equal(auth_pending_keys_write(f->auth, enum_list, NULL, NULL), -EAGAIN);

        struct keys_master *m = import_master();
        assert_int_equal(auth_key_store(f->auth, m, now_ms(), &err), 0);
        assert_int_equal(auth_key_store(f->auth, m, now_ms(), &err), -EEXIST);
        assert_true(f->auth->has_key);
        assert_false(auth_parent_needs_repair(f->auth));
        _cleanup_free_ char *pf = xasprintf("%s/keys/delegate-parent", f->dir);
        assert_int_equal(stat(pf, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);

        /* The catch-up writes pup-a (index 1) and pup-b (index 2). */
        struct enum_list l = {.n = 2};
        l.pups[0] = (struct auth_pup_ref){"pup-a", a, 1234, 1234};
        l.pups[1] = (struct auth_pup_ref){"pup-b", b, 1235, 1235};
        struct dbx_errors errs = {0};
        assert_int_equal(auth_pending_keys_write(f->auth, enum_list, &l, &errs), 2);
        assert_int_equal(errs.n, 0);
        check_pup_files(a, m->delegate_parent, 1);
        check_pup_files(b, m->delegate_parent, 2);
        assert_int_equal(stat(ka, &st), 0);
        assert_int_equal(st.st_uid, 1234);
        assert_int_equal(st.st_gid, 1234);
        /* Nothing is due any more. */
        assert_int_equal(auth_pending_keys_write(f->auth, enum_list, &l, &errs), 0);

        /* A new pup gets the next index; a pup asking again keeps its own. */
        assert_int_equal(auth_pup_keys_write(f->auth, "pup-c", c, (uid_t)-1, (gid_t)-1, &err), 0);
        check_pup_files(c, m->delegate_parent, 3);
        assert_int_equal(auth_pup_keys_write(f->auth, "pup-a", a, 1234, 1234, &err), 0);
        check_pup_files(a, m->delegate_parent, 1);

        /* Survives a reopen: same index. */
        close_auth(f);
        open_auth(f);
        assert_true(f->auth->has_key);
        assert_int_equal(auth_pup_keys_write(f->auth, "pup-b", b, 0, 0, &err), 0);
        check_pup_files(b, m->delegate_parent, 2);
        keys_master_free(m);
}

static void test_pup_keys_hostile_storage(void **state)
{
        struct fixture *f = *state;
        struct dbx_error err = {0};
        struct keys_master *m = import_master();
        assert_int_equal(auth_key_store(f->auth, m, now_ms(), &err), 0);
        _cleanup_free_ char *s = mkstorage(f, "evil");
        _cleanup_free_ char *victim = xasprintf("%s/victim", f->dir);
        assert_int_equal(fs_write_atomic(victim, "precious", 8, 0644), 0);

        /* A symlink (and a hard link) planted where the key goes: replaced,
         * never written through. */
        _cleanup_free_ char *k = xasprintf("%s/%s", s, AUTH_PUP_KEY_FILE);
        _cleanup_free_ char *x = xasprintf("%s/%s", s, AUTH_PUP_EXTENDED_KEY_FILE);
        assert_int_equal(symlink(victim, k), 0);
        assert_int_equal(link(victim, x), 0);
        assert_int_equal(auth_pup_keys_write(f->auth, "evil", s, 0, 0, &err), 0);
        _cleanup_free_ char *v = read_file(f->dir, "victim");
        assert_string_equal(v, "precious");
        check_pup_files(s, m->delegate_parent, 1);

        /* The storage directory itself, or a parent, is a symlink. */
        _cleanup_free_ char *link_dir = xasprintf("%s/storage/linked", f->dir);
        assert_int_equal(symlink(f->dir, link_dir), 0);
        err = (struct dbx_error){0};
        assert_int_equal(auth_pup_keys_write(f->auth, "linked", link_dir, 0, 0, &err), -ELOOP);
        assert_non_null(strstr(err.message, "symlink"));
        _cleanup_free_ char *via = xasprintf("%s/storage/linked/storage/evil", f->dir);
        assert_int_equal(auth_pup_keys_write(f->auth, "evil", via, 0, 0, &err), -ELOOP);

        /* Bad ids and paths. */
        static const char *const ids[] = {"", "../x", "A", "a/b", "-a", NULL};
        for (size_t i = 0; i < ARRAY_SIZE(ids); i++)
                assert_int_equal(auth_pup_keys_write(f->auth, ids[i], s, 0, 0, &err), -EINVAL);
        assert_int_equal(auth_pup_keys_write(f->auth, "ok", "relative/dir", 0, 0, &err), -EINVAL);
        _cleanup_free_ char *dots = xasprintf("%s/storage/../storage/evil", f->dir);
        assert_int_equal(auth_pup_keys_write(f->auth, "ok", dots, 0, 0, &err), -EINVAL);
        _cleanup_free_ char *missing = xasprintf("%s/storage/missing", f->dir);
        assert_int_equal(auth_pup_keys_write(f->auth, "missing", missing, 0, 0, &err), -ENOENT);
        keys_master_free(m);
}

static void test_parent_repair(void **state)
{
        struct fixture *f = *state;
        struct dbx_error err = {0};
        struct keys_master *m = import_master();
        assert_int_equal(auth_key_store(f->auth, m, now_ms(), &err), 0);
        _cleanup_free_ char *pf = xasprintf("%s/keys/delegate-parent", f->dir);
        _cleanup_free_ char *s = mkstorage(f, "p");

        /* Lost: writing pup keys fails clearly; the login path repairs it. */
        assert_int_equal(unlink(pf), 0);
        assert_true(auth_parent_needs_repair(f->auth));
        assert_int_equal(auth_pup_keys_write(f->auth, "p", s, 0, 0, &err), -ENOENT);
        assert_non_null(strstr(err.message, "re-derived at the next login"));

        /* Swapped for another key's parent: refused. */
        struct keys_master *other = NULL;
        assert_int_equal(keys_master_create("pw2", &other, &err), 0);
        assert_int_equal(
            fs_write_atomic(pf, other->delegate_parent, strlen(other->delegate_parent), 0600), 0);
        assert_true(auth_parent_needs_repair(f->auth));
        assert_int_equal(auth_pup_keys_write(f->auth, "p", s, 0, 0, &err), -EBADMSG);
        assert_int_equal(auth_parent_store(f->auth, other->delegate_parent, &err), -EBADMSG);
        assert_int_equal(auth_parent_store(f->auth, "xprvnonsense", &err), -EINVAL);

        /* Re-derived from the vault with the password: accepted. */
        char parent[BIP32_XKEY_STR_MAX];
        assert_int_equal(keys_delegate_parent_from_vault(f->auth->cred.vault, "pw", parent,
                                                         sizeof(parent), &err),
                         0);
        assert_int_equal(auth_parent_store(f->auth, parent, &err), 0);
        assert_false(auth_parent_needs_repair(f->auth));
        assert_int_equal(auth_pup_keys_write(f->auth, "p", s, 0, 0, &err), 0);
        check_pup_files(s, m->delegate_parent, 1);
        keys_master_free(other);
        keys_master_free(m);
}

static void test_credentials_replace(void **state)
{
        struct fixture *f = *state;
        struct dbx_error err = {0};
        char tok[KEYS_TOKEN_HEX_SIZE];
        struct auth_session *s;
        struct keys_master *m = import_master();
        assert_int_equal(auth_key_store(f->auth, m, now_ms(), &err), 0);
        uint64_t gen = f->auth->generation;
        assert_int_equal(auth_session_create(f->auth, "c", now_ms(), tok), 0);
        struct keys_credentials next;
        assert_int_equal(keys_rekey_with_mnemonic(m->master_pub, MNEMONIC, "new", &next, &err), 0);
        assert_int_equal(auth_credentials_replace(f->auth, &next, now_ms(), &err), 0);
        assert_int_equal(f->auth->generation, gen + 1);
        assert_int_equal(auth_session_check(f->auth, tok, now_ms(), &s), -ENOENT);
        close_auth(f);
        open_auth(f);
        assert_int_equal(auth_sessions_count(f->auth->sessions), 0);
        assert_int_equal(keys_password_verify(f->auth->cred.password_hash, "new"), 0);
        assert_int_equal(keys_password_verify(f->auth->cred.password_hash, "pw"), -EACCES);
        assert_int_equal(auth_setup_complete(f->auth, &err), 0);
        close_auth(f);
        open_auth(f);
        assert_true(f->auth->setup_done);
        keys_master_free(m);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_table_add_find_remove),
            cmocka_unit_test(test_table_cap_evicts_lru),
            cmocka_unit_test(test_session_state),
            cmocka_unit_test(test_ratelimit_delays),
            cmocka_unit_test(test_ratelimit_bounded),
            cmocka_unit_test(test_ratelimit_key),
            cmocka_unit_test_setup_teardown(test_auth_fresh, setup, teardown),
            cmocka_unit_test_setup_teardown(test_auth_sessions_persist_and_expire, setup, teardown),
            cmocka_unit_test_setup_teardown(test_auth_last_used_written_coarsely, setup, teardown),
            cmocka_unit_test_setup_teardown(test_auth_cap_and_sweep, setup, teardown),
            cmocka_unit_test_setup_teardown(test_auth_bad_settings, setup, teardown),
            cmocka_unit_test_setup_teardown(test_pup_keys, setup, teardown),
            cmocka_unit_test_setup_teardown(test_pup_keys_hostile_storage, setup, teardown),
            cmocka_unit_test_setup_teardown(test_parent_repair, setup, teardown),
            cmocka_unit_test_setup_teardown(test_credentials_replace, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
