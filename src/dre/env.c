/* What a pup sees of the DRE: its DBX_* environment and its /etc/hosts.
 * Pure. */
#include <arpa/inet.h>
#include <stdio.h>
#include "dre/dre.h"

#define ENV_KEY_MAX (sizeof("DBX_IFACE__NAME") + DRE_IFACE_NAME_MAX)

int dre_env_iface_key(const char *interface, char *out, size_t size)
{
        size_t n = 0;

        if (!interface || strlen(interface) > DRE_IFACE_NAME_MAX || size == 0)
                return -EINVAL;
        for (const char *p = interface; *p; p++) {
                char c = *p;
                if (c >= 'a' && c <= 'z')
                        c = (char)(c - 'a' + 'A');
                else if (c == '-' || c == ' ')
                        c = '_';
                else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
                        continue;
                if (n + 1 >= size)
                        return -ENAMETOOLONG;
                out[n++] = c;
        }
        out[n] = 0;
        return n ? 0 : -EINVAL;
}

static bool ip4_ok(const char *s)
{
        struct in_addr a;
        return s && inet_pton(AF_INET, s, &a) == 1;
}

/* Values go into the environment of a process, and may be printed into an
 * env file: one line of printable characters. */
static bool value_ok(const char *s)
{
        size_t n = s ? strlen(s) : 0;
        if (n == 0 || n > DRE_ENV_VALUE_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                        return false;
        return true;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

char **dre_env_free(char **env)
{
        if (env)
                for (char **p = env; *p; p++)
                        free(*p);
        free(env);
        return NULL;
}

int dre_env_build(const struct dre_env_spec *s, char ***ret, size_t *ret_n, struct dbx_error *err)
{
        char path[64];

        if (!value_ok(s->pup_id))
                return dbx_error_set(err, -EINVAL, "pup_id", "a pup id is required");
        if (!ip4_ok(s->pup_ip))
                return dbx_error_set(err, -EINVAL, "pup_ip", "'%s' is not an IPv4 address",
                                     s->pup_ip ? s->pup_ip : "");
        if (!ip4_ok(s->dbx_host))
                return dbx_error_set(err, -EINVAL, "dbx_host", "'%s' is not an IPv4 address",
                                     s->dbx_host ? s->dbx_host : "");
        if (!s->dbx_port)
                return dbx_error_set(err, -EINVAL, "dbx_port", "0 is not a port (1-65535)");
        if (s->n_ifaces > DRE_ENV_IFACES_MAX)
                return dbx_error_set(err, -E2BIG, "ifaces", "%zu interfaces (at most %d)",
                                     s->n_ifaces, DRE_ENV_IFACES_MAX);

        size_t n = 4 + 3 * s->n_ifaces;
        _cleanup_free_ char(*keys)[ENV_KEY_MAX] = xcalloc(s->n_ifaces + 1, ENV_KEY_MAX);
        for (size_t i = 0; i < s->n_ifaces; i++) {
                const struct dre_env_iface *f = &s->ifaces[i];
                snprintf(path, sizeof(path), "ifaces[%zu]", i);
                if (dre_env_iface_key(f->interface, keys[i], ENV_KEY_MAX) < 0)
                        return dbx_error_set(err, -EINVAL, path,
                                             "interface '%s' has no letter or digit to name a "
                                             "variable after",
                                             f->interface ? f->interface : "");
                if (!value_ok(f->name))
                        return dbx_error_set(err, -EINVAL, path,
                                             "interface %s: the expose name must be 1-%d "
                                             "printable characters",
                                             f->interface, DRE_ENV_VALUE_MAX);
                if (!value_ok(f->host))
                        return dbx_error_set(err, -EINVAL, path, "interface %s: host is required",
                                             f->interface);
                if (!f->port)
                        return dbx_error_set(err, -EINVAL, path,
                                             "interface %s: 0 is not a port (1-65535)",
                                             f->interface);
                for (size_t j = 0; j < i; j++)
                        if (streq(keys[j], keys[i]))
                                return dbx_error_set(err, -EINVAL, path,
                                                     "interfaces '%s' and '%s' both map to "
                                                     "DBX_IFACE_%s_*",
                                                     s->ifaces[j].interface, f->interface, keys[i]);
        }

        char **env = xcalloc(n + 1, sizeof(char *));
        size_t k = 0;
        env[k++] = xasprintf("DBX_PUP_ID=%s", s->pup_id);
        env[k++] = xasprintf("DBX_PUP_IP=%s", s->pup_ip);
        env[k++] = xasprintf("DBX_HOST=%s", s->dbx_host);
        env[k++] = xasprintf("DBX_PORT=%u", s->dbx_port);
        for (size_t i = 0; i < s->n_ifaces; i++) {
                const struct dre_env_iface *f = &s->ifaces[i];
                env[k++] = xasprintf("DBX_IFACE_%s_NAME=%s", keys[i], f->name);
                env[k++] = xasprintf("DBX_IFACE_%s_HOST=%s", keys[i], f->host);
                env[k++] = xasprintf("DBX_IFACE_%s_PORT=%u", keys[i], f->port);
        }
        qsort(env, k, sizeof(char *), cmp_str);
        *ret = env;
        if (ret_n)
                *ret_n = k;
        return 0;
}

static bool host_label_ok(const char *s)
{
        size_t n = s ? strlen(s) : 0;
        if (n == 0 || n >= DRE_IFACE_NAME_MAX || s[0] == '-' || s[n - 1] == '-')
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
                        return false;
        }
        return true;
}

int dre_hosts_render(const char *gateway, const struct dre_hosts_entry *e, size_t n, char **ret,
                     struct dbx_error *err)
{
        char *text = NULL;
        size_t len = 0;

        if (!ip4_ok(gateway))
                return dbx_error_set(err, -EINVAL, "gateway", "'%s' is not an IPv4 address",
                                     gateway ? gateway : "");
        if (n > DRE_ENV_IFACES_MAX)
                return dbx_error_set(err, -E2BIG, "", "%zu interfaces (at most %d)", n,
                                     DRE_ENV_IFACES_MAX);
        for (size_t i = 0; i < n; i++) {
                if (!host_label_ok(e[i].interface))
                        return dbx_error_set(err, -EINVAL, "",
                                             "interface name '%s' cannot be a host name "
                                             "(lowercase letters, digits, '-', '_')",
                                             e[i].interface ? e[i].interface : "");
                if (!ip4_ok(e[i].addr))
                        return dbx_error_set(err, -EINVAL, "",
                                             "interface %s: '%s' is not an IPv4 address",
                                             e[i].interface, e[i].addr ? e[i].addr : "");
                for (size_t j = 0; j < i; j++)
                        if (streq(e[j].interface, e[i].interface))
                                return dbx_error_set(err, -EINVAL, "", "interface %s listed twice",
                                                     e[i].interface);
        }
        FILE *f = open_memstream(&text, &len);
        if (!f)
                return dbx_error_set(err, -ENOMEM, "", "out of memory");
        fprintf(f,
                "# generated by dogeboxd\n"
                "127.0.0.1\tlocalhost\n"
                "::1\tlocalhost ip6-localhost ip6-loopback\n"
                "%s\tdogeboxd dogeboxd.local dogebox dogebox.local\n",
                gateway);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s\t%s.localhost\n", e[i].addr, e[i].interface);
        fclose(f);
        *ret = text;
        return 0;
}
