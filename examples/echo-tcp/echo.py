#!/usr/bin/python3
"""echo-tcp: echo every line back on DBX_PUP_IP:$PORT; after each
connection, push the connection count and the client's address to the
Dogebox's pup gateway API (POST http://$DBX_HOST:$DBX_PORT/dbx/metrics)."""
import json
import os
import socket
import socketserver
import threading
import urllib.request

served = 0
lock = threading.Lock()


def push_metrics(client):
    host, port = os.environ.get("DBX_HOST"), os.environ.get("DBX_PORT")
    if not host or not port:
        return
    body = json.dumps({"connections": {"value": served},
                       "last_client": {"value": client}}).encode()
    req = urllib.request.Request("http://%s:%s/dbx/metrics" % (host, port), data=body,
                                 headers={"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(req, timeout=5).read()
    except Exception as e:  # the Dogebox may be restarting: not fatal
        print("metrics push failed:", e, flush=True)


class Echo(socketserver.StreamRequestHandler):
    def handle(self):
        global served
        for line in self.rfile:
            self.wfile.write(line)
        with lock:
            served += 1
        push_metrics(self.client_address[0])


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


addr = os.environ.get("DBX_PUP_IP", "0.0.0.0")
port = int(os.environ.get("PORT", "7007"))
print("echo-tcp listening on %s:%d" % (addr, port), flush=True)
Server((addr, port), Echo).serve_forever()
