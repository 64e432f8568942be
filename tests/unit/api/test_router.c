#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "api/router.h"
#include "core/macro.h"

/* A subset of upstream's table with every kind of overlap. The handler
 * pointer is the pattern string itself so a match can be checked. */
static const struct {
        const char *method, *pattern;
} routes[] = {
    {"GET", "/system/bootstrap"},
    {"POST", "/system/bootstrap"},
    {"GET", "/jobs"},
    {"GET", "/jobs/active"},
    {"GET", "/jobs/recent"},
    {"GET", "/jobs/{jobID}"},
    {"DELETE", "/jobs/{jobID}"},
    {"POST", "/jobs/clear-completed"},
    {"POST", "/pup/{ID}/{action}"},
    {"POST", "/pup/{pupId}/upgrade"},
    {"GET", "/pup/{ID}/metrics"},
    {"PUT", "/pup"},
    {NULL, "/ws/state/"},
    {NULL, "/ws/log/pup/{PupID}"},
    {"GET", "/sources/store"},
    {"GET", "/sources"},
    {"GET", "/{a}/{b}"},
};

static struct router *mk(void)
{
        struct router *r = router_new();
        for (size_t i = 0; i < ARRAY_SIZE(routes); i++)
                assert_int_equal(router_add(r, routes[i].method, routes[i].pattern,
                                            (void *)routes[i].pattern, 0),
                                 0);
        return r;
}

static void test_precedence(void **state)
{
        static const struct {
                const char *method, *path;
                int result;
                const char *pattern; /* expected match, or Allow for 405 */
                const char *param, *value;
        } t[] = {
            {"GET", "/jobs/active", ROUTER_FOUND, "/jobs/active", NULL, NULL},
            {"GET", "/jobs/recent", ROUTER_FOUND, "/jobs/recent", NULL, NULL},
            {"GET", "/jobs/abc", ROUTER_FOUND, "/jobs/{jobID}", "jobID", "abc"},
            {"DELETE", "/jobs/abc", ROUTER_FOUND, "/jobs/{jobID}", "jobID", "abc"},
            {"POST", "/pup/p1/upgrade", ROUTER_FOUND, "/pup/{pupId}/upgrade", "pupId", "p1"},
            {"POST", "/pup/p1/enable", ROUTER_FOUND, "/pup/{ID}/{action}", "action", "enable"},
            {"GET", "/pup/p1/metrics", ROUTER_FOUND, "/pup/{ID}/metrics", "ID", "p1"},
            {"HEAD", "/jobs", ROUTER_FOUND, "/jobs", NULL, NULL},
            {"GET", "/ws/state/", ROUTER_FOUND, "/ws/state/", NULL, NULL},
            {"GET", "/ws/state/extra", ROUTER_FOUND, "/ws/state/", NULL, NULL},
            {"PATCH", "/ws/log/pup/x", ROUTER_FOUND, "/ws/log/pup/{PupID}", "PupID", "x"},
            /* an exact 2-segment pattern beats redirecting to the prefix route */
            {"GET", "/ws/state", ROUTER_FOUND, "/{a}/{b}", NULL, NULL},
            /* literal /sources/store beats the wildcard /{a}/{b} */
            {"GET", "/sources/store", ROUTER_FOUND, "/sources/store", NULL, NULL},
            {"GET", "/x/y", ROUTER_FOUND, "/{a}/{b}", "b", "y"},
            /* method mismatch: 405 listing what exists */
            {"PUT", "/jobs", ROUTER_METHOD_NOT_ALLOWED, "GET, HEAD", NULL, NULL},
            {"DELETE", "/system/bootstrap", ROUTER_METHOD_NOT_ALLOWED, "GET, HEAD, POST", NULL,
             NULL},
            {"GET", "/pup/p1/enable", ROUTER_METHOD_NOT_ALLOWED, "POST", NULL, NULL},
            {"GET", "/pup", ROUTER_METHOD_NOT_ALLOWED, "PUT", NULL, NULL},
            /* trailing slash is a different path, as in Go */
            {"GET", "/jobs/", ROUTER_NOT_FOUND, NULL, NULL, NULL},
            {"GET", "/nothing/here/at/all", ROUTER_NOT_FOUND, NULL, NULL, NULL},
            {"GET", "/", ROUTER_NOT_FOUND, NULL, NULL, NULL},
            {"GET", "relative", ROUTER_NOT_FOUND, NULL, NULL, NULL},
            {"GET", "//jobs", ROUTER_NOT_FOUND, NULL, NULL, NULL},
        };
        struct router *r = mk();
        for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
                struct route_match m = {0};
                char allow[128];
                int res = router_match(r, t[i].method, t[i].path, &m, allow, sizeof(allow));
                if (res != t[i].result)
                        fail_msg("%s %s: got %d, want %d", t[i].method, t[i].path, res,
                                 t[i].result);
                if (res == ROUTER_FOUND) {
                        assert_string_equal(m.route->handler, t[i].pattern);
                        if (t[i].param)
                                assert_string_equal(route_param(&m, t[i].param), t[i].value);
                } else if (res == ROUTER_METHOD_NOT_ALLOWED) {
                        assert_string_equal(allow, t[i].pattern);
                }
        }
        router_free(r);
}

static void test_redirect(void **state)
{
        struct router *r = router_new();
        struct route_match m;
        assert_int_equal(router_add(r, NULL, "/ws/state/", NULL, ROUTE_WS), 0);
        assert_int_equal(router_match(r, "GET", "/ws/state", &m, NULL, 0), ROUTER_REDIRECT);
        assert_int_equal(router_match(r, "GET", "/ws/state/", &m, NULL, 0), ROUTER_FOUND);
        assert_int_equal(router_match(r, "GET", "/ws", &m, NULL, 0), ROUTER_NOT_FOUND);
        router_free(r);
}

static void test_bad_patterns(void **state)
{
        struct router *r = router_new();
        assert_int_equal(router_add(r, "GET", "nope", NULL, 0), -EINVAL);
        assert_int_equal(router_add(r, "GET", "/a//b", NULL, 0), -EINVAL);
        assert_int_equal(router_add(r, "GET", "/a/{b", NULL, 0), -EINVAL);
        assert_int_equal(router_add(r, "GET", "/a/{}", NULL, 0), -EINVAL);
        assert_int_equal(router_add(r, "GET", "/a/x{b}", NULL, 0), -EINVAL);
        assert_int_equal(router_count(r), 0);
        for (int i = 0; i < ROUTER_ROUTES_MAX; i++)
                assert_int_equal(router_add(r, "GET", "/a", NULL, 0), 0);
        assert_int_equal(router_add(r, "GET", "/a", NULL, 0), -E2BIG);
        router_free(r);
}

static void test_long_path(void **state)
{
        struct router *r = mk();
        char path[ROUTER_PATH_MAX + 10];
        memset(path, 'a', sizeof(path) - 1);
        path[0] = '/';
        path[sizeof(path) - 1] = 0;
        struct route_match m;
        assert_int_equal(router_match(r, "GET", path, &m, NULL, 0), ROUTER_NOT_FOUND);
        /* deeper than ROUTER_SEGMENTS_MAX */
        char deep[200] = "";
        for (int i = 0; i < ROUTER_SEGMENTS_MAX + 1; i++)
                strcat(deep, "/x");
        assert_int_equal(router_match(r, "GET", deep, &m, NULL, 0), ROUTER_NOT_FOUND);
        router_free(r);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_precedence),
            cmocka_unit_test(test_redirect),
            cmocka_unit_test(test_bad_patterns),
            cmocka_unit_test(test_long_path),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
