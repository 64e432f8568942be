/* jdoc: valid and invalid texts, escapes, surrogates, numbers, depth,
 * truncation, duplicate keys, lookups; and agreement with jansson on every
 * row (jdoc must accept exactly what jansson accepts). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "core/jdoc.h"
#include "core/json.h"

static int parse(const char *text, size_t len, unsigned flags, int depth, struct jdoc **d,
                 struct jdoc_error *err)
{
        return jdoc_parse(text, len, flags, depth, d, err);
}

static bool jansson_accepts(const char *text, size_t len)
{
        json_t *j = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
        json_decref(j);
        return j != NULL;
}

/* Accepted, equal to what jansson builds, and rendered as want. */
static void valid(const char *text, size_t len, const char *want)
{
        struct jdoc *d = NULL;
        struct jdoc_error err = {0};
        if (parse(text, len, 0, JDOC_DEPTH_MAX, &d, &err) != 0)
                fail_msg("refused %s: %s (line %d column %d)", text, err.text, err.line,
                         err.column);
        json_t *j = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);
        assert_non_null(j);
        json_t *mine = jv_to_json(jdoc_root(d));
        if (!json_equal(mine, j))
                fail_msg("%s: differs from jansson", text);
        char *out = json_dumps(mine, JSON_COMPACT | JSON_ENCODE_ANY);
        if (want)
                assert_string_equal(out, want);
        free(out);
        json_decref(mine);
        json_decref(j);
        jdoc_free(d);
}

