/* dbx store [--json] [--refresh] [SOURCE]: what can be installed, from
 * GET /sources/store. A table by default; sources that failed to load and
 * invalid versions are listed after it. Exit 0, or 1 when the daemon could
 * not be asked, 2 on usage errors. */
#include <getopt.h>
#include "cli/commands.h"
#include "core/macro.h"

#define DESC_WIDTH     48 /* short descriptions are cut here in the table */
#define VERSIONS_SHOWN 4  /* older versions are summarized as "+N" */

static void usage(FILE *f)
{
        fprintf(f, "Usage: dbx store [--json] [--refresh] [SOURCE]\n"
                   "\n"
                   "List the pups every source offers (or only SOURCE's): latest version,\n"
                   "other versions and a short description. Sources that failed to load and\n"
                   "versions with an invalid manifest are listed below the table.\n"
                   "  --refresh   reload the sources first\n"
                   "  --json      the daemon's JSON (the upstream store shape)\n");
}

/* "0.0.9, 0.0.8, +3" (the latest is its own column). */
static void other_versions(json_t *versions, const char *latest, char *buf, size_t size)
{
        const char *v;
        json_t *m;
        size_t shown = 0, more = 0, off = 0;
        buf[0] = '\0';
        json_object_foreach(versions, v, m)
        {
                if (streq(v, latest))
                        continue;
                if (shown == VERSIONS_SHOWN) {
                        more++;
                        continue;
                }
                int n = snprintf(buf + off, size - off, "%s%s", shown ? ", " : "", v);
                if (n < 0 || (size_t)n >= size - off)
                        break;
                off += (size_t)n;
                shown++;
        }
        if (more)
                snprintf(buf + off, size - off, ", +%zu", more);
        if (!buf[0])
                snprintf(buf, size, "-");
}

static void print_table(json_t *j)
{
        const char *sid, *name;
        json_t *s, *p;
        size_t rows = 0;
        printf("%-20s %-24s %-10s %-22s %s\n", "SOURCE", "PUP", "LATEST", "OTHER VERSIONS",
               "DESCRIPTION");
        json_object_foreach(j, sid, s)
        {
                json_object_foreach(json_object_get(s, "pups"), name, p)
                {
                        const char *latest = client_str(p, "latestVersion");
                        json_t *m = json_object_get(json_object_get(p, "versions"), latest);
                        const char *desc =
                            client_str(json_object_get(m, "meta"), "shortDescription");
                        char others[128];
                        other_versions(json_object_get(p, "versions"), latest, others,
                                       sizeof(others));
                        printf("%-20s %-24s %-10s %-22s %.*s%s\n", sid, name, latest, others,
                               DESC_WIDTH, desc, strlen(desc) > DESC_WIDTH ? "..." : "");
                        rows++;
                }
        }
        if (rows == 0)
                printf("(no installable pups)\n");
        json_object_foreach(j, sid, s)
        {
                const char *err = json_string_value(json_object_get(s, "error"));
                json_t *inv = json_object_get(s, "invalid"), *e;
                size_t i;
                if (err) {
                        const char *ok = json_string_value(json_object_get(s, "lastOkAt"));
                        printf("\nsource %s: error: %s\n", sid, err);
                        if (ok)
                                printf("source %s: showing the catalog loaded at %s\n", sid, ok);
                }
                json_array_foreach(inv, i, e)
                {
                        json_t *errs = json_object_get(e, "errors");
                        size_t n = json_array_size(errs) +
                                   (size_t)json_integer_value(json_object_get(e, "moreErrors"));
                        printf("%ssource %s: %s %s is invalid%s%s:\n", i == 0 ? "\n" : "", sid,
                               client_str(e, "pup"), client_str(e, "version"),
                               json_object_get(e, "tag") ? " at tag " : "", client_str(e, "tag"));
                        for (size_t k = 0; k < json_array_size(errs); k++)
                                printf("    %s\n", json_string_value(json_array_get(errs, k)));
                        if (n > json_array_size(errs))
                                printf("    ... and %zu more\n", n - json_array_size(errs));
                }
        }
}

int cmd_store(struct dbx_client *c, int argc, char **argv)
{
        static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                             {"refresh", no_argument, NULL, 'r'},
                                             {"help", no_argument, NULL, 'h'},
                                             {0}};
        bool refresh = false;
        json_t *j = NULL;
        int o;
        optind = 0; /* 0, not 1: glibc re-reads the option string (dbx.c used "+") */
        while ((o = getopt_long(argc, argv, "h", opts, NULL)) >= 0) {
                switch (o) {
                case 'j':
                        c->json = true;
                        break;
                case 'r':
                        refresh = true;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind + 1 < argc) {
                fprintf(stderr, "dbx store: at most one SOURCE expected\n");
                return 2;
        }
        _cleanup_free_ char *id = optind < argc ? client_url_escape(argv[optind]) : NULL;
        _cleanup_free_ char *path =
            xasprintf("/sources/store%s%s%s%s", refresh || id ? "?" : "",
                      refresh ? "refresh=true" : "", refresh && id ? "&" : "", id ? "source=" : "");
        if (id) {
                char *p = xasprintf("%s%s", path, id);
                free(path);
                path = p;
        }
        if (client_call(c, "GET", path, NULL, &j) < 0)
                return 1;
        if (c->json) {
                char *s = json_dumps(j, JSON_INDENT(2));
                puts(s);
                free(s);
        } else if (json_object_size(j) == 0)
                printf("no sources: add one with `dbx source add LOCATION`\n");
        else
                print_table(j);
        json_decref(j);
        return 0;
}
