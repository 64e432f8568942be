/* dbx-runtime-harness: drives the supervisor API on an sd-event loop for the
 * integration tests and prints every event as one JSON line on stdout.
 *
 *   dbx-runtime-harness SPEC.json     spawn, then obey commands on stdin
 *   dbx-runtime-harness --cleanup PARENT [--remove-parent]
 *
 * SPEC.json holds the spec fields by name (see spec_from_json) plus
 * "cgroup_parent", "log_limits" {file_max, files_keep, tail_lines,
 * tail_bytes}, "net_hook" (install a hook that reports what it got) and
 * "net_hook_fails" (that hook then fails the spawn). Commands, one per line: stop, kill, stats,
 * tail N, spawn (again, after "stopped"), quit. End of input quits, killing the sandbox if it still
 * runs. */
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/stat.h>

#include "core/macro.h"
#include "runtime/sandbox.h"

#define CMD_MAX 256

struct harness {
        sd_event *event;
        struct sandbox_supervisor *sup;
        struct sandbox *sb;
        struct sandbox_spec spec;
        char cmd[CMD_MAX];
        size_t cmd_len;
        bool net_hook, hook_fails;
};

static void out(json_t *j)
{
        char *s = json_dumps(j, JSON_COMPACT);
        printf("%s\n", s);
        fflush(stdout);
        free(s);
        json_decref(j);
}

static void out_error(const char *what, const struct dbx_error *err)
{
        char buf[DBX_ERROR_PATH_MAX + DBX_ERROR_MSG_MAX + 4];
        out(json_pack("{sss{sssi}}", "error", what, "detail", "message",
                      dbx_error_text(err, buf, sizeof(buf)), "code", err->code));
}

static const char *const ev_names[] = {
    "ready", "service-started", "service-exited", "service-failing", "service-exec-failed",
    "oom",   "stopping",        "stopped",
};
static const char *const reasons[] = {"requested", "killed", "exited", "setup-failed", "init-died"};

static void on_event(struct sandbox *sb, const struct sandbox_event *ev, void *userdata)
{
        json_t *j = json_pack("{ss}", "event", ev_names[ev->type]);

        if (ev->service)
                json_object_set_new(j, "service", json_string(ev->service));
        switch (ev->type) {
        case SANDBOX_EVENT_SERVICE_STARTED:
                json_object_set_new(j, "pid", json_integer(ev->pid));
                break;
        case SANDBOX_EVENT_SERVICE_EXITED:
                json_object_set_new(j, "pid", json_integer(ev->pid));
                json_object_set_new(j, "code", json_integer(ev->exit_code));
                json_object_set_new(j, "signal", json_integer(ev->signal));
                json_object_set_new(j, "oom", json_boolean(ev->oom));
                json_object_set_new(j, "restart_in_ms", json_integer(ev->restart_in_ms));
                json_object_set_new(j, "crashes", json_integer(ev->crashes));
                json_object_set_new(j, "runtime_ms", json_integer((json_int_t)ev->runtime_ms));
                break;
        case SANDBOX_EVENT_SERVICE_FAILING:
                json_object_set_new(j, "crashes", json_integer(ev->crashes));
                break;
        case SANDBOX_EVENT_SERVICE_EXEC_FAILED:
                json_object_set_new(j, "error", json_integer(ev->error));
                break;
        case SANDBOX_EVENT_OOM:
                json_object_set_new(j, "oom_kills", json_integer((json_int_t)ev->oom_kills));
                break;
        case SANDBOX_EVENT_STOPPED:
                json_object_set_new(j, "reason", json_string(reasons[ev->reason]));
                json_object_set_new(j, "status", json_integer(ev->status));
                if (ev->message)
                        json_object_set_new(j, "message", json_string(ev->message));
                break;
        default:
                break;
        }
        (void)sb;
        out(j);
}

/* --- spec from JSON ------------------------------------------------------ */

static char *str(json_t *o, const char *k)
{
        const char *s = json_string_value(json_object_get(o, k));
        return s ? xstrdup(s) : NULL;
}

static char **strv(json_t *a)
{
        size_t n = json_array_size(a);
        char **v;
        if (!json_is_array(a))
                return NULL;
        v = xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
                v[i] = xstrdup(json_string_value(json_array_get(a, i)) ?: "");
        return v;
}

static uint64_t num(json_t *o, const char *k, uint64_t def)
{
        json_t *v = json_object_get(o, k);
        return json_is_integer(v) ? (uint64_t)json_integer_value(v) : def;
}

