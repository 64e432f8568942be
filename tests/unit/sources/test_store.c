/* The sources tables (store_sources.c): insert with the first catalog,
 * uniqueness of id and location, a successful load replacing the catalog
 * and clearing the error in one go, a failed load keeping the catalog,
 * deletion with its catalog, and the installed-pups check before and
 * after the pups table exists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "core/fsutil.h"
#include "store/migrations.h"
#include "store/store_sources.h"

static char dir[] = "/tmp/dbx-test-srcstore-XXXXXX";

static int setup(void **state)
{
        strcpy(dir, "/tmp/dbx-test-srcstore-XXXXXX");
        return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
        return fs_rm_rf(dir);
}

static struct store *open_db(const char *name)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, name);
        struct store *s = NULL;
        struct dbx_error err = {0};
        if (store_open(p, &s, &err) < 0)
                fail_msg("store_open: %s", err.message);
        return s;
}

static struct store_source row(const char *id, const char *location)
{
        return (struct store_source){
            .id = (char *)id,
            .kind = (char *)"disk",
            .location = (char *)location,
            .name = (char *)"Name",
            .description = (char *)"Desc",
            .added_ms = 1000,
            .last_ok_ms = 1000,
        };
}

static void test_lifecycle_of_a_row(void **state)
{
        struct store *s = open_db("a.db");
        struct store_source r = row("one", "/srv/one");
        struct store_source *v = NULL;
        size_t n = 0;
        char *cat = NULL;
        size_t len;
        int format;
        int64_t loaded;

        assert_int_equal(store_source_insert(s, &r, "{\"v\":1}", 1, 1000), 0);
        /* the id and the location are unique */
        struct store_source same_id = row("one", "/srv/other");
        assert_int_equal(store_source_insert(s, &same_id, "{}", 1, 1), -EEXIST);
        struct store_source same_loc = row("two", "/srv/one");
        assert_int_equal(store_source_insert(s, &same_loc, "{}", 1, 1), -EEXIST);
        /* a failed insert left nothing half-written */
        assert_int_equal(store_source_catalog(s, "two", &format, &loaded, &cat, &len), -ENOENT);

        /* a failed load: the error, the catalog stays */
        assert_int_equal(store_source_set_error(s, "one", "HTTP 404", 2000), 0);
        assert_int_equal(store_sources_list(s, &v, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(v[0].id, "one");
        assert_string_equal(v[0].last_error, "HTTP 404");
        assert_int_equal(v[0].last_error_ms, 2000);
        assert_int_equal(v[0].last_ok_ms, 1000);
        assert_null(v[0].pubkey);
        store_sources_free(v, n);
        assert_int_equal(store_source_catalog(s, "one", &format, &loaded, &cat, &len), 0);
        assert_string_equal(cat, "{\"v\":1}");
        assert_int_equal(len, 7);
        assert_int_equal(loaded, 1000);
        free(cat);

        /* a successful load: new catalog, new name, error cleared */
        assert_int_equal(store_source_set_ok(s, "one", "New", "D2", "{\"v\":2}", 1, 3000), 0);
        assert_int_equal(store_sources_list(s, &v, &n), 0);
        assert_string_equal(v[0].name, "New");
        assert_string_equal(v[0].description, "D2");
        assert_null(v[0].last_error);
        assert_int_equal(v[0].last_error_ms, 0);
        assert_int_equal(v[0].last_ok_ms, 3000);
        store_sources_free(v, n);
        assert_int_equal(store_source_catalog(s, "one", &format, &loaded, &cat, &len), 0);
        assert_string_equal(cat, "{\"v\":2}");
        free(cat);

        assert_int_equal(store_source_set_location(s, "one", "/srv/moved"), 0);
        assert_int_equal(store_source_set_ok(s, "nope", "x", "", "{}", 1, 1), -ENOENT);
        assert_int_equal(store_source_set_error(s, "nope", "x", 1), -ENOENT);
        assert_int_equal(store_source_set_location(s, "nope", "/x"), -ENOENT);

        /* the catalog goes with the source */
        assert_int_equal(store_source_delete(s, "one"), 0);
        assert_int_equal(store_source_delete(s, "one"), -ENOENT);
        assert_int_equal(store_source_catalog(s, "one", &format, &loaded, &cat, &len), -ENOENT);
        assert_int_equal(store_sources_list(s, &v, &n), 0);
        assert_int_equal(n, 0);
        free(v);
        /* its location is free again */
        assert_int_equal(store_source_insert(s, &same_loc, NULL, 0, 0), 0);
        assert_int_equal(store_source_catalog(s, "two", &format, &loaded, &cat, &len), -ENOENT);
        store_close(s);
}

/* A database with only the settings and sources migrations: what the
 * store looks like before the lifecycle's pups migration. */
static struct store *open_sources_only(const char *name)
{
        const struct store_migration *mine = NULL;
        for (size_t i = 0; i < store_migrations_n; i++)
                if (streq(store_migrations[i].name, "sources"))
                        mine = &store_migrations[i];
        assert_non_null(mine);
        struct store_migration list[] = {store_migrations[0], *mine};
        _cleanup_free_ char *p = xasprintf("%s/%s", dir, name);
        struct store *s = NULL;
        struct dbx_error err = {0};
        assert_int_equal(store_open_with(p, list, ARRAY_SIZE(list), &s, &err), 0);
        return s;
}

/* The check needs only the columns id, name and source_id. */
static void test_users(void **state)
{
        struct store *s = open_sources_only("b.db");
        struct store_source r = row("src", "/srv/src");
        char **ids = NULL, **names = NULL;
        size_t n = 9;
        assert_int_equal(store_source_insert(s, &r, "{}", 1, 1), 0);
        assert_int_equal(store_source_users(s, "src", &ids, &names, &n), 0);
        assert_int_equal(n, 0);
        /* rows of the lifecycle's table, whatever else it holds */
        assert_int_equal(store_exec(s,
                                    "CREATE TABLE pups (id TEXT PRIMARY KEY, name "
                                    "TEXT, source_id TEXT);"
                                    "INSERT INTO pups(id, name, source_id) VALUES ('b2', 'Zeta', "
                                    "'src'), ('a1', 'Alpha', 'src'), ('c3', 'Other', 'else');",
                                    NULL),
                         0);
        assert_int_equal(store_source_users(s, "src", &ids, &names, &n), 0);
        assert_int_equal(n, 2);
        assert_string_equal(names[0], "Alpha");
        assert_string_equal(ids[0], "a1");
        assert_string_equal(names[1], "Zeta");
        store_source_users_free(ids, names, n);
        store_close(s);
}

/* Before the lifecycle's migration exists: "no users". */
static void test_users_without_pups_table(void **state)
{
        struct store *s = open_sources_only("c.db");
        struct store_source r = row("src", "/srv/src");
        assert_int_equal(store_source_insert(s, &r, "{}", 1, 1), 0);
        char **ids = NULL, **names = NULL;
        size_t n = 9;
        assert_int_equal(store_source_users(s, "src", &ids, &names, &n), 0);
        assert_int_equal(n, 0);
        assert_null(ids);
        store_close(s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_lifecycle_of_a_row, setup, teardown),
            cmocka_unit_test_setup_teardown(test_users, setup, teardown),
            cmocka_unit_test_setup_teardown(test_users_without_pups_table, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
