#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sys/stat.h>

#include "core/fsutil.h"
#include "core/macro.h"
#include "runtime/log.h"

#define TS0 "1970-01-01T00:00:00.000Z"

struct lines {
        char *v[64];
        size_t n;
};

static void collect(const char *line, size_t len, void *userdata)
{
        struct lines *l = userdata;
        if (l->n < 64)
                l->v[l->n++] = xstrndup(line, len);
}

static void lines_free(struct lines *l)
{
        for (size_t i = 0; i < l->n; i++)
                free(l->v[i]);
        l->n = 0;
}

static char *tmpdir(void)
{
        char t[] = "/tmp/dbx-test-log-XXXXXX";
        assert_non_null(mkdtemp(t));
        return xstrdup(t);
}

static off_t file_size(const char *dir, const char *name)
{
        char p[512];
        struct stat st;
        snprintf(p, sizeof(p), "%s/%s", dir, name);
        return stat(p, &st) < 0 ? -1 : st.st_size;
}

static void test_format_and_tail(void **state)
{
        struct runtime_log *l;
        struct lines got = {0};

        assert_int_equal(runtime_log_open(NULL, "pup", NULL, &l), 0);
        runtime_log_append(l, 0, "dogecoind", "stdout", "hello", 5);
        runtime_log_append(l, 1500, "pup-init", NULL,
                           "a\x01"
                           "b\x7f\tc\r",
                           7);
        runtime_log_append(l, 0, "x", "stderr", "nul\0inside", 10);
        assert_int_equal(runtime_log_tail(l, 10, collect, &got), 3);
        assert_string_equal(got.v[0], TS0 " dogecoind[stdout]: hello");
        assert_string_equal(got.v[1], "1970-01-01T00:00:01.500Z pup-init: a?b?\tc");
        assert_string_equal(got.v[2], TS0 " x[stderr]: nul?inside");
        lines_free(&got);
        assert_int_equal(runtime_log_tail(l, 1, collect, &got), 1); /* the newest */
        assert_string_equal(got.v[0], TS0 " x[stderr]: nul?inside");
        lines_free(&got);
        assert_null(runtime_log_path(l));
        runtime_log_free(l);
}

static void test_timestamps(void **state)
{
        static const struct {
                uint64_t ms;
                const char *want;
        } cases[] = {
            {0, "1970-01-01T00:00:00.000Z"},
            {951782400999, "2000-02-29T00:00:00.999Z"}, /* leap day of a century year */
            {1709251199001, "2024-02-29T23:59:59.001Z"},
            {1781517817123, "2026-06-15T10:03:37.123Z"},
            {4102444800000, "2100-01-01T00:00:00.000Z"},
            {253402300799999, "9999-12-31T23:59:59.999Z"},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct runtime_log *l;
                struct lines got = {0};
                char want[64];
                assert_int_equal(runtime_log_open(NULL, "pup", NULL, &l), 0);
                runtime_log_append(l, cases[i].ms, "s", NULL, "x", 1);
                runtime_log_tail(l, 1, collect, &got);
                snprintf(want, sizeof(want), "%s s: x", cases[i].want);
                assert_string_equal(got.v[0], want);
                lines_free(&got);
                runtime_log_free(l);
        }
}

static void listen(void *userdata, const char *line, size_t len)
{
        collect(line, len, userdata);
}

static void test_listener(void **state)
{
        struct runtime_log *l;
        struct runtime_log_stream st = {0};
        struct lines got = {0};

        assert_int_equal(runtime_log_open(NULL, "pup", NULL, &l), 0);
        runtime_log_append(l, 0, "s", NULL, "before", 6);
        runtime_log_set_listener(l, listen, &got);
        runtime_log_append(l, 0, "s", NULL, "one", 3);
        runtime_log_feed(l, &st, 0, "svc", "stderr", "two\nthr", 8, false);
        assert_int_equal(got.n, 2);
        /* the listener gets each line as written to the file, newline included */
        assert_string_equal(got.v[0], TS0 " s: one\n");
        assert_string_equal(got.v[1], TS0 " svc[stderr]: two\n");
        runtime_log_set_listener(l, NULL, NULL);
        runtime_log_feed(l, &st, 0, "svc", "stderr", "ee\n", 3, false);
        assert_int_equal(got.n, 2);
        lines_free(&got);
        runtime_log_stream_done(&st);
        runtime_log_free(l);
}

