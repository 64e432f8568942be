/* What the daemon hands to a sandbox before it runs: the generated /etc
 * files and pup-init's configuration (format in initproto.h). Pure. */
#include "core/macro.h"
#include "runtime/initproto.h"
#include "runtime/internal.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

char *sandbox_etc_passwd(void)
{
        return xasprintf("root:x:0:0:root:/root:/usr/sbin/nologin\n"
                         "pup:x:%d:%d:pup:/storage:/bin/sh\n"
                         "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
                         SANDBOX_UID_INSIDE, SANDBOX_GID_INSIDE);
}

char *sandbox_etc_group(void)
{
        return xasprintf("root:x:0:\ntty:x:5:\npup:x:%d:\nnogroup:x:65534:\n", SANDBOX_GID_INSIDE);
}

char *sandbox_etc_hosts(const struct sandbox_spec *spec)
{
        const char *h = spec->hostname ? spec->hostname : "pup";
        size_t cap = 256 + strlen(h), len;
        char *s;

        for (size_t i = 0; spec->hosts_extra && spec->hosts_extra[i]; i++)
                cap += strlen(spec->hosts_extra[i]) + 1;
        s = xmalloc(cap);
        len = (size_t)snprintf(s, cap,
                               "127.0.0.1\tlocalhost\n"
                               "::1\tlocalhost ip6-localhost ip6-loopback\n"
                               "127.0.1.1\t%s\n",
                               h);
        for (size_t i = 0; spec->hosts_extra && spec->hosts_extra[i]; i++)
                len += (size_t)snprintf(s + len, cap - len, "%s\n", spec->hosts_extra[i]);
        return s;
}

struct blob {
        char *p;
        size_t len, cap;
        bool overflow;
};

static void add(struct blob *b, const char *s)
{
        size_t n = strlen(s) + 1;
        if (b->len + n > PUPINIT_CONFIG_MAX) {
                b->overflow = true;
                return;
        }
        if (b->len + n > b->cap) {
                b->cap = MAX(b->cap * 2, b->len + n + 1024);
                b->p = xrealloc(b->p, b->cap);
        }
        memcpy(b->p + b->len, s, n);
        b->len += n;
}

static void add_u(struct blob *b, uint64_t v)
{
        char tmp[24];
        snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
        add(b, tmp);
}

static bool env_has(char *const *env, const char *key)
{
        size_t kl = strlen(key);
        for (size_t i = 0; env && env[i]; i++)
                if (strncmp(env[i], key, kl) == 0 && env[i][kl] == '=')
                        return true;
        return false;
}

int sandbox_initconfig_build(const struct sandbox_spec *spec, char **ret, size_t *ret_len)
{
        static const char *const defaults[][2] = {
            {"PATH", DEFAULT_PATH},
            {"HOME", "HOME=/storage"},
            {"USER", "USER=pup"},
            {"LOGNAME", "LOGNAME=pup"},
        };
        struct blob b = {0};
        size_t ptrs = 0;

        add(&b, PUPINIT_MAGIC);
        add_u(&b, spec->stop_grace_ms);
        add_u(&b, spec->backoff.initial_ms);
        add_u(&b, spec->backoff.max_ms);
        add_u(&b, spec->backoff.stable_ms);
        add_u(&b, spec->backoff.failing_after);
        add_u(&b, spec->stdio == SANDBOX_STDIO_INHERIT);
        add_u(&b, spec->n_services);
        for (size_t i = 0; i < spec->n_services; i++) {
                const struct sandbox_service *s = &spec->services[i];
                size_t argc = 1, envc = 0;

                while (s->args && s->args[argc - 1])
                        argc++;
                while (s->env && s->env[envc])
                        envc++;
                for (size_t d = 0; d < ARRAY_SIZE(defaults); d++)
                        envc += !env_has(s->env, defaults[d][0]);
                ptrs += argc + envc + 2;

                add(&b, s->name);
                add(&b, s->exec);
                add(&b, s->cwd ? s->cwd : "/");
                add_u(&b, (uint64_t)s->restart);
                add_u(&b, argc);
                add(&b, s->exec);
                for (size_t a = 0; a + 1 < argc; a++)
                        add(&b, s->args[a]);
                add_u(&b, envc);
                for (size_t e = 0; s->env && s->env[e]; e++)
                        add(&b, s->env[e]);
                for (size_t d = 0; d < ARRAY_SIZE(defaults); d++)
                        if (!env_has(s->env, defaults[d][0]))
                                add(&b, defaults[d][1]);
        }
        if (b.overflow || ptrs > PUPINIT_PTRS_MAX) {
                free(b.p);
                return -E2BIG;
        }
        *ret = b.p;
        *ret_len = b.len;
        return 0;
}
