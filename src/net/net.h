/* net: the host side of pup networking (docs/networking.md).
 *
 *  - addresses: IPv4 parsing, the subnet layout (gateway, pup pool,
 *    service pool) and a pure, deterministic address allocator;
 *  - links (netlink through libmnl, no `ip`): the host bridge, one veth pair
 *    per pup with its inner end configured inside the pup's network
 *    namespace;
 *  - policy (libnftables): the daemon's firewall, rendered as text from a
 *    plain-data description and applied as one atomic transaction.
 *
 * Everything here takes plain data (no pointers into daemon state), checks it
 * again, and reports bad input through struct dbx_error. Nothing logs.
 * Functions that touch the kernel need CAP_NET_ADMIN (and CAP_SYS_ADMIN for
 * setns()); the pure ones (net_ip4_*, net_layout_*, net_addr_*, net_mac_*,
 * net_veth_name, net_policy_render, net_port_conflict with a NULL probe) do
 * no I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "core/error.h"

/* ---- addresses ---------------------------------------------------------- */

#define NET_IFNAME_MAX  16 /* IFNAMSIZ: 15 characters and the NUL */
#define NET_IP4_STRLEN  16 /* "255.255.255.255" and the NUL */
#define NET_CIDR_STRLEN 19 /* "255.255.255.255/32" and the NUL */
#define NET_PREFIX_MIN                                                                             \
        16 /* broader subnets would swallow other private ranges (upstream's /8 bug) */
#define NET_PREFIX_MAX     28 /* the smallest subnet that still leaves room for a few pups */
#define NET_DEFAULT_BRIDGE "dbx0"
#define NET_DEFAULT_CIDR   "10.69.0.1/16"
#define NET_PUP_KEY_MAX    128 /* the allocator's stable key (a pup id), bytes */

/* An IPv4 address is a uint32_t in host byte order everywhere in this API. */
int net_ip4_parse(const char *s, uint32_t *ret);
/* Writes dotted quad into out (NET_IP4_STRLEN bytes); returns out. */
char *net_ip4_format(uint32_t ip, char out[static NET_IP4_STRLEN]);

struct net_cidr {
        uint32_t addr; /* the address (for the bridge: the gateway), not the network */
        uint8_t prefix;
};

/* "a.b.c.d/len"; len 0..32. */
int net_cidr_parse(const char *s, struct net_cidr *ret, struct dbx_error *err);
char *net_cidr_format(const struct net_cidr *c, char out[static NET_CIDR_STRLEN]);

/* Where things live in the pups' subnet. The host range (network+1 ..
 * broadcast-1) is split: the last quarter holds service addresses (one per
 * proxied provider interface, where nginx listens), the rest holds pups.
 * The gateway is excluded from both, and so is every address whose last
 * octet is 0 or 255 (valid in a /16, but software assuming /24 mistakes
 * them for network/broadcast addresses: upstream defect 24). */
struct net_layout {
        uint32_t network, broadcast, gateway;
        uint8_t prefix;
        uint32_t pup_first, pup_last; /* inclusive */
        uint32_t svc_first, svc_last; /* inclusive */
};

/* The bridge CIDR ("10.69.0.1/16": the gateway address and the subnet). The
 * gateway must be a host address of the subnet; prefix NET_PREFIX_MIN..MAX. */
int net_layout_from_cidr(const struct net_cidr *c, struct net_layout *ret, struct dbx_error *err);

enum net_pool {
        NET_POOL_PUP,
        NET_POOL_SERVICE,
};

/* Pick an address for key (a pup id, or "<provider>/<interface>" for a
 * service address) from pool, avoiding every address in used. The choice is
 * deterministic: it starts at a slot derived from a hash of key and probes
 * upwards, so the same key gets the same address as long as it is free, and
 * a purged pup's address is unlikely to be handed to the very next pup. The
 * caller persists the result (and passes it back in used) so it stays
 * stable. -ENOSPC (with a message) when the pool is full. */
int net_addr_allocate(const struct net_layout *l, enum net_pool pool, const char *key,
                      const uint32_t *used, size_t n_used, uint32_t *ret, struct dbx_error *err);

/* Check a persisted address: inside pool, not the gateway, not a .0/.255,
 * and not in used (the other pups' addresses). */
int net_addr_validate(const struct net_layout *l, enum net_pool pool, uint32_t ip,
                      const uint32_t *used, size_t n_used, struct dbx_error *err);

/* The MAC address given to the pup's end of its veth: 02:db:<ip>. The
 * firewall pins each bridge port to this MAC and the pup's IP. */
void net_mac_for_ip(uint32_t ip, uint8_t ret[static 6]);

/* The host-side veth name for a pup address: "dbx" + 8 hex digits. Unique
 * per address, so unique per pup. */
void net_veth_name(uint32_t ip, char out[static NET_IFNAME_MAX]);

/* Linux interface name rules: 1..15 bytes, no '/', ':', whitespace, not "."
 * or "..". path names the field in the error. */
int net_ifname_validate(const char *name, const char *path, struct dbx_error *err);

/* ---- links (netlink) ------------------------------------------------------ */

/* Create the bridge if missing (with a fixed MAC derived from the gateway,
 * so it does not change as ports come and go), bring it up and make its
 * IPv4 addresses exactly: gateway/prefix plus each service address as /32.
 * Idempotent; an existing interface of that name that is not a bridge is an
 * error. */
int net_bridge_ensure(const char *name, const struct net_cidr *gateway, const uint32_t *svc_addrs,
                      size_t n_svc, struct dbx_error *err);

