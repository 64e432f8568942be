/* dbx jobs: list, show, follow, cancel and clear jobs (docs/api.md "Jobs").
 * cmd_jobs_follow() is shared with the commands that start jobs (dbx
 * install, ...): it follows one job live over /ws/jobs. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/wsclient.h"
#include "core/macro.h"

#define JOB_ID_PREFIX_MIN   4    /* shortest id prefix accepted for a job */
#define FOLLOW_IDLE_MS      5000 /* with no event this long, ask GET /jobs/{id} */
#define FOLLOW_POLL_MS      250  /* fallback when the WebSocket is not available */
#define LOG_FOLLOW_DRAIN_MS 300  /* after the job ended, wait this long for its last lines */

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: dbx jobs [list] [--active | --recent [N]]\n"
                "       dbx jobs show ID\n"
                "       dbx jobs log [-f] ID\n"
                "       dbx jobs wait ID\n"
                "       dbx jobs cancel ID\n"
                "       dbx jobs clear [--older-than DAYS]\n"
                "\n"
                "  list     jobs, newest first (default: every retained record)\n"
                "  show     one job's record and its last log lines\n"
                "  log      the job's log; -f follows it live until the job ends\n"
                "  wait     follow a job with a progress bar until it ends (exit 0 if it\n"
                "           completed, 1 if it failed, was cancelled or orphaned)\n"
                "  cancel   cancel a queued job, ask a running one to stop, or delete\n"
                "           a finished record\n"
                "  clear    delete finished records (all, or older than DAYS)\n"
                "\n"
                "ID may be a unique prefix of at least %d characters. --json (before\n"
                "`jobs`) prints the API's JSON.\n",
                JOB_ID_PREFIX_MIN);
}

static bool status_is_final(const char *s)
{
        return streq(s, "completed") || streq(s, "failed") || streq(s, "cancelled") ||
               streq(s, "orphaned");
}

/* "2026-06-12T03:22:47.890Z" -> Unix ms; -1 when not a time. */
static long long parse_time_ms(const char *s)
{
        struct tm tm = {0};
        unsigned ms = 0;
        if (!s || !*s)
                return -1;
        const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!rest)
                return -1;
        if (*rest == '.')
                ms = (unsigned)strtoul(rest + 1, NULL, 10) % 1000;
        return (long long)timegm(&tm) * 1000 + ms;
}

static void fmt_local(const char *rfc3339, char *buf, size_t size)
{
        long long ms = parse_time_ms(rfc3339);
        if (ms < 0) {
                snprintf(buf, size, "-");
                return;
        }
        time_t t = (time_t)(ms / 1000);
        struct tm tm;
        localtime_r(&t, &tm);
        strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
}

static void fmt_duration(long long ms, char *buf, size_t size)
{
        if (ms < 0)
                ms = 0;
        if (ms < 60000)
                snprintf(buf, size, "%.1fs", (double)ms / 1000.0);
        else if (ms < 3600000)
                snprintf(buf, size, "%lldm %llds", ms / 60000, ms / 1000 % 60);
        else
                snprintf(buf, size, "%lldh %lldm", ms / 3600000, ms / 60000 % 60);
}

/* The line printed when a followed job ends. */
static void final_line(json_t *rec, char *buf, size_t size)
{
        const char *st = client_str(rec, "status"), *name = client_str(rec, "displayName");
        const char *err = client_str(rec, "errorMessage"), *id = client_str(rec, "id");
        char dur[32];
        long long a = parse_time_ms(client_str(rec, "runStarted")),
                  b = parse_time_ms(client_str(rec, "finished"));
        fmt_duration(a >= 0 && b >= 0 ? b - a : 0, dur, sizeof(dur));
        if (streq(st, "completed"))
                snprintf(buf, size, "%s: completed in %s", name, dur);
        else if (streq(st, "cancelled"))
                snprintf(buf, size, "%s: cancelled", name);
        else
                snprintf(buf, size, "%s: %s: %s (the log: dbx jobs log %s)", name, st,
                         *err ? err : client_str(rec, "summaryMessage"), id);
}

