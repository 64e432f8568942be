/* Links through rtnetlink (libmnl): the bridge, veth pairs, addresses and
 * routes, and the inside of a pup's network namespace.
 *
 * A netlink socket belongs to the network namespace it was created in, so
 * configuring a pup's namespace only needs a socket opened there: a
 * short-lived thread setns()es into the namespace, opens the socket and
 * exits; the caller's thread never changes namespace. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if_arp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/stat.h>
#include <time.h>
#include "net/internal.h"
#include "net/net.h"

#define NL_BUF_SIZE     32768                    /* one recv(); large enough for address dumps */
#define NL_MAX_ADDRS    (NET_POLICY_SVC_MAX + 1) /* addresses we keep on the bridge */
#define NL_RECV_TIMEOUT 5 /* seconds: the kernel answers at once; never hang the loop */

struct nl {
        struct mnl_socket *sock;
        unsigned portid;
        unsigned seq;
        char *buf;
};

static int nl_init(struct nl *nl, struct mnl_socket *sock)
{
        struct timeval tv = {.tv_sec = NL_RECV_TIMEOUT};

        *nl = (struct nl){.sock = sock};
        if (mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) < 0) {
                int r = -errno;
                mnl_socket_close(sock);
                nl->sock = NULL;
                return r;
        }
        (void)setsockopt(mnl_socket_get_fd(sock), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        nl->portid = mnl_socket_get_portid(sock);
        nl->seq = (unsigned)time(NULL);
        nl->buf = xmalloc(NL_BUF_SIZE);
        return 0;
}

static int nl_open(struct nl *nl)
{
        struct mnl_socket *sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
        if (!sock)
                return -errno;
        return nl_init(nl, sock);
}

static void nl_close(struct nl *nl)
{
        if (nl->sock)
                mnl_socket_close(nl->sock);
        free(nl->buf);
        *nl = (struct nl){0};
}

/* Send one request and read until its ack (or the end of a dump). cb sees
 * each reply message. Returns 0 or the kernel's negative errno. */
static int nl_call(struct nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
        nlh->nlmsg_seq = ++nl->seq;
        nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
        if (mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
                return -errno;
        for (;;) {
                ssize_t n = mnl_socket_recvfrom(nl->sock, nl->buf, NL_BUF_SIZE);
                if (n < 0)
                        return errno == EAGAIN ? -ETIMEDOUT : -errno;
                int r = mnl_cb_run(nl->buf, (size_t)n, nl->seq, nl->portid, cb, data);
                if (r < 0)
                        return -errno;
                if (r == MNL_CB_STOP)
                        return 0;
        }
}

/* Thread body: enter the namespace and open a netlink socket there. */
struct ns_socket {
        int netns_fd;
        struct mnl_socket *sock;
        int r;
};

static void *ns_socket_thread(void *p)
{
        struct ns_socket *a = p;

        if (setns(a->netns_fd, CLONE_NEWNET) < 0) {
                a->r = -errno;
                return NULL;
        }
        a->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
        a->r = a->sock ? 0 : -errno;
        return NULL;
}

static int nl_open_in_netns(int netns_fd, struct nl *nl)
{
        struct ns_socket a = {.netns_fd = netns_fd};
        pthread_t t;

        int r = pthread_create(&t, NULL, ns_socket_thread, &a);
        if (r != 0)
                return -r;
        pthread_join(t, NULL);
        if (a.r < 0)
                return a.r;
        return nl_init(nl, a.sock);
}

/* ---- link queries ---- */

struct link_info {
        int index;
        char kind[32];
        unsigned flags;
        int master;
};

static int attr_cb(const struct nlattr *attr, void *data)
{
        const struct nlattr **tb = data;
        int type = mnl_attr_get_type(attr);

        if (mnl_attr_type_valid(attr, IFLA_MAX) < 0)
                return MNL_CB_OK; /* newer kernel attribute: ignore */
        tb[type] = attr;
        return MNL_CB_OK;
}

static int linkinfo_cb(const struct nlattr *attr, void *data)
{
        const struct nlattr **tb = data;
        int type = mnl_attr_get_type(attr);

        if (mnl_attr_type_valid(attr, IFLA_INFO_MAX) < 0)
                return MNL_CB_OK;
        tb[type] = attr;
        return MNL_CB_OK;
}

static int getlink_cb(const struct nlmsghdr *nlh, void *data)
{
        struct link_info *li = data;
        const struct nlattr *tb[IFLA_MAX + 1] = {0};
        struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);

        if (nlh->nlmsg_type != RTM_NEWLINK)
                return MNL_CB_OK;
        mnl_attr_parse(nlh, sizeof(*ifm), attr_cb, tb);
        li->index = ifm->ifi_index;
        li->flags = ifm->ifi_flags;
        if (tb[IFLA_MASTER])
                li->master = (int)mnl_attr_get_u32(tb[IFLA_MASTER]);
        if (tb[IFLA_LINKINFO]) {
                const struct nlattr *info[IFLA_INFO_MAX + 1] = {0};
                mnl_attr_parse_nested(tb[IFLA_LINKINFO], linkinfo_cb, info);
                if (info[IFLA_INFO_KIND])
                        snprintf(li->kind, sizeof(li->kind), "%s",
                                 mnl_attr_get_str(info[IFLA_INFO_KIND]));
        }
        return MNL_CB_OK;
}

