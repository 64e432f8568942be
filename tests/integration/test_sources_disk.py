"""Disk sources through the real daemon: adding (validation, duplicates),
the store listing in the upstream shape, invalid versions, refresh after
changes, the last good catalog kept on failure and across restarts,
removal (refused while installed pups came from the source), fetching a
payload, and the dbx commands."""
import json
import os
import shutil
import tempfile

import pytest

from harness import REPO, Daemon
from sources_helpers import (DOGEORG, FIXTURES, TIMEOUT_MS, add, call, delete_fake_pup, error_of,
                             insert_fake_pup, native_manifest, ok, sources, start_daemon, store,
                             versions)


@pytest.fixture
def daemon():
    d = start_daemon()
    yield d
    rc = d.stop()
    d.cleanup()
    assert rc == 0


@pytest.fixture
def folder():
    """A private copy of the dogeorg.pups fixture source."""
    base = tempfile.mkdtemp(prefix="dbx-disk-src-")
    path = os.path.join(base, "dogeorg.pups")
    shutil.copytree(DOGEORG, path)
    yield path
    shutil.rmtree(base, ignore_errors=True)


def test_add_list_and_store_shape(daemon, folder):
    code, j = add(daemon, folder)
    assert code == 200, j
    assert j["success"] is True and j["id"] == "dogeorg.pups"
    s = sources(daemon)["dogeorg.pups"]
    assert s["type"] == "disk" and s["location"] == folder
    assert s["name"] == "Dogecoin Foundation"
    assert s["description"] == "DogeOrg maintained pups for Dogebox"
    assert s["pups"] == 9 and s["versions"] == 9 and s["invalidVersions"] == 0
    assert s["lastError"] is None and s["lastOkAt"]

    st = store(daemon)
    assert list(st) == ["dogeorg.pups"]
    e = st["dogeorg.pups"]
    for k in ("name", "description", "location", "type", "lastChecked", "pups"):
        assert k in e, k
    assert "error" not in e
    core = e["pups"]["Dogecoin Core"]
    assert core["latestVersion"] == "0.0.9"
    assert core["logoBase64"].startswith("data:image/png;base64,iVBOR")
    assert core["devModeAvailable"] is False
    m = core["versions"]["0.0.9"]
    assert m["manifestVersion"] == 1 and m["meta"]["name"] == "Dogecoin Core"
    assert m["container"]["build"]["nixFile"] == "pup.nix"
    # every fixture pup is there and valid; missing logos are only warnings
    assert sorted(e["pups"]) == sorted([
        "Dogecoin Core", "Dogecoin Core Gateway", "Dogecoin Core Remote", "Dogemap", "Dogenet",
        "Gigawallet", "Identity", "Libdogecoin SPV", "Libdogecoin SPV Enclave"])
    assert e["invalid"] == []
    assert any("meta.logoPath" in w for w in e["warnings"])
    assert e["pups"]["Dogenet"]["logoBase64"] == ""


def test_add_validates_and_refuses_duplicates(daemon, folder):
    cases = [
        ({"location": ""}, 400, "location: missing: give the folder, git repository or index URL to add"),
        ({}, 400, "location: missing: give the folder, git repository or index URL to add"),
        ({"location": 5}, 400, "location"),
        ({"location": "relative/path"}, 400,
         "location: \"relative/path\" is not a source location: use an absolute folder path, a "
         "git repository (https://....git or git@...) or the http(s):// URL of an index"),
        ({"location": "/definitely/not/here"}, 400,
         "/definitely/not/here cannot be added: folder /definitely/not/here: No such file or "
         "directory"),
        ({"location": folder, "type": "svn"}, 400,
         "type: \"svn\" is not a source type (disk, git or http)"),
        ({"location": folder, "id": "bad id"}, 400,
         "id: \"bad id\" is not a valid source id (letters, digits, _, . and -, starting with a "
         "letter or digit, at most 128)"),
        ({"location": folder, "publicKey": "ab" * 32}, 400, "publicKey: only http sources are signed"),
        ({"location": os.path.join(FIXTURES)}, 400, "cannot be added: no pups here"),
    ]
    for body, status, msg in cases:
        code, j = call(daemon, "PUT", "/source", body)
        assert code == status, (body, code, j)
        assert msg in j["error"]["message"], (body, j)
    assert sources(daemon) == {}

    assert add(daemon, folder)[0] == 200
    # the same location again (also spelled with a trailing slash)
    code, msg = error_of(daemon, "PUT", "/source", {"location": folder + "/"})
    assert code == 409
    assert msg == 'location: %s is already a source (id "dogeorg.pups")' % folder
    # another folder claiming the same id
    other = tempfile.mkdtemp(prefix="dbx-disk-dup-")
    try:
        shutil.copytree(folder, os.path.join(other, "copy"))
        code, msg = error_of(daemon, "PUT", "/source", {"location": os.path.join(other, "copy")})
        assert code == 409
        assert msg == ('id: a source with id "dogeorg.pups" already exists (at %s): remove it '
                       'first or give this one another id' % folder)
        # ... which works under another id
        code, j = add(daemon, os.path.join(other, "copy"), id="copy.pups")
        assert code == 200, j
        assert sorted(sources(daemon)) == ["copy.pups", "dogeorg.pups"]
    finally:
        shutil.rmtree(other, ignore_errors=True)


