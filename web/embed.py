#!/usr/bin/python3
"""Embed the owner's panel (web/) into the daemon as a generated C file.

Every file under web/css, web/js and web/img is served under a content-hashed
name, /assets/<dir>/<stem>.<hash><ext>, with a year-long immutable cache.
index.html names them: the generator rewrites its href/src attributes to the
hashed names and replaces the `<!-- dbx:importmap -->` marker with an import
map (so modules keep importing each other by their plain absolute names,
"/js/api.js", while the browser fetches the hashed file) and modulepreload
links. index.html itself is served at / and as the single-page-app fallback
with `Cache-Control: no-cache` and an ETag. Text is also stored
gzip-compressed (level 9, mtime 0: the output is reproducible) when that is
smaller.

    embed.py --src DIR --out FILE.c --depfile FILE.d     generate
    embed.py --src DIR --check                           size report; fails
                                                         past the budget

Pure Python 3 standard library (zlib through gzip): no xxd, no npm.
"""
import argparse
import base64
import gzip
import hashlib
import json
import os
import re
import sys

INDEX = "index.html"
ASSET_DIRS = ("css", "js", "img")  # everything else under web/ is build tooling
IMPORTMAP_MARKER = "<!-- dbx:importmap -->"
HASH_HEX = 12            # 48 bits of SHA-256 in asset names: collisions are not a concern
FILES_MAX = 256          # the panel is a few dozen files; more means something went wrong
FILE_BYTES_MAX = 1 << 20  # no single asset may exceed 1 MiB
GZIP_BUDGET = 300 * 1024  # the limit for everything served, gzipped
GZIP_KEEP_RATIO = 0.9    # keep the gzip body only when it saves at least 10%

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".woff2": "font/woff2",
}
COMPRESSIBLE = {".html", ".js", ".mjs", ".css", ".svg", ".json", ".txt"}

