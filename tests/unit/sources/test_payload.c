/* Payload tests: safe archive extraction (every refusal with its message,
 * limits), the symlink check on a materialized tree, folder copies, and
 * disk sources read into catalogs (layouts, invalid manifests, escapes). */
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <cmocka.h>
#include "core/fsutil.h"
#include "sources/internal.h"

static char dir[] = "/tmp/dbx-test-payload-XXXXXX";

static int setup(void **state)
{
        strcpy(dir, "/tmp/dbx-test-payload-XXXXXX");
        return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
        return fs_rm_rf(dir);
}

/* An entry for make_tar: type 'f' file, 'd' dir, 'l' symlink (data =
 * target), 'h' hard link (data = target), 'c' char device, 'p' fifo. */
struct ent {
        char type;
        const char *path;
        const char *data;
        unsigned mode;
};

static char *make_tar(const char *name, const struct ent *e, size_t n, bool gzip)
{
        char *path = xasprintf("%s/%s", dir, name);
        struct archive *a = archive_write_new();
        archive_write_set_format_pax_restricted(a);
        if (gzip)
                archive_write_add_filter_gzip(a);
        assert_int_equal(archive_write_open_filename(a, path), ARCHIVE_OK);
        for (size_t i = 0; i < n; i++) {
                struct archive_entry *ae = archive_entry_new();
                archive_entry_set_pathname(ae, e[i].path);
                archive_entry_set_perm(ae, e[i].mode ? e[i].mode : 0644);
                switch (e[i].type) {
                case 'f':
                        archive_entry_set_filetype(ae, AE_IFREG);
                        archive_entry_set_size(ae, (la_int64_t)strlen(e[i].data));
                        break;
                case 'd':
                        archive_entry_set_filetype(ae, AE_IFDIR);
                        break;
                case 'l':
                        archive_entry_set_filetype(ae, AE_IFLNK);
                        archive_entry_set_symlink(ae, e[i].data);
                        break;
                case 'h':
                        archive_entry_set_filetype(ae, AE_IFREG);
                        archive_entry_set_hardlink(ae, e[i].data);
                        break;
                case 'c':
                        archive_entry_set_filetype(ae, AE_IFCHR);
                        archive_entry_set_rdev(ae, makedev(1, 3));
                        break;
                case 'p':
                        archive_entry_set_filetype(ae, AE_IFIFO);
                        break;
                }
                assert_int_equal(archive_write_header(a, ae), ARCHIVE_OK);
                if (e[i].type == 'f')
                        archive_write_data(a, e[i].data, strlen(e[i].data));
                archive_entry_free(ae);
        }
        archive_write_close(a);
        archive_write_free(a);
        return path;
}

static char *fresh_dir(const char *name)
{
        char *p = xasprintf("%s/%s", dir, name);
        fs_rm_rf(p);
        assert_int_equal(mkdir(p, 0755), 0);
        return p;
}

static char *read_text(const char *path)
{
        char *buf = NULL;
        size_t len;
        assert_int_equal(fs_read_file(path, 1 << 20, &buf, &len), 0);
        return buf;
}

