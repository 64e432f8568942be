"""Helpers for the DRE tests on a real daemon: test-only pups written into
a disk source, and running programs inside a pup's namespaces (nsenter
into the sandbox's network and mount namespaces, as root on the host).
Nothing here sends traffic outside the machine: every address is on the
test daemon's own bridge."""
import json
import os
import subprocess
import textwrap

PY = "/usr/bin/python3"

# A sandbox's services see their own /etc/hosts and network: these run there.
HTTP_GET = textwrap.dedent("""
    import sys, urllib.request, urllib.error
    req = urllib.request.Request(sys.argv[1], headers=dict(h.split(":", 1) for h in sys.argv[2:]))
    try:
        r = urllib.request.urlopen(req, timeout=3)
        print(r.status, r.read().decode())
    except urllib.error.HTTPError as e:
        print(e.code, e.read().decode()[:200])
    except Exception as e:
        print("error", type(e).__name__, e)
""")

HTTP_POST = textwrap.dedent("""
    import sys, urllib.request, urllib.error
    req = urllib.request.Request(sys.argv[1], data=sys.argv[2].encode(),
                                 headers=dict(h.split(":", 1) for h in sys.argv[3:]))
    try:
        r = urllib.request.urlopen(req, timeout=3)
        print(r.status, r.read().decode())
    except urllib.error.HTTPError as e:
        print(e.code, e.read().decode())
    except Exception as e:
        print("error", type(e).__name__, e)
""")

# TCP: host port timeout [source address to claim (IP_TRANSPARENT, root only)]
TCP_TALK = textwrap.dedent("""
    import socket, sys
    host, port, wait = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    try:
        s = socket.socket()
        if len(sys.argv) > 4:
            s.setsockopt(socket.SOL_IP, 19, 1)  # IP_TRANSPARENT: send from any address
            s.bind((sys.argv[4], 0))
        s.settimeout(wait)
        s.connect((host, port))
        s.sendall(b"ping\\n")
        d = s.recv(100)
        print("reply", d.decode().strip() if d else "<closed>")
    except ConnectionRefusedError:
        print("refused")
    except ConnectionResetError:
        print("reset")
    except socket.timeout:
        print("timeout")
    except OSError as e:
        print("error", e)
""")


def sandbox_pid(daemon, pup_id):
    """A host pid inside the pup's sandbox (all of them share its
    namespaces), found through the sandbox's cgroup."""
    name = "pup-" + pup_id
    parent = daemon.cgroup_parent.strip("/")
    for root, dirs, files in os.walk("/sys/fs/cgroup"):
        parts = root.split("/")
        if parent in parts and name in parts and "cgroup.procs" in files:
            try:
                pids = [int(x) for x in open(os.path.join(root, "cgroup.procs")).read().split()]
            except OSError:
                continue
            if pids:
                return min(pids)
        if root.count("/") > 8:
            dirs[:] = []
    raise AssertionError("no process of pup %s in %s" % (pup_id, parent))


def in_pup(daemon, pup_id, *argv, mount=True, timeout=30):
    """Run argv in the pup's network (and mount) namespace."""
    pid = sandbox_pid(daemon, pup_id)
    cmd = ["nsenter", "-t", str(pid), "-n"] + (["-m"] if mount else []) + ["--"] + list(argv)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def py_in_pup(daemon, pup_id, program, *args, mount=True, timeout=30):
    r = in_pup(daemon, pup_id, PY, "-c", program, *[str(a) for a in args], mount=mount,
               timeout=timeout)
    return (r.stdout + r.stderr).strip()


def service_env(daemon, pup_id):
    """The environment of the pup's first service process (not pup-init)."""
    name = "pup-" + pup_id
    parent = daemon.cgroup_parent.strip("/")
    pids = set()
    for root, dirs, files in os.walk("/sys/fs/cgroup"):
        parts = root.split("/")
        if parent in parts and name in parts and "cgroup.procs" in files:
            try:
                pids |= {int(x) for x in open(os.path.join(root, "cgroup.procs")).read().split()}
            except OSError:
                pass
        if root.count("/") > 8:
            dirs[:] = []
    for pid in sorted(pids):
        try:
            raw = open("/proc/%d/environ" % pid, "rb").read().decode()
        except OSError:
            continue
        env = dict(kv.split("=", 1) for kv in raw.split("\0") if "=" in kv)
        if "DBX_PUP_ID" in env:
            return env
    raise AssertionError("no service of pup %s found" % pup_id)


def write_pup(source_dir, folder, manifest, files=None):
    """A native test pup in a disk source folder."""
    d = os.path.join(source_dir, folder)
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o755)
    with open(os.path.join(d, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    for name, (text, mode) in (files or {}).items():
        p = os.path.join(d, name)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)


def native_manifest(name, version="1.0.0", exposes=(), interfaces=(), dependencies=(),
                    metrics=(), service=None):
    """A small manifest; by default its one service sleeps forever."""
    svc = service or {"name": "main", "command": {"exec": "/usr/bin/sleep", "args": ["infinity"],
                                                  "cwd": "", "env": {}}}
    return {
        "manifestVersion": 1,
        "meta": {"name": name, "version": version, "logoPath": "",
                 "shortDescription": "a test pup", "longDescription": "", "upstreamVersions": {}},
        "config": {"showOnInstall": False, "sections": []},
        "container": {"build": {"type": "native"}, "services": [svc],
                      "exposes": list(exposes), "requiresInternet": False,
                      "resources": {"memory": 33554432, "pids": 16}},
        "interfaces": list(interfaces),
        "dependencies": list(dependencies),
        "metrics": list(metrics),
    }


def dependency(interface, version="^1.0.0", groups=(), optional=False):
    return {"interfaceName": interface, "interfaceVersion": version,
            "permissionGroups": list(groups), "optional": optional,
            "source": {"sourceLocation": "", "pupName": "", "pupVersion": ""}}


def refresh_source(daemon):
    code, body = daemon.admin("GET", "/sources/store?refresh=true")
    assert code == 200, body


class BridgeCapture:
    """IPv4 frames that the bridge passes up to the host (after its
    prerouting filter: a frame dropped there never shows here)."""

    def __init__(self, bridge):
        import socket
        self.s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
        self.s.bind((bridge, 0))
        self.s.setblocking(False)

    def tcp_to(self, dst, dport):
        """Sources of the TCP segments to dst:dport received so far."""
        import socket
        import struct
        seen = set()
        while True:
            try:
                frame = self.s.recv(65535)
            except BlockingIOError:
                return seen
            ip = frame[14:]
            if len(ip) < 24 or ip[9] != 6:
                continue
            ihl = (ip[0] & 15) * 4
            if (socket.inet_ntoa(ip[16:20]) == dst and
                    struct.unpack("!H", ip[ihl + 2:ihl + 4])[0] == dport):
                seen.add(socket.inet_ntoa(ip[12:16]))

    def close(self):
        self.s.close()
