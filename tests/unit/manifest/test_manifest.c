/* Table-driven tests for manifest parsing and validation: every upstream
 * fixture is valid; each invalid manifest yields exactly the expected
 * errors (path and message); unknown keys are warnings; limits hold at the
 * maximum and fail one past it; the upstream JSON shape round-trips. */
#include <dirent.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "core/fsutil.h"
#include "manifest/manifest.h"

#ifndef FIXTURES_DIR
#error "FIXTURES_DIR must point at tests/fixtures/upstream-pups"
#endif
#ifndef EXAMPLES_DIR
#error "EXAMPLES_DIR must point at examples/"
#endif

/* ---- helpers ---- */

static const char base_manifest[] =
    "{\n"
    "  \"manifestVersion\": 1,\n"
    "  \"meta\": {\"name\": \"Test Pup\", \"version\": \"1.2.3\", \"logoPath\": \"logo.png\",\n"
    "           \"shortDescription\": \"short\", \"longDescription\": \"long\\ntext\",\n"
    "           \"upstreamVersions\": {\"Core\": \"v1.14.9\"}},\n"
    "  \"config\": {\"showOnInstall\": false, \"sections\": [\n"
    "     {\"name\": \"main\", \"label\": \"Main\", \"fields\": [\n"
    "        {\"name\": \"HOST\", \"label\": \"Host\", \"type\": \"text\", \"required\": true},\n"
    "        {\"name\": \"PORT\", \"label\": \"Port\", \"type\": \"number\", \"min\": 1,\n"
    "         \"max\": 65535, \"step\": 1, \"default\": 22555},\n"
    "        {\"name\": \"MODE\", \"label\": \"Mode\", \"type\": \"select\", \"options\": [\n"
    "           {\"label\": \"Main\", \"value\": \"main\"}, {\"label\": \"Test\", \"value\": "
    "\"test\"}],\n"
    "         \"default\": \"main\"},\n"
    "        {\"name\": \"DEBUG\", \"label\": \"Debug\", \"type\": \"toggle\", \"default\": "
    "false}\n"
    "     ]}]},\n"
    "  \"container\": {\n"
    "    \"build\": {\"nixFile\": \"pup.nix\", \"nixFileSha256\": "
    "\"3af99d529f30e51c1f0a01bfe547b28ad1a40de7145a6c3d36538bf8518abbf5\"},\n"
    "    \"services\": [\n"
    "      {\"name\": \"web\", \"command\": {\"exec\": \"/bin/run.sh\", \"cwd\": \"\", "
    "\"env\": {\"A\": \"1\"}}},\n"
    "      {\"name\": \"monitor\", \"command\": {\"exec\": \"/bin/monitor\"}}],\n"
    "    \"exposes\": [\n"
    "      {\"name\": \"ui\", \"type\": \"http\", \"port\": 8080, \"interfaces\": "
    "[\"test-api\"],\n"
    "       \"listenOnHost\": false, \"webUI\": true},\n"
    "      {\"name\": \"api\", \"type\": \"tcp\", \"port\": 9000, \"interfaces\": "
    "[\"test-api\"]},\n"
    "      {\"name\": \"p2p\", \"type\": \"tcp\", \"port\": 22556, \"listenOnHost\": true}],\n"
    "    \"requiresInternet\": true\n"
    "  },\n"
    "  \"interfaces\": [{\"name\": \"test-api\", \"version\": \"0.0.1\", "
    "\"permissionGroups\": [\n"
    "     {\"name\": \"API\", \"description\": \"d\", \"severity\": 2, \"routes\": [\"/*\"], "
    "\"port\": 9000}]}],\n"
    "  \"dependencies\": [{\"interfaceName\": \"core-rpc\", \"interfaceVersion\": "
    "\"^0.0.1\",\n"
    "     \"permissionGroups\": [\"RPC\"], \"source\": {\"sourceLocation\": \"\", "
    "\"pupName\": \"\",\n"
    "     \"pupVersion\": \"\", \"pupLogoBase64\": \"\"}, \"optional\": false}],\n"
    "  \"metrics\": [{\"name\": \"blocks\", \"label\": \"Blocks\", \"type\": \"int\", "
    "\"history\": 30}]\n"
    "}\n";

static json_t *load_base(void)
{
        json_error_t e;
        json_t *j = json_loads(base_manifest, 0, &e);
        if (!j)
                fail_msg("base manifest: %s at %d:%d", e.text, e.line, e.column);
        return j;
}

/* Set (or with value NULL, delete) the element at a dotted path such as
 * "container.exposes.2.port"; numeric parts index arrays, and an index
 * equal to the array's size appends. */
static void mutate(json_t *root, const char *path, const char *value)
{
        char buf[256], *save = NULL, *tok, *next;
        json_t *cur = root;

        snprintf(buf, sizeof(buf), "%s", path);
        tok = strtok_r(buf, ".", &save);
        while (tok) {
                next = strtok_r(NULL, ".", &save);
                bool idx = json_is_array(cur);
                size_t i = idx ? strtoul(tok, NULL, 10) : 0;
                if (!next) {
                        json_t *v = NULL;
                        if (value) {
                                json_error_t e;
                                v = json_loads(value, JSON_DECODE_ANY, &e);
                                if (!v)
                                        fail_msg("value %s: %s", value, e.text);
                        }
                        if (idx) {
                                if (!v)
                                        json_array_remove(cur, i);
                                else if (i == json_array_size(cur))
                                        json_array_append_new(cur, v);
                                else
                                        json_array_set_new(cur, i, v);
                        } else if (!v)
                                json_object_del(cur, tok);
                        else
                                json_object_set_new(cur, tok, v);
                        return;
                }
                cur = idx ? json_array_get(cur, i) : json_object_get(cur, tok);
                if (!cur)
                        fail_msg("mutation path %s: no %s", path, tok);
                tok = next;
        }
}

static void expect_errors(const char *name, const char *text, size_t len,
                          const char *const *expected, int want_r)
{
        struct dbx_errors errs = {0}, warns = {0};
        struct manifest *m = NULL;
        char buf[DBX_ERROR_PATH_MAX + DBX_ERROR_MSG_MAX + 4];
        size_t n = 0;

        int r = manifest_parse(text, len, &m, &errs, &warns);
        while (expected[n])
                n++;
        if (r != want_r || errs.n != n) {
                for (size_t i = 0; i < errs.n; i++)
                        print_error("  got: %s\n",
                                    dbx_error_text(&errs.items[i], buf, sizeof(buf)));
                fail_msg("%s: r=%d (want %d), %zu errors (want %zu)", name, r, want_r, errs.n, n);
        }
        assert_null(m);
        for (size_t i = 0; i < n; i++) {
                dbx_error_text(&errs.items[i], buf, sizeof(buf));
                if (!streq(buf, expected[i]))
                        fail_msg("%s: error %zu\n   got: %s\n  want: %s", name, i, buf,
                                 expected[i]);
        }
        dbx_errors_free(&errs);
        dbx_errors_free(&warns);
}

/* ---- the base manifest is valid and fully typed ---- */

static void test_base_valid(void **state)
{
        struct dbx_errors errs = {0}, warns = {0};
        _cleanup_manifest_ struct manifest *m = NULL;

        assert_int_equal(manifest_parse(base_manifest, strlen(base_manifest), &m, &errs, &warns),
                         0);
        assert_int_equal(errs.n, 0);
        assert_int_equal(warns.n, 0);
        assert_string_equal(m->meta.name, "Test Pup");
        assert_int_equal(m->meta.semver.minor, 2);
        assert_string_equal(m->meta.upstream_versions[0].key, "Core");
        assert_int_equal(m->config.n_sections, 1);
        assert_int_equal(m->config.n_fields, 4);
        const struct manifest_field *port = manifest_field_find(m, "PORT");
        assert_non_null(port);
        assert_int_equal(port->type, MANIFEST_FIELD_NUMBER);
        assert_true(port->has_min && port->has_max && port->has_step);
        assert_string_equal(port->default_value, "22555");
        const struct manifest_field *mode = manifest_field_find(m, "MODE");
        assert_int_equal(mode->n_options, 2);
        assert_string_equal(mode->options[1].value, "test");
        assert_string_equal(manifest_field_find(m, "DEBUG")->default_value, "false");
        assert_null(manifest_field_find(m, "NOPE"));
        assert_int_equal(m->container.build.type, MANIFEST_BUILD_NIX_FILE);
        assert_string_equal(m->container.build.nix_file, "pup.nix");
        assert_true(m->needs_nix);
        assert_false(m->is_native);
        assert_int_equal(m->container.n_services, 2);
        assert_string_equal(m->container.services[0].env[0].key, "A");
        assert_string_equal(m->container.services[1].cwd, "");
        assert_int_equal(m->container.n_exposes, 3);
        assert_int_equal(m->container.exposes[2].port, 22556);
        assert_true(m->container.exposes[2].listen_on_host);
        assert_true(m->container.exposes[0].web_ui);
        assert_int_equal(m->container.exposes[1].type, MANIFEST_EXPOSE_TCP);
        assert_int_equal(m->interfaces[0].permission_groups[0].severity, 2);
        assert_string_equal(m->interfaces[0].permission_groups[0].routes[0], "/*");
        assert_string_equal(m->dependencies[0].interface_version, "^0.0.1");
        struct semver v;
        assert_int_equal(semver_parse("0.0.1", 0, &v, NULL), 0);
        assert_true(semver_constraint_match(m->dependencies[0].constraint, &v));
        assert_false(m->dependencies[0].has_source);
        assert_int_equal(m->metrics[0].type, MANIFEST_METRIC_INT);
        assert_int_equal(m->metrics[0].history, 30);
        dbx_errors_free(&errs);
        dbx_errors_free(&warns);
}

