"""The daemon side of sandboxes: the supervisor API on an sd-event loop, driven
through dbx-runtime-harness (src/runtime/harness.c), which prints every
event as a JSON line. Real namespaces, as root.
"""
import os
import signal
import subprocess
import tempfile
import time

import pytest

from runtime_helpers import (HARNESS, PUP_UID, PY, Harness, base_spec, cgroup_dirs, cleanup,
                             env_with, free_slot, host_pids_with_uid, ns_inodes,
                             pids_in_namespace, unique, wait_until, UIDRANGE_BASE, UIDRANGE_SIZE)


@pytest.fixture
def parent():
    p = unique("dbx-it-sup")
    yield p
    out = cleanup(p)
    assert out.returncode == 0, out.stdout + out.stderr
    for d in cgroup_dirs(p):
        assert not os.path.exists(d), d


@pytest.fixture
def tmp():
    d = tempfile.mkdtemp(prefix="dbx-it-sup-")
    yield d
    subprocess.run(["rm", "-rf", d])


def svc(name, script, **kw):
    return dict({"name": name, "exec": "/bin/sh", "args": ["-c", script]}, **kw)


def run(spec, parent):
    h = Harness(spec, parent)
    return h


def close(h):
    rc, err = h.close()
    assert rc == 0, err


def test_services_events_logs_and_stats(parent, tmp):
    slot = free_slot()
    spec = base_spec(unique("p"), slot, log_dir=os.path.join(tmp, "logs"), memory_max=128 << 20,
                     pids_max=100, cpu_weight=50, hostname="corepup",
                     hosts_extra=["10.69.0.1 dogeboxd dogeboxd.local"],
                     resolv_conf="nameserver 10.69.0.1\n",
                     services=[
                         svc("talker", "echo out-line; echo err-line >&2; "
                                       "cat /etc/hostname /etc/hosts /etc/resolv.conf; "
                                       "echo env=$DBX_X,$HOME,$USER; pwd; printf no-newline; "
                                       "exec sleep 60",
                             env=["DBX_X=42"], cwd="/tmp"),
                         svc("spinner", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; "
                                        "exec sleep 60"),
                     ])
    h = run(spec, parent)
    try:
        h.event("ready")
        started = {h.event("service-started")["service"], h.event("service-started")["service"]}
        assert started == {"talker", "spinner"}
        lines = wait_until(lambda: [l for l in h.tail() if "pwd" in l or "/tmp" in l])
        tail = "\n".join(h.tail())
        assert "talker[stdout]: out-line" in tail
        assert "talker[stderr]: err-line" in tail
        assert "talker[stdout]: corepup" in tail
        assert "talker[stdout]: 10.69.0.1 dogeboxd dogeboxd.local" in tail
        assert "talker[stdout]: nameserver 10.69.0.1" in tail
        assert "talker[stdout]: env=42,/storage,pup" in tail
        assert "talker[stdout]: /tmp" in tail
        assert lines
        # stats of the whole sandbox
        st = wait_until(lambda: (lambda s: s if s["stats"]["cpu_usec"] > 0 else None)(h.stats()))
        assert st["stats"]["pids"] >= 3  # pup-init, two sleeps
        assert st["stats"]["memory_bytes"] > 0
        assert st["stats"]["oom_kills"] == 0
        h.send("stop")
        h.event("stopping")
        stopped = h.event("stopped")
        assert stopped["reason"] == "requested"
        # the partial last line was flushed at EOF, the file has everything
        with open(os.path.join(tmp, "logs", spec["pup_id"] + ".log")) as f:
            text = f.read()
        assert "talker[stdout]: no-newline\n" in text
        assert "talker[stdout]: out-line" in text
        assert "pup-init: sandbox stopped (requested)" in text
    finally:
        close(h)


