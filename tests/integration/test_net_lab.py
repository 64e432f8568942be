"""A throw-away pup network for the net and dre integration tests.

A Lab is one bridge, one nftables table, a network namespace per pup and
(optionally) a managed nginx, all with names unique to the lab, driven by
the dbx-net-test executable from a JSON "world" (src/dre/dbx-net-test.c).
Everything is removed by close(). Namespaces are created with `ip netns`
(test-only); the wiring itself is the code under test.

`hostns`: run the whole lab inside a dedicated network namespace instead
of the machine's own (the bridge, the firewall tables and nginx live
there), for tests that need per-namespace sysctls such as ip_forward.

This module holds no tests itself; pytest collects it harmlessly.
"""
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import textwrap
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("DBX_BUILD", os.path.join(REPO, "build-asan"))
DRIVER = os.path.join(BUILD, "src", "dre", "dbx-net-test")
PY = "/usr/bin/python3"

SAN_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=66",
    "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1:exitcode=66",
}

# Small programs run inside the namespaces.
PROVIDER = textwrap.dedent("""
    import http.server, socket, socketserver, sys, threading
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def do_GET(self):
            body = ("path=%s xff=%s client=%s" % (self.path, self.headers.get("X-Forwarded-For"),
                                                  self.client_address[0])).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        def log_message(self, *a):
            pass
    class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
        daemon_threads = True
        allow_reuse_address = True
        def server_bind(self):  # no getfqdn(): there is no DNS in a pup namespace
            socketserver.TCPServer.server_bind(self)
            self.server_name, self.server_port = "pup", self.server_address[1]
    def echo(port):
        ls = socket.socket()
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((sys.argv[1], port))
        ls.listen(64)
        while True:
            c, _ = ls.accept()
            def serve(c=c):
                while True:
                    d = c.recv(4096)
                    if not d:
                        break
                    c.sendall(b"echo:" + d)
                c.close()
            threading.Thread(target=serve, daemon=True).start()
    for p in sys.argv[3:]:
        threading.Thread(target=echo, args=(int(p),), daemon=True).start()
    S((sys.argv[1], int(sys.argv[2])), H).serve_forever()
""")

HTTP_GET = textwrap.dedent("""
    import sys, urllib.request, urllib.error
    req = urllib.request.Request(sys.argv[1], headers=dict(h.split(":", 1) for h in sys.argv[2:]))
    try:
        r = urllib.request.urlopen(req, timeout=3)
        print(r.status, r.read().decode())
    except urllib.error.HTTPError as e:
        print(e.code, "")
    except Exception as e:
        print("error", type(e).__name__, e)
""")

TCP_TALK = textwrap.dedent("""
    import socket, sys
    try:
        s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3]))
        s.sendall(b"ping")
        s.settimeout(3)
        d = s.recv(100)
        print("reply", d.decode() if d else "<closed>")
    except ConnectionRefusedError:
        print("refused")
    except ConnectionResetError:
        print("reset")
    except socket.timeout:
        print("timeout")
    except OSError as e:
        print("error", e)
""")

# ICMP echo to dst; with a source address and MAC given, the frame is built
# by hand and sent on eth0 (AF_PACKET), so the kernel cannot fix it up.
ICMP = textwrap.dedent("""
    import os, socket, struct, sys, time
    def csum(b):
        if len(b) % 2: b += b"\\0"
        s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
        s = (s >> 16) + (s & 0xffff); s += s >> 16
        return ~s & 0xffff
    dst, ident, wait = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    src = sys.argv[4] if len(sys.argv) > 4 else None
    smac = sys.argv[5] if len(sys.argv) > 5 else None
    dmac = sys.argv[6] if len(sys.argv) > 6 else None
    rx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    icmp = struct.pack("!BBHHH", 8, 0, 0, ident, 1) + b"dbx-net-test"
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    if src is None:
        rx.sendto(icmp, (dst, 0))
    else:
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), ident, 0, 64, 1, 0,
                         socket.inet_aton(src), socket.inet_aton(dst))
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        eth = bytes.fromhex(dmac.replace(":", "")) + bytes.fromhex(smac.replace(":", "")) + b"\\x08\\x00"
        tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        tx.bind(("eth0", 0))
        tx.send(eth + ip + icmp)
    if wait <= 0:
        print("sent"); sys.exit(0)
    rx.settimeout(wait)
    end = time.time() + wait
    while time.time() < end:
        try:
            d, a = rx.recvfrom(2048)
        except socket.timeout:
            break
        h = (d[0] & 15) * 4
        t, _, _, i, _ = struct.unpack("!BBHHH", d[h:h + 8])
        if t == 0 and i == ident:
            print("reply", a[0]); sys.exit(0)
    print("timeout")
""")

