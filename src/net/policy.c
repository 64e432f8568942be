/* The daemon's firewall: a plain-data policy rendered to nftables text and
 * applied in one transaction. docs/networking.md explains every rule. */
#include <nftables/libnftables.h>
#include <stdarg.h>
#include <stdio.h>
#include "net/internal.h"
#include "net/net.h"

#define NET_HTTP_PORT_DEFAULT 80
#define NET_PUP_ID_MAX        NET_PUP_KEY_MAX
#define PROC_TCP_MAX          (8u << 20) /* /proc/net/tcp of a busy host stays far below */

static bool table_name_ok(const char *s)
{
        size_t n = strlen(s);
        if (n == 0 || n >= NET_TABLE_NAME_MAX)
                return false;
        if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '_'))
                        return false;
        }
        return true;
}

/* Pup ids end up inside quoted nft comments and error messages. */
static bool pup_id_ok(const char *s)
{
        size_t n = s ? strlen(s) : 0;
        if (n == 0 || n > NET_PUP_ID_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '_' || c == '.'))
                        return false;
        }
        return true;
}

static const char *or_default(const char *s, const char *def)
{
        return s && *s ? s : def;
}

/* The checked, sorted view the renderer works from. */
struct pup_view {
        const struct net_policy_pup *p;
        char veth[NET_IFNAME_MAX];
};

struct policy_view {
        const char *table, *bridge, *uplink;
        struct net_layout layout;
        uint16_t http_port;
        struct pup_view *pups;
        const struct net_service **svcs;
        uint16_t *gw_ports;
        size_t n_gw_ports;
};

static void view_free(struct policy_view *v)
{
        free(v->pups);
        free(v->svcs);
        free(v->gw_ports);
}

static int cmp_pup(const void *a, const void *b)
{
        const struct pup_view *x = a, *y = b;
        return x->p->ip < y->p->ip ? -1 : x->p->ip > y->p->ip;
}

