"""`dbx manifest check`, run as a pup developer runs it: no daemon needed.

Covers the exit codes (0 valid, 1 errors, 2 usage), the "FILE: error:
path: message" lines, source folders with dogebox.json, and the checks on
the files a manifest names (logo, nix file hash, native programs)."""
import hashlib
import json
import os
import shutil
import stat
import subprocess
import tempfile

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "upstream-pups")
EXAMPLE = os.path.join(ROOT, "examples", "hello-web")


def dbx(*args):
    exe = os.path.join(os.environ["DBX_BUILD"], "dbx")
    p = subprocess.run([exe, "manifest", *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


@pytest.fixture
def workdir():
    d = tempfile.mkdtemp(prefix="dbx-manifest-cli-")
    yield d
    shutil.rmtree(d)


def make_pup(workdir, manifest, files=None):
    pup = os.path.join(workdir, "pup")
    os.makedirs(pup, exist_ok=True)
    with open(os.path.join(pup, "manifest.json"), "w") as f:
        json.dump(manifest, f)
    for name, (content, mode) in (files or {}).items():
        path = os.path.join(pup, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(content)
        os.chmod(path, mode)
    return pup


def load_fixture(name):
    with open(os.path.join(FIXTURES, "dogeorg.pups", name, "manifest.json")) as f:
        return json.load(f)


def test_example_is_valid():
    rc, out, _ = dbx("check", EXAMPLE)
    assert rc == 0, out
    assert 'ok: "Hello Web" 0.1.0, a native pup' in out


def test_every_fixture_is_valid_without_files():
    rc, out, _ = dbx("check", "--no-files", os.path.join(FIXTURES, "dogeorg.pups"),
                     os.path.join(FIXTURES, "pup-templates"))
    assert rc == 0, out
    assert out.count(": ok: ") == 2 + 17  # two dogebox.json and 17 manifests
    assert out.strip().endswith("0 errors, 2 warnings")


def test_errors_are_listed_with_paths(workdir):
    m = load_fixture("core")
    m["container"]["exposes"][2]["port"] = 70000
    m["metrics"][0]["history"] = 0
    m["meta"]["colour"] = "blue"
    pup = make_pup(workdir, m)
    rc, out, _ = dbx("check", "--no-files", os.path.join(pup, "manifest.json"))
    assert rc == 1
    lines = out.splitlines()
    f = os.path.join(pup, "manifest.json")
    assert f + ": error: container.exposes[2].port: 70000 is not a port (1-65535)" in lines
    assert f + ": error: metrics[0].history: 0 is not a history length (1-1000)" in lines
    assert f + ": warning: meta.colour: unknown key, ignored" in lines
    assert lines[-1] == "2 errors, 1 warning"


def test_nix_file_hash_is_checked(workdir):
    m = load_fixture("core")
    m["meta"]["logoPath"] = ""
    pup = make_pup(workdir, m, {"pup.nix": ("{ pkgs ? import <nixpkgs> {} }: { }\n", 0o644)})
    rc, out, _ = dbx("check", pup)
    assert rc == 1
    digest = hashlib.sha256(b"{ pkgs ? import <nixpkgs> {} }: { }\n").hexdigest()
    assert ("container.build.nixFileSha256: \"%s\" does not match pup.nix, whose SHA-256 is %s"
            % (m["container"]["build"]["nixFileSha256"], digest)) in out
    m["container"]["build"]["nixFileSha256"] = digest
    make_pup(workdir, m)
    rc, out, _ = dbx("check", pup)
    assert rc == 0, out


def test_native_programs_are_checked(workdir):
    with open(os.path.join(EXAMPLE, "manifest.json")) as f:
        m = json.load(f)
    m["meta"]["logoPath"] = "logo.png"
    pup = make_pup(workdir, m, {"run.sh": ("#!/bin/sh\n", 0o644)})
    rc, out, _ = dbx("check", pup)
    assert rc == 1
    assert 'meta.logoPath: "logo.png" does not exist in' in out
    assert ('container.services[0].command.exec: "run.sh" is not executable (chmod +x run.sh)'
            in out)
    os.chmod(os.path.join(pup, "run.sh"), 0o755)
    os.symlink("/etc/hostname", os.path.join(pup, "logo.png"))
    rc, out, _ = dbx("check", pup)
    assert rc == 1
    assert 'meta.logoPath: "logo.png" points outside the pup folder' in out
    os.unlink(os.path.join(pup, "logo.png"))
    shutil.copy(os.path.join(FIXTURES, "dogeorg.pups", "core", "logo.png"), pup)
    rc, out, _ = dbx("check", pup)
    assert rc == 0, out


def test_source_folder_checks_every_pup(workdir):
    src = os.path.join(workdir, "src")
    os.makedirs(os.path.join(src, "a"))
    with open(os.path.join(src, "dogebox.json"), "w") as f:
        json.dump({"id": "test.src", "name": "Test", "pups": [{"location": "a"}, {"location": "b"}]}, f)
    shutil.copy(os.path.join(EXAMPLE, "manifest.json"), os.path.join(src, "a"))
    shutil.copy(os.path.join(EXAMPLE, "run.sh"), os.path.join(src, "a"))
    rc, out, _ = dbx("check", src)
    assert rc == 1
    assert 'ok: source "test.src" (Test) lists 2 pups' in out
    assert os.path.join(src, "a", "manifest.json") + ': ok: "Hello Web"' in out
    assert os.path.join(src, "b", "manifest.json") + ": error: cannot read:" in out


def test_usage_and_missing_paths(workdir):
    assert dbx()[0] == 2
    assert dbx("check")[0] == 2
    assert dbx("lint", EXAMPLE)[0] == 2
    assert dbx("check", "--bogus", EXAMPLE)[0] == 2
    rc, out, _ = dbx("help")
    assert rc == 0 and "usage: dbx manifest check" in out
    rc, out, _ = dbx("check", os.path.join(workdir, "nope"))
    assert rc == 1 and "No such file or directory" in out
    rc, out, _ = dbx("check", workdir)
    assert rc == 1 and "no manifest.json or dogebox.json in this folder" in out
    bad = os.path.join(workdir, "bad.json")
    with open(bad, "w") as f:
        f.write("{\"manifestVersion\": 1,")
    rc, out, _ = dbx("check", bad)
    assert rc == 1 and "malformed JSON" in out
