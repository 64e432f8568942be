"""Daemon process: flags, signals, data dir, admin socket, restart, dbx."""
import json
import os
import signal
import socket
import subprocess
import tempfile
import time

from harness import DBX, DOGEBOXD, SAN_ENV, Daemon


def run(*args, **kw):
    return subprocess.run([DOGEBOXD, *args], capture_output=True, text=True, timeout=30,
                          env=dict(os.environ, **SAN_ENV), **kw)


def test_version_and_help():
    r = run("--version")
    assert r.returncode == 0 and r.stdout.startswith("dogeboxd ")
    r = run("--help")
    assert r.returncode == 0 and "--data-dir" in r.stdout and "--listen" in r.stdout


def test_bad_flags_exit_2():
    for args, msg in [(["--bogus"], "unknown option --bogus"),
                      (["--data-dir"], "option --data-dir needs a value"),
                      (["extra"], "unexpected argument 'extra'"),
                      (["--listen", "nonsense"], "expected ADDR:PORT"),
                      (["--listen", "127.0.0.1:99999"], "port must be a number"),
                      (["--listen", "localhost:80"], "is not an IPv4 or IPv6 address")]:
        with tempfile.TemporaryDirectory() as d:
            r = run("--data-dir", d, *args) if args[0] != "--data-dir" else run(*args)
            assert r.returncode == 2, (args, r.stderr)
            assert msg in r.stderr, (args, r.stderr)
            assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_unusable_data_dir_exit_2():
    with tempfile.TemporaryDirectory() as d:
        f = os.path.join(d, "file")
        open(f, "w").close()
        r = run("--data-dir", f, "--listen", "127.0.0.1:0")
        assert r.returncode == 2
        assert "data directory" in r.stderr and f in r.stderr
        r = run("--data-dir", os.path.join(f, "sub"), "--listen", "127.0.0.1:0")
        assert r.returncode == 2 and "cannot be created" in r.stderr


def test_unusable_data_dir_for_non_root_exit_2():
    with tempfile.TemporaryDirectory() as d:
        os.chmod(d, 0o755)
        r = subprocess.run(["runuser", "-u", "nobody", "--", DOGEBOXD, "--data-dir", d,
                            "--listen", "127.0.0.1:0"], capture_output=True, text=True,
                           timeout=30, env=dict(os.environ, **SAN_ENV))
        assert r.returncode == 2 and "not writable" in r.stderr


def test_port_in_use_exit_2():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as d:
        r = run("--data-dir", d, "--listen", "127.0.0.1:%d" % port)
    s.close()
    assert r.returncode == 2
    assert "Address already in use" in r.stderr and str(port) in r.stderr


def test_second_daemon_same_data_dir_refused(daemon):
    r = run("--data-dir", daemon.data_dir, "--listen", "127.0.0.1:0")
    assert r.returncode == 2 and "admin socket" in r.stderr and "in use" in r.stderr
    assert daemon.get("/system/bootstrap").status_code == 200


def test_sigterm_and_sigint_exit_0_quickly():
    for sig in (signal.SIGTERM, signal.SIGINT):
        d = Daemon().start()
        t = time.monotonic()
        rc = d.stop(sig, timeout=5)
        assert rc == 0
        assert time.monotonic() - t < 5
        assert not os.path.exists(d.admin_socket), "admin socket left behind"
        d.cleanup()


def test_restart_keeps_database():
    d = Daemon().start()
    first = d.get("/system/bootstrap").json()["setupFacts"]["setupSessionId"]
    assert d.stop() == 0
    d.start()
    assert d.get("/system/bootstrap").json()["setupFacts"]["setupSessionId"] == first
    assert d.stop() == 0
    # and after a SIGKILL (no clean shutdown)
    d.start()
    d.kill()
    d.start()
    assert d.get("/system/bootstrap").json()["setupFacts"]["setupSessionId"] == first
    assert d.stop() == 0
    d.cleanup()


def test_layout_created(daemon):
    for sub in ["pups", "storage", "logs", "cache", "run", "dogebox.db"]:
        assert os.path.exists(os.path.join(daemon.data_dir, sub)), sub


def test_admin_socket_root_only(daemon):
    code, body = daemon.admin("GET", "/system/status")
    assert code == 200 and json.loads(body)["dataDir"] == os.path.realpath(daemon.data_dir)
    code, body = daemon.admin("GET", "/system/status", as_user="nobody")
    assert code == 403
    assert "root only" in json.loads(body)["error"]["message"]


def test_sd_notify_ready(tmp_path):
    """Under systemd (NOTIFY_SOCKET) the daemon says READY=1 and STOPPING=1."""
    sock_path = str(tmp_path / "notify.sock")
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(sock_path)
    ns.settimeout(20)
    d = Daemon(env={"NOTIFY_SOCKET": sock_path, "WATCHDOG_USEC": "400000"})
    d.start()
    msgs = []
    deadline = time.time() + 20
    while time.time() < deadline and not (any("WATCHDOG=1" in m for m in msgs)
                                          and any("READY=1" in m for m in msgs)):
        msgs.append(ns.recv(4096).decode())
    assert any("READY=1" in m for m in msgs), msgs
    assert any("WATCHDOG=1" in m for m in msgs), msgs
    assert d.stop() == 0
    ns.settimeout(5)
    rest = []
    try:
        while True:
            rest.append(ns.recv(4096).decode())
    except socket.timeout:
        pass
    assert any("STOPPING=1" in m for m in rest), rest
    d.cleanup()


def test_journal_prefix_under_systemd(tmp_path):
    d = Daemon(env={"JOURNAL_STREAM": "8:1234"})
    d.start()
    d.stop()
    assert "<6>dogeboxd" in d.read_log()
    d.cleanup()


def test_dbx_status_and_version(daemon):
    r = daemon.dbx("status")
    assert r.returncode == 0, r.stderr
    assert "dogeboxd" in r.stdout and "uptime" in r.stdout
    assert os.path.realpath(daemon.data_dir) in r.stdout and "pups      0" in r.stdout
    r = daemon.dbx("--json", "status")
    j = json.loads(r.stdout)
    assert j["pups"] == 0 and j["uptimeSeconds"] >= 0
    r = daemon.dbx("--json", "version")
    assert json.loads(r.stdout)["daemon"] == json.loads(r.stdout)["dbx"]


def test_dbx_status_over_url(daemon):
    r = subprocess.run([DBX, "--url", daemon.url, "--json", "status"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1 and "needs a session" in r.stderr, r.stderr
    r = subprocess.run([DBX, "--url", daemon.url, "--token", daemon.login(), "--json", "status"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["version"]


def test_dbx_without_daemon():
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run([DBX, "--socket", os.path.join(d, "none.sock"), "status"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 1
        assert "cannot reach dogeboxd" in r.stderr and "is the daemon running" in r.stderr
        r = subprocess.run([DBX, "--socket", os.path.join(d, "none.sock"), "version"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0 and "(not reachable)" in r.stdout
        r = subprocess.run([DBX, "frobnicate"], capture_output=True, text=True, timeout=30)
        assert r.returncode == 2 and "unknown command 'frobnicate'" in r.stderr
