/* libFuzzer target for the manifest module's parsers of untrusted input:
 * manifest.json, dogebox.json and (from the same bytes) version strings
 * and constraints. Besides "no crash, no leak, no UB" it checks the
 * invariants the rest of the daemon relies on:
 *   - a rejected manifest always comes with at least one error;
 *   - an accepted manifest turns into upstream JSON that is accepted again
 *     and turns into the same JSON (what the API serves can be re-read);
 *   - its defaults are valid config values and render to config.env.
 * Seeds: tests/fuzz/corpus/manifest/ (the upstream fixtures). */
#include <stdint.h>
#include "manifest/manifest.h"

#define STRING_INPUT_MAX 1024 /* version strings beyond this are refused early anyway */

static void check_manifest(const uint8_t *data, size_t size)
{
        struct dbx_errors errs = {0}, warns = {0};
        struct manifest *m = NULL, *m2 = NULL;
        int r = manifest_parse((const char *)data, size, &m, &errs, &warns);

        if (r < 0) {
                if (errs.n == 0)
                        abort(); /* refused without saying why */
                goto out;
        }
        if (errs.n != 0)
                abort();

        json_t *j = manifest_to_json(m);
        dbx_errors_free(&errs);
        if (manifest_parse_json(j, &m2, &errs, NULL) < 0)
                abort(); /* our own output must be a valid manifest */
        json_t *j2 = manifest_to_json(m2);
        if (!json_equal(j, j2))
                abort();
        json_decref(j2);
        json_decref(j);

        json_t *defaults = manifest_config_defaults(m), *coerced = NULL;
        if (manifest_config_coerce(m, defaults, &coerced, NULL) < 0)
                abort(); /* accepted defaults are valid values */
        char *env = NULL;
        if (manifest_config_env(m, coerced, &env, NULL) < 0)
                abort();
        (void)manifest_config_needed(m, coerced, false);
        (void)manifest_config_validate(m, coerced, NULL);
        free(env);
        json_decref(coerced);
        json_decref(defaults);
        (void)manifest_check_runnable(m, false, NULL);
out:
        manifest_free(m2);
        manifest_free(m);
        dbx_errors_free(&errs);
        dbx_errors_free(&warns);
}

static void check_source(const uint8_t *data, size_t size)
{
        struct dbx_errors errs = {0};
        struct manifest_source *s = NULL;

        if (manifest_source_parse((const char *)data, size, &s, &errs, NULL) < 0 && errs.n == 0)
                abort();
        manifest_source_free(s);
        dbx_errors_free(&errs);
}

static void check_versions(const uint8_t *data, size_t size)
{
        static const char *const probes[] = {"0.0.0", "0.0.1", "1.2.3", "1.2.3-rc.1", "2.0.0"};
        char text[STRING_INPUT_MAX + 1];
        struct semver_constraint *c = NULL;
        struct semver v, p;

        size = MIN(size, (size_t)STRING_INPUT_MAX);
        memcpy(text, data, size);
        text[size] = '\0';

        if (semver_parse(text, SEMVER_ALLOW_V | SEMVER_ALLOW_SHORT, &v, NULL) == 0) {
                char again[SEMVER_MAX_LEN * 3];
                struct semver w;
                /* canonical text parses strictly to the same version (when it fits:
                 * "1-x" grows by four characters into "1.0.0-x") */
                if (semver_format(&v, again, sizeof(again)) <= SEMVER_MAX_LEN &&
                    (semver_parse(again, 0, &w, NULL) < 0 || semver_cmp(&v, &w) != 0 ||
                     strcmp(v.build, w.build) != 0))
                        abort();
        }
        if (semver_constraint_parse(text, &c, NULL) == 0) {
                for (size_t i = 0; i < ARRAY_SIZE(probes); i++) {
                        if (semver_parse(probes[i], 0, &p, NULL) < 0)
                                abort();
                        (void)semver_constraint_match(c, &p);
                }
                semver_constraint_free(c);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        check_manifest(data, size);
        check_source(data, size);
        check_versions(data, size);
        return 0;
}
