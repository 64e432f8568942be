/* dbx manifest check PATH...: the tool a pup developer runs before
 * publishing. PATH is a manifest.json, a pup folder holding one, or a
 * source folder with a dogebox.json (then every listed pup is checked).
 * Prints every error and warning as "FILE: error: json.path: message";
 * exit 0 when everything is valid, 1 on errors, 2 on usage errors.
 *
 * Beyond the manifest's own rules (src/manifest), a folder lets us check
 * the files it names: the logo, the nix file and its SHA-256, and for
 * native pups the programs and working directories of services. */
#include <getopt.h>
#include <stdarg.h>
#include <limits.h>
#include <sodium.h>
#include <sys/stat.h>
#include "cli/commands.h"
#include "core/fsutil.h"
#include "manifest/manifest.h"

#define NIX_FILE_MAX (16 * 1024 * 1024) /* a pup.nix larger than this is not a pup.nix */

struct report {
        const char *file;
        size_t errors, warnings;
};

static bool check_named_files = true; /* --no-files turns the folder checks off */

static void print_list(struct report *rep, const char *kind, const struct dbx_errors *list)
{
        char buf[DBX_ERROR_PATH_MAX + DBX_ERROR_MSG_MAX + 4];
        for (size_t i = 0; i < list->n; i++)
                printf("%s: %s: %s\n", rep->file, kind,
                       dbx_error_text(&list->items[i], buf, sizeof(buf)));
        if (list->dropped)
                printf("%s: %s: ... and %zu more\n", rep->file, kind, list->dropped);
}

static void file_error(struct report *rep, const char *path, const char *fmt, ...) _printf_(3, 4);
static void file_error(struct report *rep, const char *path, const char *fmt, ...)
{
        va_list ap;
        printf("%s: error: %s: ", rep->file, path);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
        rep->errors++;
}

static void file_warning(struct report *rep, const char *path, const char *fmt, ...) _printf_(3, 4);
static void file_warning(struct report *rep, const char *path, const char *fmt, ...)
{
        va_list ap;
        printf("%s: warning: %s: ", rep->file, path);
        va_start(ap, fmt);
        vprintf(fmt, ap);
        va_end(ap);
        putchar('\n');
        rep->warnings++;
}

/* dir/rel must exist, have the wanted type, and stay inside dir once
 * symlinks are resolved (the pup folder is all the sandbox sees). */
static bool check_inside(struct report *rep, const char *dir, const char *rel, const char *jpath,
                         mode_t want, bool executable)
{
        _cleanup_free_ char *full = xasprintf("%s/%s", dir, rel);
        char real_dir[PATH_MAX], real[PATH_MAX];
        struct stat st;

        if (!realpath(dir, real_dir) || !realpath(full, real) || stat(real, &st) < 0) {
                file_error(rep, jpath, "\"%s\" does not exist in %s", rel, dir);
                return false;
        }
        size_t n = strlen(real_dir);
        if (strncmp(real, real_dir, n) != 0 || (real[n] != '/' && real[n] != '\0')) {
                file_error(rep, jpath, "\"%s\" points outside the pup folder (to %s)", rel, real);
                return false;
        }
        if ((st.st_mode & S_IFMT) != want) {
                file_error(rep, jpath, "\"%s\" is not a %s", rel,
                           want == S_IFDIR ? "directory" : "regular file");
                return false;
        }
        if (executable && !(st.st_mode & 0111)) {
                file_error(rep, jpath, "\"%s\" is not executable (chmod +x %s)", rel, rel);
                return false;
        }
        return true;
}

