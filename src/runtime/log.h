/* Per-pup logs: every line a service writes to stdout or stderr, stamped
 * with the time it was read, appended to <dir>/<name>.log, rotated by size
 * and kept in a bounded in-memory tail for fast reads.
 *
 * Line format in the file and the tail:
 *   2026-06-15T10:03:37.123Z dogecoind[stdout]: Loading block index...
 * The source is a service name, or "pup-init" for supervision events.
 * Control characters other than tab become '?'; a line longer than
 * RUNTIME_LOG_LINE_MAX is split. Limits are documented in docs/sandbox.md. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RUNTIME_LOG_LINE_MAX       4096         /* bytes of text per line before splitting */
#define RUNTIME_LOG_FILE_MAX       (4u << 20)   /* rotate <name>.log past 4 MiB */
#define RUNTIME_LOG_FILES_KEEP     4            /* <name>.log.1 .. .4 are kept */
#define RUNTIME_LOG_TAIL_LINES     1000         /* in-memory tail, lines */
#define RUNTIME_LOG_TAIL_BYTES     (256u << 10) /* in-memory tail, bytes */
#define RUNTIME_LOG_FILE_MIN       4096         /* smaller files would rotate per line */
#define RUNTIME_LOG_FILE_LIMIT     (1u << 30)   /* 1 GiB: the most a config may ask for */
#define RUNTIME_LOG_FILES_KEEP_MAX 32
#define RUNTIME_LOG_TAIL_LINES_MAX 100000
#define RUNTIME_LOG_TAIL_BYTES_MAX (64u << 20)

struct runtime_log_limits {
        uint64_t file_max;   /* bytes of one file; 0 = RUNTIME_LOG_FILE_MAX */
        uint32_t files_keep; /* rotated files kept; 0 = RUNTIME_LOG_FILES_KEEP */
        uint32_t tail_lines; /* 0 = RUNTIME_LOG_TAIL_LINES */
        uint32_t tail_bytes; /* 0 = RUNTIME_LOG_TAIL_BYTES */
};

struct runtime_log;

/* Open (append) <dir>/<name>.log; dir NULL keeps only the tail. name must be
 * a safe file name. -EINVAL for limits out of range. */
int runtime_log_open(const char *dir, const char *name, const struct runtime_log_limits *lim,
                     struct runtime_log **ret);
struct runtime_log *runtime_log_free(struct runtime_log *l);

/* Append one line (text without its newline; len bytes, may contain NULs
 * which become '?'). ts_ms is the Unix time in ms. Disk errors are counted
 * (runtime_log_dropped) rather than returned: logging never stops a pup. */
void runtime_log_append(struct runtime_log *l, uint64_t ts_ms, const char *source,
                        const char *stream, const char *text, size_t len);

/* Feed raw bytes read from a service's pipe; complete lines are appended,
 * the rest is kept (at most RUNTIME_LOG_LINE_MAX) for the next call. One
 * runtime_log_stream per pipe. flush appends a trailing partial line. */
struct runtime_log_stream {
        char *buf; /* RUNTIME_LOG_LINE_MAX bytes, allocated on first use */
        size_t len;
};
void runtime_log_feed(struct runtime_log *l, struct runtime_log_stream *st, uint64_t ts_ms,
                      const char *source, const char *stream, const char *data, size_t len,
                      bool flush);
void runtime_log_stream_done(struct runtime_log_stream *st);

/* The last lines of the tail, oldest first: calls fn for at most max lines
 * (formatted as in the file, without newline). Returns the number passed. */
size_t runtime_log_tail(const struct runtime_log *l, size_t max,
                        void (*fn)(const char *line, size_t len, void *userdata), void *userdata);

uint64_t runtime_log_dropped(const struct runtime_log *l); /* lines not written to disk */
/* Called with every formatted line (with its '\n') as it is appended, on
 * the loop thread. NULL removes it. */
typedef void (*runtime_log_listener_fn)(void *ud, const char *line, size_t len);
void runtime_log_set_listener(struct runtime_log *l, runtime_log_listener_fn fn, void *ud);
const char *runtime_log_path(const struct runtime_log *l); /* NULL without a dir */
