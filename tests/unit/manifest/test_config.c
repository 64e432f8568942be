/* Config values: coercion per field type (table), validation of a whole
 * set, defaults, "needs config", and the config.env writer (checked by
 * letting /bin/sh read the file back). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <sys/wait.h>
#include "manifest/manifest.h"

static const char config_manifest[] =
    "{\"manifestVersion\": 1,"
    " \"meta\": {\"name\": \"Config Pup\", \"version\": \"1.0.0\"},"
    " \"config\": {\"showOnInstall\": false, \"sections\": ["
    "  {\"name\": \"a\", \"label\": \"A\", \"fields\": ["
    "   {\"name\": \"TEXT\", \"label\": \"Text\", \"type\": \"text\", \"required\": true},"
    "   {\"name\": \"PASS\", \"label\": \"Pass\", \"type\": \"password\"},"
    "   {\"name\": \"NUM\", \"label\": \"Num\", \"type\": \"number\", \"min\": 0, \"max\": 100,"
    "    \"step\": 0.5, \"default\": 2.0},"
    "   {\"name\": \"TOG\", \"label\": \"Tog\", \"type\": \"toggle\", \"default\": true},"
    "   {\"name\": \"MAIL\", \"label\": \"Mail\", \"type\": \"email\"},"
    "   {\"name\": \"AREA\", \"label\": \"Area\", \"type\": \"textarea\"}]},"
    "  {\"name\": \"b\", \"label\": \"B\", \"fields\": ["
    "   {\"name\": \"SEL\", \"label\": \"Sel\", \"type\": \"select\", \"required\": true,"
    "    \"options\": [{\"label\": \"Alpha\", \"value\": \"a\"}, \"b\"], \"default\": \"a\"},"
    "   {\"name\": \"CHK\", \"label\": \"Chk\", \"type\": \"checkbox\"},"
    "   {\"name\": \"RAD\", \"label\": \"Rad\", \"type\": \"radio\", \"options\": [\"x\", \"y\"]},"
    "   {\"name\": \"DATE\", \"label\": \"Date\", \"type\": \"date\"},"
    "   {\"name\": \"RNG\", \"label\": \"Rng\", \"type\": \"range\", \"min\": 1, \"max\": 10},"
    "   {\"name\": \"COL\", \"label\": \"Col\", \"type\": \"color\", \"default\": \"#A1b2C3\"}]}"
    " ]},"
    " \"container\": {\"build\": {\"type\": \"native\"}}}";

static struct manifest *load(void)
{
        struct dbx_errors errs = {0};
        struct manifest *m = NULL;
        char buf[1024];
        if (manifest_parse(config_manifest, strlen(config_manifest), &m, &errs, NULL) != 0)
                fail_msg("config manifest: %s", dbx_error_text(&errs.items[0], buf, sizeof(buf)));
        return m;
}

#define OK(field, json, stored)                                                                    \
        {                                                                                          \
                field, json, stored, NULL                                                          \
        }
#define BAD(field, json, msg)                                                                      \
        {                                                                                          \
                field, json, NULL, msg                                                             \
        }
#define YESNO " is not a yes/no value (true, false, yes, no, on, off, 1 or 0)"

static const struct {
        const char *field, *json, *stored, *error;
} coerce_rows[] = {
    /* text-like: strings kept, scalars formatted, null empty */
    OK("TEXT", "\"hello\"", "hello"),
    OK("TEXT", "12", "12"),
    OK("TEXT", "-0.25", "-0.25"),
    OK("TEXT", "true", "true"),
    OK("TEXT", "null", ""),
    OK("TEXT", "\"ünïcødé ✓\"", "ünïcødé ✓"),
    BAD("TEXT", "\"a\\nb\"",
        "\"a\\nb\" contains a line break or control character (only textarea fields take "
        "several lines)"),
    BAD("TEXT", "{}", "{} is not a value for a text field"),
    BAD("TEXT", "[1]", "[...] is not a value for a text field"),
    OK("PASS", "\"s3cret $x `y`\"", "s3cret $x `y`"),
    BAD("PASS", "\"tab\\there\"",
        "\"tab\\there\" contains a line break or control character (only textarea fields "
        "take several lines)"),
    OK("AREA", "\"line1\\nline2\\ttab\"", "line1\nline2\ttab"),
    BAD("AREA", "\"a\\u0001\"", "\"a\\u0001\" contains a control character"),
    /* number and range: shortest decimal, bounds, step */
    OK("NUM", "5", "5"),
    OK("NUM", "5.5", "5.5"),
    OK("NUM", "\"7\"", "7"),
    OK("NUM", "\"07.50\"", "7.5"),
    OK("NUM", "\"1e1\"", "10"),
    OK("NUM", "\"\"", ""),
    OK("NUM", "null", ""),
    OK("NUM", "100", "100"),
    OK("NUM", "0", "0"),
    OK("NUM", "0.0", "0"),
    BAD("NUM", "-1", "-1 is below the minimum (0)"),
    BAD("NUM", "100.5", "100.5 is above the maximum (100)"),
    BAD("NUM", "0.3", "0.3 is not a multiple of the step 0.5 from 0"),
    BAD("NUM", "\"abc\"", "\"abc\" is not a number"),
    BAD("NUM", "\"0x10\"", "\"0x10\" is not a number"),
    BAD("NUM", "\"inf\"", "\"inf\" is not a number"),
    BAD("NUM", "\"nan\"", "\"nan\" is not a number"),
    BAD("NUM", "\" 5\"", "\" 5\" is not a number"),
    BAD("NUM", "true", "true is not a number"),
    BAD("NUM", "[]", "[] is not a number"),
    OK("RNG", "3", "3"),
    OK("RNG", "2.75", "2.75"),
    BAD("RNG", "11", "11 is above the maximum (10)"),
    BAD("RNG", "0", "0 is below the minimum (1)"),
    /* toggle and checkbox */
    OK("TOG", "true", "true"),
    OK("TOG", "false", "false"),
    OK("TOG", "\" YES \"", "true"),
    OK("TOG", "\"On\"", "true"),
    OK("TOG", "\"off\"", "false"),
    OK("TOG", "\"0\"", "false"),
    OK("TOG", "\"1\"", "true"),
    OK("TOG", "null", ""),
    OK("CHK", "false", "false"),
    OK("CHK", "\"no\"", "false"),
    BAD("TOG", "1", "1" YESNO),
    BAD("TOG", "\"maybe\"", "\"maybe\"" YESNO),
    BAD("CHK", "\"\"", "\"\"" YESNO),
    /* email */
    OK("MAIL", "\"bob@example.com\"", "bob@example.com"),
    OK("MAIL", "\"first.last+tag@sub.example.org\"", "first.last+tag@sub.example.org"),
    OK("MAIL", "\"user@localhost\"", "user@localhost"),
    OK("MAIL", "\"\"", ""),
    BAD("MAIL", "\"bob\"", "\"bob\" is not an email address (like name@example.com)"),
    BAD("MAIL", "\"a@b@c\"", "\"a@b@c\" is not an email address (like name@example.com)"),
    BAD("MAIL", "\"@example.com\"",
        "\"@example.com\" is not an email address (like name@example.com)"),
    BAD("MAIL", "\"bob@-x.com\"",
        "\"bob@-x.com\" is not an email address (like "
        "name@example.com)"),
    BAD("MAIL", "\"bob@x..com\"",
        "\"bob@x..com\" is not an email address (like "
        "name@example.com)"),
    BAD("MAIL", "\"b b@x.com\"",
        "\"b b@x.com\" is not an email address (like "
        "name@example.com)"),
    /* select and radio: one of the option values */
    OK("SEL", "\"a\"", "a"),
    OK("SEL", "\"b\"", "b"),
    OK("SEL", "\"\"", ""),
    BAD("SEL", "\"Alpha\"", "\"Alpha\" is not one of the options (a, b)"),
    BAD("SEL", "\"c\"", "\"c\" is not one of the options (a, b)"),
    OK("RAD", "\"y\"", "y"),
    BAD("RAD", "\"z\"", "\"z\" is not one of the options (x, y)"),
    /* date */
    OK("DATE", "\"2024-02-29\"", "2024-02-29"),
    OK("DATE", "\"2000-02-29\"", "2000-02-29"),
    OK("DATE", "\"\"", ""),
    BAD("DATE", "\"2023-02-29\"", "\"2023-02-29\" is not a date (YYYY-MM-DD)"),
    BAD("DATE", "\"1900-02-29\"", "\"1900-02-29\" is not a date (YYYY-MM-DD)"),
    BAD("DATE", "\"2024-13-01\"", "\"2024-13-01\" is not a date (YYYY-MM-DD)"),
    BAD("DATE", "\"2024-04-31\"", "\"2024-04-31\" is not a date (YYYY-MM-DD)"),
    BAD("DATE", "\"24-01-01\"", "\"24-01-01\" is not a date (YYYY-MM-DD)"),
    BAD("DATE", "\"2024/01/01\"", "\"2024/01/01\" is not a date (YYYY-MM-DD)"),
    /* color */
    OK("COL", "\"#a1B2c3\"", "#a1B2c3"),
    OK("COL", "\"\"", ""),
    BAD("COL", "\"red\"", "\"red\" is not a color (#rrggbb)"),
    BAD("COL", "\"#abc\"", "\"#abc\" is not a color (#rrggbb)"),
    BAD("COL", "\"#12345g\"", "\"#12345g\" is not a color (#rrggbb)"),
};