/* ---- invalid manifests: exact errors ---- */

#define DEL NULL
#define A10 "aaaaaaaaaa"
#define A40 A10 A10 A10 A10

struct mutation {
        const char *path, *value;
};

static const struct {
        const char *name;
        struct mutation mut[3];
        const char *errors[4];
} invalid_rows[] = {
    {"version 2",
     {{"manifestVersion", "2"}},
     {"manifestVersion: 2 is not a supported manifest version (1)"}},
    {"version missing", {{"manifestVersion", DEL}}, {"manifestVersion: missing (1 is expected)"}},
    {"version string",
     {{"manifestVersion", "\"1\""}},
     {"manifestVersion: \"1\" is not an integer"}},
    {"meta missing", {{"meta", DEL}}, {"meta: missing (an object is expected)"}},
    {"meta array", {{"meta", "[]"}}, {"meta: [] is not an object"}},
    {"name missing", {{"meta.name", DEL}}, {"meta.name: missing (a non-empty string is expected)"}},
    {"name empty",
     {{"meta.name", "\"\""}},
     {"meta.name: \"\" is empty (a non-empty string is expected)"}},
    {"name number", {{"meta.name", "12"}}, {"meta.name: 12 is not a string"}},
    {"name null", {{"meta.name", "null"}}, {"meta.name: missing (a non-empty string is expected)"}},
    {"name spaces",
     {{"meta.name", "\" Pup\""}},
     {"meta.name: \" Pup\" starts or ends with a space"}},
    {"name newline",
     {{"meta.name", "\"a\\nb\""}},
     {"meta.name: \"a\\nb\" contains a line break or control character"}},
    {"name too long",
     {{"meta.name", "\"" A40 A10 A10 "aaaaa\""}},
     {"meta.name: \"" A40 "...\" is too long: 65 characters, at most 64"}},
    {"version short",
     {{"meta.version", "\"1.2\""}},
     {"meta.version: \"1.2\" is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.2.0): it "
      "has no patch number"}},
    {"version v",
     {{"meta.version", "\"v1.2.3\""}},
     {"meta.version: \"v1.2.3\" is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.2.0): "
      "a leading \"v\" is not part of a version"}},
    {"logo dotdot",
     {{"meta.logoPath", "\"../logo.png\""}},
     {"meta.logoPath: \"../logo.png\" is not usable: it contains a \"..\" component"}},
    {"logo absolute",
     {{"meta.logoPath", "\"/etc/passwd\""}},
     {"meta.logoPath: \"/etc/passwd\" is not usable: it is absolute (a path inside the pup "
      "folder is expected)"}},
    {"upstream version number",
     {{"meta.upstreamVersions.Core", "1"}},
     {"meta.upstreamVersions.Core: 1 is not a string"}},
    {"ambiguous keys",
     {{"meta.NAME", "\"Other\""}},
     {"meta: \"name\" and \"NAME\" both set name (keys match ignoring case)"}},
    {"sections string", {{"config.sections", "\"x\""}}, {"config.sections: \"x\" is not a list"}},
    {"section name missing",
     {{"config.sections.0.name", DEL}},
     {"config.sections[0].name: missing (a non-empty string is expected)"}},
    {"section duplicate",
     {{"config.sections.1", "{\"name\": \"main\", \"fields\": []}"}},
     {"config.sections[1].name: \"main\" is already the name of config.sections[0]"}},
    {"field type unknown",
     {{"config.sections.0.fields.0.type", "\"slider\""}},
     {"config.sections[0].fields[0].type: \"slider\" is not a field type (text, password, "
      "number, toggle, email, textarea, select, checkbox, radio, date, range or color)"}},
    {"field name digit",
     {{"config.sections.0.fields.0.name", "\"1HOST\""}},
     {"config.sections[0].fields[0].name: \"1HOST\" is not a valid name (letters, digits "
      "and _, not starting with a digit)"}},
    {"field name reserved",
     {{"config.sections.0.fields.0.name", "\"DBX_HOST\""}},
     {"config.sections[0].fields[0].name: \"DBX_HOST\" starts with DBX_, which is reserved "
      "for the variables the Dogebox sets"}},
    {"field name duplicate across sections",
     {{"config.sections.1",
       "{\"name\": \"extra\", \"fields\": [{\"name\": \"HOST\", \"label\": \"H\", "
       "\"type\": \"text\"}]}"}},
     {"config.sections[1].fields[0].name: \"HOST\" is already the name of "
      "config.sections[0].fields[0]"}},
    {"field label missing",
     {{"config.sections.0.fields.0.label", DEL}},
     {"config.sections[0].fields[0].label: missing (a non-empty string is expected)"}},
    {"field not an object",
     {{"config.sections.0.fields.0", "\"x\""}},
     {"config.sections[0].fields[0]: \"x\" is not a field object"}},
    {"field required string",
     {{"config.sections.0.fields.0.required", "\"yes\""}},
     {"config.sections[0].fields[0].required: \"yes\" is not true or false"}},
    {"number step zero",
     {{"config.sections.0.fields.1.step", "0"}},
     {"config.sections[0].fields[1].step: 0 is not a step (a number above 0)"}},
    {"number min above max",
     {{"config.sections.0.fields.1.min", "10"}, {"config.sections.0.fields.1.max", "5"}},
     {"config.sections[0].fields[1].max: 5 is below min (10)"}},
    {"number default above max",
     {{"config.sections.0.fields.1.default", "70000"}},
     {"config.sections[0].fields[1].default: 70000 is above the maximum (65535)"}},
    {"number default below min",
     {{"config.sections.0.fields.1.default", "0"}},
     {"config.sections[0].fields[1].default: 0 is below the minimum (1)"}},
    {"number default text",
     {{"config.sections.0.fields.1.default", "\"abc\""}},
     {"config.sections[0].fields[1].default: \"abc\" is not a number"}},
    {"number default off step",
     {{"config.sections.0.fields.1.default", "1.5"}},
     {"config.sections[0].fields[1].default: 1.5 is not a multiple of the step 1 from 1"}},
    {"number min string",
     {{"config.sections.0.fields.1.min", "\"1\""}},
     {"config.sections[0].fields[1].min: \"1\" is not a number"}},
    {"select without options",
     {{"config.sections.0.fields.2.options", DEL}},
     {"config.sections[0].fields[2].options: missing (select fields need a list of "
      "choices: {\"label\", \"value\"} or strings)"}},
    {"select empty options",
     {{"config.sections.0.fields.2.options", "[]"}},
     {"config.sections[0].fields[2].options: [] is empty (select fields need a list of "
      "choices: {\"label\", \"value\"} or strings)"}},
    {"select default not an option",
     {{"config.sections.0.fields.2.default", "\"prod\""}},
     {"config.sections[0].fields[2].default: \"prod\" is not one of the options (main, "
      "test)"}},
    {"select duplicate option",
     {{"config.sections.0.fields.2.options.1.value", "\"main\""}},
     {"config.sections[0].fields[2].options[1]: \"main\" is already the value of "
      "config.sections[0].fields[2].options[0]"}},
    {"option label missing",
     {{"config.sections.0.fields.2.options.0", "{\"value\": \"main\"}"}},
     {"config.sections[0].fields[2].options[0].label: missing (a non-empty string is "
      "expected)",
      "config.sections[0].fields[2].default: \"main\" is not one of the options (test)"}},
    {"option not an object",
     {{"config.sections.0.fields.2.options.1", "7.5"}},
     {"config.sections[0].fields[2].options[1]: 7.5 is not an option ({\"label\", "
      "\"value\"} or a string)"}},
    {"toggle default",
     {{"config.sections.0.fields.3.default", "\"maybe\""}},
     {"config.sections[0].fields[3].default: \"maybe\" is not a yes/no value (true, false, "
      "yes, no, on, off, 1 or 0)"}},
    {"container missing", {{"container", DEL}}, {"container: missing (an object is expected)"}},
    {"build missing",
     {{"container.build", DEL}},
     {"container.build: missing (an object is expected)"}},
    {"nixFile missing",
     {{"container.build.nixFile", DEL}},
     {"container.build.nixFile: missing (a non-empty string is expected)"}},
    {"nixFile dotdot",
     {{"container.build.nixFile", "\"../pup.nix\""}},
     {"container.build.nixFile: \"../pup.nix\" is not usable: it contains a \"..\" "
      "component"}},
    {"sha256 bad",
     {{"container.build.nixFileSha256", "\"ABC\""}},
     {"container.build.nixFileSha256: \"ABC\" is not a SHA-256 (64 lowercase hex digits)"}},
    {"build type unknown",
     {{"container.build.type", "\"docker\""}},
     {"container.build.type: \"docker\" is not a build type (nixFile, flake or native)"}},
    {"service name invalid",
     {{"container.services.0.name", "\"bad name\""}},
     {"container.services[0].name: \"bad name\" is not a valid name (letters, digits, _, . "
      "and -, starting with a letter or digit)"}},
    {"service duplicate",
     {{"container.services.1.name", "\"web\""}},
     {"container.services[1].name: \"web\" is already the name of container.services[0]"}},
    {"service without command",
     {{"container.services.0.command", DEL}},
     {"container.services[0].command: missing (an object is expected)"}},
    {"exec empty",
     {{"container.services.0.command.exec", "\"\""}},
     {"container.services[0].command.exec: \"\" is empty (a non-empty string is expected)"}},
    {"exec dotdot",
     {{"container.services.0.command.exec", "\"/bin/../../etc/x\""}},
     {"container.services[0].command.exec: \"/bin/../../etc/x\" is not usable: it contains "
      "a \"..\" component"}},
    {"exec folder",
     {{"container.services.0.command.exec", "\"bin/\""}},
     {"container.services[0].command.exec: \"bin/\" is not usable: it ends with \"/\" (a "
      "program is expected, not a folder)"}},
    {"env key",
     {{"container.services.0.command.env.1A", "\"x\""}},
     {"container.services[0].command.env.1A: \"1A\" is not a valid name (letters, digits "
      "and _, not starting with a digit)"}},
    {"env value",
     {{"container.services.0.command.env.A", "5"}},
     {"container.services[0].command.env.A: 5 is not a string"}},
    {"args not strings",
     {{"container.services.0.command.args", "[\"-v\", 3]"}},
     {"container.services[0].command.args[1]: 3 is not a string"}},
    {"port too large",
     {{"container.exposes.2.port", "70000"}},
     {"container.exposes[2].port: 70000 is not a port (1-65535)"}},
    {"port zero",
     {{"container.exposes.0.port", "0"}},
     {"container.exposes[0].port: 0 is not a port (1-65535)"}},
    {"port string",
     {{"container.exposes.0.port", "\"8080\""}},
     {"container.exposes[0].port: \"8080\" is not an integer"}},
    {"port real",
     {{"container.exposes.0.port", "80.5"}},
     {"container.exposes[0].port: 80.5 is not an integer"}},
    {"port missing",
     {{"container.exposes.0.port", DEL}},
     {"container.exposes[0].port: missing (a port, 1-65535, is expected)"}},
    {"expose type",
     {{"container.exposes.0.type", "\"udp\""}},
     {"container.exposes[0].type: \"udp\" is not an expose type (http or tcp)"}},
    {"expose duplicate name",
     {{"container.exposes.1.name", "\"ui\""}},
     {"container.exposes[1].name: \"ui\" is already the name of container.exposes[0]"}},
    {"webUI on tcp",
     {{"container.exposes.2.webUI", "true"}},
     {"container.exposes[2].webUI: true needs an http expose (the web UI is proxied as "
      "HTTP)"}},
    {"same port and type twice",
     {{"container.exposes.2.port", "9000"}},
     {"container.exposes[2].port: 9000/tcp is already exposed by container.exposes[1]"}},
    {"expose interface name",
     {{"container.exposes.0.interfaces", "[\"Bad_Iface\"]"}},
     {"container.exposes[0].interfaces[0]: \"Bad_Iface\" is not a valid name (lowercase "
      "letters, digits and -, like core-rpc)"}},
    {"listenOnHost string",
     {{"container.exposes.0.listenOnHost", "\"no\""}},
     {"container.exposes[0].listenOnHost: \"no\" is not true or false"}},
    {"exposes object", {{"container.exposes", "{}"}}, {"container.exposes: {} is not a list"}},
    {"requiresInternet number",
     {{"container.requiresInternet", "1"}},
     {"container.requiresInternet: 1 is not true or false"}},
    {"memory too small",
     {{"container.resources", "{\"memory\": 1000}"}},
     {"container.resources.memory: 1000 is not a memory limit in bytes "
      "(16777216-68719476736)"}},
    {"pids too small",
     {{"container.resources", "{\"pids\": 1}"}},
     {"container.resources.pids: 1 is not a process limit (8-32768)"}},
    {"cpu weight zero",
     {{"container.resources", "{\"cpuWeight\": 0}"}},
     {"container.resources.cpuWeight: 0 is not a CPU weight (1-10000)"}},
    {"interface name",
     {{"interfaces.0.name", "\"Test API\""}},
     {"interfaces[0].name: \"Test API\" is not a valid name (lowercase letters, digits and "
      "-, like core-rpc)"}},
    {"interface version",
     {{"interfaces.0.version", "\"1.0\""}},
     {"interfaces[0].version: \"1.0\" is not a semantic version (MAJOR.MINOR.PATCH, e.g. "
      "1.2.0): it has no patch number"}},
    {"interface duplicate",
     {{"interfaces.1", "{\"name\": \"test-api\", \"version\": \"0.0.2\"}"}},
     {"interfaces[1].name: \"test-api\" is already the name of interfaces[0]"}},
    {"severity 4",
     {{"interfaces.0.permissionGroups.0.severity", "4"}},
     {"interfaces[0].permissionGroups[0].severity: 4 is not a severity (1-3)"}},
    {"severity missing",
     {{"interfaces.0.permissionGroups.0.severity", DEL}},
     {"interfaces[0].permissionGroups[0].severity: missing (a severity, 1-3, is "
      "expected)"}},
    {"route without slash",
     {{"interfaces.0.permissionGroups.0.routes", "[\"/ok\", \"nodes\"]"}},
     {"interfaces[0].permissionGroups[0].routes[1]: \"nodes\" is not a route (a path "
      "starting with \"/\", no spaces, ? or #; * matches one segment)"}},
    {"group port",
     {{"interfaces.0.permissionGroups.0.port", "70000"}},
     {"interfaces[0].permissionGroups[0].port: 70000 is not a port or 0 (0-65535)"}},
    {"group duplicate",
     {{"interfaces.0.permissionGroups.1", "{\"name\": \"API\", \"severity\": 1}"}},
     {"interfaces[0].permissionGroups[1].name: \"API\" is already the name of "
      "interfaces[0].permissionGroups[0]"}},
    {"constraint empty",
     {{"dependencies.0.interfaceVersion", "\"\""}},
     {"dependencies[0].interfaceVersion: \"\" is empty (a non-empty string is expected)"}},
    {"constraint bad",
     {{"dependencies.0.interfaceVersion", "\">= 1.2 <\""}},
     {"dependencies[0].interfaceVersion: \">= 1.2 <\" is not a version constraint: \"<\" "
      "has no version after it"}},
    {"constraint missing",
     {{"dependencies.0.interfaceVersion", DEL}},
     {"dependencies[0].interfaceVersion: missing (a non-empty string is expected)"}},
    {"dependency interface name",
     {{"dependencies.0.interfaceName", "\"core_rpc\""}},
     {"dependencies[0].interfaceName: \"core_rpc\" is not a valid name (lowercase letters, "
      "digits and -, like core-rpc)"}},
    {"dependency duplicate",
     {{"dependencies.1", "{\"interfaceName\": \"core-rpc\", \"interfaceVersion\": \"0.0.1\"}"}},
     {"dependencies[1].interfaceName: \"core-rpc\" is already the interfaceName of "
      "dependencies[0]"}},
    {"dependency optional string",
     {{"dependencies.0.optional", "\"no\""}},
     {"dependencies[0].optional: \"no\" is not true or false"}},
    {"dependency empty group",
     {{"dependencies.0.permissionGroups", "[\"\"]"}},
     {"dependencies[0].permissionGroups[0]: \"\" is empty (a non-empty string is expected)"}},
    {"dependency source list",
     {{"dependencies.0.source", "[]"}},
     {"dependencies[0].source: [] is not an object"}},
    {"metric type",
     {{"metrics.0.type", "\"bool\""}},
     {"metrics[0].type: \"bool\" is not a metric type (string, int or float)"}},
    {"metric history zero",
     {{"metrics.0.history", "0"}},
     {"metrics[0].history: 0 is not a history length (1-1000)"}},
    {"metric history too long",
     {{"metrics.0.history", "1001"}},
     {"metrics[0].history: 1001 is not a history length (1-1000)"}},
    {"metric history missing",
     {{"metrics.0.history", DEL}},
     {"metrics[0].history: missing (a history length, 1-1000, is expected)"}},
    {"metric duplicate",
     {{"metrics.1", "{\"name\": \"blocks\", \"label\": \"B\", \"type\": \"int\", \"history\": 1}"}},
     {"metrics[1].name: \"blocks\" is already the name of metrics[0]"}},
    {"metrics string", {{"metrics", "\"x\""}}, {"metrics: \"x\" is not a list"}},
    {"interfaces number", {{"interfaces", "3"}}, {"interfaces: 3 is not a list"}},
    {"several errors, all reported",
     {{"container.exposes.2.port", "70000"}, {"metrics.0.history", "0"}, {"meta.version", "\"x\""}},
     {"meta.version: \"x\" is not a semantic version (MAJOR.MINOR.PATCH, e.g. 1.2.0): the "
      "major part is not a number",
      "container.exposes[2].port: 70000 is not a port (1-65535)",
      "metrics[0].history: 0 is not a history length (1-1000)"}},
    {"native with a relative escape",
     {{"container.build", "{\"type\": \"native\"}"},
      {"container.services.0.command.exec", "\"../run.sh\""}},
     {"container.services[0].command.exec: \"../run.sh\" is not usable: it contains a "
      "\"..\" component"}},
};