def test_invalid_version_and_refresh(daemon, folder):
    assert add(daemon, folder)[0] == 200
    # break one pup, add a new version of another, remove a third
    p = os.path.join(folder, "dogenet", "manifest.json")
    m = json.load(open(p))
    m["container"]["exposes"][0]["port"] = 70000
    json.dump(m, open(p, "w"))
    p = os.path.join(folder, "identity", "manifest.json")
    m = json.load(open(p))
    m["meta"]["version"] = "0.0.5"
    json.dump(m, open(p, "w"))
    d = json.load(open(os.path.join(folder, "dogebox.json")))
    d["pups"] = [x for x in d["pups"] if x["location"] != "spv"]
    json.dump(d, open(os.path.join(folder, "dogebox.json"), "w"))

    # without refresh the catalog is unchanged
    assert "Libdogecoin SPV" in store(daemon)["dogeorg.pups"]["pups"]
    e = store(daemon, refresh=True)["dogeorg.pups"]
    assert "error" not in e
    assert "Libdogecoin SPV" not in e["pups"]
    assert versions(e, "Identity") == ["0.0.5"]
    assert "Dogenet" not in e["pups"]  # its only version is invalid
    assert e["invalid"] == [{
        "pup": "Dogenet", "version": "0.0.3", "location": "dogenet",
        "errors": ["container.exposes[0].port: 70000 is not a port (1-65535)"]}]
    s = sources(daemon)["dogeorg.pups"]
    assert s["pups"] == 8 and s["versions"] == 7 and s["invalidVersions"] == 1


def test_failed_refresh_keeps_last_good_catalog_across_restart(folder):
    d = start_daemon()
    try:
        assert add(d, folder)[0] == 200
        before = store(d)["dogeorg.pups"]["pups"]
        shutil.move(folder, folder + ".moved")
        e = store(d, refresh=True)["dogeorg.pups"]
        assert e["error"] == "folder %s: No such file or directory" % folder
        assert e["pups"] == before  # the last good catalog is still offered
        assert e["lastErrorAt"] and e["lastOkAt"] and e["lastErrorAt"] >= e["lastOkAt"]
        s = sources(d)["dogeorg.pups"]
        assert s["lastError"] == e["error"] and s["pups"] == 9

        # restart: the catalog and the error survive (the startup load fails again)
        assert d.stop() == 0
        d = start_daemon(data_dir=d.data_dir)
        e = store(d)["dogeorg.pups"]
        assert e["pups"] == before
        assert e["error"] == "folder %s: No such file or directory" % folder

        # the folder comes back: the error clears
        shutil.move(folder + ".moved", folder)
        e = store(d, refresh=True)["dogeorg.pups"]
        assert "error" not in e and e["pups"] == before
        assert sources(d)["dogeorg.pups"]["lastError"] is None
    finally:
        if os.path.exists(folder + ".moved"):
            shutil.move(folder + ".moved", folder)
        rc = d.stop()
        shutil.rmtree(d.data_dir, ignore_errors=True)
        assert rc == 0


