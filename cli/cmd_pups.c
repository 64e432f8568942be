/* dbx's pup commands: install, ls, show, start/stop/..., config, logs. */
#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cli/client.h"
#include "cli/commands.h"
#include "cli/wsclient.h"
#include "core/macro.h"

#define WAIT_POLL_MS 150       /* job polling period */
#define WAIT_MAX_S   (60 * 60) /* give up waiting after an hour */
#define LOGS_POLL_MS 500       /* dbx logs -f polling period */

static char *esc(const char *s)
{
        char *e = curl_easy_escape(NULL, s, 0);
        char *r = xstrdup(e);
        curl_free(e);
        return r;
}

/* Submit a job and, unless told not to, follow it to its end with a live
 * progress bar (cmd_jobs_follow: /ws/jobs, polling as a fallback). */
static int submit_and_wait(struct dbx_client *c, const char *method, const char *path, json_t *body,
                           bool wait)
{
        json_t *j = NULL;
        int r = client_call(c, method, path, body, &j);
        json_decref(body);
        if (r < 0)
                return 1;
        const char *id = json_string_value(json_object_get(j, "id"));
        if (!id) {
                json_decref(j);
                fprintf(stderr, "dbx: the daemon returned no job id\n");
                return 1;
        }
        _cleanup_free_ char *job = xstrdup(id);
        json_decref(j);
        if (!wait) {
                printf("%s\n", job);
                return 0;
        }
        return cmd_jobs_follow(c, job, false, NULL) == 0 ? 0 : 1;
}

/* SOURCE/NAME[@VERSION] */
static int cmd_install(struct dbx_client *c, int argc, char **argv)
{
        bool nowait = false;
        int o;
        static const struct option opts[] = {{"no-wait", no_argument, NULL, 'n'}, {0}};
        while ((o = getopt_long(argc, argv, "", opts, NULL)) >= 0)
                if (o != 'n')
                        return 2;
                else
                        nowait = true;
        if (optind != argc - 1) {
                fprintf(stderr, "usage: dbx install [--no-wait] SOURCE/NAME[@VERSION]\n");
                return 2;
        }
        _cleanup_free_ char *spec = xstrdup(argv[optind]);
        char *slash = strchr(spec, '/');
        if (!slash || slash == spec || !slash[1]) {
                fprintf(stderr, "dbx install: '%s' is not SOURCE/NAME[@VERSION] (see dbx store)\n",
                        argv[optind]);
                return 2;
        }
        *slash = 0;
        char *name = slash + 1, *at = strrchr(name, '@'), *version = NULL;
        if (at) {
                *at = 0;
                version = at + 1;
        }
        json_t *body =
            json_pack("{s:s,s:s,s:s,s:b}", "sourceId", spec, "pupName", name, "pupVersion",
                      version ? version : "", "autoInstallDependencies", 0);
        return submit_and_wait(c, "PUT", "/pup", body, !nowait);
}

static json_t *bootstrap(struct dbx_client *c)
{
        json_t *j = NULL;
        if (client_call(c, "GET", "/system/bootstrap", NULL, &j) < 0)
                return NULL;
        return j;
}

static const char *pup_status(json_t *state, json_t *stats)
{
        const char *inst = json_string_value(json_object_get(state, "installation"));
        if (inst && !streq(inst, "ready"))
                return inst;
        if (json_is_true(json_object_get(state, "needsConf")))
                return "needs config";
        if (json_is_true(json_object_get(state, "needsDeps")))
                return "needs deps";
        const char *st = json_string_value(json_object_get(stats, "status"));
        return st ? st : "stopped";
}

static int cmd_ls(struct dbx_client *c, int argc, char **argv)
{
        json_t *b = bootstrap(c);
        if (!b)
                return 1;
        json_t *states = json_object_get(b, "states"), *stats = json_object_get(b, "stats");
        if (c->json) {
                char *s = json_dumps(states, JSON_INDENT(2));
                puts(s);
                free(s);
                json_decref(b);
                return 0;
        }
        if (json_object_size(states) == 0) {
                printf("no pups installed (dbx store lists what you can install)\n");
                json_decref(b);
                return 0;
        }
        printf("%-32s  %-24s %-10s %-8s %s\n", "ID", "NAME", "VERSION", "ENABLED", "STATUS");
        const char *id;
        json_t *st;
        json_object_foreach(states, id, st)
        {
                printf(
                    "%-32s  %-24.24s %-10.10s %-8s %s\n", id,
                    json_string_value(
                        json_object_get(st, "manifest")
                            ? json_object_get(
                                  json_object_get(json_object_get(st, "manifest"), "meta"), "name")
                            : NULL)
                        ?: "?",
                    json_string_value(json_object_get(st, "version")) ?: "",
                    json_is_true(json_object_get(st, "enabled")) ? "yes" : "no",
                    pup_status(st, json_object_get(stats, id)));
        }
        json_decref(b);
        return 0;
}

