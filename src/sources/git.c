/* Git sources (libgit2). A bare mirror of the repository's tags lives in
 * DATA/cache/sources/<key>/git; a load fetches every tag into it
 * (pruning deleted tags) and reads dogebox.json and the manifests straight
 * from each semver tag's tree: no checkout, no working copy. Tags are read
 * from the lowest version to the highest, so when several tags carry the
 * same pup version the first tag that published it is the one listed. */
#include <fcntl.h>
#include <ftw.h>
#include <git2.h>
#include <pthread.h>
#include <sys/stat.h>
#include "core/fsutil.h"
#include "core/macro.h"
#include "core/util.h"
#include "sources/internal.h"

#define GIT_REFSPEC "+refs/tags/*:refs/tags/*"

static const char *git_msg(void)
{
        const git_error *e = git_error_last();
        return e && e->message ? e->message : "unknown libgit2 error";
}

static pthread_once_t git_once = PTHREAD_ONCE_INIT;

static void git_init_once(void)
{
        git_libgit2_init();
}

void git_global_init(void)
{
        pthread_once(&git_once, git_init_once);
}

char *git_mirror_path(const char *cache_dir)
{
        return xasprintf("%s/git", cache_dir);
}

struct fetch_state {
        uint64_t started_us;
        long timeout_ms;
        const atomic_bool *cancel;
        bool too_big, too_slow, cancelled;
};

static int on_transfer(const git_indexer_progress *stats, void *payload)
{
        struct fetch_state *st = payload;
        if (st->cancel && atomic_load(st->cancel)) {
                st->cancelled = true;
                return -1;
        }
        if (stats->received_bytes > SOURCES_GIT_FETCH_MAX) {
                st->too_big = true;
                return -1;
        }
        if ((now_mono_usec() - st->started_us) / 1000 > (uint64_t)st->timeout_ms) {
                st->too_slow = true;
                return -1;
        }
        return 0;
}

/* A crash in the middle of a fetch can leave git's lock files behind,
 * and then every later fetch fails. Only one load of a source runs at a
 * time, so whatever lock is there when a load starts is stale. */
static int unlink_lock(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
        size_t n = strlen(path);
        if (type == FTW_F && n > 5 && streq(path + n - 5, ".lock"))
                unlink(path);
        return 0;
}

/* Open (creating if needed) the mirror and fetch the remote's tags. */
/* remote is what libgit2 fetches; url names it in messages. */
static int mirror_update(const char *path, const char *url, const char *remote, long timeout_ms,
                         const atomic_bool *cancel, git_repository **ret, struct dbx_error *err)
{
        git_repository *repo = NULL;
        git_remote *rem = NULL;
        int r;

        nftw(path, unlink_lock, 16, FTW_PHYS | FTW_MOUNT);
        if (git_repository_open_bare(&repo, path) < 0) {
                fs_rm_rf(path);
                r = fs_mkdir_p(path, 0700);
                if (r < 0)
                        return dbx_error_set(err, r, "", "cannot create the git cache %s: %s", path,
                                             strerror(-r));
                if (git_repository_init(&repo, path, 1) < 0)
                        return dbx_error_set(err, -EIO, "", "cannot create the git cache %s: %s",
                                             path, git_msg());
        }
        /* An anonymous remote with the refspec given at fetch time: no remote
         * config to read or write (libgit2 1.5 leaks regex match data on
         * every named-remote lookup) and no url.insteadOf rewriting. */
        git_remote_create_options copts;
        git_remote_create_options_init(&copts, GIT_REMOTE_CREATE_OPTIONS_VERSION);
        copts.repository = repo;
        copts.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
        if (git_remote_create_with_opts(&rem, remote, &copts) < 0) {
                git_repository_free(repo);
                return dbx_error_set(err, -EINVAL, "", "%s is not a usable git URL: %s", url,
                                     git_msg());
        }

        struct fetch_state st = {
            .started_us = now_mono_usec(), .timeout_ms = timeout_ms, .cancel = cancel};
        git_fetch_options opts;
        git_fetch_options_init(&opts, GIT_FETCH_OPTIONS_VERSION);
        opts.prune = GIT_FETCH_PRUNE;
        opts.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE; /* the refspec says it all */
        opts.callbacks.transfer_progress = on_transfer;
        opts.callbacks.payload = &st;
        char *refspec = (char *)GIT_REFSPEC;
        git_strarray refspecs = {.strings = &refspec, .count = 1};
        r = git_remote_fetch(rem, &refspecs, &opts, "dogeboxd: refresh source");
        git_remote_free(rem);
        if (r < 0) {
                git_repository_free(repo);
                if (st.cancelled)
                        return dbx_error_set(err, -ECANCELED, "",
                                             "git fetch from %s was cancelled: dogeboxd is "
                                             "stopping",
                                             url);
                if (st.too_big)
                        return dbx_error_set(err, -EFBIG, "",
                                             "git fetch from %s stopped: more than %llu MiB", url,
                                             (unsigned long long)(SOURCES_GIT_FETCH_MAX >> 20));
                if (st.too_slow)
                        return dbx_error_set(err, -ETIMEDOUT, "",
                                             "git fetch from %s stopped: it took longer than %ld "
                                             "s",
                                             url, timeout_ms / 1000);
                return dbx_error_set(err, -EIO, "", "git fetch from %s failed: %s", url, git_msg());
        }
        *ret = repo;
        return 0;
}

