"""HTTP index sources through the real daemon against a local server on
127.0.0.1 that each test scripts: a good index; then 404, truncated,
oversize, slow (the daemon runs with a 1.5 s timeout), a bad signature and
changed content behind the same ETag, each with the visible outcome and
the last good catalog kept; archives with a wrong SHA-256 or size and
hostile archives refused at fetch time."""
import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile

import pytest

from sources_helpers import (TIMEOUT_MS, Server, add, call, error_of, keypair, make_index,
                             native_manifest, ok, pup_archive, sign, sources, start_daemon,
                             store, tar_gz, versions)

ID = "test.http"


@pytest.fixture
def daemon():
    d = start_daemon()
    yield d
    rc = d.stop()
    d.cleanup()
    assert rc == 0


@pytest.fixture
def server():
    s = Server()
    yield s
    s.close()


@pytest.fixture
def scratch():
    p = tempfile.mkdtemp(prefix="dbx-http-fetch-")
    yield p
    shutil.rmtree(p, ignore_errors=True)


def publish(server, pups, path="/index.json", **kw):
    """Serve archives and an index for pups [(name, version)]; returns the index bytes."""
    entries = []
    for name, version in pups:
        data = pup_archive(name, version)
        rel = "a/%s-%s.tar.gz" % (name.lower(), version)
        server.set("/" + rel, body=data)
        entries.append((name, version, data, rel, None))
    body = make_index(entries, public_key=kw.pop("public_key", None))
    server.set(path, body=body, **kw)
    return body


def good_source(daemon, server, pups=(("Hello", "1.0.0"), ("Hello", "0.9.0"))):
    publish(server, pups, etag='"v1"')
    code, j = add(daemon, server.url + "/index.json")
    assert code == 200, j
    assert j["id"] == ID
    e = store(daemon)[ID]
    assert "error" not in e
    return e


def assert_kept(daemon, before, error):
    e = store(daemon, refresh=True)[ID]
    assert e.get("error") == error, e.get("error")
    assert e["pups"] == before["pups"]
    assert e["lastErrorAt"] >= e["lastOkAt"]
    assert sources(daemon)[ID]["lastError"] == error
    return e


def test_good_index_and_fetch(daemon, server, scratch):
    e = good_source(daemon, server)
    s = sources(daemon)[ID]
    assert s["type"] == "http" and s["name"] == "HTTP test pups" and s["signed"] is False
    assert versions(e, "Hello") == ["0.9.0", "1.0.0"]
    hello = e["pups"]["Hello"]
    assert hello["latestVersion"] == "1.0.0"
    assert hello["logoBase64"] == "data:image/png;base64,iVBORw0KGgo="
    assert hello["versions"]["1.0.0"]["meta"]["shortDescription"] == "Hello for tests"
    assert hello["versions"]["1.0.0"]["container"]["build"]["type"] == "native"

    dest = os.path.join(scratch, "hello")
    ok(daemon, "POST", "/test/sources/fetch",
       {"sourceId": ID, "name": "Hello", "version": "1.0.0", "dest": dest})
    assert sorted(os.listdir(dest)) == ["manifest.json", "run.sh"]
    assert os.stat(os.path.join(dest, "run.sh")).st_mode & 0o777 == 0o755
    assert json.load(open(os.path.join(dest, "manifest.json")))["meta"]["version"] == "1.0.0"
    assert server.seen("/a/hello-1.0.0.tar.gz")