static void test_invalid(void **state)
{
        size_t count = 0;
        for (size_t i = 0; i < ARRAY_SIZE(invalid_rows); i++) {
                json_t *root = load_base();
                for (size_t k = 0;
                     k < ARRAY_SIZE(invalid_rows[i].mut) && invalid_rows[i].mut[k].path; k++)
                        mutate(root, invalid_rows[i].mut[k].path, invalid_rows[i].mut[k].value);
                char *text = json_dumps(root, 0);
                expect_errors(invalid_rows[i].name, text, strlen(text), invalid_rows[i].errors,
                              -EINVAL);
                free(text);
                json_decref(root);
                count++;
        }
        assert_true(count >= 60);
}

/* Inputs that are not a manifest at all. */
static void test_invalid_raw(void **state)
{
        const char *none[] = {NULL};
        (void)none;
        {
                const char *e[] = {"the manifest is empty (a JSON object is expected)", NULL};
                expect_errors("empty", "", 0, e, -EINVAL);
                expect_errors("blank", " \n\t ", 4, e, -EINVAL);
        }
        {
                const char *e[] = {"[] is not a manifest (a JSON object is expected)", NULL};
                expect_errors("array", "[]", 2, e, -EINVAL);
        }
        {
                const char *e[] = {"\"x\" is not a manifest (a JSON object is expected)", NULL};
                expect_errors("string", "\"x\"", 3, e, -EINVAL);
        }
        {
                struct dbx_errors errs = {0};
                struct manifest *m = NULL;
                assert_int_equal(manifest_parse("{\"meta\": ", 9, &m, &errs, NULL), -EINVAL);
                assert_int_equal(errs.n, 1);
                assert_non_null(strstr(errs.items[0].message, "malformed JSON at line 1"));
                dbx_errors_free(&errs);
                assert_int_equal(manifest_parse("{\"a\":1,\"a\":2}", 13, &m, &errs, NULL), -EINVAL);
                assert_int_equal(errs.n, 1);
                assert_non_null(strstr(errs.items[0].message, "duplicate"));
                dbx_errors_free(&errs);
                /* a NUL byte inside the text is not JSON */
                assert_int_equal(manifest_parse("{}\0{}", 5, &m, &errs, NULL), -EINVAL);
                dbx_errors_free(&errs);
                /* NULL lists are fine */
                assert_int_equal(manifest_parse("[]", 2, &m, NULL, NULL), -EINVAL);
        }
}

