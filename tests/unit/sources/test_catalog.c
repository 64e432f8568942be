/* Catalog tests: ordering and de-duplication rules, lookups, the cache
 * blob round trip and its damage handling, the store listing JSON and the
 * JSON text builder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "core/json.h"
#include "sources/catalog.h"
#include "sources/sources.h"

static struct catalog_version *add(struct catalog *c, const char *name, const char *ver, bool valid,
                                   const char *tag)
{
        struct catalog_version *v = catalog_add(c, name, ver);
        assert_non_null(v);
        v->valid = valid;
        if (valid) {
                json_t *m = json_pack("{s:{s:s,s:s}}", "meta", "name", name, "version", ver);
                v->manifest_json = json_dumps(m, JSON_COMPACT);
                json_decref(m);
        } else
                catalog_version_error(v, "container.exposes[0].port", "%d is not a port", 70000);
        v->tag = tag ? xstrdup(tag) : NULL;
        v->subpath = xstrdup("pup");
        return v;
}

static void test_order_and_dedup(void **state)
{
        struct catalog *c = catalog_new();
        /* git-like: tags from the lowest to the highest */
        add(c, "Core", "0.0.8", true, "v0.1.0");
        add(c, "Core", "0.0.9", true, "v0.2.0");
        add(c, "Core", "0.0.9", true, "v0.2.1"); /* same version again: the first tag wins */
        add(c, "Core", "0.0.10", false, "v0.3.0");
        add(c, "Core", "0.0.10", true, "v0.3.1"); /* valid beats invalid, whatever the order */
        add(c, "Alpha", "1.0.0-rc.1", true, "v0.3.1");
        add(c, "Alpha", "1.0.0", false, "v0.3.1");
        add(c, "Alpha", "banana", false, "v0.3.1"); /* not semver: sorted last */
        assert_int_equal(catalog_finish(c), 2);
        assert_int_equal(c->n, 6);
        static const char *const want[][3] = {
            {"Alpha", "1.0.0", "0"}, {"Alpha", "1.0.0-rc.1", "1"}, {"Alpha", "banana", "0"},
            {"Core", "0.0.10", "1"}, {"Core", "0.0.9", "1"},       {"Core", "0.0.8", "1"},
        };
        for (size_t i = 0; i < c->n; i++) {
                assert_string_equal(c->versions[i].name, want[i][0]);
                assert_string_equal(c->versions[i].version, want[i][1]);
                assert_int_equal(c->versions[i].valid, want[i][2][0] == '1');
        }
        assert_string_equal(catalog_find(c, "Core", "0.0.9")->tag, "v0.2.0");
        assert_string_equal(catalog_find(c, "Core", "0.0.10")->tag, "v0.3.1");
        /* latest: the highest valid version; an invalid higher one is skipped */
        assert_string_equal(catalog_find(c, "Alpha", NULL)->version, "1.0.0-rc.1");
        assert_string_equal(catalog_find(c, "Alpha", "latest")->version, "1.0.0-rc.1");
        assert_string_equal(catalog_find(c, "Core", "latest")->version, "0.0.10");
        /* a "v" prefix finds the same version */
        assert_string_equal(catalog_find(c, "Core", "v0.0.8")->version, "0.0.8");
        assert_null(catalog_find(c, "Core", "0.0.7"));
        assert_null(catalog_find(c, "Nope", NULL));
        assert_int_equal(catalog_count_valid(c), 4);
        assert_int_equal(catalog_count_pups(c), 2);
        /* finishing again changes nothing */
        assert_int_equal(catalog_finish(c), 0);
        assert_int_equal(c->n, 6);
        catalog_free(c);
}

static void test_limit(void **state)
{
        struct catalog *c = catalog_new();
        char ver[32];
        for (int i = 0; i < CATALOG_VERSIONS_MAX; i++) {
                snprintf(ver, sizeof(ver), "1.0.%d", i);
                assert_non_null(catalog_add(c, "P", ver));
        }
        assert_null(catalog_add(c, "P", "2.0.0"));
        catalog_free(c);
}

