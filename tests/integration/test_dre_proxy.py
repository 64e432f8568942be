"""dre: the managed nginx between pups, on real namespaces, nftables and
nginx. Run as root: DBX_BUILD=<build> python3 -m pytest
tests/integration/test_dre_proxy.py"""
import os
import signal
import subprocess
import time

import pytest

from test_net_lab import (HTTP_GET, TCP_TALK, Lab, assert_clean, free_tcp_port, sh, wait_for,
                          DRIVER)

# Route patterns and paths checked through nginx against the reference
# matcher (dre_route_match via `dbx-net-test route-match`).
PATTERNS = ["/nodes", "/api/*", "/v1.0/", "/*"]
PATHS = ["/nodes", "/nodes/", "/nodes/1", "/nodesx", "/Nodes", "/api", "/api/", "/api/x/y",
         "/apix", "/v1.0/a", "/v1x0/a", "/v1.0", "/", "/a/b", "/nodes/../api/z",
         "/api/%2e%2e/secret", "/api/..%2fsecret", "/%6eodes", "//nodes", "/nodes?x=1"]


@pytest.fixture(scope="module")
def lab():
    webui_port = free_tcp_port(10000, 10999)
    bindings = [
        # the interface under test: HTTP with routes, and a TCP port
        {"interface": "web-api", "provider": "prov", "http_port": 8000, "tcp_ports": [9000],
         "consumers": [{"pup": "cons", "routes": ["/nodes", "/api/*"]}]},
        # a TCP-only interface
        {"interface": "raw-feed", "provider": "prov", "tcp_ports": [9100],
         "consumers": [{"pup": "cons", "routes": []}]},
    ]
    # one binding per pattern, only cons granted, for the matcher comparison
    for i, pat in enumerate(PATTERNS):
        bindings.append({"interface": "pat%d" % i, "provider": "prov", "http_port": 8000,
                         "consumers": [{"pup": "cons", "routes": [pat]}]})
    lb = Lab(pups=[{"id": "prov"}, {"id": "cons"}, {"id": "other"}], bindings=bindings,
             webuis=[{"pup": "prov", "name": "ui", "host_port": webui_port, "port": 8000}],
             nginx=True)
    try:
        lb.start_provider("prov", 8000, 9000, 9100)
        lb.set_hosts("cons")
        lb.set_hosts("other")
    except BaseException:
        lb.close()
        raise
    lb.webui_port = webui_port
    yield lb
    lb.close()
    assert lb.nginx_rc == 0
    assert "stopped" in lb.status() or not os.path.exists(lb.status_path)
    assert_clean(lb)
    # nginx went with its manager
    assert "nginx -p %s/" % lb.run_dir not in sh("ps", "-eo", "args").stdout


def get(lab, pup, url, *headers):
    return lab.py(pup, HTTP_GET, url, *headers)


def test_hosts_and_environment(lab):
    b = lab.binding("web-api")
    hosts = lab.in_ns("cons", "cat", "/etc/hosts").stdout
    assert "%s\tweb-api.localhost\n" % b["service_addr"] in hosts
    assert "%s\tdogeboxd dogeboxd.local dogebox dogebox.local\n" % lab.gw in hosts
    # other consumes nothing: only the gateway names
    assert ".localhost\n" not in lab.in_ns("other", "cat", "/etc/hosts").stdout.replace(
        "\tlocalhost", "")
    env = lab.driver("env", "cons").stdout.splitlines()
    assert "DBX_IFACE_WEB_API_HOST=%s" % b["service_addr"] in env
    assert "DBX_IFACE_WEB_API_PORT=80" in env
    assert "DBX_IFACE_RAW_FEED_PORT=9100" in env
    assert "DBX_PUP_IP=%s" % lab.ip("cons") in env
    assert "DBX_HOST=%s" % lab.gw in env
    assert env == sorted(env)


def test_granted_route_through_interface_name(lab):
    out = get(lab, "cons", "http://web-api.localhost/nodes")
    assert out.startswith("200 path=/nodes "), out
    out = get(lab, "cons", "http://web-api.localhost/api/x/y?q=1")
    assert out.startswith("200 path=/api/x/y?q=1 "), out


def test_route_outside_the_grant_is_403(lab):
    assert get(lab, "cons", "http://web-api.localhost/admin") == "403"
    assert get(lab, "cons", "http://web-api.localhost/nodes/1") == "403"
    assert get(lab, "cons", "http://web-api.localhost/api") == "403"