static void test_tail_limits(void **state)
{
        struct runtime_log_limits lim = {.tail_lines = 3, .tail_bytes = 200};
        struct runtime_log *l;
        struct lines got = {0};
        char big[150];

        assert_int_equal(runtime_log_open(NULL, "pup", &lim, &l), 0);
        for (int i = 0; i < 10; i++) {
                char t[8];
                snprintf(t, sizeof(t), "%d", i);
                runtime_log_append(l, 0, "s", NULL, t, strlen(t));
        }
        assert_int_equal(runtime_log_tail(l, 100, collect, &got), 3);
        assert_string_equal(got.v[0], TS0 " s: 7");
        assert_string_equal(got.v[2], TS0 " s: 9");
        lines_free(&got);
        /* a big line evicts by bytes */
        memset(big, 'b', sizeof(big));
        runtime_log_append(l, 0, "s", NULL, big, sizeof(big));
        assert_int_equal(runtime_log_tail(l, 100, collect, &got), 1);
        lines_free(&got);
        runtime_log_free(l);
}

static void test_split_long_lines(void **state)
{
        struct runtime_log *l;
        struct lines got = {0};
        size_t n = RUNTIME_LOG_LINE_MAX * 2 + 10;
        char *text = xmalloc(n);

        memset(text, 'z', n);
        assert_int_equal(runtime_log_open(NULL, "pup", NULL, &l), 0);
        runtime_log_append(l, 0, "s", NULL, text, n);
        assert_int_equal(runtime_log_tail(l, 10, collect, &got), 3);
        assert_int_equal(strlen(got.v[0]), strlen(TS0 " s: ") + RUNTIME_LOG_LINE_MAX);
        assert_int_equal(strlen(got.v[2]), strlen(TS0 " s: ") + 10);
        lines_free(&got);
        runtime_log_free(l);
        free(text);
}

static void test_feed(void **state)
{
        struct runtime_log *l;
        struct runtime_log_stream st = {0};
        struct lines got = {0};

        assert_int_equal(runtime_log_open(NULL, "pup", NULL, &l), 0);
        runtime_log_feed(l, &st, 0, "svc", "stdout", "one\ntw", 6, false);
        runtime_log_feed(l, &st, 0, "svc", "stdout", "o\n\nthr", 6, false);
        runtime_log_feed(l, &st, 0, "svc", "stdout", "ee", 2, false);
        assert_int_equal(runtime_log_tail(l, 10, collect, &got), 3);
        assert_string_equal(got.v[0], TS0 " svc[stdout]: one");
        assert_string_equal(got.v[1], TS0 " svc[stdout]: two");
        assert_string_equal(got.v[2], TS0 " svc[stdout]: ");
        lines_free(&got);
        runtime_log_feed(l, &st, 0, "svc", "stdout", NULL, 0, true); /* EOF flushes */
        assert_int_equal(runtime_log_tail(l, 1, collect, &got), 1);
        assert_string_equal(got.v[0], TS0 " svc[stdout]: three");
        lines_free(&got);

        /* a partial line that fills the buffer becomes a line of its own */
        char *chunk = xmalloc(RUNTIME_LOG_LINE_MAX + 5);
        memset(chunk, 'q', RUNTIME_LOG_LINE_MAX + 5);
        runtime_log_feed(l, &st, 0, "svc", "stdout", chunk, 100, false);
        runtime_log_feed(l, &st, 0, "svc", "stdout", chunk, RUNTIME_LOG_LINE_MAX + 5, false);
        assert_int_equal(runtime_log_tail(l, 1, collect, &got), 1);
        assert_int_equal(strlen(got.v[0]), strlen(TS0 " svc[stdout]: ") + RUNTIME_LOG_LINE_MAX);
        lines_free(&got);
        runtime_log_feed(l, &st, 0, "svc", "stdout", "\n", 1, false);
        assert_int_equal(runtime_log_tail(l, 1, collect, &got), 1);
        assert_int_equal(strlen(got.v[0]), strlen(TS0 " svc[stdout]: ") + 105);
        lines_free(&got);
        free(chunk);
        runtime_log_stream_done(&st);
        runtime_log_free(l);
}

