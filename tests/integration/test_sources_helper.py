"""The fetch helper (dogeboxd-fetch): every git and HTTP operation runs in
a child process that is unprivileged, has no capabilities, no_new_privs,
its own mount and IPC namespaces, and sees only the source's cache (and a
payload folder) writable. Checked from /proc while it serves a slow HTTP
source; then its protocol, its refusals and how the daemon reports a helper
that fails."""
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time

from harness import BUILD, Daemon
from sources_helpers import Server, add, make_index, ok, pup_archive

HELPER = os.path.join(BUILD, "dogeboxd-fetch")
FETCH_UID = 0x7ffff


def helper_children(pid):
    """pids of the dogeboxd-fetch processes whose parent is pid."""
    out = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        if comm == "dogeboxd-fetch" and ppid == pid:
            out.append(int(p))
    return out


def status_fields(pid):
    fields = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.strip()
    return fields


def test_helper_is_confined_while_it_fetches():
    srv = Server()
    # a long HTTP timeout: the index answers after a delay, the helper waits
    d = Daemon(env={"DBX_SOURCES_HTTP_TIMEOUT_MS": "60000"}).start()
    try:
        archive = pup_archive("Hello", "1.0.0")
        srv.set("/a/hello.tar.gz", body=archive)
        srv.set("/index.json", body=make_index(
            [("Hello", "1.0.0", archive, "a/hello.tar.gz", None)]), delay=3)
        result = {}

        def run():
            result["r"] = add(d, srv.url + "/index.json")

        t = threading.Thread(target=run)
        t.start()
        deadline = time.monotonic() + 30
        pids = []
        while not pids and time.monotonic() < deadline:
            pids = helper_children(d.proc.pid)
        assert pids, "no dogeboxd-fetch child appeared"
        pid = pids[0]
        st = status_fields(pid)
        mounts = open("/proc/%d/mountinfo" % pid).read().splitlines()
        tmp = sorted(os.listdir("/proc/%d/root/tmp" % pid))
        ns = {n: (os.readlink("/proc/%d/ns/%s" % (pid, n)),
                  os.readlink("/proc/%d/ns/%s" % (d.proc.pid, n))) for n in ("mnt", "ipc")}
        t.join(60)
        assert result["r"][0] == 200, result

        assert st["Uid"].split() == [str(FETCH_UID)] * 4, st["Uid"]
        assert st["Gid"].split() == [str(FETCH_UID)] * 4, st["Gid"]
        assert st["Groups"] == "", st["Groups"]
        for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            assert int(st[cap], 16) == 0, (cap, st[cap])
        assert st["NoNewPrivs"] == "1"
        for n, (helper_ns, daemon_ns) in ns.items():
            assert helper_ns != daemon_ns, n
        # the root is read-only; /tmp is a private tmpfs holding only the cache
        root = [m for m in mounts if m.split()[4] == "/"][0]
        assert "ro" in root.split()[5].split(","), root
        assert tmp == ["cache"], tmp
        cache = [m for m in mounts if m.split()[4] == "/tmp/cache"][0]
        assert "rw" in cache.split()[5].split(","), cache

        # the cache belongs to the helper; a fetched payload to root
        caches = os.path.join(d.data_dir, "cache", "sources")
        for name in os.listdir(caches):
            assert os.stat(os.path.join(caches, name)).st_uid == FETCH_UID
        scratch = tempfile.mkdtemp(prefix="dbx-helper-")
        try:
            dest = os.path.join(scratch, "hello")
            ok(d, "POST", "/test/sources/fetch",
               {"sourceId": "test.http", "name": "Hello", "version": "1.0.0", "dest": dest})
            for top, dirs, files in os.walk(dest):
                for n in [top] + [os.path.join(top, f) for f in files]:
                    s = os.lstat(n)
                    assert (s.st_uid, s.st_gid) == (0, 0), n
            assert sorted(os.listdir(dest)) == ["manifest.json", "run.sh"]
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        assert helper_children(d.proc.pid) == []  # every helper was reaped
    finally:
        assert d.stop() == 0
        d.cleanup()
        srv.close()


