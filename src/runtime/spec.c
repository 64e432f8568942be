/* struct sandbox_spec: defaults, ownership and validation. Validation is
 * strict because the spec is the future privilege boundary: whatever the
 * unprivileged side sends is checked here again. */
#include <sys/stat.h>

#include "core/macro.h"
#include "core/util.h"
#include "runtime/internal.h"

#define BACKOFF_MAX_MS_LIMIT  (24u * 3600 * 1000) /* a day between restarts is plenty */
#define BACKOFF_FAILING_LIMIT 1000u

/* What a Debian userland needs to run programs: the merged /usr (and the
 * compatibility symlinks), certificates, the dynamic linker cache and the
 * few /etc files libc consults. Symlinks are recreated, not bound. */
const struct sandbox_bind sandbox_default_binds[] = {
    {"/usr", "/usr", false, false},
    {"/bin", "/bin", false, true},
    {"/sbin", "/sbin", false, true},
    {"/lib", "/lib", false, true},
    {"/lib64", "/lib64", false, true},
    {"/lib32", "/lib32", false, true},
    {"/libx32", "/libx32", false, true},
    {"/etc/alternatives", "/etc/alternatives", false, true},
    {"/etc/ssl", "/etc/ssl", false, true},
    {"/etc/ca-certificates", "/etc/ca-certificates", false, true},
    {"/etc/ld.so.cache", "/etc/ld.so.cache", false, true},
    {"/etc/localtime", "/etc/localtime", false, true},
    {"/etc/protocols", "/etc/protocols", false, true},
    {"/etc/services", "/etc/services", false, true},
    {"/etc/mime.types", "/etc/mime.types", false, true},
    {"/etc/os-release", "/etc/os-release", false, true},
};
const size_t sandbox_default_binds_count = ARRAY_SIZE(sandbox_default_binds);

static char *dup_or_null(const char *s)
{
        return s ? xstrdup(s) : NULL;
}

static char **strv_copy(char *const *v)
{
        size_t n = 0;
        char **r;
        if (!v)
                return NULL;
        while (v[n])
                n++;
        r = xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
                r[i] = xstrdup(v[i]);
        return r;
}

static void strv_free(char **v)
{
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
}

static size_t strv_len(char *const *v)
{
        size_t n = 0;
        while (v && v[n])
                n++;
        return n;
}

void sandbox_spec_init(struct sandbox_spec *spec)
{
        memset(spec, 0, sizeof(*spec));
        spec->cpu_weight = SANDBOX_CPU_WEIGHT_DEFAULT;
        spec->stop_grace_ms = SANDBOX_GRACE_DEFAULT_MS;
        spec->backoff = (struct sandbox_backoff){
            .initial_ms = SANDBOX_BACKOFF_INITIAL_MS,
            .max_ms = SANDBOX_BACKOFF_MAX_MS,
            .stable_ms = SANDBOX_BACKOFF_STABLE_MS,
            .failing_after = SANDBOX_BACKOFF_FAILING_AFTER,
        };
        spec->binds = xcalloc(sandbox_default_binds_count, sizeof(struct sandbox_bind));
        spec->n_binds = sandbox_default_binds_count;
        for (size_t i = 0; i < sandbox_default_binds_count; i++) {
                spec->binds[i] = sandbox_default_binds[i];
                spec->binds[i].src = xstrdup(sandbox_default_binds[i].src);
                spec->binds[i].dst = xstrdup(sandbox_default_binds[i].dst);
        }
}

static void service_done(struct sandbox_service *s)
{
        free(s->name);
        free(s->exec);
        free(s->cwd);
        strv_free(s->args);
        strv_free(s->env);
}

void sandbox_spec_done(struct sandbox_spec *spec)
{
        free(spec->pup_id);
        free(spec->pup_dir);
        free(spec->storage_dir);
        free(spec->log_dir);
        for (size_t i = 0; i < spec->n_services; i++)
                service_done(&spec->services[i]);
        free(spec->services);
        for (size_t i = 0; i < spec->n_binds; i++) {
                free(spec->binds[i].src);
                free(spec->binds[i].dst);
        }
        free(spec->binds);
        free(spec->hostname);
        strv_free(spec->hosts_extra);
        free(spec->resolv_conf);
        memset(spec, 0, sizeof(*spec));
}

