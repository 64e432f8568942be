"""dbx jobs: the table, JSON, show, wait (progress lines and the final
line), log (-f), cancel, clear, id prefixes and bad ids."""
import json
import os
import re
import subprocess

import pytest

from harness import DBX, SAN_ENV
from jobs_util import Api


@pytest.fixture
def api(daemon):
    a = Api(daemon)
    yield a
    a.close()


def test_list_show_and_json(daemon, api):
    r = daemon.dbx("jobs")
    assert r.returncode == 0 and r.stdout == "no jobs\n"
    jid = api.submit(key="", steps=2, step_ms=1, displayName="Make tea")
    api.wait(jid)
    r = daemon.dbx("jobs")
    assert r.returncode == 0, r.stderr
    head, row = r.stdout.splitlines()
    assert head.split() == ["ID", "STATUS", "PCT", "ACTION", "PUP", "STARTED", "SUMMARY"]
    assert row.startswith(jid[:8] + "  completed    100%  test")
    assert row.endswith("Job completed successfully")
    r = daemon.dbx("--json", "jobs")
    assert [j["id"] for j in json.loads(r.stdout)] == [jid]
    r = daemon.dbx("jobs", "--active")
    assert r.stdout == "no jobs\n"
    r = daemon.dbx("jobs", "--recent=1")
    assert jid[:8] in r.stdout
    r = daemon.dbx("jobs", "show", jid[:6])
    assert r.returncode == 0, r.stderr
    assert "id         %s" % jid in r.stdout
    assert "job        Make tea (test)" in r.stdout
    assert "status     completed" in r.stdout
    assert "Job completed successfully in" in r.stdout  # the last log lines
    r = daemon.dbx("--json", "jobs", "show", jid)
    assert json.loads(r.stdout)["displayName"] == "Make tea"


def test_wait_prints_progress_and_final_line(daemon, api):
    jid = api.submit(key="w", steps=3, step_ms=50)
    r = daemon.dbx("jobs", "wait", jid)
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(r"Test job: completed in \d+\.\ds\n", r.stdout)
    # not a terminal: plain progress lines, no escape codes
    assert "\033" not in r.stderr and "\r" not in r.stderr
    # (steps already done before dbx connected are not repeated; the end is always shown)
    fail = api.submit(key="w", steps=1, step_ms=20, fail=True)
    r = daemon.dbx("jobs", "wait", fail)
    assert r.returncode == 1
    assert r.stdout == ("Test job: failed: synthetic failure after the last step "
                        "(the log: dbx jobs log %s)\n" % fail)
    r = daemon.dbx("--json", "jobs", "wait", fail)
    assert r.returncode == 1 and json.loads(r.stdout)["status"] == "failed"


def test_wait_shows_live_steps(daemon, api):
    jid = api.submit(key="slow", steps=4, step_ms=300)
    r = daemon.dbx("jobs", "wait", jid)
    assert r.returncode == 0, r.stderr
    lines = r.stderr.splitlines()
    assert all(re.fullmatch(r"\[ *\d+%\] .*", x) for x in lines), lines
    assert any("step-4: Step 4 of 4" in x for x in lines)


def test_log_and_follow(daemon, api):
    jid = api.submit(key="lg", steps=2, step_ms=1, log_lines=2)
    api.wait(jid)
    r = daemon.dbx("jobs", "log", jid)
    assert r.returncode == 0
    _, _, data = api.raw("GET", "/log/job/%s/download" % jid)
    assert r.stdout == data.decode()
    live = api.submit(key="lg2", steps=6, step_ms=100, log_lines=1)
    api.wait(live, statuses=("in_progress",))
    r = daemon.dbx("jobs", "log", "-f", live)
    assert r.returncode == 0, r.stderr
    _, _, data = api.raw("GET", "/log/job/%s/download" % live)
    assert r.stdout == data.decode()


def test_cancel_clear_and_bad_ids(daemon, api):
    a = api.submit(key="c", steps=1000, step_ms=200)
    b = api.submit(key="c", steps=1)
    api.wait(a, statuses=("in_progress",))
    r = daemon.dbx("jobs", "cancel", b)
    assert r.returncode == 0 and "cancelled: it had not started" in r.stdout
    r = daemon.dbx("jobs", "cancel", a)
    assert r.returncode == 0 and "asked it to stop" in r.stdout
    r = daemon.dbx("jobs", "wait", a)
    assert r.returncode == 1 and r.stdout == "Test job: cancelled\n"
    r = daemon.dbx("jobs", "clear", "--older-than", "1")
    assert r.returncode == 0 and r.stdout == "0 finished job record(s) deleted\n"
    r = daemon.dbx("jobs", "clear")
    assert r.returncode == 0 and r.stdout == "2 finished job record(s) deleted\n"
    r = daemon.dbx("jobs", "show", "zzzz")
    assert r.returncode == 1 and "is not a job id" in r.stderr
    r = daemon.dbx("jobs", "show", "ab")
    assert r.returncode == 1 and "too short" in r.stderr
    r = daemon.dbx("jobs", "show", "abcdef")
    assert r.returncode == 1 and "no job id starts with 'abcdef'" in r.stderr
    r = daemon.dbx("jobs", "show", "0123456789abcdef0123456789abcdef")
    assert r.returncode == 1 and "Job not found" in r.stderr
    r = daemon.dbx("jobs", "frobnicate")
    assert r.returncode == 2 and "unknown subcommand" in r.stderr
    r = daemon.dbx("jobs", "clear", "--older-than", "x")
    assert r.returncode == 2 and "number of days" in r.stderr


def test_follow_over_tcp_with_a_session(daemon, api, tmp_path):
    """dbx's WebSocket client over TCP: the session token goes in ?token=."""
    token = daemon.login()
    jid = api.submit(key="tcp", steps=3, step_ms=100)
    env = dict(os.environ, **SAN_ENV, HOME=str(tmp_path))  # no stored dbx login
    r = subprocess.run([DBX, "--url", daemon.url, "--token", token, "jobs", "wait", jid],
                       capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "Test job: completed in %s\n" % r.stdout.split(" in ")[1].strip()
    # without a session the socket is refused with the API's message
    other = api.submit(key="tcp", steps=1)
    r = subprocess.run([DBX, "--url", daemon.url, "jobs", "wait", other],
                       capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 2
    assert r.stderr.startswith("dbx: ") and r.stdout == ""