static void test_extract_good(void **state)
{
        static const struct ent good[] = {
            {'d', "./", NULL, 0755},
            {'f', "./manifest.json", "{}", 0644},
            {'d', "bin", NULL, 0755},
            {'f', "bin/run.sh", "#!/bin/sh\necho hi\n", 04755}, /* setuid is dropped */
            {'l', "bin/run", "run.sh", 0},
            {'l', "bin/up", "../manifest.json", 0},
            {'h', "copy.json", "manifest.json", 0},
            {'d', "empty//dir/", NULL, 0777},
        };
        struct payload_limits lim = {.entries = 100, .bytes = 1 << 20};
        struct dbx_error err = {0};
        for (int gz = 0; gz < 2; gz++) {
                _cleanup_free_ char *tar =
                    make_tar(gz ? "good.tgz" : "good.tar", good, ARRAY_SIZE(good), gz);
                _cleanup_free_ char *to = fresh_dir("out");
                if (payload_extract(tar, to, &lim, &err) < 0)
                        fail_msg("extract: %s", err.message);
                assert_int_equal(payload_check_links(to, &err), 0);
                _cleanup_free_ char *run = xasprintf("%s/bin/run.sh", to);
                struct stat st;
                assert_int_equal(stat(run, &st), 0);
                assert_int_equal(st.st_mode & 07777, 0755);
                _cleanup_free_ char *link = xasprintf("%s/bin/run", to), *t = read_text(link);
                assert_string_equal(t, "#!/bin/sh\necho hi\n");
                _cleanup_free_ char *copy = xasprintf("%s/copy.json", to), *c = read_text(copy);
                assert_string_equal(c, "{}");
                _cleanup_free_ char *empty = xasprintf("%s/empty/dir", to);
                assert_int_equal(stat(empty, &st), 0);
                assert_int_equal(st.st_mode & 07777, 0755);
        }
}

struct bad_case {
        const char *name;
        struct ent e[3];
        size_t n;
        const char *message;
};

static const struct bad_case bad_cases[] = {
    {"absolute",
     {{'f', "/etc/evil", "x", 0}},
     1,
     "archive entry \"/etc/evil\" is an absolute path"},
    {"dotdot",
     {{'f', "a/../../evil", "x", 0}},
     1,
     "archive entry \"a/../../evil\" contains \"..\""},
    {"dotdot-inside", {{'f', "a/../b", "x", 0}}, 1, "archive entry \"a/../b\" contains \"..\""},
    {"symlink-absolute",
     {{'l', "etc", "/etc", 0}},
     1,
     "archive entry \"etc\" is a symlink to \"/etc\", outside the pup"},
    {"symlink-up",
     {{'l', "sub/up", "../../x", 0}},
     1,
     "archive entry \"sub/up\" is a symlink to \"../../x\", outside the pup"},
    {"symlink-empty",
     {{'l', "e", "", 0}},
     1,
     "archive entry \"e\" is a symlink to \"\", outside the pup"},
    {"hardlink-out",
     {{'h', "pw", "../etc/passwd", 0}},
     1,
     "archive entry \"pw\" is a hard link to \"../etc/passwd\", which is not a file earlier in "
     "the archive"},
    {"hardlink-absolute",
     {{'h', "pw", "/etc/passwd", 0}},
     1,
     "archive entry \"pw\" is a hard link to \"/etc/passwd\", which is not a file earlier in the "
     "archive"},
    {"hardlink-later",
     {{'h', "a", "b", 0}, {'f', "b", "x", 0}},
     2,
     "archive entry \"a\" is a hard link to \"b\", which is not a file earlier in the archive"},
    {"device",
     {{'c', "null", NULL, 0}},
     1,
     "archive entry \"null\" is a device, fifo or socket: a pup holds only files, folders and "
     "links"},
    {"fifo",
     {{'p', "pipe", NULL, 0}},
     1,
     "archive entry \"pipe\" is a device, fifo or socket: a pup holds only files, folders and "
     "links"},
    {"through-symlink",
     {{'d', "real", NULL, 0755}, {'l', "l", "real", 0}, {'f', "l/x", "x", 0}},
     3,
     "archive entry \"l/x\": *"},
};

static void test_extract_refusals(void **state)
{
        struct payload_limits lim = {.entries = 100, .bytes = 1 << 20};
        for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
                const struct bad_case *tc = &bad_cases[i];
                struct dbx_error err = {0};
                _cleanup_free_ char *tar = make_tar("bad.tar", tc->e, tc->n, false);
                _cleanup_free_ char *to = fresh_dir("bad");
                if (payload_extract(tar, to, &lim, &err) >= 0)
                        fail_msg("%s: accepted", tc->name);
                size_t n = strlen(tc->message);
                if (tc->message[n - 1] == '*' ? strncmp(err.message, tc->message, n - 1) != 0
                                              : !streq(err.message, tc->message))
                        fail_msg("%s: \"%s\"\nexpected \"%s\"", tc->name, err.message, tc->message);
                /* nothing was written outside */
                struct stat st;
                _cleanup_free_ char *evil = xasprintf("%s/evil", dir);
                assert_int_not_equal(lstat(evil, &st), 0);
        }
}

