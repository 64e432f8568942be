"""Crash safety: SIGKILL the daemon at every step of install, uninstall,
purge and config (test builds pause there), restart it, and check that the
pup is consistent, nothing is orphaned, the pup's data survives and the API
tells the truth."""
import json
import os
import shutil
import time

import pytest

from harness import Daemon
from pups_helpers import (action, add_source, copy_examples, install, stats, state, states,
                          wait_for, wait_job)


def paused_daemon(data_dir, step, cgroup_parent=None):
    d = Daemon(data_dir=data_dir, env={"DBX_TEST_PAUSE_AT": step})
    if cgroup_parent:
        d.cgroup_parent = cgroup_parent
    return d.start()


def wait_paused(d, step):
    wait_for(lambda: ("test hook: paused at " + step) in d.read_log(), timeout=30,
             what="pause at " + step)


def restart_after_kill(d):
    d.kill()
    d2 = Daemon(data_dir=d.data_dir)
    d2.cgroup_parent = d.cgroup_parent
    return d2.start()


def no_leftovers(d):
    """Nothing half-written next to the payloads."""
    for kind in ("pups", "storage"):
        for name in os.listdir(os.path.join(d.data_dir, kind)):
            assert ".tmp" not in name and not name.startswith("."), (kind, name)
    ids = set(states(d))
    for name in os.listdir(os.path.join(d.data_dir, "pups")):
        assert name in ids, "payload of an unknown pup: " + name


@pytest.fixture
def setup():
    examples = copy_examples()
    data = None
    made = []

    def make(step):
        nonlocal data
        d = paused_daemon(data, step) if data else None
        if d is None:
            d = Daemon(env={"DBX_TEST_PAUSE_AT": step})
            d.owns_dir = False
            d.start()
            data = d.data_dir
        made.append(d)
        return d

    yield make, examples, made
    for d in made:
        if d.proc and d.proc.poll() is None:
            d.stop()
        d.cleanup()
    if data:
        shutil.rmtree(data, ignore_errors=True)
    shutil.rmtree(examples, ignore_errors=True)


@pytest.mark.parametrize("step", ["adopt", "download", "storage", "config", "ready"])
def test_install_killed_at(step, setup):
    make, examples, made = setup
    d = make("install:" + step)
    src = add_source(d, examples)
    jid = install(d, src, "Hello Web", wait=False)
    wait_paused(d, "install:" + step)
    d2 = restart_after_kill(d)
    made.append(d2)
    j = wait_job(d2, jid, timeout=10)
    assert j["status"] == "orphaned", j
    pups = states(d2)
    if step == "adopt":
        assert pups == {}, "nothing was adopted before the crash"
    else:
        assert len(pups) == 1
        (pid, st), = pups.items()
        assert st["installation"] == "broken"
        assert st["brokenReason"] == "install_interrupted"
        assert not os.path.exists(os.path.join(d2.data_dir, "pups", pid)), "partial payload removed"
        # a broken pup can be retried ...
        assert action(d2, pid, "retry")["status"] == "completed"
        assert state(d2, pid)["installation"] == "ready"
        wait_for(lambda: stats(d2, pid)["status"] == "running", what="running after retry")
        # ... and purged
        assert action(d2, pid, "purge")["status"] == "completed"
        assert states(d2) == {}
    no_leftovers(d2)


@pytest.mark.parametrize("step", ["uninstall:remove", "purge:remove", "purge:storage",
                                  "purge:forget"])
def test_remove_killed_at(step, setup):
    make, examples, made = setup
    d = make(step)
    src = add_source(d, examples)
    pid = install(d, src, "Hello Web")["pupID"]
    storage = os.path.join(d.data_dir, "storage", pid)
    with open(os.path.join(storage, "precious.dat"), "w") as f:
        f.write("written by the pup")
    act = step.split(":")[0]
    jid = action(d, pid, act, wait=False)
    wait_paused(d, step)
    d2 = restart_after_kill(d)
    made.append(d2)
    assert wait_job(d2, jid, timeout=10)["status"] == "orphaned"
    st = state(d2, pid)
    if act == "uninstall":
        assert st["installation"] == "uninstalled"
        assert open(os.path.join(storage, "precious.dat")).read() == "written by the pup"
        assert not os.path.exists(os.path.join(d2.data_dir, "pups", pid))
    else:
        assert st is None, "an interrupted purge is finished at restart"
        assert not os.path.exists(storage)
    no_leftovers(d2)


@pytest.mark.parametrize("step", ["config:save", "config:write"])
def test_config_killed_at(step, setup):
    make, examples, made = setup
    d = make(step)
    src = add_source(d, examples)
    pid = install(d, src, "Hello Web")["pupID"]
    storage = os.path.join(d.data_dir, "storage", pid)
    with open(os.path.join(storage, "precious.dat"), "w") as f:
        f.write("written by the pup")
    code, body = d.admin("POST", "/config/" + pid, {"GREETING": "after the crash"})
    assert code == 200
    wait_paused(d, step)
    d2 = restart_after_kill(d)
    made.append(d2)
    st = state(d2, pid)
    greeting = st["config"]["GREETING"]
    assert greeting in ("Hello from a native pup!", "after the crash")
    env = open(os.path.join(storage, ".dbx", "config.env")).read()
    assert greeting in env, "config.env agrees with the database"
    assert open(os.path.join(storage, "precious.dat")).read() == "written by the pup"
    assert st["installation"] == "ready"
    wait_for(lambda: stats(d2, pid)["status"] == "running", what="running after restart")
    no_leftovers(d2)
