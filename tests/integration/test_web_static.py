"""The embedded panel as HTTP serves it (src/api/routes_web.c, docs/panel.md):
hashed assets with a year's immutable cache, index.html revalidated, ETags
and 304s, gzip, the single-page-app fallback, and that the fallback never
turns an API answer (404, 405, 301) into HTML. Static files need no session."""
import gzip
import hashlib
import json
import re

ASSET_RE = re.compile(r'(?:href|src)="(/assets/[^"]+)"')


def index_assets(html):
    urls = set(ASSET_RE.findall(html))
    m = re.search(r'<script type="importmap">(.*?)</script>', html, re.S)
    assert m, "index.html carries an import map"
    imports = json.loads(m.group(1))["imports"]
    assert imports, "the import map names the modules"
    for plain, hashed in imports.items():
        assert plain.startswith("/js/") and hashed.startswith("/assets/js/"), (plain, hashed)
        urls.add(hashed)
    return sorted(urls)


def test_index_and_assets_cache_headers(daemon):
    r = daemon.get("/")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert r.headers["Cache-Control"] == "no-cache"
    assert re.fullmatch(r'"[0-9a-f]{32}(-gz)?"', r.headers["ETag"])
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert re.search(r"script-src 'self' 'sha256-[A-Za-z0-9+/=]+'", csp)
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    urls = index_assets(r.text)
    kinds = {u.rsplit(".", 1)[1] for u in urls}
    assert {"js", "css", "svg"} <= kinds
    for url in urls:
        a = daemon.get(url, headers={"Accept-Encoding": "identity"})
        assert a.status_code == 200, url
        assert a.headers["Cache-Control"] == "public, max-age=31536000, immutable", url
        assert "Content-Encoding" not in a.headers
        want = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
                "svg": "image/svg+xml"}[url.rsplit(".", 1)[1]]
        assert a.headers["Content-Type"] == want, url
        # the name carries the start of the content's hash
        digest = hashlib.sha256(a.content).hexdigest()
        assert url.rsplit(".", 2)[1] == digest[:12], url
        assert a.headers["ETag"] == '"%s"' % digest[:32]


def test_gzip_and_not_modified(daemon):
    html = daemon.get("/").text
    js = [u for u in index_assets(html) if u.endswith(".js")][0]
    plain = daemon.get(js, headers={"Accept-Encoding": "identity"})
    # requests would decode gzip itself: read the raw bytes
    gz = daemon.get(js, headers={"Accept-Encoding": "gzip, deflate"}, stream=True)
    assert gz.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in gz.headers["Vary"]
    raw = gz.raw.read(decode_content=False)
    assert len(raw) < len(plain.content)
    assert gzip.decompress(raw) == plain.content
    assert gz.headers["ETag"] != plain.headers["ETag"]
    no_gz = daemon.get(js, headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in no_gz.headers
    # revalidation: the asset, then index.html under another SPA path
    r = daemon.get(js, headers={"If-None-Match": plain.headers["ETag"],
                                "Accept-Encoding": "identity"})
    assert r.status_code == 304 and r.content == b""
    assert r.headers["ETag"] == plain.headers["ETag"]
    r = daemon.get(js, headers={"If-None-Match": 'W/"x", ' + gz.headers["ETag"],
                                "Accept-Encoding": "gzip"})
    assert r.status_code == 304
    etag = daemon.get("/", headers={"Accept-Encoding": "identity"}).headers["ETag"]
    r = daemon.get("/installed", headers={"If-None-Match": etag, "Accept-Encoding": "identity"})
    assert r.status_code == 304
    assert r.headers["Cache-Control"] == "no-cache"
    r = daemon.get(js, headers={"If-None-Match": '"0000"', "Accept-Encoding": "identity"})
    assert r.status_code == 200


def test_spa_fallback_serves_index(daemon):
    index = daemon.get("/", headers={"Accept-Encoding": "identity"})
    for path in ["/store", "/store/e2e.local/Hello%20Web", "/installed/0123abcd", "/activity",
                 "/settings", "/login", "/setup", "/no/such/page"]:
        r = daemon.get(path, headers={"Accept-Encoding": "identity"})
        assert r.status_code == 200, path
        assert r.headers["Content-Type"] == "text/html; charset=utf-8", path
        assert r.headers["ETag"] == index.headers["ETag"], path
        assert r.content == index.content, path
    h = daemon.request("HEAD", "/settings")
    assert h.status_code == 200 and h.content == b""
    r = daemon.post("/store", json={})
    assert r.status_code == 405
    assert r.headers["Allow"] == "GET, HEAD"
    assert "read with GET" in r.json()["error"]["message"]


def test_unknown_asset_is_404_json(daemon):
    r = daemon.get("/assets/js/app.000000000000.js")
    assert r.status_code == 404
    assert r.headers["Content-Type"] == "application/json"
    assert "reload the page" in r.json()["error"]["message"]


def test_api_answers_are_not_shadowed(daemon):
    # an unknown API route stays a JSON 404
    for path in ["/system/no-such-thing", "/jobs/a/b/c", "/keys/x/y", "/pup/abc/def/ghi",
                 "/sources/x/y/z", "/ws/nothing"]:
        r = daemon.get(path)
        assert r.status_code == 404, path
        assert r.headers["Content-Type"] == "application/json", path
        assert "no such route" in r.json()["error"]["message"], path
    # a route that exists with another method is a 405 with Allow
    r = daemon.request("DELETE", "/system/status")
    assert r.status_code == 405
    assert r.headers["Allow"] == "GET, HEAD"
    assert r.json()["error"]["code"] == 405
    r = daemon.get("/keys/create-master")
    assert r.status_code == 405
    assert "POST" in r.headers["Allow"]
    # a prefix route without its slash redirects as before
    r = daemon.get("/ws/state", allow_redirects=False)
    assert r.status_code == 301
    assert r.headers["Location"] == "/ws/state/"
    # and real API routes still answer JSON
    r = daemon.get("/system/bootstrap")
    assert r.status_code == 200
    assert "setupFacts" in r.json()


def test_static_files_need_no_session(daemon):
    daemon.setup()
    assert daemon.get("/system/status", headers={"Authorization": ""}).status_code == 401
    anon = daemon.get("/", headers={"Authorization": ""})
    assert anon.status_code == 200
    for url in index_assets(anon.text):
        assert daemon.get(url, headers={"Authorization": ""}).status_code == 200, url
    assert daemon.get("/settings", headers={"Authorization": ""}).status_code == 200
    # an unknown API path is a 404 with or without a session, as upstream
    r = daemon.get("/system/no-such-thing", headers={"Authorization": ""})
    assert r.status_code == 404
