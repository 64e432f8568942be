"""When the firewall or the proxy cannot take a new configuration, the owner
is told: the pup that would start without its rules is refused with the
reason (a job error), and `GET /system/status` / `dbx status` name the
problem. The failures are injected (DBX_TEST_FAIL_AT, test builds only);
everything else is real: bridge, nftables, nginx.

Run as root: DBX_BUILD=<build> python3 -m pytest tests/integration/test_dre_problems.py
"""
import shutil

from harness import Daemon
from pups_helpers import add_source, copy_examples, install, stats, wait_for


def run_box(fail_at):
    examples = copy_examples()
    d = Daemon(net=True, env={"DBX_TEST_FAIL_AT": fail_at}).start()
    return d, examples


def close_box(d, examples):
    d.stop()
    d.cleanup()
    shutil.rmtree(examples, ignore_errors=True)


def test_firewall_failure_refuses_the_start_and_is_reported():
    d, examples = run_box("firewall")
    try:
        code, body = d.admin("GET", "/system/status")
        assert code == 200 and '"networkProblem": null' in body.replace(":null", ": null"), body
        src = add_source(d, examples)
        j = install(d, src, "Hello Web")
        assert j["status"] == "failed", j
        assert "pup networking is not available: the firewall was not changed: " \
               "injected failure" in j["errorMessage"], j
        assert stats(d, j["pupID"])["status"] != "running"
        code, body = d.admin("GET", "/system/status")
        assert code == 200 and "the firewall was not changed" in body, body
        out = d.dbx("status")
        assert out.returncode == 0, out.stderr
        assert "network   the firewall was not changed: injected failure" in out.stdout, out.stdout
    finally:
        close_box(d, examples)


def test_proxy_failure_is_reported_and_pups_still_run():
    """nginx keeps its last good configuration; the pup (which needs no
    proxy route of its own to be safe) runs, and the owner sees why its
    web UI or interfaces may not be served."""
    d, examples = run_box("proxy")
    try:
        src = add_source(d, examples)
        j = install(d, src, "Hello Web")
        assert j["status"] == "completed", j
        wait_for(lambda: stats(d, j["pupID"])["status"] == "running", what="Hello Web running")
        code, body = d.admin("GET", "/system/status")
        assert code == 200 and "the proxy (nginx) was not changed: injected failure" in body, body
        out = d.dbx("status")
        assert "network   the proxy (nginx) was not changed" in out.stdout, out.stdout
    finally:
        close_box(d, examples)


def test_no_problem_reported_when_all_is_well():
    d, examples = run_box("")
    try:
        src = add_source(d, examples)
        j = install(d, src, "Hello Web")
        assert j["status"] == "completed", j
        code, body = d.admin("GET", "/system/status")
        assert code == 200 and '"networkProblem"' in body and "not changed" not in body, body
        assert "network   ok" in d.dbx("status").stdout
    finally:
        close_box(d, examples)
