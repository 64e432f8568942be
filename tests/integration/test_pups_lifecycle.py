"""The pup lifecycle over the API, with real sandboxes (issue 5)."""
import json
import os
import shutil
import stat

import pytest
import websocket

from pups_helpers import (action, example_box, install, pup_by_name, sandbox_pids, state,
                          states, stats, wait_for, wait_job)


@pytest.fixture
def box():
    with example_box() as box:
        yield box


def test_install_runs_and_writes_config(box):
    d, src, _ = box
    j = install(d, src, "Hello Web")
    assert j["status"] == "completed", j
    pid = j["pupID"]
    st = state(d, pid)
    assert st["installation"] == "ready" and st["enabled"] is True
    assert st["needsConf"] is False and st["needsDeps"] is False
    assert st["config"]["GREETING"] == "Hello from a native pup!"
    assert st["source"]["id"] == src
    wait_for(lambda: stats(d, pid)["status"] == "running", what="running")
    # config.env in storage: root-owned dir the pup's group can read, not write
    storage = os.path.join(d.data_dir, "storage", pid)
    env = open(os.path.join(storage, ".dbx", "config.env")).read()
    assert "GREETING=" in env and "native pup" in env
    s = os.stat(storage)
    assert s.st_uid >= 0x80000 and s.st_uid != 0, "storage belongs to the pup's mapped uid"
    cs = os.stat(os.path.join(storage, ".dbx", "config.env"))
    assert cs.st_uid == 0 and stat.S_IMODE(cs.st_mode) == 0o640
    # bootstrap carries states, stats and assets
    b = json.loads(d.admin("GET", "/system/bootstrap")[1])
    assert pid in b["states"] and pid in b["stats"] and pid in b["assets"]
    assert b["stats"][pid]["status"] in ("starting", "running")


def test_install_refuses_duplicates_and_unknowns(box):
    d, src, _ = box
    assert install(d, src, "Crasher")["status"] == "completed"
    code, body = d.admin("PUT", "/pup", {"sourceId": src, "pupName": "Crasher"})
    assert code == 409 and "already installed" in json.loads(body)["error"]["message"]
    j = install(d, src, "No Such Pup")
    assert j["status"] == "failed" and "No Such Pup" in j["errorMessage"]
    j = install(d, "nosource", "Crasher")
    assert j["status"] == "failed" and "nosource" in j["errorMessage"]
    code, body = d.admin("PUT", "/pup", {"pupName": "x"})
    assert code == 400 and "sourceId" in json.loads(body)["error"]["message"]
    code, body = d.admin("PUT", "/pup", {"sourceId": 5})
    assert code == 400
    assert len(states(d)) == 1, "failed installs adopt nothing"


def test_nix_pup_needs_nix_builder(box, tmp_path):
    d, src, examples = box
    fixture = os.path.join(os.path.dirname(__file__), "..", "fixtures", "upstream-pups",
                           "dogeorg.pups", "identity")
    shutil.copytree(fixture, os.path.join(examples, "identity"))
    assert d.admin("GET", "/sources/store?refresh=true")[0] == 200
    name = json.load(open(os.path.join(examples, "identity", "manifest.json")))["meta"]["name"]
    j = install(d, src, name)
    assert j["status"] == "failed"
    assert "needs the Nix builder" in j["errorMessage"]
    assert pup_by_name(d, name) is None


def test_config_validation_and_apply(box):
    d, src, _ = box
    pid = install(d, src, "Hello Web")["pupID"]
    wait_for(lambda: stats(d, pid)["status"] == "running", what="running")
    code, body = d.admin("POST", "/config/" + pid, {"GREETING": "", "NOPE": "x"})
    assert code == 400
    err = json.loads(body)["error"]
    names = {f["name"] for f in err["fields"]}
    assert names == {"GREETING", "NOPE"}, err
    assert state(d, pid)["config"]["GREETING"] == "Hello from a native pup!", "nothing changed"
    code, body = d.admin("POST", "/config/" + pid, {"GREETING": "Such <config>"})
    assert code == 200, body
    assert wait_job(d, json.loads(body)["id"])["status"] == "completed"
    assert state(d, pid)["config"]["GREETING"] == "Such <config>"
    env = open(os.path.join(d.data_dir, "storage", pid, ".dbx", "config.env")).read()
    assert 'GREETING="Such <config>"' in env or "Such <config>" in env
    wait_for(lambda: stats(d, pid)["status"] == "running", what="running after restart")


