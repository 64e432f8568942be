/* bench-auth-session: the per-request session check as the daemon runs it,
 * through struct auth (src/api/auth.c): auth_session_check() hashes the
 * presented token (BLAKE2b), probes the in-memory table, compares in
 * constant time, checks idle/lifetime and updates last-used, writing it
 * to SQLite at most once per AUTH_TOUCH_GRANULARITY_MS per session.
 *
 * Figures for 1, 32 (the default cap) and 1024 (the largest allowed cap)
 * live sessions in a real SQLite store, against the 5 us budget (issue 7);
 * plus the cost of the rare check that writes last-used, and of a login's
 * non-Argon2id part (creating a session). Nothing is asserted. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "api/auth.h"
#include "core/fsutil.h"
#include "core/macro.h"
#include "core/util.h"

#define BUDGET_NS 5000.0
#define CHECKS    200000
#define WRITES    2000
#define CREATES   1000

static double now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void run(const char *dir, unsigned n)
{
        struct dbx_error err = {0};
        struct store *store = NULL;
        struct auth *a = NULL;
        _cleanup_free_ char *sub = xasprintf("%s/n%u", dir, n);
        _cleanup_free_ char *db = xasprintf("%s/dogebox.db", sub);
        char max[16];
        fs_mkdir_p(sub, 0700);
        if (store_open(db, &store, &err) < 0) {
                fprintf(stderr, "store: %s\n", err.message);
                exit(1);
        }
        snprintf(max, sizeof(max), "%u", n);
        store_setting_set(store, "auth.sessionsMax", max);
        if (auth_new(store, NULL, sub, &a, &err) < 0) {
                fprintf(stderr, "auth: %s\n", err.message);
                exit(1);
        }
        char(*tok)[KEYS_TOKEN_HEX_SIZE] = xcalloc(n, KEYS_TOKEN_HEX_SIZE);
        uint64_t t0 = now_ms();
        double c0 = now_ns();
        for (unsigned i = 0; i < n; i++)
                auth_session_create(a, "192.0.2.1", t0, tok[i]);
        double create_ns = (now_ns() - c0) / n;

        /* Steady state: requests within the touch granularity (no write). */
        struct auth_session *s;
        unsigned bad = 0;
        double b = now_ns();
        for (unsigned i = 0; i < CHECKS; i++)
                bad += auth_session_check(a, tok[i % n], t0 + 1 + i / 1000, &s) != 0;
        double check_ns = (now_ns() - b) / CHECKS;

        /* Each check a minute later than the last: every one writes. */
        uint64_t t = t0 + 1000;
        b = now_ns();
        for (unsigned i = 0; i < WRITES; i++) {
                t += AUTH_TOUCH_GRANULARITY_MS;
                bad += auth_session_check(a, tok[0], t, &s) != 0;
        }
        double write_ns = (now_ns() - b) / WRITES;

        /* An unknown token (a 401) costs the same hash and one probe. */
        char other[KEYS_TOKEN_HEX_SIZE];
        keys_token_new(other);
        b = now_ns();
        for (unsigned i = 0; i < CHECKS; i++)
                bad += auth_session_check(a, other, t, &s) == 0;
        double miss_ns = (now_ns() - b) / CHECKS;

        printf("  N=%-5u check %5.0f ns (%.3f of budget) | unknown token %5.0f ns | check that "
               "writes last-used %6.1f us (once a minute per session) | new session %6.1f us%s\n",
               n, check_ns, check_ns / BUDGET_NS, miss_ns, write_ns / 1000, create_ns / 1000,
               bad ? "  [UNEXPECTED RESULTS]" : "");
        free(tok);
        auth_free(a);
        store_close(store);
}

int main(int argc, char **argv)
{
        if (argc != 2) {
                fprintf(stderr, "usage: bench-auth-session TMPDIR\n");
                return 2;
        }
        printf("per-request session check through struct auth (src/api/auth.c), budget %.0f "
               "ns:\n",
               BUDGET_NS);
        run(argv[1], 1);
        run(argv[1], AUTH_SESSIONS_DEFAULT);
        run(argv[1], AUTH_SESSIONS_LIMIT);
        return 0;
}
