#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/macro.h"
#include "runtime/initproto.h"
#include "runtime/internal.h"

/* Split the NUL-separated blob into fields. */
static size_t fields(const char *blob, size_t len, const char **out, size_t max)
{
        size_t n = 0;
        for (size_t off = 0; off < len && n < max; off += strlen(blob + off) + 1)
                out[n++] = blob + off;
        return n;
}

static void spec2(struct sandbox_spec *s)
{
        static char *const args[] = {"-c", "echo hi", NULL};
        static char *const env[] = {"HOME=/pup", "X=1", NULL};
        sandbox_spec_init(s);
        s->pup_id = xstrdup("p");
        s->uid_base = SANDBOX_UIDRANGE_BASE;
        s->stop_grace_ms = 1234;
        s->backoff = (struct sandbox_backoff){50, 400, 5000, 3};
        sandbox_spec_add_service(s, "a", "/bin/sh", args, "/storage", env,
                                 SANDBOX_RESTART_ON_FAILURE);
        sandbox_spec_add_service(s, "b", "/bin/true", NULL, NULL, NULL, SANDBOX_RESTART_NEVER);
}

static void test_layout(void **state)
{
        struct sandbox_spec s;
        char *blob;
        size_t len, n;
        const char *f[64];
        static const char *const want[] = {
            PUPINIT_MAGIC,
            "1234",
            "50",
            "400",
            "5000",
            "3",
            "0",
            "2",
            /* a */
            "a",
            "/bin/sh",
            "/storage",
            "1",
            "3",
            "/bin/sh",
            "-c",
            "echo hi",
            "5",
            "HOME=/pup",
            "X=1",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "USER=pup",
            "LOGNAME=pup",
            /* b: cwd defaults to /, all four defaults */
            "b",
            "/bin/true",
            "/",
            "2",
            "1",
            "/bin/true",
            "4",
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME=/storage",
            "USER=pup",
            "LOGNAME=pup",
        };

        spec2(&s);
        assert_int_equal(sandbox_initconfig_build(&s, &blob, &len), 0);
        assert_int_equal(blob[len - 1], 0);
        n = fields(blob, len, f, 64);
        assert_int_equal(n, sizeof(want) / sizeof(want[0]));
        for (size_t i = 0; i < n; i++)
                assert_string_equal(f[i], want[i]);
        free(blob);

        s.stdio = SANDBOX_STDIO_INHERIT;
        assert_int_equal(sandbox_initconfig_build(&s, &blob, &len), 0);
        fields(blob, len, f, 64);
        assert_string_equal(f[6], "1");
        free(blob);
        sandbox_spec_done(&s);
}

static void test_too_big(void **state)
{
        struct sandbox_spec s;
        char *blob = NULL, **args = xcalloc(200, sizeof(char *));
        size_t len;

        sandbox_spec_init(&s);
        s.pup_id = xstrdup("p");
        for (int i = 0; i < 199; i++) {
                args[i] = xmalloc(SANDBOX_STRING_MAX);
                memset(args[i], 'x', SANDBOX_STRING_MAX - 1);
                args[i][SANDBOX_STRING_MAX - 1] = 0;
        }
        /* 199 args of 4 KiB each pass validation but not the 512 KiB total */
        sandbox_spec_add_service(&s, "a", "/bin/true", args, NULL, NULL, 0);
        assert_int_equal(sandbox_initconfig_build(&s, &blob, &len), -E2BIG);
        assert_null(blob);
        for (int i = 0; i < 199; i++)
                free(args[i]);
        free(args);
        sandbox_spec_done(&s);
}

static void test_etc_files(void **state)
{
        struct sandbox_spec s;
        char *p = sandbox_etc_passwd(), *g = sandbox_etc_group(), *h;

        assert_non_null(strstr(p, "\npup:x:420:69:pup:/storage:/bin/sh\n"));
        assert_non_null(strstr(g, "\npup:x:69:\n"));
        spec2(&s);
        h = sandbox_etc_hosts(&s);
        assert_string_equal(h, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
                               "127.0.1.1\tpup\n");
        free(h);
        s.hostname = xstrdup("core");
        s.hosts_extra = xcalloc(3, sizeof(char *));
        s.hosts_extra[0] = xstrdup("10.69.0.1 dogeboxd dogeboxd.local");
        s.hosts_extra[1] = xstrdup("10.69.0.7 core-rpc.localhost");
        h = sandbox_etc_hosts(&s);
        assert_non_null(strstr(h, "127.0.1.1\tcore\n10.69.0.1 dogeboxd dogeboxd.local\n"
                                  "10.69.0.7 core-rpc.localhost\n"));
        free(h);
        free(p);
        free(g);
        sandbox_spec_done(&s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_layout),
            cmocka_unit_test(test_too_big),
            cmocka_unit_test(test_etc_files),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
