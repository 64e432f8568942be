"""Jobs over the API: records, ordering per key, parallelism and its limit,
the queue limit, progress events, failure, cancellation, clearing, bad
input. Synthetic jobs come from the test-build route POST /test/job."""
import json
import time

import pytest

from jobs_util import FINAL, Api, job_events, ws_connect, ws_until

RECORD_KEYS = {"id", "started", "finished", "displayName", "action", "progress", "status",
               "summaryMessage", "errorMessage", "pupID"}


@pytest.fixture
def api(daemon):
    a = Api(daemon)
    yield a
    a.close()


def test_jobs_socket_bootstrap_is_an_empty_array(daemon, api):
    ws = ws_connect(daemon, "/ws/jobs")
    msg = json.loads(ws.recv())
    assert set(msg) == {"id", "seq", "ts", "error", "type", "update"}
    assert msg["type"] == "bootstrap" and msg["id"] == "internal"
    assert msg["update"] == {"jobs": []}  # never null
    ws.close()
    status, j = api.get("/jobs")
    assert status == 200 and j == {"success": True, "jobs": []}


def test_job_lifecycle_and_events(daemon, api):
    ws = ws_connect(daemon, "/ws/jobs")
    ws.recv()  # bootstrap
    jid = api.submit(key="", steps=3, step_ms=20, displayName="Do a thing", action="test-act")
    assert len(jid) == 32 and all(c in "0123456789abcdef" for c in jid)
    msgs = ws_until(ws, lambda m: m["type"] in FINAL and m["update"]["id"] == jid)
    ev = job_events(msgs, jid)
    types = [m["type"] for m in ev]
    assert types[0] == "job:created"
    assert ev[0]["update"]["status"] == "queued" and ev[0]["id"] == "internal"
    assert ev[0]["update"]["summaryMessage"] == "Job queued"
    assert types[-1] == "job:completed"
    assert types.count("job:completed") == 1 and "job:failed" not in types
    assert "job_completed" not in [m["type"] for m in msgs]  # no legacy duplicate
    assert any(m["type"] == "job:updated" and m["update"]["status"] == "in_progress" for m in ev)
    progress = [m for m in ev if m["type"] == "progress"]
    # three steps plus the final line
    assert [p["update"]["msg"] for p in progress[:3]] == ["Step 1 of 3", "Step 2 of 3",
                                                          "Step 3 of 3"]
    assert all(p["id"] == jid for p in progress)
    assert set(progress[0]["update"]) == {"actionID", "pupID", "progress", "step", "msg",
                                          "error", "step_taken"}
    pcts = [p["update"]["progress"] for p in progress]
    assert pcts == sorted(pcts) and pcts[-1] == 100
    assert progress[-1]["update"]["msg"].startswith("Job completed successfully in ")
    seqs = [m["seq"] for m in msgs[1:]]
    assert seqs == sorted(seqs)
    ws.close()

    rec = api.job(jid)
    assert RECORD_KEYS <= set(rec)
    assert rec["status"] == "completed" and rec["progress"] == 100
    assert rec["action"] == "test-act" and rec["displayName"] == "Do a thing"
    assert rec["finished"] is not None and rec["runStarted"] is not None
    assert rec["summaryMessage"] == "Job completed successfully" and rec["errorMessage"] == ""
    assert rec["step"] == "step-3"
    assert [j["id"] for j in api.get("/jobs")[1]["jobs"]] == [jid]
    assert api.get("/jobs/active")[1]["jobs"] == []
    assert [j["id"] for j in api.get("/jobs/recent")[1]["jobs"]] == [jid]
    stats = api.get("/jobs/stats")[1]["stats"]
    assert stats["total"] == 1 and stats["completed"] == 1 and stats["queued"] == 0


def test_same_key_in_order_other_keys_in_parallel(daemon, api):
    a1 = api.submit(key="pup-a", steps=30, step_ms=100)
    a2 = api.submit(key="pup-a", steps=1, step_ms=10)
    b1 = api.submit(key="pup-b", steps=1, step_ms=10)
    # b1 runs and finishes while a1 is still running; a2 waits for a1
    rec_b = api.wait(b1)
    assert rec_b["status"] == "completed"
    assert api.job(a1)["status"] == "in_progress"
    assert api.job(a2)["status"] == "queued"
    active = [j["id"] for j in api.get("/jobs/active")[1]["jobs"]]
    assert active == [a1, a2]  # oldest first
    # finish a1 early by cancelling it; a2 then runs
    assert api.call("DELETE", "/jobs/" + a1)[0] == 202
    assert api.wait(a1)["status"] == "cancelled"
    rec2 = api.wait(a2)
    assert rec2["status"] == "completed"
    assert rec2["runStarted"] >= api.job(a1)["finished"]  # RFC 3339 UTC sorts as text
    # GET /jobs: newest submission first
    assert [j["id"] for j in api.get("/jobs")[1]["jobs"]] == [b1, a2, a1]