static void test_rotation(void **state)
{
        char *dir = tmpdir();
        struct runtime_log_limits lim = {.file_max = 4096, .files_keep = 2};
        struct runtime_log *l;
        char line[100];
        size_t per = strlen(TS0 " s: ") + 99 + 1; /* 125 bytes with the newline */

        memset(line, 'x', sizeof(line));
        assert_int_equal(runtime_log_open(dir, "pup-1", &lim, &l), 0);
        assert_non_null(strstr(runtime_log_path(l), "/pup-1.log"));
        /* 200 lines = 25 KiB through a 4 KiB x (1 + 2) budget */
        for (int i = 0; i < 200; i++)
                runtime_log_append(l, 0, "s", NULL, line, 99);
        assert_true(file_size(dir, "pup-1.log") <= 4096);
        assert_int_equal(file_size(dir, "pup-1.log.1") / per, 4096 / per);
        assert_int_equal(file_size(dir, "pup-1.log.2") / per, 4096 / per);
        assert_int_equal(file_size(dir, "pup-1.log.3"), -1);
        assert_int_equal(runtime_log_dropped(l), 0);

        /* many lines in one feed rotate in the middle of a batch too */
        struct runtime_log_stream st = {0};
        char *burst = xmalloc(per * 100);
        for (int i = 0; i < 100; i++) {
                memset(burst + i * per, 'y', per - 1);
                burst[i * per + per - 1] = '\n';
        }
        runtime_log_feed(l, &st, 0, "s", NULL, burst, per * 100, false);
        assert_true(file_size(dir, "pup-1.log") <= 4096);
        assert_true(file_size(dir, "pup-1.log.1") <= 4096);
        runtime_log_stream_done(&st);
        free(burst);
        runtime_log_free(l);

        /* reopening appends */
        off_t before = file_size(dir, "pup-1.log");
        assert_int_equal(runtime_log_open(dir, "pup-1", &lim, &l), 0);
        runtime_log_append(l, 0, "s", NULL, "z", 1);
        runtime_log_free(l);
        assert_true(file_size(dir, "pup-1.log") > before || file_size(dir, "pup-1.log") < 200);

        fs_rm_rf(dir);
        free(dir);
}

static void test_disk_errors_counted(void **state)
{
        char *dir = tmpdir();
        struct runtime_log_limits lim = {.file_max = 4096};
        struct runtime_log *l;
        struct lines got = {0};
        char line[200];

        memset(line, 'd', sizeof(line));
        assert_int_equal(runtime_log_open(dir, "p", &lim, &l), 0);
        /* the directory vanishes: once the file must rotate, lines cannot
         * be written; they are counted as dropped and stay in the tail */
        fs_rm_rf(dir);
        for (int i = 0; i < 40; i++)
                runtime_log_append(l, 0, "s", NULL, line, sizeof(line));
        assert_true(runtime_log_dropped(l) > 0);
        assert_true(runtime_log_dropped(l) < 40);
        assert_int_equal(runtime_log_tail(l, 100, collect, &got), 40);
        lines_free(&got);
        runtime_log_free(l);
        free(dir);

        assert_int_equal(runtime_log_open("/nonexistent-dir-for-test", "p", NULL, &l), -ENOENT);
}

static void test_bad_args(void **state)
{
        struct runtime_log *l = NULL;
        struct runtime_log_limits tiny = {.file_max = 100};
        struct runtime_log_limits many = {.files_keep = RUNTIME_LOG_FILES_KEEP_MAX + 1};
        assert_int_equal(runtime_log_open(NULL, "../x", NULL, &l), -EINVAL);
        assert_int_equal(runtime_log_open(NULL, "", NULL, &l), -EINVAL);
        assert_int_equal(runtime_log_open(NULL, ".hidden", NULL, &l), -EINVAL);
        assert_int_equal(runtime_log_open(NULL, "a/b", NULL, &l), -EINVAL);
        assert_int_equal(runtime_log_open(NULL, "p", &tiny, &l), -EINVAL);
        assert_int_equal(runtime_log_open(NULL, "p", &many, &l), -EINVAL);
        assert_null(l);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_format_and_tail),  cmocka_unit_test(test_timestamps),
            cmocka_unit_test(test_tail_limits),      cmocka_unit_test(test_listener),
            cmocka_unit_test(test_split_long_lines), cmocka_unit_test(test_feed),
            cmocka_unit_test(test_rotation),         cmocka_unit_test(test_disk_errors_counted),
            cmocka_unit_test(test_bad_args),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