static void test_errors_capped(void **state)
{
        struct catalog *c = catalog_new();
        struct catalog_version *v = catalog_add(c, "P", "1.0.0");
        for (int i = 0; i < CATALOG_VERSION_ERRORS + 5; i++)
                catalog_version_error(v, "a", "error %d", i);
        assert_int_equal(v->n_errors, CATALOG_VERSION_ERRORS);
        assert_int_equal(v->errors_dropped, 5);
        assert_string_equal(v->errors[0], "a: error 0");
        struct dbx_errors errs = {0};
        dbx_errors_add(&errs, -EINVAL, "meta.version", "missing");
        dbx_errors_add(&errs, -EINVAL, "", "not JSON");
        struct catalog_version *w = catalog_add(c, "Q", "1.0.0");
        catalog_version_errors(w, &errs, "manifest");
        assert_string_equal(w->errors[0], "manifest.meta.version: missing");
        assert_string_equal(w->errors[1], "manifest: not JSON");
        catalog_version_errors(w, &errs, NULL);
        assert_string_equal(w->errors[2], "meta.version: missing");
        assert_string_equal(w->errors[3], "not JSON");
        dbx_errors_free(&errs);
        catalog_free(c);
}

static void check_same(const struct catalog *a, const struct catalog *b)
{
        assert_string_equal(a->id, b->id);
        assert_string_equal(a->name, b->name);
        assert_string_equal(a->description, b->description);
        assert_int_equal(a->n, b->n);
        assert_int_equal(a->n_warnings, b->n_warnings);
        for (size_t i = 0; i < a->n_warnings; i++)
                assert_string_equal(a->warnings[i], b->warnings[i]);
        for (size_t i = 0; i < a->n; i++) {
                const struct catalog_version *x = &a->versions[i], *y = &b->versions[i];
                assert_string_equal(x->name, y->name);
                assert_string_equal(x->version, y->version);
                assert_int_equal(x->valid, y->valid);
                assert_int_equal(x->n_errors, y->n_errors);
                for (size_t k = 0; k < x->n_errors; k++)
                        assert_string_equal(x->errors[k], y->errors[k]);
                assert_int_equal(x->errors_dropped, y->errors_dropped);
                if (x->manifest_json)
                        assert_string_equal(x->manifest_json, y->manifest_json);
                else
                        assert_null(y->manifest_json);
                if (x->logo)
                        assert_string_equal(x->logo, y->logo);
                else
                        assert_null(y->logo);
                if (x->tag)
                        assert_string_equal(x->tag, y->tag);
                else
                        assert_null(y->tag);
                if (x->archive_url)
                        assert_string_equal(x->archive_url, y->archive_url);
                else
                        assert_null(y->archive_url);
                assert_string_equal(x->subpath, y->subpath);
                assert_string_equal(x->commit, y->commit);
                assert_string_equal(x->archive_sha256, y->archive_sha256);
                assert_int_equal(x->archive_size, y->archive_size);
        }
}

