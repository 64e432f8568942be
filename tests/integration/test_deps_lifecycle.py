"""Dependencies in the lifecycle (issue 6): provider reports and choices,
automatic selection, missing dependencies, auto-install plans from the
right sources, the start order, and removing a provider others use.
These daemons run with --no-network (the network side is in
test_dre_daemon.py); the rules are the same."""
import json
import os
import shutil
import tempfile

import pytest

from dre_helpers import dependency, native_manifest, refresh_source, write_pup
from harness import Daemon
from pups_helpers import (action, add_source, example_box, install, state, stats, wait_for,
                          wait_job)

PING = "dbx-example-ping"


def ping_provider(name, iface_version):
    m = json.load(open(os.path.join(os.path.dirname(__file__), "..", "..", "examples",
                                    "ping-provider", "manifest.json")))
    m["meta"]["name"] = name
    m["interfaces"][0]["version"] = iface_version
    return m


@pytest.fixture
def box():
    with example_box() as box:
        yield box


def running(d, pid):
    return stats(d, pid)["status"] == "running"


def reports(d, path, pid):
    code, body = d.admin("GET", "/%s/%s" % (path, pid))
    assert code == 200, body
    return json.loads(body)


def test_missing_provider_blocks_start_until_one_is_installed(box):
    d, src, _ = box
    j = install(d, src, "Ping Consumer")
    assert j["status"] == "completed", j
    cons = j["pupID"]
    st = state(d, cons)
    assert st["needsDeps"] is True and st["providers"] == {}
    assert stats(d, cons)["status"] == "stopped"
    j = action(d, cons, "start")
    assert j["status"] == "failed" and "needs its dependencies" in j["errorMessage"]

    rep = reports(d, "missing-deps", cons)
    assert len(rep) == 1
    r = rep[0]
    assert r["interface"] == PING and r["version"] == "^1.0.0" and r["optional"] is False
    assert r["currentProvider"] == "" and r["installedProviders"] == []
    assert r["InstallableProviders"] == [{"sourceLocation": d_location(d, src),
                                          "pupName": "Ping Provider", "pupVersion": "1.0.0",
                                          "pupLogoBase64": "", "sourceId": src}]
    assert r["DefaultProvider"]["pupName"] == "Ping Provider"
    assert r["permissionGroups"] == ["read"] and r["grantedGroups"] == ["read"]

    # installing the only provider selects it and starts the consumer after it
    j = install(d, src, "Ping Provider")
    assert j["status"] == "completed", j
    prov = j["pupID"]
    wait_for(lambda: state(d, cons)["providers"] == {PING: prov}, what="automatic selection")
    wait_for(lambda: running(d, cons), what="the consumer running")
    assert running(d, prov)
    assert state(d, cons)["needsDeps"] is False
    assert reports(d, "missing-deps", cons) == []
    r = reports(d, "providers", cons)[0]
    assert r["currentProvider"] == prov and r["installedProviders"] == [prov]
    assert r["InstallableProviders"] == [], "the installed pup's own versions are not offered"
    assert r["currentProviderOk"] is True


def d_location(d, src):
    srcs = json.loads(d.admin("GET", "/sources")[1])
    srcs = srcs.get("sources", srcs) if isinstance(srcs, dict) else srcs
    return [s["location"] for s in srcs if s["id"] == src][0]