static void check_nix_hash(struct report *rep, const char *dir, const struct manifest *m)
{
        const struct manifest_build *b = &m->container.build;
        _cleanup_free_ char *full = xasprintf("%s/%s", dir, b->nix_file);
        _cleanup_free_ char *data = NULL;
        unsigned char hash[crypto_hash_sha256_BYTES];
        char hex[crypto_hash_sha256_BYTES * 2 + 1];
        size_t len = 0;
        int r;

        if (!check_inside(rep, dir, b->nix_file, "container.build.nixFile", S_IFREG, false))
                return;
        r = fs_read_file(full, NIX_FILE_MAX, &data, &len);
        if (r < 0) {
                file_error(rep, "container.build.nixFile", "cannot read %s: %s", full,
                           strerror(-r));
                return;
        }
        crypto_hash_sha256(hash, (const unsigned char *)data, len);
        sodium_bin2hex(hex, sizeof(hex), hash, sizeof(hash));
        if (!streq(hex, b->nix_file_sha256))
                file_error(rep, "container.build.nixFileSha256",
                           "\"%s\" does not match %s, whose SHA-256 is %s", b->nix_file_sha256,
                           b->nix_file, hex);
}

static void check_files(struct report *rep, const char *dir, const struct manifest *m)
{
        char jpath[128];

        if (*m->meta.logo_path)
                check_inside(rep, dir, m->meta.logo_path, "meta.logoPath", S_IFREG, false);
        if (m->container.build.type == MANIFEST_BUILD_NIX_FILE)
                check_nix_hash(rep, dir, m);
        if (!m->is_native)
                return;
        for (size_t i = 0; i < m->container.n_services; i++) {
                const struct manifest_service *s = &m->container.services[i];
                snprintf(jpath, sizeof(jpath), "container.services[%zu].command.exec", i);
                if (s->exec[0] != '/')
                        check_inside(rep, dir, s->exec, jpath, S_IFREG, true);
                else if (access(s->exec, X_OK) < 0)
                        file_warning(rep, jpath,
                                     "\"%s\" is not an executable on this host; the sandbox "
                                     "sees the host's /usr, /bin and /lib read-only",
                                     s->exec);
                snprintf(jpath, sizeof(jpath), "container.services[%zu].command.cwd", i);
                if (*s->cwd && s->cwd[0] != '/')
                        check_inside(rep, dir, s->cwd, jpath, S_IFDIR, false);
        }
}

/* Check one manifest file; dir (may be NULL) is the pup folder. */
static void check_manifest(struct report *rep, const char *file, const char *dir)
{
        _cleanup_(dbx_errors_free) struct dbx_errors errs = {0}, warns = {0};
        _cleanup_manifest_ struct manifest *m = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        int r;

        rep->file = file;
        r = fs_read_file(file, MANIFEST_SIZE_MAX + 1, &buf, &len);
        if (r == -EFBIG) {
                printf("%s: error: the manifest is larger than %d bytes\n", file,
                       MANIFEST_SIZE_MAX);
                rep->errors++;
                return;
        }
        if (r < 0) {
                printf("%s: error: cannot read: %s\n", file, strerror(-r));
                rep->errors++;
                return;
        }
        r = manifest_parse(buf, len, &m, &errs, &warns);
        print_list(rep, "error", &errs);
        print_list(rep, "warning", &warns);
        rep->errors += errs.n + errs.dropped;
        rep->warnings += warns.n + warns.dropped;
        if (r == 0 && dir && check_named_files)
                check_files(rep, dir, m);
        if (r < 0 && rep->errors == 0) {
                printf("%s: error: %s\n", file, strerror(-r));
                rep->errors++;
        }
        if (rep->errors == 0)
                printf("%s: ok: \"%s\" %s, a %s pup%s\n", file, m->meta.name, m->meta.version,
                       m->is_native ? "native" : "Nix-built",
                       rep->warnings ? " (see the warnings)" : "");
}

