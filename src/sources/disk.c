/* Disk sources: a local folder, rescanned on every load. Files are opened
 * with openat2(RESOLVE_BENEATH) from the folder, so a symlink in a pup
 * cannot make the daemon read anything outside the source. */
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include "core/macro.h"
#include "sources/internal.h"

int openat_beneath(int dirfd, const char *path, int flags)
{
        struct open_how how = {
            .flags = (uint64_t)(flags | O_CLOEXEC),
            .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
        };
        int fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
        return fd < 0 ? -errno : fd;
}

struct disk {
        int rootfd;
        const char *root;
};

static int read_fd(int fd, const char *path, size_t max, char **ret, size_t *ret_len,
                   struct dbx_error *err)
{
        struct stat st;
        if (fstat(fd, &st) < 0)
                return dbx_error_set(err, -errno, "", "%s: %s", path, strerror(errno));
        if (!S_ISREG(st.st_mode))
                return dbx_error_set(err, -EINVAL, "", "%s is not a regular file", path);
        if ((uint64_t)st.st_size > max)
                return dbx_error_set(err, -EFBIG, "", "%s is %lld bytes, at most %zu are allowed",
                                     path, (long long)st.st_size, max);
        _cleanup_free_ char *buf = xmalloc((size_t)st.st_size + 1);
        size_t len = 0;
        while (len < (size_t)st.st_size) {
                ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return dbx_error_set(err, -errno, "", "%s: %s", path, strerror(errno));
                if (n == 0)
                        break;
                len += (size_t)n;
        }
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        *ret_len = len;
        return 0;
}

static int disk_read(void *ud, const char *path, size_t max, char **ret, size_t *ret_len,
                     struct dbx_error *err)
{
        struct disk *d = ud;
        _cleanup_close_ int fd = openat_beneath(d->rootfd, path, O_RDONLY);
        if (fd == -ENOENT)
                return dbx_error_set(err, -ENOENT, "", "%s does not exist", path);
        if (fd == -EXDEV || fd == -ELOOP)
                return dbx_error_set(err, -EXDEV, "", "%s points outside the source folder", path);
        if (fd < 0)
                return dbx_error_set(err, fd, "", "%s cannot be opened: %s", path, strerror(-fd));
        return read_fd(fd, path, max, ret, ret_len, err);
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static int disk_pup_dirs(void *ud, char ***ret, size_t *ret_n, struct dbx_error *err)
{
        struct disk *d = ud;
        int fd = fcntl(d->rootfd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return dbx_error_set(err, -errno, "", "%s: %s", d->root, strerror(errno));
        DIR *dir = fdopendir(fd);
        if (!dir) {
                close(fd);
                return dbx_error_set(err, -errno, "", "%s: %s", d->root, strerror(errno));
        }
        rewinddir(dir);
        char **v = NULL;
        size_t n = 0;
        struct dirent *e;
        while ((e = readdir(dir))) {
                struct stat st;
                if (e->d_name[0] == '.')
                        continue;
                if (fstatat(dirfd(dir), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
                    !S_ISDIR(st.st_mode))
                        continue;
                _cleanup_free_ char *m = xasprintf("%s/manifest.json", e->d_name);
                int mfd = openat_beneath(d->rootfd, m, O_RDONLY);
                if (mfd < 0)
                        continue;
                close(mfd);
                if (n >= 4 * MANIFEST_SOURCE_PUPS_MAX)
                        break; /* enough to say "too many" */
                v = xrealloc(v, (n + 1) * sizeof(char *));
                v[n++] = xstrdup(e->d_name);
        }
        closedir(dir);
        if (n > 1)
                qsort(v, n, sizeof(char *), cmp_str);
        *ret = v;
        *ret_n = n;
        return 0;
}

int disk_load(const struct source_spec *spec, struct load_result *res, struct dbx_error *err)
{
        char real[PATH_MAX], id[MANIFEST_SOURCE_ID_MAX + 1];
        struct stat st;

        if (!realpath(spec->location, real))
                return dbx_error_set(err, -errno, "", "folder %s: %s", spec->location,
                                     strerror(errno));
        if (stat(real, &st) < 0 || !S_ISDIR(st.st_mode))
                return dbx_error_set(err, -ENOTDIR, "", "%s is not a folder", spec->location);
        _cleanup_close_ int fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return dbx_error_set(err, -errno, "", "folder %s cannot be read: %s", real,
                                     strerror(errno));
        struct disk d = {.rootfd = fd, .root = real};
        struct tree_reader t = {.read = disk_read, .pup_dirs = disk_pup_dirs, .ud = &d};
        const char *base = strrchr(real, '/');
        id_from_name(base && base[1] ? base + 1 : "disk", id, sizeof(id));

        _cleanup_catalog_ struct catalog *cat = catalog_new();
        int r = tree_scan(cat, &t, id, "unknown", NULL, err);
        if (r < 0)
                return r;
        catalog_finish(cat);
        res->catalog = TAKE_PTR(cat);
        res->location = xstrdup(real);
        return 0;
}
