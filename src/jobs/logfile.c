/* Reading line-oriented log files for the API: a page of the newest (or
 * older) lines with byte-offset cursors, and the bytes after a resume
 * offset. Shared by job logs and pup logs. */
#include <fcntl.h>
#include <sys/stat.h>
#include "core/macro.h"
#include "jobs/internal.h"
#include "jobs/jobs.h"

#define LOG_TAIL_WINDOW_MIN (64 * 1024) /* first backwards read; grows 4x up to the scan max */

/* A JSON string of the line, made valid UTF-8 (bad bytes become '?'). */
static json_t *line_json(const char *s, size_t len, bool keep_newline)
{
        char *buf = xmalloc(len + 2);
        memcpy(buf, s, len);
        utf8_fix(buf, len);
        if (keep_newline)
                buf[len++] = '\n';
        buf[len] = 0;
        json_t *j = json_stringn(buf, len);
        free(buf);
        return j ? j : json_string("");
}

static int read_range(int fd, int64_t from, size_t len, char **ret)
{
        char *buf = xmalloc(len + 1);
        size_t got = 0;
        while (got < len) {
                ssize_t n = pread(fd, buf + got, len - got, from + (off_t)got);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        int r = -errno;
                        free(buf);
                        return r;
                }
                if (n == 0)
                        break; /* truncated under us: use what we have */
                got += (size_t)n;
        }
        buf[got] = 0;
        *ret = buf;
        return (int)MIN(got, (size_t)INT32_MAX);
}

static int open_log(const char *path, int *ret_fd, int64_t *ret_size)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return -errno;
        struct stat st;
        if (fstat(fd, &st) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        if (!S_ISREG(st.st_mode)) {
                close(fd);
                return -EINVAL;
        }
        *ret_fd = fd;
        *ret_size = st.st_size;
        return 0;
}

int logfile_tail_json(const char *path, long limit, int64_t before, json_t **ret)
{
        _cleanup_close_ int fd = -1;
        int64_t size;
        if (limit < 1 || limit > LOG_TAIL_LIMIT_MAX)
                return -EINVAL;
        int r = open_log(path, &fd, &size);
        if (r == -ENOENT) {
                *ret = json_pack("{s:[],s:b}", "lines", "hasMoreOlder", 0);
                return 0;
        }
        if (r < 0)
                return r;
        int64_t end = before < 0 ? size : MIN(before, size);
        size_t window = LOG_TAIL_WINDOW_MIN;
        _cleanup_free_ char *buf = NULL;
        int64_t start;
        size_t skip, got;
        for (;;) {
                start = end > (int64_t)window ? end - (int64_t)window : 0;
                free(buf);
                buf = NULL;
                r = read_range(fd, start, (size_t)(end - start), &buf);
                if (r < 0)
                        return r;
                got = (size_t)r;
                /* Unless at the file start, the first line may be partial. */
                skip = 0;
                if (start > 0) {
                        char *nl = memchr(buf, '\n', got);
                        skip = nl ? (size_t)(nl - buf) + 1 : got;
                }
                size_t lines = 0;
                for (size_t i = skip; i < got; i++)
                        lines += buf[i] == '\n';
                if (got > skip && buf[got - 1] != '\n')
                        lines++;
                if ((long)lines >= limit || start == 0 || window >= LOG_TAIL_SCAN_MAX)
                        break;
                window *= 4;
                if (window > LOG_TAIL_SCAN_MAX)
                        window = LOG_TAIL_SCAN_MAX;
        }
        /* Split [skip, got) into lines, keep the last `limit`. */
        size_t nlines = 0, cap = 0;
        size_t(*idx)[2] = NULL; /* start, length */
        for (size_t i = skip; i < got;) {
                char *nl = memchr(buf + i, '\n', got - i);
                size_t e = nl ? (size_t)(nl - buf) : got;
                if (nlines == cap) {
                        cap = cap ? cap * 2 : 256;
                        idx = xrealloc(idx, cap * sizeof(*idx));
                }
                idx[nlines][0] = i;
                idx[nlines][1] = e - i;
                nlines++;
                i = e + 1;
        }
        size_t first = nlines > (size_t)limit ? nlines - (size_t)limit : 0;
        json_t *arr = json_array();
        for (size_t i = first; i < nlines; i++)
                json_array_append_new(arr, line_json(buf + idx[i][0], idx[i][1], false));
        int64_t oldest = nlines ? start + (int64_t)idx[first][0] : start + (int64_t)skip;
        free(idx);
        json_t *o = json_object();
        json_object_set_new(o, "lines", arr);
        if (before < 0) {
                char tok[32];
                snprintf(tok, sizeof(tok), "%lld", (long long)size);
                json_object_set_new(o, "resumeToken", json_string(tok));
        }
        if (oldest > 0) {
                char cur[32];
                snprintf(cur, sizeof(cur), "%lld", (long long)oldest);
                json_object_set_new(o, "olderCursor", json_string(cur));
        }
        json_object_set_new(o, "hasMoreOlder", json_boolean(oldest > 0));
        *ret = o;
        return 0;
}

int logfile_lines_from(const char *path, int64_t from, size_t max_bytes, json_t **ret)
{
        _cleanup_close_ int fd = -1;
        int64_t size;
        int r = open_log(path, &fd, &size);
        json_t *arr = json_array();
        if (r == -ENOENT) {
                *ret = arr;
                return 0;
        }
        if (r < 0) {
                json_decref(arr);
                return r;
        }
        if (from < 0 || from > size)
                from = size;
        bool cut = false;
        if (size - from > (int64_t)max_bytes) {
                from = size - (int64_t)max_bytes;
                cut = true;
        }
        _cleanup_free_ char *buf = NULL;
        r = read_range(fd, from, (size_t)(size - from), &buf);
        if (r < 0) {
                json_decref(arr);
                return r;
        }
        size_t got = (size_t)r, i = 0;
        if (cut) {
                char *nl = memchr(buf, '\n', got);
                i = nl ? (size_t)(nl - buf) + 1 : got;
        }
        while (i < got) {
                char *nl = memchr(buf + i, '\n', got - i);
                size_t e = nl ? (size_t)(nl - buf) : got;
                json_array_append_new(arr, line_json(buf + i, e - i, nl != NULL));
                i = e + 1;
        }
        *ret = arr;
        return 0;
}
