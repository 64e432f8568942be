"""First-run setup: the master key, its recovery phrase, which routes are
open when, finishing setup, routes that only exist for upstream's OS, and
per-pup delegate keys written at install and when setup completes."""
import json
import os
import stat

import requests

from auth_helpers import PASSWORD, bearer, bip39_valid, db_query, delegate_keys, wordlist


def test_create_master_returns_valid_phrase_once(daemon):
    assert daemon.get("/keys").json() == {"keys": []}
    b = daemon.get("/system/bootstrap").json()["setupFacts"]
    assert b["hasGeneratedKey"] is False and b["hasCompletedInitialConfiguration"] is False
    assert b["hasConfiguredNetwork"] is True  # the host OS owns the network

    r = daemon.post("/keys/create-master", json={"password": PASSWORD})
    assert r.status_code == 200, r.text
    assert r.headers["Cache-Control"] == "no-store"
    j = r.json()
    assert j["success"] is True
    words = j["seedPhrase"]
    assert len(words) == 24 and all(w in wordlist() for w in words)
    assert bip39_valid(words)
    assert len(j["token"]) == 64 and int(j["token"], 16) >= 0
    # and a random one: a second box would get another phrase
    assert words != ["abandon"] * 23 + ["art"]

    keys = daemon.get("/keys", headers=bearer(j["token"])).json()["keys"]
    assert len(keys) == 1 and keys[0]["type"] == "master" and keys[0]["created"].endswith("Z")
    assert daemon.get("/system/bootstrap").json()["setupFacts"]["hasGeneratedKey"] is True

    # refused once a key exists: without a session the route is closed now,
    # with one it says why
    r = daemon.post("/keys/create-master", json={"password": "other"})
    assert r.status_code == 401
    r = daemon.post("/keys/create-master", json={"password": "other"}, headers=bearer(j["token"]))
    assert r.status_code == 403
    assert r.json()["error"]["message"] == "A master key already exists"
    code, body = daemon.admin("POST", "/keys/create-master", {"password": "other"})
    assert code == 403
    # the phrase is stored nowhere: not in the database, not in the data dir
    dump = b"".join(open(os.path.join(root, f), "rb").read()
                    for root, _, files in os.walk(daemon.data_dir) for f in files
                    if f != "daemon.log" and os.path.isfile(os.path.join(root, f)))
    assert " ".join(words).encode() not in dump
    assert PASSWORD.encode() not in dump


def test_create_master_bad_input(daemon):
    for body, status, msg in [({}, 400, "Password cannot be empty"),
                              ({"password": ""}, 400, "Password cannot be empty"),
                              ({"password": 5}, 400, "password must be a string"),
                              ({"password": "x" * 1025}, 400, "at most 1024 bytes")]:
        r = daemon.post("/keys/create-master", json=body)
        assert r.status_code == status, (body, r.text)
        assert msg in r.json()["error"]["message"]
    r = daemon.post("/keys/create-master", data=b"{")
    assert r.status_code == 400 and "invalid request body" in r.json()["error"]["message"]
    # the case of keys does not matter (Go decoding)
    r = daemon.post("/keys/create-master", json={"PASSWORD": "pw"})
    assert r.status_code == 200


