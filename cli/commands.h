/* Entry points of dbx's command groups (cli/cmd_*.c). */
#pragma once

#include "cli/client.h"

int cmd_manifest(int argc, char **argv);

/* install, ls, show, start, stop, restart, enable, disable, uninstall,
 * purge, retry, config, logs. -ENOENT when cmd is none of them. */
int cmd_pups(struct dbx_client *c, const char *cmd, int argc, char **argv);

/* setup, login, logout, passwd (cmd_auth.c). */
int cmd_setup(struct dbx_client *c, int argc, char **argv);
int cmd_login(struct dbx_client *c, int argc, char **argv);
int cmd_logout(struct dbx_client *c, int argc, char **argv);
int cmd_passwd(struct dbx_client *c, int argc, char **argv);
/* The token `dbx login` stored for url (caller frees), or NULL. */
char *cmd_auth_stored_token(const char *url);
