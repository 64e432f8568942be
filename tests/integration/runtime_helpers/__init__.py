"""Helpers for the sandbox runtime's integration tests (test_runtime_*.py).

Two ways in:
  * the standalone command, `dogeboxd sandbox` ($DBX_SANDBOX_CMD, default
    "$DBX_BUILD/dogeboxd sandbox"), through run_sandbox();
  * the supervisor API itself, through Harness: dbx-runtime-harness spawns a
    sandbox from a JSON spec on an sd-event loop and prints every event as a
    JSON line.

Every test uses its own cgroup parent (unique name) and removes it with
cleanup(). This module holds no tests.
"""
import json
import os
import queue
import re
import secrets
import shlex
import subprocess
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD = os.environ.get("DBX_BUILD", os.path.join(REPO, "build-asan"))
HARNESS = os.path.join(BUILD, "src", "runtime", "dbx-runtime-harness")
PY = "/usr/bin/python3"

UIDRANGE_BASE = 0x80000
UIDRANGE_SIZE = 0x10000
DEV_UID_BASE = UIDRANGE_BASE  # `dogeboxd sandbox` uses range 0
PUP_UID, PUP_GID = 420, 69

SAN_ENV = {
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=66",
    "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1:exitcode=66",
}

# Generous upper bounds so a loaded machine never fails a test; nothing
# here measures speed.
EVENT_TIMEOUT = 30


def sandbox_cmd():
    cmd = os.environ.get("DBX_SANDBOX_CMD")
    if cmd:
        return shlex.split(cmd)
    return [os.path.join(BUILD, "dogeboxd"), "sandbox"]


def unique(prefix):
    return "%s-%s" % (prefix, secrets.token_hex(4))


def env_with(**extra):
    e = dict(os.environ, **SAN_ENV)
    e.update(extra)
    return e


def run_sandbox(command, *options, parent, timeout=60, input=None):
    """Run `dogeboxd sandbox OPTIONS -- COMMAND...`; returns CompletedProcess."""
    argv = sandbox_cmd() + list(options) + ["--cgroup-parent", parent, "--"] + list(command)
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          env=env_with(), input=input)


def py(script):
    """A command running a Python script inside the sandbox."""
    return [PY, "-c", script]


# --- cgroups ---------------------------------------------------------------

