"""Helpers for the sources tests: a daemon with short HTTP timeouts, API
calls over the admin socket, a local HTTP server whose answers each test
scripts, Ed25519 signing through libsodium (ctypes: no PyPI), git
repositories built from the fixtures, and tar archives."""
import ctypes
import ctypes.util
import hashlib
import http.server
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import threading
import time

from harness import REPO, Daemon

FIXTURES = os.path.join(REPO, "tests", "fixtures", "upstream-pups")
DOGEORG = os.path.join(FIXTURES, "dogeorg.pups")
TIMEOUT_MS = 1500  # DBX_SOURCES_HTTP_TIMEOUT_MS for the daemon under test


def start_daemon(data_dir=None):
    return Daemon(data_dir=data_dir,
                  env={"DBX_SOURCES_HTTP_TIMEOUT_MS": str(TIMEOUT_MS)}).start()


def call(d, method, path, body=None):
    code, text = d.admin(method, path, body)
    try:
        return code, json.loads(text) if text else None
    except ValueError:
        return code, text


def ok(d, method, path, body=None):
    code, j = call(d, method, path, body)
    assert code == 200, (method, path, code, j)
    return j


def add(d, location, **kw):
    body = {"location": location}
    body.update(kw)
    return call(d, "PUT", "/source", body)


def store(d, refresh=False, source=None):
    q = []
    if refresh:
        q.append("refresh=true")
    if source:
        q.append("source=" + source)
    return ok(d, "GET", "/sources/store" + ("?" + "&".join(q) if q else ""))


def sources(d):
    return {s["id"]: s for s in ok(d, "GET", "/sources")["sources"]}


def error_of(d, method, path, body=None):
    code, j = call(d, method, path, body)
    assert code >= 400, (code, j)
    return code, j["error"]["message"]


def versions(entry, pup):
    return sorted(entry["pups"][pup]["versions"].keys())


# ---- a fake installed pup (the pups table belongs to the lifecycle) ----

def insert_fake_pup(d, pup_id, name, source_id):
    """A row in the pups table naming source_id, whatever its other columns
    are today: every NOT NULL column gets a neutral value of its type."""
    db = sqlite3.connect(os.path.join(d.data_dir, "dogebox.db"), timeout=10)
    cols = db.execute("PRAGMA table_info(pups)").fetchall()
    values = {}
    for _, col, typ, notnull, _, _ in cols:
        if col == "id":
            values[col] = pup_id
        elif col == "name":
            values[col] = name
        elif col == "source_id":
            values[col] = source_id
        elif notnull:
            values[col] = (abs(hash(pup_id)) % 1000000 + 5000000) if "INT" in typ.upper() else ""
    db.execute("INSERT INTO pups(%s) VALUES(%s)" % (",".join(values), ",".join("?" * len(values))),
               list(values.values()))
    db.commit()
    db.close()


def delete_fake_pup(d, pup_id):
    db = sqlite3.connect(os.path.join(d.data_dir, "dogebox.db"), timeout=10)
    db.execute("DELETE FROM pups WHERE id = ?", (pup_id,))
    db.commit()
    db.close()


# ---- Ed25519 through libsodium ----

_sodium = None


def sodium():
    global _sodium
    if _sodium is None:
        name = ctypes.util.find_library("sodium") or "libsodium.so.23"
        _sodium = ctypes.CDLL(name)
        assert _sodium.sodium_init() >= 0
    return _sodium


def keypair():
    pk = ctypes.create_string_buffer(32)
    sk = ctypes.create_string_buffer(64)
    assert sodium().crypto_sign_keypair(pk, sk) == 0
    return pk.raw, sk.raw


def sign(sk, data):
    sig = ctypes.create_string_buffer(64)
    assert sodium().crypto_sign_detached(sig, None, data, ctypes.c_ulonglong(len(data)), sk) == 0
    return sig.raw.hex()


# ---- pups, indexes and archives ----

def native_manifest(name, version, port=8080):
    return {
        "manifestVersion": 1,
        "meta": {"name": name, "version": version, "shortDescription": name + " for tests"},
        "container": {"build": {"type": "native"},
                      "services": [{"name": "web", "command": {"exec": "run.sh"}}],
                      "exposes": [{"name": "web", "type": "http", "port": port}]},
    }


