/* Entry points of dbx's command groups (cli/cmd_*.c). */
#pragma once

#include "cli/client.h"

int cmd_manifest(int argc, char **argv);
