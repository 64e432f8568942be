"""net: bridge and veth wiring through netlink, and the nftables policy,
on real namespaces. Run as root: DBX_BUILD=<build> python3 -m pytest
tests/integration/test_net_wiring.py"""
import json
import os
import random
import socket
import subprocess
import threading
import time

import pytest

from test_net_lab import (ARP_SPOOF, HTTP_GET, ICMP, ICMP_LISTEN, TCP_TALK, Lab, assert_clean,
                          free_tcp_port, gateway_mac, mac_for, sh, wait_for)


@pytest.fixture(scope="module")
def lab():
    """Three pups on one bridge: prov serves HTTP, cons and other do not."""
    lb = Lab(pups=[{"id": "prov"}, {"id": "cons"}, {"id": "other"}])
    try:
        lb.start_provider("prov", 8000, 9000)
    except BaseException:
        lb.close()
        raise
    yield lb
    lb.close()
    assert_clean(lb)


def test_veth_inside_the_namespace(lab):
    ip = lab.ip("cons")
    addr = json.loads(lab.in_ns("cons", "ip", "-j", "addr", "show", "eth0").stdout)[0]
    assert addr["operstate"] == "UP"
    assert addr["address"] == mac_for(ip)
    inet = [a for a in addr["addr_info"] if a["family"] == "inet"]
    assert [(a["local"], a["prefixlen"]) for a in inet] == [(ip, 16)]
    # no IPv6 link-local: pups speak IPv4 only
    assert not [a for a in addr["addr_info"] if a["family"] == "inet6"]
    routes = json.loads(lab.in_ns("cons", "ip", "-j", "route").stdout)
    assert {"dst": "default", "gateway": lab.gw} == {k: routes[0][k] for k in ("dst", "gateway")}
    lo = json.loads(lab.in_ns("cons", "ip", "-j", "link", "show", "lo").stdout)[0]
    assert "UP" in lo["flags"]

    # host side: a bridge port, isolated, with the fixed gateway MAC on the bridge
    host = "dbx%02x%02x%02x%02x" % tuple(int(x) for x in ip.split("."))
    port = json.loads(sh("ip", "-d", "-j", "link", "show", host).stdout)[0]
    assert port["master"] == lab.bridge
    assert port["linkinfo"]["info_slave_data"]["isolated"] is True
    br = json.loads(sh("ip", "-j", "addr", "show", lab.bridge).stdout)[0]
    assert br["address"] == gateway_mac(lab.gw)
    assert (lab.gw, 16) in [(a["local"], a["prefixlen"]) for a in br["addr_info"]]


def test_ping_gateway(lab):
    for pid in ("prov", "cons", "other"):
        out = lab.py(pid, ICMP, lab.gw, random.randrange(1, 65535), 3)
        assert out == "reply " + lab.gw, (pid, out)


def test_pup_to_pup_direct_is_dropped(lab):
    # TCP to the provider's own address: dropped (no answer at all), not refused
    assert lab.py("cons", TCP_TALK, lab.ip("prov"), 8000, 1.5) == "timeout"
    assert lab.py("cons", ICMP, lab.ip("prov"), random.randrange(1, 65535), 1.5) == "timeout"
    assert lab.py("other", HTTP_GET, "http://%s:8000/" % lab.ip("prov")).startswith("error")


def test_gateway_ports_closed_by_default(lab):
    """Pups reach only the gateway's listed ports: an open host port is refused."""
    port = free_tcp_port()
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(4)
    try:
        assert lab.py("cons", TCP_TALK, lab.gw, port, 2) == "refused"
        # the host itself still reaches it: the policy only concerns pups
        socket.create_connection((lab.gw, port), timeout=2).close()
    finally:
        srv.close()


