/* net: addresses, layout, allocator, policy rendering, port conflicts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "net/net.h"

static uint32_t ip(const char *s)
{
        uint32_t v = 0;
        assert_int_equal(net_ip4_parse(s, &v), 0);
        return v;
}

static bool has_prefix(const char *s, const char *prefix)
{
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void test_ip4(void **state)
{
        static const struct {
                const char *in;
                int rc;
                uint32_t v;
        } t[] = {
            {"10.69.0.1", 0, 0x0a450001},
            {"0.0.0.0", 0, 0},
            {"255.255.255.255", 0, ~0u},
            {"10.69.0", -EINVAL, 0},
            {"10.69.0.256", -EINVAL, 0},
            {"10.69.0.1 ", -EINVAL, 0},
            {"", -EINVAL, 0},
            {"::1", -EINVAL, 0},
            {"10.69.0.1/16", -EINVAL, 0},
            {"a.b.c.d", -EINVAL, 0},
        };
        for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
                uint32_t v = 0;
                assert_int_equal(net_ip4_parse(t[i].in, &v), t[i].rc);
                if (t[i].rc == 0) {
                        char out[NET_IP4_STRLEN];
                        assert_int_equal(v, t[i].v);
                        assert_string_equal(net_ip4_format(v, out), t[i].in);
                }
        }
        assert_int_equal(net_ip4_parse(NULL, &(uint32_t){0}), -EINVAL);
}

static void test_cidr(void **state)
{
        static const struct {
                const char *in;
                int rc;
                const char *msg;
        } t[] = {
            {"10.69.0.1/16", 0, NULL},
            {"10.69.0.1/0", 0, NULL},
            {"10.69.0.1/32", 0, NULL},
            {"10.69.0.1", -EINVAL, "'10.69.0.1' has no prefix length (a.b.c.d/len)"},
            {"10.69.0.1/33", -EINVAL, "'10.69.0.1/33': prefix length must be 0-32"},
            {"10.69.0.1/", -EINVAL, "'10.69.0.1/': prefix length must be 0-32"},
            {"10.69.0.1/1a", -EINVAL, "'10.69.0.1/1a': prefix length must be 0-32"},
            {"10.69.0.1/-1", -EINVAL, "'10.69.0.1/-1': prefix length must be 0-32"},
            {"10.69.0/16", -EINVAL, "'10.69.0' is not an IPv4 address"},
            {"255.255.255.255/32x", -EINVAL, "'255.255.255.255/32x' is not an IPv4 CIDR"},
        };
        for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
                struct net_cidr c;
                struct dbx_error err = {0};
                assert_int_equal(net_cidr_parse(t[i].in, &c, &err), t[i].rc);
                if (t[i].msg)
                        assert_true(has_prefix(err.message, t[i].msg));
                if (t[i].rc == 0) {
                        char out[NET_CIDR_STRLEN];
                        assert_string_equal(net_cidr_format(&c, out), t[i].in);
                }
        }
}

static void test_layout(void **state)
{
        struct net_cidr c;
        struct net_layout l;
        struct dbx_error err = {0};
        char a[NET_IP4_STRLEN];

        assert_int_equal(net_cidr_parse(NET_DEFAULT_CIDR, &c, &err), 0);
        assert_int_equal(net_layout_from_cidr(&c, &l, &err), 0);
        assert_string_equal(net_ip4_format(l.network, a), "10.69.0.0");
        assert_string_equal(net_ip4_format(l.broadcast, a), "10.69.255.255");
        assert_string_equal(net_ip4_format(l.gateway, a), "10.69.0.1");
        assert_string_equal(net_ip4_format(l.pup_first, a), "10.69.0.1");
        assert_string_equal(net_ip4_format(l.pup_last, a), "10.69.191.255");
        assert_string_equal(net_ip4_format(l.svc_first, a), "10.69.192.0");
        assert_string_equal(net_ip4_format(l.svc_last, a), "10.69.255.254");

        /* the smallest allowed subnet still splits */
        assert_int_equal(net_cidr_parse("192.168.7.1/28", &c, &err), 0);
        assert_int_equal(net_layout_from_cidr(&c, &l, &err), 0);
        assert_string_equal(net_ip4_format(l.pup_last, a), "192.168.7.11");
        assert_string_equal(net_ip4_format(l.svc_first, a), "192.168.7.12");
        assert_string_equal(net_ip4_format(l.svc_last, a), "192.168.7.14");

        static const struct {
                const char *cidr;
                const char *msg;
        } bad[] = {
            {"10.69.0.1/15", "10.69.0.1/15: prefix /15 is out of range (/16-/28)"},
            {"10.0.0.1/8", "10.0.0.1/8: prefix /8 is out of range (/16-/28)"},
            {"10.69.0.1/29", "10.69.0.1/29: prefix /29 is out of range (/16-/28)"},
            {"8.8.0.1/16", "8.8.0.1/16 is not in a private range"},
            {"172.32.0.1/16", "172.32.0.1/16 is not in a private range"},
            {"10.69.0.0/16", "10.69.0.0/16: the gateway must be a host address, not the "
                             "network address"},
            {"10.69.255.255/16", "10.69.255.255/16: the gateway must be a host address, not "
                                 "the broadcast address"},
        };
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                assert_int_equal(net_cidr_parse(bad[i].cidr, &c, &err), 0);
                assert_int_equal(net_layout_from_cidr(&c, &l, &err), -EINVAL);
                assert_true(has_prefix(err.message, bad[i].msg));
        }
        assert_int_equal(net_cidr_parse("172.16.5.1/16", &c, &err), 0);
        assert_int_equal(net_layout_from_cidr(&c, &l, &err), 0);
        assert_int_equal(net_cidr_parse("172.31.0.1/20", &c, &err), 0);
        assert_int_equal(net_layout_from_cidr(&c, &l, &err), 0);
}

