/* Per-pup log files with size-based rotation, plus an in-memory tail.
 * See log.h for the format and docs/sandbox.md for the limits. */
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "core/macro.h"
#include "core/util.h"
#include "runtime/log.h"

#define BATCH_MAX    (64u << 10)        /* formatted bytes written with one write() */
#define PREFIX_MAX   (40 + 64 + 16 + 8) /* timestamp, source, [stream], ": " */
#define NAME_MAX_LEN 64

struct tail_line {
        char *s;
        size_t len;
};

struct runtime_log {
        char *path; /* <dir>/<name>.log, NULL without a dir */
        int fd;
        uint64_t size;
        struct runtime_log_limits lim;
        struct tail_line *ring;
        size_t head, count, bytes; /* head: index of the oldest line */
        uint64_t dropped;
        runtime_log_listener_fn listener; /* live lines, e.g. /ws/log/pup/{id} */
        void *listener_ud;
};

void runtime_log_set_listener(struct runtime_log *l, runtime_log_listener_fn fn, void *ud)
{
        l->listener = fn;
        l->listener_ud = ud;
}

/* RFC 3339 UTC with milliseconds, like core's time_rfc3339() but without
 * gmtime_r()/strftime(), which load the local time zone on first use. The
 * civil date comes from Howard Hinnant's days-to-civil algorithm. */
static void stamp(uint64_t unix_ms, char out[48])
{
        uint64_t secs = unix_ms / 1000;
        int64_t z = (int64_t)(secs / 86400) + 719468;
        int64_t era = z / 146097;
        unsigned doe = (unsigned)(z - era * 146097);
        unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        unsigned mp = (5 * doy + 2) / 153;
        unsigned d = doy - (153 * mp + 2) / 5 + 1;
        unsigned m = mp < 10 ? mp + 3 : mp - 9;
        int64_t y = (int64_t)yoe + era * 400 + (m <= 2);
        unsigned sod = (unsigned)(secs % 86400);

        snprintf(out, 48, "%04lld-%02u-%02uT%02u:%02u:%02u.%03uZ", (long long)y, m, d, sod / 3600,
                 sod / 60 % 60, sod % 60, (unsigned)(unix_ms % 1000));
}

struct batch {
        char buf[BATCH_MAX];
        size_t len;
};

static bool file_name_ok(const char *s)
{
        size_t n = strlen(s);
        if (n == 0 || n > NAME_MAX_LEN || s[0] == '.')
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
                        return false;
        return true;
}

static int open_file(struct runtime_log *l)
{
        struct stat st;
        l->fd = open(l->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
        if (l->fd < 0)
                return -errno;
        if (fstat(l->fd, &st) < 0) {
                int r = -errno;
                close(l->fd);
                l->fd = -1;
                return r;
        }
        l->size = (uint64_t)st.st_size;
        return 0;
}

int runtime_log_open(const char *dir, const char *name, const struct runtime_log_limits *lim,
                     struct runtime_log **ret)
{
        struct runtime_log_limits L = lim ? *lim : (struct runtime_log_limits){0};
        struct runtime_log *l;
        int r;

        if (!name || !file_name_ok(name))
                return -EINVAL;
        L.file_max = L.file_max ? L.file_max : RUNTIME_LOG_FILE_MAX;
        L.files_keep = L.files_keep ? L.files_keep : RUNTIME_LOG_FILES_KEEP;
        L.tail_lines = L.tail_lines ? L.tail_lines : RUNTIME_LOG_TAIL_LINES;
        L.tail_bytes = L.tail_bytes ? L.tail_bytes : RUNTIME_LOG_TAIL_BYTES;
        if (L.file_max < RUNTIME_LOG_FILE_MIN || L.file_max > RUNTIME_LOG_FILE_LIMIT ||
            L.files_keep > RUNTIME_LOG_FILES_KEEP_MAX ||
            L.tail_lines > RUNTIME_LOG_TAIL_LINES_MAX || L.tail_bytes > RUNTIME_LOG_TAIL_BYTES_MAX)
                return -EINVAL;

        l = xcalloc(1, sizeof(*l));
        l->lim = L;
        l->fd = -1;
        l->ring = xcalloc(L.tail_lines, sizeof(*l->ring));
        if (dir) {
                l->path = xasprintf("%s/%s.log", dir, name);
                r = open_file(l);
                if (r < 0) {
                        runtime_log_free(l);
                        return r;
                }
        }
        *ret = l;
        return 0;
}

struct runtime_log *runtime_log_free(struct runtime_log *l)
{
        if (!l)
                return NULL;
        if (l->fd >= 0)
                close(l->fd);
        for (size_t i = 0; i < l->count; i++)
                free(l->ring[(l->head + i) % l->lim.tail_lines].s);
        free(l->ring);
        free(l->path);
        free(l);
        return NULL;
}

/* <name>.log -> .1 -> .2 ... -> .keep (the oldest is overwritten). */
static void rotate(struct runtime_log *l)
{
        size_t n = strlen(l->path) + 16;
        char from[n], to[n];

        if (l->fd >= 0)
                close(l->fd);
        l->fd = -1;
        for (uint32_t k = l->lim.files_keep; k > 1; k--) {
                snprintf(from, n, "%s.%u", l->path, k - 1);
                snprintf(to, n, "%s.%u", l->path, k);
                (void)rename(from, to);
        }
        snprintf(to, n, "%s.1", l->path);
        if (rename(l->path, to) < 0 && errno != ENOENT)
                (void)unlink(l->path); /* rename impossible: start over rather than grow */
        if (open_file(l) < 0)
                l->fd = -1;
}

static void flush(struct runtime_log *l, struct batch *b, size_t lines)
{
        if (b->len == 0)
                return;
        if (l->fd < 0 && l->path && open_file(l) < 0) {
                l->dropped += lines;
        } else if (l->fd >= 0) {
                ssize_t w = write(l->fd, b->buf, b->len);
                if (w != (ssize_t)b->len)
                        l->dropped += lines;
                if (w > 0)
                        l->size += (uint64_t)w;
        }
        b->len = 0;
}

static void tail_push(struct runtime_log *l, const char *s, size_t len)
{
        struct runtime_log_limits *L = &l->lim;
        while (l->count > 0 && (l->count >= L->tail_lines || l->bytes + len > L->tail_bytes)) {
                struct tail_line *t = &l->ring[l->head];
                l->bytes -= t->len;
                free(t->s);
                t->s = NULL;
                l->head = (l->head + 1) % L->tail_lines;
                l->count--;
        }
        if (len > L->tail_bytes)
                return;
        struct tail_line *t = &l->ring[(l->head + l->count) % L->tail_lines];
        t->s = xstrndup(s, len);
        t->len = len;
        l->bytes += len;
        l->count++;
}

/* Format one line (text at most RUNTIME_LOG_LINE_MAX bytes) into the batch
 * and the tail; rotate first when the file would pass its cap. */
static void one_line(struct runtime_log *l, struct batch *b, size_t *pending, uint64_t ts_ms,
                     const char *source, const char *stream, const char *text, size_t len)
{
        char ts[48];
        size_t start, n;

        stamp(ts_ms, ts);
        if (b->len + PREFIX_MAX + len + 2 > sizeof(b->buf)) {
                flush(l, b, *pending);
                *pending = 0;
        }
        start = b->len;
        n = (size_t)snprintf(b->buf + start, PREFIX_MAX, "%s %.64s%s%.16s%s: ", ts, source,
                             stream ? "[" : "", stream ? stream : "", stream ? "]" : "");
        if (n >= PREFIX_MAX)
                n = PREFIX_MAX - 1;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)text[i];
                b->buf[start + n++] = (c < 0x20 && c != '\t') || c == 0x7f ? '?' : (char)c;
        }
        tail_push(l, b->buf + start, n);
        b->buf[start + n++] = '\n';
        if (l->listener)
                l->listener(l->listener_ud, b->buf + start, n);

        if (l->path && l->size + start + n > l->lim.file_max && l->size + start > 0) {
                /* the lines before this one still go to the current file */
                b->len = start;
                flush(l, b, *pending);
                *pending = 0;
                rotate(l);
                memmove(b->buf, b->buf + start, n);
                start = 0;
        }
        b->len = start + n;
        (*pending)++;
}