static void test_cache_roundtrip(void **state)
{
        struct catalog *c = catalog_new(), *back = NULL;
        struct dbx_error err = {0};
        catalog_set_info(c, "src.id", "A \"quoted\" name", "line1\nline2\t\x01 ünïcode");
        struct catalog_version *v = add(c, "Pup \\ with slash", "1.2.3", true, "v1.2.3");
        v->logo = xstrdup("data:image/png;base64,AAAA");
        snprintf(v->commit, sizeof(v->commit), "%040d", 7);
        v->archive_url = xstrdup("https://example.org/p.tgz");
        memset(v->archive_sha256, 'a', CATALOG_SHA256_HEX);
        v->archive_size = 1ULL << 33;
        add(c, "Pup \\ with slash", "1.2.4", false, NULL);
        catalog_warn(c, "warning %s", "one");
        catalog_finish(c);

        size_t len;
        char *blob = catalog_to_cache(c, &len);
        assert_int_equal(strlen(blob), len);
        assert_int_equal(catalog_from_cache(blob, len, &back, &err), 0);
        check_same(c, back);
        catalog_free(back);
        /* a copy is the same too */
        back = catalog_copy(c);
        check_same(c, back);
        catalog_free(back);
        back = NULL;

        /* damage is refused, another format is told apart */
        assert_int_equal(catalog_from_cache(blob, len / 2, &back, &err), -EINVAL);
        assert_null(back);
        const char *other = "{\"format\": 99, \"versions\": []}";
        assert_int_equal(catalog_from_cache(other, strlen(other), &back, &err), -EPROTONOSUPPORT);
        const char *no_manifest =
            "{\"format\":1,\"id\":\"a\",\"name\":\"a\",\"description\":\"\",\"warnings\":[],"
            "\"versions\":[{\"name\":\"p\",\"version\":\"1.0.0\",\"valid\":true,\"manifest\":null,"
            "\"errors\":[],\"commit\":\"\",\"archiveSha256\":\"\"}]}";
        assert_int_equal(catalog_from_cache(no_manifest, strlen(no_manifest), &back, &err),
                         -EINVAL);
        /* the store listing embeds a valid version's manifest as it is: the
         * blob (written by the unprivileged fetch helper) must not smuggle
         * anything but one JSON object in */
        const char *bad_manifests[] = {"{\\\"a\\\":1}, \\\"x\\\": 2", "[1]", "{\\\"a\\\":", "1"};
        for (size_t i = 0; i < ARRAY_SIZE(bad_manifests); i++) {
                char *bad =
                    xasprintf("{\"format\":1,\"id\":\"a\",\"name\":\"a\",\"description\":\"\","
                              "\"warnings\":[],\"versions\":[{\"name\":\"p\",\"version\":\"1.0.0\","
                              "\"valid\":true,\"manifest\":\"%s\",\"errors\":[],\"commit\":\"\","
                              "\"archiveSha256\":\"\"}]}",
                              bad_manifests[i]);
                assert_int_equal(catalog_from_cache(bad, strlen(bad), &back, &err), -EINVAL);
                assert_null(back);
                free(bad);
        }
        free(blob);
        catalog_free(c);
}

static void test_store_json(void **state)
{
        struct catalog *c = catalog_new();
        add(c, "Core", "0.0.8", true, NULL);
        add(c, "Core", "0.0.9", true, NULL)->logo = xstrdup("data:image/png;base64,QQ==");
        add(c, "Core", "0.1.0", false, NULL);
        add(c, "Broken", "1.0.0", false, "v1");
        catalog_finish(c);
        struct jbuf b = {0};
        catalog_store_pups_json(c, &b);
        json_t *j = json_loads(b.p, 0, NULL);
        assert_non_null(j);
        assert_int_equal(json_object_size(j), 1); /* Broken has no valid version */
        json_t *core = json_object_get(j, "Core");
        assert_string_equal(json_string_value(json_object_get(core, "latestVersion")), "0.0.9");
        assert_string_equal(json_string_value(json_object_get(core, "logoBase64")),
                            "data:image/png;base64,QQ==");
        json_t *vs = json_object_get(core, "versions");
        assert_int_equal(json_object_size(vs), 2);
        assert_string_equal(json_string_value(json_object_get(
                                json_object_get(json_object_get(vs, "0.0.8"), "meta"), "version")),
                            "0.0.8");
        assert_true(json_is_false(json_object_get(core, "devModeAvailable")));
        json_decref(j);
        jbuf_free(&b);

        catalog_invalid_json(c, &b);
        j = json_loads(b.p, 0, NULL);
        assert_int_equal(json_array_size(j), 2);
        json_t *first = json_array_get(j, 0);
        assert_string_equal(json_string_value(json_object_get(first, "pup")), "Broken");
        assert_string_equal(json_string_value(json_object_get(first, "tag")), "v1");
        assert_string_equal(json_string_value(json_array_get(json_object_get(first, "errors"), 0)),
                            "container.exposes[0].port: 70000 is not a port");
        json_decref(j);
        jbuf_free(&b);
        catalog_free(c);
}

