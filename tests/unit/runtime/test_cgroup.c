#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "runtime/internal.h"

/* This development machine: v1 controllers plus a controller-less v2. */
static const char hybrid_mi[] =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
static const char hybrid_self[] = "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/abc\n"
                                  "1:cpu:/\n2:cpuacct:/\n0::/\n";

/* Debian 12 with systemd: pure v2. */
static const char v2_mi[] =
    "22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
    "26 22 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n";
static const char v2_self[] = "0::/system.slice/dogeboxd.service\n";

/* Old style: cpu and cpuacct co-mounted, plus a bind of a subtree. */
static const char comount_mi[] =
    "30 25 0:26 /sub /mnt/elsewhere rw - cgroup cgroup rw,memory\n"
    "31 25 0:27 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
    "32 25 0:26 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
    "33 25 0:29 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n";
static const char comount_self[] = "5:cpu,cpuacct:/user.slice\n3:memory:/user.slice\n0::/\n";

static void test_layout_hybrid(void **state)
{
        struct cg_layout l;
        assert_int_equal(cg_layout_parse(hybrid_mi, hybrid_self, &l), 0);
        assert_int_equal(l.mode, CG_HYBRID);
        assert_string_equal(l.unified_root, "/sys/fs/cgroup/unified");
        assert_string_equal(l.unified_self, "/");
        assert_true(l.v1[CG_MEMORY] && l.v1[CG_PIDS] && l.v1[CG_CPU]);
        assert_string_equal(l.v1_root[CG_MEMORY], "/sys/fs/cgroup/memory");
        assert_string_equal(l.v1_self[CG_MEMORY], "/process_api/abc");
        assert_string_equal(l.v1_root[CG_CPU], "/sys/fs/cgroup/cpu"); /* not cpuacct */
}

static void test_layout_v2(void **state)
{
        struct cg_layout l;
        assert_int_equal(cg_layout_parse(v2_mi, v2_self, &l), 0);
        assert_int_equal(l.mode, CG_UNIFIED);
        assert_string_equal(l.unified_root, "/sys/fs/cgroup");
        assert_string_equal(l.unified_self, "/system.slice/dogeboxd.service");
        assert_false(l.v1[CG_MEMORY] || l.v1[CG_PIDS] || l.v1[CG_CPU]);
}

static void test_layout_comount_and_bind(void **state)
{
        struct cg_layout l;
        assert_int_equal(cg_layout_parse(comount_mi, comount_self, &l), 0);
        assert_string_equal(l.v1_root[CG_MEMORY], "/sys/fs/cgroup/memory"); /* bind skipped */
        assert_string_equal(l.v1_root[CG_CPU], "/sys/fs/cgroup/cpu,cpuacct");
        assert_string_equal(l.v1_self[CG_CPU], "/user.slice");
        assert_false(l.v1[CG_PIDS]);
}

static void test_layout_no_v2(void **state)
{
        struct cg_layout l;
        assert_int_equal(cg_layout_parse("32 25 0:26 / /sys/fs/cgroup/memory rw - cgroup cgroup "
                                         "rw,memory\n",
                                         "3:memory:/\n", &l),
                         -EOPNOTSUPP);
        assert_int_equal(cg_layout_parse("", "", &l), -EOPNOTSUPP);
}