static int cmp_svc(const void *a, const void *b)
{
        const struct net_service *x = *(const struct net_service *const *)a;
        const struct net_service *y = *(const struct net_service *const *)b;
        return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int cmp_u16(const void *a, const void *b)
{
        return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

static int cmp_u32(const void *a, const void *b)
{
        uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
        return x < y ? -1 : x > y;
}

static const struct net_policy_pup *find_pup_by_ip(const struct policy_view *v, size_t n,
                                                   uint32_t ip)
{
        size_t lo = 0, hi = n;
        while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (v->pups[mid].p->ip == ip)
                        return v->pups[mid].p;
                if (v->pups[mid].p->ip < ip)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return NULL;
}

static int check_policy(const struct net_policy *p, struct policy_view *v, struct dbx_error *err)
{
        char path[96], a[NET_IP4_STRLEN];
        int r;

        *v = (struct policy_view){0};
        v->table = or_default(p->table, NET_DEFAULT_TABLE);
        v->bridge = or_default(p->bridge, NET_DEFAULT_BRIDGE);
        v->uplink = or_default(p->uplink, "");
        v->http_port = p->http_port ? p->http_port : NET_HTTP_PORT_DEFAULT;

        if (!table_name_ok(v->table))
                return dbx_error_set(err, -EINVAL, "table",
                                     "'%s' is not a table name (letters, digits, '_'; 1-%d "
                                     "characters, not starting with a digit)",
                                     v->table, NET_TABLE_NAME_MAX - 1);
        r = net_ifname_validate(v->bridge, "bridge", err);
        if (r < 0)
                return r;
        if (*v->uplink) {
                r = net_ifname_validate(v->uplink, "uplink", err);
                if (r < 0)
                        return r;
                if (streq(v->uplink, v->bridge))
                        return dbx_error_set(err, -EINVAL, "uplink",
                                             "the uplink cannot be the pups' bridge %s", v->bridge);
        }
        r = net_layout_from_cidr(&p->gateway, &v->layout, err);
        if (r < 0)
                return r;

        if (p->n_gateway_ports > NET_GATEWAY_PORTS_MAX)
                return dbx_error_set(err, -E2BIG, "gateway_ports", "%zu ports (at most %d)",
                                     p->n_gateway_ports, NET_GATEWAY_PORTS_MAX);
        v->gw_ports = xcalloc(p->n_gateway_ports + 1, sizeof(uint16_t));
        for (size_t i = 0; i < p->n_gateway_ports; i++) {
                if (p->gateway_ports[i] == 0)
                        return dbx_error_set(err, -EINVAL, "gateway_ports",
                                             "0 is not a port (1-65535)");
                v->gw_ports[i] = p->gateway_ports[i];
        }
        v->n_gw_ports = p->n_gateway_ports;
        qsort(v->gw_ports, v->n_gw_ports, sizeof(uint16_t), cmp_u16);
        for (size_t i = 1; i < v->n_gw_ports; i++)
                if (v->gw_ports[i] == v->gw_ports[i - 1])
                        return dbx_error_set(err, -EINVAL, "gateway_ports", "port %u listed twice",
                                             v->gw_ports[i]);

        if (p->n_pups > NET_POLICY_PUPS_MAX)
                return dbx_error_set(err, -E2BIG, "pups", "%zu pups (at most %d)", p->n_pups,
                                     NET_POLICY_PUPS_MAX);
        v->pups = xcalloc(p->n_pups + 1, sizeof(*v->pups));
        for (size_t i = 0; i < p->n_pups; i++) {
                const struct net_policy_pup *pp = &p->pups[i];
                snprintf(path, sizeof(path), "pups[%zu]", i);
                if (!pup_id_ok(pp->id))
                        return dbx_error_set(err, -EINVAL, path,
                                             "id '%s' must be 1-%d letters, digits, '-', '_' or "
                                             "'.'",
                                             pp->id ? pp->id : "", NET_PUP_ID_MAX);
                struct dbx_error e = {0};
                r = net_addr_validate(&v->layout, NET_POOL_PUP, pp->ip, NULL, 0, &e);
                if (r < 0)
                        return dbx_error_set(err, r, path, "pup %s: %s", pp->id, e.message);
                v->pups[i].p = pp;
                if (pp->veth && *pp->veth) {
                        snprintf(path, sizeof(path), "pups[%zu].veth", i);
                        r = net_ifname_validate(pp->veth, path, err);
                        if (r < 0)
                                return r;
                        snprintf(v->pups[i].veth, NET_IFNAME_MAX, "%s", pp->veth);
                } else {
                        net_veth_name(pp->ip, v->pups[i].veth);
                }
                if (streq(v->pups[i].veth, v->bridge) || streq(v->pups[i].veth, v->uplink))
                        return dbx_error_set(err, -EINVAL, path,
                                             "pup %s: veth %s is the bridge or the uplink", pp->id,
                                             v->pups[i].veth);
                if (pp->n_forwards > NET_FORWARDS_MAX)
                        return dbx_error_set(err, -E2BIG, path,
                                             "pup %s forwards %zu host ports (at most %d)", pp->id,
                                             pp->n_forwards, NET_FORWARDS_MAX);
                for (size_t j = 0; j < pp->n_forwards; j++)
                        if (!pp->forwards[j].host_port || !pp->forwards[j].pup_port)
                                return dbx_error_set(err, -EINVAL, path,
                                                     "pup %s: forward %zu: 0 is not a port "
                                                     "(1-65535)",
                                                     pp->id, j);
        }
        qsort(v->pups, p->n_pups, sizeof(*v->pups), cmp_pup);
        for (size_t i = 1; i < p->n_pups; i++) {
                if (v->pups[i].p->ip == v->pups[i - 1].p->ip)
                        return dbx_error_set(err, -EINVAL, "pups",
                                             "pups %s and %s share the address %s",
                                             v->pups[i - 1].p->id, v->pups[i].p->id,
                                             net_ip4_format(v->pups[i].p->ip, a));
        }
        /* Names and host ports must be unique across pups (quadratic, but on at
         * most NET_POLICY_PUPS_MAX short entries: ~0.1 s in the worst case). */
        for (size_t i = 0; i < p->n_pups; i++) {
                for (size_t j = i + 1; j < p->n_pups; j++) {
                        if (streq(v->pups[i].veth, v->pups[j].veth))
                                return dbx_error_set(
                                    err, -EINVAL, "pups", "pups %s and %s share the veth %s",
                                    v->pups[i].p->id, v->pups[j].p->id, v->pups[i].veth);
                        if (streq(v->pups[i].p->id, v->pups[j].p->id))
                                return dbx_error_set(err, -EINVAL, "pups", "pup %s listed twice",
                                                     v->pups[i].p->id);
                }
        }
        for (size_t i = 0; i < p->n_pups; i++) {
                const struct net_policy_pup *x = v->pups[i].p;
                for (size_t k = 0; k < x->n_forwards; k++) {
                        uint16_t hp = x->forwards[k].host_port;
                        for (size_t j = i; j < p->n_pups; j++) {
                                const struct net_policy_pup *y = v->pups[j].p;
                                for (size_t l = (j == i ? k + 1 : 0); l < y->n_forwards; l++)
                                        if (y->forwards[l].host_port == hp)
                                                return dbx_error_set(
                                                    err, -EADDRINUSE, "pups",
                                                    "host port %u is forwarded to both %s "
                                                    "and %s",
                                                    hp, x->id, y->id);
                        }
                }
        }

        if (p->n_services > NET_POLICY_SVC_MAX)
                return dbx_error_set(err, -E2BIG, "services", "%zu services (at most %d)",
                                     p->n_services, NET_POLICY_SVC_MAX);
        v->svcs = xcalloc(p->n_services + 1, sizeof(*v->svcs));
        for (size_t i = 0; i < p->n_services; i++) {
                const struct net_service *s = &p->services[i];
                snprintf(path, sizeof(path), "services[%zu]", i);
                struct dbx_error e = {0};
                r = net_addr_validate(&v->layout, NET_POOL_SERVICE, s->addr, NULL, 0, &e);
                if (r < 0)
                        return dbx_error_set(err, r, path, "%s", e.message);
                if (s->n_tcp_ports > NET_SVC_PORTS_MAX)
                        return dbx_error_set(err, -E2BIG, path, "%zu tcp ports (at most %d)",
                                             s->n_tcp_ports, NET_SVC_PORTS_MAX);
                for (size_t j = 0; j < s->n_tcp_ports; j++) {
                        if (!s->tcp_ports[j])
                                return dbx_error_set(err, -EINVAL, path,
                                                     "0 is not a port (1-65535)");
                        if (s->http && s->tcp_ports[j] == v->http_port)
                                return dbx_error_set(err, -EINVAL, path,
                                                     "tcp port %u is the service address' HTTP "
                                                     "port",
                                                     v->http_port);
                        for (size_t k = 0; k < j; k++)
                                if (s->tcp_ports[k] == s->tcp_ports[j])
                                        return dbx_error_set(err, -EINVAL, path,
                                                             "tcp port %u listed twice",
                                                             s->tcp_ports[j]);
                }
                if (s->n_consumers > NET_SVC_CONSUMERS_MAX)
                        return dbx_error_set(err, -E2BIG, path, "%zu consumers (at most %d)",
                                             s->n_consumers, NET_SVC_CONSUMERS_MAX);
                for (size_t j = 0; j < s->n_consumers; j++)
                        if (!find_pup_by_ip(v, p->n_pups, s->consumers[j]))
                                return dbx_error_set(err, -EINVAL, path,
                                                     "consumer %s is not a pup of this policy",
                                                     net_ip4_format(s->consumers[j], a));
                v->svcs[i] = s;
        }
        qsort(v->svcs, p->n_services, sizeof(*v->svcs), cmp_svc);
        for (size_t i = 1; i < p->n_services; i++)
                if (v->svcs[i]->addr == v->svcs[i - 1]->addr)
                        return dbx_error_set(err, -EINVAL, "services",
                                             "service address %s listed twice",
                                             net_ip4_format(v->svcs[i]->addr, a));
        return 0;
}

/* Print "elements = { a, b }" lines for a set; nothing when empty. */
struct list {
        FILE *f;
        bool first;
};

static void list_begin(struct list *l, FILE *f)
{
        l->f = f;
        l->first = true;
}

static void list_item(struct list *l, const char *fmt, ...) _printf_(2, 3);
static void list_item(struct list *l, const char *fmt, ...)
{
        va_list ap;
        fputs(l->first ? "\t\telements = {\n\t\t\t" : ",\n\t\t\t", l->f);
        l->first = false;
        va_start(ap, fmt);
        vfprintf(l->f, fmt, ap);
        va_end(ap);
}

static void list_end(struct list *l)
{
        if (!l->first)
                fputs("\n\t\t}\n", l->f);
}

static void render_inet(FILE *f, const struct net_policy *p, const struct policy_view *v)
{
        char a[NET_IP4_STRLEN], b[NET_IP4_STRLEN], net[NET_CIDR_STRLEN];
        struct list l;
        const char *br = v->bridge;
        struct net_cidr subnet = {.addr = v->layout.network, .prefix = v->layout.prefix};

        net_ip4_format(v->layout.gateway, a);
        fprintf(f, "table inet %s {\n", v->table);

        fputs("\tset pups {\n\t\ttype ipv4_addr\n", f);
        list_begin(&l, f);
        for (size_t i = 0; i < p->n_pups; i++)
                list_item(&l, "%s", net_ip4_format(v->pups[i].p->ip, b));
        list_end(&l);
        fputs("\t}\n", f);

        fputs("\tset internet {\n\t\ttype ipv4_addr\n", f);
        list_begin(&l, f);
        for (size_t i = 0; i < p->n_pups; i++)
                if (v->pups[i].p->requires_internet)
                        list_item(&l, "%s", net_ip4_format(v->pups[i].p->ip, b));
        list_end(&l);
        fputs("\t}\n", f);

        fputs("\tset services {\n\t\ttype ipv4_addr\n", f);
        list_begin(&l, f);
        for (size_t i = 0; i < p->n_services; i++)
                list_item(&l, "%s", net_ip4_format(v->svcs[i]->addr, b));
        list_end(&l);
        fputs("\t}\n", f);

        fputs("\tset http_services {\n\t\ttype ipv4_addr\n", f);
        list_begin(&l, f);
        for (size_t i = 0; i < p->n_services; i++)
                if (v->svcs[i]->http)
                        list_item(&l, "%s", net_ip4_format(v->svcs[i]->addr, b));
        list_end(&l);
        fputs("\t}\n", f);

        fputs("\tset stream_grants {\n\t\ttype ipv4_addr . ipv4_addr . inet_service\n", f);
        list_begin(&l, f);
        for (size_t i = 0; i < p->n_services; i++) {
                const struct net_service *s = v->svcs[i];
                _cleanup_free_ uint32_t *cons = xcalloc(s->n_consumers + 1, sizeof(uint32_t));
                _cleanup_free_ uint16_t *ports = xcalloc(s->n_tcp_ports + 1, sizeof(uint16_t));
                memcpy(cons, s->consumers, s->n_consumers * sizeof(uint32_t));
                memcpy(ports, s->tcp_ports, s->n_tcp_ports * sizeof(uint16_t));
                qsort(cons, s->n_consumers, sizeof(uint32_t), cmp_u32);
                qsort(ports, s->n_tcp_ports, sizeof(uint16_t), cmp_u16);
                for (size_t c = 0; c < s->n_consumers; c++) {
                        if (c > 0 && cons[c] == cons[c - 1])
                                continue;
                        char ca[NET_IP4_STRLEN];
                        net_ip4_format(cons[c], ca);
                        for (size_t k = 0; k < s->n_tcp_ports; k++)
                                list_item(&l, "%s . %s . %u", ca, net_ip4_format(s->addr, b),
                                          ports[k]);
                }
        }
        list_end(&l);
        fputs("\t}\n", f);

        /* Traffic from pups to this host. */
        fprintf(f,
                "\tchain input {\n"
                "\t\ttype filter hook input priority filter; policy accept;\n"
                "\t\tiifname \"%s\" jump from_pups\n"
                "\t\tiifname != \"lo\" ip daddr %s drop comment \"gateway: pups only\"\n"
                "\t\tiifname != \"lo\" ip daddr @services drop comment \"proxy: pups only\"\n"
                "\t}\n",
                br, a);
        fprintf(f,
                "\tchain from_pups {\n"
                "\t\tct state established,related accept\n"
                "\t\tct state invalid drop\n"
                "\t\tip saddr != @pups drop comment \"not a known pup\"\n"
                "\t\tip daddr %s icmp type echo-request accept\n",
                a);
        if (v->n_gw_ports) {
                fprintf(f, "\t\tip daddr %s tcp dport { ", a);
                for (size_t i = 0; i < v->n_gw_ports; i++)
                        fprintf(f, "%s%u", i ? ", " : "", v->gw_ports[i]);
                fputs(" } accept comment \"gateway services\"\n", f);
        }
        fprintf(f,
                "\t\tip daddr @http_services tcp dport %u accept comment \"nginx answers 403 "
                "without a grant\"\n"
                "\t\tip saddr . ip daddr . tcp dport @stream_grants accept\n"
                "\t\tmeta l4proto tcp reject with tcp reset\n"
                "\t\tdrop\n"
                "\t}\n",
                v->http_port);

        /* Routed traffic to and from pups. */
        fprintf(f,
                "\tchain forward {\n"
                "\t\ttype filter hook forward priority filter; policy accept;\n"
                "\t\tiifname \"%s\" jump pup_out\n"
                "\t\toifname \"%s\" jump pup_in\n"
                "\t}\n"
                "\tchain pup_out {\n"
                "\t\toifname \"%s\" drop comment \"pup to pup: only through the proxy\"\n"
                "\t\tct state established,related accept\n",
                br, br, br);
        if (*v->uplink)
                fprintf(f, "\t\tip saddr @internet oifname \"%s\" accept\n", v->uplink);
        else
                fputs("\t\tip saddr @internet accept\n", f);
        fputs("\t\tdrop\n"
              "\t}\n"
              "\tchain pup_in {\n"
              "\t\tct state established,related accept\n"
              "\t\tct status dnat accept comment \"listenOnHost\"\n"
              "\t\tdrop\n"
              "\t}\n",
              f);

        /* listenOnHost: from other hosts and from this host itself. */
        fputs("\tchain nat_prerouting {\n"
              "\t\ttype nat hook prerouting priority dstnat; policy accept;\n",
              f);
        for (size_t i = 0; i < p->n_pups; i++) {
                const struct net_policy_pup *pp = v->pups[i].p;
                for (size_t k = 0; k < pp->n_forwards; k++)
                        fprintf(f,
                                "\t\tiifname != \"%s\" fib daddr type local tcp dport %u dnat "
                                "ip to %s:%u comment \"pup %s\"\n",
                                br, pp->forwards[k].host_port, net_ip4_format(pp->ip, b),
                                pp->forwards[k].pup_port, pp->id);
        }
        fputs("\t}\n"
              "\tchain nat_output {\n"
              "\t\ttype nat hook output priority -100; policy accept;\n",
              f);
        for (size_t i = 0; i < p->n_pups; i++) {
                const struct net_policy_pup *pp = v->pups[i].p;
                for (size_t k = 0; k < pp->n_forwards; k++)
                        fprintf(f,
                                "\t\tip daddr != 127.0.0.0/8 fib daddr type local tcp dport %u "
                                "dnat ip to %s:%u comment \"pup %s\"\n",
                                pp->forwards[k].host_port, net_ip4_format(pp->ip, b),
                                pp->forwards[k].pup_port, pp->id);
        }
        fputs("\t}\n"
              "\tchain nat_postrouting {\n"
              "\t\ttype nat hook postrouting priority srcnat; policy accept;\n",
              f);
        net_cidr_format(&subnet, net);
        if (*v->uplink)
                fprintf(f, "\t\tip saddr @internet oifname \"%s\" masquerade\n", v->uplink);
        else
                fprintf(f, "\t\tip saddr @internet oifname != \"%s\" ip daddr != %s masquerade\n",
                        br, net);
        fputs("\t}\n}\n", f);
}

/* Layer 2, in the bridge itself. The kernel this runs on may lack "meta
 * ibrname" (CONFIG_NFT_BRIDGE_META), so ports are recognised by name: each
 * listed pup port may only send IPv4 and ARP from its own MAC and address,
 * and no port anywhere may claim an address of the pups' subnet unless the
 * policy lists it there. Unlisted ports of our bridge are isolated by the
 * kernel (net_veth_attach) and can only claim addresses outside the subnet,
 * which the inet table drops ("not a known pup"). */
static void render_bridge(FILE *f, const struct net_policy *p, const struct policy_view *v)
{
        char b[NET_IP4_STRLEN], net[NET_CIDR_STRLEN];
        struct net_cidr subnet = {.addr = v->layout.network, .prefix = v->layout.prefix};
        struct list l;
        uint8_t mac[6];

        net_cidr_format(&subnet, net);
        fprintf(f, "table bridge %s {\n", v->table);
        fputs("\tset ports {\n\t\ttype ifname\n", f);
        list_begin(&l, f);
        for (size_t i = 0; i < p->n_pups; i++)
                list_item(&l, "\"%s\"", v->pups[i].veth);
        list_end(&l);
        fputs("\t}\n", f);
        fputs("\tset port_addrs {\n\t\ttype ifname . ether_addr . ipv4_addr\n", f);
        list_begin(&l, f);
        for (size_t i = 0; i < p->n_pups; i++) {
                net_mac_for_ip(v->pups[i].p->ip, mac);
                list_item(&l, "\"%s\" . %02x:%02x:%02x:%02x:%02x:%02x . %s", v->pups[i].veth,
                          mac[0], mac[1], mac[2], mac[3], mac[4], mac[5],
                          net_ip4_format(v->pups[i].p->ip, b));
        }
        list_end(&l);
        fputs("\t}\n", f);
        fprintf(f,
                "\tchain prerouting {\n"
                "\t\ttype filter hook prerouting priority filter; policy accept;\n"
                "\t\tether type ip iifname . ether saddr . ip saddr @port_addrs accept\n"
                "\t\tether type arp iifname . ether saddr . arp saddr ip @port_addrs "
                "iifname . arp saddr ether . arp saddr ip @port_addrs accept\n"
                "\t\tiifname @ports drop comment \"spoofed or not IPv4\"\n"
                "\t\tether type ip ip saddr %s drop comment \"pup address from another port\"\n"
                "\t\tether type arp arp saddr ip %s drop\n"
                "\t}\n"
                "\tchain forward {\n"
                "\t\ttype filter hook forward priority filter; policy accept;\n"
                "\t\tiifname @ports drop comment \"pup to pup\"\n"
                "\t\toifname @ports drop\n"
                "\t}\n"
                "}\n",
                net, net);
}

int net_policy_render(const struct net_policy *p, char **ret, struct dbx_error *err)
{
        struct policy_view v;
        char *text = NULL;
        size_t len = 0;

        int r = check_policy(p, &v, err);
        if (r < 0) {
                view_free(&v);
                return r;
        }
        FILE *f = open_memstream(&text, &len);
        if (!f) {
                view_free(&v);
                return dbx_error_set(err, -ENOMEM, "", "out of memory");
        }
        /* Creating then deleting makes the delete valid whether or not the
         * table exists; the whole text is one netlink batch, so nobody ever
         * sees the moment between the delete and the new table. */
        fprintf(f,
                "# dogeboxd network policy: generated, do not edit\n"
                "table inet %s\n"
                "delete table inet %s\n"
                "table bridge %s\n"
                "delete table bridge %s\n",
                v.table, v.table, v.table, v.table);
        render_inet(f, p, &v);
        render_bridge(f, p, &v);
        fclose(f);
        view_free(&v);
        if (len > NET_POLICY_TEXT_MAX) {
                free(text);
                return dbx_error_set(err, -E2BIG, "", "rendered ruleset is %zu bytes (limit %u)",
                                     len, NET_POLICY_TEXT_MAX);
        }
        *ret = text;
        return 0;
}

int net_nft_run(const char *text, struct dbx_error *err)
{
        struct nft_ctx *nft = nft_ctx_new(NFT_CTX_DEFAULT);
        if (!nft)
                return dbx_error_set(err, -ENOMEM, "", "cannot create an nftables context");
        nft_ctx_buffer_output(nft);
        nft_ctx_buffer_error(nft);
        int r = nft_run_cmd_from_buffer(nft, text);
        if (r != 0) {
                const char *msg = nft_ctx_get_error_buffer(nft);
                /* nft's message is multi-line (error, line, caret): keep the
                 * first line of the first error, which names the problem. */
                size_t n = msg ? strcspn(msg, "\n") : 0;
                dbx_error_set(err, -EINVAL, "", "nftables refused the ruleset: %.*s", (int)n,
                              msg && n ? msg : "unknown error");
                nft_ctx_free(nft);
                return -EINVAL;
        }
        nft_ctx_free(nft);
        return 0;
}

int net_policy_apply(const struct net_policy *p, struct dbx_error *err)
{
        _cleanup_free_ char *text = NULL;
        int r = net_policy_render(p, &text, err);
        if (r < 0)
                return r;
        return net_nft_run(text, err);
}

int net_policy_remove(const char *table, struct dbx_error *err)
{
        char buf[4 * NET_TABLE_NAME_MAX + 128];

        table = or_default(table, NET_DEFAULT_TABLE);
        if (!table_name_ok(table))
                return dbx_error_set(err, -EINVAL, "table", "'%s' is not a table name", table);
        snprintf(buf, sizeof(buf),
                 "table inet %s\ndelete table inet %s\ntable bridge %s\ndelete table bridge %s\n",
                 table, table, table, table);
        return net_nft_run(buf, err);
}

/* /proc/net/tcp{,6}: "sl local_address rem_address st ...", with
 * local_address as HEX_ADDR:HEX_PORT and st 0A for LISTEN. */
static int proc_tcp_listening(const char *path, uint16_t port, bool *ret)
{
        _cleanup_free_ char *s = NULL;
        int r = net_read_all(path, PROC_TCP_MAX, &s, NULL);
        if (r == -ENOENT) /* no IPv6 */
                return 0;
        if (r < 0)
                return r;
        char *line = strchr(s, '\n'); /* skip the header */
        while (line && *++line) {
                char local[64], remote[64], st[8];
                if (sscanf(line, "%*s %63s %63s %7s", local, remote, st) == 3) {
                        char *colon = strrchr(local, ':');
                        if (colon && streq(st, "0A") && strtoul(colon + 1, NULL, 16) == port) {
                                *ret = true;
                                return 0;
                        }
                }
                line = strchr(line, '\n');
        }
        return 0;
}

int net_host_port_listening(uint16_t port, bool *ret)
{
        bool busy = false;
        int r = proc_tcp_listening("/proc/net/tcp", port, &busy);
        if (r >= 0 && !busy)
                r = proc_tcp_listening("/proc/net/tcp6", port, &busy);
        if (r < 0)
                return r;
        *ret = busy;
        return 0;
}

int net_port_conflict(const struct net_policy *p, const char *pup_id, uint16_t port,
                      const uint16_t *reserved, size_t n_reserved, net_port_probe_t probe,
                      struct dbx_error *err)
{
        if (port == 0)
                return dbx_error_set(err, -EINVAL, "", "0 is not a port (1-65535)");
        for (size_t i = 0; i < p->n_pups; i++) {
                const struct net_policy_pup *pp = &p->pups[i];
                if (pup_id && pp->id && streq(pp->id, pup_id))
                        continue;
                for (size_t k = 0; k < pp->n_forwards; k++)
                        if (pp->forwards[k].host_port == port)
                                return dbx_error_set(err, -EADDRINUSE, "",
                                                     "host port %u is already forwarded to pup "
                                                     "%s; uninstall it or choose another pup",
                                                     port, pp->id ? pp->id : "?");
        }
        for (size_t i = 0; i < n_reserved; i++)
                if (reserved[i] == port)
                        return dbx_error_set(err, -EADDRINUSE, "",
                                             "host port %u is used by the daemon itself (web "
                                             "UI or API)",
                                             port);
        if (probe) {
                bool busy = false;
                int r = probe(port, &busy);
                if (r < 0)
                        return dbx_error_set(err, r, "", "cannot check host port %u: %s", port,
                                             strerror(-r));
                if (busy)
                        return dbx_error_set(err, -EADDRINUSE, "",
                                             "host port %u is in use: a program on this host "
                                             "listens on it",
                                             port);
        }
        return 0;
}
