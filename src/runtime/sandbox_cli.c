/* `dogeboxd sandbox`: run one command in exactly the sandbox a pup gets,
 * without a daemon, and exit with its status. For pup developers and for
 * benchmarks. It drives the same supervisor API the daemon uses, on its own
 * event loop; the command shares the caller's terminal. */
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>

#include "core/macro.h"
#include "runtime/sandbox.h"

#define CLI_CGROUP_PARENT_ENV     "DBX_CGROUP_PARENT"
#define CLI_CGROUP_PARENT_DEFAULT "/dogeboxd-sandbox"
#define CLI_ENV_MAX               64  /* --env options */
#define CLI_EXIT_SETUP            125 /* as docker/podman: the sandbox itself failed */
#define CLI_EXIT_NOEXEC           126
#define CLI_EXIT_NOTFOUND         127

struct cli {
        sd_event *event;
        struct sandbox *sb;
        const char *command;
        uint64_t memory;
        int status;
        bool have_status, oom, exec_failed;
};

static void usage(FILE *f)
{
        fputs("usage: dogeboxd sandbox [OPTIONS] -- COMMAND [ARGS...]\n"
              "\n"
              "Run COMMAND in the sandbox a pup gets (user, pid, mount, network, uts, ipc and\n"
              "cgroup namespaces; uid 420 with no capabilities; seccomp; a read-only root) and\n"
              "exit with its status.\n"
              "\n"
              "  --pup DIR            bind DIR read-only at /pup\n"
              "  --storage DIR        bind DIR read-write at /storage (created if missing and\n"
              "                       handed to the sandbox user); default: a tmpfs\n"
              "  --memory BYTES       memory limit (suffix K, M or G)\n"
              "  --pids N             limit on processes and threads\n"
              "  --cpu-weight N       CPU weight, 1-10000 (default 100)\n"
              "  --env KEY=VALUE      set a variable (repeatable)\n"
              "  --cwd DIR            working directory inside (default /)\n"
              "  --hostname NAME      host name inside (default pup)\n"
              "  --cgroup-parent P    cgroup for the sandbox (default $" CLI_CGROUP_PARENT_ENV
              " or " CLI_CGROUP_PARENT_DEFAULT ")\n"
              "  -h, --help           this text\n",
              f);
}

static int parse_size(const char *s, uint64_t *ret)
{
        char *end;
        unsigned long long v;
        int shift = 0;

        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || end == s || *s == '-')
                return -EINVAL;
        if (*end) {
                switch (*end) {
                case 'k':
                case 'K':
                        shift = 10;
                        break;
                case 'm':
                case 'M':
                        shift = 20;
                        break;
                case 'g':
                case 'G':
                        shift = 30;
                        break;
                default:
                        return -EINVAL;
                }
                if (end[1] && !((end[1] == 'i' || end[1] == 'B') && (!end[2] || end[2] == 'B')))
                        return -EINVAL;
        }
        if (v > (UINT64_MAX >> shift))
                return -ERANGE;
        *ret = (uint64_t)v << shift;
        return 0;
}

static int parse_u32(const char *s, uint32_t *ret)
{
        uint64_t v;
        char *end;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || end == s || *end || *s == '-' || v > UINT32_MAX)
                return -EINVAL;
        *ret = (uint32_t)v;
        return 0;
}

