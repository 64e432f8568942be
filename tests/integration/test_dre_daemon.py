"""The DRE in the running daemon (issue 6): pups on a bridge of the test
daemon's own (unique name and subnet, removed afterwards), the firewall,
the managed nginx between pups, web UIs, the pup gateway API. Real
namespaces, nftables and nginx; every packet stays on this machine.

Run as root: DBX_BUILD=<build> python3 -m pytest tests/integration/test_dre_daemon.py
"""
import json
import os
import shutil
import signal
import socket
import subprocess

import pytest

from dre_helpers import (HTTP_GET, HTTP_POST, TCP_TALK, BridgeCapture, dependency,
                         native_manifest, py_in_pup, sandbox_pid, service_env, write_pup)
from harness import Daemon
from pups_helpers import add_source, copy_examples, install, state, stats, wait_for


def echo_client_manifest():
    return native_manifest("Echo Client",
                           dependencies=[dependency("dbx-example-echo", "^1.0.0", ["echo"])])


@pytest.fixture(scope="module")
def box():
    examples = copy_examples()
    write_pup(examples, "echo-client", echo_client_manifest())
    d = Daemon(net=True).start()
    try:
        src = add_source(d, examples)
        pups = {}
        for name in ("Ping Provider", "Ping Consumer", "Echo TCP", "Echo Client", "Hello Web"):
            j = install(d, src, name)
            assert j["status"] == "completed", j
            pups[name] = j["pupID"]
        for name, pid in pups.items():
            wait_for(lambda: stats(d, pid)["status"] == "running", what=name + " running")
        # "running" means the services started; wait until they also listen
        wait_for(lambda: py_in_pup(d, pups["Ping Consumer"], HTTP_GET,
                                   "http://dbx-example-ping.localhost/status").startswith("200 "),
                 timeout=15, what="the ping provider listening")
        wait_for(lambda: py_in_pup(d, pups["Echo Client"], TCP_TALK, "dbx-example-echo.localhost",
                                   7007, 2) == "reply ping", timeout=15,
                 what="the echo provider listening")
    except BaseException:
        print(d.read_log())
        d.stop()
        d.cleanup()
        shutil.rmtree(examples, ignore_errors=True)
        raise
    yield d, src, examples, pups
    run_dir = os.path.join(d.data_dir, "run", "nginx")
    rc = d.stop()
    log = d.read_log()
    d.cleanup()
    shutil.rmtree(examples, ignore_errors=True)
    assert rc == 0, log
    # nginx went with the daemon; the bridge and both tables with cleanup()
    assert "-p %s/" % run_dir not in subprocess.run(["ps", "-eo", "args"], capture_output=True,
                                                     text=True).stdout
    assert d.net["bridge"] not in subprocess.run(["ip", "-br", "link"], capture_output=True,
                                                 text=True).stdout
    assert d.net["table"] not in subprocess.run(["nft", "list", "tables"], capture_output=True,
                                                text=True).stdout


def svc_addr(d, consumer, iface):
    """The service address the consumer's /etc/hosts gives iface."""
    hosts = subprocess.run(["nsenter", "-t", str(sandbox_pid(d, consumer)), "-m", "cat",
                            "/etc/hosts"], capture_output=True, text=True).stdout
    for line in hosts.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1] == iface + ".localhost":
            return parts[0]
    raise AssertionError("%s.localhost not in %r" % (iface, hosts))