/* Resolve an id or a unique prefix to the full id (caller frees). */
static char *resolve_id(struct dbx_client *c, const char *arg)
{
        size_t n = strlen(arg);
        bool hex = n > 0;
        for (const char *p = arg; *p; p++)
                hex = hex && ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'));
        if (!hex || n > 32) {
                fprintf(stderr,
                        "dbx jobs: '%s' is not a job id (32 lowercase hex characters, "
                        "or a unique prefix of them)\n",
                        arg);
                return NULL;
        }
        if (n == 32)
                return xstrdup(arg);
        if (n < JOB_ID_PREFIX_MIN) {
                fprintf(stderr,
                        "dbx jobs: job id prefix '%s' is too short (at least %d "
                        "characters)\n",
                        arg, JOB_ID_PREFIX_MIN);
                return NULL;
        }
        json_t *j = NULL;
        if (client_call(c, "GET", "/jobs", NULL, &j) < 0)
                return NULL;
        json_t *arr = json_object_get(j, "jobs"), *v;
        size_t i, matches = 0;
        char *found = NULL;
        json_array_foreach(arr, i, v)
        {
                const char *id = client_str(v, "id");
                if (!strncmp(id, arg, n)) {
                        matches++;
                        free(found);
                        found = xstrdup(id);
                }
        }
        json_decref(j);
        if (matches == 1)
                return found;
        free(found);
        if (matches == 0)
                fprintf(stderr, "dbx jobs: no job id starts with '%s' (see dbx jobs)\n", arg);
        else
                fprintf(stderr, "dbx jobs: '%s' matches %zu jobs: give more characters\n", arg,
                        matches);
        return NULL;
}

static json_t *get_record(struct dbx_client *c, const char *id)
{
        _cleanup_free_ char *path = xasprintf("/jobs/%s", id);
        json_t *j = NULL;
        if (client_call(c, "GET", path, NULL, &j) < 0)
                return NULL;
        json_t *rec = json_incref(json_object_get(j, "job"));
        json_decref(j);
        return rec;
}

/* --- follow ----------------------------------------------------------- */

static void show_record(struct progress *pb, json_t *rec)
{
        if (pb)
                progress_update(pb, (int)json_integer_value(json_object_get(rec, "progress")),
                                client_str(rec, "step"), client_str(rec, "summaryMessage"));
}

/* Poll GET /jobs/{id} until it ends (the WebSocket is not available). */
static json_t *follow_poll(struct dbx_client *c, const char *id, struct progress *pb)
{
        for (;;) {
                json_t *rec = get_record(c, id);
                if (!rec)
                        return NULL;
                show_record(pb, rec);
                if (status_is_final(client_str(rec, "status")))
                        return rec;
                json_decref(rec);
                usleep(FOLLOW_POLL_MS * 1000);
        }
}

int cmd_jobs_follow(struct dbx_client *c, const char *job_id, bool quiet, json_t **ret_record)
{
        struct progress *pb = quiet ? NULL : progress_new(stderr, -1);
        struct wsclient *ws = NULL;
        json_t *final = NULL;
        char err[512];
        int r = wsclient_connect(c, "/ws/jobs", &ws, err, sizeof(err));
        if (r < 0) {
                if (r == -EACCES) {
                        fprintf(stderr, "dbx: %s\n", err);
                        progress_free(pb);
                        return 2;
                }
                final = follow_poll(c, job_id, pb);
        }
        while (ws && !final) {
                json_t *m = NULL;
                r = wsclient_recv_json(ws, FOLLOW_IDLE_MS, &m);
                if (r == -ETIMEDOUT || r == -EBADMSG) {
                        json_t *rec = get_record(c, job_id); /* nothing for a while: ask */
                        if (!rec)
                                break;
                        if (status_is_final(client_str(rec, "status")))
                                final = rec;
                        else
                                json_decref(rec);
                        continue;
                }
                if (r < 0) { /* closed (daemon stopped?) or overflow: fall back to polling */
                        ws = wsclient_free(ws);
                        final = follow_poll(c, job_id, pb);
                        break;
                }
                const char *type = client_str(m, "type");
                json_t *u = json_object_get(m, "update");
                if (streq(type, "bootstrap")) {
                        json_t *v, *rec = NULL;
                        size_t i;
                        json_array_foreach(json_object_get(u, "jobs"), i,
                                           v) if (streq(client_str(v, "id"), job_id)) rec = v;
                        if (!rec) {
                                fprintf(stderr, "dbx: there is no job %s\n", job_id);
                                json_decref(m);
                                break;
                        }
                        if (status_is_final(client_str(rec, "status")))
                                final = json_incref(rec); /* over already: no bar */
                        else
                                show_record(pb, rec);
                } else if (streq(type, "progress") && streq(client_str(u, "actionID"), job_id)) {
                        if (pb)
                                progress_update(
                                    pb, (int)json_integer_value(json_object_get(u, "progress")),
                                    client_str(u, "step"), client_str(u, "msg"));
                } else if (!strncmp(type, "job:", 4) && streq(client_str(u, "id"), job_id)) {
                        if (status_is_final(client_str(u, "status")) || streq(type, "job:deleted"))
                                final = json_incref(u);
                        else
                                show_record(pb, u);
                }
                json_decref(m);
        }
        wsclient_free(ws);
        if (!final) {
                if (pb)
                        progress_finish(pb, NULL);
                progress_free(pb);
                return 2;
        }
        char line[1024];
        final_line(final, line, sizeof(line));
        if (pb)
                progress_finish(pb, NULL);
        progress_free(pb);
        if (!quiet)
                printf("%s\n", line);
        int ret = streq(client_str(final, "status"), "completed") ? 0 : 1;
        if (ret_record)
                *ret_record = final;
        else
                json_decref(final);
        return ret;
}