static void on_event(struct sandbox *sb, const struct sandbox_event *ev, void *userdata)
{
        struct cli *c = userdata;

        switch (ev->type) {
        case SANDBOX_EVENT_SERVICE_EXITED:
                if (c->exec_failed)
                        break; /* keep 126/127 */
                c->have_status = true;
                c->status = ev->signal ? 128 + ev->signal : ev->exit_code;
                c->oom = ev->oom;
                break;
        case SANDBOX_EVENT_SERVICE_EXEC_FAILED:
                c->exec_failed = true;
                c->have_status = true;
                c->status = ev->error == -ENOENT ? CLI_EXIT_NOTFOUND : CLI_EXIT_NOEXEC;
                fprintf(stderr, "dogeboxd sandbox: cannot run %s: %s\n", c->command,
                        strerror(-ev->error));
                break;
        case SANDBOX_EVENT_STOPPED:
                if (ev->reason == SANDBOX_STOPPED_SETUP_FAILED) {
                        fprintf(stderr, "dogeboxd sandbox: %s\n", ev->message);
                        c->status = CLI_EXIT_SETUP;
                } else if (!c->have_status) {
                        if (ev->message)
                                fprintf(stderr, "dogeboxd sandbox: %s\n", ev->message);
                        c->status =
                            ev->reason == SANDBOX_STOPPED_KILLED ? 128 + SIGKILL : CLI_EXIT_SETUP;
                }
                if (c->oom)
                        fprintf(stderr,
                                "dogeboxd sandbox: %s was killed: out of memory (limit %llu "
                                "bytes)\n",
                                c->command, (unsigned long long)c->memory);
                c->sb = NULL;
                sandbox_free(sb);
                sd_event_exit(c->event, 0);
                break;
        default:
                break;
        }
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        struct cli *c = userdata;
        /* Ctrl-C/Ctrl-\ on a terminal already reached the command itself */
        if ((si->ssi_signo == SIGINT || si->ssi_signo == SIGQUIT) && isatty(STDIN_FILENO))
                return 0;
        if (c->sb)
                sandbox_stop(c->sb);
        return 0;
}

static char *absolute(const char *path)
{
        char buf[PATH_MAX];
        return realpath(path, buf) ? xstrdup(buf) : NULL;
}

