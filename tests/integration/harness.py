"""Start the real dogeboxd in a private data directory and talk to it.

Shared by every integration test. The daemon binary comes from
$DBX_BUILD (default: build-asan next to the repo). Each Daemon gets its own
temp data dir, admin socket and a kernel-chosen free port (--listen :0), so
tests never collide with each other or with a daemon run by hand.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import requests

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("DBX_BUILD", os.path.join(REPO, "build-asan"))
DOGEBOXD = os.path.join(BUILD, "dogeboxd")
DBX = os.path.join(BUILD, "dbx")

# ASan/UBSan settings for the sanitized daemon: any report fails the test.
SAN_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=66",
    "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1:exitcode=66",
    "LSAN_OPTIONS": "suppressions=" + os.path.join(REPO, "tests", "lsan.supp"),
}


class Daemon:
    def __init__(self, data_dir=None, extra_args=(), env=None, net=False):
        """net: False -> --no-network (pups get loopback only, nothing on
        the host changes); True -> a bridge and subnet of its own
        (`--bridge dbxt<hex> --bridge-cidr 10.X.0.1/16`, removed by
        cleanup()); or the .net of another Daemon to restart on the same
        network."""
        self.owns_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="dbx-it-")
        os.chmod(self.data_dir, 0o755)  # like /var/lib/dogebox: others may traverse
        self.extra_args = list(extra_args)
        if net is True:
            net = new_test_network()
        self.net = net or None
        if self.net:
            self.extra_args += ["--bridge", self.net["bridge"], "--bridge-cidr", self.net["cidr"]]
        else:
            self.extra_args.append("--no-network")
        # pups' sandboxes of this daemon live in a cgroup of their own
        self.cgroup_parent = "/dbx-test-" + os.urandom(4).hex()
        self.env = dict(os.environ, **SAN_ENV, **(env or {}))
        self.proc = None
        self.port = None
        self.log_path = os.path.join(self.data_dir, "daemon.log")

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    @property
    def admin_socket(self):
        return os.path.join(self.data_dir, "run", "dogeboxd.sock")

    def start(self, timeout=20):
        self.log = open(self.log_path, "ab")
        offset = self.log.tell()
        self.proc = subprocess.Popen(
            [DOGEBOXD, "--data-dir", self.data_dir, "--listen", "127.0.0.1:0", "--verbose",
             "--cgroup-parent", self.cgroup_parent]
            + self.extra_args,
            stdout=self.log, stderr=self.log, env=self.env)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("dogeboxd exited with %d:\n%s" % (self.proc.returncode, self.read_log()))
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                text = f.read()
            m = re.search(rb"listening on http://127.0.0.1:0/ \(port (\d+)\)", text)
            if m and b" ready," in text:
                self.port = int(m.group(1))
                return self
            time.sleep(0.02)
        raise RuntimeError("dogeboxd did not become ready:\n" + self.read_log())

    def read_log(self):
        try:
            return open(self.log_path, "rb").read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Stop and return the exit code; sanitizer reports fail loudly."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("dogeboxd did not stop within %ss" % timeout)
        self.log.close()
        log = self.read_log()
        assert "ERROR: AddressSanitizer" not in log, log
        assert "runtime error:" not in log, log
        assert "ERROR: LeakSanitizer" not in log, log
        return rc

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()

    def cleanup(self):
        if self.proc and self.proc.poll() is None:
            self.stop()
        remove_cgroup(self.cgroup_parent)
        if self.net:
            remove_test_network(self.net)
        if self.owns_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    # --- clients -------------------------------------------------------
    # Over TCP every route but login (and the setup routes during setup)
    # needs a session: after login() these send the token.
    token = None
    password = None

    def _auth(self, kw):
        if self.token:
            headers = dict(kw.pop("headers", None) or {})
            if not any(k.lower() == "authorization" for k in headers):
                headers["Authorization"] = "Bearer " + self.token
            kw["headers"] = headers
        return kw

    def get(self, path, **kw):
        return requests.get(self.url + path, timeout=10, **self._auth(kw))

    def post(self, path, **kw):
        return requests.post(self.url + path, timeout=10, **self._auth(kw))

    def request(self, method, path, **kw):
        return requests.request(method, self.url + path, timeout=10, **self._auth(kw))

    def login(self, password="correct horse battery staple"):
        """Create the master key if there is none (keeping the seed phrase
        in self.seed_phrase), else log in; remember the token."""
        r = requests.get(self.url + "/keys", timeout=10,
                         headers={"Authorization": "Bearer " + self.token} if self.token else {})
        if r.status_code == 200 and r.json()["keys"] == []:
            r = requests.post(self.url + "/keys/create-master", json={"password": password},
                              timeout=60)
            assert r.status_code == 200, r.text
            self.seed_phrase = r.json()["seedPhrase"]
        else:
            r = requests.post(self.url + "/authenticate", json={"password": password}, timeout=60)
            assert r.status_code == 200, r.text
        self.token = r.json()["token"]
        self.password = password
        return self.token

    def setup(self, password="correct horse battery staple", **bootstrap):
        """Master key, login and finished setup (no initial sources unless
        given: the default one is on the internet)."""
        self.login(password)
        body = dict({"sources": []}, **bootstrap)
        r = self.post("/system/bootstrap", json=body)
        assert r.status_code == 200, r.text
        return self.token

    def admin(self, method, path, body=None, as_user=None):
        """HTTP over the admin socket via curl (optionally as another user)."""
        cmd = ["curl", "-s", "-w", "\n%{http_code}", "--unix-socket", self.admin_socket,
               "-X", method, "http://dogeboxd" + path]
        if body is not None:
            cmd += ["-H", "Content-Type: application/json", "--data-binary", json.dumps(body)]
        if as_user:
            cmd = ["runuser", "-u", as_user, "--"] + cmd
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout
        text, _, code = out.rpartition("\n")
        return int(code), text

    def dbx(self, *args, check=False, as_user=None, input=None):
        cmd = [DBX, "--socket", self.admin_socket] + list(args)
        if as_user:
            cmd = ["runuser", "-u", as_user, "--"] + cmd
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=check,
                              env=dict(os.environ, **SAN_ENV), input=input)


def remove_cgroup(parent):
    """rmdir the (empty) cgroup parent in every hierarchy, deepest first."""
    name = parent.strip("/")
    for root, dirs, _ in os.walk("/sys/fs/cgroup", topdown=True):
        if os.path.basename(root) == name:
            for r2, d2, _ in sorted(os.walk(root), key=lambda t: -len(t[0])):
                try:
                    os.rmdir(r2)
                except OSError:
                    pass
            dirs[:] = []
        elif root.count("/") > 5:
            dirs[:] = []


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# --- pup networks of test daemons (Daemon(net=True)) -------------------------

def new_test_network():
    """A bridge name and a 10.X.0.0/16 that nothing on this machine uses.
    The daemon's nftables tables are named after the bridge."""
    import random
    used = subprocess.run(["ip", "-4", "route", "show", "table", "all"], capture_output=True,
                          text=True).stdout
    used += subprocess.run(["ip", "-4", "addr"], capture_output=True, text=True).stdout
    for _ in range(200):
        x = random.randint(100, 250)
        if ("10.%d." % x) not in used:
            tag = os.urandom(3).hex()
            bridge = "dbxt" + tag
            return {"bridge": bridge, "table": "dogeboxd_" + bridge, "cidr": "10.%d.0.1/16" % x,
                    "gateway": "10.%d.0.1" % x, "prefix": "10.%d." % x}
    raise AssertionError("no free 10.X.0.0/16 on this machine")


def remove_test_network(net):
    subprocess.run(["ip", "link", "del", net["bridge"]], capture_output=True)
    for family in ("inet", "bridge"):
        subprocess.run(["nft", "delete", "table", family, net["table"]], capture_output=True)