# The policy index.html is served with. The import map is an inline script,
# allowed by its hash; nothing else inline runs.
CSP = ("default-src 'self'; script-src 'self' '{importmap_hash}'; style-src 'self'; "
       "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
       "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


class EmbedError(Exception):
    pass


def collect(src):
    """Asset files (relative, '/'-separated, sorted) and every folder walked."""
    files, dirs = [], [src]
    for top in ASSET_DIRS:
        root = os.path.join(src, top)
        if not os.path.isdir(root):
            continue
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            dirs.append(dirpath)
            for name in sorted(filenames):
                if name.startswith("."):
                    continue
                rel = os.path.relpath(os.path.join(dirpath, name), src).replace(os.sep, "/")
                files.append(rel)
    if len(files) > FILES_MAX:
        raise EmbedError("%d asset files under %s: at most %d are embedded" %
                         (len(files), src, FILES_MAX))
    return sorted(files), dirs


def read(src, rel):
    path = os.path.join(src, rel)
    with open(path, "rb") as f:
        data = f.read(FILE_BYTES_MAX + 1)
    if len(data) > FILE_BYTES_MAX:
        raise EmbedError("%s is larger than %d bytes: assets must stay small" %
                         (path, FILE_BYTES_MAX))
    return data


def content_type(rel):
    ext = os.path.splitext(rel)[1].lower()
    if ext not in CONTENT_TYPES:
        raise EmbedError("%s: unknown file type '%s' (known: %s)" %
                         (rel, ext, " ".join(sorted(CONTENT_TYPES))))
    return CONTENT_TYPES[ext]


def hashed_url(rel, data):
    stem, ext = os.path.splitext(rel)
    return "/assets/%s.%s%s" % (stem, hashlib.sha256(data).hexdigest()[:HASH_HEX], ext)


def render_index(html, urls):
    """Rewrite index.html: hashed names, import map, modulepreload links."""
    if html.count(IMPORTMAP_MARKER) != 1:
        raise EmbedError("index.html must contain the marker %s exactly once" % IMPORTMAP_MARKER)
    modules = {plain: url for plain, url in urls.items() if plain.endswith((".js", ".mjs"))}
    importmap = json.dumps({"imports": modules}, sort_keys=True, separators=(",", ":"))
    preload = "".join('\n<link rel="modulepreload" href="%s">' % url
                      for _, url in sorted(modules.items()))

    def attr(m):
        path = m.group(2)
        if path.startswith("//"):
            raise EmbedError("index.html: %s=\"%s\": the panel loads nothing from other hosts" %
                             (m.group(1), path))
        if not path.startswith(tuple("/%s/" % d for d in ASSET_DIRS)):
            return m.group(0)  # a link to a page of the panel
        if path not in urls:
            raise EmbedError("index.html: %s=\"%s\" names no file under web/%s" %
                             (m.group(1), path, "{" + ",".join(ASSET_DIRS) + "}"))
        return '%s="%s"' % (m.group(1), urls[path])

    html = re.sub(r'\b(href|src)="(/[^"]*)"', attr, html)
    html = html.replace(IMPORTMAP_MARKER,
                        '<script type="importmap">%s</script>%s' % (importmap, preload))
    digest = base64.b64encode(hashlib.sha256(importmap.encode()).digest()).decode()
    return html.encode(), CSP.format(importmap_hash="sha256-" + digest)


def compress(rel, data):
    if os.path.splitext(rel)[1].lower() not in COMPRESSIBLE:
        return None
    gz = gzip.compress(data, compresslevel=9, mtime=0)
    return gz if len(gz) <= len(data) * GZIP_KEEP_RATIO else None


def build(src):
    """[(path, content_type, data, gz, immutable)], csp, index path, deps."""
    files, dirs = collect(src)
    entries, urls, deps = [], {}, [os.path.join(src, INDEX)]
    for rel in files:
        data = read(src, rel)
        url = hashed_url(rel, data)
        urls["/" + rel] = url
        entries.append((url, content_type(rel), data, compress(rel, data), True))
        deps.append(os.path.join(src, rel))
    try:
        html = read(src, INDEX).decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise EmbedError("cannot read %s: %s" % (os.path.join(src, INDEX), e))
    index_data, csp = render_index(html, urls)
    entries.append(("/", CONTENT_TYPES[".html"], index_data, compress(INDEX, index_data), False))
    entries.sort(key=lambda e: e[0].encode())  # strcmp order, for bsearch in C
    return entries, csp, deps + dirs


def c_string(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def c_bytes(name, data):
    out = ["static const unsigned char %s[%d] = {" % (name, max(len(data), 1))]
    for i in range(0, len(data), 20):
        out.append("        " + ",".join("%d" % b for b in data[i:i + 20]) + ",")
    if not data:
        out.append("        0,")
    out.append("};")
    return "\n".join(out)


def etag(data, suffix=""):
    return '"%s%s"' % (hashlib.sha256(data).hexdigest()[:32], suffix)


def generate_c(entries, csp):
    out = ["/* Generated by web/embed.py from web/: do not edit. */",
           '#include "web/web_assets.h"', ""]
    rows = []
    index_i = None
    for i, (path, ctype, data, gz, immutable) in enumerate(entries):
        out.append(c_bytes("d%d" % i, data))
        if gz is not None:
            out.append(c_bytes("g%d" % i, gz))
        rows.append("        {%s, %s, %s, %s, d%d, %d, %s, %d, %s}," % (
            c_string(path), c_string(ctype), c_string(etag(data)),
            c_string(etag(data, "-gz")) if gz is not None else "NULL",
            i, len(data), "g%d" % i if gz is not None else "NULL",
            len(gz) if gz is not None else 0, "true" if immutable else "false"))
        if path == "/":
            index_i = i
    out.append("")
    out.append("static const struct web_asset assets[] = {")
    out.extend(rows)
    out.append("};")
    out.append("")
    out.append("static const struct web_bundle bundle = {")
    out.append("        assets, %d, &assets[%d], %s," % (len(entries), index_i, c_string(csp)))
    out.append("};")
    out.append("")
    out.append("const struct web_bundle *web_bundle_get(void)")
    out.append("{")
    out.append("        return &bundle;")
    out.append("}")
    return "\n".join(out) + "\n"


def depfile_escape(path):
    return path.replace("\\", "\\\\").replace(" ", "\\ ").replace("#", "\\#").replace("$", "$$")


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def report(entries):
    total_raw = total_wire = 0
    lines = []
    for path, _, data, gz, _ in entries:
        wire = len(gz) if gz is not None else len(data)
        total_raw += len(data)
        total_wire += wire
        lines.append("%8d %8d  %s" % (len(data), wire, path))
    return lines, total_raw, total_wire


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--src", required=True, help="the web/ folder")
    ap.add_argument("--out", help="generated C file")
    ap.add_argument("--depfile", help="Makefile-style list of inputs, for ninja")
    ap.add_argument("--check", action="store_true",
                    help="print sizes and fail when the gzipped total exceeds %d bytes" %
                    GZIP_BUDGET)
    args = ap.parse_args()
    try:
        entries, csp, deps = build(args.src)
    except EmbedError as e:
        print("embed.py: %s" % e, file=sys.stderr)
        return 1
    if args.check:
        lines, raw, wire = report(entries)
        print("     raw     gzip  path")
        print("\n".join(lines))
        print("%8d %8d  total (%d files; budget %d bytes gzipped)" %
              (raw, wire, len(entries), GZIP_BUDGET))
        if wire > GZIP_BUDGET:
            print("embed.py: the panel is %d bytes gzipped, over the %d byte budget" %
                  (wire, GZIP_BUDGET), file=sys.stderr)
            return 1
        return 0
    if not args.out:
        ap.error("--out is required unless --check")
    write_atomic(args.out, generate_c(entries, csp))
    if args.depfile:
        with open(args.depfile, "w") as f:
            f.write("%s: %s\n" % (depfile_escape(args.out),
                                  " ".join(depfile_escape(d) for d in deps)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
