"""Jobs across daemon restarts: after SIGKILL, jobs that were running or
waiting are `orphaned` (with a reason and a line in their logs); after a
clean stop, waiting jobs are `cancelled` and running ones `orphaned`."""
import json
import signal

import pytest

from harness import Daemon
from jobs_util import Api, ws_connect


@pytest.fixture
def dmn():
    d = Daemon().start()
    yield d
    rc = d.stop()
    d.cleanup()
    assert rc == 0, "dogeboxd exited with %s" % rc


def test_sigkill_orphans_active_jobs(dmn):
    api = Api(dmn)
    done = api.submit(key="x", steps=0)
    api.wait(done)
    running = api.submit(key="x", steps=1000, step_ms=100)
    waiting = api.submit(key="x", steps=1)
    api.wait(running, statuses=("in_progress",))
    api.close()
    dmn.kill()

    dmn.start()
    api = Api(dmn)
    rec = api.job(running)
    assert rec["status"] == "orphaned"
    assert rec["finished"] is not None
    assert rec["summaryMessage"] == "Job marked as orphaned"
    assert "while the job was running" in rec["errorMessage"]
    rec = api.job(waiting)
    assert rec["status"] == "orphaned"
    assert "before the job started" in rec["errorMessage"]
    assert api.job(done)["status"] == "completed"  # untouched
    assert api.get("/jobs/active")[1]["jobs"] == []
    status, page = api.get("/log/job/%s/tail" % running)
    assert page["lines"][-1].endswith("Job orphaned: dogeboxd stopped while the job was active")
    assert "job %s (test) was in_progress when dogeboxd stopped: now orphaned" % running \
        in dmn.read_log()
    # the jobs socket shows the truth
    ws = ws_connect(dmn, "/ws/jobs")
    boot = json.loads(ws.recv())
    assert {j["id"]: j["status"] for j in boot["update"]["jobs"]} == {
        done: "completed", running: "orphaned", waiting: "orphaned"}
    ws.close()
    # and the queue works again for the same key
    again = api.submit(key="x", steps=1)
    assert api.wait(again)["status"] == "completed"
    api.close()


def test_clean_stop_cancels_waiting_jobs(dmn):
    api = Api(dmn)
    running = api.submit(key="s", steps=1000, step_ms=100)
    waiting = api.submit(key="s", steps=1)
    api.wait(running, statuses=("in_progress",))
    api.close()
    assert dmn.stop(signal.SIGTERM) == 0

    dmn.start()
    api = Api(dmn)
    rec = api.job(waiting)
    assert rec["status"] == "cancelled"
    assert rec["summaryMessage"] == "Not started: dogeboxd stopped first"
    assert rec["runStarted"] is None
    assert api.job(running)["status"] == "orphaned"
    api.close()