static struct nlmsghdr *msg_link(char *buf, uint16_t type, uint16_t flags, int index,
                                 unsigned char family)
{
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = flags;
        struct ifinfomsg *ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
        ifm->ifi_family = family;
        ifm->ifi_index = index;
        return nlh;
}

/* -ENODEV when there is no such link. */
static int link_get(struct nl *nl, const char *name, struct link_info *ret)
{
        char buf[MNL_SOCKET_BUFFER_SIZE];
        struct link_info li = {0};

        struct nlmsghdr *nlh = msg_link(buf, RTM_GETLINK, 0, 0, AF_UNSPEC);
        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        int r = nl_call(nl, nlh, getlink_cb, &li);
        if (r < 0)
                return r;
        if (li.index <= 0)
                return -ENODEV;
        *ret = li;
        return 0;
}

static int link_set_up(struct nl *nl, int index)
{
        char buf[MNL_SOCKET_BUFFER_SIZE];

        struct nlmsghdr *nlh = msg_link(buf, RTM_NEWLINK, 0, index, AF_UNSPEC);
        struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);
        ifm->ifi_change = IFF_UP;
        ifm->ifi_flags = IFF_UP;
        return nl_call(nl, nlh, NULL, NULL);
}

/* No IPv6 link-local addresses on our links: pups speak IPv4 only and the
 * bridge drops everything else; addresses nobody uses are attack surface. */
