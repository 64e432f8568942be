"""Every route the daemon registers is guarded: over TCP without a session
it answers 401, except the documented open set (docs/api.md,
"Authentication"). The list comes from the daemon itself (GET /test/routes,
test builds only), so a route added later is covered without editing this
file; only widening the open set needs an edit here, on purpose."""
import json
import re

import requests

from auth_helpers import bearer

# The documented open set: login, and the web panel's static files (the
# SPA fallback, any method, prefix "/"). Everything else needs a session
# (ROUTE_SETUP routes only until setup completes).
OPEN = {("POST", "/authenticate"),
        ("POST", "/authenticate.v1.AuthenticateService/Authenticate"),
        (None, "/")}
# Never called with a valid session here: they act on the host itself.
DANGEROUS = re.compile(r"reboot|shutdown|^/system/update$")


def routes(daemon):
    code, body = daemon.admin("GET", "/test/routes")
    assert code == 200, body
    return json.loads(body)["routes"]


def concrete(pattern):
    return re.sub(r"\{[^}]+\}", "x", pattern)


def call(daemon, route, headers=None):
    method = route["method"] or "GET"
    kw = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    return requests.request(method, daemon.url + concrete(route["pattern"]), timeout=30,
                            headers=headers or {}, allow_redirects=False, **kw)


def test_every_route_needs_a_session(daemon):
    rs = routes(daemon)
    assert len(rs) > 30
    flagged_open = {(r["method"], r["pattern"]) for r in rs if r["open"]}
    assert flagged_open <= OPEN, "routes opened without updating docs/api.md and this test: %s" \
        % (flagged_open - OPEN)

    # During setup: setup routes open, the rest closed.
    for r in rs:
        if (r["method"], r["pattern"]) in OPEN or r["setup"]:
            continue
        resp = call(daemon, r)
        assert resp.status_code == 401, (r, resp.status_code, resp.text[:200])

    daemon.setup()
    checked = 0
    for r in rs:
        key = (r["method"], r["pattern"])
        resp = call(daemon, r)
        if key in OPEN:
            assert resp.status_code != 401, (r, resp.text[:200])
            continue
        assert resp.status_code == 401, (r, resp.status_code, resp.text[:200])
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        assert resp.json()["error"]["code"] == 401
        checked += 1
    assert checked >= len(rs) - len(OPEN)

    # With a valid session none of them is a 401 (logout last: it ends it).
    for r in sorted(rs, key=lambda r: r["pattern"] == "/logout"):
        if DANGEROUS.search(r["pattern"]):
            continue
        resp = call(daemon, r, bearer(daemon.token))
        assert resp.status_code != 401, (r, resp.text[:200])


def test_admin_socket_reaches_every_route_without_a_token(daemon):
    daemon.setup()
    for r in routes(daemon):
        if DANGEROUS.search(r["pattern"]) or r["pattern"] == "/logout":
            continue
        method = r["method"] or "GET"
        code, body = daemon.admin(method, concrete(r["pattern"]),
                                  {} if method in ("POST", "PUT", "PATCH") else None)
        assert code != 401, (r, body[:200])