static void test_coerce_table(void **state)
{
        struct manifest *m = load();
        char buf[1024];

        for (size_t i = 0; i < ARRAY_SIZE(coerce_rows); i++) {
                struct dbx_errors errs = {0};
                json_t *out = NULL;
                json_t *values = json_object();
                json_error_t e;
                json_t *v = json_loads(coerce_rows[i].json, JSON_DECODE_ANY, &e);
                if (!v)
                        fail_msg("row %zu: %s", i, e.text);
                json_object_set_new(values, coerce_rows[i].field, v);
                int r = manifest_config_coerce(m, values, &out, &errs);
                if (coerce_rows[i].stored) {
                        if (r != 0)
                                fail_msg("row %zu %s=%s: %s", i, coerce_rows[i].field,
                                         coerce_rows[i].json,
                                         dbx_error_text(&errs.items[0], buf, sizeof(buf)));
                        assert_string_equal(
                            json_string_value(json_object_get(out, coerce_rows[i].field)),
                            coerce_rows[i].stored);
                        json_decref(out);
                } else {
                        if (r != -EINVAL || errs.n != 1)
                                fail_msg("row %zu %s=%s: accepted", i, coerce_rows[i].field,
                                         coerce_rows[i].json);
                        assert_string_equal(errs.items[0].path, coerce_rows[i].field);
                        assert_string_equal(errs.items[0].message, coerce_rows[i].error);
                }
                dbx_errors_free(&errs);
                json_decref(values);
        }
        manifest_free(m);
}