def test_provider_choice_is_checked(box):
    d, src, examples = box
    write_pup(examples, "ping-two", ping_provider("Ping Two", "2.0.0"))
    write_pup(examples, "ping-alt", ping_provider("Ping Alt", "1.3.0"))
    refresh_source(d)
    prov = install(d, src, "Ping Provider")["pupID"]
    two = install(d, src, "Ping Two")["pupID"]
    alt = install(d, src, "Ping Alt")["pupID"]
    hello = install(d, src, "Hello Web")["pupID"]
    cons = install(d, src, "Ping Consumer")["pupID"]
    # two installed providers satisfy ^1.0.0: the owner chooses
    st = state(d, cons)
    assert st["providers"] == {} and st["needsDeps"] is True
    r = reports(d, "providers", cons)[0]
    assert sorted(r["installedProviders"]) == sorted([prov, alt]), "2.0.0 does not satisfy ^1"

    bad = [
        ({PING: "0123456789abcdef0123456789abcdef"}, "no installed pup '0123456789abcdef"),
        ({PING: two}, "provides %s 2.0.0, which does not satisfy \"^1.0.0\"" % PING),
        ({PING: hello}, "Hello Web (%s) does not provide %s" % (hello, PING)),
        ({PING: cons}, "cannot provide %s to itself" % PING),
        ({"other-iface": prov}, "does not depend on interface 'other-iface'"),
        ({PING: 5}, "a provider is a pup id"),
        ({}, "a JSON object"),
    ]
    for body, msg in bad:
        code, text = d.admin("POST", "/providers/" + cons, body)
        assert code == 400, (body, code, text)
        assert msg in json.loads(text)["error"]["message"], (body, text)
    assert state(d, cons)["providers"] == {}, "nothing changed"
    code, text = d.admin("POST", "/providers/nosuchpup", {PING: prov})
    assert code == 404

    # a good choice (by name, stored as the id) starts the enabled consumer
    code, text = d.admin("POST", "/providers/" + cons, {PING: "Ping Alt"})
    assert code == 200, text
    assert wait_job(d, json.loads(text)["id"])["status"] == "completed"
    assert state(d, cons)["providers"] == {PING: alt}
    wait_for(lambda: running(d, cons), what="consumer running on its chosen provider")
    # switching restarts it on the new one; "" removes the choice
    code, text = d.admin("POST", "/providers/" + cons, {PING: prov})
    assert code == 200 and wait_job(d, json.loads(text)["id"])["status"] == "completed"
    assert state(d, cons)["providers"] == {PING: prov}
    code, text = d.admin("POST", "/providers/" + cons, {PING: ""})
    assert code == 200 and wait_job(d, json.loads(text)["id"])["status"] == "completed"
    assert state(d, cons)["providers"] == {} and state(d, cons)["needsDeps"] is True


def test_uninstalling_a_provider_in_use_needs_force(box):
    d, src, _ = box
    prov = install(d, src, "Ping Provider")["pupID"]
    cons = install(d, src, "Ping Consumer")["pupID"]
    wait_for(lambda: running(d, cons), what="consumer running")
    for act in ("uninstall", "purge"):
        code, text = d.admin("POST", "/pup/%s/%s" % (prov, act))
        assert code == 409, text
        msg = json.loads(text)["error"]["message"]
        assert "Ping Provider provides interfaces to Ping Consumer" in msg, msg
        assert "force" in msg and "?force=true" in msg
    assert state(d, prov)["installation"] == "ready", "nothing happened"
    # a pup nobody depends on needs no force
    hello = install(d, src, "Hello Web")["pupID"]
    assert action(d, hello, "uninstall")["status"] == "completed"

    code, text = d.admin("POST", "/pup/%s/uninstall?force=true" % prov)
    assert code == 200, text
    assert wait_job(d, json.loads(text)["id"])["status"] == "completed"
    assert state(d, prov)["installation"] == "uninstalled"
    st = state(d, cons)
    assert st["providers"] == {} and st["needsDeps"] is True
    assert [r["interface"] for r in reports(d, "missing-deps", cons)] == [PING]
    # it keeps running until stopped, but cannot start again
    assert action(d, cons, "restart")["status"] == "failed"
    # the body form of force works for purge; the uninstalled provider is
    # used by nobody any more anyway
    code, text = d.admin("POST", "/pup/%s/purge" % prov, {"force": True})
    assert code == 200 and wait_job(d, json.loads(text)["id"])["status"] == "completed"
    assert state(d, prov) is None


def test_plan_and_auto_install_take_each_pup_from_its_own_source(box):
    d, src, examples = box
    # the provider lives only in a second source
    other = tempfile.mkdtemp(prefix="dbx-other-")
    os.chmod(other, 0o755)
    try:
        shutil.move(os.path.join(examples, "ping-provider"), os.path.join(other, "ping-provider"))
        refresh_source(d)
        src2 = add_source(d, other)
        code, text = d.admin("POST", "/pup/plan", {"sourceId": src, "pupName": "Ping Consumer"})
        assert code == 200, text
        plan = json.loads(text)
        assert plan["pup"] == {"sourceId": src, "pupName": "Ping Consumer", "pupVersion": "1.0.0"}
        assert plan["install"] == [{"sourceId": src2, "sourceLocation": other,
                                    "pupName": "Ping Provider", "pupVersion": "1.0.0",
                                    "interface": PING, "for": "Ping Consumer"}]
        assert plan["missing"] == []
        assert {"pup": "Ping Consumer", "interface": PING, "version": "^1.0.0",
                "optional": False, "permissionGroups": ["read"]} in plan["grants"]
        assert json.loads(d.admin("GET", "/system/bootstrap")[1])["states"] == {}, \
            "a plan installs nothing"

        code, text = d.admin("PUT", "/pup", {"sourceId": src, "pupName": "Ping Consumer",
                                             "autoInstallDependencies": True})
        assert code == 200, text
        res = json.loads(text)
        step = res["plan"]["install"][0]
        assert step["sourceId"] == src2 and "jobId" in step
        assert wait_job(d, step["jobId"])["status"] == "completed"
        j = wait_job(d, res["id"])
        assert j["status"] == "completed", j
        cons = j["pupID"]
        prov = [p for p, s in json.loads(d.admin("GET", "/system/bootstrap")[1])["states"].items()
                if s["manifest"]["meta"]["name"] == "Ping Provider"][0]
        assert state(d, prov)["source"]["id"] == src2
        wait_for(lambda: state(d, cons)["providers"] == {PING: prov}, what="selection")
        wait_for(lambda: running(d, cons) and running(d, prov), what="both running")
    finally:
        shutil.rmtree(other, ignore_errors=True)