# Wait for an echo reply with this ident (the other half of a spoof test).
ICMP_LISTEN = textwrap.dedent("""
    import socket, struct, sys, time
    ident, wait = int(sys.argv[1]), float(sys.argv[2])
    rx = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    rx.settimeout(wait)
    print("listening", flush=True)
    end = time.time() + wait
    while time.time() < end:
        try:
            d, a = rx.recvfrom(2048)
        except socket.timeout:
            break
        h = (d[0] & 15) * 4
        t, _, _, i, _ = struct.unpack("!BBHHH", d[h:h + 8])
        if t == 0 and i == ident:
            print("reply", a[0]); sys.exit(0)
    print("timeout")
""")

# Claim someone else's address with a gratuitous ARP reply.
ARP_SPOOF = textwrap.dedent("""
    import socket, sys
    claim, gw, smac = sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3].replace(":", ""))
    arp = (b"\\x00\\x01\\x08\\x00\\x06\\x04\\x00\\x02" + smac + socket.inet_aton(claim)
           + b"\\xff" * 6 + socket.inet_aton(gw))
    tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    tx.bind(("eth0", 0))
    for _ in range(3):
        tx.send(b"\\xff" * 6 + smac + b"\\x08\\x06" + arp)
    print("sent")
""")


def sh(*args, check=True, timeout=30, input=None):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, input=input)
    if check and r.returncode != 0:
        raise AssertionError("%s failed (%d): %s%s" % (" ".join(args), r.returncode, r.stdout,
                                                        r.stderr))
    return r


def mac_for(ip):
    return "02:db:" + ":".join("%02x" % int(x) for x in ip.split("."))


def gateway_mac(gw):
    return "02:da:" + ":".join("%02x" % int(x) for x in gw.split("."))


def free_second_octet():
    """A 10.X.0.0/16 that no interface or route of this machine uses."""
    used = sh("ip", "-4", "route", "show", "table", "all").stdout
    used += sh("ip", "-4", "addr").stdout
    for _ in range(200):
        x = random.randint(100, 250)
        if (" 10.%d." % x) not in used and ("10.%d." % x) not in used:
            return x
    raise AssertionError("no free 10.X.0.0/16 on this machine")


def free_tcp_port(lo=20000, hi=40000):
    for _ in range(200):
        p = random.randint(lo, hi)
        s = socket.socket()
        try:
            s.bind(("0.0.0.0", p))
            return p
        except OSError:
            continue
        finally:
            s.close()
    raise AssertionError("no free port")