def test_add_refusals(daemon, server):
    url = server.url + "/index.json"
    code, msg = error_of(daemon, "PUT", "/source", {"location": url})
    assert code == 400
    assert msg == "%s cannot be added: %s answered HTTP 404 (not found)" % (url, url)
    server.set("/index.json", body=b'{"dogeboxIndex": 1, "id": "x", "name": "x", "pups": {}}')
    code, msg = error_of(daemon, "PUT", "/source", {"location": url})
    assert msg == ("%s cannot be added: the index at %s is not valid: pups: an object where an "
                   "array of pups is expected" % (url, url))
    server.set("/index.json", body=b"<html>hello</html>")
    code, msg = error_of(daemon, "PUT", "/source", {"location": url})
    assert msg.startswith("%s cannot be added: the index at %s is not valid: the index is not "
                          "usable JSON: malformed JSON at line 1 column 1" % (url, url)), msg
    code, msg = error_of(daemon, "PUT", "/source", {"location": "http://127.0.0.1:1/index.json"})
    assert msg.startswith("http://127.0.0.1:1/index.json cannot be added: cannot fetch "
                          "http://127.0.0.1:1/index.json: "), msg
    code, msg = error_of(daemon, "PUT", "/source", {"location": "ftp://example.org/x",
                                                    "type": "http"})
    assert msg == ('location: an http source is an http:// or https:// URL, not '
                   '"ftp://example.org/x"')
    assert sources(daemon) == {}


def test_not_found_keeps_last_good(daemon, server):
    before = good_source(daemon, server)
    server.remove("/index.json")
    url = server.url + "/index.json"
    e = assert_kept(daemon, before, "%s answered HTTP 404 (not found)" % url)
    # the cached catalog also survives a restart while the server is gone
    assert daemon.stop() == 0
    daemon.start()
    e2 = store(daemon)[ID]
    assert e2["pups"] == before["pups"]
    assert e2["error"] == "%s answered HTTP 404 (not found)" % url


def test_truncated(daemon, server):
    before = good_source(daemon, server)
    body = server.routes["/index.json"]["body"]
    # a Content-Length that promises more than is sent
    server.set("/index.json", body=body[:100], length=len(body))
    e = store(daemon, refresh=True)[ID]
    url = server.url + "/index.json"
    assert e["error"].startswith("cannot fetch %s: transfer closed with " % url), e["error"]
    assert e["error"].endswith("bytes remaining to read")
    assert e["pups"] == before["pups"]
    # a complete response whose JSON is cut short
    server.set("/index.json", body=body[:-40])
    e = store(daemon, refresh=True)[ID]
    assert e["error"].startswith("the index at %s is not valid: the index is not usable JSON: "
                                 "malformed JSON at line " % url), e["error"]
    assert e["pups"] == before["pups"]


def test_oversize(daemon, server):
    before = good_source(daemon, server)
    url = server.url + "/index.json"
    big = b" " * (32 * 1024 * 1024 + 1)
    server.set("/index.json", body=big)
    assert_kept(daemon, before, "%s is larger than 33554432 bytes (the limit), says its "
                                "Content-Length" % url)
    server.set("/index.json", body=big, chunked=True)  # no Content-Length: counted as it comes
    assert_kept(daemon, before, "%s is larger than 33554432 bytes (the limit)" % url)


def test_slow(daemon, server):
    before = good_source(daemon, server)
    body = server.routes["/index.json"]["body"]
    server.set("/index.json", body=body, delay=TIMEOUT_MS / 1000 * 2)
    e = store(daemon, refresh=True)[ID]
    url = server.url + "/index.json"
    assert e["error"].startswith("cannot fetch %s: Operation timed out after " % url), e["error"]
    assert e["pups"] == before["pups"]
    server.set("/index.json", body=body)
    e = store(daemon, refresh=True)[ID]
    assert "error" not in e and e["pups"] == before["pups"]