static json_t *parse(const char *text)
{
        json_error_t e;
        json_t *j = json_loads(text, 0, &e);
        if (!j)
                fail_msg("%s: %s", text, e.text);
        return j;
}

static void test_validate(void **state)
{
        struct manifest *m = load();
        struct dbx_errors errs = {0};
        char buf[1024];
        json_t *v;

        /* a complete, valid set */
        v = parse("{\"TEXT\": \"h\", \"SEL\": \"b\", \"NUM\": 3, \"TOG\": \"yes\", \"COL\": \"\"}");
        assert_int_equal(manifest_config_validate(m, v, &errs), 0);
        assert_int_equal(errs.n, 0);
        json_decref(v);

        /* every problem at once: unknown key, bad value, missing and blank required */
        v = parse("{\"TEXT\": \"   \", \"NUM\": 500, \"FOO\": 1, \"DATE\": \"soon\"}");
        assert_int_equal(manifest_config_validate(m, v, &errs), -EINVAL);
        static const char *const expected[] = {
            "NUM: 500 is above the maximum (100)",
            "FOO: not a config field of \"Config Pup\"",
            "DATE: \"soon\" is not a date (YYYY-MM-DD)",
            "TEXT: empty (\"Text\" is required)",
            "SEL: missing (\"Sel\" is required)",
        };
        assert_int_equal(errs.n, ARRAY_SIZE(expected));
        for (size_t i = 0; i < errs.n; i++)
                assert_string_equal(dbx_error_text(&errs.items[i], buf, sizeof(buf)), expected[i]);
        dbx_errors_free(&errs);
        json_decref(v);

        /* null counts as missing for a required field */
        v = parse("{\"TEXT\": null, \"SEL\": \"a\"}");
        assert_int_equal(manifest_config_validate(m, v, &errs), -EINVAL);
        assert_int_equal(errs.n, 1);
        assert_string_equal(dbx_error_text(&errs.items[0], buf, sizeof(buf)),
                            "TEXT: missing (\"Text\" is required)");
        dbx_errors_free(&errs);
        json_decref(v);

        /* not an object */
        v = json_array();
        assert_int_equal(manifest_config_validate(m, v, &errs), -EINVAL);
        assert_string_equal(errs.items[0].message,
                            "[] is not a set of config values (a JSON object of field names and "
                            "values is expected)");
        dbx_errors_free(&errs);
        json_decref(v);
        assert_int_equal(manifest_config_validate(m, NULL, NULL), -EINVAL);
        manifest_free(m);
}

static void test_coerce_partial(void **state)
{
        struct manifest *m = load();
        struct dbx_errors errs = {0};
        json_t *out = NULL;

        /* a partial submission is fine for coerce (required fields not checked) */
        json_t *v = parse("{\"NUM\": 4.5, \"CHK\": \"on\"}");
        assert_int_equal(manifest_config_coerce(m, v, &out, &errs), 0);
        char *dump = json_dumps(out, JSON_COMPACT);
        assert_string_equal(dump, "{\"NUM\":\"4.5\",\"CHK\":\"true\"}");
        free(dump);
        json_decref(out);
        json_decref(v);

        /* an unknown key is refused, and nothing is returned */
        out = NULL;
        v = parse("{\"NUM\": 4.5, \"nope\": 1}");
        assert_int_equal(manifest_config_coerce(m, v, &out, &errs), -EINVAL);
        assert_null(out);
        assert_int_equal(errs.n, 1);
        assert_string_equal(errs.items[0].path, "nope");
        dbx_errors_free(&errs);
        json_decref(v);
        manifest_free(m);
}

