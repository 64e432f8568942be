"""Git sources through the real daemon, from a repository each test builds
out of the fixtures with several semver tags: versions come from tags, a
pup version published at several tags is listed once (from the first tag
that carries it), a broken version is listed as invalid with its errors,
new and deleted tags show after a refresh, a failed refresh keeps the last
good catalog, and a version's payload is the subtree of its tag."""
import json
import os
import shutil

import pytest

from sources_helpers import (DOGEORG, add, commit_and_tag, copy_fixture, edit_manifest,
                             error_of, git, init_repo, ok, sources, start_daemon, store,
                             versions, write_dogebox)


@pytest.fixture
def daemon():
    d = start_daemon()
    yield d
    rc = d.stop()
    d.cleanup()
    assert rc == 0


def set_port(port):
    def fn(m):
        m["container"]["exposes"][0]["port"] = port
    return fn


def set_version(v):
    def fn(m):
        m["meta"]["version"] = v
    return fn


@pytest.fixture
def repo():
    """v0.1.0: core 0.0.8, dogenet 0.0.3
    v0.1.1 and 0.1.2 (no "v"): the same content again
    v0.2.0: core 0.0.9, dogenet 0.0.3, gigawallet 0.0.2
    v0.3.0: core 0.0.10 with a broken port, the rest unchanged
    plus tags that are not versions: "latest", "v1.0" """
    r = init_repo()
    write_dogebox(r, ["core", "dogenet"])
    copy_fixture(r, "core")
    copy_fixture(r, "dogenet")
    edit_manifest(r, "core", set_version("0.0.8"))
    commit_and_tag(r, "v0.1.0")
    commit_and_tag(r, "v0.1.1", "0.1.2", "latest")
    write_dogebox(r, ["core", "dogenet", "gigawallet"])
    copy_fixture(r, "core")
    copy_fixture(r, "gigawallet")
    commit_and_tag(r, "v0.2.0")
    edit_manifest(r, "core", set_version("0.0.10"))
    edit_manifest(r, "core", set_port(70000))
    commit_and_tag(r, "v0.3.0", "v1.0")
    yield r
    shutil.rmtree(os.path.dirname(r), ignore_errors=True)


def test_versions_from_tags(daemon, repo):
    code, j = add(daemon, repo)  # "/.../pups.git" is a git location
    assert code == 200, j
    assert j["id"] == "dogeorg.pups"
    s = sources(daemon)["dogeorg.pups"]
    assert s["type"] == "git" and s["location"] == repo
    assert s["name"] == "Dogecoin Foundation" and s["description"] == "pups from git"
    assert s["pups"] == 3 and s["versions"] == 4 and s["invalidVersions"] == 1

    e = store(daemon)["dogeorg.pups"]
    assert "error" not in e
    assert versions(e, "Dogecoin Core") == ["0.0.8", "0.0.9"]
    assert e["pups"]["Dogecoin Core"]["latestVersion"] == "0.0.9"  # 0.0.10 is invalid
    assert versions(e, "Dogenet") == ["0.0.3"]  # at five tags, listed once
    assert versions(e, "Gigawallet") == ["0.0.2"]
    assert e["pups"]["Dogecoin Core"]["logoBase64"].startswith("data:image/png;base64,")
    assert e["invalid"] == [{
        "pup": "Dogecoin Core", "version": "0.0.10", "tag": "v0.3.0", "location": "core",
        "errors": ["container.exposes[0].port: 70000 is not a port (1-65535)"]}]

    # the same listing, every time (no dependence on load order)
    for _ in range(3):
        again = store(daemon, refresh=True)["dogeorg.pups"]
        assert again["pups"] == e["pups"] and again["invalid"] == e["invalid"]


def test_duplicate_version_comes_from_its_first_tag(daemon, repo):
    assert add(daemon, repo)[0] == 200
    dest = os.path.join(os.path.dirname(repo), "fetched")
    os.makedirs(dest)
    # Dogenet 0.0.3 is at v0.1.0 ... v0.3.0: its payload is v0.1.0's
    ok(daemon, "POST", "/test/sources/fetch",
       {"sourceId": "dogeorg.pups", "name": "Dogenet", "version": "0.0.3",
        "dest": os.path.join(dest, "dogenet")})
    assert json.load(open(os.path.join(dest, "dogenet", "manifest.json"))) == \
        json.load(open(os.path.join(DOGEORG, "dogenet", "manifest.json")))
    # core 0.0.9 comes from v0.2.0, with its logo, and nothing of the repo around it
    ok(daemon, "POST", "/test/sources/fetch",
       {"sourceId": "dogeorg.pups", "name": "Dogecoin Core", "dest": os.path.join(dest, "core")})
    assert sorted(os.listdir(os.path.join(dest, "core"))) == ["logo.png", "manifest.json"]
    assert open(os.path.join(dest, "core", "logo.png"), "rb").read() == \
        open(os.path.join(DOGEORG, "core", "logo.png"), "rb").read()
    assert json.load(open(os.path.join(dest, "core", "manifest.json")))["meta"]["version"] == \
        "0.0.9"
    code, msg = error_of(daemon, "POST", "/test/sources/fetch",
                         {"sourceId": "dogeorg.pups", "name": "Dogecoin Core",
                          "version": "0.0.10", "dest": os.path.join(dest, "x")})
    assert code == 400
    assert msg == ('"Dogecoin Core" 0.0.10 in source "dogeorg.pups" is invalid: '
                   'container.exposes[0].port: 70000 is not a port (1-65535)')


