/* A text progress display for long operations (dbx install, dbx jobs
 * wait). On a terminal it is one bar redrawn in place; otherwise (a pipe,
 * a log file, CI) it prints a plain line whenever the step or message
 * changes, so logs stay readable. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define PROGRESS_BAR_WIDTH_MAX 30 /* cells of the bar itself */
#define PROGRESS_WIDTH_DEFAULT 80 /* terminal columns when unknown */
#define PROGRESS_TEXT_MAX      512

struct progress;

/* tty: 1 draw a bar, 0 plain lines, -1 decide by isatty(fileno(out)). */
struct progress *progress_new(FILE *out, int tty);
/* percent 0-100 (clamped; -1 keeps the last), step and msg may be NULL
 * (keep the last). */
void progress_update(struct progress *p, int percent, const char *step, const char *msg);
/* Print a whole line (e.g. a log line) above the bar. */
void progress_line(struct progress *p, const char *line);
/* Remove the bar and print the final line (with a newline). */
void progress_finish(struct progress *p, const char *final_line);
struct progress *progress_free(struct progress *p);

/* Pure: the bar text for a terminal of width columns, e.g.
 * "[###########-------------------]  37% download: fetching hello 1.0",
 * cut to width-1 columns (counting UTF-8 characters) with "...". */
size_t progress_render(char *buf, size_t size, int width, int percent, const char *step,
                       const char *msg);
/* Pure: the plain-line form, "[ 37%] download: fetching hello 1.0". */
size_t progress_render_plain(char *buf, size_t size, int percent, const char *step,
                             const char *msg);