static struct net_layout layout(const char *cidr)
{
        struct net_cidr c;
        struct net_layout l;
        assert_int_equal(net_cidr_parse(cidr, &c, NULL), 0);
        assert_int_equal(net_layout_from_cidr(&c, &l, NULL), 0);
        return l;
}

static void test_allocate(void **state)
{
        struct net_layout l = layout(NET_DEFAULT_CIDR);
        struct dbx_error err = {0};
        uint32_t a, b;

        /* deterministic and stable */
        assert_int_equal(net_addr_allocate(&l, NET_POOL_PUP, "pup-a", NULL, 0, &a, &err), 0);
        assert_int_equal(net_addr_allocate(&l, NET_POOL_PUP, "pup-a", NULL, 0, &b, &err), 0);
        assert_int_equal(a, b);
        assert_int_equal(net_addr_validate(&l, NET_POOL_PUP, a, NULL, 0, &err), 0);
        /* taken: the next one is chosen, still valid */
        assert_int_equal(net_addr_allocate(&l, NET_POOL_PUP, "pup-a", &a, 1, &b, &err), 0);
        assert_int_not_equal(a, b);
        assert_int_equal(net_addr_validate(&l, NET_POOL_PUP, b, &a, 1, &err), 0);
        /* another key lands elsewhere */
        assert_int_equal(net_addr_allocate(&l, NET_POOL_PUP, "pup-b", NULL, 0, &b, &err), 0);
        assert_int_not_equal(a, b);
        /* the service pool */
        assert_int_equal(
            net_addr_allocate(&l, NET_POOL_SERVICE, "pup-a/core-rpc", NULL, 0, &b, &err), 0);
        assert_true(b >= l.svc_first && b <= l.svc_last);
        assert_int_equal(net_addr_allocate(&l, NET_POOL_PUP, "", NULL, 0, &b, &err), -EINVAL);
        char longkey[NET_PUP_KEY_MAX + 2];
        memset(longkey, 'k', sizeof(longkey) - 1);
        longkey[sizeof(longkey) - 1] = 0;
        assert_int_equal(net_addr_allocate(&l, NET_POOL_PUP, longkey, NULL, 0, &b, &err), -EINVAL);
        longkey[NET_PUP_KEY_MAX] = 0; /* exactly the limit */
        assert_int_equal(net_addr_allocate(&l, NET_POOL_PUP, longkey, NULL, 0, &b, &err), 0);
}