def test_needs_conf_blocks_start_until_configured(box):
    d, src, _ = box
    j = install(d, src, "All Fields")
    assert j["status"] == "completed", j
    pid = j["pupID"]
    st = state(d, pid)
    assert st["needsConf"] is True and st["installation"] == "ready"
    assert stats(d, pid)["status"] == "stopped"
    j = action(d, pid, "start")
    assert j["status"] == "failed" and "needs configuration" in j["errorMessage"]
    code, body = d.admin("POST", "/config/" + pid, {"NICKNAME": "shibe", "PEERS": "200"})
    assert code == 400
    assert [f["name"] for f in json.loads(body)["error"]["fields"]] == ["PEERS"]
    code, body = d.admin("POST", "/config/" + pid, {"NICKNAME": "shibe", "PEERS": 12,
                                                    "ENABLED": "off", "COLOR": "#00ff00"})
    assert code == 200, body
    assert wait_job(d, json.loads(body)["id"])["status"] == "completed"
    st = state(d, pid)
    assert st["needsConf"] is False and st["configSaved"] is True
    assert st["config"]["PEERS"] == "12" and st["config"]["ENABLED"] == "false"
    wait_for(lambda: stats(d, pid)["status"] == "running", what="running once configured")


def test_stop_start_restart_are_idempotent(box):
    d, src, _ = box
    pid = install(d, src, "Hello Web")["pupID"]
    wait_for(lambda: stats(d, pid)["status"] == "running", what="running")
    assert action(d, pid, "stop")["status"] == "completed"
    assert stats(d, pid)["status"] == "stopped"
    assert action(d, pid, "stop")["status"] == "completed"
    assert action(d, pid, "disable")["status"] == "completed"
    assert state(d, pid)["enabled"] is False
    assert action(d, pid, "enable")["status"] == "completed"
    assert state(d, pid)["enabled"] is True
    wait_for(lambda: stats(d, pid)["status"] == "running", what="running")
    assert action(d, pid, "enable")["status"] == "completed"
    assert action(d, pid, "restart")["status"] == "completed"
    assert stats(d, pid)["status"] == "running"
    code, body = d.admin("POST", "/pup/%s/frobnicate" % pid)
    assert code == 404 and "no pup action" in json.loads(body)["error"]["message"]
    code, body = d.admin("POST", "/pup/%s/install" % pid)
    assert code == 400
    code, body = d.admin("POST", "/pup/0123/stop")
    assert code == 404


def test_uninstall_keeps_storage_purge_removes_it(box):
    d, src, _ = box
    pid = install(d, src, "Hello Web")["pupID"]
    storage = os.path.join(d.data_dir, "storage", pid)
    payload = os.path.join(d.data_dir, "pups", pid)
    open(os.path.join(storage, "precious.dat"), "w").write("the pup's data")
    assert os.path.isdir(payload)
    assert action(d, pid, "uninstall")["status"] == "completed"
    st = state(d, pid)
    assert st["installation"] == "uninstalled" and st["enabled"] is False
    assert not os.path.exists(payload)
    assert open(os.path.join(storage, "precious.dat")).read() == "the pup's data"
    assert action(d, pid, "uninstall")["status"] == "completed"  # idempotent
    ws = websocket.create_connection("ws://127.0.0.1:%d/ws/state/?token=%s" % (
        d.port, getattr(d, "token", "") or ""), timeout=10) if getattr(d, "token", None) else None
    assert action(d, pid, "purge")["status"] == "completed"
    assert not os.path.exists(storage)
    assert state(d, pid) is None and pid not in states(d)
    if ws:
        seen = []
        ws.settimeout(5)
        try:
            while True:
                m = json.loads(ws.recv())
                seen.append(m["type"])
                if m["type"] == "pup_purged":
                    assert m["update"] == {"pupId": pid}
                    break
        finally:
            ws.close()


