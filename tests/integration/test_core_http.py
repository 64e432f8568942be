"""HTTP core: bootstrap shape, error bodies, CORS, limits."""
import json
import socket

import requests


def test_bootstrap_shape(daemon):
    r = daemon.get("/system/bootstrap")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    assert r.headers["Cache-Control"] == "no-store"
    b = r.json()
    assert set(b) >= {"ts", "version", "devMode", "assets", "states", "stats", "flags",
                      "setupFacts", "sidebarPreferences"}
    assert isinstance(b["ts"], int) and b["ts"] > 1_700_000_000_000
    assert b["version"]["release"].startswith("v")
    assert set(b["version"]["git"]) == {"commit", "dirty"}
    assert b["states"] == {} and b["stats"] == {} and b["assets"] == {}
    assert b["flags"] == {"isFirstTimeWelcomeComplete": False, "isDeveloperMode": False}
    sf = b["setupFacts"]
    assert sf["hasGeneratedKey"] is False
    assert sf["hasCompletedInitialConfiguration"] is False
    assert len(sf["setupSessionId"]) == 32 and int(sf["setupSessionId"], 16) >= 0
    assert b["sidebarPreferences"] == {"sidebarPups": []}


def test_head_answers_like_get(daemon):
    r = daemon.request("HEAD", "/system/bootstrap")
    assert r.status_code == 200 and r.content == b""


def test_404_body(daemon):
    # paths under the API's first segments are the API's: a JSON 404
    r = daemon.get("/system/no-such-route")
    assert r.status_code == 404
    assert r.json() == {"error": {"code": 404,
                                  "message": "no such route: GET /system/no-such-route"}}
    r = daemon.request("DELETE", "/no/such/route")
    assert r.status_code == 405 and r.json()["error"]["code"] == 405
    # any other GET is the panel's (a single-page app routes on the client)
    r = daemon.get("/no/such/route")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")


def test_405_with_allow(daemon):
    r = daemon.request("DELETE", "/system/bootstrap")
    assert r.status_code == 405
    assert "GET" in r.headers["Allow"] and "HEAD" in r.headers["Allow"]
    e = r.json()["error"]
    assert e["code"] == 405 and "DELETE" in e["message"]


def test_ws_path_without_slash_redirects(daemon):
    r = daemon.get("/ws/state", allow_redirects=False)
    assert r.status_code == 301 and r.headers["Location"] == "/ws/state/"


def test_400_malformed_json(daemon):
    daemon.login()  # a non-open route over TCP needs a session
    r = daemon.post("/test/echo", data=b'{"a": ')
    assert r.status_code == 400
    msg = r.json()["error"]["message"]
    assert r.json()["error"]["code"] == 400
    assert msg.startswith("invalid request body: malformed JSON at line 1"), msg


def test_400_empty_and_wrong_type(daemon):
    daemon.login()  # a non-open route over TCP needs a session
    r = daemon.post("/test/echo", data=b"")
    assert r.status_code == 400
    assert "empty body" in r.json()["error"]["message"]
    r = daemon.post("/test/echo", data=b"[1]")
    assert r.status_code == 400
    assert "a JSON object is expected" in r.json()["error"]["message"]


def test_400_too_deep(daemon):
    daemon.login()  # a non-open route over TCP needs a session
    body = '{"a":' * 40 + "1" + "}" * 40
    r = daemon.post("/test/echo", data=body)
    assert r.status_code == 400
    assert "nested 40 levels deep: at most 32" in r.json()["error"]["message"]


def test_echo_ok_and_unicode(daemon):
    daemon.login()  # a non-open route over TCP needs a session
    r = daemon.post("/test/echo", json={"name": "ÐogeBox ✓", "n": [1, 2]})
    assert r.status_code == 200 and r.json() == {"name": "ÐogeBox ✓", "n": [1, 2]}


def test_413_content_length(daemon):
    daemon.login()  # a non-open route over TCP needs a session
    r = daemon.post("/test/echo", data=b"x" * (1024 * 1024 + 1))
    assert r.status_code == 413
    assert "at most 1048576 bytes" in r.json()["error"]["message"]
    # exactly the limit is accepted (and then fails as JSON, a 400)
    r = daemon.post("/test/echo", data=b" " * (1024 * 1024 - 2) + b"{}")
    assert r.status_code == 200


def test_413_chunked(daemon):
    """Without Content-Length the limit is enforced while reading."""
    s = socket.create_connection(("127.0.0.1", daemon.port))
    s.sendall(b"POST /test/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"%x\r\n" % 65536 + b"y" * 65536 + b"\r\n"
    try:
        for _ in range(40):  # 2.5 MiB offered
            s.sendall(chunk)
        s.sendall(b"0\r\n\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass
    s.settimeout(10)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            b = s.recv(4096)
            if not b:
                break
            data += b
    except ConnectionResetError:
        pass
    s.close()
    assert data.startswith(b"HTTP/1.1 413"), data[:100]


def test_cors_preflight(daemon):
    r = daemon.request("OPTIONS", "/system/bootstrap", headers={
        "Origin": "http://panel.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert r.status_code == 204
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in r.headers["Access-Control-Allow-Methods"]
    assert r.headers["Access-Control-Allow-Headers"] == "authorization, content-type"
    assert "Origin" in r.headers["Vary"]


def test_cors_simple_request(daemon):
    r = daemon.get("/system/bootstrap", headers={"Origin": "http://x"})
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    r = daemon.get("/system/bootstrap")
    assert "Access-Control-Allow-Origin" not in r.headers


def test_long_path_414(daemon):
    r = daemon.get("/" + "a" * 3000)
    assert r.status_code in (414, 404)


def test_keepalive_many_requests(daemon):
    s = requests.Session()
    for _ in range(200):
        assert s.get(daemon.url + "/system/bootstrap").status_code == 200


def test_garbage_request_does_not_kill_daemon(daemon):
    for junk in [b"\x00\x01\x02\r\n\r\n", b"GET /" + b"A" * 100000 + b" HTTP/1.1\r\n\r\n",
                 b"POST /test/echo HTTP/1.1\r\nContent-Length: -5\r\n\r\n"]:
        s = socket.create_connection(("127.0.0.1", daemon.port))
        s.sendall(junk)
        s.settimeout(5)
        try:
            s.recv(4096)
        except OSError:
            pass
        s.close()
    assert daemon.get("/system/bootstrap").status_code == 200


def test_413_huge_content_length_answered_at_once(daemon):
    """A body far past the limit is not read at all: the answer comes first."""
    s = socket.create_connection(("127.0.0.1", daemon.port))
    s.sendall(b"POST /test/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n"
              b"Content-Type: application/json\r\n\r\n")
    s.settimeout(10)
    data = b""
    while b"\r\n\r\n" not in data:
        b = s.recv(4096)
        if not b:
            break
        data += b
    s.close()
    assert data.startswith(b"HTTP/1.1 413"), data[:100]
