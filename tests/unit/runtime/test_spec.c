#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/macro.h"
#include "runtime/sandbox.h"

static void base(struct sandbox_spec *s)
{
        static char *const args[] = {"-c", "exec dogecoind", NULL};
        static char *const env[] = {"DBX_PUP_ID=abc", "A_1=", NULL};
        sandbox_spec_init(s);
        s->pup_id = xstrdup("0123456789abcdef0123456789abcdef");
        s->pup_dir = xstrdup("/var/lib/dogebox/pups/x");
        s->storage_dir = xstrdup("/var/lib/dogebox/storage/x");
        s->uid_base = SANDBOX_UIDRANGE_BASE + SANDBOX_UIDRANGE_SIZE;
        assert_int_equal(sandbox_spec_add_service(s, "dogecoind", "/pup/bin/run.sh", args,
                                                  "/storage", env, SANDBOX_RESTART_ALWAYS),
                         0);
}

static void set_str(char **field, const char *v)
{
        free(*field);
        *field = v ? xstrdup(v) : NULL;
}

static char *long_string(size_t n, char c)
{
        char *s = xmalloc(n + 1);
        memset(s, c, n);
        s[0] = '/';
        s[n] = 0;
        return s;
}

#define MUT(name) static void name(struct sandbox_spec *s)
MUT(m_none)
{
}
MUT(m_no_id)
{
        set_str(&s->pup_id, NULL);
}
MUT(m_bad_id)
{
        set_str(&s->pup_id, "Pup_1");
}
MUT(m_long_id)
{
        free(s->pup_id);
        s->pup_id = long_string(SANDBOX_NAME_MAX + 1, 'a');
        s->pup_id[0] = 'a';
}
MUT(m_rel_pup)
{
        set_str(&s->pup_dir, "pups/x");
}
MUT(m_dotdot)
{
        set_str(&s->storage_dir, "/var/lib/../etc");
}
MUT(m_dot)
{
        set_str(&s->log_dir, "/var/./log");
}
MUT(m_trailing)
{
        set_str(&s->pup_dir, "/var/lib/x/");
}
MUT(m_double)
{
        set_str(&s->pup_dir, "/var//lib");
}
MUT(m_root)
{
        set_str(&s->storage_dir, "/");
}
MUT(m_ctl)
{
        set_str(&s->pup_dir, "/var/li\nb");
}
MUT(m_uid0)
{
        s->uid_base = 0;
}
MUT(m_uid_unaligned)
{
        s->uid_base += 420;
}
MUT(m_uid_past)
{
        s->uid_base = SANDBOX_UIDRANGE_BASE + SANDBOX_UIDRANGE_SLOTS * SANDBOX_UIDRANGE_SIZE;
}
MUT(m_uid_dev)
{
        s->uid_base = SANDBOX_UIDRANGE_BASE;
}
MUT(m_no_services)
{
        s->n_services = 0;
}
/* undo m_no_services after validating, so everything is freed */
static size_t hidden_services;
MUT(m_svc_name)
{
        set_str(&s->services[0].name, "dog ecoin");
}
MUT(m_svc_dup)
{
        sandbox_spec_add_service(s, "dogecoind", "/bin/true", NULL, NULL, NULL, 0);
}
MUT(m_svc_exec_rel)
{
        set_str(&s->services[0].exec, "bin/run.sh");
}
MUT(m_svc_exec_null)
{
        set_str(&s->services[0].exec, NULL);
}
MUT(m_svc_cwd)
{
        set_str(&s->services[0].cwd, "storage");
}
MUT(m_svc_cwd_root)
{
        set_str(&s->services[0].cwd, "/");
}
MUT(m_svc_env)
{
        set_str(&s->services[0].env[0], "NOEQUALS");
}
MUT(m_svc_env_key)
{
        set_str(&s->services[0].env[0], "1A=b");
}
MUT(m_svc_env_empty_key)
{
        set_str(&s->services[0].env[0], "=b");
}
MUT(m_svc_restart)
{
        s->services[0].restart = (enum sandbox_restart)7;
}
MUT(m_many_services)
{
        for (int i = 1; i < SANDBOX_SERVICES_MAX; i++) {
                char n[16];
                snprintf(n, sizeof(n), "s%d", i);
                assert_true(sandbox_spec_add_service(s, n, "/bin/true", NULL, NULL, NULL, 0) >= 0);
        }
        /* the helper refuses one more; a hand-built spec may still try */
        assert_int_equal(sandbox_spec_add_service(s, "x", "/bin/true", NULL, NULL, NULL, 0),
                         -E2BIG);
        s->services = xrealloc(s->services, (SANDBOX_SERVICES_MAX + 1) * sizeof(*s->services));
        s->services[SANDBOX_SERVICES_MAX] =
            (struct sandbox_service){.name = xstrdup("x"), .exec = xstrdup("/bin/true")};
        s->n_services++;
}
MUT(m_max_services)
{
        for (int i = 1; i < SANDBOX_SERVICES_MAX; i++) {
                char n[16];
                snprintf(n, sizeof(n), "s%d", i);
                assert_true(sandbox_spec_add_service(s, n, "/bin/true", NULL, NULL, NULL, 0) >= 0);
        }
}
MUT(m_many_args)
{
        char **a = xcalloc(SANDBOX_ARGS_MAX + 1, sizeof(char *));
        for (int i = 0; i < SANDBOX_ARGS_MAX; i++)
                a[i] = xstrdup("x");
        for (size_t i = 0; s->services[0].args[i]; i++)
                free(s->services[0].args[i]);
        free(s->services[0].args);
        s->services[0].args = a;
}
MUT(m_long_arg)
{
        free(s->services[0].args[0]);
        s->services[0].args[0] = long_string(SANDBOX_STRING_MAX, 'x');
}
MUT(m_mem_small)
{
        s->memory_max = SANDBOX_MEMORY_MIN - 1;
}
MUT(m_mem_min)
{
        s->memory_max = SANDBOX_MEMORY_MIN;
}
MUT(m_pids)
{
        s->pids_max = SANDBOX_PIDS_MAX_LIMIT + 1;
}
MUT(m_cpu_hi)
{
        s->cpu_weight = SANDBOX_CPU_WEIGHT_MAX + 1;
}
MUT(m_cpu_zero)
{
        s->cpu_weight = 0;
}
MUT(m_bind_dst_proc)
{
        set_str(&s->binds[0].dst, "/proc/x");
}
MUT(m_bind_dst_etc)
{
        set_str(&s->binds[0].dst, "/etc/hosts");
}
MUT(m_bind_dst_storage)
{
        set_str(&s->binds[0].dst, "/storage");
}
MUT(m_bind_dst_storagex)
{
        set_str(&s->binds[0].dst, "/storagex");
}
MUT(m_bind_src_rel)
{
        set_str(&s->binds[1].src, "usr");
}
MUT(m_bind_dup)
{
        set_str(&s->binds[1].dst, "/usr");
}
MUT(m_binds_many)
{
        s->n_binds = SANDBOX_BINDS_MAX + 1;
}
MUT(m_hostname)
{
        set_str(&s->hostname, "-pup");
}
MUT(m_hostname_ok)
{
        set_str(&s->hostname, "pup-Core1");
}
MUT(m_hostname_long)
{
        free(s->hostname);
        s->hostname = long_string(SANDBOX_HOSTNAME_MAX + 1, 'a');
        s->hostname[0] = 'a';
}
MUT(m_hosts)
{
        s->hosts_extra = xcalloc(3, sizeof(char *));
        s->hosts_extra[0] = xstrdup("10.69.0.1 dogeboxd");
        s->hosts_extra[1] = xstrdup("1.2.3.4 x\ny");
}
MUT(m_hosts_ok)
{
        s->hosts_extra = xcalloc(2, sizeof(char *));
        s->hosts_extra[0] = xstrdup("10.69.0.1 dogeboxd dogeboxd.local dogebox dogebox.local");
}
MUT(m_resolv)
{
        free(s->resolv_conf);
        s->resolv_conf = long_string(SANDBOX_RESOLV_MAX + 1, 'n');
}
MUT(m_grace)
{
        s->stop_grace_ms = SANDBOX_GRACE_MAX_MS + 1;
}
MUT(m_backoff0)
{
        s->backoff.initial_ms = 0;
}
MUT(m_backoff_order)
{
        s->backoff.max_ms = s->backoff.initial_ms - 1;
}
MUT(m_failing0)
{
        s->backoff.failing_after = 0;
}
MUT(m_stdio)
{
        s->stdio = (enum sandbox_stdio)9;
}