static int spec_from_json(json_t *o, struct sandbox_spec *spec)
{
        json_t *svcs = json_object_get(o, "services"), *bo = json_object_get(o, "backoff");
        size_t i;
        json_t *s;

        sandbox_spec_init(spec);
        spec->pup_id = str(o, "pup_id");
        spec->pup_dir = str(o, "pup_dir");
        spec->storage_dir = str(o, "storage_dir");
        spec->log_dir = str(o, "log_dir");
        spec->uid_base = (uint32_t)num(o, "uid_base", 0);
        spec->memory_max = num(o, "memory_max", 0);
        spec->pids_max = (uint32_t)num(o, "pids_max", 0);
        spec->cpu_weight = (uint32_t)num(o, "cpu_weight", spec->cpu_weight);
        spec->hostname = str(o, "hostname");
        spec->hosts_extra = strv(json_object_get(o, "hosts_extra"));
        spec->resolv_conf = str(o, "resolv_conf");
        spec->stop_grace_ms = (uint32_t)num(o, "stop_grace_ms", spec->stop_grace_ms);
        if (json_is_object(bo)) {
                spec->backoff.initial_ms =
                    (uint32_t)num(bo, "initial_ms", spec->backoff.initial_ms);
                spec->backoff.max_ms = (uint32_t)num(bo, "max_ms", spec->backoff.max_ms);
                spec->backoff.stable_ms = (uint32_t)num(bo, "stable_ms", spec->backoff.stable_ms);
                spec->backoff.failing_after =
                    (uint32_t)num(bo, "failing_after", spec->backoff.failing_after);
        }
        json_array_foreach(svcs, i, s)
        {
                const char *restart = json_string_value(json_object_get(s, "restart"));
                char **args = strv(json_object_get(s, "args")),
                     **env = strv(json_object_get(s, "env"));
                enum sandbox_restart rp = SANDBOX_RESTART_ALWAYS;
                if (restart && streq(restart, "on-failure"))
                        rp = SANDBOX_RESTART_ON_FAILURE;
                else if (restart && streq(restart, "never"))
                        rp = SANDBOX_RESTART_NEVER;
                sandbox_spec_add_service(spec, json_string_value(json_object_get(s, "name")),
                                         json_string_value(json_object_get(s, "exec")), args,
                                         json_string_value(json_object_get(s, "cwd")), env, rp);
                for (size_t k = 0; args && args[k]; k++)
                        free(args[k]);
                for (size_t k = 0; env && env[k]; k++)
                        free(env[k]);
                free(args);
                free(env);
        }
        return 0;
}

/* --- commands ------------------------------------------------------------ */

/* The network hook of the tests: report what it was given, so the test can
 * check it is the sandbox's own network namespace, before anything runs. */
static int net_hook(pid_t pid, int pidfd, void *userdata)
{
        char path[64];
        struct stat st;

        snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
        if (stat(path, &st) < 0)
                return -errno;
        out(json_pack("{s{sisIsb}}", "hook", "pid", (int)pid, "netns", (json_int_t)st.st_ino,
                      "pidfd", pidfd >= 0));
        return *(bool *)userdata ? -ECANCELED : 0;
}

static void spawn(struct harness *h)
{
        struct dbx_error err = {0};
        struct sandbox_hooks hooks = {net_hook, &h->hook_fails};
        int r;

        h->sb = sandbox_free(h->sb);
        r = sandbox_spawn(h->sup, &h->spec, h->net_hook ? &hooks : NULL, on_event, h, &err, &h->sb);
        if (r < 0) {
                out_error("spawn", &err);
                return;
        }
        out(json_pack("{sssisi}", "spawned", sandbox_cgroup_dir(h->sb), "pid",
                      (int)sandbox_pid(h->sb), "uid_base", (int)h->spec.uid_base));
}

static void tail_line(const char *line, size_t len, void *userdata)
{
        json_array_append_new(userdata, json_stringn(line, len));
}