static void test_extract_limits(void **state)
{
        static const struct ent four[] = {{'f', "a", "1234", 0},
                                          {'f', "b", "1234", 0},
                                          {'f', "c", "1234", 0},
                                          {'f', "d", "1234", 0}};
        struct dbx_error err = {0};
        _cleanup_free_ char *tar = make_tar("four.tar", four, 4, false);
        _cleanup_free_ char *to = fresh_dir("lim");
        struct payload_limits lim = {.entries = 4, .bytes = 16};
        assert_int_equal(payload_extract(tar, to, &lim, &err), 0); /* exactly at both limits */
        _cleanup_free_ char *to2 = fresh_dir("lim2");
        lim = (struct payload_limits){.entries = 3, .bytes = 1000};
        assert_int_equal(payload_extract(tar, to2, &lim, &err), -EFBIG);
        assert_string_equal(err.message, "the archive has more than 3 entries");
        _cleanup_free_ char *to3 = fresh_dir("lim3");
        lim = (struct payload_limits){.entries = 100, .bytes = 15};
        assert_int_equal(payload_extract(tar, to3, &lim, &err), -EFBIG);
        assert_string_equal(err.message, "the archive unpacks to more than 0 MiB");

        /* not an archive, and an empty one */
        _cleanup_free_ char *junk = xasprintf("%s/junk.tar", dir);
        assert_int_equal(fs_write_atomic(junk, "this is not a tar archive at all", 32, 0644), 0);
        _cleanup_free_ char *to4 = fresh_dir("junk");
        assert_int_equal(payload_extract(junk, to4, &lim, &err), -EINVAL);
        assert_memory_equal(err.message, "the archive is damaged or not a tar archive: ", 45);
        _cleanup_free_ char *empty = make_tar("empty.tar", NULL, 0, false);
        assert_int_equal(payload_extract(empty, to4, &lim, &err), -EINVAL);
}

/* A symlink chain that is fine lexically but leaves the tree for real:
 * d -> . and e -> d/.. ; the final check catches it. */
static void test_check_links(void **state)
{
        static const struct ent chain[] = {{'l', "d", ".", 0}, {'l', "e", "d/..", 0}};
        struct payload_limits lim = {.entries = 100, .bytes = 1000};
        struct dbx_error err = {0};
        _cleanup_free_ char *tar = make_tar("chain.tar", chain, 2, false);
        _cleanup_free_ char *to = fresh_dir("chain");
        assert_int_equal(payload_extract(tar, to, &lim, &err), 0);
        assert_int_equal(payload_check_links(to, &err), -EXDEV);
        assert_string_equal(err.message, "e is a symlink that leads outside the pup");

        /* a dangling link inside is harmless */
        _cleanup_free_ char *to2 = fresh_dir("dangling");
        _cleanup_free_ char *l = xasprintf("%s/nowhere", to2);
        assert_int_equal(symlink("missing/file", l), 0);
        assert_int_equal(payload_check_links(to2, &err), 0);
        _cleanup_free_ char *l2 = xasprintf("%s/abs", to2);
        assert_int_equal(symlink("/etc/hostname", l2), 0);
        assert_int_equal(payload_check_links(to2, &err), -EXDEV);
        assert_string_equal(err.message, "abs is a symlink that leads outside the pup");
}

static void write_file(const char *root, const char *rel, const char *text)
{
        _cleanup_free_ char *p = xasprintf("%s/%s", root, rel);
        _cleanup_free_ char *d = xstrdup(p);
        *strrchr(d, '/') = '\0';
        assert_int_equal(fs_mkdir_p(d, 0755), 0);
        assert_int_equal(fs_write_atomic(p, text, strlen(text), 0644), 0);
}