static int link_no_ipv6_addrs(struct nl *nl, int index)
{
        char buf[MNL_SOCKET_BUFFER_SIZE];

        struct nlmsghdr *nlh = msg_link(buf, RTM_NEWLINK, 0, index, AF_UNSPEC);
        struct nlattr *spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
        struct nlattr *in6 = mnl_attr_nest_start(nlh, AF_INET6);
        mnl_attr_put_u8(nlh, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
        mnl_attr_nest_end(nlh, in6);
        mnl_attr_nest_end(nlh, spec);
        int r = nl_call(nl, nlh, NULL, NULL);
        return r == -EAFNOSUPPORT ? 0 : r; /* kernel without IPv6 */
}

static int link_delete(struct nl *nl, const char *name)
{
        char buf[MNL_SOCKET_BUFFER_SIZE];

        struct nlmsghdr *nlh = msg_link(buf, RTM_DELLINK, 0, 0, AF_UNSPEC);
        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        int r = nl_call(nl, nlh, NULL, NULL);
        return r == -ENODEV ? 0 : r;
}

/* ---- addresses and routes ---- */

static int addr_change(struct nl *nl, uint16_t type, int index, uint32_t ip, uint8_t prefix)
{
        char buf[MNL_SOCKET_BUFFER_SIZE];
        uint32_t be = htonl(ip);

        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_REPLACE : 0;
        struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
        ifa->ifa_family = AF_INET;
        ifa->ifa_prefixlen = prefix;
        ifa->ifa_scope = RT_SCOPE_UNIVERSE;
        ifa->ifa_index = (unsigned)index;
        mnl_attr_put_u32(nlh, IFA_LOCAL, be);
        mnl_attr_put_u32(nlh, IFA_ADDRESS, be);
        return nl_call(nl, nlh, NULL, NULL);
}

struct addr_list {
        int index;
        struct net_cidr items[NL_MAX_ADDRS];
        size_t n;
        bool overflow;
};

static int addr_attr_cb(const struct nlattr *attr, void *data)
{
        const struct nlattr **tb = data;
        if (mnl_attr_type_valid(attr, IFA_MAX) < 0)
                return MNL_CB_OK;
        tb[mnl_attr_get_type(attr)] = attr;
        return MNL_CB_OK;
}

static int getaddr_cb(const struct nlmsghdr *nlh, void *data)
{
        struct addr_list *l = data;
        struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
        const struct nlattr *tb[IFA_MAX + 1] = {0};

        if (nlh->nlmsg_type != RTM_NEWADDR || ifa->ifa_family != AF_INET ||
            (int)ifa->ifa_index != l->index)
                return MNL_CB_OK;
        mnl_attr_parse(nlh, sizeof(*ifa), addr_attr_cb, tb);
        const struct nlattr *a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
        if (!a)
                return MNL_CB_OK;
        if (l->n == NL_MAX_ADDRS) {
                l->overflow = true;
                return MNL_CB_OK;
        }
        l->items[l->n++] =
            (struct net_cidr){.addr = ntohl(mnl_attr_get_u32(a)), .prefix = ifa->ifa_prefixlen};
        return MNL_CB_OK;
}

static int addr_dump(struct nl *nl, int index, struct addr_list *l)
{
        char buf[MNL_SOCKET_BUFFER_SIZE];

        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = RTM_GETADDR;
        nlh->nlmsg_flags = NLM_F_DUMP;
        struct ifaddrmsg *ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
        ifa->ifa_family = AF_INET;
        l->index = index;
        l->n = 0;
        return nl_call(nl, nlh, getaddr_cb, l);
}

static int route_default(struct nl *nl, int index, uint32_t gateway)
{
        char buf[MNL_SOCKET_BUFFER_SIZE];

        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = RTM_NEWROUTE;
        nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_REPLACE;
        struct rtmsg *rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
        rtm->rtm_family = AF_INET;
        rtm->rtm_dst_len = 0;
        rtm->rtm_table = RT_TABLE_MAIN;
        rtm->rtm_protocol = RTPROT_STATIC;
        rtm->rtm_scope = RT_SCOPE_UNIVERSE;
        rtm->rtm_type = RTN_UNICAST;
        mnl_attr_put_u32(nlh, RTA_GATEWAY, htonl(gateway));
        mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t)index);
        return nl_call(nl, nlh, NULL, NULL);
}

/* ---- bridge ---- */

static int bridge_create(struct nl *nl, const char *name, uint32_t gateway)
{
        char buf[MNL_SOCKET_BUFFER_SIZE];
        /* Fixed MAC: otherwise the bridge takes the lowest port MAC and
         * changes it as pups come and go, and every pup's ARP entry for the
         * gateway goes stale. */
        uint8_t mac[6];
        net_mac_for_ip(gateway, mac);
        mac[1] = 0xda;

        struct nlmsghdr *nlh = msg_link(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, AF_UNSPEC);
        mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        mnl_attr_put(nlh, IFLA_ADDRESS, sizeof(mac), mac);
        struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
        mnl_attr_nest_end(nlh, li);
        return nl_call(nl, nlh, NULL, NULL);
}

