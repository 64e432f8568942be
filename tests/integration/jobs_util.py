"""Helpers for the jobs integration tests: the REST API and WebSockets over
the daemon's root-only admin socket (no session needed), and synthetic jobs
from the test-build route POST /test/job."""
import http.client
import json
import socket
import time

import websocket


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=30):
        super().__init__("dogeboxd", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


class Api:
    """REST over the admin socket with a kept-alive connection."""

    def __init__(self, daemon):
        self.daemon = daemon
        self.conn = None

    def raw(self, method, path, body=None, raw_body=None):
        data = raw_body if raw_body is not None else (
            json.dumps(body).encode() if body is not None else None)
        headers = {"Content-Type": "application/json"} if data is not None else {}
        for attempt in range(2):
            if self.conn is None:
                self.conn = UnixHTTPConnection(self.daemon.admin_socket)
            try:
                self.conn.request(method, path, body=data, headers=headers)
                r = self.conn.getresponse()
                return r.status, dict(r.getheaders()), r.read()
            except (ConnectionError, http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise

    def call(self, method, path, body=None, raw_body=None):
        status, _, data = self.raw(method, path, body, raw_body)
        return status, (json.loads(data) if data.strip() else None)

    def get(self, path):
        return self.call("GET", path)

    def submit(self, key="", steps=3, step_ms=10, fail=False, log_lines=0, **extra):
        body = dict(key=key, steps=steps, stepMs=step_ms, fail=fail, logLines=log_lines, **extra)
        status, j = self.call("POST", "/test/job", body)
        assert status == 200, (status, j)
        return j["id"]

    def job(self, job_id):
        status, j = self.get("/jobs/" + job_id)
        assert status == 200, (status, j)
        return j["job"]

    def wait(self, job_id, statuses=("completed", "failed", "cancelled", "orphaned"),
             timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            rec = self.job(job_id)
            if rec["status"] in statuses:
                return rec
            time.sleep(0.02)
        raise AssertionError("job %s did not reach %s: %s" % (job_id, statuses, self.job(job_id)))

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None


def ws_connect(daemon, path, timeout=30):
    """A WebSocket over the admin socket (root: no token)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(daemon.admin_socket)
    return websocket.create_connection("ws://dogeboxd" + path, socket=s, timeout=timeout)


def ws_until(ws, pred, timeout=60):
    """Read JSON messages until pred(msg) is true; return every message read."""
    seen = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        msg = json.loads(ws.recv())
        seen.append(msg)
        if pred(msg):
            return seen
    raise AssertionError("condition not met; got %d messages" % len(seen))


FINAL = ("job:completed", "job:failed", "job:cancelled")


def job_events(msgs, job_id):
    """The job:* and progress events of one job, in order."""
    out = []
    for m in msgs:
        u = m.get("update")
        if m["type"].startswith("job") and isinstance(u, dict) and u.get("id") == job_id:
            out.append(m)
        elif m["type"] == "progress" and isinstance(u, dict) and u.get("actionID") == job_id:
            out.append(m)
    return out
