/* Table-driven tests for src/semver: parsing, precedence, constraint
 * parsing and matching (Masterminds/semver v3 semantics). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "semver/semver.h"

#define LOOSE (SEMVER_ALLOW_V | SEMVER_ALLOW_SHORT)

/* ---- parsing: valid ---- */

static const struct {
        const char *in;
        unsigned flags;
        const char *canonical;
} valid_rows[] = {
    {"0.0.0", 0, "0.0.0"},
    {"1.2.3", 0, "1.2.3"},
    {"10.20.30", 0, "10.20.30"},
    {"1.1.2-prerelease+meta", 0, "1.1.2-prerelease+meta"},
    {"1.0.0-alpha", 0, "1.0.0-alpha"},
    {"1.0.0-alpha.beta", 0, "1.0.0-alpha.beta"},
    {"1.0.0-alpha.1", 0, "1.0.0-alpha.1"},
    {"1.0.0-alpha0.valid", 0, "1.0.0-alpha0.valid"},
    {"1.0.0-alpha.0valid", 0, "1.0.0-alpha.0valid"},
    {"1.0.0-alpha-a.b-c-long+build.1-aef.1-its-okay", 0,
     "1.0.0-alpha-a.b-c-long+build.1-aef.1-its-okay"},
    {"1.0.0-rc.1+build.1", 0, "1.0.0-rc.1+build.1"},
    {"2.0.0-rc.1+build.123", 0, "2.0.0-rc.1+build.123"},
    {"10.2.3-DEV-SNAPSHOT", 0, "10.2.3-DEV-SNAPSHOT"},
    {"1.2.3-SNAPSHOT-123", 0, "1.2.3-SNAPSHOT-123"},
    {"2.0.0+build.1848", 0, "2.0.0+build.1848"},
    {"2.0.1-alpha.1227", 0, "2.0.1-alpha.1227"},
    {"1.0.0+0.build.1-rc.10000aaa-kk-0.1", 0, "1.0.0+0.build.1-rc.10000aaa-kk-0.1"},
    {"1.0.0-0A.is.legal", 0, "1.0.0-0A.is.legal"},
    {"1.0.0+001", 0, "1.0.0+001"},
    {"1.0.0-0", 0, "1.0.0-0"},
    {"18446744073709551615.0.0", 0, "18446744073709551615.0.0"},
    {"0.0.9", 0, "0.0.9"},
    {"v1.2.3", SEMVER_ALLOW_V, "1.2.3"},
    {"v0.3.4", SEMVER_ALLOW_V, "0.3.4"},
    {"1.2.3", SEMVER_ALLOW_V, "1.2.3"},
    {"1", SEMVER_ALLOW_SHORT, "1.0.0"},
    {"1.2", SEMVER_ALLOW_SHORT, "1.2.0"},
    {"1.2-beta", SEMVER_ALLOW_SHORT, "1.2.0-beta"},
    {"1+b", SEMVER_ALLOW_SHORT, "1.0.0+b"},
    {"v1.2", LOOSE, "1.2.0"},
    {"v2", LOOSE, "2.0.0"},
};

static void test_parse_valid(void **state)
{
        for (size_t i = 0; i < ARRAY_SIZE(valid_rows); i++) {
                struct semver v;
                struct dbx_error err = {0};
                char buf[300];
                int r = semver_parse(valid_rows[i].in, valid_rows[i].flags, &v, &err);
                if (r != 0)
                        fail_msg("row %zu %s: %s", i, valid_rows[i].in, err.message);
                semver_format(&v, buf, sizeof(buf));
                assert_string_equal(buf, valid_rows[i].canonical);
                assert_true(semver_valid(valid_rows[i].in, valid_rows[i].flags));
        }
}

/* ---- parsing: invalid, with the exact message ---- */

#define NOT_SEMVER " is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.2.0): "