static int cmd_show(struct dbx_client *c, int argc, char **argv)
{
        if (argc != 2) {
                fprintf(stderr, "usage: dbx show PUP\n");
                return 2;
        }
        _cleanup_free_ char *id = esc(argv[1]);
        _cleanup_free_ char *p1 = xasprintf("/pup/%s", id), *p2 = xasprintf("/pup/%s/stats", id);
        json_t *st = NULL, *stats = NULL;
        if (client_call(c, "GET", p1, NULL, &st) < 0)
                return 1;
        if (client_call(c, "GET", p2, NULL, &stats) < 0) {
                json_decref(st);
                return 1;
        }
        if (c->json) {
                json_t *o = json_pack("{s:o,s:o}", "state", st, "stats", stats);
                char *s = json_dumps(o, JSON_INDENT(2));
                puts(s);
                free(s);
                json_decref(o);
                return 0;
        }
        json_t *meta = json_object_get(json_object_get(st, "manifest"), "meta");
        printf("%s %s  (%s)\n", json_string_value(json_object_get(meta, "name")),
               json_string_value(json_object_get(st, "version")),
               json_string_value(json_object_get(st, "id")));
        printf("  %s\n", json_string_value(json_object_get(meta, "shortDescription")) ?: "");
        printf("status       %s\n", pup_status(st, stats));
        const char *br = json_string_value(json_object_get(st, "brokenReason"));
        if (br && br[0])
                printf("broken       %s\n", br);
        printf("enabled      %s\n", json_is_true(json_object_get(st, "enabled")) ? "yes" : "no");
        printf("source       %s\n",
               json_string_value(json_object_get(json_object_get(st, "source"), "id")) ?: "");
        printf("restarts     %lld\n", json_integer_value(json_object_get(stats, "restarts")));
        const char *le = json_string_value(json_object_get(stats, "lastExit"));
        if (le && le[0])
                printf("last exit    %s\n", le);
        printf("config\n");
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(st, "config"), k, v)
        {
                printf("  %s=%s\n", k, json_string_value(v) ?: "");
        }
        json_decref(st);
        json_decref(stats);
        return 0;
}

static int cmd_action(struct dbx_client *c, const char *action, int argc, char **argv)
{
        bool nowait = argc > 1 && streq(argv[1], "--no-wait");
        if (argc != 2 + nowait) {
                fprintf(stderr, "usage: dbx %s [--no-wait] PUP\n", action);
                return 2;
        }
        _cleanup_free_ char *id = esc(argv[1 + nowait]);
        _cleanup_free_ char *path = xasprintf("/pup/%s/%s", id, action);
        return submit_and_wait(c, "POST", path, NULL, !nowait);
}

/* dbx config PUP [KEY=VALUE...]: without values, print the config. */
static int cmd_config(struct dbx_client *c, int argc, char **argv)
{
        if (argc < 2) {
                fprintf(stderr, "usage: dbx config PUP [KEY=VALUE...]\n");
                return 2;
        }
        if (argc == 2) {
                _cleanup_free_ char *id = esc(argv[1]);
                _cleanup_free_ char *path = xasprintf("/pup/%s", id);
                json_t *st = NULL;
                if (client_call(c, "GET", path, NULL, &st) < 0)
                        return 1;
                const char *k;
                json_t *v;
                json_object_foreach(json_object_get(st, "config"), k, v)
                {
                        printf("%s=%s\n", k, json_string_value(v) ?: "");
                }
                json_decref(st);
                return 0;
        }
        json_t *body = json_object();
        for (int i = 2; i < argc; i++) {
                char *eq = strchr(argv[i], '=');
                if (!eq || eq == argv[i]) {
                        fprintf(stderr, "dbx config: '%s' is not KEY=VALUE\n", argv[i]);
                        json_decref(body);
                        return 2;
                }
                *eq = 0;
                json_object_set_new(body, argv[i], json_string(eq + 1));
        }
        _cleanup_free_ char *id = esc(argv[1]);
        _cleanup_free_ char *path = xasprintf("/config/%s", id);
        long status = 0;
        json_t *j = NULL;
        int r = client_request(c, "POST", path, body, &status, &j, NULL);
        json_decref(body);
        if (r < 0)
                return 1;
        if (status != 200) {
                json_t *e = json_object_get(j, "error");
                fprintf(stderr, "dbx: %s\n",
                        json_string_value(json_object_get(e, "message")) ?: "request failed");
                size_t i;
                json_t *f;
                json_array_foreach(json_object_get(e, "fields"), i, f)
                {
                        fprintf(stderr, "  %s: %s\n", json_string_value(json_object_get(f, "name")),
                                json_string_value(json_object_get(f, "message")));
                }
                json_decref(j);
                return 1;
        }
        _cleanup_free_ char *job = xstrdup(json_string_value(json_object_get(j, "id")) ?: "");
        json_decref(j);
        return cmd_jobs_follow(c, job, false, NULL) == 0 ? 0 : 1;
}

