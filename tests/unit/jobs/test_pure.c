/* Pure parts of the jobs module: the scheduling rule, log-line text
 * handling, the JobRecord/ActionProgress JSON shapes and the log-file
 * readers (tail pages with cursors, resume offsets). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sys/stat.h>
#include "core/fsutil.h"
#include "core/macro.h"
#include "jobs/internal.h"
#include "jobs/jobs.h"

/* --- scheduling ----------------------------------------------------- */

struct sched_case {
        const char *name;
        const char *keys[8]; /* NULL-terminated, submission order */
        const char *running; /* 'R' running, '.' queued, per item */
        size_t running_max;
        ssize_t want;
};

static const struct sched_case sched_cases[] = {
    {"empty", {NULL}, "", 4, -1},
    {"one queued", {"a", NULL}, ".", 4, 0},
    {"same key waits for the running one", {"a", "a", NULL}, "R.", 4, -1},
    {"other key runs in parallel", {"a", "b", NULL}, "R.", 4, 1},
    {"same key waits for an earlier queued one", {"a", "b", "a", NULL}, "RR.", 4, -1},
    {"FIFO across keys: oldest eligible first", {"a", "a", "b", "c", NULL}, "R...", 4, 2},
    {"running limit reached", {"a", "b", "c", NULL}, "RR.", 2, -1},
    {"limit not reached", {"a", "b", "c", NULL}, "RR.", 3, 2},
    {"system key \"\" serializes too", {"", "", NULL}, "R.", 4, -1},
    {"system key vs pup key", {"", "p", NULL}, "R.", 4, 1},
    {"blocked head, later key eligible", {"x", "x", "x", "y", NULL}, "R...", 4, 3},
    {"nothing queued", {"a", "b", NULL}, "RR", 4, -1},
    {"limit 0 starts nothing", {"a", NULL}, ".", 0, -1},
    {"first of two queued same key", {"a", "a", NULL}, "..", 4, 0},
};

static void test_sched(void **state)
{
        for (size_t c = 0; c < ARRAY_SIZE(sched_cases); c++) {
                const struct sched_case *t = &sched_cases[c];
                struct sched_item items[8];
                size_t n = 0;
                for (; t->keys[n]; n++) {
                        items[n].key = t->keys[n];
                        items[n].running = t->running[n] == 'R';
                }
                ssize_t got = sched_next(items, n, t->running_max);
                if (got != t->want)
                        fail_msg("%s: got %zd, want %zd", t->name, got, t->want);
        }
}

/* Drive the rule like the pump: start what may start, finish the oldest
 * running job, repeat; the start order must respect per-key order and the
 * running limit must never be exceeded. */
static void test_sched_simulation(void **state)
{
        const char *keys[] = {"a", "b", "a", "c", "b", "a", "d", "e", "c", "a"};
        enum { N = ARRAY_SIZE(keys) };
        bool running[N] = {0}, done[N] = {0};
        size_t started[N], nstarted = 0;
        for (;;) {
                for (;;) {
                        struct sched_item items[N];
                        size_t idx[N], n = 0;
                        for (size_t i = 0; i < N; i++) {
                                if (done[i])
                                        continue;
                                items[n].key = keys[i];
                                items[n].running = running[i];
                                idx[n++] = i;
                        }
                        ssize_t k = sched_next(items, n, 3);
                        if (k < 0)
                                break;
                        running[idx[k]] = true;
                        started[nstarted++] = idx[k];
                        size_t nrun = 0;
                        for (size_t i = 0; i < N; i++) {
                                nrun += running[i];
                                for (size_t j = i + 1; j < N; j++) /* one per key */
                                        assert_false(running[i] && running[j] &&
                                                     streq(keys[i], keys[j]));
                        }
                        assert_true(nrun <= 3);
                }
                size_t oldest = N;
                for (size_t i = 0; i < N && oldest == N; i++)
                        if (running[i])
                                oldest = i;
                if (oldest == N)
                        break;
                running[oldest] = false;
                done[oldest] = true;
        }
        assert_int_equal(nstarted, N);
        /* per key, start order == submission order */
        for (size_t x = 0; x < N; x++)
                for (size_t y = x + 1; y < N; y++)
                        if (streq(keys[started[x]], keys[started[y]]))
                                assert_true(started[x] < started[y]);
}