static const struct {
        const char *in;
        unsigned flags;
        const char *message;
} invalid_rows[] = {
    {"", 0, "an empty string is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.2.0)"},
    {"1.2", 0, "\"1.2\"" NOT_SEMVER "it has no patch number"},
    {"1", 0, "\"1\"" NOT_SEMVER "it has no minor number"},
    {"v1.2.3", 0, "\"v1.2.3\"" NOT_SEMVER "a leading \"v\" is not part of a version"},
    {"V1.2.3", SEMVER_ALLOW_V, "\"V1.2.3\"" NOT_SEMVER "a leading \"v\" is not part of a version"},
    {"v1.2", SEMVER_ALLOW_V, "\"v1.2\"" NOT_SEMVER "it has no patch number"},
    {"1.2.3.4", 0, "\"1.2.3.4\"" NOT_SEMVER "it has more than three numbers"},
    {"1.2.3.4", LOOSE, "\"1.2.3.4\"" NOT_SEMVER "it has more than three numbers"},
    {"01.2.3", 0, "\"01.2.3\"" NOT_SEMVER "the number \"01\" has a leading zero"},
    {"1.02.3", 0, "\"1.02.3\"" NOT_SEMVER "the number \"02\" has a leading zero"},
    {"1.2.00", 0, "\"1.2.00\"" NOT_SEMVER "the number \"00\" has a leading zero"},
    {"1.2.3-01", 0,
     "\"1.2.3-01\"" NOT_SEMVER "the prerelease identifier \"01\" has a leading zero"},
    {"1.2.3-alpha.007", 0,
     "\"1.2.3-alpha.007\"" NOT_SEMVER "the prerelease identifier \"007\" has a leading zero"},
    {"1.2.3-", 0, "\"1.2.3-\"" NOT_SEMVER "the prerelease has an empty identifier"},
    {"1.2.3+", 0, "\"1.2.3+\"" NOT_SEMVER "the build metadata has an empty identifier"},
    {"1.2.3-a..b", 0, "\"1.2.3-a..b\"" NOT_SEMVER "the prerelease has an empty identifier"},
    {"1.2.3-a.", 0, "\"1.2.3-a.\"" NOT_SEMVER "the prerelease has an empty identifier"},
    {"1.2.3+b..c", 0, "\"1.2.3+b..c\"" NOT_SEMVER "the build metadata has an empty identifier"},
    {"1.2.3-a_b", 0, "\"1.2.3-a_b\"" NOT_SEMVER "unexpected \"_b\""},
    {"1.2.3+build+x", 0, "\"1.2.3+build+x\"" NOT_SEMVER "unexpected \"+x\""},
    {" 1.2.3", 0, "\" 1.2.3\"" NOT_SEMVER "the major part is not a number"},
    {"1.2.3 ", 0, "\"1.2.3 \"" NOT_SEMVER "unexpected \" \""},
    {"a.b.c", 0, "\"a.b.c\"" NOT_SEMVER "the major part is not a number"},
    {"1.a.3", 0, "\"1.a.3\"" NOT_SEMVER "the minor part is not a number"},
    {"1..3", 0, "\"1..3\"" NOT_SEMVER "the minor part is not a number"},
    {"1.2.x", 0, "\"1.2.x\"" NOT_SEMVER "the patch part is not a number"},
    {"-1.2.3", 0, "\"-1.2.3\"" NOT_SEMVER "the major part is not a number"},
    {"18446744073709551616.0.0", 0,
     "\"18446744073709551616.0.0\"" NOT_SEMVER "the number \"18446744073709551616\" is too large"},
    {"1.2.3-\xce\xb1", 0,
     "\"1.2.3-\\xce\\xb1\"" NOT_SEMVER "the prerelease has an empty identifier"},
    {"1.2.3\n", 0, "\"1.2.3\\x0a\"" NOT_SEMVER "unexpected \"\\x0a\""},
    {"1.2.3\"", 0, "\"1.2.3\\\"\"" NOT_SEMVER "unexpected \"\\\"\""},
    {"latest", 0, "\"latest\"" NOT_SEMVER "the major part is not a number"},
    {"v", SEMVER_ALLOW_V, "\"v\"" NOT_SEMVER "the major part is not a number"},
};

static void test_parse_invalid(void **state)
{
        for (size_t i = 0; i < ARRAY_SIZE(invalid_rows); i++) {
                struct semver v;
                struct dbx_error err = {0};
                int r = semver_parse(invalid_rows[i].in, invalid_rows[i].flags, &v, &err);
                if (r != -EINVAL)
                        fail_msg("row %zu %s: parsed (r=%d)", i, invalid_rows[i].in, r);
                assert_int_equal(err.code, -EINVAL);
                assert_string_equal(err.message, invalid_rows[i].message);
                assert_false(semver_valid(invalid_rows[i].in, invalid_rows[i].flags));
        }
}