class Lab:
    def __init__(self, pups, bindings=(), webuis=(), gateway_ports=(), listen=("127.0.0.1",),
                 hostns=False, uplink="", nginx=False):
        self.tag = "%04x" % random.randrange(0x10000)
        self.octet = free_second_octet()
        self.net = "10.%d" % self.octet
        self.gw = self.net + ".0.1"
        self.bridge = "dbxt" + self.tag
        self.table = "dbxt_" + self.tag
        self.tmp = tempfile.mkdtemp(prefix="dbx-net-")
        os.chmod(self.tmp, 0o755)  # nginx workers run as nobody
        self.world_path = os.path.join(self.tmp, "world.json")
        self.status_path = os.path.join(self.tmp, "status")
        self.run_dir = os.path.join(self.tmp, "run")
        self.procs = []
        self.netns = {}
        self.hostns = None
        self.nginx = None
        self.etc_netns = []
        self.world = {
            "table": self.table, "bridge": self.bridge, "cidr": self.gw + "/16",
            "uplink": uplink, "run_dir": self.run_dir, "listen": list(listen),
            "gateway_ports": list(gateway_ports), "workers": 1,
            "pups": [], "bindings": [], "webuis": list(webuis),
        }
        for i, p in enumerate(pups):
            p = dict(p)
            p.setdefault("ip", "%s.0.%d" % (self.net, 10 + i))
            self.world["pups"].append(p)
        for i, b in enumerate(bindings):
            b = dict(b)
            b.setdefault("service_addr", "%s.192.%d" % (self.net, 1 + i))
            self.world["bindings"].append(b)
        try:
            if hostns:
                self.hostns = "dbxt-%s-host" % self.tag
                sh("ip", "netns", "add", self.hostns)
                self.host_exec("ip", "link", "set", "lo", "up")
            self.write_world()
            self.driver("bridge-up")
            for p in self.world["pups"]:
                ns = "dbxt-%s-%s" % (self.tag, p["id"])
                sh("ip", "netns", "add", ns)
                self.netns[p["id"]] = ns
                self.driver("attach", p["id"], "/run/netns/" + ns)
            self.driver("policy-apply")
            if nginx:
                self.start_nginx()
        except BaseException:
            self.close()
            raise

    # -- plumbing --
    def host_prefix(self):
        return ["ip", "netns", "exec", self.hostns] if self.hostns else []

    def host_exec(self, *args, check=True):
        return sh(*(self.host_prefix() + list(args)), check=check)

    def write_world(self):
        with open(self.world_path + ".tmp", "w") as f:
            json.dump(self.world, f, indent=1)
        os.replace(self.world_path + ".tmp", self.world_path)

    def driver(self, cmd, *args, check=True):
        r = subprocess.run(self.host_prefix() + [DRIVER, cmd, self.world_path] + list(args),
                           capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, **SAN_ENV))
        if check and r.returncode != 0:
            raise AssertionError("dbx-net-test %s %s: %d %s%s" % (cmd, " ".join(args),
                                                                  r.returncode, r.stdout, r.stderr))
        return r

    def pup(self, pid):
        for p in self.world["pups"]:
            if p["id"] == pid:
                return p
        raise KeyError(pid)

    def ip(self, pid):
        return self.pup(pid)["ip"]

    def binding(self, interface):
        for b in self.world["bindings"]:
            if b["interface"] == interface:
                return b
        raise KeyError(interface)

    def in_ns(self, pid, *args, check=True, timeout=30):
        return sh("ip", "netns", "exec", self.netns[pid], *args, check=check, timeout=timeout)

    def py(self, pid, program, *args, timeout=30):
        return self.in_ns(pid, PY, "-c", program, *[str(a) for a in args], check=False,
                          timeout=timeout).stdout.strip()

    def spawn(self, argv, **kw):
        p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True, **kw)
        self.procs.append(p)
        return p

    def start_provider(self, pid, http_port, *tcp_ports):
        self.spawn(["ip", "netns", "exec", self.netns[pid], PY, "-c", PROVIDER, self.ip(pid),
                    str(http_port)] + [str(p) for p in tcp_ports])
        wait_for(lambda: ":%d " % http_port in self.in_ns(pid, "ss", "-ltn").stdout,
                 what="provider listening on %d" % http_port)

    def set_hosts(self, pid):
        """/etc/netns/<ns>/hosts is what `ip netns exec` mounts over /etc/hosts."""
        text = self.driver("hosts", pid).stdout
        d = os.path.join("/etc/netns", self.netns[pid])
        os.makedirs(d, exist_ok=True)
        self.etc_netns.append(d)
        with open(os.path.join(d, "hosts"), "w") as f:
            f.write(text)
        return text

    # -- nginx --
    def start_nginx(self):
        self.nginx = subprocess.Popen(
            self.host_prefix() + [DRIVER, "nginx-run", self.world_path, self.status_path],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.tmp, "driver.err"), "w"),
            env=dict(os.environ, **SAN_ENV), start_new_session=True)
        wait_for(lambda: "ready" in self.status(), what="nginx-run ready")
        assert "apply-ok" in self.status(), self.status()

    def status(self):
        try:
            with open(self.status_path) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def nginx_pid(self):
        with open(os.path.join(self.run_dir, "nginx.pid")) as f:
            return int(f.read().strip())

    def reload(self):
        """Re-read the world (SIGUSR1) and return the outcome line."""
        n = self.status().count("apply-")
        self.nginx.send_signal(signal.SIGUSR1)
        wait_for(lambda: self.status().count("apply-") > n, what="apply outcome")
        return [l for l in self.status().splitlines() if l.startswith("apply-")][-1]

    def close(self):
        if self.nginx and self.nginx.poll() is None:
            self.nginx.send_signal(signal.SIGTERM)
            try:
                rc = self.nginx.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.nginx.kill()
                rc = self.nginx.wait()
            self.nginx_rc = rc
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        if os.path.exists(self.world_path):
            subprocess.run(self.host_prefix() + [DRIVER, "policy-remove", self.table],
                           capture_output=True)
            self.driver("bridge-down", check=False)
        for ns in self.netns.values():
            sh("ip", "netns", "del", ns, check=False)
        for d in self.etc_netns:
            shutil.rmtree(d, ignore_errors=True)
        if self.etc_netns:
            try:
                os.rmdir("/etc/netns")  # only when empty: another lab may be using it
            except OSError:
                pass
        if self.hostns:
            sh("ip", "netns", "del", self.hostns, check=False)
        shutil.rmtree(self.tmp, ignore_errors=True)


def wait_for(cond, timeout=10.0, what="condition"):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


def assert_clean(lab):
    """After close(): nothing of the lab is left on the machine."""
    links = sh("ip", "-br", "link").stdout
    assert lab.bridge not in links
    tables = sh("nft", "list", "tables").stdout
    assert lab.table not in tables
    netns = sh("ip", "netns", "list").stdout
    assert "dbxt-" + lab.tag not in netns
    assert not os.path.exists(lab.tmp)