def test_setup_route_classes(daemon):
    """Before the key: setup routes open. After it: only the GET ones, until
    setup completes. After setup: everything but login needs a session."""
    assert daemon.get("/system/status").status_code == 401
    assert daemon.get("/system/recovery-bootstrap").json() == {
        "recoveryFacts": {"installationBootMedia": "rw", "installationState": "unconfigured"}}
    r = daemon.post("/system/bootstrap", json={"sources": []})
    assert r.status_code == 403 and "create the master key first" in r.json()["error"]["message"]

    token = daemon.post("/keys/create-master", json={"password": PASSWORD}).json()["token"]
    assert daemon.get("/system/bootstrap").status_code == 200
    assert daemon.get("/keys").status_code == 200
    r = daemon.post("/system/bootstrap", json={"sources": []})
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    assert "needs a session" in r.json()["error"]["message"]

    r = daemon.post("/system/bootstrap", json={"sources": []}, headers=bearer(token))
    assert r.status_code == 200, r.text
    assert r.json() == {"success": True, "jobId": None}
    assert daemon.get("/system/bootstrap", headers=bearer(token)).json()[
        "setupFacts"]["hasCompletedInitialConfiguration"] is True
    for path in ["/system/bootstrap", "/keys", "/system/recovery-bootstrap", "/system/keymaps"]:
        assert daemon.get(path).status_code == 401, path
    assert daemon.get("/system/recovery-bootstrap", headers=bearer(token)).json()[
        "recoveryFacts"]["installationState"] == "configured"
    r = daemon.post("/system/bootstrap", json={}, headers=bearer(token))
    assert r.status_code == 403 and r.json()["error"]["message"] == \
        "System has already been initialised"


def test_bootstrap_body(daemon):
    daemon.login()
    for body, msg in [({"initialSSHKey": "not a key"}, "not an OpenSSH public key"),
                      ({"initialSSHKey": 5}, "initialSSHKey"),
                      ({"reflectorHost": "a\nb"}, "printable"),
                      ({"useFoundationOSBinaryCache": "yes"}, "useFoundationOSBinaryCache"),
                      ({"sources": "https://x"}, "sources must be an array"),
                      ({"sources": [""]}, "sources[0]"),
                      ({"sources": ["x"] * 17}, "at most 16")]:
        r = daemon.post("/system/bootstrap", json=body)
        assert r.status_code == 400, (body, r.text)
        assert msg in r.json()["error"]["message"], (body, r.text)
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@host"
    # upstream strips CR/LF; an empty body is also accepted (dpanel strips {})
    r = daemon.post("/system/bootstrap", json={
        "initialSSHKey": key + "\r\n", "reflectorHost": "reflector.example",
        "reflectorToken": "t0k", "useFoundationOSBinaryCache": True,
        "sources": ["/srv/pups"]})
    assert r.status_code == 200, r.text
    rows = dict(db_query(daemon, "SELECT key, value FROM settings"))
    ssh = json.loads(rows["ssh.keys"])
    assert len(ssh) == 1 and ssh[0]["key"] == key and len(ssh[0]["id"]) == 16
    assert json.loads(rows["setup.reflector"]) == {"host": "reflector.example", "token": "t0k"}
    assert json.loads(rows["setup.initialSources"]) == ["/srv/pups"]
    assert rows["setup.hasCompletedInitialConfiguration"] == "1"


def test_routes_not_managed_here(daemon):
    cases = [("GET", "/system/disks"), ("GET", "/system/install-disks"),
             ("POST", "/system/install"), ("POST", "/system/storage"),
             ("GET", "/system/keymaps"), ("POST", "/system/keymap"),
             ("GET", "/system/timezones"), ("POST", "/system/timezone"),
             ("POST", "/system/hostname"), ("GET", "/system/network/list"),
             ("PUT", "/system/network/set-pending")]
    for method, path in cases:  # setup routes: open during setup
        r = daemon.request(method, path, json={})
        assert r.status_code == 501, (method, path, r.text)
        assert "is not managed by this daemon" in r.json()["error"]["message"]
    # the ones upstream guards always need a session first
    for method, path in [("GET", "/system/keymap"), ("GET", "/system/timezone"),
                         ("POST", "/system/network/test"), ("PUT", "/system/network/test"),
                         ("POST", "/system/network/connect")]:
        assert daemon.request(method, path).status_code == 401
    daemon.setup()
    r = daemon.get("/system/timezone")
    assert r.status_code == 501 and "timedatectl" in r.json()["error"]["message"]
    assert daemon.request("PUT", "/system/network/test").status_code == 501


def pup_dir(daemon, pid):
    d = os.path.join(daemon.data_dir, "storage", pid)
    os.makedirs(d, exist_ok=True)
    return d


