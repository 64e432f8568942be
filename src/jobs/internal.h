/* Pure parts of the jobs module, separate so unit tests can drive them
 * without a loop or a database. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

/* One live job as the scheduler sees it, in submission order. */
struct sched_item {
        const char *key;
        bool running;
};

/* Index of the next queued item to start, or -1. An item may start when no
 * earlier live item has the same key (same-key jobs run in submission
 * order) and fewer than running_max items are running. Earlier items win
 * (FIFO across keys). */
ssize_t sched_next(const struct sched_item *items, size_t n, size_t running_max);

/* Copy src (len bytes) into dst (size > 4) as one safe log line: invalid
 * UTF-8 and control characters other than TAB become '?', '\r' and '\n'
 * are dropped, and text longer than max bytes (and dst) is cut at a
 * character boundary with "...". Returns the length written. */
size_t text_sanitize_line(char *dst, size_t size, const char *src, size_t len, size_t max);

/* Replace every byte that is not part of valid UTF-8 with '?', in place
 * (the length never changes). */
void utf8_fix(char *buf, size_t len);

/* "[YYYY-MM-DD HH:MM:SS] msg\n" in local time, like upstream's job logs.
 * Returns the length (the line is cut to size-1 like snprintf). */
size_t log_line_format(char *buf, size_t size, time_t t, const char *msg);

/* Validate a job_desc string field: NULL allowed if optional. */
bool desc_field_ok(const char *s, bool required, size_t max);
/* JobRecord.action: 1..max bytes of [a-z0-9-]. */
bool desc_action_ok(const char *s, size_t max);
