"""The sandbox as a pup sees it, through `dogeboxd sandbox` ($DBX_SANDBOX_CMD).

Real namespaces, as root. Each test gets its own cgroup parent, removed at
the end. docs/sandbox.md describes what is asserted here.
"""
import os
import signal
import socket
import subprocess
import tempfile
import textwrap

import pytest

from runtime_helpers import (DEV_UID_BASE, PUP_GID, PUP_UID, cgroup_dirs, cleanup,
                             host_pids_with_uid, loopback_listener, proc_status, py, run_sandbox,
                             sandbox_cmd, env_with, unique, wait_until)


@pytest.fixture
def parent():
    p = unique("dbx-it-rt")
    yield p
    out = cleanup(p)
    assert out.returncode == 0, out.stdout + out.stderr
    for d in cgroup_dirs(p):
        assert not os.path.exists(d), d


def sh(script):
    return ["/bin/sh", "-c", script]


def test_pid1_is_pup_init_and_no_host_process_is_visible(parent):
    marker = unique("host-marker")
    host = subprocess.Popen(["/bin/sleep", "30", marker])
    try:
        r = run_sandbox(py(textwrap.dedent("""
            import os
            print(open("/proc/1/comm").read().strip())
            print(open("/proc/1/cmdline").read().rstrip("\\0"))
            pids = sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
            print(" ".join(map(str, pids)))
            for p in pids:
                try:
                    print(p, open("/proc/%d/cmdline" % p).read().replace("\\0", " "))
                except OSError:
                    pass
            print("host pid", os.getppid())
        """)), parent=parent)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert lines[0] == "pup-init"
        assert lines[1] == "pup-init"
        pids = [int(p) for p in lines[2].split()]
        assert pids[0] == 1
        # only pup-init and the command itself exist in the namespace
        assert pids == [1, 2], lines
        assert marker not in r.stdout
        assert str(host.pid) not in lines[2].split()
        assert lines[-1] == "host pid 1"  # our parent is pup-init, not a host process
    finally:
        host.kill()
        host.wait()