/* Fill a whole /28 pup pool: every address handed out once, never the
 * gateway or a .0/.255, then ENOSPC with a message. */
static void test_allocate_exhaust(void **state)
{
        struct net_layout l = layout("10.1.2.241/28"); /* 10.1.2.240/28: .241-.254 */
        struct dbx_error err = {0};
        uint32_t used[32];
        size_t n = 0;
        char key[16];

        for (;;) {
                snprintf(key, sizeof(key), "k%zu", n);
                uint32_t a;
                int r = net_addr_allocate(&l, NET_POOL_PUP, key, used, n, &a, &err);
                if (r == -ENOSPC)
                        break;
                assert_int_equal(r, 0);
                assert_int_not_equal(a, l.gateway);
                assert_true(a >= l.pup_first && a <= l.pup_last);
                for (size_t i = 0; i < n; i++)
                        assert_int_not_equal(used[i], a);
                used[n++] = a;
                assert_true(n < ARRAY_SIZE(used));
        }
        /* .242-.251 are the pup pool minus the gateway .241 */
        assert_int_equal(n, 10);
        assert_string_equal(err.message, "no free pup address left in 10.1.2.241-10.1.2.251");

        /* .0 and .255 are never handed out in a /16 */
        struct net_layout big = layout("10.9.0.1/16");
        assert_int_equal(net_addr_validate(&big, NET_POOL_PUP, ip("10.9.3.255"), NULL, 0, &err),
                         -EINVAL);
        assert_string_equal(err.message,
                            "10.9.3.255 ends in .0 or .255, which are never handed out");
        assert_int_equal(net_addr_validate(&big, NET_POOL_PUP, ip("10.9.4.0"), NULL, 0, &err),
                         -EINVAL);
        /* a /24-sized slice of the pool full but for .0/.255: never picked */
        struct net_layout small = layout("10.9.0.1/24");
        uint32_t all[300];
        size_t m = 0;
        for (uint32_t a = small.pup_first; a <= small.pup_last; a++)
                if ((a & 255) != 0 && (a & 255) != 255 && a != small.gateway)
                        all[m++] = a;
        uint32_t got;
        assert_int_equal(net_addr_allocate(&small, NET_POOL_PUP, "x", all, m, &got, &err), -ENOSPC);
}

static void test_validate(void **state)
{
        struct net_layout l = layout(NET_DEFAULT_CIDR);
        struct dbx_error err = {0};
        uint32_t used[] = {ip("10.69.0.7")};
        static const struct {
                const char *ip;
                enum net_pool pool;
                int rc;
                const char *msg;
        } t[] = {
            {"10.69.0.2", NET_POOL_PUP, 0, NULL},
            {"10.69.191.254", NET_POOL_PUP, 0, NULL},
            {"10.69.0.1", NET_POOL_PUP, -EINVAL, "10.69.0.1 is the gateway address"},
            {"10.69.0.7", NET_POOL_PUP, -EADDRINUSE, "10.69.0.7 is already in use"},
            {"10.69.192.1", NET_POOL_PUP, -EINVAL,
             "10.69.192.1 is outside the pup pool 10.69.0.1-10.69.191.255"},
            {"10.70.0.2", NET_POOL_PUP, -EINVAL, "10.70.0.2 is outside the pup pool"},
            {"10.69.192.1", NET_POOL_SERVICE, 0, NULL},
            {"10.69.0.2", NET_POOL_SERVICE, -EINVAL, "10.69.0.2 is outside the service pool"},
            {"10.69.255.255", NET_POOL_SERVICE, -EINVAL, "10.69.255.255 is outside"},
        };
        for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
                int r = net_addr_validate(&l, t[i].pool, ip(t[i].ip), used, 1, &err);
                assert_int_equal(r, t[i].rc);
                if (t[i].msg)
                        assert_true(has_prefix(err.message, t[i].msg));
        }
}