static void test_dirs(void **state)
{
        struct cg_layout l;
        struct cg_dirs d;

        assert_int_equal(cg_layout_parse(hybrid_mi, hybrid_self, &l), 0);
        /* absolute: from each hierarchy's root */
        assert_int_equal(cg_dirs_resolve(&l, "/dogeboxd-pups", "pup-x", CG_WANT_ALL, &d), 0);
        assert_int_equal(d.n, 4);
        assert_string_equal(d.path[0], "/sys/fs/cgroup/unified/dogeboxd-pups/pup-x");
        assert_string_equal(d.path[d.ctrl_dir[CG_MEMORY]],
                            "/sys/fs/cgroup/memory/dogeboxd-pups/pup-x");
        assert_string_equal(d.path[d.ctrl_dir[CG_PIDS]], "/sys/fs/cgroup/pids/dogeboxd-pups/pup-x");
        /* relative: below our own cgroup in each hierarchy */
        assert_int_equal(cg_dirs_resolve(&l, "t/x", NULL, CG_WANT_ALL, &d), 0);
        assert_string_equal(d.path[0], "/sys/fs/cgroup/unified/t/x");
        assert_string_equal(d.path[d.ctrl_dir[CG_MEMORY]],
                            "/sys/fs/cgroup/memory/process_api/abc/t/x");
        /* only the wanted v1 controllers */
        assert_int_equal(cg_dirs_resolve(&l, "p", "c", 1u << CG_PIDS, &d), 0);
        assert_int_equal(d.n, 2);
        assert_int_equal(d.ctrl_dir[CG_MEMORY], -1);
        assert_int_equal(d.ctrl_dir[CG_CPU], -1);
        assert_string_equal(d.path[d.ctrl_dir[CG_PIDS]], "/sys/fs/cgroup/pids/p/c");
        assert_int_equal(cg_dirs_resolve(&l, "p", "c", 0, &d), 0);
        assert_int_equal(d.n, 1);

        /* v2: everything in one directory */
        assert_int_equal(cg_layout_parse(v2_mi, v2_self, &l), 0);
        assert_int_equal(cg_dirs_resolve(&l, "pups", "pup-y", CG_WANT_ALL, &d), 0);
        assert_int_equal(d.n, 1);
        assert_string_equal(d.path[0], "/sys/fs/cgroup/system.slice/dogeboxd.service/pups/pup-y");
        assert_int_equal(d.ctrl_dir[CG_MEMORY], 0);

        /* co-mounted controllers share a directory */
        assert_int_equal(cg_layout_parse(comount_mi, comount_self, &l), 0);
        assert_int_equal(cg_dirs_resolve(&l, "/a", "b", CG_WANT_ALL, &d), 0);
        assert_int_equal(d.n, 3);

        assert_int_equal(cg_dirs_resolve(&l, "../x", NULL, CG_WANT_ALL, &d), -EINVAL);
}

static void test_parent_valid(void **state)
{
        static const struct {
                const char *p;
                bool ok;
        } cases[] = {
            {"/dogeboxd-pups", true}, {"dbx-test-1", true}, {"a/b.c/d@e_f", true},
            {"/a/b", true},           {"", false},          {"/", false},
            {"a//b", false},          {"a/", false},        {"a/../b", false},
            {"./a", false},           {"..", false},        {"a b", false},
            {"a\nb", false},          {"ä", false},
        };
        char longp[SANDBOX_CGROUP_PARENT_MAX + 2];
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                if (cg_parent_is_valid(cases[i].p) != cases[i].ok)
                        fail_msg("'%s'", cases[i].p);
        assert_false(cg_parent_is_valid(NULL));
        memset(longp, 'a', sizeof(longp) - 1);
        longp[sizeof(longp) - 1] = 0;
        assert_false(cg_parent_is_valid(longp));
        longp[SANDBOX_CGROUP_PARENT_MAX] = 0;
        assert_true(cg_parent_is_valid(longp));
}

static void test_keyed(void **state)
{
        bool found;
        /* v2 memory.events and v1 memory.oom_control */
        assert_int_equal(
            cg_parse_keyed("low 0\nhigh 0\nmax 12\noom 3\noom_kill 2\n", "oom_kill", &found), 2);
        assert_true(found);
        assert_int_equal(
            cg_parse_keyed("oom_kill_disable 0\nunder_oom 0\noom_kill 7\n", "oom_kill", &found), 7);
        assert_int_equal(cg_parse_keyed("usage_usec 123456\nuser_usec 1\n", "usage_usec", NULL),
                         123456);
        assert_int_equal(cg_parse_keyed("oom_kill_disable 0\n", "oom_kill", &found), 0);
        assert_false(found);
        assert_int_equal(cg_parse_keyed("", "x", &found), 0);
        assert_false(found);
}

static void test_shares(void **state)
{
        assert_int_equal(cg_weight_to_shares(100), 1024);
        assert_int_equal(cg_weight_to_shares(1), 10);
        assert_int_equal(cg_weight_to_shares(10000), 102400);
        assert_int_equal(cg_weight_to_shares(0), 2);
        assert_int_equal(cg_weight_to_shares(UINT32_MAX), 262144);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_layout_hybrid),
            cmocka_unit_test(test_layout_v2),
            cmocka_unit_test(test_layout_comount_and_bind),
            cmocka_unit_test(test_layout_no_v2),
            cmocka_unit_test(test_dirs),
            cmocka_unit_test(test_parent_valid),
            cmocka_unit_test(test_keyed),
            cmocka_unit_test(test_shares),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