static bool cidr_in(const struct net_cidr *c, const struct net_cidr *set, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (set[i].addr == c->addr && set[i].prefix == c->prefix)
                        return true;
        return false;
}

int net_bridge_ensure(const char *name, const struct net_cidr *gateway, const uint32_t *svc_addrs,
                      size_t n_svc, struct dbx_error *err)
{
        struct net_layout layout;
        struct link_info li;
        struct nl nl;
        char a[NET_IP4_STRLEN];
        /* declared before the first goto: cleanup must never see garbage */
        _cleanup_free_ struct addr_list *have = NULL;
        int r;

        r = net_ifname_validate(name, "bridge", err);
        if (r < 0)
                return r;
        r = net_layout_from_cidr(gateway, &layout, err);
        if (r < 0)
                return r;
        if (n_svc > NET_POLICY_SVC_MAX)
                return dbx_error_set(err, -E2BIG, "", "%zu service addresses (at most %d)", n_svc,
                                     NET_POLICY_SVC_MAX);
        _cleanup_free_ struct net_cidr *want = xcalloc(n_svc + 1, sizeof(*want));
        want[0] = *gateway;
        for (size_t i = 0; i < n_svc; i++) {
                r = net_addr_validate(&layout, NET_POOL_SERVICE, svc_addrs[i], svc_addrs, i, err);
                if (r < 0)
                        return r;
                want[i + 1] = (struct net_cidr){.addr = svc_addrs[i], .prefix = 32};
        }

        r = nl_open(&nl);
        if (r < 0)
                return dbx_error_set(err, r, "", "cannot open a netlink socket: %s", strerror(-r));
        r = link_get(&nl, name, &li);
        if (r == -ENODEV) {
                r = bridge_create(&nl, name, gateway->addr);
                if (r < 0 && r != -EEXIST) {
                        dbx_error_set(err, r, "", "cannot create bridge %s: %s", name,
                                      strerror(-r));
                        goto out;
                }
                r = link_get(&nl, name, &li);
        }
        if (r < 0) {
                dbx_error_set(err, r, "", "cannot look up %s: %s", name, strerror(-r));
                goto out;
        }
        if (!streq(li.kind, "bridge")) {
                r = dbx_error_set(err, -EEXIST, "",
                                  "%s exists and is not a bridge (kind '%s'); choose another "
                                  "bridge name",
                                  name, li.kind[0] ? li.kind : "none");
                goto out;
        }
        r = link_no_ipv6_addrs(&nl, li.index);
        if (r < 0) {
                dbx_error_set(err, r, "", "cannot disable IPv6 addresses on %s: %s", name,
                              strerror(-r));
                goto out;
        }

        have = xcalloc(1, sizeof(*have));
        r = addr_dump(&nl, li.index, have);
        if (r < 0) {
                dbx_error_set(err, r, "", "cannot list addresses of %s: %s", name, strerror(-r));
                goto out;
        }
        if (have->overflow) {
                r = dbx_error_set(err, -E2BIG, "", "%s carries more than %d addresses", name,
                                  NL_MAX_ADDRS);
                goto out;
        }
        for (size_t i = 0; i < have->n; i++) {
                if (cidr_in(&have->items[i], want, n_svc + 1))
                        continue;
                r = addr_change(&nl, RTM_DELADDR, li.index, have->items[i].addr,
                                have->items[i].prefix);
                if (r < 0 && r != -EADDRNOTAVAIL) {
                        dbx_error_set(err, r, "", "cannot remove %s/%u from %s: %s",
                                      net_ip4_format(have->items[i].addr, a), have->items[i].prefix,
                                      name, strerror(-r));
                        goto out;
                }
        }
        for (size_t i = 0; i < n_svc + 1; i++) {
                if (cidr_in(&want[i], have->items, have->n))
                        continue;
                r = addr_change(&nl, RTM_NEWADDR, li.index, want[i].addr, want[i].prefix);
                if (r < 0) {
                        dbx_error_set(err, r, "", "cannot add %s/%u to %s: %s",
                                      net_ip4_format(want[i].addr, a), want[i].prefix, name,
                                      strerror(-r));
                        goto out;
                }
        }
        r = link_set_up(&nl, li.index);
        if (r < 0)
                dbx_error_set(err, r, "", "cannot bring %s up: %s", name, strerror(-r));
out:
        nl_close(&nl);
        return r;
}