/* ---- limits: the maximum passes, one past fails ---- */

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static char *with_array(const struct mutation *pre, const char *path, size_t n, const char *fmt)
{
        json_t *root = load_base();
        if (pre)
                mutate(root, pre->path, pre->value);
        json_t *arr = json_array();
        char item[512];
        for (size_t i = 0; i < n; i++) {
                json_error_t e;
                snprintf(item, sizeof(item), fmt, i, i + 1, i + 1);
                json_t *v = json_loads(item, JSON_DECODE_ANY, &e);
                if (!v)
                        fail_msg("%s: %s", item, e.text);
                json_array_append_new(arr, v);
        }
        char *text = json_dumps(arr, 0);
        mutate(root, path, text);
        free(text);
        json_decref(arr);
        text = json_dumps(root, 0);
        json_decref(root);
        return text;
}
#pragma GCC diagnostic pop

static void limit_case_pre(const struct mutation *pre, const char *path, size_t max,
                           const char *fmt, const char *message)
{
        struct dbx_errors errs = {0};
        struct manifest *m = NULL;
        char *ok = with_array(pre, path, max, fmt), *bad = with_array(pre, path, max + 1, fmt);
        char buf[DBX_ERROR_PATH_MAX + DBX_ERROR_MSG_MAX + 4];

        if (manifest_parse(ok, strlen(ok), &m, &errs, NULL) != 0)
                fail_msg("%s at %zu: %s", path, max,
                         errs.n ? dbx_error_text(&errs.items[0], buf, sizeof(buf)) : "?");
        m = manifest_free(m);
        assert_int_equal(manifest_parse(bad, strlen(bad), &m, &errs, NULL), -EINVAL);
        assert_int_equal(errs.n, 1);
        assert_string_equal(dbx_error_text(&errs.items[0], buf, sizeof(buf)), message);
        dbx_errors_free(&errs);
        free(ok);
        free(bad);
}

static void limit_case(const char *path, size_t max, const char *fmt, const char *message)
{
        limit_case_pre(NULL, path, max, fmt, message);
}

static void test_limits(void **state)
{
        static const struct mutation no_default = {"config.sections.0.fields.2.default", DEL};

        limit_case("container.services", MANIFEST_SERVICES_MAX,
                   "{\"name\": \"s%zu\", \"command\": {\"exec\": \"/bin/x%zu%zu\"}}",
                   "container.services: 65 services, at most 64 are allowed");
        limit_case("container.exposes", MANIFEST_EXPOSES_MAX,
                   "{\"name\": \"e%zu\", \"type\": \"tcp\", \"port\": %zu%zu}",
                   "container.exposes: 65 exposes, at most 64 are allowed");
        limit_case("interfaces", MANIFEST_INTERFACES_MAX,
                   "{\"name\": \"i%zu\", \"version\": \"%zu.%zu.0\"}",
                   "interfaces: 65 interfaces, at most 64 are allowed");
        limit_case("dependencies", MANIFEST_DEPENDENCIES_MAX,
                   "{\"interfaceName\": \"d%zu\", \"interfaceVersion\": \"^%zu.%zu\"}",
                   "dependencies: 65 dependencies, at most 64 are allowed");
        limit_case(
            "metrics", MANIFEST_METRICS_MAX,
            "{\"name\": \"m%zu\", \"label\": \"M%zu%zu\", \"type\": \"int\", \"history\": 5}",
            "metrics: 65 metrics, at most 64 are allowed");
        limit_case("config.sections.0.fields", MANIFEST_CONFIG_FIELDS_MAX,
                   "{\"name\": \"F%zu\", \"label\": \"F%zu%zu\", \"type\": \"text\"}",
                   "config.sections[0].fields: 257 fields, at most 256 are allowed");
        limit_case("interfaces.0.permissionGroups", MANIFEST_PERMISSION_GROUPS_MAX,
                   "{\"name\": \"g%zu\", \"severity\": 3, \"port\": %zu%zu}",
                   "interfaces[0].permissionGroups: 33 permission groups, at most 32 are allowed");
        limit_case("container.services.0.command.args", MANIFEST_ARGS_MAX, "\"-%zu%zu%zu\"",
                   "container.services[0].command.args: 65 arguments, at most 64 are allowed");
        limit_case_pre(&no_default, "config.sections.0.fields.2.options", MANIFEST_OPTIONS_MAX,
                       "\"o%zu-%zu%zu\"",
                       "config.sections[0].fields[2].options: 257 options, at most 256 are "
                       "allowed");
}