static const struct {
        const char *name;
        void (*mut)(struct sandbox_spec *);
        int code;
        const char *path;    /* exact */
        const char *message; /* substring */
} cases[] = {
    {"valid", m_none, 0, "", ""},
    {"no id", m_no_id, -EINVAL, "pup_id", "is not a pup id"},
    {"bad id", m_bad_id, -EINVAL, "pup_id", "'Pup_1' is not a pup id ([a-z0-9-]"},
    {"long id", m_long_id, -EINVAL, "pup_id", "1-64 characters"},
    {"relative pup_dir", m_rel_pup, -EINVAL, "pup_dir", "'pups/x' is not an absolute"},
    {"dotdot", m_dotdot, -EINVAL, "storage_dir", "normalized"},
    {"dot", m_dot, -EINVAL, "log_dir", "normalized"},
    {"trailing slash", m_trailing, -EINVAL, "pup_dir", "normalized"},
    {"double slash", m_double, -EINVAL, "pup_dir", "normalized"},
    {"root dir", m_root, -EINVAL, "storage_dir", "other than /"},
    {"control char", m_ctl, -EINVAL, "pup_dir", "normalized"},
    {"uid 0", m_uid0, -EINVAL, "uid_base", "0 is not the start of a uid range"},
    {"uid unaligned", m_uid_unaligned, -EINVAL, "uid_base", "not the start"},
    {"uid past", m_uid_past, -EINVAL, "uid_base", "n < 4096"},
    {"uid dev slot", m_uid_dev, 0, "", ""},
    {"no services", m_no_services, -EINVAL, "services", "needs a service"},
    {"service name", m_svc_name, -EINVAL, "services[0]", "'dog ecoin' is not a service name"},
    {"service dup", m_svc_dup, -EEXIST, "services[1]", "used by services[0]"},
    {"exec relative", m_svc_exec_rel, -EINVAL, "services[0].exec", "'bin/run.sh'"},
    {"exec missing", m_svc_exec_null, -EINVAL, "services[0].exec", "absolute"},
    {"cwd relative", m_svc_cwd, -EINVAL, "services[0].cwd", "'storage'"},
    {"cwd root", m_svc_cwd_root, 0, "", ""},
    {"env no =", m_svc_env, -EINVAL, "services[0].env", "entry 0 is not KEY=VALUE"},
    {"env digit key", m_svc_env_key, -EINVAL, "services[0].env", "KEY=VALUE"},
    {"env empty key", m_svc_env_empty_key, -EINVAL, "services[0].env", "KEY=VALUE"},
    {"restart", m_svc_restart, -EINVAL, "services[0].restart", "unknown restart policy 7"},
    {"too many services", m_many_services, -E2BIG, "services", "33 services; at most 32"},
    {"max services", m_max_services, 0, "", ""},
    {"too many args", m_many_args, -E2BIG, "services[0].args", "256 arguments; at most 255"},
    {"long arg", m_long_arg, -E2BIG, "services[0].args", "longer than 4095 bytes"},
    {"memory small", m_mem_small, -EINVAL, "memory_max", "below the minimum"},
    {"memory min", m_mem_min, 0, "", ""},
    {"pids", m_pids, -EINVAL, "pids_max", "above the kernel's"},
    {"cpu high", m_cpu_hi, -EINVAL, "cpu_weight", "10001 is not in 1-10000"},
    {"cpu zero", m_cpu_zero, 0, "", ""},
    {"bind /proc", m_bind_dst_proc, -EINVAL, "binds[0]", "dst '/proc/x'"},
    {"bind /etc/hosts", m_bind_dst_etc, -EINVAL, "binds[0]", "generated /etc files"},
    {"bind /storage", m_bind_dst_storage, -EINVAL, "binds[0]", "dst '/storage'"},
    {"bind /storagex", m_bind_dst_storagex, 0, "", ""},
    {"bind src relative", m_bind_src_rel, -EINVAL, "binds[1]", "src 'usr'"},
    {"bind duplicate", m_bind_dup, -EEXIST, "binds[1]", "bound by binds[0]"},
    {"too many binds", m_binds_many, -E2BIG, "binds", "at most 64"},
    {"hostname", m_hostname, -EINVAL, "hostname", "'-pup' is not a host name"},
    {"hostname ok", m_hostname_ok, 0, "", ""},
    {"hostname long", m_hostname_long, -EINVAL, "hostname", "1-63 characters"},
    {"hosts newline", m_hosts, -EINVAL, "hosts_extra", "line 1"},
    {"hosts ok", m_hosts_ok, 0, "", ""},
    {"resolv", m_resolv, -E2BIG, "resolv_conf", "longer than 4096"},
    {"grace", m_grace, -EINVAL, "stop_grace_ms", "above 600000 ms"},
    {"backoff zero", m_backoff0, -EINVAL, "backoff", "0 < initial_ms (0)"},
    {"backoff order", m_backoff_order, -EINVAL, "backoff", "initial_ms (500) <= max_ms (499)"},
    {"failing zero", m_failing0, -EINVAL, "backoff.failing_after", "0 is not in 1-1000"},
    {"stdio", m_stdio, -EINVAL, "stdio", "unknown mode 9"},
};