def test_spoofed_source_address_is_dropped(lab):
    """An echo request to the gateway claiming to come from `cons`: if the
    bridge let it through, the gateway's reply would arrive in cons's
    namespace, where a listener waits for it."""
    gwmac = gateway_mac(lab.gw)

    def roundtrip(sender, src_pup, src_mac):
        ident = random.randrange(1, 65535)
        got = []
        t = threading.Thread(target=lambda: got.append(lab.py("cons", ICMP_LISTEN, ident, 2.5)))
        t.start()
        time.sleep(0.5)
        lab.py(sender, ICMP, lab.gw, ident, 0, lab.ip(src_pup), src_mac, gwmac)
        t.join()
        return got[0].splitlines()[-1]

    # controls: hand-built frames with the sender's own address and MAC are
    # answered, and the listener in cons sees replies meant for cons
    assert lab.py("other", ICMP, lab.gw, 4242, 2, lab.ip("other"), mac_for(lab.ip("other")),
                  gwmac) == "reply " + lab.gw
    assert roundtrip("cons", "cons", mac_for(lab.ip("cons"))) == "reply " + lab.gw
    # other claims cons's address, with its own MAC, then with cons's MAC too
    assert roundtrip("other", "cons", mac_for(lab.ip("other"))) == "timeout"
    assert roundtrip("other", "cons", mac_for(lab.ip("cons"))) == "timeout"
    # an address nobody has, from the subnet and from outside it
    assert lab.py("other", ICMP, lab.gw, 4343, 1.5, lab.net + ".0.250",
                  mac_for(lab.ip("other")), gwmac) == "timeout"


def test_arp_spoofing_is_dropped(lab):
    lab.py("other", ARP_SPOOF, lab.ip("cons"), lab.gw, mac_for(lab.ip("other")))
    neigh = sh("ip", "neigh", "show", "dev", lab.bridge).stdout
    for line in neigh.splitlines():
        if line.startswith(lab.ip("cons") + " "):
            assert mac_for(lab.ip("other")) not in line, line


def test_policy_is_replaced_atomically(lab):
    before = sh("nft", "list", "table", "inet", lab.table).stdout
    # applying the same world again changes nothing and leaves one table per family
    lab.driver("policy-apply")
    assert sh("nft", "list", "table", "inet", lab.table).stdout == before
    tables = sh("nft", "list", "tables").stdout.split("\n")
    assert tables.count("table inet %s" % lab.table) == 1
    assert tables.count("table bridge %s" % lab.table) == 1

    # an invalid world is refused before nftables sees it: nothing changes
    lab.world["uplink"] = lab.bridge
    lab.write_world()
    r = lab.driver("policy-apply", check=False)
    lab.world["uplink"] = ""
    lab.write_world()
    assert r.returncode == 1
    assert "uplink: the uplink cannot be the pups' bridge" in r.stderr
    assert sh("nft", "list", "table", "inet", lab.table).stdout == before
    # and the pups still work
    assert lab.py("cons", ICMP, lab.gw, random.randrange(1, 65535), 3) == "reply " + lab.gw


def test_listen_on_host_and_port_conflicts(lab):
    port = free_tcp_port()
    lab.pup("prov")["forwards"] = [[port, 8000]]
    lab.write_world()
    try:
        lab.driver("policy-apply")
        # from this host to its own (non-loopback) address: DNAT to the pup
        out = subprocess.run(["/usr/bin/python3", "-c", HTTP_GET, "http://%s:%d/x" % (lab.gw, port)],
                             capture_output=True, text=True, timeout=10).stdout.strip()
        assert out.startswith("200 path=/x"), out
        # another pup cannot take the same host port...
        r = lab.driver("port-check", "cons", str(port), check=False)
        assert r.returncode == 3
        assert r.stdout.strip() == ("host port %d is already forwarded to pup prov; uninstall it "
                                    "or choose another pup" % port)
        # ...the owner can keep it...
        assert lab.driver("port-check", "prov", str(port)).stdout.strip() == "free"
        # ...and a port a host program listens on is refused
        srv = socket.socket()
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        busy = free_tcp_port()
        srv.bind(("127.0.0.1", busy))
        srv.listen(1)
        try:
            r = lab.driver("port-check", "cons", str(busy), check=False)
            assert r.returncode == 3
            assert r.stdout.strip() == ("host port %d is in use: a program on this host listens "
                                        "on it" % busy)
        finally:
            srv.close()
        # pups do not get DNATed: the same port on the gateway is refused for them
        assert lab.py("cons", TCP_TALK, lab.gw, port, 2) == "refused"
    finally:
        del lab.pup("prov")["forwards"]
        lab.write_world()
        lab.driver("policy-apply")