/* The 256-field limit counts all sections together. */
static void test_limit_fields_across_sections(void **state)
{
        json_t *root = load_base(); /* section 0 has 4 fields */
        json_t *fields = json_array();
        struct dbx_errors errs = {0};
        struct manifest *m = NULL;
        char buf[512];

        for (int i = 0; i < MANIFEST_CONFIG_FIELDS_MAX - 4; i++)
                json_array_append_new(fields, json_pack("{s:s+, s:s, s:s}", "name", "X",
                                                        (snprintf(buf, sizeof(buf), "%d", i), buf),
                                                        "label", "X", "type", "text"));
        json_array_append_new(json_object_get(json_object_get(root, "config"), "sections"),
                              json_pack("{s:s, s:O}", "name", "more", "fields", fields));
        char *text = json_dumps(root, 0);
        assert_int_equal(manifest_parse(text, strlen(text), &m, &errs, NULL), 0);
        assert_int_equal(m->config.n_fields, MANIFEST_CONFIG_FIELDS_MAX);
        m = manifest_free(m);
        free(text);
        json_array_append_new(
            fields, json_pack("{s:s, s:s, s:s}", "name", "ONE_MORE", "label", "X", "type", "text"));
        json_decref(fields);
        text = json_dumps(root, 0);
        assert_int_equal(manifest_parse(text, strlen(text), &m, &errs, NULL), -EINVAL);
        assert_int_equal(errs.n, 1);
        assert_string_equal(dbx_error_text(&errs.items[0], buf, sizeof(buf)),
                            "config.sections[1].fields: 257 config fields in all, at most 256 are "
                            "allowed");
        free(text);
        dbx_errors_free(&errs);
        json_decref(root);
}

static void test_limit_size_and_depth(void **state)
{
        struct dbx_errors errs = {0};
        struct manifest *m = NULL;
        char *buf = malloc(MANIFEST_SIZE_MAX + 2);
        size_t base = strlen(base_manifest);

        /* exactly 256 KiB (padded with spaces) is fine; one byte more is not */
        memcpy(buf, base_manifest, base);
        memset(buf + base, ' ', MANIFEST_SIZE_MAX + 1 - base);
        assert_int_equal(manifest_parse(buf, MANIFEST_SIZE_MAX, &m, &errs, NULL), 0);
        m = manifest_free(m);
        assert_int_equal(manifest_parse(buf, MANIFEST_SIZE_MAX + 1, &m, &errs, NULL), -E2BIG);
        assert_int_equal(errs.n, 1);
        assert_string_equal(errs.items[0].message,
                            "the manifest is 262145 bytes, at most 262144 are allowed");
        dbx_errors_free(&errs);

        /* nesting: 32 levels pass (inside an unknown key: a warning), 33 do not */
        for (int depth = MANIFEST_DEPTH_MAX; depth <= MANIFEST_DEPTH_MAX + 1; depth++) {
                size_t o = 0;
                o += (size_t)snprintf(buf, MANIFEST_SIZE_MAX, "%.*s, \"extra\": ",
                                      (int)(strrchr(base_manifest, '}') - base_manifest),
                                      base_manifest);
                for (int i = 1; i < depth; i++)
                        buf[o++] = '[';
                for (int i = 1; i < depth; i++)
                        buf[o++] = ']';
                buf[o++] = '}';
                struct dbx_errors warns = {0};
                int r = manifest_parse(buf, o, &m, &errs, &warns);
                if (depth == MANIFEST_DEPTH_MAX) {
                        assert_int_equal(r, 0);
                        assert_int_equal(warns.n, 1);
                        assert_string_equal(warns.items[0].path, "extra");
                        m = manifest_free(m);
                } else {
                        assert_int_equal(r, -EINVAL);
                        assert_string_equal(errs.items[0].message,
                                            "JSON nested 33 levels deep: at most 32 are allowed");
                }
                dbx_errors_free(&warns);
                dbx_errors_free(&errs);
        }
        free(buf);
}

/* Edges that must pass: smallest and largest ports, history 1 and 1000,
 * 0 as a permission group's port, null everywhere a list may be. */
static void test_edges_valid(void **state)
{
        static const struct mutation rows[][3] = {
            {{"container.exposes.0.port", "1"}, {"container.exposes.1.port", "65535"}},
            {{"metrics.0.history", "1"}},
            {{"metrics.0.history", "1000"}},
            {{"interfaces.0.permissionGroups.0.port", "0"}},
            {{"interfaces", "null"},
             {"container.exposes.0.interfaces", "null"},
             {"container.exposes.1.interfaces", "null"}},
            {{"dependencies", "null"}, {"metrics", "null"}, {"config.sections", "null"}},
            {{"config", "null"}},
            {{"container.services", "[]"}, {"container.exposes", "[]"}},
            {{"meta.upstreamVersions", "null"}, {"meta.logoPath", "\"\""}},
            {{"container.services.0.command.env", "null"}},
            {{"container.resources", "{\"memory\": 16777216, \"pids\": 8, \"cpuWeight\": 1}"}},
            {{"container.resources",
              "{\"memory\": 68719476736, \"pids\": 32768, \"cpuWeight\": 10000}"}},
            {{"dependencies.0.interfaceVersion", "\">=1.0.0, <2 || 3.x\""}},
            {{"meta.version", "\"1.0.0-rc.1+build.5\""}},
            {{"config.sections.0.fields.0.required", "false"}},
            {{"config.sections.0.fields.1.default", "\"65535\""}},
            {{"meta.name", "\"Ünïcödé pup 🐕\""}},
            {{"container.build.type", "\"nixFile\""}},
        };
        for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
                json_t *root = load_base();
                struct dbx_errors errs = {0};
                struct manifest *m = NULL;
                char buf[DBX_ERROR_PATH_MAX + DBX_ERROR_MSG_MAX + 4];
                for (size_t k = 0; k < 3 && rows[i][k].path; k++)
                        mutate(root, rows[i][k].path, rows[i][k].value);
                char *text = json_dumps(root, 0);
                if (manifest_parse(text, strlen(text), &m, &errs, NULL) != 0)
                        fail_msg("edge row %zu: %s", i,
                                 dbx_error_text(&errs.items[0], buf, sizeof(buf)));
                manifest_free(m);
                free(text);
                json_decref(root);
        }
}

/* A NUL inside a string can only come from an already parsed JSON value. */
static void test_nul_in_string(void **state)
{
        json_t *root = load_base();
        struct dbx_errors errs = {0};
        struct manifest *m = NULL;
        char buf[DBX_ERROR_PATH_MAX + DBX_ERROR_MSG_MAX + 4];

        json_object_set_new(json_object_get(root, "meta"), "name", json_stringn("a\0b", 3));
        assert_int_equal(manifest_parse_json(root, &m, &errs, NULL), -EINVAL);
        assert_int_equal(errs.n, 1);
        assert_string_equal(dbx_error_text(&errs.items[0], buf, sizeof(buf)),
                            "meta.name: \"a\\u0000b\" contains a NUL character");
        dbx_errors_free(&errs);
        assert_int_equal(manifest_parse_json(NULL, &m, &errs, NULL), -EINVAL);
        assert_string_equal(errs.items[0].message,
                            "nothing is not a manifest (a JSON object is expected)");
        dbx_errors_free(&errs);
        json_decref(root);
}

/* Keys match ignoring case, as upstream's Go decoder does. */
static void test_case_insensitive(void **state)
{
        static const char text[] =
            "{\"MANIFESTVERSION\": 1, \"Meta\": {\"NAME\": \"x\", \"Version\": \"1.0.0\"},"
            " \"CONTAINER\": {\"Build\": {\"NIXFILE\": \"pup.nix\", \"nixfilesha256\": "
            "\"3af99d529f30e51c1f0a01bfe547b28ad1a40de7145a6c3d36538bf8518abbf5\"},"
            " \"Exposes\": [{\"Name\": \"a\", \"TYPE\": \"http\", \"Port\": 80, \"webui\": "
            "true}]}}";
        struct dbx_errors errs = {0}, warns = {0};
        _cleanup_manifest_ struct manifest *m = NULL;

        assert_int_equal(manifest_parse(text, strlen(text), &m, &errs, &warns), 0);
        assert_int_equal(warns.n, 0);
        assert_string_equal(m->meta.name, "x");
        assert_true(m->container.exposes[0].web_ui);
        assert_int_equal(m->container.exposes[0].port, 80);
}