def test_consumer_without_the_dependency_is_refused(lab):
    b = lab.binding("web-api")
    assert get(lab, "other", "http://%s/nodes" % b["service_addr"]) == "403"
    assert get(lab, "other", "http://%s/api/x" % b["service_addr"]) == "403"


def test_caller_identity_cannot_be_claimed_by_header(lab):
    b = lab.binding("web-api")
    # other pretends to be cons: refused; cons's claim to be someone else is replaced
    assert get(lab, "other", "http://%s/nodes" % b["service_addr"],
               "X-Forwarded-For:" + lab.ip("cons")) == "403"
    out = get(lab, "cons", "http://web-api.localhost/nodes", "X-Forwarded-For:10.9.9.9")
    assert "xff=%s " % lab.ip("cons") in out, out


def test_direct_traffic_to_the_provider_is_dropped(lab):
    assert lab.py("cons", TCP_TALK, lab.ip("prov"), 8000, 1.5) == "timeout"
    assert lab.py("cons", TCP_TALK, lab.ip("prov"), 9000, 1.5) == "timeout"


def test_tcp_interface_for_the_granted_consumer_only(lab):
    b = lab.binding("web-api")
    assert lab.py("cons", TCP_TALK, "web-api.localhost", 9000, 3) == "reply echo:ping"
    assert lab.py("cons", TCP_TALK, "raw-feed.localhost", 9100, 3) == "reply echo:ping"
    assert lab.py("other", TCP_TALK, b["service_addr"], 9000, 3) == "refused"
    assert lab.py("other", TCP_TALK, lab.binding("raw-feed")["service_addr"], 9100, 3) == \
        "refused"
    # a TCP-only interface has no HTTP side at all
    assert lab.py("cons", TCP_TALK, "raw-feed.localhost", 80, 3) == "refused"


def test_nginx_routes_agree_with_the_reference_matcher(lab):
    for i, pat in enumerate(PATTERNS):
        addr = lab.binding("pat%d" % i)["service_addr"]
        for path in PATHS:
            out = get(lab, "cons", "http://%s%s" % (addr, path))
            assert out.split()[0] in ("200", "403"), (pat, path, out)
            # what nginx checked is the normalised path; so does the reference
            norm = normalise(path)
            ref = subprocess.run([DRIVER, "route-match", pat, norm]).returncode == 0
            assert (out.split()[0] == "200") == ref, (pat, path, norm, out)
            if ref:
                # the provider gets exactly the path that was checked
                assert out.startswith("200 path=%s" % forwarded(path)), (pat, path, out)


def normalise(path):
    """nginx's $uri: percent-decoded, dot segments resolved, slashes merged,
    no query."""
    from urllib.parse import unquote
    p = unquote(path.split("?", 1)[0])
    while "//" in p:
        p = p.replace("//", "/")
    out = []
    for seg in p.split("/")[1:]:
        if seg == "..":
            if out:
                out.pop()
        elif seg != ".":
            out.append(seg)
    n = "/" + "/".join(out)
    return n


def forwarded(path):
    q = path.split("?", 1)
    return normalise(path) + ("?" + q[1] if len(q) > 1 else "")


def test_web_ui_on_its_host_port(lab):
    out = subprocess.run(["/usr/bin/python3", "-c", HTTP_GET,
                          "http://127.0.0.1:%d/index.html" % lab.webui_port],
                         capture_output=True, text=True, timeout=10).stdout.strip()
    assert out.startswith("200 path=/index.html "), out
    # pups cannot use the owner's web UI port on the gateway
    assert lab.py("other", TCP_TALK, lab.gw, lab.webui_port, 2) == "refused"


def test_killed_nginx_is_restarted(lab):
    old = lab.nginx_pid()
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: os.path.exists(os.path.join(lab.run_dir, "nginx.pid"))
             and lab.nginx_pid() != old, timeout=5, what="a new nginx master")
    assert "event exited pid=%d killed by signal 9" % old in lab.status()
    assert "event started pid=%d restarted" % lab.nginx_pid() in lab.status()
    wait_for(lambda: get(lab, "cons", "http://web-api.localhost/nodes").startswith("200"),
             timeout=5, what="proxy answering again")
    # and again: a crash loop is survived too
    old = lab.nginx_pid()
    os.kill(old, signal.SIGKILL)
    wait_for(lambda: os.path.exists(os.path.join(lab.run_dir, "nginx.pid"))
             and lab.nginx_pid() != old, timeout=5, what="a new nginx master")


