/* Table-driven tests for the HTTP source index: a valid index becomes the
 * expected catalog; each index-level problem fails the parse with exactly
 * the expected path and message; each version-level problem marks only
 * that version invalid, with its exact error; limits; signatures. */
#include <ctype.h>
#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "core/json.h"
#include "core/util.h"
#include "sources/index.h"

#define SHA_A "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90"

static const char base_index[] =
    "{\"dogeboxIndex\": 1, \"id\": \"test.pups\", \"name\": \"Test pups\",\n"
    " \"description\": \"for tests\",\n"
    " \"pups\": [\n"
    "  {\"name\": \"Hello\", \"versions\": [\n"
    "    {\"version\": \"1.0.0\",\n"
    "     \"manifest\": {\"manifestVersion\": 1,\n"
    "        \"meta\": {\"name\": \"Hello\", \"version\": \"1.0.0\"},\n"
    "        \"container\": {\"build\": {\"type\": \"native\"},\n"
    "          \"services\": [{\"name\": \"web\", \"command\": {\"exec\": \"run.sh\"}}],\n"
    "          \"exposes\": [{\"name\": \"web\", \"type\": \"http\", \"port\": 8080}]}},\n"
    "     \"logo\": \"data:image/png;base64,iVBORw0KGgo=\",\n"
    "     \"archive\": {\"url\": \"hello-1.0.0.tar.gz\", \"sha256\": \"" SHA_A "\", "
    "\"size\": 1234}},\n"
    "    {\"version\": \"0.9.0\",\n"
    "     \"manifest\": {\"manifestVersion\": 1,\n"
    "        \"meta\": {\"name\": \"Hello\", \"version\": \"0.9.0\"},\n"
    "        \"container\": {\"build\": {\"type\": \"native\"},\n"
    "          \"services\": [{\"name\": \"web\", \"command\": {\"exec\": \"run.sh\"}}]}},\n"
    "     \"archive\": {\"url\": \"https://example.org/hello-0.9.0.tar.gz\",\n"
    "                 \"sha256\": \"" SHA_A "\", \"size\": 99}}]},\n"
    "  {\"name\": \"Other\", \"versions\": [\n"
    "    {\"version\": \"2.0.0\",\n"
    "     \"manifest\": {\"manifestVersion\": 1,\n"
    "        \"meta\": {\"name\": \"Other\", \"version\": \"2.0.0\"},\n"
    "        \"container\": {\"build\": {\"type\": \"native\"}, \"services\": []}},\n"
    "     \"archive\": {\"url\": \"other.tar.gz\", \"sha256\": \"" SHA_A "\", \"size\": 1}}]}\n"
    " ]}\n";

static json_t *load_base(void)
{
        json_error_t e;
        json_t *j = json_loads(base_index, 0, &e);
        if (!j)
                fail_msg("base index: %s at %d:%d", e.text, e.line, e.column);
        return j;
}

/* Set (value != NULL, a JSON text) or delete the element at a dotted path
 * ("pups.0.versions.1.archive.size"); numeric parts index arrays; "" is
 * the root, replaced by value. */
static json_t *mutate(json_t *root, const char *path, const char *value)
{
        json_error_t e;
        json_t *v = value ? json_loads(value, JSON_DECODE_ANY, &e) : NULL;
        if (value && !v)
                fail_msg("test value %s: %s", value, e.text);
        if (!*path) {
                json_decref(root);
                return v;
        }
        char *p = xstrdup(path), *save = NULL, *part = strtok_r(p, ".", &save);
        json_t *cur = root;
        for (;;) {
                char *next = strtok_r(NULL, ".", &save);
                bool idx = part[0] >= '0' && part[0] <= '9';
                if (!next) {
                        if (idx) {
                                size_t i = strtoul(part, NULL, 10);
                                if (!v)
                                        json_array_remove(cur, i);
                                else if (i == json_array_size(cur))
                                        json_array_append_new(cur, v);
                                else
                                        json_array_set_new(cur, i, v);
                        } else if (v)
                                json_object_set_new(cur, part, v);
                        else
                                json_object_del(cur, part);
                        break;
                }
                cur =
                    idx ? json_array_get(cur, strtoul(part, NULL, 10)) : json_object_get(cur, part);
                if (!cur)
                        fail_msg("no %s in %s", part, path);
                part = next;
        }
        free(p);
        return root;
}