def test_crashing_service_is_restarted_with_growing_delays(parent):
    spec = base_spec(unique("p"), free_slot(),
                     backoff={"initial_ms": 40, "max_ms": 320, "stable_ms": 60000,
                              "failing_after": 4},
                     services=[svc("crasher", "echo boom; exit 3"),
                               svc("steady", "exec sleep 60")])
    h = run(spec, parent)
    try:
        exits = []
        failing_after = None
        while len(exits) < 7:
            m = h.next(lambda m: m.get("service") == "crasher"
                       and m.get("event") in ("service-exited", "service-failing"))
            if m["event"] == "service-failing":
                failing_after = len(exits)
                assert m["crashes"] == 4
            else:
                assert m["code"] == 3 and m["signal"] == 0 and not m["oom"]
                exits.append(m)
        delays = [e["restart_in_ms"] for e in exits]
        crashes = [e["crashes"] for e in exits]
        # recorded delays double from the initial value and stay at the cap
        assert delays == [40, 80, 160, 320, 320, 320, 320]
        assert crashes == [1, 2, 3, 4, 5, 6, 7]
        assert failing_after == 4  # reported once, right after the 4th quick exit
        assert sum(1 for m in h.seen if m.get("event") == "service-failing") == 1
        # every exit was followed by a start of the same service, in order
        starts = [m for m in h.seen if m.get("event") == "service-started"
                  and m["service"] == "crasher"]
        assert len(starts) >= 7
        # the other service was never disturbed
        assert not [m for m in h.seen if m.get("service") == "steady"
                    and m.get("event") == "service-exited"]
        h.send("kill")
        assert h.event("stopped")["reason"] == "killed"
    finally:
        close(h)


def test_restart_policies(parent):
    spec = base_spec(unique("p"), free_slot(),
                     backoff={"initial_ms": 20, "max_ms": 20, "stable_ms": 60000,
                              "failing_after": 100},
                     services=[svc("once", "exit 0", restart="on-failure"),
                               svc("never", "exit 5", restart="never"),
                               svc("again", "exit 1", restart="on-failure")])
    h = run(spec, parent)
    try:
        # the three exit at once, in any order
        once = h.any_event("service-exited", service="once")
        assert once["restart_in_ms"] == -1
        never = h.any_event("service-exited", service="never")
        assert never["restart_in_ms"] == -1 and never["code"] == 5
        again = h.any_event("service-exited", service="again")
        assert again["restart_in_ms"] == 20

        def again_exits():
            return [m for m in h.seen if m.get("event") == "service-exited"
                    and m.get("service") == "again"]
        while len(again_exits()) < 2:
            h.next()
        assert len([m for m in h.seen if m.get("event") == "service-started"
                    and m["service"] in ("once", "never")]) == 2  # never restarted
        h.send("stop")
        assert h.event("stopped")["reason"] == "requested"
    finally:
        close(h)


def test_all_services_done_ends_the_sandbox(parent):
    spec = base_spec(unique("p"), free_slot(),
                     services=[svc("job", "exit 0", restart="never"),
                               svc("job2", "sleep 0.2; exit 4", restart="never")])
    h = run(spec, parent)
    try:
        stopped = h.event("stopped")
        assert stopped["reason"] == "exited"
        assert stopped["status"] == 4  # the last service to end
    finally:
        close(h)


def test_memory_hog_is_oom_killed_and_reported_as_oom(parent):
    spec = base_spec(unique("p"), free_slot(), memory_max=64 << 20,
                     backoff={"initial_ms": 50, "max_ms": 100, "stable_ms": 60000,
                              "failing_after": 10},
                     services=[{"name": "hog", "exec": PY,
                                "args": ["-c", "b = []\nwhile True: b.append(bytearray(8 << 20))"]},
                               svc("bystander", "exec sleep 60")])
    h = run(spec, parent)
    try:
        ex = h.event("service-exited", service="hog")
        assert ex["signal"] == signal.SIGKILL
        assert ex["oom"] is True
        assert ex["restart_in_ms"] == 50  # and it is restarted like any crash
        oom = next(m for m in h.seen if m.get("event") == "oom")
        assert oom["oom_kills"] >= 1
        assert h.stats()["stats"]["oom_kills"] >= 1
        h.event("service-started", service="hog")
        tail = "\n".join(h.tail())
        assert "hog was killed by signal 9 (out of memory)" in tail
        # pup-init and the other service survived
        assert not [m for m in h.seen if m.get("service") == "bystander"
                    and m.get("event") == "service-exited"]
        h.send("stop")
        assert h.event("stopped")["reason"] == "requested"
    finally:
        close(h)