static void test_names(void **state)
{
        char name[NET_IFNAME_MAX];
        uint8_t mac[6];
        struct dbx_error err = {0};

        net_veth_name(ip("10.69.1.2"), name);
        assert_string_equal(name, "dbx0a450102");
        net_mac_for_ip(ip("10.69.1.2"), mac);
        assert_memory_equal(mac, ((uint8_t[]){0x02, 0xdb, 10, 69, 1, 2}), 6);

        static const struct {
                const char *name;
                int rc;
        } t[] = {
            {"dbx0", 0},
            {"eth0.100", 0},
            {"a_b-c", 0},
            {"123456789012345", 0},
            {"1234567890123456", -EINVAL},
            {"", -EINVAL},
            {".", -EINVAL},
            {"..", -EINVAL},
            {"a b", -EINVAL},
            {"a/b", -EINVAL},
            {"a:b", -EINVAL},
            {"a\"b", -EINVAL},
        };
        for (size_t i = 0; i < ARRAY_SIZE(t); i++)
                assert_int_equal(net_ifname_validate(t[i].name, "x", &err), t[i].rc);
        assert_int_equal(net_ifname_validate(NULL, "x", &err), -EINVAL);
}

/* ---- policy ---- */

struct fixture {
        struct net_forward fwd_a[1];
        struct net_policy_pup pups[3];
        uint16_t tcp[2];
        uint32_t consumers[1];
        struct net_service svcs[1];
        uint16_t gw_ports[1];
        struct net_policy p;
};

static void fixture_init(struct fixture *f)
{
        memset(f, 0, sizeof(*f));
        f->fwd_a[0] = (struct net_forward){22556, 22556};
        f->pups[0] = (struct net_policy_pup){.id = "core",
                                             .ip = ip("10.69.0.3"),
                                             .requires_internet = true,
                                             .forwards = f->fwd_a,
                                             .n_forwards = 1};
        f->pups[1] = (struct net_policy_pup){.id = "wallet", .ip = ip("10.69.0.2")};
        f->pups[2] = (struct net_policy_pup){.id = "map", .ip = ip("10.69.0.4"), .veth = "custom0"};
        f->tcp[0] = 28332;
        f->tcp[1] = 22555;
        f->consumers[0] = ip("10.69.0.2");
        f->svcs[0] = (struct net_service){.addr = ip("10.69.192.1"),
                                          .http = true,
                                          .tcp_ports = f->tcp,
                                          .n_tcp_ports = 2,
                                          .consumers = f->consumers,
                                          .n_consumers = 1};
        f->gw_ports[0] = 80;
        f->p = (struct net_policy){
            .table = "dbxtest",
            .bridge = "dbx0",
            .gateway = {ip("10.69.0.1"), 16},
            .uplink = "eth0",
            .gateway_ports = f->gw_ports,
            .n_gateway_ports = 1,
            .pups = f->pups,
            .n_pups = 3,
            .services = f->svcs,
            .n_services = 1,
        };
}