static void test_parse_too_long(void **state)
{
        char s[SEMVER_MAX_LEN + 2];
        struct semver v;
        struct dbx_error err = {0};

        /* exactly the maximum is fine */
        memset(s, 'a', sizeof(s));
        memcpy(s, "1.2.3-", 6);
        s[SEMVER_MAX_LEN] = '\0';
        assert_int_equal(semver_parse(s, 0, &v, &err), 0);
        assert_int_equal(strlen(v.pre), SEMVER_MAX_LEN - 6);

        /* one more is not, and the message repeats only the start */
        s[SEMVER_MAX_LEN] = 'a';
        s[SEMVER_MAX_LEN + 1] = '\0';
        assert_int_equal(semver_parse(s, 0, &v, &err), -EINVAL);
        assert_non_null(strstr(err.message, "...\" is not a semantic version"));
        assert_non_null(strstr(err.message, "it is longer than 128 characters"));
        assert_true(strlen(err.message) < 200);

        /* NULL error object and NULL input are fine */
        assert_int_equal(semver_parse(s, 0, &v, NULL), -EINVAL);
        assert_int_equal(semver_parse(NULL, 0, &v, NULL), -EINVAL);
}

/* ---- precedence ---- */

static const struct {
        const char *a, *b;
        int cmp;
} cmp_rows[] = {
    {"1.0.0", "2.0.0", -1},
    {"2.0.0", "2.1.0", -1},
    {"2.1.0", "2.1.1", -1},
    {"2.1.1", "2.1.1", 0},
    {"10.0.0", "9.0.0", 1},
    {"0.10.0", "0.9.0", 1},
    {"0.0.10", "0.0.9", 1},
    {"1.0.0+a", "1.0.0+b", 0},
    {"1.0.0-rc.1+a", "1.0.0-rc.1", 0},
    {"1.0.0-alpha", "1.0.0", -1},
    {"1.0.0", "1.0.0-alpha", 1},
    {"1.0.0-1", "1.0.0-a", -1},
    {"1.0.0-2", "1.0.0-10", -1},
    {"1.0.0-a10", "1.0.0-a2", -1},
    {"1.0.0-A", "1.0.0-a", -1},
    {"1.0.0-alpha-1", "1.0.0-alpha", 1},
    {"1.0.0-alpha.1", "1.0.0-alpha", 1},
    {"1.0.0-beta", "1.0.0-alpha.beta", 1},
    {"1.0.0-0", "1.0.0-alpha", -1},
    {"1.0.0-99999999999999999999999", "1.0.0-100000000000000000000000", -1},
    {"1.0.0-rc.1", "0.9.9", 1},
    {"18446744073709551615.0.0", "18446744073709551614.0.0", 1},
};

static void test_cmp(void **state)
{
        for (size_t i = 0; i < ARRAY_SIZE(cmp_rows); i++) {
                struct semver a, b;
                assert_int_equal(semver_parse(cmp_rows[i].a, 0, &a, NULL), 0);
                assert_int_equal(semver_parse(cmp_rows[i].b, 0, &b, NULL), 0);
                if (semver_cmp(&a, &b) != cmp_rows[i].cmp)
                        fail_msg("row %zu: %s <=> %s gave %d", i, cmp_rows[i].a, cmp_rows[i].b,
                                 semver_cmp(&a, &b));
                assert_int_equal(semver_cmp(&b, &a), -cmp_rows[i].cmp);
        }
}

/* The ordering example of semver 2.0.0 §11, checked pairwise. */
static void test_cmp_spec_chain(void **state)
{
        static const char *chain[] = {
            "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta",
            "1.0.0-beta",  "1.0.0-beta.2",  "1.0.0-beta.11",
            "1.0.0-rc.1",  "1.0.0",         "1.0.1-0",
            "1.0.1",       "1.1.0",         "2.0.0",
        };
        for (size_t i = 0; i < ARRAY_SIZE(chain); i++)
                for (size_t j = 0; j < ARRAY_SIZE(chain); j++) {
                        struct semver a, b;
                        assert_int_equal(semver_parse(chain[i], 0, &a, NULL), 0);
                        assert_int_equal(semver_parse(chain[j], 0, &b, NULL), 0);
                        assert_int_equal(semver_cmp(&a, &b), i < j ? -1 : i > j ? 1 : 0);
                }
}