static int print_lines(json_t *page)
{
        size_t i;
        json_t *l;
        json_array_foreach(json_object_get(page, "lines"), i, l)
        {
                const char *s = json_string_value(l);
                fputs(s ? s : "", stdout);
                if (s && (!*s || s[strlen(s) - 1] != '\n'))
                        fputc('\n', stdout);
        }
        fflush(stdout);
        return 0;
}

/* dbx logs [-f] [-n N] PUP */
static int cmd_logs(struct dbx_client *c, int argc, char **argv)
{
        bool follow = false;
        long n = 100;
        int o;
        while ((o = getopt(argc, argv, "fn:")) >= 0) {
                if (o == 'f')
                        follow = true;
                else if (o == 'n')
                        n = atol(optarg);
                else
                        return 2;
        }
        if (optind != argc - 1 || n < 1 || n > 1000) {
                fprintf(stderr, "usage: dbx logs [-f] [-n LINES(1-1000)] PUP\n");
                return 2;
        }
        _cleanup_free_ char *id = esc(argv[optind]);
        _cleanup_free_ char *path = xasprintf("/log/pup/%s/tail?limit=%ld", id, n);
        json_t *page = NULL;
        if (client_call(c, "GET", path, NULL, &page) < 0)
                return 1;
        print_lines(page);
        const char *tok = json_string_value(json_object_get(page, "resumeToken"));
        _cleanup_free_ char *resume = xstrdup(tok ? tok : "");
        json_decref(page);
        if (!follow)
                return 0;
        /* follow: the live log socket, resuming exactly where the tail ended */
        _cleanup_free_ char *wspath =
            xasprintf("/ws/log/pup/%s%s%s", id, resume[0] ? "?resumeToken=" : "", resume);
        struct wsclient *ws = NULL;
        char err[256];
        if (wsclient_connect(c, wspath, &ws, err, sizeof(err)) < 0) {
                fprintf(stderr, "dbx: cannot follow the log: %s\n", err);
                return 1;
        }
        for (;;) {
                json_t *m = NULL;
                int r = wsclient_recv_json(ws, 60000, &m);
                if (r == -ETIMEDOUT)
                        continue;
                if (r < 0) {
                        fprintf(stderr, "dbx: the log stream ended\n");
                        wsclient_free(ws);
                        return 1;
                }
                const char *line = json_string_value(m);
                if (line) {
                        fputs(line, stdout);
                        fflush(stdout);
                }
                json_decref(m);
        }
}

int cmd_pups(struct dbx_client *c, const char *cmd, int argc, char **argv)
{
        static const char *const actions[] = {"start",   "stop",      "restart", "enable",
                                              "disable", "uninstall", "purge",   "retry"};
        if (streq(cmd, "install"))
                return cmd_install(c, argc, argv);
        if (streq(cmd, "ls"))
                return cmd_ls(c, argc, argv);
        if (streq(cmd, "show"))
                return cmd_show(c, argc, argv);
        if (streq(cmd, "config"))
                return cmd_config(c, argc, argv);
        if (streq(cmd, "logs"))
                return cmd_logs(c, argc, argv);
        for (size_t i = 0; i < ARRAY_SIZE(actions); i++)
                if (streq(cmd, actions[i]))
                        return cmd_action(c, cmd, argc, argv);
        return -ENOENT;
}
