/* Materializing a pup payload: copying a disk pup and the final check
 * that no symlink in the result leads outside it (archives are extracted
 * by the fetch helper, extract.c). Every path is checked and every tree has entry and byte
 * limits; errors name the offending entry. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include "core/json.h"
#include "core/macro.h"
#include "sources/internal.h"

#define COPY_BUF (128 * 1024)

/* ---- the symlink check ---- */

static int check_links_at(int rootfd, int dfd, const char *prefix, unsigned depth,
                          struct dbx_error *err)
{
        if (depth > SOURCES_PUP_PATH_MAX / 2)
                return dbx_error_set(err, -ELOOP, "", "%s: folders nested too deeply", prefix);
        int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return dbx_error_set(err, -errno, "", "%s: %s", prefix, strerror(errno));
        DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return dbx_error_set(err, -errno, "", "%s: %s", prefix, strerror(errno));
        }
        int r = 0;
        struct dirent *e;
        while (r == 0 && (e = readdir(d))) {
                struct stat st;
                if (streq(e->d_name, ".") || streq(e->d_name, ".."))
                        continue;
                _cleanup_free_ char *rel =
                    *prefix ? xasprintf("%s/%s", prefix, e->d_name) : xstrdup(e->d_name);
                if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = dbx_error_set(err, -errno, "", "%s: %s", rel, strerror(errno));
                } else if (S_ISLNK(st.st_mode)) {
                        int t = openat_beneath(rootfd, rel, O_PATH);
                        if (t >= 0)
                                close(t);
                        else if (t == -EXDEV || t == -ELOOP)
                                r = dbx_error_set(err, -EXDEV, "",
                                                  "%s is a symlink that leads outside the pup",
                                                  rel);
                        /* -ENOENT: dangling inside the pup, harmless */
                } else if (S_ISDIR(st.st_mode)) {
                        _cleanup_close_ int sub = openat(
                            dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (sub < 0)
                                r = dbx_error_set(err, -errno, "", "%s: %s", rel, strerror(errno));
                        else
                                r = check_links_at(rootfd, sub, rel, depth + 1, err);
                }
        }
        closedir(d);
        return r;
}

int payload_check_links(const char *root, struct dbx_error *err)
{
        _cleanup_close_ int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return dbx_error_set(err, -errno, "", "%s: %s", root, strerror(errno));
        return check_links_at(fd, fd, "", 0, err);
}

/* ---- copying a folder ---- */

struct copy {
        struct payload_limits *lim;
        uint64_t entries, bytes;
        struct dbx_error *err;
};

static int copy_file(struct copy *c, int from_dir, int to_dir, const char *name, const char *rel,
                     const struct stat *st)
{
        _cleanup_close_ int in = openat(from_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (in < 0)
                return dbx_error_set(c->err, -errno, "", "%s: %s", rel, strerror(errno));
        mode_t mode = (st->st_mode & 0111) ? 0755 : 0644;
        _cleanup_close_ int out =
            openat(to_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (out < 0)
                return dbx_error_set(c->err, -errno, "", "%s: %s", rel, strerror(errno));
        _cleanup_free_ char *buf = xmalloc(COPY_BUF);
        for (;;) {
                ssize_t n = read(in, buf, COPY_BUF);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return dbx_error_set(c->err, -errno, "", "%s: %s", rel, strerror(errno));
                if (n == 0)
                        return 0;
                c->bytes += (uint64_t)n;
                if (c->bytes > c->lim->bytes)
                        return dbx_error_set(c->err, -EFBIG, "", "the pup is larger than %llu MiB",
                                             (unsigned long long)(c->lim->bytes >> 20));
                for (ssize_t off = 0; off < n;) {
                        ssize_t w = write(out, buf + off, (size_t)(n - off));
                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w <= 0)
                                return dbx_error_set(c->err, -errno, "", "%s: %s", rel,
                                                     strerror(errno));
                        off += w;
                }
        }
}

static int copy_tree(struct copy *c, int from_dir, int to_dir, const char *prefix)
{
        int fd = fcntl(from_dir, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return dbx_error_set(c->err, -errno, "", "%s", strerror(errno));
        DIR *d = fdopendir(fd);
        if (!d) {
                close(fd);
                return dbx_error_set(c->err, -errno, "", "%s", strerror(errno));
        }
        int r = 0;
        struct dirent *e;
        while (r == 0 && (e = readdir(d))) {
                struct stat st;
                if (streq(e->d_name, ".") || streq(e->d_name, "..") || streq(e->d_name, ".git"))
                        continue;
                _cleanup_free_ char *rel =
                    *prefix ? xasprintf("%s/%s", prefix, e->d_name) : xstrdup(e->d_name);
                if (++c->entries > c->lim->entries) {
                        r = dbx_error_set(c->err, -EFBIG, "", "the pup has more than %llu files",
                                          (unsigned long long)c->lim->entries);
                        break;
                }
                if (strlen(rel) > SOURCES_PUP_PATH_MAX) {
                        r = dbx_error_set(c->err, -ENAMETOOLONG, "", "%.64s...: path too long",
                                          rel);
                        break;
                }
                if (fstatat(from_dir, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = dbx_error_set(c->err, -errno, "", "%s: %s", rel, strerror(errno));
                } else if (S_ISREG(st.st_mode)) {
                        r = copy_file(c, from_dir, to_dir, e->d_name, rel, &st);
                } else if (S_ISDIR(st.st_mode)) {
                        if (mkdirat(to_dir, e->d_name, 0755) < 0) {
                                r = dbx_error_set(c->err, -errno, "", "%s: %s", rel,
                                                  strerror(errno));
                                break;
                        }
                        _cleanup_close_ int f = openat(
                            from_dir, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        _cleanup_close_ int t = openat(
                            to_dir, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (f < 0 || t < 0)
                                r = dbx_error_set(c->err, -errno, "", "%s: %s", rel,
                                                  strerror(errno));
                        else
                                r = copy_tree(c, f, t, rel);
                } else if (S_ISLNK(st.st_mode)) {
                        char target[SOURCES_PUP_PATH_MAX + 1];
                        ssize_t n = readlinkat(from_dir, e->d_name, target, sizeof(target));
                        if (n < 0 || (size_t)n >= sizeof(target))
                                r = dbx_error_set(c->err, n < 0 ? -errno : -ENAMETOOLONG, "",
                                                  "%s: unreadable symlink", rel);
                        else {
                                target[n] = '\0';
                                if (symlinkat(target, to_dir, e->d_name) < 0)
                                        r = dbx_error_set(c->err, -errno, "", "%s: %s", rel,
                                                          strerror(errno));
                        }
                } else {
                        r = dbx_error_set(c->err, -EPERM, "",
                                          "%s is a device, fifo or socket: a pup holds only files, "
                                          "folders and symlinks",
                                          rel);
                }
        }
        closedir(d);
        return r;
}

int payload_copy_dir(const char *from, const char *to, struct payload_limits *lim,
                     struct dbx_error *err)
{
        _cleanup_close_ int f = open(from, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int t = open(to, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (f < 0)
                return dbx_error_set(err, -errno, "", "the pup folder %s: %s", from,
                                     strerror(errno));
        if (t < 0)
                return dbx_error_set(err, -errno, "", "%s: %s", to, strerror(errno));
        struct copy c = {.lim = lim, .err = err};
        return copy_tree(&c, f, t, "");
}
