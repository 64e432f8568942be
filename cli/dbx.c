/* dbx: the command-line client of dogeboxd. Each command group lives in
 * its own cmd_*.c; this file parses the global options and dispatches. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/client.h"
#include "cli/commands.h"
#include "core/macro.h"
#include "dbx-config.h"

static void usage(FILE *f)
{
        fprintf(f, "Usage: dbx [--socket PATH | --url URL [--token TOKEN]] [--json] COMMAND "
                   "[ARGS...]\n"
                   "\n"
                   "Commands:\n"
                   "  status                 daemon version, uptime, data dir, pups\n"
                   "  version                dbx and daemon versions\n"
                   "  manifest check PATH    validate a pup manifest (no daemon needed)\n"
                   "  jobs [show|log|wait|cancel|clear] [ID]   jobs, their progress and logs\n"
                   "  source add|ls|rm|refresh   where pups come from (folders, git, http)\n"
                   "  store [SOURCE]         the pups that can be installed\n"
                   "  setup                  first-run setup: password, recovery phrase\n"
                   "  login | logout         keep a session token for --url (~/.config/dbx)\n"
                   "  passwd                 change the owner password\n"
                   "  install SOURCE/NAME[@VERSION]   install a pup, with live progress\n"
                   "  ls                     installed pups and their status\n"
                   "  show PUP               one pup: status, config, last exit\n"
                   "  start|stop|restart|enable|disable|uninstall|purge|retry PUP\n"
                   "  config PUP [KEY=VALUE...]       show or change a pup's configuration\n"
                   "  logs [-f] [-n N] PUP   a pup's log, optionally following it\n"
                   "PUP is a pup id, or its name when no other pup has it.\n"
                   "\n"
                   "By default dbx talks to the admin socket " DBX_DEFAULT_SOCKET " (root only;\n"
                   "$DBX_SOCKET overrides). With --url it talks HTTP and needs a session token\n"
                   "(--token or $DBX_TOKEN).\n");
}

static void fmt_duration(long long s, char *buf, size_t size)
{
        if (s >= 86400)
                snprintf(buf, size, "%lldd %lldh %lldm", s / 86400, s % 86400 / 3600,
                         s % 3600 / 60);
        else if (s >= 3600)
                snprintf(buf, size, "%lldh %lldm %llds", s / 3600, s % 3600 / 60, s % 60);
        else if (s >= 60)
                snprintf(buf, size, "%lldm %llds", s / 60, s % 60);
        else
                snprintf(buf, size, "%llds", s);
}

static int cmd_status(struct dbx_client *c, int argc, char **argv)
{
        json_t *j = NULL;
        if (argc > 1) {
                fprintf(stderr, "dbx status: no arguments expected\n");
                return 2;
        }
        if (client_call(c, "GET", "/system/status", NULL, &j) < 0)
                return 1;
        if (c->json) {
                client_print_json(j);
        } else {
                char up[64];
                fmt_duration(json_integer_value(json_object_get(j, "uptimeSeconds")), up,
                             sizeof(up));
                printf("dogeboxd  %s (%.12s)\n", json_string_value(json_object_get(j, "version")),
                       json_string_value(json_object_get(j, "commit")));
                printf("uptime    %s\n", up);
                printf("data dir  %s\n", json_string_value(json_object_get(j, "dataDir")));
                printf("pups      %lld\n", json_integer_value(json_object_get(j, "pups")));
                const char *problem = json_string_value(json_object_get(j, "networkProblem"));
                printf("network   %s\n", problem ? problem : "ok");
        }
        json_decref(j);
        return 0;
}

static int cmd_version(struct dbx_client *c, int argc, char **argv)
{
        json_t *j = NULL;
        long status = 0;
        const char *daemon = NULL;
        /* the daemon is optional here: dbx version works without it */
        if (client_request(c, "GET", "/system/status", NULL, &status, &j, NULL) == 0 &&
            status == 200)
                daemon = json_string_value(json_object_get(j, "version"));
        if (c->json) {
                json_t *o = json_pack("{s:s,s:s?}", "dbx", DBX_VERSION, "daemon", daemon);
                client_print_json(o);
                json_decref(o);
        } else {
                printf("dbx       %s\n", DBX_VERSION);
                printf("dogeboxd  %s\n", daemon ? daemon : "(not reachable)");
        }
        json_decref(j);
        return 0;
}

int main(int argc, char **argv)
{
        struct dbx_client c = {
            .socket = getenv("DBX_SOCKET") ? getenv("DBX_SOCKET") : DBX_DEFAULT_SOCKET,
            .token = getenv("DBX_TOKEN"),
            .url = getenv("DBX_URL"),
        };
        static const struct option opts[] = {
            {"socket", required_argument, NULL, 's'}, {"url", required_argument, NULL, 'u'},
            {"token", required_argument, NULL, 't'},  {"json", no_argument, NULL, 'j'},
            {"help", no_argument, NULL, 'h'},         {0},
        };
        int o;
        /* '+': stop at the first non-option, the command */
        while ((o = getopt_long(argc, argv, "+h", opts, NULL)) >= 0) {
                switch (o) {
                case 's':
                        c.socket = optarg;
                        c.url = NULL;
                        break;
                case 'u':
                        c.url = optarg;
                        break;
                case 't':
                        c.token = optarg;
                        break;
                case 'j':
                        c.json = true;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind >= argc) {
                usage(stderr);
                return 2;
        }
#ifdef HAVE_CMD_AUTH
        /* --url without --token: the token `dbx login` stored for it. */
        _cleanup_free_ char *stored = NULL;
        if (c.url && !c.token)
                c.token = stored = cmd_auth_stored_token(c.url);
#endif
        const char *cmd = argv[optind];
        int sub_argc = argc - optind;
        char **sub_argv = argv + optind;
        optind = 1; /* let commands use getopt again */
        if (streq(cmd, "status"))
                return cmd_status(&c, sub_argc, sub_argv);
        if (streq(cmd, "version"))
                return cmd_version(&c, sub_argc, sub_argv);
#ifdef HAVE_CMD_AUTH
        if (streq(cmd, "setup"))
                return cmd_setup(&c, sub_argc, sub_argv);
        if (streq(cmd, "login"))
                return cmd_login(&c, sub_argc, sub_argv);
        if (streq(cmd, "logout"))
                return cmd_logout(&c, sub_argc, sub_argv);
        if (streq(cmd, "passwd"))
                return cmd_passwd(&c, sub_argc, sub_argv);
#endif
#ifdef HAVE_CMD_MANIFEST
        if (streq(cmd, "manifest"))
                return cmd_manifest(sub_argc, sub_argv);
#endif
#ifdef HAVE_CMD_JOBS
        if (streq(cmd, "jobs"))
                return cmd_jobs(&c, sub_argc, sub_argv);
#endif
#ifdef HAVE_CMD_SOURCE
        if (streq(cmd, "source"))
                return cmd_source(&c, sub_argc, sub_argv);
#endif
#ifdef HAVE_CMD_STORE
        if (streq(cmd, "store"))
                return cmd_store(&c, sub_argc, sub_argv);
#endif
        int pr = cmd_pups(&c, cmd, sub_argc, sub_argv);
        if (pr != -ENOENT)
                return pr;
        if (streq(cmd, "help")) {
                usage(stdout);
                return 0;
        }
        fprintf(stderr, "dbx: unknown command '%s' (see dbx --help)\n", cmd);
        return 2;
}