struct gtree {
        git_repository *repo;
        git_tree *tree;
        const char *tag;
};

static int gtree_read(void *ud, const char *path, size_t max, char **ret, size_t *ret_len,
                      struct dbx_error *err)
{
        struct gtree *g = ud;
        git_tree_entry *e = NULL;
        git_blob *blob = NULL;
        int r = git_tree_entry_bypath(&e, g->tree, path);
        if (r == GIT_ENOTFOUND)
                return dbx_error_set(err, -ENOENT, "", "%s does not exist at %s", path, g->tag);
        if (r < 0)
                return dbx_error_set(err, -EIO, "", "%s at %s: %s", path, g->tag, git_msg());
        if (git_tree_entry_type(e) != GIT_OBJECT_BLOB ||
            git_tree_entry_filemode(e) == GIT_FILEMODE_LINK) {
                git_tree_entry_free(e);
                return dbx_error_set(err, -EINVAL, "", "%s at %s is not a regular file", path,
                                     g->tag);
        }
        r = git_blob_lookup(&blob, g->repo, git_tree_entry_id(e));
        git_tree_entry_free(e);
        if (r < 0)
                return dbx_error_set(err, -EIO, "", "%s at %s: %s", path, g->tag, git_msg());
        git_object_size_t size = git_blob_rawsize(blob);
        if (size > max) {
                git_blob_free(blob);
                return dbx_error_set(err, -EFBIG, "",
                                     "%s at %s is %llu bytes, at most %zu are "
                                     "allowed",
                                     path, g->tag, (unsigned long long)size, max);
        }
        char *buf = xmalloc((size_t)size + 1);
        memcpy(buf, git_blob_rawcontent(blob), (size_t)size);
        buf[size] = '\0';
        git_blob_free(blob);
        *ret = buf;
        *ret_len = (size_t)size;
        return 0;
}