def test_changed_content_same_etag(daemon, server):
    before = good_source(daemon, server)
    # new content, but the server keeps answering 304 to If-None-Match: "v1"
    publish(server, [("Hello", "1.0.0"), ("Hello", "0.9.0"), ("Hello", "2.0.0")], etag='"v1"')
    e = store(daemon, refresh=True)[ID]
    assert "error" not in e
    assert e["pups"] == before["pups"]  # the cached index is what the ETag stands for
    assert server.seen("/index.json")[-1].get("If-None-Match") == '"v1"'
    # a new ETag: the new content is fetched
    publish(server, [("Hello", "1.0.0"), ("Hello", "0.9.0"), ("Hello", "2.0.0")], etag='"v2"')
    e = store(daemon, refresh=True)[ID]
    assert versions(e, "Hello") == ["0.9.0", "1.0.0", "2.0.0"]
    # a server that ignores If-None-Match and sends 200: its body counts
    publish(server, [("Hello", "3.0.0")], headers={"ETag": '"v2"'})
    e = store(daemon, refresh=True)[ID]
    assert versions(e, "Hello") == ["3.0.0"]


def test_signed_source(daemon, server):
    pk, sk = keypair()
    body = publish(server, [("Hello", "1.0.0")])
    server.set("/index.json.sig", body=(sign(sk, body) + "\n").encode())
    url = server.url + "/index.json"
    # a wrong pinned key refuses the add
    pk2, sk2 = keypair()
    code, msg = error_of(daemon, "PUT", "/source", {"location": url, "publicKey": pk2.hex()})
    assert msg == ("%s cannot be added: the index signature does not verify with the source's "
                   "pinned public key: the index was changed or signed with another key" % url)
    code, j = add(daemon, url, publicKey=pk.hex().upper())
    assert code == 200, j
    assert j["source"]["signed"] is True
    before = store(daemon)[ID]
    # signed by someone else
    server.set("/index.json.sig", body=sign(sk2, body).encode())
    assert_kept(daemon, before, "the index signature does not verify with the source's pinned "
                                "public key: the index was changed or signed with another key")
    # content changed under the old signature
    body2 = publish(server, [("Hello", "1.0.0"), ("Evil", "6.6.6")])
    server.set("/index.json.sig", body=sign(sk, body).encode())
    assert_kept(daemon, before, "the index signature does not verify with the source's pinned "
                                "public key: the index was changed or signed with another key")
    # the signature is gone
    server.remove("/index.json.sig")
    assert_kept(daemon, before, "the source is signed but its signature %s.sig answered HTTP 404"
                % url)
    # garbage in the signature file
    server.set("/index.json.sig", body=b"not a signature")
    assert_kept(daemon, before, "the signature file does not hold a signature (128 hex "
                                "characters expected, got 15 characters)")
    # properly signed new content is accepted
    server.set("/index.json.sig", body=sign(sk, body2).encode())
    e = store(daemon, refresh=True)[ID]
    assert "error" not in e and sorted(e["pups"]) == ["Evil", "Hello"]


def test_key_declared_by_index_is_pinned(daemon, server):
    pk, sk = keypair()
    body = publish(server, [("Hello", "1.0.0")], public_key=pk)
    server.set("/index.json.sig", body=sign(sk, body).encode())
    code, j = add(daemon, server.url + "/index.json")
    assert code == 200 and j["source"]["signed"] is True, j
    before = store(daemon)[ID]
    # an attacker replaces index, key and signature: the pinned key still decides
    pk3, sk3 = keypair()
    body3 = publish(server, [("Hello", "1.0.0"), ("Evil", "6.6.6")], public_key=pk3)
    server.set("/index.json.sig", body=sign(sk3, body3).encode())
    assert_kept(daemon, before, "the index signature does not verify with the source's pinned "
                                "public key: the index was changed or signed with another key")


def test_invalid_version_listed(daemon, server):
    good = pup_archive("Hello", "1.0.0")
    bad_manifest = native_manifest("Hello", "1.1.0", port=70000)
    index = make_index([("Hello", "1.0.0", good, "a/h1.tgz", None),
                        ("Hello", "1.1.0", good, "a/h2.tgz", bad_manifest)])
    server.set("/index.json", body=index)
    code, j = add(daemon, server.url + "/index.json")
    assert code == 200, j
    e = store(daemon)[ID]
    assert versions(e, "Hello") == ["1.0.0"]
    assert e["invalid"] == [{"pup": "Hello", "version": "1.1.0", "errors": [
        "manifest.container.exposes[0].port: 70000 is not a port (1-65535)"]}]
    assert sources(daemon)[ID]["invalidVersions"] == 1


