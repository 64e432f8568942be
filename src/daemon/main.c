/* dogeboxd: flags, data directory, wiring of the modules, signals and
 * sd_notify. Everything else lives in the modules. */
#include <getopt.h>
#include <signal.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include "api/api.h"
#include "api/http.h"
#include "core/fsutil.h"
#include "core/log.h"
#include "core/macro.h"
#include "core/workpool.h"
#include "sources/fetcher.h"
#include "dbx-config.h"
#include "runtime/sandbox.h"
#include "store/store.h"

#define EXIT_USAGE       2 /* bad flag, unusable data dir, port in use */
#define LISTEN_MAX       HTTP_LISTENERS_MAX
#define DATA_DIR_DEFAULT "/var/lib/dogebox"
#define LISTEN_DEFAULT   "127.0.0.1:3000"
#define WORKERS          4 /* blocking jobs in parallel: downloads, git, extraction */

struct options {
        const char *data_dir;
        const char *listen[LISTEN_MAX];
        size_t nlisten;
        const char *admin_socket;
        const char *cgroup_parent;
        bool verbose;
        const char *demo_dir;
        const char *bridge, *bridge_cidr; /* DRE: pup network */
        bool no_network;
};

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: dogeboxd [OPTIONS]\n"
                "       dogeboxd sandbox [--pup DIR] [--storage DIR] [--memory BYTES] [--pids N]"
                " -- COMMAND [ARGS...]\n"
                "\n"
                "The Dogebox system manager: runs pups in sandboxes and serves the owner's "
                "API.\n"
                "\n"
                "  --data-dir DIR       state directory (default " DATA_DIR_DEFAULT ")\n"
                "  --listen ADDR:PORT   HTTP API address, repeatable (default " LISTEN_DEFAULT ")\n"
                "  --admin-socket PATH  root-only admin socket (default DATA/run/dogeboxd.sock)\n"
                "  --cgroup-parent P    cgroup holding the pups' sandboxes "
                "(default " SANDBOX_CGROUP_PARENT_DEFAULT ")\n"
                "  --demo DIR           serve the example pups in DIR as source 'demo'\n"
                "  --bridge NAME        the pups' bridge (default dbx0; its nftables table is\n"
                "                       dogeboxd for dbx0, else dogeboxd_NAME)\n"
                "  --bridge-cidr CIDR   gateway address and subnet of the pups (default\n"
                "                       10.69.0.1/16; /16-/28 in a private range)\n"
                "  --no-network         pups get loopback only: no bridge, firewall, proxy\n"
                "                       or web UIs (development and tests)\n"
                "  --verbose            debug logging\n"
                "  --version            print the version and exit\n"
                "  --help               this text\n");
}