int net_link_delete(const char *name, struct dbx_error *err)
{
        struct nl nl;
        int r;

        r = net_ifname_validate(name, "link", err);
        if (r < 0)
                return r;
        r = nl_open(&nl);
        if (r < 0)
                return dbx_error_set(err, r, "", "cannot open a netlink socket: %s", strerror(-r));
        r = link_delete(&nl, name);
        nl_close(&nl);
        if (r < 0)
                return dbx_error_set(err, r, "", "cannot delete %s: %s", name, strerror(-r));
        return 0;
}

int net_link_exists(const char *name, bool *ret)
{
        struct link_info li;
        struct nl nl;

        if (net_ifname_validate(name, "", NULL) < 0)
                return -EINVAL;
        int r = nl_open(&nl);
        if (r < 0)
                return r;
        r = link_get(&nl, name, &li);
        nl_close(&nl);
        if (r < 0 && r != -ENODEV)
                return r;
        *ret = r == 0;
        return 0;
}

/* ---- veth ---- */

static int veth_create(struct nl *nl, const struct net_veth_spec *s, const char *host,
                       int bridge_index, int netns_fd)
{
        char buf[MNL_SOCKET_BUFFER_SIZE];
        uint8_t guest_mac[6], host_mac[6];

        net_mac_for_ip(s->ip, guest_mac);
        net_mac_for_ip(s->ip, host_mac);
        host_mac[1] = 0xdc;

        struct nlmsghdr *nlh = msg_link(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, AF_UNSPEC);
        mnl_attr_put_strz(nlh, IFLA_IFNAME, host);
        mnl_attr_put(nlh, IFLA_ADDRESS, sizeof(host_mac), host_mac);
        mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)bridge_index);
        if (s->mtu)
                mnl_attr_put_u32(nlh, IFLA_MTU, s->mtu);
        struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
        struct nlattr *data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
        struct nlattr *peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
        struct ifinfomsg *pifm = mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
        pifm->ifi_family = AF_UNSPEC;
        mnl_attr_put_strz(nlh, IFLA_IFNAME, NET_GUEST_IFNAME);
        mnl_attr_put(nlh, IFLA_ADDRESS, sizeof(guest_mac), guest_mac);
        mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t)netns_fd);
        if (s->mtu)
                mnl_attr_put_u32(nlh, IFLA_MTU, s->mtu);
        mnl_attr_nest_end(nlh, peer);
        mnl_attr_nest_end(nlh, data);
        mnl_attr_nest_end(nlh, li);
        return nl_call(nl, nlh, NULL, NULL);
}

/* An isolated bridge port cannot exchange frames with other isolated ports:
 * pup-to-pup traffic is stopped in the bridge itself, below the firewall. */
static int port_isolate(struct nl *nl, int index)
{
        char buf[MNL_SOCKET_BUFFER_SIZE];

        struct nlmsghdr *nlh = msg_link(buf, RTM_SETLINK, 0, index, AF_BRIDGE);
        struct nlattr *pi = mnl_attr_nest_start(nlh, IFLA_PROTINFO);
        mnl_attr_put_u8(nlh, IFLA_BRPORT_ISOLATED, 1);
        mnl_attr_nest_end(nlh, pi);
        return nl_call(nl, nlh, NULL, NULL);
}

