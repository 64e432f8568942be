"""Cancelling a running install (DELETE /jobs/{id}) undoes the adoption."""
import json
import os

from harness import Daemon
from pups_helpers import job, states, wait_for, wait_job
from sources_helpers import Server, make_index, pup_archive


def test_cancel_running_install_leaves_nothing():
    srv = Server()
    d = Daemon().start()
    try:
        archive = pup_archive("Slow Pup", "1.0.0")
        srv.set("/slow.tar.gz", body=archive, delay=3)  # the download takes a while
        srv.set("/index.json", body=make_index(
            [("Slow Pup", "1.0.0", archive, srv.url + "/slow.tar.gz", None)]))
        code, body = d.admin("PUT", "/source", {"location": srv.url + "/index.json"})
        assert code == 200, body
        code, body = d.admin("PUT", "/pup", {"sourceId": "test.http", "pupName": "Slow Pup"})
        assert code == 200, body
        jid = json.loads(body)["id"]
        wait_for(lambda: job(d, jid)["step"] == "download", timeout=10, what="the download")
        pid = job(d, jid)["pupID"]
        assert states(d)[pid]["installation"] == "installing"
        code, body = d.admin("DELETE", "/jobs/" + jid)
        assert code == 202, body
        j = wait_job(d, jid, timeout=20)
        assert j["status"] == "cancelled", j
        assert states(d) == {}
        for kind in ("pups", "storage"):
            assert os.listdir(os.path.join(d.data_dir, kind)) == []
    finally:
        d.stop()
        d.cleanup()
        srv.close()