static void check_source(struct report *total, const char *dir, const char *file)
{
        _cleanup_(dbx_errors_free) struct dbx_errors errs = {0}, warns = {0};
        _cleanup_manifest_source_ struct manifest_source *s = NULL;
        _cleanup_free_ char *buf = NULL;
        struct report rep = {.file = file};
        size_t len = 0;
        int r;

        r = fs_read_file(file, MANIFEST_SOURCE_SIZE_MAX + 1, &buf, &len);
        if (r < 0) {
                printf("%s: error: cannot read: %s\n", file,
                       r == -EFBIG ? "larger than allowed" : strerror(-r));
                total->errors++;
                return;
        }
        r = manifest_source_parse(buf, len, &s, &errs, &warns);
        print_list(&rep, "error", &errs);
        print_list(&rep, "warning", &warns);
        total->errors += errs.n + errs.dropped;
        total->warnings += warns.n + warns.dropped;
        if (r < 0)
                return;
        printf("%s: ok: source \"%s\" (%s) lists %zu pups\n", file, s->id, s->name, s->n_locations);
        for (size_t i = 0; i < s->n_locations; i++) {
                _cleanup_free_ char *pdir = xasprintf("%s/%s", dir, s->locations[i]);
                _cleanup_free_ char *pfile = xasprintf("%s/manifest.json", pdir);
                struct report prep = {0};
                check_manifest(&prep, pfile, pdir);
                total->errors += prep.errors;
                total->warnings += prep.warnings;
        }
}

static void usage(FILE *f)
{
        fprintf(f, "usage: dbx manifest check [--no-files] PATH...\n"
                   "  PATH is a manifest.json, a pup folder containing one, or a source\n"
                   "  folder with a dogebox.json (every listed pup is checked).\n"
                   "  The files a manifest names (logo, nix file and its SHA-256, native\n"
                   "  programs) are checked too, unless --no-files is given.\n"
                   "  Prints each problem as FILE: error|warning: json.path: message.\n"
                   "  Exit status: 0 valid, 1 errors found, 2 usage error.\n");
}

static int check_path(struct report *total, const char *path)
{
        struct stat st;

        if (stat(path, &st) < 0) {
                printf("%s: error: %s\n", path, strerror(errno));
                total->errors++;
                return 0;
        }
        if (S_ISDIR(st.st_mode)) {
                _cleanup_free_ char *mf = xasprintf("%s/manifest.json", path);
                _cleanup_free_ char *src = xasprintf("%s/dogebox.json", path);
                if (access(mf, F_OK) == 0) {
                        struct report rep = {0};
                        check_manifest(&rep, mf, path);
                        total->errors += rep.errors;
                        total->warnings += rep.warnings;
                } else if (access(src, F_OK) == 0)
                        check_source(total, path, src);
                else {
                        printf("%s: error: no manifest.json or dogebox.json in this folder\n",
                               path);
                        total->errors++;
                }
                return 0;
        }
        struct report rep = {0};
        _cleanup_free_ char *dir = xstrdup(path);
        char *slash = strrchr(dir, '/');
        if (slash)
                *slash = '\0';
        check_manifest(&rep, path, slash ? dir : ".");
        total->errors += rep.errors;
        total->warnings += rep.warnings;
        return 0;
}

int cmd_manifest(int argc, char **argv)
{
        struct report total = {0};

        if (argc >= 2 &&
            (streq(argv[1], "-h") || streq(argv[1], "--help") || streq(argv[1], "help"))) {
                usage(stdout);
                return 0;
        }
        if (argc < 3 || !streq(argv[1], "check")) {
                usage(stderr);
                return 2;
        }
        int paths = 0;
        for (int i = 2; i < argc; i++) {
                if (streq(argv[i], "--no-files"))
                        check_named_files = false;
                else if (argv[i][0] == '-' && argv[i][1]) {
                        fprintf(stderr, "dbx manifest check: unknown option %s\n", argv[i]);
                        usage(stderr);
                        return 2;
                } else
                        paths++;
        }
        if (paths == 0) {
                usage(stderr);
                return 2;
        }
        if (sodium_init() < 0) {
                fprintf(stderr, "dbx manifest check: libsodium failed to start\n");
                return 1;
        }
        for (int i = 2; i < argc; i++)
                if (!streq(argv[i], "--no-files"))
                        check_path(&total, argv[i]);
        if (paths > 1 || total.errors || total.warnings)
                printf("%zu error%s, %zu warning%s\n", total.errors, total.errors == 1 ? "" : "s",
                       total.warnings, total.warnings == 1 ? "" : "s");
        fflush(stdout);
        return total.errors ? 1 : 0;
}
