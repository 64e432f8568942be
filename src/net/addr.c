/* Addresses: parsing, the subnet layout and the allocator. Pure. */
#include <arpa/inet.h>
#include <stdio.h>
#include "net/net.h"

int net_ip4_parse(const char *s, uint32_t *ret)
{
        struct in_addr a;

        if (!s || inet_pton(AF_INET, s, &a) != 1)
                return -EINVAL;
        *ret = ntohl(a.s_addr);
        return 0;
}

char *net_ip4_format(uint32_t ip, char out[static NET_IP4_STRLEN])
{
        snprintf(out, NET_IP4_STRLEN, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255,
                 ip & 255);
        return out;
}

int net_cidr_parse(const char *s, struct net_cidr *ret, struct dbx_error *err)
{
        char buf[NET_CIDR_STRLEN];
        uint32_t ip;

        if (!s || strlen(s) >= sizeof(buf))
                return dbx_error_set(err, -EINVAL, "", "'%s' is not an IPv4 CIDR (a.b.c.d/len)",
                                     s ? s : "(null)");
        memcpy(buf, s, strlen(s) + 1);
        char *slash = strchr(buf, '/');
        if (!slash)
                return dbx_error_set(err, -EINVAL, "", "'%s' has no prefix length (a.b.c.d/len)",
                                     s);
        *slash = 0;
        if (net_ip4_parse(buf, &ip) < 0)
                return dbx_error_set(err, -EINVAL, "", "'%s' is not an IPv4 address", buf);
        const char *p = slash + 1;
        if (!*p || strlen(p) > 2 || strspn(p, "0123456789") != strlen(p) || atoi(p) > 32)
                return dbx_error_set(err, -EINVAL, "", "'%s': prefix length must be 0-32", s);
        ret->addr = ip;
        ret->prefix = (uint8_t)atoi(p);
        return 0;
}

char *net_cidr_format(const struct net_cidr *c, char out[static NET_CIDR_STRLEN])
{
        char ip[NET_IP4_STRLEN];

        snprintf(out, NET_CIDR_STRLEN, "%s/%u", net_ip4_format(c->addr, ip), c->prefix);
        return out;
}

static uint32_t prefix_mask(uint8_t prefix)
{
        return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}

int net_layout_from_cidr(const struct net_cidr *c, struct net_layout *ret, struct dbx_error *err)
{
        char buf[NET_CIDR_STRLEN];

        if (c->prefix < NET_PREFIX_MIN || c->prefix > NET_PREFIX_MAX)
                return dbx_error_set(err, -EINVAL, "", "%s: prefix /%u is out of range (/%d-/%d)",
                                     net_cidr_format(c, buf), c->prefix, NET_PREFIX_MIN,
                                     NET_PREFIX_MAX);
        uint32_t mask = prefix_mask(c->prefix);
        struct net_layout l = {
            .prefix = c->prefix,
            .network = c->addr & mask,
            .broadcast = (c->addr & mask) | ~mask,
            .gateway = c->addr,
        };
        /* Private ranges only: pups must never shadow real destinations. */
        bool private = (l.network >> 24) == 10 || (l.network >> 20) == (172u << 4 | 1) ||
                       (l.network >> 16) == (192u << 8 | 168);
        if (!private)
                return dbx_error_set(err, -EINVAL, "",
                                     "%s is not in a private range (10/8, 172.16/12, 192.168/16)",
                                     net_cidr_format(c, buf));
        if (c->addr == l.network || c->addr == l.broadcast)
                return dbx_error_set(
                    err, -EINVAL, "", "%s: the gateway must be a host address, not the %s address",
                    net_cidr_format(c, buf), c->addr == l.network ? "network" : "broadcast");
        uint32_t hosts = l.broadcast - l.network - 1;
        uint32_t svc = hosts / 4;
        l.svc_last = l.broadcast - 1;
        l.svc_first = l.svc_last - svc + 1;
        l.pup_first = l.network + 1;
        l.pup_last = l.svc_first - 1;
        *ret = l;
        return 0;
}

static bool pool_bounds(const struct net_layout *l, enum net_pool pool, uint32_t *first,
                        uint32_t *last)
{
        switch (pool) {
        case NET_POOL_PUP:
                *first = l->pup_first;
                *last = l->pup_last;
                return true;
        case NET_POOL_SERVICE:
                *first = l->svc_first;
                *last = l->svc_last;
                return true;
        }
        return false;
}