def test_remove_refused_while_pups_came_from_it(daemon, folder):
    assert add(daemon, folder)[0] == 200
    insert_fake_pup(daemon, "a" * 32, "Dogecoin Core", "dogeorg.pups")
    insert_fake_pup(daemon, "b" * 32, "Dogenet", "dogeorg.pups")
    code, j = call(daemon, "DELETE", "/source/dogeorg.pups")
    assert code == 409, j
    assert j["error"]["message"] == (
        'source "dogeorg.pups" cannot be removed: installed pups came from it: Dogecoin Core '
        '(%s), Dogenet (%s); uninstall them first' % ("a" * 32, "b" * 32))
    assert j["error"]["pups"] == [{"id": "a" * 32, "name": "Dogecoin Core"},
                                  {"id": "b" * 32, "name": "Dogenet"}]
    assert "dogeorg.pups" in sources(daemon)
    r = daemon.dbx("source", "rm", "dogeorg.pups")
    assert r.returncode == 1 and "uninstall them first" in r.stderr

    delete_fake_pup(daemon, "a" * 32)
    delete_fake_pup(daemon, "b" * 32)
    assert ok(daemon, "DELETE", "/source/dogeorg.pups") == {"success": True}
    assert sources(daemon) == {}
    assert store(daemon) == {}
    code, msg = error_of(daemon, "DELETE", "/source/dogeorg.pups")
    assert code == 404 and msg == 'there is no source with id "dogeorg.pups"'
    # it can be added again
    assert add(daemon, folder)[0] == 200


def test_single_pup_and_pup_folders(daemon):
    base = tempfile.mkdtemp(prefix="dbx-disk-layouts-")
    try:
        one = os.path.join(base, "solo-pup")
        os.makedirs(one)
        json.dump(native_manifest("Solo", "1.2.3"), open(os.path.join(one, "manifest.json"), "w"))
        code, j = add(daemon, one)
        assert code == 200 and j["id"] == "solo-pup", j
        assert versions(store(daemon)["solo-pup"], "Solo") == ["1.2.3"]

        many = os.path.join(base, "many")
        for name, ver in (("Alpha", "0.1.0"), ("Beta", "2.0.0")):
            os.makedirs(os.path.join(many, name.lower()))
            json.dump(native_manifest(name, ver),
                      open(os.path.join(many, name.lower(), "manifest.json"), "w"))
        code, j = add(daemon, many, id="many.pups")
        assert code == 200, j
        e = store(daemon)["many.pups"]
        assert sorted(e["pups"]) == ["Alpha", "Beta"]
        assert e["name"] == "many.pups"
    finally:
        shutil.rmtree(base, ignore_errors=True)


def test_fetch_payload(daemon, folder):
    assert add(daemon, folder)[0] == 200
    dest = tempfile.mkdtemp(prefix="dbx-fetch-")
    try:
        target = os.path.join(dest, "core")
        ok(daemon, "POST", "/test/sources/fetch",
           {"sourceId": "dogeorg.pups", "name": "Dogecoin Core", "version": "0.0.9",
            "dest": target})
        assert sorted(os.listdir(target)) == ["logo.png", "manifest.json"]
        assert open(os.path.join(target, "logo.png"), "rb").read() == \
            open(os.path.join(DOGEORG, "core", "logo.png"), "rb").read()
        # the destination must not exist
        code, msg = error_of(daemon, "POST", "/test/sources/fetch",
                             {"sourceId": "dogeorg.pups", "name": "Dogecoin Core",
                              "dest": target})
        assert msg == "%s already exists" % target
        # unknown pup / version / source
        for body, msg in (
                ({"sourceId": "dogeorg.pups", "name": "Nope"},
                 'source "dogeorg.pups" has no pup named "Nope"'),
                ({"sourceId": "dogeorg.pups", "name": "Dogenet", "version": "9.9.9"},
                 'source "dogeorg.pups" has no version 9.9.9 of "Dogenet" (versions: 0.0.3)'),
                ({"sourceId": "nope", "name": "Dogenet"}, 'there is no source with id "nope"')):
            body["dest"] = os.path.join(dest, "x")
            code, m = error_of(daemon, "POST", "/test/sources/fetch", body)
            assert code == 404 and m == msg, m
        # the folder changed since the catalog was loaded: refused, nothing left behind
        p = os.path.join(folder, "dogenet", "manifest.json")
        m = json.load(open(p))
        m["meta"]["version"] = "0.0.4"
        json.dump(m, open(p, "w"))
        code, msg = error_of(daemon, "POST", "/test/sources/fetch",
                             {"sourceId": "dogeorg.pups", "name": "Dogenet",
                              "dest": os.path.join(dest, "dn")})
        assert msg == ('the payload is "Dogenet" 0.0.4, but "Dogenet" 0.0.3 was listed: the '
                       'source changed since it was loaded; refresh it and try again')
        assert sorted(os.listdir(dest)) == ["core"]
        # a symlink out of the pup folder is refused
        os.symlink("/etc/hostname", os.path.join(folder, "gigawallet", "host"))
        code, msg = error_of(daemon, "POST", "/test/sources/fetch",
                             {"sourceId": "dogeorg.pups", "name": "Gigawallet",
                              "dest": os.path.join(dest, "gw")})
        assert msg == "host is a symlink that leads outside the pup"
        assert sorted(os.listdir(dest)) == ["core"]
    finally:
        shutil.rmtree(dest, ignore_errors=True)