/* ---- warnings ---- */

static void test_warnings(void **state)
{
        static const struct mutation muts[] = {
            {"colour", "\"blue\""},
            {"meta.author", "\"me\""},
            {"container.devices", "[]"},
            {"container.exposes.0.protocol", "\"h2\""},
            {"config.sections.0.fields.0.options", "[\"a\"]"},
            {"config.sections.0.fields.0.min", "1"},
            {"meta.logoPath", "\"logo.svg\""},
            {"metrics.0.label", DEL},
            {"container.build.flake", "{}"},
            {"dependencies.0.source.pupVersion", "\"latest\""},
        };
        static const char *const expected[] = {
            "colour: unknown key, ignored",
            "meta.author: unknown key, ignored",
            "meta.logoPath: \"logo.svg\" will not be shown: logos are .png, .jpg or .jpeg "
            "files",
            "config.sections[0].fields[0].min: only number and range fields use min; ignored",
            "config.sections[0].fields[0].options: only select and radio fields have options; "
            "ignored",
            "container.devices: unknown key, ignored",
            "container.build.flake: only flake builds use flake; ignored",
            "container.exposes[0].protocol: unknown key, ignored",
            "dependencies[0].source.pupVersion: \"latest\" is not a semantic version; the hint "
            "may not be usable",
            "metrics[0].label: missing; the metric's name is shown instead",
        };
        json_t *root = load_base();
        struct dbx_errors errs = {0}, warns = {0};
        _cleanup_manifest_ struct manifest *m = NULL;
        char buf[DBX_ERROR_PATH_MAX + DBX_ERROR_MSG_MAX + 4];

        for (size_t i = 0; i < ARRAY_SIZE(muts); i++)
                mutate(root, muts[i].path, muts[i].value);
        char *text = json_dumps(root, 0);
        assert_int_equal(manifest_parse(text, strlen(text), &m, &errs, &warns), 0);
        for (size_t i = 0; i < warns.n; i++)
                print_message("warning: %s\n", dbx_error_text(&warns.items[i], buf, sizeof(buf)));
        assert_int_equal(warns.n, ARRAY_SIZE(expected));
        for (size_t i = 0; i < warns.n; i++)
                assert_string_equal(dbx_error_text(&warns.items[i], buf, sizeof(buf)), expected[i]);
        /* unknown keys are not in the structs, and the typed values are untouched */
        json_t *out = manifest_to_json(m);
        assert_null(json_object_get(out, "colour"));
        assert_null(json_object_get(json_object_get(out, "meta"), "author"));
        assert_int_equal(m->config.sections[0].fields[0].n_options, 0);
        assert_false(m->config.sections[0].fields[0].has_min);
        json_decref(out);
        free(text);
        json_decref(root);
        dbx_errors_free(&warns);
}

/* Warnings are reported even when the manifest has errors. */
static void test_warnings_with_errors(void **state)
{
        json_t *root = load_base();
        struct dbx_errors errs = {0}, warns = {0};
        struct manifest *m = NULL;

        mutate(root, "bogus", "1");
        mutate(root, "meta.version", "\"1\"");
        char *text = json_dumps(root, 0);
        assert_int_equal(manifest_parse(text, strlen(text), &m, &errs, &warns), -EINVAL);
        assert_int_equal(errs.n, 1);
        assert_int_equal(warns.n, 1);
        assert_string_equal(warns.items[0].path, "bogus");
        free(text);
        json_decref(root);
        dbx_errors_free(&errs);
        dbx_errors_free(&warns);
}

/* ---- fixtures ---- */

typedef void (*fixture_fn)(const char *path, const char *text, size_t len);

static size_t walk_fixtures(const char *dir, const char *want, fixture_fn fn)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        size_t n = 0;

        if (!d)
                fail_msg("cannot open %s", dir);
        while ((de = readdir(d))) {
                char path[1024];
                if (de->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                if (de->d_type == DT_DIR)
                        n += walk_fixtures(path, want, fn);
                else if (streq(de->d_name, want)) {
                        char *text = NULL;
                        size_t len = 0;
                        assert_int_equal(fs_read_file(path, MANIFEST_SIZE_MAX, &text, &len), 0);
                        fn(path, text, len);
                        free(text);
                        n++;
                }
        }
        closedir(d);
        return n;
}

/* Every key path of want (an upstream fixture) is in got (our output) with
 * the same value; null/absent in want may be [] / {} / false / "" in got. */
static void assert_subset(const char *where, const json_t *want, const json_t *got)
{
        if (json_is_null(want)) {
                if (!(json_is_array(got) && json_array_size(got) == 0) &&
                    !(json_is_object(got) && json_object_size(got) == 0))
                        fail_msg("%s: null became something else", where);
                return;
        }
        if (json_is_object(want)) {
                const char *k;
                json_t *v;
                if (!json_is_object(got))
                        fail_msg("%s: not an object", where);
                json_object_foreach((json_t *)want, k, v)
                {
                        char sub[512];
                        snprintf(sub, sizeof(sub), "%s.%s", where, k);
                        json_t *g = json_object_get(got, k);
                        if (!g)
                                fail_msg("%s: missing in the output", sub);
                        assert_subset(sub, v, g);
                }
                return;
        }
        if (json_is_array(want)) {
                size_t i;
                json_t *v;
                if (!json_is_array(got) || json_array_size(got) != json_array_size(want))
                        fail_msg("%s: array differs", where);
                json_array_foreach(want, i, v)
                {
                        char sub[512];
                        snprintf(sub, sizeof(sub), "%s[%zu]", where, i);
                        assert_subset(sub, v, json_array_get(got, i));
                }
                return;
        }
        if (!json_equal(want, got))
                fail_msg("%s: value differs", where);
}

static void check_fixture(const char *path, const char *text, size_t len)
{
        struct dbx_errors errs = {0}, warns = {0};
        _cleanup_manifest_ struct manifest *m = NULL, *m2 = NULL;
        char buf[DBX_ERROR_PATH_MAX + DBX_ERROR_MSG_MAX + 4];

        if (manifest_parse(text, len, &m, &errs, &warns) != 0 || errs.n != 0)
                fail_msg("%s: %s", path,
                         errs.n ? dbx_error_text(&errs.items[0], buf, sizeof(buf)) : "?");
        /* only core-gateway warns: its exposes name undeclared interfaces */
        for (size_t i = 0; i < warns.n; i++)
                if (!strstr(warns.items[i].message, "is not declared in interfaces"))
                        fail_msg("%s: unexpected warning %s", path,
                                 dbx_error_text(&warns.items[i], buf, sizeof(buf)));
        assert_true(m->needs_nix);
        assert_false(m->is_native);

        /* our output carries everything upstream wrote, in upstream's shape */
        json_t *orig = json_loadb(text, len, 0, NULL);
        json_t *out = manifest_to_json(m);
        assert_subset(path, orig, out);

        /* and parses again to the same thing */
        char *again = json_dumps(out, 0);
        dbx_errors_free(&warns);
        assert_int_equal(manifest_parse(again, strlen(again), &m2, &errs, &warns), 0);
        json_t *out2 = manifest_to_json(m2);
        assert_true(json_equal(out, out2));
        free(again);
        json_decref(out2);
        json_decref(out);
        json_decref(orig);
        dbx_errors_free(&warns);
}

static void test_fixtures(void **state)
{
        size_t n = walk_fixtures(FIXTURES_DIR, "manifest.json", check_fixture);
        assert_int_equal(n, 17); /* 9 dogeorg.pups + 8 pup-templates */
}

