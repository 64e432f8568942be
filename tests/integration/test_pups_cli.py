"""dbx's pup commands against the real daemon, as an owner uses them."""
import json
import subprocess
import time

import pytest

from harness import DBX, SAN_ENV
from pups_helpers import example_box, stats, wait_for


@pytest.fixture
def box():
    with example_box() as (d, src, _):
        yield d, src


def test_install_ls_show_config_logs_purge(box):
    d, src = box
    r = d.dbx("install", "%s/Hello Web@0.1.0" % src)
    assert r.returncode == 0, r.stderr
    assert "Install Hello Web" in r.stdout and "completed" in r.stdout
    assert "[100%]" in r.stderr or "100" in r.stderr  # progress reached the end
    r = d.dbx("ls")
    assert "Hello Web" in r.stdout and "running" in r.stdout or "starting" in r.stdout
    r = d.dbx("--json", "ls")
    pid, = json.loads(r.stdout).keys()
    r = d.dbx("show", "Hello Web")
    assert r.returncode == 0 and pid in r.stdout and "GREETING=" in r.stdout
    # an invalid value: exit 1, every field error printed, nothing changed
    r = d.dbx("config", "Hello Web", "GREETING=", "NOPE=1")
    assert r.returncode == 1
    assert "GREETING" in r.stderr and "NOPE" in r.stderr
    r = d.dbx("config", "Hello Web", "GREETING=wow")
    assert r.returncode == 0, r.stderr
    assert "GREETING=wow" in d.dbx("config", "Hello Web").stdout
    wait_for(lambda: stats(d, pid)["status"] == "running", what="running")
    r = d.dbx("logs", "-n", "5", pid)
    assert r.returncode == 0 and "pup-init" in r.stdout
    assert d.dbx("stop", "Hello Web").returncode == 0
    assert stats(d, pid)["status"] == "stopped"
    assert d.dbx("start", "Hello Web").returncode == 0
    assert d.dbx("uninstall", "Hello Web").returncode == 0
    assert d.dbx("purge", pid).returncode == 0
    assert "no pups installed" in d.dbx("ls").stdout


def test_logs_follow_streams_new_lines(box):
    d, src = box
    assert d.dbx("install", "%s/Crasher" % src).returncode == 0
    p = subprocess.Popen([DBX, "--socket", d.admin_socket, "logs", "-f", "-n", "1", "Crasher"],
                         stdout=subprocess.PIPE, text=True, env=dict(**SAN_ENV))
    seen = []
    deadline = time.time() + 20
    while time.time() < deadline and sum("crasher: starting" in l for l in seen) < 2:
        seen.append(p.stdout.readline())
    p.kill()
    p.wait()
    assert sum("crasher: starting" in l for l in seen) >= 2, seen


def test_errors_are_clear(box):
    d, src = box
    r = d.dbx("install", "nonsense")
    assert r.returncode == 2 and "SOURCE/NAME" in r.stderr
    r = d.dbx("install", "%s/Nope" % src)
    assert r.returncode == 1 and "Nope" in r.stdout + r.stderr
    r = d.dbx("stop", "nosuchpup")
    assert r.returncode == 1 and "no pup 'nosuchpup'" in r.stderr