int sandbox_cli_main(int argc, char **argv)
{
        static const struct option opts[] = {
            {"pup", required_argument, NULL, 'p'},
            {"storage", required_argument, NULL, 's'},
            {"memory", required_argument, NULL, 'm'},
            {"pids", required_argument, NULL, 'n'},
            {"cpu-weight", required_argument, NULL, 'w'},
            {"env", required_argument, NULL, 'e'},
            {"cwd", required_argument, NULL, 'c'},
            {"hostname", required_argument, NULL, 'H'},
            {"cgroup-parent", required_argument, NULL, 'g'},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        struct sandbox_spec spec;
        struct cli c = {.status = CLI_EXIT_SETUP};
        struct sandbox_supervisor *sup = NULL;
        struct dbx_error err = {0};
        const char *pup = NULL, *storage = NULL, *cwd = NULL;
        const char *parent = getenv(CLI_CGROUP_PARENT_ENV);
        char *env[CLI_ENV_MAX + 1] = {0};
        size_t n_env = 0;
        char id[32];
        sigset_t mask;
        int opt, r;

        sandbox_spec_init(&spec);
        optind = 1;
        opterr = 0;
        while ((opt = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
                switch (opt) {
                case 'p':
                        pup = optarg;
                        break;
                case 's':
                        storage = optarg;
                        break;
                case 'm':
                        if (parse_size(optarg, &spec.memory_max) < 0) {
                                fprintf(stderr,
                                        "dogeboxd sandbox: --memory '%s' is not a size "
                                        "(bytes, or with K/M/G)\n",
                                        optarg);
                                goto usage;
                        }
                        break;
                case 'n':
                        if (parse_u32(optarg, &spec.pids_max) < 0) {
                                fprintf(stderr, "dogeboxd sandbox: --pids '%s' is not a number\n",
                                        optarg);
                                goto usage;
                        }
                        break;
                case 'w':
                        if (parse_u32(optarg, &spec.cpu_weight) < 0) {
                                fprintf(stderr,
                                        "dogeboxd sandbox: --cpu-weight '%s' is not a "
                                        "number\n",
                                        optarg);
                                goto usage;
                        }
                        break;
                case 'e':
                        if (n_env == CLI_ENV_MAX) {
                                fprintf(stderr, "dogeboxd sandbox: at most %d --env\n",
                                        CLI_ENV_MAX);
                                goto usage;
                        }
                        env[n_env++] = optarg;
                        break;
                case 'c':
                        cwd = optarg;
                        break;
                case 'H':
                        free(spec.hostname);
                        spec.hostname = xstrdup(optarg);
                        break;
                case 'g':
                        parent = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        sandbox_spec_done(&spec);
                        return 0;
                default:
                        fprintf(stderr, "dogeboxd sandbox: unknown or incomplete option '%s'\n",
                                argv[optind - 1]);
                        goto usage;
                }
        }
        if (optind >= argc) {
                fprintf(stderr, "dogeboxd sandbox: no command given\n");
                goto usage;
        }
        c.command = argv[optind];
        c.memory = spec.memory_max;

        snprintf(id, sizeof(id), "dev-%d", (int)getpid());
        spec.pup_id = xstrdup(id);
        spec.uid_base = SANDBOX_UIDRANGE_BASE + SANDBOX_UIDRANGE_DEV_SLOT * SANDBOX_UIDRANGE_SIZE;
        spec.stdio = SANDBOX_STDIO_INHERIT;
        if (pup && !(spec.pup_dir = absolute(pup))) {
                fprintf(stderr, "dogeboxd sandbox: --pup %s: %s\n", pup, strerror(errno));
                goto out;
        }
        if (storage) {
                if (mkdir(storage, 0750) < 0 && errno != EEXIST) {
                        fprintf(stderr, "dogeboxd sandbox: --storage %s: %s\n", storage,
                                strerror(errno));
                        goto out;
                }
                spec.storage_dir = absolute(storage);
                r = spec.storage_dir ? sandbox_storage_prepare(spec.storage_dir, spec.uid_base)
                                     : -errno;
                if (r < 0) {
                        fprintf(stderr, "dogeboxd sandbox: --storage %s: %s\n", storage,
                                strerror(-r));
                        goto out;
                }
        }
        r = sandbox_spec_add_service(&spec, "main", argv[optind], argv + optind + 1, cwd,
                                     n_env ? env : NULL, SANDBOX_RESTART_NEVER);
        if (r < 0)
                goto out;

        /* a relative command is looked up the way a shell would, inside */
        if (!strchr(c.command, '/')) {
                static const char *const dirs[] = {"/usr/local/bin",  "/usr/bin",  "/bin",
                                                   "/usr/local/sbin", "/usr/sbin", "/sbin"};
                char p[PATH_MAX];
                for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
                        snprintf(p, sizeof(p), "%s/%s", dirs[i], c.command);
                        if (access(p, X_OK) == 0) {
                                free(spec.services[0].exec);
                                spec.services[0].exec = xstrdup(p);
                                break;
                        }
                }
        }
        r = sandbox_spec_validate(&spec, &err);
        if (r < 0) {
                char buf[DBX_ERROR_PATH_MAX + DBX_ERROR_MSG_MAX + 4];
                fprintf(stderr, "dogeboxd sandbox: %s\n", dbx_error_text(&err, buf, sizeof(buf)));
                goto out;
        }

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGQUIT);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        r = sd_event_new(&c.event);
        if (r < 0)
                goto out;
        sd_event_add_signal(c.event, NULL, SIGTERM, on_signal, &c);
        sd_event_add_signal(c.event, NULL, SIGHUP, on_signal, &c);
        sd_event_add_signal(c.event, NULL, SIGINT, on_signal, &c);
        sd_event_add_signal(c.event, NULL, SIGQUIT, on_signal, &c);

        r = sandbox_supervisor_new(
            c.event,
            &(struct sandbox_supervisor_config){.cgroup_parent =
                                                    parent ? parent : CLI_CGROUP_PARENT_DEFAULT},
            &err, &sup);
        if (r == 0)
                r = sandbox_spawn(sup, &spec, NULL, on_event, &c, &err, &c.sb);
        if (r < 0) {
                char buf[DBX_ERROR_PATH_MAX + DBX_ERROR_MSG_MAX + 4];
                fprintf(stderr, "dogeboxd sandbox: %s\n", dbx_error_text(&err, buf, sizeof(buf)));
                goto out;
        }
        r = sd_event_loop(c.event);
        if (r < 0)
                fprintf(stderr, "dogeboxd sandbox: event loop: %s\n", strerror(-r));
out:
        sandbox_supervisor_free(sup);
        sd_event_unref(c.event);
        sandbox_spec_done(&spec);
        return c.status;
usage:
        usage(stderr);
        sandbox_spec_done(&spec);
        return 2;
}
