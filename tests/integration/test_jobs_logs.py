"""Job logs: tail pages with cursors, download, the live socket with
resumeToken (no line lost or repeated between tail and socket), the size
cap."""
import json
import re

import pytest

from jobs_util import Api, ws_connect

LINE = re.compile(r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] .*$")


@pytest.fixture
def api(daemon):
    a = Api(daemon)
    yield a
    a.close()


def download(api, jid):
    status, headers, data = api.raw("GET", "/log/job/%s/download" % jid)
    assert status == 200, data
    return headers, data.decode()


def test_tail_pages_and_download(daemon, api):
    jid = api.submit(key="l", steps=4, step_ms=5, log_lines=3)
    api.wait(jid)
    headers, text = download(api, jid)
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert headers["Content-Disposition"] == 'attachment; filename="job-%s.log"' % jid
    lines = text.splitlines()
    assert text.endswith("\n") and all(LINE.match(x) for x in lines)
    assert lines[0].endswith("] Job queued: Test job")
    assert lines[1].endswith("] Job started")
    assert any(x.endswith("] step 2 output line 3") for x in lines)
    assert any(x.endswith("] Step 4 of 4") for x in lines)
    assert re.search(r"\] Job completed successfully in \d+\.\ds$", lines[-1])

    status, page = api.get("/log/job/%s/tail" % jid)
    assert status == 200
    assert page["lines"] == lines and page["hasMoreOlder"] is False
    assert page["resumeToken"] == str(len(text.encode()))
    assert "olderCursor" not in page
    # pages of 5, walking back with olderCursor, give every line once
    got, before = [], None
    while True:
        q = "/log/job/%s/tail?limit=5" % jid + ("&before=" + before if before else "")
        status, page = api.get(q)
        assert status == 200
        assert ("resumeToken" in page) == (before is None)
        got = page["lines"] + got
        if not page["hasMoreOlder"]:
            assert "olderCursor" not in page
            break
        before = page["olderCursor"]
    assert got == lines
    # limit above the maximum is clamped, not refused
    assert api.get("/log/job/%s/tail?limit=5000" % jid)[0] == 200


@pytest.mark.parametrize("query,message", [
    ("limit=0", "greater than zero"),
    ("limit=-3", "greater than zero"),
    ("limit=abc", "Invalid log tail limit"),
    ("before=-1", "Invalid log cursor"),
    ("before=x", "Invalid log cursor"),
])
def test_tail_bad_queries(daemon, api, query, message):
    jid = api.submit(steps=0)
    api.wait(jid)
    status, j = api.get("/log/job/%s/tail?%s" % (jid, query))
    assert status == 400 and message in j["error"]["message"]


def test_live_log_after_tail_loses_nothing(daemon, api):
    jid = api.submit(key="live", steps=15, step_ms=60, log_lines=2)
    api.wait(jid, statuses=("in_progress",))
    status, page = api.get("/log/job/%s/tail?limit=1000" % jid)
    assert status == 200
    ws = ws_connect(daemon, "/ws/log/job/%s?resumeToken=%s" % (jid, page["resumeToken"]))
    live = []
    while True:
        msg = json.loads(ws.recv())
        assert isinstance(msg, str) and msg.endswith("\n")
        live.append(msg)
        if "Job completed successfully" in msg:
            break
    ws.close()
    _, text = download(api, jid)
    assert "\n".join(page["lines"]) + "\n" + "".join(live) == text


def test_live_log_resume_from_start_and_from_end(daemon, api):
    jid = api.submit(key="r", steps=2, step_ms=1)
    api.wait(jid)
    _, text = download(api, jid)
    # resumeToken=0: the whole log as backlog, line by line
    ws = ws_connect(daemon, "/ws/log/job/%s?resumeToken=0" % jid)
    got = [json.loads(ws.recv()) for _ in text.splitlines()]
    assert "".join(got) == text
    ws.close()
    # out of range: from the end, so nothing old is sent
    ws = ws_connect(daemon, "/ws/log/job/%s?resumeToken=99999999" % jid, timeout=1)
    with pytest.raises(Exception):
        ws.recv()
    ws.close()
    # not a number: refused before the upgrade
    status, j = api.get("/ws/log/job/%s?resumeToken=abc" % jid)
    assert status == 400 and "byte offset" in j["error"]["message"]


def test_log_is_capped(daemon, api):
    limits = api.get("/jobs/stats")[1]["stats"]["limits"]
    jid = api.submit(key="big", steps=1, step_ms=1, log_lines=10000)
    api.wait(jid)
    _, text = download(api, jid)
    assert len(text.encode()) <= limits["logMaxBytes"]
    assert text.count("[log truncated: a job log keeps at most %d bytes" % limits["logMaxBytes"]) == 1
    assert "Job completed successfully in " in text.splitlines()[-1]
    status, page = api.get("/log/job/%s/tail?limit=3" % jid)
    assert page["lines"][-1] == text.splitlines()[-1]


def test_deleted_job_log_is_gone(daemon, api):
    jid = api.submit(steps=0)
    api.wait(jid)
    path = "%s/logs/job-%s.log" % (daemon.data_dir, jid)
    import os
    assert os.path.exists(path)
    assert api.call("DELETE", "/jobs/" + jid)[0] == 200
    assert not os.path.exists(path)
    assert api.get("/log/job/%s/download" % jid)[0] == 400
