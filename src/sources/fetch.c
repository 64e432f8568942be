/* sources_fetch_pup(): materialize one pup version's payload for an
 * install. Runs on a worker; git and http payloads are written by the
 * fetch helper (remote.c). The payload is built in a sibling temp
 * folder, checked (symlinks stay inside, manifest valid and the one that
 * was listed) and only then renamed to the destination. */
#include <fcntl.h>
#include <sys/stat.h>
#include "core/fsutil.h"
#include "core/macro.h"
#include "core/util.h"
#include "manifest/manifest.h"
#include "sources/internal.h"

static int check_manifest(const struct sources_pup *p, const char *dir, struct dbx_error *err)
{
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *buf = NULL;
        _cleanup_manifest_ struct manifest *m = NULL;
        struct dbx_errors errs = {0};
        struct stat st;

        if (dfd < 0)
                return dbx_error_set(err, -errno, "", "%s: %s", dir, strerror(errno));
        fd = openat_beneath(dfd, "manifest.json", O_RDONLY);
        if (fd < 0)
                return dbx_error_set(err, -ENOENT, "",
                                     "the payload of %s %s has no manifest.json at its top",
                                     p->name, p->version);
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > MANIFEST_SIZE_MAX)
                return dbx_error_set(err, -EINVAL, "",
                                     "the payload's manifest.json is not a regular file of at most "
                                     "%d bytes",
                                     MANIFEST_SIZE_MAX);
        buf = xmalloc((size_t)st.st_size + 1);
        ssize_t n = read(fd, buf, (size_t)st.st_size);
        if (n != st.st_size)
                return dbx_error_set(err, -EIO, "", "reading the payload's manifest.json failed");
        if (manifest_parse(buf, (size_t)n, &m, &errs, NULL) < 0) {
                char joined[DBX_ERROR_MSG_MAX];
                errors_join(&errs, joined, sizeof(joined));
                dbx_errors_free(&errs);
                return dbx_error_set(err, -EINVAL, "",
                                     "the payload's manifest.json is not valid: %s", joined);
        }
        if (!streq(m->meta.name, p->name) || !streq(m->meta.version, p->version))
                return dbx_error_set(
                    err, -ESTALE, "",
                    "the payload is \"%s\" %s, but \"%s\" %s was listed: the source "
                    "changed since it was loaded; refresh it and try again",
                    m->meta.name, m->meta.version, p->name, p->version);
        return 0;
}

int sources_fetch_pup(const struct sources_pup *p, const char *dest_dir, struct dbx_error *err)
{
        struct payload_limits lim = {.entries = SOURCES_PUP_ENTRIES_MAX,
                                     .bytes = SOURCES_PUP_BYTES_MAX};
        struct stat st;
        char rnd[33];
        int r;

        if (lstat(dest_dir, &st) == 0)
                return dbx_error_set(err, -EEXIST, "", "%s already exists", dest_dir);
        id_new32(rnd);
        _cleanup_free_ char *tmp = xasprintf("%s.tmp-%.8s", dest_dir, rnd);
        if (mkdir(tmp, 0755) < 0)
                return dbx_error_set(err, -errno, "", "cannot create %s: %s", tmp, strerror(errno));
        switch (p->kind) {
        case SOURCE_DISK: {
                _cleanup_free_ char *from = *p->subpath
                                                ? xasprintf("%s/%s", p->location, p->subpath)
                                                : xstrdup(p->location);
                r = payload_copy_dir(from, tmp, &lim, err);
                break;
        }
        case SOURCE_GIT:
        case SOURCE_HTTP:
                r = remote_fetch(p, tmp, err); /* in the fetch helper */
                break;
        default:
                r = dbx_error_set(err, -EINVAL, "", "unknown source kind");
        }
        if (r >= 0)
                r = payload_check_links(tmp, err);
        if (r >= 0)
                r = check_manifest(p, tmp, err);
        if (r >= 0 && rename(tmp, dest_dir) < 0)
                r = dbx_error_set(err, -errno, "", "cannot move the payload to %s: %s", dest_dir,
                                  strerror(errno));
        if (r < 0) {
                fs_rm_rf(tmp);
                return r;
        }
        _cleanup_free_ char *parent = xstrdup(dest_dir);
        char *slash = strrchr(parent, '/');
        if (slash && slash != parent) {
                *slash = '\0';
                fs_fsync_dir(parent);
        }
        return 0;
}