void sandbox_spec_copy(const struct sandbox_spec *src, struct sandbox_spec *ret)
{
        struct sandbox_spec s = *src;

        s.pup_id = dup_or_null(src->pup_id);
        s.pup_dir = dup_or_null(src->pup_dir);
        s.storage_dir = dup_or_null(src->storage_dir);
        s.log_dir = dup_or_null(src->log_dir);
        s.services = src->n_services ? xcalloc(src->n_services, sizeof(*s.services)) : NULL;
        for (size_t i = 0; i < src->n_services; i++) {
                const struct sandbox_service *a = &src->services[i];
                s.services[i] = (struct sandbox_service){
                    .name = dup_or_null(a->name),
                    .exec = dup_or_null(a->exec),
                    .args = strv_copy(a->args),
                    .cwd = dup_or_null(a->cwd),
                    .env = strv_copy(a->env),
                    .restart = a->restart,
                };
        }
        s.binds = src->n_binds ? xcalloc(src->n_binds, sizeof(*s.binds)) : NULL;
        for (size_t i = 0; i < src->n_binds; i++) {
                s.binds[i] = src->binds[i];
                s.binds[i].src = dup_or_null(src->binds[i].src);
                s.binds[i].dst = dup_or_null(src->binds[i].dst);
        }
        s.hostname = dup_or_null(src->hostname);
        s.hosts_extra = strv_copy(src->hosts_extra);
        s.resolv_conf = dup_or_null(src->resolv_conf);
        *ret = s;
}

int sandbox_spec_add_service(struct sandbox_spec *spec, const char *name, const char *exec,
                             char *const *args, const char *cwd, char *const *env,
                             enum sandbox_restart restart)
{
        if (spec->n_services >= SANDBOX_SERVICES_MAX)
                return -E2BIG;
        spec->services = xrealloc(spec->services, (spec->n_services + 1) * sizeof(*spec->services));
        spec->services[spec->n_services] = (struct sandbox_service){
            .name = dup_or_null(name),
            .exec = dup_or_null(exec),
            .args = strv_copy(args),
            .cwd = dup_or_null(cwd),
            .env = strv_copy(env),
            .restart = restart,
        };
        return (int)spec->n_services++;
}

/* --- validation ---------------------------------------------------------- */

static bool has_ctl(const char *s)
{
        for (; *s; s++)
                if ((unsigned char)*s < 0x20 || *s == 0x7f)
                        return true;
        return false;
}

/* Absolute, no empty/"."/".." components, no trailing slash, no control
 * characters; "/" itself only when allow_root. */