static void test_defaults_and_needed(void **state)
{
        struct manifest *m = load();
        json_t *d = manifest_config_defaults(m);
        char *dump = json_dumps(d, JSON_COMPACT);

        assert_string_equal(dump, "{\"NUM\":\"2\",\"TOG\":\"true\",\"SEL\":\"a\",\"COL\":"
                                  "\"#A1b2C3\"}");
        free(dump);

        /* TEXT is required and has no default */
        assert_true(manifest_config_needed(m, d, true));
        json_object_set_new(d, "TEXT", json_string(" \t"));
        assert_true(manifest_config_needed(m, d, true));
        json_object_set_new(d, "TEXT", json_string("x"));
        assert_false(manifest_config_needed(m, d, false));
        json_object_del(d, "SEL");
        assert_true(manifest_config_needed(m, d, true));
        json_decref(d);
        manifest_free(m);

        /* showOnInstall: needed until saved once, even with nothing required */
        static const char show[] =
            "{\"manifestVersion\": 1, \"meta\": {\"name\": \"S\", \"version\": \"1.0.0\"},"
            " \"config\": {\"showOnInstall\": true, \"sections\": [{\"name\": \"s\", "
            "\"fields\": [{\"name\": \"X\", \"label\": \"X\", \"type\": \"text\"}]}]},"
            " \"container\": {\"build\": {\"type\": \"native\"}}}";
        assert_int_equal(manifest_parse(show, strlen(show), &m, NULL, NULL), 0);
        json_t *empty = json_object();
        assert_true(manifest_config_needed(m, empty, false));
        assert_false(manifest_config_needed(m, empty, true));
        json_decref(empty);
        manifest_free(m);
}

static void test_config_env(void **state)
{
        struct manifest *m = load();
        struct dbx_error err = {0};
        char *env = NULL;
        json_t *cfg = parse("{\"TEXT\": \"hello world\", \"NUM\": \"5\", \"TOG\": \"true\","
                            " \"MAIL\": \"bob@example.com\", \"SEL\": \"a\", \"PASS\": \"\","
                            " \"COL\": \"#a1b2c3\", \"AREA\": \"l1\\nsay \\\"hi\\\" $HOME `id` "
                            "\\\\ ';'\"}");

        assert_int_equal(manifest_config_env(m, cfg, &env, &err), 0);
        assert_string_equal(env, "AREA=\"l1\nsay \\\"hi\\\" \\$HOME \\`id\\` \\\\ ';'\"\n"
                                 "COL=\"#a1b2c3\"\n"
                                 "MAIL=bob@example.com\n"
                                 "NUM=5\n"
                                 "PASS=\n"
                                 "SEL=a\n"
                                 "TEXT=\"hello world\"\n"
                                 "TOG=true\n");

        /* POSIX sh reads every value back exactly */
        char path[] = "/tmp/dbx-test-config-env-XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, env, strlen(env)), (ssize_t)strlen(env));
        close(fd);
        char cmd[512];
        snprintf(cmd, sizeof(cmd),
                 "/bin/sh -c '. %s && printf \"%%s|\" \"$AREA\" \"$COL\" \"$TEXT\" \"$PASS\"'",
                 path);
        FILE *p = popen(cmd, "r");
        assert_non_null(p);
        char out[512] = {0};
        size_t n = fread(out, 1, sizeof(out) - 1, p);
        assert_int_equal(WEXITSTATUS(pclose(p)), 0);
        out[n] = '\0';
        assert_string_equal(out, "l1\nsay \"hi\" $HOME `id` \\ ';'|#a1b2c3|hello world||");
        unlink(path);
        free(env);

        /* an invalid stored value is refused with its field name */
        json_object_set_new(cfg, "NUM", json_string("many"));
        env = NULL;
        assert_int_equal(manifest_config_env(m, cfg, &env, &err), -EINVAL);
        assert_null(env);
        assert_string_equal(err.path, "NUM");
        assert_string_equal(err.message, "\"many\" is not a number");

        /* nothing set, nothing written */
        json_t *empty = json_object();
        assert_int_equal(manifest_config_env(m, empty, &env, &err), 0);
        assert_string_equal(env, "");
        free(env);
        json_decref(empty);
        json_decref(cfg);
        manifest_free(m);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_coerce_table),   cmocka_unit_test(test_validate),
            cmocka_unit_test(test_coerce_partial), cmocka_unit_test(test_defaults_and_needed),
            cmocka_unit_test(test_config_env),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