static int parse_json(json_t *j, struct catalog **ret, char **ret_key, struct dbx_errors *errs)
{
        char *text = json_dumps(j, JSON_ENCODE_ANY);
        int r = index_parse(text, strlen(text), ret, ret_key, errs);
        free(text);
        return r;
}

static const struct catalog_version *find_version(const struct catalog *c, const char *name,
                                                  const char *ver)
{
        for (size_t i = 0; i < c->n; i++)
                if (streq(c->versions[i].name, name) && streq(c->versions[i].version, ver))
                        return &c->versions[i];
        return NULL;
}

/* ---- the valid index ---- */

static void test_valid(void **state)
{
        struct catalog *c = NULL;
        char *key = NULL;
        struct dbx_errors errs = {0};
        json_t *j = load_base();
        assert_int_equal(parse_json(j, &c, &key, &errs), 0);
        assert_int_equal(errs.n, 0);
        assert_null(key);
        assert_string_equal(c->id, "test.pups");
        assert_string_equal(c->name, "Test pups");
        assert_string_equal(c->description, "for tests");
        assert_int_equal(c->n, 3);
        /* sorted by name, then highest version first */
        assert_string_equal(c->versions[0].name, "Hello");
        assert_string_equal(c->versions[0].version, "1.0.0");
        assert_string_equal(c->versions[1].version, "0.9.0");
        assert_string_equal(c->versions[2].name, "Other");
        for (size_t i = 0; i < c->n; i++) {
                assert_true(c->versions[i].valid);
                assert_non_null(c->versions[i].manifest_json);
                assert_int_equal(c->versions[i].n_errors, 0);
        }
        const struct catalog_version *v = &c->versions[0];
        assert_string_equal(v->archive_url, "hello-1.0.0.tar.gz"); /* resolved by the loader */
        assert_string_equal(v->archive_sha256, SHA_A);
        assert_int_equal(v->archive_size, 1234);
        assert_string_equal(v->logo, "data:image/png;base64,iVBORw0KGgo=");
        assert_null(c->versions[1].logo);
        /* the manifest is stored in the upstream shape */
        json_t *m = json_loads(v->manifest_json, 0, NULL);
        assert_non_null(m);
        assert_string_equal(json_string_value(json_object_get(json_object_get(m, "meta"), "name")),
                            "Hello");
        assert_non_null(json_object_get(m, "container"));
        json_decref(m);
        assert_int_equal(c->n_warnings, 0);
        catalog_free(c);
        json_decref(j);
}

static void test_public_key_and_warnings(void **state)
{
        struct catalog *c = NULL;
        char *key = NULL;
        json_t *j = load_base();
        j = mutate(j, "publicKey",
                   "\"  ABCDEF0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789 \"");
        j = mutate(j, "homepage", "\"https://example.org\"");
        j = mutate(j, "pups.0.versions.0.notes", "\"x\"");
        assert_int_equal(parse_json(j, &c, &key, NULL), 0);
        assert_string_equal(key,
                            "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789");
        assert_int_equal(c->n_warnings, 2);
        assert_string_equal(c->warnings[0], "unknown key \"homepage\" is ignored");
        assert_string_equal(c->warnings[1],
                            "pups[0].versions[0]: unknown key \"notes\" is ignored");
        free(key);
        catalog_free(c);
        json_decref(j);
}

/* The pups are validated while the index streams in (before the keys that
 * follow them are read); what that finds must still come out as if read
 * last: root warnings first, the 50-warning cap counted in that order, and
 * nothing from the pups when the index fails as a whole. */
