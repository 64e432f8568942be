"""Login (REST and Connect), logout, sessions (restart, idle expiry,
lifetime, cap), rate limiting, password change with the password or the
recovery phrase, token transport, the admin socket."""
import json
import os
import sqlite3
import time

import requests
import websocket

from auth_helpers import PASSWORD, bearer, db_query, set_settings
from harness import Daemon

CONNECT = "/authenticate.v1.AuthenticateService/Authenticate"
CONNECT_HEADERS = {"Content-Type": "application/json", "Connect-Protocol-Version": "1"}


def status(d, token):
    return d.request("GET", "/system/status", headers=bearer(token)).status_code


def test_login_rest_and_connect(daemon):
    r = daemon.post("/authenticate", json={"password": PASSWORD})
    assert r.status_code == 409 and "no master key yet" in r.json()["error"]["message"]
    r = daemon.post(CONNECT, data=json.dumps({"password": PASSWORD}), headers=CONNECT_HEADERS)
    assert r.status_code == 400 and r.json()["code"] == "failed_precondition"
    daemon.setup()

    r = daemon.post("/authenticate", json={"password": PASSWORD}, headers={"Authorization": ""})
    assert r.status_code == 200, r.text
    j = r.json()
    assert j["success"] is True and len(j["token"]) == 64
    assert status(daemon, j["token"]) == 200

    r = daemon.post(CONNECT, data=json.dumps({"password": PASSWORD}), headers=CONNECT_HEADERS)
    assert r.status_code == 200, r.text
    assert set(r.json()) == {"token"} and len(r.json()["token"]) == 64
    assert status(daemon, r.json()["token"]) == 200

    # wrong passwords: REST 403 as upstream, Connect 400 invalid_argument
    r = daemon.post("/authenticate", json={"password": "wrong"})
    assert r.status_code == 403 and r.json()["error"]["message"] == "incorrect password"
    r = daemon.post(CONNECT, data=json.dumps({"password": "wrong"}), headers=CONNECT_HEADERS)
    assert r.status_code == 400
    assert r.json() == {"code": "invalid_argument", "message": "incorrect password"}
    r = daemon.post(CONNECT, data=json.dumps({"password": ""}), headers=CONNECT_HEADERS)
    assert r.status_code == 400 and r.json()["code"] == "invalid_argument"
    r = daemon.post(CONNECT, data="{", headers=CONNECT_HEADERS)
    assert r.status_code == 400 and r.json()["code"] == "invalid_argument"
    r = daemon.post(CONNECT, data=b"\x0a\x01x", headers={"Content-Type": "application/proto"})
    assert r.status_code == 415 and r.json()["code"] == "unimplemented"
    r = daemon.post("/authenticate", json={"password": 7})
    assert r.status_code == 400
    r = daemon.post("/authenticate", data=b"")
    assert r.status_code == 400 and "empty body" in r.json()["error"]["message"]