def test_archive_checks(daemon, server, scratch):
    good_source(daemon, server)
    url = server.url + "/a/hello-1.0.0.tar.gz"
    data = server.routes["/a/hello-1.0.0.tar.gz"]["body"]
    want = hashlib.sha256(data).hexdigest()

    def fetch(name="hello"):
        return error_of(daemon, "POST", "/test/sources/fetch",
                        {"sourceId": ID, "name": "Hello", "version": "1.0.0",
                         "dest": os.path.join(scratch, name)})[1]

    # same size, other bytes
    other = bytearray(data)
    other[-1] ^= 0xff
    server.set("/a/hello-1.0.0.tar.gz", body=bytes(other))
    assert fetch() == ("the archive %s has SHA-256 %s, the index says %s: it was changed or "
                       "damaged" % (url, hashlib.sha256(bytes(other)).hexdigest(), want))
    # larger than the index says (with and without Content-Length)
    server.set("/a/hello-1.0.0.tar.gz", body=data + b"x")
    assert fetch() == "the archive %s is larger than the %d bytes the index says" % (url,
                                                                                      len(data))
    server.set("/a/hello-1.0.0.tar.gz", body=data + b"x" * 100000, chunked=True)
    assert fetch() == "the archive %s is larger than the %d bytes the index says" % (url,
                                                                                      len(data))
    # shorter
    server.set("/a/hello-1.0.0.tar.gz", body=data[:-10])
    assert fetch() == "the archive %s is %d bytes, the index says %d" % (url, len(data) - 10,
                                                                          len(data))
    server.remove("/a/hello-1.0.0.tar.gz")
    assert fetch() == "the archive %s answered HTTP 404" % url
    server.set("/a/hello-1.0.0.tar.gz", body=data, delay=TIMEOUT_MS / 1000 * 2)
    assert fetch().startswith("cannot fetch %s: Operation timed out" % url)
    # nothing was left behind by any of these
    assert os.listdir(scratch) == []


def hostile(extra):
    files = {"manifest.json": json.dumps(native_manifest("Hello", "1.0.0")).encode()}
    return tar_gz(files, extra)


def add_entry(name, kind=tarfile.REGTYPE, linkname="", data=b"x"):
    def fn(t):
        info = tarfile.TarInfo(name)
        info.type = kind
        info.linkname = linkname
        info.size = len(data) if kind == tarfile.REGTYPE else 0
        t.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)
    return fn


HOSTILE = [
    ("dotdot", add_entry("../../evil"), 'archive entry "../../evil" contains ".."'),
    ("absolute", add_entry("/tmp/evil"), 'archive entry "/tmp/evil" is an absolute path'),
    ("symlink-out", add_entry("etc", tarfile.SYMTYPE, "/etc"),
     'archive entry "etc" is a symlink to "/etc", outside the pup'),
    ("symlink-up", add_entry("up", tarfile.SYMTYPE, "../.."),
     'archive entry "up" is a symlink to "../..", outside the pup'),
    ("hardlink-out", add_entry("pw", tarfile.LNKTYPE, "/etc/passwd"),
     'archive entry "pw" is a hard link to "/etc/passwd", which is not a file earlier in the '
     'archive'),
    ("device", add_entry("null", tarfile.CHRTYPE),
     'archive entry "null" is a device, fifo or socket: a pup holds only files, folders and '
     'links'),
    ("fifo", add_entry("p", tarfile.FIFOTYPE),
     'archive entry "p" is a device, fifo or socket: a pup holds only files, folders and links'),
]