static void test_jbuf_escaping(void **state)
{
        static const char *const samples[] = {
            "", "plain", "quote \" and \\ backslash", "ctl \x01\x1f\n\r\t", "ünïcödé ✓", "end\\"};
        for (size_t i = 0; i < ARRAY_SIZE(samples); i++) {
                struct jbuf b = {0};
                jbuf_puts(&b, "[");
                jbuf_str(&b, samples[i]);
                jbuf_puts(&b, "]");
                size_t len;
                char *text = jbuf_steal(&b, &len);
                json_t *j = json_loadb(text, len, 0, NULL);
                assert_non_null(j);
                assert_string_equal(json_string_value(json_array_get(j, 0)), samples[i]);
                json_decref(j);
                free(text);
        }
        struct jbuf b = {0};
        jbuf_printf(&b, "%d-%s", 42, "x");
        jbuf_str(&b, NULL);
        assert_string_equal(b.p, "42-x\"\"");
        jbuf_free(&b);
        char *empty = jbuf_steal(&b, NULL);
        assert_string_equal(empty, "");
        free(empty);
}

/* Our writer and json_dumps(JSON_COMPACT) agree byte for byte. */
static void test_jbuf_json(void **state)
{
        static const char *const docs[] = {
            "{}",
            "[]",
            "{\"b\":1,\"a\":[true,false,null,-42,0,9223372036854775807],\"c\":{\"d\":\"x\\\"y\"}}",
            "[0.5,1.0,-2.25,1e+300,3.141592653589793,1e-7]",
            "{\"k\\u0001\":\"\\u00e9\\n\\t\\u2713\"}",
            "[[[[]]],{\"\":\"\"}]",
        };
        for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
                json_t *j = json_loads(docs[i], 0, NULL);
                assert_non_null(j);
                char *want = json_dumps(j, JSON_COMPACT);
                struct jbuf b = {0};
                jbuf_json(&b, j);
                char *got = jbuf_steal(&b, NULL);
                if (!streq(want, got))
                        fail_msg("doc %zu:\n  jansson %s\n  ours    %s", i, want, got);
                free(want);
                free(got);
                json_decref(j);
        }
}

/* Where a location without "type" goes (upstream's rule plus http). */
static void test_kind_infer(void **state)
{
        static const struct {
                const char *location;
                int kind; /* -1: refused */
        } cases[] = {
            {"https://github.com/Dogebox-WG/pups.git", SOURCE_GIT},
            {"https://github.com/Dogebox-WG/pups.git/", SOURCE_GIT},
            {"git@github.com:Dogebox-WG/pups.git", SOURCE_GIT},
            {"git@github.com:Dogebox-WG/pups", SOURCE_GIT},
            {"ssh://git@example.org/pups", SOURCE_GIT},
            {"git://example.org/pups", SOURCE_GIT},
            {"/srv/git/pups.git", SOURCE_GIT},
            {"https://example.org/dogebox/index.json", SOURCE_HTTP},
            {"http://127.0.0.1:8000/index.json", SOURCE_HTTP},
            {"/srv/pups", SOURCE_DISK},
            {"/", SOURCE_DISK},
            {"relative/pups", -1},
            {"ftp://example.org/pups", -1},
            {"", -1},
        };
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                enum source_kind k = _SOURCE_KIND_MAX;
                struct dbx_error err = {0};
                int r = source_kind_infer(cases[i].location, &k, &err);
                if (cases[i].kind < 0) {
                        assert_int_equal(r, -EINVAL);
                        assert_string_equal(err.path, "location");
                } else {
                        if (r < 0 || (int)k != cases[i].kind)
                                fail_msg("%s: %d %s", cases[i].location, r, source_kind_name(k));
                }
        }
        enum source_kind k;
        assert_int_equal(source_kind_from_name("http", &k), 0);
        assert_int_equal(k, SOURCE_HTTP);
        assert_int_equal(source_kind_from_name("HTTP", &k), -EINVAL);
        assert_string_equal(source_kind_name(SOURCE_DISK), "disk");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_order_and_dedup), cmocka_unit_test(test_limit),
            cmocka_unit_test(test_errors_capped),   cmocka_unit_test(test_cache_roundtrip),
            cmocka_unit_test(test_store_json),      cmocka_unit_test(test_jbuf_escaping),
            cmocka_unit_test(test_jbuf_json),       cmocka_unit_test(test_kind_infer),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
