/* dbx source add|ls|rm|refresh: manage where pups come from (the
 * /sources routes). Exit 0 on success, 1 when the daemon refused or a
 * source failed to load, 2 on usage errors. */
#include <getopt.h>
#include "cli/commands.h"
#include "core/macro.h"

#define STATUS_WIDTH 60 /* an error in the table is cut here; `--json` has it all */

static void usage(FILE *f)
{
        fprintf(f, "Usage: dbx source COMMAND\n"
                   "\n"
                   "  add LOCATION [--type disk|git|http] [--id ID] [--public-key HEX]\n"
                   "                         add a source: a folder, a git repository with\n"
                   "                         version tags, or the URL of an http index\n"
                   "  ls                     list sources and whether their last load worked\n"
                   "  rm ID                  remove a source no installed pup came from\n"
                   "  refresh [ID]           reload every source (or one) and report\n"
                   "\n"
                   "--json prints the daemon's JSON.\n");
}

static long long num(json_t *o, const char *k)
{
        return json_integer_value(json_object_get(o, k));
}

/* Parse the command's own --json (the global one works too). */
static int parse_json_flag(struct dbx_client *c, int argc, char **argv, int *first_arg)
{
        static const struct option opts[] = {
            {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {0}};
        int o;
        while ((o = getopt_long(argc, argv, "+h", opts, NULL)) >= 0) {
                if (o == 'j')
                        c->json = true;
                else if (o == 'h') {
                        usage(stdout);
                        return 1;
                } else
                        return -EINVAL;
        }
        *first_arg = optind;
        return 0;
}

static void status_text(json_t *s, char *buf, size_t size)
{
        const char *err = json_string_value(json_object_get(s, "lastError"));
        if (json_is_true(json_object_get(s, "loading")) &&
            !json_string_value(json_object_get(s, "lastOkAt")))
                snprintf(buf, size, "loading");
        else if (err)
                snprintf(buf, size, "error: %.*s%s", STATUS_WIDTH, err,
                         strlen(err) > STATUS_WIDTH ? "..." : "");
        else if (!json_string_value(json_object_get(s, "lastOkAt")))
                snprintf(buf, size, "not loaded");
        else
                snprintf(buf, size, "ok");
}

static int source_ls(struct dbx_client *c, int argc, char **argv)
{
        json_t *j = NULL;
        int first;
        int r = parse_json_flag(c, argc, argv, &first);
        if (r)
                return r > 0 ? 0 : 2;
        if (first < argc) {
                fprintf(stderr, "dbx source ls: no arguments expected\n");
                return 2;
        }
        if (client_call(c, "GET", "/sources", NULL, &j) < 0)
                return 1;
        json_t *list = json_object_get(j, "sources");
        if (c->json) {
                client_print_json(list);
                json_decref(j);
                return 0;
        }
        if (json_array_size(list) == 0) {
                printf("no sources: add one with `dbx source add LOCATION`\n");
                json_decref(j);
                return 0;
        }
        printf("%-24s %-5s %5s %-12s %-10s %s\n", "ID", "TYPE", "PUPS", "VERSIONS", "STATUS",
               "LOCATION");
        size_t i;
        json_t *s;
        json_array_foreach(list, i, s)
        {
                char st[STATUS_WIDTH + 16], vers[32];
                status_text(s, st, sizeof(st));
                if (num(s, "invalidVersions"))
                        snprintf(vers, sizeof(vers), "%lld, %lld bad", num(s, "versions"),
                                 num(s, "invalidVersions"));
                else
                        snprintf(vers, sizeof(vers), "%lld", num(s, "versions"));
                printf("%-24s %-5s %5lld %-12s %-10s %s%s\n", client_str(s, "id"),
                       client_str(s, "type"), num(s, "pups"), vers,
                       strncmp(st, "error", 5) == 0 ? "error" : st, client_str(s, "location"),
                       json_is_true(json_object_get(s, "signed")) ? " (signed)" : "");
                if (strncmp(st, "error", 5) == 0)
                        printf("%-24s %s (since %s)\n", "", st, client_str(s, "lastErrorAt"));
        }
        json_decref(j);
        return 0;
}

static int source_add(struct dbx_client *c, int argc, char **argv)
{
        static const struct option opts[] = {
            {"type", required_argument, NULL, 't'},
            {"id", required_argument, NULL, 'i'},
            {"public-key", required_argument, NULL, 'k'},
            {"json", no_argument, NULL, 'j'},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        const char *type = NULL, *id = NULL, *key = NULL;
        json_t *j = NULL;
        int o;
        while ((o = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
                switch (o) {
                case 't':
                        type = optarg;
                        break;
                case 'i':
                        id = optarg;
                        break;
                case 'k':
                        key = optarg;
                        break;
                case 'j':
                        c->json = true;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind + 1 != argc) {
                fprintf(stderr, "dbx source add: exactly one LOCATION expected (see --help)\n");
                return 2;
        }
        json_t *body = json_pack("{s:s,s:s?,s:s?,s:s?}", "location", argv[optind], "type", type,
                                 "id", id, "publicKey", key);
        int r = client_call(c, "PUT", "/source", body, &j);
        json_decref(body);
        if (r < 0)
                return 1;
        json_t *s = json_object_get(j, "source");
        if (c->json)
                client_print_json(j);
        else {
                printf("added source %s (%s): %lld pups, %lld versions", client_str(j, "id"),
                       client_str(s, "type"), num(s, "pups"), num(s, "versions"));
                if (num(s, "invalidVersions"))
                        printf(", %lld invalid (see `dbx store`)", num(s, "invalidVersions"));
                if (json_is_true(json_object_get(s, "signed")))
                        printf(", signature verified");
                putchar('\n');
        }
        json_decref(j);
        return 0;
}

static int source_rm(struct dbx_client *c, int argc, char **argv)
{
        json_t *j = NULL;
        int first;
        int r = parse_json_flag(c, argc, argv, &first);
        if (r)
                return r > 0 ? 0 : 2;
        if (first + 1 != argc) {
                fprintf(stderr, "dbx source rm: exactly one source ID expected\n");
                return 2;
        }
        _cleanup_free_ char *id = client_url_escape(argv[first]);
        _cleanup_free_ char *path = xasprintf("/source/%s", id);
        if (client_call(c, "DELETE", path, NULL, &j) < 0)
                return 1;
        if (c->json)
                client_print_json(j);
        else
                printf("removed source %s\n", argv[first]);
        json_decref(j);
        return 0;
}

static int source_refresh(struct dbx_client *c, int argc, char **argv)
{
        json_t *j = NULL;
        int first, failed = 0;
        int r = parse_json_flag(c, argc, argv, &first);
        if (r)
                return r > 0 ? 0 : 2;
        if (first + 1 < argc) {
                fprintf(stderr, "dbx source refresh: at most one source ID expected\n");
                return 2;
        }
        _cleanup_free_ char *id = first < argc ? client_url_escape(argv[first]) : NULL;
        _cleanup_free_ char *path = id ? xasprintf("/sources/store?refresh=true&source=%s", id)
                                       : xstrdup("/sources/store?refresh=true");
        if (client_call(c, "GET", path, NULL, &j) < 0)
                return 1;
        const char *k;
        json_t *s;
        json_object_foreach(j, k, s)
        {
                const char *err = json_string_value(json_object_get(s, "error"));
                failed += err != NULL;
                if (c->json)
                        continue;
                size_t pups = json_object_size(json_object_get(s, "pups"));
                size_t invalid = json_array_size(json_object_get(s, "invalid"));
                if (err) {
                        printf("%s: error: %s\n", k, err);
                        const char *ok = json_string_value(json_object_get(s, "lastOkAt"));
                        if (ok)
                                printf("%s: keeping the catalog loaded at %s (%zu pups)\n", k, ok,
                                       pups);
                } else
                        printf("%s: ok, %zu pups%s\n", k, pups,
                               invalid ? " (some versions are invalid: see `dbx store`)" : "");
        }
        if (c->json)
                client_print_json(j);
        else if (json_object_size(j) == 0)
                printf("no sources to refresh\n");
        json_decref(j);
        return failed ? 1 : 0;
}

int cmd_source(struct dbx_client *c, int argc, char **argv)
{
        if (argc < 2) {
                usage(stderr);
                return 2;
        }
        const char *sub = argv[1];
        argc--;
        argv++;
        optind = 0; /* 0, not 1: glibc re-reads the option string (dbx.c used "+") */
        if (streq(sub, "ls") || streq(sub, "list"))
                return source_ls(c, argc, argv);
        if (streq(sub, "add"))
                return source_add(c, argc, argv);
        if (streq(sub, "rm") || streq(sub, "remove"))
                return source_rm(c, argc, argv);
        if (streq(sub, "refresh"))
                return source_refresh(c, argc, argv);
        if (streq(sub, "help") || streq(sub, "--help") || streq(sub, "-h")) {
                usage(stdout);
                return 0;
        }
        fprintf(stderr, "dbx source: unknown command '%s' (add, ls, rm, refresh)\n", sub);
        return 2;
}