def test_running_limit(daemon, api):
    limits = api.get("/jobs/stats")[1]["stats"]["limits"]
    n = limits["runningMax"]
    ids = [api.submit(key="k%d" % i, steps=100, step_ms=200) for i in range(n + 2)]
    deadline = time.time() + 30
    while time.time() < deadline:
        active = api.get("/jobs/active")[1]["jobs"]
        if sum(j["status"] == "in_progress" for j in active) == n:
            break
        time.sleep(0.05)
    by_id = {j["id"]: j["status"] for j in api.get("/jobs/active")[1]["jobs"]}
    assert [by_id[i] for i in ids] == ["in_progress"] * n + ["queued"] * 2
    stats = api.get("/jobs/stats")[1]["stats"]
    assert stats["running"] == n and stats["inProgress"] == n and stats["queued"] == 2
    # a freed slot goes to the oldest waiting job
    assert api.call("DELETE", "/jobs/" + ids[0])[0] == 202
    api.wait(ids[0])
    assert api.wait(ids[n], statuses=("in_progress",))["status"] == "in_progress"
    assert api.job(ids[n + 1])["status"] == "queued"
    for i in ids[1:]:
        api.call("DELETE", "/jobs/" + i)
    for i in ids:
        assert api.wait(i)["status"] == "cancelled"


def test_queue_limit_is_429(daemon, api):
    limits = api.get("/jobs/stats")[1]["stats"]["limits"]
    first = api.submit(key="q", steps=1000, step_ms=1000)
    api.wait(first, statuses=("in_progress",))
    for _ in range(limits["queuedMax"]):
        api.submit(key="q", steps=1, step_ms=1)
    status, j = api.call("POST", "/test/job", {"key": "q"})
    assert status == 429
    assert "at most %d may be queued" % limits["queuedMax"] in j["error"]["message"]
    # cancelling a queued job makes room again
    queued = api.get("/jobs/active")[1]["jobs"]
    assert len(queued) == limits["queuedMax"] + 1
    assert api.call("DELETE", "/jobs/" + queued[-1]["id"])[0] == 200
    status, _ = api.call("POST", "/test/job", {"key": "q"})
    assert status == 200
    # stopping the daemon cancels the queued jobs (checked in test_jobs_restart)


def test_failure_is_reported_once(daemon, api):
    ws = ws_connect(daemon, "/ws/jobs")
    ws.recv()
    jid = api.submit(key="f", steps=2, step_ms=10, fail=True)
    msgs = ws_until(ws, lambda m: m["type"] in FINAL and m["update"]["id"] == jid)
    ev = job_events(msgs, jid)
    types = [m["type"] for m in ev]
    assert types.count("job:failed") == 1 and "job:completed" not in types
    last_progress = [m for m in ev if m["type"] == "progress"][-1]["update"]
    assert last_progress["error"] is True
    rec = api.job(jid)
    assert rec["status"] == "failed"
    assert rec["errorMessage"] == "synthetic failure after the last step"
    assert rec["summaryMessage"] == rec["errorMessage"]
    assert rec["finished"] is not None and rec["progress"] < 100
    ws.close()


def test_cancel_queued_running_and_delete(daemon, api):
    ws = ws_connect(daemon, "/ws/jobs")
    ws.recv()
    a = api.submit(key="c", steps=1000, step_ms=2000)  # stops at its next tick
    b = api.submit(key="c", steps=1, step_ms=1)
    api.wait(a, statuses=("in_progress",))
    # queued: cancelled at once, never runs
    status, j = api.call("DELETE", "/jobs/" + b)
    assert status == 200 and j == {"success": True, "id": b, "outcome": "cancelled"}
    rec_b = api.job(b)
    assert rec_b["status"] == "cancelled" and rec_b["runStarted"] is None
    # running: asked to stop (202), asking again is 409
    status, j = api.call("DELETE", "/jobs/" + a)
    assert status == 202 and j["outcome"] == "cancelling"
    assert api.job(a)["cancelRequested"] is True
    status, j = api.call("DELETE", "/jobs/" + a)
    assert status == 409 and "already requested" in j["error"]["message"]
    rec_a = api.wait(a)
    assert rec_a["status"] == "cancelled"
    msgs = ws_until(ws, lambda m: m["type"] == "job:cancelled" and m["update"]["id"] == a)
    assert sum(m["type"] == "job:cancelled" for m in msgs) == 2  # b then a, once each
    # finished: the record and its log are deleted
    status, j = api.call("DELETE", "/jobs/" + a)
    assert status == 200 and j["outcome"] == "deleted" and j["deleted"] == a
    msgs = ws_until(ws, lambda m: m["type"] == "job:deleted")
    assert msgs[-1]["update"]["id"] == a
    assert api.get("/jobs/" + a)[0] == 404
    assert api.call("DELETE", "/jobs/" + a)[0] == 404
    assert api.get("/log/job/%s/tail" % a)[0] == 400
    ws.close()


