/* `dogeboxd`: a small front binary. `dogeboxd sandbox ...` runs the
 * sandbox here, linked only against what a sandbox needs, so that it
 * starts as fast as bubblewrap (the full daemon links ~60 libraries whose
 * dynamic relocation alone costs ~10 ms). Anything else execs the daemon
 * proper (same pid, so systemd's Type=notify and signals are unaffected).
 *
 * The daemon is found at $DBX_DAEMON, else next to this binary
 * (build/dogeboxd-daemon), else at its installed path. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "runtime/sandbox.h"

#define DAEMON_NAME "dogeboxd-daemon"

int main(int argc, char **argv)
{
        if (argc > 1 && strcmp(argv[1], "sandbox") == 0)
                return sandbox_cli_main(argc - 1, argv + 1);

        char self[PATH_MAX], path[PATH_MAX + sizeof(DAEMON_NAME) + 1];
        const char *env = getenv("DBX_DAEMON");
        if (env && *env) {
                execv(env, argv);
                fprintf(stderr, "dogeboxd: cannot run $DBX_DAEMON %s: %s\n", env, strerror(errno));
                return 2;
        }
        ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n > 0) {
                self[n] = 0;
                snprintf(path, sizeof(path), "%s/%s", dirname(self), DAEMON_NAME);
                if (access(path, X_OK) == 0) {
                        execv(path, argv);
                        fprintf(stderr, "dogeboxd: cannot run %s: %s\n", path, strerror(errno));
                        return 2;
                }
        }
        execv(DBX_DAEMON_INSTALLED, argv);
        fprintf(stderr, "dogeboxd: cannot run %s: %s\n", DBX_DAEMON_INSTALLED, strerror(errno));
        return 2;
}
