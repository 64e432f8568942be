#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>
#include <ftw.h>
#include "core/fsutil.h"
#include "core/macro.h"

int fs_fsync_dir(const char *dir)
{
        _cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fsync(fd) < 0)
                return -errno;
        return 0;
}

int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
        _cleanup_free_ char *dir_copy = xstrdup(path);
        _cleanup_free_ char *tmp = xasprintf("%s.tmp.XXXXXX", path);
        const char *dir = dirname(dir_copy);
        _cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
        const char *p = data;
        int r;

        if (fd < 0)
                return -errno;
        if (fchmod(fd, mode) < 0)
                goto fail;
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        goto fail;
                }
                p += n;
                len -= (size_t)n;
        }
        if (fsync(fd) < 0)
                goto fail;
        if (rename(tmp, path) < 0)
                goto fail;
        return fs_fsync_dir(dir);
fail:
        r = -errno;
        unlink(tmp);
        return r;
}

int fs_mkdir_p(const char *path, mode_t mode)
{
        _cleanup_free_ char *p = xstrdup(path);
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

static int rm_cb(const char *fpath, const struct stat *sb, int typeflag, struct FTW *ftwbuf)
{
        (void)sb;
        (void)ftwbuf;
        int r = (typeflag == FTW_DP) ? rmdir(fpath) : unlink(fpath);
        return r < 0 && errno != ENOENT ? -errno : 0;
}

int fs_rm_rf(const char *path)
{
        struct stat st;
        if (lstat(path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        int r = nftw(path, rm_cb, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
        if (r < 0)
                return r == -1 ? -errno : r;
        return 0;
}

int fs_read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;
        if ((size_t)st.st_size > max)
                return -EFBIG;
        _cleanup_free_ char *buf = xmalloc((size_t)st.st_size + 1);
        size_t len = 0;
        for (;;) {
                ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t)n;
                if (len == (size_t)st.st_size)
                        break;
        }
        buf[len] = 0;
        *ret = TAKE_PTR(buf);
        if (ret_len)
                *ret_len = len;
        return 0;
}

static __thread unsigned long long du_total;
static int du_cb(const char *fpath, const struct stat *sb, int typeflag, struct FTW *ftwbuf)
{
        (void)fpath;
        (void)typeflag;
        (void)ftwbuf;
        du_total += (unsigned long long)sb->st_blocks * 512ULL;
        return 0;
}

int fs_disk_usage(const char *path, unsigned long long *ret)
{
        du_total = 0;
        if (nftw(path, du_cb, 32, FTW_PHYS | FTW_MOUNT) < 0)
                return -errno;
        *ret = du_total;
        return 0;
}