static void test_valid(void **state)
{
        static const struct {
                const char *text, *want;
        } rows[] = {
            {"{}", "{}"},
            {"[]", "[]"},
            {" \t\r\n{ \"a\" : [ 1 , 2 ] } \n", "{\"a\":[1,2]}"},
            {"true", "true"},
            {"false", "false"},
            {"null", "null"},
            {"0", "0"},
            {"-0", "0"},
            {"123", "123"},
            {"-45", "-45"},
            {"1.5", "1.5"},
            {"-0.25", "-0.25"},
            {"1e3", "1000.0"},
            {"1E+2", "100.0"},
            {"2.5e-3", "0.0025000000000000001"},
            {"1e-400", "0.0"},
            {"9223372036854775807", "9223372036854775807"},
            {"-9223372036854775808", "-9223372036854775808"},
            {"\"\"", "\"\""},
            {"\"a\\\"b\\\\c\\/d\"", "\"a\\\"b\\\\c/d\""},
            {"\"\\b\\f\\n\\r\\t\"", "\"\\b\\f\\n\\r\\t\""},
            {"\"\\u0041\\u00e9\\u20ac\"", "\"A\xc3\xa9\xe2\x82\xac\""},
            {"\"\\uD83D\\uDE00\"", "\"\xf0\x9f\x98\x80\""},
            {"\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"", NULL},
            {"\"\x7f\"", "\"\x7f\""},
            {"{\"a\":1,\"A\":2}", "{\"a\":1,\"A\":2}"},
            {"[[[[]]]]", "[[[[]]]]"},
            {"{\"k\":{\"k\":{\"k\":null}}}", "{\"k\":{\"k\":{\"k\":null}}}"},
            {"[\"a long string that crosses the eight byte blocks 0123456789\"]", NULL},
            {"{\"1\":1,\"2\":2,\"3\":3,\"4\":4,\"5\":5,\"6\":6,\"7\":7,\"8\":8,\"9\":9,"
             "\"10\":10,\"11\":11,\"12\":12,\"13\":13,\"14\":14,\"15\":15,\"16\":16,"
             "\"17\":17,\"18\":18,\"19\":19,\"20\":20}",
             NULL},
        };
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
                valid(rows[i].text, strlen(rows[i].text), rows[i].want);
}

static void test_invalid(void **state)
{
        static const struct {
                const char *text;
                int line, column;
                const char *why; /* a substring of the message */
        } rows[] = {
            {"", 1, 1, "premature end"},
            {"   ", 1, 4, "premature end"},
            {"{", 1, 2, "object key"},
            {"[", 1, 2, "premature end"},
            {"[1", 1, 3, "premature end"},
            {"[1,]", 1, 4, "invalid token"},
            {"{\"a\":1,}", 1, 8, "object key"},
            {"{\"a\" 1}", 1, 6, "':'"},
            {"{1:2}", 1, 2, "object key"},
            {"[1 2]", 1, 4, "','"},
            {"{\"a\":1]", 1, 7, "'}'"},
            {"tru", 1, 1, "invalid token"},
            {"nul", 1, 1, "invalid token"},
            {"True", 1, 1, "invalid token"},
            {"truex", 1, 5, "end of input expected"},
            {"{} {}", 1, 4, "end of input expected"},
            {"01", 1, 2, "end of input expected"},
            {"1.", 1, 1, "invalid number"},
            {".5", 1, 1, "invalid token"},
            {"-", 1, 1, "invalid number"},
            {"+1", 1, 1, "invalid token"},
            {"1e", 1, 1, "invalid number"},
            {"1e+", 1, 1, "invalid number"},
            {"9223372036854775808", 1, 1, "too big integer"},
            {"-9223372036854775809", 1, 1, "too big negative integer"},
            {"1e309", 1, 1, "overflow"},
            {"-1e309", 1, 1, "overflow"},
            {"\"abc", 1, 5, "premature end"},
            {"\"a\nb\"", 1, 3, "control character"},
            {"\"\t\"", 1, 2, "control character"},
            {"\"\\x\"", 1, 2, "invalid escape"},
            {"\"\\u12\"", 1, 2, "\\u escape"},
            {"\"\\u12G4\"", 1, 2, "\\u escape"},
            {"\"\\u0000\"", 1, 2, "\\u0000"},
            {"\"\\uDC00\"", 1, 2, "low surrogate"},
            {"\"\\uD800\"", 1, 2, "high surrogate"},
            {"\"\\uD800x\"", 1, 2, "high surrogate"},
            {"\"\\uD800\\u0041\"", 1, 2, "surrogate pair"},
            {"\"\\uD800\\uD800\"", 1, 2, "surrogate pair"},
            {"\"\xc0\x80\"", 1, 2, "UTF-8"},
            {"\"\xc3\"", 1, 2, "UTF-8"},
            {"\"\xc3(\"", 1, 2, "UTF-8"},
            {"\"\xed\xa0\x80\"", 1, 2, "UTF-8"},
            {"\"\xe0\x80\x80\"", 1, 2, "UTF-8"},
            {"\"\xf0\x80\x80\x80\"", 1, 2, "UTF-8"},
            {"\"\xf4\x90\x80\x80\"", 1, 2, "UTF-8"},
            {"\"\xf8\x88\x80\x80\x80\"", 1, 2, "UTF-8"},
            {"\"\xff\"", 1, 2, "UTF-8"},
            {"{\"\xff\":1}", 1, 3, "UTF-8"},
            {"\xef\xbb\xbf{}", 1, 1, "invalid token"},
            {"{\"a\":1,\"a\":2}", 1, 13, "duplicate object key \"a\""},
            {"{\"a\":1,\"b\":{\"c\":1,\"c\":1}}", 2, 0, "duplicate"},
            {"{\"1\":1,\"2\":2,\"3\":3,\"4\":4,\"5\":5,\"6\":6,\"7\":7,\"8\":8,\"9\":9,"
             "\"10\":10,\"11\":11,\"12\":12,\"13\":13,\"14\":14,\"15\":15,\"16\":16,"
             "\"17\":17,\"18\":18,\"19\":19,\"7\":20}",
             1, 0, "duplicate object key \"7\""},
            {"[1,\n 2,\n x]", 3, 2, "invalid token"},
        };
        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
                const char *t = rows[i].text;
                struct jdoc *d = NULL;
                struct jdoc_error err = {0};
                int r = parse(t, strlen(t), 0, JDOC_DEPTH_MAX, &d, &err);
                if (r != -EINVAL)
                        fail_msg("row %zu (%s): %d, -EINVAL expected", i, t, r);
                assert_null(d);
                if (!strstr(err.text, rows[i].why))
                        fail_msg("row %zu (%s): \"%s\" does not say %s", i, t, err.text,
                                 rows[i].why);
                if (rows[i].line != 2 &&
                    (err.line != rows[i].line || (rows[i].column && err.column != rows[i].column)))
                        fail_msg("row %zu (%s): at %d:%d, %d:%d expected", i, t, err.line,
                                 err.column, rows[i].line, rows[i].column);
                if (jansson_accepts(t, strlen(t)))
                        fail_msg("row %zu (%s): jansson accepts it", i, t);
        }
}

/* The one difference from jansson, on purpose: a NUL byte after a number or
 * a literal, which jansson skips. */
static void test_nul_bytes(void **state)
{
        static const char text[] = "[1\0]";
        struct jdoc *d = NULL;
        struct jdoc_error err = {0};
        assert_int_equal(parse(text, sizeof(text) - 1, 0, JDOC_DEPTH_MAX, &d, &err), -EINVAL);
        assert_int_equal(parse("\"a\0\"", 4, 0, JDOC_DEPTH_MAX, &d, &err), -EINVAL);
        assert_non_null(strstr(err.text, "control character 0x0"));
}