static const char golden[] =
    "# dogeboxd network policy: generated, do not edit\n"
    "table inet dbxtest\n"
    "delete table inet dbxtest\n"
    "table bridge dbxtest\n"
    "delete table bridge dbxtest\n"
    "table inet dbxtest {\n"
    "\tset pups {\n"
    "\t\ttype ipv4_addr\n"
    "\t\telements = {\n"
    "\t\t\t10.69.0.2,\n"
    "\t\t\t10.69.0.3,\n"
    "\t\t\t10.69.0.4\n"
    "\t\t}\n"
    "\t}\n"
    "\tset internet {\n"
    "\t\ttype ipv4_addr\n"
    "\t\telements = {\n"
    "\t\t\t10.69.0.3\n"
    "\t\t}\n"
    "\t}\n"
    "\tset services {\n"
    "\t\ttype ipv4_addr\n"
    "\t\telements = {\n"
    "\t\t\t10.69.192.1\n"
    "\t\t}\n"
    "\t}\n"
    "\tset http_services {\n"
    "\t\ttype ipv4_addr\n"
    "\t\telements = {\n"
    "\t\t\t10.69.192.1\n"
    "\t\t}\n"
    "\t}\n"
    "\tset stream_grants {\n"
    "\t\ttype ipv4_addr . ipv4_addr . inet_service\n"
    "\t\telements = {\n"
    "\t\t\t10.69.0.2 . 10.69.192.1 . 22555,\n"
    "\t\t\t10.69.0.2 . 10.69.192.1 . 28332\n"
    "\t\t}\n"
    "\t}\n"
    "\tchain input {\n"
    "\t\ttype filter hook input priority filter; policy accept;\n"
    "\t\tiifname \"dbx0\" jump from_pups\n"
    "\t\tiifname != \"lo\" ip daddr 10.69.0.1 drop comment \"gateway: pups only\"\n"
    "\t\tiifname != \"lo\" ip daddr @services drop comment \"proxy: pups only\"\n"
    "\t}\n"
    "\tchain from_pups {\n"
    "\t\tct state established,related accept\n"
    "\t\tct state invalid drop\n"
    "\t\tip saddr != @pups drop comment \"not a known pup\"\n"
    "\t\tip daddr 10.69.0.1 icmp type echo-request accept\n"
    "\t\tip daddr 10.69.0.1 tcp dport { 80 } accept comment \"gateway services\"\n"
    "\t\tip daddr @http_services tcp dport 80 accept comment \"nginx answers 403 without a "
    "grant\"\n"
    "\t\tip saddr . ip daddr . tcp dport @stream_grants accept\n"
    "\t\tmeta l4proto tcp reject with tcp reset\n"
    "\t\tdrop\n"
    "\t}\n"
    "\tchain forward {\n"
    "\t\ttype filter hook forward priority filter; policy accept;\n"
    "\t\tiifname \"dbx0\" jump pup_out\n"
    "\t\toifname \"dbx0\" jump pup_in\n"
    "\t}\n"
    "\tchain pup_out {\n"
    "\t\toifname \"dbx0\" drop comment \"pup to pup: only through the proxy\"\n"
    "\t\tct state established,related accept\n"
    "\t\tip saddr @internet oifname \"eth0\" accept\n"
    "\t\tdrop\n"
    "\t}\n"
    "\tchain pup_in {\n"
    "\t\tct state established,related accept\n"
    "\t\tct status dnat accept comment \"listenOnHost\"\n"
    "\t\tdrop\n"
    "\t}\n"
    "\tchain nat_prerouting {\n"
    "\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
    "\t\tiifname != \"dbx0\" fib daddr type local tcp dport 22556 dnat ip to "
    "10.69.0.3:22556 comment \"pup core\"\n"
    "\t}\n"
    "\tchain nat_output {\n"
    "\t\ttype nat hook output priority -100; policy accept;\n"
    "\t\tip daddr != 127.0.0.0/8 fib daddr type local tcp dport 22556 dnat ip to "
    "10.69.0.3:22556 comment \"pup core\"\n"
    "\t}\n"
    "\tchain nat_postrouting {\n"
    "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
    "\t\tip saddr @internet oifname \"eth0\" masquerade\n"
    "\t}\n"
    "}\n"
    "table bridge dbxtest {\n"
    "\tset ports {\n"
    "\t\ttype ifname\n"
    "\t\telements = {\n"
    "\t\t\t\"dbx0a450002\",\n"
    "\t\t\t\"dbx0a450003\",\n"
    "\t\t\t\"custom0\"\n"
    "\t\t}\n"
    "\t}\n"
    "\tset port_addrs {\n"
    "\t\ttype ifname . ether_addr . ipv4_addr\n"
    "\t\telements = {\n"
    "\t\t\t\"dbx0a450002\" . 02:db:0a:45:00:02 . 10.69.0.2,\n"
    "\t\t\t\"dbx0a450003\" . 02:db:0a:45:00:03 . 10.69.0.3,\n"
    "\t\t\t\"custom0\" . 02:db:0a:45:00:04 . 10.69.0.4\n"
    "\t\t}\n"
    "\t}\n"
    "\tchain prerouting {\n"
    "\t\ttype filter hook prerouting priority filter; policy accept;\n"
    "\t\tether type ip iifname . ether saddr . ip saddr @port_addrs accept\n"
    "\t\tether type arp iifname . ether saddr . arp saddr ip @port_addrs iifname . arp saddr "
    "ether . arp saddr ip @port_addrs accept\n"
    "\t\tiifname @ports drop comment \"spoofed or not IPv4\"\n"
    "\t\tether type ip ip saddr 10.69.0.0/16 drop comment \"pup address from another port\"\n"
    "\t\tether type arp arp saddr ip 10.69.0.0/16 drop\n"
    "\t}\n"
    "\tchain forward {\n"
    "\t\ttype filter hook forward priority filter; policy accept;\n"
    "\t\tiifname @ports drop comment \"pup to pup\"\n"
    "\t\toifname @ports drop\n"
    "\t}\n"
    "}\n";

