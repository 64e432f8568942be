#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sys/stat.h>
#include "core/fsutil.h"
#include "core/macro.h"
#include "core/util.h"

static void test_atomic_write(void **state)
{
        char dir[] = "/tmp/dbx-test-fs-XXXXXX";
        assert_non_null(mkdtemp(dir));
        _cleanup_free_ char *p = xasprintf("%s/a/b/file", dir);
        _cleanup_free_ char *sub = xasprintf("%s/a/b", dir);
        assert_int_equal(fs_mkdir_p(sub, 0755), 0);
        assert_int_equal(fs_mkdir_p(sub, 0755), 0); /* idempotent */
        assert_int_equal(fs_write_atomic(p, "one", 3, 0600), 0);
        assert_int_equal(fs_write_atomic(p, "second", 6, 0640), 0);
        char *data = NULL;
        size_t len = 0;
        assert_int_equal(fs_read_file(p, 100, &data, &len), 0);
        assert_int_equal(len, 6);
        assert_string_equal(data, "second");
        free(data);
        struct stat st;
        assert_int_equal(stat(p, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0640);
        assert_int_equal(fs_read_file(p, 5, &data, &len), -EFBIG);
        /* no temp files left behind */
        _cleanup_free_ char *cmd = xasprintf("test $(ls %s | wc -l) -eq 1", sub);
        assert_int_equal(system(cmd), 0);
        /* a directory that does not exist: error, nothing created */
        _cleanup_free_ char *bad = xasprintf("%s/missing/file", dir);
        assert_int_equal(fs_write_atomic(bad, "x", 1, 0600), -ENOENT);
        unsigned long long du = 0;
        assert_int_equal(fs_disk_usage(dir, &du), 0);
        assert_true(du > 0);
        assert_int_equal(fs_rm_rf(dir), 0);
        assert_int_equal(access(dir, F_OK), -1);
        assert_int_equal(fs_rm_rf(dir), 0); /* absent is fine */
}

static void test_ids(void **state)
{
        char a[33], b[33];
        id_new32(a);
        id_new32(b);
        assert_true(id_is_hex32(a));
        assert_string_not_equal(a, b);
        assert_false(id_is_hex32("ABCDEF0123456789abcdef0123456789"));
        assert_false(id_is_hex32("abc"));
        assert_false(id_is_hex32(NULL));
        unsigned char raw[4];
        assert_int_equal(hex_decode("00fF10a0", raw, 4), 0);
        assert_int_equal(raw[1], 0xff);
        assert_int_equal(hex_decode("0g", raw, 1), -EINVAL);
        assert_int_equal(hex_decode("00", raw, 2), -EINVAL);
        assert_true(name_is_safe("core-rpc", 64));
        assert_false(name_is_safe("-x", 64));
        assert_false(name_is_safe("Up", 64));
        assert_false(name_is_safe("a/b", 64));
        assert_false(name_is_safe("", 64));
        assert_false(name_is_safe("abcd", 3));
        char t[40];
        time_rfc3339(1781234567890ULL, t);
        assert_string_equal(t, "2026-06-12T03:22:47.890Z");
}

/* fs_chown_tree: a tree written by another uid is taken over entry by
 * entry; with only_from, a foreign entry stops it (needs root: chown). */
static void test_chown_tree(void **state)
{
        const uid_t helper = 4242, other = 4343;
        char dir[] = "/tmp/dbx-test-chown-XXXXXX";
        assert_non_null(mkdtemp(dir));
        _cleanup_free_ char *sub = xasprintf("%s/d/e", dir), *f = xasprintf("%s/d/e/f", dir),
                            *hl = xasprintf("%s/hl", dir), *ln = xasprintf("%s/d/link", dir);
        assert_int_equal(fs_mkdir_p(sub, 0755), 0);
        assert_int_equal(fs_write_atomic(f, "x", 1, 0644), 0);
        assert_int_equal(link(f, hl), 0);
        assert_int_equal(symlink("/etc/passwd", ln), 0);
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        /* everything to the helper: the hand-over of an old cache */
        assert_int_equal(fs_chown_tree(fd, helper, helper, (uid_t)-1), 0);
        struct stat st;
        const char *paths[] = {dir, sub, f, hl, ln};
        for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
                assert_int_equal(lstat(paths[i], &st), 0);
                assert_int_equal(st.st_uid, helper);
                assert_int_equal(st.st_gid, helper);
        }
        /* the symlink itself changed, not its target */
        assert_int_equal(stat("/etc/passwd", &st), 0);
        assert_int_equal(st.st_uid, 0);
        /* and back, only from the helper: the hard link is seen twice */
        assert_int_equal(fs_chown_tree(fd, 0, 0, helper), 0);
        for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
                assert_int_equal(lstat(paths[i], &st), 0);
                assert_int_equal(st.st_uid, 0);
        }
        /* a file the helper did not create: refused */
        assert_int_equal(fs_chown_tree(fd, helper, helper, (uid_t)-1), 0);
        assert_int_equal(lchown(f, other, other), 0);
        assert_int_equal(fs_chown_tree(fd, 0, 0, helper), -EPERM);
        /* a top folder that belongs to someone else: refused at once */
        assert_int_equal(fchown(fd, other, other), 0);
        assert_int_equal(fs_chown_tree(fd, 0, 0, helper), -EPERM);
        assert_int_equal(fstat(fd, &st), 0);
        assert_int_equal(st.st_uid, other);
        /* not a directory */
        int ffd = open(f, O_RDONLY | O_CLOEXEC);
        assert_int_equal(fs_chown_tree(ffd, 0, 0, (uid_t)-1), -ENOTDIR);
        close(ffd);
        close(fd);
        assert_int_equal(fs_rm_rf(dir), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_atomic_write),
            cmocka_unit_test(test_chown_tree),
            cmocka_unit_test(test_ids),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