/* Delete a link by name. 0 when it does not exist. */
int net_link_delete(const char *name, struct dbx_error *err);

/* Does a link of that name exist in the current network namespace? */
int net_link_exists(const char *name, bool *ret);

#define NET_GUEST_IFNAME "eth0"

struct net_veth_spec {
        char bridge[NET_IFNAME_MAX];
        char host_ifname[NET_IFNAME_MAX]; /* "" = net_veth_name(ip) */
        /* The pup's network namespace: an open fd (e.g. /proc/<pid>/ns/net
         * or a bind mount) or, when netns_fd < 0, the namespace of netns_pid. */
        int netns_fd;
        pid_t netns_pid;
        uint32_t ip;      /* the pup's address */
        uint8_t prefix;   /* the subnet's prefix */
        uint32_t gateway; /* default route */
        uint32_t mtu;     /* 0 = kernel default */
};

/* Create the veth pair: the host end joins the bridge as an isolated port
 * (no bridged traffic between pups), the other end is created inside the
 * pup's namespace as eth0 with MAC net_mac_for_ip(ip), then configured from a
 * short-lived thread that setns()es into the namespace: address, up, lo up,
 * default route via the gateway. On failure nothing is left behind. The
 * firewall only lets the port talk once net_policy_apply() lists the pup. */
int net_veth_attach(const struct net_veth_spec *s, struct dbx_error *err);

/* Remove a pup's veth pair (by host name). 0 when already gone (it vanishes
 * with the namespace). */
int net_veth_detach(const char *host_ifname, struct dbx_error *err);

/* net.ipv4.ip_forward, needed for pups with requiresInternet. */
int net_ipv4_forwarding_get(bool *ret);
int net_ipv4_forwarding_set(bool on);

/* ---- policy (nftables) ---------------------------------------------------- */

#define NET_TABLE_NAME_MAX    32 /* nft identifiers; tests use unique names */
#define NET_DEFAULT_TABLE     "dogeboxd"
#define NET_POLICY_PUPS_MAX   4096
#define NET_POLICY_SVC_MAX    4096
#define NET_FORWARDS_MAX      64 /* listenOnHost ports per pup */
#define NET_GATEWAY_PORTS_MAX 32
#define NET_SVC_PORTS_MAX     64 /* tcp ports on one service address */
#define NET_SVC_CONSUMERS_MAX 4096
#define NET_POLICY_TEXT_MAX   (16u << 20) /* a rendered ruleset larger than this is a bug */

struct net_forward {
        uint16_t host_port; /* listenOnHost: same number as pup_port upstream */
        uint16_t pup_port;
};

struct net_policy_pup {
        const char *id;   /* for comments and errors */
        const char *veth; /* host-side veth name ("" or NULL = net_veth_name(ip)) */
        uint32_t ip;
        bool requires_internet;
        const struct net_forward *forwards;
        size_t n_forwards;
};

/* A provider interface proxied by nginx on its own service address. Port
 * http_port (80 unless changed) is open to every pup, since nginx itself
 * answers 403 to consumers without a grant; each tcp port is open only to
 * the listed consumers, everyone else gets a refused connection. */
struct net_service {
        uint32_t addr;
        bool http;
        const uint16_t *tcp_ports;
        size_t n_tcp_ports;
        const uint32_t *consumers;
        size_t n_consumers;
};

struct net_policy {
        const char *table;  /* NULL/"" = NET_DEFAULT_TABLE; also names the bridge-family table */
        const char *bridge; /* NULL/"" = NET_DEFAULT_BRIDGE */
        struct net_cidr gateway;
        const char *uplink; /* masquerade out of it; NULL/"" = any interface but the bridge */
        uint16_t http_port; /* the service addresses' HTTP port; 0 = 80 */
        const uint16_t *gateway_ports; /* TCP ports on the gateway address every pup may reach */
        size_t n_gateway_ports;
        const struct net_policy_pup *pups;
        size_t n_pups;
        const struct net_service *services;
        size_t n_services;
};

/* Check the whole description (names, addresses inside the layout, no
 * duplicates, host ports not forwarded twice, limits) and render the
 * ruleset: one text that replaces both tables ("inet <table>" and "bridge
 * <table>") in a single transaction. Pure; *ret is NUL-terminated, caller
 * frees. */
int net_policy_render(const struct net_policy *p, char **ret, struct dbx_error *err);

/* Render and run through libnftables in one transaction: either the new
 * ruleset replaces the old one completely or nothing changes. The error
 * carries nft's message. */
int net_policy_apply(const struct net_policy *p, struct dbx_error *err);

/* Run a ruleset text (as rendered) through libnftables. */
int net_nft_run(const char *text, struct dbx_error *err);

/* Delete both tables; 0 when they do not exist. */
int net_policy_remove(const char *table, struct dbx_error *err);

/* Is something listening on TCP port (any address, IPv4 or IPv6) on the host? */
int net_host_port_listening(uint16_t port, bool *ret);

typedef int (*net_port_probe_t)(uint16_t port, bool *ret_busy);

/* Install-time check of a host port that pup_id wants (listenOnHost):
 * -EADDRINUSE with a message naming the owner when another pup already
 * forwards it, when it is in reserved (web UI ports, the daemon's own
 * ports: the caller lists them), or when probe (usually
 * net_host_port_listening; NULL to skip) finds a listener. Forwards of
 * pup_id itself do not count. */
int net_port_conflict(const struct net_policy *p, const char *pup_id, uint16_t port,
                      const uint16_t *reserved, size_t n_reserved, net_port_probe_t probe,
                      struct dbx_error *err);
