#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "core/json.h"

static void test_parse_table(void **state)
{
        static const struct {
                const char *in;
                bool want_object;
                int rc;
                const char *msg_prefix;
        } t[] = {
            {"{}", true, 0, NULL},
            {"  {\"a\":1}\n", true, 0, NULL},
            {"", true, -EINVAL, "empty body: a JSON object is expected"},
            {"   \n", true, -EINVAL, "empty body"},
            {"[1,2]", true, -EINVAL, "a JSON object is expected"},
            {"[1,2]", false, 0, NULL},
            {"{\"a\":", true, -EINVAL, "malformed JSON at line 1"},
            {"{\"a\":1,\"a\":2}", true, -EINVAL, "malformed JSON"},
            {"nul", false, -EINVAL, "malformed JSON"},
            {"\"str\"", false, 0, NULL},
            {"{\"s\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}", true, 0, NULL},
        };
        for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
                struct dbx_error err = {0};
                json_t *j = NULL;
                int r = json_parse_bounded(t[i].in, strlen(t[i].in), JSON_DEPTH_MAX,
                                           t[i].want_object, &j, &err);
                assert_int_equal(r, t[i].rc);
                if (t[i].msg_prefix)
                        assert_true(
                            strncmp(err.message, t[i].msg_prefix, strlen(t[i].msg_prefix)) == 0);
                if (r == 0)
                        assert_non_null(j);
                json_decref(j);
        }
}

static void test_depth_limit(void **state)
{
        char buf[200];
        struct dbx_error err = {0};
        json_t *j = NULL;
        /* exactly the limit is fine, one more is refused */
        for (int depth = JSON_DEPTH_MAX; depth <= JSON_DEPTH_MAX + 1; depth++) {
                int n = 0;
                for (int i = 0; i < depth; i++)
                        buf[n++] = '[';
                for (int i = 0; i < depth; i++)
                        buf[n++] = ']';
                int r = json_parse_bounded(buf, (size_t)n, JSON_DEPTH_MAX, false, &j, &err);
                if (depth == JSON_DEPTH_MAX) {
                        assert_int_equal(r, 0);
                        json_decref(j);
                } else {
                        assert_int_equal(r, -E2BIG);
                        assert_string_equal(err.message,
                                            "JSON nested 33 levels deep: at most 32 are allowed");
                }
        }
        /* brackets inside strings, escaped quotes, do not count */
        const char *s = "[\"\\\"[[[[\"]";
        assert_int_equal(json_text_depth(s, strlen(s)), 1);
}

static void test_iget(void **state)
{
        json_t *o = json_pack("{s:s,s:s,s:i,s:b,s:n}", "keyMap", "exact", "KEYMAP", "upper", "Port",
                              80, "On", 1, "nul", NULL);
        const char *s = NULL;
        long long n = 0;
        bool b = false;
        struct dbx_error err = {0};

        assert_string_equal(json_string_value(json_object_iget(o, "keyMap")), "exact");
        assert_non_null(json_object_iget(o, "keymap")); /* case-insensitive */
        assert_null(json_object_iget(o, "missing"));
        assert_int_equal(json_iget_int(o, "port", &n, &err), 0);
        assert_int_equal(n, 80);
        assert_int_equal(json_iget_bool(o, "on", &b, &err), 0);
        assert_true(b);
        s = "default";
        assert_int_equal(json_iget_string(o, "nul", &s, &err), 0); /* null → default */
        assert_string_equal(s, "default");
        assert_int_equal(json_iget_string(o, "port", &s, &err), -EINVAL);
        assert_string_equal(err.path, "port");
        assert_string_equal(err.message, "a string is expected");
        assert_int_equal(json_iget_bool(o, "keyMap", &b, &err), -EINVAL);
        assert_int_equal(json_iget_int(o, "On", &n, &err), -EINVAL);
        json_t *arr = json_array();
        assert_null(json_object_iget(arr, "x"));
        json_decref(arr);
        json_decref(o);
}

static void test_error_text(void **state)
{
        struct dbx_error e = {0};
        char buf[600];
        assert_int_equal(dbx_error_set(&e, -EINVAL, "container.exposes[2].port",
                                       "%d is not a port (1-65535)", 70000),
                         -EINVAL);
        assert_string_equal(dbx_error_text(&e, buf, sizeof(buf)),
                            "container.exposes[2].port: 70000 is not a port (1-65535)");
        dbx_error_set(&e, -ENOENT, NULL, "plain");
        assert_string_equal(dbx_error_text(&e, buf, sizeof(buf)), "plain");
        assert_int_equal(dbx_error_set(NULL, -EIO, "", "x"), -EIO);

        struct dbx_errors list = {0};
        for (int i = 0; i < DBX_ERRORS_MAX + 5; i++)
                dbx_errors_add(&list, -EINVAL, "a", "n=%d", i);
        assert_int_equal(list.n, DBX_ERRORS_MAX);
        assert_int_equal(list.dropped, 5);
        assert_string_equal(list.items[3].message, "n=3");
        dbx_errors_free(&list);
        assert_int_equal(list.n, 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_parse_table),
            cmocka_unit_test(test_depth_limit),
            cmocka_unit_test(test_iget),
            cmocka_unit_test(test_error_text),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