def test_new_and_deleted_tags_after_refresh(daemon, repo):
    assert add(daemon, repo)[0] == 200
    copy_fixture(repo, "core")
    edit_manifest(repo, "core", set_version("0.0.11"))
    commit_and_tag(repo, "v0.4.0")
    # nothing changes until a refresh
    assert versions(store(daemon)["dogeorg.pups"], "Dogecoin Core") == ["0.0.8", "0.0.9"]
    e = store(daemon, refresh=True)["dogeorg.pups"]
    assert versions(e, "Dogecoin Core") == ["0.0.11", "0.0.8", "0.0.9"]
    assert e["pups"]["Dogecoin Core"]["latestVersion"] == "0.0.11"
    # a deleted tag takes its versions with it (v0.1.0 .. 0.1.2 carried 0.0.8)
    for t in ("v0.1.0", "v0.1.1", "0.1.2", "latest"):
        git(repo, "tag", "-d", t)
    e = store(daemon, refresh=True)["dogeorg.pups"]
    assert versions(e, "Dogecoin Core") == ["0.0.11", "0.0.9"]


def test_failed_refresh_keeps_last_good_catalog(daemon, repo):
    assert add(daemon, repo)[0] == 200
    before = store(daemon)["dogeorg.pups"]["pups"]
    shutil.move(repo, repo + ".moved")
    try:
        e = store(daemon, refresh=True)["dogeorg.pups"]
        assert e["error"].startswith("git fetch from %s failed: " % repo), e["error"]
        assert e["pups"] == before
        assert sources(daemon)["dogeorg.pups"]["lastError"] == e["error"]
        # the cached mirror still serves payloads of the last good catalog
        dest = os.path.join(os.path.dirname(repo), "out")
        ok(daemon, "POST", "/test/sources/fetch",
           {"sourceId": "dogeorg.pups", "name": "Gigawallet", "dest": dest})
        assert os.path.exists(os.path.join(dest, "manifest.json"))
    finally:
        shutil.move(repo + ".moved", repo)
    e = store(daemon, refresh=True)["dogeorg.pups"]
    assert "error" not in e and e["pups"] == before


def test_broken_dogebox_json_at_one_tag(daemon, repo):
    with open(os.path.join(repo, "dogebox.json"), "w") as f:
        f.write('{"id": "dogeorg.pups", "pups": "nope"}')
    commit_and_tag(repo, "v0.5.0")
    assert add(daemon, repo)[0] == 200
    e = store(daemon)["dogeorg.pups"]
    assert versions(e, "Dogecoin Core") == ["0.0.8", "0.0.9"]
    assert any(w.startswith("tag v0.5.0: dogebox.json is not valid: ") for w in e["warnings"]), \
        e["warnings"]


def test_single_pup_repository_and_refusals(daemon, repo):
    # a repository whose root is one pup, named by the request
    r = init_repo()
    try:
        shutil.copytree(os.path.join(DOGEORG, "identity"), r, dirs_exist_ok=True)
        code, msg = error_of(daemon, "PUT", "/source", {"location": r})
        assert code == 400
        assert msg == ("%s cannot be added: %s has no version tags (v1.2.3): a git source "
                       "offers the pups of its semver tags" % (r, r))
        commit_and_tag(r, "v2.0.0")
        code, j = add(daemon, r, id="identity.git")
        assert code == 200, j
        e = store(daemon)["identity.git"]
        assert versions(e, "Identity") == ["0.0.4"]
        assert e["name"] == "identity.git"
        # without an id it is named after the repository ("pups")
        assert ok(daemon, "DELETE", "/source/identity.git")["success"]
        code, j = add(daemon, r)
        assert code == 200 and j["id"] == "pups", j
    finally:
        shutil.rmtree(os.path.dirname(r), ignore_errors=True)
    code, msg = error_of(daemon, "PUT", "/source",
                         {"location": "/nonexistent/repo.git"})
    assert code == 400 and msg.startswith(
        "/nonexistent/repo.git cannot be added: git fetch from /nonexistent/repo.git failed: ")
    # a folder is a git source only when asked to be
    code, j = add(daemon, repo, type="disk")
    assert code == 200 and j["source"]["type"] == "disk", j


def test_stale_lock_after_a_crash(daemon, repo):
    """A fetch killed half-way leaves git lock files in the mirror; the next
    load still works."""
    assert add(daemon, repo)[0] == 200
    import glob
    mirror = glob.glob(os.path.join(daemon.data_dir, "cache", "sources", "git-*", "git"))[0]
    for lock in ("packed-refs.lock", "refs/tags/v0.5.0.lock", "config.lock"):
        with open(os.path.join(mirror, lock), "w") as f:
            f.write("0" * 40 + "\n")
    copy_fixture(repo, "core")
    edit_manifest(repo, "core", set_version("0.0.12"))
    commit_and_tag(repo, "v0.5.0")
    e = store(daemon, refresh=True)["dogeorg.pups"]
    assert "error" not in e, e["error"]
    assert "0.0.12" in versions(e, "Dogecoin Core")