static void test_validate_table(void **state)
{
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct sandbox_spec s;
                struct dbx_error err = {0};
                size_t n_binds;
                int r;

                base(&s);
                n_binds = s.n_binds;
                hidden_services = s.n_services;
                cases[i].mut(&s);
                r = sandbox_spec_validate(&s, &err);
                if (r != cases[i].code || strcmp(err.path, cases[i].path) != 0 ||
                    !strstr(err.message, cases[i].message))
                        fail_msg("case '%s': got %d '%s: %s'", cases[i].name, r, err.path,
                                 err.message);
                if (s.n_binds > n_binds) /* m_binds_many only pretends */
                        s.n_binds = n_binds;
                if (s.n_services == 0)
                        s.n_services = hidden_services;
                sandbox_spec_done(&s);
        }
}

static void test_copy_is_deep(void **state)
{
        struct sandbox_spec a, b;
        base(&a);
        a.hosts_extra = xcalloc(2, sizeof(char *));
        a.hosts_extra[0] = xstrdup("10.69.0.1 dogeboxd");
        sandbox_spec_copy(&a, &b);
        assert_ptr_not_equal(a.pup_id, b.pup_id);
        assert_string_equal(a.pup_id, b.pup_id);
        assert_ptr_not_equal(a.services[0].args[1], b.services[0].args[1]);
        assert_string_equal(b.services[0].args[1], "exec dogecoind");
        assert_string_equal(b.services[0].env[0], "DBX_PUP_ID=abc");
        assert_ptr_not_equal(a.binds[0].src, b.binds[0].src);
        assert_string_equal(b.hosts_extra[0], "10.69.0.1 dogeboxd");
        sandbox_spec_done(&a);
        assert_int_equal(sandbox_spec_validate(&b, NULL), 0); /* b survives a's death */
        sandbox_spec_done(&b);
        assert_null(b.pup_id);
}

static void test_defaults(void **state)
{
        struct sandbox_spec s;
        sandbox_spec_init(&s);
        assert_int_equal(s.stop_grace_ms, 10000);
        assert_int_equal(s.cpu_weight, 100);
        assert_int_equal(s.backoff.initial_ms, SANDBOX_BACKOFF_INITIAL_MS);
        assert_int_equal(s.n_binds, sandbox_default_binds_count);
        assert_string_equal(s.binds[0].src, "/usr");
        assert_false(s.binds[0].optional);
        for (size_t i = 0; i < s.n_binds; i++)
                assert_false(s.binds[i].rw);
        sandbox_spec_done(&s);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_validate_table),
            cmocka_unit_test(test_copy_is_deep),
            cmocka_unit_test(test_defaults),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