static int guest_configure(int netns_fd, const struct net_veth_spec *s, struct dbx_error *err)
{
        struct link_info eth, lo;
        struct nl nl;
        int r;

        r = nl_open_in_netns(netns_fd, &nl);
        if (r < 0)
                return dbx_error_set(err, r, "", "cannot enter the pup's network namespace: %s",
                                     strerror(-r));
        r = link_get(&nl, NET_GUEST_IFNAME, &eth);
        if (r < 0) {
                dbx_error_set(err, r, "", "%s did not appear in the namespace: %s",
                              NET_GUEST_IFNAME, strerror(-r));
                goto out;
        }
        r = link_get(&nl, "lo", &lo);
        if (r < 0) {
                dbx_error_set(err, r, "", "no lo in the namespace: %s", strerror(-r));
                goto out;
        }
        r = link_no_ipv6_addrs(&nl, eth.index);
        if (r < 0) {
                dbx_error_set(err, r, "", "cannot disable IPv6 addresses on %s: %s",
                              NET_GUEST_IFNAME, strerror(-r));
                goto out;
        }
        r = addr_change(&nl, RTM_NEWADDR, eth.index, s->ip, s->prefix);
        if (r < 0) {
                dbx_error_set(err, r, "", "cannot set the pup's address: %s", strerror(-r));
                goto out;
        }
        r = link_set_up(&nl, lo.index);
        if (r < 0) {
                dbx_error_set(err, r, "", "cannot bring lo up: %s", strerror(-r));
                goto out;
        }
        r = link_set_up(&nl, eth.index);
        if (r < 0) {
                dbx_error_set(err, r, "", "cannot bring %s up: %s", NET_GUEST_IFNAME, strerror(-r));
                goto out;
        }
        r = route_default(&nl, eth.index, s->gateway);
        if (r < 0)
                dbx_error_set(err, r, "", "cannot add the default route: %s", strerror(-r));
out:
        nl_close(&nl);
        return r;
}

static int netns_open(const struct net_veth_spec *s, struct dbx_error *err)
{
        int fd;

        if (s->netns_fd >= 0) {
                fd = fcntl(s->netns_fd, F_DUPFD_CLOEXEC, 3);
                if (fd < 0)
                        return dbx_error_set(err, -errno, "", "bad network namespace fd %d: %m",
                                             s->netns_fd);
        } else {
                char path[64];
                if (s->netns_pid <= 0)
                        return dbx_error_set(err, -EINVAL, "",
                                             "no network namespace given (netns_fd or "
                                             "netns_pid)");
                snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)s->netns_pid);
                fd = open(path, O_RDONLY | O_CLOEXEC);
                if (fd < 0)
                        return dbx_error_set(err, -errno, "", "cannot open %s: %m", path);
        }
        /* Refuse our own namespace: "configuring" it would add a default
         * route and an eth0 to the host. */
        struct stat a, b;
        if (fstat(fd, &a) < 0 || stat("/proc/thread-self/ns/net", &b) < 0) {
                int r = -errno;
                close(fd);
                return dbx_error_set(err, r, "", "cannot inspect the namespace: %s", strerror(-r));
        }
        if (a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
                close(fd);
                return dbx_error_set(err, -EINVAL, "",
                                     "the namespace given is the host's own network namespace");
        }
        return fd;
}