def as_nobody():
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)


def run_helper(request, user=as_nobody):
    text = request if isinstance(request, (bytes, str)) else json.dumps(request)
    return subprocess.run([HELPER], input=text if isinstance(text, bytes) else text.encode(),
                          capture_output=True, preexec_fn=user, timeout=60)


def test_helper_protocol_and_refusals():
    r = subprocess.run([HELPER], input=b"{}", capture_output=True, timeout=60)
    assert r.returncode == 2
    assert b"refusing to run as root" in r.stderr
    r = run_helper(b"not json")
    assert r.returncode == 2 and b"cannot read the request: not a JSON object" in r.stderr
    r = run_helper(b"{" + b" " * 70000 + b"}")
    assert r.returncode == 2 and b"larger than 64 KiB" in r.stderr
    r = run_helper({"op": "delete", "kind": "http"})
    assert r.returncode == 2 and b"needs op" in r.stderr
    r = run_helper({"op": "load", "kind": "disk"})
    assert r.returncode == 2 and b"needs op" in r.stderr
    r = run_helper({"op": "load", "kind": "http"})
    assert r.returncode == 2 and b"a load needs location" in r.stderr
    r = run_helper({"op": "fetch", "kind": "http", "cacheDir": "/", "targetDir": "/"})
    assert r.returncode == 2 and b"the fetch request is incomplete" in r.stderr

    # one real exchange: a load whose index is missing
    srv = Server()
    cache = tempfile.mkdtemp(prefix="dbx-helper-cache-")
    os.chown(cache, 65534, 65534)
    try:
        url = srv.url + "/index.json"
        r = run_helper({"op": "load", "kind": "http", "location": url, "cacheDir": cache,
                        "adding": True, "connectTimeoutMs": 5000, "timeoutMs": 5000})
        assert r.returncode == 0, r.stderr
        header, _, body = r.stdout.partition(b"\n")
        assert json.loads(header) == {"r": -2,
                                      "message": "%s answered HTTP 404 (not found)" % url}
        assert body == b""
        # and a good one: the header, then the catalog
        archive = pup_archive("Hello", "1.0.0")
        srv.set("/index.json", body=make_index([("Hello", "1.0.0", archive, "h.tgz", None)]))
        r = run_helper({"op": "load", "kind": "http", "location": url, "cacheDir": cache,
                        "adding": True, "connectTimeoutMs": 5000, "timeoutMs": 5000})
        assert r.returncode == 0, r.stderr
        header, _, body = r.stdout.partition(b"\n")
        h = json.loads(header)
        assert h["r"] == 0 and h["location"] == url and h["pinnedByIndex"] is False, h
        cat = json.loads(body)
        assert [v["version"] for v in cat["versions"]] == ["1.0.0"], cat
        assert sorted(os.listdir(cache)) == ["http.json", "index.json"]
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        srv.close()


def test_a_failing_helper_is_reported():
    srv = Server()
    d = Daemon(env={"DBX_FETCH": "/bin/false"}).start()
    try:
        srv.set("/index.json", body=make_index([]))
        url = srv.url + "/index.json"
        code, j = add(d, url)
        assert code == 400, j
        assert j["error"]["message"] == (
            "%s cannot be added: loading %s failed: the fetch helper exited with status 1"
            % (url, url))
    finally:
        assert d.stop() == 0
        d.cleanup()
        srv.close()


def test_daemon_refuses_to_start_without_its_helper():
    d = Daemon(env={"DBX_FETCH": "/nonexistent/dogeboxd-fetch"})
    try:
        r = subprocess.run([os.path.join(BUILD, "dogeboxd"), "--data-dir", d.data_dir,
                            "--listen", "127.0.0.1:0"], env=d.env, capture_output=True,
                           timeout=60)
        assert r.returncode == 2
        assert b"cannot use $DBX_FETCH /nonexistent/dogeboxd-fetch" in r.stderr, r.stderr
    finally:
        d.cleanup()


