#!/usr/bin/python3
"""ping-provider: answers GET /ping and /status, POST /admin/reset."""
import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

count = 0


class Handler(BaseHTTPRequestHandler):
    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        global count
        if self.path == "/ping":
            count += 1
            self.reply(200, {"pong": True, "count": count, "from": os.environ.get("DBX_PUP_ID", "")})
        elif self.path == "/status":
            self.reply(200, {"count": count})
        else:
            self.reply(404, {"error": "no such route"})

    def do_POST(self):
        global count
        if self.path == "/admin/reset":
            count = 0
            self.reply(200, {"reset": True})
        else:
            self.reply(404, {"error": "no such route"})

    def log_message(self, fmt, *args):
        print("%s %s" % (self.address_string(), fmt % args), flush=True)


addr = os.environ.get("DBX_PUP_IP", "0.0.0.0")
port = int(os.environ.get("PORT", "8081"))
print("ping-provider listening on %s:%d" % (addr, port), flush=True)
ThreadingHTTPServer((addr, port), Handler).serve_forever()