def read_keys(d):
    return (open(os.path.join(d, "delegated.key")).read(),
            open(os.path.join(d, "delegated.extended.key")).read())


def test_pup_keys_before_and_after_setup(daemon):
    """Pups installed before the master key get their keys when it is
    created; later installs get theirs at once; N is stable per pup."""
    a, b, c = (pup_dir(daemon, p) for p in ("pup-a", "pup-b", "pup-c"))
    code, body = daemon.admin("POST", "/test/pup-keys",
                              {"pupId": "pup-a", "storageDir": a, "uid": 4000, "gid": 4000})
    assert code == 409 and "when the owner creates the master key" in body
    assert not os.path.exists(os.path.join(a, "delegated.key"))
    code, _ = daemon.admin("POST", "/test/pups", {"pups": [
        {"pupId": "pup-a", "storageDir": a, "uid": 4000, "gid": 4000},
        {"pupId": "pup-b", "storageDir": b, "uid": 4001, "gid": 4001}]})
    assert code == 200

    r = daemon.post("/keys/create-master", json={"password": PASSWORD})
    words = r.json()["seedPhrase"]
    for d, n, uid in [(a, 1, 4000), (b, 2, 4001)]:
        assert read_keys(d) == delegate_keys(words, n)
        st = os.stat(os.path.join(d, "delegated.key"))
        assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == uid and st.st_gid == uid
        assert read_keys(d)[1].startswith("dgpv")

    # installing needs no login, and never will (no session at all here)
    code, body = daemon.admin("POST", "/test/pup-keys",
                              {"pupId": "pup-c", "storageDir": c, "uid": 0, "gid": 0})
    assert code == 200, body
    assert read_keys(c) == delegate_keys(words, 3)
    # the parent is a root-only file, checked against SQLite
    parent = os.path.join(daemon.data_dir, "keys", "delegate-parent")
    assert stat.S_IMODE(os.stat(parent).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(parent)).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(os.path.join(daemon.data_dir, "dogebox.db")).st_mode) == 0o600
    rows = db_query(daemon, "SELECT pup_id, key_index FROM auth_delegates ORDER BY key_index")
    assert rows == [("pup-a", 1), ("pup-b", 2), ("pup-c", 3)]


def test_pup_keys_refuse_symlinks(daemon):
    daemon.login()
    real = pup_dir(daemon, "real")
    link = os.path.join(daemon.data_dir, "storage", "link")
    os.symlink(real, link)
    code, body = daemon.admin("POST", "/test/pup-keys",
                              {"pupId": "link", "storageDir": link, "uid": 0, "gid": 0})
    assert code == 400 and "symlink" in body
    victim = os.path.join(daemon.data_dir, "victim")
    open(victim, "w").write("precious")
    os.symlink(victim, os.path.join(real, "delegated.key"))
    code, body = daemon.admin("POST", "/test/pup-keys",
                              {"pupId": "real", "storageDir": real, "uid": 0, "gid": 0})
    assert code == 200, body
    assert open(victim).read() == "precious"
    assert not os.path.islink(os.path.join(real, "delegated.key"))


def test_lost_parent_is_restored_at_login(daemon):
    words = daemon.post("/keys/create-master", json={"password": PASSWORD}).json()["seedPhrase"]
    parent = os.path.join(daemon.data_dir, "keys", "delegate-parent")
    os.unlink(parent)
    d = pup_dir(daemon, "p1")
    code, body = daemon.admin("POST", "/test/pup-keys",
                              {"pupId": "p1", "storageDir": d, "uid": 0, "gid": 0})
    assert code == 400 and "re-derived at the next login" in body
    assert daemon.post("/authenticate", json={"password": PASSWORD}).status_code == 200
    assert os.path.exists(parent)
    code, body = daemon.admin("POST", "/test/pup-keys",
                              {"pupId": "p1", "storageDir": d, "uid": 0, "gid": 0})
    assert code == 200, body
    assert read_keys(d) == delegate_keys(words, 1)