def _cgroup_layout():
    """(unified mount, own v2 path, {controller: (mount, own path)}) as the runtime sees it."""
    unified, v1 = None, {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            fields, rfields = left.split(), right.split()
            if fields[3] != "/":
                continue
            if rfields[0] == "cgroup2" and unified is None:
                unified = fields[4]
            elif rfields[0] == "cgroup":
                for c in ("memory", "pids", "cpu"):
                    if c in rfields[2].split(",") and c not in v1:
                        v1[c] = fields[4]
    own = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            hid, ctrls, path = line.rstrip("\n").split(":", 2)
            if hid == "0":
                own[""] = path
            for c in ctrls.split(","):
                own[c] = path
    return unified, own.get("", "/"), {c: (m, own.get(c, "/")) for c, m in v1.items()}


def cgroup_dirs(parent, name=None):
    """Every directory a sandbox cgroup (or the parent) may have, all hierarchies."""
    unified, own2, v1 = _cgroup_layout()

    def build(root, own):
        base = parent[1:] if parent.startswith("/") else (own.strip("/") + "/" + parent).strip("/")
        p = os.path.join(root, base)
        return os.path.join(p, name) if name else p

    dirs = [build(unified, own2)]
    for mount, own in v1.values():
        d = build(mount, own)
        if d not in dirs:
            dirs.append(d)
    return dirs


def cleanup(parent):
    """Remove the test's cgroup parent and everything below it."""
    out = subprocess.run([HARNESS, "--cleanup", parent, "--remove-parent"], capture_output=True,
                         text=True, env=env_with(), timeout=60)
    return out


# --- processes -------------------------------------------------------------

def host_pids_with_uid(uid):
    """Host pids whose real uid is uid."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/status" % d) as f:
                for line in f:
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) == uid:
                            pids.append(int(d))
                        break
        except OSError:
            pass
    return pids


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def ns_inodes(pid):
    return {ns: os.stat("/proc/%d/ns/%s" % (pid, ns)).st_ino
            for ns in ("mnt", "pid", "net", "user", "uts", "ipc", "cgroup")}


def pids_in_namespace(kind, inode):
    found = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if os.stat("/proc/%s/ns/%s" % (d, kind)).st_ino == inode:
                    found.append(int(d))
            except OSError:
                pass
    return found


def wait_until(pred, timeout=EVENT_TIMEOUT, step=0.02):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


# --- the supervisor harness ------------------------------------------------

class Harness:
    """dbx-runtime-harness with one sandbox; events arrive as dicts."""

    def __init__(self, spec, parent):
        self.dir = tempfile.mkdtemp(prefix="dbx-rt-")
        self.spec_path = os.path.join(self.dir, "spec.json")
        spec = dict(spec, cgroup_parent=parent)
        with open(self.spec_path, "w") as f:
            json.dump(spec, f)
        self.proc = subprocess.Popen([HARNESS, self.spec_path], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=env_with())
        self.q = queue.Queue()
        self.seen = []
        self._t = threading.Thread(target=self._reader, daemon=True)
        self._t.start()
        self.spawned = self.next(lambda m: "spawned" in m or "error" in m)
        if "spawned" not in self.spawned:
            self.close()
            raise AssertionError(self.spawned)

    def _reader(self):
        for line in self.proc.stdout:
            self.q.put(json.loads(line))
        self.q.put(None)

    def next(self, pred=lambda m: True, timeout=EVENT_TIMEOUT):
        """The next message matching pred (earlier ones are kept in self.seen)."""
        deadline = time.time() + timeout
        while True:
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError("no matching message within %ss; seen: %s" % (timeout, self.seen[-20:]))
            try:
                m = self.q.get(timeout=left)
            except queue.Empty:
                continue
            if m is None:
                raise AssertionError("harness exited (%s); seen: %s; stderr: %s"
                                     % (self.proc.wait(), self.seen[-20:], self.proc.stderr.read()))
            self.seen.append(m)
            if pred(m):
                return m

    def event(self, name, timeout=EVENT_TIMEOUT, **match):
        return self.next(lambda m: m.get("event") == name
                         and all(m.get(k) == v for k, v in match.items()), timeout)

    def any_event(self, name, timeout=EVENT_TIMEOUT, **match):
        """Like event(), but an event seen earlier counts too."""
        def ok(m):
            return m.get("event") == name and all(m.get(k) == v for k, v in match.items())
        for m in self.seen:
            if ok(m):
                return m
        return self.next(ok, timeout)

    def send(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def stats(self):
        self.send("stats")
        return self.next(lambda m: "stats" in m or m.get("command") == "stats")

    def tail(self, n=1000):
        self.send("tail %d" % n)
        return self.next(lambda m: "tail" in m)["tail"]

    def respawn(self):
        self.send("spawn")
        m = self.next(lambda m: "spawned" in m or "error" in m)
        assert "spawned" in m, m
        self.spawned = m
        return m

    @property
    def pid(self):
        return self.spawned["pid"]

    @property
    def cgroup(self):
        return self.spawned["spawned"]

    def close(self):
        if self.proc.poll() is None:
            try:
                self.send("quit")
            except BrokenPipeError:
                pass
            try:
                self.proc.wait(timeout=EVENT_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdin.close()
        rc = self.proc.returncode
        err = self.proc.stderr.read()
        self.proc.stderr.close()
        self.proc.stdout.close()
        subprocess.run(["rm", "-rf", self.dir])
        return rc, err


def base_spec(pup_id, slot=1, **kw):
    spec = {
        "pup_id": pup_id,
        "uid_base": UIDRANGE_BASE + slot * UIDRANGE_SIZE,
        "stop_grace_ms": 2000,
        "services": [],
    }
    spec.update(kw)
    return spec


def free_slot():
    """A uid range no running sandbox uses (tests run one at a time, but be safe)."""
    for _ in range(64):
        slot = secrets.randbelow(4000) + 50
        base = UIDRANGE_BASE + slot * UIDRANGE_SIZE
        if not host_pids_with_uid(base + PUP_UID):
            return slot
    raise AssertionError("no free uid slot")


def loopback_listener():
    """A TCP listener on the host's 127.0.0.1; returns (socket, port)."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    return s, s.getsockname()[1]


MOUNT_RE = re.compile(r"^\S+ \S+ \S+ \S+ (\S+)")