static void test_policy_golden(void **state)
{
        struct fixture f;
        struct dbx_error err = {0};
        char *text = NULL;

        fixture_init(&f);
        assert_int_equal(net_policy_render(&f.p, &text, &err), 0);
        assert_string_equal(text, golden);
        free(text);

        /* input order does not matter */
        struct net_policy_pup swapped[3] = {f.pups[2], f.pups[0], f.pups[1]};
        f.p.pups = swapped;
        assert_int_equal(net_policy_render(&f.p, &text, &err), 0);
        assert_string_equal(text, golden);
        free(text);
}

static void test_policy_variants(void **state)
{
        struct dbx_error err = {0};
        char *text = NULL;

        /* empty: defaults, no elements, still a full ruleset */
        struct net_policy p = {.gateway = {ip("10.69.0.1"), 16}};
        assert_int_equal(net_policy_render(&p, &text, &err), 0);
        assert_non_null(strstr(text, "table inet dogeboxd {\n"));
        assert_non_null(strstr(text, "table bridge dogeboxd {\n"));
        assert_non_null(strstr(text, "\tset pups {\n\t\ttype ipv4_addr\n\t}\n"));
        assert_non_null(strstr(text, "iifname \"dbx0\" jump from_pups"));
        assert_null(strstr(text, "tcp dport {")); /* no gateway ports */
        /* no uplink: any interface but the bridge, never back into the subnet */
        assert_non_null(strstr(text, "\t\tip saddr @internet accept\n"));
        assert_non_null(strstr(text, "ip saddr @internet oifname != \"dbx0\" ip daddr != "
                                     "10.69.0.0/16 masquerade"));
        free(text);

        /* a service without HTTP and a consumer listed twice */
        struct fixture f;
        fixture_init(&f);
        uint32_t twice[] = {ip("10.69.0.2"), ip("10.69.0.2")};
        f.svcs[0].http = false;
        f.svcs[0].consumers = twice;
        f.svcs[0].n_consumers = 2;
        f.p.http_port = 8080;
        assert_int_equal(net_policy_render(&f.p, &text, &err), 0);
        assert_non_null(strstr(text, "\tset http_services {\n\t\ttype ipv4_addr\n\t}\n"));
        assert_non_null(strstr(text, "ip daddr @http_services tcp dport 8080 accept"));
        const char *g = strstr(text, "10.69.0.2 . 10.69.192.1 . 22555");
        assert_non_null(g);
        assert_null(strstr(g + 1, "10.69.0.2 . 10.69.192.1 . 22555"));
        free(text);
}