def test_clear_completed(daemon, api):
    done = [api.submit(key="x%d" % i, steps=1, step_ms=1) for i in range(3)]
    for j in done:
        api.wait(j)
    running = api.submit(key="y", steps=1000, step_ms=100)
    api.wait(running, statuses=("in_progress",))
    status, j = api.call("POST", "/jobs/clear-completed", {"olderThanDays": 1})
    assert status == 200 and j == {"success": True, "cleared": 0}
    ws = ws_connect(daemon, "/ws/jobs")
    ws.recv()
    status, j = api.call("POST", "/jobs/clear-completed")  # no body: all finished
    assert status == 200 and j["cleared"] == 3
    deleted = ws_until(ws, lambda m: m["type"] == "job:deleted" and m["update"]["id"] == done[-1])
    assert {m["update"]["id"] for m in deleted if m["type"] == "job:deleted"} == set(done)
    assert [x["id"] for x in api.get("/jobs")[1]["jobs"]] == [running]
    status, j = api.call("POST", "/jobs/clear-completed", {"olderThanDays": 0})
    assert status == 200 and j["cleared"] == 0
    api.call("DELETE", "/jobs/" + running)
    api.wait(running)
    ws.close()


@pytest.mark.parametrize("method,path,body,status,message", [
    ("GET", "/jobs/not-a-job", None, 400, "32 lowercase hex"),
    ("GET", "/jobs/0123456789abcdef0123456789abcdeF", None, 400, "32 lowercase hex"),
    ("GET", "/jobs/0123456789abcdef0123456789abcdef", None, 404, "Job not found"),
    ("DELETE", "/jobs/0123456789abcdef0123456789abcdef", None, 404, "Job not found"),
    ("GET", "/jobs/recent?limit=0", None, 400, "a number from 1 to"),
    ("GET", "/jobs/recent?limit=abc", None, 400, "a number from 1 to"),
    ("GET", "/jobs/recent?limit=100000", None, 400, "a number from 1 to"),
    ("POST", "/jobs/clear-completed", b"{nope", 400, "malformed JSON"),
    ("POST", "/jobs/clear-completed", {"olderThanDays": "x"}, 400, "olderThanDays"),
    ("POST", "/jobs/clear-completed", {"olderThanDays": 10 ** 7}, 400, "too large"),
    ("GET", "/log/job/0123456789abcdef0123456789abcdef/tail", None, 400, "Cannot find job"),
    ("GET", "/log/job/0123456789abcdef0123456789abcdef/download", None, 400, "Cannot find job"),
    ("GET", "/ws/log/job/0123456789abcdef0123456789abcdef", None, 400, "Cannot find job"),
    ("POST", "/test/job", {"steps": -1}, 400, "steps must be"),
    ("POST", "/test/job", {"action": "Bad Action"}, 400, "action must be"),
    ("POST", "/test/job", {"key": 5}, 400, "key"),
    ("PUT", "/jobs/0123456789abcdef0123456789abcdef", None, 405, "not allowed"),
])
def test_bad_input(daemon, api, method, path, body, status, message):
    raw = body if isinstance(body, bytes) else None
    got, j = api.call(method, path, body=None if raw else body, raw_body=raw)
    assert got == status, j
    assert message in j["error"]["message"]


def test_recent_limit(daemon, api):
    ids = [api.submit(key="r%d" % i, steps=0, step_ms=0) for i in range(4)]
    for i in ids:
        api.wait(i)
    recent = api.get("/jobs/recent?limit=2")[1]["jobs"]
    assert len(recent) == 2
    assert all(r["status"] == "completed" for r in recent)
    assert recent[0]["finished"] >= recent[1]["finished"]