static void test_allow_nul(void **state)
{
        struct jdoc *d = NULL;
        assert_int_equal(parse("[\"a\\u0000b\"]", 12, JDOC_ALLOW_NUL, 4, &d, NULL), 0);
        const struct jval *s = jdoc_root(d) + 1;
        assert_true(jv_is_string(s));
        assert_int_equal(jv_len(s), 3);
        assert_memory_equal(jv_str(s), "a\0b", 4);
        jdoc_free(d);
}

static void test_depth(void **state)
{
        char text[2 * 40 + 1];
        struct jdoc *d = NULL;
        struct jdoc_error err = {0};

        for (int n = 1; n <= 40; n++) {
                memset(text, '[', (size_t)n);
                memset(text + n, ']', (size_t)n);
                int r = parse(text, 2 * (size_t)n, 0, 32, &d, &err);
                if (n <= 32) {
                        assert_int_equal(r, 0);
                        assert_int_equal(jdoc_depth(d), n);
                        assert_int_equal(jdoc_nodes(d), (size_t)n);
                        d = jdoc_free(d);
                } else {
                        assert_int_equal(r, -E2BIG);
                        assert_non_null(strstr(err.text, "nested more than 32 levels"));
                }
        }
        assert_int_equal(parse("1", 1, 0, 0, &d, NULL), 0);
        assert_int_equal(jdoc_depth(d), 0);
        jdoc_free(d);
        assert_int_equal(parse("{}", 2, 0, 0, &d, NULL), -E2BIG);
}

/* Every proper prefix of a valid document is refused, as by jansson. */
static void test_truncation(void **state)
{
        static const char text[] =
            "{\"a\":[1,-2.5e3,true,false,null,\"x\\u00e9\\uD83D\\uDE00\\n\"],\"b\":{\"c\":{}}}";
        struct jdoc *d = NULL;
        for (size_t n = 0; n < sizeof(text) - 1; n++) {
                int r = parse(text, n, 0, JDOC_DEPTH_MAX, &d, NULL);
                /* "1" in "-2.5e3" and the like are numbers on their own only at
                 * the top level, which a prefix of this object never is */
                if (r != -EINVAL)
                        fail_msg("prefix of %zu bytes accepted", n);
                assert_false(jansson_accepts(text, n));
        }
        assert_int_equal(parse(text, sizeof(text) - 1, 0, JDOC_DEPTH_MAX, &d, NULL), 0);
        jdoc_free(d);
}

static void test_tape(void **state)
{
        static const char text[] = "{\"a\":[1,{\"x\":2}],\"b\":\"s\",\"c\":[]}";
        struct jdoc *d = NULL;
        const struct jval *k, *v, *e;
        size_t i, n = 0;

        assert_int_equal(parse(text, sizeof(text) - 1, 0, 8, &d, NULL), 0);
        const struct jval *root = jdoc_root(d);
        assert_true(jv_is_object(root));
        assert_int_equal(jv_len(root), 3);
        assert_int_equal(root->skip, jdoc_nodes(d));
        jv_object_foreach(root, i, k, v) n += jv_len(k) + (v == k + 1 ? 0 : 100);
        assert_int_equal(n, 3);
        const struct jval *a = jv_get(root, "a");
        assert_true(jv_is_array(a));
        assert_int_equal(jv_len(a), 2);
        n = 0;
        jv_array_foreach(a, i, e) n += (size_t)jv_type(e);
        assert_int_equal(n, JT_INT + JT_OBJECT);
        assert_int_equal(jv_int(jv_get(a + 2, "x")), 2);
        assert_string_equal(jv_str(jv_get(root, "b")), "s");
        assert_true(jv_is_array(jv_get(root, "c")));
        assert_int_equal(jv_len(jv_get(root, "c")), 0);
        assert_null(jv_get(root, "d"));
        assert_null(jv_get(a, "a"));
        assert_null(jv_str(a));
        assert_int_equal(jv_int(a), 0);
        jdoc_free(d);
}

static void test_iget(void **state)
{
        static const char text[] = "{\"NAME\":1,\"Name\":2,\"name\":3,\"Other\":4}";
        struct jdoc *d = NULL;
        assert_int_equal(parse(text, sizeof(text) - 1, 0, 8, &d, NULL), 0);
        const struct jval *root = jdoc_root(d);
        assert_int_equal(jv_int(jv_iget(root, "name")), 3); /* exact wins */
        assert_int_equal(jv_int(jv_iget(root, "nAmE")), 1); /* else the first */
        assert_int_equal(jv_int(jv_iget(root, "other")), 4);
        assert_null(jv_iget(root, "othe"));
        assert_null(jv_iget(root, "others"));
        assert_null(jv_iget(root + 1, "name")); /* not an object */
        assert_null(jv_iget(NULL, "name"));
        jdoc_free(d);
}