/* Specific values of the Dogecoin Core fixture and key order of the output. */
static void test_fixture_core_shape(void **state)
{
        char *text = NULL;
        size_t len = 0;
        _cleanup_manifest_ struct manifest *m = NULL;

        assert_int_equal(fs_read_file(FIXTURES_DIR "/dogeorg.pups/core/manifest.json",
                                      MANIFEST_SIZE_MAX, &text, &len),
                         0);
        assert_int_equal(manifest_parse(text, len, &m, NULL, NULL), 0);
        json_t *out = manifest_to_json(m);
        char *dump = json_dumps(out, JSON_COMPACT);
        assert_non_null(strstr(dump, "{\"manifestVersion\":1,\"meta\":{\"name\":\"Dogecoin Core\","
                                     "\"version\":\"0.0.9\",\"logoPath\":\"logo.png\","));
        assert_non_null(strstr(dump, "\"config\":{\"showOnInstall\":false,\"sections\":[]},"));
        assert_non_null(strstr(dump, "{\"name\":\"rpc-tcp\",\"type\":\"tcp\",\"port\":22555,"
                                     "\"interfaces\":[\"core-rpc\"],\"listenOnHost\":false,"
                                     "\"webUI\":false}"));
        assert_non_null(strstr(dump, "\"dependencies\":[],\"metrics\":[{\"name\":\"chain\","
                                     "\"label\":\"Chain\",\"type\":\"string\",\"history\":1}"));
        assert_int_equal(m->container.n_services, 3);
        assert_int_equal(m->n_interfaces, 3);
        assert_int_equal(m->interfaces[1].permission_groups[0].port, 28332);
        assert_int_equal(m->n_metrics, 7);
        assert_int_equal(m->metrics[3].type, MANIFEST_METRIC_FLOAT);
        assert_true(m->container.requires_internet);

        struct dbx_error err = {0};
        assert_int_equal(manifest_check_runnable(m, true, &err), 0);
        assert_int_equal(manifest_check_runnable(m, false, &err), -EOPNOTSUPP);
        assert_string_equal(err.message,
                            "\"Dogecoin Core\" 0.0.9 needs the Nix builder, which this Dogebox "
                            "does not have (container.build is a nixFile build; native pups run "
                            "without it)");
        free(dump);
        json_decref(out);
        free(text);
}

static void test_fixture_config_fields(void **state)
{
        char *text = NULL;
        size_t len = 0;
        _cleanup_manifest_ struct manifest *m = NULL;

        assert_int_equal(fs_read_file(FIXTURES_DIR "/dogeorg.pups/core-remote/manifest.json",
                                      MANIFEST_SIZE_MAX, &text, &len),
                         0);
        assert_int_equal(manifest_parse(text, len, &m, NULL, NULL), 0);
        assert_true(m->config.show_on_install);
        assert_int_equal(m->config.n_fields, 5);
        const struct manifest_field *f = manifest_field_find(m, "REMOTE_RPC_PORT");
        assert_int_equal(f->type, MANIFEST_FIELD_TEXT);
        assert_string_equal(f->default_value, "22555");
        assert_true(manifest_field_find(m, "RPC_PASSWORD")->required);
        assert_int_equal(manifest_field_find(m, "RPC_PASSWORD")->type, MANIFEST_FIELD_PASSWORD);
        free(text);
}

/* ---- native pups and the example ---- */

static void test_native_example(void **state)
{
        char *text = NULL;
        size_t len = 0;
        struct dbx_errors errs = {0}, warns = {0};
        _cleanup_manifest_ struct manifest *m = NULL;
        char path[256];

        assert_int_equal(
            fs_read_file(EXAMPLES_DIR "/hello-web/manifest.json", MANIFEST_SIZE_MAX, &text, &len),
            0);
        assert_int_equal(manifest_parse(text, len, &m, &errs, &warns), 0);
        assert_int_equal(warns.n, 0);
        assert_true(m->is_native);
        assert_false(m->needs_nix);
        assert_int_equal(m->container.build.type, MANIFEST_BUILD_NATIVE);
        assert_null(m->container.build.nix_file);
        assert_int_equal(manifest_check_runnable(m, false, NULL), 0);
        assert_int_equal(m->container.resources.memory, 64 << 20);
        assert_int_equal(m->container.resources.pids, 32);
        assert_int_equal(m->container.resources.cpu_weight, 100);
        manifest_service_exec_path(&m->container.services[0], path, sizeof(path));
        assert_string_equal(path, "/pup/run.sh");
        manifest_service_cwd_path(&m->container.services[0], path, sizeof(path));
        assert_string_equal(path, "/pup");
        json_t *out = manifest_to_json(m);
        assert_string_equal(
            json_string_value(json_object_get(
                json_object_get(json_object_get(out, "container"), "build"), "type")),
            "native");
        assert_int_equal(
            json_integer_value(json_object_get(
                json_object_get(json_object_get(out, "container"), "resources"), "memory")),
            64 << 20);
        json_decref(out);
        free(text);
}

static void test_exec_paths(void **state)
{
        static const struct {
                const char *exec, *cwd, *exec_path, *cwd_path;
        } rows[] = {
            {"run.sh", "", "/pup/run.sh", "/pup"},
            {"./bin/server", "data", "/pup/bin/server", "/pup/data"},
            {"/usr/bin/python3", "/tmp", "/usr/bin/python3", "/tmp"},
            {"bin/x", ".", "/pup/bin/x", "/pup"},
        };
        for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
                struct manifest_service s = {.exec = rows[i].exec, .cwd = rows[i].cwd};
                char buf[256];
                manifest_service_exec_path(&s, buf, sizeof(buf));
                assert_string_equal(buf, rows[i].exec_path);
                manifest_service_cwd_path(&s, buf, sizeof(buf));
                assert_string_equal(buf, rows[i].cwd_path);
        }
}

static void test_native_build_variants(void **state)
{
        json_t *root = load_base();
        struct dbx_errors errs = {0}, warns = {0};
        struct manifest *m = NULL;
        char buf[DBX_ERROR_PATH_MAX + DBX_ERROR_MSG_MAX + 4];

        /* native keeps nixFile keys out (with warnings) and needs no Nix */
        mutate(root, "container.build.type", "\"native\"");
        mutate(root, "container.services.0.command.args", "[\"-m\", \"http.server\"]");
        char *text = json_dumps(root, 0);
        assert_int_equal(manifest_parse(text, strlen(text), &m, &errs, &warns), 0);
        assert_int_equal(warns.n, 2);
        assert_string_equal(dbx_error_text(&warns.items[0], buf, sizeof(buf)),
                            "container.build.nixFile: only nixFile builds use nixFile; ignored");
        assert_true(m->is_native && !m->needs_nix);
        assert_null(m->container.build.nix_file);
        assert_int_equal(m->container.services[0].n_args, 2);
        assert_string_equal(m->container.services[0].args[1], "http.server");
        m = manifest_free(m);
        free(text);
        dbx_errors_free(&warns);

        /* a flake build (upstream branch) needs Nix */
        mutate(root, "container.build",
               "{\"type\": \"flake\", \"flake\": {\"path\": \".\", "
               "\"package\": \"default\"}}");
        text = json_dumps(root, 0);
        assert_int_equal(manifest_parse(text, strlen(text), &m, &errs, &warns), 0);
        assert_int_equal(m->container.build.type, MANIFEST_BUILD_FLAKE);
        assert_true(m->needs_nix);
        assert_string_equal(m->container.build.flake_package, "default");
        struct dbx_error err = {0};
        assert_int_equal(manifest_check_runnable(m, false, &err), -EOPNOTSUPP);
        assert_non_null(strstr(err.message, "needs the Nix builder"));
        assert_non_null(strstr(err.message, "flake build"));
        m = manifest_free(m);
        free(text);
        json_decref(root);
        dbx_errors_free(&warns);
}

/* ---- dogebox.json ---- */

static void check_source_fixture(const char *path, const char *text, size_t len)
{
        struct dbx_errors errs = {0};
        _cleanup_manifest_source_ struct manifest_source *s = NULL;
        if (manifest_source_parse(text, len, &s, &errs, NULL) != 0)
                fail_msg("%s: %s", path, errs.items[0].message);
        assert_true(s->n_locations == 9 || s->n_locations == 8);
}

static void test_source_fixtures(void **state)
{
        assert_int_equal(walk_fixtures(FIXTURES_DIR, "dogebox.json", check_source_fixture), 2);

        char *text = NULL;
        size_t len = 0;
        _cleanup_manifest_source_ struct manifest_source *s = NULL;
        assert_int_equal(
            fs_read_file(FIXTURES_DIR "/dogeorg.pups/dogebox.json", 65536, &text, &len), 0);
        assert_int_equal(manifest_source_parse(text, len, &s, NULL, NULL), 0);
        assert_string_equal(s->id, "dogeorg.pups");
        assert_string_equal(s->name, "Dogecoin Foundation");
        assert_string_equal(s->locations[0], "core");
        assert_string_equal(s->locations[8], "core-gateway");
        free(text);
}