static const char *pool_name(enum net_pool pool)
{
        return pool == NET_POOL_PUP ? "pup" : "service";
}

static bool addr_usable(const struct net_layout *l, uint32_t ip)
{
        uint8_t last = ip & 255;
        return ip != l->gateway && last != 0 && last != 255;
}

static bool addr_in(uint32_t ip, const uint32_t *used, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (used[i] == ip)
                        return true;
        return false;
}

/* FNV-1a: stable across builds and machines, which is all we need. */
static uint32_t hash_key(const char *s)
{
        uint32_t h = 2166136261u;
        for (; *s; s++) {
                h ^= (uint8_t)*s;
                h *= 16777619u;
        }
        return h;
}

int net_addr_allocate(const struct net_layout *l, enum net_pool pool, const char *key,
                      const uint32_t *used, size_t n_used, uint32_t *ret, struct dbx_error *err)
{
        uint32_t first, last;

        if (!pool_bounds(l, pool, &first, &last))
                return dbx_error_set(err, -EINVAL, "", "unknown address pool %d", (int)pool);
        if (!key || !*key || strlen(key) > NET_PUP_KEY_MAX)
                return dbx_error_set(err, -EINVAL, "",
                                     "allocation key must be 1-%d bytes (the pup id)",
                                     NET_PUP_KEY_MAX);
        uint32_t size = last - first + 1;
        uint32_t start = hash_key(key) % size;
        for (uint32_t i = 0; i < size; i++) {
                uint32_t ip = first + (start + i) % size;
                if (addr_usable(l, ip) && !addr_in(ip, used, n_used)) {
                        *ret = ip;
                        return 0;
                }
        }
        char a[NET_IP4_STRLEN], b[NET_IP4_STRLEN];
        return dbx_error_set(err, -ENOSPC, "", "no free %s address left in %s-%s", pool_name(pool),
                             net_ip4_format(first, a), net_ip4_format(last, b));
}

int net_addr_validate(const struct net_layout *l, enum net_pool pool, uint32_t ip,
                      const uint32_t *used, size_t n_used, struct dbx_error *err)
{
        uint32_t first, last;
        char s[NET_IP4_STRLEN], a[NET_IP4_STRLEN], b[NET_IP4_STRLEN];

        if (!pool_bounds(l, pool, &first, &last))
                return dbx_error_set(err, -EINVAL, "", "unknown address pool %d", (int)pool);
        net_ip4_format(ip, s);
        if (ip < first || ip > last)
                return dbx_error_set(err, -EINVAL, "", "%s is outside the %s pool %s-%s", s,
                                     pool_name(pool), net_ip4_format(first, a),
                                     net_ip4_format(last, b));
        if (ip == l->gateway)
                return dbx_error_set(err, -EINVAL, "", "%s is the gateway address", s);
        if (!addr_usable(l, ip))
                return dbx_error_set(err, -EINVAL, "",
                                     "%s ends in .0 or .255, which are never handed out", s);
        if (addr_in(ip, used, n_used))
                return dbx_error_set(err, -EADDRINUSE, "", "%s is already in use", s);
        return 0;
}

void net_mac_for_ip(uint32_t ip, uint8_t ret[static 6])
{
        ret[0] = 0x02; /* locally administered, unicast */
        ret[1] = 0xdb;
        ret[2] = ip >> 24;
        ret[3] = (ip >> 16) & 255;
        ret[4] = (ip >> 8) & 255;
        ret[5] = ip & 255;
}

void net_veth_name(uint32_t ip, char out[static NET_IFNAME_MAX])
{
        snprintf(out, NET_IFNAME_MAX, "dbx%08x", ip);
}

int net_ifname_validate(const char *name, const char *path, struct dbx_error *err)
{
        size_t n = name ? strlen(name) : 0;

        if (n == 0 || n >= NET_IFNAME_MAX)
                return dbx_error_set(err, -EINVAL, path,
                                     "interface name '%s' must be 1-%d characters",
                                     name ? name : "", NET_IFNAME_MAX - 1);
        if (streq(name, ".") || streq(name, ".."))
                return dbx_error_set(err, -EINVAL, path, "'%s' is not a valid interface name",
                                     name);
        for (size_t i = 0; i < n; i++) {
                unsigned char ch = (unsigned char)name[i];
                bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                          (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.';
                if (!ok)
                        return dbx_error_set(
                            err, -EINVAL, path,
                            "interface name '%s' may only hold letters, digits, '-', '_', '.'",
                            name);
        }
        return 0;
}