static int gtree_pup_dirs(void *ud, char ***ret, size_t *ret_n, struct dbx_error *err)
{
        struct gtree *g = ud;
        size_t count = git_tree_entrycount(g->tree), n = 0;
        char **v = NULL;
        /* Tree entries are sorted by name already. */
        for (size_t i = 0; i < count && n < 4 * MANIFEST_SOURCE_PUPS_MAX; i++) {
                const git_tree_entry *e = git_tree_entry_byindex(g->tree, i);
                const char *name = git_tree_entry_name(e);
                git_tree_entry *m = NULL;
                if (git_tree_entry_type(e) != GIT_OBJECT_TREE || name[0] == '.')
                        continue;
                _cleanup_free_ char *p = xasprintf("%s/manifest.json", name);
                if (git_tree_entry_bypath(&m, g->tree, p) < 0)
                        continue;
                git_tree_entry_free(m);
                v = xrealloc(v, (n + 1) * sizeof(char *));
                v[n++] = xstrdup(name);
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

struct tagv {
        char *name;
        struct semver v;
};

static int tagv_cmp(const void *a, const void *b)
{
        const struct tagv *x = a, *y = b;
        int r = semver_cmp(&x->v, &y->v);
        return r ? r : strcmp(x->name, y->name);
}

static void repo_name_id(const char *url, char *out, size_t size)
{
        _cleanup_free_ char *u = xstrdup(url);
        size_t n = strlen(u);
        while (n > 0 && u[n - 1] == '/')
                u[--n] = '\0';
        if (n > 4 && streq(u + n - 4, ".git"))
                u[n - 4] = '\0';
        const char *b = strrchr(u, '/');
        if (!b)
                b = strrchr(u, ':');
        id_from_name(b ? b + 1 : u, out, size);
}

int git_load(const struct source_spec *spec, struct load_result *res, struct dbx_error *err)
{
        _cleanup_free_ char *mirror = git_mirror_path(spec->cache_dir), *last_error = NULL;
        _cleanup_catalog_ struct catalog *cat = NULL;
        git_repository *repo = NULL;
        git_strarray names = {0};
        struct tagv *tags = NULL;
        size_t n = 0, scanned = 0;
        char id[MANIFEST_SOURCE_ID_MAX + 1];
        int r;

        r = mirror_update(mirror, spec->location, spec->remote ? spec->remote : spec->location,
                          SOURCES_GIT_TIMEOUT_MS, spec->cancel, &repo, err);
        if (r < 0)
                return r;
        if (git_tag_list(&names, repo) < 0) {
                r = dbx_error_set(err, -EIO, "", "cannot list the tags of %s: %s", spec->location,
                                  git_msg());
                goto out;
        }
        tags = xcalloc(names.count ? names.count : 1, sizeof(*tags));
        for (size_t i = 0; i < names.count; i++)
                if (semver_parse(names.strings[i], SEMVER_ALLOW_V, &tags[n].v, NULL) == 0)
                        tags[n++].name = names.strings[i];
        if (n == 0) {
                r = dbx_error_set(err, -ENOENT, "",
                                  "%s has no version tags (v1.2.3): a git source offers the pups "
                                  "of its semver tags",
                                  spec->location);
                goto out;
        }
        qsort(tags, n, sizeof(*tags), tagv_cmp);
        size_t first = n > SOURCES_GIT_TAGS_MAX ? n - SOURCES_GIT_TAGS_MAX : 0;

        cat = catalog_new();
        repo_name_id(spec->location, id, sizeof(id));
        if (first > 0)
                catalog_warn(cat, "%zu version tags: only the highest %d are read", n,
                             SOURCES_GIT_TAGS_MAX);
        for (size_t i = first; i < n; i++) {
                _cleanup_free_ char *ref = xasprintf("refs/tags/%s", tags[i].name);
                git_object *obj = NULL;
                git_tree *tree = NULL;
                char commit[GIT_OID_HEXSZ + 1], ver[SEMVER_MAX_LEN * 3];
                struct dbx_error terr = {0};

                if (git_revparse_single(&obj, repo, ref) < 0) {
                        catalog_warn(cat, "tag %s cannot be read: %s", tags[i].name, git_msg());
                        continue;
                }
                git_object *peeled = NULL;
                r = git_object_peel(&peeled, obj, GIT_OBJECT_COMMIT);
                git_object_free(obj);
                if (r < 0) {
                        catalog_warn(cat, "tag %s does not point to a commit", tags[i].name);
                        continue;
                }
                git_oid_tostr(commit, sizeof(commit), git_object_id(peeled));
                r = git_commit_tree(&tree, (git_commit *)peeled);
                git_object_free(peeled);
                if (r < 0) {
                        catalog_warn(cat, "tag %s: %s", tags[i].name, git_msg());
                        continue;
                }
                semver_format(&tags[i].v, ver, sizeof(ver));
                struct gtree g = {.repo = repo, .tree = tree, .tag = tags[i].name};
                struct tree_reader t = {.read = gtree_read, .pup_dirs = gtree_pup_dirs, .ud = &g};
                size_t before = cat->n;
                r = tree_scan(cat, &t, id, ver, tags[i].name, &terr);
                git_tree_free(tree);
                if (r < 0) {
                        catalog_warn(cat, "tag %s: %s", tags[i].name, terr.message);
                        free(last_error);
                        last_error = xasprintf("tag %s: %s", tags[i].name, terr.message);
                        continue;
                }
                scanned++;
                for (size_t k = before; k < cat->n; k++)
                        memcpy(cat->versions[k].commit, commit, sizeof(commit));
        }
        if (scanned == 0) {
                r = dbx_error_set(err, -EINVAL, "", "no tag of %s could be read: %s",
                                  spec->location, last_error ? last_error : "no usable tags");
                goto out;
        }
        catalog_finish(cat);
        res->catalog = TAKE_PTR(cat);
        res->location = xstrdup(spec->location);
        r = 0;
out:
        free(tags);
        git_strarray_dispose(&names);
        git_repository_free(repo);
        return r;
}

/* ---- materializing a tag's subtree ---- */

struct gx {
        git_repository *repo;
        struct payload_limits *lim;
        uint64_t entries, bytes;
        struct dbx_error *err;
};

static int write_blob(struct gx *x, const git_tree_entry *e, int dirfd, const char *name,
                      const char *path)
{
        git_blob *blob = NULL;
        if (git_blob_lookup(&blob, x->repo, git_tree_entry_id(e)) < 0)
                return dbx_error_set(x->err, -EIO, "", "%s: %s", path, git_msg());
        size_t size = (size_t)git_blob_rawsize(blob);
        const char *data = git_blob_rawcontent(blob);
        int r = 0;
        x->bytes += size;
        if (x->bytes > x->lim->bytes) {
                r = dbx_error_set(x->err, -EFBIG, "", "the pup is larger than %llu MiB",
                                  (unsigned long long)(x->lim->bytes >> 20));
        } else if (git_tree_entry_filemode(e) == GIT_FILEMODE_LINK) {
                _cleanup_free_ char *target = xstrndup(data, size);
                if (strlen(target) != size || size == 0 || size > SOURCES_PUP_PATH_MAX)
                        r = dbx_error_set(x->err, -EINVAL, "", "%s is not a usable symlink", path);
                else if (symlinkat(target, dirfd, name) < 0)
                        r = dbx_error_set(x->err, -errno, "", "%s: %s", path, strerror(errno));
        } else {
                mode_t mode =
                    git_tree_entry_filemode(e) == GIT_FILEMODE_BLOB_EXECUTABLE ? 0755 : 0644;
                _cleanup_close_ int fd =
                    openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
                if (fd < 0)
                        r = dbx_error_set(x->err, -errno, "", "%s: %s", path, strerror(errno));
                for (size_t off = 0; r == 0 && off < size;) {
                        ssize_t w = write(fd, data + off, size - off);
                        if (w < 0 && errno == EINTR)
                                continue;
                        if (w <= 0)
                                r = dbx_error_set(x->err, -errno, "", "%s: %s", path,
                                                  strerror(errno));
                        else
                                off += (size_t)w;
                }
        }
        git_blob_free(blob);
        return r;
}

static int write_tree(struct gx *x, const git_tree *tree, int dirfd, const char *prefix)
{
        size_t count = git_tree_entrycount(tree);
        for (size_t i = 0; i < count; i++) {
                const git_tree_entry *e = git_tree_entry_byindex(tree, i);
                const char *name = git_tree_entry_name(e);
                _cleanup_free_ char *path =
                    *prefix ? xasprintf("%s/%s", prefix, name) : xstrdup(name);
                int r;
                if (++x->entries > x->lim->entries)
                        return dbx_error_set(x->err, -EFBIG, "", "the pup has more than %llu files",
                                             (unsigned long long)x->lim->entries);
                if (strlen(path) > SOURCES_PUP_PATH_MAX)
                        return dbx_error_set(x->err, -ENAMETOOLONG, "", "%.64s...: path too long",
                                             path);
                switch (git_tree_entry_type(e)) {
                case GIT_OBJECT_TREE: {
                        git_tree *sub = NULL;
                        if (mkdirat(dirfd, name, 0755) < 0)
                                return dbx_error_set(x->err, -errno, "", "%s: %s", path,
                                                     strerror(errno));
                        _cleanup_close_ int fd =
                            openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                        if (fd < 0)
                                return dbx_error_set(x->err, -errno, "", "%s: %s", path,
                                                     strerror(errno));
                        if (git_tree_lookup(&sub, x->repo, git_tree_entry_id(e)) < 0)
                                return dbx_error_set(x->err, -EIO, "", "%s: %s", path, git_msg());
                        r = write_tree(x, sub, fd, path);
                        git_tree_free(sub);
                        if (r < 0)
                                return r;
                        break;
                }
                case GIT_OBJECT_BLOB:
                        r = write_blob(x, e, dirfd, name, path);
                        if (r < 0)
                                return r;
                        break;
                default:
                        return dbx_error_set(x->err, -EOPNOTSUPP, "",
                                             "%s is a git submodule: pups cannot use submodules",
                                             path);
                }
        }
        return 0;
}

int git_extract(const char *mirror, const char *commit, const char *subpath, const char *to,
                struct payload_limits *lim, struct dbx_error *err)
{
        git_repository *repo = NULL;
        git_commit *c = NULL;
        git_tree *root = NULL, *tree = NULL;
        git_tree_entry *e = NULL;
        _cleanup_close_ int fd = -1;
        git_oid oid;
        int r;

        if (git_oid_fromstr(&oid, commit) < 0)
                return dbx_error_set(err, -EINVAL, "", "\"%s\" is not a commit id", commit);
        if (git_repository_open_bare(&repo, mirror) < 0)
                return dbx_error_set(err, -ENOENT, "",
                                     "the source's git cache is missing: refresh the source");
        if (git_commit_lookup(&c, repo, &oid) < 0) {
                r = dbx_error_set(err, -ENOENT, "",
                                  "commit %s is no longer in the source: refresh the source",
                                  commit);
                goto out;
        }
        if (git_commit_tree(&root, c) < 0) {
                r = dbx_error_set(err, -EIO, "", "commit %s: %s", commit, git_msg());
                goto out;
        }
        if (*subpath) {
                if (git_tree_entry_bypath(&e, root, subpath) < 0 ||
                    git_tree_entry_type(e) != GIT_OBJECT_TREE ||
                    git_tree_lookup(&tree, repo, git_tree_entry_id(e)) < 0) {
                        r = dbx_error_set(err, -ENOENT, "", "%s is not a folder at commit %s",
                                          subpath, commit);
                        goto out;
                }
        }
        fd = open(to, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0) {
                r = dbx_error_set(err, -errno, "", "%s: %s", to, strerror(errno));
                goto out;
        }
        struct gx x = {.repo = repo, .lim = lim, .err = err};
        r = write_tree(&x, tree ? tree : root, fd, "");
out:
        git_tree_entry_free(e);
        git_tree_free(tree);
        git_tree_free(root);
        git_commit_free(c);
        git_repository_free(repo);
        return r;
}