/* --- text ----------------------------------------------------------- */

struct text_case {
        const char *name;
        const char *in;
        size_t in_len; /* 0: strlen */
        size_t max;
        const char *want;
};

static const struct text_case text_cases[] = {
    {"plain", "hello world", 0, 100, "hello world"},
    {"empty", "", 0, 100, ""},
    {"newlines and CR dropped", "a\r\nb\n", 0, 100, "ab"},
    {"tab kept, controls replaced",
     "a\tb\x01"
     "c\x7f",
     0, 100, "a\tb?c?"},
    {"valid UTF-8 kept", "d\xc3\xa9j\xc3\xa0 \xe2\x82\xac \xf0\x9f\x90\x95", 0, 100,
     "d\xc3\xa9j\xc3\xa0 \xe2\x82\xac \xf0\x9f\x90\x95"},
    {"invalid byte",
     "a\xff"
     "b",
     0, 100, "a?b"},
    {"truncated sequence at end", "a\xe2\x82", 0, 100, "a??"},
    {"overlong encoding", "\xc0\xaf", 0, 100, "??"},
    {"surrogate", "\xed\xa0\x80", 0, 100, "???"},
    {"beyond U+10FFFF", "\xf4\x90\x80\x80", 0, 100, "????"},
    {"embedded NUL", "a\0b", 3, 100, "a?b"},
    {"cut with ellipsis", "abcdefghij", 0, 8, "abcde..."},
    {"exactly max", "abcdefgh", 0, 8, "abcdefgh"},
    {"cut keeps whole characters", "ab\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 0, 8, "ab\xc3\xa9..."},
    {"tiny max", "abcdef", 0, 2, ""},
};

static void test_text_sanitize(void **state)
{
        for (size_t c = 0; c < ARRAY_SIZE(text_cases); c++) {
                const struct text_case *t = &text_cases[c];
                char out[256];
                size_t len = t->in_len ? t->in_len : strlen(t->in);
                size_t n = text_sanitize_line(out, sizeof(out), t->in, len, t->max);
                if (!streq(out, t->want) || n != strlen(t->want))
                        fail_msg("%s: got '%s' (%zu), want '%s'", t->name, out, n, t->want);
                assert_true(n <= t->max);
        }
        /* the destination bounds the output too */
        char small[6];
        size_t n = text_sanitize_line(small, sizeof(small), "abcdefghij", 10, 100);
        assert_int_equal(n, 5);
        assert_string_equal(small, "ab...");
}

static void test_utf8_fix(void **state)
{
        char buf[] = "ok \xc3\xa9 \xff\xfe \xe2\x82";
        utf8_fix(buf, strlen(buf));
        assert_string_equal(buf, "ok \xc3\xa9 ?? ??");
}

static void test_log_line_format(void **state)
{
        char buf[64];
        setenv("TZ", "UTC", 1);
        tzset();
        size_t n = log_line_format(buf, sizeof(buf), 1781234567, "Installing pup");
        assert_string_equal(buf, "[2026-06-12 03:22:47] Installing pup\n");
        assert_int_equal(n, strlen(buf));
        /* cut to the buffer, still one line */
        char small[16];
        n = log_line_format(small, sizeof(small), 0, "a long message");
        assert_int_equal(n, 15);
        assert_int_equal(small[14], '\n');
        assert_int_equal(strlen(small), 15);
}

static void test_desc_checks(void **state)
{
        assert_true(desc_action_ok("install", 64));
        assert_true(desc_action_ok("update-nix-cache", 64));
        assert_false(desc_action_ok("", 64));
        assert_false(desc_action_ok(NULL, 64));
        assert_false(desc_action_ok("Install", 64));
        assert_false(desc_action_ok("in stall", 64));
        assert_false(desc_action_ok("abcdef", 5));
        assert_true(desc_field_ok(NULL, false, 4));
        assert_false(desc_field_ok(NULL, true, 4));
        assert_false(desc_field_ok("", true, 4));
        assert_true(desc_field_ok("", false, 4));
        assert_true(desc_field_ok("abcd", true, 4));
        assert_false(desc_field_ok("abcde", true, 4));
}

/* --- JSON shapes ---------------------------------------------------- */

static void test_record_json(void **state)
{
        struct store_job r = {
            .id = "0123456789abcdef0123456789abcdef",
            .action = "install",
            .key = "k",
            .display_name = "Install Hello",
            .pup_id = "",
            .status = STORE_JOB_IN_PROGRESS,
            .progress = 42,
            .step = "download",
            .summary = "Downloading",
            .error = "",
            .created_ms = 1781234567890,
        };
        json_t *j = jobs_record_json(&r);
        static const char *const keys[] = {
            "id",         "started",        "finished",     "displayName",    "action", "progress",
            "status",     "summaryMessage", "errorMessage", "pupID",          "step",   "pupName",
            "pupVersion", "sourceId",       "runStarted",   "cancelRequested"};
        assert_int_equal(json_object_size(j), ARRAY_SIZE(keys));
        for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
                if (!json_object_get(j, keys[i]))
                        fail_msg("missing key %s", keys[i]);
        assert_string_equal(json_string_value(json_object_get(j, "started")),
                            "2026-06-12T03:22:47.890Z");
        assert_true(json_is_null(json_object_get(j, "finished")));
        assert_true(json_is_null(json_object_get(j, "runStarted")));
        assert_string_equal(json_string_value(json_object_get(j, "status")), "in_progress");
        assert_int_equal(json_integer_value(json_object_get(j, "progress")), 42);
        assert_string_equal(json_string_value(json_object_get(j, "pupID")), "");
        /* no targetVersion unless a system update (never for our actions) */
        assert_null(json_object_get(j, "targetVersion"));
        assert_true(json_is_false(json_object_get(j, "cancelRequested")));
        json_decref(j);

        r.status = STORE_JOB_ORPHANED;
        r.finished_ms = 1781234568000;
        r.pup_name = "hello";
        j = jobs_record_json(&r);
        assert_string_equal(json_string_value(json_object_get(j, "status")), "orphaned");
        assert_string_equal(json_string_value(json_object_get(j, "finished")),
                            "2026-06-12T03:22:48.000Z");
        assert_string_equal(json_string_value(json_object_get(j, "pupName")), "hello");
        /* NULL strings read as "" */
        assert_string_equal(json_string_value(json_object_get(j, "sourceId")), "");
        json_decref(j);

        /* every status has its upstream name and round-trips */
        static const char *const names[] = {"queued", "in_progress", "completed",
                                            "failed", "cancelled",   "orphaned"};
        for (int i = 0; i < _STORE_JOB_STATUS_MAX; i++) {
                assert_string_equal(store_job_status_str(i), names[i]);
                assert_int_equal(store_job_status_from_str(names[i]), i);
        }
        assert_int_equal(store_job_status_from_str("running"), -EINVAL);
        assert_int_equal(store_job_status_from_str(NULL), -EINVAL);
}

static void test_progress_json(void **state)
{
        json_t *j = jobs_progress_json("abc", "pup", 10, "download", "Fetching", true, 1500);
        char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
        assert_string_equal(s, "{\"actionID\":\"abc\",\"error\":true,\"msg\":\"Fetching\","
                               "\"progress\":10,\"pupID\":\"pup\",\"step\":\"download\","
                               "\"step_taken\":1500}");
        free(s);
        json_decref(j);
        j = jobs_progress_json("abc", NULL, 0, NULL, NULL, false, -5);
        assert_int_equal(json_integer_value(json_object_get(j, "step_taken")), 0);
        assert_string_equal(json_string_value(json_object_get(j, "pupID")), "");
        json_decref(j);
}

/* --- log files ------------------------------------------------------ */

static char tmpdir[64];

static int setup_dir(void **state)
{
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/dbx-test-jobs-XXXXXX");
        return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
        return fs_rm_rf(tmpdir);
}

static char *write_lines(const char *name, int n, const char *tail)
{
        char *p = xasprintf("%s/%s", tmpdir, name);
        FILE *f = fopen(p, "w");
        assert_non_null(f);
        for (int i = 1; i <= n; i++)
                fprintf(f, "line %d\n", i);
        if (tail)
                fputs(tail, f);
        fclose(f);
        return p;
}

static const char *line_at(json_t *page, size_t i)
{
        return json_string_value(json_array_get(json_object_get(page, "lines"), i));
}

static void test_tail_pages(void **state)
{
        _cleanup_free_ char *p = write_lines("a.log", 10, NULL);
        json_t *page = NULL;
        /* newest 3 */
        assert_int_equal(logfile_tail_json(p, 3, -1, &page), 0);
        assert_int_equal(json_array_size(json_object_get(page, "lines")), 3);
        assert_string_equal(line_at(page, 0), "line 8");
        assert_string_equal(line_at(page, 2), "line 10");
        /* resumeToken = file size; olderCursor = start of "line 8" */
        struct stat st;
        stat(p, &st);
        char size[32];
        snprintf(size, sizeof(size), "%lld", (long long)st.st_size);
        assert_string_equal(json_string_value(json_object_get(page, "resumeToken")), size);
        const char *cur = json_string_value(json_object_get(page, "olderCursor"));
        assert_non_null(cur);
        /* "line 1\n".."line 7\n" = 7*7 bytes */
        assert_string_equal(cur, "49");
        assert_true(json_is_true(json_object_get(page, "hasMoreOlder")));
        json_decref(page);
        /* the next older page, no resumeToken on it */
        assert_int_equal(logfile_tail_json(p, 5, 49, &page), 0);
        assert_null(json_object_get(page, "resumeToken"));
        assert_int_equal(json_array_size(json_object_get(page, "lines")), 5);
        assert_string_equal(line_at(page, 0), "line 3");
        assert_string_equal(line_at(page, 4), "line 7");
        assert_string_equal(json_string_value(json_object_get(page, "olderCursor")), "14");
        json_decref(page);
        /* the last page: no olderCursor, hasMoreOlder false */
        assert_int_equal(logfile_tail_json(p, 5, 14, &page), 0);
        assert_int_equal(json_array_size(json_object_get(page, "lines")), 2);
        assert_string_equal(line_at(page, 0), "line 1");
        assert_null(json_object_get(page, "olderCursor"));
        assert_true(json_is_false(json_object_get(page, "hasMoreOlder")));
        json_decref(page);
        /* everything at once */
        assert_int_equal(logfile_tail_json(p, 1000, -1, &page), 0);
        assert_int_equal(json_array_size(json_object_get(page, "lines")), 10);
        assert_true(json_is_false(json_object_get(page, "hasMoreOlder")));
        json_decref(page);
        /* a cursor beyond the end is the end */
        assert_int_equal(logfile_tail_json(p, 1, 1 << 30, &page), 0);
        assert_string_equal(line_at(page, 0), "line 10");
        json_decref(page);
        /* limits */
        assert_int_equal(logfile_tail_json(p, 0, -1, &page), -EINVAL);
        assert_int_equal(logfile_tail_json(p, LOG_TAIL_LIMIT_MAX + 1, -1, &page), -EINVAL);
}

static void test_tail_missing_and_partial(void **state)
{
        _cleanup_free_ char *missing = xasprintf("%s/none.log", tmpdir);
        json_t *page = NULL;
        assert_int_equal(logfile_tail_json(missing, 10, -1, &page), 0);
        char *s = json_dumps(page, JSON_COMPACT | JSON_SORT_KEYS);
        assert_string_equal(s, "{\"hasMoreOlder\":false,\"lines\":[]}");
        free(s);
        json_decref(page);
        /* a last line without newline is still a line; bad UTF-8 is fixed */
        _cleanup_free_ char *p = write_lines("b.log", 2, "partial \xff");
        assert_int_equal(logfile_tail_json(p, 10, -1, &page), 0);
        assert_int_equal(json_array_size(json_object_get(page, "lines")), 3);
        assert_string_equal(line_at(page, 2), "partial ?");
        json_decref(page);
        /* empty file */
        _cleanup_free_ char *e = write_lines("c.log", 0, NULL);
        assert_int_equal(logfile_tail_json(e, 10, -1, &page), 0);
        assert_int_equal(json_array_size(json_object_get(page, "lines")), 0);
        assert_string_equal(json_string_value(json_object_get(page, "resumeToken")), "0");
        json_decref(page);
}

/* Many lines: the backwards window must grow past its first 64 KiB. */
static void test_tail_large(void **state)
{
        _cleanup_free_ char *p = write_lines("d.log", 40000, NULL);
        json_t *page = NULL;
        assert_int_equal(logfile_tail_json(p, 1000, -1, &page), 0);
        assert_int_equal(json_array_size(json_object_get(page, "lines")), 1000);
        assert_string_equal(line_at(page, 0), "line 39001");
        assert_string_equal(line_at(page, 999), "line 40000");
        /* walk back to the start with the cursors: every line exactly once */
        int expect = 39000;
        const char *cur = json_string_value(json_object_get(page, "olderCursor"));
        char cursor[32];
        snprintf(cursor, sizeof(cursor), "%s", cur);
        json_decref(page);
        while (expect > 0) {
                assert_int_equal(logfile_tail_json(p, 1000, atoll(cursor), &page), 0);
                size_t n = json_array_size(json_object_get(page, "lines"));
                char want[32];
                snprintf(want, sizeof(want), "line %d", expect);
                assert_string_equal(line_at(page, n - 1), want);
                expect -= (int)n;
                cur = json_string_value(json_object_get(page, "olderCursor"));
                if (cur)
                        snprintf(cursor, sizeof(cursor), "%s", cur);
                else
                        assert_int_equal(expect, 0);
                json_decref(page);
        }
}

static void test_lines_from(void **state)
{
        _cleanup_free_ char *p = write_lines("e.log", 5, NULL);
        json_t *a = NULL;
        /* from the start: every line with its newline */
        assert_int_equal(logfile_lines_from(p, 0, 1 << 20, &a), 0);
        assert_int_equal(json_array_size(a), 5);
        assert_string_equal(json_string_value(json_array_get(a, 0)), "line 1\n");
        json_decref(a);
        /* from an offset (start of line 4 = 21) */
        assert_int_equal(logfile_lines_from(p, 21, 1 << 20, &a), 0);
        assert_int_equal(json_array_size(a), 2);
        assert_string_equal(json_string_value(json_array_get(a, 0)), "line 4\n");
        json_decref(a);
        /* out of range or negative: the end, nothing */
        assert_int_equal(logfile_lines_from(p, 10000, 1 << 20, &a), 0);
        assert_int_equal(json_array_size(a), 0);
        json_decref(a);
        assert_int_equal(logfile_lines_from(p, -1, 1 << 20, &a), 0);
        assert_int_equal(json_array_size(a), 0);
        json_decref(a);
        /* bounded: only whole lines from the last max bytes */
        assert_int_equal(logfile_lines_from(p, 0, 10, &a), 0);
        assert_int_equal(json_array_size(a), 1);
        assert_string_equal(json_string_value(json_array_get(a, 0)), "line 5\n");
        json_decref(a);
        /* missing file: nothing */
        _cleanup_free_ char *missing = xasprintf("%s/none.log", tmpdir);
        assert_int_equal(logfile_lines_from(missing, 0, 100, &a), 0);
        assert_int_equal(json_array_size(a), 0);
        json_decref(a);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_sched),
            cmocka_unit_test(test_sched_simulation),
            cmocka_unit_test(test_text_sanitize),
            cmocka_unit_test(test_utf8_fix),
            cmocka_unit_test(test_log_line_format),
            cmocka_unit_test(test_desc_checks),
            cmocka_unit_test(test_record_json),
            cmocka_unit_test(test_progress_json),
            cmocka_unit_test_setup_teardown(test_tail_pages, setup_dir, teardown_dir),
            cmocka_unit_test_setup_teardown(test_tail_missing_and_partial, setup_dir, teardown_dir),
            cmocka_unit_test_setup_teardown(test_tail_large, setup_dir, teardown_dir),
            cmocka_unit_test_setup_teardown(test_lines_from, setup_dir, teardown_dir),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