def test_addresses_environment_and_hosts(box):
    d, _, _, pups = box
    gw = d.net["gateway"]
    cons = pups["Ping Consumer"]
    st = state(d, cons)
    assert st["ip"].startswith(d.net["prefix"]) and st["ip"] != gw
    assert st["providers"] == {"dbx-example-ping": pups["Ping Provider"]}, "chosen automatically"
    assert st["needsDeps"] is False
    ips = {state(d, p)["ip"] for p in pups.values()}
    assert len(ips) == len(pups), "every pup has its own address"
    env = service_env(d, cons)
    addr = svc_addr(d, cons, "dbx-example-ping")
    assert env["DBX_PUP_ID"] == cons and env["DBX_PUP_IP"] == st["ip"]
    assert env["DBX_HOST"] == gw and env["DBX_PORT"] == "80"
    assert env["DBX_IFACE_DBX_EXAMPLE_PING_HOST"] == addr, "the proxy, never the provider"
    assert env["DBX_IFACE_DBX_EXAMPLE_PING_PORT"] == "80"
    assert env["DBX_IFACE_DBX_EXAMPLE_PING_NAME"] == "ping api"
    assert addr != state(d, pups["Ping Provider"])["ip"]
    # a TCP interface: its port; and the gateway names of upstream
    env = service_env(d, pups["Echo Client"])
    assert env["DBX_IFACE_DBX_EXAMPLE_ECHO_PORT"] == "7007"
    hosts = subprocess.run(["nsenter", "-t", str(sandbox_pid(d, cons)), "-m", "cat", "/etc/hosts"],
                           capture_output=True, text=True).stdout
    assert "%s dogeboxd dogeboxd.local dogebox dogebox.local" % gw in hosts
    # a pup without dependencies gets no interface variables
    assert not [k for k in service_env(d, pups["Hello Web"]) if k.startswith("DBX_IFACE_")]


def test_consumer_reaches_granted_routes_only(box):
    d, _, _, pups = box
    cons = pups["Ping Consumer"]
    out = py_in_pup(d, cons, HTTP_GET, "http://dbx-example-ping.localhost/ping")
    assert out.startswith("200 "), out
    assert json.loads(out[4:])["pong"] is True, "answered by the provider"
    assert py_in_pup(d, cons, HTTP_GET, "http://dbx-example-ping.localhost/status").startswith(
        "200 ")
    # the admin group was not requested, so not granted
    out = py_in_pup(d, cons, HTTP_GET, "http://dbx-example-ping.localhost/admin/reset")
    assert out.startswith("403"), out
    out = py_in_pup(d, cons, HTTP_GET, "http://dbx-example-ping.localhost/nope")
    assert out.startswith("403"), out
    # the example's own service gets through too (it logs its answers)
    log = os.path.join(d.data_dir, "logs", cons + ".log")
    wait_for(lambda: os.path.exists(log) and "ping: 200 " in open(log).read(), timeout=30,
             what="the consumer's own pings")


def test_pup_without_the_dependency_is_refused(box):
    d, _, _, pups = box
    addr = svc_addr(d, pups["Ping Consumer"], "dbx-example-ping")
    for other in ("Hello Web", "Echo Client"):
        out = py_in_pup(d, pups[other], HTTP_GET, "http://%s/ping" % addr,
                        "Host:dbx-example-ping.localhost")
        assert out.startswith("403"), (other, out)
        # and a claimed identity changes nothing
        out = py_in_pup(d, pups[other], HTTP_GET, "http://%s/ping" % addr,
                        "X-Forwarded-For:" + state(d, pups["Ping Consumer"])["ip"])
        assert out.startswith("403"), (other, out)
    # no name for it either
    out = py_in_pup(d, pups["Hello Web"], HTTP_GET, "http://dbx-example-ping.localhost/ping")
    assert out.startswith("error"), out


def test_direct_traffic_to_the_provider_is_dropped(box):
    d, _, _, pups = box
    prov_ip = state(d, pups["Ping Provider"])["ip"]
    out = py_in_pup(d, pups["Ping Consumer"], TCP_TALK, prov_ip, 8081, 2)
    assert out == "timeout", out
    echo_ip = state(d, pups["Echo TCP"])["ip"]
    assert py_in_pup(d, pups["Echo Client"], TCP_TALK, echo_ip, 7007, 2) == "timeout"


def test_tcp_interface_for_the_granted_consumer_only(box):
    d, _, _, pups = box
    out = py_in_pup(d, pups["Echo Client"], TCP_TALK, "dbx-example-echo.localhost", 7007, 3)
    assert out == "reply ping", out
    addr = svc_addr(d, pups["Echo Client"], "dbx-example-echo")
    for other in ("Ping Consumer", "Hello Web"):
        out = py_in_pup(d, pups[other], TCP_TALK, addr, 7007, 3)
        assert out == "refused", (other, out)


