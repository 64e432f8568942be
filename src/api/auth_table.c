/* The pure parts of auth: the session table and the failed-login rate
 * limiter. No I/O and no clock, so unit tests drive them directly. */
#include <arpa/inet.h>
#include <string.h>
#include "api/auth.h"
#include "core/macro.h"

/* --- Session table -------------------------------------------------------
 * Open addressing with linear probing over pointers (a session does not
 * move while it lives, so req->session stays valid), at most half full,
 * deletion by backward shift (no tombstones, so probes stay short). */

#define SESSIONS_LOAD 2 /* slots per session, rounded up to a power of two */

struct auth_sessions {
        struct auth_session **slots;
        size_t mask;
        size_t n, max;
};

static size_t slot_of(const struct auth_sessions *t, const uint8_t *hash)
{
        uint64_t k;
        memcpy(&k, hash, sizeof(k)); /* a keyed hash: uniformly random already */
        return (size_t)k & t->mask;
}

struct auth_sessions *auth_sessions_new(size_t max)
{
        struct auth_sessions *t = xcalloc(1, sizeof(*t));
        size_t cap = 16;
        if (max < 1)
                max = 1;
        if (max > AUTH_SESSIONS_LIMIT)
                max = AUTH_SESSIONS_LIMIT;
        while (cap < max * SESSIONS_LOAD)
                cap <<= 1;
        t->slots = xcalloc(cap, sizeof(*t->slots));
        t->mask = cap - 1;
        t->max = max;
        return t;
}

void auth_sessions_clear(struct auth_sessions *t)
{
        for (size_t i = 0; i <= t->mask; i++) {
                free(t->slots[i]);
                t->slots[i] = NULL;
        }
        t->n = 0;
}

struct auth_sessions *auth_sessions_free(struct auth_sessions *t)
{
        if (!t)
                return NULL;
        auth_sessions_clear(t);
        free(t->slots);
        free(t);
        return NULL;
}

size_t auth_sessions_count(const struct auth_sessions *t)
{
        return t->n;
}

size_t auth_sessions_max(const struct auth_sessions *t)
{
        return t->max;
}

struct auth_session *auth_sessions_find(const struct auth_sessions *t,
                                        const uint8_t hash[KEYS_TOKEN_HASH_SIZE])
{
        for (size_t i = slot_of(t, hash);; i = (i + 1) & t->mask) {
                struct auth_session *s = t->slots[i];
                if (!s)
                        return NULL;
                if (keys_token_hash_equal(s->hash, hash))
                        return s;
        }
}

static size_t slot_index(const struct auth_sessions *t, const struct auth_session *s)
{
        for (size_t i = slot_of(t, s->hash);; i = (i + 1) & t->mask)
                if (t->slots[i] == s || !t->slots[i])
                        return i;
}

void auth_sessions_remove(struct auth_sessions *t, struct auth_session *s)
{
        size_t i = slot_index(t, s);
        if (t->slots[i] != s)
                return; /* not ours */
        free(s);
        t->slots[i] = NULL;
        t->n--;
        /* Backward shift: move later members of the cluster into the hole
         * when their home slot is at or before it (cyclically). */
        for (size_t j = (i + 1) & t->mask; t->slots[j]; j = (j + 1) & t->mask) {
                size_t home = slot_of(t, t->slots[j]->hash);
                bool movable = i <= j ? (home <= i || home > j) : (home <= i && home > j);
                if (movable) {
                        t->slots[i] = t->slots[j];
                        t->slots[j] = NULL;
                        i = j;
                }
        }
}

int auth_sessions_add(struct auth_sessions *t, const struct auth_session *s,
                      struct auth_session **ret, struct auth_session *ret_evicted)
{
        int evicted = 0;
        if (auth_sessions_find(t, s->hash))
                return -EEXIST;
        if (t->n >= t->max) {
                struct auth_session *lru = NULL;
                for (size_t i = 0; i <= t->mask; i++)
                        if (t->slots[i] && (!lru || t->slots[i]->last_used_ms < lru->last_used_ms))
                                lru = t->slots[i];
                if (ret_evicted)
                        *ret_evicted = *lru;
                auth_sessions_remove(t, lru);
                evicted = 1;
        }
        struct auth_session *copy = xmalloc(sizeof(*copy));
        *copy = *s;
        size_t i = slot_of(t, s->hash);
        while (t->slots[i])
                i = (i + 1) & t->mask;
        t->slots[i] = copy;
        t->n++;
        if (ret)
                *ret = copy;
        return evicted;
}

struct auth_session *auth_sessions_next(const struct auth_sessions *t, size_t *cursor)
{
        while (*cursor <= t->mask) {
                struct auth_session *s = t->slots[(*cursor)++];
                if (s)
                        return s;
        }
        return NULL;
}

