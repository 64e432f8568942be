/* File-system helpers. Everything written outside SQLite goes through
 * fs_write_atomic so a crash leaves either the old or the new file. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* temp file in the same dir, write, fsync, rename over path, fsync dir. */
int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* Write all len bytes to fd (retrying short writes and EINTR); 0 or -errno. */
int fd_write_all(int fd, const void *buf, size_t len);

/* mkdir -p with mode for created components. */
int fs_mkdir_p(const char *path, mode_t mode);

/* rm -rf that never crosses mount points or follows symlinks. */
int fs_rm_rf(const char *path);

/* Read a whole file of at most max bytes (-EFBIG beyond). NUL-terminated. */
int fs_read_file(const char *path, size_t max, char **ret, size_t *ret_len);

/* Bytes used by a tree (st_blocks), not following symlinks. */
int fs_disk_usage(const char *path, unsigned long long *ret);

int fs_fsync_dir(const char *dir);

/* chown -R of the directory dirfd (and everything below it, never
 * following symlinks or crossing into another directory by name) to
 * uid:gid. only_from != (uid_t)-1: every entry must belong to that uid
 * (hard links to a file already changed excepted), else -EPERM and the
 * walk stops: a tree written by an unprivileged process is taken over
 * only when it holds nothing that process did not create. */
int fs_chown_tree(int dirfd, uid_t uid, gid_t gid, uid_t only_from);
