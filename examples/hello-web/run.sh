#!/bin/sh
# hello-web's only service. In the sandbox this folder is /pup (read-only),
# /tmp is private and writable, and config values (GREETING) arrive as
# environment variables. Programs come from the host's read-only /usr.
set -eu

site=/tmp/hello-web
mkdir -p "$site"

greeting=${GREETING:-Hello from a native pup!}
# The greeting is the owner's text: escape it before it goes into HTML.
escaped=$(printf '%s' "$greeting" |
        sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g' -e 's/"/\&quot;/g')

cat > "$site/index.html" <<HTML
<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Hello Web</title></head>
<body style="font-family: sans-serif; text-align: center; margin-top: 20vh">
<h1>$escaped</h1>
<p>Served by a native pup with the Dogebox's own Python.</p>
</body>
</html>
HTML

exec /usr/bin/python3 -m http.server "${PORT:-8080}" \
        --bind "${DBX_PUP_IP:-0.0.0.0}" --directory "$site"
