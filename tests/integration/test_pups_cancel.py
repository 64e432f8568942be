"""Cancelling a running install (DELETE /jobs/{id}) stops its download and
undoes the adoption."""
import json
import os

from harness import Daemon
from pups_helpers import job, states, wait_for, wait_job
from sources_helpers import Server, make_index, pup_archive
from test_sources_helper import helper_children


def test_cancel_running_install_leaves_nothing():
    srv = Server()
    d = Daemon().start()
    try:
        archive = pup_archive("Slow Pup", "1.0.0")
        # The archive server stalls for longer than this test waits (and than
        # the download's low-speed limit, 60 s): only a cancel that stops the
        # download ends the job in time.
        srv.set("/slow.tar.gz", body=archive, delay=300)
        srv.set("/index.json", body=make_index(
            [("Slow Pup", "1.0.0", archive, srv.url + "/slow.tar.gz", None)]))
        code, body = d.admin("PUT", "/source", {"location": srv.url + "/index.json"})
        assert code == 200, body
        code, body = d.admin("PUT", "/pup", {"sourceId": "test.http", "pupName": "Slow Pup"})
        assert code == 200, body
        jid = json.loads(body)["id"]
        wait_for(lambda: job(d, jid)["step"] == "download", timeout=10, what="the download")
        wait_for(lambda: srv.seen("/slow.tar.gz"), timeout=10, what="the archive request")
        assert helper_children(d.proc.pid), "no fetch helper is downloading"
        pid = job(d, jid)["pupID"]
        assert states(d)[pid]["installation"] == "installing"
        code, body = d.admin("DELETE", "/jobs/" + jid)
        assert code == 202, body
        j = wait_job(d, jid, timeout=20)
        assert j["status"] == "cancelled", j
        # the fetch helper that was downloading is gone
        wait_for(lambda: helper_children(d.proc.pid) == [], timeout=5, what="the helper's end")
        assert states(d) == {}
        for kind in ("pups", "storage"):
            assert os.listdir(os.path.join(d.data_dir, kind)) == []
    finally:
        d.stop()
        d.cleanup()
        srv.close()