static bool path_ok(const char *p, bool allow_root)
{
        size_t n = strlen(p);
        if (n == 0 || n >= SANDBOX_STRING_MAX || p[0] != '/' || has_ctl(p))
                return false;
        if (n == 1)
                return allow_root;
        if (p[n - 1] == '/')
                return false;
        for (const char *c = p + 1;;) {
                const char *e = strchrnul(c, '/');
                size_t cl = (size_t)(e - c);
                if (cl == 0 || (cl == 1 && c[0] == '.') || (cl == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                if (!*e)
                        return true;
                c = e + 1;
        }
}

static bool service_name_ok(const char *s)
{
        size_t n = s ? strlen(s) : 0;
        if (n == 0 || n > SANDBOX_NAME_MAX)
                return false;
        for (; *s; s++)
                if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
                        return false;
        return true;
}

static bool env_ok(const char *e)
{
        const char *eq = strchr(e, '=');
        if (!eq || eq == e || strlen(e) >= SANDBOX_STRING_MAX)
                return false;
        for (const char *p = e; p < eq; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
                      (p > e && *p >= '0' && *p <= '9')))
                        return false;
        return true;
}

static bool hostname_ok(const char *h)
{
        size_t n = strlen(h);
        if (n == 0 || n > SANDBOX_HOSTNAME_MAX || h[0] == '-' || h[n - 1] == '-')
                return false;
        for (; *h; h++)
                if (!((*h >= 'a' && *h <= 'z') || (*h >= 'A' && *h <= 'Z') ||
                      (*h >= '0' && *h <= '9') || *h == '-'))
                        return false;
        return true;
}

/* Bind destinations may not shadow what the sandbox itself provides. */
static bool dst_reserved(const char *dst)
{
        static const char *const under[] = {"/proc", "/dev", "/pup", "/storage", "/tmp", "/run"};
        static const char *const exact[] = {
            "/",          "/etc",          "/etc/passwd",      "/etc/group",
            "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/etc/nsswitch.conf",
            "/var",       "/var/tmp"};
        for (size_t i = 0; i < ARRAY_SIZE(exact); i++)
                if (streq(dst, exact[i]))
                        return true;
        for (size_t i = 0; i < ARRAY_SIZE(under); i++) {
                size_t n = strlen(under[i]);
                if (strncmp(dst, under[i], n) == 0 && (dst[n] == 0 || dst[n] == '/'))
                        return true;
        }
        return false;
}

static int validate_service(const struct sandbox_spec *spec, size_t i, struct dbx_error *err)
{
        const struct sandbox_service *s = &spec->services[i];
        char path[64];
        size_t n;

        snprintf(path, sizeof(path), "services[%zu]", i);
        if (!service_name_ok(s->name))
                return dbx_error_set(err, -EINVAL, path,
                                     "name '%s' is not a service name ([A-Za-z0-9._-], 1-%d "
                                     "characters)",
                                     s->name ? s->name : "", SANDBOX_NAME_MAX);
        for (size_t j = 0; j < i; j++)
                if (streq(spec->services[j].name, s->name))
                        return dbx_error_set(err, -EEXIST, path,
                                             "name '%s' is used by services[%zu] too", s->name, j);
        snprintf(path, sizeof(path), "services[%zu].exec", i);
        if (!s->exec || !path_ok(s->exec, false))
                return dbx_error_set(err, -EINVAL, path,
                                     "'%s' is not an absolute, normalized path inside the "
                                     "sandbox (e.g. /pup/bin/run.sh)",
                                     s->exec ? s->exec : "");
        snprintf(path, sizeof(path), "services[%zu].cwd", i);
        if (s->cwd && !path_ok(s->cwd, true))
                return dbx_error_set(err, -EINVAL, path, "'%s' is not an absolute, normalized path",
                                     s->cwd);
        n = strv_len(s->args);
        snprintf(path, sizeof(path), "services[%zu].args", i);
        if (n >= SANDBOX_ARGS_MAX)
                return dbx_error_set(err, -E2BIG, path, "%zu arguments; at most %d", n,
                                     SANDBOX_ARGS_MAX - 1);
        for (size_t j = 0; j < n; j++)
                if (strlen(s->args[j]) >= SANDBOX_STRING_MAX)
                        return dbx_error_set(err, -E2BIG, path,
                                             "argument %zu is longer than %d bytes", j,
                                             SANDBOX_STRING_MAX - 1);
        n = strv_len(s->env);
        snprintf(path, sizeof(path), "services[%zu].env", i);
        if (n > SANDBOX_ENV_MAX - 4) /* room for the PATH/HOME/USER/LOGNAME defaults */
                return dbx_error_set(err, -E2BIG, path, "%zu variables; at most %d", n,
                                     SANDBOX_ENV_MAX - 4);
        for (size_t j = 0; j < n; j++)
                if (!env_ok(s->env[j]))
                        return dbx_error_set(err, -EINVAL, path,
                                             "entry %zu is not KEY=VALUE with KEY of "
                                             "[A-Za-z_][A-Za-z0-9_]* (at most %d bytes)",
                                             j, SANDBOX_STRING_MAX - 1);
        snprintf(path, sizeof(path), "services[%zu].restart", i);
        if ((unsigned)s->restart > SANDBOX_RESTART_NEVER)
                return dbx_error_set(err, -EINVAL, path, "unknown restart policy %d",
                                     (int)s->restart);
        return 0;
}

int sandbox_spec_validate(const struct sandbox_spec *spec, struct dbx_error *err)
{
        const struct {
                const char *name, *value;
        } dirs[] = {
            {"pup_dir", spec->pup_dir},
            {"storage_dir", spec->storage_dir},
            {"log_dir", spec->log_dir},
        };
        uint32_t slot_off;
        int r;

        if (!spec->pup_id || !name_is_safe(spec->pup_id, SANDBOX_NAME_MAX))
                return dbx_error_set(err, -EINVAL, "pup_id",
                                     "'%s' is not a pup id ([a-z0-9-], 1-%d characters)",
                                     spec->pup_id ? spec->pup_id : "", SANDBOX_NAME_MAX);
        for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
                if (dirs[i].value && !path_ok(dirs[i].value, false))
                        return dbx_error_set(err, -EINVAL, dirs[i].name,
                                             "'%s' is not an absolute, normalized host path "
                                             "other than /",
                                             dirs[i].value);
        slot_off = spec->uid_base - SANDBOX_UIDRANGE_BASE;
        if (spec->uid_base < SANDBOX_UIDRANGE_BASE || slot_off % SANDBOX_UIDRANGE_SIZE ||
            slot_off / SANDBOX_UIDRANGE_SIZE >= SANDBOX_UIDRANGE_SLOTS)
                return dbx_error_set(err, -EINVAL, "uid_base",
                                     "%u is not the start of a uid range (%u + n * %u, n < %u)",
                                     spec->uid_base, SANDBOX_UIDRANGE_BASE, SANDBOX_UIDRANGE_SIZE,
                                     SANDBOX_UIDRANGE_SLOTS);
        if (spec->n_services == 0 || !spec->services)
                return dbx_error_set(err, -EINVAL, "services", "a sandbox needs a service to run");
        if (spec->n_services > SANDBOX_SERVICES_MAX)
                return dbx_error_set(err, -E2BIG, "services", "%zu services; at most %d",
                                     spec->n_services, SANDBOX_SERVICES_MAX);
        for (size_t i = 0; i < spec->n_services; i++) {
                r = validate_service(spec, i, err);
                if (r < 0)
                        return r;
        }
        if (spec->memory_max && spec->memory_max < SANDBOX_MEMORY_MIN)
                return dbx_error_set(err, -EINVAL, "memory_max",
                                     "%llu bytes is below the minimum of %llu (or 0 for no limit)",
                                     (unsigned long long)spec->memory_max,
                                     (unsigned long long)SANDBOX_MEMORY_MIN);
        if (spec->pids_max > SANDBOX_PIDS_MAX_LIMIT)
                return dbx_error_set(err, -EINVAL, "pids_max", "%u is above the kernel's %u",
                                     spec->pids_max, SANDBOX_PIDS_MAX_LIMIT);
        if (spec->cpu_weight && (spec->cpu_weight < SANDBOX_CPU_WEIGHT_MIN ||
                                 spec->cpu_weight > SANDBOX_CPU_WEIGHT_MAX))
                return dbx_error_set(err, -EINVAL, "cpu_weight", "%u is not in %d-%d",
                                     spec->cpu_weight, SANDBOX_CPU_WEIGHT_MIN,
                                     SANDBOX_CPU_WEIGHT_MAX);
        if (spec->n_binds > SANDBOX_BINDS_MAX || (spec->n_binds && !spec->binds))
                return dbx_error_set(err, -E2BIG, "binds", "%zu bind mounts; at most %d",
                                     spec->n_binds, SANDBOX_BINDS_MAX);
        for (size_t i = 0; i < spec->n_binds; i++) {
                const struct sandbox_bind *b = &spec->binds[i];
                char path[32];
                snprintf(path, sizeof(path), "binds[%zu]", i);
                if (!b->src || !path_ok(b->src, false))
                        return dbx_error_set(err, -EINVAL, path,
                                             "src '%s' is not an absolute, normalized host path",
                                             b->src ? b->src : "");
                if (!b->dst || !path_ok(b->dst, false) || dst_reserved(b->dst))
                        return dbx_error_set(err, -EINVAL, path,
                                             "dst '%s' is not an absolute, normalized path "
                                             "outside /proc, /dev, /pup, /storage, /tmp, /run and "
                                             "the generated /etc files",
                                             b->dst ? b->dst : "");
                for (size_t j = 0; j < i; j++)
                        if (streq(spec->binds[j].dst, b->dst))
                                return dbx_error_set(err, -EEXIST, path,
                                                     "dst '%s' is bound by binds[%zu] too", b->dst,
                                                     j);
        }
        if (spec->hostname && !hostname_ok(spec->hostname))
                return dbx_error_set(err, -EINVAL, "hostname",
                                     "'%s' is not a host name (letters, digits and '-', 1-%d "
                                     "characters)",
                                     spec->hostname, SANDBOX_HOSTNAME_MAX);
        if (strv_len(spec->hosts_extra) > SANDBOX_HOSTS_LINES_MAX)
                return dbx_error_set(err, -E2BIG, "hosts_extra", "%zu lines; at most %d",
                                     strv_len(spec->hosts_extra), SANDBOX_HOSTS_LINES_MAX);
        for (size_t i = 0; spec->hosts_extra && spec->hosts_extra[i]; i++) {
                const char *h = spec->hosts_extra[i];
                if (!*h || strlen(h) > SANDBOX_HOSTS_LINE_MAX || has_ctl(h))
                        return dbx_error_set(err, -EINVAL, "hosts_extra",
                                             "line %zu is empty, longer than %d bytes or has "
                                             "control characters",
                                             i, SANDBOX_HOSTS_LINE_MAX);
        }
        if (spec->resolv_conf && strlen(spec->resolv_conf) > SANDBOX_RESOLV_MAX)
                return dbx_error_set(err, -E2BIG, "resolv_conf", "longer than %d bytes",
                                     SANDBOX_RESOLV_MAX);
        if (spec->stop_grace_ms > SANDBOX_GRACE_MAX_MS)
                return dbx_error_set(err, -EINVAL, "stop_grace_ms", "%u ms is above %u ms",
                                     spec->stop_grace_ms, SANDBOX_GRACE_MAX_MS);
        if (spec->backoff.initial_ms == 0 || spec->backoff.max_ms < spec->backoff.initial_ms ||
            spec->backoff.max_ms > BACKOFF_MAX_MS_LIMIT)
                return dbx_error_set(err, -EINVAL, "backoff",
                                     "delays must satisfy 0 < initial_ms (%u) <= max_ms (%u) <= %u",
                                     spec->backoff.initial_ms, spec->backoff.max_ms,
                                     BACKOFF_MAX_MS_LIMIT);
        if (spec->backoff.failing_after == 0 || spec->backoff.failing_after > BACKOFF_FAILING_LIMIT)
                return dbx_error_set(err, -EINVAL, "backoff.failing_after", "%u is not in 1-%u",
                                     spec->backoff.failing_after, BACKOFF_FAILING_LIMIT);
        if (spec->backoff.stable_ms > BACKOFF_MAX_MS_LIMIT)
                return dbx_error_set(err, -EINVAL, "backoff.stable_ms", "%u ms is above %u ms",
                                     spec->backoff.stable_ms, BACKOFF_MAX_MS_LIMIT);
        if ((unsigned)spec->stdio > SANDBOX_STDIO_INHERIT)
                return dbx_error_set(err, -EINVAL, "stdio", "unknown mode %d", (int)spec->stdio);
        return 0;
}

/* --- storage ------------------------------------------------------------- */

int sandbox_storage_prepare(const char *dir, uint32_t uid_base)
{
        struct stat st;

        if (!path_ok(dir, false))
                return -EINVAL;
        if (mkdir(dir, 0750) < 0 && errno != EEXIST)
                return -errno;
        if (lstat(dir, &st) < 0)
                return -errno;
        if (!S_ISDIR(st.st_mode))
                return -ENOTDIR;
        if (lchown(dir, sandbox_uidrange_host(uid_base, SANDBOX_UID_INSIDE),
                   sandbox_uidrange_host(uid_base, SANDBOX_GID_INSIDE)) < 0)
                return -errno;
        return 0;
}