static int parse_args(int argc, char **argv, struct options *o)
{
        enum {
                OPT_DATA = 256,
                OPT_LISTEN,
                OPT_ADMIN,
                OPT_VERSION,
                OPT_CGROUP,
                OPT_DEMO,
                OPT_BRIDGE,
                OPT_BRIDGE_CIDR,
                OPT_NO_NETWORK,
        };
        static const struct option opts[] = {
            {"data-dir", required_argument, NULL, OPT_DATA},
            {"listen", required_argument, NULL, OPT_LISTEN},
            {"admin-socket", required_argument, NULL, OPT_ADMIN},
            {"cgroup-parent", required_argument, NULL, OPT_CGROUP},
            {"demo", required_argument, NULL, OPT_DEMO},
            {"bridge", required_argument, NULL, OPT_BRIDGE},
            {"bridge-cidr", required_argument, NULL, OPT_BRIDGE_CIDR},
            {"no-network", no_argument, NULL, OPT_NO_NETWORK},
            {"verbose", no_argument, NULL, 'v'},
            {"version", no_argument, NULL, OPT_VERSION},
            {"help", no_argument, NULL, 'h'},
            {0},
        };
        int c;
        opterr = 0;
        while ((c = getopt_long(argc, argv, ":vh", opts, NULL)) >= 0) {
                switch (c) {
                case OPT_DATA:
                        o->data_dir = optarg;
                        break;
                case OPT_LISTEN:
                        if (o->nlisten == LISTEN_MAX) {
                                fprintf(stderr, "dogeboxd: at most %d --listen addresses\n",
                                        LISTEN_MAX);
                                return -EINVAL;
                        }
                        o->listen[o->nlisten++] = optarg;
                        break;
                case OPT_ADMIN:
                        o->admin_socket = optarg;
                        break;
                case OPT_CGROUP:
                        o->cgroup_parent = optarg;
                        break;
                case OPT_DEMO:
                        o->demo_dir = optarg;
                        break;
                case OPT_BRIDGE:
                        o->bridge = optarg;
                        break;
                case OPT_BRIDGE_CIDR:
                        o->bridge_cidr = optarg;
                        break;
                case OPT_NO_NETWORK:
                        o->no_network = true;
                        break;
                case 'v':
                        o->verbose = true;
                        break;
                case OPT_VERSION:
                        printf("dogeboxd %s (%s)\n", DBX_VERSION, DBX_GIT_COMMIT);
                        return 1;
                case 'h':
                        usage(stdout);
                        return 1;
                case ':':
                        fprintf(stderr, "dogeboxd: option %s needs a value (see --help)\n",
                                argv[optind - 1]);
                        return -EINVAL;
                default:
                        fprintf(stderr, "dogeboxd: unknown option %s (see --help)\n",
                                argv[optind - 1]);
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "dogeboxd: unexpected argument '%s' (see --help)\n", argv[optind]);
                return -EINVAL;
        }
        if (!o->data_dir)
                o->data_dir = DATA_DIR_DEFAULT;
        if (o->nlisten == 0)
                o->listen[o->nlisten++] = LISTEN_DEFAULT;
        return 0;
}

/* Create DATA and its layout (DESIGN.md §3); refuse a dir we cannot use. */
static int prepare_data_dir(const char *dir)
{
        static const char *const subdirs[] = {"pups", "storage", "logs", "cache", "run"};
        struct stat st;
        int r = fs_mkdir_p(dir, 0755);
        if (r < 0) {
                fprintf(stderr, "dogeboxd: data directory %s cannot be created: %s\n", dir,
                        strerror(-r));
                return r;
        }
        if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
                fprintf(stderr, "dogeboxd: data directory %s is not a directory\n", dir);
                return -ENOTDIR;
        }
        if (access(dir, R_OK | W_OK | X_OK) < 0) {
                fprintf(stderr, "dogeboxd: data directory %s is not writable: %s\n", dir,
                        strerror(errno));
                return -errno;
        }
        for (size_t i = 0; i < ARRAY_SIZE(subdirs); i++) {
                _cleanup_free_ char *p = xasprintf("%s/%s", dir, subdirs[i]);
                r = fs_mkdir_p(p, 0755);
                if (r < 0) {
                        fprintf(stderr, "dogeboxd: cannot create %s: %s\n", p, strerror(-r));
                        return r;
                }
        }
        return 0;
}

static void on_pups_stopped(void *userdata)
{
        sd_event_exit(userdata, 0);
}

/* Stop: pups get SIGTERM and a short grace (they are killed after it, so
 * the daemon exits within its 5 s promise), then the loop ends. A second
 * signal ends it at once. */
static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        struct api_ctx **api = userdata;
        static bool stopping;
        sd_event *e = sd_event_source_get_event(s);
        log_info("received %s, stopping", strsignal((int)si->ssi_signo));
        if (stopping || !*api)
                return sd_event_exit(e, 0);
        stopping = true;
        sd_notify(0, "STOPPING=1");
        api_shutdown(*api, on_pups_stopped, e);
        return 0;
}