def test_bad_config_is_rejected_and_the_old_one_kept(lab):
    conf = os.path.join(lab.run_dir, "nginx.conf")
    with open(conf) as f:
        before = f.read()
    pid = lab.nginx_pid()
    # nginx -t refuses it
    lab.world["stream_module"] = "/nonexistent/ngx_stream_module.so"
    lab.write_world()
    line = lab.reload()
    del lab.world["stream_module"]
    lab.write_world()
    assert line.startswith("apply-failed nginx rejected the configuration: dlopen() "
                           "\"/nonexistent/ngx_stream_module.so\" failed"), line
    with open(conf) as f:
        assert f.read() == before
    assert lab.nginx_pid() == pid
    assert get(lab, "cons", "http://web-api.localhost/nodes").startswith("200")

    # passes nginx -t, fails in the running master (port taken): the master
    # keeps the old configuration and so does the file
    busy = free_tcp_port(11000, 11999)
    holder = subprocess.Popen(["/usr/bin/python3", "-c",
                               "import socket,time; s=socket.socket(); "
                               "s.bind(('127.0.0.1',%d)); s.listen(); time.sleep(60)" % busy])
    try:
        wait_for(lambda: (":%d " % busy) in sh("ss", "-ltn").stdout, what="port holder")
        lab.world["webuis"].append({"pup": "other", "name": "x", "host_port": busy, "port": 80})
        lab.write_world()
        line = lab.reload()
    finally:
        holder.kill()
        holder.wait()
        lab.world["webuis"].pop()
        lab.write_world()
    assert line == ("apply-failed nginx kept its previous configuration: bind() to "
                    "127.0.0.1:%d failed (98: Address already in use)" % busy), line
    assert "event reload-failed" in lab.status()
    with open(conf) as f:
        assert f.read() == before
    assert get(lab, "cons", "http://web-api.localhost/nodes").startswith("200")


def test_reload_applies_a_new_grant(lab):
    """After a reload new connections get the new configuration; nginx lets
    its old workers accept for up to ~100 ms more while new ones start
    (docs/networking.md), so the check polls briefly."""
    b = lab.binding("web-api")
    url = "http://%s/nodes" % b["service_addr"]
    assert get(lab, "other", url) == "403"
    b["consumers"].append({"pup": "other", "routes": ["/nodes"]})
    lab.write_world()
    lab.driver("policy-apply")
    pid = lab.nginx_pid()
    assert lab.reload().startswith("apply-ok pid=%d " % pid)
    try:
        wait_for(lambda: get(lab, "other", url).startswith("200"), timeout=3,
                 what="the new grant")
        assert get(lab, "other", "http://%s/api/x" % b["service_addr"]) == "403"
        # the TCP grant came with it
        # like HTTP above: an old worker may still take the first connection
        wait_for(lambda: lab.py("other", TCP_TALK, b["service_addr"], 9000, 3)
                 == "reply echo:ping", timeout=3, what="the new TCP grant")
    finally:
        b["consumers"].pop()
        lab.write_world()
        lab.driver("policy-apply")
        assert lab.reload().startswith("apply-ok")
    wait_for(lambda: get(lab, "other", url) == "403", timeout=3, what="the grant revoked")
    # the firewall refuses new TCP connections at once
    assert lab.py("other", TCP_TALK, b["service_addr"], 9000, 3) == "refused"


def test_nothing_outside_the_run_dir():
    """The generated configuration keeps every file nginx writes in run_dir."""
    lab = Lab(pups=[{"id": "p"}, {"id": "c"}],
              bindings=[{"interface": "x", "provider": "p", "http_port": 80,
                         "consumers": [{"pup": "c", "routes": ["/"]}]}])
    try:
        conf = lab.driver("nginx-render").stdout
        writers = {"pid", "lock_file", "error_log", "access_log", "client_body_temp_path",
                   "proxy_temp_path", "fastcgi_temp_path", "uwsgi_temp_path", "scgi_temp_path"}
        seen = set()
        for line in conf.splitlines():
            words = line.strip().rstrip(";").split()
            if words and words[0] in writers:
                seen.add(words[0])
                assert words[1].startswith(lab.run_dir + "/"), line
        assert seen == writers
    finally:
        lab.close()