def test_rate_limit_and_reset(daemon):
    daemon.setup()
    # three free failures, then 429 with Retry-After before any hashing
    for _ in range(3):
        assert daemon.post("/authenticate", json={"password": "nope"}).status_code == 403
    r = daemon.post("/authenticate", json={"password": PASSWORD})
    assert r.status_code == 429, r.text
    assert int(r.headers["Retry-After"]) >= 1
    assert "too many failed attempts" in r.json()["error"]["message"]
    r = daemon.post(CONNECT, data=json.dumps({"password": PASSWORD}), headers=CONNECT_HEADERS)
    assert r.status_code == 429 and r.json()["code"] == "resource_exhausted"
    # the wait grows: after waiting it out, one more failure means 2 s
    time.sleep(int(r.headers["Retry-After"]) + 0.1)
    assert daemon.post("/authenticate", json={"password": "nope"}).status_code == 403
    r = daemon.post("/authenticate", json={"password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) == 2
    time.sleep(2.1)
    # a success resets: three free failures again
    assert daemon.post("/authenticate", json={"password": PASSWORD}).status_code == 200
    for _ in range(3):
        assert daemon.post("/authenticate", json={"password": "nope"}).status_code == 403
    assert daemon.post("/authenticate", json={"password": "nope"}).status_code == 429
    # wrong current passwords in a password change count too
    r = daemon.post("/change-password", json={"current_password": "x", "new_password": "y"})
    assert r.status_code == 429


def test_logout_and_bad_tokens(daemon):
    daemon.setup()
    t1 = daemon.token
    t2 = daemon.post("/authenticate", json={"password": PASSWORD}).json()["token"]
    assert daemon.post("/logout", headers=bearer(t1)).json() == {"success": True}
    assert status(daemon, t1) == 401
    assert status(daemon, t2) == 200
    assert daemon.post("/logout", headers=bearer(t1)).status_code == 401
    for auth, msg in [("Bearer " + "0" * 64, "invalid or revoked"),
                      ("Bearer nothex", "invalid or revoked"),
                      ("Basic dXNlcjpwYXNz", "must be 'Bearer <token>'"),
                      ("Bearer " + t2.upper()[:63], "invalid or revoked")]:
        r = daemon.request("GET", "/system/status", headers={"Authorization": auth})
        assert r.status_code == 401 and msg in r.json()["error"]["message"], (auth, r.text)
    # scheme is case-insensitive, HTTP routes ignore ?token=
    assert daemon.request("GET", "/system/status",
                          headers={"Authorization": "bearer " + t2}).status_code == 200
    assert requests.get(daemon.url + "/system/status?token=" + t2).status_code == 401
    # logout over the admin socket without a token: nothing to log out
    code, body = daemon.admin("POST", "/logout")
    assert code == 400 and "no session" in body


def test_websocket_token_in_query(daemon):
    daemon.setup()
    url = "ws://127.0.0.1:%d/ws/state/" % daemon.port
    try:
        websocket.create_connection(url, timeout=10)
        assert False, "upgrade without a token after setup"
    except websocket.WebSocketBadStatusException as e:
        assert e.status_code == 401
    ws = websocket.create_connection(url + "?token=" + daemon.token, timeout=10)
    assert json.loads(ws.recv())["type"] == "bootstrap"
    ws.close()
    ws = websocket.create_connection(url, timeout=10, header=["Authorization: Bearer " +
                                                               daemon.token])
    assert json.loads(ws.recv())["type"] == "bootstrap"
    ws.close()


def test_admin_socket_needs_no_token(daemon):
    daemon.setup()
    code, body = daemon.admin("GET", "/system/status")
    assert code == 200 and json.loads(body)["version"]
    code, _ = daemon.admin("GET", "/system/bootstrap")
    assert code == 200
    # ...but a password change still needs the password or the phrase
    code, body = daemon.admin("POST", "/change-password", {"new_password": "n"})
    assert code == 400 and "Either current_password or seedphrase" in body


def test_sessions_survive_restart_and_expire():
    d = Daemon().start()
    try:
        d.setup()
        token = d.token
        assert d.stop() == 0
        d.start()
        assert status(d, token) == 200
        rows = db_query(d, "SELECT length(hash), client FROM auth_sessions")
        assert (32, "127.0.0.1") in rows
        # the token itself is in no file
        assert token.encode() not in open(d.data_dir + "/dogebox.db", "rb").read()

        # idle timeout and lifetime are settings
        assert d.stop() == 0
        set_settings(d, **{"auth.sessionIdleSeconds": 3, "auth.sessionLifetimeSeconds": 6})
        d.start()
        assert status(d, token) == 200
        time.sleep(1.2)
        assert status(d, token) == 200  # used within the idle time
        time.sleep(3.3)
        r = d.request("GET", "/system/status", headers=bearer(token))
        assert r.status_code == 401 and "without use" in r.json()["error"]["message"]
        # absolute lifetime: in constant use, gone after 6 s
        t = d.post("/authenticate", json={"password": PASSWORD}).json()["token"]
        deadline = time.time() + 5
        while time.time() < deadline:
            assert status(d, t) == 200
            time.sleep(0.5)
        time.sleep(1.2)
        r = d.request("GET", "/system/status", headers=bearer(t))
        assert r.status_code == 401 and "maximum lifetime" in r.json()["error"]["message"]
        # an idle session nobody presents again is swept from SQLite too
        d.token = None
        d.post("/authenticate", json={"password": PASSWORD})
        assert db_query(d, "SELECT count(*) FROM auth_sessions") == [(1,)]
        deadline = time.time() + 10
        while db_query(d, "SELECT count(*) FROM auth_sessions") != [(0,)]:
            assert time.time() < deadline, "idle session never swept"
            time.sleep(0.2)
        assert d.stop() == 0
        # a bad setting stops the daemon with a clear message
        set_settings(d, **{"auth.sessionIdleSeconds": "soon"})
        try:
            d.start(timeout=10)
            assert False, "started with a bad setting"
        except RuntimeError as e:
            assert "auth.sessionIdleSeconds" in str(e) and "whole number" in str(e)
    finally:
        d.cleanup()


def test_session_cap_evicts_least_recently_used():
    d = Daemon().start()
    try:
        d.setup()
        assert d.stop() == 0
        set_settings(d, **{"auth.sessionsMax": 3})
        d.start()
        d.token = None  # the setup session stays unused from here on
        tokens = []
        for _ in range(3):
            tokens.append(d.post("/authenticate", json={"password": PASSWORD}).json()["token"])
        assert all(status(d, t) == 200 for t in tokens)  # all three are live (the setup one went)
        status(d, tokens[0])  # 0 is now the most recently used; 1 the least
        time.sleep(0.01)
        status(d, tokens[2])
        new = d.post("/authenticate", json={"password": PASSWORD}).json()["token"]
        assert status(d, new) == 200
        assert status(d, tokens[1]) == 401
        assert status(d, tokens[0]) == 200 and status(d, tokens[2]) == 200
        assert db_query(d, "SELECT count(*) FROM auth_sessions") == [(3,)]
    finally:
        d.cleanup()


def test_change_password_revokes_every_session(daemon):
    daemon.setup()
    other = daemon.post("/authenticate", json={"password": PASSWORD}).json()["token"]
    r = daemon.post("/change-password",
                    json={"current_password": "wrong", "new_password": "new pass"})
    assert r.status_code == 403 and "Invalid credentials" in r.json()["error"]["message"]
    for body, msg in [({"current_password": PASSWORD}, "New password cannot be empty"),
                      ({"current_password": PASSWORD, "new_password": ""},
                       "New password cannot be empty"),
                      ({"new_password": "x"}, "Either current_password or seedphrase"),
                      ({"current_password": 1, "new_password": "x"}, "must be a string"),
                      ({"seedphrase": {"a": 1}, "new_password": "x"}, "seedphrase must be")]:
        r = daemon.post("/change-password", json=body)
        assert r.status_code == 400 and msg in r.json()["error"]["message"], (body, r.text)

    old = daemon.token
    r = daemon.post("/change-password",
                    json={"current_password": PASSWORD, "new_password": "new pass"})
    assert r.status_code == 200, r.text
    fresh = r.json()["token"]
    assert r.json()["success"] is True and len(fresh) == 64
    assert status(daemon, old) == 401 and status(daemon, other) == 401
    assert status(daemon, fresh) == 200
    assert daemon.post("/authenticate", json={"password": PASSWORD}).status_code == 403
    assert daemon.post("/authenticate", json={"password": "new pass"}).status_code == 200
    assert db_query(daemon, "SELECT count(*) FROM auth_sessions") == [(2,)]


def test_reset_password_with_recovery_phrase(daemon):
    words = daemon.post("/keys/create-master", json={"password": PASSWORD}).json()
    daemon.token, words = words["token"], words["seedPhrase"]
    bad = list(words)
    bad[3], bad[4] = bad[4], bad[3]
    cases = [(" ".join(words[:23]), "Invalid recovery phrase"),          # 23 words
             (" ".join(words[:23] + ["dogecoin"]), "Invalid recovery phrase"),  # not a word
             (" ".join(["abandon"] * 23 + ["art"]), "does not belong to this box")]
    if bad != words:
        cases.append((" ".join(bad), "Invalid recovery phrase"))
    for i, (phrase, msg) in enumerate(cases):
        if i >= 3:  # three free failures, then 1 s, 2 s, ... (rate limit)
            time.sleep(2 ** (i - 3) + 0.1)
        r = daemon.post("/change-password", json={"seedphrase": phrase, "new_password": "n"})
        assert r.status_code == 403 and msg in r.json()["error"]["message"], (phrase, r.text)
    time.sleep(2 ** (len(cases) - 3) + 0.1)
    # upper case and commas are fine, and an array of words too; root over
    # the admin socket needs the phrase as well
    code, body = daemon.admin("POST", "/change-password",
                              {"seedphrase": ",".join(w.upper() for w in words),
                               "new_password": "via phrase"})
    assert code == 200, body
    assert "token" not in json.loads(body)  # none over the admin socket
    assert status(daemon, daemon.token) == 401
    assert daemon.post("/authenticate", json={"password": "via phrase"}).status_code == 200
    code, body = daemon.admin("POST", "/change-password",
                              {"seedphrase": words, "new_password": "again"})
    assert code == 200, body
    assert daemon.post("/authenticate", json={"password": "again"}).status_code == 200


def test_logout_all_signs_out_everywhere(daemon):
    first = daemon.login()
    second = daemon.post("/authenticate", json={"password": "correct horse battery staple"})
    assert second.status_code == 200
    other = second.json()["token"]
    r = daemon.request("POST", "/logout", json={"all": "yes"})
    assert r.status_code == 400 and "true or false" in r.json()["error"]["message"]
    r = daemon.request("POST", "/logout", json={"all": True})
    assert r.status_code == 200 and r.json()["success"] is True
    for tok in (first, other):
        r = daemon.get("/system/status", headers={"Authorization": "Bearer " + tok})
        assert r.status_code == 401


def weak_argon2id(password):
    """An Argon2id hash string made with weaker parameters than today's (as
    an older release might have stored), by libsodium itself."""
    import ctypes
    from sources_helpers import sodium
    lib = sodium()
    out = ctypes.create_string_buffer(128)
    pw = password.encode()
    lib.crypto_pwhash_str_alg.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulonglong,
                                          ctypes.c_ulonglong, ctypes.c_size_t, ctypes.c_int]
    # opslimit 1, memlimit 8 MiB, crypto_pwhash_ALG_ARGON2ID13 = 2
    assert lib.crypto_pwhash_str_alg(out, pw, len(pw), 1, 8 << 20, 2) == 0
    return out.value.decode()


def test_weak_password_hash_is_upgraded_at_login():
    d = Daemon().start()
    try:
        d.setup()
        token = d.token
        strong = db_query(d, "SELECT password_hash FROM auth_master")[0][0]
        assert "$m=65536,t=3," in strong, strong
        assert d.stop() == 0
        weak = weak_argon2id(PASSWORD)
        db = sqlite3.connect(os.path.join(d.data_dir, "dogebox.db"))
        db.execute("UPDATE auth_master SET password_hash = ?", (weak,))
        db.commit()
        db.close()
        d.start()
        assert d.post("/authenticate", json={"password": "wrong password!!"}).status_code == 403
        assert db_query(d, "SELECT password_hash FROM auth_master")[0][0] == weak
        r = d.post("/authenticate", json={"password": PASSWORD})
        assert r.status_code == 200, r.text
        upgraded = db_query(d, "SELECT password_hash FROM auth_master")[0][0]
        assert upgraded != weak and "$m=65536,t=3," in upgraded, upgraded
        assert "password hash was upgraded" in d.read_log()
        # same password, other sessions kept, the vault still opens
        assert status(d, token) == 200
        assert d.post("/authenticate", json={"password": PASSWORD}).status_code == 200
        assert d.stop() == 0
        d.start()
        r = d.post("/change-password", json={"current_password": PASSWORD,
                                              "new_password": "another long password"})
        assert r.status_code == 200, r.text
    finally:
        d.cleanup()