def test_mapped_uid_is_unprivileged_on_the_host(parent):
    tmp = tempfile.mkdtemp(prefix="dbx-it-storage-")
    storage = os.path.join(tmp, "s")
    proc = subprocess.Popen(sandbox_cmd() + ["--storage", storage, "--cgroup-parent", parent, "--"]
                            + sh("cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; "
                                 "touch /storage/mine; echo ready; exec sleep 30"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env_with())
    try:
        out = []
        for line in proc.stdout:
            out.append(line.strip())
            if line.strip() == "ready":
                break
        assert out[0].split() == ["0", str(DEV_UID_BASE), "65536"]
        assert out[1].split() == ["0", str(DEV_UID_BASE), "65536"]
        assert out[2:4] == [str(PUP_UID), str(PUP_GID)]
        # seen from the host: the sandbox's processes run as an unprivileged
        # uid of the range, never as root
        host_uid = DEV_UID_BASE + PUP_UID
        pids = wait_until(lambda: host_pids_with_uid(host_uid))
        assert pids
        for pid in pids:
            st = proc_status(pid)
            assert st["Uid"].split() == [str(host_uid)] * 4
            assert st["Gid"].split() == [str(DEV_UID_BASE + PUP_GID)] * 4
            assert st["CapEff"] == "0000000000000000"
        # and what it writes to /storage belongs to that uid on the host
        st = os.stat(os.path.join(storage, "mine"))
        assert (st.st_uid, st.st_gid) == (host_uid, DEV_UID_BASE + PUP_GID)
        assert host_uid >= 65536
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
        subprocess.run(["rm", "-rf", tmp])
    # the sandbox died with its parent
    assert wait_until(lambda: not host_pids_with_uid(DEV_UID_BASE + PUP_UID))


def test_no_capabilities_and_seccomp_filter(parent):
    r = run_sandbox(sh("grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' "
                       "/proc/self/status"), parent=parent)
    assert r.returncode == 0, r.stderr
    st = dict(line.split(":\t") for line in r.stdout.splitlines())
    for cap in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert st[cap] == "0000000000000000", cap
    assert st["NoNewPrivs"] == "1"
    assert st["Seccomp"] == "2"


PRIVILEGED_CALLS = textwrap.dedent("""
    import ctypes, errno, os, sys, time
    libc = ctypes.CDLL(None, use_errno=True)
    def call(name, *args):
        r = getattr(libc, name)(*args)
        return "ok" if r == 0 else errno.errorcode[ctypes.get_errno()]
    print("mount", call("mount", b"none", b"/tmp", b"tmpfs", 0, None))
    print("umount", call("umount2", b"/proc", 2))
    print("unshare-user", call("unshare", 0x10000000))
    print("unshare-net", call("unshare", 0x40000000))
    print("unshare-mnt", call("unshare", 0x00020000))
    child = os.fork()
    if child == 0:
        time.sleep(30)
        os._exit(0)
    print("ptrace-attach", call("ptrace", 16, child, None, None))
    print("ptrace-pid1", call("ptrace", 16, 1, None, None))
    os.kill(child, 9)
    os.waitpid(child, 0)
    for path in ("/usr/dbx-test", "/pup/dbx-test", "/proc/sys/kernel/hostname", "/etc/passwd",
                 "/dbx-test", "/dev/dbx-test"):
        try:
            with open(path, "w") as f:
                f.write("x")
            print("write", path, "ok")
        except OSError as e:
            print("write", path, errno.errorcode[e.errno])
    print("sethostname", call("sethostname", b"evil", 4))
""")


def test_privileged_operations_and_readonly_paths_fail(parent):
    pup = tempfile.mkdtemp(prefix="dbx-it-pup-")
    os.chmod(pup, 0o755)
    try:
        r = run_sandbox(py(PRIVILEGED_CALLS), "--pup", pup, parent=parent)
        assert r.returncode == 0, r.stderr
        got = dict(line.rsplit(" ", 1) for line in r.stdout.splitlines())
        assert got["mount"] == "EPERM"
        assert got["umount"] == "EPERM"
        assert got["unshare-user"] == "EPERM"
        assert got["unshare-net"] == "EPERM"
        assert got["unshare-mnt"] == "EPERM"
        assert got["ptrace-attach"] == "EPERM"
        assert got["ptrace-pid1"] == "EPERM"
        assert got["write /usr/dbx-test"] == "EROFS"
        assert got["write /pup/dbx-test"] == "EROFS"
        assert got["write /proc/sys/kernel/hostname"] in ("EROFS", "EACCES")
        assert got["write /etc/passwd"] == "EROFS"
        assert got["write /dbx-test"] == "EROFS"
        assert got["write /dev/dbx-test"] == "EROFS"
        assert got["sethostname"] == "EPERM"
        assert not os.path.exists(os.path.join(pup, "dbx-test"))
        assert not os.path.exists("/usr/dbx-test")
    finally:
        subprocess.run(["rm", "-rf", pup])


def test_storage_is_writable_and_survives_a_restart(parent):
    tmp = tempfile.mkdtemp(prefix="dbx-it-storage-")
    storage = os.path.join(tmp, "storage")
    try:
        r = run_sandbox(sh("echo first > /storage/state && mkdir /storage/d && "
                           "echo ok > /storage/d/f && echo tmp > /tmp/t && echo done"),
                        "--storage", storage, parent=parent)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == "done"
        r = run_sandbox(sh("cat /storage/state /storage/d/f; ls /tmp; echo second >> /storage/state"),
                        "--storage", storage, parent=parent)
        assert r.returncode == 0, r.stderr
        assert r.stdout.split() == ["first", "ok"]  # /tmp starts empty every time
        with open(os.path.join(storage, "state")) as f:
            assert f.read() == "first\nsecond\n"
        # without --storage, /storage is a private, writable tmpfs
        r = run_sandbox(sh("echo x > /storage/y && cat /storage/y"), parent=parent)
        assert r.returncode == 0 and r.stdout.strip() == "x", r.stderr
    finally:
        subprocess.run(["rm", "-rf", tmp])


def test_admin_socket_and_host_loopback_are_unreachable(parent):
    listener, port = loopback_listener()
    tmp = tempfile.mkdtemp(prefix="dbx-it-run-")
    os.chmod(tmp, 0o755)
    admin = os.path.join(tmp, "dogeboxd.sock")
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(admin)
    unix.listen(1)
    os.chmod(admin, 0o777)  # even world-writable it must not be reachable
    abstract = socket.socket(socket.AF_UNIX)
    abstract_name = unique("dbx-it-abstract")
    abstract.bind("\0" + abstract_name)
    abstract.listen(1)
    try:
        r = run_sandbox(py(textwrap.dedent("""
            import os, socket, sys
            port, admin, abstract = int(sys.argv[1]), sys.argv[2], sys.argv[3]
            def attempt(fam, addr):
                s = socket.socket(fam)
                s.settimeout(5)
                try:
                    s.connect(addr)
                    return "connected"
                except OSError as e:
                    return type(e).__name__
            print("tcp", attempt(socket.AF_INET, ("127.0.0.1", port)))
            print("admin-exists", os.path.exists(admin))
            print("admin", attempt(socket.AF_UNIX, admin))
            print("abstract", attempt(socket.AF_UNIX, "\\0" + abstract))
            print("ifaces", " ".join(sorted(n for _, n in socket.if_nameindex())))
        """)) + [str(port), admin, abstract_name], parent=parent)
        assert r.returncode == 0, r.stderr
        got = dict(line.split(" ", 1) for line in r.stdout.splitlines())
        assert got["tcp"] == "ConnectionRefusedError"  # its own, empty loopback
        assert got["admin-exists"] == "False"
        assert got["admin"] == "FileNotFoundError"
        assert got["abstract"] == "ConnectionRefusedError"
        assert got["ifaces"] == "lo"
        # the host listener never saw a connection
        listener.settimeout(0)
        with pytest.raises(BlockingIOError):
            listener.accept()
    finally:
        listener.close()
        unix.close()
        abstract.close()
        subprocess.run(["rm", "-rf", tmp])


FORK_BOMB = textwrap.dedent("""
    import errno, os, time
    children, err = [], None
    for _ in range(1000):
        try:
            pid = os.fork()
        except OSError as e:
            err = errno.errorcode[e.errno]
            break
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        children.append(pid)
    tasks = sum(1 for p in os.listdir("/proc") if p.isdigit())
    print(len(children), err, tasks)
""")


def test_fork_bomb_stops_at_the_pids_limit(parent):
    r = run_sandbox(py(FORK_BOMB), "--pids", "32", parent=parent)
    assert r.returncode == 0, r.stderr
    forked, err, tasks = r.stdout.split()
    assert err == "EAGAIN"
    # pup-init, python and its children: never more than the limit
    assert int(tasks) <= 32
    assert int(forked) == int(tasks) - 2
    # a real shell fork bomb is contained too, and ends with the sandbox
    # when its shell does (whatever the shell makes of failed forks)
    r = run_sandbox(sh("f() { f | f & }; f; sleep 1; echo done"), "--pids", "64", parent=parent,
                    timeout=120)
    assert "Cannot fork" in r.stderr or "fork" in r.stderr.lower()
    assert wait_until(lambda: not host_pids_with_uid(DEV_UID_BASE + PUP_UID))


def test_memory_hog_is_oom_killed_and_reported(parent):
    r = run_sandbox(py("b = []\nwhile True: b.append(bytearray(16 << 20))"), "--memory", "64M",
                    parent=parent)
    assert r.returncode == 128 + signal.SIGKILL
    assert "out of memory" in r.stderr


def test_command_errors_are_reported(parent):
    r = run_sandbox(["/nonexistent/program"], parent=parent)
    assert r.returncode == 127
    assert "cannot run /nonexistent/program: No such file or directory" in r.stderr
    r = run_sandbox(["/etc/passwd"], parent=parent)
    assert r.returncode == 126
    r = run_sandbox(sh("exit 42"), parent=parent)
    assert r.returncode == 42
    r = run_sandbox(sh("kill -TERM $$"), parent=parent)
    assert r.returncode == 128 + signal.SIGTERM
    r = subprocess.run(sandbox_cmd() + ["--memory", "lots", "--", "/bin/true"],
                       capture_output=True, text=True, env=env_with())
    assert r.returncode == 2
    assert "--memory 'lots' is not a size" in r.stderr
    r = subprocess.run(sandbox_cmd() + ["--pup", "/nonexistent-pup-dir", "--", "/bin/true"],
                       capture_output=True, text=True, env=env_with())
    assert r.returncode == 125
    assert "--pup /nonexistent-pup-dir" in r.stderr


def test_sigkill_of_the_parent_leaves_no_sandbox_running(parent):
    proc = subprocess.Popen(sandbox_cmd() + ["--cgroup-parent", parent, "--"]
                            + sh("sleep 60 & sleep 60 & echo ready; wait"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env_with())
    try:
        assert proc.stdout.readline().strip() == "ready"
        uid = DEV_UID_BASE + PUP_UID
        assert len(host_pids_with_uid(uid)) >= 4  # pup-init, sh, two sleeps
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert wait_until(lambda: not host_pids_with_uid(uid)), host_pids_with_uid(uid)
    finally:
        proc.stdout.close()
        proc.stderr.close()
    # only an empty cgroup is left, for the next start's cleanup (the fixture)
    leftovers = [e for d in cgroup_dirs(parent) if os.path.isdir(d)
                 for e in os.listdir(d) if e.startswith("pup-dev-")]
    assert leftovers


def test_stop_by_signal_is_graceful(parent):
    proc = subprocess.Popen(sandbox_cmd() + ["--cgroup-parent", parent, "--"]
                            + sh("trap 'echo got-term; exit 3' TERM; echo ready; "
                                 "while :; do sleep 0.05; done"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env_with(), stdin=subprocess.DEVNULL)
    try:
        assert proc.stdout.readline().strip() == "ready"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 3
        assert proc.stdout.read().strip() == "got-term"
    finally:
        proc.stdout.close()
        proc.stderr.close()
    assert wait_until(lambda: not host_pids_with_uid(DEV_UID_BASE + PUP_UID))