def tar_gz(files, extra=None):
    """files: {path: bytes}; extra(tarfile) may add hostile entries."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = 0o755 if path.endswith(".sh") else 0o644
            t.addfile(info, io.BytesIO(data))
        if extra:
            extra(t)
    return buf.getvalue()


def pup_archive(name, version, port=8080):
    return tar_gz({"manifest.json": json.dumps(native_manifest(name, version, port)).encode(),
                   "run.sh": b"#!/bin/sh\nexec sleep infinity\n"})


def make_index(pups, source_id="test.http", public_key=None):
    """pups: [(name, version, archive_bytes, url, manifest or None)]"""
    by_name = {}
    for name, version, archive, url, manifest in pups:
        by_name.setdefault(name, []).append({
            "version": version,
            "manifest": manifest or native_manifest(name, version),
            "logo": "data:image/png;base64,iVBORw0KGgo=",
            "archive": {"url": url, "sha256": hashlib.sha256(archive).hexdigest(),
                        "size": len(archive)},
        })
    index = {"dogeboxIndex": 1, "id": source_id, "name": "HTTP test pups",
             "description": "served by the test", "pups": [
                 {"name": n, "versions": v} for n, v in by_name.items()]}
    if public_key:
        index["publicKey"] = public_key.hex()
    return json.dumps(index, indent=1).encode()


# ---- a scriptable HTTP server on 127.0.0.1 ----

class Server:
    """routes: path -> dict(status=200, body=b"", headers={}, delay=0,
    length=None (a Content-Length that may lie), chunked=False,
    etag=None (answer 304 when If-None-Match matches))."""

    def __init__(self):
        self.routes = {}
        self.requests = []
        self.lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                with server.lock:
                    server.requests.append((self.path, dict(self.headers)))
                    r = server.routes.get(self.path.split("?")[0])
                if r is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "9")
                    self.end_headers()
                    self.wfile.write(b"not found")
                    return
                if r.get("delay"):
                    time.sleep(r["delay"])
                body = r.get("body", b"")
                etag = r.get("etag")
                if etag and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    return
                self.send_response(r.get("status", 200))
                if etag:
                    self.send_header("ETag", etag)
                for k, v in r.get("headers", {}).items():
                    self.send_header(k, v)
                if r.get("chunked"):
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    step = 1 << 20
                    try:
                        for i in range(0, len(body), step):
                            part = body[i:i + step]
                            self.wfile.write(b"%x\r\n" % len(part) + part + b"\r\n")
                        self.wfile.write(b"0\r\n\r\n")
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    return
                self.send_header("Content-Length", str(r.get("length", len(body))))
                self.end_headers()
                try:
                    self.wfile.write(body)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass
                if r.get("length", len(body)) != len(body):
                    self.close_connection = True

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.httpd.server_address[1]

    def set(self, path, **kw):
        with self.lock:
            self.routes[path] = kw

    def remove(self, path):
        with self.lock:
            self.routes.pop(path, None)

    def seen(self, path):
        with self.lock:
            return [h for p, h in self.requests if p.split("?")[0] == path]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# ---- git repositories built from the fixtures ----

def git(repo, *args):
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.org",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.org")
    subprocess.run(["git", "-C", repo] + list(args), check=True, capture_output=True, env=env)


def init_repo():
    repo = tempfile.mkdtemp(prefix="dbx-git-src-") + "/pups.git"
    os.makedirs(repo)
    git(repo, "init", "-q", "-b", "main")
    return repo


def write_dogebox(repo, locations, source_id="dogeorg.pups", name="Dogecoin Foundation"):
    with open(os.path.join(repo, "dogebox.json"), "w") as f:
        json.dump({"id": source_id, "name": name, "description": "pups from git",
                   "pups": [{"location": l} for l in locations]}, f, indent=1)


def copy_fixture(repo, pup):
    dst = os.path.join(repo, pup)
    if os.path.exists(dst):
        shutil.rmtree(dst)
    shutil.copytree(os.path.join(DOGEORG, pup), dst)


def edit_manifest(repo, pup, fn):
    p = os.path.join(repo, pup, "manifest.json")
    with open(p) as f:
        m = json.load(f)
    fn(m)
    with open(p, "w") as f:
        json.dump(m, f, indent=1)


def commit_and_tag(repo, *tags):
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", "release " + " ".join(tags))
    for t in tags:
        git(repo, "tag", t)