/* json_parse_bounded_doc(): the messages of json_parse_bounded(). */
static void test_bounded(void **state)
{
        static const char *const texts[] = {
            "", "  ", "[1,", "{\"a\":1,\"a\":2}", "[[[[[[]]]]]]", "[]", "\"\\u0000\""};
        for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
                struct dbx_error e1 = {0}, e2 = {0};
                struct jdoc *d = NULL;
                json_t *j = NULL;
                int r1 = json_parse_bounded(texts[i], strlen(texts[i]), 4, true, &j, &e1);
                int r2 = json_parse_bounded_doc(texts[i], strlen(texts[i]), 4, true, &d, &e2);
                assert_int_equal(r1, r2);
                assert_string_equal(e1.message, e2.message);
                assert_true(r1 < 0);
        }
        struct jdoc *d = NULL;
        struct dbx_error e = {0};
        assert_int_equal(json_parse_bounded_doc("{\"a\":[]}", 8, 4, true, &d, &e), 0);
        assert_true(jv_is_object(jdoc_root(d)));
        jdoc_free(d);
}

struct seen {
        size_t n;
        char text[256];
        int fail_at;
};

static int collect(void *ctx, const struct jval *e, size_t index)
{
        struct seen *s = ctx;
        if ((int)index == s->fail_at)
                return -ECANCELED;
        assert_int_equal(index, s->n);
        s->n++;
        json_t *j = jv_to_json(e);
        char *t = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        strncat(s->text, t, sizeof(s->text) - strlen(s->text) - 2);
        strcat(s->text, ";");
        free(t);
        json_decref(j);
        return 0;
}

static void test_stream(void **state)
{
        static const char text[] = "{\"a\":\"x\",\"pups\":[{\"k\":\"s1\"},2,[3,\"s\"],\"str\"],"
                                   "\"b\":{\"pups\":[9]},\"c\":1}";
        struct seen s = {.fail_at = -1};
        struct jdoc *d = NULL;

        assert_int_equal(
            jdoc_parse_stream(text, sizeof(text) - 1, 0, 8, "pups", collect, &s, &d, NULL), 0);
        assert_int_equal(s.n, 4);
        assert_string_equal(s.text, "{\"k\":\"s1\"};2;[3,\"s\"];\"str\";");
        const struct jval *root = jdoc_root(d), *pups = jv_get(root, "pups");
        assert_true(jv_is_array(pups));
        assert_int_equal(jv_len(pups), 4); /* hollow: counted, not kept */
        assert_int_equal(pups->skip, 1);
        assert_string_equal(jv_str(jv_get(root, "a")), "x");
        assert_int_equal(jv_int(jv_get(root, "c")), 1);
        const struct jval *inner = jv_get(jv_get(root, "b"), "pups"); /* not the root's */
        assert_int_equal(jv_len(inner), 1);
        assert_int_equal(jv_int(inner + 1), 9);
        assert_int_equal(jdoc_nodes(d), 12);
        jdoc_free(d);

        /* the callback can stop the parse */
        s = (struct seen){.fail_at = 2};
        assert_int_equal(
            jdoc_parse_stream(text, sizeof(text) - 1, 0, 8, "pups", collect, &s, &d, NULL),
            -ECANCELED);
        assert_int_equal(s.n, 2);

        /* only a member of a root object is streamed */
        s = (struct seen){.fail_at = -1};
        assert_int_equal(jdoc_parse_stream("[[1,2]]", 7, 0, 8, "pups", collect, &s, &d, NULL), 0);
        assert_int_equal(s.n, 0);
        jdoc_free(d);

        /* a malformed text after the elements still fails */
        s = (struct seen){.fail_at = -1};
        assert_int_equal(
            jdoc_parse_stream("{\"pups\":[1,2],", 15, 0, 8, "pups", collect, &s, &d, NULL),
            -EINVAL);
        assert_int_equal(s.n, 2);
}

static void test_size_limit(void **state)
{
        struct jdoc *d = NULL;
        struct jdoc_error err = {0};
        assert_int_equal(parse("[]", (size_t)JDOC_SIZE_MAX + 1, 0, 8, &d, &err), -E2BIG);
        assert_non_null(strstr(err.text, "at most"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_valid),     cmocka_unit_test(test_invalid),
            cmocka_unit_test(test_nul_bytes), cmocka_unit_test(test_allow_nul),
            cmocka_unit_test(test_depth),     cmocka_unit_test(test_truncation),
            cmocka_unit_test(test_tape),      cmocka_unit_test(test_iget),
            cmocka_unit_test(test_bounded),   cmocka_unit_test(test_size_limit),
            cmocka_unit_test(test_stream),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