def test_attach_errors_and_detach():
    lab = Lab(pups=[{"id": "a"}])
    try:
        # attaching the same pup again: clear error, nothing broken
        r = lab.driver("attach", "a", "/run/netns/" + lab.netns["a"], check=False)
        assert r.returncode == 1
        assert "already exists (is the pup already attached" in r.stderr
        # a namespace that does not exist
        r = lab.driver("attach", "a", "/run/netns/dbxt-none-%s" % lab.tag, check=False)
        assert r.returncode == 2 and "cannot open" in r.stderr
        # the host's own namespace is refused
        r = lab.driver("attach", "a", "/proc/self/ns/net", check=False)
        assert "host's own network namespace" in r.stderr
        assert lab.py("a", ICMP, lab.gw, 7, 3) == "reply " + lab.gw
        # detach removes both ends; detaching again is fine
        lab.driver("detach", "a")
        lab.driver("detach", "a")
        assert "eth0" not in lab.in_ns("a", "ip", "-br", "link").stdout
        # a pid works as well as a path
        holder = lab.spawn(["ip", "netns", "exec", lab.netns["a"], "sleep", "60"])
        wait_for(lambda: os.readlink("/proc/%d/ns/net" % holder.pid) !=
                 os.readlink("/proc/self/ns/net"), what="sleep in the namespace")
        lab.driver("attach", "a", str(holder.pid))
        assert lab.py("a", ICMP, lab.gw, 8, 3) == "reply " + lab.gw
    finally:
        lab.close()
    assert_clean(lab)


def test_internet_only_for_pups_that_require_it():
    """A lab in its own namespace (so ip_forward can be switched on there),
    with a fake uplink into another namespace standing for the internet:
    no traffic leaves this machine."""
    lab = Lab(pups=[{"id": "net", "internet": True}, {"id": "local"}], hostns=True,
              uplink="dbxtup0")
    outside = "dbxt-%s-outside" % lab.tag
    try:
        sh("ip", "netns", "add", outside)
        sh("ip", "-n", lab.hostns, "link", "add", "dbxtup0", "type", "veth", "peer", "name",
           "eth0", "netns", outside)
        sh("ip", "-n", lab.hostns, "addr", "add", "198.18.0.1/30", "dev", "dbxtup0")
        sh("ip", "-n", lab.hostns, "link", "set", "dbxtup0", "up")
        sh("ip", "-n", outside, "addr", "add", "198.18.0.2/30", "dev", "eth0")
        sh("ip", "-n", outside, "link", "set", "eth0", "up")
        sh("ip", "-n", outside, "link", "set", "lo", "up")
        lab.host_exec("sysctl", "-qw", "net.ipv4.ip_forward=1")
        # "the internet": an HTTP server that reports who called
        lab.spawn(["ip", "netns", "exec", outside, "/usr/bin/python3", "-c",
                   __import__("test_net_lab").PROVIDER, "198.18.0.2", "8080"])
        wait_for(lambda: ":8080 " in sh("ip", "netns", "exec", outside, "ss", "-ltn").stdout)

        out = lab.py("net", HTTP_GET, "http://198.18.0.2:8080/hello")
        assert out.startswith("200 path=/hello"), out
        assert lab.py("local", TCP_TALK, "198.18.0.2", 8080, 2) == "timeout"

        rules = lab.host_exec("nft", "-j", "list", "set", "inet", lab.table, "internet").stdout
        elems = json.loads(rules)["nftables"][1]["set"].get("elem", [])
        assert elems == [lab.ip("net")]
        ruleset = lab.host_exec("nft", "list", "table", "inet", lab.table).stdout
        assert 'ip saddr @internet oifname "dbxtup0" masquerade' in ruleset
        # the outside saw the uplink address (masquerade), not the pup
        assert out.endswith("client=198.18.0.1"), out
    finally:
        sh("ip", "netns", "del", outside, check=False)
        lab.close()
    assert_clean(lab)