static void add_text(struct runtime_log *l, struct batch *b, size_t *pending, uint64_t ts_ms,
                     const char *source, const char *stream, const char *text, size_t len)
{
        if (len > 0 && text[len - 1] == '\r')
                len--;
        do {
                size_t chunk = MIN(len, (size_t)RUNTIME_LOG_LINE_MAX);
                one_line(l, b, pending, ts_ms, source, stream, text, chunk);
                text += chunk;
                len -= chunk;
        } while (len > 0);
}

void runtime_log_append(struct runtime_log *l, uint64_t ts_ms, const char *source,
                        const char *stream, const char *text, size_t len)
{
        static struct batch b; /* event-loop thread only; too big for the stack */
        size_t pending = 0;

        add_text(l, &b, &pending, ts_ms, source, stream, text, len);
        flush(l, &b, pending);
}

void runtime_log_feed(struct runtime_log *l, struct runtime_log_stream *st, uint64_t ts_ms,
                      const char *source, const char *stream, const char *data, size_t len,
                      bool final)
{
        static struct batch b;
        size_t pending = 0;

        if (!st->buf)
                st->buf = xmalloc(RUNTIME_LOG_LINE_MAX);
        while (len > 0) {
                const char *nl = memchr(data, '\n', len);
                size_t n = nl ? (size_t)(nl - data) : len;

                if (st->len > 0 || !nl) {
                        /* continue a partial line; a full buffer is a line */
                        size_t take = MIN(n, (size_t)RUNTIME_LOG_LINE_MAX - st->len);
                        memcpy(st->buf + st->len, data, take);
                        st->len += take;
                        data += take;
                        len -= take;
                        if (st->len == RUNTIME_LOG_LINE_MAX || (nl && take == n)) {
                                add_text(l, &b, &pending, ts_ms, source, stream, st->buf, st->len);
                                st->len = 0;
                                if (nl && take == n) {
                                        data++;
                                        len--;
                                }
                        }
                        continue;
                }
                add_text(l, &b, &pending, ts_ms, source, stream, data, n);
                data += n + 1;
                len -= n + 1;
        }
        if (final && st->len > 0) {
                add_text(l, &b, &pending, ts_ms, source, stream, st->buf, st->len);
                st->len = 0;
        }
        flush(l, &b, pending);
}

void runtime_log_stream_done(struct runtime_log_stream *st)
{
        free(st->buf);
        st->buf = NULL;
        st->len = 0;
}

size_t runtime_log_tail(const struct runtime_log *l, size_t max,
                        void (*fn)(const char *line, size_t len, void *userdata), void *userdata)
{
        size_t n = MIN(max, l->count);
        for (size_t i = l->count - n; i < l->count; i++) {
                const struct tail_line *t = &l->ring[(l->head + i) % l->lim.tail_lines];
                fn(t->s, t->len, userdata);
        }
        return n;
}

uint64_t runtime_log_dropped(const struct runtime_log *l)
{
        return l->dropped;
}

const char *runtime_log_path(const struct runtime_log *l)
{
        return l->path;
}