static void test_format(void **state)
{
        struct semver v;
        char small[4];

        assert_int_equal(semver_parse("12.34.56-rc.1+b", 0, &v, NULL), 0);
        assert_int_equal(semver_format(&v, small, sizeof(small)), 15);
        assert_string_equal(small, "12.");
}

/* ---- constraints: matching ---- */

static const struct {
        const char *constraint, *version;
        bool match;
} match_rows[] = {
    /* exact: a bare full version means exactly that version */
    {"0.0.1", "0.0.1", true},
    {"0.0.1", "0.0.2", false},
    {"0.0.1", "0.0.1-rc.1", false},
    {"0.0.1", "0.0.0", false},
    {"=2.0.0", "1.2.3", false},
    {"=2.0.0", "2.0.0", true},
    {"= 2.0.0", "2.0.0", true},
    {"v1.2.3", "1.2.3", true},
    {"1.0.0+build.7", "1.0.0", true},
    {"1.0.0", "1.0.0+other", true},
    {"1.2.3-rc.1", "1.2.3-rc.1", true},
    {"1.2.3-rc.1", "1.2.3-rc.2", false},
    /* partial versions are wildcards: "=2.0" is "2.0.x" */
    {"=2.0", "2.0.1", true},
    {"=2.0", "2.1.0", false},
    {"=2.0", "1.2.3", false},
    {"4.1", "4.1.0", true},
    {"2", "2.1.1", true},
    {"2", "3.4.5", false},
    {"2", "1", false},
    {"2.1", "2.2.1", false},
    /* x, X and * wildcards */
    {"*", "1", true},
    {"*", "4.5.6", true},
    {"*", "0.0.0", true},
    {"*", "1.2.3-alpha.1", false},
    {"*-0", "1.2.3-alpha.1", true},
    {"x", "0.0.0", true},
    {"X", "9.9.9", true},
    {"2.*", "2.1.1", true},
    {"2.*", "3.4.5", false},
    {"2.x", "1.9.9", false},
    {"2.1.*", "2.1.1", true},
    {"2.1.x", "2.2.1", false},
    {"1.x.3", "1.5.0", true},
    {"0.x.x", "1.2.3", false},
    {"0.0.x", "1.2.3", false},
    {"0.0.0", "1.2.3", false},
    /* != */
    {"!=4.1.0", "4.1.0", false},
    {"!=4.1.0", "4.1.1", true},
    {"!=4.1", "4.1.0", false},
    {"!=4.1", "4.1.1", false},
    {"!=4.1", "5.1.0", true},
    {"!=4.1", "5.1.0-alpha.1", false},
    {"!=4.1-alpha", "4.1.0", true},
    {"!=4.1-alpha", "4.1.0-alpha", false},
    {"!=4.1-alpha", "4.1.1-alpha", false},
    {"!=4.x", "5.1.0", true},
    {"!=4.x", "4.1.0", false},
    {"!=4.1.x", "4.2.0", true},
    {"!=4.2.x", "4.2.3", false},
    {"!=*", "1.0.0", true},
    {"!=*", "0.0.0", false},
    /* > */
    {">1.1", "4.1.0", true},
    {">1.1", "1.1.0", false},
    {">1.1", "1.1.9", false},
    {">11", "11.1.0", false},
    {">11", "12.0.0", true},
    {">11.1", "11.2.1", true},
    {">0", "0", false},
    {">0", "1", true},
    {">0", "0.0.1-alpha", false},
    {">0.0.0-0", "0.0.0-alpha", true},
    {">1.2.3-alpha.1", "1.2.3-alpha.2", true},
    {">1.2.3-alpha.1", "1.3.3-alpha.2", true},
    {">1.2.3-alpha.1", "1.2.3-alpha.1", false},
    {">1.2.3", "1.2.3", false},
    {">1.2.3", "1.2.4", true},
    {">*", "0.0.0", false},
    {">*", "0.0.1", true},
    /* < */
    {"<11", "0.1.0", true},
    {"<11", "11.1.0", false},
    {"<1.1", "1.1.0", false},
    {"<1.1", "1.0.9", true},
    {"<1.x", "1.1.1", false},
    {"<1.x", "0.1.1", true},
    {"<1.1.x", "1.0.500", true},
    {"<1.1.x", "1.1.500", false},
    {"<0", "0.0.0-alpha", false},
    {"<0-z", "0.0.0-alpha", true},
    {"<1.2.3", "1.2.3-beta", false},
    {"<1.2.3-rc", "1.2.3-beta", true},
    {"<1.2.3-0", "1.2.3-beta", false},
    /* >= */
    {">=1.1", "1.1.0", true},
    {">=1.1", "0.0.9", false},
    {">=1.1", "4.1.0-beta", false},
    {">=0", "0.0.0-alpha", false},
    {">=0-0", "0.0.1-alpha", true},
    {">=0.0.0-0", "1.2.3", true},
    {">=0.0.0-0", "3.4.5-beta.1", true},
    {"=>1.0", "1.0.0", true},
    {">= 0.0.1", "0.0.1", true},
    /* <= */
    {"<=11", "11.2.3", true},
    {"<=11", "12.2.3", false},
    {"<=1.1", "1.1.1", true},
    {"<=1.1", "1.2.3", false},
    {"<=1.1", "0.1.0", true},
    {"<=1.1", "0.1.0-alpha", false},
    {"<=1.1-a", "0.1.0-alpha", true},
    {"<=1.1.x", "1.2.500", false},
    {"<=2.x", "3.0.0", false},
    {"<=1.x", "1.1.0", true},
    {"<=4.5", "4.6.3", false},
    {"<=4.5", "3.7.0", true},
    {"=<1.2.3", "1.2.3", true},
    {"=<1.2.3", "1.2.4", false},
    {"<=*", "0.0.5", true},
    {"<=*", "0.5.0", false},
    {"<=*", "1.0.0", false},
    /* ~ */
    {"~1.2.3", "1.2.4", true},
    {"~1.2.3", "1.3.4", false},
    {"~1.2.3", "1.2.2", false},
    {"~1.2", "1.2.4", true},
    {"~1.2", "1.3.4", false},
    {"~1", "1.2.4", true},
    {"~1", "2.3.4", false},
    {"~0.2.3", "0.2.5", true},
    {"~0.2.3", "0.3.5", false},
    {"~1.2.3-beta.2", "1.2.3-beta.4", true},
    {"~1.2.3-beta.2", "1.2.4-beta.2", true},
    {"~1.2.3-beta.2", "1.3.4-beta.2", false},
    {"~*", "2.1.1", true},
    {"~1.x", "1.3.5", true},
    {"~1.x", "2.1.1", false},
    {"~1.1", "1.1.1-alpha", false},
    {"~1.1-alpha", "1.1.1-beta", true},
    {"~1.1.1-beta", "1.1.1-alpha", false},
    {"~1.1.1-beta", "1.1.1", true},
    {"~>1.2", "1.2.9", true},
    {"~>1.2", "1.3.0", false},
    {"~0.0.0", "1.2.3", true},
    {"~0", "0.9.9", true},
    {"~0", "1.0.0", false},
    {"~0.0.1", "0.0.5", true},
    {"~0.0.1", "0.1.0", false},
    /* ^ */
    {"^1.2.3", "1.8.9", true},
    {"^1.2.3", "2.8.9", false},
    {"^1.2.3", "1.2.1", false},
    {"^1.2.0", "1.2.1-alpha.1", false},
    {"^1.2.0-alpha.0", "1.2.1-alpha.1", true},
    {"^1.2.0-alpha.2", "1.2.0-alpha.1", false},
    {"^1.2", "1.8.9", true},
    {"^1", "2.8.9", false},
    {"^0.2.3", "0.2.5", true},
    {"^0.2.3", "0.5.6", false},
    {"^0.2", "0.2.5", true},
    {"^0.0.3", "0.0.3", true},
    {"^0.0.3", "0.0.4", false},
    {"^0.0", "0.0.3", true},
    {"^0.0", "0.1.4", false},
    {"^0.0", "1.0.4", false},
    {"^0", "0.2.3", true},
    {"^0", "1.1.4", false},
    {"^0.2.3-beta.2", "0.2.4-beta.2", true},
    {"^0.2.3-beta.2", "0.3.4-beta.2", false},
    {"^1.x", "1.1.1", true},
    {"^2.x", "1.1.1", false},
    {"^1.x", "1.1.1-beta1", false},
    {"^1.1.2-alpha", "1.2.1-beta1", true},
    {"^1.2.x-alpha", "1.1.1-beta1", false},
    {"^0.0.1", "0.0.1", true},
    {"^0.0.1", "0.3.1", false},
    {"^*", "2.1.1", true},
    {"^*", "0.0.0", true},
    /* AND (space or comma) and OR */
    {">1.1, <2", "1.1.1", false},
    {">1.1, <2", "1.2.1", true},
    {">1.1 <3", "4.3.2", false},
    {">1.1    <3", "2.3.2", true},
    {">=1.1, <2, !=1.2.3", "1.2.3", false},
    {">=1.1, <2, !=1.2.3", "1.2.4", true},
    {">=1.1, <2, !=1.2.3 || > 3", "4.1.2", true},
    {">=1.1, <2, !=1.2.3 || > 3", "3.1.2", false},
    {">= 1.1 <2 !=1.2.3 || >= 3", "3.0.0", true},
    {">= 1.1 , < 2", "1.5.0", true},
    {">=1.1,<2", "1.5.0", true},
    {"^1.2 || ^2.0", "2.5.0", true},
    {"^1.2 || ^2.0", "3.0.0", false},
    {"<1.0.0 || >=2.0.0", "1.5.0", false},
    {"<1.0.0||>=2.0.0", "2.0.0", true},
    /* hyphen ranges */
    {"1.1 - 2", "1.1.1", true},
    {"1.5.0 - 4.5", "3.7.0", true},
    {"1.2 - 1.4.5", "1.4.5", true},
    {"1.2 - 1.4.5", "1.4.6", false},
    {"1.2 - 1.4.5", "1.1.9", false},
    {"1.2 - 1.4.5", "1.2.0", true},
    {"1.x - 2.x", "2.9.9", true},
    {"1.x - 2.x", "3.0.0", false},
    {"1.0.0 - 2.0.0 <=2.0.0", "1.5.0", true},
    {"1.0.0 - 2.0.0, <=2.0.0", "2.0.1", false},
    {"1.0.0 - 2.0.0 || 3.0.0 - 4.0.0", "3.5.0", true},
    {"1.0.0-alpha - 2.0.0", "1.0.0-beta", true},
    /* "1.1-3" has no spaces: it is version 1.1 with prerelease "3" */
    {"1.1-3", "4.3.2", false},
    {"1.1-3", "1.1.0", true},
    /* a prerelease anywhere in a group lets prereleases match the group */
    {">=1.2.3-alpha, <2.0.0", "1.5.0-beta", true},
    {">=1.2.3-alpha, <2.0.0 || >=3", "3.1.0-beta", false},
    {">=1.2.3-alpha, <2.0.0 || >=3", "1.9.0-rc.1", true},
    {">=1.0.0 <2.0.0", "1.5.0-beta", false},
    /* shapes from upstream pups */
    {"0.0.1", "0.0.1", true},
    {"~0.0.1", "0.0.1", true},
    {"^0.0.1", "0.0.2", false},
    {">=0.0.1", "0.1.0", true},
};