static void test_streaming_order(void **state)
{
        struct catalog *c = NULL;
        struct dbx_errors errs = {0};
        json_t *j = load_base();
        char key[32];

        for (int i = 0; i < 60; i++) {
                snprintf(key, sizeof(key), "pups.0.versions.0.x%02d", i);
                j = mutate(j, key, "1");
        }
        /* pups first, the root's own keys after them */
        char *text = json_dumps(j, JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
        json_t *pups = json_incref(json_object_get(j, "pups"));
        json_object_del(j, "pups");
        json_t *reordered = json_pack("{s:o}", "pups", pups);
        json_object_update(reordered, j);
        json_object_set_new(reordered, "zzz", json_true());
        free(text);
        text = json_dumps(reordered, JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
        assert_ptr_equal(strstr(text, "{\"pups\""), text);
        assert_int_equal(index_parse(text, strlen(text), &c, NULL, &errs), 0);
        assert_int_equal(errs.n, 0);
        assert_int_equal(c->n_warnings, 50);
        assert_string_equal(c->warnings[0], "unknown key \"zzz\" is ignored");
        assert_string_equal(c->warnings[1], "pups[0].versions[0]: unknown key \"x00\" is ignored");
        assert_string_equal(c->warnings[49], "pups[0].versions[0]: unknown key \"x48\" is ignored");
        catalog_free(c);
        free(text);

        /* a bad header after the pups: only the header's error, though the
         * pups (listed twice here) streamed in first */
        json_object_set_new(reordered, "id", json_string("-bad"));
        json_array_append(pups, json_array_get(pups, 0));
        text = json_dumps(reordered, JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
        c = NULL;
        assert_int_equal(index_parse(text, strlen(text), &c, NULL, &errs), -EINVAL);
        assert_null(c);
        assert_int_equal(errs.n, 1);
        assert_string_equal(errs.items[0].path, "id");
        dbx_errors_free(&errs);
        free(text);

        /* a good header: the duplicate is reported, once */
        json_object_set_new(reordered, "id", json_string("good"));
        text = json_dumps(reordered, JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
        assert_int_equal(index_parse(text, strlen(text), &c, NULL, &errs), -EINVAL);
        assert_int_equal(errs.n, 1);
        assert_string_equal(errs.items[0].path, "pups[2].name");
        assert_string_equal(errs.items[0].message, "\"Hello\" is listed twice (also at pups[0])");
        dbx_errors_free(&errs);
        free(text);

        /* malformed after the pups: nothing from them either */
        text = json_dumps(reordered, JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
        text[strlen(text) - 1] = ',';
        assert_int_equal(index_parse(text, strlen(text), &c, NULL, &errs), -EINVAL);
        assert_int_equal(errs.n, 1);
        assert_non_null(strstr(errs.items[0].message, "the index is not usable JSON"));
        dbx_errors_free(&errs);
        free(text);
        json_decref(reordered);
        json_decref(j);
}

/* ---- index-level errors: the parse fails ---- */

struct fatal_case {
        const char *name;
        const char *path;  /* mutation */
        const char *value; /* NULL: delete */
        const char *err_path;
        const char *message; /* exact; a trailing '*' means prefix */
};

static const struct fatal_case fatal_cases[] = {
    {"root-array", "", "[]", "", "the index is an array, a JSON object is expected"},
    {"root-string", "", "\"x\"", "", "the index is a string, a JSON object is expected"},
    {"no-format", "dogeboxIndex", NULL, "dogeboxIndex",
     "missing: an index says which format it uses (\"dogeboxIndex\": 1)"},
    {"format-2", "dogeboxIndex", "2", "dogeboxIndex",
     "format 2 is not supported (this dogeboxd reads 1)"},
    {"format-string", "dogeboxIndex", "\"1\"", "dogeboxIndex",
     "a string where the format number (1) is expected"},
    {"no-id", "id", NULL, "id", "nothing where the source id is expected"},
    {"id-number", "id", "7", "id", "a number where the source id is expected"},
    {"id-bad", "id", "\"-pups\"", "id",
     "\"-pups\" is not a valid source id (letters, digits, _, . and -, starting with a letter or "
     "digit, at most 128 characters)"},
    {"id-space", "id", "\"my pups\"", "id",
     "\"my pups\" is not a valid source id (letters, digits, _, . and -, starting with a letter "
     "or digit, at most 128 characters)"},
    {"no-name", "name", NULL, "name", "nothing where the source's name is expected"},
    {"name-empty", "name", "\"\"", "name", "the source's name must be 1-128 characters"},
    {"desc-number", "description", "3", "description",
     "must be a string of at most 16384 characters"},
    {"pubkey-short", "publicKey", "\"abc\"", "publicKey",
     "an Ed25519 public key is 64 hex characters; got 3 characters"},
    {"pubkey-nonhex", "publicKey",
     "\"zz00000000000000000000000000000000000000000000000000000000000000\"", "publicKey",
     "an Ed25519 public key is 64 hex characters; got 64 characters that are not all hex"},
    {"pubkey-number", "publicKey", "1", "publicKey", "must be an Ed25519 public key in hex"},
    {"no-pups", "pups", NULL, "pups", "nothing where an array of pups is expected"},
    {"pups-object", "pups", "{}", "pups", "an object where an array of pups is expected"},
    {"pup-string", "pups.0", "\"Hello\"", "pups[0]",
     "a string where a pup ({\"name\", \"versions\"}) is expected"},
    {"pup-no-name", "pups.1.name", NULL, "pups[1].name",
     "nothing where the pup's name is expected"},
    {"pup-empty-name", "pups.1.name", "\"\"", "pups[1].name",
     "\"\" is not a pup name (1-128 characters)"},
    {"pup-no-versions", "pups.0.versions", NULL, "pups[0].versions",
     "nothing where an array of versions is expected"},
    {"pup-versions-null", "pups.0.versions", "null", "pups[0].versions",
     "null where an array of versions is expected"},
    {"version-string", "pups.0.versions.1", "\"0.9.0\"", "pups[0].versions[1]",
     "a string where a version ({\"version\", \"manifest\", ...}) is expected"},
    {"version-missing", "pups.0.versions.1.version", NULL, "pups[0].versions[1].version",
     "nothing where a version string (1-128 characters) is expected"},
    {"version-number", "pups.0.versions.1.version", "1", "pups[0].versions[1].version",
     "a number where a version string (1-128 characters) is expected"},
    {"version-empty", "pups.0.versions.1.version", "\"\"", "pups[0].versions[1].version",
     "a string where a version string (1-128 characters) is expected"},
    {"duplicate-pup", "pups.1.name", "\"Hello\"", "pups[1].name",
     "\"Hello\" is listed twice (also at pups[0])"},
    {"duplicate-version", "pups.0.versions.1.version", "\"1.0.0\"", "pups[0].versions[1].version",
     "\"1.0.0\" is listed twice (also at versions[0])"},
};

static void check_fatal(const struct fatal_case *tc)
{
        struct catalog *c = NULL;
        char *key = NULL;
        struct dbx_errors errs = {0};
        json_t *j = mutate(load_base(), tc->path, tc->value);
        int r = parse_json(j, &c, &key, &errs);
        if (r != -EINVAL)
                fail_msg("%s: returned %d", tc->name, r);
        assert_null(c);
        assert_null(key);
        if (errs.n != 1) {
                for (size_t i = 0; i < errs.n; i++)
                        print_message("  %s: %s\n", errs.items[i].path, errs.items[i].message);
                fail_msg("%s: %zu errors, 1 expected", tc->name, errs.n);
        }
        if (!streq(errs.items[0].path, tc->err_path))
                fail_msg("%s: path \"%s\", expected \"%s\"", tc->name, errs.items[0].path,
                         tc->err_path);
        size_t n = strlen(tc->message);
        bool prefix = n && tc->message[n - 1] == '*';
        if (prefix ? strncmp(errs.items[0].message, tc->message, n - 1) != 0
                   : !streq(errs.items[0].message, tc->message))
                fail_msg("%s: message\n  \"%s\"\nexpected\n  \"%s\"", tc->name,
                         errs.items[0].message, tc->message);
        dbx_errors_free(&errs);
        json_decref(j);
}

static void test_fatal_table(void **state)
{
        for (size_t i = 0; i < ARRAY_SIZE(fatal_cases); i++)
                check_fatal(&fatal_cases[i]);
}

static void test_fatal_text(void **state)
{
        static const struct {
                const char *text, *message;
                int code;
        } cases[] = {
            {"", "the index is not usable JSON: empty body: a JSON value is expected", -EINVAL},
            {"   \n", "the index is not usable JSON: empty body: a JSON value is expected",
             -EINVAL},
            {"{\"id\": ", "the index is not usable JSON: malformed JSON at line 1 column 7*",
             -EINVAL},
            {"{\"a\": 1, \"a\": 2}", "the index is not usable JSON: malformed JSON at line 1*",
             -EINVAL},
        };
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                struct catalog *c = NULL;
                struct dbx_errors errs = {0};
                assert_int_equal(index_parse(cases[i].text, strlen(cases[i].text), &c, NULL, &errs),
                                 cases[i].code);
                assert_int_equal(errs.n, 1);
                size_t n = strlen(cases[i].message);
                if (cases[i].message[n - 1] == '*')
                        assert_memory_equal(errs.items[0].message, cases[i].message, n - 1);
                else
                        assert_string_equal(errs.items[0].message, cases[i].message);
                dbx_errors_free(&errs);
        }
}

static void test_limits(void **state)
{
        struct dbx_errors errs = {0};
        struct catalog *c = NULL;
        /* one byte past the size limit, without allocating it as JSON */
        size_t big = INDEX_SIZE_MAX + 1;
        char *buf = xmalloc(big);
        memset(buf, ' ', big);
        assert_int_equal(index_parse(buf, big, &c, NULL, &errs), -E2BIG);
        assert_string_equal(errs.items[0].message,
                            "the index is 33554433 bytes, at most 33554432 are allowed");
        free(buf);
        dbx_errors_free(&errs);

        /* nesting: the depth limit leaves room for manifests, not more */
        char deep[INDEX_DEPTH_MAX * 2 + 4];
        size_t n = 0;
        for (int i = 0; i <= INDEX_DEPTH_MAX; i++)
                deep[n++] = '[';
        for (int i = 0; i <= INDEX_DEPTH_MAX; i++)
                deep[n++] = ']';
        assert_int_equal(index_parse(deep, n, &c, NULL, &errs), -E2BIG);
        assert_string_equal(errs.items[0].message,
                            "the index is not usable JSON: JSON nested 38 levels deep: at most 37 "
                            "are allowed");
        dbx_errors_free(&errs);

        /* too many versions of one pup */
        json_t *j = load_base();
        json_t *vs = json_object_get(json_array_get(json_object_get(j, "pups"), 1), "versions");
        for (int i = 1; i <= INDEX_VERSIONS_MAX; i++)
                json_array_append_new(vs, json_pack("{s:s}", "version", "x"));
        assert_int_equal(parse_json(j, &c, NULL, &errs), -EINVAL);
        assert_string_equal(errs.items[0].path, "pups[1].versions");
        assert_string_equal(errs.items[0].message,
                            "1001 versions: at most 1000 are allowed per pup");
        dbx_errors_free(&errs);
        json_decref(j);
}

/* ---- version-level errors: that version is invalid, the rest usable ---- */

struct version_case {
        const char *name;
        const char *path; /* under pups.0.versions.0 */
        const char *value;
        const char *error; /* the first error of Hello 1.0.0, exact */
        size_t n_errors;
};

static const struct version_case version_cases[] = {
    {"manifest-missing", "manifest", NULL, "manifest: nothing where the pup's manifest is expected",
     1},
    {"manifest-array", "manifest", "[]", "manifest: an array where the pup's manifest is expected",
     1},
    {"manifest-port", "manifest.container.exposes.0.port", "70000",
     "manifest.container.exposes[0].port: 70000 is not a port (1-65535)", 1},
    {"manifest-name", "manifest.meta.name", "\"Goodbye\"",
     "manifest.meta.name: \"Goodbye\" does not match the pup it is listed under (\"Hello\")", 1},
    {"manifest-version", "manifest.meta.version", "\"1.0.1\"",
     "manifest.meta.version: \"1.0.1\" does not match the version it is listed as (\"1.0.0\")", 1},
    {"manifest-no-container", "manifest.container", NULL, "manifest.container: *", 1},
    {"archive-missing", "archive", NULL,
     "archive: nothing is not an archive ({\"url\", \"sha256\", \"size\"})", 1},
    {"archive-string", "archive", "\"x.tgz\"",
     "archive: a string is not an archive ({\"url\", \"sha256\", \"size\"})", 1},
    {"url-missing", "archive.url", NULL, "archive.url: nothing where a URL is expected", 1},
    {"url-ftp", "archive.url", "\"ftp://example.org/x.tgz\"",
     "archive.url: \"ftp://example.org/x.tgz\" must be an http(s):// URL or a path relative to "
     "the index",
     1},
    {"url-file", "archive.url", "\"file:///etc/passwd\"",
     "archive.url: \"file:///etc/passwd\" must be an http(s):// URL or a path relative to the "
     "index",
     1},
    {"url-nohost", "archive.url", "\"https://\"", "archive.url: \"https://\" has no host", 1},
    {"url-scheme-relative", "archive.url", "\"//evil.example/x\"",
     "archive.url: \"//evil.example/x\" must not be scheme-relative (//host/...)", 1},
    {"url-space", "archive.url", "\"a b.tgz\"",
     "archive.url: \"a b.tgz\" contains spaces, control characters or backslashes", 1},
    {"url-empty", "archive.url", "\"\"", "archive.url: \"\" is empty", 1},
    {"sha-short", "archive.sha256", "\"abc\"",
     "archive.sha256: \"abc\" is not a SHA-256 (64 lowercase hex characters)", 1},
    {"sha-upper", "archive.sha256",
     "\"A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8F90\"",
     "archive.sha256: \"A1B2C3D4E5F60718293A4B5C6D7E8F90A1B2C3D4E5F60718293A4B5C6D7E8F90\" is not "
     "a SHA-256 (64 lowercase hex characters)",
     1},
    {"sha-number", "archive.sha256", "5",
     "archive.sha256: a number where 64 lowercase hex characters are expected", 1},
    {"size-zero", "archive.size", "0",
     "archive.size: 0 is not a usable size (1 to 4294967296 bytes)", 1},
    {"size-negative", "archive.size", "-5",
     "archive.size: -5 is not a usable size (1 to 4294967296 bytes)", 1},
    {"size-huge", "archive.size", "4294967297",
     "archive.size: 4294967297 is not a usable size (1 to 4294967296 bytes)", 1},
    {"size-string", "archive.size", "\"12\"",
     "archive.size: a string where a byte count is expected", 1},
    {"logo-url", "logo", "\"https://example.org/logo.png\"",
     "logo: is not a data: URL (data:image/png;base64,...)", 1},
    {"logo-type", "logo", "\"data:text/html;base64,PGI+\"",
     "logo: must be data:image/{png,jpeg,gif,webp,svg+xml};base64,...", 1},
    {"logo-base64", "logo", "\"data:image/png;base64,@@@@\"", "logo: is not valid base64", 1},
    {"logo-number", "logo", "1", "logo: a number where a data: URL is expected", 1},
    {"version-not-semver", "version", "\"1.0\"", "version: *", 2},
    {"two-problems", "archive", "{\"url\": \"x.tgz\", \"sha256\": \"no\", \"size\": 0}",
     "archive.sha256: \"no\" is not a SHA-256 (64 lowercase hex characters)", 2},
};

static void check_version(const struct version_case *tc)
{
        struct catalog *c = NULL;
        struct dbx_errors errs = {0};
        char path[128];
        snprintf(path, sizeof(path), "pups.0.versions.0.%s", tc->path);
        json_t *j = mutate(load_base(), path, tc->value);
        if (parse_json(j, &c, NULL, &errs) != 0) {
                for (size_t i = 0; i < errs.n; i++)
                        print_message("  %s: %s\n", errs.items[i].path, errs.items[i].message);
                fail_msg("%s: the whole index was refused", tc->name);
        }
        const char *ver = streq(tc->path, "version") ? "1.0" : "1.0.0";
        const struct catalog_version *v = find_version(c, "Hello", ver);
        assert_non_null(v);
        if (v->valid || v->n_errors != tc->n_errors) {
                for (size_t i = 0; i < v->n_errors; i++)
                        print_message("  %s\n", v->errors[i]);
                fail_msg("%s: valid=%d with %zu errors, %zu expected", tc->name, v->valid,
                         v->n_errors, tc->n_errors);
        }
        assert_null(v->manifest_json);
        size_t n = strlen(tc->error);
        if (tc->error[n - 1] == '*' ? strncmp(v->errors[0], tc->error, n - 1) != 0
                                    : !streq(v->errors[0], tc->error))
                fail_msg("%s: error\n  \"%s\"\nexpected\n  \"%s\"", tc->name, v->errors[0],
                         tc->error);
        /* the other versions are untouched */
        assert_true(find_version(c, "Hello", "0.9.0")->valid);
        assert_true(find_version(c, "Other", "2.0.0")->valid);
        /* the latest valid version skips the invalid one */
        const struct catalog_version *latest = catalog_find(c, "Hello", NULL);
        assert_string_equal(latest->version, streq(ver, "1.0") ? "0.9.0" : "0.9.0");
        catalog_free(c);
        json_decref(j);
}

static void test_version_table(void **state)
{
        for (size_t i = 0; i < ARRAY_SIZE(version_cases); i++)
                check_version(&version_cases[i]);
}

/* ---- signatures ---- */

static void sign_hex(const char *msg, size_t len,
                     const unsigned char sk[crypto_sign_SECRETKEYBYTES],
                     char out[2 * crypto_sign_BYTES + 1])
{
        unsigned char sig[crypto_sign_BYTES];
        crypto_sign_detached(sig, NULL, (const unsigned char *)msg, len, sk);
        hex_encode(sig, sizeof(sig), out);
}

static void test_signatures(void **state)
{
        unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES],
            pk2[crypto_sign_PUBLICKEYBYTES], sk2[crypto_sign_SECRETKEYBYTES];
        char sig[2 * crypto_sign_BYTES + 1], pkhex[65], text[300];
        uint8_t key[INDEX_PUBKEY_BYTES];
        struct dbx_error err = {0};
        size_t len = strlen(base_index);

        assert_true(sodium_init() >= 0);
        crypto_sign_keypair(pk, sk);
        crypto_sign_keypair(pk2, sk2);
        sign_hex(base_index, len, sk, sig);
        hex_encode(pk, sizeof(pk), pkhex);
        assert_int_equal(index_pubkey_parse(pkhex, key, &err), 0);
        assert_memory_equal(key, pk, sizeof(pk));

        assert_int_equal(index_verify(base_index, len, sig, strlen(sig), key, &err), 0);
        /* surrounding whitespace and a trailing newline are fine, upper case too */
        snprintf(text, sizeof(text), "  %s\n", sig);
        for (char *p = text; *p; p++)
                *p = (char)toupper((unsigned char)*p);
        assert_int_equal(index_verify(base_index, len, text, strlen(text), key, &err), 0);

        /* another key */
        assert_int_equal(index_verify(base_index, len, sig, strlen(sig), pk2, &err), -EBADMSG);
        assert_string_equal(err.message,
                            "the index signature does not verify with the source's pinned "
                            "public key: the index was changed or signed with another key");
        /* one byte changed */
        char *copy = xstrdup(base_index);
        copy[10] ^= 1;
        assert_int_equal(index_verify(copy, len, sig, strlen(sig), key, &err), -EBADMSG);
        free(copy);
        /* truncated index */
        assert_int_equal(index_verify(base_index, len - 1, sig, strlen(sig), key, &err), -EBADMSG);
        /* not a signature */
        assert_int_equal(index_verify(base_index, len, "hello", 5, key, &err), -EBADMSG);
        assert_string_equal(err.message, "the signature file does not hold a signature (128 hex "
                                         "characters expected, got 5 characters)");
        sig[0] = 'x';
        assert_int_equal(index_verify(base_index, len, sig, strlen(sig), key, &err), -EBADMSG);
        assert_string_equal(err.message, "the signature file does not hold a signature (128 hex "
                                         "characters expected, got 128 characters)");
        char big[INDEX_SIG_TEXT_MAX + 1];
        memset(big, ' ', sizeof(big));
        assert_int_equal(index_verify(base_index, len, big, sizeof(big), key, &err), -EBADMSG);
        assert_string_equal(err.message,
                            "the signature file is 1025 bytes: it should hold 128 hex characters");
        assert_int_equal(index_verify(base_index, len, "", 0, key, &err), -EBADMSG);
}

static void test_logo_check(void **state)
{
        assert_null(index_logo_check("data:image/svg+xml;base64,PHN2Zy8+"));
        assert_null(index_logo_check("data:image/jpeg;base64,/9j/4AAQ"));
        assert_string_equal(index_logo_check("data:image/png;base64,"), "is empty");
        /* exactly the limit, and one past it */
        size_t n = INDEX_LOGO_MAX / 3 * 4;
        char *s = xmalloc(strlen("data:image/png;base64,") + n + 8);
        strcpy(s, "data:image/png;base64,");
        memset(s + strlen(s), 'A', n);
        s[strlen("data:image/png;base64,") + n] = '\0';
        assert_null(index_logo_check(s));
        strcat(s, "AAAA");
        assert_string_equal(index_logo_check(s), "is larger than 256 KiB");
        free(s);
}

/* The base64 check accepts exactly what sodium_base642bin() does (strict,
 * padded, unused bits zero): every string of up to 4 characters over a
 * small alphabet, and some longer ones. */
static void check_base64_agrees(const char *b64)
{
        char logo[64];
        unsigned char bin[64];
        size_t bin_len, n = strlen(b64);
        snprintf(logo, sizeof(logo), "data:image/png;base64,%s", b64);
        const char *why = index_logo_check(logo);
        bool sodium_ok = sodium_base642bin(bin, sizeof(bin), b64, n, NULL, &bin_len, NULL,
                                           sodium_base64_VARIANT_ORIGINAL) == 0;
        if (n == 0)
                assert_string_equal(why, "is empty");
        else if (sodium_ok != (why == NULL))
                fail_msg("\"%s\": sodium %s, index_logo_check says %s", b64,
                         sodium_ok ? "accepts" : "refuses", why ? why : "fine");
}

static void test_logo_base64(void **state)
{
        static const char alphabet[] = "AQgw+/=_ ";
        char s[5];
        for (size_t len = 0; len <= 4; len++) {
                size_t total = 1;
                for (size_t i = 0; i < len; i++)
                        total *= sizeof(alphabet) - 1;
                for (size_t k = 0; k < total; k++) {
                        size_t x = k;
                        for (size_t i = 0; i < len; i++) {
                                s[i] = alphabet[x % (sizeof(alphabet) - 1)];
                                x /= sizeof(alphabet) - 1;
                        }
                        s[len] = '\0';
                        check_base64_agrees(s);
                }
        }
        static const char *const longer[] = {
            "QUJD",     "QUJDRA==",   "QUJDRA=",  "QUJDREU=",     "QUJDREF=",     "QUJDRB==",
            "QU=JDREU", "QUJD\nREU=", "QUJDREVG", "QUJDREVGRw==", "QUJDREVGR===", "=QUJ"};
        for (size_t i = 0; i < sizeof(longer) / sizeof(longer[0]); i++)
                check_base64_agrees(longer[i]);
}

static void test_source_ids(void **state)
{
        assert_true(index_source_id_valid("dogeorg.pups"));
        assert_true(index_source_id_valid("a"));
        assert_true(index_source_id_valid("A_b-9.x"));
        assert_false(index_source_id_valid(""));
        assert_false(index_source_id_valid(".pups"));
        assert_false(index_source_id_valid("a/b"));
        assert_false(index_source_id_valid("é"));
        char long_id[MANIFEST_SOURCE_ID_MAX + 2];
        memset(long_id, 'a', sizeof(long_id) - 1);
        long_id[sizeof(long_id) - 1] = '\0';
        assert_false(index_source_id_valid(long_id));
        long_id[MANIFEST_SOURCE_ID_MAX] = '\0';
        assert_true(index_source_id_valid(long_id));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_valid),           cmocka_unit_test(test_public_key_and_warnings),
            cmocka_unit_test(test_fatal_table),     cmocka_unit_test(test_fatal_text),
            cmocka_unit_test(test_limits),          cmocka_unit_test(test_version_table),
            cmocka_unit_test(test_signatures),      cmocka_unit_test(test_logo_check),
            cmocka_unit_test(test_source_ids),      cmocka_unit_test(test_logo_base64),
            cmocka_unit_test(test_streaming_order),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
