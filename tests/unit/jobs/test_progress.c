/* dbx's progress display (cli/progress.c): the bar text for every width,
 * the plain-line form, and what reaches the output in both modes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include "cli/progress.h"
#include "core/macro.h"

struct render_case {
        const char *name;
        int width, percent;
        const char *step, *msg;
        const char *want;
};

static const struct render_case render_cases[] = {
    {"zero, no text", 80, 0, NULL, NULL, "[--------------------------]   0%"},
    {"half with step and message", 80, 50, "download", "fetching hello 1.0",
     "[#############-------------]  50% download: fetching hello 1.0"},
    {"full", 80, 100, "", "done", "[##########################] 100% done"},
    {"clamped above", 80, 250, NULL, "x", "[##########################] 100% x"},
    {"clamped below", 80, -5, NULL, "x", "[--------------------------]   0% x"},
    {"step only", 80, 10, "extract", "", "[##------------------------]  10% extract"},
    {"narrow terminal: shorter bar, text cut", 40, 37, "download",
     "fetching a very long name indeed", "[####---------]  37% download: fetch..."},
    {"message cut at a character boundary", 30, 0, NULL, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
     "[----------]   0% \xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"},
    {"utf-8 cut", 26, 0, NULL, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
     "[----------]   0% \xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9..."},
    {"too narrow for a bar", 12, 42, "s", "m", " 42%"},
    {"newlines never break the line", 80, 1, NULL, "a\nb\rc",
     "[--------------------------]   1% a b c"},
    {"unknown width: default", 0, 0, NULL, "x", "[--------------------------]   0% x"},
};

/* columns of a UTF-8 string */
static size_t cols(const char *s)
{
        size_t n = 0;
        for (; *s; s++)
                n += (((unsigned char)*s) & 0xc0) != 0x80;
        return n;
}

static void test_render(void **state)
{
        for (size_t i = 0; i < ARRAY_SIZE(render_cases); i++) {
                const struct render_case *t = &render_cases[i];
                char buf[600];
                size_t n = progress_render(buf, sizeof(buf), t->width, t->percent, t->step, t->msg);
                if (!streq(buf, t->want))
                        fail_msg("%s: got '%s', want '%s'", t->name, buf, t->want);
                assert_int_equal(n, strlen(buf));
                if (t->width > 0)
                        assert_true(cols(buf) <= (size_t)t->width - 1);
        }
        /* every width from 1 to 200 stays within the terminal */
        for (int w = 1; w <= 200; w++) {
                char buf[600];
                progress_render(buf, sizeof(buf), w, 55, "step", "a message of some length here");
                if (w > 5 && cols(buf) > (size_t)w - 1)
                        fail_msg("width %d: '%s' is %zu columns", w, buf, cols(buf));
        }
        /* a small buffer is never overrun */
        char small[8];
        size_t n = progress_render(small, sizeof(small), 80, 10, "s", "m");
        assert_int_equal(n, 7);
        assert_int_equal(strlen(small), 7);
}

static void test_render_plain(void **state)
{
        char buf[256];
        progress_render_plain(buf, sizeof(buf), 42, "download", "fetching");
        assert_string_equal(buf, "[ 42%] download: fetching");
        progress_render_plain(buf, sizeof(buf), 100, NULL, NULL);
        assert_string_equal(buf, "[100%]");
        progress_render_plain(buf, sizeof(buf), 7, "", "only message");
        assert_string_equal(buf, "[  7%] only message");
}

static char *capture(int tty, void (*fn)(struct progress *))
{
        char *data = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&data, &len);
        struct progress *p = progress_new(f, tty);
        fn(p);
        progress_free(p);
        fclose(f);
        return data;
}

static void scenario(struct progress *p)
{
        progress_update(p, 10, "download", "fetching");
        progress_update(p, 10, "download", "fetching"); /* no change */
        progress_update(p, 50, NULL, "still fetching");
        progress_line(p, "a log line");
        progress_update(p, -1, "extract", NULL);
        progress_finish(p, "Install hello: completed in 1.0s");
}

static void test_plain_output(void **state)
{
        char *out = capture(0, scenario);
        assert_string_equal(out, "[ 10%] download: fetching\n"
                                 "[ 50%] download: still fetching\n"
                                 "a log line\n"
                                 "[ 50%] extract: still fetching\n"
                                 "Install hello: completed in 1.0s\n");
        free(out);
}

static void test_tty_output(void **state)
{
        char *out = capture(1, scenario);
        /* redrawn in place, cleared before other lines and at the end */
        assert_non_null(strstr(out, "\r[###"));
        assert_non_null(strstr(out, "\r\033[Ka log line\n"));
        const char *end = "\r\033[KInstall hello: completed in 1.0s\n";
        assert_int_equal(strcmp(out + strlen(out) - strlen(end), end), 0);
        assert_null(strstr(out, "\n[")); /* the bar never starts a new line */
        free(out);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_render),
            cmocka_unit_test(test_render_plain),
            cmocka_unit_test(test_plain_output),
            cmocka_unit_test(test_tty_output),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