def test_plan_reports_cycles_and_missing_providers(box):
    d, src, examples = box
    write_pup(examples, "cycle-a", native_manifest(
        "Cycle A", interfaces=[{"name": "iface-a", "version": "1.0.0", "permissionGroups": []}],
        dependencies=[dependency("iface-b")]))
    write_pup(examples, "cycle-b", native_manifest(
        "Cycle B", interfaces=[{"name": "iface-b", "version": "1.0.0", "permissionGroups": []}],
        dependencies=[dependency("iface-a")]))
    write_pup(examples, "lonely", native_manifest(
        "Lonely", dependencies=[dependency("nobody-provides-this", "^2"),
                                dependency("iface-a", optional=True)]))
    refresh_source(d)
    code, text = d.admin("POST", "/pup/plan", {"sourceId": src, "pupName": "Cycle A"})
    assert code == 409, text
    assert ("dependency cycle: Cycle A needs iface-b from Cycle B, Cycle B needs iface-a from "
            "Cycle A") in json.loads(text)["error"]["message"]
    code, text = d.admin("PUT", "/pup", {"sourceId": src, "pupName": "Cycle A",
                                         "autoInstallDependencies": True})
    assert code in (400, 409) and "dependency cycle" in text, "refused before anything is queued"
    assert json.loads(d.admin("GET", "/system/bootstrap")[1])["states"] == {}
    code, text = d.admin("POST", "/pup/plan", {"sourceId": src, "pupName": "Lonely"})
    plan = json.loads(text)
    assert plan["install"] == [], "optional dependencies are never auto-installed"
    assert plan["missing"] == [{"interface": "nobody-provides-this", "version": "^2",
                                "for": "Lonely"}]
    code, text = d.admin("POST", "/pup/plan", {"sourceId": src, "pupName": "No Such Pup"})
    assert code == 404 and "No Such Pup" in text


def test_providers_start_first_and_after_a_restart(box):
    d, src, _ = box
    prov = install(d, src, "Ping Provider")["pupID"]
    cons = install(d, src, "Ping Consumer")["pupID"]
    wait_for(lambda: running(d, cons), what="consumer running")
    assert stats(d, cons)["issues"]["depsNotRunning"] is None
    assert action(d, cons, "stop")["status"] == "completed"
    assert action(d, prov, "stop")["status"] == "completed"
    assert stats(d, cons)["issues"]["depsNotRunning"] == [PING]
    # starting the consumer starts its stopped provider first
    j = action(d, cons, "start")
    assert j["status"] == "completed", j
    assert running(d, prov) and running(d, cons)
    assert stats(d, cons)["issues"]["depsNotRunning"] is None
    log = d.read_log()
    assert "starting Ping Provider first, it provides %s" % PING in log
    assert "pup %s (Ping Consumer) waits for its providers to run" % cons in log
    # a disabled provider is not started behind the owner's back
    assert action(d, cons, "stop")["status"] == "completed"
    assert action(d, prov, "disable")["status"] == "completed"
    j = action(d, cons, "start")
    assert j["status"] == "failed"
    assert "needs %s from Ping Provider, which is disabled" % PING in j["errorMessage"], j
    assert action(d, prov, "enable")["status"] == "completed"
    assert action(d, cons, "start")["status"] == "completed"
    # a restarted daemon brings both back, the provider first
    d.stop()
    d2 = Daemon(data_dir=d.data_dir).start()
    d.proc = d2.proc
    try:
        wait_for(lambda: running(d2, prov) and running(d2, cons), what="both running again")
    finally:
        rc = d2.stop()
        d2.cleanup()
    assert rc == 0