int net_veth_attach(const struct net_veth_spec *s, struct dbx_error *err)
{
        char host[NET_IFNAME_MAX];
        struct link_info br, hl;
        struct nl nl;
        int r;

        r = net_ifname_validate(s->bridge, "bridge", err);
        if (r < 0)
                return r;
        if (s->host_ifname[0]) {
                r = net_ifname_validate(s->host_ifname, "host_ifname", err);
                if (r < 0)
                        return r;
                snprintf(host, sizeof(host), "%s", s->host_ifname);
        } else {
                net_veth_name(s->ip, host);
        }
        if (s->prefix < NET_PREFIX_MIN || s->prefix > NET_PREFIX_MAX)
                return dbx_error_set(err, -EINVAL, "prefix", "/%u is out of range (/%d-/%d)",
                                     s->prefix, NET_PREFIX_MIN, NET_PREFIX_MAX);
        uint32_t mask = 0xffffffffu << (32 - s->prefix);
        if ((s->ip & mask) != (s->gateway & mask) || s->ip == s->gateway || (s->ip & ~mask) == 0 ||
            (s->ip & ~mask) == ~mask)
                return dbx_error_set(err, -EINVAL, "ip",
                                     "the pup address must be a host address in the gateway's "
                                     "subnet, other than the gateway");
        if (s->mtu && (s->mtu < 576 || s->mtu > 65535))
                return dbx_error_set(err, -EINVAL, "mtu", "%u is not a usable MTU (576-65535)",
                                     s->mtu);

        _cleanup_close_ int nsfd = netns_open(s, err);
        if (nsfd < 0)
                return nsfd;

        r = nl_open(&nl);
        if (r < 0)
                return dbx_error_set(err, r, "", "cannot open a netlink socket: %s", strerror(-r));
        r = link_get(&nl, s->bridge, &br);
        if (r < 0 || !streq(br.kind, "bridge")) {
                r = dbx_error_set(err, -ENODEV, "bridge", "%s is not an existing bridge",
                                  s->bridge);
                goto out;
        }
        if (link_get(&nl, host, &hl) == 0) {
                r = dbx_error_set(err, -EEXIST, "host_ifname",
                                  "%s already exists (is the pup already attached, or is its "
                                  "address used twice?)",
                                  host);
                goto out;
        }
        r = veth_create(&nl, s, host, br.index, nsfd);
        if (r == -EEXIST) {
                r = dbx_error_set(err, r, "", "the namespace already has an interface %s",
                                  NET_GUEST_IFNAME);
                goto out;
        }
        if (r < 0) {
                dbx_error_set(err, r, "", "cannot create veth %s: %s", host, strerror(-r));
                goto out;
        }
        r = link_get(&nl, host, &hl);
        if (r < 0) {
                dbx_error_set(err, r, "", "veth %s vanished: %s", host, strerror(-r));
                goto fail;
        }
        r = port_isolate(&nl, hl.index);
        if (r < 0) {
                dbx_error_set(err, r, "", "cannot isolate bridge port %s: %s", host, strerror(-r));
                goto fail;
        }
        r = link_no_ipv6_addrs(&nl, hl.index);
        if (r < 0) {
                dbx_error_set(err, r, "", "cannot disable IPv6 addresses on %s: %s", host,
                              strerror(-r));
                goto fail;
        }
        r = link_set_up(&nl, hl.index);
        if (r < 0) {
                dbx_error_set(err, r, "", "cannot bring %s up: %s", host, strerror(-r));
                goto fail;
        }
        r = guest_configure(nsfd, s, err);
        if (r < 0)
                goto fail;
        goto out;
fail:
        (void)link_delete(&nl, host);
out:
        nl_close(&nl);
        return r;
}

int net_veth_detach(const char *host_ifname, struct dbx_error *err)
{
        return net_link_delete(host_ifname, err);
}

#define IP_FORWARD_PATH "/proc/sys/net/ipv4/ip_forward"

int net_ipv4_forwarding_get(bool *ret)
{
        _cleanup_free_ char *s = NULL;
        int r = net_read_all(IP_FORWARD_PATH, 16, &s, NULL);
        if (r < 0)
                return r;
        *ret = s[0] == '1';
        return 0;
}

int net_ipv4_forwarding_set(bool on)
{
        _cleanup_close_ int fd = open(IP_FORWARD_PATH, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (write(fd, on ? "1\n" : "0\n", 2) != 2)
                return -errno;
        return 0;
}