static void test_policy_errors(void **state)
{
        struct fixture f;
        struct dbx_error err = {0};
        char *text = NULL;

        static const char *const msgs[] = {
            "'1bad' is not a table name",
            "interface name 'br idge' may only hold",
            "the uplink cannot be the pups' bridge dbx0",
            "0 is not a port (1-65535)",
            "port 80 listed twice",
            "pup core: 10.69.192.9 is outside the pup pool",
            "share the address 10.69.0.2",
            "pups core and map share the veth same0",
            "pup wallet listed twice",
            "host port 22556 is forwarded to both core and map",
            "consumer 10.69.0.99 is not a pup of this policy",
            "10.69.0.9 is outside the service pool",
            "tcp port 80 is the service address' HTTP port",
            "tcp port 22555 listed twice",
            "id 'a\"b' must be 1-128 letters",
            "service address 10.69.192.1 listed twice",
            "10.69.0.1/8: prefix /8 is out of range",
        };
        for (size_t i = 0; i < ARRAY_SIZE(msgs); i++) {
                fixture_init(&f);
                uint16_t dup_ports[] = {80, 80};
                uint16_t zero_port[] = {0};
                uint32_t stranger[] = {ip("10.69.0.99")};
                uint16_t tcp80[] = {80};
                uint16_t tcp_dup[] = {22555, 22555};
                struct net_service two[2] = {f.svcs[0], f.svcs[0]};
                switch (i) {
                case 0:
                        f.p.table = "1bad";
                        break;
                case 1:
                        f.p.bridge = "br idge";
                        break;
                case 2:
                        f.p.uplink = "dbx0";
                        break;
                case 3:
                        f.p.gateway_ports = zero_port;
                        break;
                case 4:
                        f.p.gateway_ports = dup_ports;
                        f.p.n_gateway_ports = 2;
                        break;
                case 5:
                        f.pups[0].ip = ip("10.69.192.9");
                        break;
                case 6:
                        f.pups[0].ip = ip("10.69.0.2");
                        break;
                case 7:
                        f.pups[0].veth = "same0";
                        f.pups[2].veth = "same0";
                        break;
                case 8:
                        f.pups[0].id = "wallet";
                        break;
                case 9:
                        f.pups[2].forwards = f.fwd_a;
                        f.pups[2].n_forwards = 1;
                        break;
                case 10:
                        f.svcs[0].consumers = stranger;
                        break;
                case 11:
                        f.svcs[0].addr = ip("10.69.0.9");
                        break;
                case 12:
                        f.svcs[0].tcp_ports = tcp80;
                        f.svcs[0].n_tcp_ports = 1;
                        break;
                case 13:
                        f.svcs[0].tcp_ports = tcp_dup;
                        break;
                case 14:
                        f.pups[1].id = "a\"b";
                        break;
                case 15:
                        f.p.services = two;
                        f.p.n_services = 2;
                        break;
                case 16:
                        f.p.gateway = (struct net_cidr){ip("10.69.0.1"), 8};
                        break;
                }
                text = NULL;
                int r = net_policy_render(&f.p, &text, &err);
                assert_true(r < 0);
                assert_null(text);
                if (!strstr(err.message, msgs[i])) {
                        print_error("case %zu: '%s' does not contain '%s'\n", i, err.message,
                                    msgs[i]);
                        fail();
                }
        }
}

