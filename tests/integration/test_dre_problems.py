"""When the firewall or the proxy cannot take a new configuration, the owner
is told: the pup that would start without its rules is refused with the
reason (a job error), and `GET /system/status` / `dbx status` name the
problem. The failures are injected (DBX_TEST_FAIL_AT, test builds only);
everything else is real: bridge, nftables, nginx.

Run as root: DBX_BUILD=<build> python3 -m pytest tests/integration/test_dre_problems.py
"""
import json

from pups_helpers import example_box, install, stats, wait_for


def box(fail_at):
    return example_box(net=True, env={"DBX_TEST_FAIL_AT": fail_at})


def network_problem(d):
    code, body = d.admin("GET", "/system/status")
    assert code == 200, body
    return json.loads(body)["networkProblem"]


def test_firewall_failure_refuses_the_start_and_is_reported():
    with box("firewall") as (d, src, _):
        assert network_problem(d) is None  # networking is brought up by the first pup
        j = install(d, src, "Hello Web")
        assert j["status"] == "failed", j
        assert "pup networking is not available: the firewall was not changed: " \
               "injected failure" in j["errorMessage"], j
        assert stats(d, j["pupID"])["status"] != "running"
        assert "the firewall was not changed" in network_problem(d)
        out = d.dbx("status")
        assert out.returncode == 0, out.stderr
        assert "network   the firewall was not changed: injected failure" in out.stdout, out.stdout


def test_proxy_failure_is_reported_and_pups_still_run():
    """nginx keeps its last good configuration; the pup (which needs no
    proxy route of its own to be safe) runs, and the owner sees why its
    web UI or interfaces may not be served."""
    with box("proxy") as (d, src, _):
        j = install(d, src, "Hello Web")
        assert j["status"] == "completed", j
        wait_for(lambda: stats(d, j["pupID"])["status"] == "running", what="Hello Web running")
        assert "the proxy (nginx) was not changed: injected failure" in network_problem(d)
        out = d.dbx("status")
        assert "network   the proxy (nginx) was not changed" in out.stdout, out.stdout


def test_no_problem_reported_when_all_is_well():
    with box("") as (d, src, _):
        j = install(d, src, "Hello Web")
        assert j["status"] == "completed", j
        assert network_problem(d) is None
        assert "network   ok" in d.dbx("status").stdout