def test_stop_during_a_hung_archive_download():
    """A payload fetch whose server never sends the archive does not hold
    the daemon's shutdown: its helper is killed, nothing is left behind."""
    srv = Server()
    d = Daemon(env={"DBX_SOURCES_HTTP_TIMEOUT_MS": "600000"}).start()
    scratch = tempfile.mkdtemp(prefix="dbx-helper-")
    try:
        archive = pup_archive("Hello", "1.0.0")
        srv.set("/index.json", body=make_index([("Hello", "1.0.0", archive, "h.tgz", None)]))
        assert add(d, srv.url + "/index.json")[0] == 200
        srv.set("/h.tgz", body=archive, delay=600)
        dest = os.path.join(scratch, "hello")
        result = {}

        def fetch():
            result["r"] = d.admin("POST", "/test/sources/fetch",
                                  {"sourceId": "test.http", "name": "Hello", "version": "1.0.0",
                                   "dest": dest})

        t = threading.Thread(target=fetch)
        t.start()
        deadline = time.monotonic() + 30
        while not srv.seen("/h.tgz") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert srv.seen("/h.tgz")
        pids = helper_children(d.proc.pid)
        assert len(pids) == 1, pids
        assert d.stop() == 0  # the harness gives it 10 s; the download would take 600
        t.join(30)
        assert not os.path.exists("/proc/%d" % pids[0]) or \
            open("/proc/%d/stat" % pids[0]).read().split()[2] == "Z"
        assert os.listdir(scratch) == []  # no payload, no temp folder
    finally:
        if d.proc.poll() is None:
            d.kill()
        d.cleanup()
        shutil.rmtree(scratch, ignore_errors=True)
        srv.close()


def test_local_repository_errors_name_the_location():
    """A local folder is shown to the helper at a mount point of its own;
    libgit2's messages still name the folder the owner gave."""
    d = Daemon().start()
    folder = tempfile.mkdtemp(prefix="dbx-not-a-repo-")
    try:
        code, j = add(d, folder, type="git")
        assert code == 400, j
        msg = j["error"]["message"]
        assert msg.startswith("%s cannot be added: git fetch from %s failed: " % (folder, folder)), msg
        assert "/tmp/source" not in msg, msg
    finally:
        assert d.stop() == 0
        d.cleanup()
        shutil.rmtree(folder, ignore_errors=True)


def test_a_silent_helper_is_reported_and_the_catalog_kept():
    """A helper that exits 0 without answering: the load fails with a clear
    message and the last good catalog stays; a payload fetch fails too."""
    srv = Server()
    d = Daemon().start()
    scratch = tempfile.mkdtemp(prefix="dbx-helper-")
    try:
        archive = pup_archive("Hello", "1.0.0")
        srv.set("/h.tgz", body=archive)
        srv.set("/index.json", body=make_index([("Hello", "1.0.0", archive, "h.tgz", None)]))
        url = srv.url + "/index.json"
        assert add(d, url)[0] == 200
        assert d.stop() == 0
        d.env["DBX_FETCH"] = "/bin/true"
        d.start()
        e = ok(d, "GET", "/sources/store?refresh=true")["test.http"]
        assert e["error"] == "loading %s failed: the fetch helper gave no answer" % url, e
        assert list(e["pups"]) == ["Hello"]
        code, body = d.admin("POST", "/test/sources/fetch",
                             {"sourceId": "test.http", "name": "Hello", "version": "1.0.0",
                              "dest": os.path.join(scratch, "hello")})
        assert code >= 400
        assert json.loads(body)["error"]["message"] == \
            "fetching Hello 1.0.0 failed: the fetch helper gave no answer", body
        assert os.listdir(scratch) == []
    finally:
        assert d.stop() == 0
        d.cleanup()
        shutil.rmtree(scratch, ignore_errors=True)
        srv.close()