static void test_policy_limits(void **state)
{
        struct dbx_error err = {0};
        char *text = NULL;
        struct net_layout l = layout(NET_DEFAULT_CIDR);
        size_t n = NET_POLICY_PUPS_MAX + 1;
        struct net_policy_pup *pups = calloc(n, sizeof(*pups));
        uint32_t *used = calloc(n, sizeof(uint32_t));
        char(*ids)[16] = calloc(n, 16);

        for (size_t i = 0; i < n; i++) {
                snprintf(ids[i], 16, "p%zu", i);
                assert_int_equal(
                    net_addr_allocate(&l, NET_POOL_PUP, ids[i], used, i, &used[i], &err), 0);
                pups[i] = (struct net_policy_pup){.id = ids[i], .ip = used[i]};
        }
        struct net_policy p = {.gateway = {ip("10.69.0.1"), 16}, .pups = pups};
        p.n_pups = NET_POLICY_PUPS_MAX; /* exactly the limit renders */
        assert_int_equal(net_policy_render(&p, &text, &err), 0);
        assert_true(strlen(text) < NET_POLICY_TEXT_MAX);
        free(text);
        p.n_pups = n; /* one more does not */
        assert_int_equal(net_policy_render(&p, &text, &err), -E2BIG);
        assert_string_equal(err.message, "4097 pups (at most 4096)");

        struct net_forward fw[NET_FORWARDS_MAX + 1];
        for (size_t i = 0; i < ARRAY_SIZE(fw); i++)
                fw[i] = (struct net_forward){(uint16_t)(20000 + i), 80};
        pups[0].forwards = fw;
        pups[0].n_forwards = NET_FORWARDS_MAX;
        p.n_pups = 1;
        assert_int_equal(net_policy_render(&p, &text, &err), 0);
        free(text);
        pups[0].n_forwards = NET_FORWARDS_MAX + 1;
        assert_int_equal(net_policy_render(&p, &text, &err), -E2BIG);
        free(pups);
        free(used);
        free(ids);
}

static int probe_busy(uint16_t port, bool *ret)
{
        *ret = port == 9999;
        return 0;
}

static int probe_fails(uint16_t port, bool *ret)
{
        return -EIO;
}

static void test_port_conflict(void **state)
{
        struct fixture f;
        struct dbx_error err = {0};
        uint16_t reserved[] = {10000};

        fixture_init(&f);
        assert_int_equal(net_port_conflict(&f.p, "map", 22556, NULL, 0, NULL, &err), -EADDRINUSE);
        assert_string_equal(err.message, "host port 22556 is already forwarded to pup core; "
                                         "uninstall it or choose another pup");
        /* the owner itself (re-install, upgrade) is no conflict */
        assert_int_equal(net_port_conflict(&f.p, "core", 22556, NULL, 0, NULL, &err), 0);
        assert_int_equal(net_port_conflict(&f.p, "map", 10000, reserved, 1, NULL, &err),
                         -EADDRINUSE);
        assert_string_equal(err.message,
                            "host port 10000 is used by the daemon itself (web UI or API)");
        assert_int_equal(net_port_conflict(&f.p, "map", 9999, NULL, 0, probe_busy, &err),
                         -EADDRINUSE);
        assert_string_equal(err.message,
                            "host port 9999 is in use: a program on this host listens on it");
        assert_int_equal(net_port_conflict(&f.p, "map", 9998, NULL, 0, probe_busy, &err), 0);
        assert_int_equal(net_port_conflict(&f.p, "map", 9998, NULL, 0, probe_fails, &err), -EIO);
        assert_int_equal(net_port_conflict(&f.p, "map", 0, NULL, 0, NULL, &err), -EINVAL);
}

static void test_host_port_listening(void **state)
{
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof(a);
        bool busy = false;

        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
        uint16_t port = ntohs(a.sin_port);
        /* bound but not listening: free */
        assert_int_equal(net_host_port_listening(port, &busy), 0);
        assert_false(busy);
        assert_int_equal(listen(fd, 1), 0);
        assert_int_equal(net_host_port_listening(port, &busy), 0);
        assert_true(busy);
        close(fd);
        assert_int_equal(net_host_port_listening(port, &busy), 0);
        assert_false(busy);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_ip4),
            cmocka_unit_test(test_cidr),
            cmocka_unit_test(test_layout),
            cmocka_unit_test(test_allocate),
            cmocka_unit_test(test_allocate_exhaust),
            cmocka_unit_test(test_validate),
            cmocka_unit_test(test_names),
            cmocka_unit_test(test_policy_golden),
            cmocka_unit_test(test_policy_variants),
            cmocka_unit_test(test_policy_errors),
            cmocka_unit_test(test_policy_limits),
            cmocka_unit_test(test_port_conflict),
            cmocka_unit_test(test_host_port_listening),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
