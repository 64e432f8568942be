#!/bin/sh
# ping-consumer: call the provider through the proxy, forever.
# DBX_IFACE_DBX_EXAMPLE_PING_HOST/PORT come from the Dogebox (see
# docs/networking.md); without them it reports that it has no provider.
host=${DBX_IFACE_DBX_EXAMPLE_PING_HOST:-dbx-example-ping.localhost}
port=${DBX_IFACE_DBX_EXAMPLE_PING_PORT:-80}
interval=${INTERVAL:-5}
while :; do
        answer=$(/usr/bin/python3 - "$host" "$port" <<'PY' 2>&1
import sys, urllib.request
try:
    with urllib.request.urlopen("http://%s:%s/ping" % (sys.argv[1], sys.argv[2]), timeout=5) as r:
        print(r.status, r.read().decode())
except Exception as e:
    print("error:", e)
PY
)
        echo "ping: $answer"
        sleep "$interval"
done