def test_crasher_restarts_and_reports(box):
    d, src, _ = box
    pid = install(d, src, "Crasher")["pupID"]
    s = wait_for(lambda: (lambda x: x if x["restarts"] >= 2 else None)(stats(d, pid)),
                 timeout=30, what="two restarts")
    assert "crash exited with status 3" in s["lastExit"] or "keeps crashing" in s["lastExit"]


def test_logs_tail_and_download(box):
    d, src, _ = box
    pid = install(d, src, "Crasher")["pupID"]
    def tail_has():
        code, body = d.admin("GET", "/log/pup/%s/tail" % pid)
        assert code == 200, body
        return any("crasher: starting" in l for l in json.loads(body)["lines"])
    wait_for(tail_has, what="log line")
    code, body = d.admin("GET", "/log/pup/%s/download" % pid)
    assert code == 200 and "crasher: exiting" in body or "crasher: starting" in body


def test_restart_of_daemon_restarts_enabled_pups(box):
    d, src, _ = box
    pid = install(d, src, "Hello Web")["pupID"]
    wait_for(lambda: stats(d, pid)["status"] == "running", what="running")
    assert d.stop() == 0
    assert not sandbox_pids(d.cgroup_parent), "a clean stop leaves no sandbox"
    d.start()
    wait_for(lambda: stats(d, pid)["status"] == "running", what="running after restart")


def test_sigkill_of_daemon_leaves_no_sandbox(box):
    d, src, _ = box
    pid = install(d, src, "Hello Web")["pupID"]
    wait_for(lambda: stats(d, pid)["status"] == "running", what="running")
    assert sandbox_pids(d.cgroup_parent)
    d.kill()
    wait_for(lambda: not sandbox_pids(d.cgroup_parent), timeout=10,
             what="sandboxes to die with the daemon")
    d.start()
    wait_for(lambda: stats(d, pid)["status"] == "running", what="running after restart")


def test_delegate_keys_at_install_and_at_setup(box):
    """Keys are written at install when a master key exists, and for pups
    installed before setup when setup completes (no login needed later)."""
    d, src, _ = box
    early = install(d, src, "Crasher")["pupID"]
    early_key = os.path.join(d.data_dir, "storage", early, "delegated.key")
    assert not os.path.exists(early_key)
    d.setup()
    wait_for(lambda: os.path.exists(early_key), timeout=10, what="the early pup's key")
    late = install(d, src, "Hello Web")["pupID"]
    for pid in (early, late):
        for name in ("delegated.key", "delegated.extended.key"):
            path = os.path.join(d.data_dir, "storage", pid, name)
            st = os.stat(path)
            assert stat.S_IMODE(st.st_mode) == 0o600, (pid, name)
            assert st.st_uid == os.stat(os.path.join(d.data_dir, "storage", pid)).st_uid  # the pup user
    assert open(os.path.join(d.data_dir, "storage", late, "delegated.extended.key")).read() \
        .startswith("dgpv")
    assert open(early_key).read() != open(
        os.path.join(d.data_dir, "storage", late, "delegated.key")).read()


def test_two_installs_of_one_pup_install_once(box):
    """Refused at once (409) when the first one already adopted the pup, or
    by the second job when both were queued before either ran."""
    d, src, _ = box
    a = install(d, src, "Crasher", wait=False)
    code, body = d.admin("PUT", "/pup", {"sourceId": src, "pupName": "Crasher"})
    if code == 200:
        failed = wait_job(d, json.loads(body)["id"])
        assert failed["status"] == "failed" and "already installed" in failed["errorMessage"]
    else:
        assert code == 409 and "already installed" in json.loads(body)["error"]["message"]
    assert wait_job(d, a)["status"] == "completed"
    assert len(states(d)) == 1
