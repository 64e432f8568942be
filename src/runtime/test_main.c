/* dbx-sandbox-test: `dogeboxd sandbox` without the daemon binary, for the
 * runtime's own tests and benchmarks (DBX_SANDBOX_CMD). */
#include "runtime/sandbox.h"

int main(int argc, char **argv)
{
        return sandbox_cli_main(argc, argv);
}
