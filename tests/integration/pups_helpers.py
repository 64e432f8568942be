"""Helpers for lifecycle tests: a disk source of the example pups, jobs,
and what the sandboxes leave on the host."""
import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time

from harness import REPO, Daemon

EXAMPLES = os.path.join(REPO, "examples")


def copy_examples(dest=None):
    """A private copy of examples/ (tests may edit it)."""
    dest = dest or tempfile.mkdtemp(prefix="dbx-examples-")
    for name in os.listdir(EXAMPLES):
        src = os.path.join(EXAMPLES, name)
        if os.path.isdir(src):
            shutil.copytree(src, os.path.join(dest, name))
    os.chmod(dest, 0o755)
    return dest


def add_source(d, location):
    code, body = d.admin("PUT", "/source", {"location": location})
    assert code == 200, body
    srcs = json.loads(d.admin("GET", "/sources")[1])
    srcs = srcs.get("sources", srcs) if isinstance(srcs, dict) else srcs
    for s in srcs:
        if s["location"] == location:
            return s["id"]
    raise AssertionError("source not listed: %s" % srcs)



@contextlib.contextmanager
def example_box(**daemon_args):
    """A started daemon (Daemon(**daemon_args)) with a copy of the example
    pups as its disk source: yields (daemon, source id, examples folder);
    afterwards stops it (which must exit 0 when the body succeeded) and
    removes everything."""
    examples = copy_examples()
    d = Daemon(**daemon_args).start()
    try:
        src = add_source(d, examples)
        yield d, src, examples
    finally:
        rc = d.stop()
        d.cleanup()
        shutil.rmtree(examples, ignore_errors=True)
    assert rc == 0


def job(d, job_id):
    code, body = d.admin("GET", "/jobs/" + job_id)
    assert code == 200, body
    j = json.loads(body)
    return j.get("job", j)


def wait_job(d, job_id, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        j = job(d, job_id)
        if j["status"] in ("completed", "failed", "cancelled", "orphaned"):
            return j
        time.sleep(0.1)
    raise AssertionError("job %s did not finish: %s" % (job_id, job(d, job_id)))


def install(d, source, name, version="", wait=True):
    code, body = d.admin("PUT", "/pup", {"sourceId": source, "pupName": name,
                                         "pupVersion": version})
    assert code == 200, body
    jid = json.loads(body)["id"]
    if not wait:
        return jid
    return wait_job(d, jid)


def action(d, pup, act, wait=True):
    code, body = d.admin("POST", "/pup/%s/%s" % (pup, act))
    assert code == 200, (code, body)
    jid = json.loads(body)["id"]
    return wait_job(d, jid) if wait else jid


def states(d):
    return json.loads(d.admin("GET", "/system/bootstrap")[1])["states"]


def stats(d, pup):
    code, body = d.admin("GET", "/pup/%s/stats" % pup)
    assert code == 200, body
    return json.loads(body)


def state(d, pup):
    code, body = d.admin("GET", "/pup/%s" % pup)
    return json.loads(body) if code == 200 else None


def pup_by_name(d, name):
    for pid, st in states(d).items():
        if st["manifest"]["meta"]["name"] == name:
            return pid
    return None


def wait_for(fn, timeout=30, what="condition"):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))


def sandbox_pids(cgroup_parent):
    """Processes still in the daemon's pup cgroups (any hierarchy)."""
    pids = set()
    name = cgroup_parent.strip("/")
    for root, dirs, files in os.walk("/sys/fs/cgroup"):
        if name in root.split("/") and "cgroup.procs" in files:
            try:
                pids |= {int(x) for x in open(os.path.join(root, "cgroup.procs")).read().split()}
            except OSError:
                pass
        if root.count("/") > 6:
            dirs[:] = []
    return pids


def pup_init_processes(data_dir):
    """pup-init processes whose command line mentions this data dir's pups."""
    out = subprocess.run(["pgrep", "-a", "pup-init"], capture_output=True, text=True).stdout
    return [l for l in out.splitlines() if l.strip()]
