/* Entry points of dbx's command groups (cli/cmd_*.c). */
#pragma once

#include "cli/client.h"

int cmd_manifest(int argc, char **argv);

/* dbx source add|ls|rm|refresh (cmd_source.c); dbx store (cmd_store.c). */
int cmd_source(struct dbx_client *c, int argc, char **argv);
int cmd_store(struct dbx_client *c, int argc, char **argv);

/* dbx jobs [list|show|log|wait|cancel|clear] (cmd_jobs.c). */
int cmd_jobs(struct dbx_client *c, int argc, char **argv);
/* Follow one job live (over /ws/jobs, or by polling) until it ends: a
 * progress bar on stderr when it is a terminal, plain lines otherwise, and
 * one final line on stdout ("Install hello: completed in 2.1s", or the
 * error and where its log is). quiet: draw and print nothing. Returns 0 if
 * the job completed, 1 if it failed, was cancelled or orphaned, 2 if it
 * could not be followed (message on stderr). ret_record (may be NULL)
 * gets the final JobRecord. */
int cmd_jobs_follow(struct dbx_client *c, const char *job_id, bool quiet, json_t **ret_record);

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