static void test_copy_dir(void **state)
{
        _cleanup_free_ char *from = fresh_dir("from");
        write_file(from, "manifest.json", "{}");
        write_file(from, "bin/run.sh", "#!/bin/sh\n");
        write_file(from, ".git/config", "secret");
        _cleanup_free_ char *exe = xasprintf("%s/bin/run.sh", from);
        chmod(exe, 0700);
        _cleanup_free_ char *l = xasprintf("%s/bin/run", from);
        assert_int_equal(symlink("run.sh", l), 0);
        struct payload_limits lim = {.entries = 100, .bytes = 1000};
        struct dbx_error err = {0};
        _cleanup_free_ char *to = fresh_dir("to");
        assert_int_equal(payload_copy_dir(from, to, &lim, &err), 0);
        struct stat st;
        _cleanup_free_ char *c = xasprintf("%s/bin/run.sh", to), *g = xasprintf("%s/.git", to),
                            *cl = xasprintf("%s/bin/run", to);
        assert_int_equal(stat(c, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0755);
        assert_int_not_equal(lstat(g, &st), 0); /* .git is never part of a pup */
        assert_int_equal(lstat(cl, &st), 0);
        assert_true(S_ISLNK(st.st_mode));

        _cleanup_free_ char *to2 = fresh_dir("to2");
        lim = (struct payload_limits){.entries = 2, .bytes = 1000};
        assert_int_equal(payload_copy_dir(from, to2, &lim, &err), -EFBIG);
        assert_string_equal(err.message, "the pup has more than 2 files");

        _cleanup_free_ char *fifo = xasprintf("%s/pipe", from);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        _cleanup_free_ char *to3 = fresh_dir("to3");
        lim = (struct payload_limits){.entries = 100, .bytes = 1000};
        assert_int_equal(payload_copy_dir(from, to3, &lim, &err), -EPERM);
        assert_string_equal(err.message, "pipe is a device, fifo or socket: a pup holds only "
                                         "files, folders and symlinks");
}

static const char manifest_fmt[] =
    "{\"manifestVersion\": 1, \"meta\": {\"name\": \"%s\", \"version\": \"%s\", \"logoPath\": "
    "\"%s\"},"
    " \"container\": {\"build\": {\"type\": \"native\"}, \"services\": [{\"name\": \"s\", "
    "\"command\": {\"exec\": \"run.sh\"}}], \"exposes\": [{\"name\": \"w\", \"type\": \"http\", "
    "\"port\": %d}]}}";

static void write_pup(const char *root, const char *sub, const char *name, const char *ver,
                      int port, const char *logo)
{
        char text[1024];
        snprintf(text, sizeof(text), manifest_fmt, name, ver, logo ? logo : "", port);
        _cleanup_free_ char *rel =
            *sub ? xasprintf("%s/manifest.json", sub) : xstrdup("manifest.json");
        write_file(root, rel, text);
}

static struct catalog *load_disk(const char *path, int expect, const char *message)
{
        struct source_spec spec = {.kind = SOURCE_DISK, .location = (char *)path};
        struct load_result res = {0};
        struct dbx_error err = {0};
        int r = disk_load(&spec, &res, &err);
        if (r != expect)
                fail_msg("disk_load %s: %d (%s), expected %d", path, r, err.message, expect);
        if (message)
                assert_string_equal(err.message, message);
        free(res.location);
        free(res.pinned_key);
        return res.catalog;
}

static void test_disk_layouts(void **state)
{
        /* a folder of pup folders (no dogebox.json) */
        _cleanup_free_ char *col = fresh_dir("My Pups!");
        write_pup(col, "b", "Bravo", "1.0.0", 80, "logo.png");
        write_pup(col, "a", "Alpha", "0.1.0", 80, NULL);
        write_pup(col, "broken", "Broken", "2.0.0", 70000, NULL);
        write_file(col, "notes/readme.txt", "not a pup");
        write_file(col, "b/logo.png", "\x89PNG");
        struct catalog *c = load_disk(col, 0, NULL);
        assert_string_equal(c->id, "My-Pups");
        assert_string_equal(c->name, ""); /* not described: the registry keeps its name */
        assert_int_equal(c->n, 3);
        assert_string_equal(c->versions[0].name, "Alpha");
        assert_string_equal(c->versions[0].subpath, "a");
        assert_string_equal(c->versions[1].name, "Bravo");
        assert_string_equal(c->versions[1].logo, "data:image/png;base64,iVBORw==");
        assert_string_equal(c->versions[2].name, "Broken");
        assert_false(c->versions[2].valid);
        assert_string_equal(c->versions[2].errors[0],
                            "container.exposes[0].port: 70000 is not a port (1-65535)");
        catalog_free(c);

        /* dogebox.json decides; a listed folder without a manifest is an invalid entry */
        write_file(col, "dogebox.json",
                   "{\"id\": \"mine\", \"name\": \"Mine\", \"description\": \"d\", \"pups\": "
                   "[{\"location\": \"b\"}, {\"location\": \"missing\"}]}");
        c = load_disk(col, 0, NULL);
        assert_string_equal(c->id, "mine");
        assert_string_equal(c->name, "Mine");
        assert_int_equal(c->n, 2);
        assert_string_equal(c->versions[0].name, "Bravo");
        assert_string_equal(c->versions[1].name, "missing");
        assert_string_equal(c->versions[1].version, "unknown");
        assert_string_equal(c->versions[1].errors[0],
                            "missing/manifest.json: missing/manifest.json does not exist");
        catalog_free(c);

        /* an invalid dogebox.json fails the load */
        write_file(col, "dogebox.json", "{\"id\": \"mine\", \"pups\": [{\"location\": \"../x\"}]}");
        load_disk(col, -EINVAL, NULL);

        /* a single pup at the root; its logo may not leave the folder */
        _cleanup_free_ char *one = fresh_dir("one");
        write_pup(one, "", "Solo", "3.0.0", 8080, "logo.png");
        _cleanup_free_ char *lp = xasprintf("%s/logo.png", one);
        assert_int_equal(symlink("/etc/hostname", lp), 0);
        c = load_disk(one, 0, NULL);
        assert_int_equal(c->n, 1);
        assert_true(c->versions[0].valid);
        assert_null(c->versions[0].logo);
        assert_int_equal(c->n_warnings, 1);
        assert_string_equal(c->warnings[0], "Solo 3.0.0: meta.logoPath: logo.png points outside "
                                            "the source folder: no logo shown");
        catalog_free(c);

        /* a broken manifest keeps the name and version it claims */
        _cleanup_free_ char *bad = fresh_dir("bad");
        write_file(bad, "manifest.json",
                   "{\"meta\": {\"name\": \"Claimed\", \"version\": \"9.9.9\"}}");
        c = load_disk(bad, 0, NULL);
        assert_string_equal(c->versions[0].name, "Claimed");
        assert_string_equal(c->versions[0].version, "9.9.9");
        assert_false(c->versions[0].valid);
        catalog_free(c);
        write_file(bad, "manifest.json", "not json");
        c = load_disk(bad, 0, NULL);
        assert_string_equal(c->versions[0].name, "bad");
        assert_false(c->versions[0].valid);
        catalog_free(c);

        /* nothing there */
        _cleanup_free_ char *none = fresh_dir("none");
        load_disk(none, -ENOENT,
                  "no pups here: a source needs a dogebox.json, a manifest.json at its root, or "
                  "folders that each hold a manifest.json");
        _cleanup_free_ char *missing = xasprintf("%s/does-not-exist", dir);
        load_disk(missing, -ENOENT, NULL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_extract_good, setup, teardown),
            cmocka_unit_test_setup_teardown(test_extract_refusals, setup, teardown),
            cmocka_unit_test_setup_teardown(test_extract_limits, setup, teardown),
            cmocka_unit_test_setup_teardown(test_check_links, setup, teardown),
            cmocka_unit_test_setup_teardown(test_copy_dir, setup, teardown),
            cmocka_unit_test_setup_teardown(test_disk_layouts, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