static void test_source_invalid(void **state)
{
        static const struct {
                const char *text;
                const char *errors[3];
        } rows[] = {
            {"{\"name\": \"n\"}", {"id: missing (a non-empty string is expected)"}},
            {"{\"id\": \"bad id\", \"name\": \"n\"}",
             {"id: \"bad id\" is not a valid source id (letters, digits, _, . and -, "
              "starting with a letter or digit)"}},
            {"{\"id\": \"x\", \"name\": \"\"}",
             {"name: \"\" is empty (a non-empty string is expected)"}},
            {"{\"id\": \"x\", \"name\": \"n\", \"pups\": \"core\"}",
             {"pups: \"core\" is not a list"}},
            {"{\"id\": \"x\", \"name\": \"n\", \"pups\": [{\"location\": \"\"}]}",
             {"pups[0].location: \"\" is empty (a non-empty string is expected)"}},
            {"{\"id\": \"x\", \"name\": \"n\", \"pups\": [{\"location\": \"../x\"}]}",
             {"pups[0].location: \"../x\" is not usable: it contains a \"..\" component"}},
            {"{\"id\": \"x\", \"name\": \"n\", \"pups\": [{\"location\": \"/abs\"}]}",
             {"pups[0].location: \"/abs\" is not usable: it is absolute (a path inside the "
              "pup folder is expected)"}},
            {"{\"id\": \"x\", \"name\": \"n\", \"pups\": [{\"location\": \"a\"}, "
             "{\"location\": \"a\"}]}",
             {"pups[1].location: \"a\" is listed twice"}},
            {"{\"id\": \"x\", \"name\": \"n\", \"pups\": [\"core\"]}",
             {"pups[0]: \"core\" is not a pup entry ({\"location\": \"...\"})"}},
            {"{\"id\": \"x\", \"name\": \"n\", \"pups\": [{\"location\": \"a//b\"}]}",
             {"pups[0].location: \"a//b\" is not usable: it has an empty component (\"//\" or "
              "a trailing \"/\")"}},
            {"[]", {"[] is not a dogebox.json (a JSON object is expected)"}},
            {"", {"dogebox.json is empty (a JSON object is expected)"}},
        };
        for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
                struct dbx_errors errs = {0};
                struct manifest_source *s = NULL;
                char buf[DBX_ERROR_PATH_MAX + DBX_ERROR_MSG_MAX + 4];
                size_t n = 0;
                while (rows[i].errors[n])
                        n++;
                assert_int_equal(
                    manifest_source_parse(rows[i].text, strlen(rows[i].text), &s, &errs, NULL),
                    -EINVAL);
                assert_null(s);
                if (errs.n != n)
                        fail_msg("source row %zu: %zu errors", i, errs.n);
                for (size_t k = 0; k < n; k++)
                        assert_string_equal(dbx_error_text(&errs.items[k], buf, sizeof(buf)),
                                            rows[i].errors[k]);
                dbx_errors_free(&errs);
        }

        /* unknown keys warn; size limit */
        struct dbx_errors errs = {0}, warns = {0};
        struct manifest_source *s = NULL;
        const char *t = "{\"id\": \"x\", \"name\": \"n\", \"homepage\": \"h\"}";
        assert_int_equal(manifest_source_parse(t, strlen(t), &s, &errs, &warns), 0);
        assert_int_equal(warns.n, 1);
        assert_string_equal(warns.items[0].path, "homepage");
        assert_int_equal(s->n_locations, 0);
        manifest_source_free(s);
        dbx_errors_free(&warns);
        char *big = calloc(1, MANIFEST_SOURCE_SIZE_MAX + 2);
        memset(big, ' ', MANIFEST_SOURCE_SIZE_MAX + 1);
        assert_int_equal(manifest_source_parse(big, MANIFEST_SOURCE_SIZE_MAX + 1, &s, &errs, NULL),
                         -E2BIG);
        free(big);
        dbx_errors_free(&errs);
}

/* manifest_write_json() writes exactly what json_dumps(manifest_to_json(),
 * JSON_COMPACT) does: for every fixture, every example and a manifest that
 * uses the rarer shapes (reals, flake builds, resources, options, args,
 * escapes and non-ASCII text). */
static void check_written_json(const char *path, const char *text, size_t len)
{
        struct dbx_errors errs = {0};
        _cleanup_manifest_ struct manifest *m = NULL;
        char buf[DBX_ERROR_PATH_MAX + DBX_ERROR_MSG_MAX + 4];
        struct jbuf b = {0};

        if (manifest_parse(text, len, &m, &errs, NULL) != 0)
                fail_msg("%s: %s", path,
                         errs.n ? dbx_error_text(&errs.items[0], buf, sizeof(buf)) : "?");
        json_t *out = manifest_to_json(m);
        char *want = json_dumps(out, JSON_COMPACT);
        manifest_write_json(m, &b);
        if (strcmp(want, b.p) != 0)
                fail_msg("%s: written JSON differs:\n%s\n%s", path, want, b.p);
        free(want);
        jbuf_free(&b);
        json_decref(out);
}

static const char rare_shapes[] =
    "{\"manifestVersion\": 1,"
    " \"meta\": {\"name\": \"R\\u00e9sum\\u00e9 \\\"pup\\\"\", \"version\": \"1.0.0-rc.1+b.2\","
    "  \"longDescription\": \"line\\nnext\\ttab \\\\ \\u2603 \\ud83d\\ude00\","
    "  \"upstreamVersions\": {\"A b\": \"1\", \"c\": \"\"}},"
    " \"config\": {\"showOnInstall\": true, \"sections\": [{\"name\": \"s\", \"fields\": ["
    "  {\"name\": \"R\", \"label\": \"r\", \"type\": \"range\", \"min\": 0.5, \"max\": 1e300,"
    "   \"step\": 0.5, \"default\": 1.5},"
    "  {\"name\": \"N\", \"label\": \"n\", \"type\": \"number\", \"min\": -1e-7, \"max\": 3,"
    "   \"default\": 2, \"placeholder\": \"p\", \"help\": \"h\\nh\"},"
    "  {\"name\": \"T\", \"label\": \"t\", \"type\": \"toggle\", \"default\": true},"
    "  {\"name\": \"S\", \"label\": \"s\", \"type\": \"select\", \"default\": \"2\","
    "   \"options\": [\"a\", {\"label\": \"Two\", \"value\": 2}, {\"label\": \"T\", \"value\": "
    "true}]}]},"
    "  {\"name\": \"e\", \"label\": \"\"}]},"
    " \"container\": {\"build\": {\"type\": \"flake\", \"flake\": {\"path\": \"f\", \"package\": "
    "\"p\"}},"
    "  \"services\": [{\"name\": \"a\", \"command\": {\"exec\": \"bin/a\", \"args\": [\"-x\", "
    "\"\"],"
    "   \"env\": {\"K\": \"v \\\"q\\\"\"}}}],"
    "  \"exposes\": [{\"name\": \"t\", \"type\": \"tcp\", \"port\": 1, \"listenOnHost\": true}],"
    "  \"resources\": {\"memory\": 17179869184, \"cpuWeight\": 50}},"
    " \"interfaces\": [{\"name\": \"i\", \"version\": \"1.0.0\", \"permissionGroups\": ["
    "  {\"name\": \"g\", \"severity\": 1, \"routes\": [\"/a/*\"]}]}],"
    " \"dependencies\": [{\"interfaceName\": \"i\", \"interfaceVersion\": \">=1.0.0 <2\","
    "  \"optional\": true, \"source\": {\"pupName\": \"P\", \"pupVersion\": \"1.0.0\"}}],"
    " \"metrics\": [{\"name\": \"m\", \"label\": \"M\", \"type\": \"float\", \"history\": 1,"
    "  \"description\": \"d\"}, {\"name\": \"n\", \"type\": \"string\", \"history\": 1000}]}";

static void test_written_json(void **state)
{
        size_t n = walk_fixtures(FIXTURES_DIR, "manifest.json", check_written_json);
        assert_int_equal(n, 17);
        assert_true(walk_fixtures(EXAMPLES_DIR, "manifest.json", check_written_json) >= 6);
        check_written_json("base", base_manifest, strlen(base_manifest));
        check_written_json("rare shapes", rare_shapes, strlen(rare_shapes));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_base_valid),
            cmocka_unit_test(test_invalid),
            cmocka_unit_test(test_invalid_raw),
            cmocka_unit_test(test_limits),
            cmocka_unit_test(test_limit_fields_across_sections),
            cmocka_unit_test(test_limit_size_and_depth),
            cmocka_unit_test(test_edges_valid),
            cmocka_unit_test(test_case_insensitive),
            cmocka_unit_test(test_nul_in_string),
            cmocka_unit_test(test_warnings),
            cmocka_unit_test(test_warnings_with_errors),
            cmocka_unit_test(test_fixtures),
            cmocka_unit_test(test_written_json),
            cmocka_unit_test(test_fixture_core_shape),
            cmocka_unit_test(test_fixture_config_fields),
            cmocka_unit_test(test_native_example),
            cmocka_unit_test(test_exec_paths),
            cmocka_unit_test(test_native_build_variants),
            cmocka_unit_test(test_source_fixtures),
            cmocka_unit_test(test_source_invalid),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