def test_dbx_commands(daemon, folder):
    r = daemon.dbx("source", "ls")
    assert r.returncode == 0 and "no sources" in r.stdout
    r = daemon.dbx("source", "add", folder)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "added source dogeorg.pups (disk): 9 pups, 9 versions"
    r = daemon.dbx("source", "add", folder)
    assert r.returncode == 1
    assert r.stderr.strip() == 'dbx: location: %s is already a source (id "dogeorg.pups")' % folder
    r = daemon.dbx("source", "ls")
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["ID", "TYPE", "PUPS", "VERSIONS", "STATUS", "LOCATION"]
    assert lines[1].split() == ["dogeorg.pups", "disk", "9", "9", "ok", folder]

    r = daemon.dbx("store")
    assert r.returncode == 0
    rows = {l[21:45].strip(): l[46:56].strip() for l in r.stdout.splitlines()[1:] if l.strip()}
    assert rows["Dogecoin Core"] == "0.0.9" and rows["Dogenet"] == "0.0.3"
    assert len(rows) == 9
    r = daemon.dbx("store", "--json")
    assert json.loads(r.stdout)["dogeorg.pups"]["pups"]["Dogenet"]["latestVersion"] == "0.0.3"
    r = daemon.dbx("--json", "source", "ls")
    assert json.loads(r.stdout)[0]["id"] == "dogeorg.pups"

    shutil.move(folder, folder + ".gone")
    try:
        r = daemon.dbx("source", "refresh")
        assert r.returncode == 1
        assert "dogeorg.pups: error: folder %s: No such file or directory" % folder in r.stdout
        assert "dogeorg.pups: keeping the catalog loaded at" in r.stdout
        r = daemon.dbx("store")
        assert "source dogeorg.pups: error: folder %s" % folder in r.stdout
        assert "Dogecoin Core" in r.stdout  # still offered
        r = daemon.dbx("source", "ls")
        assert "error" in r.stdout
    finally:
        shutil.move(folder + ".gone", folder)
    r = daemon.dbx("source", "refresh", "dogeorg.pups")
    assert r.returncode == 0 and r.stdout.strip() == "dogeorg.pups: ok, 9 pups"
    r = daemon.dbx("source", "refresh", "nope")
    assert r.returncode == 1 and 'no source with id "nope"' in r.stderr
    r = daemon.dbx("source", "rm", "dogeorg.pups")
    assert r.returncode == 0 and r.stdout.strip() == "removed source dogeorg.pups"
    r = daemon.dbx("source", "frobnicate")
    assert r.returncode == 2


def test_demo_source_serves_examples():
    """dogeboxd --demo DIR: a disk source "demo" over the example pups."""
    examples = os.path.join(REPO, "examples")
    d = Daemon(extra_args=["--demo", examples],
               env={"DBX_SOURCES_HTTP_TIMEOUT_MS": str(TIMEOUT_MS)}).start()
    try:
        s = sources(d)["demo"]
        assert s["type"] == "disk" and s["location"] == examples
        e = store(d)["demo"]
        assert "error" not in e, e.get("error")
        assert "Hello Web" in e["pups"]
        assert e["pups"]["Hello Web"]["latestVersion"]
        # a second start keeps the one source
        assert d.stop() == 0
        d = Daemon(data_dir=d.data_dir, extra_args=["--demo", examples]).start()
        assert list(sources(d)) == ["demo"]
    finally:
        rc = d.stop()
        shutil.rmtree(d.data_dir, ignore_errors=True)
        assert rc == 0
