"""WebSocket core: connect, bootstrap message, ping/pong, close, slow clients."""
import base64
import json
import os
import socket
import time

import websocket


def ws_url(d, path):
    return "ws://127.0.0.1:%d%s" % (d.port, path)


def test_state_socket_bootstrap_and_close(daemon):
    daemon.login()  # a non-open route over TCP needs a session
    ws = websocket.create_connection(ws_url(daemon, "/ws/state/"), timeout=10)
    msg = json.loads(ws.recv())
    assert set(msg) == {"id", "seq", "ts", "error", "type", "update"}
    assert msg["type"] == "bootstrap" and msg["id"] == "internal"
    assert "setupFacts" in msg["update"]
    ws.close()
    # the daemon forgets the client
    deadline = time.time() + 5
    while time.time() < deadline:
        if daemon.get("/system/status").json()["wsClients"] == 0:
            break
        time.sleep(0.05)
    assert daemon.get("/system/status").json()["wsClients"] == 0


def test_ping_pong(daemon):
    ws = websocket.create_connection(ws_url(daemon, "/ws/state/"), timeout=10)
    ws.recv()
    ws.ping(b"hello")
    op, frame = ws.recv_data_frame(control_frame=True)
    assert op == websocket.ABNF.OPCODE_PONG
    assert frame.data == b"hello"
    ws.close()


def test_broadcast_envelope_and_seq(daemon):
    daemon.login()  # a non-open route over TCP needs a session
    ws = websocket.create_connection(ws_url(daemon, "/ws/state/"), timeout=10)
    ws.recv()
    assert daemon.post("/test/broadcast?n=3&size=10").status_code == 200
    seqs = []
    for _ in range(3):
        m = json.loads(ws.recv())
        assert m["type"] == "test" and m["update"] == "x" * 10 and m["error"] == ""
        seqs.append(m["seq"])
    assert seqs == sorted(seqs) and len(set(seqs)) == 3 and seqs[0] > 0
    ws.close()


def test_not_an_upgrade_is_400(daemon):
    r = daemon.get("/ws/state/")
    assert r.status_code == 400
    assert "WebSocket upgrade" in r.json()["error"]["message"]


def test_bad_version_is_426(daemon):
    key = base64.b64encode(os.urandom(16)).decode()
    r = daemon.get("/ws/state/", headers={"Upgrade": "websocket", "Connection": "Upgrade",
                                          "Sec-WebSocket-Key": key,
                                          "Sec-WebSocket-Version": "8"})
    assert r.status_code == 426


def raw_ws(port, path):
    """A client that completes the handshake and then never reads."""
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (path, key)).encode())
    s.settimeout(10)
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    assert b" 101 " in head
    return s


def test_slow_client_is_cut_off_fast_client_is_not(daemon):
    daemon.login()  # a non-open route over TCP needs a session
    slow = raw_ws(daemon.port, "/ws/state/")
    fast = websocket.create_connection(ws_url(daemon, "/ws/state/"), timeout=10)
    fast.recv()
    assert daemon.get("/system/status").json()["wsClients"] == 2
    got = 0
    for i in range(100):  # at most 100 x 4 x 256 KiB = 100 MiB offered to each client
        assert daemon.post("/test/broadcast?n=4&size=262144").status_code == 200
        for _ in range(4):
            fast.recv()
            got += 1
        if daemon.get("/system/status").json()["wsClients"] == 1:
            break
    assert got == 4 * (i + 1)
    clients = daemon.get("/system/status").json()["wsClients"]
    assert clients == 1, "the slow client should have been disconnected"
    # the fast client is still served
    assert daemon.post("/test/broadcast?n=1&size=8").status_code == 200
    assert json.loads(fast.recv())["update"] == "x" * 8
    fast.close()
    slow.close()
