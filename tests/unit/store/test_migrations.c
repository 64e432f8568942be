/* The migration harness: every migration applies on an empty database and
 * on top of the previous version, a failing migration rolls back and leaves
 * the version untouched, and a newer schema is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "core/fsutil.h"
#include "core/macro.h"
#include "store/migrations.h"
#include "store/store.h"

static char dir[] = "/tmp/dbx-test-store-XXXXXX";

static int setup(void **state)
{
        strcpy(dir, "/tmp/dbx-test-store-XXXXXX");
        return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
        return fs_rm_rf(dir);
}

static void test_fresh_and_reopen(void **state)
{
        _cleanup_free_ char *p = xasprintf("%s/a.db", dir);
        struct store *s = NULL;
        struct dbx_error err = {0};
        assert_int_equal(store_open(p, &s, &err), 0);
        assert_int_equal(store_schema_version(s), (int)store_migrations_count());
        assert_int_equal(store_setting_set(s, "k", "v1"), 0);
        assert_int_equal(store_setting_set(s, "k", "v2"), 0);
        s = store_close(s);
        assert_int_equal(store_open(p, &s, &err), 0); /* reopen: no migration re-run */
        char *v = NULL;
        assert_int_equal(store_setting_get(s, "k", &v), 0);
        assert_string_equal(v, "v2");
        free(v);
        assert_int_equal(store_setting_get(s, "absent", &v), -ENOENT);
        bool b = true;
        assert_int_equal(store_setting_get_bool(s, "absent", &b), 0);
        assert_false(b);
        assert_int_equal(store_setting_del(s, "k"), 0);
        assert_int_equal(store_setting_get(s, "k", &v), -ENOENT);
        /* WAL mode is on */
        _cleanup_free_ char *wal = xasprintf("%s-wal", p);
        assert_int_equal(access(wal, F_OK), 0);
        store_close(s);
}

/* Each prefix of the real list followed by the rest: upgrade path works. */
/* The settings cache never lies, also across a rolled-back transaction. */
static void test_settings_cache(void **state)
{
        _cleanup_free_ char *p = xasprintf("%s/c.db", dir);
        struct store *s = NULL;
        struct dbx_error err = {0};
        char *v = NULL;
        assert_int_equal(store_open(p, &s, &err), 0);
        assert_int_equal(store_setting_get(s, "k", &v), -ENOENT); /* caches absence */
        assert_int_equal(store_setting_set(s, "k", "1"), 0);
        assert_int_equal(store_setting_get(s, "k", &v), 0);
        assert_string_equal(v, "1");
        free(v);
        assert_int_equal(store_begin(s), 0);
        assert_int_equal(store_setting_set(s, "k", "2"), 0);
        assert_int_equal(store_setting_del(s, "other"), 0);
        assert_int_equal(store_rollback(s), 0);
        assert_int_equal(store_setting_get(s, "k", &v), 0);
        assert_string_equal(v, "1");
        free(v);
        /* more keys than the cache holds still read and write correctly */
        for (int i = 0; i < STORE_SETTINGS_CACHE_MAX + 10; i++) {
                char k[32], val[32];
                snprintf(k, sizeof(k), "key%d", i);
                snprintf(val, sizeof(val), "v%d", i);
                assert_int_equal(store_setting_set(s, k, val), 0);
        }
        assert_int_equal(store_setting_get(s, "key265", &v), 0);
        assert_string_equal(v, "v265");
        free(v);
        store_close(s);
}

static void test_stepwise_upgrade(void **state)
{
        for (size_t k = 0; k <= store_migrations_n; k++) {
                _cleanup_free_ char *p = xasprintf("%s/step%zu.db", dir, k);
                struct store *s = NULL;
                struct dbx_error err = {0};
                assert_int_equal(store_open_with(p, store_migrations, k, &s, &err), 0);
                assert_int_equal(store_schema_version(s), (int)k);
                store_close(s);
                assert_int_equal(store_open(p, &s, &err), 0);
                assert_int_equal(store_schema_version(s), (int)store_migrations_n);
                store_close(s);
        }
}

static void test_failing_migration_rolls_back(void **state)
{
        static const struct store_migration bad[] = {
            {"one", "CREATE TABLE t1 (a INTEGER);"},
            {"two", "CREATE TABLE t2 (a INTEGER); INSERT INTO nope VALUES (1);"},
        };
        _cleanup_free_ char *p = xasprintf("%s/bad.db", dir);
        struct store *s = NULL;
        struct dbx_error err = {0};
        assert_int_equal(store_open_with(p, bad, 2, &s, &err), -EIO);
        assert_non_null(strstr(err.message, "migration 2 (two) failed"));
        assert_non_null(strstr(err.message, "no such table: nope"));
        assert_int_equal(store_open_with(p, bad, 1, &s, &err), 0);
        assert_int_equal(store_schema_version(s), 1);
        /* t2 was rolled back with its migration */
        assert_int_equal(store_exec(s, "SELECT * FROM t2", &err), -EIO);
        store_close(s);
}

static void test_newer_schema_refused(void **state)
{
        static const struct store_migration m[] = {
            {"one", "CREATE TABLE t1 (a INTEGER);"},
            {"two", "CREATE TABLE t2 (a INTEGER);"},
        };
        _cleanup_free_ char *p = xasprintf("%s/newer.db", dir);
        struct store *s = NULL;
        struct dbx_error err = {0};
        assert_int_equal(store_open_with(p, m, 2, &s, &err), 0);
        store_close(s);
        assert_int_equal(store_open_with(p, m, 1, &s, &err), -EPROTO);
        assert_non_null(strstr(err.message, "newer than this dogeboxd"));
}

static void test_not_a_database(void **state)
{
        _cleanup_free_ char *p = xasprintf("%s/junk.db", dir);
        assert_int_equal(fs_write_atomic(p, "this is not sqlite, not at all....", 34, 0600), 0);
        struct store *s = NULL;
        struct dbx_error err = {0};
        assert_true(store_open(p, &s, &err) < 0);
        assert_non_null(strstr(err.message, "database"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_fresh_and_reopen, setup, teardown),
            cmocka_unit_test_setup_teardown(test_settings_cache, setup, teardown),
            cmocka_unit_test_setup_teardown(test_stepwise_upgrade, setup, teardown),
            cmocka_unit_test_setup_teardown(test_failing_migration_rolls_back, setup, teardown),
            cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
            cmocka_unit_test_setup_teardown(test_not_a_database, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