int main(int argc, char **argv)
{
        struct options o = {0};
        struct dbx_error err = {0};
        _cleanup_free_ char *abs_data = NULL, *db_path = NULL, *admin = NULL;
        sd_event *event = NULL;
        struct store *store = NULL;
        struct api_ctx *api = NULL;
        struct http_server *http = NULL;
        struct workpool *pool = NULL;
        int r, ret = EXIT_FAILURE;

        if (argc > 1 && streq(argv[1], "sandbox"))
                return sandbox_cli_main(argc - 1, argv + 1);
        int p = parse_args(argc, argv, &o);
        if (p != 0)
                return p > 0 ? EXIT_SUCCESS : EXIT_USAGE;
        log_setup(o.verbose);

        if (prepare_data_dir(o.data_dir) < 0)
                return EXIT_USAGE;
        abs_data = realpath(o.data_dir, NULL);
        if (!abs_data)
                return EXIT_USAGE;
        db_path = xasprintf("%s/dogebox.db", abs_data);
        admin =
            o.admin_socket ? xstrdup(o.admin_socket) : xasprintf("%s/run/dogeboxd.sock", abs_data);

        /* Sources are fetched by a helper process (src/sources/fetcher.h):
         * without it no git or http source could load. */
        r = fetcher_init(DBX_FETCH_INSTALLED, &err);
        if (r < 0) {
                fprintf(stderr, "dogeboxd: %s\n", err.message);
                return EXIT_USAGE;
        }

        r = store_open(db_path, &store, &err);
        if (r < 0) {
                fprintf(stderr, "dogeboxd: %s\n", err.message);
                return EXIT_USAGE;
        }

        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        signal(SIGPIPE, SIG_IGN);

        r = sd_event_default(&event);
        if (r < 0)
                goto out;
        sd_event_add_signal(event, NULL, SIGTERM, on_signal, &api);
        sd_event_add_signal(event, NULL, SIGINT, on_signal, &api);
        sd_event_set_watchdog(event, true); /* WATCHDOG=1 pings when WATCHDOG_USEC is set */

        r = workpool_new(event, WORKERS, &pool);
        if (r < 0) {
                log_error("cannot start worker threads: %s", strerror(-r));
                goto out;
        }
        struct api_options aopts = {
            .pool = pool,
            .data_dir = abs_data,
            .cgroup_parent = o.cgroup_parent,
            .demo_dir = o.demo_dir,
            .bridge = o.bridge,
            .bridge_cidr = o.bridge_cidr,
            .no_network = o.no_network,
            .listen = o.listen,
            .n_listen = o.nlisten,
        };
        /* Listen first: a port in use or a second daemon is refused before
         * anything else starts (pups, nginx). No request is served before
         * the loop runs, by which time the API exists. */
        http_server_new(event, api_dispatch, NULL, HTTP_BODY_MAX_DEFAULT, &http);
        for (size_t i = 0; i < o.nlisten; i++) {
                r = http_server_listen_tcp(http, o.listen[i], &err);
                if (r < 0) {
                        fprintf(stderr, "dogeboxd: %s\n", err.message);
                        ret = EXIT_USAGE;
                        goto out;
                }
        }
        r = http_server_listen_unix(http, admin, &err);
        if (r < 0) {
                fprintf(stderr, "dogeboxd: %s\n", err.message);
                ret = EXIT_USAGE;
                goto out;
        }
        r = api_new(event, store, &aopts, &api);
        if (r < 0) {
                log_error("cannot set up the API: %s", strerror(-r));
                goto out;
        }
        http_server_set_userdata(http, api);

        for (size_t i = 0; i < o.nlisten; i++)
                log_info("listening on http://%s/ (port %d)", o.listen[i],
                         http_server_port(http, i));
        log_info("dogeboxd %s ready, data in %s, admin socket %s", DBX_VERSION, abs_data, admin);
        sd_notify(0, "READY=1\nSTATUS=serving");
        api_start(api);

        r = sd_event_loop(event);
        ret = r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
out:
        /* Finish blocking work first (its callbacks use the modules), then
         * the modules (WebSocket clients hold upgraded MHD sockets, so they
         * go before the HTTP server). */
        workpool_free(pool);
        api_free(api);
        http_server_free(http);
        store_close(store);
        sd_event_unref(event);
        return ret;
}