static void command(struct harness *h, char *cmd)
{
        struct sandbox_stats st;
        int r;

        if (streq(cmd, "stop") || streq(cmd, "kill")) {
                r = h->sb ? (streq(cmd, "stop") ? sandbox_stop(h->sb) : sandbox_kill(h->sb))
                          : -ESRCH;
                out(json_pack("{sssi}", "command", cmd, "result", r));
        } else if (streq(cmd, "stats")) {
                r = h->sb ? sandbox_stats(h->sb, &st) : -ESRCH;
                if (r < 0)
                        out(json_pack("{sssi}", "command", cmd, "result", r));
                else
                        out(json_pack("{s{sIsIsIsI}}", "stats", "cpu_usec", (json_int_t)st.cpu_usec,
                                      "memory_bytes", (json_int_t)st.memory_bytes, "pids",
                                      (json_int_t)st.pids, "oom_kills", (json_int_t)st.oom_kills));
        } else if (strncmp(cmd, "tail", 4) == 0) {
                json_t *lines = json_array();
                if (h->sb)
                        runtime_log_tail(sandbox_log(h->sb), (size_t)atoi(cmd + 4) ?: 1000,
                                         tail_line, lines);
                out(json_pack("{so}", "tail", lines));
        } else if (streq(cmd, "spawn")) {
                spawn(h);
        } else if (streq(cmd, "quit")) {
                sd_event_exit(h->event, 0);
        } else {
                out(json_pack("{sssi}", "command", cmd, "result", -EINVAL));
        }
}

static int on_stdin(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct harness *h = userdata;
        ssize_t n = read(fd, h->cmd + h->cmd_len, sizeof(h->cmd) - 1 - h->cmd_len);
        char *nl;

        if (n <= 0) {
                if (n < 0 && errno == EAGAIN)
                        return 0;
                sd_event_source_set_enabled(s, SD_EVENT_OFF);
                sd_event_exit(h->event, 0);
                return 0;
        }
        h->cmd_len += (size_t)n;
        h->cmd[h->cmd_len] = 0;
        while ((nl = strchr(h->cmd, '\n'))) {
                *nl = 0;
                command(h, h->cmd);
                memmove(h->cmd, nl + 1, h->cmd_len - (size_t)(nl + 1 - h->cmd) + 1);
                h->cmd_len -= (size_t)(nl + 1 - h->cmd);
        }
        if (h->cmd_len == sizeof(h->cmd) - 1)
                h->cmd_len = 0;
        return 0;
}

int main(int argc, char **argv)
{
        struct harness h = {0};
        struct sandbox_supervisor_config cfg = {0};
        struct dbx_error err = {0};
        json_t *j;
        const char *parent;
        int r;

        if (argc >= 3 && streq(argv[1], "--cleanup")) {
                r = sandbox_cleanup_leftovers(argv[2],
                                              argc > 3 && streq(argv[3], "--remove-parent"));
                out(json_pack("{si}", "cleanup", r));
                return r < 0;
        }
        if (argc != 2) {
                fprintf(stderr, "usage: %s SPEC.json | --cleanup PARENT [--remove-parent]\n",
                        argv[0]);
                return 2;
        }
        j = json_load_file(argv[1], 0, NULL);
        if (!json_is_object(j)) {
                fprintf(stderr, "%s: not a JSON object\n", argv[1]);
                return 2;
        }
        spec_from_json(j, &h.spec);
        parent = json_string_value(json_object_get(j, "cgroup_parent"));
        h.net_hook = json_is_true(json_object_get(j, "net_hook"));
        h.hook_fails = json_is_true(json_object_get(j, "net_hook_fails"));
        {
                json_t *ll = json_object_get(j, "log_limits");
                cfg.log_limits.file_max = num(ll, "file_max", 0);
                cfg.log_limits.files_keep = (uint32_t)num(ll, "files_keep", 0);
                cfg.log_limits.tail_lines = (uint32_t)num(ll, "tail_lines", 0);
                cfg.log_limits.tail_bytes = (uint32_t)num(ll, "tail_bytes", 0);
        }
        cfg.cgroup_parent = parent;

        signal(SIGPIPE, SIG_IGN);
        r = sd_event_new(&h.event);
        if (r < 0)
                return 1;
        r = sandbox_supervisor_new(h.event, &cfg, &err, &h.sup);
        if (r < 0) {
                out_error("supervisor", &err);
                return 1;
        }
        fcntl(STDIN_FILENO, F_SETFL, O_NONBLOCK);
        sd_event_add_io(h.event, NULL, STDIN_FILENO, EPOLLIN, on_stdin, &h);
        spawn(&h);
        sd_event_loop(h.event);

        h.sb = sandbox_free(h.sb);
        sandbox_supervisor_free(h.sup);
        sd_event_unref(h.event);
        sandbox_spec_done(&h.spec);
        json_decref(j);
        return 0;
}