def test_stop_leaves_nothing_behind(parent, tmp):
    slot = free_slot()
    uid = UIDRANGE_BASE + slot * UIDRANGE_SIZE + PUP_UID
    storage = os.path.join(tmp, "storage")
    os.mkdir(storage)
    os.chown(storage, uid, UIDRANGE_BASE + slot * UIDRANGE_SIZE + 69)
    spec = base_spec(unique("p"), slot, storage_dir=storage, pup_dir=tmp, memory_max=64 << 20,
                     pids_max=64, stop_grace_ms=500,
                     services=[svc("stubborn", "trap '' TERM; sleep 60 & sleep 60 & wait; "
                                               "while :; do sleep 1; done"),
                               svc("polite", "exec sleep 60")])
    h = run(spec, parent)
    try:
        h.event("ready")
        h.event("service-started", service="stubborn")
        h.event("service-started", service="polite")
        pid = h.pid
        inodes = ns_inodes(pid)
        assert wait_until(lambda: len(host_pids_with_uid(uid)) >= 5)
        dirs = [d for d in cgroup_dirs(parent, "pup-" + spec["pup_id"]) if os.path.isdir(d)]
        assert len(dirs) >= 2  # v2, plus v1 memory/pids on hybrid systems
        h.send("stop")
        exits = {}
        while True:
            m = h.next(lambda m: m.get("event") in ("service-exited", "stopped"))
            if m["event"] == "stopped":
                break
            exits[m["service"]] = m
        assert m["reason"] == "requested"
        assert exits["polite"]["signal"] == signal.SIGTERM
        assert exits["stubborn"]["signal"] == signal.SIGKILL  # after the grace period
        # no process, no cgroup, no namespace, no mount
        assert not host_pids_with_uid(uid)
        assert not os.path.exists("/proc/%d" % pid)
        for d in cgroup_dirs(parent, "pup-" + spec["pup_id"]):
            assert not os.path.exists(d), d
        for kind, ino in inodes.items():
            assert not pids_in_namespace(kind, ino), kind
        with open("/proc/self/mountinfo") as f:
            assert tmp not in f.read()
        with open("/proc/mounts") as f:
            assert tmp not in f.read()
        # stopping again is an error, not a crash
        h.send("stop")
        assert h.next(lambda m: m.get("command") == "stop")["result"] < 0
    finally:
        close(h)


def test_sigkill_of_the_daemon_leaves_no_sandbox_running(parent):
    slot = free_slot()
    uid = UIDRANGE_BASE + slot * UIDRANGE_SIZE + PUP_UID
    spec = base_spec(unique("p"), slot, memory_max=64 << 20, pids_max=64,
                     services=[svc("a", "sleep 60 & exec sleep 60"),
                               svc("b", "trap '' TERM HUP; exec sleep 60")])
    h = run(spec, parent)
    try:
        h.event("service-started", service="a")
        h.event("service-started", service="b")
        pid = h.pid
        inodes = ns_inodes(pid)
        assert wait_until(lambda: len(host_pids_with_uid(uid)) >= 4)
        h.proc.send_signal(signal.SIGKILL)
        h.proc.wait()
        assert wait_until(lambda: not host_pids_with_uid(uid)), host_pids_with_uid(uid)
        for kind, ino in inodes.items():
            assert wait_until(lambda: not pids_in_namespace(kind, ino)), kind
    finally:
        h.close()
    # the empty cgroup is what the next daemon start removes
    name = "pup-" + spec["pup_id"]
    left = [d for d in cgroup_dirs(parent, name) if os.path.isdir(d)]
    assert left
    out = subprocess.run([HARNESS, "--cleanup", parent], capture_output=True, text=True,
                         env=env_with())
    assert out.returncode == 0, out.stderr
    assert '"cleanup":1' in out.stdout
    for d in cgroup_dirs(parent, name):
        assert not os.path.exists(d)
    # the parent itself stays for the next sandboxes
    assert os.path.isdir(cgroup_dirs(parent)[0])


def test_cleanup_kills_leftover_processes(parent):
    """A leftover cgroup still holding processes (a daemon that died without
    the parent-death signal taking effect) is emptied and removed."""
    spec = base_spec(unique("p"), free_slot(), services=[svc("a", "exec sleep 60")])
    h = run(spec, parent)
    try:
        h.event("service-started")
        pid = h.pid
        out = subprocess.run([HARNESS, "--cleanup", parent], capture_output=True, text=True,
                             env=env_with())
        assert out.returncode == 0, out.stderr
        assert '"cleanup":1' in out.stdout
        assert wait_until(lambda: not os.path.exists("/proc/%d" % pid))
        assert h.event("stopped")["reason"] == "init-died"
    finally:
        close(h)


