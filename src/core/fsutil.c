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

int fd_write_all(int fd, const void *buf, size_t len)
{
        const char *p = buf;
        while (len > 0) {
                ssize_t w = write(fd, p, len);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0)
                        return -errno;
                p += w;
                len -= (size_t)w;
        }
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

/* ---- fs_chown_tree ---- */

#define CHOWN_DEPTH_MAX 512 /* deeper trees are refused (payload paths are <= 1024 chars) */

struct chown_walk {
        uid_t uid, from;
        gid_t gid;
        /* hard-linked files already changed: seen again under another name */
        struct {
                dev_t dev;
                ino_t ino;
        } * links;
        size_t n_links;
};

static bool chown_seen(const struct chown_walk *w, const struct stat *st)
{
        for (size_t i = 0; i < w->n_links; i++)
                if (w->links[i].dev == st->st_dev && w->links[i].ino == st->st_ino)
                        return true;
        return false;
}

static int chown_one(struct chown_walk *w, int dfd, const char *name, const struct stat *st)
{
        if (w->from != (uid_t)-1 && st->st_uid != w->from) {
                if (S_ISREG(st->st_mode) && st->st_nlink > 1 && chown_seen(w, st))
                        return 0;
                return -EPERM;
        }
        if (fchownat(dfd, name, w->uid, w->gid, AT_SYMLINK_NOFOLLOW) < 0)
                return -errno;
        if (S_ISREG(st->st_mode) && st->st_nlink > 1) {
                w->links = xrealloc(w->links, (w->n_links + 1) * sizeof(*w->links));
                w->links[w->n_links].dev = st->st_dev;
                w->links[w->n_links].ino = st->st_ino;
                w->n_links++;
        }
        return 0;
}

static int chown_dir(struct chown_walk *w, int fd, unsigned depth)
{
        if (depth > CHOWN_DEPTH_MAX)
                return -ELOOP;
        int dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (dup < 0)
                return -errno;
        DIR *d = fdopendir(dup);
        if (!d) {
                close(dup);
                return -errno;
        }
        rewinddir(d); /* the dup shares its offset with fd, maybe read before */
        int r = 0;
        struct dirent *e;
        while (r == 0 && (e = readdir(d))) {
                struct stat st;
                if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                        continue;
                if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = -errno;
                        break;
                }
                r = chown_one(w, fd, e->d_name, &st);
                if (r == 0 && S_ISDIR(st.st_mode)) {
                        int sub =
                            openat(fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub < 0)
                                r = -errno;
                        else {
                                r = chown_dir(w, sub, depth + 1);
                                close(sub);
                        }
                }
        }
        closedir(d);
        return r;
}

int fs_chown_tree(int dirfd, uid_t uid, gid_t gid, uid_t only_from)
{
        struct chown_walk w = {.uid = uid, .gid = gid, .from = only_from};
        struct stat st;
        int r;
        if (fstat(dirfd, &st) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        if (only_from != (uid_t)-1 && st.st_uid != only_from && st.st_uid != uid)
                return -EPERM;
        r = chown_dir(&w, dirfd, 0);
        if (r == 0 && fchown(dirfd, uid, gid) < 0)
                r = -errno;
        free(w.links);
        return r;
}