/* --- subcommands ------------------------------------------------------ */

static int term_columns(void)
{
        struct winsize ws;
        if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col)
                return ws.ws_col;
        return 0;
}

static int jobs_list(struct dbx_client *c, int argc, char **argv)
{
        static const struct option opts[] = {
            {"active", no_argument, NULL, 'a'},
            {"recent", optional_argument, NULL, 'r'},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        const char *path = "/jobs";
        _cleanup_free_ char *recent = NULL;
        int o;
        while ((o = getopt_long(argc, argv, "+h", opts, NULL)) >= 0) {
                switch (o) {
                case 'a':
                        path = "/jobs/active";
                        break;
                case 'r':
                        recent = xasprintf("/jobs/recent%s%s", optarg ? "?limit=" : "",
                                           optarg ? optarg : "");
                        path = recent;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "dbx jobs list: unexpected argument '%s'\n", argv[optind]);
                return 2;
        }
        json_t *j = NULL;
        if (client_call(c, "GET", path, NULL, &j) < 0)
                return 1;
        json_t *arr = json_object_get(j, "jobs");
        if (c->json) {
                client_print_json(arr);
                json_decref(j);
                return 0;
        }
        if (json_array_size(arr) == 0) {
                printf("no jobs\n");
                json_decref(j);
                return 0;
        }
        int cols = term_columns();
        printf("%-8s  %-11s  %4s  %-12s  %-20s  %-19s  %s\n", "ID", "STATUS", "PCT", "ACTION",
               "PUP", "STARTED", "SUMMARY");
        json_t *v;
        size_t i;
        json_array_foreach(arr, i, v)
        {
                char started[32], pup[21], line[2048];
                fmt_local(client_str(v, "started"), started, sizeof(started));
                const char *pn = client_str(v, "pupName");
                snprintf(pup, sizeof(pup), "%s",
                         *pn                       ? pn
                         : *client_str(v, "pupID") ? client_str(v, "pupID")
                                                   : "-");
                const char *st = client_str(v, "status");
                const char *summary = streq(st, "failed") || streq(st, "orphaned")
                                          ? client_str(v, "errorMessage")
                                          : client_str(v, "summaryMessage");
                int n = snprintf(line, sizeof(line),
                                 "%-8.8s  %-11s  %3lld%%  %-12.12s  %-20s  %-19s  %s",
                                 client_str(v, "id"), st,
                                 (long long)json_integer_value(json_object_get(v, "progress")),
                                 client_str(v, "action"), pup, started, summary);
                if (cols > 3 && n > cols) /* one row per job on a terminal */
                        snprintf(line + cols - 3, sizeof(line) - (size_t)cols + 3, "...");
                puts(line);
        }
        json_decref(j);
        return 0;
}

static int jobs_show(struct dbx_client *c, const char *arg)
{
        _cleanup_free_ char *id = resolve_id(c, arg);
        if (!id)
                return 1;
        json_t *rec = get_record(c, id);
        if (!rec)
                return 1;
        if (c->json) {
                client_print_json(rec);
                json_decref(rec);
                return 0;
        }
        char started[32], run[32], finished[32];
        fmt_local(client_str(rec, "started"), started, sizeof(started));
        fmt_local(client_str(rec, "runStarted"), run, sizeof(run));
        fmt_local(client_str(rec, "finished"), finished, sizeof(finished));
        printf("id         %s\n", client_str(rec, "id"));
        printf("job        %s (%s)\n", client_str(rec, "displayName"), client_str(rec, "action"));
        printf("status     %s%s\n", client_str(rec, "status"),
               json_is_true(json_object_get(rec, "cancelRequested")) ? " (cancel requested)" : "");
        printf("progress   %lld%%%s%s\n",
               (long long)json_integer_value(json_object_get(rec, "progress")),
               *client_str(rec, "step") ? ", step " : "", client_str(rec, "step"));
        if (*client_str(rec, "pupID"))
                printf("pup        %s %s (%s)\n", client_str(rec, "pupName"),
                       client_str(rec, "pupVersion"), client_str(rec, "pupID"));
        printf("queued     %s\nstarted    %s\nfinished   %s\n", started, run, finished);
        printf("summary    %s\n", client_str(rec, "summaryMessage"));
        if (*client_str(rec, "errorMessage"))
                printf("error      %s\n", client_str(rec, "errorMessage"));
        json_decref(rec);
        _cleanup_free_ char *path = xasprintf("/log/job/%s/tail?limit=10", id);
        json_t *page = NULL;
        if (client_call(c, "GET", path, NULL, &page) == 0) {
                json_t *v;
                size_t i;
                printf("log (last lines; all: dbx jobs log %.8s)\n", id);
                json_array_foreach(json_object_get(page, "lines"), i, v)
                    printf("  %s\n", json_string_value(v));
                json_decref(page);
        }
        return 0;
}

static int jobs_log(struct dbx_client *c, int argc, char **argv)
{
        static const struct option opts[] = {
            {"follow", no_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {0}};
        bool follow = false;
        int o;
        while ((o = getopt_long(argc, argv, "+fh", opts, NULL)) >= 0) {
                if (o == 'f')
                        follow = true;
                else {
                        usage(o == 'h' ? stdout : stderr);
                        return o == 'h' ? 0 : 2;
                }
        }
        if (optind + 1 != argc) {
                fprintf(stderr, "dbx jobs log: one job id expected\n");
                return 2;
        }
        _cleanup_free_ char *id = resolve_id(c, argv[optind]);
        if (!id)
                return 1;
        if (!follow) {
                _cleanup_free_ char *path = xasprintf("/log/job/%s/download", id);
                long status = 0;
                char *raw = NULL;
                json_t *j = NULL;
                if (client_request(c, "GET", path, NULL, &status, &j, &raw) < 0)
                        return 1;
                int ret = 0;
                if (status == 200)
                        fputs(raw, stdout);
                else if (status == 404)
                        fprintf(stderr, "dbx: job %s has no log file\n", id);
                else {
                        char buf[512];
                        fprintf(stderr, "dbx: %s\n",
                                client_error_message(j, status, buf, sizeof(buf)));
                        ret = 1;
                }
                free(raw);
                json_decref(j);
                return ret;
        }
        /* -f: the newest lines, then live from the tail's resumeToken. */
        _cleanup_free_ char *tail_path = xasprintf("/log/job/%s/tail", id);
        json_t *page = NULL;
        if (client_call(c, "GET", tail_path, NULL, &page) < 0)
                return 1;
        json_t *v;
        size_t i;
        json_array_foreach(json_object_get(page, "lines"), i, v)
            printf("%s\n", json_string_value(v));
        fflush(stdout);
        _cleanup_free_ char *ws_path =
            xasprintf("/ws/log/job/%s?resumeToken=%s", id, client_str(page, "resumeToken"));
        json_decref(page);
        json_t *rec = get_record(c, id);
        bool done = rec && status_is_final(client_str(rec, "status"));
        json_decref(rec);
        if (done)
                return 0;
        struct wsclient *ws = NULL;
        char err[512];
        if (wsclient_connect(c, ws_path, &ws, err, sizeof(err)) < 0) {
                fprintf(stderr, "dbx: cannot follow the log: %s\n", err);
                return 1;
        }
        int timeout = FOLLOW_IDLE_MS;
        for (;;) {
                json_t *m = NULL;
                int r = wsclient_recv_json(ws, timeout, &m);
                if (r == 0) {
                        if (json_is_string(m)) {
                                fputs(json_string_value(m), stdout);
                                fflush(stdout);
                        }
                        json_decref(m);
                        continue;
                }
                if (r != -ETIMEDOUT)
                        break;
                if (done)
                        break; /* drained after the end */
                rec = get_record(c, id);
                done = !rec || status_is_final(client_str(rec, "status"));
                json_decref(rec);
                if (done)
                        timeout = LOG_FOLLOW_DRAIN_MS;
        }
        wsclient_free(ws);
        return 0;
}

static int jobs_wait(struct dbx_client *c, const char *arg)
{
        _cleanup_free_ char *id = resolve_id(c, arg);
        json_t *rec = NULL;
        if (!id)
                return 1;
        int r = cmd_jobs_follow(c, id, c->json, &rec);
        if (c->json && rec)
                client_print_json(rec);
        json_decref(rec);
        return r;
}

static int jobs_cancel(struct dbx_client *c, const char *arg)
{
        _cleanup_free_ char *id = resolve_id(c, arg);
        if (!id)
                return 1;
        _cleanup_free_ char *path = xasprintf("/jobs/%s", id);
        json_t *j = NULL;
        if (client_call(c, "DELETE", path, NULL, &j) < 0)
                return 1;
        if (c->json)
                client_print_json(j);
        else {
                const char *out = client_str(j, "outcome");
                if (streq(out, "cancelled"))
                        printf("job %s cancelled: it had not started\n", id);
                else if (streq(out, "cancelling"))
                        printf("job %s is running: asked it to stop (dbx jobs wait %.8s)\n", id,
                               id);
                else
                        printf("job %s: record and log deleted\n", id);
        }
        json_decref(j);
        return 0;
}

static int jobs_clear(struct dbx_client *c, int argc, char **argv)
{
        static const struct option opts[] = {
            {"older-than", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'}, {0}};
        long days = 0;
        int o;
        while ((o = getopt_long(argc, argv, "+h", opts, NULL)) >= 0) {
                if (o == 'o') {
                        char *end;
                        days = strtol(optarg, &end, 10);
                        if (*end || days < 1) {
                                fprintf(stderr, "dbx jobs clear: --older-than takes a number of "
                                                "days (1 or more)\n");
                                return 2;
                        }
                } else {
                        usage(o == 'h' ? stdout : stderr);
                        return o == 'h' ? 0 : 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "dbx jobs clear: unexpected argument '%s'\n", argv[optind]);
                return 2;
        }
        json_t *body = json_pack("{s:i}", "olderThanDays", (int)days), *j = NULL;
        int r = client_call(c, "POST", "/jobs/clear-completed", body, &j);
        json_decref(body);
        if (r < 0)
                return 1;
        if (c->json)
                client_print_json(j);
        else
                printf("%lld finished job record(s) deleted\n",
                       (long long)json_integer_value(json_object_get(j, "cleared")));
        json_decref(j);
        return 0;
}

int cmd_jobs(struct dbx_client *c, int argc, char **argv)
{
        /* argv[0] is "jobs" */
        const char *sub = argc > 1 ? argv[1] : "list";
        if (argc > 1 && argv[1][0] == '-' && !streq(argv[1], "-h") && !streq(argv[1], "--help"))
                return jobs_list(c, argc, argv); /* dbx jobs --active */
        if (streq(sub, "-h") || streq(sub, "--help") || streq(sub, "help")) {
                usage(stdout);
                return 0;
        }
        int sargc = argc - 1;
        char **sargv = argv + 1;
        optind = 1;
        if (streq(sub, "list") || streq(sub, "ls"))
                return jobs_list(c, argc > 1 ? sargc : argc, argc > 1 ? sargv : argv);
        if (streq(sub, "log") || streq(sub, "logs"))
                return jobs_log(c, sargc, sargv);
        if (streq(sub, "clear"))
                return jobs_clear(c, sargc, sargv);
        if (streq(sub, "show") || streq(sub, "wait") || streq(sub, "cancel") || streq(sub, "rm")) {
                if (sargc != 2) {
                        fprintf(stderr, "dbx jobs %s: one job id expected\n", sub);
                        return 2;
                }
                if (streq(sub, "show"))
                        return jobs_show(c, sargv[1]);
                if (streq(sub, "wait"))
                        return jobs_wait(c, sargv[1]);
                return jobs_cancel(c, sargv[1]);
        }
        fprintf(stderr, "dbx jobs: unknown subcommand '%s' (see dbx jobs --help)\n", sub);
        return 2;
}