def test_spoofed_source_address_is_dropped(box):
    """A pup's packets must carry its own address: the bridge drops the
    rest before the host (gateway API, proxy) ever sees them, which is what
    makes the source address an identity."""
    d, _, _, pups = box
    gw = d.net["gateway"]
    cons, prov = pups["Ping Consumer"], pups["Ping Provider"]
    own_ip, prov_ip = state(d, cons)["ip"], state(d, prov)["ip"]
    free_ip = d.net["prefix"] + "77.77"
    cap = BridgeCapture(d.net["bridge"])
    try:
        # from its own address the gateway answers (and the capture sees it)
        out = py_in_pup(d, cons, TCP_TALK, gw, 80, 3)
        assert out.startswith("reply"), out
        # claiming the provider's address or an unused one: dropped
        for fake in (prov_ip, free_ip):
            out = py_in_pup(d, cons, TCP_TALK, gw, 80, 2, fake)
            assert out == "timeout", (fake, out)
        seen = cap.tcp_to(gw, 80)
    finally:
        cap.close()
    assert own_ip in seen, seen
    assert prov_ip not in seen and free_ip not in seen, seen


def test_metrics_push_shows_in_stats_and_wrong_types_are_rejected(box):
    d, _, _, pups = box
    gw = d.net["gateway"]
    prov = pups["Ping Provider"]
    url = "http://%s:80/dbx/metrics" % gw
    out = py_in_pup(d, prov, HTTP_POST, url, json.dumps({"pings": {"value": 41}}),
                    "Content-Type:application/json")
    assert out.startswith("200 "), out
    assert json.loads(out[4:]) == {"stored": 1, "ignored": []}
    out = py_in_pup(d, prov, HTTP_POST, url,
                    json.dumps({"pings": {"value": 42.9}, "undeclared": {"value": 1}}))
    assert json.loads(out[4:]) == {"stored": 1, "ignored": ["undeclared"]}
    code, body = d.admin("GET", "/pup/%s/metrics" % prov)
    vals = json.loads(body)["pings"]
    assert code == 200 and len(vals) == 30 and vals[-2:] == [41, 42] and vals[0] is None
    m = [x for x in stats(d, prov)["metrics"] if x["name"] == "pings"][0]
    assert m["values"][-2:] == [41, 42] and m["type"] == "int"
    # a string for an int metric: refused whole, nothing stored
    out = py_in_pup(d, prov, HTTP_POST, url,
                    json.dumps({"pings": {"value": "many"}}))
    assert out.startswith("400 "), out
    assert "pings is an int metric" in out
    out = py_in_pup(d, prov, HTTP_POST, url, json.dumps({"pings": 5}))
    assert out.startswith("400 ") and "metric pings: {" in out and "is expected" in out, out
    assert json.loads(d.admin("GET", "/pup/%s/metrics" % prov)[1])["pings"][-2:] == [41, 42]
    # another pup cannot push for the provider, whatever headers it sends
    cons = pups["Ping Consumer"]
    out = py_in_pup(d, cons, HTTP_POST, url, json.dumps({"pings": {"value": 1}}),
                    "X-Forwarded-For:" + state(d, prov)["ip"])
    assert json.loads(out[4:]) == {"stored": 0, "ignored": ["pings"]}, out
    assert json.loads(d.admin("GET", "/pup/%s/metrics" % prov)[1])["pings"][-1] == 42
    # the host itself is no pup
    r = subprocess.run(["curl", "-s", "-m", "3", "-X", "POST", "-d", "{}", url],
                       capture_output=True, text=True)
    assert "is not a pup of this Dogebox" in r.stdout, r.stdout
    # the example pushes its own metrics through the same API
    echo = pups["Echo TCP"]
    assert py_in_pup(d, pups["Echo Client"], TCP_TALK, "dbx-example-echo.localhost", 7007,
                     3) == "reply ping"
    wait_for(lambda: json.loads(d.admin("GET", "/pup/%s/metrics" % echo)[1])["last_client"][-1]
             is not None, what="echo-tcp's metrics push")
    last = json.loads(d.admin("GET", "/pup/%s/metrics" % echo)[1])["last_client"][-1]
    assert last.startswith(d.net["prefix"]), "nginx connects to the provider from the gateway"


