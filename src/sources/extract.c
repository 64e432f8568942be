/* Extracting a pup archive with libarchive, safely: every entry name is
 * checked, symlinks must stay inside, hard links must point to files
 * earlier in the archive, no devices, and entry and byte limits. Runs in
 * the fetch helper only: the daemon does not link libarchive. */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include "core/json.h"
#include "core/macro.h"
#include "sources/internal.h"

#define EXTRACT_BLOCK 10240 /* libarchive read block size */

/* Normalize an archive path: strip "./" and empty components. NULL with
 * *why set when it is absolute, has "..", or is empty. */
static char *clean_path(const char *p, const char **why)
{
        if (!p || !*p) {
                *why = "has an empty name";
                return NULL;
        }
        if (p[0] == '/') {
                *why = "is an absolute path";
                return NULL;
        }
        if (strlen(p) > SOURCES_PUP_PATH_MAX) {
                *why = "has a path longer than 1024 characters";
                return NULL;
        }
        char *out = xmalloc(strlen(p) + 1);
        size_t n = 0;
        const char *s = p;
        while (*s) {
                const char *e = strchrnul(s, '/');
                size_t len = (size_t)(e - s);
                if (len == 2 && s[0] == '.' && s[1] == '.') {
                        free(out);
                        *why = "contains \"..\"";
                        return NULL;
                }
                if (len > 0 && !(len == 1 && s[0] == '.')) {
                        if (n)
                                out[n++] = '/';
                        memcpy(out + n, s, len);
                        n += len;
                }
                s = *e ? e + 1 : e;
        }
        out[n] = '\0';
        if (n == 0) {
                free(out);
                *why = NULL; /* "./": the root itself */
                return NULL;
        }
        return out;
}

/* Does a symlink at path (relative) with target stay inside, lexically? */
static bool link_inside(const char *path, const char *target)
{
        if (target[0] == '/' || !*target)
                return false;
        int depth = 0;
        for (const char *s = path; *s; s++)
                if (*s == '/')
                        depth++; /* folders above the link, inside the root */
        const char *s = target;
        while (*s) {
                const char *e = strchrnul(s, '/');
                size_t len = (size_t)(e - s);
                if (len == 2 && s[0] == '.' && s[1] == '.') {
                        if (--depth < 0)
                                return false;
                } else if (len > 0 && !(len == 1 && s[0] == '.'))
                        depth++;
                s = *e ? e + 1 : e;
        }
        return true;
}

static void archive_readp(struct archive **a)
{
        if (*a)
                archive_read_free(*a);
}

static void archive_writep(struct archive **a)
{
        if (*a)
                archive_write_free(*a);
}

int payload_extract(const char *archive, const char *to, struct payload_limits *lim,
                    struct dbx_error *err)
{
        _cleanup_(archive_readp) struct archive *in = archive_read_new();
        _cleanup_(archive_writep) struct archive *out = archive_write_disk_new();
        _cleanup_json_ json_t *files = json_object(); /* regular files so far: hardlink targets */
        struct archive_entry *e;
        uint64_t entries = 0, bytes = 0;
        int r;