static void test_match(void **state)
{
        for (size_t i = 0; i < ARRAY_SIZE(match_rows); i++) {
                _cleanup_semver_constraint_ struct semver_constraint *c = NULL;
                struct dbx_error err = {0};
                struct semver v;

                if (semver_constraint_parse(match_rows[i].constraint, &c, &err) < 0)
                        fail_msg("row %zu: %s: %s", i, match_rows[i].constraint, err.message);
                if (semver_parse(match_rows[i].version, LOOSE, &v, &err) < 0)
                        fail_msg("row %zu: %s: %s", i, match_rows[i].version, err.message);
                if (semver_constraint_match(c, &v) != match_rows[i].match)
                        fail_msg("row %zu: \"%s\" %s \"%s\"", i, match_rows[i].constraint,
                                 match_rows[i].match ? "should match" : "should not match",
                                 match_rows[i].version);
                assert_string_equal(semver_constraint_text(c), match_rows[i].constraint);
        }
}

/* ---- constraints: invalid, with the exact message ---- */

#define NOT_CONSTRAINT " is not a version constraint: "

static const struct {
        const char *in;
        const char *message;
} bad_constraint_rows[] = {
    {"", "\"\"" NOT_CONSTRAINT "it is empty (use \"*\" for any version)"},
    {"   ", "\"   \"" NOT_CONSTRAINT "it is empty (use \"*\" for any version)"},
    {"1.0 ||", "\"1.0 ||\"" NOT_CONSTRAINT "an alternative around \"||\" is empty"},
    {"|| 1.0", "\"|| 1.0\"" NOT_CONSTRAINT "an alternative around \"||\" is empty"},
    {"1.0 |||| 2.0", "\"1.0 |||| 2.0\"" NOT_CONSTRAINT "an alternative around \"||\" is empty"},
    {">= bar", "\">= bar\"" NOT_CONSTRAINT "\"bar\" is not a version (e.g. 1.2.3, 1.2, 1.x)"},
    {"BAR >= 1.2.3",
     "\"BAR >= 1.2.3\"" NOT_CONSTRAINT "\"BAR\" is not a version (e.g. 1.2.3, 1.2, 1.x)"},
    {"latest", "\"latest\"" NOT_CONSTRAINT "\"latest\" is not a version (e.g. 1.2.3, 1.2, 1.x)"},
    {"12.3.4.1234", "\"12.3.4.1234\"" NOT_CONSTRAINT "\"12.3.4.1234\" has more than three numbers"},
    {"12.3.34~ 1.2.3", "\"12.3.34~ 1.2.3\"" NOT_CONSTRAINT
                       "comparisons must be separated by a space or a comma at position 8"},
    {">=1.0<2.0", "\">=1.0<2.0\"" NOT_CONSTRAINT
                  "comparisons must be separated by a space or a comma at position 6"},
    {">=", "\">=\"" NOT_CONSTRAINT "\">=\" has no version after it"},
    {">= 1.2 <", "\">= 1.2 <\"" NOT_CONSTRAINT "\"<\" has no version after it"},
    {"^ ,1.0", "\"^ ,1.0\"" NOT_CONSTRAINT "\"^ \" has no version after it"},
    {"1.0,,2.0", "\"1.0,,2.0\"" NOT_CONSTRAINT "two commas in a row"},
    {"1.0,", "\"1.0,\"" NOT_CONSTRAINT "a comparison is missing after the last \",\""},
    {",1.0", "\",1.0\"" NOT_CONSTRAINT "a version is missing at position 1"},
    {"1.0 -2.0", "\"1.0 -2.0\"" NOT_CONSTRAINT
                 "a hyphen range needs spaces around the \"-\" (e.g. \"1.2 - 1.4.5\")"},
    {">1.0 - 2.0", "\">1.0 - 2.0\"" NOT_CONSTRAINT
                   "a hyphen range \"A - B\" takes two plain versions, without operators"},
    {"1.0 - >2", "\"1.0 - >2\"" NOT_CONSTRAINT
                 "a hyphen range \"A - B\" takes two plain versions, without operators"},
    {"1.0 - ", "\"1.0 - \"" NOT_CONSTRAINT "the hyphen range has no upper version"},
    {"01.2.3", "\"01.2.3\"" NOT_CONSTRAINT "the number \"01\" has a leading zero"},
    {"^1.2.3-01",
     "\"^1.2.3-01\"" NOT_CONSTRAINT "the prerelease identifier \"01\" has a leading zero"},
    {"1.2.3-", "\"1.2.3-\"" NOT_CONSTRAINT "the prerelease has an empty identifier"},
    {"1.2.3+", "\"1.2.3+\"" NOT_CONSTRAINT "the build metadata has an empty identifier"},
    {"1.2x", "\"1.2x\"" NOT_CONSTRAINT "\"1.2x\" is not a version (e.g. 1.2.3, 1.2, 1.x)"},
    {"1.x.y", "\"1.x.y\"" NOT_CONSTRAINT "\"1.x.y\" is not a version (e.g. 1.2.3, 1.2, 1.x)"},
    {"V1.2.3", "\"V1.2.3\"" NOT_CONSTRAINT "\"V1.2.3\" is not a version (e.g. 1.2.3, 1.2, 1.x)"},
    {"1 | 2", "\"1 | 2\"" NOT_CONSTRAINT "\"|\" is not a version (e.g. 1.2.3, 1.2, 1.x)"},
    {"99999999999999999999",
     "\"99999999999999999999\"" NOT_CONSTRAINT "the number \"99999999999999999999\" is too large"},
    {"> = 1.0", "\"> = 1.0\"" NOT_CONSTRAINT "\"=\" is not a version (e.g. 1.2.3, 1.2, 1.x)"},
};

