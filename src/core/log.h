/* Logging to stderr with levels. Under systemd (JOURNAL_STREAM set) each
 * line carries a "<N>" priority prefix that journald understands. Only the
 * code that handles an error logs it; library-like modules do not log. */
#pragma once

#include <stdbool.h>
#include <syslog.h>
#include "core/macro.h"

void log_setup(bool verbose);
bool log_is_verbose(void);
void log_msg(int prio, const char *fmt, ...) _printf_(2, 3);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERR, __VA_ARGS__)

/* log_error() and return r (a negative errno). */
#define log_error_errno(r, ...) (log_error(__VA_ARGS__), (r))