def test_web_ui_answers_on_its_host_port(box):
    d, _, _, pups = box
    st = state(d, pups["Hello Web"])
    assert len(st["webUIs"]) == 1 and st["webUIs"][0]["name"] == "Web page"
    port = st["webUIs"][0]["port"]
    assert port >= 10000
    r = subprocess.run(["curl", "-s", "-m", "5", "http://127.0.0.1:%d/" % port],
                       capture_output=True, text=True)
    assert "Hello from a native pup!" in r.stdout, r.stdout
    # pups cannot use it (only the gateway API and the proxy are open to them)
    out = py_in_pup(d, pups["Ping Consumer"], TCP_TALK, d.net["gateway"], port, 2)
    assert out in ("refused", "timeout"), out


def test_killed_nginx_is_restarted(box):
    d, _, _, pups = box
    run = os.path.join(d.data_dir, "run", "nginx")
    pidfile = os.path.join(run, "nginx.pid")
    port = state(d, pups["Hello Web"])["webUIs"][0]["port"]

    def master():
        try:
            return int(open(pidfile).read().strip())
        except (OSError, ValueError):
            return None

    for _ in range(2):  # and again: a second crash is survived too
        old = master()
        assert old
        os.kill(old, signal.SIGKILL)
        wait_for(lambda: master() not in (None, old), timeout=10, what="a new nginx master")
        wait_for(lambda: "Hello from a native pup!" in subprocess.run(
            ["curl", "-s", "-m", "2", "http://127.0.0.1:%d/" % port], capture_output=True,
            text=True).stdout, timeout=10, what="the web UI answering again")
    assert "restarting it" in d.read_log()
    out = py_in_pup(d, pups["Ping Consumer"], HTTP_GET, "http://dbx-example-ping.localhost/ping")
    assert out.startswith("200 "), out


def test_host_port_conflict_is_refused_at_install(box):
    d, src, examples, pups = box
    holder = socket.socket()
    holder.bind(("0.0.0.0", 0))
    holder.listen()
    busy = holder.getsockname()[1]
    try:
        write_pup(examples, "port-taker", native_manifest("Port Taker", exposes=[
            {"name": "p2p", "type": "tcp", "port": busy, "interfaces": [], "listenOnHost": True,
             "webUI": False}]))
        assert d.admin("GET", "/sources/store?refresh=true")[0] == 200
        j = install(d, src, "Port Taker")
        assert j["status"] == "failed", j
        msg = j["errorMessage"]
        assert ("Port Taker cannot be installed: its expose 'p2p' wants host port %d "
                "(listenOnHost)" % busy) in msg, msg
        assert "listening" in msg or "in use" in msg, msg
        assert not [p for p, s in json.loads(d.admin("GET", "/system/bootstrap")[1])[
            "states"].items() if s["manifest"]["meta"]["name"] == "Port Taker"], "nothing adopted"
    finally:
        holder.close()
    # a port another pup forwards: the error names that pup
    free = socket.socket()
    free.bind(("0.0.0.0", 0))
    port = free.getsockname()[1]
    free.close()
    for name in ("Forward One", "Forward Two"):
        write_pup(examples, name.lower().replace(" ", "-"), native_manifest(name, exposes=[
            {"name": "p2p", "type": "tcp", "port": port, "interfaces": [], "listenOnHost": True,
             "webUI": False}]))
    assert d.admin("GET", "/sources/store?refresh=true")[0] == 200
    one = install(d, src, "Forward One")
    assert one["status"] == "completed", one
    two = install(d, src, "Forward Two")
    assert two["status"] == "failed"
    assert "already forwarded to pup %s" % one["pupID"] in two["errorMessage"], two
    rules = subprocess.run(["nft", "list", "table", "inet", d.net["table"]], capture_output=True,
                           text=True).stdout
    assert "dport %d" % port in rules and state(d, one["pupID"])["ip"] in rules