static void test_constraint_invalid(void **state)
{
        for (size_t i = 0; i < ARRAY_SIZE(bad_constraint_rows); i++) {
                struct semver_constraint *c = NULL;
                struct dbx_error err = {0};
                int r = semver_constraint_parse(bad_constraint_rows[i].in, &c, &err);
                if (r != -EINVAL)
                        fail_msg("row %zu \"%s\": r=%d", i, bad_constraint_rows[i].in, r);
                assert_null(c);
                assert_string_equal(err.message, bad_constraint_rows[i].message);
        }
}

static void test_constraint_limits(void **state)
{
        char buf[2048];
        struct semver_constraint *c = NULL;
        struct dbx_error err = {0};
        size_t o = 0;

        /* longest allowed, then one past */
        memset(buf, ' ', sizeof(buf));
        buf[0] = '1';
        buf[SEMVER_CONSTRAINT_MAX_LEN] = '\0';
        assert_int_equal(semver_constraint_parse(buf, &c, &err), 0);
        c = semver_constraint_free(c);
        buf[SEMVER_CONSTRAINT_MAX_LEN] = ' ';
        buf[SEMVER_CONSTRAINT_MAX_LEN + 1] = '\0';
        assert_int_equal(semver_constraint_parse(buf, &c, &err), -E2BIG);
        assert_string_equal(err.message,
                            "a version constraint is at most 512 characters, this one has 513");

        /* 32 alternatives are fine, 33 are not */
        o = 0;
        for (int k = 0; k < SEMVER_CONSTRAINT_MAX_GROUPS; k++)
                o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%d", k ? "||" : "", k);
        assert_int_equal(semver_constraint_parse(buf, &c, &err), 0);
        c = semver_constraint_free(c);
        snprintf(buf + o, sizeof(buf) - o, "||99");
        assert_int_equal(semver_constraint_parse(buf, &c, &err), -E2BIG);
        assert_string_equal(err.message,
                            "a version constraint has at most 32 alternatives joined by \"||\"");

        /* 64 comparisons are fine, 65 are not (a hyphen range counts two) */
        o = 0;
        for (int k = 0; k < SEMVER_CONSTRAINT_MAX_TERMS; k++)
                o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s>%d", k ? " " : "", k);
        assert_int_equal(semver_constraint_parse(buf, &c, &err), 0);
        c = semver_constraint_free(c);
        snprintf(buf + o, sizeof(buf) - o, " <99");
        assert_int_equal(semver_constraint_parse(buf, &c, &err), -E2BIG);
        assert_string_equal(err.message, "a version constraint has at most 64 comparisons");

        /* a constraint version with an overlong prerelease is refused, not overflowed */
        o = (size_t)snprintf(buf, sizeof(buf), "^1.0.0-");
        memset(buf + o, 'a', 300);
        buf[o + 300] = '\0';
        assert_int_equal(semver_constraint_parse(buf, &c, &err), -EINVAL);
        assert_non_null(strstr(err.message, "the prerelease is longer than 127 characters"));

        assert_null(semver_constraint_free(NULL));
        assert_int_equal(semver_constraint_parse(NULL, &c, &err), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_parse_valid),
            cmocka_unit_test(test_parse_invalid),
            cmocka_unit_test(test_parse_too_long),
            cmocka_unit_test(test_cmp),
            cmocka_unit_test(test_cmp_spec_chain),
            cmocka_unit_test(test_format),
            cmocka_unit_test(test_match),
            cmocka_unit_test(test_constraint_invalid),
            cmocka_unit_test(test_constraint_limits),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