def test_storage_survives_a_restart(parent, tmp):
    slot = free_slot()
    base = UIDRANGE_BASE + slot * UIDRANGE_SIZE
    storage = os.path.join(tmp, "storage")
    os.mkdir(storage)
    os.chown(storage, base + PUP_UID, base + 69)
    spec = base_spec(unique("p"), slot, storage_dir=storage,
                     services=[svc("w", "n=$(cat /storage/count 2>/dev/null || echo 0); "
                                        "echo $((n+1)) > /storage/count; echo count=$((n+1)); "
                                        "exit 0", restart="never")])
    h = run(spec, parent)
    try:
        assert h.event("stopped")["reason"] == "exited"
        assert any("count=1" in l for l in h.tail())
        h.respawn()
        assert h.event("stopped")["reason"] == "exited"
        assert any("count=2" in l for l in h.tail())
        with open(os.path.join(storage, "count")) as f:
            assert f.read() == "2\n"
    finally:
        close(h)


def test_log_files_are_capped(parent, tmp):
    logs = os.path.join(tmp, "logs")
    spec = base_spec(unique("p"), free_slot(), log_dir=logs,
                     log_limits={"file_max": 65536, "files_keep": 2, "tail_lines": 50},
                     services=[svc("chatty", "i=0; while [ $i -lt 40000 ]; do "
                                             "echo line $i of a pup that talks far too much; "
                                             "i=$((i+1)); done", restart="never")])
    h = run(spec, parent)
    try:
        assert h.event("stopped", timeout=120)["reason"] == "exited"
        files = sorted(os.listdir(logs))
        name = spec["pup_id"] + ".log"
        assert files == [name, name + ".1", name + ".2"]
        total = sum(os.path.getsize(os.path.join(logs, f)) for f in files)
        assert total <= 3 * 65536  # 1.8 MB written, ~190 KiB kept
        tail = h.tail(1000)
        assert len(tail) == 50
        assert [l for l in tail if "chatty[stdout]: line 39999 of a pup" in l]
        assert "sandbox stopped (all services ended)" in tail[-1]
    finally:
        close(h)


def test_exec_errors_are_reported(parent):
    spec = base_spec(unique("p"), free_slot(),
                     backoff={"initial_ms": 20, "max_ms": 40, "stable_ms": 60000,
                              "failing_after": 3},
                     services=[{"name": "missing", "exec": "/pup/bin/run.sh"},
                               {"name": "badcwd", "exec": "/bin/true", "cwd": "/nope",
                                "restart": "never"}])
    h = run(spec, parent)
    try:
        e = h.any_event("service-exec-failed", service="missing")
        assert e["error"] == -2  # -ENOENT
        e = h.any_event("service-exec-failed", service="badcwd")
        assert e["error"] == -2
        assert h.any_event("service-exited", service="badcwd")["code"] == 127
        h.any_event("service-failing", service="missing")
        h.send("stop")
        h.event("stopped")
    finally:
        close(h)


def test_bad_specs_are_refused_with_a_message(parent):
    spec = base_spec(unique("p"), free_slot(), services=[svc("a", "true")],
                     pup_dir="/nonexistent-pup")
    with pytest.raises(AssertionError) as e:
        run(spec, parent)
    assert "pup_dir: /nonexistent-pup is not a directory" in str(e.value)
    spec = base_spec("Bad_Id", free_slot(), services=[svc("a", "true")])
    with pytest.raises(AssertionError) as e:
        run(spec, parent)
    assert "pup_id: 'Bad_Id' is not a pup id" in str(e.value)


def test_network_hook_runs_in_the_sandbox_netns_before_start(parent):
    spec = base_spec(unique("p"), free_slot(), net_hook=True,
                     services=[svc("a", "exec sleep 60")])
    h = run(spec, parent)
    try:
        hook = next(m["hook"] for m in h.seen if "hook" in m)
        assert hook["pid"] == h.pid and hook["pidfd"] is True
        h.event("ready")
        assert hook["netns"] == os.stat("/proc/%d/ns/net" % h.pid).st_ino
        assert hook["netns"] != os.stat("/proc/self/ns/net").st_ino
        h.send("kill")
        h.event("stopped")
    finally:
        close(h)
    # a failing hook fails the spawn and leaves nothing
    spec = base_spec(unique("p"), free_slot(), net_hook=True, net_hook_fails=True,
                     services=[svc("a", "exec sleep 60")])
    with pytest.raises(AssertionError) as e:
        run(spec, parent)
    assert "network setup hook failed" in str(e.value)
    for d in cgroup_dirs(parent, "pup-" + spec["pup_id"]):
        assert not os.path.exists(d)