def test_hostile_archives(daemon, server, scratch):
    entries = []
    for name, extra, _ in HOSTILE:
        data = hostile(extra)
        server.set("/h/%s.tgz" % name, body=data)
        entries.append(("Hello", "1.0.%d" % len(entries), data, "h/%s.tgz" % name,
                        native_manifest("Hello", "1.0.%d" % len(entries))))
    # a payload whose manifest does not match the listing
    liar = pup_archive("Hello", "9.9.9")
    server.set("/h/liar.tgz", body=liar)
    entries.append(("Hello", "2.0.0", liar, "h/liar.tgz", None))
    junk = b"this is not an archive" * 10
    server.set("/h/junk.tgz", body=junk)
    entries.append(("Hello", "3.0.0", junk, "h/junk.tgz", None))
    server.set("/index.json", body=make_index(entries))
    assert add(daemon, server.url + "/index.json")[0] == 200

    for i, (name, _, msg) in enumerate(HOSTILE):
        code, m = error_of(daemon, "POST", "/test/sources/fetch",
                           {"sourceId": ID, "name": "Hello", "version": "1.0.%d" % i,
                            "dest": os.path.join(scratch, name)})
        assert m == msg, (name, m)
    code, m = error_of(daemon, "POST", "/test/sources/fetch",
                       {"sourceId": ID, "name": "Hello", "version": "2.0.0",
                        "dest": os.path.join(scratch, "liar")})
    assert m == ('the payload is "Hello" 9.9.9, but "Hello" 2.0.0 was listed: the source changed '
                 'since it was loaded; refresh it and try again')
    code, m = error_of(daemon, "POST", "/test/sources/fetch",
                       {"sourceId": ID, "name": "Hello", "version": "3.0.0",
                        "dest": os.path.join(scratch, "junk")})
    assert m.startswith("the archive is damaged or not a tar archive: "), m
    assert os.listdir(scratch) == []
    assert not os.path.exists("/tmp/evil")


def test_cli_with_http(daemon, server):
    publish(server, [("Hello", "1.0.0")])
    pk, sk = keypair()
    body = server.routes["/index.json"]["body"]
    server.set("/index.json.sig", body=sign(sk, body).encode())
    url = server.url + "/index.json"
    r = daemon.dbx("source", "add", url, "--public-key", pk.hex())
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "added source %s (http): 1 pups, 1 versions, signature verified" \
        % ID
    r = daemon.dbx("source", "ls")
    assert "(signed)" in r.stdout and url in r.stdout
    server.remove("/index.json")
    r = daemon.dbx("source", "refresh", ID)
    assert r.returncode == 1
    assert "%s: error: %s answered HTTP 404 (not found)" % (ID, url) in r.stdout
    r = daemon.dbx("store")
    assert r.returncode == 0 and "Hello" in r.stdout and "answered HTTP 404" in r.stdout


def test_stop_during_a_hung_fetch(server):
    """A server that never answers does not hold the daemon's shutdown: the
    load is cancelled (and not recorded as the source's failure); the
    waiting request ends without an answer, as the HTTP server is gone."""
    import threading
    from harness import Daemon
    d = Daemon(env={"DBX_SOURCES_HTTP_TIMEOUT_MS": "600000"}).start()
    try:
        publish(server, [("Hello", "1.0.0")])
        assert add(d, server.url + "/index.json")[0] == 200
        server.set("/index.json", body=b"{}", delay=600)
        result = {}

        def refresh():
            result["r"] = call(d, "GET", "/sources/store?refresh=true")

        t = threading.Thread(target=refresh)
        t.start()
        while not server.seen("/index.json")[1:]:
            pass
        assert d.stop() == 0  # the harness gives it 10 s; the fetch would take 600
        t.join(30)
        assert result["r"][0] in (0, 503), result
        server.set("/index.json", body=b"{}", delay=600)
        d.start()
        s = sources(d)[ID]
        assert s["lastError"] is None and s["lastOkAt"], s
        assert d.stop() == 0
    finally:
        if d.proc.poll() is None:
            d.kill()
        d.cleanup()