def bridge_addrs(d):
    out = subprocess.run(["ip", "-4", "-o", "addr", "show", "dev", d.net["bridge"]],
                         capture_output=True, text=True).stdout
    return {line.split()[3].split("/")[0] for line in out.splitlines()}


def test_removing_a_provider_releases_its_network(box):
    d, _, _, pups = box
    client, echo = pups["Echo Client"], pups["Echo TCP"]
    addr = svc_addr(d, client, "dbx-example-echo")
    assert addr in bridge_addrs(d)
    echo_ip = state(d, echo)["ip"]
    code, text = d.admin("POST", "/pup/%s/purge" % echo)
    assert code == 409 and "Echo Client" in text, text
    code, text = d.admin("POST", "/pup/%s/purge?force=true" % echo)
    assert code == 200, text
    from pups_helpers import wait_job
    assert wait_job(d, json.loads(text)["id"])["status"] == "completed"
    assert state(d, echo) is None
    st = state(d, client)
    assert st["providers"] == {} and st["needsDeps"] is True
    # its service address left the bridge, the firewall and nginx
    assert addr not in bridge_addrs(d)
    rules = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True).stdout
    assert addr not in rules and echo_ip not in rules
    conf = open(os.path.join(d.data_dir, "run", "nginx", "nginx.conf")).read()
    assert addr not in conf and echo_ip not in conf
    # the client still runs (until stopped) but reaches nothing
    assert py_in_pup(d, client, TCP_TALK, addr, 7007, 2) in ("timeout", "refused")


def test_restart_keeps_addresses_and_ports(box):
    d, _, _, pups = box
    live = [p for p in pups.values() if state(d, p)]
    before = {p: (state(d, p)["ip"], state(d, p)["webUIs"]) for p in live}
    cons = pups["Ping Consumer"]
    svc = svc_addr(d, cons, "dbx-example-ping")
    assert d.stop() == 0
    d2 = Daemon(data_dir=d.data_dir, net=d.net)
    d2.cgroup_parent = d.cgroup_parent
    d2.start()
    d.proc, d.port, d.log = d2.proc, d2.port, d2.log
    for p in live:
        if state(d, p)["enabled"] and not state(d, p)["needsDeps"]:
            wait_for(lambda: stats(d, p)["status"] == "running", what="running again")
    assert {p: (state(d, p)["ip"], state(d, p)["webUIs"]) for p in live} == before
    assert svc_addr(d, cons, "dbx-example-ping") == svc
    wait_for(lambda: py_in_pup(d, cons, HTTP_GET, "http://dbx-example-ping.localhost/ping")
             .startswith("200 "), timeout=15, what="the provider answering again")


def test_web_ui_port_taken_while_down_is_replaced(box):
    """A web UI port another program took while the daemon was down is
    replaced (nginx could not start on it), and says so."""
    d, _, _, pups = box
    web = pups["Hello Web"]
    old = state(d, web)["webUIs"][0]["port"]
    assert d.stop() == 0
    squatter = socket.socket()
    squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    squatter.bind(("127.0.0.1", old))
    squatter.listen()
    try:
        d2 = Daemon(data_dir=d.data_dir, net=d.net)
        d2.cgroup_parent = d.cgroup_parent
        d2.start()
        d.proc, d.port, d.log = d2.proc, d2.port, d2.log
        wait_for(lambda: stats(d, web)["status"] == "running", what="hello-web running")
        new = state(d, web)["webUIs"][0]["port"]
        assert new != old and new >= 10000
        assert "web UI port %d is taken by another program" % old in d.read_log()
        # "running" means its service started; the page answers a moment later
        wait_for(lambda: "Hello from a native pup!" in subprocess.run(
            ["curl", "-s", "-m", "2", "http://127.0.0.1:%d/" % new], capture_output=True,
            text=True).stdout, timeout=15, what="the web UI on its new port")
        wait_for(lambda: py_in_pup(d, pups["Ping Consumer"], HTTP_GET,
                                   "http://dbx-example-ping.localhost/ping").startswith("200 "),
                 timeout=15, what="the provider answering again")
    finally:
        squatter.close()