enum auth_session_state auth_session_state(const struct auth_session *s, uint64_t idle_ms,
                                           uint64_t lifetime_ms, uint64_t now_ms)
{
        /* A clock that went backwards makes nothing expire early or late by
         * more than the jump; now < created is treated as age 0. */
        if (now_ms > s->created_ms && now_ms - s->created_ms >= lifetime_ms)
                return AUTH_SESSION_EXPIRED;
        if (now_ms > s->last_used_ms && now_ms - s->last_used_ms >= idle_ms)
                return AUTH_SESSION_IDLE;
        return AUTH_SESSION_VALID;
}

/* --- Rate limiter --------------------------------------------------------
 * A small array searched linearly: it is consulted once per login attempt,
 * which costs an Argon2id (~0.1-1 s) anyway. */

struct rl_entry {
        char key[AUTH_RL_KEY_MAX];
        unsigned failures;
        uint64_t last_ms;      /* last failure */
        uint64_t next_allowed; /* unix ms */
};

struct auth_ratelimit {
        struct rl_entry *e;
        size_t n, max;
};

struct auth_ratelimit *auth_ratelimit_new(size_t max_entries)
{
        struct auth_ratelimit *rl = xcalloc(1, sizeof(*rl));
        rl->max = max_entries ? max_entries : 1;
        rl->e = xcalloc(rl->max, sizeof(*rl->e));
        return rl;
}

struct auth_ratelimit *auth_ratelimit_free(struct auth_ratelimit *rl)
{
        if (rl) {
                free(rl->e);
                free(rl);
        }
        return NULL;
}

size_t auth_ratelimit_count(const struct auth_ratelimit *rl)
{
        return rl->n;
}

static void rl_drop(struct auth_ratelimit *rl, size_t i)
{
        rl->e[i] = rl->e[--rl->n];
}

static struct rl_entry *rl_find(struct auth_ratelimit *rl, const char *key, uint64_t now_ms)
{
        for (size_t i = 0; i < rl->n; i++) {
                if (!streq(rl->e[i].key, key))
                        continue;
                if (now_ms > rl->e[i].last_ms && now_ms - rl->e[i].last_ms >= AUTH_RL_FORGET_MS) {
                        rl_drop(rl, i);
                        return NULL;
                }
                return &rl->e[i];
        }
        return NULL;
}

uint64_t auth_ratelimit_wait(struct auth_ratelimit *rl, const char *key, uint64_t now_ms)
{
        struct rl_entry *e = rl_find(rl, key, now_ms);
        if (!e || now_ms >= e->next_allowed)
                return 0;
        return e->next_allowed - now_ms;
}

static uint64_t delay_after(unsigned failures)
{
        if (failures < AUTH_RL_FREE_FAILURES)
                return 0;
        unsigned shift = failures - AUTH_RL_FREE_FAILURES;
        if (shift >= 32)
                return AUTH_RL_DELAY_MAX_MS;
        uint64_t d = (uint64_t)AUTH_RL_DELAY_BASE_MS << shift;
        return MIN(d, (uint64_t)AUTH_RL_DELAY_MAX_MS);
}

uint64_t auth_ratelimit_fail(struct auth_ratelimit *rl, const char *key, uint64_t now_ms)
{
        struct rl_entry *e = rl_find(rl, key, now_ms);
        if (!e) {
                if (rl->n == rl->max) {
                        /* Evict the address whose last failure is oldest. */
                        size_t old = 0;
                        for (size_t i = 1; i < rl->n; i++)
                                if (rl->e[i].last_ms < rl->e[old].last_ms)
                                        old = i;
                        rl_drop(rl, old);
                }
                e = &rl->e[rl->n++];
                memset(e, 0, sizeof(*e));
                snprintf(e->key, sizeof(e->key), "%s", key);
        }
        if (e->failures < UINT32_MAX)
                e->failures++;
        e->last_ms = now_ms;
        uint64_t d = delay_after(e->failures);
        e->next_allowed = now_ms + d;
        return d;
}

void auth_ratelimit_success(struct auth_ratelimit *rl, const char *key)
{
        for (size_t i = 0; i < rl->n; i++)
                if (streq(rl->e[i].key, key)) {
                        rl_drop(rl, i);
                        return;
                }
}

void auth_ratelimit_key(const char *remote, char out[AUTH_RL_KEY_MAX])
{
        struct in6_addr a;
        char buf[INET6_ADDRSTRLEN];
        if (remote && strchr(remote, ':') && inet_pton(AF_INET6, remote, &a) == 1) {
                if (IN6_IS_ADDR_V4MAPPED(&a)) {
                        inet_ntop(AF_INET, &a.s6_addr[12], buf, sizeof(buf));
                        snprintf(out, AUTH_RL_KEY_MAX, "%s", buf);
                        return;
                }
                memset(&a.s6_addr[8], 0, 8);
                inet_ntop(AF_INET6, &a, buf, sizeof(buf));
                snprintf(out, AUTH_RL_KEY_MAX, "%s/64", buf);
                return;
        }
        snprintf(out, AUTH_RL_KEY_MAX, "%s", remote ? remote : "");
}