        archive_read_support_filter_all(in);
        archive_read_support_format_tar(in);
        /* Entries get absolute names under the real path of to (workers cannot
         * chdir), so the absolute-path refusal is ours (clean_path), not
         * libarchive's; it still refuses to write through symlinks. */
        char root[PATH_MAX];
        if (!realpath(to, root))
                return dbx_error_set(err, -errno, "", "%s: %s", to, strerror(errno));
        to = root;
        archive_write_disk_set_options(
            out, ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                     ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_NO_OVERWRITE);
        if (archive_read_open_filename(in, archive, EXTRACT_BLOCK) != ARCHIVE_OK)
                return dbx_error_set(err, -EINVAL, "",
                                     "the archive is damaged or not a tar archive: %s",
                                     archive_error_string(in));
        for (;;) {
                const char *why = NULL;
                r = archive_read_next_header(in, &e);
                if (r == ARCHIVE_EOF)
                        break;
                if (r < ARCHIVE_WARN)
                        return dbx_error_set(err, -EINVAL, "",
                                             "the archive is damaged or not a tar archive: %s",
                                             archive_error_string(in));
                const char *name = archive_entry_pathname(e);
                _cleanup_free_ char *path = clean_path(name, &why);
                if (!path) {
                        if (!why)
                                continue; /* the root folder entry */
                        return dbx_error_set(err, -EPERM, "", "archive entry \"%.100s\" %s",
                                             name ? name : "", why);
                }
                if (++entries > lim->entries)
                        return dbx_error_set(err, -EFBIG, "",
                                             "the archive has more than %llu entries",
                                             (unsigned long long)lim->entries);
                mode_t type = archive_entry_filetype(e);
                const char *hl = archive_entry_hardlink(e);
                if (hl) {
                        _cleanup_free_ char *target = clean_path(hl, &why);
                        if (!target || !json_object_get(files, target))
                                return dbx_error_set(err, -EPERM, "",
                                                     "archive entry \"%s\" is a hard link to "
                                                     "\"%.100s\", which is not a file earlier in "
                                                     "the archive",
                                                     path, hl);
                        _cleanup_free_ char *abs = xasprintf("%s/%s", to, target);
                        archive_entry_set_hardlink(e, abs);
                        archive_entry_set_size(e, 0);
                } else if (type == AE_IFLNK) {
                        const char *target = archive_entry_symlink(e);
                        if (!target || !link_inside(path, target))
                                return dbx_error_set(err, -EPERM, "",
                                                     "archive entry \"%s\" is a symlink to "
                                                     "\"%.100s\", outside the pup",
                                                     path, target ? target : "");
                } else if (type == AE_IFREG) {
                        json_object_set_new(files, path, json_true());
                        archive_entry_set_perm(e, (archive_entry_perm(e) & 0111) ? 0755 : 0644);
                } else if (type == AE_IFDIR) {
                        archive_entry_set_perm(e, 0755);
                } else {
                        return dbx_error_set(err, -EPERM, "",
                                             "archive entry \"%s\" is a device, fifo or socket: a "
                                             "pup holds only files, folders and links",
                                             path);
                }
                if (archive_entry_size(e) > 0) {
                        bytes += (uint64_t)archive_entry_size(e);
                        if (bytes > lim->bytes)
                                return dbx_error_set(err, -EFBIG, "",
                                                     "the archive unpacks to more than %llu MiB",
                                                     (unsigned long long)(lim->bytes >> 20));
                }
                _cleanup_free_ char *abs = xasprintf("%s/%s", to, path);
                archive_entry_set_pathname(e, abs);
                archive_entry_set_uid(e, 0);
                archive_entry_set_gid(e, 0);
                if (archive_write_header(out, e) < ARCHIVE_WARN)
                        return dbx_error_set(err, -EPERM, "", "archive entry \"%s\": %s", path,
                                             archive_error_string(out));
                if (type != AE_IFREG || hl)
                        continue;
                uint64_t written = 0;
                for (;;) {
                        const void *buf;
                        size_t size;
                        la_int64_t off;
                        r = archive_read_data_block(in, &buf, &size, &off);
                        if (r == ARCHIVE_EOF)
                                break;
                        if (r < ARCHIVE_WARN)
                                return dbx_error_set(err, -EINVAL, "",
                                                     "archive entry \"%s\" is damaged: %s", path,
                                                     archive_error_string(in));
                        written += size;
                        if (written > (uint64_t)archive_entry_size(e))
                                return dbx_error_set(err, -EINVAL, "",
                                                     "archive entry \"%s\" holds more data than "
                                                     "its header says",
                                                     path);
                        if (archive_write_data_block(out, buf, size, off) < ARCHIVE_WARN)
                                return dbx_error_set(err, -EIO, "", "writing \"%s\": %s", path,
                                                     archive_error_string(out));
                }
                if (archive_write_finish_entry(out) < ARCHIVE_WARN)
                        return dbx_error_set(err, -EIO, "", "writing \"%s\": %s", path,
                                             archive_error_string(out));
        }
        if (archive_write_close(out) < ARCHIVE_WARN)
                return dbx_error_set(err, -EIO, "", "finishing the extraction: %s",
                                     archive_error_string(out));
        if (entries == 0)
                return dbx_error_set(err, -EINVAL, "", "the archive is empty");
        return 0;
}
